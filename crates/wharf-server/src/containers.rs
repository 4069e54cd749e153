//! `/containers/…`: create, list, inspect, start, stop, restart, kill, pause, unpause, wait,
//! remove, rename, logs, prune (attach, exec, top, stats, cp, export, changes, update as they
//! land; until then they are the usual 404 `page not found`).
//!
//! As dockerd's router: query arguments are read as `r.Form` ([`crate::query`]), the checks
//! dockerd's router makes are made here (filter keys, `condition`, the stream choice of logs,
//! the create body), everything about the containers themselves is the backend's. The shapes
//! are in [`wire`], the create body in [`create`], the log framing in [`logs`].
//!
//! `/containers/{id}` also carries `GET json` (list) and `POST create|prune`, so that a
//! container named `json`, `create` or `prune` can still be removed, as with dockerd, whose
//! routes are matched per method.
//!
//! Streams: `wait` answers 200 at once and writes its one JSON object when the wait ends (API
//! 1.30 and later); `logs` writes each line as the backend yields it. A backend error before
//! either starts is an ordinary error answer.

mod create;
mod logs;
#[cfg(test)]
pub(crate) mod tests;
pub(crate) mod wire;

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use bytes::Bytes;
use futures_util::{FutureExt, Stream, StreamExt};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{HeaderMap, StatusCode, Uri};
use wharf_api::{ApiVersion, CURRENT_API_VERSION};
use wharf_container::{Container, CreateRequest, PS_FILTERS};
use wharf_image::store::GraphDriver;
use wharf_types::{parse_timestamp, ErrorKind, Filters};

use crate::query::QueryArgs;
use crate::ApiError;

/// `GET /containers/{id}/json`: the record and what the daemon computes around it.
#[derive(Debug, Clone)]
pub struct Inspected {
    /// The record (config, host config, state).
    pub container: Container,
    /// The writable layer's driver data (`GraphDriver`).
    pub graph_driver: GraphDriver,
    /// `SizeRw` / `SizeRootFs` when `size=1` was asked.
    pub sizes: Option<(i64, i64)>,
    /// `NetworkSettings` parts the daemon computes: `Networks` (network name → Docker's
    /// `EndpointSettings`) and `Ports` (`"80/tcp"` → `[{HostIp, HostPort}]` or `null`), when
    /// the container has endpoints.
    pub networks: Option<serde_json::Value>,
}

/// `GET /containers/json` options.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// `all`: stopped containers too.
    pub all: bool,
    /// `limit`: the newest N (0 = no limit); implies `all`.
    pub limit: usize,
    /// `size`: compute `SizeRw` / `SizeRootFs`.
    pub size: bool,
    /// `filters`: `id`, `name`, `label`, `status`, `ancestor`, `before`, `since`, `exited`,
    /// `health`, `volume`, `network`, `publish`, `expose`, `is-task`.
    pub filters: Filters,
}

/// `GET /containers/{id}/logs` options.
#[derive(Debug, Clone, Default)]
pub struct LogsOptions {
    /// `follow`.
    pub follow: bool,
    /// `stdout`.
    pub stdout: bool,
    /// `stderr`.
    pub stderr: bool,
    /// `since` (Unix nanoseconds; 0: from the start).
    pub since: i64,
    /// `until` (Unix nanoseconds; 0: no end).
    pub until: i64,
    /// `timestamps`.
    pub timestamps: bool,
    /// `tail` (`None`: all).
    pub tail: Option<usize>,
}

/// One log line for the API: which stream (1 stdout, 2 stderr), when (Unix nanoseconds), bytes.
pub type LogLine = (u8, i64, Vec<u8>);

/// A stream of log lines; it ends when the logs end (or, following, when the container stops).
pub type LogStream = Pin<Box<dyn Stream<Item = LogLine> + Send>>;

/// `POST /containers/{id}/wait?condition=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WaitCondition {
    /// `not-running` (default): returns at once if it is not running.
    #[default]
    NotRunning,
    /// `next-exit`: the next exit.
    NextExit,
    /// `removed`: when it is removed.
    Removed,
}

/// What `wait` resolves to once the condition is met: the exit code and an error text if any.
pub type WaitFuture = Pin<Box<dyn std::future::Future<Output = (i64, Option<String>)> + Send>>;

/// A byte stream both ways (an attach connection to a container's shim).
pub trait AttachIo: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}

impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> AttachIo for T {}

/// What `attach` resolves to: bytes already received from the container, then the stream.
pub type AttachFuture =
    Pin<Box<dyn std::future::Future<Output = Result<(Vec<u8>, Box<dyn AttachIo>), ApiError>> + Send>>;

