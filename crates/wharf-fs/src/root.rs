//! [`Root`]: a directory handle through which every path is resolved *inside* the directory.
//!
//! Parent directories are resolved with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`, so
//! `..` and symlinks (absolute or relative) are clamped at the root by the kernel. The final
//! component is then created, changed or removed with a `*at` call relative to that parent fd,
//! without following it when it is a symlink. A symlink planted in the tree therefore cannot
//! redirect a write outside the root.
//!
//! Extended attributes: on regular files and directories they are set through an fd opened with
//! `O_NOFOLLOW` (`fsetxattr`). On symlinks, devices, fifos and sockets (which must not be opened)
//! they are set with `lsetxattr` on `/proc/self/fd/<parent fd>/<name>`: the magic link names the
//! already-resolved parent directory, and `lsetxattr` does not follow the final component.
//! Modes are changed the same way (`fchmod` on an open fd, or `chmod` on the `/proc/self/fd`
//! magic link of an `O_PATH | O_NOFOLLOW` fd); symlinks have no mode on Linux and are skipped.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, ResolveFlags, Timespec, Timestamps, XattrFlags, CWD};
use rustix::io::Errno;

use crate::error::{FsError, Result};
use crate::path::RelPath;

/// A point in time as stored in inodes and tar headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileTime {
    /// Seconds since the Unix epoch (may be negative).
    pub sec: i64,
    /// Nanoseconds, below 1 000 000 000.
    pub nsec: u32,
}

impl FileTime {
    /// Whole seconds.
    pub fn from_secs(sec: i64) -> FileTime {
        FileTime { sec, nsec: 0 }
    }

    fn to_timespec(self) -> Timespec {
        Timespec { tv_sec: self.sec, tv_nsec: i64::from(self.nsec.min(999_999_999)) as _ }
    }
}

/// The type of a filesystem object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A regular file.
    Regular,
    /// A directory.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A named pipe.
    Fifo,
    /// A unix socket.
    Socket,
}

/// Which special file [`Root::mknod`] creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// A character device.
    Char,
    /// A block device.
    Block,
    /// A named pipe (the device number is ignored).
    Fifo,
}

/// What `lstat` says about an object inside a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// Its type.
    pub kind: FileKind,
    /// Permission bits plus setuid/setgid/sticky (`mode & 0o7777`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Number of hard links.
    pub nlink: u64,
    /// Device of the filesystem holding it.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Device number (major, minor) of a character or block device; (0, 0) otherwise.
    pub rdev: (u32, u32),
    /// Last modification.
    pub mtime: FileTime,
    /// Last access.
    pub atime: FileTime,
}

impl Metadata {
    #[allow(clippy::unnecessary_cast)]
    pub(crate) fn from_stat(st: &rfs::Stat) -> Metadata {
        let ft = FileType::from_raw_mode(st.st_mode as _);
        let kind = match ft {
            FileType::Directory => FileKind::Dir,
            FileType::Symlink => FileKind::Symlink,
            FileType::CharacterDevice => FileKind::CharDevice,
            FileType::BlockDevice => FileKind::BlockDevice,
            FileType::Fifo => FileKind::Fifo,
            FileType::Socket => FileKind::Socket,
            _ => FileKind::Regular,
        };
        let rdev = st.st_rdev as u64;
        Metadata {
            kind,
            mode: (st.st_mode as u32) & 0o7777,
            uid: st.st_uid as u32,
            gid: st.st_gid as u32,
            size: st.st_size as u64,
            nlink: st.st_nlink as u64,
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            rdev: (rfs::major(rdev as _), rfs::minor(rdev as _)),
            mtime: FileTime { sec: st.st_mtime as i64, nsec: st.st_mtime_nsec as u32 },
            atime: FileTime { sec: st.st_atime as i64, nsec: st.st_atime_nsec as u32 },
        }
    }
}

/// A directory that confines every path given to its methods (see the module docs).
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
    path: PathBuf,
}

const RESOLVE: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);

impl Root {
    /// Opens `dir` (a trusted host path, e.g. a snapshot directory) as a root.
    pub fn new(dir: impl AsRef<Path>) -> Result<Root> {
        let dir = dir.as_ref();
        let fd = rfs::open(dir, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| FsError::io("open root", dir, e))?;
        Ok(Root { fd, path: dir.to_path_buf() })
    }

