//! The image routes end to end through the router and the version layer, over a fake backend
//! that records each call.

use std::sync::Mutex;

use axum::body::Body;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;
use wharf_image::store::GraphDriver;

use super::*;

const ID: &str = "sha256:2b8fd9751c4c0f5dd266fcae00707e67a2545ef34f9a29354585f93dac906749";

/// Answers from canned data; `missing` is unknown everywhere; records calls as text.
#[derive(Default)]
struct Fake {
    calls: Mutex<Vec<String>>,
    progress: Vec<Progress>,
    /// When set, `load` streams what this channel delivers, as it arrives.
    live: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<Progress>>>,
}

impl Fake {
    fn with_progress(progress: Vec<Progress>) -> Arc<Fake> {
        Arc::new(Fake { progress, ..Default::default() })
    }

    fn record(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn check(name: &str) -> Result<(), ApiError> {
        if name == "missing" {
            return Err(ApiError::new(ErrorKind::NotFound, format!("No such image: {name}:latest")));
        }
        Ok(())
    }

    fn progress_stream(&self) -> ProgressStream {
        if let Some(mut rx) = self.live.lock().unwrap().take() {
            return Box::pin(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
        }
        Box::pin(futures_util::stream::iter(self.progress.clone()))
    }
}

fn image() -> ImageInfo {
    ImageInfo {
        id: ID.into(),
        repo_tags: vec!["busybox:latest".into(), "localhost:5000/a/b:1".into()],
        repo_digests: vec![],
        created: Some("2024-05-20T10:00:00Z".into()),
        created_unix: 1_716_199_200,
        architecture: "amd64".into(),
        os: "linux".into(),
        config: json!({"Cmd": ["sh"]}),
        size: 4_261_550,
        layers: vec!["sha256:1111".into()],
        graph_driver: GraphDriver { name: "vfs".into(), data: Default::default() },
        labels: [("a".to_string(), "b".to_string())].into(),
        ..Default::default()
    }
}

async fn collect(mut s: ByteStream) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

#[async_trait]
impl ImageBackend for Fake {
    async fn list(&self, opts: ListOptions) -> Result<Vec<ImageInfo>, ApiError> {
        self.record(format!("list all={} shared={} filters={}", opts.all, opts.shared_size, opts.filters.to_json()));
        Ok(vec![image(), ImageInfo { id: "sha256:untagged".into(), ..Default::default() }])
    }
    async fn inspect(&self, name: &str) -> Result<ImageInfo, ApiError> {
        self.record(format!("inspect {name}"));
        Self::check(name)?;
        Ok(image())
    }
    async fn history(&self, name: &str) -> Result<Vec<(HistoryEntry, u64, String)>, ApiError> {
        self.record(format!("history {name}"));
        Self::check(name)?;
        let step = |created: Option<&str>, by: &str| HistoryEntry {
            created: created.map(str::to_string),
            created_by: by.into(),
            comment: String::new(),
            author: String::new(),
            empty_layer: false,
            diff_id: None,
            chain_id: None,
        };
        Ok(vec![
            (step(Some("2024-05-20T10:00:01Z"), "CMD [\"sh\"]"), 0, ID.into()),
            (step(None, "ADD file:x in /"), 4_261_550, "<missing>".into()),
        ])
    }
    async fn tag(&self, name: &str, repo: &str, tag: &str) -> Result<(), ApiError> {
        self.record(format!("tag {name} {repo} {tag}"));
        Self::check(name)?;
        if repo.is_empty() {
            return Err(ApiError::invalid("repository name must have at least one component"));
        }
        Ok(())
    }
    async fn remove(&self, name: &str, force: bool, noprune: bool) -> Result<Vec<DeleteItem>, ApiError> {
        self.record(format!("remove {name} force={force} noprune={noprune}"));
        Self::check(name)?;
        Ok(vec![DeleteItem::Untagged(format!("{name}:latest")), DeleteItem::Deleted(ID.into())])
    }
    async fn prune(&self, filters: Filters) -> Result<PruneReport, ApiError> {
        self.record(format!("prune {}", filters.to_json()));
        Ok(PruneReport::default())
    }
    async fn load(&self, body: ByteStream, quiet: bool, platform: Option<String>) -> Result<ProgressStream, ApiError> {
        let body = collect(body).await;
        self.record(format!("load quiet={quiet} platform={platform:?} body={}", String::from_utf8_lossy(&body)));
        if body == b"bad" {
            return Err(ApiError::invalid("unexpected EOF"));
        }
        Ok(self.progress_stream())
    }
    async fn save(&self, names: Vec<String>) -> Result<ByteStream, ApiError> {
        self.record(format!("save {names:?}"));
        for n in &names {
            Self::check(n)?;
        }
        let chunks = vec![Ok(Bytes::from_static(b"tar-")), Ok(Bytes::from_static(b"bytes"))];
        Ok(Box::pin(futures_util::stream::iter(chunks)))
    }
    async fn import(&self, body: Option<ByteStream>, o: ImportOptions) -> Result<ProgressStream, ApiError> {
        let body = match body {
            Some(b) => Some(String::from_utf8_lossy(&collect(b).await).into_owned()),
            None => None,
        };
        self.record(format!(
            "import repo={} tag={} message={} changes={:?} platform={} body={body:?}",
            o.repo, o.tag, o.message, o.changes, o.platform
        ));
        if body.is_none() {
            return Err(ApiError::new(ErrorKind::NotImplemented, "importing from a URL is not supported"));
        }
        Ok(self.progress_stream())
    }
    async fn disk_usage(&self) -> Result<Vec<ImageInfo>, ApiError> {
        self.record("disk_usage".into());
        Ok(vec![
            ImageInfo { size: 150, shared_size: Some(100), containers: Some(2), ..image() },
            ImageInfo { id: "sha256:other".into(), size: 130, shared_size: Some(100), containers: Some(0), ..image() },
        ])
    }
}

/// The volumes part of `/system/df`: two volumes, one without a known size.
struct Volumes;

#[async_trait]
impl crate::VolumeBackend for Volumes {
    async fn list(&self, _: Filters) -> Result<(Vec<crate::VolumeView>, Vec<String>), ApiError> {
        unreachable!("not a df call")
    }
    async fn inspect(&self, _: &str) -> Result<crate::VolumeView, ApiError> {
        unreachable!("not a df call")
    }
    async fn create(&self, _: crate::CreateVolume) -> Result<crate::VolumeView, ApiError> {
        unreachable!("not a df call")
    }
    async fn remove(&self, _: &str, _: bool) -> Result<(), ApiError> {
        unreachable!("not a df call")
    }
    async fn prune(&self, _: crate::PruneVolumes) -> Result<crate::VolumePruneReport, ApiError> {
        unreachable!("not a df call")
    }
    async fn disk_usage(&self) -> Result<Vec<crate::VolumeView>, ApiError> {
        let vol = |name: &str, size, ref_count| crate::VolumeView {
            created_at: "2026-11-29T10:00:00Z".into(),
            driver: "local".into(),
            mountpoint: format!("/var/lib/wharf/volumes/{name}/_data"),
            name: name.into(),
            scope: "local".into(),
            usage_data: Some(crate::VolumeUsage { ref_count, size }),
            ..Default::default()
        };
        Ok(vec![vol("data", 4096, 1), vol("odd", -1, 0)])
    }
}

/// The containers part of `/system/df`: one stopped container with its sizes.
fn df_containers() -> crate::containers::tests::Fake {
    use crate::containers::tests::{container, inspected};
    let mut c = inspected(container());
    c.sizes = Some((12, 3456));
    crate::containers::tests::Fake::listing(vec![c])
}

/// The routes as `crate::service` serves them: version layer, 404 fallbacks.
fn app(fake: Arc<Fake>) -> Router {
    let api = routes(fake.clone())
        .merge(df_routes(fake, Arc::new(df_containers()), Arc::new(Volumes)))
        .fallback(crate::error::not_found)
        .method_not_allowed_fallback(crate::error::not_found);
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
}

async fn call(fake: &Arc<Fake>, method: Method, uri: &str, body: &'static [u8]) -> Answer {
    let req = Request::builder().method(method).uri(uri).body(Body::from(body)).unwrap();
    let resp = app(fake.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Answer { status, headers, body }
}

async fn get(fake: &Arc<Fake>, uri: &str) -> Answer {
    call(fake, Method::GET, uri, b"").await
}

async fn post(fake: &Arc<Fake>, uri: &str, body: &'static [u8]) -> Answer {
    call(fake, Method::POST, uri, body).await
}

#[tokio::test]
async fn list_shapes_and_options() {
    let fake = Arc::new(Fake::default());
    let a = get(&fake, "/v1.45/images/json?all=1&shared-size=true&digests=1").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.content_type().starts_with("application/json"));
    let v = a.json();
    assert_eq!(
        v[0],
        json!({
            "Containers": -1, "Created": 1_716_199_200, "Id": ID, "Labels": {"a": "b"}, "ParentId": "",
            "RepoDigests": [], "RepoTags": ["busybox:latest", "localhost:5000/a/b:1"], "SharedSize": -1,
            "Size": 4_261_550
        })
    );
    assert_eq!((&v[1]["RepoTags"], &v[1]["Labels"]), (&json!([]), &json!({})));
    assert_eq!(fake.calls(), ["list all=true shared=true filters={}"]);

    let v = get(&fake, "/v1.43/images/json").await.json();
    assert_eq!(v[0]["VirtualSize"], 4_261_550);
    assert_eq!(v[1]["RepoTags"], json!([]));
    let v = get(&fake, "/v1.42/images/json").await.json();
    assert_eq!((&v[1]["RepoTags"], &v[1]["RepoDigests"]), (&json!(["<none>:<none>"]), &json!(["<none>@<none>"])));
    let v = get(&fake, "/images/json").await.json();
    assert!(v[0].get("VirtualSize").is_none());
    // shared-size exists from 1.42; `filter` is a reference filter before 1.41.
    get(&fake, "/v1.41/images/json?shared-size=1").await;
    get(&fake, "/v1.40/images/json?filter=busy*").await;
    let calls = fake.calls();
    assert_eq!(calls[calls.len() - 2], "list all=false shared=false filters={}");
    assert_eq!(calls[calls.len() - 1], r#"list all=false shared=false filters={"reference":["busy*"]}"#);
}

#[tokio::test]
async fn list_filters_are_checked() {
    let fake = Arc::new(Fake::default());
    let a =
        get(&fake, "/images/json?filters=%7B%22dangling%22%3A%5B%22true%22%5D%2C%22label%22%3A%5B%22a%3Db%22%5D%7D")
            .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(fake.calls(), [r#"list all=false shared=false filters={"dangling":["true"],"label":["a=b"]}"#]);

    for (filters, message) in [
        (r#"{"bogus":["x"]}"#, "invalid filter 'bogus'"),
        (r#"{"dangling":["xyz"]}"#, "invalid filter 'dangling=[xyz]'"),
        (r#"{"dangling":["true","false"]}"#, "invalid filter 'dangling=[false true]'"),
        (r#"{"dangling":[]}"#, "invalid filter 'dangling'"),
    ] {
        let uri = format!("/images/json?filters={}", encode(filters));
        let a = get(&fake, &uri).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{filters}");
        assert_eq!(a.json(), json!({ "message": message }));
    }
    let a = get(&fake, "/images/json?filters=%7Bnot-json").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.json()["message"].as_str().unwrap().starts_with("invalid filter"));
    assert_eq!(fake.calls().len(), 1, "the backend is not asked when filters are bad");
}

fn encode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[tokio::test]
async fn inspect_by_any_name() {
    let fake = Arc::new(Fake::default());
    let digest = format!("busybox@sha256:{}", "a".repeat(64));
    for name in ["busybox", "localhost:5000/a/b:1", digest.as_str(), "sha256:2b8f", "json", "a/json"] {
        let a = get(&fake, &format!("/v1.45/images/{name}/json")).await;
        assert_eq!(a.status, StatusCode::OK, "{name}");
        assert_eq!(fake.calls().last().unwrap(), &format!("inspect {name}"));
        let v = a.json();
        assert_eq!(v["Id"], ID);
        assert_eq!(v["RootFS"], json!({"Type": "layers", "Layers": ["sha256:1111"]}));
        assert_eq!(v["GraphDriver"], json!({"Name": "vfs", "Data": {}}));
        assert_eq!(v["Created"], "2024-05-20T10:00:00Z");
        assert!(v.get("VirtualSize").is_none() && v.get("ContainerConfig").is_none());
    }
    // Percent-encoded names are decoded.
    get(&fake, "/images/localhost%3A5000%2Fa%2Fb%3A1/json").await;
    assert_eq!(fake.calls().last().unwrap(), "inspect localhost:5000/a/b:1");

    let v = get(&fake, "/v1.43/images/busybox/json").await.json();
    assert_eq!(v["VirtualSize"], 4_261_550);
    assert_eq!(v["ContainerConfig"]["Cmd"], Value::Null);

    let a = get(&fake, "/images/missing/json").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.json(), json!({"message": "No such image: missing:latest"}));
}

#[tokio::test]
async fn unknown_routes_are_page_not_found() {
    let fake = Arc::new(Fake::default());
    for (method, uri) in [
        (Method::GET, "/images/busybox/bogus"),
        (Method::GET, "/images/busybox"),
        (Method::POST, "/images/busybox/json"),
        (Method::POST, "/images/busybox"),
        (Method::PUT, "/images/busybox/json"),
        (Method::GET, "/images"),
        (Method::GET, "/v1.45/images/a/b/c/notasuffix"),
    ] {
        let a = call(&fake, method.clone(), uri, b"").await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{method} {uri}");
        assert_eq!(a.json(), json!({"message": "page not found"}), "{method} {uri}");
    }
    assert!(fake.calls().is_empty());
    let a = post(&fake, "/images/busybox/push", b"").await;
    assert_eq!(a.status, StatusCode::NOT_IMPLEMENTED);
    let a = post(&fake, "/images/create?fromImage=busybox&tag=latest", b"").await;
    assert_eq!(
        (a.status, a.json()),
        (StatusCode::NOT_IMPLEMENTED, json!({"message": "pulling images is not supported"}))
    );
    // `POST /auth` is routed to the backend (which here does not log in).
    let a = post(&fake, "/auth", br#"{"username":"u","password":"p","serveraddress":"127.0.0.1:5000"}"#).await;
    assert_eq!((a.status, a.json()), (StatusCode::NOT_IMPLEMENTED, json!({"message": "logging in is not supported"})));
    let a = post(&fake, "/auth", b"not json").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn history_shape_and_tags() {
    let fake = Arc::new(Fake::default());
    let a = get(&fake, "/images/localhost:5000/a/b:1/history").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.json(),
        json!([
            {"Comment": "", "Created": 1_716_199_201, "CreatedBy": "CMD [\"sh\"]", "Id": ID, "Size": 0,
             "Tags": ["busybox:latest", "localhost:5000/a/b:1"]},
            {"Comment": "", "Created": 0, "CreatedBy": "ADD file:x in /", "Id": "<missing>", "Size": 4_261_550,
             "Tags": null}
        ])
    );
    assert_eq!(fake.calls(), ["history localhost:5000/a/b:1".to_string(), format!("inspect {ID}")]);
    assert_eq!(get(&fake, "/images/missing/history").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tag_and_remove() {
    let fake = Arc::new(Fake::default());
    let a = post(&fake, "/images/busybox:latest/tag?repo=localhost%3A5000%2Fx&tag=2", b"").await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert!(a.body.is_empty());
    let a = post(&fake, "/images/busybox/tag", b"").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.json(), json!({"message": "repository name must have at least one component"}));
    assert_eq!(post(&fake, "/images/missing/tag?repo=x", b"").await.status, StatusCode::NOT_FOUND);

    let a = call(&fake, Method::DELETE, "/v1.45/images/localhost:5000/a/b:1?force=1&noprune=true", b"").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json(), json!([{"Untagged": "localhost:5000/a/b:1:latest"}, {"Deleted": ID}]));
    call(&fake, Method::DELETE, "/images/json", b"").await;
    let a = call(&fake, Method::DELETE, "/images/%20", b"").await;
    assert_eq!((a.status, a.json()), (StatusCode::BAD_REQUEST, json!({"message": "image name cannot be blank"})));
    assert_eq!(call(&fake, Method::DELETE, "/images/missing", b"").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        fake.calls(),
        [
            "tag busybox:latest localhost:5000/x 2",
            "tag busybox  ",
            "tag missing x ",
            "remove localhost:5000/a/b:1 force=true noprune=true",
            "remove json force=false noprune=false",
            "remove missing force=false noprune=false",
        ]
    );
}

#[tokio::test]
async fn prune_shape_and_filters() {
    let fake = Arc::new(Fake::default());
    let a = post(
        &fake,
        "/images/prune?filters=%7B%22dangling%22%3A%5B%22false%22%5D%2C%22until%22%3A%5B%2210m%22%5D%7D",
        b"",
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json(), json!({"ImagesDeleted": null, "SpaceReclaimed": 0}));
    assert_eq!(fake.calls(), [r#"prune {"dangling":["false"],"until":["10m"]}"#]);
    let a = post(&fake, &format!("/images/prune?filters={}", encode(r#"{"reference":["x"]}"#)), b"").await;
    assert_eq!((a.status, a.json()), (StatusCode::BAD_REQUEST, json!({"message": "invalid filter 'reference'"})));
}

#[tokio::test]
async fn save_one_or_many() {
    let fake = Arc::new(Fake::default());
    let a = get(&fake, "/images/localhost:5000/a/b:1/get").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.content_type(), "application/x-tar");
    assert_eq!(&a.body[..], b"tar-bytes");
    let a = get(&fake, "/v1.45/images/get?names=busybox%3Alatest&names=localhost:5000/a/b:1&names=sha256%3A2b8f").await;
    assert_eq!(a.status, StatusCode::OK);
    let a = get(&fake, "/images/get?names=busybox&names=missing").await;
    assert_eq!((a.status, a.json()), (StatusCode::NOT_FOUND, json!({"message": "No such image: missing:latest"})));
    assert_eq!(
        fake.calls(),
        [
            r#"save ["localhost:5000/a/b:1"]"#,
            r#"save ["busybox:latest", "localhost:5000/a/b:1", "sha256:2b8f"]"#,
            r#"save ["busybox", "missing"]"#,
        ]
    );
}

fn load_progress() -> Vec<Progress> {
    vec![
        Progress::Status {
            id: "d51af96cf93e".into(),
            status: "Loading layer".into(),
            current: Some(32_768),
            total: Some(4_261_376),
        },
        Progress::Status {
            id: "d51af96cf93e".into(),
            status: "Loading layer".into(),
            current: Some(4_261_376),
            total: Some(4_261_376),
        },
        Progress::Stream("Loaded image: busybox:latest\n".into()),
        Progress::Error("write /x: no space left on device".into()),
    ]
}

fn lines(a: &Answer) -> Vec<Value> {
    let text = std::str::from_utf8(&a.body).unwrap();
    assert!(text.ends_with("\r\n"), "{text:?}");
    text.split_terminator("\r\n").map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}"))).collect()
}

#[tokio::test]
async fn load_streams_json_messages() {
    let fake = Fake::with_progress(load_progress());
    let a = post(&fake, "/v1.45/images/load?quiet=0", b"archive").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.content_type(), "application/json");
    let l = lines(&a);
    assert_eq!(l.len(), 4);
    assert_eq!(
        l[0],
        json!({"status": "Loading layer", "progressDetail": {"current": 32768, "total": 4261376},
               "progress": format!("[>{}]  32.77kB/4.261MB", " ".repeat(50)), "id": "d51af96cf93e"})
    );
    assert_eq!(l[1]["progress"], format!("[{}>]  4.261MB/4.261MB", "=".repeat(50)));
    assert_eq!(l[2], json!({"stream": "Loaded image: busybox:latest\n"}));
    assert_eq!(
        l[3],
        json!({"errorDetail": {"message": "write /x: no space left on device"}, "error": "write /x: no space left on device"})
    );
    // quiet defaults to true, as dockerd; the platform is passed on.
    post(&fake, "/images/load?platform=linux%2Famd64", b"more").await;
    assert_eq!(
        fake.calls(),
        [r#"load quiet=false platform=None body=archive"#, r#"load quiet=true platform=Some("linux/amd64") body=more"#]
    );
    let a = post(&fake, "/images/load", b"bad").await;
    assert_eq!((a.status, a.json()), (StatusCode::BAD_REQUEST, json!({"message": "unexpected EOF"})));
}

#[tokio::test]
async fn load_writes_each_message_as_it_comes() {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let fake = Arc::new(Fake { live: Mutex::new(Some(rx)), ..Default::default() });
    let req = Request::builder().method(Method::POST).uri("/images/load").body(Body::from("x")).unwrap();
    let resp = app(fake.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    tx.send(Progress::Stream("one\n".into())).unwrap();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(&first[..], b"{\"stream\":\"one\\n\"}\r\n");
    tx.send(Progress::Stream("two\n".into())).unwrap();
    drop(tx);
    let rest = body.collect().await.unwrap().to_bytes();
    assert_eq!(&rest[..], b"{\"stream\":\"two\\n\"}\r\n");
}

#[tokio::test]
async fn import_from_body_or_url() {
    let fake = Fake::with_progress(vec![Progress::status("", ID)]);
    let a = post(
        &fake,
        "/images/create?fromSrc=-&repo=localhost:5000/imp&tag=v1&changes=ENV+A%3D1&changes=CMD%20%5B%22sh%22%5D&platform=linux/arm64",
        b"layer",
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.content_type(), "application/json");
    assert_eq!(lines(&a), [json!({ "status": ID })]);
    let a = post(&fake, "/images/create?fromSrc=http%3A%2F%2Fexample.com%2Fx.tar&message=hi", b"ignored").await;
    assert_eq!(a.status, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(
        fake.calls(),
        [
            r#"import repo=localhost:5000/imp tag=v1 message=Imported from - changes=["ENV A=1", "CMD [\"sh\"]"] platform=linux/arm64 body=Some("layer")"#,
            r#"import repo= tag= message=hi changes=[] platform= body=None"#,
        ]
    );
}

#[tokio::test]
async fn system_df_by_type() {
    let fake = Arc::new(Fake::default());
    let a = get(&fake, "/system/df").await;
    assert_eq!(a.status, StatusCode::OK);
    let v = a.json();
    assert_eq!(v["LayersSize"], 180);
    assert_eq!(v["BuildCache"], json!([]));
    // Containers as `ps -as` lists them, sizes included.
    let c = &v["Containers"];
    assert_eq!(
        (c[0]["Names"].clone(), c[0]["SizeRw"].clone(), c[0]["SizeRootFs"].clone()),
        (json!(["/web"]), json!(12), json!(3456))
    );
    assert_eq!(c.as_array().map(Vec::len), Some(1));
    assert_eq!(
        v["Volumes"],
        json!([
            {"CreatedAt": "2026-11-29T10:00:00Z", "Driver": "local", "Labels": null,
             "Mountpoint": "/var/lib/wharf/volumes/data/_data", "Name": "data", "Options": null, "Scope": "local",
             "UsageData": {"RefCount": 1, "Size": 4096}},
            {"CreatedAt": "2026-11-29T10:00:00Z", "Driver": "local", "Labels": null,
             "Mountpoint": "/var/lib/wharf/volumes/odd/_data", "Name": "odd", "Options": null, "Scope": "local",
             "UsageData": {"RefCount": 0, "Size": -1}},
        ])
    );
    assert_eq!((&v["Images"][0]["SharedSize"], &v["Images"][0]["Containers"]), (&json!(100), &json!(2)));
    assert!(v["Images"][0].get("VirtualSize").is_none());

    let v = get(&fake, "/v1.45/system/df?type=image&type=build-cache").await.json();
    assert_eq!((&v["Volumes"], &v["Containers"], &v["BuildCache"]), (&Value::Null, &Value::Null, &json!([])));
    let v = get(&fake, "/v1.45/system/df?type=volume&type=build-cache").await.json();
    assert_eq!((&v["LayersSize"], &v["Images"], &v["Containers"]), (&json!(0), &Value::Null, &Value::Null));
    assert_eq!(v["Volumes"].as_array().map(Vec::len), Some(2));
    assert_eq!(fake.calls(), ["disk_usage", "disk_usage"], "images are not computed when not asked for");

    let v = get(&fake, "/v1.43/system/df?type=image").await.json();
    assert_eq!(v["Images"][1]["VirtualSize"], 130);
    assert_eq!((&v["Containers"], &v["Volumes"]), (&Value::Null, &Value::Null));
    // Before 1.42 `type` is ignored: every part is there.
    let v = get(&fake, "/v1.41/system/df?type=image").await.json();
    assert_eq!((v["Volumes"].as_array().map(Vec::len), v["Containers"].as_array().map(Vec::len)), (Some(2), Some(1)));
    let a = get(&fake, "/system/df?type=networks").await;
    assert_eq!((a.status, a.json()), (StatusCode::BAD_REQUEST, json!({"message": "unknown object type: networks"})));
}

#[tokio::test]
async fn version_errors_still_apply() {
    let fake = Arc::new(Fake::default());
    let a = get(&fake, "/v1.99/images/json").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(fake.calls().is_empty());
}
