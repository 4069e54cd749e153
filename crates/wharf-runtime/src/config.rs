//! The plain-data input of [`crate::generate`]: what the container service knows about a
//! container (Docker's `Config`/`HostConfig` after create-time defaults, plus the image config)
//! and the few host facts the spec depends on.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Docker's default `/dev/shm` size (64 MiB).
pub const DEFAULT_SHM_SIZE: u64 = 64 * 1024 * 1024;

/// Everything needed to produce a container's OCI runtime spec.
///
/// Values are the *stored* ones, after the create-time adjustments Docker makes
/// (`adaptContainerSettings`: `MemorySwap` = 2 × `Memory`, default shm size, default cgroup
/// namespace mode, `OomKillDisable = false`; see [`crate::adapt_resources`] and
/// [`crate::verify_resources`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// The command line: Entrypoint + Cmd already resolved (without `docker-init`: see
    /// [`RuntimeConfig::init`]).
    pub args: Vec<String>,
    /// The final environment (see [`crate::daemon_environment`] for how Docker builds it).
    pub env: Vec<String>,
    /// Working directory; empty means `/`.
    pub cwd: String,
    /// The resolved process user (see [`crate::resolve_user`], which also applies `GroupAdd`).
    pub user: ResolvedUser,
    /// `Config.Hostname` (the service defaults it to the short container id). Ignored with a
    /// host UTS namespace.
    pub hostname: String,
    /// `Config.Domainname`, applied as Docker does: the `kernel.domainname` sysctl.
    pub domainname: String,
    /// `Config.Tty`: the process gets a terminal.
    pub tty: bool,
    /// `HostConfig.ConsoleSize` as (height, width); used only with a terminal and when both
    /// are non-zero.
    pub console_size: Option<(u64, u64)>,
    /// Absolute host path of the mounted root filesystem (youki and runc resolve a relative
    /// path against the bundle, so it must be absolute).
    pub rootfs: PathBuf,
    /// `HostConfig.ReadonlyRootfs`.
    pub readonly_rootfs: bool,
    /// `HostConfig.Privileged`.
    pub privileged: bool,
    /// `HostConfig.CapAdd` in Docker's forms (`NET_ADMIN`, `CAP_NET_ADMIN`, `net_admin`, `ALL`).
    pub cap_add: Vec<String>,
    /// `HostConfig.CapDrop`, same forms.
    pub cap_drop: Vec<String>,
    /// `HostConfig.SecurityOpt` (`seccomp=…`, `no-new-privileges[:=]…`, `apparmor=…`,
    /// `label=…`); see [`crate::parse_security_opt`].
    pub security_opt: Vec<String>,
    /// The daemon's `no-new-privileges` default (dockerd `--no-new-privileges`).
    pub daemon_no_new_privileges: bool,
    /// The daemon's `--seccomp-profile`: a JSON profile, `unconfined`, or `None` for the
    /// built-in default.
    pub daemon_seccomp_profile: Option<String>,
    /// Namespace modes.
    pub namespaces: NamespaceModes,
    /// uid/gid mappings, required when [`NamespaceModes::user`] is `Private`.
    pub id_mappings: Option<IdMappings>,
    /// `IpcMode: none`: a private IPC namespace without any `/dev/shm` mount.
    pub ipc_none: bool,
    /// cgroup resource limits.
    pub resources: Resources,
    /// `linux.cgroupsPath`, e.g. `/docker/<id>` (cgroupfs) or `system.slice:docker:<id>`.
    pub cgroups_path: String,
    /// `HostConfig.Ulimits`, already merged with the daemon's `default-ulimits`.
    pub ulimits: Vec<Ulimit>,
    /// `HostConfig.Sysctls` (they override the defaults Docker adds).
    pub sysctls: BTreeMap<String, String>,
    /// `HostConfig.Devices`.
    pub devices: Vec<DeviceMapping>,
    /// `HostConfig.DeviceCgroupRules`, e.g. `c 1:3 mr`.
    pub device_cgroup_rules: Vec<String>,
    /// Binds, volumes and tmpfs mounts (the container's mount points).
    pub mounts: Vec<MountSpec>,
    /// `HostConfig.ShmSize` in bytes (Docker's default: [`DEFAULT_SHM_SIZE`]).
    pub shm_size: u64,
    /// `HostConfig.OomScoreAdj`.
    pub oom_score_adj: i32,
    /// `HostConfig.MaskedPaths`; `None` = Docker's defaults (none when privileged).
    pub masked_paths: Option<Vec<String>>,
    /// `HostConfig.ReadonlyPaths`; `None` = Docker's defaults (none when privileged).
    pub readonly_paths: Option<Vec<String>>,
    /// `--init`: the host path of the init binary (`docker-init`). When set and the PID
    /// namespace is private, it is bind-mounted read-only at `/sbin/docker-init` and the
    /// command becomes `/sbin/docker-init -- <args>`, as Docker does.
    pub init: Option<PathBuf>,
    /// `HostConfig.Annotations`.
    pub annotations: BTreeMap<String, String>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            args: Vec::new(),
            env: Vec::new(),
            cwd: String::new(),
            user: ResolvedUser::default(),
            hostname: String::new(),
            domainname: String::new(),
            tty: false,
            console_size: None,
            rootfs: PathBuf::new(),
            readonly_rootfs: false,
            privileged: false,
            cap_add: Vec::new(),
            cap_drop: Vec::new(),
            security_opt: Vec::new(),
            daemon_no_new_privileges: false,
            daemon_seccomp_profile: None,
            namespaces: NamespaceModes::default(),
            id_mappings: None,
            ipc_none: false,
            resources: Resources::default(),
            cgroups_path: String::new(),
            ulimits: Vec::new(),
            sysctls: BTreeMap::new(),
            devices: Vec::new(),
            device_cgroup_rules: Vec::new(),
            mounts: Vec::new(),
            shm_size: DEFAULT_SHM_SIZE,
            oom_score_adj: 0,
            masked_paths: None,
            readonly_paths: None,
            init: None,
            annotations: BTreeMap::new(),
        }
    }
}

