//! What Docker's container archive API and `docker diff` need, with every path resolved inside
//! a [`Root`] (the container's root filesystem), so that nothing a container (or a client) puts
//! in the tree can make them reach outside it — the `docker cp` symlink-escape class
//! (CVE-2018-15664, CVE-2019-14271) cannot happen by construction.
//!
//! - [`stat`] / [`PathStat`]: `HEAD /containers/{id}/archive` and the
//!   `X-Docker-Container-Path-Stat` header ([`PathStat::to_header`]).
//! - [`archive`] / [`Resource`]: `GET /containers/{id}/archive`, a tar of the resource rebased
//!   to its base name.
//! - [`extract`] / [`ExtractOptions`]: `PUT /containers/{id}/archive`.
//! - [`changes`] / [`Change`]: `GET /containers/{id}/changes` (`docker diff`).
//!
//! # Path semantics (dockerd's, from `daemon/archive*.go` and `pkg/archive`)
//! A path from the API is absolute inside the root: it is cleaned lexically first, a `..` at
//! the root staying at the root (`filepath.Join("/", path)`). Symlinks on the way are followed
//! inside the root. The last component is *not* followed (`lstat`), unless the path ends in `/`
//! or `/.` (or names the root), which makes the kernel follow it. [`PathStat::name`] is Go's
//! `filepath.Base` of the absolute path: `etc` for `/etc` and `/etc/`, `.` for `/etc/.`, `/` for
//! `/`. A symlink's [`PathStat::link_target`] is its full resolution inside the root, as far as
//! it exists (moby's `FollowSymlinkInScope`).
//!
//! Archive members are named after the resource, as `TarResourceRebase` does: a directory
//! `/etc` gives `etc/`, `etc/passwd`, …; `/etc/.` gives `./`, `./passwd`; `/` gives `/`,
//! `/bin/`, … (dockerd's special case of the root); a file or a symlink (not followed) one
//! member named after it. Members are written in a depth-first walk with names sorted
//! bytewise, never following a symlink; owners, modes (setuid/setgid/sticky included), mtimes
//! (whole seconds, as Docker), symlink targets, device numbers and hard links within the tree
//! are kept, and the extended attributes except `trusted.overlay.*` (overlayfs internals) and
//! `security.selinux` (a host label). Sockets are skipped, as Docker does.
//!
//! Errors a caller maps to statuses: [`FsError::NotFound`] (404), [`FsError::NotADirectory`],
//! [`FsError::WouldOverwrite`], [`FsError::Escape`] and the other input errors (400, see
//! [`FsError::is_bad_input`]), [`FsError::Io`] (500).

mod changes;
mod extract;
mod wire;

#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs as rfs;
use rustix::io::Errno;

use crate::apply::ApplyStats;
use crate::diff::EntryWriter;
use crate::error::{FsError, Result};
use crate::path::RelPath;
use crate::root::{self, FileKind, FileTime, Metadata, Root};

pub use changes::{changes, Change, ChangeKind};
pub use extract::{extract, ExtractOptions};

/// Go's `os.ModeDir`.
pub const MODE_DIR: u32 = 1 << 31;
/// Go's `os.ModeSymlink`.
pub const MODE_SYMLINK: u32 = 1 << 27;
/// Go's `os.ModeDevice`.
pub const MODE_DEVICE: u32 = 1 << 26;
/// Go's `os.ModeNamedPipe`.
pub const MODE_NAMED_PIPE: u32 = 1 << 25;
/// Go's `os.ModeSocket`.
pub const MODE_SOCKET: u32 = 1 << 24;
/// Go's `os.ModeSetuid`.
pub const MODE_SETUID: u32 = 1 << 23;
/// Go's `os.ModeSetgid`.
pub const MODE_SETGID: u32 = 1 << 22;
/// Go's `os.ModeCharDevice`.
pub const MODE_CHAR_DEVICE: u32 = 1 << 21;
/// Go's `os.ModeSticky`.
pub const MODE_STICKY: u32 = 1 << 20;

