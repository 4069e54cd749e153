//! The `vfs` driver: every snapshot is a full copy of its parent's tree, mounted by bind. Slow
//! and disk-hungry, but works on any filesystem (overlay-on-overlay, old kernels).

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use wharf_types::Mount;

use crate::core::{Backend, Core, Layout, Snap};
use crate::error::{IoContext, Result};
use crate::fsutil;
use crate::snapshotter::{Kind, Whiteouts};

/// The `vfs` snapshotter.
pub struct VfsSnapshotter {
    core: Core<Vfs>,
}

pub(crate) struct Vfs;

impl VfsSnapshotter {
    /// The driver name.
    pub const DRIVER: &'static str = "vfs";

    /// Opens (creating if needed) a vfs snapshotter rooted at `root`, deleting crash leftovers.
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let root = std::path::absolute(root.as_ref()).ctx("resolve", root.as_ref())?;
        Ok(VfsSnapshotter { core: Core::open(&root, Vfs)? })
    }
}

impl Backend for Vfs {
    fn create(&self, layout: &Layout, snap: Snap<'_>) -> Result<()> {
        let fs_dir = layout.fs(snap.id);
        match snap.parents.first() {
            Some(parent) => fsutil::copy_tree(&layout.fs(*parent), &fs_dir),
            None => {
                fs::DirBuilder::new().mode(0o755).create(&fs_dir).ctx("create dir", &fs_dir)?;
                fs::set_permissions(&fs_dir, fs::Permissions::from_mode(0o755)).ctx("chmod", &fs_dir)
            }
        }
    }

    fn mounts(&self, layout: &Layout, snap: Snap<'_>) -> Vec<Mount> {
        let ro = if snap.kind == Kind::Active { "rw" } else { "ro" };
        vec![Mount::bind(layout.fs(snap.id).display().to_string(), vec!["rbind".into(), ro.into()])]
    }

    fn on_remove(&self, _layout: &Layout, _id: u64) -> Result<()> {
        Ok(())
    }

    fn cleanup(&self, _layout: &Layout, _live: &HashSet<u64>) -> Result<()> {
        Ok(())
    }

    fn whiteouts(&self) -> Whiteouts {
        Whiteouts::Delete
    }
}

crate::core::snapshotter_via_core!(VfsSnapshotter);
