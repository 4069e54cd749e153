//! Images from a registry: the store's side of `docker pull` and `docker push`. The protocol
//! is the caller's (the daemon drives `wharf-registry`'s client); the store gives it:
//!
//! - a [`PullLease`]: every blob of a pull is written under it, verified against the
//!   manifest's digest and size *before* it becomes visible ([`ImageStore::pull_blob`]: a
//!   mismatch stores nothing); on overlay-style drivers a layer is unpacked on a second thread
//!   while it streams in (load's staging), so extraction overlaps the download;
//! - [`ImageStore::layers_present`], to skip layers already unpacked (`Already exists`);
//! - [`ImageStore::pull_finish`]: `register` as load does (unpack what was not staged, one
//!   transaction for image, layers and names — the tag and the `name@digest` RepoDigest), then
//!   the lease is dropped. A pull that fails or a daemon killed mid-pull leaves only leased
//!   blobs and `extract-…` snapshots, which [`ImageStore::pull_abort`] or the next
//!   [`ImageStore::open`] collects;
//! - [`ImageStore::push_plan`]: what to upload for an image (the original manifest bytes when
//!   the image came from a registry, so its digest stays stable; otherwise a Docker v2 schema 2
//!   manifest, as dockerd pushes images it loaded), and [`ImageStore::record_push`] to
//!   record the pushed digest (and publish the `push` event).

use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use wharf_snapshot::Whiteouts;
use wharf_store::rusqlite::params;
use wharf_types::Progress;

use super::ingest::{copy_member, looks_like_layer, read_head, start_stage, LayerIn, Registration, Staged};
use super::{db_err, now_nanos, ImageStore};
use crate::error::{ImageError, Result};
use crate::model::media_types;
use crate::reference::ImageRef;

/// A pull in progress: the lease its blobs are written under, and the layers unpacked while
/// they streamed (by blob digest).
#[derive(Debug)]
pub struct PullLease {
    lease: String,
    staged: Mutex<HashMap<String, Staged>>,
    seq: AtomicU64,
}

/// A layer of a pulled image, as its manifest describes it.
#[derive(Debug, Clone)]
pub struct PulledLayer {
    /// The blob digest (`sha256:…`).
    pub digest: String,
    /// The blob size.
    pub size: u64,
    /// Its media type.
    pub media_type: String,
    /// Its diff ID (from the config).
    pub diff_id: String,
}

/// A pulled image to record.
#[derive(Debug, Clone)]
pub struct PulledImage {
    /// The config digest: the image ID.
    pub config_digest: String,
    /// The config's size.
    pub config_size: u64,
    /// The digest of the manifest (the platform's image manifest).
    pub manifest_digest: String,
    /// The layers, bottom first.
    pub layers: Vec<PulledLayer>,
    /// The names to record: the tag (`repo:tag`) and/or the digest name (`repo@sha256:…` of the
    /// pulled reference's manifest, the one `RepoDigests` shows).
    pub names: Vec<ImageRef>,
}

/// What pushing an image sends.
#[derive(Debug, Clone)]
pub struct PushPlan {
    /// The image ID.
    pub id: String,
    /// The config blob digest (= ID) and size.
    pub config_size: u64,
    /// Layers, bottom first: `(blob digest, size, media type)`.
    pub layers: Vec<(String, u64, String)>,
    /// The manifest bytes and media type.
    pub manifest: (Vec<u8>, String),
}

fn store_err(e: wharf_store::StoreError) -> ImageError {
    match e {
        wharf_store::StoreError::DigestMismatch { expected, .. } => ImageError::backend(
            wharf_types::ErrorKind::InvalidArgument,
            format!("filesystem layer verification failed for digest {expected}"),
            None,
        ),
        wharf_store::StoreError::SizeMismatch { digest, expected, actual } => ImageError::backend(
            wharf_types::ErrorKind::InvalidArgument,
            format!("filesystem layer verification failed for digest {digest}: size {actual}, expected {expected}"),
            None,
        ),
        e => ImageError::storage(e),
    }
}

impl ImageStore {
    /// Starts a pull: takes its lease.
    pub fn pull_begin(&self) -> Result<PullLease> {
        let (_, lease) = self.new_lease("pull")?;
        Ok(PullLease { lease, staged: Mutex::new(HashMap::new()), seq: AtomicU64::new(0) })
    }

