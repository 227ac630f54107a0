//! A real memory cgroup for one test: v1 (`/sys/fs/cgroup/memory`) or v2 (the unified
//! hierarchy), with a hard limit and no swap; processes join it through a shell that
//! writes its pid into `cgroup.procs` before it execs. Removed on drop.

use std::path::{Path, PathBuf};
use std::process::Command;

const V1_ROOT: &str = "/sys/fs/cgroup/memory";
const V2_ROOT: &str = "/sys/fs/cgroup";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

pub struct MemoryCgroup {
    pub dir: PathBuf,
    pub version: Version,
}

impl MemoryCgroup {
    /// A new cgroup limited to `limit` bytes, or why none can be made here (the
    /// test's skip message).
    pub fn create(name: &str, limit: u64) -> Result<MemoryCgroup, String> {
        let leaf = format!("{name}-{}", std::process::id());
        let v2 = Path::new(V2_ROOT).join("cgroup.controllers");
        let attempts = [
            (Version::V1, Path::new(V1_ROOT).join(&leaf)),
            (Version::V2, Path::new(V2_ROOT).join(&leaf)),
        ];
        let mut reasons = Vec::new();
        for (version, dir) in attempts {
            if version == Version::V1 && !Path::new(V1_ROOT).join("memory.limit_in_bytes").is_file()
            {
                reasons.push(format!("no cgroup v1 memory controller at {V1_ROOT}"));
                continue;
            }
            if version == Version::V2
                && !std::fs::read_to_string(&v2)
                    .is_ok_and(|c| c.split_whitespace().any(|c| c == "memory"))
            {
                reasons.push(format!("no cgroup v2 memory controller at {V2_ROOT}"));
                continue;
            }
            let _ = std::fs::remove_dir(&dir);
            if let Err(e) = std::fs::create_dir(&dir) {
                reasons.push(format!("cannot create {}: {e}", dir.display()));
                continue;
            }
            let cgroup = MemoryCgroup { dir, version };
            match cgroup.limit(limit) {
                Ok(()) => return Ok(cgroup),
                Err(e) => reasons.push(e),
            }
        }
        Err(reasons.join("; "))
    }

    fn write(&self, file: &str, value: &str) -> Result<(), String> {
        std::fs::write(self.dir.join(file), value)
            .map_err(|e| format!("cannot write {value} to {}/{file}: {e}", self.dir.display()))
    }

    fn limit(&self, limit: u64) -> Result<(), String> {
        match self.version {
            Version::V1 => {
                self.write("memory.limit_in_bytes", &limit.to_string())?;
                // Swap (when the kernel accounts it) may not stretch the limit.
                if self.dir.join("memory.memsw.limit_in_bytes").is_file() {
                    self.write("memory.memsw.limit_in_bytes", &limit.to_string())?;
                }
                Ok(())
            }
            Version::V2 => {
                self.write("memory.max", &limit.to_string())?;
                if self.dir.join("memory.swap.max").is_file() {
                    self.write("memory.swap.max", "0")?;
                }
                Ok(())
            }
        }
    }

    /// `program args...` run inside the cgroup (a shell joins it, then execs).
    pub fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg("echo $$ > \"$0/cgroup.procs\" && exec \"$1\"")
            .arg(&self.dir)
            .arg(program);
        cmd
    }

    /// Processes the kernel's OOM killer killed in this cgroup.
    pub fn oom_kills(&self) -> u64 {
        let (file, key) = match self.version {
            Version::V1 => ("memory.oom_control", "oom_kill"),
            Version::V2 => ("memory.events", "oom_kill"),
        };
        std::fs::read_to_string(self.dir.join(file))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Peak memory the cgroup used (v1 `max_usage_in_bytes`, v2 `memory.peak`), when known.
    pub fn peak_bytes(&self) -> Option<u64> {
        let file = match self.version {
            Version::V1 => "memory.max_usage_in_bytes",
            Version::V2 => "memory.peak",
        };
        std::fs::read_to_string(self.dir.join(file))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for MemoryCgroup {
    fn drop(&mut self) {
        // Empty once its processes are gone (the caller drops them first).
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}
