//! The crate's error type: what failed, on which snapshot or path, and its [`ErrorKind`].

use std::io;
use std::path::PathBuf;

use wharf_types::{Classify, ErrorKind};

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors of snapshotters and of the mount helper.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No snapshot has this key or name.
    #[error("snapshot {key} does not exist")]
    NotFound {
        /// The key or name asked for.
        key: String,
    },
    /// The key or name is already taken (keys and names share one namespace).
    #[error("snapshot {key} already exists")]
    AlreadyExists {
        /// The key or name.
        key: String,
    },
    /// The parent of a new snapshot is active or a view; only committed snapshots have children.
    #[error("parent snapshot {parent} is not committed")]
    ParentNotCommitted {
        /// The parent's key.
        parent: String,
    },
    /// The operation needs an active snapshot (commit) or a mountable one (mounts, upper_dir).
    #[error("snapshot {key} is {actual}, expected {expected}")]
    WrongKind {
        /// The snapshot.
        key: String,
        /// What it is.
        actual: &'static str,
        /// What the operation needs.
        expected: &'static str,
    },
    /// Removing a snapshot that other snapshots are based on.
    #[error("cannot remove snapshot {key}: it is the parent of {children} snapshot(s)")]
    HasChildren {
        /// The snapshot.
        key: String,
        /// How many snapshots name it as parent.
        children: usize,
    },
    /// A key, name or label the snapshotter cannot store.
    #[error("invalid snapshot key {key:?}: {reason}")]
    InvalidKey {
        /// The rejected key.
        key: String,
        /// Why.
        reason: &'static str,
    },
    /// `--storage-driver` names a driver wharf does not have.
    #[error("driver not supported: {name}")]
    UnknownDriver {
        /// The name given.
        name: String,
    },
    /// The driver exists but cannot work on this host or backing filesystem.
    #[error("driver not supported: {driver} on {root}: {reason}")]
    Unsupported {
        /// The driver.
        driver: &'static str,
        /// The storage root.
        root: PathBuf,
        /// Why.
        reason: String,
    },
    /// A mount this crate performed (tests, detection) failed.
    #[error("mount {typ} on {target}: {source}")]
    Mount {
        /// The filesystem type.
        typ: String,
        /// The mount point.
        target: PathBuf,
        /// The kernel's error.
        #[source]
        source: io::Error,
    },
    /// A filesystem operation on the snapshotter's own files failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done (`"create dir"`, `"copy"`…).
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A metadata file could not be parsed or written.
    #[error("snapshot metadata {path}: {source}")]
    Metadata {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io { op, path: path.into(), source }
    }
}

/// `result.ctx("op", path)` turns an `io::Result` into this crate's [`Error::Io`].
pub(crate) trait IoContext<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(op, path, e))
    }
}

impl<T> IoContext<T> for rustix::io::Result<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(op, path, e.into()))
    }
}

impl Classify for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::AlreadyExists { .. } | Error::HasChildren { .. } | Error::WrongKind { .. } => ErrorKind::Conflict,
            Error::ParentNotCommitted { .. } | Error::InvalidKey { .. } | Error::UnknownDriver { .. } => {
                ErrorKind::InvalidArgument
            }
            Error::Unsupported { .. } | Error::Mount { .. } | Error::Io { .. } | Error::Metadata { .. } => {
                ErrorKind::Internal
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(Error::NotFound { key: "a".into() }.kind(), ErrorKind::NotFound);
        assert_eq!(Error::HasChildren { key: "a".into(), children: 1 }.kind(), ErrorKind::Conflict);
        assert_eq!(Error::AlreadyExists { key: "a".into() }.kind(), ErrorKind::Conflict);
        assert_eq!(Error::ParentNotCommitted { parent: "a".into() }.kind(), ErrorKind::InvalidArgument);
        assert_eq!(Error::UnknownDriver { name: "zfs".into() }.to_string(), "driver not supported: zfs");
        assert_eq!(Error::io("read", "/x", io::ErrorKind::Other.into()).kind(), ErrorKind::Internal);
    }
}
