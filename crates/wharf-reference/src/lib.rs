//! wharf-reference: Docker image references and OCI platforms — parsing, normalization and
//! familiar names, with Docker's exact error texts. One copy shared by the daemon
//! (`wharf-image`) and the CLI (`wharf`).
//!
//! - [`ImageRef`]: a port of `github.com/distribution/reference` (`ParseNormalizedNamed`,
//!   `ParseDockerRef`, familiar names, `TagNameOnly`), plus the docker CLI's `ParseAnyReference`
//!   ([`parse_any_reference`]) and its `tag` / `commit` target rules ([`tag_target`],
//!   [`commit_target`], [`check_tag_source`]), and the short-ID helpers Docker's lookups use.
//! - [`Platform`]: containerd's `platforms` package — `Parse` ([`Platform::parse`]), `Normalize`
//!   ([`Platform::new`], [`Platform::normalized`]), `Format` (`Display`), the host's default
//!   platform and the compatibility order used to pick an image from an index.
//!
//! # Invariants
//! - Pure: no I/O, no async, no global state; only `wharf-types` of the workspace, so client
//!   crates may use it.
//! - Error texts are Docker's byte for byte (`invalid reference format: repository name
//!   (library/B) must be lowercase`); both error types classify as `InvalidArgument`.

mod error;
mod grammar;
mod platform;
mod reference;

pub use error::{PlatformError, ReferenceError};
pub use platform::Platform;
pub use reference::{
    check_tag_source, commit_target, is_short_id_candidate, parse_any_reference, short_id_hex, tag_target,
    AnyReference, ImageRef, DEFAULT_DOMAIN, DEFAULT_TAG, NAME_TOTAL_LENGTH_MAX,
};
