//! docker-py (the Python Docker SDK) against wharfd: the compatibility oracle podman also uses.
//! Skipped when the SDK is not installed, unless `WHARF_IT=1` (CI installs it).

use wharf_it::Daemon;

fn python_sdk() -> bool {
    let ok =
        std::process::Command::new("python3").args(["-c", "import docker"]).output().is_ok_and(|o| o.status.success());
    assert!(ok || !wharf_it::strict(), "the Python docker SDK is needed (pip install docker)");
    if !ok {
        eprintln!("skipped: python3 docker SDK not installed");
    }
    ok
}

#[test]
fn docker_py_reads_version_info_and_events() {
    if !python_sdk() {
        return;
    }
    let mut d = Daemon::start_with(wharf_it::DaemonOpts {
        config_json: Some(r#"{"labels":["k=v"]}"#.into()),
        ..Default::default()
    });
    let script = r#"
import json, os, signal, sys, time, docker
c = docker.DockerClient(base_url=sys.argv[1], version="auto")
v = c.version()
assert v["ApiVersion"] == "1.45", v
assert v["Platform"]["Name"] == "Wharf Engine", v
i = c.info()
assert i["Labels"] == ["k=v"], i["Labels"]
assert c.ping() is True
t0 = time.time()
os.kill(int(sys.argv[2]), signal.SIGHUP)
time.sleep(0.5)
evs = list(c.events(since=t0 - 1, until=time.time() + 0.5, decode=True, filters={"type": "daemon"}))
assert [e["Action"] for e in evs] == ["reload"], evs
try:
    c.api.get_json = None
    c.api._result(c.api._get(c.api._url("/nosuchroute")), json=True)
    raise SystemExit("an unknown route must fail")
except docker.errors.NotFound as e:
    assert "page not found" in str(e), str(e)
print("ok")
"#;
    let pid = d.pid().unwrap().to_string();
    let mut cmd = std::process::Command::new("python3");
    cmd.args(["-c", script, &d.host(), &pid]);
    let out = wharf_it::CmdResult::run(cmd);
    assert_eq!(out.ok().trim(), "ok", "{}", out.stderr);
    d.stop();
}
