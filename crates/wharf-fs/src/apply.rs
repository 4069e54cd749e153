//! Applying an OCI/Docker layer (tar, tar+gzip or tar+zstd) into a snapshot directory.
//!
//! Policy for hostile or odd input (Docker's choices where it has one):
//! - **Absolute paths** are relative to the root (`/etc/x` is `<root>/etc/x`), for member paths
//!   and hard-link targets alike.
//! - **`..` climbing above the root** (`../x`, `a/../../x`, a whiteout `../.wh.x`, a hard link to
//!   `../../etc/passwd`) is an error ([`FsError::Escape`]); the apply stops.
//! - **Symlinks** are created with their target verbatim. Later members whose path goes through
//!   one are resolved by the kernel *inside the root* (`RESOLVE_IN_ROOT`): `a -> /etc` then
//!   `a/passwd` writes `<root>/etc/passwd`, or fails (`ENOENT`) when `<root>/etc` does not exist.
//!   Missing parents are created, but never through a dangling symlink (that is an error).
//! - **Hard links** name their target inside the root; the target's final component is linked
//!   itself, never followed, so a link can only reach an inode inside the root. A missing target
//!   or a directory target is an error.
//! - **Limits** ([`ApplyOptions`]): a path or link target longer than `max_path_len`, a PAX or
//!   GNU long-name record larger than `max_header_size`, or more than `max_layer_size`
//!   uncompressed bytes is an error.
//! - **Skipped** (counted in [`ApplyStats::skipped`]): character and block devices when
//!   `allow_devices` is false; aufs metadata (`.wh..wh.*` other than the opaque marker);
//!   whiteouts naming a path this same layer created (the spec says a whiteout only hides lower
//!   content). Xattrs the filesystem refuses (`EPERM`, `ENOTSUP`, `EINVAL`, as Docker ignores
//!   them) and `trusted.overlay.*` xattrs from the layer (overlayfs internals; the opaque flag
//!   only ever comes from `.wh..wh..opq`) are counted in [`ApplyStats::xattrs_skipped`].
//! - **Unsupported** member types (GNU sparse, volume labels, …) are an error, as in Docker.
//! - Hard links get no metadata of their own (they share the target's inode).
//!
//! An error leaves the snapshot partly applied: callers discard it. Nothing is ever written
//! outside the root.
//!
//! Directory times are applied after all members (deepest last member first), so creating
//! children does not disturb them. Access times earlier than the modification time are raised to
//! it, as Docker does.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, XattrFlags};
use rustix::io::Errno;

use crate::error::{FsError, Result};
use crate::hash::HashReader;
use crate::path::RelPath;
use crate::root::{self, FileKind, FileTime, NodeKind, Root};
use crate::tar_read::{EntryKind, Limits, Member, TarReader};

/// How whiteouts are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhiteoutMode {
    /// The snapshot directory is a full copy of the lower layers (vfs): `.wh.NAME` deletes
    /// NAME; an opaque marker deletes every child of its directory this layer did not create.
    Remove,
    /// The snapshot directory is an overlayfs upper dir: `.wh.NAME` becomes a 0:0 character
    /// device NAME; an opaque marker sets `trusted.overlay.opaque=y` on its directory.
    Overlay,
}

/// One contiguous range of a user-namespace id map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMapping {
    /// First id inside the container.
    pub container_id: u32,
    /// The host id it maps to.
    pub host_id: u32,
    /// Number of ids in the range.
    pub size: u32,
}

/// Container-to-host id maps (Docker's `--userns-remap`); an id outside every range is an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdMap {
    /// Uid ranges.
    pub uids: Vec<IdMapping>,
    /// Gid ranges.
    pub gids: Vec<IdMapping>,
}

fn map_id(list: &[IdMapping], id: u64) -> Option<u32> {
    list.iter().find_map(|m| {
        let off = id.checked_sub(u64::from(m.container_id))?;
        (off < u64::from(m.size)).then(|| u32::try_from(u64::from(m.host_id) + off).ok()).flatten()
    })
}

