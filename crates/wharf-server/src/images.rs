//! `/images/…`: list, inspect, history, tag, remove, prune, load, save, import; and the images
//! part of `/system/df`.

use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;
use wharf_image::model::HistoryEntry;
use wharf_image::store::{DeleteItem, ImageInfo, ImportOptions, ListOptions, PruneReport};
use wharf_types::{Filters, Progress};

use crate::ApiError;

/// A stream of bytes: a request body handed to the backend, or an archive handed back.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// A stream of progress reports; it ends after the last one (an `Error` is the last one).
pub type ProgressStream = Pin<Box<dyn Stream<Item = Progress> + Send>>;

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
    async fn load(&self, body: ByteStream, quiet: bool, platform: Option<String>)
        -> Result<ProgressStream, ApiError>;
    /// `GET /images/{name}/get` and `GET /images/get?names=…`: the docker-archive tar.
    /// Unknown names fail before any byte is sent.
    async fn save(&self, names: Vec<String>) -> Result<ByteStream, ApiError>;
    /// `POST /images/create?fromSrc=-` (body) or `fromSrc=<url>` (not supported: `body` is
    /// `None` and the backend refuses). The stream ends with the new image ID as a `Stream` line
    /// (`sha256:…\n`), as dockerd.
    async fn import(&self, body: Option<ByteStream>, opts: ImportOptions) -> Result<ProgressStream, ApiError>;
    /// The images part of `GET /system/df`: every image with `shared_size` and `containers`.
    async fn disk_usage(&self) -> Result<Vec<ImageInfo>, ApiError>;
}

/// The image routes.
pub(crate) fn routes(backend: std::sync::Arc<dyn ImageBackend>) -> axum::Router {
    let _ = backend;
    axum::Router::new()
}
