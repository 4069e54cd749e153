//! The `local` driver's file-system and kernel side, as moby's `volume/local`: name rules, the
//! driver options (`type`, `device`, `o`, `size`) with Docker's validation texts, the on-disk
//! layout (`<root>/<name>/_data`, `<root>/<name>/opts.json`), atomic creation, mount(2) with
//! moby's option-string parsing, lazy unmount, `/proc/self/mountinfo`, and a removal that
//! unmounts first and never crosses into another file system.

use std::collections::BTreeMap;
use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::net::{IpAddr, ToSocketAddrs};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, RenameFlags};
use rustix::io::Errno;
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};
use serde::{Deserialize, Serialize};

use crate::error::{go_errno, Result, VolumeError};

/// The data directory inside a local volume's directory (moby's `volumeDataPathName`).
pub const DATA_DIR: &str = "_data";
/// The file holding a local volume's mount options (moby's `opts.json`).
pub const OPTS_FILE: &str = "opts.json";
/// Prefix of a volume directory being created (removed by `open` after a crash).
pub(crate) const TMP_PREFIX: &str = ".tmp-";
/// Prefix of a volume directory being removed (removed by `open` after a crash).
pub(crate) const TRASH_PREFIX: &str = ".trash-";

/// Docker's `RestrictedNameChars`, as its error text shows it.
const RESTRICTED_NAME_CHARS: &str = "[a-zA-Z0-9][a-zA-Z0-9_.-]";

/// Checks a local volume name as moby's `Root.validateName` (the caller adds `create NAME: `).
pub fn validate_name(name: &str) -> Result<()> {
    // Go's `len`: bytes.
    if name.len() == 1 {
        return Err(VolumeError::InvalidArgument(
            "volume name is too short, names should be at least two alphanumeric characters".into(),
        ));
    }
    if !is_valid_name(name) {
        return Err(VolumeError::InvalidArgument(format!(
            "{} includes invalid characters for a local volume name, only {} are allowed. If you intended to \
             pass a host directory, use absolute path",
            wharf_types::go_quote(name),
            wharf_types::go_quote(RESTRICTED_NAME_CHARS)
        )));
    }
    Ok(())
}

/// `^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`.
pub(crate) fn is_valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..].iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// moby's `quota.Quota`, as `opts.json` stores it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    /// The size limit in bytes (0: none).
    #[serde(rename = "Size")]
    pub size: u64,
}

/// A local volume's mount options: moby's `optsConfig`, field for field as `opts.json` holds
/// them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalOptions {
    /// `type`: the file-system type (`nfs`, `tmpfs`, `none` for a bind mount…).
    #[serde(rename = "MountType")]
    pub mount_type: String,
    /// `o`: the mount options (`size=100m,uid=1000`, `bind`, `addr=…`).
    #[serde(rename = "MountOpts")]
    pub mount_opts: String,
    /// `device`: what is mounted.
    #[serde(rename = "MountDevice")]
    pub mount_device: String,
    /// `size`.
    #[serde(rename = "Quota", default)]
    pub quota: Quota,
}

impl LocalOptions {
    /// The options of a record (already validated when the volume was created).
    pub fn from_map(opts: &BTreeMap<String, String>) -> Option<LocalOptions> {
        if opts.is_empty() {
            return None;
        }
        let get = |k: &str| opts.get(k).cloned().unwrap_or_default();
        let size = opts.get("size").and_then(|s| ram_in_bytes(s).ok()).unwrap_or(0).max(0) as u64;
        Some(LocalOptions {
            mount_type: get("type"),
            mount_opts: get("o"),
            mount_device: get("device"),
            quota: Quota { size },
        })
    }

    /// Whether `_data` gets a mount (moby's `needsMount`).
    pub fn needs_mount(&self) -> bool {
        !self.mount_device.is_empty() || !self.mount_type.is_empty()
    }
}

const VALID_OPTS: &[&str] = &["type", "o", "device", "size"];
/// moby's `mandatoryOpts`, in a fixed order (Go iterates its map at random).
const MANDATORY_OPTS: &[(&str, &[&str])] = &[("device", &["type"]), ("type", &["device"]), ("o", &["device", "type"])];