/// What the container routes need from the daemon. `name` is what the client sent: a full ID,
/// a name (with or without `/`), or a unique ID prefix.
#[async_trait]
pub trait ContainerBackend: Send + Sync + 'static {
    /// `POST /containers/create?name=`: the new container's ID and warnings.
    async fn create(&self, req: CreateRequest) -> Result<(String, Vec<String>), ApiError>;
    /// `GET /containers/json`, newest first.
    async fn list(&self, opts: ListOptions) -> Result<Vec<Inspected>, ApiError>;
    /// `GET /containers/{id}/json?size=`.
    async fn inspect(&self, name: &str, size: bool) -> Result<Inspected, ApiError>;
    /// `POST /containers/{id}/start`: 304 (`NotModified`) when it runs already.
    async fn start(&self, name: &str) -> Result<(), ApiError>;
    /// `POST /containers/{id}/stop?signal=&t=`: 304 when it is not running.
    async fn stop(&self, name: &str, signal: Option<String>, timeout: Option<i64>) -> Result<(), ApiError>;
    /// `POST /containers/{id}/restart?signal=&t=`.
    async fn restart(&self, name: &str, signal: Option<String>, timeout: Option<i64>) -> Result<(), ApiError>;
    /// `POST /containers/{id}/kill?signal=` (default `SIGKILL`); 409 when not running.
    async fn kill(&self, name: &str, signal: &str) -> Result<(), ApiError>;
    /// `POST /containers/{id}/wait?condition=`: resolves the container first (404 before the
    /// 200 header), then waits; the result is the exit code and an error text if any.
    async fn wait(&self, name: &str, condition: WaitCondition) -> Result<WaitFuture, ApiError>;
    /// `DELETE /containers/{id}?force=&v=&link=`: 409 when it runs and `force` is not set.
    async fn remove(&self, name: &str, force: bool, volumes: bool) -> Result<(), ApiError>;
    /// `POST /containers/{id}/rename?name=`.
    async fn rename(&self, name: &str, new_name: &str) -> Result<(), ApiError>;
    /// `GET /containers/{id}/logs`: whether the container has a TTY (then lines are sent raw,
    /// not multiplexed) and the lines.
    async fn logs(&self, name: &str, opts: LogsOptions) -> Result<(bool, LogStream), ApiError>;
    /// `POST /containers/prune?filters=` (`until`, `label`, `label!`): removed IDs and bytes freed.
    async fn prune(&self, filters: Filters) -> Result<(Vec<String>, u64), ApiError>;
    /// `POST /containers/{id}/attach?stdin=&stdout=&stderr=&stream=`: whether the container
    /// has a TTY, and a future that yields the stream once the container runs (at once if it
    /// does; at its next start otherwise): bytes already received, then the connection.
    async fn attach(
        &self,
        name: &str,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<(bool, AttachFuture), ApiError>;
    /// `POST /containers/{id}/resize?h=&w=`: the container's terminal size.
    async fn resize(&self, name: &str, height: u16, width: u16) -> Result<(), ApiError>;
    /// `POST /containers/{id}/exec`: the new exec's ID.
    async fn exec_create(&self, name: &str, config: wharf_container::ExecConfig) -> Result<String, ApiError>;
    /// `POST /exec/{id}/start`: runs it. Detached: `None`. Otherwise whether it has a TTY and
    /// its stream (as for attach).
    async fn exec_start(&self, id: &str, detach: bool) -> Result<Option<(bool, AttachFuture)>, ApiError>;
    /// `GET /exec/{id}/json`.
    async fn exec_inspect(&self, id: &str) -> Result<wharf_container::ExecInfo, ApiError>;
    /// `POST /exec/{id}/resize?h=&w=`.
    async fn exec_resize(&self, id: &str, height: u16, width: u16) -> Result<(), ApiError>;
    /// One sample of `GET /containers/{id}/stats` (the route paces and pairs samples).
    async fn stats(&self, name: &str) -> Result<(Container, wharf_container::StatsSample), ApiError>;
    /// `GET /containers/{id}/top?ps_args=`: titles and rows.
    async fn top(&self, name: &str, ps_args: &str) -> Result<(Vec<String>, Vec<Vec<String>>), ApiError>;
    /// `POST /containers/{id}/pause`.
    async fn pause(&self, name: &str) -> Result<(), ApiError>;
    /// `POST /containers/{id}/unpause`.
    async fn unpause(&self, name: &str) -> Result<(), ApiError>;
    /// `POST /containers/{id}/update`: new limits / restart policy; the warnings.
    async fn update(&self, name: &str, update: wharf_container::UpdateConfig) -> Result<Vec<String>, ApiError>;
}

