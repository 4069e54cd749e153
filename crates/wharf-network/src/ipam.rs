//! IPv4 address management as dockerd's default IPAM driver does it, without I/O.
//!
//! - **Subnets** come from the default address pools ([`default_pools`]: the default `bridge`
//!   network's 172.17.0.0/16, then the /16s of 172.18–172.31, then the /20s of
//!   192.168.0.0/16), first free first, skipping subnets in use and host routes
//!   ([`allocate_subnet`]); a user's `--subnet` is checked with [`check_subnet`].
//! - **Addresses** of one network live in a [`NetworkIpam`]: the gateway (first host address
//!   of the subnet, or of `--ip-range`, unless `--gateway` is given), serial allocation
//!   inside `--ip-range` (the next free address after the last one handed out, wrapping, as
//!   dockerd does so that a released address is not reused at once), static `--ip` requests
//!   and release. It is `serde` data: the caller persists it with the network.
//! - **MAC addresses**: [`mac_from_ipv4`] (`02:42:` + the four address bytes).

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// An IPv4 prefix in CIDR notation (`172.17.0.0/16`). The address is kept as written, so
/// `172.17.0.1/16` is representable (an interface address) and [`Ipv4Net::masked`] gives the
/// network. Serialized as its string form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Net {
    addr: Ipv4Addr,
    prefix: u8,
}

impl Ipv4Net {
    /// A prefix; fails when `prefix > 32`.
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Self> {
        if prefix > 32 {
            return Err(Error::InvalidArgument(format!("invalid prefix length {prefix}")));
        }
        Ok(Ipv4Net { addr, prefix })
    }

    /// The address as given.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The netmask as a number.
    pub fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix)
        }
    }

    /// The network address.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }

    /// The last address of the prefix (the broadcast address).
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }

    /// The same prefix with the host bits cleared.
    pub fn masked(&self) -> Self {
        Ipv4Net { addr: self.network(), prefix: self.prefix }
    }

    /// Whether `ip` lies inside.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.network())
    }

    /// Whether `other` lies entirely inside.
    pub fn contains_net(&self, other: &Ipv4Net) -> bool {
        other.prefix >= self.prefix && self.contains(other.addr)
    }

    /// Whether the two prefixes share an address.
    pub fn overlaps(&self, other: &Ipv4Net) -> bool {
        self.contains(other.network()) || other.contains(self.network())
    }

    fn first(&self) -> u32 {
        u32::from(self.network())
    }

    fn last(&self) -> u32 {
        u32::from(self.broadcast())
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl fmt::Debug for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Ipv4Net {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::InvalidArgument(format!("invalid CIDR address: {s}"));
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        if prefix.is_empty() || prefix.len() > 2 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        Ipv4Net::new(addr, prefix).map_err(|_| bad())
    }
}

impl Serialize for Ipv4Net {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ipv4Net {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A MAC address; displayed and serialized as `02:42:ac:11:00:02`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for MacAddr {
    type Err = Error;

