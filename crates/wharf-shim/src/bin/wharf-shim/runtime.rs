//! The OCI runtimes the shim drives: youki's `libcontainer` in this process (the default) or a
//! runc-compatible binary (`--runtime /usr/sbin/runc`). Both leave the container's processes
//! children of the shim (libcontainer clones them with `CLONE_PARENT`; runc's are orphaned to the
//! shim, a child subreaper), so the shim reaps them and learns their exit status itself.

use std::error::Error as _;
use std::fmt;
use std::fs;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio as CmdStdio};

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::Container;
use libcontainer::oci_spec::runtime::{LinuxResources, LinuxSeccomp};
use libcontainer::signal::Signal;
use libcontainer::syscall::syscall::SyscallType;

use crate::executor::ShimExecutor;
use crate::seccomp::{self, Borrowed, Filter, Program};

/// A runtime failure, as text meant for the user (Docker shows it after `OCI runtime create
/// failed: `).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuntimeError(pub(crate) String);

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type Result<T> = std::result::Result<T, RuntimeError>;

/// How a new process gets its stdio.
pub(crate) enum Stdio {
    /// These fds become its stdin, stdout and stderr.
    Pipes {
        /// Read end of the stdin pipe, or `/dev/null`.
        stdin: OwnedFd,
        /// Write end of the stdout pipe.
        stdout: OwnedFd,
        /// Write end of the stderr pipe.
        stderr: OwnedFd,
    },
    /// The runtime creates a pty and sends its master to this listening socket.
    Console(PathBuf),
}

/// What the shim needs from an OCI runtime.
pub(crate) trait Runtime {
    /// Creates the container from the bundle; its init waits for [`start`](Self::start).
    /// Returns the init's pid.
    fn create(&mut self, stdio: Stdio) -> Result<i32>;
    /// Lets the init run the workload.
    fn start(&mut self) -> Result<()>;
    /// Signals the init, or every process of the container.
    fn kill(&mut self, signal: i32, all: bool) -> Result<()>;
    /// Freezes the container.
    fn pause(&mut self) -> Result<()>;
    /// Thaws it.
    fn resume(&mut self) -> Result<()>;
    /// Writes new cgroup limits (the fields present in `resources`) for the container.
    fn update(&mut self, resources: &LinuxResources) -> Result<()>;
    /// Removes what the runtime holds (state, cgroups); the init has exited.
    fn delete(&mut self) -> Result<()>;
    /// Starts a process described by the OCI `process` JSON file at `process` in the running
    /// container. Returns its pid.
    fn exec(&mut self, process: &Path, stdio: Stdio) -> Result<i32>;
}

/// Where a runtime keeps its files.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    /// The container ID.
    pub(crate) id: String,
    /// The bundle (holds config.json).
    pub(crate) bundle: PathBuf,
    /// The runtime's state root.
    pub(crate) root: PathBuf,
    /// The shim's state dir (runc's pid files and log).
    pub(crate) state_dir: PathBuf,
}

/// The message chain of an error, outermost first, without repeats.
fn chain(err: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = cur {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = e.source();
    }
    parts.join(": ")
}

/// Turns a libcontainer error into runc-like text: a workload that cannot be executed reads
/// `unable to start container process: exec: "x": executable file not found in $PATH`.
fn lc_error(err: libcontainer::error::LibcontainerError) -> RuntimeError {
    let text = chain(&err);
    const MARK: &str = "error in executing process : ";
    if let Some(i) = text.find(MARK) {
        return RuntimeError(format!("unable to start container process: {}", &text[i + MARK.len()..]));
    }
    if let Some(src) = err.source() {
        if text.starts_with("failed to create container") {
            return RuntimeError(chain(src));
        }
    }
    RuntimeError(text)
}

/// The bundle libcontainer gets when the shim loads the seccomp filter itself: a copy of the
/// spec without `linux.seccomp`, in the shim's state dir (the daemon's bundle stays as it wrote
/// it: it reads the process defaults of execs from there).
const LC_BUNDLE: &str = "libcontainer-bundle";

/// youki's libcontainer, embedded.
pub(crate) struct Libcontainer {
    paths: Paths,
    container: Option<Container>,
    /// The container's seccomp program when the shim loads it (init and execs).
    seccomp: Option<Program>,
}

impl Libcontainer {
    pub(crate) fn new(paths: Paths) -> Libcontainer {
        Libcontainer { paths, container: None, seccomp: None }
    }

