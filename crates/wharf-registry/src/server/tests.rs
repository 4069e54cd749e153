//! Handler tests: the router driven with tower `oneshot`, one request at a time, against a
//! registry on a temporary root. Every endpoint and every error code the server returns.

use axum::body::Body;
use axum::Router;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;
use wharf_types::Digest;

use super::gc::{collect, GcOptions};
use super::{Config, Htpasswd, Registry};
use crate::manifest::{DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn code(&self) -> String {
        self.json()["errors"][0]["code"].as_str().unwrap_or_default().to_string()
    }

    fn header(&self, name: &str) -> String {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    }
}

struct T {
    _dir: tempfile::TempDir,
    app: Router,
    reg: Registry,
}

fn setup_with(f: impl FnOnce(&mut Config)) -> T {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path());
    f(&mut config);
    let reg = Registry::open(config).unwrap();
    T { app: reg.router(), reg, _dir: dir }
}

fn setup() -> T {
    setup_with(|_| {})
}

impl T {
    async fn req(&self, method: Method, uri: &str, headers: &[(&str, &str)], body: impl Into<Body>) -> Resp {
        let mut b = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let resp = self.app.clone().oneshot(b.body(body.into()).unwrap()).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
        assert_eq!(headers.get("docker-distribution-api-version").unwrap(), "registry/2.0", "on every response");
        Resp { status, headers, body }
    }

    async fn get(&self, uri: &str) -> Resp {
        self.req(Method::GET, uri, &[], Body::empty()).await
    }

    async fn head(&self, uri: &str) -> Resp {
        self.req(Method::HEAD, uri, &[], Body::empty()).await
    }

    async fn delete(&self, uri: &str) -> Resp {
        self.req(Method::DELETE, uri, &[], Body::empty()).await
    }

    /// Pushes a blob monolithically; returns its digest.
    async fn blob(&self, repo: &str, data: &[u8]) -> Digest {
        let d = Digest::sha256_of(data);
        let r = self.req(Method::POST, &format!("/v2/{repo}/blobs/uploads/?digest={d}"), &[], data.to_vec()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
        d
    }

    /// Pushes an image manifest (config + layers pushed first) under `reference`; returns the
    /// manifest bytes and digest.
    async fn image(&self, repo: &str, reference: &str, layers: &[&[u8]]) -> (Vec<u8>, Digest) {
        let config = format!(r#"{{"architecture":"amd64","os":"linux","layers":{}}}"#, layers.len()).into_bytes();
        let cd = self.blob(repo, &config).await;
        let mut descs = Vec::new();
        for l in layers {
            let d = self.blob(repo, l).await;
            descs.push(json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": l.len()}));
        }
        let m = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()},
            "layers": descs,
        });
        let body = serde_json::to_vec(&m).unwrap();
        let r = self.put_manifest(repo, reference, OCI_MANIFEST, &body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
        (body.clone(), Digest::sha256_of(&body))
    }

    async fn put_manifest(&self, repo: &str, reference: &str, content_type: &str, body: &[u8]) -> Resp {
        self.req(
            Method::PUT,
            &format!("/v2/{repo}/manifests/{reference}"),
            &[("content-type", content_type)],
            body.to_vec(),
        )
        .await
    }
}

#[tokio::test]
async fn base_endpoint_answers_with_the_api_version() {
    let t = setup();
    let r = t.get("/v2/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({}));
    assert_eq!(r.header("content-type"), "application/json");
    let r = t.head("/v2/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.is_empty());
    assert_eq!(t.get("/v2").await.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_paths_methods_and_names() {
    let t = setup();
    assert_eq!(t.get("/v1/").await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.get("/v2/a/nothing/here").await.status, StatusCode::NOT_FOUND);
    let r = t.req(Method::POST, "/v2/a/tags/list", &[], Body::empty()).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED"));
    for path in ["/v2/UPPER/tags/list", "/v2/a/../b/manifests/latest", "/v2/_x/blobs/uploads/"] {
        let r = t.get(path).await;
        assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "NAME_INVALID"), "{path}");
    }
}

#[tokio::test]
async fn monolithic_push_then_head_and_get() {
    let t = setup();
    let data = b"hello blob".to_vec();
    let d = Digest::sha256_of(&data);
    let r = t.req(Method::POST, &format!("/v2/lib/a/blobs/uploads/?digest={d}"), &[], data.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.header("location"), format!("/v2/lib/a/blobs/{d}"));
    assert_eq!(r.header("docker-content-digest"), d.as_str());
    let r = t.head(&format!("/v2/lib/a/blobs/{d}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-length"), data.len().to_string());
    assert_eq!(r.header("docker-content-digest"), d.as_str());
    assert!(r.body.is_empty());
    let r = t.get(&format!("/v2/lib/a/blobs/{}", d.as_str().replace(':', "%3A"))).await;
    assert_eq!((r.status, r.body), (StatusCode::OK, data));
}

#[tokio::test]
async fn blob_digest_mismatch_and_bad_digests() {
    let t = setup();
    let wrong = Digest::sha256_of(b"other");
    let r = t.req(Method::POST, &format!("/v2/a/blobs/uploads/?digest={wrong}"), &[], b"content".to_vec()).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "DIGEST_INVALID"));
    assert_eq!(r.json()["errors"][0]["detail"]["digest"], wrong.as_str());
    assert_eq!(t.head(&format!("/v2/a/blobs/{wrong}")).await.status, StatusCode::NOT_FOUND);
    assert!(t.reg.storage().all_blobs().unwrap().is_empty(), "nothing was committed");
    let r = t.req(Method::POST, "/v2/a/blobs/uploads/?digest=sha256:nothex", &[], b"x".to_vec()).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "DIGEST_INVALID"));
    let r = t.get("/v2/a/blobs/md5:abc").await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "DIGEST_INVALID"));
    // sha512 is accepted too.
    let d = Digest::of(wharf_types::Algorithm::Sha512, b"big");
    let r = t.req(Method::POST, &format!("/v2/a/blobs/uploads/?digest={d}"), &[], b"big".to_vec()).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(t.get(&format!("/v2/a/blobs/{d}")).await.body, b"big");
}