/// Options of [`apply_layer`].
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// How whiteouts are applied.
    pub whiteout_mode: WhiteoutMode,
    /// Whether character and block devices are created (else they are skipped). Fifos are
    /// always created.
    pub allow_devices: bool,
    /// Remap uids and gids of the layer.
    pub id_map: Option<IdMap>,
    /// Longest member path or link target accepted, in bytes (default 4096).
    pub max_path_len: usize,
    /// Largest PAX header or GNU long name/link record accepted, in bytes (default 1 MiB).
    pub max_header_size: u64,
    /// Largest uncompressed layer accepted, in bytes (default: no limit).
    pub max_layer_size: Option<u64>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            whiteout_mode: WhiteoutMode::Remove,
            allow_devices: true,
            id_map: None,
            max_path_len: 4096,
            max_header_size: 1 << 20,
            max_layer_size: None,
        }
    }
}

/// What an apply or a diff did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApplyStats {
    /// Tar members (whiteouts and skipped members included, extension headers not).
    pub entries: u64,
    /// Size of the uncompressed tar stream.
    pub bytes: u64,
    /// Bytes of regular-file content written (hard links not counted twice): the layer's size
    /// as `docker images` reports it.
    pub content_bytes: u64,
    /// `sha256:<hex>` of the uncompressed tar stream: the layer's diff id.
    pub diff_id: String,
    /// Members not applied (see the module docs).
    pub skipped: u64,
    /// Extended attributes not applied (see the module docs).
    pub xattrs_skipped: u64,
}

/// The compression of a layer, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain tar.
    None,
    /// gzip (`1f 8b`).
    Gzip,
    /// zstd (`28 b5 2f fd`).
    Zstd,
}

impl Compression {
    /// Detects the compression from magic bytes.
    pub fn detect(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// Applies a layer read from `reader` (compression detected by magic bytes) into `root`.
pub fn apply_layer(root: &Root, reader: impl Read, opts: &ApplyOptions) -> Result<ApplyStats> {
    unpack(root, reader, opts, &Extraction::layer())
}

/// What kind of unpacking the applier does: a layer (the default), or an extraction into a
/// directory as `docker cp` does ([`crate::archive::extract`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct Extraction {
    /// Prefix of every member path and hard-link target: the extraction directory (empty for a
    /// layer). Member paths and hard-link targets may not climb above it.
    pub(crate) base: RelPath,
    /// `docker cp` semantics: `.wh.` names are ordinary files, a member naming the extraction
    /// directory itself is skipped (`.`) or only gives it its metadata (`/`), and a symlink
    /// whose target climbs above the extraction directory is refused (dockerd's breakout check).
    pub(crate) plain: bool,
    /// Refuse to replace a directory with a non-directory or the reverse.
    pub(crate) no_overwrite_dir_non_dir: bool,
    /// Owner of every member (dockerd's `copyUIDGID`), instead of the owner in the tar.
    pub(crate) chown: Option<(u32, u32)>,
}

impl Extraction {
    fn layer() -> Extraction {
        Extraction::default()
    }
}

/// Unpacks a tar stream (compression detected by magic bytes) into `root` as `ex` says.
pub(crate) fn unpack(root: &Root, mut reader: impl Read, opts: &ApplyOptions, ex: &Extraction) -> Result<ApplyStats> {
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < head.len() {
        match reader.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FsError::io("read layer", "", e)),
        }
    }
    let stream = io::Cursor::new(head[..got].to_vec()).chain(reader);
    match Compression::detect(&head[..got]) {
        Compression::Gzip => apply_tar(root, flate2::read::MultiGzDecoder::new(stream), opts, ex),
        Compression::Zstd => {
            let dec = zstd::stream::read::Decoder::new(stream).map_err(|e| FsError::io("zstd", "", e))?;
            apply_tar(root, dec, opts, ex)
        }
        Compression::None => apply_tar(root, stream, opts, ex),
    }
}

