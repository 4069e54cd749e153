//! Starting a proxy the way the daemon does: detached in its own session (so it outlives the
//! daemon), stdio on `/dev/null`, the write end of a pipe passed as `--ready-fd`, and its one
//! readiness line turned into dockerd's error texts.

use std::ffi::OsStr;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::pipe::{pipe_with, PipeFlags};
use wharf_types::{Classify, ErrorKind};

use crate::{ready, Args, ProxySpec};

/// How long dockerd waits for docker-proxy's readiness report.
pub const READY_TIMEOUT: Duration = Duration::from_secs(16);

/// Why a proxy did not start; the texts are dockerd's.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The host address could not be bound (moby's bridge driver text:
    /// `failed to bind host port for 0.0.0.0:8080:172.18.0.2:80/tcp: address already in use`).
    #[error("failed to bind host port for {spec}: {cause}")]
    Bind {
        /// The mapping.
        spec: ProxySpec,
        /// The errno text, e.g. `address already in use`.
        cause: String,
    },
    /// Any other failure the proxy reported on its readiness pipe.
    #[error("error starting userland proxy: {0}")]
    Start(String),
    /// No report within the timeout (the proxy was killed).
    #[error("timed out starting the userland proxy")]
    Timeout,
    /// The proxy closed its readiness pipe without a report.
    #[error("error starting userland proxy: exited without reporting ({0})")]
    Exited(ExitStatus),
    /// The proxy could not be run at all (missing binary, no pipe, …).
    #[error("error starting userland proxy: {0}")]
    Spawn(#[source] io::Error),
}

impl Classify for Error {
    fn kind(&self) -> ErrorKind {
        // dockerd answers a failed port mapping with a 500 (a system error), whatever the cause.
        ErrorKind::Internal
    }
}

/// Runs `program` (the `wharf-proxy` binary) with `args` — its `ready_fd` replaced by a fresh
/// pipe — in a new session with stdio on `/dev/null`, and waits up to `timeout` for its
/// readiness line (and for the proxy to close the pipe). On `ok` the running child is
/// returned: stop it with SIGTERM (or SIGINT) and `wait` for it. On anything else the child
/// has been reaped and the error says why. Blocking: async callers run it on a blocking
/// thread.
pub fn spawn(program: impl AsRef<OsStr>, args: &Args, timeout: Duration) -> Result<Child, Error> {
    let (reader, writer) = pipe_with(PipeFlags::CLOEXEC).map_err(|e| Error::Spawn(e.into()))?;
    let ready_fd = writer.as_raw_fd();
    let mut args = args.clone();
    args.ready_fd = Some(ready_fd);

    let mut cmd = Command::new(program);
    cmd.args(args.to_args()).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    // SAFETY: between fork and exec only async-signal-safe calls (setsid, fcntl) run. The pipe
    // is close-on-exec everywhere else, so only this child inherits it.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 || libc::fcntl(ready_fd, libc::F_SETFD, 0) < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(Error::Spawn)?;
    drop(writer);

    let fail = |child: &mut Child, err: Error| {
        let _ = child.kill();
        let _ = child.wait();
        Err(err)
    };
    match read_report(reader, timeout) {
        Ok(Some(line)) => match ready::parse_line(&line) {
            Ok(()) => Ok(child),
            Err(text) => {
                let err = match ready::bind_cause(&text) {
                    Some(cause) => Error::Bind { spec: args.spec, cause: cause.to_string() },
                    None => Error::Start(text),
                };
                // The proxy exits right after reporting a failure; reap it.
                let _ = child.wait();
                Err(err)
            }
        },
        Ok(None) => match child.wait() {
            Ok(status) => Err(Error::Exited(status)),
            Err(e) => Err(Error::Spawn(e)),
        },
        Err(e) if e.kind() == io::ErrorKind::TimedOut => fail(&mut child, Error::Timeout),
        Err(e) => fail(&mut child, Error::Spawn(e)),
    }
}