/// Validates driver options as moby's `Root.validateOpts` on Linux, where no quota is
/// supported (moby supports `size` only on XFS with project quotas).
pub fn validate_options(opts: &BTreeMap<String, String>) -> Result<()> {
    if opts.is_empty() {
        return Ok(());
    }
    if let Some(bad) = opts.keys().find(|k| !VALID_OPTS.contains(&k.as_str())) {
        return Err(VolumeError::InvalidArgument(format!("invalid option: {}", wharf_types::go_quote(bad))));
    }
    if let (Some("cifs"), Some(device)) = (opts.get("type").map(String::as_str), opts.get("device")) {
        if url_port(device).is_some_and(|p| !p.is_empty()) {
            return Err(VolumeError::InvalidArgument(
                "port not allowed in CIFS device URL, include 'port' in 'o='".into(),
            ));
        }
    }
    if let Some(size) = opts.get("size") {
        let size = ram_in_bytes(size)?;
        if size > 0 {
            return Err(VolumeError::InvalidArgument("quota size requested but no quota support".into()));
        }
    }
    for (opt, required) in MANDATORY_OPTS {
        if opts.contains_key(*opt) {
            if let Some(missing) = required.iter().find(|r| !opts.contains_key(**r)) {
                return Err(VolumeError::InvalidArgument(format!(
                    "missing required option: {}",
                    wharf_types::go_quote(missing)
                )));
            }
        }
    }
    Ok(())
}

/// The port of a `//host:port/share` device URL (`None` without a host part).
fn url_port(device: &str) -> Option<&str> {
    let rest = device.strip_prefix("//")?;
    let host = rest.split('/').next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    if let Some(stripped) = host.strip_prefix('[') {
        return Some(stripped.split_once("]:").map_or("", |(_, p)| p));
    }
    Some(host.rsplit_once(':').map_or("", |(_, p)| p))
}

/// go-units' `RAMInBytes` (`100m`, `1.5GiB`, `512`): binary multiples.
pub fn ram_in_bytes(s: &str) -> Result<i64> {
    let bad = || VolumeError::InvalidArgument(format!("invalid size: '{s}'"));
    let digits_end = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, rest) = s.split_at(digits_end);
    // `\d+(\.\d+)*`
    if num.is_empty() || num.split('.').any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return Err(bad());
    }
    let mut rest = rest.strip_prefix(' ').unwrap_or(rest).chars().peekable();
    let mut mul: f64 = 1.0;
    if let Some(c) = rest.peek().copied() {
        let m = match c.to_ascii_lowercase() {
            'k' => Some(1u64 << 10),
            'm' => Some(1 << 20),
            'g' => Some(1 << 30),
            't' => Some(1 << 40),
            'p' => Some(1 << 50),
            _ => None,
        };
        if let Some(m) = m {
            mul = m as f64;
            rest.next();
        }
    }
    if rest.peek().is_some_and(|c| matches!(c, 'i' | 'I')) {
        rest.next();
    }
    if rest.peek().is_some_and(|c| matches!(c, 'b' | 'B')) {
        rest.next();
    }
    if rest.next().is_some() {
        return Err(bad());
    }
    let value: f64 = num.parse().map_err(|_| bad())?;
    Ok((value * mul) as i64)
}

// ---- mount(2) -----------------------------------------------------------------------------

const MS_RDONLY: u64 = 0x1;
const MS_NOSUID: u64 = 0x2;
const MS_NODEV: u64 = 0x4;
const MS_NOEXEC: u64 = 0x8;
const MS_SYNCHRONOUS: u64 = 0x10;
const MS_REMOUNT: u64 = 0x20;
const MS_MANDLOCK: u64 = 0x40;
const MS_DIRSYNC: u64 = 0x80;
const MS_NOATIME: u64 = 0x400;
const MS_NODIRATIME: u64 = 0x800;
const MS_BIND: u64 = 0x1000;
const MS_REC: u64 = 0x4000;
const MS_SILENT: u64 = 0x8000;
const MS_UNBINDABLE: u64 = 1 << 17;
const MS_PRIVATE: u64 = 1 << 18;
const MS_SLAVE: u64 = 1 << 19;
const MS_SHARED: u64 = 1 << 20;
const MS_RELATIME: u64 = 1 << 21;
const MS_STRICTATIME: u64 = 1 << 24;
const PROPAGATION: u64 = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;

