//! The shim's wire types: the readiness line, control requests and responses (one JSON object a
//! line), the exit record, and the frames of a non-TTY attach stream. The crate docs describe the
//! whole contract; this module is its single definition in code.

use std::io::{self, BufRead, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Version of the control protocol; reported by `state` (`"protocol"`). Bumped on an
/// incompatible change; additions (new ops, new optional fields) keep it.
pub const PROTOCOL_VERSION: u32 = 1;

/// Files the shim keeps in its `--state-dir`.
pub mod files {
    /// The shim's own pid (decimal, no newline), written before readiness is reported.
    pub const SHIM_PID: &str = "shim.pid";
    /// The container's init pid (host namespace), written once the container is created.
    pub const INIT_PID: &str = "init.pid";
    /// The control socket (unix stream, JSON lines).
    pub const SOCKET: &str = "shim.sock";
    /// The exit record ([`ExitRecord`](super::ExitRecord) as JSON), written atomically once the
    /// container has exited, its output is drained, its logs flushed and the runtime state
    /// deleted.
    pub const EXIT: &str = "exit.json";
    /// The shim's own diagnostics (plain text, appended).
    pub const LOG: &str = "shim.log";
}

/// The line the shim prints on its original stdout, then closes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    /// `created <pid>`: with `--wait-start`, the container exists and waits for a `start` request.
    Created(i32),
    /// `started <pid>`: the container runs.
    Started(i32),
    /// `error: <message>`: nothing runs and nothing is left behind but the state dir's files.
    Error(String),
}

impl Ready {
    /// Parses one readiness line (with or without its `\n`). An empty line (the shim died before
    /// reporting) is an error too.
    pub fn parse(line: &str) -> Ready {
        let line = line.trim_end_matches('\n');
        let pid = |s: &str| s.trim().parse::<i32>().ok();
        if let Some(p) = line.strip_prefix("created ").and_then(pid) {
            Ready::Created(p)
        } else if let Some(p) = line.strip_prefix("started ").and_then(pid) {
            Ready::Started(p)
        } else if let Some(msg) = line.strip_prefix("error: ") {
            Ready::Error(msg.to_owned())
        } else if line.is_empty() {
            Ready::Error("shim exited without reporting".to_owned())
        } else {
            Ready::Error(format!("shim reported an unknown line: {line}"))
        }
    }

    /// The line, with its `\n`.
    pub fn to_line(&self) -> String {
        match self {
            Ready::Created(pid) => format!("created {pid}\n"),
            Ready::Started(pid) => format!("started {pid}\n"),
            // A message is one line: newlines would end the report early.
            Ready::Error(msg) => format!("error: {}\n", msg.replace('\n', " ")),
        }
    }
}

/// A request on the control socket: one JSON object on one line, tagged by `"op"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// The container's state: answers with `state`.
    State,
    /// Starts a container created with `--wait-start`: answers with `pid`.
    Start,
    /// Blocks until the container has exited (answers at once if it has): answers with `exit`.
    Wait,
    /// Sends `signal` to the init process, or with `all` to every process of the container (its
    /// cgroup), or with `exec_id` to that exec's process.
    Kill {
        /// The signal number (`15` for SIGTERM).
        signal: i32,
        /// Every process of the container.
        #[serde(default)]
        all: bool,
        /// An exec's process instead of the init.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exec_id: Option<String>,
    },
    /// Sets the terminal size (TIOCSWINSZ on the pty master) of the container or of an exec.
    Resize {
        /// Rows.
        height: u16,
        /// Columns.
        width: u16,
        /// An exec's terminal instead of the container's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exec_id: Option<String>,
    },
    /// Turns the connection into an attach stream after the response (see the crate docs).
    Attach {
        /// Bytes the client sends go to the container's stdin (needs `--stdin`).
        #[serde(default)]
        stdin: bool,
        /// Receive stdout (and, with a TTY, the terminal's output).
        #[serde(default)]
        stdout: bool,
        /// Receive stderr (nothing comes with a TTY).
        #[serde(default)]
        stderr: bool,
        /// Docker's `StdinOnce`: when this client half-closes, close the container's stdin.
        #[serde(default)]
        stdin_once: bool,
    },
    /// Closes the container's stdin (or an exec's): the process reads EOF once the bytes
    /// already sent are written.
    CloseStdin {
        /// An exec's stdin instead of the container's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exec_id: Option<String>,
    },
    /// Freezes the container (freezer cgroup).
    Pause,
    /// Thaws it.
    Resume,
    /// Changes the cgroup limits of the created, running or paused container in place
    /// (`docker update`): the runtime writes them to its cgroup (`runc update`). Only the
    /// fields present change. A limit the kernel refuses (memory below the current usage, a
    /// CPU period under 1 ms) answers `internal` with the runtime's text; a malformed object
    /// `invalid`; an exited container `not_running`.
    Update {
        /// An OCI runtime-spec `linux.resources` object: `memory` (`limit`, `reservation`,
        /// `swap`, `disableOOMKiller`), `cpu` (`shares`, `quota`, `period`, `cpus`, `mems`,
        /// `realtimeRuntime`, `realtimePeriod`), `pids` (`limit`), `blockIO` (`weight`).
        resources: serde_json::Value,
    },
    /// Runs a process in the container (`docker exec`). The connection becomes that process's
    /// attach stream after the response when any of `stdin`/`stdout`/`stderr` is set (the
    /// process starts only once the stream is registered, so no output is lost); otherwise the
    /// exec runs detached and its output is discarded.
    Exec {
        /// The caller's name for it (Docker's exec ID); unique within the shim.
        exec_id: String,
        /// An OCI runtime-spec `process` object (`args`, `env`, `cwd`, `user`, `terminal`,
        /// `consoleSize`, `capabilities`, …).
        process: serde_json::Value,
        /// Attach stdin (a pipe is kept open for it; otherwise the process's stdin is
        /// `/dev/null`).
        #[serde(default)]
        stdin: bool,
        /// Attach stdout.
        #[serde(default)]
        stdout: bool,
        /// Attach stderr.
        #[serde(default)]
        stderr: bool,
        /// Close the process's stdin when this client half-closes.
        #[serde(default)]
        stdin_once: bool,
    },
    /// An exec's state: answers with `exec` (and `exit` once it has exited).
    ExecState {
        /// Which exec.
        exec_id: String,
    },
    /// Blocks until the exec has exited: answers with `exit`.
    ExecWait {
        /// Which exec.
        exec_id: String,
    },
    /// Asks an exited container's shim to exit now (after this response). Refused while the
    /// container runs: kill it first.
    Shutdown,
}

