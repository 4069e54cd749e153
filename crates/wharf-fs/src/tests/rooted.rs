//! `Root`: every operation stays inside the root, whatever symlinks the tree holds.

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use super::util::Sandbox;
use crate::{FileKind, FileTime, FsError, NodeKind};

#[test]
fn basic_operations() {
    let sb = Sandbox::new();
    let root = sb.root();
    root.mkdir_all("a/b/c", 0o755).unwrap();
    root.mkdir_all("a/b/c", 0o755).unwrap(); // idempotent
    let mut f = root.create_file("a/b/c/f", 0o640).unwrap();
    f.write_all(b"hello").unwrap();
    drop(f);
    let mut s = String::new();
    root.open("/a/b/c/f").unwrap().read_to_string(&mut s).unwrap();
    assert_eq!(s, "hello");
    let m = root.metadata("a/b/c/f").unwrap();
    assert_eq!((m.kind, m.mode, m.size), (FileKind::Regular, 0o640, 5));

    root.symlink("c/f", "a/b/l").unwrap();
    assert_eq!(root.read_link("a/b/l").unwrap(), std::path::Path::new("c/f"));
    assert_eq!(root.metadata("a/b/l").unwrap().kind, FileKind::Symlink);
    root.hard_link("a/b/c/f", "a/h").unwrap();
    assert_eq!(root.metadata("a/h").unwrap().nlink, 2);
    root.mknod("fifo", NodeKind::Fifo, 0o600, (0, 0)).unwrap();
    root.mknod("null", NodeKind::Char, 0o666, (1, 3)).unwrap();
    let n = root.metadata("null").unwrap();
    assert_eq!((n.kind, n.rdev, n.mode), (FileKind::CharDevice, (1, 3), 0o666));
    assert_eq!(root.metadata("fifo").unwrap().kind, FileKind::Fifo);
    // Opening a fifo or a device to read is refused (it would block or have side effects).
    assert!(matches!(root.open("fifo"), Err(FsError::InvalidPath { .. })));
    assert!(matches!(root.open("null"), Err(FsError::InvalidPath { .. })));
    assert!(matches!(root.open("a"), Err(FsError::InvalidPath { .. })));

    root.set_owner("a/h", 1000, 2000).unwrap();
    root.set_mode("a/h", 0o4755).unwrap();
    let t = FileTime { sec: 1_500_000_000, nsec: 123_456_789 };
    root.set_times("a/h", t, t).unwrap();
    root.set_xattr("a/h", "user.k", b"v").unwrap();
    let m = root.metadata("a/b/c/f").unwrap(); // same inode
    assert_eq!((m.uid, m.gid, m.mode, m.mtime), (1000, 2000, 0o4755, t));
    assert_eq!(root.xattrs("a/b/c/f").unwrap(), [("user.k".into(), b"v".to_vec())]);

    assert_eq!(root.read_dir("a").unwrap(), ["b", "h"]);
    root.remove_all("a").unwrap();
    root.remove_all("a").unwrap(); // missing is fine
    assert_eq!(root.read_dir("/").unwrap(), ["fifo", "null"]);
    assert!(matches!(root.remove_all("/"), Err(FsError::InvalidPath { .. })));
    sb.assert_untouched();
}

#[test]
fn dotdot_is_refused_everywhere() {
    let sb = Sandbox::new();
    let root = sb.root();
    assert!(matches!(root.create_file("../sentinel/x", 0o644), Err(FsError::Escape { .. })));
    assert!(matches!(root.mkdir_all("a/../../x", 0o755), Err(FsError::Escape { .. })));
    assert!(matches!(root.symlink("/", "../x"), Err(FsError::Escape { .. })));
    assert!(matches!(root.hard_link("../sentinel/keep", "k"), Err(FsError::Escape { .. })));
    assert!(matches!(root.remove_all("../sentinel"), Err(FsError::Escape { .. })));
    assert!(matches!(root.set_mode("../sentinel/keep", 0o777), Err(FsError::Escape { .. })));
    assert!(root.open("../sentinel/keep").is_err());
    sb.assert_untouched();
}

