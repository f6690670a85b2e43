//! The soak script's short run (the CI gate; the README's "Soak" gives a long run's
//! figures): scripts/soak.sh runs the app for two minutes on a looping video with rounds
//! in a loop, writes a CSV with a sample every 10 s, draws the plot, and passes only when
//! resident memory grew less than the limit. `soak-plot` fails a run that grew more.
#![cfg(feature = "app")]

mod common;

use std::process::Command;

/// Length of the CI run, minutes (a long soak is run by hand; see the README).
const MINUTES: &str = "2";
/// Seconds between two samples.
const EVERY_S: &str = "10";
/// Allowed growth of resident memory after the first tenth of the run, MiB.
const MAX_GROWTH_MIB: f64 = 10.0;
/// Fewest samples a 2-minute run at one per 10 s must give (start-up takes some of it).
const MIN_ROWS: usize = 8;

#[test]
fn a_short_soak_samples_memory_and_frame_time_and_memory_stays_flat() {
    let out = common::project("target/soak-test");
    let _ = std::fs::remove_dir_all(&out);
    let run = Command::new("bash")
        .arg(common::project("scripts/soak.sh"))
        .args([MINUTES.as_ref(), out.as_os_str()])
        .env("EMOJI_MIRROR_BIN", env!("CARGO_BIN_EXE_emoji-mirror"))
        .env("EMOJI_MIRROR_DATA", common::data_dir())
        .env("SOAK_EVERY_S", EVERY_S)
        .env("SOAK_MAX_GROWTH_MIB", MAX_GROWTH_MIB.to_string())
        .output()
        .expect("bash runs scripts/soak.sh");
    let (stdout, stderr) = (common::stdout(&run), common::stderr(&run));
    assert!(run.status.success(), "soak failed: {}\n{stdout}\n{stderr}", run.status);
    assert!(stdout.contains("growth"), "a summary is printed: {stdout}");
    assert!(stdout.contains("entities: "), "the entity count is summarised: {stdout}");

    let csv = std::fs::read_to_string(out.join("soak.csv")).expect("soak.csv");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("elapsed_s,rss_mib,frame_ms_p50,frame_ms_p95,analysis_fps,entities"));
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|v| v.parse::<f64>().unwrap_or_else(|e| panic!("{l}: {e}"))).collect())
        .collect();
    assert!(rows.len() >= MIN_ROWS, "{} samples:\n{csv}", rows.len());
    for r in &rows {
        assert_eq!(r.len(), 6, "{r:?}");
        assert!(r[1] > 50.0, "a real resident size in MiB: {r:?}");
        assert!(r[2] > 0.0 && r[3] >= r[2], "p95 frame time is at least p50: {r:?}");
        assert!(r[4] > 0.0, "faces are analysed: {r:?}");
        assert!(r[5] >= 1.0, "the app's world has entities: {r:?}");
    }
    let duration = rows[rows.len() - 1][0] - rows[0][0];
    let baseline = rows.iter().find(|r| r[0] >= rows[0][0] + duration * 0.1).expect("a sample after the first tenth");
    let growth = rows[rows.len() - 1][1] - baseline[1];
    assert!(growth < MAX_GROWTH_MIB, "resident memory grew {growth:.1} MiB:\n{csv}");
    let png = image::open(out.join("soak.png")).expect("soak.png is a picture");
    assert!(png.width() > 500 && png.height() > 500);
}

#[test]
fn soak_plot_fails_a_run_whose_memory_grew_past_the_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("grew.csv");
    let mut text = String::from("elapsed_s,rss_mib,frame_ms_p50,frame_ms_p95,analysis_fps\n");
    for i in 0..=20 {
        // 2 MiB per sample: 36 MiB from the end of the first tenth (20 s) to the end.
        text.push_str(&format!("{},{},100,150,7\n", i * 10, 300 + 2 * i));
    }
    std::fs::write(&csv, text).expect("write csv");
    let png = dir.path().join("grew.png");
    let run = common::run(&[
        "soak-plot",
        "--csv",
        csv.to_str().expect("utf-8 path"),
        "--out",
        png.to_str().expect("utf-8 path"),
        "--max-growth-mib",
        "10",
    ]);
    assert!(!run.status.success(), "growth of 36 MiB must fail: {}", common::stdout(&run));
    assert!(common::stdout(&run).contains("growth +36.0 MiB"), "{}", common::stdout(&run));
    assert!(common::stderr(&run).contains("grew 36.0 MiB"), "{}", common::stderr(&run));
    assert!(png.exists(), "the plot is drawn before the verdict");
}
