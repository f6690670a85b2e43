//! The exhibition app: live video with every face swapped for an animated emoji.
//!
//! | key      | action                                      |
//! |----------|---------------------------------------------|
//! | Enter, g | play the challenge                          |
//! | m        | just mirror (free play)                     |
//! | a        | attract screen                              |
//! | s        | skip the target (challenge)                 |
//! | + / -    | challenge harder / easier                   |
//! | ESC      | back to the attract screen                  |
//! | Ctrl+Q   | quit (or ESC 3 times within 2 s on attract) |
//! | h        | help panel (controls, settings, stats)      |
//! | f        | full screen on/off                          |
//! | 1-4      | Haar cascades default/alt/alt2/alt-tree     |
//! | c        | the CNN detector (CenterFace)               |
//! | d        | debug overlay (boxes, labels, ids)          |
//! | l        | layout: mirror / three panes                |
//! | space    | pause                                       |
//! | k        | Fool the AI (see [`fool`]; also a button)   |
//!
//! Capture, detection, classification and tracking run on the analysis engine's plain
//! threads ([`crate::engine`], started by [`analysis`]) behind bounded channels; the ECS
//! only drains the newest result each frame and mirrors its tracks into Face entities.
//! The game's screens (attract, mirror, challenge, results) are Bevy states, see [`screens`];
//! their touch widgets are egui's, see [`theme`].

pub mod analysis;
pub mod capture;
pub mod controls;
pub mod emoji;
pub mod faces;
pub mod fool;
pub mod health;
pub mod kiosk;
pub mod layout;
pub mod names;
pub mod notice;
pub mod pose;
pub mod present;
pub mod redraw;
pub mod screens;
pub mod settings_file;
pub mod sheet;
pub mod theme;
pub mod ui;
pub mod video;

use std::path::PathBuf;

use bevy::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::config::{ConfigError, Settings};
use crate::source::SourceSpec;

/// Errors that stop the app before or while it runs (each one line naming the problem).
#[derive(Debug, Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Vision(#[from] crate::vision::VisionError),
    #[error("{0}")]
    EmojiDir(String),
    #[error("{path}: cannot record tracks")]
    Record {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the app stopped with error code {0}")]
    Exit(u8),
}

/// System ordering within `Update`, chained once.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppSystems {
    /// Input: hotkeys, scripted presses.
    Input,
    /// Drain the analysis worker into resources (texture, detections).
    Receive,
    /// Tracking and the Face entities.
    Track,
    /// Layout, emoji placement and animation.
    Present,
}

/// Which screen arrangement is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayoutMode {
    /// The processed view (video with emoji) fills the window.
    #[default]
    Mirror,
    /// The original demonstrator: raw camera | processed | strip of the faces' emoji.
    ThreePane,
}

/// What the operator toggles; persisted with the settings.
#[derive(Resource, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ViewSettings {
    pub layout: LayoutMode,
    pub debug_overlay: bool,
    #[serde(skip)]
    pub show_help: bool,
    #[serde(skip)]
    pub paused: bool,
}

impl Default for ViewSettings {
    fn default() -> Self {
        Self { layout: LayoutMode::Mirror, debug_overlay: false, show_help: false, paused: false }
    }
}

/// The pipeline settings as a resource (edited by hotkeys and the help panel).
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct PipelineSettings(pub Settings);

/// How the app was started.
#[derive(Debug, Clone)]
pub struct AppOptions {
    pub source: SourceSpec,
    pub settings: Settings,
    pub view: ViewSettings,
    /// Where settings changes are saved (atomically).
    pub config_path: Option<PathBuf>,
    pub screenshot: Option<PathBuf>,
    pub exit_after_frames: Option<u32>,
    pub bench_frames: Option<u32>,
    pub emoji_dir: Option<PathBuf>,
    /// Keys pressed by script after the first frames (kiosk checks and tests), e.g. "h".
    pub press: String,
    pub window_size: (u32, u32),
    /// How the engine runs for the app (every frame, recording).
    pub analysis: analysis::AnalysisOptions,
    /// The screen shown at start-up (`--start-screen`; `--autoplay` starts the challenge).
    pub start_screen: screens::Screen,
    /// How the challenge runs (demo sequence, autoplay, results file).
    pub challenge: screens::ChallengeOptions,
    /// Buttons tapped by script with touch events, in order (`--tap play,skip,done`).
    pub taps: Vec<String>,
    /// Where the score database lives (`--data-dir`; None: the default data directory).
    pub data_dir: Option<PathBuf>,
    /// `--kiosk`: full screen without decorations or cursor, the operator lock.
    pub kiosk: Option<KioskOptions>,
    /// Print a stats line to stdout every this many seconds (`--stats-every`; soak runs).
    pub stats_every_s: Option<f32>,
    /// Supervision: status file, health line interval (`--status-file`, `--health-every`).
    pub health: health::HealthOptions,
    /// When the window is drawn (`--render-mode`, `--render-fps`; see [`redraw`]).
    pub render: redraw::RenderOptions,
}

