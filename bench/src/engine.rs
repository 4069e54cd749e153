//! The engines under test, each with private paths inside the run's work directory:
//!
//! * `wharf`: `wharfd` with its own socket, data root, exec root, PID file and an empty
//!   `--config-file` (so `/etc/wharf/daemon.json` never leaks in).
//! * `docker`: Debian's `dockerd` 20.10 pointed (`--containerd`) at a `containerd` that the
//!   harness starts itself with a private root, state and socket, exactly as
//!   `shared/bench/incumbents.sh` does. containerd keeps running between dockerd starts (the
//!   "warm" start, the incumbents' anchor); the `start` scenario also times the cold stack.
//!   dockerd runs with `--bridge=none --iptables=false --ip-masq=false --ip-forward=false`
//!   and an empty `--config-file`: it touches no networking, not even in our namespace
//!   (`DOCKER_BRIDGE=1`, and always in the networking scenarios: its default `docker0` bridge,
//!   at [`DOCKER_BIP`], and iptables rules, inside our namespace, as the anchors ran it).
//! * `podman`: `podman system service --time=0` with private `--root`, `--runroot`,
//!   `--tmpdir`, network config dir, `containers.conf` and `storage.conf`.
//!
//! An engine whose binaries are missing is "not installed": reported and skipped.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::http;
use crate::knobs::Knobs;
use crate::procs;

/// Engine names accepted in `ENGINES`.
pub const KNOWN: &[&str] = &["wharf", "docker", "podman"];

/// A daemon under test.
pub trait Engine {
    /// `wharf`, `docker` or `podman`.
    fn name(&self) -> &'static str;
    /// Why it cannot run here (binaries not found), or `None`.
    fn missing(&self) -> Option<String>;
    /// Versions of its binaries, from their `--version`.
    fn version(&self) -> String;
    /// How it is run, for the report.
    fn describe(&self) -> String;
    /// The unix socket its API listens on.
    fn socket(&self) -> PathBuf;
    /// Writes configuration files and creates directories (once per run).
    fn prepare(&mut self) -> Result<(), String>;
    /// Starts the daemon; returns the time from spawning it to the first `GET /_ping` that
    /// answers 200. With `cold`, helper daemons (containerd) are started within that time too;
    /// the caller stops them first with [`Engine::stop_helpers`].
    fn start(&mut self, cold: bool) -> Result<Duration, String>;
    /// Stops the daemon (not its helpers): time from SIGTERM to exit.
    fn stop(&mut self) -> Result<Duration, String>;
    /// The running processes that make up the engine, for memory figures: (name, PID). Each
    /// counts with its descendants.
    fn components(&self) -> Vec<(&'static str, u32)>;
    /// True while the daemon (not its helpers) runs.
    fn running(&self) -> bool;
    /// The engine's command-line client, ready to talk to this engine (arguments to be added):
    /// the Docker CLI (`DOCKER_CLI`) with `DOCKER_HOST` at the engine's socket for wharf and
    /// docker; for podman, `podman` itself on the service's private storage (local mode, as
    /// `shared/bench/incumbents.sh` ran it, not through the service).
    fn cli(&self) -> Result<Command, String>;
    /// True when the engine needs helper daemons that stay up between starts (containerd).
    fn has_helpers(&self) -> bool {
        false
    }
    /// Stops helper daemons.
    fn stop_helpers(&mut self) {}
    /// Whether the next starts must give containers working networking (the harness calls it
    /// before each scenario, with [`crate::scenario::Scenario::networking`]). Only dockerd
    /// changes: it then runs with its default bridge (`--bip` [`DOCKER_BIP`]), iptables rules
    /// and userland proxy instead of `--bridge=none --iptables=false …`. wharfd always runs
    /// with its defaults (bridge `wharf0`, 172.17.0.1/16, nftables), podman's CLI always
    /// creates its netavark bridge on demand. A running daemon in the other mode is stopped.
    fn set_networking(&mut self, _on: bool) {}
}

/// docker0's address when dockerd has its bridge: not 172.17.0.1/16, which wharfd's `wharf0`
/// takes in the same namespace (podman's `podman0` is 10.88.0.1/16).
pub const DOCKER_BIP: &str = "172.18.0.1/16";

/// Builds the engine called `name` (one of [`KNOWN`]) under `work`.
pub fn make(name: &str, work: &Path, k: &Knobs) -> Box<dyn Engine> {
    match name {
        "wharf" => Box::new(Wharf::new(work, k)),
        "docker" => Box::new(Docker::new(work, k)),
        _ => Box::new(Podman::new(work, k)),
    }
}

/// `name` if it contains a slash, else its first match on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// The Docker CLI (`DOCKER_CLI`) talking to the daemon at `sock`, with a private, empty
/// configuration directory (no contexts, credential helpers or plugins from the host).
fn docker_cli(k: &Knobs, sock: &Path, dir: &Path) -> Result<Command, String> {
    let bin = which(&k.docker_cli).ok_or_else(|| format!("docker CLI {} not found (DOCKER_CLI)", k.docker_cli))?;
    let cfg = dir.join("docker-cli-config");
    mkdirs(&[&cfg])?;
    let mut c = Command::new(bin);
    c.env("DOCKER_HOST", format!("unix://{}", sock.display()))
        .env("DOCKER_CONFIG", cfg)
        .env("DOCKER_CLI_HINTS", "false")
        .env_remove("DOCKER_CONTEXT")
        .env_remove("DOCKER_API_VERSION")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH");
    Ok(c)
}

/// First line of `bin --version` (or `-v`).
fn version_of(bin: &Path, flag: &str) -> String {
    Command::new(bin)
        .arg(flag)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or_default().trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "?".into())
}