    /// Whether the layer stacks of these diff IDs (bottom first) are unpacked already: one
    /// answer per layer (a layer counts only if every layer below it does too).
    pub fn layers_present(&self, diff_ids: &[String]) -> Result<Vec<bool>> {
        let digests: Vec<crate::Digest> = diff_ids.iter().map(|d| crate::parse_digest(d)).collect::<Result<_>>()?;
        let chains = crate::model::chain_ids(&digests);
        let mut out = Vec::new();
        let mut below = true;
        for c in chains {
            let c = c.to_string();
            let row: bool = self.db.read(|tx| {
                Ok::<_, ImageError>(
                    tx.query_row("SELECT 1 FROM layers WHERE chain_id = ?1", [&c], |_| Ok(()))
                        .map(|_| true)
                        .unwrap_or(false),
                )
            })?;
            below = below && row && self.snapshots.stat(&c).is_ok();
            out.push(below);
        }
        Ok(out)
    }

    /// The image a name points at, if any (for "Image is up to date").
    pub fn image_of_name(&self, name: &ImageRef) -> Option<String> {
        let full = name.full();
        self.db
            .read(|tx| {
                Ok::<_, ImageError>(
                    tx.query_row("SELECT image_id FROM image_names WHERE name = ?1", [&full], |r| {
                        r.get::<_, String>(0)
                    })
                    .ok(),
                )
            })
            .ok()
            .flatten()
    }

    /// Writes one blob of a pull from `r`, verifying `digest` and `size` before it becomes
    /// visible (a mismatch stores nothing and says `filesystem layer verification failed for
    /// digest …`, as dockerd). A layer is also unpacked while it streams on drivers that allow
    /// it.
    pub fn pull_blob(&self, pull: &PullLease, digest: &str, size: u64, layer: bool, r: &mut dyn Read) -> Result<()> {
        let d: wharf_types::Digest = digest.parse().map_err(ImageError::storage)?;
        let mut w = self.blobs.writer(Some((d.clone(), size))).map_err(ImageError::storage)?.with_lease(&pull.lease);
        let mut head = vec![0u8; 512];
        let n = read_head(r, &mut head)?;
        head.truncate(n);
        let stage = layer && self.snapshots.whiteouts() == Whiteouts::Overlay && looks_like_layer(&head);
        let staging = if stage {
            let seq = pull.seq.fetch_add(1, Ordering::Relaxed);
            start_stage(self, &format!("p{}-{seq}", std::process::id())).ok()
        } else {
            None
        };
        let copied = copy_member(r, &head, &mut w, staging.as_ref().map(|(_, tx, _)| tx));
        let (key, applied) = match staging {
            Some((key, tx, handle)) => {
                drop(tx);
                (Some(key), handle.join().ok())
            }
            None => (None, None),
        };
        let stored = copied.and_then(|()| w.commit().map_err(store_err));
        if let Err(e) = stored {
            if let Some(k) = key {
                let _ = self.snapshots.remove(&k);
            }
            return Err(e);
        }
        if let Some(k) = key {
            let mut staged = pull.staged.lock().unwrap_or_else(|e| e.into_inner());
            match applied {
                Some(Ok(stats)) if !staged.contains_key(digest) => {
                    staged.insert(
                        digest.to_string(),
                        Staged { key: k, diff_id: stats.diff_id, size: stats.content_bytes, tar_size: stats.bytes },
                    );
                }
                _ => {
                    let _ = self.snapshots.remove(&k);
                }
            }
        }
        Ok(())
    }

    /// Writes a small blob of a pull (the manifest, the config) from memory, verified.
    pub fn pull_bytes(&self, pull: &PullLease, digest: &str, bytes: &[u8]) -> Result<()> {
        self.pull_blob(pull, digest, bytes.len() as u64, false, &mut &bytes[..])
    }

    /// Records a pulled image (its blobs written under `pull`): unpacks the layers not
    /// staged yet and makes image, layers and names visible in one transaction, then drops the
    /// lease. `progress` sees `Extracting` while a layer is unpacked here.
    pub fn pull_finish(&self, pull: PullLease, img: &PulledImage, progress: &mut dyn FnMut(Progress)) -> Result<()> {
        let result = (|| {
            let layers: Vec<LayerIn> = img
                .layers
                .iter()
                .map(|l| {
                    Ok(LayerIn {
                        blob: l.digest.parse().map_err(ImageError::storage)?,
                        blob_size: l.size,
                        media_type: l.media_type.clone(),
                        diff_id: l.diff_id.clone(),
                    })
                })
                .collect::<Result<_>>()?;
            let reg = Registration {
                id: &img.config_digest,
                config_size: img.config_size,
                manifest_digest: Some(img.manifest_digest.clone()),
                parent: None,
                layers: &layers,
                names: &img.names,
                tag_time: false,
            };
            let mut staged = std::mem::take(&mut *pull.staged.lock().unwrap_or_else(|e| e.into_inner()));
            let mut report = |p: Progress| match p {
                Progress::Status { id, status, current, total } if status == "Loading layer" => {
                    progress(Progress::Status { id, status: "Extracting".into(), current, total })
                }
                Progress::Status { ref status, .. } if status == "Already exists" => {}
                p => progress(p),
            };
            let r = self.register(&reg, &mut staged, &mut report);
            for (_, st) in staged {
                let _ = self.snapshots.remove(&st.key);
            }
            r
        })();
        self.pull_end(pull, result.is_err());
        result?;
        for n in img.names.iter().filter(|n| n.digest().is_none()) {
            self.publish("pull", &img.config_digest, Some(&n.familiar()));
        }
        Ok(())
    }

