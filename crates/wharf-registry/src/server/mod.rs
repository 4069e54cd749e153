//! The registry server: the OCI Distribution Spec v1.1 API over HTTP (axum), on the filesystem
//! layout of [`storage`], with optional htpasswd basic auth ([`auth`]), a read-only mode, and
//! an accept loop with optional TLS ([`serve`]).
//!
//! One handler takes every `/v2/…` request: it authenticates, reads the endpoint from the path
//! ([`route`]), refuses writes in read-only mode, and dispatches to [`blobs`], [`uploads`],
//! [`manifests`] or [`listing`]. Every response carries
//! `Docker-Distribution-API-Version: registry/2.0`; every error is the spec's JSON body with
//! the status [`error::ErrorCode::status`] gives.
//!
//! Invariants:
//! - a name, tag, digest or upload id becomes a path only after validation;
//! - a blob is visible only after its bytes were fsynced and its digest verified; a manifest
//!   only after every blob it names is in the repository;
//! - the registry stores manifests byte for byte as pushed.

mod auth;
mod blobs;
pub mod error;
pub mod gc;
mod listing;
mod manifests;
pub mod route;
pub mod serve;
pub mod storage;
mod uploads;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::Router;
use http::{header, HeaderName, HeaderValue, Method, StatusCode};

pub use auth::{Htpasswd, HtpasswdError};
pub use error::{ErrorCode, RegistryError};
pub use storage::{RootLock, Storage, StorageError};

use route::Route;

/// `Docker-Distribution-API-Version`, on every response.
pub const API_VERSION_HEADER: &str = "docker-distribution-api-version";
/// Its value.
pub const API_VERSION: &str = "registry/2.0";
/// The default realm of the basic-auth challenge.
pub const DEFAULT_REALM: &str = "wharf-registry";

/// How to run a registry.
#[derive(Debug)]
pub struct Config {
    /// The storage root.
    pub root: PathBuf,
    /// Refuse every write with `405 UNSUPPORTED`.
    pub read_only: bool,
    /// Require basic auth against these users.
    pub htpasswd: Option<Htpasswd>,
    /// The realm of the `WWW-Authenticate` challenge.
    pub realm: String,
}

impl Config {
    /// A writable registry without auth on `root`.
    pub fn new(root: impl Into<PathBuf>) -> Config {
        Config { root: root.into(), read_only: false, htpasswd: None, realm: DEFAULT_REALM.to_string() }
    }
}