#[tokio::test]
async fn unknown_blobs_and_repository_isolation() {
    let t = setup();
    let d = t.blob("a", b"layer").await;
    let r = t.get(&format!("/v2/b/blobs/{d}")).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::NOT_FOUND, "BLOB_UNKNOWN"));
    assert_eq!(r.json()["errors"][0]["detail"]["digest"], d.as_str());
    let r = t.head(&format!("/v2/a/blobs/{}", Digest::sha256_of(b"none"))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn post_then_put() {
    let t = setup();
    let r = t.req(Method::POST, "/v2/a/blobs/uploads/", &[("content-length", "0")], Body::empty()).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let loc = r.header("location");
    let id = r.header("docker-upload-uuid");
    assert_eq!(loc, format!("/v2/a/blobs/uploads/{id}"));
    assert_eq!(r.header("range"), "0-0");
    let data = b"put in one go".to_vec();
    let d = Digest::sha256_of(&data);
    let r = t
        .req(Method::PUT, &format!("{loc}?digest={d}"), &[("content-type", "application/octet-stream")], data.clone())
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.header("location"), format!("/v2/a/blobs/{d}"));
    assert_eq!(t.get(&format!("/v2/a/blobs/{d}")).await.body, data);
    // The session is gone.
    let r = t.get(&loc).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN"));
}

#[tokio::test]
async fn chunked_upload_in_order_and_out_of_order() {
    let t = setup();
    let loc = t.req(Method::POST, "/v2/a/blobs/uploads/", &[], Body::empty()).await.header("location");
    let r = t.req(Method::PATCH, &loc, &[("content-range", "0-4")], b"01234".to_vec()).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.header("range"), "0-4");
    assert_eq!(r.header("location"), loc);
    // A chunk that does not start at 5.
    let r = t.req(Method::PATCH, &loc, &[("content-range", "10-14")], b"abcde".to_vec()).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID"));
    assert_eq!(r.header("range"), "0-4");
    let r = t.req(Method::PATCH, &loc, &[("content-range", "0-4")], b"01234".to_vec()).await;
    assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE, "a repeated chunk is out of order too");
    // Status.
    let r = t.get(&loc).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.header("range"), "0-4");
    let r = t.req(Method::PATCH, &loc, &[("content-range", "5-9")], b"56789".to_vec()).await;
    assert_eq!(r.header("range"), "0-9");
    // The last chunk comes with the PUT.
    let all = b"0123456789xyz";
    let d = Digest::sha256_of(all);
    let r = t.req(Method::PUT, &format!("{loc}?digest={d}"), &[("content-range", "10-12")], b"xyz".to_vec()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(t.get(&format!("/v2/a/blobs/{d}")).await.body, all);
}

