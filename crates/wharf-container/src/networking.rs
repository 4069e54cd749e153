//! What the container lifecycle needs from networking, as a small trait the daemon implements
//! over its network service (`wharf-network`), so this crate knows nothing of bridges, IPAM
//! or DNS servers: addresses before the runtime creates the container (for `/etc/hosts` and
//! `/etc/resolv.conf`), interfaces once its init exists, release after it exits, and the
//! embedded DNS again after a daemon restart.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::Value;

use crate::model::Container;

/// What a container asks of one network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointRequest {
    /// The network's name or ID.
    pub network: String,
    /// `Aliases`.
    pub aliases: Vec<String>,
    /// `IPAMConfig.IPv4Address`.
    pub ipv4: Option<Ipv4Addr>,
    /// `IPAMConfig.IPv6Address`.
    pub ipv6: Option<Ipv6Addr>,
}

/// What networking decided before the container is created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetPlan {
    /// The container's addresses, its first network's first.
    pub addresses: Vec<Ipv4Addr>,
    /// The IPv6 address of its first network, when that network has IPv6 (`/etc/hosts`
    /// names the hostname with it too, after the IPv4 address, as Docker writes it).
    pub ipv6: Vec<Ipv6Addr>,
    /// The embedded DNS (127.0.0.11) serves it: its resolv.conf must say so.
    pub embedded_dns: bool,
}

/// The daemon's networking, as the lifecycle uses it. Errors are texts for the user.
pub trait Networking: Send + Sync {
    /// At create: the networks exist and can take the container (Docker checks then).
    fn validate(&self, networks: &[EndpointRequest]) -> Result<(), crate::ContainerError>;
    /// Allocates the container's addresses on `networks` (first: `eth0`) and records them.
    fn prepare(&self, c: &Container, networks: &[EndpointRequest]) -> Result<NetPlan, crate::ContainerError>;
    /// Once its init `pid` exists and before its workload runs: interfaces, routes, DNS.
    fn attach(&self, c: &Container, pid: i32) -> Result<(), crate::ContainerError>;
    /// After it exited or failed to start: everything `prepare` and `attach` made.
    fn release(&self, c: &Container);
    /// After a daemon restart, for a running container: what died with the daemon.
    fn restore(&self, c: &Container, pid: i32);
    /// Docker's `NetworkSettings` for inspect (`None`: no networks).
    fn settings(&self, c: &Container) -> Option<Value>;
}

/// At create: the `NetworkMode` network joins `EndpointsConfig` (as Docker records it in
/// `NetworkSettings.Networks`), unless the mode is `host`, `none` or `container:…`.
pub fn record_primary(host_config: &crate::model::HostConfig, networking: &mut serde_json::Map<String, Value>) {
    let primary = match host_config.network_mode.as_str() {
        "" | "default" => "bridge",
        "host" | "none" => return,
        m if m.starts_with("container:") => return,
        m => m,
    };
    let present = networking.keys().any(|k| k == primary || (k == "default" && primary == "bridge"));
    if !present {
        networking.insert(primary.to_string(), Value::Object(Default::default()));
    }
}

/// A port to publish, from `HostConfig.PortBindings` or `-P` with `ExposedPorts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
    /// The container's port.
    pub container_port: u16,
    /// The host address: `None` (`HostIp` empty) every address, IPv4 and IPv6; `0.0.0.0` or
    /// `::` every address of that family only.
    pub host_ip: Option<IpAddr>,
    /// Host ports to pick from, inclusive; `(0, 0)`: any free one.
    pub host_ports: (u16, u16),
}

fn parse_port_key(key: &str) -> Result<(u16, String), crate::ContainerError> {
    let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
    let port = port
        .parse::<u16>()
        .map_err(|_| crate::ContainerError::Invalid(format!("invalid port specification: \"{key}\"")))?;
    Ok((port, proto.to_ascii_lowercase()))
}