fn apply_tar(root: &Root, tar: impl Read, opts: &ApplyOptions, ex: &Extraction) -> Result<ApplyStats> {
    let limits = Limits { max_path: opts.max_path_len, max_record: opts.max_header_size };
    let mut tar = TarReader::new(HashReader::new(tar, opts.max_layer_size), limits);
    let mut st =
        Applier { root, opts, ex, touched: HashSet::new(), dir_times: Vec::new(), stats: ApplyStats::default() };
    let result = (|| {
        while let Some(m) = tar.next_member()? {
            st.stats.entries += 1;
            st.member(&mut tar, m)?;
        }
        st.finish_dirs()
    })();
    let mut inner = tar.into_inner();
    // The diff id covers the whole uncompressed stream, end-of-archive blocks and any
    // trailing data included.
    let result = result
        .and_then(|()| io::copy(&mut inner, &mut io::sink()).map(drop).map_err(|e| FsError::io("read layer", "", e)));
    if inner.exceeded {
        return Err(FsError::TooLarge { limit: opts.max_layer_size.unwrap_or(0) });
    }
    result?;
    let (bytes, diff_id) = inner.finish();
    Ok(ApplyStats { bytes, diff_id, ..st.stats })
}

struct Applier<'a> {
    root: &'a Root,
    opts: &'a ApplyOptions,
    ex: &'a Extraction,
    /// Paths this layer created or passed through (lexical, as written in the layer).
    touched: HashSet<RelPath>,
    dir_times: Vec<(RelPath, FileTime, FileTime)>,
    stats: ApplyStats,
}

fn errno_of(e: &FsError) -> Option<Errno> {
    e.errno().map(Errno::from_raw_os_error)
}

