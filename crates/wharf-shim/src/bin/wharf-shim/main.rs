//! `wharf-shim`: the per-container shim binary. See the crate docs (`src/lib.rs`) for the
//! contract with the daemon; this file parses the command line, forks the long-lived shim away
//! from its caller, creates (and starts) the container and reports readiness.
//!
//! Process shape: the command the daemon runs forks once. The parent only relays the child's
//! readiness line to its stdout and exits (0 on `created`/`started`, 1 on `error:`), so the
//! daemon can treat `wharf-shim` like `runc create`: run it, read one line, reap it. The child
//! calls `setsid`, moves its stdio to `shim.log`, becomes a child subreaper, and stays
//! single-threaded for its whole life (libcontainer clones with raw `clone3`; see deps.md).

/// A line in the shim's diagnostics (`shim.log`, its stderr after detaching).
macro_rules! diag {
    ($($arg:tt)*) => {
        eprintln!("{} {}", $crate::exit::rfc3339_nano(std::time::SystemTime::now()), format_args!($($arg)*))
    };
}

mod executor;
mod exit;
mod runtime;
mod seccomp;
mod shim;
mod stdio;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use wharf_shim::protocol::{files, Ready};

use crate::runtime::{Libcontainer, Paths, Runc, Runtime};

/// Runs one container and keeps its stdio, logs and exit status.
#[derive(Debug, Parser)]
#[command(name = "wharf-shim", version)]
struct Cli {
    /// Container ID (the runtime's ID too).
    #[arg(long)]
    id: String,
    /// OCI bundle directory holding config.json (root.path absolute, or relative to the bundle).
    #[arg(long)]
    bundle: PathBuf,
    /// Directory for the shim's files (shim.pid, init.pid, shim.sock, exit.json, shim.log).
    #[arg(long)]
    state_dir: PathBuf,
    /// The runtime's state root (libcontainer's or runc's `--root`).
    #[arg(long)]
    runtime_root: PathBuf,
    /// `libcontainer` (embedded, default) or the path of a runc-compatible binary.
    #[arg(long, default_value = "libcontainer")]
    runtime: String,
    /// Log driver: json-file, local or none.
    #[arg(long, default_value = "json-file")]
    log_driver: String,
    /// Log file (not needed with `--log-driver none`).
    #[arg(long)]
    log_path: Option<PathBuf>,
    /// Log driver option `key=value` (repeatable): max-size, max-file, …
    #[arg(long = "log-opt", value_name = "KEY=VALUE")]
    log_opts: Vec<String>,
    /// Keep a stdin pipe open for `attach` (Docker's `OpenStdin`).
    #[arg(long)]
    stdin: bool,
    /// Create the container and report `created <pid>`; start it on a `start` request.
    #[arg(long)]
    wait_start: bool,
    /// Seconds the shim stays up after the container's exit record is written (answering
    /// `state`/`wait`), unless told `shutdown` earlier.
    #[arg(long, default_value_t = 5)]
    exit_grace: u64,
}

fn main() -> ExitCode {
    // Only 0, 1 and 2 are ours: anything else leaked by the caller would live as long as the
    // container (a daemon's listening socket, say).
    close_inherited_fds();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("invalid arguments").trim_start_matches("error: ");
            return report_and_exit(&Ready::Error(first.to_owned()));
        }
    };
    let setup = match prepare(&cli) {
        Ok(s) => s,
        Err(msg) => return report_and_exit(&Ready::Error(msg)),
    };
    let (ready_r, ready_w) = match rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC) {
        Ok(p) => p,
        Err(e) => return report_and_exit(&Ready::Error(format!("pipe: {e}"))),
    };
    // SAFETY: the process is single-threaded here (no runtime, no threads spawned yet).
    match unsafe { nix::unistd::fork() } {
        Err(e) => report_and_exit(&Ready::Error(format!("fork: {e}"))),
        Ok(nix::unistd::ForkResult::Parent { .. }) => {
            drop(ready_w);
            relay(ready_r)
        }
        Ok(nix::unistd::ForkResult::Child) => {
            drop(ready_r);
            child(cli, setup, ready_w)
        }
    }
}

/// What `prepare` checked and resolved before the fork.
struct Setup {
    bundle: PathBuf,
    state_dir: PathBuf,
    runtime_root: PathBuf,
    runtime_binary: Option<PathBuf>,
    log_opts: wharf_logs::LogOptions,
}