/// moby/sys/mount's flag table: (option, clears the flag, flag).
const FLAG_TABLE: &[(&str, bool, u64)] = &[
    ("ro", false, MS_RDONLY),
    ("rw", true, MS_RDONLY),
    ("suid", true, MS_NOSUID),
    ("nosuid", false, MS_NOSUID),
    ("dev", true, MS_NODEV),
    ("nodev", false, MS_NODEV),
    ("exec", true, MS_NOEXEC),
    ("noexec", false, MS_NOEXEC),
    ("sync", false, MS_SYNCHRONOUS),
    ("async", true, MS_SYNCHRONOUS),
    ("dirsync", false, MS_DIRSYNC),
    ("remount", false, MS_REMOUNT),
    ("mand", false, MS_MANDLOCK),
    ("nomand", true, MS_MANDLOCK),
    ("atime", true, MS_NOATIME),
    ("noatime", false, MS_NOATIME),
    ("diratime", true, MS_NODIRATIME),
    ("nodiratime", false, MS_NODIRATIME),
    ("bind", false, MS_BIND),
    ("rbind", false, MS_BIND | MS_REC),
    ("unbindable", false, MS_UNBINDABLE),
    ("runbindable", false, MS_UNBINDABLE | MS_REC),
    ("private", false, MS_PRIVATE),
    ("rprivate", false, MS_PRIVATE | MS_REC),
    ("shared", false, MS_SHARED),
    ("rshared", false, MS_SHARED | MS_REC),
    ("slave", false, MS_SLAVE),
    ("rslave", false, MS_SLAVE | MS_REC),
    ("relatime", false, MS_RELATIME),
    ("norelatime", true, MS_RELATIME),
    ("strictatime", false, MS_STRICTATIME),
    ("nostrictatime", true, MS_STRICTATIME),
];

/// Splits an `o=` string into mount flags and file-system data, as moby/sys/mount's
/// `parseOptions` (unknown options, `defaults` included, are data).
pub fn parse_mount_options(options: &str) -> (u64, String) {
    let mut flags = 0u64;
    let mut data: Vec<&str> = Vec::new();
    for o in options.split(',') {
        match FLAG_TABLE.iter().find(|(name, _, _)| *name == o) {
            Some((_, true, f)) => flags &= !f,
            Some((_, false, f)) => flags |= f,
            None => data.push(o),
        }
    }
    (flags, data.join(","))
}

/// moby/sys/mount's `mountError` text.
fn mount_error(op: &str, source: &str, target: &Path, flags: u64, data: &str, errno: Errno) -> String {
    let mut out = format!("{op} ");
    if source.is_empty() {
        out.push_str(&target.to_string_lossy());
    } else {
        out.push_str(&format!("{source}:{}", target.display()));
    }
    if flags != 0 {
        out.push_str(&format!(", flags: 0x{flags:x}"));
    }
    if !data.is_empty() {
        out.push_str(&format!(", data: {data}"));
    }
    out.push_str(": ");
    out.push_str(&go_errno(errno.raw_os_error()));
    out
}

/// The value of the first `key=` option of an `o=` string (moby's `getAddress`/`getPassword`).
fn option_value<'a>(opts: &'a str, key: &str) -> Option<&'a str> {
    opts.split(',').find_map(|o| o.strip_prefix(key)).filter(|v| !v.is_empty())
}

