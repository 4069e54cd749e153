//! Images end to end, through the stock docker CLI, `wharf`, skopeo and raw HTTP: load, list,
//! inspect, tag, history, rmi, save (and load it back), import, prune, `system df`, and a daemon
//! killed in the middle of a load.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use wharf_it::images::{busybox_image, have_busybox, layered_image, TestImage};
use wharf_it::{CmdResult, Daemon};

fn write_archive(d: &Daemon, name: &str, img: &TestImage) -> PathBuf {
    let p = d.root.path().join(name);
    std::fs::write(&p, &img.archive).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn inspect(d: &Daemon, name: &str) -> serde_json::Value {
    let out = d.docker(&["image", "inspect", name]);
    let v: serde_json::Value = serde_json::from_str(out.ok()).unwrap();
    v[0].clone()
}

/// Files under `dir` (recursively), as paths relative to it.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn load_list_inspect_tag_history_rmi_with_both_clis() {
    if !have_busybox() {
        return;
    }
    let d = Daemon::start();
    let img = layered_image("layered:1");
    let file = write_archive(&d, "layered.tar", &img);
    let out = d.docker(&["load", "-i", s(&file)]);
    assert!(out.ok().contains("Loaded image: layered:1"), "{}", out.stdout);

    let i = inspect(&d, "layered:1");
    assert_eq!(i["Id"], img.id);
    assert_eq!(i["RepoTags"], serde_json::json!(["layered:1"]));
    assert_eq!(i["RootFS"]["Type"], "layers");
    let layers: Vec<String> = serde_json::from_value(i["RootFS"]["Layers"].clone()).unwrap();
    assert_eq!(layers, img.diff_ids);
    assert_eq!(i["Config"]["Cmd"], img.config["config"]["Cmd"]);
    assert_eq!(i["Os"], "linux");
    assert!(i["Size"].as_u64().unwrap() > 500_000, "busybox is in the image: {}", i["Size"]);
    let driver = i["GraphDriver"]["Name"].as_str().unwrap().to_string();
    assert!(driver == "overlay2" || driver == "vfs", "{driver}");
    if driver == "overlay2" {
        let upper = i["GraphDriver"]["Data"]["UpperDir"].as_str().unwrap();
        assert!(Path::new(upper).join("opq/new").exists(), "top layer's dir holds its files: {upper}");
        assert_eq!(i["GraphDriver"]["Data"]["LowerDir"].as_str().unwrap().split(':').count(), 2);
    }

    // docker images / wharf images agree.
    let fmt = "{{.Repository}}:{{.Tag}} {{.ID}}";
    let (w, dk) = d.both(&["images", "--format", fmt]);
    let short = &img.id[7..19];
    assert_eq!(dk.ok().trim(), format!("layered:1 {short}"));
    assert_eq!(w.ok().trim(), dk.ok().trim());
    let table = d.docker(&["images"]);
    assert!(table.ok().starts_with("REPOSITORY"), "{}", table.stdout);
    assert_eq!(d.wharf(&["images", "-q"]).ok().trim(), short);

    // tag, with both CLIs; the ID, a short ID and the name all resolve.
    d.docker(&["tag", "layered:1", "localhost:5000/team/app:v2"]).ok();
    d.wharf(&["tag", short, "other"]).ok();
    let names = d.docker(&["image", "inspect", "--format", "{{json .RepoTags}}", &img.id]);
    assert_eq!(names.ok().trim(), r#"["layered:1","localhost:5000/team/app:v2","other:latest"]"#);
    let filtered =
        d.docker(&["images", "--filter", "reference=localhost:5000/*/*", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert_eq!(filtered.ok().trim(), "localhost:5000/team/app:v2");

    // history: newest first, the image ID on the top entry, a size per layer.
    let h = d.docker(&["history", "--no-trunc", "--format", "{{.ID}}|{{.CreatedBy}}|{{.Size}}", "layered:1"]);
    let lines: Vec<&str> = h.ok().lines().collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with(&img.id), "{lines:?}");
    assert!(lines[2].starts_with("<missing>|ADD busybox-static /"), "{lines:?}");
    let wh = d.wharf(&["history", "-q", "layered:1"]);
    assert!(wh.ok().lines().next().unwrap().starts_with(short), "{}", wh.stdout);

    // rmi: by ID with names in several repositories needs -f; by name it untags.
    let err = d.docker(&["rmi", short]);
    assert!(err.failed().contains("must be forced"), "{}", err.stderr);
    let out = d.wharf(&["rmi", "other"]);
    assert_eq!(out.ok().trim(), "Untagged: other:latest");
    let out = d.docker(&["rmi", "-f", short]);
    let text = out.ok();
    assert!(text.contains("Untagged: layered:1") && text.contains(&format!("Deleted: {}", img.id)), "{text}");
    assert_eq!(d.docker(&["images", "-q"]).ok().trim(), "");
    let err = d.docker(&["image", "inspect", "layered:1"]);
    assert!(err.failed().contains("No such image: layered:1"), "{}", err.stderr);
    let r = d.api("DELETE", "/images/nosuch", None).unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "No such image: nosuch:latest");

    // Nothing of the image is left: no layer snapshot, no blob.
    let content = d.data_root.join("content/blobs");
    assert!(files_under(&content).is_empty(), "{:?}", files_under(&content));
    d.wharf(&["info"]).ok();
}

#[test]
fn save_rmi_load_round_trips_the_image_id() {
    if !have_busybox() {
        return;
    }
    let d = Daemon::start();
    let img = layered_image("round:trip");
    let file = write_archive(&d, "in.tar", &img);
    d.wharf(&["load", "-i", s(&file)]).ok();
    let saved = d.root.path().join("saved.tar");
    d.docker(&["save", "-o", s(&saved), "round:trip"]).ok();
    // The archive is what Docker 25+ writes: manifest.json, repositories and an OCI index.
    let names = tar_names(&std::fs::read(&saved).unwrap());
    for want in ["manifest.json", "repositories", "index.json", "oci-layout"] {
        assert!(names.iter().any(|n| n == want), "{want} missing from {names:?}");
    }
    d.docker(&["rmi", "round:trip"]).ok();
    let out = d.docker(&["load", "-i", s(&saved)]);
    assert!(out.ok().contains("Loaded image: round:trip"), "{}", out.stdout);
    assert_eq!(inspect(&d, "round:trip")["Id"], img.id);

    // wharf save to a file, and docker save to stdout, give the same bytes.
    let by_wharf = d.root.path().join("by-wharf.tar");
    d.wharf(&["save", "-o", s(&by_wharf), "round:trip"]).ok();
    let mut c = Command::new(wharf_it::docker_cli());
    c.arg("--config").arg(&d.client_config).arg("-H").arg(d.host()).args(["save", "round:trip"]);
    let out = c.output().unwrap();
    assert!(out.status.success());
    assert_eq!(std::fs::read(&by_wharf).unwrap(), out.stdout);
    assert_eq!(std::fs::read(&saved).unwrap(), out.stdout, "save is deterministic");

    // Saving an unknown image fails before writing anything.
    let err = d.docker(&["save", "-o", s(&d.root.path().join("x.tar")), "nosuch"]);
    assert!(err.failed().contains("No such image"), "{}", err.stderr);
}

fn tar_names(bytes: &[u8]) -> Vec<String> {
    let mut a = tar::Archive::new(bytes);
    a.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect()
}

fn skopeo() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/bin/skopeo");
    if p.is_file() {
        return Some(p);
    }
    assert!(!wharf_it::strict(), "skopeo is needed: apt-get install skopeo");
    eprintln!("skipped: skopeo not installed");
    None
}

