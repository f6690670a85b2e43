//! Finding and loading the ONNX Runtime shared library (ort `load-dynamic`).
//!
//! Search order: an explicit path (`--ort-lib`), the `ORT_DYLIB_PATH`
//! environment variable, then [`DEFAULT_ORT_DIR`] under the current directory
//! and under the crate's own folder. `scripts/setup-ort.sh` puts the library
//! there.
//!
//! The execution provider (CPU, CUDA, TensorRT) is chosen once per process too
//! ([`set_execution_provider`]); sessions ask for it when they are built (see
//! `vision::onnx`), and fall back to the CPU when it cannot start.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

use serde::{Deserialize, Serialize};

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
    #[error("{path}: cannot load ONNX Runtime (to get a working one: {HOW_TO_GET})")]
    Load {
        path: PathBuf,
        #[source]
        source: ort::LoadDynamicError,
    },
    #[error("{path}: cannot start ONNX Runtime")]
    Start {
        path: PathBuf,
        #[source]
        source: OrtError,
    },
    #[error("ONNX Runtime was already loaded from {loaded}; cannot switch to {requested}")]
    AlreadyLoaded { loaded: PathBuf, requested: PathBuf },
}

/// An ONNX Runtime error shown as its first line: ONNX Runtime's messages can go on over
/// several lines (graph dumps), and commands print each error on one line. The error
/// itself stays available through [`OrtError::ort`].
#[derive(Debug)]
pub struct OrtError(ort::Error);

impl OrtError {
    /// The original ort error (its code and full message).
    pub fn ort(&self) -> &ort::Error {
        &self.0
    }

    /// An error that carries a value to recover (a session builder, which may not be
    /// shared between threads): the same code and message without the value.
    pub fn without_recovery<R>(e: &ort::Error<R>) -> Self {
        Self(ort::Error::new_with_code(e.code(), e.message()))
    }
}

impl From<ort::Error> for OrtError {
    fn from(e: ort::Error) -> Self {
        Self(e)
    }
}

impl std::fmt::Display for OrtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(first_line(self.0.message()))
    }
}

/// The first non-blank line of a message, trimmed.
fn first_line(message: &str) -> &str {
    message.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("(no message)")
}

/// No further source: an ort error's own cause (`ort::Error::wrap`) has the same message.
impl std::error::Error for OrtError {}

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

/// Where ONNX Runtime runs the models (settings `execution_provider`, `--execution-provider`).
/// CUDA and TensorRT need a GPU build of the library (`onnxruntime-gpu`; see
/// `scripts/setup-ort.sh`); a provider that cannot start falls back to the CPU.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionProvider {
    #[default]
    Cpu,
    Cuda,
    Tensorrt,
}

impl ExecutionProvider {
    /// Every provider, in the order the help lists them.
    pub const ALL: [Self; 3] = [Self::Cpu, Self::Cuda, Self::Tensorrt];

    /// The name in settings and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
            Self::Tensorrt => "tensorrt",
        }
    }
}

impl std::fmt::Display for ExecutionProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ExecutionProvider {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let lower = s.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|p| p.name() == lower).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|p| p.name()).collect();
            format!("unknown execution provider '{s}' (one of: {})", names.join(", "))
        })
    }
}

/// The provider sessions ask for ([`ExecutionProvider`] as its index in `ALL`).
static PROVIDER: AtomicU8 = AtomicU8::new(0);

/// Chooses the provider for sessions built from now on (once at start, from the settings).
pub fn set_execution_provider(provider: ExecutionProvider) {
    let index = ExecutionProvider::ALL.iter().position(|p| *p == provider).unwrap_or(0);
    PROVIDER.store(index as u8, Ordering::Relaxed);
}

/// The provider sessions ask for.
pub fn execution_provider() -> ExecutionProvider {
    ExecutionProvider::ALL.get(usize::from(PROVIDER.load(Ordering::Relaxed))).copied().unwrap_or_default()
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
        .map_err(|source| RuntimeError::Load { path: path.clone(), source })?
        .with_name("emoji-mirror")
        // Microsoft's builds record and send usage telemetry by default; the exhibit sends nothing.
        .with_telemetry(false)
        .build()
        .map_err(|e| RuntimeError::Start { path: path.clone(), source: e.into() })?;
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

    #[test]
    fn execution_providers_parse_by_name_and_default_to_the_cpu() {
        assert_eq!(ExecutionProvider::default(), ExecutionProvider::Cpu);
        for p in ExecutionProvider::ALL {
            assert_eq!(p.name().parse::<ExecutionProvider>(), Ok(p));
        }
        assert_eq!(" CUDA ".parse::<ExecutionProvider>(), Ok(ExecutionProvider::Cuda));
        let err = "rocm".parse::<ExecutionProvider>().expect_err("not offered");
        assert!(err.contains("'rocm'") && err.contains("cpu, cuda, tensorrt"), "{err}");
        #[derive(serde::Deserialize)]
        struct S {
            execution_provider: ExecutionProvider,
        }
        let s: S = toml::from_str("execution_provider = \"tensorrt\"").expect("parses");
        assert_eq!(s.execution_provider, ExecutionProvider::Tensorrt);
    }

    #[test]
    fn an_ort_message_is_shown_by_its_first_line() {
        // (An ort::Error itself needs the loaded library to be made.)
        assert_eq!(first_line("\n  Load model failed:\n  node 3: bad shape\n"), "Load model failed:");
        assert_eq!(first_line(""), "(no message)");
    }
}
