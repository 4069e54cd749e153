//! Volumes: `GET /volumes` (filters `dangling`, `driver`, `label`, `name`), `POST
//! /volumes/create`, `GET`/`DELETE /volumes/{name}`, `POST /volumes/prune` (filters `label`,
//! `label!`, `all`), `PUT /volumes/{name}` (cluster volumes: refused, as by a dockerd that is not
//! a swarm manager) — Docker's `Volume` JSON out, its `CreateOptions` body in. The volumes part
//! of `/system/df` is served by `images::df` through [`VolumeBackend::disk_usage`].
//!
//! As dockerd (API 1.45):
//! - names are everything after `/volumes/` (dockerd's `{name:.*}`), so `GET /volumes/create`
//!   is an inspect of a volume called `create`;
//! - a create body may be empty (an anonymous volume: the backend names it); a non-null
//!   `ClusterVolumeSpec` from API 1.42 on is a swarm request, 503 here;
//! - before API 1.42 a prune considers every unused local volume (dockerd adds `all=true`);
//!   from 1.42 only anonymous ones unless `all` is true;
//! - `Warnings` of a list is `null` when there are none (dockerd's nil slice), and
//!   `VolumesDeleted` of a prune `[]` when nothing went.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use wharf_api::{ApiVersion, CURRENT_API_VERSION};
use wharf_types::{ErrorKind, Filters};

use crate::query::QueryArgs;
use crate::ApiError;

/// Filters `GET /volumes` accepts (dockerd's `acceptedListFilters`).
pub const VOLUME_FILTERS: &[&str] = &["dangling", "driver", "label", "name"];
/// Filters `POST /volumes/prune` accepts (dockerd's `acceptedPruneFilters`).
pub const VOLUME_PRUNE_FILTERS: &[&str] = &["all", "label", "label!"];
/// The label dockerd puts on a volume created without a name (`com.docker.volume.anonymous`,
/// empty value); prunes without `all` only consider volumes that carry it.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";
/// The API version that brought cluster volumes (and prune's anonymous-only default).
const CLUSTER_VOLUMES: ApiVersion = ApiVersion { major: 1, minor: 42 };
/// The most of a request body read.
const MAX_BODY: usize = 1 << 20;
/// dockerd's answer to a swarm request on a node that is not a swarm manager.
const NOT_A_MANAGER: &str = "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again.";
/// dockerd's answer to `PUT /volumes/{name}` without swarm.
const UPDATE_WITHOUT_SWARM: &str = "volume update only valid for cluster volumes, but swarm is unavailable";

/// `UsageData` of a volume in `/system/df` (Go's field order: `RefCount`, `Size`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeUsage {
    /// Containers using the volume; -1 when unknown.
    pub ref_count: i64,
    /// Bytes used; -1 when unknown (other drivers than `local`).
    pub size: i64,
}

/// Docker's `Volume` (Go's field order; `ClusterVolume` never present here).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeView {
    /// RFC 3339 creation time (seconds, the daemon's zone, as dockerd's `time.RFC3339`);
    /// omitted when empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub created_at: String,
    /// `local`.
    pub driver: String,
    /// Labels as given at creation: `None` is `null` (dockerd keeps a creation without
    /// `Labels` as nil), `Some({})` is `{}`.
    pub labels: Option<BTreeMap<String, String>>,
    /// `/var/lib/wharf/volumes/<name>/_data`.
    pub mountpoint: String,
    /// The name (64 hex characters for anonymous volumes).
    pub name: String,
    /// Driver options as given at creation (`DriverOpts`); `None` is `null`.
    pub options: Option<BTreeMap<String, String>>,
    /// `local`.
    pub scope: String,
    /// Driver status (inspect only); omitted when empty.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub status: BTreeMap<String, Value>,
    /// Only in `/system/df`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_data: Option<VolumeUsage>,
}

/// `POST /volumes/create` as the backend gets it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateVolume {
    /// Empty: an anonymous volume — the backend generates a 64-hex name and adds the
    /// [`ANONYMOUS_LABEL`] label (empty value), as dockerd.
    pub name: String,
    /// Empty: `local` (or, for an existing volume of that name, its driver).
    pub driver: String,
    /// `DriverOpts` (`type`, `device`, `o` for `local`); `None` when not sent or `null`.
    pub driver_opts: Option<BTreeMap<String, String>>,
    /// `Labels`; `None` when not sent or `null`.
    pub labels: Option<BTreeMap<String, String>>,
}

