//! Copy-up (Docker's `CopyImagePathContent`: a fresh volume mounted over a path of the image
//! starts with the image's content there) and the size walk of `docker system df`.
//!
//! Both go through `wharf_fs::Root`, so every path is resolved inside its tree: a symlink in
//! the image is copied as a symlink and never followed, and nothing outside `src` is read.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use wharf_fs::{FileKind, FsError, Metadata, NodeKind, Root};

use crate::error::{Result, VolumeError};

/// Copies the tree at `src` (a directory in a container's root file system, already resolved
/// by the caller) into the volume directory `dst`, if `dst` is empty, as dockerd does when a
/// fresh volume is mounted over a non-empty image directory: regular files, directories,
/// symlinks (copied as links, never followed), hard links within the tree (kept as links),
/// device nodes and fifos, each with its mode (setuid/setgid/sticky included), owner, times and
/// extended attributes; `dst` itself takes `src`'s mode, owner, times and xattrs. Sockets are
/// skipped, as Docker's copy skips them.
///
/// Returns whether it copied: `false` when `src` does not exist or is not a directory (a
/// symlink at `src` itself counts as not a directory), or when `dst` is not empty. An empty
/// `src` still gives `dst` its mode and owner (Docker's `copyOwnership`), and returns `true`.
pub fn copy_up(src: &Path, dst: &Path) -> Result<bool> {
    let top = match std::fs::symlink_metadata(src) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(VolumeError::io(format!("stat {}", src.display()), e)),
    };
    if !top.is_dir() {
        return Ok(false);
    }
    let to = Root::new(dst)?;
    if !to.read_dir("")?.is_empty() {
        return Ok(false);
    }
    let from = Root::new(src)?;
    let mut links: HashMap<(u64, u64), PathBuf> = HashMap::new();
    copy_children(&from, &to, Path::new(""), &mut links)?;
    let meta = from.metadata("")?;
    finish(&from, &to, Path::new(""), &meta)?;
    Ok(true)
}

fn copy_children(from: &Root, to: &Root, dir: &Path, links: &mut HashMap<(u64, u64), PathBuf>) -> Result<()> {
    for name in from.read_dir(dir)? {
        let rel = dir.join(&name);
        let m = from.metadata(&rel)?;
        if m.kind != FileKind::Dir && m.nlink > 1 {
            if let Some(first) = links.get(&(m.dev, m.ino)) {
                to.hard_link(first, &rel)?;
                continue;
            }
        }
        match m.kind {
            FileKind::Dir => {
                to.mkdir_all(&rel, 0o700)?;
                copy_children(from, to, &rel, links)?;
            }
            FileKind::Regular => {
                let mut r = from.open(&rel)?;
                let mut w = to.create_file(&rel, 0o600)?;
                io::copy(&mut r, &mut w).map_err(|e| VolumeError::io(format!("copy {}", rel.display()), e))?;
            }
            FileKind::Symlink => to.symlink(from.read_link(&rel)?, &rel)?,
            FileKind::CharDevice => to.mknod(&rel, NodeKind::Char, m.mode, m.rdev)?,
            FileKind::BlockDevice => to.mknod(&rel, NodeKind::Block, m.mode, m.rdev)?,
            FileKind::Fifo => to.mknod(&rel, NodeKind::Fifo, m.mode, (0, 0))?,
            FileKind::Socket => {
                tracing::debug!(path = %rel.display(), "copy-up skips a socket");
                continue;
            }
        }
        finish(from, to, &rel, &m)?;
        if m.kind != FileKind::Dir && m.nlink > 1 {
            links.insert((m.dev, m.ino), rel);
        }
    }
    Ok(())
}

/// Owner, then mode (a chown clears setuid bits), then xattrs, then times (last, so nothing
/// changes them afterwards; a directory's after its children).
fn finish(from: &Root, to: &Root, rel: &Path, m: &Metadata) -> Result<()> {
    to.set_owner(rel, m.uid, m.gid)?;
    if m.kind != FileKind::Symlink {
        to.set_mode(rel, m.mode)?;
    }
    match from.xattrs(rel) {
        Ok(attrs) => {
            for (k, v) in attrs {
                if let Err(e) = to.set_xattr(rel, &k, &v) {
                    // Symlinks cannot carry `user.` attributes; a destination without xattr
                    // support loses them, as with Docker.
                    if m.kind == FileKind::Symlink || errno(&e) == Some(libc_enotsup()) {
                        tracing::debug!(path = %rel.display(), "copy-up drops xattr {k:?}: {e}");
                    } else {
                        return Err(e.into());
                    }
                }
            }
        }
        Err(e) if m.kind == FileKind::Symlink => tracing::debug!(path = %rel.display(), "copy-up: {e}"),
        Err(e) => return Err(e.into()),
    }
    to.set_times(rel, m.atime, m.mtime)?;
    Ok(())
}

