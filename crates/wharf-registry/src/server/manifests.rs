//! `HEAD/GET/PUT/DELETE /v2/<name>/manifests/<reference>`.
//!
//! PUT stores the client's bytes as they are, after checking the body is a manifest
//! ([`crate::manifest::parse`]), that a digest reference matches it (`DIGEST_INVALID`), and that
//! every blob it names (config, layers, an index's manifests) is in the repository
//! (`MANIFEST_BLOB_UNKNOWN`); a `subject` is indexed for the referrers API and answered with
//! `OCI-Subject`. GET serves the stored media type when the client's `Accept` allows it; a
//! client that accepts image manifests but not indexes gets, for a tag, the index's entry for
//! this host's `linux/<arch>` (distribution's rule for old clients); otherwise
//! `MANIFEST_UNKNOWN`. DELETE of a tag removes the tag, of a digest the manifest and every tag
//! on it.

use axum::body::Body;
use axum::response::Response;
use futures_util::StreamExt;
use http::{header, StatusCode};
use wharf_types::Digest;

use super::error::{ErrorCode, RegistryError};
use super::{blocking, bytes_response, empty_response, Registry, Req, CONTENT_DIGEST, OCI_SUBJECT};
use crate::manifest::{self, essence, Kind, MANIFEST_MAX};
use crate::name::{Reference, RepoName};

fn manifest_unknown(reference: &Reference) -> RegistryError {
    let detail = match reference {
        Reference::Tag(t) => serde_json::json!({ "tag": t.as_str() }),
        Reference::Digest(d) => serde_json::json!({ "digest": d }),
    };
    RegistryError::new(ErrorCode::ManifestUnknown).detail(detail)
}

/// The media types of every `Accept` header, parameters dropped.
fn accepted(req: &Req<'_>) -> Vec<String> {
    req.headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(essence)
        .filter(|t| !t.is_empty())
        .collect()
}

/// Whether a client accepting `accept` takes a manifest of `media_type`. No `Accept`, a
/// wildcard or plain `application/json` takes anything.
fn acceptable(accept: &[String], media_type: &str) -> bool {
    accept.is_empty()
        || accept.iter().any(|a| a == media_type || a == "*/*" || a == "application/*" || a == "application/json")
}

/// The host's architecture as Go names it.
pub(crate) fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "arm" => "arm",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

/// Resolves a reference to a manifest digest of the repository.
async fn resolve(reg: &Registry, name: &RepoName, reference: &Reference) -> Result<Digest, RegistryError> {
    let (n, r) = (name.clone(), reference.clone());
    let found = blocking(reg, move |s| {
        let d = match &r {
            Reference::Tag(t) => s.tag_digest(&n, t)?,
            Reference::Digest(d) => Some(d.clone()),
        };
        Ok(match d {
            Some(d) if s.revision(&n, &d)?.is_some() => Some(d),
            _ => None,
        })
    })
    .await?;
    found.ok_or_else(|| manifest_unknown(reference))
}

/// Media type and bytes of a manifest revision.
async fn load(reg: &Registry, name: &RepoName, d: &Digest) -> Result<Option<(String, Vec<u8>)>, RegistryError> {
    let (n, d) = (name.clone(), d.clone());
    blocking(reg, move |s| {
        let Some(media_type) = s.revision(&n, &d)? else { return Ok(None) };
        Ok(s.read_blob(&d)?.map(|body| (media_type, body)))
    })
    .await
}

/// `HEAD`/`GET`.
pub(crate) async fn get(
    reg: &Registry,
    req: &Req<'_>,
    name: RepoName,
    reference: &str,
) -> Result<Response, RegistryError> {
    let reference = Reference::parse(reference)?;
    let mut digest = resolve(reg, &name, &reference).await?;
    let (mut media_type, mut body) = load(reg, &name, &digest).await?.ok_or_else(|| manifest_unknown(&reference))?;
    let accept = accepted(req);
    if !acceptable(&accept, &media_type) {
        let index = manifest::parse(&body, Some(&media_type)).ok().filter(|m| m.kind == Kind::Index);
        let pick = match (&reference, index) {
            (Reference::Tag(_), Some(index)) => index
                .manifests
                .iter()
                .find(|m| {
                    m.platform.as_ref().is_some_and(|p| p.os == "linux" && p.architecture == go_arch())
                        && acceptable(&accept, &m.media_type)
                })
                .map(|m| m.digest.clone()),
            _ => None,
        };
        let found = match pick {
            Some(d) => load(reg, &name, &d).await?.map(|m| (d, m)),
            None => None,
        };
        match found {
            Some((d, (t, b))) if acceptable(&accept, &t) => {
                digest = d;
                media_type = t;
                body = b;
            }
            _ => {
                return Err(manifest_unknown(&reference)
                    .message(format!("manifest of type {media_type} found, but the Accept header does not allow it")))
            }
        }
    }
    let headers = [(CONTENT_DIGEST, digest.to_string()), (header::ETAG, format!("\"{digest}\""))];
    Ok(bytes_response(StatusCode::OK, &media_type, body, req.method, &headers))
}

