//! Starting the app from the command line: source flags, the game's screens and scripts,
//! screenshots, benchmark.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use emoji_mirror::app::analysis::AnalysisOptions;
use emoji_mirror::app::health::HealthOptions;
use emoji_mirror::app::redraw::{RenderMode, RenderOptions};
use emoji_mirror::app::screens::{ChallengeOptions, Screen};
use emoji_mirror::app::settings_file::SavedSettings;
use emoji_mirror::app::{AppOptions, KioskOptions, LayoutMode};
use emoji_mirror::compose;
use emoji_mirror::health::{self, HEALTH_EVERY_S};
use emoji_mirror::source::SourceSpec;
use emoji_mirror::source::camera::{CameraRequest, DEFAULT_FPS};

use super::{CommonArgs, DetectorArgs};

#[derive(Debug, Args)]
pub struct AppArgs {
    /// Camera index (default 0 when no other source is given).
    #[arg(long, value_name = "N", conflicts_with_all = ["video", "image", "image_dir"])]
    pub camera: Option<u32>,
    /// Play a video file (loops).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["image", "image_dir"])]
    pub video: Option<PathBuf>,
    /// Show one image.
    #[arg(long, value_name = "FILE", conflicts_with = "image_dir")]
    pub image: Option<PathBuf>,
    /// Show the images of a folder in turn (loops).
    #[arg(long, value_name = "DIR")]
    pub image_dir: Option<PathBuf>,
    /// PNGs named after the classes (happy.png, sad.png, ...) instead of the shader emoji.
    #[arg(long, value_name = "DIR")]
    pub emoji_dir: Option<PathBuf>,
    /// Start in this layout.
    #[arg(long, value_name = "LAYOUT", value_parser = ["mirror", "three-pane"])]
    pub layout: Option<String>,
    /// Window size in logical pixels.
    #[arg(long, value_name = "WxH", default_value = "1280x720", value_parser = super::parse_size)]
    pub window_size: (u32, u32),
    /// Save a screenshot of the window (PNG) after --exit-after-frames frames (with
    /// --autoplay: on the results screen), then exit.
    #[arg(long, value_name = "PATH")]
    pub screenshot: Option<PathBuf>,
    /// Exit after this many frames with video (with --screenshot: after saving it).
    #[arg(long, value_name = "N")]
    pub exit_after_frames: Option<u32>,
    /// Render N frames, print render fps and camera-to-screen latency p50/p95, exit.
    #[arg(long, value_name = "N")]
    pub bench_frames: Option<u32>,
    /// When the window is drawn: "on-demand" (a new frame, an animation or input; at most
    /// --render-fps) or "continuous" (every frame, as fast as the machine can).
    #[arg(long, value_name = "MODE", default_value = "on-demand", value_parser = ["on-demand", "continuous"])]
    pub render_mode: String,
    /// The most frames per second drawn on demand [default: the source's rate, at most the
    /// display's refresh rate].
    #[arg(long, value_name = "FPS", value_parser = parse_render_fps)]
    pub render_fps: Option<f32>,
    /// Draw with 4x multisampling (Bevy's default; off by default here: nothing on screen
    /// needs it, and it costs the CPU a lot when the GPU is emulated).
    #[arg(long)]
    pub msaa: bool,
    /// Print a line every SECS seconds: elapsed time, resident memory, frame time p50/p95,
    /// analysis fps, render fps, camera-to-screen latency p50/p95 (long runs; scripts/soak.sh reads it).
    #[arg(long, value_name = "SECS", value_parser = parse_positive_secs)]
    pub stats_every: Option<f32>,
    /// Keys to press one after the other after the first frames, e.g. "hl" or "m<esc>"
    /// (<enter>, <esc> and <backspace> name those keys; kiosk checks, tests).
    #[arg(long, value_name = "KEYS", default_value = "")]
    pub press: String,
    /// On-screen buttons to tap with touch events, one after the other, each once it is
    /// shown, e.g. "play,skip,done"; "skip@target-emoji" waits for that item too, and
    /// "@target-emoji" only waits for it (touch checks, tests).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub tap: Vec<String>,
    /// The screen shown at start-up.
    #[arg(long, value_name = "SCREEN", default_value = "attract", value_parser = ["attract", "mirror", "challenge"])]
    pub start_screen: String,
    /// A fixed order of challenge targets for presentations, e.g. "happy,surprise,neutral".
    #[arg(long, value_name = "LABELS", value_delimiter = ',')]
    pub demo_sequence: Option<Vec<String>>,
    /// Start the challenge at once, enter no initials, and quit a few frames after the
    /// results screen is shown (with --screenshot: after saving it there). On a video file
    /// it implies --every-frame: the round is about the clip, not the machine's speed.
    #[arg(long)]
    pub autoplay: bool,
    /// After the results screen, start the next round (a few seconds later) instead of
    /// going back to the attract screen: rounds in a loop (soak runs; see scripts/soak.sh).
    #[arg(long, conflicts_with = "autoplay")]
    pub loop_rounds: bool,
    /// Write the round's result (each target, reached or not, its time; the score) as JSON.
    #[arg(long, value_name = "FILE")]
    pub results_json: Option<PathBuf>,
    /// Analyse every frame of a video, unpaced, once (instead of the newest frame at the
    /// video's own speed, looping): the window then shows exactly what `predict --track` reports.
    #[arg(long)]
    pub every_frame: bool,
    /// Write one JSON line per analysed frame to FILE (the schema of `predict --track --json`).
    #[arg(long, value_name = "FILE")]
    pub record_tracks: Option<PathBuf>,
    /// Write the health figures (fps, faces, source state, errors, uptime, memory) as JSON
    /// to FILE every --health-every seconds [default: status.json in the data directory].
    #[arg(long, value_name = "FILE")]
    pub status_file: Option<PathBuf>,
    /// Seconds between two health lines in the log (and status file writes).
    #[arg(long, value_name = "SECS", default_value_t = HEALTH_EVERY_S, value_parser = clap::value_parser!(u64).range(1..))]
    pub health_every: u64,
    /// Test aid: the main loop hangs after N frames (the watchdog heartbeat stops).
    #[arg(long, value_name = "N", hide = true)]
    pub simulate_hang_after_frames: Option<u32>,
    /// Test aid: the score database may not grow, so its writes fail as on a full disk.
    #[arg(long, hide = true)]
    pub simulate_full_scores: bool,
    /// Test aid: every camera is a fake showing this picture (recovery tests).
    #[arg(long, value_name = "FILE", hide = true, conflicts_with_all = ["video", "image", "image_dir"])]
    pub fake_camera: Option<PathBuf>,
    /// Test aid: the fake camera is unplugged AT seconds after it opened, for FOR seconds.
    #[arg(long, value_name = "AT:FOR", hide = true, requires = "fake_camera",
          value_parser = emoji_mirror::source::fake_camera::Unplug::parse)]
    pub fake_unplug: Option<emoji_mirror::source::fake_camera::Unplug>,
    /// Run as an exhibit: borderless full screen, no cursor, operator keys and panel locked
    /// behind Ctrl+Alt+O or a three-finger long press (and `[kiosk] operator_pin`); no key quits.
    #[arg(long)]
    pub kiosk: bool,
    /// The monitor --kiosk fills (0, 1, ...; default: the primary one).
    #[arg(long, value_name = "N", requires = "kiosk")]
    pub monitor: Option<usize>,
    #[command(flatten)]
    pub detector: DetectorArgs,
    #[command(flatten)]
    pub detect_every: super::detect_every::DetectEveryArgs,
    #[command(flatten)]
    pub broker: super::worker::BrokerArgs,
}

