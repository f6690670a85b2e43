//! Settings: what the config file (`--config FILE`, TOML) and the command line set.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

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
    #[error("{path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{path}: bad settings: {reason}")]
    Parse { path: PathBuf, reason: String },
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
    /// Which face detector runs (`--detector`; the app's keys 1-4 and c).
    pub detector_kind: DetectorKind,
    /// Haar cascade detector settings.
    pub haar: HaarSettings,
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
            detector_kind: DetectorKind::default(),
            haar: HaarSettings::default(),
        }
    }
}

impl Settings {
    /// Reads a settings file; fields it leaves out keep their defaults.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::Read { path: path.to_path_buf(), reason: e.to_string() })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.to_path_buf(), reason: e.message().into() })
    }
}

/// A project-relative path as given if it exists from the current directory, else
/// under the crate's own folder (so the binary works from anywhere in a checkout).
pub fn resolve_project_path(path: &Path) -> PathBuf {
    if path.is_absolute() || path.exists() {
        return path.to_path_buf();
    }
    let in_crate = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if in_crate.exists() { in_crate } else { path.to_path_buf() }
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
    fn unknown_values_are_reported_with_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("s.toml");
        std::fs::write(&p, "[detector]\ninput_max_side = \"big\"\n").expect("write");
        let err = Settings::load(&p).expect_err("bad").to_string();
        assert!(err.contains("s.toml") && err.contains("bad settings"), "{err}");
    }
}
