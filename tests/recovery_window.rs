//! Recovery inside the app, in a real window (virtual display, software Vulkan): what an
//! unattended exhibit does when its settings file is corrupt, its camera is missing, is
//! unplugged mid-game (a fake camera, the hidden `--fake-camera`), a model file is damaged
//! or the score database's disk is full. Each test asserts the app keeps running and what
//! it shows.
#![cfg(feature = "app")]

mod common;

use std::path::PathBuf;

use serde_json::Value;

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
    shot: image::RgbImage,
}

/// Runs the app under a virtual display with `config` as its settings file until it saves
/// `name`.png (after `frames` frames on the mirror screen).
fn run_app(name: &str, args: &[&str], config: &std::path::Path) -> Run {
    let args: Vec<&str> = args.iter().copied().chain(["--start-screen", "mirror"]).collect();
    launch(name, &args, config)
}

/// Runs the app under a virtual display with `args` and `config` until it saves `name`.png.
fn launch(name: &str, args: &[&str], config: &std::path::Path) -> Run {
    let png = out_dir().join(format!("{name}.png"));
    let json = png.with_extension("json");
    let _ = std::fs::remove_file(&png);
    let _ = std::fs::remove_file(&json);
    let _one_at_a_time = common::one_display();
    let out = common::xvfb_app(300, common::XVFB_SCREEN)
        .args(args)
        .arg("--config")
        .arg(config)
        .arg("--screenshot")
        .arg(&png)
        .output()
        .expect("xvfb-run (scripts/setup.sh installs it)");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let shot = image::open(&png).unwrap_or_else(|e| panic!("{}: {e}\n{stderr}", png.display())).into_rgb8();
    let report = serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("json");
    Run { success: out.status.success(), stderr, report, shot }
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
    assert!(run.shot.width() > 0);
}

fn rect(v: &Value) -> [f32; 4] {
    let a: Vec<f32> = v.as_array().expect("rect").iter().map(|x| x.as_f64().expect("number") as f32).collect();
    [a[0], a[1], a[2], a[3]]
}

/// Mean absolute difference between the screenshot and the shown picture over `win`
/// (window pixels, inside the video rect `video`), sampled on a grid.
fn mean_diff_to_picture(shot: &image::RgbImage, picture: &image::RgbImage, video: [f32; 4], win: [f32; 4]) -> f32 {
    let n = 16;
    let (mut total, mut count) = (0.0f32, 0.0f32);
    for i in 0..n {
        for j in 0..n {
            let x = win[0] + (win[2] - win[0]) * (i as f32 + 0.5) / n as f32;
            let y = win[1] + (win[3] - win[1]) * (j as f32 + 0.5) / n as f32;
            let fx = (x - video[0]) / (video[2] - video[0]) * picture.width() as f32;
            let fy = (y - video[1]) / (video[3] - video[1]) * picture.height() as f32;
            if x < 0.0 || y < 0.0 || fx < 0.0 || fy < 0.0 {
                continue;
            }
            let (Some(a), Some(b)) =
                (shot.get_pixel_checked(x as u32, y as u32), picture.get_pixel_checked(fx as u32, fy as u32))
            else {
                continue;
            };
            total += (0..3).map(|c| (a.0[c] as f32 - b.0[c] as f32).abs()).sum::<f32>() / 3.0;
            count += 1.0;
        }
    }
    total / count.max(1.0)
}

