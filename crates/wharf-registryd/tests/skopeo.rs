//! The real `wharf-registryd` on a loopback port, driven by skopeo (containers/image, the
//! client podman, buildah and CRI-O use): push a docker-archive and an OCI layout, inspect,
//! list tags, pull back into an OCI layout and compare every layer; basic auth; TLS with a
//! verified certificate; read-only mode; the root lock; `garbage-collect`.
//!
//! Without skopeo the tests are skipped, unless `WHARF_IT=1` (CI), where they fail.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_wharf-registryd");

fn have_skopeo() -> bool {
    let ok = Command::new("skopeo").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(ok || std::env::var("WHARF_IT").as_deref() != Ok("1"), "skopeo is needed: apt-get install skopeo");
    if !ok {
        eprintln!("skipped: skopeo not installed");
    }
    ok
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A running registry.
struct Registryd {
    child: Child,
    /// `127.0.0.1:PORT`.
    addr: String,
    /// `http://…` or `https://…`.
    url: String,
    log: Arc<Mutex<String>>,
}

impl Registryd {
    fn start(root: &Path, extra: &[&str]) -> Registryd {
        Self::try_start(root, extra).unwrap_or_else(|log| panic!("wharf-registryd did not start:\n{log}"))
    }

    /// Starts the binary on an ephemeral port; `Err(log)` if it exits instead.
    fn try_start(root: &Path, extra: &[&str]) -> Result<Registryd, String> {
        let mut child = Command::new(BIN)
            .args(["--addr", "127.0.0.1:0", "--root"])
            .arg(root)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn wharf-registryd");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&format!("{line}\n"));
                if let Some(i) = line.find("listening on ") {
                    let url = line[i + "listening on ".len()..].split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(url);
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(url) => {
                let addr = url.split("://").nth(1).unwrap_or_default().to_string();
                Ok(Registryd { child, addr, url, log })
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                let text = log.lock().unwrap().clone();
                Err(text)
            }
        }
    }

    /// SIGTERM, and the exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("pid");
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM:\n{}", self.log.lock().unwrap());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Registryd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// skopeo isolated from the user's credentials and configuration.
fn skopeo(home: &Path, args: &[&str]) -> Output {
    Command::new("skopeo")
        .arg("--insecure-policy")
        .args(args)
        .env("HOME", home)
        .env("XDG_RUNTIME_DIR", home)
        .env("REGISTRY_AUTH_FILE", home.join("auth.json"))
        .env("DOCKER_CONFIG", home.join(".docker"))
        .stdin(Stdio::null())
        .output()
        .expect("run skopeo")
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An uncompressed layer of `files` (path, content), root-owned, fixed times.
fn layer(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(data.len() as u64);
        b.append_data(&mut h, path, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// A small image: two layers (one of 300 KiB, to span several chunks) and its config.
struct Image {
    layers: Vec<Vec<u8>>,
    diff_ids: Vec<String>,
    config: Vec<u8>,
}

fn image(seed: &str) -> Image {
    let big: Vec<u8> = (0..300 * 1024u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    let layers = vec![
        layer(&[("etc/hello", format!("hello from {seed}\n").as_bytes()), ("etc/big.bin", &big)]),
        layer(&[("app/run.sh", b"#!/bin/sh\necho run\n"), ("app/seed", seed.as_bytes())]),
    ];
    let diff_ids: Vec<String> = layers.iter().map(|l| sha256(l)).collect();
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2023-11-14T22:13:20Z",
        "config": {"Cmd": ["/app/run.sh"], "Env": ["SEED=".to_string() + seed]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": "layer 1"}, {"created_by": "layer 2"}],
    }))
    .unwrap();
    Image { layers, diff_ids, config }
}

fn tar_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(1_700_000_000);
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        b.append_data(&mut h, path, &data[..]).unwrap();
    }
    b.into_inner().unwrap()
}

/// The image as a docker-archive (`docker save`'s classic layout).
fn docker_archive(img: &Image, repo_tag: &str, path: &Path) {
    let config_name = format!("{}.json", sha256(&img.config).trim_start_matches("sha256:"));
    let mut entries = vec![(config_name.clone(), img.config.clone())];
    let mut layer_names = Vec::new();
    for (i, l) in img.layers.iter().enumerate() {
        let name = format!("layer{i}/layer.tar");
        entries.push((name.clone(), l.clone()));
        layer_names.push(name);
    }
    let manifest = json!([{"Config": config_name, "RepoTags": [repo_tag], "Layers": layer_names}]);
    entries.push(("manifest.json".into(), serde_json::to_vec(&manifest).unwrap()));
    std::fs::write(path, tar_of(&entries)).unwrap();
}

/// The image as an OCI layout directory, tagged `tag`.
fn oci_layout(img: &Image, tag: &str, dir: &Path) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |data: &[u8]| {
        let d = sha256(data);
        std::fs::write(blobs.join(d.trim_start_matches("sha256:")), data).unwrap();
        d
    };
    let config = put(&img.config);
    let layers: Vec<Value> = img
        .layers
        .iter()
        .map(|l| json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": put(l), "size": l.len()}))
        .collect();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": img.config.len()},
        "layers": layers,
    }))
    .unwrap();
    let md = put(&manifest);
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": manifest.len(),
                        "annotations": {"org.opencontainers.image.ref.name": tag}}],
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

