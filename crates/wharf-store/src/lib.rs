//! Storage services of the daemon: the metadata database ([`Db`]: SQLite in WAL mode,
//! migrations owned by the domain crates, IMMEDIATE transactions), the content store
//! ([`BlobStore`]: blobs named by sha256/sha512 digest, written through a verifying
//! [`BlobWriter`]), leases ([`Leases`]) and the blob garbage collector ([`BlobStore::gc`] over the
//! daemon's [`GcRoots`]). The `testing` feature adds `testsuite`, the blob store's conformance
//! checks.
//!
//! # Architecture Invariants
//!
//! - A blob is visible under its digest only after its content was hashed, compared with the
//!   announced digest and size, fsynced, renamed into place and its directory fsynced. A crash
//!   leaves at most a temp file in `ingest/`, deleted at the next [`BlobStore::open`].
//! - Blob names are validated [`wharf_types::Digest`]s, so a name can never escape the store's
//!   directory.
//! - No domain tables here: the store owns only the `migrations` bookkeeping and the lease tables
//!   (drawn in [`db`]); each domain crate passes its own [`Migration`]s to [`Db::open`], applied
//!   once, in order, each in a transaction, and a newer schema is refused.
//! - Garbage collection never removes a blob a root references or a live lease holds, nor an
//!   ingest in flight: it decides and deletes while holding the database writer lock, which blob
//!   commits take too for their lease registration and rename (see [`lease`]).
//! - Everything is synchronous and internally locked; handles are `Clone + Send + Sync`; async
//!   callers use `spawn_blocking`. No global state.

pub mod blob;
pub mod db;
mod error;
pub mod lease;
#[cfg(feature = "testing")]
pub mod testsuite;

pub use blob::{BlobInfo, BlobStore, BlobWriter, VerifyingReader};
pub use db::{Db, Migration, Tx};
pub use error::{Result, StoreError};
pub use lease::{GcReport, GcRoots, Lease, Leases, Resource, StaticRoots};
/// The SQLite binding the [`Tx`] of [`Db::tx`] comes from, for the domain crates' queries.
pub use rusqlite;

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::testsuite::{self, CHECKS};
    use crate::{BlobStore, Db};

    fn make(dir: &Path) -> BlobStore {
        let db = Db::open(&dir.join("meta.db"), &[]).expect("db");
        BlobStore::open(&dir.join("content"), &db).expect("store")
    }

    const CRASH_CHILD_ENV: &str = "WHARF_STORE_CRASH_CHILD";

    /// The child half of `killed_at_any_point_restarts_consistent`: writes leased blobs until
    /// killed. Does nothing when run as an ordinary test.
    #[test]
    fn crash_child() {
        use std::io::Write;
        let Some(dir) = std::env::var_os(CRASH_CHILD_ENV) else { return };
        let dir = Path::new(&dir);
        let db = Db::open(&dir.join("meta.db"), &[]).expect("db");
        let store = BlobStore::open(&dir.join("content"), &db).expect("store");
        let leases = crate::Leases::new(&db);
        for i in 0u64.. {
            let lease = format!("lease-{i}");
            leases.create_lease(&lease, None).expect("lease");
            let data = format!("blob {i} ").repeat(2000 + (i as usize % 7) * 500);
            let mut w = store.writer(None).expect("writer").with_lease(lease.as_str());
            for chunk in data.as_bytes().chunks(4096) {
                w.write_all(chunk).expect("write");
            }
            w.commit().expect("commit");
            if i % 3 == 0 {
                leases.delete_lease(&lease).expect("delete lease");
                store.gc(&crate::StaticRoots::default()).expect("gc");
            }
        }
    }

    /// A process killed (SIGKILL) while writing, leasing and collecting leaves a store that
    /// reopens with no temp file, only verifiable blobs, and every leased blob present.
    #[test]
    fn killed_at_any_point_restarts_consistent() {
        let dir = tempfile::tempdir().expect("tempdir");
        for round in 0..3u64 {
            let mut child = std::process::Command::new(std::env::current_exe().expect("exe"))
                .args(["--exact", "tests::crash_child", "--nocapture", "--test-threads=1"])
                .env(CRASH_CHILD_ENV, dir.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("spawn child");
            std::thread::sleep(std::time::Duration::from_millis(300 + round * 170));
            child.kill().expect("kill");
            child.wait().expect("wait");

            let store = make(dir.path());
            assert_eq!(store.ingests().expect("ingests"), 0);
            let blobs = store.list().expect("list");
            for b in &blobs {
                store.read_all(&b.digest).expect("every blob verifies");
            }
            let db = Db::open(&dir.path().join("meta.db"), &[]).expect("db");
            let held = crate::Leases::new(&db).held("blob", crate::db::now_nanos()).expect("held");
            for key in held {
                let d: wharf_types::Digest = key.parse().expect("digest");
                assert!(store.exists(&d).expect("exists"), "leased blob {d} missing after the crash");
            }
        }
    }

    #[test]
    fn conformance_suite() {
        testsuite::run(&make);
    }

    macro_rules! checks {
        ($($name:ident),* $(,)?) => {$(
            #[test]
            fn $name() {
                let dir = tempfile::tempdir().expect("tempdir");
                testsuite::$name(&make, dir.path());
            }
        )*
        #[test]
        fn every_check_has_a_test() {
            let tested = [$(stringify!($name)),*];
            for (name, _) in CHECKS {
                assert!(tested.contains(name), "{name} has no #[test]");
            }
        }
        };
    }

    checks!(
        write_commit_read,
        digest_mismatch_leaves_nothing,
        size_mismatch,
        concurrent_writers_of_one_blob,
        commit_of_existing_blob_succeeds,
        drop_without_commit_leaves_nothing,
        crash_leftovers_cleaned_at_open,
        sha512,
        info_list_delete,
        verifying_reader_detects_corruption,
        writer_is_send,
    );
}
