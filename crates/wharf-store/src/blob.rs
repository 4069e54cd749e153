//! The content store: blobs named by their digest, written through a verifying [`BlobWriter`].
//!
//! Layout under the store's directory:
//!
//! ```text
//! <dir>/blobs/sha256/<64 hex>     committed blobs, mode 0444, never modified
//! <dir>/blobs/sha512/<128 hex>
//! <dir>/ingest/<pid>-<nanos>-<n>  temp files of writers in flight (removed at open)
//! ```
//!
//! A write goes: create a temp file in `ingest/` → write while hashing → `commit`: fsync the
//! file, compare digest and size with what was announced, then under the database writer lock
//! (see [`crate::lease`]) register the lease resource, rename into `blobs/<alg>/<hex>` and fsync
//! that directory. So a blob exists under its name only once it was verified and is durable; a
//! crash leaves at most a temp file, which the next [`BlobStore::open`] deletes.
//!
//! The store is `Clone + Send + Sync`; its methods block (call them from async code through
//! `spawn_blocking`). One process owns a store directory (the daemon's data-root lock ensures it).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use wharf_types::{Algorithm, Digest, Digester, Timestamp};

use crate::db::{now_nanos, Db};
use crate::error::{Result, StoreError};
use crate::lease::{add_resource, KIND_BLOB};

/// What the store knows of a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    /// Its name.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// When it was written (Unix nanoseconds, the file's modification time).
    pub created: Timestamp,
}

/// A content-addressed blob store. Cheap to clone.
#[derive(Clone)]
pub struct BlobStore {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    blobs: PathBuf,
    ingest: PathBuf,
    db: Db,
    next: AtomicU64,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStore").field("root", &self.inner.root).finish_non_exhaustive()
    }
}

fn mkdir(path: &Path) -> Result<()> {
    fs::create_dir_all(path).map_err(StoreError::io("create directory", path))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o700)).map_err(StoreError::io("chmod", path))
}

fn sync_dir(path: &Path) -> Result<()> {
    File::open(path).and_then(|d| d.sync_all()).map_err(StoreError::io("fsync", path))
}

