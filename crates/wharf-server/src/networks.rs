//! Networks: `GET /networks` (filters `dangling`, `driver`, `id`, `label`, `name`, `scope`,
//! `type`), `GET`/`DELETE /networks/{id}`, `POST /networks/create`,
//! `POST /networks/{id}/connect` and `…/disconnect`, `POST /networks/prune` — Docker's
//! `NetworkResource` JSON out, its create/connect bodies in.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wharf_types::Filters;

use crate::query::QueryArgs;
use crate::ApiError;

/// Filters `GET /networks` accepts (dockerd's `acceptedNetworkFilters`).
pub const NETWORK_FILTERS: &[&str] = &["dangling", "driver", "id", "label", "name", "scope", "type"];
/// Filters `POST /networks/prune` accepts.
const PRUNE_FILTERS: &[&str] = &["label", "label!", "until"];
/// The most of a request body read.
const MAX_BODY: usize = 1 << 20;

/// One IPAM pool of a network (`IPAM.Config[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IpamConfig {
    /// `172.18.0.0/16`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subnet: String,
    /// Addresses handed out (a sub-range of the subnet).
    #[serde(default, rename = "IPRange", skip_serializing_if = "String::is_empty")]
    pub ip_range: String,
    /// The gateway address.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub gateway: String,
    /// Reserved addresses by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", alias = "AuxAddress")]
    pub auxiliary_addresses: BTreeMap<String, String>,
}

/// `IPAM`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ipam {
    /// Always `default` here.
    #[serde(default = "default_ipam_driver")]
    pub driver: String,
    /// Driver options.
    #[serde(default)]
    pub options: Option<BTreeMap<String, String>>,
    /// The pools.
    #[serde(default)]
    pub config: Vec<IpamConfig>,
}

fn default_ipam_driver() -> String {
    "default".into()
}

impl Default for Ipam {
    fn default() -> Self {
        Ipam { driver: default_ipam_driver(), options: None, config: Vec::new() }
    }
}

/// A container on a network (`Containers` of an inspected network).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkContainer {
    /// The container's name.
    pub name: String,
    /// The endpoint's ID.
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    /// `02:42:…`.
    pub mac_address: String,
    /// `172.18.0.2/16`.
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
    /// Empty without IPv6.
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: String,
}

/// Docker's `NetworkResource`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkView {
    /// The name.
    pub name: String,
    /// 64 hex characters.
    pub id: String,
    /// RFC 3339 creation time.
    pub created: String,
    /// `local`.
    pub scope: String,
    /// `bridge`, `host`, `null`, `macvlan`.
    pub driver: String,
    /// IPv6 enabled.
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: bool,
    /// Address management.
    #[serde(rename = "IPAM")]
    pub ipam: Ipam,
    /// No egress.
    pub internal: bool,
    /// Attachable by standalone containers (swarm).
    pub attachable: bool,
    /// The swarm routing mesh.
    pub ingress: bool,
    /// `{"Network": ""}`.
    pub config_from: Value,
    /// A config-only network.
    pub config_only: bool,
    /// Attached containers by ID (inspect; empty in lists).
    pub containers: BTreeMap<String, NetworkContainer>,
    /// Driver options.
    pub options: BTreeMap<String, String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// `POST /networks/create` body.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateNetwork {
    /// Required.
    pub name: String,
    /// Deprecated: always enforced.
    pub check_duplicate: bool,
    /// Default `bridge`.
    pub driver: String,
    /// `local` (or empty).
    pub scope: String,
    /// No egress.
    pub internal: bool,
    /// Attachable.
    pub attachable: bool,
    /// Swarm ingress (refused).
    pub ingress: bool,
    /// IPAM.
    #[serde(rename = "IPAM")]
    pub ipam: Option<Ipam>,
    /// IPv6.
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: Option<bool>,
    /// Driver options (`com.docker.network.bridge.name`, `parent` for macvlan, …).
    pub options: Option<BTreeMap<String, String>>,
    /// Labels.
    pub labels: Option<BTreeMap<String, String>>,
    /// Config-only network.
    pub config_only: bool,
    /// Configuration from a config-only network.
    pub config_from: Option<Value>,
}

