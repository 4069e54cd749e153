//! Tests of the volume service against a real database, real directories, real mounts (as
//! root) and a fake volume plugin on a unix socket.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;
use wharf_events::{EventBus, EventFilter};
use wharf_types::{Classify, ErrorKind, Event, Filters};

use super::*;
use crate::plugin::testutil::FakePlugin;

struct Env {
    t: tempfile::TempDir,
    db: Db,
    events: Arc<EventBus>,
    vols: Volumes,
}

impl Env {
    fn new() -> Env {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("plugins")).unwrap();
        let db = Db::open(&t.path().join("wharf.db"), MIGRATIONS).unwrap();
        let events = Arc::new(EventBus::new());
        let vols = Volumes::open(db.clone(), events.clone(), Self::config(t.path())).unwrap();
        Env { t, db, events, vols }
    }

    fn config(dir: &Path) -> VolumesConfig {
        VolumesConfig {
            plugin_dirs: vec![dir.join("plugins")],
            plugin_connect_retry: Duration::ZERO,
            ..VolumesConfig::new(dir.join("volumes"))
        }
    }

    fn root(&self) -> PathBuf {
        self.t.path().join("volumes")
    }

    fn plugin_dir(&self) -> PathBuf {
        self.t.path().join("plugins")
    }

    /// A daemon restart: a new service over the same database and directories.
    fn reopen(&mut self) {
        self.vols = Volumes::open(self.db.clone(), self.events.clone(), Self::config(self.t.path())).unwrap();
    }

    fn events(&self) -> Vec<Arc<Event>> {
        self.events.subscribe(Some(0), None, EventFilter::default()).0
    }

    fn actions(&self) -> Vec<String> {
        self.events().iter().map(|e| format!("{} {}", e.action, e.actor_id)).collect()
    }

    fn create(&self, name: &str) -> Volume {
        self.vols
            .create(CreateVolume { name: Some(name.into()), driver: "local".into(), ..Default::default() })
            .unwrap()
    }

    fn names(&self, pairs: &[(&str, &str)]) -> Vec<String> {
        self.vols.list(&Filters::from_pairs(pairs.iter().copied())).unwrap().into_iter().map(|v| v.name).collect()
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Whether the kernel-side tests can run; with `WHARF_IT=1` they must.
fn root_or_skip(test: &str) -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    assert!(std::env::var("WHARF_IT").as_deref() != Ok("1"), "WHARF_IT=1 but {test} needs root");
    eprintln!("skipping {test}: needs root");
    false
}

fn mounted(p: &Path) -> bool {
    local::is_mount_point(p).unwrap()
}

#[test]
fn the_service_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Volumes>();
    shareable::<VolumeError>();
}

#[test]
fn create_lays_out_dockers_directories_and_is_idempotent() {
    let env = Env::new();
    let req = CreateVolume {
        name: Some("data".into()),
        driver: "local".into(),
        labels: labels(&[("team", "a")]),
        ..Default::default()
    };
    let v = env.vols.create(req.clone()).unwrap();
    assert_eq!(v.name, "data");
    assert_eq!(v.driver, "local");
    assert_eq!(v.scope, "local");
    assert_eq!(v.mountpoint, env.root().join("data/_data"));
    assert_eq!(v.labels, labels(&[("team", "a")]));
    // RFC 3339 in seconds, UTC, as Docker's CreatedAt.
    assert_eq!(v.created_at.len(), 20, "{}", v.created_at);
    assert!(v.created_at.ends_with('Z') && v.created_at.as_bytes()[10] == b'T');
    assert_eq!(std::fs::metadata(env.root().join("data")).unwrap().mode() & 0o7777, 0o701);
    assert_eq!(std::fs::metadata(&v.mountpoint).unwrap().mode() & 0o7777, 0o755);
    assert!(!env.root().join("data/opts.json").exists());

    // The same name again: the existing volume, original labels, no second event; also
    // without a driver.
    let again = env.vols.create(CreateVolume { labels: labels(&[("team", "b")]), ..req.clone() }).unwrap();
    assert_eq!(again, v);
    let no_driver = env.vols.create(CreateVolume { driver: String::new(), ..req }).unwrap();
    assert_eq!(no_driver, v);
    assert_eq!(env.actions(), ["create data"]);
    assert_eq!(env.events()[0].attributes["driver"], "local");
    assert_eq!(env.vols.get("data").unwrap(), v);
}

