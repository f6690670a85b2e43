//! Recovery inside the app, in a real window (virtual display, software Vulkan): what an
//! unattended exhibit does when its settings file is corrupt, its camera is missing or a
//! model file is damaged. Each test asserts the app keeps running and what it shows.
#![cfg(feature = "app")]

mod common;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// One virtual display at a time (`xvfb-run -a` may pick the same free display twice).
static DISPLAY: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A folder of this test binary's own outputs (screenshots, settings files).
fn out_dir() -> PathBuf {
    let d = common::project("target/screenshots/recovery");
    std::fs::create_dir_all(&d).expect("output folder");
    d
}

/// What one run of the app left: its exit, its log and its screenshot report.
struct Run {
    success: bool,
    stderr: String,
    report: Value,
}

/// Runs the app under a virtual display with `config` as its settings file until it saves
/// `name`.png (after `frames` frames on the mirror screen).
fn run_app(name: &str, args: &[&str], config: &std::path::Path) -> Run {
    let png = out_dir().join(format!("{name}.png"));
    let json = png.with_extension("json");
    let _ = std::fs::remove_file(&png);
    let _ = std::fs::remove_file(&json);
    let _one_at_a_time = DISPLAY.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let out = Command::new("timeout")
        .arg("300")
        .args(["xvfb-run", "-a", "-s", "-screen 0 1280x720x24"])
        .arg(env!("CARGO_BIN_EXE_emoji-mirror"))
        .args(args)
        .args(["--start-screen", "mirror"])
        .arg("--config")
        .arg(config)
        .arg("--screenshot")
        .arg(&png)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("XDG_CONFIG_HOME", common::empty_config_home())
        .env("XDG_DATA_HOME", common::empty_data_home())
        .output()
        .expect("xvfb-run (scripts/setup.sh installs it)");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(png.is_file(), "{}: no screenshot\n{stderr}", png.display());
    let report = serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("json");
    Run { success: out.status.success(), stderr, report }
}

#[test]
fn a_corrupt_settings_file_is_kept_aside_and_the_app_starts_on_defaults() {
    let dir = out_dir().join("corrupt-settings");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("folder");
    let config = dir.join("settings.toml");
    let bytes = b"[tracking\nvideo_detector_side = \"big\"\n\xff";
    std::fs::write(&config, bytes).expect("write");
    let image = common::project("assets/astronaut.png");
    let run =
        run_app("corrupt-settings", &["--image", image.to_str().expect("utf8"), "--exit-after-frames", "5"], &config);
    assert!(run.success, "the app runs:\n{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let bad = dir.join("settings.toml.bad");
    assert_eq!(std::fs::read(&bad).expect("the bad file is kept"), bytes);
    let warnings: Vec<&str> = run.stderr.lines().filter(|l| l.contains("settings.toml.bad")).collect();
    assert_eq!(warnings.len(), 1, "warned once:\n{}", run.stderr);
    assert!(warnings[0].contains("bad settings"), "{}", warnings[0]);
    assert_eq!(run.report["faces"].as_array().map(Vec::len), Some(1), "the astronaut's face: {}", run.report);
}
