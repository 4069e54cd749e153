//! Tests of the image store over a real database, content store and vfs snapshotter.

use std::io::Cursor;
use std::sync::Arc;

use serde_json::json;
use wharf_events::EventBus;
use wharf_store::{BlobStore, Db};
use wharf_types::{Classify, Filters, Progress};

use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    store: ImageStore,
    events: Arc<EventBus>,
}

fn open_at(root: &std::path::Path) -> (ImageStore, Arc<EventBus>) {
    open_with(root, "vfs")
}

fn open_with(root: &std::path::Path, driver: &str) -> (ImageStore, Arc<EventBus>) {
    let db = Db::open(&root.join("meta.db"), MIGRATIONS).unwrap();
    let blobs = BlobStore::open(&root.join("content"), &db).unwrap();
    let snaps: Arc<dyn wharf_snapshot::Snapshotter> =
        Arc::from(wharf_snapshot::open_driver(driver, root.join(driver)).unwrap());
    let events = Arc::new(EventBus::new());
    (ImageStore::open(db, blobs, snaps, events.clone()).unwrap(), events)
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let (store, events) = open_at(&root);
    Fixture { _dir: dir, root, store, events }
}

fn sha(b: &[u8]) -> String {
    crate::sha256_digest(b).to_string()
}

/// A layer tar with regular files `(path, content)`.
fn layer(files: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, content) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, content.as_bytes()).unwrap();
    }
    b.into_inner().unwrap()
}

/// A docker-archive (manifest.json style) of one image.
fn archive(tags: &[&str], layers: &[Vec<u8>], created: &str, labels: serde_json::Value) -> (Vec<u8>, String) {
    let diff_ids: Vec<String> = layers.iter().map(|l| sha(l)).collect();
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux", "created": created,
        "config": {"Cmd": ["sh"], "Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": layers.iter().map(|_| json!({"created": created, "created_by": "ADD x /"})).collect::<Vec<_>>(),
    }))
    .unwrap();
    let id = sha(&config);
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |path: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, data).unwrap();
    };
    let hex = |s: &str| s.trim_start_matches("sha256:").to_string();
    add(&format!("{}.json", hex(&id)), &config);
    let mut paths = Vec::new();
    for (l, d) in layers.iter().zip(&diff_ids) {
        let p = format!("{}/layer.tar", hex(d));
        add(&p, l);
        paths.push(p);
    }
    let manifest = json!([{"Config": format!("{}.json", hex(&id)), "RepoTags": tags, "Layers": paths}]);
    add("manifest.json", &serde_json::to_vec(&manifest).unwrap());
    (b.into_inner().unwrap(), id)
}

fn load(store: &ImageStore, bytes: &[u8]) -> Vec<String> {
    let mut seen = Vec::new();
    let lines = store.load(Cursor::new(bytes), None, &mut |p| seen.push(p)).unwrap();
    assert!(seen.iter().any(|p| matches!(p, Progress::Status { .. })), "{seen:?}");
    lines
}

#[test]
fn load_list_inspect_tag_and_remove() {
    let f = fixture();
    let base = layer(&[("etc/os-release", "wharf"), ("bin/sh", "#!")]);
    let top = layer(&[("app/run", "hello")]);
    let (a, id) = archive(&["busybox:latest"], &[base.clone(), top], "2024-01-02T03:04:05Z", json!({"a": "1"}));
    assert_eq!(load(&f.store, &a), vec!["Loaded image: busybox:latest".to_string()]);

    let info = f.store.inspect("busybox").unwrap();
    assert_eq!(info.id, id);
    assert_eq!(info.repo_tags, vec!["busybox:latest"]);
    assert_eq!(info.size, 5 + 2 + 5);
    assert_eq!(info.layers.len(), 2);
    assert_eq!(info.created_unix, 1_704_164_645);
    assert_eq!(info.labels.get("a").map(String::as_str), Some("1"));
    assert_eq!(info.graph_driver.name, "vfs");
    // The same image by ID, short ID, `sha256:` prefix, full reference.
    for n in [&id[7..], &id[7..19], &id[..19], "docker.io/library/busybox:latest", &id] {
        assert_eq!(f.store.resolve(n).unwrap(), id, "{n}");
    }
    assert!(matches!(f.store.resolve("nosuch"), Err(ImageError::NoSuchImage(n)) if n == "nosuch:latest"));

    // The top layer's snapshot holds both layers' files.
    let (_, chain) = f.store.layer_chain("busybox").unwrap();
    let dir = f.store.snapshotter().upper_dir(&chain[1].0).unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("app/run")).unwrap(), "hello");
    assert_eq!(std::fs::read_to_string(dir.join("etc/os-release")).unwrap(), "wharf");

    // A second image sharing the base layer.
    let (b, id2) = archive(&["other:1"], &[base], "2025-01-01T00:00:00Z", json!({}));
    load(&f.store, &b);
    let listed = f.store.list(&ListOptions { shared_size: true, ..Default::default() }).unwrap();
    assert_eq!(listed.iter().map(|i| i.id.clone()).collect::<Vec<_>>(), vec![id2.clone(), id.clone()]);
    assert_eq!(listed[1].shared_size, Some(7));

    f.store.tag("busybox", "localhost:5000/x", "v1").unwrap();
    assert_eq!(f.store.inspect(&id).unwrap().repo_tags, vec!["busybox:latest", "localhost:5000/x:v1"]);
    assert!(f.store.inspect(&id).unwrap().last_tag_time.is_some());

    // Removing by ID with names in two repositories needs force.
    assert!(matches!(f.store.remove(&id[7..19], false, false), Err(ImageError::Conflict(_))));
    // Untagging one name keeps the image.
    assert_eq!(
        f.store.remove("localhost:5000/x:v1", false, false).unwrap(),
        vec![DeleteItem::Untagged("localhost:5000/x:v1".into())]
    );
    let out = f.store.remove("busybox", false, false).unwrap();
    assert_eq!(out[0], DeleteItem::Untagged("busybox:latest".into()));
    assert_eq!(out[1], DeleteItem::Deleted(id.clone()));
    // Only the top layer goes: the base is still used by `other:1`.
    assert_eq!(out.len(), 3);
    assert!(f.store.resolve(&id).is_err());
    assert_eq!(f.store.count().unwrap(), 1);
    assert_eq!(f.store.inspect("other:1").unwrap().size, 7);

    assert_eq!(f.events.listeners(), 0);
}

