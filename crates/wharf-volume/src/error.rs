//! The crate's error type, [`VolumeError`]: Docker's texts (moby's `volume/service` `OpErr`
//! composition: `create NAME: …`, `get NAME: no such volume`, `remove NAME: volume is in use -
//! [ID1, ID2]`) and the API kind of each failure.

use std::io;

use wharf_types::{Classify, ErrorKind, FilterError};

/// Every error this crate returns.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// An operation on a named volume (or driver) failed: moby's `OpErr`, shown as
    /// `{op} {name}: {source}` (`create data: …`). The kind is the cause's.
    #[error("{op} {name}: {source}")]
    Op {
        /// `create`, `get`, `remove`, `list`…
        op: &'static str,
        /// The volume's (or driver's) name.
        name: String,
        /// The cause.
        #[source]
        source: Box<VolumeError>,
    },
    /// The volume does not exist (404).
    #[error("no such volume")]
    NoSuchVolume,
    /// A volume still referenced by containers cannot be removed (409); the references follow
    /// the text as Docker lists them.
    #[error("volume is in use - [{}]", .users.join(", "))]
    InUse {
        /// The containers referencing the volume, sorted.
        users: Vec<String>,
    },
    /// The name is taken by a volume of another driver (409).
    #[error("driver '{driver}' already has volume '{name}': volume name must be unique")]
    NameConflict {
        /// The driver of the existing volume.
        driver: String,
        /// The volume's name.
        name: String,
    },
    /// The volume is mounted for a container (409).
    #[error("volume has active mounts")]
    ActiveMounts,
    /// Another prune is running (409).
    #[error("a prune operation is already running")]
    PruneRunning,
    /// Bad input: a name, a driver option, a filter value (400). The text is complete.
    #[error("{0}")]
    InvalidArgument(String),
    /// A filters argument with an unknown key or a bad value (400).
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// No volume plugin of that name was found in the plugin directories (404).
    #[error("error looking up volume plugin {name}: plugin \"{name}\" not found")]
    PluginNotFound {
        /// The driver name asked for.
        name: String,
    },
    /// A plugin exists but could not be used (activation failed, it does not implement
    /// `VolumeDriver`, its address is not supported) — Docker's `legacy plugin: …` (500).
    #[error("error looking up volume plugin {name}: legacy plugin: {message}")]
    PluginUnavailable {
        /// The driver name.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// A volume plugin call failed: its `Err`, or `VolumeDriver.Method: …` for an HTTP error
    /// status, or the transport failure (500).
    #[error("{0}")]
    Plugin(String),
    /// mount(2)/umount(2) of a local volume with options failed (500); the text is complete.
    #[error("{0}")]
    Mount(String),
    /// A file-system operation on the volume root failed (500).
    #[error("{op}: {source}")]
    Io {
        /// What was being done, with its path.
        op: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A rooted file operation (copy-up, size walk) failed (500).
    #[error(transparent)]
    Fs(#[from] wharf_fs::FsError),
    /// The metadata database failed.
    #[error(transparent)]
    Store(#[from] wharf_store::StoreError),
    /// A query on the volume tables failed (500).
    #[error("volume tables: {0}")]
    Db(#[from] wharf_store::rusqlite::Error),
    /// A record that does not decode (500).
    #[error("volume record {name}: {message}")]
    Corrupt {
        /// The volume.
        name: String,
        /// The decoding error.
        message: String,
    },
}

impl VolumeError {
    /// Wraps `self` as moby's `OpErr` (`{op} {name}: {self}`), unless it already is one.
    pub(crate) fn op(self, op: &'static str, name: &str) -> VolumeError {
        match self {
            e @ VolumeError::Op { .. } => e,
            e => VolumeError::Op { op, name: name.to_string(), source: Box::new(e) },
        }
    }

    pub(crate) fn io(op: impl Into<String>, source: io::Error) -> VolumeError {
        VolumeError::Io { op: op.into(), source }
    }

    /// `get NAME: no such volume`.
    pub(crate) fn not_found(name: &str) -> VolumeError {
        VolumeError::NoSuchVolume.op("get", name)
    }

    /// The innermost cause (through [`VolumeError::Op`] wrappers).
    pub fn cause(&self) -> &VolumeError {
        match self {
            VolumeError::Op { source, .. } => source.cause(),
            e => e,
        }
    }
}

impl Classify for VolumeError {
    fn kind(&self) -> ErrorKind {
        match self {
            VolumeError::Op { source, .. } => source.kind(),
            VolumeError::NoSuchVolume | VolumeError::PluginNotFound { .. } => ErrorKind::NotFound,
            VolumeError::InUse { .. }
            | VolumeError::NameConflict { .. }
            | VolumeError::ActiveMounts
            | VolumeError::PruneRunning => ErrorKind::Conflict,
            VolumeError::InvalidArgument(_) | VolumeError::Filter(_) => ErrorKind::InvalidArgument,
            VolumeError::Store(e) => e.kind(),
            VolumeError::PluginUnavailable { .. }
            | VolumeError::Plugin(_)
            | VolumeError::Mount(_)
            | VolumeError::Io { .. }
            | VolumeError::Fs(_)
            | VolumeError::Db(_)
            | VolumeError::Corrupt { .. } => ErrorKind::Internal,
        }
    }
}

/// This crate's result type.
pub type Result<T, E = VolumeError> = std::result::Result<T, E>;

/// An errno as Go prints it (`syscall.Errno.Error()`): the C library's text with a lower-case
/// first letter (`no such file or directory`), which is how dockerd's messages show it.
pub(crate) fn go_errno(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

/// [`go_errno`] of an `io::Error` (its raw errno when there is one).
pub(crate) fn go_io_error(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => go_errno(n),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_texts_and_kinds() {
        let e = VolumeError::not_found("data");
        assert_eq!(e.to_string(), "get data: no such volume");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let e = VolumeError::InUse { users: vec!["a1".into(), "b2".into()] }.op("remove", "data");
        assert_eq!(e.to_string(), "remove data: volume is in use - [a1, b2]");
        assert_eq!(e.kind(), ErrorKind::Conflict);
        let e = VolumeError::NameConflict { driver: "local".into(), name: "data".into() }.op("create", "data");
        assert_eq!(e.to_string(), "create data: driver 'local' already has volume 'data': volume name must be unique");
        let e = VolumeError::PluginNotFound { name: "foo".into() }.op("create", "v");
        assert_eq!(e.to_string(), "create v: error looking up volume plugin foo: plugin \"foo\" not found");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        // Wrapping twice keeps the first operation, as moby's store does.
        let e = e.op("get", "other");
        assert!(e.to_string().starts_with("create v: "));
        assert_eq!(VolumeError::InvalidArgument("x".into()).kind(), ErrorKind::InvalidArgument);
        assert_eq!(VolumeError::Plugin("x".into()).kind(), ErrorKind::Internal);
        assert!(matches!(VolumeError::not_found("x").cause(), VolumeError::NoSuchVolume));
    }

    #[test]
    fn errno_texts_are_go_style() {
        assert_eq!(go_errno(2), "no such file or directory");
        assert_eq!(go_errno(22), "invalid argument");
        assert_eq!(go_errno(111), "connection refused");
    }
}
