//! The crate's error type. Messages are Docker's (moby's daemon and runc's user package) where
//! Docker has one.

use wharf_types::{Classify, ErrorKind};

/// Why a spec could not be generated, or a piece of configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The configuration is invalid (unknown capability, malformed security option, tmpfs
    /// option, ulimit name, device cgroup rule…). Docker validates most of these when a
    /// container is created and answers 400.
    #[error("{0}")]
    Invalid(String),
    /// The user or a group could not be resolved inside the container's root filesystem,
    /// e.g. `unable to find user x: no matching entries in passwd file`.
    #[error("{0}")]
    User(String),
    /// A seccomp profile could not be decoded or applied.
    #[error("{0}")]
    Seccomp(String),
    /// A host path (a device, the rootfs) could not be inspected.
    #[error("{0}")]
    Host(String),
    /// oci-spec refused a value while the spec was assembled (a bug here, not an input fault).
    #[error("building the OCI spec: {0}")]
    Spec(String),
}

impl RuntimeError {
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        RuntimeError::Invalid(msg.into())
    }
}

impl From<oci_spec::OciSpecError> for RuntimeError {
    fn from(e: oci_spec::OciSpecError) -> Self {
        RuntimeError::Spec(e.to_string())
    }
}

impl Classify for RuntimeError {
    /// `Invalid` is the caller's fault (400); everything else is what moby reports when
    /// `createSpec` fails at start: a system error (500).
    fn kind(&self) -> ErrorKind {
        match self {
            RuntimeError::Invalid(_) => ErrorKind::InvalidArgument,
            _ => ErrorKind::Internal,
        }
    }
}
