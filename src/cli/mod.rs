//! Command-line interface: arguments (clap) and the headless commands.

#[cfg(feature = "app")]
mod app;
mod crops;
mod detect_every;
mod enroll;
mod eval;
mod eval_video;
mod hack;
mod loadgen;
mod people;
mod predict;
mod scores;
mod screen;
#[cfg(feature = "app")]
mod sheet;
mod soak;
mod stability;
mod worker;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use emoji_mirror::compose::{self, Overrides};
use emoji_mirror::config::Settings;
use emoji_mirror::source::SourceSpec;
use emoji_mirror::source::camera::CameraRequest;

const ABOUT: &str = "Finds every face in a picture, reads its emotion with a CNN, and reports it.";

const EXAMPLES: &str = "\
Examples:
  emoji-mirror                                  # the app: camera 0, every face an emoji
  emoji-mirror --video clip.mp4                 # the app on a video (loops)
  emoji-mirror --video clip.mp4 --every-frame --record-tracks tracks.jsonl
                                                # every frame, recorded as predict --track --json
  emoji-mirror predict --image assets/astronaut.png
  emoji-mirror predict --video clip.mp4 --json > faces.jsonl
  emoji-mirror predict --image-dir photos/ --annotate out/
  emoji-mirror eval --csv fer2013_publictest.csv.gz --usage PublicTest
  emoji-mirror predict --video clip.mp4 --track
  emoji-mirror stability --video clip.mp4
  emoji-mirror emoji-sheet --out sheet.png      # the emoji of every class in one picture
  emoji-mirror scores list                      # the high-score table
  emoji-mirror scores export --csv scores.csv

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
    /// Settings file (TOML; default ~/.config/emoji-mirror/settings.toml, which the app writes
    /// when you change a setting in it); command-line options override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// ONNX Runtime shared library (libonnxruntime.so.1.31.x).
    #[arg(long, global = true, value_name = "FILE", env = "ORT_DYLIB_PATH")]
    pub ort_lib: Option<PathBuf>,
    /// Where ONNX Runtime runs the models: cpu (default), cuda or tensorrt (needs the GPU
    /// library: ORT_GPU=1 scripts/setup-ort.sh); one that cannot start falls back to the CPU.
    #[arg(long, global = true, value_name = "PROVIDER")]
    pub execution_provider: Option<emoji_mirror::runtime::ExecutionProvider>,
    /// Emotion classifier manifest (TOML beside an ONNX file); any classifier with a manifest works.
    #[arg(long, global = true, value_name = "TOML")]
    pub classifier: Option<PathBuf>,
    /// Face detector manifest.
    #[arg(long, global = true, value_name = "TOML")]
    pub detector_model: Option<PathBuf>,
    /// Where the score table lives (default $XDG_DATA_HOME/emoji-mirror, else
    /// ~/.local/share/emoji-mirror).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Detect faces and print their emotions, one line per face at least once per second of input.
    #[command(after_help = predict::EXAMPLES)]
    Predict(predict::PredictArgs),
    /// Measure the classifier's accuracy on a FER2013-layout CSV (emotion,pixels,Usage).
    #[command(after_help = eval::EXAMPLES)]
    Eval(eval::EvalArgs),
    /// Per-frame agreement with the reference emotion of labelled real clips (CREMA-D, RAVDESS).
    #[command(after_help = eval_video::EXAMPLES)]
    EvalVideo(eval_video::EvalVideoArgs),
    /// Fool the AI: change a face slightly, by model queries alone, until the classifier reads
    /// another emotion (happy -> sad by default); writes the pictures before and after.
    #[command(after_help = hack::EXAMPLES)]
    Hack(hack::HackArgs),
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
    /// The high-score table: list it, export it as CSV, or reset it.
    #[command(after_help = scores::EXAMPLES)]
    Scores(scores::ScoresArgs),
    /// Enrol a person by name: LBPH histograms of their face (never a picture), after consent.
    #[command(after_help = enroll::EXAMPLES)]
    Enroll(enroll::EnrollArgs),
    /// The enrolled people: list them, delete one, or purge them all.
    #[command(after_help = people::EXAMPLES)]
    People(people::PeopleArgs),
    /// Render every class's emoji, a few blends and head poses as one labelled picture (a
    /// window opens briefly), with a JSON sidecar naming each cell.
    #[cfg(feature = "app")]
    #[command(after_help = sheet::EXAMPLES)]
    EmojiSheet(sheet::SheetArgs),
    /// An inference worker: classifies kiosks' face crops from an MQTT 5 broker.
    #[command(after_help = worker::EXAMPLES)]
    Worker(worker::WorkerArgs),
    /// Simulate kiosks sending face crops to the workers at a rate; print round trips.
    #[command(hide = true)]
    Loadgen(loadgen::LoadgenArgs),
    /// Summarise and plot a soak run's CSV (scripts/soak.sh runs it).
    #[command(hide = true)]
    SoakPlot(soak::SoakPlotArgs),
}

