//! Test images, made here because no registry exists: a busybox image built from Debian's
//! `busybox-static` (`/bin/busybox`), and a three-layer image on top of it whose last layer
//! deletes a file (`.wh.`) and makes a directory opaque (`.wh..wh..opq`).
//!
//! Each image comes as a docker-archive, the way `docker save` (25+) writes it: uncompressed
//! layers, the config and an OCI manifest under `blobs/sha256/`, plus `manifest.json`,
//! `repositories`, `oci-layout` and `index.json`. Everything is deterministic (fixed mtimes and
//! ownership, sorted entries), so the same inputs always give the same image ID.

use std::path::Path;

use sha2::{Digest as _, Sha256};

/// Where the busybox binary comes from.
pub const BUSYBOX: &str = "/bin/busybox";

/// A built image.
#[derive(Debug, Clone)]
pub struct TestImage {
    /// The docker-archive bytes (`docker load` input).
    pub archive: Vec<u8>,
    /// Image ID: `sha256:` + the config's digest.
    pub id: String,
    /// The layers' diff ids, bottom first.
    pub diff_ids: Vec<String>,
    /// The config JSON.
    pub config: serde_json::Value,
    /// `name:tag` it is saved under.
    pub repo_tag: String,
}

/// One entry of a layer.
#[derive(Debug, Clone)]
pub enum Entry {
    /// A directory with its mode.
    Dir(&'static str, u32),
    /// A file with its mode and content.
    File(String, u32, Vec<u8>),
    /// A symlink and its target.
    Symlink(String, String),
}

/// True when busybox-static is installed (`apt-get install busybox-static`). With `WHARF_IT=1`
/// a missing busybox fails the test instead of skipping it.
pub fn have_busybox() -> bool {
    let ok = Path::new(BUSYBOX).is_file();
    assert!(ok || !crate::strict(), "{BUSYBOX} is needed: apt-get install busybox-static");
    if !ok {
        eprintln!("skipped: {BUSYBOX} not installed");
    }
    ok
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// An uncompressed layer tar of `entries`, in the given order, owned by root, mtime fixed.
pub fn layer_tar(entries: &[Entry]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        let r = match e {
            Entry::Dir(path, mode) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(*mode);
                h.set_size(0);
                b.append_data(&mut h, path, std::io::empty())
            }
            Entry::File(path, mode, data) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, path, &data[..])
            }
            Entry::Symlink(path, target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                b.append_link(&mut h, path, target)
            }
        };
        r.expect("building a layer tar");
    }
    b.into_inner().expect("layer tar")
}

/// The busybox root filesystem: `/bin/busybox`, a symlink per applet, `/etc/passwd`,
/// `/etc/group`, `/tmp` (1777), `/root`, `/home`, `/var`.
pub fn busybox_rootfs() -> Vec<Entry> {
    let binary = std::fs::read(BUSYBOX).expect("read /bin/busybox");
    let list = std::process::Command::new(BUSYBOX).arg("--list").output().expect("busybox --list");
    let mut applets: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty() && *a != "busybox" && !a.contains('/'))
        .map(str::to_string)
        .collect();
    applets.sort();
    applets.dedup();
    let mut e = vec![Entry::Dir("bin/", 0o755), Entry::File("bin/busybox".into(), 0o755, binary)];
    e.extend(applets.into_iter().map(|a| Entry::Symlink(format!("bin/{a}"), "busybox".into())));
    e.extend([
        Entry::Dir("etc/", 0o755),
        Entry::File(
            "etc/passwd".into(),
            0o644,
            b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n".to_vec(),
        ),
        Entry::File("etc/group".into(), 0o644, b"root:x:0:\nnogroup:x:65534:\n".to_vec()),
        Entry::Dir("home/", 0o755),
        Entry::Dir("root/", 0o700),
        Entry::Dir("tmp/", 0o1777),
        Entry::Dir("var/", 0o755),
    ]);
    e
}