/// Validates the arguments (errors reach the caller before anything is created).
fn prepare(cli: &Cli) -> Result<Setup, String> {
    let bundle = fs::canonicalize(&cli.bundle).map_err(|e| format!("bundle {}: {e}", cli.bundle.display()))?;
    if !bundle.join("config.json").is_file() {
        return Err(format!("bundle {}: no config.json", bundle.display()));
    }
    fs::create_dir_all(&cli.state_dir).map_err(|e| format!("state dir {}: {e}", cli.state_dir.display()))?;
    let state_dir = fs::canonicalize(&cli.state_dir).map_err(|e| format!("state dir: {e}"))?;
    fs::create_dir_all(&cli.runtime_root).map_err(|e| format!("runtime root {}: {e}", cli.runtime_root.display()))?;
    let runtime_root = fs::canonicalize(&cli.runtime_root).map_err(|e| format!("runtime root: {e}"))?;
    let runtime_binary = match cli.runtime.as_str() {
        "libcontainer" | "" => None,
        other => Some(find_binary(other)?),
    };
    let mut map = BTreeMap::new();
    for opt in &cli.log_opts {
        let (k, v) = opt.split_once('=').ok_or_else(|| format!("invalid log opt {opt:?}: expected key=value"))?;
        map.insert(k.to_owned(), v.to_owned());
    }
    let log_opts = wharf_logs::parse_log_options(&cli.log_driver, &map).map_err(|e| e.to_string())?;
    if cli.log_driver != "none" && cli.log_path.is_none() {
        return Err(format!("--log-path is required with the {} log driver", cli.log_driver));
    }
    let sock = state_dir.join(files::SOCKET);
    if std::os::unix::net::UnixStream::connect(&sock).is_ok() {
        return Err(format!("a shim is already running for this state dir ({})", sock.display()));
    }
    Ok(Setup { bundle, state_dir, runtime_root, runtime_binary, log_opts })
}

fn find_binary(name: &str) -> Result<PathBuf, String> {
    if name.contains('/') {
        return Ok(PathBuf::from(name));
    }
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("runtime {name:?} not found in $PATH"))
}

/// Parent: copies the child's readiness line to stdout and exits with its verdict.
fn relay(ready_r: OwnedFd) -> ExitCode {
    // One line, not EOF: a created container's init still holds the pipe (close-on-exec only
    // closes it when the init executes the workload).
    let mut line = String::new();
    let _ = std::io::BufReader::new(fs::File::from(ready_r)).read_line(&mut line);
    let ready = Ready::parse(&line);
    report_and_exit(&ready)
}

fn report_and_exit(ready: &Ready) -> ExitCode {
    let mut out = std::io::stdout();
    let _ = out.write_all(ready.to_line().as_bytes());
    let _ = out.flush();
    match ready {
        Ready::Error(_) => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    }
}

/// Child: detaches, runs the container, serves until done.
fn child(cli: Cli, setup: Setup, ready_w: OwnedFd) -> ExitCode {
    let mut ready = Some(fs::File::from(ready_w));
    let mut report = |r: &Ready| {
        if let Some(mut f) = ready.take() {
            let _ = f.write_all(r.to_line().as_bytes());
        }
    };
    if let Err(e) = detach(&setup.state_dir) {
        report(&Ready::Error(format!("detaching: {e}")));
        return ExitCode::FAILURE;
    }
    diag!("shim {} for container {} (runtime {})", std::process::id(), cli.id, cli.runtime);
    let paths = Paths {
        id: cli.id.clone(),
        bundle: setup.bundle.clone(),
        root: setup.runtime_root.clone(),
        state_dir: setup.state_dir.clone(),
    };
    let runtime: Box<dyn Runtime> = match &setup.runtime_binary {
        None => Box::new(Libcontainer::new(paths)),
        Some(bin) => Box::new(Runc::new(bin.clone(), paths)),
    };
    let state_dir = setup.state_dir.clone();
    let cfg = shim::Config {
        id: cli.id.clone(),
        bundle: setup.bundle,
        state_dir: setup.state_dir,
        stdin: cli.stdin,
        wait_start: cli.wait_start,
        exit_grace: Duration::from_secs(cli.exit_grace),
        log_driver: cli.log_driver.clone(),
        log_path: cli.log_path.clone().unwrap_or_default(),
        log_opts: setup.log_opts,
    };
    let mut shim = match shim::Shim::new(cfg, runtime) {
        Ok(s) => s,
        Err(msg) => {
            diag!("start failed: {msg}");
            let _ = fs::remove_file(state_dir.join(files::SOCKET));
            let _ = fs::remove_file(state_dir.join(files::SHIM_PID));
            report(&Ready::Error(msg));
            return ExitCode::FAILURE;
        }
    };
    report(&shim.ready());
    shim.run();
    diag!("shim exits");
    ExitCode::SUCCESS
}

/// New session, stdio to `/dev/null` and `shim.log`, cwd `/`, child subreaper.
fn detach(state_dir: &Path) -> std::io::Result<()> {
    rustix::process::setsid()?;
    let null = fs::File::open("/dev/null")?;
    let log = fs::OpenOptions::new().create(true).append(true).open(state_dir.join(files::LOG))?;
    rustix::stdio::dup2_stdin(null.as_fd())?;
    rustix::stdio::dup2_stdout(log.as_fd())?;
    rustix::stdio::dup2_stderr(log.as_fd())?;
    std::env::set_current_dir("/")?;
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))?;
    Ok(())
}

fn close_inherited_fds() {
    // SAFETY: close_range on fds this program has not opened yet; no Rust object owns them.
    unsafe {
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
    }
}