/// The container routes.
pub(crate) fn routes(backend: Arc<dyn ContainerBackend>) -> Router {
    Router::new()
        .route("/containers/{id}", get(get_root).post(post_root).delete(remove))
        .route("/containers/{id}/json", get(inspect))
        .route("/containers/{id}/logs", get(logs))
        .route("/containers/{id}/start", post(start))
        .route("/containers/{id}/stop", post(stop))
        .route("/containers/{id}/restart", post(restart))
        .route("/containers/{id}/kill", post(kill))
        .route("/containers/{id}/pause", post(pause))
        .route("/containers/{id}/unpause", post(unpause))
        .route("/containers/{id}/rename", post(rename))
        .route("/containers/{id}/wait", post(wait))
        .route("/containers/{id}/attach", post(attach))
        .route("/containers/{id}/resize", post(resize))
        .route("/containers/{id}/stats", get(stats))
        .route("/containers/{id}/top", get(top))
        .route("/containers/{id}/update", post(update))
        .route("/containers/{id}/exec", post(exec_create))
        .route("/exec/{id}/start", post(exec_start))
        .route("/exec/{id}/json", get(exec_inspect))
        .route("/exec/{id}/resize", post(exec_resize))
        .with_state(backend)
}

/// The routes' state.
type Backend = Arc<dyn ContainerBackend>;

/// The `{id}` of a route, percent-decoded.
type Id = Result<Path<String>, PathRejection>;

/// Filters `POST /containers/prune` accepts (dockerd's `containersAcceptedFilters`).
const PRUNE_FILTERS: &[&str] = &["label", "label!", "until"];

/// The most of a create body read (dockerd reads it whole too).
const MAX_CREATE_BODY: usize = 16 << 20;

/// `1.minor`.
const fn v1(minor: u16) -> ApiVersion {
    ApiVersion { major: 1, minor }
}

/// `GET /containers/json`; any other `GET /containers/{x}` is unknown.
async fn get_root(State(b): State<Backend>, uri: Uri, id: Id) -> Result<Response, ApiError> {
    match path(id)?.as_str() {
        "json" => list(&*b, &QueryArgs::from_uri(&uri)?).await,
        _ => Err(crate::error::not_found().await),
    }
}

/// `POST /containers/create` and `POST /containers/prune`.
async fn post_root(
    State(b): State<Backend>,
    version: Option<Extension<ApiVersion>>,
    uri: Uri,
    headers: HeaderMap,
    id: Id,
    body: Body,
) -> Result<Response, ApiError> {
    let (id, q) = (path(id)?, QueryArgs::from_uri(&uri)?);
    match id.as_str() {
        "create" => create(&*b, &q, api_version(version), &headers, body).await,
        "prune" => {
            let filters = filters(&q, PRUNE_FILTERS)?;
            let (deleted, space) = b.prune(filters).await?;
            let containers_deleted = (!deleted.is_empty()).then_some(deleted);
            Ok(Json(wire::PruneResponse { containers_deleted, space_reclaimed: space }).into_response())
        }
        _ => Err(crate::error::not_found().await),
    }
}

/// `POST /containers/create?name=…&platform=…` (the platform is not used: wharf runs the
/// host's).
async fn create(
    b: &dyn ContainerBackend,
    q: &QueryArgs,
    version: ApiVersion,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = axum::body::to_bytes(body, MAX_CREATE_BODY)
        .await
        .map_err(|e| ApiError::invalid(format!("error reading request body: {e}")))?;
    check_json(headers, &body)?;
    let decoded = create::decode(q.get("name").unwrap_or_default(), &body, version)?;
    let (id, mut warnings) = b.create(decoded.request).await?;
    warnings.extend(decoded.warnings);
    Ok((StatusCode::CREATED, Json(wire::CreateResponse { id, warnings })).into_response())
}

/// dockerd's `CheckForJSON`: a body needs `Content-Type: application/json`.
pub(crate) fn check_json(headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    let ct = headers.get(CONTENT_TYPE).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).unwrap_or_default();
    if ct.is_empty() && body.is_empty() {
        return Ok(());
    }
    let media = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if media.is_empty() {
        return Err(ApiError::invalid(format!("malformed Content-Type header ({ct}): mime: no media type")));
    }
    if media != "application/json" {
        return Err(ApiError::invalid(format!("unsupported Content-Type header ({ct}): must be 'application/json'")));
    }
    Ok(())
}

