//! `eval`: accuracy of the emotion classifier on a FER2013-layout CSV.

use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use emoji_mirror::config::Settings;
use emoji_mirror::report::eval::{Confusion, FER_LABELS, FerSample, OverlapIndex, read_fer_samples, save_png};
use emoji_mirror::vision;

pub const EXAMPLES: &str = "\
Examples:
  emoji-mirror eval --csv fer2013_publictest.csv.gz
  emoji-mirror eval --csv fer2013.csv --usage PublicTest --png confusion.png
  emoji-mirror eval --csv fer2013_publictest.csv.gz --classifier models/other.toml --json result.json
  emoji-mirror eval --csv fer2013_publictest.csv.gz fer2013_privatetest.csv.gz
  emoji-mirror eval --csv fer2013_privatetest.csv.gz \\
      --exclude-overlap-with fer2013_train.csv.gz fer2013_publictest.csv.gz

Each 48x48 face is resized to the classifier's input with bilinear interpolation
and normalised as its manifest says.";

/// Faces classified per inference call.
const EVAL_BATCH: usize = 64;

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// FER2013-layout CSV or CSV.gz with columns emotion,pixels,Usage; give several
    /// (`--csv A B` or `--csv A --csv B`) for one accuracy line per file and one for all.
    #[arg(long, value_name = "FILE", num_args = 1.., required = true)]
    pub csv: Vec<PathBuf>,
    /// Leave out the rows whose 48x48 pixels also occur in any row of these CSVs (a file is
    /// never compared with itself), e.g. PrivateTest without its Training and PublicTest
    /// duplicates; the number left out is printed.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub exclude_overlap_with: Vec<PathBuf>,
    /// Only rows whose Usage column equals this (e.g. Training, PublicTest, PrivateTest).
    #[arg(long, value_name = "USAGE")]
    pub usage: Option<String>,
    /// Where to write the confusion-matrix picture.
    #[arg(long, value_name = "FILE", default_value = "confusion_matrix.png")]
    pub png: PathBuf,
    /// Also write the result as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Evaluate only the first N matching rows of each file.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// ONNX Runtime threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// One evaluated file: its samples left after the overlap exclusion, and their results.
struct FileEval {
    path: PathBuf,
    /// Rows read (after --usage and --limit).
    read: usize,
    samples: Vec<FerSample>,
    confusion: Confusion,
}

impl FileEval {
    fn name(&self) -> String {
        file_name(&self.path)
    }

    fn excluded(&self) -> usize {
        self.read - self.samples.len()
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// Whether two paths name the same file (a file is not compared with itself).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Reads `csv` and drops the rows whose pixels occur in any of `exclude` (other than `csv`).
fn read_file(csv: &Path, args: &EvalArgs) -> anyhow::Result<(usize, Vec<FerSample>)> {
    let samples = read_samples_with_spinner(csv, args.usage.as_deref(), args.limit)?;
    let read = samples.len();
    let others: Vec<&PathBuf> = args.exclude_overlap_with.iter().filter(|o| !same_file(o, csv)).collect();
    if others.is_empty() {
        return Ok((read, samples));
    }
    let mut found = vec![false; samples.len()];
    {
        let index = OverlapIndex::new(&samples);
        for other in others {
            let spinner = ProgressBar::new_spinner().with_message(format!(
                "comparing {} with {}",
                file_name(csv),
                other.display()
            ));
            spinner.enable_steady_tick(SPINNER_TICK);
            let result = index.mark_rows_of(other, &mut found);
            spinner.finish_and_clear();
            result?;
        }
    }
    let kept = samples.into_iter().zip(found).filter(|(_, dup)| !dup).map(|(s, _)| s).collect();
    Ok((read, kept))
}

/// How often the spinner redraws while another CSV is compared.
const SPINNER_TICK: std::time::Duration = std::time::Duration::from_millis(100);

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
    let mut files = Vec::with_capacity(args.csv.len());
    for csv in &args.csv {
        let (read, samples) = read_file(csv, args)?;
        files.push(FileEval { path: csv.clone(), read, samples, confusion: Confusion::new(classifier.labels()) });
    }
    let kept: usize = files.iter().map(|f| f.samples.len()).sum();
    if kept == 0 {
        anyhow::bail!(
            "no faces left to evaluate: every row of {} also occurs in {}",
            args.csv.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
            args.exclude_overlap_with.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }

    let bar = ProgressBar::new(kept as u64).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} faces ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message("classifying");
    let mut confusion = Confusion::new(classifier.labels());
    let mut probs = Vec::new();
    let mut faces = Vec::with_capacity(EVAL_BATCH);
    let n = classifier.num_classes();
    for file in &mut files {
        for chunk in file.samples.chunks(EVAL_BATCH) {
            faces.clear();
            faces.extend(chunk.iter().map(|s| &s.face));
            classifier.classify_images(&faces, &mut probs)?;
            for (s, p) in chunk.iter().zip(probs.chunks(n)) {
                let ((best, _), _) = vision::classifier::top_two(p);
                file.confusion.add(s.emotion, best);
                confusion.add(s.emotion, best);
            }
            bar.inc(chunk.len() as u64);
        }
    }
    bar.finish_and_clear();

    let excluded: usize = files.iter().map(FileEval::excluded).sum();
    if files.len() > 1 || excluded > 0 {
        for f in &files {
            let dropped = if f.excluded() > 0 {
                format!("; {} of {} rows excluded as overlap", f.excluded(), f.read)
            } else {
                String::new()
            };
            println!(
                "Accuracy on {}: {:.1}% ({}/{} faces{dropped})",
                f.name(),
                f.confusion.accuracy() * 100.0,
                f.confusion.correct(),
                f.confusion.total()
            );
        }
    }
    if !args.exclude_overlap_with.is_empty() {
        let read: usize = files.iter().map(|f| f.read).sum();
        let others: Vec<String> = args.exclude_overlap_with.iter().map(|p| file_name(p)).collect();
        println!("Excluded {excluded} of {read} rows whose pixels also occur in {}", others.join(", "));
    }
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
            "csv": files.iter().map(FileEval::name).collect::<Vec<_>>().join(" + "),
            "exclude_overlap_with": args.exclude_overlap_with.iter().map(|p| file_name(p)).collect::<Vec<_>>(),
            "excluded": excluded,
            "files": files.iter().map(|f| serde_json::json!({
                "csv": f.name(),
                "read": f.read,
                "excluded": f.excluded(),
                "count": f.confusion.total(),
                "correct": f.confusion.correct(),
                "accuracy": f.confusion.accuracy(),
            })).collect::<Vec<_>>(),
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
