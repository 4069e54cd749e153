//! Producing a layer: the changes of an upper directory as an uncompressed OCI layer tar.
//!
//! Output is deterministic: a depth-first walk with each directory's names sorted bytewise;
//! in each directory the whiteouts come first (the spec's SHOULD), then the entries, a
//! directory's opaque marker right after the directory itself. Headers are written by
//! [`crate::tar_write`] (ustar + PAX when needed, no user/group names, no atime), mtimes are
//! whole seconds (as Docker writes them) and optionally clamped to `SOURCE_DATE_EPOCH`.
//! Owners, modes (setuid/setgid/sticky included), symlink targets, device numbers and xattrs are
//! preserved; `trusted.overlay.*` xattrs (overlayfs internals) are never exported. A regular
//! file with several links inside the emitted set is written once, then as tar hard links to
//! the first path. Sockets are skipped (tar cannot hold them; counted in `skipped`). The upper
//! directory itself is not emitted.
//!
//! Change detection in [`DiffSource::Compare`] (vfs): a path is emitted when it is missing from
//! the lower tree or differs in type, mode, owner, xattrs, mtime (with nanoseconds), size (files),
//! link target (symlinks) or device number. Equal metadata means unchanged, as in Docker's
//! naive diff; set [`DiffOptions::compare_content`] to compare the bytes of regular files whose
//! metadata is equal, for certainty when something may have reset an mtime. A path present in
//! the lower tree and missing from the upper one gets one `.wh.NAME` (a removed directory gets
//! one whiteout, not one per child). As in Docker, a directory that did not change itself but
//! has changes below it is emitted too, so its permissions and mtime survive the apply.
//!
//! The walk first plans the members (paths only), then writes them, resolving each path again
//! inside the upper root.
//!
//! Walking never follows symlinks (every open is `O_NOFOLLOW`, every stat `lstat`), and only
//! regular files are opened for reading (`O_NONBLOCK`, type checked after the open), so a
//! container that writes into its upper directory cannot make the diff read anything else.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use rustix::fs::{self as rfs, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::apply::ApplyStats;
use crate::error::{FsError, Result};
use crate::path::RelPath;
use crate::root::{self, FileKind, FileTime, Metadata, Root};
use crate::tar_read::{EntryKind, Member};
use crate::tar_write::TarWriter;

/// What to compute the changes of.
#[derive(Debug, Clone, Copy)]
pub enum DiffSource<'a> {
    /// An overlayfs upper directory: 0:0 character devices are whiteouts, directories with
    /// `trusted.overlay.opaque=y` are opaque, everything else is a change.
    OverlayUpper {
        /// The upper directory.
        upper: &'a Root,
    },
    /// A full copy of the parent (`lower`) that was then changed (`upper`), as vfs keeps them.
    Compare {
        /// The parent's content.
        lower: &'a Root,
        /// The changed copy.
        upper: &'a Root,
    },
    /// An overlayfs upper directory with the lower directories it is mounted over, topmost
    /// first (overlayfs' `lowerdir` order: for an image's layers, the top layer's snapshot
    /// first). [`crate::archive::changes`] needs them to tell added from modified paths;
    /// [`diff_layer`] treats this as [`DiffSource::OverlayUpper`].
    Overlay {
        /// The upper directory.
        upper: &'a Root,
        /// The lower directories, topmost first.
        lowers: &'a [Root],
    },
}

/// Options of [`diff_layer`].
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Clamp every mtime to at most this Unix time (`SOURCE_DATE_EPOCH`).
    pub source_date_epoch: Option<i64>,
    /// In `Compare` mode, compare the content of regular files whose metadata is equal.
    pub compare_content: bool,
    /// Paths (relative to the root, e.g. `etc/hosts`, `dev`) left out with everything below
    /// them — what a runtime created as mount points (dockerd keeps them in an init layer).
    pub exclude: Vec<String>,
}