fn parse_positive_secs(s: &str) -> Result<f32, String> {
    s.parse::<f32>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
        .ok_or_else(|| format!("'{s}' is not a number of seconds above 0"))
}

fn parse_render_fps(s: &str) -> Result<f32, String> {
    s.parse::<f32>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 1.0)
        .ok_or_else(|| format!("'{s}' is not a frame rate of at least 1"))
}

pub fn run(args: &AppArgs, common: &CommonArgs) -> anyhow::Result<()> {
    if args.screenshot.is_some() && args.exit_after_frames.is_none() && !args.autoplay {
        anyhow::bail!("--screenshot needs --exit-after-frames N (or --autoplay) to say when");
    }
    let start_screen =
        if args.autoplay { Screen::Challenge } else { Screen::from_name(&args.start_screen).unwrap_or_default() };
    let config_path = compose::settings_path(common.config.as_deref());
    // Layers: defaults < settings file < command line. Only what the user changes in the
    // app is written back (see `app::settings_file`).
    // A corrupt file does not stop an exhibit: it is set aside and the defaults are used
    // (warned once here: the app's own logger starts with the window).
    let (file, set_aside): (SavedSettings, _) = compose::load_file_layer_or_set_aside(config_path.as_deref())?;
    if let Some(warning) = set_aside {
        eprintln!("warning: {warning}");
    }
    if let Some(picture) = &args.fake_camera {
        let picture = image::open(picture)
            .map_err(|e| anyhow::anyhow!("{}: cannot read the fake camera's picture: {e}", picture.display()))?;
        let fake = emoji_mirror::source::fake_camera::FakeCamera::new(picture.into_rgb8(), args.fake_unplug);
        emoji_mirror::source::fake_camera::install(fake);
    }
    let source = match (&args.video, &args.image, &args.image_dir, args.camera) {
        (Some(v), ..) => SourceSpec::Video(v.clone()),
        (_, Some(i), ..) => SourceSpec::Image(i.clone()),
        (_, _, Some(d), _) => SourceSpec::ImageDir { dir: d.clone(), looped: true },
        (.., c) => SourceSpec::Camera(CameraRequest { fps: DEFAULT_FPS, ..CameraRequest::new(c.unwrap_or(0)) }),
    };
    let mut settings = compose::resolve_settings(&file.pipeline, &args.detector.overrides(common), source.is_stream())?;
    args.broker.apply(&mut settings.broker);
    let mut view = file.view;
    if let Some(l) = &args.layout {
        view.layout = if l == "three-pane" { LayoutMode::ThreePane } else { LayoutMode::Mirror };
    }
    emoji_mirror::app::run(AppOptions {
        source,
        settings,
        view,
        config_path,
        screenshot: args.screenshot.clone(),
        exit_after_frames: args.exit_after_frames,
        bench_frames: args.bench_frames,
        emoji_dir: args.emoji_dir.clone(),
        press: args.press.clone(),
        window_size: args.window_size,
        analysis: AnalysisOptions {
            every_frame: args.every_frame || (args.autoplay && args.video.is_some()),
            record_tracks: args.record_tracks.clone(),
            data_dir: common.data_dir.clone(),
            detect_every: args.detect_every.resolve(emoji_mirror::engine::DetectEvery::auto()),
        },
        start_screen,
        challenge: ChallengeOptions {
            demo_sequence: args.demo_sequence.clone(),
            autoplay: args.autoplay,
            loop_rounds: args.loop_rounds,
            results_json: args.results_json.clone(),
        },
        taps: args.tap.clone(),
        data_dir: common.data_dir.clone(),
        kiosk: args.kiosk.then_some(KioskOptions { monitor: args.monitor }),
        stats_every_s: args.stats_every,
        render: RenderOptions {
            mode: RenderMode::from_name(&args.render_mode).unwrap_or_default(),
            cap_fps: args.render_fps,
            msaa: args.msaa,
        },
        health: HealthOptions {
            status_file: health::status_path(
                args.status_file.as_deref(),
                emoji_mirror::store::data_dir(common.data_dir.as_deref()).as_deref(),
            ),
            every: Duration::from_secs(args.health_every),
            hang_after_frames: args.simulate_hang_after_frames,
            simulate_full_scores: args.simulate_full_scores,
        },
    })?;
    Ok(())
}
