//! Filesystem helpers over the snapshotter's own directories: atomic metadata writes, the vfs
//! tree copy (ownership, modes, times, xattrs, symlinks, hard links, devices) and disk usage.
//!
//! Paths here are under the snapshotter's root. Trees are walked with `lstat` and never through
//! a symlink, so a layer's symlinks cannot lead a copy or a measure outside its tree.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, Timespec, Timestamps, XattrFlags, CWD};

use crate::error::{IoContext, Result};
use crate::snapshotter::Usage;

/// Writes `bytes` to `path` atomically and durably (wharf-fs: temp file → fsync → rename → fsync
/// of the directory).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    wharf_fs::write_atomic(path, bytes, 0o600)
        .map_err(|e| crate::error::Error::io("write atomically", path, std::io::Error::other(e)))
}

/// fsyncs a directory so that entries created, renamed or removed in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).ctx("fsync", dir)
}

/// Removes `path` and everything below it; a missing path is not an error.
pub(crate) fn remove_all(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r.ctx("remove", path),
    }
}

/// Copies the tree at `src` to `dst` (which must not exist), preserving ownership, modes,
/// timestamps, extended attributes, symlinks, device nodes, FIFOs and hard links within the tree.
pub(crate) fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(src).ctx("stat", src)?;
    let mut links = HashMap::new();
    copy_entry(src, dst, &meta, &mut links)
}

fn copy_entry(src: &Path, dst: &Path, meta: &fs::Metadata, links: &mut HashMap<(u64, u64), PathBuf>) -> Result<()> {
    let ft = meta.file_type();
    if !ft.is_dir() && meta.nlink() > 1 {
        let id = (meta.dev(), meta.ino());
        if let Some(first) = links.get(&id) {
            return fs::hard_link(first, dst).ctx("link", dst);
        }
        links.insert(id, dst.to_path_buf());
    }
    if ft.is_dir() {
        fs::create_dir(dst).ctx("create dir", dst)?;
        // Owner-writable while filling it, whatever the final mode.
        fs::set_permissions(dst, fs::Permissions::from_mode(0o700)).ctx("chmod", dst)?;
        for entry in fs::read_dir(src).ctx("read dir", src)? {
            let entry = entry.ctx("read dir", src)?;
            let child_meta = entry.metadata().ctx("stat", entry.path())?;
            copy_entry(&entry.path(), &dst.join(entry.file_name()), &child_meta, links)?;
        }
    } else if ft.is_file() {
        let mut from = File::open(src).ctx("open", src)?;
        let mut to = OpenOptions::new().write(true).create_new(true).mode(0o600).open(dst).ctx("create", dst)?;
        io::copy(&mut from, &mut to).ctx("copy", dst)?;
    } else if ft.is_symlink() {
        let target = fs::read_link(src).ctx("readlink", src)?;
        std::os::unix::fs::symlink(&target, dst).ctx("symlink", dst)?;
    } else {
        // Character and block devices, FIFOs, sockets.
        let file_type = FileType::from_raw_mode(meta.mode());
        rustix::fs::mknodat(CWD, dst, file_type, Mode::from_raw_mode(0o600), meta.rdev()).ctx("mknod", dst)?;
    }
    copy_attributes(src, dst, meta)
}

/// Ownership, then mode (a chown clears set-id bits), then xattrs (a chown clears file
/// capabilities), then times (last, since everything else changes ctime/mtime of dirs).
fn copy_attributes(src: &Path, dst: &Path, meta: &fs::Metadata) -> Result<()> {
    let is_symlink = meta.file_type().is_symlink();
    rustix::fs::chownat(
        CWD,
        dst,
        Some(rustix::fs::Uid::from_raw(meta.uid())),
        Some(rustix::fs::Gid::from_raw(meta.gid())),
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .ctx("chown", dst)?;
    if !is_symlink {
        fs::set_permissions(dst, fs::Permissions::from_mode(meta.mode() & 0o7777)).ctx("chmod", dst)?;
    }
    copy_xattrs(src, dst)?;
    let times = Timestamps {
        last_access: Timespec { tv_sec: meta.atime(), tv_nsec: meta.atime_nsec() as _ },
        last_modification: Timespec { tv_sec: meta.mtime(), tv_nsec: meta.mtime_nsec() as _ },
    };
    rustix::fs::utimensat(CWD, dst, &times, AtFlags::SYMLINK_NOFOLLOW).ctx("set times", dst)
}

fn copy_xattrs(src: &Path, dst: &Path) -> Result<()> {
    let len = match rustix::fs::llistxattr_query(src) {
        Ok(0) => return Ok(()),
        Ok(n) => n,
        Err(rustix::io::Errno::NOTSUP) => return Ok(()),
        Err(e) => return Err(e).ctx("list xattrs", src),
    };
    let mut names = vec![0u8; len];
    let len = rustix::fs::llistxattr(src, &mut names[..]).ctx("list xattrs", src)?;
    for name in names[..len].split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = OsStr::from_bytes(name);
        let size = match rustix::fs::lgetxattr_query(src, name) {
            Ok(n) => n,
            // Gone since the list (or not readable by design, like some `system.` names).
            Err(rustix::io::Errno::NODATA) => continue,
            Err(e) => return Err(e).ctx("get xattr", src),
        };
        let mut value = vec![0u8; size];
        let size = rustix::fs::lgetxattr(src, name, &mut value[..]).ctx("get xattr", src)?;
        rustix::fs::lsetxattr(dst, name, &value[..size], XattrFlags::empty()).ctx("set xattr", dst)?;
    }
    Ok(())
}