#[tokio::test]
async fn streamed_patch_and_finishing_errors() {
    let t = setup();
    let loc = t.req(Method::POST, "/v2/a/blobs/uploads/", &[], Body::empty()).await.header("location");
    let r = t.req(Method::PATCH, &loc, &[], b"streamed without range".to_vec()).await;
    assert_eq!((r.status, r.header("range")), (StatusCode::ACCEPTED, "0-21".to_string()));
    let r = t.req(Method::PUT, &loc, &[], Body::empty()).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "DIGEST_INVALID"), "no digest");
    let r = t.req(Method::PATCH, &loc, &[("content-range", "22-30")], b"abc".to_vec()).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "SIZE_INVALID"), "range says 9 bytes");
    assert_eq!(t.get(&loc).await.header("range"), "0-21", "the short chunk was cut off");
    let r = t.req(Method::PATCH, &loc, &[("content-range", "garbage")], b"abc".to_vec()).await;
    assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);
    let wrong = Digest::sha256_of(b"nope");
    let r = t.req(Method::PUT, &format!("{loc}?digest={wrong}"), &[], Body::empty()).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "DIGEST_INVALID"));
    assert_eq!(t.get(&loc).await.status, StatusCode::NOT_FOUND, "a failed upload is gone");
}

#[tokio::test]
async fn unknown_and_cancelled_uploads() {
    let t = setup();
    let ghost = "/v2/a/blobs/uploads/01234567-89ab-4cde-8f01-23456789abcd";
    for m in [Method::GET, Method::PATCH, Method::PUT, Method::DELETE] {
        let uri =
            if m == Method::PUT { format!("{ghost}?digest={}", Digest::sha256_of(b"")) } else { ghost.to_string() };
        let r = t.req(m.clone(), &uri, &[], Body::empty()).await;
        assert_eq!((r.status, r.code().as_str()), (StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN"), "{m}");
    }
    for bad in ["/v2/a/blobs/uploads/..", "/v2/a/blobs/uploads/x%2F..%2F..%2Fy", "/v2/a/blobs/uploads/not-a-uuid"] {
        assert_eq!(t.get(bad).await.status, StatusCode::NOT_FOUND, "{bad}");
    }
    let loc = t.req(Method::POST, "/v2/a/blobs/uploads/", &[], Body::empty()).await.header("location");
    let r = t.delete(&loc).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(t.get(&loc).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.delete(&loc).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn uploads_resume_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = Registry::open(Config::new(dir.path())).unwrap().router();
    let send = |app: Router, m: Method, uri: String, range: Option<&str>, body: &[u8]| {
        let mut b = Request::builder().method(m).uri(uri);
        if let Some(r) = range {
            b = b.header("content-range", r);
        }
        let req = b.body(Body::from(body.to_vec())).unwrap();
        async move { app.oneshot(req).await.unwrap() }
    };
    let r = send(first.clone(), Method::POST, "/v2/a/blobs/uploads/".into(), None, b"").await;
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    send(first, Method::PATCH, loc.clone(), Some("0-2"), b"abc").await;
    // A new process on the same root: no hashing state in memory.
    let second = Registry::open(Config::new(dir.path())).unwrap().router();
    let r = send(second.clone(), Method::PATCH, loc.clone(), Some("3-5"), b"def").await;
    assert_eq!(r.headers()["range"], "0-5");
    let d = Digest::sha256_of(b"abcdefg");
    let r = send(second, Method::PUT, format!("{loc}?digest={d}"), None, b"g").await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn cross_repository_mount() {
    let t = setup();
    let d = t.blob("src", b"shared layer").await;
    let r = t.req(Method::POST, &format!("/v2/dst/blobs/uploads/?mount={d}&from=src"), &[], Body::empty()).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.header("location"), format!("/v2/dst/blobs/{d}"));
    assert_eq!(r.header("docker-content-digest"), d.as_str());
    assert_eq!(t.get(&format!("/v2/dst/blobs/{d}")).await.body, b"shared layer");
    // Not in `from`: an ordinary session starts.
    let other = Digest::sha256_of(b"elsewhere");
    let r = t.req(Method::POST, &format!("/v2/dst/blobs/uploads/?mount={other}&from=src"), &[], Body::empty()).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert!(r.header("location").starts_with("/v2/dst/blobs/uploads/"));
    let r = t.req(Method::POST, "/v2/dst/blobs/uploads/?mount=bad&from=src", &[], Body::empty()).await;
    assert_eq!(r.code(), "DIGEST_INVALID");
}

#[tokio::test]
async fn blob_ranges() {
    let t = setup();
    let d = t.blob("a", b"0123456789").await;
    let uri = format!("/v2/a/blobs/{d}");
    let r = t.req(Method::GET, &uri, &[("range", "bytes=2-5")], Body::empty()).await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.body, b"2345");
    assert_eq!(r.header("content-range"), "bytes 2-5/10");
    assert_eq!(r.header("content-length"), "4");
    let r = t.req(Method::GET, &uri, &[("range", "bytes=-3")], Body::empty()).await;
    assert_eq!(r.body, b"789");
    let r = t.req(Method::GET, &uri, &[("range", "bytes=10-")], Body::empty()).await;
    assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.header("content-range"), "bytes */10");
    assert_eq!(t.get(&uri).await.header("accept-ranges"), "bytes");
}

#[tokio::test]
async fn manifests_by_tag_and_digest() {
    let t = setup();
    let (body, d) = t.image("lib/img", "v1", &[b"layer one", b"layer two"]).await;
    for reference in ["v1".to_string(), d.to_string()] {
        let r = t.get(&format!("/v2/lib/img/manifests/{reference}")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body, body, "stored byte for byte");
        assert_eq!(r.header("content-type"), OCI_MANIFEST);
        assert_eq!(r.header("docker-content-digest"), d.as_str());
        let r = t.head(&format!("/v2/lib/img/manifests/{reference}")).await;
        assert_eq!((r.status, r.header("content-length")), (StatusCode::OK, body.len().to_string()));
        assert!(r.body.is_empty());
    }
    // A manifest is a blob of its repository too.
    assert_eq!(t.get(&format!("/v2/lib/img/blobs/{d}")).await.body, body);
    let r = t.get("/v2/lib/img/manifests/v2").await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN"));
    assert_eq!(r.json()["errors"][0]["detail"]["tag"], "v2");
    let r = t.get(&format!("/v2/other/manifests/{d}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "not in another repository");
    let r = t.get("/v2/lib/img/manifests/-bad").await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "MANIFEST_INVALID"));
    let r = t.get("/v2/lib/img/manifests/sha256:abc").await;
    assert_eq!(r.code(), "DIGEST_INVALID");
}

#[tokio::test]
async fn manifest_push_by_digest_and_its_errors() {
    let t = setup();
    let cfg = t.blob("a", b"{}").await;
    let manifest = |layer: &Digest| {
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": cfg, "size": 2},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": layer, "size": 5}],
        }))
        .unwrap()
    };
    let missing = Digest::sha256_of(b"never pushed");
    let r = t.put_manifest("a", "v1", DOCKER_MANIFEST, &manifest(&missing)).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN"));
    assert_eq!(r.json()["errors"][0]["detail"]["digest"], missing.as_str());
    assert_eq!(t.get("/v2/a/manifests/v1").await.status, StatusCode::NOT_FOUND, "nothing stored");

    let layer = t.blob("a", b"layer").await;
    let body = manifest(&layer);
    let d = Digest::sha256_of(&body);
    let wrong = Digest::sha256_of(b"x");
    let r = t.put_manifest("a", wrong.as_str(), DOCKER_MANIFEST, &body).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "DIGEST_INVALID"));
    let r = t.put_manifest("a", d.as_str(), DOCKER_MANIFEST, &body).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.header("location"), format!("/v2/a/manifests/{d}"));
    assert_eq!(r.header("docker-content-digest"), d.as_str());
    assert_eq!(t.get(&format!("/v2/a/manifests/{d}")).await.header("content-type"), DOCKER_MANIFEST);
    assert_eq!(t.get("/v2/a/tags/list").await.json()["tags"], json!([]), "a push by digest makes no tag");

    for (ct, bad) in [
        (OCI_MANIFEST, b"not json".to_vec()),
        (OCI_MANIFEST, br#"{"schemaVersion":1}"#.to_vec()),
        ("application/vnd.docker.distribution.manifest.v1+prettyjws", br#"{"schemaVersion":1}"#.to_vec()),
        (DOCKER_MANIFEST, body.clone().replace_media(OCI_MANIFEST)),
        (OCI_MANIFEST, br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#.to_vec()),
    ] {
        let r = t.put_manifest("a", "bad", ct, &bad).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (StatusCode::BAD_REQUEST, "MANIFEST_INVALID"),
            "{}",
            String::from_utf8_lossy(&bad)
        );
    }
    let r = t.put_manifest("a", "-tag", OCI_MANIFEST, &body).await;
    assert_eq!(r.code(), "MANIFEST_INVALID");
    let huge = vec![b' '; super::super::manifest::MANIFEST_MAX + 1];
    let r = t.put_manifest("a", "big", OCI_MANIFEST, &huge).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "MANIFEST_INVALID"));
}

