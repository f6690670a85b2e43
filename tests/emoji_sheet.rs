//! The emoji sheet in a real window (virtual display, software Vulkan): `emoji-sheet`
//! renders every class, and each class is told apart by its pixels (red anger, green
//! disgust, a blue tear, a dark O); a turned head moves the features. And the head pose
//! on real faces. The sheet stays in target/screenshots/ to look at.
#![cfg(feature = "app")]

mod common;

use emoji_mirror::app::pose::{MAX_YAW_RAD, pose_from_landmarks};
use emoji_mirror::source::images::load_rgb;
use emoji_mirror::source::{SourceEvent, SourceSpec};
use emoji_mirror::vision::{CenterFace, Face, FaceDetector};
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

/// A cell of the sheet as the sidecar gives it: label, cell rect and the face disk's box.
struct Cell {
    label: String,
    rect: [f32; 4],
    emoji: [f32; 4],
}

fn rect(v: &Value) -> [f32; 4] {
    let a: Vec<f32> = v.as_array().expect("rect").iter().map(|x| x.as_f64().expect("number") as f32).collect();
    [a[0], a[1], a[2], a[3]]
}

/// Renders the sheet with `--size` cells; returns the picture and its cells.
fn render_sheet(size: u32) -> (RgbImage, Vec<Cell>) {
    let dir = common::project("target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    let png = dir.join("emoji-sheet.png");
    let json = png.with_extension("json");
    let _ = std::fs::remove_file(&png);
    let _ = std::fs::remove_file(&json);
    let size = size.to_string();
    let args: Vec<&std::ffi::OsStr> =
        vec!["emoji-sheet".as_ref(), "--out".as_ref(), png.as_os_str(), "--size".as_ref(), size.as_ref()];
    let out = run_under_xvfb(300, &args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "emoji-sheet failed: {}\n{err}", out.status);
    assert!(!err.contains("panicked"), "{err}");
    let shot = image::open(&png).unwrap_or_else(|e| panic!("{}: {e}\n{err}", png.display())).into_rgb8();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("sidecar")).expect("json");
    assert_eq!(
        (shot.width(), shot.height()),
        (
            report["window_width"].as_u64().expect("width") as u32,
            report["window_height"].as_u64().expect("height") as u32
        ),
        "the picture is the window the sidecar describes"
    );
    let cells = report["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| Cell {
            label: c["label"].as_str().expect("label").to_string(),
            rect: rect(&c["rect"]),
            emoji: rect(&c["emoji"]),
        })
        .collect();
    (shot, cells)
}

/// The pixels of a cell's face disk, sampled where `inside(u, v)` holds ((u, v) in the
/// disk's own units: centre 0, radius 1, v up).
fn disk_pixels(shot: &RgbImage, cell: &Cell, inside: impl Fn(f32, f32) -> bool) -> Vec<[f32; 3]> {
    let [x0, y0, x1, y1] = cell.emoji;
    let (cx, cy, r) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0, (x1 - x0) / 2.0);
    let mut out = Vec::new();
    for y in y0.floor() as u32..y1.ceil() as u32 {
        for x in x0.floor() as u32..x1.ceil() as u32 {
            let (u, v) = ((x as f32 + 0.5 - cx) / r, (cy - y as f32 - 0.5) / r);
            if u * u + v * v < 0.95 * 0.95 && inside(u, v) && x < shot.width() && y < shot.height() {
                let p = shot.get_pixel(x, y).0;
                out.push([p[0] as f32, p[1] as f32, p[2] as f32]);
            }
        }
    }
    out
}

fn mean(pixels: &[[f32; 3]], f: impl Fn(&[f32; 3]) -> f32) -> f32 {
    pixels.iter().map(f).sum::<f32>() / pixels.len().max(1) as f32
}

fn luma(p: &[f32; 3]) -> f32 {
    0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
}

/// Mean absolute difference (0..255) of two cells' face disks, pixel by pixel.
fn cell_difference(shot: &RgbImage, a: &Cell, b: &Cell) -> f32 {
    let (pa, pb) = (disk_pixels(shot, a, |_, _| true), disk_pixels(shot, b, |_, _| true));
    let n = pa.len().min(pb.len());
    let total: f32 = pa.iter().zip(&pb).map(|(x, y)| (0..3).map(|c| (x[c] - y[c]).abs()).sum::<f32>() / 3.0).sum();
    total / n.max(1) as f32
}

