//! The machinery both drivers share: the on-disk layout, the crash-safe metadata (one
//! `meta.json` per snapshot, written last) and the locked operations of [`Snapshotter`], with
//! a [`Backend`] supplying what differs (how a snapshot dir is filled and how it is mounted).
//!
//! # Layout
//!
//! ```text
//! <root>/snapshots/<id>/meta.json   the snapshot's record; the snapshot exists iff this exists
//! <root>/snapshots/<id>/fs          its content (overlay: the upper dir; vfs: the whole tree)
//! <root>/snapshots/<id>/work        overlay work dir (active snapshots)
//! <root>/l/<short>                  overlay only: symlink to ../snapshots/<id>/fs
//! ```
//!
//! # Crash-safety invariant
//!
//! **A snapshot exists if and only if `snapshots/<id>/meta.json` exists.** Creation makes the
//! directory and fills it first and writes `meta.json` last (temp file, fsync, rename, fsync of
//! the directory, fsync of `snapshots/`); commit rewrites it atomically; removal deletes it
//! (and fsyncs) before deleting anything else. A crash therefore leaves either a complete
//! snapshot or a directory without `meta.json` (or a dangling overlay link), which
//! [`Core::cleanup`] deletes at the next open. Ids are never reused while their directory
//! exists, so a leftover cannot be mistaken for a new snapshot.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use wharf_types::{Mount, Timestamp};

use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::snapshotter::{Info, Kind, Labels, Usage, Whiteouts};

const META: &str = "meta.json";
const MAX_KEY_LEN: usize = 4096;

/// Paths of one snapshotter root.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    root: PathBuf,
}

impl Layout {
    pub(crate) fn new(root: &Path) -> Self {
        Layout { root: root.to_path_buf() }
    }
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }
    pub(crate) fn snapshots(&self) -> PathBuf {
        self.root.join("snapshots")
    }
    pub(crate) fn dir(&self, id: u64) -> PathBuf {
        self.snapshots().join(id.to_string())
    }
    pub(crate) fn fs(&self, id: u64) -> PathBuf {
        self.dir(id).join("fs")
    }
    pub(crate) fn work(&self, id: u64) -> PathBuf {
        self.dir(id).join("work")
    }
    fn meta(&self, id: u64) -> PathBuf {
        self.dir(id).join(META)
    }
}

/// One new or existing snapshot as a backend sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Snap<'a> {
    pub(crate) id: u64,
    pub(crate) kind: Kind,
    /// Ids of the committed ancestors, nearest first.
    pub(crate) parents: &'a [u64],
}

/// What a driver adds to [`Core`].
pub(crate) trait Backend: Send + Sync + 'static {
    /// Fills the freshly created, empty `layout.dir(snap.id)`.
    fn create(&self, layout: &Layout, snap: Snap<'_>) -> Result<()>;
    /// The mounts of an active snapshot or view.
    fn mounts(&self, layout: &Layout, snap: Snap<'_>) -> Vec<Mount>;
    /// After the metadata of `id` is gone and before its directory is deleted.
    fn on_remove(&self, layout: &Layout, id: u64) -> Result<()>;
    /// Deletes the backend's own leftovers of snapshots not in `live`.
    fn cleanup(&self, layout: &Layout, live: &HashSet<u64>) -> Result<()>;
    /// How whiteouts are applied.
    fn whiteouts(&self) -> Whiteouts;
}

/// A snapshot's record, as stored in its `meta.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    id: u64,
    key: String,
    kind: Kind,
    /// The parent's id (ids are stable; a parent's name never changes once committed).
    parent: Option<u64>,
    #[serde(default)]
    labels: Labels,
    created: Timestamp,
    updated: Timestamp,
    /// Measured at commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    usage: Option<Usage>,
}

#[derive(Debug, Default)]
struct Store {
    by_key: BTreeMap<String, u64>,
    records: HashMap<u64, Record>,
    next_id: u64,
}

impl Store {
    fn get(&self, key: &str) -> Result<&Record> {
        self.by_key.get(key).and_then(|id| self.records.get(id)).ok_or_else(|| Error::NotFound { key: key.into() })
    }

