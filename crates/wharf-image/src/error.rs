//! The crate's error type and its [`Classify`] mapping: bad references, manifests and archives
//! are the caller's fault (`InvalidArgument`), a platform missing from an index is `NotFound`,
//! and failures of the storage behind [`crate::archive::BlobSink`] / [`crate::archive::BlobSource`]
//! keep the kind their adapter gave them.

use wharf_types::{Classify, ErrorKind};

use crate::Digest;

/// Result alias of this crate.
pub type Result<T, E = ImageError> = std::result::Result<T, E>;

/// Everything that can go wrong in `wharf-image`.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// A reference that distribution/reference refuses; the message is Docker's
    /// (`invalid reference format`, `invalid reference format: repository name (library/Busybox)
    /// must be lowercase`, …).
    #[error("{0}")]
    InvalidReference(String),

    /// A platform string such as `linux/amd64` that cannot be parsed (containerd's message).
    #[error("{0}")]
    InvalidPlatform(#[from] wharf_reference::PlatformError),

    /// No entry of an index matches the wanted platform (Docker's message).
    #[error("no matching manifest for {platform} in the manifest list entries")]
    NoMatchingManifest {
        /// The wanted platform, formatted `os/arch[/variant]`.
        platform: String,
    },

    /// A manifest, index or config that cannot be understood.
    #[error("invalid manifest: {0}")]
    InvalidManifest(String),

    /// A media type this crate does not handle here.
    #[error("unsupported media type {0}")]
    UnsupportedMediaType(String),

    /// An image archive that is malformed, hostile, truncated or incomplete.
    #[error("invalid image archive: {0}")]
    InvalidArchive(String),

    /// Content whose digest is not the one it was named or announced with.
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        /// What was checked (an archive member path, a blob).
        what: String,
        /// The digest it should have had.
        expected: Digest,
        /// The digest it had.
        actual: Digest,
    },

    /// A blob the [`crate::archive::BlobSource`] does not have.
    #[error("blob not found: {0}")]
    BlobNotFound(Digest),

    /// No image answers to this name or ID (Docker's message: `No such image: busybox:latest`).
    #[error("No such image: {0}")]
    NoSuchImage(String),

    /// The operation conflicts with the image's state (Docker's `conflict: unable to delete …`).
    #[error("{0}")]
    Conflict(String),

    /// A failure of the storage adapter behind a sink or source, with the kind it chose.
    #[error("{message}")]
    Backend {
        /// How the API should report it.
        kind: ErrorKind,
        /// What failed.
        message: String,
        /// The adapter's error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// An I/O error on a stream this crate was handed (output stream, source reader).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl ImageError {
    pub(crate) fn archive(msg: impl Into<String>) -> Self {
        Self::InvalidArchive(msg.into())
    }

    pub(crate) fn manifest(msg: impl Into<String>) -> Self {
        Self::InvalidManifest(msg.into())
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io { context: context.into(), source }
    }

    /// Wraps an adapter's failure with the kind the API should report.
    pub fn backend(
        kind: ErrorKind,
        message: impl Into<String>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Backend { kind, message: message.into(), source }
    }

    /// Wraps a storage error (content store, snapshotter, file system) keeping its kind.
    pub fn storage<E: Classify + std::error::Error + Send + Sync + 'static>(e: E) -> Self {
        Self::Backend { kind: e.kind(), message: e.to_string(), source: Some(Box::new(e)) }
    }
}

impl Classify for ImageError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidReference(_)
            | Self::InvalidPlatform(_)
            | Self::InvalidManifest(_)
            | Self::UnsupportedMediaType(_)
            | Self::InvalidArchive(_)
            | Self::DigestMismatch { .. } => ErrorKind::InvalidArgument,
            Self::NoMatchingManifest { .. } | Self::BlobNotFound(_) | Self::NoSuchImage(_) => ErrorKind::NotFound,
            Self::Conflict(_) => ErrorKind::Conflict,
            Self::Backend { kind, .. } => *kind,
            Self::Io { .. } => ErrorKind::Internal,
        }
    }
}

impl From<wharf_reference::ReferenceError> for ImageError {
    fn from(e: wharf_reference::ReferenceError) -> Self {
        Self::InvalidReference(e.to_string())
    }
}

impl From<wharf_store::StoreError> for ImageError {
    fn from(e: wharf_store::StoreError) -> Self {
        Self::storage(e)
    }
}
