//! Networking adapters: `NetworkBackend` (the `/networks` routes) and the container
//! lifecycle's `Networking` trait, both over the network service of `wharf-network`. Calls
//! from the async routes run on tokio's blocking pool (netlink and `nft` block).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};
use wharf_container::{Container, ContainerError, Containers, EndpointRequest, NetPlan, Networking};
use wharf_network::service::{Networks, ServiceError, SubnetConfig};
use wharf_server::{ApiError, ConnectRequest, CreateNetwork, DisconnectRequest, NetworkBackend, NetworkView};
use wharf_types::{ErrorKind, Filters};

/// The `/networks` routes' backend.
pub(crate) struct NetworkAdapter {
    nets: Arc<Networks>,
    containers: Arc<Containers>,
}

impl NetworkAdapter {
    pub(crate) fn new(nets: Arc<Networks>, containers: Arc<Containers>) -> Arc<Self> {
        Arc::new(NetworkAdapter { nets, containers })
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(ApiError::from_err),
        Err(e) => Err(ApiError::new(ErrorKind::Internal, format!("network task failed: {e}"))),
    }
}

/// Docker's `NetworkResource` of `n`; `with_containers` fills `Containers` (inspect).
fn view(
    nets: &Networks,
    containers: &Containers,
    n: &wharf_network::service::Network,
    with_containers: bool,
) -> NetworkView {
    let mut attached = BTreeMap::new();
    if with_containers {
        for (cid, ep) in nets.endpoints(&n.id).unwrap_or_default() {
            let name = containers.get(&cid).map(|c| c.name).unwrap_or(ep.container_name.clone());
            attached.insert(
                cid,
                wharf_server::NetworkContainer {
                    name,
                    endpoint_id: ep.endpoint_id.clone(),
                    mac_address: ep.mac.map(|m| m.to_string()).unwrap_or_default(),
                    ipv4_address: ep.address.map(|a| a.to_string()).unwrap_or_default(),
                    ipv6_address: ep.address6.map(|a| a.to_string()).unwrap_or_default(),
                },
            );
        }
    }
    NetworkView {
        name: n.name.clone(),
        id: n.id.clone(),
        created: if n.created == 0 {
            "0001-01-01T00:00:00Z".into()
        } else {
            wharf_types::format_rfc3339_nanos(n.created)
        },
        scope: "local".into(),
        driver: n.driver.clone(),
        enable_ipv6: n.enable_ipv6,
        ipam: wharf_server::Ipam {
            driver: "default".into(),
            options: (!n.ipam_options.is_empty()).then(|| n.ipam_options.clone()),
            config: n
                .subnets
                .iter()
                .map(|s| wharf_server::IpamConfig {
                    subnet: s.subnet.clone(),
                    ip_range: s.ip_range.clone(),
                    gateway: s.gateway.clone(),
                    auxiliary_addresses: BTreeMap::new(),
                })
                .collect(),
        },
        internal: n.internal,
        attachable: n.attachable,
        ingress: false,
        config_from: json!({"Network": ""}),
        config_only: false,
        containers: attached,
        options: n.options.clone(),
        labels: n.labels.clone(),
    }
}

#[async_trait]
impl NetworkBackend for NetworkAdapter {
    async fn list(&self, filters: Filters) -> Result<Vec<NetworkView>, ApiError> {
        let (nets, cs) = (self.nets.clone(), self.containers.clone());
        blocking(move || Ok(nets.list(&filters)?.iter().map(|n| view(&nets, &cs, n, false)).collect())).await
    }

    async fn inspect(&self, name: &str) -> Result<NetworkView, ApiError> {
        let (nets, cs, name) = (self.nets.clone(), self.containers.clone(), name.to_string());
        blocking(move || nets.get(&name).map(|n| view(&nets, &cs, &n, true))).await
    }

