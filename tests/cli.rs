//! The `predict` and `eval` commands end to end, and every bad-input case: one clear line, no panic.

mod common;

use std::path::Path;

use common::{data, project, run, stderr, stdout};

/// Asserts a failed run with a single `error:` line that mentions every needle.
fn assert_clear_error(o: &std::process::Output, needles: &[&str]) {
    let err = stderr(o);
    assert!(!o.status.success(), "should fail; stdout: {}", stdout(o));
    assert!(!err.contains("panicked"), "panic: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected, got: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    for n in needles {
        assert!(lines[0].contains(n), "'{n}' missing in: {err}");
    }
}

/// Parses `HH:MM:SS : Label , NN%` into (seconds, label, percent).
fn parse_line(line: &str) -> Option<(u32, String, u32)> {
    let (time, rest) = line.split_once(" : ")?;
    let (label, pct) = rest.split_once(" , ")?;
    let t: Vec<u32> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let pct = pct.split('%').next()?.parse().ok()?;
    Some((t[0] * 3600 + t[1] * 60 + t[2], label.to_string(), pct))
}

#[test]
fn predict_on_the_happy_clip_prints_happy_every_second() {
    let clip = data("crema-d/mp4/1001_DFA_HAP_XX.mp4");
    let o = run(&["predict", "--video", clip.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<(u32, String, u32)> = stdout(&o).lines().filter_map(parse_line).collect();
    // The clip lasts 1.87 s: seconds 0 and 1 must both have a line.
    let seconds: std::collections::BTreeSet<u32> = lines.iter().map(|l| l.0).collect();
    assert_eq!(seconds.into_iter().collect::<Vec<_>>(), vec![0, 1], "{lines:?}");
    let happy = lines.iter().filter(|l| l.1 == "Happy").count();
    assert!(happy * 2 > lines.len(), "Happy in only {happy} of {} lines: {lines:?}", lines.len());
}

#[test]
fn predict_json_has_boxes_landmarks_and_all_probabilities() {
    let clip = data("crema-d/mp4/1001_DFA_ANG_XX.mp4");
    let o = run(&["predict", "--video", clip.to_str().expect("utf8"), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let frames: Vec<serde_json::Value> =
        stdout(&o).lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert!(frames.len() >= 56, "every frame is reported, got {}", frames.len());
    let mut last_time = -1.0;
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f["frame"].as_u64(), Some(i as u64));
        let t = f["time"].as_f64().expect("time");
        assert!(t > last_time, "media time increases");
        last_time = t;
        let faces = f["faces"].as_array().expect("faces");
        assert_eq!(faces.len(), 1, "one actor in frame {i}");
        let face = &faces[0];
        assert!(face["box"]["w"].as_f64().expect("w") > 50.0);
        assert_eq!(face["landmarks"].as_array().expect("landmarks").len(), 5);
        let probs = face["probabilities"].as_object().expect("probabilities");
        assert_eq!(probs.len(), 7);
        let sum: f64 = probs.values().map(|v| v.as_f64().expect("p")).sum();
        assert!((sum - 1.0).abs() < 1e-2, "probabilities sum to {sum}");
    }
    assert!((last_time - 2.3).abs() < 0.2, "the clip is ~2.3 s long, last frame at {last_time}");
}

#[test]
fn predict_annotate_writes_a_picture_per_image() {
    let dir = tempfile::tempdir().expect("tempdir");
    let photo = data("dlib-faces/2008_001322.jpg");
    let o =
        run(&["predict", "--image", photo.to_str().expect("utf8"), "--annotate", dir.path().to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().filter(|l| parse_line(l).is_some()).count(), 3, "{}", stdout(&o));
    let out = image::open(dir.path().join("2008_001322.png")).expect("annotated PNG").into_rgb8();
    let original = image::open(&photo).expect("photo").into_rgb8();
    assert_eq!(out.dimensions(), original.dimensions());
    let changed = out.pixels().zip(original.pixels()).filter(|(a, b)| a != b).count();
    assert!(changed > 1000, "boxes and labels drawn: {changed} pixels changed");
}

#[test]
fn folder_with_a_corrupt_image_skips_it_and_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a_broken.jpg"), b"\xff\xd8 not really a jpeg").expect("write");
    std::fs::copy(data("openmpf-samples/meds-aa-S001-01.jpg"), dir.path().join("b_face.jpg")).expect("copy");
    let o = run(&["predict", "--image-dir", dir.path().to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("a_broken.jpg") && err.contains("skipped"), "{err}");
    assert!(stdout(&o).lines().any(|l| l.contains("b_face.jpg") && parse_line(l).is_some()), "{}", stdout(&o));
}

#[test]
fn missing_and_corrupt_inputs_fail_with_one_clear_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let corrupt_png = d.join("corrupt.png");
    std::fs::write(&corrupt_png, b"\x89PNG\r\n\x1a\n truncated").expect("write");
    let corrupt_video = d.join("corrupt.mp4");
    std::fs::write(&corrupt_video, vec![0x42u8; 4096]).expect("write");
    let empty = d.join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let s = |p: &Path| p.to_str().expect("utf8").to_string();

    assert_clear_error(&run(&["predict", "--image", "no/such/photo.jpg"]), &["no/such/photo.jpg", "not found"]);
    assert_clear_error(&run(&["predict", "--image", &s(&corrupt_png)]), &["corrupt.png"]);
    assert_clear_error(&run(&["predict", "--video", &s(&corrupt_video)]), &["corrupt.mp4", "not a readable video"]);
    assert_clear_error(&run(&["predict", "--video", "no/such/clip.mp4"]), &["no/such/clip.mp4", "not found"]);
    assert_clear_error(&run(&["predict", "--image-dir", &s(&empty)]), &["empty", "no images found"]);
}

#[test]
fn missing_onnx_runtime_says_how_to_get_it() {
    let photo = data("openmpf-samples/meds-aa-S001-01.jpg");
    let o = run(&["predict", "--ort-lib", "no/such/libonnxruntime.so", "--image", photo.to_str().expect("utf8")]);
    assert_clear_error(&o, &["no/such/libonnxruntime.so", "scripts/setup-ort.sh"]);
}

#[test]
fn bad_models_and_manifests_fail_with_one_clear_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let photo = data("openmpf-samples/meds-aa-S001-01.jpg");
    let manifest = std::fs::read_to_string(project("models/emotion-mini-xception.toml")).expect("manifest");
    let real_model = project("models/emotion-mini-xception.onnx");

    // An ONNX file that is not a model (a manifest without sha256), and the same file in
    // place of the model a manifest names by its sha256.
    std::fs::write(d.join("garbage.onnx"), b"this is not a protobuf").expect("write");
    let garbage = manifest.replace("emotion-mini-xception.onnx", "garbage.onnx");
    assert!(garbage.contains("\nsha256 = "), "the shipped manifest names its file's sha256");
    let unsigned: String = garbage.lines().filter(|l| !l.starts_with("sha256")).map(|l| format!("{l}\n")).collect();
    std::fs::write(d.join("garbage.toml"), unsigned).expect("write");
    std::fs::write(d.join("replaced.toml"), garbage).expect("write");
    // A manifest whose input size does not match the model.
    let wrong = manifest
        .replace("\"emotion-mini-xception.onnx\"", &format!("{:?}", real_model.to_str().expect("utf8")))
        .replace("width = 64", "width = 48")
        .replace("height = 64", "height = 48");
    std::fs::write(d.join("wrong.toml"), wrong).expect("write");
    // A manifest with an input name the model lacks.
    let renamed = manifest
        .replace("\"emotion-mini-xception.onnx\"", &format!("{:?}", real_model.to_str().expect("utf8")))
        .replace("name = \"input\"", "name = \"image\"");
    std::fs::write(d.join("renamed.toml"), renamed).expect("write");
    // Malformed TOML.
    std::fs::write(d.join("broken.toml"), "name = [unclosed").expect("write");

    let img = photo.to_str().expect("utf8");
    let m = |n: &str| d.join(n).to_str().expect("utf8").to_string();
    assert_clear_error(
        &run(&["predict", "--classifier", &m("garbage.toml"), "--image", img]),
        &["garbage.onnx", "not a usable ONNX model"],
    );
    assert_clear_error(
        &run(&["predict", "--classifier", &m("replaced.toml"), "--image", img]),
        &["garbage.onnx", "replaced.toml", "sha256", "replaced or damaged"],
    );
    assert_clear_error(&run(&["predict", "--classifier", &m("wrong.toml"), "--image", img]), &["wrong.toml", "48"]);
    assert_clear_error(
        &run(&["predict", "--classifier", &m("renamed.toml"), "--image", img]),
        &["renamed.toml", "image"],
    );
    assert_clear_error(
        &run(&["predict", "--classifier", &m("broken.toml"), "--image", img]),
        &["broken.toml", "bad manifest"],
    );
    assert_clear_error(
        &run(&["predict", "--classifier", &m("none.toml"), "--image", img]),
        &["none.toml", "not found"],
    );
}

#[test]
fn eval_rejects_a_row_with_the_wrong_pixel_count() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("short.csv");
    let good = vec!["100"; 2304].join(" ");
    let short = vec!["100"; 2303].join(" ");
    std::fs::write(&csv, format!("emotion,pixels,Usage\n3,{good},PublicTest\n4,{short},PublicTest\n")).expect("w");
    let o =
        run(&["eval", "--csv", csv.to_str().expect("utf8"), "--png", dir.path().join("c.png").to_str().expect("utf8")]);
    assert_clear_error(&o, &["short.csv:3", "found 2303"]);
}

