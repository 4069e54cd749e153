//! Blob uploads: `POST /v2/<name>/blobs/uploads/` (a session; `?digest=` monolithic;
//! `?mount=&from=` cross-repository mount), `PATCH` (a chunk, in order: `Content-Range` must
//! start where the upload ends, else 416), `PUT ?digest=` (the optional last chunk, then fsync,
//! verify, commit), `GET` (status) and `DELETE` (cancel) on `/v2/<name>/blobs/uploads/<id>`.
//!
//! A session's bytes live in `<repo>/_uploads/<id>`, so it survives a registry restart. Its
//! SHA-256 state is kept in memory while the registry runs, updated as chunks stream in; when
//! it is missing (after a restart) or another algorithm is claimed, the file is hashed again.
//! A chunk whose body breaks off is cut off again: the session stays at its previous end.

use axum::body::Body;
use axum::response::Response;
use futures_util::StreamExt;
use http::{header, StatusCode};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use wharf_types::{Algorithm, Digest, Digester};

use super::blobs::parse_digest;
use super::error::{ErrorCode, RegistryError};
use super::storage::{hash_file, hash_file_state};
use super::{blocking, empty_response, Registry, Req, CONTENT_DIGEST, UPLOAD_UUID};
use crate::name::RepoName;

/// The hashing state of an upload session: SHA-256 of its first `hashed` bytes.
pub(crate) struct Session {
    hashed: u64,
    digester: Digester,
}

impl Default for Session {
    fn default() -> Self {
        Session { hashed: 0, digester: Digester::new(Algorithm::Sha256) }
    }
}

/// The state of session `id` of `name` (made on first use).
fn session(reg: &Registry, name: &RepoName, id: &str) -> Arc<tokio::sync::Mutex<Session>> {
    let mut map = reg.inner.uploads.lock().unwrap_or_else(|p| p.into_inner());
    map.entry(format!("{name}/{id}")).or_default().clone()
}

fn forget(reg: &Registry, name: &RepoName, id: &str) {
    reg.inner.uploads.lock().unwrap_or_else(|p| p.into_inner()).remove(&format!("{name}/{id}"));
}

/// Locks the session's state, then finds its file (in that order: a concurrent `PUT` may
/// commit the file away). A session without a file leaves no state behind.
async fn open_session(
    reg: &Registry,
    name: &RepoName,
    id: &str,
) -> Result<(tokio::sync::OwnedMutexGuard<Session>, PathBuf), RegistryError> {
    if !super::storage::valid_upload_id(id) {
        return Err(unknown(id));
    }
    let st = session(reg, name, id).lock_owned().await;
    match upload_path(reg, name, id) {
        Ok(p) => Ok((st, p)),
        Err(e) => {
            drop(st);
            forget(reg, name, id);
            Err(e)
        }
    }
}

fn location(name: &RepoName, id: &str) -> String {
    format!("/v2/{name}/blobs/uploads/{id}")
}

/// `Range: 0-<last byte>` as distribution writes it (`0-0` for an empty upload).
fn range_value(size: u64) -> String {
    format!("0-{}", size.saturating_sub(1))
}

fn unknown(id: &str) -> RegistryError {
    RegistryError::new(ErrorCode::BlobUploadUnknown).detail(serde_json::json!({ "uuid": id }))
}

/// A `Content-Range` of a chunk: `<start>-<end>` (the spec's form), also with a `bytes ` or
/// `bytes=` prefix and a `/<total>` suffix as some clients send it.
fn parse_content_range(v: &str) -> Option<(u64, u64)> {
    let v = v.trim();
    let v = v.strip_prefix("bytes=").or_else(|| v.strip_prefix("bytes ")).unwrap_or(v);
    let v = v.split('/').next()?;
    let (a, b) = v.split_once('-')?;
    let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a <= b).then_some((a, b))
}

async fn file_size(path: &Path) -> Result<u64, RegistryError> {
    tokio::fs::metadata(path)
        .await
        .map(|m| m.len())
        .map_err(|e| RegistryError::internal(format!("stat {}: {e}", path.display())))
}

fn upload_path(reg: &Registry, name: &RepoName, id: &str) -> Result<PathBuf, RegistryError> {
    reg.storage().upload_file(name, id).ok_or_else(|| unknown(id))
}

/// Headers of a session's state.
fn session_headers(name: &RepoName, id: &str, size: u64) -> Vec<(header::HeaderName, String)> {
    vec![(header::LOCATION, location(name, id)), (header::RANGE, range_value(size)), (UPLOAD_UUID, id.to_string())]
}

