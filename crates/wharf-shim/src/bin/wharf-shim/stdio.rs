//! The container's side of stdio: pipes (the shim keeps the other ends, non-blocking) or a
//! console socket on which the runtime sends the pty master; and binding unix sockets whose
//! path is longer than `sun_path` allows.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags};
use rustix::fs::{fcntl_setfl, OFlags};
use rustix::net::{recvmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};

use crate::runtime::Stdio;

/// The shim's ends of a process's stdio.
pub(crate) struct ShimSide {
    /// Stdout pipe read end, or the pty master (TTY).
    pub(crate) out: Option<OwnedFd>,
    /// Stderr pipe read end (none with a TTY).
    pub(crate) err: Option<OwnedFd>,
    /// Stdin pipe write end, or a dup of the pty master (TTY); none without stdin.
    pub(crate) stdin: Option<OwnedFd>,
}

/// Plain pipes for a process: its ends (stdin from `/dev/null` unless `with_stdin`) and ours.
pub(crate) fn pipes(with_stdin: bool) -> io::Result<(Stdio, ShimSide)> {
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    let (stdin_theirs, stdin_ours) = if with_stdin {
        let (r, w) = pipe()?;
        (r, Some(w))
    } else {
        (std::fs::File::open("/dev/null")?.into(), None)
    };
    for fd in [Some(&out_r), Some(&err_r), stdin_ours.as_ref()].into_iter().flatten() {
        set_nonblocking(fd)?;
    }
    Ok((
        Stdio::Pipes { stdin: stdin_theirs, stdout: out_w, stderr: err_w },
        ShimSide { out: Some(out_r), err: Some(err_r), stdin: stdin_ours },
    ))
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?)
}

pub(crate) fn set_nonblocking(fd: &impl AsFd) -> io::Result<()> {
    let flags = rustix::fs::fcntl_getfl(fd)?;
    Ok(fcntl_setfl(fd, flags | OFlags::NONBLOCK)?)
}

/// A listening console socket at `path`; removed when dropped.
pub(crate) struct ConsoleSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl ConsoleSocket {
    pub(crate) fn bind(path: PathBuf) -> io::Result<ConsoleSocket> {
        let _ = std::fs::remove_file(&path);
        let listener = bind_unix(&path)?;
        Ok(ConsoleSocket { listener, path })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Waits up to `timeout` for the runtime to connect and send the pty master.
    pub(crate) fn receive_master(&self, timeout: Duration) -> io::Result<OwnedFd> {
        let deadline = Instant::now() + timeout;
        wait_readable(&self.listener, deadline)?;
        let (conn, _) = self.listener.accept()?;
        wait_readable(&conn, deadline)?;
        recv_fd(&conn)
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn wait_readable(fd: &impl AsFd, deadline: Instant) -> io::Result<()> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out waiting for the pty master"));
        }
        let ts = rustix::time::Timespec::try_from(left).map_err(|_| io::Error::other("bad timeout"))?;
        let mut fds = [PollFd::new(fd, PollFlags::IN)];
        match poll(&mut fds, Some(&ts)) {
            Ok(0) => continue,
            Ok(_) => return Ok(()),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Receives one fd sent with SCM_RIGHTS (runc's and youki's console protocol: the payload is the
/// pty's name, the fd its master).
fn recv_fd(conn: &UnixStream) -> io::Result<OwnedFd> {
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut buf = [0u8; 4096];
    let mut iov = [io::IoSliceMut::new(&mut buf)];
    recvmsg(conn, &mut iov, &mut control, RecvFlags::CMSG_CLOEXEC)?;
    for msg in control.drain() {
        if let RecvAncillaryMessage::ScmRights(mut fds) = msg {
            if let Some(fd) = fds.next() {
                return Ok(fd);
            }
        }
    }
    Err(io::Error::other("the runtime sent no pty master"))
}

/// Binds a unix listener at `path`, even when the path is longer than `sun_path` (108 bytes):
/// then it binds the file name relative to its directory (the shim is single-threaded, so the
/// brief `chdir` is safe).
pub(crate) fn bind_unix(path: &Path) -> io::Result<UnixListener> {
    if path.as_os_str().len() < 100 {
        return UnixListener::bind(path);
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return UnixListener::bind(path);
    };
    let old = std::env::current_dir()?;
    std::env::set_current_dir(dir)?;
    let result = UnixListener::bind(name);
    std::env::set_current_dir(old)?;
    result
}
