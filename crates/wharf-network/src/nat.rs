//! Netfilter rules for bridge networks and published ports, through the `nft` binary with
//! JSON input (`nft -j -f -`), in the daemon's own table (`table inet <name>`, default
//! `wharf`: one table for both IPv4 and IPv6). No other table is changed here — except an `ip`
//! table of the same name, which older versions used and [`Nat::ensure`] deletes. (The one
//! place where the daemon writes outside its table is [`crate::DockerUser`]: its own tagged
//! rules in a real Docker's `DOCKER-USER` chain, so that Docker's `FORWARD` policy does not
//! drop our bridges' traffic.)
//!
//! Layout of the table (created once, atomically, on first use):
//!
//! ```text
//! set bridges      { type ifname }   every wharf bridge (for isolation)
//! chain forward    filter hook forward priority 0:  jump isolation; jump published; jump networks
//! chain isolation  per network: drop to other wharf bridges; internal: drop in/out; icc=false: drop same-bridge
//! chain published  per endpoint: accept to container ip[6]:port (published ports)
//! chain networks   per network: accept established to the bridge; accept from it; drop the rest to it
//! chain prerouting nat hook prerouting priority -100:  fib daddr type local jump ports
//! chain output     nat hook output priority -100:      ip daddr != 127.0.0.0/8 fib daddr type local jump ports
//!                                                      ip6 daddr != ::1 fib daddr type local jump ports
//! chain ports      per endpoint: [ip daddr HOST_IP | meta nfproto ipv4] PROTO dport HOST_PORT dnat ip to CONTAINER_IP:PORT
//!                                [ip6 daddr HOST_IP | meta nfproto ipv6] PROTO dport HOST_PORT dnat ip6 to [CONTAINER_IP6]:PORT
//! chain postrouting nat hook postrouting priority 100: per network: masquerade SUBNET (and
//!                  SUBNET6) leaving through another interface; masquerade DNATed traffic from
//!                  the subnets back into the bridge (hairpin)
//! ```
//!
//! Rules keyed by interface names cover both families; address matches are per family (`ip`
//! for IPv4, `ip6` for IPv6). Every rule carries a comment naming its owner — `n=<network>`
//! (plus `b=<bridge>`) for a network's rules, `n=<network> e=<endpoint>` for an endpoint's —
//! so removal lists the table and deletes exactly those rules by handle, in one transaction.
//! Loopback clients (127.0.0.1, ::1) are not DNATed: the caller's userland proxy serves them,
//! as it serves IPv6 host addresses published for a container without an IPv6 address.
//!
//! Containers talking to each other on one bridge never reach these hooks (they are bridged,
//! not routed, and br_netfilter is not used): `icc=false` is enforced at layer 2 by isolated
//! bridge ports ([`crate::PortOptions::isolated`]); the rule here covers routed hairpin
//! traffic.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::ipam::{Ipv4Net, Ipv6Net};
use crate::link::check_ifname;
use crate::netns::NetNs;

const SET_BRIDGES: &str = "bridges";
const CH_FORWARD: &str = "forward";
const CH_ISOLATION: &str = "isolation";
const CH_PUBLISHED: &str = "published";
const CH_NETWORKS: &str = "networks";
const CH_PREROUTING: &str = "prerouting";
const CH_OUTPUT: &str = "output";
const CH_POSTROUTING: &str = "postrouting";
const CH_PORTS: &str = "ports";

/// The longest id accepted (comments are limited to 128 bytes by nft).
pub const MAX_ID_LEN: usize = 56;

/// The table's family: one table for IPv4 and IPv6.
const FAMILY: &str = "inet";

/// A transport protocol of a published port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// `tcp`, `udp` or `sctp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// One published port (`-p [host_ip:]host_port:container_port/proto`), with a concrete host
/// port (the caller resolves ranges and ephemeral ports).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortMapping {
    /// The protocol.
    pub protocol: Protocol,
    /// The host address to publish on: `0.0.0.0` (or `None`, as older records say) every
    /// local IPv4 address, `::` every local IPv6 address, else that address only.
    pub host_ip: Option<IpAddr>,
    /// The host port.
    pub host_port: u16,
    /// The container port.
    pub container_port: u16,
}

