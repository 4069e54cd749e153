//! Conformance checks for the blob store's contract (feature `testing`), in the spirit of
//! containerd's `core/content/testsuite`: [`run`] opens a store in a fresh directory for each
//! named check, and reopens it in the same directory to simulate a restart. This crate's tests
//! run them; so can a daemon test on the file system it will really use.
//!
//! The checks panic on failure, as tests do.

use std::io::{Read, Write};
use std::path::Path;

use wharf_types::{Algorithm, Classify, Digest, ErrorKind};

use crate::{BlobStore, StoreError};

/// Opens (or reopens) a store in the given empty-or-previous directory.
pub type MakeStore<'a> = &'a dyn Fn(&Path) -> BlobStore;

/// A named check.
pub type Check = fn(MakeStore<'_>, &Path);

/// Every check, by name.
pub const CHECKS: &[(&str, Check)] = &[
    ("write_commit_read", write_commit_read),
    ("digest_mismatch_leaves_nothing", digest_mismatch_leaves_nothing),
    ("size_mismatch", size_mismatch),
    ("concurrent_writers_of_one_blob", concurrent_writers_of_one_blob),
    ("commit_of_existing_blob_succeeds", commit_of_existing_blob_succeeds),
    ("drop_without_commit_leaves_nothing", drop_without_commit_leaves_nothing),
    ("crash_leftovers_cleaned_at_open", crash_leftovers_cleaned_at_open),
    ("sha512", sha512),
    ("info_list_delete", info_list_delete),
    ("verifying_reader_detects_corruption", verifying_reader_detects_corruption),
    ("writer_is_send", writer_is_send),
];

/// Runs every check, each in a fresh temporary directory.
pub fn run(make_store: MakeStore<'_>) {
    for (name, check) in CHECKS {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{name}: tempdir: {e}"),
        };
        tracing::debug!(check = name, "blob store conformance");
        check(make_store, dir.path());
    }
}

fn put(store: &BlobStore, data: &[u8], expected: Option<(Digest, u64)>) -> Result<Digest, StoreError> {
    let mut w = store.writer(expected)?;
    w.write_all(data).map_err(|e| StoreError::Io { op: "write", path: store.root().into(), source: e })?;
    w.commit()
}

fn no_ingests(store: &BlobStore) {
    assert_eq!(store.ingests().expect("ingests"), 0, "temp files left in ingest/");
}

/// Write, commit, then read back the same bytes under the announced digest.
pub fn write_commit_read(make: MakeStore<'_>, dir: &Path) {
    let store = make(dir);
    let data = b"hello blob".repeat(10_000);
    let d = Digest::sha256_of(&data);
    let got = put(&store, &data, Some((d.clone(), data.len() as u64))).expect("commit");
    assert_eq!(got, d);
    assert_eq!(store.read_all(&d).expect("read"), data);
    let mut raw = Vec::new();
    store.open_blob(&d).expect("open").read_to_end(&mut raw).expect("read");
    assert_eq!(raw, data);
    // Without an expected digest, the blob is named by SHA-256 of what was written.
    let other = put(&store, b"anonymous", None).expect("commit");
    assert_eq!(other, Digest::sha256_of(b"anonymous"));
    assert!(store.exists(&other).expect("exists"));
    no_ingests(&store);
}

/// A digest mismatch fails with a clear InvalidArgument error and leaves no blob and no temp.
pub fn digest_mismatch_leaves_nothing(make: MakeStore<'_>, dir: &Path) {
    let store = make(dir);
    let claimed = Digest::sha256_of(b"what was promised");
    let err = put(&store, b"what was sent!!!!", Some((claimed.clone(), 17))).expect_err("mismatch");
    let actual = Digest::sha256_of(b"what was sent!!!!");
    assert_eq!(err.to_string(), format!("digest mismatch: expected {claimed}, got {actual}"));
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(!store.exists(&claimed).expect("exists"));
    assert!(!store.exists(&actual).expect("exists"));
    assert!(store.list().expect("list").is_empty());
    no_ingests(&store);
}