/// Which face detector a command runs, and how.
#[derive(Debug, Args, Default)]
pub struct DetectorArgs {
    /// Face detector: centerface, haar-default, haar-alt, haar-alt2, haar-alt-tree, or 1-4
    /// for the four Haar cascades (default: the settings file's, else centerface).
    #[arg(long, value_name = "NAME")]
    pub detector: Option<emoji_mirror::vision::DetectorKind>,
    /// Detector input: longer side in pixels; smaller is faster, larger finds smaller faces
    /// (default 640 for images, 384 for video and cameras).
    #[arg(long, value_name = "PIXELS")]
    pub det_size: Option<usize>,
    /// Detector score threshold in 0..1 (default 0.5).
    #[arg(long, value_name = "SCORE")]
    pub det_threshold: Option<f32>,
    /// ONNX Runtime threads for the detector (default 2).
    #[arg(long, value_name = "N")]
    pub det_threads: Option<usize>,
}

impl DetectorArgs {
    /// The command-line layer: these options and the common ones.
    pub fn overrides(&self, common: &CommonArgs) -> Overrides {
        Overrides {
            ort_lib: common.ort_lib.clone(),
            execution_provider: common.execution_provider,
            classifier_manifest: common.classifier.clone(),
            detector_manifest: common.detector_model.clone(),
            detector_kind: self.detector,
            det_size: self.det_size,
            det_threshold: self.det_threshold,
            det_threads: self.det_threads,
            ..Overrides::default()
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

/// The settings file layer: defaults < the settings file (`--config FILE`, else the user's
/// default file when it exists).
pub fn file_settings(common: &CommonArgs) -> anyhow::Result<Settings> {
    let path = compose::settings_path(common.config.as_deref());
    Ok(compose::load_file_layer(path.as_deref(), common.config.is_some())?)
}

/// The runtime settings of a command: defaults < settings file < command line.
pub fn resolve(common: &CommonArgs, overrides: &Overrides, stream: bool) -> anyhow::Result<Settings> {
    Ok(compose::resolve_settings(&file_settings(common)?, overrides, stream)?)
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let Some(command) = cli.command else {
        #[cfg(feature = "app")]
        return app::run(&cli.app, &cli.common);
        #[cfg(not(feature = "app"))]
        anyhow::bail!("this build has no window (built without the `app` feature); run a command, see --help");
    };
    let common = &cli.common;
    match command {
        Command::Predict(args) => predict::run(&args, common),
        Command::Eval(args) => eval::run(&args, resolve(common, &DetectorArgs::default().overrides(common), false)?),
        Command::EvalVideo(args) => eval_video::run(&args, common),
        Command::Hack(args) => hack::run(&args, common),
        Command::Stability(args) => stability::run(&args, common),
        Command::Crops(args) => crops::run(&args, common),
        Command::Screen(args) => screen::run(&args, resolve(common, &args.detector.overrides(common), false)?),
        Command::Cameras => list_cameras(),
        Command::Scores(args) => scores::run(&args, common),
        Command::Enroll(args) => enroll::run(&args, common),
        Command::People(args) => people::run(&args, common),
        #[cfg(feature = "app")]
        Command::EmojiSheet(args) => sheet::run(&args, common),
        Command::SoakPlot(args) => soak::run(&args),
        Command::Worker(args) => worker::run(&args, common),
        Command::Loadgen(args) => loadgen::run(&args, common),
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
    Ok(compose::ort_environment(settings)?)
}
