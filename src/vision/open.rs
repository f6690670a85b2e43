//! Opening the models from vision's own specs (paths already resolved by the caller).
//!
//! The settings file and the command line are not known here: the composition module
//! (`compose`) turns them into a [`DetectorSpec`] and a [`ClassifierSpec`].

use std::path::PathBuf;

use super::haar::{HaarDetector, HaarSettings};
use super::manifest::{ClassifierManifest, DetectorManifest};
use super::onnx::ThreadSettings;
use super::{CenterFace, DetectorKind, DetectorSettings, EmotionClassifier, FaceDetector, Framing, VisionError};

/// Everything needed to open one face detector.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorSpec {
    /// Which detector: CenterFace or one of the Haar cascades.
    pub kind: DetectorKind,
    /// CenterFace's manifest (TOML beside its ONNX file).
    pub centerface_manifest: PathBuf,
    pub centerface: DetectorSettings,
    /// The Haar settings; `haar.cascade_dir` holds the cascade files.
    pub haar: HaarSettings,
}

/// Everything needed to open the emotion classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifierSpec {
    /// The classifier's manifest (TOML beside its ONNX file).
    pub manifest: PathBuf,
    pub threads: ThreadSettings,
    /// Replaces the manifest's `[crop]` framing (e.g. `eval-video --crop-anchor`).
    pub framing: Option<Framing>,
}

impl ClassifierSpec {
    /// The manifest with the framing override applied.
    pub fn load_manifest(&self) -> Result<ClassifierManifest, VisionError> {
        let mut m = ClassifierManifest::load(&self.manifest)?;
        if let Some(framing) = self.framing {
            framing.check().map_err(|reason| VisionError::Manifest { path: self.manifest.clone(), reason })?;
            m.framing = framing;
        }
        Ok(m)
    }
}

/// Opens CenterFace from its manifest.
pub fn open_centerface(
    env: &ort::environment::Environment,
    manifest: &std::path::Path,
    settings: DetectorSettings,
) -> Result<CenterFace, VisionError> {
    CenterFace::new(env, DetectorManifest::load(manifest)?, settings)
}

/// Opens the detector `spec.kind` names.
pub fn open_face_detector(
    env: &ort::environment::Environment,
    spec: &DetectorSpec,
) -> Result<Box<dyn FaceDetector>, VisionError> {
    match spec.kind.cascade_file() {
        None => Ok(Box::new(open_centerface(env, &spec.centerface_manifest, spec.centerface)?)),
        Some(file) => {
            let path = spec.haar.cascade_dir.join(file);
            let mut detector = HaarDetector::open(&path, spec.haar.clone())?;
            detector.set_name(spec.kind.as_str());
            Ok(Box::new(detector))
        }
    }
}

/// Opens the emotion classifier.
pub fn open_classifier(
    env: &ort::environment::Environment,
    spec: &ClassifierSpec,
) -> Result<EmotionClassifier, VisionError> {
    EmotionClassifier::new(env, spec.load_manifest()?, spec.threads)
}
