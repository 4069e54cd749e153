//! Leases, as containerd has them: a named hold on resources (blobs, snapshots, images) that an
//! operation in flight (a pull, a build, an import) takes so that garbage collection keeps what it
//! wrote before anything else references it. Also the garbage collector of the blob store,
//! [`BlobStore::gc`], and the [`GcRoots`] the daemon gives it.
//!
//! Leases live in the metadata database (tables `leases` and `lease_resources`, drawn in
//! [`crate::db`]). The functions of this module take a [`Tx`] so that a domain crate can, in one
//! transaction, record what it made and release the lease that protected it; [`Leases`] wraps
//! each in its own transaction.
//!
//! # Garbage collection and its lock
//!
//! [`BlobStore::gc`] runs entirely inside one [`Db::tx`]: it holds the database's writer lock
//! (the store-level lock) while it expires leases, reads the leased blobs, asks the roots (in the
//! same transaction, so they see the same state), lists the blobs and deletes the unreferenced
//! ones. [`crate::BlobWriter::commit`] takes the same lock for its lease registration, existence
//! check and rename. So:
//! - a commit that finishes before gc takes the lock is seen by gc, with its lease;
//! - a commit that waits for the lock renames after the deletions, so it is never lost, and a
//!   blob gc deleted meanwhile is written again by it;
//! - temp files in `ingest/` are never listed as blobs, so an ingest in flight is untouched.
//!
//! A caller that protects an **existing** blob must add the lease resource first and check the
//! blob exists afterwards (or do both in one transaction); a caller that makes a blob reachable
//! from a root releases its lease after (or in the same transaction as) the root's write.
//! Lock order: database writer lock, then the file system. [`GcRoots`] must not call back into
//! `Db::tx` or any method that writes (the lock is not reentrant).

use std::collections::{BTreeSet, HashSet};
use std::error::Error as StdError;

use rusqlite::{params, OptionalExtension};
use wharf_types::{Digest, Timestamp};

use crate::blob::BlobStore;
use crate::db::{now_nanos, Db, Tx};
use crate::error::{Result, StoreError};

/// Resource kind of a blob (its key is the digest).
pub const KIND_BLOB: &str = "blob";
/// Resource kind of a snapshot (its key is the snapshot key or name).
pub const KIND_SNAPSHOT: &str = "snapshot";
/// Resource kind of an image (its key is the image id or reference).
pub const KIND_IMAGE: &str = "image";

/// A lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Its id, chosen by the caller.
    pub id: String,
    /// When it was created (Unix nanoseconds).
    pub created_at: Timestamp,
    /// When it stops holding anything (Unix nanoseconds); `None`: until deleted.
    pub expires_at: Option<Timestamp>,
}

/// A resource a lease holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Resource {
    /// `blob`, `snapshot`, `image`…
    pub kind: String,
    /// The resource's key within its kind.
    pub key: String,
}

fn check(what: &'static str, value: &str) -> Result<()> {
    let reason = if value.is_empty() {
        "must not be empty"
    } else if value.len() > 1024 {
        "longer than 1024 bytes"
    } else if value.chars().any(char::is_control) {
        "contains a control character"
    } else {
        return Ok(());
    };
    Err(StoreError::InvalidLease { what, value: value.to_string(), reason })
}

fn lease_exists(tx: &Tx<'_>, id: &str) -> Result<bool> {
    tx.query_row("SELECT 1 FROM leases WHERE id = ?1", [id], |_| Ok(()))
        .optional()
        .map(|r| r.is_some())
        .map_err(StoreError::sqlite("read lease"))
}

