//! Getting images in: `docker load` (archives), `docker import` (a root filesystem tar) and
//! `docker commit` (a container's changes as a layer tar on its image), and unpacking layers
//! into snapshots.
//!
//! Order of work, for crash safety (see the store's module docs): a lease is taken; blobs are
//! written under it; layers are unpacked into `extract-…` snapshots and committed under their
//! chain IDs; one transaction then inserts the image, its layers and names (GC roots from then
//! on); the lease is dropped last. All three go through [`ImageStore::register`]; import and
//! commit share the storing of their layer tar and config.

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::mpsc;

use wharf_fs::{ApplyOptions, Root, WhiteoutMode};
use wharf_snapshot::{Labels, Whiteouts};
use wharf_store::rusqlite::params;
use wharf_store::{Leases, Tx};
use wharf_types::Progress;

use super::{db_err, now_nanos, short12, CommitOptions, ImageStore, ImportOptions, EXTRACT_PREFIX};
use crate::archive::{read_archive, BlobSink, LoadedImage};
use crate::error::{ImageError, Result};
use crate::model::{chain_ids, Compression, Platform};
use crate::reference::ImageRef;
use crate::Digest;

/// How long a load's lease protects its blobs if the daemon never finishes it.
const LEASE_TTL_NANOS: i64 = 24 * 3600 * 1_000_000_000;

/// Bytes between two progress reports while a layer is unpacked.
const PROGRESS_STEP: u64 = 512 * 1024;

/// A layer to register: where its tar is and what unpacking it measured.
#[derive(Debug, Clone)]
pub(super) struct Unpacked {
    chain_id: String,
    diff_id: String,
    parent: Option<String>,
    size: u64,
    tar_size: u64,
    blob_digest: String,
    blob_size: u64,
    media_type: String,
}

/// A layer as the archive or import gave it.
#[derive(Debug, Clone)]
pub(super) struct LayerIn {
    pub(super) blob: wharf_types::Digest,
    pub(super) blob_size: u64,
    pub(super) media_type: String,
    pub(super) diff_id: String,
}

/// An image to make visible: its config blob, layers (bottom first) and names.
pub(super) struct Registration<'a> {
    /// The image ID (config digest).
    pub(super) id: &'a str,
    pub(super) config_size: u64,
    pub(super) manifest_digest: Option<String>,
    /// The local parent image (`docker commit`), which must still exist when the image is
    /// registered.
    pub(super) parent: Option<&'a str>,
    pub(super) layers: &'a [LayerIn],
    /// Names; those with a digest are recorded as digest names (`RepoDigests`).
    pub(super) names: &'a [ImageRef],
    /// Record the naming as a tag operation (`LastTagTime`), as `docker commit repo:tag` does.
    pub(super) tag_time: bool,
}

/// A parent image as `docker commit` builds on it.
struct ParentImage {
    id: String,
    config: serde_json::Value,
    layers: Vec<LayerIn>,
}

/// A layer unpacked while its blob streamed in, before its parent was known (overlay-style
/// drivers only): an active snapshot without parent, rebased when the image is registered.
#[derive(Debug)]
pub(super) struct Staged {
    pub(super) key: String,
    pub(super) diff_id: String,
    pub(super) size: u64,
    pub(super) tar_size: u64,
}

/// Stores archive members in the content store under a lease; on drivers whose snapshots hold
/// only their own changes, members that look like layers are also unpacked on a second thread
/// as they stream (the two cores then share the work of a load).
struct LeasedSink<'a> {
    store: &'a ImageStore,
    lease: &'a str,
    staged: HashMap<String, Staged>,
    seq: u64,
}

/// Bytes read at a time from an archive member.
const CHUNK: usize = 256 * 1024;