fn run(c: &mut Command) -> CmdResult {
    let mut owned = Command::new(c.get_program());
    owned.args(c.get_args());
    CmdResult::run(owned)
}

#[test]
fn skopeo_archives_load_and_wharf_archives_read_by_skopeo() {
    if !have_busybox() {
        return;
    }
    let Some(skopeo) = skopeo() else { return };
    let d = Daemon::start();
    let img = layered_image("sko:1");
    let src = write_archive(&d, "src.tar", &img);
    let dir = d.root.path();
    let docker_arch = dir.join("skopeo-docker.tar");
    let oci_arch = dir.join("skopeo-oci.tar");
    run(Command::new(&skopeo).args([
        "copy",
        "--quiet",
        &format!("docker-archive:{}", s(&src)),
        &format!("docker-archive:{}:sko:docker", s(&docker_arch)),
    ]))
    .ok();
    run(Command::new(&skopeo).args([
        "copy",
        "--quiet",
        &format!("docker-archive:{}", s(&src)),
        &format!("oci-archive:{}:sko-oci", s(&oci_arch)),
    ]))
    .ok();

    let out = d.docker(&["load", "-i", s(&docker_arch)]);
    assert!(out.ok().contains("Loaded image: sko:docker"), "{}", out.stdout);
    let out = d.wharf(&["load", "-i", s(&oci_arch)]);
    assert!(out.ok().contains("Loaded image"), "{}", out.stdout);
    // A docker-archive copy keeps the config (same image ID); the OCI copy rewrites it as an
    // OCI config (another ID) but carries the same layers.
    assert_eq!(inspect(&d, "sko:docker")["Id"], img.id);
    let ids = d.docker(&["images", "-q", "--no-trunc"]);
    let ids: Vec<&str> = ids.ok().lines().collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    for id in ids {
        assert_eq!(inspect(&d, id)["RootFS"]["Layers"], serde_json::json!(img.diff_ids), "{id}");
    }

    // What wharf saves, skopeo reads: same config digest, same layers.
    let saved = dir.join("wharf-saved.tar");
    d.wharf(&["save", "-o", s(&saved), "sko:docker"]).ok();
    let insp =
        run(Command::new(&skopeo).args(["inspect", "--raw", "--config", &format!("docker-archive:{}", s(&saved))]));
    let config: serde_json::Value = serde_json::from_str(insp.ok()).unwrap();
    assert_eq!(config["rootfs"]["diff_ids"], serde_json::json!(img.diff_ids));
    let copied = dir.join("copied-oci");
    run(Command::new(&skopeo).args([
        "copy",
        "--quiet",
        &format!("docker-archive:{}", s(&saved)),
        &format!("oci:{}:x", s(&copied)),
    ]))
    .ok();
    assert!(copied.join("index.json").is_file());
}

