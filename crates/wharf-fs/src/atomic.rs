//! Atomic file replacement: a temporary file in the same directory, written, fsynced, renamed
//! over the target, and the directory fsynced, so a crash leaves either the old or the new
//! content, never a torn file.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, CWD};
use rustix::io::Errno;

use crate::error::{FsError, Result};

/// Replaces the file at `path` (a trusted host path, e.g. under the data root) with `bytes` and
/// permission `mode` (the umask does not apply). The parent directory must exist.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8], mode: u32) -> Result<()> {
    let path = path.as_ref();
    let name = path.file_name().ok_or(FsError::InvalidPath { path: path.to_path_buf(), reason: "no file name" })?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = rfs::openat(CWD, parent, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| FsError::io("open", parent, e))?;
    write_atomic_at(dir.as_fd(), name, path, bytes, mode)
}

/// Replaces the file at `path` with `bytes` and `mode` atomically for readers and for a crash
/// of this process (temp file + rename) but without fsync: for state that is rebuilt at each
/// container start or lives in the exec root (tmpfs in practice), where a machine crash takes
/// the containers too and durability buys nothing but latency.
pub fn replace_file(path: impl AsRef<Path>, bytes: &[u8], mode: u32) -> Result<()> {
    let path = path.as_ref();
    let name = path.file_name().ok_or(FsError::InvalidPath { path: path.to_path_buf(), reason: "no file name" })?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = rfs::openat(CWD, parent, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| FsError::io("open", parent, e))?;
    let dir = dir.as_fd();
    let (tmp, fd) = create_temp(dir, name).map_err(|e| FsError::io("create temporary file for", path, e))?;
    let result = (|| {
        let mut file = std::fs::File::from(fd);
        file.write_all(bytes).map_err(|e| FsError::io("write", path, e))?;
        rfs::fchmod(&file, Mode::from_raw_mode(mode & 0o7777)).map_err(|e| FsError::io("chmod", path, e))?;
        drop(file);
        rfs::renameat(dir, &tmp, dir, name).map_err(|e| FsError::io("rename", path, e))
    })();
    if result.is_err() {
        let _ = rfs::unlinkat(dir, &tmp, AtFlags::empty());
    }
    result
}

/// [`write_atomic`] relative to an open directory (`O_RDONLY`, so it can be fsynced).
pub(crate) fn write_atomic_at(dir: BorrowedFd<'_>, name: &OsStr, shown: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let (tmp, fd) = create_temp(dir, name).map_err(|e| FsError::io("create temporary file for", shown, e))?;
    let result = (|| {
        let mut file = std::fs::File::from(fd);
        file.write_all(bytes).map_err(|e| FsError::io("write", shown, e))?;
        rfs::fchmod(&file, Mode::from_raw_mode(mode & 0o7777)).map_err(|e| FsError::io("chmod", shown, e))?;
        rfs::fsync(&file).map_err(|e| FsError::io("fsync", shown, e))?;
        drop(file);
        rfs::renameat(dir, &tmp, dir, name).map_err(|e| FsError::io("rename", shown, e))?;
        rfs::fsync(dir).map_err(|e| FsError::io("fsync directory of", shown, e))
    })();
    if result.is_err() {
        let _ = rfs::unlinkat(dir, &tmp, AtFlags::empty());
    }
    result
}

fn create_temp(dir: BorrowedFd<'_>, name: &OsStr) -> std::result::Result<(OsString, rustix::fd::OwnedFd), Errno> {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let pid = rustix::process::getpid().as_raw_nonzero().get();
    // Keep the temporary name within NAME_MAX whatever the target's length.
    let stem: Vec<u8> = name.as_bytes().iter().copied().take(200).collect();
    for attempt in 0u32..64 {
        let mut tmp = b".".to_vec();
        tmp.extend_from_slice(&stem);
        tmp.extend_from_slice(format!(".tmp-{pid}-{:x}", nanos.wrapping_add(attempt.wrapping_mul(7919))).as_bytes());
        let tmp = OsStr::from_bytes(&tmp).to_os_string();
        match rfs::openat(
            dir,
            &tmp,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        ) {
            Ok(fd) => return Ok((tmp, fd)),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Errno::EXIST)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_content_and_mode_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state.json");
        write_atomic(&p, b"one", 0o600).unwrap();
        write_atomic(&p, b"two", 0o640).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777, 0o640);
        let names: Vec<_> = std::fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["state.json"]);
    }

    #[test]
    fn missing_parent_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        assert!(write_atomic(d.path().join("nope/x"), b"", 0o600).is_err());
    }

    #[test]
    fn rooted_write_atomic_stays_inside() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("root")).unwrap();
        std::fs::create_dir(d.path().join("outside")).unwrap();
        std::os::unix::fs::symlink("../outside", d.path().join("root/link")).unwrap();
        let root = crate::Root::new(d.path().join("root")).unwrap();
        // `link` resolves to `<root>/outside`, which does not exist inside the root.
        assert!(root.write_atomic("link/f", b"x", 0o644).is_err());
        std::fs::create_dir(d.path().join("root/outside")).unwrap();
        root.write_atomic("link/f", b"x", 0o644).unwrap();
        assert_eq!(std::fs::read(d.path().join("root/outside/f")).unwrap(), b"x");
        assert!(!d.path().join("outside/f").exists());
    }

    #[test]
    fn replace_file_replaces_without_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        replace_file(&p, b"one", 0o644).unwrap();
        replace_file(&p, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
