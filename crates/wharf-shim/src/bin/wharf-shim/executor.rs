//! The libcontainer workload executor of the shim: runc's checks and messages for the program to
//! run (`exec: "nosuch": executable file not found in $PATH`, which Docker users and tests look
//! for), and a clean signal state for the workload (the shim ignores SIGPIPE, as every Rust
//! program does, and ignored signals survive `execve`), and the terminal's size from
//! `process.consoleSize` set before the program runs (runc's init does this; youki's does not,
//! so a resize from the shim after it received the pty master raced the workload), and the
//! container's seccomp filter when the shim compiled it (`seccomp.rs`): loaded in `validate`,
//! where libcontainer would have loaded it (after the capabilities are set, before the init
//! reports ready and waits for `start`), so a failure fails the create and the workload never
//! runs unfiltered.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use libcontainer::oci_spec::runtime::Spec;
use libcontainer::workload::default::DefaultExecutor;
use libcontainer::workload::{Executor, ExecutorError, ExecutorValidationError};

use crate::seccomp::Filter;

/// Go's default `PATH` when the process has none (runc uses the same).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Validates like runc, executes like youki's default executor after resetting signals.
#[derive(Clone)]
pub(crate) struct ShimExecutor {
    /// The seccomp filter to load, when the shim took it out of the spec given to libcontainer.
    pub(crate) seccomp: Option<Filter>,
}

impl Executor for ShimExecutor {
    fn exec(&self, spec: &Spec) -> Result<(), ExecutorError> {
        reset_signals();
        apply_console_size(spec);
        DefaultExecutor {}.exec(spec)
    }

    fn validate(&self, spec: &Spec) -> Result<(), ExecutorValidationError> {
        let process = spec
            .process()
            .as_ref()
            .ok_or_else(|| ExecutorValidationError::ArgValidationError("spec did not contain process".into()))?;
        let Some(arg0) = process.args().as_ref().and_then(|a| a.first()) else {
            return Err(ExecutorValidationError::ArgValidationError("args must not be empty".into()));
        };
        let path = process
            .env()
            .as_ref()
            .and_then(|env| env.iter().find_map(|e| e.strip_prefix("PATH=")))
            .unwrap_or(DEFAULT_PATH);
        look_path(arg0, path).map_err(ExecutorValidationError::ArgValidationError)?;
        match &self.seccomp {
            Some(filter) => filter.install().map_err(ExecutorValidationError::ArgValidationError),
            None => Ok(()),
        }
    }
}

/// With a terminal, gives it the size the process was created with (stdin is the pty slave by
/// now). Without a size, or on failure, the terminal keeps its size: the shim still resizes the
/// master once it has it.
fn apply_console_size(spec: &Spec) {
    let Some(process) = spec.process().as_ref() else { return };
    if process.terminal() != Some(true) {
        return;
    }
    let Some(size) = process.console_size() else { return };
    let ws = libc::winsize {
        ws_row: u16::try_from(size.height()).unwrap_or(u16::MAX),
        ws_col: u16::try_from(size.width()).unwrap_or(u16::MAX),
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize built here; fd 0 is ours.
    unsafe {
        libc::ioctl(0, libc::TIOCSWINSZ, &ws);
    }
}

/// Go's `exec.LookPath`, with runc's error text.
fn look_path(name: &str, path_var: &str) -> Result<(), String> {
    if name.contains('/') {
        return find_executable(Path::new(name)).map_err(|e| format!("exec: {name:?}: {e}"));
    }
    for dir in path_var.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        if find_executable(&Path::new(dir).join(name)).is_ok() {
            return Ok(());
        }
    }
    Err(format!("exec: {name:?}: executable file not found in $PATH"))
}

fn find_executable(path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| {
        let text = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            _ => e.to_string(),
        };
        format!("stat {}: {text}", path.display())
    })?;
    if meta.is_dir() {
        return Err("is a directory".into());
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err("permission denied".into());
    }
    Ok(())
}

/// Every catchable signal back to its default action, none blocked: what a freshly executed
/// program expects. Uses the raw syscall, as glibc's `signal` refuses its reserved signals (32,
/// 33), which a caller may have left ignored. Async-signal-safe (used between fork and exec).
pub(crate) fn reset_signals() {
    // The kernel's `struct sigaction` (handler, flags, restorer, 8-byte mask) all zero is
    // SIG_DFL with no flags and an empty mask.
    let dfl = [0u64; 4];
    // SAFETY: plain syscalls on values built here.
    unsafe {
        for sig in 1..=libc::SIGRTMAX() {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::syscall(libc::SYS_rt_sigaction, sig, dfl.as_ptr(), std::ptr::null_mut::<u64>(), 8usize);
            }
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_path_messages() {
        assert_eq!(look_path("nosuch", "/bin").unwrap_err(), r#"exec: "nosuch": executable file not found in $PATH"#);
        assert_eq!(look_path("sh", "/nonexistent:/bin"), Ok(()));
        assert_eq!(look_path("/bin/sh", ""), Ok(()));
        assert_eq!(
            look_path("/nosuch/x", "").unwrap_err(),
            r#"exec: "/nosuch/x": stat /nosuch/x: no such file or directory"#
        );
        assert_eq!(look_path("/", "").unwrap_err(), r#"exec: "/": is a directory"#);
    }
}
