//! The integration-test harness. [`Daemon::start`] boots a wharfd that shares nothing with any
//! other: its own data root, exec root, socket, PID file, and a reserved bridge name, subnet and
//! cgroup parent (for the networking and container tests), so tests and several daemons run side
//! by side. [`Daemon::stop`] stops it by PID and proves nothing is left behind: no process, mount,
//! link or netfilter rule of its own.
//!
//! Scenarios run through both clients: [`Daemon::wharf`] (our CLI) and [`Daemon::docker`] (the
//! stock Docker CLI at `/usr/local/bin/docker`, or `$DOCKER_CLI`).
//!
//! Binaries come from the workspace's target directory (built by `cargo build --workspace`), or
//! from `$WHARFD_BIN` / `$WHARF_BIN`.

mod http;
pub mod images;
mod pki;
pub mod plugin;
mod slot;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use http::{HttpResponse, RawClient};
pub use pki::{Pki, TlsFiles};
pub use slot::Slot;

/// True when integration tests must not skip (CI sets `WHARF_IT=1`).
pub fn strict() -> bool {
    std::env::var("WHARF_IT").is_ok_and(|v| v == "1")
}

/// Returns false (and says why) when the test needs root and we are not root; with
/// `WHARF_IT=1` it fails instead of skipping.
pub fn have_root() -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    assert!(!strict(), "this test needs root and WHARF_IT=1 forbids skipping it");
    eprintln!("skipped: needs root");
    false
}

/// Path of a workspace binary.
pub fn bin(name: &str) -> PathBuf {
    let var = format!("{}_BIN", name.to_uppercase().replace('-', "_"));
    if let Some(p) = std::env::var_os(&var) {
        return PathBuf::from(p);
    }
    // target/<profile>/deps/<test-binary> → target/<profile>/<name>
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let p = dir.join(name);
    assert!(p.exists(), "{} not found: run `cargo build --workspace` first (or set ${var})", p.display());
    p
}

/// The stock Docker CLI.
pub fn docker_cli() -> PathBuf {
    std::env::var_os("DOCKER_CLI").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/local/bin/docker"))
}

/// A file of `shared/spec` (beside the repository, or under `$WHARF_SPEC_DIR`).
pub fn spec_path(name: &str) -> PathBuf {
    let dir = std::env::var_os("WHARF_SPEC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/spec"));
    dir.join(name)
}

/// `(METHOD, /path)` of every operation in a Swagger YAML document.
pub fn spec_routes(yaml: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut in_paths = false;
    let mut current: Option<String> = None;
    for line in yaml.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_paths = line.trim_end() == "paths:";
            current = None;
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(p) = line.strip_prefix("  /") {
            current = p.strip_suffix(':').map(|p| format!("/{p}"));
        } else if let (Some(path), Some(m)) = (&current, line.strip_prefix("    ")) {
            if let Some(m) = m.strip_suffix(':') {
                if ["get", "post", "put", "delete", "head", "patch"].contains(&m) {
                    out.push((m.to_uppercase(), path.clone()));
                }
            }
        }
    }
    out
}

/// How to start a daemon.
#[derive(Debug, Default, Clone)]
pub struct DaemonOpts {
    /// Extra wharfd arguments.
    pub args: Vec<String>,
    /// Content of a `daemon.json` passed with `--config-file`.
    pub config_json: Option<String>,
    /// Do not add `-H unix://<socket>` (the test gives its own hosts).
    pub no_default_host: bool,
    /// Do not add `--config-file` (the test gives its own).
    pub no_config_file: bool,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// Run wharfd in this named network namespace (`/run/netns/<name>`, made by the test),
    /// through `nsenter --net` (only the network namespace: mounts and cgroups stay the
    /// host's, and the clients reach the socket from anywhere). [`Daemon::leftovers`] then
    /// looks for links and rules in that namespace.
    pub netns: Option<String>,
}

