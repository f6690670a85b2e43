//! Model manifests: the TOML file beside each ONNX model that says how to feed it and read it.
//!
//! A classifier is swapped by dropping in an ONNX file plus a manifest; no code changes.
//! The schema is documented in `models/README.md`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::VisionError;

/// What the model does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Classify,
    Detect,
}

/// Memory order of the input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Layout {
    #[serde(rename = "NCHW")]
    Nchw,
    #[serde(rename = "NHWC")]
    Nhwc,
}

/// Colour channels the model expects, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Color {
    Gray,
    Rgb,
    Bgr,
}

impl Color {
    pub fn channels(self) -> usize {
        match self {
            Color::Gray => 1,
            Color::Rgb | Color::Bgr => 3,
        }
    }
}

/// How a pixel value becomes a tensor value: `(pixel / scale - mean[c]) / std[c]`.
#[derive(Debug, Clone, Deserialize)]
pub struct InputSpec {
    pub name: String,
    pub layout: Layout,
    /// Fixed input width in pixels; absent for detectors with dynamic dims.
    pub width: Option<usize>,
    pub height: Option<usize>,
    pub color: Color,
    pub scale: f32,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    /// Detectors: network input dims must be multiples of this.
    pub stride: Option<usize>,
}

/// What the outputs mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    /// Already a probability vector (softmax inside the model).
    Probabilities,
    /// Raw scores; we apply softmax.
    Logits,
}

/// Classifier output, or the four CenterFace output names for detectors.
#[derive(Debug, Clone, Deserialize)]
pub struct OutputSpec {
    pub name: Option<String>,
    pub kind: Option<OutputKind>,
    #[serde(default)]
    pub labels: Vec<String>,
    pub heatmap: Option<String>,
    pub scale: Option<String>,
    pub offset: Option<String>,
    pub landmarks: Option<String>,
}

/// How a face box becomes the classifier's crop.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct CropSpec {
    /// Added on every side of the squared face box, as a fraction of its side.
    pub margin: f32,
}

/// A parsed and checked manifest.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub task: Task,
    pub file: PathBuf,
    pub sha256: Option<String>,
    pub input: InputSpec,
    pub output: OutputSpec,
    pub crop: Option<CropSpec>,
    /// Where the manifest was read from (set by [`Manifest::load`]).
    #[serde(skip)]
    pub path: PathBuf,
}

impl Manifest {
    /// Reads and checks a manifest; errors name the file and the field.
    pub fn load(path: &Path) -> Result<Self, VisionError> {
        let text = std::fs::read_to_string(path).map_err(|e| VisionError::io(path, e))?;
        Self::parse(&text, path)
    }

