//! Model manifests: the TOML file beside each ONNX model that says how to feed it and read it.
//!
//! A classifier is swapped by dropping in an ONNX file plus a manifest; no code changes.
//! The schema is documented in `models/README.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::VisionError;
use super::affect::{self, Circumplex};
use super::framing::{Anchor, Framing};

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
    /// `[N, 2]`: the face's valence and arousal (each -1..1); the class probabilities come
    /// from the distance to each label's coordinate (see [`super::affect`]).
    #[serde(rename = "valence_arousal")]
    ValenceArousal,
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

/// How a face box becomes the classifier's crop (see [`Framing`]).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct CropSpec {
    /// Box anchor: added on every side of the squared face box, as a fraction of its side.
    pub margin: Option<f32>,
    /// "box" (default) or "landmarks".
    pub anchor: Option<Anchor>,
    /// Box anchor: the square moves down by this fraction of its side.
    pub shift_y: Option<f32>,
    /// Landmark anchor: heights of the eyes and the mouth, fractions of the side.
    pub eyes_y: Option<f32>,
    pub mouth_y: Option<f32>,
}

impl CropSpec {
    /// The framing this section describes; absent fields keep their defaults.
    pub fn framing(&self) -> Framing {
        let d = Framing::boxed(DEFAULT_CROP_MARGIN);
        Framing {
            anchor: self.anchor.unwrap_or(d.anchor),
            margin: self.margin.unwrap_or(d.margin),
            shift_y: self.shift_y.unwrap_or(d.shift_y),
            eyes_y: self.eyes_y.unwrap_or(d.eyes_y),
            mouth_y: self.mouth_y.unwrap_or(d.mouth_y),
        }
    }
}

/// A manifest file as written: what every task may have, parsed and checked for what
/// every task needs (normalisation). [`ClassifierManifest`] and [`DetectorManifest`]
/// check the rest and are what the models take.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub task: Task,
    pub file: PathBuf,
    pub sha256: Option<String>,
    pub input: InputSpec,
    pub output: OutputSpec,
    pub crop: Option<CropSpec>,
    /// Classifiers: `label = [valence, arousal]` for every label (`[valence_arousal]`);
    /// absent: the published coordinates of the labels (see [`super::affect`]).
    pub valence_arousal: Option<BTreeMap<String, [f32; 2]>>,
    /// Where the manifest was read from (set by [`Manifest::load`]).
    #[serde(skip)]
    pub path: PathBuf,
}

/// A TOML error on one line (`line L, column C: message`): toml's own `Display` adds a
/// multi-line source snippet, and commands print each error on one line. The error
/// itself stays available through [`TomlError::toml`].
#[derive(Debug)]
pub struct TomlError {
    /// 1-based line and column of the problem, when toml knows where it is.
    position: Option<(usize, usize)>,
    /// Boxed: toml's error is large, and every vision `Result` would carry its size.
    error: Box<toml::de::Error>,
}

impl TomlError {
    /// Wraps `error`, locating its span in `text` (the parsed document).
    pub fn new(error: toml::de::Error, text: &str) -> Self {
        let position = error.span().map(|span| {
            let before = &text.as_bytes()[..span.start.min(text.len())];
            let line = before.iter().filter(|b| **b == b'\n').count() + 1;
            let line_start = before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            (line, span.start.min(text.len()) - line_start + 1)
        });
        Self { position, error: Box::new(error) }
    }

    /// The original toml error.
    pub fn toml(&self) -> &toml::de::Error {
        &self.error
    }
}

impl std::fmt::Display for TomlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some((line, column)) = self.position {
            write!(f, "line {line}, column {column}: ")?;
        }
        let mut lines = self.error.message().lines().map(str::trim).filter(|l| !l.is_empty());
        if let Some(first) = lines.next() {
            f.write_str(first)?;
        }
        lines.try_for_each(|l| write!(f, "; {l}"))
    }
}

impl std::error::Error for TomlError {}

