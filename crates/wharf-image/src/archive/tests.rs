//! Archive tests: save → load round trips, hand-built old-style docker-archives and OCI
//! layouts (skopeo's shapes), hostile member paths, truncation and digest mismatches.

use std::collections::HashMap;
use std::io::{Read, Write};

use serde_json::{json, Value};
use wharf_types::{Classify, ErrorKind};

use super::*;
use crate::model::media_types as mt;
use crate::{sha256_digest, Platform};

/// An in-memory content store serving as both sink and source.
#[derive(Default)]
struct Mem {
    blobs: HashMap<Digest, Vec<u8>>,
}

impl Mem {
    fn add(&mut self, b: &[u8]) -> Digest {
        let d = sha256_digest(b);
        self.blobs.insert(d.clone(), b.to_vec());
        d
    }
}

impl BlobSink for Mem {
    fn put(&mut self, expected: Option<&Digest>, r: &mut dyn Read) -> Result<Digest> {
        let mut b = Vec::new();
        r.read_to_end(&mut b).map_err(|e| ImageError::io("sink read", e))?;
        let d = sha256_digest(&b);
        if expected.is_some_and(|e| e != &d) {
            return Err(ImageError::backend(ErrorKind::InvalidArgument, "sink: digest mismatch", None));
        }
        self.blobs.insert(d.clone(), b);
        Ok(d)
    }
}

impl BlobSource for Mem {
    fn open(&self, d: &Digest) -> Result<(u64, Box<dyn Read + '_>)> {
        let b = self.blobs.get(d).ok_or_else(|| ImageError::BlobNotFound(d.clone()))?;
        Ok((b.len() as u64, Box::new(&b[..])))
    }
}

/// A raw tar writer that takes any name and link target (the `tar` crate's path setters refuse
/// the hostile ones we need).
struct RawTar {
    b: tar::Builder<Vec<u8>>,
}

impl RawTar {
    fn new() -> Self {
        Self { b: tar::Builder::new(Vec::new()) }
    }

    fn entry(&mut self, name: &str, kind: tar::EntryType, data: &[u8], link: &str) -> &mut Self {
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_entry_type(kind);
        h.set_cksum();
        self.b.append(&h, data).unwrap();
        self
    }

    fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.entry(name, tar::EntryType::Regular, data, "")
    }

    fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(name, tar::EntryType::Symlink, b"", target)
    }

    fn finish(&mut self) -> Vec<u8> {
        let b = std::mem::replace(&mut self.b, tar::Builder::new(Vec::new()));
        b.into_inner().unwrap()
    }
}

/// A layer: a tar with one file.
fn layer(name: &str, content: &[u8]) -> Vec<u8> {
    RawTar::new().file(name, content).finish()
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn config(arch: &str, diff_ids: &[&Digest]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "architecture": arch, "os": "linux",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids.iter().map(|d| d.to_string()).collect::<Vec<_>>()},
        "history": [{"created_by": "x"}]
    }))
    .unwrap()
}

fn r(s: &str) -> ImageRef {
    ImageRef::parse_normalized(s).unwrap()
}

fn amd64() -> Platform {
    Platform::parse("linux/amd64").unwrap()
}

fn members(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut a = tar::Archive::new(archive);
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let p = e.path().unwrap().to_string_lossy().into_owned();
            let mut b = Vec::new();
            e.read_to_end(&mut b).unwrap();
            (p, b)
        })
        .collect()
}

fn member_json(archive: &[u8], name: &str) -> Value {
    let m = members(archive);
    let (_, b) = m.iter().find(|(p, _)| p == name).unwrap();
    serde_json::from_slice(b).unwrap()
}

struct Saved {
    source: Mem,
    images: Vec<SaveImage>,
    l: [Digest; 3],
}

fn three_images() -> Saved {
    let mut source = Mem::default();
    let l1 = source.add(&layer("a", b"one"));
    let l2 = source.add(&layer("b", b"two"));
    let l3 = source.add(&layer("c", b"three"));
    let ca = source.add(&config("amd64", &[&l1, &l2]));
    let cb = source.add(&config("amd64", &[&l1, &l3]));
    let cc = source.add(&config("amd64", &[&l1]));
    let images = vec![
        SaveImage {
            config_digest: ca,
            layers: vec![l1.clone(), l2.clone()],
            repo_tags: vec![r("busybox:latest"), r("busybox:1.36"), r("localhost:5000/x:1")],
        },
        SaveImage { config_digest: cb, layers: vec![l1.clone(), l3.clone()], repo_tags: vec![r("myrepo/x:1")] },
        SaveImage { config_digest: cc, layers: vec![l1.clone()], repo_tags: vec![] },
    ];
    Saved { source, images, l: [l1, l2, l3] }
}