/// The device and data to mount for `opts`: for `nfs` and `cifs`, a host name in `addr=`
/// (and the host of a cifs `//host/share` device) is resolved to an address with `resolve`,
/// as moby's `getMountOptions` does (the kernel wants addresses).
pub fn mount_source(opts: &LocalOptions, resolve: &dyn Fn(&str) -> io::Result<IpAddr>) -> Result<(String, String)> {
    if opts.mount_device.is_empty() {
        return Err(VolumeError::Mount("missing device in volume options".into()));
    }
    let mut mount_opts = opts.mount_opts.clone();
    let mut device = opts.mount_device.clone();
    if opts.mount_type == "nfs" || opts.mount_type == "cifs" {
        let resolve_err =
            |e: io::Error| VolumeError::Mount(format!("error resolving passed in network volume address: {e}"));
        if let Some(addr) = option_value(&opts.mount_opts, "addr=") {
            if addr.parse::<std::net::Ipv4Addr>().is_err() {
                let ip = resolve(addr).map_err(resolve_err)?;
                mount_opts = mount_opts.replacen(&format!("addr={addr}"), &format!("addr={ip}"), 1);
            }
        } else if opts.mount_type == "cifs" {
            if let Some(rest) = device.strip_prefix("//") {
                let host = rest.split('/').next().unwrap_or("").to_string();
                if !host.is_empty() && host.parse::<IpAddr>().is_err() {
                    let ip = resolve(&host).map_err(resolve_err)?;
                    device = format!("//{ip}{}", &rest[host.len()..]);
                }
            }
        }
    }
    Ok((device, mount_opts))
}

/// The system resolver, for [`mount_source`].
pub fn resolve_host(host: &str) -> io::Result<IpAddr> {
    (host, 0)
        .to_socket_addrs()?
        .next()
        .map(|a| a.ip())
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("lookup {host}: no such host")))
}

fn cstring(s: &str, what: &str) -> Result<CString> {
    CString::new(s).map_err(|_| VolumeError::InvalidArgument(format!("{what} contains a NUL byte")))
}

/// Mounts a local volume's options on `target` (its `_data`) as moby's `localVolume.mount`:
/// the flags parsed out of `o`, then the propagation change, then the read-only remount of a
/// read-only bind. Failures read `failed to mount local volume: mount …` with any
/// `password=` masked.
pub fn mount_volume(opts: &LocalOptions, target: &Path) -> Result<()> {
    let (device, mount_opts) = mount_source(opts, &resolve_host)?;
    let mask = |msg: String| -> VolumeError {
        let msg = match option_value(&opts.mount_opts, "password=") {
            Some(pw) => msg.replacen(&format!("password={pw}"), "password=********", 1),
            None => msg,
        };
        VolumeError::Mount(format!("failed to mount local volume: {msg}"))
    };
    let (flags, data) = parse_mount_options(&mount_opts);
    let oflags = flags & !PROPAGATION;
    let data_c = cstring(&data, "mount options")?;
    if flags & MS_REMOUNT == 0 || !data.is_empty() {
        rustix::mount::mount(
            device.as_str(),
            target,
            opts.mount_type.as_str(),
            MountFlags::from_bits_retain(oflags as _),
            if data.is_empty() { None } else { Some(data_c.as_c_str()) },
        )
        .map_err(|e| mask(mount_error("mount", &device, target, oflags, &data, e)))?;
    }
    if flags & PROPAGATION != 0 {
        let pflags = flags & (PROPAGATION | MS_REC | MS_SILENT);
        rustix::mount::mount_change(target, MountPropagationFlags::from_bits_retain(pflags as _))
            .map_err(|e| mask(mount_error("remount", "", target, pflags, "", e)))?;
    }
    if oflags & (MS_BIND | MS_RDONLY) == MS_BIND | MS_RDONLY {
        rustix::mount::mount_remount(target, MountFlags::from_bits_retain(oflags as _), "")
            .map_err(|e| mask(mount_error("remount", "", target, oflags | MS_REMOUNT, "", e)))?;
    }
    Ok(())
}

/// Lazily unmounts `target` (moby/sys/mount's `Unmount`); "not mounted" is fine.
pub fn unmount_path(target: &Path) -> Result<()> {
    match rustix::mount::unmount(target, UnmountFlags::DETACH) {
        Ok(()) | Err(Errno::INVAL) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(VolumeError::Mount(mount_error("umount", "", target, 0x2, "", e))),
    }
}

// ---- /proc/self/mountinfo -----------------------------------------------------------------

/// Undoes mountinfo's octal escapes (`\040` for a space…).
fn unescape_mountinfo(field: &str) -> OsString {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = (b[i + 1] - b'0') as u32 * 64 + (b[i + 2] - b'0') as u32 * 8 + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    OsString::from_vec(out)
}