    /// Ids of `id`'s committed ancestors, nearest first.
    fn chain(&self, mut parent: Option<u64>) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        while let Some(p) = parent {
            let rec = self.records.get(&p).ok_or_else(|| Error::NotFound { key: format!("(parent id {p})") })?;
            out.push(p);
            if out.len() > self.records.len() {
                return Err(Error::InvalidKey { key: rec.key.clone(), reason: "parent chain has a cycle" });
            }
            parent = rec.parent;
        }
        Ok(out)
    }

    fn children(&self, id: u64) -> usize {
        self.records.values().filter(|r| r.parent == Some(id)).count()
    }

    fn info(&self, rec: &Record) -> Info {
        Info {
            name: rec.key.clone(),
            kind: rec.kind,
            parent: rec.parent.and_then(|p| self.records.get(&p)).map(|p| p.key.clone()),
            labels: rec.labels.clone(),
            created: rec.created,
            updated: rec.updated,
        }
    }
}

/// The shared implementation of [`crate::Snapshotter`] over a [`Backend`].
pub(crate) struct Core<B> {
    layout: Layout,
    backend: B,
    state: Mutex<Store>,
}

impl<B: Backend> Core<B> {
    /// Opens (creating if needed) the root, loads every snapshot and deletes crash leftovers.
    pub(crate) fn open(root: &Path, backend: B) -> Result<Self> {
        let layout = Layout::new(root);
        fs::create_dir_all(layout.snapshots()).ctx("create dir", layout.snapshots())?;
        spread_subdirectories(&layout.snapshots());
        let store = load(&layout)?;
        let core = Core { layout, backend, state: Mutex::new(store) };
        core.cleanup()?;
        Ok(core)
    }

    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }

    pub(crate) fn backend(&self) -> &B {
        &self.backend
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        // The store changes only after its disk write succeeded, so a panic elsewhere cannot
        // leave it inconsistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn create(&self, key: &str, parent: Option<&str>, labels: Labels, kind: Kind) -> Result<Vec<Mount>> {
        validate_key(key)?;
        let mut st = self.lock();
        if st.by_key.contains_key(key) {
            return Err(Error::AlreadyExists { key: key.into() });
        }
        let parent_id = match parent {
            None => None,
            Some(p) => {
                let rec = st.get(p)?;
                if rec.kind != Kind::Committed {
                    return Err(Error::ParentNotCommitted { parent: p.into() });
                }
                Some(rec.id)
            }
        };
        let parents = st.chain(parent_id)?;
        let id = st.next_id;
        st.next_id += 1;
        let dir = self.layout.dir(id);
        let snap = Snap { id, kind, parents: &parents };
        let now = now();
        let rec =
            Record { id, key: key.into(), kind, parent: parent_id, labels, created: now, updated: now, usage: None };
        let made = fs::create_dir(&dir).ctx("create dir", &dir).and_then(|()| {
            self.backend.create(&self.layout, snap)?;
            write_record(&self.layout, &rec)?;
            fsutil::sync_dir(&self.layout.snapshots())
        });
        if let Err(e) = made {
            // Nothing refers to the directory yet; the next open would delete it anyway.
            self.backend.on_remove(&self.layout, id).ok();
            fsutil::remove_all(&dir).ok();
            return Err(e);
        }
        let mounts = self.backend.mounts(&self.layout, snap);
        st.by_key.insert(key.into(), id);
        st.records.insert(id, rec);
        Ok(mounts)
    }

    pub(crate) fn mounts(&self, key: &str) -> Result<Vec<Mount>> {
        let st = self.lock();
        let rec = st.get(key)?;
        if rec.kind == Kind::Committed {
            return Err(wrong_kind(rec, "active or view"));
        }
        let parents = st.chain(rec.parent)?;
        Ok(self.backend.mounts(&self.layout, Snap { id: rec.id, kind: rec.kind, parents: &parents }))
    }

    pub(crate) fn rebase(&self, key: &str, parent: Option<&str>, driver: &'static str) -> Result<()> {
        if self.backend.whiteouts() != Whiteouts::Overlay {
            return Err(Error::Unsupported {
                driver,
                root: self.layout.root().to_path_buf(),
                reason: "its snapshots hold their parent's content: they cannot change parent".into(),
            });
        }
        let mut st = self.lock();
        let rec = st.get(key)?.clone();
        if rec.kind != Kind::Active {
            return Err(wrong_kind(&rec, "active"));
        }
        if st.children(rec.id) > 0 {
            return Err(Error::HasChildren { key: key.into(), children: st.children(rec.id) });
        }
        let parent_id = match parent {
            None => None,
            Some(p) => {
                let prec = st.get(p)?;
                if prec.kind != Kind::Committed {
                    return Err(Error::ParentNotCommitted { parent: p.into() });
                }
                Some(prec.id)
            }
        };
        let new = Record { parent: parent_id, updated: now(), ..rec };
        write_record(&self.layout, &new)?;
        st.records.insert(new.id, new);
        Ok(())
    }

    pub(crate) fn commit(&self, name: &str, key: &str, labels: Labels) -> Result<()> {
        validate_key(name)?;
        let mut st = self.lock();
        let rec = st.get(key)?;
        if rec.kind != Kind::Active {
            return Err(wrong_kind(rec, "active"));
        }
        if st.by_key.contains_key(name) {
            return Err(Error::AlreadyExists { key: name.into() });
        }
        let usage = fsutil::disk_usage(&self.layout.fs(rec.id))?;
        let new = Record {
            key: name.into(),
            kind: Kind::Committed,
            labels,
            updated: now(),
            usage: Some(usage),
            ..rec.clone()
        };
        write_record(&self.layout, &new)?;
        st.by_key.remove(key);
        st.by_key.insert(name.into(), new.id);
        st.records.insert(new.id, new);
        Ok(())
    }

    pub(crate) fn remove(&self, key: &str) -> Result<()> {
        let mut st = self.lock();
        let id = st.get(key)?.id;
        let children = st.children(id);
        if children > 0 {
            return Err(Error::HasChildren { key: key.into(), children });
        }
        // The point of no return: without its meta.json the snapshot no longer exists.
        let meta = self.layout.meta(id);
        fs::remove_file(&meta).ctx("remove", &meta)?;
        fsutil::sync_dir(&self.layout.dir(id))?;
        st.by_key.remove(key);
        st.records.remove(&id);
        // Leftovers of a failure below are swept by `cleanup` (at the latest at the next open).
        let rest = self.backend.on_remove(&self.layout, id).and_then(|()| fsutil::remove_all(&self.layout.dir(id)));
        if let Err(e) = rest {
            tracing::warn!(snapshot = key, error = %e, "snapshot removed, its files are left for cleanup");
        }
        Ok(())
    }

    pub(crate) fn stat(&self, key: &str) -> Result<Info> {
        let st = self.lock();
        let rec = st.get(key)?;
        Ok(st.info(rec))
    }

    pub(crate) fn list(&self) -> Result<Vec<Info>> {
        let st = self.lock();
        Ok(st.by_key.values().filter_map(|id| st.records.get(id)).map(|r| st.info(r)).collect())
    }

    pub(crate) fn usage(&self, key: &str) -> Result<Usage> {
        let st = self.lock();
        let rec = st.get(key)?;
        match rec.usage {
            Some(u) if rec.kind == Kind::Committed => Ok(u),
            _ => fsutil::disk_usage(&self.layout.fs(rec.id)),
        }
    }

    pub(crate) fn upper_dir(&self, key: &str) -> Result<PathBuf> {
        let st = self.lock();
        Ok(self.layout.fs(st.get(key)?.id))
    }

    pub(crate) fn apply_dir(&self, key: &str) -> Result<PathBuf> {
        let st = self.lock();
        let rec = st.get(key)?;
        if rec.kind != Kind::Active {
            return Err(wrong_kind(rec, "active"));
        }
        Ok(self.layout.fs(rec.id))
    }

    pub(crate) fn cleanup(&self) -> Result<()> {
        let st = self.lock();
        let live: HashSet<u64> = st.records.keys().copied().collect();
        let snapshots = self.layout.snapshots();
        for entry in fs::read_dir(&snapshots).ctx("read dir", &snapshots)? {
            let entry = entry.ctx("read dir", &snapshots)?;
            let owned =
                entry.file_name().to_str().and_then(|n| n.parse::<u64>().ok()).is_some_and(|id| live.contains(&id));
            if owned {
                // A temp file of an interrupted metadata write.
                let tmp = entry.path().join(format!("{META}.tmp"));
                if tmp.exists() {
                    fs::remove_file(&tmp).ctx("remove", &tmp)?;
                }
            } else {
                tracing::info!(path = %entry.path().display(), "removing snapshot directory without metadata");
                let path = entry.path();
                if entry.file_type().ctx("stat", &path)?.is_dir() {
                    fsutil::remove_all(&path)?;
                } else {
                    fs::remove_file(&path).ctx("remove", &path)?;
                }
            }
        }
        self.backend.cleanup(&self.layout, &live)
    }
}