#[test]
fn save_writes_docker_25_layout_deterministically() {
    let s = three_images();
    let a = write_archive(&s.images, &s.source, Vec::new()).unwrap();
    let b = write_archive(&s.images, &s.source, Vec::new()).unwrap();
    assert_eq!(a, b, "same input, same bytes");

    let m = members(&a);
    let names: Vec<&str> = m.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(names[..2], ["blobs/", "blobs/sha256/"]);
    assert_eq!(names[names.len() - 4..], ["index.json", "manifest.json", "oci-layout", "repositories"]);
    // 3 configs + 3 layers + 3 manifests, each once.
    assert_eq!(names.iter().filter(|n| n.starts_with("blobs/sha256/") && n.len() > 13).count(), 9);
    for (p, data) in &m {
        if let Some(hex) = p.strip_prefix("blobs/sha256/").filter(|h| !h.is_empty()) {
            assert_eq!(sha256_digest(data).digest(), hex, "{p} is named by its digest");
        }
    }
    let mut ar = tar::Archive::new(&a[..]);
    for e in ar.entries().unwrap() {
        let h = e.unwrap().header().clone();
        assert_eq!(h.mtime().unwrap(), 0);
        assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0));
    }

    let hex = |d: &Digest| d.digest().to_string();
    let path = |d: &Digest| format!("blobs/sha256/{}", d.digest());
    let manifest = member_json(&a, "manifest.json");
    assert_eq!(
        manifest[0],
        json!({
            "Config": path(&s.images[0].config_digest),
            "RepoTags": ["busybox:latest", "busybox:1.36", "localhost:5000/x:1"],
            "Layers": [path(&s.l[0]), path(&s.l[1])],
        })
    );
    assert_eq!(manifest[2]["RepoTags"], Value::Null);
    assert_eq!(
        member_json(&a, "repositories"),
        json!({
            "busybox": {"latest": hex(&s.l[1]), "1.36": hex(&s.l[1])},
            "localhost:5000/x": {"1": hex(&s.l[1])},
            "myrepo/x": {"1": hex(&s.l[2])},
        })
    );
    assert_eq!(member_json(&a, "oci-layout"), json!({"imageLayoutVersion": "1.0.0"}));
    let index = member_json(&a, "index.json");
    assert_eq!(index["mediaType"], mt::OCI_INDEX);
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 5, "one per tag, one for the untagged image");
    assert_eq!(
        entries[0]["annotations"],
        json!({
            "io.containerd.image.name": "docker.io/library/busybox:latest",
            "org.opencontainers.image.ref.name": "latest",
        })
    );
    assert_eq!(entries[2]["annotations"]["io.containerd.image.name"], "localhost:5000/x:1");
    assert!(entries[4].get("annotations").is_none());
    // The manifest blob is what the index points at.
    let md = entries[0]["digest"].as_str().unwrap();
    let mblob = member_json(&a, &format!("blobs/sha256/{}", &md[7..]));
    assert_eq!(mblob["mediaType"], mt::OCI_MANIFEST);
    assert_eq!(mblob["config"]["mediaType"], mt::OCI_CONFIG);
    assert_eq!(mblob["layers"][1]["mediaType"], mt::OCI_LAYER);
    assert_eq!(mblob["layers"][1]["digest"], s.l[1].to_string());
}

