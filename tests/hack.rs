//! "Fool the AI" on real faces: happy crops of the CREMA-D actor turn Sad within the
//! L-infinity budget, and the `hack` command writes its pictures and fails clearly.

mod common;

use emoji_mirror::attack::{self, AttackSettings, DEFAULT_BUDGET_LEVELS};
use emoji_mirror::compose;
use emoji_mirror::engine::{Engine, EngineOptions};
use emoji_mirror::source::SourceSpec;
use emoji_mirror::vision::classifier::top_two;
use emoji_mirror::vision::crop::largest;
use image::{GrayImage, RgbImage};

use common::{data, run, stderr, stdout};

/// Crops the issue asks for, and how many of them must turn.
const CROPS: usize = 10;
const MUST_TURN: usize = 9;

/// The happy clip's frames whose largest face the default classifier reads as Happy, as
/// (frame picture, model input crop), spread evenly over the clip.
fn happy_crops() -> Vec<(RgbImage, GrayImage)> {
    let settings = common::settings();
    let env = common::ort_env();
    let mut classifier = compose::open_classifier(env, &settings).expect("classifier");
    let happy = attack::label_index(classifier.labels(), "happy").expect("a happy class");
    let models = compose::engine_models(&settings).expect("models");
    let clip = data("crema-d/mp4/1001_DFA_HAP_XX.mp4");
    let engine = Engine::start(SourceSpec::Video(clip), models, EngineOptions::offline()).expect("engine");
    let mut found = Vec::new();
    let mut probs = Vec::new();
    for frame in engine.frames().iter() {
        if let Some(face) = largest(&frame.faces) {
            let crop = attack::model_input_crop(&classifier, &frame.image, face).expect("crop");
            classifier.classify_images(std::slice::from_ref(&crop), &mut probs).expect("classify");
            if top_two(&probs).0.0 == happy {
                found.push((frame.image.clone(), crop));
            }
        }
        engine.recycle(frame);
    }
    engine.finish();
    assert!(found.len() >= CROPS, "only {} frames read as happy", found.len());
    let step = found.len() / CROPS;
    found.into_iter().step_by(step).take(CROPS).collect()
}

#[test]
fn nine_of_ten_happy_crops_turn_sad_within_the_budget() {
    let settings = common::settings();
    let mut classifier = compose::open_classifier(common::ort_env(), &settings).expect("classifier");
    let labels = classifier.labels().to_vec();
    let from = attack::label_index(&labels, "happy").expect("happy");
    let to = attack::label_index(&labels, "sad").expect("sad");
    let mut turned = 0;
    let mut report = Vec::new();
    for (_, crop) in happy_crops() {
        let outcome = attack::attack(&mut classifier, &labels, &crop, (from, to), AttackSettings::default(), |_| {
            std::ops::ControlFlow::Continue(())
        })
        .expect("attack");
        assert!(
            outcome.max_change_levels() <= DEFAULT_BUDGET_LEVELS,
            "a pixel moved {} levels (budget {DEFAULT_BUDGET_LEVELS})",
            outcome.max_change_levels()
        );
        assert_eq!(outcome.original, crop, "the original is the crop handed in");
        // What the outcome reports is what the model reads on the 8-bit picture.
        let mut probs = Vec::new();
        classifier.classify_images(std::slice::from_ref(&outcome.hacked), &mut probs).expect("classify");
        let read = top_two(&probs).0.0;
        assert_eq!(outcome.reached, read == to, "reached flag disagrees with the model");
        turned += usize::from(outcome.reached);
        report.push(format!("{} queries, reached {}", outcome.queries, outcome.reached));
    }
    assert!(turned >= MUST_TURN, "{turned} of {CROPS} turned sad: {report:?}");
}

#[test]
fn the_hack_command_writes_its_pictures_and_explains_failures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (frame, _) = happy_crops().into_iter().next().expect("a happy frame");
    let picture = dir.path().join("happy.png");
    frame.save(&picture).expect("write frame");
    let out = dir.path().join("out");
    let o = run(&["hack", "--image", picture.to_str().expect("utf8"), "--out", out.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("Model queries: "), "{text}");
    assert!(text.contains("Fooled"), "{text}");
    for name in ["input.png", "hacked.png", "difference.png", "side-by-side.png"] {
        assert!(out.join(name).is_file(), "{name} missing");
    }
    let input = image::open(out.join("input.png")).expect("input.png").to_luma8();
    let hacked = image::open(out.join("hacked.png")).expect("hacked.png").to_luma8();
    assert!(attack::max_abs_difference(&input, &hacked) <= DEFAULT_BUDGET_LEVELS);
    assert_ne!(input, hacked, "the picture was changed");

    // A picture without a face: one line naming the file.
    let blank = dir.path().join("blank.png");
    RgbImage::from_pixel(320, 240, image::Rgb([90, 90, 90])).save(&blank).expect("write blank");
    let o = run(&["hack", "--image", blank.to_str().expect("utf8"), "--out", out.to_str().expect("utf8")]);
    let err = stderr(&o);
    assert!(!o.status.success() && !err.contains("panicked"), "{err}");
    assert!(err.contains("blank.png") && err.contains("no face"), "{err}");

    // An emotion the classifier does not know: the error lists the known ones.
    let o = run(&["hack", "--image", picture.to_str().expect("utf8"), "--to", "bored"]);
    let err = stderr(&o);
    assert!(!o.status.success() && !err.contains("panicked"), "{err}");
    assert!(err.contains("bored") && err.contains("sad"), "{err}");
}
