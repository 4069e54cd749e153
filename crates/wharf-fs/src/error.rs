//! The crate's error type: every failure names the operation and the path (inside its root) it
//! concerned, and says whether the input was at fault or the host.

use std::path::PathBuf;

/// A failure of a rooted file operation, a layer apply or a layer diff.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// A system call failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// The operation, e.g. `mkdir` or `open`.
        op: &'static str,
        /// The path it concerned (relative to the root where there is one).
        path: PathBuf,
        /// The error from the kernel or the reader.
        #[source]
        source: std::io::Error,
    },
    /// A path names something outside its root (`..` above the root, or a hard link out).
    #[error("path escapes its root: {path}")]
    Escape {
        /// The offending path as given.
        path: PathBuf,
    },
    /// A path that cannot be used at all (empty where a name is needed, NUL byte, the root itself).
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The offending path as given.
        path: PathBuf,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A path or link target longer than the configured limit.
    #[error("path too long ({len} bytes, limit {limit}): {path}")]
    PathTooLong {
        /// The start of the offending path (lossy, at most 256 bytes).
        path: String,
        /// Its length in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A PAX header or GNU long name/link record larger than the configured limit.
    #[error("tar {what} record of {size} bytes exceeds the limit of {limit} bytes")]
    HeaderTooLarge {
        /// `pax` or `gnu long name`.
        what: &'static str,
        /// Its declared size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The layer stream is not a well-formed tar archive.
    #[error("malformed layer at entry {entry}: {reason}")]
    Malformed {
        /// The 0-based index of the tar member where it went wrong.
        entry: u64,
        /// What was wrong.
        reason: String,
    },
    /// A tar member type this crate does not apply (GNU sparse, volume labels, …).
    #[error("unhandled tar header type {typeflag:?} for {path}")]
    Unsupported {
        /// The member's path.
        path: String,
        /// Its type flag as a character.
        typeflag: char,
    },
    /// A uid or gid of the layer has no mapping in the configured id map.
    #[error("{kind} {id} has no mapping in the id map")]
    Unmapped {
        /// `uid` or `gid`.
        kind: &'static str,
        /// The container-side id.
        id: u64,
    },
    /// The uncompressed layer is larger than the configured limit.
    #[error("layer exceeds the limit of {limit} uncompressed bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// A file changed size while it was being archived.
    #[error("{path} changed while it was being archived")]
    Changed {
        /// The file (relative to the upper root).
        path: PathBuf,
    },
    /// A path that does not exist inside its root (the API's 404: dockerd's `Could not find the
    /// file … in container …`).
    #[error("no such file or directory: {path}")]
    NotFound {
        /// The path as the caller named it, absolute inside the root.
        path: PathBuf,
    },
    /// A path that must name a directory names something else (an extraction point that is a
    /// file, `file/` or `file/x`).
    #[error("not a directory: {path}")]
    NotADirectory {
        /// The path as the caller named it, absolute inside the root.
        path: PathBuf,
    },
    /// An extraction with `no_overwrite_dir_non_dir` would replace a directory with a
    /// non-directory or the reverse (dockerd's message).
    #[error(
        "cannot overwrite {} {:?} with {} {:?}",
        if *.existing_is_dir { "directory" } else { "non-directory" },
        .path,
        if *.existing_is_dir { "non-directory" } else { "directory" },
        .dest
    )]
    WouldOverwrite {
        /// The existing object, absolute inside the root.
        path: PathBuf,
        /// The extraction directory, absolute inside the root.
        dest: PathBuf,
        /// Whether the existing object is the directory.
        existing_is_dir: bool,
    },
}

impl FsError {
    /// True when the input (a layer, a path from a client) is at fault rather than the host:
    /// callers map this to "invalid argument" ([`FsError::NotFound`]: "not found"), everything
    /// else to an internal error.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, FsError::Io { .. } | FsError::Changed { .. })
    }

    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: impl Into<std::io::Error>) -> Self {
        FsError::Io { op, path: path.into(), source: source.into() }
    }

    /// The errno of an `Io` error, if it came from the kernel.
    pub(crate) fn errno(&self) -> Option<i32> {
        match self {
            FsError::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

impl wharf_types::Classify for FsError {
    fn kind(&self) -> wharf_types::ErrorKind {
        if matches!(self, FsError::NotFound { .. }) {
            wharf_types::ErrorKind::NotFound
        } else if self.is_bad_input() {
            wharf_types::ErrorKind::InvalidArgument
        } else {
            wharf_types::ErrorKind::Internal
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = FsError> = std::result::Result<T, E>;
