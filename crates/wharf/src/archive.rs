//! The local side of `wharf cp`, as moby's `pkg/archive` does it for the docker CLI:
//!
//! * Go's `path/filepath` functions on Unix paths ([`base`], [`dir`], [`join`], [`split`],
//!   [`abs`], `EvalSymlinks`), so the path rules below give docker's results;
//! * `copy.go`: [`CopyInfo`], the trailing `/` and `/.` rules
//!   ([`preserve_trailing_dot_or_separator`], [`split_path_dir_entry`], [`get_rebase_name`]),
//!   [`copy_info_source_path`], [`copy_info_destination_path`] and
//!   [`prepare_archive_copy`] (where an archive is extracted and how its first path element
//!   is renamed, with `RebaseArchiveEntries`' exact string replacement: [`Rename`]);
//! * [`tar_resource`]: `TarResource` / `TarWithOptions` for one file or directory (walked
//!   in name order, symlinks archived as links, hard links as `Link` entries, sockets
//!   skipped), with the renames applied on the way;
//! * [`untar`]: `Untar` with `NoLchown` and `NoOverwriteDirNonDir`, made safe: every
//!   entry is created through directory file descriptors, never following a symlink,
//!   names that are absolute or climb out with `..` are refused, and link targets must
//!   stay inside the destination.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use rustix::fs::{AtFlags, Mode, OFlags, Timespec, Timestamps};

use crate::context::io_text;
use crate::copts::clean_path;
use crate::units::go_quote;

// ---------------------------------------------------------------------------------------
// Go's filepath functions (Unix)
// ---------------------------------------------------------------------------------------

/// `filepath.Base`.
pub(crate) fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

/// `filepath.Dir`.
pub(crate) fn dir(p: &str) -> String {
    let i = p.rfind('/').map_or(0, |i| i + 1);
    clean_path(&p[..i])
}

/// `filepath.Join` of two elements.
pub(crate) fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => String::new(),
        (true, false) => clean_path(b),
        (false, true) => clean_path(a),
        (false, false) => clean_path(&format!("{a}/{b}")),
    }
}

/// `filepath.Split`: everything up to the last `/`, and the rest.
pub(crate) fn split(p: &str) -> (&str, &str) {
    let i = p.rfind('/').map_or(0, |i| i + 1);
    (&p[..i], &p[i..])
}

/// `filepath.Abs`.
pub(crate) fn abs(p: &str) -> Result<String, String> {
    if p.starts_with('/') {
        return Ok(clean_path(p));
    }
    let cwd = std::env::current_dir().map_err(|e| format!("getwd: {}", io_text(&e)))?;
    Ok(join(&path_str(&cwd)?, p))
}

fn path_str(p: &std::path::Path) -> Result<String, String> {
    p.to_str().map(String::from).ok_or_else(|| format!("{}: file name is not valid UTF-8", p.display()))
}

/// Go's `strings.Replace(s, old, new, 1)`: the first occurrence of `old` replaced; an
/// empty `old` matches at the start.
fn replace_once(s: &str, old: &str, new: &str) -> String {
    match s.find(old) {
        Some(i) => format!("{}{new}{}", &s[..i], &s[i + old.len()..]),
        None => s.to_string(),
    }
}

/// Go's `os` error text: `op path: reason`.
pub(crate) fn os_err(op: &str, path: &str, e: &io::Error) -> String {
    format!("{op} {path}: {}", io_text(e))
}

fn errno_err(op: &str, path: &str, e: rustix::io::Errno) -> String {
    os_err(op, path, &io::Error::from(e))
}

// ---------------------------------------------------------------------------------------
// copy.go: path rules
// ---------------------------------------------------------------------------------------

/// Whether the path ends with a `/`.
pub(crate) fn has_trailing_separator(p: &str) -> bool {
    p.ends_with('/')
}

/// Whether the last path element is `.`.
pub(crate) fn specifies_current_dir(p: &str) -> bool {
    base(p) == "."
}

/// Whether the path says it is a directory (a trailing `/` or `/.`).
pub(crate) fn asserts_directory(p: &str) -> bool {
    has_trailing_separator(p) || specifies_current_dir(p)
}

/// `PreserveTrailingDotOrSeparator`: puts back the `/.` or `/` that cleaning `original`
/// into `cleaned` removed.
pub(crate) fn preserve_trailing_dot_or_separator(cleaned: &str, original: &str) -> String {
    let mut out = cleaned.to_string();
    if !specifies_current_dir(&out) && specifies_current_dir(original) {
        if !has_trailing_separator(&out) {
            out.push('/');
        }
        out.push('.');
    }
    if !has_trailing_separator(&out) && has_trailing_separator(original) {
        out.push('/');
    }
    out
}

/// `SplitPathDirEntry`: the directory and the last element of the cleaned path, keeping
/// a final `.`.
pub(crate) fn split_path_dir_entry(p: &str) -> (String, String) {
    let mut cleaned = clean_path(p);
    if specifies_current_dir(p) {
        cleaned.push_str("/.");
    }
    (dir(&cleaned), base(&cleaned))
}

/// `GetRebaseName`: `resolved` with `path`'s trailing `/.` or `/`, and the name entries
/// must be renamed to when resolving changed the last element.
pub(crate) fn get_rebase_name(path: &str, resolved: &str) -> (String, String) {
    let mut resolved = resolved.to_string();
    if specifies_current_dir(path) && !specifies_current_dir(&resolved) {
        resolved.push_str("/.");
    }
    if has_trailing_separator(path) && !has_trailing_separator(&resolved) {
        resolved.push('/');
    }
    let rebase = if base(path) != base(&resolved) { base(path) } else { String::new() };
    (resolved, rebase)
}

/// What is known of the source or destination of a copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CopyInfo {
    pub path: String,
    pub exists: bool,
    pub is_dir: bool,
    pub rebase_name: String,
}

