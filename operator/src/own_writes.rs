//! Read-your-writes for the reconcile: the controller hands each reconcile the object as
//! its watch cache last saw it, which can be older than this operator's own last write
//! (a status patch, the removal of a rollout command). Acting on such a copy repeats a
//! step already taken: found against a real apiserver, a template applied right after a
//! promotion was read with the pre-promotion status, recreated the promoted canary and
//! went straight to the stable Deployment. So every write's resourceVersion is kept until
//! the cache has caught up, and a reconcile on an older copy waits instead of acting.

use kube::ResourceExt;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a cache may lag before its copy is trusted anyway (an apiserver whose
/// resourceVersions are not the usual increasing integers, a missed watch event).
pub const LAG_BOUND: Duration = Duration::from_secs(10);
/// Requeue of a reconcile that found a stale copy.
pub const RECHECK: Duration = Duration::from_millis(500);

/// Whether a reconcile may act on the copy it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// At least as new as this operator's last write of the object (or none is known).
    Current,
    /// Older than this operator's last write: requeue and wait for the watch.
    Stale,
}

#[derive(Debug)]
struct Written {
    resource_version: u64,
    at: Instant,
}

/// The resourceVersion of this operator's last write per object (`namespace/name`).
#[derive(Debug, Default)]
pub struct OwnWrites {
    last: Mutex<HashMap<String, Written>>,
}

impl OwnWrites {
    /// Remembers the resourceVersion the apiserver returned for a write of `key`.
    pub fn record(&self, key: &str, written: &impl ResourceExt) {
        let Some(resource_version) = written.resource_version().and_then(|v| v.parse().ok()) else {
            return;
        };
        if let Ok(mut last) = self.last.lock() {
            last.insert(
                key.to_owned(),
                Written {
                    resource_version,
                    at: Instant::now(),
                },
            );
        }
    }

    /// Whether `seen` (the controller's copy of `key`) is at least as new as the last
    /// write; a caught-up (or too old) record is forgotten.
    pub fn freshness(&self, key: &str, seen: &impl ResourceExt) -> Freshness {
        self.freshness_at(key, seen, Instant::now())
    }

    fn freshness_at(&self, key: &str, seen: &impl ResourceExt, now: Instant) -> Freshness {
        let Ok(mut last) = self.last.lock() else {
            return Freshness::Current;
        };
        let Some(written) = last.get(key) else {
            return Freshness::Current;
        };
        let seen_version = seen.resource_version().and_then(|v| v.parse::<u64>().ok());
        let behind = seen_version.is_some_and(|v| v < written.resource_version);
        if behind && now.duration_since(written.at) < LAG_BOUND {
            return Freshness::Stale;
        }
        last.remove(key);
        Freshness::Current
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;

    fn at_version(v: &str) -> ConfigMap {
        let mut o = ConfigMap::default();
        o.metadata.resource_version = Some(v.into());
        o
    }

    #[test]
    fn a_copy_older_than_the_last_write_is_stale_until_the_cache_catches_up() {
        let writes = OwnWrites::default();
        assert_eq!(
            writes.freshness("ns/a", &at_version("5")),
            Freshness::Current
        );
        writes.record("ns/a", &at_version("12"));
        assert_eq!(
            writes.freshness("ns/a", &at_version("11")),
            Freshness::Stale
        );
        assert_eq!(
            writes.freshness("ns/b", &at_version("1")),
            Freshness::Current,
            "other objects are not held back"
        );
        assert_eq!(
            writes.freshness("ns/a", &at_version("12")),
            Freshness::Current
        );
        assert_eq!(
            writes.freshness("ns/a", &at_version("3")),
            Freshness::Current,
            "once caught up, the record is forgotten"
        );
    }

    #[test]
    fn a_newer_copy_is_current_and_a_lagging_cache_is_trusted_after_the_bound() {
        let writes = OwnWrites::default();
        writes.record("ns/a", &at_version("12"));
        assert_eq!(
            writes.freshness("ns/a", &at_version("20")),
            Freshness::Current
        );
        writes.record("ns/a", &at_version("30"));
        let later = Instant::now() + LAG_BOUND + Duration::from_secs(1);
        assert_eq!(
            writes.freshness_at("ns/a", &at_version("29"), later),
            Freshness::Current
        );
    }

    #[test]
    fn versions_that_are_not_numbers_never_hold_a_reconcile_back() {
        let writes = OwnWrites::default();
        writes.record("ns/a", &at_version("opaque-b"));
        assert_eq!(
            writes.freshness("ns/a", &at_version("opaque-a")),
            Freshness::Current
        );
        writes.record("ns/a", &at_version("12"));
        assert_eq!(
            writes.freshness("ns/a", &at_version("opaque-a")),
            Freshness::Current
        );
    }
}