#[test]
fn save_then_load_round_trips() {
    let s = three_images();
    let a = write_archive(&s.images, &s.source, Vec::new()).unwrap();
    let mut sink = Mem::default();
    let loaded = read_archive(&a[..], &mut sink, &amd64()).unwrap();
    assert_eq!(loaded.len(), 3);
    for (img, want) in loaded.iter().zip(&s.images) {
        assert_eq!(img.config_digest, want.config_digest);
        assert_eq!(img.format, ArchiveFormat::DockerArchive);
        assert_eq!(img.repo_tags, want.repo_tags);
        assert!(img.manifest_digest.is_some());
        let diff_ids: Vec<_> = img.layers.iter().map(|l| l.diff_id.clone()).collect();
        assert_eq!(diff_ids, want.layers);
        for l in &img.layers {
            assert_eq!(l.digest, l.diff_id, "saved layers are uncompressed");
            assert!(l.diff_id_verified);
            assert_eq!(l.media_type, mt::OCI_LAYER);
            assert_eq!(sink.blobs[&l.digest], s.source.blobs[&l.digest]);
        }
        assert_eq!(sink.blobs[&img.config_digest], s.source.blobs[&img.config_digest]);
    }
    // Configs, layers and manifests went to the sink; the metadata files did not.
    assert_eq!(sink.blobs.len(), 9);

    // The archive re-saved from what was loaded is identical.
    let again: Vec<SaveImage> = loaded
        .iter()
        .map(|i| SaveImage {
            config_digest: i.config_digest.clone(),
            layers: i.layers.iter().map(|l| l.diff_id.clone()).collect(),
            repo_tags: i.repo_tags.clone(),
        })
        .collect();
    assert_eq!(write_archive(&again, &sink, Vec::new()).unwrap(), a);

    // A gzip-compressed archive (`docker save | gzip`) loads the same.
    let mut sink2 = Mem::default();
    let gz = read_archive(&gzip(&a)[..], &mut sink2, &amd64()).unwrap();
    assert_eq!(gz, loaded);
}

