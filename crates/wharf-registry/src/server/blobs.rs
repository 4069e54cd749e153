//! `HEAD/GET/DELETE /v2/<name>/blobs/<digest>`: a blob of the repository (a linked layer or
//! config, or a manifest of the repository), streamed from disk, with single-range `Range`
//! requests (RFC 9110: `bytes=a-b`, `bytes=a-`, `bytes=-n`; 206 with `Content-Range`, 416 with
//! `Content-Range: bytes */size` when unsatisfiable; other forms get the whole blob).

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use wharf_types::Digest;

use super::error::{ErrorCode, RegistryError};
use super::{blocking, empty_response, Registry, Req, CONTENT_DIGEST};
use crate::name::RepoName;

/// Parses a digest from a path or argument: `DIGEST_INVALID` if it does not.
pub(crate) fn parse_digest(s: &str) -> Result<Digest, RegistryError> {
    s.parse::<Digest>().map_err(|e| {
        RegistryError::new(ErrorCode::DigestInvalid).message(e.to_string()).detail(serde_json::json!({ "digest": s }))
    })
}

pub(crate) fn blob_unknown(d: &Digest) -> RegistryError {
    RegistryError::new(ErrorCode::BlobUnknown).detail(serde_json::json!({ "digest": d }))
}

/// What a `Range` header asks of a blob of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RangeAsk {
    /// No usable range: the whole blob.
    Whole,
    /// Bytes `start..=end`.
    Part(u64, u64),
    /// Nothing of the blob can be served.
    Unsatisfiable,
}

pub(crate) fn parse_range(value: Option<&str>, size: u64) -> RangeAsk {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else { return RangeAsk::Whole };
    if spec.contains(',') {
        return RangeAsk::Whole; // multiple ranges: serve the whole blob, as RFC 9110 allows
    }
    let Some((a, b)) = spec.trim().split_once('-') else { return RangeAsk::Whole };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        // Suffix: the last `b` bytes.
        let Ok(n) = b.parse::<u64>() else { return RangeAsk::Whole };
        if n == 0 || size == 0 {
            return RangeAsk::Unsatisfiable;
        }
        return RangeAsk::Part(size.saturating_sub(n), size - 1);
    }
    let Ok(start) = a.parse::<u64>() else { return RangeAsk::Whole };
    let end = if b.is_empty() {
        size.saturating_sub(1)
    } else {
        match b.parse::<u64>() {
            Ok(e) if e >= start => e.min(size.saturating_sub(1)),
            _ => return RangeAsk::Whole,
        }
    };
    if start >= size {
        return RangeAsk::Unsatisfiable;
    }
    RangeAsk::Part(start, end)
}

/// `HEAD`/`GET`.
pub(crate) async fn get(reg: &Registry, req: &Req<'_>, name: RepoName, d: &str) -> Result<Response, RegistryError> {
    let d = parse_digest(d)?;
    let (n, dd) = (name.clone(), d.clone());
    let size = blocking(reg, move |s| s.repo_blob_size(&n, &dd)).await?.ok_or_else(|| blob_unknown(&d))?;
    let (status, start, len) = match parse_range(req.header(header::RANGE), size) {
        RangeAsk::Whole => (StatusCode::OK, 0, size),
        RangeAsk::Part(a, b) => (StatusCode::PARTIAL_CONTENT, a, b - a + 1),
        RangeAsk::Unsatisfiable => {
            let mut r = empty_response(StatusCode::RANGE_NOT_SATISFIABLE, &[]);
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(r);
        }
    };
    let body = if *req.method == Method::HEAD {
        Body::empty()
    } else {
        let path = reg.storage().blob_file(&d);
        let mut file = tokio::fs::File::open(&path).await.map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => blob_unknown(&d),
            _ => RegistryError::internal(format!("open {}: {e}", path.display())),
        })?;
        if start > 0 {
            file.seek(std::io::SeekFrom::Start(start))
                .await
                .map_err(|e| RegistryError::internal(format!("seek {}: {e}", path.display())))?;
        }
        Body::from_stream(tokio_util::io::ReaderStream::with_capacity(file.take(len), 64 << 10))
    };
    let mut resp = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, len)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(CONTENT_DIGEST, d.as_str())
        .header(header::ETAG, format!("\"{d}\""))
        .header(header::CACHE_CONTROL, "max-age=31536000");
    if status == StatusCode::PARTIAL_CONTENT {
        resp = resp.header(header::CONTENT_RANGE, format!("bytes {start}-{}/{size}", start + len - 1));
    }
    Ok(resp.body(body).unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()))
}

/// `DELETE`: the blob leaves the repository (its content stays until garbage collection).
pub(crate) async fn delete(reg: &Registry, name: RepoName, d: &str) -> Result<Response, RegistryError> {
    let d = parse_digest(d)?;
    let dd = d.clone();
    if !blocking(reg, move |s| s.unlink_blob(&name, &dd)).await? {
        return Err(blob_unknown(&d));
    }
    Ok(empty_response(StatusCode::ACCEPTED, &[(CONTENT_DIGEST, d.to_string())]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10), RangeAsk::Whole);
        assert_eq!(parse_range(Some("bytes=0-4"), 10), RangeAsk::Part(0, 4));
        assert_eq!(parse_range(Some("bytes=5-"), 10), RangeAsk::Part(5, 9));
        assert_eq!(parse_range(Some("bytes=5-100"), 10), RangeAsk::Part(5, 9));
        assert_eq!(parse_range(Some("bytes=-3"), 10), RangeAsk::Part(7, 9));
        assert_eq!(parse_range(Some("bytes=-30"), 10), RangeAsk::Part(0, 9));
        assert_eq!(parse_range(Some("bytes=10-"), 10), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 10), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-"), 0), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=4-2"), 10), RangeAsk::Whole);
        assert_eq!(parse_range(Some("bytes=0-1,3-4"), 10), RangeAsk::Whole);
        assert_eq!(parse_range(Some("items=0-1"), 10), RangeAsk::Whole);
        assert_eq!(parse_range(Some("bytes=x-1"), 10), RangeAsk::Whole);
    }
}