/// A docker-archive holding one image made of `layers` (bottom first), each with its
/// `created_by` history line, tagged `repo_tag`.
pub fn image_archive(repo_tag: &str, layers: &[(Vec<u8>, &str)], cmd: &[&str]) -> TestImage {
    let diff_ids: Vec<String> = layers.iter().map(|(t, _)| sha256(t)).collect();
    let history: Vec<serde_json::Value> =
        layers.iter().map(|(_, by)| serde_json::json!({"created": "2023-11-14T22:13:20Z", "created_by": by})).collect();
    let config = serde_json::json!({
        "architecture": go_arch(),
        "os": "linux",
        "created": "2023-11-14T22:13:20Z",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": cmd,
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    });
    let config_bytes = serde_json::to_vec(&config).expect("config json");
    let config_digest = sha256(&config_bytes);
    let blob_path = |d: &str| format!("blobs/sha256/{}", d.trim_start_matches("sha256:"));
    let oci_manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_bytes.len()},
        "layers": layers.iter().zip(&diff_ids).map(|((t, _), d)| serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": t.len()
        })).collect::<Vec<_>>(),
    });
    let manifest_bytes = serde_json::to_vec(&oci_manifest).expect("manifest json");
    let manifest_digest = sha256(&manifest_bytes);
    let (repo, tag) = repo_tag.rsplit_once(':').unwrap_or((repo_tag, "latest"));
    let full_name = if repo.contains('/') { repo.to_string() } else { format!("docker.io/library/{repo}") };
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest_bytes.len(),
            "annotations": {
                "io.containerd.image.name": format!("{full_name}:{tag}"),
                "org.opencontainers.image.ref.name": tag,
            },
        }],
    });
    let docker_manifest = serde_json::json!([{
        "Config": blob_path(&config_digest),
        "RepoTags": [repo_tag],
        "Layers": diff_ids.iter().map(|d| blob_path(d)).collect::<Vec<_>>(),
    }]);
    let top = diff_ids.last().map(|d| d.trim_start_matches("sha256:").to_string()).unwrap_or_default();
    let repositories = serde_json::json!({ repo: { tag: top } });

    let mut files: Vec<(String, Vec<u8>)> = vec![(blob_path(&config_digest), config_bytes.clone())];
    for ((t, _), d) in layers.iter().zip(&diff_ids) {
        files.push((blob_path(d), t.clone()));
    }
    files.push((blob_path(&manifest_digest), manifest_bytes));
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files.dedup_by(|a, b| a.0 == b.0);
    files.push(("index.json".into(), serde_json::to_vec(&index).expect("index")));
    files.push(("manifest.json".into(), serde_json::to_vec(&docker_manifest).expect("manifest.json")));
    files.push(("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()));
    files.push(("repositories".into(), serde_json::to_vec(&repositories).expect("repositories")));

    let mut entries = vec![Entry::Dir("blobs/", 0o755), Entry::Dir("blobs/sha256/", 0o755)];
    entries.extend(files.into_iter().map(|(p, d)| Entry::File(p, 0o644, d)));
    TestImage { archive: layer_tar(&entries), id: config_digest, diff_ids, config, repo_tag: repo_tag.to_string() }
}

/// The busybox image (one layer), tagged `repo_tag`.
pub fn busybox_image(repo_tag: &str) -> TestImage {
    let base = layer_tar(&busybox_rootfs());
    image_archive(repo_tag, &[(base, "ADD busybox-static /")], &["sh"])
}

/// busybox plus two layers: the second adds `/data/a`, `/data/b` and `/opq/{old,sub/deep}`; the
/// third deletes `/data/a` (whiteout), makes `/opq` opaque and adds `/opq/new`.
pub fn layered_image(repo_tag: &str) -> TestImage {
    let base = layer_tar(&busybox_rootfs());
    let add = layer_tar(&[
        Entry::Dir("data/", 0o755),
        Entry::File("data/a".into(), 0o644, b"a\n".to_vec()),
        Entry::File("data/b".into(), 0o644, b"b\n".to_vec()),
        Entry::Dir("opq/", 0o755),
        Entry::File("opq/old".into(), 0o644, b"old\n".to_vec()),
        Entry::Dir("opq/sub/", 0o755),
        Entry::File("opq/sub/deep".into(), 0o644, b"deep\n".to_vec()),
    ]);
    let change = layer_tar(&[
        Entry::Dir("data/", 0o755),
        Entry::File("data/.wh.a".into(), 0o644, Vec::new()),
        Entry::Dir("opq/", 0o755),
        Entry::File("opq/.wh..wh..opq".into(), 0o644, Vec::new()),
        Entry::File("opq/new".into(), 0o644, b"new\n".to_vec()),
    ]);
    image_archive(
        repo_tag,
        &[(base, "ADD busybox-static /"), (add, "RUN add /data and /opq"), (change, "RUN rm /data/a; replace /opq")],
        &["sh"],
    )
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// A fresh isolated daemon with `busybox:latest` loaded, or `None` (the test skips) when the
/// host has no busybox to build it from.
pub fn daemon_with_busybox() -> Option<crate::Daemon> {
    if !have_busybox() {
        return None;
    }
    let d = crate::Daemon::start();
    let img = busybox_image("busybox:latest");
    let file = d.root.path().join("busybox.tar");
    std::fs::write(&file, &img.archive).unwrap();
    d.docker(&["load", "-i", file.to_str().unwrap()]).ok();
    Some(d)
}