/// The answer to a request: one JSON object on one line. `ok` tells success; on failure `error`
/// and `kind` are set; on success the fields named by the request are set and the rest are
/// absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Whether the request succeeded.
    pub ok: bool,
    /// What went wrong (Docker-style text, lower case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The class of the failure, for mapping to an HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ErrorKind>,
    /// `state`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    /// `wait`, `exec_wait`, and `exec_state` of an exited exec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitRecord>,
    /// `start` and `exec`: the process's pid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// `attach` and `exec`: whether the stream is a raw terminal stream (`true`) or multiplexed
    /// frames (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    /// `exec_state`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecState>,
}

impl Response {
    /// A bare success.
    pub fn ok() -> Response {
        Response { ok: true, ..Response::default() }
    }

    /// A failure.
    pub fn err(kind: ErrorKind, error: impl Into<String>) -> Response {
        Response { ok: false, error: Some(error.into()), kind: Some(kind), ..Response::default() }
    }
}

/// Classes of failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request is malformed or makes no sense here (resize without a TTY, unknown op).
    Invalid,
    /// The container (or exec) is not running: kill or pause after exit.
    NotRunning,
    /// The request conflicts with the state (start twice, shutdown while running, exec ID in
    /// use, pause a paused container).
    Conflict,
    /// No such exec.
    NotFound,
    /// The runtime or the system failed.
    Internal,
}

/// Lifecycle of the container as the shim sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Created with `--wait-start`, waiting for `start`.
    Created,
    /// Running.
    Running,
    /// Frozen.
    Paused,
    /// The init process has exited; `exit` is set once the record is final (exit.json written).
    Stopped,
}

/// The answer to `state`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The container ID (`--id`).
    pub id: String,
    /// The init process (host pid namespace).
    pub pid: i32,
    /// The shim's own pid.
    pub shim_pid: i32,
    /// Where it is in its lifecycle.
    pub status: Status,
    /// Whether it has a terminal.
    pub tty: bool,
    /// Whether a stdin pipe is open for attach (`--stdin`, and not closed yet).
    pub stdin_open: bool,
    /// When the init process was started (RFC 3339 with nanoseconds, UTC); absent before `start`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// How it ended, once final.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitRecord>,
    /// [`PROTOCOL_VERSION`].
    pub protocol: u32,
}

/// How a process ended: the content of `exit.json`, and of `wait` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitRecord {
    /// The exit status; `128 + signal` when a signal killed it (as Docker reports).
    pub exit_code: i32,
    /// The signal that killed it, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// Whether the kernel's OOM killer killed a process of the container (its memory cgroup's
    /// `oom_kill` counter moved); always false for an exec.
    pub oom_killed: bool,
    /// When the process was started (RFC 3339 with nanoseconds, UTC), if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When the shim saw it exit (RFC 3339 with nanoseconds, UTC).
    pub finished_at: String,
}

/// The answer to `exec_state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecState {
    /// The exec ID.
    pub exec_id: String,
    /// Its pid (host namespace).
    pub pid: i32,
    /// Whether it still runs.
    pub running: bool,
    /// Whether it has a terminal.
    pub tty: bool,
}

