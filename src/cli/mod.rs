//! Command-line interface: arguments (clap) and the headless commands.

#[cfg(feature = "app")]
mod app;
mod crops;
mod eval;
mod predict;
mod screen;
mod stability;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use emoji_mirror::config::Settings;
use emoji_mirror::source::SourceSpec;
use emoji_mirror::source::camera::CameraRequest;

const ABOUT: &str = "Finds every face in a picture, reads its emotion with a CNN, and reports it.";

const EXAMPLES: &str = "\
Examples:
  emoji-mirror                                  # the app: camera 0, every face an emoji
  emoji-mirror --video clip.mp4                 # the app on a video (loops)
  emoji-mirror predict --image assets/astronaut.png
  emoji-mirror predict --video clip.mp4 --json > faces.jsonl
  emoji-mirror predict --image-dir photos/ --annotate out/
  emoji-mirror eval --csv fer2013_publictest.csv.gz --usage PublicTest
  emoji-mirror predict --video clip.mp4 --track
  emoji-mirror stability --video clip.mp4

ONNX Runtime is loaded from --ort-lib, ORT_DYLIB_PATH, or .ort/ (run scripts/setup-ort.sh once).";

#[derive(Debug, Parser)]
#[command(name = "emoji-mirror", version, about = ABOUT, after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Without a command: the exhibition app (a window).
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub common: CommonArgs,
    #[cfg(feature = "app")]
    #[command(flatten)]
    pub app: app::AppArgs,
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
    /// Write one grayscale face crop per second (image0.png, image1.png, ...) for a dataset or a class.
    #[command(after_help = crops::EXAMPLES)]
    Crops(crops::CropsArgs),
    /// List the rows of a FER2013-layout CSV in which the face detector finds a face (a
    /// keep-list for training on detectable faces only).
    #[command(after_help = screen::EXAMPLES)]
    Screen(screen::ScreenArgs),
    /// List the cameras and the modes they offer.
    Cameras,
}

/// Which face detector a command runs.
#[derive(Debug, Args)]
pub struct DetectorArgs {
    /// Face detector: centerface, haar-default, haar-alt, haar-alt2, haar-alt-tree, or 1-4
    /// for the four Haar cascades (default: the settings file's, else centerface).
    #[arg(long, value_name = "NAME")]
    pub detector: Option<emoji_mirror::vision::DetectorKind>,
}

impl DetectorArgs {
    /// Writes the chosen detector into `settings`.
    pub fn apply(&self, settings: &mut Settings) {
        if let Some(kind) = self.detector {
            settings.detector_kind = kind;
        }
    }
}

/// Where frames come from (exactly one).
#[derive(Debug, Args)]
#[group(id = "input", required = true, multiple = false, args = ["image", "image_dir", "video", "camera"])]
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
    /// A camera by index (see `emoji-mirror cameras`); live: only the newest frame is analysed.
    #[arg(long, value_name = "N")]
    pub camera: Option<u32>,
    /// Camera mode to ask for; the closest the camera offers is used.
    #[arg(long, value_name = "WxH", default_value = "640x480", value_parser = parse_size)]
    pub camera_size: (u32, u32),
    /// Camera frame rate to ask for.
    #[arg(long, value_name = "FPS", default_value_t = emoji_mirror::source::camera::DEFAULT_FPS)]
    pub camera_fps: u32,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(|| format!("'{s}' is not WIDTHxHEIGHT, e.g. 640x480"))?;
    let n =
        |v: &str| v.trim().parse::<u32>().ok().filter(|v| *v > 0).ok_or_else(|| format!("'{s}' is not WIDTHxHEIGHT"));
    Ok((n(w)?, n(h)?))
}

impl SourceArgs {
    pub fn spec(&self, looped: bool) -> SourceSpec {
        match (&self.image, &self.image_dir, &self.video, self.camera) {
            (Some(p), ..) => SourceSpec::Image(p.clone()),
            (_, Some(d), ..) => SourceSpec::ImageDir { dir: d.clone(), looped },
            (_, _, Some(v), _) => SourceSpec::Video(v.clone()),
            (.., Some(index)) => {
                let (width, height) = self.camera_size;
                SourceSpec::Camera(CameraRequest { index, width, height, fps: self.camera_fps })
            }
            // clap's required group guarantees one of them.
            _ => SourceSpec::Camera(CameraRequest::new(0)),
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
    let Some(command) = cli.command else {
        #[cfg(feature = "app")]
        return app::run(&cli.app, &cli.common);
        #[cfg(not(feature = "app"))]
        anyhow::bail!("this build has no window (built without the `app` feature); run a command, see --help");
    };
    let settings = settings(&cli.common)?;
    match command {
        Command::Predict(args) => predict::run(&args, settings),
        Command::Eval(args) => eval::run(&args, settings),
        Command::Stability(args) => stability::run(&args, settings),
        Command::Crops(args) => crops::run(&args, settings),
        Command::Screen(args) => screen::run(&args, settings),
        Command::Cameras => list_cameras(),
    }
}

fn list_cameras() -> anyhow::Result<()> {
    let lines = emoji_mirror::source::camera::list().map_err(|e| anyhow::anyhow!("cannot list cameras: {e}"))?;
    if lines.is_empty() {
        println!("no cameras found; connect one, or read files with --video FILE, --image FILE or --image-dir DIR");
    }
    for l in lines {
        println!("{l}");
    }
    Ok(())
}

/// The loaded ONNX Runtime environment, with the error saying how to get the library.
pub fn ort_environment(settings: &Settings) -> anyhow::Result<&'static ort::environment::Environment> {
    emoji_mirror::runtime::environment(settings.ort_lib.as_deref()).context("ONNX Runtime is needed for inference")
}