/// A running (or stopped) isolated wharfd.
pub struct Daemon {
    /// Everything of this daemon lives under here.
    pub root: tempfile::TempDir,
    /// `--data-root`.
    pub data_root: PathBuf,
    /// `--exec-root`.
    pub exec_root: PathBuf,
    /// The API socket.
    pub socket: PathBuf,
    /// `--pidfile`.
    pub pidfile: PathBuf,
    /// Where the daemon's stderr goes.
    pub log: PathBuf,
    /// A docker/wharf client config dir (`--config`), empty at start.
    pub client_config: PathBuf,
    /// Reserved bridge name, subnet and cgroup parent.
    pub slot: Slot,
    opts: DaemonOpts,
    child: Option<Child>,
}

impl Daemon {
    /// Starts a daemon with default options and waits for `/_ping`.
    pub fn start() -> Daemon {
        Self::start_with(DaemonOpts::default())
    }

    /// Starts a daemon with `opts` and waits for `/_ping`; panics with the daemon's log if it
    /// does not answer.
    pub fn start_with(opts: DaemonOpts) -> Daemon {
        let mut d = Self::prepare(opts);
        d.spawn();
        d.wait_ready();
        d
    }

    /// Starts a daemon whose extra arguments depend on its reserved slot (subnets, names).
    pub fn start_with_slot_args(args: impl FnOnce(&Slot) -> Vec<String>) -> Daemon {
        let mut d = Self::prepare(DaemonOpts::default());
        d.opts.args = args(&d.slot);
        d.spawn();
        d.wait_ready();
        d
    }

    /// Lays out the directories without starting anything.
    pub fn prepare(opts: DaemonOpts) -> Daemon {
        let root = tempfile::Builder::new().prefix("wharf-it-").tempdir().expect("tempdir");
        let r = root.path().to_path_buf();
        let client_config = r.join("client");
        std::fs::create_dir_all(&client_config).expect("client config dir");
        Daemon {
            data_root: r.join("data"),
            exec_root: r.join("exec"),
            socket: r.join("wharf.sock"),
            pidfile: r.join("exec/wharfd.pid"),
            log: r.join("wharfd.log"),
            client_config,
            slot: Slot::reserve(),
            opts,
            child: None,
            root,
        }
    }

    /// The options of a prepared daemon (change them before [`Daemon::spawn`]).
    pub fn opts_mut(&mut self) -> &mut DaemonOpts {
        &mut self.opts
    }

    /// The `daemon.json` this daemon reads (rewrite it and send SIGHUP to reload).
    pub fn config_file(&self) -> PathBuf {
        self.root.path().join("daemon.json")
    }