/// Marks `dir` as the top of independent directory hierarchies (`chattr +T`, ext2/3/4's
/// `FS_TOPDIR_FL`), so the Orlov allocator spreads each snapshot over its own block group
/// instead of packing it next to its siblings. Besides locality, this matters when a layer is
/// unpacked right after another was removed: on a journal-less ext4, allocating inodes in a
/// group full of recently freed ones scans past each of them (`recently_deleted`), which
/// made `docker load` after `rmi` twice as slow here. Best effort: other file systems refuse
/// or ignore the flag.
fn spread_subdirectories(dir: &Path) {
    let Ok(f) = fs::File::open(dir) else { return };
    if let Ok(flags) = rustix::fs::ioctl_getflags(&f) {
        if !flags.contains(rustix::fs::IFlags::TOPDIR) {
            let _ = rustix::fs::ioctl_setflags(&f, flags | rustix::fs::IFlags::TOPDIR);
        }
    }
}

fn wrong_kind(rec: &Record, expected: &'static str) -> Error {
    Error::WrongKind { key: rec.key.clone(), actual: rec.kind.as_str(), expected }
}

fn validate_key(key: &str) -> Result<()> {
    let reason = if key.is_empty() {
        "empty"
    } else if key.len() > MAX_KEY_LEN {
        "longer than 4096 bytes"
    } else if key.contains('\0') {
        "contains a NUL byte"
    } else {
        return Ok(());
    };
    Err(Error::InvalidKey { key: key.into(), reason })
}

