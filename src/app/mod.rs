//! The exhibition app: live video with every face swapped for an animated emoji.
//!
//! | key   | action                                   |
//! |-------|------------------------------------------|
//! | ESC   | quit                                     |
//! | h     | help panel (controls, settings, stats)   |
//! | f     | full screen on/off                       |
//! | 1-4   | Haar cascades default/alt/alt2/alt-tree  |
//! | c     | the CNN detector (CenterFace)            |
//! | d     | debug overlay (boxes, labels, ids)       |
//! | l     | layout: mirror / three panes             |
//! | space | pause                                    |
//!
//! Capture and inference run on plain threads ([`analysis`]) behind bounded
//! channels; the ECS only drains the newest result each frame.

pub mod analysis;
pub mod capture;
pub mod controls;
pub mod emoji;
pub mod faces;
pub mod layout;
pub mod settings_file;
pub mod ui;
pub mod video;

use std::path::PathBuf;

use bevy::prelude::*;
use bevy::winit::{UpdateMode, WinitSettings};
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::source::SourceSpec;

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
}

/// Log levels: our warnings and Bevy's, without ONNX Runtime's and wgpu's chatter.
const LOG_FILTER: &str = "warn,ort=error,wgpu=error,naga=warn";

/// Runs the window until it is closed.
pub fn run(options: AppOptions) -> anyhow::Result<()> {
    let (w, h) = options.window_size;
    let mut app = App::new();
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: Some(Window {
                    title: "emoji-mirror".into(),
                    resolution: bevy::window::WindowResolution::new(w, h),
                    ..default()
                }),
                ..default()
            })
            .set(bevy::log::LogPlugin { filter: LOG_FILTER.into(), ..default() }),
    )
    // Keep updating without focus (kiosks, and under a virtual display).
    .insert_resource(WinitSettings { focused_mode: UpdateMode::Continuous, unfocused_mode: UpdateMode::Continuous })
    .add_plugins(bevy_egui::EguiPlugin::default());
    add_app_plugins(&mut app, options)?;
    match app.run() {
        AppExit::Success => Ok(()),
        AppExit::Error(code) => anyhow::bail!("the app stopped with error code {code}"),
    }
}

/// Our plugins and resources (everything but Bevy's and egui's own plugins).
pub fn add_app_plugins(app: &mut App, options: AppOptions) -> anyhow::Result<()> {
    if let Some(dir) = &options.emoji_dir {
        let manifest = crate::vision::manifest::Manifest::load(&options.settings.classifier_manifest)?;
        app.insert_resource(emoji::load_emoji_dir(dir, &manifest.output.labels)?);
    }
    let worker = analysis::AnalysisWorker::start(options.source.clone(), options.settings.clone())?;
    app.configure_sets(
        Update,
        (AppSystems::Input, AppSystems::Receive, AppSystems::Track, AppSystems::Present).chain(),
    )
    .insert_resource(PipelineSettings(options.settings.clone()))
    .insert_resource(options.view.clone())
    .insert_resource(settings_file::SettingsFile::new(options.config_path.clone()))
    .insert_resource(capture::CaptureOptions::from_options(&options))
    .insert_resource(worker)
    .add_plugins((
        faces::plugin,
        video::plugin,
        layout::plugin,
        emoji::plugin,
        controls::plugin,
        ui::plugin,
        capture::plugin,
        settings_file::plugin,
    ));
    Ok(())
}