/// A rename of archive entries (`RebaseArchiveEntries`): the first occurrence of `old`
/// in a name (and a hard link's target) becomes `new`; an `old` of `/` means the start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rename {
    pub old: String,
    pub new: String,
}

impl Rename {
    pub(crate) fn new(old: &str, new: &str) -> Rename {
        let old = if old == "/" { "" } else { old };
        Rename { old: old.to_string(), new: new.to_string() }
    }

    /// The renamed entry name.
    pub(crate) fn apply(&self, name: &str) -> String {
        replace_once(name, &self.old, &self.new)
    }
}

/// `PrepareArchiveCopy`'s errors.
pub(crate) const ERR_CANNOT_COPY_DIR: &str = "cannot copy directory";
pub(crate) const ERR_DIR_NOT_EXISTS: &str = "no such directory";

/// `PrepareArchiveCopy`: the directory the archive of `src` is extracted to for the
/// copy to land at `dst`, and the rename its entries need.
pub(crate) fn prepare_archive_copy(src: &CopyInfo, dst: &CopyInfo) -> Result<(String, Option<Rename>), String> {
    let (dst_dir, dst_base) = split_path_dir_entry(&dst.path);
    let (_, src_base) = split_path_dir_entry(&src.path);
    let src_base = if src.rebase_name.is_empty() { src_base } else { src.rebase_name.clone() };
    let rename = || Some(Rename::new(&src_base, &dst_base));
    if dst.exists && dst.is_dir {
        // Extracted into the existing directory as it is.
        return Ok((dst.path.clone(), None));
    }
    if dst.exists && src.is_dir {
        return Err(ERR_CANNOT_COPY_DIR.into());
    }
    if dst.exists || src.is_dir {
        // A file replacing a file, or a directory created under the destination's name.
        return Ok((dst_dir, rename()));
    }
    if asserts_directory(&dst.path) {
        return Err(ERR_DIR_NOT_EXISTS.into());
    }
    Ok((dst_dir, rename()))
}

/// Go's `filepath.EvalSymlinks` (`walkSymlinks`), with its error texts.
pub(crate) fn eval_symlinks(path: &str) -> Result<String, String> {
    let mut path = path.to_string();
    let mut vol_len = usize::from(path.starts_with('/'));
    let mut vol = path[..vol_len].to_string();
    let mut dest = vol.clone();
    let mut links = 0;
    let mut start = vol_len;
    while start < path.len() {
        let b = path.as_bytes();
        while start < b.len() && b[start] == b'/' {
            start += 1;
        }
        let mut end = start;
        while end < b.len() && b[end] != b'/' {
            end += 1;
        }
        let comp = path[start..end].to_string();
        if comp.is_empty() {
            break;
        }
        if comp == "." {
            start = end;
            continue;
        }
        if comp == ".." {
            match dest[vol_len..].rfind('/').map(|r| r + vol_len) {
                Some(r) if &dest[r + 1..] != ".." => dest.truncate(r),
                None if dest.len() > vol_len && &dest[vol_len..] != ".." => dest.truncate(vol_len),
                _ => {
                    if dest.len() > vol_len {
                        dest.push('/');
                    }
                    dest.push_str("..");
                }
            }
            start = end;
            continue;
        }
        if dest.len() > vol_len && !dest.ends_with('/') {
            dest.push('/');
        }
        dest.push_str(&comp);
        let meta = fs::symlink_metadata(&dest).map_err(|e| os_err("lstat", &dest, &e))?;
        if !meta.file_type().is_symlink() {
            if !meta.is_dir() && end < path.len() {
                return Err("not a directory".into());
            }
            start = end;
            continue;
        }
        links += 1;
        if links > 255 {
            return Err("EvalSymlinks: too many links".into());
        }
        let link = fs::read_link(&dest).map_err(|e| os_err("readlink", &dest, &e))?;
        let link = path_str(&link)?;
        path = format!("{link}{}", &path[end..]);
        if link.starts_with('/') {
            dest = "/".into();
            vol = "/".into();
            vol_len = 1;
            start = 1;
        } else {
            match dest[vol_len..].rfind('/') {
                Some(r) => dest.truncate(r + vol_len),
                None => dest = vol.clone(),
            }
            start = 0;
        }
    }
    Ok(clean_path(&dest))
}

/// `ResolveHostSourcePath`: the path to archive, and the name its entries get.
pub(crate) fn resolve_host_source_path(path: &str, follow_link: bool) -> Result<(String, String), String> {
    if follow_link {
        let resolved = eval_symlinks(path)?;
        return Ok(get_rebase_name(path, &resolved));
    }
    let (dir_path, base_path) = split(path);
    let resolved_dir = eval_symlinks(dir_path)?;
    let resolved = format!("{resolved_dir}/{base_path}");
    let rebase = if has_trailing_separator(path) && base(path) != base(&resolved) { base(path) } else { String::new() };
    Ok((resolved, rebase))
}

/// `CopyInfoSourcePath`: the local source of a copy to a container (it must exist).
pub(crate) fn copy_info_source_path(path: &str, follow_link: bool) -> Result<CopyInfo, String> {
    let (resolved, rebase_name) = resolve_host_source_path(path, follow_link)?;
    let meta = fs::symlink_metadata(&resolved).map_err(|e| os_err("lstat", &resolved, &e))?;
    Ok(CopyInfo { path: resolved, exists: true, is_dir: meta.is_dir(), rebase_name })
}

