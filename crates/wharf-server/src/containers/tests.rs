//! The container routes end to end through the router and the version layer, over a fake
//! backend that records each call.

use std::sync::Mutex;

use http::{Method, Request};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tower::ServiceExt;
use wharf_container::{Config, HostConfig, State as CState, Status};
use wharf_types::ErrorKind;

use super::*;

const ID: &str = "4a7f2c9e1b3d5f60718293a4b5c6d7e8f9011223344556677889900aabbccddee";
const S: i64 = 1_000_000_000;
/// 2024-05-20T10:00:00Z.
const CREATED: i64 = 1_716_199_200 * S;

/// What a wait resolves to.
type WaitResult = (i64, Option<String>);

/// Answers from canned data; `missing` is unknown everywhere; `running` runs, anything else is
/// stopped; records calls as text.
#[derive(Default)]
pub(crate) struct Fake {
    calls: Mutex<Vec<String>>,
    pub(crate) listed: Vec<Inspected>,
    warnings: Vec<String>,
    /// The result `wait` resolves to, when the test sends it.
    wait_result: Mutex<Option<oneshot::Receiver<WaitResult>>>,
    /// The container of `logs` has a TTY.
    tty: bool,
    lines: Vec<LogLine>,
    /// When set, `logs` streams what this channel delivers, as it arrives.
    live: Mutex<Option<mpsc::UnboundedReceiver<LogLine>>>,
}

impl Fake {
    /// A fake that lists `listed`.
    pub(crate) fn listing(listed: Vec<Inspected>) -> Fake {
        Fake { listed, ..Default::default() }
    }