#[test]
fn anonymous_volumes_get_a_random_name_and_the_label() {
    let env = Env::new();
    let v = env.vols.create(CreateVolume::default()).unwrap();
    assert_eq!(v.name.len(), 64);
    assert!(v.name.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(v.labels.get(ANONYMOUS_LABEL).map(String::as_str), Some(""));
    let w = env.vols.create(CreateVolume { name: Some(String::new()), ..Default::default() }).unwrap();
    assert_ne!(v.name, w.name);
    assert!(w.labels.contains_key(ANONYMOUS_LABEL));
}

#[test]
fn bad_input_is_refused_with_dockers_texts() {
    let env = Env::new();
    let err = |name: &str, opts: &[(&str, &str)]| {
        env.vols
            .create(CreateVolume { name: Some(name.into()), driver_opts: labels(opts), ..Default::default() })
            .unwrap_err()
    };
    let e = err("a", &[]);
    assert_eq!(
        e.to_string(),
        "create a: volume name is too short, names should be at least two alphanumeric characters"
    );
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        err("/abs", &[]).to_string(),
        "create /abs: \"/abs\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" \
         are allowed. If you intended to pass a host directory, use absolute path"
    );
    let e = err("v1", &[("x", "1")]);
    assert_eq!(e.to_string(), "create v1: invalid option: \"x\"");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert_eq!(err("v1", &[("size", "1g")]).to_string(), "create v1: quota size requested but no quota support");
    assert_eq!(err("v1", &[("o", "bind")]).to_string(), "create v1: missing required option: \"device\"");
    let e = env
        .vols
        .create(CreateVolume { name: Some("v1".into()), driver: "nope".into(), ..Default::default() })
        .unwrap_err();
    assert_eq!(e.to_string(), "create v1: error looking up volume plugin nope: plugin \"nope\" not found");
    assert_eq!(e.kind(), ErrorKind::NotFound);
    // Nothing was left behind.
    assert!(local::dir_is_empty(&env.root()).unwrap());
    assert!(env.vols.list(&Filters::default()).unwrap().is_empty());
    assert!(env.events().is_empty());
}

#[test]
fn missing_volumes_are_404_and_force_ignores_them() {
    let env = Env::new();
    for e in [env.vols.get("nope").unwrap_err(), env.vols.remove("nope", false).unwrap_err()] {
        assert_eq!(e.to_string(), "get nope: no such volume");
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }
    env.vols.remove("nope", true).unwrap();
    assert_eq!(env.vols.acquire("nope", "c1").unwrap_err().kind(), ErrorKind::NotFound);
    let ctx = MountContext { container: "c1".into(), ..Default::default() };
    assert_eq!(env.vols.mount("nope", &ctx).unwrap_err().to_string(), "get nope: no such volume");
}

#[test]
fn references_keep_volumes_in_use() {
    let env = Env::new();
    let v = env.create("data");
    env.create("free");
    env.vols.acquire("data", "c2").unwrap();
    env.vols.acquire("data", "c1").unwrap();
    env.vols.acquire("data", "c1").unwrap(); // idempotent
    assert_eq!(env.vols.users("data").unwrap(), ["c1", "c2"]);
    let e = env.vols.remove("data", false).unwrap_err();
    assert_eq!(e.to_string(), "remove data: volume is in use - [c1, c2]");
    assert_eq!(e.kind(), ErrorKind::Conflict);
    // force does not override references (as Docker)
    assert_eq!(env.vols.remove("data", true).unwrap_err().kind(), ErrorKind::Conflict);
    assert_eq!(env.names(&[("dangling", "true")]), ["free"]);
    assert_eq!(env.names(&[("dangling", "0")]), ["data"]);
    env.vols.release("data", "c1").unwrap();
    env.vols.release("data", "never").unwrap(); // unknown pair: no-op
    env.vols.release("ghost", "c1").unwrap();
    env.vols.release("data", "c2").unwrap();
    assert!(env.vols.users("data").unwrap().is_empty());
    env.vols.remove("data", false).unwrap();
    assert!(!v.mountpoint.exists());
    assert!(!env.root().join("data").exists());
    assert_eq!(env.vols.get("data").unwrap_err().kind(), ErrorKind::NotFound);
    let destroy = env.events().into_iter().find(|e| e.action == "destroy").unwrap();
    assert_eq!((destroy.actor_id.as_str(), destroy.attributes["driver"].as_str()), ("data", "local"));
    // References survive a restart (they are records).
    env.vols.acquire("free", "c9").unwrap();
    let mut env = env;
    env.reopen();
    assert_eq!(env.vols.users("free").unwrap(), ["c9"]);
}