    fn builder(&self, stdio: Stdio, seccomp: Option<Filter>) -> Result<ContainerBuilder> {
        let mut b = ContainerBuilder::new(self.paths.id.clone(), SyscallType::default())
            .with_executor(ShimExecutor { seccomp })
            .with_root_path(&self.paths.root)
            .map_err(lc_error)?
            .validate_id()
            .map_err(lc_error)?;
        match stdio {
            Stdio::Pipes { stdin, stdout, stderr } => b = b.with_stdin(stdin).with_stdout(stdout).with_stderr(stderr),
            Stdio::Console(path) => b = b.with_console_socket(Some(path)),
        }
        Ok(b)
    }

    fn container(&mut self) -> Result<&mut Container> {
        self.container.as_mut().ok_or_else(|| RuntimeError("container not created".into()))
    }

    /// Takes a [`seccomp::precompilable`] `linux.seccomp` out of the spec libcontainer gets:
    /// the program comes from the shim's cache (compiled on a miss), the spec goes to
    /// [`LC_BUNDLE`] without the filter and with `CAP_SYS_ADMIN` borrowed for the executor to
    /// load it. Returns the bundle for libcontainer and the executor's filter; any other spec
    /// (no filter, notify, flags, one our compiler refuses) is left to libcontainer as it is.
    fn precompile_seccomp(&mut self) -> Result<(PathBuf, Option<Filter>)> {
        let unchanged = Ok((self.paths.bundle.clone(), None));
        // Unreadable here means unreadable to libcontainer too: its error is the one to show.
        let Ok(text) = fs::read(self.paths.bundle.join("config.json")) else { return unchanged };
        let Ok(mut spec) = serde_json::from_slice::<serde_json::Value>(&text) else { return unchanged };
        let Some(raw) = spec.pointer("/linux/seccomp").filter(|v| !v.is_null()) else { return unchanged };
        let Ok(profile) = serde_json::from_value::<LinuxSeccomp>(raw.clone()) else { return unchanged };
        if !seccomp::precompilable(&profile) {
            diag!("seccomp: profile with notify or flags, loaded by libcontainer");
            return unchanged;
        }
        let (program, cached) = match seccomp::program_for(&self.paths.root, &profile) {
            Ok(p) => p,
            Err(e) => {
                diag!("seccomp: {e}; left to libcontainer");
                return unchanged;
            }
        };
        diag!("seccomp: {} instructions ({})", program.len(), if cached { "cached" } else { "compiled" });
        if let Some(linux) = spec.get_mut("linux").and_then(|l| l.as_object_mut()) {
            linux.remove("seccomp");
        }
        let borrowed = spec.get_mut("process").map(seccomp::borrow_sys_admin).unwrap_or_default();
        // root.path may be relative to the bundle: make it absolute for the copy's new home.
        if let Some(root) = spec.pointer_mut("/root/path") {
            if let Some(p) = root.as_str().map(Path::new).filter(|p| p.is_relative()) {
                *root = serde_json::Value::from(self.paths.bundle.join(p).to_string_lossy().into_owned());
            }
        }
        let dir = self.paths.state_dir.join(LC_BUNDLE);
        let json = serde_json::to_vec(&spec).map_err(|e| RuntimeError(e.to_string()))?;
        write_private(&dir, &json).map_err(|e| RuntimeError(format!("writing {}: {e}", dir.display())))?;
        self.seccomp = Some(program.clone());
        Ok((dir, Some(Filter { program, borrowed })))
    }

    /// `linux.resources.memory.disableOOMKiller` of the bundle's spec (false when unreadable).
    fn spec_disables_oom_killer(&self) -> bool {
        let Ok(text) = fs::read(self.paths.bundle.join("config.json")) else { return false };
        let spec: serde_json::Value = serde_json::from_slice(&text).unwrap_or_default();
        spec.pointer("/linux/resources/memory/disableOOMKiller").and_then(|v| v.as_bool()).unwrap_or(false)
    }
}

impl Runtime for Libcontainer {
    fn create(&mut self, stdio: Stdio) -> Result<i32> {
        let (bundle, filter) = self.precompile_seccomp()?;
        let container =
            self.builder(stdio, filter)?.as_init(&bundle).with_systemd(false).with_detach(true).build().map_err(
                |e| {
                    let _ = fs::remove_dir_all(self.paths.state_dir.join(LC_BUNDLE));
                    lc_error(e)
                },
            )?;
        let pid = container.pid().ok_or_else(|| RuntimeError("runtime reported no init pid".into()))?;
        self.container = Some(container);
        Ok(pid.as_raw())
    }