fn to_nanos(t: std::time::SystemTime) -> Timestamp {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

impl BlobStore {
    /// Opens (creating if needed) the store in `dir`, with its leases in `db`, and deletes the
    /// temp files a previous process left in `ingest/`.
    pub fn open(dir: &Path, db: &Db) -> Result<BlobStore> {
        let blobs = dir.join("blobs");
        let ingest = dir.join("ingest");
        mkdir(dir)?;
        mkdir(&ingest)?;
        for alg in Algorithm::ALL {
            mkdir(&blobs.join(alg.as_str()))?;
        }
        sync_dir(&blobs)?;
        sync_dir(dir)?;
        let mut removed = 0usize;
        for entry in fs::read_dir(&ingest).map_err(StoreError::io("read directory", &ingest))? {
            let entry = entry.map_err(StoreError::io("read directory", &ingest))?;
            let path = entry.path();
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            let res = if is_dir { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
            res.map_err(StoreError::io("remove leftover", &path))?;
            removed += 1;
        }
        if removed > 0 {
            tracing::info!(dir = %ingest.display(), removed, "removed interrupted ingests");
            sync_dir(&ingest)?;
        }
        Ok(BlobStore {
            inner: Arc::new(Inner { root: dir.to_path_buf(), blobs, ingest, db: db.clone(), next: AtomicU64::new(0) }),
        })
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    pub(crate) fn db(&self) -> &Db {
        &self.inner.db
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.inner.blobs.join(digest.algorithm().as_str()).join(digest.hex())
    }

    /// Starts writing a blob. With `expected`, the content is hashed with that digest's
    /// algorithm and must match it and the size; without, it is hashed with SHA-256 and named by
    /// what was written.
    pub fn writer(&self, expected: Option<(Digest, u64)>) -> Result<BlobWriter> {
        let algorithm = expected.as_ref().map_or(Algorithm::Sha256, |(d, _)| d.algorithm());
        let pid = std::process::id();
        loop {
            let n = self.inner.next.fetch_add(1, Ordering::Relaxed);
            let temp = self.inner.ingest.join(format!("{pid}-{}-{n}", now_nanos()));
            match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp) {
                Ok(file) => {
                    return Ok(BlobWriter {
                        store: self.clone(),
                        file: Some(file),
                        temp,
                        digester: Digester::new(algorithm),
                        written: 0,
                        expected,
                        lease: None,
                        done: false,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(StoreError::Io { op: "create", path: temp, source: e }),
            }
        }
    }

    /// Opens a blob for reading, without verification.
    pub fn open_blob(&self, digest: &Digest) -> Result<File> {
        let path = self.blob_path(digest);
        File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StoreError::BlobNotFound { digest: digest.clone() },
            _ => StoreError::Io { op: "open", path, source: e },
        })
    }

    /// Opens a blob for reading through a [`VerifyingReader`]: reaching its end fails if the
    /// content does not hash to `digest` (the file was corrupted after commit).
    pub fn open_verified(&self, digest: &Digest) -> Result<VerifyingReader<File>> {
        let file = self.open_blob(digest)?;
        Ok(VerifyingReader::new(file, digest.clone()))
    }

    /// Reads a whole blob, verified (for manifests and configs; stream layers instead).
    pub fn read_all(&self, digest: &Digest) -> Result<Vec<u8>> {
        let mut r = self.open_verified(digest)?;
        let mut out = Vec::new();
        if let Err(e) = r.read_to_end(&mut out) {
            let path = self.blob_path(digest);
            if e.get_ref().is_some_and(|inner| inner.is::<StoreError>()) {
                if let Some(Ok(inner)) = e.into_inner().map(|b| b.downcast::<StoreError>()) {
                    return Err(*inner);
                }
                return Err(StoreError::Io { op: "read", path, source: io::Error::other("verification failed") });
            }
            return Err(StoreError::Io { op: "read", path, source: e });
        }
        Ok(out)
    }

    /// Size and time of a blob, or `None` if it does not exist.
    pub fn info(&self, digest: &Digest) -> Result<Option<BlobInfo>> {
        let path = self.blob_path(digest);
        match fs::symlink_metadata(&path) {
            Ok(m) => Ok(Some(BlobInfo {
                digest: digest.clone(),
                size: m.len(),
                created: m.modified().map(to_nanos).unwrap_or(0),
            })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Io { op: "stat", path, source: e }),
        }
    }

    /// Whether a blob exists.
    pub fn exists(&self, digest: &Digest) -> Result<bool> {
        Ok(self.info(digest)?.is_some())
    }

    /// Deletes a blob, whatever holds it (garbage collection is the safe way to free space).
    pub fn delete(&self, digest: &Digest) -> Result<()> {
        let removed = self.db().tx(|_tx| {
            let removed = self.remove_unlocked(digest)?;
            if removed {
                sync_dir(&self.inner.blobs.join(digest.algorithm().as_str()))?;
            }
            Ok::<_, StoreError>(removed)
        })?;
        if removed {
            Ok(())
        } else {
            Err(StoreError::BlobNotFound { digest: digest.clone() })
        }
    }

    /// Removes a blob's file; the caller holds the database writer lock. `Ok(false)`: absent.
    pub(crate) fn remove_unlocked(&self, digest: &Digest) -> Result<bool> {
        let path = self.blob_path(digest);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StoreError::Io { op: "remove", path, source: e }),
        }
    }

    /// Makes removals durable.
    pub(crate) fn sync_blob_dirs(&self) -> Result<()> {
        for alg in Algorithm::ALL {
            sync_dir(&self.inner.blobs.join(alg.as_str()))?;
        }
        Ok(())
    }

    /// Every committed blob, sorted by digest. Files whose name is not a valid digest are
    /// skipped.
    pub fn list(&self) -> Result<Vec<BlobInfo>> {
        let mut out = Vec::new();
        for alg in Algorithm::ALL {
            let dir = self.inner.blobs.join(alg.as_str());
            for entry in fs::read_dir(&dir).map_err(StoreError::io("read directory", &dir))? {
                let entry = entry.map_err(StoreError::io("read directory", &dir))?;
                let name = entry.file_name();
                let Some(digest) = name.to_str().and_then(|hex| Digest::new(alg, hex).ok()) else {
                    tracing::warn!(path = %entry.path().display(), "ignoring a file that is not a blob");
                    continue;
                };
                match entry.metadata() {
                    Ok(m) if m.is_file() => {
                        out.push(BlobInfo { digest, size: m.len(), created: m.modified().map(to_nanos).unwrap_or(0) })
                    }
                    Ok(_) => tracing::warn!(path = %entry.path().display(), "ignoring a non-file in the blob store"),
                    // Deleted since the directory was read.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(StoreError::Io { op: "stat", path: entry.path(), source: e }),
                }
            }
        }
        out.sort_by(|a, b| a.digest.cmp(&b.digest));
        Ok(out)
    }

    /// How many writers are in flight (temp files in `ingest/`).
    pub fn ingests(&self) -> Result<usize> {
        let dir = &self.inner.ingest;
        Ok(fs::read_dir(dir).map_err(StoreError::io("read directory", dir))?.count())
    }
}

/// A blob being written: hashes what it is given, and becomes visible only at
/// [`BlobWriter::commit`]. Dropping it without a commit deletes its temp file.
pub struct BlobWriter {
    store: BlobStore,
    file: Option<File>,
    temp: PathBuf,
    digester: Digester,
    written: u64,
    expected: Option<(Digest, u64)>,
    lease: Option<String>,
    done: bool,
}

impl std::fmt::Debug for BlobWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobWriter")
            .field("temp", &self.temp)
            .field("written", &self.written)
            .field("expected", &self.expected)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl BlobWriter {
    /// Registers the blob with lease `lease` at commit, atomically with its rename, so garbage
    /// collection keeps it until the lease goes. The lease must exist at commit.
    pub fn with_lease(mut self, lease: impl Into<String>) -> BlobWriter {
        self.lease = Some(lease.into());
        self
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The digest and size announced, if any.
    pub fn expected(&self) -> Option<&(Digest, u64)> {
        self.expected.as_ref()
    }

    /// Makes the blob durable and visible under its digest, and returns that digest. Fails,
    /// leaving nothing, if the content does not match the announced digest or size, or if the
    /// lease does not exist. Succeeds without writing if the blob already exists.
    pub fn commit(mut self) -> Result<Digest> {
        let Some(mut file) = self.file.take() else {
            return Err(StoreError::Io {
                op: "commit",
                path: self.temp.clone(),
                source: io::Error::other("writer already closed"),
            });
        };
        file.flush().map_err(StoreError::io("write", &self.temp))?;
        file.set_permissions(fs::Permissions::from_mode(0o444)).map_err(StoreError::io("chmod", &self.temp))?;
        file.sync_all().map_err(StoreError::io("fsync", &self.temp))?;
        drop(file);
        let digester = std::mem::replace(&mut self.digester, Digester::new(Algorithm::Sha256));
        let actual = digester.finish();
        if let Some((expected, size)) = &self.expected {
            if *expected != actual {
                return Err(StoreError::DigestMismatch { expected: expected.clone(), actual });
            }
            if *size != self.written {
                return Err(StoreError::SizeMismatch { digest: actual, expected: *size, actual: self.written });
            }
        }
        let target = self.store.blob_path(&actual);
        let dir = self.store.inner.blobs.join(actual.algorithm().as_str());
        let store = self.store.clone();
        store.db().tx(|tx| {
            if let Some(lease) = &self.lease {
                add_resource(tx, lease, KIND_BLOB, actual.as_str())?;
            }
            let exists = match fs::symlink_metadata(&target) {
                Ok(_) => true,
                Err(e) if e.kind() == io::ErrorKind::NotFound => false,
                Err(e) => return Err(StoreError::Io { op: "stat", path: target.clone(), source: e }),
            };
            if !exists {
                fs::rename(&self.temp, &target).map_err(StoreError::io("rename", &target))?;
                self.done = true;
                sync_dir(&dir)?;
            }
            Ok(())
        })?;
        // If the blob existed, the temp file is removed by Drop.
        Ok(actual)
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(file) = self.file.as_mut() else {
            return Err(io::Error::other("blob writer is closed"));
        };
        if let Some((digest, size)) = &self.expected {
            let after = self.written.saturating_add(buf.len() as u64);
            if after > *size {
                return Err(StoreError::SizeMismatch { digest: digest.clone(), expected: *size, actual: after }.into());
            }
        }
        let n = file.write(buf)?;
        self.digester.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        self.file = None;
        if self.done {
            return;
        }
        match fs::remove_file(&self.temp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(path = %self.temp.display(), error = %e, "cannot remove blob temp file"),
        }
    }
}

/// A reader that hashes what passes through it and, at end of input, fails with
/// [`io::ErrorKind::InvalidData`] (a digest mismatch) if the content does not hash to the
/// expected digest.
#[derive(Debug)]
pub struct VerifyingReader<R> {
    inner: R,
    expected: Digest,
    digester: Option<Digester>,
    /// Set at end of input when the content did not match: every later read fails too.
    mismatch: Option<Digest>,
}

impl<R: Read> VerifyingReader<R> {
    /// Verifies `inner` against `expected`.
    pub fn new(inner: R, expected: Digest) -> VerifyingReader<R> {
        let digester = Some(Digester::new(expected.algorithm()));
        VerifyingReader { inner, expected, digester, mismatch: None }
    }

    /// The underlying reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            if let Some(d) = self.digester.as_mut() {
                d.update(&buf[..n]);
            }
            return Ok(n);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(d) = self.digester.take() {
            let actual = d.finish();
            if actual != self.expected {
                self.mismatch = Some(actual);
            }
        }
        match &self.mismatch {
            Some(actual) => {
                Err(StoreError::DigestMismatch { expected: self.expected.clone(), actual: actual.clone() }.into())
            }
            None => Ok(0),
        }
    }
}