    /// The host path this root was opened at (for messages; never used to resolve).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens a directory inside the root (following symlinks inside it) as an `O_PATH` fd.
    pub(crate) fn resolve_dir(&self, rel: &RelPath) -> Result<OwnedFd> {
        self.openat2(rel, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC)
            .map_err(|e| FsError::io("resolve", rel.to_path(), e))
    }

    fn openat2(&self, rel: &RelPath, flags: OFlags) -> std::result::Result<OwnedFd, Errno> {
        let p = rel.to_path();
        let mut tries = 0;
        loop {
            match rfs::openat2(&self.fd, &p, flags, Mode::empty(), RESOLVE) {
                // EAGAIN: a concurrent rename or mount raced the resolution; try again.
                Err(Errno::AGAIN) if tries < 32 => tries += 1,
                other => return other,
            }
        }
    }

    /// The resolved parent directory of `rel` and its final component; the root itself is
    /// `(root, ".")`.
    pub(crate) fn parent(&self, rel: &RelPath) -> Result<(OwnedFd, OsString)> {
        match rel.split_last() {
            Some((parent, name)) => Ok((self.resolve_dir(&parent)?, name.to_os_string())),
            None => Ok((self.resolve_dir(rel)?, OsString::from("."))),
        }
    }

    /// Creates `rel` and its missing parents as directories (`mode`, subject to the umask),
    /// resolving every existing component inside the root. With `owner`, directories created
    /// here are chowned to it. Returns the final directory as an `O_PATH` fd.
    pub(crate) fn mkdir_all_fd(&self, rel: &RelPath, mode: u32, owner: Option<(u32, u32)>) -> Result<OwnedFd> {
        match self.openat2(rel, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC) {
            Ok(fd) => return Ok(fd),
            Err(Errno::NOENT) => {}
            Err(e) => return Err(FsError::io("resolve", rel.to_path(), e)),
        }
        let mut cur = self.resolve_dir(&RelPath::default())?;
        let mut sofar = RelPath::default();
        for comp in rel.comps() {
            sofar = sofar.join(comp);
            let next = match self.openat2(&sofar, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => {
                    match rfs::mkdirat(&cur, comp.as_os_str(), Mode::from_raw_mode(mode & 0o7777)) {
                        Ok(()) => {
                            if let Some((uid, gid)) = owner {
                                chown_at(cur.as_fd(), comp, uid, gid)
                                    .map_err(|e| FsError::io("chown", sofar.to_path(), e))?;
                            }
                        }
                        Err(Errno::EXIST) => {}
                        Err(e) => return Err(FsError::io("mkdir", sofar.to_path(), e)),
                    }
                    // Re-resolve from the root: a dangling symlink in the way fails here
                    // (ENOENT) instead of being followed.
                    self.resolve_dir(&sofar)?
                }
                Err(e) => return Err(FsError::io("resolve", sofar.to_path(), e)),
            };
            cur = next;
        }
        Ok(cur)
    }

    /// Opens a regular file inside the root for reading (symlinks are followed, inside the
    /// root). Anything else (a fifo, a device, a directory) is refused without being opened:
    /// the object is first reached with `O_PATH`, checked, then reopened through its fd.
    pub fn open(&self, path: impl AsRef<Path>) -> Result<File> {
        let rel = RelPath::from_path(path.as_ref())?;
        let fd =
            self.openat2(&rel, OFlags::PATH | OFlags::CLOEXEC).map_err(|e| FsError::io("open", rel.to_path(), e))?;
        let st = rfs::fstat(&fd).map_err(|e| FsError::io("stat", rel.to_path(), e))?;
        if FileType::from_raw_mode(st.st_mode as _) != FileType::RegularFile {
            return Err(FsError::InvalidPath { path: rel.to_path(), reason: "not a regular file" });
        }
        let file =
            rfs::open(proc_path(fd.as_fd(), None), OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY, Mode::empty())
                .map_err(|e| FsError::io("open", rel.to_path(), e))?;
        Ok(File::from(file))
    }

