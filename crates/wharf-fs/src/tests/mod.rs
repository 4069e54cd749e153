//! Tests of the whole crate, run as root on a real filesystem (tempdirs): rooted operations,
//! apply/diff round trips, whiteouts in both modes (with a real overlayfs mount), hostile
//! layers, and random input.

mod hostile;
mod random;
mod rooted;
pub(crate) mod roundtrip;
pub(crate) mod util;
pub(crate) mod whiteouts;