#[test]
fn list_applies_dockers_filters() {
    let env = Env::new();
    for (name, l) in
        [("web-data", vec![("app", "web")]), ("db-data", vec![("app", "db"), ("tier", "x")]), ("cache", vec![])]
    {
        env.vols.create(CreateVolume { name: Some(name.into()), labels: labels(&l), ..Default::default() }).unwrap();
    }
    env.vols.acquire("cache", "c1").unwrap();
    assert_eq!(env.names(&[]), ["cache", "db-data", "web-data"]);
    assert_eq!(env.names(&[("name", "data")]), ["db-data", "web-data"]);
    assert_eq!(env.names(&[("name", "^db")]), ["db-data"]);
    assert_eq!(env.names(&[("name", "cache"), ("name", "web")]), ["cache", "web-data"]);
    assert_eq!(env.names(&[("label", "app")]), ["db-data", "web-data"]);
    assert_eq!(env.names(&[("label", "app=db")]), ["db-data"]);
    assert_eq!(env.names(&[("label", "app"), ("label", "tier=x")]), ["db-data"]);
    assert_eq!(env.names(&[("driver", "local")]), ["cache", "db-data", "web-data"]);
    assert!(env.names(&[("driver", "other")]).is_empty());
    assert_eq!(env.names(&[("dangling", "true")]), ["db-data", "web-data"]);
    assert_eq!(env.names(&[("dangling", "false")]), ["cache"]);
    assert_eq!(env.names(&[("dangling", "1"), ("label", "app=web")]), ["web-data"]);
    let bad = |pairs: &[(&str, &str)]| env.vols.list(&Filters::from_pairs(pairs.iter().copied())).unwrap_err();
    let e = bad(&[("dangling", "maybe")]);
    assert_eq!(e.to_string(), "invalid filter 'dangling=maybe'");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert_eq!(bad(&[("dangling", "true"), ("dangling", "false")]).to_string(), "invalid filter 'dangling=false,true'");
    assert_eq!(bad(&[("bogus", "1")]).to_string(), "invalid filter 'bogus'");
}

#[test]
fn prune_removes_unused_anonymous_volumes_unless_all() {
    let env = Env::new();
    let anon = env.vols.create(CreateVolume::default()).unwrap();
    std::fs::write(anon.mountpoint.join("f"), vec![1u8; 3000]).unwrap();
    let used = env.vols.create(CreateVolume::default()).unwrap();
    env.vols.acquire(&used.name, "c1").unwrap();
    let named = env.create("named");
    std::fs::write(named.mountpoint.join("g"), vec![1u8; 100]).unwrap();
    env.vols
        .create(CreateVolume { name: Some("keep".into()), labels: labels(&[("keep", "yes")]), ..Default::default() })
        .unwrap();
    // Local volumes with options are never pruned (Docker: nothing to reclaim).
    env.vols
        .create(CreateVolume {
            name: Some("withopts".into()),
            driver_opts: labels(&[("type", "tmpfs"), ("device", "tmpfs")]),
            labels: labels(&[(ANONYMOUS_LABEL, "")]),
            ..Default::default()
        })
        .unwrap();

    let (deleted, reclaimed) = env.vols.prune(&Filters::default()).unwrap();
    assert_eq!(deleted, vec![anon.name.clone()]);
    assert_eq!(reclaimed, 3000);
    assert!(!anon.mountpoint.exists());
    let prune = env.events().into_iter().rfind(|e| e.action == "prune").unwrap();
    assert_eq!((prune.actor_id.as_str(), prune.attributes["reclaimed"].as_str()), ("", "3000"));

    let bad = |pairs: &[(&str, &str)]| env.vols.prune(&Filters::from_pairs(pairs.iter().copied())).unwrap_err();
    assert_eq!(
        bad(&[("all", "maybe")]).to_string(),
        "invalid filter 'all': strconv.ParseBool: parsing \"maybe\": invalid syntax"
    );
    assert_eq!(
        bad(&[("all", "1"), ("all", "true")]).to_string(),
        "invalid filter 'all=[1 true]': only one value is expected"
    );
    assert_eq!(bad(&[("dangling", "true")]).to_string(), "invalid filter 'dangling'");

    let (deleted, _) = env.vols.prune(&Filters::from_pairs([("all", "true"), ("label!", "keep=yes")])).unwrap();
    assert_eq!(deleted, ["named"]);
    let (deleted, reclaimed) = env.vols.prune(&Filters::from_pairs([("all", "1"), ("label", "keep")])).unwrap();
    assert_eq!((deleted, reclaimed), (vec!["keep".to_string()], 0));
    let mut left = env.names(&[]);
    left.sort();
    let mut want = vec![used.name.clone(), "withopts".to_string()];
    want.sort();
    assert_eq!(left, want);
}

