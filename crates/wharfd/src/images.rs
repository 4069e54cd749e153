//! `ImageBackend` over the image store: each call runs the blocking store on tokio's blocking
//! pool; request bodies become blocking readers ([`SyncIoBridge`]), progress and archives come
//! back through bounded channels, so a slow client slows the work instead of buffering it.
//!
//! Pull, push and login join the store and `wharf-registry`'s client (see [`registry`]): the
//! registry protocol runs on the async runtime, blobs stream into the store's blocking writers
//! through bounded channels, and progress is reported in dockerd's words.

mod registry;

use std::io::{self, Write};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::mpsc;
use wharf_image::model::HistoryEntry;
use wharf_image::store::{DeleteItem, ImageInfo, ImageStore, ImportOptions, ListOptions, PruneReport};
use wharf_image::ImageError;
use wharf_server::{ApiError, AuthRequest, ByteStream, ImageBackend, ProgressStream, PullRequest};

use crate::streams::{body_reader, byte_stream, ChannelWriter};
use wharf_types::{ErrorKind, Filters, Progress};

/// The adapter.
pub(crate) struct ImageAdapter {
    store: Arc<ImageStore>,
    registry: registry::Registry,
}

pub(crate) use registry::RegistryConfig;

impl ImageAdapter {
    pub(crate) fn new(store: Arc<ImageStore>) -> Arc<Self> {
        let registry = registry::Registry::new(RegistryConfig::default());
        Arc::new(ImageAdapter { store, registry })
    }

    /// The same adapter with the daemon's registry options.
    pub(crate) fn with_registry(self: Arc<Self>, cfg: RegistryConfig) -> Arc<Self> {
        Arc::new(ImageAdapter { store: self.store.clone(), registry: registry::Registry::new(cfg) })
    }
}

fn api(e: ImageError) -> ApiError {
    ApiError::from_err(e)
}

/// Runs `f` on the store in the blocking pool.
async fn blocking<T: Send + 'static>(
    store: &Arc<ImageStore>,
    f: impl FnOnce(&ImageStore) -> Result<T, ImageError> + Send + 'static,
) -> Result<T, ApiError> {
    let store = store.clone();
    match tokio::task::spawn_blocking(move || f(&store)).await {
        Ok(r) => r.map_err(api),
        Err(e) => Err(ApiError::new(ErrorKind::Internal, format!("image task failed: {e}"))),
    }
}

fn progress_stream(rx: mpsc::Receiver<Progress>) -> ProgressStream {
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|p| (p, rx)) }))
}

#[async_trait]
impl ImageBackend for ImageAdapter {
    async fn list(&self, opts: ListOptions) -> Result<Vec<ImageInfo>, ApiError> {
        blocking(&self.store, move |s| s.list(&opts)).await
    }

    async fn inspect(&self, name: &str) -> Result<ImageInfo, ApiError> {
        let name = name.to_string();
        blocking(&self.store, move |s| s.inspect(&name)).await
    }

    async fn history(&self, name: &str) -> Result<Vec<(HistoryEntry, u64, String)>, ApiError> {
        let name = name.to_string();
        blocking(&self.store, move |s| s.history(&name)).await
    }

    async fn tag(&self, name: &str, repo: &str, tag: &str) -> Result<(), ApiError> {
        let (name, repo, tag) = (name.to_string(), repo.to_string(), tag.to_string());
        blocking(&self.store, move |s| s.tag(&name, &repo, &tag)).await
    }

    async fn remove(&self, name: &str, force: bool, noprune: bool) -> Result<Vec<DeleteItem>, ApiError> {
        let name = name.to_string();
        blocking(&self.store, move |s| s.remove(&name, force, noprune)).await
    }

    async fn prune(&self, filters: Filters) -> Result<PruneReport, ApiError> {
        blocking(&self.store, move |s| s.prune(&filters)).await
    }

    async fn load(&self, body: ByteStream, quiet: bool, platform: Option<String>) -> Result<ProgressStream, ApiError> {
        let (tx, rx) = mpsc::channel::<Progress>(64);
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let reader = body_reader(body);
            let mut report = |p: Progress| {
                if !quiet {
                    let _ = tx.blocking_send(p);
                }
            };
            let result = store.load(reader, platform.as_deref(), &mut report);
            match result {
                Ok(lines) => {
                    for l in lines {
                        let _ = tx.blocking_send(Progress::Stream(format!("{l}\n")));
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Progress::Error(e.to_string()));
                }
            }
        });
        Ok(progress_stream(rx))
    }

    async fn save(&self, names: Vec<String>) -> Result<ByteStream, ApiError> {
        let plan = blocking(&self.store, move |s| s.save_plan(&names)).await?;
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(8);
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let w = ChannelWriter::new(tx.clone());
            match store.save(&plan, w) {
                Ok(mut w) => {
                    let _ = w.flush();
                }
                Err(e) => {
                    tracing::warn!("save: {e}");
                    let _ = tx.blocking_send(Err(io::Error::other(e.to_string())));
                }
            }
        });
        Ok(byte_stream(rx))
    }

    async fn import(&self, body: Option<ByteStream>, opts: ImportOptions) -> Result<ProgressStream, ApiError> {
        let Some(body) = body else {
            return Err(ApiError::new(
                ErrorKind::NotImplemented,
                "importing from a URL is not supported: give the archive as the request body (fromSrc=-)",
            ));
        };
        let (tx, rx) = mpsc::channel::<Progress>(64);
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let reader = body_reader(body);
            let result = store.import(reader, &opts, &mut |p| {
                let _ = tx.blocking_send(p);
            });
            let _ = tx.blocking_send(match result {
                Ok(id) => Progress::Stream(format!("{id}\n")),
                Err(e) => Progress::Error(e.to_string()),
            });
        });
        Ok(progress_stream(rx))
    }

    async fn disk_usage(&self) -> Result<Vec<ImageInfo>, ApiError> {
        blocking(&self.store, |s| s.disk_usage()).await
    }

    async fn pull(&self, req: PullRequest) -> Result<ProgressStream, ApiError> {
        let rx = self.registry.pull(self.store.clone(), req).await?;
        Ok(progress_stream(rx))
    }

    async fn push(&self, name: &str, tag: &str, auth: Option<String>) -> Result<ProgressStream, ApiError> {
        let rx = self.registry.push(self.store.clone(), name, tag, auth).await?;
        Ok(progress_stream(rx))
    }

    async fn login(&self, req: AuthRequest) -> Result<String, ApiError> {
        self.registry.login(req).await
    }
}