impl Applier<'_> {
    fn owner(&self, m: &Member) -> Result<(u32, u32)> {
        if let Some(owner) = self.ex.chown {
            return Ok(owner);
        }
        match &self.opts.id_map {
            Some(map) => Ok((
                map_id(&map.uids, m.uid).ok_or(FsError::Unmapped { kind: "uid", id: m.uid })?,
                map_id(&map.gids, m.gid).ok_or(FsError::Unmapped { kind: "gid", id: m.gid })?,
            )),
            None => Ok((
                u32::try_from(m.uid).map_err(|_| FsError::Unmapped { kind: "uid", id: m.uid })?,
                u32::try_from(m.gid).map_err(|_| FsError::Unmapped { kind: "gid", id: m.gid })?,
            )),
        }
    }

    /// Owner of directories created implicitly: the (mapped) root user.
    fn parent_owner(&self) -> Option<(u32, u32)> {
        let map = self.opts.id_map.as_ref()?;
        Some((map_id(&map.uids, 0)?, map_id(&map.gids, 0)?))
    }

    fn touch(&mut self, rel: &RelPath) {
        for a in rel.ancestors() {
            self.touched.insert(a);
        }
        self.touched.insert(rel.clone());
    }

    /// The member that names the root (a layer) or the extraction directory (`docker cp`).
    fn top_member(&mut self, m: &Member) -> Result<()> {
        let rel = self.ex.base.clone();
        if self.ex.plain {
            // dockerd: `.` is skipped; a non-directory is refused with no_overwrite_dir_non_dir
            // (never allowed to replace the extraction directory here); `/` gives it metadata.
            if m.kind != EntryKind::Dir {
                if self.ex.no_overwrite_dir_non_dir {
                    return Err(FsError::WouldOverwrite {
                        path: rel.to_abs_path(),
                        dest: rel.to_abs_path(),
                        existing_is_dir: true,
                    });
                }
                self.stats.skipped += 1;
                return Ok(());
            }
            if !m.path.starts_with(b"/") {
                return Ok(());
            }
        } else if m.kind != EntryKind::Dir {
            return Err(FsError::InvalidPath {
                path: rel.to_path(),
                reason: "a non-directory member replaces the root",
            });
        }
        let fd = self.root.resolve_dir(&rel)?;
        self.finish_meta(fd, OsStr::new("."), &rel, m, None)
    }

    fn member(&mut self, tar: &mut impl Read, m: Member) -> Result<()> {
        let inner = RelPath::clean(&m.path)?;
        if inner.is_root() {
            return self.top_member(&m);
        }
        let rel = self.ex.base.concat(&inner);
        let (parent, name) = rel.split_last().expect("a member below the base has a name");
        let name = name.to_os_string();
        if !self.ex.plain {
            if let Some(target) = name.as_bytes().strip_prefix(b".wh.") {
                return self.whiteout(&parent, target);
            }
        }
        if matches!(m.kind, EntryKind::Char | EntryKind::Block) && !self.opts.allow_devices {
            self.stats.skipped += 1;
            return Ok(());
        }
        if self.ex.plain && m.kind == EntryKind::Symlink {
            // dockerd refuses a symlink whose target, taken relative to the link's directory,
            // climbs above the extraction directory (an absolute target counts as relative).
            let mut joined = inner.split_last().map(|(p, _)| p.to_bytes()).unwrap_or_default();
            joined.push(b'/');
            joined.extend_from_slice(&m.link);
            if RelPath::clean(&joined).is_err() {
                let mut shown = m.path.clone();
                shown.extend_from_slice(b" -> ");
                shown.extend_from_slice(&m.link);
                return Err(FsError::Escape { path: crate::path::lossy_path(&shown) });
            }
        }
        let (uid, gid) = self.owner(&m)?;
        if !self.ex.plain {
            self.touch(&rel);
        }
        let dir = self.root.mkdir_all_fd(&parent, 0o755, self.parent_owner())?;
        let shown = rel.to_path();
        let io = |op: &'static str| {
            let shown = shown.clone();
            move |e: Errno| FsError::io(op, shown, e)
        };
        if let Some(existing) = root::stat_at(dir.as_fd(), &name).map_err(io("lstat"))? {
            let (was_dir, is_dir) = (existing.kind == FileKind::Dir, m.kind == EntryKind::Dir);
            if self.ex.no_overwrite_dir_non_dir && was_dir != is_dir {
                return Err(FsError::WouldOverwrite {
                    path: rel.to_abs_path(),
                    dest: self.ex.base.to_abs_path(),
                    existing_is_dir: was_dir,
                });
            }
            if !(was_dir && is_dir) {
                root::remove_all_at(dir.as_fd(), &name).map_err(io("remove"))?;
            }
        }
        match m.kind {
            EntryKind::Regular => {
                let fd = rfs::openat(
                    &dir,
                    &name,
                    OFlags::WRONLY
                        | OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC
                        | OFlags::NOCTTY,
                    Mode::from_raw_mode(0o600),
                )
                .map_err(io("create"))?;
                let mut file = File::from(fd);
                let copied = io::copy(tar, &mut file).map_err(|e| {
                    if e.kind() == io::ErrorKind::UnexpectedEof {
                        FsError::Malformed {
                            entry: self.stats.entries - 1,
                            reason: "archive truncated inside a file".into(),
                        }
                    } else {
                        FsError::io("write", shown.clone(), e)
                    }
                })?;
                if copied != m.size {
                    return Err(FsError::Malformed { entry: self.stats.entries - 1, reason: "short file data".into() });
                }
                self.stats.content_bytes += copied;
                let fd = OwnedFd::from(file);
                rfs::fchown(&fd, Some(rfs::Uid::from_raw(uid)), Some(rfs::Gid::from_raw(gid))).map_err(io("chown"))?;
                rfs::fchmod(&fd, Mode::from_raw_mode(m.mode)).map_err(io("chmod"))?;
                for (k, v) in &m.xattrs {
                    if self.keep_xattr(k) {
                        let r = rfs::fsetxattr(&fd, OsStr::from_bytes(k), v, XattrFlags::empty());
                        self.xattr_result(r, &shown)?;
                    }
                }
                let (atime, mtime) = times(&m);
                root::futimes(fd.as_fd(), atime, mtime).map_err(io("utimes"))?;
                Ok(())
            }
            EntryKind::Dir => {
                match rfs::mkdirat(&dir, &name, Mode::from_raw_mode(0o700)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(io("mkdir")(e)),
                }
                self.finish_meta(dir, &name, &rel, &m, Some((uid, gid)))
            }
            EntryKind::Symlink => {
                rfs::symlinkat(OsStr::from_bytes(&m.link), &dir, &name).map_err(io("symlink"))?;
                self.finish_meta(dir, &name, &rel, &m, Some((uid, gid)))
            }
            EntryKind::HardLink => {
                // Relative to the extraction directory (the root for a layer), never above it.
                let target = RelPath::clean(&m.link)?;
                if target.is_root() {
                    return Err(FsError::InvalidPath { path: shown, reason: "hard link to the root" });
                }
                let target = self.ex.base.concat(&target);
                let (tdir, tname) = self.root.parent(&target)?;
                rfs::linkat(&tdir, &tname, &dir, &name, AtFlags::empty()).map_err(io("link"))
            }
            EntryKind::Char | EntryKind::Block | EntryKind::Fifo => {
                let kind = match m.kind {
                    EntryKind::Char => NodeKind::Char,
                    EntryKind::Block => NodeKind::Block,
                    _ => NodeKind::Fifo,
                };
                root::mknod_at(dir.as_fd(), &name, kind, 0o600, m.dev).map_err(io("mknod"))?;
                self.finish_meta(dir, &name, &rel, &m, Some((uid, gid)))
            }
        }
    }

    /// Owner, mode, xattrs and times of a non-regular object (`owner` None: the root, whose
    /// owner is mapped here). Directory times are deferred.
    fn finish_meta(
        &mut self,
        dir: OwnedFd,
        name: &OsStr,
        rel: &RelPath,
        m: &Member,
        owner: Option<(u32, u32)>,
    ) -> Result<()> {
        let shown = rel.to_path();
        let io = |op: &'static str| {
            let shown = shown.clone();
            move |e: Errno| FsError::io(op, shown, e)
        };
        let (uid, gid) = match owner {
            Some(o) => o,
            None => self.owner(m)?,
        };
        root::chown_at(dir.as_fd(), name, uid, gid).map_err(io("chown"))?;
        if m.kind != EntryKind::Symlink {
            root::chmod_at(dir.as_fd(), name, m.mode).map_err(io("chmod"))?;
        }
        for (k, v) in &m.xattrs {
            if self.keep_xattr(k) {
                let r = root::setxattr_at(dir.as_fd(), name, OsStr::from_bytes(k), v);
                self.xattr_result(r, &shown)?;
            }
        }
        let (atime, mtime) = times(m);
        if m.kind == EntryKind::Dir {
            self.dir_times.push((rel.clone(), atime, mtime));
            Ok(())
        } else {
            root::times_at(dir.as_fd(), name, atime, mtime).map_err(io("utimes"))
        }
    }

    fn keep_xattr(&mut self, key: &[u8]) -> bool {
        if key.starts_with(b"trusted.overlay.") || key.is_empty() {
            self.stats.xattrs_skipped += 1;
            return false;
        }
        true
    }

    fn xattr_result(&mut self, r: std::result::Result<(), Errno>, shown: &std::path::Path) -> Result<()> {
        match r {
            Ok(()) => Ok(()),
            Err(Errno::PERM) | Err(Errno::NOTSUP) | Err(Errno::INVAL) => {
                self.stats.xattrs_skipped += 1;
                Ok(())
            }
            Err(e) => Err(FsError::io("setxattr", shown, e)),
        }
    }

    fn whiteout(&mut self, parent: &RelPath, target: &[u8]) -> Result<()> {
        if target == b".wh..opq" {
            return self.opaque(parent);
        }
        if target.starts_with(b".wh.") {
            self.stats.skipped += 1; // aufs metadata (.wh..wh.plnk, .wh..wh.aufs)
            return Ok(());
        }
        if target.is_empty() || target == b"." || target == b".." {
            let mut p = parent.to_bytes();
            p.extend_from_slice(b"/.wh.");
            p.extend_from_slice(target);
            return Err(FsError::InvalidPath { path: crate::path::lossy_path(&p), reason: "whiteout names no file" });
        }
        let name = OsStr::from_bytes(target);
        let trel = parent.join(name);
        if self.touched.contains(&trel) {
            self.stats.skipped += 1;
            return Ok(());
        }
        let shown = trel.to_path();
        match self.opts.whiteout_mode {
            WhiteoutMode::Remove => {
                let dir = match self.root.resolve_dir(parent) {
                    Ok(fd) => fd,
                    Err(e) if matches!(errno_of(&e), Some(Errno::NOENT) | Some(Errno::NOTDIR)) => return Ok(()),
                    Err(e) => return Err(e),
                };
                root::remove_all_at(dir.as_fd(), name).map_err(|e| FsError::io("remove", shown, e))
            }
            WhiteoutMode::Overlay => {
                self.touch(parent);
                let dir = self.root.mkdir_all_fd(parent, 0o755, self.parent_owner())?;
                root::remove_all_at(dir.as_fd(), name).map_err(|e| FsError::io("remove", shown.clone(), e))?;
                root::mknod_at(dir.as_fd(), name, NodeKind::Char, 0, (0, 0))
                    .map_err(|e| FsError::io("mknod whiteout", shown, e))
            }
        }
    }

    fn opaque(&mut self, dir_rel: &RelPath) -> Result<()> {
        match self.opts.whiteout_mode {
            WhiteoutMode::Overlay => {
                self.touch(dir_rel);
                let fd = self.root.mkdir_all_fd(dir_rel, 0o755, self.parent_owner())?;
                root::setxattr_at(fd.as_fd(), OsStr::new("."), OsStr::new("trusted.overlay.opaque"), b"y")
                    .map_err(|e| FsError::io("set opaque xattr on", dir_rel.to_path(), e))
            }
            WhiteoutMode::Remove => {
                let fd = match self.root.resolve_dir(dir_rel) {
                    Ok(fd) => fd,
                    Err(e) if matches!(errno_of(&e), Some(Errno::NOENT) | Some(Errno::NOTDIR)) => return Ok(()),
                    Err(e) => return Err(e),
                };
                self.clear_untouched(dir_rel, fd)
            }
        }
    }

    /// Removes every child of `dir` this layer did not touch, descending into touched
    /// directories (an opaque directory hides all lower descendants).
    fn clear_untouched(&self, rel: &RelPath, dir: OwnedFd) -> Result<()> {
        let err = |op: &'static str, p: &RelPath| {
            let p = p.to_path();
            move |e: Errno| FsError::io(op, p, e)
        };
        for name in root::read_dir_fd(&dir).map_err(err("readdir", rel))? {
            let child = rel.join(&name);
            if !self.touched.contains(&child) {
                root::remove_all_at(dir.as_fd(), &name).map_err(err("remove", &child))?;
            } else if root::stat_at(dir.as_fd(), &name)
                .map_err(err("lstat", &child))?
                .is_some_and(|m| m.kind == FileKind::Dir)
            {
                let sub = root::open_subdir(dir.as_fd(), &name).map_err(err("open", &child))?;
                self.clear_untouched(&child, sub)?;
            }
        }
        Ok(())
    }

    fn finish_dirs(&mut self) -> Result<()> {
        for (rel, atime, mtime) in self.dir_times.iter().rev() {
            let (dir, name) = match self.root.parent(rel) {
                Ok(x) => x,
                Err(e) if matches!(errno_of(&e), Some(Errno::NOENT) | Some(Errno::NOTDIR)) => continue,
                Err(e) => return Err(e),
            };
            match root::times_at(dir.as_fd(), &name, *atime, *mtime) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(e) => return Err(FsError::io("utimes", rel.to_path(), e)),
            }
        }
        Ok(())
    }
}

/// (atime, mtime) of a member; an atime before the mtime is raised to it, as Docker does.
fn times(m: &Member) -> (FileTime, FileTime) {
    let atime = m.atime.unwrap_or(m.mtime).max(m.mtime);
    (atime, m.mtime)
}
