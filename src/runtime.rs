//! Finding and loading the ONNX Runtime shared library (ort `load-dynamic`).
//!
//! Search order: an explicit path (`--ort-lib`), the `ORT_DYLIB_PATH`
//! environment variable, then [`DEFAULT_ORT_DIR`] under the current directory
//! and under the crate's own folder. `scripts/setup-ort.sh` puts the library
//! there.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
use thiserror::Error;

/// ONNX Runtime version the crate is built against (ort's `api-31`).
pub const ORT_VERSION: &str = "1.31.1";
/// Folder (relative to the project root) where the setup step puts the library.
pub const DEFAULT_ORT_DIR: &str = ".ort";
/// File name of the library inside [`DEFAULT_ORT_DIR`].
pub const ORT_LIB_NAME: &str = "libonnxruntime.so.1.31.1";
/// Environment variable that names the library file.
pub const ORT_ENV_VAR: &str = "ORT_DYLIB_PATH";

const HOW_TO_GET: &str = "run `scripts/setup-ort.sh` (fetches it from the onnxruntime 1.31.1 wheel on PyPI), or pass --ort-lib FILE / set ORT_DYLIB_PATH";

/// Errors while locating or loading ONNX Runtime.
#[derive(Debug, Error)]
pub enum RuntimeError {
    #[error("ONNX Runtime library not found at {tried}; {HOW_TO_GET}")]
    NotFound { tried: String },
    #[error("{path}: cannot load ONNX Runtime: {reason}; {HOW_TO_GET}")]
    Load { path: PathBuf, reason: String },
    #[error("ONNX Runtime was already loaded from {loaded}; cannot switch to {requested}")]
    AlreadyLoaded { loaded: PathBuf, requested: PathBuf },
}

/// Candidate library paths in search order.
pub fn candidate_paths(explicit: Option<&Path>) -> Vec<PathBuf> {
    if let Some(p) = explicit {
        return vec![p.to_path_buf()];
    }
    if let Some(p) = std::env::var_os(ORT_ENV_VAR).filter(|p| !p.is_empty()) {
        return vec![PathBuf::from(p)];
    }
    let mut out = vec![Path::new(DEFAULT_ORT_DIR).join(ORT_LIB_NAME)];
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_ORT_DIR).join(ORT_LIB_NAME);
    if !out.contains(&crate_dir) {
        out.push(crate_dir);
    }
    out
}

struct Loaded {
    path: PathBuf,
    env: Environment,
}

static LOADED: OnceLock<Loaded> = OnceLock::new();

/// Loads ONNX Runtime once per process and returns its environment.
pub fn environment(explicit: Option<&Path>) -> Result<&'static Environment, RuntimeError> {
    if let Some(loaded) = LOADED.get() {
        if let Some(requested) = explicit
            && requested != loaded.path
        {
            return Err(RuntimeError::AlreadyLoaded {
                loaded: loaded.path.clone(),
                requested: requested.to_path_buf(),
            });
        }
        return Ok(&loaded.env);
    }
    let candidates = candidate_paths(explicit);
    let Some(path) = candidates.iter().find(|p| p.is_file()) else {
        let tried = candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
        return Err(RuntimeError::NotFound { tried });
    };
    let env = ort::init_from(path)
        .map_err(|e| RuntimeError::Load { path: path.clone(), reason: e.to_string() })?
        .with_name("emoji-mirror")
        .build()
        .map_err(|e| RuntimeError::Load { path: path.clone(), reason: e.to_string() })?;
    let loaded = LOADED.get_or_init(|| Loaded { path: path.clone(), env });
    Ok(&loaded.env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_path_is_the_only_candidate() {
        let p = Path::new("some/lib.so");
        assert_eq!(candidate_paths(Some(p)), vec![p.to_path_buf()]);
    }

    #[test]
    fn missing_library_names_the_path_and_the_fix() {
        let err = match environment(Some(Path::new("no/such/libonnxruntime.so"))) {
            Err(e) => e.to_string(),
            Ok(_) => String::from("loaded"),
        };
        // Either nothing is loaded yet (NotFound) or another test loaded it first (AlreadyLoaded).
        assert!(err.contains("no/such/libonnxruntime.so"), "{err}");
    }
}
