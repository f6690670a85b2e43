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
    shot: image::RgbImage,
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