/// Reads the readiness report: the first line. The proxy closes the pipe right after writing
/// it, so this reads on to EOF — when it returns, the proxy holds no end of the pipe any more.
/// Until `timeout`: a line that came but was not followed by EOF still counts. `None` for EOF
/// without any byte. A report is a line of a few hundred bytes; reading stops at 4 KiB.
fn read_report(reader: OwnedFd, timeout: Duration) -> io::Result<Option<String>> {
    let deadline = Instant::now() + timeout;
    let mut file = std::fs::File::from(reader);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    let first_line = |buf: &[u8]| {
        let end = buf.iter().position(|b| *b == b'\n').unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            if buf.contains(&b'\n') {
                return Ok(Some(first_line(&buf)));
            }
            return Err(io::ErrorKind::TimedOut.into());
        }
        let ts = Timespec { tv_sec: left.as_secs() as _, tv_nsec: left.subsec_nanos() as _ };
        let mut fds = [PollFd::new(&file, PollFlags::IN)];
        match poll(&mut fds, Some(&ts)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
        let n = match file.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        buf.extend_from_slice(&chunk[..n]);
        if n == 0 || buf.len() >= 4096 {
            return Ok((!buf.is_empty()).then(|| first_line(&buf)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Proto;

    #[test]
    fn error_texts_are_dockerd_s() {
        let spec = ProxySpec {
            proto: Proto::Tcp,
            host_ip: "0.0.0.0".parse().unwrap(),
            host_port: 8080,
            container_ip: "172.18.0.2".parse().unwrap(),
            container_port: 80,
        };
        let bind = Error::Bind { spec, cause: "address already in use".into() };
        assert_eq!(
            bind.to_string(),
            "failed to bind host port for 0.0.0.0:8080:172.18.0.2:80/tcp: address already in use"
        );
        assert_eq!(Error::Timeout.to_string(), "timed out starting the userland proxy");
        assert_eq!(Error::Start("x".into()).to_string(), "error starting userland proxy: x");
        assert_eq!(bind.kind(), ErrorKind::Internal);
    }

    #[test]
    fn missing_binary_is_a_spawn_error() {
        let spec = ProxySpec {
            proto: Proto::Tcp,
            host_ip: "127.0.0.1".parse().unwrap(),
            host_port: 1,
            container_ip: "127.0.0.1".parse().unwrap(),
            container_port: 2,
        };
        let err = spawn("/nonexistent/wharf-proxy", &Args::new(spec), Duration::from_secs(1)).unwrap_err();
        assert!(matches!(err, Error::Spawn(_)), "{err:?}");
    }

    #[test]
    fn reports_are_read_to_the_newline_or_eof() {
        let (r, w) = pipe_with(PipeFlags::CLOEXEC).unwrap();
        rustix::io::write(&w, b"ok\nrest").unwrap();
        drop(w);
        assert_eq!(read_report(r, Duration::from_secs(1)).unwrap().as_deref(), Some("ok"));

        // A line without EOF counts once the time is up.
        let (r, w) = pipe_with(PipeFlags::CLOEXEC).unwrap();
        rustix::io::write(&w, b"ok\n").unwrap();
        assert_eq!(read_report(r, Duration::from_millis(50)).unwrap().as_deref(), Some("ok"));
        drop(w);

        let (r, w) = pipe_with(PipeFlags::CLOEXEC).unwrap();
        rustix::io::write(&w, b"no newline").unwrap();
        drop(w);
        assert_eq!(read_report(r, Duration::from_secs(1)).unwrap().as_deref(), Some("no newline"));

        let (r, w) = pipe_with(PipeFlags::CLOEXEC).unwrap();
        drop(w);
        assert_eq!(read_report(r, Duration::from_secs(1)).unwrap(), None);

        let (r, _w) = pipe_with(PipeFlags::CLOEXEC).unwrap();
        let err = read_report(r, Duration::from_millis(50)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