impl Manifest {
    /// Reads a manifest and checks what every task needs; errors name the file and the field.
    pub fn load(path: &Path) -> Result<Self, VisionError> {
        let text = std::fs::read_to_string(path).map_err(|e| VisionError::io(path, e))?;
        Self::parse(&text, path)
    }

    /// Parses manifest text; `path` is used for messages and to resolve `file`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, VisionError> {
        let mut m: Manifest = toml::from_str(text)
            .map_err(|e| VisionError::ManifestSyntax { path: path.to_path_buf(), source: TomlError::new(e, text) })?;
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

    /// The model file with its checksum, for opening it.
    pub fn model_file(&self) -> ModelFile {
        ModelFile { path: self.model_path(), sha256: self.sha256.clone(), manifest: self.path.clone() }
    }

    fn bad(&self, reason: String) -> VisionError {
        VisionError::Manifest { path: self.path.clone(), reason }
    }

    /// Checks shared by every task: the normalisation can be applied.
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
        if let Some(s) = self.input.std.iter().find(|s| **s == 0.0 || !s.is_finite()) {
            return Err(self.bad(format!("input.std must be finite and non-zero, found {s}")));
        }
        if !self.input.scale.is_finite() || self.input.scale <= 0.0 {
            return Err(self.bad(format!("input.scale must be finite and positive, found {}", self.input.scale)));
        }
        Ok(())
    }

    /// The labels' valence/arousal coordinates: the declared table (every label, nothing
    /// else, each in -1..1), else the published ones; a valence/arousal model needs them.
    fn circumplex(&self, kind: OutputKind) -> Result<Option<Circumplex>, VisionError> {
        let labels = &self.output.labels;
        let Some(table) = &self.valence_arousal else {
            return match Circumplex::published_for(labels) {
                Ok(c) => Ok(Some(c)),
                Err(_) if kind != OutputKind::ValenceArousal => Ok(None),
                Err(label) => Err(self.bad(format!(
                    "output.kind = \"valence_arousal\" needs a coordinate for every label: add \
                     [valence_arousal] with {label} = [valence, arousal] (no published one for \"{label}\")"
                ))),
            };
        };
        let missing: Vec<&str> = labels.iter().filter(|l| !table.contains_key(*l)).map(String::as_str).collect();
        if !missing.is_empty() {
            return Err(self.bad(format!("valence_arousal has no coordinate for {}", missing.join(", "))));
        }
        if let Some(extra) = table.keys().find(|k| !labels.contains(k)) {
            return Err(self.bad(format!("valence_arousal.{extra} is not one of output.labels {labels:?}")));
        }
        if let Some((label, point)) = table.iter().find(|(_, p)| !affect::in_range(**p)) {
            return Err(self.bad(format!(
                "valence_arousal.{label} must have both values in -1..1, found [{}, {}]",
                point[0], point[1]
            )));
        }
        Ok(Some(Circumplex::new(labels.iter().filter_map(|l| table.get(l).copied()).collect())))
    }

    /// Refuses a manifest written for the other task.
    fn expect_task(&self, want: Task) -> Result<(), VisionError> {
        if self.task == want {
            return Ok(());
        }
        let (found, needed, model) = match want {
            Task::Classify => ("detect", "classify", "an emotion classifier"),
            Task::Detect => ("classify", "detect", "a face detector"),
        };
        Err(self.bad(format!("task is \"{found}\"; {model} manifest needs task = \"{needed}\"")))
    }
}

/// The ONNX file a checked manifest names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFile {
    /// The ONNX file, resolved against the manifest's folder.
    pub path: PathBuf,
    /// The file's sha256 in hex, when the manifest names it (checked when opened).
    pub sha256: Option<String>,
    /// The manifest that names it (for messages).
    pub manifest: PathBuf,
}

/// Crop margin of a classifier manifest without `[crop]`: the detector's squared box as is.
pub const DEFAULT_CROP_MARGIN: f32 = 0.0;
/// Detector input stride when `input.stride` is absent: CenterFace's (its input sides
/// must be multiples of 32; other sizes fail in an `Add` node).
pub const DEFAULT_DETECTOR_STRIDE: usize = 32;
/// Fewest labels a classifier can have (one class would always win).
pub const MIN_LABELS: usize = 2;
/// Values per face of an `output.kind = "valence_arousal"` model: valence, arousal.
pub const VALENCE_AROUSAL_OUTPUTS: usize = 2;