fn mkdirs(dirs: &[&Path]) -> Result<(), String> {
    for d in dirs {
        fs::create_dir_all(d).map_err(|e| format!("mkdir {}: {e}", d.display()))?;
    }
    Ok(())
}

fn write(p: &Path, s: &str) -> Result<(), String> {
    fs::write(p, s).map_err(|e| format!("write {}: {e}", p.display()))
}

/// One daemon process of an engine.
struct Daemon {
    name: &'static str,
    log: PathBuf,
    pid: Option<u32>,
}

enum Ready<'a> {
    /// `GET /_ping` answers 200.
    Ping(&'a Path),
    /// The socket accepts connections (containerd's gRPC socket).
    Connect(&'a Path),
}

impl Daemon {
    fn new(name: &'static str, log: PathBuf) -> Daemon {
        Daemon { name, log, pid: None }
    }

    /// Spawns `cmd` and waits until `ready`; returns the time since `t0` (or since the spawn).
    fn launch(&mut self, cmd: &mut Command, ready: Ready, t0: Option<Instant>, k: &Knobs) -> Result<Duration, String> {
        let sock = match ready {
            Ready::Ping(s) | Ready::Connect(s) => s,
        };
        if self.pid.is_some() {
            self.stop(k)?;
        }
        let _ = fs::remove_file(sock);
        let t0 = t0.unwrap_or_else(Instant::now);
        let pid = procs::spawn(self.name, cmd, &self.log).map_err(|e| format!("{}: cannot start: {e}", self.name))?;
        self.pid = Some(pid);
        let poll = Duration::from_micros(k.poll_us);
        let timeout = Duration::from_secs_f64(k.start_timeout_s);
        loop {
            let ok = match ready {
                Ready::Ping(s) => http::ping_once(s, Duration::from_secs(5)),
                Ready::Connect(s) => std::os::unix::net::UnixStream::connect(s).is_ok(),
            };
            if ok {
                return Ok(t0.elapsed());
            }
            if let Some(st) = procs::exited(pid) {
                let _ = self.stop(k);
                return Err(format!(
                    "{} exited ({st}) before answering; log:\n{}",
                    self.name,
                    procs::tail(&self.log, 15)
                ));
            }
            if t0.elapsed() > timeout {
                let _ = self.stop(k);
                return Err(format!(
                    "{} did not answer within {:.0} s; log:\n{}",
                    self.name,
                    k.start_timeout_s,
                    procs::tail(&self.log, 15)
                ));
            }
            std::thread::sleep(poll);
        }
    }

    fn stop(&mut self, k: &Knobs) -> Result<Duration, String> {
        let Some(pid) = self.pid.take() else { return Ok(Duration::ZERO) };
        match procs::stop(pid, Duration::from_secs_f64(k.stop_timeout_s)) {
            Some((d, false)) => Ok(d),
            Some((_, true)) => Err(format!("{} (pid {pid}) needed SIGKILL", self.name)),
            None => Ok(Duration::ZERO),
        }
    }

    fn running(&self) -> Option<u32> {
        self.pid.filter(|p| procs::is_tracked(*p) && procs::exited(*p).is_none())
    }
}

// ------------------------------------------------------------------------------------------
// wharf

struct Wharf {
    k: Knobs,
    bin: Option<PathBuf>,
    dir: PathBuf,
    d: Daemon,
}

impl Wharf {
    fn new(work: &Path, k: &Knobs) -> Wharf {
        let bin = match &k.wharfd_bin {
            Some(p) => p.is_file().then(|| p.clone()),
            None => std::env::current_exe()
                .ok()
                .and_then(|e| e.parent().map(|d| d.join("wharfd")))
                .filter(|p| p.is_file())
                .or_else(|| Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/wharfd")))
                .filter(|p| p.is_file()),
        };
        let dir = work.join("wharf");
        Wharf { k: k.clone(), bin, d: Daemon::new("wharfd", dir.join("wharfd.log")), dir }
    }
}

impl Engine for Wharf {
    fn name(&self) -> &'static str {
        "wharf"
    }
    fn missing(&self) -> Option<String> {
        match (&self.bin, &self.k.wharfd_bin) {
            (Some(_), _) => None,
            (None, Some(p)) => Some(format!("WHARFD_BIN={} does not exist", p.display())),
            (None, None) => Some("wharfd not built (cargo build --release -p wharfd, or set WHARFD_BIN)".into()),
        }
    }
    fn version(&self) -> String {
        self.bin.as_deref().map_or_else(|| "?".into(), |b| version_of(b, "--version"))
    }
    fn describe(&self) -> String {
        format!(
            "{} (private data/exec root, socket, empty --config-file)",
            self.bin.as_deref().unwrap_or(Path::new("?")).display()
        )
    }
    fn socket(&self) -> PathBuf {
        self.dir.join("wharf.sock")
    }
    fn prepare(&mut self) -> Result<(), String> {
        mkdirs(&[&self.dir.join("data"), &self.dir.join("exec")])?;
        write(&self.dir.join("daemon.json"), "{}\n")
    }
    fn start(&mut self, _cold: bool) -> Result<Duration, String> {
        let bin = self.bin.clone().ok_or("wharfd missing")?;
        let sock = self.socket();
        let mut cmd = Command::new(bin);
        dockerd_style_args(&mut cmd, &sock, &self.dir, "wharfd.pid");
        self.d.launch(&mut cmd, Ready::Ping(&sock), None, &self.k)
    }
    fn stop(&mut self) -> Result<Duration, String> {
        self.d.stop(&self.k)
    }
    fn components(&self) -> Vec<(&'static str, u32)> {
        self.d.running().map(|p| vec![("wharfd", p)]).unwrap_or_default()
    }
    fn running(&self) -> bool {
        self.d.running().is_some()
    }
    fn cli(&self) -> Result<Command, String> {
        docker_cli(&self.k, &self.socket(), &self.dir)
    }
}

// ------------------------------------------------------------------------------------------
// docker (dockerd + containerd)

/// dockerd flags that keep it off networking (unless `DOCKER_BRIDGE=1`).
const NO_NET: &[&str] = &["--bridge=none", "--iptables=false", "--ip-masq=false", "--ip-forward=false"];

struct Docker {
    k: Knobs,
    dockerd: Option<PathBuf>,
    containerd: Option<PathBuf>,
    dir: PathBuf,
    d: Daemon,
    c: Daemon,
    /// Networking scenario: bridge, iptables and userland proxy on (see [`Engine::set_networking`]).
    net: bool,
}

impl Docker {
    fn new(work: &Path, k: &Knobs) -> Docker {
        let dir = work.join("docker");
        Docker {
            k: k.clone(),
            dockerd: which(&k.dockerd_bin),
            containerd: which(&k.containerd_bin),
            d: Daemon::new("dockerd", dir.join("dockerd.log")),
            c: Daemon::new("containerd", dir.join("containerd.log")),
            dir,
            net: false,
        }
    }
    fn ctrd_sock(&self) -> PathBuf {
        self.dir.join("ctrd-state/containerd.sock")
    }
    fn containerd_cmd(&self) -> Result<Command, String> {
        let mut c = Command::new(self.containerd.as_ref().ok_or("containerd missing")?);
        c.arg("--config").arg(self.dir.join("containerd.toml"));
        Ok(c)
    }
    /// Starts containerd (when not running); returns the time until its socket accepts.
    fn start_containerd(&mut self, t0: Option<Instant>) -> Result<Duration, String> {
        let mut cmd = self.containerd_cmd()?;
        let sock = self.ctrd_sock();
        self.c.launch(&mut cmd, Ready::Connect(&sock), t0, &self.k)
    }
}

impl Engine for Docker {
    fn name(&self) -> &'static str {
        "docker"
    }
    fn missing(&self) -> Option<String> {
        match (&self.dockerd, &self.containerd) {
            (Some(_), Some(_)) => None,
            (None, _) => Some(format!("{} not found", self.k.dockerd_bin)),
            (_, None) => Some(format!("{} not found", self.k.containerd_bin)),
        }
    }
    fn version(&self) -> String {
        let d = self.dockerd.as_deref().map_or_else(|| "?".into(), |b| version_of(b, "--version"));
        let c = self.containerd.as_deref().map_or_else(|| "?".into(), |b| version_of(b, "--version"));
        let c = c.split_whitespace().nth(2).unwrap_or(&c).to_string();
        format!("{d}; containerd {c}")
    }
    fn describe(&self) -> String {
        format!(
            "dockerd --containerd=<private containerd{}> {}; warm start = containerd already running",
            if self.k.containerd_cri { ", CRI plugin on as Debian ships it" } else { ", CRI plugin off" },
            if self.k.docker_bridge {
                format!("with its default bridge docker0 (--bip {DOCKER_BIP}) + iptables (inside the private netns)")
            } else {
                format!(
                    "{} (networking scenarios: default bridge docker0 --bip {DOCKER_BIP} + iptables + userland proxy, \
                     inside the private netns)",
                    NO_NET.join(" ")
                )
            }
        )
    }
    fn socket(&self) -> PathBuf {
        self.dir.join("docker.sock")
    }
    fn prepare(&mut self) -> Result<(), String> {
        let root = self.dir.join("ctrd-root");
        let state = self.dir.join("ctrd-state");
        mkdirs(&[&self.dir.join("data"), &self.dir.join("exec"), &root, &state])?;
        let disabled = if self.k.containerd_cri { "" } else { "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n" };
        write(
            &self.dir.join("containerd.toml"),
            &format!(
                "# Debian's /etc/containerd/config.toml with private paths\nversion = 2\n{disabled}\
                 root = \"{}\"\nstate = \"{}\"\n[grpc]\n  address = \"{}\"\n[plugins]\n  \
                 [plugins.\"io.containerd.internal.v1.opt\"]\n    path = \"{}\"\n",
                root.display(),
                state.display(),
                self.ctrd_sock().display(),
                root.join("opt").display()
            ),
        )?;
        write(&self.dir.join("daemon.json"), "{}\n")
    }
    fn start(&mut self, cold: bool) -> Result<Duration, String> {
        let t0 = Instant::now();
        if cold || self.c.running().is_none() {
            self.start_containerd(Some(t0))?;
            if !cold {
                std::thread::sleep(Duration::from_millis(300)); // untimed: let it settle
            }
        }
        let t0 = if cold { t0 } else { Instant::now() };
        let sock = self.socket();
        let mut cmd = Command::new(self.dockerd.as_ref().ok_or("dockerd missing")?);
        dockerd_style_args(&mut cmd, &sock, &self.dir, "dockerd.pid");
        cmd.arg("--containerd").arg(self.ctrd_sock());
        if self.k.docker_bridge || self.net {
            cmd.arg(format!("--bip={DOCKER_BIP}"));
        } else {
            cmd.args(NO_NET);
        }
        self.d.launch(&mut cmd, Ready::Ping(&sock), Some(t0), &self.k)
    }
    fn stop(&mut self) -> Result<Duration, String> {
        self.d.stop(&self.k)
    }
    fn components(&self) -> Vec<(&'static str, u32)> {
        [("dockerd", self.d.running()), ("containerd", self.c.running())]
            .into_iter()
            .filter_map(|(n, p)| Some((n, p?)))
            .collect()
    }
    fn running(&self) -> bool {
        self.d.running().is_some()
    }
    fn cli(&self) -> Result<Command, String> {
        docker_cli(&self.k, &self.socket(), &self.dir)
    }
    fn has_helpers(&self) -> bool {
        true
    }
    fn stop_helpers(&mut self) {
        if let Err(e) = self.c.stop(&self.k) {
            eprintln!("wharf-bench: {e}");
        }
    }
    fn set_networking(&mut self, on: bool) {
        if on != self.net && !self.k.docker_bridge && self.d.running().is_some() {
            if let Err(e) = self.d.stop(&self.k) {
                eprintln!("wharf-bench: {e}");
            }
        }
        self.net = on;
    }
}