    /// Gives up a pull: its staged snapshots and unregistered blobs go.
    pub fn pull_abort(&self, pull: PullLease) {
        self.pull_end(pull, true);
    }

    fn pull_end(&self, pull: PullLease, failed: bool) {
        for (_, st) in pull.staged.lock().unwrap_or_else(|e| e.into_inner()).drain() {
            let _ = self.snapshots.remove(&st.key);
        }
        if let Err(e) = wharf_store::Leases::new(&self.db).delete_lease(&pull.lease) {
            tracing::warn!(lease = pull.lease, "dropping lease: {e}");
        }
        if failed {
            let _ = self.gc();
        }
    }

    /// What pushing image `name` sends: its layers and config, and the manifest — the one it
    /// was pulled with when that is still stored and describes this image, else a new Docker v2
    /// schema 2 manifest.
    pub fn push_plan(&self, name: &str) -> Result<PushPlan> {
        let id = self.resolve(name)?;
        let (manifest_digest, config_size, layers) = self.db.read(|tx| {
            let (md, size): (Option<String>, i64) = tx
                .query_row("SELECT manifest_digest, config_size FROM images WHERE id = ?1", [&id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .map_err(db_err)?;
            let layers = ImageStore::layers_of(tx, &id)?;
            Ok::<_, ImageError>((md, size as u64, layers))
        })?;
        let layers: Vec<(String, u64, String)> =
            layers.into_iter().map(|l| (l.blob_digest, l.blob_size, l.media_type)).collect();
        let stored = manifest_digest.and_then(|md| {
            let d: wharf_types::Digest = md.parse().ok()?;
            let bytes = self.blobs.read_all(&d).ok()?;
            let m: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
            let cfg = m.get("config")?.get("digest")?.as_str()?;
            let mt = m.get("mediaType").and_then(|v| v.as_str()).unwrap_or(media_types::OCI_MANIFEST).to_string();
            (cfg == id && m.get("layers").is_some()).then_some((bytes, mt))
        });
        let manifest = match stored {
            Some(m) => m,
            None => {
                let docker_type = |mt: &str| match mt {
                    media_types::OCI_LAYER => media_types::DOCKER_LAYER.to_string(),
                    media_types::OCI_LAYER_GZIP => media_types::DOCKER_LAYER_GZIP.to_string(),
                    media_types::OCI_LAYER_ZSTD => media_types::DOCKER_LAYER_ZSTD.to_string(),
                    mt => mt.to_string(),
                };
                let m = serde_json::json!({
                    "schemaVersion": 2,
                    "mediaType": media_types::DOCKER_MANIFEST,
                    "config": {"mediaType": media_types::DOCKER_CONFIG, "size": config_size, "digest": id},
                    "layers": layers.iter().map(|(d, s, mt)| serde_json::json!({
                        "mediaType": docker_type(mt), "size": s, "digest": d
                    })).collect::<Vec<_>>(),
                });
                let bytes = serde_json::to_vec_pretty(&m).map_err(|e| ImageError::manifest(e.to_string()))?;
                (bytes, media_types::DOCKER_MANIFEST.to_string())
            }
        };
        Ok(PushPlan { id, config_size, layers, manifest })
    }

    /// Opens a blob for pushing.
    pub fn open_blob(&self, digest: &str) -> Result<std::fs::File> {
        let d: wharf_types::Digest = digest.parse().map_err(ImageError::storage)?;
        self.blobs.open_blob(&d).map_err(ImageError::storage)
    }

    /// After a push of image `id` as `tagged`: records `tagged@digest` as a RepoDigest and
    /// publishes dockerd's `push` event (ID and name: the familiar `name:tag`).
    pub fn record_push(&self, id: &str, tagged: &ImageRef, digest: wharf_types::Digest) -> Result<()> {
        let name = tagged.trim().with_digest(digest);
        let full = name.full();
        let now = now_nanos();
        self.db.tx(|tx| {
            tx.execute(
                "INSERT INTO image_names (name, image_id, kind, created_at) VALUES (?1, ?2, 'digest', ?3)
                 ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id",
                params![full, id, now],
            )
            .map_err(db_err)?;
            Ok::<_, ImageError>(())
        })?;
        let familiar = tagged.familiar();
        self.publish("push", &familiar, Some(&familiar));
        Ok(())
    }
}