/// Writes the changes described by `source` as an uncompressed layer tar to `out`.
pub fn diff_layer(source: DiffSource<'_>, out: impl Write, opts: &DiffOptions) -> Result<ApplyStats> {
    let (upper, lower, overlay) = match source {
        DiffSource::OverlayUpper { upper } | DiffSource::Overlay { upper, .. } => (upper, None, true),
        DiffSource::Compare { lower, upper } => (upper, Some(lower), false),
    };
    let out = EntryWriter::new(out, opts.source_date_epoch, |k| !k.starts_with(b"trusted.overlay."));
    let mut d = Differ { out, plan: Vec::new(), opts, overlay };
    let top = RelPath::default();
    let ufd = upper.resolve_dir(&top)?;
    let lfd = match lower {
        Some(l) => Some(l.resolve_dir(&top)?),
        None => None,
    };
    d.walk(ufd.as_fd(), lfd.as_ref().map(|f| f.as_fd()), &top)?;
    drop((ufd, lfd));
    d.write_plan(upper)?;
    d.out.finish()
}

/// One planned member of the output.
enum Planned {
    /// `.wh.NAME` / `.wh..wh..opq` marker at this path.
    Marker(Vec<u8>),
    /// The object at this path of the upper tree.
    Entry(RelPath),
    /// A directory emitted only if something below it is (`Compare` mode).
    ParentDir(RelPath),
}

struct Differ<'o, W: Write> {
    out: EntryWriter<W>,
    plan: Vec<Planned>,
    opts: &'o DiffOptions,
    overlay: bool,
}

/// Writes objects of a tree as tar members: content, owner, mode, link target, device number
/// and the xattrs `keep_xattr` accepts; a regular file with several links inside the written
/// set becomes a tar hard link to its first path. Sockets are skipped (tar cannot hold them).
/// Mtimes are whole seconds, optionally clamped to `SOURCE_DATE_EPOCH`. Shared by
/// [`diff_layer`] and [`crate::archive`].
pub(crate) struct EntryWriter<W: Write> {
    w: TarWriter<W>,
    /// (dev, ino) of written multi-link regular files → their first member path.
    links: HashMap<(u64, u64), Vec<u8>>,
    skipped: u64,
    source_date_epoch: Option<i64>,
    keep_xattr: fn(&[u8]) -> bool,
}

fn ioe(op: &'static str, rel: &RelPath) -> impl FnOnce(Errno) -> FsError {
    let p = rel.to_path();
    move |e| FsError::io(op, p, e)
}

fn exported_xattrs(dir: BorrowedFd<'_>, name: &OsStr, rel: &RelPath) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    Ok(root::xattrs_at(dir, name)
        .map_err(ioe("listxattr", rel))?
        .into_iter()
        .filter(|(k, _)| !k.as_bytes().starts_with(b"trusted.overlay."))
        .map(|(k, v)| (k.as_bytes().to_vec(), v))
        .collect())
}

/// Opens a regular file for reading without following symlinks or opening anything else.
fn open_regular(dir: BorrowedFd<'_>, name: &OsStr, rel: &RelPath) -> Result<(File, Metadata)> {
    let fd = rfs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )
    .map_err(ioe("open", rel))?;
    let st = rfs::fstat(&fd).map_err(ioe("stat", rel))?;
    if FileType::from_raw_mode(st.st_mode as _) != FileType::RegularFile {
        return Err(FsError::Changed { path: rel.to_path() });
    }
    Ok((File::from(fd), Metadata::from_stat(&st)))
}

