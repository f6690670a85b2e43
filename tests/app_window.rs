//! The app in a real window (virtual display, software Vulkan): it plays real video,
//! covers every face with an emoji, shows the help panel after `h` and three panes
//! in the demonstrator layout. Screenshots stay in target/screenshots/ to look at.
#![cfg(feature = "app")]

mod common;

use std::path::{Path, PathBuf};

use emoji_mirror::source::{SourceEvent, SourceSpec};
use emoji_mirror::vision::{self, FaceDetector};
use image::RgbImage;
use serde_json::Value;

/// Runs `xvfb-run ... <the app> args...` (one at a time) and returns its output.
fn run_under_xvfb(timeout_s: u32, args: &[&std::ffi::OsStr]) -> std::process::Output {
    let _one_at_a_time = common::one_display();
    common::xvfb_app(timeout_s, common::XVFB_SCREEN)
        .args(args)
        .output()
        .expect("xvfb-run (scripts/setup.sh installs it)")
}

fn screenshot_dir() -> PathBuf {
    let d = common::project("target/screenshots");
    std::fs::create_dir_all(&d).expect("screenshot folder");
    d
}

/// Runs the app under a virtual display until it saves `name`.png; returns (screenshot, report).
/// It reads and writes a fresh settings file of its own.
fn run_app(name: &str, args: &[&str]) -> (RgbImage, Value) {
    let config = screenshot_dir().join(format!("{name}-settings.toml"));
    let _ = std::fs::remove_file(&config);
    run_app_with_config(name, args, &config)
}

/// Runs the app with `config` as its settings file (left as the test made it).
fn run_app_with_config(name: &str, args: &[&str], config: &Path) -> (RgbImage, Value) {
    let png = screenshot_dir().join(format!("{name}.png"));
    let json = png.with_extension("json");
    let _ = std::fs::remove_file(&png);
    let _ = std::fs::remove_file(&json);
    let mut all: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    // The mirror itself, without the attract screen's notice and buttons over the video.
    all.extend(["--start-screen", "mirror"].map(std::ffi::OsStr::new));
    all.extend([std::ffi::OsStr::new("--config"), config.as_os_str()]);
    all.extend([std::ffi::OsStr::new("--screenshot"), png.as_os_str()]);
    let out = run_under_xvfb(300, &all);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "app failed: {}\n{err}", out.status);
    assert!(!err.contains("panicked"), "{err}");
    let shot = image::open(&png).unwrap_or_else(|e| panic!("{}: {e}\n{err}", png.display())).into_rgb8();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("json");
    (shot, report)
}

fn rect(v: &Value) -> [f32; 4] {
    let a: Vec<f32> = v.as_array().expect("rect").iter().map(|x| x.as_f64().expect("number") as f32).collect();
    [a[0], a[1], a[2], a[3]]
}

/// The frame the app showed, decoded by the crate's own video source.
fn frame_of(video: &Path, index: u64) -> RgbImage {
    let source = SourceSpec::Video(video.to_path_buf()).spawn().expect("video");
    for ev in source.events() {
        if let SourceEvent::Frame(f) = ev
            && f.index == index
        {
            return f.image;
        }
    }
    panic!("frame {index} not in {}", video.display());
}

/// Mean absolute difference between the screenshot inside `win` (window px) and the
/// frame inside `frame_box` (frame px), sampled on a grid over the central half.
fn mean_diff(shot: &RgbImage, win: [f32; 4], frame: &RgbImage, frame_box: [f32; 4]) -> f32 {
    let n = 16;
    let mut total = 0.0f32;
    let mut count = 0.0f32;
    for i in 0..n {
        for j in 0..n {
            let u = 0.25 + 0.5 * (i as f32 + 0.5) / n as f32;
            let v = 0.25 + 0.5 * (j as f32 + 0.5) / n as f32;
            let sx = (win[0] + u * (win[2] - win[0])) as u32;
            let sy = (win[1] + v * (win[3] - win[1])) as u32;
            let fx = (frame_box[0] + u * (frame_box[2] - frame_box[0])) as u32;
            let fy = (frame_box[1] + v * (frame_box[3] - frame_box[1])) as u32;
            if sx >= shot.width() || sy >= shot.height() || fx >= frame.width() || fy >= frame.height() {
                continue;
            }
            let a = shot.get_pixel(sx, sy).0;
            let b = frame.get_pixel(fx, fy).0;
            total += (0..3).map(|c| (a[c] as f32 - b[c] as f32).abs()).sum::<f32>() / 3.0;
            count += 1.0;
        }
    }
    total / count.max(1.0)
}