impl BlobSink for LeasedSink<'_> {
    fn put(&mut self, expected: Option<&Digest>, r: &mut dyn Read) -> Result<Digest> {
        let mut w = self.store.blobs.writer(None).map_err(ImageError::storage)?.with_lease(self.lease);
        let mut head = vec![0u8; 512];
        let n = read_head(r, &mut head)?;
        head.truncate(n);
        let stage = self.store.snapshots.whiteouts() == Whiteouts::Overlay && looks_like_layer(&head);
        let staging = if stage { self.start_stage().ok() } else { None };
        let copied = copy_member(r, &head, &mut w, staging.as_ref().map(|(_, tx, _)| tx));
        let (key, applied) = match staging {
            Some((key, tx, handle)) => {
                drop(tx);
                (Some(key), handle.join().ok())
            }
            None => (None, None),
        };
        let stored = copied.and_then(|()| w.commit().map_err(ImageError::storage));
        let actual = match stored.and_then(|d| crate::parse_digest(d.as_str())) {
            Ok(d) => d,
            Err(e) => {
                if let Some(k) = key {
                    let _ = self.store.snapshots.remove(&k);
                }
                return Err(e);
            }
        };
        if let Some(k) = key {
            match applied {
                Some(Ok(stats)) if !self.staged.contains_key(actual.as_ref() as &str) => {
                    self.staged.insert(
                        actual.to_string(),
                        Staged { key: k, diff_id: stats.diff_id, size: stats.content_bytes, tar_size: stats.bytes },
                    );
                }
                _ => {
                    let _ = self.store.snapshots.remove(&k);
                }
            }
        }
        if let Some(exp) = expected {
            if *exp != actual {
                return Err(ImageError::DigestMismatch {
                    what: "archive member".into(),
                    expected: exp.clone(),
                    actual,
                });
            }
        }
        Ok(actual)
    }
}

pub(super) type StageHandle = std::thread::JoinHandle<std::result::Result<wharf_fs::ApplyStats, wharf_fs::FsError>>;

impl LeasedSink<'_> {
    /// Prepares a parentless snapshot and starts unpacking into it from a channel.
    fn start_stage(&mut self) -> Result<(String, mpsc::SyncSender<Vec<u8>>, StageHandle)> {
        self.seq += 1;
        start_stage(self.store, &format!("s{}", self.seq))
    }

    /// Removes the staged snapshots nobody used.
    fn discard_staged(&mut self) {
        for (_, st) in self.staged.drain() {
            let _ = self.store.snapshots.remove(&st.key);
        }
    }
}

/// Prepares a parentless snapshot (its key ends with `tag`) and starts unpacking into it from a
/// channel, on a thread of its own.
pub(super) fn start_stage(store: &ImageStore, tag: &str) -> Result<(String, mpsc::SyncSender<Vec<u8>>, StageHandle)> {
    {
        let key = format!("{EXTRACT_PREFIX}{}-{tag}", now_nanos());
        let snaps = &store.snapshots;
        snaps.prepare(&key, None, Labels::new()).map_err(ImageError::storage)?;
        let root = match snaps
            .apply_dir(&key)
            .map_err(ImageError::storage)
            .and_then(|d| Root::new(&d).map_err(ImageError::storage))
        {
            Ok(r) => r,
            Err(e) => {
                let _ = snaps.remove(&key);
                return Err(e);
            }
        };
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(16);
        let opts = ApplyOptions { whiteout_mode: WhiteoutMode::Overlay, ..ApplyOptions::default() };
        let handle = std::thread::Builder::new()
            .name("layer-unpack".into())
            .spawn(move || wharf_fs::apply_layer(&root, ChanReader { rx, cur: Vec::new(), pos: 0 }, &opts))
            .map_err(|e| ImageError::io("starting an unpack thread", e));
        match handle {
            Ok(h) => Ok((key, tx, h)),
            Err(e) => {
                let _ = snaps.remove(&key);
                Err(e)
            }
        }
    }
}

/// Copies a member (its first bytes already read into `head`) into the blob writer, and into
/// the unpacking thread while it still reads.
pub(super) fn copy_member(
    r: &mut dyn Read,
    head: &[u8],
    w: &mut wharf_store::BlobWriter,
    tx: Option<&mpsc::SyncSender<Vec<u8>>>,
) -> Result<()> {
    let write_err = |e| ImageError::io("storing an archive member", e);
    let mut tx = tx;
    let mut send = |chunk: &[u8]| {
        if let Some(t) = tx {
            if t.send(chunk.to_vec()).is_err() {
                tx = None; // the unpack stopped (a bad tar): the blob is stored all the same
            }
        }
    };
    io::Write::write_all(w, head).map_err(write_err)?;
    send(head);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(write_err(e)),
        };
        io::Write::write_all(w, &buf[..n]).map_err(write_err)?;
        send(&buf[..n]);
    }
}