    fn start(&mut self) -> Result<()> {
        self.container()?.start().map_err(lc_error)
    }

    fn kill(&mut self, signal: i32, all: bool) -> Result<()> {
        let sig = Signal::try_from(signal).map_err(|e| RuntimeError(e.to_string()))?;
        self.container()?.kill(sig, all).map_err(lc_error)
    }

    fn pause(&mut self) -> Result<()> {
        self.container()?.pause().map_err(lc_error)
    }

    fn resume(&mut self) -> Result<()> {
        self.container()?.resume().map_err(lc_error)
    }

    /// As youki's `update`: a cgroup manager for the path libcontainer created the container
    /// with, and `apply`. On cgroup v1 libcgroups writes memory and memory+swap in runc's order
    /// (swap first when the new swap limit is above the current memory limit).
    fn update(&mut self, resources: &LinuxResources) -> Result<()> {
        use libcgroups::common::{create_cgroup_manager, CgroupConfig, CgroupManager, ControllerOpt};
        let container = self.container()?;
        let config = CgroupConfig {
            cgroup_path: container.spec().map_err(lc_error)?.cgroup_path,
            systemd_cgroup: container.systemd(),
            container_name: self.paths.id.clone(),
        };
        let manager = create_cgroup_manager(config).map_err(|e| RuntimeError(chain(&e)))?;
        // libcgroups writes `memory.oom_control` whenever memory is given: keep the spec's
        // setting unless the update says otherwise (runc keeps it too).
        let disable_oom_killer = match resources.memory().as_ref().and_then(|m| m.disable_oom_killer()) {
            Some(d) => d,
            None => self.spec_disables_oom_killer(),
        };
        let opt = ControllerOpt { resources, disable_oom_killer, oom_score_adj: None, freezer_state: None };
        manager.apply(&opt).map_err(|e| RuntimeError(chain(&e)))
    }

    fn delete(&mut self) -> Result<()> {
        let c = self.container()?;
        let result = c.delete(true).map_err(lc_error);
        if result.is_ok() {
            self.container = None;
            let _ = fs::remove_dir_all(self.paths.state_dir.join(LC_BUNDLE));
        }
        result
    }

    /// With the container's filter loaded by the shim, the exec'd process gets it too (as runc
    /// does; libcontainer 0.7 gives execs no filter at all), `CAP_SYS_ADMIN` borrowed in
    /// `process` (the shim's own file) as for the init.
    fn exec(&mut self, process: &Path, stdio: Stdio) -> Result<i32> {
        let filter = match &self.seccomp {
            None => None,
            Some(program) => {
                let err = |e: String| RuntimeError(format!("exec process {}: {e}", process.display()));
                let text = fs::read(process).map_err(|e| err(e.to_string()))?;
                let mut value: serde_json::Value = serde_json::from_slice(&text).map_err(|e| err(e.to_string()))?;
                let borrowed = seccomp::borrow_sys_admin(&mut value);
                if borrowed != Borrowed::default() {
                    let json = serde_json::to_vec(&value).map_err(|e| err(e.to_string()))?;
                    fs::write(process, json).map_err(|e| err(e.to_string()))?;
                }
                Some(Filter { program: program.clone(), borrowed })
            }
        };
        let pid = self
            .builder(stdio, filter)?
            .as_tenant()
            .with_detach(true)
            .with_process(Some(process))
            .build()
            .map_err(lc_error)?;
        Ok(pid.as_raw())
    }
}

/// `<dir>/config.json` (mode 0600: the environment may hold secrets), `dir` created 0700.
fn write_private(dir: &Path, json: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let mut f =
        fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(dir.join("config.json"))?;
    f.write_all(json)
}

/// A runc-compatible binary, run once per operation.
pub(crate) struct Runc {
    binary: PathBuf,
    paths: Paths,
    log: PathBuf,
}

