//! The names the embedded DNS server answers: a live map the daemon updates as containers join
//! and leave networks, queried per querier (the container that asked).
//!
//! Docker's rules, as libnetwork's sandbox resolver applies them:
//! - a querier only sees the networks it is attached to itself, and on each of them every
//!   container (itself included) by its names: container name, network-scoped aliases, and the
//!   12-hex short ID (added here from the container ID);
//! - a name resolves to the container's address **on that network**; when several networks the
//!   querier shares answer, the first one (ordered by network name, then ID) wins, as Docker stops
//!   at the first endpoint that answers;
//! - `name.network` (e.g. `web.backend`) restricts the lookup to that network;
//! - names are case-insensitive and a trailing dot (FQDN) is ignored;
//! - several containers sharing an alias all answer; the order is rotated on every query, so
//!   clients that take the first address spread out (Docker shuffles);
//! - a name that exists but has no address of the asked family (AAAA for an IPv4-only container)
//!   is "no data" (`Some(vec![])`), not "unknown" (`None`): the server then answers NOERROR with no
//!   records instead of forwarding;
//! - reverse lookups (PTR) of a container address on a shared network answer
//!   `<container name>.<network name>`.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};

/// Length of Docker's short container ID.
pub const SHORT_ID_LEN: usize = 12;

/// The shared name map. Wrap it in an `Arc` and hand it to every [`crate::DnsServer`]; updates are
/// seen by the next query.
#[derive(Debug, Default)]
pub struct DnsState {
    inner: RwLock<Inner>,
    /// Rotation counter for answers with several addresses.
    turn: AtomicUsize,
}

#[derive(Debug, Default)]
struct Inner {
    networks: HashMap<String, Network>,
}

#[derive(Debug, Default)]
struct Network {
    /// The network's name (for `name.network` and PTR answers); its ID until set.
    name: Option<String>,
    /// Endpoints by container ID (ordered: answers are deterministic before rotation).
    endpoints: BTreeMap<String, Endpoint>,
}

#[derive(Debug)]
struct Endpoint {
    /// Names as given, the container name first; the short ID last.
    names: Vec<String>,
    ipv4: Option<Ipv4Addr>,
    ipv6: Option<Ipv6Addr>,
}

impl Network {
    fn display_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.name.as_deref().unwrap_or(id)
    }
}

impl Endpoint {
    fn answers_to(&self, name: &str) -> bool {
        self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }
}

impl DnsState {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Names a network, for `name.network` queries and PTR answers. Until named, a network is
    /// known by its ID.
    pub fn set_network_name(&self, network_id: &str, name: &str) {
        self.write().networks.entry(network_id.to_owned()).or_default().name = Some(name.to_owned());
    }

