//! Settings persistence: what the user changes in the app (hotkeys, the help panel) is
//! written to the settings file, and nothing else.
//!
//! The app runs on a runtime copy (defaults < settings file < command line, plus derived
//! values). Each save writes only the values that differ between the runtime copy as last
//! saved and as it is now ([`crate::config::write_changes`]), so command-line values,
//! derived values and runtime state (pause, help open) never reach the file. Writes are
//! atomic (a temporary file, then a rename) and happen once changes have been quiet for
//! [`SAVE_DELAY`], or at exit.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use serde::{Deserialize, Serialize};

use super::{PipelineSettings, ViewSettings};
use crate::config::{ConfigError, Settings, changed_values, write_changes};

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
    /// Reads the file; fields it leaves out keep their defaults.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        crate::config::load_toml(path)
    }
}

/// Where to save, what was last saved (as runtime values), and since when there are changes.
#[derive(Resource, Debug)]
pub struct SettingsFile {
    pub path: Option<PathBuf>,
    saved: Option<SavedSettings>,
    dirty_since: Option<Instant>,
}

impl SettingsFile {
    pub fn new(path: Option<PathBuf>) -> Self {
        Self { path, saved: None, dirty_since: None }
    }
}

fn save_changed_settings(
    mut file: ResMut<SettingsFile>,
    settings: Res<PipelineSettings>,
    view: Res<ViewSettings>,
    exits: MessageReader<AppExit>,
) {
    let now = SavedSettings { pipeline: settings.0.clone(), view: view.clone() };
    let file = &mut *file;
    let Some(saved) = &mut file.saved else {
        // The runtime copy at start: the baseline the user's changes are measured against.
        file.saved = Some(now);
        return;
    };
    if *saved != now && file.dirty_since.is_none() {
        file.dirty_since = Some(Instant::now());
    }
    let Some(since) = file.dirty_since else { return };
    if since.elapsed() < SAVE_DELAY && exits.is_empty() {
        return;
    }
    file.dirty_since = None;
    let changes = match changed_values(saved, &now) {
        Ok(c) => c,
        Err(e) => return warn!("settings not saved: {e}"),
    };
    *saved = now;
    let Some(path) = &file.path else { return };
    if let Err(e) = write_changes(path, &changes) {
        warn!("settings not saved: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(path: &Path) -> App {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .insert_resource(PipelineSettings(Settings::default()))
            .insert_resource(ViewSettings::default())
            .insert_resource(SettingsFile::new(Some(path.to_path_buf())))
            .add_message::<AppExit>()
            .add_plugins(plugin);
        app.update();
        app
    }

    /// One frame to notice the change, then one after the quiet time.
    fn settle(app: &mut App) {
        app.update();
        std::thread::sleep(SAVE_DELAY + Duration::from_millis(50));
        app.update();
    }

    #[test]
    fn a_changed_window_length_writes_that_one_value() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("settings.toml");
        let mut app = app(&path);
        // As the help panel does it.
        super::super::ui::set_confirmation(&mut app.world_mut().resource_mut::<PipelineSettings>().0, 30, 0.6);
        settle(&mut app);
        let table: toml::Table = std::fs::read_to_string(&path).expect("written").parse().expect("toml");
        assert_eq!(table.len(), 1, "{table:?}");
        assert_eq!(table["tracking"]["confirmation"].as_table().map(|t| t.len()), Some(1), "{table:?}");
        assert_eq!(table["tracking"]["confirmation"]["window_frames"].as_integer(), Some(30));
        assert_eq!(Settings::load(&path).expect("load").tracking.confirmation.window_frames, 30);
    }

    #[test]
    fn pausing_and_opening_help_write_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("settings.toml");
        let mut app = app(&path);
        {
            let mut view = app.world_mut().resource_mut::<ViewSettings>();
            view.paused = true;
            view.show_help = true;
        }
        settle(&mut app);
        app.world_mut().write_message(AppExit::Success);
        app.update();
        assert!(!path.exists(), "no settings file was written");
    }

    #[test]
    fn a_change_just_before_quitting_is_saved() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("settings.toml");
        let mut app = app(&path);
        app.world_mut().resource_mut::<ViewSettings>().layout = super::super::LayoutMode::ThreePane;
        app.update();
        app.world_mut().write_message(AppExit::Success);
        app.update();
        let back = SavedSettings::load(&path).expect("saved at exit");
        assert_eq!(back.view.layout, super::super::LayoutMode::ThreePane);
    }
}