    /// Creates (or truncates) a regular file for writing with permission `mode`. The parent
    /// must exist; a symlink at the final component is refused (`ELOOP`), not followed.
    pub fn create_file(&self, path: impl AsRef<Path>, mode: u32) -> Result<File> {
        let rel = RelPath::from_path(path.as_ref())?;
        let (dir, name) = self.parent_nonroot(&rel)?;
        let fd = rfs::openat(
            &dir,
            &name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY,
            Mode::from_raw_mode(mode & 0o7777),
        )
        .map_err(|e| FsError::io("create", rel.to_path(), e))?;
        let st = rfs::fstat(&fd).map_err(|e| FsError::io("stat", rel.to_path(), e))?;
        if FileType::from_raw_mode(st.st_mode as _) != FileType::RegularFile {
            return Err(FsError::InvalidPath { path: rel.to_path(), reason: "not a regular file" });
        }
        rfs::fchmod(&fd, Mode::from_raw_mode(mode & 0o7777)).map_err(|e| FsError::io("chmod", rel.to_path(), e))?;
        Ok(File::from(fd))
    }

    /// Creates a directory and its missing parents inside the root (`mode` applies to the ones
    /// created, subject to the umask). An existing directory (or symlink to one, inside the
    /// root) is fine.
    pub fn mkdir_all(&self, path: impl AsRef<Path>, mode: u32) -> Result<()> {
        let rel = RelPath::from_path(path.as_ref())?;
        self.mkdir_all_fd(&rel, mode, None).map(drop)
    }

    /// Creates a symlink at `path` whose target is stored verbatim (it is only ever resolved
    /// later, inside the root, by whoever follows it).
    pub fn symlink(&self, target: impl AsRef<Path>, path: impl AsRef<Path>) -> Result<()> {
        let rel = RelPath::from_path(path.as_ref())?;
        let (dir, name) = self.parent_nonroot(&rel)?;
        rfs::symlinkat(target.as_ref(), &dir, &name).map_err(|e| FsError::io("symlink", rel.to_path(), e))
    }

    /// Creates `new` as a hard link to `existing`; both are resolved inside the root. A final
    /// component of `existing` that is a symlink is linked itself (as `link(2)` does), never
    /// followed, so the link can only ever name an inode inside the root.
    pub fn hard_link(&self, existing: impl AsRef<Path>, new: impl AsRef<Path>) -> Result<()> {
        let from = RelPath::from_path(existing.as_ref())?;
        let to = RelPath::from_path(new.as_ref())?;
        let (fdir, fname) = self.parent_nonroot(&from)?;
        let (tdir, tname) = self.parent_nonroot(&to)?;
        rfs::linkat(&fdir, &fname, &tdir, &tname, AtFlags::empty()).map_err(|e| FsError::io("link", to.to_path(), e))
    }

    /// Creates a device node or fifo with permission `mode` and device number `(major, minor)`.
    pub fn mknod(&self, path: impl AsRef<Path>, kind: NodeKind, mode: u32, dev: (u32, u32)) -> Result<()> {
        let rel = RelPath::from_path(path.as_ref())?;
        let (dir, name) = self.parent_nonroot(&rel)?;
        mknod_at(dir.as_fd(), &name, kind, mode, dev).map_err(|e| FsError::io("mknod", rel.to_path(), e))?;
        chmod_at(dir.as_fd(), &name, mode).map_err(|e| FsError::io("chmod", rel.to_path(), e))
    }

    /// Removes `path` and, when it is a directory, everything below it; a missing path is fine.
    /// Symlinks are removed, never followed. The root itself cannot be removed.
    pub fn remove_all(&self, path: impl AsRef<Path>) -> Result<()> {
        let rel = RelPath::from_path(path.as_ref())?;
        let (dir, name) = self.parent_nonroot(&rel)?;
        remove_all_at(dir.as_fd(), &name).map_err(|e| FsError::io("remove", rel.to_path(), e))
    }

    /// Changes owner and group without following a final symlink.
    pub fn set_owner(&self, path: impl AsRef<Path>, uid: u32, gid: u32) -> Result<()> {
        let rel = RelPath::from_path(path.as_ref())?;
        let (dir, name) = self.parent(&rel)?;
        chown_at(dir.as_fd(), &name, uid, gid).map_err(|e| FsError::io("chown", rel.to_path(), e))
    }

