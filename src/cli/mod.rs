//! Command-line interface: arguments (clap) and the headless commands.

mod eval;
mod predict;
mod stability;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use emoji_mirror::config::Settings;
use emoji_mirror::source::SourceSpec;

const ABOUT: &str = "Finds every face in a picture, reads its emotion with a CNN, and reports it.";

const EXAMPLES: &str = "\
Examples:
  emoji-mirror predict --image assets/astronaut.png
  emoji-mirror predict --video clip.mp4 --json > faces.jsonl
  emoji-mirror predict --image-dir photos/ --annotate out/
  emoji-mirror eval --csv fer2013_publictest.csv.gz --usage PublicTest
  emoji-mirror predict --video clip.mp4 --track
  emoji-mirror stability --video clip.mp4

ONNX Runtime is loaded from --ort-lib, ORT_DYLIB_PATH, or .ort/ (run scripts/setup-ort.sh once).";

#[derive(Debug, Parser)]
#[command(name = "emoji-mirror", version, about = ABOUT, after_help = EXAMPLES, arg_required_else_help = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Options every command understands.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Settings file (TOML); command-line options override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// ONNX Runtime shared library (libonnxruntime.so.1.31.x).
    #[arg(long, global = true, value_name = "FILE", env = "ORT_DYLIB_PATH")]
    pub ort_lib: Option<PathBuf>,
    /// Emotion classifier manifest (TOML beside an ONNX file); any classifier with a manifest works.
    #[arg(long, global = true, value_name = "TOML")]
    pub classifier: Option<PathBuf>,
    /// Face detector manifest.
    #[arg(long, global = true, value_name = "TOML")]
    pub detector_model: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Detect faces and print their emotions, one line per face at least once per second of input.
    #[command(after_help = predict::EXAMPLES)]
    Predict(predict::PredictArgs),
    /// Measure the classifier's accuracy on a FER2013-layout CSV (emotion,pixels,Usage).
    #[command(after_help = eval::EXAMPLES)]
    Eval(eval::EvalArgs),
    /// Measure label stability with tracking: label changes per minute with and without the
    /// confirmation window, ids used, and the delay after an expression change.
    #[command(after_help = stability::EXAMPLES)]
    Stability(stability::StabilityArgs),
}

/// Where frames come from (exactly one).
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct SourceArgs {
    /// A single image file.
    #[arg(long, value_name = "FILE")]
    pub image: Option<PathBuf>,
    /// A folder of images, read in name order.
    #[arg(long, value_name = "DIR")]
    pub image_dir: Option<PathBuf>,
    /// A video file (decoded with FFmpeg).
    #[arg(long, value_name = "FILE")]
    pub video: Option<PathBuf>,
}

impl SourceArgs {
    pub fn spec(&self, looped: bool) -> SourceSpec {
        match (&self.image, &self.image_dir, &self.video) {
            (Some(p), _, _) => SourceSpec::Image(p.clone()),
            (_, Some(d), _) => SourceSpec::ImageDir { dir: d.clone(), looped },
            (_, _, Some(v)) => SourceSpec::Video(v.clone()),
            // clap's required group guarantees one of them.
            _ => SourceSpec::ImageDir {
                dir: PathBuf::from("."),
                looped,
            },
        }
    }
}

pub fn settings(common: &CommonArgs) -> anyhow::Result<Settings> {
    let mut s = match &common.config {
        Some(p) => Settings::load(p)?,
        None => Settings::default(),
    };
    if let Some(p) = &common.ort_lib {
        s.ort_lib = Some(p.clone());
    }
    if let Some(p) = &common.classifier {
        s.classifier_manifest = p.clone();
    }
    if let Some(p) = &common.detector_model {
        s.detector_manifest = p.clone();
    }
    Ok(s)
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = settings(&cli.common)?;
    match cli.command {
        Command::Predict(args) => predict::run(&args, settings),
        Command::Eval(args) => eval::run(&args, settings),
        Command::Stability(args) => stability::run(&args, settings),
    }
}

/// The loaded ONNX Runtime environment, with the error saying how to get the library.
pub fn ort_environment(settings: &Settings) -> anyhow::Result<&'static ort::environment::Environment> {
    emoji_mirror::runtime::environment(settings.ort_lib.as_deref()).context("ONNX Runtime is needed for inference")
}