#[test]
fn eval_reproduces_the_independent_reference_accuracy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project("tests/fixtures/reference_eval_publictest.json")).expect("reference"),
    )
    .expect("json");
    let png = dir.path().join("confusion.png");
    let json = dir.path().join("result.json");
    let csv = data("fer2013/fer2013_publictest.csv.gz");
    // The reference was computed for the mini-Xception, whichever classifier is the default.
    let manifest = project("models/emotion-mini-xception.toml");
    let o = run(&[
        "eval",
        "--csv",
        csv.to_str().expect("utf8"),
        "--classifier",
        manifest.to_str().expect("utf8"),
        "--usage",
        "PublicTest",
        "--png",
        png.to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let line = out.lines().find(|l| l.starts_with("Accuracy on test set: ")).expect("accuracy line");
    let printed: f64 = line["Accuracy on test set: ".len()..].split('%').next().expect("pct").parse().expect("number");
    let want = reference["accuracy"].as_f64().expect("accuracy") * 100.0;
    assert!((printed - want).abs() <= 0.5, "ours {printed:.2}% vs reference {want:.2}%");
    let ours: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("json");
    assert_eq!(ours["count"], reference["count"], "same number of PublicTest faces");
    assert!(out.contains("Per-class recall") && out.contains("Confusion matrix"));
    let img = image::open(&png).expect("confusion PNG").into_rgb8();
    assert!(img.width() > 400 && img.height() > 400);
}

/// `Accuracy on NAME: NN.N% (C/N faces...` -> (name, percent, correct, count).
fn parse_accuracy(line: &str) -> Option<(String, f64, u64, u64)> {
    let rest = line.strip_prefix("Accuracy on ")?;
    let (name, rest) = rest.split_once(": ")?;
    let (pct, rest) = rest.split_once("% (")?;
    let (correct, rest) = rest.split_once('/')?;
    let count = rest.split(' ').next()?;
    Some((name.to_string(), pct.parse().ok()?, correct.parse().ok()?, count.parse().ok()?))
}

#[test]
fn eval_reports_each_file_all_together_and_leaves_out_the_overlap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let public = data("fer2013/fer2013_publictest.csv.gz");
    let private = data("fer2013/fer2013_privatetest.csv.gz");
    let train = data("fer2013/fer2013_train.csv.gz");
    let json = dir.path().join("result.json");
    let p = |p: &Path| p.to_str().expect("utf8").to_string();
    let o = run(&[
        "eval",
        "--csv",
        &p(&public),
        &p(&private),
        "--exclude-overlap-with",
        &p(&train),
        &p(&public),
        "--png",
        &p(&dir.path().join("c.png")),
        "--json",
        &p(&json),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<_> = out.lines().filter_map(parse_accuracy).collect();
    let names: Vec<&str> = lines.iter().map(|l| l.0.as_str()).collect();
    assert_eq!(names, ["fer2013_publictest.csv.gz", "fer2013_privatetest.csv.gz", "test set"], "{out}");
    // The data's provenance notes: 280 PublicTest rows also occur in Training (PublicTest is
    // not compared with itself), and 314 PrivateTest rows occur in Training or PublicTest.
    assert_eq!((lines[0].3, lines[1].3), (3589 - 280, 3589 - 314), "{out}");
    assert!(out.contains("; 280 of 3589 rows excluded as overlap)") && out.contains("; 314 of 3589 rows excluded"));
    assert!(
        out.contains(
            "Excluded 594 of 7178 rows whose pixels also occur in fer2013_train.csv.gz, fer2013_publictest.csv.gz"
        ),
        "{out}"
    );
    // All together: the sums, so the count-weighted mean of the per-file accuracies.
    let (_, all_pct, all_correct, all_count) = lines[2].clone();
    assert_eq!((all_correct, all_count), (lines[0].2 + lines[1].2, lines[0].3 + lines[1].3));
    let weighted = (lines[0].1 * lines[0].3 as f64 + lines[1].1 * lines[1].3 as f64) / all_count as f64;
    assert!((weighted - all_pct).abs() <= 0.1, "weighted mean {weighted:.2} vs {all_pct}");
    for (name, pct, correct, count) in &lines {
        assert!((pct - 100.0 * *correct as f64 / *count as f64).abs() <= 0.05, "{name}");
        assert!((55.0..80.0).contains(pct), "{name}: {pct}% is no plausible accuracy for our CNN");
    }
    let result: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("json");
    assert_eq!(result["excluded"], 594);
    assert_eq!(result["files"][1]["excluded"], 314);
    assert_eq!(result["count"].as_u64(), Some(all_count));
}

#[test]
fn eval_video_counts_every_frame_of_the_crema_d_clips_against_the_crowd() {
    let labels = data("crema-d/labels.csv");
    let o = run(&["eval-video", "--labels", labels.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let clip_lines: Vec<&str> = out.lines().filter(|l| l.starts_with("1001_DFA_")).collect();
    assert_eq!(clip_lines.len(), 6, "{out}");
    // labels.csv gives each clip's frame count; the six add up to 379.
    let total = out.lines().find(|l| l.starts_with("Agreement with the reference:")).expect("total line");
    assert!(total.contains("/379 frames, 6 clips)"), "{total}");
    // The happy clip is the easy one: most of its frames are read as happy.
    let hap = clip_lines.iter().find(|l| l.starts_with("1001_DFA_HAP_XX")).expect("happy clip");
    let agree: usize = hap
        .split("frames agree")
        .next()
        .and_then(|s| s.split_whitespace().last())
        .and_then(|s| s.split('/').next()?.parse().ok())
        .expect("count");
    assert!(agree * 2 > 56, "{hap}");
    assert!(hap.contains("reference Happy"), "{hap}");
}

#[test]
fn eval_video_frames_the_crop_by_the_landmarks_when_asked() {
    let labels = data("crema-d/labels.csv");
    let labels = labels.to_str().expect("utf8");
    let o = run(&["eval-video", "--labels", labels, "--crop-anchor", "landmarks", "--crop-eyes-y", "0.35"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.lines().next().is_some_and(|l| l.contains("crop landmarks, eyes_y 0.350")), "{out}");
    let total = out.lines().find(|l| l.starts_with("Agreement with the reference:")).expect("total line");
    assert!(total.contains("/379 frames, 6 clips)"), "{total}");
    let o = run(&["eval-video", "--labels", labels, "--crop-anchor", "landmarks", "--crop-mouth-y", "0.1"]);
    assert_clear_error(&o, &["emotion-cnn-fast.toml", "crop.mouth_y"]);
}

#[test]
fn eval_video_refuses_a_labels_file_without_videos() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("labels.csv");
    std::fs::write(&csv, "clip,emotion\nnot_here,happy\n").expect("write");
    let o = run(&["eval-video", "--labels", csv.to_str().expect("utf8")]);
    assert_clear_error(&o, &["labels.csv:2", "not_here.mp4"]);
}
