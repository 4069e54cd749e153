//! The `vfs` driver: every snapshot is a full copy of its parent's tree, mounted by bind. Slow
//! and disk-hungry, but works on any filesystem (overlay-on-overlay, old kernels).

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use wharf_types::Mount;

use crate::core::{Backend, Core, Layout, Snap};
use crate::error::{IoContext, Result};
use crate::fsutil;
use crate::snapshotter::{Info, Kind, Labels, Snapshotter, Usage, Whiteouts};

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

impl Snapshotter for VfsSnapshotter {
    fn driver(&self) -> &'static str {
        Self::DRIVER
    }
    fn root(&self) -> PathBuf {
        self.core.layout().root().to_path_buf()
    }
    fn prepare(&self, key: &str, parent: Option<&str>, labels: Labels) -> Result<Vec<Mount>> {
        self.core.create(key, parent, labels, Kind::Active)
    }
    fn view(&self, key: &str, parent: Option<&str>, labels: Labels) -> Result<Vec<Mount>> {
        self.core.create(key, parent, labels, Kind::View)
    }
    fn mounts(&self, key: &str) -> Result<Vec<Mount>> {
        self.core.mounts(key)
    }
    fn commit(&self, name: &str, key: &str, labels: Labels) -> Result<()> {
        self.core.commit(name, key, labels)
    }
    fn remove(&self, key: &str) -> Result<()> {
        self.core.remove(key)
    }
    fn stat(&self, key: &str) -> Result<Info> {
        self.core.stat(key)
    }
    fn list(&self) -> Result<Vec<Info>> {
        self.core.list()
    }
    fn usage(&self, key: &str) -> Result<Usage> {
        self.core.usage(key)
    }
    fn upper_dir(&self, key: &str) -> Result<PathBuf> {
        self.core.upper_dir(key)
    }
    fn apply_dir(&self, key: &str) -> Result<PathBuf> {
        self.core.apply_dir(key)
    }
    fn whiteouts(&self) -> Whiteouts {
        self.core.backend().whiteouts()
    }
    fn cleanup(&self) -> Result<()> {
        self.core.cleanup()
    }
}