/// `GET /containers/json?all=…&limit=…&size=…&filters=…`. The backend filters; a `status`
/// filter implies `all`, as dockerd.
async fn list(b: &dyn ContainerBackend, q: &QueryArgs) -> Result<Response, ApiError> {
    let filters = filters(q, PS_FILTERS)?;
    let limit = match q.get("limit").filter(|l| !l.is_empty()) {
        Some(l) => usize::try_from(atoi(l)?).unwrap_or(0),
        None => 0,
    };
    let opts = ListOptions { all: q.bool("all") || filters.contains("status"), limit, size: q.bool("size"), filters };
    let now = crate::now_nanos();
    let listed = b.list(opts).await?;
    Ok(Json(listed.into_iter().map(|i| wire::summary(i, now)).collect::<Vec<_>>()).into_response())
}

/// `GET /containers/{id}/json?size=…`.
async fn inspect(State(b): State<Backend>, uri: Uri, id: Id) -> Result<Response, ApiError> {
    let (id, q) = (path(id)?, QueryArgs::from_uri(&uri)?);
    let inspected = b.inspect(&id, q.bool("size")).await?;
    Ok(Json(wire::inspect(inspected)).into_response())
}

/// `POST /containers/{id}/start`. A body (a host config, before API 1.24) is refused, as
/// dockerd; so are checkpoints (experimental in dockerd).
async fn start(State(b): State<Backend>, uri: Uri, headers: HeaderMap, id: Id) -> Result<Response, ApiError> {
    let (id, q) = (path(id)?, QueryArgs::from_uri(&uri)?);
    let length = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    if length.is_some_and(|l| l > 7) || (length.is_none() && headers.contains_key(TRANSFER_ENCODING)) {
        return Err(ApiError::invalid(
            "starting container with non-empty request body was deprecated since API v1.22 and removed in v1.24",
        ));
    }
    if q.get("checkpoint").is_some_and(|c| !c.is_empty()) {
        return Err(ApiError::invalid("checkpoint is only supported in experimental mode"));
    }
    b.start(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The `signal` (API 1.42 and later) and `t` of stop and restart.
fn stop_options(q: &QueryArgs, version: ApiVersion) -> Result<(Option<String>, Option<i64>), ApiError> {
    let signal = q.get("signal").filter(|s| version >= v1(42) && !s.is_empty()).map(str::to_string);
    let timeout = match q.get("t").filter(|t| !t.is_empty()) {
        Some(t) => Some(atoi(t)?),
        None => None,
    };
    Ok((signal, timeout))
}

/// `POST /containers/{id}/stop?signal=…&t=…`: 204, or 304 when it was not running.
async fn stop(
    State(b): State<Backend>,
    version: Option<Extension<ApiVersion>>,
    uri: Uri,
    id: Id,
) -> Result<Response, ApiError> {
    let (id, q) = (path(id)?, QueryArgs::from_uri(&uri)?);
    let (signal, timeout) = stop_options(&q, api_version(version))?;
    b.stop(&id, signal, timeout).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /containers/{id}/restart?signal=…&t=…`.
async fn restart(
    State(b): State<Backend>,
    version: Option<Extension<ApiVersion>>,
    uri: Uri,
    id: Id,
) -> Result<Response, ApiError> {
    let (id, q) = (path(id)?, QueryArgs::from_uri(&uri)?);
    let (signal, timeout) = stop_options(&q, api_version(version))?;
    b.restart(&id, signal, timeout).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /containers/{id}/kill?signal=…` (`SIGKILL` when none). Errors are prefixed with
/// `cannot kill container: <name>: `, as dockerd's router does.
async fn kill(State(b): State<Backend>, uri: Uri, id: Id) -> Result<Response, ApiError> {
    let (id, q) = (path(id)?, QueryArgs::from_uri(&uri)?);
    let signal = q.get("signal").filter(|s| !s.is_empty()).unwrap_or("SIGKILL");
    b.kill(&id, signal)
        .await
        .map_err(|e| ApiError { message: format!("cannot kill container: {id}: {}", e.message), ..e })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /containers/{id}/pause`.
async fn pause(State(b): State<Backend>, id: Id) -> Result<Response, ApiError> {
    b.pause(&path(id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /containers/{id}/unpause`.
async fn unpause(State(b): State<Backend>, id: Id) -> Result<Response, ApiError> {
    b.unpause(&path(id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /containers/{id}/rename?name=…` (the backend refuses an empty or taken name).
async fn rename(State(b): State<Backend>, uri: Uri, id: Id) -> Result<Response, ApiError> {
    let (id, q) = (path(id)?, QueryArgs::from_uri(&uri)?);
    b.rename(&id, q.get("name").unwrap_or_default()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /containers/{id}?force=…&v=…&link=…`. Legacy links do not exist in wharf: removing
/// one is refused as dockerd refuses removing a container's own name as a link.
async fn remove(State(b): State<Backend>, uri: Uri, id: Id) -> Result<Response, ApiError> {
    let (id, q) = (path(id)?, QueryArgs::from_uri(&uri)?);
    if q.bool("link") {
        let full = format!("/{}", id.trim_start_matches('/'));
        return Err(match full.rsplit_once('/') {
            Some(("", _)) => {
                ApiError::new(ErrorKind::Conflict, "Conflict, cannot remove the default link name of the container")
            }
            _ => ApiError::new(ErrorKind::NotFound, format!("Could not find entity for {full}")),
        });
    }
    b.remove(&id, q.bool("force"), q.bool("v")).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /containers/{id}/wait?condition=…`. From API 1.30 the 200 and the headers go out as
/// soon as the wait began (the container was found) and the body when it ends; before, the
/// whole answer waits and `condition` is ignored. Before 1.34, a failed `removed` wait answers
/// an empty body.
async fn wait(
    State(b): State<Backend>,
    version: Option<Extension<ApiVersion>>,
    uri: Uri,
    id: Id,
) -> Result<Response, ApiError> {
    let (id, q, version) = (path(id)?, QueryArgs::from_uri(&uri)?, api_version(version));
    let legacy = version < v1(30);
    let mut condition = WaitCondition::NotRunning;
    let mut empty_on_error = false;
    if !legacy {
        match q.get("condition").unwrap_or_default() {
            "" | "not-running" => {}
            "next-exit" => condition = WaitCondition::NextExit,
            "removed" => {
                condition = WaitCondition::Removed;
                empty_on_error = version < v1(34);
            }
            other => return Err(ApiError::invalid(format!("invalid condition: {}", go_quote(other)))),
        }
    }
    let waiting = b.wait(&id, condition).await?;
    let body = waiting.map(move |(status_code, error)| {
        if empty_on_error && error.is_some() {
            return Bytes::new();
        }
        let error = error.map(|message| wire::WaitError { message });
        let mut json = serde_json::to_vec(&wire::WaitResponse { error, status_code }).unwrap_or_default();
        json.push(b'\n');
        Bytes::from(json)
    });
    let headers = [(CONTENT_TYPE, "application/json")];
    if legacy {
        return Ok((headers, body.await).into_response());
    }
    let stream = futures_util::stream::once(body.map(Ok::<_, Infallible>));
    Ok((headers, Body::from_stream(stream)).into_response())
}

/// `GET /containers/{id}/logs?follow=…&stdout=…&stderr=…&since=…&until=…&timestamps=…&tail=…`.
async fn logs(
    State(b): State<Backend>,
    version: Option<Extension<ApiVersion>>,
    uri: Uri,
    id: Id,
) -> Result<Response, ApiError> {
    let (id, q, version) = (path(id)?, QueryArgs::from_uri(&uri)?, api_version(version));
    let (stdout, stderr) = (q.bool("stdout"), q.bool("stderr"));
    // Checked before the container is looked up, as dockerd.
    if !(stdout || stderr) {
        return Err(ApiError::invalid("Bad parameters: you must choose at least one stream"));
    }
    let now = crate::now_nanos();
    let time = |key: &str| match q.get(key).filter(|v| !v.is_empty()) {
        Some(v) => parse_timestamp(v, now).map_err(ApiError::from_err),
        None => Ok(0),
    };
    // dockerd: a tail that is not a number, or is negative, is all of it.
    let tail = q.get("tail").and_then(|t| t.trim().parse::<i64>().ok()).and_then(|t| usize::try_from(t).ok());
    let opts = LogsOptions {
        follow: q.bool("follow"),
        stdout,
        stderr,
        since: time("since")?,
        until: time("until")?,
        timestamps: q.bool("timestamps"),
        tail,
    };
    let writer = logs::Writer { mux: false, timestamps: opts.timestamps, stdout, stderr };
    let (tty, lines) = b.logs(&id, opts).await?;
    let writer = logs::Writer { mux: !tty, ..writer };
    let content_type = if !tty && version >= v1(42) { logs::MULTIPLEXED } else { logs::RAW };
    let chunks = lines.filter_map(move |l| std::future::ready(writer.line(l))).map(Ok::<_, Infallible>);
    Ok(([(CONTENT_TYPE, content_type)], Body::from_stream(chunks)).into_response())
}

/// Parses `filters` and checks its keys against `accepted`, with dockerd's messages.
fn filters(q: &QueryArgs, accepted: &[&str]) -> Result<Filters, ApiError> {
    let f = Filters::from_json(q.get("filters").unwrap_or_default()).map_err(ApiError::from_err)?;
    f.validate(accepted).map_err(ApiError::from_err)?;
    Ok(f)
}

/// Go's `strconv.Atoi`, with its messages (a 400 here; dockerd lets them be 500s).
fn atoi(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>().map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => "value out of range",
            _ => "invalid syntax",
        };
        ApiError::invalid(format!("strconv.Atoi: parsing {}: {why}", go_quote(s)))
    })
}

/// Go's `%q` of a string, close enough: JSON's quoting.
fn go_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The `{id}` of the path.
fn path(p: Id) -> Result<String, ApiError> {
    p.map(|Path(s)| s).map_err(|e| ApiError::invalid(e.body_text()))
}

/// The negotiated version (the current one when the version layer did not run).
fn api_version(v: Option<Extension<ApiVersion>>) -> ApiVersion {
    v.map(|Extension(v)| v).unwrap_or(CURRENT_API_VERSION)
}

/// `POST /containers/{id}/attach`: answers `101 UPGRADED` (`Upgrade: tcp`) and then carries the
/// container's stdio over the hijacked connection — multiplexed frames without a TTY, raw with
/// one — as dockerd. The connection ends when the container's output ends.
async fn attach(
    State(b): State<Backend>,
    uri: Uri,
    id: Id,
    mut req: axum::extract::Request,
) -> Result<Response, ApiError> {
    let (id, q) = (path(id)?, QueryArgs::from_uri(&uri)?);
    let keys = detach_keys(q.get("detachKeys").unwrap_or_default())?;
    let (tty, stream) = b.attach(&id, q.bool("stdin"), q.bool("stdout"), q.bool("stderr")).await?;
    Ok(hijack(&mut req, tty, keys, stream))
}

/// The detach keys of an attach or exec (dockerd's default: ctrl-p, ctrl-q); a 400 with
/// dockerd's text when they do not parse.
fn detach_keys(spec: &str) -> Result<Vec<u8>, ApiError> {
    if spec.is_empty() {
        return Ok(wharf_types::DEFAULT_DETACH_KEYS.to_vec());
    }
    wharf_types::parse_detach_keys(spec)
        .map_err(|_| ApiError::invalid(format!("Invalid detach keys ({spec}) provided")))
}

/// Answers `101 UPGRADED` (when the client asked to upgrade) and, once upgraded, copies bytes
/// both ways between the client and `stream` until the container's side ends. With a TTY,
/// the detach keys typed by the client end the attach (the container keeps running), as
/// dockerd's `copyEscapable`.
fn hijack(req: &mut axum::extract::Request, tty: bool, keys: Vec<u8>, stream: AttachFuture) -> Response {
    let upgrade = req.headers().get(http::header::UPGRADE).is_some();
    let on_upgrade = hyper::upgrade::on(req);
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let Ok(upgraded) = on_upgrade.await else { return };
        let mut client = hyper_util::rt::TokioIo::new(upgraded);
        if let Ok((buffered, shim)) = stream.await {
            if client.write_all(&buffered).await.is_ok() {
                let _ = pump(&mut client, shim, if tty { keys } else { Vec::new() }).await;
            }
        }
        let _ = client.shutdown().await;
    });
    let content_type =
        if tty { "application/vnd.docker.raw-stream" } else { "application/vnd.docker.multiplexed-stream" };
    let mut resp = Response::new(Body::empty());
    if upgrade {
        *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        resp.headers_mut().insert(http::header::CONNECTION, http::HeaderValue::from_static("Upgrade"));
        resp.headers_mut().insert(http::header::UPGRADE, http::HeaderValue::from_static("tcp"));
    }
    resp.headers_mut().insert(CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    resp
}

/// Copies client → container (through the detach-key proxy) and container → client until the
/// container's output ends or the client detaches. The end of the client's input half-closes
/// the container side (its stdin ends); a detach drops it whole.
async fn pump<C>(client: &mut C, shim: Box<dyn AttachIo>, keys: Vec<u8>) -> std::io::Result<()>
where
    C: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut shim_r, mut shim_w) = tokio::io::split(shim);
    let (mut client_r, mut client_w) = tokio::io::split(client);
    let input = async {
        let mut proxy = wharf_types::EscapeProxy::new(keys);
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            let n = client_r.read(&mut buf).await?;
            if n == 0 {
                shim_w.shutdown().await?;
                // Input is over; the output goes on until the container's side ends.
                return std::future::pending::<std::io::Result<()>>().await;
            }
            match proxy.feed(&buf[..n]) {
                wharf_types::Escape::Data(d) => shim_w.write_all(&d).await?,
                wharf_types::Escape::Detach => return Ok(()),
            }
        }
    };
    let output = async {
        tokio::io::copy(&mut shim_r, &mut client_w).await?;
        client_w.flush().await
    };
    tokio::select! {
        r = input => r,
        r = output => r,
    }
}

/// `h` and `w` of a resize.
fn size_args(q: &QueryArgs) -> Result<(u16, u16), ApiError> {
    let n = |k: &str| -> Result<u16, ApiError> {
        let v = q.get(k).unwrap_or_default();
        v.parse::<u16>().map_err(|_| ApiError::invalid(format!("strconv.Atoi: parsing {v:?}: invalid syntax")))
    };
    Ok((n("h")?, n("w")?))
}

/// `POST /containers/{id}/resize`.
async fn resize(State(b): State<Backend>, uri: Uri, id: Id) -> Result<Response, ApiError> {
    let (id, q) = (path(id)?, QueryArgs::from_uri(&uri)?);
    let (h, w) = size_args(&q)?;
    b.resize(&id, h, w).await?;
    Ok(StatusCode::OK.into_response())
}

/// `POST /containers/{id}/exec`: 201 `{"Id": …}`.
async fn exec_create(State(b): State<Backend>, id: Id, headers: HeaderMap, body: Body) -> Result<Response, ApiError> {
    let id = path(id)?;
    let body = axum::body::to_bytes(body, MAX_CREATE_BODY)
        .await
        .map_err(|e| ApiError::invalid(format!("error reading request body: {e}")))?;
    check_json(&headers, &body)?;
    if body.is_empty() {
        return Err(ApiError::invalid("invalid JSON: got EOF while reading request body"));
    }
    let config: wharf_container::ExecConfig =
        serde_json::from_slice(&body).map_err(|e| ApiError::invalid(format!("invalid JSON: {e}")))?;
    let exec_id = b.exec_create(&id, config).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "Id": exec_id }))).into_response())
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct ExecStartBody {
    detach: bool,
}

/// `POST /exec/{id}/start`: detached → 200; else the hijacked stream.
async fn exec_start(State(b): State<Backend>, id: Id, mut req: axum::extract::Request) -> Result<Response, ApiError> {
    let id = path(id)?;
    let body = axum::body::to_bytes(std::mem::take(req.body_mut()), MAX_CREATE_BODY)
        .await
        .map_err(|e| ApiError::invalid(format!("error reading request body: {e}")))?;
    let start: ExecStartBody = if body.is_empty() {
        ExecStartBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::invalid(format!("invalid JSON: {e}")))?
    };
    let keys = match start.detach {
        true => Vec::new(),
        false => detach_keys(&b.exec_inspect(&id).await?.config.detach_keys)?,
    };
    match b.exec_start(&id, start.detach).await? {
        None => Ok(StatusCode::OK.into_response()),
        Some((tty, stream)) => Ok(hijack(&mut req, tty, keys, stream)),
    }
}

/// `GET /exec/{id}/json`.
async fn exec_inspect(State(b): State<Backend>, id: Id) -> Result<Response, ApiError> {
    let e = b.exec_inspect(&path(id)?).await?;
    let cmd = e.config.cmd.clone().unwrap_or_default();
    Ok(Json(serde_json::json!({
        "CanRemove": false,
        "ContainerID": e.container_id,
        "DetachKeys": e.config.detach_keys,
        "ExitCode": e.exit_code,
        "ID": e.id,
        "OpenStderr": e.config.attach_stderr,
        "OpenStdin": e.config.attach_stdin,
        "OpenStdout": e.config.attach_stdout,
        "ProcessConfig": {
            "arguments": cmd.get(1..).unwrap_or_default(),
            "entrypoint": cmd.first().cloned().unwrap_or_default(),
            "privileged": e.config.privileged,
            "tty": e.config.tty,
            "user": e.config.user,
        },
        "Running": e.running,
        "Pid": e.pid,
    }))
    .into_response())
}

/// `POST /exec/{id}/resize`.
async fn exec_resize(State(b): State<Backend>, uri: Uri, id: Id) -> Result<Response, ApiError> {
    let (id, q) = (path(id)?, QueryArgs::from_uri(&uri)?);
    let (h, w) = size_args(&q)?;
    b.exec_resize(&id, h, w).await?;
    Ok(StatusCode::OK.into_response())
}

/// `GET /containers/{id}/top?ps_args=`.
async fn top(State(b): State<Backend>, uri: Uri, id: Id) -> Result<Response, ApiError> {
    let (id, q) = (path(id)?, QueryArgs::from_uri(&uri)?);
    let (titles, processes) = b.top(&id, q.get("ps_args").unwrap_or_default()).await?;
    Ok(Json(serde_json::json!({ "Titles": titles, "Processes": processes })).into_response())
}

/// Docker's stats JSON (cgroup v1 shape) of sample `s` with the previous sample `pre`.
fn stats_json(
    c: &Container,
    s: &wharf_container::StatsSample,
    pre: &wharf_container::StatsSample,
) -> serde_json::Value {
    let time = |ns: i64| {
        if ns == 0 {
            "0001-01-01T00:00:00Z".to_string()
        } else {
            wharf_types::format_rfc3339_nanos(ns)
        }
    };
    let cpu = |x: &wharf_container::StatsSample| {
        serde_json::json!({
            "cpu_usage": {
                "total_usage": x.cpu_total,
                "percpu_usage": if x.percpu.is_empty() { serde_json::Value::Null } else { serde_json::json!(x.percpu) },
                "usage_in_kernelmode": x.cpu_kernel,
                "usage_in_usermode": x.cpu_user,
            },
            "system_cpu_usage": x.system_cpu,
            "online_cpus": x.online_cpus,
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
        })
    };
    let blkio: Vec<serde_json::Value> = s
        .blkio
        .iter()
        .map(|(ma, mi, op, v)| serde_json::json!({"major": ma, "minor": mi, "op": op, "value": v}))
        .collect();
    let mut pids = serde_json::json!({ "current": s.pids_current });
    if s.pids_limit > 0 {
        pids["limit"] = serde_json::json!(s.pids_limit);
    }
    serde_json::json!({
        "read": time(s.read),
        "preread": time(pre.read),
        "pids_stats": pids,
        "blkio_stats": {
            "io_service_bytes_recursive": if blkio.is_empty() { serde_json::Value::Null } else { serde_json::json!(blkio) },
            "io_serviced_recursive": null, "io_queue_recursive": null, "io_service_time_recursive": null,
            "io_wait_time_recursive": null, "io_merged_recursive": null, "io_time_recursive": null, "sectors_recursive": null,
        },
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": cpu(s),
        "precpu_stats": cpu(pre),
        "memory_stats": { "usage": s.mem_usage, "max_usage": s.mem_max_usage, "stats": s.mem_stats, "limit": s.mem_limit },
        "name": format!("/{}", c.name),
        "id": c.id,
    })
}

/// `GET /containers/{id}/stats?stream=&one-shot=`: one JSON object per second while streaming;
/// without `stream`, one object whose `precpu_stats` come from a sample half a second before
/// (so the CLI can compute CPU %); with `one-shot`, a single sample.
async fn stats(State(b): State<Backend>, uri: Uri, id: Id) -> Result<Response, ApiError> {
    let (id, q) = (path(id)?, QueryArgs::from_uri(&uri)?);
    let stream = q.get("stream").is_none_or(|_| q.bool("stream"));
    let one_shot = q.bool("one-shot");
    let (c, first) = b.stats(&id).await?;
    if !stream {
        let pre = first;
        let (c, s) = if one_shot {
            (c, pre.clone())
        } else {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            b.stats(&id).await?
        };
        let pre = if one_shot { Default::default() } else { pre };
        return Ok(Json(stats_json(&c, &s, &pre)).into_response());
    }
    let body = futures_util::stream::unfold(
        (b, id, Some((c, first)), wharf_container::StatsSample::default()),
        |(b, id, next, pre)| async move {
            let (c, s) = match next {
                Some(x) => x,
                None => {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    b.stats(&id).await.ok()?
                }
            };
            if !matches!(c.state.status, wharf_container::Status::Running | wharf_container::Status::Paused)
                && pre.read != 0
            {
                return None;
            }
            let mut line = serde_json::to_vec(&stats_json(&c, &s, &pre)).ok()?;
            line.push(b'\n');
            Some((Ok::<_, std::io::Error>(bytes::Bytes::from(line)), (b, id, None, s)))
        },
    );
    let mut resp = Response::new(Body::from_stream(body));
    resp.headers_mut().insert(CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    Ok(resp)
}

/// `POST /containers/{id}/update` with Docker's `UpdateConfig` body.
async fn update(State(b): State<Backend>, headers: HeaderMap, id: Id, body: Body) -> Result<Response, ApiError> {
    let id = path(id)?;
    let body = axum::body::to_bytes(body, MAX_CREATE_BODY)
        .await
        .map_err(|e| ApiError::invalid(format!("error reading request body: {e}")))?;
    check_json(&headers, &body)?;
    let config: wharf_container::UpdateConfig = if body.iter().all(u8::is_ascii_whitespace) {
        Default::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::invalid(format!("invalid JSON: {e}")))?
    };
    let warnings = b.update(&id, config).await?;
    let warnings = (!warnings.is_empty()).then_some(warnings);
    Ok(Json(serde_json::json!({ "Warnings": warnings })).into_response())
}