/// Creates lease `id`, holding until `expires_at` (Unix nanoseconds) or until deleted.
pub fn create_lease(tx: &Tx<'_>, id: &str, expires_at: Option<Timestamp>) -> Result<Lease> {
    check("id", id)?;
    if lease_exists(tx, id)? {
        return Err(StoreError::LeaseExists { id: id.to_string() });
    }
    let lease = Lease { id: id.to_string(), created_at: now_nanos(), expires_at };
    tx.execute(
        "INSERT INTO leases (id, created_at, expires_at) VALUES (?1, ?2, ?3)",
        params![lease.id, lease.created_at, lease.expires_at],
    )
    .map_err(StoreError::sqlite("create lease"))?;
    Ok(lease)
}

/// Makes lease `lease` hold resource `kind`/`key` (idempotent).
pub fn add_resource(tx: &Tx<'_>, lease: &str, kind: &str, key: &str) -> Result<()> {
    check("resource kind", kind)?;
    check("resource key", key)?;
    if !lease_exists(tx, lease)? {
        return Err(StoreError::LeaseNotFound { id: lease.to_string() });
    }
    tx.execute(
        "INSERT OR IGNORE INTO lease_resources (lease_id, kind, key) VALUES (?1, ?2, ?3)",
        params![lease, kind, key],
    )
    .map_err(StoreError::sqlite("add lease resource"))?;
    Ok(())
}

/// Stops lease `lease` holding `kind`/`key`; returns whether it did.
pub fn remove_resource(tx: &Tx<'_>, lease: &str, kind: &str, key: &str) -> Result<bool> {
    if !lease_exists(tx, lease)? {
        return Err(StoreError::LeaseNotFound { id: lease.to_string() });
    }
    let n = tx
        .execute(
            "DELETE FROM lease_resources WHERE lease_id = ?1 AND kind = ?2 AND key = ?3",
            params![lease, kind, key],
        )
        .map_err(StoreError::sqlite("remove lease resource"))?;
    Ok(n > 0)
}

/// Deletes lease `id` and releases everything it held.
pub fn delete_lease(tx: &Tx<'_>, id: &str) -> Result<()> {
    let n = tx.execute("DELETE FROM leases WHERE id = ?1", [id]).map_err(StoreError::sqlite("delete lease"))?;
    if n == 0 {
        return Err(StoreError::LeaseNotFound { id: id.to_string() });
    }
    Ok(())
}

/// Deletes the leases that expired at or before `now`; returns their ids, sorted.
pub fn expire_leases(tx: &Tx<'_>, now: Timestamp) -> Result<Vec<String>> {
    let mut st = tx
        .prepare("DELETE FROM leases WHERE expires_at IS NOT NULL AND expires_at <= ?1 RETURNING id")
        .map_err(StoreError::sqlite("expire leases"))?;
    let rows = st.query_map([now], |r| r.get::<_, String>(0)).map_err(StoreError::sqlite("expire leases"))?;
    let mut ids = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(StoreError::sqlite("expire leases"))?;
    ids.sort();
    Ok(ids)
}

fn row_to_lease(r: &rusqlite::Row<'_>) -> rusqlite::Result<Lease> {
    Ok(Lease { id: r.get(0)?, created_at: r.get(1)?, expires_at: r.get(2)? })
}

/// Lease `id`, if it exists.
pub fn get_lease(tx: &Tx<'_>, id: &str) -> Result<Option<Lease>> {
    tx.query_row("SELECT id, created_at, expires_at FROM leases WHERE id = ?1", [id], row_to_lease)
        .optional()
        .map_err(StoreError::sqlite("read lease"))
}

/// Every lease, by id.
pub fn list_leases(tx: &Tx<'_>) -> Result<Vec<Lease>> {
    let mut st = tx
        .prepare("SELECT id, created_at, expires_at FROM leases ORDER BY id")
        .map_err(StoreError::sqlite("list leases"))?;
    let rows = st.query_map([], row_to_lease).map_err(StoreError::sqlite("list leases"))?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(StoreError::sqlite("list leases"))
}