/// The process identity, as Docker computes it from `Config.User` and `HostConfig.GroupAdd`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResolvedUser {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// `process.user.additionalGids`: Docker puts the primary gid first, then the user's
    /// supplementary groups from `/etc/group`, then the `GroupAdd` groups.
    pub additional_gids: Vec<u32>,
}

/// How a namespace is obtained.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NamespaceMode {
    /// A new namespace of the container's own.
    #[default]
    Private,
    /// The host's namespace (no entry in the spec).
    Host,
    /// Join an existing namespace, e.g. `/proc/<pid>/ns/net` for `container:<id>` (the caller
    /// resolves the other container's pid).
    Path(PathBuf),
}

/// The namespace modes of a container. `Default` is Docker's: private pid, ipc, uts and
/// network, the cgroup namespace per the host's cgroup version, no user namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceModes {
    /// `PidMode`.
    pub pid: NamespaceMode,
    /// `IpcMode` (`private`/`shareable`/`none` → `Private`, `host`, `container:` → `Path`).
    pub ipc: NamespaceMode,
    /// `UTSMode`.
    pub uts: NamespaceMode,
    /// `NetworkMode`: `Private` for bridge/user networks and `none` (a fresh namespace with
    /// only loopback, which the network code configures later), `Host`, or `Path` for
    /// `container:<id>`.
    pub net: NamespaceMode,
    /// `CgroupnsMode`; `None` = the daemon default: private on cgroup v2, host on v1.
    pub cgroup: Option<NamespaceMode>,
    /// `UsernsMode`: `Host` unless the daemon remaps users (then `Private` with
    /// [`RuntimeConfig::id_mappings`]).
    pub user: NamespaceMode,
}

impl Default for NamespaceModes {
    fn default() -> Self {
        NamespaceModes {
            pid: NamespaceMode::Private,
            ipc: NamespaceMode::Private,
            uts: NamespaceMode::Private,
            net: NamespaceMode::Private,
            cgroup: None,
            user: NamespaceMode::Host,
        }
    }
}

/// One uid or gid range of a user namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    /// First id inside the container.
    pub container_id: u32,
    /// First id on the host.
    pub host_id: u32,
    /// Number of ids.
    pub size: u32,
}

