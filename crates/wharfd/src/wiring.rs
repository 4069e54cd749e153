//! Builds the services and connects them: the one place that knows every capability. Each
//! route module of `wharf-server` gets only the backend it declares; adapters here implement
//! those traits over the domain crates. Nothing here is a "daemon object": once wired, the
//! pieces hold only what they use.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use wharf_events::EventBus;
use wharf_server::{Backends, DaemonStatus, ObjectCounts, RuntimeInfo, SystemBackend};
use wharf_sysinfo::HostFacts;

use crate::config::{DaemonConfig, Reloadable};

/// What `main` keeps after wiring: the HTTP service, the bus (for daemon events), the live
/// settings (for SIGHUP) and the shutdown token.
pub struct Wired {
    /// The API service.
    pub service: axum::Router,
    /// The event bus.
    pub events: Arc<EventBus>,
    /// Settings SIGHUP can change; read by `/info`.
    pub live: Arc<RwLock<Reloadable>>,
    /// Cancelled at shutdown.
    pub shutdown: CancellationToken,
    /// The engine id.
    pub engine_id: String,
    /// Host facts.
    pub host: HostFacts,
    /// Networking (its rules and bridges go at shutdown when no container uses them).
    pub networks: Arc<wharf_network::service::Networks>,
    /// The cgroup warmer's helper process and the warmer (cgroup v1).
    pub warmer: Option<(std::process::Child, Arc<wharf_container::warm::CgroupWarmer>)>,
}

/// Wires the daemon for `cfg`. `warnings` are shown by `docker info`.
pub fn wire(cfg: &DaemonConfig, warnings: Vec<String>) -> anyhow::Result<Wired> {
    let host = HostFacts::probe();
    let engine_id = engine_id(&cfg.data_root)?;
    let events = Arc::new(EventBus::new());
    let live = Arc::new(RwLock::new(cfg.live.clone()));
    let shutdown = CancellationToken::new();
    let driver = choose_driver(cfg)?;
    let snapshotter: Arc<dyn wharf_snapshot::Snapshotter> = Arc::from(
        wharf_snapshot::open_driver(driver, cfg.data_root.join(driver))
            .with_context(|| format!("error initializing storage driver {driver}"))?,
    );
    tracing::info!(driver = snapshotter.driver(), "storage driver ready");
    let migrations: Vec<wharf_store::Migration> = wharf_image::store::MIGRATIONS
        .iter()
        .chain(wharf_container::MIGRATIONS)
        .chain(wharf_network::service::MIGRATIONS)
        .chain(wharf_volume::MIGRATIONS)
        .chain(wharf_build::MIGRATIONS)
        .copied()
        .collect();
    let db =
        wharf_store::Db::open(&cfg.data_root.join("wharf.db"), &migrations).context("opening the metadata database")?;
    let blobs =
        wharf_store::BlobStore::open(&cfg.data_root.join("content"), &db).context("opening the content store")?;
    let users = Arc::new(ContainerUsers(std::sync::OnceLock::new()));
    let mut image_store = wharf_image::store::ImageStore::open(db.clone(), blobs, snapshotter.clone(), events.clone())
        .context("opening the image store")?;
    image_store.set_users(users.clone());
    let image_store = Arc::new(image_store);
    let networks = Arc::new(
        wharf_network::service::Networks::open(
            db.clone(),
            events.clone(),
            network_config(cfg),
            tokio::runtime::Handle::current(),
        )
        .map_err(|e| anyhow::anyhow!("initializing networking: {e}"))?,
    );
    let containers = Arc::new(
        wharf_container::Containers::open(
            db.clone(),
            image_store.clone(),
            events.clone(),
            cfg.data_root.join("containers"),
        )
        .context("opening the container store")?,
    );
    let _ = users.0.set(Arc::downgrade(&containers));
    let volumes = Arc::new(
        wharf_volume::Volumes::open(
            db.clone(),
            events.clone(),
            wharf_volume::VolumesConfig::new(cfg.data_root.join("volumes")),
        )
        .map_err(|e| anyhow::anyhow!("opening the volume store: {e}"))?,
    );
    crate::volumes::reconcile(&volumes, &containers);
    let runtimes = runtime_registry(cfg);
    let init_path = cfg.init_path.clone().or_else(find_init);
    let life = wharf_container::Lifecycle::new(
        containers.clone(),
        wharf_container::RunSettings {
            shim: find_shim(),
            exec_root: cfg.exec_root.clone(),
            runtimes: runtimes.iter().map(|(n, p)| (n.clone(), p.clone())).collect(),
            default_runtime: cfg.default_runtime.clone(),
            cgroup_parent: cfg.cgroup_parent.clone(),
            host: wharf_runtime::HostInfo::probe(),
            default_init: cfg.init,
            init_path: init_path.clone(),
            resources: resource_support(&host.cgroup, host.ncpu),
            host_gateway: cfg
                .host_gateway_ip
                .or_else(|| cfg.bip.parse::<wharf_network::Ipv4Net>().ok().map(|n| std::net::IpAddr::V4(n.addr()))),
        },
    );
    life.set_networking(Arc::new(crate::networks::ContainerNetworking(networks.clone())));
    life.set_volumes(Arc::new(crate::volumes::ContainerVolumes(volumes.clone())));
    let warmer = cgroup_warmer(cfg, &host);
    if let Some((_, w)) = &warmer {
        life.set_warmer(w.clone());
    }
    life.restore().context("reconnecting to running containers")?;
    let mut base = base_status(cfg, &host, &engine_id, snapshotter.driver(), warnings);
    base.runtimes = runtimes
        .iter()
        .map(|(name, path)| RuntimeInfo {
            name: name.clone(),
            path: path
                .as_ref()
                .map_or_else(|| "wharf-shim (embedded youki libcontainer)".into(), |p| p.display().to_string()),
            args: vec![],
        })
        .collect();
    base.default_runtime = cfg.default_runtime.clone();
    base.init_binary = init_path.map(|p| p.display().to_string()).unwrap_or_default();
    let system = Arc::new(SystemAdapter {
        host: host.clone(),
        base,
        live: live.clone(),
        events: events.clone(),
        images: image_store.clone(),
        containers: containers.clone(),
    });
    let build =
        crate::build::BuildAdapter::new(image_store.clone(), life.clone(), db.clone(), cfg.data_root.join("tmp"));
    let images = crate::images::ImageAdapter::new(image_store).with_registry(crate::images::RegistryConfig {
        options: wharf_registry::client::Options {
            insecure_registries: cfg.insecure_registries.clone(),
            registry_mirrors: cfg.registry_mirrors.clone(),
        },
        max_concurrent_downloads: cfg.max_concurrent_downloads,
        max_concurrent_uploads: cfg.max_concurrent_uploads,
    });
    let service = wharf_server::service(Backends {
        system,
        images,
        containers: crate::containers::ContainerAdapter::new(life.clone()),
        files: crate::files::FilesAdapter::new(life),
        networks: crate::networks::NetworkAdapter::new(networks.clone(), containers.clone()),
        volumes: crate::volumes::VolumeAdapter::new(volumes),
        build,
        events: events.clone(),
        shutdown: shutdown.clone(),
    });
    Ok(Wired { service, events, live, shutdown, engine_id, host, networks, warmer })
}

