//! The image store: images, their names and layers in the metadata database, their blobs in the
//! content store, their layers unpacked into snapshots; and the operations `docker images`,
//! `inspect`, `tag`, `rmi`, `history`, `prune`, `load`, `save`, `import` and `commit` need.
//!
//! Every method blocks (SQLite, file system): async callers use `spawn_blocking`.
//!
//! # Crash safety
//! An image becomes visible in one transaction that inserts its row, its layer rows, its names
//! and drops the lease that protected its blobs while they were written. Everything before
//! that transaction (blobs, unpacked snapshots) is invisible and reclaimed by [`ImageStore::open`]:
//! leases of the dead process are dropped, `extract-…` snapshots and committed snapshots no
//! layer row names are removed, and unreferenced blobs are collected. Removal runs the other
//! way: rows go in one transaction, then snapshots, then blobs — a crash in between leaves only
//! garbage that the next start collects.

mod changes;
mod filter;
mod ingest;
mod pull;
mod save;
mod schema;
mod types;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use wharf_events::EventBus;
use wharf_snapshot::{Kind, Snapshotter};
use wharf_store::rusqlite::{params, OptionalExtension};
use wharf_store::{BlobStore, Db, GcRoots, Leases, Tx};
use wharf_types::{Event, EventType, Filters};

use crate::error::{ImageError, Result};
use crate::model::{image_history, parse_config, HistoryEntry, Platform};
use crate::reference::{short_id_hex, ImageRef};

pub use changes::apply_config_changes;
pub use pull::{PullLease, PulledImage, PulledLayer, PushPlan};
pub use schema::{COMPONENT, MIGRATIONS};
pub use types::{CommitOptions, DeleteItem, GraphDriver, ImageInfo, ImportOptions, ListOptions, PruneReport};

/// Prefix of the keys of snapshots being unpacked; any left at start are a crash's leftovers.
const EXTRACT_PREFIX: &str = "extract-";

/// Who uses images besides other images: the containers. Wired by the daemon; until containers
/// exist, nobody.
pub trait ImageUsers: Send + Sync {
    /// Containers using image `id` (`sha256:…`): `(container id, running)`.
    fn users_of(&self, id: &str) -> Vec<(String, bool)>;
}

struct NoUsers;

impl ImageUsers for NoUsers {
    fn users_of(&self, _: &str) -> Vec<(String, bool)> {
        Vec::new()
    }
}

/// The image store. Cheap to share behind an `Arc`; every method blocks.
pub struct ImageStore {
    db: Db,
    blobs: BlobStore,
    snapshots: Arc<dyn Snapshotter>,
    events: Arc<EventBus>,
    platform: Platform,
    users: Arc<dyn ImageUsers>,
    /// Held while layers are unpacked and registered, and while layers are removed, so a
    /// removal never deletes a snapshot a load is about to register.
    layer_lock: Mutex<()>,
}

impl std::fmt::Debug for ImageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageStore").field("driver", &self.snapshots.driver()).finish_non_exhaustive()
    }
}

/// One image row with what the queries need.
#[derive(Debug, Clone)]
pub(crate) struct ImageRow {
    pub id: String,
    pub parent: String,
    pub added_at: i64,
    pub last_tag_time: Option<i64>,
}

/// One layer row.
#[derive(Debug, Clone)]
pub(crate) struct LayerRow {
    pub chain_id: String,
    pub diff_id: String,
    pub size: u64,
    pub tar_size: u64,
    pub blob_digest: String,
    pub blob_size: u64,
    pub media_type: String,
}

pub(crate) fn now_nanos() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

fn db_err(e: wharf_store::rusqlite::Error) -> ImageError {
    ImageError::storage(wharf_store::StoreError::sqlite("image tables")(e))
}

impl ImageStore {
    /// Opens the store over the daemon's database (migrated with [`MIGRATIONS`]), content store
    /// and snapshotter, and recovers from a crash of the previous daemon (see the module docs).
    pub fn open(db: Db, blobs: BlobStore, snapshots: Arc<dyn Snapshotter>, events: Arc<EventBus>) -> Result<Self> {
        let store = ImageStore {
            db,
            blobs,
            snapshots,
            events,
            platform: Platform::host(),
            users: Arc::new(NoUsers),
            layer_lock: Mutex::new(()),
        };
        store.recover()?;
        Ok(store)
    }