/// The manifest and config of the image tagged `tag` in an OCI layout skopeo wrote.
fn read_layout(dir: &Path, tag: &str) -> (Value, Value) {
    let blob = |d: &str| std::fs::read(dir.join("blobs/sha256").join(d.trim_start_matches("sha256:"))).unwrap();
    let index: Value = serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .expect("tag in index.json")
        .clone();
    let manifest: Value = serde_json::from_slice(&blob(entry["digest"].as_str().unwrap())).unwrap();
    let config: Value = serde_json::from_slice(&blob(manifest["config"]["digest"].as_str().unwrap())).unwrap();
    (manifest, config)
}

/// Every layer blob of `manifest` in the layout hashes to its digest and, uncompressed, to the
/// image's diff id.
fn check_layers(dir: &Path, manifest: &Value, img: &Image) {
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), img.layers.len());
    for (l, diff_id) in layers.iter().zip(&img.diff_ids) {
        let d = l["digest"].as_str().unwrap();
        let data = std::fs::read(dir.join("blobs/sha256").join(d.trim_start_matches("sha256:"))).unwrap();
        assert_eq!(sha256(&data), d, "blob content matches its digest");
        let plain = if data.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&data[..]).read_to_end(&mut out).unwrap();
            out
        } else {
            data
        };
        assert_eq!(&sha256(&plain), diff_id, "layer content survived the round trip");
    }
}

struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch { dir: tempfile::tempdir().unwrap() }
    }
    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    fn s(&self, p: &str) -> String {
        self.path(p).display().to_string()
    }
}

#[test]
fn skopeo_push_inspect_pull_round_trip() {
    if !have_skopeo() {
        return;
    }
    let t = Scratch::new();
    let reg = Registryd::start(&t.path("root"), &[]);
    let home = t.path("home");
    std::fs::create_dir_all(&home).unwrap();
    let a = reg.addr.clone();

    // docker-archive → registry (skopeo converts to a Docker v2 schema 2 manifest, gzips layers).
    let img = image("one");
    docker_archive(&img, "test/img:v1", &t.path("img.tar"));
    let src = format!("docker-archive:{}", t.s("img.tar"));
    ok(skopeo(&home, &["copy", "--dest-tls-verify=false", &src, &format!("docker://{a}/test/img:v1")]), "push");

    let inspect: Value = serde_json::from_str(&ok(
        skopeo(&home, &["inspect", "--tls-verify=false", &format!("docker://{a}/test/img:v1")]),
        "inspect",
    ))
    .unwrap();
    let pushed_layers: Vec<String> =
        inspect["Layers"].as_array().unwrap().iter().map(|l| l.as_str().unwrap().to_string()).collect();
    assert_eq!(pushed_layers.len(), 2);
    assert_eq!(inspect["Env"][0], "SEED=one");
    let raw: Value = serde_json::from_str(&ok(
        skopeo(&home, &["inspect", "--raw", "--tls-verify=false", &format!("docker://{a}/test/img:v1")]),
        "inspect --raw",
    ))
    .unwrap();
    assert_eq!(raw["mediaType"], "application/vnd.docker.distribution.manifest.v2+json");
    let config: Value = serde_json::from_str(&ok(
        skopeo(&home, &["inspect", "--config", "--tls-verify=false", &format!("docker://{a}/test/img:v1")]),
        "inspect --config",
    ))
    .unwrap();
    assert_eq!(config["rootfs"]["diff_ids"], json!(img.diff_ids));

    // A second tag by copying inside the registry (blobs are mounted or found, not re-sent).
    ok(
        skopeo(
            &home,
            &[
                "copy",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                &format!("docker://{a}/test/img:v1"),
                &format!("docker://{a}/other/copy:latest"),
            ],
        ),
        "registry to registry",
    );
    let tags: Value = serde_json::from_str(&ok(
        skopeo(&home, &["list-tags", "--tls-verify=false", &format!("docker://{a}/test/img")]),
        "list-tags",
    ))
    .unwrap();
    assert_eq!(tags["Tags"], json!(["v1"]));

    // An OCI layout → registry keeps the OCI manifest.
    let img2 = image("two");
    oci_layout(&img2, "v2", &t.path("layout"));
    ok(
        skopeo(
            &home,
            &[
                "copy",
                "--dest-tls-verify=false",
                &format!("oci:{}:v2", t.s("layout")),
                &format!("docker://{a}/test/img:v2"),
            ],
        ),
        "push OCI layout",
    );
    let raw2: Value = serde_json::from_str(&ok(
        skopeo(&home, &["inspect", "--raw", "--tls-verify=false", &format!("docker://{a}/test/img:v2")]),
        "inspect --raw v2",
    ))
    .unwrap();
    assert_eq!(raw2["mediaType"], "application/vnd.oci.image.manifest.v1+json");

    // Registry → OCI layout: every layer comes back as pushed.
    let out = t.path("out");
    for tag in ["v1", "v2"] {
        ok(
            skopeo(
                &home,
                &[
                    "copy",
                    "--src-tls-verify=false",
                    &format!("docker://{a}/test/img:{tag}"),
                    &format!("oci:{}:{tag}", out.display()),
                ],
            ),
            "pull",
        );
    }
    let (m1, c1) = read_layout(&out, "v1");
    let got: Vec<&str> = m1["layers"].as_array().unwrap().iter().map(|l| l["digest"].as_str().unwrap()).collect();
    assert_eq!(got, pushed_layers, "the layer digests skopeo inspect reported");
    check_layers(&out, &m1, &img);
    assert_eq!(c1["rootfs"]["diff_ids"], json!(img.diff_ids));
    let (m2, _) = read_layout(&out, "v2");
    check_layers(&out, &m2, &img2);

    let tags: Value = serde_json::from_str(&ok(
        skopeo(&home, &["list-tags", "--tls-verify=false", &format!("docker://{a}/test/img")]),
        "list-tags",
    ))
    .unwrap();
    assert_eq!(tags["Tags"], json!(["v1", "v2"]));

    // Delete: the manifest is gone, the other tag stays.
    ok(skopeo(&home, &["delete", "--tls-verify=false", &format!("docker://{a}/test/img:v2")]), "delete");
    let gone = skopeo(&home, &["inspect", "--tls-verify=false", &format!("docker://{a}/test/img:v2")]);
    assert!(!gone.status.success(), "v2 still there after delete");
    ok(skopeo(&home, &["inspect", "--tls-verify=false", &format!("docker://{a}/test/img:v1")]), "v1 after deleting v2");
    let st = reg.stop();
    assert!(st.success(), "SIGTERM is a clean exit: {st:?}");
}