    /// Parses manifest text; `path` is used for messages and to resolve `file`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, VisionError> {
        let mut m: Manifest = toml::from_str(text)
            .map_err(|e| VisionError::Manifest { path: path.to_path_buf(), reason: e.message().to_string() })?;
        m.path = path.to_path_buf();
        m.check()?;
        Ok(m)
    }

    /// The ONNX file, resolved against the manifest's folder.
    pub fn model_path(&self) -> PathBuf {
        match self.path.parent() {
            Some(dir) if self.file.is_relative() => dir.join(&self.file),
            _ => self.file.clone(),
        }
    }

    fn bad(&self, reason: String) -> VisionError {
        VisionError::Manifest { path: self.path.clone(), reason }
    }

    fn check(&self) -> Result<(), VisionError> {
        let ch = self.input.color.channels();
        if self.input.mean.len() != ch || self.input.std.len() != ch {
            return Err(self.bad(format!(
                "input.mean and input.std need {ch} value(s) for color {:?}, found {} and {}",
                self.input.color,
                self.input.mean.len(),
                self.input.std.len()
            )));
        }
        if self.input.std.iter().any(|s| *s == 0.0 || !s.is_finite())
            || !self.input.scale.is_finite()
            || self.input.scale <= 0.0
        {
            return Err(self.bad("input.std and input.scale must be finite and non-zero".into()));
        }
        match self.task {
            Task::Classify => {
                if self.input.width.unwrap_or(0) == 0 || self.input.height.unwrap_or(0) == 0 {
                    return Err(self.bad("a classifier needs input.width and input.height".into()));
                }
                if self.output.name.is_none() || self.output.kind.is_none() {
                    return Err(self.bad("a classifier needs output.name and output.kind".into()));
                }
                if self.output.labels.len() < 2 {
                    return Err(
                        self.bad(format!("output.labels needs at least 2 labels, found {}", self.output.labels.len()))
                    );
                }
            }
            Task::Detect => {
                let missing: Vec<&str> = [
                    ("heatmap", &self.output.heatmap),
                    ("scale", &self.output.scale),
                    ("offset", &self.output.offset),
                    ("landmarks", &self.output.landmarks),
                ]
                .iter()
                .filter(|(_, v)| v.is_none())
                .map(|(k, _)| *k)
                .collect();
                if !missing.is_empty() {
                    return Err(self.bad(format!("a detector needs output.{}", missing.join(", output."))));
                }
            }
        }
        Ok(())
    }

    /// The expected input dims in the model's layout, batch first; `-1` where dynamic.
    pub fn expected_input_dims(&self) -> [i64; 4] {
        let c = self.input.color.channels() as i64;
        let h = self.input.height.map_or(-1, |v| v as i64);
        let w = self.input.width.map_or(-1, |v| v as i64);
        match self.input.layout {
            Layout::Nchw => [-1, c, h, w],
            Layout::Nhwc => [-1, h, w, c],
        }
    }
}

/// Does a model's declared dim fit the manifest's? `-1` on either side means "any".
pub fn dims_compatible(model: &[i64], expected: &[i64]) -> bool {
    model.len() == expected.len() && model.iter().zip(expected).all(|(m, e)| *m < 0 || *e < 0 || m == e)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLASSIFIER: &str = r#"
name = "t"
task = "classify"
file = "m.onnx"
[input]
name = "x"
layout = "NHWC"
width = 224
height = 224
color = "rgb"
scale = 255.0
mean = [0.1, 0.2, 0.3]
std = [1.0, 1.0, 1.0]
[output]
name = "y"
kind = "logits"
labels = ["a", "b"]
[crop]
margin = 0.0
"#;

    #[test]
    fn parses_a_classifier_and_resolves_the_model_path() {
        let m = Manifest::parse(CLASSIFIER, Path::new("dir/m.toml")).expect("valid manifest");
        assert_eq!(m.model_path(), Path::new("dir/m.onnx"));
        assert_eq!(m.expected_input_dims(), [-1, 224, 224, 3]);
        assert_eq!(m.output.kind, Some(OutputKind::Logits));
    }

    #[test]
    fn wrong_mean_length_names_the_file() {
        let text = CLASSIFIER.replace("mean = [0.1, 0.2, 0.3]", "mean = [0.1]");
        let err = Manifest::parse(&text, Path::new("dir/m.toml")).expect_err("must fail").to_string();
        assert!(err.contains("dir/m.toml") && err.contains("input.mean"), "{err}");
    }

    #[test]
    fn unknown_layout_is_an_error_not_a_panic() {
        let text = CLASSIFIER.replace("\"NHWC\"", "\"HWCN\"");
        let err = Manifest::parse(&text, Path::new("m.toml")).expect_err("must fail").to_string();
        assert!(err.contains("m.toml"), "{err}");
    }

    #[test]
    fn dims_compatibility() {
        assert!(dims_compatible(&[-1, 1, 64, 64], &[-1, 1, 64, 64]));
        assert!(dims_compatible(&[1, 1, 64, 64], &[-1, 1, 64, 64]));
        assert!(!dims_compatible(&[-1, 1, 48, 48], &[-1, 1, 64, 64]));
        assert!(!dims_compatible(&[-1, 64, 64], &[-1, 1, 64, 64]));
    }
}
