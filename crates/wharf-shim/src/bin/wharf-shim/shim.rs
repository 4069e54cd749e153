//! The shim proper: creates the container, then runs a single-threaded `poll(2)` loop over the
//! container's output, its stdin, the control socket and its clients, and a self-pipe woken by
//! SIGCHLD. It reaps every child (it is a subreaper), records the init's exit, and ends after
//! the exit grace period or a `shutdown` request.
//!
//! Output path: a chunk read from the init's stdout/stderr (or pty master) is cut into lines for
//! the log driver, then appended to the write buffer of every attach client that wants that
//! stream (as a Docker frame, or raw with a TTY). When one client's buffer passes
//! [`OUT_HIGH`], the shim stops reading that process's output until it drains: a slow attach
//! client slows the container down rather than losing output, as in Docker.
//!
//! Children: libcontainer clones the container's processes with `CLONE_PARENT` and no exit
//! signal, so their death sends the shim no SIGCHLD and a plain `waitpid(-1)` does not see
//! them. The shim therefore polls a pidfd of each process it runs and reaps with `__WALL`;
//! SIGCHLD (runc's processes, orphans it adopts as a subreaper) triggers the same reaping.
//!
//! Exit path: pidfd/SIGCHLD → reap → note the status, read the OOM counter, SIGKILL whatever else
//! is left in the container (a container sharing the host's pid namespace) → drain the output
//! until EOF (at most [`DRAIN_TIMEOUT`]) → flush the logs → delete the container from the
//! runtime → write exit.json → answer `wait`s and end attach streams → linger.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::linux::fs::MetadataExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use libcontainer::oci_spec::runtime::LinuxResources;
use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::Errno;
use rustix::net::{send, SendFlags};
use rustix::termios::{tcsetwinsize, Winsize};
use wharf_logs::{LineSplitter, LogWriter, Stream};
use wharf_shim::protocol::{
    files, frame_header, ErrorKind, ExecState, ExitRecord, FrameStream, Ready, Request, Response, State, Status,
    PROTOCOL_VERSION,
};

use crate::exit::{exit_code, rfc3339_nano, unix_nanos, write_atomic, OomCounter};
use crate::runtime::{Runtime, RuntimeError};
use crate::stdio::{self, ConsoleSocket, ShimSide};

/// Bytes pending for one attach client above which the process's output is not read.
const OUT_HIGH: usize = 1 << 20;
/// Bytes pending for a process's stdin above which clients are not read.
const STDIN_HIGH: usize = 1 << 20;
/// How long the output of an exited process may stay silent before its streams are cut
/// (something outside the container holds the pipe).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// How long an exited process's output may be held back by slow attach clients before the
/// streams are cut anyway.
const DRAIN_LIMIT: Duration = Duration::from_secs(60);
/// How long the runtime gets to send a pty master.
const CONSOLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest control request line.
const MAX_REQUEST: usize = 1 << 20;
/// Quiet time after which the shim trims its resident memory (see [`trim_resident`]).
const IDLE_TRIM: Duration = Duration::from_millis(500);

/// What the shim was told on its command line.
pub(crate) struct Config {
    pub(crate) id: String,
    pub(crate) bundle: PathBuf,
    pub(crate) state_dir: PathBuf,
    pub(crate) stdin: bool,
    pub(crate) wait_start: bool,
    pub(crate) exit_grace: Duration,
    pub(crate) log_driver: String,
    pub(crate) log_path: PathBuf,
    pub(crate) log_opts: wharf_logs::LogOptions,
}

/// Which process a stream or a request is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Init,
    Exec(String),
}

/// A process whose stdio the shim holds: the init or an exec.
struct Proc {
    pid: i32,
    tty: bool,
    io: ShimSide,
    stdin_buf: Vec<u8>,
    /// Close stdin once `stdin_buf` is written.
    stdin_closing: bool,
    /// Readable once the process has exited.
    pidfd: Option<OwnedFd>,
    started_at: Option<SystemTime>,
    /// The raw wait status and when it was collected.
    reaped: Option<(i32, SystemTime)>,
    /// Output is drained until then (pushed back while output flows).
    drain_until: Option<Instant>,
    /// Output is cut at the latest then.
    drain_limit: Option<Instant>,
    exit: Option<ExitRecord>,
}

impl Proc {
    fn new(pid: i32, tty: bool, io: ShimSide) -> Proc {
        Proc {
            pid,
            tty,
            io,
            stdin_buf: Vec::new(),
            stdin_closing: false,
            pidfd: pidfd_of(pid),
            started_at: None,
            reaped: None,
            drain_until: None,
            drain_limit: None,
            exit: None,
        }
    }

    fn outputs_done(&self) -> bool {
        self.io.out.is_none() && self.io.err.is_none()
    }

    fn close_stdin(&mut self) {
        self.stdin_closing = true;
        if self.stdin_buf.is_empty() {
            self.io.stdin = None;
        }
    }