    /// Changes the mode (`0o7777` bits) without following a final symlink (a symlink is left
    /// alone: Linux symlinks have no mode).
    pub fn set_mode(&self, path: impl AsRef<Path>, mode: u32) -> Result<()> {
        let rel = RelPath::from_path(path.as_ref())?;
        let (dir, name) = self.parent(&rel)?;
        chmod_at(dir.as_fd(), &name, mode).map_err(|e| FsError::io("chmod", rel.to_path(), e))
    }

    /// Sets access and modification times without following a final symlink.
    pub fn set_times(&self, path: impl AsRef<Path>, atime: FileTime, mtime: FileTime) -> Result<()> {
        let rel = RelPath::from_path(path.as_ref())?;
        let (dir, name) = self.parent(&rel)?;
        times_at(dir.as_fd(), &name, atime, mtime).map_err(|e| FsError::io("utimes", rel.to_path(), e))
    }

    /// Sets an extended attribute without following a final symlink (see the module docs).
    pub fn set_xattr(&self, path: impl AsRef<Path>, name: impl AsRef<OsStr>, value: &[u8]) -> Result<()> {
        let rel = RelPath::from_path(path.as_ref())?;
        let (dir, fname) = self.parent(&rel)?;
        setxattr_at(dir.as_fd(), &fname, name.as_ref(), value).map_err(|e| FsError::io("setxattr", rel.to_path(), e))
    }

    /// The extended attributes of `path` (not following a final symlink), sorted by name.
    pub fn xattrs(&self, path: impl AsRef<Path>) -> Result<Vec<(OsString, Vec<u8>)>> {
        let rel = RelPath::from_path(path.as_ref())?;
        let (dir, name) = self.parent(&rel)?;
        xattrs_at(dir.as_fd(), &name).map_err(|e| FsError::io("listxattr", rel.to_path(), e))
    }

    /// The names in a directory (no `.` or `..`), sorted bytewise.
    pub fn read_dir(&self, path: impl AsRef<Path>) -> Result<Vec<OsString>> {
        let rel = RelPath::from_path(path.as_ref())?;
        let fd = self
            .openat2(&rel, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC)
            .map_err(|e| FsError::io("opendir", rel.to_path(), e))?;
        read_dir_fd(fd).map_err(|e| FsError::io("readdir", rel.to_path(), e))
    }

    /// `lstat` of `path`: a final symlink is described, not followed.
    pub fn metadata(&self, path: impl AsRef<Path>) -> Result<Metadata> {
        let rel = RelPath::from_path(path.as_ref())?;
        let (dir, name) = self.parent(&rel)?;
        let st =
            rfs::statat(&dir, &name, AtFlags::SYMLINK_NOFOLLOW).map_err(|e| FsError::io("lstat", rel.to_path(), e))?;
        Ok(Metadata::from_stat(&st))
    }

    /// The target of the symlink at `path`, verbatim.
    pub fn read_link(&self, path: impl AsRef<Path>) -> Result<PathBuf> {
        let rel = RelPath::from_path(path.as_ref())?;
        let (dir, name) = self.parent_nonroot(&rel)?;
        let t = rfs::readlinkat(&dir, &name, Vec::new()).map_err(|e| FsError::io("readlink", rel.to_path(), e))?;
        Ok(PathBuf::from(OsString::from_vec(t.into_bytes())))
    }

