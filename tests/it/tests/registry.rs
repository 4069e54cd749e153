//! Pull, push and login end to end through the stock docker CLI against wharfd, with
//! `wharf-registryd` (htpasswd auth) as the registry on a loopback port: login (good and wrong
//! password), tag + push (and `Layer already exists` on a second push), rmi + pull + run, pull
//! when up to date, pull by digest, dockerd's error for an unknown repository; and a fake
//! registry serving a layer whose bytes do not match its digest: the pull fails with a clear
//! error and leaves no image and no blob behind.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wharf_it::Daemon;

/// A wharf-registryd on an ephemeral loopback port; killed on drop.
struct Registryd {
    child: Child,
    addr: String,
    _root: tempfile::TempDir,
}

impl Registryd {
    /// Starts with one htpasswd user `user:secret`.
    fn start() -> Registryd {
        let root = tempfile::tempdir().unwrap();
        let htpasswd = root.path().join("htpasswd");
        let hash = bcrypt::hash("secret", 4).unwrap();
        std::fs::write(&htpasswd, format!("user:{hash}\n")).unwrap();
        let mut child = Command::new(wharf_it::bin("wharf-registryd"))
            .args(["--addr", "127.0.0.1:0", "--root"])
            .arg(root.path().join("data"))
            .arg("--htpasswd")
            .arg(&htpasswd)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn wharf-registryd");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(i) = line.find("listening on ") {
                    let url = line[i + "listening on ".len()..].split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(url);
                }
            }
        });
        let url = rx.recv_timeout(Duration::from_secs(20)).expect("wharf-registryd did not start");
        let addr = url.split("://").nth(1).unwrap().trim_end_matches('"').to_string();
        Registryd { child, addr, _root: root }
    }
}

impl Drop for Registryd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn login(d: &Daemon, addr: &str, password: &str) -> wharf_it::CmdResult {
    d.docker_stdin(&["login", "-u", "user", "--password-stdin", addr], password.as_bytes())
}

/// Files under the daemon's content store.
fn blobs(data_root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for alg in ["sha256", "sha512"] {
        if let Ok(rd) = std::fs::read_dir(data_root.join("content").join("blobs").join(alg)) {
            out.extend(rd.filter_map(Result::ok).map(|e| e.path()));
        }
    }
    out.sort();
    out
}

