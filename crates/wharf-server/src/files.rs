//! Container filesystems: the archive API (`HEAD`/`GET`/`PUT /containers/{id}/archive`, what
//! `docker cp` uses), `GET /containers/{id}/changes` (`docker diff`), `GET
//! /containers/{id}/export` and `POST /commit`.
//!
//! The path stat travels base64-encoded JSON in `X-Docker-Container-Path-Stat`, on `HEAD` and
//! `GET` alike, as dockerd sends it.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::Serialize;

pub use wharf_container::PathStat;

use crate::images::ByteStream;
use crate::query::QueryArgs;
use crate::ApiError;

/// The header carrying a [`PathStat`].
pub const PATH_STAT_HEADER: &str = "X-Docker-Container-Path-Stat";

/// One entry of `docker diff`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Change {
    /// Absolute path in the container.
    pub path: String,
    /// 0 modified, 1 added, 2 deleted.
    pub kind: u8,
}

/// `PUT /containers/{id}/archive` options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtractOptions {
    /// Refuse to replace a directory with a non-directory or the reverse.
    pub no_overwrite_dir_non_dir: bool,
    /// Owners become the container user's.
    pub copy_uid_gid: bool,
}

/// `POST /commit` options.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommitOptions {
    /// The container.
    pub container: String,
    /// Repository to name the image, if any.
    pub repo: String,
    /// Tag (with `repo`).
    pub tag: String,
    /// The commit message.
    pub comment: String,
    /// The author.
    pub author: String,
    /// Pause the container while its layer is read (default true).
    pub pause: bool,
    /// Dockerfile instructions applied to the config.
    pub changes: Vec<String>,
    /// A config given in the body (`null` when absent).
    pub config: Option<serde_json::Value>,
}

/// What the filesystem routes need from the daemon.
#[async_trait]
pub trait FilesBackend: Send + Sync + 'static {
    /// `HEAD /containers/{id}/archive?path=`.
    async fn stat_path(&self, name: &str, path: &str) -> Result<PathStat, ApiError>;
    /// `GET /containers/{id}/archive?path=`: the stat and the tar.
    async fn archive(&self, name: &str, path: &str) -> Result<(PathStat, ByteStream), ApiError>;
    /// `PUT /containers/{id}/archive?path=`: extracts the tar into directory `path`.
    async fn extract(&self, name: &str, path: &str, opts: ExtractOptions, tar: ByteStream) -> Result<(), ApiError>;
    /// `GET /containers/{id}/changes`.
    async fn changes(&self, name: &str) -> Result<Vec<Change>, ApiError>;
    /// `GET /containers/{id}/export`: the whole filesystem as a tar.
    async fn export(&self, name: &str) -> Result<ByteStream, ApiError>;
    /// `POST /commit`: the new image's ID.
    async fn commit(&self, opts: CommitOptions) -> Result<String, ApiError>;
}

type Backend = Arc<dyn FilesBackend>;
type Id = Result<Path<String>, PathRejection>;

/// The most of a commit body read.
const MAX_COMMIT_BODY: usize = 16 << 20;

/// The routes.
pub(crate) fn routes(backend: Backend) -> Router {
    Router::new()
        .route("/containers/{id}/archive", get(archive_get).head(archive_head).put(archive_put))
        .route("/containers/{id}/changes", get(changes))
        .route("/containers/{id}/export", get(export))
        .route("/commit", post(commit))
        .with_state(backend)
}

fn id(p: Id) -> Result<String, ApiError> {
    p.map(|Path(s)| s).map_err(|e| ApiError::invalid(e.body_text()))
}

/// The `path` argument; dockerd refuses an empty one.
fn path_arg(q: &QueryArgs) -> Result<String, ApiError> {
    match q.get("path") {
        Some(p) if !p.is_empty() => Ok(p.to_string()),
        _ => Err(ApiError::invalid("Path cannot be empty")),
    }
}

fn stat_headers(stat: &PathStat) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&stat.to_header()) {
        h.insert(PATH_STAT_HEADER, v);
    }
    h
}

async fn archive_head(State(b): State<Backend>, uri: Uri, p: Id) -> Result<Response, ApiError> {
    let (name, q) = (id(p)?, QueryArgs::from_uri(&uri)?);
    let stat = b.stat_path(&name, &path_arg(&q)?).await?;
    Ok((StatusCode::OK, stat_headers(&stat)).into_response())
}

