//! The `wharf` CLI against a real wharfd, side by side with the stock docker CLI: version, info,
//! events, contexts shared through the docker CLI's own store, endpoint selection, TLS, errors.

use std::process::Command;

use rustix::process::Signal;
use wharf_it::{CmdResult, Daemon, DaemonOpts, Pki};

/// A client command with a private `--config` dir and no -H (context/env tests).
fn client(bin: std::path::PathBuf, config: &std::path::Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin);
    c.arg("--config").arg(config).args(args);
    c.env_remove("DOCKER_HOST").env_remove("DOCKER_CONTEXT").env_remove("DOCKER_TLS_VERIFY");
    c
}

#[test]
fn version_and_info_match_the_docker_cli() {
    let mut d =
        Daemon::start_with(DaemonOpts { config_json: Some(r#"{"labels":["site=a"]}"#.into()), ..Default::default() });
    let (w, k) = d.both(&["version", "--format", "{{.Server.Version}} {{.Server.APIVersion}} {{.Server.Os}}"]);
    assert_eq!(w.ok(), k.ok());
    assert_eq!(w.stdout.trim(), format!("{} 1.45 linux", env!("CARGO_PKG_VERSION")));
    let text = d.wharf(&["version"]);
    assert!(text.ok().contains("Server: Wharf Engine"), "{}", text.stdout);
    assert!(text.stdout.contains("API version:      1.45 (minimum version 1.24)"), "{}", text.stdout);
    let (w, k) = d.both(&["info", "--format", "{{.Name}}|{{.NCPU}}|{{.MemTotal}}|{{json .Labels}}|{{.DockerRootDir}}"]);
    assert_eq!(w.ok(), k.ok());
    assert!(w.stdout.contains(r#"["site=a"]"#), "{}", w.stdout);
    let info = d.wharf(&["info"]);
    for needle in ["Server Version: ", "Cgroup Driver: cgroupfs", "Docker Root Dir: ", "Labels:", "site=a"] {
        assert!(info.ok().contains(needle), "{needle} missing:\n{}", info.stdout);
    }
    d.stop();
}

#[test]
fn events_with_since_until_filter_and_format() {
    let mut d = Daemon::start();
    let t0 = format!("{:.3}", now() - 1.0);
    for n in 1..=2 {
        d.signal(Signal::HUP);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while d.log_text().matches("Reloaded configuration").count() < n {
            assert!(std::time::Instant::now() < deadline, "reload {n} expected:\n{}", d.log_text());
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    let t1 = format!("{:.3}", now() + 0.5);
    let args =
        ["events", "--since", &t0, "--until", &t1, "--filter", "type=daemon", "--format", "{{.Type}} {{.Action}}"];
    let (w, k) = d.both(&args);
    assert_eq!(w.ok(), k.ok());
    assert_eq!(w.stdout.lines().collect::<Vec<_>>(), vec!["daemon reload", "daemon reload"]);
    let plain = d.wharf(&["events", "--since", &t0, "--until", &t1]);
    let first = plain.ok().lines().next().unwrap_or_default().to_string();
    assert!(first.contains(" daemon reload ") && first.contains("name="), "docker's line format: {first}");
    let none = d.wharf(&["events", "--since", &t0, "--until", &t1, "--filter", "type=container"]);
    assert_eq!(none.ok(), "");
    let bad = d.wharf(&["events", "--since", &t0, "--until", &t1, "--filter", "colour=red"]);
    assert!(bad.failed().contains("invalid filter 'colour'"), "{}", bad.stderr);
    d.stop();
}

#[test]
fn contexts_are_shared_with_the_docker_cli() {
    let mut d = Daemon::start();
    let cfg = d.client_config.clone();
    let wharf = wharf_it::bin("wharf");
    let docker = wharf_it::docker_cli();
    let host = d.host();

    // wharf creates, docker uses
    CmdResult::run(client(
        wharf.clone(),
        &cfg,
        &["context", "create", "wx", "--description", "made by wharf", "--docker", &format!("host={host}")],
    ))
    .ok();
    let v = CmdResult::run(client(
        docker.clone(),
        &cfg,
        &["--context", "wx", "version", "--format", "{{.Server.Platform.Name}}"],
    ));
    assert_eq!(v.ok().trim(), "Wharf Engine");

    // docker creates, wharf lists and uses
    CmdResult::run(client(docker.clone(), &cfg, &["context", "create", "dk", "--docker", &format!("host={host}")]))
        .ok();
    let ls = CmdResult::run(client(
        wharf.clone(),
        &cfg,
        &["context", "ls", "--format", "{{.Name}}|{{.Description}}|{{.DockerEndpoint}}"],
    ));
    let ls = ls.ok().to_string();
    assert!(ls.contains(&format!("wx|made by wharf|{host}")), "{ls}");
    assert!(ls.contains(&format!("dk||{host}")), "{ls}");
    let v = CmdResult::run(client(
        wharf.clone(),
        &cfg,
        &["--context", "dk", "version", "--format", "{{.Server.APIVersion}}"],
    ));
    assert_eq!(v.ok().trim(), "1.45");

    // `context use` by one is seen by the other; DOCKER_CONTEXT and -H override it
    CmdResult::run(client(wharf.clone(), &cfg, &["context", "use", "wx"])).ok();
    let show = CmdResult::run(client(docker.clone(), &cfg, &["context", "show"]));
    assert_eq!(show.ok().trim(), "wx");
    let v = CmdResult::run(client(docker.clone(), &cfg, &["version", "--format", "{{.Server.Platform.Name}}"]));
    assert_eq!(v.ok().trim(), "Wharf Engine");
    let mut c = client(wharf.clone(), &cfg, &["context", "show"]);
    c.env("DOCKER_CONTEXT", "dk");
    assert_eq!(CmdResult::run(c).ok().trim(), "dk");
    let both = CmdResult::run(client(wharf.clone(), &cfg, &["-H", &host, "--context", "dk", "version"]));
    assert!(both.failed().contains("conflicting options"), "{}", both.stderr);

    // removing the current one needs -f, as in docker
    let rm = CmdResult::run(client(wharf.clone(), &cfg, &["context", "rm", "wx"]));
    assert!(rm.failed().contains("in use"), "{}", rm.stderr);
    CmdResult::run(client(wharf.clone(), &cfg, &["context", "rm", "-f", "wx", "dk"])).ok();
    let ls = CmdResult::run(client(docker.clone(), &cfg, &["context", "ls", "-q"]));
    assert_eq!(ls.ok().trim(), "default");
    d.stop();
}

#[test]
fn docker_host_env_and_connection_errors() {
    let mut d = Daemon::start();
    let cfg = d.client_config.clone();
    let mut c = client(wharf_it::bin("wharf"), &cfg, &["version", "--format", "{{.Server.APIVersion}}"]);
    c.env("DOCKER_HOST", d.host());
    assert_eq!(CmdResult::run(c).ok().trim(), "1.45");
    let gone = d.root.path().join("nobody-here.sock");
    let r =
        CmdResult::run(client(wharf_it::bin("wharf"), &cfg, &["-H", &format!("unix://{}", gone.display()), "info"]));
    assert!(r.failed().contains("Cannot connect to the wharf daemon"), "{}", r.stderr);
    assert_eq!(r.code, 1);
    d.stop();
}

#[test]
fn wharf_speaks_mutual_tls() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::create(dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut args = pki.daemon_args();
    args.extend(["-H".into(), format!("tcp://127.0.0.1:{port}")]);
    let mut d = Daemon::start_with(DaemonOpts { args, ..Default::default() });
    let tls = |cert: &wharf_it::TlsFiles| {
        let ca = format!("--tlscacert={}", cert.ca.display());
        let crt = format!("--tlscert={}", cert.cert.display());
        let key = format!("--tlskey={}", cert.key.display());
        let host = format!("tcp://127.0.0.1:{port}");
        let args = [
            "--tlsverify",
            ca.as_str(),
            crt.as_str(),
            key.as_str(),
            "-H",
            host.as_str(),
            "version",
            "--format",
            "{{.Server.APIVersion}}",
        ];
        let c = client(wharf_it::bin("wharf"), &d.client_config, &args);
        CmdResult::run(c)
    };
    assert_eq!(tls(&pki.client).ok().trim(), "1.45");
    tls(&pki.stranger).failed();
    // a context holding the TLS material works for both CLIs
    let spec = format!(
        "host=tcp://127.0.0.1:{port},ca={},cert={},key={}",
        pki.client.ca.display(),
        pki.client.cert.display(),
        pki.client.key.display()
    );
    CmdResult::run(client(
        wharf_it::bin("wharf"),
        &d.client_config,
        &["context", "create", "secure", "--docker", &spec],
    ))
    .ok();
    for bin in [wharf_it::bin("wharf"), wharf_it::docker_cli()] {
        let v = CmdResult::run(client(
            bin,
            &d.client_config,
            &["--context", "secure", "version", "--format", "{{.Server.APIVersion}}"],
        ));
        assert_eq!(v.ok().trim(), "1.45");
    }
    d.stop();
}

fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64()
}