    /// `unix://<socket>`.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The wharfd command line this daemon uses.
    pub fn command(&self) -> Command {
        let mut c = match &self.opts.netns {
            // nsenter execs wharfd: the child's PID is the daemon's.
            Some(ns) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net=/run/netns/{ns}")).arg("--").arg(bin("wharfd"));
                c
            }
            None => Command::new(bin("wharfd")),
        };
        c.arg("--data-root")
            .arg(&self.data_root)
            .arg("--exec-root")
            .arg(&self.exec_root)
            .arg("--pidfile")
            .arg(&self.pidfile);
        if !self.opts.no_default_host {
            c.arg("-H").arg(self.host());
        }
        if !self.opts.no_config_file {
            // Always name a config file so the host's /etc/wharf/daemon.json never leaks in.
            let config = self.config_file();
            if !config.exists() {
                std::fs::write(&config, self.opts.config_json.as_deref().unwrap_or("{}")).expect("daemon.json");
            }
            c.arg("--config-file").arg(config);
        }
        if !self.opts.args.iter().any(|a| a.starts_with("--cgroup-parent")) {
            // Containers of this daemon live under the slot's own cgroup parent.
            c.arg("--cgroup-parent").arg(format!("/{}", self.slot.cgroup_parent));
        }
        let in_file = |k: &str| self.opts.config_json.as_deref().is_some_and(|j| j.contains(&format!("\"{k}\"")));
        if !self.opts.args.iter().any(|a| a.starts_with("--bridge") || a == "-b") && !in_file("bridge") {
            // The default bridge network on the slot's own bridge and subnet.
            c.arg("--bridge").arg(&self.slot.bridge);
        }
        if !self.opts.args.iter().any(|a| a.starts_with("--bip")) && !in_file("bip") {
            let base = self.slot.subnet.trim_end_matches(".0/24");
            c.arg("--bip").arg(format!("{base}.1/24"));
        }
        c.args(&self.opts.args);
        c.env("HOME", self.root.path());
        for (k, v) in &self.opts.env {
            c.env(k, v);
        }
        c
    }

    /// Starts the process (without waiting for it to answer).
    pub fn spawn(&mut self) {
        assert!(self.child.is_none(), "daemon already running");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).expect("log file");
        let child = self
            .command()
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn wharfd");
        self.child = Some(child);
    }

    /// The daemon's PID.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `/_ping` answers OK; panics with the log on timeout or early exit.
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    panic!("wharfd exited early ({status}); log:\n{}", self.log_text());
                }
            }
            if let Ok(r) = self.api("GET", "/_ping", None) {
                if r.status == 200 && r.body == b"OK" {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "wharfd did not answer /_ping in 20s; log:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the process to exit by itself (e.g. a refused start) and returns its status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut()?;
        loop {
            if let Ok(Some(st)) = child.try_wait() {
                self.child = None;
                return Some(st);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `sig` to the daemon.
    pub fn signal(&self, sig: rustix::process::Signal) {
        let pid = self.pid().expect("daemon not running");
        let pid = rustix::process::Pid::from_raw(pid as i32).expect("pid");
        rustix::process::kill_process(pid, sig).expect("kill");
    }

    /// SIGTERM, wait for a clean exit, then prove nothing is left behind.
    pub fn stop(&mut self) {
        if self.child.is_some() {
            self.signal(rustix::process::Signal::TERM);
            let status = self.wait_exit(Duration::from_secs(20));
            let status = status
                .unwrap_or_else(|| panic!("wharfd did not stop within 20s of SIGTERM; log:\n{}", self.log_text()));
            assert!(status.success(), "wharfd exited with {status} on SIGTERM; log:\n{}", self.log_text());
        }
        self.assert_clean();
    }

    /// SIGKILL, as a crash would; leaves whatever the daemon left.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Asserts that nothing of this daemon survives: no process using its directories, no
    /// mount under them, no socket or PID file, no link named after its bridge, no netfilter
    /// rule naming its bridge.
    pub fn assert_clean(&self) {
        let leftovers = self.leftovers();
        assert!(leftovers.is_empty(), "wharfd left things behind: {leftovers:#?}\nlog:\n{}", self.log_text());
    }

    /// What [`Daemon::assert_clean`] would complain about.
    pub fn leftovers(&self) -> Vec<String> {
        let mut out = Vec::new();
        let root = self.root.path().to_string_lossy().into_owned();
        for pid in processes_mentioning(&root) {
            out.push(format!("process {pid} mentions {root}"));
        }
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        for line in mounts.lines() {
            if let Some(mp) = line.split(' ').nth(4) {
                if mp.starts_with(&root) {
                    out.push(format!("mount {mp}"));
                }
            }
        }
        if self.socket.exists() {
            out.push(format!("socket {}", self.socket.display()));
        }
        if self.pidfile.exists() {
            out.push(format!("pid file {}", self.pidfile.display()));
        }
        if Path::new("/sys/class/net").join(&self.slot.bridge).exists() {
            out.push(format!("link {}", self.slot.bridge));
        }
        // In the daemon's own network namespace, when it has one.
        let in_ns = |tool: &str| match &self.opts.netns {
            Some(ns) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net=/run/netns/{ns}")).arg("--").arg(tool);
                c
            }
            None => Command::new(tool),
        };
        if self.opts.netns.is_some() {
            let link = in_ns("ip").args(["-o", "link", "show", "dev", &self.slot.bridge]).output();
            if link.is_ok_and(|o| o.status.success()) {
                out.push(format!("link {} in the daemon's namespace", self.slot.bridge));
            }
        }
        for (tool, args) in [("nft", &["list", "ruleset"][..]), ("iptables-save", &[][..]), ("ip6tables-save", &[][..])]
        {
            if let Ok(o) = in_ns(tool).args(args).output() {
                let text = String::from_utf8_lossy(&o.stdout);
                for l in text.lines().filter(|l| mentions_name(l, &self.slot.bridge)) {
                    out.push(format!("{tool}: {l}"));
                }
            }
        }
        out
    }

    /// Runs the stock docker CLI against this daemon.
    pub fn docker(&self, args: &[&str]) -> CmdResult {
        let mut c = Command::new(docker_cli());
        c.arg("--config").arg(&self.client_config).arg("-H").arg(self.host()).args(args);
        CmdResult::run(c)
    }

    /// Runs the stock docker CLI against this daemon with `input` on its stdin.
    pub fn docker_stdin(&self, args: &[&str], input: &[u8]) -> CmdResult {
        let mut c = Command::new(docker_cli());
        c.arg("--config").arg(&self.client_config).arg("-H").arg(self.host()).args(args);
        let file = self.root.path().join(format!("stdin-{}", std::process::id()));
        std::fs::write(&file, input).unwrap();
        c.stdin(std::fs::File::open(&file).unwrap());
        let r = CmdResult::run_with(c, false);
        let _ = std::fs::remove_file(&file);
        r
    }

    /// Runs `wharf` against this daemon.
    pub fn wharf(&self, args: &[&str]) -> CmdResult {
        let mut c = Command::new(bin("wharf"));
        c.arg("--config").arg(&self.client_config).arg("-H").arg(self.host()).args(args);
        CmdResult::run(c)
    }

    /// Runs both CLIs with the same arguments and returns (wharf, docker).
    pub fn both(&self, args: &[&str]) -> (CmdResult, CmdResult) {
        (self.wharf(args), self.docker(args))
    }

    /// One raw HTTP request over the socket.
    pub fn api(&self, method: &str, path: &str, body: Option<&[u8]>) -> std::io::Result<HttpResponse> {
        RawClient::unix(&self.socket).request(method, path, body)
    }

    /// GET `path` and parse the JSON body; panics unless the status is 200.
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let r = self.api("GET", path, None).unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("GET {path}: bad JSON ({e}): {}", r.text()))
    }
}