/// `CopyInfoDestinationPath`: the local destination of a copy from a container; a
/// final symlink is followed (at most 10 times); a missing destination needs an
/// existing parent directory.
pub(crate) fn copy_info_destination_path(path: &str) -> Result<CopyInfo, String> {
    let original = path.to_string();
    let mut path = path.to_string();
    let mut stat = fs::symlink_metadata(&path);
    if let Ok(m) = &stat {
        if !m.file_type().is_symlink() {
            return Ok(CopyInfo { path, exists: true, is_dir: m.is_dir(), rebase_name: String::new() });
        }
    }
    let mut n = 0;
    while let Ok(m) = &stat {
        if !m.file_type().is_symlink() {
            break;
        }
        if n > 10 {
            return Err(format!("too many symlinks in {original}"));
        }
        n += 1;
        let link = fs::read_link(&path).map_err(|e| os_err("readlink", &path, &e))?;
        let mut target = path_str(&link)?;
        if !target.starts_with('/') {
            let (parent, _) = split_path_dir_entry(&path);
            target = join(&parent, &target);
        }
        path = target;
        stat = fs::symlink_metadata(&path);
    }
    match stat {
        Ok(m) => Ok(CopyInfo { path, exists: true, is_dir: m.is_dir(), rebase_name: String::new() }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let (parent, _) = split_path_dir_entry(&path);
            let pm = fs::metadata(&parent).map_err(|e| os_err("stat", &parent, &e))?;
            if !pm.is_dir() {
                return Err("not a directory".into());
            }
            Ok(CopyInfo { path, ..CopyInfo::default() })
        }
        Err(e) => Err(os_err("lstat", &path, &e)),
    }
}

// ---------------------------------------------------------------------------------------
// Archiving (TarResource)
// ---------------------------------------------------------------------------------------

/// A reader that yields exactly `size` bytes: the file's, cut or padded with zeros if
/// it changed size while being archived (the header was already written).
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = match self.inner.read(&mut buf[..want])? {
            0 => {
                buf[..want].fill(0);
                want
            }
            n => n,
        };
        self.left -= n as u64;
        Ok(n)
    }
}

/// Writes the archive of `src` (`TarResource`: the entry itself, named by its base name
/// or `src.rebase_name`, and everything under it), each name then passed through
/// `renames`. Returns the writer.
pub(crate) fn tar_resource<W: Write>(src: &CopyInfo, renames: &[Rename], out: W) -> Result<W, String> {
    fs::symlink_metadata(&src.path).map_err(|e| os_err("lstat", &src.path, &e))?;
    let (source_dir, include) = split_path_dir_entry(&src.path);
    let mut t = TarAppender { builder: tar::Builder::new(out), seen: HashMap::new(), renames };
    let rebase = (!src.rebase_name.is_empty()).then(|| Rename {
        old: include.clone(),
        new: if src.rebase_name == "/" { "" } else { &src.rebase_name }.into(),
    });
    let root = format!("{}/{include}", source_dir.trim_end_matches('/'));
    let (root_rel, dot) = match include.as_str() {
        "." => (".".to_string(), true),
        "/" => (".".to_string(), false),
        _ => (include.clone(), false),
    };
    t.walk(&root, &root_rel, dot, rebase.as_ref())?;
    t.builder.into_inner().map_err(|e| format!("tar: {e}"))
}

struct TarAppender<'a, W: Write> {
    builder: tar::Builder<W>,
    /// First name of each multiply-linked inode.
    seen: HashMap<(u64, u64), String>,
    renames: &'a [Rename],
}

impl<W: Write> TarAppender<'_, W> {
    /// Archives `path` (`rel` from the archived directory's parent) and, for a directory,
    /// its entries in name order (Go's `filepath.WalkDir`); with `dot` (the source was
    /// `dir/.`) the names start with `./`. Unreadable entries are reported and skipped, as
    /// docker does.
    fn walk(&mut self, path: &str, rel: &str, dot: bool, rebase: Option<&Rename>) -> Result<(), String> {
        let meta = match fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!("Tar: Can't stat file {path} to tar: {}", os_err("lstat", path, &e));
                return Ok(());
            }
        };
        let rel_name = if dot && rel != "." { format!("./{rel}") } else { rel.to_string() };
        let name = rebase.map_or_else(|| rel_name.clone(), |r| r.apply(&rel_name));
        self.add(path, &name, &meta)?;
        if !meta.is_dir() {
            return Ok(());
        }
        let mut children: Vec<String> = match fs::read_dir(path) {
            Ok(rd) => rd.filter_map(Result::ok).filter_map(|e| e.file_name().into_string().ok()).collect(),
            Err(e) => {
                tracing::error!("Tar: Can't stat file {path} to tar: {}", os_err("open", path, &e));
                return Ok(());
            }
        };
        children.sort();
        for c in children {
            let child_rel = if rel == "." { c.clone() } else { format!("{rel}/{c}") };
            self.walk(&format!("{}/{c}", path.trim_end_matches('/')), &child_rel, dot, rebase)?;
        }
        Ok(())
    }

    /// `addTarFile`: one entry, its name made canonical (`/` after a directory) and
    /// renamed.
    fn add(&mut self, path: &str, name: &str, meta: &fs::Metadata) -> Result<(), String> {
        let ft = meta.file_type();
        let mut header = tar::Header::new_ustar();
        // Permissions and setuid/setgid/sticky bits only, as Go's `tar.FileInfoHeader`.
        header.set_mode(meta.mode() & 0o7777);
        header.set_uid(u64::from(meta.uid()));
        header.set_gid(u64::from(meta.gid()));
        header.set_mtime(meta.mtime().max(0) as u64);
        header.set_size(0);
        // Go writes the device numbers of every entry ("0000000").
        header.set_device_major(0).map_err(|e| format!("tar: {e}"))?;
        header.set_device_minor(0).map_err(|e| format!("tar: {e}"))?;
        let mut canonical = if ft.is_dir() && !name.ends_with('/') { format!("{name}/") } else { name.to_string() };
        for r in self.renames {
            canonical = r.apply(&canonical);
        }
        let werr = |e: io::Error| format!("tar: {e}");
        if ft.is_socket() {
            tracing::error!("Can't add file {path} to tar: archive/tar: sockets not supported");
            return Ok(());
        }
        if !ft.is_dir() && meta.nlink() > 1 {
            let key = (meta.dev(), meta.ino());
            if let Some(first) = self.seen.get(&key) {
                let mut target = first.clone();
                for r in self.renames {
                    target = r.apply(&target);
                }
                header.set_entry_type(tar::EntryType::Link);
                return self.builder.append_link(&mut header, &canonical, &target).map_err(werr);
            }
            self.seen.insert(key, name.to_string());
        }
        if ft.is_symlink() {
            let target = fs::read_link(path).map_err(|e| os_err("readlink", path, &e))?;
            header.set_entry_type(tar::EntryType::Symlink);
            return self.builder.append_link(&mut header, &canonical, &target).map_err(werr);
        }
        if ft.is_file() {
            let file = match fs::File::open(path) {
                Ok(f) => f,
                Err(e) => {
                    tracing::error!("Can't add file {path} to tar: {}", os_err("open", path, &e));
                    return Ok(());
                }
            };
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(meta.len());
            let data = Exact { inner: file, left: meta.len() };
            return self.builder.append_data(&mut header, &canonical, data).map_err(werr);
        }
        let kind = if ft.is_dir() {
            tar::EntryType::Directory
        } else if ft.is_char_device() {
            tar::EntryType::Char
        } else if ft.is_block_device() {
            tar::EntryType::Block
        } else {
            tar::EntryType::Fifo
        };
        header.set_entry_type(kind);
        if ft.is_char_device() || ft.is_block_device() {
            let rdev = meta.rdev();
            header.set_device_major(rustix::fs::major(rdev)).map_err(werr)?;
            header.set_device_minor(rustix::fs::minor(rdev)).map_err(werr)?;
        }
        self.builder.append_data(&mut header, &canonical, io::empty()).map_err(werr)
    }
}