trait ReplaceMedia {
    fn replace_media(self, to: &str) -> Vec<u8>;
}

impl ReplaceMedia for Vec<u8> {
    /// The same manifest with another `mediaType` field than its `Content-Type`.
    fn replace_media(self, to: &str) -> Vec<u8> {
        let mut v: Value = serde_json::from_slice(&self).unwrap();
        v["mediaType"] = to.into();
        serde_json::to_vec(&v).unwrap()
    }
}

fn arch() -> &'static str {
    super::manifests::go_arch()
}

#[tokio::test]
async fn indexes_and_content_negotiation() {
    let t = setup();
    let (_, amd) = t.image("multi", "amd-only", &[b"a"]).await;
    let (_, other) = t.image("multi", "other-only", &[b"b"]).await;
    let index = |children: &[(&Digest, &str)]| {
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": children.iter().map(|(d, a)| json!({
                "mediaType": OCI_MANIFEST, "digest": d, "size": 1, "platform": {"architecture": a, "os": "linux"}
            })).collect::<Vec<_>>(),
        }))
        .unwrap()
    };
    let ghost = Digest::sha256_of(b"ghost");
    let r = t.put_manifest("multi", "idx", OCI_INDEX, &index(&[(&ghost, "amd64")])).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN"));
    let body = index(&[(&other, "mips"), (&amd, arch())]);
    let r = t.put_manifest("multi", "idx", OCI_INDEX, &body).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let index_digest = Digest::sha256_of(&body);

    let get = |accept: &'static str, reference: String| {
        let t = &t;
        async move {
            t.req(Method::GET, &format!("/v2/multi/manifests/{reference}"), &[("accept", accept)], Body::empty()).await
        }
    };
    let r =
        get("application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json", "idx".into()).await;
    assert_eq!((r.header("content-type"), r.body.clone()), (OCI_INDEX.to_string(), body.clone()));
    let r = get("*/*", "idx".into()).await;
    assert_eq!(r.header("content-type"), OCI_INDEX);
    // A client that takes image manifests only gets this host's entry for a tag…
    let r = get("application/vnd.oci.image.manifest.v1+json", "idx".into()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("docker-content-digest"), amd.as_str());
    // …but not for a digest.
    let r = get("application/vnd.oci.image.manifest.v1+json", index_digest.to_string()).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN"));
    // A Docker-only client and an OCI manifest.
    let accept_docker = "application/vnd.docker.distribution.manifest.v2+json; q=0.9, application/vnd.docker.distribution.manifest.list.v2+json";
    let r = get(accept_docker, "amd-only".into()).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN"));
    // A Docker manifest list is an index as well.
    let mut list: Value = serde_json::from_slice(&body).unwrap();
    list["mediaType"] = DOCKER_LIST.into();
    let r = t.put_manifest("multi", "list", DOCKER_LIST, &serde_json::to_vec(&list).unwrap()).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(get(accept_docker, "list".into()).await.header("content-type"), DOCKER_LIST);
}

