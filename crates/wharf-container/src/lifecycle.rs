//! Running containers: start (rootfs mounted, OCI spec written, shim spawned), the monitor that
//! records each exit, stop / kill / wait / pause, removal of running containers, logs, and the
//! reconnection to shims when the daemon starts again.
//!
//! Each running container has one monitor thread holding a `wait` on its shim's socket. When
//! the shim answers (or its socket is gone and `exit.json` tells the end), the monitor records
//! the exit, unmounts the rootfs, publishes `die`, wakes waiters and, for `--rm`, removes the
//! container. A daemon that restarts finds running containers by their shim sockets and starts
//! monitors again; exits that happened while it was down are read from `exit.json`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wharf_runtime::{MountSpec, MountType, NamespaceMode, ResolvedUser, RuntimeConfig};
use wharf_shim::protocol::{Client, ExitRecord, Ready, Request};
use wharf_types::ErrorKind;

use crate::error::{ContainerError, Result};
use crate::model::{Container, Status};
use crate::store::{now_nanos, Containers};

/// How the daemon runs containers.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// The `wharf-shim` binary.
    pub shim: PathBuf,
    /// `<exec-root>`: shim state dirs and bundles live under `<exec-root>/c/`.
    pub exec_root: PathBuf,
    /// The OCI runtimes by name: `None` is the one embedded in the shim (libcontainer), else
    /// the path of a runc-compatible binary.
    pub runtimes: std::collections::BTreeMap<String, Option<PathBuf>>,
    /// The runtime of containers that do not choose one.
    pub default_runtime: String,
    /// `--cgroup-parent`.
    pub cgroup_parent: String,
    /// Host facts the spec depends on.
    pub host: wharf_runtime::HostInfo,
    /// `--init` for containers that do not choose.
    pub default_init: bool,
    /// The init binary (`docker-init`: tini, statically linked), when there is one.
    pub init_path: Option<PathBuf>,
    /// What the host's cgroups can enforce (limits beyond it are dropped with a warning).
    pub resources: wharf_runtime::ResourceSupport,
    /// What `host-gateway` in `--add-host` stands for (`--host-gateway-ip`, by default the
    /// default bridge's gateway).
    pub host_gateway: Option<std::net::IpAddr>,
}

/// A list of strings kept verbatim in a config's `extra` fields (`Links`, `Dns`…).
fn string_list(extra: &std::collections::BTreeMap<String, serde_json::Value>, key: &str) -> Vec<String> {
    extra
        .get(key)
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// The `--add-host` value that stands for the host (`--host-gateway-ip`).
const HOST_GATEWAY: &str = "host-gateway";

/// What `wait` resolves to: exit code and error text.
pub type WaitResult = (i64, Option<String>);

/// When a waiter wants to be woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitFor {
    /// The next exit.
    Exit,
    /// The removal.
    Removal,
}

/// The running side of the container service.
pub struct Lifecycle {
    containers: Arc<Containers>,
    settings: RunSettings,
    waiters: Mutex<HashMap<String, Vec<Waiter>>>,
    /// The execs.
    execs: crate::exec::Execs,
    /// Attach requests made before the container started, served at its next start.
    pending: Mutex<HashMap<String, Vec<PendingAttach>>>,
    /// The health monitors.
    health: crate::health::Monitors,
    /// The daemon's networking (none: containers get a private network namespace with
    /// loopback only).
    network: std::sync::OnceLock<Arc<dyn crate::Networking>>,
    /// Starts cgroup migrations' grace period early (cgroup v1; see [`crate::warm`]).
    warmer: std::sync::OnceLock<Arc<crate::warm::CgroupWarmer>>,
    /// The daemon's volume service (none: binds and tmpfs only).
    volumes: std::sync::OnceLock<Arc<dyn crate::mounts::VolumeProvider>>,
}

/// Someone waiting for an exit or a removal.
type Waiter = (WaitFor, mpsc::Sender<WaitResult>);

/// An attach waiting for the container to start.
type PendingAttach = (AttachRequest, mpsc::Sender<Result<Attached>>);

/// Which streams an attach wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AttachRequest {
    /// Send the client's bytes to the container's stdin.
    pub stdin: bool,
    /// Receive stdout.
    pub stdout: bool,
    /// Receive stderr.
    pub stderr: bool,
}

/// An attach stream from the shim: Docker's multiplexed frames (no TTY) or the raw terminal.
pub struct Attached {
    /// Bytes the shim already sent past its answer.
    pub buffered: Vec<u8>,
    /// The connection (write: the container's stdin; half-close ends stdin with `StdinOnce`).
    pub stream: std::os::unix::net::UnixStream,
}

/// Docker's signal names and numbers (Linux, amd64).
const SIGNALS: &[(&str, i32)] = &[
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("PWR", 30),
    ("SYS", 31),
];

/// Parses `SIGTERM`, `TERM`, `15`, `SIGRTMIN+3` as Docker's `signal.ParseSignal`.
pub fn parse_signal(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
        return Err(ContainerError::Invalid(format!("Invalid signal: {s}")));
    }
    let name = s.to_ascii_uppercase();
    let name = name.strip_prefix("SIG").unwrap_or(&name);
    if let Some((_, n)) = SIGNALS.iter().find(|(n, _)| *n == name) {
        return Ok(*n);
    }
    if let Some(off) = name.strip_prefix("RTMIN") {
        let k: i32 = if off.is_empty() { 0 } else { off.trim_start_matches('+').parse().unwrap_or(-1) };
        if (0..=30).contains(&k) {
            return Ok(34 + k);
        }
    }
    if let Some(off) = name.strip_prefix("RTMAX-") {
        if let Ok(k) = off.parse::<i32>() {
            if (0..=30).contains(&k) {
                return Ok(64 - k);
            }
        }
    }
    Err(ContainerError::Invalid(format!("Invalid signal: {s}")))
}

fn internal(e: impl std::fmt::Display) -> ContainerError {
    ContainerError::internal(e.to_string())
}