/// `POST /volumes/prune` as the backend gets it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneVolumes {
    /// Every unused local volume (API < 1.42, or filter `all` true); else only those with
    /// the [`ANONYMOUS_LABEL`] label.
    pub all: bool,
    /// `label` (all must match) and `label!` (none may match), already validated; `all` is
    /// removed.
    pub filters: Filters,
}

/// Docker's `VolumesPruneReport`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumePruneReport {
    /// Names removed (`[]` when none).
    pub volumes_deleted: Vec<String>,
    /// Bytes freed.
    pub space_reclaimed: u64,
}

/// What the volume routes (and `/system/df`) need from the daemon. Errors carry dockerd's
/// texts: `get NAME: no such volume` (404), `remove NAME: volume is in use - [ID, …]` (409),
/// `a prune operation is already running` (409), the name check's 400.
#[async_trait]
pub trait VolumeBackend: Send + Sync + 'static {
    /// `GET /volumes?filters=`: the volumes that match, and warnings (none normally). The
    /// filter keys are validated ([`VOLUME_FILTERS`]) and so is `dangling` (read it with
    /// [`dangling_filter`]); `name` matches as dockerd's `Match` (exact, or the value as a
    /// regular expression found in the name), `label` as `key` or `key=value`, all of them.
    /// `Status` left empty, as dockerd lists.
    async fn list(&self, filters: Filters) -> Result<(Vec<VolumeView>, Vec<String>), ApiError>;
    /// `GET /volumes/{name}`: with `Status` when the driver has one.
    async fn inspect(&self, name: &str) -> Result<VolumeView, ApiError>;
    /// `POST /volumes/create`: the volume (an existing one of that name and driver is
    /// returned as it is, as dockerd does).
    async fn create(&self, req: CreateVolume) -> Result<VolumeView, ApiError>;
    /// `DELETE /volumes/{name}?force=`: `force` makes a missing volume a success (dockerd's
    /// purge-on-error); a volume in use is a conflict either way.
    async fn remove(&self, name: &str, force: bool) -> Result<(), ApiError>;
    /// `POST /volumes/prune`: unused `local` volumes without driver options that match.
    async fn prune(&self, opts: PruneVolumes) -> Result<VolumePruneReport, ApiError>;
    /// The volumes part of `GET /system/df`: every `local` volume without driver options, with
    /// `usage_data` (dockerd's `LocalVolumesSize`).
    async fn disk_usage(&self) -> Result<Vec<VolumeView>, ApiError>;
}

type Backend = Arc<dyn VolumeBackend>;
type Name = Result<Path<String>, PathRejection>;

/// The routes.
pub(crate) fn routes(backend: Backend) -> Router {
    Router::new()
        .route("/volumes", get(list))
        .route("/volumes/{*name}", get(inspect).delete(remove).put(update).post(post_root))
        .with_state(backend)
}

fn name(p: Name) -> Result<String, ApiError> {
    p.map(|Path(s)| s).map_err(|e| ApiError::invalid(e.body_text()))
}

fn api_version(v: Option<Extension<ApiVersion>>) -> ApiVersion {
    v.map(|Extension(v)| v).unwrap_or(CURRENT_API_VERSION)
}

/// dockerd's `filters.FromJSON`, whose only error text is `invalid filter`.
fn parse_filters(q: &QueryArgs) -> Result<Filters, ApiError> {
    Filters::from_json(q.get("filters").unwrap_or_default()).map_err(|_| ApiError::invalid("invalid filter"))
}

/// The `dangling` filter as dockerd's `GetBoolOrDefault` reads it: `None` when absent;
/// `1`/`true` or `0`/`false`, one side only; anything else is `invalid filter 'dangling=…'`.
pub fn dangling_filter(f: &Filters) -> Result<Option<bool>, ApiError> {
    if !f.contains("dangling") {
        return Ok(None);
    }
    let values: Vec<&str> = f.get("dangling").collect();
    if values.is_empty() {
        return Err(ApiError::invalid("invalid filter 'dangling'"));
    }
    let is_true = values.iter().any(|v| matches!(*v, "1" | "true"));
    let is_false = values.iter().any(|v| matches!(*v, "0" | "false"));
    if is_true == is_false {
        return Err(ApiError::invalid(format!("invalid filter 'dangling={}'", values.join(","))));
    }
    Ok(Some(is_true))
}