fn same_content(a: &mut File, b: &mut File) -> std::io::Result<bool> {
    let (mut ba, mut bb) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let n = read_full(a, &mut ba)?;
        let m = read_full(b, &mut bb)?;
        if n != m || ba[..n] != bb[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn read_full(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match f.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

impl<W: Write> Differ<'_, W> {
    /// Writes the planned members, resolving each path again inside the upper root.
    fn write_plan(&mut self, upper: &Root) -> Result<()> {
        for item in std::mem::take(&mut self.plan) {
            match item {
                Planned::Marker(path) => self.marker(path)?,
                Planned::Entry(rel) | Planned::ParentDir(rel) => {
                    let (dir, name) = upper.parent(&rel)?;
                    let Some(meta) = root::stat_at(dir.as_fd(), &name).map_err(ioe("lstat", &rel))? else {
                        return Err(FsError::Changed { path: rel.to_path() });
                    };
                    self.out.emit(dir.as_fd(), &name, rel.to_bytes(), &rel, &meta)?;
                }
            }
        }
        Ok(())
    }

    fn marker(&mut self, path: Vec<u8>) -> Result<()> {
        self.out.marker(path)
    }

    fn walk(&mut self, upper: BorrowedFd<'_>, lower: Option<BorrowedFd<'_>>, rel: &RelPath) -> Result<()> {
        let names = root::read_dir_fd(upper).map_err(ioe("readdir", rel))?;
        let mut whiteouts: Vec<OsString> = Vec::new();
        let mut children: Vec<(OsString, Metadata)> = Vec::new();
        for name in &names {
            let Some(meta) = root::stat_at(upper, name).map_err(ioe("lstat", &rel.join(name)))? else {
                continue; // vanished meanwhile
            };
            if self.overlay && meta.kind == FileKind::CharDevice && meta.rdev == (0, 0) {
                whiteouts.push(name.clone());
            } else {
                children.push((name.clone(), meta));
            }
        }
        if let Some(lower) = lower {
            for lname in root::read_dir_fd(lower).map_err(ioe("readdir lower", rel))? {
                if names.binary_search(&lname).is_err() {
                    whiteouts.push(lname);
                }
            }
        }
        whiteouts.sort();
        for w in &whiteouts {
            let mut wh = OsString::from(".wh.");
            wh.push(w);
            self.plan.push(Planned::Marker(rel.join(&wh).to_bytes()));
        }
        for (name, meta) in children {
            let child = rel.join(&name);
            if !self.opts.exclude.is_empty() {
                let path = child.to_bytes();
                if self.opts.exclude.iter().any(|x| x.trim_start_matches('/').as_bytes() == path.as_slice()) {
                    continue;
                }
            }
            let lmeta = match lower {
                Some(l) => root::stat_at(l, &name).map_err(ioe("lstat lower", &child))?,
                None => None,
            };
            let emit = self.overlay || self.changed(upper, lower, &name, &child, &meta, lmeta.as_ref())?;
            if emit {
                self.plan.push(Planned::Entry(child.clone()));
            }
            if meta.kind == FileKind::Dir {
                let slot = self.plan.len();
                if !emit {
                    self.plan.push(Planned::ParentDir(child.clone()));
                }
                if self.overlay && emit {
                    let opaque = root::xattrs_at(upper, &name)
                        .map_err(ioe("listxattr", &child))?
                        .iter()
                        .any(|(k, v)| k == "trusted.overlay.opaque" && v == b"y");
                    if opaque {
                        self.plan.push(Planned::Marker(child.join(OsStr::new(".wh..wh..opq")).to_bytes()));
                    }
                }
                let sub = root::open_subdir(upper, &name).map_err(ioe("open", &child))?;
                let lsub: Option<OwnedFd> = match (lower, &lmeta) {
                    (Some(l), Some(lm)) if lm.kind == FileKind::Dir => {
                        Some(root::open_subdir(l, &name).map_err(ioe("open lower", &child))?)
                    }
                    _ => None,
                };
                self.walk(sub.as_fd(), lsub.as_ref().map(|f| f.as_fd()), &child)?;
                if !emit && self.plan.len() == slot + 1 {
                    self.plan.truncate(slot); // nothing changed below: drop the placeholder
                }
            }
        }
        Ok(())
    }

    fn changed(
        &self,
        upper: BorrowedFd<'_>,
        lower: Option<BorrowedFd<'_>>,
        name: &OsStr,
        rel: &RelPath,
        u: &Metadata,
        l: Option<&Metadata>,
    ) -> Result<bool> {
        let (Some(lower), Some(l)) = (lower, l) else { return Ok(true) };
        if u.kind != l.kind || u.mode != l.mode || u.uid != l.uid || u.gid != l.gid || u.mtime != l.mtime {
            return Ok(true);
        }
        match u.kind {
            FileKind::Regular if u.size != l.size => return Ok(true),
            FileKind::CharDevice | FileKind::BlockDevice if u.rdev != l.rdev => return Ok(true),
            FileKind::Symlink => {
                let ut = rfs::readlinkat(upper, name, Vec::new()).map_err(ioe("readlink", rel))?;
                let lt = rfs::readlinkat(lower, name, Vec::new()).map_err(ioe("readlink lower", rel))?;
                if ut != lt {
                    return Ok(true);
                }
            }
            _ => {}
        }
        if exported_xattrs(upper, name, rel)? != exported_xattrs(lower, name, rel)? {
            return Ok(true);
        }
        if u.kind == FileKind::Regular && self.opts.compare_content {
            let (mut a, _) = open_regular(upper, name, rel)?;
            let (mut b, _) = open_regular(lower, name, rel)?;
            return Ok(!same_content(&mut a, &mut b).map_err(|e| FsError::io("read", rel.to_path(), e))?);
        }
        Ok(false)
    }
}

impl<W: Write> EntryWriter<W> {
    pub(crate) fn new(out: W, source_date_epoch: Option<i64>, keep_xattr: fn(&[u8]) -> bool) -> Self {
        EntryWriter { w: TarWriter::new(out), links: HashMap::new(), skipped: 0, source_date_epoch, keep_xattr }
    }

    fn clamp(&self, t: FileTime) -> FileTime {
        match self.source_date_epoch {
            Some(epoch) if t.sec > epoch => FileTime::from_secs(epoch),
            _ => FileTime::from_secs(t.sec),
        }
    }

    fn xattrs(&self, dir: BorrowedFd<'_>, name: &OsStr, rel: &RelPath) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let keep = self.keep_xattr;
        Ok(root::xattrs_at(dir, name)
            .map_err(ioe("listxattr", rel))?
            .into_iter()
            .filter(|(k, _)| keep(k.as_bytes()))
            .map(|(k, v)| (k.as_bytes().to_vec(), v))
            .collect())
    }

    /// Writes an empty regular member (a whiteout or opaque marker) at `path`.
    pub(crate) fn marker(&mut self, path: Vec<u8>) -> Result<()> {
        let m = Member {
            path,
            link: Vec::new(),
            kind: EntryKind::Regular,
            size: 0,
            mode: 0,
            uid: 0,
            gid: 0,
            mtime: FileTime::default(),
            atime: None,
            dev: (0, 0),
            xattrs: Vec::new(),
        };
        let shown = crate::path::lossy_path(&m.path);
        self.w.append(&m, None, &shown)
    }

    /// Writes the object `name` in `dir` (described by `meta`, from `lstat`) as member `path`;
    /// `rel` names it in errors.
    pub(crate) fn emit(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &OsStr,
        path: Vec<u8>,
        rel: &RelPath,
        meta: &Metadata,
    ) -> Result<()> {
        let shown = rel.to_path();
        let mut m = Member {
            path: path.clone(),
            link: Vec::new(),
            kind: EntryKind::Regular,
            size: 0,
            mode: meta.mode,
            uid: u64::from(meta.uid),
            gid: u64::from(meta.gid),
            mtime: self.clamp(meta.mtime),
            atime: None,
            dev: (0, 0),
            xattrs: Vec::new(),
        };
        match meta.kind {
            FileKind::Socket => {
                self.skipped += 1;
                return Ok(());
            }
            FileKind::Regular => {
                if meta.nlink > 1 {
                    if let Some(first) = self.links.get(&(meta.dev, meta.ino)) {
                        m.kind = EntryKind::HardLink;
                        m.link = first.clone();
                        return self.w.append(&m, None, &shown);
                    }
                }
                let (mut file, fmeta) = open_regular(dir, name, rel)?;
                m.size = fmeta.size;
                m.xattrs = self.xattrs(dir, name, rel)?;
                self.w.append(&m, Some(&mut file), &shown)?;
                if fmeta.nlink > 1 {
                    self.links.insert((fmeta.dev, fmeta.ino), path);
                }
                return Ok(());
            }
            FileKind::Dir => m.kind = EntryKind::Dir,
            FileKind::Symlink => {
                m.kind = EntryKind::Symlink;
                m.link = rfs::readlinkat(dir, name, Vec::new()).map_err(ioe("readlink", rel))?.into_bytes();
            }
            FileKind::CharDevice => {
                m.kind = EntryKind::Char;
                m.dev = meta.rdev;
            }
            FileKind::BlockDevice => {
                m.kind = EntryKind::Block;
                m.dev = meta.rdev;
            }
            FileKind::Fifo => m.kind = EntryKind::Fifo,
        }
        m.xattrs = self.xattrs(dir, name, rel)?;
        self.w.append(&m, None, &shown)
    }

    /// Ends the archive: what was written, with the diff id of the whole stream.
    pub(crate) fn finish(self) -> Result<ApplyStats> {
        let skipped = self.skipped;
        let (entries, bytes, diff_id, content_bytes) = self.w.finish()?;
        Ok(ApplyStats { entries, bytes, diff_id, skipped, xattrs_skipped: 0, content_bytes })
    }
}