#[test]
fn save_verifies_what_the_source_serves() {
    let mut s = three_images();
    let l2 = s.l[1].clone();
    s.source.blobs.insert(l2.clone(), layer("b", b"tampered"));
    let e = write_archive(&s.images, &s.source, Vec::new()).unwrap_err();
    assert!(matches!(e, ImageError::DigestMismatch { .. }), "{e}");
    s.source.blobs.remove(&l2);
    let e = write_archive(&s.images, &s.source, Vec::new()).unwrap_err();
    assert!(matches!(e, ImageError::BlobNotFound(_)), "{e}");
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[test]
fn loads_old_style_docker_archive_in_any_member_order() {
    let l1 = layer("etc/one", b"1");
    let l2 = layer("etc/two", b"2");
    let l2gz = gzip(&l2);
    let d1 = sha256_digest(&l1);
    let d2 = sha256_digest(&l2);
    let c1 = config("amd64", &[&d1, &d2]);
    let c2 = config("amd64", &[&d1]);
    let (h1, h2) = (sha256_digest(&c1).digest().to_string(), sha256_digest(&c2).digest().to_string());
    let (id1, id2, id3) = ("1".repeat(64), "2".repeat(64), "3".repeat(64));
    let manifest = json!([
        {"Config": format!("{h1}.json"), "RepoTags": ["busybox:latest", "localhost:5000/bb:v1"],
         "Layers": [format!("{id1}/layer.tar"), format!("./{id2}/layer.tar")]},
        {"Config": format!("{h2}.json"), "RepoTags": null, "Layers": [format!("{id3}/layer.tar")]}
    ]);
    // manifest.json first, configs last: the reader must not depend on the order.
    let archive = RawTar::new()
        .file("manifest.json", manifest.to_string().as_bytes())
        .file("repositories", format!(r#"{{"busybox":{{"latest":"{id2}"}}}}"#).as_bytes())
        .entry(&format!("{id1}/"), tar::EntryType::Directory, b"", "")
        .file(&format!("{id1}/VERSION"), b"1.0")
        .file(&format!("{id1}/json"), br#"{"id":"1"}"#)
        .file(&format!("{id1}/layer.tar"), &l1)
        .file(&format!("{id2}/VERSION"), b"1.0")
        .file(&format!("{id2}/json"), br#"{"id":"2"}"#)
        .file(&format!("{id2}/layer.tar"), &l2gz)
        .symlink(&format!("{id3}/layer.tar"), &format!("../{id1}/layer.tar"))
        .file(&format!("{h1}.json"), &c1)
        .file(&format!("{h2}.json"), &c2)
        .finish();
    let mut sink = Mem::default();
    let loaded = read_archive(&archive[..], &mut sink, &amd64()).unwrap();
    assert_eq!(loaded.len(), 2);
    let a = &loaded[0];
    assert_eq!(a.config_digest.digest(), h1);
    assert_eq!(a.repo_tags, [r("busybox:latest"), r("localhost:5000/bb:v1")]);
    assert_eq!(a.manifest_digest, None);
    assert_eq!(a.layers[0].media_type, mt::DOCKER_LAYER);
    assert_eq!(a.layers[0].digest, d1);
    assert_eq!(a.layers[1].media_type, mt::DOCKER_LAYER_GZIP);
    assert_eq!(a.layers[1].digest, sha256_digest(&l2gz));
    assert_eq!(a.layers[1].diff_id, d2);
    assert!(a.layers.iter().all(|l| l.diff_id_verified));
    let b = &loaded[1];
    assert!(b.repo_tags.is_empty());
    assert_eq!(b.layers[0].digest, d1, "the symlinked layer resolves to the first one");
    // Two layers and two configs; VERSION, json, manifest.json and repositories are not blobs.
    assert_eq!(sink.blobs.len(), 4);
}

#[test]
fn loads_skopeo_style_docker_archive() {
    // skopeo's docker-archive: writes `<config hex>.json` and `<diff id hex>.tar`.
    let l = layer("x", b"x");
    let dl = sha256_digest(&l);
    let c = config("amd64", &[&dl]);
    let dc = sha256_digest(&c);
    let manifest = json!([{"Config": format!("{}.json", dc.digest()),
        "RepoTags": ["example.com/app:2"], "Layers": [format!("{}.tar", dl.digest())]}]);
    let archive = RawTar::new()
        .file(&format!("{}.tar", dl.digest()), &l)
        .file(&format!("{}.json", dc.digest()), &c)
        .file("manifest.json", manifest.to_string().as_bytes())
        .finish();
    let loaded = read_archive(&archive[..], &mut Mem::default(), &amd64()).unwrap();
    assert_eq!(loaded[0].config_digest, dc);
    assert_eq!(loaded[0].repo_tags[0].full(), "example.com/app:2");
}

struct Oci {
    archive: Vec<u8>,
    amd64_config: Digest,
    arm64_config: Digest,
    plain_config: Digest,
}

/// An OCI layout (as skopeo's `oci-archive:` or containerd export writes it): an index entry
/// pointing at a nested index of two platforms, a direct manifest named by `ref.name`, and an
/// artifact entry that is not an image.
fn oci_layout() -> Oci {
    let mut t = RawTar::new();
    t.file("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    let blob = |t: &mut RawTar, b: &[u8]| {
        let d = sha256_digest(b);
        t.file(&format!("blobs/sha256/{}", d.digest()), b);
        (d, b.len() as u64)
    };
    let desc = |mt: &str, (d, size): &(Digest, u64)| json!({"mediaType": mt, "digest": d.to_string(), "size": size});
    let image = |t: &mut RawTar, arch: &str, content: &[u8]| {
        let l = layer("f", content);
        let lz = gzip(&l);
        let ld = blob(t, &lz);
        let c = blob(t, &config(arch, &[&sha256_digest(&l)]));
        let m = json!({"schemaVersion": 2, "mediaType": mt::OCI_MANIFEST,
            "config": desc(mt::OCI_CONFIG, &c), "layers": [desc(mt::OCI_LAYER_GZIP, &ld)]});
        let md = blob(t, m.to_string().as_bytes());
        (c.0, md)
    };
    let (amd64_config, amd) = image(&mut t, "amd64", b"amd");
    let (arm64_config, arm) = image(&mut t, "arm64", b"arm");
    let (plain_config, plain) = image(&mut t, "amd64", b"plain");
    let mut a = desc(mt::OCI_MANIFEST, &amd);
    a["platform"] = json!({"architecture": "amd64", "os": "linux"});
    let mut b = desc(mt::OCI_MANIFEST, &arm);
    b["platform"] = json!({"architecture": "arm64", "os": "linux", "variant": "v8"});
    let nested = json!({"schemaVersion": 2, "mediaType": mt::OCI_INDEX, "manifests": [b, a]});
    let nested = blob(&mut t, nested.to_string().as_bytes());
    let mut top_multi = desc(mt::OCI_INDEX, &nested);
    top_multi["annotations"] = json!({"io.containerd.image.name": "docker.io/library/multi:1",
        "org.opencontainers.image.ref.name": "1"});
    let mut top_plain = desc(mt::OCI_MANIFEST, &plain);
    top_plain["annotations"] = json!({"org.opencontainers.image.ref.name": "busybox:latest"});
    let mut top_bare = desc(mt::OCI_MANIFEST, &plain);
    top_bare["annotations"] = json!({"org.opencontainers.image.ref.name": "latest"});
    let artifact = blob(&mut t, b"{}");
    let top_artifact = desc("application/vnd.example.sbom+json", &artifact);
    // index.json without mediaType, as older writers produce.
    let index = json!({"schemaVersion": 2,
        "manifests": [top_multi, top_plain, top_bare, top_artifact]});
    t.file("index.json", index.to_string().as_bytes());
    Oci { archive: t.finish(), amd64_config, arm64_config, plain_config }
}

#[test]
fn loads_oci_layout_for_the_wanted_platform() {
    let o = oci_layout();
    let loaded = read_archive(&o.archive[..], &mut Mem::default(), &amd64()).unwrap();
    assert_eq!(loaded.len(), 2);
    assert_eq!(loaded[0].config_digest, o.amd64_config);
    assert_eq!(loaded[0].repo_tags, [r("multi:1")]);
    assert_eq!(loaded[0].format, ArchiveFormat::OciLayout);
    assert!(loaded[0].manifest_digest.is_some());
    assert_eq!(loaded[0].layers[0].media_type, mt::OCI_LAYER_GZIP);
    assert!(loaded[0].layers[0].diff_id_verified);
    assert_ne!(loaded[0].layers[0].digest, loaded[0].layers[0].diff_id);
    // The manifest named by ref.name and the one with a bare tag are one image.
    assert_eq!(loaded[1].config_digest, o.plain_config);
    assert_eq!(loaded[1].repo_tags, [r("busybox:latest")]);

    let arm = read_archive(&o.archive[..], &mut Mem::default(), &Platform::parse("linux/arm64/v8").unwrap()).unwrap();
    assert_eq!(arm[0].config_digest, o.arm64_config);

    let e = read_archive(&o.archive[..], &mut Mem::default(), &Platform::parse("linux/s390x").unwrap()).unwrap_err();
    assert_eq!(e.to_string(), "no matching manifest for linux/s390x in the manifest list entries");
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

fn assert_refused(archive: &[u8], what: &str) -> ImageError {
    let mut sink = Mem::default();
    let e = read_archive(archive, &mut sink, &amd64()).expect_err(what);
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{what}: {e}");
    e
}

#[test]
fn refuses_hostile_member_paths() {
    for name in ["../evil", "/etc/passwd", "a/../../b", "blobs/../../x", "ok/../x", "a\\..\\b"] {
        let archive = RawTar::new().file(name, b"x").finish();
        let mut sink = Mem::default();
        let e = read_archive(&archive[..], &mut sink, &amd64()).expect_err(name);
        assert!(matches!(e, ImageError::InvalidArchive(_)), "{name}: {e}");
        assert!(sink.blobs.is_empty(), "{name} reached the sink");
    }
    for target in ["../../etc/passwd", "/etc/passwd"] {
        let archive = RawTar::new().symlink("a/layer.tar", target).finish();
        let e = assert_refused(&archive, target);
        assert!(e.to_string().contains("outside the archive"), "{e}");
    }
    let archive = RawTar::new().entry("a/layer.tar", tar::EntryType::Link, b"", "../x").finish();
    assert_refused(&archive, "hard link out");
    // A link loop is an error, not a hang.
    let manifest = json!([{"Config": "c.json", "RepoTags": [], "Layers": []}]);
    let archive = RawTar::new()
        .symlink("c.json", "d.json")
        .symlink("d.json", "c.json")
        .file("manifest.json", manifest.to_string().as_bytes())
        .finish();
    assert_refused(&archive, "link loop");
}

#[test]
fn truncated_archives_are_errors_not_panics() {
    let s = three_images();
    let a = write_archive(&s.images, &s.source, Vec::new()).unwrap();
    // Every cut short of the end-of-archive marker, at block boundaries and inside blocks.
    let end_of_data = a.len() - 1024;
    let mut cuts: Vec<usize> = (0..=end_of_data).step_by(512).collect();
    cuts.extend((0..end_of_data).step_by(97));
    for cut in cuts {
        let mut sink = Mem::default();
        assert!(read_archive(&a[..cut], &mut sink, &amd64()).is_err(), "cut at {cut} of {} loaded", a.len());
    }
    let gz = gzip(&a);
    for cut in [10, gz.len() / 3, gz.len() - 9] {
        assert!(read_archive(&gz[..cut], &mut Mem::default(), &amd64()).is_err());
    }
    // Garbage is an error too.
    assert_refused(&[0x55; 3000], "garbage");
}

#[test]
fn digest_named_members_are_verified() {
    let s = three_images();
    let a = write_archive(&s.images, &s.source, Vec::new()).unwrap();
    // Rebuild the archive with one layer's content changed under the same name.
    let mut t = RawTar::new();
    let victim = format!("blobs/sha256/{}", s.l[1].digest());
    for (p, data) in members(&a) {
        if p.ends_with('/') {
            continue;
        }
        let data = if p == victim { layer("b", b"evil") } else { data };
        t.file(&p, &data);
    }
    let e = assert_refused(&t.finish(), "tampered blob");
    let ImageError::DigestMismatch { what, expected, .. } = &e else { panic!("{e}") };
    assert_eq!(what, &format!("archive member {victim}"));
    assert_eq!(expected, &s.l[1]);

    // A member under blobs/ whose name is not a digest is refused.
    let e = assert_refused(&RawTar::new().file("blobs/sha256/xyz", b"x").finish(), "bad name");
    assert!(e.to_string().contains("not named by a valid digest"), "{e}");
}

#[test]
fn layer_content_must_match_the_config_diff_ids() {
    let l = layer("x", b"x");
    let other = sha256_digest(b"something else");
    let c = config("amd64", &[&other]);
    let hc = sha256_digest(&c).digest().to_string();
    let manifest = json!([{"Config": format!("{hc}.json"), "RepoTags": [], "Layers": ["l/layer.tar"]}]);
    let archive = RawTar::new()
        .file("l/layer.tar", &l)
        .file(&format!("{hc}.json"), &c)
        .file("manifest.json", manifest.to_string().as_bytes())
        .finish();
    let e = assert_refused(&archive, "diff id mismatch");
    assert!(matches!(e, ImageError::DigestMismatch { .. }), "{e}");

    // Layer count and diff id count must agree; a missing layer is named.
    let manifest = json!([{"Config": format!("{hc}.json"), "RepoTags": [], "Layers": []}]);
    let archive =
        RawTar::new().file(&format!("{hc}.json"), &c).file("manifest.json", manifest.to_string().as_bytes()).finish();
    assert_refused(&archive, "count");
    let manifest = json!([{"Config": format!("{hc}.json"), "RepoTags": ["UPPER:x"], "Layers": ["nope.tar"]}]);
    let archive =
        RawTar::new().file(&format!("{hc}.json"), &c).file("manifest.json", manifest.to_string().as_bytes()).finish();
    let e = assert_refused(&archive, "missing");
    assert!(e.to_string().contains("nope.tar is missing"), "{e}");
    // Not an image archive at all.
    let e = assert_refused(&RawTar::new().file("hello.txt", b"hi").finish(), "no manifest");
    assert!(e.to_string().contains("neither manifest.json nor index.json"), "{e}");
}

#[test]
fn path_helpers() {
    assert_eq!(clean_member_path("./a//b/./c").unwrap(), "a/b/c");
    assert_eq!(clean_member_path("blobs/").unwrap(), "blobs");
    assert!(clean_member_path("a/..").is_err());
    assert_eq!(resolve_link_target("x/layer.tar", "../y/layer.tar").unwrap(), "y/layer.tar");
    assert_eq!(resolve_link_target("x/y/z", "../../a").unwrap(), "a");
    assert!(resolve_link_target("x/y", "../../a").is_err());
    assert!(resolve_link_target("x", "/a").is_err());
}

/// Archives written by podman 4 (containers/image, the library behind skopeo) from an imported
/// one-layer image `localhost/wtest:1`: `--format docker-archive` and `--format oci-archive`.
#[test]
fn loads_podman_and_skopeo_archives() {
    let config = "sha256:b4c19e9c3939a9fd2fb007204a94c3c79459e2a2b65c58faa9674cc2372178cf";
    let diff_id = "sha256:1612d3e4460339bb899148d92f151ccf5b2dd3c52cfe4cc08b6b80230547f383";
    let docker = include_bytes!("../../testdata/podman-docker-archive.tar");
    let oci = include_bytes!("../../testdata/podman-oci-archive.tar");
    for (name, archive, format) in [
        ("docker-archive", &docker[..], ArchiveFormat::DockerArchive),
        ("oci-archive", &oci[..], ArchiveFormat::OciLayout),
    ] {
        let mut sink = Mem::default();
        let loaded = read_archive(archive, &mut sink, &amd64()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(loaded.len(), 1, "{name}");
        let img = &loaded[0];
        assert_eq!(img.format, format, "{name}");
        assert_eq!(img.config_digest.to_string(), config, "{name}");
        assert_eq!(img.repo_tags, [r("localhost/wtest:1")], "{name}");
        assert_eq!(img.layers.len(), 1, "{name}");
        assert_eq!(img.layers[0].diff_id.to_string(), diff_id, "{name}");
        assert!(img.layers[0].diff_id_verified, "{name}");
        assert!(sink.blobs.contains_key(&img.layers[0].digest), "{name}");
    }
}