/// A right digest with a wrong announced size fails; writing past the size fails at once.
pub fn size_mismatch(make: MakeStore<'_>, dir: &Path) {
    let store = make(dir);
    let data = b"twelve bytes";
    let d = Digest::sha256_of(data);
    let err = put(&store, data, Some((d.clone(), 13))).expect_err("short");
    assert!(matches!(err, StoreError::SizeMismatch { expected: 13, actual: 12, .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let mut w = store.writer(Some((d.clone(), 5))).expect("writer");
    let e = w.write_all(data).expect_err("too long");
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    drop(w);
    assert!(!store.exists(&d).expect("exists"));
    no_ingests(&store);
}

/// Several writers of the same content all succeed; one blob results.
pub fn concurrent_writers_of_one_blob(make: MakeStore<'_>, dir: &Path) {
    let store = make(dir);
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let d = Digest::sha256_of(&data);
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let store = store.clone();
            let data = data.clone();
            let d = d.clone();
            std::thread::spawn(move || {
                let mut w = store.writer(Some((d, data.len() as u64))).expect("writer");
                for chunk in data.chunks(7_000) {
                    w.write_all(chunk).expect("write");
                }
                w.commit().expect("commit")
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().expect("join"), d);
    }
    assert_eq!(store.list().expect("list").len(), 1);
    assert_eq!(store.read_all(&d).expect("read"), data);
    no_ingests(&store);
}

/// Committing content that is already stored succeeds and keeps the blob.
pub fn commit_of_existing_blob_succeeds(make: MakeStore<'_>, dir: &Path) {
    let store = make(dir);
    let d = put(&store, b"same", None).expect("first");
    let created = store.info(&d).expect("info").expect("exists").created;
    assert_eq!(put(&store, b"same", Some((d.clone(), 4))).expect("second"), d);
    assert_eq!(store.info(&d).expect("info").expect("exists").created, created, "blob was rewritten");
    no_ingests(&store);
}

/// A writer dropped before commit removes its temp file and makes no blob.
pub fn drop_without_commit_leaves_nothing(make: MakeStore<'_>, dir: &Path) {
    let store = make(dir);
    let mut w = store.writer(None).expect("writer");
    w.write_all(b"abandoned").expect("write");
    assert_eq!(store.ingests().expect("ingests"), 1);
    drop(w);
    no_ingests(&store);
    assert!(store.list().expect("list").is_empty());
}

/// Temp files of a crashed process are removed when the store is opened again; blobs stay.
pub fn crash_leftovers_cleaned_at_open(make: MakeStore<'_>, dir: &Path) {
    let store = make(dir);
    let kept = put(&store, b"committed before the crash", None).expect("commit");
    let mut w = store.writer(None).expect("writer");
    w.write_all(b"half a layer").expect("write");
    // A crash: the writer's destructor never runs.
    std::mem::forget(w);
    std::fs::write(store.root().join("ingest").join("stray"), b"junk").expect("stray");
    std::fs::create_dir(store.root().join("ingest").join("stray-dir")).expect("stray dir");
    assert_eq!(store.ingests().expect("ingests"), 3);
    drop(store);
    let store = make(dir);
    no_ingests(&store);
    let blobs: Vec<Digest> = store.list().expect("list").into_iter().map(|b| b.digest).collect();
    assert_eq!(blobs, vec![kept.clone()]);
    assert_eq!(store.read_all(&kept).expect("read"), b"committed before the crash");
}

/// SHA-512 digests are hashed and stored under `blobs/sha512`.
pub fn sha512(make: MakeStore<'_>, dir: &Path) {
    let store = make(dir);
    let data = b"sha512 content";
    let d = Digest::of(Algorithm::Sha512, data);
    assert_eq!(put(&store, data, Some((d.clone(), data.len() as u64))).expect("commit"), d);
    assert!(store.root().join("blobs/sha512").join(d.hex()).is_file());
    assert_eq!(store.read_all(&d).expect("read"), data);
    let wrong = Digest::of(Algorithm::Sha512, b"other");
    let err = put(&store, data, Some((wrong, data.len() as u64))).expect_err("mismatch");
    assert!(err.to_string().starts_with("digest mismatch: expected sha512:"), "{err}");
    assert!(err.to_string().contains(", got sha512:"), "{err}");
}

/// `info`, `list` and `delete` agree with what was written.
pub fn info_list_delete(make: MakeStore<'_>, dir: &Path) {
    let store = make(dir);
    let a = put(&store, b"aaaa", None).expect("a");
    let b = put(&store, b"bb", None).expect("b");
    let info = store.info(&a).expect("info").expect("exists");
    assert_eq!(info.size, 4);
    assert!(info.created > 0);
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    let listed: Vec<Digest> = store.list().expect("list").into_iter().map(|i| i.digest).collect();
    assert_eq!(listed, want);
    store.delete(&a).expect("delete");
    assert_eq!(store.info(&a).expect("info"), None);
    let err = store.delete(&a).expect_err("twice");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(store.open_blob(&a).expect_err("open").kind(), ErrorKind::NotFound);
    assert_eq!(store.list().expect("list").len(), 1);
}

/// Content changed after commit is caught at the end of a verified read.
pub fn verifying_reader_detects_corruption(make: MakeStore<'_>, dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let store = make(dir);
    let d = put(&store, b"pristine", None).expect("commit");
    let path = store.root().join("blobs/sha256").join(d.hex());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::fs::write(&path, b"tampered").expect("tamper");
    let mut r = store.open_verified(&d).expect("open");
    let mut out = Vec::new();
    let e = r.read_to_end(&mut out).expect_err("corrupt");
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    assert!(e.to_string().starts_with("digest mismatch"), "{e}");
    assert!(matches!(store.read_all(&d), Err(StoreError::DigestMismatch { .. })));
}

/// Writers can move to another thread (callers use `spawn_blocking`).
pub fn writer_is_send(make: MakeStore<'_>, dir: &Path) {
    fn assert_send<T: Send + 'static>(_: &T) {}
    let store = make(dir);
    let w = store.writer(None).expect("writer");
    assert_send(&w);
    assert_send(&store);
    let d = std::thread::spawn(move || {
        let mut w = w;
        w.write_all(b"moved").expect("write");
        w.commit().expect("commit")
    })
    .join()
    .expect("join");
    assert!(store.exists(&d).expect("exists"));
}