/// Disk use of the tree at `path`: allocated bytes (hard links once) and inodes, the root
/// included. A missing path measures zero.
pub(crate) fn disk_usage(path: &Path) -> Result<Usage> {
    let mut usage = Usage::default();
    let mut seen = HashSet::new();
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(usage),
        Err(e) => return Err(e).ctx("stat", path),
    };
    measure(path, &meta, &mut usage, &mut seen)?;
    Ok(usage)
}

fn measure(path: &Path, meta: &fs::Metadata, usage: &mut Usage, seen: &mut HashSet<(u64, u64)>) -> Result<()> {
    if seen.insert((meta.dev(), meta.ino())) {
        usage.inodes += 1;
        usage.size += meta.blocks() * 512;
    }
    if meta.file_type().is_dir() {
        for entry in fs::read_dir(path).ctx("read dir", path)? {
            let entry = entry.ctx("read dir", path)?;
            let child = entry.metadata().ctx("stat", entry.path())?;
            measure(&entry.path(), &child, usage, seen)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("meta.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert!(!dir.path().join("meta.json.tmp").exists());
    }

    #[test]
    fn copy_preserves_modes_symlinks_hardlinks_and_times() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("d/e")).unwrap();
        fs::write(src.join("d/f"), b"hello").unwrap();
        fs::set_permissions(src.join("d/f"), fs::Permissions::from_mode(0o4751)).unwrap();
        fs::hard_link(src.join("d/f"), src.join("g")).unwrap();
        std::os::unix::fs::symlink("d/f", src.join("s")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", src.join("abs")).unwrap();
        fs::set_permissions(src.join("d/e"), fs::Permissions::from_mode(0o500)).unwrap();
        let old = Timestamps {
            last_access: Timespec { tv_sec: 1_000_000, tv_nsec: 5 },
            last_modification: Timespec { tv_sec: 2_000_000, tv_nsec: 7 },
        };
        rustix::fs::utimensat(CWD, src.join("d"), &old, AtFlags::empty()).unwrap();
        rustix::fs::utimensat(CWD, src.join("s"), &old, AtFlags::SYMLINK_NOFOLLOW).unwrap();
        rustix::fs::lsetxattr(src.join("d/f"), "user.k", b"v", XattrFlags::empty()).ok();

        let dst = dir.path().join("dst");
        copy_tree(&src, &dst).unwrap();

        assert_eq!(fs::read(dst.join("d/f")).unwrap(), b"hello");
        let f = fs::symlink_metadata(dst.join("d/f")).unwrap();
        assert_eq!(f.mode() & 0o7777, 0o4751);
        assert_eq!(f.nlink(), 2);
        assert_eq!(f.ino(), fs::symlink_metadata(dst.join("g")).unwrap().ino());
        assert_eq!(fs::read_link(dst.join("s")).unwrap(), Path::new("d/f"));
        assert_eq!(fs::read_link(dst.join("abs")).unwrap(), Path::new("/etc/passwd"));
        assert_eq!(fs::symlink_metadata(dst.join("s")).unwrap().mtime(), 2_000_000);
        let d = fs::symlink_metadata(dst.join("d")).unwrap();
        assert_eq!((d.mtime(), d.mtime_nsec()), (2_000_000, 7));
        assert_eq!(fs::symlink_metadata(dst.join("d/e")).unwrap().mode() & 0o7777, 0o500);
        if rustix::fs::lgetxattr_query(src.join("d/f"), "user.k").is_ok() {
            let mut v = [0u8; 8];
            let n = rustix::fs::lgetxattr(dst.join("d/f"), "user.k", &mut v[..]).unwrap();
            assert_eq!(&v[..n], b"v");
        }
        // Make the tree removable again.
        fs::set_permissions(src.join("d/e"), fs::Permissions::from_mode(0o700)).unwrap();
        fs::set_permissions(dst.join("d/e"), fs::Permissions::from_mode(0o700)).unwrap();
    }

    #[test]
    fn usage_counts_hard_links_once() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a"), vec![1u8; 64 * 1024]).unwrap();
        fs::hard_link(dir.path().join("a"), dir.path().join("b")).unwrap();
        let u = disk_usage(dir.path()).unwrap();
        assert_eq!(u.inodes, 2);
        assert!(u.size >= 64 * 1024 && u.size < 3 * 64 * 1024, "{u:?}");
        assert_eq!(disk_usage(&dir.path().join("missing")).unwrap(), Usage::default());
    }
}
