//! Composition: the one place that turns [`Settings`] (defaults < settings file < command
//! line) into the parts the engine runs: model specs with resolved paths, the ONNX Runtime
//! environment, and the engine's models.
//!
//! `source`, `vision` and `tracking` know nothing of the settings file; every command and
//! the app resolve their settings with [`resolve_settings`] and open models through here.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::config::{ConfigError, Settings};
use crate::engine::EngineModels;
use crate::runtime::RuntimeError;
use crate::vision::centerface::MIN_INPUT_SIDE;
use crate::vision::{
    self, CenterFace, ClassifierSpec, DetectorKind, DetectorSpec, EmotionClassifier, FaceDetector, VisionError,
};

/// The settings file used when none is named, under the user's config folder.
pub const DEFAULT_SETTINGS_FILE: &str = "emoji-mirror/settings.toml";

/// Errors while composing the settings.
#[derive(Debug, Error)]
pub enum ComposeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{option} {value} is {problem}")]
    Invalid { option: &'static str, value: String, problem: String },
    #[error("ONNX Runtime is needed for inference")]
    Runtime(#[from] RuntimeError),
}

/// What the command line sets (each `None` leaves the settings file's value).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub ort_lib: Option<PathBuf>,
    pub execution_provider: Option<crate::runtime::ExecutionProvider>,
    pub classifier_manifest: Option<PathBuf>,
    pub detector_manifest: Option<PathBuf>,
    pub detector_kind: Option<DetectorKind>,
    /// Detector input, longer side in pixels.
    pub det_size: Option<usize>,
    pub det_threshold: Option<f32>,
    pub det_threads: Option<usize>,
    /// Confirmation window length, frames.
    pub window_frames: Option<usize>,
    pub confirm_share: Option<f32>,
}

/// The settings file to read: the one named, else the user's default (if there is a home).
pub fn settings_path(named: Option<&Path>) -> Option<PathBuf> {
    named.map(Path::to_path_buf).or_else(|| {
        std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
            .map(|d| d.join(DEFAULT_SETTINGS_FILE))
    })
}

/// Reads the settings file into `T` (defaults when there is none; a named file must exist).
pub fn load_file_layer<T: Default + serde::de::DeserializeOwned>(
    path: Option<&Path>,
    must_exist: bool,
) -> Result<T, ConfigError> {
    match path {
        Some(p) if must_exist || p.exists() => crate::config::load_toml(p),
        _ => Ok(T::default()),
    }
}

/// The app's settings file layer: like [`load_file_layer`], but a file that exists and
/// cannot be used (TOML that does not parse, a value of the wrong type) does not stop an
/// exhibit: it is set aside as `<name>.bad` ([`crate::config::set_aside_bad_file`]) and the
/// defaults are used. Returns the layer and, when a file was set aside, the one-line
/// warning to log. The headless commands keep [`load_file_layer`]'s error: whoever typed
/// the command wants to know.
pub fn load_file_layer_or_set_aside<T: Default + serde::de::DeserializeOwned>(
    path: Option<&Path>,
) -> Result<(T, Option<String>), ConfigError> {
    match load_file_layer(path, false) {
        Ok(layer) => Ok((layer, None)),
        Err(ConfigError::Read { path, source }) if source.kind() == std::io::ErrorKind::InvalidData => {
            set_aside(path, "not UTF-8 text".into())
        }
        Err(ConfigError::Parse { path, reason }) => set_aside(path, reason),
        Err(e) => Err(e),
    }
}

/// Sets the bad file at `path` aside; the defaults and the warning to log.
fn set_aside<T: Default>(path: PathBuf, reason: String) -> Result<(T, Option<String>), ConfigError> {
    let bad = crate::config::set_aside_bad_file(&path)?;
    let warning = format!(
        "{}: bad settings ({reason}); starting with the defaults, the bad file is kept as {}",
        path.display(),
        bad.display()
    );
    Ok((T::default(), Some(warning)))
}