/// Frame-pixel box -> window-pixel box through a video rect.
fn to_window(b: [f32; 4], video: [f32; 4], frame: (f32, f32)) -> [f32; 4] {
    let sx = (video[2] - video[0]) / frame.0;
    let sy = (video[3] - video[1]) / frame.1;
    [video[0] + b[0] * sx, video[1] + b[1] * sy, video[0] + b[2] * sx, video[1] + b[3] * sy]
}

/// Faces the detector finds on the frame the app showed (video settings), as [x0, y0, x1, y1].
fn detected_faces(frame: &RgbImage) -> Vec<[f32; 4]> {
    let env = common::ort_env();
    let mut settings = common::settings();
    settings.detector.input_max_side = settings.video_detector_side;
    let mut det = emoji_mirror::compose::open_detector(env, &settings).expect("detector");
    let mut faces = Vec::new();
    det.detect(frame, &mut faces).expect("detect");
    faces
        .iter()
        .map(|f| {
            [
                f.bbox_in_frame.x,
                f.bbox_in_frame.y,
                f.bbox_in_frame.x + f.bbox_in_frame.w,
                f.bbox_in_frame.y + f.bbox_in_frame.h,
            ]
        })
        .collect()
}

/// Mean difference above which the face is hidden (an emoji, not the person's pixels).
const COVERED_DIFF: f32 = 35.0;

fn assert_faces_covered(video_rel: &str, name: &str, min_share: f32) {
    let video = common::data(video_rel);
    let (shot, report) = run_app(name, &["--video", video.to_str().expect("utf8"), "--exit-after-frames", "25"]);
    let frame = frame_of(&video, report["frame_index"].as_u64().expect("frame index"));
    let size = (frame.width() as f32, frame.height() as f32);
    let video_rect = rect(&report["processed_video"]);
    let faces = detected_faces(&frame);
    assert!(!faces.is_empty(), "the detector finds faces on the shown frame");
    let covered =
        faces.iter().filter(|b| mean_diff(&shot, to_window(**b, video_rect, size), &frame, **b) > COVERED_DIFF).count();
    eprintln!("{name}: {covered} of {} faces covered", faces.len());
    assert!(covered as f32 >= min_share * faces.len() as f32, "{covered} of {} faces covered by emoji", faces.len());
    // Away from the faces the video shows through (the raw pixels are still there).
    let corner = [0.0, 0.0, size.0 * 0.12, size.1 * 0.12];
    let far_from_faces = faces.iter().all(|b| b[0] > corner[2] || b[1] > corner[3]);
    if far_from_faces {
        assert!(mean_diff(&shot, to_window(corner, video_rect, size), &frame, corner) < 25.0, "video visible");
    }
}

#[test]
fn crema_d_clip_face_is_covered_by_an_emoji() {
    assert_faces_covered("crema-d/mp4/1001_DFA_HAP_XX.mp4", "crema-d-happy", 1.0);
}

#[test]
fn every_face_of_the_multi_face_video_is_covered() {
    assert_faces_covered("openmpf-samples/video_01.mp4", "video_01", 0.8);
}

