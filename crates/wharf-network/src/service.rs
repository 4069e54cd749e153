//! The network service the API and the container lifecycle use: Docker's networks as records
//! in the daemon's database (the predefined `bridge`, `host` and `none`, and user-defined
//! `bridge` networks), their IPAM state, the endpoints of containers, and — through the
//! kernel-side modules of this crate and `wharf-dns` — the bridges, veth pairs, nftables rules
//! and embedded DNS servers behind them.
//!
//! Container start, per network of the container (first network: `eth0` and the default
//! route): [`Networks::plan`] before the runtime creates the container (addresses allocated
//! and recorded, so `/etc/hosts` and `/etc/resolv.conf` can be written), [`Networks::attach`]
//! once its init exists (veth pairs, DNS server), [`Networks::release`] after it exits.
//! [`Networks::restore`] restarts the DNS servers of running containers when the daemon
//! starts again (the kernel kept interfaces and rules).
//!
//! IPv6 (`--ipv6`): a network has a second IPAM state ([`NetworkIpam6`]) for its IPv6 subnet
//! (given, or a /64 of the daemon's ULA prefix), its endpoints an IPv6 address next to the
//! IPv4 one, the bridge the IPv6 gateway, the embedded DNS AAAA and `ip6.arpa` answers, and
//! published ports an `[::]` binding next to the `0.0.0.0` one (when the host has IPv6).
//!
//! With a real Docker on the host (its `DOCKER-USER` chain exists), the bridges of non-internal
//! networks are let through Docker's `FORWARD` policy by tagged rules there
//! ([`crate::DockerUser`]): when a network is realized (creation, every daemon start), again
//! when a container starts or connects, and removed with the network and at daemon stop.
//! Failures there are logged, never returned: the daemon's own table stays authoritative.
//!
//! Invariants: a network's row, its IPAM state and its endpoints change in one transaction;
//! kernel state is created before the row that names it and removed after the row is gone,
//! so a crash leaves at most an unnamed bridge or rule, which `open` does not mind (creation
//! is idempotent).

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use wharf_dns::{DnsServer, DnsState};
use wharf_events::EventBus;
use wharf_store::rusqlite::{params, OptionalExtension};
use wharf_store::{Db, Migration, Tx};
use wharf_types::{Classify, ErrorKind, Event, EventType, Filters};

use crate::{
    allocate_subnet, allocate_subnet6, attach_veth, delete_bridge, detach_veth, enable_ip_forward, enable_ipv6_forward,
    ensure_bridge, DockerUser, DockerUserPass, Ipv4Net, Ipv6Net, MacAddr, Nat, NetNs, NetworkIpam, NetworkIpam6,
    NetworkRules, PoolSpec, PoolSpec6, PortOptions,
};

/// This module's component name in the migrations table.
pub const COMPONENT: &str = "wharf-network";

/// The network tables' migrations.
pub const MIGRATIONS: &[Migration] = &[Migration {
    component: COMPONENT,
    version: 1,
    sql: "
CREATE TABLE networks (
    id      TEXT PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL,
    record  TEXT NOT NULL
);
CREATE TABLE endpoints (
    network_id   TEXT NOT NULL REFERENCES networks(id),
    container_id TEXT NOT NULL,
    record       TEXT NOT NULL,
    PRIMARY KEY (network_id, container_id)
);
",
}];

/// Names of the predefined networks.
pub const PREDEFINED: &[&str] = &["bridge", "host", "none"];

/// A failure of the network service, with the API's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// How the API reports it.
    pub kind: ErrorKind,
    /// Docker's text.
    pub message: String,
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ServiceError {}

impl Classify for ServiceError {
    fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl ServiceError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ServiceError { kind, message: message.into() }
    }
    fn not_found(name: &str) -> Self {
        Self::new(ErrorKind::NotFound, format!("network {name} not found"))
    }
}

impl From<crate::Error> for ServiceError {
    fn from(e: crate::Error) -> Self {
        ServiceError { kind: e.kind(), message: e.to_string() }
    }
}

impl From<wharf_store::StoreError> for ServiceError {
    fn from(e: wharf_store::StoreError) -> Self {
        ServiceError { kind: e.kind(), message: e.to_string() }
    }
}

impl From<wharf_store::rusqlite::Error> for ServiceError {
    fn from(e: wharf_store::rusqlite::Error) -> Self {
        ServiceError::new(ErrorKind::Internal, format!("network tables: {e}"))
    }
}

/// The service's result type.
pub type SResult<T> = std::result::Result<T, ServiceError>;

/// How the daemon configures networking (dockerd's `--bridge`, `--bip`,
/// `--default-address-pool`, `--iptables`, `--mtu`).
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The default `bridge` network's interface.
    pub bridge: String,
    /// Its gateway address and prefix (`--bip`).
    pub bip: Ipv4Net,
    /// `--fixed-cidr`: the default bridge hands out addresses from this range only.
    pub fixed_cidr: Option<Ipv4Net>,
    /// Pools for networks created without a subnet.
    pub pools: Vec<PoolSpec>,
    /// The daemon's nftables table (unique per daemon on a host).
    pub nat_table: String,
    /// `--iptables=false`: no rules at all.
    pub iptables: bool,
    /// `--mtu`.
    pub mtu: Option<u32>,
    /// Forwarders for the embedded DNS (the host's resolvers).
    pub upstream_dns: Vec<SocketAddr>,
    /// The `wharf-proxy` binary that serves published ports to the host's loopback (`None`:
    /// DNAT only).
    pub proxy: Option<std::path::PathBuf>,
    /// Pools for the IPv6 subnets of `--ipv6` networks created without one: dockerd's ULA
    /// /48 derived from the engine ID ([`crate::ula_pool`]).
    pub pools6: Vec<PoolSpec6>,
    /// `--ipv6`: the default `bridge` network has IPv6 too.
    pub ipv6: bool,
    /// `--fixed-cidr-v6`: the default bridge's IPv6 subnet (else one from `pools6`).
    pub fixed_cidr_v6: Option<Ipv6Net>,
}

/// One IPAM pool as configured (`IPAM.Config[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetConfig {
    /// `10.1.0.0/24`.
    pub subnet: String,
    /// The gateway (empty: the first address).
    pub gateway: String,
    /// `--ip-range` (empty: the whole subnet).
    pub ip_range: String,
    /// The subnet was picked from the default pools, not given (dockerd accepts a static
    /// `--ip`/`--ip6` only on a subnet the user configured).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto: bool,
}

impl SubnetConfig {
    /// Whether this is an IPv6 pool (by the form of its subnet).
    pub fn is_ipv6(&self) -> bool {
        self.subnet.contains(':')
    }
}

/// A network as recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Network {
    /// 64 hex characters.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Unix nanoseconds (0 for the predefined `host` and `none`, as Docker shows them).
    pub created: i64,
    /// `bridge`, `host`, `null`.
    pub driver: String,
    /// `--internal`.
    pub internal: bool,
    /// `--attachable`.
    pub attachable: bool,
    /// `--ipv6`: the network has an IPv6 subnet ([`Network::ipam6`]) too.
    pub enable_ipv6: bool,
    /// Driver options.
    pub options: BTreeMap<String, String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// IPAM options.
    pub ipam_options: BTreeMap<String, String>,
    /// The IPAM pools as shown by inspect (resolved: subnet and gateway always filled for
    /// bridge networks).
    pub subnets: Vec<SubnetConfig>,
    /// The address state of a bridge network.
    pub ipam: Option<NetworkIpam>,
    /// Its IPv6 address state (`--ipv6` networks).
    pub ipam6: Option<NetworkIpam6>,
    /// The bridge interface.
    pub bridge: Option<String>,
}

impl Network {
    /// Whether it is one of `bridge`, `host`, `none`.
    pub fn predefined(&self) -> bool {
        PREDEFINED.contains(&self.name.as_str())
    }
}

/// A container's endpoint on a network, as recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Endpoint {
    /// 64 hex characters.
    pub endpoint_id: String,
    /// The container's name (without `/`).
    pub container_name: String,
    /// DNS aliases on this network.
    pub aliases: Vec<String>,
    /// `eth0`, `eth1`…
    pub ifname: String,
    /// Address and prefix.
    pub address: Option<Ipv4Net>,
    /// The network's gateway (the default route goes there for `eth0`).
    pub gateway: Option<Ipv4Addr>,
    /// The MAC address.
    pub mac: Option<MacAddr>,
    /// The requested static address (`--ip`), kept across restarts.
    pub static_ip: Option<Ipv4Addr>,
    /// The IPv6 address and prefix (`--ipv6` networks).
    pub address6: Option<Ipv6Net>,
    /// The network's IPv6 gateway (the IPv6 default route goes there for `eth0`).
    pub gateway6: Option<Ipv6Addr>,
    /// The requested static IPv6 address (`--ip6`), kept across restarts.
    pub static_ip6: Option<Ipv6Addr>,
    /// The host side of the veth pair while attached.
    pub host_ifname: Option<String>,
    /// Published ports (concrete host ports), on the container's first network.
    pub ports: Vec<crate::PortMapping>,
    /// The userland proxies of those ports (process IDs; they outlive the daemon).
    pub proxies: Vec<u32>,
}

