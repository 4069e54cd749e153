//! Error kinds: what went wrong, in the terms the API maps to HTTP statuses.

/// The kind of an error, independent of the transport. `wharf-server` maps each kind to
/// exactly one HTTP status; nothing else decides a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Bad input from the caller (400).
    InvalidArgument,
    /// Authentication required or failed (401).
    Unauthorized,
    /// Not allowed (403).
    Forbidden,
    /// The object does not exist (404).
    NotFound,
    /// The request conflicts with the object's state (409).
    Conflict,
    /// Nothing to do: already in the requested state (304).
    NotModified,
    /// Recognised but not supported by this daemon (501).
    NotImplemented,
    /// The daemon cannot serve this now (503).
    Unavailable,
    /// A fault of the daemon itself (500).
    Internal,
}

/// Implemented by every public error type so that the API layer can choose a status without
/// inspecting error messages.
pub trait Classify {
    /// The kind of this error.
    fn kind(&self) -> ErrorKind;
}
