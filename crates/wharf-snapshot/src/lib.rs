//! Storage drivers: the [`Snapshotter`] trait (containerd's model: active snapshots by *key*,
//! committed ones by *name*, stacked on a *parent*) and two implementations, `overlay2`
//! ([`OverlaySnapshotter`], layers shared as overlayfs lower dirs) and `vfs`
//! ([`VfsSnapshotter`], full copies mounted by bind). [`open_driver`] and [`detect_driver`] serve
//! the daemon's `--storage-driver`. The `testing` feature adds [`testsuite`], the conformance
//! checks every implementation must pass.
//!
//! # Architecture Invariants
//!
//! - `prepare` and `view` return mounts as data ([`wharf_types::Mount`]); the runtime performs
//!   them. This crate mounts only in its tests, in overlay detection and in the [`mount`]
//!   helper that those use.
//! - This crate never applies layer tars: it manages directories, metadata and mounts, and tells
//!   the image code where to apply ([`Snapshotter::apply_dir`]) and how ([`Whiteouts`]).
//! - A snapshot exists iff its `snapshots/<id>/meta.json` exists; that file is written last
//!   (atomically) and deleted first, and directories without it are deleted at open. See the
//!   `core` module for the layout.
//! - Only committed snapshots are parents; a parent is never removed while it has children.
//! - Every snapshotter is `Send + Sync`, synchronous and internally locked (one `Mutex` per
//!   snapshotter, held for each whole operation); no global state.

mod core;
mod error;
mod fsutil;
pub mod mount;
mod overlay;
mod snapshotter;
#[cfg(feature = "testing")]
pub mod testsuite;
mod vfs;

use std::path::Path;

pub use error::{Error, Result};
pub use overlay::OverlaySnapshotter;
pub use snapshotter::{Info, Kind, Labels, Snapshotter, Usage, Whiteouts};
pub use vfs::VfsSnapshotter;

/// The names `--storage-driver` accepts.
pub const DRIVERS: &[&str] = &[OverlaySnapshotter::DRIVER, VfsSnapshotter::DRIVER];

/// Opens the driver `name` (`"overlay2"` or `"vfs"`) rooted at `root` (e.g.
/// `<data-root>/overlay2`). `overlay2` is probed first and refused where it cannot work.
pub fn open_driver(name: &str, root: impl AsRef<Path>) -> Result<Box<dyn Snapshotter>> {
    let root = root.as_ref();
    match name {
        OverlaySnapshotter::DRIVER => {
            OverlaySnapshotter::probe(root)?;
            Ok(Box::new(OverlaySnapshotter::open(root)?))
        }
        VfsSnapshotter::DRIVER => Ok(Box::new(VfsSnapshotter::open(root)?)),
        _ => Err(Error::UnknownDriver { name: name.into() }),
    }
}

/// The driver to use when none is configured: `"overlay2"` when overlayfs works on the
/// filesystem holding `root` (a test mount in a temporary directory under it), else `"vfs"`.
pub fn detect_driver(root: impl AsRef<Path>) -> &'static str {
    if OverlaySnapshotter::detect(root) {
        OverlaySnapshotter::DRIVER
    } else {
        VfsSnapshotter::DRIVER
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_types::{Classify, ErrorKind};

    #[test]
    fn unknown_driver_is_invalid_argument() {
        let dir = tempfile::tempdir().unwrap();
        let err = open_driver("zfs", dir.path()).err().unwrap();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert_eq!(err.to_string(), "driver not supported: zfs");
    }

    #[test]
    fn vfs_opens_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let s = open_driver("vfs", dir.path().join("vfs")).unwrap();
        assert_eq!(s.driver(), "vfs");
        assert_eq!(s.whiteouts(), Whiteouts::Delete);
    }
}