// ------------------------------------------------------------------------------------------
// podman

struct Podman {
    k: Knobs,
    bin: Option<PathBuf>,
    dir: PathBuf,
    d: Daemon,
}

impl Podman {
    fn new(work: &Path, k: &Knobs) -> Podman {
        let dir = work.join("podman");
        Podman { k: k.clone(), bin: which(&k.podman_bin), d: Daemon::new("podman", dir.join("podman.log")), dir }
    }

    /// `podman` with the private configuration, storage and global flags (the service and the
    /// CLI share them, hence the same storage).
    fn podman(&self) -> Result<Command, String> {
        let mut cmd = Command::new(self.bin.as_ref().ok_or("podman missing")?);
        cmd.env("CONTAINERS_CONF", self.dir.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", self.dir.join("storage.conf"))
            .arg("--root")
            .arg(self.dir.join("root"))
            .arg("--runroot")
            .arg(self.dir.join("run"))
            .arg("--tmpdir")
            .arg(self.dir.join("tmp"))
            .arg("--network-config-dir")
            .arg(self.dir.join("networks"))
            .args(["--cgroup-manager", "cgroupfs", "--events-backend", "file"]);
        Ok(cmd)
    }
}

impl Engine for Podman {
    fn name(&self) -> &'static str {
        "podman"
    }
    fn missing(&self) -> Option<String> {
        self.bin.is_none().then(|| format!("{} not found", self.k.podman_bin))
    }
    fn version(&self) -> String {
        self.bin.as_deref().map_or_else(|| "?".into(), |b| version_of(b, "--version"))
    }
    fn describe(&self) -> String {
        "podman system service --time=0 (private root, runroot, tmpdir, network config dir; cgroupfs, file events)"
            .into()
    }
    fn socket(&self) -> PathBuf {
        self.dir.join("podman.sock")
    }
    fn prepare(&mut self) -> Result<(), String> {
        let (root, run, tmp, net) =
            (self.dir.join("root"), self.dir.join("run"), self.dir.join("tmp"), self.dir.join("networks"));
        mkdirs(&[&root, &run, &tmp, &net])?;
        write(
            &self.dir.join("storage.conf"),
            &format!(
                "[storage]\ndriver = \"overlay\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
                root.display(),
                run.display()
            ),
        )?;
        write(
            &self.dir.join("containers.conf"),
            &format!(
                "[containers]\ndefault_ulimits = [\"nofile={nofile}:{nofile}\", \"nproc={nproc}:{nproc}\"]\n\
                 [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\nevents_logfile_path = \"{}\"\n\
                 tmp_dir = \"{}\"\n[network]\nnetwork_config_dir = \"{}\"\n",
                run.join("events.log").display(),
                tmp.display(),
                net.display(),
                nofile = hard_limit(libc::RLIMIT_NOFILE, 1_048_576),
                nproc = hard_limit(libc::RLIMIT_NPROC, 32_768),
            ),
        )
    }
    fn start(&mut self, _cold: bool) -> Result<Duration, String> {
        let sock = self.socket();
        let mut cmd = self.podman()?;
        cmd.args(["system", "service", "--time=0"]).arg(format!("unix://{}", sock.display()));
        self.d.launch(&mut cmd, Ready::Ping(&sock), None, &self.k)
    }
    fn stop(&mut self) -> Result<Duration, String> {
        self.d.stop(&self.k)
    }
    fn components(&self) -> Vec<(&'static str, u32)> {
        self.d.running().map(|p| vec![("podman", p)]).unwrap_or_default()
    }
    fn running(&self) -> bool {
        self.d.running().is_some()
    }
    fn cli(&self) -> Result<Command, String> {
        self.podman()
    }
}

