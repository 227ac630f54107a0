//! A child process that is killed when dropped, and by the kernel when the test process
//! dies (PR_SET_PDEATHSIG), with its output in files for failure messages.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct Process {
    child: Child,
    pub log: PathBuf,
}

impl Process {
    /// Spawns `cmd` with stdout to `log` and stderr to `log.stderr`.
    pub fn spawn(mut cmd: Command, log: &Path) -> Process {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(File::create(log).expect("log file")))
            .stderr(Stdio::from(
                File::create(log.with_extension("stderr")).expect("stderr file"),
            ));
        // SAFETY: prctl in the child before exec; async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        Process {
            child,
            log: log.to_path_buf(),
        }
    }

    /// Whether it already exited (with its status).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL now (a crash, as opposed to a shutdown), and reap it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn logs(&self) -> String {
        let out = std::fs::read_to_string(&self.log).unwrap_or_default();
        let err = std::fs::read_to_string(self.log.with_extension("stderr")).unwrap_or_default();
        let tail = |s: &str| {
            let lines: Vec<&str> = s.lines().collect();
            lines[lines.len().saturating_sub(40)..].join("\n")
        };
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            tail(&out),
            tail(&err)
        )
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
