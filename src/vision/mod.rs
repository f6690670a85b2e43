//! Vision: find faces in a frame and read their emotions.
//!
//! [`centerface`] detects faces (boxes + 5 landmarks), [`classifier`] reads the
//! emotion of every face in one batch; both run ONNX models described by a
//! [`manifest`]. Pre- and post-processing are pure modules ([`resample`],
//! [`decode`], [`nms`]) tested on their own.

pub mod centerface;
pub mod classifier;
pub mod crop;
pub mod decode;
pub mod detector_kind;
pub mod geometry;
pub mod haar;
pub mod manifest;
pub mod nms;
pub mod onnx;
pub mod resample;

use std::path::{Path, PathBuf};

use image::RgbImage;
use thiserror::Error;

pub use centerface::{CenterFace, DetectorSettings};
pub use classifier::{Classification, EmotionClassifier};
pub use detector_kind::DetectorKind;
pub use geometry::BBox;

/// Errors of the vision stage. Messages carry the file and the offending value.
#[derive(Debug, Error)]
pub enum VisionError {
    #[error("{path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("{path}: bad manifest: {reason}")]
    Manifest { path: PathBuf, reason: String },
    #[error("{path}: not a usable ONNX model: {reason}")]
    Model { path: PathBuf, reason: String },
    #[error("{path}: model does not match its manifest {manifest}: {reason}")]
    Mismatch { path: PathBuf, manifest: PathBuf, reason: String },
    #[error("{model}: inference failed: {reason}")]
    Inference { model: String, reason: String },
    #[error(transparent)]
    Runtime(#[from] crate::runtime::RuntimeError),
    #[error(transparent)]
    Cascade(#[from] haar::CascadeError),
    #[error("bad detector setting: {0}")]
    Setting(String),
}

impl VisionError {
    pub(crate) fn io(path: &Path, e: std::io::Error) -> Self {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "file not found".to_string(),
            _ => e.to_string(),
        };
        VisionError::Io { path: path.to_path_buf(), reason }
    }
}

/// Number of CenterFace landmarks: left eye, right eye, nose, left and right mouth corner.
pub const LANDMARKS: usize = 5;

/// One detected face, in frame pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Face {
    pub bbox_in_frame: BBox,
    /// Eyes, nose, mouth corners as (x, y) in frame pixels.
    pub landmarks_in_frame: [[f32; 2]; LANDMARKS],
    /// Detector confidence in [0, 1].
    pub score: f32,
}

/// Anything that finds faces in an RGB frame (CenterFace now; Haar cascades later).
pub trait FaceDetector: Send {
    /// Replaces the contents of `faces` with the faces found in `frame`.
    fn detect(&mut self, frame: &RgbImage, faces: &mut Vec<Face>) -> Result<(), VisionError>;
    /// Short name for logs and reports.
    fn name(&self) -> &str;
}

/// Opens the face detector named by `settings` (manifest + ONNX file).
pub fn open_detector(
    env: &ort::environment::Environment,
    settings: &crate::config::Settings,
) -> Result<CenterFace, VisionError> {
    let path = crate::config::resolve_project_path(&settings.detector_manifest);
    CenterFace::new(env, manifest::Manifest::load(&path)?, settings.detector)
}

/// Opens the face detector `settings.detector_kind` names: CenterFace, or a Haar
/// cascade from `settings.haar.cascade_dir` with `settings.haar`.
pub fn open_face_detector(
    env: &ort::environment::Environment,
    settings: &crate::config::Settings,
) -> Result<Box<dyn FaceDetector>, VisionError> {
    match settings.detector_kind.cascade_file() {
        None => Ok(Box::new(open_detector(env, settings)?)),
        Some(file) => {
            let path = crate::config::resolve_project_path(&settings.haar.cascade_dir).join(file);
            let mut detector = haar::HaarDetector::open(&path, settings.haar.clone())?;
            detector.set_name(settings.detector_kind.as_str());
            Ok(Box::new(detector))
        }
    }
}

/// Opens the emotion classifier named by `settings` (manifest + ONNX file).
pub fn open_classifier(
    env: &ort::environment::Environment,
    settings: &crate::config::Settings,
) -> Result<EmotionClassifier, VisionError> {
    let path = crate::config::resolve_project_path(&settings.classifier_manifest);
    EmotionClassifier::new(env, manifest::Manifest::load(&path)?, settings.classifier_threads)
}