/// This process's hard limit `res`, at most `cap`. podman's containers get these as their
/// default ulimits (as `shared/bench/incumbents.sh` pins them): podman's own defaults (nofile
/// 1048576, nproc 4194304 for root) are above the hard limits here, and without
/// CAP_SYS_RESOURCE the runtime cannot raise them ("error setting rlimit type 7: operation not
/// permitted"); podman also lowers its own RLIMIT_NPROC hard limit to 32768, hence that cap.
fn hard_limit(res: libc::__rlimit_resource_t, cap: u64) -> u64 {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    if unsafe { libc::getrlimit(res, &mut r) } != 0 || r.rlim_max == libc::RLIM_INFINITY {
        return cap;
    }
    r.rlim_max.min(cap)
}

/// The private paths wharfd and dockerd both take under the same flag names: socket, data root,
/// exec root, PID file and configuration file, all under the engine's work directory `dir`.
fn dockerd_style_args(cmd: &mut Command, sock: &Path, dir: &Path, pidfile: &str) {
    cmd.arg("--config-file")
        .arg(dir.join("daemon.json"))
        .arg("-H")
        .arg(format!("unix://{}", sock.display()))
        .arg("--data-root")
        .arg(dir.join("data"))
        .arg("--exec-root")
        .arg(dir.join("exec"))
        .arg("--pidfile")
        .arg(dir.join(pidfile));
}