#[test]
fn filters_dangling_reference_label_before() {
    let f = fixture();
    let (a, id_a) = archive(&["app:1"], &[layer(&[("a", "1")])], "2024-01-01T00:00:00Z", json!({"tier": "web"}));
    let (b, id_b) = archive(&["app:2"], &[layer(&[("b", "2")])], "2024-06-01T00:00:00Z", json!({}));
    load(&f.store, &a);
    load(&f.store, &b);
    // Loading app:1 again under a new image leaves the old one dangling.
    let (c, id_c) = archive(&["app:1"], &[layer(&[("c", "3")])], "2024-09-01T00:00:00Z", json!({}));
    let lines = load(&f.store, &c);
    assert!(lines[0].contains("renaming the old one with ID"), "{lines:?}");
    let list = |pairs: &[(&str, &str)]| {
        f.store
            .list(&ListOptions { filters: Filters::from_pairs(pairs.iter().copied()), ..Default::default() })
            .unwrap()
            .into_iter()
            .map(|i| i.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(list(&[("dangling", "true")]), vec![id_a.clone()]);
    assert_eq!(list(&[("label", "tier=web")]), vec![id_a.clone()]);
    assert_eq!(list(&[("reference", "app:2")]), vec![id_b.clone()]);
    assert_eq!(list(&[("reference", "app")]), vec![id_c.clone(), id_b.clone()]);
    assert_eq!(list(&[("before", "app:2")]), vec![id_a.clone()]);
    assert_eq!(list(&[("since", "app:2")]), vec![id_c.clone()]);
    assert!(f
        .store
        .list(&ListOptions { filters: Filters::from_pairs([("bogus", "1")]), ..Default::default() })
        .is_err());

    let report = f.store.prune(&Filters::default()).unwrap();
    assert_eq!(report.deleted[0], DeleteItem::Deleted(id_a.clone()));
    assert_eq!(report.space_reclaimed, 1);
    assert_eq!(f.store.count().unwrap(), 2);
    let report = f.store.prune(&Filters::from_pairs([("dangling", "false")])).unwrap();
    assert_eq!(report.deleted.iter().filter(|d| matches!(d, DeleteItem::Untagged(_))).count(), 2);
    assert_eq!(f.store.count().unwrap(), 0);
    // Everything is gone: no layer snapshot, no blob.
    assert!(f.store.snapshotter().list().unwrap().is_empty());
    assert!(f.store.blobs.list().unwrap().is_empty());
}

#[test]
fn save_then_load_round_trips_ids() {
    let f = fixture();
    let (a, id) =
        archive(&["busybox:latest"], &[layer(&[("x", "1")]), layer(&[("y", "22")])], "2024-01-01T00:00:00Z", json!({}));
    load(&f.store, &a);
    let plan = f.store.save_plan(&["busybox".into()]).unwrap();
    let out = f.store.save(&plan, Vec::new()).unwrap();
    f.store.remove("busybox", false, false).unwrap();
    assert_eq!(f.store.count().unwrap(), 0);
    assert_eq!(load(&f.store, &out), vec!["Loaded image: busybox:latest".to_string()]);
    assert_eq!(f.store.resolve("busybox").unwrap(), id);
    // By ID: no names recorded.
    let plan = f.store.save_plan(&[id[7..19].to_string()]).unwrap();
    assert!(plan[0].repo_tags.is_empty());
    assert!(matches!(f.store.save_plan(&["nosuch".into()]), Err(ImageError::NoSuchImage(_))));
}

#[test]
fn import_with_changes() {
    let f = fixture();
    let tar = layer(&[("bin/hello", "hi")]);
    let opts = ImportOptions {
        repo: "imported".into(),
        tag: "v1".into(),
        message: "from a test".into(),
        changes: vec!["CMD [\"/bin/hello\"]".into(), "ENV A=b".into()],
        platform: String::new(),
    };
    let id = f.store.import(Cursor::new(&tar), &opts, &mut |_| {}).unwrap();
    let info = f.store.inspect("imported:v1").unwrap();
    assert_eq!(info.id, id);
    assert_eq!(info.config["Cmd"], json!(["/bin/hello"]));
    assert_eq!(info.config["Env"], json!(["A=b"]));
    assert_eq!(info.comment, "from a test");
    assert_eq!(info.layers, vec![sha(&tar)]);
    let bad = ImportOptions { changes: vec!["RUN x".into()], ..Default::default() };
    assert!(f.store.import(Cursor::new(&tar), &bad, &mut |_| {}).is_err());
}

#[test]
fn a_bad_load_leaves_nothing_and_restart_collects_leftovers() {
    let f = fixture();
    let good = layer(&[("x", "1")]);
    let (mut a, _) = archive(&["t:1"], &[good], "2024-01-01T00:00:00Z", json!({}));
    // Corrupt the layer's content (its diff id no longer matches).
    let pos = a.windows(1).position(|w| w == b"1").unwrap();
    a[pos] = b'2';
    assert!(f.store.load(Cursor::new(&a), None, &mut |_| {}).is_err());
    assert_eq!(f.store.count().unwrap(), 0);
    assert!(f.store.blobs.list().unwrap().is_empty(), "a failed load leaves no blob");
    assert!(f.store.snapshotter().list().unwrap().is_empty());

    // Leftovers of a crash: an extract snapshot, an unreferenced committed one, a leased blob.
    let snaps = f.store.snapshotter().clone();
    snaps.prepare("extract-1-abc", None, Default::default()).unwrap();
    snaps.prepare("k", None, Default::default()).unwrap();
    snaps.commit(&sha(b"orphan"), "k", Default::default()).unwrap();
    let leases = Leases::new(&f.store.db);
    leases.create_lease("load-dead", None).unwrap();
    let mut w = f.store.blobs.writer(None).unwrap().with_lease("load-dead");
    std::io::Write::write_all(&mut w, b"half an image").unwrap();
    w.commit().unwrap();
    drop(f.store);
    let (store, _) = open_at(&f.root);
    assert!(store.snapshotter().list().unwrap().is_empty());
    assert!(store.blobs.list().unwrap().is_empty());
}

#[test]
fn overlay_unpacks_layers_while_they_stream_and_places_them_after() {
    let dir = tempfile::tempdir().unwrap();
    if !wharf_snapshot::OverlaySnapshotter::detect(dir.path()) {
        eprintln!("skipped: overlayfs unavailable here");
        return;
    }
    let (store, _) = open_with(dir.path(), "overlay2");
    let base = layer(&[("etc/a", "1"), ("etc/b", "2")]);
    let top = layer(&[("etc/c", "3")]);
    let (a, id) = archive(&["ov:1"], &[base.clone(), top], "2024-01-01T00:00:00Z", json!({}));
    let mut seen = Vec::new();
    store.load(Cursor::new(&a), None, &mut |p| seen.push(p)).unwrap();
    assert!(seen.iter().any(|p| matches!(p, Progress::Status { status, .. } if status == "Loading layer")));
    let (got, chain) = store.layer_chain("ov:1").unwrap();
    assert_eq!(got, id);
    let snaps = store.snapshotter();
    assert_eq!(snaps.stat(&chain[1].0).unwrap().parent.as_deref(), Some(chain[0].0.as_str()));
    assert_eq!(std::fs::read_to_string(snaps.upper_dir(&chain[1].0).unwrap().join("etc/c")).unwrap(), "3");
    assert!(!snaps.upper_dir(&chain[1].0).unwrap().join("etc/a").exists(), "the top layer holds only its own files");
    assert_eq!(std::fs::read_to_string(snaps.upper_dir(&chain[0].0).unwrap().join("etc/a")).unwrap(), "1");
    assert_eq!(snaps.list().unwrap().len(), 2, "no staged snapshot is left: {:?}", snaps.list().unwrap());
    assert_eq!(store.inspect("ov:1").unwrap().size, 3);
    // A second image on the same base: the base is reused, its staged copy dropped.
    let (b, _) = archive(&["ov:2"], &[base, layer(&[("x", "y")])], "2024-01-02T00:00:00Z", json!({}));
    store.load(Cursor::new(&b), None, &mut |_| {}).unwrap();
    assert_eq!(snaps.list().unwrap().len(), 3);
}

struct FakeUsers(Vec<(String, String, bool)>);

impl ImageUsers for FakeUsers {
    fn users_of(&self, id: &str) -> Vec<(String, bool)> {
        self.0.iter().filter(|(i, _, _)| i == id).map(|(_, c, r)| (c.clone(), *r)).collect()
    }
}

#[test]
fn images_used_by_containers_are_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = open_at(dir.path());
    let (a, id) = archive(&["used:1"], &[layer(&[("a", "1")])], "2024-01-01T00:00:00Z", json!({}));
    load(&store, &a);
    let (b, id_b) = archive(&["stopped:1"], &[layer(&[("b", "2")])], "2024-01-01T00:00:00Z", json!({}));
    load(&store, &b);
    let cid = "c0ffee".repeat(10) + "abcd";
    store.set_users(Arc::new(FakeUsers(vec![
        (id.clone(), cid.clone(), true),
        (id_b.clone(), "beef".repeat(16), false),
    ])));
    // By name: the last name of a used image needs force (dockerd's message).
    let e = store.remove("used:1", false, false).unwrap_err();
    assert_eq!(e.kind(), wharf_types::ErrorKind::Conflict);
    assert!(e.to_string().contains("container c0ffeec0ffee is using its referenced image"), "{e}");
    // By ID: a running container's image cannot be removed even with force.
    let e = store.remove(&id, true, false).unwrap_err();
    assert!(
        e.to_string().contains("(cannot be forced) - image is being used by running container c0ffeec0ffee"),
        "{e}"
    );
    // A stopped container's image: must be forced.
    let e = store.remove(&id_b, false, false).unwrap_err();
    assert!(e.to_string().contains("(must be forced) - image is being used by stopped container"), "{e}");
    // With force by name, the name goes and the image stays for its container.
    assert_eq!(store.remove("used:1", true, false).unwrap(), vec![DeleteItem::Untagged("used:1".into())]);
    assert!(store.resolve(&id).is_ok());
    // prune -a skips used images.
    let r = store.prune(&Filters::from_pairs([("dangling", "false")])).unwrap();
    assert!(r.deleted.is_empty(), "{r:?}");
    assert_eq!(store.disk_usage().unwrap().iter().map(|i| i.containers).collect::<Vec<_>>(), vec![Some(1), Some(1)]);
}

// ----- commit ------------------------------------------------------------------------------

/// Events published so far: `(action, id, name)`.
fn events_of(bus: &EventBus) -> Vec<(String, String, String)> {
    let filter = wharf_events::EventFilter::new(Filters::default()).unwrap();
    let (past, _) = bus.subscribe(Some(0), None, filter);
    past.iter()
        .map(|e| (e.action.clone(), e.actor_id.clone(), e.attributes.get("name").cloned().unwrap_or_default()))
        .collect()
}

/// A container's changes as `docker commit` gets them: a writable snapshot on the image's top
/// layer, changed, then diffed against its parent (vfs: a full copy) by `wharf_fs`.
fn container_changes(store: &ImageStore, image: &str, key: &str, change: impl FnOnce(&std::path::Path)) -> Vec<u8> {
    let (_, chain) = store.layer_chain(image).unwrap();
    let top = chain.last().map(|(c, _)| c.as_str());
    let snaps = store.snapshotter();
    snaps.prepare(key, top, Default::default()).unwrap();
    let dir = snaps.apply_dir(key).unwrap();
    change(&dir);
    let upper = wharf_fs::Root::new(&dir).unwrap();
    let lower_dir = top.map(|t| snaps.upper_dir(t).unwrap());
    let empty = tempfile::tempdir().unwrap();
    let lower = wharf_fs::Root::new(lower_dir.as_deref().unwrap_or(empty.path())).unwrap();
    let mut tar = Vec::new();
    let source = wharf_fs::DiffSource::Compare { lower: &lower, upper: &upper };
    wharf_fs::diff_layer(source, &mut tar, &wharf_fs::DiffOptions::default()).unwrap();
    tar
}

fn config_of(store: &ImageStore, id: &str) -> serde_json::Value {
    serde_json::from_slice(&store.config_bytes(id).unwrap().1).unwrap()
}

#[test]
fn commit_on_top_of_an_image() {
    let f = fixture();
    let (a, base) = archive(
        &["base:1"],
        &[layer(&[("etc/os-release", "wharf"), ("bin/sh", "#!")]), layer(&[("app/run", "hello")])],
        "2024-01-02T03:04:05Z",
        json!({"a": "1"}),
    );
    load(&f.store, &a);
    let tar = container_changes(&f.store, "base:1", "ctr1", |d| {
        std::fs::write(d.join("app/new"), "added").unwrap();
        std::fs::remove_file(d.join("bin/sh")).unwrap();
    });
    let opts = CommitOptions {
        parent: Some("base:1".into()),
        config: json!({"Cmd": ["sh"], "Env": ["A=1"], "Labels": {"a": "1"}}),
        changes: vec!["ENV B=2".into(), "LABEL c=3".into()],
        author: "me <me@example.com>".into(),
        comment: "a snapshot".into(),
        created_by: "sh -c echo hi".into(),
        created: Some(1_750_000_000_123_456_789),
        repo: "committed".into(),
        tag: "v1".into(),
    };
    let id = f.store.commit(Cursor::new(&tar), &opts).unwrap();
    assert_ne!(id, base);
    assert_eq!(id, sha(&f.store.config_bytes(&id).unwrap().1), "the ID is the config digest");

    let parent_cfg = config_of(&f.store, &base);
    let cfg = config_of(&f.store, &id);
    let mut want_ids = parent_cfg["rootfs"]["diff_ids"].as_array().unwrap().clone();
    want_ids.push(json!(sha(&tar)));
    assert_eq!(cfg["rootfs"]["diff_ids"], json!(want_ids));
    let hist = cfg["history"].as_array().unwrap();
    assert_eq!(hist.len(), parent_cfg["history"].as_array().unwrap().len() + 1);
    assert_eq!(
        hist.last().unwrap(),
        &json!({"created": "2025-06-15T15:06:40.123456789Z", "created_by": "sh -c echo hi",
                "author": "me <me@example.com>", "comment": "a snapshot"})
    );
    assert_eq!((cfg["architecture"].as_str(), cfg["os"].as_str()), (Some("amd64"), Some("linux")));
    assert_eq!(cfg["config"]["Env"], json!(["A=1", "B=2"]));
    assert_eq!(cfg["config"]["Labels"], json!({"a": "1", "c": "3"}));

    let info = f.store.inspect("committed:v1").unwrap();
    assert_eq!(info.id, id);
    assert_eq!(info.parent, base);
    assert_eq!(info.repo_tags, vec!["committed:v1"]);
    assert!(info.last_tag_time.is_some());
    assert_eq!((info.author.as_str(), info.comment.as_str()), ("me <me@example.com>", "a snapshot"));
    assert_eq!(info.layers.len(), 3);
    let history = f.store.history(&id).unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!((history[0].0.created_by.as_str(), history[0].2.as_str()), ("sh -c echo hi", id.as_str()));

    // The new layer was unpacked once, on the parent's snapshot.
    let (_, chain) = f.store.layer_chain(&id).unwrap();
    let (_, base_chain) = f.store.layer_chain(&base).unwrap();
    assert_eq!(&chain[..2], &base_chain[..]);
    let top = f.store.snapshotter().upper_dir(&chain[2].0).unwrap();
    assert_eq!(std::fs::read_to_string(top.join("app/new")).unwrap(), "added");
    assert_eq!(std::fs::read_to_string(top.join("app/run")).unwrap(), "hello");
    assert!(!top.join("bin/sh").exists(), "the whiteout deleted it");
    assert_eq!(f.store.snapshotter().stat(&chain[2].0).unwrap().parent.as_deref(), Some(chain[1].0.as_str()));
    assert_eq!(f.store.layer_dirs(&id).unwrap()[0], top);

    // Only the name's `tag` event: the container's `commit` event is the daemon's.
    let evs: Vec<_> = events_of(&f.events).into_iter().filter(|(_, i, _)| *i == id).collect();
    assert_eq!(evs, vec![("tag".to_string(), id.clone(), "committed:v1".to_string())]);

    // A child keeps its parent: untagging the parent's last name leaves it, deleting it by ID
    // is a conflict (dockerd's rules).
    assert_eq!(f.store.remove("base:1", false, false).unwrap(), vec![DeleteItem::Untagged("base:1".into())]);
    assert!(f.store.resolve(&base).is_ok());
    let e = f.store.remove(&base, true, false).unwrap_err();
    assert!(e.to_string().contains("image has dependent child images"), "{e}");
    // `docker images` hides the untagged parent (an intermediate image); -a shows it.
    assert_eq!(f.store.list(&ListOptions::default()).unwrap().len(), 1);
    assert_eq!(f.store.list(&ListOptions { all: true, ..Default::default() }).unwrap().len(), 2);
    f.store.snapshotter().remove("ctr1").unwrap();
    f.store.remove(&id, false, false).unwrap();
    f.store.remove(&base, false, false).unwrap();
    assert_eq!(f.store.count().unwrap(), 0);
    assert!(f.store.snapshotter().list().unwrap().is_empty());
    assert!(f.store.blobs.list().unwrap().is_empty());
}

#[test]
fn commit_without_changes_adds_no_layer() {
    let f = fixture();
    let (a, base) = archive(&["base:1"], &[layer(&[("x", "1")])], "2024-01-01T00:00:00Z", json!({}));
    load(&f.store, &a);
    let tar = container_changes(&f.store, "base:1", "ctr", |_| {});
    assert_eq!(tar, vec![0u8; 1024], "nothing changed: an empty tar");
    for (input, created) in [(tar, 1), (Vec::new(), 2)] {
        let opts = CommitOptions {
            parent: Some(base.clone()),
            created_by: "sh".into(),
            created: Some(created),
            ..Default::default()
        };
        let id = f.store.commit(Cursor::new(&input), &opts).unwrap();
        assert_ne!(id, base);
        let cfg = config_of(&f.store, &id);
        assert_eq!(cfg["rootfs"]["diff_ids"], config_of(&f.store, &base)["rootfs"]["diff_ids"]);
        assert_eq!(cfg["history"].as_array().unwrap().last().unwrap()["empty_layer"], json!(true));
        assert_eq!(cfg["config"], json!({}), "a null config is an empty one");
        assert_eq!(f.store.layer_chain(&id).unwrap().1, f.store.layer_chain(&base).unwrap().1);
        let history = f.store.history(&id).unwrap();
        assert!(history[0].0.empty_layer);
        assert_eq!(history[0].1, 0);
        assert!(f.store.inspect(&id).unwrap().repo_tags.is_empty());
    }
    assert_eq!(f.store.count().unwrap(), 3);
}

#[test]
fn commit_from_scratch_and_bad_input() {
    let f = fixture();
    let tar = layer(&[("hello", "world")]);
    let opts = CommitOptions { config: json!({"Cmd": ["/hello"]}), repo: "scratchy".into(), ..Default::default() };
    let id = f.store.commit(Cursor::new(&tar), &opts).unwrap();
    let info = f.store.inspect("scratchy:latest").unwrap();
    assert_eq!((info.id.as_str(), info.parent.as_str()), (id.as_str(), ""));
    assert_eq!(info.layers, vec![sha(&tar)]);
    assert_eq!(info.architecture, Platform::host().architecture);
    let (_, chain) = f.store.layer_chain(&id).unwrap();
    let dir = f.store.snapshotter().upper_dir(&chain[0].0).unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("hello")).unwrap(), "world");
    // The name moves from an older image, as `docker commit` over an existing tag.
    let again = f.store.commit(Cursor::new(&tar), &CommitOptions { created: Some(5), ..opts.clone() }).unwrap();
    assert_eq!(f.store.resolve("scratchy").unwrap(), again);
    assert!(f.store.inspect(&id).unwrap().repo_tags.is_empty());

    // Refused before anything is stored.
    let bad = |o: CommitOptions| f.store.commit(Cursor::new(&tar), &o).unwrap_err();
    let e = bad(CommitOptions { changes: vec!["RUN x".into()], ..Default::default() });
    assert_eq!(e.kind(), wharf_types::ErrorKind::InvalidArgument);
    let e = bad(CommitOptions { repo: "Bad:Name".into(), ..Default::default() });
    assert_eq!(e.kind(), wharf_types::ErrorKind::InvalidArgument);
    let e = bad(CommitOptions { repo: format!("x@{}", sha(b"d")), ..Default::default() });
    assert!(e.to_string().contains("digest reference"), "{e}");
    let e = bad(CommitOptions { parent: Some("nosuch".into()), ..Default::default() });
    assert!(matches!(e, ImageError::NoSuchImage(_)), "{e:?}");
    // A layer that is not a tar: the unpack fails, nothing is left.
    let before = f.store.blobs.list().unwrap().len();
    assert!(f.store.commit(Cursor::new(b"not a tar at all".to_vec()), &CommitOptions::default()).is_err());
    assert_eq!(f.store.blobs.list().unwrap().len(), before);
    assert_eq!(f.store.count().unwrap(), 2);
}

