//! Settings: what the settings file (TOML) holds, and how changes made in the app are
//! written back to it.
//!
//! Layers (merged by `compose::resolve_settings`): defaults < settings file < command line.
//! The file stores only what a user changed in the app: [`write_changes`] writes the values
//! that differ between two runtime copies, so command-line values, derived values
//! (resolved model paths, the video detector size) and runtime state are never written.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::game::ChallengeRules;
use crate::tracking::TrackingSettings;
use crate::vision::haar::HaarSettings;
use crate::vision::onnx::ThreadSettings;
use crate::vision::{DetectorKind, DetectorSettings};

/// Default face-detector manifest, relative to the project root.
pub const DEFAULT_DETECTOR_MANIFEST: &str = "models/centerface.toml";
/// Detector input side for video and live input: ~4x faster than 640 and, on the
/// 640x480 multi-face sample video, still 96% of the faces found at 640.
pub const DEFAULT_VIDEO_DETECTOR_SIDE: usize = 384;
/// Default emotion-classifier manifest, relative to the project root: our own CNN without
/// mirror averaging. It beats the mini-Xception on FER2013 PublicTest (67.6% against 65.3%)
/// and stays within 2 ms per face; `models/emotion-cnn.toml` (68.2%, mirror averaging) costs
/// twice as much per face.
pub const DEFAULT_CLASSIFIER_MANIFEST: &str = "models/emotion-cnn-fast.toml";

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{path}: cannot read the settings file")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: bad settings: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("{path}: cannot write the settings file")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("settings cannot be written as TOML: {0}")]
    Serialize(String),
}

/// Everything a headless command needs to build its pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Face detector manifest (TOML beside its ONNX file).
    pub detector_manifest: PathBuf,
    /// Emotion classifier manifest; any classifier works with a manifest.
    pub classifier_manifest: PathBuf,
    /// Detector settings; `detector.input_max_side` applies to still images.
    pub detector: DetectorSettings,
    /// Detector input side (pixels, longer side) for video, where speed matters more.
    pub video_detector_side: usize,
    pub classifier_threads: ThreadSettings,
    /// Face identity across frames and the confirmation window.
    pub tracking: TrackingSettings,
    /// ONNX Runtime library; `None` searches the default places (see `runtime`).
    pub ort_lib: Option<PathBuf>,
    /// Where ONNX Runtime runs the models: cpu (default), cuda or tensorrt (a GPU build
    /// of the library); one that cannot start falls back to the CPU.
    pub execution_provider: crate::runtime::ExecutionProvider,
    /// Which face detector runs (`--detector`; the app's keys 1-4 and c).
    pub detector_kind: DetectorKind,
    /// Haar cascade detector settings.
    pub haar: HaarSettings,
    /// The challenge's rules (`[game]`: time bank, targets, per-class difficulty).
    pub game: ChallengeRules,
    /// The operator lock of `--kiosk` (`[kiosk]`: PIN, relock time).
    pub kiosk: KioskSettings,
    /// `[broker]`: remote classification by workers over MQTT (none: the local model).
    pub broker: crate::remote::BrokerSettings,
}

/// Seconds without input after which the kiosk's operator panel locks itself.
pub const DEFAULT_RELOCK_AFTER_S: f32 = 60.0;

/// `[kiosk]`: the operator lock of `--kiosk`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KioskSettings {
    /// Digits the operator types after the unlock gesture; none (or empty): no PIN.
    pub operator_pin: Option<String>,
    /// Seconds without input after which the operator panel locks itself.
    pub relock_after_s: f32,
}

impl Default for KioskSettings {
    fn default() -> Self {
        Self { operator_pin: None, relock_after_s: DEFAULT_RELOCK_AFTER_S }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            detector_manifest: PathBuf::from(DEFAULT_DETECTOR_MANIFEST),
            classifier_manifest: PathBuf::from(DEFAULT_CLASSIFIER_MANIFEST),
            detector: DetectorSettings::default(),
            video_detector_side: DEFAULT_VIDEO_DETECTOR_SIDE,
            classifier_threads: ThreadSettings::default(),
            tracking: TrackingSettings::default(),
            ort_lib: None,
            execution_provider: crate::runtime::ExecutionProvider::Cpu,
            detector_kind: DetectorKind::default(),
            haar: HaarSettings::default(),
            game: ChallengeRules::default(),
            kiosk: KioskSettings::default(),
            broker: crate::remote::BrokerSettings::default(),
        }
    }
}

