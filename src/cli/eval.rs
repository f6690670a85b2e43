//! `eval`: accuracy of the emotion classifier on a FER2013-layout CSV.

use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use emoji_mirror::config::Settings;
use emoji_mirror::report::eval::{Confusion, FER_LABELS, FerSample, read_fer_samples, save_png};
use emoji_mirror::vision;

pub const EXAMPLES: &str = "\
Examples:
  emoji-mirror eval --csv fer2013_publictest.csv.gz
  emoji-mirror eval --csv fer2013.csv --usage PublicTest --png confusion.png
  emoji-mirror eval --csv fer2013_publictest.csv.gz --classifier models/other.toml --json result.json

Each 48x48 face is resized to the classifier's input with bilinear interpolation
and normalised as its manifest says.";

/// Faces classified per inference call.
const EVAL_BATCH: usize = 64;

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// FER2013-layout CSV or CSV.gz with columns emotion,pixels,Usage.
    #[arg(long, value_name = "FILE")]
    pub csv: PathBuf,
    /// Only rows whose Usage column equals this (e.g. Training, PublicTest, PrivateTest).
    #[arg(long, value_name = "USAGE")]
    pub usage: Option<String>,
    /// Where to write the confusion-matrix picture.
    #[arg(long, value_name = "FILE", default_value = "confusion_matrix.png")]
    pub png: PathBuf,
    /// Also write the result as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Evaluate only the first N matching rows.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// ONNX Runtime threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// Reads the samples of `csv` (see [`read_fer_samples`]) behind a console spinner.
pub fn read_samples_with_spinner(
    csv: &Path,
    usage: Option<&str>,
    limit: Option<usize>,
) -> anyhow::Result<Vec<FerSample>> {
    let reading = ProgressBar::new_spinner().with_message(format!("reading {}", csv.display()));
    let samples = read_fer_samples(csv, usage, limit, |n| {
        reading.set_message(format!("reading {}: {n} faces", csv.display()));
        reading.tick();
    });
    reading.finish_and_clear();
    Ok(samples?)
}

pub fn run(args: &EvalArgs, mut settings: Settings) -> anyhow::Result<()> {
    settings.classifier_threads.intra_threads =
        args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let env = super::ort_environment(&settings)?;
    let mut classifier = emoji_mirror::compose::open_classifier(env, &settings)?;
    let samples = read_samples_with_spinner(&args.csv, args.usage.as_deref(), args.limit)?;

    let bar = ProgressBar::new(samples.len() as u64).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} faces ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("classifying");
    let mut confusion = Confusion::new(classifier.labels());
    let mut probs = Vec::new();
    let mut faces = Vec::with_capacity(EVAL_BATCH);
    let n = classifier.num_classes();
    for chunk in samples.chunks(EVAL_BATCH) {
        faces.clear();
        faces.extend(chunk.iter().map(|s| &s.face));
        classifier.classify_images(&faces, &mut probs)?;
        for (s, p) in chunk.iter().zip(probs.chunks(n)) {
            let ((best, _), _) = vision::classifier::top_two(p);
            confusion.add(s.emotion, best);
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();

    let usage = args.usage.clone().unwrap_or_else(|| "all rows".into());
    println!(
        "Accuracy on test set: {:.1}% ({}/{} faces, {usage}, {})",
        confusion.accuracy() * 100.0,
        confusion.correct(),
        confusion.total(),
        classifier.manifest().name
    );
    println!("Per-class recall:");
    for (c, r) in confusion.recall().iter().enumerate() {
        let n: u64 = confusion.counts[c].iter().sum();
        match r {
            Some(r) => println!("  {:<9} {:>5.1}%  ({n} faces)", FER_LABELS[c], r * 100.0),
            None => println!("  {:<9}     -   (0 faces)", FER_LABELS[c]),
        }
    }
    println!("Confusion matrix (rows: true class, columns: predicted):");
    print!("{}", confusion.table());
    let title = format!("{}: {:.1}% on {usage}", classifier.manifest().name, confusion.accuracy() * 100.0);
    save_png(&confusion.render(&title)?, &args.png)?;
    println!("Wrote {}", args.png.display());
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "csv": args.csv.file_name().map(|n| n.to_string_lossy().into_owned()),
            "usage": args.usage,
            "classifier": classifier.manifest().name,
            "count": confusion.total(),
            "correct": confusion.correct(),
            "accuracy": confusion.accuracy(),
            "recall": FER_LABELS.iter().zip(confusion.recall()).map(|(l, r)| (l.to_string(), serde_json::json!(r))).collect::<serde_json::Map<_, _>>(),
            "confusion": confusion.counts,
            "predicted_labels": confusion.predicted_labels,
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)? + "\n")
            .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))?;
    }
    Ok(())
}
