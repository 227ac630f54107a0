//! Whisper models that are not in the catalog: a user copies any ggml Whisper
//! file (whisper.cpp's `ggml-base.en.bin`, `ggml-small.bin`, ...) to
//! `<model dir>/<id>/ggml-model.bin` and declares `<id>` in `HERMES_MODELS`.
//! A declared id the catalog does not know is an STT model exactly when that file
//! exists and starts with the ggml magic.

use std::io::Read;
use std::path::Path;

use hermes_interface::Task;
use hermes_interface::catalog::{ModelEntry, Provenance};

use super::{GGML_MAGIC, WEIGHTS_FILE};

/// Load seconds assumed per GiB of weights for a user model (2 cores, with the
/// warm-up); the catalog's measured tiny.en loads ~75 MB well under this.
const LOAD_SECONDS_PER_GIB: f64 = 8.0;
/// Resident bytes per byte of weights (weights, plus an inference state and
/// compute buffers that grow with the model).
const FOOTPRINT_PER_WEIGHT_BYTE: f64 = 1.6;

/// A catalog entry for the user-supplied ggml Whisper model `id`, or `None` when
/// `model_dir/id/ggml-model.bin` is not a ggml file. Its footprint and load time
/// are estimates from the file's size. Called once per declared id at start-up;
/// the entry lives for the whole process.
pub fn user_model(model_dir: &Path, id: &str) -> Option<&'static ModelEntry> {
    if id.is_empty() || id.contains(['/', '\\']) || id.starts_with('.') {
        return None;
    }
    let path = model_dir.join(id).join(WEIGHTS_FILE);
    let mut file = std::fs::File::open(&path).ok()?;
    let mut magic = [0u8; 4];
    file.read_exact(&mut magic).ok()?;
    if magic != GGML_MAGIC {
        return None;
    }
    let size = file.metadata().ok()?.len();
    let entry = ModelEntry {
        id: Box::leak(id.to_owned().into_boxed_str()),
        task: Task::Stt,
        package: "user-supplied ggml file",
        footprint_bytes: (size as f64 * FOOTPRINT_PER_WEIGHT_BYTE) as u64,
        load_seconds: (size as f64 / f64::from(1u32 << 30) * LOAD_SECONDS_PER_GIB).max(1.0),
        provenance: Provenance::Estimate(
            "user-supplied ggml Whisper model: footprint and load time estimated from the file size",
        ),
        // Audio, log-mel and state grow with the admitted duration, not the weights:
        // the same as the built-in Whisper's.
        working_bytes: hermes_interface::catalog::find("whisper-tiny-en")
            .map_or(0, |whisper| whisper.working_bytes),
        working_provenance: Provenance::Estimate(
            "user-supplied ggml Whisper model: working memory of the catalog's Whisper",
        ),
    };
    Some(Box::leak(Box::new(entry)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ggml_file_makes_an_stt_model_and_anything_else_does_not() {
        let dir = std::env::temp_dir().join(format!("hermes-user-whisper-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("whisper-base-en")).unwrap();
        let mut weights = GGML_MAGIC.to_vec();
        weights.resize(1 << 20, 0);
        std::fs::write(dir.join("whisper-base-en").join(WEIGHTS_FILE), &weights).unwrap();
        std::fs::create_dir_all(dir.join("not-ggml")).unwrap();
        std::fs::write(dir.join("not-ggml").join(WEIGHTS_FILE), b"GGUF....").unwrap();

        let entry = user_model(&dir, "whisper-base-en").unwrap();
        assert_eq!(entry.id, "whisper-base-en");
        assert_eq!(entry.task, Task::Stt);
        assert!(entry.footprint_bytes > 1 << 20);
        assert!(matches!(entry.provenance, Provenance::Estimate(_)));
        assert_eq!(user_model(&dir, "not-ggml"), None);
        assert_eq!(user_model(&dir, "missing"), None);
        assert_eq!(user_model(&dir, "../whisper-base-en"), None);
    }
}
