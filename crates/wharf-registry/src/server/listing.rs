//! Content discovery: `GET /v2/<name>/tags/list` and `GET /v2/_catalog` (with `n`/`last`
//! pagination and an RFC 5988 `Link: <…>; rel="next"` when more remain), and
//! `GET /v2/<name>/referrers/<digest>` (an OCI index of the manifests whose `subject` is the
//! digest, optionally filtered by `artifactType`).
//!
//! Tags are in the spec's lexical order, case-insensitive (ties in byte order); repositories
//! in byte order (they are lower-case). `last` is exclusive in that order.

use std::cmp::Ordering;

use axum::response::Response;
use http::{header, StatusCode};

use super::blobs::parse_digest;
use super::error::{ErrorCode, RegistryError};
use super::{blocking, bytes_response, json_response, Registry, Req, OCI_FILTERS_APPLIED};
use crate::manifest::OCI_INDEX;
use crate::name::RepoName;

/// The order of tags: case-insensitive, then by bytes.
fn tag_order(a: &str, b: &str) -> Ordering {
    a.to_ascii_lowercase().cmp(&b.to_ascii_lowercase()).then_with(|| a.cmp(b))
}

/// `n` as given: absent is "all", a non-number or negative is `PAGINATION_NUMBER_INVALID`.
fn page_size(req: &Req<'_>) -> Result<Option<usize>, RegistryError> {
    match req.arg("n") {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse::<usize>()
            .map(Some)
            .map_err(|_| RegistryError::new(ErrorCode::PaginationNumberInvalid).detail(serde_json::json!({ "n": v }))),
    }
}

/// One page of `sorted` items after `last`, and the `Link` to the next page if any remain.
fn paginate(
    sorted: Vec<String>,
    last: Option<&str>,
    n: Option<usize>,
    order: fn(&str, &str) -> Ordering,
    base: &str,
) -> (Vec<String>, Option<String>) {
    let mut items: Vec<String> = match last {
        Some(l) if !l.is_empty() => sorted.into_iter().filter(|t| order(t, l) == Ordering::Greater).collect(),
        _ => sorted,
    };
    let Some(n) = n else { return (items, None) };
    if items.len() <= n {
        return (items, None);
    }
    items.truncate(n);
    let link = items.last().map(|l| format!("<{base}?n={n}&last={l}>; rel=\"next\""));
    (items, link)
}

/// `GET /v2/<name>/tags/list`.
pub(crate) async fn tags(reg: &Registry, req: &Req<'_>, name: RepoName) -> Result<Response, RegistryError> {
    let n = page_size(req)?;
    let nn = name.clone();
    let tags = blocking(reg, move |s| {
        if !s.repo_exists(&nn) {
            return Ok(None);
        }
        Ok(Some(s.tags(&nn)?.into_iter().map(|(t, _)| t).collect::<Vec<_>>()))
    })
    .await?;
    let Some(mut tags) = tags else {
        return Err(RegistryError::new(ErrorCode::NameUnknown).detail(serde_json::json!({ "name": name.as_str() })));
    };
    tags.sort_by(|a, b| tag_order(a, b));
    let (page, link) = paginate(tags, req.arg("last"), n, tag_order, &format!("/v2/{name}/tags/list"));
    let mut resp =
        json_response(StatusCode::OK, &serde_json::json!({ "name": name.as_str(), "tags": page }), req.method);
    if let Some(link) = link.and_then(|l| http::HeaderValue::from_str(&l).ok()) {
        resp.headers_mut().insert(header::LINK, link);
    }
    Ok(resp)
}

/// `GET /v2/_catalog`.
pub(crate) async fn catalog(reg: &Registry, req: &Req<'_>) -> Result<Response, RegistryError> {
    let n = page_size(req)?;
    let repos = blocking(reg, |s| s.repositories()).await?;
    let (page, link) = paginate(repos, req.arg("last"), n, |a, b| a.cmp(b), "/v2/_catalog");
    let mut resp = json_response(StatusCode::OK, &serde_json::json!({ "repositories": page }), req.method);
    if let Some(link) = link.and_then(|l| http::HeaderValue::from_str(&l).ok()) {
        resp.headers_mut().insert(header::LINK, link);
    }
    Ok(resp)
}

/// `GET /v2/<name>/referrers/<digest>`.
pub(crate) async fn referrers(
    reg: &Registry,
    req: &Req<'_>,
    name: RepoName,
    d: &str,
) -> Result<Response, RegistryError> {
    let subject = parse_digest(d)?;
    let mut list = blocking(reg, move |s| s.referrers(&name, &subject)).await?;
    let filter = req.arg("artifactType").filter(|f| !f.is_empty());
    let mut headers = Vec::new();
    if let Some(f) = filter {
        list.retain(|desc| desc.artifact_type.as_deref() == Some(f));
        headers.push((OCI_FILTERS_APPLIED, "artifactType".to_string()));
    }
    list.sort_by(|a, b| a.digest.cmp(&b.digest));
    let index = serde_json::json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": list });
    let body = serde_json::to_vec(&index).map_err(RegistryError::internal)?;
    Ok(bytes_response(StatusCode::OK, OCI_INDEX, body, req.method, &headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn pages_and_links() {
        let all = v(&["a", "b", "c", "d"]);
        let (p, l) = paginate(all.clone(), None, Some(2), tag_order, "/x");
        assert_eq!((p, l.as_deref()), (v(&["a", "b"]), Some("</x?n=2&last=b>; rel=\"next\"")));
        let (p, l) = paginate(all.clone(), Some("b"), Some(2), tag_order, "/x");
        assert_eq!((p, l), (v(&["c", "d"]), None));
        let (p, l) = paginate(all.clone(), Some("b"), None, tag_order, "/x");
        assert_eq!((p, l), (v(&["c", "d"]), None));
        let (p, l) = paginate(all.clone(), None, Some(0), tag_order, "/x");
        assert_eq!((p, l), (v(&[]), None), "n=0 is an empty list without a Link");
        let (p, _) = paginate(all, Some("zz"), Some(5), tag_order, "/x");
        assert!(p.is_empty());
    }

    #[test]
    fn tags_sort_case_insensitively() {
        let mut t = v(&["b", "A", "a", "B", "1"]);
        t.sort_by(|a, b| tag_order(a, b));
        assert_eq!(t, v(&["1", "A", "a", "B", "b"]));
    }
}
