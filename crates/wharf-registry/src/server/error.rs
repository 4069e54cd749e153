//! The one place where a registry error becomes an HTTP status and the distribution spec's
//! body, `{"errors":[{"code":"BLOB_UNKNOWN","message":"…","detail":…}]}`.
//!
//! Codes and statuses are the spec's table, with distribution's statuses where the spec leaves
//! them open (`MANIFEST_BLOB_UNKNOWN` 400, `UNSUPPORTED` 405, `PAGINATION_NUMBER_INVALID` 400,
//! an out-of-order chunk 416, a manifest over the size limit 413).

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde_json::Value;
use wharf_types::{Classify, ErrorKind};

use crate::manifest::ManifestError;
use crate::name::NameError;

/// An error code of the distribution spec (plus the few distribution adds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// `BLOB_UNKNOWN`, 404.
    BlobUnknown,
    /// `BLOB_UPLOAD_INVALID`, 400.
    BlobUploadInvalid,
    /// `BLOB_UPLOAD_INVALID` for a chunk that does not start where the upload ends, 416.
    RangeInvalid,
    /// `BLOB_UPLOAD_UNKNOWN`, 404.
    BlobUploadUnknown,
    /// `DIGEST_INVALID`, 400.
    DigestInvalid,
    /// `MANIFEST_BLOB_UNKNOWN`, 400.
    ManifestBlobUnknown,
    /// `MANIFEST_INVALID`, 400.
    ManifestInvalid,
    /// `MANIFEST_INVALID` for a manifest over the size limit, 413.
    ManifestTooLarge,
    /// `MANIFEST_UNKNOWN`, 404.
    ManifestUnknown,
    /// `NAME_INVALID`, 400.
    NameInvalid,
    /// `NAME_UNKNOWN`, 404.
    NameUnknown,
    /// `SIZE_INVALID`, 400.
    SizeInvalid,
    /// `UNAUTHORIZED`, 401.
    Unauthorized,
    /// `DENIED`, 403.
    Denied,
    /// `UNSUPPORTED`, 405.
    Unsupported,
    /// `TOOMANYREQUESTS`, 429.
    TooManyRequests,
    /// `PAGINATION_NUMBER_INVALID` (distribution's), 400.
    PaginationNumberInvalid,
    /// `UNKNOWN`, 500: a fault of the registry.
    Unknown,
}

impl ErrorCode {
    /// The code on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BlobUnknown => "BLOB_UNKNOWN",
            ErrorCode::BlobUploadInvalid | ErrorCode::RangeInvalid => "BLOB_UPLOAD_INVALID",
            ErrorCode::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            ErrorCode::DigestInvalid => "DIGEST_INVALID",
            ErrorCode::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            ErrorCode::ManifestInvalid | ErrorCode::ManifestTooLarge => "MANIFEST_INVALID",
            ErrorCode::ManifestUnknown => "MANIFEST_UNKNOWN",
            ErrorCode::NameInvalid => "NAME_INVALID",
            ErrorCode::NameUnknown => "NAME_UNKNOWN",
            ErrorCode::SizeInvalid => "SIZE_INVALID",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Denied => "DENIED",
            ErrorCode::Unsupported => "UNSUPPORTED",
            ErrorCode::TooManyRequests => "TOOMANYREQUESTS",
            ErrorCode::PaginationNumberInvalid => "PAGINATION_NUMBER_INVALID",
            ErrorCode::Unknown => "UNKNOWN",
        }
    }

    /// The HTTP status. The only such mapping of the registry.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BlobUnknown
            | ErrorCode::BlobUploadUnknown
            | ErrorCode::ManifestUnknown
            | ErrorCode::NameUnknown => StatusCode::NOT_FOUND,
            ErrorCode::BlobUploadInvalid
            | ErrorCode::DigestInvalid
            | ErrorCode::ManifestBlobUnknown
            | ErrorCode::ManifestInvalid
            | ErrorCode::NameInvalid
            | ErrorCode::SizeInvalid
            | ErrorCode::PaginationNumberInvalid => StatusCode::BAD_REQUEST,
            ErrorCode::RangeInvalid => StatusCode::RANGE_NOT_SATISFIABLE,
            ErrorCode::ManifestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Denied => StatusCode::FORBIDDEN,
            ErrorCode::Unsupported => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unknown => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The spec's description, distribution's default message.
    pub fn default_message(self) -> &'static str {
        match self {
            ErrorCode::BlobUnknown => "blob unknown to registry",
            ErrorCode::BlobUploadInvalid => "blob upload invalid",
            ErrorCode::RangeInvalid => "invalid content range",
            ErrorCode::BlobUploadUnknown => "blob upload unknown to registry",
            ErrorCode::DigestInvalid => "provided digest did not match uploaded content",
            ErrorCode::ManifestBlobUnknown => "manifest references a manifest or blob unknown to registry",
            ErrorCode::ManifestInvalid => "manifest invalid",
            ErrorCode::ManifestTooLarge => "manifest too large",
            ErrorCode::ManifestUnknown => "manifest unknown to registry",
            ErrorCode::NameInvalid => "invalid repository name",
            ErrorCode::NameUnknown => "repository name not known to registry",
            ErrorCode::SizeInvalid => "provided length did not match content length",
            ErrorCode::Unauthorized => "authentication required",
            ErrorCode::Denied => "requested access to the resource is denied",
            ErrorCode::Unsupported => "the operation is unsupported",
            ErrorCode::TooManyRequests => "too many requests",
            ErrorCode::PaginationNumberInvalid => "invalid number of results requested",
            ErrorCode::Unknown => "unknown error",
        }
    }
}