#[test]
fn help_panel_appears_after_h() {
    let video = common::data("crema-d/mp4/1001_DFA_NEU_XX.mp4");
    let (shot, report) =
        run_app("help-panel", &["--video", video.to_str().expect("utf8"), "--press", "h", "--exit-after-frames", "15"]);
    let panel = rect(report.get("help_panel").filter(|v| !v.is_null()).expect("help panel shown"));
    assert!(panel[2] - panel[0] > 200.0 && panel[3] - panel[1] > 150.0, "{panel:?}");
    // egui's dark panel: most pixels inside are dark grey.
    let mut dark = 0;
    let mut total = 0;
    for y in (panel[1] as u32 + 4..panel[3] as u32 - 4).step_by(3) {
        for x in (panel[0] as u32 + 4..panel[2] as u32 - 4).step_by(3) {
            if x < shot.width() && y < shot.height() {
                let p = shot.get_pixel(x, y).0;
                total += 1;
                if p.iter().all(|c| *c < 70) {
                    dark += 1;
                }
            }
        }
    }
    assert!(dark * 2 > total, "{dark} of {total} panel pixels are dark");
}

#[test]
fn three_pane_layout_shows_raw_processed_and_strip() {
    let video = common::data("crema-d/mp4/1001_DFA_HAP_XX.mp4");
    let (shot, report) = run_app(
        "three-pane",
        &["--video", video.to_str().expect("utf8"), "--layout", "three-pane", "--exit-after-frames", "25"],
    );
    assert_eq!(report["layout"], "three-pane");
    let raw = rect(&report["raw_video"]);
    let processed = rect(&report["processed_video"]);
    let strip = rect(&report["strip"]);
    assert!(raw[2] <= processed[0] && processed[2] <= strip[0], "side by side: {raw:?} {processed:?} {strip:?}");
    let frame = frame_of(&video, report["frame_index"].as_u64().expect("frame"));
    let size = (frame.width() as f32, frame.height() as f32);
    let faces = detected_faces(&frame);
    let face = faces.first().copied().expect("a face");
    // Raw pane: the person's face. Processed pane: the emoji.
    assert!(mean_diff(&shot, to_window(face, raw, size), &frame, face) < 25.0, "raw pane shows the camera");
    assert!(
        mean_diff(&shot, to_window(face, processed, size), &frame, face) > COVERED_DIFF,
        "processed pane shows the emoji"
    );
    // Strip: warm emoji pixels (yellow, tinted by the emotion) on the dark background.
    let mut yellow = 0;
    for y in (strip[1] as u32..strip[3] as u32).step_by(2) {
        for x in (strip[0] as u32..(strip[2] as u32).min(shot.width())).step_by(2) {
            let p = shot.get_pixel(x, y.min(shot.height() - 1)).0;
            if p[0] > 120 && p[1] > 80 && p[0] as i32 - p[2] as i32 > 40 {
                yellow += 1;
            }
        }
    }
    assert!(yellow > 500, "an emoji in the strip ({yellow} emoji-coloured samples)");
}

#[test]
fn without_a_camera_the_window_opens_and_says_what_to_do() {
    let (shot, report) = run_app("no-camera", &["--camera", "57", "--exit-after-frames", "10"]);
    let problem = report["problem"].as_str().expect("a message is shown");
    assert!(problem.contains("camera 57") && problem.contains("--video"), "{problem}");
    // The message box in the middle of the window: light text on egui's dark frame.
    let (cx, cy) = (shot.width() / 2, shot.height() / 2);
    let bright = (cx - 200..cx + 200)
        .step_by(2)
        .flat_map(|x| (cy - 60..cy + 60).step_by(2).map(move |y| (x, y)))
        .filter(|(x, y)| shot.get_pixel(*x, *y).0.iter().all(|c| *c > 100))
        .count();
    assert!(bright > 20, "text is drawn in the middle ({bright} bright samples)");
}

/// The default classifier's class labels.
fn default_labels() -> Vec<String> {
    vision::manifest::Manifest::load(&common::project(emoji_mirror::config::DEFAULT_CLASSIFIER_MANIFEST))
        .expect("default manifest")
        .output
        .labels
}

/// Writes a solid magenta `<label>.png` into `dir` for each label.
fn write_magenta_pictures<'a>(dir: &Path, labels: impl IntoIterator<Item = &'a String>) {
    for label in labels {
        RgbImage::from_pixel(64, 64, image::Rgb([255, 0, 255])).save(dir.join(format!("{label}.png"))).expect("png");
    }
}

