//! The registry's filesystem layout, under one root directory:
//!
//! ```text
//! <root>/registry.lock                                  flock'ed by the process that owns the root
//! <root>/blobs/<alg>/<hex>                              verified content (layers, configs, manifests), 0444
//! <root>/repositories/<name>/_layers/<alg>/<hex>        empty: the blob belongs to the repository
//! <root>/repositories/<name>/_manifests/revisions/<alg>/<hex>   the manifest's media type
//! <root>/repositories/<name>/_manifests/tags/<tag>      the digest the tag points at
//! <root>/repositories/<name>/_manifests/referrers/<alg>/<hex>/<alg>-<hex>
//!                                                       a referrer's descriptor (JSON), by subject
//! <root>/repositories/<name>/_uploads/<uuid>            an upload session's bytes so far
//! ```
//!
//! Why not `wharf-store`'s `BlobStore`: it registers every blob with a lease in its SQLite
//! database and names its temp files itself, while a registry needs resumable uploads whose
//! bytes stay under the repository between requests, and no database. The write discipline is
//! the same: a blob is renamed into `blobs/` only after it was fsynced and its digest verified,
//! then its directory is fsynced; tags and revisions are written temp file → fsync → rename →
//! fsync(dir), so a crash leaves either the old or the new state.
//!
//! Paths are only built from [`RepoName`], [`Tag`], [`Digest`] and upload ids that
//! [`valid_upload_id`] accepted, all validated so that no component is empty, `.`, `..` or starts
//! with `_` (names) or `.` (tags): the reserved `_…` directories never collide with a
//! repository, and temp files (`.tmp-…`) never with a tag.
//!
//! The methods block: async callers use `spawn_blocking`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use wharf_types::{Algorithm, Digest, Digester};

use crate::manifest::Descriptor;
use crate::name::{RepoName, Tag};

/// A storage failure: which operation on which path.
#[derive(Debug, thiserror::Error)]
#[error("{op} {}: {source}", path.display())]
pub struct StorageError {
    /// What was being done.
    pub op: &'static str,
    /// On what.
    pub path: PathBuf,
    /// Why it failed.
    #[source]
    pub source: io::Error,
}

/// The storage's result type.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;

fn err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StorageError + 'a {
    move |source| StorageError { op, path: path.to_path_buf(), source }
}

/// The registry's files under a root directory. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Storage {
    root: PathBuf,
    blobs: PathBuf,
    repos: PathBuf,
}

/// Holds the root's `registry.lock` (an exclusive `flock`) for its life.
#[derive(Debug)]
pub struct RootLock {
    _file: File,
}

static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// Fsyncs a directory.
fn sync_dir(path: &Path) -> Result<()> {
    File::open(path).and_then(|d| d.sync_all()).map_err(err("fsync", path))
}

/// Creates `path` and its missing parents, fsyncing the parent of each directory it made.
fn ensure_dir(path: &Path) -> Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        ensure_dir(parent)?;
    }
    match fs::create_dir(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(StorageError { op: "create directory", path: path.to_path_buf(), source: e }),
    }
    if let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Writes `data` to `path` atomically and durably: temp file beside it → fsync → rename →
/// fsync(dir).
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    ensure_dir(dir)?;
    let n = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
    let temp = dir.join(format!(".tmp-{}-{n}", std::process::id()));
    let write = || -> io::Result<()> {
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).mode(0o644).open(&temp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&temp, path)
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&temp);
        return Err(StorageError { op: "write", path: path.to_path_buf(), source: e });
    }
    sync_dir(dir)
}

/// Removes a file; `false` if it did not exist.
fn remove(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => {
            if let Some(parent) = path.parent() {
                sync_dir(parent)?;
            }
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(StorageError { op: "remove", path: path.to_path_buf(), source: e }),
    }
}

fn read_opt(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StorageError { op: "read", path: path.to_path_buf(), source: e }),
    }
}