/// Centre of the dark pixels (the features) of a disk, in disk units.
fn dark_centroid(shot: &RgbImage, cell: &Cell) -> (f32, f32) {
    let [x0, y0, x1, y1] = cell.emoji;
    let (cx, cy, r) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0, (x1 - x0) / 2.0);
    let (mut su, mut sv, mut n) = (0.0, 0.0, 0.0);
    for y in y0 as u32..y1 as u32 {
        for x in x0 as u32..x1 as u32 {
            let (u, v) = ((x as f32 + 0.5 - cx) / r, (cy - y as f32 - 0.5) / r);
            let p = shot.get_pixel(x, y).0;
            if u * u + v * v < 0.9 && luma(&[p[0] as f32, p[1] as f32, p[2] as f32]) < DARK_LUMA {
                su += u;
                sv += v;
                n += 1.0;
            }
        }
    }
    assert!(n > 50.0, "{}: no features found", cell.label);
    (su / n, sv / n)
}

/// Luma below which a pixel counts as a feature (ink, open mouth).
const DARK_LUMA: f32 = 90.0;
/// Two classes' disks must differ by at least this mean absolute pixel difference (0..255).
const MIN_CLASS_DIFFERENCE: f32 = 12.0;

#[test]
fn the_emoji_sheet_tells_every_class_apart_by_its_pixels() {
    let (shot, cells) = render_sheet(180);
    let by = |label: &str| {
        cells.iter().find(|c| c.label == label).unwrap_or_else(|| panic!("no {label} cell in the sidecar"))
    };
    let classes = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"];
    for c in &cells {
        let [x0, y0, x1, y1] = c.rect;
        assert!(x0 >= 0.0 && y0 >= 0.0 && x1 <= shot.width() as f32 && y1 <= shot.height() as f32, "{}", c.label);
    }
    let extras =
        ["happy+surprise", "sad+fear", "angry+disgust", "happy turned right", "surprise looking up", "happy + burst"];
    for blend in extras {
        by(blend);
    }
    // The background is not a face: every disk is mostly face, not the sheet's grey.
    let whole = |label: &str| disk_pixels(&shot, by(label), |_, _| true);
    let redness = |label: &str| mean(&whole(label), |p| p[0] - p[1]);
    let greenness = |label: &str| mean(&whole(label), |p| p[1] - p[0]);
    let (angry_red, happy_red) = (redness("angry"), redness("happy"));
    assert!(
        angry_red > happy_red + 60.0,
        "angry is clearly red: red-green {angry_red:.0} against happy's {happy_red:.0}"
    );
    let disgust_green = greenness("disgust");
    for other in classes.iter().filter(|c| **c != "disgust") {
        let g = greenness(other);
        assert!(disgust_green > g + 25.0, "disgust is greener than {other}: {disgust_green:.0} against {g:.0}");
    }
    // A blue tear on sad; none on happy or neutral.
    let tear =
        |label: &str| whole(label).iter().filter(|p| p[2] > 180.0 && p[2] > p[0] + 80.0 && p[2] > p[1] + 30.0).count();
    let (sad_tear, happy_tear, neutral_tear) = (tear("sad"), tear("happy"), tear("neutral"));
    assert!(sad_tear >= 40, "sad has a blue tear: {sad_tear} blue pixels");
    assert!(happy_tear < 5 && neutral_tear < 5, "no tears: happy {happy_tear}, neutral {neutral_tear}");
    // Surprise: a dark round mouth where neutral has face with a thin line.
    let mouth = |label: &str| disk_pixels(&shot, by(label), |u, v| u * u + (v + 0.51) * (v + 0.51) < 0.12 * 0.12);
    let o_mouth = mouth("surprise");
    let dark_share = o_mouth.iter().filter(|p| luma(p) < DARK_LUMA).count() as f32 / o_mouth.len().max(1) as f32;
    assert!(o_mouth.len() > 30 && dark_share > 0.95, "surprise's mouth is a dark O: {dark_share:.2} dark");
    let neutral_mouth = mouth("neutral");
    let neutral_dark = neutral_mouth.iter().filter(|p| luma(p) < DARK_LUMA).count() as f32 / neutral_mouth.len() as f32;
    assert!(neutral_dark < 0.6, "neutral has no open mouth: {neutral_dark:.2} dark");
    // The seven classes differ pairwise.
    let mut closest = (f32::MAX, "", "");
    for (i, a) in classes.iter().enumerate() {
        for b in &classes[i + 1..] {
            let d = cell_difference(&shot, by(a), by(b));
            if d < closest.0 {
                closest = (d, a, b);
            }
        }
    }
    eprintln!("closest pair: {} and {}, mean difference {:.1}", closest.1, closest.2, closest.0);
    assert!(closest.0 > MIN_CLASS_DIFFERENCE, "{} and {} differ by {:.1} only", closest.1, closest.2, closest.0);
    // The burst's sparkles (gold, white, pink) change the happy face's cell.
    let burst = cell_difference(&shot, by("happy"), by("happy + burst"));
    assert!(burst > 4.0, "the burst shows: mean difference {burst:.1}");
    // A head turned right moves the features right; looking up moves them up.
    let (front, turned) = (dark_centroid(&shot, by("happy")), dark_centroid(&shot, by("happy turned right")));
    assert!(turned.0 > front.0 + 0.1, "turned right: features at u {:.2} against {:.2}", turned.0, front.0);
    let (level, up) = (dark_centroid(&shot, by("surprise")), dark_centroid(&shot, by("surprise looking up")));
    assert!(up.1 > level.1 + 0.08, "looking up: features at v {:.2} against {:.2}", up.1, level.1);
}