/// Whether a member's first bytes look like a layer: a tar header (`ustar` magic at 257) or a
/// gzip / zstd stream.
pub(super) fn looks_like_layer(head: &[u8]) -> bool {
    match Compression::sniff(head) {
        Compression::Gzip | Compression::Zstd => true,
        Compression::None => head.len() >= 262 && &head[257..262] == b"ustar",
    }
}

/// Reads the chunks a channel delivers; the end of the channel is the end of the stream.
struct ChanReader {
    rx: mpsc::Receiver<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

impl Read for ChanReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(v) => {
                    self.cur = v;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Counts bytes read and reports progress every [`PROGRESS_STEP`].
struct Counting<'p, R> {
    inner: R,
    done: u64,
    reported: u64,
    total: u64,
    id: String,
    progress: &'p mut dyn FnMut(Progress),
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if self.done - self.reported >= PROGRESS_STEP || (n == 0 && self.done != self.reported) {
            self.reported = self.done;
            (self.progress)(Progress::Status {
                id: self.id.clone(),
                status: "Loading layer".into(),
                current: Some(self.done),
                total: Some(self.total),
            });
        }
        Ok(n)
    }
}

pub(super) fn wd(d: &Digest) -> Result<wharf_types::Digest> {
    d.as_ref().parse().map_err(ImageError::storage)
}

impl ImageStore {
    pub(super) fn new_lease(&self, what: &str) -> Result<(Leases, String)> {
        let leases = Leases::new(&self.db);
        let id = format!("{what}-{}-{}", std::process::id(), now_nanos());
        leases.create_lease(&id, Some(now_nanos() + LEASE_TTL_NANOS)).map_err(ImageError::storage)?;
        Ok((leases, id))
    }

