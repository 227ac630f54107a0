//! Start-up admission by memory: the runtime reads its own memory limit from its
//! cgroup (v2 `memory.max`, v1 `memory.limit_in_bytes`) and refuses to start when
//! the declared models' footprints plus their reserved working memory (catalog
//! `working_bytes` x the requests each model runs at once) do not fit in it.

use std::fmt;
use std::path::{Path, PathBuf};

use hermes_interface::catalog::RUNTIME_OVERHEAD_BYTES;
use hermes_interface::{ModelEntry, Task};

const MIB: u64 = 1024 * 1024;
/// cgroup v1 reports "no limit" as a page-rounded `i64::MAX`; anything this
/// large is no limit.
const UNLIMITED_FROM: u64 = 1 << 60;

/// The memory limit the kernel enforces on this process, and where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryLimit {
    pub bytes: u64,
    pub source: PathBuf,
}

/// The limit of this process's cgroup, if it has one (None: no cgroup memory
/// controller, or `max`).
pub fn cgroup_limit() -> Option<MemoryLimit> {
    let membership = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    limit_from(&membership, Path::new("/sys/fs/cgroup"))
}

/// The limit for a `/proc/self/cgroup` text, reading files under `root`. The
/// process's own cgroup is tried first, then the root of the mount (inside a
/// container's cgroup namespace, its cgroup is the mount's root).
pub fn limit_from(membership: &str, root: &Path) -> Option<MemoryLimit> {
    let mut candidates = Vec::new();
    for line in membership.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let relative = path.trim_start_matches('/');
        if controllers.is_empty() {
            // v2: the unified hierarchy.
            candidates.push(root.join(relative).join("memory.max"));
            candidates.push(root.join("memory.max"));
        } else if controllers.split(',').any(|c| c == "memory") {
            let memory = root.join("memory");
            candidates.push(memory.join(relative).join("memory.limit_in_bytes"));
            candidates.push(memory.join("memory.limit_in_bytes"));
        }
    }
    // The first file that exists decides ("max" or a huge number: no limit).
    let (file, text) = candidates
        .into_iter()
        .find_map(|file| std::fs::read_to_string(&file).ok().map(|text| (file, text)))?;
    let bytes = text.trim().parse::<u64>().ok()?;
    (bytes < UNLIMITED_FROM).then_some(MemoryLimit {
        bytes,
        source: file,
    })
}

/// One model's share: its weights and its reserved working memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub model: &'static str,
    pub weights: u64,
    pub working: u64,
    pub concurrency: u64,
}

impl Share {
    pub fn bytes(&self) -> u64 {
        self.weights
            .saturating_add(self.working.saturating_mul(self.concurrency))
    }
}

/// What the declared models need: the overhead plus every model's share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub overhead: u64,
    pub shares: Vec<Share>,
}

impl Need {
    /// `concurrency` says how many requests of a model run at once.
    pub fn of(models: &[&'static ModelEntry], concurrency: impl Fn(Task) -> usize) -> Self {
        Self {
            overhead: RUNTIME_OVERHEAD_BYTES,
            shares: models
                .iter()
                .map(|m| Share {
                    model: m.id,
                    weights: m.footprint_bytes,
                    working: m.working_bytes,
                    concurrency: concurrency(m.task) as u64,
                })
                .collect(),
        }
    }

    pub fn total(&self) -> u64 {
        self.shares
            .iter()
            .fold(self.overhead, |sum, s| sum.saturating_add(s.bytes()))
    }
}

/// The declared models do not fit in the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Shortfall {
    pub limit: MemoryLimit,
    pub need: Need,
}

impl fmt::Display for Shortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = |b: u64| b.div_ceil(MIB);
        let total = self.need.total();
        write!(
            f,
            "memory limit {} MiB ({}) is {} MiB short: the declared models need {} MiB = overhead {}",
            mib(self.limit.bytes),
            self.limit.source.display(),
            mib(total.saturating_sub(self.limit.bytes)),
            mib(total),
            mib(self.need.overhead),
        )?;
        for s in &self.need.shares {
            write!(
                f,
                " + {} {} (weights) + {} x {} (working)",
                s.model,
                mib(s.weights),
                s.concurrency,
                mib(s.working)
            )?;
        }
        write!(
            f,
            " MiB; raise the limit (the operator sizes it from the catalog) or declare fewer models"
        )
    }
}

/// `Err` when `need` is more than `limit`; no limit always fits.
pub fn check(limit: Option<MemoryLimit>, need: Need) -> Result<(), Box<Shortfall>> {
    match limit {
        Some(limit) if need.total() > limit.bytes => Err(Box::new(Shortfall { limit, need })),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hermes_interface::catalog;

    fn temp_root(name: &str) -> PathBuf {
        let root =
            std::env::temp_dir().join(format!("hermes-cgroup-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        root
    }

    fn write(path: PathBuf, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn reads_v2_memory_max_of_the_process_cgroup() {
        let root = temp_root("v2");
        write(root.join("kubepods/pod1/memory.max"), "939524096\n");
        let limit = limit_from("0::/kubepods/pod1\n", &root).unwrap();
        assert_eq!(limit.bytes, 939_524_096);
        assert!(limit.source.ends_with("kubepods/pod1/memory.max"));
        // Its own "max" is no limit, whatever the mount's root says.
        write(root.join("memory.max"), "1048576\n");
        write(root.join("kubepods/pod1/memory.max"), "max\n");
        assert_eq!(limit_from("0::/kubepods/pod1\n", &root), None);
        // In a container's namespace the process sees its cgroup as the root.
        assert_eq!(limit_from("0::/\n", &root).unwrap().bytes, 1_048_576);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn reads_v1_limit_in_bytes_and_treats_huge_as_unlimited() {
        let root = temp_root("v1");
        // In a container's namespace the process sees its cgroup as the root.
        write(root.join("memory/memory.limit_in_bytes"), "536870912\n");
        let membership = "12:cpu,cpuacct:/\n4:memory:/hermes-test\n0::/\n";
        assert_eq!(limit_from(membership, &root).unwrap().bytes, 536_870_912);
        write(
            root.join("memory/memory.limit_in_bytes"),
            "9223372036854771712\n",
        );
        assert_eq!(limit_from(membership, &root), None);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn models_that_do_not_fit_name_the_shortfall() {
        let models: Vec<&'static ModelEntry> = ["all-minilm-l6-v2", "whisper-tiny-en"]
            .iter()
            .map(|id| catalog::find(id).unwrap())
            .collect();
        let need = Need::of(&models, |t| if t == Task::Embedding { 2 } else { 1 });
        let total = need.total();
        let at = |bytes| {
            Some(MemoryLimit {
                bytes,
                source: PathBuf::from("/sys/fs/cgroup/memory.max"),
            })
        };
        assert!(check(at(total), need.clone()).is_ok());
        assert!(check(None, need.clone()).is_ok());
        let short = check(at(total - 10 * MIB), need).unwrap_err();
        let line = short.to_string();
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains("is 10 MiB short"), "{line}");
        let weights = models[0].footprint_bytes / MIB;
        assert!(
            line.contains(&format!("all-minilm-l6-v2 {weights} (weights) + 2 x")),
            "{line}"
        );
        assert!(line.contains("/sys/fs/cgroup/memory.max"), "{line}");
    }
}