/// The engine id, created once and kept in the data root (as dockerd's `engine-id`).
fn engine_id(data_root: &Path) -> anyhow::Result<String> {
    let path = data_root.join("engine-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        let id = id.trim();
        if !id.is_empty() {
            return Ok(id.to_string());
        }
    }
    let id =
        std::fs::read_to_string("/proc/sys/kernel/random/uuid").context("reading a random uuid")?.trim().to_string();
    wharf_fs::write_atomic(&path, id.as_bytes(), 0o600).with_context(|| format!("writing {}", path.display()))?;
    Ok(id)
}

/// The storage driver: the configured one; else the one whose directory already holds state in
/// the data root (as dockerd keeps its prior driver); else overlay2 where it works, vfs otherwise.
fn choose_driver(cfg: &DaemonConfig) -> anyhow::Result<&'static str> {
    if let Some(name) = &cfg.storage_driver {
        return wharf_snapshot::DRIVERS
            .iter()
            .copied()
            .find(|d| d == name)
            .ok_or_else(|| anyhow::anyhow!("error initializing graphdriver: driver not supported: {name}"));
    }
    let has_state = |d: &str| std::fs::read_dir(cfg.data_root.join(d)).is_ok_and(|mut it| it.next().is_some());
    if let Some(prior) = wharf_snapshot::DRIVERS.iter().copied().find(|d| has_state(d)) {
        return Ok(prior);
    }
    Ok(wharf_snapshot::detect_driver(&cfg.data_root))
}

