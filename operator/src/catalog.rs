//! The model catalog the pure stages size from. Production uses the shared catalog of
//! `hermes-interface` (`Catalog::builtin`); tests pass a fixed one, so that golden files
//! do not change each time the runtime's bench re-measures a model.

use hermes_interface::ModelEntry;
use hermes_interface::catalog::{CATALOG, RUNTIME_OVERHEAD_BYTES};

#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    pub models: Vec<ModelEntry>,
    /// Memory of the runtime with no model loaded.
    pub runtime_overhead: u64,
}

impl Catalog {
    /// The catalog shared with the runtime.
    pub fn builtin() -> Self {
        Catalog {
            models: CATALOG.to_vec(),
            runtime_overhead: RUNTIME_OVERHEAD_BYTES,
        }
    }

    pub fn find(&self, id: &str) -> Option<&ModelEntry> {
        self.models.iter().find(|m| m.id == id)
    }

    /// Comma-separated ids, for error messages.
    pub fn ids(&self) -> String {
        self.models
            .iter()
            .map(|m| m.id)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Default for Catalog {
    fn default() -> Self {
        Catalog::builtin()
    }
}
