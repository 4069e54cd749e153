//! An advisory lock on the directory of a log file, so that a reader never lists the files of
//! a log while the writer (another process: the shim) is renaming them.
//!
//! The writer holds it exclusively while it rotates (a few renames); a reader holds it shared
//! while it opens the current and rotated files. It is best effort: when the lock cannot be had
//! within a short wait (another program holding it, a file system without `flock`) both sides go
//! on without it, and the reader's own consistency checks (inode of the current file unchanged
//! while it listed) still apply.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::fs::{flock, FlockOperation};

/// How long to try for the lock before going on without it.
const WAIT: Duration = Duration::from_secs(2);

/// A held lock (released when dropped), or nothing when it could not be had.
pub(crate) struct DirLock {
    _dir: Option<File>,
}

impl DirLock {
    /// Locks the directory holding `path`, shared or exclusive.
    pub(crate) fn acquire(path: &Path, exclusive: bool) -> DirLock {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let Ok(file) = File::open(dir) else { return DirLock { _dir: None } };
        let op =
            if exclusive { FlockOperation::NonBlockingLockExclusive } else { FlockOperation::NonBlockingLockShared };
        let deadline = Instant::now() + WAIT;
        loop {
            match flock(&file, op) {
                Ok(()) => return DirLock { _dir: Some(file) },
                Err(rustix::io::Errno::WOULDBLOCK | rustix::io::Errno::INTR) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(_) => return DirLock { _dir: None },
            }
        }
    }
}
