//! `/images/…`: list, inspect, history, tag, remove, prune, load, save, import, pull
//! (`create?fromImage=`), push; `POST /auth` (docker login); and the images part of
//! `/system/df`.
//!
//! Image names contain `/` and `:` (`localhost:5000/a/b:1`), which axum's router cannot place
//! before a fixed suffix, so one wildcard route per method takes everything under `/images/` and
//! the handler splits it as dockerd's routes read: `GET json` (list), `GET get` (save several),
//! `POST load|create|prune`, then `GET {name}/json|history|get`, `POST {name}/tag|push`,
//! `DELETE {name}`. Anything else is the usual 404 `page not found`.
//!
//! Query arguments are read as dockerd's `r.Form` ([`crate::query`]), so repeated ones
//! (`names`, `changes`, `type`) all count. Streams (load, import) are Docker JSON messages
//! ([`jsonmessage`]) written as the backend reports; a backend error before the stream starts is
//! an ordinary error answer.

mod df;
mod jsonmessage;
#[cfg(test)]
mod tests;
mod wire;

use std::collections::HashMap;
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
use futures_util::{Stream, StreamExt};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode, Uri};
use wharf_api::{ApiVersion, CURRENT_API_VERSION};
use wharf_image::model::HistoryEntry;
use wharf_image::store::{DeleteItem, ImageInfo, ImportOptions, ListOptions, PruneReport};
use wharf_types::{ErrorKind, Filters, Progress};

use crate::query::QueryArgs;
use crate::ApiError;
use wire::v1;

/// A stream of bytes: a request body handed to the backend, or an archive handed back.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// A stream of progress reports; it ends after the last one (an `Error` is the last one).
pub type ProgressStream = Pin<Box<dyn Stream<Item = Progress> + Send>>;

/// `POST /images/create?fromImage=…`: what to pull.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullRequest {
    /// `fromImage`: a name, `name:tag` or `name@sha256:…`.
    pub image: String,
    /// `tag`: a tag or a digest (empty: the one in `image`, else `latest`).
    pub tag: String,
    /// `platform` (empty: the daemon's).
    pub platform: String,
    /// The raw `X-Registry-Auth` header.
    pub auth: Option<String>,
}

/// `POST /auth`: the docker CLI's `AuthConfig` (the registry client's credentials).
pub use wharf_registry::client::Credentials as AuthRequest;

