//! The container's configuration as Docker defines it — `Config` (portable) and `HostConfig`
//! (host-specific) — and its `State`. These mirror Docker's data model field for field (they
//! are what `docker inspect` shows back), with the fields wharf acts on typed and every other
//! field kept verbatim in `extra`, so nothing a client sends is lost.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Docker's `ContainerConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Config {
    /// Host name (default: the first 12 characters of the ID).
    pub hostname: String,
    /// Domain name.
    pub domainname: String,
    /// `user`, `user:group`, `uid`, `uid:gid`.
    pub user: String,
    /// Attach stdin.
    pub attach_stdin: bool,
    /// Attach stdout.
    pub attach_stdout: bool,
    /// Attach stderr.
    pub attach_stderr: bool,
    /// Exposed ports (`"80/tcp": {}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    /// Allocate a TTY.
    pub tty: bool,
    /// Keep stdin open.
    pub open_stdin: bool,
    /// Close stdin after the first attach ends.
    pub stdin_once: bool,
    /// Environment, `KEY=value`.
    pub env: Option<Vec<String>>,
    /// Command.
    pub cmd: Option<Vec<String>>,
    /// Health check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Value>,
    /// Image as given by the client.
    pub image: String,
    /// Anonymous volumes.
    pub volumes: Option<BTreeMap<String, Value>>,
    /// Working directory.
    pub working_dir: String,
    /// Entrypoint.
    pub entrypoint: Option<Vec<String>>,
    /// `OnBuild` triggers.
    pub on_build: Option<Vec<String>>,
    /// Labels.
    pub labels: Option<BTreeMap<String, String>>,
    /// Signal to stop the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Seconds to wait before killing the container at stop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    /// Everything else, kept as sent.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Docker's `RestartPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartPolicy {
    /// `""`/`no`, `always`, `unless-stopped`, `on-failure`.
    pub name: String,
    /// For `on-failure`.
    pub maximum_retry_count: i64,
}

/// Docker's `LogConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LogConfig {
    /// Driver (`json-file` by default).
    #[serde(rename = "Type")]
    pub kind: String,
    /// `--log-opt`.
    pub config: BTreeMap<String, String>,
}

/// Docker's `Ulimit`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ulimit {
    /// `nofile`, `nproc`…
    pub name: String,
    /// Soft limit.
    pub soft: i64,
    /// Hard limit.
    pub hard: i64,
}

/// Docker's `HostConfig` (with `Resources` inline, as on the wire).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostConfig {
    /// Bind mounts `src:dst[:opts]`.
    pub binds: Option<Vec<String>>,
    /// Log driver.
    pub log_config: LogConfig,
    /// `bridge`, `host`, `none`, `container:<id>`, a network name.
    pub network_mode: String,
    /// Restart policy.
    pub restart_policy: RestartPolicy,
    /// Remove when it exits (`--rm`).
    pub auto_remove: bool,
    /// Capabilities added.
    pub cap_add: Option<Vec<String>>,
    /// Capabilities dropped.
    pub cap_drop: Option<Vec<String>>,
    /// Extra groups.
    pub group_add: Option<Vec<String>>,
    /// `host`, `container:<id>`, `private`, `shareable`…
    pub ipc_mode: String,
    /// `host`, `container:<id>`.
    pub pid_mode: String,
    /// `host`.
    #[serde(rename = "UTSMode")]
    pub uts_mode: String,
    /// `host`, `private`.
    pub cgroupns_mode: String,
    /// `--privileged`.
    pub privileged: bool,
    /// `--read-only`.
    pub readonly_rootfs: bool,
    /// `--security-opt`.
    pub security_opt: Option<Vec<String>>,
    /// `--sysctl`.
    pub sysctls: Option<BTreeMap<String, String>>,
    /// `/dev/shm` size in bytes (0: 64 MiB).
    pub shm_size: i64,
    /// `--init`.
    pub init: Option<bool>,
    /// Memory limit in bytes.
    pub memory: i64,
    /// Memory + swap (-1: unlimited).
    pub memory_swap: i64,
    /// Soft memory limit.
    pub memory_reservation: i64,
    /// CPUs in 1e-9 units.
    pub nano_cpus: i64,
    /// Relative CPU weight.
    pub cpu_shares: i64,
    /// CFS period.
    pub cpu_period: i64,
    /// CFS quota.
    pub cpu_quota: i64,
    /// CPUs allowed.
    pub cpuset_cpus: String,
    /// Memory nodes allowed.
    pub cpuset_mems: String,
    /// Pids limit (0 or -1: unlimited).
    pub pids_limit: Option<i64>,
    /// Block I/O weight.
    pub blkio_weight: u16,
    /// Disable the OOM killer.
    pub oom_kill_disable: Option<bool>,
    /// `--ulimit`.
    pub ulimits: Option<Vec<Ulimit>>,
    /// `--device`.
    pub devices: Option<Vec<Value>>,
    /// `--cgroup-parent`.
    pub cgroup_parent: String,
    /// `--volume-driver`: the driver of the volumes `Binds` and `Config.Volumes` create.
    #[serde(deserialize_with = "null_default")]
    pub volume_driver: String,
    /// `--volumes-from`: `container[:ro|:rw]`.
    pub volumes_from: Option<Vec<String>>,
    /// `--mount`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mounts: Option<Vec<Mount>>,
    /// `--tmpfs`: destination → options (`rw,size=64m`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<BTreeMap<String, String>>,
    /// Everything else, kept as sent.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Docker's `mount.Mount` (`HostConfig.Mounts[]`, `--mount`), serialized as Go does
