//! Valence and arousal: every face gets a point on the circumplex, from the class
//! probabilities or straight from a model that outputs it, and it follows real faces.

mod common;

use emoji_mirror::vision::affect::{Circumplex, PUBLISHED, Point};
use emoji_mirror::vision::manifest::ClassifierManifest;
use emoji_mirror::vision::onnx::ThreadSettings;
use emoji_mirror::vision::{BBox, EmotionClassifier};
use image::{Rgb, RgbImage};

fn open(manifest: &str) -> EmotionClassifier {
    let manifest = ClassifierManifest::load(&common::project(manifest)).expect("manifest");
    EmotionClassifier::new(common::ort_env(), manifest, ThreadSettings::default()).expect("model")
}

/// Squares of the given colours side by side, and a box on each.
fn squares(colours: &[[u8; 3]]) -> (RgbImage, Vec<BBox>) {
    let mut img = RgbImage::new(64 * colours.len() as u32, 64);
    for (x, _, px) in img.enumerate_pixels_mut() {
        *px = Rgb(colours[(x / 64) as usize]);
    }
    (img, (0..colours.len()).map(|i| BBox::new(i as f32 * 64.0, 0.0, 64.0, 64.0)).collect())
}

fn distance(a: Point, b: Point) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

#[test]
fn a_valence_arousal_model_drops_in_and_the_nearest_class_is_the_emoji() {
    let mut clf = open("tests/fixtures/va2/va2.toml");
    assert_eq!(clf.num_classes(), 7);
    // va2: valence = 2*red - 1, arousal = 2*green - 1 (pixels / 255).
    let byte = |v: f32| ((v + 1.0) / 2.0 * 255.0).round() as u8;
    let colours: Vec<[u8; 3]> = PUBLISHED.iter().map(|(_, p)| [byte(p[0]), byte(p[1]), 0]).collect();
    let (img, rects) = squares(&colours);
    let mut probs = Vec::new();
    clf.classify_rects(&img, &rects, &mut probs).expect("classify");
    assert_eq!((probs.len(), clf.affect().len()), (7 * 7, 7));
    for (i, (label, point)) in PUBLISHED.iter().enumerate() {
        let got = clf.affect()[i];
        assert!(distance(got, *point) < 0.01, "{label}: the model's point {got:?}, coloured for {point:?}");
        let c = clf.view(&probs, i);
        assert_eq!(c.top_label(), *label, "{label}: {:?}", c.probabilities);
        assert!((c.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }
    // A point between the classes: the emoji is the nearest coordinate's, the point the model's.
    let (img, rects) = squares(&[[byte(0.3), byte(-0.9), 0]]);
    clf.classify_rects(&img, &rects, &mut probs).expect("classify");
    assert!(distance(clf.affect()[0], [0.3, -0.9]) < 0.01, "{:?}", clf.affect());
    let nearest = PUBLISHED
        .iter()
        .min_by(|a, b| distance(a.1, [0.3, -0.9]).total_cmp(&distance(b.1, [0.3, -0.9])))
        .map(|(l, _)| *l);
    assert_eq!(Some(clf.view(&probs, 0).top_label()), nearest);
}

#[test]
fn a_class_manifest_declares_its_own_coordinates() {
    let mut clf = open("tests/fixtures/va2/colour8-va.toml");
    let circumplex: Circumplex = clf.manifest().circumplex.clone().expect("declared coordinates");
    let (img, rects) = squares(&[[250, 10, 10], [240, 240, 20]]);
    let mut probs = Vec::new();
    clf.classify_rects(&img, &rects, &mut probs).expect("classify");
    assert_eq!((circumplex.coordinates()[0], circumplex.coordinates()[3]), ([-0.5, 0.8], [0.8, 0.5]));
    for (i, label) in ["red", "yellow"].into_iter().enumerate() {
        let c = clf.view(&probs, i);
        assert_eq!(c.top_label(), label);
        // The expected coordinate of the probabilities under the declared coordinates.
        assert_eq!(clf.affect()[i], circumplex.point_from_probabilities(c.probabilities));
    }
    // colour8's probabilities are soft, but the point leans toward the winner's coordinate:
    // red (valence -0.5) is left of yellow (+0.8).
    let (red, yellow) = (clf.affect()[0], clf.affect()[1]);
    assert!(red[0] < 0.0 && yellow[0] > 0.0 && red[0] < yellow[0], "red {red:?}, yellow {yellow:?}");
    // Without coordinates (colour8's own manifest) there is no point at all.
    let mut plain = open("tests/fixtures/rgb8/colour8.toml");
    plain.classify_rects(&img, &rects, &mut probs).expect("classify");
    assert!(plain.affect().is_empty());
}

/// `predict --json` lines of `args`, parsed.
fn predict_json(args: &[&str]) -> Vec<serde_json::Value> {
    let o = common::run(&[&["predict", "--json"], args].concat());
    assert!(o.status.success(), "{}", common::stderr(&o));
    common::stdout(&o).lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
}

fn point_of(face: &serde_json::Value) -> Point {
    let v = |k: &str| face[k].as_f64().unwrap_or_else(|| panic!("{k} in {face}")) as f32;
    [v("valence"), v("arousal")]
}

#[test]
fn predict_reports_valence_and_arousal_per_face() {
    let photo = common::data("dlib-faces/2008_002470.jpg");
    let photo = photo.to_str().expect("utf8");
    let frame = predict_json(&["--image", photo]).remove(0);
    let faces = frame["faces"].as_array().expect("faces");
    assert!(!faces.is_empty());
    for f in faces {
        let point = point_of(f);
        let probs = f["probabilities"].as_object().expect("probabilities");
        let mut want = [0.0f32; 2];
        for (label, coordinate) in PUBLISHED {
            let p = probs[label].as_f64().expect("a probability") as f32;
            want = [want[0] + p * coordinate[0], want[1] + p * coordinate[1]];
        }
        assert!(distance(point, want) < 1e-3, "{point:?} is not the expected coordinate {want:?}");
    }
    // The dropped-in valence/arousal model through the same command: the label is the
    // class nearest to the reported point.
    let frame = predict_json(&["--image", photo, "--classifier", "tests/fixtures/va2/va2.toml"]).remove(0);
    for f in frame["faces"].as_array().expect("faces") {
        let point = point_of(f);
        assert!(point.iter().all(|v| (-1.0..=1.0).contains(v)), "{point:?}");
        let nearest = PUBLISHED.iter().min_by(|a, b| distance(a.1, point).total_cmp(&distance(b.1, point)));
        assert_eq!(f["label"].as_str(), nearest.map(|(l, _)| *l), "{f}");
    }
}

#[test]
fn valence_is_higher_in_the_happy_segment_of_the_crema_d_sequence() {
    let clip = common::data("crema-d/mp4/1001_DFA_sequence_NEU-HAP-SAD-ANG-FEA-DIS.mp4");
    let labels = std::fs::read_to_string(common::data("crema-d/labels.csv")).expect("labels.csv");
    let mut rows = labels.lines();
    let header: Vec<&str> = rows.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect("column");
    let (emotion, first, last) = (col("intended_emotion"), col("sequence_first_frame"), col("sequence_last_frame"));
    let segments: Vec<(String, u64, u64)> = rows
        .map(|r| r.split(',').collect::<Vec<_>>())
        .map(|r| (r[emotion].to_string(), r[first].parse().expect("frame"), r[last].parse().expect("frame")))
        .collect();
    let frames = predict_json(&["--video", clip.to_str().expect("utf8"), "--track", "--every-frame"]);
    let mean_valence = |name: &str| {
        let &(_, a, b) = segments.iter().find(|s| s.0 == name).expect("segment");
        let values: Vec<f32> = frames
            .iter()
            .filter(|f| (a..=b).contains(&f["frame"].as_u64().expect("frame")))
            .filter_map(|f| f["faces"].as_array()?.first().map(|face| point_of(face)[0]))
            .collect();
        assert!(values.len() as u64 * 10 >= (b - a + 1) * 9, "{name}: a face in only {} frames", values.len());
        values.iter().sum::<f32>() / values.len() as f32
    };
    let (happy, sad, angry) = (mean_valence("HAP"), mean_valence("SAD"), mean_valence("ANG"));
    assert!(happy > sad && happy > angry, "mean valence: HAP {happy}, SAD {sad}, ANG {angry}");
}