/// What lease `id` holds, sorted.
pub fn resources(tx: &Tx<'_>, id: &str) -> Result<Vec<Resource>> {
    if !lease_exists(tx, id)? {
        return Err(StoreError::LeaseNotFound { id: id.to_string() });
    }
    let mut st = tx
        .prepare("SELECT kind, key FROM lease_resources WHERE lease_id = ?1 ORDER BY kind, key")
        .map_err(StoreError::sqlite("list lease resources"))?;
    let rows = st
        .query_map([id], |r| Ok(Resource { kind: r.get(0)?, key: r.get(1)? }))
        .map_err(StoreError::sqlite("list lease resources"))?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(StoreError::sqlite("list lease resources"))
}

/// The keys of `kind` held by a lease that is live at `now` (not expired).
pub fn held(tx: &Tx<'_>, kind: &str, now: Timestamp) -> Result<BTreeSet<String>> {
    let mut st = tx
        .prepare(
            "SELECT DISTINCT r.key FROM lease_resources r JOIN leases l ON l.id = r.lease_id \
             WHERE r.kind = ?1 AND (l.expires_at IS NULL OR l.expires_at > ?2)",
        )
        .map_err(StoreError::sqlite("read held resources"))?;
    let rows = st.query_map(params![kind, now], |r| r.get::<_, String>(0)).map_err(StoreError::sqlite("held"))?;
    rows.collect::<rusqlite::Result<BTreeSet<_>>>().map_err(StoreError::sqlite("read held resources"))
}

/// Lease operations, each in its own transaction. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Leases {
    db: Db,
}

impl Leases {
    /// Leases stored in `db`.
    pub fn new(db: &Db) -> Leases {
        Leases { db: db.clone() }
    }

    /// See [`create_lease`].
    pub fn create_lease(&self, id: &str, expires_at: Option<Timestamp>) -> Result<Lease> {
        self.db.tx(|tx| create_lease(tx, id, expires_at))
    }

    /// See [`add_resource`].
    pub fn add_resource(&self, lease: &str, kind: &str, key: &str) -> Result<()> {
        self.db.tx(|tx| add_resource(tx, lease, kind, key))
    }

    /// See [`remove_resource`].
    pub fn remove_resource(&self, lease: &str, kind: &str, key: &str) -> Result<bool> {
        self.db.tx(|tx| remove_resource(tx, lease, kind, key))
    }

    /// See [`delete_lease`].
    pub fn delete_lease(&self, id: &str) -> Result<()> {
        self.db.tx(|tx| delete_lease(tx, id))
    }

    /// See [`expire_leases`].
    pub fn expire_leases(&self, now: Timestamp) -> Result<Vec<String>> {
        self.db.tx(|tx| expire_leases(tx, now))
    }

    /// See [`get_lease`].
    pub fn get_lease(&self, id: &str) -> Result<Option<Lease>> {
        self.db.read(|tx| get_lease(tx, id))
    }

    /// See [`list_leases`].
    pub fn list_leases(&self) -> Result<Vec<Lease>> {
        self.db.read(list_leases)
    }

    /// See [`resources`].
    pub fn resources(&self, id: &str) -> Result<Vec<Resource>> {
        self.db.read(|tx| resources(tx, id))
    }

    /// See [`held`].
    pub fn held(&self, kind: &str, now: Timestamp) -> Result<BTreeSet<String>> {
        self.db.read(|tx| held(tx, kind, now))
    }
}

/// What garbage collection must keep besides leased blobs: implemented by the daemon over its
/// images (manifests, configs, layers, indexes).
pub trait GcRoots {
    /// Every blob digest a root references, read within `tx` (the collector's transaction, so
    /// the answer matches the leases it read). Must not call back into `Db::tx`.
    fn referenced_blobs(&self, tx: &Tx<'_>) -> Result<HashSet<Digest>, Box<dyn StdError + Send + Sync>>;
}

/// A fixed set of roots (tests, tools).
#[derive(Debug, Clone, Default)]
pub struct StaticRoots(pub HashSet<Digest>);

impl GcRoots for StaticRoots {
    fn referenced_blobs(&self, _tx: &Tx<'_>) -> Result<HashSet<Digest>, Box<dyn StdError + Send + Sync>> {
        Ok(self.0.clone())
    }
}

/// What one garbage collection did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// The blobs it deleted, sorted.
    pub removed: Vec<Digest>,
    /// Their total size.
    pub bytes_freed: u64,
    /// The leases it found expired and deleted, sorted.
    pub expired_leases: Vec<String>,
}

