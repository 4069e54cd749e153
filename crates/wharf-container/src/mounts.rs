//! A container's mount points, computed from its create request exactly as dockerd does
//! (moby `daemon/volumes.go` `registerMountPoints`, `volume/mounts/linux_parser.go`, the create
//! route's API-version rules, `daemon/create_unix.go` for image volumes and
//! `daemon/volumes_unix.go` `setupMounts` at start), and the volume work around them, reached
//! through the [`VolumeProvider`] trait the daemon implements over its volume service (this
//! crate knows nothing of volume drivers).
//!
//! The life of a mount point:
//! - **create**: [`resolve`] (pure: parses and validates `HostConfig.Binds`, `Mounts`, `Tmpfs`,
//!   `VolumesFrom` and `Config.Volumes`, with dockerd's precedence and error texts), then
//!   [`provision`] (creates named and anonymous volumes and takes a reference on each, undone
//!   on error). The result is persisted with the container; [`inspect_mounts`] is what
//!   `docker inspect` shows as `Mounts`.
//! - **start**: [`to_runtime_specs`] mounts each volume, creates missing bind sources where
//!   Docker does, resolves volume subpaths inside their volume, and returns the
//!   [`MountSpec`]s for the OCI spec plus the volumes the image's content must be copied into
//!   (once: [`mark_populated`] afterwards, as dockerd copies only at create).
//! - **exit**: [`unmount_all`]; **remove**: [`release_all`] (with `rm -v`, anonymous volumes
//!   are removed too; named ones stay).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use wharf_fs::{FileKind, FsError, Root};
use wharf_runtime::{MountSpec, MountType};
use wharf_types::{Classify, ErrorKind};

use crate::error::{ContainerError, Result};
use crate::model::{BindOptions, Config, HostConfig, Mount, TmpfsOptions, VolumeOptions};

/// The volume driver used when none is named.
pub const DEFAULT_DRIVER: &str = "local";

/// The propagation of a bind that names none (`linuxDefaultPropagationMode`).
pub const DEFAULT_PROPAGATION: &str = "rprivate";

/// The label dockerd's volume service puts on volumes it names itself.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

/// Files the daemon bind-mounts itself; a user mount at one of these destinations replaces the
/// daemon's file (moby `TrySetNetworkMount`), so the lifecycle must then leave its own out.
pub const NETWORK_FILES: [&str; 3] = ["/etc/resolv.conf", "/etc/hostname", "/etc/hosts"];

const PROPAGATION_MODES: [&str; 6] = ["private", "rprivate", "slave", "rslave", "shared", "rshared"];
const LABEL_MODES: [&str; 2] = ["z", "Z"];
const CONSISTENCY_MODES: [&str; 3] = ["consistent", "cached", "delegated"];
const RW_MODES: [&str; 2] = ["rw", "ro"];
const COPY_MODE_NOCOPY: &str = "nocopy";
const MAX_SYMLINKS: usize = 255;

/// The kind of a mount point (Docker's `mount.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    /// A host path.
    #[default]
    Bind,
    /// A named or anonymous volume.
    Volume,
    /// A tmpfs.
    Tmpfs,
}

impl MountKind {
    /// Docker's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            MountKind::Bind => "bind",
            MountKind::Volume => "volume",
            MountKind::Tmpfs => "tmpfs",
        }
    }
}

/// Which part of the create request a mount point comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// `HostConfig.Binds` (`-v`).
    #[default]
    Bind,
    /// `HostConfig.Mounts` (`--mount`).
    Mount,
    /// `HostConfig.VolumesFrom`: another container's mount point.
    VolumesFrom,
    /// `Config.Volumes` (the image's `VOLUME`s and `-v /path`): an anonymous volume.
    ImageVolume,
    /// `HostConfig.Tmpfs` (`--tmpfs`): mounted, but not one of the container's `Mounts`.
    Tmpfs,
}

/// One mount point of a container: Docker's inspect fields (`Type`, `Name`, `Source`,
/// `Destination`, `Driver`, `Mode`, `RW`, `Propagation`) plus what wharf needs later to create,
/// mount and release it. Persist it with the container (serde); show it with
/// [`inspect_mounts`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MountPoint {
    /// bind, volume or tmpfs.
    #[serde(rename = "Type")]
    pub kind: MountKind,
    /// The volume's name (empty for an anonymous volume until [`provision`] names it).
    pub name: String,
    /// Host path: the bind's source, or the volume's mountpoint once provisioned.
    pub source: String,
    /// The cleaned path inside the container.
    pub destination: String,
    /// The volume's driver (empty before [`provision`] when none was asked: the default).
    pub driver: String,
    /// The raw mode of a `Binds` entry (`ro,z`…); `z` for local named volumes; else empty.
    pub mode: String,
    /// Read-write.
    #[serde(rename = "RW")]
    pub rw: bool,
    /// Bind propagation (`rprivate` by default); empty for volumes and tmpfs.
    pub propagation: String,
    /// Where it comes from.
    pub origin: Origin,
    /// An anonymous volume (its request named no source): removed by `rm -v`.
    pub anonymous: bool,
    /// Copy the image's content at the destination into the volume when it is empty (not
    /// `nocopy`; cleared once done, see [`mark_populated`]).
    pub copy_data: bool,
    /// A bind whose missing host path the daemon creates at start (`Binds`, volumes-from,
    /// `BindOptions.CreateMountpoint`).
    pub create_host_path: bool,
    /// `BindOptions.NonRecursive`: `bind` instead of `rbind`.
    pub non_recursive: bool,
    /// `BindOptions.ReadOnlyNonRecursive` (and read-only binds of API < 1.44 clients).
    pub read_only_non_recursive: bool,
    /// `BindOptions.ReadOnlyForceRecursive`.
    pub read_only_force_recursive: bool,
    /// `VolumeOptions.Subpath`: the path inside the volume that is mounted.
    pub subpath: String,
    /// `VolumeOptions.DriverConfig.Options`, for creating the volume.
    pub driver_opts: BTreeMap<String, String>,
    /// `VolumeOptions.Labels`, for creating the volume.
    pub labels: BTreeMap<String, String>,
    /// The tmpfs options (`size=64m,mode=1777`…), as the runtime's mount data.
    pub tmpfs_data: String,
}

/// A volume as the volume service knows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VolumeRef {
    /// Its name.
    pub name: String,
    /// Its driver.
    pub driver: String,
    /// Its host path (`Mountpoint` of `docker volume inspect`).
    pub mountpoint: String,
}

/// What the container lifecycle needs from the daemon's volume service (implemented by
/// `wharfd` over `wharf-volume`). References are by container ID: a volume with a reference
/// is in use and is not removed by `docker volume rm`/`prune`. Errors are texts for the user,
/// with their kind.
pub trait VolumeProvider: Send + Sync {
    /// Creates the volume, or finds it when one of that name exists, and records `container`
    /// as a user of it, in one step (dockerd's `Create(…, WithCreateReference)`). `name`
    /// `None`: an anonymous volume (a random 64-hex name, label [`ANONYMOUS_LABEL`]). `driver`
    /// empty: the default driver.
    fn create(
        &self,
        name: Option<&str>,
        driver: &str,
        opts: &BTreeMap<String, String>,
        labels: &BTreeMap<String, String>,
        container: &str,
    ) -> Result<VolumeRef>;
    /// Finds an existing volume (volumes-from) and records `container` as a user of it
    /// (dockerd's `Get(…, WithGetReference)`); an error when it is gone.
    fn acquire(&self, name: &str, driver: &str, container: &str) -> Result<VolumeRef>;
    /// Drops `container`'s reference (never fails; unknown volumes are ignored).
    fn release(&self, name: &str, container: &str);
    /// Mounts the volume for `container` and returns its host path (the driver's `Mount`).
    /// `mount` has the destination, RW and propagation for the `mount` volume event.
    fn mount(&self, mount: &MountPoint, container: &str) -> Result<PathBuf>;
    /// Undoes [`VolumeProvider::mount`] (publishing `unmount`); errors are logged, not returned.
    fn unmount(&self, mount: &MountPoint, container: &str);
    /// Removes the volume (for `rm -v`); a [`ContainerError::Conflict`] when it is still in
    /// use, which the caller ignores, as dockerd does.
    fn remove(&self, name: &str) -> Result<()>;
    /// Copies the image's content at `src` (inside the container's rootfs) into the fresh
    /// volume at `dst` (dockerd's `CopyImagePathContent`); whether anything was copied.
    fn copy_up(&self, src: &Path, dst: &Path) -> Result<bool>;
    /// After a daemon restart, for a running container: counts its mount of the volume again
    /// (nothing is mounted anew, no event).
    fn remount(&self, _mount: &MountPoint, _container: &str) {}
}

/// The provider of a lifecycle without a volume service: binds and tmpfs work, volumes are
/// refused.
#[derive(Debug, Default)]
pub struct NoVolumes;

impl VolumeProvider for NoVolumes {
    fn create(
        &self,
        _: Option<&str>,
        _: &str,
        _: &BTreeMap<String, String>,
        _: &BTreeMap<String, String>,
        _: &str,
    ) -> Result<VolumeRef> {
        Err(ContainerError::internal("volumes are not available"))
    }
    fn acquire(&self, _: &str, _: &str, _: &str) -> Result<VolumeRef> {
        Err(ContainerError::internal("volumes are not available"))
    }
    fn release(&self, _: &str, _: &str) {}
    fn mount(&self, _: &MountPoint, _: &str) -> Result<PathBuf> {
        Err(ContainerError::internal("volumes are not available"))
    }
    fn unmount(&self, _: &MountPoint, _: &str) {}
    fn remove(&self, _: &str) -> Result<()> {
        Ok(())
    }
    fn copy_up(&self, _: &Path, _: &Path) -> Result<bool> {
        Ok(false)
    }
}

/// Whether a host path exists, as `os.Stat` tells it (follows symlinks): `Ok(false)` when it
/// does not, an error when it cannot be told.
pub type PathExists<'a> = &'a dyn Fn(&Path) -> std::io::Result<bool>;

/// Finds another container's mount points by name or ID (for `VolumesFrom`); a
/// [`ContainerError::NotFound`] when there is no such container.
pub type MountLookup<'a> = &'a dyn Fn(&str) -> Result<Vec<MountPoint>>;

/// The request's context [`resolve`] needs beyond the configs.
pub struct ResolveOptions<'a> {
    /// The API version of the create request (`(1, 45)` for the newest): older versions reset
    /// or refuse newer mount options as dockerd's create route does, and before 1.44 read-only
    /// binds are not recursively read-only.
    pub api_version: (u32, u32),
    /// The daemon's data root: a bind of it (or of a path inside it, or of one of its parents)
    /// is made `rslave` unless it asks `rshared`/`rslave` (anything else is refused).
    pub data_root: Option<PathBuf>,
    /// The stat behind "bind source path does not exist" for `Mounts`.
    pub path_exists: PathExists<'a>,
}

impl Default for ResolveOptions<'static> {
    fn default() -> Self {
        ResolveOptions { api_version: (1, 45), data_root: None, path_exists: &host_path_exists }
    }
}

