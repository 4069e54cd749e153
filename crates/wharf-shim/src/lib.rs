//! The per-container shim (`wharf-shim`, like containerd's shim or podman's conmon) and the
//! contract between it and the daemon. The library part is only that contract: the
//! [`protocol`] types and a small blocking [`protocol::Client`]; it depends on serde alone, so the
//! daemon can use it with `default-features = false` and never link libcontainer.
//!
//! One shim runs per container. It creates the container (youki's `libcontainer`, embedded, or a
//! runc-compatible binary), owns its stdio, writes its logs, reaps it and records its exit
//! status. It outlives the daemon: killing or restarting the daemon never stops a container, and
//! a new daemon reconnects to the shim's socket.
//!
//! # Command line
//!
//! ```text
//! wharf-shim --id ID --bundle DIR --state-dir DIR --runtime-root DIR
//!            [--runtime libcontainer|/path/to/runc]   (default libcontainer)
//!            [--log-driver json-file|local|none]      (default json-file)
//!            [--log-path FILE] [--log-opt KEY=VALUE]...
//!            [--stdin]                                (keep a stdin pipe for attach: OpenStdin)
//!            [--wait-start]                           (create, then start on a `start` request)
//!            [--exit-grace SECONDS]                   (default 5)
//! ```
//!
//! - `--bundle` holds `config.json`; the terminal mode is `process.terminal`, the first terminal
//!   size `process.consoleSize` (set it: without it the first `stty size` says 0 0).
//! - `--state-dir` is the shim's own directory (created if missing). Keep its path short: unix
//!   socket paths are limited to 108 bytes (the shim binds longer paths relative to their
//!   directory, but runc cannot connect to a long console socket path).
//! - `--runtime-root` is libcontainer's (or runc's `--root`) state root. With libcontainer the
//!   shim also keeps compiled seccomp programs there, in `@seccomp/<sha256>.bpf` (one per
//!   distinct profile, libseccomp version, architecture and kernel; `@` is never in a container
//!   ID): libseccomp builds a profile once, and each init and exec loads the cached program.
//! - `--log-opt` takes Docker's options for the driver (`max-size`, `max-file`, …), validated by
//!   `wharf_logs::parse_log_options`.
//!
//! # Readiness
//!
//! The daemon runs the command with stdout piped and reads **one line**, then reaps the process,
//! which exits right after writing it:
//!
//! - `started <pid>\n` (exit status 0): the container runs; `<pid>` is its init (host pid
//!   namespace).
//! - `created <pid>\n` (exit status 0, with `--wait-start`): the container exists, its init is
//!   blocked before executing the workload. Attach now, then send `start`: nothing the container
//!   prints can be missed. This is how `docker run`/`docker start -a` should drive it.
//! - `error: <message>\n` (exit status 1): nothing runs and the runtime holds nothing. The
//!   message is the runtime's, runc-style: a missing program reads
//!   `unable to start container process: exec: "nosuch": executable file not found in $PATH`
//!   (libcontainer) or `runc create failed: unable to start container process: exec: "nosuch":
//!   executable file not found in $PATH` (runc). Docker's full text is
//!   `OCI runtime create failed: <message>: unknown`; the daemon adds the frame.
//!
//! The command is the readiness reporter only: it forks the real shim first. The shim calls
//! `setsid`, points its stdin at `/dev/null` and its stdout/stderr at `state-dir/shim.log` (its
//! diagnostics), sets `PR_SET_CHILD_SUBREAPER`, and stays single-threaded. It ignores SIGTERM,
//! SIGINT and SIGHUP (only a `shutdown` request or the grace period ends it; SIGKILL still does;
//! the container keeps running without its shim then, unmanaged). Workloads start with every
//! signal at its default action and none blocked.
//!
//! # Files in the state dir
//!
//! | file | written | content |
//! |---|---|---|
//! | `shim.pid` | before readiness; removed at exit | the shim's pid |
//! | `init.pid` | once created | the container's init pid |
//! | `shim.sock` | before readiness; removed at exit | the control socket |
//! | `exit.json` | after the exit (atomically: temp, fsync, rename) | [`protocol::ExitRecord`] |
//! | `shim.log` | appended | the shim's diagnostics |
//! | `libcontainer-bundle/config.json` | before create, with a seccomp profile the shim loads itself; removed with the container | the spec libcontainer gets: the bundle's without `linux.seccomp` |
//!
//! `exit.json` is written only after the container's output is drained, its log flushed and the
//! container deleted from the runtime (cgroups and runtime state gone), so a daemon that finds
//! it may at once start the same container again (with a new shim) or read the complete log.
//! A daemon starting up finds each shim by connecting to `shim.sock`: refused or missing means the
//! shim is gone, and `exit.json` (if present) says how the container ended. Example:
//!
//! ```json
//! {"exit_code":143,"signal":15,"oom_killed":false,"started_at":"2025-01-02T03:04:05.123456789Z","finished_at":"2025-01-02T03:04:07.5Z"}
//! ```
//!
//! `exit_code` is `128 + signal` when a signal killed the init, as Docker reports it.
//! `oom_killed` says the container's memory cgroup counted an OOM kill (cgroup v1
//! `memory.oom_control`, v2 `memory.events`, `oom_kill` line), as Docker's `OOMKilled`.
//!
//! # Control protocol
//!
//! `state-dir/shim.sock` is a unix stream socket. Any number of clients may connect, disconnect
//! and reconnect at any time. On a connection the client sends requests, one JSON object per
//! line, and gets one JSON response line per request, in order ([`protocol::Request`],
//! [`protocol::Response`]). Every response has `"ok"`; a failure adds `"error"` (text) and
//! `"kind"` (`invalid`, `not_running`, `conflict`, `not_found`, `internal`). Unknown ops, and
//! unknown fields of ops that take fields, are refused (`invalid`).
//!
//! | request | response (success) |
//! |---|---|
//! | `{"op":"state"}` | `{"ok":true,"state":{"id":…,"pid":…,"shim_pid":…,"status":"created\|running\|paused\|stopped","tty":…,"stdin_open":…,"started_at":…,"exit":{…},"protocol":1}}` |
//! | `{"op":"start"}` (after `created`) | `{"ok":true,"pid":N}` |
//! | `{"op":"wait"}` | blocks until exit.json is written, then `{"ok":true,"exit":{…}}` |
//! | `{"op":"kill","signal":15,"all":false}` | `{"ok":true}`; `all` signals every process in the container's cgroup |
//! | `{"op":"resize","height":24,"width":80}` | `{"ok":true}` (TIOCSWINSZ on the pty master; `invalid` without a TTY) |
//! | `{"op":"attach","stdin":true,"stdout":true,"stderr":true,"stdin_once":false}` | `{"ok":true,"tty":false}`, then the connection is a stream (below) |
//! | `{"op":"close_stdin"}` | `{"ok":true}`: the container reads EOF once the bytes sent are written (with a TTY the shim only stops forwarding input: the terminal stays open) |
//! | `{"op":"pause"}` / `{"op":"resume"}` | `{"ok":true}` (freezer cgroup) |
//! | `{"op":"update","resources":{"memory":{"limit":67108864,"swap":67108864},"cpu":{"shares":512,"quota":50000,"period":100000},"pids":{"limit":50}}}` | `{"ok":true}`: the OCI `linux.resources` fields given are written to the container's cgroup at once (`docker update`; `runc update`); see below |
//! | `{"op":"exec","exec_id":"E","process":{OCI process},"stdin":…,"stdout":…,"stderr":…,"stdin_once":…}` | `{"ok":true,"pid":N,"tty":…}`, then a stream if any of stdin/stdout/stderr |
//! | `{"op":"exec_state","exec_id":"E"}` | `{"ok":true,"exec":{"exec_id":…,"pid":…,"running":…,"tty":…},"exit":{…}}` |
//! | `{"op":"exec_wait","exec_id":"E"}` | blocks, then `{"ok":true,"exit":{…}}` |
//! | `{"op":"shutdown"}` | `{"ok":true}` and the shim exits (only after the exit; `conflict` before) |
//!
//! `kill`, `resize` and `close_stdin` take an optional `"exec_id"` to address an exec's process.
//! A `wait` holds its connection: later requests on it are read after the answer.
//!
//! `update` takes an OCI runtime-spec `linux.resources` object; only the fields present change.
//! It works on a created, running or paused container (`not_running` after the exit). A value
//! the kernel refuses (a memory limit below what the container uses, a CPU period under 1 ms)
//! answers `internal` with the runtime's text, and the container keeps running. With
//! libcontainer the limits written before the refused one stay written (runc writes its previous
//! ones back). On cgroup v1 the memory and memory+swap limits are written in the order the
//! kernel accepts (swap first when raising, as runc does). The bundle's `config.json` is not
//! rewritten: nothing reads its resources again (an exec takes only process defaults from it),
//! and the daemon writes a new spec for every start.
//!
//! # Attach streams
//!
//! After the `attach` response line, the connection carries the container's output from that
//! moment on (earlier output is in the log). Without a TTY, each chunk is one frame in Docker's
//! multiplexed format, so the daemon can forward the bytes as they are: an 8-byte header
//! (stream `1` stdout or `2` stderr, three zero bytes, big-endian u32 length) and the payload
//! ([`protocol::frame_header`]). With a TTY the stream is the raw terminal output. Bytes the
//! client sends go to the container's stdin (when `stdin` was asked for and `--stdin` given).
//! When the client half-closes, the container's stdin is closed if `stdin_once` (Docker's
//! `StdinOnce`); otherwise other clients may keep writing. The shim closes the stream when the
//! container has exited and its output is drained; the exit status then comes from `wait`.
//! A slow attach client slows the container's output rather than losing any (as Docker).
//! `attach` on an exited container fails with `not_running`.
//!
//! # Exec
//!
//! `exec` starts a process in the running container from an OCI runtime-spec `process` object
//! (`args`, `env`, `cwd`, `user`, `terminal`, `consoleSize`, capabilities…; the daemon builds it
//! like Docker does from the container's spec). When any of `stdin`/`stdout`/`stderr` is set the
//! connection becomes that exec's attach stream right after the response, with the framing above
//! (raw with `terminal: true`); it ends when the process exits and its output is drained. The
//! exec's output is not logged (as Docker). Exec records stay until the shim exits.
//!
//! # Exit
//!
//! When the init exits the shim reads the OOM counter, SIGKILLs what is left in the container
//! (a container sharing the host's pid namespace), drains the output until EOF (cut after 2 s
//! without output, or after 60 s of a slow attach client holding it back), flushes the log,
//! deletes the container from the runtime, writes `exit.json`, answers every `wait` and ends
//! attach streams. It then serves `state` and `wait` for `--exit-grace` seconds, or until
//! `shutdown`, and exits, removing `shim.sock` and `shim.pid` (if they are still its own).
//!
//! The shim notices exits through a pidfd per process (libcontainer clones the container's
//! processes with `CLONE_PARENT` and no exit signal, so no SIGCHLD arrives for them) and through
//! SIGCHLD (runc's processes, and orphans it adopts as a subreaper), and reaps with `__WALL`.
//!
//! # Invariants
//!
//! - The shim is single-threaded from its start to its exit (libcontainer's clones require it).
//! - Output is never dropped for a slow reader within the limits above; the log gets every byte
//!   the container wrote, as lines and 16 KiB partial lines (`wharf_logs::LineSplitter`).
//! - `exit.json` exists only once the runtime no longer holds the container.

pub mod protocol;
