//! `wharf pull`/`push`/`login`/`logout` end to end against a recording daemon: a small
//! HTTP/1.1 server on a unix socket (in this file) answers `/version`, `/images/create`,
//! `/images/{name}/push` and `/auth` and records every request, so the tests check the
//! request shapes (paths, queries, `X-Registry-Auth`, bodies), what the CLI prints and
//! what it leaves in `config.json` — compared with what the docker 28.2 CLI sent and
//! printed for the same configuration. Credential helpers are a fake
//! `docker-credential-test` script on `PATH`.

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

/// One recorded request.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    target: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// The answer to a request: status, body (JSON).
type Handler = Arc<dyn Fn(&Request) -> (u16, String) + Send + Sync>;

/// A recording daemon on a unix socket; it lives as long as its temp directory.
struct Daemon {
    _dir: tempfile::TempDir,
    sock: PathBuf,
    log: Arc<Mutex<Vec<Request>>>,
}

impl Daemon {
    fn start(handler: impl Fn(&Request) -> (u16, String) + Send + Sync + 'static) -> Daemon {
        let dir = tempfile::tempdir().expect("tempdir");
        let sock = dir.path().join("d.sock");
        let listener = UnixListener::bind(&sock).expect("bind");
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Handler = Arc::new(handler);
        let log2 = log.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let (log, handler) = (log2.clone(), handler.clone());
                std::thread::spawn(move || serve(conn, &log, &handler));
            }
        });
        Daemon { _dir: dir, sock, log }
    }

    fn host(&self) -> String {
        format!("unix://{}", self.sock.display())
    }

    /// The requests other than the version negotiation.
    fn requests(&self) -> Vec<Request> {
        self.log
            .lock()
            .expect("log")
            .iter()
            .filter(|r| !r.target.ends_with("/version") && r.method != "HEAD")
            .cloned()
            .collect()
    }
}

fn serve(conn: UnixStream, log: &Mutex<Vec<Request>>, handler: &Handler) {
    let mut w = conn.try_clone().expect("clone");
    let mut r = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_lowercase(), v.trim().to_string());
            }
        }
        let mut body = Vec::new();
        if let Some(n) = headers.get("content-length").and_then(|n| n.parse::<usize>().ok()) {
            body.resize(n, 0);
            r.read_exact(&mut body).expect("body");
        } else if headers.get("transfer-encoding").is_some_and(|t| t == "chunked") {
            loop {
                let mut size = String::new();
                r.read_line(&mut size).expect("chunk size");
                let n = usize::from_str_radix(size.trim(), 16).expect("hex");
                let mut chunk = vec![0; n + 2];
                r.read_exact(&mut chunk).expect("chunk");
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        }
        let req = Request { method, target, headers, body };
        log.lock().expect("log").push(req.clone());
        let (status, out) = if req.target.ends_with("/version") {
            (200, r#"{"ApiVersion":"1.45","MinAPIVersion":"1.24","Version":"28.2.2"}"#.to_string())
        } else {
            handler(&req)
        };
        let head = format!(
            "HTTP/1.1 {status} X\r\nApi-Version: 1.45\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            out.len()
        );
        if w.write_all(head.as_bytes()).and_then(|_| w.write_all(out.as_bytes())).is_err() {
            return;
        }
    }
}