#[test]
fn symlinks_resolve_inside_the_root() {
    let sb = Sandbox::new();
    let root = sb.root();
    let abs = sb.sentinel();
    root.symlink(&abs, "abs").unwrap();
    root.symlink("../sentinel", "rel").unwrap();
    root.symlink("../../../../../../../../", "up").unwrap();
    for p in ["abs/x", "rel/x", "up/sentinel/x"] {
        assert!(root.create_file(p, 0o644).is_err(), "{p}");
    }
    for p in ["abs/x", "rel/x"] {
        assert!(root.mkdir_all(format!("{p}/y"), 0o755).is_err(), "{p}: a dangling link is not followed by mkdir");
    }
    // Reading through them finds nothing outside either.
    assert!(root.open("abs/keep").is_err());
    assert!(root.open("up/sentinel/keep").is_err());
    // The same names exist inside the root: now they resolve there.
    root.mkdir_all(abs.strip_prefix("/").unwrap(), 0o755).unwrap();
    root.create_file("abs/x", 0o644).unwrap();
    assert!(sb.root_path().join(abs.strip_prefix("/").unwrap()).join("x").exists());
    // `up` resolves to the root itself: missing parents below it are created inside.
    root.mkdir_all("up/sentinel/deeper", 0o755).unwrap();
    assert!(sb.root_path().join("sentinel/deeper").is_dir());
    root.create_file("rel/y", 0o644).unwrap();
    root.create_file("up/sentinel/z", 0o644).unwrap();
    assert!(sb.root_path().join("sentinel/y").exists());
    assert!(sb.root_path().join("sentinel/z").exists());
    sb.assert_untouched();
}

#[test]
fn final_symlinks_are_never_followed() {
    let sb = Sandbox::new();
    let root = sb.root();
    let keep = sb.sentinel().join("keep");
    root.symlink(&keep, "l").unwrap();
    root.symlink("../sentinel/keep", "r").unwrap();
    // chmod of a symlink is a no-op, chown/utimes/xattr act on the link itself.
    root.set_mode("l", 0o777).unwrap();
    root.set_owner("l", 4242, 4242).unwrap();
    root.set_times("l", FileTime::from_secs(5), FileTime::from_secs(5)).unwrap();
    root.set_xattr("l", "trusted.wharf-test", b"x").unwrap();
    assert!(root.create_file("l", 0o644).is_err(), "create through a final symlink");
    assert_eq!(root.metadata("l").unwrap().uid, 4242);
    assert_eq!(root.metadata("l").unwrap().mtime, FileTime::from_secs(5));
    assert_eq!(root.xattrs("l").unwrap(), [("trusted.wharf-test".into(), b"x".to_vec())]);
    root.write_atomic("r", b"new", 0o600).unwrap(); // replaces the link, not its target
    assert_eq!(root.metadata("r").unwrap().kind, FileKind::Regular);
    root.remove_all("l").unwrap();
    assert!(keep.exists());
    assert_eq!(std::fs::metadata(&keep).unwrap().permissions().mode() & 0o7777, 0o644);
    assert!(std::fs::metadata(&keep).unwrap().mtime() > 5);
    let xattrs = crate::Root::new(sb.sentinel()).unwrap().xattrs("keep").unwrap();
    assert!(xattrs.is_empty());
    sb.assert_untouched();
}

#[test]
fn remove_all_does_not_follow_links_in_the_tree() {
    let sb = Sandbox::new();
    let root = sb.root();
    root.mkdir_all("d/e", 0o755).unwrap();
    root.symlink(sb.sentinel(), "d/e/to-sentinel").unwrap();
    root.symlink("../../../sentinel", "d/rel").unwrap();
    root.create_file("d/e/f", 0o644).unwrap();
    root.remove_all("d").unwrap();
    assert!(root.read_dir(".").unwrap().is_empty());
    sb.assert_untouched();
}

#[test]
fn dangling_symlink_in_parent_is_an_error_not_a_mkdir_outside() {
    let sb = Sandbox::new();
    let root = sb.root();
    let target = sb.dir.path().join("not-there");
    root.symlink(&target, "d").unwrap();
    assert!(root.mkdir_all("d/x", 0o755).is_err());
    assert!(!target.exists());
    sb.assert_untouched();
}

#[test]
fn root_itself_metadata() {
    let sb = Sandbox::new();
    let root = sb.root();
    root.set_mode("/", 0o711).unwrap();
    root.set_owner(".", 7, 8).unwrap();
    let m = root.metadata("").unwrap();
    assert_eq!((m.kind, m.mode, m.uid, m.gid), (FileKind::Dir, 0o711, 7, 8));
    sb.assert_untouched();
}