#[test]
fn usage_sizes_local_data_and_counts_references() {
    let env = Env::new();
    let a = env.create("aa");
    std::fs::write(a.mountpoint.join("x"), vec![0u8; 1234]).unwrap();
    std::fs::create_dir(a.mountpoint.join("d")).unwrap();
    std::fs::hard_link(a.mountpoint.join("x"), a.mountpoint.join("d/y")).unwrap();
    env.create("bb");
    env.vols
        .create(CreateVolume {
            name: Some("cc".into()),
            driver_opts: labels(&[("type", "tmpfs"), ("device", "tmpfs")]),
            ..Default::default()
        })
        .unwrap();
    env.vols.acquire("aa", "c1").unwrap();
    env.vols.acquire("aa", "c2").unwrap();
    let u: Vec<(String, i64, i64)> = env.vols.usage().unwrap().into_iter().map(|(v, s, r)| (v.name, s, r)).collect();
    assert_eq!(u, [("aa".to_string(), 1234, 2), ("bb".to_string(), 0, 0), ("cc".to_string(), -1, 0)]);
}

#[test]
fn a_crash_leaves_nothing_that_comes_back_broken() {
    let mut env = Env::new();
    let kept = env.create("kept");
    std::fs::write(kept.mountpoint.join("precious"), b"x").unwrap();
    env.create("vanished");
    // A create interrupted before its rename, and one between rename and record.
    std::fs::create_dir_all(env.root().join(".tmp-0123/_data")).unwrap();
    std::fs::create_dir_all(env.root().join("ghost/_data")).unwrap();
    // A remove interrupted after moving the directory aside, before deleting the record.
    std::fs::rename(env.root().join("vanished"), env.root().join(".trash-4567")).unwrap();
    // Data without a record (a copied-in volume): adopted, as moby's local driver does.
    std::fs::create_dir_all(env.root().join("adopted/_data")).unwrap();
    std::fs::write(env.root().join("adopted/_data/file"), b"data").unwrap();
    // Not volumes at all: left alone.
    std::fs::write(env.root().join("stray-file"), b"?").unwrap();
    std::fs::create_dir_all(env.root().join("stranger")).unwrap();
    std::fs::write(env.root().join("stranger/notes"), b"mine").unwrap();
    std::fs::create_dir_all(env.root().join("odd/_data")).unwrap();
    std::fs::write(env.root().join("odd/extra"), b"?").unwrap();

    env.reopen();
    let mut entries: Vec<String> =
        std::fs::read_dir(env.root()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    entries.sort();
    assert_eq!(entries, ["adopted", "kept", "odd", "stranger", "stray-file"]);
    assert_eq!(std::fs::read(env.root().join("stranger/notes")).unwrap(), b"mine");
    assert_eq!(std::fs::read(kept.mountpoint.join("precious")).unwrap(), b"x");
    assert_eq!(env.names(&[]), ["adopted", "kept"]);
    assert_eq!(env.vols.get("vanished").unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(env.vols.get("adopted").unwrap().mountpoint, env.root().join("adopted/_data"));
    // The names are free again.
    env.create("ghost");
    env.create("vanished");
}

#[test]
fn concurrent_creates_of_one_name_make_one_volume() {
    let env = Env::new();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| env.create("shared"));
        }
    });
    assert_eq!(env.actions(), ["create shared"]);
    assert_eq!(env.names(&[]), ["shared"]);
}

