//! wharf-build (layer 2): the classic builder (`POST /build` with `Builder-Version: 1`).
//!
//! A Dockerfile ([`wharf_dockerfile`]) is executed stage by stage, instruction by instruction,
//! as dockerd's classic builder does: every step commits an image on the previous one through
//! [`wharf_image::store::ImageStore::commit`] — config-only steps as an empty layer, COPY/ADD as a
//! layer tar made from the copied files, RUN through a container ([`RunStep`], implemented by
//! `wharfd` over the container lifecycle, so this crate never depends on `wharf-container`).
//! Steps are cached by (parent image, step key) in the daemon's database ([`MIGRATIONS`]).
//!
//! - [`Builder::build`]: one build over an extracted context directory, reporting Docker's
//!   JSON message stream as [`Progress`] items.
//! - [`context`]: the build context (a tar, maybe gzipped) extracted through `wharf_fs`, and
//!   `.dockerignore` applied.
//!
//! # Invariants
//! - A source path of COPY/ADD never reads outside the context: `..` is refused, symlinks are
//!   resolved and must stay inside, regular files are opened through `wharf_fs::Root`.
//! - Tags are applied only after every step succeeded: a failed build tags nothing.

mod cache;
pub mod context;
mod copy;
mod exec;

pub use cache::{COMPONENT, MIGRATIONS};
pub use exec::{BuildOptions, Builder, RunOutcome, RunRequest, RunStep};
pub use wharf_types::Progress;

/// A failed build: the message Docker shows (`The command '/bin/sh -c false' returned a
/// non-zero code: 1`, `COPY failed: …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError(pub String);

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

impl BuildError {
    pub(crate) fn new(msg: impl Into<String>) -> BuildError {
        BuildError(msg.into())
    }
}

/// The first 12 hex characters of an ID (without `sha256:`).
pub fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}