fn base_status(
    cfg: &DaemonConfig,
    host: &HostFacts,
    id: &str,
    storage_driver: &str,
    warnings: Vec<String>,
) -> DaemonStatus {
    let backing = backing_filesystem(&cfg.data_root);
    let runtimes: Vec<RuntimeInfo> = Vec::new();
    let mut security_options = Vec::new();
    if host.apparmor {
        security_options.push("name=apparmor".to_string());
    }
    if host.seccomp {
        security_options.push("name=seccomp,profile=builtin".to_string());
    }
    if host.cgroup.version == wharf_sysinfo::CgroupVersion::V2 {
        security_options.push("name=cgroupns".to_string());
    }
    let build_epoch: i64 = env!("WHARF_BUILD_EPOCH").parse().unwrap_or(0);
    DaemonStatus {
        id: id.to_string(),
        name: host.hostname.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: env!("WHARF_GIT_COMMIT").to_string(),
        compiler: env!("WHARF_COMPILER").to_string(),
        build_time: wharf_types::format_rfc3339_nanos(build_epoch * 1_000_000_000),
        data_root: cfg.data_root.clone(),
        labels: vec![],
        debug: false,
        experimental: false,
        storage_driver: storage_driver.to_string(),
        driver_status: vec![("Backing Filesystem".into(), backing)],
        logging_driver: "json-file".into(),
        cgroup_driver: "cgroupfs".into(),
        default_runtime: crate::config::EMBEDDED_RUNTIME.into(),
        init_binary: String::new(),
        runtimes,
        // Containers always outlive the daemon (one shim each).
        live_restore: true,
        security_options,
        warnings,
        insecure_registries: cfg.insecure_registries.clone(),
        registry_mirrors: cfg.registry_mirrors.clone(),
    }
}

/// Docker's name for the filesystem under `path`.
fn backing_filesystem(path: &Path) -> String {
    let Ok(st) = rustix::fs::statfs(path) else { return "unknown".into() };
    match st.f_type as u64 {
        0xEF53 => "extfs",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        0x0102_1994 => "tmpfs",
        0x794C_7630 => "overlayfs",
        0x2FC1_2FC1 => "zfs",
        0x6969 => "nfs",
        _ => "unknown",
    }
    .into()
}

/// The `wharf-shim` binary: `$WHARF_SHIM`, else beside `wharfd`, else on `PATH`.
fn find_shim() -> PathBuf {
    if let Some(p) = std::env::var_os("WHARF_SHIM") {
        return PathBuf::from(p);
    }
    let beside = std::env::current_exe().ok().and_then(|e| e.parent().map(|d| d.join("wharf-shim")));
    beside.filter(|p| p.is_file()).or_else(|| find_in_path("wharf-shim")).unwrap_or_else(|| PathBuf::from("wharf-shim"))
}

/// On cgroup v1, a parked helper (this binary with [`crate::PARK_ARG`]) and two empty freezer
/// cgroups under the daemon's cgroup parent for it to move between.
fn cgroup_warmer(
    cfg: &DaemonConfig,
    host: &HostFacts,
) -> Option<(std::process::Child, Arc<wharf_container::warm::CgroupWarmer>)> {
    if host.cgroup.version != wharf_sysinfo::CgroupVersion::V1 {
        return None;
    }
    let freezer = host.cgroup.root.join("freezer");
    if !freezer.join("cgroup.procs").exists() {
        return None;
    }
    let base = freezer.join(cfg.cgroup_parent.trim_start_matches('/'));
    let exe = std::env::current_exe().ok()?;
    let child = std::process::Command::new(exe)
        .arg(crate::PARK_ARG)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    match wharf_container::warm::CgroupWarmer::new(child.id(), [base.join("wharf-warm-a"), base.join("wharf-warm-b")]) {
        Ok(w) => Some((child, Arc::new(w))),
        Err(e) => {
            tracing::debug!("no cgroup warmer: {e}");
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    }
}

/// The network service's settings from the daemon's: the default bridge, its own nftables
/// table (named after the bridge, so several daemons on one host keep apart), the host's
/// resolvers for the embedded DNS.
fn network_config(cfg: &DaemonConfig) -> wharf_network::service::ServiceConfig {
    let table = if cfg.bridge == "wharf0" { "wharf".to_string() } else { format!("wharf-{}", cfg.bridge) };
    let resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let upstream_dns = resolv
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
        .map(|ip| std::net::SocketAddr::new(ip, 53))
        .collect();
    wharf_network::service::ServiceConfig {
        bridge: cfg.bridge.clone(),
        bip: cfg.bip.parse().expect("checked when the configuration was loaded"),
        pools: if cfg.address_pools.is_empty() { wharf_network::default_pools() } else { cfg.address_pools.clone() },
        fixed_cidr: cfg.fixed_cidr,
        nat_table: table,
        iptables: cfg.iptables,
        mtu: cfg.mtu,
        upstream_dns,
        proxy: find_proxy(),
        // dockerd's ULA prefix for IPv6 subnets, derived from the engine ID.
        pools6: vec![wharf_network::ula_pool(&engine_id(&cfg.data_root).unwrap_or_default())],
        ipv6: cfg.ipv6,
        fixed_cidr_v6: cfg.fixed_cidr_v6,
    }
}

/// The `wharf-proxy` binary: `$WHARF_PROXY`, else beside `wharfd`, else on `PATH`.
fn find_proxy() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WHARF_PROXY") {
        return Some(PathBuf::from(p));
    }
    let beside = std::env::current_exe().ok().and_then(|e| e.parent().map(|d| d.join("wharf-proxy")));
    beside.filter(|p| p.is_file()).or_else(|| find_in_path("wharf-proxy"))
}