/// Runs the app under a virtual display expecting it to fail; returns its last `error:` line.
fn app_error_line(args: &[&str]) -> String {
    let all: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    let out = run_under_xvfb(120, &all);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    // Ours is the last one (the virtual display may print its own "error:" lines).
    err.lines().rfind(|l| l.starts_with("error:")).unwrap_or_else(|| panic!("an error line in:\n{err}")).to_string()
}

#[test]
fn emoji_dir_pictures_replace_the_drawn_emoji() {
    // One solid magenta picture per class of the default classifier.
    let dir = tempfile::tempdir().expect("tempdir");
    write_magenta_pictures(dir.path(), &default_labels());
    let video = common::data("crema-d/mp4/1001_DFA_HAP_XX.mp4");
    let (shot, report) = run_app(
        "emoji-dir",
        &[
            "--video",
            video.to_str().expect("utf8"),
            "--emoji-dir",
            dir.path().to_str().expect("utf8"),
            "--exit-after-frames",
            "25",
        ],
    );
    let frame = frame_of(&video, report["frame_index"].as_u64().expect("frame index"));
    let size = (frame.width() as f32, frame.height() as f32);
    let faces = detected_faces(&frame);
    let face = to_window(*faces.first().expect("a face on the shown frame"), rect(&report["processed_video"]), size);
    // The middle of the face box shows the picture, not the person.
    let (mut magenta, mut samples) = (0, 0);
    for i in 0..10 {
        for j in 0..10 {
            let x = face[0] + (0.3 + 0.04 * i as f32) * (face[2] - face[0]);
            let y = face[1] + (0.3 + 0.04 * j as f32) * (face[3] - face[1]);
            let [r, g, b] = shot.get_pixel(x as u32, y as u32).0;
            samples += 1;
            if r > 200 && g < 80 && b > 200 {
                magenta += 1;
            }
        }
    }
    assert!(magenta * 10 >= samples * 9, "{magenta} of {samples} samples in the face show the emoji picture");
}

#[test]
fn an_emoji_dir_without_every_class_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = dir.path().to_str().expect("utf8");
    let labels = default_labels();
    write_magenta_pictures(dir.path(), labels.iter().filter(|l| *l == "happy"));
    std::fs::write(dir.path().join("sad.png"), b"not a picture").expect("write");
    let video = common::data("crema-d/mp4/1001_DFA_HAP_XX.mp4");
    let args = ["--video", video.to_str().expect("utf8"), "--emoji-dir", folder];
    let line = app_error_line(&args);
    assert!(line.contains(folder) && line.contains("angry.png") && !line.contains("happy.png"), "{line}");
    // With every class present, the undecodable picture is named.
    write_magenta_pictures(dir.path(), labels.iter().filter(|l| *l != "sad"));
    let line = app_error_line(&args);
    assert!(line.contains("sad.png") && line.contains("not a readable picture"), "{line}");
}

/// (track id, confirmed label) of every face of every JSON line, by frame index.
fn tracks_by_frame(jsonl: &str) -> std::collections::BTreeMap<u64, Vec<(u64, String)>> {
    jsonl
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
        .map(|v| {
            let faces = v["faces"]
                .as_array()
                .expect("faces")
                .iter()
                .map(|f| (f["track"].as_u64().expect("track id"), f["confirmed"].as_str().unwrap_or("-").to_string()))
                .collect();
            (v["frame"].as_u64().expect("frame"), faces)
        })
        .collect()
}

