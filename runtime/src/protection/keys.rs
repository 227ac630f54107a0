//! API keys: parsing `name:key` entries, the key file (re-read when it changes),
//! and a constant-time lookup that returns the matching key's name.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hermes_upstreams::secret::Secret;

/// One accepted key and the name logs and metrics show instead of it.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub name: String,
    pub secret: Secret,
}

/// Parses `name:key` entries (a bare `key` is named `key-N`, N its position from 1).
pub fn parse_key_list<'a>(entries: impl Iterator<Item = &'a str>) -> Result<Vec<ApiKey>, String> {
    let mut keys: Vec<ApiKey> = Vec::new();
    for (i, entry) in entries
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.starts_with('#'))
        .enumerate()
    {
        let (name, key) = match entry.split_once(':') {
            Some((name, key)) => (name.trim().to_owned(), key.trim()),
            None => (format!("key-{}", i + 1), entry),
        };
        if name.is_empty() || key.is_empty() {
            return Err(format!(
                "entry {} is malformed: expected `name:key` with both parts non-empty",
                i + 1
            ));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            return Err(format!(
                "entry {}: key name {name:?} may hold only letters, digits, '_', '.', '-'",
                i + 1
            ));
        }
        if keys.iter().any(|k| k.name == name) {
            return Err(format!("entry {}: key name {name:?} is used twice", i + 1));
        }
        keys.push(ApiKey {
            name,
            secret: Secret::new(key.to_owned()),
        });
    }
    Ok(keys)
}

/// Reads a key file: one `name:key` a line, `#` comments and blank lines ignored.
pub fn read_key_file(path: &Path) -> Result<Vec<ApiKey>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_key_list(text.lines()).map_err(|p| format!("{}: {p}", path.display()))
}

/// Equal in time independent of where the inputs differ (the length of `given`
/// is not secret: every byte of the longer input is still visited).
fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != expected.len());
    let n = given.len().max(expected.len());
    for i in 0..n {
        let a = given.get(i).copied().unwrap_or(0);
        let b = expected.get(i).copied().unwrap_or(0xff);
        diff |= a ^ b;
    }
    diff == 0
}

/// The keys in force: the environment's plus the file's latest valid content.
#[derive(Debug)]
pub struct KeyRing {
    fixed: Vec<ApiKey>,
    file: Option<PathBuf>,
    from_file: RwLock<Arc<Vec<ApiKey>>>,
}

impl KeyRing {
    pub fn new(fixed: Vec<ApiKey>, file: Option<PathBuf>) -> Self {
        let initial = file
            .as_deref()
            .map(|p| read_key_file(p).unwrap_or_default())
            .unwrap_or_default();
        Self {
            fixed,
            file,
            from_file: RwLock::new(Arc::new(initial)),
        }
    }

    /// Authentication is on when a key is configured (or a key file is watched).
    pub fn enabled(&self) -> bool {
        !self.fixed.is_empty() || self.file.is_some()
    }

    /// The name of the key equal to `given`; every key is compared, in constant time.
    pub fn name_of(&self, given: &str) -> Option<String> {
        let file = self
            .from_file
            .read()
            .map(|g| Arc::clone(&g))
            .unwrap_or_default();
        let mut found = None;
        for key in self.fixed.iter().chain(file.iter()) {
            if constant_time_eq(given.as_bytes(), key.secret.expose().as_bytes()) && found.is_none()
            {
                found = Some(key.name.clone());
            }
        }
        found
    }

    /// Re-reads the file; a broken file keeps the previous keys (and is logged).
    pub fn reload(&self) -> bool {
        let Some(path) = &self.file else {
            return false;
        };
        match read_key_file(path) {
            Ok(keys) => {
                let names: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
                let changed = self.from_file.read().is_ok_and(|old| {
                    old.len() != keys.len()
                        || old.iter().zip(&keys).any(|(a, b)| {
                            a.name != b.name || a.secret.expose() != b.secret.expose()
                        })
                });
                if changed {
                    tracing::info!(keys = ?names, "API key file reloaded");
                    if let Ok(mut slot) = self.from_file.write() {
                        *slot = Arc::new(keys);
                    }
                }
                changed
            }
            Err(problem) => {
                tracing::warn!(%problem, "API key file unreadable: the previous keys stay in force");
                false
            }
        }
    }

    /// Re-reads the key file every `period` for as long as the ring lives.
    pub fn watch(self: &Arc<Self>, period: Duration) {
        if self.file.is_none() {
            return;
        }
        let ring = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(ring) = ring.upgrade() else { return };
                ring.reload();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_is_exact() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(!constant_time_eq(b"abcd", b"abc"));
        assert!(!constant_time_eq(b"", b"a"));
    }

    #[test]
    fn keys_are_found_by_value_and_reported_by_name() {
        let keys = parse_key_list(["alice:s3cret", "bob:other"].into_iter()).unwrap();
        let ring = KeyRing::new(keys, None);
        assert!(ring.enabled());
        assert_eq!(ring.name_of("other").as_deref(), Some("bob"));
        assert_eq!(ring.name_of("s3cre"), None);
        assert_eq!(ring.name_of("alice"), None);
    }

    #[test]
    fn the_file_is_reloaded_and_a_broken_file_keeps_the_old_keys() {
        let path = std::env::temp_dir().join(format!("hermes-keys-{}", std::process::id()));
        std::fs::write(&path, "# team keys\nci:first\n").unwrap();
        let ring = KeyRing::new(Vec::new(), Some(path.clone()));
        assert_eq!(ring.name_of("first").as_deref(), Some("ci"));
        std::fs::write(&path, "ci:second\n").unwrap();
        assert!(ring.reload());
        assert_eq!(ring.name_of("first"), None);
        assert_eq!(ring.name_of("second").as_deref(), Some("ci"));
        std::fs::write(&path, "ci:\n").unwrap();
        assert!(!ring.reload());
        assert_eq!(ring.name_of("second").as_deref(), Some("ci"));
        let _ = std::fs::remove_file(path);
    }
}
