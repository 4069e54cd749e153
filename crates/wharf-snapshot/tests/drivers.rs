//! `open_driver` and `detect_driver`, the daemon's `--storage-driver` entry points.

use wharf_snapshot::{detect_driver, open_driver, OverlaySnapshotter, Whiteouts};

fn as_root() -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    assert!(std::env::var("WHARF_IT").ok().as_deref() != Some("1"), "needs root and WHARF_IT=1 forbids skipping");
    eprintln!("skipping: needs root");
    false
}

#[test]
fn detection_picks_overlay2_where_it_mounts() {
    if !as_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let driver = detect_driver(dir.path());
    let overlay = std::fs::read_to_string("/proc/filesystems").unwrap().contains("\toverlay");
    if overlay {
        assert_eq!(driver, "overlay2");
        let s = open_driver(driver, dir.path().join(driver)).unwrap();
        assert_eq!((s.driver(), s.whiteouts()), ("overlay2", Whiteouts::Overlay));
    } else {
        assert_eq!(driver, "vfs");
    }
    // The probe leaves nothing behind.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.iter().all(|n| n == "overlay2"), "{left:?}");
}

#[test]
fn overlay_on_overlay_is_not_supported() {
    if !as_root() || !OverlaySnapshotter::detect(std::env::temp_dir()) {
        return;
    }
    // Build an overlay mount and probe inside it.
    let dir = tempfile::tempdir().unwrap();
    let s = OverlaySnapshotter::open(dir.path().join("s")).unwrap();
    use wharf_snapshot::Snapshotter;
    s.prepare("a", None, Default::default()).unwrap();
    s.commit("base", "a", Default::default()).unwrap();
    let mounts = s.prepare("ctr", Some("base"), Default::default()).unwrap();
    let target = dir.path().join("m");
    std::fs::create_dir(&target).unwrap();
    let guard = wharf_snapshot::mount::mount_all(&mounts, &target).unwrap();
    assert!(!OverlaySnapshotter::detect(target.join("nested")));
    assert_eq!(detect_driver(target.join("nested2")), "vfs");
    guard.unmount().unwrap();
}