    /// Adds or replaces a container's endpoint on a network. `names` are the container name
    /// (first: it is the one PTR answers use; a leading `/` as Docker stores it is dropped) and the
    /// endpoint's aliases; the short ID of `container_id` is added. Empty names are ignored.
    pub fn set_endpoint(
        &self,
        network_id: &str,
        container_id: &str,
        names: Vec<String>,
        ipv4: Option<Ipv4Addr>,
        ipv6: Option<Ipv6Addr>,
    ) {
        let mut clean: Vec<String> = Vec::with_capacity(names.len() + 1);
        let short = short_id(container_id);
        for name in names.into_iter().chain(short) {
            let name = name.trim_start_matches('/').trim_end_matches('.');
            if !name.is_empty() && !clean.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                clean.push(name.to_owned());
            }
        }
        let endpoint = Endpoint { names: clean, ipv4, ipv6 };
        self.write()
            .networks
            .entry(network_id.to_owned())
            .or_default()
            .endpoints
            .insert(container_id.to_owned(), endpoint);
    }

    /// Removes a container's endpoint from a network (a disconnect or a stop). A no-op when absent.
    pub fn remove_endpoint(&self, network_id: &str, container_id: &str) {
        let mut inner = self.write();
        if let Some(net) = inner.networks.get_mut(network_id) {
            net.endpoints.remove(container_id);
            if net.endpoints.is_empty() && net.name.is_none() {
                inner.networks.remove(network_id);
            }
        }
    }

    /// Removes a container from every network.
    pub fn remove_container(&self, container_id: &str) {
        let mut inner = self.write();
        for net in inner.networks.values_mut() {
            net.endpoints.remove(container_id);
        }
        inner.networks.retain(|_, net| !net.endpoints.is_empty() || net.name.is_some());
    }

    /// Forgets a network and all its endpoints.
    pub fn remove_network(&self, network_id: &str) {
        self.write().networks.remove(network_id);
    }

    /// All addresses (IPv4 first, then IPv6) `name` resolves to for `querier`; empty when unknown.
    pub fn lookup(&self, querier: &str, name: &str) -> Vec<IpAddr> {
        let mut out: Vec<IpAddr> =
            self.lookup_ipv4(querier, name).unwrap_or_default().into_iter().map(IpAddr::V4).collect();
        out.extend(self.lookup_ipv6(querier, name).unwrap_or_default().into_iter().map(IpAddr::V6));
        out
    }

    /// The IPv4 addresses of `name` as `querier` sees it: `None` when no container on a shared
    /// network has that name, `Some(vec![])` when it exists without an IPv4 address.
    pub fn lookup_ipv4(&self, querier: &str, name: &str) -> Option<Vec<Ipv4Addr>> {
        self.resolve(querier, name, |ep| ep.ipv4)
    }

    /// The IPv6 addresses of `name` as `querier` sees it; see [`DnsState::lookup_ipv4`].
    pub fn lookup_ipv6(&self, querier: &str, name: &str) -> Option<Vec<Ipv6Addr>> {
        self.resolve(querier, name, |ep| ep.ipv6)
    }

    /// The PTR answer for `ip` as `querier` sees it: `<container name>.<network name>` (no trailing
    /// dot) when a container on a shared network has that address.
    pub fn reverse(&self, querier: &str, ip: IpAddr) -> Option<String> {
        let inner = self.read();
        for (id, net) in querier_networks(&inner, querier) {
            for ep in net.endpoints.values() {
                let hit = match ip {
                    IpAddr::V4(v4) => ep.ipv4 == Some(v4),
                    IpAddr::V6(v6) => ep.ipv6 == Some(v6),
                };
                if let (true, Some(name)) = (hit, ep.names.first()) {
                    return Some(format!("{name}.{}", net.display_name(id)));
                }
            }
        }
        None
    }

    fn resolve<T: Copy>(&self, querier: &str, name: &str, pick: impl Fn(&Endpoint) -> Option<T>) -> Option<Vec<T>> {
        let name = name.strip_suffix('.').unwrap_or(name);
        if name.is_empty() {
            return None;
        }
        let inner = self.read();
        let nets = querier_networks(&inner, querier);
        let mut known = false;
        // The plain name on every shared network, then `prefix.network` on that network only
        // (network names may contain dots: try every split).
        let candidates = std::iter::once((name, None))
            .chain(name.match_indices('.').map(|(i, _)| (&name[..i], Some(&name[i + 1..]))));
        for (wanted, network) in candidates {
            for (id, net) in &nets {
                if network.is_some_and(|n| !net.display_name(id).eq_ignore_ascii_case(n)) {
                    continue;
                }
                let mut found = net.endpoints.values().filter(|ep| ep.answers_to(wanted)).peekable();
                if found.peek().is_none() {
                    continue;
                }
                known = true;
                let mut addrs: Vec<T> = found.filter_map(&pick).collect();
                if !addrs.is_empty() {
                    let len = addrs.len();
                    if len > 1 {
                        addrs.rotate_left(self.turn.fetch_add(1, Ordering::Relaxed) % len);
                    }
                    return Some(addrs);
                }
            }
        }
        known.then(Vec::new)
    }
}