    fn output_fd(&self, stream: usize) -> Option<&OwnedFd> {
        if stream == 0 {
            self.io.out.as_ref()
        } else {
            self.io.err.as_ref()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Control,
    Attach { target: Target, stdin: bool, stdout: bool, stderr: bool, stdin_once: bool },
}

struct Client {
    stream: UnixStream,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    wpos: usize,
    mode: Mode,
    /// The peer half-closed (or closed).
    read_closed: bool,
    /// A `wait`/`exec_wait` to answer before reading further requests.
    waiting: Option<Target>,
    /// Close once `wbuf` is written.
    closing: bool,
    /// Drop now.
    dead: bool,
}

impl Client {
    fn pending(&self) -> usize {
        self.wbuf.len() - self.wpos
    }

    fn respond(&mut self, resp: &Response) {
        let mut line = serde_json::to_vec(resp).unwrap_or_else(|_| b"{\"ok\":false}".to_vec());
        line.push(b'\n');
        self.wbuf.extend_from_slice(&line);
        self.flush();
    }

    /// Writes what it can without blocking.
    fn flush(&mut self) {
        while self.wpos < self.wbuf.len() {
            match send(&self.stream, &self.wbuf[self.wpos..], SendFlags::NOSIGNAL | SendFlags::DONTWAIT) {
                Ok(n) => self.wpos += n,
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => break,
                Err(_) => {
                    self.dead = true;
                    break;
                }
            }
        }
        if self.wpos == self.wbuf.len() {
            self.wbuf.clear();
            self.wpos = 0;
        } else if self.wpos > (1 << 16) {
            self.wbuf.drain(..self.wpos);
            self.wpos = 0;
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Signals,
    Listener,
    Exited(Target),
    Output(Target, usize),
    Stdin(Target),
    Client(u64),
}

pub(crate) struct Shim {
    cfg: Config,
    runtime: Box<dyn Runtime>,
    status: Status,
    init: Proc,
    execs: BTreeMap<String, Proc>,
    log: Box<dyn LogWriter>,
    splitters: [LineSplitter; 2],
    listener: UnixListener,
    /// Device and inode of the socket file, to remove it at exit only if it is still ours.
    socket_id: (u64, u64),
    clients: BTreeMap<u64, Client>,
    next_client: u64,
    signals: UnixStream,
    oom: Option<OomCounter>,
    oom_killed: bool,
    /// The container has its own PID namespace: when its init dies the kernel kills the rest,
    /// so no `kill --all` (a freeze and thaw of the cgroup) is needed.
    own_pidns: bool,
    exit: Option<ExitRecord>,
    linger_until: Option<Instant>,
    /// When the shim has been quiet long enough to trim its resident memory.
    trim_due: Option<Instant>,
    quit: bool,
    buf: Vec<u8>,
}

impl Shim {
    /// Creates (and unless `--wait-start`, starts) the container. On failure nothing is left
    /// running and the error is the text to report.
    pub(crate) fn new(cfg: Config, mut runtime: Box<dyn Runtime>) -> Result<Shim, String> {
        let spec = read_spec(&cfg.bundle)?;
        let tty = spec.pointer("/process/terminal").and_then(|v| v.as_bool()).unwrap_or(false);
        let console_size = spec.pointer("/process/consoleSize").and_then(winsize_of);
        let own_pidns = spec.pointer("/linux/namespaces").and_then(|v| v.as_array()).is_some_and(|ns| {
            ns.iter().any(|n| n["type"] == "pid" && n.get("path").and_then(|p| p.as_str()).is_none_or(str::is_empty))
        });

        write_atomic(&cfg.state_dir.join(files::SHIM_PID), std::process::id().to_string().as_bytes())
            .map_err(|e| format!("writing shim.pid: {e}"))?;
        let _ = fs::remove_file(cfg.state_dir.join(files::EXIT));
        let _ = fs::remove_file(cfg.state_dir.join(files::INIT_PID));
        let sock_path = cfg.state_dir.join(files::SOCKET);
        let _ = fs::remove_file(&sock_path);
        let listener = stdio::bind_unix(&sock_path).map_err(|e| format!("binding {}: {e}", sock_path.display()))?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let meta = fs::symlink_metadata(&sock_path).map_err(|e| e.to_string())?;
        let socket_id = (meta.st_dev(), meta.st_ino());

        let log = wharf_logs::open_writer(&cfg.log_driver, &cfg.log_path, &cfg.log_opts)
            .map_err(|e| format!("opening the log: {e}"))?;

        let (pid, io) = if tty {
            let console =
                ConsoleSocket::bind(cfg.state_dir.join("console.sock")).map_err(|e| format!("console socket: {e}"))?;
            let pid = runtime.create(crate::runtime::Stdio::Console(console.path().to_owned())).map_err(|e| e.0)?;
            let io = match console.receive_master(CONSOLE_TIMEOUT).and_then(|m| tty_side(m, cfg.stdin)) {
                Ok(io) => io,
                Err(e) => {
                    abort(runtime.as_mut());
                    return Err(format!("receiving the pty master: {e}"));
                }
            };
            if let (Some(ws), Some(m)) = (console_size, io.out.as_ref()) {
                let _ = tcsetwinsize(m, ws);
            }
            (pid, io)
        } else {
            let (theirs, ours) = stdio::pipes(cfg.stdin).map_err(|e| format!("pipes: {e}"))?;
            let pid = runtime.create(theirs).map_err(|e| e.0)?;
            (pid, ours)
        };
        diag!("created init pid {pid}");
        let oom = OomCounter::for_pid(pid);
        if let Err(e) = write_atomic(&cfg.state_dir.join(files::INIT_PID), pid.to_string().as_bytes()) {
            abort(runtime.as_mut());
            return Err(format!("writing init.pid: {e}"));
        }

        let (signals, sig_w) = UnixStream::pair().map_err(|e| e.to_string())?;
        signals.set_nonblocking(true).map_err(|e| e.to_string())?;
        let mut init = Proc::new(pid, tty, io);
        let mut status = Status::Created;
        if !cfg.wait_start {
            if let Err(e) = runtime.start() {
                abort(runtime.as_mut());
                return Err(e.0);
            }
            init.started_at = Some(SystemTime::now());
            status = Status::Running;
        }
        // Handlers only now: libcontainer is done cloning, and no syscall of it is interrupted.
        // Handlers (unlike ignored signals) do not survive exec, so nothing leaks into
        // processes started later. A SIGCHLD that came before is caught by the first reap.
        for sig in [libc::SIGCHLD, libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            let w = sig_w.try_clone().map_err(|e| e.to_string())?;
            signal_hook::low_level::pipe::register(sig, w).map_err(|e| e.to_string())?;
        }
        drop(sig_w);

        Ok(Shim {
            cfg,
            runtime,
            status,
            init,
            execs: BTreeMap::new(),
            log,
            splitters: [LineSplitter::new(), LineSplitter::new()],
            listener,
            socket_id,
            clients: BTreeMap::new(),
            next_client: 0,
            signals,
            oom,
            oom_killed: false,
            own_pidns,
            exit: None,
            linger_until: None,
            trim_due: None,
            quit: false,
            buf: vec![0; 64 * 1024],
        })
    }

    /// The readiness line for the spawner.
    pub(crate) fn ready(&self) -> Ready {
        if self.cfg.wait_start {
            Ready::Created(self.init.pid)
        } else {
            Ready::Started(self.init.pid)
        }
    }

    /// Serves until the shim should exit.
    pub(crate) fn run(&mut self) {
        if !self.cfg.wait_start {
            trim_resident();
        }
        self.reap();
        self.check_procs();
        while !self.quit {
            let timeout = self.next_deadline().map(|d| d.saturating_duration_since(Instant::now()));
            let ready = match self.poll_once(timeout) {
                Ok(r) => r,
                Err(e) => {
                    diag!("poll: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            };
            let now = Instant::now();
            if ready.is_empty() && self.trim_due.is_some_and(|t| now >= t) {
                self.trim_due = None;
                trim_resident();
            } else if !ready.is_empty() {
                self.trim_due = Some(now + IDLE_TRIM);
            }
            for (token, revents) in ready {
                self.handle(token, revents);
            }
            self.check_procs();
            self.sweep_clients();
            if self.linger_until.is_some_and(|t| Instant::now() >= t) {
                diag!("exit grace period over");
                self.quit = true;
            }
        }
        self.shutdown();
    }

    fn next_deadline(&self) -> Option<Instant> {
        let procs = self.procs().filter(|(_, p)| p.exit.is_none());
        let drains = procs.filter_map(|(t, p)| if self.blocked(&t) { p.drain_limit } else { p.drain_until });
        drains.chain(self.linger_until).chain(self.trim_due).min()
    }

    /// The init and the execs, with their targets.
    fn procs(&self) -> impl Iterator<Item = (Target, &Proc)> {
        std::iter::once((Target::Init, &self.init))
            .chain(self.execs.iter().map(|(id, p)| (Target::Exec(id.clone()), p)))
    }

    /// Whether an attach client of `target` has so much unsent output that its output is not
    /// read for now.
    fn blocked(&self, target: &Target) -> bool {
        self.clients
            .values()
            .any(|c| c.pending() > OUT_HIGH && matches!(&c.mode, Mode::Attach { target: t, .. } if t == target))
    }

    fn poll_once(&self, timeout: Option<Duration>) -> io::Result<Vec<(Token, PollFlags)>> {
        let mut tokens = Vec::new();
        let mut fds = Vec::new();
        tokens.push(Token::Signals);
        fds.push(PollFd::new(&self.signals, PollFlags::IN));
        tokens.push(Token::Listener);
        fds.push(PollFd::new(&self.listener, PollFlags::IN));
        for (target, p) in self.procs() {
            if let (Some(fd), None) = (p.pidfd.as_ref(), p.reaped) {
                tokens.push(Token::Exited(target.clone()));
                fds.push(PollFd::new(fd, PollFlags::IN));
            }
            if !self.blocked(&target) {
                for stream in 0..2 {
                    if let Some(fd) = p.output_fd(stream) {
                        tokens.push(Token::Output(target.clone(), stream));
                        fds.push(PollFd::new(fd, PollFlags::IN));
                    }
                }
            }
            if let (Some(fd), false) = (p.io.stdin.as_ref(), p.stdin_buf.is_empty()) {
                tokens.push(Token::Stdin(target.clone()));
                fds.push(PollFd::new(fd, PollFlags::OUT));
            }
        }
        for (id, c) in &self.clients {
            let mut flags = PollFlags::empty();
            if !c.read_closed && c.waiting.is_none() && !self.stdin_full(c) {
                flags |= PollFlags::IN;
            }
            if c.pending() > 0 {
                flags |= PollFlags::OUT;
            }
            tokens.push(Token::Client(*id));
            fds.push(PollFd::new(&c.stream, flags));
        }
        let ts = match timeout {
            Some(d) => Some(rustix::time::Timespec::try_from(d).map_err(|_| io::Error::other("bad timeout"))?),
            None => None,
        };
        match poll(&mut fds, ts.as_ref()) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(tokens.into_iter().zip(fds.iter().map(|f| f.revents())).filter(|(_, r)| !r.is_empty()).collect())
    }

    /// Whether `c` feeds a stdin whose buffer is full.
    fn stdin_full(&self, c: &Client) -> bool {
        match &c.mode {
            Mode::Attach { target, stdin: true, .. } => {
                self.proc(target).is_some_and(|p| p.stdin_buf.len() > STDIN_HIGH)
            }
            _ => false,
        }
    }

    fn proc(&self, target: &Target) -> Option<&Proc> {
        match target {
            Target::Init => Some(&self.init),
            Target::Exec(id) => self.execs.get(id),
        }
    }

    fn proc_mut(&mut self, target: &Target) -> Option<&mut Proc> {
        match target {
            Target::Init => Some(&mut self.init),
            Target::Exec(id) => self.execs.get_mut(id),
        }
    }

    fn handle(&mut self, token: Token, revents: PollFlags) {
        match token {
            Token::Signals => {
                let mut b = [0u8; 64];
                while matches!((&self.signals).read(&mut b), Ok(n) if n > 0) {}
                self.reap();
            }
            Token::Exited(_) => self.reap(),
            Token::Listener => self.accept(),
            Token::Output(target, stream) => self.read_output(&target, stream),
            Token::Stdin(target) => self.write_stdin(&target),
            Token::Client(id) => self.client_event(id, revents),
        }
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    let id = self.next_client;
                    self.next_client += 1;
                    self.clients.insert(
                        id,
                        Client {
                            stream,
                            rbuf: Vec::new(),
                            wbuf: Vec::new(),
                            wpos: 0,
                            mode: Mode::Control,
                            read_closed: false,
                            waiting: None,
                            closing: false,
                            dead: false,
                        },
                    );
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
    }

    // ---- container output ----

    fn read_output(&mut self, target: &Target, stream: usize) {
        let mut buf = std::mem::take(&mut self.buf);
        let Some(fd) = self.proc(target).and_then(|p| p.output_fd(stream)) else {
            self.buf = buf;
            return;
        };
        let result = rustix::io::read(fd, &mut buf);
        match result {
            Ok(0) | Err(Errno::IO) => self.output_eof(target, stream),
            Ok(n) => self.deliver(target, stream, &buf[..n]),
            Err(Errno::AGAIN) | Err(Errno::INTR) => {}
            Err(e) => {
                diag!("reading output of {target:?}: {e}");
                self.output_eof(target, stream);
            }
        }
        self.buf = buf;
    }

    fn output_eof(&mut self, target: &Target, stream: usize) {
        if let Some(p) = self.proc_mut(target) {
            if stream == 0 {
                p.io.out = None;
            } else {
                p.io.err = None;
            }
        }
    }

    /// Logs (init only) and fans out one chunk of output.
    fn deliver(&mut self, target: &Target, stream: usize, data: &[u8]) {
        let tty = self.proc(target).is_some_and(|p| p.tty);
        if let Some(p) = self.proc_mut(target).filter(|p| p.reaped.is_some()) {
            p.drain_until = Some(Instant::now() + DRAIN_TIMEOUT);
        }
        if *target == Target::Init {
            let now = unix_nanos(SystemTime::now());
            let s = if stream == 0 { Stream::Stdout } else { Stream::Stderr };
            for line in self.splitters[stream].push(data) {
                if let Err(e) = self.log.write(s, line, now) {
                    diag!("log write: {e}");
                }
            }
            if let Err(e) = self.log.flush() {
                diag!("log flush: {e}");
            }
        }
        for c in self.clients.values_mut() {
            let Mode::Attach { target: t, stdout, stderr, .. } = &c.mode else { continue };
            if t != target || c.closing {
                continue;
            }
            let wanted = if stream == 0 { *stdout } else { *stderr };
            if !wanted {
                continue;
            }
            if !tty {
                let fs = if stream == 0 { FrameStream::Stdout } else { FrameStream::Stderr };
                c.wbuf.extend_from_slice(&frame_header(fs, data.len() as u32));
            }
            c.wbuf.extend_from_slice(data);
            c.flush();
        }
    }

    fn write_stdin(&mut self, target: &Target) {
        let Some(p) = self.proc_mut(target) else { return };
        let Some(fd) = p.io.stdin.as_ref() else {
            p.stdin_buf.clear();
            return;
        };
        match rustix::io::write(fd, &p.stdin_buf) {
            Ok(n) => {
                p.stdin_buf.drain(..n);
            }
            Err(Errno::AGAIN) | Err(Errno::INTR) => {}
            Err(_) => {
                // EPIPE: nobody reads stdin any more.
                p.stdin_buf.clear();
                p.io.stdin = None;
            }
        }
        if p.stdin_buf.is_empty() && p.stdin_closing {
            p.io.stdin = None;
        }
    }

    // ---- clients ----

    fn client_event(&mut self, id: u64, revents: PollFlags) {
        if revents.contains(PollFlags::OUT) {
            if let Some(c) = self.clients.get_mut(&id) {
                c.flush();
            }
        }
        if revents.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
            self.client_read(id);
        }
        if revents.intersects(PollFlags::HUP | PollFlags::ERR) {
            if let Some(c) = self.clients.get_mut(&id) {
                if c.read_closed || revents.contains(PollFlags::ERR) {
                    c.dead = true;
                }
            }
        }
    }

    fn client_read(&mut self, id: u64) {
        let mut buf = std::mem::take(&mut self.buf);
        let Some(c) = self.clients.get_mut(&id) else {
            self.buf = buf;
            return;
        };
        if c.read_closed {
            self.buf = buf;
            return;
        }
        let n = match (&c.stream).read(&mut buf) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {
                self.buf = buf;
                return;
            }
            Err(_) => {
                c.dead = true;
                self.buf = buf;
                return;
            }
        };
        if n == 0 {
            c.read_closed = true;
            // The end of an attach's input closes the process's stdin with `StdinOnce`, but
            // never on a TTY: there it is a detach (dockerd's `CloseStdin && !TTY`).
            if let Mode::Attach { target, stdin: true, stdin_once: true, .. } = c.mode.clone() {
                if let Some(p) = self.proc_mut(&target).filter(|p| !p.tty) {
                    p.close_stdin();
                }
            }
            self.buf = buf;
            return;
        }
        match c.mode.clone() {
            Mode::Control => {
                c.rbuf.extend_from_slice(&buf[..n]);
                self.buf = buf;
                self.process_requests(id);
            }
            Mode::Attach { target, stdin, .. } => {
                if stdin {
                    self.feed_stdin(&target, &buf[..n]);
                }
                self.buf = buf;
            }
        }
    }

    fn feed_stdin(&mut self, target: &Target, data: &[u8]) {
        if let Some(p) = self.proc_mut(target) {
            if p.io.stdin.is_some() && !p.stdin_closing {
                p.stdin_buf.extend_from_slice(data);
                if let Some(fd) = p.io.stdin.as_ref() {
                    // Write at once when possible; the rest waits for POLLOUT.
                    if let Ok(n) = rustix::io::write(fd, &p.stdin_buf) {
                        p.stdin_buf.drain(..n);
                    }
                }
            }
        }
    }

    /// Handles the complete request lines of a control client, until it waits or attaches.
    fn process_requests(&mut self, id: u64) {
        loop {
            let Some(c) = self.clients.get_mut(&id) else { return };
            if c.waiting.is_some() || c.mode != Mode::Control || c.dead {
                return;
            }
            let Some(nl) = c.rbuf.iter().position(|&b| b == b'\n') else {
                if c.rbuf.len() > MAX_REQUEST {
                    c.respond(&Response::err(ErrorKind::Invalid, "request too long"));
                    c.closing = true;
                }
                return;
            };
            let line: Vec<u8> = c.rbuf.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match serde_json::from_str::<Request>(line) {
                Ok(req) => self.request(id, req),
                Err(e) => {
                    if let Some(c) = self.clients.get_mut(&id) {
                        c.respond(&Response::err(ErrorKind::Invalid, format!("invalid request: {e}")));
                    }
                }
            }
        }
    }

    fn request(&mut self, id: u64, req: Request) {
        let resp = match req {
            Request::State => Response { state: Some(self.state()), ..Response::ok() },
            Request::Start => self.start(),
            Request::Wait => match &self.exit {
                Some(exit) => Response { exit: Some(exit.clone()), ..Response::ok() },
                None => return self.set_waiting(id, Target::Init),
            },
            Request::ExecWait { exec_id } => match self.execs.get(&exec_id) {
                None => no_such_exec(&exec_id),
                Some(p) => match &p.exit {
                    Some(exit) => Response { exit: Some(exit.clone()), ..Response::ok() },
                    None => return self.set_waiting(id, Target::Exec(exec_id)),
                },
            },
            Request::ExecState { exec_id } => match self.execs.get(&exec_id) {
                None => no_such_exec(&exec_id),
                Some(p) => Response {
                    exec: Some(ExecState { exec_id, pid: p.pid, running: p.exit.is_none(), tty: p.tty }),
                    exit: p.exit.clone(),
                    ..Response::ok()
                },
            },
            Request::Kill { signal, all, exec_id } => self.kill(signal, all, exec_id),
            Request::Resize { height, width, exec_id } => self.resize(height, width, exec_id),
            Request::CloseStdin { exec_id } => {
                let target = exec_id.map_or(Target::Init, Target::Exec);
                match self.proc_mut(&target) {
                    Some(p) => {
                        p.close_stdin();
                        Response::ok()
                    }
                    None => Response::err(ErrorKind::NotFound, "no such exec"),
                }
            }
            Request::Pause => self.pause(),
            Request::Resume => self.resume(),
            Request::Update { resources } => self.update(resources),
            Request::Attach { stdin, stdout, stderr, stdin_once } => {
                if self.status == Status::Stopped {
                    Response::err(ErrorKind::NotRunning, "container is not running")
                } else {
                    let stdin = stdin && self.init.io.stdin.is_some() && !self.init.stdin_closing;
                    let tty = self.init.tty;
                    return self.attach(id, Target::Init, stdin, stdout, stderr, stdin_once, tty);
                }
            }
            Request::Exec { exec_id, process, stdin, stdout, stderr, stdin_once } => {
                match self.exec(&exec_id, &process, stdin) {
                    Err((kind, msg)) => Response::err(kind, msg),
                    Ok((pid, tty)) => {
                        trim_resident();
                        let resp = Response { pid: Some(pid), tty: Some(tty), ..Response::ok() };
                        if stdin || stdout || stderr {
                            if let Some(c) = self.clients.get_mut(&id) {
                                c.respond(&resp);
                            }
                            let target = Target::Exec(exec_id);
                            return self.make_attach(id, target, stdin, stdout, stderr, stdin_once);
                        }
                        resp
                    }
                }
            }
            Request::Shutdown => {
                if self.exit.is_some() {
                    self.quit = true;
                    Response::ok()
                } else {
                    Response::err(ErrorKind::Conflict, "container is running: kill it first")
                }
            }
        };
        if let Some(c) = self.clients.get_mut(&id) {
            c.respond(&resp);
        }
    }

    fn set_waiting(&mut self, id: u64, target: Target) {
        if let Some(c) = self.clients.get_mut(&id) {
            c.waiting = Some(target);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn attach(&mut self, id: u64, target: Target, stdin: bool, stdout: bool, stderr: bool, once: bool, tty: bool) {
        if let Some(c) = self.clients.get_mut(&id) {
            c.respond(&Response { tty: Some(tty), ..Response::ok() });
        }
        self.make_attach(id, target, stdin, stdout, stderr, once);
    }

    /// Switches a client to attach mode; bytes it sent after the request are stdin.
    fn make_attach(&mut self, id: u64, target: Target, stdin: bool, stdout: bool, stderr: bool, once: bool) {
        let Some(c) = self.clients.get_mut(&id) else { return };
        c.mode = Mode::Attach { target: target.clone(), stdin, stdout, stderr, stdin_once: once };
        let rest = std::mem::take(&mut c.rbuf);
        if stdin && !rest.is_empty() {
            self.feed_stdin(&target, &rest);
        }
    }

    fn state(&self) -> State {
        State {
            id: self.cfg.id.clone(),
            pid: self.init.pid,
            shim_pid: std::process::id() as i32,
            status: self.status,
            tty: self.init.tty,
            stdin_open: self.init.io.stdin.is_some() && !self.init.stdin_closing,
            started_at: self.init.started_at.map(rfc3339_nano),
            exit: self.exit.clone(),
            protocol: PROTOCOL_VERSION,
        }
    }

    fn start(&mut self) -> Response {
        if self.status != Status::Created || self.init.reaped.is_some() {
            return Response::err(ErrorKind::Conflict, "container is not in the created state");
        }
        match self.runtime.start() {
            Ok(()) => {
                self.init.started_at = Some(SystemTime::now());
                self.status = Status::Running;
                diag!("started");
                trim_resident();
                Response { pid: Some(self.init.pid), ..Response::ok() }
            }
            Err(e) => Response::err(ErrorKind::Internal, e.0),
        }
    }

    fn kill(&mut self, signal: i32, all: bool, exec_id: Option<String>) -> Response {
        if let Some(exec_id) = exec_id {
            let Some(p) = self.execs.get(&exec_id) else { return no_such_exec(&exec_id) };
            if p.reaped.is_some() {
                return Response::err(ErrorKind::NotRunning, "exec process is not running");
            }
            let Some(pid) = rustix::process::Pid::from_raw(p.pid) else {
                return Response::err(ErrorKind::Internal, "bad pid");
            };
            let sig = match rustix::process::Signal::from_named_raw(signal) {
                Some(s) => s,
                None => return Response::err(ErrorKind::Invalid, format!("invalid signal: {signal}")),
            };
            return match rustix::process::kill_process(pid, sig) {
                Ok(()) => Response::ok(),
                Err(e) => Response::err(ErrorKind::Internal, e.to_string()),
            };
        }
        if self.init.reaped.is_some() {
            return Response::err(ErrorKind::NotRunning, "container is not running");
        }
        if !(1..=64).contains(&signal) {
            return Response::err(ErrorKind::Invalid, format!("invalid signal: {signal}"));
        }
        match self.runtime.kill(signal, all) {
            Ok(()) => Response::ok(),
            Err(e) => Response::err(ErrorKind::Internal, e.0),
        }
    }

    fn resize(&mut self, height: u16, width: u16, exec_id: Option<String>) -> Response {
        let target = exec_id.map_or(Target::Init, Target::Exec);
        let Some(p) = self.proc(&target) else { return Response::err(ErrorKind::NotFound, "no such exec") };
        if !p.tty {
            return Response::err(ErrorKind::Invalid, "the process has no terminal");
        }
        let Some(master) = p.io.out.as_ref().or(p.io.stdin.as_ref()) else {
            return Response::err(ErrorKind::NotRunning, "the terminal is closed");
        };
        let ws = Winsize { ws_row: height, ws_col: width, ws_xpixel: 0, ws_ypixel: 0 };
        match tcsetwinsize(master, ws) {
            Ok(()) => Response::ok(),
            Err(e) => Response::err(ErrorKind::Internal, format!("resize: {e}")),
        }
    }

    fn pause(&mut self) -> Response {
        match self.status {
            Status::Running => match self.runtime.pause() {
                Ok(()) => {
                    self.status = Status::Paused;
                    Response::ok()
                }
                Err(e) => Response::err(ErrorKind::Internal, e.0),
            },
            Status::Paused => Response::err(ErrorKind::Conflict, "container is already paused"),
            _ => Response::err(ErrorKind::NotRunning, "container is not running"),
        }
    }

    fn resume(&mut self) -> Response {
        match self.status {
            Status::Paused => match self.runtime.resume() {
                Ok(()) => {
                    self.status = Status::Running;
                    Response::ok()
                }
                Err(e) => Response::err(ErrorKind::Internal, e.0),
            },
            Status::Running => Response::err(ErrorKind::Conflict, "container is not paused"),
            _ => Response::err(ErrorKind::NotRunning, "container is not running"),
        }
    }

    /// Writes new cgroup limits (`docker update`). Refused once the init has exited.
    fn update(&mut self, resources: serde_json::Value) -> Response {
        if self.status == Status::Stopped || self.init.reaped.is_some() {
            return Response::err(ErrorKind::NotRunning, "container is not running");
        }
        let resources: LinuxResources = match serde_json::from_value(resources) {
            Ok(r) => r,
            Err(e) => return Response::err(ErrorKind::Invalid, format!("invalid resources: {e}")),
        };
        let result = self.runtime.update(&resources);
        // The cgroup code is not needed again soon: give its pages back, as after an exec.
        trim_resident();
        match result {
            Ok(()) => {
                diag!("resources updated");
                Response::ok()
            }
            Err(e) => {
                diag!("update: {e}");
                Response::err(ErrorKind::Internal, e.0)
            }
        }
    }

    /// Starts an exec; returns its pid and whether it has a terminal.
    fn exec(
        &mut self,
        exec_id: &str,
        process: &serde_json::Value,
        with_stdin: bool,
    ) -> Result<(i32, bool), (ErrorKind, String)> {
        match self.status {
            Status::Running => {}
            Status::Paused => return Err((ErrorKind::Conflict, "container is paused".into())),
            _ => return Err((ErrorKind::NotRunning, "container is not running".into())),
        }
        if self.init.reaped.is_some() {
            return Err((ErrorKind::NotRunning, "container is not running".into()));
        }
        if exec_id.is_empty() || self.execs.contains_key(exec_id) {
            return Err((ErrorKind::Conflict, format!("exec ID in use or empty: {exec_id:?}")));
        }
        let tty = process.get("terminal").and_then(|v| v.as_bool()).unwrap_or(false);
        let size = process.get("consoleSize").and_then(winsize_of);
        let file = self.cfg.state_dir.join(format!("exec-process-{}.json", self.next_client));
        let internal = |e: String| (ErrorKind::Internal, e);
        write_atomic(&file, &serde_json::to_vec(process).map_err(|e| internal(e.to_string()))?)
            .map_err(|e| internal(format!("writing the exec process: {e}")))?;
        let result: Result<(i32, ShimSide), String> = if tty {
            (|| {
                let console = ConsoleSocket::bind(self.cfg.state_dir.join("exec-console.sock"))
                    .map_err(|e| format!("console socket: {e}"))?;
                let pid = self
                    .runtime
                    .exec(&file, crate::runtime::Stdio::Console(console.path().to_owned()))
                    .map_err(|e| e.0)?;
                let io = console
                    .receive_master(CONSOLE_TIMEOUT)
                    .and_then(|m| tty_side(m, with_stdin))
                    .map_err(|e| format!("receiving the pty master: {e}"))?;
                if let (Some(ws), Some(m)) = (size, io.out.as_ref()) {
                    let _ = tcsetwinsize(m, ws);
                }
                Ok::<_, String>((pid, io))
            })()
        } else {
            (|| {
                let (theirs, ours) = stdio::pipes(with_stdin).map_err(|e| format!("pipes: {e}"))?;
                let pid = self.runtime.exec(&file, theirs).map_err(|e| e.0)?;
                Ok::<_, String>((pid, ours))
            })()
        };
        let _ = fs::remove_file(&file);
        let (pid, io) = result.map_err(|e| (ErrorKind::Internal, e))?;
        diag!("exec {exec_id} pid {pid}");
        let mut p = Proc::new(pid, tty, io);
        p.started_at = Some(SystemTime::now());
        self.execs.insert(exec_id.to_owned(), p);
        Ok((pid, tty))
    }

    // ---- children ----

    /// Collects every child that has exited.
    fn reap(&mut self) {
        while let Some((pid, status)) = reap_one() {
            self.reaped(pid, status);
        }
    }

    fn reaped(&mut self, pid: i32, status: i32) {
        let now = SystemTime::now();
        let until = Some(Instant::now() + DRAIN_TIMEOUT);
        let limit = Some(Instant::now() + DRAIN_LIMIT);
        if pid == self.init.pid && self.init.reaped.is_none() {
            diag!("init {pid} exited: {:?}", exit_code(status));
            self.init.reaped = Some((status, now));
            self.init.pidfd = None;
            self.init.drain_until = until;
            self.init.drain_limit = limit;
            self.init.io.stdin = None;
            self.init.stdin_buf.clear();
            self.status = Status::Stopped;
            self.oom_killed = self.oom.as_ref().is_some_and(OomCounter::fired);
            // Whatever else runs in the container (it shares the host's pid namespace, say)
            // goes now, so that the output pipes close.
            if !self.own_pidns {
                if let Err(e) = self.runtime.kill(libc::SIGKILL, true) {
                    diag!("kill --all after exit: {e}");
                }
            }
            return;
        }
        for (id, p) in self.execs.iter_mut() {
            if p.pid == pid && p.reaped.is_none() {
                diag!("exec {id} ({pid}) exited: {:?}", exit_code(status));
                p.reaped = Some((status, now));
                p.pidfd = None;
                p.drain_until = until;
                p.drain_limit = limit;
                p.io.stdin = None;
                p.stdin_buf.clear();
                return;
            }
        }
    }

    /// Finishes every process that has exited and whose output is drained (or timed out).
    fn check_procs(&mut self) {
        let now = Instant::now();
        // Silence is counted only while the output is read: a process held back by a slow
        // client gets a fresh drain timeout (up to its limit).
        let held: Vec<Target> =
            self.procs().filter(|(t, p)| p.exit.is_none() && self.blocked(t)).map(|(t, _)| t).collect();
        for t in held {
            if let Some(p) = self.proc_mut(&t).filter(|p| p.reaped.is_some()) {
                p.drain_until = Some(now + DRAIN_TIMEOUT);
            }
        }
        let due: Vec<Target> = self
            .procs()
            .filter(|(t, p)| {
                let passed = |d: Option<Instant>| d.is_some_and(|d| now >= d);
                let cut = if self.blocked(t) { passed(p.drain_limit) } else { passed(p.drain_until) };
                p.exit.is_none() && p.reaped.is_some() && (p.outputs_done() || cut)
            })
            .map(|(t, _)| t)
            .collect();
        for target in due {
            match target {
                Target::Exec(id) => self.finish_exec(&id),
                Target::Init => self.finish_init(),
            }
        }
    }

    fn finish_exec(&mut self, id: &str) {
        let Some(p) = self.execs.get_mut(id) else { return };
        let Some((status, at)) = p.reaped else { return };
        p.io.out = None;
        p.io.err = None;
        let (code, signal) = exit_code(status);
        let record = ExitRecord {
            exit_code: code,
            signal,
            oom_killed: false,
            started_at: p.started_at.map(rfc3339_nano),
            finished_at: rfc3339_nano(at),
        };
        p.exit = Some(record.clone());
        self.end_target(&Target::Exec(id.to_owned()), &record);
    }

    fn finish_init(&mut self) {
        let Some((status, at)) = self.init.reaped else { return };
        self.init.io.out = None;
        self.init.io.err = None;
        let now = unix_nanos(SystemTime::now());
        for (i, s) in [Stream::Stdout, Stream::Stderr].into_iter().enumerate() {
            for line in self.splitters[i].finish() {
                let _ = self.log.write(s, line, now);
            }
        }
        if let Err(e) = self.log.flush() {
            diag!("log flush: {e}");
        }
        if let Err(RuntimeError(e)) = self.runtime.delete() {
            diag!("runtime delete: {e}");
        }
        let (code, signal) = exit_code(status);
        let record = ExitRecord {
            exit_code: code,
            signal,
            oom_killed: self.oom_killed,
            started_at: self.init.started_at.map(rfc3339_nano),
            finished_at: rfc3339_nano(at),
        };
        let json = serde_json::to_vec(&record).unwrap_or_default();
        if let Err(e) = write_atomic(&self.cfg.state_dir.join(files::EXIT), &json) {
            diag!("writing exit.json: {e}");
        }
        diag!("exit recorded: {}", String::from_utf8_lossy(&json));
        self.init.exit = Some(record.clone());
        self.exit = Some(record.clone());
        self.end_target(&Target::Init, &record);
        self.linger_until = Some(Instant::now() + self.cfg.exit_grace);
    }

    /// Answers the waiters of `target` and ends its attach streams.
    fn end_target(&mut self, target: &Target, record: &ExitRecord) {
        let mut resumed = Vec::new();
        for (id, c) in self.clients.iter_mut() {
            if c.waiting.as_ref() == Some(target) {
                c.waiting = None;
                c.respond(&Response { exit: Some(record.clone()), ..Response::ok() });
                resumed.push(*id);
            }
            if matches!(&c.mode, Mode::Attach { target: t, .. } if t == target) {
                c.closing = true;
            }
        }
        for id in resumed {
            self.process_requests(id);
        }
    }

    fn sweep_clients(&mut self) {
        self.clients.retain(|_, c| {
            if c.dead {
                return false;
            }
            if c.closing && c.pending() == 0 {
                let _ = c.stream.shutdown(std::net::Shutdown::Both);
                return false;
            }
            let idle_control = c.mode == Mode::Control && c.read_closed && c.waiting.is_none() && c.pending() == 0;
            !idle_control
        });
    }

    /// Flushes answers (briefly), removes the shim's socket and pid file.
    fn shutdown(&mut self) {
        let deadline = Instant::now() + Duration::from_millis(500);
        for c in self.clients.values_mut() {
            while c.pending() > 0 && !c.dead && Instant::now() < deadline {
                c.flush();
                if c.pending() > 0 {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
        let sock = self.cfg.state_dir.join(files::SOCKET);
        if let Ok(meta) = fs::symlink_metadata(&sock) {
            if (meta.st_dev(), meta.st_ino()) == self.socket_id {
                let _ = fs::remove_file(&sock);
            }
        }
        let pid_file = self.cfg.state_dir.join(files::SHIM_PID);
        if fs::read_to_string(&pid_file).is_ok_and(|s| s.trim() == std::process::id().to_string()) {
            let _ = fs::remove_file(&pid_file);
        }
    }
}

fn no_such_exec(id: &str) -> Response {
    Response::err(ErrorKind::NotFound, format!("no such exec: {id}"))
}

/// Kills and deletes a container whose creation could not be completed.
fn abort(runtime: &mut dyn Runtime) {
    let _ = runtime.kill(libc::SIGKILL, true);
    // The init is our child: reap it before deleting, so the runtime sees it gone.
    std::thread::sleep(Duration::from_millis(20));
    while reap_one().is_some() {}
    if let Err(e) = runtime.delete() {
        diag!("delete after a failed start: {e}");
    }
}

/// Reaps one exited child of any kind (`__WALL`: also clone children without an exit signal).
fn reap_one() -> Option<(i32, i32)> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a valid pointer to a local.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG | libc::__WALL) };
        if pid > 0 {
            return Some((pid, status));
        }
        if pid < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        return None;
    }
}

fn pidfd_of(pid: i32) -> Option<OwnedFd> {
    let pid = rustix::process::Pid::from_raw(pid)?;
    match rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) {
        Ok(fd) => Some(fd),
        Err(e) => {
            diag!("pidfd_open {pid:?}: {e}");
            None
        }
    }
}

/// The shim's side of a pty: the master for output, a dup of it for stdin when asked for.
fn tty_side(master: OwnedFd, with_stdin: bool) -> io::Result<ShimSide> {
    stdio::set_nonblocking(&master)?;
    let stdin = if with_stdin { Some(master.as_fd().try_clone_to_owned()?) } else { None };
    Ok(ShimSide { out: Some(master), err: None, stdin })
}

fn winsize_of(v: &serde_json::Value) -> Option<Winsize> {
    let h = v.get("height")?.as_u64()?;
    let w = v.get("width")?.as_u64()?;
    Some(Winsize { ws_row: u16::try_from(h).ok()?, ws_col: u16::try_from(w).ok()?, ws_xpixel: 0, ws_ypixel: 0 })
}

fn read_spec(bundle: &Path) -> Result<serde_json::Value, String> {
    let path = bundle.join("config.json");
    let text = fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    serde_json::from_slice(&text).map_err(|e| format!("parsing {}: {e}", path.display()))
}

/// Once the container runs, the code that created it (most of libcontainer) is not needed
/// again, and a quiet shim needs almost none: drop from its resident set every file-backed,
/// private, read-only mapping (program text and read-only data, its own and its libraries')
/// that holds no page of its own — no dirty page and nothing in swap, so it is exactly the file
/// and comes back from the page cache on first use — and return free heap to the kernel.
/// RELRO data (relocated, then made read-only) has dirty pages and is kept. One shim runs per
/// container, so this is its memory cost. Single-threaded: nothing changes a mapping between
/// reading `smaps` and `madvise`.
fn trim_resident() {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    for (start, end) in clean_file_mappings(&smaps) {
        // SAFETY: a private, read-only, file-backed mapping of this process without a page of
        // its own (checked above): MADV_DONTNEED only drops page-table entries, and the
        // contents are reread from the file on access.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
    // SAFETY: glibc's malloc_trim only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The `(start, end)` of each private, non-writable, file-backed mapping in `smaps` text with
/// no dirty page (private or shared) and nothing swapped out.
fn clean_file_mappings(smaps: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    let mut dirty = false;
    let flush = |cur: &mut Option<(usize, usize)>, dirty: bool, out: &mut Vec<(usize, usize)>| {
        if let Some(range) = cur.take() {
            if !dirty {
                out.push(range);
            }
        }
    };
    for line in smaps.lines() {
        let mut f = line.split_whitespace();
        let Some(first) = f.next() else { continue };
        if let Some((a, b)) = first.split_once('-').filter(|_| !first.ends_with(':')) {
            flush(&mut current, dirty, &mut out);
            dirty = false;
            let perms = f.next().unwrap_or("");
            let path = f.nth(3).unwrap_or("");
            let eligible = perms.len() == 4
                && perms.starts_with('r')
                && perms.as_bytes()[1] == b'-'
                && perms.ends_with('p')
                && path.starts_with('/');
            if let (true, Ok(start), Ok(end)) = (eligible, usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                current = Some((start, end));
            }
            continue;
        }
        if matches!(first, "Private_Dirty:" | "Shared_Dirty:" | "Swap:" | "SwapPss:") {
            dirty |= f.next().is_some_and(|v| v != "0");
        }
    }
    flush(&mut current, dirty, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_clean_read_only_file_mappings_are_trimmed() {
        let smaps = "\
55a000-55b000 r--p 00000000 fe:00 1 /usr/bin/x
Rss:                 8 kB
Private_Dirty:       0 kB
Shared_Dirty:        0 kB
Swap:                0 kB
55b000-55c000 r-xp 00001000 fe:00 1 /usr/bin/x
Private_Dirty:       0 kB
55c000-55d000 r--p 00002000 fe:00 1 /usr/bin/x
Private_Dirty:       4 kB
55d000-55e000 rw-p 00003000 fe:00 1 /usr/bin/x
Private_Dirty:       0 kB
55e000-55f000 r--p 00000000 00:00 0
Private_Dirty:       0 kB
7f0000-7f1000 r-xp 00000000 fe:00 2 /usr/lib/libc.so.6
Private_Dirty:       0 kB
Swap:                4 kB
7f2000-7f3000 r-xp 00000000 00:00 0 [vdso]
Private_Dirty:       0 kB
7f3000-7f4000 r-xp 00000000 fe:00 3 /usr/lib/libm.so.6
Private_Dirty:       0 kB
";
        assert_eq!(clean_file_mappings(smaps), [(0x55a000, 0x55b000), (0x55b000, 0x55c000), (0x7f3000, 0x7f4000)]);
    }
}