// ---------------------------------------------------------------------------------------
// Extraction (Untar)
// ---------------------------------------------------------------------------------------

/// The destination of an extraction, opened once; every path below it is reached from
/// directory descriptors without following symlinks.
struct Dest {
    fd: OwnedFd,
    path: String,
}

impl Dest {
    fn full(&self, rel: &str) -> String {
        if rel == "." {
            self.path.clone()
        } else {
            format!("{}/{rel}", self.path.trim_end_matches('/'))
        }
    }

    /// The directory holding the last of `comps`, its missing parents created with mode
    /// 0755 when `create` (moby's `createImpliedDirectories`). A symlink or a file on
    /// the way is an error.
    fn parent(&self, comps: &[&str], create: bool) -> Result<OwnedFd, String> {
        let mut cur: Option<OwnedFd> = None;
        for (i, c) in comps[..comps.len().saturating_sub(1)].iter().enumerate() {
            let at = cur.as_ref().map_or(self.fd.as_fd(), |f| f.as_fd());
            let here = self.full(&comps[..=i].join("/"));
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let fd = match rustix::fs::openat(at, *c, flags, Mode::empty()) {
                Ok(fd) => fd,
                Err(rustix::io::Errno::NOENT) if create => {
                    match rustix::fs::mkdirat(at, *c, Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                        Err(e) => return Err(errno_err("mkdir", &here, e)),
                    }
                    rustix::fs::openat(at, *c, flags, Mode::empty()).map_err(|e| walk_err(at, c, &here, e))?
                }
                Err(e) => return Err(walk_err(at, c, &here, e)),
            };
            cur = Some(fd);
        }
        match cur {
            Some(fd) => Ok(fd),
            None => {
                rustix::fs::openat(&self.fd, ".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
                    .map_err(|e| errno_err("open", &self.path, e))
            }
        }
    }
}

/// The error for a path element that could not be opened as a directory: a symlink
/// (never followed) is named as such.
fn walk_err(at: std::os::fd::BorrowedFd<'_>, name: &str, here: &str, e: rustix::io::Errno) -> String {
    let is_link = rustix::fs::statat(at, name, AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|st| rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Symlink);
    if is_link {
        return format!("{} is a symbolic link: refusing to extract through it", go_quote(here));
    }
    errno_err("open", here, e)
}

/// A name as `filepath.Clean` leaves it, refused if it is absolute or leaves the
/// destination (moby's breakout check).
fn entry_components(name: &str, dest: &str) -> Result<Vec<String>, String> {
    let cleaned = clean_path(name);
    if cleaned.starts_with('/') || cleaned == ".." || cleaned.starts_with("../") {
        return Err(format!("{} is outside of {}", go_quote(name), go_quote(dest)));
    }
    Ok(cleaned.split('/').map(String::from).collect())
}

/// A tar time (seconds, maybe fractional) from a PAX record.
fn pax_time(v: &str) -> Option<Timespec> {
    let (secs, frac) = v.split_once('.').unwrap_or((v, ""));
    let secs: i64 = secs.parse().ok()?;
    let mut nanos: String = frac.chars().take(9).collect();
    while nanos.len() < 9 {
        nanos.push('0');
    }
    let nanos: i64 = nanos.parse().ok()?;
    let nanos = if secs < 0 && nanos > 0 { -nanos } else { nanos };
    Some(Timespec { tv_sec: secs, tv_nsec: nanos as _ })
}

/// moby's `boundTime`: times before the epoch become the epoch.
fn bound(t: Timespec) -> Timespec {
    if t.tv_sec < 0 {
        Timespec { tv_sec: 0, tv_nsec: 0 }
    } else {
        t
    }
}

/// What `untar` keeps of a directory entry to set its times at the end.
struct DirTimes {
    name: String,
    times: Timestamps,
}

/// `Untar(archive, dest, {NoLchown, NoOverwriteDirNonDir})`: extracts `r` into the
/// existing directory `dest`, each entry name first passed through `renames`.
pub(crate) fn untar<R: Read>(r: R, dest: &str, renames: &[Rename]) -> Result<(), String> {
    let dest_path = clean_path(dest);
    let fd = rustix::fs::open(dest_path.as_str(), OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| errno_err("open", &dest_path, e))?;
    let dest = Dest { fd, path: dest_path };
    let mut archive = tar::Archive::new(r);
    let mut dirs = Vec::new();
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        extract_entry(&dest, &mut entry, renames, &mut dirs)?;
    }
    for d in dirs {
        let comps: Vec<&str> = d.name.split('/').collect();
        let full = dest.full(&d.name);
        let parent = dest.parent(&comps, false)?;
        let last = comps[comps.len() - 1];
        rustix::fs::utimensat(&parent, last, &d.times, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| errno_err("chtimes", &full, e))?;
    }
    Ok(())
}