/// The ports `c` publishes, as Docker reads `PortBindings`, `PublishAllPorts` and
/// `ExposedPorts`; host addresses of either family (`[::1]` without its brackets too).
pub fn port_specs(c: &Container) -> Result<Vec<PortSpec>, crate::ContainerError> {
    let mut out = Vec::new();
    let bindings = c.host_config.extra.get("PortBindings").and_then(Value::as_object).cloned().unwrap_or_default();
    for (key, list) in &bindings {
        let (container_port, protocol) = parse_port_key(key)?;
        let list = list.as_array().cloned().unwrap_or_default();
        let list = if list.is_empty() { vec![Value::Null] } else { list };
        for b in list {
            let ip = b.get("HostIp").and_then(Value::as_str).unwrap_or_default();
            let bare = ip.strip_prefix('[').and_then(|i| i.strip_suffix(']')).unwrap_or(ip);
            let host_ip = if bare.is_empty() {
                None
            } else {
                Some(
                    bare.parse::<IpAddr>()
                        .map_err(|_| crate::ContainerError::Invalid(format!("invalid IP address: {ip}")))?,
                )
            };
            let hp = b.get("HostPort").and_then(Value::as_str).unwrap_or_default();
            let bad = || crate::ContainerError::Invalid(format!("invalid port range: {hp}"));
            let host_ports = if hp.is_empty() {
                (0, 0)
            } else if let Some((a, z)) = hp.split_once('-') {
                let (a, z) = (a.parse::<u16>().map_err(|_| bad())?, z.parse::<u16>().map_err(|_| bad())?);
                if a > z {
                    return Err(bad());
                }
                (a, z)
            } else {
                let p = hp.parse::<u16>().map_err(|_| bad())?;
                (p, p)
            };
            out.push(PortSpec { protocol: protocol.clone(), container_port, host_ip, host_ports });
        }
    }
    let publish_all = c.host_config.extra.get("PublishAllPorts").and_then(Value::as_bool).unwrap_or(false);
    if publish_all {
        for key in c.config.exposed_ports.as_ref().map(|p| p.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
            if bindings.contains_key(&key) {
                continue;
            }
            let (container_port, protocol) = parse_port_key(&key)?;
            out.push(PortSpec { protocol, container_port, host_ip: None, host_ports: (0, 0) });
        }
    }
    Ok(out)
}