/// `POST /networks/{id}/connect` body.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ConnectRequest {
    /// The container.
    pub container: String,
    /// Docker's `EndpointSettings` (`IPAMConfig.IPv4Address`, `Aliases`, …), as sent.
    pub endpoint_config: Option<Value>,
}

/// `POST /networks/{id}/disconnect` body.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DisconnectRequest {
    /// The container.
    pub container: String,
    /// Disconnect even if the container is not running / the endpoint is broken.
    pub force: bool,
}

/// What the network routes need from the daemon.
#[async_trait]
pub trait NetworkBackend: Send + Sync + 'static {
    /// `GET /networks?filters=`: filtered; `Containers` left empty, as dockerd lists them.
    async fn list(&self, filters: Filters) -> Result<Vec<NetworkView>, ApiError>;
    /// `GET /networks/{id}`: by full or partial ID or name.
    async fn inspect(&self, name: &str) -> Result<NetworkView, ApiError>;
    /// `POST /networks/create`: the ID and a warning (empty).
    async fn create(&self, req: CreateNetwork) -> Result<(String, String), ApiError>;
    /// `DELETE /networks/{id}`.
    async fn remove(&self, name: &str) -> Result<(), ApiError>;
    /// `POST /networks/{id}/connect`.
    async fn connect(&self, name: &str, req: ConnectRequest) -> Result<(), ApiError>;
    /// `POST /networks/{id}/disconnect`.
    async fn disconnect(&self, name: &str, req: DisconnectRequest) -> Result<(), ApiError>;
    /// `POST /networks/prune`: the names removed.
    async fn prune(&self, filters: Filters) -> Result<Vec<String>, ApiError>;
}

type Backend = Arc<dyn NetworkBackend>;
type Id = Result<Path<String>, PathRejection>;

/// The routes.
pub(crate) fn routes(backend: Backend) -> Router {
    Router::new()
        .route("/networks", get(list))
        .route("/networks/{id}", get(inspect).delete(remove).post(post_root))
        .route("/networks/{id}/connect", post(connect))
        .route("/networks/{id}/disconnect", post(disconnect))
        .with_state(backend)
}

fn id(p: Id) -> Result<String, ApiError> {
    p.map(|Path(s)| s).map_err(|e| ApiError::invalid(e.body_text()))
}

fn filters(q: &QueryArgs, accepted: &[&str]) -> Result<Filters, ApiError> {
    let f = Filters::from_json(q.get("filters").unwrap_or_default()).map_err(ApiError::from_err)?;
    f.validate(accepted).map_err(ApiError::from_err)?;
    Ok(f)
}

async fn list(State(b): State<Backend>, uri: Uri) -> Result<Response, ApiError> {
    let q = QueryArgs::from_uri(&uri)?;
    let f = filters(&q, NETWORK_FILTERS)?;
    for t in f.get("type") {
        if t != "custom" && t != "builtin" {
            return Err(ApiError::invalid(format!("invalid filter: 'type'='{t}'")));
        }
    }
    Ok(Json(b.list(f).await?).into_response())
}

async fn inspect(State(b): State<Backend>, p: Id) -> Result<Response, ApiError> {
    Ok(Json(b.inspect(&id(p)?).await?).into_response())
}

async fn remove(State(b): State<Backend>, p: Id) -> Result<Response, ApiError> {
    b.remove(&id(p)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Reads a JSON body (`{}` when empty).
async fn body_json<T: serde::de::DeserializeOwned + Default>(body: Body) -> Result<T, ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|e| ApiError::invalid(format!("error reading request body: {e}")))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&bytes).map_err(|e| ApiError::invalid(format!("invalid JSON: {e}")))
}