/// `os.Stat` of a host path: exists, does not exist, or cannot be told.
pub fn host_path_exists(p: &Path) -> std::io::Result<bool> {
    match std::fs::metadata(p) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

// ---- small Go-compatible helpers ---------------------------------------------------------------

fn invalid(msg: impl Into<String>) -> ContainerError {
    ContainerError::Invalid(msg.into())
}

use wharf_types::go_quote;

/// An I/O error as Go prints one (`permission denied`, not `Permission denied (os error 13)`).
fn go_io_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

/// Go's `path.Clean`.
pub use wharf_types::clean_path;

/// Go's `filepath.IsLocal` on Unix: relative, not empty, never climbing above its start.
fn is_local(p: &str) -> bool {
    if p.is_empty() || p.starts_with('/') {
        return false;
    }
    let p = if p.split('/').any(|c| c == "." || c == "..") { clean_path(p) } else { p.to_string() };
    !(p == ".." || p.starts_with("../"))
}

fn has_propagation(mode: &str) -> bool {
    mode.split(',').any(|o| PROPAGATION_MODES.contains(&o))
}

fn get_propagation(mode: &str) -> &str {
    mode.split(',').find(|o| PROPAGATION_MODES.contains(o)).unwrap_or(DEFAULT_PROPAGATION)
}

/// Whether `nocopy` (the only copy mode) is in `mode`: `Some(false)` = do not copy.
fn copy_mode(mode: &str) -> Option<bool> {
    mode.split(',').any(|o| o == COPY_MODE_NOCOPY).then_some(false)
}

/// moby `linuxValidMountMode`: comma-separated options, at most one of each group
/// (rw/ro, z/Z, propagation, nocopy, consistency); the empty mode is valid.
pub fn valid_mount_mode(mode: &str) -> bool {
    if mode.is_empty() {
        return true;
    }
    let mut counts = [0u32; 5];
    for o in mode.split(',') {
        let group = if RW_MODES.contains(&o) {
            0
        } else if LABEL_MODES.contains(&o) {
            1
        } else if PROPAGATION_MODES.contains(&o) {
            2
        } else if o == COPY_MODE_NOCOPY {
            3
        } else if CONSISTENCY_MODES.contains(&o) {
            4
        } else {
            return false;
        };
        counts[group] += 1;
    }
    counts.iter().all(|c| *c <= 1)
}

/// moby `ReadWrite`: a valid mode without `ro`.
pub fn read_write(mode: &str) -> bool {
    valid_mount_mode(mode) && !mode.split(',').any(|o| o == "ro")
}

fn validate_not_root(p: &str) -> std::result::Result<(), String> {
    if clean_path(&p.replace('\\', "/")) == "/" {
        return Err("invalid specification: destination can't be '/'".into());
    }
    Ok(())
}

fn validate_absolute(p: &str) -> std::result::Result<(), String> {
    let p = p.replace('\\', "/");
    if p.starts_with('/') {
        return Ok(());
    }
    Err(format!("invalid mount path: '{p}' mount path must be absolute"))
}

fn invalid_spec(raw: &str) -> String {
    format!("invalid volume specification: '{raw}'")
}

fn invalid_mode(mode: &str) -> ContainerError {
    invalid(format!("invalid mode: {mode}"))
}

fn duplicate(dest: &str) -> ContainerError {
    invalid(format!("Duplicate mount point: {dest}"))
}

// ---- parsing and validation --------------------------------------------------------------------

/// moby `ConvertTmpfsOptions`: `ro`, `mode=<octal>`, `size=<n>[kmg]` (the largest unit that
/// divides it), then the `exec`/`noexec` flags; the error text when an option is refused.
pub fn convert_tmpfs_options(opt: Option<&TmpfsOptions>, read_only: bool) -> std::result::Result<String, String> {
    let mut raw: Vec<String> = Vec::new();
    if read_only {
        raw.push("ro".into());
    }
    if let Some(o) = opt {
        if o.mode != 0 {
            raw.push(format!("mode={:o}", o.mode));
        }
        if o.size_bytes != 0 {
            let mut size = o.size_bytes;
            let mut suffix = "";
            for (s, divisor) in [("g", 1i64 << 30), ("m", 1 << 20), ("k", 1 << 10)] {
                if size % divisor == 0 {
                    size /= divisor;
                    suffix = s;
                    break;
                }
            }
            raw.push(format!("size={size}{suffix}"));
        }
        for flag in &o.options {
            if flag.is_empty() || flag.len() > 2 {
                return Err("invalid option array length".into());
            }
            if !matches!(flag[0].as_str(), "exec" | "noexec") {
                return Err(format!("invalid option: {}", flag[0]));
            }
            raw.push(flag.join("="));
        }
    }
    Ok(raw.join(","))
}

/// moby `ValidateMountConfig` (linux parser) of one `HostConfig.Mounts` entry. With
/// `exists`, a bind's source must exist unless `BindOptions.CreateMountpoint`.
pub fn validate_mount(m: &Mount, exists: Option<PathExists<'_>>) -> Result<()> {
    let fail = |e: &str| invalid(format!("invalid mount config for type {}: {e}", go_quote(&m.kind)));
    if m.target.is_empty() {
        return Err(fail("field Target must not be empty"));
    }
    validate_not_root(&m.target).map_err(|e| fail(&e))?;
    validate_absolute(&m.target).map_err(|e| fail(&e))?;
    match m.kind.as_str() {
        "bind" => {
            if m.source.is_empty() {
                return Err(fail("field Source must not be empty"));
            }
            if let Some(bo) = &m.bind_options {
                if !bo.propagation.is_empty() && !PROPAGATION_MODES.contains(&bo.propagation.as_str()) {
                    return Err(fail(&format!("invalid propagation mode: {}", bo.propagation)));
                }
            }
            if m.volume_options.is_some() {
                return Err(fail("field VolumeOptions must not be specified"));
            }
            validate_absolute(&m.source).map_err(|e| fail(&e))?;
            if let Some(exists) = exists {
                let found = exists(Path::new(&m.source))
                    .map_err(|e| fail(&format!("stat {}: {}", m.source, go_io_text(&e))))?;
                let create = m.bind_options.as_ref().is_some_and(|b| b.create_mountpoint);
                if !found && !create {
                    return Err(fail(&format!("bind source path does not exist: {}", m.source)));
                }
            }
        }
        "volume" => {
            if m.bind_options.is_some() {
                return Err(fail("field BindOptions must not be specified"));
            }
            let anonymous = m.source.is_empty();
            if let Some(sub) = m.volume_options.as_ref().map(|v| v.subpath.as_str()).filter(|s| !s.is_empty()) {
                if anonymous {
                    return Err(fail("must not set Subpath when using anonymous volumes"));
                }
                if !is_local(sub) {
                    return Err(fail("subpath must be a relative path within the volume"));
                }
            }
            if m.read_only && anonymous {
                return Err(fail("must not set ReadOnly mode when using anonymous volumes"));
            }
        }
        "tmpfs" => {
            if m.bind_options.is_some() {
                return Err(fail("field BindOptions must not be specified"));
            }
            if !m.source.is_empty() {
                return Err(fail("field Source must not be specified"));
            }
            convert_tmpfs_options(m.tmpfs_options.as_ref(), m.read_only).map_err(|e| fail(&e))?;
        }
        _ => return Err(fail("mount type unknown")),
    }
    Ok(())
}

/// moby `ParseMountSpec`: a validated `Mounts` entry as a mount point (origin
/// [`Origin::Mount`]; `create_host_path` from `BindOptions.CreateMountpoint`).
pub fn parse_mount(m: &Mount, exists: Option<PathExists<'_>>) -> Result<MountPoint> {
    validate_mount(m, exists)?;
    let mut mp = MountPoint {
        rw: !m.read_only,
        destination: clean_path(&m.target),
        origin: Origin::Mount,
        ..Default::default()
    };
    match m.kind.as_str() {
        "volume" => {
            mp.kind = MountKind::Volume;
            mp.name = m.source.clone();
            mp.anonymous = m.source.is_empty();
            mp.copy_data = true;
            if let Some(vo) = &m.volume_options {
                if let Some(dc) = &vo.driver_config {
                    mp.driver = dc.name.clone();
                    mp.driver_opts = dc.options.clone();
                }
                mp.copy_data = !vo.no_copy;
                mp.labels = vo.labels.clone();
                mp.subpath = vo.subpath.clone();
            }
        }
        "bind" => {
            mp.kind = MountKind::Bind;
            mp.source = clean_path(&m.source);
            mp.propagation = DEFAULT_PROPAGATION.into();
            if let Some(bo) = &m.bind_options {
                if !bo.propagation.is_empty() {
                    mp.propagation = bo.propagation.clone();
                }
                mp.non_recursive = bo.non_recursive;
                mp.create_host_path = bo.create_mountpoint;
                mp.read_only_non_recursive = bo.read_only_non_recursive;
                mp.read_only_force_recursive = bo.read_only_force_recursive;
            }
        }
        _ => {
            mp.kind = MountKind::Tmpfs;
            mp.tmpfs_data = convert_tmpfs_options(m.tmpfs_options.as_ref(), m.read_only).unwrap_or_default();
        }
    }
    Ok(mp)
}

/// A `Binds` entry as the `Mount` moby's `ParseMountRaw` builds from it, and its raw mode.
fn bind_spec(raw: &str, volume_driver: &str) -> Result<(Mount, String)> {
    let arr: Vec<&str> = raw.splitn(4, ':').collect();
    if arr[0].is_empty() {
        return Err(invalid(invalid_spec(raw)));
    }
    let mut spec = Mount::default();
    let mut mode = String::new();
    match arr.len() {
        1 => spec.target = arr[0].into(),
        2 => {
            // `/foo:rw` is a destination and a mode, which a volume cannot have.
            if valid_mount_mode(arr[1]) {
                return Err(invalid(invalid_spec(raw)));
            }
            spec.source = arr[0].into();
            spec.target = arr[1].into();
        }
        3 => {
            spec.source = arr[0].into();
            spec.target = arr[1].into();
            mode = arr[2].into();
        }
        _ => return Err(invalid(invalid_spec(raw))),
    }
    if !valid_mount_mode(&mode) {
        return Err(invalid_mode(&mode));
    }
    spec.kind = if spec.source.starts_with('/') { "bind" } else { "volume" }.into();
    spec.read_only = !read_write(&mode);
    if !volume_driver.is_empty() && spec.kind == "volume" {
        spec.volume_options = Some(VolumeOptions {
            driver_config: Some(crate::model::MountDriver { name: volume_driver.into(), ..Default::default() }),
            ..Default::default()
        });
    }
    if let Some(copy) = copy_mode(&mode) {
        spec.volume_options.get_or_insert_with(Default::default).no_copy = !copy;
    }
    if has_propagation(&mode) {
        spec.bind_options = Some(BindOptions { propagation: get_propagation(&mode).into(), ..Default::default() });
    }
    Ok((spec, mode))
}

/// moby `ParseMountRaw`: one `HostConfig.Binds` entry, `src:dst[:mode]` (a `src` that is not
/// an absolute path names a volume) or `dst` (an anonymous volume). The bind source is not
/// checked: the daemon creates it at start (`create_host_path`).
pub fn parse_bind(raw: &str, volume_driver: &str) -> Result<MountPoint> {
    parse_bind_spec(raw, volume_driver).map(|(mp, _)| mp)
}

/// [`parse_bind`] and the `Mount` it was read as (for the data-root check).
fn parse_bind_spec(raw: &str, volume_driver: &str) -> Result<(MountPoint, Mount)> {
    let (spec, mode) = bind_spec(raw, volume_driver)?;
    let mut mp = parse_mount(&spec, None).map_err(|e| invalid(format!("{}: {e}", invalid_spec(raw))))?;
    mp.mode = mode;
    mp.origin = Origin::Bind;
    mp.create_host_path = mp.kind == MountKind::Bind;
    Ok((mp, spec))
}

/// moby `ParseVolumesFrom`: `container[:mode]` → (container, mode); the mode defaults to
/// `rw` and may not carry a propagation or `nocopy`.
pub fn parse_volumes_from(spec: &str) -> Result<(String, String)> {
    if spec.is_empty() {
        return Err(invalid("volumes-from specification cannot be an empty string"));
    }
    let (id, mode) = spec.split_once(':').unwrap_or((spec, ""));
    if mode.is_empty() {
        return Ok((id.into(), "rw".into()));
    }
    if !valid_mount_mode(mode) || has_propagation(mode) || copy_mode(mode).is_some() {
        return Err(invalid_mode(mode));
    }
    Ok((id.into(), mode.into()))
}

/// moby `validateBindDaemonRoot`: whether a bind of (or above) the data root must become
/// `rslave`; an error when it asks a propagation other than `rslave`/`rshared`.
fn bind_needs_slave(spec: &Mount, data_root: Option<&Path>) -> Result<bool> {
    let Some(root) = data_root.and_then(Path::to_str) else { return Ok(false) };
    if spec.kind != "bind" || (!spec.source.starts_with(root) && !root.starts_with(spec.source.as_str())) {
        return Ok(false);
    }
    let Some(bo) = &spec.bind_options else { return Ok(true) };
    match bo.propagation.as_str() {
        "" => Ok(true),
        "rslave" | "rshared" => Ok(false),
        p => Err(invalid(format!(
            "invalid mount config: must use either propagation mode \"rslave\" or \"rshared\" when mount source is within the daemon root, daemon root: {}, bind mount source: {}, propagation: {}",
            go_quote(root),
            go_quote(&spec.source),
            go_quote(p)
        ))),
    }
}

/// The create route's per-version handling of `HostConfig.Mounts`; whether read-only binds
/// default to non-recursive (API < 1.44).
fn adapt_mounts(mounts: &mut [Mount], api: (u32, u32)) -> Result<bool> {
    if api < (1, 40) {
        for bo in mounts.iter_mut().filter_map(|m| m.bind_options.as_mut()) {
            bo.non_recursive = false;
        }
    }
    if api < (1, 42) {
        // dockerd also means to drop misplaced Volume/TmpfsOptions here, but resets a copy:
        // only CreateMountpoint is really ignored.
        for bo in mounts.iter_mut().filter_map(|m| m.bind_options.as_mut()) {
            bo.create_mountpoint = false;
        }
    } else {
        for m in mounts.iter() {
            let misplaced = if m.volume_options.is_some() && m.kind != "volume" {
                Some("VolumeOptions")
            } else if m.bind_options.is_some() && m.kind != "bind" {
                Some("BindOptions")
            } else if m.tmpfs_options.is_some() && m.kind != "tmpfs" {
                Some("TmpfsOptions")
            } else {
                None
            };
            if let Some(field) = misplaced {
                return Err(invalid(format!("{field} must not be specified on mount type {}", go_quote(&m.kind))));
            }
        }
    }
    let default_ro_non_recursive = api < (1, 44);
    if default_ro_non_recursive
        && mounts
            .iter()
            .any(|m| m.kind == "bind" && m.bind_options.as_ref().is_some_and(|b| b.read_only_force_recursive))
    {
        return Err(invalid("BindOptions.ReadOnlyForceRecursive needs API v1.44 or newer"));
    }
    if api < (1, 45) && mounts.iter().any(|m| m.volume_options.as_ref().is_some_and(|v| !v.subpath.is_empty())) {
        return Err(invalid("VolumeOptions.Subpath needs API v1.45 or newer"));
    }
    Ok(default_ro_non_recursive)
}

/// At create: the container's mount points from its (image-merged) `Config` and its
/// `HostConfig`, as dockerd decides them. Pure but for `opts.path_exists` and `lookup`.
///
/// Order and precedence (moby): API-version rules on `Mounts`; every `Mounts` entry validated
/// (bind sources must exist); `Tmpfs` destinations validated; then `VolumesFrom` (each
/// container's mount points, RW only if both theirs and the mode say so; later ones replace
/// earlier ones at the same destination); `Binds` and `Mounts` replace those, and may not
/// share a destination among themselves (`Duplicate mount point: /x`; a bind may not share
/// one with `Tmpfs` either); `Config.Volumes` (the image's `VOLUME`s, already merged into
/// `config` at create) become anonymous volumes only where nothing else is mounted. The
/// `Tmpfs` entries come last, with [`Origin::Tmpfs`] (mounted, never shown in `Mounts`).
/// Volumes are not created here: see [`provision`].
pub fn resolve(
    config: &Config,
    host_config: &HostConfig,
    opts: &ResolveOptions<'_>,
    lookup: MountLookup<'_>,
) -> Result<Vec<MountPoint>> {
    let hc = host_config;
    let data_root = opts.data_root.as_deref();
    let mut mounts = hc.mounts.clone().unwrap_or_default();
    let default_ro_non_recursive = adapt_mounts(&mut mounts, opts.api_version)?;
    for m in &mounts {
        validate_mount(m, Some(opts.path_exists))?;
    }
    let tmpfs = hc.tmpfs.clone().unwrap_or_default();
    for dest in tmpfs.keys() {
        validate_not_root(dest).and_then(|_| validate_absolute(dest)).map_err(invalid)?;
    }

    let mut points: BTreeMap<String, MountPoint> = BTreeMap::new();
    for spec in hc.volumes_from.iter().flatten() {
        let (id, mode) = parse_volumes_from(spec)?;
        // dockerd reports a missing container as a bad parameter of this request.
        let theirs = lookup(&id).map_err(|e| match e {
            ContainerError::NotFound(_) => invalid(e.to_string()),
            e => e,
        })?;
        for m in theirs.iter().filter(|m| m.origin != Origin::Tmpfs) {
            let cp = MountPoint {
                rw: m.rw && read_write(&mode),
                mode: String::new(),
                origin: Origin::VolumesFrom,
                copy_data: false,
                // dockerd does not carry SkipMountpointCreation over: the source is created.
                create_host_path: m.kind == MountKind::Bind,
                ..m.clone()
            };
            points.insert(cp.destination.clone(), cp);
        }
    }

    let mut taken: BTreeSet<String> = BTreeSet::new();
    for raw in hc.binds.iter().flatten() {
        let (mut mp, spec) = parse_bind_spec(raw, &hc.volume_driver)?;
        if bind_needs_slave(&spec, data_root)? {
            mp.propagation = "rslave".into();
        }
        if taken.contains(&mp.destination) || tmpfs.contains_key(&mp.destination) {
            return Err(duplicate(&mp.destination));
        }
        if mp.kind == MountKind::Bind && !mp.rw && default_ro_non_recursive {
            mp.read_only_non_recursive = true;
        }
        taken.insert(mp.destination.clone());
        points.insert(mp.destination.clone(), mp);
    }
    for m in &mounts {
        let mut mp = parse_mount(m, Some(opts.path_exists))?;
        if bind_needs_slave(m, data_root)? {
            mp.propagation = "rslave".into();
        }
        if taken.contains(&mp.destination) {
            return Err(duplicate(&m.target));
        }
        if mp.kind == MountKind::Bind && !mp.rw && default_ro_non_recursive {
            mp.read_only_non_recursive = true;
        }
        taken.insert(mp.destination.clone());
        points.insert(mp.destination.clone(), mp);
    }

    for spec in config.volumes.iter().flat_map(|v| v.keys()) {
        let mut dest = clean_path(spec);
        if dest == "/" {
            return Err(invalid("invalid specification: destination can't be '/'"));
        }
        if !dest.starts_with('/') {
            // A relative VOLUME is relative to the root (as the runtime reads it).
            dest = clean_path(&format!("/{dest}"));
        }
        if points.contains_key(&dest) || tmpfs.contains_key(&dest) {
            continue;
        }
        let mp = MountPoint {
            kind: MountKind::Volume,
            destination: dest.clone(),
            driver: hc.volume_driver.clone(),
            rw: true,
            origin: Origin::ImageVolume,
            anonymous: true,
            copy_data: true,
            ..Default::default()
        };
        points.insert(dest, mp);
    }

    let mut out: Vec<MountPoint> = points.into_values().collect();
    for (dest, data) in &tmpfs {
        out.push(MountPoint {
            kind: MountKind::Tmpfs,
            destination: dest.clone(),
            rw: !data.split(',').any(|o| o == "ro"),
            origin: Origin::Tmpfs,
            tmpfs_data: data.clone(),
            ..Default::default()
        });
    }
    Ok(out)
}

// ---- volumes -----------------------------------------------------------------------------------

/// At create, after [`resolve`]: creates (or finds) every volume and takes `container`'s
/// reference on it (volumes-from ones must exist), filling in names, drivers and host paths;
/// a local named volume of `Binds`/`Mounts` gets mode `z` when it had none, as dockerd
/// records it. On error, every reference taken is released and every anonymous volume
/// created is removed.
pub fn provision(mounts: &[MountPoint], volumes: &dyn VolumeProvider, container: &str) -> Result<Vec<MountPoint>> {
    let mut out = mounts.to_vec();
    let mut done: Vec<(String, bool)> = Vec::new();
    for mp in out.iter_mut().filter(|m| m.kind == MountKind::Volume && m.origin != Origin::Tmpfs) {
        let made = if mp.origin == Origin::VolumesFrom {
            volumes.acquire(&mp.name, &mp.driver, container)
        } else {
            let name = (!mp.name.is_empty()).then_some(mp.name.as_str());
            volumes.create(name, &mp.driver, &mp.driver_opts, &mp.labels, container)
        };
        let v = match made {
            Ok(v) => v,
            Err(e) => {
                for (name, created_anonymous) in done.iter().rev() {
                    volumes.release(name, container);
                    if *created_anonymous {
                        let _ = volumes.remove(name);
                    }
                }
                return Err(e);
            }
        };
        done.push((v.name.clone(), mp.name.is_empty()));
        mp.name = v.name;
        mp.driver = v.driver;
        mp.source = v.mountpoint;
        if matches!(mp.origin, Origin::Bind | Origin::Mount) && mp.driver == DEFAULT_DRIVER && mp.mode.is_empty() {
            mp.mode = "z".into();
        }
    }
    Ok(out)
}

/// A volume the image's content must be copied into before the container runs (dockerd's
/// `populateVolumes`): a fresh (empty) volume, not `nocopy`, without subpath, where the image
/// has a directory at the destination. The copy is `wharf-volume`'s `copy_up(image_path,
/// volume_path)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyUp {
    /// The volume's name.
    pub name: String,
    /// The destination in the container.
    pub destination: String,
    /// The host path of the image's directory (inside the mounted rootfs, symlinks resolved
    /// inside it).
    pub image_path: PathBuf,
    /// The host path of the mounted volume.
    pub volume_path: PathBuf,
}