    /// Sets who uses images (the containers), for `rmi`'s and `prune`'s conflicts.
    pub fn set_users(&mut self, users: Arc<dyn ImageUsers>) {
        self.users = users;
    }

    /// The storage driver's name.
    pub fn driver(&self) -> &'static str {
        self.snapshots.driver()
    }

    /// The snapshotter (containers prepare their writable layer on an image's top chain ID).
    pub fn snapshotter(&self) -> &Arc<dyn Snapshotter> {
        &self.snapshots
    }

    fn lock_layers(&self) -> std::sync::MutexGuard<'_, ()> {
        self.layer_lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn publish(&self, action: &str, id: &str, name: Option<&str>) {
        let mut ev = Event::new(EventType::Image, action, id, now_nanos());
        if let Some(n) = name {
            ev.attributes.insert("name".into(), n.to_string());
        }
        self.events.publish(ev);
    }

    /// Start-up recovery: drop the leases of the dead process, remove unpack leftovers and
    /// snapshots no layer names, collect unreferenced blobs.
    fn recover(&self) -> Result<()> {
        let leases = Leases::new(&self.db);
        for l in leases.list_leases().map_err(ImageError::storage)? {
            leases.delete_lease(&l.id).map_err(ImageError::storage)?;
        }
        let known: HashSet<String> = self.db.read(|tx| {
            let mut st = tx.prepare("SELECT chain_id FROM layers").map_err(db_err)?;
            let rows = st.query_map([], |r| r.get::<_, String>(0)).map_err(db_err)?;
            rows.collect::<std::result::Result<HashSet<_>, _>>().map_err(db_err)
        })?;
        self.remove_orphan_snapshots(&known)?;
        self.gc()?;
        Ok(())
    }

    /// Removes `extract-` snapshots and committed snapshots that are not in `known` and that
    /// no remaining snapshot builds on, children first.
    fn remove_orphan_snapshots(&self, known: &HashSet<String>) -> Result<()> {
        let infos = self.snapshots.list().map_err(ImageError::storage)?;
        for i in &infos {
            if i.kind != Kind::Committed && i.name.starts_with(EXTRACT_PREFIX) {
                tracing::info!(key = %i.name, "removing an unfinished layer unpack");
                self.snapshots.remove(&i.name).map_err(ImageError::storage)?;
            }
        }
        loop {
            let infos = self.snapshots.list().map_err(ImageError::storage)?;
            let parents: HashSet<&str> = infos.iter().filter_map(|i| i.parent.as_deref()).collect();
            let doomed: Vec<&str> = infos
                .iter()
                .filter(|i| i.kind == Kind::Committed && !known.contains(&i.name) && !parents.contains(i.name.as_str()))
                .map(|i| i.name.as_str())
                .collect();
            if doomed.is_empty() {
                return Ok(());
            }
            for name in doomed {
                tracing::info!(name, "removing a layer snapshot no image uses");
                self.snapshots.remove(name).map_err(ImageError::storage)?;
            }
        }
    }

    /// Collects blobs no image, layer or lease holds.
    pub fn gc(&self) -> Result<wharf_store::GcReport> {
        self.blobs.gc(&Roots).map_err(ImageError::storage)
    }

    // ----- lookups -------------------------------------------------------------------------

    /// Resolves what a client names an image by — a reference (`busybox`, `busybox:1`,
    /// `name@sha256:…`), a full ID or a unique ID prefix — as dockerd does: a full ID first,
    /// then the reference, then an ID prefix.
    pub fn resolve(&self, name: &str) -> Result<String> {
        self.db.read(|tx| resolve_in(tx, name))
    }

    fn image_row(tx: &Tx<'_>, id: &str) -> Result<Option<ImageRow>> {
        tx.query_row("SELECT id, parent, added_at, last_tag_time FROM images WHERE id = ?1", [id], |r| {
            Ok(ImageRow { id: r.get(0)?, parent: r.get(1)?, added_at: r.get(2)?, last_tag_time: r.get(3)? })
        })
        .optional()
        .map_err(db_err)
    }

    fn all_rows(tx: &Tx<'_>) -> Result<Vec<ImageRow>> {
        let mut st = tx.prepare("SELECT id, parent, added_at, last_tag_time FROM images").map_err(db_err)?;
        let rows = st
            .query_map([], |r| {
                Ok(ImageRow { id: r.get(0)?, parent: r.get(1)?, added_at: r.get(2)?, last_tag_time: r.get(3)? })
            })
            .map_err(db_err)?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(db_err)
    }

    pub(crate) fn layers_of(tx: &Tx<'_>, id: &str) -> Result<Vec<LayerRow>> {
        let mut st = tx
            .prepare(
                "SELECT l.chain_id, l.diff_id, l.size, l.tar_size, l.blob_digest, l.blob_size, l.media_type
                 FROM image_layers il JOIN layers l ON l.chain_id = il.chain_id
                 WHERE il.image_id = ?1 ORDER BY il.idx",
            )
            .map_err(db_err)?;
        let rows = st.query_map([id], layer_row).map_err(db_err)?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(db_err)
    }

    /// `(name, kind)` of an image, full form.
    fn names_of(tx: &Tx<'_>, id: &str) -> Result<Vec<(String, String)>> {
        let mut st =
            tx.prepare("SELECT name, kind FROM image_names WHERE image_id = ?1 ORDER BY name").map_err(db_err)?;
        let rows = st.query_map([id], |r| Ok((r.get(0)?, r.get(1)?))).map_err(db_err)?;
        rows.collect::<std::result::Result<Vec<_>, _>>().map_err(db_err)
    }

    fn config_json(&self, id: &str) -> Result<serde_json::Value> {
        let d = crate::parse_digest(id)?;
        let wd: wharf_types::Digest = d.as_ref().parse().map_err(ImageError::storage)?;
        let bytes = self.blobs.read_all(&wd).map_err(ImageError::storage)?;
        serde_json::from_slice(&bytes).map_err(|e| ImageError::manifest(format!("image config {id}: {e}")))
    }

    /// Everything `inspect` and `images` show of image `id`.
    fn info_of(&self, tx: &Tx<'_>, row: &ImageRow) -> Result<ImageInfo> {
        let config = self.config_json(&row.id)?;
        let layers = Self::layers_of(tx, &row.id)?;
        let names = Self::names_of(tx, &row.id)?;
        let familiar = |n: &str| ImageRef::parse_normalized(n).map(|r| r.familiar()).unwrap_or_else(|_| n.to_string());
        let mut repo_tags: Vec<String> = names.iter().filter(|(_, k)| k == "tag").map(|(n, _)| familiar(n)).collect();
        let mut repo_digests: Vec<String> =
            names.iter().filter(|(_, k)| k == "digest").map(|(n, _)| familiar(n)).collect();
        repo_tags.sort();
        repo_digests.sort();
        let s = |k: &str| config.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
        let created = config.get("created").and_then(|v| v.as_str()).map(str::to_string);
        let created_unix = created
            .as_deref()
            .and_then(|c| wharf_types::parse_timestamp(c, 0).ok())
            .map(|ns| ns.div_euclid(1_000_000_000))
            .unwrap_or(0);
        let inner = config.get("config").cloned().unwrap_or(serde_json::Value::Null);
        let labels: BTreeMap<String, String> = inner
            .get("Labels")
            .and_then(|l| l.as_object())
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
            .unwrap_or_default();
        Ok(ImageInfo {
            id: row.id.clone(),
            repo_tags,
            repo_digests,
            parent: row.parent.clone(),
            // dockerd falls back to the newest history entry's comment.
            comment: match s("comment") {
                c if c.is_empty() => config
                    .get("history")
                    .and_then(|h| h.as_array())
                    .and_then(|h| h.last())
                    .and_then(|e| e.get("comment"))
                    .and_then(|c| c.as_str())
                    .unwrap_or_default()
                    .to_string(),
                c => c,
            },
            created,
            created_unix,
            docker_version: s("docker_version"),
            author: s("author"),
            architecture: s("architecture"),
            variant: s("variant"),
            os: s("os"),
            os_version: s("os.version"),
            config: inner,
            size: layers.iter().map(|l| l.size).sum(),
            shared_size: None,
            labels,
            layers: layers.iter().map(|l| l.diff_id.clone()).collect(),
            graph_driver: self.graph_driver(&layers),
            last_tag_time: row.last_tag_time.map(wharf_types::format_rfc3339_nanos),
            added_at: row.added_at,
            containers: None,
        })
    }

    fn graph_driver(&self, layers: &[LayerRow]) -> GraphDriver {
        let mut data = BTreeMap::new();
        if self.snapshots.driver() == "overlay2" {
            let dirs: Vec<String> = layers
                .iter()
                .rev()
                .filter_map(|l| self.snapshots.upper_dir(&l.chain_id).ok())
                .map(|p| p.display().to_string())
                .collect();
            if let Some((top, lower)) = dirs.split_first() {
                let base = std::path::Path::new(top).parent().map(|p| p.to_path_buf()).unwrap_or_default();
                data.insert("UpperDir".into(), top.clone());
                data.insert("MergedDir".into(), base.join("merged").display().to_string());
                data.insert("WorkDir".into(), base.join("work").display().to_string());
                if !lower.is_empty() {
                    data.insert("LowerDir".into(), lower.join(":"));
                }
            }
        }
        GraphDriver { name: self.snapshots.driver().to_string(), data }
    }

    // ----- queries ---------------------------------------------------------------------------

    /// `docker image inspect`.
    pub fn inspect(&self, name: &str) -> Result<ImageInfo> {
        self.db.read(|tx| {
            let id = resolve_in(tx, name)?;
            let row = Self::image_row(tx, &id)?.ok_or_else(|| ImageError::NoSuchImage(name.to_string()))?;
            self.info_of(tx, &row)
        })
    }

    /// `docker images`.
    pub fn list(&self, opts: &ListOptions) -> Result<Vec<ImageInfo>> {
        let filter = filter::ListFilter::new(&opts.filters, |n| self.inspect(n))?;
        let all = self.db.read(|tx| {
            let rows = Self::all_rows(tx)?;
            let parents: HashSet<String> = rows.iter().map(|r| r.parent.clone()).filter(|p| !p.is_empty()).collect();
            let mut out = Vec::new();
            for row in &rows {
                out.push((self.info_of(tx, row)?, parents.contains(&row.id)));
            }
            Ok::<_, ImageError>(out)
        })?;
        let shared = if opts.shared_size { Some(self.shared_sizes()?) } else { None };
        let mut out = Vec::new();
        for (mut info, has_children) in all {
            // Without `all`, intermediate images (untagged, with children) are hidden, as dockerd.
            if !opts.all && has_children && info.repo_tags.is_empty() {
                continue;
            }
            if !filter.keep(&mut info) {
                continue;
            }
            if let Some(shared) = &shared {
                info.shared_size = Some(shared.get(&info.id).copied().unwrap_or(0));
            }
            out.push(info);
        }
        out.sort_by(|a, b| b.created_unix.cmp(&a.created_unix).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Per image, the bytes of its layers that another image uses too.
    fn shared_sizes(&self) -> Result<HashMap<String, u64>> {
        self.db.read(|tx| {
            let mut st = tx
                .prepare(
                    "SELECT il.image_id, SUM(l.size) FROM image_layers il JOIN layers l ON l.chain_id = il.chain_id
                     WHERE (SELECT COUNT(DISTINCT image_id) FROM image_layers x WHERE x.chain_id = il.chain_id) > 1
                     GROUP BY il.image_id",
                )
                .map_err(db_err)?;
            let rows =
                st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))).map_err(db_err)?;
            rows.collect::<std::result::Result<HashMap<_, _>, _>>().map_err(db_err)
        })
    }

    /// The images part of `docker system df`: every image with its shared size and users.
    pub fn disk_usage(&self) -> Result<Vec<ImageInfo>> {
        let mut out = self.list(&ListOptions { all: true, shared_size: true, ..Default::default() })?;
        for i in &mut out {
            i.containers = Some(self.users.users_of(&i.id).len() as u64);
        }
        Ok(out)
    }

    /// `docker history`: entries newest first, each with its layer's size and the ID shown for
    /// it (the image's own ID on the newest entry, `<missing>` below, as dockerd without a
    /// local parent chain).
    pub fn history(&self, name: &str) -> Result<Vec<(HistoryEntry, u64, String)>> {
        let (id, layers) = self.db.read(|tx| {
            let id = resolve_in(tx, name)?;
            let layers = Self::layers_of(tx, &id)?;
            Ok::<_, ImageError>((id, layers))
        })?;
        let d = crate::parse_digest(&id)?;
        let wd: wharf_types::Digest = d.as_ref().parse().map_err(ImageError::storage)?;
        let config = parse_config(&self.blobs.read_all(&wd).map_err(ImageError::storage)?)?;
        let sizes: HashMap<&str, u64> = layers.iter().map(|l| (l.chain_id.as_str(), l.size)).collect();
        let entries = image_history(&config)?;
        Ok(entries
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                let size = e.chain_id.as_ref().and_then(|c| sizes.get(c.as_ref() as &str).copied()).unwrap_or(0);
                let shown = if i == 0 { id.clone() } else { "<missing>".to_string() };
                (e, size, shown)
            })
            .collect())
    }

    /// The layers of image `name`, bottom first: `(chain id, diff id)`. Containers use the top
    /// chain ID as their snapshot parent.
    pub fn layer_chain(&self, name: &str) -> Result<(String, Vec<(String, String)>)> {
        self.db.read(|tx| {
            let id = resolve_in(tx, name)?;
            let layers = Self::layers_of(tx, &id)?;
            Ok((id, layers.into_iter().map(|l| (l.chain_id, l.diff_id)).collect()))
        })
    }

    /// The directories holding the content of image `name`'s layers, topmost first: the
    /// snapshots' own directories (for overlay2, the `lowerdir`s of a container made from it,
    /// what `docker diff` compares a container's upper directory with; for vfs, the first one
    /// is the image's full tree).
    pub fn layer_dirs(&self, name: &str) -> Result<Vec<std::path::PathBuf>> {
        let (_, chain) = self.layer_chain(name)?;
        chain.iter().rev().map(|(c, _)| self.snapshots.upper_dir(c).map_err(ImageError::storage)).collect()
    }

    /// The config blob of image `name` (its ID is the digest of these bytes).
    pub fn config_bytes(&self, name: &str) -> Result<(String, Vec<u8>)> {
        let id = self.resolve(name)?;
        let d = crate::parse_digest(&id)?;
        let wd: wharf_types::Digest = d.as_ref().parse().map_err(ImageError::storage)?;
        Ok((id, self.blobs.read_all(&wd).map_err(ImageError::storage)?))
    }

    /// How many images there are (`docker info`).
    pub fn count(&self) -> Result<usize> {
        self.db
            .read(|tx| tx.query_row("SELECT COUNT(*) FROM images", [], |r| r.get::<_, i64>(0)).map_err(db_err))
            .map(|n| n as usize)
    }

    // ----- names -----------------------------------------------------------------------------

    /// `docker tag`: names image `source` `repo[:tag]` (tag `latest` when neither is given).
    pub fn tag(&self, source: &str, repo: &str, tag: &str) -> Result<()> {
        let target = tag_target(repo, tag)?;
        let full = target.full();
        let familiar = target.familiar();
        let id = self.db.tx(|tx| {
            let id = resolve_in(tx, source)?;
            let now = now_nanos();
            tx.execute(
                "INSERT INTO image_names (name, image_id, kind, created_at) VALUES (?1, ?2, 'tag', ?3)
                 ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id, created_at = excluded.created_at",
                params![full, id, now],
            )
            .map_err(db_err)?;
            tx.execute("UPDATE images SET last_tag_time = ?2 WHERE id = ?1", params![id, now]).map_err(db_err)?;
            Ok::<_, ImageError>(id)
        })?;
        self.publish("tag", &id, Some(&familiar));
        Ok(())
    }

    // ----- removal ---------------------------------------------------------------------------

    /// `docker rmi`: untags the reference `name`, or with an ID removes all the image's names;
    /// removes the image once no name is left (see dockerd's `ImageDelete` for the rules).
    pub fn remove(&self, name: &str, force: bool, _noprune: bool) -> Result<Vec<DeleteItem>> {
        let by_ref = self.db.read(|tx| reference_hit(tx, name))?;
        let id = match &by_ref {
            Some((_, id)) => id.clone(),
            None => self.resolve(name)?,
        };
        let short = short12(&id);
        let users = self.users.users_of(&id);
        let mut out = Vec::new();
        let mut untagged_events = Vec::new();
        let names = self.db.read(|tx| Self::names_of(tx, &id))?;
        match &by_ref {
            Some((full, _)) => {
                let remaining: Vec<&(String, String)> = names.iter().filter(|(n, _)| n != full).collect();
                // The last tag of a repository takes that repository's digest names with it
                // (dockerd: tags of other repositories do not count).
                let repo = ImageRef::parse_normalized(full).map(|r| r.name()).unwrap_or_default();
                let repo_of = |n: &str| ImageRef::parse_normalized(n).map(|r| r.name()).unwrap_or_default();
                let tags_left = remaining.iter().any(|(n, k)| k == "tag" && repo_of(n) == repo);
                let mut drop: Vec<String> = vec![full.clone()];
                if !tags_left {
                    drop.extend(
                        remaining
                            .iter()
                            .filter(|(n, k)| {
                                k == "digest"
                                    && ImageRef::parse_normalized(n).map(|r| r.name()).unwrap_or_default() == repo
                            })
                            .map(|(n, _)| n.clone()),
                    );
                }
                let left = names.len() - drop.len();
                if left == 0 && !force {
                    if let Some((cid, _)) = users.first() {
                        return Err(ImageError::Conflict(format!(
                            "conflict: unable to remove repository reference \"{name}\" (must force) - container {} is using its referenced image {short}",
                            short12(cid)
                        )));
                    }
                }
                self.db.tx(|tx| {
                    for n in &drop {
                        tx.execute("DELETE FROM image_names WHERE name = ?1", [n]).map_err(db_err)?;
                    }
                    Ok::<_, ImageError>(())
                })?;
                for n in &drop {
                    let f = familiar_of(n);
                    out.push(DeleteItem::Untagged(f.clone()));
                    untagged_events.push(f);
                }
                // An image that keeps a name, a container or a child image (`docker commit`)
                // stays: the untag finished the removal, as dockerd's (quiet) conflict check.
                if left > 0 || !users.is_empty() || self.child_count(&id)? > 0 {
                    for f in untagged_events {
                        self.publish("untag", &id, Some(&f));
                    }
                    return Ok(out);
                }
            }
            None => {
                if let Some((cid, running)) = users.first() {
                    if *running || !force {
                        let how = if *running { "cannot be forced" } else { "must be forced" };
                        let state = if *running { "running" } else { "stopped" };
                        return Err(ImageError::Conflict(format!(
                            "conflict: unable to delete {short} ({how}) - image is being used by {state} container {}",
                            short12(cid)
                        )));
                    }
                }
                let repos: BTreeSet<String> =
                    names.iter().filter_map(|(n, _)| ImageRef::parse_normalized(n).ok().map(|r| r.name())).collect();
                if repos.len() > 1 && !force {
                    return Err(ImageError::Conflict(format!(
                        "conflict: unable to delete {short} (must be forced) - image is referenced in multiple repositories"
                    )));
                }
                for (n, _) in &names {
                    let f = familiar_of(n);
                    out.push(DeleteItem::Untagged(f.clone()));
                    untagged_events.push(f);
                }
            }
        }
        if self.child_count(&id)? > 0 {
            return Err(ImageError::Conflict(format!(
                "conflict: unable to delete {short} (cannot be forced) - image has dependent child images"
            )));
        }
        out.extend(self.delete_image(&id)?);
        for f in untagged_events {
            self.publish("untag", &id, Some(&f));
        }
        self.publish("delete", &id, None);
        Ok(out)
    }

    /// How many images name `id` as their parent (images committed from its containers).
    fn child_count(&self, id: &str) -> Result<i64> {
        self.db.read(|tx| {
            tx.query_row("SELECT COUNT(*) FROM images WHERE parent = ?1", [id], |r| r.get::<_, i64>(0)).map_err(db_err)
        })
    }

    /// Deletes image `id` with its names; then its layers no other image uses (rows, snapshots,
    /// blobs). Returns the `Deleted` lines: the image ID, then each removed layer's chain ID.
    fn delete_image(&self, id: &str) -> Result<Vec<DeleteItem>> {
        let _g = self.lock_layers();
        let freed: Vec<String> = self.db.tx(|tx| {
            let layers = Self::layers_of(tx, id)?;
            tx.execute("DELETE FROM images WHERE id = ?1", [id]).map_err(db_err)?;
            let mut freed = Vec::new();
            for l in layers.iter().rev() {
                let used: i64 = tx
                    .query_row("SELECT COUNT(*) FROM image_layers WHERE chain_id = ?1", [&l.chain_id], |r| r.get(0))
                    .map_err(db_err)?;
                let has_child: i64 = tx
                    .query_row("SELECT COUNT(*) FROM layers WHERE parent = ?1", [&l.chain_id], |r| r.get(0))
                    .map_err(db_err)?;
                if used == 0 && has_child == 0 {
                    tx.execute("DELETE FROM layers WHERE chain_id = ?1", [&l.chain_id]).map_err(db_err)?;
                    freed.push(l.chain_id.clone());
                }
            }
            Ok::<_, ImageError>(freed)
        })?;
        let mut out = vec![DeleteItem::Deleted(id.to_string())];
        for chain in &freed {
            if let Err(e) = self.snapshots.remove(chain) {
                // Left for the next start's recovery; the image is gone either way.
                tracing::warn!(chain, "removing layer snapshot: {e}");
            }
            out.push(DeleteItem::Deleted(chain.clone()));
        }
        if let Err(e) = self.gc() {
            tracing::warn!("collecting blobs: {e}");
        }
        Ok(out)
    }

    /// `docker image prune`: dangling images (no tag), or with `dangling=false` every image no
    /// container uses; `until` and `label` filters as dockerd.
    pub fn prune(&self, filters: &Filters) -> Result<PruneReport> {
        filters.validate(&["dangling", "until", "label", "label!"]).map_err(|e| ImageError::Backend {
            kind: wharf_types::ErrorKind::InvalidArgument,
            message: e.to_string(),
            source: None,
        })?;
        let dangling_only = match filters.get("dangling").next() {
            None => true,
            Some(v) => parse_bool_filter("dangling", v)?,
        };
        let until = match filters.get("until").next() {
            None => None,
            Some(v) => Some(wharf_types::parse_timestamp(v, now_nanos()).map_err(|e| ImageError::Backend {
                kind: wharf_types::ErrorKind::InvalidArgument,
                message: e.to_string(),
                source: None,
            })?),
        };
        let all = self.list(&ListOptions { all: true, ..Default::default() })?;
        let mut report = PruneReport::default();
        for info in all {
            if dangling_only && !info.repo_tags.is_empty() {
                continue;
            }
            if !self.users.users_of(&info.id).is_empty() {
                continue;
            }
            if let Some(u) = until {
                if info.created_unix.saturating_mul(1_000_000_000) >= u {
                    continue;
                }
            }
            let labels = &info.labels;
            if !filters.match_labels("label", |k| labels.get(k).map(String::as_str)) {
                continue;
            }
            if filters.contains("label!") && filter::negated_labels_match(filters, labels) {
                continue;
            }
            let layer_sizes: HashMap<String, u64> = self.db.read(|tx| {
                Ok::<_, ImageError>(Self::layers_of(tx, &info.id)?.into_iter().map(|l| (l.chain_id, l.size)).collect())
            })?;
            match self.remove(&info.id, true, false) {
                Ok(items) => {
                    for it in &items {
                        if let DeleteItem::Deleted(d) = it {
                            report.space_reclaimed += layer_sizes.get(d).copied().unwrap_or(0);
                        }
                    }
                    report.deleted.extend(items);
                }
                Err(ImageError::Conflict(_)) | Err(ImageError::NoSuchImage(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let mut ev = Event::new(EventType::Image, "prune", "", now_nanos());
        ev.attributes.insert("reclaimed".into(), report.space_reclaimed.to_string());
        self.events.publish(ev);
        Ok(report)
    }
}

fn layer_row(r: &wharf_store::rusqlite::Row<'_>) -> wharf_store::rusqlite::Result<LayerRow> {
    Ok(LayerRow {
        chain_id: r.get(0)?,
        diff_id: r.get(1)?,
        size: r.get::<_, i64>(2)? as u64,
        tar_size: r.get::<_, i64>(3)? as u64,
        blob_digest: r.get(4)?,
        blob_size: r.get::<_, i64>(5)? as u64,
        media_type: r.get(6)?,
    })
}

fn parse_bool_filter(key: &str, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ImageError::Backend {
            kind: wharf_types::ErrorKind::InvalidArgument,
            message: format!("invalid filter '{key}={v}'"),
            source: None,
        }),
    }
}

/// `sha256:<12 hex>` → the 12 hex characters `docker` shows.
pub(crate) fn short12(id: &str) -> String {
    let hex = id.split_once(':').map_or(id, |(_, h)| h);
    hex.chars().take(12).collect()
}

fn familiar_of(full: &str) -> String {
    ImageRef::parse_normalized(full).map(|r| r.familiar()).unwrap_or_else(|_| full.to_string())
}

/// The reference `repo` + `tag` names, as dockerd's tag route builds it.
fn tag_target(repo: &str, tag: &str) -> Result<ImageRef> {
    if repo.is_empty() {
        return Err(ImageError::InvalidReference("repository name must have at least one component".into()));
    }
    let r = ImageRef::parse_normalized(repo)?;
    if r.digest().is_some() {
        return Err(ImageError::InvalidReference("refusing to create a tag with a digest reference".into()));
    }
    let r = if tag.is_empty() { r.with_default_tag() } else { r.with_tag(tag)? };
    Ok(r)
}

/// When `name` is a reference held by an image: its full form and the image.
fn reference_hit(tx: &Tx<'_>, name: &str) -> Result<Option<(String, String)>> {
    if short_id_hex(name).is_some_and(|h| h.len() == 64) {
        return Ok(None);
    }
    let Ok(r) = ImageRef::parse_normalized(name) else { return Ok(None) };
    let r =
        if r.digest().is_some() { r.with_digest(r.digest().cloned().expect("checked")) } else { r.with_default_tag() };
    let full = r.full();
    let id: Option<String> = tx
        .query_row("SELECT image_id FROM image_names WHERE name = ?1", [&full], |row| row.get(0))
        .optional()
        .map_err(db_err)?;
    Ok(id.map(|id| (full, id)))
}

/// dockerd's lookup order: full ID, reference, ID prefix.
fn resolve_in(tx: &Tx<'_>, name: &str) -> Result<String> {
    let exists = |id: &str| -> Result<bool> {
        tx.query_row("SELECT 1 FROM images WHERE id = ?1", [id], |_| Ok(()))
            .optional()
            .map(|o| o.is_some())
            .map_err(db_err)
    };
    if let Some(hex) = short_id_hex(name) {
        if hex.len() == 64 && exists(&format!("sha256:{hex}"))? {
            return Ok(format!("sha256:{hex}"));
        }
    }
    if let Some((_, id)) = reference_hit(tx, name)? {
        return Ok(id);
    }
    // `name@sha256:<config digest>`: the ID named through a repository (as dockerd accepts).
    if let Ok(r) = ImageRef::parse_normalized(name) {
        if let Some(d) = r.digest() {
            let id = d.to_string();
            if exists(&id)? {
                return Ok(id);
            }
        }
    }
    if let Some(hex) = short_id_hex(name) {
        let mut st = tx.prepare("SELECT id FROM images WHERE id LIKE ?1 LIMIT 2").map_err(db_err)?;
        let ids = st
            .query_map([format!("sha256:{hex}%")], |r| r.get::<_, String>(0))
            .map_err(db_err)?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(db_err)?;
        if ids.len() == 1 {
            return Ok(ids.into_iter().next().expect("one"));
        }
    }
    Err(ImageError::NoSuchImage(not_found_name(name)))
}

/// How dockerd names a missing image in its error: the reference with its default tag.
fn not_found_name(name: &str) -> String {
    if short_id_hex(name).is_some() {
        return name.to_string();
    }
    match ImageRef::parse_normalized(name) {
        Ok(r) => r.with_default_tag().familiar(),
        Err(_) => name.to_string(),
    }
}

/// The GC roots of the image tables: image configs, kept manifests and layer blobs.
struct Roots;

impl GcRoots for Roots {
    fn referenced_blobs(
        &self,
        tx: &Tx<'_>,
    ) -> std::result::Result<HashSet<wharf_types::Digest>, Box<dyn std::error::Error + Send + Sync>> {
        let mut out = HashSet::new();
        for sql in [
            "SELECT id FROM images",
            "SELECT manifest_digest FROM images WHERE manifest_digest IS NOT NULL",
            "SELECT blob_digest FROM layers",
        ] {
            let mut st = tx.prepare(sql)?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            for r in rows {
                out.insert(r?.parse()?);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