async fn archive_get(State(b): State<Backend>, uri: Uri, p: Id) -> Result<Response, ApiError> {
    let (name, q) = (id(p)?, QueryArgs::from_uri(&uri)?);
    let (stat, tar) = b.archive(&name, &path_arg(&q)?).await?;
    let mut headers = stat_headers(&stat);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-tar"));
    Ok((StatusCode::OK, headers, Body::from_stream(tar)).into_response())
}

async fn archive_put(State(b): State<Backend>, uri: Uri, p: Id, body: Body) -> Result<Response, ApiError> {
    let (name, q) = (id(p)?, QueryArgs::from_uri(&uri)?);
    let path = path_arg(&q)?;
    let opts =
        ExtractOptions { no_overwrite_dir_non_dir: q.bool("noOverwriteDirNonDir"), copy_uid_gid: q.bool("copyUIDGID") };
    let tar: ByteStream = Box::pin(body.into_data_stream().map(|c| c.map_err(std::io::Error::other)));
    b.extract(&name, &path, opts, tar).await?;
    Ok(StatusCode::OK.into_response())
}

async fn changes(State(b): State<Backend>, p: Id) -> Result<Response, ApiError> {
    let changes = b.changes(&id(p)?).await?;
    Ok(Json(changes).into_response())
}

async fn export(State(b): State<Backend>, p: Id) -> Result<Response, ApiError> {
    let tar = b.export(&id(p)?).await?;
    Ok(([(CONTENT_TYPE, "application/x-tar")], Body::from_stream(tar)).into_response())
}

