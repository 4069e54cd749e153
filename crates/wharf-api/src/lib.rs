//! The Docker Engine API as data: wire models (bollard-stubs' generated types plus the ones it
//! gets wrong or lacks), API versions and the `{"message": …}` error body.
//!
//! Invariant: pure data and (de)serialisation; no HTTP, no I/O, no domain logic. Only
//! `wharf-server` (and clients) depend on it; domain crates never see these types.
//! **Boundary**: field names and shapes here are the public contract with docker, docker-py,
//! bollard and compose.

mod event;
mod version;

pub use bollard_stubs::models;
pub use event::{EventActorWire, EventMessageWire};
pub use version::{ApiVersion, CURRENT_API_VERSION, MIN_API_VERSION};

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErrorBody {
    /// What went wrong, in Docker's words.
    pub message: String,
}
