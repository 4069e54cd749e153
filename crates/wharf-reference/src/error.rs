//! The two error types, [`ReferenceError`] and [`PlatformError`], whose texts are those of
//! distribution/reference, go-digest, the docker CLI and containerd's `platforms`; both are the
//! caller's fault ([`ErrorKind::InvalidArgument`]).

use wharf_types::{go_quote, Classify, ErrorKind};

/// Why a string is not an image reference (or not one usable where it was given).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// `ErrReferenceInvalidFormat`.
    #[error("invalid reference format")]
    InvalidFormat,

    /// `ParseNormalizedNamed`'s check of the repository part (the remote name as completed,
    /// e.g. `library/Busybox`).
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    UppercaseRepository(String),

    /// `ErrNameContainsUppercase`: the reference only parses once lower-cased.
    #[error("repository name must be lowercase")]
    ContainsUppercase,

    /// `ErrNameEmpty`.
    #[error("repository name must have at least one component")]
    Empty,

    /// `ErrNameTooLong`.
    #[error("repository name must not be more than 255 characters")]
    NameTooLong,

    /// A 64-hex name, which Docker reserves for image IDs.
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    HexName(String),

    /// `ErrTagInvalidFormat`.
    #[error("invalid tag format")]
    InvalidTag,

    /// go-digest's `ErrDigestInvalidFormat`.
    #[error("invalid checksum digest format")]
    DigestFormat,

    /// go-digest's `ErrDigestInvalidLength`.
    #[error("invalid checksum digest length")]
    DigestLength,

    /// go-digest's `ErrDigestUnsupported` (also a `sha384` digest, which wharf cannot name).
    #[error("unsupported digest algorithm")]
    DigestUnsupported,

    /// The docker CLI's refusal to tag or commit to `name@digest`.
    #[error("refusing to create a tag with a digest reference")]
    TagWithDigest,

    /// The docker CLI's wrapping of a bad `docker tag` source or target.
    #[error("Error parsing reference: {} is not a valid repository/tag: {error}", go_quote(.input))]
    NotRepositoryTag {
        /// The text given.
        input: String,
        /// Why it was refused.
        error: Box<ReferenceError>,
    },
}

impl Classify for ReferenceError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }
}

/// Why a platform specifier (`os[/arch[/variant]]`) does not parse: containerd's texts, which
/// all end in `: invalid argument` (its `errdefs` wrapping).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// A `*` anywhere in the specifier.
    #[error("{}: wildcards not yet supported: invalid argument", go_quote(.spec))]
    Wildcard {
        /// The specifier given.
        spec: String,
    },

    /// An empty component or one with characters outside `[A-Za-z0-9_.-]`.
    #[error(
        "{} is an invalid component of {}: platform specifier component must match \"^[A-Za-z0-9_.-]+$\": invalid argument",
        go_quote(.part),
        go_quote(.spec)
    )]
    InvalidComponent {
        /// The offending component.
        part: String,
        /// The specifier given.
        spec: String,
    },

    /// A single component that is neither a known OS nor a known architecture.
    #[error("{}: unknown operating system or architecture: invalid argument", go_quote(.spec))]
    Unknown {
        /// The specifier given.
        spec: String,
    },

    /// More than three components.
    #[error("{}: cannot parse platform specifier: invalid argument", go_quote(.spec))]
    TooManyComponents {
        /// The specifier given.
        spec: String,
    },
}

impl Classify for PlatformError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }
}