impl Runc {
    pub(crate) fn new(binary: PathBuf, paths: Paths) -> Runc {
        let log = paths.state_dir.join("runc.log");
        Runc { binary, paths, log }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.binary);
        // SAFETY: reset_signals only makes async-signal-safe syscalls.
        unsafe {
            cmd.pre_exec(|| {
                crate::executor::reset_signals();
                Ok(())
            });
        }
        cmd.arg("--root").arg(&self.paths.root).arg("--log").arg(&self.log).arg("--log-format").arg("json");
        cmd
    }

    /// Runs `cmd` (stdio set by the caller, or null) and turns a failure into the runtime's
    /// error text (its log's last error, else its stderr).
    fn run(&self, mut cmd: Command, what: &str) -> Result<()> {
        let log_len = fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0);
        let out = cmd.output().map_err(|e| RuntimeError(format!("{}: {e}", self.binary.display())))?;
        if out.status.success() {
            return Ok(());
        }
        let from_log = fs::read(&self.log).ok().and_then(|all| {
            let tail = all.get(usize::try_from(log_len).unwrap_or(0)..)?.to_vec();
            String::from_utf8_lossy(&tail).lines().rev().find_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).ok()?;
                (v["level"] == "error").then(|| v["msg"].as_str().map(str::to_owned)).flatten()
            })
        });
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        let msg = from_log
            .or_else(|| (!stderr.is_empty()).then_some(stderr))
            .unwrap_or_else(|| format!("{} {what} failed: {}", self.binary.display(), out.status));
        Err(RuntimeError(msg))
    }

    fn simple(&self, args: &[&str]) -> Result<()> {
        let mut cmd = self.command();
        cmd.args(args).stdin(CmdStdio::null()).stdout(CmdStdio::null()).stderr(CmdStdio::piped());
        self.run(cmd, args[0])
    }

    /// Runs `cmd` with `stdio`, then reads the pid it wrote to `pid_file`.
    fn spawn_with(&self, mut cmd: Command, stdio: Stdio, pid_file: &Path, what: &str) -> Result<i32> {
        let _ = fs::remove_file(pid_file);
        match stdio {
            Stdio::Pipes { stdin, stdout, stderr } => {
                cmd.stdin(stdin).stdout(stdout).stderr(stderr);
            }
            Stdio::Console(path) => {
                cmd.arg("--console-socket").arg(path);
                cmd.stdin(CmdStdio::null()).stdout(CmdStdio::null()).stderr(CmdStdio::piped());
            }
        }
        cmd.arg(&self.paths.id);
        self.run(cmd, what)?;
        let text =
            fs::read_to_string(pid_file).map_err(|e| RuntimeError(format!("reading {}: {e}", pid_file.display())))?;
        text.trim().parse().map_err(|_| RuntimeError(format!("bad pid in {}: {text:?}", pid_file.display())))
    }
}

impl Runtime for Runc {
    fn create(&mut self, stdio: Stdio) -> Result<i32> {
        let pid_file = self.paths.state_dir.join("runc-init.pid");
        let mut cmd = self.command();
        cmd.arg("create").arg("--bundle").arg(&self.paths.bundle).arg("--pid-file").arg(&pid_file);
        self.spawn_with(cmd, stdio, &pid_file, "create")
    }

    fn start(&mut self) -> Result<()> {
        self.simple(&["start", &self.paths.id])
    }

    fn kill(&mut self, signal: i32, all: bool) -> Result<()> {
        let sig = signal.to_string();
        if all {
            self.simple(&["kill", "--all", &self.paths.id, &sig])
        } else {
            self.simple(&["kill", &self.paths.id, &sig])
        }
    }

    fn pause(&mut self) -> Result<()> {
        self.simple(&["pause", &self.paths.id])
    }

    fn resume(&mut self) -> Result<()> {
        self.simple(&["resume", &self.paths.id])
    }

    fn update(&mut self, resources: &LinuxResources) -> Result<()> {
        let json = serde_json::to_vec(resources).map_err(|e| RuntimeError(e.to_string()))?;
        let file = self.paths.state_dir.join("update-resources.json");
        fs::write(&file, json).map_err(|e| RuntimeError(format!("writing {}: {e}", file.display())))?;
        let file_arg = file.to_string_lossy().into_owned();
        let result = self.simple(&["update", "--resources", &file_arg, &self.paths.id]);
        let _ = fs::remove_file(&file);
        result
    }

    fn delete(&mut self) -> Result<()> {
        self.simple(&["delete", "--force", &self.paths.id])
    }

    fn exec(&mut self, process: &Path, stdio: Stdio) -> Result<i32> {
        let pid_file = self.paths.state_dir.join(format!("exec-{}.pid", std::process::id()));
        let mut cmd = self.command();
        cmd.arg("exec").arg("--detach").arg("--pid-file").arg(&pid_file).arg("--process").arg(process);
        let result = self.spawn_with(cmd, stdio, &pid_file, "exec");
        let _ = fs::remove_file(&pid_file);
        result
    }
}