    /// Writes `bytes` to `path` atomically (see [`crate::write_atomic`]); the parent must exist.
    pub fn write_atomic(&self, path: impl AsRef<Path>, bytes: &[u8], mode: u32) -> Result<()> {
        let rel = RelPath::from_path(path.as_ref())?;
        let (dir, name) = self.parent_nonroot(&rel)?;
        let dir = rfs::openat(&dir, ".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| FsError::io("open", rel.to_path(), e))?;
        crate::atomic::write_atomic_at(dir.as_fd(), &name, &rel.to_path(), bytes, mode)
    }

    fn parent_nonroot(&self, rel: &RelPath) -> Result<(OwnedFd, OsString)> {
        if rel.is_root() {
            return Err(FsError::InvalidPath { path: PathBuf::from("/"), reason: "names the root itself" });
        }
        self.parent(rel)
    }
}

// ---- operations on (resolved parent fd, final component) --------------------------------------

/// `/proc/self/fd/<fd>` or `/proc/self/fd/<fd>/<name>`.
fn proc_path(fd: BorrowedFd<'_>, name: Option<&OsStr>) -> PathBuf {
    let mut p = format!("/proc/self/fd/{}", fd.as_raw_fd()).into_bytes();
    if let Some(name) = name {
        p.push(b'/');
        p.extend_from_slice(name.as_bytes());
    }
    PathBuf::from(OsString::from_vec(p))
}

pub(crate) fn stat_at(dir: BorrowedFd<'_>, name: &OsStr) -> std::result::Result<Option<Metadata>, Errno> {
    match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(Metadata::from_stat(&st))),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) fn chown_at(dir: BorrowedFd<'_>, name: &OsStr, uid: u32, gid: u32) -> std::result::Result<(), Errno> {
    rfs::chownat(dir, name, Some(rfs::Uid::from_raw(uid)), Some(rfs::Gid::from_raw(gid)), AtFlags::SYMLINK_NOFOLLOW)
}

pub(crate) fn chmod_at(dir: BorrowedFd<'_>, name: &OsStr, mode: u32) -> std::result::Result<(), Errno> {
    let fd = rfs::openat(dir, name, OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())?;
    let st = rfs::fstat(&fd)?;
    if FileType::from_raw_mode(st.st_mode as _) == FileType::Symlink {
        return Ok(());
    }
    // The magic link names exactly the inode opened above (never a symlink): no lookup by name.
    rfs::chmodat(CWD, proc_path(fd.as_fd(), None), Mode::from_raw_mode(mode & 0o7777), AtFlags::empty())
}

pub(crate) fn times_at(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    atime: FileTime,
    mtime: FileTime,
) -> std::result::Result<(), Errno> {
    let ts = Timestamps { last_access: atime.to_timespec(), last_modification: mtime.to_timespec() };
    rfs::utimensat(dir, name, &ts, AtFlags::SYMLINK_NOFOLLOW)
}

pub(crate) fn futimes(fd: BorrowedFd<'_>, atime: FileTime, mtime: FileTime) -> std::result::Result<(), Errno> {
    let ts = Timestamps { last_access: atime.to_timespec(), last_modification: mtime.to_timespec() };
    rfs::futimens(fd, &ts)
}

pub(crate) fn mknod_at(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    kind: NodeKind,
    mode: u32,
    dev: (u32, u32),
) -> std::result::Result<(), Errno> {
    let (ft, dev) = match kind {
        NodeKind::Char => (FileType::CharacterDevice, rfs::makedev(dev.0, dev.1)),
        NodeKind::Block => (FileType::BlockDevice, rfs::makedev(dev.0, dev.1)),
        NodeKind::Fifo => (FileType::Fifo, 0),
    };
    rfs::mknodat(dir, name, ft, Mode::from_raw_mode(mode & 0o7777), dev)
}

/// Opens a regular file or directory for reading without following a symlink and without
/// opening anything else (devices, fifos): `None` for other types.
fn open_plain(dir: BorrowedFd<'_>, name: &OsStr) -> std::result::Result<Option<OwnedFd>, Errno> {
    let st = rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
    let ft = FileType::from_raw_mode(st.st_mode as _);
    let extra = match ft {
        FileType::RegularFile => OFlags::empty(),
        FileType::Directory => OFlags::DIRECTORY,
        _ => return Ok(None),
    };
    let fd = rfs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY | extra,
        Mode::empty(),
    )?;
    // The object could have been swapped for a fifo between the stat and the open.
    if FileType::from_raw_mode(rfs::fstat(&fd)?.st_mode as _) != ft {
        return Err(Errno::AGAIN);
    }
    Ok(Some(fd))
}

pub(crate) fn setxattr_at(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    key: &OsStr,
    value: &[u8],
) -> std::result::Result<(), Errno> {
    match open_plain(dir, name)? {
        Some(fd) => rfs::fsetxattr(&fd, key, value, XattrFlags::empty()),
        None => rfs::lsetxattr(proc_path(dir, Some(name)), key, value, XattrFlags::empty()),
    }
}