/// What the image routes need from the daemon. `name` arguments are what the client sent: a
/// reference (`busybox`, `busybox:1`, `name@sha256:…`), a full or short image ID, with or
/// without `sha256:`; the backend resolves them as dockerd does.
#[async_trait]
pub trait ImageBackend: Send + Sync + 'static {
    /// `GET /images/json`.
    async fn list(&self, opts: ListOptions) -> Result<Vec<ImageInfo>, ApiError>;
    /// `GET /images/{name}/json`.
    async fn inspect(&self, name: &str) -> Result<ImageInfo, ApiError>;
    /// `GET /images/{name}/history`, newest first; each entry's layer size is looked up by the
    /// backend (second element, 0 for empty layers), and the image ID is given to the entry
    /// of the newest step (others `<missing>`), as dockerd.
    async fn history(&self, name: &str) -> Result<Vec<(HistoryEntry, u64, String)>, ApiError>;
    /// `POST /images/{name}/tag?repo=…&tag=…`.
    async fn tag(&self, name: &str, repo: &str, tag: &str) -> Result<(), ApiError>;
    /// `DELETE /images/{name}?force=…&noprune=…`.
    async fn remove(&self, name: &str, force: bool, noprune: bool) -> Result<Vec<DeleteItem>, ApiError>;
    /// `POST /images/prune?filters=…` (`dangling`, `until`, `label`, `label!`).
    async fn prune(&self, filters: Filters) -> Result<PruneReport, ApiError>;
    /// `POST /images/load?quiet=…&platform=…`: reads the archive from `body`; the stream
    /// reports `Loading layer` progress (unless quiet) and one `Loaded image: …` /
    /// `Loaded image ID: …` line per image.
    async fn load(&self, body: ByteStream, quiet: bool, platform: Option<String>) -> Result<ProgressStream, ApiError>;
    /// `GET /images/{name}/get` and `GET /images/get?names=…`: the docker-archive tar.
    /// Unknown names fail before any byte is sent.
    async fn save(&self, names: Vec<String>) -> Result<ByteStream, ApiError>;
    /// `POST /images/create?fromSrc=-` (body) or `fromSrc=<url>` (not supported: `body` is
    /// `None` and the backend refuses). The stream ends with the new image ID as a `Stream` line
    /// (`sha256:…\n`), as dockerd.
    async fn import(&self, body: Option<ByteStream>, opts: ImportOptions) -> Result<ProgressStream, ApiError>;
    /// The images part of `GET /system/df`: every image with `shared_size` and `containers`.
    async fn disk_usage(&self) -> Result<Vec<ImageInfo>, ApiError>;
    /// `POST /images/create?fromImage=…`: errors found before anything is pulled (unknown
    /// manifest, denied access, bad reference) are ordinary error answers; then the stream
    /// reports dockerd's pull progress.
    async fn pull(&self, req: PullRequest) -> Result<ProgressStream, ApiError> {
        let _ = req;
        Err(ApiError::new(ErrorKind::NotImplemented, "pulling images is not supported"))
    }
    /// `POST /images/{name}/push?tag=…` with the `X-Registry-Auth` header.
    async fn push(&self, name: &str, tag: &str, auth: Option<String>) -> Result<ProgressStream, ApiError> {
        let _ = (name, tag, auth);
        Err(ApiError::new(ErrorKind::NotImplemented, "pushing images is not supported"))
    }
    /// `POST /auth`: checks the credentials with the registry; returns the identity token
    /// (empty when the registry gives none).
    async fn login(&self, req: AuthRequest) -> Result<String, ApiError> {
        let _ = req;
        Err(ApiError::new(ErrorKind::NotImplemented, "logging in is not supported"))
    }
}

/// The image routes.
pub(crate) fn routes(backend: Arc<dyn ImageBackend>) -> Router {
    Router::new()
        .route("/images/{*rest}", get(get_images).post(post_images).delete(delete_image))
        .route("/auth", post(login))
        .with_state(backend)
}

/// `GET /system/df`, which the image, container and volume backends answer together.
pub(crate) fn df_routes(
    images: Arc<dyn ImageBackend>,
    containers: Arc<dyn crate::ContainerBackend>,
    volumes: Arc<dyn crate::VolumeBackend>,
) -> Router {
    Router::new().route("/system/df", get(df::system_df)).with_state(df::DfBackends { images, containers, volumes })
}

/// The routes' state.
type Backend = Arc<dyn ImageBackend>;

/// Filters `GET /images/json` accepts (dockerd's `acceptedImageFilterTags`).
const LIST_FILTERS: &[&str] = &["before", "dangling", "label", "reference", "since", "until"];
/// Filters `POST /images/prune` accepts (dockerd's `imagesAcceptedFilters`).
const PRUNE_FILTERS: &[&str] = &["dangling", "label", "label!", "until"];

/// `GET /images/…`.
async fn get_images(
    State(b): State<Backend>,
    version: Option<Extension<ApiVersion>>,
    uri: Uri,
    rest: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let (rest, version, q) = (path(rest)?, api_version(version), QueryArgs::from_uri(&uri)?);
    match rest.as_str() {
        "json" => return list(&*b, &q, version).await,
        "get" => return save(&*b, q.all("names")).await,
        _ => {}
    }
    match rest.rsplit_once('/') {
        Some((name, "json")) => Ok(Json(wire::inspect(b.inspect(name).await?, version)).into_response()),
        Some((name, "history")) => history(&*b, name).await,
        Some((name, "get")) => save(&*b, vec![name.to_string()]).await,
        _ => Err(crate::error::not_found().await),
    }
}

