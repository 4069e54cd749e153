//! One daemon per data root: an exclusive `flock` on `<data-root>/wharfd.lock`, released by the
//! kernel when the process dies (so a SIGKILL never blocks a restart), and the PID file.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use rustix::fs::{flock, FlockOperation};

/// Held for the daemon's lifetime.
pub struct DataRootLock {
    _file: File,
}

impl DataRootLock {
    /// Takes the lock or says which daemon holds it.
    pub fn acquire(data_root: &Path) -> anyhow::Result<DataRootLock> {
        let path = data_root.join("wharfd.lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        if let Err(e) = flock(&file, FlockOperation::NonBlockingLockExclusive) {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            let holder = holder.trim();
            if e == rustix::io::Errno::WOULDBLOCK {
                bail!(
                    "another wharfd{} is already using data root {}: stop it first, or choose another --data-root",
                    if holder.is_empty() { String::new() } else { format!(" (pid {holder})") },
                    data_root.display()
                );
            }
            return Err(e).with_context(|| format!("locking {}", path.display()));
        }
        file.set_len(0)?;
        write!(file, "{}", std::process::id())?;
        file.sync_all()?;
        Ok(DataRootLock { _file: file })
    }
}

/// The PID file, removed on drop.
pub struct PidFile {
    path: PathBuf,
}

impl PidFile {
    /// Writes our PID to `path` atomically. A PID file naming another live wharfd is refused; one
    /// left by a dead process (or a reused PID of something else) is replaced.
    pub fn create(path: &Path) -> anyhow::Result<PidFile> {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(pid) = text.trim().parse::<u32>() {
                if pid != std::process::id() && is_wharfd(pid) {
                    bail!(
                        "pid file found, ensure wharfd is not running or delete {} (pid {pid} is a running wharfd)",
                        path.display()
                    );
                }
            }
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        wharf_fs::write_atomic(path, format!("{}\n", std::process::id()).as_bytes(), 0o644)
            .with_context(|| format!("writing pid file {}", path.display()))?;
        Ok(PidFile { path: path.to_path_buf() })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether `pid` is a live wharfd: its name says so and it is not a zombie (a killed daemon
/// whose parent has not reaped it yet is dead).
fn is_wharfd(pid: u32) -> bool {
    let named = std::fs::read_to_string(format!("/proc/{pid}/comm")).map(|c| c.trim() == "wharfd").unwrap_or(false);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()).unwrap_or("");
    named && !matches!(state, "Z" | "X" | "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_root_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataRootLock::acquire(dir.path()).unwrap();
        let err = DataRootLock::acquire(dir.path()).err().unwrap().to_string();
        assert!(err.contains("already using data root"), "{err}");
        assert!(err.contains(&std::process::id().to_string()), "{err}");
        drop(first);
        DataRootLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn a_stale_pid_file_is_replaced_and_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/wharfd.pid");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "999999999\n").unwrap();
        let pf = PidFile::create(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), std::process::id().to_string());
        drop(pf);
        assert!(!path.exists());
    }
}