fn htpasswd_file(path: &Path, user: &str, password: &str) {
    // As `htpasswd -B` writes it.
    let hash = bcrypt::hash_with_result(password, 5).unwrap().format_for_version(bcrypt::Version::TwoY);
    std::fs::write(path, format!("{user}:{hash}\n")).unwrap();
}

#[test]
fn skopeo_with_basic_auth() {
    if !have_skopeo() {
        return;
    }
    let t = Scratch::new();
    htpasswd_file(&t.path("htpasswd"), "alice", "wonderland");
    let reg = Registryd::start(&t.path("root"), &["--htpasswd", &t.s("htpasswd"), "--realm", "wharf test"]);
    let home = t.path("home");
    std::fs::create_dir_all(&home).unwrap();
    let img = image("auth");
    docker_archive(&img, "x:y", &t.path("img.tar"));
    let src = format!("docker-archive:{}", t.s("img.tar"));
    let dest = format!("docker://{}/secure/img:v1", reg.addr);

    let anon = skopeo(&home, &["copy", "--dest-tls-verify=false", &src, &dest]);
    assert!(!anon.status.success(), "a push without credentials succeeded");
    let wrong = skopeo(&home, &["copy", "--dest-tls-verify=false", "--dest-creds", "alice:queen", &src, &dest]);
    assert!(!wrong.status.success(), "a push with a wrong password succeeded");
    let stderr = String::from_utf8_lossy(&wrong.stderr).to_lowercase();
    assert!(stderr.contains("unauthorized") || stderr.contains("authentication"), "{stderr}");

    ok(
        skopeo(&home, &["copy", "--dest-tls-verify=false", "--dest-creds", "alice:wonderland", &src, &dest]),
        "push with creds",
    );
    let pulled = skopeo(&home, &["inspect", "--tls-verify=false", &dest]);
    assert!(!pulled.status.success(), "an anonymous pull succeeded");
    let inspect: Value = serde_json::from_str(&ok(
        skopeo(&home, &["inspect", "--tls-verify=false", "--creds", "alice:wonderland", &dest]),
        "inspect",
    ))
    .unwrap();
    assert_eq!(inspect["Layers"].as_array().unwrap().len(), 2);
}

