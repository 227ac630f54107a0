//! Shared harness for cross-crate tests (process spawning, ports).
