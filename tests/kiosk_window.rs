//! `--kiosk` in a real window (virtual display, software Vulkan): borderless full screen
//! without decorations or cursor, ESC and Ctrl+Q do not quit, the operator keys are locked,
//! and the operator chord opens the PIN pad (with `[kiosk] operator_pin`) and then the
//! operator panel. Checked from the screenshot's JSON sidecar; screenshots stay in
//! target/screenshots/ to look at.
#![cfg(feature = "app")]

mod common;

use std::path::PathBuf;

use serde_json::Value;

/// The size of the virtual screen the kiosk fills (common::XVFB_SCREEN).
const SCREEN_W: f64 = 1280.0;
const SCREEN_H: f64 = 720.0;
/// The PIN the tests' settings file sets.
const PIN: &str = "2468";

/// Runs the app in kiosk mode with `settings` as its settings file until it saves
/// `name`.png; returns the report.
fn run_kiosk(name: &str, settings: &str, press: &str) -> Value {
    let _one_at_a_time = common::one_display();
    let dir = common::project("target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    let png = dir.join(format!("{name}.png"));
    let json = png.with_extension("json");
    let _ = std::fs::remove_file(&png);
    let _ = std::fs::remove_file(&json);
    let data = tempfile::tempdir().expect("tempdir");
    let config: PathBuf = data.path().join("settings.toml");
    std::fs::write(&config, settings).expect("settings file");
    let clip = common::data("crema-d/mp4/1001_DFA_HAP_XX.mp4");
    let out = common::xvfb_app(400, common::XVFB_SCREEN)
        .arg("--kiosk")
        .arg("--video")
        .arg(&clip)
        .args(["--press", press, "--exit-after-frames", "40", "--screenshot"])
        .arg(&png)
        .arg("--data-dir")
        .arg(data.path())
        .arg("--config")
        .arg(&config)
        .output()
        .expect("xvfb-run (scripts/setup.sh installs it)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "app failed: {}\n{err}", out.status);
    assert!(!err.contains("panicked"), "{err}");
    assert!(png.exists(), "{} saved: the app quit before the screenshot\n{err}", png.display());
    serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("json")
}

fn assert_kiosk_window(report: &Value) {
    assert_eq!(report["window_mode"], "borderless-fullscreen", "{report}");
    assert_eq!(report["decorations"], false);
    assert_eq!(report["cursor_visible"], false);
    let size = (report["window_width"].as_f64(), report["window_height"].as_f64());
    assert_eq!(size, (Some(SCREEN_W), Some(SCREEN_H)), "the window fills the screen");
}

#[test]
fn esc_and_ctrl_q_do_not_quit_and_the_chord_and_pin_open_the_operator_panel() {
    // Mirror, back, ESC on the attract screen (three would quit outside kiosk mode),
    // Ctrl+Q, then the chord, the PIN and Enter.
    let press = format!("m<esc><esc><esc><esc><esc><ctrl-q><ctrl-alt-o>{PIN}<enter>");
    let report = run_kiosk("kiosk-unlocked", &format!("[kiosk]\noperator_pin = \"{PIN}\"\n"), &press);
    assert_kiosk_window(&report);
    assert_eq!(report["screen"], "attract", "ESC went back to the attract screen");
    let visited: Vec<&str> =
        report["screens_visited"].as_array().expect("list").iter().filter_map(Value::as_str).collect();
    assert!(visited.contains(&"mirror"), "{visited:?}");
    assert_eq!(report["operator_lock"], "unlocked", "{report}");
    assert!(report["operator_panel"].is_array(), "the operator panel is shown: {report}");
    assert!(report["help_panel"].is_array(), "with the help panel: {report}");
    assert!(report["buttons"]["operator-quit"].is_array() && report["buttons"]["operator-lock"].is_array());
}

#[test]
fn operator_keys_are_locked_and_the_chord_shows_the_pin_pad() {
    // h, l and d would open the help, change the layout and draw the overlay unlocked.
    let report = run_kiosk("kiosk-pin-pad", &format!("[kiosk]\noperator_pin = \"{PIN}\"\n"), "hld<ctrl-alt-o>");
    assert_kiosk_window(&report);
    assert_eq!(report["layout"], "mirror", "l is locked");
    assert!(report["help_panel"].is_null(), "h is locked: {report}");
    assert_eq!(report["operator_lock"], "pin");
    assert!(report["operator_panel"].is_array(), "the PIN pad is shown: {report}");
    assert!(report["buttons"]["pin-ok"].is_array() && report["buttons"]["pin-0"].is_array());
}