/// A checked `task = "classify"` manifest: every field the classifier reads is present.
#[derive(Debug, Clone)]
pub struct ClassifierManifest {
    /// Shown to the user.
    pub name: String,
    pub model: ModelFile,
    /// Tensor name, layout, colour and normalisation (size: [`Self::width`], [`Self::height`]).
    pub input: InputSpec,
    /// Input width in pixels (`input.width`, > 0).
    pub width: usize,
    /// Input height in pixels (`input.height`, > 0).
    pub height: usize,
    /// Output tensor, shape `[N, labels.len()]`, or `[N, 2]` for a valence/arousal model
    /// (`output.name`).
    pub output_name: String,
    /// Probabilities, logits or valence/arousal (`output.kind`).
    pub output_kind: OutputKind,
    /// Each label's valence/arousal coordinate (`[valence_arousal]`, else the published
    /// ones); None when neither names every label (the model then reports no valence/arousal).
    pub circumplex: Option<Circumplex>,
    /// Class names in output order (`output.labels`, at least [`MIN_LABELS`]).
    pub labels: Vec<String>,
    /// Which square around a face its crop shows (`[crop]`; default: the detector's box
    /// squared, with a margin of [`DEFAULT_CROP_MARGIN`]).
    pub framing: Framing,
    /// The manifest file (for messages).
    pub path: PathBuf,
}

impl ClassifierManifest {
    /// Reads and checks a classifier manifest; errors name the file and the field.
    pub fn load(path: &Path) -> Result<Self, VisionError> {
        Self::try_from(Manifest::load(path)?)
    }

    /// The input dims in the model's layout, batch first (`-1`: any batch size).
    pub fn expected_input_dims(&self) -> [i64; 4] {
        let (c, h, w) = (self.input.color.channels() as i64, self.height as i64, self.width as i64);
        match self.input.layout {
            Layout::Nchw => [-1, c, h, w],
            Layout::Nhwc => [-1, h, w, c],
        }
    }

    /// The output dims: any batch size, one value per label (two for valence/arousal).
    pub fn expected_output_dims(&self) -> [i64; 2] {
        match self.output_kind {
            OutputKind::ValenceArousal => [-1, VALENCE_AROUSAL_OUTPUTS as i64],
            OutputKind::Probabilities | OutputKind::Logits => [-1, self.labels.len() as i64],
        }
    }
}

impl TryFrom<Manifest> for ClassifierManifest {
    type Error = VisionError;

    fn try_from(m: Manifest) -> Result<Self, VisionError> {
        m.expect_task(Task::Classify)?;
        let (Some(width), Some(height)) = (m.input.width.filter(|w| *w > 0), m.input.height.filter(|h| *h > 0)) else {
            return Err(m.bad(format!(
                "a classifier needs input.width and input.height above 0, found {} and {}",
                shown(m.input.width),
                shown(m.input.height)
            )));
        };
        let Some(output_name) = m.output.name.clone() else {
            return Err(m.bad("a classifier needs output.name (its output tensor)".into()));
        };
        let Some(output_kind) = m.output.kind else {
            return Err(
                m.bad("a classifier needs output.kind (\"probabilities\", \"logits\" or \"valence_arousal\")".into())
            );
        };
        if m.output.labels.len() < MIN_LABELS {
            return Err(
                m.bad(format!("output.labels needs at least {MIN_LABELS} labels, found {}", m.output.labels.len()))
            );
        }
        let framing = m.crop.map_or(Framing::boxed(DEFAULT_CROP_MARGIN), |c| c.framing());
        framing.check().map_err(|reason| m.bad(reason))?;
        let circumplex = m.circumplex(output_kind)?;
        Ok(Self {
            model: m.model_file(),
            name: m.name,
            input: m.input,
            width,
            height,
            output_name,
            output_kind,
            labels: m.output.labels,
            circumplex,
            framing,
            path: m.path,
        })
    }
}

