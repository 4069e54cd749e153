//! The `overlay2` driver: committed snapshots are stacked as overlayfs lower dirs, an active
//! snapshot's own dir is the upper dir. Layers are unpacked once and shared by every image and
//! container built on them.
//!
//! Many-layer images: the kernel takes the whole option string in one page, so lower dirs are
//! named through short symlinks, `<root>/l/<id in base 36>` → `../snapshots/<id>/fs` (docker's
//! overlay2 `l/` idea, with names a few bytes long). With the default root
//! `/var/lib/wharf/overlay2` a lower costs 29 bytes and 128 layers fit a page; for roots too long
//! for that, [`crate::mount::mount_all`] shortens the lowers further (see its module).

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use wharf_types::Mount;

use crate::core::{Backend, Core, Layout, Snap};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::mount::{mount_all, MountGuard};
use crate::snapshotter::{Kind, Whiteouts};

/// The `overlay2` snapshotter.
pub struct OverlaySnapshotter {
    core: Core<Overlay>,
}

pub(crate) struct Overlay {
    /// Extra options on every overlay mount (`index=off` where the kernel has an index).
    options: Vec<String>,
}

impl OverlaySnapshotter {
    /// The driver name.
    pub const DRIVER: &'static str = "overlay2";

    /// Opens (creating if needed) an overlay snapshotter rooted at `root`, deleting crash
    /// leftovers. Does not probe the kernel: see [`OverlaySnapshotter::detect`].
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let root = std::path::absolute(root.as_ref()).ctx("resolve", root.as_ref())?;
        if let Some(c) = root.to_str().and_then(|s| s.chars().find(|c| matches!(c, ',' | ':' | '\\'))) {
            return Err(Error::Unsupported {
                driver: Self::DRIVER,
                root,
                reason: format!("the path contains {c:?}, which overlay mount options cannot carry"),
            });
        }
        let mut options = Vec::new();
        if Path::new("/sys/module/overlay/parameters/index").exists() {
            options.push("index=off".to_string());
        }
        let core = Core::open(&root, Overlay { options })?;
        let links = links_dir(core.layout());
        fs::create_dir_all(&links).ctx("create dir", &links)?;
        Ok(OverlaySnapshotter { core })
    }

    /// Whether overlayfs works on the filesystem holding `root`: the kernel lists `overlay` in
    /// `/proc/filesystems` and a test mount (two lowers, an upper, a write) in a temporary
    /// directory under `root` succeeds. False on overlay-on-overlay and similar.
    pub fn detect(root: impl AsRef<Path>) -> bool {
        match probe(root.as_ref()) {
            Ok(()) => true,
            Err(e) => {
                tracing::info!(root = %root.as_ref().display(), reason = %e, "overlay2 not supported");
                false
            }
        }
    }

    /// Like [`detect`](Self::detect), with the reason when unsupported.
    pub fn probe(root: impl AsRef<Path>) -> Result<()> {
        probe(root.as_ref())
    }
}

fn links_dir(layout: &Layout) -> PathBuf {
    layout.root().join("l")
}

/// The short name of a snapshot's lower-dir link.
fn link_name(id: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut n = id;
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn link_path(layout: &Layout, id: u64) -> PathBuf {
    links_dir(layout).join(link_name(id))
}

fn link_target(id: u64) -> PathBuf {
    Path::new("../snapshots").join(id.to_string()).join("fs")
}

impl Backend for Overlay {
    fn create(&self, layout: &Layout, snap: Snap<'_>) -> Result<()> {
        let fs_dir = layout.fs(snap.id);
        fs::DirBuilder::new().mode(0o755).create(&fs_dir).ctx("create dir", &fs_dir)?;
        fs::set_permissions(&fs_dir, fs::Permissions::from_mode(0o755)).ctx("chmod", &fs_dir)?;
        if snap.kind == Kind::Active {
            let work = layout.work(snap.id);
            fs::DirBuilder::new().mode(0o700).create(&work).ctx("create dir", &work)?;
        }
        let link = link_path(layout, snap.id);
        // A link left by a crash before this id's metadata existed.
        if fs::symlink_metadata(&link).is_ok() {
            fs::remove_file(&link).ctx("remove", &link)?;
        }
        std::os::unix::fs::symlink(link_target(snap.id), &link).ctx("symlink", &link)?;
        fsutil::sync_dir(&links_dir(layout))
    }

    fn mounts(&self, layout: &Layout, snap: Snap<'_>) -> Vec<Mount> {
        // containerd's rules: no parent → bind of the snapshot's own dir; a view of one layer →
        // read-only bind of that layer; otherwise overlay, with an upper only when active
        // (overlay needs two lowers when it has no upper).
        let bind = |dir: PathBuf, ro: bool| {
            Mount::bind(dir.display().to_string(), vec!["rbind".into(), if ro { "ro" } else { "rw" }.into()])
        };
        if snap.parents.is_empty() {
            return vec![bind(layout.fs(snap.id), snap.kind == Kind::View)];
        }
        if snap.kind != Kind::Active && snap.parents.len() == 1 {
            return vec![bind(layout.fs(snap.parents[0]), true)];
        }
        let mut options = self.options.clone();
        if snap.kind == Kind::Active {
            options.push(format!("workdir={}", layout.work(snap.id).display()));
            options.push(format!("upperdir={}", layout.fs(snap.id).display()));
        }
        let lowers: Vec<String> = snap.parents.iter().map(|p| link_path(layout, *p).display().to_string()).collect();
        options.push(format!("lowerdir={}", lowers.join(":")));
        vec![Mount { typ: "overlay".into(), source: "overlay".into(), target: None, options }]
    }

    fn on_remove(&self, layout: &Layout, id: u64) -> Result<()> {
        let link = link_path(layout, id);
        match fs::remove_file(&link) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", link, e)),
            _ => Ok(()),
        }
    }

    fn cleanup(&self, layout: &Layout, live: &HashSet<u64>) -> Result<()> {
        let dir = links_dir(layout);
        let entries = match fs::read_dir(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            r => r.ctx("read dir", &dir)?,
        };
        for entry in entries {
            let entry = entry.ctx("read dir", &dir)?;
            let path = entry.path();
            let target = fs::read_link(&path).ok();
            let owner = target.as_ref().and_then(|t| {
                let id: u64 = t.parent()?.file_name()?.to_str()?.parse().ok()?;
                (*t == link_target(id) && entry.file_name().to_str() == Some(link_name(id).as_str())).then_some(id)
            });
            if !owner.is_some_and(|id| live.contains(&id)) {
                tracing::info!(path = %path.display(), "removing stale overlay link");
                fs::remove_file(&path).ctx("remove", &path)?;
            }
        }
        Ok(())
    }

    fn whiteouts(&self) -> Whiteouts {
        Whiteouts::Overlay
    }
}