#[tokio::test]
async fn tags_list_with_pagination() {
    let t = setup();
    let r = t.get("/v2/nothing/tags/list").await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::NOT_FOUND, "NAME_UNKNOWN"));
    for tag in ["b", "a", "C", "d"] {
        t.image("repo", tag, &[b"l"]).await;
    }
    let r = t.get("/v2/repo/tags/list").await;
    assert_eq!(r.json(), json!({"name": "repo", "tags": ["a", "b", "C", "d"]}));
    assert!(r.header("link").is_empty());
    let r = t.get("/v2/repo/tags/list?n=2").await;
    assert_eq!(r.json()["tags"], json!(["a", "b"]));
    assert_eq!(r.header("link"), "</v2/repo/tags/list?n=2&last=b>; rel=\"next\"");
    let r = t.get("/v2/repo/tags/list?n=2&last=b").await;
    assert_eq!(r.json()["tags"], json!(["C", "d"]));
    assert!(r.header("link").is_empty());
    let r = t.get("/v2/repo/tags/list?last=C").await;
    assert_eq!(r.json()["tags"], json!(["d"]));
    let r = t.get("/v2/repo/tags/list?n=0").await;
    assert_eq!((r.json()["tags"].clone(), r.header("link")), (json!([]), String::new()));
    let r = t.get("/v2/repo/tags/list?n=-1").await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "PAGINATION_NUMBER_INVALID"));
}