/// Go's `strconv.ParseBool`.
fn go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// dockerd's prune filters: `all` added before API 1.42, then read (`withPrune`), then the keys
/// checked.
fn prune_options(mut f: Filters, version: ApiVersion) -> Result<PruneVolumes, ApiError> {
    if version < CLUSTER_VOLUMES {
        f.add("all", "true");
    }
    let all: Vec<&str> = f.get("all").collect();
    let all = match all.as_slice() {
        [] => false,
        [one] => go_bool(one).ok_or_else(|| {
            ApiError::invalid(format!("invalid filter 'all': strconv.ParseBool: parsing \"{one}\": invalid syntax"))
        })?,
        many => {
            return Err(ApiError::invalid(format!(
                "invalid filter 'all=[{}]': only one value is expected",
                many.join(" ")
            )))
        }
    };
    f.validate(VOLUME_PRUNE_FILTERS).map_err(ApiError::from_err)?;
    Ok(PruneVolumes { all, filters: without(&f, "all") })
}

/// `f` without `key`.
fn without(f: &Filters, key: &str) -> Filters {
    if !f.contains(key) {
        return f.clone();
    }
    let mut map: serde_json::Map<String, Value> = serde_json::from_str(&f.to_json()).unwrap_or_default();
    map.remove(key);
    Filters::from_json(&Value::Object(map).to_string()).unwrap_or_default()
}

/// Docker's `VolumeListResponse`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListResponse {
    volumes: Vec<VolumeView>,
    warnings: Option<Vec<String>>,
}

async fn list(State(b): State<Backend>, uri: Uri) -> Result<Response, ApiError> {
    let q = QueryArgs::from_uri(&uri)?;
    let f = Filters::from_json(q.get("filters").unwrap_or_default())
        .map_err(|_| ApiError::invalid("error reading volume filters: invalid filter"))?;
    f.validate(VOLUME_FILTERS).map_err(ApiError::from_err)?;
    dangling_filter(&f)?;
    let (volumes, warnings) = b.list(f).await?;
    let warnings = (!warnings.is_empty()).then_some(warnings);
    Ok(Json(ListResponse { volumes, warnings }).into_response())
}

async fn inspect(State(b): State<Backend>, p: Name) -> Result<Response, ApiError> {
    Ok(Json(b.inspect(&name(p)?).await?).into_response())
}