/// The four CenterFace output tensor names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectorOutputs {
    /// `[B,1,h,w]` face-centre score (`output.heatmap`).
    pub heatmap: String,
    /// `[B,2,h,w]` log box size (`output.scale`).
    pub scale: String,
    /// `[B,2,h,w]` sub-cell centre offset (`output.offset`).
    pub offset: String,
    /// `[B,10,h,w]` five landmarks (`output.landmarks`).
    pub landmarks: String,
}

/// A checked `task = "detect"` manifest: every field the detector reads is present.
#[derive(Debug, Clone)]
pub struct DetectorManifest {
    /// Shown to the user.
    pub name: String,
    pub model: ModelFile,
    /// Tensor name, layout, colour and normalisation; the size follows the frame.
    pub input: InputSpec,
    /// Network input sides must be multiples of this (`input.stride`, > 0, default
    /// [`DEFAULT_DETECTOR_STRIDE`]).
    pub stride: usize,
    pub outputs: DetectorOutputs,
    /// The manifest file (for messages).
    pub path: PathBuf,
}

impl DetectorManifest {
    /// Reads and checks a detector manifest; errors name the file and the field.
    pub fn load(path: &Path) -> Result<Self, VisionError> {
        Self::try_from(Manifest::load(path)?)
    }

    /// The input dims in the model's layout: any batch, height and width.
    pub fn expected_input_dims(&self) -> [i64; 4] {
        let c = self.input.color.channels() as i64;
        match self.input.layout {
            Layout::Nchw => [-1, c, -1, -1],
            Layout::Nhwc => [-1, -1, -1, c],
        }
    }
}

impl TryFrom<Manifest> for DetectorManifest {
    type Error = VisionError;

    fn try_from(m: Manifest) -> Result<Self, VisionError> {
        m.expect_task(Task::Detect)?;
        if m.input.width.is_some() || m.input.height.is_some() {
            return Err(m.bad(format!(
                "a detector's input size follows the frame (see input.stride): remove input.width ({}) \
                 and input.height ({})",
                shown(m.input.width),
                shown(m.input.height)
            )));
        }
        let stride = m.input.stride.unwrap_or(DEFAULT_DETECTOR_STRIDE);
        if stride == 0 {
            return Err(m.bad("input.stride must be at least 1, found 0".into()));
        }
        let out = &m.output;
        let named =
            [("heatmap", &out.heatmap), ("scale", &out.scale), ("offset", &out.offset), ("landmarks", &out.landmarks)];
        let missing: Vec<&str> = named.iter().filter(|(_, v)| v.is_none()).map(|(k, _)| *k).collect();
        let (Some(heatmap), Some(scale), Some(offset), Some(landmarks)) =
            (out.heatmap.clone(), out.scale.clone(), out.offset.clone(), out.landmarks.clone())
        else {
            return Err(m.bad(format!("a detector needs output.{}", missing.join(", output."))));
        };
        Ok(Self {
            model: m.model_file(),
            name: m.name,
            input: m.input,
            stride,
            outputs: DetectorOutputs { heatmap, scale, offset, landmarks },
            path: m.path,
        })
    }
}