    fn record(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn check(name: &str) -> Result<(), ApiError> {
        if name == "missing" {
            return Err(ApiError::new(ErrorKind::NotFound, format!("No such container: {name}")));
        }
        Ok(())
    }
}

pub(crate) fn container() -> Container {
    Container {
        id: ID.into(),
        name: "web".into(),
        created: CREATED + 123_456_789,
        image_id: "sha256:aaaa".into(),
        config: Config {
            hostname: ID[..12].into(),
            image: "busybox".into(),
            cmd: Some(vec!["sh".into(), "-c".into(), "echo hi".into()]),
            env: Some(vec!["PATH=/bin".into()]),
            labels: Some([("tier".to_string(), "web".to_string())].into()),
            ..Default::default()
        },
        host_config: HostConfig { network_mode: "bridge".into(), ..Default::default() },
        state: CState::default(),
        path: "sh".into(),
        args: vec!["-c".into(), "echo hi".into()],
        driver: "overlay2".into(),
        log_path: format!("/var/lib/wharf/containers/{ID}/{ID}-json.log"),
        networking: Default::default(),
        mounts: Vec::new(),
    }
}

pub(crate) fn inspected(container: Container) -> Inspected {
    Inspected {
        container,
        graph_driver: GraphDriver {
            name: "overlay2".into(),
            data: [("UpperDir".to_string(), "/u".to_string())].into(),
        },
        sizes: None,
        networks: None,
    }
}

#[async_trait]
impl ContainerBackend for Fake {
    async fn create(&self, req: CreateRequest) -> Result<(String, Vec<String>), ApiError> {
        self.record(format!(
            "create name={} config={} host={}",
            req.name,
            serde_json::to_string(&req.config).unwrap(),
            serde_json::to_string(&req.host_config).unwrap()
        ));
        if req.config.image == "nosuch" {
            return Err(ApiError::new(ErrorKind::NotFound, "No such image: nosuch:latest"));
        }
        Ok((ID.into(), self.warnings.clone()))
    }
    async fn list(&self, opts: ListOptions) -> Result<Vec<Inspected>, ApiError> {
        self.record(format!(
            "list all={} limit={} size={} filters={}",
            opts.all,
            opts.limit,
            opts.size,
            opts.filters.to_json()
        ));
        Ok(self.listed.clone())
    }
    async fn inspect(&self, name: &str, size: bool) -> Result<Inspected, ApiError> {
        self.record(format!("inspect {name} size={size}"));
        Self::check(name)?;
        let mut i = inspected(container());
        if size {
            i.sizes = Some((12, 4_261_550));
        }
        Ok(i)
    }
    async fn start(&self, name: &str) -> Result<(), ApiError> {
        self.record(format!("start {name}"));
        Self::check(name)?;
        if name == "running" {
            return Err(ApiError::new(ErrorKind::NotModified, "container already started"));
        }
        Ok(())
    }
    async fn stop(&self, name: &str, signal: Option<String>, timeout: Option<i64>) -> Result<(), ApiError> {
        self.record(format!("stop {name} signal={signal:?} t={timeout:?}"));
        Self::check(name)?;
        if name != "running" {
            return Err(ApiError::new(ErrorKind::NotModified, "container is not running"));
        }
        Ok(())
    }
    async fn restart(&self, name: &str, signal: Option<String>, timeout: Option<i64>) -> Result<(), ApiError> {
        self.record(format!("restart {name} signal={signal:?} t={timeout:?}"));
        Self::check(name)
    }
    async fn kill(&self, name: &str, signal: &str) -> Result<(), ApiError> {
        self.record(format!("kill {name} {signal}"));
        Self::check(name)?;
        if name != "running" {
            return Err(ApiError::new(ErrorKind::Conflict, format!("Container {ID} is not running")));
        }
        Ok(())
    }
    async fn wait(&self, name: &str, condition: WaitCondition) -> Result<WaitFuture, ApiError> {
        self.record(format!("wait {name} {condition:?}"));
        Self::check(name)?;
        let rx = self.wait_result.lock().unwrap().take();
        Ok(Box::pin(async move {
            match rx {
                Some(rx) => rx.await.unwrap_or((-1, Some("gone".into()))),
                None => (0, None),
            }
        }))
    }
    async fn remove(&self, name: &str, force: bool, volumes: bool) -> Result<(), ApiError> {
        self.record(format!("remove {name} force={force} v={volumes}"));
        Self::check(name)
    }
    async fn rename(&self, name: &str, new_name: &str) -> Result<(), ApiError> {
        self.record(format!("rename {name} {new_name}"));
        Self::check(name)?;
        if new_name.is_empty() {
            return Err(ApiError::invalid("Neither old nor new names may be empty"));
        }
        Ok(())
    }
    async fn logs(&self, name: &str, o: LogsOptions) -> Result<(bool, LogStream), ApiError> {
        self.record(format!(
            "logs {name} follow={} out={} err={} since={} until={} ts={} tail={:?}",
            o.follow, o.stdout, o.stderr, o.since, o.until, o.timestamps, o.tail
        ));
        Self::check(name)?;
        if let Some(mut rx) = self.live.lock().unwrap().take() {
            return Ok((self.tty, Box::pin(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))));
        }
        Ok((self.tty, Box::pin(futures_util::stream::iter(self.lines.clone()))))
    }
    async fn prune(&self, filters: Filters) -> Result<(Vec<String>, u64), ApiError> {
        self.record(format!("prune {}", filters.to_json()));
        if filters.contains("label") {
            return Ok((vec![ID.into(), "b".repeat(64)], 4096));
        }
        Ok((vec![], 0))
    }
    async fn pause(&self, name: &str) -> Result<(), ApiError> {
        self.record(format!("pause {name}"));
        Self::check(name)
    }
    async fn unpause(&self, name: &str) -> Result<(), ApiError> {
        self.record(format!("unpause {name}"));
        Self::check(name)
    }
    async fn update(&self, name: &str, u: wharf_container::UpdateConfig) -> Result<Vec<String>, ApiError> {
        self.record(format!("update {name} {} {:?}", u.memory, u.pids_limit));
        Self::check(name).map(|()| Vec::new())
    }
    async fn resize(&self, name: &str, h: u16, w: u16) -> Result<(), ApiError> {
        self.record(format!("resize {name} {h} {w}"));
        Self::check(name)
    }
    async fn exec_create(&self, name: &str, config: wharf_container::ExecConfig) -> Result<String, ApiError> {
        self.record(format!("exec_create {name} {:?}", config.cmd));
        Self::check(name)?;
        Ok("e1".into())
    }
    async fn exec_start(&self, id: &str, detach: bool) -> Result<Option<(bool, crate::AttachFuture)>, ApiError> {
        self.record(format!("exec_start {id} {detach}"));
        Ok(None)
    }
    async fn exec_inspect(&self, id: &str) -> Result<wharf_container::ExecInfo, ApiError> {
        Err(ApiError::new(ErrorKind::NotFound, format!("No such exec instance: {id}")))
    }
    async fn exec_resize(&self, id: &str, _h: u16, _w: u16) -> Result<(), ApiError> {
        Err(ApiError::new(ErrorKind::NotFound, format!("No such exec instance: {id}")))
    }
    async fn stats(&self, name: &str) -> Result<(Container, wharf_container::StatsSample), ApiError> {
        Self::check(name)?;
        Err(ApiError::new(ErrorKind::Internal, "no stats in the fake"))
    }
    async fn top(&self, name: &str, _ps_args: &str) -> Result<(Vec<String>, Vec<Vec<String>>), ApiError> {
        Self::check(name)?;
        Ok((vec!["PID".into(), "CMD".into()], vec![vec!["1".into(), "sleep 1".into()]]))
    }
    async fn attach(
        &self,
        name: &str,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<(bool, crate::AttachFuture), ApiError> {
        self.record(format!("attach {name} {stdin} {stdout} {stderr}"));
        Self::check(name)?;
        let (mine, _theirs) = tokio::io::duplex(64);
        Ok((false, Box::pin(async move { Ok((b"early".to_vec(), Box::new(mine) as Box<dyn crate::AttachIo>)) })))
    }
}

/// The routes as `crate::service` serves them: version layer, 404 fallbacks.
fn app(fake: Arc<Fake>) -> Router {
    let api = routes(fake).fallback(crate::error::not_found).method_not_allowed_fallback(crate::error::not_found);
    Router::new().fallback_service(api).layer(axum::middleware::from_fn(crate::version::negotiate))
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }

    fn content_type(&self) -> &str {
        self.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    fn message(&self) -> String {
        self.json()["message"].as_str().unwrap_or_default().to_string()
    }
}

async fn send(fake: &Arc<Fake>, req: Request<Body>) -> Answer {
    let resp = app(fake.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Answer { status, headers, body }
}

async fn call(fake: &Arc<Fake>, method: Method, uri: &str, body: &'static [u8]) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    if !body.is_empty() {
        req = req.header(CONTENT_TYPE, "application/json").header(CONTENT_LENGTH, body.len());
    }
    send(fake, req.body(Body::from(body)).unwrap()).await
}

async fn get(fake: &Arc<Fake>, uri: &str) -> Answer {
    call(fake, Method::GET, uri, b"").await
}

async fn post(fake: &Arc<Fake>, uri: &str) -> Answer {
    call(fake, Method::POST, uri, b"").await
}

fn encode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[tokio::test]
async fn create_splits_the_body() {
    let fake = Arc::new(Fake { warnings: vec!["from the daemon".into()], ..Default::default() });
    let body = br#"{"Image":"busybox","Cmd":["echo","hi"],"Env":["A=b"],"Labels":{"tier":"web"},
        "HostConfig":{"Binds":["/a:/b"],"NetworkMode":"default","RestartPolicy":{"Name":"no"}},
        "NetworkingConfig":{"EndpointsConfig":{}}}"#;
    let a = call(&fake, Method::POST, "/v1.45/containers/create?name=first", body).await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert!(a.content_type().starts_with("application/json"));
    assert_eq!(a.json(), json!({"Id": ID, "Warnings": ["from the daemon"]}));
    let calls = fake.calls();
    assert_eq!(calls.len(), 1);
    let recorded = &calls[0];
    assert!(recorded.starts_with("create name=first config={"), "{recorded}");
    let (config, host) = recorded["create name=first config=".len()..].split_once(" host=").unwrap();
    let (config, host): (Value, Value) = (serde_json::from_str(config).unwrap(), serde_json::from_str(host).unwrap());
    assert_eq!(config["Image"], "busybox");
    assert_eq!(config["Cmd"], json!(["echo", "hi"]));
    assert!(config.get("HostConfig").is_none() && config.get("NetworkingConfig").is_none());
    assert_eq!(host["Binds"], json!(["/a:/b"]));
    assert_eq!(host["NetworkMode"], "bridge");
    assert_eq!(host["RestartPolicy"]["Name"], "no");