/// A port the container asks to publish (`-p [ip:][hostPort[-end]:]port[/proto]`, or `-P`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRequest {
    /// The protocol.
    pub protocol: crate::Protocol,
    /// The container's port.
    pub container_port: u16,
    /// The host address (`None`: every address, IPv4 and — when the host has IPv6 — IPv6,
    /// as Docker publishes `-p 8080:80` on `0.0.0.0` and `[::]`; `0.0.0.0` or `::`: every
    /// address of that family only).
    pub host_ip: Option<IpAddr>,
    /// The host ports to pick from, inclusive; `(0, 0)`: an ephemeral port.
    pub host_ports: (u16, u16),
}

/// Stops the userland proxies `pids` (each checked to still be a `wharf-proxy`: a pid may
/// have been reused since).
fn stop_proxies(pids: &[u32]) {
    for pid in pids {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
        if argv0.ends_with(b"wharf-proxy") {
            if let Some(p) = rustix::process::Pid::from_raw(*pid as i32) {
                let _ = rustix::process::kill_process(p, rustix::process::Signal::TERM);
            }
        }
    }
}

/// The bridge port options of a network's endpoints: isolated ports for
/// `com.docker.network.bridge.enable_icc=false`; hairpin so a container reaches its own
/// published ports.
fn port_options(n: &Network) -> PortOptions {
    let icc = n.options.get("com.docker.network.bridge.enable_icc").map(String::as_str) != Some("false");
    PortOptions { hairpin: true, isolated: !icc }
}

/// The host's ephemeral port range (`net.ipv4.ip_local_port_range`), as dockerd uses it.
fn ephemeral_range() -> (u16, u16) {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let mut it = text.split_whitespace().filter_map(|v| v.parse::<u16>().ok());
    match (it.next(), it.next()) {
        (Some(a), Some(b)) if a <= b => (a, b),
        _ => (49153, 65535),
    }
}

/// Whether `ip:port/proto` can be bound now. IPv6 addresses are tried with `IPV6_V6ONLY`, as
/// the userland proxy binds them, so `0.0.0.0:80` and `[::]:80` are apart.
fn port_free(protocol: crate::Protocol, ip: IpAddr, port: u16) -> bool {
    let addr = SocketAddr::new(ip, port);
    let IpAddr::V6(_) = ip else {
        return match protocol {
            crate::Protocol::Udp => std::net::UdpSocket::bind(addr).is_ok(),
            _ => std::net::TcpListener::bind(addr).is_ok(),
        };
    };
    use rustix::net::{sockopt, AddressFamily, SocketType};
    let kind = if protocol == crate::Protocol::Udp { SocketType::DGRAM } else { SocketType::STREAM };
    let Ok(fd) = rustix::net::socket(AddressFamily::INET6, kind, None) else { return false };
    if sockopt::set_ipv6_v6only(&fd, true).is_err() {
        return false;
    }
    if kind == SocketType::STREAM && sockopt::set_socket_reuseaddr(&fd, true).is_err() {
        return false;
    }
    rustix::net::bind(&fd, &addr).is_ok()
}

/// Whether the host can listen on IPv6 (`[::1]` is bindable: IPv6 is not disabled), as
/// moby's `IsV6Listenable` decides whether `-p 8080:80` also gets an `[::]` binding.
pub fn ipv6_listenable() -> bool {
    std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
}

/// Whether two host addresses of published ports collide: same family, and one of them is
/// that family's unspecified address or both are the same.
fn host_ips_overlap(a: IpAddr, b: IpAddr) -> bool {
    a.is_ipv4() == b.is_ipv4() && (a.is_unspecified() || b.is_unspecified() || a == b)
}

/// Concrete host ports for `requests`, avoiding `taken` (ports of other endpoints) and ports in
/// use on the host, with dockerd's messages when none is free. A request without a host
/// address is published on `0.0.0.0` and, with `ipv6`, on `::` too, on the same host port (two
/// mappings, as Docker reports them).
fn allocate_ports(
    requests: &[PortRequest],
    taken: &[crate::PortMapping],
    ipv6: bool,
) -> SResult<Vec<crate::PortMapping>> {
    let unspecified4 = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let mut out: Vec<crate::PortMapping> = Vec::new();
    for r in requests {
        let ips: Vec<IpAddr> = match r.host_ip {
            Some(ip) => vec![ip],
            None if ipv6 => vec![unspecified4, IpAddr::V6(Ipv6Addr::UNSPECIFIED)],
            None => vec![unspecified4],
        };
        let (lo, hi) = if r.host_ports == (0, 0) { ephemeral_range() } else { r.host_ports };
        let busy = |ip: IpAddr, p: u16| {
            taken.iter().chain(out.iter()).any(|m| {
                m.protocol == r.protocol && m.host_port == p && host_ips_overlap(m.host_ip.unwrap_or(unspecified4), ip)
            })
        };
        let unusable = |p: u16| ips.iter().copied().find(|ip| busy(*ip, p) || !port_free(r.protocol, *ip, p));
        let span = u32::from(hi - lo) + 1;
        // Ephemeral ports start at a random offset, as the kernel's do.
        let start = if r.host_ports == (0, 0) { (std::process::id() ^ now_nanos() as u32) % span } else { 0 };
        let found = (0..span).map(|i| lo + ((start + i) % span) as u16).find(|p| unusable(*p).is_none());
        let Some(host_port) = found else {
            let ip = unusable(lo).unwrap_or(ips[0]);
            let proto = r.protocol.as_str();
            let msg = if lo == hi {
                wharf_proxy::port_already_allocated(ip, lo)
            } else if r.host_ports == (0, 0) {
                "no available ports in the ephemeral range".to_string()
            } else {
                format!("Bind for {ip}:{lo}-{hi}/{proto} failed: port is already allocated")
            };
            return Err(ServiceError::new(ErrorKind::Conflict, msg));
        };
        for ip in ips {
            out.push(crate::PortMapping {
                protocol: r.protocol,
                host_ip: Some(ip),
                host_port,
                container_port: r.container_port,
            });
        }
    }
    Ok(out)
}

/// What a container asks of one network (`NetworkingConfig.EndpointsConfig[name]`).
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

/// dockerd's checks of a static `IPAMConfig.IPv6Address` against network `n`
/// (`validateEndpointSettings` / `IsInRange`): the texts of the problems found, to be joined
/// under `invalid endpoint settings:`. Empty when there is none (or no static IPv6 address).
pub fn ipv6_endpoint_errors(n: &Network, ipv6: Option<Ipv6Addr>) -> Vec<String> {
    let Some(ip) = ipv6 else { return Vec::new() };
    if n.predefined() {
        return vec!["user specified IP address is supported on user defined networks only".into()];
    }
    let statics: Vec<&SubnetConfig> = n.subnets.iter().filter(|c| c.is_ipv6() && !c.auto).collect();
    if statics.is_empty() {
        return vec![
            "user specified IP address is supported only when connecting to networks with user configured subnets"
                .into(),
        ];
    }
    let within = statics.iter().any(|c| {
        let range = if c.ip_range.is_empty() { &c.subnet } else { &c.ip_range };
        range.parse::<Ipv6Net>().is_ok_and(|r| r.contains(ip))
    });
    if within {
        Vec::new()
    } else {
        vec![format!("no configured subnet or ip-range contain the IP address {ip}")]
    }
}

/// What [`Networks::plan`] decided for a container.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// `/etc/hosts` lines for the container itself (address → names).
    pub hosts: Vec<(Ipv4Addr, Vec<String>)>,
    /// The IPv6 address on its first network, if that network has IPv6 (Docker's
    /// `/etc/hosts` names the hostname with it too).
    pub ipv6: Option<Ipv6Addr>,
    /// The embedded DNS serves it (user-defined networks): resolv.conf must name 127.0.0.11.
    pub embedded_dns: bool,
}

/// The network service.
pub struct Networks {
    db: Db,
    events: Arc<EventBus>,
    cfg: ServiceConfig,
    nat: Option<Nat>,
    /// Our rules in a real Docker's `DOCKER-USER` chain (with `nat`; see [`DockerUser`]).
    docker_user: Option<DockerUser>,
    dns: Arc<DnsState>,
    servers: Mutex<HashMap<String, DnsServer>>,
    runtime: tokio::runtime::Handle,
    /// Serializes changes (kernel and records together).
    lock: Mutex<()>,
}

fn now_nanos() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)
}

fn random_id() -> String {
    let mut b = [0u8; 32];
    let _ = rustix::rand::getrandom(&mut b, rustix::rand::GetRandomFlags::empty());
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("network records serialize")
}

fn get_network(tx: &Tx<'_>, id: &str) -> SResult<Option<Network>> {
    let rec: Option<String> =
        tx.query_row("SELECT record FROM networks WHERE id = ?1", params![id], |r| r.get(0)).optional()?;
    rec.map(|r| serde_json::from_str(&r).map_err(|e| ServiceError::new(ErrorKind::Internal, e.to_string()))).transpose()
}

fn all_networks(tx: &Tx<'_>) -> SResult<Vec<Network>> {
    let mut st = tx.prepare("SELECT record FROM networks ORDER BY created, name")?;
    let rows = st.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for r in rows {
        out.push(serde_json::from_str(&r?).map_err(|e| ServiceError::new(ErrorKind::Internal, e.to_string()))?);
    }
    Ok(out)
}