fn errno(e: &FsError) -> Option<i32> {
    match e {
        FsError::Io { source, .. } => source.raw_os_error(),
        _ => None,
    }
}

fn libc_enotsup() -> i32 {
    rustix::io::Errno::NOTSUP.raw_os_error()
}

/// The size of a volume's data as dockerd's `directory.Size`: the apparent sizes of
/// everything but directories, each inode counted once (hard links), symlinks not followed.
pub fn dir_size(dir: &Path) -> Result<u64> {
    let root = Root::new(dir)?;
    let mut seen: std::collections::HashSet<(u64, u64)> = std::collections::HashSet::new();
    let mut total = 0u64;
    let mut stack: Vec<PathBuf> = vec![PathBuf::new()];
    while let Some(d) = stack.pop() {
        for name in root.read_dir(&d)? {
            let rel = d.join(name);
            let m = match root.metadata(&rel) {
                Ok(m) => m,
                Err(FsError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            if m.kind == FileKind::Dir {
                stack.push(rel);
            } else if m.size > 0 && seen.insert((m.dev, m.ino)) {
                total += m.size;
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn is_root() -> bool {
        rustix::process::geteuid().is_root()
    }

    #[test]
    fn copies_a_tree_faithfully_without_following_symlinks() {
        let t = tempfile::tempdir().unwrap();
        let (src, dst) = (t.path().join("src"), t.path().join("dst"));
        std::fs::create_dir_all(src.join("sub/deep")).unwrap();
        std::fs::create_dir(&dst).unwrap();
        std::fs::write(src.join("file"), b"hello").unwrap();
        std::fs::set_permissions(src.join("file"), std::fs::Permissions::from_mode(0o4751)).unwrap();
        std::fs::write(src.join("sub/deep/inner"), b"x".repeat(5000)).unwrap();
        std::fs::hard_link(src.join("file"), src.join("sub/hard")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", src.join("passwd")).unwrap();
        std::os::unix::fs::symlink("../file", src.join("sub/rel")).unwrap();
        std::fs::set_permissions(src.join("sub"), std::fs::Permissions::from_mode(0o1777)).unwrap();
        std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o750)).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            src.join("fifo"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o640),
            0,
        )
        .unwrap();
        let _ = rustix::fs::setxattr(src.join("file"), "user.note", b"kept", rustix::fs::XattrFlags::empty());
        let old = rustix::fs::Timestamps {
            last_access: rustix::fs::Timespec { tv_sec: 1_000_000, tv_nsec: 0 },
            last_modification: rustix::fs::Timespec { tv_sec: 1_234_567, tv_nsec: 890 },
        };
        rustix::fs::utimensat(rustix::fs::CWD, src.join("sub/deep/inner"), &old, rustix::fs::AtFlags::empty()).unwrap();
        rustix::fs::utimensat(rustix::fs::CWD, src.join("sub"), &old, rustix::fs::AtFlags::empty()).unwrap();
        if is_root() {
            rustix::fs::chownat(
                rustix::fs::CWD,
                src.join("sub/deep/inner"),
                Some(rustix::fs::Uid::from_raw(1234)),
                Some(rustix::fs::Gid::from_raw(5678)),
                rustix::fs::AtFlags::empty(),
            )
            .unwrap();
            rustix::fs::chownat(
                rustix::fs::CWD,
                src.join("passwd"),
                Some(rustix::fs::Uid::from_raw(42)),
                Some(rustix::fs::Gid::from_raw(43)),
                rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
            )
            .unwrap();
            rustix::fs::chownat(
                rustix::fs::CWD,
                &src,
                Some(rustix::fs::Uid::from_raw(1000)),
                Some(rustix::fs::Gid::from_raw(1001)),
                rustix::fs::AtFlags::empty(),
            )
            .unwrap();
            rustix::fs::chmod(&src, rustix::fs::Mode::from_raw_mode(0o750)).unwrap();
            rustix::fs::chmod(src.join("file"), rustix::fs::Mode::from_raw_mode(0o4751)).unwrap();
        }

        assert!(copy_up(&src, &dst).unwrap());

        assert_eq!(std::fs::read(dst.join("file")).unwrap(), b"hello");
        assert_eq!(std::fs::read(dst.join("sub/deep/inner")).unwrap().len(), 5000);
        let md = |p: &str| std::fs::symlink_metadata(dst.join(p)).unwrap();
        assert_eq!(md("file").mode() & 0o7777, 0o4751);
        assert_eq!(md("sub").mode() & 0o7777, 0o1777);
        assert_eq!(std::fs::metadata(&dst).unwrap().mode() & 0o7777, 0o750);
        // The symlink to /etc/passwd is a symlink, not a copy of the host's file.
        assert!(md("passwd").file_type().is_symlink());
        assert_eq!(std::fs::read_link(dst.join("passwd")).unwrap(), Path::new("/etc/passwd"));
        assert_eq!(std::fs::read_link(dst.join("sub/rel")).unwrap(), Path::new("../file"));
        // Hard links stay links.
        assert_eq!(md("file").ino(), md("sub/hard").ino());
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(&md("fifo").file_type()));
        assert_eq!(md("fifo").mode() & 0o7777, 0o640);
        assert_eq!((md("sub/deep/inner").mtime(), md("sub/deep/inner").mtime_nsec()), (1_234_567, 890));
        assert_eq!(md("sub").mtime(), 1_234_567);
        let mut buf = [0u8; 64];
        if let Ok(n) = rustix::fs::getxattr(src.join("file"), "user.note", &mut buf) {
            assert_eq!(&buf[..n], b"kept");
            let n = rustix::fs::getxattr(dst.join("file"), "user.note", &mut buf).unwrap();
            assert_eq!(&buf[..n], b"kept");
        }
        if is_root() {
            assert_eq!((md("sub/deep/inner").uid(), md("sub/deep/inner").gid()), (1234, 5678));
            assert_eq!((md("passwd").uid(), md("passwd").gid()), (42, 43));
            let d = std::fs::metadata(&dst).unwrap();
            assert_eq!((d.uid(), d.gid()), (1000, 1001));
        }

        // A second copy does nothing: the volume is no longer empty.
        std::fs::write(src.join("later"), b"new").unwrap();
        assert!(!copy_up(&src, &dst).unwrap());
        assert!(!dst.join("later").exists());
    }

    #[test]
    fn missing_or_non_directory_sources_copy_nothing() {
        let t = tempfile::tempdir().unwrap();
        let dst = t.path().join("dst");
        std::fs::create_dir(&dst).unwrap();
        assert!(!copy_up(&t.path().join("missing"), &dst).unwrap());
        std::fs::write(t.path().join("file"), b"x").unwrap();
        assert!(!copy_up(&t.path().join("file"), &dst).unwrap());
        std::os::unix::fs::symlink("/etc", t.path().join("link")).unwrap();
        assert!(!copy_up(&t.path().join("link"), &dst).unwrap());
        assert!(std::fs::read_dir(&dst).unwrap().next().is_none());
        // An empty source still hands its mode to the volume.
        let empty = t.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        std::fs::set_permissions(&empty, std::fs::Permissions::from_mode(0o1770)).unwrap();
        assert!(copy_up(&empty, &dst).unwrap());
        assert_eq!(std::fs::metadata(&dst).unwrap().mode() & 0o7777, 0o1770);
    }

    #[test]
    fn sizes_count_hard_links_once_and_do_not_follow_symlinks() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path();
        std::fs::create_dir(d.join("a")).unwrap();
        std::fs::write(d.join("a/one"), vec![0u8; 1000]).unwrap();
        std::fs::hard_link(d.join("a/one"), d.join("two")).unwrap();
        std::fs::write(d.join("three"), vec![0u8; 24]).unwrap();
        // A symlink counts its own length (4 bytes), not the 1000-byte target… nor /etc.
        std::os::unix::fs::symlink("/etc", d.join("etcl")).unwrap();
        assert_eq!(dir_size(d).unwrap(), 1000 + 24 + 4);
    }
}
