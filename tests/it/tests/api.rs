//! The API surface of the foundation through raw HTTP and the stock docker CLI: ping headers,
//! version negotiation, errors in Docker's shape, `/version`, `/info`, `/events`.

use std::time::Duration;

use wharf_it::Daemon;

#[test]
fn ping_answers_get_and_head_with_dockers_headers() {
    let mut d = Daemon::start();
    for method in ["GET", "HEAD"] {
        for path in ["/_ping", "/v1.45/_ping", "/v1.24/_ping"] {
            let r = d.api(method, path, None).unwrap();
            assert_eq!(r.status, 200, "{method} {path}");
            assert_eq!(r.header("api-version"), Some("1.45"));
            assert_eq!(r.header("ostype"), Some("linux"));
            assert_eq!(r.header("docker-experimental"), Some("false"));
            assert_eq!(r.header("builder-version"), Some("1"));
            if method == "GET" {
                assert_eq!(r.text(), "OK");
            }
        }
    }
    d.stop();
}

#[test]
fn version_negotiation_uses_dockers_messages() {
    let mut d = Daemon::start();
    let r = d.api("GET", "/v1.99/version", None).unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "client version 1.99 is too new. Maximum supported API version is 1.45");
    let r = d.api("GET", "/v1.23/version", None).unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "client version 1.23 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version"
    );
    for path in ["/v1.24/version", "/v1.45/version", "/version"] {
        let v = d.get_json(path);
        assert_eq!(v["ApiVersion"], "1.45", "{path}");
        assert_eq!(v["MinAPIVersion"], "1.24", "{path}");
    }
    d.stop();
}

#[test]
fn unknown_routes_and_methods_are_404_in_dockers_shape() {
    let mut d = Daemon::start();
    for (method, path) in [
        ("GET", "/nope"),
        ("GET", "/v1.45/nope/deeper"),
        ("POST", "/version"),
        ("DELETE", "/_ping"),
        ("GET", "/vX.Y/version"),
        ("PUT", "/"),
    ] {
        let r = d.api(method, path, None).unwrap();
        assert_eq!(r.status, 404, "{method} {path}: {}", r.text());
        assert_eq!(r.json()["message"], "page not found", "{method} {path}");
        assert!(r.header("content-type").unwrap_or("").starts_with("application/json"));
    }
    d.stop();
}

/// Every path of the v1.45 spec answers promptly, with or without a version prefix, with either
/// a success or an error in Docker's shape — never a hang, a dropped connection or a 500 (a 503
/// only where dockerd answers one without a swarm).
#[test]
fn every_spec_route_answers_without_hanging_or_crashing() {
    let spec = wharf_it::spec_path("docker-engine-api-v1.45.yaml");
    let Ok(text) = std::fs::read_to_string(&spec) else {
        assert!(!wharf_it::strict(), "spec not found at {}", spec.display());
        eprintln!("skipped: spec not found at {}", spec.display());
        return;
    };
    let routes = wharf_it::spec_routes(&text);
    assert!(routes.len() > 90, "parsed only {} routes from the spec", routes.len());
    let mut d = Daemon::start();
    for (method, path) in &routes {
        if path == "/events" {
            continue; // a stream by design; covered below
        }
        let concrete = path.replace("{id}", "nosuch").replace("{name}", "nosuch").replace("{execId}", "nosuch");
        for prefix in ["", "/v1.45"] {
            let url = format!("{prefix}{concrete}");
            let r = d.api(method, &url, if method == "POST" { Some(b"{}") } else { None });
            let r = r.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
            // dockerd answers swarm-only requests (cluster volumes) with 503 when there is no swarm.
            let swarm_only = r.status == 503 && r.text().contains("swarm");
            assert!(r.status < 500 || swarm_only, "{method} {url}: {} {}", r.status, r.text());
            if r.status >= 400 && method != "HEAD" {
                assert!(r.json().get("message").is_some_and(|m| m.is_string()), "{method} {url}: {}", r.text());
            }
        }
    }
    d.stop();
}

