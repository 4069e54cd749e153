//! The conformance suite on the `overlay2` driver (skipped where overlayfs does not work).

use std::path::Path;

use wharf_snapshot::{OverlaySnapshotter, Snapshotter};

fn open(root: &Path) -> wharf_snapshot::Result<Box<dyn Snapshotter>> {
    Ok(Box::new(OverlaySnapshotter::open(root)?))
}

fn supported(base: &Path) -> bool {
    OverlaySnapshotter::detect(base)
}

wharf_snapshot::snapshotter_suite!(open, supported);