fn now() -> Timestamp {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as Timestamp).unwrap_or(0)
}

fn write_record(layout: &Layout, rec: &Record) -> Result<()> {
    let path = layout.meta(rec.id);
    let bytes = serde_json::to_vec_pretty(rec).map_err(|source| Error::Metadata { path: path.clone(), source })?;
    fsutil::write_atomic(&path, &bytes)
}

/// Reads every `snapshots/<id>/meta.json`. Directories without one are left for `cleanup`.
fn load(layout: &Layout) -> Result<Store> {
    let mut store = Store::default();
    let mut max_id = 0;
    let snapshots = layout.snapshots();
    for entry in fs::read_dir(&snapshots).ctx("read dir", &snapshots)? {
        let entry = entry.ctx("read dir", &snapshots)?;
        let Some(id) = entry.file_name().to_str().and_then(|n| n.parse::<u64>().ok()) else { continue };
        max_id = max_id.max(id);
        let path = layout.meta(id);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io("read", path, e)),
        };
        let rec: Record =
            serde_json::from_slice(&bytes).map_err(|source| Error::Metadata { path: path.clone(), source })?;
        if rec.id != id {
            return Err(Error::Io {
                op: "load",
                path,
                source: std::io::Error::other(format!("records id {} in directory {id}", rec.id)),
            });
        }
        if let Some(other) = store.by_key.insert(rec.key.clone(), id) {
            tracing::warn!(key = rec.key, ids = ?(other, id), "two snapshots share a key; the last one read wins");
        }
        store.records.insert(id, rec);
    }
    store.next_id = max_id + 1;
    Ok(store)
}

/// Implements [`crate::Snapshotter`] for a driver type whose `core` field is a [`Core`]: every
/// driver delegates the whole trait to its core and differs only in its [`Backend`].
macro_rules! snapshotter_via_core {
    ($ty:ty) => {
        impl $crate::Snapshotter for $ty {
            fn driver(&self) -> &'static str {
                Self::DRIVER
            }
            fn root(&self) -> std::path::PathBuf {
                self.core.layout().root().to_path_buf()
            }
            fn prepare(
                &self,
                key: &str,
                parent: Option<&str>,
                labels: $crate::Labels,
            ) -> $crate::Result<Vec<wharf_types::Mount>> {
                self.core.create(key, parent, labels, Kind::Active)
            }
            fn view(
                &self,
                key: &str,
                parent: Option<&str>,
                labels: $crate::Labels,
            ) -> $crate::Result<Vec<wharf_types::Mount>> {
                self.core.create(key, parent, labels, Kind::View)
            }
            fn mounts(&self, key: &str) -> $crate::Result<Vec<wharf_types::Mount>> {
                self.core.mounts(key)
            }
            fn commit(&self, name: &str, key: &str, labels: $crate::Labels) -> $crate::Result<()> {
                self.core.commit(name, key, labels)
            }
            fn remove(&self, key: &str) -> $crate::Result<()> {
                self.core.remove(key)
            }
            fn stat(&self, key: &str) -> $crate::Result<$crate::Info> {
                self.core.stat(key)
            }
            fn list(&self) -> $crate::Result<Vec<$crate::Info>> {
                self.core.list()
            }
            fn usage(&self, key: &str) -> $crate::Result<$crate::Usage> {
                self.core.usage(key)
            }
            fn upper_dir(&self, key: &str) -> $crate::Result<std::path::PathBuf> {
                self.core.upper_dir(key)
            }
            fn apply_dir(&self, key: &str) -> $crate::Result<std::path::PathBuf> {
                self.core.apply_dir(key)
            }
            fn whiteouts(&self) -> $crate::Whiteouts {
                self.core.backend().whiteouts()
            }
            fn rebase(&self, key: &str, parent: Option<&str>) -> $crate::Result<()> {
                self.core.rebase(key, parent, Self::DRIVER)
            }
            fn cleanup(&self) -> $crate::Result<()> {
                self.core.cleanup()
            }
        }
    };
}
pub(crate) use snapshotter_via_core;