fn detector() -> CenterFace {
    emoji_mirror::compose::open_detector(common::ort_env(), &common::settings()).expect("detector")
}

fn faces_in(detector: &mut dyn FaceDetector, img: &RgbImage) -> Vec<Face> {
    let mut faces = Vec::new();
    detector.detect(img, &mut faces).expect("detect");
    faces
}

#[test]
fn head_pose_is_frontal_on_frontal_faces_and_flips_with_a_mirrored_turned_face() {
    let mut det = detector();
    // A frontal mugshot and the first frame of a frontal actor.
    let mugshot = load_rgb(&common::data("openmpf-samples/meds-aa-S001-01.jpg")).expect("mugshot");
    let video = common::data("crema-d/mp4/1001_DFA_NEU_XX.mp4");
    let source = SourceSpec::Video(video.clone()).spawn().expect("video");
    let frame = source
        .events()
        .iter()
        .find_map(|ev| if let SourceEvent::Frame(f) = ev { Some(f.image) } else { None })
        .expect("a frame");
    for (name, img) in [("mugshot", &mugshot), ("crema-d frame", &frame)] {
        let faces = faces_in(&mut det, img);
        assert_eq!(faces.len(), 1, "{name}: one face");
        let pose = pose_from_landmarks(&faces[0].landmarks_in_frame);
        eprintln!("{name}: {pose:?}");
        assert!(pose.yaw.abs() < 0.15 && pose.pitch.abs() < 0.25 && pose.roll.abs() < 0.15, "{name}: {pose:?}");
    }
    // A group photo with a face turned far toward the picture's left; mirrored, the same
    // face turns right by about as much.
    let photo = load_rgb(&common::data("dlib-faces/2007_007763.jpg")).expect("photo");
    let yaws = |img: &RgbImage, det: &mut dyn FaceDetector| -> Vec<f32> {
        faces_in(det, img).iter().map(|f| pose_from_landmarks(&f.landmarks_in_frame).yaw).collect()
    };
    let left = yaws(&photo, &mut det).into_iter().fold(f32::MAX, f32::min);
    let right = yaws(&image::imageops::flip_horizontal(&photo), &mut det).into_iter().fold(f32::MIN, f32::max);
    assert!(left < -0.4, "the most turned face: yaw {left:.2}");
    assert!(right > 0.4 && (right + left).abs() < 0.15, "mirrored: yaw {right:.2} against {left:.2}");
    assert!(left >= -MAX_YAW_RAD && right <= MAX_YAW_RAD, "clamped");
}
