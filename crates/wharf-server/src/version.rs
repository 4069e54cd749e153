//! API version negotiation, applied once around the whole router: strips a `/v{X.Y}` prefix,
//! refuses versions outside [`MIN_API_VERSION`]`..=`[`CURRENT_API_VERSION`] with dockerd's
//! messages, records the version for handlers, and adds dockerd's response headers.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{HeaderValue, SERVER};
use http::Uri;
use wharf_api::{ApiVersion, CURRENT_API_VERSION, MIN_API_VERSION};

use crate::error::ApiError;

/// The `Server` header value.
pub const SERVER_HEADER: &str = concat!("Wharf/", env!("CARGO_PKG_VERSION"), " (linux)");

/// Middleware: see the module docs.
pub async fn negotiate(mut req: Request, next: Next) -> Response {
    let mut version = CURRENT_API_VERSION;
    let mut rewritten = None;
    if let Some((v, tail)) = split_version(req.uri().path()) {
        if v > CURRENT_API_VERSION {
            return with_headers(
                ApiError::invalid(format!(
                    "client version {v} is too new. Maximum supported API version is {CURRENT_API_VERSION}"
                ))
                .into_response(),
            );
        }
        if v < MIN_API_VERSION {
            return with_headers(
                ApiError::invalid(format!(
                    "client version {v} is too old. Minimum supported API version is {MIN_API_VERSION}, please upgrade your client to a newer version"
                ))
                .into_response(),
            );
        }
        version = v;
        rewritten = Some(tail.to_string());
    }
    if let Some(tail) = rewritten {
        let path = if tail.is_empty() { "/".to_string() } else { tail };
        let pq = match req.uri().query() {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        let mut parts = req.uri().clone().into_parts();
        match pq.parse() {
            Ok(p) => parts.path_and_query = Some(p),
            Err(_) => return with_headers(ApiError::invalid("invalid request path").into_response()),
        }
        match Uri::from_parts(parts) {
            Ok(uri) => *req.uri_mut() = uri,
            Err(_) => return with_headers(ApiError::invalid("invalid request path").into_response()),
        }
    }
    tracing::debug!(method = %req.method(), uri = %req.uri(), api = %version, "request");
    req.extensions_mut().insert(version);
    with_headers(next.run(req).await)
}

/// `/v1.45/info` → (1.45, `/info`). A `/v…` segment that is not a version is left alone (and
/// will be a 404), as dockerd's `[0-9.]+` matcher does.
fn split_version(path: &str) -> Option<(ApiVersion, &str)> {
    let rest = path.strip_prefix("/v")?;
    let (seg, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    Some((ApiVersion::parse(seg)?, tail))
}

fn with_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert("Api-Version", HeaderValue::from_static(API_VERSION_STR));
    h.insert("Docker-Experimental", HeaderValue::from_static("false"));
    h.insert("Ostype", HeaderValue::from_static("linux"));
    h.insert(SERVER, HeaderValue::from_static(SERVER_HEADER));
    resp
}

const API_VERSION_STR: &str = "1.45";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_constant_matches_the_version() {
        assert_eq!(API_VERSION_STR, CURRENT_API_VERSION.to_string());
    }

    #[test]
    fn splits_only_real_versions() {
        assert_eq!(split_version("/v1.45/info").map(|(v, t)| (v.to_string(), t)), Some(("1.45".into(), "/info")));
        assert_eq!(split_version("/v1.24").map(|(v, t)| (v.to_string(), t)), Some(("1.24".into(), "")));
        assert_eq!(split_version("/version"), None);
        assert_eq!(split_version("/vx.y/info"), None);
        assert_eq!(split_version("/info"), None);
    }
}