    async fn create(&self, req: CreateNetwork) -> Result<(String, String), ApiError> {
        if req.config_only || req.config_from.as_ref().is_some_and(|v| !v.is_null()) || req.ingress {
            return Err(ApiError::new(
                ErrorKind::NotImplemented,
                "config-only, config-from and ingress networks are not supported",
            ));
        }
        if !req.scope.is_empty() && req.scope != "local" {
            return Err(ApiError::invalid(format!("network scope {} is not supported", req.scope)));
        }
        let nets = self.nets.clone();
        blocking(move || {
            let ipam = req.ipam.unwrap_or_default();
            if !ipam.driver.is_empty() && ipam.driver != "default" {
                return Err(ServiceError {
                    kind: ErrorKind::NotFound,
                    message: format!("plugin \"{}\" not found", ipam.driver),
                });
            }
            let subnets: Vec<SubnetConfig> = ipam
                .config
                .iter()
                .map(|c| SubnetConfig {
                    subnet: c.subnet.clone(),
                    gateway: c.gateway.clone(),
                    ip_range: c.ip_range.clone(),
                    ..Default::default()
                })
                .collect();
            // `EnableIPv6`, else dockerd's driver option `com.docker.network.enable_ipv6`.
            let mut options = req.options.unwrap_or_default();
            let enable_ipv6 = match req.enable_ipv6 {
                Some(v) => {
                    options.remove(ENABLE_IPV6_OPT);
                    v
                }
                None => match options.get(ENABLE_IPV6_OPT) {
                    Some(v) => parse_go_bool(v).ok_or_else(|| ServiceError {
                        kind: ErrorKind::InvalidArgument,
                        message: format!("driver-opt \"{ENABLE_IPV6_OPT}\" is not a valid bool"),
                    })?,
                    None => false,
                },
            };
            let n = nets.create(
                &req.name,
                &req.driver,
                &subnets,
                req.internal,
                req.attachable,
                enable_ipv6,
                options,
                req.labels.unwrap_or_default(),
                ipam.options.unwrap_or_default(),
            )?;
            Ok((n.id, String::new()))
        })
        .await
    }

    async fn remove(&self, name: &str) -> Result<(), ApiError> {
        let (nets, name) = (self.nets.clone(), name.to_string());
        blocking(move || nets.remove(&name)).await
    }

    async fn connect(&self, name: &str, req: ConnectRequest) -> Result<(), ApiError> {
        let (nets, cs, name) = (self.nets.clone(), self.containers.clone(), name.to_string());
        tokio::task::spawn_blocking(move || connect(&nets, &cs, &name, &req))
            .await
            .map_err(|e| ApiError::new(ErrorKind::Internal, format!("network task failed: {e}")))?
    }

    async fn disconnect(&self, name: &str, req: DisconnectRequest) -> Result<(), ApiError> {
        let (nets, cs, name) = (self.nets.clone(), self.containers.clone(), name.to_string());
        tokio::task::spawn_blocking(move || disconnect(&nets, &cs, &name, &req))
            .await
            .map_err(|e| ApiError::new(ErrorKind::Internal, format!("network task failed: {e}")))?
    }

    async fn prune(&self, filters: Filters) -> Result<Vec<String>, ApiError> {
        let nets = self.nets.clone();
        blocking(move || nets.prune(&filters)).await
    }
}

/// dockerd's driver option that enables IPv6 when `EnableIPv6` is not given.
const ENABLE_IPV6_OPT: &str = "com.docker.network.enable_ipv6";

/// Go's `strconv.ParseBool`.
fn parse_go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

fn running(c: &Container) -> bool {
    matches!(c.state.status, wharf_container::Status::Running | wharf_container::Status::Paused)
}

