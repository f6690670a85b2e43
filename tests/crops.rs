//! The `crops` command on real video, and live-camera behaviour on a machine without one.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use emoji_mirror::vision::FaceDetector;
use image::{GrayImage, Rgb, RgbImage};

/// Builds a 20 s clip from the real CREMA-D clips (the 12.6 s sequence, then single
/// clips) with the ffmpeg command; nothing of it is kept in the repository.
fn twenty_second_clip(dir: &Path) -> PathBuf {
    let list = dir.join("parts.txt");
    let parts = [
        "crema-d/mp4/1001_DFA_sequence_NEU-HAP-SAD-ANG-FEA-DIS.mp4",
        "crema-d/mp4/1001_DFA_HAP_XX.mp4",
        "crema-d/mp4/1001_DFA_ANG_XX.mp4",
        "crema-d/mp4/1001_DFA_SAD_XX.mp4",
        "crema-d/mp4/1001_DFA_NEU_XX.mp4",
    ];
    let text: String = parts.iter().map(|p| format!("file '{}'\n", common::data(p).display())).collect();
    std::fs::write(&list, text).expect("list");
    let out = dir.join("clip20.mp4");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "concat", "-safe", "0", "-i"])
        .arg(&list)
        .args(["-t", "20", "-an", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
        .arg(&out)
        .status()
        .expect("the ffmpeg command (scripts/setup.sh installs it)");
    assert!(status.success(), "ffmpeg failed to build the test clip");
    out
}

/// Whether the detector finds a face near the centre of the crop (upscaled 4x and
/// placed in the middle of a larger grey canvas, so the face is not cut by the border).
fn face_is_centred(detector: &mut dyn FaceDetector, crop: &GrayImage) -> bool {
    let side = crop.width() * 4;
    let canvas_side = side * 2;
    let mut canvas = RgbImage::from_pixel(canvas_side, canvas_side, Rgb([128, 128, 128]));
    let big = image::imageops::resize(crop, side, side, image::imageops::FilterType::Triangle);
    for (x, y, p) in big.enumerate_pixels() {
        let v = p.0[0];
        canvas.put_pixel(x + side / 2, y + side / 2, Rgb([v, v, v]));
    }
    let mut faces = Vec::new();
    detector.detect(&canvas, &mut faces).expect("detect");
    let c = canvas_side as f32 / 2.0;
    faces.iter().any(|f| {
        let (x, y) = f.bbox_in_frame.center();
        (x - c).abs() < 0.15 * side as f32 && (y - c).abs() < 0.15 * side as f32
    })
}

fn crops_in(dir: &Path) -> Vec<GrayImage> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("out dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into())
        .collect();
    names.sort_by_key(|n| n.trim_start_matches("image").trim_end_matches(".png").parse::<u32>().unwrap_or(u32::MAX));
    for (i, n) in names.iter().enumerate() {
        assert_eq!(n, &format!("image{i}.png"), "crops are numbered image0.png, image1.png, ...");
    }
    names
        .iter()
        .map(|n| {
            let img = image::open(dir.join(n)).expect("a PNG");
            assert_eq!(img.color(), image::ColorType::L8, "{n} is 8-bit grayscale");
            img.into_luma8()
        })
        .collect()
}

#[test]
fn a_twenty_second_video_gives_twenty_centred_48px_crops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = twenty_second_clip(dir.path());
    let out = dir.path().join("crops");
    let o = common::run(&["crops", "--video", clip.to_str().expect("utf8"), "--out", out.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let crops = crops_in(&out);
    assert!(crops.len() == 20 || crops.len() == 21, "{} crops", crops.len());
    let env = common::ort_env();
    let mut settings = common::settings();
    settings.detector.input_max_side = 384;
    let mut det = emoji_mirror::compose::open_detector(env, &settings).expect("detector");
    for (i, c) in crops.iter().enumerate() {
        assert_eq!(c.dimensions(), (48, 48), "crop {i}");
        assert!(face_is_centred(&mut det, c), "crop {i} has no face at its centre");
    }
}

#[test]
fn sequence_clip_gives_a_crop_per_second_at_other_sizes_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = common::data("crema-d/mp4/1001_DFA_sequence_NEU-HAP-SAD-ANG-FEA-DIS.mp4");
    let o = common::run(&[
        "crops",
        "--video",
        clip.to_str().expect("utf8"),
        "--out",
        dir.path().to_str().expect("utf8"),
        "--size",
        "64",
        "--every",
        "500ms",
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let crops = crops_in(dir.path());
    // 12.6 s at one crop per 0.5 s: 0.0, 0.5, ..., 12.5.
    assert_eq!(crops.len(), 26);
    assert!(crops.iter().all(|c| c.dimensions() == (64, 64)));
}

#[test]
fn all_faces_writes_each_face_of_a_group_photo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let photo = common::data("dlib-faces/2008_002470.jpg");
    let o = common::run(&[
        "crops",
        "--image",
        photo.to_str().expect("utf8"),
        "--out",
        dir.path().to_str().expect("utf8"),
        "--all-faces",
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert_eq!(crops_in(dir.path()).len(), 6, "the photo has 6 faces");
}

#[test]
fn no_camera_says_what_to_use_instead() {
    for args in [vec!["predict", "--camera", "57"], vec!["crops", "--camera", "57", "--out", "unused-crops"]] {
        let o = common::run(&args);
        assert!(!o.status.success());
        let err = common::stderr(&o);
        assert!(!err.contains("panicked"), "{err}");
        assert!(err.contains("camera 57") && err.contains("--video") && err.contains("--image-dir"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    assert!(!common::project("unused-crops").exists(), "nothing is created when the camera is missing");
    let listed = common::run(&["cameras"]);
    assert!(listed.status.success(), "{}", common::stderr(&listed));
    assert!(!common::stdout(&listed).trim().is_empty());
}