/// What [`to_runtime_specs`] prepared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prepared {
    /// The mounts for `RuntimeConfig.mounts`, shallowest destination first.
    pub specs: Vec<MountSpec>,
    /// The volumes to populate from the image before the container runs (then call
    /// [`mark_populated`] and persist).
    pub copy_up: Vec<CopyUp>,
}

impl Prepared {
    /// Whether a user mount takes `destination` (e.g. one of [`NETWORK_FILES`], which the
    /// lifecycle must then not mount itself).
    pub fn has_destination(&self, destination: &str) -> bool {
        self.specs.iter().any(|m| m.destination == destination)
    }
}

/// The destinations taken by tmpfs mounts: dockerd mounts nothing else there.
fn tmpfs_destinations(mounts: &[MountPoint]) -> BTreeSet<&str> {
    mounts.iter().filter(|m| m.kind == MountKind::Tmpfs).map(|m| m.destination.as_str()).collect()
}

/// Whether [`to_runtime_specs`] mounts this volume (so [`unmount_all`] unmounts it).
fn mounted_volume(m: &MountPoint, tmpfs: &BTreeSet<&str>) -> bool {
    m.kind == MountKind::Volume && !tmpfs.contains(m.destination.as_str())
}

fn depth(dest: &str) -> usize {
    clean_path(dest).matches('/').count()
}

fn fs_error(e: FsError) -> ContainerError {
    ContainerError::internal(e.to_string())
}

/// How symlinks met while resolving a path in a directory are treated.
enum Scope<'a> {
    /// Like the container's root (moby `FollowSymlinkInScope`): absolute targets and `..` are
    /// clamped at the root; a missing component means "does not exist".
    Clamp,
    /// Like a volume's subpath (moby `safepath`): the path must exist and resolve inside the
    /// directory; a target leaving it is an error.
    Strict {
        /// The directory's host path.
        base: &'a Path,
        /// The subpath as asked.
        subpath: &'a str,
    },
}

fn components(p: &[u8]) -> impl Iterator<Item = OsString> + '_ {
    p.split(|b| *b == b'/').filter(|c| !c.is_empty() && *c != b".").map(|c| OsString::from_vec(c.to_vec()))
}

fn join_components(comps: &[OsString]) -> PathBuf {
    comps.iter().collect()
}

