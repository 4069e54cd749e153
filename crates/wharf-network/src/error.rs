//! The crate's error type: IPAM refusals with dockerd's texts, and kernel-side failures
//! (netlink, namespaces, `nft`).

use std::io;
use std::net::IpAddr;

use wharf_types::{Classify, ErrorKind};

/// Every error this crate returns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A static address (or gateway) that is already allocated, or reserved (network or
    /// broadcast address). dockerd: `ipamapi.ErrIPAlreadyAllocated` (403).
    #[error("Address already in use")]
    AddressInUse,
    /// A static address outside the network's subnet (dockerd's endpoint error, 400).
    #[error("invalid address {0}: It does not belong to any of this network's subnets")]
    AddressNotInSubnet(IpAddr),
    /// Every address of the network (or of its `--ip-range`) is taken. dockerd appends
    /// `": <name> (<id>)"`; see [`Error::with_network`].
    #[error("no available IPv4 addresses on this network's address pools{0}")]
    NoAvailableAddresses(String),
    /// The IPv6 counterpart of [`Error::NoAvailableAddresses`].
    #[error("no available IPv6 addresses on this network's address pools{0}")]
    NoAvailableAddresses6(String),
    /// Every default pool is used or overlaps a host route (dockerd: 404).
    #[error(
        "could not find an available, non-overlapping IPv4 address pool among the defaults to \
         assign to the network"
    )]
    NoAvailablePool,
    /// Every /64 of the daemon's IPv6 pools is used (dockerd: 404).
    #[error(
        "could not find an available, non-overlapping IPv6 address pool among the defaults to \
         assign to the network"
    )]
    NoAvailablePool6,
    /// A requested subnet overlaps one in use (dockerd: 403).
    #[error("invalid pool request: Pool overlaps with other one on this address space")]
    PoolOverlap,
    /// The IPAM configuration is invalid: dockerd's `invalid network config:` followed by one
    /// line per problem (400).
    #[error("invalid network config:\n{}", .0.join("\n"))]
    InvalidConfig(Vec<String>),
    /// A malformed argument (an interface name, a CIDR, a table name, an id).
    #[error("{0}")]
    InvalidArgument(String),
    /// A link the operation needs does not exist (e.g. a macvlan parent, a bridge).
    #[error("{0}")]
    LinkNotFound(String),
    /// A link exists but is not what the operation needs, or the name is taken.
    #[error("{0}")]
    LinkConflict(String),
    /// A netlink request failed. `errno` is the positive errno when the kernel sent one.
    #[error("{op}: {message}")]
    Netlink {
        /// What was being done, e.g. `create veth veth1a2b3c4`.
        op: String,
        /// The kernel's errno (positive), if the failure was an error reply.
        errno: Option<i32>,
        /// The message.
        message: String,
    },
    /// Opening or joining a network namespace, spawning the helper thread, reading or writing
    /// a sysctl.
    #[error("{op}: {source}")]
    Io {
        /// What was being done.
        op: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The `nft` binary is missing (Debian package `nftables`).
    #[error("nft not found ({0}): install the nftables package")]
    NftMissing(String),
    /// `nft` refused a request.
    #[error("nft {op} failed: {stderr}")]
    Nft {
        /// What was being done.
        op: String,
        /// nft's diagnostic.
        stderr: String,
    },
}

impl Error {
    /// Adds dockerd's `": <name> (<id>)"` suffix to [`Error::NoAvailableAddresses`] (and its
    /// IPv6 counterpart); other
    /// errors are returned unchanged.
    pub fn with_network(self, name: &str, id: &str) -> Self {
        match self {
            Error::NoAvailableAddresses(_) => Error::NoAvailableAddresses(format!(": {name} ({id})")),
            Error::NoAvailableAddresses6(_) => Error::NoAvailableAddresses6(format!(": {name} ({id})")),
            other => other,
        }
    }

    /// The kernel's errno of a failed netlink request, if any.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Netlink { errno, .. } => *errno,
            Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }

    pub(crate) fn io(op: impl Into<String>, source: io::Error) -> Self {
        Error::Io { op: op.into(), source }
    }

    pub(crate) fn netlink(op: impl Into<String>, err: rtnetlink::Error) -> Self {
        let errno = match &err {
            rtnetlink::Error::NetlinkError(msg) if msg.raw_code() != 0 => Some(msg.raw_code().abs()),
            _ => None,
        };
        let message = match errno {
            Some(code) => io::Error::from_raw_os_error(code).to_string(),
            None => err.to_string(),
        };
        Error::Netlink { op: op.into(), errno, message }
    }
}

impl Classify for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::AddressInUse | Error::PoolOverlap => ErrorKind::Forbidden,
            Error::AddressNotInSubnet(_) | Error::InvalidConfig(_) | Error::InvalidArgument(_) => {
                ErrorKind::InvalidArgument
            }
            Error::NoAvailablePool | Error::NoAvailablePool6 | Error::LinkNotFound(_) => ErrorKind::NotFound,
            Error::LinkConflict(_) => ErrorKind::Conflict,
            Error::NoAvailableAddresses(_)
            | Error::NoAvailableAddresses6(_)
            | Error::Netlink { .. }
            | Error::Io { .. }
            | Error::NftMissing(_)
            | Error::Nft { .. } => ErrorKind::Internal,
        }
    }
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
