//! Opening ONNX models with ort and checking them against their manifests.

use std::path::Path;

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::ValueType;
use serde::{Deserialize, Serialize};

use super::VisionError;
use super::manifest::Manifest;

/// Threads for one ONNX Runtime session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadSettings {
    /// Intra-op threads (0 = ONNX Runtime decides).
    pub intra_threads: usize,
    /// Busy-wait between ops. Off is faster with 2 threads on 2 cores (measured in STACK notes / benches).
    pub spinning: bool,
}

impl Default for ThreadSettings {
    fn default() -> Self {
        Self { intra_threads: 1, spinning: false }
    }
}

/// Opens `manifest`'s model with ort; the caller passes the loaded runtime environment.
pub fn open_session(
    env: &ort::environment::Environment,
    manifest: &Manifest,
    threads: ThreadSettings,
) -> Result<Session, VisionError> {
    let path = manifest.model_path();
    if !path.is_file() {
        return Err(VisionError::Model { path, reason: "file not found".into() });
    }
    check_sha256(manifest, &path)?;
    let model_err = |reason: String| VisionError::Model { path: path.clone(), reason };
    let builder = Session::builder(env).map_err(|e| model_err(e.to_string()))?;
    let builder =
        builder.with_optimization_level(GraphOptimizationLevel::Level3).map_err(|e| model_err(e.to_string()))?;
    let builder = builder.with_intra_threads(threads.intra_threads).map_err(|e| model_err(e.to_string()))?;
    let mut builder = builder.with_intra_op_spinning(threads.spinning).map_err(|e| model_err(e.to_string()))?;
    builder.commit_from_file(&path).map_err(|e| model_err(first_line(&e.to_string())))
}

/// When the manifest names the file's sha256, the file must have it: a replaced or
/// damaged model file is reported before ONNX Runtime tries to make sense of it.
fn check_sha256(manifest: &Manifest, path: &Path) -> Result<(), VisionError> {
    let Some(want) = &manifest.sha256 else { return Ok(()) };
    let bytes = std::fs::read(path).map_err(|e| VisionError::io(path, e))?;
    let got = sha256_hex(&bytes);
    if got.eq_ignore_ascii_case(want.trim()) {
        return Ok(());
    }
    Err(VisionError::Mismatch {
        path: path.to_path_buf(),
        manifest: manifest.path.clone(),
        reason: format!(
            "its sha256 is {got}, the manifest says {want}: the file was replaced or damaged \
             (restore it, or set sha256 in the manifest to the new file's)"
        ),
    })
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// Declared dims of a named input or output; `Err` if the name is absent or not a float tensor.
pub fn tensor_dims(session: &Session, manifest: &Manifest, name: &str, input: bool) -> Result<Vec<i64>, VisionError> {
    let outlets = if input { session.inputs() } else { session.outputs() };
    let kind = if input { "input" } else { "output" };
    let mismatch =
        |reason: String| VisionError::Mismatch { path: manifest.model_path(), manifest: manifest.path.clone(), reason };
    let Some(outlet) = outlets.iter().find(|o| o.name() == name) else {
        let names: Vec<&str> = outlets.iter().map(|o| o.name()).collect();
        return Err(mismatch(format!("no {kind} named '{name}' (the model has {names:?})")));
    };
    match outlet.dtype() {
        ValueType::Tensor { ty: ort::value::TensorElementType::Float32, shape, .. } => Ok(shape.to_vec()),
        other => Err(mismatch(format!("{kind} '{name}' is {other:?}, expected a float32 tensor"))),
    }
}

/// Checks that a tensor's declared dims fit the expected ones (`-1` = any).
pub fn check_dims(manifest: &Manifest, what: &str, model: &[i64], expected: &[i64]) -> Result<(), VisionError> {
    if super::manifest::dims_compatible(model, expected) {
        return Ok(());
    }
    Err(VisionError::Mismatch {
        path: manifest.model_path(),
        manifest: manifest.path.clone(),
        reason: format!("{what} has shape {model:?} but the manifest implies {expected:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_is_the_standard_one() {
        // FIPS 180-2 test vector.
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