/// An error on its way to the client.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryError {
    /// Decides the code and the status.
    pub code: ErrorCode,
    /// What the client reads.
    pub message: String,
    /// Structured detail (`{"digest": …}`, `{"name": …}`), or nothing.
    pub detail: Option<Value>,
    /// Extra response headers (`WWW-Authenticate`, `Range`).
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl RegistryError {
    /// An error with the code's default message.
    pub fn new(code: ErrorCode) -> Self {
        RegistryError { code, message: code.default_message().to_string(), detail: None, headers: Vec::new() }
    }

    /// Replaces the message.
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// Adds a detail.
    pub fn detail(mut self, detail: Value) -> Self {
        self.detail = Some(detail);
        self
    }

    /// Adds a header to the response.
    pub fn header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// A registry fault; the message is logged and sent.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        RegistryError::new(ErrorCode::Unknown).message(message.to_string())
    }
}

impl From<NameError> for RegistryError {
    fn from(e: NameError) -> Self {
        match &e {
            NameError::Name(_) | NameError::NameTooLong => {
                RegistryError::new(ErrorCode::NameInvalid).message(e.to_string())
            }
            NameError::Tag(t) => RegistryError::new(ErrorCode::ManifestInvalid)
                .message(e.to_string())
                .detail(serde_json::json!({ "tag": t })),
            NameError::Digest(_) => RegistryError::new(ErrorCode::DigestInvalid).message(e.to_string()),
        }
    }
}

impl From<ManifestError> for RegistryError {
    fn from(e: ManifestError) -> Self {
        RegistryError::new(ErrorCode::ManifestInvalid).message(e.to_string())
    }
}

impl Classify for RegistryError {
    fn kind(&self) -> ErrorKind {
        match self.code.status().as_u16() {
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            405 => ErrorKind::NotImplemented,
            429 => ErrorKind::Unavailable,
            500 => ErrorKind::Internal,
            _ => ErrorKind::InvalidArgument,
        }
    }
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for RegistryError {}

/// The JSON body of an error response.
pub fn error_body(errors: &[&RegistryError]) -> Value {
    let list: Vec<Value> = errors
        .iter()
        .map(|e| {
            let mut v = serde_json::json!({ "code": e.code.as_str(), "message": e.message });
            if let Some(d) = &e.detail {
                v["detail"] = d.clone();
            }
            v
        })
        .collect();
    serde_json::json!({ "errors": list })
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), "{}", self.message);
        } else {
            tracing::debug!(status = status.as_u16(), code = self.code.as_str(), "{}", self.message);
        }
        let mut resp = (status, axum::Json(error_body(&[&self]))).into_response();
        for (k, v) in self.headers {
            resp.headers_mut().append(k, v);
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_spec_statuses() {
        let cases = [
            (ErrorCode::BlobUnknown, "BLOB_UNKNOWN", 404),
            (ErrorCode::BlobUploadInvalid, "BLOB_UPLOAD_INVALID", 400),
            (ErrorCode::RangeInvalid, "BLOB_UPLOAD_INVALID", 416),
            (ErrorCode::BlobUploadUnknown, "BLOB_UPLOAD_UNKNOWN", 404),
            (ErrorCode::DigestInvalid, "DIGEST_INVALID", 400),
            (ErrorCode::ManifestBlobUnknown, "MANIFEST_BLOB_UNKNOWN", 400),
            (ErrorCode::ManifestInvalid, "MANIFEST_INVALID", 400),
            (ErrorCode::ManifestTooLarge, "MANIFEST_INVALID", 413),
            (ErrorCode::ManifestUnknown, "MANIFEST_UNKNOWN", 404),
            (ErrorCode::NameInvalid, "NAME_INVALID", 400),
            (ErrorCode::NameUnknown, "NAME_UNKNOWN", 404),
            (ErrorCode::SizeInvalid, "SIZE_INVALID", 400),
            (ErrorCode::Unauthorized, "UNAUTHORIZED", 401),
            (ErrorCode::Denied, "DENIED", 403),
            (ErrorCode::Unsupported, "UNSUPPORTED", 405),
            (ErrorCode::TooManyRequests, "TOOMANYREQUESTS", 429),
            (ErrorCode::PaginationNumberInvalid, "PAGINATION_NUMBER_INVALID", 400),
            (ErrorCode::Unknown, "UNKNOWN", 500),
        ];
        for (code, text, status) in cases {
            assert_eq!(code.as_str(), text);
            assert_eq!(code.status().as_u16(), status, "{text}");
            assert!(text.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'), "{text}");
        }
    }

    #[test]
    fn body_has_code_message_and_detail() {
        let e = RegistryError::new(ErrorCode::BlobUnknown).detail(serde_json::json!({"digest": "sha256:x"}));
        assert_eq!(
            error_body(&[&e]),
            serde_json::json!({"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown to registry", "detail": {"digest": "sha256:x"}}]})
        );
        let plain = RegistryError::new(ErrorCode::Unsupported);
        assert!(error_body(&[&plain])["errors"][0].get("detail").is_none());
    }
}
