//! The classifier is data-driven: a different model (8 classes, RGB, 224x224, NHWC,
//! ImageNet normalisation, logits) works by dropping in an ONNX file plus a manifest.

mod common;

use emoji_mirror::vision::manifest::ClassifierManifest;
use emoji_mirror::vision::onnx::ThreadSettings;
use emoji_mirror::vision::{BBox, EmotionClassifier, Face, LANDMARKS};
use image::{Rgb, RgbImage};

fn colour8() -> EmotionClassifier {
    let manifest = ClassifierManifest::load(&common::project("tests/fixtures/rgb8/colour8.toml")).expect("manifest");
    EmotionClassifier::new(common::ort_env(), manifest, ThreadSettings::default()).expect("colour8 model")
}

fn face_at(x: f32, y: f32, side: f32) -> Face {
    Face { bbox_in_frame: BBox::new(x, y, side, side), landmarks_in_frame: [[0.0; 2]; LANDMARKS], score: 1.0 }
}

#[test]
fn second_manifest_classifies_each_face_of_a_batch_in_its_own_labels() {
    let mut clf = colour8();
    assert_eq!(clf.num_classes(), 8);
    // Four coloured squares on grey; each "face" box covers one square.
    let mut img = RgbImage::from_pixel(400, 100, Rgb([128, 128, 128]));
    let colours =
        [([250u8, 10, 10], "red"), ([10, 10, 240], "blue"), ([240, 240, 20], "yellow"), ([20, 20, 20], "black")];
    for (i, (c, _)) in colours.iter().enumerate() {
        for y in 10..90 {
            for x in (i as u32 * 100 + 10)..(i as u32 * 100 + 90) {
                img.put_pixel(x, y, Rgb(*c));
            }
        }
    }
    let faces: Vec<Face> = (0..4).map(|i| face_at(i as f32 * 100.0 + 10.0, 10.0, 80.0)).collect();
    let mut probs = Vec::new();
    clf.classify_faces(&img, &faces, &mut probs).expect("classify");
    assert_eq!(probs.len(), 4 * 8);
    for (i, (_, want)) in colours.iter().enumerate() {
        let c = clf.view(&probs, i);
        assert_eq!(c.top_label(), *want, "face {i}: {:?}", c.probabilities);
        let sum: f32 = c.probabilities.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4, "softmax of the logits sums to {sum}");
    }
}

#[test]
fn channel_order_matters_red_is_not_blue() {
    // If the RGB/BGR order from the manifest were ignored, red would come out blue.
    let mut clf = colour8();
    let img = RgbImage::from_pixel(64, 64, Rgb([255, 0, 0]));
    let mut probs = Vec::new();
    clf.classify_rects(&img, &[BBox::new(0.0, 0.0, 64.0, 64.0)], &mut probs).expect("classify");
    assert_eq!(clf.view(&probs, 0).top_label(), "red");
}

#[test]
fn predict_runs_the_dropped_in_classifier_on_a_real_photo() {
    let photo = common::data("dlib-faces/2008_002470.jpg");
    let o = common::run(&[
        "predict",
        "--classifier",
        "tests/fixtures/rgb8/colour8.toml",
        "--image",
        photo.to_str().expect("utf8"),
        "--json",
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let frame: serde_json::Value = serde_json::from_str(common::stdout(&o).trim()).expect("one JSON line");
    let faces = frame["faces"].as_array().expect("faces");
    assert_eq!(faces.len(), 6);
    let labels = ["red", "green", "blue", "yellow", "cyan", "magenta", "black", "white"];
    for f in faces {
        let probs = f["probabilities"].as_object().expect("probabilities");
        let mut keys: Vec<&str> = probs.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut want = labels.to_vec();
        want.sort_unstable();
        assert_eq!(keys, want);
        assert!(labels.contains(&f["label"].as_str().expect("label")));
    }
}

#[test]
fn the_emotion_model_reads_a_happy_face_as_happy() {
    // Real frame of the CREMA-D actor smiling; the face box from the detector.
    let env = common::ort_env();
    let settings = common::settings();
    let mut det = emoji_mirror::compose::open_detector(env, &settings).expect("detector");
    let mut clf = emoji_mirror::compose::open_classifier(env, &settings).expect("classifier");
    let spec = emoji_mirror::source::SourceSpec::Video(common::data("crema-d/mp4/1001_DFA_HAP_XX.mp4"));
    let source = spec.spawn().expect("video");
    let mut faces = Vec::new();
    let mut probs = Vec::new();
    let (mut happy, mut frames) = (0, 0);
    for ev in source.events() {
        if let emoji_mirror::source::SourceEvent::Frame(f) = ev {
            emoji_mirror::vision::FaceDetector::detect(&mut det, &f.image, &mut faces).expect("detect");
            clf.classify_faces(&f.image, &faces, &mut probs).expect("classify");
            frames += 1;
            if faces.len() == 1 && clf.view(&probs, 0).top_label() == "happy" {
                happy += 1;
            }
            source.recycle(f.image);
        }
    }
    assert!(frames >= 56, "{frames} frames decoded");
    // The clip starts from a neutral face; the smile holds most of it.
    assert!(happy * 2 > frames, "happy in {happy} of {frames} frames");
}
