//! Shared helpers for the end-to-end tests: where the data, models and binary are.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The shared test data folder: `EMOJI_MIRROR_DATA`, else `../shared/data` beside the checkout.
pub fn data_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("EMOJI_MIRROR_DATA") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data")
}

pub fn data(rel: &str) -> PathBuf {
    let p = data_dir().join(rel);
    assert!(p.exists(), "test data missing: {} (set EMOJI_MIRROR_DATA to the shared data folder)", p.display());
    p
}

pub fn project(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A config folder with no settings file, so a tested command never reads the user's own.
pub fn empty_config_home() -> PathBuf {
    project("target/test-config-home")
}

/// A data folder for commands run without `--data-dir`, so a test never writes the user's
/// score table (`$XDG_DATA_HOME/emoji-mirror` is then inside it).
pub fn empty_data_home() -> PathBuf {
    project("target/test-data-home")
}

/// The emoji-mirror binary, run from the project root with no user settings file and the
/// test data home.
pub fn command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_emoji-mirror"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("XDG_CONFIG_HOME", empty_config_home())
        .env("XDG_DATA_HOME", empty_data_home());
    c
}

/// The virtual screen of most window tests (software rendering is slow: keep it small).
pub const XVFB_SCREEN: &str = "-screen 0 1280x720x24";

/// One virtual display at a time in a test binary: `xvfb-run -a` picks a free display
/// number, and two starting at once can pick the same one.
static DISPLAY: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Holds this test binary's one virtual display until the guard drops (a failed test that
/// held it does not block the others).
pub fn one_display() -> std::sync::MutexGuard<'static, ()> {
    DISPLAY.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `timeout TIMEOUT_S xvfb-run -a -s SCREEN <the app>` from the project root, with no user
/// settings file and the test data home; callers add the app's arguments and may override
/// the environment. Hold [`one_display`] while it runs.
pub fn xvfb_app(timeout_s: u32, screen: &str) -> Command {
    let mut c = Command::new("timeout");
    c.arg(timeout_s.to_string())
        .args(["xvfb-run", "-a", "-s", screen])
        .arg(env!("CARGO_BIN_EXE_emoji-mirror"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("XDG_CONFIG_HOME", empty_config_home())
        .env("XDG_DATA_HOME", empty_data_home());
    c
}

/// Runs the emoji-mirror binary from the project root.
pub fn run(args: &[&str]) -> Output {
    command().args(args).output().expect("the emoji-mirror binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The ONNX Runtime environment (the setup step must have fetched the library).
pub fn ort_env() -> &'static ort::environment::Environment {
    emoji_mirror::runtime::environment(None).expect("ONNX Runtime library (run scripts/setup-ort.sh)")
}

pub fn settings() -> emoji_mirror::config::Settings {
    emoji_mirror::config::Settings::default()
}