#[tokio::test]
async fn catalog_with_pagination() {
    let t = setup();
    assert_eq!(t.get("/v2/_catalog").await.json(), json!({"repositories": []}));
    for repo in ["b", "a/x", "a", "c/d/e"] {
        t.image(repo, "latest", &[b"l"]).await;
    }
    t.blob("only-blobs", b"x").await;
    assert_eq!(t.get("/v2/_catalog").await.json()["repositories"], json!(["a", "a/x", "b", "c/d/e"]));
    let r = t.get("/v2/_catalog?n=3").await;
    assert_eq!(r.json()["repositories"], json!(["a", "a/x", "b"]));
    assert_eq!(r.header("link"), "</v2/_catalog?n=3&last=b>; rel=\"next\"");
    assert_eq!(t.get("/v2/_catalog?n=3&last=b").await.json()["repositories"], json!(["c/d/e"]));
    assert_eq!(t.get("/v2/_catalog?n=x").await.code(), "PAGINATION_NUMBER_INVALID");
}

#[tokio::test]
async fn referrers_by_subject_and_artifact_type() {
    let t = setup();
    let (subject_body, subject) = t.image("app", "v1", &[b"l"]).await;
    let empty = t.blob("app", b"{}").await;
    let referrer = |artifact_type: Option<&str>, config_type: &str, note: &str| {
        let mut v = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": config_type, "digest": empty, "size": 2},
            "layers": [],
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": subject_body.len()},
            "annotations": {"note": note},
        });
        if let Some(a) = artifact_type {
            v["artifactType"] = a.into();
        }
        serde_json::to_vec(&v).unwrap()
    };
    let sbom = referrer(Some("application/x-sbom"), "application/vnd.oci.empty.v1+json", "sbom");
    let sig = referrer(None, "application/x-signature", "sig");
    for body in [&sbom, &sig] {
        let d = Digest::sha256_of(body);
        let r = t.put_manifest("app", d.as_str(), OCI_MANIFEST, body).await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(r.header("oci-subject"), subject.as_str());
    }
    let r = t.get(&format!("/v2/app/referrers/{subject}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), OCI_INDEX);
    let idx = r.json();
    assert_eq!(idx["schemaVersion"], 2);
    assert_eq!(idx["mediaType"], OCI_INDEX);
    let mut types: Vec<&str> =
        idx["manifests"].as_array().unwrap().iter().map(|m| m["artifactType"].as_str().unwrap()).collect();
    types.sort();
    assert_eq!(types, ["application/x-sbom", "application/x-signature"]);
    for m in idx["manifests"].as_array().unwrap() {
        assert_eq!(m["mediaType"], OCI_MANIFEST);
        assert!(m["annotations"]["note"].is_string());
        assert!(m["size"].as_u64().unwrap() > 0);
    }
    let r = t.get(&format!("/v2/app/referrers/{subject}?artifactType=application%2Fx-sbom")).await;
    assert_eq!(r.header("oci-filters-applied"), "artifactType");
    assert_eq!(r.json()["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(r.json()["manifests"][0]["digest"], Digest::sha256_of(&sbom).as_str());
    // No referrers, unknown repositories: an empty index, never 404.
    for uri in [format!("/v2/app/referrers/{}", Digest::sha256_of(b"none")), format!("/v2/nothing/referrers/{subject}")]
    {
        let r = t.get(&uri).await;
        assert_eq!((r.status, r.json()["manifests"].clone()), (StatusCode::OK, json!([])));
    }
    let r = t.get("/v2/app/referrers/sha256:zzz").await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "DIGEST_INVALID"));
    // Deleting a referrer takes it out of the list.
    assert_eq!(t.delete(&format!("/v2/app/manifests/{}", Digest::sha256_of(&sig))).await.status, StatusCode::ACCEPTED);
    assert_eq!(t.get(&format!("/v2/app/referrers/{subject}")).await.json()["manifests"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn deleting_tags_manifests_and_blobs() {
    let t = setup();
    let (_, d) = t.image("a", "v1", &[b"layer"]).await;
    let r = t.put_manifest("a", "v2", OCI_MANIFEST, &t.get("/v2/a/manifests/v1").await.body).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = t.delete("/v2/a/manifests/v1").await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(t.get("/v2/a/manifests/v1").await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.get(&format!("/v2/a/manifests/{d}")).await.status, StatusCode::OK, "the manifest stays");
    let r = t.delete("/v2/a/manifests/v1").await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN"));
    assert_eq!(t.delete(&format!("/v2/a/manifests/{d}")).await.status, StatusCode::ACCEPTED);
    assert_eq!(t.get(&format!("/v2/a/manifests/{d}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.get("/v2/a/manifests/v2").await.status, StatusCode::NOT_FOUND, "its tags went with it");
    assert_eq!(t.get("/v2/a/tags/list").await.json()["tags"], json!([]));
    assert_eq!(t.delete(&format!("/v2/a/manifests/{d}")).await.code(), "MANIFEST_UNKNOWN");

    let b = Digest::sha256_of(b"layer");
    let r = t.delete(&format!("/v2/a/blobs/{b}")).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(t.head(&format!("/v2/a/blobs/{b}")).await.status, StatusCode::NOT_FOUND);
    let r = t.delete(&format!("/v2/a/blobs/{b}")).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::NOT_FOUND, "BLOB_UNKNOWN"));
}

fn htpasswd() -> Htpasswd {
    let hash = bcrypt::hash_with_result("pw", 4).unwrap().format_for_version(bcrypt::Version::TwoY);
    Htpasswd::parse(&format!("user:{hash}\n")).unwrap()
}

#[tokio::test]
async fn basic_auth() {
    let t = setup_with(|c| {
        c.htpasswd = Some(htpasswd());
        c.realm = "Test Realm".into();
    });
    for headers in [&[][..], &[("authorization", "Basic dXNlcjp3cm9uZw==")][..], &[("authorization", "Bearer x")][..]] {
        let r = t.req(Method::GET, "/v2/", headers, Body::empty()).await;
        assert_eq!((r.status, r.code().as_str()), (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"));
        assert_eq!(r.header("www-authenticate"), "Basic realm=\"Test Realm\"");
    }
    let ok = [("authorization", "Basic dXNlcjpwdw==")];
    assert_eq!(t.req(Method::GET, "/v2/", &ok, Body::empty()).await.status, StatusCode::OK);
    let r = t.req(Method::GET, "/v2/a/tags/list", &[], Body::empty()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "every endpoint");
    let r = t.req(Method::GET, "/v2/a/tags/list", &ok, Body::empty()).await;
    assert_eq!(r.code(), "NAME_UNKNOWN");
}

#[tokio::test]
async fn read_only_refuses_writes() {
    let t = setup();
    let (_, d) = t.image("a", "v1", &[b"layer"]).await;
    let ro = Registry::open(Config { read_only: true, ..Config::new(t.reg.storage().root()) }).unwrap().router();
    let send = |m: Method, uri: String| {
        let app = ro.clone();
        async move {
            let resp = app.oneshot(Request::builder().method(m).uri(uri).body(Body::empty()).unwrap()).await.unwrap();
            let status = resp.status();
            let body: Value =
                serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap_or_default();
            (status, body["errors"][0]["code"].as_str().unwrap_or_default().to_string())
        }
    };
    for (m, uri) in [
        (Method::POST, "/v2/a/blobs/uploads/".to_string()),
        (Method::PUT, "/v2/a/manifests/v2".to_string()),
        (Method::DELETE, format!("/v2/a/manifests/{d}")),
        (Method::DELETE, format!("/v2/a/blobs/{d}")),
        (Method::PATCH, "/v2/a/blobs/uploads/01234567-89ab-4cde-8f01-23456789abcd".to_string()),
    ] {
        assert_eq!(
            send(m.clone(), uri.clone()).await,
            (StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED".to_string()),
            "{m} {uri}"
        );
    }
    assert_eq!(send(Method::GET, "/v2/a/manifests/v1".into()).await.0, StatusCode::OK);
    assert_eq!(send(Method::GET, "/v2/a/tags/list".into()).await.0, StatusCode::OK);
}

#[tokio::test]
async fn garbage_collection_keeps_what_manifests_name() {
    let t = setup();
    let (_, keep) = t.image("a", "keep", &[b"shared", b"kept only"]).await;
    let (_, gone) = t.image("a", "gone", &[b"shared", b"dropped only"]).await;
    let (_, untagged) = t.image("b", "tmp", &[b"untagged layer"]).await;
    assert_eq!(t.delete("/v2/b/manifests/tmp").await.status, StatusCode::ACCEPTED);
    assert_eq!(t.delete(&format!("/v2/a/manifests/{gone}")).await.status, StatusCode::ACCEPTED);
    t.blob("c", b"dangling").await;
    let s = t.reg.storage();
    let before = s.all_blobs().unwrap().len();

    let dry = collect(s, &GcOptions { dry_run: true, ..Default::default() }).unwrap();
    assert_eq!(s.all_blobs().unwrap().len(), before, "a dry run deletes nothing");
    let report = collect(s, &GcOptions::default()).unwrap();
    assert_eq!(dry, report);
    let deleted: Vec<Digest> = report.deleted_blobs.clone();
    assert!(deleted.contains(&gone) && deleted.contains(&Digest::sha256_of(b"dropped only")));
    assert!(deleted.contains(&Digest::sha256_of(b"dangling")));
    assert!(!deleted.contains(&Digest::sha256_of(b"shared")) && !deleted.contains(&keep));
    assert!(!deleted.contains(&untagged), "untagged manifests stay without delete_untagged");
    assert_eq!(t.get("/v2/a/manifests/keep").await.status, StatusCode::OK);
    assert_eq!(t.head(&format!("/v2/a/blobs/{}", Digest::sha256_of(b"kept only"))).await.status, StatusCode::OK);
    assert_eq!(t.head(&format!("/v2/c/blobs/{}", Digest::sha256_of(b"dangling"))).await.status, StatusCode::NOT_FOUND);
    assert!(s.linked_blobs(&crate::RepoName::parse("c").unwrap()).unwrap().is_empty(), "links to deleted blobs go");

    let report = collect(s, &GcOptions { delete_untagged: true, ..Default::default() }).unwrap();
    assert_eq!(report.deleted_manifests, [format!("b@{untagged}")]);
    assert!(report.deleted_blobs.contains(&Digest::sha256_of(b"untagged layer")));
    assert_eq!(t.get("/v2/a/manifests/keep").await.status, StatusCode::OK);
}
