//! Vision: find faces in a frame and read their emotions.
//!
//! [`centerface`] detects faces (boxes + 5 landmarks), [`classifier`] reads the
//! emotion of every face in one batch; both run ONNX models described by a
//! [`manifest`]. Pre- and post-processing are pure modules ([`resample`],
//! [`decode`], [`nms`]) tested on their own. [`affect`] places each face on the
//! valence/arousal circumplex.

pub mod affect;
pub mod centerface;
pub mod classifier;
pub mod crop;
pub mod decode;
pub mod detector_kind;
pub mod framing;
pub mod geometry;
pub mod haar;
pub mod manifest;
pub mod nms;
pub mod onnx;
pub mod open;
pub mod resample;

use std::path::{Path, PathBuf};

use image::RgbImage;
use thiserror::Error;

pub use centerface::{CenterFace, DetectorSettings};
pub use classifier::{Classification, EmotionClassifier};
pub use detector_kind::DetectorKind;
pub use framing::Framing;
pub use geometry::BBox;
pub use open::{ClassifierSpec, DetectorSpec, open_centerface, open_classifier, open_face_detector};

/// Errors of the vision stage. Messages carry the file and the offending value; a
/// variant caused by another error keeps it as its `source`, which the message does not
/// repeat (`{:#}` through anyhow, or [`VisionError::with_causes`], prints the chain).
#[derive(Debug, Error)]
pub enum VisionError {
    /// The OS error adds nothing to "not found", so it is not kept.
    #[error("{path}: file not found")]
    NotFound { path: PathBuf },
    #[error("{path}: cannot read")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: bad manifest: {reason}")]
    Manifest { path: PathBuf, reason: String },
    #[error("{path}: bad manifest")]
    ManifestSyntax {
        path: PathBuf,
        #[source]
        source: manifest::TomlError,
    },
    #[error("{path}: model file not found (named by {manifest})")]
    ModelNotFound { path: PathBuf, manifest: PathBuf },
    #[error("{path}: not a usable ONNX model")]
    Model {
        path: PathBuf,
        #[source]
        source: crate::runtime::OrtError,
    },
    #[error("{path}: model does not match its manifest {manifest}: {reason}")]
    Mismatch { path: PathBuf, manifest: PathBuf, reason: String },
    #[error("{model}: inference failed")]
    Inference {
        model: String,
        #[source]
        source: crate::runtime::OrtError,
    },
    #[error("{model}: unexpected output: {reason}")]
    Output { model: String, reason: String },
    #[error(transparent)]
    Runtime(#[from] crate::runtime::RuntimeError),
    #[error(transparent)]
    Cascade(#[from] haar::CascadeError),
    #[error("bad detector setting: {0}")]
    Setting(String),
}

impl VisionError {
    /// Reading `path` failed: "file not found" for a missing file, else the io error as the cause.
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        match source.kind() {
            std::io::ErrorKind::NotFound => VisionError::NotFound { path: path.to_path_buf() },
            _ => VisionError::Io { path: path.to_path_buf(), source },
        }
    }

    /// An ONNX Runtime failure while running `model`.
    pub(crate) fn inference(model: &str, source: ort::Error) -> Self {
        VisionError::Inference { model: model.to_string(), source: source.into() }
    }

    /// The message followed by its causes on one line (`context: cause: cause`), as
    /// anyhow's `{:#}` prints it, for logs and status lines that show the error alone.
    pub fn with_causes(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            text.push_str(": ");
            text.push_str(&c.to_string());
            cause = c.source();
        }
        text
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