async fn remove(State(b): State<Backend>, uri: Uri, p: Name) -> Result<Response, ApiError> {
    let name = name(p)?;
    let q = QueryArgs::from_uri(&uri)?;
    b.remove(&name, q.bool("force")).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PUT /volumes/{name}`: dockerd without swarm refuses before reading anything.
async fn update() -> ApiError {
    ApiError::new(ErrorKind::Unavailable, UPDATE_WITHOUT_SWARM)
}

/// Go's JSON decoding of a string or map field: `null` leaves the zero value.
fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Docker's `volume.CreateOptions` as sent.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct CreateBody {
    #[serde(deserialize_with = "nullable")]
    name: String,
    #[serde(deserialize_with = "nullable")]
    driver: String,
    driver_opts: Option<BTreeMap<String, String>>,
    labels: Option<BTreeMap<String, String>>,
    cluster_volume_spec: Option<Value>,
}

/// `POST /volumes/create` and `POST /volumes/prune`.
async fn post_root(
    State(b): State<Backend>,
    version: Option<Extension<ApiVersion>>,
    uri: Uri,
    headers: HeaderMap,
    p: Name,
    body: Body,
) -> Result<Response, ApiError> {
    let version = api_version(version);
    match name(p)?.as_str() {
        "create" => {
            let bytes = axum::body::to_bytes(body, MAX_BODY)
                .await
                .map_err(|e| ApiError::invalid(format!("error reading request body: {e}")))?;
            crate::containers::check_json(&headers, &bytes)?;
            let req: CreateBody = if bytes.is_empty() {
                CreateBody::default()
            } else {
                serde_json::from_slice(&bytes).map_err(|e| ApiError::invalid(format!("invalid JSON: {e}")))?
            };
            if req.cluster_volume_spec.is_some() && version >= CLUSTER_VOLUMES {
                return Err(ApiError::new(ErrorKind::Unavailable, NOT_A_MANAGER));
            }
            let created = b
                .create(CreateVolume {
                    name: req.name,
                    driver: req.driver,
                    driver_opts: req.driver_opts,
                    labels: req.labels,
                })
                .await?;
            Ok((StatusCode::CREATED, Json(created)).into_response())
        }
        "prune" => {
            let q = QueryArgs::from_uri(&uri)?;
            let opts = prune_options(parse_filters(&q)?, version)?;
            Ok(Json(b.prune(opts).await?).into_response())
        }
        _ => Err(crate::error::not_found().await),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::sync::Mutex;
    use tower::ServiceExt;

    #[derive(Default)]
    struct Fake {
        calls: Mutex<Vec<String>>,
    }

    impl Fake {
        fn record(&self, call: String) {
            self.calls.lock().unwrap().push(call);
        }

        fn last(&self) -> String {
            self.calls.lock().unwrap().last().cloned().unwrap_or_default()
        }
    }

    fn vol(name: &str) -> VolumeView {
        VolumeView {
            created_at: "2026-11-29T10:00:00Z".into(),
            driver: "local".into(),
            labels: None,
            mountpoint: format!("/var/lib/wharf/volumes/{name}/_data"),
            name: name.into(),
            options: None,
            scope: "local".into(),
            ..Default::default()
        }
    }

    fn missing(name: &str) -> ApiError {
        ApiError::new(ErrorKind::NotFound, format!("get {name}: no such volume"))
    }

    #[async_trait]
    impl VolumeBackend for Fake {
        async fn list(&self, f: Filters) -> Result<(Vec<VolumeView>, Vec<String>), ApiError> {
            self.record(format!("list {}", f.to_json()));
            let warnings = if f.contains("driver") { vec!["driver x: unavailable".to_string()] } else { vec![] };
            Ok((vec![vol("a"), vol("b")], warnings))
        }
        async fn inspect(&self, name: &str) -> Result<VolumeView, ApiError> {
            self.record(format!("inspect {name}"));
            if name != "a" {
                return Err(missing(name));
            }
            let mut v = vol(name);
            v.labels = Some([("x".to_string(), "1".to_string())].into());
            v.status = [("hello".to_string(), Value::from("world"))].into();
            Ok(v)
        }
        async fn create(&self, req: CreateVolume) -> Result<VolumeView, ApiError> {
            self.record(format!("create {:?}", req));
            if req.name == "bad/name" {
                return Err(ApiError::invalid(
                    "create bad/name: \"bad/name\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
                ));
            }
            let name = if req.name.is_empty() { "f".repeat(64) } else { req.name };
            Ok(VolumeView { labels: req.labels, options: req.driver_opts, ..vol(&name) })
        }
        async fn remove(&self, name: &str, force: bool) -> Result<(), ApiError> {
            self.record(format!("remove {name} force={force}"));
            match name {
                "busy" => Err(ApiError::new(ErrorKind::Conflict, "remove busy: volume is in use - [abc]")),
                "gone" if !force => Err(missing(name)),
                _ => Ok(()),
            }
        }
        async fn prune(&self, opts: PruneVolumes) -> Result<VolumePruneReport, ApiError> {
            self.record(format!("prune all={} {}", opts.all, opts.filters.to_json()));
            if opts.filters.contains("label") {
                return Ok(VolumePruneReport::default());
            }
            Ok(VolumePruneReport { volumes_deleted: vec!["a".into()], space_reclaimed: 4096 })
        }
        async fn disk_usage(&self) -> Result<Vec<VolumeView>, ApiError> {
            Ok(vec![VolumeView { usage_data: Some(VolumeUsage { ref_count: 1, size: 10 }), ..vol("a") }])
        }
    }

    /// The routes as `crate::service` serves them: version layer, 404 fallbacks.
    async fn send(
        fake: &Arc<Fake>,
        method: &str,
        uri: &str,
        ct: Option<&str>,
        body: &'static [u8],
    ) -> (StatusCode, Value) {
        let api =
            routes(fake.clone()).fallback(crate::error::not_found).method_not_allowed_fallback(crate::error::not_found);
        let app = Router::new().fallback_service(api).layer(axum::middleware::from_fn(crate::version::negotiate));
        let mut req = http::Request::builder().method(method).uri(uri);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let resp = app.oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn get(fake: &Arc<Fake>, uri: &str) -> (StatusCode, Value) {
        send(fake, "GET", uri, None, b"").await
    }

    /// A query value escaped as Go's `url.QueryEscape` would.
    fn q(filters: &str) -> String {
        filters
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect()
    }

    #[tokio::test]
    async fn list_has_dockers_shape() {
        let fake = Arc::new(Fake::default());
        let (s, v) = get(&fake, "/volumes").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            v,
            serde_json::json!({"Volumes": [
                {"CreatedAt": "2026-11-29T10:00:00Z", "Driver": "local", "Labels": null,
                 "Mountpoint": "/var/lib/wharf/volumes/a/_data", "Name": "a", "Options": null, "Scope": "local"},
                {"CreatedAt": "2026-11-29T10:00:00Z", "Driver": "local", "Labels": null,
                 "Mountpoint": "/var/lib/wharf/volumes/b/_data", "Name": "b", "Options": null, "Scope": "local"},
            ], "Warnings": null})
        );
        assert_eq!(fake.last(), "list {}");
        // Both wire forms of the filters; warnings pass through.
        let (s, v) =
            get(&fake, &format!("/v1.45/volumes?filters={}", q(r#"{"driver":{"local":true},"name":["a"]}"#))).await;
        assert_eq!((s, &v["Warnings"]), (StatusCode::OK, &serde_json::json!(["driver x: unavailable"])));
        assert_eq!(fake.last(), r#"list {"driver":["local"],"name":["a"]}"#);
        let (s, _) = get(&fake, &format!("/volumes?filters={}", q(r#"{"dangling":["true"],"label":["x=1"]}"#))).await;
        assert_eq!(s, StatusCode::OK);
    }

    #[tokio::test]
    async fn list_filter_errors_are_dockerds() {
        let fake = Arc::new(Fake::default());
        let cases = [
            (r#"{"bogus":["x"]}"#, "invalid filter 'bogus'"),
            (r#"{"all":["1"]}"#, "invalid filter 'all'"),
            (r#"{"dangling":["maybe"]}"#, "invalid filter 'dangling=maybe'"),
            (r#"{"dangling":["0","true"]}"#, "invalid filter 'dangling=0,true'"),
            (r#"{"dangling":[]}"#, "invalid filter 'dangling'"),
            ("{", "error reading volume filters: invalid filter"),
        ];
        for (filters, message) in cases {
            let (s, v) = get(&fake, &format!("/volumes?filters={}", q(filters))).await;
            assert_eq!((s, v["message"].as_str()), (StatusCode::BAD_REQUEST, Some(message)), "{filters}");
        }
        assert!(fake.calls.lock().unwrap().is_empty(), "the backend is not asked on a bad filter");
    }

    #[tokio::test]
    async fn inspect_and_missing() {
        let fake = Arc::new(Fake::default());
        let (s, v) = get(&fake, "/volumes/a").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["Labels"], serde_json::json!({"x": "1"}));
        assert_eq!(v["Status"], serde_json::json!({"hello": "world"}));
        assert!(v.get("UsageData").is_none() && v.get("ClusterVolume").is_none());
        let (s, v) = get(&fake, "/v1.24/volumes/nope").await;
        assert_eq!((s, v["message"].as_str()), (StatusCode::NOT_FOUND, Some("get nope: no such volume")));
        // dockerd's `{name:.*}`: `create` and names with a slash are names on GET.
        let (s, _) = get(&fake, "/volumes/create").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(fake.last(), "inspect create");
        let (s, _) = get(&fake, "/volumes/a%20b/c").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(fake.last(), "inspect a b/c");
    }

    #[tokio::test]
    async fn create_as_dockerd() {
        let fake = Arc::new(Fake::default());
        let json = Some("application/json");
        // What docker 28 sends for `docker volume create --label a=b -o type=tmpfs -d local v1`.
        let body = br#"{"Driver":"local","DriverOpts":{"type":"tmpfs"},"Labels":{"a":"b"},"Name":"v1"}"#;
        let (s, v) = send(&fake, "POST", "/volumes/create", json, body).await;
        assert_eq!(s, StatusCode::CREATED);
        assert_eq!(
            (v["Name"].as_str(), &v["Labels"], &v["Options"]),
            (Some("v1"), &serde_json::json!({"a": "b"}), &serde_json::json!({"type": "tmpfs"}))
        );
        assert_eq!(
            fake.last(),
            r#"create CreateVolume { name: "v1", driver: "local", driver_opts: Some({"type": "tmpfs"}), labels: Some({"a": "b"}) }"#
        );
        // docker-py's nulls, and an empty body (an anonymous volume).
        let (s, _) =
            send(&fake, "POST", "/volumes/create", json, br#"{"Name":null,"Driver":null,"DriverOpts":null}"#).await;
        assert_eq!(s, StatusCode::CREATED);
        assert_eq!(fake.last(), r#"create CreateVolume { name: "", driver: "", driver_opts: None, labels: None }"#);
        let (s, v) = send(&fake, "POST", "/volumes/create", None, b"").await;
        assert_eq!((s, v["Name"].as_str().map(str::len)), (StatusCode::CREATED, Some(64)));
        // Body checks.
        let (s, v) = send(&fake, "POST", "/volumes/create", Some("text/plain"), b"{}").await;
        assert_eq!(
            (s, v["message"].as_str()),
            (StatusCode::BAD_REQUEST, Some("unsupported Content-Type header (text/plain): must be 'application/json'"))
        );
        let (s, v) = send(&fake, "POST", "/volumes/create", json, br#"{"Labels":"x"}"#).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(v["message"].as_str().unwrap().starts_with("invalid JSON: "), "{v}");
        let (s, v) = send(&fake, "POST", "/volumes/create", json, br#"{"Name":"bad/name"}"#).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(v["message"].as_str().unwrap().contains("includes invalid characters"), "{v}");
        // A cluster volume: swarm is not there from 1.42; ignored before.
        let spec = br#"{"Name":"c","ClusterVolumeSpec":{"AccessMode":{"Scope":"single"}}}"#;
        let n = fake.calls.lock().unwrap().len();
        let (s, v) = send(&fake, "POST", "/v1.45/volumes/create", json, spec).await;
        assert_eq!((s, v["message"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some(NOT_A_MANAGER)));
        assert_eq!(fake.calls.lock().unwrap().len(), n);
        let (s, _) = send(&fake, "POST", "/v1.41/volumes/create", json, spec).await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, _) = send(&fake, "POST", "/volumes/create", json, br#"{"Name":"d","ClusterVolumeSpec":null}"#).await;
        assert_eq!(s, StatusCode::CREATED);
    }

    #[tokio::test]
    async fn remove_maps_force_and_errors() {
        let fake = Arc::new(Fake::default());
        let (s, _) = send(&fake, "DELETE", "/volumes/a", None, b"").await;
        assert_eq!((s, fake.last().as_str()), (StatusCode::NO_CONTENT, "remove a force=false"));
        let (s, v) = send(&fake, "DELETE", "/volumes/gone", None, b"").await;
        assert_eq!((s, v["message"].as_str()), (StatusCode::NOT_FOUND, Some("get gone: no such volume")));
        let (s, _) = send(&fake, "DELETE", "/volumes/gone?force=1", None, b"").await;
        assert_eq!((s, fake.last().as_str()), (StatusCode::NO_CONTENT, "remove gone force=true"));
        let (s, v) = send(&fake, "DELETE", "/volumes/busy?force=true", None, b"").await;
        assert_eq!((s, v["message"].as_str()), (StatusCode::CONFLICT, Some("remove busy: volume is in use - [abc]")));
        let (s, _) = send(&fake, "DELETE", "/volumes/a?force=0", None, b"").await;
        assert_eq!((s, fake.last().as_str()), (StatusCode::NO_CONTENT, "remove a force=false"));
    }

    #[tokio::test]
    async fn prune_by_api_version() {
        let fake = Arc::new(Fake::default());
        let (s, v) = send(&fake, "POST", "/volumes/prune", None, b"").await;
        assert_eq!((s, v), (StatusCode::OK, serde_json::json!({"VolumesDeleted": ["a"], "SpaceReclaimed": 4096})));
        assert_eq!(fake.last(), "prune all=false {}");
        // Nothing deleted is `[]`, not null.
        let uri = format!("/volumes/prune?filters={}", q(r#"{"label":{"x":true},"label!":["y=1"]}"#));
        let (s, v) = send(&fake, "POST", &uri, None, b"").await;
        assert_eq!((s, v), (StatusCode::OK, serde_json::json!({"VolumesDeleted": [], "SpaceReclaimed": 0})));
        assert_eq!(fake.last(), r#"prune all=false {"label":["x"],"label!":["y=1"]}"#);
        // `all` is read as Go's ParseBool and removed from the filters.
        for (all, want) in [("true", true), ("1", true), ("False", false), ("T", true)] {
            let uri = format!("/v1.42/volumes/prune?filters={}", q(&format!(r#"{{"all":["{all}"]}}"#)));
            let (s, _) = send(&fake, "POST", &uri, None, b"").await;
            assert_eq!((s, fake.last()), (StatusCode::OK, format!("prune all={want} {{}}")), "{all}");
        }
        // Before 1.42 dockerd adds all=true: every unused volume goes.
        let (s, _) = send(&fake, "POST", "/v1.41/volumes/prune", None, b"").await;
        assert_eq!((s, fake.last().as_str()), (StatusCode::OK, "prune all=true {}"));
        let uri = format!("/v1.41/volumes/prune?filters={}", q(r#"{"all":["true"]}"#));
        let (s, _) = send(&fake, "POST", &uri, None, b"").await;
        assert_eq!((s, fake.last().as_str()), (StatusCode::OK, "prune all=true {}"));
        let n = fake.calls.lock().unwrap().len();
        let cases = [
            (
                "v1.45",
                r#"{"all":["maybe"]}"#,
                r#"invalid filter 'all': strconv.ParseBool: parsing "maybe": invalid syntax"#,
            ),
            ("v1.45", r#"{"all":["1","true"]}"#, "invalid filter 'all=[1 true]': only one value is expected"),
            // A 1.41 client's all=false meets dockerd's added all=true.
            ("v1.41", r#"{"all":["false"]}"#, "invalid filter 'all=[false true]': only one value is expected"),
            ("v1.45", r#"{"dangling":["true"]}"#, "invalid filter 'dangling'"),
            ("v1.45", r#"{"until":["1h"]}"#, "invalid filter 'until'"),
            ("v1.45", "[", "invalid filter"),
        ];
        for (v, filters, message) in cases {
            let uri = format!("/{v}/volumes/prune?filters={}", q(filters));
            let (s, body) = send(&fake, "POST", &uri, None, b"").await;
            assert_eq!((s, body["message"].as_str()), (StatusCode::BAD_REQUEST, Some(message)), "{v} {filters}");
        }
        assert_eq!(fake.calls.lock().unwrap().len(), n, "the backend is not asked on a bad filter");
    }

    #[tokio::test]
    async fn update_and_unknown_posts() {
        let fake = Arc::new(Fake::default());
        let (s, v) = send(&fake, "PUT", "/volumes/a?version=1", Some("application/json"), b"{}").await;
        assert_eq!((s, v["message"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some(UPDATE_WITHOUT_SWARM)));
        let (s, v) = send(&fake, "POST", "/volumes/a", None, b"").await;
        assert_eq!((s, v["message"].as_str()), (StatusCode::NOT_FOUND, Some("page not found")));
        let (s, v) = send(&fake, "PATCH", "/volumes", None, b"").await;
        assert_eq!((s, v["message"].as_str()), (StatusCode::NOT_FOUND, Some("page not found")));
        assert!(fake.calls.lock().unwrap().is_empty());
    }

    #[test]
    fn dangling_values() {
        let f = |s: &str| Filters::from_json(s).unwrap();
        assert_eq!(dangling_filter(&f("{}")).unwrap(), None);
        assert_eq!(dangling_filter(&f(r#"{"dangling":["1"]}"#)).unwrap(), Some(true));
        assert_eq!(dangling_filter(&f(r#"{"dangling":["false","0"]}"#)).unwrap(), Some(false));
        assert!(dangling_filter(&f(r#"{"dangling":["True"]}"#)).is_err());
    }

    #[test]
    fn usage_data_field_order() {
        let v = VolumeView { usage_data: Some(VolumeUsage { ref_count: 2, size: -1 }), ..vol("x") };
        let s = serde_json::to_string(&v).unwrap();
        assert_eq!(
            s,
            r#"{"CreatedAt":"2026-11-29T10:00:00Z","Driver":"local","Labels":null,"Mountpoint":"/var/lib/wharf/volumes/x/_data","Name":"x","Options":null,"Scope":"local","UsageData":{"RefCount":2,"Size":-1}}"#
        );
    }
}