#[test]
fn docker_cli_version_and_info_work() {
    let mut d = Daemon::start();
    let out = d.docker(&["version"]);
    let text = out.ok();
    assert!(text.contains("Server: Wharf Engine"), "{text}");
    assert!(text.contains("API version:      1.45 (minimum version 1.24)"), "{text}");
    let v = d.docker(&["version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}"]);
    assert_eq!(v.ok().trim(), format!("{} 1.45", env!("CARGO_PKG_VERSION")));

    let info = d.docker(&["info", "--format", "{{json .}}"]);
    let info: serde_json::Value = serde_json::from_str(info.ok().trim()).unwrap();
    assert_eq!(info["DockerRootDir"], d.data_root.display().to_string());
    assert_eq!(info["OSType"], "linux");
    assert_eq!(info["Containers"], 0);
    assert_eq!(info["Images"], 0);
    assert_eq!(info["CgroupDriver"], "cgroupfs");
    let cg = if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() { "2" } else { "1" };
    assert_eq!(info["CgroupVersion"], cg);
    let ncpu = std::thread::available_parallelism().unwrap().get() as i64;
    assert_eq!(info["NCPU"], ncpu);
    assert!(info["MemTotal"].as_i64().unwrap() > 0);
    let uname = std::process::Command::new("uname").arg("-r").output().unwrap();
    assert_eq!(info["KernelVersion"], String::from_utf8_lossy(&uname.stdout).trim());
    assert!(info["Driver"] == "overlay2" || info["Driver"] == "vfs");
    let text = d.docker(&["info"]);
    assert!(text.ok().contains("Server Version: "), "{}", text.stdout);
    d.stop();
}

#[test]
fn engine_id_is_stable_across_restarts() {
    let mut d = Daemon::start();
    let id1 = d.get_json("/info")["ID"].as_str().unwrap().to_string();
    d.stop();
    d.spawn();
    d.wait_ready();
    let id2 = d.get_json("/info")["ID"].as_str().unwrap().to_string();
    assert_eq!(id1, id2);
    assert!(!id1.is_empty());
    d.stop();
}

#[test]
fn events_replay_history_with_since_until_and_filters() {
    let mut d = Daemon::start_with(wharf_it::DaemonOpts {
        config_json: Some(r#"{"labels":["stage=one"]}"#.into()),
        ..Default::default()
    });
    let cfg = d.config_file();
    let t0 = now_secs();
    // two reloads → two daemon events
    for stage in ["two", "three"] {
        std::fs::write(&cfg, format!(r#"{{"labels":["stage={stage}"]}}"#)).unwrap();
        d.signal(rustix::process::Signal::HUP);
        wait_for(|| d.get_json("/info")["Labels"][0] == format!("stage={stage}"));
    }
    let t1 = now_secs() + 1.0;
    let path = format!("/events?since={t0:.3}&until={t1:.3}");
    let r = d.api("GET", &path, None).unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let events: Vec<serde_json::Value> = r.text().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0]["Type"], "daemon");
    assert_eq!(events[0]["Action"], "reload");
    assert_eq!(events[1]["Actor"]["Attributes"]["labels"], r#"["stage=three"]"#);
    assert!(events[0]["timeNano"].as_i64() <= events[1]["timeNano"].as_i64());

    let filtered = r#"{"type":["container"]}"#;
    let r = d.api("GET", &format!("{path}&filters={}", urlencode(filtered)), None).unwrap();
    assert_eq!((r.status, r.text()), (200, String::new()));

    // through the stock CLI, with its own flags
    let out = d.docker(&[
        "events",
        "--since",
        &format!("{t0:.3}"),
        "--until",
        &format!("{t1:.3}"),
        "--filter",
        "type=daemon",
        "--format",
        "{{.Action}}",
    ]);
    assert_eq!(out.ok().lines().collect::<Vec<_>>(), vec!["reload", "reload"]);

    let r = d.api("GET", "/events?filters=%7B%22colour%22%3A%5B%22red%22%5D%7D", None).unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["message"], "invalid filter 'colour'");
    let r = d.api("GET", "/events?since=yesterday-ish", None).unwrap();
    assert_eq!(r.status, 400, "{}", r.text());
    d.stop();
}

#[test]
fn a_live_event_stream_sees_new_events_and_ends_at_until() {
    let mut d = Daemon::start();
    let until = now_secs() + 3.0;
    let socket = d.socket.clone();
    let reader = std::thread::spawn(move || {
        wharf_it::RawClient::unix(&socket).request("GET", &format!("/events?until={until:.3}"), None).unwrap()
    });
    wait_for(|| d.get_json("/info")["NEventsListener"] == 1);
    d.signal(rustix::process::Signal::HUP);
    let started = std::time::Instant::now();
    let r = reader.join().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10), "the stream must end at until");
    let lines: Vec<&str> =
        r.body.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(|l| std::str::from_utf8(l).unwrap()).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("\"Action\":\"reload\""));
    d.stop();
}

#[test]
fn an_open_event_stream_does_not_block_shutdown() {
    let mut d = Daemon::start();
    let socket = d.socket.clone();
    let reader = std::thread::spawn(move || wharf_it::RawClient::unix(&socket).request("GET", "/events", None));
    wait_for(|| d.get_json("/info")["NEventsListener"] == 1);
    let t = std::time::Instant::now();
    d.stop();
    assert!(t.elapsed() < Duration::from_secs(5), "shutdown took {:?}", t.elapsed());
    let _ = reader.join();
}

fn now_secs() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64()
}

fn wait_for(mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "condition not met in 10s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