fn put_network(tx: &Tx<'_>, n: &Network) -> SResult<()> {
    tx.execute(
        "INSERT INTO networks (id, name, created, record) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, record = excluded.record",
        params![n.id, n.name, n.created, json(n)],
    )?;
    Ok(())
}

/// Releases `ep`'s address on its network and deletes its record.
fn delete_endpoint(tx: &Tx<'_>, network_id: &str, container_id: &str, ep: &Endpoint) -> SResult<()> {
    if let Some(mut net) = get_network(tx, network_id)? {
        if let (Some(ipam), Some(addr)) = (net.ipam.as_mut(), ep.address) {
            ipam.release(addr.addr());
        }
        if let (Some(ipam6), Some(addr)) = (net.ipam6.as_mut(), ep.address6) {
            ipam6.release(addr.addr());
        }
        put_network(tx, &net)?;
    }
    tx.execute("DELETE FROM endpoints WHERE network_id = ?1 AND container_id = ?2", params![network_id, container_id])?;
    Ok(())
}

fn endpoints_of_network(tx: &Tx<'_>, network_id: &str) -> SResult<Vec<(String, Endpoint)>> {
    let mut st =
        tx.prepare("SELECT container_id, record FROM endpoints WHERE network_id = ?1 ORDER BY container_id")?;
    let rows = st.query_map(params![network_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for r in rows {
        let (c, rec) = r?;
        out.push((c, serde_json::from_str(&rec).map_err(|e| ServiceError::new(ErrorKind::Internal, e.to_string()))?));
    }
    Ok(out)
}

fn endpoints_of_container(tx: &Tx<'_>, container_id: &str) -> SResult<Vec<(String, Endpoint)>> {
    let mut st = tx.prepare("SELECT network_id, record FROM endpoints WHERE container_id = ?1")?;
    let rows = st.query_map(params![container_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for r in rows {
        let (n, rec) = r?;
        out.push((n, serde_json::from_str(&rec).map_err(|e| ServiceError::new(ErrorKind::Internal, e.to_string()))?));
    }
    out.sort_by(|a: &(String, Endpoint), b| a.1.ifname.cmp(&b.1.ifname));
    Ok(out)
}

fn parse_net(s: &str) -> SResult<Ipv4Net> {
    let (a, p) = s
        .split_once('/')
        .ok_or_else(|| ServiceError::new(ErrorKind::InvalidArgument, format!("invalid CIDR address: {s}")))?;
    let addr: Ipv4Addr =
        a.parse().map_err(|_| ServiceError::new(ErrorKind::InvalidArgument, format!("invalid CIDR address: {s}")))?;
    let prefix: u8 =
        p.parse().map_err(|_| ServiceError::new(ErrorKind::InvalidArgument, format!("invalid CIDR address: {s}")))?;
    Ok(Ipv4Net::new(addr, prefix)?)
}

/// The host's IPv4 routes (destinations), which new subnets avoid, as dockerd does.
fn host_routes() -> Vec<Ipv4Net> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 {
            continue;
        }
        let (Ok(dst), Ok(mask)) = (u32::from_str_radix(f[1], 16), u32::from_str_radix(f[7], 16)) else { continue };
        let addr = Ipv4Addr::from(u32::from_be(dst));
        let prefix = u32::from_be(mask).count_ones() as u8;
        if let Ok(n) = Ipv4Net::new(addr, prefix) {
            out.push(n);
        }
    }
    out
}

/// The host's IPv6 routes (destinations, from `/proc/net/ipv6_route`), which new IPv6
/// subnets avoid; link-local and multicast routes and the default route are left out.
fn host_routes6() -> Vec<Ipv6Net> {
    let text = std::fs::read_to_string("/proc/net/ipv6_route").unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 2 {
            continue;
        }
        let (Ok(dst), Ok(prefix)) = (u128::from_str_radix(f[0], 16), u8::from_str_radix(f[1], 16)) else { continue };
        let addr = Ipv6Addr::from(dst);
        let local_scope = addr.segments()[0] & 0xffc0 == 0xfe80 || addr.is_multicast();
        if prefix == 0 || prefix == 128 || local_scope {
            continue;
        }
        if let Ok(n) = Ipv6Net::new(addr, prefix) {
            out.push(n);
        }
    }
    out
}

/// A bad `IPAM.Config` entry: dockerd's `invalid network config:` with one line.
fn invalid_config(line: String) -> ServiceError {
    ServiceError::from(crate::Error::InvalidConfig(vec![line]))
}

/// The IPv6 pool of a create request: subnet, range and gateway, checked for their family as
/// dockerd's `ValidateIPAM` does (`parent subnet is an IPv6 block`).
fn parse_v6_config(c: &SubnetConfig) -> SResult<(Ipv6Net, Option<Ipv6Net>, Option<Ipv6Addr>)> {
    let subnet: Ipv6Net = c
        .subnet
        .parse()
        .map_err(|_| invalid_config(format!("invalid subnet {}: invalid CIDR block notation", c.subnet)))?;
    let ip_range = if c.ip_range.is_empty() {
        None
    } else if c.ip_range.contains(':') {
        Some(
            c.ip_range
                .parse::<Ipv6Net>()
                .map_err(|_| invalid_config(format!("invalid ip-range {}: invalid CIDR block notation", c.ip_range)))?,
        )
    } else {
        return Err(invalid_config(format!("invalid ip-range {}: parent subnet is an IPv6 block", c.ip_range)));
    };
    let gateway = if c.gateway.is_empty() {
        None
    } else {
        match c.gateway.parse::<IpAddr>() {
            Ok(IpAddr::V6(g)) => Some(g),
            Ok(IpAddr::V4(_)) => {
                return Err(invalid_config(format!("invalid gateway {}: parent subnet is an IPv6 block", c.gateway)))
            }
            Err(_) => {
                return Err(ServiceError::new(
                    ErrorKind::InvalidArgument,
                    format!("invalid gateway address {}", c.gateway),
                ))
            }
        }
    };
    Ok((subnet, ip_range, gateway))
}

/// Docker's filter of a network list.
pub fn matches(n: &Network, f: &Filters, in_use: bool) -> bool {
    if f.contains("name") && !f.get("name").any(|v| n.name.contains(v)) {
        return false;
    }
    if f.contains("id") && !f.get("id").any(|v| n.id.starts_with(v)) {
        return false;
    }
    if f.contains("driver") && !f.get("driver").any(|v| v == n.driver) {
        return false;
    }
    if f.contains("scope") && !f.get("scope").any(|v| v == "local") {
        return false;
    }
    if !f.match_labels("label", |k| n.labels.get(k).map(String::as_str)) {
        return false;
    }
    if f.contains("type") {
        let kind = if n.predefined() { "builtin" } else { "custom" };
        if !f.get("type").any(|v| v == kind) {
            return false;
        }
    }
    if f.contains("dangling") {
        let want = f.get("dangling").any(|v| v == "true" || v == "1");
        // Predefined networks are never dangling.
        let dangling = !in_use && !n.predefined();
        if dangling != want {
            return false;
        }
    }
    true
}

impl Networks {
    /// Opens the service over the daemon's database (migrated with [`MIGRATIONS`]): the
    /// predefined networks exist, the default bridge and the daemon's rules are in place.
    pub fn open(db: Db, events: Arc<EventBus>, cfg: ServiceConfig, runtime: tokio::runtime::Handle) -> SResult<Self> {
        let nat = if cfg.iptables { Some(Nat::new(&cfg.nat_table, NetNs::Current)?) } else { None };
        let docker_user = if cfg.iptables { Some(DockerUser::new(&cfg.nat_table, NetNs::Current)?) } else { None };
        let svc = Networks {
            db,
            events,
            cfg,
            nat,
            docker_user,
            dns: Arc::new(DnsState::new()),
            servers: Mutex::new(HashMap::new()),
            runtime,
            lock: Mutex::new(()),
        };
        svc.ensure_predefined()?;
        let legacy = match &svc.nat {
            Some(nat) => nat.ensure()?,
            None => false,
        };
        enable_ip_forward(&NetNs::Current)?;
        let all = svc.list_all()?;
        for n in &all {
            svc.dns.set_network_name(&n.id, &n.name);
            if n.driver == "bridge" {
                svc.realize(n)?;
            }
        }
        if let Some(du) = &svc.docker_user {
            // Rules a killed daemon left for networks that are gone since.
            let keep: Vec<&str> = all.iter().filter(|n| n.bridge.is_some()).map(|n| &n.id[..12]).collect();
            if let Err(e) = du.retain(&keep) {
                tracing::warn!("cleaning Docker's DOCKER-USER chain: {e}");
            }
        }
        if legacy {
            // The rules of an older version's `ip` table are gone: install the published
            // ports of the endpoints again, in the new table.
            svc.reinstall_endpoint_rules();
        }
        Ok(svc)
    }

    /// Installs the published-port rules of every endpoint that has some.
    fn reinstall_endpoint_rules(&self) {
        let Some(nat) = &self.nat else { return };
        for n in self.list_all().unwrap_or_default() {
            let Some(bridge) = n.bridge.clone() else { continue };
            for (_, ep) in self.endpoints(&n.id).unwrap_or_default() {
                let Some(addr) = ep.address.filter(|_| !ep.ports.is_empty()) else { continue };
                let rules = crate::EndpointRules {
                    network_id: n.id[..12].to_string(),
                    endpoint_id: ep.endpoint_id[..12].to_string(),
                    bridge: bridge.clone(),
                    address: addr.addr(),
                    address6: ep.address6.map(|a| a.addr()),
                    ports: ep.ports.clone(),
                };
                if let Err(e) = nat.add_endpoint(&rules) {
                    tracing::warn!(network = %n.name, "reinstalling published ports: {e}");
                }
            }
        }
    }

    /// The names the embedded DNS answers.
    pub fn dns(&self) -> &Arc<DnsState> {
        &self.dns
    }

    fn ensure_predefined(&self) -> SResult<()> {
        let bip = self.cfg.bip;
        let v4_config = SubnetConfig {
            subnet: bip.masked().to_string(),
            gateway: bip.addr().to_string(),
            ip_range: self.cfg.fixed_cidr.map(|r| r.to_string()).unwrap_or_default(),
            auto: false,
        };
        self.db.tx(|tx| {
            let all = all_networks(tx)?;
            let existing: Vec<String> = all.iter().map(|n| n.name.clone()).collect();
            // The default bridge follows the daemon's `--bridge`, `--bip`, `--fixed-cidr`,
            // `--ipv6` and `--fixed-cidr-v6` at every start (as dockerd), unless containers
            // are still on it.
            if let Some(old) = all.iter().find(|n| n.name == "bridge") {
                let old_v4 = old.subnets.iter().find(|s| !s.is_ipv6());
                let same_v4 = old_v4.is_some_and(|s| {
                    s.subnet == v4_config.subnet && s.gateway == v4_config.gateway && s.ip_range == v4_config.ip_range
                });
                let old_v6 = old.ipam6.as_ref().filter(|_| old.enable_ipv6).map(NetworkIpam6::subnet);
                let same_v6 = match (self.cfg.ipv6, old_v6) {
                    (false, None) => true,
                    (true, Some(s6)) => self.cfg.fixed_cidr_v6.is_none_or(|f| f.masked() == s6),
                    _ => false,
                };
                let same = old.bridge.as_deref() == Some(self.cfg.bridge.as_str()) && same_v4 && same_v6;
                if !same && endpoints_of_network(tx, &old.id)?.is_empty() {
                    tx.execute("DELETE FROM networks WHERE id = ?1", params![old.id])?;
                    let mut n = old.clone();
                    n.ipam = Some(NetworkIpam::new(bip.masked(), self.cfg.fixed_cidr, Some(bip.addr()))?);
                    n.subnets = vec![v4_config.clone()];
                    let others: Vec<Network> = all.iter().filter(|x| x.id != old.id).cloned().collect();
                    self.default_bridge_v6(&mut n, &others)?;
                    n.bridge = Some(self.cfg.bridge.clone());
                    n.options.insert("com.docker.network.bridge.name".into(), self.cfg.bridge.clone());
                    put_network(tx, &n)?;
                }
            }
            for name in PREDEFINED {
                if existing.iter().any(|e| e == name) {
                    continue;
                }
                let mut n = Network { id: random_id(), name: (*name).into(), ..Default::default() };
                match *name {
                    "bridge" => {
                        let subnet = bip.masked();
                        let ipam = NetworkIpam::new(subnet, self.cfg.fixed_cidr, Some(bip.addr()))?;
                        n.driver = "bridge".into();
                        n.created = now_nanos();
                        n.subnets = vec![v4_config.clone()];
                        n.ipam = Some(ipam);
                        self.default_bridge_v6(&mut n, &all)?;
                        n.bridge = Some(self.cfg.bridge.clone());
                        for (k, v) in [
                            ("com.docker.network.bridge.default_bridge", "true"),
                            ("com.docker.network.bridge.enable_icc", "true"),
                            ("com.docker.network.bridge.enable_ip_masquerade", "true"),
                            ("com.docker.network.bridge.host_binding_ipv4", "0.0.0.0"),
                            ("com.docker.network.bridge.name", self.cfg.bridge.as_str()),
                            ("com.docker.network.driver.mtu", "1500"),
                        ] {
                            n.options.insert(k.into(), v.into());
                        }
                    }
                    "host" => n.driver = "host".into(),
                    _ => n.driver = "null".into(),
                }
                put_network(tx, &n)?;
            }
            Ok::<_, ServiceError>(())
        })
    }

    /// The default bridge's IPv6 side from the daemon's `--ipv6` and `--fixed-cidr-v6` (a
    /// subnet of the IPv6 pools without the latter), or none; `others` are the other networks.
    fn default_bridge_v6(&self, n: &mut Network, others: &[Network]) -> SResult<()> {
        n.enable_ipv6 = self.cfg.ipv6;
        n.ipam6 = None;
        if !self.cfg.ipv6 {
            return Ok(());
        }
        let in_use6: Vec<Ipv6Net> = others.iter().filter_map(|o| o.ipam6.as_ref().map(NetworkIpam6::subnet)).collect();
        let (subnet6, auto) = match self.cfg.fixed_cidr_v6 {
            Some(f) => (f.masked(), false),
            None => (allocate_subnet6(&self.cfg.pools6, &in_use6, &host_routes6())?, true),
        };
        let ipam6 = NetworkIpam6::new(subnet6, None, None)?;
        n.subnets.push(SubnetConfig {
            subnet: subnet6.to_string(),
            gateway: ipam6.gateway().to_string(),
            ip_range: String::new(),
            auto,
        });
        n.ipam6 = Some(ipam6);
        Ok(())
    }

    /// Makes a real Docker's `FORWARD` policy let the bridges of `nets` through (see
    /// [`DockerUser`]). Best effort: our own table stays authoritative, so a failure here is
    /// logged, not returned.
    fn allow_in_docker(&self, nets: &[&Network]) {
        let Some(du) = &self.docker_user else { return };
        let passes: Vec<DockerUserPass> = nets
            .iter()
            .filter(|n| n.driver == "bridge" && !n.internal)
            .filter_map(|n| {
                let bridge = n.bridge.clone()?;
                Some(DockerUserPass { network_id: n.id[..12].to_string(), bridge })
            })
            .collect();
        if passes.is_empty() {
            return;
        }
        if let Err(e) = du.ensure(&passes) {
            tracing::warn!("letting wharf bridges through Docker's DOCKER-USER chain: {e}");
        }
    }

    /// The bridge and rules of a bridge network (idempotent).
    fn realize(&self, n: &Network) -> SResult<()> {
        let (Some(bridge), Some(ipam)) = (&n.bridge, &n.ipam) else { return Ok(()) };
        let ipam6 = n.ipam6.as_ref().filter(|_| n.enable_ipv6);
        if ipam6.is_some() {
            enable_ipv6_forward(&NetNs::Current)?;
        }
        ensure_bridge(
            &NetNs::Current,
            &crate::BridgeConfig {
                name: bridge.clone(),
                address: ipam.gateway_cidr(),
                mtu: self.cfg.mtu,
                address6: ipam6.map(NetworkIpam6::gateway_cidr),
            },
        )?;
        if let Some(nat) = &self.nat {
            let opt = |k: &str| n.options.get(k).map(String::as_str) != Some("false");
            nat.add_network(&NetworkRules {
                network_id: n.id[..12].to_string(),
                bridge: bridge.clone(),
                subnet: ipam.subnet(),
                subnet6: ipam6.map(NetworkIpam6::subnet),
                internal: n.internal,
                icc: opt("com.docker.network.bridge.enable_icc"),
                masquerade: opt("com.docker.network.bridge.enable_ip_masquerade"),
            })?;
            self.allow_in_docker(&[n]);
        }
        Ok(())
    }

    /// Every network, oldest first.
    pub fn list_all(&self) -> SResult<Vec<Network>> {
        self.db.read(all_networks)
    }

    /// `GET /networks` with Docker's filters.
    pub fn list(&self, f: &Filters) -> SResult<Vec<Network>> {
        self.db.read(|tx| {
            let mut out = Vec::new();
            for n in all_networks(tx)? {
                let in_use = !endpoints_of_network(tx, &n.id)?.is_empty();
                if matches(&n, f, in_use) {
                    out.push(n);
                }
            }
            Ok(out)
        })
    }

    /// A network by exact ID, name, or unique ID prefix (dockerd's order).
    pub fn get(&self, name: &str) -> SResult<Network> {
        let all = self.list_all()?;
        if let Some(n) = all.iter().find(|n| n.id == name) {
            return Ok(n.clone());
        }
        if let Some(n) = all.iter().find(|n| n.name == name) {
            return Ok(n.clone());
        }
        let found: Vec<&Network> = all.iter().filter(|n| !name.is_empty() && n.id.starts_with(name)).collect();
        match found.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(ServiceError::not_found(name)),
            _ => Err(ServiceError::new(
                ErrorKind::InvalidArgument,
                format!("network {name} is ambiguous ({} matches found based on ID prefix)", found.len()),
            )),
        }
    }

    /// The containers on network `id` (container ID, endpoint).
    pub fn endpoints(&self, id: &str) -> SResult<Vec<(String, Endpoint)>> {
        self.db.read(|tx| endpoints_of_network(tx, id))
    }

    /// The endpoints of a container (network, endpoint), `eth0` first.
    pub fn container_endpoints(&self, container_id: &str) -> SResult<Vec<(Network, Endpoint)>> {
        self.db.read(|tx| {
            let mut out = Vec::new();
            for (nid, ep) in endpoints_of_container(tx, container_id)? {
                if let Some(n) = get_network(tx, &nid)? {
                    out.push((n, ep));
                }
            }
            Ok(out)
        })
    }

    /// Replaces the record of an existing endpoint.
    fn save_endpoint(&self, network_id: &str, container_id: &str, ep: &Endpoint) -> SResult<()> {
        self.db.tx(|tx| {
            tx.execute(
                "UPDATE endpoints SET record = ?3 WHERE network_id = ?1 AND container_id = ?2",
                params![network_id, container_id, json(ep)],
            )?;
            Ok(())
        })
    }

    fn publish(&self, action: &str, n: &Network, extra: &[(&str, String)]) {
        let mut ev = Event::new(EventType::Network, action, &n.id, now_nanos());
        ev.attributes.insert("name".into(), n.name.clone());
        ev.attributes.insert("type".into(), n.driver.clone());
        for (k, v) in extra {
            ev.attributes.insert((*k).to_string(), v.clone());
        }
        self.events.publish(ev);
    }

    /// `docker network create`.
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        &self,
        name: &str,
        driver: &str,
        subnets: &[SubnetConfig],
        internal: bool,
        attachable: bool,
        enable_ipv6: bool,
        options: BTreeMap<String, String>,
        labels: BTreeMap<String, String>,
        ipam_options: BTreeMap<String, String>,
    ) -> SResult<Network> {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if PREDEFINED.contains(&name) {
            return Err(ServiceError::new(
                ErrorKind::Forbidden,
                format!("{name} is a pre-defined network and cannot be created"),
            ));
        }
        let driver = if driver.is_empty() { "bridge" } else { driver };
        if driver != "bridge" && driver != "macvlan" {
            return Err(ServiceError::new(ErrorKind::NotFound, format!("plugin \"{driver}\" not found")));
        }
        if driver == "macvlan" {
            // Docker creates a dummy parent when none is given; this kernel has no dummy
            // driver, so a parent is required.
            let parent = options.get("parent").cloned().unwrap_or_default();
            if parent.is_empty() {
                return Err(ServiceError::new(
                    ErrorKind::InvalidArgument,
                    "a macvlan network needs a parent interface (-o parent=IFACE)",
                ));
            }
            if !crate::link_exists(&NetNs::Current, &parent)? {
                return Err(ServiceError::new(
                    ErrorKind::InvalidArgument,
                    format!("-o parent interface was not found on the host: {parent}"),
                ));
            }
        }
        // One pool per family (the IPv6 one only counts with `--ipv6`; without it, dockerd
        // keeps it in the configuration but gives the network no IPv6).
        let (v6_confs, v4_confs): (Vec<&SubnetConfig>, Vec<&SubnetConfig>) = subnets.iter().partition(|c| c.is_ipv6());
        if v4_confs.len() > 1 {
            return Err(ServiceError::new(
                ErrorKind::InvalidArgument,
                "only one IPv4 subnet per network is supported yet",
            ));
        }
        if v6_confs.len() > 1 {
            return Err(ServiceError::new(
                ErrorKind::InvalidArgument,
                "only one IPv6 subnet per network is supported yet",
            ));
        }
        let v6_conf = match v6_confs.first() {
            Some(c) if c.subnet.parse::<Ipv6Net>().is_err() => {
                return Err(invalid_config(format!("invalid subnet {}: invalid CIDR block notation", c.subnet)))
            }
            Some(c) => Some((*c).clone()),
            None => None,
        };
        let all = self.list_all()?;
        if all.iter().any(|n| n.name == name) {
            return Err(ServiceError::new(ErrorKind::Conflict, format!("network with name {name} already exists")));
        }
        let in_use: Vec<Ipv4Net> = all.iter().filter_map(|n| n.ipam.as_ref().map(NetworkIpam::subnet)).collect();
        let conf = v4_confs.first().map(|c| (*c).clone()).unwrap_or_default();
        let auto4 = conf.subnet.is_empty();
        let subnet = if auto4 {
            allocate_subnet(&self.cfg.pools, &in_use, &host_routes())?
        } else {
            let s = parse_net(&conf.subnet)?;
            crate::check_subnet(s, &in_use)?;
            s
        };
        let ip_range = if conf.ip_range.is_empty() { None } else { Some(parse_net(&conf.ip_range)?) };
        let gateway = if conf.gateway.is_empty() {
            None
        } else {
            Some(conf.gateway.parse::<Ipv4Addr>().map_err(|_| {
                ServiceError::new(ErrorKind::InvalidArgument, format!("invalid gateway address {}", conf.gateway))
            })?)
        };
        let ipam = NetworkIpam::new(subnet, ip_range, gateway)?;
        let mut configs = vec![SubnetConfig {
            subnet: subnet.to_string(),
            gateway: ipam.gateway().to_string(),
            ip_range: ip_range.map(|r| r.to_string()).unwrap_or_default(),
            auto: auto4,
        }];
        let ipam6 = if enable_ipv6 {
            let in_use6: Vec<Ipv6Net> = all.iter().filter_map(|n| n.ipam6.as_ref().map(NetworkIpam6::subnet)).collect();
            let (subnet6, range6, gateway6, auto6) = match &v6_conf {
                Some(c) => {
                    let (s6, r6, g6) = parse_v6_config(c)?;
                    crate::check_subnet6(s6, &in_use6)?;
                    (s6, r6, g6, false)
                }
                None => (allocate_subnet6(&self.cfg.pools6, &in_use6, &host_routes6())?, None, None, true),
            };
            let ipam6 = NetworkIpam6::new(subnet6, range6, gateway6)?;
            configs.push(SubnetConfig {
                subnet: subnet6.to_string(),
                gateway: ipam6.gateway().to_string(),
                ip_range: range6.map(|r| r.to_string()).unwrap_or_default(),
                auto: auto6,
            });
            Some(ipam6)
        } else {
            configs.extend(v6_conf);
            None
        };
        let id = random_id();
        let bridge = (driver == "bridge").then(|| {
            options.get("com.docker.network.bridge.name").cloned().unwrap_or_else(|| format!("br-{}", &id[..12]))
        });
        let n = Network {
            id,
            name: name.to_string(),
            created: now_nanos(),
            driver: driver.into(),
            internal,
            attachable,
            enable_ipv6,
            options,
            labels,
            ipam_options,
            subnets: configs,
            ipam: Some(ipam),
            ipam6,
            bridge,
        };
        self.realize(&n)?;
        if let Err(e) = self.db.tx(|tx| put_network(tx, &n)) {
            self.unrealize(&n);
            return Err(e);
        }
        self.dns.set_network_name(&n.id, &n.name);
        self.publish("create", &n, &[]);
        Ok(n)
    }

    fn unrealize(&self, n: &Network) {
        if let Some(nat) = &self.nat {
            let _ = nat.remove_network(&n.id[..12]);
        }
        if let Some(du) = &self.docker_user {
            if let Err(e) = du.remove(&n.id[..12]) {
                tracing::warn!(network = %n.name, "removing our rules from Docker's DOCKER-USER chain: {e}");
            }
        }
        if let Some(b) = &n.bridge {
            let _ = delete_bridge(&NetNs::Current, b);
        }
    }

    /// `docker network rm`.
    pub fn remove(&self, name: &str) -> SResult<()> {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let n = self.get(name)?;
        if n.predefined() {
            return Err(ServiceError::new(
                ErrorKind::Forbidden,
                format!("{} is a pre-defined network and cannot be removed", n.name),
            ));
        }
        self.db.tx(|tx| {
            if !endpoints_of_network(tx, &n.id)?.is_empty() {
                return Err(ServiceError::new(
                    ErrorKind::Forbidden,
                    format!("error while removing network: network {} id {} has active endpoints", n.name, n.id),
                ));
            }
            tx.execute("DELETE FROM networks WHERE id = ?1", params![n.id])?;
            Ok(())
        })?;
        self.unrealize(&n);
        self.dns.remove_network(&n.id);
        self.publish("destroy", &n, &[]);
        Ok(())
    }

    /// `docker network prune`: unused user-defined networks matching `until`/`label`; their
    /// names.
    pub fn prune(&self, f: &Filters) -> SResult<Vec<String>> {
        let until = match f.get("until").next() {
            Some(u) => Some(
                wharf_types::parse_timestamp(u, now_nanos())
                    .map_err(|e| ServiceError::new(ErrorKind::InvalidArgument, e.to_string()))?,
            ),
            None => None,
        };
        let mut removed = Vec::new();
        for n in self.list_all()? {
            if n.predefined() || !self.endpoints(&n.id)?.is_empty() {
                continue;
            }
            if until.is_some_and(|u| n.created >= u) {
                continue;
            }
            if !f.match_labels("label", |k| n.labels.get(k).map(String::as_str)) {
                continue;
            }
            if f.contains("label!")
                && f.get("label!").any(|l| {
                    let (k, v) = l.split_once('=').map_or((l, None), |(k, v)| (k, Some(v)));
                    n.labels.get(k).is_some_and(|x| v.is_none_or(|v| v == x))
                })
            {
                continue;
            }
            if self.remove(&n.id).is_ok() {
                removed.push(n.name.clone());
            }
        }
        Ok(removed)
    }

    /// Before a container is created: for each network it asks for (by name, in order; the
    /// first gets `eth0`), allocates its address and records the endpoint. Only `bridge`
    /// networks have endpoints; `host`/`none`/`container:` are the runtime's business.
    pub fn plan(&self, container_id: &str, container_name: &str, requests: &[EndpointRequest]) -> SResult<Plan> {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut plan = Plan::default();
        let result = self.db.tx(|tx| {
            for (i, req) in requests.iter().enumerate() {
                let n = self.resolve_in(tx, &req.network)?;
                if n.driver != "bridge" && n.driver != "macvlan" {
                    return Err(ServiceError::new(
                        ErrorKind::InvalidArgument,
                        format!("container cannot be connected to network {} with driver {}", n.name, n.driver),
                    ));
                }
                if req.ipv4.is_some() && n.name == "bridge" {
                    return Err(ServiceError::new(
                        ErrorKind::InvalidArgument,
                        "user specified IP address is supported on user defined networks only",
                    ));
                }
                let errs = ipv6_endpoint_errors(&n, req.ipv6);
                if !errs.is_empty() {
                    return Err(ServiceError::new(
                        ErrorKind::InvalidArgument,
                        format!(
                            "invalid config for network {}: invalid endpoint settings:\n{}",
                            n.name,
                            errs.join("\n")
                        ),
                    ));
                }
                let mut net = n.clone();
                let ipam = net.ipam.as_mut().expect("bridge and macvlan networks have IPAM");
                let existing: Option<String> = tx
                    .query_row(
                        "SELECT record FROM endpoints WHERE network_id = ?1 AND container_id = ?2",
                        params![n.id, container_id],
                        |r| r.get(0),
                    )
                    .optional()?;
                let mut ep: Endpoint = match existing {
                    Some(r) => serde_json::from_str(&r).unwrap_or_default(),
                    None => Endpoint {
                        endpoint_id: random_id(),
                        static_ip: req.ipv4,
                        static_ip6: req.ipv6,
                        ..Default::default()
                    },
                };
                if ep.address.is_none() {
                    let ip = ipam.allocate(ep.static_ip).map_err(|e| e.with_network(&n.name, &n.id))?;
                    ep.address = Some(Ipv4Net::new(ip, ipam.subnet().prefix())?);
                }
                let ip = ep.address.expect("allocated above").addr();
                ep.container_name = container_name.to_string();
                ep.aliases = req.aliases.clone();
                ep.ifname = format!("eth{i}");
                ep.gateway = Some(ipam.gateway());
                ep.mac = Some(crate::mac_from_ipv4(ip));
                match net.ipam6.as_mut().filter(|_| n.enable_ipv6) {
                    Some(ipam6) => {
                        if ep.address6.is_none() {
                            let ip6 = ipam6.allocate(ep.static_ip6).map_err(|e| e.with_network(&n.name, &n.id))?;
                            ep.address6 = Some(Ipv6Net::new(ip6, ipam6.subnet().prefix())?);
                        }
                        ep.gateway6 = Some(ipam6.gateway());
                    }
                    None => {
                        ep.address6 = None;
                        ep.gateway6 = None;
                    }
                }
                if i == 0 {
                    plan.ipv6 = ep.address6.map(|a| a.addr());
                }
                put_network(tx, &net)?;
                tx.execute(
                    "INSERT INTO endpoints (network_id, container_id, record) VALUES (?1, ?2, ?3)
                     ON CONFLICT(network_id, container_id) DO UPDATE SET record = excluded.record",
                    params![n.id, container_id, json(&ep)],
                )?;
                if n.name != "bridge" {
                    plan.embedded_dns = true;
                }
                plan.hosts.push((ip, Vec::new()));
            }
            Ok(())
        });
        result.map(|()| plan)
    }

    fn resolve_in(&self, tx: &Tx<'_>, name: &str) -> SResult<Network> {
        let all = all_networks(tx)?;
        all.iter()
            .find(|n| n.id == name || n.name == name)
            .or_else(|| {
                let m: Vec<&Network> = all.iter().filter(|n| !name.is_empty() && n.id.starts_with(name)).collect();
                (m.len() == 1).then(|| m[0])
            })
            .cloned()
            .ok_or_else(|| ServiceError::not_found(name))
    }

    /// Once the container's init `pid` exists: its interfaces (veth pairs on the bridges,
    /// addresses, routes), its names in the embedded DNS and, on user-defined networks, its
    /// DNS server.
    pub fn attach(&self, container_id: &str, pid: i32, ports: &[PortRequest]) -> SResult<()> {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let eps = self.container_endpoints(container_id)?;
        let taken: Vec<crate::PortMapping> = self.db.read(|tx| {
            let mut st = tx.prepare("SELECT record FROM endpoints WHERE container_id != ?1")?;
            let rows = st.query_map(params![container_id], |r| r.get::<_, String>(0))?;
            let mut all = Vec::new();
            for r in rows {
                let ep: Endpoint = serde_json::from_str(&r?).unwrap_or_default();
                all.extend(ep.ports);
            }
            Ok::<_, ServiceError>(all)
        })?;
        for (n, mut ep) in eps.clone() {
            if n.driver == "macvlan" {
                let Some(parent) = n.options.get("parent").cloned() else { continue };
                let Some(cfg) = self.endpoint_config(&n, &ep, pid) else { continue };
                ep.mac = Some(crate::attach_macvlan(&NetNs::Current, &parent, &cfg)?);
                self.save_endpoint(&n.id, container_id, &ep)?;
                continue;
            }
            let Some(bridge) = n.bridge.clone() else { continue };
            let Some(cfg) = self.endpoint_config(&n, &ep, pid) else { continue };
            let att = attach_veth(&NetNs::Current, &bridge, &cfg, port_options(&n))?;
            ep.host_ifname = Some(att.host_ifname);
            ep.mac = Some(att.mac);
            // Ports are published on the first network's endpoint.
            if ep.ifname == "eth0" && !ports.is_empty() && !n.internal {
                // `-p 8080:80` is published on `[::]` too when the host has IPv6 and something
                // serves it: DNAT to the container's IPv6 address, or the userland proxy.
                let ipv6 = ipv6_listenable() && (ep.address6.is_some() || self.cfg.proxy.is_some());
                ep.ports = allocate_ports(ports, &taken, ipv6)?;
                // Record first: a failure below still lets `release` find what was made.
                let record = ep.clone();
                self.save_endpoint(&n.id, container_id, &record)?;
                for m in ep.ports.clone() {
                    // An IPv6 host address goes to the container's IPv6 address, or to its
                    // IPv4 one when it has none (as docker-proxy does).
                    let target = match (m.host_ip, ep.address6) {
                        (Some(IpAddr::V6(_)), Some(a6)) => IpAddr::V6(a6.addr()),
                        _ => IpAddr::V4(cfg.address.addr()),
                    };
                    match self.start_proxy(&m, target) {
                        Ok(Some(pid)) => ep.proxies.push(pid),
                        Ok(None) => {}
                        Err(e) => {
                            stop_proxies(&ep.proxies);
                            return Err(e);
                        }
                    }
                }
                if let Some(nat) = &self.nat {
                    nat.add_endpoint(&crate::EndpointRules {
                        network_id: n.id[..12].to_string(),
                        endpoint_id: ep.endpoint_id[..12].to_string(),
                        bridge: bridge.clone(),
                        address: cfg.address.addr(),
                        address6: ep.address6.map(|a| a.addr()),
                        ports: ep.ports.clone(),
                    })?;
                }
            }
            self.save_endpoint(&n.id, container_id, &ep)?;
        }
        // A dockerd started since the network was realized: let its bridges through now.
        let nets: Vec<&Network> = eps.iter().map(|(n, _)| n).collect();
        self.allow_in_docker(&nets);
        self.register_dns(container_id, pid, &eps)
    }

    /// The container's names in the embedded DNS, and its DNS server on user-defined networks.
    fn register_dns(&self, container_id: &str, pid: i32, eps: &[(Network, Endpoint)]) -> SResult<()> {
        let mut user_defined = false;
        for (n, ep) in eps {
            if n.name == "bridge" {
                continue; // the default bridge has no name resolution, as in Docker
            }
            user_defined = true;
            let mut names = vec![ep.container_name.clone()];
            names.extend(ep.aliases.iter().cloned());
            self.dns.set_endpoint(
                &n.id,
                container_id,
                names,
                ep.address.map(|a| a.addr()),
                ep.address6.map(|a| a.addr()),
            );
        }
        let running = self.servers.lock().unwrap_or_else(|e| e.into_inner()).contains_key(container_id);
        if user_defined && !running {
            let path = std::path::PathBuf::from(format!("/proc/{pid}/ns/net"));
            let server = DnsServer::start_with(
                &path,
                container_id.to_string(),
                self.dns.clone(),
                wharf_dns::ServerConfig::new(self.cfg.upstream_dns.clone()),
                &self.runtime,
            )
            .map_err(|e| ServiceError::new(ErrorKind::Internal, format!("starting the embedded DNS server: {e}")))?;
            if let Some(old) =
                self.servers.lock().unwrap_or_else(|e| e.into_inner()).insert(container_id.to_string(), server)
            {
                drop(old);
            }
        }
        Ok(())
    }

    /// Starts the userland proxy of `m` towards `container_ip` (TCP and UDP; SCTP has DNAT
    /// only, as with Docker); its pid.
    fn start_proxy(&self, m: &crate::PortMapping, container_ip: IpAddr) -> SResult<Option<u32>> {
        let Some(program) = &self.cfg.proxy else { return Ok(None) };
        let proto = match m.protocol {
            crate::Protocol::Tcp => wharf_proxy::Proto::Tcp,
            crate::Protocol::Udp => wharf_proxy::Proto::Udp,
            crate::Protocol::Sctp => return Ok(None),
        };
        let spec = wharf_proxy::ProxySpec {
            proto,
            host_ip: m.host_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            host_port: m.host_port,
            container_ip,
            container_port: m.container_port,
        };
        let mut child = wharf_proxy::spawn(program, &wharf_proxy::Args::new(spec), wharf_proxy::READY_TIMEOUT)
            .map_err(|e| ServiceError::new(ErrorKind::Internal, e.to_string()))?;
        let pid = child.id();
        // Reaped by a thread of ours while we live; it belongs to init once we are gone.
        let _ = std::thread::Builder::new().name("proxy-reaper".into()).spawn(move || {
            let _ = child.wait();
        });
        Ok(Some(pid))
    }

    /// `docker network connect`: records the endpoint (the next `ethN`, no default route) and,
    /// with `pid` (the container runs), creates its interface and DNS entries at once.
    pub fn connect(
        &self,
        container_id: &str,
        container_name: &str,
        req: &EndpointRequest,
        pid: Option<i32>,
    ) -> SResult<()> {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let eps = self.db.read(|tx| endpoints_of_container(tx, container_id))?;
        let n = self.db.read(|tx| self.resolve_in(tx, &req.network))?;
        if n.driver != "bridge" {
            return Err(ServiceError::new(
                ErrorKind::InvalidArgument,
                format!("container cannot be connected to network {} with driver {}", n.name, n.driver),
            ));
        }
        if eps.iter().any(|(nid, _)| *nid == n.id) {
            return Err(ServiceError::new(
                ErrorKind::Forbidden,
                format!("endpoint with name {container_name} already exists in network {}", n.name),
            ));
        }
        let errs = ipv6_endpoint_errors(&n, req.ipv6);
        if !errs.is_empty() {
            return Err(ServiceError::new(
                ErrorKind::InvalidArgument,
                format!("invalid endpoint settings:\n{}", errs.join("\n")),
            ));
        }
        let ifname =
            (0..).map(|i| format!("eth{i}")).find(|f| !eps.iter().any(|(_, e)| &e.ifname == f)).expect("a free name");
        let ep = self.db.tx(|tx| {
            let mut net = get_network(tx, &n.id)?.ok_or_else(|| ServiceError::not_found(&req.network))?;
            let enable_ipv6 = net.enable_ipv6;
            let ipam = net.ipam.as_mut().expect("bridge networks have IPAM");
            let ip = ipam.allocate(req.ipv4).map_err(|e| e.with_network(&n.name, &n.id))?;
            let (address, gateway) = (Some(Ipv4Net::new(ip, ipam.subnet().prefix())?), Some(ipam.gateway()));
            let (address6, gateway6) = match net.ipam6.as_mut().filter(|_| enable_ipv6) {
                Some(ipam6) => {
                    let ip6 = ipam6.allocate(req.ipv6).map_err(|e| e.with_network(&n.name, &n.id))?;
                    (Some(Ipv6Net::new(ip6, ipam6.subnet().prefix())?), Some(ipam6.gateway()))
                }
                None => (None, None),
            };
            let ep = Endpoint {
                endpoint_id: random_id(),
                container_name: container_name.to_string(),
                aliases: req.aliases.clone(),
                ifname: ifname.clone(),
                address,
                gateway,
                mac: Some(crate::mac_from_ipv4(ip)),
                static_ip: req.ipv4,
                address6,
                gateway6,
                static_ip6: req.ipv6,
                host_ifname: None,
                ports: Vec::new(),
                proxies: Vec::new(),
            };
            put_network(tx, &net)?;
            tx.execute(
                "INSERT INTO endpoints (network_id, container_id, record) VALUES (?1, ?2, ?3)",
                params![n.id, container_id, json(&ep)],
            )?;
            Ok::<_, ServiceError>(ep)
        })?;
        let Some(pid) = pid else { return Ok(()) };
        let (Some(bridge), Some(addr)) = (n.bridge.clone(), ep.address) else { return Ok(()) };
        let cfg = crate::EndpointConfig {
            container: NetNs::Pid(pid as u32),
            ifname: ep.ifname.clone(),
            address: addr,
            mac: ep.mac,
            gateway: None,
            mtu: self.cfg.mtu,
            address6: ep.address6,
            gateway6: None,
        };
        let mut ep = ep;
        match attach_veth(&NetNs::Current, &bridge, &cfg, port_options(&n)) {
            Ok(att) => ep.host_ifname = Some(att.host_ifname),
            Err(e) => {
                self.forget_endpoint(&n, container_id, &ep);
                return Err(e.into());
            }
        }
        self.save_endpoint(&n.id, container_id, &ep)?;
        self.allow_in_docker(&[&n]);
        self.register_dns(container_id, pid, &[(n.clone(), ep)])?;
        self.publish("connect", &n, &[("container", container_id.to_string())]);
        Ok(())
    }

    /// `docker network disconnect`: the endpoint's interface, address and names go.
    pub fn disconnect(&self, container_id: &str, network: &str) -> SResult<()> {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let n = self.db.read(|tx| self.resolve_in(tx, network))?;
        let eps = self.db.read(|tx| endpoints_of_container(tx, container_id))?;
        let Some((_, ep)) = eps.iter().find(|(nid, _)| *nid == n.id) else {
            return Err(ServiceError::new(
                ErrorKind::Forbidden,
                format!("container {container_id} is not connected to network {}", n.name),
            ));
        };
        if let Some(h) = &ep.host_ifname {
            let _ = detach_veth(&NetNs::Current, h);
        }
        self.forget_endpoint(&n, container_id, ep);
        self.dns.remove_endpoint(&n.id, container_id);
        let user_left = eps.iter().any(|(nid, _)| *nid != n.id && self.get(nid).is_ok_and(|x| x.name != "bridge"));
        if !user_left {
            self.servers.lock().unwrap_or_else(|e| e.into_inner()).remove(container_id);
        }
        self.publish("disconnect", &n, &[("container", container_id.to_string())]);
        Ok(())
    }

    /// Releases an endpoint's address and deletes its record.
    fn forget_endpoint(&self, n: &Network, container_id: &str, ep: &Endpoint) {
        let r = self.db.tx(|tx| delete_endpoint(tx, &n.id, container_id, ep));
        if let Err(e) = r {
            tracing::warn!(container = container_id, "forgetting an endpoint: {e}");
        }
    }

    /// After the container exited (or failed to start): its DNS server and names go, the host
    /// ends of its veth pairs are deleted (if the kernel has not already), its addresses are
    /// released and its endpoints forgotten.
    pub fn release(&self, container_id: &str) {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(server) = self.servers.lock().unwrap_or_else(|e| e.into_inner()).remove(container_id) {
            drop(server);
        }
        self.dns.remove_container(container_id);
        let Ok(eps) = self.container_endpoints(container_id) else { return };
        for (n, ep) in &eps {
            stop_proxies(&ep.proxies);
            if !ep.ports.is_empty() {
                if let Some(nat) = &self.nat {
                    let _ = nat.remove_endpoint(&n.id[..12], &ep.endpoint_id[..12]);
                }
            }
            if let Some(h) = &ep.host_ifname {
                let _ = detach_veth(&NetNs::Current, h);
            }
        }
        let r = self.db.tx(|tx| {
            for (n, ep) in &eps {
                delete_endpoint(tx, &n.id, container_id, ep)?;
            }
            Ok::<_, ServiceError>(())
        });
        if let Err(e) = r {
            tracing::warn!(container = container_id, "releasing network endpoints: {e}");
        }
    }

    /// At daemon start, for a container still running with init `pid`: its names and DNS
    /// server again (the interfaces and rules outlived the daemon).
    pub fn restore(&self, container_id: &str, pid: i32) {
        let Ok(eps) = self.container_endpoints(container_id) else { return };
        if let Err(e) = self.register_dns(container_id, pid, &eps) {
            tracing::warn!(container = container_id, "restoring the embedded DNS: {e}");
        }
    }

    /// The interface of endpoint `ep` on `n` in the namespace of `pid` (`None` without an
    /// address). The default routes go to the first network (`eth0`), unless it is internal.
    fn endpoint_config(&self, n: &Network, ep: &Endpoint, pid: i32) -> Option<crate::EndpointConfig> {
        let address = ep.address?;
        let gateway_network = ep.ifname == "eth0" && !n.internal;
        Some(crate::EndpointConfig {
            container: NetNs::Pid(pid as u32),
            ifname: ep.ifname.clone(),
            address,
            mac: ep.mac,
            gateway: if gateway_network { ep.gateway } else { None },
            mtu: self.cfg.mtu,
            address6: ep.address6,
            gateway6: if gateway_network { ep.gateway6 } else { None },
        })
    }

    /// The daemon stops: with no container left on any network, the daemon's rules go too
    /// (its table, and its rules in Docker's `DOCKER-USER`).
    pub fn shutdown(&self) {
        self.servers.lock().unwrap_or_else(|e| e.into_inner()).clear();
        let busy = self.db.read(|tx| {
            let n: i64 = tx.query_row("SELECT COUNT(*) FROM endpoints", [], |r| r.get(0))?;
            Ok::<_, ServiceError>(n)
        });
        if matches!(busy, Ok(0)) {
            if let Some(nat) = &self.nat {
                let _ = nat.flush_all();
            }
            if let Some(du) = &self.docker_user {
                if let Err(e) = du.remove_all() {
                    tracing::warn!("removing our rules from Docker's DOCKER-USER chain: {e}");
                }
            }
            for n in self.list_all().unwrap_or_default() {
                if let Some(b) = &n.bridge {
                    let _ = delete_bridge(&NetNs::Current, b);
                }
            }
        }
    }

    /// An IPv4 address as Docker prints it in `/etc/hosts`.
    pub fn ip_of(ep: &Endpoint) -> Option<IpAddr> {
        ep.address.map(|a| IpAddr::V4(a.addr()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PortMapping, Protocol};

    fn req(host_ip: Option<&str>, port: u16) -> PortRequest {
        PortRequest {
            protocol: Protocol::Tcp,
            container_port: 80,
            host_ip: host_ip.map(|i| i.parse().unwrap()),
            host_ports: (port, port),
        }
    }

    /// A port nothing on the host uses now, on both families.
    fn free_port() -> u16 {
        loop {
            let l = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
            let p = l.local_addr().unwrap().port();
            drop(l);
            if port_free(Protocol::Tcp, IpAddr::V6(Ipv6Addr::UNSPECIFIED), p) {
                return p;
            }
        }
    }

    #[test]
    fn unspecified_host_addresses_publish_on_both_families() {
        let p = free_port();
        let got = allocate_ports(&[req(None, p)], &[], true).unwrap();
        let ips: Vec<String> = got.iter().map(|m| m.host_ip.unwrap().to_string()).collect();
        assert_eq!(ips, ["0.0.0.0", "::"]);
        assert!(got.iter().all(|m| m.host_port == p && m.container_port == 80));
        // Without IPv6 on the host (or anything to serve it): IPv4 only.
        let got = allocate_ports(&[req(None, p)], &[], false).unwrap();
        assert_eq!(got.len(), 1);
        // An explicit address publishes on that family only.
        for ip in ["0.0.0.0", "::", "127.0.0.1", "::1"] {
            let got = allocate_ports(&[req(Some(ip), p)], &[], true).unwrap();
            assert_eq!(got.len(), 1, "{ip}");
            assert_eq!(got[0].host_ip, Some(ip.parse().unwrap()));
        }
        // Ephemeral: the same host port on both families.
        let got = allocate_ports(&[req(None, 0)], &[], true).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].host_port, got[1].host_port);
    }

    #[test]
    fn ports_held_by_other_endpoints_are_refused_per_family() {
        let p = free_port();
        let held = |ip: Option<&str>| PortMapping {
            protocol: Protocol::Tcp,
            host_ip: ip.map(|i| i.parse().unwrap()),
            host_port: p,
            container_port: 80,
        };
        // An older record's `None` is 0.0.0.0.
        let err = allocate_ports(&[req(None, p)], &[held(None)], true).unwrap_err();
        assert_eq!(err.message, format!("Bind for 0.0.0.0:{p} failed: port is already allocated"));
        assert_eq!(err.kind, ErrorKind::Conflict);
        let err = allocate_ports(&[req(None, p)], &[held(Some("::"))], true).unwrap_err();
        assert_eq!(err.message, format!("Bind for :::{p} failed: port is already allocated"));
        let err = allocate_ports(&[req(Some("::1"), p)], &[held(Some("::"))], true).unwrap_err();
        assert_eq!(err.message, format!("Bind for ::1:{p} failed: port is already allocated"));
        // The other family, or another address of the same family, is fine.
        assert!(allocate_ports(&[req(Some("::"), p)], &[held(Some("0.0.0.0"))], true).is_ok());
        assert!(allocate_ports(&[req(Some("127.0.0.1"), p)], &[held(Some("::"))], true).is_ok());
        assert!(allocate_ports(&[req(Some("::1"), p)], &[held(Some("127.0.0.1"))], true).is_ok());
        // Ports in use on the host, IPv6 included (checked with IPV6_V6ONLY, as the proxy binds).
        let l6 = std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, p)).unwrap();
        let err = allocate_ports(&[req(None, p)], &[], true).unwrap_err();
        assert_eq!(err.message, format!("Bind for :::{p} failed: port is already allocated"));
        assert!(allocate_ports(&[req(Some("0.0.0.0"), p)], &[], true).is_ok());
        drop(l6);
        assert!(host_ips_overlap("::".parse().unwrap(), "::1".parse().unwrap()));
        assert!(!host_ips_overlap("0.0.0.0".parse().unwrap(), "::".parse().unwrap()));
        assert!(!host_ips_overlap("::1".parse().unwrap(), "::2".parse().unwrap()));
    }

    fn network(name: &str, subnets: &[(&str, &str, bool)]) -> Network {
        Network {
            name: name.into(),
            enable_ipv6: true,
            subnets: subnets
                .iter()
                .map(|(s, r, auto)| SubnetConfig {
                    subnet: (*s).into(),
                    ip_range: (*r).into(),
                    auto: *auto,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn static_ipv6_addresses_follow_dockerd_s_rules() {
        let ip = |s: &str| Some(s.parse::<Ipv6Addr>().unwrap());
        let n = network("v6", &[("10.1.0.0/24", "", false), ("fd00:1::/64", "", false)]);
        assert!(ipv6_endpoint_errors(&n, None).is_empty());
        assert!(ipv6_endpoint_errors(&n, ip("fd00:1::9")).is_empty());
        assert_eq!(
            ipv6_endpoint_errors(&n, ip("fd00:2::9")),
            ["no configured subnet or ip-range contain the IP address fd00:2::9"]
        );
        // With an ip-range, inside the range.
        let ranged = network("r", &[("fd00:1::/64", "fd00:1::100/120", false)]);
        assert!(ipv6_endpoint_errors(&ranged, ip("fd00:1::105")).is_empty());
        assert_eq!(ipv6_endpoint_errors(&ranged, ip("fd00:1::5")).len(), 1);
        // An IPv6 subnet picked from the pools, or none at all: not a user-configured subnet.
        let auto = network("a", &[("10.1.0.0/24", "", false), ("fd42::/64", "", true)]);
        let v4 = network("b", &[("10.1.0.0/24", "", false)]);
        for n in [&auto, &v4] {
            assert_eq!(
                ipv6_endpoint_errors(n, ip("fd42::9")),
                ["user specified IP address is supported only when connecting to networks with user configured subnets"]
            );
        }
        let default = network("bridge", &[("172.17.0.0/16", "", false)]);
        assert_eq!(
            ipv6_endpoint_errors(&default, ip("fd00::9")),
            ["user specified IP address is supported on user defined networks only"]
        );
    }

    #[test]
    fn old_records_load_with_ipv6_defaults() {
        // Records written before IPv6 support: no ipam6, address6, …
        let n: Network = serde_json::from_str(
            r#"{"id":"x","name":"n","driver":"bridge","subnets":[{"subnet":"10.1.0.0/24","gateway":"10.1.0.1","ip_range":""}]}"#,
        )
        .unwrap();
        assert!(n.ipam6.is_none() && !n.enable_ipv6 && !n.subnets[0].auto && !n.subnets[0].is_ipv6());
        let ep: Endpoint = serde_json::from_str(
            r#"{"endpoint_id":"e","address":"10.1.0.2/24","ports":[{"protocol":"tcp","host_ip":null,"host_port":80,"container_port":80},{"protocol":"udp","host_ip":"127.0.0.1","host_port":53,"container_port":53}]}"#,
        )
        .unwrap();
        assert!(ep.address6.is_none() && ep.gateway6.is_none() && ep.static_ip6.is_none());
        assert_eq!(ep.ports[1].host_ip, Some("127.0.0.1".parse().unwrap()));
        // And new ones round-trip.
        let ep6 = Endpoint { address6: Some("fd00:1::2/64".parse().unwrap()), ..ep };
        let back: Endpoint = serde_json::from_str(&serde_json::to_string(&ep6).unwrap()).unwrap();
        assert_eq!(back, ep6);
    }
}