/// `docker network connect`: recorded in the container's `EndpointsConfig` (so later starts
/// keep it) and, when it runs, made at once.
fn connect(nets: &Networks, cs: &Containers, name: &str, req: &ConnectRequest) -> Result<(), ApiError> {
    let c = cs.get(&req.container).map_err(ApiError::from_err)?;
    let n = nets.get(name).map_err(ApiError::from_err)?;
    let settings = req.endpoint_config.clone().unwrap_or_else(|| json!({}));
    let mode = c.host_config.network_mode.as_str();
    if matches!(mode, "host" | "none") || mode.starts_with("container:") {
        return Err(ApiError::new(ErrorKind::Forbidden, "container sharing network namespace with another container or host cannot be connected to any other network"));
    }
    let on = c.networking.keys().any(|k| *k == n.name || (k == "default" && n.name == "bridge"));
    if on {
        return Err(ApiError::new(
            ErrorKind::Forbidden,
            format!("endpoint with name {} already exists in network {}", c.name, n.name),
        ));
    }
    let request = wharf_network::service::EndpointRequest {
        network: n.name.clone(),
        aliases: settings
            .get("Aliases")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
        ipv4: settings.pointer("/IPAMConfig/IPv4Address").and_then(Value::as_str).and_then(|s| s.parse().ok()),
        ipv6: settings.pointer("/IPAMConfig/IPv6Address").and_then(Value::as_str).and_then(|s| s.parse().ok()),
    };
    let errs = wharf_network::service::ipv6_endpoint_errors(&n, request.ipv6);
    if !errs.is_empty() {
        return Err(ApiError::invalid(format!("invalid endpoint settings:\n{}", errs.join("\n"))));
    }
    if running(&c) {
        nets.connect(&c.id, &c.name, &request, Some(c.state.pid as i32)).map_err(ApiError::from_err)?;
    } else if n.driver != "bridge" && n.driver != "macvlan" {
        return Err(ApiError::invalid(format!(
            "container cannot be connected to network {} with driver {}",
            n.name, n.driver
        )));
    }
    let key = n.name.clone();
    cs.update_networking(&c.id, move |_, eps| {
        eps.insert(key, settings);
        Ok(())
    })
    .map_err(ApiError::from_err)?;
    Ok(())
}

/// `docker network disconnect`: undone at once when it runs, and forgotten for later starts.
fn disconnect(nets: &Networks, cs: &Containers, name: &str, req: &DisconnectRequest) -> Result<(), ApiError> {
    let c = cs.get(&req.container).map_err(ApiError::from_err)?;
    let n = nets.get(name).map_err(ApiError::from_err)?;
    let listed = c.networking.keys().any(|k| *k == n.name || (k == "default" && n.name == "bridge"));
    if running(&c) {
        if let Err(e) = nets.disconnect(&c.id, &n.name) {
            if !req.force {
                return Err(ApiError::from_err(e));
            }
        }
    } else if !listed && !req.force {
        return Err(ApiError::new(
            ErrorKind::Forbidden,
            format!("container {} is not connected to network {}", c.id, n.name),
        ));
    }
    let gone = n.name.clone();
    cs.update_networking(&c.id, move |_, eps| {
        eps.retain(|k, _| *k != gone && !(k == "default" && gone == "bridge"));
        Ok(())
    })
    .map_err(ApiError::from_err)?;
    Ok(())
}

/// The container lifecycle's networking.
pub(crate) struct ContainerNetworking(pub(crate) Arc<Networks>);

fn cerr(e: ServiceError) -> ContainerError {
    ContainerError::Other { kind: e.kind, message: e.message }
}

fn requests(r: &[EndpointRequest]) -> Vec<wharf_network::service::EndpointRequest> {
    r.iter()
        .map(|e| wharf_network::service::EndpointRequest {
            network: e.network.clone(),
            aliases: e.aliases.clone(),
            ipv4: e.ipv4,
            ipv6: e.ipv6,
        })
        .collect()
}

impl Networking for ContainerNetworking {
    fn validate(&self, networks: &[EndpointRequest]) -> Result<(), ContainerError> {
        for r in networks {
            let n = self.0.get(&r.network).map_err(cerr)?;
            if n.driver != "bridge" && n.driver != "macvlan" {
                return Err(ContainerError::Invalid(format!(
                    "container cannot be connected to network {} with driver {}",
                    n.name, n.driver
                )));
            }
            if r.ipv4.is_some() && n.name == "bridge" {
                return Err(ContainerError::Invalid(
                    "user specified IP address is supported on user defined networks only".into(),
                ));
            }
            let errs = wharf_network::service::ipv6_endpoint_errors(&n, r.ipv6);
            if !errs.is_empty() {
                return Err(ContainerError::Invalid(format!(
                    "invalid config for network {}: invalid endpoint settings:\n{}",
                    n.name,
                    errs.join("\n")
                )));
            }
        }
        Ok(())
    }

