//! `/_ping`, `/version` and `/info`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use wharf_api::models::{
    Commit, IndexInfo, LocalNodeState, PluginsInfo, RegistryServiceConfig, Runtime, SwarmInfo, SystemInfo,
    SystemInfoCgroupDriverEnum, SystemInfoCgroupVersionEnum, SystemInfoIsolationEnum, SystemVersion,
    SystemVersionComponents, SystemVersionPlatform,
};
use wharf_api::{CURRENT_API_VERSION, MIN_API_VERSION};
use wharf_sysinfo::{CgroupVersion, HostFacts};

/// What the system routes need from the daemon.
#[async_trait]
pub trait SystemBackend: Send + Sync + 'static {
    /// Facts about the host, probed once at start.
    fn host(&self) -> &HostFacts;
    /// The daemon's identity and configuration as it stands now (reloads included).
    fn status(&self) -> DaemonStatus;
    /// Object counts, asked of each capability.
    async fn counts(&self) -> ObjectCounts;
    /// How many `/events` streams are open.
    fn event_listeners(&self) -> usize;
}

/// The daemon's identity and configuration, as `/info` and `/version` report them.
#[derive(Debug, Clone, Default)]
pub struct DaemonStatus {
    /// Stable engine id, kept in the data root.
    pub id: String,
    /// Host name reported as `Name`.
    pub name: String,
    /// wharf's version.
    pub version: String,
    /// Commit wharf was built from.
    pub git_commit: String,
    /// Compiler that built wharf (reported where Docker reports its Go version).
    pub compiler: String,
    /// Build time, RFC 3339.
    pub build_time: String,
    /// `--data-root`.
    pub data_root: PathBuf,
    /// `--label`s and `labels`.
    pub labels: Vec<String>,
    /// `-D` / `debug`.
    pub debug: bool,
    /// Experimental features on.
    pub experimental: bool,
    /// Storage driver name and its status lines.
    pub storage_driver: String,
    /// `(key, value)` lines describing the storage driver.
    pub driver_status: Vec<(String, String)>,
    /// Default logging driver.
    pub logging_driver: String,
    /// `cgroupfs` or `systemd`.
    pub cgroup_driver: String,
    /// Runtimes by name.
    pub runtimes: Vec<RuntimeInfo>,
    /// Name of the default runtime.
    pub default_runtime: String,
    /// The `--init` binary (`Init Binary` in `docker info`), empty when there is none.
    pub init_binary: String,
    /// `live-restore`.
    pub live_restore: bool,
    /// Security options (`name=seccomp,profile=builtin`, …).
    pub security_options: Vec<String>,
    /// Warnings the CLI prints under `docker info`.
    pub warnings: Vec<String>,
    /// Registries treated as insecure (CIDRs or names).
    pub insecure_registries: Vec<String>,
    /// Registry mirrors.
    pub registry_mirrors: Vec<String>,
}

/// An OCI runtime the daemon can use.
#[derive(Debug, Clone, Default)]
pub struct RuntimeInfo {
    /// Name used by `--runtime`.
    pub name: String,
    /// Executable path.
    pub path: String,
    /// Extra arguments.
    pub args: Vec<String>,
}

/// Counts reported by `/info`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObjectCounts {
    /// Running containers.
    pub containers_running: i64,
    /// Paused containers.
    pub containers_paused: i64,
    /// Containers in any other state.
    pub containers_stopped: i64,
    /// Images.
    pub images: i64,
}

pub(crate) fn routes(system: Arc<dyn SystemBackend>) -> Router {
    Router::new()
        .route("/_ping", get(ping).head(ping))
        .route("/version", get(version))
        .route("/info", get(info))
        .with_state(system)
}

async fn ping() -> Response {
    (
        [
            (CACHE_CONTROL, "no-cache, no-store, must-revalidate"),
            (PRAGMA, "no-cache"),
            (CONTENT_TYPE, "text/plain; charset=utf-8"),
        ],
        [("Builder-Version", "1"), ("Swarm", "inactive")],
        "OK",
    )
        .into_response()
}

async fn version(State(sys): State<Arc<dyn SystemBackend>>) -> Json<SystemVersion> {
    Json(version_of(sys.host(), &sys.status()))
}

