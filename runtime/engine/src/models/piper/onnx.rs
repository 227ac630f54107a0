//! ONNX Runtime for the voices: the shared library comes from the `onnxruntime`
//! PyPI wheel (`make models` copies it to `<model dir>/onnxruntime/`) and is loaded
//! once per process; `HERMES_ORT_LIB` (or ort's `ORT_DYLIB_PATH`) overrides it.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use ort::environment::Environment;

use super::PiperError;

/// Folder under the model dir where `make models` puts `libonnxruntime.so.*`.
pub const LIBRARY_DIR: &str = "onnxruntime";

static ENVIRONMENT: Mutex<Option<(PathBuf, Environment)>> = Mutex::new(None);

/// The library to load: the configured one, else the newest
/// `libonnxruntime.so*` under `<model_dir>/onnxruntime/`.
pub fn library_path(configured: Option<&Path>, model_dir: &Path) -> Result<PathBuf, PiperError> {
    if let Some(path) = configured {
        return Ok(path.to_path_buf());
    }
    let dir = model_dir.join(LIBRARY_DIR);
    let missing = || PiperError::OrtLibraryMissing { dir: dir.clone() };
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|_| missing())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libonnxruntime.so"))
        })
        .collect();
    found.sort();
    found.pop().ok_or_else(missing)
}

/// The process's ONNX Runtime environment, loading `library` on first use. A
/// process loads one library: a later, different path is an error.
pub fn environment(library: &Path) -> Result<Environment, PiperError> {
    let mut slot = ENVIRONMENT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((loaded, env)) = slot.as_ref() {
        return if loaded == library {
            Ok(env.clone())
        } else {
            Err(PiperError::Ort {
                stage: "loading ONNX Runtime",
                detail: format!(
                    "{} is already loaded; cannot also load {}",
                    loaded.display(),
                    library.display()
                ),
            })
        };
    }
    let env = ort::init_from(library)
        .map_err(|e| PiperError::Ort {
            stage: "loading ONNX Runtime",
            detail: e.to_string(),
        })?
        .with_name("hermes-tts")
        .build()
        .map_err(|e| PiperError::Ort {
            stage: "creating the ONNX Runtime environment",
            detail: e.to_string(),
        })?;
    *slot = Some((library.to_path_buf(), env.clone()));
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_library_or_names_the_folder() {
        let root = std::env::temp_dir().join(format!("hermes-ort-lib-{}", std::process::id()));
        let dir = root.join(LIBRARY_DIR);
        std::fs::create_dir_all(&dir).unwrap();
        let err = library_path(None, &root).unwrap_err();
        assert!(
            err.to_string().contains(&dir.display().to_string()),
            "{err}"
        );
        std::fs::write(dir.join("libonnxruntime_providers_shared.so"), b"").unwrap();
        std::fs::write(dir.join("libonnxruntime.so.1.31.1"), b"").unwrap();
        assert_eq!(
            library_path(None, &root).unwrap(),
            dir.join("libonnxruntime.so.1.31.1")
        );
        let configured = Path::new("/opt/ort/libonnxruntime.so");
        assert_eq!(library_path(Some(configured), &root).unwrap(), configured);
        std::fs::remove_dir_all(root).unwrap();
    }
}