/// Go's `os.FileMode` of an object (as `os.Lstat` gives it): the permission bits, the type bits
/// and setuid/setgid/sticky in Go's positions. `mode` holds the `0o7777` bits.
pub fn go_file_mode(kind: FileKind, mode: u32) -> u32 {
    let mut m = mode & 0o777;
    m |= match kind {
        FileKind::Regular => 0,
        FileKind::Dir => MODE_DIR,
        FileKind::Symlink => MODE_SYMLINK,
        FileKind::CharDevice => MODE_DEVICE | MODE_CHAR_DEVICE,
        FileKind::BlockDevice => MODE_DEVICE,
        FileKind::Fifo => MODE_NAMED_PIPE,
        FileKind::Socket => MODE_SOCKET,
    };
    for (bit, go) in [(0o4000, MODE_SETUID), (0o2000, MODE_SETGID), (0o1000, MODE_STICKY)] {
        if mode & bit != 0 {
            m |= go;
        }
    }
    m
}

/// Docker's `ContainerPathStat`: what `HEAD`/`GET /containers/{id}/archive` say about a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathStat {
    /// Go's `filepath.Base` of the absolute path (see the module docs).
    pub name: String,
    /// `lstat`'s size.
    pub size: u64,
    /// Go's `os.FileMode` (see [`go_file_mode`]).
    pub mode: u32,
    /// Last modification.
    pub mtime: FileTime,
    /// For a symlink, its resolution inside the root as an absolute path; empty otherwise.
    pub link_target: String,
}

impl PathStat {
    /// Whether the path is a directory (after following a trailing `/` or `/.`).
    pub fn is_dir(&self) -> bool {
        self.mode & MODE_DIR != 0
    }

    /// The JSON dockerd encodes: `{"name":…,"size":…,"mode":…,"mtime":…,"linkTarget":…}`,
    /// `mtime` in RFC 3339 with nanoseconds (UTC), strings escaped as Go's `encoding/json`.
    pub fn to_json(&self) -> String {
        let ns = self.mtime.sec.saturating_mul(1_000_000_000).saturating_add(i64::from(self.mtime.nsec));
        format!(
            "{{\"name\":{},\"size\":{},\"mode\":{},\"mtime\":{},\"linkTarget\":{}}}",
            wire::json_string(&self.name),
            self.size,
            self.mode,
            wire::json_string(&wharf_types::format_rfc3339_nanos(ns)),
            wire::json_string(&self.link_target),
        )
    }

    /// The value of the `X-Docker-Container-Path-Stat` header: [`PathStat::to_json`] in
    /// standard base64.
    pub fn to_header(&self) -> String {
        wire::base64_std(self.to_json().as_bytes())
    }
}

/// A path as the API names it, cleaned (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct ApiPath {
    /// The cleaned path, relative to the root.
    pub(crate) rel: RelPath,
    /// Whether the final component is followed (a trailing `/` or `/.`, or the root).
    pub(crate) follow: bool,
    /// `filepath.Base` of the absolute path, as the member name of the resource (`/` is empty).
    pub(crate) base: Vec<u8>,
}

impl ApiPath {
    pub(crate) fn parse(path: &Path) -> Result<ApiPath> {
        let raw = path.as_os_str().as_bytes();
        if raw.is_empty() {
            return Err(FsError::InvalidPath { path: PathBuf::new(), reason: "path is empty" });
        }
        let rel = RelPath::clean_clamped(raw)?;
        let trimmed = {
            let end = raw.iter().rposition(|b| *b != b'/').map_or(0, |i| i + 1);
            &raw[..end]
        };
        let current_dir = !trimmed.is_empty() && trimmed.rsplit(|b| *b == b'/').next() == Some(&b"."[..]);
        let follow = raw.ends_with(b"/") || current_dir || rel.is_root();
        let base = if current_dir {
            b".".to_vec()
        } else {
            rel.comps().last().map(|c| c.as_bytes().to_vec()).unwrap_or_default()
        };
        Ok(ApiPath { rel, follow, base })
    }

    /// The absolute path inside the root, for messages.
    pub(crate) fn shown(&self) -> PathBuf {
        self.rel.to_abs_path()
    }

    /// `PathStat::name`: the base name, `/` for the root.
    fn name(&self) -> String {
        if self.base.is_empty() {
            "/".to_string()
        } else {
            String::from_utf8_lossy(&self.base).into_owned()
        }
    }
}

/// A lookup error as the API reports it: a missing path is [`FsError::NotFound`], a file where
/// a directory is needed [`FsError::NotADirectory`], a symlink loop an invalid path.
pub(crate) fn lookup_error(e: FsError, shown: &Path) -> FsError {
    match e.errno().map(Errno::from_raw_os_error) {
        Some(Errno::NOENT) => FsError::NotFound { path: shown.to_path_buf() },
        Some(Errno::NOTDIR) => FsError::NotADirectory { path: shown.to_path_buf() },
        Some(Errno::LOOP) => {
            FsError::InvalidPath { path: shown.to_path_buf(), reason: "too many levels of symbolic links" }
        }
        _ => e,
    }
}

