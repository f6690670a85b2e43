//! The training tool's smoke test (CI does not train): a tiny FER2013 subset, one epoch, export to
//! ONNX, then the Rust `eval` loads the exported model and agrees with PyTorch's accuracy. Also
//! `screen`, which writes the training keep-list.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{data, project, run, stderr, stdout};

/// A Python 3 that can import torch: `EMOJI_MIRROR_PYTHON`, else `python3` on the path, else the
/// system's `/usr/bin/python3` (where scripts/setup.sh installs Debian's PyTorch).
fn python_with_torch() -> PathBuf {
    let candidates: Vec<PathBuf> = std::env::var_os("EMOJI_MIRROR_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from("python3"), PathBuf::from("/usr/bin/python3")])
        .collect();
    for c in &candidates {
        let ok = Command::new(c).args(["-c", "import torch, matplotlib"]).output().is_ok_and(|o| o.status.success());
        if ok {
            return c.clone();
        }
    }
    panic!("no python3 with torch and matplotlib among {candidates:?}: run scripts/setup.sh");
}

fn json(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn one_epoch_on_a_subset_exports_a_model_that_rust_eval_scores_like_pytorch() {
    let out = tempfile::tempdir().expect("temp dir");
    let py = python_with_torch();
    let train_csv = data("fer2013/fer2013_train.csv.gz");
    let val_csv = data("fer2013/fer2013_publictest.csv.gz");
    let o = Command::new(&py)
        .arg(project("training/train.py"))
        .args(["--limit", "1024", "--val-limit", "400", "--epochs", "1", "--quiet", "--name", "smoke"])
        .arg("--train-csv")
        .arg(&train_csv)
        .arg("--val-csv")
        .arg(&val_csv)
        .arg("--out-dir")
        .arg(out.path())
        .output()
        .expect("python runs");
    assert!(o.status.success(), "training failed:\n{}\n{}", stdout(&o), stderr(&o));
    let log = stdout(&o);
    for stage in ["[1/4] data: 1024 training faces", "[2/4] model:", "[3/4] exported", "[4/4] wrote"] {
        assert!(log.contains(stage), "'{stage}' missing in:\n{log}");
    }
    for f in [
        "smoke.onnx",
        "smoke.toml",
        "smoke-fast.onnx",
        "smoke-fast.toml",
        "smoke.pt",
        "history.json",
        "learning_curves.png",
        "architecture.txt",
        "training_report.md",
    ] {
        assert!(out.path().join(f).is_file(), "{f} not written");
    }
    let curves = image::open(out.path().join("learning_curves.png")).expect("learning curves are a PNG");
    assert!(curves.width() > 400 && curves.height() > 200);
    let history = json(&out.path().join("history.json"));
    // Same faces, same normalisation, same graph: at most a couple of near-ties may flip.
    for (stem, key) in [("smoke", "acc_exported"), ("smoke-fast", "acc_plain")] {
        let torch_acc = history["summary"][key].as_f64().expect("summary accuracy");
        let rust_acc = rust_eval(out.path(), stem, &val_csv);
        assert!(
            (rust_acc - torch_acc).abs() <= 2.0 / 400.0 + 1e-9,
            "{stem}: Rust eval {rust_acc} vs PyTorch {torch_acc}"
        );
        // One epoch on 1024 faces already does better than guessing.
        assert!(rust_acc > 1.0 / 7.0, "{stem}: accuracy {rust_acc} is at chance");
    }
}

/// Runs `emoji-mirror eval` on the first 400 faces of `csv` with `<dir>/<stem>.toml`; its accuracy.
fn rust_eval(dir: &std::path::Path, stem: &str, val_csv: &std::path::Path) -> f64 {
    let manifest = dir.join(format!("{stem}.toml"));
    let eval_json = dir.join(format!("{stem}-eval.json"));
    let png = dir.join(format!("{stem}-confusion.png"));
    let o = run(&[
        "eval",
        "--csv",
        val_csv.to_str().expect("utf8"),
        "--limit",
        "400",
        "--classifier",
        manifest.to_str().expect("utf8"),
        "--png",
        png.to_str().expect("utf8"),
        "--json",
        eval_json.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "eval failed: {}", stderr(&o));
    assert!(stdout(&o).contains("Accuracy on test set:"), "{}", stdout(&o));
    let eval = json(&eval_json);
    assert_eq!(eval["count"].as_u64(), Some(400));
    eval["accuracy"].as_f64().expect("accuracy")
}

/// training/test_train.py: the validation split (stratified, disjoint, deterministic), --resume
/// (one epoch, an interruption and one resumed epoch equal two epochs) and the bf16 path.
#[test]
fn the_training_tools_python_tests_pass() {
    let o = Command::new(python_with_torch())
        .args(["-m", "unittest", "discover", "-s"])
        .arg(project("training"))
        .output()
        .expect("python runs");
    assert!(o.status.success(), "training/test_train.py failed:\n{}\n{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).lines().any(|l| l.starts_with("Ran ") && !l.starts_with("Ran 0 ")),
        "no tests ran: {}",
        stderr(&o)
    );
}

#[test]
fn training_names_a_bad_csv_in_one_line() {
    let py = python_with_torch();
    let bad = tempfile::tempdir().expect("temp dir");
    let csv = bad.path().join("short.csv");
    std::fs::write(&csv, "emotion,pixels,Usage\n3,1 2 3,Training\n").expect("write");
    let o = Command::new(&py)
        .arg(project("training/train.py"))
        .arg("--train-csv")
        .arg(&csv)
        .arg("--out-dir")
        .arg(bad.path())
        .output()
        .expect("python runs");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("short.csv:2") && err.contains("3 pixels, expected 2304"), "{err}");
}

#[test]
fn screen_keeps_the_faces_centerface_finds_and_lists_only_row_numbers() {
    let out = tempfile::tempdir().expect("temp dir");
    let keep = out.path().join("keep.txt");
    let csv = data("fer2013/fer2013_publictest.csv.gz");
    let o = run(&[
        "screen",
        "--csv",
        csv.to_str().expect("utf8"),
        "--usage",
        "PublicTest",
        "--limit",
        "300",
        "--out",
        keep.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&keep).expect("keep-list written");
    let rows: Vec<usize> =
        text.lines().filter(|l| !l.starts_with('#')).map(|l| l.parse().expect("row number")).collect();
    // FER2013 faces are real faces: the detector finds most, though not all (some are
    // cartoons, profiles, covered or blank).
    assert!(rows.len() > 200 && rows.len() < 300, "kept {} of 300", rows.len());
    assert!(rows.windows(2).all(|w| w[0] < w[1]) && rows.iter().all(|&r| r < 300), "{rows:?}");
    assert!(stdout(&o).contains(&format!("in {} of 300 rows", rows.len())), "{}", stdout(&o));
}

/// The value after `key = ` in the printed [crop] sections.
fn printed_value(out: &str, key: &str) -> f32 {
    out.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key} = ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {out}"))
}

#[test]
fn screen_framing_measures_where_the_detector_puts_fer2013_faces() {
    let csv = data("fer2013/fer2013_train.csv.gz");
    let o = run(&["screen", "--csv", csv.to_str().expect("utf8"), "--limit", "300", "--framing"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("framing of ") && out.contains("anchor = \"landmarks\""), "{out}");
    // FER2013 faces are cut tightly around the face: the detector's box covers most of the
    // picture, the eyes sit above the middle and the mouth below it.
    let (margin, eyes, mouth) =
        (printed_value(&out, "margin"), printed_value(&out, "eyes_y"), printed_value(&out, "mouth_y"));
    assert!((0.0..0.4).contains(&margin), "{out}");
    assert!((0.2..0.5).contains(&eyes) && (0.55..0.9).contains(&mouth), "{out}");
    assert!(printed_value(&out, "shift_y").abs() < 0.2, "{out}");
}
