//! Parity with OpenCV: our Haar detector against `detectMultiScale` boxes stored by
//! scripts/haar_parity.py (OpenCV 4.14, the tutorial parameters) on the shared photos and
//! video frames, decoded by our decoders on both sides (examples/haar_frames.rs).

mod common;

use std::path::Path;

use emoji_mirror::source::{SourceEvent, SourceSpec};
use emoji_mirror::vision::haar::{Cascade, HaarDetector, HaarSettings, Rect};
use emoji_mirror::vision::{DetectorKind, FaceDetector};
use image::RgbImage;

/// A box of ours matches one of OpenCV's at this IoU or more.
const MATCH_IOU: f64 = 0.9;
/// Share of OpenCV's boxes we must match, per image and cascade.
const MIN_MATCHED: f64 = 0.95;
/// Share (of OpenCV's box count) of extra boxes we may return, per image and cascade.
const MAX_EXTRA: f64 = 0.05;

fn iou(a: &Rect, b: &Rect) -> f64 {
    let ix = (a.x + a.w).min(b.x + b.w) - a.x.max(b.x);
    let iy = (a.y + a.h).min(b.y + b.h) - a.y.max(b.y);
    if ix <= 0 || iy <= 0 {
        return 0.0;
    }
    let inter = f64::from(ix * iy);
    inter / (f64::from(a.w * a.h + b.w * b.h) - inter)
}

/// One-to-one matches at IoU >= MATCH_IOU, best pairs first.
fn matched(ours: &[Rect], theirs: &[Rect]) -> usize {
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (i, a) in ours.iter().enumerate() {
        for (j, b) in theirs.iter().enumerate() {
            let v = iou(a, b);
            if v >= MATCH_IOU {
                pairs.push((v, i, j));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut used_a, mut used_b) = (vec![false; ours.len()], vec![false; theirs.len()]);
    let mut n = 0;
    for (_, i, j) in pairs {
        if !used_a[i] && !used_b[j] {
            used_a[i] = true;
            used_b[j] = true;
            n += 1;
        }
    }
    n
}

fn video_frames(rel: &str, wanted: &[u64]) -> Vec<(u64, RgbImage)> {
    let source = SourceSpec::Video(common::data(rel)).spawn().expect("video");
    let last = wanted.iter().copied().max().unwrap_or(0);
    let mut out = Vec::new();
    while let Ok(event) = source.events().recv() {
        if let SourceEvent::Frame(f) = event {
            if wanted.contains(&f.index) {
                out.push((f.index, f.image));
            }
            if f.index >= last {
                break;
            }
        }
    }
    out
}

struct Tally {
    theirs: usize,
    matched: usize,
    extra: usize,
    failures: Vec<String>,
}

fn check_cascade(kind: DetectorKind) -> Tally {
    let fixture = common::project(&format!("tests/fixtures/haar/{kind}.json"));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&fixture).expect("fixture")).expect("fixture JSON");
    let file = kind.cascade_file().expect("a Haar kind");
    let path = common::project(&format!("models/haar/{file}"));
    let mut det =
        HaarDetector::new(Cascade::load(&path).expect("cascade"), file, HaarSettings::default()).expect("detector");
    let entries = doc["entries"].as_array().expect("entries");
    let wanted: Vec<u64> = entries.iter().filter_map(|e| e["frame"].as_u64()).collect();
    let video = if wanted.is_empty() {
        Vec::new()
    } else {
        let rel = entries.iter().find(|e| e["frame"].is_u64()).and_then(|e| e["image"].as_str()).expect("video");
        video_frames(rel, &wanted)
    };
    let mut t = Tally { theirs: 0, matched: 0, extra: 0, failures: Vec::new() };
    for e in entries {
        let name = e["image"].as_str().expect("image");
        let img = match e["frame"].as_u64() {
            None => image::open(common::data(name)).expect("photo").to_rgb8(),
            Some(i) => video.iter().find(|(k, _)| *k == i).map(|(_, f)| f.clone()).expect("frame decoded"),
        };
        let theirs: Vec<Rect> = e["boxes"]
            .as_array()
            .expect("boxes")
            .iter()
            .map(|b| {
                let v: Vec<i32> = b.as_array().expect("box").iter().map(|x| x.as_i64().expect("int") as i32).collect();
                Rect { x: v[0], y: v[1], w: v[2], h: v[3] }
            })
            .collect();
        let (ours, _) = det.detect_rects(&img);
        let m = matched(ours, &theirs);
        let extra = ours.len() - m;
        t.theirs += theirs.len();
        t.matched += m;
        t.extra += extra;
        if (m as f64) < MIN_MATCHED * theirs.len() as f64 || extra as f64 > MAX_EXTRA * theirs.len() as f64 {
            t.failures.push(format!(
                "{name} {:?}: OpenCV {} boxes, matched {m}, extra {extra}\n  ours   {:?}\n  opencv {:?}",
                e["frame"].as_u64(),
                theirs.len(),
                ours,
                theirs
            ));
        }
    }
    t
}

fn assert_parity(kind: DetectorKind) {
    let t = check_cascade(kind);
    println!(
        "{kind}: OpenCV {} boxes, matched {} ({:.1}%), extra {} ({:.1}%)",
        t.theirs,
        t.matched,
        100.0 * t.matched as f64 / t.theirs.max(1) as f64,
        t.extra,
        100.0 * t.extra as f64 / t.theirs.max(1) as f64
    );
    assert!(t.failures.is_empty(), "{kind}: images off OpenCV:\n{}", t.failures.join("\n"));
    assert!(t.matched as f64 >= MIN_MATCHED * t.theirs as f64, "{kind}: matched {} of {}", t.matched, t.theirs);
    assert!(t.extra as f64 <= MAX_EXTRA * t.theirs as f64, "{kind}: {} extra of {}", t.extra, t.theirs);
}

#[test]
fn default_cascade_matches_opencv() {
    assert_parity(DetectorKind::HaarDefault);
}

#[test]
fn alt_cascade_matches_opencv() {
    assert_parity(DetectorKind::HaarAlt);
}

#[test]
fn alt2_cascade_matches_opencv() {
    assert_parity(DetectorKind::HaarAlt2);
}

#[test]
fn alt_tree_cascade_matches_opencv() {
    assert_parity(DetectorKind::HaarAltTree);
}

#[test]
fn every_shipped_cascade_loads() {
    for file in std::fs::read_dir(common::project("models/haar")).expect("models/haar") {
        let p = file.expect("entry").path();
        if p.extension().is_some_and(|e| e == "xml") {
            let c = Cascade::load(&p).unwrap_or_else(|e| panic!("{e}"));
            assert!(!c.stages.is_empty(), "{}", p.display());
        }
    }
    let err = Cascade::load(Path::new("models/haar/missing.xml")).expect_err("missing").to_string();
    assert!(err.contains("missing.xml") && err.contains("not found"), "{err}");
}

#[test]
fn detector_kind_dispatch_opens_haar_without_onnx() {
    let mut det = HaarDetector::open(
        &common::project("models/haar/haarcascade_frontalface_default.xml"),
        HaarSettings::default(),
    )
    .expect("opens");
    let img = image::open(common::data("openmpf-samples/meds-aa-S001-01.jpg")).expect("photo").to_rgb8();
    let mut faces = Vec::new();
    det.detect(&img, &mut faces).expect("detects");
    assert!(!faces.is_empty());
    for f in &faces {
        let b = f.bbox_in_frame;
        assert!(f.landmarks_in_frame.iter().all(|[x, y]| *x > b.x && *x < b.x + b.w && *y > b.y && *y < b.y + b.h));
    }
}