/// The rules of one bridge network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRules {
    /// The network's id (at most [`MAX_ID_LEN`] of `[A-Za-z0-9_.-]`: pass a short id).
    pub network_id: String,
    /// The bridge interface.
    pub bridge: String,
    /// The network's subnet.
    pub subnet: Ipv4Net,
    /// Its IPv6 subnet (`--ipv6` networks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet6: Option<Ipv6Net>,
    /// `--internal`: no traffic in or out of the bridge except between its containers.
    pub internal: bool,
    /// Inter-container communication (`com.docker.network.bridge.enable_icc`, default true).
    pub icc: bool,
    /// Masquerade egress (`com.docker.network.bridge.enable_ip_masquerade`, default true).
    pub masquerade: bool,
}

/// The rules of one endpoint: its published ports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRules {
    /// The endpoint's network id (as in [`NetworkRules::network_id`]).
    pub network_id: String,
    /// The endpoint's id (same limits as the network id).
    pub endpoint_id: String,
    /// The network's bridge.
    pub bridge: String,
    /// The container's address on that network.
    pub address: Ipv4Addr,
    /// Its IPv6 address there, if any (IPv6 host addresses are DNATed only to it; without one
    /// they are left to the userland proxy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address6: Option<Ipv6Addr>,
    /// Its published ports.
    pub ports: Vec<PortMapping>,
}

/// The daemon's nftables table in one network namespace. Methods serialize on an internal
/// lock; each change is one atomic `nft` transaction.
#[derive(Debug)]
pub struct Nat {
    table: String,
    netns: NetNs,
    nft: PathBuf,
    lock: Mutex<()>,
}

/// What a listing of the table says.
struct Listing {
    /// (chain, handle, comment) of every rule with a comment.
    rules: Vec<(String, u64, String)>,
    /// Elements of the `bridges` set.
    bridges: Vec<String>,
}

impl Nat {
    /// The table `inet <table>` (letters, digits, `_` and `-`, at most 32 bytes) in `netns`.
    /// Nothing is touched until the first call.
    pub fn new(table: &str, netns: NetNs) -> Result<Self> {
        check_table(table)?;
        Ok(Nat { table: table.to_string(), netns, nft: PathBuf::from("nft"), lock: Mutex::new(()) })
    }

    /// Uses another `nft` binary (default: `nft` from `PATH`).
    pub fn with_nft_binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.nft = path.into();
        self
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Whether the table exists.
    pub fn exists(&self) -> Result<bool> {
        let _g = self.guard();
        Ok(self.list()?.is_some())
    }

    /// Creates the table with its chains and base rules unless it exists. An `ip` table of
    /// the same name (the layout of older versions) is deleted first; returns whether there
    /// was one, so the caller can install again what it held.
    pub fn ensure(&self) -> Result<bool> {
        let _g = self.guard();
        let legacy = self.delete_legacy()?;
        self.state()?;
        Ok(legacy)
    }

