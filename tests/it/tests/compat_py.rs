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

#[test]
fn docker_py_loads_lists_tags_saves_and_removes_images() {
    if !python_sdk() || !wharf_it::images::have_busybox() {
        return;
    }
    let d = Daemon::start();
    let img = wharf_it::images::layered_image("py:1");
    let archive = d.root.path().join("py.tar");
    std::fs::write(&archive, &img.archive).unwrap();
    let script = r#"
import sys, time, docker
c = docker.DockerClient(base_url=sys.argv[1], version="auto")
t0 = time.time()
with open(sys.argv[2], "rb") as f:
    loaded = c.images.load(f.read())
assert [i.id for i in loaded] == [sys.argv[3]], loaded
im = c.images.get("py:1")
assert im.tags == ["py:1"], im.tags
assert im.attrs["RootFS"]["Type"] == "layers"
assert im.tag("py", "2") is True
assert sorted(c.images.get(sys.argv[3]).tags) == ["py:1", "py:2"]
assert [i.id for i in c.images.list(filters={"reference": "py:2"})] == [sys.argv[3]]
data = b"".join(im.save(named=True))
assert len(data) > 100000
assert len(im.history()) == 3
c.images.remove("py:2")
c.images.remove("py:1")
assert c.images.list() == []
try:
    c.images.get("py:1")
    raise SystemExit("a removed image must be gone")
except docker.errors.ImageNotFound:
    pass
evs = [e["Action"] for e in c.events(since=t0 - 1, until=time.time() + 0.2, decode=True, filters={"type": "image"})]
for want in ["load", "tag", "save", "untag", "delete"]:
    assert want in evs, (want, evs)
print("ok")
"#;
    let mut cmd = std::process::Command::new("python3");
    cmd.args(["-c", script, &d.host(), archive.to_str().unwrap(), &img.id]);
    let out = wharf_it::CmdResult::run(cmd);
    assert_eq!(out.ok().trim(), "ok", "{}", out.stderr);
}