crate::core::snapshotter_via_core!(OverlaySnapshotter);

/// The detection mount: `lowerdir=l2:l1,upperdir=u,workdir=w` on `m`, then a write through it.
fn probe(root: &Path) -> Result<()> {
    let unsupported =
        |reason: String| Error::Unsupported { driver: OverlaySnapshotter::DRIVER, root: root.into(), reason };
    let filesystems = fs::read_to_string("/proc/filesystems").ctx("read", "/proc/filesystems")?;
    if !filesystems.lines().any(|l| l.split_whitespace().last() == Some("overlay")) {
        return Err(unsupported("the kernel has no overlay filesystem".into()));
    }
    fs::create_dir_all(root).ctx("create dir", root)?;
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let dir = root.join(format!(".overlay-probe-{}-{nanos}", std::process::id()));
    let result = (|| {
        for d in ["l1", "l2", "u", "w", "m"] {
            fs::create_dir_all(dir.join(d)).ctx("create dir", dir.join(d))?;
        }
        fs::write(dir.join("l1/a"), b"1").ctx("write", dir.join("l1/a"))?;
        let p = |d: &str| dir.join(d).display().to_string();
        let m = Mount {
            typ: "overlay".into(),
            source: "overlay".into(),
            target: None,
            options: vec![
                format!("lowerdir={}:{}", p("l2"), p("l1")),
                format!("upperdir={}", p("u")),
                format!("workdir={}", p("w")),
            ],
        };
        let guard: MountGuard = mount_all(&[m], &dir.join("m")).map_err(|e| unsupported(e.to_string()))?;
        let ok = fs::read(dir.join("m/a")).ok().as_deref() == Some(b"1".as_slice())
            && fs::write(dir.join("m/b"), b"2").is_ok();
        guard.unmount()?;
        if ok && dir.join("u/b").exists() {
            Ok(())
        } else {
            Err(unsupported("files written through a test mount did not reach the upper dir".into()))
        }
    })();
    fsutil::remove_all(&dir)?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_names_are_short_and_unique() {
        assert_eq!(link_name(0), "0");
        assert_eq!(link_name(35), "z");
        assert_eq!(link_name(36), "10");
        let names: HashSet<String> = (0..5000).map(link_name).collect();
        assert_eq!(names.len(), 5000);
        assert!(link_name(u64::MAX).len() <= 13);
    }

    fn mounts_for(kind: Kind, parents: &[u64]) -> Vec<Mount> {
        let layout = Layout::new(Path::new("/var/lib/wharf/overlay2"));
        Overlay { options: vec![] }.mounts(&layout, Snap { id: 9, kind, parents })
    }

    #[test]
    fn mount_rules_follow_containerd() {
        let m = mounts_for(Kind::Active, &[]);
        assert_eq!(m, vec![Mount::bind("/var/lib/wharf/overlay2/snapshots/9/fs", vec!["rbind".into(), "rw".into()])]);
        let m = mounts_for(Kind::View, &[]);
        assert!(m[0].is_read_only());
        let m = mounts_for(Kind::View, &[3]);
        assert_eq!(m, vec![Mount::bind("/var/lib/wharf/overlay2/snapshots/3/fs", vec!["rbind".into(), "ro".into()])]);
        let m = mounts_for(Kind::View, &[3, 2]);
        assert_eq!(m[0].typ, "overlay");
        assert_eq!(m[0].options, vec!["lowerdir=/var/lib/wharf/overlay2/l/3:/var/lib/wharf/overlay2/l/2"]);
        let m = mounts_for(Kind::Active, &[3]);
        assert_eq!(
            m[0].options,
            vec![
                "workdir=/var/lib/wharf/overlay2/snapshots/9/work",
                "upperdir=/var/lib/wharf/overlay2/snapshots/9/fs",
                "lowerdir=/var/lib/wharf/overlay2/l/3",
            ]
        );
    }

    #[test]
    fn default_root_fits_128_layers_in_a_page() {
        let parents: Vec<u64> = (1..=128).map(|i| 1_000_000 + i).rev().collect();
        let m = mounts_for(Kind::Active, &parents);
        let (_, data) = crate::mount::parse_options(&m[0].options);
        assert!(data.len() < crate::mount::MAX_MOUNT_DATA, "{} bytes", data.len());
    }
}