/// The pull stream the recording daemon answers (what the docker CLI printed for it is
/// in [`DOCKER_PULL_OUTPUT`]).
fn pull_stream() -> String {
    [
        r#"{"status":"Pulling from library/busybox","id":"latest"}"#,
        r#"{"status":"Pulling fs layer","progressDetail":{},"id":"abc"}"#,
        r#"{"status":"Downloading","progressDetail":{"current":10,"total":100},"progress":"[=>   ]","id":"abc"}"#,
        r#"{"status":"Pull complete","progressDetail":{},"id":"abc"}"#,
        &format!(r#"{{"status":"Digest: sha256:{}"}}"#, "a".repeat(64)),
        r#"{"status":"Status: Downloaded newer image for busybox:latest"}"#,
    ]
    .iter()
    .map(|m| format!("{m}\r\n"))
    .collect()
}

/// `docker pull busybox` (28.2, stdout not a terminal) for [`pull_stream`].
const DOCKER_PULL_OUTPUT: &str = "Using default tag: latest
latest: Pulling from library/busybox
abc: Pulling fs layer
abc: Pull complete
Digest: sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
Status: Downloaded newer image for busybox:latest
docker.io/library/busybox:latest
";

fn ok_daemon() -> Daemon {
    Daemon::start(|req| {
        if req.target.contains("/auth") {
            (200, r#"{"Status":"Login Succeeded","IdentityToken":""}"#.into())
        } else {
            (200, pull_stream())
        }
    })
}

/// A config directory and a `PATH` directory holding a fake credential helper.
struct Client {
    dir: tempfile::TempDir,
}

impl Client {
    fn new(config: Option<&str>) -> Client {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir(dir.path().join("cfg")).expect("cfg");
        if let Some(c) = config {
            fs::write(dir.path().join("cfg/config.json"), c).expect("config");
        }
        fs::create_dir(dir.path().join("bin")).expect("bin");
        let log = dir.path().join("helper.log");
        let script = format!(
            r#"#!/bin/sh
input=$(cat)
printf '%s %s\n' "$1" "$input" >> {log}
case "$1" in
get)
  case "$input" in
  localhost:5000) echo '{{"ServerURL":"localhost:5000","Username":"hu","Secret":"hs"}}';;
  *) echo 'credentials not found in native keychain'; exit 1;;
  esac;;
esac
"#,
            log = log.display()
        );
        let prog = dir.path().join("bin/docker-credential-test");
        fs::write(&prog, script).expect("script");
        fs::set_permissions(&prog, fs::Permissions::from_mode(0o755)).expect("chmod");
        Client { dir }
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("cfg/config.json")
    }

    fn config(&self) -> serde_json::Value {
        serde_json::from_slice(&fs::read(self.config_path()).expect("config")).expect("json")
    }

    fn helper_calls(&self) -> String {
        fs::read_to_string(self.dir.path().join("helper.log")).unwrap_or_default()
    }

    fn run(&self, d: &Daemon, args: &[&str], stdin: &str) -> Output {
        let path = format!("{}:{}", self.dir.path().join("bin").display(), std::env::var("PATH").unwrap_or_default());
        let mut child = Command::new(env!("CARGO_BIN_EXE_wharf"))
            .arg("-H")
            .arg(d.host())
            .args(args)
            .env("DOCKER_CONFIG", self.dir.path().join("cfg"))
            .env("PATH", path)
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_DEFAULT_PLATFORM")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn wharf");
        child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
        child.wait_with_output().expect("wait")
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn auth_header(r: &Request) -> &str {
    r.headers.get("x-registry-auth").map(String::as_str).unwrap_or("<none>")
}

const CONFIG_WITH_AUTHS: &str =
    r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"},"localhost:5000":{"auth":"YTpi"}}}"#;