/// Stream numbers of attach frames (Docker's `stdcopy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FrameStream {
    /// Standard output.
    Stdout = 1,
    /// Standard error.
    Stderr = 2,
}

/// The 8-byte header of an attach frame carrying `len` bytes of `stream`: the stream byte,
/// three zero bytes, the length as a big-endian u32. Exactly Docker's multiplexed format, so
/// the daemon can forward it unchanged.
pub fn frame_header(stream: FrameStream, len: u32) -> [u8; 8] {
    let l = len.to_be_bytes();
    [stream as u8, 0, 0, 0, l[0], l[1], l[2], l[3]]
}

/// A blocking client of a shim's control socket (for tools, tests and synchronous callers).
#[derive(Debug)]
pub struct Client {
    reader: io::BufReader<UnixStream>,
}

impl Client {
    /// Connects to the socket at `path`.
    pub fn connect(path: &Path) -> io::Result<Client> {
        let stream = UnixStream::connect(path)?;
        Ok(Client { reader: io::BufReader::new(stream) })
    }

    /// Sets a read timeout for answers (`None`: wait forever, the default).
    pub fn set_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.reader.get_ref().set_read_timeout(timeout)
    }

    /// Sends `req` and reads its answer.
    pub fn call(&mut self, req: &Request) -> io::Result<Response> {
        let mut line = serde_json::to_vec(req)?;
        line.push(b'\n');
        self.reader.get_mut().write_all(&line)?;
        let mut answer = String::new();
        if self.reader.read_line(&mut answer)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "shim closed the connection"));
        }
        Ok(serde_json::from_str(&answer)?)
    }

    /// Sends `req` and returns the answer if it succeeded, or its error as an `io::Error`.
    pub fn call_ok(&mut self, req: &Request) -> io::Result<Response> {
        let resp = self.call(req)?;
        if resp.ok {
            Ok(resp)
        } else {
            Err(io::Error::other(resp.error.unwrap_or_default()))
        }
    }

    /// The stream after an `attach` or attached `exec` answer: bytes the shim already sent past
    /// the answer line are kept in the returned reader's buffer.
    pub fn into_stream(self) -> io::BufReader<UnixStream> {
        self.reader
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_tagged_json() {
        let req = Request::Kill { signal: 15, all: false, exec_id: None };
        assert_eq!(serde_json::to_string(&req).unwrap(), r#"{"op":"kill","signal":15,"all":false}"#);
        let req: Request = serde_json::from_str(r#"{"op":"attach","stdout":true}"#).unwrap();
        assert_eq!(req, Request::Attach { stdin: false, stdout: true, stderr: false, stdin_once: false });
        let req: Request = serde_json::from_str(r#"{"op":"state"}"#).unwrap();
        assert_eq!(req, Request::State);
        assert!(serde_json::from_str::<Request>(r#"{"op":"fly"}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"op":"kill","signal":1,"x":1}"#).is_err());
        let req = Request::Update { resources: serde_json::json!({"pids": {"limit": 50}}) };
        assert_eq!(serde_json::to_string(&req).unwrap(), r#"{"op":"update","resources":{"pids":{"limit":50}}}"#);
        assert!(serde_json::from_str::<Request>(r#"{"op":"update"}"#).is_err());
    }

    #[test]
    fn responses_omit_absent_fields() {
        assert_eq!(serde_json::to_string(&Response::ok()).unwrap(), r#"{"ok":true}"#);
        let e = Response::err(ErrorKind::NotRunning, "container is not running");
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"ok":false,"error":"container is not running","kind":"not_running"}"#
        );
    }

    #[test]
    fn exit_record_json() {
        let r = ExitRecord {
            exit_code: 143,
            signal: Some(15),
            oom_killed: false,
            started_at: None,
            finished_at: "2024-01-02T03:04:05.1Z".into(),
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"exit_code":143,"signal":15,"oom_killed":false,"finished_at":"2024-01-02T03:04:05.1Z"}"#
        );
    }

    #[test]
    fn ready_lines() {
        assert_eq!(Ready::parse("started 42\n"), Ready::Started(42));
        assert_eq!(Ready::parse("created 7"), Ready::Created(7));
        assert_eq!(Ready::parse("error: boom\n"), Ready::Error("boom".into()));
        assert!(matches!(Ready::parse(""), Ready::Error(_)));
        assert_eq!(Ready::Error("a\nb".into()).to_line(), "error: a b\n");
        assert_eq!(Ready::parse(&Ready::Started(9).to_line()), Ready::Started(9));
    }

    #[test]
    fn frame_headers() {
        assert_eq!(frame_header(FrameStream::Stderr, 0x0102), [2, 0, 0, 0, 0, 0, 1, 2]);
    }
}