/// The networks `querier` has an endpoint on, ordered by name then ID.
fn querier_networks<'a>(inner: &'a Inner, querier: &str) -> Vec<(&'a str, &'a Network)> {
    let mut nets: Vec<(&str, &Network)> = inner
        .networks
        .iter()
        .filter(|(_, net)| net.endpoints.contains_key(querier))
        .map(|(id, net)| (id.as_str(), net))
        .collect();
    nets.sort_by(|a, b| a.1.display_name(a.0).cmp(b.1.display_name(b.0)).then(a.0.cmp(b.0)));
    nets
}

/// Docker's short ID (first 12 characters) when `id` looks like a full hex container ID.
fn short_id(id: &str) -> Option<String> {
    (id.len() >= SHORT_ID_LEN && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| id[..SHORT_ID_LEN].to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111";
    const B: &str = "bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222";
    const C: &str = "cccccccccccc3333333333333333333333333333333333333333333333333333";

    fn v4(s: &str) -> Option<Ipv4Addr> {
        Some(s.parse().unwrap())
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// A and B on front, B and C on back.
    fn sample() -> DnsState {
        let s = DnsState::new();
        s.set_network_name("n1", "front");
        s.set_network_name("n2", "back");
        s.set_endpoint("n1", A, names(&["/client"]), v4("10.1.0.2"), None);
        s.set_endpoint("n1", B, names(&["web", "www"]), v4("10.1.0.3"), None);
        s.set_endpoint("n2", B, names(&["web", "api"]), v4("10.2.0.3"), None);
        s.set_endpoint("n2", C, names(&["db"]), v4("10.2.0.4"), "fd00::4".parse().ok());
        s
    }

    #[test]
    fn names_aliases_and_short_ids_resolve_per_network() {
        let s = sample();
        assert_eq!(s.lookup(A, "web"), vec![IpAddr::from([10, 1, 0, 3])]);
        assert_eq!(s.lookup(A, "WWW."), vec![IpAddr::from([10, 1, 0, 3])]);
        assert_eq!(s.lookup(A, "bbbbbbbbbbbb"), vec![IpAddr::from([10, 1, 0, 3])]);
        assert_eq!(s.lookup(A, "client"), vec![IpAddr::from([10, 1, 0, 2])], "own name");
        // api is an alias on back only, which A is not on.
        assert!(s.lookup(A, "api").is_empty());
        assert!(s.lookup(A, "db").is_empty());
        // C sees web on back.
        assert_eq!(s.lookup(C, "web"), vec![IpAddr::from([10, 2, 0, 3])]);
        // B is on both: back sorts before front.
        assert_eq!(s.lookup(B, "web"), vec![IpAddr::from([10, 2, 0, 3])]);
        assert_eq!(s.lookup(B, "web.front"), vec![IpAddr::from([10, 1, 0, 3])]);
        assert_eq!(s.lookup(B, "client"), vec![IpAddr::from([10, 1, 0, 2])]);
        assert_eq!(s.lookup(B, "db"), vec![IpAddr::from([10, 2, 0, 4]), "fd00::4".parse().unwrap()]);
        // Unknown querier: nothing.
        assert!(s.lookup("nobody", "web").is_empty());
    }

    #[test]
    fn network_suffix_only_on_shared_networks() {
        let s = sample();
        assert_eq!(s.lookup(A, "web.front."), vec![IpAddr::from([10, 1, 0, 3])]);
        assert!(s.lookup(A, "web.back").is_empty());
        assert_eq!(s.lookup_ipv4(C, "DB.Back"), Some(vec![Ipv4Addr::new(10, 2, 0, 4)]));
    }

    #[test]
    fn no_data_differs_from_unknown() {
        let s = sample();
        assert_eq!(s.lookup_ipv6(A, "web"), Some(vec![]));
        assert_eq!(s.lookup_ipv6(A, "nothing"), None);
        assert_eq!(s.lookup_ipv6(B, "db"), Some(vec!["fd00::4".parse().unwrap()]));
    }

    #[test]
    fn ipv6_only_names_are_no_data_for_a() {
        let s = DnsState::new();
        s.set_endpoint("n", A, names(&["/client"]), v4("10.6.0.2"), "fd00:6::2".parse().ok());
        s.set_endpoint("n", B, names(&["six", "alias6"]), None, "fd00:6::3".parse().ok());
        assert_eq!(s.lookup_ipv4(A, "six"), Some(vec![]));
        assert_eq!(s.lookup_ipv6(A, "alias6"), Some(vec!["fd00:6::3".parse().unwrap()]));
        assert_eq!(s.lookup(A, "six"), vec![IpAddr::from("fd00:6::3".parse::<Ipv6Addr>().unwrap())]);
        assert_eq!(s.reverse(A, "fd00:6::3".parse().unwrap()).as_deref(), Some("six.n"));
        assert_eq!(s.lookup_ipv4(A, "nothing"), None);
    }

    #[test]
    fn shared_alias_answers_all_and_rotates() {
        let s = DnsState::new();
        s.set_endpoint("n", A, names(&["a", "svc"]), v4("10.0.0.1"), None);
        s.set_endpoint("n", B, names(&["b", "svc"]), v4("10.0.0.2"), None);
        s.set_endpoint("n", C, names(&["c", "svc"]), v4("10.0.0.3"), None);
        let first = s.lookup_ipv4(A, "svc").unwrap();
        let second = s.lookup_ipv4(A, "svc").unwrap();
        assert_eq!(first.len(), 3);
        let mut sorted = first.clone();
        sorted.sort();
        assert_eq!(sorted, vec![v4("10.0.0.1").unwrap(), v4("10.0.0.2").unwrap(), v4("10.0.0.3").unwrap()]);
        assert_ne!(first, second, "rotated");
        assert_eq!(first[1], second[0]);
    }

    #[test]
    fn updates_and_removals() {
        let s = sample();
        s.set_endpoint("n1", B, names(&["web"]), v4("10.1.0.99"), None);
        assert_eq!(s.lookup(A, "web"), vec![IpAddr::from([10, 1, 0, 99])]);
        assert!(s.lookup(A, "www").is_empty(), "alias dropped with the replacement");
        s.remove_endpoint("n1", B);
        assert!(s.lookup(A, "web").is_empty());
        s.remove_container(C);
        assert!(s.lookup(B, "db").is_empty());
        s.remove_network("n2");
        assert!(s.lookup(B, "web").is_empty());
        s.remove_endpoint("nope", "nope");
    }

    #[test]
    fn reverse_names_container_and_network() {
        let s = sample();
        assert_eq!(s.reverse(A, "10.1.0.3".parse().unwrap()).as_deref(), Some("web.front"));
        assert_eq!(s.reverse(A, "10.1.0.2".parse().unwrap()).as_deref(), Some("client.front"));
        assert_eq!(s.reverse(A, "10.2.0.3".parse().unwrap()), None, "not a shared network");
        assert_eq!(s.reverse(C, "fd00::4".parse().unwrap()).as_deref(), Some("db.back"));
        // Unnamed network: its ID.
        s.set_endpoint("n3", A, names(&["x"]), v4("10.3.0.2"), None);
        assert_eq!(s.reverse(A, "10.3.0.2".parse().unwrap()).as_deref(), Some("x.n3"));
    }

    #[test]
    fn short_id_only_for_hex_ids() {
        assert_eq!(short_id(A).as_deref(), Some("aaaaaaaaaaaa"));
        assert_eq!(short_id("short"), None);
        assert_eq!(short_id("not-hex-but-long-enough"), None);
    }
}