pub(crate) fn version_of(host: &HostFacts, st: &DaemonStatus) -> SystemVersion {
    let details: HashMap<String, String> = [
        ("ApiVersion", CURRENT_API_VERSION.to_string()),
        ("MinAPIVersion", MIN_API_VERSION.to_string()),
        ("GitCommit", st.git_commit.clone()),
        ("GoVersion", st.compiler.clone()),
        ("Os", "linux".into()),
        ("Arch", host.go_arch.clone()),
        ("KernelVersion", host.kernel_version.clone()),
        ("BuildTime", st.build_time.clone()),
        ("Experimental", st.experimental.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    SystemVersion {
        platform: Some(SystemVersionPlatform { name: "Wharf Engine".into() }),
        components: Some(vec![SystemVersionComponents {
            name: "Engine".into(),
            version: st.version.clone(),
            details: Some(details),
        }]),
        version: Some(st.version.clone()),
        api_version: Some(CURRENT_API_VERSION.to_string()),
        min_api_version: Some(MIN_API_VERSION.to_string()),
        git_commit: Some(st.git_commit.clone()),
        go_version: Some(st.compiler.clone()),
        os: Some("linux".into()),
        arch: Some(host.go_arch.clone()),
        kernel_version: Some(host.kernel_version.clone()),
        experimental: Some(st.experimental),
        build_time: Some(st.build_time.clone()),
    }
}

async fn info(State(sys): State<Arc<dyn SystemBackend>>) -> Json<SystemInfo> {
    let counts = sys.counts().await;
    Json(info_of(sys.host(), &sys.status(), counts, sys.event_listeners()))
}

pub(crate) fn info_of(host: &HostFacts, st: &DaemonStatus, counts: ObjectCounts, listeners: usize) -> SystemInfo {
    let cg = &host.cgroup;
    let runtimes = st
        .runtimes
        .iter()
        .map(|r| {
            let rt = Runtime {
                path: Some(r.path.clone()),
                runtime_args: (!r.args.is_empty()).then(|| r.args.clone()),
                ..Default::default()
            };
            (r.name.clone(), rt)
        })
        .collect();
    let docker_io = IndexInfo {
        name: Some("docker.io".into()),
        mirrors: Some(st.registry_mirrors.clone()),
        secure: Some(true),
        official: Some(true),
    };
    SystemInfo {
        id: Some(st.id.clone()),
        containers: Some(counts.containers_running + counts.containers_paused + counts.containers_stopped),
        containers_running: Some(counts.containers_running),
        containers_paused: Some(counts.containers_paused),
        containers_stopped: Some(counts.containers_stopped),
        images: Some(counts.images),
        driver: Some(st.storage_driver.clone()),
        driver_status: Some(st.driver_status.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect()),
        docker_root_dir: Some(st.data_root.display().to_string()),
        plugins: Some(PluginsInfo {
            volume: Some(vec!["local".into()]),
            network: Some(vec!["bridge".into(), "host".into(), "macvlan".into(), "null".into()]),
            authorization: None,
            log: Some(vec!["json-file".into(), "local".into()]),
        }),
        memory_limit: Some(cg.memory),
        swap_limit: Some(cg.swap),
        cpu_cfs_period: Some(cg.cpu_cfs),
        cpu_cfs_quota: Some(cg.cpu_cfs),
        cpu_shares: Some(cg.cpu_shares),
        cpu_set: Some(cg.cpuset),
        pids_limit: Some(cg.pids),
        oom_kill_disable: Some(cg.version == CgroupVersion::V1 && cg.memory),
        debug: Some(st.debug),
        nfd: Some(count_dir("/proc/self/fd")),
        n_goroutines: Some(thread_count()),
        system_time: Some(wharf_types::format_rfc3339_nanos(crate::now_nanos())),
        logging_driver: Some(st.logging_driver.clone()),
        cgroup_driver: Some(match st.cgroup_driver.as_str() {
            "systemd" => SystemInfoCgroupDriverEnum::SYSTEMD,
            "none" => SystemInfoCgroupDriverEnum::NONE,
            _ => SystemInfoCgroupDriverEnum::CGROUPFS,
        }),
        cgroup_version: Some(match cg.version {
            CgroupVersion::V1 => SystemInfoCgroupVersionEnum::_1,
            CgroupVersion::V2 => SystemInfoCgroupVersionEnum::_2,
        }),
        n_events_listener: Some(listeners as i64),
        kernel_version: Some(host.kernel_version.clone()),
        operating_system: Some(host.operating_system.clone()),
        os_version: Some(host.os_version.clone()),
        os_type: Some("linux".into()),
        architecture: Some(host.machine.clone()),
        ncpu: Some(host.ncpu),
        mem_total: Some(host.mem_total),
        index_server_address: Some("https://index.docker.io/v1/".into()),
        registry_config: Some(RegistryServiceConfig {
            insecure_registry_cidrs: Some(st.insecure_registries.clone()),
            index_configs: Some([("docker.io".to_string(), docker_io)].into()),
            mirrors: Some(st.registry_mirrors.clone()),
        }),
        http_proxy: Some(std::env::var("HTTP_PROXY").or_else(|_| std::env::var("http_proxy")).unwrap_or_default()),
        https_proxy: Some(std::env::var("HTTPS_PROXY").or_else(|_| std::env::var("https_proxy")).unwrap_or_default()),
        no_proxy: Some(std::env::var("NO_PROXY").or_else(|_| std::env::var("no_proxy")).unwrap_or_default()),
        name: Some(st.name.clone()),
        labels: Some(st.labels.clone()),
        experimental_build: Some(st.experimental),
        server_version: Some(st.version.clone()),
        runtimes: Some(runtimes),
        default_runtime: Some(st.default_runtime.clone()),
        swarm: Some(SwarmInfo {
            node_id: Some(String::new()),
            node_addr: Some(String::new()),
            local_node_state: Some(LocalNodeState::INACTIVE),
            control_available: Some(false),
            error: Some(String::new()),
            remote_managers: None,
            ..Default::default()
        }),
        live_restore_enabled: Some(st.live_restore),
        isolation: Some(SystemInfoIsolationEnum::EMPTY),
        init_binary: Some(st.init_binary.clone()),
        containerd_commit: Some(Commit { id: Some(String::new()) }),
        runc_commit: Some(Commit { id: Some(String::new()) }),
        init_commit: Some(Commit { id: Some(String::new()) }),
        security_options: Some(st.security_options.clone()),
        warnings: Some(st.warnings.clone()),
        ..Default::default()
    }
}

fn count_dir(path: &str) -> i64 {
    std::fs::read_dir(path).map(|d| d.count() as i64).unwrap_or(0)
}

fn thread_count() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Threads:").map(|v| v.trim().parse().unwrap_or(0))))
        .unwrap_or(0)
}
