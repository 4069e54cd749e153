//! Hostile layers: each either fails with a clear error or is confined, and nothing is ever
//! created or changed beside the root (the sentinel directory) or on the host.

use std::os::unix::fs::MetadataExt;

use super::util::{RawTar, Sandbox};
use crate::{apply_layer, ApplyOptions, FileKind, FsError, WhiteoutMode};

fn apply(sb: &Sandbox, layer: &[u8]) -> crate::Result<crate::ApplyStats> {
    apply_layer(&sb.root(), layer, &ApplyOptions::default())
}

fn apply_both_modes(layer: &[u8]) -> Vec<crate::Result<crate::ApplyStats>> {
    [WhiteoutMode::Remove, WhiteoutMode::Overlay]
        .into_iter()
        .map(|whiteout_mode| {
            let sb = Sandbox::new();
            let r = apply_layer(&sb.root(), layer, &ApplyOptions { whiteout_mode, ..Default::default() });
            sb.assert_untouched();
            r
        })
        .collect()
}

#[test]
fn dotdot_paths_are_refused() {
    for name in ["../escape", "a/../../escape", "./../sentinel/keep", "/../escape", "a/b/../../../escape"] {
        let mut t = RawTar::new();
        t.file(name, b"evil");
        for r in apply_both_modes(&t.finish()) {
            assert!(matches!(r, Err(FsError::Escape { .. })), "{name}: {r:?}");
        }
    }
    // The same with a PAX path and a GNU long name.
    let mut t = RawTar::new();
    t.pax(&[("path", b"../../sentinel/keep")]);
    t.file("innocent", b"evil");
    assert!(matches!(apply(&Sandbox::new(), &t.finish()), Err(FsError::Escape { .. })));
    let mut t = RawTar::new();
    t.entry(b'L', b"././@LongLink", b"", 0o644, b"../sentinel/new\0");
    t.file("innocent", b"evil");
    assert!(matches!(apply(&Sandbox::new(), &t.finish()), Err(FsError::Escape { .. })));
}

#[test]
fn absolute_paths_are_relative_to_the_root() {
    let sb = Sandbox::new();
    let abs = sb.sentinel().join("keep");
    let mut t = RawTar::new();
    t.file(abs.to_str().unwrap(), b"inside");
    t.file("/etc/wharf-fs-test-abs", b"inside");
    apply(&sb, &t.finish()).unwrap();
    let inside = sb.root_path().join(abs.strip_prefix("/").unwrap());
    assert_eq!(std::fs::read(inside).unwrap(), b"inside");
    assert!(sb.root_path().join("etc/wharf-fs-test-abs").exists());
    assert!(!std::path::Path::new("/etc/wharf-fs-test-abs").exists());
    sb.assert_untouched();
}

#[test]
fn symlink_escapes_land_inside_the_root_or_fail() {
    let sb = Sandbox::new();
    let sentinel = sb.sentinel();
    let s = sentinel.to_str().unwrap();
    // Parents that do not exist inside the root: an error, nothing outside.
    for target in [s, "../sentinel", "../../../../../../../../..", "/"] {
        let mut t = RawTar::new();
        t.symlink("a", target);
        let rest = if target == "/" || target.starts_with("../../") {
            format!("a/{}/evil", s.trim_start_matches('/'))
        } else {
            "a/evil".to_string()
        };
        t.file(&rest, b"evil");
        t.entry(b'5', format!("{rest}-dir/").as_bytes(), b"", 0o755, b"");
        let sb = Sandbox::new();
        let r = apply(&sb, &t.finish());
        // Either an error (parent missing inside the root) or written inside the root.
        if r.is_ok() {
            let inside = sb.root_path().join(s.trim_start_matches('/')).join("evil");
            assert!(inside.exists(), "{target}: ok but not inside");
        }
        sb.assert_untouched();
    }
    // `a -> /etc` then `a/passwd` with `<root>/etc` present: lands in `<root>/etc/passwd`.
    let sb = Sandbox::new();
    std::fs::create_dir(sb.root_path().join("etc")).unwrap();
    let before = std::fs::metadata("/etc/passwd").map(|m| (m.ino(), m.mtime())).ok();
    let mut t = RawTar::new();
    t.symlink("a", "/etc");
    t.file("a/passwd", b"root::0:0::/:/bin/sh\n");
    t.symlink("b", "../../../../etc");
    t.file("b/shadow", b"x");
    apply(&sb, &t.finish()).unwrap();
    assert_eq!(std::fs::read(sb.root_path().join("etc/passwd")).unwrap(), b"root::0:0::/:/bin/sh\n");
    assert!(sb.root_path().join("etc/shadow").exists());
    assert_eq!(std::fs::metadata("/etc/passwd").map(|m| (m.ino(), m.mtime())).ok(), before);
    sb.assert_untouched();
}