#[test]
fn import_with_changes_and_prune_and_df() {
    if !have_busybox() {
        return;
    }
    let d = Daemon::start();
    // A root filesystem tar (the busybox image's only layer).
    let img = busybox_image("unused:1");
    let rootfs = d.root.path().join("rootfs.tar");
    let members = {
        let mut a = tar::Archive::new(&img.archive[..]);
        let mut layer = Vec::new();
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            if e.path().unwrap().display().to_string() == format!("blobs/sha256/{}", &img.diff_ids[0][7..]) {
                std::io::Read::read_to_end(&mut e, &mut layer).unwrap();
            }
        }
        layer
    };
    std::fs::write(&rootfs, &members).unwrap();
    let out = d.docker(&[
        "import",
        "--change",
        "CMD [\"/bin/sh\"]",
        "--change",
        "ENV A=b",
        "-m",
        "from test",
        s(&rootfs),
        "imp:1",
    ]);
    let id = out.ok().trim().to_string();
    assert!(id.starts_with("sha256:"), "{id}");
    let i = inspect(&d, "imp:1");
    assert_eq!(i["Id"], id);
    assert_eq!(i["Config"]["Cmd"], serde_json::json!(["/bin/sh"]));
    assert_eq!(i["Config"]["Env"], serde_json::json!(["A=b"]));
    assert_eq!(i["Comment"], "from test");
    assert_eq!(i["RootFS"]["Layers"], serde_json::json!([img.diff_ids[0]]));

    // Import from stdin with wharf.
    let mut c = Command::new(wharf_it::bin("wharf"));
    c.arg("--config").arg(&d.client_config).arg("-H").arg(d.host()).args(["import", "-", "imp:stdin"]);
    c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(&members).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(inspect(&d, "imp:stdin")["RootFS"]["Layers"], serde_json::json!([img.diff_ids[0]]));

    // system df counts the images, sharing the one layer.
    let df = d.docker(&["system", "df", "--format", "{{.Type}} {{.TotalCount}}"]);
    assert!(df.ok().lines().any(|l| l == "Images 2"), "{}", df.stdout);
    let dfj = d.get_json("/system/df");
    assert_eq!(dfj["Images"].as_array().unwrap().len(), 2);
    assert!(dfj["Images"][0]["SharedSize"].as_i64().unwrap() > 0);

    // The second import is another image (another creation time): removing its only name
    // deletes it. A second name keeps the first one alive when its first name goes.
    d.docker(&["rmi", "imp:stdin"]).ok();
    d.docker(&["tag", "imp:1", "keep:1"]).ok();
    d.docker(&["rmi", "imp:1"]).ok();
    let dangling = load_untagged(&d);
    let out = d.docker(&["image", "prune", "-f"]);
    assert!(out.ok().contains(&format!("deleted: {dangling}")), "{}", out.stdout);
    assert!(out.ok().contains("Total reclaimed space:"), "{}", out.stdout);
    assert_eq!(d.docker(&["images", "-q", "--no-trunc"]).ok().trim(), id);
    let out = d.wharf(&["image", "prune", "-a", "-f"]);
    assert!(out.ok().contains(&format!("deleted: {id}")), "{}", out.stdout);
    assert_eq!(d.docker(&["images", "-q"]).ok().trim(), "");
}

