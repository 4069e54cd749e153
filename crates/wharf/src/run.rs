//! `create`, `run`, `start` and `attach`, as the docker CLI 28 runs them.
//!
//! `run` creates the container, attaches to it (the hijacked connection of
//! `hijack.rs`) before starting it, asks the daemon to wait for the next exit (or the
//! removal with `--rm`), starts it, keeps the terminal size in sync for a TTY,
//! forwards signals (`--sig-proxy`), copies the streams until the container closes
//! them, and exits with the container's status. `start -a` and `attach` reuse the same
//! pieces.
//!
//! Two fallbacks keep `run` usable against a daemon that lacks the endpoints: when
//! `attach` answers 404 (not "No such container"), the container is started and its
//! output followed with `GET /containers/{id}/logs?follow=1` instead (no stdin then);
//! when `wait` answers 404, the container's state is polled until it stops (or is
//! removed, with `--rm`).

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::anyhow;
use clap::Args;
use futures_util::StreamExt;
use http::Method;
use serde_json::{json, Value};
use wharf_reference::{parse_any_reference, ImageRef, Platform};

use crate::cli::parse_go_bool;
use crate::config::ConfigFile;
use crate::connect::{path_escape, BodyStream, Conn, RequestError};
use crate::copts::{self, BuildEnv, ContainerOpts, CreateRequest};
use crate::filters::Query;
use crate::format::StatusError;
use crate::hijack::{self, StreamEnd, StreamOpts, Transport};
use crate::image::connect;
use crate::system::Target;

/// The flags of `create` that are not container settings.
#[derive(Debug, Args)]
#[command(disable_help_flag = true, next_display_order = None)]
pub(crate) struct CreateArgs {
    /// Assign a name to the container
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true)]
    pub name: String,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true)]
    pub platform: String,
    /// Pull image before creating ("always", "missing", "never")
    #[arg(long, value_name = "string", default_value = "missing")]
    pub pull: String,
    /// Suppress the pull output
    #[arg(short = 'q', long)]
    pub quiet: bool,
    #[command(flatten)]
    pub opts: ContainerOpts,
    #[arg(value_name = "IMAGE")]
    pub image: String,
    #[arg(value_name = "COMMAND", trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// `wharf run`.
#[derive(Debug, Args)]
#[command(disable_help_flag = true, next_display_order = None)]
pub(crate) struct RunArgs {
    /// Run container in background and print container ID
    #[arg(short = 'd', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false",
          hide_default_value = true, value_parser = parse_go_bool, value_name = "bool")]
    pub detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string", default_value = "", hide_default_value = true)]
    pub detach_keys: String,
    /// Proxy received signals to the process (default true)
    #[arg(long = "sig-proxy", num_args = 0..=1, require_equals = true, default_missing_value = "true",
          default_value = "true", hide_default_value = true, value_parser = parse_go_bool, value_name = "bool")]
    pub sig_proxy: bool,
    #[command(flatten)]
    pub create: CreateArgs,
}

/// docker's `validatePullOpt`.
fn validate_pull(v: &str) -> Result<(), String> {
    match v {
        "always" | "missing" | "never" | "" => Ok(()),
        _ => Err(format!("invalid pull option: '{v}': must be one of \"always\", \"missing\" or \"never\"")),
    }
}

/// A usage-level error of `create`/`run`: docker's `withHelp`, status 125.
fn with_help(err: impl std::fmt::Display, cmd: &str) -> anyhow::Error {
    StatusError::new(125, format!("wharf: {err}\n\nRun 'wharf {cmd} --help' for more information")).into()
}

/// docker's `runStartContainerErr`: 127 when the command is missing, 126 when it
/// cannot be run, else 125.
pub(crate) fn start_error_status(message: &str) -> i32 {
    let m = message.strip_prefix("Error response from daemon: ").unwrap_or(message);
    if m.contains("executable file not found")
        || m.contains("no such file or directory")
        || m.contains("system cannot find the file specified")
    {
        127
    } else if m.contains("permission denied") || m.contains("is a directory") {
        126
    } else {
        125
    }
}