#[test]
fn symlink_then_file_replaces_the_link() {
    let sb = Sandbox::new();
    let keep = sb.sentinel().join("keep");
    let mut t = RawTar::new();
    t.symlink("f", keep.to_str().unwrap());
    t.file("f", b"evil");
    t.symlink("d", sb.sentinel().to_str().unwrap());
    t.dir("d/");
    t.file("d/evil", b"evil");
    t.symlink("h", "../sentinel/keep");
    t.hardlink("h2", "h");
    apply(&sb, &t.finish()).unwrap();
    let r = sb.root();
    assert_eq!(r.metadata("f").unwrap().kind, FileKind::Regular);
    assert_eq!(r.metadata("d").unwrap().kind, FileKind::Dir);
    assert!(sb.root_path().join("d/evil").exists());
    // A hard link to a symlink links the symlink itself: the new name is the same symlink
    // (resolved inside the root by anyone following it), not the file it points at.
    let h2 = r.metadata("h2").unwrap();
    assert_eq!((h2.kind, h2.nlink), (FileKind::Symlink, 2));
    sb.assert_untouched();
}

#[test]
fn pre_existing_symlinks_in_the_lower_tree_are_not_followed_out() {
    let sb = Sandbox::new();
    std::os::unix::fs::symlink(sb.sentinel(), sb.root_path().join("lowerlink")).unwrap();
    std::os::unix::fs::symlink("../sentinel/keep", sb.root_path().join("filelink")).unwrap();
    let mut t = RawTar::new();
    t.file("lowerlink/evil", b"evil");
    assert!(apply(&sb, &t.finish()).is_err());
    let mut t = RawTar::new();
    t.file("lowerlink/.wh.keep", b"");
    t.file(".wh.filelink", b"");
    apply(&sb, &t.finish()).unwrap();
    assert!(!sb.root_path().join("filelink").exists());
    let mut t = RawTar::new();
    t.file("lowerlink/.wh..wh..opq", b"");
    apply(&sb, &t.finish()).unwrap();
    sb.assert_untouched();
}

#[test]
fn hard_links_outside_are_refused() {
    let sb = Sandbox::new();
    let keep = sb.sentinel().join("keep");
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (vec![("l", "../sentinel/keep".into())], "dotdot"),
        (vec![("l", keep.to_str().unwrap().into())], "absolute: relative to the root, missing there"),
        (vec![("l", "/etc/passwd".into())], "host file by absolute path"),
    ];
    for (links, what) in cases {
        let mut t = RawTar::new();
        for (name, target) in &links {
            t.hardlink(name, target);
        }
        let sb = Sandbox::new();
        assert!(apply(&sb, &t.finish()).is_err(), "{what}");
        sb.assert_untouched();
    }
    // Through a symlink to outside: resolved inside the root, so missing.
    let sb = Sandbox::new();
    let mut t = RawTar::new();
    t.symlink("s", sb.sentinel().to_str().unwrap());
    t.hardlink("l", "s/keep");
    t.symlink("up", "../../../..");
    t.hardlink("l2", &format!("up/{}", keep.to_str().unwrap()));
    assert!(apply(&sb, &t.finish()).is_err());
    sb.assert_untouched();
    // A hard link to a directory fails.
    let mut t = RawTar::new();
    t.dir("d/");
    t.hardlink("l", "d");
    assert!(apply(&Sandbox::new(), &t.finish()).is_err());
}

#[test]
fn bad_whiteouts() {
    for name in ["../.wh.sentinel", "a/../../.wh.sentinel", ".wh..", ".wh...", ".wh."] {
        let mut t = RawTar::new();
        t.file(name, b"");
        for r in apply_both_modes(&t.finish()) {
            assert!(matches!(r, Err(FsError::Escape { .. } | FsError::InvalidPath { .. })), "{name}: {r:?}");
        }
    }
}