#[test]
fn pull_like_docker() {
    let d = ok_daemon();
    let c = Client::new(Some(CONFIG_WITH_AUTHS));
    let out = c.run(&d, &["pull", "busybox"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), DOCKER_PULL_OUTPUT);
    assert_eq!(text(&out.stderr), "");

    let out = c.run(&d, &["image", "pull", "-q", "localhost:5000/x"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "localhost:5000/x:latest\n");

    let out = c.run(&d, &["pull", "-a", "--platform", "Linux/ARM64", "other.io/y"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).ends_with("Downloaded newer image for busybox:latest\nother.io/y\n"));

    // Paths and headers as the docker 28.2 CLI sent them for the same config.
    let reqs = d.requests();
    let got: Vec<(String, String, &str)> =
        reqs.iter().map(|r| (r.method.clone(), r.target.clone(), auth_header(r))).collect();
    assert_eq!(
        got,
        [
            (
                "POST".to_string(),
                "/v1.45/images/create?fromImage=docker.io%2Flibrary%2Fbusybox&tag=latest".to_string(),
                "eyJ1c2VybmFtZSI6InVzZXIiLCJwYXNzd29yZCI6InBhc3MiLCJzZXJ2ZXJhZGRyZXNzIjoiaHR0cHM6Ly9pbmRleC5kb2NrZXIuaW8vdjEvIn0="
            ),
            (
                "POST".into(),
                "/v1.45/images/create?fromImage=localhost%3A5000%2Fx&tag=latest".into(),
                "eyJ1c2VybmFtZSI6ImEiLCJwYXNzd29yZCI6ImIiLCJzZXJ2ZXJhZGRyZXNzIjoibG9jYWxob3N0OjUwMDAifQ=="
            ),
            ("POST".into(), "/v1.45/images/create?fromImage=other.io%2Fy&platform=linux%2Farm64".into(), "e30="),
        ]
    );
    assert!(reqs.iter().all(|r| r.body.is_empty()));
}

#[test]
fn pull_errors_like_docker() {
    let d = Daemon::start(|_| {
        (
            404,
            r#"{"message":"pull access denied for nosuch, repository does not exist or may require 'docker login'"}"#
                .into(),
        )
    });
    let c = Client::new(None);
    let out = c.run(&d, &["pull", "nosuch"], "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "Using default tag: latest\n");
    assert_eq!(
        text(&out.stderr),
        "Error response from daemon: pull access denied for nosuch, repository does not exist or may require 'docker login'\n"
    );
    let out = c.run(&d, &["pull", "-a", "busybox:1"], "");
    assert_eq!((out.status.code(), text(&out.stderr).as_str()), (Some(1), "tag can't be used with --all-tags/-a\n"));
    let out = c.run(&d, &["pull", "BusyBox"], "");
    assert_eq!(text(&out.stderr), "invalid reference format: repository name (library/BusyBox) must be lowercase\n");
    assert!(d.requests().len() == 1);
}

#[test]
fn pull_with_credential_helper() {
    let d = ok_daemon();
    let c = Client::new(Some(r#"{"credsStore":"test","auths":{"localhost:5000":{}}}"#));
    let out = c.run(&d, &["pull", "-q", "localhost:5000/x"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = c.run(&d, &["pull", "-q", "other.io/x"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let reqs = d.requests();
    assert_eq!(
        auth_header(&reqs[0]),
        // {"username":"hu","password":"hs","serveraddress":"localhost:5000"}
        "eyJ1c2VybmFtZSI6Imh1IiwicGFzc3dvcmQiOiJocyIsInNlcnZlcmFkZHJlc3MiOiJsb2NhbGhvc3Q6NTAwMCJ9"
    );
    assert_eq!(auth_header(&reqs[1]), "e30=");
    assert_eq!(c.helper_calls(), "get localhost:5000\nget other.io\n");
}

#[test]
fn push_like_docker() {
    let d = Daemon::start(|req| {
        if !req.target.contains("/y/push") {
            (
                200,
                format!(
                    "{}\r\n{}\r\n",
                    r#"{"status":"The push refers to repository [localhost:5000/x]"}"#,
                    r#"{"status":"v1: digest: sha256:ab size: 527"}"#
                ),
            )
        } else {
            (
                200,
                format!(
                    "{}\r\n{}\r\n",
                    r#"{"status":"The push refers to repository [localhost:5000/y]"}"#,
                    r#"{"errorDetail":{"message":"unauthorized: authentication required"},"error":"unauthorized: authentication required"}"#
                ),
            )
        }
    });
    let c = Client::new(Some(CONFIG_WITH_AUTHS));
    let out = c.run(&d, &["push", "localhost:5000/x"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "Using default tag: latest\nThe push refers to repository [localhost:5000/x]\nv1: digest: sha256:ab size: 527\n"
    );
    let out = c.run(&d, &["image", "push", "-q", "localhost:5000/x:v1"], "");
    assert_eq!(text(&out.stdout), "localhost:5000/x:v1\n");
    let out = c.run(&d, &["push", "-a", "busybox"], "");
    assert!(out.status.success());
    // An error in the stream, as docker prints it.
    let out = c.run(&d, &["push", "localhost:5000/y"], "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "Using default tag: latest\nThe push refers to repository [localhost:5000/y]\n");
    assert_eq!(text(&out.stderr), "unauthorized: authentication required\n");
    let out = c.run(&d, &["push", &format!("busybox@sha256:{}", "a".repeat(64))], "");
    assert_eq!(text(&out.stderr), "cannot push a digest reference\n");
    let out = c.run(&d, &["push", "-a", "busybox:1"], "");
    assert_eq!(text(&out.stderr), "tag can't be used with --all-tags/-a\n");
    let out = c.run(&d, &["push", "--platform", "linux/arm64", "busybox"], "");
    assert_eq!(
        text(&out.stderr),
        "\"--platform\" requires API version 1.46, but the wharf daemon API version is 1.45\n"
    );

    let reqs = d.requests();
    let got: Vec<(String, &str)> = reqs.iter().map(|r| (r.target.clone(), auth_header(r))).collect();
    let a_b = "eyJ1c2VybmFtZSI6ImEiLCJwYXNzd29yZCI6ImIiLCJzZXJ2ZXJhZGRyZXNzIjoibG9jYWxob3N0OjUwMDAifQ==";
    let hub = "eyJ1c2VybmFtZSI6InVzZXIiLCJwYXNzd29yZCI6InBhc3MiLCJzZXJ2ZXJhZGRyZXNzIjoiaHR0cHM6Ly9pbmRleC5kb2NrZXIuaW8vdjEvIn0=";
    assert_eq!(
        got,
        [
            ("/v1.45/images/localhost:5000/x/push?tag=latest".to_string(), a_b),
            ("/v1.45/images/localhost:5000/x/push?tag=v1".into(), a_b),
            ("/v1.45/images/busybox/push".into(), hub),
            ("/v1.45/images/localhost:5000/y/push?tag=latest".into(), a_b),
        ]
    );
}

fn warning(path: &Path) -> String {
    format!(
        "\nWARNING! Your credentials are stored unencrypted in '{}'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n\n",
        path.display()
    )
}

#[test]
fn login_and_logout_like_docker() {
    let d = ok_daemon();
    let c = Client::new(None);
    let out = c.run(&d, &["login", "-u", "bob", "--password-stdin", "localhost:5000"], "pw1\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Login Succeeded\n");
    assert_eq!(text(&out.stderr), warning(&c.config_path()));
    let out = c.run(&d, &["login", "-u", "bob", "-p", "pw2", "https://r.example.com/v2/"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        format!(
            "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n{}",
            warning(&c.config_path())
        )
    );
    let out = c.run(&d, &["login", "-u", "bob", "-p", "pw3"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    // No Docker Hub hints when nothing is prompted for.
    assert_eq!(text(&out.stdout), "Login Succeeded\n");

    // As docker 28.2 stored the same three logins; a new file is 0600 in a 0700 directory.
    let text_cfg = fs::read_to_string(c.config_path()).expect("config");
    assert_eq!(
        text_cfg,
        "{\n\t\"auths\": {\n\t\t\"https://index.docker.io/v1/\": {\n\t\t\t\"auth\": \"Ym9iOnB3Mw==\"\n\t\t},\n\t\t\"localhost:5000\": {\n\t\t\t\"auth\": \"Ym9iOnB3MQ==\"\n\t\t},\n\t\t\"r.example.com\": {\n\t\t\t\"auth\": \"Ym9iOnB3Mg==\"\n\t\t}\n\t}\n}"
    );
    assert_eq!(fs::metadata(c.config_path()).expect("stat").permissions().mode() & 0o777, 0o600);

    // The stored credentials are tried first.
    let out = c.run(&d, &["login", "localhost:5000"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Login Succeeded\n");
    assert_eq!(
        text(&out.stderr),
        "Authenticating with existing credentials... [Username: bob]\n\n Info -> To login with a different account, run 'wharf logout' followed by 'wharf login'\n\n\n"
    );

    let bodies: Vec<String> = d
        .requests()
        .iter()
        .map(|r| {
            assert_eq!((r.method.as_str(), r.target.as_str()), ("POST", "/v1.45/auth"));
            assert_eq!(r.headers.get("content-type").map(String::as_str), Some("application/json"));
            text(&r.body)
        })
        .collect();
    assert_eq!(
        bodies,
        [
            "{\"username\":\"bob\",\"password\":\"pw1\",\"serveraddress\":\"localhost:5000\"}\n",
            "{\"username\":\"bob\",\"password\":\"pw2\",\"serveraddress\":\"r.example.com\"}\n",
            "{\"username\":\"bob\",\"password\":\"pw3\",\"serveraddress\":\"https://index.docker.io/v1/\"}\n",
            "{\"username\":\"bob\",\"password\":\"pw1\",\"serveraddress\":\"localhost:5000\"}\n",
        ]
    );

    let out = c.run(&d, &["logout", "https://r.example.com/"], "");
    assert_eq!(text(&out.stdout), "Removing login credentials for r.example.com\n");
    let out = c.run(&d, &["logout"], "");
    assert_eq!(text(&out.stdout), "Removing login credentials for https://index.docker.io/v1/\n");
    let out = c.run(&d, &["logout", "nothere.io"], "");
    assert_eq!(
        (out.status.code(), text(&out.stdout).as_str()),
        (Some(0), "Removing login credentials for nothere.io\n")
    );
    let auths = c.config()["auths"].clone();
    assert_eq!(auths, serde_json::json!({"localhost:5000": {"auth": "Ym9iOnB3MQ=="}}));
}

#[test]
fn login_errors_like_docker() {
    let d = Daemon::start(|_| {
        (
            401,
            r#"{"message":"Get \"https://registry-1.docker.io/v2/\": unauthorized: incorrect username or password"}"#
                .into(),
        )
    });
    let c = Client::new(Some(r#"{"auths":{"localhost:5000":{"auth":"Ym9iOnB3MQ=="}}}"#));
    let cases: &[(&[&str], &str, &str)] = &[
        (&["login", "other.io"], "", "Error: Cannot perform an interactive login from a non TTY device\n"),
        (&["login", "-u", "x", "other.io"], "", "Error: Cannot perform an interactive login from a non TTY device\n"),
        (&["login", "-u", "x", "-p", "y", "--password-stdin", "other.io"], "pw\n", "conflicting options: cannot specify both --password and --password-stdin\n"),
        (&["login", "--password-stdin", "other.io"], "pw\n", "the --password-stdin option requires --username to be set\n"),
        (
            &["login", "-u", "x", "-p", "y", "other.io"],
            "",
            "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\nError response from daemon: Get \"https://registry-1.docker.io/v2/\": unauthorized: incorrect username or password\n",
        ),
        (
            &["login", "localhost:5000"],
            "",
            "Authenticating with existing credentials... [Username: bob]\n\n Info -> To login with a different account, run 'wharf logout' followed by 'wharf login'\n\n\nStored credentials invalid or expired\nError: Cannot perform an interactive login from a non TTY device\n",
        ),
    ];
    for (args, stdin, err) in cases {
        let out = c.run(&d, args, stdin);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(text(&out.stdout), "", "{args:?}");
        assert_eq!(text(&out.stderr), *err, "{args:?}");
    }
}

#[test]
fn login_with_identity_token_and_helper() {
    let d = Daemon::start(|_| (200, r#"{"Status":"Login Succeeded","IdentityToken":"tok123"}"#.into()));
    let c = Client::new(None);
    let out = c.run(&d, &["login", "-u", "tk", "--password-stdin", "tok.io"], "pw");
    assert!(out.status.success(), "{}", text(&out.stderr));
    // No password stored: no warning.
    assert_eq!((text(&out.stdout).as_str(), text(&out.stderr).as_str()), ("Login Succeeded\n", ""));
    assert_eq!(c.config()["auths"]["tok.io"], serde_json::json!({"auth": "dGs6", "identitytoken": "tok123"}));

    let d = ok_daemon();
    let c = Client::new(Some(r#"{"credsStore":"test","auths":{"keep.io":{"auth":"YTpi"}},"unknownKey":[1]}"#));
    let out = c.run(&d, &["login", "-u", "bob", "--password-stdin", "localhost:5000"], "pw\r\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!((text(&out.stdout).as_str(), text(&out.stderr).as_str()), ("Login Succeeded\n", ""));
    let cfg = c.config();
    assert_eq!(cfg["auths"], serde_json::json!({"keep.io": {"auth": "YTpi"}, "localhost:5000": {}}));
    assert_eq!(cfg["unknownKey"], serde_json::json!([1]));
    let out = c.run(&d, &["logout", "localhost:5000"], "");
    assert!(out.status.success());
    assert_eq!(c.config()["auths"], serde_json::json!({"keep.io": {"auth": "YTpi"}}));
    assert_eq!(
        c.helper_calls(),
        concat!(
            "store {\"ServerURL\":\"localhost:5000\",\"Username\":\"bob\",\"Secret\":\"pw\"}\n",
            "erase localhost:5000\n",
            "erase localhost:5000\n",
            "erase http://localhost:5000\n",
            "erase https://localhost:5000\n",
        )
    );

    let c = Client::new(Some(r#"{"credsStore":"nonexist"}"#));
    let out = c.run(&d, &["login", "-u", "bob", "--password-stdin", "localhost:5000"], "pw");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "Error saving credentials: error storing credentials - err: exec: \"docker-credential-nonexist\": executable file not found in $PATH, out: ``\n"
    );
}

#[test]
fn usage_errors() {
    let d = ok_daemon();
    let c = Client::new(None);
    for args in [&["login", "a", "b"][..], &["logout", "a", "b"], &["pull"], &["push"], &["pull", "a", "b"]] {
        let out = c.run(&d, args, "");
        assert_ne!(out.status.code(), Some(0), "{args:?}");
    }
    assert!(d.requests().is_empty());
}
