//! Opening ONNX models with ort and checking them against their manifests.

use std::sync::atomic::{AtomicBool, Ordering};

use ort::ep::ExecutionProvider as _;
use ort::session::Session;
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};
use ort::value::ValueType;
use serde::{Deserialize, Serialize};

use super::VisionError;
use super::manifest::ModelFile;
use crate::runtime::{ExecutionProvider, OrtError};

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

/// Opens `model` with ort; the caller passes the loaded runtime environment.
pub fn open_session(
    env: &ort::environment::Environment,
    model: &ModelFile,
    threads: ThreadSettings,
) -> Result<Session, VisionError> {
    let path = &model.path;
    if !path.is_file() {
        return Err(VisionError::ModelNotFound { path: path.clone(), manifest: model.manifest.clone() });
    }
    check_sha256(model)?;
    let model_err = |source: OrtError| VisionError::Model { path: path.clone(), source };
    let option_err = |e: ort::Error<_>| model_err(OrtError::without_recovery(&e));
    let builder = Session::builder(env).map_err(|e| model_err(e.into()))?;
    let builder = builder.with_optimization_level(GraphOptimizationLevel::Level3).map_err(option_err)?;
    let builder = builder.with_intra_threads(threads.intra_threads).map_err(option_err)?;
    let mut builder = builder.with_intra_op_spinning(threads.spinning).map_err(option_err)?;
    let provider = crate::runtime::execution_provider();
    if provider == ExecutionProvider::Cpu {
        return builder.commit_from_file(path).map_err(|e| model_err(e.into()));
    }
    // A copy without the provider, in case the session cannot start with it.
    let cpu_builder = builder.clone();
    if let Err(reason) = register_provider(&mut builder, provider) {
        fall_back_to_cpu(provider, &reason);
        let mut builder = cpu_builder;
        return builder.commit_from_file(path).map_err(|e| model_err(e.into()));
    }
    match builder.commit_from_file(path) {
        Ok(session) => Ok(session),
        Err(e) => {
            fall_back_to_cpu(provider, &OrtError::from(e).to_string());
            let mut builder = cpu_builder;
            builder.commit_from_file(path).map_err(|e| model_err(e.into()))
        }
    }
}

/// Asks the session for `provider` (not the CPU, which every session has).
fn register_provider(builder: &mut SessionBuilder, provider: ExecutionProvider) -> Result<(), String> {
    let registered = match provider {
        ExecutionProvider::Cpu => Ok(()),
        ExecutionProvider::Cuda => ort::ep::CUDA::default().register(builder),
        ExecutionProvider::Tensorrt => ort::ep::TensorRT::default().register(builder),
    };
    registered.map_err(|e| OrtError::from(e).to_string())
}

/// Set once the fallback was logged: the detector and the classifier both fall back, and
/// one line says it.
static FALLBACK_LOGGED: AtomicBool = AtomicBool::new(false);

/// Logs, once per process, that `provider` could not start and the CPU runs the models.
fn fall_back_to_cpu(provider: ExecutionProvider, reason: &str) {
    if !FALLBACK_LOGGED.swap(true, Ordering::Relaxed) {
        tracing::warn!("execution provider {provider} cannot start ({reason}); running on the CPU");
    }
}

/// When the manifest names the file's sha256, the file must have it: a replaced or
/// damaged model file is reported before ONNX Runtime tries to make sense of it.
fn check_sha256(model: &ModelFile) -> Result<(), VisionError> {
    let Some(want) = &model.sha256 else { return Ok(()) };
    let bytes = std::fs::read(&model.path).map_err(|e| VisionError::io(&model.path, e))?;
    let got = sha256_hex(&bytes);
    if got.eq_ignore_ascii_case(want.trim()) {
        return Ok(());
    }
    Err(mismatch(
        model,
        format!(
            "its sha256 is {got}, the manifest says {want}: the file was replaced or damaged \
             (restore it, or set sha256 in the manifest to the new file's)"
        ),
    ))
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn mismatch(model: &ModelFile, reason: String) -> VisionError {
    VisionError::Mismatch { path: model.path.clone(), manifest: model.manifest.clone(), reason }
}

/// A named input or output of a session: its position in the session's list and its declared dims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outlet {
    pub index: usize,
    /// `-1` where dynamic.
    pub dims: Vec<i64>,
}

/// Finds a named input or output; `Err` if the name is absent or not a float tensor.
pub fn find_outlet(session: &Session, model: &ModelFile, name: &str, input: bool) -> Result<Outlet, VisionError> {
    let outlets = if input { session.inputs() } else { session.outputs() };
    let kind = if input { "input" } else { "output" };
    let Some(index) = outlets.iter().position(|o| o.name() == name) else {
        let names: Vec<&str> = outlets.iter().map(|o| o.name()).collect();
        return Err(mismatch(model, format!("no {kind} named '{name}' (the model has {names:?})")));
    };
    match outlets[index].dtype() {
        ValueType::Tensor { ty: ort::value::TensorElementType::Float32, shape, .. } => {
            Ok(Outlet { index, dims: shape.to_vec() })
        }
        other => Err(mismatch(model, format!("{kind} '{name}' is {other:?}, expected a float32 tensor"))),
    }
}

/// Checks that a tensor's declared dims fit the expected ones (`-1` = any).
pub fn check_dims(model: &ModelFile, what: &str, dims: &[i64], expected: &[i64]) -> Result<(), VisionError> {
    if super::manifest::dims_compatible(dims, expected) {
        return Ok(());
    }
    Err(mismatch(model, format!("{what} has shape {dims:?} but the manifest implies {expected:?}")))
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