#[test]
fn oversized_names_and_records_are_refused() {
    let long = "a/".repeat(2100); // 4200 bytes
    let mut t = RawTar::new();
    t.pax(&[("path", long.as_bytes())]);
    t.file("x", b"");
    assert!(matches!(apply(&Sandbox::new(), &t.finish()), Err(FsError::PathTooLong { .. })));
    let mut t = RawTar::new();
    t.entry(b'L', b"././@LongLink", b"", 0o644, long.as_bytes());
    t.file("x", b"");
    assert!(matches!(apply(&Sandbox::new(), &t.finish()), Err(FsError::PathTooLong { .. })));
    let mut t = RawTar::new();
    t.entry(b'K', b"././@LongLink", b"", 0o644, long.as_bytes());
    t.symlink("x", "y");
    assert!(matches!(apply(&Sandbox::new(), &t.finish()), Err(FsError::PathTooLong { .. })));
    // A PAX header declaring 1 GiB is refused before anything is read or allocated.
    let mut t = RawTar::new();
    let h = t.header(b'x', b"pax", b"", 0o644, 1 << 30);
    t.push(&h, b"");
    assert!(matches!(apply(&Sandbox::new(), &t.finish()), Err(FsError::HeaderTooLarge { size: 1073741824, .. })));
    // Limits are options.
    let mut t = RawTar::new();
    t.pax(&[("comment", &[b'c'; 2000])]);
    t.file("x", b"");
    let layer = t.finish();
    let strict = ApplyOptions { max_header_size: 1000, ..Default::default() };
    assert!(matches!(apply_layer(&Sandbox::new().root(), &layer[..], &strict), Err(FsError::HeaderTooLarge { .. })));
    apply(&Sandbox::new(), &layer).unwrap();
    let tiny = ApplyOptions { max_layer_size: Some(1024), ..Default::default() };
    assert!(matches!(apply_layer(&Sandbox::new().root(), &layer[..], &tiny), Err(FsError::TooLarge { limit: 1024 })));
}

#[test]
fn devices_are_skipped_when_not_allowed() {
    let mut t = RawTar::new();
    let mut h = t.header(b'3', b"mem", b"", 0o666, 0);
    h.set_device_major(1).unwrap();
    h.set_device_minor(1).unwrap();
    h.set_cksum();
    t.push(&h, b"");
    let mut h = t.header(b'4', b"sda", b"", 0o660, 0);
    h.set_device_major(8).unwrap();
    h.set_cksum();
    t.push(&h, b"");
    t.entry(b'6', b"fifo", b"", 0o600, b"");
    let layer = t.finish();
    let sb = Sandbox::new();
    let opts = ApplyOptions { allow_devices: false, ..Default::default() };
    let stats = apply_layer(&sb.root(), &layer[..], &opts).unwrap();
    assert_eq!((stats.entries, stats.skipped), (3, 2));
    assert_eq!(sb.root().read_dir(".").unwrap(), ["fifo"]);
    let sb = Sandbox::new();
    apply(&sb, &layer).unwrap();
    assert_eq!(sb.root().metadata("mem").unwrap().rdev, (1, 1));
    assert_eq!(sb.root().metadata("sda").unwrap().kind, FileKind::BlockDevice);
}

#[test]
fn malformed_archives_are_errors() {
    let mut t = RawTar::new();
    t.file("f", &[7u8; 1000]);
    let full = t.finish();
    // Truncated inside the data, inside a header, and a bad checksum.
    for cut in [600, 700, 100, 1536 + 100] {
        let r = apply(&Sandbox::new(), &full[..cut.min(full.len())]);
        assert!(r.is_err() || cut >= 1536, "cut at {cut}: {r:?}");
    }
    let mut bad = full.clone();
    bad[0] ^= 1;
    assert!(matches!(apply(&Sandbox::new(), &bad), Err(FsError::Malformed { .. })));
    // Unsupported types (GNU sparse, volume label) are errors, as in Docker.
    for typ in [b'S', b'V'] {
        let mut t = RawTar::new();
        t.entry(typ, b"x", b"", 0o644, b"");
        assert!(matches!(apply(&Sandbox::new(), &t.finish()), Err(FsError::Unsupported { .. })));
    }
    // An extension header with nothing after it.
    let mut t = RawTar::new();
    t.pax(&[("path", b"x")]);
    assert!(matches!(apply(&Sandbox::new(), &t.finish()), Err(FsError::Malformed { .. })));
    // Non-dir replacing the root.
    let mut t = RawTar::new();
    t.file("./", b"");
    assert!(apply(&Sandbox::new(), &t.finish()).is_err());
    // An empty stream is an empty layer.
    let stats = apply(&Sandbox::new(), b"").unwrap();
    assert_eq!(stats.entries, 0);
}

#[test]
fn overlay_internal_xattrs_from_the_layer_are_dropped() {
    let mut t = RawTar::new();
    t.pax(&[("SCHILY.xattr.trusted.overlay.redirect", b"/etc"), ("SCHILY.xattr.trusted.overlay.opaque", b"y")]);
    t.dir("d/");
    let sb = Sandbox::new();
    let stats = apply(&sb, &t.finish()).unwrap();
    assert_eq!(stats.xattrs_skipped, 2);
    assert!(sb.root().xattrs("d").unwrap().is_empty());
}