/// Checks a chunk's `Content-Range` against the session's end: 416 with the current range if
/// it does not start there.
fn check_range(req: &Req<'_>, name: &RepoName, id: &str, size: u64) -> Result<Option<u64>, RegistryError> {
    let Some(v) = req.header(header::CONTENT_RANGE) else { return Ok(None) };
    let Some((start, end)) = parse_content_range(v) else {
        return Err(RegistryError::new(ErrorCode::RangeInvalid).message(format!("invalid Content-Range {v:?}")));
    };
    if start != size {
        let mut e = RegistryError::new(ErrorCode::RangeInvalid)
            .message(format!("chunk starts at {start}, the upload has {size} bytes"));
        for (k, v) in session_headers(name, id, size) {
            if let Ok(v) = http::HeaderValue::from_str(&v) {
                e = e.header(k, v);
            }
        }
        return Err(e);
    }
    Ok(Some(end - start + 1))
}

/// Appends `body` to the session's file while hashing it. On a broken body the file is cut
/// back to `size` and the state restored. Returns the bytes written.
async fn append(path: &Path, st: &mut Session, size: u64, body: Body) -> Result<u64, RegistryError> {
    if st.hashed != size {
        let p = path.to_path_buf();
        let (d, n) = tokio::task::spawn_blocking(move || hash_file_state(&p, Algorithm::Sha256))
            .await
            .map_err(RegistryError::internal)?
            .map_err(RegistryError::internal)?;
        st.digester = d;
        st.hashed = n;
    }
    let saved = st.digester.clone();
    let mut file = tokio::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .await
        .map_err(|e| RegistryError::internal(format!("open {}: {e}", path.display())))?;
    let mut stream = body.into_data_stream();
    let mut written = 0u64;
    let mut failure = None;
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                failure =
                    Some(RegistryError::new(ErrorCode::BlobUploadInvalid).message(format!("reading the upload: {e}")));
                break;
            }
        };
        if let Err(e) = file.write_all(&chunk).await {
            failure = Some(RegistryError::internal(format!("write {}: {e}", path.display())));
            break;
        }
        st.digester.update(&chunk);
        written += chunk.len() as u64;
    }
    if failure.is_none() {
        if let Err(e) = file.flush().await {
            failure = Some(RegistryError::internal(format!("write {}: {e}", path.display())));
        }
    }
    if let Some(e) = failure {
        let _ = file.set_len(size).await;
        st.digester = saved;
        st.hashed = size;
        return Err(e);
    }
    st.hashed = size + written;
    Ok(written)
}

/// Appends a chunk (checking its `Content-Range` and length) and returns the new size.
async fn append_chunk(
    req: &Req<'_>,
    name: &RepoName,
    id: &str,
    path: &Path,
    st: &mut Session,
    body: Body,
) -> Result<u64, RegistryError> {
    let size = file_size(path).await?;
    let expected = check_range(req, name, id, size)?;
    let written = append(path, st, size, body).await?;
    if let Some(n) = expected {
        if n != written {
            truncate(path, size).await;
            st.hashed = u64::MAX; // rehash on the next request
            return Err(RegistryError::new(ErrorCode::SizeInvalid)
                .message(format!("Content-Range announced {n} bytes, the body had {written}")));
        }
    }
    Ok(size + written)
}

async fn truncate(path: &Path, size: u64) {
    if let Ok(f) = tokio::fs::OpenOptions::new().write(true).open(path).await {
        let _ = f.set_len(size).await;
    }
}

/// Verifies and commits the session's file as `claimed`; the session is gone afterwards,
/// whether it matched or not.
async fn commit(
    reg: &Registry,
    name: &RepoName,
    id: &str,
    path: &Path,
    st: &Session,
    size: u64,
    claimed: &Digest,
) -> Result<Response, RegistryError> {
    let p = path.to_path_buf();
    let incremental = (claimed.algorithm() == Algorithm::Sha256 && st.hashed == size).then(|| st.digester.clone());
    let alg = claimed.algorithm();
    let actual = tokio::task::spawn_blocking(move || -> Result<Digest, super::StorageError> {
        std::fs::File::open(&p).and_then(|f| f.sync_all()).map_err(|source| super::StorageError {
            op: "fsync",
            path: p.clone(),
            source,
        })?;
        match incremental {
            Some(d) => Ok(d.finish()),
            None => hash_file(&p, alg).map(|(d, _)| d),
        }
    })
    .await
    .map_err(RegistryError::internal)?
    .map_err(RegistryError::internal)?;
    forget(reg, name, id);
    if actual != *claimed {
        let (n, i) = (name.clone(), id.to_string());
        blocking(reg, move |s| s.delete_upload(&n, &i)).await?;
        return Err(RegistryError::new(ErrorCode::DigestInvalid)
            .message(format!("digest {claimed} does not match the uploaded content ({actual})"))
            .detail(serde_json::json!({ "digest": claimed })));
    }
    let (n, p, d) = (name.clone(), path.to_path_buf(), claimed.clone());
    blocking(reg, move |s| {
        s.commit_blob(&p, &d)?;
        s.link_blob(&n, &d)
    })
    .await?;
    Ok(blob_created(name, claimed))
}

