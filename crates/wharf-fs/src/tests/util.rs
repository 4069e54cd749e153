//! Test helpers: a raw tar builder (it can write anything, `..` included), a sandbox with a
//! sentinel directory beside the root, and a comparable description of a tree.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::{FileKind, Root};

/// Builds tar streams byte by byte, with no validation at all.
#[derive(Default)]
pub(crate) struct RawTar {
    pub(crate) buf: Vec<u8>,
}

pub(crate) const MTIME: u64 = 1_600_000_000;

impl RawTar {
    pub(crate) fn new() -> Self {
        RawTar::default()
    }

    pub(crate) fn header(&mut self, typ: u8, name: &[u8], link: &[u8], mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_ustar();
        let n = name.len().min(100);
        h.as_old_mut().name[..n].copy_from_slice(&name[..n]);
        let l = link.len().min(100);
        h.as_old_mut().linkname[..l].copy_from_slice(&link[..l]);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(MTIME);
        h.set_size(size);
        h.set_entry_type(tar::EntryType::new(typ));
        h.set_cksum();
        h
    }

    pub(crate) fn push(&mut self, h: &tar::Header, data: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(h.as_bytes());
        self.buf.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.buf.extend(std::iter::repeat_n(0u8, pad));
        self
    }

    pub(crate) fn entry(&mut self, typ: u8, name: &[u8], link: &[u8], mode: u32, data: &[u8]) -> &mut Self {
        let h = self.header(typ, name, link, mode, data.len() as u64);
        self.push(&h, data)
    }

    pub(crate) fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.entry(b'0', name.as_bytes(), b"", 0o644, data)
    }

    pub(crate) fn dir(&mut self, name: &str) -> &mut Self {
        self.entry(b'5', name.as_bytes(), b"", 0o755, b"")
    }

    pub(crate) fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(b'2', name.as_bytes(), target.as_bytes(), 0o777, b"")
    }

    pub(crate) fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(b'1', name.as_bytes(), target.as_bytes(), 0o644, b"")
    }

    pub(crate) fn pax(&mut self, records: &[(&str, &[u8])]) -> &mut Self {
        let mut body = Vec::new();
        for (k, v) in records {
            let core = k.len() + v.len() + 3;
            let mut len = core + 1;
            while len != core + len.to_string().len() {
                len = core + len.to_string().len();
            }
            body.extend_from_slice(format!("{len} {k}=").as_bytes());
            body.extend_from_slice(v);
            body.push(b'\n');
        }
        self.entry(b'x', b"././@PaxHeader", b"", 0o644, &body)
    }

    pub(crate) fn finish(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.buf);
        out.extend(std::iter::repeat_n(0u8, 1024));
        out
    }
}

/// A temp dir holding `root/` (where layers go) and `sentinel/keep` beside it.
pub(crate) struct Sandbox {
    pub(crate) dir: tempfile::TempDir,
}

impl Sandbox {
    pub(crate) fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("root")).expect("mkdir root");
        std::fs::create_dir(dir.path().join("sentinel")).expect("mkdir sentinel");
        std::fs::write(dir.path().join("sentinel/keep"), b"precious").expect("write sentinel");
        Sandbox { dir }
    }

    pub(crate) fn root_path(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub(crate) fn sentinel(&self) -> PathBuf {
        self.dir.path().join("sentinel")
    }

    pub(crate) fn root(&self) -> Root {
        Root::new(self.root_path()).expect("open root")
    }

    /// Nothing was created or changed beside the root.
    #[track_caller]
    pub(crate) fn assert_untouched(&self) {
        let mut top: Vec<OsString> =
            std::fs::read_dir(self.dir.path()).expect("read sandbox").map(|e| e.expect("entry").file_name()).collect();
        top.sort();
        assert_eq!(top, ["root", "sentinel"], "something was created beside the root");
        let names: Vec<OsString> =
            std::fs::read_dir(self.sentinel()).expect("read sentinel").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(names, ["keep"], "sentinel directory changed");
        let keep = self.sentinel().join("keep");
        assert_eq!(std::fs::read(&keep).expect("read keep"), b"precious");
        let md = std::fs::symlink_metadata(&keep).expect("stat keep");
        use std::os::unix::fs::MetadataExt;
        assert_eq!(md.nlink(), 1, "sentinel got a hard link");
        assert_eq!(md.mode() & 0o7777, 0o644);
        assert_eq!(md.uid(), 0);
    }
}

/// A comparable description of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Desc {
    pub(crate) kind: FileKind,
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) mtime: i64,
    pub(crate) content: Option<Vec<u8>>,
    pub(crate) link: Option<PathBuf>,
    pub(crate) rdev: (u32, u32),
    pub(crate) xattrs: Vec<(OsString, Vec<u8>)>,
    /// The first path (in walk order) sharing this inode, for hard links.
    pub(crate) link_group: Option<PathBuf>,
}

/// Every object below the root (the root excluded), keyed by relative path.
pub(crate) fn describe(root: &Root) -> BTreeMap<PathBuf, Desc> {
    let mut out = BTreeMap::new();
    let mut inodes: BTreeMap<(u64, u64), PathBuf> = BTreeMap::new();
    walk(root, Path::new(""), &mut out, &mut inodes);
    out
}

fn walk(root: &Root, rel: &Path, out: &mut BTreeMap<PathBuf, Desc>, inodes: &mut BTreeMap<(u64, u64), PathBuf>) {
    for name in root.read_dir(if rel.as_os_str().is_empty() { Path::new(".") } else { rel }).expect("read_dir") {
        let p = rel.join(&name);
        let m = root.metadata(&p).expect("metadata");
        let content = (m.kind == FileKind::Regular).then(|| {
            let mut v = Vec::new();
            root.open(&p).expect("open").read_to_end(&mut v).expect("read");
            v
        });
        let link = (m.kind == FileKind::Symlink).then(|| root.read_link(&p).expect("readlink"));
        let xattrs = root
            .xattrs(&p)
            .expect("xattrs")
            .into_iter()
            .filter(|(k, _)| !k.as_bytes().starts_with(b"trusted.overlay."))
            .collect();
        let link_group = (m.kind != FileKind::Dir && m.nlink > 1)
            .then(|| inodes.entry((m.dev, m.ino)).or_insert_with(|| p.clone()).clone());
        out.insert(
            p.clone(),
            Desc {
                kind: m.kind,
                mode: m.mode,
                uid: m.uid,
                gid: m.gid,
                mtime: m.mtime.sec,
                content,
                link,
                rdev: m.rdev,
                xattrs,
                link_group,
            },
        );
        if m.kind == FileKind::Dir {
            walk(root, &p, out, inodes);
        }
    }
}

/// Asserts two descriptions are equal, naming the first differing path.
#[track_caller]
pub(crate) fn assert_same(a: &BTreeMap<PathBuf, Desc>, b: &BTreeMap<PathBuf, Desc>) {
    let ka: Vec<_> = a.keys().collect();
    let kb: Vec<_> = b.keys().collect();
    assert_eq!(ka, kb, "different paths");
    for (k, da) in a {
        assert_eq!(Some(da), b.get(k), "differs at {}", k.display());
    }
}

/// A tiny deterministic PRNG (xorshift64*), so random tests need no extra crate.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

pub(crate) fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 3).expect("zstd")
}

pub(crate) fn sha256(data: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}