#[test]
fn tmpfs_volumes_mount_on_first_use_and_unmount_after_the_last() {
    if !root_or_skip("tmpfs_volumes_mount_on_first_use_and_unmount_after_the_last") {
        return;
    }
    let env = Env::new();
    let v = env
        .vols
        .create(CreateVolume {
            name: Some("scratch".into()),
            driver_opts: labels(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=100m,uid=1000")]),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(env.root().join("scratch/opts.json")).unwrap(),
        r#"{"MountType":"tmpfs","MountOpts":"size=100m,uid=1000","MountDevice":"tmpfs","Quota":{"Size":0}}"#
    );
    assert!(!mounted(&v.mountpoint));
    let ctx = |c: &str| MountContext {
        container: c.into(),
        destination: "/scratch".into(),
        read_write: true,
        propagation: "rprivate".into(),
    };
    let p = env.vols.mount("scratch", &ctx("c1")).unwrap();
    assert_eq!(p, v.mountpoint);
    assert!(mounted(&p));
    let st = rustix::fs::statfs(&p).unwrap();
    assert_eq!(st.f_type as i64, 0x0102_1994, "tmpfs magic");
    assert_eq!(st.f_blocks as u64 * st.f_bsize as u64, 100 << 20);
    assert_eq!(std::fs::metadata(&p).unwrap().uid(), 1000);
    std::fs::write(p.join("f"), b"in memory").unwrap();
    assert_eq!(env.vols.mount("scratch", &ctx("c2")).unwrap(), p);
    assert_eq!(env.vols.remove("scratch", false).unwrap_err().to_string(), "remove scratch: volume has active mounts");
    env.vols.unmount("scratch", "c1").unwrap();
    assert!(mounted(&p), "c2 still uses it");
    assert_eq!(std::fs::read(p.join("f")).unwrap(), b"in memory");
    env.vols.unmount("scratch", "c2").unwrap();
    assert!(!mounted(&p));
    assert!(!p.join("f").exists());

    let mount = env.events().into_iter().find(|e| e.action == "mount").unwrap();
    assert_eq!(mount.actor_id, "scratch");
    let attrs: Vec<(&str, &str)> = mount.attributes.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        attrs,
        [
            ("container", "c1"),
            ("destination", "/scratch"),
            ("driver", "local"),
            ("propagation", "rprivate"),
            ("read/write", "true"),
        ]
    );
    let unmount = env.events().into_iter().find(|e| e.action == "unmount").unwrap();
    assert_eq!(
        unmount.attributes,
        [("container", "c1"), ("driver", "local")].map(|(k, v)| (k.into(), v.into())).into()
    );
    env.vols.remove("scratch", false).unwrap();
    assert!(!env.root().join("scratch").exists());
}

#[test]
fn bind_volumes_survive_a_restart_and_removal_never_touches_the_source() {
    if !root_or_skip("bind_volumes_survive_a_restart_and_removal_never_touches_the_source") {
        return;
    }
    let mut env = Env::new();
    let src = env.t.path().join("host-dir");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("keep-me"), b"host data").unwrap();
    let v = env
        .vols
        .create(CreateVolume {
            name: Some("bound".into()),
            driver_opts: labels(&[("type", "none"), ("o", "bind"), ("device", src.to_str().unwrap())]),
            ..Default::default()
        })
        .unwrap();
    let ctx = MountContext { container: "c1".into(), ..Default::default() };
    let p = env.vols.mount("bound", &ctx).unwrap();
    assert_eq!(std::fs::read(p.join("keep-me")).unwrap(), b"host data");
    std::fs::write(p.join("from-container"), b"y").unwrap();
    assert!(src.join("from-container").exists());

    // The daemon restarts while the container runs: the mount is known, counts start empty.
    env.reopen();
    assert!(mounted(&v.mountpoint));
    assert_eq!(env.vols.restore_mount("bound", "c1").unwrap(), p);
    assert!(mounted(&p));
    env.vols.unmount("bound", "c1").unwrap();
    assert!(!mounted(&p));

    // Mounted again, forgotten by a restart, then removed: unmounted first, the host
    // directory keeps its content.
    env.vols.mount("bound", &ctx).unwrap();
    env.vols.unmount("bound", "other").unwrap(); // c1 still counted: stays mounted
    assert!(mounted(&p));
    env.reopen();
    env.vols.remove("bound", false).unwrap();
    assert!(!env.root().join("bound").exists());
    assert_eq!(std::fs::read(src.join("keep-me")).unwrap(), b"host data");
    assert!(src.join("from-container").exists());
    assert!(!local::mount_points().unwrap().iter().any(|m| m.starts_with(env.root())));
}

