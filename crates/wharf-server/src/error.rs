//! The one place where an error becomes an HTTP status and a `{"message": …}` body.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use wharf_api::ErrorBody;
use wharf_types::{Classify, ErrorKind};

/// An error on its way to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Decides the status.
    pub kind: ErrorKind,
    /// What the client reads.
    pub message: String,
}

impl ApiError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError { kind, message: message.into() }
    }

    /// A 400 error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    /// Any classified error.
    pub fn from_err<E: Classify + std::fmt::Display>(e: E) -> Self {
        ApiError { kind: e.kind(), message: e.to_string() }
    }
}

/// Maps an error kind to its HTTP status. The only such mapping in wharf.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InvalidArgument => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::NotModified => StatusCode::NOT_MODIFIED,
        ErrorKind::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(self.kind);
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), "{}", self.message);
        } else {
            tracing::debug!(status = status.as_u16(), "{}", self.message);
        }
        if status == StatusCode::NOT_MODIFIED {
            return status.into_response();
        }
        (status, axum::Json(ErrorBody { message: self.message })).into_response()
    }
}

/// The answer to an unknown route or method, as dockerd gives it.
pub async fn not_found() -> ApiError {
    ApiError::new(ErrorKind::NotFound, "page not found")
}

/// Turns a handler panic into a 500 in Docker's shape instead of a dropped connection.
pub(crate) fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    ApiError::new(ErrorKind::Internal, format!("internal error: {detail}")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_status() {
        let cases = [
            (ErrorKind::InvalidArgument, 400),
            (ErrorKind::Unauthorized, 401),
            (ErrorKind::Forbidden, 403),
            (ErrorKind::NotFound, 404),
            (ErrorKind::Conflict, 409),
            (ErrorKind::NotModified, 304),
            (ErrorKind::NotImplemented, 501),
            (ErrorKind::Unavailable, 503),
            (ErrorKind::Internal, 500),
        ];
        for (kind, code) in cases {
            assert_eq!(status_of(kind).as_u16(), code, "{kind:?}");
        }
    }
}