/// The runtime settings: `file` (defaults < settings file) with the command line on top and
/// the derived values filled in: the detector input for a stream (video, camera) when none
/// is given, and model paths resolved from the project folder. Never written back.
pub fn resolve_settings(file: &Settings, overrides: &Overrides, stream: bool) -> Result<Settings, ComposeError> {
    let mut s = file.clone();
    if stream {
        s.detector.input_max_side = s.video_detector_side;
    }
    let o = overrides;
    if let Some(p) = &o.ort_lib {
        s.ort_lib = Some(p.clone());
    }
    if let Some(p) = o.execution_provider {
        s.execution_provider = p;
    }
    if let Some(p) = &o.classifier_manifest {
        s.classifier_manifest = p.clone();
    }
    if let Some(p) = &o.detector_manifest {
        s.detector_manifest = p.clone();
    }
    if let Some(k) = o.detector_kind {
        s.detector_kind = k;
    }
    if let Some(v) = o.det_size {
        if v < MIN_INPUT_SIDE {
            return Err(invalid("--det-size", v, format!("too small (at least {MIN_INPUT_SIDE})")));
        }
        s.detector.input_max_side = v;
    }
    if let Some(v) = o.det_threshold {
        if !(0.0..=1.0).contains(&v) {
            return Err(invalid("--det-threshold", v, "outside 0..1".into()));
        }
        s.detector.score_threshold = v;
    }
    if let Some(v) = o.det_threads {
        s.detector.threads.intra_threads = v;
    }
    if let Some(n) = o.window_frames {
        if n == 0 {
            return Err(invalid("--window", n, "not a window: at least 1 frame".into()));
        }
        s.tracking.confirmation.window_frames = n;
    }
    if let Some(v) = o.confirm_share {
        if !(0.0..=1.0).contains(&v) {
            return Err(invalid("--confirm-share", v, "outside 0..1".into()));
        }
        let c = &mut s.tracking.confirmation;
        c.confirm_share = v;
        c.release_share = c.release_share.min(v);
    }
    Ok(s)
}

fn invalid(option: &'static str, value: impl ToString, problem: String) -> ComposeError {
    ComposeError::Invalid { option, value: value.to_string(), problem }
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

/// The detector the settings name, with resolved paths.
pub fn detector_spec(s: &Settings) -> DetectorSpec {
    let mut haar = s.haar.clone();
    haar.cascade_dir = resolve_project_path(&haar.cascade_dir);
    DetectorSpec {
        kind: s.detector_kind,
        centerface_manifest: resolve_project_path(&s.detector_manifest),
        centerface: s.detector,
        haar,
    }
}

/// The classifier the settings name, with a resolved path.
pub fn classifier_spec(s: &Settings) -> ClassifierSpec {
    ClassifierSpec {
        manifest: resolve_project_path(&s.classifier_manifest),
        threads: s.classifier_threads,
        framing: None,
    }
}

/// ONNX Runtime, loaded once per process from the settings' library (or the default places).
pub fn ort_environment(s: &Settings) -> Result<&'static ort::environment::Environment, ComposeError> {
    crate::runtime::set_execution_provider(s.execution_provider);
    Ok(crate::runtime::environment(s.ort_lib.as_deref())?)
}

/// Everything the engine needs from the settings.
pub fn engine_models(s: &Settings) -> Result<EngineModels, ComposeError> {
    Ok(EngineModels {
        env: ort_environment(s)?,
        detector: detector_spec(s),
        classifier: classifier_spec(s),
        tracking: s.tracking.clone(),
        broker: s.broker.url.is_some().then(|| s.broker.clone()),
    })
}

/// CenterFace as the settings configure it.
pub fn open_detector(env: &ort::environment::Environment, s: &Settings) -> Result<CenterFace, VisionError> {
    vision::open_centerface(env, &resolve_project_path(&s.detector_manifest), s.detector)
}

/// The detector the settings name (CenterFace or a Haar cascade).
pub fn open_face_detector(
    env: &ort::environment::Environment,
    s: &Settings,
) -> Result<Box<dyn FaceDetector>, VisionError> {
    vision::open_face_detector(env, &detector_spec(s))
}