#[test]
fn open_never_deletes_through_a_mount() {
    if !root_or_skip("open_never_deletes_through_a_mount") {
        return;
    }
    let mut env = Env::new();
    let src = env.t.path().join("precious");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(src.join("file"), b"x").unwrap();
    // A directory without a record whose _data is a bind mount of host data.
    let data = env.root().join("orphan/_data");
    std::fs::create_dir_all(&data).unwrap();
    rustix::mount::mount_bind(&src, &data).unwrap();
    env.reopen();
    assert!(src.join("file").exists());
    assert!(data.join("file").exists(), "left alone while mounted");
    local::unmount_path(&data).unwrap();
    // And the removal walk itself refuses to cross into another file system.
    let walled = env.t.path().join("walled");
    std::fs::create_dir_all(walled.join("m")).unwrap();
    rustix::mount::mount("tmpfs", walled.join("m").as_path(), "tmpfs", rustix::mount::MountFlags::empty(), None)
        .unwrap();
    std::fs::write(walled.join("m/inside"), b"z").unwrap();
    let dir = rustix::fs::open(
        &walled,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY,
        rustix::fs::Mode::empty(),
    )
    .unwrap();
    let dev = rustix::fs::fstat(&dir).unwrap().st_dev as u64;
    let parent = rustix::fs::open(
        env.t.path(),
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY,
        rustix::fs::Mode::empty(),
    )
    .unwrap();
    assert!(local::remove_at_for_tests(&parent, std::ffi::OsStr::new("walled"), dev).is_err());
    assert!(walled.join("m/inside").exists());
    local::unmount_path(&walled.join("m")).unwrap();
}

#[test]
fn mount_failures_read_like_dockers() {
    if !root_or_skip("mount_failures_read_like_dockers") {
        return;
    }
    let env = Env::new();
    env.vols
        .create(CreateVolume {
            name: Some("broken".into()),
            driver_opts: labels(&[("type", "none"), ("o", "bind"), ("device", "/nonexistent-wharf-source")]),
            ..Default::default()
        })
        .unwrap();
    let ctx = MountContext { container: "c1".into(), ..Default::default() };
    let e = env.vols.mount("broken", &ctx).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "failed to mount local volume: mount /nonexistent-wharf-source:{}, flags: 0x1000: no such file or directory",
            env.root().join("broken/_data").display()
        )
    );
    assert_eq!(e.kind(), ErrorKind::Internal);
    assert!(!env.events().iter().any(|e| e.action == "mount"));
    // Nothing counted: the volume can go.
    env.vols.remove("broken", false).unwrap();
}

