//! Whiteouts and opaque directories in both modes, checked against a real overlayfs mount.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::roundtrip::{diff_bytes, member_paths};
use super::util::{describe, RawTar, Sandbox};
use crate::{apply_layer, ApplyOptions, DiffOptions, DiffSource, FileKind, Root, WhiteoutMode};

/// The lower content the layers below change.
fn lower_tree(root: &Root) {
    for d in ["bin/tools", "etc", "a/b/c", "keep"] {
        root.mkdir_all(d, 0o755).unwrap();
    }
    for f in [
        "file1",
        "etc/my-app-config",
        "bin/my-app-binary",
        "bin/my-app-tools",
        "bin/tools/my-app-tool-one",
        "a/b/c/bar",
        "keep/x",
        "gone-dir-file",
    ] {
        root.create_file(f, 0o644).unwrap().write_all(f.as_bytes()).unwrap();
    }
    root.mkdir_all("gone-dir/sub", 0o755).unwrap();
}

/// Deletes file1, gone-dir, keep/x; makes bin opaque (keeping a new file) and re-creates
/// a/b/c with only foo (the spec's example, marker last).
fn layer() -> Vec<u8> {
    let mut t = RawTar::new();
    t.file(".wh.file1", b"");
    t.file(".wh.gone-dir", b"");
    t.dir("a/");
    t.dir("a/b/");
    t.dir("a/b/c/");
    t.file("a/b/c/foo", b"foo");
    t.file("a/.wh..wh..opq", b"");
    t.dir("bin/");
    t.file("bin/.wh..wh..opq", b"");
    t.file("bin/new", b"new");
    t.file("keep/.wh.x", b"");
    t.file("keep/.wh..wh.plnk", b""); // aufs metadata: skipped
    t.file("added", b"added");
    t.file(".wh.added", b""); // same-layer file: the whiteout does not hide it
    t.finish()
}

fn names(root: &Root, dir: &str) -> Vec<String> {
    root.read_dir(dir).unwrap().into_iter().map(|n| n.to_string_lossy().into_owned()).collect()
}

fn check_merged_view(root: &Root) {
    assert_eq!(names(root, "."), ["a", "added", "bin", "etc", "gone-dir-file", "keep"]);
    assert_eq!(names(root, "bin"), ["new"]);
    assert_eq!(names(root, "a"), ["b"]);
    assert_eq!(names(root, "a/b/c"), ["foo"]);
    assert!(names(root, "keep").is_empty());
    assert_eq!(names(root, "etc"), ["my-app-config"]);
}

#[test]
fn remove_mode_deletes_and_hides_lower_content_only() {
    let sb = Sandbox::new();
    let r = sb.root();
    lower_tree(&r);
    let stats = apply_layer(&r, &layer()[..], &ApplyOptions::default()).unwrap();
    assert_eq!(stats.skipped, 2, "aufs metadata and the same-layer whiteout");
    check_merged_view(&r);
    assert!(!describe(&r).keys().any(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(".wh."))));
    sb.assert_untouched();
}

/// An overlayfs mount, unmounted on drop.
pub(crate) struct Overlay {
    pub(crate) merged: PathBuf,
}

impl Overlay {
    /// Mounts `lower` (a `:`-separated list, topmost first) under `upper`; `None` if the kernel
    /// refuses.
    pub(crate) fn mount(lower: &Path, upper: &Path, work: &Path, merged: &Path) -> Option<Overlay> {
        let opts = format!("lowerdir={},upperdir={},workdir={}", lower.display(), upper.display(), work.display());
        let ok =
            Command::new("mount").args(["-t", "overlay", "overlay", "-o", &opts]).arg(merged).status().ok()?.success();
        ok.then(|| Overlay { merged: merged.to_path_buf() })
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.merged).status();
    }
}

#[test]
fn overlay_mode_makes_whiteout_devices_and_opaque_dirs_that_overlayfs_honours() {
    let lower = Sandbox::new();
    lower_tree(&lower.root());
    let sb = Sandbox::new();
    let r = sb.root();
    let opts = ApplyOptions { whiteout_mode: WhiteoutMode::Overlay, ..Default::default() };
    apply_layer(&r, &layer()[..], &opts).unwrap();
    let wh = r.metadata("file1").unwrap();
    assert_eq!((wh.kind, wh.rdev), (FileKind::CharDevice, (0, 0)));
    assert_eq!(r.metadata("keep/x").unwrap().kind, FileKind::CharDevice);
    assert_eq!(r.metadata("added").unwrap().kind, FileKind::Regular);
    assert!(r.xattrs("bin").unwrap().contains(&("trusted.overlay.opaque".into(), b"y".to_vec())));
    assert!(r.xattrs("a").unwrap().contains(&("trusted.overlay.opaque".into(), b"y".to_vec())));
    assert!(r.xattrs("keep").unwrap().is_empty());

    // The kernel agrees.
    let extra = tempfile::tempdir().unwrap();
    let (work, merged) = (extra.path().join("work"), extra.path().join("merged"));
    std::fs::create_dir(&work).unwrap();
    std::fs::create_dir(&merged).unwrap();
    let mounted = Overlay::mount(&lower.root_path(), &sb.root_path(), &work, &merged);
    let Some(mount) = mounted else {
        if std::env::var_os("WHARF_IT").is_some() {
            panic!("cannot mount overlayfs");
        }
        eprintln!("skipping the overlayfs check: mount failed");
        return;
    };
    check_merged_view(&Root::new(&mount.merged).unwrap());
    drop(mount);

    // And the upper diffs back to the same change: applied (Remove mode) onto a copy of the
    // lower tree it gives the merged view.
    let (tar, _) = diff_bytes(DiffSource::OverlayUpper { upper: &r }, &DiffOptions::default());
    let paths = member_paths(&tar);
    for p in [".wh.file1", ".wh.gone-dir", "a/.wh..wh..opq", "bin/.wh..wh..opq", "keep/.wh.x"] {
        assert!(paths.contains(&p.to_string()), "{p} missing from {paths:?}");
    }
    let opq = paths.iter().position(|p| p == "bin/.wh..wh..opq").unwrap();
    assert_eq!(paths[opq - 1], "bin/", "the opaque marker follows its directory");
    let copy = Sandbox::new();
    lower_tree(&copy.root());
    apply_layer(&copy.root(), &tar[..], &ApplyOptions::default()).unwrap();
    check_merged_view(&copy.root());
    for s in [&lower, &sb, &copy] {
        s.assert_untouched();
    }
}

#[test]
fn opaque_marker_before_the_new_children() {
    let sb = Sandbox::new();
    let r = sb.root();
    lower_tree(&r);
    let mut t = RawTar::new();
    t.dir("a/");
    t.file("a/.wh..wh..opq", b"");
    t.dir("a/b/");
    t.file("a/b/new", b"");
    apply_layer(&r, &t.finish()[..], &ApplyOptions::default()).unwrap();
    assert_eq!(names(&r, "a"), ["b"]);
    assert_eq!(names(&r, "a/b"), ["new"]);
}

#[test]
fn whiteout_of_missing_path_is_a_no_op_and_top_level_opaque_works() {
    let sb = Sandbox::new();
    let r = sb.root();
    lower_tree(&r);
    let mut t = RawTar::new();
    t.file("nope/.wh.nothing", b"");
    t.file(".wh.not-there", b"");
    t.file("survivor", b"");
    t.file(".wh..wh..opq", b"");
    apply_layer(&r, &t.finish()[..], &ApplyOptions::default()).unwrap();
    assert_eq!(names(&r, "."), ["survivor"]);
    sb.assert_untouched();
}
