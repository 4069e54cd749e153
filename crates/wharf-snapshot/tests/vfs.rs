//! The conformance suite on the `vfs` driver.

use std::path::Path;

use wharf_snapshot::{Snapshotter, VfsSnapshotter};

fn open(root: &Path) -> wharf_snapshot::Result<Box<dyn Snapshotter>> {
    Ok(Box::new(VfsSnapshotter::open(root)?))
}

wharf_snapshot::snapshotter_suite!(open);