/// An optional number as a message shows it.
fn shown(v: Option<usize>) -> String {
    v.map_or_else(|| "none".to_string(), |v| v.to_string())
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

    const DETECTOR: &str = r#"
name = "d"
task = "detect"
file = "/abs/d.onnx"
[input]
name = "input.1"
layout = "NCHW"
color = "rgb"
scale = 1.0
mean = [0.0, 0.0, 0.0]
std = [1.0, 1.0, 1.0]
stride = 16
[output]
heatmap = "537"
scale = "538"
offset = "539"
landmarks = "540"
"#;

    fn classifier(text: &str) -> Result<ClassifierManifest, VisionError> {
        ClassifierManifest::try_from(Manifest::parse(text, Path::new("dir/m.toml"))?)
    }

    fn detector(text: &str) -> Result<DetectorManifest, VisionError> {
        DetectorManifest::try_from(Manifest::parse(text, Path::new("dir/d.toml"))?)
    }

    #[test]
    fn parses_a_classifier_and_resolves_the_model_path() {
        let m = classifier(CLASSIFIER).expect("valid manifest");
        assert_eq!(m.model.path, Path::new("dir/m.onnx"));
        assert_eq!(m.model.manifest, Path::new("dir/m.toml"));
        assert_eq!(m.expected_input_dims(), [-1, 224, 224, 3]);
        assert_eq!(m.expected_output_dims(), [-1, 2]);
        assert_eq!((m.width, m.height, m.output_name.as_str()), (224, 224, "y"));
        assert_eq!(m.output_kind, OutputKind::Logits);
        assert_eq!(m.labels, ["a", "b"]);
    }

    #[test]
    fn crop_section_chooses_the_landmark_anchor() {
        let text = CLASSIFIER
            .replace("[crop]\nmargin = 0.0\n", "[crop]\nanchor = \"landmarks\"\neyes_y = 0.3\nmouth_y = 0.7\n");
        let m = classifier(&text).expect("valid manifest");
        assert_eq!(m.framing.anchor, Anchor::Landmarks);
        assert_eq!((m.framing.eyes_y, m.framing.mouth_y), (0.3, 0.7));
        let err =
            classifier(&text.replace("mouth_y = 0.7", "mouth_y = 0.2")).expect_err("mouth above eyes").to_string();
        assert!(err.contains("dir/m.toml") && err.contains("crop.mouth_y"), "{err}");
        let err = classifier(&text.replace("\"landmarks\"", "\"nose\"")).expect_err("unknown anchor").to_string();
        assert!(err.contains("dir/m.toml"), "{err}");
    }

    #[test]
    fn crop_margin_defaults_when_the_section_is_absent() {
        let m = classifier(&CLASSIFIER.replace("[crop]\nmargin = 0.0\n", "")).expect("valid manifest");
        assert_eq!(m.framing, Framing::boxed(DEFAULT_CROP_MARGIN));
        let err = classifier(&CLASSIFIER.replace("margin = 0.0", "margin = -0.2")).expect_err("negative").to_string();
        assert!(err.contains("dir/m.toml") && err.contains("crop.margin") && err.contains("-0.2"), "{err}");
    }

    #[test]
    fn missing_classifier_fields_name_the_file_and_the_field() {
        for (from, to, field) in [
            ("kind = \"logits\"\n", "", "output.kind"),
            ("name = \"y\"\n", "", "output.name"),
            ("height = 224\n", "", "input.height"),
            ("labels = [\"a\", \"b\"]", "labels = [\"a\"]", "output.labels"),
        ] {
            let err = classifier(&CLASSIFIER.replace(from, to)).expect_err(field).to_string();
            assert!(err.contains("dir/m.toml") && err.contains(field), "{err}");
        }
    }

    #[test]
    fn a_manifest_for_the_other_task_is_refused() {
        let err = classifier(DETECTOR).expect_err("detector manifest").to_string();
        assert!(err.contains("dir/m.toml") && err.contains("task = \"classify\""), "{err}");
        let err = DetectorManifest::try_from(Manifest::parse(CLASSIFIER, Path::new("dir/m.toml")).expect("parses"))
            .expect_err("classifier manifest")
            .to_string();
        assert!(err.contains("dir/m.toml") && err.contains("task = \"detect\""), "{err}");
    }

    #[test]
    fn parses_a_detector_with_its_stride_or_the_default() {
        let d = detector(DETECTOR).expect("valid manifest");
        assert_eq!(d.model.path, Path::new("/abs/d.onnx"));
        assert_eq!(d.stride, 16);
        assert_eq!(d.outputs.landmarks, "540");
        assert_eq!(d.expected_input_dims(), [-1, 3, -1, -1]);
        let d = detector(&DETECTOR.replace("stride = 16\n", "")).expect("valid manifest");
        assert_eq!(d.stride, DEFAULT_DETECTOR_STRIDE);
        let err = detector(&DETECTOR.replace("stride = 16", "stride = 0")).expect_err("zero").to_string();
        assert!(err.contains("dir/d.toml") && err.contains("input.stride"), "{err}");
    }

    #[test]
    fn missing_detector_outputs_are_all_named() {
        let text = DETECTOR.replace("scale = \"538\"\n", "").replace("landmarks = \"540\"\n", "");
        let err = detector(&text).expect_err("must fail").to_string();
        assert!(err.contains("dir/d.toml") && err.contains("output.scale, output.landmarks"), "{err}");
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
    fn a_toml_error_is_one_line_with_its_position() {
        let err = Manifest::parse("name = \"x\"\nfile = [unclosed", Path::new("m.toml")).expect_err("must fail");
        assert_eq!(err.to_string(), "m.toml: bad manifest");
        let cause = std::error::Error::source(&err).expect("the toml error is kept").to_string();
        assert!(cause.starts_with("line 2, column ") && !cause.contains('\n'), "{cause}");
        assert_eq!(err.with_causes(), format!("m.toml: bad manifest: {cause}"));
    }

    #[test]
    fn fer_labels_get_published_coordinates_and_others_none() {
        let fer = CLASSIFIER.replace(
            "labels = [\"a\", \"b\"]",
            "labels = [\"angry\", \"disgust\", \"fear\", \"happy\", \"sad\", \"surprise\", \"neutral\"]",
        );
        let m = classifier(&fer).expect("valid manifest");
        let c = m.circumplex.expect("published coordinates");
        assert_eq!(c.coordinates()[3], [0.81, 0.51]);
        assert!(classifier(CLASSIFIER).expect("valid manifest").circumplex.is_none());
    }

    #[test]
    fn declared_coordinates_are_taken_in_label_order_and_checked() {
        let text = format!("{CLASSIFIER}[valence_arousal]\nb = [0.5, -0.25]\na = [-1.0, 1.0]\n");
        let m = classifier(&text).expect("valid manifest");
        assert_eq!(m.circumplex.expect("declared").coordinates(), [[-1.0, 1.0], [0.5, -0.25]]);
        for (table, needle) in [
            ("a = [0.0, 0.0]\n", "no coordinate for b"),
            ("a = [0.0, 0.0]\nb = [0.0, 0.0]\nc = [0.0, 0.0]\n", "valence_arousal.c is not one of"),
            ("a = [0.0, 1.5]\nb = [0.0, 0.0]\n", "valence_arousal.a must have both values in -1..1, found [0, 1.5]"),
        ] {
            let err = classifier(&format!("{CLASSIFIER}[valence_arousal]\n{table}")).expect_err(needle).to_string();
            assert!(err.contains("dir/m.toml") && err.contains(needle), "{err}");
        }
    }

    #[test]
    fn a_valence_arousal_model_has_two_outputs_and_needs_coordinates() {
        let va = CLASSIFIER.replace("kind = \"logits\"", "kind = \"valence_arousal\"");
        let err = classifier(&va).expect_err("no coordinates for a, b").to_string();
        assert!(err.contains("dir/m.toml") && err.contains("[valence_arousal]") && err.contains("\"a\""), "{err}");
        let m = classifier(&format!("{va}[valence_arousal]\na = [-0.5, 0.0]\nb = [0.5, 0.0]\n")).expect("valid");
        assert_eq!(m.output_kind, OutputKind::ValenceArousal);
        assert_eq!(m.expected_output_dims(), [-1, 2]);
    }

    #[test]
    fn dims_compatibility() {
        assert!(dims_compatible(&[-1, 1, 64, 64], &[-1, 1, 64, 64]));
        assert!(dims_compatible(&[1, 1, 64, 64], &[-1, 1, 64, 64]));
        assert!(!dims_compatible(&[-1, 1, 48, 48], &[-1, 1, 64, 64]));
        assert!(!dims_compatible(&[-1, 64, 64], &[-1, 1, 64, 64]));
    }
}