    /// Parses `aa:bb:cc:dd:ee:ff` (or with `-`), as `--mac-address` accepts it.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::InvalidArgument(format!("{s} is not a valid mac address"));
        let parts: Vec<&str> = s.split([':', '-']).collect();
        if parts.len() != 6 {
            return Err(bad());
        }
        let mut out = [0u8; 6];
        for (o, p) in out.iter_mut().zip(parts) {
            if p.len() != 2 {
                return Err(bad());
            }
            *o = u8::from_str_radix(p, 16).map_err(|_| bad())?;
        }
        Ok(MacAddr(out))
    }
}

impl Serialize for MacAddr {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Docker's MAC for an endpoint address: `02:42:` followed by the four bytes of the address
/// (a locally administered unicast address), e.g. 172.17.0.2 → `02:42:ac:11:00:02`.
pub fn mac_from_ipv4(ip: Ipv4Addr) -> MacAddr {
    let o = ip.octets();
    MacAddr([0x02, 0x42, o[0], o[1], o[2], o[3]])
}

/// One default address pool: `base` is cut into subnets of prefix length `size`, as a
/// `default-address-pools` entry of `daemon.json` (`{"base": "172.17.0.0/16", "size": 16}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolSpec {
    /// The range to cut.
    pub base: Ipv4Net,
    /// The prefix length of each subnet cut from it.
    pub size: u8,
}

/// The default `bridge` network's subnet (`docker0`'s 172.17.0.0/16).
pub const DEFAULT_BRIDGE_SUBNET: Ipv4Net = Ipv4Net { addr: Ipv4Addr::new(172, 17, 0, 0), prefix: 16 };

/// dockerd's default local address pools, in order: 172.17.0.0/16, 172.18.0.0/16,
/// 172.19.0.0/16, 172.20.0.0/14, 172.24.0.0/14 and 172.28.0.0/14 cut into /16s (so the /16s
/// of 172.17–172.31), then 192.168.0.0/16 cut into /20s.
pub fn default_pools() -> Vec<PoolSpec> {
    let p = |a, b, prefix, size| PoolSpec { base: Ipv4Net { addr: Ipv4Addr::new(a, b, 0, 0), prefix }, size };
    vec![
        p(172, 17, 16, 16),
        p(172, 18, 16, 16),
        p(172, 19, 16, 16),
        p(172, 20, 14, 16),
        p(172, 24, 14, 16),
        p(172, 28, 14, 16),
        p(192, 168, 16, 20),
    ]
}

/// Picks the first subnet of `pools` (in order) that overlaps nothing in `in_use` (the
/// subnets of existing networks) nor in `host_routes` (routes and addresses of the host's
/// interfaces, which dockerd also avoids; a default route, prefix length 0, is ignored).
///
/// Errors with [`Error::NoAvailablePool`] when every candidate is taken.
pub fn allocate_subnet(pools: &[PoolSpec], in_use: &[Ipv4Net], host_routes: &[Ipv4Net]) -> Result<Ipv4Net> {
    let taken: Vec<Ipv4Net> =
        in_use.iter().chain(host_routes.iter().filter(|r| r.prefix > 0)).map(Ipv4Net::masked).collect();
    for pool in pools {
        if pool.size < pool.base.prefix || pool.size > 32 {
            continue;
        }
        let base = pool.base.masked();
        let step: u64 = 1u64 << (32 - u32::from(pool.size));
        let mut start = u64::from(base.first());
        let end = u64::from(base.last());
        while start <= end {
            let candidate = Ipv4Net { addr: Ipv4Addr::from(start as u32), prefix: pool.size };
            match taken.iter().filter(|t| t.overlaps(&candidate)).map(|t| u64::from(t.last())).max() {
                None => return Ok(candidate),
                // Skip past whatever is in the way (aligned: a taken prefix that is larger
                // than the candidate ends on a candidate boundary).
                Some(last) => {
                    let next = (last + 1).max(start + step);
                    start = next.div_ceil(step) * step;
                }
            }
        }
    }
    Err(Error::NoAvailablePool)
}

/// Checks a user-requested subnet (`--subnet`) against the subnets in use: dockerd's
/// [`Error::PoolOverlap`] when it overlaps one of them.
pub fn check_subnet(subnet: Ipv4Net, in_use: &[Ipv4Net]) -> Result<()> {
    let subnet = subnet.masked();
    if in_use.iter().any(|u| u.masked().overlaps(&subnet)) {
        return Err(Error::PoolOverlap);
    }
    Ok(())
}

/// The addresses of one network: subnet, optional `--ip-range`, gateway, and every address
/// handed out. Serializable: persist it with the network and load it back on restart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkIpam {
    subnet: Ipv4Net,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ip_range: Option<Ipv4Net>,
    gateway: Ipv4Addr,
    /// Addresses in use, the gateway included.
    allocated: BTreeSet<Ipv4Addr>,
    /// The last address handed out by a dynamic allocation (the serial cursor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last: Option<Ipv4Addr>,
}