impl Settings {
    /// Reads a settings file; fields it leaves out keep their defaults.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        load_toml(path)
    }
}

/// Reads a TOML file into `T`; fields it leaves out keep their defaults.
pub fn load_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.to_path_buf(), reason: e.message().into() })
}

/// Most numbered `.bad.N` copies tried before giving up (a folder of bad copies is a
/// problem for a person, not for the exhibit).
pub const MAX_BAD_COPIES: u32 = 1000;

/// Moves a settings file that cannot be used aside, to `<name>.bad` (or `<name>.bad.1`,
/// `.bad.2`... when earlier bad copies are there: none is lost), and returns where it went.
/// The app then starts on defaults and writes a fresh file on the next change.
pub fn set_aside_bad_file(path: &Path) -> Result<PathBuf, ConfigError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let taken = |p: &Path| p.exists() || p.is_symlink();
    let bad = (0..=MAX_BAD_COPIES)
        .map(|i| if i == 0 { format!("{name}.bad") } else { format!("{name}.bad.{i}") })
        .map(|n| path.with_file_name(n))
        .find(|p| !taken(p))
        .ok_or_else(|| ConfigError::Write {
            path: path.with_file_name(format!("{name}.bad")),
            source: std::io::Error::other(format!("{MAX_BAD_COPIES} bad copies are already there")),
        })?;
    std::fs::rename(path, &bad).map_err(|source| ConfigError::Write { path: bad.clone(), source })?;
    Ok(bad)
}

/// One changed value: its dotted key path (`tracking.confirmation.window_frames`) and value.
pub type Change = (Vec<String>, toml::Value);

/// The values that differ between `before` and `after` (both serialised to TOML), leaf by leaf.
pub fn changed_values<T: Serialize>(before: &T, after: &T) -> Result<Vec<Change>, ConfigError> {
    let to_value = |v: &T| toml::Value::try_from(v).map_err(|e| ConfigError::Serialize(e.to_string()));
    let mut out = Vec::new();
    diff_values(&mut Vec::new(), Some(&to_value(before)?), &to_value(after)?, &mut out);
    Ok(out)
}

fn diff_values(path: &mut Vec<String>, before: Option<&toml::Value>, after: &toml::Value, out: &mut Vec<Change>) {
    match after {
        toml::Value::Table(table) => {
            for (key, value) in table {
                let old = before.and_then(|b| b.as_table()).and_then(|t| t.get(key));
                path.push(key.clone());
                diff_values(path, old, value, out);
                path.pop();
            }
        }
        leaf if before != Some(leaf) => out.push((path.clone(), leaf.clone())),
        _ => {}
    }
}

