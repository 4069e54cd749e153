//! Storage drivers and layer application together: the same two layers — the second deleting a
//! file and making a directory opaque — give the same merged tree on overlay2 and on vfs, and
//! that tree is what the OCI layer spec says it must be.

use std::collections::BTreeMap;
use std::path::Path;

use wharf_fs::{apply_layer, ApplyOptions, Root, WhiteoutMode};
use wharf_snapshot::{Labels, OverlaySnapshotter, Snapshotter, VfsSnapshotter, Whiteouts};

/// A tar of `(path, Some(content))` files and `(path/, None)` directories.
fn layer(entries: &[(&str, Option<&str>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, content) in entries {
        let mut h = tar::Header::new_ustar();
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        match content {
            Some(text) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(text.len() as u64);
                b.append_data(&mut h, path, text.as_bytes()).unwrap();
            }
            None => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                b.append_data(&mut h, path, std::io::empty()).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

/// Every path under `dir` with its content (files) or `/` (directories).
fn tree(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                out.insert(rel, "/".into());
                walk(base, &p, out);
            } else if ft.is_file() {
                out.insert(rel, std::fs::read_to_string(&p).unwrap());
            } else {
                out.insert(rel, format!("{ft:?}"));
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

fn merged_tree(s: &dyn Snapshotter, layers: &[Vec<u8>], scratch: &Path) -> BTreeMap<String, String> {
    let mode = match s.whiteouts() {
        Whiteouts::Overlay => WhiteoutMode::Overlay,
        Whiteouts::Delete => WhiteoutMode::Remove,
    };
    let mut parent: Option<String> = None;
    for (i, tar) in layers.iter().enumerate() {
        let key = format!("extract-{i}");
        s.prepare(&key, parent.as_deref(), Labels::new()).unwrap();
        let root = Root::new(s.apply_dir(&key).unwrap()).unwrap();
        let opts = ApplyOptions { whiteout_mode: mode, ..Default::default() };
        apply_layer(&root, &tar[..], &opts).unwrap();
        let name = format!("layer-{i}");
        s.commit(&name, &key, Labels::new()).unwrap();
        parent = Some(name);
    }
    let mounts = s.view("view", parent.as_deref(), Labels::new()).unwrap();
    let target = scratch.join(format!("mnt-{}", s.driver()));
    std::fs::create_dir_all(&target).unwrap();
    let guard = wharf_snapshot::mount::mount_all(&mounts, &target).unwrap();
    let t = tree(&target);
    drop(guard);
    t
}

#[test]
fn whiteouts_and_opaque_dirs_give_the_same_tree_on_overlay2_and_vfs() {
    if !wharf_it::have_root() {
        return;
    }
    let lower = layer(&[
        ("a/", None),
        ("a/keep", Some("keep")),
        ("a/gone", Some("gone")),
        ("opq/", None),
        ("opq/old", Some("old")),
        ("opq/sub/", None),
        ("opq/sub/deep", Some("deep")),
        ("top.txt", Some("v1")),
    ]);
    let upper = layer(&[
        ("a/", None),
        ("a/.wh.gone", Some("")),
        ("opq/", None),
        ("opq/.wh..wh..opq", Some("")),
        ("opq/new", Some("new")),
        ("top.txt", Some("v2")),
        ("added", Some("added")),
    ]);
    let expected: BTreeMap<String, String> =
        [("a", "/"), ("a/keep", "keep"), ("opq", "/"), ("opq/new", "new"), ("top.txt", "v2"), ("added", "added")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();

    let dir = tempfile::Builder::new().prefix("wharf-layers-").tempdir_in("/var/tmp").unwrap();
    let vfs = VfsSnapshotter::open(dir.path().join("vfs")).unwrap();
    let vfs_tree = merged_tree(&vfs, &[lower.clone(), upper.clone()], dir.path());
    assert_eq!(vfs_tree, expected, "vfs");

    let overlay_root = dir.path().join("overlay2");
    if !OverlaySnapshotter::detect(&overlay_root) {
        assert!(!wharf_it::strict(), "overlayfs is expected on this machine");
        eprintln!("overlay2 not available here: compared vfs only");
        return;
    }
    let overlay = OverlaySnapshotter::open(&overlay_root).unwrap();
    let overlay_tree = merged_tree(&overlay, &[lower, upper], dir.path());
    assert_eq!(overlay_tree, vfs_tree, "overlay2 and vfs disagree");
}