fn blob_created(name: &RepoName, d: &Digest) -> Response {
    empty_response(
        StatusCode::CREATED,
        &[(header::LOCATION, format!("/v2/{name}/blobs/{d}")), (CONTENT_DIGEST, d.to_string())],
    )
}

/// `POST /v2/<name>/blobs/uploads/`.
pub(crate) async fn start(
    reg: &Registry,
    req: &Req<'_>,
    name: RepoName,
    body: Body,
) -> Result<Response, RegistryError> {
    if let Some(mount) = req.arg("mount") {
        let d = parse_digest(mount)?;
        if let Some(from) = req.arg("from").and_then(|f| RepoName::parse(f).ok()) {
            let (n, dd) = (name.clone(), d.clone());
            let mounted = blocking(reg, move |s| {
                if s.repo_blob_size(&from, &dd)?.is_none() {
                    return Ok(false);
                }
                s.link_blob(&n, &dd)?;
                Ok(true)
            })
            .await?;
            if mounted {
                return Ok(blob_created(&name, &d));
            }
        }
        // Not mountable: an ordinary session, as the spec asks.
    }
    let claimed = req.arg("digest").map(parse_digest).transpose()?;
    let n = name.clone();
    let id = blocking(reg, move |s| s.create_upload(&n)).await?;
    let Some(claimed) = claimed else {
        return Ok(empty_response(StatusCode::ACCEPTED, &session_headers(&name, &id, 0)));
    };
    // Monolithic: the body is the whole blob.
    let (mut st, path) = open_session(reg, &name, &id).await?;
    let result = match append(&path, &mut st, 0, body).await {
        Ok(size) => commit(reg, &name, &id, &path, &st, size, &claimed).await,
        Err(e) => Err(e),
    };
    drop(st);
    if result.is_err() {
        forget(reg, &name, &id);
        let (n, i) = (name.clone(), id.clone());
        let _ = blocking(reg, move |s| s.delete_upload(&n, &i)).await;
    }
    result
}

/// `PATCH /v2/<name>/blobs/uploads/<id>`.
pub(crate) async fn patch(
    reg: &Registry,
    req: &Req<'_>,
    name: RepoName,
    id: &str,
    body: Body,
) -> Result<Response, RegistryError> {
    let (mut st, path) = open_session(reg, &name, id).await?;
    let size = append_chunk(req, &name, id, &path, &mut st, body).await?;
    Ok(empty_response(StatusCode::ACCEPTED, &session_headers(&name, id, size)))
}

/// `PUT /v2/<name>/blobs/uploads/<id>?digest=`.
pub(crate) async fn finish(
    reg: &Registry,
    req: &Req<'_>,
    name: RepoName,
    id: &str,
    body: Body,
) -> Result<Response, RegistryError> {
    let claimed = match req.arg("digest") {
        Some(d) => parse_digest(d)?,
        None => return Err(RegistryError::new(ErrorCode::DigestInvalid).message("digest missing")),
    };
    let (mut st, path) = open_session(reg, &name, id).await?;
    let size = append_chunk(req, &name, id, &path, &mut st, body).await?;
    commit(reg, &name, id, &path, &st, size, &claimed).await
}

/// `GET /v2/<name>/blobs/uploads/<id>`.
pub(crate) async fn status(reg: &Registry, name: RepoName, id: &str) -> Result<Response, RegistryError> {
    let path = upload_path(reg, &name, id)?;
    let size = file_size(&path).await?;
    Ok(empty_response(StatusCode::NO_CONTENT, &session_headers(&name, id, size)))
}

/// `DELETE /v2/<name>/blobs/uploads/<id>`.
pub(crate) async fn cancel(reg: &Registry, name: RepoName, id: &str) -> Result<Response, RegistryError> {
    let (_st, _) = open_session(reg, &name, id).await?;
    let (n, i) = (name.clone(), id.to_string());
    let removed = blocking(reg, move |s| s.delete_upload(&n, &i)).await?;
    forget(reg, &name, id);
    if !removed {
        return Err(unknown(id));
    }
    Ok(empty_response(StatusCode::NO_CONTENT, &[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        assert_eq!(parse_content_range("0-9"), Some((0, 9)));
        assert_eq!(parse_content_range("bytes 10-19/*"), Some((10, 19)));
        assert_eq!(parse_content_range("bytes=10-19"), Some((10, 19)));
        assert_eq!(parse_content_range("9-0"), None);
        assert_eq!(parse_content_range("x-1"), None);
        assert_eq!(parse_content_range("5"), None);
    }

    #[test]
    fn ranges_as_distribution_writes_them() {
        assert_eq!(range_value(0), "0-0");
        assert_eq!(range_value(1), "0-0");
        assert_eq!(range_value(10), "0-9");
    }
}