fn utf8(bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| format!("{}: file name is not valid UTF-8", String::from_utf8_lossy(bytes)))
}

fn extract_entry<R: Read>(
    dest: &Dest,
    entry: &mut tar::Entry<'_, R>,
    renames: &[Rename],
    dirs: &mut Vec<DirTimes>,
) -> Result<(), String> {
    use tar::EntryType as T;
    let kind = entry.header().entry_type();
    if kind == T::XGlobalHeader {
        return Ok(());
    }
    let mut name = utf8(&entry.path_bytes())?;
    for r in renames {
        name = r.apply(&name);
    }
    let mut link = entry.link_name_bytes().map(|b| utf8(&b)).transpose()?;
    if kind == T::Link {
        link = link.map(|mut l| {
            for r in renames {
                l = r.apply(&l);
            }
            l
        });
    }
    let comps = entry_components(&name, &dest.path)?;
    let cleaned = comps.join("/");
    let is_dir = kind == T::Directory;
    let header_mode = entry.header().mode().map_err(|e| e.to_string())? & 0o7777;
    let mut mtime = Timespec { tv_sec: entry.header().mtime().unwrap_or(0) as i64, tv_nsec: 0 };
    let mut atime: Option<Timespec> = None;
    let mut xattrs: Vec<(String, Vec<u8>)> = Vec::new();
    if let Some(pax) = entry.pax_extensions().map_err(|e| e.to_string())? {
        for ext in pax.flatten() {
            let Ok(key) = ext.key() else { continue };
            let value = String::from_utf8_lossy(ext.value_bytes()).into_owned();
            match key {
                "mtime" => mtime = pax_time(&value).unwrap_or(mtime),
                "atime" => atime = pax_time(&value),
                k => {
                    if let Some(x) = k.strip_prefix("SCHILY.xattr.") {
                        xattrs.push((x.to_string(), ext.value_bytes().to_vec()));
                    }
                }
            }
        }
    }
    let full = dest.full(&cleaned);
    if cleaned == "." {
        // The destination itself: an existing directory.
        if is_dir {
            return Ok(());
        }
        return Err(format!(
            "cannot overwrite directory {} with non-directory {}",
            go_quote(&full),
            go_quote(&dest.path)
        ));
    }
    let refs: Vec<&str> = comps.iter().map(String::as_str).collect();
    let parent = dest.parent(&refs, true)?;
    let last = refs[refs.len() - 1];

    match rustix::fs::statat(&parent, last, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => {
            let existing_dir = rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Directory;
            if existing_dir && !is_dir {
                return Err(format!(
                    "cannot overwrite directory {} with non-directory {}",
                    go_quote(&full),
                    go_quote(&dest.path)
                ));
            }
            if !existing_dir && is_dir {
                return Err(format!(
                    "cannot overwrite non-directory {} with directory {}",
                    go_quote(&full),
                    go_quote(&dest.path)
                ));
            }
            if !existing_dir {
                rustix::fs::unlinkat(&parent, last, AtFlags::empty()).map_err(|e| errno_err("unlinkat", &full, e))?;
            }
        }
        Err(rustix::io::Errno::NOENT) => {}
        Err(e) => return Err(errno_err("lstat", &full, e)),
    }

    let mode = Mode::from_raw_mode(header_mode as _);
    // The descriptor that gets the mode, xattrs and times (none for links and nodes).
    let mut opened: Option<OwnedFd> = None;
    match kind {
        T::Directory => {
            match rustix::fs::mkdirat(&parent, last, mode) {
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(errno_err("mkdir", &full, e)),
            }
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            opened =
                Some(rustix::fs::openat(&parent, last, flags, Mode::empty()).map_err(|e| errno_err("open", &full, e))?);
        }
        T::Regular => {
            let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let fd = rustix::fs::openat(&parent, last, flags, mode).map_err(|e| errno_err("open", &full, e))?;
            let mut file = fs::File::from(fd);
            io::copy(entry, &mut file).map_err(|e| format!("write {full}: {}", io_text(&e)))?;
            opened = Some(OwnedFd::from(file));
        }
        T::Block | T::Char | T::Fifo => {
            let ft = match kind {
                T::Block => rustix::fs::FileType::BlockDevice,
                T::Char => rustix::fs::FileType::CharacterDevice,
                _ => rustix::fs::FileType::Fifo,
            };
            let major = entry.header().device_major().ok().flatten().unwrap_or(0);
            let minor = entry.header().device_minor().ok().flatten().unwrap_or(0);
            rustix::fs::mknodat(&parent, last, ft, mode, rustix::fs::makedev(major, minor))
                .map_err(|e| errno_err("mknod", &full, e))?;
        }
        T::Link => {
            let target = link.unwrap_or_default();
            let tcomps = entry_components(target.trim_start_matches('/'), &dest.path)
                .map_err(|_| format!("invalid hardlink {} -> {}", go_quote(&dest.full(&target)), go_quote(&target)))?;
            let trefs: Vec<&str> = tcomps.iter().map(String::as_str).collect();
            let tparent = dest.parent(&trefs, false)?;
            rustix::fs::linkat(&tparent, trefs[trefs.len() - 1], &parent, last, AtFlags::empty())
                .map_err(|e| format!("link {} {full}: {}", dest.full(&tcomps.join("/")), io_text(&e.into())))?;
            return Ok(());
        }
        T::Symlink => {
            let target = link.unwrap_or_default();
            // moby: the target, taken from the link's directory, must stay inside.
            let from_dir = clean_path(&format!("{}/{target}", dir(&cleaned)));
            let escapes = !target.starts_with('/') && (from_dir == ".." || from_dir.starts_with("../"));
            if escapes {
                return Err(format!("invalid symlink {} -> {}", go_quote(&full), go_quote(&target)));
            }
            rustix::fs::symlinkat(target.as_str(), &parent, last)
                .map_err(|e| format!("symlink {target} {full}: {}", io_text(&e.into())))?;
            let t = Timestamps {
                last_access: bound(atime.map_or(mtime, |a| later(a, mtime))),
                last_modification: bound(mtime),
            };
            rustix::fs::utimensat(&parent, last, &t, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| errno_err("lchtimes", &full, e))?;
            return Ok(());
        }
        other => return Err(format!("unhandled tar header type {}", other.as_byte())),
    }

    if let Some(fd) = &opened {
        for (k, v) in &xattrs {
            match rustix::fs::fsetxattr(fd, k.as_str(), v, rustix::fs::XattrFlags::empty()) {
                Ok(()) | Err(rustix::io::Errno::OPNOTSUPP | rustix::io::Errno::PERM) => {}
                Err(e) => return Err(errno_err("lsetxattr", &full, e)),
            }
        }
    }
    match &opened {
        Some(fd) => rustix::fs::fchmod(fd, mode).map_err(|e| errno_err("chmod", &full, e))?,
        None => rustix::fs::chmodat(&parent, last, mode, AtFlags::empty()).map_err(|e| errno_err("chmod", &full, e))?,
    }
    let times =
        Timestamps { last_access: bound(atime.map_or(mtime, |a| later(a, mtime))), last_modification: bound(mtime) };
    match &opened {
        Some(fd) => rustix::fs::futimens(fd, &times).map_err(|e| errno_err("chtimes", &full, e))?,
        None => rustix::fs::utimensat(&parent, last, &times, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| errno_err("chtimes", &full, e))?,
    }
    if is_dir {
        let epoch = Timespec { tv_sec: 0, tv_nsec: 0 };
        let at = atime.map_or(epoch, |a| later(a, epoch));
        dirs.push(DirTimes {
            name: cleaned,
            times: Timestamps { last_access: bound(at), last_modification: bound(later(mtime, epoch)) },
        });
    }
    Ok(())
}