impl Daemon {
    /// Removes the (empty) cgroup parent this daemon's containers used, in every controller.
    fn remove_cgroup_parent(&self) {
        let Ok(controllers) = std::fs::read_dir("/sys/fs/cgroup") else { return };
        for c in controllers.flatten() {
            // The daemon's cgroup warmer's two cgroups first (left if it was killed).
            for warm in ["wharf-warm-a", "wharf-warm-b"] {
                let _ = std::fs::remove_dir(c.path().join(&self.slot.cgroup_parent).join(warm));
            }
            let _ = std::fs::remove_dir(c.path().join(&self.slot.cgroup_parent));
        }
    }
}

impl Daemon {
    /// Kills what a failed test may have left running: containers (their init processes) and
    /// their shims, then unmounts their root filesystems. Containers outlive the daemon by
    /// design, so a test that panics before removing them would otherwise leak them.
    fn kill_containers(&self) {
        let Ok(dirs) = std::fs::read_dir(self.exec_root.join("c")) else { return };
        let mut shims = Vec::new();
        for d in dirs.flatten() {
            for (file, list) in [("init.pid", None), ("shim.pid", Some(&mut shims))] {
                let pid = std::fs::read_to_string(d.path().join(file)).ok().and_then(|p| p.trim().parse::<i32>().ok());
                if let Some(pid) = pid.and_then(rustix::process::Pid::from_raw) {
                    match list {
                        None => {
                            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                        }
                        Some(l) => l.push(pid),
                    }
                }
            }
        }
        std::thread::sleep(Duration::from_millis(200));
        for pid in shims {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
        if let Ok(cs) = std::fs::read_dir(self.data_root.join("containers")) {
            for c in cs.flatten() {
                let _ = rustix::mount::unmount(c.path().join("rootfs"), rustix::mount::UnmountFlags::DETACH);
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
        self.kill_containers();
        self.remove_cgroup_parent();
        self.remove_network_leftovers();
    }
}

impl Daemon {
    /// What a killed daemon (or one stopped while containers ran) leaves of its default
    /// network: its nftables table and bridge, so the next test on this slot starts clean.
    fn remove_network_leftovers(&self) {
        if self.opts.netns.is_some() {
            return; // gone with the namespace
        }
        let table = format!("wharf-{}", self.slot.bridge);
        for family in ["inet", "ip"] {
            let _ = Command::new("nft").args(["delete", "table", family, &table]).stderr(Stdio::null()).status();
        }
        if Path::new("/sys/class/net").join(&self.slot.bridge).exists() {
            let _ = Command::new("ip").args(["link", "del", &self.slot.bridge]).status();
        }
    }
}

/// Whether `line` names `name` as a whole word (`whit12` is not named by `whit123`).
fn mentions_name(line: &str, name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    line.match_indices(name).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + name.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// PIDs whose command line mentions `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<u32> {
    let me = std::process::id();
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else { return out };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        if pid == me {
            continue;
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(needle) {
            // zombies of our own children are reaped by Drop; ignore a process already exiting
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if !stat.contains(") Z ") {
                out.push(pid);
            }
        }
    }
    out
}

/// A finished command.
#[derive(Debug)]
pub struct CmdResult {
    /// What ran.
    pub cmdline: String,
    /// Exit code (-1 when killed).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl CmdResult {
    /// Runs `c` to completion (60 s at most).
    pub fn run(c: Command) -> CmdResult {
        Self::run_with(c, true)
    }

    /// [`run`](Self::run); with `null_stdin` false, the stdin set on `c` is kept.
    pub fn run_with(mut c: Command, null_stdin: bool) -> CmdResult {
        let cmdline = format!("{:?}", c);
        if null_stdin {
            c.stdin(Stdio::null());
        }
        let child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
        let child = child.unwrap_or_else(|e| panic!("{cmdline}: {e}"));
        let out = wait_with_timeout(child, Duration::from_secs(60)).unwrap_or_else(|| panic!("{cmdline}: timed out"));
        CmdResult {
            cmdline,
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Panics unless the command succeeded; returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "{} failed:\nstdout: {}\nstderr: {}", self.cmdline, self.stdout, self.stderr);
        &self.stdout
    }

    /// Panics unless the command failed; returns stderr.
    pub fn failed(&self) -> &str {
        assert_ne!(
            self.code, 0,
            "{} should have failed:\nstdout: {}\nstderr: {}",
            self.cmdline, self.stdout, self.stderr
        );
        &self.stderr
    }
}

fn wait_with_timeout(mut child: Child, timeout: Duration) -> Option<Output> {
    let deadline = Instant::now() + timeout;
    // Read pipes on threads so a chatty child cannot block on a full pipe.
    let mut so = child.stdout.take()?;
    let mut se = child.stderr.take()?;
    let t1 = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = std::io::Read::read_to_end(&mut so, &mut b);
        b
    });
    let t2 = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = std::io::Read::read_to_end(&mut se, &mut b);
        b
    });
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(Output { status, stdout: t1.join().ok()?, stderr: t2.join().ok()? });
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::mentions_name;

    #[test]
    fn names_are_whole_words() {
        assert!(mentions_name("table inet wharf-whit12 {", "whit12"));
        assert!(mentions_name("iifname \"whit12\" accept", "whit12"));
        assert!(!mentions_name("table inet wharf-whit123 {", "whit12"));
        assert!(!mentions_name("xwhit12", "whit12"));
    }
}
