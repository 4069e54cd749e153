//! wharf-image: image references, manifests and archives — the pure part of the image
//! capability (layer 2). It parses and writes; it never touches the daemon's storage, which it
//! reaches only through the small [`archive::BlobSink`] / [`archive::BlobSource`] traits that
//! `wharfd` implements over the content store.
//!
//! - [`reference`]: Docker's reference grammar and normalization ([`ImageRef`]), re-exported
//!   from `wharf-reference` (shared with the CLI).
//! - [`model`]: Docker v2 schema 2 / OCI manifests and indexes, configs, media types,
//!   platforms and index selection, chain IDs, history.
//! - [`archive`]: `docker save` / `docker load` streams (docker-archive and OCI layout).
//!
//! # Architecture Invariants
//! - **The image ID is the config digest**, as in Docker: nothing here invents another ID.
//! - **Archive member paths never touch the filesystem**: members go to a [`archive::BlobSink`]
//!   as content-addressed blobs; a path with `..` or an absolute path is refused outright, and
//!   links are resolved inside the archive's own namespace.
//! - Every digest-named input is verified while it streams; every buffered input is bounded.
//! - No I/O besides the streams the caller hands in; no global state.

pub mod archive;
mod digest;
mod error;
pub mod model;
/// Image references as Docker normalizes them: `wharf-reference`'s, re-exported.
pub mod reference {
    pub use wharf_reference::{
        is_short_id_candidate, short_id_hex, ImageRef, ReferenceError, DEFAULT_DOMAIN, DEFAULT_TAG,
        NAME_TOTAL_LENGTH_MAX,
    };
}
pub mod store;

/// The digest type used across this crate (oci-spec's, as carried by descriptors).
pub use oci_spec::image::Digest;

pub use digest::{parse_digest, sha256_digest};
pub use error::{ImageError, Result};
pub use model::{chain_ids, select_manifest, Platform};
pub use reference::{is_short_id_candidate, ImageRef};