/// `POST /images/…`.
async fn post_images(
    State(b): State<Backend>,
    version: Option<Extension<ApiVersion>>,
    uri: Uri,
    headers: HeaderMap,
    rest: Result<Path<String>, PathRejection>,
    body: Body,
) -> Result<Response, ApiError> {
    let (rest, version, q) = (path(rest)?, api_version(version), QueryArgs::from_uri(&uri)?);
    let auth = headers.get("X-Registry-Auth").and_then(|v| v.to_str().ok()).map(str::to_string);
    match rest.as_str() {
        "load" => {
            let platform = q.get("platform").filter(|p| !p.is_empty()).map(str::to_string);
            let stream = b.load(byte_stream(body), q.bool_or("quiet", true), platform).await?;
            return Ok(progress_response(stream));
        }
        "create" => return create(&*b, &q, version, body, auth).await,
        "prune" => {
            let filters = filters(&q, PRUNE_FILTERS, None)?;
            return Ok(Json(wire::prune(b.prune(filters).await?)).into_response());
        }
        _ => {}
    }
    match rest.rsplit_once('/') {
        Some((name, "tag")) => {
            b.tag(name, q.get("repo").unwrap_or_default(), q.get("tag").unwrap_or_default()).await?;
            Ok(StatusCode::CREATED.into_response())
        }
        Some((name, "push")) => {
            // As dockerd, a missing image is a 404 before anything else.
            let tag = q.string("tag");
            let target = if tag.is_empty() { name.to_string() } else { format!("{name}:{tag}") };
            if b.inspect(&target).await.is_err() {
                return Err(ApiError::new(
                    ErrorKind::NotFound,
                    format!("An image does not exist locally with the tag: {name}"),
                ));
            }
            Ok(progress_response(b.push(name, &tag, auth).await?))
        }
        _ => Err(crate::error::not_found().await),
    }
}

/// `DELETE /images/{name}?force=…&noprune=…`.
async fn delete_image(
    State(b): State<Backend>,
    uri: Uri,
    rest: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let (name, q) = (path(rest)?, QueryArgs::from_uri(&uri)?);
    if name.trim().is_empty() {
        return Err(ApiError::invalid("image name cannot be blank"));
    }
    let items = b.remove(&name, q.bool("force"), q.bool("noprune")).await?;
    Ok(Json(items.into_iter().map(wire::delete_item).collect::<Vec<_>>()).into_response())
}

/// `GET /images/json?all=…&filters=…&shared-size=…` (`digests` changes nothing: digests are
/// always listed, as dockerd).
async fn list(b: &dyn ImageBackend, q: &QueryArgs, version: ApiVersion) -> Result<Response, ApiError> {
    // Before 1.41, `filter=<glob>` was a reference filter.
    let legacy = q.get("filter").filter(|f| version < v1(41) && !f.is_empty());
    let opts = ListOptions {
        all: q.bool("all"),
        filters: filters(q, LIST_FILTERS, legacy)?,
        shared_size: version >= v1(42) && q.bool("shared-size"),
    };
    let images = b.list(opts).await?;
    Ok(Json(images.into_iter().map(|i| wire::summary(i, version)).collect::<Vec<_>>()).into_response())
}

/// `GET /images/{name}/history`: the backend's steps, with each named image's tags on its step
/// (dockerd looks the tags up by the step's image ID; `<missing>` steps have none).
async fn history(b: &dyn ImageBackend, name: &str) -> Result<Response, ApiError> {
    let steps = b.history(name).await?;
    let mut tags: HashMap<String, Option<Vec<String>>> = HashMap::new();
    for (_, _, id) in &steps {
        if id != "<missing>" && !tags.contains_key(id) {
            let found = b.inspect(id).await.ok().map(|i| i.repo_tags);
            tags.insert(id.clone(), found);
        }
    }
    let items: Vec<_> = steps
        .into_iter()
        .map(|(entry, size, id)| {
            let t = tags.get(&id).cloned().flatten();
            wire::history_item(entry, size, id, t)
        })
        .collect();
    Ok(Json(items).into_response())
}

/// `GET /images/{name}/get`, `GET /images/get?names=…&names=…`: the archive as it is produced.
async fn save(b: &dyn ImageBackend, names: Vec<String>) -> Result<Response, ApiError> {
    let archive = b.save(names).await?;
    Ok(([(CONTENT_TYPE, "application/x-tar")], Body::from_stream(archive)).into_response())
}