/// (`omitempty` fields left out when empty). A `null` field reads as its zero value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Mount {
    /// `bind`, `volume`, `tmpfs`, `npipe`, `cluster`.
    #[serde(rename = "Type", skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub kind: String,
    /// Host path (bind) or volume name (volume; empty: anonymous).
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub source: String,
    /// Path inside the container.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub target: String,
    /// Read-only.
    #[serde(skip_serializing_if = "is_false", deserialize_with = "null_default")]
    pub read_only: bool,
    /// `default`, `consistent`, `cached`, `delegated` (ignored on Linux).
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub consistency: String,
    /// Options of a bind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_options: Option<BindOptions>,
    /// Options of a volume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_options: Option<VolumeOptions>,
    /// Options of a tmpfs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs_options: Option<TmpfsOptions>,
    /// Everything else (`ClusterOptions`, …), kept as sent.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Docker's `mount.BindOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct BindOptions {
    /// `private`, `rprivate`, `shared`, `rshared`, `slave`, `rslave`.
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub propagation: String,
    /// `bind-nonrecursive`.
    #[serde(skip_serializing_if = "is_false", deserialize_with = "null_default")]
    pub non_recursive: bool,
    /// Create the host path when it is missing (API 1.42).
    #[serde(skip_serializing_if = "is_false", deserialize_with = "null_default")]
    pub create_mountpoint: bool,
    /// A read-only bind that is not made recursively read-only (API 1.44).
    #[serde(skip_serializing_if = "is_false", deserialize_with = "null_default")]
    pub read_only_non_recursive: bool,
    /// Fail when the bind cannot be made recursively read-only (API 1.44).
    #[serde(skip_serializing_if = "is_false", deserialize_with = "null_default")]
    pub read_only_force_recursive: bool,
}

/// Docker's `mount.VolumeOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeOptions {
    /// Do not copy the image's content into a fresh volume.
    #[serde(skip_serializing_if = "is_false", deserialize_with = "null_default")]
    pub no_copy: bool,
    /// Labels of the volume if it is created.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
    /// A path inside the volume to mount instead of its root (API 1.45).
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub subpath: String,
    /// The driver and its options, for a volume that is created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_config: Option<MountDriver>,
}

/// Docker's `mount.Driver`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MountDriver {
    /// Driver name (`local` when empty).
    #[serde(skip_serializing_if = "String::is_empty", deserialize_with = "null_default")]
    pub name: String,
    /// Driver options.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "null_default")]
    pub options: BTreeMap<String, String>,
}

/// Docker's `mount.TmpfsOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TmpfsOptions {
    /// Size in bytes (0: the kernel's default).
    #[serde(skip_serializing_if = "is_zero", deserialize_with = "null_default")]
    pub size_bytes: i64,
    /// Permission bits (Go's `os.FileMode`, a number; 0: the kernel's 1777).
    #[serde(skip_serializing_if = "is_zero_u32", deserialize_with = "null_default")]
    pub mode: u32,
    /// Flags, each `[name]` or `[name, value]`: `exec`, `noexec`.
    #[serde(skip_serializing_if = "Vec::is_empty", deserialize_with = "null_default")]
    pub options: Vec<Vec<String>>,
}

/// Reads `null` as the type's zero value, as Go's decoder leaves a field alone on `null`.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

/// Docker's container states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Made, never started.
    #[default]
    Created,
    /// Its process runs.
    Running,
    /// Frozen.
    Paused,
    /// Being restarted by its policy.
    Restarting,
    /// Being removed.
    Removing,
    /// Its process ended.
    Exited,
    /// Could not be removed.
    Dead,
}

impl Status {
    /// Docker's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Restarting => "restarting",
            Status::Removing => "removing",
            Status::Exited => "exited",
            Status::Dead => "dead",
        }
    }
}

/// Docker's `ContainerState`, kept in the store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// The status.
    pub status: Status,
    /// The container's init PID while it runs (0 otherwise).
    pub pid: i64,
    /// The last exit code.
    pub exit_code: i64,
    /// Whether the last exit was an OOM kill.
    pub oom_killed: bool,
    /// Why the last start failed.
    pub error: String,
    /// Unix nanoseconds of the last start (0: never).
    pub started_at: i64,
    /// Unix nanoseconds of the last exit (0: never).
    pub finished_at: i64,
    /// Restarts done by the policy.
    pub restart_count: i64,
    /// Stopped by the user (for `unless-stopped` and policies).
    pub stopped_by_user: bool,
    /// The health check's state, once the container has started with one.
    pub health: Option<crate::health::Health>,
}

/// A container as the store keeps it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Container {
    /// 64 hex characters.
    pub id: String,
    /// Without the leading `/`.
    pub name: String,
    /// Unix nanoseconds.
    pub created: i64,
    /// The image ID (`sha256:…`).
    pub image_id: String,
    /// The merged config (image defaults applied).
    pub config: Config,
    /// The host config.
    pub host_config: HostConfig,
    /// The state.
    pub state: State,
    /// The resolved command: path and args.
    pub path: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// The storage driver of its writable layer.
    pub driver: String,
    /// Where its json-file log lives.
    pub log_path: String,
    /// `NetworkingConfig.EndpointsConfig` as created: network name → `EndpointSettings`.
    pub networking: serde_json::Map<String, serde_json::Value>,
    /// Its mount points (binds, volumes, tmpfs), as resolved at create.
    pub mounts: Vec<crate::mounts::MountPoint>,
}
