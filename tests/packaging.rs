//! Supervision: the systemd units in packaging/ pass `systemd-analyze verify`, and the app's
//! watchdog heartbeat (sd-notify) stops when its main loop hangs, so systemd restarts it.
#![cfg(feature = "app")]

mod common;

use std::io::ErrorKind;
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use emoji_mirror::app::health::HANG_STATUS;
use emoji_mirror::health::WATCHDOG_PING_S;

/// Where the unit expects the built binary (the test points it at the one under test).
const INSTALLED_BINARY: &str = "/opt/emoji-mirror/target/release/emoji-mirror";

const UNITS: [&str; 3] = ["emoji-mirror.service", "emoji-mirror-restart.service", "emoji-mirror-restart.timer"];

fn unit_text(name: &str) -> String {
    std::fs::read_to_string(common::project("packaging").join(name)).expect("unit file in packaging/")
}

#[test]
fn the_service_unit_supervises_with_the_watchdog() {
    let unit = unit_text("emoji-mirror.service");
    for line in ["Type=notify", "WatchdogSec=30", "Restart=always", "RestartSec=5", "Environment=DISPLAY="] {
        assert!(unit.lines().any(|l| l.starts_with(line)), "emoji-mirror.service has no {line}");
    }
    let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).expect("ExecStart");
    assert_eq!(exec, format!("ExecStart={INSTALLED_BINARY} --kiosk"));
    let timer = unit_text("emoji-mirror-restart.timer");
    assert!(timer.contains("OnCalendar=*-*-* 06:30"), "{timer}");
}

#[test]
fn the_units_pass_systemd_analyze_verify() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut paths = Vec::new();
    for name in UNITS {
        // verify checks that ExecStart's binary exists: point it at the one under test.
        let text = unit_text(name).replace(INSTALLED_BINARY, env!("CARGO_BIN_EXE_emoji-mirror"));
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("unit copy");
        paths.push(path);
    }
    let out = match Command::new("systemd-analyze").arg("verify").args(&paths).output() {
        Ok(out) => out,
        Err(e) if e.kind() == ErrorKind::NotFound && std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: systemd-analyze is not installed (scripts/setup.sh installs it; CI runs this)");
            return;
        }
        Err(e) => panic!("systemd-analyze (the systemd package; scripts/setup.sh installs it): {e}"),
    };
    let err = common::stderr(&out);
    assert!(out.status.success(), "systemd-analyze verify failed:\n{err}");
    // Unknown keys and bad values are only warnings: none may name our units.
    let about_ours: Vec<&str> = err.lines().filter(|l| UNITS.iter().any(|u| l.contains(u))).collect();
    assert!(about_ours.is_empty(), "systemd-analyze verify warns:\n{}", about_ours.join("\n"));
}

/// Frames the app runs before the simulated hang.
const HANG_AFTER_FRAMES: &str = "60";
/// How long the app may take to start and reach the hang under a virtual display.
const START_TIMEOUT: Duration = Duration::from_secs(240);
/// Silence required after the hang: several ping intervals.
const QUIET_AFTER_HANG: Duration = Duration::from_secs(4 * WATCHDOG_PING_S);

#[test]
fn the_heartbeat_stops_when_the_main_loop_hangs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("notify socket");
    socket.set_read_timeout(Some(Duration::from_millis(500))).expect("read timeout");
    let status_file = dir.path().join("status.json");
    let log = dir.path().join("app.log");
    let log_file = std::fs::File::create(&log).expect("log file");
    let video = common::data("crema-d/mp4/1001_DFA_HAP_XX.mp4");
    let mut child = common::xvfb_app(300, common::XVFB_SCREEN)
        .arg("--video")
        .arg(&video)
        .args(["--start-screen", "mirror", "--health-every", "1", "--simulate-hang-after-frames", HANG_AFTER_FRAMES])
        .arg("--status-file")
        .arg(&status_file)
        .arg("--config")
        .arg(dir.path().join("settings.toml"))
        .arg("--data-dir")
        .arg(dir.path())
        .env("NOTIFY_SOCKET", &socket_path)
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .stdout(log_file.try_clone().expect("log file"))
        .stderr(log_file)
        // Its own process group, so the hung app and its virtual display are stopped together.
        .process_group(0)
        .spawn()
        .expect("timeout and xvfb-run (scripts/setup.sh installs xvfb)");
    let group = child.id();
    let kill_group = || {
        let _ = Command::new("kill").args(["-s", "KILL", "--", &format!("-{group}")]).stderr(Stdio::null()).status();
    };

    let started = Instant::now();
    let mut buf = [0u8; 512];
    let (mut ready, mut pings_before_hang, mut hang_at, mut after_hang) = (false, 0, None, Vec::new());
    loop {
        let now = Instant::now();
        if let Some(t) = hang_at
            && now.duration_since(t) >= QUIET_AFTER_HANG
        {
            break;
        }
        if hang_at.is_none() && now.duration_since(started) > START_TIMEOUT {
            kill_group();
            panic!("no hang within {START_TIMEOUT:?}\n{}", read_log(&log));
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the app exited ({status}) instead of hanging\n{}", read_log(&log));
        }
        let n = match socket.recv(&mut buf) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(e) => panic!("notify socket: {e}"),
        };
        let message = String::from_utf8_lossy(&buf[..n]).into_owned();
        if hang_at.is_some() {
            after_hang.push(message);
            continue;
        }
        for line in message.lines() {
            match line {
                "READY=1" => ready = true,
                "WATCHDOG=1" => {
                    assert!(ready, "a ping before READY=1");
                    pings_before_hang += 1;
                }
                l if l == format!("STATUS={HANG_STATUS}") => hang_at = Some(Instant::now()),
                _ => {}
            }
        }
    }
    let still_running = child.try_wait().expect("child state").is_none();
    kill_group();
    let _ = child.wait();
    let log_text = read_log(&log);
    assert!(still_running, "the hung app should still run (systemd kills it)\n{log_text}");
    assert!(ready, "no READY=1\n{log_text}");
    assert!(pings_before_hang >= 2, "{pings_before_hang} pings before the hang\n{log_text}");
    assert!(after_hang.is_empty(), "messages after the hang: {after_hang:?}");

    // The health line every second, and the status file with it.
    assert!(log_text.contains("health: render_fps="), "no health line in the log\n{log_text}");
    let status: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&status_file).expect("status file")).expect("status JSON");
    assert_eq!(status["source"], "video", "{status}");
    for key in ["render_fps", "analysis_fps", "faces", "source_state", "errors", "uptime_s", "rss_bytes"] {
        assert!(status.get(key).is_some(), "status file has no {key}: {status}");
    }
    assert!(status["render_fps"].as_f64().is_some_and(|f| f > 0.0), "{status}");
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}