/// Entries of a directory by name (none if it does not exist), skipping dot files.
fn list_dir(path: &Path) -> Result<Vec<String>> {
    let rd = match fs::read_dir(path) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StorageError { op: "read directory", path: path.to_path_buf(), source: e }),
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(err("read directory", path))?;
        if let Ok(name) = entry.file_name().into_string() {
            if !name.starts_with('.') {
                out.push(name);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Whether `id` is an upload id this registry made (a UUID: 36 lower-case hex digits and
/// dashes), so it can name a file.
pub fn valid_upload_id(id: &str) -> bool {
    id.len() == 36
        && id.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

/// A random version-4 UUID.
fn new_uuid() -> Result<String> {
    let mut b = [0u8; 16];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(err("read", Path::new("/dev/urandom")))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = |r: std::ops::Range<usize>| b[r].iter().map(|x| format!("{x:02x}")).collect::<String>();
    Ok(format!("{}-{}-{}-{}-{}", h(0..4), h(4..6), h(6..8), h(8..10), h(10..16)))
}

/// Hashes a file with `algorithm`.
pub fn hash_file(path: &Path, algorithm: Algorithm) -> Result<(Digest, u64)> {
    let (d, n) = hash_file_state(path, algorithm)?;
    Ok((d.finish(), n))
}

/// Feeds a whole file to a new digester of `algorithm`; returns it (to go on hashing what is
/// appended) and the size hashed.
pub fn hash_file_state(path: &Path, algorithm: Algorithm) -> Result<(Digester, u64)> {
    let mut f = File::open(path).map_err(err("open", path))?;
    let mut d = Digester::new(algorithm);
    let mut buf = vec![0u8; 256 << 10];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(err("read", path))?;
        if n == 0 {
            break;
        }
        d.update(&buf[..n]);
        total += n as u64;
    }
    Ok((d, total))
}

impl Storage {
    /// Opens (creating if needed) the storage under `root`.
    pub fn open(root: &Path) -> Result<Storage> {
        let s = Storage { root: root.to_path_buf(), blobs: root.join("blobs"), repos: root.join("repositories") };
        ensure_dir(root)?;
        for alg in Algorithm::ALL {
            ensure_dir(&s.blobs.join(alg.as_str()))?;
        }
        ensure_dir(&s.repos)?;
        Ok(s)
    }

    /// Takes the root's lock, or fails naming the holder's lock file when another process (a
    /// running registry, a garbage collection) has it.
    pub fn lock(&self) -> Result<RootLock> {
        let path = self.root.join("registry.lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(err("open", &path))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).map_err(|e| StorageError {
            op: "lock (another registry or garbage collection uses this root)",
            path: path.clone(),
            source: e.into(),
        })?;
        let _ = file.set_len(0);
        let _ = writeln!(file, "{}", std::process::id());
        Ok(RootLock { _file: file })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn blob_path(&self, d: &Digest) -> PathBuf {
        self.blobs.join(d.algorithm().as_str()).join(d.hex())
    }

    fn repo_dir(&self, name: &RepoName) -> PathBuf {
        let mut p = self.repos.clone();
        p.extend(name.components());
        p
    }

    fn layer_link(&self, name: &RepoName, d: &Digest) -> PathBuf {
        self.repo_dir(name).join("_layers").join(d.algorithm().as_str()).join(d.hex())
    }

    fn revision_path(&self, name: &RepoName, d: &Digest) -> PathBuf {
        self.repo_dir(name).join("_manifests/revisions").join(d.algorithm().as_str()).join(d.hex())
    }

    fn tags_dir(&self, name: &RepoName) -> PathBuf {
        self.repo_dir(name).join("_manifests/tags")
    }

    fn referrers_dir(&self, name: &RepoName, subject: &Digest) -> PathBuf {
        self.repo_dir(name).join("_manifests/referrers").join(subject.algorithm().as_str()).join(subject.hex())
    }

    fn uploads_dir(&self, name: &RepoName) -> PathBuf {
        self.repo_dir(name).join("_uploads")
    }

    /// Whether anything was ever pushed to the repository.
    pub fn repo_exists(&self, name: &RepoName) -> bool {
        let dir = self.repo_dir(name);
        dir.join("_manifests").is_dir() || dir.join("_layers").is_dir()
    }

    // ---- blobs ----

    /// The size of a blob in the global store, if it exists.
    pub fn blob_size(&self, d: &Digest) -> Result<Option<u64>> {
        let path = self.blob_path(d);
        match fs::metadata(&path) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StorageError { op: "stat", path, source: e }),
        }
    }

    /// The size of a blob as the repository sees it: it exists and is linked to the repository
    /// as a layer/config or as a manifest.
    pub fn repo_blob_size(&self, name: &RepoName, d: &Digest) -> Result<Option<u64>> {
        if !self.layer_link(name, d).is_file() && !self.revision_path(name, d).is_file() {
            return Ok(None);
        }
        self.blob_size(d)
    }

    /// The path to open a blob's content at (after [`Storage::repo_blob_size`] said it exists).
    pub fn blob_file(&self, d: &Digest) -> PathBuf {
        self.blob_path(d)
    }

    /// Makes a blob part of the repository.
    pub fn link_blob(&self, name: &RepoName, d: &Digest) -> Result<()> {
        let link = self.layer_link(name, d);
        if link.is_file() {
            return Ok(());
        }
        let dir = link.parent().unwrap_or(&self.repos).to_path_buf();
        ensure_dir(&dir)?;
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(&link)
            .map_err(err("create", &link))?;
        sync_dir(&dir)
    }

    /// Removes a blob from the repository (the content stays until garbage collection);
    /// `false` if it was not linked.
    pub fn unlink_blob(&self, name: &RepoName, d: &Digest) -> Result<bool> {
        remove(&self.layer_link(name, d))
    }

    /// Moves a verified, fsynced file into the blob store under `d` (or drops it when the blob
    /// is already there), then fsyncs the store's directory.
    pub fn commit_blob(&self, file: &Path, d: &Digest) -> Result<()> {
        let dest = self.blob_path(d);
        if dest.is_file() {
            return remove(file).map(|_| ());
        }
        fs::set_permissions(file, fs::Permissions::from_mode(0o444)).map_err(err("chmod", file))?;
        fs::rename(file, &dest).map_err(err("rename", &dest))?;
        sync_dir(dest.parent().unwrap_or(&self.blobs))?;
        if let Some(parent) = file.parent() {
            sync_dir(parent)?;
        }
        Ok(())
    }

    /// Writes `data` as a blob named by its digest (which the caller computed), durably.
    pub fn put_blob_bytes(&self, d: &Digest, data: &[u8]) -> Result<()> {
        let dest = self.blob_path(d);
        if dest.is_file() {
            return Ok(());
        }
        let dir = dest.parent().unwrap_or(&self.blobs).to_path_buf();
        let n = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".tmp-{}-{n}", std::process::id()));
        let write = || -> io::Result<()> {
            let mut f = OpenOptions::new().write(true).create_new(true).mode(0o444).open(&temp)?;
            f.write_all(data)?;
            f.sync_all()?;
            fs::rename(&temp, &dest)
        };
        if let Err(e) = write() {
            let _ = fs::remove_file(&temp);
            return Err(StorageError { op: "write", path: dest, source: e });
        }
        sync_dir(&dir)
    }

    /// Reads a whole blob (manifests), checking it still hashes to `d`.
    pub fn read_blob(&self, d: &Digest) -> Result<Option<Vec<u8>>> {
        let path = self.blob_path(d);
        let Some(data) = read_opt(&path)? else { return Ok(None) };
        if Digest::of(d.algorithm(), &data) != *d {
            return Err(StorageError {
                op: "verify",
                path,
                source: io::Error::other("content does not match its digest"),
            });
        }
        Ok(Some(data))
    }

    /// Every blob in the store.
    pub fn all_blobs(&self) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        for alg in Algorithm::ALL {
            for hex in list_dir(&self.blobs.join(alg.as_str()))? {
                if let Ok(d) = Digest::new(alg, &hex) {
                    out.push(d);
                }
            }
        }
        Ok(out)
    }

    /// Removes temp files a crash left in the blob store (`.tmp-…`); returns how many. Only
    /// for a root no registry serves (garbage collection).
    pub fn remove_temp_files(&self) -> Result<usize> {
        let mut n = 0;
        for alg in Algorithm::ALL {
            let dir = self.blobs.join(alg.as_str());
            let rd = match fs::read_dir(&dir) {
                Ok(rd) => rd,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(StorageError { op: "read directory", path: dir, source: e }),
            };
            for entry in rd {
                let entry = entry.map_err(err("read directory", &dir))?;
                if entry.file_name().to_string_lossy().starts_with(".tmp-") && remove(&entry.path())? {
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    /// Deletes a blob from the store (garbage collection).
    pub fn delete_blob(&self, d: &Digest) -> Result<bool> {
        remove(&self.blob_path(d))
    }

    /// The repository's blob links.
    pub fn linked_blobs(&self, name: &RepoName) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        for alg in Algorithm::ALL {
            for hex in list_dir(&self.repo_dir(name).join("_layers").join(alg.as_str()))? {
                if let Ok(d) = Digest::new(alg, &hex) {
                    out.push(d);
                }
            }
        }
        Ok(out)
    }

    // ---- manifests ----

    /// Stores a manifest: its bytes as a blob, its revision (media type), the referrers entry
    /// of its subject, and the tag if given. The caller verified `digest` and the references.
    pub fn put_manifest(
        &self,
        name: &RepoName,
        digest: &Digest,
        media_type: &str,
        body: &[u8],
        tag: Option<&Tag>,
        referrer: Option<(&Digest, &Descriptor)>,
    ) -> Result<()> {
        self.put_blob_bytes(digest, body)?;
        write_atomic(&self.revision_path(name, digest), media_type.as_bytes())?;
        if let Some((subject, desc)) = referrer {
            let entry = self.referrers_dir(name, subject).join(format!("{}-{}", digest.algorithm(), digest.hex()));
            let json = serde_json::to_vec(desc).map_err(|e| StorageError {
                op: "encode",
                path: entry.clone(),
                source: io::Error::other(e),
            })?;
            write_atomic(&entry, &json)?;
        }
        if let Some(tag) = tag {
            write_atomic(&self.tags_dir(name).join(tag.as_str()), digest.as_str().as_bytes())?;
        }
        Ok(())
    }

    /// The digest a tag points at.
    pub fn tag_digest(&self, name: &RepoName, tag: &Tag) -> Result<Option<Digest>> {
        let path = self.tags_dir(name).join(tag.as_str());
        let Some(text) = read_opt(&path)? else { return Ok(None) };
        let text = String::from_utf8_lossy(&text);
        text.trim().parse().map(Some).map_err(|e| StorageError { op: "parse tag", path, source: io::Error::other(e) })
    }

    /// The media type of a manifest revision of the repository, if it has it.
    pub fn revision(&self, name: &RepoName, d: &Digest) -> Result<Option<String>> {
        Ok(read_opt(&self.revision_path(name, d))?.map(|b| String::from_utf8_lossy(&b).trim().to_string()))
    }

    /// The repository's manifest revisions.
    pub fn revisions(&self, name: &RepoName) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        for alg in Algorithm::ALL {
            for hex in list_dir(&self.repo_dir(name).join("_manifests/revisions").join(alg.as_str()))? {
                if let Ok(d) = Digest::new(alg, &hex) {
                    out.push(d);
                }
            }
        }
        Ok(out)
    }

    /// Deletes a manifest revision, every tag pointing at it, and its referrers entry under
    /// `subject`; `false` if the repository did not have it.
    pub fn delete_manifest(&self, name: &RepoName, d: &Digest, subject: Option<&Digest>) -> Result<bool> {
        if !self.revision_path(name, d).is_file() {
            return Ok(false);
        }
        for (tag, target) in self.tags(name)? {
            if target.as_ref() == Some(d) {
                remove(&self.tags_dir(name).join(tag))?;
            }
        }
        if let Some(subject) = subject {
            let dir = self.referrers_dir(name, subject);
            remove(&dir.join(format!("{}-{}", d.algorithm(), d.hex())))?;
            let _ = fs::remove_dir(&dir);
        }
        remove(&self.revision_path(name, d))
    }

    /// Deletes a tag; `false` if it did not exist.
    pub fn delete_tag(&self, name: &RepoName, tag: &Tag) -> Result<bool> {
        remove(&self.tags_dir(name).join(tag.as_str()))
    }

    /// The repository's tags with the digest each points at (`None`: unreadable).
    pub fn tags(&self, name: &RepoName) -> Result<Vec<(String, Option<Digest>)>> {
        let dir = self.tags_dir(name);
        let mut out = Vec::new();
        for tag in list_dir(&dir)? {
            let d = read_opt(&dir.join(&tag))?.and_then(|b| String::from_utf8_lossy(&b).trim().parse().ok());
            out.push((tag, d));
        }
        Ok(out)
    }

    /// The referrers of `subject` in the repository.
    pub fn referrers(&self, name: &RepoName, subject: &Digest) -> Result<Vec<Descriptor>> {
        let dir = self.referrers_dir(name, subject);
        let mut out = Vec::new();
        for entry in list_dir(&dir)? {
            let path = dir.join(&entry);
            let Some(data) = read_opt(&path)? else { continue };
            match serde_json::from_slice::<Descriptor>(&data) {
                Ok(desc) if self.revision_path(name, &desc.digest).is_file() => out.push(desc),
                Ok(_) => {}
                Err(e) => tracing::warn!(path = %path.display(), "unreadable referrer entry: {e}"),
            }
        }
        Ok(out)
    }

    /// Every repository that has manifests (`_manifests`), sorted by name.
    pub fn repositories(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        self.walk_repos(&self.repos, "", &mut out)?;
        out.sort();
        Ok(out)
    }

    fn walk_repos(&self, dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<()> {
        for entry in list_dir(dir)? {
            if entry.starts_with('_') {
                continue;
            }
            let path = dir.join(&entry);
            if !path.is_dir() {
                continue;
            }
            let name = if prefix.is_empty() { entry.clone() } else { format!("{prefix}/{entry}") };
            if path.join("_manifests").is_dir() && RepoName::parse(&name).is_ok() {
                out.push(name.clone());
            }
            self.walk_repos(&path, &name, out)?;
        }
        Ok(())
    }

    /// Every repository with any registry data (manifests, blob links or uploads).
    pub fn all_repositories(&self) -> Result<Vec<RepoName>> {
        let mut names = Vec::new();
        self.walk_all(&self.repos, "", &mut names)?;
        Ok(names)
    }

    fn walk_all(&self, dir: &Path, prefix: &str, out: &mut Vec<RepoName>) -> Result<()> {
        for entry in list_dir(dir)? {
            if entry.starts_with('_') || !dir.join(&entry).is_dir() {
                continue;
            }
            let name = if prefix.is_empty() { entry.clone() } else { format!("{prefix}/{entry}") };
            let path = dir.join(&entry);
            if ["_manifests", "_layers", "_uploads"].iter().any(|d| path.join(d).is_dir()) {
                if let Ok(n) = RepoName::parse(&name) {
                    out.push(n);
                }
            }
            self.walk_all(&path, &name, out)?;
        }
        Ok(())
    }

    // ---- uploads ----

    /// Starts an upload session: an empty file under the repository. Returns its id.
    pub fn create_upload(&self, name: &RepoName) -> Result<String> {
        let dir = self.uploads_dir(name);
        ensure_dir(&dir)?;
        loop {
            let id = new_uuid()?;
            let path = dir.join(&id);
            match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
                Ok(_) => return Ok(id),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(StorageError { op: "create", path, source: e }),
            }
        }
    }

    /// The file of an upload session, if `id` is valid and the session exists.
    pub fn upload_file(&self, name: &RepoName, id: &str) -> Option<PathBuf> {
        if !valid_upload_id(id) {
            return None;
        }
        let path = self.uploads_dir(name).join(id);
        path.is_file().then_some(path)
    }

    /// Removes an upload session; `false` if it did not exist.
    pub fn delete_upload(&self, name: &RepoName, id: &str) -> Result<bool> {
        if !valid_upload_id(id) {
            return Ok(false);
        }
        remove(&self.uploads_dir(name).join(id))
    }

    /// Upload sessions of the repository with their last modification time.
    pub fn uploads(&self, name: &RepoName) -> Result<Vec<(String, std::time::SystemTime)>> {
        let dir = self.uploads_dir(name);
        let mut out = Vec::new();
        for id in list_dir(&dir)? {
            if let Ok(m) = fs::metadata(dir.join(&id)) {
                out.push((id, m.modified().unwrap_or(std::time::UNIX_EPOCH)));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, Storage) {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open(dir.path()).unwrap();
        (dir, s)
    }

    #[test]
    fn upload_ids_are_uuids() {
        let (_d, s) = setup();
        let name = RepoName::parse("a/b").unwrap();
        let id = s.create_upload(&name).unwrap();
        assert!(valid_upload_id(&id), "{id}");
        assert_eq!(&id[14..15], "4");
        assert!(s.upload_file(&name, &id).is_some());
        for bad in ["", "../../x", "00000000-0000-0000-0000-00000000000G", "00000000_0000-0000-0000-000000000000"] {
            assert!(!valid_upload_id(bad), "{bad}");
            assert!(s.upload_file(&name, bad).is_none());
        }
        assert!(s.delete_upload(&name, &id).unwrap());
        assert!(!s.delete_upload(&name, &id).unwrap());
    }

    #[test]
    fn manifests_tags_and_referrers_round_trip() {
        let (_d, s) = setup();
        let name = RepoName::parse("x").unwrap();
        let body = b"{}";
        let d = Digest::sha256_of(body);
        let subject = Digest::sha256_of(b"subject");
        let desc = Descriptor {
            media_type: "m".into(),
            digest: d.clone(),
            size: 2,
            urls: vec![],
            annotations: None,
            platform: None,
            artifact_type: Some("a".into()),
        };
        let tag = Tag::parse("v1").unwrap();
        s.put_manifest(&name, &d, "m", body, Some(&tag), Some((&subject, &desc))).unwrap();
        assert_eq!(s.tag_digest(&name, &tag).unwrap(), Some(d.clone()));
        assert_eq!(s.revision(&name, &d).unwrap().as_deref(), Some("m"));
        assert_eq!(s.read_blob(&d).unwrap().as_deref(), Some(&body[..]));
        assert_eq!(s.referrers(&name, &subject).unwrap(), vec![desc]);
        assert_eq!(s.repositories().unwrap(), ["x"]);
        assert!(s.delete_manifest(&name, &d, Some(&subject)).unwrap());
        assert_eq!(s.tag_digest(&name, &tag).unwrap(), None, "tags go with the manifest");
        assert!(s.referrers(&name, &subject).unwrap().is_empty());
        assert!(!s.delete_manifest(&name, &d, None).unwrap());
    }

    #[test]
    fn a_corrupted_blob_is_an_error() {
        let (dir, s) = setup();
        let d = Digest::sha256_of(b"abc");
        s.put_blob_bytes(&d, b"abc").unwrap();
        let path = dir.path().join("blobs/sha256").join(d.hex());
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        fs::write(&path, b"abd").unwrap();
        assert!(s.read_blob(&d).is_err());
    }

    #[test]
    fn interrupted_blob_writes_are_removed() {
        let (dir, s) = setup();
        s.put_blob_bytes(&Digest::sha256_of(b"kept"), b"kept").unwrap();
        fs::write(dir.path().join("blobs/sha256/.tmp-1-2"), b"half").unwrap();
        assert_eq!(s.all_blobs().unwrap().len(), 1, "temp files are not blobs");
        assert_eq!(s.remove_temp_files().unwrap(), 1);
        assert_eq!(s.remove_temp_files().unwrap(), 0);
        assert_eq!(s.all_blobs().unwrap().len(), 1);
    }

    #[test]
    fn the_root_lock_is_exclusive() {
        let (_d, s) = setup();
        let held = s.lock().unwrap();
        assert!(s.lock().is_err());
        drop(held);
        s.lock().unwrap();
    }

    #[test]
    fn nested_repositories_are_listed() {
        let (_d, s) = setup();
        for n in ["a", "a/b", "c/d/e"] {
            let name = RepoName::parse(n).unwrap();
            let body = n.as_bytes();
            s.put_manifest(&name, &Digest::sha256_of(body), "m", body, None, None).unwrap();
        }
        s.create_upload(&RepoName::parse("u").unwrap()).unwrap();
        assert_eq!(s.repositories().unwrap(), ["a", "a/b", "c/d/e"]);
        let all: Vec<String> = s.all_repositories().unwrap().iter().map(|n| n.to_string()).collect();
        assert_eq!(all, ["a", "a/b", "c/d/e", "u"]);
    }
}