/// Sets the value at a dotted key path, creating the tables on the way.
fn set_value(table: &mut toml::Table, keys: &[String], value: toml::Value) {
    match keys {
        [] => {}
        [last] => {
            table.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = table.entry(first.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(t) = entry {
                set_value(t, rest, value);
            }
        }
    }
}

/// Writes `changes` into the settings file at `path`, keeping everything else it holds
/// (created when missing). Atomic: a temporary file, then a rename.
pub fn write_changes(path: &Path, changes: &[Change]) -> Result<(), ConfigError> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut table = match std::fs::read_to_string(path) {
        Ok(text) => text
            .parse::<toml::Table>()
            .map_err(|e| ConfigError::Parse { path: path.to_path_buf(), reason: e.message().into() })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
        Err(source) => return Err(ConfigError::Read { path: path.to_path_buf(), source }),
    };
    for (keys, value) in changes {
        set_value(&mut table, keys, value.clone());
    }
    let text = toml::to_string_pretty(&table).map_err(|e| ConfigError::Serialize(e.to_string()))?;
    let write_err = |source| ConfigError::Write { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text).map_err(write_err)?;
    std::fs::rename(&tmp, path).map_err(write_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_file_keeps_defaults() {
        let s: Settings = toml::from_str("[detector]\ninput_max_side = 320\n").expect("valid");
        assert_eq!(s.detector.input_max_side, 320);
        assert_eq!(s.detector.score_threshold, DetectorSettings::default().score_threshold);
        assert_eq!(s.classifier_manifest, PathBuf::from(DEFAULT_CLASSIFIER_MANIFEST));
    }

    #[test]
    fn the_kiosk_section_sets_the_operator_pin() {
        let s: Settings = toml::from_str("[kiosk]\noperator_pin = \"0815\"\n").expect("valid");
        assert_eq!(s.kiosk.operator_pin.as_deref(), Some("0815"));
        assert_eq!(s.kiosk.relock_after_s, DEFAULT_RELOCK_AFTER_S);
        assert_eq!(Settings::default().kiosk.operator_pin, None, "no PIN unless the file sets one");
    }

    #[test]
    fn the_game_section_sets_the_challenge_rules() {
        let text = "[game]\nstart_bank_s = 30.0\ndifficulty = \"easy\"\n[game.classes.fear]\nrequired_share = 0.3\n";
        let s: Settings = toml::from_str(text).expect("valid");
        assert_eq!(s.game.start_bank_s, 30.0);
        assert_eq!(s.game.difficulty, crate::game::Difficulty::Easy);
        assert_eq!(s.game.classes["fear"].required_share, 0.3);
        assert_eq!(s.game.classes["happy"], ChallengeRules::default().classes["happy"]);
        assert_eq!(s.game.max_targets, ChallengeRules::default().max_targets);
    }

    #[test]
    fn unknown_values_are_reported_with_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("s.toml");
        std::fs::write(&p, "[detector]\ninput_max_side = \"big\"\n").expect("write");
        let err = Settings::load(&p).expect_err("bad").to_string();
        assert!(err.contains("s.toml") && err.contains("bad settings"), "{err}");
    }

    #[test]
    fn a_bad_file_is_set_aside_and_earlier_bad_copies_are_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("settings.toml");
        std::fs::write(&p, "first = [").expect("write");
        let bad = set_aside_bad_file(&p).expect("set aside");
        assert_eq!(bad, dir.path().join("settings.toml.bad"));
        assert!(!p.exists());
        std::fs::write(&p, "second = [").expect("write");
        let bad2 = set_aside_bad_file(&p).expect("set aside");
        assert_eq!(bad2, dir.path().join("settings.toml.bad.1"));
        assert_eq!(std::fs::read_to_string(&bad).expect("read"), "first = [");
        assert_eq!(std::fs::read_to_string(&bad2).expect("read"), "second = [");
    }

    #[test]
    fn only_changed_values_are_written_and_the_rest_of_the_file_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("settings.toml");
        std::fs::write(&p, "# mine\nvideo_detector_side = 320\n[haar]\nmin_neighbors = 4\n").expect("write");
        let before = Settings::default();
        let mut after = before.clone();
        after.tracking.confirmation.window_frames = 33;
        let changes = changed_values(&before, &after).expect("diff");
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].0, ["tracking", "confirmation", "window_frames"]);
        write_changes(&p, &changes).expect("write");
        let table: toml::Table = std::fs::read_to_string(&p).expect("read").parse().expect("toml");
        assert_eq!(table.len(), 3, "{table:?}");
        assert_eq!(table["video_detector_side"].as_integer(), Some(320));
        assert_eq!(table["haar"]["min_neighbors"].as_integer(), Some(4));
        assert_eq!(table["tracking"]["confirmation"]["window_frames"].as_integer(), Some(33));
        // Nothing changed: nothing is written (the file is not even touched).
        let modified = std::fs::metadata(&p).and_then(|m| m.modified()).expect("mtime");
        write_changes(&p, &changed_values(&after, &after.clone()).expect("diff")).expect("no-op");
        assert_eq!(std::fs::metadata(&p).and_then(|m| m.modified()).expect("mtime"), modified);
        let loaded = Settings::load(&p).expect("load");
        assert_eq!(loaded.tracking.confirmation.window_frames, 33);
        assert_eq!(loaded.video_detector_side, 320);
    }
}