#[test]
fn plugin_volumes_go_through_the_plugin() {
    let env = Env::new();
    let fake = FakePlugin::start(&env.plugin_dir(), "fakedrv");
    let v = env
        .vols
        .create(CreateVolume {
            name: Some("pv".into()),
            driver: "fakedrv".into(),
            driver_opts: labels(&[("size", "1g")]),
            labels: labels(&[("l", "1")]),
        })
        .unwrap();
    assert_eq!((v.driver.as_str(), v.scope.as_str()), ("fakedrv", "global"));
    assert_eq!(
        fake.methods(),
        ["Plugin.Activate", "VolumeDriver.Get", "VolumeDriver.Create", "VolumeDriver.Capabilities"]
    );
    assert_eq!(fake.calls_of("VolumeDriver.Create"), [json!({"Name": "pv", "Opts": {"size": "1g"}})]);
    assert_eq!(env.events()[0].attributes["driver"], "fakedrv");

    // get comes from the record: no plugin call.
    let calls = fake.methods().len();
    assert_eq!(env.vols.get("pv").unwrap().labels, labels(&[("l", "1")]));
    assert_eq!(fake.methods().len(), calls);
    // inspect asks for the status.
    let i = env.vols.inspect("pv").unwrap();
    assert_eq!(i.status.unwrap()["hello"], "world");
    assert_eq!(i.mountpoint, Path::new("/fake/pv"));

    // The same name with another driver: Docker's conflict.
    let e = env.vols.create(CreateVolume { name: Some("pv".into()), driver: "local".into(), ..Default::default() });
    let e = e.unwrap_err();
    assert_eq!(e.to_string(), "create pv: driver 'fakedrv' already has volume 'pv': volume name must be unique");
    assert_eq!(e.kind(), ErrorKind::Conflict);

    // Mount: one plugin Mount per container, with the container's ID.
    let ctx = |c: &str| MountContext {
        container: c.into(),
        destination: "/d".into(),
        read_write: false,
        ..Default::default()
    };
    assert_eq!(env.vols.mount("pv", &ctx("c1")).unwrap(), Path::new("/fake/pv"));
    assert_eq!(env.vols.mount("pv", &ctx("c1")).unwrap(), Path::new("/fake/pv"));
    assert_eq!(env.vols.mount("pv", &ctx("c2")).unwrap(), Path::new("/fake/pv"));
    assert_eq!(
        fake.calls_of("VolumeDriver.Mount"),
        [json!({"Name": "pv", "ID": "c1"}), json!({"Name": "pv", "ID": "c2"})]
    );
    let mount_ev = env.events().into_iter().find(|e| e.action == "mount").unwrap();
    assert_eq!(mount_ev.attributes["read/write"], "false");
    env.vols.unmount("pv", "c1").unwrap();
    assert!(fake.calls_of("VolumeDriver.Unmount").is_empty());
    env.vols.unmount("pv", "c1").unwrap();
    env.vols.unmount("pv", "c2").unwrap();
    assert_eq!(
        fake.calls_of("VolumeDriver.Unmount"),
        [json!({"Name": "pv", "ID": "c1"}), json!({"Name": "pv", "ID": "c2"})]
    );
    assert_eq!(env.vols.get("pv").unwrap().mountpoint, Path::new("/fake/pv"));

    // Volumes the plugin has without a record are listed, and recorded on get.
    fake.state.lock().unwrap().volumes.insert("outside".into(), "/fake/outside".into());
    assert_eq!(env.names(&[]), ["outside", "pv"]);
    assert_eq!(env.names(&[("driver", "fakedrv"), ("dangling", "true")]), ["outside", "pv"]);
    assert!(env.names(&[("driver", "local")]).is_empty());
    let o = env.vols.get("outside").unwrap();
    assert_eq!((o.driver.as_str(), o.mountpoint.as_path()), ("fakedrv", Path::new("/fake/outside")));

    // usage: plugin data is not local.
    let sizes: Vec<i64> = env.vols.usage().unwrap().into_iter().map(|(_, s, _)| s).collect();
    assert_eq!(sizes, [-1, -1]);

    // Remove goes through the plugin; a plugin failure keeps the record unless forced.
    env.vols.remove("pv", false).unwrap();
    assert_eq!(fake.calls_of("VolumeDriver.Remove"), [json!({"Name": "pv"})]);
    assert!(!fake.state.lock().unwrap().volumes.contains_key("pv"));
    fake.state.lock().unwrap().volumes.remove("outside");
    assert_eq!(env.vols.remove("outside", false).unwrap_err().to_string(), "remove outside: no such volume");
    assert!(env.vols.get("outside").is_ok());
    env.vols.remove("outside", true).unwrap();
    assert_eq!(env.vols.get("outside").unwrap_err().kind(), ErrorKind::NotFound);
    let destroys: Vec<String> =
        env.events().iter().filter(|e| e.action == "destroy").map(|e| e.attributes["driver"].clone()).collect();
    assert_eq!(destroys, ["fakedrv", "fakedrv"]);
}

#[test]
fn an_inspected_plugin_volume_the_plugin_lost_vanishes() {
    let env = Env::new();
    let fake = FakePlugin::start(&env.plugin_dir(), "lossy");
    env.vols.create(CreateVolume { name: Some("gone".into()), driver: "lossy".into(), ..Default::default() }).unwrap();
    fake.state.lock().unwrap().volumes.clear();
    assert_eq!(env.vols.inspect("gone").unwrap_err().to_string(), "get gone: no such volume");
    assert_eq!(env.vols.get("gone").unwrap_err().kind(), ErrorKind::NotFound);
}
