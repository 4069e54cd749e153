//! `POST /build`: the classic builder's endpoint (the docker CLI uses it with
//! `DOCKER_BUILDKIT=0`, or when `/_ping` answers `Builder-Version: 1`). The body is the build
//! context (a tar, maybe gzipped), handed to the [`BuildBackend`] as a byte stream; the query
//! is read as dockerd's `newImageBuildOptions`; the answer is Docker's JSON message stream
//! (`stream`, `aux`, and `errorDetail`/`error` as the last message of a failed build).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use futures_util::StreamExt;
use http::header::CONTENT_TYPE;
use http::Uri;
use wharf_types::Progress;

use crate::images::{ByteStream, ProgressStream};
use crate::query::QueryArgs;
use crate::ApiError;

/// The query of `POST /build`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildRequest {
    /// `dockerfile` (default `Dockerfile`).
    pub dockerfile: String,
    /// `t`, repeatable.
    pub tags: Vec<String>,
    /// `buildargs` (JSON object; a `null` value takes it from the environment).
    pub build_args: BTreeMap<String, Option<String>>,
    /// `labels` (JSON object).
    pub labels: BTreeMap<String, String>,
    /// `target`.
    pub target: String,
    /// `nocache`.
    pub nocache: bool,
    /// `rm` (default true).
    pub rm: bool,
    /// `forcerm`.
    pub forcerm: bool,
    /// `q`.
    pub quiet: bool,
}

/// What `POST /build` needs.
#[async_trait]
pub trait BuildBackend: Send + Sync {
    /// Builds from the context in `body`; the stream reports the steps and ends with the
    /// result or an `Error`.
    async fn build(&self, body: ByteStream, req: BuildRequest) -> Result<ProgressStream, ApiError>;
}

/// The routes.
pub fn routes(backend: Arc<dyn BuildBackend>) -> Router {
    Router::new().route("/build", post(build)).with_state(backend)
}

async fn build(State(b): State<Arc<dyn BuildBackend>>, uri: Uri, body: Body) -> Result<Response, ApiError> {
    let q = QueryArgs::from_uri(&uri)?;
    let json_map = |key: &str| -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
        match q.get(key).filter(|s| !s.is_empty()) {
            None => Ok(serde_json::Map::new()),
            Some(s) => serde_json::from_str(s).map_err(|e| ApiError::invalid(format!("invalid {key}: {e}"))),
        }
    };
    let build_args = json_map("buildargs")?.into_iter().map(|(k, v)| (k, v.as_str().map(str::to_string))).collect();
    let labels =
        json_map("labels")?.into_iter().map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string())).collect();
    let req = BuildRequest {
        dockerfile: q.string("dockerfile"),
        tags: q.all("t").into_iter().filter(|t| !t.is_empty()).collect(),
        build_args,
        labels,
        target: q.string("target"),
        nocache: q.bool("nocache"),
        rm: q.bool_or("rm", true),
        forcerm: q.bool("forcerm"),
        quiet: q.bool("q"),
    };
    let body: ByteStream = Box::pin(body.into_data_stream().map(|c| c.map_err(std::io::Error::other)));
    let stream = b.build(body, req).await?;
    let lines = stream.map(|p| Ok::<_, std::convert::Infallible>(line(&p)));
    Ok(([(CONTENT_TYPE, "application/json")], Body::from_stream(lines)).into_response())
}

/// One JSON message, newline-terminated.
fn line(p: &Progress) -> Bytes {
    let v = match p {
        Progress::Stream(s) => serde_json::json!({ "stream": s }),
        Progress::Aux(raw) => {
            let aux: serde_json::Value = serde_json::from_str(raw).unwrap_or(serde_json::Value::String(raw.clone()));
            serde_json::json!({ "aux": aux })
        }
        Progress::Error(e) => {
            // dockerd's field order: `errorDetail` first.
            let e = serde_json::Value::String(e.clone());
            return Bytes::from(format!("{{\"errorDetail\":{{\"message\":{e}}},\"error\":{e}}}\n"));
        }
        Progress::Status { id, status, .. } => serde_json::json!({ "status": status, "id": id }),
    };
    let mut out = serde_json::to_vec(&v).unwrap_or_default();
    out.push(b'\n');
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        assert_eq!(&line(&Progress::Stream("x\n".into()))[..], b"{\"stream\":\"x\\n\"}\n");
        assert_eq!(&line(&Progress::Aux("{\"ID\":\"sha256:1\"}".into()))[..], b"{\"aux\":{\"ID\":\"sha256:1\"}}\n");
        assert_eq!(&line(&Progress::Error("e".into()))[..], b"{\"errorDetail\":{\"message\":\"e\"},\"error\":\"e\"}\n");
    }
}