/// A layer stream that removes the parent image while it is being read.
struct RemovesParent<'s> {
    store: &'s ImageStore,
    parent: String,
    data: Cursor<Vec<u8>>,
    reads: u32,
}

impl std::io::Read for RemovesParent<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reads += 1;
        if self.reads == 2 {
            self.store.remove(&self.parent, true, false).unwrap();
        }
        let n = buf.len().min(4096);
        self.data.read(&mut buf[..n])
    }
}

#[test]
fn a_parent_removed_mid_commit_is_a_clean_error() {
    let f = fixture();
    let (a, base) = archive(&["base:1"], &[layer(&[("x", "1")])], "2024-01-01T00:00:00Z", json!({}));
    load(&f.store, &a);
    let big = "y".repeat(64 * 1024);
    let tar = layer(&[("big", big.as_str()), ("z", "2")]);
    let reader = RemovesParent { store: &f.store, parent: base.clone(), data: Cursor::new(tar), reads: 0 };
    let opts = CommitOptions { parent: Some("base:1".into()), repo: "child".into(), ..Default::default() };
    let e = f.store.commit(reader, &opts).unwrap_err();
    assert!(matches!(&e, ImageError::NoSuchImage(p) if *p == base), "{e:?}");
    assert_eq!(e.kind(), wharf_types::ErrorKind::NotFound);
    // Nothing is left: no image, no name, no snapshot, no blob, no lease.
    assert_eq!(f.store.count().unwrap(), 0);
    assert!(f.store.resolve("child").is_err());
    assert!(f.store.snapshotter().list().unwrap().is_empty());
    assert!(f.store.blobs.list().unwrap().is_empty());
    assert!(Leases::new(&f.store.db).list_leases().unwrap().is_empty());
}