/// `POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=` with an optional
/// config body.
async fn commit(State(b): State<Backend>, uri: Uri, body: Body) -> Result<Response, ApiError> {
    let q = QueryArgs::from_uri(&uri)?;
    let body = axum::body::to_bytes(body, MAX_COMMIT_BODY)
        .await
        .map_err(|e| ApiError::invalid(format!("error reading request body: {e}")))?;
    let config = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let v: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| ApiError::invalid(format!("invalid JSON: {e}")))?;
        (!v.is_null()).then_some(v)
    };
    let opts = CommitOptions {
        container: q.string("container"),
        repo: q.string("repo"),
        tag: q.string("tag"),
        comment: q.string("comment"),
        author: q.string("author"),
        pause: q.get("pause").is_none() || q.bool("pause"),
        changes: q.all("changes"),
        config,
    };
    let id = b.commit(opts).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "Id": id }))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use http_body_util::BodyExt;
    use std::sync::Mutex;
    use tower::ServiceExt;
    use wharf_types::ErrorKind;

    #[derive(Default)]
    struct Fake {
        calls: Mutex<Vec<String>>,
    }

    fn stat() -> PathStat {
        PathStat {
            name: "etc".into(),
            size: 4096,
            mode: 0o755 | 1 << 31,
            mtime: wharf_fs::FileTime::from_secs(1_795_910_400),
            link_target: String::new(),
        }
    }

    fn missing(name: &str) -> Result<(), ApiError> {
        if name == "missing" {
            return Err(ApiError::new(ErrorKind::NotFound, format!("No such container: {name}")));
        }
        Ok(())
    }

    fn bytes(b: &'static [u8]) -> ByteStream {
        Box::pin(futures_util::stream::once(async move { Ok(bytes::Bytes::from_static(b)) }))
    }

    #[async_trait]
    impl FilesBackend for Fake {
        async fn stat_path(&self, name: &str, path: &str) -> Result<PathStat, ApiError> {
            missing(name)?;
            self.calls.lock().unwrap().push(format!("stat {name} {path}"));
            Ok(stat())
        }
        async fn archive(&self, name: &str, path: &str) -> Result<(PathStat, ByteStream), ApiError> {
            missing(name)?;
            self.calls.lock().unwrap().push(format!("archive {name} {path}"));
            Ok((stat(), bytes(b"tar!")))
        }
        async fn extract(
            &self,
            name: &str,
            path: &str,
            o: ExtractOptions,
            mut tar: ByteStream,
        ) -> Result<(), ApiError> {
            missing(name)?;
            let mut got = Vec::new();
            while let Some(c) = tar.next().await {
                got.extend_from_slice(&c.unwrap());
            }
            let text = String::from_utf8_lossy(&got);
            let line = format!("extract {name} {path} {} {} {text}", o.no_overwrite_dir_non_dir, o.copy_uid_gid);
            self.calls.lock().unwrap().push(line);
            Ok(())
        }
        async fn changes(&self, name: &str) -> Result<Vec<Change>, ApiError> {
            missing(name)?;
            Ok(vec![Change { path: "/tmp".into(), kind: 0 }, Change { path: "/tmp/x".into(), kind: 1 }])
        }
        async fn export(&self, name: &str) -> Result<ByteStream, ApiError> {
            missing(name)?;
            Ok(bytes(b"all"))
        }
        async fn commit(&self, o: CommitOptions) -> Result<String, ApiError> {
            missing(&o.container)?;
            let line = format!(
                "commit {} {}:{} {:?} pause={} {:?} {:?}",
                o.container, o.repo, o.tag, o.comment, o.pause, o.changes, o.config
            );
            self.calls.lock().unwrap().push(line);
            Ok("sha256:abc".into())
        }
    }

    async fn send(fake: &Arc<Fake>, method: &str, uri: &str, body: &'static [u8]) -> (StatusCode, HeaderMap, Vec<u8>) {
        let req = http::Request::builder().method(method).uri(uri).body(Body::from(body)).unwrap();
        let resp = routes(fake.clone()).oneshot(req).await.unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        (status, headers, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
    }

    #[tokio::test]
    async fn archive_head_and_get_carry_the_stat() {
        let fake = Arc::new(Fake::default());
        for method in ["HEAD", "GET"] {
            let (status, headers, body) = send(&fake, method, "/containers/c/archive?path=%2Fetc", b"").await;
            assert_eq!(status, StatusCode::OK);
            let raw = headers.get(PATH_STAT_HEADER).unwrap().to_str().unwrap();
            let json: serde_json::Value =
                serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(raw).unwrap()).unwrap();
            assert_eq!(
                json,
                serde_json::json!({"name": "etc", "size": 4096, "mode": 2147484141u32, "mtime": "2026-11-29T00:00:00Z", "linkTarget": ""})
            );
            assert_eq!(body, if method == "GET" { b"tar!".to_vec() } else { Vec::new() });
        }
        let (status, _, body) = send(&fake, "GET", "/containers/c/archive", b"").await;
        assert_eq!(
            (status, String::from_utf8_lossy(&body).contains("Path cannot be empty")),
            (StatusCode::BAD_REQUEST, true)
        );
        let (status, _, _) = send(&fake, "HEAD", "/containers/missing/archive?path=/", b"").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn put_passes_the_options_and_the_tar() {
        let fake = Arc::new(Fake::default());
        let (status, _, _) =
            send(&fake, "PUT", "/containers/c/archive?path=/tmp&noOverwriteDirNonDir=true&copyUIDGID=1", b"TAR").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(fake.calls.lock().unwrap().last().unwrap(), "extract c /tmp true true TAR");
    }

    #[tokio::test]
    async fn changes_export_commit() {
        let fake = Arc::new(Fake::default());
        let (status, _, body) = send(&fake, "GET", "/containers/c/changes", b"").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(String::from_utf8(body).unwrap(), r#"[{"Path":"/tmp","Kind":0},{"Path":"/tmp/x","Kind":1}]"#);
        let (_, headers, body) = send(&fake, "GET", "/containers/c/export", b"").await;
        assert_eq!(
            (headers.get(CONTENT_TYPE).unwrap(), body.as_slice()),
            (&HeaderValue::from_static("application/x-tar"), &b"all"[..])
        );
        let uri = "/commit?container=c&repo=r&tag=t&comment=hi&pause=0&changes=CMD+%5B%22sh%22%5D&changes=ENV+A%3Db";
        let (status, _, body) = send(&fake, "POST", uri, b"null").await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(String::from_utf8(body).unwrap(), r#"{"Id":"sha256:abc"}"#);
        assert_eq!(
            fake.calls.lock().unwrap().last().unwrap(),
            r#"commit c r:t "hi" pause=false ["CMD [\"sh\"]", "ENV A=b"] None"#
        );
        let (status, _, _) = send(&fake, "POST", "/commit?container=missing", b"").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, _, _) = send(&fake, "POST", "/commit?container=c", b"").await;
        assert!(fake.calls.lock().unwrap().last().unwrap().contains("pause=true"));
    }
}