/// One extended attribute of the object (not following a final symlink); `None` when it is not
/// set or the filesystem has no xattrs.
pub(crate) fn getxattr_at(dir: BorrowedFd<'_>, name: &OsStr, key: &str) -> std::result::Result<Option<Vec<u8>>, Errno> {
    // The magic link names the already-resolved parent; `lgetxattr` does not follow `name`.
    let lpath = proc_path(dir, Some(name));
    match fill(|| rfs::lgetxattr_query(&lpath, key), |buf| rfs::lgetxattr(&lpath, key, buf)) {
        Ok(v) => Ok(Some(v)),
        Err(Errno::NODATA) | Err(Errno::NOTSUP) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every extended attribute of the object, sorted by name. Filesystems without xattr support
/// yield an empty list.
pub(crate) fn xattrs_at(dir: BorrowedFd<'_>, name: &OsStr) -> std::result::Result<Vec<(OsString, Vec<u8>)>, Errno> {
    let plain = open_plain(dir, name)?;
    let lpath = proc_path(dir, Some(name));
    let names = fill(
        || match &plain {
            Some(fd) => rfs::flistxattr_query(fd),
            None => rfs::llistxattr_query(&lpath),
        },
        |buf| match &plain {
            Some(fd) => rfs::flistxattr(fd, buf),
            None => rfs::llistxattr(&lpath, buf),
        },
    );
    let names = match names {
        Ok(n) => n,
        Err(Errno::NOTSUP) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for key in names.split(|b| *b == 0).filter(|k| !k.is_empty()) {
        let key = OsStr::from_bytes(key);
        let value = fill(
            || match &plain {
                Some(fd) => rfs::fgetxattr_query(fd, key),
                None => rfs::lgetxattr_query(&lpath, key),
            },
            |buf| match &plain {
                Some(fd) => rfs::fgetxattr(fd, key, buf),
                None => rfs::lgetxattr(&lpath, key, buf),
            },
        );
        match value {
            Ok(v) => out.push((key.to_os_string(), v)),
            Err(Errno::NODATA) => {} // removed meanwhile
            Err(e) => return Err(e),
        }
    }
    out.sort();
    Ok(out)
}

/// Asks for the size, then fills a buffer of that size, until it is large enough.
fn fill(
    query: impl Fn() -> std::result::Result<usize, Errno>,
    get: impl Fn(&mut [u8]) -> std::result::Result<usize, Errno>,
) -> std::result::Result<Vec<u8>, Errno> {
    for _ in 0..8 {
        let n = query()?;
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut buf = vec![0u8; n];
        match get(&mut buf) {
            Ok(len) => {
                buf.truncate(len);
                return Ok(buf);
            }
            Err(Errno::RANGE) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Errno::RANGE)
}

/// Names in an open directory (any fd that can be reopened with `O_RDONLY`), sorted.
pub(crate) fn read_dir_fd(fd: impl AsFd) -> std::result::Result<Vec<OsString>, Errno> {
    let rd = rfs::openat(fd, ".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    let dir = rfs::Dir::new(rd)?;
    let mut names = Vec::new();
    for ent in dir {
        let ent = ent?;
        let n = ent.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push(OsStr::from_bytes(n).to_os_string());
        }
    }
    names.sort();
    Ok(names)
}

/// Opens a subdirectory without following a symlink, as an `O_PATH` fd.
pub(crate) fn open_subdir(dir: BorrowedFd<'_>, name: &OsStr) -> std::result::Result<OwnedFd, Errno> {
    rfs::openat(dir, name, OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())
}

/// Removes `name` in `dir`, recursively when it is a directory; missing is fine.
pub(crate) fn remove_all_at(dir: BorrowedFd<'_>, name: &OsStr) -> std::result::Result<(), Errno> {
    match rfs::unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => return Ok(()),
        Err(Errno::ISDIR) => {}
        Err(e) => return Err(e),
    }
    let sub = match open_subdir(dir, name) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e),
    };
    clear_dir(sub.as_fd())?;
    match rfs::unlinkat(dir, name, AtFlags::REMOVEDIR) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Removes everything inside a directory.
pub(crate) fn clear_dir(dir: BorrowedFd<'_>) -> std::result::Result<(), Errno> {
    for name in read_dir_fd(dir)? {
        remove_all_at(dir, &name)?;
    }
    Ok(())
}
