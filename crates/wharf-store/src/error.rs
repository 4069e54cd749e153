//! The crate's error type, [`StoreError`]: what failed, on which file, blob, lease or migration,
//! and its [`ErrorKind`].

use std::io;
use std::path::PathBuf;

use wharf_types::{Classify, Digest, ErrorKind};

/// Result alias for this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Errors of the metadata database, the blob store and leases.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A SQLite call failed.
    #[error("metadata database: {context}: {source}")]
    Sqlite {
        /// What was being done (`open`, `begin transaction`, `create lease`…).
        context: &'static str,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// A migration's SQL failed; its transaction was rolled back.
    #[error("metadata database: migration {component} v{version} failed: {source}")]
    Migration {
        /// The component owning the migration.
        component: &'static str,
        /// Its version.
        version: u32,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// The migrations given to [`crate::Db::open`] are not a valid sequence (a programming error).
    #[error("metadata database: invalid migrations for {component}: {reason}")]
    InvalidMigrations {
        /// The component.
        component: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The database was written by a newer wharf; opening it could corrupt it.
    #[error(
        "metadata database: schema of {component} is at version {found}, newer than this wharf \
         knows ({known}): refusing to downgrade"
    )]
    SchemaTooNew {
        /// The component.
        component: String,
        /// The version recorded in the database.
        found: u32,
        /// The highest version this binary has.
        known: u32,
    },
    /// A file-system operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// The operation (`create`, `rename`, `fsync`…).
        op: &'static str,
        /// The path it was applied to.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Written content does not hash to the digest it was announced with.
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The announced digest.
        expected: Digest,
        /// The digest of what was written.
        actual: Digest,
    },
    /// Written content does not have the size it was announced with.
    #[error("size mismatch for {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// The announced digest.
        digest: Digest,
        /// The announced size.
        expected: u64,
        /// The number of bytes written.
        actual: u64,
    },
    /// No blob has this digest.
    #[error("blob {digest} not found")]
    BlobNotFound {
        /// The digest asked for.
        digest: Digest,
    },
    /// No lease has this id.
    #[error("lease {id} not found")]
    LeaseNotFound {
        /// The id asked for.
        id: String,
    },
    /// A lease with this id already exists.
    #[error("lease {id} already exists")]
    LeaseExists {
        /// The id.
        id: String,
    },
    /// A lease id or resource the store cannot hold.
    #[error("invalid lease {what} {value:?}: {reason}")]
    InvalidLease {
        /// `id`, `resource kind` or `resource key`.
        what: &'static str,
        /// The rejected value.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// The daemon's [`crate::GcRoots`] could not say what is referenced; nothing was removed.
    #[error("garbage collection: cannot read roots: {source}")]
    GcRoots {
        /// The roots' error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    /// Wraps a SQLite error with what was being done.
    pub fn sqlite(context: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
        move |source| StoreError::Sqlite { context, source }
    }

    /// Wraps an I/O error with the operation and path.
    pub fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { op, path, source }
    }
}

impl Classify for StoreError {
    fn kind(&self) -> ErrorKind {
        match self {
            StoreError::DigestMismatch { .. } | StoreError::SizeMismatch { .. } | StoreError::InvalidLease { .. } => {
                ErrorKind::InvalidArgument
            }
            StoreError::BlobNotFound { .. } | StoreError::LeaseNotFound { .. } => ErrorKind::NotFound,
            StoreError::LeaseExists { .. } => ErrorKind::Conflict,
            StoreError::Sqlite { .. }
            | StoreError::Migration { .. }
            | StoreError::InvalidMigrations { .. }
            | StoreError::SchemaTooNew { .. }
            | StoreError::Io { .. }
            | StoreError::GcRoots { .. } => ErrorKind::Internal,
        }
    }
}

impl From<StoreError> for std::io::Error {
    /// For [`std::io::Read`]/[`std::io::Write`] adapters: keeps the message, maps the kind.
    fn from(e: StoreError) -> std::io::Error {
        let kind = match &e {
            StoreError::Io { source, .. } => source.kind(),
            StoreError::DigestMismatch { .. } | StoreError::SizeMismatch { .. } => std::io::ErrorKind::InvalidData,
            StoreError::BlobNotFound { .. } => std::io::ErrorKind::NotFound,
            _ => std::io::ErrorKind::Other,
        };
        std::io::Error::new(kind, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_messages() {
        let expected = Digest::sha256_of(b"a");
        let actual = Digest::sha256_of(b"b");
        let e = StoreError::DigestMismatch { expected: expected.clone(), actual: actual.clone() };
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert_eq!(e.to_string(), format!("digest mismatch: expected {expected}, got {actual}"));
        assert_eq!(StoreError::BlobNotFound { digest: expected }.kind(), ErrorKind::NotFound);
        assert_eq!(StoreError::LeaseExists { id: "x".into() }.kind(), ErrorKind::Conflict);
        let io: std::io::Error =
            StoreError::DigestMismatch { expected: Digest::sha256_of(b"a"), actual: Digest::sha256_of(b"b") }.into();
        assert_eq!(io.kind(), std::io::ErrorKind::InvalidData);
    }
}
