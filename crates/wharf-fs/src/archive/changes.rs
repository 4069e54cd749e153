//! `docker diff` (`GET /containers/{id}/changes`): the paths a container's writable layer
//! added, modified or deleted, as dockerd's `pkg/archive` computes them.
//!
//! - **Overlay** ([`DiffSource::Overlay`], dockerd's `OverlayChanges`): every object of the
//!   upper directory is a change. A 0:0 character device is a deletion. Anything else is an
//!   addition unless the path is visible in the lower directories, then a modification — except
//!   a directory whose mode, owner and mtime equal the lower one's (copied up only because
//!   something below it changed). The lower directories are looked up as overlayfs merges them
//!   (topmost first, whiteouts and opaque directories of the lowers honoured), so a path deleted
//!   in a lower layer and created again in the container is an addition. An opaque directory of
//!   the upper that hides a lower directory is reported deleted (it was removed and created
//!   again), its content added, as dockerd does. [`DiffSource::OverlayUpper`] (no lowers) makes
//!   everything an addition.
//! - **Compare** ([`DiffSource::Compare`], vfs, dockerd's `ChangesDirs`): both trees are
//!   walked together. A path only in the upper tree is added, only in the lower one deleted (a
//!   deleted directory once, not its content), in both modified when the type, permission
//!   bits, owner, device number or `security.capability` differ, or — for non-directories —
//!   the size or the mtime (directory sizes and mtimes are not a measure of change, as in
//!   Docker). Times compare as dockerd's `sameFsTime`: equal, or the same second with one side
//!   lacking nanoseconds (tar-extracted files).
//!
//! As Docker, every directory with a change below it is reported modified when it is not
//! itself added or deleted. The list is sorted by path, component by component (a directory
//! right before its content). Nothing is ever followed: every lookup is relative to an open
//! directory, without following symlinks.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::io::Errno;

use crate::diff::DiffSource;
use crate::error::{FsError, Result};
use crate::path::RelPath;
use crate::root::{self, FileKind, FileTime, Metadata};

/// What happened to a path (Docker's `Kind`: 0, 1, 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum ChangeKind {
    /// `C`: changed (kind 0).
    Modified = 0,
    /// `A`: added (kind 1).
    Added = 1,
    /// `D`: deleted (kind 2).
    Deleted = 2,
}

impl ChangeKind {
    /// Docker's numeric kind.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The letter `docker diff` prints.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Modified => 'C',
            ChangeKind::Added => 'A',
            ChangeKind::Deleted => 'D',
        }
    }
}

/// One line of `docker diff`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Absolute path inside the container (`/etc/passwd`; non-UTF-8 bytes replaced).
    pub path: String,
    /// What happened to it.
    pub kind: ChangeKind,
}

/// The changes `source` describes (see the module docs).
pub fn changes(source: DiffSource<'_>) -> Result<Vec<Change>> {
    let top = RelPath::default();
    let mut found = BTreeMap::new();
    match source {
        DiffSource::OverlayUpper { upper } => {
            let ufd = upper.resolve_dir(&top)?;
            overlay_walk(ufd.as_fd(), &[], &top, &mut found)?;
        }
        DiffSource::Overlay { upper, lowers } => {
            let ufd = upper.resolve_dir(&top)?;
            let lfds = lowers.iter().map(|l| l.resolve_dir(&top)).collect::<Result<Vec<_>>>()?;
            overlay_walk(ufd.as_fd(), &lfds, &top, &mut found)?;
        }
        DiffSource::Compare { lower, upper } => {
            let ufd = upper.resolve_dir(&top)?;
            let lfd = lower.resolve_dir(&top)?;
            compare_walk(ufd.as_fd(), Some(lfd.as_fd()), &top, &mut found)?;
        }
    }
    // Every directory above a change is changed too, unless it is itself added or deleted.
    let paths: Vec<RelPath> = found.keys().cloned().collect();
    for p in &paths {
        for a in p.ancestors() {
            found.entry(a).or_insert(ChangeKind::Modified);
        }
    }
    Ok(found
        .into_iter()
        .map(|(p, kind)| {
            let mut b = b"/".to_vec();
            b.extend_from_slice(&p.to_bytes());
            Change { path: String::from_utf8_lossy(&b).into_owned(), kind }
        })
        .collect())
}

fn ioe(op: &'static str, rel: &RelPath) -> impl FnOnce(Errno) -> FsError {
    let p = rel.to_path();
    move |e| FsError::io(op, p, e)
}

fn is_whiteout(m: &Metadata) -> bool {
    m.kind == FileKind::CharDevice && m.rdev == (0, 0)
}

fn is_opaque(dir: BorrowedFd<'_>, name: &OsStr, rel: &RelPath) -> Result<bool> {
    Ok(root::getxattr_at(dir, name, "trusted.overlay.opaque").map_err(ioe("getxattr", rel))?.as_deref()
        == Some(&b"y"[..]))
}

/// dockerd's `sameFsTime`: equal, or the same second with one side lacking nanoseconds.
fn same_time(a: FileTime, b: FileTime) -> bool {
    a.sec == b.sec && (a.nsec == b.nsec || a.nsec == 0 || b.nsec == 0)
}