    // No warnings is `[]`, not null; no name is an empty one.
    let fake = Arc::new(Fake::default());
    let a = call(&fake, Method::POST, "/containers/create", br#"{"Image":"busybox"}"#).await;
    assert_eq!((a.status, a.json()), (StatusCode::CREATED, json!({"Id": ID, "Warnings": []})));
    assert!(fake.calls()[0].starts_with("create name= config="));
    let a = call(&fake, Method::POST, "/containers/create", br#"{"Image":"busybox","MacAddress":"02:42:ac:11:00:02"}"#)
        .await;
    assert_eq!(a.json()["Warnings"], json!([create::MAC_ADDRESS_WARNING]));
}

#[tokio::test]
async fn create_refusals() {
    let fake = Arc::new(Fake::default());
    let a = call(&fake, Method::POST, "/containers/create", br#"{"Image":"nosuch"}"#).await;
    assert_eq!((a.status, a.message()), (StatusCode::NOT_FOUND, "No such image: nosuch:latest".to_string()));
    let a = call(&fake, Method::POST, "/containers/create", b"{not json").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.message().starts_with("invalid JSON: "), "{}", a.message());
    let a = post(&fake, "/containers/create").await;
    assert_eq!(
        (a.status, a.message()),
        (StatusCode::BAD_REQUEST, "invalid JSON: got EOF while reading request body".to_string())
    );
    let a = call(&fake, Method::POST, "/containers/create", b"{}").await;
    assert_eq!(a.message(), "config cannot be empty in order to create a container");
    let req = Request::post("/containers/create")
        .header(CONTENT_TYPE, "text/plain")
        .body(Body::from(r#"{"Image":"busybox"}"#))
        .unwrap();
    let a = send(&fake, req).await;
    assert_eq!(
        (a.status, a.message()),
        (StatusCode::BAD_REQUEST, "unsupported Content-Type header (text/plain): must be 'application/json'".into())
    );
    let req = Request::post("/containers/create").body(Body::from(r#"{"Image":"busybox"}"#)).unwrap();
    assert_eq!(send(&fake, req).await.status, StatusCode::BAD_REQUEST);
    let req = Request::post("/containers/create?name=x")
        .header(CONTENT_TYPE, "application/json; charset=utf-8")
        .body(Body::from(r#"{"Image":"busybox"}"#))
        .unwrap();
    assert_eq!(send(&fake, req).await.status, StatusCode::CREATED);
    assert_eq!(fake.calls().len(), 2, "only valid bodies reach the backend");
}

fn listed() -> Vec<Inspected> {
    let now = crate::now_nanos();
    let running = Container {
        state: CState { status: Status::Running, started_at: now - 5 * S - S / 2, pid: 42, ..Default::default() },
        ..container()
    };
    let exited = Container {
        id: "b".repeat(64),
        name: "old".into(),
        path: "true".into(),
        args: vec![],
        config: Config { image: "sha256:aaaa".into(), labels: None, ..Default::default() },
        host_config: HostConfig::default(),
        state: CState {
            status: Status::Exited,
            started_at: now - 3 * 3600 * S,
            finished_at: now - 2 * 3600 * S - 60 * S,
            exit_code: 137,
            ..Default::default()
        },
        ..container()
    };
    let created = Container { id: "c".repeat(64), name: "new".into(), ..container() };
    let mut sized = inspected(created);
    sized.sizes = Some((0, 4_261_550));
    vec![inspected(running), inspected(exited), sized]
}

#[tokio::test]
async fn list_shape_and_status() {
    let fake = Arc::new(Fake { listed: listed(), ..Default::default() });
    let a = get(&fake, "/v1.45/containers/json?all=1&size=1").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.content_type().starts_with("application/json"));
    let v = a.json();
    assert_eq!(
        v[0],
        json!({
            "Id": ID, "Names": ["/web"], "Image": "busybox", "ImageID": "sha256:aaaa",
            "Command": "sh -c 'echo hi'", "Created": 1_716_199_200, "Ports": [], "Labels": {"tier": "web"},
            "State": "running", "Status": "Up 5 seconds", "HostConfig": {"NetworkMode": "bridge"},
            "NetworkSettings": {"Networks": {}}, "Mounts": []
        })
    );
    assert_eq!((&v[1]["Status"], &v[1]["State"]), (&json!("Exited (137) 2 hours ago"), &json!("exited")));
    assert_eq!((&v[1]["Labels"], &v[1]["HostConfig"], &v[1]["Command"]), (&json!({}), &json!({}), &json!("true")));
    assert_eq!((&v[2]["Status"], &v[2]["State"]), (&json!("Created"), &json!("created")));
    // Go's omitempty: a zero SizeRw is left out.
    assert!(v[2].get("SizeRw").is_none());
    assert_eq!(v[2]["SizeRootFs"], 4_261_550);
    assert_eq!(fake.calls(), ["list all=true limit=0 size=true filters={}"]);
}

#[tokio::test]
async fn list_options_and_filters() {
    let fake = Arc::new(Fake::default());
    let a = get(&fake, "/containers/json").await;
    assert_eq!((a.status, a.json()), (StatusCode::OK, json!([])));
    get(&fake, "/containers/json?limit=2&all=0").await;
    get(&fake, "/containers/json?limit=-1").await;
    let f = encode(r#"{"status":["created"],"label":["tier=web"]}"#);
    get(&fake, &format!("/containers/json?filters={f}")).await;
    let f = encode(r#"{"name":["web"]}"#);
    get(&fake, &format!("/containers/json?filters={f}")).await;
    assert_eq!(
        fake.calls(),
        [
            "list all=false limit=0 size=false filters={}",
            "list all=false limit=2 size=false filters={}",
            "list all=false limit=0 size=false filters={}",
            r#"list all=true limit=0 size=false filters={"label":["tier=web"],"status":["created"]}"#,
            r#"list all=false limit=0 size=false filters={"name":["web"]}"#,
        ]
    );
    let a = get(&fake, &format!("/containers/json?filters={}", encode(r#"{"bogus":["x"]}"#))).await;
    assert_eq!((a.status, a.message()), (StatusCode::BAD_REQUEST, "invalid filter 'bogus'".to_string()));
    let a = get(&fake, "/containers/json?filters=%7Bnope").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = get(&fake, "/containers/json?limit=x").await;
    assert_eq!(
        (a.status, a.message()),
        (StatusCode::BAD_REQUEST, "strconv.Atoi: parsing \"x\": invalid syntax".to_string())
    );
    assert_eq!(fake.calls().len(), 5, "bad arguments do not reach the backend");
}

#[tokio::test]
async fn inspect_has_what_the_docker_cli_reads() {
    let fake = Arc::new(Fake::default());
    let a = get(&fake, "/v1.45/containers/web/json").await;
    assert_eq!(a.status, StatusCode::OK);
    let v = a.json();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for key in [
        "Id",
        "Created",
        "Path",
        "Args",
        "State",
        "Image",
        "ResolvConfPath",
        "HostnamePath",
        "HostsPath",
        "LogPath",
        "Name",
        "RestartCount",
        "Driver",
        "Platform",
        "MountLabel",
        "ProcessLabel",
        "AppArmorProfile",
        "ExecIDs",
        "HostConfig",
        "GraphDriver",
        "Mounts",
        "Config",
        "NetworkSettings",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    assert!(v.get("SizeRw").is_none() && v.get("SizeRootFs").is_none());
    assert_eq!(v["Id"], ID);
    assert_eq!(v["Created"], "2024-05-20T10:00:00.123456789Z");
    assert_eq!((&v["Path"], &v["Args"]), (&json!("sh"), &json!(["-c", "echo hi"])));
    assert_eq!((&v["Name"], &v["Image"], &v["Platform"]), (&json!("/web"), &json!("sha256:aaaa"), &json!("linux")));
    assert_eq!(v["ExecIDs"], Value::Null);
    assert_eq!(
        v["State"],
        json!({
            "Status": "created", "Running": false, "Paused": false, "Restarting": false, "OOMKilled": false,
            "Dead": false, "Pid": 0, "ExitCode": 0, "Error": "", "StartedAt": "0001-01-01T00:00:00Z",
            "FinishedAt": "0001-01-01T00:00:00Z"
        })
    );
    assert_eq!(v["GraphDriver"], json!({"Name": "overlay2", "Data": {"UpperDir": "/u"}}));
    assert_eq!(v["Mounts"], json!([]));
    let config = &v["Config"];
    for key in ["Hostname", "Domainname", "User", "Tty", "OpenStdin", "Env", "Cmd", "Image", "Volumes", "WorkingDir"] {
        assert!(config.get(key).is_some(), "Config.{key}");
    }
    assert_eq!((&config["Image"], &config["Labels"]["tier"]), (&json!("busybox"), &json!("web")));
    let host = &v["HostConfig"];
    for key in ["Binds", "LogConfig", "NetworkMode", "PortBindings", "RestartPolicy", "AutoRemove", "ConsoleSize"] {
        assert!(host.get(key).is_some(), "HostConfig.{key}");
    }
    assert_eq!(host["NetworkMode"], "bridge");
    let net = &v["NetworkSettings"];
    assert_eq!((&net["Ports"], &net["Networks"], &net["IPAddress"]), (&json!({}), &json!({}), &json!("")));
    assert_eq!(fake.calls(), ["inspect web size=false"]);

    let v = get(&fake, "/containers/web/json?size=1").await.json();
    assert_eq!((&v["SizeRw"], &v["SizeRootFs"]), (&json!(12), &json!(4_261_550)));
    let a = get(&fake, "/containers/missing/json").await;
    assert_eq!((a.status, a.message()), (StatusCode::NOT_FOUND, "No such container: missing".to_string()));
}

#[test]
fn inspect_state_of_a_paused_container() {
    let c = Container {
        state: CState {
            status: Status::Paused,
            pid: 7,
            started_at: CREATED + S,
            finished_at: 0,
            exit_code: 0,
            ..Default::default()
        },
        ..container()
    };
    let v = serde_json::to_value(wire::inspect(inspected(c))).unwrap();
    assert_eq!((&v["State"]["Running"], &v["State"]["Paused"]), (&json!(true), &json!(true)));
    assert_eq!((&v["State"]["Pid"], &v["State"]["StartedAt"]), (&json!(7), &json!("2024-05-20T10:00:01Z")));
    assert_eq!(v["State"]["FinishedAt"], "0001-01-01T00:00:00Z");
}

#[tokio::test]
async fn lifecycle_codes() {
    let fake = Arc::new(Fake::default());
    for uri in [
        "/containers/web/start",
        "/containers/web/restart",
        "/containers/running/stop",
        "/containers/running/kill",
        "/containers/web/pause",
        "/containers/web/unpause",
        "/containers/web/rename?name=other",
    ] {
        let a = post(&fake, uri).await;
        assert_eq!(a.status, StatusCode::NO_CONTENT, "{uri}");
        assert!(a.body.is_empty(), "{uri}");
    }
    let a = call(&fake, Method::DELETE, "/containers/web?force=1&v=true", b"").await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    // 304s have no body.
    for uri in ["/containers/running/start", "/containers/web/stop"] {
        let a = post(&fake, uri).await;
        assert_eq!(a.status, StatusCode::NOT_MODIFIED, "{uri}");
        assert!(a.body.is_empty(), "{uri}");
    }
    for uri in ["/containers/missing/start", "/containers/missing/pause", "/containers/missing/rename?name=x"] {
        let a = post(&fake, uri).await;
        assert_eq!((a.status, a.message()), (StatusCode::NOT_FOUND, "No such container: missing".into()), "{uri}");
    }
    assert_eq!(
        fake.calls(),
        [
            "start web",
            "restart web signal=None t=None",
            "stop running signal=None t=None",
            "kill running SIGKILL",
            "pause web",
            "unpause web",
            "rename web other",
            "remove web force=true v=true",
            "start running",
            "stop web signal=None t=None",
            "start missing",
            "pause missing",
            "rename missing x",
        ]
    );
}

#[tokio::test]
async fn lifecycle_arguments_and_messages() {
    let fake = Arc::new(Fake::default());
    post(&fake, "/v1.45/containers/running/stop?signal=SIGINT&t=30").await;
    post(&fake, "/v1.41/containers/running/stop?signal=SIGINT&t=-1").await;
    post(&fake, "/containers/web/restart?t=0&signal=").await;
    post(&fake, "/containers/running/kill?signal=HUP").await;
    assert_eq!(
        fake.calls(),
        [
            r#"stop running signal=Some("SIGINT") t=Some(30)"#,
            "stop running signal=None t=Some(-1)",
            "restart web signal=None t=Some(0)",
            "kill running HUP",
        ]
    );
    let a = post(&fake, "/containers/running/stop?t=soon").await;
    assert_eq!(
        (a.status, a.message()),
        (StatusCode::BAD_REQUEST, "strconv.Atoi: parsing \"soon\": invalid syntax".to_string())
    );
    let a = post(&fake, "/containers/web/kill").await;
    assert_eq!(
        (a.status, a.message()),
        (StatusCode::CONFLICT, format!("cannot kill container: web: Container {ID} is not running"))
    );
    let a = post(&fake, "/containers/missing/kill").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.message(), "cannot kill container: missing: No such container: missing");
    let a = post(&fake, "/containers/web/rename").await;
    assert_eq!(a.message(), "Neither old nor new names may be empty");

    // A start with a body (a pre-1.24 host config) is refused before the backend is asked.
    let calls = fake.calls().len();
    let a = call(&fake, Method::POST, "/containers/web/start", br#"{"Binds":["/a:/b"]}"#).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.message().starts_with("starting container with non-empty request body"));
    let a = call(&fake, Method::POST, "/containers/web/start", b"{}").await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "an empty object is accepted");
    let a = post(&fake, "/containers/web/start?checkpoint=c1").await;
    assert_eq!(a.message(), "checkpoint is only supported in experimental mode");
    assert_eq!(fake.calls().len(), calls + 1);
}

#[tokio::test]
async fn remove_names_that_are_also_routes() {
    let fake = Arc::new(Fake::default());
    for name in ["json", "create", "prune"] {
        let a = call(&fake, Method::DELETE, &format!("/containers/{name}"), b"").await;
        assert_eq!(a.status, StatusCode::NO_CONTENT, "{name}");
    }
    let a = call(&fake, Method::DELETE, "/containers/web?link=1", b"").await;
    assert_eq!(
        (a.status, a.message()),
        (StatusCode::CONFLICT, "Conflict, cannot remove the default link name of the container".to_string())
    );
    assert_eq!(
        fake.calls(),
        ["remove json force=false v=false", "remove create force=false v=false", "remove prune force=false v=false"]
    );
    let a = call(&fake, Method::DELETE, "/containers/missing", b"").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_routes_are_page_not_found() {
    let fake = Arc::new(Fake::default());
    for (method, uri) in [
        (Method::GET, "/containers/create"),
        (Method::GET, "/containers/web"),
        (Method::POST, "/containers/web"),
        (Method::POST, "/containers/json"),
        (Method::GET, "/containers/web/start"),
        (Method::GET, "/containers/web/bogus"),
        (Method::PUT, "/containers/web/archive"),
        (Method::GET, "/containers"),
    ] {
        let a = call(&fake, method.clone(), uri, b"").await;
        assert_eq!(
            (a.status, a.json()),
            (StatusCode::NOT_FOUND, json!({"message": "page not found"})),
            "{method} {uri}"
        );
    }
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn wait_sends_headers_before_the_body() {
    let (tx, rx) = oneshot::channel();
    let fake = Arc::new(Fake { wait_result: Mutex::new(Some(rx)), ..Default::default() });
    let req = Request::post("/v1.45/containers/web/wait?condition=next-exit").body(Body::empty()).unwrap();
    let resp = app(fake.clone()).oneshot(req).await.unwrap();
    // The answer is here while the container still runs.
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(fake.calls(), ["wait web NextExit"]);
    let mut body = resp.into_body();
    let pending = tokio::time::timeout(std::time::Duration::from_millis(50), body.frame()).await;
    assert!(pending.is_err(), "no body before the wait ends");
    tx.send((137, None)).unwrap();
    let rest = body.collect().await.unwrap().to_bytes();
    assert_eq!(&rest[..], b"{\"StatusCode\":137}\n");
}

#[tokio::test]
async fn wait_results_and_conditions() {
    let (tx, rx) = oneshot::channel();
    let fake = Arc::new(Fake { wait_result: Mutex::new(Some(rx)), ..Default::default() });
    tx.send((1, Some("container failed".into()))).unwrap();
    let a = post(&fake, "/containers/web/wait?condition=removed").await;
    assert_eq!(
        (a.status, a.json()),
        (StatusCode::OK, json!({"Error": {"Message": "container failed"}, "StatusCode": 1}))
    );
    post(&fake, "/containers/web/wait").await;
    post(&fake, "/containers/web/wait?condition=not-running").await;
    // Before 1.30 the condition is not read.
    let a = post(&fake, "/v1.29/containers/web/wait?condition=bogus").await;
    assert_eq!((a.status, a.json()), (StatusCode::OK, json!({"StatusCode": 0})));
    assert_eq!(fake.calls(), ["wait web Removed", "wait web NotRunning", "wait web NotRunning", "wait web NotRunning"]);
    let a = post(&fake, "/containers/web/wait?condition=bogus").await;
    assert_eq!((a.status, a.message()), (StatusCode::BAD_REQUEST, "invalid condition: \"bogus\"".to_string()));
    let a = post(&fake, "/containers/missing/wait").await;
    assert_eq!((a.status, a.message()), (StatusCode::NOT_FOUND, "No such container: missing".to_string()));

    // Before 1.34 a failed removal wait answers an empty body.
    let (tx, rx) = oneshot::channel();
    let fake = Arc::new(Fake { wait_result: Mutex::new(Some(rx)), ..Default::default() });
    tx.send((0, Some("removal failed".into()))).unwrap();
    let a = post(&fake, "/v1.33/containers/web/wait?condition=removed").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.is_empty());
}

fn log_lines() -> Vec<LogLine> {
    vec![(1, CREATED, b"out\n".to_vec()), (2, CREATED + 1_500, b"err\n".to_vec())]
}

#[tokio::test]
async fn logs_are_multiplexed_without_a_tty() {
    let fake = Arc::new(Fake { lines: log_lines(), ..Default::default() });
    let a = get(&fake, "/v1.45/containers/web/logs?stdout=1&stderr=1").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.content_type(), "application/vnd.docker.multiplexed-stream");
    assert_eq!(&a.body[..], b"\x01\x00\x00\x00\x00\x00\x00\x04out\n\x02\x00\x00\x00\x00\x00\x00\x04err\n");
    // Before 1.42 the same frames are labelled a raw stream.
    let a = get(&fake, "/v1.41/containers/web/logs?stdout=1&stderr=1").await;
    assert_eq!(a.content_type(), "application/vnd.docker.raw-stream");
    assert_eq!(a.body.len(), 24);
    // Only the streams asked for.
    let a = get(&fake, "/containers/web/logs?stderr=1").await;
    assert_eq!(&a.body[..], b"\x02\x00\x00\x00\x00\x00\x00\x04err\n");

    let a = get(&fake, "/containers/web/logs?stdout=1&timestamps=1").await;
    let line = "2024-05-20T10:00:00.000000000Z out\n";
    assert_eq!(&a.body[..8], &[1, 0, 0, 0, 0, 0, 0, line.len() as u8]);
    assert_eq!(&a.body[8..], line.as_bytes());
}

#[tokio::test]
async fn logs_are_raw_with_a_tty() {
    let fake = Arc::new(Fake { tty: true, lines: log_lines(), ..Default::default() });
    let a = get(&fake, "/v1.45/containers/web/logs?stdout=1&stderr=1").await;
    assert_eq!(a.content_type(), "application/vnd.docker.raw-stream");
    assert_eq!(&a.body[..], b"out\nerr\n");
    let a = get(&fake, "/containers/web/logs?stdout=1&timestamps=true").await;
    assert_eq!(&a.body[..], b"2024-05-20T10:00:00.000000000Z out\n");
}

#[tokio::test]
async fn logs_arguments() {
    let fake = Arc::new(Fake::default());
    let a = get(&fake, "/containers/web/logs").await;
    assert_eq!(
        (a.status, a.message()),
        (StatusCode::BAD_REQUEST, "Bad parameters: you must choose at least one stream".to_string())
    );
    let a = get(&fake, "/containers/missing/logs?stdout=0&stderr=no").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "the stream choice is checked before the container");
    assert!(fake.calls().is_empty());

    get(&fake, "/containers/web/logs?stdout=1&follow=1&since=1716199200.5&until=2024-05-20T11:00:00Z&tail=10").await;
    get(&fake, "/containers/web/logs?stderr=1&tail=all").await;
    get(&fake, "/containers/web/logs?stderr=1&tail=-1&since=0").await;
    get(&fake, "/containers/web/logs?stderr=1&tail=0").await;
    assert_eq!(
        fake.calls(),
        [
            "logs web follow=true out=true err=false since=1716199200500000000 until=1716202800000000000 ts=false tail=Some(10)",
            "logs web follow=false out=false err=true since=0 until=0 ts=false tail=None",
            "logs web follow=false out=false err=true since=0 until=0 ts=false tail=None",
            "logs web follow=false out=false err=true since=0 until=0 ts=false tail=Some(0)",
        ]
    );
    let a = get(&fake, "/containers/web/logs?stdout=1&since=yesterday").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = get(&fake, "/containers/missing/logs?stdout=1").await;
    assert_eq!((a.status, a.message()), (StatusCode::NOT_FOUND, "No such container: missing".to_string()));
}

#[tokio::test]
async fn logs_follow_writes_each_line_as_it_comes() {
    let (tx, rx) = mpsc::unbounded_channel();
    let fake = Arc::new(Fake { live: Mutex::new(Some(rx)), ..Default::default() });
    let req = Request::get("/containers/web/logs?stdout=1&follow=1").body(Body::empty()).unwrap();
    let resp = app(fake.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    tx.send((1, CREATED, b"one\n".to_vec())).unwrap();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(&first[..], b"\x01\x00\x00\x00\x00\x00\x00\x04one\n");
    tx.send((1, CREATED, b"two\n".to_vec())).unwrap();
    drop(tx);
    let rest = body.collect().await.unwrap().to_bytes();
    assert_eq!(&rest[..], b"\x01\x00\x00\x00\x00\x00\x00\x04two\n");
}

#[tokio::test]
async fn prune_shape_and_filters() {
    let fake = Arc::new(Fake::default());
    let a = post(&fake, "/containers/prune").await;
    assert_eq!((a.status, a.json()), (StatusCode::OK, json!({"ContainersDeleted": null, "SpaceReclaimed": 0})));
    let f = encode(r#"{"label":["a=b"],"until":["10m"]}"#);
    let a = post(&fake, &format!("/v1.45/containers/prune?filters={f}")).await;
    assert_eq!(a.json(), json!({"ContainersDeleted": [ID, "b".repeat(64)], "SpaceReclaimed": 4096}));
    assert_eq!(fake.calls(), ["prune {}", r#"prune {"label":["a=b"],"until":["10m"]}"#]);
    let a = post(&fake, &format!("/containers/prune?filters={}", encode(r#"{"status":["exited"]}"#))).await;
    assert_eq!((a.status, a.message()), (StatusCode::BAD_REQUEST, "invalid filter 'status'".to_string()));
}

#[tokio::test]
async fn version_errors_still_apply() {
    let fake = Arc::new(Fake::default());
    let a = get(&fake, "/v1.99/containers/json").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(fake.calls().is_empty());
}

/// Over a real connection: the status line and headers of a wait reach the client while the
/// container still runs (hyper flushes them before the body is ready).
#[tokio::test]
async fn wait_headers_are_flushed_on_the_wire() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let (tx, rx) = oneshot::channel();
    let fake = Arc::new(Fake { wait_result: Mutex::new(Some(rx)), ..Default::default() });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app(fake)).await });
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(b"POST /v1.45/containers/web/wait HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").await.unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut buf))
            .await
            .expect("headers before the wait ends")
            .unwrap();
        assert!(n > 0, "connection closed");
        seen.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&seen).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200 ok\r\n"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(!head.contains("statuscode"), "{head}");
    tx.send((3, None)).unwrap();
    while !String::from_utf8_lossy(&seen).contains("\r\n0\r\n\r\n") {
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0, "connection closed");
        seen.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&seen).contains("{\"StatusCode\":3}\n"));
    server.abort();
}

#[tokio::test]
async fn attach_answers_101_with_the_stream_type() {
    let fake = Arc::new(Fake::default());
    let req = Request::builder()
        .method(Method::POST)
        .uri("/v1.45/containers/web/attach?stream=1&stdout=1&stderr=1")
        .header("Connection", "Upgrade")
        .header("Upgrade", "tcp")
        .body(Body::empty())
        .unwrap();
    let resp = app(fake.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(resp.headers()["upgrade"], "tcp");
    assert_eq!(resp.headers()["content-type"], "application/vnd.docker.multiplexed-stream");
    assert!(fake.calls().iter().any(|c| c == "attach web false true true"), "{:?}", fake.calls());
}

#[tokio::test]
async fn update_decodes_dockers_body() {
    let fake = Arc::new(Fake::default());
    let a = call(&fake, Method::POST, "/containers/c1/update", br#"{"Memory":67108864,"PidsLimit":50}"#).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json(), json!({"Warnings": null}));
    assert_eq!(fake.calls(), ["update c1 67108864 Some(50)"]);
    let a = call(&fake, Method::POST, "/containers/missing/update", b"{}").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = call(&fake, Method::POST, "/containers/c1/update", b"{\"Memory\":\"x\"}").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}
