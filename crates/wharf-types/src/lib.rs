//! Shared vocabulary of wharf: error kinds and the [`Classify`] trait that decides an error's
//! HTTP status in one place, Docker's `filters` argument, events, and time arguments.
//!
//! Invariant: no I/O, no async, no HTTP. Every other crate may depend on this one.

mod error;
mod event;
mod filters;
mod time;

pub use error::{Classify, ErrorKind};
pub use event::{Event, EventType, Scope};
pub use filters::{FilterError, Filters};
pub use time::{format_rfc3339_nanos, parse_timestamp, TimeError, Timestamp};