/// What the merged lower directories show at `name`: the topmost object, or `None` when no
/// lower has it or the topmost one is a whiteout.
fn lower_lookup(lowers: &[OwnedFd], name: &OsStr, rel: &RelPath) -> Result<Option<Metadata>> {
    for l in lowers {
        match root::stat_at(l.as_fd(), name).map_err(ioe("lstat lower", rel))? {
            None => continue,
            Some(m) if is_whiteout(&m) => return Ok(None),
            Some(m) => return Ok(Some(m)),
        }
    }
    Ok(None)
}

/// The lower directories merged at directory `name`, topmost first: down to the first lower
/// where it is an opaque directory, a whiteout or not a directory.
fn lower_descend(lowers: &[OwnedFd], name: &OsStr, rel: &RelPath) -> Result<Vec<OwnedFd>> {
    let mut out = Vec::new();
    for l in lowers {
        match root::stat_at(l.as_fd(), name).map_err(ioe("lstat lower", rel))? {
            None => continue,
            Some(m) if m.kind == FileKind::Dir => {
                out.push(root::open_subdir(l.as_fd(), name).map_err(ioe("open lower", rel))?);
                if is_opaque(l.as_fd(), name, rel)? {
                    break;
                }
            }
            Some(_) => break,
        }
    }
    Ok(out)
}

fn overlay_walk(
    upper: BorrowedFd<'_>,
    lowers: &[OwnedFd],
    rel: &RelPath,
    found: &mut BTreeMap<RelPath, ChangeKind>,
) -> Result<()> {
    for name in root::read_dir_fd(upper).map_err(ioe("readdir", rel))? {
        let child = rel.join(&name);
        let Some(meta) = root::stat_at(upper, &name).map_err(ioe("lstat", &child))? else {
            continue; // vanished meanwhile
        };
        if is_whiteout(&meta) {
            found.insert(child, ChangeKind::Deleted);
            continue;
        }
        let below = lower_lookup(lowers, &name, &child)?;
        if meta.kind != FileKind::Dir {
            found.insert(child, if below.is_some() { ChangeKind::Modified } else { ChangeKind::Added });
            continue;
        }
        let opaque = is_opaque(upper, &name, &child)?;
        let sub_lowers = match &below {
            Some(l) if l.kind == FileKind::Dir && !opaque => lower_descend(lowers, &name, &child)?,
            _ => Vec::new(),
        };
        let kind = match &below {
            None => Some(ChangeKind::Added),
            Some(_) if opaque => Some(ChangeKind::Deleted),
            Some(l) if l.kind != FileKind::Dir => Some(ChangeKind::Modified),
            Some(l) => {
                let same =
                    l.mode == meta.mode && l.uid == meta.uid && l.gid == meta.gid && same_time(l.mtime, meta.mtime);
                (!same).then_some(ChangeKind::Modified)
            }
        };
        if let Some(k) = kind {
            found.insert(child.clone(), k);
        }
        let sub = root::open_subdir(upper, &name).map_err(ioe("open", &child))?;
        overlay_walk(sub.as_fd(), &sub_lowers, &child, found)?;
    }
    Ok(())
}

/// dockerd's `statDifferent` plus its `security.capability` comparison.
fn differs(
    upper: BorrowedFd<'_>,
    lower: BorrowedFd<'_>,
    name: &OsStr,
    rel: &RelPath,
    u: &Metadata,
    l: &Metadata,
) -> Result<bool> {
    if u.kind != l.kind || u.mode != l.mode || u.uid != l.uid || u.gid != l.gid || u.rdev != l.rdev {
        return Ok(true);
    }
    if u.kind != FileKind::Dir && (!same_time(u.mtime, l.mtime) || u.size != l.size) {
        return Ok(true);
    }
    let cap = |dir| root::getxattr_at(dir, name, "security.capability").map_err(ioe("getxattr", rel));
    Ok(cap(upper)? != cap(lower)?)
}

fn compare_walk(
    upper: BorrowedFd<'_>,
    lower: Option<BorrowedFd<'_>>,
    rel: &RelPath,
    found: &mut BTreeMap<RelPath, ChangeKind>,
) -> Result<()> {
    let mut names = root::read_dir_fd(upper).map_err(ioe("readdir", rel))?;
    if let Some(l) = lower {
        names.extend(root::read_dir_fd(l).map_err(ioe("readdir lower", rel))?);
        names.sort();
        names.dedup();
    }
    for name in names {
        let child = rel.join(&name);
        let u = root::stat_at(upper, &name).map_err(ioe("lstat", &child))?;
        let l = match lower {
            Some(l) => root::stat_at(l, &name).map_err(ioe("lstat lower", &child))?,
            None => None,
        };
        let (u, lower_dir) = match (u, l) {
            (None, None) => continue,
            (None, Some(_)) => {
                found.insert(child, ChangeKind::Deleted);
                continue;
            }
            (Some(u), None) => {
                found.insert(child.clone(), ChangeKind::Added);
                (u, None)
            }
            (Some(u), Some(l)) => {
                let lower = lower.expect("a lower object has a lower directory");
                if differs(upper, lower, &name, &child, &u, &l)? {
                    found.insert(child.clone(), ChangeKind::Modified);
                }
                let sub = if l.kind == FileKind::Dir {
                    Some(root::open_subdir(lower, &name).map_err(ioe("open lower", &child))?)
                } else {
                    None
                };
                (u, sub)
            }
        };
        if u.kind == FileKind::Dir {
            let sub = root::open_subdir(upper, &name).map_err(ioe("open", &child))?;
            compare_walk(sub.as_fd(), lower_dir.as_ref().map(|f| f.as_fd()), &child, found)?;
        }
    }
    Ok(())
}
