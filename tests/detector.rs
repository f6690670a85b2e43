//! CenterFace on real photos: the dlib-faces boxes (hand-placed) and a photo with dogs only.

mod common;

use std::collections::BTreeMap;

use emoji_mirror::source::images::load_rgb;
use emoji_mirror::vision::{BBox, Face, FaceDetector};

/// IoU at which a detection counts as finding an annotated face.
const MATCH_IOU: f32 = 0.5;

struct Annotated {
    file: String,
    boxes: Vec<BBox>,
}

fn annotations() -> Vec<Annotated> {
    let text = std::fs::read_to_string(common::data("dlib-faces/boxes.csv")).expect("boxes.csv");
    let mut by_file: BTreeMap<String, Vec<BBox>> = BTreeMap::new();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect("column");
    let (f, l, t, w, h) = (col("file"), col("left"), col("top"), col("width"), col("height"));
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let v: Vec<&str> = line.split(',').collect();
        let n = |i: usize| v[i].trim().parse::<f32>().expect("number");
        by_file.entry(v[f].to_string()).or_default().push(BBox::new(n(l), n(t), n(w), n(h)));
    }
    by_file.into_iter().map(|(file, boxes)| Annotated { file, boxes }).collect()
}

/// Greedy one-to-one matching by IoU; returns (matched, false positives).
fn match_faces(truth: &[BBox], found: &[Face]) -> (usize, usize) {
    let mut used = vec![false; found.len()];
    let mut matched = 0;
    for t in truth {
        let best = found
            .iter()
            .enumerate()
            .filter(|(i, _)| !used[*i])
            .map(|(i, f)| (i, f.bbox_in_frame.iou(t)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((i, iou)) = best
            && iou >= MATCH_IOU
        {
            used[i] = true;
            matched += 1;
        }
    }
    (matched, used.iter().filter(|u| !**u).count())
}

#[test]
fn centerface_finds_the_annotated_dlib_faces_and_nothing_on_dogs() {
    let env = common::ort_env();
    let mut detector = emoji_mirror::compose::open_detector(env, &common::settings()).expect("detector");
    let mut faces = Vec::new();
    let (mut total, mut matched, mut false_pos) = (0, 0, 0);
    for a in annotations() {
        let img = load_rgb(&common::data(&format!("dlib-faces/{}", a.file))).expect("photo");
        detector.detect(&img, &mut faces).expect("detect");
        let (m, fp) = match_faces(&a.boxes, &faces);
        eprintln!("{}: {} of {} faces, {} false positives", a.file, m, a.boxes.len(), fp);
        total += a.boxes.len();
        matched += m;
        false_pos += fp;
    }
    assert_eq!(total, 43, "boxes.csv should hold 43 faces");
    assert!(matched >= 41, "found {matched} of 43 faces at IoU >= {MATCH_IOU}");
    assert!(false_pos <= 3, "{false_pos} false positives over the 9 photos");

    let dogs = load_rgb(&common::data("dlib-faces/dogs.jpg")).expect("dogs");
    detector.detect(&dogs, &mut faces).expect("detect");
    assert!(faces.is_empty(), "faces found on dogs.jpg: {faces:?}");
}

#[test]
fn landmarks_lie_inside_their_boxes_and_eyes_above_mouth() {
    let env = common::ort_env();
    let mut detector = emoji_mirror::compose::open_detector(env, &common::settings()).expect("detector");
    let img = load_rgb(&common::data("openmpf-samples/meds-aa-S001-01.jpg")).expect("mugshot");
    let mut faces = Vec::new();
    detector.detect(&img, &mut faces).expect("detect");
    assert_eq!(faces.len(), 1, "one frontal face: {faces:?}");
    let f = faces[0];
    let b = f.bbox_in_frame;
    for [x, y] in f.landmarks_in_frame {
        assert!(x >= b.x && x <= b.x + b.w && y >= b.y && y <= b.y + b.h, "landmark ({x},{y}) outside {b:?}");
    }
    let [le, re, _nose, lm, rm] = f.landmarks_in_frame;
    assert!(le[0] < re[0], "left eye left of right eye");
    assert!(le[1] < lm[1] && re[1] < rm[1], "eyes above the mouth corners");
}

#[test]
fn smaller_detector_input_still_finds_a_large_face() {
    let env = common::ort_env();
    let mut settings = common::settings();
    settings.detector.input_max_side = 320;
    let mut detector = emoji_mirror::compose::open_detector(env, &settings).expect("detector");
    let img = load_rgb(&common::data("openmpf-samples/meds-af-S419-01.jpg")).expect("mugshot");
    let mut faces = Vec::new();
    detector.detect(&img, &mut faces).expect("detect");
    assert_eq!(faces.len(), 1);
    assert!(faces[0].bbox_in_frame.w > img.width() as f32 * 0.2, "face box {:?}", faces[0].bbox_in_frame);
}