/// The mount points of `text` (the content of a mountinfo file).
pub(crate) fn parse_mount_points(text: &str) -> Vec<PathBuf> {
    text.lines().filter_map(|l| l.split(' ').nth(4)).map(|f| PathBuf::from(unescape_mountinfo(f))).collect()
}

/// Every mount point of this process's mount namespace.
pub(crate) fn mount_points() -> io::Result<Vec<PathBuf>> {
    Ok(parse_mount_points(&std::fs::read_to_string("/proc/self/mountinfo")?))
}

/// Whether `path` is a mount point.
pub fn is_mount_point(path: &Path) -> io::Result<bool> {
    Ok(mount_points()?.iter().any(|m| m == path))
}

// ---- directories --------------------------------------------------------------------------

pub(crate) fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    let mut filled = 0;
    while filled < b.len() {
        match rustix::rand::getrandom(&mut b[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(Errno::INTR) => {}
            Err(_) => {
                // No entropy source: fall back on the clock and pid, still unique enough for
                // temporary names.
                let seed = wharf_store::db::now_nanos() as u64 ^ (u64::from(std::process::id()) << 32);
                for (i, x) in b.iter_mut().enumerate().skip(filled) {
                    *x = (seed.rotate_left((i * 8) as u32) & 0xff) as u8;
                }
                filled = b.len();
            }
        }
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn fsync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

fn mkdir_mode(path: &Path, mode: u32) -> io::Result<()> {
    std::fs::DirBuilder::new().mode(mode).create(path)?;
    // The umask may have taken bits away.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Creates the root of the local volumes (mode 0701, as dockerd) if it is missing.
pub(crate) fn ensure_root(root: &Path) -> Result<()> {
    match std::fs::symlink_metadata(root) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(VolumeError::io(
            format!("volume root {}", root.display()),
            io::Error::new(io::ErrorKind::AlreadyExists, "not a directory"),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = root.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| VolumeError::io(format!("create {}", parent.display()), e))?;
            }
            match mkdir_mode(root, 0o701) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
                Err(e) => Err(VolumeError::io(format!("create {}", root.display()), e)),
            }
        }
        Err(e) => Err(VolumeError::io(format!("stat {}", root.display()), e)),
    }
}

/// Creates `<root>/<name>` (0701) with `_data` (0755) and, with options, `opts.json` (0600),
/// atomically: everything is made in a temporary directory, synced, then renamed into place
/// (never over an existing entry) and the root synced. Either the volume's directory is
/// complete or it does not exist.
pub(crate) fn create_volume_dir(root: &Path, name: &str, opts: Option<&LocalOptions>) -> Result<PathBuf> {
    let tmp_name = format!("{TMP_PREFIX}{}", random_hex(8));
    let tmp = root.join(&tmp_name);
    let final_dir = root.join(name);
    let build = || -> io::Result<()> {
        mkdir_mode(&tmp, 0o701)?;
        mkdir_mode(&tmp.join(DATA_DIR), 0o755)?;
        if let Some(o) = opts {
            let json = serde_json::to_vec(o).map_err(io::Error::other)?;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc_nofollow())
                .open(tmp.join(OPTS_FILE))?;
            f.write_all(&json)?;
            f.sync_all()?;
        }
        fsync_dir(&tmp.join(DATA_DIR))?;
        fsync_dir(&tmp)
    };
    if let Err(e) = build() {
        let _ = remove_tree(&tmp);
        return Err(VolumeError::io(format!("error while creating volume root path '{}'", final_dir.display()), e));
    }
    let root_fd = rfs::open(root, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| VolumeError::io(format!("open {}", root.display()), e.into()))?;
    if let Err(e) = rfs::renameat_with(&root_fd, tmp_name.as_str(), &root_fd, name, RenameFlags::NOREPLACE) {
        let _ = remove_tree(&tmp);
        return Err(VolumeError::io(
            format!("error while creating volume root path '{}'", final_dir.display()),
            e.into(),
        ));
    }
    rfs::fsync(&root_fd).map_err(|e| VolumeError::io(format!("fsync {}", root.display()), e.into()))?;
    Ok(final_dir)
}