impl BlobStore {
    /// Deletes expired leases, then every blob that no root references and no live lease holds.
    /// Temp files of ingests in flight are never touched. See the module doc for the lock.
    pub fn gc(&self, roots: &dyn GcRoots) -> Result<GcReport> {
        self.db().tx(|tx| {
            let now = now_nanos();
            let expired_leases = expire_leases(tx, now)?;
            let leased = held(tx, KIND_BLOB, now)?;
            let referenced = roots.referenced_blobs(tx).map_err(|source| StoreError::GcRoots { source })?;
            let mut report = GcReport { expired_leases, ..GcReport::default() };
            for info in self.list()? {
                if referenced.contains(&info.digest) || leased.contains(info.digest.as_str()) {
                    continue;
                }
                match self.remove_unlocked(&info.digest) {
                    Ok(true) => {
                        report.bytes_freed += info.size;
                        report.removed.push(info.digest);
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!(digest = %info.digest, error = %e, "gc: cannot remove blob"),
                }
            }
            self.sync_blob_dirs()?;
            report.removed.sort();
            if !report.removed.is_empty() || !report.expired_leases.is_empty() {
                tracing::info!(
                    blobs = report.removed.len(),
                    bytes = report.bytes_freed,
                    leases = report.expired_leases.len(),
                    "garbage collected"
                );
            }
            Ok(report)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    struct Fixture {
        _dir: tempfile::TempDir,
        db: Db,
        store: BlobStore,
        leases: Leases,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(&dir.path().join("meta.db"), &[]).expect("db");
        let store = BlobStore::open(&dir.path().join("content"), &db).expect("store");
        let leases = Leases::new(&db);
        Fixture { _dir: dir, db, store, leases }
    }

    fn put(store: &BlobStore, data: &[u8], lease: Option<&str>) -> Digest {
        let mut w = store.writer(None).expect("writer");
        if let Some(l) = lease {
            w = w.with_lease(l);
        }
        w.write_all(data).expect("write");
        w.commit().expect("commit")
    }

    #[test]
    fn lease_crud() {
        let f = fixture();
        let l = f.leases.create_lease("pull-1", None).expect("create");
        assert_eq!(l.id, "pull-1");
        assert!(matches!(f.leases.create_lease("pull-1", None), Err(StoreError::LeaseExists { .. })));
        assert!(matches!(f.leases.create_lease("", None), Err(StoreError::InvalidLease { .. })));
        f.leases.add_resource("pull-1", KIND_SNAPSHOT, "snap-a").expect("add");
        f.leases.add_resource("pull-1", KIND_SNAPSHOT, "snap-a").expect("idempotent");
        f.leases.add_resource("pull-1", KIND_IMAGE, "img").expect("add");
        assert!(matches!(f.leases.add_resource("nope", KIND_BLOB, "x"), Err(StoreError::LeaseNotFound { .. })));
        let res = f.leases.resources("pull-1").expect("resources");
        assert_eq!(res.len(), 2);
        assert_eq!(
            f.leases.held(KIND_SNAPSHOT, now_nanos()).expect("held").into_iter().collect::<Vec<_>>(),
            ["snap-a"]
        );
        assert!(f.leases.remove_resource("pull-1", KIND_IMAGE, "img").expect("remove"));
        assert!(!f.leases.remove_resource("pull-1", KIND_IMAGE, "img").expect("remove again"));
        assert_eq!(f.leases.list_leases().expect("list"), vec![l.clone()]);
        assert_eq!(f.leases.get_lease("pull-1").expect("get"), Some(l));
        f.leases.delete_lease("pull-1").expect("delete");
        assert!(matches!(f.leases.delete_lease("pull-1"), Err(StoreError::LeaseNotFound { .. })));
        assert!(f.leases.held(KIND_SNAPSHOT, now_nanos()).expect("held").is_empty(), "cascade");
        let n: i64 =
            f.db.read(|tx| {
                tx.query_row("SELECT COUNT(*) FROM lease_resources", [], |r| r.get(0)).map_err(StoreError::sqlite("n"))
            })
            .expect("count");
        assert_eq!(n, 0);
    }

    #[test]
    fn expire_leases_releases_resources() {
        let f = fixture();
        f.leases.create_lease("old", Some(100)).expect("create");
        f.leases.create_lease("new", Some(i64::MAX)).expect("create");
        f.leases.create_lease("forever", None).expect("create");
        f.leases.add_resource("old", KIND_SNAPSHOT, "a").expect("add");
        // Expired but not yet collected: no longer holds anything.
        assert!(f.leases.held(KIND_SNAPSHOT, 200).expect("held").is_empty());
        assert_eq!(f.leases.held(KIND_SNAPSHOT, 50).expect("held").len(), 1);
        assert_eq!(f.leases.expire_leases(200).expect("expire"), ["old"]);
        let ids: Vec<String> = f.leases.list_leases().expect("list").into_iter().map(|l| l.id).collect();
        assert_eq!(ids, ["forever", "new"]);
    }

    #[test]
    fn unreferenced_blob_removed_and_referenced_kept() {
        let f = fixture();
        let keep = put(&f.store, b"referenced", None);
        let drop = put(&f.store, b"garbage", None);
        let report = f.store.gc(&StaticRoots([keep.clone()].into())).expect("gc");
        assert_eq!(report.removed, vec![drop.clone()]);
        assert_eq!(report.bytes_freed, b"garbage".len() as u64);
        assert!(f.store.exists(&keep).expect("exists"));
        assert!(!f.store.exists(&drop).expect("exists"));
        assert_eq!(f.store.gc(&StaticRoots([keep].into())).expect("gc again"), GcReport::default());
    }

    #[test]
    fn leased_blob_survives_gc_until_the_lease_goes() {
        let f = fixture();
        f.leases.create_lease("pull", None).expect("lease");
        let d = put(&f.store, b"layer", Some("pull"));
        assert_eq!(
            f.leases.held(KIND_BLOB, now_nanos()).expect("held").into_iter().collect::<Vec<_>>(),
            [d.to_string()]
        );
        assert!(f.store.gc(&StaticRoots::default()).expect("gc").removed.is_empty());
        assert!(f.store.exists(&d).expect("exists"));
        f.leases.delete_lease("pull").expect("delete");
        assert_eq!(f.store.gc(&StaticRoots::default()).expect("gc").removed, vec![d.clone()]);
        assert!(!f.store.exists(&d).expect("exists"));
    }

    #[test]
    fn expired_lease_releases_its_blobs() {
        let f = fixture();
        f.leases.create_lease("short", Some(now_nanos() - 1)).expect("lease");
        let d = put(&f.store, b"layer", Some("short"));
        let report = f.store.gc(&StaticRoots::default()).expect("gc");
        assert_eq!(report.removed, vec![d]);
        assert_eq!(report.expired_leases, ["short"]);
        assert!(f.leases.list_leases().expect("list").is_empty());
    }

    #[test]
    fn commit_with_unknown_lease_fails_and_leaves_nothing() {
        let f = fixture();
        let mut w = f.store.writer(None).expect("writer").with_lease("missing");
        w.write_all(b"x").expect("write");
        assert!(matches!(w.commit(), Err(StoreError::LeaseNotFound { .. })));
        assert!(f.store.list().expect("list").is_empty());
        assert_eq!(std::fs::read_dir(f.store.root().join("ingest")).expect("ingest").count(), 0);
    }

    #[test]
    fn ingest_in_flight_survives_gc() {
        let f = fixture();
        let data = b"a layer still downloading".repeat(1000);
        let expected = Digest::sha256_of(&data);
        let mut w = f.store.writer(Some((expected.clone(), data.len() as u64))).expect("writer");
        w.write_all(&data[..100]).expect("write");
        let report = f.store.gc(&StaticRoots::default()).expect("gc");
        assert!(report.removed.is_empty());
        w.write_all(&data[100..]).expect("write");
        assert_eq!(w.commit().expect("commit"), expected);
        assert_eq!(f.store.read_all(&expected).expect("read"), data);
    }

    #[test]
    fn commit_racing_gc_is_never_lost() {
        let f = fixture();
        f.leases.create_lease("pull", None).expect("lease");
        let mut handles = Vec::new();
        for i in 0..4u8 {
            let store = f.store.clone();
            handles.push(std::thread::spawn(move || {
                let mut out = Vec::new();
                for j in 0..20u8 {
                    out.push(put(&store, &[i, j, 1, 2, 3], Some("pull")));
                }
                out
            }));
        }
        for _ in 0..20 {
            f.store.gc(&StaticRoots::default()).expect("gc");
        }
        let written: Vec<Digest> = handles.into_iter().flat_map(|h| h.join().expect("join")).collect();
        f.store.gc(&StaticRoots::default()).expect("gc");
        for d in written {
            assert_eq!(f.store.read_all(&d).expect("read").len(), 5, "{d} lost");
        }
    }

    #[test]
    fn failing_roots_remove_nothing() {
        struct Broken;
        impl GcRoots for Broken {
            fn referenced_blobs(&self, _tx: &Tx<'_>) -> Result<HashSet<Digest>, Box<dyn StdError + Send + Sync>> {
                Err("images table unreadable".into())
            }
        }
        let f = fixture();
        f.leases.create_lease("old", Some(1)).expect("lease");
        let d = put(&f.store, b"x", None);
        let err = f.store.gc(&Broken).expect_err("gc fails");
        assert!(matches!(err, StoreError::GcRoots { .. }), "{err}");
        assert!(f.store.exists(&d).expect("exists"));
        assert_eq!(f.leases.list_leases().expect("list").len(), 1, "expiry rolled back");
    }

    #[test]
    fn roots_read_in_the_gc_transaction() {
        // A daemon-like root: blobs referenced by rows of a domain table.
        const IMAGES: &[crate::Migration] = &[crate::Migration {
            component: "images",
            version: 1,
            sql: "CREATE TABLE images (id TEXT PRIMARY KEY, config TEXT NOT NULL) STRICT;",
        }];
        struct ImageRoots;
        impl GcRoots for ImageRoots {
            fn referenced_blobs(&self, tx: &Tx<'_>) -> Result<HashSet<Digest>, Box<dyn StdError + Send + Sync>> {
                let mut st = tx.prepare("SELECT config FROM images")?;
                let rows = st.query_map([], |r| r.get::<_, String>(0))?;
                let mut out = HashSet::new();
                for r in rows {
                    out.insert(r?.parse()?);
                }
                Ok(out)
            }
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Db::open(&dir.path().join("meta.db"), IMAGES).expect("db");
        let store = BlobStore::open(&dir.path().join("content"), &db).expect("store");
        let leases = Leases::new(&db);
        leases.create_lease("pull", None).expect("lease");
        let config = put(&store, b"{}", Some("pull"));
        // Record the image and release the lease in one transaction.
        db.tx(|tx| -> Result<()> {
            tx.execute("INSERT INTO images (id, config) VALUES ('img', ?1)", [config.as_str()])
                .map_err(StoreError::sqlite("insert"))?;
            delete_lease(tx, "pull")
        })
        .expect("tx");
        assert!(store.gc(&ImageRoots).expect("gc").removed.is_empty());
        assert!(store.exists(&config).expect("exists"));
    }
}