/// A registry: storage plus the state of upload sessions in progress. Cheap to clone.
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    storage: Storage,
    read_only: bool,
    auth: Option<Arc<Htpasswd>>,
    realm: String,
    /// Upload id → its hashing state; the lock also serializes requests on one session.
    uploads: Mutex<HashMap<String, Arc<tokio::sync::Mutex<uploads::Session>>>>,
    /// Serializes manifest and tag changes.
    manifests: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("root", &self.inner.storage.root())
            .field("read_only", &self.inner.read_only)
            .field("auth", &self.inner.auth.is_some())
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// Opens the storage (creating it if needed). The caller holds the root's lock
    /// ([`Storage::lock`]) when other processes could use the same root.
    pub fn open(config: Config) -> Result<Registry, StorageError> {
        let storage = Storage::open(&config.root)?;
        Ok(Registry {
            inner: Arc::new(Inner {
                storage,
                read_only: config.read_only,
                auth: config.htpasswd.map(Arc::new),
                realm: config.realm,
                uploads: Mutex::new(HashMap::new()),
                manifests: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The storage.
    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// The HTTP service: every path goes to one dispatcher.
    pub fn router(&self) -> Router {
        Router::new().fallback(dispatch).with_state(self.clone())
    }
}

async fn dispatch(State(reg): State<Registry>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let mut resp = match handle(&reg, &parts, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    tracing::debug!(method = %parts.method, uri = %parts.uri, status = resp.status().as_u16(), "request");
    resp.headers_mut().insert(HeaderName::from_static(API_VERSION_HEADER), HeaderValue::from_static(API_VERSION));
    resp
}

/// The request as handlers see it.
pub(crate) struct Req<'a> {
    pub(crate) method: &'a Method,
    pub(crate) headers: &'a http::HeaderMap,
    pub(crate) query: Vec<(String, String)>,
}

impl Req<'_> {
    /// The first value of a query argument.
    pub(crate) fn arg(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A header as text.
    pub(crate) fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Form-decodes a query string as Go's `url.ParseQuery` (`+` is a space); bad escapes are kept.
fn parse_query(q: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() => {
                    match std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(v) => {
                            out.push(v);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

async fn handle(reg: &Registry, parts: &http::request::Parts, body: Body) -> Result<Response, RegistryError> {
    if let Some(auth) = &reg.inner.auth {
        let Some((user, pass)) = auth::basic_credentials(&parts.headers) else {
            return Err(auth::challenge(&reg.inner.realm));
        };
        let auth = auth.clone();
        let ok = tokio::task::spawn_blocking(move || auth.check(&user, &pass)).await.unwrap_or(false);
        if !ok {
            return Err(auth::challenge(&reg.inner.realm).message("invalid username or password"));
        }
    }
    let route = match route::parse(parts.uri.path())? {
        Some(r) => r,
        None => return Ok((StatusCode::NOT_FOUND, "404 page not found\n").into_response()),
    };
    let method = &parts.method;
    let writes = [Method::POST, Method::PUT, Method::PATCH, Method::DELETE];
    if reg.inner.read_only && writes.contains(method) {
        return Err(RegistryError::new(ErrorCode::Unsupported).message("registry is in read-only mode"));
    }
    let req = Req { method, headers: &parts.headers, query: parse_query(parts.uri.query().unwrap_or("")) };
    let m = method.clone();
    match route {
        Route::Base if m == Method::GET || m == Method::HEAD => {
            Ok(json_response(StatusCode::OK, &serde_json::json!({}), &m))
        }
        Route::Catalog if m == Method::GET => listing::catalog(reg, &req).await,
        Route::Tags(name) if m == Method::GET => listing::tags(reg, &req, name).await,
        Route::Referrers(name, d) if m == Method::GET => listing::referrers(reg, &req, name, &d).await,
        Route::Blob(name, d) if m == Method::GET || m == Method::HEAD => blobs::get(reg, &req, name, &d).await,
        Route::Blob(name, d) if m == Method::DELETE => blobs::delete(reg, name, &d).await,
        Route::UploadStart(name) if m == Method::POST => uploads::start(reg, &req, name, body).await,
        Route::Upload(name, id) if m == Method::GET => uploads::status(reg, name, &id).await,
        Route::Upload(name, id) if m == Method::PATCH => uploads::patch(reg, &req, name, &id, body).await,
        Route::Upload(name, id) if m == Method::PUT => uploads::finish(reg, &req, name, &id, body).await,
        Route::Upload(name, id) if m == Method::DELETE => uploads::cancel(reg, name, &id).await,
        Route::Manifest(name, r) if m == Method::GET || m == Method::HEAD => manifests::get(reg, &req, name, &r).await,
        Route::Manifest(name, r) if m == Method::PUT => manifests::put(reg, &req, name, &r, body).await,
        Route::Manifest(name, r) if m == Method::DELETE => manifests::delete(reg, name, &r).await,
        _ => Err(RegistryError::new(ErrorCode::Unsupported).message(format!("method {m} not allowed here"))),
    }
}

/// A JSON response (no body for HEAD, with its `Content-Length`).
pub(crate) fn json_response(status: StatusCode, value: &serde_json::Value, method: &Method) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    bytes_response(status, "application/json", body, method, &[])
}

/// A response with `body` (dropped for HEAD, whose `Content-Length` still tells its size).
pub(crate) fn bytes_response(
    status: StatusCode,
    content_type: &str,
    body: Vec<u8>,
    method: &Method,
    headers: &[(HeaderName, String)],
) -> Response {
    let len = body.len();
    let body = if method == Method::HEAD { Body::empty() } else { Body::from(body) };
    let mut resp = Response::builder().status(status);
    if let Ok(ct) = HeaderValue::from_str(content_type) {
        resp = resp.header(header::CONTENT_TYPE, ct);
    }
    resp = resp.header(header::CONTENT_LENGTH, len);
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            resp = resp.header(k, v);
        }
    }
    resp.body(body).unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// An empty response with `headers` (`Content-Length: 0`).
pub(crate) fn empty_response(status: StatusCode, headers: &[(HeaderName, String)]) -> Response {
    let mut resp = Response::builder().status(status).header(header::CONTENT_LENGTH, 0);
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            resp = resp.header(k, v);
        }
    }
    resp.body(Body::empty()).unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Runs blocking storage work on tokio's blocking pool.
pub(crate) async fn blocking<T, F>(reg: &Registry, f: F) -> Result<T, RegistryError>
where
    T: Send + 'static,
    F: FnOnce(&Storage) -> Result<T, StorageError> + Send + 'static,
{
    let storage = reg.inner.storage.clone();
    match tokio::task::spawn_blocking(move || f(&storage)).await {
        Ok(r) => r.map_err(RegistryError::internal),
        Err(e) => Err(RegistryError::internal(format!("storage task failed: {e}"))),
    }
}

/// `Docker-Content-Digest`.
pub(crate) const CONTENT_DIGEST: HeaderName = HeaderName::from_static("docker-content-digest");
/// `Docker-Upload-UUID`.
pub(crate) const UPLOAD_UUID: HeaderName = HeaderName::from_static("docker-upload-uuid");
/// `OCI-Subject`.
pub(crate) const OCI_SUBJECT: HeaderName = HeaderName::from_static("oci-subject");
/// `OCI-Filters-Applied`.
pub(crate) const OCI_FILTERS_APPLIED: HeaderName = HeaderName::from_static("oci-filters-applied");