fn libc_nofollow() -> i32 {
    OFlags::NOFOLLOW.bits() as i32
}

/// Moves `<root>/<name>` out of the way (to a `.trash-` name) so that a crash can never leave
/// a half-removed volume under its name; returns the new path, `None` when it was missing.
pub(crate) fn trash_volume_dir(root: &Path, name: &str) -> Result<Option<PathBuf>> {
    let trash_name = format!("{TRASH_PREFIX}{}", random_hex(8));
    let root_fd = rfs::open(root, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(|e| VolumeError::io(format!("open {}", root.display()), e.into()))?;
    match rfs::renameat_with(&root_fd, name, &root_fd, trash_name.as_str(), RenameFlags::NOREPLACE) {
        Ok(()) => {}
        Err(Errno::NOENT) => return Ok(None),
        Err(e) => {
            return Err(VolumeError::io(
                format!("error removing volume path '{}'", root.join(name).display()),
                e.into(),
            ))
        }
    }
    rfs::fsync(&root_fd).map_err(|e| VolumeError::io(format!("fsync {}", root.display()), e.into()))?;
    Ok(Some(root.join(trash_name)))
}

/// Removes `path` and everything below it, safely for a volume directory: every mount at or
/// below it is (lazily) unmounted first, and the walk refuses to descend into a directory on
/// another device, so data of a file system that is still mounted is never deleted.
pub(crate) fn remove_tree(path: &Path) -> io::Result<()> {
    let below = |m: &PathBuf| m.starts_with(path);
    let mut mounted: Vec<PathBuf> = mount_points()?.into_iter().filter(below).collect();
    mounted.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    mounted.dedup();
    for m in &mounted {
        match rustix::mount::unmount(m.as_path(), UnmountFlags::DETACH) {
            Ok(()) | Err(Errno::INVAL) | Err(Errno::NOENT) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if mount_points()?.iter().any(below) {
        return Err(io::Error::new(io::ErrorKind::ResourceBusy, format!("{} is still mounted", path.display())));
    }
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "refusing to remove a root"));
    };
    let dir = rfs::open(parent, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())?;
    let st = match rfs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    remove_at(dir.as_fd(), name, st.st_dev as u64).map_err(Into::into)
}

fn remove_at(dir: BorrowedFd<'_>, name: &OsStr, dev: u64) -> std::result::Result<(), Errno> {
    match rfs::unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => return Ok(()),
        Err(Errno::ISDIR) | Err(Errno::PERM) => {}
        Err(e) => return Err(e),
    }
    let sub = match rfs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e),
    };
    if rfs::fstat(&sub)?.st_dev as u64 != dev {
        // A mount point: never delete another file system's content.
        return Err(Errno::BUSY);
    }
    let mut names = Vec::new();
    for ent in rfs::Dir::read_from(&sub)? {
        let ent = ent?;
        let n = ent.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push(OsStr::from_bytes(n).to_os_string());
        }
    }
    for n in names {
        remove_at(sub.as_fd(), &n, dev)?;
    }
    match rfs::unlinkat(dir, name, AtFlags::REMOVEDIR) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

/// [`remove_at`] for tests of the device check.
#[cfg(test)]
pub(crate) fn remove_at_for_tests(dir: &impl AsFd, name: &OsStr, dev: u64) -> std::result::Result<(), Errno> {
    remove_at(dir.as_fd(), name, dev)
}

/// Whether a directory is empty (a missing one counts as empty).
pub(crate) fn dir_is_empty(path: &Path) -> io::Result<bool> {
    match std::fs::read_dir(path) {
        Ok(mut it) => Ok(it.next().is_none()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e),
    }
}

/// Reads a volume's `opts.json` (`None` when absent or empty, as moby's `loadOpts`).
pub(crate) fn load_opts(dir: &Path) -> Option<LocalOptions> {
    let bytes = std::fs::read(dir.join(OPTS_FILE)).ok()?;
    let o: LocalOptions = serde_json::from_slice(&bytes).ok()?;
    (o != LocalOptions::default()).then_some(o)
}