    /// Deletes the legacy `table ip <name>` if it exists.
    fn delete_legacy(&self) -> Result<bool> {
        match self.nft(&["list", "table", "ip", &self.table], None) {
            Ok(_) => {
                self.apply(
                    vec![json!({"delete": {"table": {"family": "ip", "name": self.table}}})],
                    "delete legacy table",
                )?;
                tracing::info!(table = %self.table, "deleted the legacy ip table (now inet)");
                Ok(true)
            }
            Err(Error::Nft { stderr, .. }) if stderr.contains("No such file or directory") => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Installs (or replaces) the rules of a bridge network: isolation from the other wharf
    /// bridges, egress and masquerade (unless internal), established-return and
    /// drop-unsolicited-inbound, hairpin masquerade, and `icc=false`.
    pub fn add_network(&self, net: &NetworkRules) -> Result<()> {
        check_id(&net.network_id)?;
        check_ifname(&net.bridge)?;
        let _g = self.guard();
        let state = self.state()?;
        let mut cmds = self.deletions(&state, |t| t.net == Some(&net.network_id) && t.ep.is_none());
        cmds.extend(network_cmds(&self.table, net));
        self.apply(cmds, "add network rules")
    }

    /// Removes every rule of a network, its endpoints' rules included, and its bridge from
    /// the isolation set. Removing a network without rules is not an error.
    pub fn remove_network(&self, network_id: &str) -> Result<()> {
        check_id(network_id)?;
        let _g = self.guard();
        let Some(state) = self.list()? else { return Ok(()) };
        let cmds = self.deletions(&state, |t| t.net == Some(network_id));
        self.apply(cmds, "remove network rules")
    }

    /// Installs (or replaces) an endpoint's published ports: DNAT in `ports` (reached from
    /// prerouting and, for locally generated traffic to non-loopback local addresses, from
    /// output) and the matching forward accept. A port published on an IPv4 host address goes
    /// to the container's IPv4 address; one on an IPv6 host address to its IPv6 address, or
    /// gets no rule when it has none (the userland proxy serves it).
    pub fn add_endpoint(&self, ep: &EndpointRules) -> Result<()> {
        check_id(&ep.network_id)?;
        check_id(&ep.endpoint_id)?;
        check_ifname(&ep.bridge)?;
        let _g = self.guard();
        let state = self.state()?;
        let mut cmds = self.deletions(&state, |t| t.net == Some(&ep.network_id) && t.ep == Some(&ep.endpoint_id));
        cmds.extend(endpoint_cmds(&self.table, ep));
        self.apply(cmds, "add endpoint rules")
    }

    /// Removes an endpoint's rules. Removing an endpoint without rules is not an error.
    pub fn remove_endpoint(&self, network_id: &str, endpoint_id: &str) -> Result<()> {
        check_id(network_id)?;
        check_id(endpoint_id)?;
        let _g = self.guard();
        let Some(state) = self.list()? else { return Ok(()) };
        let cmds = self.deletions(&state, |t| t.net == Some(network_id) && t.ep == Some(endpoint_id));
        self.apply(cmds, "remove endpoint rules")
    }

    /// Deletes the whole table (daemon stop), and a legacy `ip` table of the same name. A
    /// missing table is not an error.
    pub fn flush_all(&self) -> Result<()> {
        let _g = self.guard();
        self.delete_legacy()?;
        if self.list()?.is_none() {
            return Ok(());
        }
        self.apply(vec![json!({"delete": {"table": {"family": FAMILY, "name": self.table}}})], "delete table")
    }

    /// The table as `nft -j` lists it (for diagnostics and tests); `None` when it is missing.
    pub fn dump(&self) -> Result<Option<Value>> {
        let _g = self.guard();
        self.list_raw()
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lists the table, creating it first when it is missing.
    fn state(&self) -> Result<Listing> {
        if let Some(l) = self.list()? {
            return Ok(l);
        }
        self.apply(self.skeleton(), "create table")?;
        Ok(Listing { rules: Vec::new(), bridges: Vec::new() })
    }

    fn skeleton(&self) -> Vec<Value> {
        let t = &self.table;
        let chain = |name: &str| json!({"add": {"chain": {"family": FAMILY, "table": t, "name": name}}});
        let base = |name: &str, kind: &str, hook: &str, prio: i32| json!({"add": {"chain": {"family": FAMILY, "table": t, "name": name, "type": kind, "hook": hook, "prio": prio, "policy": "accept"}}});
        let rule = |chain: &str, expr: Vec<Value>| json!({"add": {"rule": {"family": FAMILY, "table": t, "chain": chain, "expr": expr}}});
        let local =
            json!({"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["daddr"]}}, "right": "local"}});
        let loopback = json!({"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "127.0.0.0", "len": 8}}}});
        let loopback6 =
            json!({"match": {"op": "!=", "left": {"payload": {"protocol": "ip6", "field": "daddr"}}, "right": "::1"}});
        vec![
            json!({"add": {"table": {"family": FAMILY, "name": t}}}),
            json!({"add": {"set": {"family": FAMILY, "table": t, "name": SET_BRIDGES, "type": "ifname"}}}),
            chain(CH_ISOLATION),
            chain(CH_PUBLISHED),
            chain(CH_NETWORKS),
            chain(CH_PORTS),
            base(CH_FORWARD, "filter", "forward", 0),
            base(CH_PREROUTING, "nat", "prerouting", -100),
            base(CH_OUTPUT, "nat", "output", -100),
            base(CH_POSTROUTING, "nat", "postrouting", 100),
            rule(CH_FORWARD, vec![jump(CH_ISOLATION)]),
            rule(CH_FORWARD, vec![jump(CH_PUBLISHED)]),
            rule(CH_FORWARD, vec![jump(CH_NETWORKS)]),
            rule(CH_PREROUTING, vec![local.clone(), jump(CH_PORTS)]),
            rule(CH_OUTPUT, vec![loopback, local.clone(), jump(CH_PORTS)]),
            rule(CH_OUTPUT, vec![loopback6, local, jump(CH_PORTS)]),
        ]
    }

    /// Delete commands for the tagged rules `which` selects, and for the bridges named by the
    /// selected network rules.
    fn deletions(&self, state: &Listing, which: impl Fn(&Tag<'_>) -> bool) -> Vec<Value> {
        let t = &self.table;
        let mut cmds = Vec::new();
        let mut bridges = Vec::new();
        for (chain, handle, comment) in &state.rules {
            let tag = Tag::parse(comment);
            if tag.net.is_none() || !which(&tag) {
                continue;
            }
            if let Some(b) = tag.bridge {
                if state.bridges.iter().any(|x| x == b) && !bridges.contains(&b) {
                    bridges.push(b);
                }
            }
            cmds.push(json!({"delete": {"rule": {"family": FAMILY, "table": t, "chain": chain, "handle": handle}}}));
        }
        for b in bridges {
            cmds.push(json!({"delete": {"element": {"family": FAMILY, "table": t, "name": SET_BRIDGES, "elem": [b]}}}));
        }
        cmds
    }

    fn list(&self) -> Result<Option<Listing>> {
        let Some(v) = self.list_raw()? else { return Ok(None) };
        let mut listing = Listing { rules: Vec::new(), bridges: Vec::new() };
        for item in v.get("nftables").and_then(Value::as_array).into_iter().flatten() {
            if let Some(r) = item.get("rule") {
                let chain = r.get("chain").and_then(Value::as_str);
                let handle = r.get("handle").and_then(Value::as_u64);
                let comment = r.get("comment").and_then(Value::as_str);
                if let (Some(c), Some(h), Some(m)) = (chain, handle, comment) {
                    listing.rules.push((c.to_string(), h, m.to_string()));
                }
            } else if let Some(s) = item.get("set") {
                if s.get("name").and_then(Value::as_str) == Some(SET_BRIDGES) {
                    let elems = match s.get("elem") {
                        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(String::from).collect(),
                        Some(Value::String(one)) => vec![one.clone()],
                        _ => Vec::new(),
                    };
                    listing.bridges = elems;
                }
            }
        }
        Ok(Some(listing))
    }

    fn list_raw(&self) -> Result<Option<Value>> {
        match self.nft(&["-j", "list", "table", FAMILY, &self.table], None) {
            Ok(out) => serde_json::from_str(&out)
                .map(Some)
                .map_err(|e| Error::Nft { op: "list table".into(), stderr: format!("unreadable JSON: {e}") }),
            Err(Error::Nft { stderr, .. }) if stderr.contains("No such file or directory") => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn apply(&self, cmds: Vec<Value>, op: &str) -> Result<()> {
        if cmds.is_empty() {
            return Ok(());
        }
        let doc = json!({ "nftables": cmds }).to_string();
        tracing::debug!(table = %self.table, op, "nft");
        self.nft(&["-j", "-f", "-"], Some(doc)).map(|_| ()).map_err(|e| match e {
            Error::Nft { stderr, .. } => Error::Nft { op: op.to_string(), stderr },
            e => e,
        })
    }

    /// Runs nft inside the namespace.
    fn nft(&self, args: &[&str], stdin: Option<String>) -> Result<String> {
        run_nft(&self.nft, &self.netns, args, stdin)
    }
}

/// Runs `nft` with `args` (and `stdin`) inside `netns` (the child inherits the namespace of
/// the thread that spawns it); its standard output, or [`Error::Nft`] with its diagnostic.
pub(crate) fn run_nft(nft: &Path, netns: &NetNs, args: &[&str], stdin: Option<String>) -> Result<String> {
    let nft_bin = nft.to_path_buf();
    let output = netns.run(move || -> std::io::Result<std::process::Output> {
        let mut child = Command::new(&nft_bin)
            .args(args)
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(input.as_bytes())?;
        }
        child.wait_with_output()
    })?;
    let output = output.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NftMissing(nft.display().to_string())
        } else {
            Error::io(format!("run {}", nft.display()), e)
        }
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
        return Err(Error::Nft { op: args.join(" "), stderr });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Checks an nftables table name: letters, digits, `_` and `-`, at most 32 bytes.
pub(crate) fn check_table(table: &str) -> Result<()> {
    let ok = !table.is_empty()
        && table.len() <= 32
        && table.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!("invalid nftables table name {table:?}")))
    }
}

/// The commands that add a network's rules (its bridge in the isolation set included).
fn network_cmds(t: &str, net: &NetworkRules) -> Vec<Value> {
    let mut cmds = Vec::new();
    let tag = format!("n={} b={}", net.network_id, net.bridge);
    let b = net.bridge.as_str();
    let subnet = prefix(net.subnet.masked());
    cmds.push(json!({"add": {"element": {"family": FAMILY, "table": t, "name": SET_BRIDGES, "elem": [b]}}}));
    let mut rule = |chain: &str, expr: Vec<Value>| cmds.push(add_rule(t, chain, expr, &tag));
    if net.internal {
        rule(CH_ISOLATION, vec![is("iifname", b), not("oifname", b), verdict("drop")]);
        rule(CH_ISOLATION, vec![is("oifname", b), not("iifname", b), verdict("drop")]);
    } else {
        rule(
            CH_ISOLATION,
            vec![is("iifname", b), is("oifname", &format!("@{SET_BRIDGES}")), not("oifname", b), verdict("drop")],
        );
    }
    if !net.icc {
        rule(CH_ISOLATION, vec![is("iifname", b), is("oifname", b), verdict("drop")]);
    }
    rule(CH_NETWORKS, vec![is("oifname", b), ct_in("state", json!(["established", "related"])), verdict("accept")]);
    rule(CH_NETWORKS, vec![is("iifname", b), verdict("accept")]);
    rule(CH_NETWORKS, vec![is("oifname", b), verdict("drop")]);
    let mut subnets = vec![("ip", subnet)];
    if let Some(s6) = net.subnet6 {
        subnets.push(("ip6", prefix6(s6.masked())));
    }
    for (family, subnet) in subnets {
        if net.masquerade && !net.internal {
            rule(
                CH_POSTROUTING,
                vec![payload(family, "saddr", subnet.clone()), not("oifname", b), json!({"masquerade": null})],
            );
        }
        rule(
            CH_POSTROUTING,
            vec![
                is("oifname", b),
                payload(family, "saddr", subnet),
                ct_in("status", json!("dnat")),
                json!({"masquerade": null}),
            ],
        );
    }
    cmds
}

/// The commands that add an endpoint's rules (DNAT and forward accept per published port).
fn endpoint_cmds(t: &str, ep: &EndpointRules) -> Vec<Value> {
    let mut cmds = Vec::new();
    let tag = format!("n={} e={}", ep.network_id, ep.endpoint_id);
    for p in &ep.ports {
        let proto = p.protocol.as_str();
        let host_ip = p.host_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let (family, nfproto, addr) = match host_ip {
            IpAddr::V4(_) => ("ip", "ipv4", ep.address.to_string()),
            IpAddr::V6(_) => match ep.address6 {
                Some(a6) => ("ip6", "ipv6", a6.to_string()),
                None => continue,
            },
        };
        let mut dnat = Vec::new();
        if host_ip.is_unspecified() {
            dnat.push(json!({"match": {"op": "==", "left": {"meta": {"key": "nfproto"}}, "right": nfproto}}));
        } else {
            dnat.push(payload(family, "daddr", json!(host_ip.to_string())));
        }
        dnat.push(payload(proto, "dport", json!(p.host_port)));
        dnat.push(json!({"dnat": {"family": family, "addr": addr, "port": p.container_port}}));
        cmds.push(add_rule(t, CH_PORTS, dnat, &tag));
        let accept = vec![
            is("oifname", &ep.bridge),
            payload(family, "daddr", json!(addr)),
            payload(proto, "dport", json!(p.container_port)),
            verdict("accept"),
        ];
        cmds.push(add_rule(t, CH_PUBLISHED, accept, &tag));
    }
    cmds
}

/// The owner a rule's comment names.
struct Tag<'a> {
    net: Option<&'a str>,
    ep: Option<&'a str>,
    bridge: Option<&'a str>,
}

impl<'a> Tag<'a> {
    fn parse(comment: &'a str) -> Self {
        let mut tag = Tag { net: None, ep: None, bridge: None };
        for part in comment.split(' ') {
            match part.split_once('=') {
                Some(("n", v)) => tag.net = Some(v),
                Some(("e", v)) => tag.ep = Some(v),
                Some(("b", v)) => tag.bridge = Some(v),
                _ => {}
            }
        }
        tag
    }
}

pub(crate) fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!("invalid id for netfilter rules: {id:?}")))
    }
}

fn add_rule(table: &str, chain: &str, expr: Vec<Value>, comment: &str) -> Value {
    json!({"add": {"rule": {"family": FAMILY, "table": table, "chain": chain, "expr": expr, "comment": comment}}})
}

fn meta_match(op: &str, key: &str, value: &str) -> Value {
    json!({"match": {"op": op, "left": {"meta": {"key": key}}, "right": value}})
}

fn is(key: &str, value: &str) -> Value {
    meta_match("==", key, value)
}

fn not(key: &str, value: &str) -> Value {
    meta_match("!=", key, value)
}

fn payload(protocol: &str, field: &str, right: Value) -> Value {
    json!({"match": {"op": "==", "left": {"payload": {"protocol": protocol, "field": field}}, "right": right}})
}

fn ct_in(key: &str, right: Value) -> Value {
    json!({"match": {"op": "in", "left": {"ct": {"key": key}}, "right": right}})
}

fn prefix(net: Ipv4Net) -> Value {
    json!({"prefix": {"addr": net.addr().to_string(), "len": net.prefix()}})
}

fn prefix6(net: Ipv6Net) -> Value {
    json!({"prefix": {"addr": net.addr().to_string(), "len": net.prefix()}})
}

fn verdict(v: &str) -> Value {
    json!({ v: null })
}

fn jump(target: &str) -> Value {
    json!({"jump": {"target": target}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip() {
        let t = Tag::parse("n=abc b=br-abc");
        assert_eq!((t.net, t.ep, t.bridge), (Some("abc"), None, Some("br-abc")));
        let t = Tag::parse("n=abc e=def");
        assert_eq!((t.net, t.ep, t.bridge), (Some("abc"), Some("def"), None));
        assert!(Tag::parse("something else").net.is_none());
    }

    #[test]
    fn names_are_checked() {
        assert!(Nat::new("wharf", NetNs::Current).is_ok());
        assert!(Nat::new("wharf-test_1", NetNs::Current).is_ok());
        for bad in ["", "a b", "x;y", &"t".repeat(33)] {
            assert!(Nat::new(bad, NetNs::Current).is_err(), "{bad}");
        }
        assert!(check_id(&"a".repeat(MAX_ID_LEN)).is_ok());
        assert!(check_id(&"a".repeat(MAX_ID_LEN + 1)).is_err());
        assert!(check_id("n=1").is_err());
        assert!(check_id("a b").is_err());
    }

    /// The rules of `cmds` as `chain: expressions # comment` lines, in nft's JSON words.
    fn rules(cmds: &[Value]) -> Vec<String> {
        cmds.iter()
            .filter_map(|c| c.pointer("/add/rule"))
            .map(|r| {
                assert_eq!(r["family"], "inet");
                assert_eq!(r["table"], "t");
                format!("{}: {} # {}", r["chain"].as_str().unwrap(), r["expr"], r["comment"].as_str().unwrap())
            })
            .collect()
    }

    #[test]
    fn network_rules_cover_both_families() {
        let net = NetworkRules {
            network_id: "n1".into(),
            bridge: "br-n1".into(),
            subnet: "10.1.0.0/24".parse().unwrap(),
            subnet6: Some("fd00:1::/64".parse().unwrap()),
            internal: false,
            icc: true,
            masquerade: true,
        };
        let cmds = network_cmds("t", &net);
        assert_eq!(
            cmds[0],
            json!({"add": {"element": {"family": "inet", "table": "t", "name": "bridges", "elem": ["br-n1"]}}})
        );
        let r = rules(&cmds);
        assert!(r.iter().all(|l| l.ends_with("# n=n1 b=br-n1")), "{r:#?}");
        let masq = |fam: &str, addr: &str, len: u8| {
            format!(
                r#"postrouting: [{{"match":{{"left":{{"payload":{{"field":"saddr","protocol":"{fam}"}}}},"op":"==","right":{{"prefix":{{"addr":"{addr}","len":{len}}}}}}}}},{{"match":{{"left":{{"meta":{{"key":"oifname"}}}},"op":"!=","right":"br-n1"}}}},{{"masquerade":null}}] # n=n1 b=br-n1"#
            )
        };
        assert!(r.contains(&masq("ip", "10.1.0.0", 24)), "{r:#?}");
        assert!(r.contains(&masq("ip6", "fd00:1::", 64)), "{r:#?}");
        let hairpin: Vec<&String> = r.iter().filter(|l| l.contains(r#""status""#)).collect();
        assert_eq!(hairpin.len(), 2);
        assert!(hairpin[1].contains(r#""protocol":"ip6""#) && hairpin[1].contains(r#""addr":"fd00:1::""#));
        // Interface-keyed rules are family-free: the same for IPv6.
        let isolation: Vec<&String> = r.iter().filter(|l| l.starts_with("isolation:")).collect();
        assert_eq!(isolation.len(), 1);
        assert!(!isolation[0].contains("protocol"));

        // IPv4-only: no ip6 rule; internal: no masquerade, hairpin only.
        let v4 = NetworkRules { subnet6: None, ..net.clone() };
        assert!(rules(&network_cmds("t", &v4)).iter().all(|l| !l.contains("ip6")));
        let internal = NetworkRules { internal: true, ..net };
        let r = rules(&network_cmds("t", &internal));
        assert_eq!(r.iter().filter(|l| l.contains("masquerade")).count(), 2, "{r:#?}");
        assert!(r.iter().filter(|l| l.contains("masquerade")).all(|l| l.contains(r#""status""#)));
    }

    #[test]
    fn endpoint_rules_dnat_per_family() {
        let port = |host_ip: Option<&str>, host_port| PortMapping {
            protocol: Protocol::Tcp,
            host_ip: host_ip.map(|i| i.parse().unwrap()),
            host_port,
            container_port: 80,
        };
        let mut ep = EndpointRules {
            network_id: "n1".into(),
            endpoint_id: "e1".into(),
            bridge: "br-n1".into(),
            address: "10.1.0.2".parse().unwrap(),
            address6: Some("fd00:1::2".parse().unwrap()),
            ports: vec![
                port(Some("0.0.0.0"), 8080),
                port(Some("::"), 8080),
                port(Some("::1"), 8081),
                port(None, 8082),
                port(Some("10.9.9.9"), 8083),
            ],
        };
        let r = rules(&endpoint_cmds("t", &ep));
        let dnat: Vec<&String> = r.iter().filter(|l| l.starts_with("ports:")).collect();
        assert_eq!(dnat.len(), 5, "{r:#?}");
        assert!(r.iter().all(|l| l.ends_with("# n=n1 e=e1")));
        assert_eq!(
            dnat[0].as_str(),
            r#"ports: [{"match":{"left":{"meta":{"key":"nfproto"}},"op":"==","right":"ipv4"}},{"match":{"left":{"payload":{"field":"dport","protocol":"tcp"}},"op":"==","right":8080}},{"dnat":{"addr":"10.1.0.2","family":"ip","port":80}}] # n=n1 e=e1"#
        );
        assert_eq!(
            dnat[1].as_str(),
            r#"ports: [{"match":{"left":{"meta":{"key":"nfproto"}},"op":"==","right":"ipv6"}},{"match":{"left":{"payload":{"field":"dport","protocol":"tcp"}},"op":"==","right":8080}},{"dnat":{"addr":"fd00:1::2","family":"ip6","port":80}}] # n=n1 e=e1"#
        );
        assert!(dnat[2].contains(r#"{"payload":{"field":"daddr","protocol":"ip6"}},"op":"==","right":"::1"}"#));
        // An older record's `None` is 0.0.0.0.
        assert!(dnat[3].contains(r#""right":"ipv4""#) && dnat[3].contains(r#""family":"ip""#));
        assert!(dnat[4].contains(r#""protocol":"ip"}},"op":"==","right":"10.9.9.9""#));
        let accept: Vec<&String> = r.iter().filter(|l| l.starts_with("published:")).collect();
        assert_eq!(
            accept[1].as_str(),
            r#"published: [{"match":{"left":{"meta":{"key":"oifname"}},"op":"==","right":"br-n1"}},{"match":{"left":{"payload":{"field":"daddr","protocol":"ip6"}},"op":"==","right":"fd00:1::2"}},{"match":{"left":{"payload":{"field":"dport","protocol":"tcp"}},"op":"==","right":80}},{"accept":null}] # n=n1 e=e1"#
        );

        // Without an IPv6 address, IPv6 host addresses get no rule (the userland proxy serves
        // them).
        ep.address6 = None;
        let r = rules(&endpoint_cmds("t", &ep));
        assert_eq!(r.len(), 6, "{r:#?}");
        assert!(r.iter().all(|l| !l.contains("ip6") && !l.contains("ipv6")));
    }

    #[test]
    fn the_skeleton_is_an_inet_table_with_both_loopback_exceptions() {
        let nat = Nat::new("t", NetNs::Current).unwrap();
        let cmds = nat.skeleton();
        assert_eq!(cmds[0], json!({"add": {"table": {"family": "inet", "name": "t"}}}));
        assert!(cmds.iter().all(|c| c.to_string().contains(r#""family":"inet""#)));
        let output: Vec<String> = cmds
            .iter()
            .filter_map(|c| c.pointer("/add/rule"))
            .filter(|r| r["chain"] == "output")
            .map(|r| r["expr"].to_string())
            .collect();
        assert_eq!(output.len(), 2);
        assert!(output[0].contains(r#""right":{"prefix":{"addr":"127.0.0.0","len":8}}"#));
        assert!(output[1]
            .contains(r#"{"match":{"left":{"payload":{"field":"daddr","protocol":"ip6"}},"op":"!=","right":"::1"}}"#));
    }

    #[test]
    fn a_missing_nft_is_named() {
        let nat = Nat::new("wharf", NetNs::Current).unwrap().with_nft_binary("/nonexistent/nft");
        let err = nat.exists().unwrap_err();
        assert!(matches!(err, Error::NftMissing(_)), "{err}");
        assert_eq!(err.to_string(), "nft not found (/nonexistent/nft): install the nftables package");
    }
}