#[cfg(test)]
mod tests {
    //! Metadata rules without the kernel: a backend that only makes directories.
    use super::*;
    use wharf_types::{Classify, ErrorKind};

    struct Dirs;
    impl Backend for Dirs {
        fn create(&self, layout: &Layout, snap: Snap<'_>) -> Result<()> {
            if snap.kind == Kind::View {
                return Err(Error::io("create", layout.fs(snap.id), std::io::ErrorKind::Other.into()));
            }
            fs::create_dir(layout.fs(snap.id)).ctx("create dir", layout.fs(snap.id))
        }
        fn mounts(&self, layout: &Layout, snap: Snap<'_>) -> Vec<Mount> {
            vec![Mount::bind(layout.fs(snap.id).display().to_string(), vec![])]
        }
        fn on_remove(&self, _: &Layout, _: u64) -> Result<()> {
            Ok(())
        }
        fn cleanup(&self, _: &Layout, _: &HashSet<u64>) -> Result<()> {
            Ok(())
        }
        fn whiteouts(&self) -> Whiteouts {
            Whiteouts::Delete
        }
    }

    #[test]
    fn records_survive_reopen_and_ids_are_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let c = Core::open(dir.path(), Dirs).unwrap();
        c.create("a", None, Labels::new(), Kind::Active).unwrap();
        c.commit("base", "a", Labels::new()).unwrap();
        c.create("b", Some("base"), Labels::new(), Kind::Active).unwrap();
        let before = c.list().unwrap();
        let b_dir = c.upper_dir("b").unwrap();
        drop(c);
        let c = Core::open(dir.path(), Dirs).unwrap();
        assert_eq!(c.list().unwrap(), before);
        c.create("c", None, Labels::new(), Kind::Active).unwrap();
        assert_ne!(c.upper_dir("c").unwrap(), b_dir);
        assert_eq!(c.remove("base").unwrap_err().kind(), ErrorKind::Conflict);
    }

    #[test]
    fn directories_without_metadata_are_removed_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let c = Core::open(dir.path(), Dirs).unwrap();
        c.create("a", None, Labels::new(), Kind::Active).unwrap();
        drop(c);
        let orphan = dir.path().join("snapshots/77");
        fs::create_dir_all(orphan.join("fs/deep")).unwrap();
        let c = Core::open(dir.path(), Dirs).unwrap();
        assert!(!orphan.exists());
        assert_eq!(c.list().unwrap().len(), 1);
    }

    #[test]
    fn a_failed_create_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let c = Core::open(dir.path(), Dirs).unwrap();
        c.create("p", None, Labels::new(), Kind::Active).unwrap();
        // The test backend fails to fill views.
        assert!(c.create("x", None, Labels::new(), Kind::View).is_err());
        assert_eq!(c.stat("x").unwrap_err().kind(), ErrorKind::NotFound);
        let left: Vec<_> =
            fs::read_dir(dir.path().join("snapshots")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("1")]);
    }

    #[test]
    fn metadata_is_one_json_file_per_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let c = Core::open(dir.path(), Dirs).unwrap();
        c.create("k", None, [("a".to_string(), "b".to_string())].into(), Kind::Active).unwrap();
        let meta: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.path().join("snapshots/1/meta.json")).unwrap()).unwrap();
        assert_eq!(meta["key"], "k");
        assert_eq!(meta["kind"], "active");
        assert_eq!(meta["labels"]["a"], "b");
    }
}