#[test]
fn login_push_pull_run_through_the_docker_cli() {
    let Some(d) = wharf_it::images::daemon_with_busybox() else { return };
    let reg = Registryd::start();
    let addr = reg.addr.as_str();
    let image = format!("{addr}/test/bb:1");

    // A wrong password is refused with dockerd's text; the right one logs in.
    let bad = login(&d, addr, "wrong");
    let err = bad.failed();
    assert!(err.contains("401 Unauthorized"), "{err}");
    let ok = login(&d, addr, "secret");
    assert!(ok.ok().contains("Login Succeeded"), "{}", ok.stdout);

    d.docker(&["tag", "busybox", &image]).ok();
    let push = d.docker(&["push", &image]);
    let out = push.ok();
    eprintln!("{out}");
    assert!(out.contains(&format!("The push refers to repository [{addr}/test/bb]")), "{out}");
    assert!(out.contains("Pushed"), "{out}");
    assert!(out.contains("1: digest: sha256:"), "{out}");
    let pushed_digest = out
        .lines()
        .find_map(|l| l.split("digest: ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .unwrap()
        .to_string();

    // dockerd's `push` event (`--until` counts whole seconds: let this one pass).
    std::thread::sleep(Duration::from_millis(1100));
    let ev =
        d.docker(&["events", "--since", "0", "--until", "0s", "--filter", "event=push", "--format", "{{.Actor.ID}}"]);
    let all = d.docker(&["events", "--since", "0", "--until", "0s", "--format", "{{.Type}} {{.Action}} {{.Actor.ID}}"]);
    assert_eq!(ev.ok().trim(), image, "push event; all: {}", all.stdout);

    // The same layers again: nothing to upload.
    let again = d.docker(&["push", &image]);
    assert!(again.ok().contains("Layer already exists"), "{}", again.stdout);

    // Pull it back after removing the tag and the image.
    d.docker(&["rmi", &image]).ok();
    d.docker(&["rmi", "busybox"]).ok();
    let pull = d.docker(&["pull", &image]);
    let out = pull.ok();
    eprintln!("{out}");
    assert!(out.contains("1: Pulling from test/bb"), "{out}");
    assert!(out.contains("Pull complete"), "{out}");
    assert!(out.contains(&format!("Digest: {pushed_digest}")), "{out}");
    assert!(out.contains(&format!("Status: Downloaded newer image for {image}")), "{out}");
    let run = d.docker(&["run", "--rm", &image, "echo", "pulled"]);
    assert_eq!(run.ok(), "pulled\n");
    let inspect = d.docker(&["image", "inspect", "--format", "{{json .RepoDigests}}", &image]);
    assert!(inspect.ok().contains(&format!("{addr}/test/bb@{pushed_digest}")), "{}", inspect.stdout);

    // Again: up to date.
    let pull = d.docker(&["pull", &image]);
    assert!(pull.ok().contains(&format!("Status: Image is up to date for {image}")), "{}", pull.stdout);

    // By digest.
    let by_digest = format!("{addr}/test/bb@{pushed_digest}");
    let pull = d.docker(&["pull", &by_digest]);
    assert!(pull.ok().contains(&format!("Digest: {pushed_digest}")), "{}", pull.stdout);

    // Every tag of the repository (`docker pull -a`: the API's empty tag).
    let second = format!("{addr}/test/bb:2");
    d.docker(&["tag", &image, &second]).ok();
    d.docker(&["push", &second]).ok();
    d.docker(&["rmi", &image, &second]).ok();
    let all = d.docker(&["pull", "-a", &format!("{addr}/test/bb")]);
    let out = all.ok();
    assert!(out.contains("1: Pulling from test/bb") && out.contains("2: Pulling from test/bb"), "{out}");
    assert!(out.contains(&format!("Status: Downloaded newer image for {addr}/test/bb\n")), "{out}");
    let tags = d.docker(&["images", "--format", "{{.Tag}}", &format!("{addr}/test/bb")]);
    let mut tags: Vec<&str> = tags.ok().lines().collect();
    tags.sort();
    assert_eq!(tags, ["1", "2"]);

    // An unknown repository: dockerd's words.
    let missing = d.docker(&["pull", &format!("{addr}/nope/x:1")]);
    let err = missing.failed();
    assert!(err.contains("not found") || err.contains("pull access denied"), "{err}");

    // Through the API without credentials: a plain 404 before any stream, as dockerd.
    let r = d.api("POST", &format!("/images/create?fromImage={addr}/test/bb&tag=1"), None).unwrap();
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(r.text().contains(&format!("pull access denied for {addr}/test/bb")), "{}", r.text());
}

#[test]
fn pull_without_login_is_denied() {
    let Some(d) = wharf_it::images::daemon_with_busybox() else { return };
    let reg = Registryd::start();
    let err = d.docker(&["pull", &format!("{}/test/bb:1", reg.addr)]);
    let text = err.failed();
    assert!(
        text.contains("pull access denied for")
            && text.contains("repository does not exist or may require 'docker login'"),
        "{text}"
    );
}

/// How the fake registry serves its one layer.
#[derive(Clone, Copy, PartialEq)]
enum LayerMode {
    /// Bytes that do not match the digest.
    Corrupt,
    /// The first request stalls half-way (for a minute); later ones are whole.
    StallFirst,
    /// Whole, behind the Bearer token flow (`user:secret` at `/token` gets a token).
    Bearer,
    /// Whole, anonymous.
    Whole,
}

/// A registry (plain HTTP) serving one image, `bad/img:1`, whose layer is served as `mode` says.
fn fake_registry(mode: LayerMode) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    // A layer of its own (the daemon already has busybox's).
    let mut entries = wharf_it::images::busybox_rootfs();
    entries.push(wharf_it::images::Entry::File("corrupt-test".into(), 0o644, b"unique".to_vec()));
    let layer = wharf_it::images::layer_tar(&entries);
    let diff_id = format!("sha256:{}", hex::encode(Sha256::digest(&layer)));
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": std::env::consts::ARCH.replace("x86_64", "amd64").replace("aarch64", "arm64"),
        "os": "linux",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }))
    .unwrap();
    let config_digest = format!("sha256:{}", hex::encode(Sha256::digest(&config)));
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": config.len(), "digest": config_digest},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar", "size": layer.len(), "digest": diff_id}],
    }))
    .unwrap();
    let mut served = layer.clone();
    if mode == LayerMode::Corrupt {
        let mid = served.len() / 2;
        served[mid] ^= 0xff;
    }
    let fake = std::sync::Arc::new(Fake {
        manifest,
        config,
        layer: served,
        config_digest,
        layer_digest: diff_id,
        stalled: std::sync::atomic::AtomicBool::new(mode != LayerMode::StallFirst),
        bearer: (mode == LayerMode::Bearer).then(|| addr.clone()),
    });
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { continue };
            let fake = fake.clone();
            std::thread::spawn(move || serve_one(&mut s, &fake));
        }
    });
    addr
}

