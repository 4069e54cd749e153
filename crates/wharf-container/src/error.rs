//! The crate's error type, classified for the API.

use wharf_types::{Classify, ErrorKind};

/// Result alias of this crate.
pub type Result<T, E = ContainerError> = std::result::Result<T, E>;

/// What can go wrong with containers; messages are Docker's where Docker has one.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// `No such container: x`.
    #[error("No such container: {0}")]
    NotFound(String),
    /// A bad request (`invalid container name`, a bad option…).
    #[error("{0}")]
    Invalid(String),
    /// The request conflicts with the container's state or another container (name in use,
    /// removing a running container…).
    #[error("{0}")]
    Conflict(String),
    /// Nothing to do (`docker start` of a running container → 304).
    #[error("{0}")]
    NotModified(String),
    /// An error of another capability (images, storage, runtime) with its kind.
    #[error("{message}")]
    Other {
        /// How the API reports it.
        kind: ErrorKind,
        /// What failed.
        message: String,
    },
}

impl ContainerError {
    /// Wraps any classified error, keeping its kind and text.
    pub fn other<E: Classify + std::fmt::Display>(e: E) -> Self {
        ContainerError::Other { kind: e.kind(), message: e.to_string() }
    }

    /// An internal failure.
    pub fn internal(message: impl Into<String>) -> Self {
        ContainerError::Other { kind: ErrorKind::Internal, message: message.into() }
    }
}

impl Classify for ContainerError {
    fn kind(&self) -> ErrorKind {
        match self {
            ContainerError::NotFound(_) => ErrorKind::NotFound,
            ContainerError::Invalid(_) => ErrorKind::InvalidArgument,
            ContainerError::Conflict(_) => ErrorKind::Conflict,
            ContainerError::NotModified(_) => ErrorKind::NotModified,
            ContainerError::Other { kind, .. } => *kind,
        }
    }
}

impl From<wharf_store::StoreError> for ContainerError {
    fn from(e: wharf_store::StoreError) -> Self {
        ContainerError::other(e)
    }
}

impl From<wharf_store::rusqlite::Error> for ContainerError {
    fn from(e: wharf_store::rusqlite::Error) -> Self {
        ContainerError::other(wharf_store::StoreError::sqlite("container tables")(e))
    }
}

impl From<wharf_image::ImageError> for ContainerError {
    fn from(e: wharf_image::ImageError) -> Self {
        ContainerError::other(e)
    }
}

impl From<wharf_snapshot::Error> for ContainerError {
    fn from(e: wharf_snapshot::Error) -> Self {
        ContainerError::other(e)
    }
}