impl NetworkIpam {
    /// A network's IPAM state: `subnet` (masked, e.g. `172.18.0.0/16`), an optional
    /// `--ip-range` inside it, and an optional `--gateway`. Without a gateway, the first free
    /// address of the range (of the subnet when there is no range) becomes the gateway, as
    /// dockerd does — with a range that may be the range's first address even if it ends in
    /// `.0` (dockerd's behaviour).
    ///
    /// Invalid combinations fail with dockerd's `invalid network config:` texts.
    pub fn new(subnet: Ipv4Net, ip_range: Option<Ipv4Net>, gateway: Option<Ipv4Addr>) -> Result<Self> {
        let mut errs = Vec::new();
        if subnet != subnet.masked() {
            errs.push(format!("invalid subnet {subnet}: it should be {}", subnet.masked()));
        }
        if let Some(r) = ip_range {
            if r.prefix < subnet.prefix {
                errs.push(format!("invalid ip-range {r}: CIDR block is bigger than its parent subnet {subnet}"));
            }
            if r != r.masked() {
                errs.push(format!("invalid ip-range {r}: it should be {}", r.masked()));
            }
            if !subnet.overlaps(&r) {
                errs.push(format!("invalid ip-range {r}: parent subnet {subnet} doesn't contain ip-range"));
            }
        }
        if let Some(g) = gateway {
            if !subnet.contains(g) {
                errs.push(format!("invalid gateway {g}: parent subnet {subnet} doesn't contain this address"));
            }
        }
        if !errs.is_empty() {
            return Err(Error::InvalidConfig(errs));
        }
        let mut ipam =
            NetworkIpam { subnet, ip_range, gateway: Ipv4Addr::UNSPECIFIED, allocated: BTreeSet::new(), last: None };
        let gateway = match gateway {
            Some(g) => ipam.allocate(Some(g))?,
            None => ipam.allocate(None)?,
        };
        ipam.gateway = gateway;
        Ok(ipam)
    }

    /// The subnet.
    pub fn subnet(&self) -> Ipv4Net {
        self.subnet
    }

    /// The `--ip-range`, if any.
    pub fn ip_range(&self) -> Option<Ipv4Net> {
        self.ip_range
    }

    /// The gateway address (the bridge's address).
    pub fn gateway(&self) -> Ipv4Addr {
        self.gateway
    }

    /// The gateway with the subnet's prefix length, e.g. `172.18.0.1/16` (the bridge's
    /// interface address).
    pub fn gateway_cidr(&self) -> Ipv4Net {
        Ipv4Net { addr: self.gateway, prefix: self.subnet.prefix }
    }

    /// Whether `ip` is handed out (the gateway counts).
    pub fn is_allocated(&self, ip: Ipv4Addr) -> bool {
        self.allocated.contains(&ip)
    }

    /// Every address handed out, the gateway included, in order.
    pub fn allocated(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.allocated.iter().copied()
    }

    /// Hands out an address: `requested` (a static `--ip`, anywhere in the subnet) or the next
    /// free one inside the range.
    ///
    /// Errors: [`Error::AddressNotInSubnet`] (static outside the subnet),
    /// [`Error::AddressInUse`] (static already taken, or the network/broadcast address),
    /// [`Error::NoAvailableAddresses`] (exhausted; see [`Error::with_network`]).
    pub fn allocate(&mut self, requested: Option<Ipv4Addr>) -> Result<Ipv4Addr> {
        let (lo, hi) = self.usable();
        if let Some(ip) = requested {
            if !self.subnet.contains(ip) {
                return Err(Error::AddressNotInSubnet(ip));
            }
            let n = u32::from(ip);
            if n < lo || n > hi || self.allocated.contains(&ip) {
                return Err(Error::AddressInUse);
            }
            self.allocated.insert(ip);
            return Ok(ip);
        }
        let (rlo, rhi) = match self.ip_range {
            Some(r) => (r.first().max(lo), r.last().min(hi)),
            None => (lo, hi),
        };
        if rlo > rhi {
            return Err(Error::NoAvailableAddresses(String::new()));
        }
        let start = match self.last.map(u32::from) {
            Some(l) if l >= rlo && l < rhi => l + 1,
            _ => rlo,
        };
        let found = self.first_free(start, rhi).or_else(|| self.first_free(rlo, rhi));
        match found {
            Some(n) => {
                let ip = Ipv4Addr::from(n);
                self.allocated.insert(ip);
                self.last = Some(ip);
                Ok(ip)
            }
            None => Err(Error::NoAvailableAddresses(String::new())),
        }
    }