/// The overlay2 flow a daemon runs: a container's upper directory is diffed for `docker diff`
/// (against the image's layer directories) and as the layer `docker commit` stores.
#[test]
fn overlay_commit_and_diff_of_a_container_layer() {
    let dir = tempfile::tempdir().unwrap();
    if !wharf_snapshot::OverlaySnapshotter::detect(dir.path()) {
        eprintln!("skipped: overlayfs unavailable here");
        return;
    }
    let (store, _) = open_with(dir.path(), "overlay2");
    let (a, base) = archive(
        &["ov:1"],
        &[layer(&[("etc/a", "1"), ("etc/b", "2")]), layer(&[("etc/c", "3")])],
        "2024-01-01T00:00:00Z",
        json!({}),
    );
    store.load(Cursor::new(&a), None, &mut |_| {}).unwrap();
    let (_, chain) = store.layer_chain("ov:1").unwrap();
    let snaps = store.snapshotter();
    snaps.prepare("ctr", Some(&chain[1].0), Default::default()).unwrap();
    // What the container did, as overlayfs records it in the upper directory.
    let upper_dir = snaps.upper_dir("ctr").unwrap();
    std::fs::create_dir(upper_dir.join("etc")).unwrap();
    std::fs::write(upper_dir.join("etc/c"), "changed").unwrap();
    std::fs::write(upper_dir.join("etc/new"), "new").unwrap();
    wharf_fs::Root::new(&upper_dir).unwrap().mknod("etc/a", wharf_fs::NodeKind::Char, 0, (0, 0)).unwrap();

    let upper = wharf_fs::Root::new(&upper_dir).unwrap();
    let lowers: Vec<wharf_fs::Root> =
        store.layer_dirs("ov:1").unwrap().iter().map(|d| wharf_fs::Root::new(d).unwrap()).collect();
    let diff = wharf_fs::archive::changes(wharf_fs::DiffSource::Overlay { upper: &upper, lowers: &lowers }).unwrap();
    let diff: Vec<(u8, &str)> = diff.iter().map(|c| (c.kind.code(), c.path.as_str())).collect();
    assert_eq!(diff, [(0, "/etc"), (2, "/etc/a"), (0, "/etc/c"), (1, "/etc/new")]);

    let mut tar = Vec::new();
    let source = wharf_fs::DiffSource::OverlayUpper { upper: &upper };
    wharf_fs::diff_layer(source, &mut tar, &wharf_fs::DiffOptions::default()).unwrap();
    let id = store.commit(Cursor::new(&tar), &CommitOptions { parent: Some(base), ..Default::default() }).unwrap();
    let (_, new_chain) = store.layer_chain(&id).unwrap();
    assert_eq!(new_chain.len(), 3);
    let top = snaps.upper_dir(&new_chain[2].0).unwrap();
    assert_eq!(std::fs::read_to_string(top.join("etc/c")).unwrap(), "changed");
    assert!(!top.join("etc/b").exists(), "a layer snapshot holds only its own changes");
    assert_eq!(wharf_fs::Root::new(&top).unwrap().metadata("etc/a").unwrap().rdev, (0, 0), "the whiteout");
    assert_eq!(snaps.stat(&new_chain[2].0).unwrap().parent.as_deref(), Some(chain[1].0.as_str()));
}

