//! `ImageBackend` over the image store (placeholder while the store lands).

use std::sync::Arc;

use async_trait::async_trait;
use wharf_image::model::HistoryEntry;
use wharf_image::store::{DeleteItem, ImageInfo, ImportOptions, ListOptions, PruneReport};
use wharf_server::{ApiError, ByteStream, ImageBackend, ProgressStream};
use wharf_types::{ErrorKind, Filters};

pub(crate) fn placeholder() -> Arc<dyn ImageBackend> {
    Arc::new(Placeholder)
}

struct Placeholder;

fn no() -> ApiError {
    ApiError::new(ErrorKind::NotImplemented, "images are not wired yet")
}

#[async_trait]
impl ImageBackend for Placeholder {
    async fn list(&self, _: ListOptions) -> Result<Vec<ImageInfo>, ApiError> {
        Ok(vec![])
    }
    async fn inspect(&self, _: &str) -> Result<ImageInfo, ApiError> {
        Err(no())
    }
    async fn history(&self, _: &str) -> Result<Vec<(HistoryEntry, u64, String)>, ApiError> {
        Err(no())
    }
    async fn tag(&self, _: &str, _: &str, _: &str) -> Result<(), ApiError> {
        Err(no())
    }
    async fn remove(&self, _: &str, _: bool, _: bool) -> Result<Vec<DeleteItem>, ApiError> {
        Err(no())
    }
    async fn prune(&self, _: Filters) -> Result<PruneReport, ApiError> {
        Err(no())
    }
    async fn load(&self, _: ByteStream, _: bool, _: Option<String>) -> Result<ProgressStream, ApiError> {
        Err(no())
    }
    async fn save(&self, _: Vec<String>) -> Result<ByteStream, ApiError> {
        Err(no())
    }
    async fn import(&self, _: Option<ByteStream>, _: ImportOptions) -> Result<ProgressStream, ApiError> {
        Err(no())
    }
    async fn disk_usage(&self) -> Result<Vec<ImageInfo>, ApiError> {
        Ok(vec![])
    }
}