/// Resolves `path` inside `root`, one component at a time through [`Root`], replacing each
/// symlink by its target: the result names no symlink (when it was checked) and never leaves
/// the root. `None`: it does not exist (only with [`Scope::Clamp`]).
fn resolve_in(root: &Root, path: &str, scope: &Scope<'_>) -> Result<Option<PathBuf>> {
    let escape = |subpath: &str, base: &Path| {
        invalid(format!("path concatenation escapes the base directory, base: {}, subpath: {subpath}", base.display()))
    };
    let mut resolved: Vec<OsString> = Vec::new();
    let mut pending: VecDeque<OsString> = components(path.as_bytes()).collect();
    let mut links = 0;
    while let Some(c) = pending.pop_front() {
        if c == ".." {
            if resolved.pop().is_none() {
                if let Scope::Strict { base, subpath } = scope {
                    return Err(escape(subpath, base));
                }
            }
            continue;
        }
        resolved.push(c);
        let rel = join_components(&resolved);
        match root.metadata(&rel) {
            Ok(md) if md.kind == FileKind::Symlink => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(invalid(format!(
                        "cannot access path {}: too many levels of symbolic links",
                        root.path().join(&rel).display()
                    )));
                }
                let target = root.read_link(&rel).map_err(fs_error)?;
                resolved.pop();
                let bytes = target.as_os_str().as_bytes();
                let next: Vec<OsString> = if bytes.starts_with(b"/") {
                    resolved.clear();
                    match scope {
                        Scope::Clamp => components(bytes).collect(),
                        Scope::Strict { base, subpath } => match target.strip_prefix(base) {
                            Ok(rest) => components(rest.as_os_str().as_bytes()).collect(),
                            Err(_) => return Err(escape(subpath, base)),
                        },
                    }
                } else {
                    components(bytes).collect()
                };
                for c in next.into_iter().rev() {
                    pending.push_front(c);
                }
            }
            Ok(_) => {}
            Err(FsError::Io { source, .. })
                if matches!(source.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) =>
            {
                return match scope {
                    Scope::Clamp => Ok(None),
                    Scope::Strict { base, subpath } => Err(ContainerError::Other {
                        kind: ErrorKind::NotFound,
                        message: format!(
                            "cannot access path {}: lstat {}: {}",
                            base.join(subpath).display(),
                            base.join(&rel).display(),
                            go_io_text(&source)
                        ),
                    }),
                };
            }
            Err(e) => return Err(fs_error(e)),
        }
    }
    Ok(Some(join_components(&resolved)))
}

/// The host path of `subpath` inside the mounted volume at `base`: it must exist and resolve
/// inside the volume (dockerd's `safepath.Join` texts). The check is made through [`Root`];
/// the runtime mounts the returned path later.
fn volume_subpath(base: &Path, subpath: &str) -> Result<PathBuf> {
    if !is_local(subpath) {
        return Err(invalid("subpath must be a relative path within the volume"));
    }
    let root = Root::new(base).map_err(|e| ContainerError::Other {
        kind: ErrorKind::NotFound,
        message: format!("cannot access path {}: {e}", base.display()),
    })?;
    let rel = resolve_in(&root, subpath, &Scope::Strict { base, subpath })?.unwrap_or_default();
    Ok(base.join(rel))
}

/// The copy-up of `mp` (mounted at `volume_path`) if it needs one; the image's file where a
/// directory is wanted is dockerd's create error for image volumes.
fn copy_up_of(mp: &MountPoint, volume_path: &Path, rootfs: &Root) -> Result<Option<CopyUp>> {
    if mp.kind != MountKind::Volume || !mp.copy_data || !mp.subpath.is_empty() {
        return Ok(None);
    }
    let Some(rel) = resolve_in(rootfs, &mp.destination, &Scope::Clamp)? else { return Ok(None) };
    let image_path = rootfs.path().join(&rel);
    let md = rootfs.metadata(&rel).map_err(fs_error)?;
    if md.kind != FileKind::Dir {
        if mp.origin == Origin::ImageVolume {
            return Err(invalid(format!(
                "cannot mount volume over existing file, file exists {}",
                image_path.display()
            )));
        }
        return Ok(None);
    }
    let empty = std::fs::read_dir(volume_path)
        .map_err(|e| ContainerError::internal(format!("open {}: {}", volume_path.display(), go_io_text(&e))))?
        .next()
        .is_none();
    if !empty {
        return Ok(None);
    }
    Ok(Some(CopyUp {
        name: mp.name.clone(),
        destination: mp.destination.clone(),
        image_path,
        volume_path: volume_path.to_path_buf(),
    }))
}

/// moby's start-time checks of a bind's read-only options.
fn check_bind_options(mp: &MountPoint) -> Result<()> {
    let conflict = |what: &str| invalid(format!("mount options conflict: {what}"));
    if mp.rw && mp.read_only_non_recursive {
        return Err(conflict("!ReadOnly && BindOptions.ReadOnlyNonRecursive"));
    }
    if mp.rw && mp.read_only_force_recursive {
        return Err(conflict("!ReadOnly && BindOptions.ReadOnlyForceRecursive"));
    }
    if mp.read_only_non_recursive && mp.read_only_force_recursive {
        return Err(conflict("ReadOnlyNonRecursive && BindOptions.ReadOnlyForceRecursive"));
    }
    Ok(())
}

fn create_host_dir(source: &str) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new().recursive(true).mode(0o755).create(source) {
        Ok(()) => Ok(()),
        // An existing file is fine (a file bind); dockerd ignores ENOTDIR here.
        Err(_) if Path::new(source).exists() => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Ok(()),
        Err(e) => Err(ContainerError::internal(format!(
            "error while creating mount source path '{source}': mkdir {source}: {}",
            go_io_text(&e)
        ))),
    }
}