/// `POST /images/create`: a pull (`fromImage=…`, with `tag`, `platform` and the
/// `X-Registry-Auth` header), or an import from the body (`fromSrc=-`) or from a URL (which the
/// backend refuses).
async fn create(
    b: &dyn ImageBackend,
    q: &QueryArgs,
    version: ApiVersion,
    body: Body,
    auth: Option<String>,
) -> Result<Response, ApiError> {
    if let Some(image) = q.get("fromImage").filter(|i| !i.is_empty()) {
        let req = PullRequest {
            image: image.to_string(),
            tag: q.string("tag"),
            platform: if version >= v1(32) { q.string("platform") } else { String::new() },
            auth,
        };
        return Ok(progress_response(b.pull(req).await?));
    }
    let src = q.string("fromSrc");
    if src.is_empty() {
        return Err(ApiError::invalid("either fromImage or fromSrc must be given"));
    }
    let message = match q.string("message") {
        // As dockerd: the history comment names the source when no message is given.
        m if m.is_empty() => format!("Imported from {src}"),
        m => m,
    };
    let opts = ImportOptions {
        repo: q.string("repo"),
        tag: q.string("tag"),
        message,
        changes: q.all("changes"),
        platform: if version >= v1(32) { q.string("platform") } else { String::new() },
    };
    let body = (src == "-").then(|| byte_stream(body));
    Ok(progress_response(b.import(body, opts).await?))
}

/// `POST /auth`: `{"Status":"Login Succeeded","IdentityToken":…}`.
async fn login(State(b): State<Backend>, body: Body) -> Result<Response, ApiError> {
    let bytes = axum::body::to_bytes(body, 1 << 20).await.map_err(|e| ApiError::invalid(e.to_string()))?;
    let req: AuthRequest = serde_json::from_slice(&bytes).map_err(|e| ApiError::invalid(e.to_string()))?;
    let token = b.login(req).await?;
    Ok(Json(serde_json::json!({"IdentityToken": token, "Status": "Login Succeeded"})).into_response())
}

/// Parses `filters`, adds the legacy `filter` reference, checks the keys against `accepted` and
/// a `dangling` value, with dockerd's messages.
fn filters(q: &QueryArgs, accepted: &[&str], legacy_reference: Option<&str>) -> Result<Filters, ApiError> {
    let mut f = Filters::from_json(q.get("filters").unwrap_or_default()).map_err(ApiError::from_err)?;
    if let Some(r) = legacy_reference {
        f.add("reference", r);
    }
    f.validate(accepted).map_err(ApiError::from_err)?;
    check_bool_filter(&f, "dangling")?;
    Ok(f)
}

/// dockerd's `GetBoolOrDefault`: a boolean filter needs `true`/`1` or `false`/`0`, not both.
fn check_bool_filter(f: &Filters, key: &str) -> Result<(), ApiError> {
    if !f.contains(key) {
        return Ok(());
    }
    let values: Vec<&str> = f.get(key).collect();
    if values.is_empty() {
        return Err(ApiError::invalid(format!("invalid filter '{key}'")));
    }
    let is_true = values.iter().any(|v| matches!(*v, "1" | "true"));
    let is_false = values.iter().any(|v| matches!(*v, "0" | "false"));
    if is_true == is_false {
        return Err(ApiError::invalid(format!("invalid filter '{key}=[{}]'", values.join(" "))));
    }
    Ok(())
}

/// The wildcard part of the path, percent-decoded.
fn path(p: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    p.map(|Path(s)| s).map_err(|e| ApiError::invalid(e.body_text()))
}

/// The negotiated version (the current one when the version layer did not run, as in tests).
fn api_version(v: Option<Extension<ApiVersion>>) -> ApiVersion {
    v.map(|Extension(v)| v).unwrap_or(CURRENT_API_VERSION)
}

/// A request body as the backend reads it.
fn byte_stream(body: Body) -> ByteStream {
    Box::pin(body.into_data_stream().map(|chunk| chunk.map_err(std::io::Error::other)))
}

/// A progress stream as Docker JSON messages, each written as soon as it is reported.
fn progress_response(stream: ProgressStream) -> Response {
    let lines = stream.map(|p| Ok::<_, Infallible>(jsonmessage::line(&p)));
    ([(CONTENT_TYPE, "application/json")], Body::from_stream(lines)).into_response()
}