/// Reads a body of at most `max` bytes.
async fn read_limited(req: &Req<'_>, body: Body, max: usize) -> Result<Vec<u8>, RegistryError> {
    let too_large =
        || RegistryError::new(ErrorCode::ManifestTooLarge).message(format!("manifest is larger than {max} bytes"));
    if req.header(header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok()).is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            RegistryError::new(ErrorCode::ManifestInvalid).message(format!("reading the manifest: {e}"))
        })?;
        if out.len() + chunk.len() > max {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// `PUT`.
pub(crate) async fn put(
    reg: &Registry,
    req: &Req<'_>,
    name: RepoName,
    reference: &str,
    body: Body,
) -> Result<Response, RegistryError> {
    let reference = Reference::parse(reference)?;
    let body = read_limited(req, body, MANIFEST_MAX).await?;
    let parsed = manifest::parse(&body, req.header(header::CONTENT_TYPE))?;
    let digest = match &reference {
        Reference::Digest(d) => {
            let actual = Digest::of(d.algorithm(), &body);
            if actual != *d {
                return Err(RegistryError::new(ErrorCode::DigestInvalid)
                    .message(format!("manifest digest {actual} does not match the reference {d}"))
                    .detail(serde_json::json!({ "digest": d })));
            }
            actual
        }
        Reference::Tag(_) => Digest::sha256_of(&body),
    };
    let _guard = reg.inner.manifests.lock().await;
    let wanted: Vec<Digest> =
        parsed.required_blobs().into_iter().chain(&parsed.manifests).map(|d| d.digest.clone()).collect();
    let n = name.clone();
    let missing: Vec<Digest> = blocking(reg, move |s| {
        let mut missing = Vec::new();
        for d in wanted {
            if s.repo_blob_size(&n, &d)?.is_none() {
                missing.push(d);
            }
        }
        Ok(missing)
    })
    .await?;
    if let Some(first) = missing.first() {
        let list: Vec<&str> = missing.iter().map(Digest::as_str).collect();
        return Err(RegistryError::new(ErrorCode::ManifestBlobUnknown)
            .message(format!("manifest references blobs unknown to the repository: {}", list.join(", ")))
            .detail(serde_json::json!({ "digest": first })));
    }
    let referrer = parsed
        .subject
        .as_ref()
        .map(|s| (s.digest.clone(), parsed.referrer_descriptor(digest.clone(), body.len() as u64)));
    let tag = match &reference {
        Reference::Tag(t) => Some(t.clone()),
        Reference::Digest(_) => None,
    };
    let (n, d, media_type) = (name.clone(), digest.clone(), parsed.media_type);
    blocking(reg, move |s| {
        s.put_manifest(&n, &d, media_type, &body, tag.as_ref(), referrer.as_ref().map(|(sub, desc)| (sub, desc)))
    })
    .await?;
    let mut headers =
        vec![(header::LOCATION, format!("/v2/{name}/manifests/{digest}")), (CONTENT_DIGEST, digest.to_string())];
    if let Some(subject) = &parsed.subject {
        headers.push((OCI_SUBJECT, subject.digest.to_string()));
    }
    Ok(empty_response(StatusCode::CREATED, &headers))
}

/// `DELETE`.
pub(crate) async fn delete(reg: &Registry, name: RepoName, reference: &str) -> Result<Response, RegistryError> {
    let reference = Reference::parse(reference)?;
    let _guard = reg.inner.manifests.lock().await;
    let n = name.clone();
    let deleted = match &reference {
        Reference::Tag(t) => {
            let t = t.clone();
            blocking(reg, move |s| s.delete_tag(&n, &t)).await?
        }
        Reference::Digest(d) => {
            let subject = match load(reg, &name, d).await? {
                Some((media_type, body)) => {
                    manifest::parse(&body, Some(&media_type)).ok().and_then(|m| m.subject).map(|s| s.digest)
                }
                None => None,
            };
            let d = d.clone();
            blocking(reg, move |s| s.delete_manifest(&n, &d, subject.as_ref())).await?
        }
    };
    if !deleted {
        return Err(manifest_unknown(&reference));
    }
    Ok(empty_response(StatusCode::ACCEPTED, &[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_rules() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(acceptable(&[], manifest::OCI_MANIFEST));
        assert!(acceptable(&a(&["*/*"]), manifest::OCI_MANIFEST));
        assert!(acceptable(&a(&[manifest::OCI_MANIFEST]), manifest::OCI_MANIFEST));
        assert!(!acceptable(&a(&[manifest::DOCKER_MANIFEST, manifest::DOCKER_LIST]), manifest::OCI_MANIFEST));
    }
}