impl Lifecycle {
    /// The lifecycle over `containers`.
    pub fn new(containers: Arc<Containers>, settings: RunSettings) -> Arc<Lifecycle> {
        Arc::new(Lifecycle {
            containers,
            settings,
            waiters: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            execs: Default::default(),
            health: Default::default(),
            network: std::sync::OnceLock::new(),
            warmer: std::sync::OnceLock::new(),
            volumes: std::sync::OnceLock::new(),
        })
    }

    /// Plugs in the daemon's volume service (once, at wiring).
    pub fn set_volumes(&self, v: Arc<dyn crate::mounts::VolumeProvider>) {
        let _ = self.volumes.set(v);
    }

    /// The daemon's volume service.
    pub fn volumes(&self) -> &dyn crate::mounts::VolumeProvider {
        match self.volumes.get() {
            Some(v) => v.as_ref(),
            None => &crate::mounts::NoVolumes,
        }
    }

    /// Unmounts the volumes of `c` mounted for its run (after it exited or failed to start).
    fn unmount_volumes(&self, c: &Container) {
        crate::mounts::unmount_all(&c.mounts, self.volumes(), &c.id);
    }

    /// Plugs in the daemon's networking (once, at wiring).
    pub fn set_networking(&self, net: Arc<dyn crate::Networking>) {
        let _ = self.network.set(net);
    }

    /// Plugs in the cgroup warmer (once, at wiring).
    pub fn set_warmer(&self, w: Arc<crate::warm::CgroupWarmer>) {
        let _ = self.warmer.set(w);
    }

    fn warm(&self) {
        if let Some(w) = self.warmer.get() {
            w.kick();
        }
    }

    /// The daemon's networking, if any.
    pub fn networking(&self) -> Option<&Arc<dyn crate::Networking>> {
        self.network.get()
    }

    /// The records.
    pub fn containers(&self) -> &Arc<Containers> {
        &self.containers
    }

    pub(crate) fn settings(&self) -> &RunSettings {
        &self.settings
    }

    pub(crate) fn execs(&self) -> &crate::exec::Execs {
        &self.execs
    }

    pub(crate) fn health(&self) -> &crate::health::Monitors {
        &self.health
    }

    pub(crate) fn socket_of(&self, id: &str) -> PathBuf {
        self.socket(id)
    }

    pub(crate) fn bundle_of(&self, id: &str) -> PathBuf {
        self.state_dir(id)
    }

    pub(crate) fn rootfs_of(&self, id: &str) -> PathBuf {
        self.rootfs(id)
    }

    /// `POST /containers/{id}/resize`: the container's terminal size.
    pub fn resize(&self, name: &str, height: u16, width: u16) -> Result<()> {
        let c = self.containers.get(name)?;
        if c.state.status != Status::Running {
            return Err(ContainerError::Conflict(format!("Container {} is not running", c.id)));
        }
        let mut client = self.client(&c.id)?;
        client.call_ok(&Request::Resize { height, width, exec_id: None }).map_err(internal)?;
        self.containers.publish("resize", &c, &[("height", height.to_string()), ("width", width.to_string())]);
        Ok(())
    }

    fn state_dir(&self, id: &str) -> PathBuf {
        // Short enough for unix socket paths (108 bytes) under any sane exec root.
        self.settings.exec_root.join("c").join(&id[..24])
    }

    fn rootfs(&self, id: &str) -> PathBuf {
        self.containers.container_dir(id).join("rootfs")
    }

    fn socket(&self, id: &str) -> PathBuf {
        self.state_dir(id).join(wharf_shim::protocol::files::SOCKET)
    }

    fn client(&self, id: &str) -> Result<Client> {
        Client::connect(&self.socket(id)).map_err(|e| internal(format!("connecting to the shim of {id}: {e}")))
    }

    /// `docker start`.
    pub fn start(self: &Arc<Self>, name: &str) -> Result<()> {
        self.start_inner(name, false)
    }