/// The classifier the settings name.
pub fn open_classifier(env: &ort::environment::Environment, s: &Settings) -> Result<EmotionClassifier, VisionError> {
    vision::open_classifier(env, &classifier_spec(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_beats_the_file_which_beats_the_defaults() {
        let mut file = Settings { video_detector_side: 320, ..Settings::default() };
        file.tracking.confirmation.window_frames = 30;
        // A stream takes the video detector size from the file...
        let s = resolve_settings(&file, &Overrides::default(), true).expect("valid");
        assert_eq!(s.detector.input_max_side, 320);
        assert_eq!(s.tracking.confirmation.window_frames, 30);
        // ...a still image keeps the image size...
        let s = resolve_settings(&file, &Overrides::default(), false).expect("valid");
        assert_eq!(s.detector.input_max_side, Settings::default().detector.input_max_side);
        // ...and the command line beats both.
        let o =
            Overrides { det_size: Some(512), window_frames: Some(5), confirm_share: Some(0.4), ..Default::default() };
        let s = resolve_settings(&file, &o, true).expect("valid");
        assert_eq!(s.detector.input_max_side, 512);
        assert_eq!(s.tracking.confirmation.window_frames, 5);
        assert!(s.tracking.confirmation.release_share <= 0.4);
        // The file layer is untouched.
        assert_eq!(file.detector.input_max_side, Settings::default().detector.input_max_side);
    }

    #[test]
    fn bad_values_name_the_option() {
        let file = Settings::default();
        for (o, option) in [
            (Overrides { det_size: Some(8), ..Default::default() }, "--det-size 8"),
            (Overrides { det_threshold: Some(1.5), ..Default::default() }, "--det-threshold 1.5"),
            (Overrides { window_frames: Some(0), ..Default::default() }, "--window 0"),
        ] {
            let err = resolve_settings(&file, &o, false).expect_err("invalid").to_string();
            assert!(err.starts_with(option), "{err}");
        }
    }

    #[test]
    fn the_app_sets_a_bad_settings_file_aside_and_starts_on_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("settings.toml");
        let bytes = "video_detector_side = \"big\"\n";
        std::fs::write(&p, b"\xff\xfe binary").expect("write");
        let (_, warning) = load_file_layer_or_set_aside::<Settings>(Some(&p)).expect("defaults");
        assert!(warning.expect("a warning").contains("not UTF-8"));
        std::fs::remove_file(dir.path().join("settings.toml.bad")).expect("set aside");
        std::fs::write(&p, bytes).expect("write");
        // A command fails with the file named...
        let err = load_file_layer::<Settings>(Some(&p), true).expect_err("bad").to_string();
        assert!(err.contains("settings.toml"), "{err}");
        // ...the app starts on defaults, keeps the bad bytes and says where they are.
        let (s, warning) = load_file_layer_or_set_aside::<Settings>(Some(&p)).expect("defaults");
        assert_eq!(s, Settings::default());
        let warning = warning.expect("a warning");
        assert!(warning.contains("settings.toml.bad") && warning.contains("bad settings"), "{warning}");
        assert_eq!(std::fs::read_to_string(dir.path().join("settings.toml.bad")).expect("kept"), bytes);
        assert!(!p.exists());
        // A good file is read as it is, with no warning.
        std::fs::write(&p, "video_detector_side = 320\n").expect("write");
        let (s, warning) = load_file_layer_or_set_aside::<Settings>(Some(&p)).expect("good");
        assert_eq!((s.video_detector_side, warning), (320, None));
    }

    #[test]
    fn specs_resolve_model_paths_from_the_project() {
        let spec = detector_spec(&Settings::default());
        assert!(spec.centerface_manifest.is_file(), "{}", spec.centerface_manifest.display());
        assert!(spec.haar.cascade_dir.is_dir(), "{}", spec.haar.cascade_dir.display());
        assert!(classifier_spec(&Settings::default()).manifest.is_file());
    }
}
