//! The `emoji-mirror` command: parses the command line and runs a headless command.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

mod cli;

/// ONNX Runtime's switch for its usage telemetry: Microsoft's builds otherwise keep a device
/// id and a queue of usage events under ~/.cache and in the temp folder, to be sent.
const ORT_TELEMETRY_OFF: (&str, &str) = ("ORT_DISABLE_TELEMETRY", "1");

fn main() -> ExitCode {
    telemetry_off();
    let args = cli::Cli::parse();
    // The app logs through Bevy's own subscriber; the headless commands through this one.
    if args.command.is_some() {
        init_logging();
    }
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Privacy by construction: ONNX Runtime reads its telemetry switch from the environment,
/// which a program without `unsafe` cannot change for itself, so it starts itself again in
/// the same process (`exec`, same id for a supervisor) with the switch set, when it is not.
#[cfg(unix)]
fn telemetry_off() {
    use std::os::unix::process::CommandExt;
    let (key, value) = ORT_TELEMETRY_OFF;
    if std::env::var_os(key).is_some_and(|v| v == value) {
        return;
    }
    let Ok(exe) = std::env::current_exe() else { return };
    let mut args = std::env::args_os();
    let mut command = std::process::Command::new(exe);
    if let Some(arg0) = args.next() {
        command.arg0(arg0);
    }
    let err = command.args(args).env(key, value).exec();
    eprintln!("warning: could not restart with {key}={value} ({err}); ONNX Runtime may keep usage telemetry");
}

#[cfg(not(unix))]
fn telemetry_off() {}

fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
