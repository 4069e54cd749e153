//! Volumes and mounts end to end: named and anonymous volumes (with the image's content copied
//! in), `--volumes-from`, bind mounts, tmpfs, the local driver's options, a volume plugin of
//! the test's own, and data that survives container removal and a daemon SIGKILL — through
//! the stock docker CLI and `wharf`.

use wharf_it::plugin::VolumePlugin;
use wharf_it::Daemon;

fn with_busybox() -> Option<Daemon> {
    wharf_it::images::daemon_with_busybox()
}

fn volume_names(d: &Daemon) -> Vec<String> {
    let mut v: Vec<String> = d.docker(&["volume", "ls", "-q"]).ok().lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn named_volumes_outlive_containers_and_a_daemon_kill() {
    let Some(mut d) = with_busybox() else { return };
    d.docker(&["volume", "create", "--label", "tier=db", "data"]).ok();
    d.docker(&["run", "--name", "writer", "-v", "data:/data", "busybox", "sh", "-c", "echo from-writer > /data/f"])
        .ok();
    // Another container reads it through the volume, a third through --volumes-from.
    let out = d.docker(&["run", "--name", "reader", "-v", "data:/in:ro", "busybox", "cat", "/in/f"]);
    assert_eq!(out.ok(), "from-writer\n");
    let out = d.docker(&["run", "--rm", "--volumes-from", "writer", "busybox", "cat", "/data/f"]);
    assert_eq!(out.ok(), "from-writer\n");
    // :ro from the reader is kept by --volumes-from, and can be asked for.
    let out = d.docker(&[
        "run",
        "--rm",
        "--volumes-from",
        "writer:ro",
        "busybox",
        "sh",
        "-c",
        "touch /data/x || echo denied",
    ]);
    assert!(out.ok().contains("denied"), "{}", out.stdout);
    // Inspect: Docker's Mounts entry.
    let m = d.docker(&["inspect", "--format", "{{json .Mounts}}", "reader"]);
    let m: serde_json::Value = serde_json::from_str(m.ok().trim()).unwrap();
    assert_eq!(m[0]["Type"], "volume");
    assert_eq!(m[0]["Name"], "data");
    assert_eq!(m[0]["Destination"], "/in");
    assert_eq!(m[0]["RW"], false);
    assert_eq!(m[0]["Driver"], "local");
    // In use: a conflict with Docker's text, by both CLIs.
    let err = d.docker(&["volume", "rm", "data"]);
    assert!(err.failed().contains("remove data: volume is in use - ["), "{}", err.stderr);
    let err = d.wharf(&["volume", "rm", "data"]);
    assert!(err.failed().contains("volume is in use"), "{}", err.stderr);
    // The volume outlives both containers (rm without -v) and a daemon SIGKILL.
    d.docker(&["rm", "writer", "reader"]).ok();
    d.kill9();
    std::thread::sleep(std::time::Duration::from_millis(300));
    d.spawn();
    d.wait_ready();
    assert_eq!(volume_names(&d), vec!["data".to_string()]);
    let out = d.wharf(&["run", "--rm", "-v", "data:/data", "busybox", "cat", "/data/f"]);
    assert_eq!(out.ok(), "from-writer\n");
    let v = d.docker(&["volume", "inspect", "--format", "{{.Labels.tier}} {{.Driver}} {{.Scope}}", "data"]);
    assert_eq!(v.ok().trim(), "db local local");
    // Unused now: removable; then gone from the disk too.
    let mountpoint = d.docker(&["volume", "inspect", "--format", "{{.Mountpoint}}", "data"]).ok().trim().to_string();
    assert!(std::path::Path::new(&mountpoint).join("f").exists());
    d.docker(&["volume", "rm", "data"]).ok();
    assert!(!std::path::Path::new(&mountpoint).exists());
    let err = d.docker(&["volume", "inspect", "data"]);
    assert!(err.failed().contains("no such volume"), "{}", err.stderr);
    d.stop();
}

#[test]
fn image_volumes_get_the_image_content_and_rm_v_removes_them() {
    let Some(mut d) = with_busybox() else { return };
    d.docker(&["run", "--name", "seed", "busybox", "sh", "-c", "mkdir /data && echo seeded > /data/file"]).ok();
    d.docker(&["commit", "--change", "VOLUME /data", "seed", "withvol:1"]).ok();
    d.docker(&["rm", "seed"]).ok();
    // A fresh anonymous volume holds the image's /data.
    let out = d.docker(&["run", "--name", "va", "withvol:1", "sh", "-c", "cat /data/file; echo more >> /data/file"]);
    assert_eq!(out.ok(), "seeded\n");
    let names = volume_names(&d);
    assert_eq!(names.len(), 1, "{names:?}");
    assert_eq!(names[0].len(), 64);
    let label = d.docker(&["volume", "inspect", "--format", "{{json .Labels}}", &names[0]]);
    assert_eq!(label.ok().trim(), r#"{"com.docker.volume.anonymous":""}"#);
    // Restarting the container keeps its volume (no second copy over its changes).
    d.docker(&["start", "-a", "va"]).ok();
    let out = d.docker(&["run", "--rm", "--volumes-from", "va", "busybox", "cat", "/data/file"]);
    assert_eq!(out.ok(), "seeded\nmore\nmore\n");
    // A named volume given for that path is filled once, when fresh…
    let out = d.docker(&["run", "--rm", "-v", "named:/data", "withvol:1", "cat", "/data/file"]);
    assert_eq!(out.ok(), "seeded\n");
    // …and `nocopy` keeps a fresh one empty.
    let out = d.docker(&["run", "--rm", "-v", "empty:/data:nocopy", "withvol:1", "ls", "-A", "/data"]);
    assert_eq!(out.ok(), "");
    // `rm -v` takes the anonymous volume along; named ones stay. `--rm` does the same.
    d.docker(&["rm", "-v", "va"]).ok();
    d.docker(&["run", "--rm", "withvol:1", "true"]).ok();
    assert_eq!(volume_names(&d), vec!["empty".to_string(), "named".to_string()]);
    // Prune: anonymous only by default, everything unused with --all.
    d.docker(&["create", "--name", "vb", "withvol:1"]).ok();
    d.docker(&["rm", "vb"]).ok();
    assert_eq!(volume_names(&d).len(), 3);
    let out = d.docker(&["volume", "prune", "-f"]);
    assert!(out.ok().contains("Total reclaimed space:"), "{}", out.stdout);
    assert_eq!(volume_names(&d), vec!["empty".to_string(), "named".to_string()]);
    d.docker(&["volume", "prune", "-f", "--all"]).ok();
    assert!(volume_names(&d).is_empty());
    d.stop();
}

#[test]
fn bind_mounts_and_tmpfs() {
    let Some(mut d) = with_busybox() else { return };
    let host = d.root.path().join("hostdir");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("greeting"), "hi from host\n").unwrap();
    let spec = format!("{}:/h", host.display());
    let out = d.docker(&["run", "--rm", "-v", &spec, "busybox", "sh", "-c", "cat /h/greeting; echo back > /h/reply"]);
    assert_eq!(out.ok(), "hi from host\n");
    assert_eq!(std::fs::read_to_string(host.join("reply")).unwrap(), "back\n");
    // :ro, and --mount with readonly.
    let ro = format!("{spec}:ro");
    let out = d.docker(&["run", "--rm", "-v", &ro, "busybox", "sh", "-c", "touch /h/x 2>/dev/null || echo denied"]);
    assert_eq!(out.ok(), "denied\n");
    let m = format!("type=bind,source={},target=/h,readonly", host.display());
    let out = d.wharf(&["run", "--rm", "--mount", &m, "busybox", "sh", "-c", "touch /h/x 2>/dev/null || echo denied"]);
    assert_eq!(out.ok(), "denied\n");
    // -v creates a missing host directory; --mount refuses a missing source, as Docker.
    let missing = d.root.path().join("made-by-v");
    let v = format!("{}:/m", missing.display());
    d.docker(&["run", "--rm", "-v", &v, "busybox", "true"]).ok();
    assert!(missing.is_dir());
    let gone = d.root.path().join("nope");
    let m = format!("type=bind,source={},target=/m", gone.display());
    let err = d.docker(&["run", "--rm", "--mount", &m, "busybox", "true"]);
    assert!(err.failed().contains("bind source path does not exist"), "{}", err.stderr);
    // Two mounts at one place.
    let err = d.docker(&["run", "--rm", "-v", &spec, "-v", "other:/h", "busybox", "true"]);
    assert!(err.failed().contains("Duplicate mount point: /h"), "{}", err.stderr);
    // tmpfs both ways, with size and mode.
    let out = d.docker(&[
        "run",
        "--rm",
        "--tmpfs",
        "/t:size=1m,mode=1770",
        "busybox",
        "sh",
        "-c",
        "grep ' /t ' /proc/mounts; stat -c %a /t",
    ]);
    let out = out.ok();
    assert!(out.contains("tmpfs /t tmpfs") && out.contains("size=1024k"), "{out}");
    assert!(out.ends_with("1770\n"), "{out}");
    let out = d.docker(&[
        "run",
        "--rm",
        "--mount",
        "type=tmpfs,dst=/t2,tmpfs-size=2097152",
        "busybox",
        "grep",
        " /t2 ",
        "/proc/mounts",
    ]);
    assert!(out.ok().contains("size=2048k"), "{}", out.stdout);
    // Inspect shows the bind with Docker's defaults.
    d.docker(&["create", "--name", "bc", "-v", &spec, "busybox"]).ok();
    let m = d.docker(&["inspect", "--format", "{{json .Mounts}}", "bc"]);
    let m: serde_json::Value = serde_json::from_str(m.ok().trim()).unwrap();
    assert_eq!(
        m,
        serde_json::json!([{"Type": "bind", "Source": host.display().to_string(), "Destination": "/h", "Mode": "", "RW": true, "Propagation": "rprivate"}])
    );
    d.docker(&["rm", "bc"]).ok();
    d.stop();
}

#[test]
fn local_driver_options_and_listing() {
    let Some(mut d) = with_busybox() else { return };
    // A tmpfs-backed volume (the local driver's type/device/o), mounted while used.
    d.docker(&["volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=3m", "scratch"]).ok();
    let out = d.docker(&["run", "--rm", "-v", "scratch:/s", "busybox", "sh", "-c", "grep ' /s ' /proc/mounts"]);
    assert!(out.ok().contains("size=3072k"), "{}", out.stdout);
    let mp = d.docker(&["volume", "inspect", "--format", "{{.Mountpoint}}", "scratch"]).ok().trim().to_string();
    let mounted = std::fs::read_to_string("/proc/self/mountinfo").unwrap().contains(&format!(" {mp} "));
    assert!(!mounted, "unmounted after the last user");
    let err = d.docker(&["volume", "create", "-o", "bogus=1", "bad"]);
    assert!(err.failed().contains("invalid option: \"bogus\""), "{}", err.stderr);
    let err = d.docker(&["volume", "create", "bad/name"]);
    assert!(err.failed().contains("includes invalid characters for a local volume name"), "{}", err.stderr);
    // Listing with filters, by both CLIs.
    d.docker(&["volume", "create", "--label", "env=prod", "p1"]).ok();
    d.docker(&["volume", "create", "--label", "env=dev", "d1"]).ok();
    d.docker(&["run", "-d", "--name", "user", "-v", "p1:/p", "busybox", "sleep", "60"]).ok();
    let q = |f: &str| {
        let mut v: Vec<String> =
            d.docker(&["volume", "ls", "-q", "--filter", f]).ok().lines().map(str::to_string).collect();
        v.sort();
        v.join(",")
    };
    assert_eq!(q("label=env=prod"), "p1");
    assert_eq!(q("label=env"), "d1,p1");
    assert_eq!(q("dangling=true"), "d1,scratch");
    assert_eq!(q("dangling=false"), "p1");
    assert_eq!(q("name=1"), "d1,p1");
    let (docker, wharf) = d.both(&["volume", "ls", "--filter", "label=env"]);
    assert_eq!(docker.ok(), wharf.ok());
    let (docker, wharf) = d.both(&["volume", "inspect", "p1"]);
    assert_eq!(docker.ok(), wharf.ok());
    // system df counts them.
    let df = d.docker(&["system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Active}}"]);
    // (Volumes with driver options are not counted, as dockerd.)
    assert!(df.ok().contains("Local Volumes 2 1"), "{}", df.stdout);
    assert!(df.stdout.contains("Containers 1 1"), "{}", df.stdout);
    // ps filters by volume name or destination.
    for f in ["volume=p1", "volume=/p"] {
        let ps = d.docker(&["ps", "-a", "--format", "{{.Names}}", "--filter", f]);
        assert_eq!(ps.ok().trim(), "user", "{f}");
    }
    assert_eq!(d.docker(&["ps", "-a", "-q", "--filter", "volume=d1"]).ok(), "");
    d.docker(&["rm", "-f", "user"]).ok();
    d.docker(&["volume", "rm", "p1", "d1", "scratch"]).ok();
    d.stop();
}

#[test]
fn a_volume_plugin_serves_a_container() {
    let Some(mut d) = with_busybox() else { return };
    let name = format!("wharf-it-plugin-{}", d.slot.index);
    let plugin = VolumePlugin::start(std::path::Path::new("/run/docker/plugins"), &name);
    d.docker(&["volume", "create", "-d", &name, "-o", "speed=fast", "pv"]).ok();
    let out = d.docker(&["run", "--name", "pc", "-v", "pv:/pv", "busybox", "sh", "-c", "echo via-plugin > /pv/f"]);
    out.ok();
    assert_eq!(std::fs::read_to_string(plugin.volume_dir("pv").join("f")).unwrap(), "via-plugin\n");
    let id = d.docker(&["inspect", "--format", "{{.Id}}", "pc"]).ok().trim().to_string();
    let creates = plugin.calls_of("VolumeDriver.Create");
    assert_eq!(creates.len(), 1);
    assert_eq!(creates[0]["Opts"]["speed"], "fast");
    let mounts = plugin.calls_of("VolumeDriver.Mount");
    assert_eq!(mounts.len(), 1, "{mounts:?}");
    assert_eq!(mounts[0]["Name"], "pv");
    assert_eq!(mounts[0]["ID"], id);
    let unmounts = plugin.calls_of("VolumeDriver.Unmount");
    assert_eq!(unmounts.len(), 1, "{unmounts:?}");
    assert_eq!(unmounts[0]["ID"], id);
    let driver = d.docker(&["volume", "inspect", "--format", "{{.Driver}}", "pv"]);
    assert_eq!(driver.ok().trim(), name);
    d.docker(&["rm", "pc"]).ok();
    d.docker(&["volume", "rm", "pv"]).ok();
    assert_eq!(plugin.calls_of("VolumeDriver.Remove").len(), 1);
    let err = d.docker(&["volume", "create", "-d", "no-such-plugin-here", "x"]);
    assert!(err.failed().contains("plugin \"no-such-plugin-here\" not found"), "{}", err.stderr);
    d.stop();
}

#[test]
fn cp_events_propagation_and_subpaths() {
    let Some(mut d) = with_busybox() else { return };
    let t0 = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    // `docker cp` reaches into volumes and binds, running or not.
    d.docker(&["run", "-d", "--name", "cpv", "-v", "cpdata:/data", "-v", "ro:/ro:ro", "busybox", "sleep", "60"]).ok();
    let src = d.root.path().join("in.txt");
    std::fs::write(&src, "copied in\n").unwrap();
    d.docker(&["cp", src.to_str().unwrap(), "cpv:/data/in.txt"]).ok();
    let out = d.docker(&["exec", "cpv", "cat", "/data/in.txt"]);
    assert_eq!(out.ok(), "copied in\n");
    d.docker(&["exec", "cpv", "sh", "-c", "echo made inside > /data/out.txt"]).ok();
    let dst = d.root.path().join("out.txt");
    d.docker(&["cp", "cpv:/data/out.txt", dst.to_str().unwrap()]).ok();
    assert_eq!(std::fs::read_to_string(&dst).unwrap(), "made inside\n");
    let err = d.docker(&["cp", src.to_str().unwrap(), "cpv:/ro/in.txt"]);
    assert!(err.failed().contains("mounted volume is marked read-only"), "{}", err.stderr);
    d.docker(&["stop", "-t", "0", "cpv"]).ok();
    let dst2 = d.root.path().join("out2.txt");
    d.wharf(&["cp", "cpv:/data/in.txt", dst2.to_str().unwrap()]).ok();
    assert_eq!(std::fs::read_to_string(&dst2).unwrap(), "copied in\n");
    // `-v /path` alone is an anonymous volume.
    d.docker(&["run", "--name", "anon", "-v", "/scratch", "busybox", "sh", "-c", "echo x > /scratch/f"]).ok();
    let m =
        d.docker(&["inspect", "--format", "{{range .Mounts}}{{.Type}} {{.Destination}} {{len .Name}}{{end}}", "anon"]);
    assert_eq!(m.ok().trim(), "volume /scratch 64");
    d.docker(&["rm", "-v", "anon"]).ok();
    // bind-propagation reaches the runtime.
    let host = d.root.path().join("shared");
    std::fs::create_dir_all(&host).unwrap();
    let spec = format!("type=bind,source={},target=/p,bind-propagation=rshared", host.display());
    let out = d.docker(&["run", "--rm", "--mount", &spec, "busybox", "grep", " /p ", "/proc/self/mountinfo"]);
    assert!(out.ok().contains("shared:"), "{}", out.stdout);
    // A volume subpath (API 1.45).
    d.docker(&["run", "--rm", "-v", "sub:/v", "busybox", "sh", "-c", "mkdir -p /v/dir && echo inner > /v/dir/f"]).ok();
    let out = d.docker(&[
        "run",
        "--rm",
        "--mount",
        "type=volume,src=sub,dst=/s,volume-subpath=dir",
        "busybox",
        "cat",
        "/s/f",
    ]);
    assert_eq!(out.ok(), "inner\n");
    let err =
        d.docker(&["run", "--rm", "--mount", "type=volume,src=sub,dst=/s,volume-subpath=../..", "busybox", "true"]);
    assert!(!err.failed().is_empty());
    // Volume events, as dockerd publishes them.
    d.docker(&["rm", "cpv"]).ok();
    d.docker(&["volume", "rm", "cpdata"]).ok();
    let t1 = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 1;
    let ev = d.docker(&[
        "events",
        "--since",
        &t0.to_string(),
        "--until",
        &t1.to_string(),
        "--filter",
        "type=volume",
        "--filter",
        "volume=cpdata",
        "--format",
        "{{.Action}}",
    ]);
    let actions: Vec<String> = ev.ok().lines().map(str::to_string).collect();
    for want in ["create", "mount", "unmount", "destroy"] {
        assert!(actions.iter().any(|a| a == want), "{want} missing in {actions:?}");
    }
    d.stop();
}

#[test]
fn a_mounted_volume_is_counted_again_after_a_daemon_kill() {
    let Some(mut d) = with_busybox() else { return };
    d.docker(&["volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=1m", "tv"]).ok();
    d.docker(&["run", "-d", "--name", "tvc", "-v", "tv:/t", "busybox", "sh", "-c", "echo kept > /t/f; sleep 60"]).ok();
    let mp = d.docker(&["volume", "inspect", "--format", "{{.Mountpoint}}", "tv"]).ok().trim().to_string();
    let mounted = || std::fs::read_to_string("/proc/self/mountinfo").unwrap().contains(&format!(" {mp} "));
    assert!(mounted());
    d.kill9();
    std::thread::sleep(std::time::Duration::from_millis(300));
    d.spawn();
    d.wait_ready();
    // Still mounted and in use; the data is there.
    assert!(mounted());
    let err = d.docker(&["volume", "rm", "tv"]);
    assert!(err.failed().contains("volume is in use"), "{}", err.stderr);
    assert_eq!(d.docker(&["exec", "tvc", "cat", "/t/f"]).ok(), "kept\n");
    // The exit after the restart unmounts it: the daemon counted the mount again.
    d.docker(&["stop", "-t", "0", "tvc"]).ok();
    assert!(!mounted(), "{mp} still mounted after the last user exited");
    d.docker(&["rm", "tvc"]).ok();
    d.docker(&["volume", "rm", "tv"]).ok();
    d.stop();
}