/// What the host's cgroups can enforce, for moby's resource checks.
fn resource_support(cg: &wharf_sysinfo::CgroupFacts, ncpu: i64) -> wharf_runtime::ResourceSupport {
    let v1 = cg.version == wharf_sysinfo::CgroupVersion::V1;
    let has = |p: &str| cg.root.join(p).exists();
    wharf_runtime::ResourceSupport {
        memory: cg.memory,
        swap: cg.swap,
        memory_reservation: cg.memory,
        memory_swappiness: v1 && has("memory/memory.swappiness"),
        oom_kill_disable: v1 && has("memory/memory.oom_control"),
        pids: cg.pids,
        cpu_cfs: cg.cpu_cfs,
        cpu_shares: cg.cpu_shares,
        cpuset: cg.cpuset,
        blkio_weight: cg.blkio_weight,
        blkio_weight_device: cg.blkio_weight && (!v1 || has("blkio/blkio.weight_device")),
        blkio_throttle: if v1 { has("blkio/blkio.throttle.read_bps_device") } else { cg.blkio_weight },
        ncpu,
    }
}

/// The runtimes by name: the embedded one, `runc` when it is on `PATH`, and the configured ones.
fn runtime_registry(cfg: &DaemonConfig) -> std::collections::BTreeMap<String, Option<PathBuf>> {
    let mut all = std::collections::BTreeMap::new();
    all.insert(crate::config::EMBEDDED_RUNTIME.to_string(), None);
    if let Some(runc) = find_in_path("runc") {
        all.insert("runc".to_string(), Some(runc));
    }
    for (name, path) in &cfg.runtimes {
        all.insert(name.clone(), Some(path.clone()));
    }
    all
}

/// The `--init` binary: `docker-init` (Docker's packaging of tini), else Debian's
/// `tini-static` — statically linked, so it runs in any image.
fn find_init() -> Option<PathBuf> {
    find_in_path("docker-init").or_else(|| find_in_path("tini-static"))
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// `SystemBackend` over host facts, the configuration and (as they land) each capability's
/// counts.
struct SystemAdapter {
    host: HostFacts,
    base: DaemonStatus,
    live: Arc<RwLock<Reloadable>>,
    events: Arc<EventBus>,
    images: Arc<wharf_image::store::ImageStore>,
    containers: Arc<wharf_container::Containers>,
}

/// Tells the image store which containers use an image (bound once the container store exists).
struct ContainerUsers(std::sync::OnceLock<std::sync::Weak<wharf_container::Containers>>);

impl wharf_image::store::ImageUsers for ContainerUsers {
    fn users_of(&self, id: &str) -> Vec<(String, bool)> {
        self.0.get().and_then(|w| w.upgrade()).map(|c| c.users_of_image(id)).unwrap_or_default()
    }
}

#[async_trait]
impl SystemBackend for SystemAdapter {
    fn host(&self) -> &HostFacts {
        &self.host
    }

    fn status(&self) -> DaemonStatus {
        let live = self.live.read().unwrap_or_else(|e| e.into_inner());
        DaemonStatus { labels: live.labels.clone(), debug: live.debug, ..self.base.clone() }
    }

    async fn counts(&self) -> ObjectCounts {
        let images = self.images.clone();
        let containers = self.containers.clone();
        let counted = tokio::task::spawn_blocking(move || (images.count(), containers.counts())).await;
        let (images, containers) = counted.unwrap_or((Ok(0), Ok((0, 0, 0))));
        let (running, paused, stopped) = containers.unwrap_or((0, 0, 0));
        ObjectCounts {
            images: images.unwrap_or(0) as i64,
            containers_running: running,
            containers_paused: paused,
            containers_stopped: stopped,
        }
    }

    fn event_listeners(&self) -> usize {
        self.events.listeners()
    }
}