#[test]
fn without_its_camera_the_exhibit_shows_the_bundled_sample_with_a_hint() {
    let config = out_dir().join("no-camera-sample-settings.toml");
    let _ = std::fs::remove_file(&config);
    let run = run_app("no-camera-sample", &["--camera", "7", "--exit-after-frames", "15"], &config);
    assert!(run.success, "the app runs:\n{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let r = &run.report;
    // The details for the operator; the hint for visitors, in large type.
    let problem = r["problem"].as_str().expect("the camera's problem is reported");
    assert!(problem.contains("camera 7"), "{problem}");
    let hint = rect(r["items"].get("hint").expect("the hint is shown"));
    assert!(hint[3] - hint[1] > 60.0, "large type: {hint:?}");
    // The sample is shown, its face covered by an emoji.
    let sample = image::open(common::project("assets/astronaut.png")).expect("sample").into_rgb8();
    assert_eq!(
        (r["frame_width"].as_u64(), r["frame_height"].as_u64()),
        (Some(sample.width().into()), Some(sample.height().into()))
    );
    let faces = r["faces"].as_array().expect("faces");
    assert_eq!(faces.len(), 1, "the astronaut's face: {r}");
    let video = rect(&r["processed_video"]);
    let face = rect(&faces[0]);
    let covered = mean_diff_to_picture(&run.shot, &sample, video, face);
    assert!(covered > 35.0, "the face is covered by an emoji ({covered:.1})");
    let w = (video[2] - video[0]) * 0.12;
    let corner = [video[0], video[1], video[0] + w, video[1] + w];
    let shown = mean_diff_to_picture(&run.shot, &sample, video, corner);
    assert!(shown < 25.0, "the sample shows through away from the face ({shown:.1})");
}

#[test]
fn a_damaged_model_file_opens_an_operator_screen_naming_it() {
    let dir = out_dir().join("damaged-model");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("folder");
    let manifest = dir.join("emotion-cnn-fast.toml");
    std::fs::copy(common::project(emoji_mirror::config::DEFAULT_CLASSIFIER_MANIFEST), &manifest).expect("manifest");
    std::fs::write(dir.join("emotion-cnn-fast.onnx"), b"not a model at all").expect("garbage model");
    let image = common::project("assets/astronaut.png");
    let config = dir.join("settings.toml");
    let run = run_app(
        "damaged-model",
        &[
            "--image",
            image.to_str().expect("utf8"),
            "--classifier",
            manifest.to_str().expect("utf8"),
            "--exit-after-frames",
            "5",
        ],
        &config,
    );
    assert!(run.success, "the app runs:\n{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let problem = run.report["problem"].as_str().expect("the operator's message");
    assert!(problem.contains("emotion-cnn-fast.onnx") && problem.contains("git checkout models/"), "{problem}");
    let items = &run.report["items"];
    assert!(items.get("hint").is_some() && items.get("operator").is_some(), "{}", run.report);
    let operator = rect(&items["operator"]);
    assert!(operator[3] - operator[1] > 40.0, "large type: {operator:?}");
}

/// The fake camera's picture: a smiling face (the classifier says happy), so the targets of
/// [`NEVER_REACHED`] stay unreached and a round lasts its whole time bank.
const FAKE_CAMERA_PICTURE: &str = "assets/astronaut.png";
/// Targets the fake camera's face never shows.
const NEVER_REACHED: &str = "angry,disgust,fear";

#[test]
fn a_camera_unplugged_mid_game_pauses_the_round_with_a_message() {
    let config = out_dir().join("unplugged-settings.toml");
    let _ = std::fs::remove_file(&config);
    // Unplugged 15 s after it opened (the round is on by then) and not back before the end.
    let run = launch(
        "camera-unplugged",
        &[
            "--fake-camera",
            FAKE_CAMERA_PICTURE,
            "--fake-unplug",
            "15:600",
            "--start-screen",
            "challenge",
            "--demo-sequence",
            NEVER_REACHED,
            "--tap",
            "@paused",
            "--exit-after-frames",
            "5",
        ],
        &config,
    );
    assert!(run.success, "the app runs:\n{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let r = &run.report;
    assert_eq!(r["screen"], "challenge", "{r}");
    assert_eq!(r["round"]["paused"], true, "{r}");
    assert_eq!(r["round"]["phase"], "playing", "unplugged mid-game: {r}");
    let bank = r["round"]["bank_left_s"].as_f64().expect("bank");
    assert!(bank > 0.0 && bank < 20.0, "the bank ran, then stopped: {bank}");
    // Visitors: two large lines; the operator: the details.
    let hint = rect(r["items"].get("hint").expect("the hint"));
    let paused = rect(r["items"].get("paused").expect("the paused message"));
    assert!(hint[3] - hint[1] > 60.0 && paused[3] - paused[1] > 30.0, "large type: {hint:?} {paused:?}");
    assert!(r["items"].get("still-there").is_none(), "no \"Still there?\" while paused: {r}");
    let problem = r["problem"].as_str().expect("the camera's problem");
    assert!(problem.contains("camera 0") && problem.contains("unplugged"), "{problem}");
}

#[test]
fn a_replugged_camera_resumes_the_round_with_the_time_it_had() {
    let dir = out_dir().join("replugged");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("folder");
    let results = dir.join("round.json");
    // Unplugged 14 s after it opened, for 6 s; the round (autoplay: no countdown, its bank
    // of 20 s) is on before and after.
    let run = launch(
        "camera-replugged",
        &[
            "--fake-camera",
            FAKE_CAMERA_PICTURE,
            "--fake-unplug",
            "14:6",
            "--autoplay",
            "--demo-sequence",
            NEVER_REACHED,
            "--results-json",
            results.to_str().expect("utf8"),
            "--data-dir",
            dir.to_str().expect("utf8"),
        ],
        &dir.join("settings.toml"),
    );
    assert!(run.success, "the app runs:\n{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_eq!(run.report["screen"], "results", "the round went on to its end: {}", run.report);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&results).expect("results")).expect("json");
    assert_eq!(v["reason"], "time-up", "nobody counted as gone: {v}");
    assert_eq!(v["players"].as_array().map(Vec::len), Some(1), "one person, one player: {v}");
    let pauses = v["pauses"].as_array().expect("pauses");
    assert_eq!(pauses.len(), 1, "{v}");
    let before = pauses[0]["bank_left_s"].as_f64().expect("bank at the pause");
    let after = pauses[0]["bank_left_after_s"].as_f64().expect("bank after the pause");
    let lasted = pauses[0]["paused_for_s"].as_f64().expect("length");
    assert!(before > 1.0 && before < 19.0, "paused mid-game: {v}");
    assert!((before - after).abs() < 0.5, "the same time left: {before} then {after}");
    assert!((4.0..10.0).contains(&lasted), "unplugged for 6 s: paused {lasted} s");
    assert!((v["paused_s"].as_f64().expect("paused_s") - lasted).abs() < 1e-6);
    // The whole bank was played, the pause not counted.
    let duration = v["duration_s"].as_f64().expect("duration");
    assert!((duration - 20.0).abs() < 0.5, "{duration}");
}

/// Fills the score database at `path` until the next game (no bigger than any the app
/// records) would need a new page: tried each time on a copy whose size is frozen.
fn fill_to_the_brink(path: &std::path::Path) {
    use emoji_mirror::store::{NewGame, ScoreStore};
    let probe_path = path.with_extension("probe");
    let smallest = NewGame { played_at_unix_s: 1_800_000_000, score: 0, players: 1, targets: vec![] };
    for filler in 0..10_000 {
        std::fs::copy(path, &probe_path).expect("copy");
        let mut probe = ScoreStore::open(&probe_path).expect("the copy opens");
        probe.stop_growing().expect("size frozen");
        let full = probe.record(&smallest).is_err();
        drop(probe);
        let _ = std::fs::remove_file(&probe_path);
        if full {
            return;
        }
        let mut store = ScoreStore::open(path).expect("opens");
        store.record(&NewGame { played_at_unix_s: filler, score: 0, players: 1, targets: vec![] }).expect("filler");
    }
    panic!("{} never filled up", path.display());
}

#[test]
fn a_full_score_disk_mid_run_lets_the_game_go_on_and_tells_only_the_operator() {
    use emoji_mirror::store::{DATABASE_FILE, ScoreStore};
    let dir = out_dir().join("scores-full");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("folder");
    let db = dir.join(DATABASE_FILE);
    drop(ScoreStore::open(&db).expect("a new database"));
    fill_to_the_brink(&db);
    let games_before = ScoreStore::open(&db).expect("opens").all().expect("read").len();
    let status = dir.join("status.json");
    // The database opens fine; from then on it may not grow: the round's record fails with
    // SQLite's own "database or disk is full".
    let run = launch(
        "scores-full",
        &[
            "--fake-camera",
            FAKE_CAMERA_PICTURE,
            "--simulate-full-scores",
            "--autoplay",
            "--demo-sequence",
            "happy",
            "--exit-after-frames",
            "60",
            "--data-dir",
            dir.to_str().expect("utf8"),
            "--status-file",
            status.to_str().expect("utf8"),
            "--health-every",
            "1",
        ],
        &dir.join("settings.toml"),
    );
    assert!(run.success, "the app runs:\n{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let r = &run.report;
    assert_eq!(r["screen"], "results", "the game went on to its results: {r}");
    // The operator: one log line naming the file and the problem, the operator panel, health.
    let db_name = db.display().to_string();
    // (The health line names the problem every second too: it is the health report.)
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains(&db_name) && l.contains("disk is full") && !l.contains("health:"))
        .collect();
    assert_eq!(lines.len(), 1, "one line:\n{}", run.stderr);
    let warnings: Vec<&str> =
        r["operator_warnings"].as_array().expect("warnings").iter().filter_map(Value::as_str).collect();
    assert!(
        warnings.iter().any(|w| w.starts_with("Scores: 1 write(s) failed") && w.contains(&db_name)),
        "{warnings:?}"
    );
    let health: Value = serde_json::from_str(&std::fs::read_to_string(&status).expect("status file")).expect("json");
    assert_eq!(health["score_write_failures"], 1, "{health}");
    assert!(health["scores_state"].as_str().is_some_and(|s| s.contains("disk is full")), "{health}");
    assert!(health["errors"].as_u64().is_some_and(|n| n >= 1), "{health}");
    // Visitors: the results as usual, no error text; nothing half-written.
    assert!(r["problem"].is_null(), "no message in the window: {r}");
    assert_eq!(ScoreStore::open(&db).expect("reopens").all().expect("read").len(), games_before);
}