/// A pull as the daemon drives it: blobs under the lease, verified; then registered with a tag
/// and a digest name; a push plan keeps the pulled manifest bytes.
#[test]
fn pull_records_tags_and_digests_and_push_keeps_the_manifest() {
    let f = fixture();
    let l1 = layer(&[("a", "1")]);
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [sha(&l1)]},
    }))
    .unwrap();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": crate::model::media_types::OCI_MANIFEST,
        "config": {"mediaType": crate::model::media_types::OCI_CONFIG, "size": config.len(), "digest": sha(&config)},
        "layers": [{"mediaType": crate::model::media_types::OCI_LAYER, "size": l1.len(), "digest": sha(&l1)}],
    }))
    .unwrap();
    let (id, md) = (sha(&config), sha(&manifest));
    assert_eq!(f.store.layers_present(&[sha(&l1)]).unwrap(), vec![false]);

    // A corrupt layer is refused and stores nothing.
    let lease = f.store.pull_begin().unwrap();
    let mut bad = l1.clone();
    bad[600] ^= 1;
    let err = f.store.pull_blob(&lease, &sha(&l1), l1.len() as u64, true, &mut &bad[..]).unwrap_err();
    assert!(err.to_string().starts_with(&format!("filesystem layer verification failed for digest {}", sha(&l1))));
    let short = f.store.pull_blob(&lease, &sha(&l1), l1.len() as u64 + 1, true, &mut &l1[..]).unwrap_err();
    assert!(short.to_string().contains("verification failed"), "{short}");
    f.store.pull_abort(lease);
    assert!(!f.store.blobs.exists(&sha(&l1).parse().unwrap()).unwrap());

    let lease = f.store.pull_begin().unwrap();
    f.store.pull_bytes(&lease, &md, &manifest).unwrap();
    f.store.pull_bytes(&lease, &id, &config).unwrap();
    f.store.pull_blob(&lease, &sha(&l1), l1.len() as u64, true, &mut &l1[..]).unwrap();
    let tag = ImageRef::parse_normalized("127.0.0.1:5000/a/b:1").unwrap();
    let img = PulledImage {
        config_digest: id.clone(),
        config_size: config.len() as u64,
        manifest_digest: md.clone(),
        layers: vec![PulledLayer {
            digest: sha(&l1),
            size: l1.len() as u64,
            media_type: crate::model::media_types::OCI_LAYER.into(),
            diff_id: sha(&l1),
        }],
        names: vec![tag.clone(), tag.trim().with_digest(md.parse().unwrap())],
    };
    let mut seen = Vec::new();
    f.store.pull_finish(lease, &img, &mut |p| seen.push(p)).unwrap();
    assert!(seen.iter().all(|p| !matches!(p, Progress::Status { status, .. } if status == "Loading layer")));
    let info = f.store.inspect("127.0.0.1:5000/a/b:1").unwrap();
    assert_eq!(info.id, id);
    assert_eq!(info.repo_tags, vec!["127.0.0.1:5000/a/b:1".to_string()]);
    assert_eq!(info.repo_digests, vec![format!("127.0.0.1:5000/a/b@{md}")]);
    assert_eq!(f.store.image_of_name(&tag).as_deref(), Some(id.as_str()));
    assert_eq!(f.store.layers_present(&[sha(&l1)]).unwrap(), vec![true]);
    // The pulled manifest is what a push sends, byte for byte.
    let plan = f.store.push_plan("127.0.0.1:5000/a/b:1").unwrap();
    assert_eq!(plan.manifest, (manifest.clone(), crate::model::media_types::OCI_MANIFEST.to_string()));
    assert_eq!(plan.layers, vec![(sha(&l1), l1.len() as u64, crate::model::media_types::OCI_LAYER.to_string())]);
    // Untagging the last tag of the repository takes its digest names along; the image goes.
    f.store.remove("127.0.0.1:5000/a/b:1", false, false).unwrap();
    assert!(f.store.inspect(&id).is_err());
}

/// An image loaded from an archive is pushed with a Docker v2 schema 2 manifest.
#[test]
fn push_plan_of_a_loaded_image_is_docker_schema2() {
    let f = fixture();
    let l1 = layer(&[("a", "1")]);
    let (tar, _) = archive(&["x:1"], std::slice::from_ref(&l1), "2024-01-01T00:00:00Z", json!({}));
    f.store.load(Cursor::new(tar), None, &mut |_| {}).unwrap();
    let plan = f.store.push_plan("x:1").unwrap();
    assert_eq!(plan.manifest.1, crate::model::media_types::DOCKER_MANIFEST);
    let m: serde_json::Value = serde_json::from_slice(&plan.manifest.0).unwrap();
    assert_eq!(m["config"]["digest"], json!(plan.id));
    assert_eq!(m["config"]["mediaType"], json!(crate::model::media_types::DOCKER_CONFIG));
    assert_eq!(m["layers"][0]["digest"], json!(sha(&l1)));
}