/// What the fake registry serves.
struct Fake {
    manifest: Vec<u8>,
    config: Vec<u8>,
    layer: Vec<u8>,
    config_digest: String,
    layer_digest: String,
    /// Whether the one stalled layer request was made (true from the start unless `StallFirst`).
    stalled: std::sync::atomic::AtomicBool,
    /// With the Bearer flow: the registry's own address (for the realm).
    bearer: Option<String>,
}

fn serve_one(s: &mut TcpStream, f: &Fake) {
    let (manifest, config, layer) = (&f.manifest[..], &f.config[..], &f.layer[..]);
    let (config_digest, layer_digest, stalled) = (f.config_digest.as_str(), f.layer_digest.as_str(), &f.stalled);
    let bearer = f.bearer.as_deref();
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut first = [0u8; 1];
    if s.peek(&mut first).is_err() || first[0] == 0x16 {
        return; // a TLS client hello: this registry speaks plain HTTP
    }
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut parts = text.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let lower = text.to_ascii_lowercase();
    let mut extra = String::new();
    let denied: &[u8] = br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
    let (status, ctype, body): (&str, &str, &[u8]) = if let (Some(me), true) = (bearer, path.starts_with("/token")) {
        // base64("user:secret"), lower-cased with the rest of the head.
        if lower.contains("authorization: basic dxnlcjpzzwnyzxq=") {
            ("200 OK", "application/json", br#"{"token":"tok-123","expires_in":300}"#)
        } else {
            let _ = me;
            ("401 Unauthorized", "application/json", denied)
        }
    } else if bearer.is_some() && !lower.contains("authorization: bearer tok-123") {
        extra = format!(
            "WWW-Authenticate: Bearer realm=\"http://{}/token\",service=\"fake\",scope=\"repository:bad/img:pull\"\r\n",
            bearer.unwrap_or_default()
        );
        ("401 Unauthorized", "application/json", denied)
    } else if path == "/v2/" {
        ("200 OK", "application/json", b"{}")
    } else if path == "/v2/bad/img/manifests/1" || path.starts_with("/v2/bad/img/manifests/sha256:") {
        ("200 OK", "application/vnd.docker.distribution.manifest.v2+json", manifest)
    } else if path == format!("/v2/bad/img/blobs/{config_digest}") {
        ("200 OK", "application/octet-stream", config)
    } else if path == format!("/v2/bad/img/blobs/{layer_digest}") {
        ("200 OK", "application/octet-stream", layer)
    } else {
        (
            "404 Not Found",
            "application/json",
            br#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"#,
        )
    };
    let header = format!(
        "HTTP/1.1 {status}\r\n{extra}Content-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = s.write_all(header.as_bytes());
    if method == "HEAD" {
        return;
    }
    let is_layer = path.ends_with(layer_digest);
    if is_layer && !stalled.swap(true, std::sync::atomic::Ordering::SeqCst) {
        let _ = s.write_all(&body[..body.len() / 2]);
        let _ = s.flush();
        std::thread::sleep(Duration::from_secs(60));
        return;
    }
    let _ = s.write_all(body);
}

#[test]
fn a_corrupt_layer_fails_the_pull_and_stores_nothing() {
    let Some(d) = wharf_it::images::daemon_with_busybox() else { return };
    let addr = fake_registry(LayerMode::Corrupt);
    let before_images = d.docker(&["images", "-q"]).ok().to_string();
    let before_blobs = blobs(&d.data_root);
    let r = d.docker(&["pull", &format!("{addr}/bad/img:1")]);
    let err = r.failed();
    assert!(err.contains("filesystem layer verification failed for digest sha256:"), "{err}");
    assert_eq!(d.docker(&["images", "-q"]).ok(), before_images);
    assert_eq!(blobs(&d.data_root), before_blobs, "the failed pull left blobs behind");
}

#[test]
fn a_daemon_killed_mid_pull_leaves_nothing_and_the_next_pull_completes() {
    let Some(mut d) = wharf_it::images::daemon_with_busybox() else { return };
    let addr = fake_registry(LayerMode::StallFirst);
    let image = format!("{addr}/bad/img:1");
    let before_blobs = blobs(&d.data_root);
    let mut c = Command::new(wharf_it::docker_cli());
    c.arg("--config").arg(&d.client_config).arg("-H").arg(d.host()).args(["pull", &image]);
    let mut pull = c.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    // Wait until the layer is streaming (its manifest and config are stored by then).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while blobs(&d.data_root).len() < before_blobs.len() + 2 {
        assert!(std::time::Instant::now() < deadline, "the pull did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    d.kill9();
    let _ = pull.kill();
    let _ = pull.wait();
    d.spawn();
    d.wait_ready();
    // The restarted daemon collected the unfinished pull: no image, no blob, no ingest file.
    assert_eq!(blobs(&d.data_root), before_blobs, "the killed pull left blobs behind");
    let ingest: Vec<_> = std::fs::read_dir(d.data_root.join("content").join("ingest"))
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(ingest.is_empty(), "{ingest:?}");
    assert!(d.docker(&["images", "-q", &image]).ok().is_empty());
    // The next pull completes and runs.
    let out = d.docker(&["pull", &image]);
    assert!(out.ok().contains("Pull complete"), "{}", out.stdout);
    let run = d.docker(&["run", "--rm", &image, "cat", "/corrupt-test"]);
    assert_eq!(run.ok(), "unique");
}

#[test]
fn bearer_token_login_and_pull() {
    let Some(d) = wharf_it::images::daemon_with_busybox() else { return };
    let addr = fake_registry(LayerMode::Bearer);
    let image = format!("{addr}/bad/img:1");
    let denied = d.docker(&["pull", &image]);
    assert!(denied.failed().contains("pull access denied for"), "{}", denied.stderr);
    let bad = login(&d, &addr, "wrong");
    assert!(bad.failed().contains("unauthorized: authentication required"), "{}", bad.stderr);
    login(&d, &addr, "secret").ok();
    let out = d.docker(&["pull", &image]);
    assert!(out.ok().contains("Pull complete"), "{}", out.stdout);
    let run = d.docker(&["run", "--rm", &image, "cat", "/corrupt-test"]);
    assert_eq!(run.ok(), "unique");
}

/// Debian's `docker-registry` (distribution 2.8, Docker's `registry:2`) on a free loopback
/// port, with htpasswd auth; `None` (the test skips) when it is not installed, unless
/// `WHARF_IT=1`.
fn distribution_registry() -> Option<(Child, String, tempfile::TempDir)> {
    let bin = Path::new("/usr/bin/docker-registry");
    if !bin.exists() {
        assert!(!wharf_it::strict(), "docker-registry is not installed and WHARF_IT=1 forbids skipping");
        eprintln!("skipped: docker-registry is not installed");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    std::fs::write(dir.path().join("htpasswd"), format!("user:{}\n", bcrypt::hash("secret", 5).unwrap())).unwrap();
    let config = format!(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\n\
         http:\n  addr: {addr}\nauth:\n  htpasswd:\n    realm: basic-realm\n    path: {htpasswd}\n",
        root = dir.path().join("data").display(),
        htpasswd = dir.path().join("htpasswd").display(),
    );
    std::fs::write(dir.path().join("config.yml"), config).unwrap();
    let child = Command::new(bin)
        .arg("serve")
        .arg(dir.path().join("config.yml"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(&addr).is_err() {
        assert!(std::time::Instant::now() < deadline, "docker-registry did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some((child, addr, dir))
}

#[test]
fn push_to_and_pull_from_distribution_registry() {
    let Some(d) = wharf_it::images::daemon_with_busybox() else { return };
    let Some((mut child, addr, _dir)) = distribution_registry() else { return };
    let image = format!("{addr}/dist/bb:v1");
    let result = std::panic::catch_unwind(|| {
        login(&d, &addr, "secret").ok();
        d.docker(&["tag", "busybox", &image]).ok();
        let push = d.docker(&["push", &image]);
        assert!(push.ok().contains("v1: digest: sha256:"), "{}", push.stdout);
        let again = d.docker(&["push", &image]);
        assert!(again.ok().contains("Layer already exists"), "{}", again.stdout);
        // A second repository of the same registry mounts the layer instead of uploading it.
        let other = format!("{addr}/dist/other:v1");
        d.docker(&["tag", "busybox", &other]).ok();
        let mounted = d.docker(&["push", &other]);
        assert!(mounted.ok().contains("Mounted from dist/bb"), "{}", mounted.stdout);
        d.docker(&["rmi", &image, &other, "busybox"]).ok();
        let pull = d.docker(&["pull", &image]);
        assert!(pull.ok().contains("Pull complete"), "{}", pull.stdout);
        assert_eq!(d.docker(&["run", "--rm", &image, "echo", "dist"]).ok(), "dist\n");
        let missing = d.docker(&["pull", &format!("{addr}/dist/nope:v1")]);
        let err = missing.failed();
        assert!(err.contains("not found") || err.contains("pull access denied"), "{err}");
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn registry_options_show_in_info() {
    if !wharf_it::have_root() {
        return;
    }
    let d = Daemon::start_with(wharf_it::DaemonOpts {
        args: vec![
            "--insecure-registry".into(),
            "10.0.0.0/8".into(),
            "--registry-mirror".into(),
            "https://mirror.example".into(),
            "--max-concurrent-downloads".into(),
            "2".into(),
        ],
        ..Default::default()
    });
    let info = d.get_json("/info");
    let rc = &info["RegistryConfig"];
    assert_eq!(rc["InsecureRegistryCIDRs"], serde_json::json!(["127.0.0.0/8", "10.0.0.0/8"]), "{rc}");
    assert_eq!(rc["Mirrors"], serde_json::json!(["https://mirror.example/"]), "{rc}");
    let out = d.docker(&["info", "--format", "{{json .RegistryConfig.IndexConfigs}}"]);
    assert!(out.ok().contains("https://mirror.example/"), "{}", out.stdout);
}

#[test]
fn pull_progress_is_dockerds_json_stream() {
    let Some(d) = wharf_it::images::daemon_with_busybox() else { return };
    let addr = fake_registry(LayerMode::Whole);
    let r = d.api("POST", &format!("/images/create?fromImage={addr}/bad/img&tag=1"), None).unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let lines: Vec<serde_json::Value> =
        r.text().lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0], serde_json::json!({"status": "Pulling from bad/img", "id": "1"}));
    let statuses: Vec<&str> = lines.iter().filter_map(|l| l["status"].as_str()).collect();
    for want in
        ["Pulling fs layer", "Downloading", "Verifying Checksum", "Download complete", "Extracting", "Pull complete"]
    {
        assert!(statuses.contains(&want), "{want} missing: {statuses:?}");
    }
    let dl = lines.iter().find(|l| l["status"] == "Downloading").unwrap();
    assert!(dl["progressDetail"]["current"].as_u64().unwrap() > 0, "{dl}");
    assert!(dl["progressDetail"]["total"].as_u64().unwrap() > 0, "{dl}");
    assert!(dl["progress"].as_str().unwrap().starts_with('['), "{dl}");
    assert_eq!(dl["id"].as_str().unwrap().len(), 12, "{dl}");
    assert!(statuses[statuses.len() - 2].starts_with("Digest: sha256:"), "{statuses:?}");
    assert_eq!(statuses[statuses.len() - 1], format!("Status: Downloaded newer image for {addr}/bad/img:1"));
    // Again: up to date, without layer lines.
    let r = d.api("POST", &format!("/images/create?fromImage={addr}/bad/img&tag=1"), None).unwrap();
    let text = r.text();
    assert!(text.contains(&format!("Status: Image is up to date for {addr}/bad/img:1")), "{text}");
    assert!(!text.contains("Already exists"), "{text}");
    // An unknown tag: a plain 404 before any stream.
    let r = d.api("POST", &format!("/images/create?fromImage={addr}/bad/img&tag=2"), None).unwrap();
    assert_eq!(r.status, 404, "{}", r.text());
}