/// The familiar form with a default tag (`busybox` → `busybox:latest`) of a named
/// image reference, `None` for IDs and digests.
pub(crate) fn familiar_tagged(image: &str) -> Option<String> {
    let is_id = image.len() == 64 && image.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if is_id || image.starts_with("sha256:") {
        return None;
    }
    Some(ImageRef::parse_normalized(image).ok()?.with_default_tag().familiar())
}

/// The request body of `create` and what the client needs to know about it.
fn build_request(conn: &Conn, config: &ConfigFile, a: &CreateArgs) -> Result<CreateRequest, String> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let lookup = |k: &str| std::env::var(k).ok();
    let env = BuildEnv {
        api: conn.api_version(),
        cwd: &cwd,
        lookup: &lookup,
        console_size: hijack::tty_size(),
        proxy_env: copts::proxy_env(config.get_value("proxies"), &conn.host),
    };
    copts::build(&a.opts, &a.image, &a.args, &env)
}

/// The container ID file of `--cidfile` (docker's `cidFile`): created before the
/// container, removed again if no ID was written.
struct CidFile {
    path: String,
    written: bool,
}

impl CidFile {
    fn create(path: &str) -> anyhow::Result<Option<CidFile>> {
        if path.is_empty() {
            return Ok(None);
        }
        if std::fs::metadata(path).is_ok() {
            return Err(anyhow!(
                "container ID file found, make sure the other container isn't running or delete {path}"
            ));
        }
        std::fs::File::create(path).map_err(|e| {
            anyhow!("failed to create the container ID file: open {path}: {}", crate::context::io_text(&e))
        })?;
        Ok(Some(CidFile { path: path.to_string(), written: false }))
    }

    fn write(&mut self, id: &str) -> anyhow::Result<()> {
        std::fs::write(&self.path, id)
            .map_err(|e| anyhow!("failed to write the container ID to the file: {}", crate::context::io_text(&e)))?;
        self.written = true;
        Ok(())
    }
}

