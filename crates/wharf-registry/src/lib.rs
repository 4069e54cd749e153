//! The OCI distribution protocol. Today the registry **server** ([`server`]): an OCI
//! Distribution Spec v1.1 registry (the API Docker's `registry:2` / distribution serves) on a
//! filesystem layout of its own, with htpasswd basic auth, a read-only mode, TLS and garbage
//! collection; `wharf-registryd` is its binary. The **client** ([`client`]) is what the daemon
//! pulls and pushes with: endpoints (insecure registries, mirrors), auth (Basic, Bearer tokens),
//! manifests, streamed blobs, uploads.
//!
//! [`name`] and [`manifest`] are the parts both sides share: the spec's grammar for repository
//! names, tags and references, and what a registry reads of a manifest.

pub mod client;
pub mod manifest;
pub mod name;
pub mod server;

pub use name::{NameError, Reference, RepoName, Tag};
pub use server::{Config, Registry};