/// How `--kiosk` runs the window (its operator lock comes from `[kiosk]` in the settings).
#[derive(Debug, Clone, Default)]
pub struct KioskOptions {
    /// The monitor to fill (`--monitor N`); None: the primary one.
    pub monitor: Option<usize>,
}

/// Log levels: our warnings and Bevy's, without ONNX Runtime's and wgpu's chatter; the
/// health line (info) too.
const LOG_FILTER: &str = "warn,ort=error,wgpu=error,naga=warn,emoji_mirror::health=info";

/// Runs the window until it is closed.
pub fn run(options: AppOptions) -> Result<(), AppError> {
    let (w, h) = options.window_size;
    let mut window =
        Window { title: "emoji-mirror".into(), resolution: bevy::window::WindowResolution::new(w, h), ..default() };
    let mut cursor = bevy::window::CursorOptions::default();
    if let Some(kiosk) = &options.kiosk {
        let monitor = kiosk.monitor.map_or(MonitorSelection::Primary, MonitorSelection::Index);
        window.mode = bevy::window::WindowMode::BorderlessFullscreen(monitor);
        window.decorations = false;
        cursor.visible = false;
    }
    let mut app = App::new();
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin { primary_window: Some(window), primary_cursor_options: Some(cursor), ..default() })
            .set(bevy::log::LogPlugin {
                filter: LOG_FILTER.into(),
                custom_layer: health::count_problems_layer,
                ..default()
            }),
    )
    // The same without focus (kiosks, and under a virtual display); see `redraw`.
    .insert_resource(options.render.winit_settings())
    .add_plugins(bevy_egui::EguiPlugin::default());
    add_app_plugins(&mut app, options)?;
    match app.run() {
        AppExit::Success => Ok(()),
        AppExit::Error(code) => Err(AppError::Exit(code.get())),
    }
}

/// Our plugins and resources (everything but Bevy's and egui's own plugins).
pub fn add_app_plugins(app: &mut App, options: AppOptions) -> Result<(), AppError> {
    if let Some(dir) = &options.emoji_dir {
        let labels = classifier_labels(&options.settings)?;
        app.insert_resource(emoji::load_emoji_dir(dir, &labels)?);
    }
    let waker = redraw::FrameWaker::of(app);
    if let Some(w) = &waker {
        app.insert_resource(redraw::FrameWakerResource(w.clone()));
    }
    let worker = analysis::AnalysisWorker::start(options.source.clone(), &options.settings, &options.analysis, waker)?;
    let source_kind = match &options.source {
        SourceSpec::Camera(_) => "camera",
        SourceSpec::Video(_) => "video",
        SourceSpec::Image(_) | SourceSpec::ImageDir { .. } => "images",
    };
    app.insert_resource(video::Stats { source_kind, ..Default::default() });
    if options.kiosk.is_some() {
        app.insert_resource(kiosk::Kiosk::new(options.settings.kiosk.clone()));
    }
    app.configure_sets(
        Update,
        (AppSystems::Input, AppSystems::Receive, AppSystems::Track, AppSystems::Present).chain(),
    )
    .insert_resource(PipelineSettings(options.settings.clone()))
    .insert_resource(options.view.clone())
    .insert_resource(settings_file::SettingsFile::new(options.config_path.clone()))
    .insert_resource(capture::CaptureOptions::from_options(&options))
    .insert_resource(options.challenge.clone())
    .insert_resource(options.health.clone())
    .insert_resource(options.render)
    .insert_resource(screens::challenge::ChallengeSettings(options.settings.game.clone()))
    .insert_resource(screens::results::Scores::open(options.data_dir.as_deref()))
    .insert_state(options.start_screen)
    .insert_resource(worker)
    .add_plugins((
        faces::plugin,
        kiosk::plugin,
        video::plugin,
        layout::plugin,
        notice::plugin,
        emoji::plugin,
        names::plugin,
        controls::plugin,
        ui::plugin,
        capture::plugin,
        settings_file::plugin,
        screens::plugin,
        health::plugin,
        (present::plugin, redraw::plugin),
        fool::plugin,
    ));
    Ok(())
}

/// The labels of the classifier the settings name.
fn classifier_labels(settings: &Settings) -> Result<Vec<String>, AppError> {
    let path = crate::compose::classifier_spec(settings).manifest;
    Ok(crate::vision::manifest::ClassifierManifest::load(&path)?.labels)
}