impl Drop for CidFile {
    fn drop(&mut self) {
        if !self.written {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// docker's `createContainer`: `POST /containers/create`, the "Unable to find image"
/// notice on a 404 (pulling is not available: the error follows), the daemon's
/// warnings, and the ID file. Returns the container ID.
async fn create_container(conn: &Conn, a: &CreateArgs, req: &CreateRequest) -> anyhow::Result<String> {
    let mut cid = CidFile::create(&a.opts.cidfile)?;
    parse_any_reference(&a.image)?;
    let named = familiar_tagged(&a.image);
    let mut q = Query::default();
    if !a.name.is_empty() {
        q.add("name", &a.name);
    }
    if !a.platform.is_empty() && conn.api_version() >= (1, 41) {
        let p = Platform::parse(&a.platform).map_err(|e| anyhow!("error parsing specified platform: {e}"))?;
        q.add("platform", &p.to_string());
    }
    // `--pull always` would pull first; pulling is not available yet, so it behaves
    // like `missing` without a registry.
    let body = serde_json::to_vec(&req.body)?;
    let stream: BodyStream = Box::pin(futures_util::stream::iter([Ok(bytes::Bytes::from(body))]));
    let path = format!("/containers/create{}", q.encode());
    let mut resp = conn.raw(Method::POST, &path, Some(("application/json", stream)));
    let mut out = Vec::new();
    while let Some(chunk) = resp.next().await {
        match chunk {
            Ok(c) => out.extend_from_slice(&c),
            Err(e) => {
                let e = conn.request_error(e);
                if e.status == Some(404) && a.pull == "missing" {
                    if let (Some(n), false) = (&named, a.quiet) {
                        eprintln!("Unable to find image '{n}' locally");
                    }
                }
                return Err(e.into());
            }
        }
    }
    let answer: Value =
        serde_json::from_slice(&out).map_err(|e| anyhow!("error reading the daemon's response: {e}"))?;
    let id = answer.get("Id").and_then(Value::as_str).unwrap_or("").to_string();
    let mut warnings: Vec<String> = answer
        .get("Warnings")
        .and_then(Value::as_array)
        .map(|w| w.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default();
    if let Some(dns) = req.body["HostConfig"]["Dns"].as_array() {
        let local = dns.iter().filter_map(Value::as_str).find_map(|d| {
            d.parse::<std::net::IpAddr>().ok().filter(std::net::IpAddr::is_loopback).map(|ip| ip.to_string())
        });
        if let Some(ip) = local {
            warnings.push(format!("Localhost DNS ({ip}) may fail in containers."));
        }
    }
    for w in &warnings {
        eprintln!("WARNING: {w}");
    }
    if let Some(c) = cid.as_mut() {
        c.write(&id)?;
    }
    Ok(id)
}

/// `wharf create`.
pub(crate) async fn create(t: &Target, config: &ConfigFile, a: &CreateArgs) -> anyhow::Result<()> {
    validate_pull(&a.pull).map_err(|e| with_help(e, "create"))?;
    let conn = connect(t).await?;
    let req = build_request(&conn, config, a).map_err(|e| with_help(e, "create"))?;
    let id = create_container(&conn, a, &req).await?;
    println!("{id}");
    Ok(())
}

/// The detach keys: `--detach-keys`, else `detachKeys` of config.json.
pub(crate) fn detach_keys(flag: &str, config: &ConfigFile) -> String {
    if !flag.is_empty() {
        return flag.to_string();
    }
    config.get_str("detachKeys").unwrap_or("").to_string()
}

/// The escape sequence the client watches for (the default one when the keys do not
/// parse, as docker does after a warning).
pub(crate) fn escape_keys(keys: &str) -> Vec<u8> {
    if keys.is_empty() {
        return wharf_types::DEFAULT_DETACH_KEYS.to_vec();
    }
    match wharf_types::parse_detach_keys(keys) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("WARNING: invalid detach escape keys, using default: {e}");
            wharf_types::DEFAULT_DETACH_KEYS.to_vec()
        }
    }
}

/// What an attach request asks for.
struct AttachRequest<'a> {
    id: &'a str,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    detach_keys: &'a str,
}

/// Whether an error is a daemon without the endpoint (a 404 that is not "No such
/// container").
fn missing_endpoint(e: &RequestError) -> bool {
    e.status == Some(404) && !e.message.contains("No such container")
}

/// `POST /containers/{id}/attach?stream=1&…` as a hijacked connection.
async fn attach(tr: &Transport, r: &AttachRequest<'_>) -> Result<hijack::Upgraded, RequestError> {
    let mut q = Query::default();
    q.add("stream", "1");
    if r.stdin {
        q.add("stdin", "1");
    }
    if r.stdout {
        q.add("stdout", "1");
    }
    if r.stderr {
        q.add("stderr", "1");
    }
    if !r.detach_keys.is_empty() {
        q.add("detachKeys", r.detach_keys);
    }
    tr.hijack(&format!("/containers/{}/attach{}", path_escape(r.id), q.encode())).await
}

/// The exit status `wait` reports.
type Status = tokio::sync::oneshot::Receiver<i32>;

/// docker's `waitExitOrRemoved`: sends `POST /containers/{id}/wait?condition=…` and
/// returns once the daemon has answered with headers (or after 50 ms, for a daemon that
/// only answers at the exit), with the channel of the exit status.
async fn wait_exit_or_removed(conn: &Conn, tr: &Transport, id: &str, removed: bool) -> Status {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<()>();
    let condition = if removed { "removed" } else { "next-exit" };
    let path = format!("/containers/{}/wait?condition={condition}", path_escape(id));
    let (tr, conn, id) = (tr.clone(), conn.clone(), id.to_string());
    tokio::spawn(async move {
        let resp = tr.request(Method::POST, &path, false).await;
        let _ = ready_tx.send(());
        let status = match resp {
            Ok(resp) => match hijack::read_json(resp).await {
                Ok(v) => match v.get("Error").and_then(|e| e.get("Message")).and_then(Value::as_str) {
                    Some(m) if !m.is_empty() => {
                        eprintln!("Error waiting for container: {m}");
                        125
                    }
                    _ => v.get("StatusCode").and_then(Value::as_i64).unwrap_or(0) as i32,
                },
                Err(e) => {
                    eprintln!("error waiting for container: {e:#}");
                    125
                }
            },
            Err(e) if missing_endpoint(&e) => poll_exit(&conn, &id, removed).await,
            Err(e) => {
                eprintln!("error waiting for container: {e}");
                125
            }
        };
        let _ = tx.send(status);
    });
    // dockerd sends the headers once the waiter is registered; a daemon that only
    // answers at the exit gets a head start for the request instead.
    let _ = tokio::time::timeout(Duration::from_millis(50), ready_rx).await;
    rx
}

/// Without a `wait` endpoint: polls the container until it has stopped (or is gone,
/// when waiting for its removal) and returns its exit code.
async fn poll_exit(conn: &Conn, id: &str, removed: bool) -> i32 {
    let path = format!("/containers/{}/json", path_escape(id));
    let mut seen_running = false;
    let mut last_code = 0;
    loop {
        match conn.raw_json(Method::GET, &path).await {
            Ok(v) => {
                let state = &v["State"];
                let running = state["Running"].as_bool().unwrap_or(false) || state["Restarting"] == true;
                last_code = state["ExitCode"].as_i64().unwrap_or(0) as i32;
                seen_running |= running;
                let status = state["Status"].as_str().unwrap_or("");
                if !running && !removed && (seen_running || status == "exited" || status == "dead") {
                    return last_code;
                }
            }
            Err(_) => return last_code,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Forwards the signals the CLI receives to the container (`--sig-proxy`), as
/// `POST /containers/{id}/kill?signal=NAME`.
fn forward_signals(conn: &Conn, id: &str) -> tokio::task::JoinHandle<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let (conn, id) = (conn.clone(), id.to_string());
    tokio::spawn(async move {
        let kinds = [
            (SignalKind::interrupt(), "INT"),
            (SignalKind::terminate(), "TERM"),
            (SignalKind::hangup(), "HUP"),
            (SignalKind::quit(), "QUIT"),
            (SignalKind::user_defined1(), "USR1"),
            (SignalKind::user_defined2(), "USR2"),
        ];
        let mut streams = Vec::new();
        for (kind, name) in kinds {
            if let Ok(mut s) = signal(kind) {
                streams
                    .push(futures_util::stream::poll_fn(move |cx| s.poll_recv(cx).map(|o| o.map(|()| name))).boxed());
            }
        }
        let mut all = futures_util::stream::select_all(streams);
        while let Some(name) = all.next().await {
            let path = format!("/containers/{}/kill?signal={name}", path_escape(&id));
            if let Err(e) = conn.raw_bytes(Method::POST, &path).await {
                tracing::debug!("error sending signal: {e}");
            }
        }
    })
}

/// `POST /containers/{id}/resize?h=…&w=…` with the local terminal's size.
async fn resize(conn: &Conn, id: &str) -> Result<(), RequestError> {
    resize_at(conn, &format!("/containers/{}", path_escape(id))).await
}

/// `POST {base}/resize?h=…&w=…` (`base`: `/containers/{id}` or `/exec/{id}`) with the
/// local terminal's size.
async fn resize_at(conn: &Conn, base: &str) -> Result<(), RequestError> {
    let (h, w) = hijack::tty_size();
    if h == 0 && w == 0 {
        return Ok(());
    }
    conn.raw_bytes(Method::POST, &format!("{base}/resize?h={h}&w={w}")).await.map(|_| ())
}

/// docker's `MonitorTtySize`: the size now (retried a few times while the container
/// starts), then again on every SIGWINCH.
fn monitor_tty_size(conn: &Conn, id: &str) -> tokio::task::JoinHandle<()> {
    monitor_tty_size_at(conn, format!("/containers/{}", path_escape(id)))
}

/// [`monitor_tty_size`] for `base` (`/containers/{id}` or `/exec/{id}`).
pub(crate) fn monitor_tty_size_at(conn: &Conn, base: String) -> tokio::task::JoinHandle<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let (conn, id) = (conn.clone(), base);
    let resize = resize_at;
    tokio::spawn(async move {
        let mut winch = signal(SignalKind::window_change()).ok();
        if resize(&conn, &id).await.is_err() {
            let mut ok = false;
            for retry in 0..10u64 {
                tokio::time::sleep(Duration::from_millis((retry + 1) * 10)).await;
                if resize(&conn, &id).await.is_ok() {
                    ok = true;
                    break;
                }
            }
            if !ok {
                eprintln!("failed to resize tty, using default size");
            }
        }
        let Some(w) = winch.as_mut() else { return };
        while w.recv().await.is_some() {
            let _ = resize(&conn, &id).await;
        }
    })
}

/// Follows the container's output through `GET /containers/{id}/logs?follow=1` (the
/// fallback when the daemon cannot attach).
async fn follow_logs(conn: &Conn, id: &str, tty: bool, stdout: bool, stderr: bool) -> anyhow::Result<()> {
    let mut q = Query::default();
    q.add("follow", "1");
    if stdout {
        q.add("stdout", "1");
    }
    if stderr {
        q.add("stderr", "1");
    }
    let conn2 = conn.clone();
    let mut stream = conn.raw(Method::GET, &format!("/containers/{}/logs{}", path_escape(id), q.encode()), None);
    // Look at the first chunk: a missing logs endpoint is not an error here.
    let first = match stream.next().await {
        None => return Ok(()),
        Some(Err(e)) => {
            let e = conn.request_error(e);
            if e.status == Some(404) {
                return Ok(());
            }
            return Err(e.into());
        }
        Some(Ok(c)) => c,
    };
    let rest = futures_util::stream::iter([Ok(first)]).chain(stream.map(move |c| c.map_err(|e| conn2.error(e))));
    hijack::copy_output(Box::pin(rest), tty, stdout, stderr).await
}

/// Streams of an attached container, with what the CLI prints for them.
struct Session {
    conn: Conn,
    tr: Transport,
    id: String,
    tty: bool,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    detach_keys: String,
}

impl Session {
    /// Attaches.
    async fn attach(&self) -> Result<hijack::Upgraded, RequestError> {
        let r = AttachRequest {
            id: &self.id,
            stdin: self.stdin,
            stdout: self.stdout,
            stderr: self.stderr,
            detach_keys: &self.detach_keys,
        };
        attach(&self.tr, &r).await
    }

    /// Attaches; `None` when the daemon has no attach endpoint (then
    /// [`Session::follow`] is used instead).
    async fn attach_or_follow(&self) -> anyhow::Result<Option<hijack::Upgraded>> {
        match self.attach().await {
            Ok(c) => Ok(Some(c)),
            Err(e) if missing_endpoint(&e) => {
                tracing::debug!("attach not available ({}); following the logs instead", e.message);
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Copies the streams of an attached container until they end.
    async fn stream(&self, conn: hijack::Upgraded) -> anyhow::Result<StreamEnd> {
        let o = StreamOpts {
            stdin: self.stdin,
            stdout: self.stdout,
            stderr: self.stderr,
            tty: self.tty,
            detach_keys: escape_keys(&self.detach_keys),
        };
        hijack::stream(conn, &o).await
    }

    /// The fallback: follows the logs of the started container.
    async fn follow(&self) -> anyhow::Result<StreamEnd> {
        if self.stdout || self.stderr {
            follow_logs(&self.conn, &self.id, self.tty, self.stdout, self.stderr).await?;
        }
        Ok(StreamEnd::Eof)
    }
}

/// The exit status as the command's result.
fn exit_with(status: i32) -> anyhow::Result<()> {
    if status == 0 {
        Ok(())
    } else {
        Err(StatusError::new(status, "").into())
    }
}

/// `wharf run`.
pub(crate) async fn run(t: &Target, config: &ConfigFile, a: &RunArgs) -> anyhow::Result<()> {
    let c = &a.create;
    validate_pull(&c.pull).map_err(|e| with_help(e, "run"))?;
    let conn = connect(t).await.map_err(|e| with_help(format!("{e:#}"), "run"))?;
    let mut req = build_request(&conn, config, c).map_err(|e| with_help(e, "run"))?;
    if !a.detach {
        if req.tty && req.attach_stdin && !std::io::stdin().is_terminal() {
            return Err(anyhow!("the input device is not a TTY"));
        }
    } else {
        if !c.opts.attach.is_empty() {
            return Err(anyhow!("conflicting options: cannot specify both --attach and --detach"));
        }
        for k in ["AttachStdin", "AttachStdout", "AttachStderr", "StdinOnce"] {
            req.body[k] = json!(false);
        }
        req.attach_stdin = false;
        req.attach_stdout = false;
        req.attach_stderr = false;
    }
    let id = match create_container(&conn, c, &req).await {
        Ok(id) => id,
        Err(e) => return Err(with_help(format!("{e:#}"), "run")),
    };
    let signals = if a.sig_proxy { Some(forward_signals(&conn, &id)) } else { None };
    let result = run_attached(t, &conn, config, a, &req, &id).await;
    if let Some(s) = signals {
        s.abort();
    }
    result
}

async fn run_attached(
    t: &Target,
    conn: &Conn,
    config: &ConfigFile,
    a: &RunArgs,
    req: &CreateRequest,
    id: &str,
) -> anyhow::Result<()> {
    let tr = Transport::new(t.endpoint()?, conn.api_version());
    if a.detach {
        // The ID comes first, start errors after it (as with docker 28).
        println!("{id}");
    }
    let session = Session {
        conn: conn.clone(),
        tr: tr.clone(),
        id: id.to_string(),
        tty: req.tty,
        stdin: req.attach_stdin,
        stdout: req.attach_stdout,
        stderr: req.attach_stderr,
        detach_keys: detach_keys(&a.detach_keys, config),
    };
    let attached = req.attach_stdin || req.attach_stdout || req.attach_stderr;
    let hijacked = if attached { session.attach_or_follow().await? } else { None };
    let status = if a.detach { None } else { Some(wait_exit_or_removed(conn, &tr, id, req.auto_remove).await) };

    if let Err(e) = conn.raw_bytes(Method::POST, &format!("/containers/{}/start", path_escape(id))).await {
        drop(hijacked);
        if let (true, Some(s)) = (req.auto_remove, status) {
            let _ = s.await;
        }
        let code = start_error_status(&e.message);
        return Err(StatusError::new(
            code,
            format!("wharf: {}\n\nRun 'wharf run --help' for more information", e.message),
        )
        .into());
    }
    let resizer =
        if attached && req.tty && std::io::stdout().is_terminal() { Some(monitor_tty_size(conn, id)) } else { None };
    let end = match hijacked {
        Some(h) => session.stream(h).await,
        None if attached => session.follow().await,
        None => Ok(StreamEnd::Eof),
    };
    if let Some(r) = resizer {
        r.abort();
    }
    if end? == StreamEnd::Detached {
        return Ok(());
    }
    match status {
        Some(s) => exit_with(s.await.unwrap_or(125)),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------
// start
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short = 'a', long)]
    pub attach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string", default_value = "", hide_default_value = true)]
    pub detach_keys: String,
    /// Attach container's STDIN
    #[arg(short = 'i', long)]
    pub interactive: bool,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

/// `wharf start`.
pub(crate) async fn start(t: &Target, config: &ConfigFile, a: &StartArgs) -> anyhow::Result<()> {
    let conn = connect(t).await?;
    if !(a.attach || a.interactive) {
        let mut failed = Vec::new();
        for c in &a.containers {
            match conn.raw_bytes(Method::POST, &format!("/containers/{}/start", path_escape(c))).await {
                Ok(_) => println!("{c}"),
                Err(e) => {
                    eprintln!("{e}");
                    failed.push(c.as_str());
                }
            }
        }
        if !failed.is_empty() {
            return Err(anyhow!("Error: failed to start containers: {}", failed.join(", ")));
        }
        return Ok(());
    }
    if a.containers.len() > 1 {
        return Err(anyhow!("you cannot start and attach multiple containers at once"));
    }
    let c = conn.raw_json(Method::GET, &format!("/containers/{}/json", path_escape(&a.containers[0]))).await?;
    let id = c["Id"].as_str().unwrap_or("").to_string();
    let tty = c["Config"]["Tty"].as_bool().unwrap_or(false);
    let auto_remove = c["HostConfig"]["AutoRemove"].as_bool().unwrap_or(false);
    let signals = if !tty { Some(forward_signals(&conn, &id)) } else { None };
    let tr = Transport::new(t.endpoint()?, conn.api_version());
    let session = Session {
        conn: conn.clone(),
        tr: tr.clone(),
        id: id.clone(),
        tty,
        stdin: a.interactive && c["Config"]["OpenStdin"].as_bool().unwrap_or(false),
        stdout: true,
        stderr: true,
        detach_keys: detach_keys(&a.detach_keys, config),
    };
    let result = async {
        let hijacked = session.attach_or_follow().await?;
        let status = wait_exit_or_removed(&conn, &tr, &id, auto_remove).await;
        if let Err(e) = conn.raw_bytes(Method::POST, &format!("/containers/{}/start", path_escape(&id))).await {
            drop(hijacked);
            if auto_remove {
                let _ = status.await;
            }
            return Err(e.into());
        }
        let resizer = if tty && std::io::stdout().is_terminal() { Some(monitor_tty_size(&conn, &id)) } else { None };
        let end = match hijacked {
            Some(h) => session.stream(h).await,
            None => session.follow().await,
        };
        if let Some(r) = resizer {
            r.abort();
        }
        if end? == StreamEnd::Detached {
            return Ok(());
        }
        exit_with(status.await.unwrap_or(125))
    }
    .await;
    if let Some(s) = signals {
        s.abort();
    }
    result
}

// ---------------------------------------------------------------------------------------
// attach
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct AttachArgs {
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string", default_value = "", hide_default_value = true)]
    pub detach_keys: String,
    /// Do not attach STDIN
    #[arg(long = "no-stdin")]
    pub no_stdin: bool,
    /// Proxy all received signals to the process (default true)
    #[arg(long = "sig-proxy", num_args = 0..=1, require_equals = true, default_missing_value = "true",
          default_value = "true", hide_default_value = true, value_parser = parse_go_bool, value_name = "bool")]
    pub sig_proxy: bool,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// docker's `inspectContainerAndCheckState`.
async fn inspect_running(conn: &Conn, name: &str) -> anyhow::Result<Value> {
    let c = conn.raw_json(Method::GET, &format!("/containers/{}/json", path_escape(name))).await?;
    let state = &c["State"];
    if state["Running"] != true {
        return Err(anyhow!("You cannot attach to a stopped container, start it first"));
    }
    if state["Paused"] == true {
        return Err(anyhow!("You cannot attach to a paused container, unpause it first"));
    }
    if state["Restarting"] == true {
        return Err(anyhow!("You cannot attach to a restarting container, wait until it is running"));
    }
    Ok(c)
}

/// `wharf attach`.
pub(crate) async fn attach_cmd(t: &Target, config: &ConfigFile, a: &AttachArgs) -> anyhow::Result<()> {
    let conn = connect(t).await?;
    let tr = Transport::new(t.endpoint()?, conn.api_version());
    // The wait is asked for first, as docker does.
    let (tx, status) = tokio::sync::oneshot::channel();
    {
        let (tr, path) = (tr.clone(), format!("/containers/{}/wait", path_escape(&a.container)));
        tokio::spawn(async move {
            let code = match tr.request(Method::POST, &path, false).await {
                Ok(resp) => hijack::read_json(resp).await.map(|v| v["StatusCode"].as_i64().unwrap_or(0) as i32),
                Err(e) => Err(anyhow::Error::from(e)),
            };
            let _ = tx.send(code);
        });
    }
    let c = inspect_running(&conn, &a.container).await?;
    let tty = c["Config"]["Tty"].as_bool().unwrap_or(false);
    if !a.no_stdin && tty && !std::io::stdin().is_terminal() {
        return Err(anyhow!("the input device is not a TTY"));
    }
    let id = c["Id"].as_str().unwrap_or(&a.container).to_string();
    let signals = if a.sig_proxy && !tty { Some(forward_signals(&conn, &id)) } else { None };
    let session = Session {
        conn: conn.clone(),
        tr,
        id: a.container.clone(),
        tty,
        stdin: !a.no_stdin && c["Config"]["OpenStdin"].as_bool().unwrap_or(false),
        stdout: true,
        stderr: true,
        detach_keys: detach_keys(&a.detach_keys, config),
    };
    let result = async {
        let h = session.attach().await?;
        inspect_running(&conn, &a.container).await?;
        if tty && std::io::stdout().is_terminal() {
            let _ = resize(&conn, &id).await;
        }
        if session.stream(h).await? == StreamEnd::Detached {
            return Ok(());
        }
        match status.await {
            Ok(Ok(code)) => exit_with(code),
            Ok(Err(e)) => Err(e),
            Err(_) => Ok(()),
        }
    }
    .await;
    if let Some(s) = signals {
        s.abort();
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_error_statuses() {
        assert_eq!(
            start_error_status(
                "Error response from daemon: failed to create task for container: exec: \"nope\": executable file not found in $PATH"
            ),
            127
        );
        assert_eq!(start_error_status("Error response from daemon: open /x: no such file or directory"), 127);
        assert_eq!(start_error_status("Error response from daemon: exec /etc: permission denied"), 126);
        assert_eq!(start_error_status("Error response from daemon: boom"), 125);
    }

    #[test]
    fn image_names_for_the_pull_notice() {
        assert_eq!(familiar_tagged("busybox").as_deref(), Some("busybox:latest"));
        assert_eq!(familiar_tagged("docker.io/library/busybox:1.36").as_deref(), Some("busybox:1.36"));
        assert_eq!(familiar_tagged("localhost:5000/foo").as_deref(), Some("localhost:5000/foo:latest"));
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(familiar_tagged(&format!("foo@{d}")), Some(format!("foo@{d}")));
        assert_eq!(familiar_tagged(&"a".repeat(64)), None);
    }

    #[test]
    fn pull_options() {
        assert!(validate_pull("always").is_ok() && validate_pull("never").is_ok() && validate_pull("").is_ok());
        assert_eq!(
            validate_pull("bogus"),
            Err("invalid pull option: 'bogus': must be one of \"always\", \"missing\" or \"never\"".into())
        );
    }
}
