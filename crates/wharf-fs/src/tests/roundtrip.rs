//! apply(diff(x)) == x for every kind of object and attribute, compressed or not; diffs are
//! deterministic and their diff id matches the one computed by apply.

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use super::util::{assert_same, describe, gzip, sha256, zstd, RawTar, Rng, Sandbox, MTIME};
use crate::tar_read::{Limits, TarReader};
use crate::{
    apply_layer, diff_layer, ApplyOptions, DiffOptions, DiffSource, FileKind, FileTime, IdMap, IdMapping, NodeKind,
    Root,
};

/// A valid v2 file capability blob: cap_net_bind_service in the permitted set, effective.
const CAP_NET_BIND: [u8; 20] = [1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

fn long_dir() -> PathBuf {
    PathBuf::from(format!("deep/{}/{}/{}", "x".repeat(60), "y".repeat(60), "z".repeat(90)))
}

/// A tree with one of everything.
pub(crate) fn build_tree(root: &Root) {
    let w = |p: &str, data: &[u8], mode: u32| {
        let mut f = root.create_file(p, mode).unwrap();
        f.write_all(data).unwrap();
    };
    for (d, mode) in [
        ("etc", 0o755),
        ("tmp", 0o1777),
        ("srv", 0o2775),
        ("bin", 0o755),
        ("usr/lib", 0o755),
        ("dev", 0o755),
        ("home/user", 0o700),
    ] {
        root.mkdir_all(d, 0o755).unwrap();
        root.set_mode(d, mode).unwrap();
    }
    root.set_owner("srv", 1000, 1000).unwrap();
    w("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n", 0o644);
    root.set_xattr("etc/passwd", "user.comment", b"hello").unwrap();
    w("bin/su", b"#!/bin/true\n", 0o755);
    root.set_mode("bin/su", 0o4755).unwrap();
    w("bin/sg", b"", 0o755);
    root.set_mode("bin/sg", 0o2711).unwrap();
    w("bin/ping", b"ping", 0o755);
    root.set_xattr("bin/ping", "security.capability", &CAP_NET_BIND).unwrap();
    root.set_xattr("srv", "trusted.wharf", b"dir-xattr").unwrap();
    w("home/user/file", b"mine", 0o600);
    root.set_owner("home/user/file", 1234, 5678).unwrap();
    root.set_owner("home/user", 1234, 5678).unwrap();
    let mut big = vec![0u8; 100_000];
    let mut rng = Rng(7);
    big.iter_mut().for_each(|b| *b = rng.next() as u8);
    w("big", &big, 0o644);
    w("empty", b"", 0o644);
    w("bigid", b"id", 0o644);
    root.set_owner("bigid", 3_000_000, 3_000_001).unwrap();
    root.symlink("usr/lib", "lib").unwrap();
    root.symlink("/etc/passwd", "abs").unwrap();
    root.symlink("/nonexistent/dangling", "dangle").unwrap();
    root.symlink("t".repeat(150), "longtarget").unwrap();
    root.set_xattr("lib", "trusted.sym", b"on-a-symlink").unwrap();
    root.set_owner("lib", 33, 33).unwrap();
    w("usr/lib/a", b"linked", 0o755);
    root.hard_link("usr/lib/a", "usr/lib/b").unwrap();
    root.hard_link("usr/lib/a", "usr/c").unwrap();
    root.mknod("dev/null", NodeKind::Char, 0o666, (1, 3)).unwrap();
    root.mknod("dev/loop0", NodeKind::Block, 0o660, (7, 0)).unwrap();
    root.mknod("dev/fifo", NodeKind::Fifo, 0o600, (0, 0)).unwrap();
    root.set_owner("dev/fifo", 5, 6).unwrap();
    root.mkdir_all(long_dir(), 0o755).unwrap();
    w(long_dir().join("file").to_str().unwrap(), b"deep", 0o644);
    root.mkdir_all("names", 0o755).unwrap();
    let odd = std::ffi::OsStr::from_bytes(b"names/caf\xe9 \\ \"q\"");
    let mut f = root.create_file(odd, 0o644).unwrap();
    f.write_all(b"latin-1").unwrap();
    // Explicit times (the sub-second part is dropped by the diff, as Docker does).
    root.set_times("big", FileTime { sec: 1_234_567_890, nsec: 5 }, FileTime { sec: 1_234_567_890, nsec: 999 })
        .unwrap();
    root.set_times("lib", FileTime::from_secs(1_000_000_000), FileTime::from_secs(1_000_000_000)).unwrap();
}

pub(crate) fn diff_bytes(source: DiffSource<'_>, opts: &DiffOptions) -> (Vec<u8>, crate::ApplyStats) {
    let mut out = Vec::new();
    let stats = diff_layer(source, &mut out, opts).unwrap();
    (out, stats)
}

/// Member paths of a tar, in order.
pub(crate) fn member_paths(tar: &[u8]) -> Vec<String> {
    let mut r = TarReader::new(tar, Limits { max_path: 1 << 20, max_record: 1 << 20 });
    let mut out = Vec::new();
    while let Some(m) = r.next_member().unwrap() {
        out.push(String::from_utf8_lossy(&m.path).into_owned());
    }
    out
}

#[test]
fn full_tree_round_trip_compare_and_overlay_sources() {
    let src = Sandbox::new();
    build_tree(&src.root());
    let empty = Sandbox::new();
    let want = describe(&src.root());
    for source in [
        DiffSource::Compare { lower: &empty.root(), upper: &src.root() },
        DiffSource::OverlayUpper { upper: &src.root() },
    ] {
        let (tar, stats) = diff_bytes(source, &DiffOptions::default());
        assert_eq!(stats.diff_id, sha256(&tar));
        assert_eq!(stats.bytes, tar.len() as u64);
        let dst = Sandbox::new();
        let applied = apply_layer(&dst.root(), &tar[..], &ApplyOptions::default()).unwrap();
        assert_eq!(applied.diff_id, stats.diff_id);
        assert_eq!(applied.entries, stats.entries);
        assert_eq!((applied.skipped, applied.xattrs_skipped), (0, 0));
        assert_same(&want, &describe(&dst.root()));
        dst.assert_untouched();
    }
    // Spot checks of what describe() compares.
    let d = &want;
    assert_eq!(d[&PathBuf::from("bin/su")].mode, 0o4755);
    assert_eq!(d[&PathBuf::from("tmp")].mode, 0o1777);
    assert_eq!(d[&PathBuf::from("usr/c")].link_group, Some(PathBuf::from("usr/c")));
    assert_eq!(d[&PathBuf::from("usr/lib/b")].link_group, Some(PathBuf::from("usr/c")));
    assert_eq!(d[&PathBuf::from("dev/loop0")].kind, FileKind::BlockDevice);
    assert_eq!(d[&PathBuf::from("bigid")].uid, 3_000_000);
    assert!(d[&PathBuf::from("bin/ping")].xattrs.iter().any(|(k, _)| k == "security.capability"));
    src.assert_untouched();
}

#[test]
fn diff_is_deterministic_and_hard_links_are_tar_links() {
    let src = Sandbox::new();
    build_tree(&src.root());
    let (a, sa) = diff_bytes(DiffSource::OverlayUpper { upper: &src.root() }, &DiffOptions::default());
    let (b, sb) = diff_bytes(DiffSource::OverlayUpper { upper: &src.root() }, &DiffOptions::default());
    assert_eq!(a, b);
    assert_eq!(sa, sb);
    let mut r = TarReader::new(&a[..], Limits { max_path: 1 << 20, max_record: 1 << 20 });
    let mut links = Vec::new();
    let mut paths = Vec::new();
    while let Some(m) = r.next_member().unwrap() {
        paths.push(m.path.clone());
        if m.kind == crate::tar_read::EntryKind::HardLink {
            links.push((String::from_utf8_lossy(&m.path).into_owned(), String::from_utf8_lossy(&m.link).into_owned()));
        }
    }
    assert_eq!(links, [("usr/lib/a".to_string(), "usr/c".to_string()), ("usr/lib/b".to_string(), "usr/c".to_string())]);
    // Depth-first, names sorted within each directory.
    let top: Vec<&[u8]> = paths.iter().map(|p| p.split(|b| *b == b'/').next().unwrap()).collect();
    let mut dedup = top.clone();
    dedup.dedup();
    let mut sorted = dedup.clone();
    sorted.sort();
    assert_eq!(dedup, sorted);
}

#[test]
fn gzip_and_zstd_layers_have_the_uncompressed_diff_id() {
    let src = Sandbox::new();
    build_tree(&src.root());
    let (tar, stats) = diff_bytes(DiffSource::OverlayUpper { upper: &src.root() }, &DiffOptions::default());
    for (name, layer) in [("gzip", gzip(&tar)), ("zstd", zstd(&tar))] {
        assert_ne!(layer, tar);
        let dst = Sandbox::new();
        let applied = apply_layer(&dst.root(), &layer[..], &ApplyOptions::default()).unwrap();
        assert_eq!(applied.diff_id, stats.diff_id, "{name}");
        assert_eq!(applied.bytes, tar.len() as u64, "{name}");
        assert_same(&describe(&src.root()), &describe(&dst.root()));
    }
}

#[test]
fn incremental_compare_diff_applies_onto_the_parent() {
    let base = Sandbox::new();
    build_tree(&base.root());
    let (base_tar, _) = diff_bytes(DiffSource::OverlayUpper { upper: &base.root() }, &DiffOptions::default());
    let (lower, upper, target) = (Sandbox::new(), Sandbox::new(), Sandbox::new());
    for sb in [&lower, &upper, &target] {
        apply_layer(&sb.root(), &base_tar[..], &ApplyOptions::default()).unwrap();
    }
    let u = upper.root();
    u.remove_all("etc/passwd").unwrap();
    u.remove_all("usr").unwrap();
    let mut f = u.create_file("big", 0o644).unwrap();
    f.write_all(&vec![1u8; 100_000]).unwrap();
    drop(f);
    u.set_mode("bin/su", 0o755).unwrap();
    u.set_owner("home/user/file", 1, 1).unwrap();
    u.mkdir_all("new/dir", 0o750).unwrap();
    u.create_file("new/dir/file", 0o600).unwrap().write_all(b"new").unwrap();
    u.remove_all("srv").unwrap();
    u.create_file("srv", 0o644).unwrap().write_all(b"was a dir").unwrap();
    u.remove_all("empty").unwrap();
    u.mkdir_all("empty/child", 0o755).unwrap();
    u.remove_all("lib").unwrap();
    u.symlink("other", "lib").unwrap();
    u.set_xattr("etc", "user.x", b"1").unwrap();
    u.remove_all("dev/null").unwrap();
    u.mknod("dev/null", NodeKind::Char, 0o666, (1, 5)).unwrap();

    let (tar, stats) =
        diff_bytes(DiffSource::Compare { lower: &lower.root(), upper: &upper.root() }, &DiffOptions::default());
    let paths = member_paths(&tar);
    assert!(paths.contains(&".wh.usr".to_string()), "{paths:?}");
    assert!(!paths.iter().any(|p| p.starts_with("usr/")), "a removed dir gets one whiteout: {paths:?}");
    assert!(paths.contains(&"etc/.wh.passwd".to_string()));
    assert!(
        !paths.iter().any(|p| p.starts_with("names") || p.starts_with("deep") || p == "dev/fifo"),
        "unchanged paths: {paths:?}"
    );
    // Whiteouts come before their siblings.
    let wh = paths.iter().position(|p| p == "etc/.wh.passwd").unwrap();
    assert_eq!(paths[wh - 1], "etc/");
    let applied = apply_layer(&target.root(), &tar[..], &ApplyOptions::default()).unwrap();
    assert_eq!(applied.diff_id, stats.diff_id);
    assert_same(&describe(&upper.root()), &describe(&target.root()));
    for sb in [&lower, &upper, &target] {
        sb.assert_untouched();
    }
}

#[test]
fn compare_content_catches_same_size_same_mtime_edits() {
    let (lower, upper) = (Sandbox::new(), Sandbox::new());
    for (sb, data) in [(&lower, b"aaaa"), (&upper, b"bbbb")] {
        sb.root().create_file("f", 0o644).unwrap().write_all(data).unwrap();
        sb.root().set_times("f", FileTime::from_secs(100), FileTime::from_secs(100)).unwrap();
    }
    let src = DiffSource::Compare { lower: &lower.root(), upper: &upper.root() };
    assert!(member_paths(&diff_bytes(src, &DiffOptions::default()).0).is_empty());
    let opts = DiffOptions { compare_content: true, ..Default::default() };
    assert_eq!(member_paths(&diff_bytes(src, &opts).0), ["f"]);
}

#[test]
fn source_date_epoch_clamps_mtimes() {
    let src = Sandbox::new();
    let r = src.root();
    r.create_file("new", 0o644).unwrap();
    r.create_file("old", 0o644).unwrap();
    r.set_times("old", FileTime::from_secs(10), FileTime::from_secs(10)).unwrap();
    let opts = DiffOptions { source_date_epoch: Some(1000), ..Default::default() };
    let (tar, _) = diff_bytes(DiffSource::OverlayUpper { upper: &r }, &opts);
    let mut rd = TarReader::new(&tar[..], Limits { max_path: 4096, max_record: 1 << 20 });
    let mut times = Vec::new();
    while let Some(m) = rd.next_member().unwrap() {
        times.push((String::from_utf8_lossy(&m.path).into_owned(), m.mtime.sec));
    }
    assert_eq!(times, [("new".to_string(), 1000), ("old".to_string(), 10)]);
}

#[test]
fn pax_times_long_names_and_xattrs_from_foreign_tars() {
    let long = format!("{}/{}", "a".repeat(150), "b".repeat(150));
    let mut t = RawTar::new();
    t.pax(&[("mtime", b"1600000000.123456789"), ("atime", b"1700000000.5"), ("SCHILY.xattr.user.k", b"v\0bin")]);
    t.file("f", b"data");
    // GNU long name.
    t.entry(b'L', b"././@LongLink", b"", 0o644, long.as_bytes());
    t.file("ignored-short-name", b"long");
    // PAX path and linkpath.
    t.pax(&[("path", b"p/pax-path"), ("linkpath", long.as_bytes())]);
    t.symlink("x", "y");
    // A PAX global header is ignored.
    t.entry(b'g', b"global", b"", 0o644, b"20 comment=ignored!\n");
    t.dir("d/");
    let sb = Sandbox::new();
    let stats = apply_layer(&sb.root(), &t.finish()[..], &ApplyOptions::default()).unwrap();
    assert_eq!(stats.entries, 4);
    let r = sb.root();
    let m = r.metadata("f").unwrap();
    assert_eq!(m.mtime, FileTime { sec: 1_600_000_000, nsec: 123_456_789 });
    assert_eq!(m.atime, FileTime { sec: 1_700_000_000, nsec: 500_000_000 });
    assert_eq!(r.xattrs("f").unwrap(), [("user.k".into(), b"v\0bin".to_vec())]);
    assert_eq!(r.metadata(&long).unwrap().size, 4);
    assert_eq!(r.read_link("p/pax-path").unwrap(), PathBuf::from(&long));
    assert_eq!(r.metadata("d").unwrap().mtime, FileTime::from_secs(MTIME as i64));
    sb.assert_untouched();
}

#[test]
fn changeset_over_existing_files() {
    let sb = Sandbox::new();
    let r = sb.root();
    r.mkdir_all("dir-to-file/sub", 0o755).unwrap();
    r.create_file("file-to-dir", 0o644).unwrap();
    r.mkdir_all("kept", 0o700).unwrap();
    r.create_file("kept/lower-child", 0o644).unwrap();
    r.symlink("/somewhere", "link-to-file").unwrap();
    let mut t = RawTar::new();
    t.file("dir-to-file", b"now a file");
    t.dir("file-to-dir/");
    t.file("file-to-dir/child", b"c");
    t.entry(b'5', b"kept/", b"", 0o751, b"");
    t.file("link-to-file", b"replaced the link");
    apply_layer(&r, &t.finish()[..], &ApplyOptions::default()).unwrap();
    assert_eq!(r.metadata("dir-to-file").unwrap().kind, FileKind::Regular);
    assert_eq!(r.metadata("file-to-dir").unwrap().kind, FileKind::Dir);
    assert_eq!(r.metadata("kept").unwrap().mode, 0o751);
    assert!(r.metadata("kept/lower-child").is_ok(), "an existing dir stays with its children");
    assert_eq!(r.metadata("link-to-file").unwrap().kind, FileKind::Regular);
    sb.assert_untouched();
}

#[test]
fn id_map_remaps_owners() {
    let mut t = RawTar::new();
    let mut h = t.header(b'0', b"f", b"", 0o644, 1);
    h.set_uid(1000);
    h.set_gid(0);
    h.set_cksum();
    t.push(&h, b"x");
    t.file("a/b", b"");
    let layer = t.finish();
    let map = IdMap {
        uids: vec![IdMapping { container_id: 0, host_id: 100_000, size: 65536 }],
        gids: vec![IdMapping { container_id: 0, host_id: 200_000, size: 65536 }],
    };
    let sb = Sandbox::new();
    let opts = ApplyOptions { id_map: Some(map.clone()), ..Default::default() };
    apply_layer(&sb.root(), &layer[..], &opts).unwrap();
    let m = sb.root().metadata("f").unwrap();
    assert_eq!((m.uid, m.gid), (101_000, 200_000));
    let a = sb.root().metadata("a").unwrap(); // implicit parent: the mapped root
    assert_eq!((a.uid, a.gid), (100_000, 200_000));
    // An id outside the map is refused.
    let small = IdMap { uids: vec![IdMapping { container_id: 0, host_id: 100_000, size: 10 }], gids: map.gids };
    let err =
        apply_layer(&Sandbox::new().root(), &layer[..], &ApplyOptions { id_map: Some(small), ..Default::default() });
    assert!(matches!(err, Err(crate::FsError::Unmapped { kind: "uid", id: 1000 })), "{err:?}");
}

#[test]
fn diff_id_covers_trailing_bytes_after_the_archive() {
    let mut t = RawTar::new();
    t.file("f", b"x");
    let mut layer = t.finish();
    layer.extend_from_slice(&[0u8; 9216]); // Go and GNU tar pad to a record size
    let stats = apply_layer(&Sandbox::new().root(), &layer[..], &ApplyOptions::default()).unwrap();
    assert_eq!(stats.diff_id, sha256(&layer));
    assert_eq!(stats.bytes, layer.len() as u64);
}