/// At start (the rootfs mounted at `rootfs`): mounts every volume through `volumes`, creates
/// missing bind sources where Docker does (`create_host_path`, mode 0755), resolves volume
/// subpaths inside their volume, and returns the runtime's mounts (tmpfs with dockerd's option
/// string; nothing else is mounted where a tmpfs is, as dockerd does) and the copy-ups still
/// due. On error, the volumes mounted so far are unmounted.
pub fn to_runtime_specs(
    mounts: &[MountPoint],
    volumes: &dyn VolumeProvider,
    container: &str,
    rootfs: &Path,
) -> Result<Prepared> {
    let tmpfs = tmpfs_destinations(mounts);
    let mut ordered: Vec<&MountPoint> = mounts.iter().collect();
    ordered.sort_by_key(|m| depth(&m.destination));
    let mut mounted: Vec<&MountPoint> = Vec::new();
    let mut root: Option<Root> = None;
    let mut out = Prepared::default();
    let result = (|| -> Result<()> {
        for mp in ordered.iter().copied() {
            match mp.kind {
                MountKind::Tmpfs => out.specs.push(MountSpec {
                    typ: MountType::Tmpfs,
                    source: "tmpfs".into(),
                    destination: mp.destination.clone(),
                    writable: mp.rw,
                    data: mp.tmpfs_data.clone(),
                    ..Default::default()
                }),
                _ if tmpfs.contains(mp.destination.as_str()) => {}
                MountKind::Bind => {
                    check_bind_options(mp)?;
                    if mp.source.is_empty() {
                        return Err(invalid("Unable to setup mount point, neither source nor volume defined"));
                    }
                    if mp.create_host_path {
                        create_host_dir(&mp.source)?;
                    }
                    out.specs.push(MountSpec {
                        typ: MountType::Bind,
                        source: mp.source.clone(),
                        destination: mp.destination.clone(),
                        writable: mp.rw,
                        propagation: mp.propagation.clone(),
                        non_recursive: mp.non_recursive,
                        read_only_non_recursive: mp.read_only_non_recursive,
                        read_only_force_recursive: mp.read_only_force_recursive,
                        data: String::new(),
                    });
                }
                MountKind::Volume => {
                    let path = volumes.mount(mp, container).map_err(|e| ContainerError::Other {
                        kind: e.kind(),
                        message: format!("error while mounting volume '{}': {e}", mp.source),
                    })?;
                    mounted.push(mp);
                    let source = if mp.subpath.is_empty() { path.clone() } else { volume_subpath(&path, &mp.subpath)? };
                    if mp.copy_data && mp.subpath.is_empty() {
                        if root.is_none() {
                            root = Some(Root::new(rootfs).map_err(fs_error)?);
                        }
                        if let Some(c) = copy_up_of(mp, &path, root.as_ref().expect("opened above"))? {
                            out.copy_up.push(c);
                        }
                    }
                    out.specs.push(MountSpec {
                        typ: MountType::Bind,
                        source: source.display().to_string(),
                        destination: mp.destination.clone(),
                        writable: mp.rw,
                        propagation: mp.propagation.clone(),
                        ..Default::default()
                    });
                }
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(out),
        Err(e) => {
            for mp in mounted.iter().rev() {
                volumes.unmount(mp, container);
            }
            Err(e)
        }
    }
}

/// At create, with the rootfs mounted at `rootfs` (dockerd's `populateVolumes`, for a
/// lifecycle that copies then rather than at first start): mounts each volume that may need
/// the image's content, hands every due copy to `copy`, and unmounts it. Call
/// [`mark_populated`] afterwards.
pub fn populate(
    mounts: &[MountPoint],
    volumes: &dyn VolumeProvider,
    container: &str,
    rootfs: &Path,
    copy: &mut dyn FnMut(&CopyUp) -> Result<()>,
) -> Result<()> {
    let due: Vec<&MountPoint> =
        mounts.iter().filter(|m| m.kind == MountKind::Volume && m.copy_data && m.subpath.is_empty()).collect();
    if due.is_empty() {
        return Ok(());
    }
    let root = Root::new(rootfs).map_err(fs_error)?;
    for mp in due {
        let path = volumes.mount(mp, container)?;
        let done = copy_up_of(mp, &path, &root).and_then(|c| match c {
            Some(c) => copy(&c),
            None => Ok(()),
        });
        volumes.unmount(mp, container);
        done?;
    }
    Ok(())
}

/// After the copy-ups are done: no mount point asks for one again (dockerd copies once).
pub fn mark_populated(mounts: &mut [MountPoint]) {
    for m in mounts {
        m.copy_data = false;
    }
}

/// After a daemon restart, for a running container: the volume service counts what
/// [`to_runtime_specs`] mounted for it again.
pub fn remount_all(mounts: &[MountPoint], volumes: &dyn VolumeProvider, container: &str) {
    let tmpfs = tmpfs_destinations(mounts);
    for mp in mounts.iter().filter(|m| mounted_volume(m, &tmpfs)) {
        volumes.remount(mp, container);
    }
}

/// After the container exited: unmounts what [`to_runtime_specs`] mounted.
pub fn unmount_all(mounts: &[MountPoint], volumes: &dyn VolumeProvider, container: &str) {
    let tmpfs = tmpfs_destinations(mounts);
    for mp in mounts.iter().filter(|m| mounted_volume(m, &tmpfs)) {
        volumes.unmount(mp, container);
    }
}

/// At remove: drops the container's reference on each volume; with `remove_anonymous`
/// (`docker rm -v`, `--rm`), removes its anonymous volumes as well — a volume still used by
/// another container stays (the conflict is ignored, as dockerd does); named volumes always
/// stay. Other removal failures are reported together, after everything was tried.
pub fn release_all(
    mounts: &[MountPoint],
    volumes: &dyn VolumeProvider,
    container: &str,
    remove_anonymous: bool,
) -> Result<()> {
    let mut errors: Vec<String> = Vec::new();
    for mp in mounts.iter().filter(|m| m.kind == MountKind::Volume && !m.name.is_empty()) {
        volumes.release(&mp.name, container);
        if !remove_anonymous || !mp.anonymous {
            continue;
        }
        match volumes.remove(&mp.name) {
            Ok(()) | Err(ContainerError::Conflict(_)) => {}
            Err(ContainerError::Other { kind: ErrorKind::Conflict, .. }) => {}
            Err(e) => errors.push(e.to_string()),
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    Err(ContainerError::internal(format!("Error removing volumes:\n{}", errors.join("\n"))))
}

// ---- inspect -----------------------------------------------------------------------------------

/// One entry of `docker inspect`'s `Mounts` (Go's `container.MountPoint`, fields in its
/// order; `Name` and `Driver` left out when empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InspectMount {
    /// `bind`, `volume`, `tmpfs`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// The volume's name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The host path (the volume's mountpoint for volumes; empty for tmpfs).
    pub source: String,
    /// The path in the container.
    pub destination: String,
    /// The volume's driver.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub driver: String,
    /// The mode as given (`ro,Z`), `z` for local named volumes.
    pub mode: String,
    /// Read-write.
    #[serde(rename = "RW")]
    pub rw: bool,
    /// Bind propagation.
    pub propagation: String,
}

/// `Mounts` of `docker inspect` (and `docker ps`): every mount point but the `--tmpfs` ones,
/// by destination.
pub fn inspect_mounts(mounts: &[MountPoint]) -> Vec<InspectMount> {
    let mut out: Vec<InspectMount> = mounts
        .iter()
        .filter(|m| m.origin != Origin::Tmpfs)
        .map(|m| InspectMount {
            kind: m.kind.as_str().into(),
            name: m.name.clone(),
            source: m.source.clone(),
            destination: m.destination.clone(),
            driver: m.driver.clone(),
            mode: m.mode.clone(),
            rw: m.rw,
            propagation: m.propagation.clone(),
        })
        .collect();
    out.sort_by(|a, b| a.destination.cmp(&b.destination));
    out
}

/// [`inspect_mounts`] as JSON (an array, `[]` when there is none).
pub fn inspect_mounts_json(mounts: &[MountPoint]) -> serde_json::Value {
    serde_json::to_value(inspect_mounts(mounts)).unwrap_or_else(|_| serde_json::Value::Array(Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MountDriver;
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    // ---- fakes and helpers ----------------------------------------------------------------------

    /// A volume service in a temporary directory that records every call.
    struct Fake {
        dir: tempfile::TempDir,
        calls: Mutex<Vec<String>>,
        fail_create: Option<String>,
        fail_mount: Option<String>,
        in_use: BTreeSet<String>,
        remove_fails: BTreeSet<String>,
        next: AtomicUsize,
    }

    impl Fake {
        fn new() -> Fake {
            Fake {
                dir: tempfile::tempdir().unwrap(),
                calls: Mutex::new(Vec::new()),
                fail_create: None,
                fail_mount: None,
                in_use: BTreeSet::new(),
                remove_fails: BTreeSet::new(),
                next: AtomicUsize::new(0),
            }
        }

        fn record(&self, s: String) {
            self.calls.lock().unwrap().push(s);
        }

        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }

        fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }
    }

    impl VolumeProvider for Fake {
        fn create(
            &self,
            name: Option<&str>,
            driver: &str,
            opts: &BTreeMap<String, String>,
            labels: &BTreeMap<String, String>,
            container: &str,
        ) -> Result<VolumeRef> {
            self.record(format!("create {} {driver} {opts:?} {labels:?} {container}", name.unwrap_or("-")));
            if name.is_some() && name == self.fail_create.as_deref() {
                return Err(ContainerError::Other { kind: ErrorKind::Internal, message: "boom".into() });
            }
            let name = match name {
                Some(n) => n.to_string(),
                None => format!("anon{}", self.next.fetch_add(1, Ordering::SeqCst)),
            };
            std::fs::create_dir_all(self.path(&name)).unwrap();
            let driver = if driver.is_empty() { DEFAULT_DRIVER } else { driver };
            Ok(VolumeRef { mountpoint: self.path(&name).display().to_string(), name, driver: driver.into() })
        }

        fn acquire(&self, name: &str, driver: &str, container: &str) -> Result<VolumeRef> {
            self.record(format!("acquire {name} {driver} {container}"));
            if !self.path(name).exists() {
                return Err(ContainerError::Other {
                    kind: ErrorKind::NotFound,
                    message: format!("get {name}: no such volume"),
                });
            }
            Ok(VolumeRef {
                name: name.into(),
                driver: driver.into(),
                mountpoint: self.path(name).display().to_string(),
            })
        }

        fn release(&self, name: &str, container: &str) {
            self.record(format!("release {name} {container}"));
        }

        fn mount(&self, mount: &MountPoint, container: &str) -> Result<PathBuf> {
            self.record(format!("mount {} {} {container}", mount.name, mount.destination));
            if Some(&mount.name) == self.fail_mount.as_ref() {
                return Err(ContainerError::Other { kind: ErrorKind::Internal, message: "driver said no".into() });
            }
            Ok(self.path(&mount.name))
        }

        fn unmount(&self, mount: &MountPoint, container: &str) {
            self.record(format!("unmount {} {container}", mount.name));
        }

        fn remove(&self, name: &str) -> Result<()> {
            self.record(format!("remove {name}"));
            if self.in_use.contains(name) {
                return Err(ContainerError::Conflict(format!("remove {name}: volume is in use")));
            }
            if self.remove_fails.contains(name) {
                return Err(ContainerError::internal(format!("remove {name}: device busy")));
            }
            Ok(())
        }
        fn copy_up(&self, src: &Path, dst: &Path) -> Result<bool> {
            self.record(format!("copy_up {} {}", src.display(), dst.display()));
            Ok(false)
        }
    }

    fn err_text(r: Result<impl std::fmt::Debug>) -> String {
        match r {
            Ok(v) => panic!("expected an error, got {v:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn no_lookup(id: &str) -> Result<Vec<MountPoint>> {
        Err(ContainerError::NotFound(id.into()))
    }

    fn all_exist(_: &Path) -> std::io::Result<bool> {
        Ok(true)
    }

    fn none_exist(_: &Path) -> std::io::Result<bool> {
        Ok(false)
    }

    fn opts_with(exists: PathExists<'_>) -> ResolveOptions<'_> {
        ResolveOptions { api_version: (1, 45), data_root: None, path_exists: exists }
    }

    fn hc(v: serde_json::Value) -> HostConfig {
        serde_json::from_value(v).unwrap()
    }

    fn cfg(volumes: &[&str]) -> Config {
        Config { volumes: Some(volumes.iter().map(|v| (v.to_string(), json!({}))).collect()), ..Default::default() }
    }

    fn mount(v: serde_json::Value) -> Mount {
        serde_json::from_value(v).unwrap()
    }

    fn at<'a>(mps: &'a [MountPoint], dest: &str) -> &'a MountPoint {
        mps.iter().find(|m| m.destination == dest).unwrap_or_else(|| panic!("no mount at {dest}: {mps:?}"))
    }

    // ---- modes, binds, volumes-from --------------------------------------------------------------

    #[test]
    fn mount_modes_as_the_linux_parser() {
        for ok in ["", "ro", "rw", "rw,z", "Z", "ro,Z,rshared", "nocopy", "cached", "delegated,ro", "consistent"] {
            assert!(valid_mount_mode(ok), "{ok}");
        }
        for bad in ["foo", "ro,rw", "z,Z", "rshared,rslave", "nocopy,nocopy", "ro,", "cached,delegated", "RO"] {
            assert!(!valid_mount_mode(bad), "{bad}");
        }
        assert!(read_write("") && read_write("z") && read_write("rw,Z"));
        assert!(!read_write("ro") && !read_write("ro,z") && !read_write("bogus"));
    }

    #[test]
    fn binds_parse_as_docker() {
        let b = parse_bind("/host:/ctr", "").unwrap();
        assert_eq!((b.kind, b.source.as_str(), b.destination.as_str()), (MountKind::Bind, "/host", "/ctr"));
        assert!(b.rw && b.create_host_path && !b.copy_data);
        assert_eq!((b.mode.as_str(), b.propagation.as_str(), b.origin), ("", "rprivate", Origin::Bind));

        let b = parse_bind("/host/./a/:/ctr/../x//:ro,Z", "").unwrap();
        assert_eq!((b.source.as_str(), b.destination.as_str()), ("/host/a", "/x"));
        assert_eq!((b.rw, b.mode.as_str()), (false, "ro,Z"));

        let b = parse_bind("/host:/ctr:rshared", "").unwrap();
        assert_eq!(b.propagation, "rshared");

        let v = parse_bind("data:/data", "").unwrap();
        assert_eq!((v.kind, v.name.as_str(), v.driver.as_str()), (MountKind::Volume, "data", ""));
        assert!(v.copy_data && !v.anonymous && v.rw && !v.create_host_path);
        assert_eq!(v.propagation, "");
        assert!(!parse_bind("data:/data:nocopy,ro", "").unwrap().copy_data);
        assert_eq!(parse_bind("data:/data", "flocker").unwrap().driver, "flocker");
        assert_eq!(parse_bind("/h:/data", "flocker").unwrap().driver, "");

        let a = parse_bind("/anon", "").unwrap();
        assert_eq!((a.kind, a.name.as_str(), a.anonymous), (MountKind::Volume, "", true));
    }

    #[test]
    fn bind_errors_are_dockers() {
        let cases = [
            ("", "invalid volume specification: ''"),
            (":/x", "invalid volume specification: ':/x'"),
            ("/foo:rw", "invalid volume specification: '/foo:rw'"),
            ("/foo:", "invalid volume specification: '/foo:'"),
            ("/a:/b:ro:x", "invalid volume specification: '/a:/b:ro:x'"),
            ("/a:/b:xyz", "invalid mode: xyz"),
            ("/a:/b:ro,rw", "invalid mode: ro,rw"),
            (
                "/a:/",
                "invalid volume specification: '/a:/': invalid mount config for type \"bind\": invalid specification: destination can't be '/'",
            ),
            (
                "/a:rel",
                "invalid volume specification: '/a:rel': invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute",
            ),
            (
                "/a:/b:nocopy",
                "invalid volume specification: '/a:/b:nocopy': invalid mount config for type \"bind\": field VolumeOptions must not be specified",
            ),
            (
                "vol:/b:rshared",
                "invalid volume specification: 'vol:/b:rshared': invalid mount config for type \"volume\": field BindOptions must not be specified",
            ),
            (
                "rel",
                "invalid volume specification: 'rel': invalid mount config for type \"volume\": invalid mount path: 'rel' mount path must be absolute",
            ),
        ];
        for (raw, want) in cases {
            let e = parse_bind(raw, "").unwrap_err();
            assert_eq!(e.to_string(), want, "{raw}");
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        }
    }

    #[test]
    fn volumes_from_specs() {
        assert_eq!(parse_volumes_from("c").unwrap(), ("c".into(), "rw".into()));
        assert_eq!(parse_volumes_from("c:").unwrap(), ("c".into(), "rw".into()));
        assert_eq!(parse_volumes_from("c:ro").unwrap(), ("c".into(), "ro".into()));
        assert_eq!(parse_volumes_from("c:ro,z").unwrap(), ("c".into(), "ro,z".into()));
        assert_eq!(err_text(parse_volumes_from("")), "volumes-from specification cannot be an empty string");
        assert_eq!(err_text(parse_volumes_from("c:rshared")), "invalid mode: rshared");
        assert_eq!(err_text(parse_volumes_from("c:nocopy")), "invalid mode: nocopy");
        assert_eq!(err_text(parse_volumes_from("c:bogus")), "invalid mode: bogus");
    }

    // ---- Mounts ----------------------------------------------------------------------------------

    #[test]
    fn mount_config_errors_are_dockers() {
        let check = |m: serde_json::Value, exists: PathExists<'_>, want: &str| {
            assert_eq!(err_text(validate_mount(&mount(m.clone()), Some(exists))), want, "{m}");
        };
        check(
            json!({"Type": "bind", "Source": "/nope", "Target": "/x"}),
            &none_exist,
            "invalid mount config for type \"bind\": bind source path does not exist: /nope",
        );
        let denied = |_: &Path| -> std::io::Result<bool> { Err(std::io::Error::from_raw_os_error(13)) };
        check(
            json!({"Type": "bind", "Source": "/secret/x", "Target": "/x"}),
            &denied,
            "invalid mount config for type \"bind\": stat /secret/x: permission denied",
        );
        check(
            json!({"Type": "bind", "Target": "/x"}),
            &all_exist,
            "invalid mount config for type \"bind\": field Source must not be empty",
        );
        check(
            json!({"Type": "bind", "Source": "rel", "Target": "/x"}),
            &all_exist,
            "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute",
        );
        check(
            json!({"Type": "bind", "Source": "/a", "Target": "/x", "BindOptions": {"Propagation": "bogus"}}),
            &all_exist,
            "invalid mount config for type \"bind\": invalid propagation mode: bogus",
        );
        check(
            json!({"Type": "bind", "Source": "/a"}),
            &all_exist,
            "invalid mount config for type \"bind\": field Target must not be empty",
        );
        check(
            json!({"Type": "volume", "Target": "/"}),
            &all_exist,
            "invalid mount config for type \"volume\": invalid specification: destination can't be '/'",
        );
        check(
            json!({"Type": "volume", "Target": "/x", "BindOptions": {}}),
            &all_exist,
            "invalid mount config for type \"volume\": field BindOptions must not be specified",
        );
        check(
            json!({"Type": "volume", "Target": "/x", "VolumeOptions": {"Subpath": "a"}}),
            &all_exist,
            "invalid mount config for type \"volume\": must not set Subpath when using anonymous volumes",
        );
        for sub in ["../a", "/abs", "a/../../b"] {
            check(
                json!({"Type": "volume", "Source": "v", "Target": "/x", "VolumeOptions": {"Subpath": sub}}),
                &all_exist,
                "invalid mount config for type \"volume\": subpath must be a relative path within the volume",
            );
        }
        check(
            json!({"Type": "volume", "Target": "/x", "ReadOnly": true}),
            &all_exist,
            "invalid mount config for type \"volume\": must not set ReadOnly mode when using anonymous volumes",
        );
        check(
            json!({"Type": "tmpfs", "Source": "x", "Target": "/x"}),
            &all_exist,
            "invalid mount config for type \"tmpfs\": field Source must not be specified",
        );
        check(
            json!({"Type": "tmpfs", "Target": "/x", "TmpfsOptions": {"Options": [["size", "1"]]}}),
            &all_exist,
            "invalid mount config for type \"tmpfs\": invalid option: size",
        );
        check(
            json!({"Type": "tmpfs", "Target": "/x", "TmpfsOptions": {"Options": [["exec", "a", "b"]]}}),
            &all_exist,
            "invalid mount config for type \"tmpfs\": invalid option array length",
        );
        for kind in ["npipe", "cluster", ""] {
            check(
                json!({"Type": kind, "Target": "/x"}),
                &all_exist,
                &format!("invalid mount config for type \"{kind}\": mount type unknown"),
            );
        }
        // A missing source is fine with CreateMountpoint; subpaths that stay inside are fine.
        let m = mount(
            json!({"Type": "bind", "Source": "/nope", "Target": "/x", "BindOptions": {"CreateMountpoint": true}}),
        );
        assert!(parse_mount(&m, Some(&none_exist)).unwrap().create_host_path);
        let m = mount(json!({"Type": "volume", "Source": "v", "Target": "/x", "VolumeOptions": {"Subpath": "a/../b"}}));
        assert_eq!(parse_mount(&m, Some(&none_exist)).unwrap().subpath, "a/../b");
    }

    #[test]
    fn mounts_parse_as_docker() {
        let m = mount(json!({
            "Type": "volume", "Source": "v", "Target": "/data/", "ReadOnly": true,
            "VolumeOptions": {"NoCopy": true, "Labels": {"a": "b"}, "Subpath": "sub",
                              "DriverConfig": {"Name": "nfs", "Options": {"o": "addr=1"}}}
        }));
        let mp = parse_mount(&m, Some(&all_exist)).unwrap();
        assert_eq!((mp.kind, mp.name.as_str(), mp.destination.as_str()), (MountKind::Volume, "v", "/data"));
        assert_eq!((mp.driver.as_str(), mp.subpath.as_str(), mp.rw, mp.copy_data), ("nfs", "sub", false, false));
        assert_eq!(mp.driver_opts, [("o".to_string(), "addr=1".to_string())].into());
        assert_eq!(mp.labels, [("a".to_string(), "b".to_string())].into());
        assert_eq!((mp.mode.as_str(), mp.propagation.as_str(), mp.origin), ("", "", Origin::Mount));

        let m = mount(json!({"Type": "bind", "Source": "/a/b/", "Target": "/x", "ReadOnly": true,
            "BindOptions": {"NonRecursive": true, "ReadOnlyForceRecursive": true}}));
        let mp = parse_mount(&m, Some(&all_exist)).unwrap();
        assert_eq!((mp.source.as_str(), mp.propagation.as_str()), ("/a/b", "rprivate"));
        assert!(mp.non_recursive && mp.read_only_force_recursive && !mp.create_host_path && !mp.rw);

        let m = mount(json!({"Type": "tmpfs", "Target": "/t", "ReadOnly": true,
            "TmpfsOptions": {"SizeBytes": 67108864, "Mode": 1023, "Options": [["noexec"]]}}));
        let mp = parse_mount(&m, Some(&all_exist)).unwrap();
        assert_eq!((mp.kind, mp.tmpfs_data.as_str()), (MountKind::Tmpfs, "ro,mode=1777,size=64m,noexec"));
    }

    #[test]
    fn tmpfs_options_as_dockerd_writes_them() {
        let t = |size: i64, mode: u32| TmpfsOptions { size_bytes: size, mode, ..Default::default() };
        assert_eq!(convert_tmpfs_options(None, false).unwrap(), "");
        assert_eq!(convert_tmpfs_options(None, true).unwrap(), "ro");
        assert_eq!(convert_tmpfs_options(Some(&t(1 << 30, 0)), false).unwrap(), "size=1g");
        assert_eq!(convert_tmpfs_options(Some(&t(3 << 20, 0)), false).unwrap(), "size=3m");
        assert_eq!(convert_tmpfs_options(Some(&t(2048, 0)), false).unwrap(), "size=2k");
        assert_eq!(convert_tmpfs_options(Some(&t(1000, 0)), false).unwrap(), "size=1000");
        assert_eq!(convert_tmpfs_options(Some(&t(0, 0o700)), true).unwrap(), "ro,mode=700");
        let o = TmpfsOptions { options: vec![vec!["exec".into()]], ..Default::default() };
        assert_eq!(convert_tmpfs_options(Some(&o), false).unwrap(), "exec");
    }

    // ---- resolve: precedence, duplicates, versions ------------------------------------------------

    fn other_container() -> Vec<MountPoint> {
        let mut v = parse_bind("/srv:/srv", "").unwrap();
        v.mode = "ro".into();
        v.rw = false;
        vec![
            MountPoint {
                kind: MountKind::Volume,
                name: "shared".into(),
                source: "/vols/shared".into(),
                destination: "/data".into(),
                driver: "local".into(),
                mode: "z".into(),
                rw: true,
                origin: Origin::Bind,
                copy_data: true,
                ..Default::default()
            },
            v,
            parse_bind("/cache:/cache", "").unwrap(),
            MountPoint {
                kind: MountKind::Tmpfs,
                destination: "/run".into(),
                rw: true,
                origin: Origin::Tmpfs,
                tmpfs_data: "size=1m".into(),
                ..Default::default()
            },
        ]
    }

    fn lookup_other(id: &str) -> Result<Vec<MountPoint>> {
        match id {
            "other" => Ok(other_container()),
            _ => Err(ContainerError::NotFound(id.into())),
        }
    }

    #[test]
    fn precedence_volumes_from_then_binds_and_mounts_then_image_volumes() {
        let h = hc(json!({
            "VolumesFrom": ["other:ro"],
            "Binds": ["/host-cache:/cache:rw"],
            "Mounts": [{"Type": "volume", "Source": "m", "Target": "/srv"}],
            "Tmpfs": {"/tmp": "size=1m"},
        }));
        let c = cfg(&["/data", "/logs/", "/tmp", "/cache"]);
        let mps = resolve(&c, &h, &opts_with(&all_exist), &lookup_other).unwrap();
        let dests: Vec<(&str, Origin)> = mps.iter().map(|m| (m.destination.as_str(), m.origin)).collect();
        assert_eq!(
            dests,
            [
                ("/cache", Origin::Bind),
                ("/data", Origin::VolumesFrom),
                ("/logs", Origin::ImageVolume),
                ("/srv", Origin::Mount),
                ("/tmp", Origin::Tmpfs),
            ]
        );
        // volumes-from: RW only if theirs and the mode say so; no mode, no copy; their --tmpfs
        // is not inherited.
        let d = at(&mps, "/data");
        assert_eq!((d.rw, d.mode.as_str(), d.copy_data, d.name.as_str()), (false, "", false, "shared"));
        assert!(!mps.iter().any(|m| m.destination == "/run"));
        let logs = at(&mps, "/logs");
        assert_eq!((logs.kind, logs.anonymous, logs.copy_data, logs.rw), (MountKind::Volume, true, true, true));
        assert_eq!((logs.mode.as_str(), logs.propagation.as_str()), ("", ""));
        assert_eq!(at(&mps, "/cache").source, "/host-cache");

        let mps =
            resolve(&Config::default(), &hc(json!({"VolumesFrom": ["other"]})), &opts_with(&all_exist), &lookup_other)
                .unwrap();
        assert!(at(&mps, "/data").rw);
        assert!(!at(&mps, "/srv").rw, "their read-only bind stays read-only");
        // SkipMountpointCreation is not carried over: the source is created at start.
        assert!(at(&mps, "/srv").create_host_path);
    }

    #[test]
    fn later_volumes_from_win_and_missing_containers_are_bad_requests() {
        let lookup = |id: &str| -> Result<Vec<MountPoint>> {
            Ok(vec![MountPoint {
                kind: MountKind::Volume,
                name: id.into(),
                destination: "/d".into(),
                rw: true,
                ..Default::default()
            }])
        };
        let mps =
            resolve(&Config::default(), &hc(json!({"VolumesFrom": ["a", "b:ro"]})), &opts_with(&all_exist), &lookup)
                .unwrap();
        assert_eq!((mps.len(), mps[0].name.as_str(), mps[0].rw), (1, "b", false));

        let e = resolve(&Config::default(), &hc(json!({"VolumesFrom": ["ghost"]})), &opts_with(&all_exist), &no_lookup)
            .unwrap_err();
        assert_eq!((e.to_string().as_str(), e.kind()), ("No such container: ghost", ErrorKind::InvalidArgument));
        let e =
            resolve(&Config::default(), &hc(json!({"VolumesFrom": ["x:rslave"]})), &opts_with(&all_exist), &no_lookup)
                .unwrap_err();
        assert_eq!(e.to_string(), "invalid mode: rslave");
    }

    #[test]
    fn duplicate_mount_points() {
        let r = |h: serde_json::Value| resolve(&Config::default(), &hc(h), &opts_with(&all_exist), &no_lookup);
        assert_eq!(err_text(r(json!({"Binds": ["/a:/x", "/b:/x/"]}))), "Duplicate mount point: /x");
        assert_eq!(err_text(r(json!({"Binds": ["/a:/x", "v:/x"]}))), "Duplicate mount point: /x");
        assert_eq!(err_text(r(json!({"Binds": ["/a:/run"], "Tmpfs": {"/run": ""}}))), "Duplicate mount point: /run");
        assert_eq!(
            err_text(r(json!({"Binds": ["/a:/x"], "Mounts": [{"Type": "volume", "Target": "/x/"}]}))),
            "Duplicate mount point: /x/"
        );
        assert_eq!(
            err_text(r(json!({"Mounts": [{"Type": "volume", "Target": "/x"}, {"Type": "tmpfs", "Target": "/x"}]}))),
            "Duplicate mount point: /x"
        );
        let e = r(json!({"Binds": ["/a:/x", "/b:/x"]})).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        // A --mount may share a --tmpfs destination (dockerd only checks binds); the tmpfs wins
        // at start.
        let mps = r(json!({"Mounts": [{"Type": "volume", "Target": "/run"}], "Tmpfs": {"/run": ""}})).unwrap();
        assert_eq!(mps.len(), 2);
    }

    #[test]
    fn mounts_are_validated_before_binds_and_tmpfs_destinations() {
        let r = |h: serde_json::Value| resolve(&Config::default(), &hc(h), &opts_with(&none_exist), &no_lookup);
        assert_eq!(
            err_text(r(
                json!({"Binds": ["bad:spec:x:y"], "Mounts": [{"Type": "bind", "Source": "/gone", "Target": "/g"}]})
            )),
            "invalid mount config for type \"bind\": bind source path does not exist: /gone"
        );
        assert_eq!(err_text(r(json!({"Tmpfs": {"/": ""}}))), "invalid specification: destination can't be '/'");
        assert_eq!(err_text(r(json!({"Tmpfs": {"run": ""}}))), "invalid mount path: 'run' mount path must be absolute");
        // Binds never need their source: the daemon creates it.
        let mps = r(json!({"Binds": ["/gone:/g"]})).unwrap();
        assert!(mps[0].create_host_path);
    }

    #[test]
    fn image_volumes_fill_only_free_destinations() {
        let h = hc(json!({"Binds": ["/h:/a"], "Tmpfs": {"/t": ""}, "VolumeDriver": "nfs"}));
        let mps = resolve(&cfg(&["/a", "/t", "/b//c/", "rel"]), &h, &opts_with(&all_exist), &no_lookup).unwrap();
        let dests: Vec<&str> = mps.iter().map(|m| m.destination.as_str()).collect();
        assert_eq!(dests, ["/a", "/b/c", "/rel", "/t"]);
        assert_eq!((at(&mps, "/b/c").driver.as_str(), at(&mps, "/b/c").origin), ("nfs", Origin::ImageVolume));
        assert_eq!(
            err_text(resolve(&cfg(&["/"]), &HostConfig::default(), &opts_with(&all_exist), &no_lookup)),
            "invalid specification: destination can't be '/'"
        );
    }

    #[test]
    fn binds_of_the_data_root_become_rslave() {
        let o =
            ResolveOptions { api_version: (1, 45), data_root: Some("/var/lib/wharf".into()), path_exists: &all_exist };
        let r = |h: serde_json::Value| resolve(&Config::default(), &hc(h), &o, &no_lookup);
        let mps = r(json!({"Binds": ["/var/lib/wharf/volumes:/v", "/:/host", "/var:/var", "/tmp:/tmp"]})).unwrap();
        assert_eq!(at(&mps, "/v").propagation, "rslave");
        assert_eq!(at(&mps, "/host").propagation, "rslave");
        assert_eq!(at(&mps, "/var").propagation, "rslave");
        assert_eq!(at(&mps, "/tmp").propagation, "rprivate");
        assert_eq!(at(&r(json!({"Binds": ["/var:/var:rshared"]})).unwrap(), "/var").propagation, "rshared");
        let mps = r(json!({"Mounts": [{"Type": "bind", "Source": "/var/lib", "Target": "/x", "BindOptions": {"NonRecursive": true}}]}))
            .unwrap();
        assert_eq!(mps[0].propagation, "rslave");
        assert_eq!(
            err_text(r(json!({"Binds": ["/var/lib/wharf:/w:rprivate"]}))),
            "invalid mount config: must use either propagation mode \"rslave\" or \"rshared\" when mount source is within the daemon root, daemon root: \"/var/lib/wharf\", bind mount source: \"/var/lib/wharf\", propagation: \"rprivate\""
        );
    }

    #[test]
    fn api_versions_as_the_create_route() {
        let with = |v: (u32, u32), exists: PathExists<'static>, h: serde_json::Value| {
            let o = ResolveOptions { api_version: v, data_root: None, path_exists: exists };
            resolve(&Config::default(), &hc(h), &o, &no_lookup)
        };
        // Before 1.44 read-only binds are not recursively read-only; writable ones unchanged.
        let h = json!({"Binds": ["/a:/a:ro", "/b:/b"], "Mounts": [{"Type": "bind", "Source": "/c", "Target": "/c", "ReadOnly": true}]});
        let mps = with((1, 43), &all_exist, h.clone()).unwrap();
        assert!(at(&mps, "/a").read_only_non_recursive && at(&mps, "/c").read_only_non_recursive);
        assert!(!at(&mps, "/b").read_only_non_recursive);
        assert!(!with((1, 44), &all_exist, h).unwrap().iter().any(|m| m.read_only_non_recursive));
        let force = json!({"Mounts": [{"Type": "bind", "Source": "/c", "Target": "/c", "ReadOnly": true,
                                       "BindOptions": {"ReadOnlyForceRecursive": true}}]});
        assert_eq!(
            err_text(with((1, 43), &all_exist, force.clone())),
            "BindOptions.ReadOnlyForceRecursive needs API v1.44 or newer"
        );
        assert!(with((1, 44), &all_exist, force).unwrap()[0].read_only_force_recursive);
        let sub =
            json!({"Mounts": [{"Type": "volume", "Source": "v", "Target": "/v", "VolumeOptions": {"Subpath": "s"}}]});
        assert_eq!(err_text(with((1, 44), &all_exist, sub.clone())), "VolumeOptions.Subpath needs API v1.45 or newer");
        assert_eq!(with((1, 45), &all_exist, sub).unwrap()[0].subpath, "s");
        // CreateMountpoint is ignored before 1.42.
        let create = json!({"Mounts": [{"Type": "bind", "Source": "/gone", "Target": "/g", "BindOptions": {"CreateMountpoint": true}}]});
        assert_eq!(
            err_text(with((1, 41), &none_exist, create.clone())),
            "invalid mount config for type \"bind\": bind source path does not exist: /gone"
        );
        assert!(with((1, 42), &none_exist, create).unwrap()[0].create_host_path);
        // Options of another type: refused from 1.42.
        let misplaced =
            json!({"Mounts": [{"Type": "bind", "Source": "/a", "Target": "/a", "TmpfsOptions": {"SizeBytes": 1}}]});
        assert_eq!(
            err_text(with((1, 42), &all_exist, misplaced.clone())),
            "TmpfsOptions must not be specified on mount type \"bind\""
        );
        assert!(with((1, 41), &all_exist, misplaced).is_ok());
        let misplaced = json!({"Mounts": [{"Type": "tmpfs", "Target": "/a", "VolumeOptions": {}}]});
        assert_eq!(
            err_text(with((1, 45), &all_exist, misplaced)),
            "VolumeOptions must not be specified on mount type \"tmpfs\""
        );
        // NonRecursive arrived in 1.40.
        let nr = json!({"Mounts": [{"Type": "bind", "Source": "/a", "Target": "/a", "BindOptions": {"NonRecursive": true}}]});
        assert!(!with((1, 39), &all_exist, nr.clone()).unwrap()[0].non_recursive);
        assert!(with((1, 40), &all_exist, nr).unwrap()[0].non_recursive);
    }

    // ---- provision, start, stop, remove -----------------------------------------------------------

    #[test]
    fn provision_creates_names_and_references() {
        let fake = Fake::new();
        std::fs::create_dir_all(fake.path("shared")).unwrap();
        let h = hc(json!({
            "VolumesFrom": ["other"],
            "Binds": ["named:/n", "/anon-bind", "/h:/h"],
            "Mounts": [{"Type": "volume", "Target": "/m", "VolumeOptions": {"Labels": {"l": "1"},
                        "DriverConfig": {"Options": {"o": "1"}}}}],
        }));
        let mps = resolve(&cfg(&["/img"]), &h, &opts_with(&all_exist), &lookup_other).unwrap();
        let mps = provision(&mps, &fake, "c1").unwrap();
        let calls = fake.calls();
        assert!(calls.contains(&"acquire shared local c1".to_string()), "{calls:?}");
        assert!(calls.contains(&"create named  {} {} c1".to_string()), "{calls:?}");
        assert!(calls.contains(&r#"create -  {"o": "1"} {"l": "1"} c1"#.to_string()), "{calls:?}");
        assert_eq!(calls.iter().filter(|c| c.starts_with("create -")).count(), 3, "{calls:?}");

        let n = at(&mps, "/n");
        assert_eq!((n.name.as_str(), n.driver.as_str(), n.mode.as_str()), ("named", "local", "z"));
        assert_eq!(n.source, fake.path("named").display().to_string());
        let anon = at(&mps, "/anon-bind");
        assert!(anon.name.starts_with("anon") && anon.anonymous);
        assert_eq!(anon.mode, "z", "a local volume of Binds gets z");
        assert!(at(&mps, "/m").name.starts_with("anon"));
        let img = at(&mps, "/img");
        assert!(img.name.starts_with("anon") && img.mode.is_empty(), "image volumes keep an empty mode");
        let from = at(&mps, "/data");
        assert_eq!((from.mode.as_str(), from.source.as_str()), ("", fake.path("shared").to_str().unwrap()));
        assert_eq!(at(&mps, "/h").source, "/h");
    }

    #[test]
    fn provision_undoes_on_error() {
        let mut fake = Fake::new();
        fake.fail_create = Some("bad".into());
        let h = hc(json!({"Binds": ["/a", "good:/b", "bad:/c"]}));
        let mps = resolve(&Config::default(), &h, &opts_with(&all_exist), &no_lookup).unwrap();
        assert_eq!(err_text(provision(&mps, &fake, "c1")), "boom");
        let calls = fake.calls();
        assert_eq!(
            &calls[3..],
            ["release good c1", "release anon0 c1", "remove anon0"],
            "named volumes stay, anonymous ones go: {calls:?}"
        );
    }

    #[test]
    fn volumes_from_a_gone_volume_fails() {
        let fake = Fake::new();
        let mps =
            resolve(&Config::default(), &hc(json!({"VolumesFrom": ["other"]})), &opts_with(&all_exist), &lookup_other)
                .unwrap();
        assert_eq!(err_text(provision(&mps, &fake, "c1")), "get shared: no such volume");
    }

    #[test]
    fn runtime_specs_binds_volumes_tmpfs_and_copy_up() {
        let fake = Fake::new();
        let rootfs = tempfile::tempdir().unwrap();
        let hostdir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(rootfs.path().join("img/sub")).unwrap();
        std::fs::write(rootfs.path().join("img/sub/f"), "x").unwrap();
        std::fs::create_dir_all(rootfs.path().join("full")).unwrap();
        std::fs::write(rootfs.path().join("full/f"), "x").unwrap();
        std::os::unix::fs::symlink("/img", rootfs.path().join("link")).unwrap();
        let made = hostdir.path().join("made/by/daemon");
        let absent = hostdir.path().join("absent");
        let h = hc(json!({
            "Binds": [format!("{}:/made:ro", made.display()), "full:/full", "nc:/nc:nocopy"],
            "Mounts": [
                {"Type": "bind", "Source": absent, "Target": "/absent", "BindOptions": {"CreateMountpoint": false}},
                {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1048576}},
                {"Type": "volume", "Target": "/shadowed"},
            ],
            "Tmpfs": {"/run": "rw,size=64m", "/shadowed": ""},
        }));
        let mps = resolve(&cfg(&["/img", "/link", "/none"]), &h, &opts_with(&all_exist), &no_lookup).unwrap();
        let mps = provision(&mps, &fake, "c1").unwrap();
        std::fs::write(fake.path("full").join("already"), "y").unwrap();

        let p = to_runtime_specs(&mps, &fake, "c1", rootfs.path()).unwrap();
        assert!(made.is_dir(), "a missing Binds source is created");
        assert!(!absent.exists(), "a --mount bind source is not");
        let dests: Vec<&str> = p.specs.iter().map(|m| m.destination.as_str()).collect();
        // Shallowest first (stable: mount points by destination, then the --tmpfs ones).
        assert_eq!(dests, ["/absent", "/full", "/img", "/link", "/made", "/nc", "/none", "/t", "/run", "/shadowed"]);
        let spec = |d: &str| p.specs.iter().find(|m| m.destination == d).unwrap();
        let made_spec = spec("/made");
        assert_eq!(
            (made_spec.typ, made_spec.writable, made_spec.propagation.as_str()),
            (MountType::Bind, false, "rprivate")
        );
        let img = spec("/img");
        assert_eq!((img.typ, img.writable, img.propagation.as_str()), (MountType::Bind, true, ""));
        assert_eq!(img.source, fake.path(&at(&mps, "/img").name).display().to_string());
        assert_eq!((spec("/run").typ, spec("/run").data.as_str()), (MountType::Tmpfs, "rw,size=64m"));
        assert_eq!(spec("/t").data, "size=1m");
        assert_eq!((spec("/shadowed").typ, spec("/shadowed").data.as_str()), (MountType::Tmpfs, ""));
        assert!(!fake.calls().iter().any(|c| c.contains(" /shadowed ")), "nothing else is mounted under a tmpfs");

        // Only the fresh image volumes with content get a copy-up (the symlink resolved inside
        // the rootfs); not the non-empty volume, not nocopy, not a missing image path.
        let mut ups: Vec<(&str, PathBuf)> =
            p.copy_up.iter().map(|c| (c.destination.as_str(), c.image_path.clone())).collect();
        ups.sort();
        assert_eq!(ups, [("/img", rootfs.path().join("img")), ("/link", rootfs.path().join("img"))]);
        assert_eq!(p.copy_up[0].volume_path, fake.path(&at(&mps, &p.copy_up[0].destination).name));

        let mut mps = mps;
        mark_populated(&mut mps);
        fake.calls.lock().unwrap().clear();
        unmount_all(&mps, &fake, "c1");
        assert_eq!(fake.calls().len(), 5, "{:?}", fake.calls());
        assert!(to_runtime_specs(&mps, &fake, "c1", rootfs.path()).unwrap().copy_up.is_empty());
        assert!(p.has_destination("/run") && !p.has_destination("/etc/hosts"));
    }

    #[test]
    fn an_image_volume_over_a_file_is_refused() {
        let fake = Fake::new();
        let rootfs = tempfile::tempdir().unwrap();
        std::fs::write(rootfs.path().join("file"), "x").unwrap();
        let mps = resolve(&cfg(&["/file"]), &HostConfig::default(), &opts_with(&all_exist), &no_lookup).unwrap();
        let mps = provision(&mps, &fake, "c1").unwrap();
        let e = to_runtime_specs(&mps, &fake, "c1", rootfs.path()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("cannot mount volume over existing file, file exists {}", rootfs.path().join("file").display())
        );
        assert_eq!(fake.calls().last().unwrap(), &format!("unmount {} c1", mps[0].name), "rolled back");
    }

    #[test]
    fn subpaths_stay_inside_their_volume() {
        let fake = Fake::new();
        let rootfs = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let vol = fake.path("v");
        std::fs::create_dir_all(vol.join("a/b")).unwrap();
        std::os::unix::fs::symlink("a/b", vol.join("rel")).unwrap();
        std::os::unix::fs::symlink(vol.join("a"), vol.join("abs-in")).unwrap();
        std::os::unix::fs::symlink(outside.path(), vol.join("abs-out")).unwrap();
        std::os::unix::fs::symlink("../..", vol.join("a/up")).unwrap();
        std::os::unix::fs::symlink("loop", vol.join("loop")).unwrap();
        let specs = |sub: &str| {
            let h = hc(
                json!({"Mounts": [{"Type": "volume", "Source": "v", "Target": "/v", "VolumeOptions": {"Subpath": sub}}]}),
            );
            let mps = resolve(&Config::default(), &h, &opts_with(&all_exist), &no_lookup).unwrap();
            let mps = provision(&mps, &fake, "c1").unwrap();
            to_runtime_specs(&mps, &fake, "c1", rootfs.path()).map(|p| PathBuf::from(&p.specs[0].source))
        };
        assert_eq!(specs("a/b").unwrap(), vol.join("a/b"));
        assert_eq!(specs("rel").unwrap(), vol.join("a/b"));
        assert_eq!(specs("abs-in/b").unwrap(), vol.join("a/b"));
        assert_eq!(specs(".").unwrap(), vol);
        let escape = format!("path concatenation escapes the base directory, base: {}", vol.display());
        assert_eq!(err_text(specs("abs-out")), format!("{escape}, subpath: abs-out"));
        assert_eq!(err_text(specs("a/up")), format!("{escape}, subpath: a/up"));
        let e = specs("a/missing").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(
            e.to_string(),
            format!(
                "cannot access path {}: lstat {}: no such file or directory",
                vol.join("a/missing").display(),
                vol.join("a/missing").display()
            )
        );
        assert!(err_text(specs("loop")).ends_with("too many levels of symbolic links"));
        // No copy-up into a subpath; each failure unmounted the volume again.
        let calls = fake.calls();
        assert_eq!(
            calls.iter().filter(|c| c.starts_with("mount ")).count(),
            calls.iter().filter(|c| c.starts_with("unmount ")).count() + 4
        );
    }

    #[test]
    fn start_time_errors() {
        let mut fake = Fake::new();
        fake.fail_mount = Some("b".into());
        let rootfs = tempfile::tempdir().unwrap();
        let mps =
            resolve(&Config::default(), &hc(json!({"Binds": ["a:/a", "b:/a/b"]})), &opts_with(&all_exist), &no_lookup)
                .unwrap();
        let mps = provision(&mps, &fake, "c1").unwrap();
        let e = to_runtime_specs(&mps, &fake, "c1", rootfs.path()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("error while mounting volume '{}': driver said no", fake.path("b").display())
        );
        assert_eq!(fake.calls().last().unwrap(), "unmount a c1");

        let conflict = |rw: bool, nr: bool, force: bool| {
            let mp = MountPoint {
                source: "/x".into(),
                destination: "/x".into(),
                rw,
                read_only_non_recursive: nr,
                read_only_force_recursive: force,
                ..Default::default()
            };
            err_text(to_runtime_specs(&[mp], &fake, "c1", rootfs.path()))
        };
        assert_eq!(
            conflict(true, true, false),
            "mount options conflict: !ReadOnly && BindOptions.ReadOnlyNonRecursive"
        );
        assert_eq!(
            conflict(true, false, true),
            "mount options conflict: !ReadOnly && BindOptions.ReadOnlyForceRecursive"
        );
        assert_eq!(
            conflict(false, true, true),
            "mount options conflict: ReadOnlyNonRecursive && BindOptions.ReadOnlyForceRecursive"
        );
    }

    #[test]
    fn populate_at_create_copies_into_fresh_volumes() {
        let fake = Fake::new();
        let rootfs = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(rootfs.path().join("etc/app")).unwrap();
        let mps = resolve(&cfg(&["/etc/app", "/nothing"]), &HostConfig::default(), &opts_with(&all_exist), &no_lookup)
            .unwrap();
        let mut mps = provision(&mps, &fake, "c1").unwrap();
        let mut copied = Vec::new();
        populate(&mps, &fake, "c1", rootfs.path(), &mut |c: &CopyUp| {
            copied.push((c.image_path.clone(), c.volume_path.clone()));
            Ok(())
        })
        .unwrap();
        assert_eq!(copied, [(rootfs.path().join("etc/app"), fake.path(&at(&mps, "/etc/app").name))]);
        assert_eq!(fake.calls().iter().filter(|c| c.starts_with("unmount")).count(), 2);
        mark_populated(&mut mps);
        assert!(mps.iter().all(|m| !m.copy_data));
    }

    #[test]
    fn release_and_rm_v() {
        let mut fake = Fake::new();
        fake.in_use.insert("anon1".into());
        let h = hc(json!({"Binds": ["named:/n", "/a0", "/h:/h"], "Mounts": [{"Type": "volume", "Target": "/a1"}]}));
        let mps = resolve(&Config::default(), &h, &opts_with(&all_exist), &no_lookup).unwrap();
        let mps = provision(&mps, &fake, "c1").unwrap();
        fake.calls.lock().unwrap().clear();
        release_all(&mps, &fake, "c1", false).unwrap();
        let mut calls = fake.calls();
        calls.sort();
        assert_eq!(calls, ["release anon0 c1", "release anon1 c1", "release named c1"]);

        fake.calls.lock().unwrap().clear();
        release_all(&mps, &fake, "c1", true).unwrap();
        let calls = fake.calls();
        assert!(calls.contains(&"remove anon0".to_string()) && calls.contains(&"remove anon1".to_string()));
        assert!(!calls.contains(&"remove named".to_string()), "named volumes stay");

        fake.remove_fails.insert("anon0".into());
        let e = release_all(&mps, &fake, "c1", true).unwrap_err();
        assert_eq!(e.to_string(), "Error removing volumes:\nremove anon0: device busy");
        assert_eq!(e.kind(), ErrorKind::Internal);
    }

    // ---- inspect and serde -------------------------------------------------------------------------

    #[test]
    fn inspect_mounts_as_dockerd_shows_them() {
        let fake = Fake::new();
        let h = hc(json!({
            "Binds": ["/h:/c:ro", "vol:/v"],
            "Mounts": [{"Type": "tmpfs", "Target": "/t"}],
            "Tmpfs": {"/run": "size=1m"},
        }));
        let mps = resolve(&cfg(&["/img"]), &h, &opts_with(&all_exist), &no_lookup).unwrap();
        let mps = provision(&mps, &fake, "c1").unwrap();
        let anon = at(&mps, "/img").name.clone();
        let text = serde_json::to_string(&inspect_mounts(&mps)).unwrap();
        let vol = fake.path("vol").display().to_string();
        let img = fake.path(&anon).display().to_string();
        assert_eq!(
            text,
            format!(
                concat!(
                    r#"[{{"Type":"bind","Source":"/h","Destination":"/c","Mode":"ro","RW":false,"Propagation":"rprivate"}},"#,
                    r#"{{"Type":"volume","Name":"{anon}","Source":"{img}","Destination":"/img","Driver":"local","Mode":"","RW":true,"Propagation":""}},"#,
                    r#"{{"Type":"tmpfs","Source":"","Destination":"/t","Mode":"","RW":true,"Propagation":""}},"#,
                    r#"{{"Type":"volume","Name":"vol","Source":"{vol}","Destination":"/v","Driver":"local","Mode":"z","RW":true,"Propagation":""}}]"#
                ),
                anon = anon,
                img = img,
                vol = vol
            )
        );
        assert_eq!(inspect_mounts_json(&[]), json!([]));
    }

    #[test]
    fn mount_points_round_trip() {
        let fake = Fake::new();
        let h = hc(json!({"Binds": ["/h:/c:ro,rslave"], "Mounts": [{"Type": "volume", "Source": "v", "Target": "/v",
            "VolumeOptions": {"Subpath": "s", "NoCopy": true}}], "Tmpfs": {"/run": ""}}));
        let mps = provision(&resolve(&Config::default(), &h, &opts_with(&all_exist), &no_lookup).unwrap(), &fake, "c")
            .unwrap();
        let text = serde_json::to_string(&mps).unwrap();
        let back: Vec<MountPoint> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, mps);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v[0]["Type"], "bind");
        assert_eq!(v[2]["Origin"], "tmpfs");
        // An older record without the internal fields still reads.
        let old: MountPoint =
            serde_json::from_value(json!({"Type": "volume", "Name": "x", "Destination": "/x", "RW": true})).unwrap();
        assert_eq!((old.kind, old.origin, old.rw), (MountKind::Volume, Origin::Bind, true));
    }

    #[test]
    fn host_config_mount_fields_serde() {
        let h = hc(json!({
            "Mounts": [{"Type": "bind", "Source": "/a", "Target": "/b", "ReadOnly": false, "Consistency": "",
                        "BindOptions": {"Propagation": "rshared", "NonRecursive": null},
                        "VolumeOptions": null, "ClusterOptions": {"x": 1}}],
            "Tmpfs": {"/run": "size=1m"},
            "VolumesFrom": ["c:ro"],
            "VolumeDriver": null,
        }));
        let m = &h.mounts.as_ref().unwrap()[0];
        assert_eq!((m.kind.as_str(), m.bind_options.as_ref().unwrap().propagation.as_str()), ("bind", "rshared"));
        assert_eq!(h.volumes_from.as_deref(), Some(&["c:ro".to_string()][..]));
        assert_eq!(h.volume_driver, "");
        let v = serde_json::to_value(&h).unwrap();
        assert_eq!(
            v["Mounts"],
            json!([{"Type": "bind", "Source": "/a", "Target": "/b", "BindOptions": {"Propagation": "rshared"}, "ClusterOptions": {"x": 1}}])
        );
        assert_eq!(v["Tmpfs"], json!({"/run": "size=1m"}));
        assert_eq!((&v["VolumesFrom"], &v["VolumeDriver"]), (&json!(["c:ro"]), &json!("")));
        // Unset: no Mounts/Tmpfs key (Go's omitempty), VolumesFrom null as Go sends it.
        let v = serde_json::to_value(HostConfig::default()).unwrap();
        assert!(v.get("Mounts").is_none() && v.get("Tmpfs").is_none());
        assert_eq!((&v["VolumesFrom"], &v["VolumeDriver"]), (&serde_json::Value::Null, &json!("")));
        let t = mount(
            json!({"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 10, "Mode": 511, "Options": [["exec"]]}}),
        );
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            json!({"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 10, "Mode": 511, "Options": [["exec"]]}})
        );
        let d = MountDriver { name: "local".into(), ..Default::default() };
        assert_eq!(serde_json::to_value(d).unwrap(), json!({"Name": "local"}));
    }

    #[test]
    fn go_helpers() {
        assert_eq!(clean_path("/a//b/./c/.."), "/a/b");
        assert_eq!(clean_path("/../a/"), "/a");
        assert_eq!(clean_path(""), ".");
        assert_eq!(clean_path("a/../.."), "..");
        assert!(is_local("a") && is_local("a/../b") && is_local("."));
        assert!(!is_local("") && !is_local("/a") && !is_local("..") && !is_local("a/../../b"));
        assert_eq!(go_quote("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(go_io_text(&std::io::Error::from_raw_os_error(2)), "no such file or directory");
    }
}