    /// Gives an address back. Returns whether it was allocated; the gateway is never released
    /// (it lives as long as the network).
    pub fn release(&mut self, ip: Ipv4Addr) -> bool {
        if ip == self.gateway {
            return false;
        }
        self.allocated.remove(&ip)
    }

    /// The allocatable span of the subnet: without the network and broadcast addresses,
    /// except in /31 and /32 subnets which have none.
    fn usable(&self) -> (u32, u32) {
        let (first, last) = (self.subnet.first(), self.subnet.last());
        if self.subnet.prefix >= 31 {
            (first, last)
        } else {
            (first + 1, last - 1)
        }
    }

    /// The lowest free address in `[lo, hi]`.
    fn first_free(&self, lo: u32, hi: u32) -> Option<u32> {
        if lo > hi {
            return None;
        }
        let mut candidate = u64::from(lo);
        for a in self.allocated.range(Ipv4Addr::from(lo)..=Ipv4Addr::from(hi)) {
            let a = u64::from(u32::from(*a));
            if a > candidate {
                break;
            }
            candidate = a + 1;
        }
        (candidate <= u64::from(hi)).then_some(candidate as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_parsing_and_arithmetic() {
        let n = net("172.17.0.1/16");
        assert_eq!(n.to_string(), "172.17.0.1/16");
        assert_eq!(n.masked().to_string(), "172.17.0.0/16");
        assert_eq!(n.broadcast(), ip("172.17.255.255"));
        assert!(n.contains(ip("172.17.200.3")));
        assert!(!n.contains(ip("172.18.0.1")));
        assert!(net("10.0.0.0/8").overlaps(&net("10.1.0.0/16")));
        assert!(net("10.1.0.0/16").overlaps(&net("10.0.0.0/8")));
        assert!(!net("10.0.0.0/16").overlaps(&net("10.1.0.0/16")));
        assert!(net("0.0.0.0/0").contains(ip("1.2.3.4")));
        assert!(net("10.0.0.0/8").contains_net(&net("10.2.0.0/16")));
        for bad in ["10.0.0.0", "10.0.0.0/33", "10.0.0/8", "x/8", "10.0.0.0/+8", "10.0.0.0/"] {
            assert!(bad.parse::<Ipv4Net>().is_err(), "{bad}");
        }
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(json, "\"172.17.0.1/16\"");
        assert_eq!(serde_json::from_str::<Ipv4Net>(&json).unwrap(), n);
    }

    #[test]
    fn mac_is_dockers() {
        let mac = mac_from_ipv4(ip("172.17.0.2"));
        assert_eq!(mac.to_string(), "02:42:ac:11:00:02");
        assert_eq!("02:42:AC:11:00:02".parse::<MacAddr>().unwrap(), mac);
        assert_eq!(serde_json::to_string(&mac).unwrap(), "\"02:42:ac:11:00:02\"");
        assert!("02:42:ac:11:00".parse::<MacAddr>().is_err());
        assert!("02:42:ac:11:00:2".parse::<MacAddr>().is_err());
    }

    #[test]
    fn default_pools_in_dockers_order() {
        let pools = default_pools();
        assert_eq!(allocate_subnet(&pools, &[], &[]).unwrap(), DEFAULT_BRIDGE_SUBNET);
        let mut used = vec![DEFAULT_BRIDGE_SUBNET];
        let mut got = Vec::new();
        loop {
            match allocate_subnet(&pools, &used, &[]) {
                Ok(s) => {
                    got.push(s);
                    used.push(s);
                }
                Err(e) => {
                    assert!(matches!(e, Error::NoAvailablePool));
                    assert_eq!(
                        e.to_string(),
                        "could not find an available, non-overlapping IPv4 address pool among the \
                         defaults to assign to the network"
                    );
                    break;
                }
            }
        }
        // 172.18 … 172.31 (14 /16s), then 16 /20s of 192.168.0.0/16.
        assert_eq!(got.len(), 14 + 16);
        assert_eq!(got[0], net("172.18.0.0/16"));
        assert_eq!(got[13], net("172.31.0.0/16"));
        assert_eq!(got[14], net("192.168.0.0/20"));
        assert_eq!(got[15], net("192.168.16.0/20"));
        assert_eq!(got[29], net("192.168.240.0/20"));
    }

    #[test]
    fn allocation_skips_used_subnets_and_host_routes() {
        let pools = default_pools();
        let used = [net("172.17.0.0/16"), net("172.19.5.0/24")];
        let routes = [net("0.0.0.0/0"), net("172.18.0.0/17"), net("172.20.0.0/15")];
        // 172.18 (route), 172.19 (used /24 inside), 172.20–21 (route /15) are skipped.
        assert_eq!(allocate_subnet(&pools, &used, &routes).unwrap(), net("172.22.0.0/16"));
        // A big taken prefix covering whole pools.
        let routes = [net("172.16.0.0/12")];
        assert_eq!(allocate_subnet(&pools, &[], &routes).unwrap(), net("192.168.0.0/20"));
        let routes = [net("172.16.0.0/12"), net("192.168.0.0/17")];
        assert_eq!(allocate_subnet(&pools, &[], &routes).unwrap(), net("192.168.128.0/20"));
        // A released network's subnet is reused first.
        let used = [net("172.17.0.0/16"), net("172.19.0.0/16")];
        assert_eq!(allocate_subnet(&pools, &used, &[]).unwrap(), net("172.18.0.0/16"));
        // Custom pools, e.g. daemon.json default-address-pools.
        let custom = [PoolSpec { base: net("10.10.0.0/16"), size: 24 }];
        assert_eq!(allocate_subnet(&custom, &[net("10.10.0.0/24")], &[]).unwrap(), net("10.10.1.0/24"));
    }

    #[test]
    fn user_subnet_overlap() {
        let used = [net("172.17.0.0/16"), net("10.1.0.0/24")];
        assert!(check_subnet(net("10.1.0.0/16"), &used).is_err());
        let err = check_subnet(net("172.17.3.0/24"), &used).unwrap_err();
        assert_eq!(err.to_string(), "invalid pool request: Pool overlaps with other one on this address space");
        check_subnet(net("10.2.0.0/16"), &used).unwrap();
    }

    #[test]
    fn gateway_and_serial_allocation() {
        let mut ipam = NetworkIpam::new(net("172.18.0.0/16"), None, None).unwrap();
        assert_eq!(ipam.gateway(), ip("172.18.0.1"));
        assert_eq!(ipam.gateway_cidr().to_string(), "172.18.0.1/16");
        assert_eq!(ipam.allocate(None).unwrap(), ip("172.18.0.2"));
        assert_eq!(ipam.allocate(None).unwrap(), ip("172.18.0.3"));
        // Released addresses are not reused at once (serial allocation).
        assert!(ipam.release(ip("172.18.0.2")));
        assert!(!ipam.release(ip("172.18.0.2")));
        assert_eq!(ipam.allocate(None).unwrap(), ip("172.18.0.4"));
        // The gateway stays.
        assert!(!ipam.release(ipam.gateway()));
        // Round trip through JSON keeps the cursor.
        let json = serde_json::to_string(&ipam).unwrap();
        let mut back: NetworkIpam = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ipam);
        assert_eq!(back.allocate(None).unwrap(), ip("172.18.0.5"));
    }

    #[test]
    fn exhaustion_and_wrap_around() {
        let mut ipam = NetworkIpam::new(net("10.9.0.0/29"), None, None).unwrap();
        // .0 network, .1 gateway, .2–.6 hosts, .7 broadcast.
        let got: Vec<_> = (0..5).map(|_| ipam.allocate(None).unwrap()).collect();
        assert_eq!(got.first(), Some(&ip("10.9.0.2")));
        assert_eq!(got.last(), Some(&ip("10.9.0.6")));
        let err = ipam.allocate(None).unwrap_err();
        assert_eq!(err.to_string(), "no available IPv4 addresses on this network's address pools");
        assert_eq!(
            err.with_network("n1", "abc").to_string(),
            "no available IPv4 addresses on this network's address pools: n1 (abc)"
        );
        // A released address is found again by wrapping around.
        ipam.release(ip("10.9.0.3"));
        assert_eq!(ipam.allocate(None).unwrap(), ip("10.9.0.3"));
    }

    #[test]
    fn static_addresses() {
        let mut ipam = NetworkIpam::new(net("172.20.0.0/16"), None, None).unwrap();
        assert_eq!(ipam.allocate(Some(ip("172.20.0.10"))).unwrap(), ip("172.20.0.10"));
        let err = ipam.allocate(Some(ip("172.20.0.10"))).unwrap_err();
        assert_eq!(err.to_string(), "Address already in use");
        assert!(matches!(ipam.allocate(Some(ip("172.20.0.1"))), Err(Error::AddressInUse)));
        assert!(matches!(ipam.allocate(Some(ip("172.20.0.0"))), Err(Error::AddressInUse)));
        assert!(matches!(ipam.allocate(Some(ip("172.20.255.255"))), Err(Error::AddressInUse)));
        let err = ipam.allocate(Some(ip("10.0.0.1"))).unwrap_err();
        assert_eq!(err.to_string(), "invalid address 10.0.0.1: It does not belong to any of this network's subnets");
        // Static addresses do not move the serial cursor; dynamic ones skip them.
        assert_eq!(ipam.allocate(None).unwrap(), ip("172.20.0.2"));
        ipam.allocate(Some(ip("172.20.0.3"))).unwrap();
        assert_eq!(ipam.allocate(None).unwrap(), ip("172.20.0.4"));
    }

    #[test]
    fn ip_range_and_explicit_gateway() {
        let mut ipam =
            NetworkIpam::new(net("172.28.0.0/16"), Some(net("172.28.5.0/30")), Some(ip("172.28.5.254"))).unwrap();
        assert_eq!(ipam.gateway(), ip("172.28.5.254"));
        let got: Vec<_> = (0..4).map(|_| ipam.allocate(None).unwrap().to_string()).collect();
        assert_eq!(got, ["172.28.5.0", "172.28.5.1", "172.28.5.2", "172.28.5.3"]);
        assert!(matches!(ipam.allocate(None), Err(Error::NoAvailableAddresses(_))));
        // A static address outside the range but inside the subnet is fine.
        assert_eq!(ipam.allocate(Some(ip("172.28.9.9"))).unwrap(), ip("172.28.9.9"));

        // Without --gateway the range's first address is the gateway (dockerd does the same).
        let ipam = NetworkIpam::new(net("172.28.0.0/16"), Some(net("172.28.5.0/24")), None).unwrap();
        assert_eq!(ipam.gateway(), ip("172.28.5.0"));
        let ipam = NetworkIpam::new(net("172.28.0.0/16"), Some(net("172.28.0.0/24")), None).unwrap();
        assert_eq!(ipam.gateway(), ip("172.28.0.1"));
    }

    #[test]
    fn invalid_configs_use_dockerd_texts() {
        let err = NetworkIpam::new(net("172.28.0.1/16"), Some(net("10.0.0.0/8")), Some(ip("10.0.0.1"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid network config:\n\
             invalid subnet 172.28.0.1/16: it should be 172.28.0.0/16\n\
             invalid ip-range 10.0.0.0/8: CIDR block is bigger than its parent subnet 172.28.0.1/16\n\
             invalid ip-range 10.0.0.0/8: parent subnet 172.28.0.1/16 doesn't contain ip-range\n\
             invalid gateway 10.0.0.1: parent subnet 172.28.0.1/16 doesn't contain this address"
        );
        let err = NetworkIpam::new(net("172.28.0.0/16"), Some(net("172.28.5.1/24")), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid network config:\ninvalid ip-range 172.28.5.1/24: it should be 172.28.5.0/24"
        );
        // The broadcast address cannot be the gateway.
        assert!(matches!(
            NetworkIpam::new(net("172.28.0.0/16"), None, Some(ip("172.28.255.255"))),
            Err(Error::AddressInUse)
        ));
    }

    #[test]
    fn tiny_subnets() {
        let mut ipam = NetworkIpam::new(net("10.0.0.0/31"), None, None).unwrap();
        assert_eq!(ipam.gateway(), ip("10.0.0.0"));
        assert_eq!(ipam.allocate(None).unwrap(), ip("10.0.0.1"));
        assert!(ipam.allocate(None).is_err());
        let ipam = NetworkIpam::new(net("255.255.255.252/30"), None, None).unwrap();
        assert_eq!(ipam.gateway(), ip("255.255.255.253"));
        assert!(NetworkIpam::new(net("10.0.0.0/32"), None, None).is_ok());
    }
}