    /// Starts a created or exited container; with `by_policy`, also one its restart policy
    /// marked `restarting`.
    fn start_inner(self: &Arc<Self>, name: &str, by_policy: bool) -> Result<()> {
        let c = self.containers.get(name)?;
        match c.state.status {
            Status::Restarting if by_policy => {}
            Status::Running | Status::Paused | Status::Restarting => {
                return Err(ContainerError::NotModified("container already started".into()));
            }
            Status::Removing | Status::Dead => {
                return Err(ContainerError::Conflict(format!(
                    "container {} is marked for removal and cannot be started",
                    c.id
                )));
            }
            Status::Created | Status::Exited => {}
        }
        match self.launch(&c) {
            Ok(pid) => {
                let c = self.containers.update_state(&c.id, |s| {
                    s.status = Status::Running;
                    s.pid = i64::from(pid);
                    s.started_at = now_nanos();
                    s.error.clear();
                    s.exit_code = 0;
                    s.oom_killed = false;
                    s.stopped_by_user = false;
                })?;
                self.containers.publish("start", &c, &[]);
                self.monitor(c.id.clone());
                self.start_health(&c.id);
                Ok(())
            }
            Err((msg, code, kind)) => {
                self.unmount_volumes(&c);
                self.unmount(&c.id);
                if let Some(net) = self.networking() {
                    net.release(&c);
                }
                let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner()).remove(&c.id).unwrap_or_default();
                for (_, tx) in pending {
                    let _ = tx.send(Err(ContainerError::Other { kind, message: msg.clone() }));
                }
                let c = self.containers.update_state(&c.id, |s| {
                    s.error = msg.clone();
                    s.exit_code = code;
                })?;
                let _ = c;
                Err(ContainerError::Other { kind, message: msg })
            }
        }
    }

    /// Mounts the rootfs, writes the bundle, runs the shim; the init PID, or the error text,
    /// Docker's exit code for it and its kind.
    fn launch(&self, c: &Container) -> std::result::Result<i32, (String, i64, ErrorKind)> {
        self.warm();
        let fail = |e: String| (e, 128, ErrorKind::Internal);
        let rootfs = self.rootfs(&c.id);
        self.unmount(&c.id);
        std::fs::create_dir_all(&rootfs).map_err(|e| fail(format!("creating {}: {e}", rootfs.display())))?;
        let mounts = self.containers.snapshots().mounts(&c.id).map_err(|e| fail(e.to_string()))?;
        let guard = wharf_snapshot::mount::mount_all(&mounts, &rootfs).map_err(|e| fail(e.to_string()))?;
        // The mount stays while the container runs (and across daemon restarts); the monitor
        // unmounts it after the exit.
        std::mem::forget(guard);
        let spec = self.spec(c, &rootfs).map_err(|e| (e.to_string(), 128, ErrorKind::InvalidArgument))?;
        let dir = self.state_dir(&c.id);
        let _ = std::fs::remove_dir_all(&dir);
        wharf_runtime::write_bundle(&dir, &spec).map_err(|e| fail(format!("writing the bundle: {e}")))?;
        let mut cmd = std::process::Command::new(&self.settings.shim);
        cmd.arg("--id")
            .arg(&c.id)
            .arg("--bundle")
            .arg(&dir)
            .arg("--state-dir")
            .arg(&dir)
            .arg("--runtime-root")
            .arg(self.settings.exec_root.join("runtime"))
            .arg("--runtime")
            .arg(self.runtime_of(c))
            .arg("--log-driver")
            .arg(&c.host_config.log_config.kind)
            .arg("--log-path")
            .arg(&c.log_path);
        for (k, v) in &c.host_config.log_config.config {
            cmd.arg("--log-opt").arg(format!("{k}={v}"));
        }
        if c.config.open_stdin {
            cmd.arg("--stdin");
        }
        // Created first, started on request: attaches made before `start` are connected in
        // between, so they miss none of the output.
        cmd.arg("--wait-start");
        cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null());
        let out = cmd.output().map_err(|e| fail(format!("running {}: {e}", self.settings.shim.display())))?;
        let line = String::from_utf8_lossy(&out.stdout);
        match Ready::parse(line.lines().next().unwrap_or_default()) {
            Ready::Started(pid) => Ok(pid),
            Ready::Created(pid) => {
                if let Some(net) = self.networking().filter(|_| crate::networking::endpoint_requests(c).is_some()) {
                    if let Err(e) = net.attach(c, pid) {
                        // Nothing of the workload ran: the created container goes.
                        if let Ok(mut client) = self.client(&c.id) {
                            let _ = client.call(&Request::Kill { signal: 9, all: true, exec_id: None });
                        }
                        let _ = self.wait_shim(&c.id);
                        return Err(fail(format!("failed to set up the container's network: {e}")));
                    }
                }
                let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner()).remove(&c.id).unwrap_or_default();
                for (req, tx) in pending {
                    let _ = tx.send(self.shim_attach(&c.id, c.config.stdin_once, req));
                }
                let mut client = self.client(&c.id).map_err(|e| fail(e.to_string()))?;
                let resp = client.call_ok(&Request::Start).map_err(|e| fail(format!("starting the container: {e}")))?;
                Ok(resp.pid.unwrap_or(pid))
            }
            Ready::Error(msg) => {
                let text = format!("failed to create task for container: OCI runtime create failed: {msg}: unknown");
                // Docker's exit codes and statuses for a command that cannot run.
                if msg.contains("executable file not found") || msg.contains("no such file or directory") {
                    Err((text, 127, ErrorKind::InvalidArgument))
                } else if msg.contains("permission denied") {
                    Err((text, 126, ErrorKind::InvalidArgument))
                } else {
                    Err((text, 128, ErrorKind::Internal))
                }
            }
        }
    }

    /// The shim's `--runtime` for `c`: `libcontainer` or a binary's path.
    fn runtime_of(&self, c: &Container) -> String {
        let name = c.host_config.extra.get("Runtime").and_then(|v| v.as_str()).unwrap_or_default();
        let name = if name.is_empty() { self.settings.default_runtime.as_str() } else { name };
        match self.settings.runtimes.get(name) {
            Some(Some(path)) => path.display().to_string(),
            _ => "libcontainer".into(),
        }
    }

    /// `POST /containers/create`: the runtime checked (dockerd: `Unknown runtime specified`)
    /// and recorded (the default when none is asked), the limits checked against the host
    /// (what it cannot enforce is dropped, with dockerd's warnings), then the record made.
    pub fn create(&self, mut req: crate::CreateRequest) -> Result<(Container, Vec<String>)> {
        let asked = req.host_config.extra.get("Runtime").and_then(|v| v.as_str()).unwrap_or_default().to_string();
        let name = if asked.is_empty() { self.settings.default_runtime.clone() } else { asked };
        if !self.settings.runtimes.contains_key(&name) {
            return Err(ContainerError::Invalid(format!("Unknown runtime specified {name}")));
        }
        req.host_config.extra.insert("Runtime".into(), serde_json::Value::String(name));
        let hc = &mut req.host_config;
        if hc.memory > 0 && hc.memory_swap == 0 {
            hc.memory_swap = hc.memory * 2;
        }
        let warnings = crate::update::check_resources(hc, &self.settings.resources, false)?;
        crate::networking::record_primary(&req.host_config, &mut req.networking);
        let links = string_list(&req.host_config.extra, "Links");
        if !links.is_empty() && req.host_config.network_mode == "host" {
            return Err(ContainerError::Invalid(
                "conflicting options: host type networking can't be used with links. This would result in undefined behavior".into(),
            ));
        }
        for l in crate::links::parse(&links) {
            if self.containers.get(&l.child).is_err() {
                return Err(ContainerError::Invalid(format!("could not get container for {}", l.child)));
            }
        }
        // `docker run` starts right after the create: the grace period runs meanwhile.
        self.warm();
        if let Some(net) = self.networking() {
            let probe = Container {
                host_config: req.host_config.clone(),
                networking: req.networking.clone(),
                ..Default::default()
            };
            if let Some(requests) = crate::networking::endpoint_requests(&probe) {
                net.validate(&requests)?;
            }
        }
        // Mount points as dockerd registers them: checked before anything is recorded, the
        // volumes created and referenced under the container's ID before its record exists
        // (references of an ID without a record are dropped at daemon start).
        let merged = self.containers.merged_config(&req.config)?;
        let data_root = self.containers.container_dir("x").parent().and_then(Path::parent).map(Path::to_path_buf);
        let opts = crate::mounts::ResolveOptions {
            api_version: if req.api_version == (0, 0) { (1, 45) } else { req.api_version },
            data_root,
            path_exists: &crate::mounts::host_path_exists,
        };
        let lookup = |name: &str| self.containers.get(name).map(|c| c.mounts);
        let resolved = crate::mounts::resolve(&merged, &req.host_config, &opts, &lookup)?;
        let id = crate::store::random_hex_id();
        let provisioned = crate::mounts::provision(&resolved, self.volumes(), &id)?;
        req.id = id.clone();
        req.mounts = provisioned.clone();
        match self.containers.create(req) {
            Ok(c) => Ok((c, warnings)),
            Err(e) => {
                let _ = crate::mounts::release_all(&provisioned, self.volumes(), &id, true);
                Err(e)
            }
        }
    }

    /// The OCI spec of container `c` with its rootfs at `rootfs`.
    fn spec(&self, c: &Container, rootfs: &Path) -> Result<wharf_runtime::oci_spec::runtime::Spec> {
        let cfg = &c.config;
        let hc = &c.host_config;
        let group_add = hc.group_add.clone().unwrap_or_default();
        let user: ResolvedUser = wharf_runtime::resolve_user(rootfs, &cfg.user, &group_add)
            .map_err(|e| ContainerError::Invalid(e.to_string()))?;
        let (link_env, link_hosts) = self.links(c)?;
        let env = wharf_runtime::daemon_environment(
            &cfg.hostname,
            cfg.tty,
            &link_env,
            cfg.env.as_deref().unwrap_or_default(),
        );
        let mut args = vec![c.path.clone()];
        args.extend(c.args.iter().cloned());
        let ns = |mode: &str| -> Result<NamespaceMode> {
            if mode == "host" {
                return Ok(NamespaceMode::Host);
            }
            if let Some(other) = mode.strip_prefix("container:") {
                let o = self.containers.get(other)?;
                if o.state.status != Status::Running {
                    return Err(ContainerError::Conflict(format!(
                        "cannot join namespaces of a non running container {}",
                        o.id
                    )));
                }
                return Ok(NamespaceMode::Path(PathBuf::from(format!("/proc/{}/ns", o.state.pid))));
            }
            Ok(NamespaceMode::Private)
        };
        let join = |m: NamespaceMode, kind: &str| match m {
            NamespaceMode::Path(p) => NamespaceMode::Path(p.join(kind)),
            m => m,
        };
        let mut namespaces = wharf_runtime::NamespaceModes {
            pid: join(ns(&hc.pid_mode)?, "pid"),
            ipc: join(ns(&hc.ipc_mode)?, "ipc"),
            uts: join(ns(&hc.uts_mode)?, "uts"),
            net: join(ns(&hc.network_mode)?, "net"),
            ..Default::default()
        };
        if hc.cgroupns_mode == "host" {
            namespaces.cgroup = Some(NamespaceMode::Host);
        } else if hc.cgroupns_mode == "private" {
            namespaces.cgroup = Some(NamespaceMode::Private);
        }
        let dir = self.containers.container_dir(&c.id);
        let mut mounts = Vec::new();
        // /etc/hostname, /etc/hosts and /etc/resolv.conf, as Docker writes them.
        let hostname = dir.join("hostname");
        let hosts = dir.join("hosts");
        let resolv = dir.join("resolv.conf");
        // Rewritten at every start: atomic, not durable.
        let write = |p: &Path, s: &str| wharf_fs::replace_file(p, s.as_bytes(), 0o644).map_err(ContainerError::other);
        let plan = match (self.networking(), crate::networking::endpoint_requests(c)) {
            (Some(net), Some(requests)) => net.prepare(c, &requests)?,
            _ => crate::NetPlan::default(),
        };
        write(&hostname, &format!("{}\n", cfg.hostname))?;
        // Docker's /etc/hosts: loopback names, then the container's own address (127.0.1.1
        // when it has none, as with `--network none`).
        let own = plan.addresses.first().map_or_else(|| "127.0.1.1".to_string(), |a| a.to_string());
        // Its IPv6 address on that network names the hostname too, on the next line.
        let own6: String = plan.ipv6.iter().take(1).map(|a| format!("{a}\t{}\n", cfg.hostname)).collect();
        // `--add-host NAME:IP` lines come after the standard ones, as Docker writes them.
        let extra: String = hc
            .extra
            .get("ExtraHosts")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|h| h.as_str())
                    .filter_map(|h| h.split_once(':').or_else(|| h.split_once('=')))
                    .map(|(name, ip)| match ip {
                        HOST_GATEWAY => self.settings.host_gateway.map(|g| format!("{g}\t{name}\n")).ok_or_else(|| {
                            ContainerError::Invalid("unable to derive the IP value for host-gateway".into())
                        }),
                        ip => Ok(format!("{ip}\t{name}\n")),
                    })
                    .collect::<Result<String, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        write(
            &hosts,
            &format!(
                "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n{extra}{link_hosts}{own}\t{}\n{own6}",
                cfg.hostname
            ),
        )?;
        let list = |k: &str| string_list(&hc.extra, k);
        let base = if plan.embedded_dns { embedded_resolv_conf() } else { host_resolv_conf() };
        write(
            &resolv,
            &custom_resolv_conf(&base, &list("Dns"), &list("DnsSearch"), &list("DnsOptions"), plan.embedded_dns),
        )?;
        // Binds, volumes (mounted now, populated from the image when fresh) and tmpfs.
        let prepared = crate::mounts::to_runtime_specs(&c.mounts, self.volumes(), &c.id, rootfs)?;
        if !prepared.copy_up.is_empty() {
            for cu in &prepared.copy_up {
                if let Err(e) = self.volumes().copy_up(&cu.image_path, &cu.volume_path) {
                    self.unmount_volumes(c);
                    return Err(e);
                }
            }
            let mut populated = c.mounts.clone();
            crate::mounts::mark_populated(&mut populated);
            self.containers.update_mounts(&c.id, &populated)?;
        }
        for (src, dst) in [(&resolv, "/etc/resolv.conf"), (&hostname, "/etc/hostname"), (&hosts, "/etc/hosts")] {
            // A user's mount at one of these paths wins, as in Docker.
            if prepared.has_destination(dst) {
                continue;
            }
            mounts.push(MountSpec {
                typ: MountType::Bind,
                source: src.display().to_string(),
                destination: dst.into(),
                writable: !hc.readonly_rootfs,
                propagation: "rprivate".into(),
                ..Default::default()
            });
        }
        mounts.extend(prepared.specs);
        let init = if hc.init.unwrap_or(self.settings.default_init) && namespaces.pid == NamespaceMode::Private {
            Some(self.settings.init_path.clone().ok_or_else(|| {
                ContainerError::Invalid(
                    "exec: \"docker-init\": executable file not found in $PATH (install tini-static or set the daemon's --init-path)".into(),
                )
            })?)
        } else {
            None
        };
        let rc = RuntimeConfig {
            init,
            args,
            env,
            cwd: if cfg.working_dir.is_empty() { "/".into() } else { cfg.working_dir.clone() },
            user,
            hostname: cfg.hostname.clone(),
            domainname: cfg.domainname.clone(),
            tty: cfg.tty,
            console_size: cfg.tty.then_some((24, 80)),
            rootfs: rootfs.to_path_buf(),
            readonly_rootfs: hc.readonly_rootfs,
            privileged: hc.privileged,
            cap_add: hc.cap_add.clone().unwrap_or_default(),
            cap_drop: hc.cap_drop.clone().unwrap_or_default(),
            security_opt: hc.security_opt.clone().unwrap_or_default(),
            namespaces,
            resources: crate::update::resources_of(hc),
            cgroups_path: format!(
                "{}/{}",
                if hc.cgroup_parent.is_empty() { &self.settings.cgroup_parent } else { &hc.cgroup_parent },
                c.id
            ),
            ulimits: hc
                .ulimits
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|u| wharf_runtime::Ulimit { name: u.name, soft: u.soft, hard: u.hard })
                .collect(),
            sysctls: hc.sysctls.clone().unwrap_or_default(),
            mounts,
            shm_size: if hc.shm_size > 0 { hc.shm_size as u64 } else { wharf_runtime::DEFAULT_SHM_SIZE },
            ..Default::default()
        };
        wharf_runtime::generate(&rc, &self.settings.host).map_err(|e| ContainerError::Invalid(e.to_string()))
    }

    /// The environment and `/etc/hosts` lines of `c`'s legacy links (`--link`), which act on
    /// the default bridge only (moby `setupLinkedContainers`); a linked container must run.
    fn links(&self, c: &Container) -> Result<(Vec<String>, String)> {
        let links = crate::links::parse(&string_list(&c.host_config.extra, "Links"));
        let on_default_bridge = matches!(c.host_config.network_mode.as_str(), "" | "default" | "bridge");
        let (mut env, mut hosts) = (Vec::new(), String::new());
        let Some(net) = self.networking() else { return Ok((env, hosts)) };
        if links.is_empty() || !on_default_bridge {
            return Ok((env, hosts));
        }
        for l in links {
            let child = self.containers.get(&l.child)?;
            let link_name = format!("/{}/{}", c.name, l.alias);
            if child.state.status != Status::Running {
                return Err(ContainerError::Invalid(format!(
                    "Cannot link to a non running container: /{} AS {link_name}",
                    child.name
                )));
            }
            let ip = net
                .settings(&child)
                .and_then(|s| s["Networks"]["bridge"]["IPAddress"].as_str().and_then(|ip| ip.parse().ok()));
            let Some(ip) = ip else { continue };
            let ports: Vec<String> = child.config.exposed_ports.iter().flat_map(|p| p.keys().cloned()).collect();
            env.extend(crate::links::env(
                &l.alias,
                &link_name,
                ip,
                &ports,
                child.config.env.as_deref().unwrap_or_default(),
            ));
            hosts.push_str(&crate::links::hosts_line(&l.alias, &child.config.hostname, &child.name, ip));
        }
        Ok((env, hosts))
    }

    /// Unmounts container `id`'s rootfs if it is mounted.
    fn unmount(&self, id: &str) {
        let rootfs = self.rootfs(id);
        while rustix::mount::unmount(&rootfs, rustix::mount::UnmountFlags::DETACH).is_ok() {}
    }

    /// Starts the monitor thread of a running container.
    fn monitor(self: &Arc<Self>, id: String) {
        let me = self.clone();
        let _ = std::thread::Builder::new().name("ctr-monitor".into()).spawn(move || {
            let exit = me.wait_shim(&id);
            me.record_exit(&id, exit);
        });
    }

    /// Blocks until the shim of `id` reports the exit; reads `exit.json` when the shim is gone.
    fn wait_shim(&self, id: &str) -> ExitRecord {
        if let Ok(mut client) = self.client(id) {
            if let Ok(resp) = client.call(&Request::Wait) {
                if let Some(exit) = resp.exit {
                    let _ = client.call(&Request::Shutdown);
                    return exit;
                }
            }
        }
        self.exit_file(id).unwrap_or_else(|| ExitRecord {
            exit_code: 255,
            signal: None,
            oom_killed: false,
            started_at: None,
            finished_at: wharf_types::format_rfc3339_nanos(now_nanos()),
        })
    }

    fn exit_file(&self, id: &str) -> Option<ExitRecord> {
        let p = self.state_dir(id).join(wharf_shim::protocol::files::EXIT);
        std::fs::read(p).ok().and_then(|b| serde_json::from_slice(&b).ok())
    }

    /// Records an exit: state, rootfs, event, waiters, `--rm`.
    fn record_exit(self: &Arc<Self>, id: &str, exit: ExitRecord) {
        self.stop_health(id);
        self.unmount(id);
        if let (Some(net), Ok(c)) = (self.networking(), self.containers.get(id)) {
            net.release(&c);
        }
        let finished = wharf_types::parse_timestamp(&exit.finished_at, now_nanos()).unwrap_or_else(|_| now_nanos());
        let updated = self.containers.update_state(id, |s| {
            s.status = Status::Exited;
            s.pid = 0;
            s.exit_code = i64::from(exit.exit_code);
            s.oom_killed = exit.oom_killed;
            s.finished_at = finished;
        });
        let Ok(c) = updated else { return };
        self.unmount_volumes(&c);
        if exit.oom_killed {
            self.containers.publish("oom", &c, &[]);
        }
        self.containers.publish("die", &c, &[("exitCode", exit.exit_code.to_string())]);
        self.wake(id, WaitFor::Exit, (i64::from(exit.exit_code), None));
        if c.host_config.auto_remove {
            let _ = std::fs::remove_dir_all(self.state_dir(id));
            if self.containers.delete(&c).is_ok() {
                // `--rm` takes the anonymous volumes along, as dockerd does.
                if let Err(e) = crate::mounts::release_all(&c.mounts, self.volumes(), &c.id, true) {
                    tracing::warn!(id = %c.id, "{e}");
                }
                self.wake(id, WaitFor::Removal, (i64::from(exit.exit_code), None));
            }
            return;
        }
        self.maybe_restart(&c);
    }

    /// Applies the restart policy after an exit: `always` and `unless-stopped` unless the user
    /// stopped it, `on-failure[:N]` on a non-zero exit; with Docker's back-off (100 ms,
    /// doubling, at most a minute; reset when the container had run 10 s).
    fn maybe_restart(self: &Arc<Self>, c: &Container) {
        let p = &c.host_config.restart_policy;
        let st = &c.state;
        let wanted = match p.name.as_str() {
            "always" | "unless-stopped" => !st.stopped_by_user,
            "on-failure" => {
                st.exit_code != 0
                    && !st.stopped_by_user
                    && (p.maximum_retry_count <= 0 || st.restart_count < p.maximum_retry_count)
            }
            _ => false,
        };
        if !wanted {
            return;
        }
        let ran_long = st.finished_at - st.started_at >= 10_000_000_000;
        let Ok(c) = self.containers.update_state(&c.id, |s| {
            s.status = Status::Restarting;
            if ran_long && p.name != "on-failure" {
                s.restart_count = 0;
            }
            s.restart_count += 1;
        }) else {
            return;
        };
        let exp = (c.state.restart_count - 1).clamp(0, 10) as u32;
        let delay = Duration::from_millis((100u64 << exp).min(60_000));
        let (me, id) = (self.clone(), c.id.clone());
        let _ = std::thread::Builder::new().name("ctr-restart".into()).spawn(move || {
            std::thread::sleep(delay);
            // A stop or removal meanwhile cancels the restart.
            let still = me.containers.get(&id).is_ok_and(|c| c.state.status == Status::Restarting);
            if still {
                if let Err(e) = me.start_inner(&id, true) {
                    tracing::warn!(id, "restart by policy failed: {e}");
                    let _ = me.containers.update_state(&id, |s| s.status = Status::Exited);
                }
            }
        });
    }

    fn wake(&self, id: &str, what: WaitFor, result: WaitResult) {
        let mut w = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(list) = w.get_mut(id) {
            list.retain(|(f, tx)| {
                if *f == what || what == WaitFor::Removal {
                    let _ = tx.send(result.clone());
                    false
                } else {
                    true
                }
            });
            if list.is_empty() {
                w.remove(id);
            }
        }
    }

    /// Registers a waiter for the next exit or removal of `id`.
    pub fn subscribe(&self, id: &str, what: WaitFor) -> mpsc::Receiver<WaitResult> {
        let (tx, rx) = mpsc::channel();
        self.waiters.lock().unwrap_or_else(|e| e.into_inner()).entry(id.to_string()).or_default().push((what, tx));
        rx
    }

    /// Connects an attach stream to the shim of running container `id`.
    fn shim_attach(&self, id: &str, stdin_once: bool, req: AttachRequest) -> Result<Attached> {
        let mut client = self.client(id)?;
        client
            .call_ok(&Request::Attach { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, stdin_once })
            .map_err(internal)?;
        let reader = client.into_stream();
        let buffered = reader.buffer().to_vec();
        Ok(Attached { buffered, stream: reader.into_inner() })
    }

    /// `docker attach` (and `docker run`'s attach before start): a running container is
    /// attached at once; a stopped one when it next starts. The receiver yields the stream.
    pub fn attach(&self, name: &str, req: AttachRequest) -> Result<(Container, mpsc::Receiver<Result<Attached>>)> {
        let c = self.containers.get(name)?;
        let (tx, rx) = mpsc::channel();
        self.containers.publish("attach", &c, &[]);
        match c.state.status {
            Status::Running | Status::Paused => {
                let _ = tx.send(self.shim_attach(&c.id, c.config.stdin_once, req));
            }
            Status::Removing | Status::Dead => {
                return Err(ContainerError::Conflict(format!("container {} is marked for removal", c.id)));
            }
            _ => {
                self.pending.lock().unwrap_or_else(|e| e.into_inner()).entry(c.id.clone()).or_default().push((req, tx));
            }
        }
        Ok((c, rx))
    }

    /// `docker kill`.
    pub fn kill(&self, name: &str, signal: &str) -> Result<()> {
        let c = self.containers.get(name)?;
        let sig = parse_signal(if signal.is_empty() { "KILL" } else { signal })?;
        if !matches!(c.state.status, Status::Running | Status::Paused) {
            return Err(ContainerError::Conflict(format!("Container {} is not running", c.id)));
        }
        self.signal(&c, sig)?;
        self.containers.publish("kill", &c, &[("signal", sig.to_string())]);
        Ok(())
    }

    fn signal(&self, c: &Container, sig: i32) -> Result<()> {
        let mut client = self.client(&c.id)?;
        client.call_ok(&Request::Kill { signal: sig, all: false, exec_id: None }).map(|_| ()).map_err(internal)
    }

    /// `docker stop`: the stop signal, then SIGKILL after the timeout; `Ok` once it has exited.
    pub fn stop(&self, name: &str, signal: Option<&str>, timeout: Option<i64>) -> Result<()> {
        let c = self.containers.get(name)?;
        if c.state.status == Status::Restarting {
            // Waiting for its policy's next start: cancelled.
            let c = self.containers.update_state(&c.id, |s| {
                s.status = Status::Exited;
                s.stopped_by_user = true;
            })?;
            self.containers.publish("stop", &c, &[]);
            return Ok(());
        }
        if !matches!(c.state.status, Status::Running | Status::Paused) {
            return Err(ContainerError::NotModified("container already stopped".into()));
        }
        self.containers.update_state(&c.id, |s| s.stopped_by_user = true)?;
        let sig = parse_signal(signal.or(c.config.stop_signal.as_deref()).unwrap_or("SIGTERM"))?;
        let timeout = timeout.or(c.config.stop_timeout).unwrap_or(10);
        let exited = self.subscribe(&c.id, WaitFor::Exit);
        if c.state.status == Status::Paused {
            let _ = self.client(&c.id).and_then(|mut cl| cl.call_ok(&Request::Resume).map_err(internal));
        }
        if self.signal(&c, sig).is_ok() {
            self.containers.publish("kill", &c, &[("signal", sig.to_string())]);
        }
        let wait = if timeout < 0 { None } else { Some(Duration::from_secs(timeout as u64)) };
        let done = match wait {
            None => exited.recv().is_ok(),
            Some(t) => exited.recv_timeout(t).is_ok(),
        };
        if !done {
            let _ = self.signal(&c, 9);
            self.containers.publish("kill", &c, &[("signal", "9".into())]);
            let _ = exited.recv_timeout(Duration::from_secs(30));
        }
        let c = self.containers.get(&c.id)?;
        self.containers.publish("stop", &c, &[]);
        Ok(())
    }

    /// `docker restart`.
    pub fn restart(self: &Arc<Self>, name: &str, signal: Option<&str>, timeout: Option<i64>) -> Result<()> {
        match self.stop(name, signal, timeout) {
            Ok(()) | Err(ContainerError::NotModified(_)) => {}
            Err(e) => return Err(e),
        }
        self.start(name)?;
        let c = self.containers.get(name)?;
        self.containers.publish("restart", &c, &[]);
        Ok(())
    }

    /// `docker pause` / `docker unpause`.
    pub fn pause(&self, name: &str, pause: bool) -> Result<()> {
        let c = self.containers.get(name)?;
        match (c.state.status, pause) {
            (Status::Running, true) | (Status::Paused, false) => {}
            (Status::Paused, true) => {
                return Err(ContainerError::Conflict(format!("Container {} is already paused", c.id)))
            }
            (Status::Running, false) => {
                return Err(ContainerError::Conflict(format!("Container {} is not paused", c.id)))
            }
            _ => return Err(ContainerError::Conflict(format!("Container {} is not running", c.id))),
        }
        let mut client = self.client(&c.id)?;
        client.call_ok(if pause { &Request::Pause } else { &Request::Resume }).map_err(internal)?;
        let c =
            self.containers.update_state(&c.id, |s| s.status = if pause { Status::Paused } else { Status::Running })?;
        self.containers.publish(if pause { "pause" } else { "unpause" }, &c, &[]);
        Ok(())
    }

    /// `docker rm`: a running container needs `force` (then it is killed first); with
    /// `remove_volumes` (`-v`) its anonymous volumes go too.
    pub fn remove(&self, name: &str, force: bool, remove_volumes: bool) -> Result<()> {
        let mut c = self.containers.get(name)?;
        if c.state.status == Status::Restarting && force {
            c = self.containers.update_state(&c.id, |s| s.status = Status::Exited)?;
        }
        if matches!(c.state.status, Status::Running | Status::Paused | Status::Restarting) {
            if !force {
                return Err(ContainerError::Conflict(format!(
                    "cannot remove container \"/{}\": container is running: stop the container before removing or force remove",
                    c.name
                )));
            }
            let exited = self.subscribe(&c.id, WaitFor::Exit);
            if c.state.status == Status::Paused {
                let _ = self.client(&c.id).and_then(|mut cl| cl.call_ok(&Request::Resume).map_err(internal));
            }
            let _ = self.signal(&c, 9);
            if exited.recv_timeout(Duration::from_secs(30)).is_err() {
                return Err(ContainerError::internal(format!("container {} did not exit after SIGKILL", c.id)));
            }
        }
        let c = self.containers.get(&c.id)?;
        if c.host_config.auto_remove && matches!(c.state.status, Status::Exited) && self.containers.get(&c.id).is_err()
        {
            return Ok(());
        }
        let _ = std::fs::remove_dir_all(self.state_dir(&c.id));
        self.unmount(&c.id);
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).remove(&c.id);
        self.containers.delete(&c)?;
        let released = crate::mounts::release_all(&c.mounts, self.volumes(), &c.id, remove_volumes);
        self.wake(&c.id, WaitFor::Removal, (c.state.exit_code, None));
        released
    }

    /// `docker container prune`: removes stopped containers (filters `until`, `label`,
    /// `label!` as dockerd); their IDs and the bytes their writable layers held.
    pub fn prune(&self, filters: &wharf_types::Filters) -> Result<(Vec<String>, u64)> {
        filters.validate(&["until", "label", "label!"]).map_err(|e| ContainerError::Invalid(e.to_string()))?;
        let until = match filters.get("until").next() {
            None => None,
            Some(v) => {
                Some(wharf_types::parse_timestamp(v, now_nanos()).map_err(|e| ContainerError::Invalid(e.to_string()))?)
            }
        };
        let (mut gone, mut space) = (Vec::new(), 0u64);
        for c in self.containers.list()? {
            if !matches!(c.state.status, Status::Created | Status::Exited | Status::Dead) {
                continue;
            }
            if until.is_some_and(|u| c.created >= u) {
                continue;
            }
            let labels = c.config.labels.clone().unwrap_or_default();
            if !filters.match_labels("label", |k| labels.get(k).map(String::as_str)) {
                continue;
            }
            // `label!=k` / `label!=k=v`: containers with such a label stay.
            let excluded = filters.get("label!").any(|want| match want.split_once('=') {
                Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
                None => labels.contains_key(want),
            });
            if excluded {
                continue;
            }
            let size = self.containers.sizes(&c).map(|(rw, _)| rw.max(0) as u64).unwrap_or(0);
            match self.remove(&c.id, false, false) {
                Ok(()) => {
                    space += size;
                    gone.push(c.id);
                }
                Err(ContainerError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok((gone, space))
    }

    /// Reconnects to the shims of containers recorded as running (daemon start): a live shim
    /// gets a monitor again; a finished one's `exit.json` is recorded.
    pub fn restore(self: &Arc<Self>) -> Result<()> {
        for c in self.containers.list()? {
            if !matches!(c.state.status, Status::Running | Status::Paused | Status::Restarting) {
                continue;
            }
            if Client::connect(&self.socket(&c.id)).is_ok() {
                tracing::info!(id = %c.id, "reconnected to a running container's shim");
                if let Some(net) = self.networking() {
                    net.restore(&c, c.state.pid as i32);
                }
                crate::mounts::remount_all(&c.mounts, self.volumes(), &c.id);
                self.monitor(c.id.clone());
                self.start_health(&c.id);
            } else {
                let exit = self.wait_shim(&c.id);
                tracing::info!(id = %c.id, code = exit.exit_code, "container exited while the daemon was down");
                self.record_exit(&c.id, exit);
            }
        }
        Ok(())
    }

    /// Whether container `id` has a TTY and where its log is (for `docker logs`).
    pub fn log_source(&self, name: &str) -> Result<(Container, Option<wharf_logs::LogFormat>)> {
        let c = self.containers.get(name)?;
        let format = wharf_logs::LogFormat::for_driver(&c.host_config.log_config.kind);
        if format.is_none() {
            return Err(ContainerError::Invalid("configured logging driver does not support reading".into()));
        }
        Ok((c, format))
    }
}

/// `--dns`, `--dns-search`, `--dns-option` over a generated resolv.conf, as Docker applies
/// them: given servers replace the listed ones (with the embedded DNS they become its
/// upstreams and 127.0.0.11 stays — wharf forwards to the host's; noted), search and options
/// replace theirs.
fn custom_resolv_conf(base: &str, dns: &[String], search: &[String], options: &[String], embedded: bool) -> String {
    if dns.is_empty() && search.is_empty() && options.is_empty() {
        return base.to_string();
    }
    let mut out = String::new();
    let mut servers: Vec<String> = Vec::new();
    let mut searches: Vec<String> = Vec::new();
    let mut opts: Vec<String> = Vec::new();
    for line in base.lines() {
        let t = line.trim();
        if let Some(s) = t.strip_prefix("nameserver") {
            servers.push(s.trim().to_string());
        } else if let Some(s) = t.strip_prefix("search") {
            searches.extend(s.split_whitespace().map(str::to_string));
        } else if let Some(s) = t.strip_prefix("options") {
            opts.extend(s.split_whitespace().map(str::to_string));
        } else if !t.is_empty() {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !dns.is_empty() && !embedded {
        servers = dns.to_vec();
    }
    if !search.is_empty() {
        searches = search.iter().filter(|s| s.as_str() != ".").cloned().collect();
    }
    if !options.is_empty() {
        opts = options.to_vec();
    }
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    if !searches.is_empty() {
        out.push_str(&format!("search {}\n", searches.join(" ")));
    }
    if !opts.is_empty() {
        out.push_str(&format!("options {}\n", opts.join(" ")));
    }
    out
}

/// resolv.conf for the embedded DNS, as Docker writes it on user-defined networks: 127.0.0.11,
/// the host's search domains and options, and `ndots:0`.
fn embedded_resolv_conf() -> String {
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let mut out = String::from("nameserver 127.0.0.11\n");
    let mut options = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("search") || t.starts_with("domain") {
            out.push_str(t);
            out.push('\n');
        } else if let Some(o) = t.strip_prefix("options") {
            options.extend(o.split_whitespace().filter(|o| !o.starts_with("ndots:")).map(str::to_string));
        }
    }
    options.push("ndots:0".into());
    out.push_str(&format!("options {}\n", options.join(" ")));
    out
}

/// The host's resolv.conf without loopback name servers (they do not answer inside a
/// container's network namespace), as Docker filters it; Google's servers when none is left.
fn host_resolv_conf() -> String {
    let text = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let mut out = String::new();
    let mut servers = 0;
    for line in text.lines() {
        let t = line.trim();
        if let Some(addr) = t.strip_prefix("nameserver") {
            let addr = addr.trim();
            if addr.starts_with("127.") || addr == "::1" {
                continue;
            }
            servers += 1;
        }
        out.push_str(line);
        out.push('\n');
    }
    if servers == 0 {
        out.push_str("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_flags_override_the_generated_resolv_conf() {
        let base = "nameserver 10.0.0.2\nsearch corp\noptions rotate\n";
        assert_eq!(custom_resolv_conf(base, &[], &[], &[], false), base);
        let out = custom_resolv_conf(base, &["1.1.1.1".into()], &["a.example".into()], &["ndots:2".into()], false);
        assert_eq!(out, "nameserver 1.1.1.1\nsearch a.example\noptions ndots:2\n");
        // With the embedded DNS, 127.0.0.11 stays.
        let out = custom_resolv_conf("nameserver 127.0.0.11\noptions ndots:0\n", &["1.1.1.1".into()], &[], &[], true);
        assert_eq!(out, "nameserver 127.0.0.11\noptions ndots:0\n");
    }

    #[test]
    fn signals_parse_as_docker() {
        assert_eq!(parse_signal("SIGTERM").unwrap(), 15);
        assert_eq!(parse_signal("term").unwrap(), 15);
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert_eq!(parse_signal("SIGRTMIN+3").unwrap(), 37);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("0").is_err());
    }
}