/// Where a resolved resource is.
#[derive(Debug)]
enum Located {
    /// A directory: its own `O_PATH` fd.
    Dir(OwnedFd),
    /// Anything else: its parent directory and its name (never followed).
    Entry(OwnedFd, OsString),
}

/// Symlinks followed before giving up, as moby's `FollowSymlinkInScope`.
const MAX_LINKS: usize = 255;

/// The full resolution of `rel` inside the root, following every symlink (the final one
/// too) with `..` clamped at the root; components that do not exist are kept as they are.
pub(crate) fn resolve_in_scope(root: &Root, rel: &RelPath) -> Result<RelPath> {
    let mut done = RelPath::default();
    let mut todo: Vec<OsString> = rel.comps().iter().rev().cloned().collect();
    let mut links = 0;
    while let Some(c) = todo.pop() {
        match c.as_bytes() {
            b"" | b"." => continue,
            b".." => {
                done = done.split_last().map(|(p, _)| p).unwrap_or_default();
                continue;
            }
            _ => {}
        }
        let cand = done.join(&c);
        let (dir, name) = match root.parent(&cand) {
            Ok(x) => x,
            // Below a missing component nothing more can be resolved: keep the rest as is.
            Err(e) if matches!(e.errno().map(Errno::from_raw_os_error), Some(Errno::NOENT | Errno::NOTDIR)) => {
                done = cand;
                continue;
            }
            Err(e) => return Err(e),
        };
        let meta = match root::stat_at(dir.as_fd(), &name) {
            Ok(m) => m,
            Err(Errno::NOTDIR) => None,
            Err(e) => return Err(FsError::io("lstat", cand.to_path(), e)),
        };
        match meta {
            Some(m) if m.kind == FileKind::Symlink => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(FsError::InvalidPath {
                        path: rel.to_abs_path(),
                        reason: "too many levels of symbolic links",
                    });
                }
                let target =
                    rfs::readlinkat(&dir, &name, Vec::new()).map_err(|e| FsError::io("readlink", cand.to_path(), e))?;
                let target = target.as_bytes();
                if target.starts_with(b"/") {
                    done = RelPath::default();
                }
                for part in target.split(|b| *b == b'/').rev() {
                    if !part.is_empty() {
                        todo.push(std::ffi::OsStr::from_bytes(part).to_os_string());
                    }
                }
            }
            _ => done = cand,
        }
    }
    Ok(done)
}

/// A resource of the container's filesystem, resolved once: what [`stat`] describes and
/// [`archive`] writes. Opening it first lets an API answer errors (404) before it starts
/// streaming, and archive exactly what it described.
#[derive(Debug)]
pub struct Resource {
    path: ApiPath,
    located: Located,
    stat: PathStat,
}

impl Resource {
    /// Resolves `path` (as the API names it) inside `root`. The resource keeps the resolved
    /// directory open: what it writes later is what it resolved now.
    pub fn open(root: &Root, path: impl AsRef<Path>) -> Result<Resource> {
        let path = ApiPath::parse(path.as_ref())?;
        let shown = path.shown();
        let err = |e: FsError| lookup_error(e, &shown);
        let (located, meta) = if path.follow {
            let fd = root.resolve_dir(&path.rel).map_err(err)?;
            let st = rfs::fstat(&fd).map_err(|e| err(FsError::io("stat", path.rel.to_path(), e)))?;
            (Located::Dir(fd), Metadata::from_stat(&st))
        } else {
            let (dir, name) = root.parent(&path.rel).map_err(err)?;
            let meta = root::stat_at(dir.as_fd(), &name)
                .map_err(|e| err(FsError::io("lstat", path.rel.to_path(), e)))?
                .ok_or_else(|| FsError::NotFound { path: shown.clone() })?;
            if meta.kind == FileKind::Dir {
                // Not followed: a directory swapped for a symlink since the lstat fails here.
                let fd = root::open_subdir(dir.as_fd(), &name)
                    .map_err(|e| err(FsError::io("open", path.rel.to_path(), e)))?;
                (Located::Dir(fd), meta)
            } else {
                (Located::Entry(dir, name), meta)
            }
        };
        let link_target = if meta.kind == FileKind::Symlink {
            resolve_in_scope(root, &path.rel)?.to_abs_path().to_string_lossy().into_owned()
        } else {
            String::new()
        };
        let stat = PathStat {
            name: path.name(),
            size: meta.size,
            mode: go_file_mode(meta.kind, meta.mode),
            mtime: meta.mtime,
            link_target,
        };
        Ok(Resource { path, located, stat })
    }

