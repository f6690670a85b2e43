//! Settings persistence: changes made with hotkeys or the help panel are saved to
//! the settings TOML (written atomically: a temporary file, then a rename).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use serde::{Deserialize, Serialize};

use super::{PipelineSettings, ViewSettings};
use crate::config::Settings;

/// Changes are written once they have been quiet this long (a slider drag is one write).
pub const SAVE_DELAY: Duration = Duration::from_millis(800);

pub(super) fn plugin(app: &mut App) {
    app.add_systems(Last, save_changed_settings);
}

/// The whole file: pipeline settings at the top level, the view in `[view]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SavedSettings {
    #[serde(flatten)]
    pub pipeline: Settings,
    pub view: ViewSettings,
}

impl SavedSettings {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: bad settings: {}", path.display(), e.message()))
    }

    /// Writes atomically: never a half-written file, even on power loss mid-write.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let text = toml::to_string_pretty(self)?;
        let tmp = path.with_extension("toml.tmp");
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&tmp, text).map_err(|e| anyhow::anyhow!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(())
    }
}

/// Where to save, and since when there are unsaved changes.
#[derive(Resource, Debug)]
pub struct SettingsFile {
    pub path: Option<PathBuf>,
    dirty_since: Option<Instant>,
}

impl SettingsFile {
    pub fn new(path: Option<PathBuf>) -> Self {
        Self { path, dirty_since: None }
    }
}

fn save_changed_settings(mut file: ResMut<SettingsFile>, settings: Res<PipelineSettings>, view: Res<ViewSettings>) {
    if (settings.is_changed() && !settings.is_added()) || (view.is_changed() && !view.is_added()) {
        file.dirty_since = Some(Instant::now());
    }
    let Some(since) = file.dirty_since else { return };
    if since.elapsed() < SAVE_DELAY {
        return;
    }
    file.dirty_since = None;
    let Some(path) = file.path.clone() else { return };
    let saved = SavedSettings { pipeline: settings.0.clone(), view: view.clone() };
    if let Err(e) = saved.save(&path) {
        warn!("settings not saved: {e:#}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_view_and_pipeline() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub").join("settings.toml");
        let mut s = SavedSettings::default();
        s.view.layout = super::super::LayoutMode::ThreePane;
        s.pipeline.tracking.confirmation.window_frames = 30;
        s.save(&path).expect("save");
        assert!(!path.with_extension("toml.tmp").exists(), "no temporary file left");
        let back = SavedSettings::load(&path).expect("load");
        assert_eq!(back.view.layout, super::super::LayoutMode::ThreePane);
        assert_eq!(back.pipeline.tracking.confirmation.window_frames, 30);
        // The headless commands read the same file.
        let headless = Settings::load(&path).expect("settings");
        assert_eq!(headless.tracking.confirmation.window_frames, 30);
    }
}