#[test]
fn skopeo_over_verified_tls() {
    if !have_skopeo() {
        return;
    }
    let t = Scratch::new();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "wharf registry test CA");
    ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, &ca).unwrap();
    std::fs::write(t.path("cert.pem"), cert.pem()).unwrap();
    std::fs::write(t.path("key.pem"), key.serialize_pem()).unwrap();
    std::fs::create_dir_all(t.path("certs.d")).unwrap();
    std::fs::write(t.path("certs.d/ca.crt"), ca.pem()).unwrap();

    let reg = Registryd::start(&t.path("root"), &["--tls-cert", &t.s("cert.pem"), "--tls-key", &t.s("key.pem")]);
    assert!(reg.url.starts_with("https://"), "{}", reg.url);
    let home = t.path("home");
    std::fs::create_dir_all(&home).unwrap();
    let img = image("tls");
    docker_archive(&img, "x:y", &t.path("img.tar"));
    let src = format!("docker-archive:{}", t.s("img.tar"));
    let dest = format!("docker://{}/tls/img:v1", reg.addr);
    let certs = t.s("certs.d");

    let untrusted = skopeo(&home, &["copy", "--dest-tls-verify=true", &src, &dest]);
    assert!(!untrusted.status.success(), "a push trusting no CA succeeded");
    ok(
        skopeo(&home, &["copy", "--dest-tls-verify=true", "--dest-cert-dir", &certs, &src, &dest]),
        "push over verified TLS",
    );
    let inspect: Value = serde_json::from_str(&ok(
        skopeo(&home, &["inspect", "--tls-verify=true", "--cert-dir", &certs, &dest]),
        "inspect over TLS",
    ))
    .unwrap();
    assert_eq!(inspect["Layers"].as_array().unwrap().len(), 2);
}

#[test]
fn read_only_lock_and_garbage_collect() {
    if !have_skopeo() {
        return;
    }
    let t = Scratch::new();
    let root = t.path("root");
    let home = t.path("home");
    std::fs::create_dir_all(&home).unwrap();
    let reg = Registryd::start(&root, &[]);
    let a = reg.addr.clone();
    for (seed, tag) in [("keep", "keep"), ("drop", "drop")] {
        let img = image(seed);
        docker_archive(&img, "x:y", &t.path("img.tar"));
        let src = format!("docker-archive:{}", t.s("img.tar"));
        ok(skopeo(&home, &["copy", "--dest-tls-verify=false", &src, &format!("docker://{a}/gc/img:{tag}")]), "push");
    }
    // One root, one process.
    let second = Registryd::try_start(&root, &[]);
    assert!(second.is_err(), "a second registry on the same root started");
    let gc = Command::new(BIN).args(["garbage-collect", "--root"]).arg(&root).output().unwrap();
    assert!(!gc.status.success(), "garbage-collect ran beside a serving registry");
    assert!(String::from_utf8_lossy(&gc.stderr).contains("registry.lock"), "{}", String::from_utf8_lossy(&gc.stderr));

    ok(skopeo(&home, &["delete", "--tls-verify=false", &format!("docker://{a}/gc/img:drop")]), "delete");
    assert!(reg.stop().success());

    let dry = Command::new(BIN).args(["garbage-collect", "--dry-run", "--root"]).arg(&root).output().unwrap();
    let dry_out = ok(dry, "garbage-collect --dry-run");
    assert!(dry_out.contains("would delete blob"), "{dry_out}");
    let blobs = || std::fs::read_dir(root.join("blobs/sha256")).unwrap().count();
    let before = blobs();
    let out = ok(Command::new(BIN).args(["garbage-collect", "--root"]).arg(&root).output().unwrap(), "garbage-collect");
    // The dropped image's manifest, config and second layer; the first layer differs too
    // (its file names the seed).
    assert!(out.contains("4 blobs deleted"), "{out}");
    assert_eq!(blobs(), before - 4);

    // Read-only: pulls work, pushes are refused.
    let ro = Registryd::start(&root, &["--read-only"]);
    let a = ro.addr.clone();
    ok(
        skopeo(
            &home,
            &[
                "copy",
                "--src-tls-verify=false",
                &format!("docker://{a}/gc/img:keep"),
                &format!("oci:{}:keep", t.s("out")),
            ],
        ),
        "pull from a read-only registry",
    );
    let img = image("new");
    docker_archive(&img, "x:y", &t.path("img.tar"));
    let push = skopeo(
        &home,
        &[
            "copy",
            "--dest-tls-verify=false",
            &format!("docker-archive:{}", t.s("img.tar")),
            &format!("docker://{a}/gc/img:new"),
        ],
    );
    assert!(!push.status.success(), "a push to a read-only registry succeeded");
    let err = String::from_utf8_lossy(&push.stderr).to_lowercase();
    assert!(err.contains("unsupported") || err.contains("405") || err.contains("method not allowed"), "{err}");
}