/// moby's `latestTime`.
fn later(a: Timespec, b: Timespec) -> Timespec {
    if (a.tv_sec, a.tv_nsec) < (b.tv_sec, b.tv_nsec) {
        b
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    #[test]
    fn go_filepath() {
        assert_eq!(
            (base(""), base("/"), base("/a/b/"), base("a"), base("/a/.")),
            (".".into(), "/".into(), "b".into(), "a".into(), ".".into())
        );
        assert_eq!(
            (dir("/a/b"), dir("/a/b/"), dir("a"), dir("/"), dir("//x")),
            ("/a".into(), "/a/b".into(), ".".into(), "/".into(), "/".into())
        );
        assert_eq!((join("/a", "../b"), join("", "x/"), join("/a", "")), ("/b".into(), "x".into(), "/a".into()));
        assert_eq!(split("/a/b/"), ("/a/b/", ""));
        assert_eq!(split("/a/b"), ("/a/", "b"));
        assert_eq!(split("b"), ("", "b"));
        assert_eq!(abs("/a/./b/").as_deref(), Ok("/a/b"));
        assert_eq!(replace_once("./a.b", ".", "x"), "x/a.b");
        assert_eq!(replace_once("etc/", "", "out"), "outetc/");
        assert_eq!(replace_once("abc", "z", "y"), "abc");
    }

    #[test]
    fn trailing_dot_and_separator() {
        let cases = [
            ("/a/b", "a/b/", "/a/b/"),
            ("/a/b", "a/b/.", "/a/b/."),
            ("/a/b", "a/b/./", "/a/b/./"),
            ("/a/b", "a/b", "/a/b"),
            ("/", "/.", "/."),
            ("/", "//", "/"),
            ("/a/.", "a/.", "/a/."),
        ];
        for (cleaned, original, want) in cases {
            assert_eq!(preserve_trailing_dot_or_separator(cleaned, original), want, "{cleaned} {original}");
        }
        assert_eq!(split_path_dir_entry("/etc/."), ("/etc".into(), ".".into()));
        assert_eq!(split_path_dir_entry("/etc/hostname"), ("/etc".into(), "hostname".into()));
        assert_eq!(split_path_dir_entry("/etc/"), ("/".into(), "etc".into()));
        assert_eq!(split_path_dir_entry("/"), ("/".into(), "/".into()));
        assert_eq!(split_path_dir_entry("/."), ("/".into(), ".".into()));
        assert!(asserts_directory("/x/") && asserts_directory("/x/.") && !asserts_directory("/x"));
    }

    #[test]
    fn rebase_names() {
        assert_eq!(get_rebase_name("/link", "/etc/hostname"), ("/etc/hostname".into(), "link".into()));
        assert_eq!(get_rebase_name("/link/", "/etc"), ("/etc/".into(), "link".into()));
        assert_eq!(get_rebase_name("/link/.", "/etc"), ("/etc/.".into(), String::new()));
        assert_eq!(get_rebase_name("/etc", "/etc"), ("/etc".into(), String::new()));
        assert_eq!(Rename::new("etc", "x").apply("etc/sub/etc"), "x/sub/etc");
        assert_eq!(Rename::new("/", "out").apply("bin/"), "outbin/");
        assert_eq!(Rename::new(".", "new").apply("./"), "new/");
    }

    fn info(path: &str, exists: bool, is_dir: bool) -> CopyInfo {
        CopyInfo { path: path.into(), exists, is_dir, rebase_name: String::new() }
    }

    /// Every branch of `PrepareArchiveCopy`.
    #[test]
    fn destination_rules() {
        let file = info("/src/f", true, false);
        let dir = info("/src/d", true, true);
        // Existing directory: extracted into it as is.
        assert_eq!(prepare_archive_copy(&file, &info("/dst/", true, true)), Ok(("/dst/".into(), None)));
        assert_eq!(prepare_archive_copy(&dir, &info("/dst", true, true)), Ok(("/dst".into(), None)));
        // A directory onto an existing file.
        assert_eq!(prepare_archive_copy(&dir, &info("/dst/x", true, false)), Err("cannot copy directory".into()));
        // A file onto an existing file: renamed to the destination's name.
        assert_eq!(
            prepare_archive_copy(&file, &info("/dst/x", true, false)),
            Ok(("/dst".into(), Some(Rename::new("f", "x"))))
        );
        // A directory to a new path: created under that name.
        assert_eq!(
            prepare_archive_copy(&dir, &info("/dst/new", false, false)),
            Ok(("/dst".into(), Some(Rename::new("d", "new"))))
        );
        // A file to a path that says it is a directory.
        assert_eq!(prepare_archive_copy(&file, &info("/dst/new/", false, false)), Err("no such directory".into()));
        assert_eq!(prepare_archive_copy(&file, &info("/dst/new/.", false, false)), Err("no such directory".into()));
        // A file to a new path.
        assert_eq!(
            prepare_archive_copy(&file, &info("/dst/new", false, false)),
            Ok(("/dst".into(), Some(Rename::new("f", "new"))))
        );
        // The contents of a directory (`/.`) to a new directory.
        let contents = info("/src/d/.", true, true);
        assert_eq!(
            prepare_archive_copy(&contents, &info("/dst/new", false, false)),
            Ok(("/dst".into(), Some(Rename::new(".", "new"))))
        );
        // A followed link keeps the link's name.
        let followed = CopyInfo { rebase_name: "link".into(), ..file };
        assert_eq!(
            prepare_archive_copy(&followed, &info("/dst/x", false, false)),
            Ok(("/dst".into(), Some(Rename::new("link", "x"))))
        );
    }

    #[test]
    fn local_paths() {
        let t = tempfile::tempdir().expect("tempdir");
        let d = t.path().to_str().expect("utf8").to_string();
        fs::create_dir(format!("{d}/real")).expect("dir");
        fs::write(format!("{d}/real/f"), "x").expect("file");
        fs::write(format!("{d}/afile"), "x").expect("file");
        symlink("real", format!("{d}/lnk")).expect("symlink");
        symlink(format!("{d}/real/f"), format!("{d}/flink")).expect("symlink");
        symlink("missing", format!("{d}/broken")).expect("symlink");

        assert_eq!(eval_symlinks(&format!("{d}/lnk/f")), Ok(format!("{d}/real/f")));
        assert_eq!(eval_symlinks(&format!("{d}/lnk/../afile")), Ok(format!("{d}/afile")));
        assert_eq!(eval_symlinks(&format!("{d}/nope/f")), Err(format!("lstat {d}/nope: no such file or directory")));
        assert_eq!(eval_symlinks(&format!("{d}/afile/x")), Err("not a directory".into()));

        let src = copy_info_source_path(&format!("{d}/lnk/"), false).expect("source");
        assert_eq!(
            (src.path.as_str(), src.is_dir, src.rebase_name.as_str()),
            (format!("{d}/real/").as_str(), true, "lnk")
        );
        let src = copy_info_source_path(&format!("{d}/lnk"), false).expect("source");
        assert_eq!((src.is_dir, src.rebase_name.as_str()), (false, ""), "the link itself");
        let src = copy_info_source_path(&format!("{d}/flink"), true).expect("source");
        assert_eq!((src.path, src.rebase_name), (format!("{d}/real/f"), "flink".to_string()));
        assert_eq!(
            copy_info_source_path(&format!("{d}/nofile"), false),
            Err(format!("lstat {d}/nofile: no such file or directory"))
        );

        assert_eq!(copy_info_destination_path(&format!("{d}/lnk")), Ok(info(&format!("{d}/real"), true, true)));
        assert_eq!(copy_info_destination_path(&format!("{d}/afile")), Ok(info(&format!("{d}/afile"), true, false)));
        assert_eq!(copy_info_destination_path(&format!("{d}/broken")), Ok(info(&format!("{d}/missing"), false, false)));
        assert_eq!(copy_info_destination_path(&format!("{d}/new/")), Ok(info(&format!("{d}/new/"), false, false)));
        assert_eq!(
            copy_info_destination_path(&format!("{d}/nodir/x")),
            Err(format!("stat {d}/nodir: no such file or directory"))
        );
        assert_eq!(
            copy_info_destination_path(&format!("{d}/afile/x")),
            Err(format!("lstat {d}/afile/x: not a directory"))
        );
    }

    fn names(tar: &[u8]) -> Vec<(String, String)> {
        let mut a = tar::Archive::new(tar);
        a.entries()
            .expect("entries")
            .map(|e| {
                let e = e.expect("entry");
                let link = e.link_name_bytes().map(|l| String::from_utf8_lossy(&l).into_owned()).unwrap_or_default();
                (String::from_utf8_lossy(&e.path_bytes()).into_owned(), link)
            })
            .collect()
    }

    #[test]
    fn archives_and_extracts() {
        let t = tempfile::tempdir().expect("tempdir");
        let d = t.path().to_str().expect("utf8").to_string();
        fs::create_dir_all(format!("{d}/src/d/sub")).expect("dirs");
        fs::write(format!("{d}/src/d/b"), "bee").expect("file");
        fs::write(format!("{d}/src/d/sub/a"), "a").expect("file");
        fs::hard_link(format!("{d}/src/d/b"), format!("{d}/src/d/c")).expect("link");
        symlink("../b", format!("{d}/src/d/sub/l")).expect("symlink");
        fs::set_permissions(format!("{d}/src/d/sub/a"), fs::Permissions::from_mode(0o640)).expect("chmod");

        let src = copy_info_source_path(&format!("{d}/src/d"), false).expect("source");
        let tar = tar_resource(&src, &[], Vec::new()).expect("tar");
        let want = [("d/", ""), ("d/b", ""), ("d/c", "d/b"), ("d/sub/", ""), ("d/sub/a", ""), ("d/sub/l", "../b")];
        let got = names(&tar);
        assert_eq!(got, want.map(|(a, b)| (a.to_string(), b.to_string())));
        // Renamed for a new destination directory.
        let renamed = tar_resource(&src, &[Rename::new("d", "new")], Vec::new()).expect("tar");
        assert_eq!(names(&renamed)[2], ("new/c".to_string(), "new/b".to_string()));
        // The contents of the directory.
        let contents = copy_info_source_path(&format!("{d}/src/d/."), false).expect("source");
        let tar2 = tar_resource(&contents, &[], Vec::new()).expect("tar");
        assert_eq!(names(&tar2)[..2], [("./".to_string(), String::new()), ("b".to_string(), String::new())]);

        fs::create_dir(format!("{d}/out")).expect("out");
        untar(&renamed[..], &format!("{d}/out"), &[]).expect("untar");
        assert_eq!(fs::read_to_string(format!("{d}/out/new/b")).expect("b"), "bee");
        assert_eq!(fs::read_link(format!("{d}/out/new/sub/l")).expect("link"), std::path::Path::new("../b"));
        let m = |p: &str| fs::symlink_metadata(format!("{d}/out/{p}")).expect("meta");
        assert_eq!(m("new/c").ino(), m("new/b").ino(), "hard link kept");
        assert_eq!(m("new/sub/a").mode() & 0o7777, 0o640);
        // Renamed while extracting, into an existing directory.
        untar(&tar[..], &format!("{d}/out"), &[Rename::new("d", "again")]).expect("untar");
        assert_eq!(fs::read_to_string(format!("{d}/out/again/sub/a")).expect("a"), "a");
        // Extracting again over the same tree merges it.
        untar(&tar[..], &format!("{d}/out"), &[Rename::new("d", "again")]).expect("untar twice");
    }

    /// A raw entry, so that names the `tar` crate refuses to write can be tested.
    fn raw(name: &str, kind: tar::EntryType, link: &str, data: &[u8]) -> Vec<u8> {
        let mut h = tar::Header::new_ustar();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_entry_type(kind);
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_cksum();
        let mut out = h.as_bytes().to_vec();
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
        out
    }

    fn archive(entries: &[Vec<u8>]) -> Vec<u8> {
        let mut out: Vec<u8> = entries.concat();
        out.extend_from_slice(&[0; 1024]);
        out
    }

    #[test]
    fn extraction_stays_inside() {
        use tar::EntryType as T;
        let t = tempfile::tempdir().expect("tempdir");
        let d = t.path().to_str().expect("utf8").to_string();
        let out = format!("{d}/out");
        fs::create_dir(&out).expect("out");
        fs::create_dir(format!("{d}/victim")).expect("victim");
        let q = |s: &str| go_quote(s);

        let e = untar(&archive(&[raw("../x", T::Regular, "", b"x")])[..], &out, &[]).expect_err("dotdot");
        assert_eq!(e, format!("{} is outside of {}", q("../x"), q(&out)));
        let e = untar(&archive(&[raw("/x", T::Regular, "", b"x")])[..], &out, &[]).expect_err("absolute");
        assert_eq!(e, format!("{} is outside of {}", q("/x"), q(&out)));
        assert!(untar(&archive(&[raw("a/../../x", T::Regular, "", b"x")])[..], &out, &[]).is_err());

        // A symlink to the outside, then a file through it: refused, nothing written.
        let victim = format!("{d}/victim");
        let tar = archive(&[raw("l", T::Symlink, &victim, b""), raw("l/pwned", T::Regular, "", b"x")]);
        let e = untar(&tar[..], &out, &[]).expect_err("through symlink");
        assert!(e.contains("symbolic link"), "{e}");
        assert!(!std::path::Path::new(&format!("{victim}/pwned")).exists());

        let e = untar(&archive(&[raw("s", T::Symlink, "../../etc", b"")])[..], &out, &[]).expect_err("symlink");
        assert_eq!(e, format!("invalid symlink {} -> {}", q(&format!("{out}/s")), q("../../etc")));
        let e = untar(&archive(&[raw("h", T::Link, "../victim/f", b"")])[..], &out, &[]).expect_err("hardlink");
        assert!(e.starts_with("invalid hardlink"), "{e}");

        // NoOverwriteDirNonDir.
        fs::create_dir(format!("{out}/adir")).expect("dir");
        fs::write(format!("{out}/afile"), "x").expect("file");
        let e = untar(&archive(&[raw("adir", T::Regular, "", b"x")])[..], &out, &[]).expect_err("dir");
        assert_eq!(
            e,
            format!("cannot overwrite directory {} with non-directory {}", q(&format!("{out}/adir")), q(&out))
        );
        let e = untar(&archive(&[raw("afile/", T::Directory, "", b"")])[..], &out, &[]).expect_err("file");
        assert_eq!(
            e,
            format!("cannot overwrite non-directory {} with directory {}", q(&format!("{out}/afile")), q(&out))
        );
        // A file replaces a file; implied parents are created.
        untar(&archive(&[raw("afile", T::Regular, "", b"new"), raw("p/q/r", T::Regular, "", b"r")])[..], &out, &[])
            .expect("replace");
        assert_eq!(fs::read_to_string(format!("{out}/afile")).expect("afile"), "new");
        assert_eq!(fs::read_to_string(format!("{out}/p/q/r")).expect("r"), "r");
        let e = untar(&archive(&[raw("odd", T::new(b'9'), "", b"")])[..], &out, &[]).expect_err("type");
        assert_eq!(e, "unhandled tar header type 57");
    }
}