    /// What the resource is.
    pub fn stat(&self) -> &PathStat {
        &self.stat
    }

    /// Writes the resource as an uncompressed tar (see the module docs for its members).
    pub fn write_tar(self, out: impl Write) -> Result<ApplyStats> {
        let mut w = EntryWriter::new(out, None, keep_xattr);
        let top = self.path.base.clone();
        match &self.located {
            Located::Entry(dir, name) => {
                let meta = root::stat_at(dir.as_fd(), name)
                    .map_err(|e| FsError::io("lstat", self.path.rel.to_path(), e))?
                    .ok_or_else(|| FsError::NotFound { path: self.path.shown() })?;
                w.emit(dir.as_fd(), name, top, &self.path.rel, &meta)?;
            }
            Located::Dir(fd) => {
                let st = rfs::fstat(fd).map_err(|e| FsError::io("stat", self.path.rel.to_path(), e))?;
                let meta = Metadata::from_stat(&st);
                w.emit(fd.as_fd(), std::ffi::OsStr::new("."), top.clone(), &self.path.rel, &meta)?;
                walk(&mut w, fd.as_fd(), Some(&top), &self.path.rel)?;
            }
        }
        w.finish()
    }
}

impl Resource {
    /// Writes what a directory resource holds as an uncompressed tar, members named relative to
    /// it without the directory itself (`bin/`, `bin/sh`, … — what `docker export` writes, as
    /// moby's `TarWithOptions` of the root). A non-directory is written as [`Resource::write_tar`]
    /// writes it.
    pub fn write_contents_tar(self, out: impl Write) -> Result<ApplyStats> {
        let Located::Dir(fd) = &self.located else { return self.write_tar(out) };
        let mut w = EntryWriter::new(out, None, keep_xattr);
        walk(&mut w, fd.as_fd(), None, &self.path.rel)?;
        w.finish()
    }
}

/// The xattrs an archive carries.
fn keep_xattr(key: &[u8]) -> bool {
    !key.starts_with(b"trusted.overlay.") && key != b"security.selinux"
}

/// Writes every object below `dir` (depth first, names sorted), named `prefix/…` (no prefix:
/// named relative to `dir`).
fn walk<W: Write>(w: &mut EntryWriter<W>, dir: BorrowedFd<'_>, prefix: Option<&[u8]>, rel: &RelPath) -> Result<()> {
    let names = root::read_dir_fd(dir).map_err(|e| FsError::io("readdir", rel.to_path(), e))?;
    for name in names {
        let child = rel.join(&name);
        let Some(meta) = root::stat_at(dir, &name).map_err(|e| FsError::io("lstat", child.to_path(), e))? else {
            continue; // vanished meanwhile
        };
        let mut path = prefix.map(|p| [p, b"/"].concat()).unwrap_or_default();
        path.extend_from_slice(name.as_bytes());
        w.emit(dir, &name, path.clone(), &child, &meta)?;
        if meta.kind == FileKind::Dir {
            let sub = root::open_subdir(dir, &name).map_err(|e| FsError::io("open", child.to_path(), e))?;
            walk(w, sub.as_fd(), Some(&path), &child)?;
        }
    }
    Ok(())
}

/// `HEAD /containers/{id}/archive`: what `path` is (see the module docs).
pub fn stat(root: &Root, path: impl AsRef<Path>) -> Result<PathStat> {
    Resource::open(root, path).map(|r| r.stat)
}

/// `GET /containers/{id}/archive`: writes the resource at `path` as an uncompressed tar to
/// `out` and returns what it is. A caller that must send the stat before the body uses
/// [`Resource::open`], then [`Resource::write_tar`].
pub fn archive(root: &Root, path: impl AsRef<Path>, out: impl Write) -> Result<PathStat> {
    let r = Resource::open(root, path)?;
    let stat = r.stat.clone();
    r.write_tar(out)?;
    Ok(stat)
}
