//! Shared vocabulary of wharf: error kinds and the [`Classify`] trait that decides an error's
//! HTTP status in one place, Docker's `filters` argument, events, time arguments, and Go's string quoting.
//!
//! Invariant: no I/O, no async, no HTTP. Every other crate may depend on this one.

mod detach;
mod digest;
mod error;
mod event;
mod filters;
mod mount;
mod path;
mod progress;
mod quote;
mod time;

pub use detach::{parse_detach_keys, Escape, EscapeProxy, DEFAULT_DETACH_KEYS};
pub use digest::{Algorithm, Digest, DigestError, Digester};
pub use error::{Classify, ErrorKind};
pub use event::{Event, EventType, Scope};
pub use filters::{FilterError, Filters};
pub use mount::Mount;
pub use path::clean_path;
pub use progress::Progress;
pub use quote::go_quote;
pub use time::{format_rfc3339_nanos, parse_go_duration, parse_timestamp, TimeError, Timestamp};