/// Loads an image that has no name (a dangling one); returns its ID.
fn load_untagged(d: &Daemon) -> String {
    let untagged = wharf_it::images::image_archive("x:1", &[(wharf_it::images::layer_tar(&[]), "empty")], &["sh"]);
    let mut bytes = untagged.archive.clone();
    strip_names(&mut bytes);
    let file = d.root.path().join("untagged.tar");
    std::fs::write(&file, &bytes).unwrap();
    let out = d.docker(&["load", "-i", s(&file)]);
    assert!(out.ok().contains(&format!("Loaded image ID: {}", untagged.id)), "{}", out.stdout);
    untagged.id
}

/// Rewrites a docker-archive so it names no image (RepoTags null, no OCI index names).
fn strip_names(archive: &mut Vec<u8>) {
    let mut a = tar::Archive::new(&archive[..]);
    let mut b = tar::Builder::new(Vec::new());
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().display().to_string();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        if path == "index.json" || path == "repositories" {
            continue;
        }
        if path == "manifest.json" {
            let mut m: serde_json::Value = serde_json::from_slice(&data).unwrap();
            m[0]["RepoTags"] = serde_json::Value::Null;
            data = serde_json::to_vec(&m).unwrap();
        }
        let mut h = e.header().clone();
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, &data[..]).unwrap();
    }
    *archive = b.into_inner().unwrap();
}

#[test]
fn killed_during_load_leaves_no_half_image_and_no_orphan_blob() {
    if !have_busybox() {
        return;
    }
    let mut d = Daemon::start();
    let img = layered_image("half:1");
    // Send most of the archive, then kill the daemon while it is reading the rest.
    let cut = img.archive.len() * 3 / 4;
    let sock = d.socket.clone();
    let head = format!(
        "POST /v1.45/images/load HTTP/1.1\r\nHost: docker\r\nContent-Type: application/x-tar\r\nContent-Length: {}\r\n\r\n",
        img.archive.len()
    );
    let mut conn = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(&img.archive[..cut]).unwrap();
    conn.flush().unwrap();
    // Wait until the daemon has stored something from this load.
    let content = d.data_root.join("content");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while files_under(&content.join("blobs")).is_empty() && files_under(&content.join("ingest")).is_empty() {
        assert!(std::time::Instant::now() < deadline, "the load never stored anything");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    d.kill9();
    drop(conn);
    d.spawn();
    d.wait_ready();
    assert_eq!(d.docker(&["images", "-q", "-a"]).ok().trim(), "");
    d.docker(&["image", "prune", "-a", "-f"]).ok();
    assert!(files_under(&content.join("blobs")).is_empty(), "orphan blobs: {:?}", files_under(&content.join("blobs")));
    assert!(files_under(&content.join("ingest")).is_empty());
    // And a full load works afterwards.
    let file = write_archive(&d, "half.tar", &img);
    d.docker(&["load", "-i", s(&file)]).ok();
    assert_eq!(inspect(&d, "half:1")["Id"], img.id);
    let info = d.get_json("/info");
    assert_eq!(info["Images"], 1);
    d.stop();
}

#[test]
fn vfs_driver_loads_saves_and_removes_too() {
    if !have_busybox() {
        return;
    }
    let d =
        Daemon::start_with(wharf_it::DaemonOpts { args: vec!["--storage-driver=vfs".into()], ..Default::default() });
    let img = layered_image("on:vfs");
    let file = write_archive(&d, "vfs.tar", &img);
    let out = d.wharf(&["load", "-i", s(&file)]);
    assert!(out.ok().contains("Loaded image: on:vfs"), "{}", out.stdout);
    let i = inspect(&d, "on:vfs");
    assert_eq!(i["GraphDriver"]["Name"], "vfs");
    assert_eq!(i["Id"], img.id);
    // The top layer's vfs tree is the whole image: the whiteout and the opaque dir applied.
    let snaps = d.data_root.join("vfs/snapshots");
    let tops: Vec<PathBuf> = std::fs::read_dir(&snaps).unwrap().flatten().map(|e| e.path().join("fs")).collect();
    let top = tops.iter().find(|p| p.join("opq/new").exists()).expect("a snapshot with the top layer");
    assert!(top.join("data/b").exists() && !top.join("data/a").exists());
    assert!(!top.join("opq/old").exists() && !top.join("opq/sub").exists());
    assert!(top.join("bin/busybox").exists());
    let saved = d.root.path().join("vfs-saved.tar");
    d.docker(&["save", "-o", s(&saved), "on:vfs"]).ok();
    d.docker(&["rmi", "on:vfs"]).ok();
    assert!(files_under(&snaps).is_empty(), "{:?}", files_under(&snaps));
    d.docker(&["load", "-i", s(&saved)]).ok();
    assert_eq!(inspect(&d, "on:vfs")["Id"], img.id);
}