    /// `docker load`: reads an archive (docker-archive or OCI layout, plain or compressed),
    /// unpacks and registers its images, and returns the lines `docker load` prints
    /// (`Loaded image: busybox:latest`, or `Loaded image ID: sha256:…` for an untagged one).
    /// A name already on another image moves to the loaded one (the old one is left untagged),
    /// as dockerd.
    pub fn load(
        &self,
        archive: impl Read,
        platform: Option<&str>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Vec<String>> {
        let platform = match platform {
            Some(p) if !p.is_empty() => Platform::parse_normalized(p)?,
            _ => self.platform.clone(),
        };
        let (leases, lease) = self.new_lease("load")?;
        let mut sink = LeasedSink { store: self, lease: &lease, staged: HashMap::new(), seq: 0 };
        let result = (|| {
            let started = std::time::Instant::now();
            let images = read_archive(archive, &mut sink, &platform)?;
            tracing::debug!(elapsed = ?started.elapsed(), images = images.len(), staged = sink.staged.len(), "archive stored");
            if images.is_empty() {
                return Err(ImageError::archive("no image found in the archive"));
            }
            let mut lines = Vec::new();
            for img in &images {
                lines.extend(self.register_loaded(img, &mut sink.staged, progress)?);
            }
            Ok(lines)
        })();
        sink.discard_staged();
        // Registered images no longer need the lease; a failed load leaves its blobs to GC.
        if let Err(e) = leases.delete_lease(&lease) {
            tracing::warn!(lease, "dropping lease: {e}");
        }
        if result.is_err() {
            let _ = self.gc();
        }
        result
    }

    fn register_loaded(
        &self,
        img: &LoadedImage,
        staged: &mut HashMap<String, Staged>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Vec<String>> {
        let id = img.config_digest.to_string();
        let config_size = self.blobs.info(&wd(&img.config_digest)?).map_err(ImageError::storage)?.map_or(0, |i| i.size);
        let layers: Vec<LayerIn> = img
            .layers
            .iter()
            .map(|l| {
                Ok(LayerIn {
                    blob: wd(&l.digest)?,
                    blob_size: l.size,
                    media_type: l.media_type.clone(),
                    diff_id: l.diff_id.to_string(),
                })
            })
            .collect::<Result<_>>()?;
        let names: Vec<ImageRef> = img.repo_tags.iter().map(|r| r.clone().with_default_tag()).collect();
        let reg = Registration {
            id: &id,
            config_size,
            manifest_digest: img.manifest_digest.as_ref().map(|d| d.to_string()),
            parent: None,
            layers: &layers,
            names: &names,
            tag_time: false,
        };
        let moved = self.register(&reg, staged, progress)?;
        let mut lines = Vec::new();
        for (name, old) in moved {
            lines.push(format!("The image {name} already exists, renaming the old one with ID {old} to empty string"));
        }
        if names.is_empty() {
            self.publish("load", &id, None);
            lines.push(format!("Loaded image ID: {id}"));
        }
        for n in &names {
            self.publish("load", &id, Some(&n.familiar()));
            lines.push(format!("Loaded image: {}", n.familiar()));
        }
        Ok(lines)
    }

    /// Unpacks the image's layers and, in one transaction, records the image, its layers and
    /// names. Returns the names that moved from another image: `(familiar name, old image ID)`.
    /// A parent that no longer exists is `NoSuchImage`, checked under the layer lock (which
    /// removals take) before anything is unpacked, and again in the transaction.
    pub(super) fn register(
        &self,
        reg: &Registration<'_>,
        staged: &mut HashMap<String, Staged>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Vec<(String, String)>> {
        let _g = self.lock_layers();
        let parent_exists = |tx: &Tx<'_>, p: &str| -> Result<()> {
            match ImageStore::image_row(tx, p)? {
                Some(_) => Ok(()),
                None => Err(ImageError::NoSuchImage(p.to_string())),
            }
        };
        if let Some(p) = reg.parent {
            self.db.read(|tx| parent_exists(tx, p))?;
        }
        let unpacked = self.unpack(reg.layers, staged, progress)?;
        let now = now_nanos();
        let id = reg.id;
        let names = reg.names;
        self.db.tx(|tx| {
            if let Some(p) = reg.parent {
                parent_exists(tx, p)?;
            }
            tx.execute(
                "INSERT INTO images (id, config_size, manifest_digest, parent, added_at, last_tag_time)
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL)
                 ON CONFLICT(id) DO UPDATE SET manifest_digest = COALESCE(images.manifest_digest, excluded.manifest_digest)",
                params![id, reg.config_size as i64, reg.manifest_digest, reg.parent.unwrap_or_default(), now],
            )
            .map_err(db_err)?;
            if reg.tag_time && !names.is_empty() {
                tx.execute("UPDATE images SET last_tag_time = ?2 WHERE id = ?1", params![id, now]).map_err(db_err)?;
            }
            for (i, l) in unpacked.iter().enumerate() {
                insert_layer(tx, l)?;
                tx.execute(
                    "INSERT OR REPLACE INTO image_layers (image_id, idx, chain_id) VALUES (?1, ?2, ?3)",
                    params![id, i as i64, l.chain_id],
                )
                .map_err(db_err)?;
            }
            let mut moved = Vec::new();
            for n in names {
                let full = n.full();
                let old: Option<String> = tx
                    .query_row("SELECT image_id FROM image_names WHERE name = ?1", [&full], |r| r.get(0))
                    .ok();
                if let Some(old) = old.filter(|o| o != id) {
                    moved.push((n.familiar(), old));
                }
                let kind = if n.digest().is_some() { "digest" } else { "tag" };
                tx.execute(
                    "INSERT INTO image_names (name, image_id, kind, created_at) VALUES (?1, ?2, ?4, ?3)
                     ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id, created_at = excluded.created_at, kind = excluded.kind",
                    params![full, id, now, kind],
                )
                .map_err(db_err)?;
            }
            Ok::<_, ImageError>(moved)
        })
    }

    /// Unpacks each layer not unpacked yet into a snapshot named by its chain ID, checking its
    /// diff ID. Holds the layer lock (taken by the caller).
    fn unpack(
        &self,
        layers: &[LayerIn],
        staged: &mut HashMap<String, Staged>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Vec<Unpacked>> {
        let diff_ids: Vec<Digest> = layers.iter().map(|l| crate::parse_digest(&l.diff_id)).collect::<Result<_>>()?;
        let chains = chain_ids(&diff_ids);
        let mut out = Vec::new();
        let mut parent: Option<String> = None;
        for (l, chain) in layers.iter().zip(&chains) {
            let chain = chain.to_string();
            let known = self.db.read(|tx| {
                tx.query_row(
                    "SELECT chain_id, diff_id, size, tar_size, blob_digest, blob_size, media_type FROM layers WHERE chain_id = ?1",
                    [&chain],
                    super::layer_row,
                )
                .ok()
                .map(Ok::<_, ImageError>)
                .transpose()
            })?;
            let short = short12(&l.diff_id);
            if let Some(k) = known.filter(|_| self.snapshots.stat(&chain).is_ok()) {
                progress(Progress::status(short, "Already exists"));
                out.push(Unpacked {
                    chain_id: k.chain_id,
                    diff_id: k.diff_id,
                    parent: parent.clone(),
                    size: k.size,
                    tar_size: k.tar_size,
                    blob_digest: k.blob_digest,
                    blob_size: k.blob_size,
                    media_type: k.media_type,
                });
            } else {
                if self.snapshots.stat(&chain).is_ok() {
                    // A snapshot no row describes (a crash between unpack and register, in
                    // this process): its size is unknown, so it is unpacked again.
                    self.snapshots.remove(&chain).map_err(ImageError::storage)?;
                }
                let (size, tar_size) = match staged.remove(&l.blob.to_string()) {
                    Some(st) if st.diff_id == l.diff_id => {
                        let placed = self
                            .snapshots
                            .rebase(&st.key, parent.as_deref())
                            .and_then(|()| self.snapshots.commit(&chain, &st.key, Labels::new()));
                        if let Err(e) = placed {
                            let _ = self.snapshots.remove(&st.key);
                            return Err(ImageError::storage(e));
                        }
                        progress(Progress::Status {
                            id: short.clone(),
                            status: "Loading layer".into(),
                            current: Some(l.blob_size),
                            total: Some(l.blob_size),
                        });
                        (st.size, st.tar_size)
                    }
                    other => {
                        if let Some(st) = other {
                            let _ = self.snapshots.remove(&st.key);
                        }
                        self.unpack_one(l, &chain, parent.as_deref(), &short, progress)?
                    }
                };
                out.push(Unpacked {
                    chain_id: chain.clone(),
                    diff_id: l.diff_id.clone(),
                    parent: parent.clone(),
                    size,
                    tar_size,
                    blob_digest: l.blob.to_string(),
                    blob_size: l.blob_size,
                    media_type: l.media_type.clone(),
                });
            }
            parent = Some(chain);
        }
        Ok(out)
    }

    fn unpack_one(
        &self,
        l: &LayerIn,
        chain: &str,
        parent: Option<&str>,
        short: &str,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<(u64, u64)> {
        let key = format!("{EXTRACT_PREFIX}{}-{}", now_nanos(), short12(chain));
        self.snapshots.prepare(&key, parent, Labels::new()).map_err(ImageError::storage)?;
        let result = (|| {
            let dir = self.snapshots.apply_dir(&key).map_err(ImageError::storage)?;
            let root = Root::new(&dir).map_err(ImageError::storage)?;
            let opts = ApplyOptions {
                whiteout_mode: match self.snapshots.whiteouts() {
                    Whiteouts::Overlay => WhiteoutMode::Overlay,
                    Whiteouts::Delete => WhiteoutMode::Remove,
                },
                ..ApplyOptions::default()
            };
            let file = self.blobs.open_blob(&l.blob).map_err(ImageError::storage)?;
            let reader = Counting {
                inner: io::BufReader::with_capacity(256 * 1024, file),
                done: 0,
                reported: 0,
                total: l.blob_size,
                id: short.to_string(),
                progress: &mut *progress,
            };
            let started = std::time::Instant::now();
            let stats = wharf_fs::apply_layer(&root, reader, &opts).map_err(ImageError::storage)?;
            tracing::debug!(elapsed = ?started.elapsed(), bytes = stats.bytes, entries = stats.entries, "layer unpacked");
            if stats.diff_id != l.diff_id {
                return Err(ImageError::DigestMismatch {
                    what: format!("layer {}", l.blob),
                    expected: crate::parse_digest(&l.diff_id)?,
                    actual: crate::parse_digest(&stats.diff_id)?,
                });
            }
            self.snapshots.commit(chain, &key, Labels::new()).map_err(ImageError::storage)?;
            Ok((stats.content_bytes, stats.bytes))
        })();
        if result.is_err() {
            let _ = self.snapshots.remove(&key);
        }
        result
    }

    /// Stores a layer stream (plain or compressed; `head` holds its first bytes, already read
    /// from `rest`) as a blob under `lease`, and measures its diff ID.
    fn store_layer(&self, head: &[u8], rest: &mut dyn Read, lease: &str, what: &'static str) -> Result<LayerIn> {
        let write_err = |e| ImageError::io(what, e);
        let mut w = self.blobs.writer(None).map_err(ImageError::storage)?.with_lease(lease);
        let compression = Compression::sniff(head);
        io::Write::write_all(&mut w, head).map_err(write_err)?;
        let blob_size = io::copy(rest, &mut w).map_err(write_err)? + head.len() as u64;
        let blob = w.commit().map_err(ImageError::storage)?;
        let diff_id = match compression {
            // The digest of a plain tar is its diff ID.
            Compression::None if blob.as_str().starts_with("sha256:") => blob.to_string(),
            _ => {
                let mut f = self.blobs.open_blob(&blob).map_err(ImageError::storage)?;
                crate::model::compute_diff_id(&mut f)?.to_string()
            }
        };
        let media_type = match compression {
            Compression::None => crate::model::media_types::DOCKER_LAYER,
            Compression::Gzip => crate::model::media_types::DOCKER_LAYER_GZIP,
            Compression::Zstd => crate::model::media_types::DOCKER_LAYER_ZSTD,
        };
        Ok(LayerIn { blob, blob_size, media_type: media_type.to_string(), diff_id })
    }

    /// Stores an image config under `lease`: `(image ID, size)`.
    fn store_config(&self, config: &serde_json::Value, lease: &str) -> Result<(String, u64)> {
        let bytes = serde_json::to_vec(config).map_err(|e| ImageError::manifest(e.to_string()))?;
        let mut cw = self.blobs.writer(None).map_err(ImageError::storage)?.with_lease(lease);
        io::Write::write_all(&mut cw, &bytes).map_err(|e| ImageError::io("storing the config", e))?;
        Ok((cw.commit().map_err(ImageError::storage)?.to_string(), bytes.len() as u64))
    }

    /// Runs `make` under a fresh lease, drops the lease, and collects garbage on failure.
    fn leased<T>(&self, what: &str, make: impl FnOnce(&str) -> Result<T>) -> Result<T> {
        let (leases, lease) = self.new_lease(what)?;
        let result = make(&lease);
        if let Err(e) = leases.delete_lease(&lease) {
            tracing::debug!(lease, "dropping lease: {e}");
        }
        if result.is_err() {
            let _ = self.gc();
        }
        result
    }

    /// `docker import`: makes a one-layer image of a root filesystem tar (plain or compressed),
    /// with a config built from `opts` (`--change`, `--message`, `--platform`). Returns the
    /// image ID.
    pub fn import(&self, tar: impl Read, opts: &ImportOptions, progress: &mut dyn FnMut(Progress)) -> Result<String> {
        let platform =
            if opts.platform.is_empty() { self.platform.clone() } else { Platform::parse_normalized(&opts.platform)? };
        let config_changes = super::changes::apply_changes(&opts.changes)?;
        let name = import_name(&opts.repo, &opts.tag)?;
        let id = self.leased("import", |lease| {
            // The tar as given becomes the layer blob; unpacking it checks its diff ID.
            let mut input = io::BufReader::with_capacity(256 * 1024, tar);
            let mut head = [0u8; 4];
            let n = read_head(&mut input, &mut head)?;
            let layer = self.store_layer(&head[..n], &mut input, lease, "storing the import")?;
            let now = wharf_types::format_rfc3339_nanos(now_nanos());
            let comment = if opts.message.is_empty() { "Imported from -".to_string() } else { opts.message.clone() };
            let mut config = serde_json::json!({
                "architecture": platform.architecture,
                "comment": comment,
                "config": config_changes,
                "created": now,
                "history": [{"created": now, "comment": comment}],
                "os": platform.os,
                "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
            });
            if let Some(v) = platform.variant.as_deref().filter(|v| !v.is_empty()) {
                config["variant"] = serde_json::Value::String(v.to_string());
            }
            let (id, config_size) = self.store_config(&config, lease)?;
            let names: Vec<ImageRef> = name.into_iter().collect();
            let reg = Registration {
                id: &id,
                config_size,
                manifest_digest: None,
                parent: None,
                layers: std::slice::from_ref(&layer),
                names: &names,
                tag_time: false,
            };
            self.register(&reg, &mut HashMap::new(), progress)?;
            Ok(id)
        })?;
        self.publish("import", &id, None);
        Ok(id)
    }

    /// `docker commit`: a new image from `layer` (the container's changes as an uncompressed
    /// layer tar, as [`wharf_fs::diff_layer`] writes it) on top of `opts.parent`, with the
    /// config, history entry and name `opts` gives (see [`CommitOptions`]). Returns the image
    /// ID.
    ///
    /// As dockerd (both its image stores): the new config copies the parent's platform,
    /// `rootfs` and `history`, then appends the layer's diff ID and one history entry; a layer
    /// tar with no member (nothing changed) adds no layer, and its history entry is marked
    /// `empty_layer`. The layer goes the way of `load` and `import`: blob stored under a lease,
    /// unpacked once into the snapshot named by its chain ID (on the parent's), image visible in
    /// one transaction. A parent removed meanwhile is `NoSuchImage`, leaving nothing behind.
    /// A name publishes the image `tag` event, as dockerd's commit does (the container's
    /// `commit` event is the caller's).
    pub fn commit(&self, layer: impl Read, opts: &CommitOptions) -> Result<String> {
        let name = import_name(&opts.repo, &opts.tag)?;
        let image_config = super::changes::apply_config_changes(&opts.config, &opts.changes)?;
        let parent = match opts.parent.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => Some(self.parent_image(p)?),
            None => None,
        };
        let names: Vec<ImageRef> = name.into_iter().collect();
        let id = self.leased("commit", |lease| {
            let mut input = io::BufReader::with_capacity(256 * 1024, layer);
            let mut head = vec![0u8; 512];
            let n = read_head(&mut input, &mut head)?;
            head.truncate(n);
            // dockerd's `archive.IsEmpty`: a tar whose first header block is the end marker.
            let new_layer = if head.iter().all(|b| *b == 0) {
                io::copy(&mut input, &mut io::sink()).map_err(|e| ImageError::io("reading the layer", e))?;
                None
            } else {
                Some(self.store_layer(&head, &mut input, lease, "storing the layer")?)
            };
            let config = self.commit_config(parent.as_ref(), image_config, new_layer.as_ref(), opts);
            let (id, config_size) = self.store_config(&config, lease)?;
            let mut layers: Vec<LayerIn> = parent.as_ref().map(|p| p.layers.clone()).unwrap_or_default();
            layers.extend(new_layer);
            let reg = Registration {
                id: &id,
                config_size,
                manifest_digest: None,
                parent: parent.as_ref().map(|p| p.id.as_str()),
                layers: &layers,
                names: &names,
                tag_time: true,
            };
            self.register(&reg, &mut HashMap::new(), &mut |_| {})?;
            Ok(id)
        })?;
        for n in &names {
            self.publish("tag", &id, Some(&n.familiar()));
        }
        Ok(id)
    }

    /// The image `name` as a commit's parent: its ID, config and layers as they are now.
    fn parent_image(&self, name: &str) -> Result<ParentImage> {
        let (id, rows) = self.db.read(|tx| {
            let id = super::resolve_in(tx, name)?;
            let rows = Self::layers_of(tx, &id)?;
            Ok::<_, ImageError>((id, rows))
        })?;
        let config = self.config_json(&id)?;
        let layers = rows
            .into_iter()
            .map(|r| {
                Ok(LayerIn {
                    blob: r.blob_digest.parse().map_err(ImageError::storage)?,
                    blob_size: r.blob_size,
                    media_type: r.media_type,
                    diff_id: r.diff_id,
                })
            })
            .collect::<Result<_>>()?;
        Ok(ParentImage { id, config, layers })
    }

    /// The config of a committed image (dockerd's `NewChildImage` / `generateCommitImageConfig`).
    fn commit_config(
        &self,
        parent: Option<&ParentImage>,
        image_config: serde_json::Value,
        layer: Option<&LayerIn>,
        opts: &CommitOptions,
    ) -> serde_json::Value {
        use serde_json::{json, Value};
        let empty = json!({});
        let p = parent.map_or(&empty, |p| &p.config);
        let text = |k: &str| p.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        let author = if opts.author.is_empty() { text("author").unwrap_or_default() } else { opts.author.clone() };
        let created = wharf_types::format_rfc3339_nanos(opts.created.unwrap_or_else(now_nanos));
        let mut diff_ids: Vec<Value> =
            p.pointer("/rootfs/diff_ids").and_then(Value::as_array).cloned().unwrap_or_default();
        let mut history: Vec<Value> = p.get("history").and_then(Value::as_array).cloned().unwrap_or_default();
        let mut entry = json!({"created": created, "created_by": opts.created_by});
        if !author.is_empty() {
            entry["author"] = json!(author);
        }
        if !opts.comment.is_empty() {
            entry["comment"] = json!(opts.comment);
        }
        match layer {
            Some(l) => diff_ids.push(json!(l.diff_id)),
            None => entry["empty_layer"] = json!(true),
        }
        history.push(entry);
        let mut config = json!({
            "architecture": text("architecture").unwrap_or_else(|| self.platform.architecture.clone()),
            "os": text("os").unwrap_or_else(|| self.platform.os.clone()),
            "config": image_config,
            "created": created,
            "history": history,
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        });
        if !author.is_empty() {
            config["author"] = json!(author);
        }
        for k in ["variant", "os.version", "os.features"] {
            if let Some(v) = p.get(k).filter(|v| !v.is_null()) {
                config[k] = v.clone();
            }
        }
        if parent.is_none() {
            if let Some(v) = self.platform.variant.as_deref().filter(|v| !v.is_empty()) {
                config["variant"] = json!(v);
            }
        }
        config
    }
}

pub(super) fn read_head(r: &mut (impl Read + ?Sized), buf: &mut [u8]) -> Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ImageError::io("reading the import", e)),
        }
    }
    Ok(got)
}

/// The name `docker import … repo[:tag]` gives, as dockerd's import route parses it.
fn import_name(repo: &str, tag: &str) -> Result<Option<ImageRef>> {
    if repo.is_empty() {
        return Ok(None);
    }
    let r = ImageRef::parse_normalized(repo)?;
    if r.digest().is_some() {
        return Err(ImageError::InvalidReference("cannot import digest reference".into()));
    }
    Ok(Some(if tag.is_empty() { r.with_default_tag() } else { r.with_tag(tag)? }))
}

fn insert_layer(tx: &Tx<'_>, l: &Unpacked) -> Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO layers (chain_id, diff_id, parent, size, tar_size, blob_digest, blob_size, media_type)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            l.chain_id,
            l.diff_id,
            l.parent,
            l.size as i64,
            l.tar_size as i64,
            l.blob_digest,
            l.blob_size as i64,
            l.media_type
        ],
    )
    .map_err(db_err)?;
    Ok(())
}