    fn prepare(&self, c: &Container, networks: &[EndpointRequest]) -> Result<NetPlan, ContainerError> {
        let plan = self.0.plan(&c.id, &c.name, &requests(networks)).map_err(cerr)?;
        Ok(NetPlan {
            addresses: plan.hosts.iter().map(|(ip, _)| *ip).collect(),
            ipv6: plan.ipv6.into_iter().collect(),
            embedded_dns: plan.embedded_dns,
        })
    }

    fn attach(&self, c: &Container, pid: i32) -> Result<(), ContainerError> {
        let mut ports = Vec::new();
        for p in wharf_container::networking::port_specs(c)? {
            let protocol = match p.protocol.as_str() {
                "udp" => wharf_network::Protocol::Udp,
                "sctp" => wharf_network::Protocol::Sctp,
                _ => wharf_network::Protocol::Tcp,
            };
            ports.push(wharf_network::service::PortRequest {
                protocol,
                container_port: p.container_port,
                host_ip: p.host_ip,
                host_ports: p.host_ports,
            });
        }
        self.0.attach(&c.id, pid, &ports).map_err(cerr)
    }

    fn release(&self, c: &Container) {
        self.0.release(&c.id);
    }

    fn restore(&self, c: &Container, pid: i32) {
        self.0.restore(&c.id, pid);
    }

    fn settings(&self, c: &Container) -> Option<Value> {
        let eps = self.0.container_endpoints(&c.id).ok()?;
        let mut networks = serde_json::Map::new();
        for (n, ep) in &eps {
            let (ip, prefix) = ep.address.map_or((String::new(), 0), |a| (a.addr().to_string(), i64::from(a.prefix())));
            let (ip6, prefix6) =
                ep.address6.map_or((String::new(), 0), |a| (a.addr().to_string(), i64::from(a.prefix())));
            let aliases: Vec<String> = ep.aliases.clone();
            let mut dns_names = vec![c.name.clone(), c.id[..12].to_string()];
            dns_names.extend(aliases.iter().cloned());
            let settings = c.networking.get(&n.name).cloned().unwrap_or(Value::Null);
            networks.insert(
                n.name.clone(),
                json!({
                    "IPAMConfig": settings.get("IPAMConfig").cloned().unwrap_or(Value::Null),
                    "Links": null,
                    "Aliases": if aliases.is_empty() { Value::Null } else { json!(aliases) },
                    "MacAddress": ep.mac.map(|m| m.to_string()).unwrap_or_default(),
                    "DriverOpts": null,
                    "NetworkID": n.id,
                    "EndpointID": ep.endpoint_id,
                    "Gateway": ep.gateway.map(|g| g.to_string()).unwrap_or_default(),
                    "IPAddress": ip,
                    "IPPrefixLen": prefix,
                    "IPv6Gateway": ep.gateway6.map(|g| g.to_string()).unwrap_or_default(),
                    "GlobalIPv6Address": ip6,
                    "GlobalIPv6PrefixLen": prefix6,
                    "DNSNames": if n.name == "bridge" { Value::Null } else { json!(dns_names) },
                }),
            );
        }
        // Ports: published ones with their bindings, exposed ones without (`null`).
        let mut ports = serde_json::Map::new();
        for key in c.config.exposed_ports.as_ref().map(|p| p.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
            let key = if key.contains('/') { key } else { format!("{key}/tcp") };
            ports.insert(key, Value::Null);
        }
        for (_, ep) in &eps {
            for m in &ep.ports {
                let proto = match m.protocol {
                    wharf_network::Protocol::Udp => "udp",
                    wharf_network::Protocol::Sctp => "sctp",
                    wharf_network::Protocol::Tcp => "tcp",
                };
                let key = format!("{}/{proto}", m.container_port);
                let binding = json!({
                    "HostIp": m.host_ip.map_or_else(|| "0.0.0.0".to_string(), |ip| ip.to_string()),
                    "HostPort": m.host_port.to_string(),
                });
                match ports.get_mut(&key) {
                    Some(Value::Array(list)) => list.push(binding),
                    _ => {
                        ports.insert(key, json!([binding]));
                    }
                }
            }
        }
        if networks.is_empty() && ports.is_empty() {
            return None;
        }
        Some(json!({"Networks": networks, "Ports": ports}))
    }
}