/// uid and gid mappings of a user namespace.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IdMappings {
    /// uid ranges.
    pub uids: Vec<IdMap>,
    /// gid ranges.
    pub gids: Vec<IdMap>,
}

/// cgroup limits, with Docker's field meanings and units (`HostConfig.Resources`). Zero means
/// "not set" unless stated otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resources {
    /// `Memory` in bytes.
    pub memory: i64,
    /// `MemoryReservation` (soft limit) in bytes.
    pub memory_reservation: i64,
    /// `MemorySwap`: memory + swap in bytes; `-1` = unlimited swap, `0` = unset (Docker stores
    /// 2 × `Memory` at create time when `Memory` is set).
    pub memory_swap: i64,
    /// `MemorySwappiness` (0–100); `None` (or `-1`) = inherit.
    pub memory_swappiness: Option<i64>,
    /// `OomKillDisable`.
    pub oom_kill_disable: Option<bool>,
    /// `NanoCpus`: CPU quota in units of 10⁻⁹ CPUs (period 100 ms).
    pub nano_cpus: i64,
    /// `CpuShares` (relative weight).
    pub cpu_shares: i64,
    /// `CpuPeriod` in µs.
    pub cpu_period: i64,
    /// `CpuQuota` in µs.
    pub cpu_quota: i64,
    /// `CpuRealtimePeriod` in µs.
    pub cpu_realtime_period: i64,
    /// `CpuRealtimeRuntime` in µs.
    pub cpu_realtime_runtime: i64,
    /// `CpusetCpus`, e.g. `0-2,4`.
    pub cpuset_cpus: String,
    /// `CpusetMems`.
    pub cpuset_mems: String,
    /// `PidsLimit`; `Some(0)` or negative = unlimited (`-1` in the spec).
    pub pids_limit: Option<i64>,
    /// `BlkioWeight` (10–1000).
    pub blkio_weight: u16,
    /// `BlkioWeightDevice`.
    pub blkio_weight_device: Vec<WeightDevice>,
    /// `BlkioDeviceReadBps`.
    pub blkio_device_read_bps: Vec<ThrottleDevice>,
    /// `BlkioDeviceWriteBps`.
    pub blkio_device_write_bps: Vec<ThrottleDevice>,
    /// `BlkioDeviceReadIOps`.
    pub blkio_device_read_iops: Vec<ThrottleDevice>,
    /// `BlkioDeviceWriteIOps`.
    pub blkio_device_write_iops: Vec<ThrottleDevice>,
}

/// A per-device block I/O weight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightDevice {
    /// Host path of the block device.
    pub path: String,
    /// Weight (10–1000).
    pub weight: u16,
}

/// A per-device block I/O rate limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleDevice {
    /// Host path of the block device.
    pub path: String,
    /// Bytes or operations per second.
    pub rate: u64,
}

/// A resource limit (`--ulimit nofile=1024:2048`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    /// Docker's name without the `RLIMIT_` prefix: `nofile`, `nproc`, `core`…
    pub name: String,
    /// Soft limit (`-1` = unlimited).
    pub soft: i64,
    /// Hard limit (`-1` = unlimited).
    pub hard: i64,
}

/// A host device made available in the container (`--device`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceMapping {
    /// Host path: a device node, or a directory whose devices are all added.
    pub path_on_host: String,
    /// Path inside the container.
    pub path_in_container: String,
    /// cgroup permissions, a subset of `rwm`.
    pub cgroup_permissions: String,
}

/// What kind of mount a [`MountSpec`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MountType {
    /// A bind mount: binds, named and anonymous volumes (their host directory).
    #[default]
    Bind,
    /// A tmpfs (`--tmpfs`, `--mount type=tmpfs`).
    Tmpfs,
}