/// The networks a container is on: the entries of its `EndpointsConfig` (`default` is
/// `bridge`), its `NetworkMode` network first; `None` for `host`, `none` and `container:…`
/// (no endpoints of their own). Empty once it was disconnected from everything.
pub fn endpoint_requests(c: &Container) -> Option<Vec<EndpointRequest>> {
    let mode = c.host_config.network_mode.as_str();
    let primary = match mode {
        "" | "default" => "bridge",
        "host" | "none" => return None,
        m if m.starts_with("container:") => return None,
        m => m,
    };
    let request = |name: &str, settings: Option<&Value>| EndpointRequest {
        network: name.to_string(),
        aliases: settings
            .and_then(|s| s.get("Aliases"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
        ipv4: settings
            .and_then(|s| s.pointer("/IPAMConfig/IPv4Address"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .and_then(|s| s.parse().ok()),
        ipv6: settings
            .and_then(|s| s.pointer("/IPAMConfig/IPv6Address"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .and_then(|s| s.parse().ok()),
    };
    // `default` is `bridge` on Linux, in EndpointsConfig too (the docker CLI sends it).
    let canonical = |n: &str| if n == "default" { "bridge".to_string() } else { n.to_string() };
    let settings_of = |name: &str| c.networking.iter().find(|(k, _)| canonical(k) == name).map(|(_, v)| v);
    // `EndpointsConfig` is the container's set of networks (the create puts the `NetworkMode`
    // one in; `network disconnect` takes networks out): the primary first when it is there.
    let mut out = Vec::new();
    if let Some(s) = settings_of(primary) {
        out.push(request(primary, Some(s)));
    }
    for (name, settings) in &c.networking {
        let name = canonical(name);
        if name != primary && !out.iter().any(|r| r.network == name) {
            out.push(request(&name, Some(settings)));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ports_from_bindings_and_publish_all() {
        let mut c = Container::default();
        c.host_config.extra.insert(
            "PortBindings".into(),
            json!({"80/tcp": [{"HostIp": "", "HostPort": "8080"}], "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5300-5310"}], "9/tcp": [{"HostIp": "::", "HostPort": "9"}, {"HostIp": "[::1]", "HostPort": "10"}, {"HostIp": "0.0.0.0", "HostPort": "11"}]}),
        );
        c.host_config.extra.insert("PublishAllPorts".into(), json!(true));
        c.config.exposed_ports = Some([("80/tcp".to_string(), json!({})), ("443/tcp".to_string(), json!({}))].into());
        let mut p = port_specs(&c).unwrap();
        p.sort_by_key(|s| s.container_port);
        assert_eq!(
            p,
            [
                PortSpec {
                    protocol: "tcp".into(),
                    container_port: 9,
                    host_ip: Some("::".parse().unwrap()),
                    host_ports: (9, 9)
                },
                PortSpec {
                    protocol: "tcp".into(),
                    container_port: 9,
                    host_ip: Some("::1".parse().unwrap()),
                    host_ports: (10, 10)
                },
                PortSpec {
                    protocol: "tcp".into(),
                    container_port: 9,
                    host_ip: Some("0.0.0.0".parse().unwrap()),
                    host_ports: (11, 11)
                },
                PortSpec {
                    protocol: "udp".into(),
                    container_port: 53,
                    host_ip: Some("127.0.0.1".parse().unwrap()),
                    host_ports: (5300, 5310)
                },
                PortSpec { protocol: "tcp".into(), container_port: 80, host_ip: None, host_ports: (8080, 8080) },
                PortSpec { protocol: "tcp".into(), container_port: 443, host_ip: None, host_ports: (0, 0) },
            ]
        );
        c.host_config.extra.insert("PortBindings".into(), json!({"x/tcp": []}));
        assert!(port_specs(&c).is_err());
        c.host_config.extra.insert("PortBindings".into(), json!({"80/tcp": [{"HostIp": "::zz", "HostPort": "1"}]}));
        assert!(port_specs(&c).is_err());
    }

    #[test]
    fn requests_follow_network_mode_then_endpoints_config() {
        let mut c = Container::default();
        assert!(endpoint_requests(&c).unwrap().is_empty(), "no networks left");
        c.networking = json!({"bridge": {}}).as_object().unwrap().clone();
        assert_eq!(endpoint_requests(&c).unwrap()[0].network, "bridge");
        c.host_config.network_mode = "host".into();
        assert!(endpoint_requests(&c).is_none());
        c.host_config.network_mode = "container:abc".into();
        assert!(endpoint_requests(&c).is_none());
        c.host_config.network_mode = "default".into();
        c.networking = json!({"default": {}}).as_object().unwrap().clone();
        assert_eq!(
            endpoint_requests(&c).unwrap(),
            [EndpointRequest { network: "bridge".into(), ..Default::default() }]
        );
        c.host_config.network_mode = "front".into();
        c.networking = json!({
            "back": {"Aliases": ["db"]},
            "front": {"Aliases": ["web", "www"], "IPAMConfig": {"IPv4Address": "10.1.0.9", "IPv6Address": "fd00:1::9"}}
        })
        .as_object()
        .unwrap()
        .clone();
        let r = endpoint_requests(&c).unwrap();
        assert_eq!(
            r[0],
            EndpointRequest {
                network: "front".into(),
                aliases: vec!["web".into(), "www".into()],
                ipv4: Some("10.1.0.9".parse().unwrap()),
                ipv6: Some("fd00:1::9".parse().unwrap()),
            }
        );
        assert_eq!(r[1], EndpointRequest { network: "back".into(), aliases: vec!["db".into()], ..Default::default() });
    }
}