/// A driver-options map from `opts.json` (for a directory adopted without a record).
pub(crate) fn opts_to_map(o: &LocalOptions) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for (k, v) in [("type", &o.mount_type), ("o", &o.mount_opts), ("device", &o.mount_device)] {
        if !v.is_empty() {
            m.insert(k.to_string(), v.clone());
        }
    }
    if o.quota.size > 0 {
        m.insert("size".into(), o.quota.size.to_string());
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn names_follow_docker_rules_and_texts() {
        assert!(validate_name("ab").is_ok());
        assert!(validate_name("my_vol-1.x").is_ok());
        assert_eq!(
            validate_name("a").unwrap_err().to_string(),
            "volume name is too short, names should be at least two alphanumeric characters"
        );
        assert_eq!(
            validate_name("./app").unwrap_err().to_string(),
            "\"./app\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are \
             allowed. If you intended to pass a host directory, use absolute path"
        );
        // One byte is "too short"; one two-byte character is an invalid name, as in Go.
        assert!(validate_name("é").unwrap_err().to_string().contains("includes invalid characters"));
        for bad in ["_ab", ".x", "a/b", "a b", "..", "é1", "ab\n"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn options_are_validated_like_moby() {
        assert!(validate_options(&opts(&[])).is_ok());
        assert!(validate_options(&opts(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=1m")])).is_ok());
        assert_eq!(validate_options(&opts(&[("x", "1")])).unwrap_err().to_string(), "invalid option: \"x\"");
        assert_eq!(
            validate_options(&opts(&[("o", "bind")])).unwrap_err().to_string(),
            "missing required option: \"device\""
        );
        assert_eq!(
            validate_options(&opts(&[("type", "tmpfs")])).unwrap_err().to_string(),
            "missing required option: \"device\""
        );
        assert_eq!(
            validate_options(&opts(&[("size", "10m")])).unwrap_err().to_string(),
            "quota size requested but no quota support"
        );
        assert!(validate_options(&opts(&[("size", "0")])).is_ok());
        assert_eq!(validate_options(&opts(&[("size", "lots")])).unwrap_err().to_string(), "invalid size: 'lots'");
        assert_eq!(
            validate_options(&opts(&[("type", "cifs"), ("device", "//srv:445/share")])).unwrap_err().to_string(),
            "port not allowed in CIFS device URL, include 'port' in 'o='"
        );
        assert!(validate_options(&opts(&[("type", "cifs"), ("device", "//srv/share")])).is_ok());
        use wharf_types::Classify;
        assert_eq!(validate_options(&opts(&[("y", "1")])).unwrap_err().kind(), wharf_types::ErrorKind::InvalidArgument);
    }

    #[test]
    fn sizes_parse_as_go_units() {
        assert_eq!(ram_in_bytes("0").unwrap(), 0);
        assert_eq!(ram_in_bytes("512").unwrap(), 512);
        assert_eq!(ram_in_bytes("100m").unwrap(), 100 << 20);
        assert_eq!(ram_in_bytes("1.5GiB").unwrap(), 3 << 29);
        assert_eq!(ram_in_bytes("2 kb").unwrap(), 2048);
        for bad in ["", "m", "1x", "1.2.3", "1mm", "-1"] {
            assert!(ram_in_bytes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mount_option_strings_split_like_moby() {
        assert_eq!(parse_mount_options("bind"), (MS_BIND, String::new()));
        assert_eq!(parse_mount_options("size=100m,uid=1000"), (0, "size=100m,uid=1000".into()));
        assert_eq!(
            parse_mount_options("ro,bind,nosuid,addr=1.2.3.4"),
            (MS_RDONLY | MS_BIND | MS_NOSUID, "addr=1.2.3.4".into())
        );
        assert_eq!(parse_mount_options("ro,rw"), (0, String::new()));
        assert_eq!(parse_mount_options("rbind,rprivate"), (MS_BIND | MS_REC | MS_PRIVATE, String::new()));
        // moby's table gives `defaults` no flag, so it is passed on as data.
        assert_eq!(parse_mount_options("defaults"), (0, "defaults".into()));
    }

    #[test]
    fn network_addresses_are_resolved_for_nfs_and_cifs() {
        let resolve = |h: &str| -> io::Result<IpAddr> {
            match h {
                "files.example" => Ok("192.0.2.7".parse().unwrap()),
                _ => Err(io::Error::new(io::ErrorKind::NotFound, format!("lookup {h}: no such host"))),
            }
        };
        let nfs = LocalOptions {
            mount_type: "nfs".into(),
            mount_opts: "addr=files.example,rw".into(),
            mount_device: ":/export".into(),
            ..Default::default()
        };
        assert_eq!(mount_source(&nfs, &resolve).unwrap(), (":/export".into(), "addr=192.0.2.7,rw".into()));
        let literal = LocalOptions { mount_opts: "addr=10.0.0.1".into(), ..nfs.clone() };
        assert_eq!(mount_source(&literal, &resolve).unwrap().1, "addr=10.0.0.1");
        let unknown = LocalOptions { mount_opts: "addr=nowhere".into(), ..nfs.clone() };
        assert_eq!(
            mount_source(&unknown, &resolve).unwrap_err().to_string(),
            "error resolving passed in network volume address: lookup nowhere: no such host"
        );
        let cifs = LocalOptions {
            mount_type: "cifs".into(),
            mount_device: "//files.example/share".into(),
            ..Default::default()
        };
        assert_eq!(mount_source(&cifs, &resolve).unwrap().0, "//192.0.2.7/share");
        // Other types pass through untouched.
        let tmpfs = LocalOptions {
            mount_type: "tmpfs".into(),
            mount_device: "tmpfs".into(),
            mount_opts: "addr=x".into(),
            ..Default::default()
        };
        assert_eq!(mount_source(&tmpfs, &resolve).unwrap(), ("tmpfs".into(), "addr=x".into()));
        let missing = LocalOptions { mount_type: "tmpfs".into(), ..Default::default() };
        assert_eq!(mount_source(&missing, &resolve).unwrap_err().to_string(), "missing device in volume options");
    }

    #[test]
    fn opts_json_is_mobys_format() {
        let o = LocalOptions::from_map(&opts(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=1m")])).unwrap();
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"MountType":"tmpfs","MountOpts":"size=1m","MountDevice":"tmpfs","Quota":{"Size":0}}"#
        );
        assert!(o.needs_mount());
        assert!(!LocalOptions::from_map(&opts(&[("size", "0")])).unwrap().needs_mount());
        assert_eq!(LocalOptions::from_map(&opts(&[])), None);
        assert_eq!(opts_to_map(&o), opts(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=1m")]));
    }

    #[test]
    fn mountinfo_fields_are_unescaped() {
        let text = "36 35 98:0 / /mnt/a\\040b rw - ext4 /dev/x rw\n37 35 98:0 / /run rw - tmpfs tmpfs rw\n";
        assert_eq!(parse_mount_points(text), vec![PathBuf::from("/mnt/a b"), PathBuf::from("/run")]);
    }

    #[test]
    fn volume_directories_are_created_atomically_with_dockers_modes() {
        use std::os::unix::fs::MetadataExt;
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("volumes");
        ensure_root(&root).unwrap();
        assert_eq!(std::fs::metadata(&root).unwrap().mode() & 0o7777, 0o701);
        let o = LocalOptions { mount_type: "tmpfs".into(), mount_device: "tmpfs".into(), ..Default::default() };
        let dir = create_volume_dir(&root, "data", Some(&o)).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o7777, 0o701);
        assert_eq!(std::fs::metadata(dir.join(DATA_DIR)).unwrap().mode() & 0o7777, 0o755);
        assert_eq!(std::fs::metadata(dir.join(OPTS_FILE)).unwrap().mode() & 0o7777, 0o600);
        assert_eq!(load_opts(&dir), Some(o));
        // Never over an existing entry; nothing temporary is left behind.
        assert!(create_volume_dir(&root, "data", None).is_err());
        let names: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![OsString::from("data")]);
        // Trash, then remove.
        let trash = trash_volume_dir(&root, "data").unwrap().unwrap();
        assert!(!dir.exists());
        remove_tree(&trash).unwrap();
        assert!(dir_is_empty(&root).unwrap());
        assert_eq!(trash_volume_dir(&root, "data").unwrap(), None);
    }
}