/// One of the container's mount points, in the terms of moby's `container.Mount`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MountSpec {
    /// Bind or tmpfs.
    pub typ: MountType,
    /// Host path of a bind; ignored for tmpfs.
    pub source: String,
    /// Absolute path inside the container.
    pub destination: String,
    /// Read-write (binds; a tmpfs takes `ro` from `data`).
    pub writable: bool,
    /// Bind propagation: `""` (volumes), `rprivate` (the default of binds), `private`,
    /// `shared`, `rshared`, `slave`, `rslave`.
    pub propagation: String,
    /// `bind-nonrecursive`: `bind` instead of `rbind`.
    pub non_recursive: bool,
    /// `bind-recursive=writable`/`readonly-nonrecursive`: a read-only bind that is not made
    /// recursively read-only (`ro` instead of `rro`).
    pub read_only_non_recursive: bool,
    /// `bind-recursive=readonly`: fail instead of falling back to `ro` when the kernel cannot
    /// make the bind recursively read-only.
    pub read_only_force_recursive: bool,
    /// tmpfs options, comma-separated (`size=64m,mode=1777,uid=1000`, flags such as `exec`).
    pub data: String,
}

/// The host facts the spec depends on. Build it from `wharf_sysinfo::HostFacts` (cgroup
/// version, kernel, arch, seccomp) plus [`HostInfo::probe`] for the rest, or probe it all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInfo {
    /// The host uses the unified cgroup v2 hierarchy (hybrid layouts count as v1).
    pub cgroup_v2: bool,
    /// Kernel release (`uname -r`), for the seccomp profile's `minKernel` conditions and
    /// recursive read-only binds.
    pub kernel_version: String,
    /// Go's name of the architecture (`amd64`, `arm64`…), for the seccomp profile's `archMap`
    /// and arch conditions.
    pub go_arch: String,
    /// The kernel offers seccomp filters.
    pub seccomp: bool,
    /// The daemon's capability bounding set (`CapBnd` of `/proc/self/status`, bit n =
    /// capability n): what `ALL` and `--privileged` mean, as in moby.
    pub cap_bounding: u64,
    /// `net.ipv4.ping_group_range` exists (Docker sets it in private network namespaces).
    pub ping_group_range: bool,
    /// `net.ipv4.ip_unprivileged_port_start` exists (same).
    pub ip_unprivileged_port_start: bool,
    /// The daemon itself runs inside a user namespace (rootless).
    pub in_userns: bool,
}

impl HostInfo {
    /// Reads the facts from the running host (`/proc`, `/sys`); unreadable facts fall back to
    /// the common case (v1, seccomp off, every capability up to `CAP_CHECKPOINT_RESTORE`).
    pub fn probe() -> HostInfo {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let uid_map = read("/proc/self/uid_map");
        let full_map = uid_map.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"];
        HostInfo {
            cgroup_v2: std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists(),
            kernel_version: read("/proc/sys/kernel/osrelease").trim().to_string(),
            go_arch: go_arch().to_string(),
            seccomp: read("/proc/self/status").lines().any(|l| l.starts_with("Seccomp:")),
            cap_bounding: read("/proc/self/status")
                .lines()
                .find_map(|l| l.strip_prefix("CapBnd:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
                .unwrap_or((1 << 41) - 1),
            ping_group_range: std::path::Path::new("/proc/sys/net/ipv4/ping_group_range").exists(),
            ip_unprivileged_port_start: std::path::Path::new("/proc/sys/net/ipv4/ip_unprivileged_port_start").exists(),
            in_userns: !uid_map.is_empty() && !full_map,
        }
    }

    /// `(kernel, major)` of [`HostInfo::kernel_version`], as moby parses it (`%d.%d`).
    pub fn kernel(&self) -> Option<(u64, u64)> {
        parse_kernel(&self.kernel_version)
    }
}

/// Parses the leading `<kernel>.<major>` of a kernel release (`6.1.0-18-amd64` → (6, 1)).
pub(crate) fn parse_kernel(release: &str) -> Option<(u64, u64)> {
    let mut it = release.splitn(3, '.');
    let digits = |s: &str| s.chars().take_while(|c| c.is_ascii_digit()).collect::<String>().parse::<u64>().ok();
    let k = digits(it.next()?)?;
    let m = digits(it.next()?)?;
    Some((k, m))
}

/// Go's `runtime.GOARCH` of this build (Docker uses the daemon's compile-time arch).
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "arm" => "arm",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        "loongarch64" => "loong64",
        "mips64" if cfg!(target_endian = "little") => "mips64le",
        "mips64" => "mips64",
        other => other,
    }
}
