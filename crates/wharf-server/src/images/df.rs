//! `GET /system/df?type=…`: disk usage per object type, from the image, container and volume
//! backends; `BuildCache` is an empty list until the builder lands.
//!
//! As dockerd: `type` (repeatable: `container`, `image`, `volume`, `build-cache`; honoured from
//! API 1.42) restricts the answer to those types, the others being `null`; an unknown type is a
//! 400 `unknown object type: …`.

use std::sync::Arc;

use axum::extract::State;
use axum::{Extension, Json};
use http::Uri;
use serde::Serialize;
use serde_json::Value;
use wharf_api::{ApiVersion, CURRENT_API_VERSION};
use wharf_image::store::ImageInfo;

use super::wire::{self, int, v1, ImageSummary};
use super::ImageBackend;
use crate::query::QueryArgs;
use crate::volumes::{VolumeBackend, VolumeView};
use crate::ApiError;

/// The backends with a part in `/system/df`.
#[derive(Clone)]
pub(crate) struct DfBackends {
    /// `Images` and `LayersSize`.
    pub images: Arc<dyn ImageBackend>,
    /// `Containers` (every container with its sizes, as `ps -as` lists them).
    pub containers: Arc<dyn crate::ContainerBackend>,
    /// `Volumes`.
    pub volumes: Arc<dyn VolumeBackend>,
}

/// Go's `types.DiskUsage` (fields in its order; a type not asked for is `null`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DiskUsage {
    layers_size: i64,
    images: Option<Vec<ImageSummary>>,
    containers: Option<Vec<Value>>,
    volumes: Option<Vec<VolumeView>>,
    build_cache: Option<Vec<Value>>,
}

/// Which object types a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Wanted {
    containers: bool,
    images: bool,
    volumes: bool,
    build_cache: bool,
}

fn wanted(q: &QueryArgs, version: ApiVersion) -> Result<Wanted, ApiError> {
    let types = q.all("type");
    if version < v1(42) || !q.contains("type") {
        return Ok(Wanted { containers: true, images: true, volumes: true, build_cache: true });
    }
    let mut w = Wanted { containers: false, images: false, volumes: false, build_cache: false };
    for t in types {
        match t.as_str() {
            "container" => w.containers = true,
            "image" => w.images = true,
            "volume" => w.volumes = true,
            "build-cache" => w.build_cache = true,
            other => return Err(ApiError::invalid(format!("unknown object type: {other}"))),
        }
    }
    Ok(w)
}

/// The handler.
pub(crate) async fn system_df(
    State(backends): State<DfBackends>,
    version: Option<Extension<ApiVersion>>,
    uri: Uri,
) -> Result<Json<DiskUsage>, ApiError> {
    let version = version.map(|Extension(v)| v).unwrap_or(CURRENT_API_VERSION);
    let q = QueryArgs::from_uri(&uri)?;
    let w = wanted(&q, version)?;
    let (layers_size, images) = if w.images {
        let images = backends.images.disk_usage().await?;
        let size = layers_size(&images);
        (size, Some(images.into_iter().map(|i| wire::summary(i, version)).collect()))
    } else {
        (0, None)
    };
    let volumes = if w.volumes { Some(backends.volumes.disk_usage().await?) } else { None };
    let containers = if w.containers {
        let opts = crate::ContainerListOptions { all: true, size: true, ..Default::default() };
        let now = crate::now_nanos();
        let list = backends.containers.list(opts).await?;
        Some(
            list.into_iter()
                .map(|i| serde_json::to_value(crate::containers::wire::summary(i, now)).unwrap_or(Value::Null))
                .collect(),
        )
    } else {
        None
    };
    Ok(Json(DiskUsage { layers_size, images, containers, volumes, build_cache: w.build_cache.then(Vec::new) }))
}

/// Bytes of all image layers, each counted once: every image's own bytes (`Size` −
/// `SharedSize`) plus the largest shared part. dockerd sums the distinct layers themselves; from
/// per-image figures this is exact when the shared layers form one common base (the usual
/// case) and a lower bound otherwise. Images without a computed `SharedSize` count in full.
fn layers_size(images: &[ImageInfo]) -> i64 {
    let own: u64 = images.iter().map(|i| i.size.saturating_sub(i.shared_size.unwrap_or(0))).sum();
    let shared = images.iter().filter_map(|i| i.shared_size).max().unwrap_or(0);
    int(own.saturating_add(shared))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_asked_for() {
        let q = |s: &str| QueryArgs::parse(s).unwrap();
        let all = Wanted { containers: true, images: true, volumes: true, build_cache: true };
        assert_eq!(wanted(&q(""), v1(45)).unwrap(), all);
        assert_eq!(wanted(&q("type=image"), v1(41)).unwrap(), all);
        let w = wanted(&q("type=image&type=build-cache"), v1(45)).unwrap();
        assert_eq!(w, Wanted { containers: false, images: true, volumes: false, build_cache: true });
        assert_eq!(wanted(&q("type=bogus"), v1(45)).unwrap_err().message, "unknown object type: bogus");
    }

    #[test]
    fn layers_counted_once() {
        let img = |size, shared| ImageInfo { size, shared_size: shared, ..Default::default() };
        // Two images on a common 100-byte base, plus one without a computed shared size.
        assert_eq!(layers_size(&[img(150, Some(100)), img(130, Some(100)), img(10, None)]), 190);
        assert_eq!(layers_size(&[]), 0);
    }
}
