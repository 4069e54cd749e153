//! Which endpoint a `/v2/…` path names. Repository names contain `/`, which axum's router
//! cannot match before a fixed suffix, so the path is read from its end: the last one to three
//! segments decide the endpoint (`…/blobs/uploads/<id>`, `…/blobs/<digest>`,
//! `…/manifests/<reference>`, `…/tags/list`, `…/referrers/<digest>`) and the rest is the name,
//! validated here. References, digests and upload ids are validated by the handlers.
//!
//! [`parse`] never panics on any input (fuzz target `registry_manifest` also feeds it).

use crate::name::{NameError, RepoName};

/// An endpoint of the distribution API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/v2/`
    Base,
    /// `/v2/_catalog`
    Catalog,
    /// `/v2/<name>/tags/list`
    Tags(RepoName),
    /// `/v2/<name>/manifests/<reference>`
    Manifest(RepoName, String),
    /// `/v2/<name>/blobs/<digest>`
    Blob(RepoName, String),
    /// `/v2/<name>/blobs/uploads/`
    UploadStart(RepoName),
    /// `/v2/<name>/blobs/uploads/<id>`
    Upload(RepoName, String),
    /// `/v2/<name>/referrers/<digest>`
    Referrers(RepoName, String),
}

/// Decodes `%XX` escapes of a path (clients may escape the `:` of a digest).
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The endpoint of a request path (starting with `/v2`): `Ok(None)` for a path that names no
/// endpoint (404), `Err` for an endpoint whose repository name is invalid (`NAME_INVALID`).
pub fn parse(path: &str) -> Result<Option<Route>, NameError> {
    let Some(path) = percent_decode(path) else { return Ok(None) };
    let Some(rest) = path.strip_prefix("/v2") else { return Ok(None) };
    if rest.is_empty() || rest == "/" {
        return Ok(Some(Route::Base));
    }
    let Some(rest) = rest.strip_prefix('/') else { return Ok(None) };
    if rest == "_catalog" {
        return Ok(Some(Route::Catalog));
    }
    let segs: Vec<&str> = rest.split('/').collect();
    let n = segs.len();
    let name_of = |upto: usize| -> Result<RepoName, NameError> { RepoName::parse(&segs[..upto].join("/")) };
    let tail = |k: usize| segs.get(n.wrapping_sub(k)).copied();
    // …/blobs/uploads/ and …/blobs/uploads
    if n >= 3 && tail(3) == Some("blobs") && tail(2) == Some("uploads") && tail(1) == Some("") {
        return name_of(n - 3).map(|name| Some(Route::UploadStart(name)));
    }
    if n >= 3 && tail(3) == Some("blobs") && tail(2) == Some("uploads") {
        return name_of(n - 3).map(|name| Some(Route::Upload(name, segs[n - 1].to_string())));
    }
    if n >= 3 && tail(2) == Some("blobs") && tail(1) == Some("uploads") {
        return name_of(n - 2).map(|name| Some(Route::UploadStart(name)));
    }
    if n >= 3 && tail(2) == Some("tags") && tail(1) == Some("list") {
        return name_of(n - 2).map(|name| Some(Route::Tags(name)));
    }
    if n >= 2 && !segs[n - 1].is_empty() {
        let last = segs[n - 1].to_string();
        match tail(2) {
            Some("blobs") => return name_of(n - 2).map(|name| Some(Route::Blob(name, last))),
            Some("manifests") => return name_of(n - 2).map(|name| Some(Route::Manifest(name, last))),
            Some("referrers") => return name_of(n - 2).map(|name| Some(Route::Referrers(name, last))),
            _ => {}
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> RepoName {
        RepoName::parse(s).unwrap()
    }

    #[test]
    fn paths_are_read_from_their_end() {
        let d = format!("sha256:{}", "a".repeat(64));
        let cases = [
            ("/v2/", Route::Base),
            ("/v2", Route::Base),
            ("/v2/_catalog", Route::Catalog),
            ("/v2/a/b/tags/list", Route::Tags(name("a/b"))),
            ("/v2/a/manifests/latest", Route::Manifest(name("a"), "latest".into())),
            (&format!("/v2/x/y/z/blobs/{d}"), Route::Blob(name("x/y/z"), d.clone())),
            (&format!("/v2/x/blobs/{}", d.replace(':', "%3A")), Route::Blob(name("x"), d.clone())),
            ("/v2/a/blobs/uploads/", Route::UploadStart(name("a"))),
            ("/v2/a/blobs/uploads", Route::UploadStart(name("a"))),
            ("/v2/a/blobs/uploads/123", Route::Upload(name("a"), "123".into())),
            (&format!("/v2/a/referrers/{d}"), Route::Referrers(name("a"), d.clone())),
            // Repository components that look like endpoint words.
            ("/v2/blobs/manifests/manifests/v1", Route::Manifest(name("blobs/manifests"), "v1".into())),
            ("/v2/tags/list/tags/list", Route::Tags(name("tags/list"))),
            ("/v2/x/blobs/blobs/uploads/", Route::UploadStart(name("x/blobs"))),
        ];
        for (path, want) in cases {
            assert_eq!(parse(path), Ok(Some(want)), "{path}");
        }
    }

    #[test]
    fn unknown_paths_and_bad_names() {
        for path in
            ["/v1/", "/v2x", "/v2/a", "/v2/a/blobs/", "/v2/a/manifests/", "/v2/a/other/x", "/v2/a/tags", "/v2/%zz"]
        {
            assert_eq!(parse(path), Ok(None), "{path}");
        }
        for path in
            ["/v2/A/tags/list", "/v2/../x/manifests/v1", "/v2/a//b/blobs/x", "/v2/_x/tags/list", "/v2/manifests/v1"]
        {
            assert!(parse(path).is_err(), "{path}");
        }
    }
}