#[test]
fn the_window_shows_exactly_what_predict_track_reports() {
    let video = common::data("openmpf-samples/video_01.mp4");
    let video = video.to_str().expect("utf8");
    let record = screenshot_dir().join("recorded-tracks.jsonl");
    let _ = std::fs::remove_file(&record);
    let (_, report) = run_app(
        "every-frame",
        &[
            "--video",
            video,
            "--every-frame",
            "--record-tracks",
            record.to_str().expect("utf8"),
            "--exit-after-frames",
            "40",
        ],
    );
    assert_eq!(report["source_kind"], "video");
    assert!(report["source_fps"].as_f64().expect("source fps") > 0.0, "{report}");
    let recorded = tracks_by_frame(&std::fs::read_to_string(&record).expect("recorded tracks"));
    let predicted = common::run(&["predict", "--video", video, "--track", "--json"]);
    assert!(predicted.status.success(), "{}", common::stderr(&predicted));
    let predicted = tracks_by_frame(&common::stdout(&predicted));
    // Every frame, in order, from the first.
    let indices: Vec<u64> = recorded.keys().copied().collect();
    assert!(indices.len() >= 20, "only {} frames recorded", indices.len());
    assert_eq!(indices, (0..indices.len() as u64).collect::<Vec<_>>(), "every frame is analysed");
    let mut faces = 0;
    for (frame, tracks) in &recorded {
        assert_eq!(Some(tracks), predicted.get(frame), "frame {frame}: the app and predict --track differ");
        faces += tracks.len();
    }
    assert!(faces >= 3 * recorded.len(), "the multi-face video has several people per frame ({faces})");
}

#[test]
fn command_line_values_are_not_written_to_the_settings_file() {
    let video = common::data("crema-d/mp4/1001_DFA_NEU_XX.mp4");
    let config = screenshot_dir().join("det-size-settings.toml");
    let mine = "# my exhibit\n[tracking.confirmation]\nwindow_frames = 25\n";
    std::fs::write(&config, mine).expect("settings file");
    run_app_with_config(
        "det-size",
        &[
            "--video",
            video.to_str().expect("utf8"),
            "--det-size",
            "320",
            "--layout",
            "three-pane",
            "--press",
            " ",
            "--exit-after-frames",
            "10",
        ],
        &config,
    );
    assert_eq!(std::fs::read_to_string(&config).expect("settings"), mine, "the file is unchanged");
}

/// The `--bench-frames` line's figures: (render fps, analysis fps, latency p50, p95, render ms).
fn bench_figures(stdout: &str) -> (f32, f32, f32, f32, f32) {
    let line = stdout.lines().find(|l| l.starts_with("render ")).unwrap_or_else(|| panic!("no bench line in {stdout}"));
    let number_after = |key: &str| -> f32 {
        let at = line.find(key).unwrap_or_else(|| panic!("{key:?} in {line}")) + key.len();
        let text: String = line[at..].chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        text.parse().unwrap_or_else(|_| panic!("a number after {key:?} in {line}"))
    };
    (
        number_after("render "),
        number_after("analysis "),
        number_after("p50 "),
        number_after("p95 "),
        number_after("; render "),
    )
}

/// Render on demand (the default): the engine's frames wake the window, each is drawn, and
/// its camera-to-screen latency is closed at the presented frame (the render world's
/// figures reach the bench line).
#[test]
fn on_demand_the_window_draws_each_new_frame_and_times_it_to_the_screen() {
    let video = common::data("openmpf-samples/video_01.mp4");
    let out = run_under_xvfb(
        240,
        &[
            "--video".as_ref(),
            video.as_os_str(),
            "--render-mode".as_ref(),
            "on-demand".as_ref(),
            "--bench-frames".as_ref(),
            "40".as_ref(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let (render_fps, analysis_fps, p50, p95, render_ms) = bench_figures(&stdout);
    assert!(render_fps > 0.0 && analysis_fps > 0.0, "{stdout}");
    assert!(p50 > 0.0 && p95 >= p50, "latencies to the presented frame are measured: {stdout}");
    assert!(render_ms > 0.0, "the render thread's time per frame is measured: {stdout}");
}

/// With nothing new to show (one still image, no script), the window still ticks: it does
/// not wait for an event that never comes, and quits when its frames are counted.
#[test]
fn on_demand_a_still_picture_does_not_stall_the_window() {
    let image = common::data("openmpf-samples/race.jpg");
    let out = run_under_xvfb(
        240,
        &[
            "--image".as_ref(),
            image.as_os_str(),
            "--start-screen".as_ref(),
            "mirror".as_ref(),
            "--bench-frames".as_ref(),
            "12".as_ref(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let (render_fps, ..) = bench_figures(&stdout);
    assert!(render_fps > 0.0, "{stdout}");
}