/// `POST /networks/create` and `POST /networks/prune`.
async fn post_root(State(b): State<Backend>, uri: Uri, _h: HeaderMap, p: Id, body: Body) -> Result<Response, ApiError> {
    match id(p)?.as_str() {
        "create" => {
            let req: CreateNetwork = body_json(body).await?;
            if req.name.is_empty() {
                return Err(ApiError::invalid("network name must not be empty"));
            }
            let (id, warning) = b.create(req).await?;
            Ok((StatusCode::CREATED, Json(serde_json::json!({ "Id": id, "Warning": warning }))).into_response())
        }
        "prune" => {
            let q = QueryArgs::from_uri(&uri)?;
            let removed = b.prune(filters(&q, PRUNE_FILTERS)?).await?;
            let removed = (!removed.is_empty()).then_some(removed);
            Ok(Json(serde_json::json!({ "NetworksDeleted": removed })).into_response())
        }
        _ => Err(crate::error::not_found().await),
    }
}

async fn connect(State(b): State<Backend>, p: Id, body: Body) -> Result<Response, ApiError> {
    let name = id(p)?;
    let req: ConnectRequest = body_json(body).await?;
    b.connect(&name, req).await?;
    Ok(StatusCode::OK.into_response())
}

async fn disconnect(State(b): State<Backend>, p: Id, body: Body) -> Result<Response, ApiError> {
    let name = id(p)?;
    let req: DisconnectRequest = body_json(body).await?;
    b.disconnect(&name, req).await?;
    Ok(StatusCode::OK.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::sync::Mutex;
    use tower::ServiceExt;
    use wharf_types::ErrorKind;

    #[derive(Default)]
    struct Fake {
        calls: Mutex<Vec<String>>,
    }

    fn net(name: &str) -> NetworkView {
        NetworkView {
            name: name.into(),
            id: "ab".repeat(32),
            created: "2026-11-29T00:00:00Z".into(),
            scope: "local".into(),
            driver: "bridge".into(),
            ipam: Ipam {
                config: vec![IpamConfig {
                    subnet: "172.18.0.0/16".into(),
                    gateway: "172.18.0.1".into(),
                    ..Default::default()
                }],
                ..Default::default()
            },
            config_from: serde_json::json!({"Network": ""}),
            ..Default::default()
        }
    }

    #[async_trait]
    impl NetworkBackend for Fake {
        async fn list(&self, f: Filters) -> Result<Vec<NetworkView>, ApiError> {
            self.calls.lock().unwrap().push(format!("list {:?}", f.get("name").collect::<Vec<_>>()));
            Ok(vec![net("bridge"), net("mine")])
        }
        async fn inspect(&self, name: &str) -> Result<NetworkView, ApiError> {
            if name == "missing" {
                return Err(ApiError::new(ErrorKind::NotFound, "network missing not found"));
            }
            Ok(net(name))
        }
        async fn create(&self, req: CreateNetwork) -> Result<(String, String), ApiError> {
            let subnets: Vec<String> =
                req.ipam.map(|i| i.config.into_iter().map(|c| c.subnet).collect()).unwrap_or_default();
            self.calls
                .lock()
                .unwrap()
                .push(format!("create {} {} {:?} {}", req.name, req.driver, subnets, req.internal));
            Ok(("cd".repeat(32), String::new()))
        }
        async fn remove(&self, name: &str) -> Result<(), ApiError> {
            if name == "bridge" {
                return Err(ApiError::new(
                    ErrorKind::Forbidden,
                    "bridge is a pre-defined network and cannot be removed",
                ));
            }
            self.calls.lock().unwrap().push(format!("remove {name}"));
            Ok(())
        }
        async fn connect(&self, name: &str, req: ConnectRequest) -> Result<(), ApiError> {
            let ip = req.endpoint_config.as_ref().and_then(|e| e.pointer("/IPAMConfig/IPv4Address")).cloned();
            self.calls.lock().unwrap().push(format!("connect {name} {} {ip:?}", req.container));
            Ok(())
        }
        async fn disconnect(&self, name: &str, req: DisconnectRequest) -> Result<(), ApiError> {
            self.calls.lock().unwrap().push(format!("disconnect {name} {} {}", req.container, req.force));
            Ok(())
        }
        async fn prune(&self, _f: Filters) -> Result<Vec<String>, ApiError> {
            Ok(vec!["old".into()])
        }
    }

    async fn send(fake: &Arc<Fake>, method: &str, uri: &str, body: &'static [u8]) -> (StatusCode, Value) {
        let req = http::Request::builder().method(method).uri(uri).body(Body::from(body)).unwrap();
        let resp = routes(fake.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn list_and_inspect_have_dockers_shape() {
        let fake = Arc::new(Fake::default());
        let (s, v) = send(&fake, "GET", "/networks?filters=%7B%22name%22%3A%7B%22mine%22%3Atrue%7D%7D", b"").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v[1]["Name"], "mine");
        assert_eq!(fake.calls.lock().unwrap()[0], r#"list ["mine"]"#);
        let (_, v) = send(&fake, "GET", "/networks/mine", b"").await;
        for key in [
            "Name",
            "Id",
            "Created",
            "Scope",
            "Driver",
            "EnableIPv6",
            "IPAM",
            "Internal",
            "Attachable",
            "Ingress",
            "ConfigFrom",
            "ConfigOnly",
            "Containers",
            "Options",
            "Labels",
        ] {
            assert!(v.get(key).is_some(), "{key} missing: {v}");
        }
        assert_eq!(
            v["IPAM"],
            serde_json::json!({"Driver": "default", "Options": null, "Config": [{"Subnet": "172.18.0.0/16", "Gateway": "172.18.0.1"}]})
        );
        let (s, v) = send(&fake, "GET", "/networks/missing", b"").await;
        assert_eq!((s, v["message"].as_str()), (StatusCode::NOT_FOUND, Some("network missing not found")));
        let (s, _) = send(&fake, "GET", "/networks?filters=%7B%22type%22%3A%7B%22weird%22%3Atrue%7D%7D", b"").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (s, _) = send(&fake, "GET", "/networks?filters=%7B%22nope%22%3A%7B%22x%22%3Atrue%7D%7D", b"").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn create_connect_disconnect_remove_prune() {
        let fake = Arc::new(Fake::default());
        let body = br#"{"Name":"mine","Driver":"bridge","Internal":true,"IPAM":{"Config":[{"Subnet":"10.9.0.0/24"}]}}"#;
        let (s, v) = send(&fake, "POST", "/networks/create", body).await;
        assert_eq!((s, v["Warning"].as_str()), (StatusCode::CREATED, Some("")));
        assert_eq!(fake.calls.lock().unwrap().last().unwrap(), r#"create mine bridge ["10.9.0.0/24"] true"#);
        let (s, _) = send(&fake, "POST", "/networks/create", b"{}").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let body = br#"{"Container":"web","EndpointConfig":{"IPAMConfig":{"IPv4Address":"10.9.0.9"}}}"#;
        let (s, _) = send(&fake, "POST", "/networks/mine/connect", body).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(fake.calls.lock().unwrap().last().unwrap(), r#"connect mine web Some(String("10.9.0.9"))"#);
        let (s, _) = send(&fake, "POST", "/networks/mine/disconnect", br#"{"Container":"web","Force":true}"#).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(fake.calls.lock().unwrap().last().unwrap(), "disconnect mine web true");
        let (s, v) = send(&fake, "DELETE", "/networks/bridge", b"").await;
        assert_eq!(
            (s, v["message"].as_str()),
            (StatusCode::FORBIDDEN, Some("bridge is a pre-defined network and cannot be removed"))
        );
        let (s, _) = send(&fake, "DELETE", "/networks/mine", b"").await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, v) = send(&fake, "POST", "/networks/prune", b"").await;
        assert_eq!((s, v), (StatusCode::OK, serde_json::json!({"NetworksDeleted": ["old"]})));
    }
}
