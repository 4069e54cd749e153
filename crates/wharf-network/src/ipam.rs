//! Address management as dockerd's default IPAM driver does it, without I/O: IPv4
//! ([`Ipv4Net`], [`NetworkIpam`]) and IPv6 ([`Ipv6Net`], [`NetworkIpam6`]).
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
//! - **IPv6**: `--ipv6` networks without an IPv6 `--subnet` get a /64 of the daemon's ULA
//!   prefix ([`ula_pool`]: `fdXX:XXXX:XXXX::/48` whose 40-bit global ID comes from the SHA-256
//!   of the engine ID, as dockerd derives it), first free first ([`allocate_subnet6`]). The
//!   addresses of an IPv6 subnet live in a [`NetworkIpam6`]: the first address (the
//!   subnet-router anycast address) is reserved, there is no broadcast address, the gateway
//!   and the serial allocation follow the IPv4 rules.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// An IP prefix type in CIDR notation for one address family: the address kept as written (an
/// interface address such as `172.17.0.1/16` is representable; `masked` gives the network),
/// the prefix length checked, serialized as its string form. One body for both families.
macro_rules! ip_net {
    ($(#[$doc:meta])* $name:ident, $addr:ty, $bits:ty, $max:literal, $digits:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name {
            addr: $addr,
            prefix: u8,
        }

        impl $name {
            #[doc = concat!("A prefix; fails when `prefix > ", $max, "`.")]
            pub fn new(addr: $addr, prefix: u8) -> Result<Self> {
                if prefix > $max {
                    return Err(Error::InvalidArgument(format!("invalid prefix length {prefix}")));
                }
                Ok($name { addr, prefix })
            }

            /// The address as given.
            pub fn addr(&self) -> $addr {
                self.addr
            }

            /// The prefix length.
            pub fn prefix(&self) -> u8 {
                self.prefix
            }

            /// The netmask as a number.
            pub fn mask(&self) -> $bits {
                if self.prefix == 0 {
                    0
                } else {
                    <$bits>::MAX << ($max - u32::from(self.prefix))
                }
            }

            /// The network address.
            pub fn network(&self) -> $addr {
                <$addr>::from(<$bits>::from(self.addr) & self.mask())
            }

            /// The last address of the prefix (for IPv4, the broadcast address).
            pub fn last_addr(&self) -> $addr {
                <$addr>::from(<$bits>::from(self.addr) | !self.mask())
            }

            /// The same prefix with the host bits cleared.
            pub fn masked(&self) -> Self {
                $name { addr: self.network(), prefix: self.prefix }
            }

            /// Whether `ip` lies inside.
            pub fn contains(&self, ip: $addr) -> bool {
                <$bits>::from(ip) & self.mask() == <$bits>::from(self.network())
            }

            /// Whether `other` lies entirely inside.
            pub fn contains_net(&self, other: &$name) -> bool {
                other.prefix >= self.prefix && self.contains(other.addr)
            }

            /// Whether the two prefixes share an address.
            pub fn overlaps(&self, other: &$name) -> bool {
                self.contains(other.network()) || other.contains(self.network())
            }

            fn first(&self) -> $bits {
                <$bits>::from(self.network())
            }

            fn last(&self) -> $bits {
                <$bits>::from(self.last_addr())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}/{}", self.addr, self.prefix)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self> {
                let bad = || Error::InvalidArgument(format!("invalid CIDR address: {s}"));
                let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
                let addr: $addr = addr.parse().map_err(|_| bad())?;
                if prefix.is_empty() || prefix.len() > $digits || !prefix.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                let prefix: u8 = prefix.parse().map_err(|_| bad())?;
                $name::new(addr, prefix).map_err(|_| bad())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

ip_net!(
    /// An IPv4 prefix in CIDR notation (`172.17.0.0/16`).
    Ipv4Net, Ipv4Addr, u32, 32, 2
);

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
                return Err(Error::AddressNotInSubnet(ip.into()));
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

ip_net!(
    /// An IPv6 prefix in CIDR notation (`fd00:1::/64`).
    Ipv6Net, Ipv6Addr, u128, 128, 3
);

/// One IPv6 address pool: `base` cut into subnets of prefix length `size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolSpec6 {
    /// The range to cut.
    pub base: Ipv6Net,
    /// The prefix length of each subnet cut from it.
    pub size: u8,
}

/// dockerd's IPv6 default pool when none is configured (`deriveULABaseNetwork`): the ULA
/// prefix `fd00::/8` followed by a 40-bit global ID — the 40 low bits of the first 8 bytes
/// (big-endian) of the SHA-256 of `host_id` (the engine ID) — as a /48, cut into /64s. Stable
/// for a given engine ID, apart between daemons.
pub fn ula_pool(host_id: &str) -> PoolSpec6 {
    use sha2::Digest as _;
    let sha = sha2::Sha256::digest(host_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&sha[..8]);
    let gid = u64::from_be_bytes(first) & ((1u64 << 40) - 1);
    let addr = (0xfdu128 << 120) + (u128::from(gid) << 80);
    PoolSpec6 { base: Ipv6Net { addr: Ipv6Addr::from(addr), prefix: 48 }, size: 64 }
}

/// Picks the first IPv6 subnet of `pools` (in order) that overlaps nothing in `in_use` nor in
/// `host_routes` (a default route, prefix length 0, is ignored).
///
/// Errors with [`Error::NoAvailablePool6`] when every candidate is taken.
pub fn allocate_subnet6(pools: &[PoolSpec6], in_use: &[Ipv6Net], host_routes: &[Ipv6Net]) -> Result<Ipv6Net> {
    let taken: Vec<Ipv6Net> =
        in_use.iter().chain(host_routes.iter().filter(|r| r.prefix > 0)).map(Ipv6Net::masked).collect();
    for pool in pools {
        if pool.size < pool.base.prefix || pool.size > 128 || pool.size == 0 {
            continue;
        }
        let base = pool.base.masked();
        let step: u128 = if pool.size == 128 { 1 } else { 1u128 << (128 - u32::from(pool.size)) };
        let mut start = base.first();
        let end = base.last();
        loop {
            let candidate = Ipv6Net { addr: Ipv6Addr::from(start), prefix: pool.size };
            match taken.iter().filter(|t| t.overlaps(&candidate)).map(Ipv6Net::last).max() {
                None => return Ok(candidate),
                Some(last) => {
                    // Skip past whatever is in the way, aligned on a candidate boundary.
                    let Some(next) = last.checked_add(1) else { break };
                    let next = next.max(start.saturating_add(step));
                    let aligned = next.div_ceil(step).checked_mul(step);
                    match aligned {
                        Some(a) if a <= end && a > start => start = a,
                        _ => break,
                    }
                }
            }
        }
    }
    Err(Error::NoAvailablePool6)
}

/// Checks a user-requested IPv6 subnet against the IPv6 subnets in use (dockerd's
/// [`Error::PoolOverlap`]) and against dockerd's bridge-driver rules: no multicast subnet, no
/// clash with the link-local prefix `fe80::/64`.
pub fn check_subnet6(subnet: Ipv6Net, in_use: &[Ipv6Net]) -> Result<()> {
    let masked = subnet.masked();
    if subnet.addr.is_multicast() {
        return Err(Error::InvalidArgument(format!("multicast subnet '{subnet}' is not allowed")));
    }
    let link_local = Ipv6Net { addr: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), prefix: 64 };
    if masked.overlaps(&link_local) {
        return Err(Error::InvalidArgument(format!("'{subnet}' clashes with the Link-Local prefix 'fe80::/64'")));
    }
    if in_use.iter().any(|u| u.masked().overlaps(&masked)) {
        return Err(Error::PoolOverlap);
    }
    Ok(())
}

/// The IPv6 addresses of one network: subnet, optional `--ip-range`, gateway, and every
/// address handed out; the IPv6 counterpart of [`NetworkIpam`], persisted the same way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkIpam6 {
    subnet: Ipv6Net,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ip_range: Option<Ipv6Net>,
    gateway: Ipv6Addr,
    /// Addresses in use, the gateway included.
    allocated: BTreeSet<Ipv6Addr>,
    /// The last address handed out by a dynamic allocation (the serial cursor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last: Option<Ipv6Addr>,
}

impl NetworkIpam6 {
    /// A network's IPv6 state: `subnet` (masked), an optional `--ip-range` inside it and an
    /// optional `--gateway`; without one, the first free address of the range (of the subnet
    /// when there is none) after the reserved subnet-router anycast address, e.g. `fd00:1::1`.
    ///
    /// Invalid combinations fail with dockerd's `invalid network config:` texts.
    pub fn new(subnet: Ipv6Net, ip_range: Option<Ipv6Net>, gateway: Option<Ipv6Addr>) -> Result<Self> {
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
            NetworkIpam6 { subnet, ip_range, gateway: Ipv6Addr::UNSPECIFIED, allocated: BTreeSet::new(), last: None };
        ipam.gateway = ipam.allocate(gateway)?;
        Ok(ipam)
    }

    /// The subnet.
    pub fn subnet(&self) -> Ipv6Net {
        self.subnet
    }

    /// The `--ip-range`, if any.
    pub fn ip_range(&self) -> Option<Ipv6Net> {
        self.ip_range
    }

    /// The gateway address (on the bridge).
    pub fn gateway(&self) -> Ipv6Addr {
        self.gateway
    }

    /// The gateway with the subnet's prefix length, e.g. `fd00:1::1/64`.
    pub fn gateway_cidr(&self) -> Ipv6Net {
        Ipv6Net { addr: self.gateway, prefix: self.subnet.prefix }
    }

    /// Whether `ip` is handed out (the gateway counts).
    pub fn is_allocated(&self, ip: Ipv6Addr) -> bool {
        self.allocated.contains(&ip)
    }

    /// Every address handed out, the gateway included, in order.
    pub fn allocated(&self) -> impl Iterator<Item = Ipv6Addr> + '_ {
        self.allocated.iter().copied()
    }

    /// Hands out an address: `requested` (a static `--ip6`, anywhere in the subnet) or the
    /// next free one inside the range, serially.
    ///
    /// Errors: [`Error::AddressNotInSubnet`], [`Error::AddressInUse`] (taken, or the reserved
    /// first address), [`Error::NoAvailableAddresses6`].
    pub fn allocate(&mut self, requested: Option<Ipv6Addr>) -> Result<Ipv6Addr> {
        let (lo, hi) = self.usable();
        if let Some(ip) = requested {
            if !self.subnet.contains(ip) {
                return Err(Error::AddressNotInSubnet(ip.into()));
            }
            let n = u128::from(ip);
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
            return Err(Error::NoAvailableAddresses6(String::new()));
        }
        let start = match self.last.map(u128::from) {
            Some(l) if l >= rlo && l < rhi => l + 1,
            _ => rlo,
        };
        let found = self.first_free(start, rhi).or_else(|| self.first_free(rlo, rhi));
        match found {
            Some(n) => {
                let ip = Ipv6Addr::from(n);
                self.allocated.insert(ip);
                self.last = Some(ip);
                Ok(ip)
            }
            None => Err(Error::NoAvailableAddresses6(String::new())),
        }
    }

    /// Gives an address back. Returns whether it was allocated; the gateway is never released.
    pub fn release(&mut self, ip: Ipv6Addr) -> bool {
        if ip == self.gateway {
            return false;
        }
        self.allocated.remove(&ip)
    }

    /// The allocatable span: everything but the first address (dockerd reserves the
    /// subnet-router anycast address of every IPv6 pool).
    fn usable(&self) -> (u128, u128) {
        let (first, last) = (self.subnet.first(), self.subnet.last());
        (first.saturating_add(1), last)
    }

    /// The lowest free address in `[lo, hi]`.
    fn first_free(&self, lo: u128, hi: u128) -> Option<u128> {
        if lo > hi {
            return None;
        }
        let mut candidate = lo;
        for a in self.allocated.range(Ipv6Addr::from(lo)..=Ipv6Addr::from(hi)) {
            let a = u128::from(*a);
            if a > candidate {
                break;
            }
            candidate = a.checked_add(1)?;
        }
        (candidate <= hi).then_some(candidate)
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
        assert_eq!(n.last_addr(), ip("172.17.255.255"));
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

    fn net6(s: &str) -> Ipv6Net {
        s.parse().unwrap()
    }

    fn ip6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv6_cidr_parsing_and_arithmetic() {
        let n = net6("fd00:1::5/64");
        assert_eq!(n.to_string(), "fd00:1::5/64");
        assert_eq!(n.masked().to_string(), "fd00:1::/64");
        assert_eq!(n.last_addr(), ip6("fd00:1::ffff:ffff:ffff:ffff"));
        assert!(n.contains(ip6("fd00:1::abcd")));
        assert!(!n.contains(ip6("fd00:2::1")));
        assert!(net6("fd00::/8").overlaps(&net6("fd12:3456::/64")));
        assert!(!net6("fd00:1::/64").overlaps(&net6("fd00:2::/64")));
        assert!(net6("::/0").contains(ip6("2001:db8::1")));
        assert!(net6("fd00::/48").contains_net(&net6("fd00:0:0:7::/64")));
        for bad in ["fd00::", "fd00::/129", "10.0.0.0/8", "x/8", "fd00::/+8", "fd00::/", "fd00::/0064"] {
            assert!(bad.parse::<Ipv6Net>().is_err(), "{bad}");
        }
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(json, "\"fd00:1::5/64\"");
        assert_eq!(serde_json::from_str::<Ipv6Net>(&json).unwrap(), n);
    }

    #[test]
    fn ula_pool_is_dockerd_s_derivation() {
        // sha256("") = e3b0c44298fc1c14…: the 40 low bits of 0xe3b0c44298fc1c14 are
        // 0x4298fc1c14, so the global ID is 42:98fc:1c14.
        let p = ula_pool("");
        assert_eq!(p.base.to_string(), "fd42:98fc:1c14::/48");
        assert_eq!(p.size, 64);
        // Stable for an engine ID, different between engine IDs.
        assert_eq!(ula_pool("engine-a"), ula_pool("engine-a"));
        assert_ne!(ula_pool("engine-a"), ula_pool("engine-b"));
        assert!(net6("fd00::/8").contains_net(&ula_pool("engine-a").base));
    }

    #[test]
    fn ipv6_subnets_from_the_pool() {
        let pools = [PoolSpec6 { base: net6("fd42:98fc:1c14::/48"), size: 64 }];
        assert_eq!(allocate_subnet6(&pools, &[], &[]).unwrap(), net6("fd42:98fc:1c14::/64"));
        let used = [net6("fd42:98fc:1c14::/64"), net6("fd42:98fc:1c14:1::/64")];
        assert_eq!(allocate_subnet6(&pools, &used, &[]).unwrap(), net6("fd42:98fc:1c14:2::/64"));
        // A host route covering a few /64s is skipped; a default route is not in the way.
        let routes = [net6("::/0"), net6("fd42:98fc:1c14::/62")];
        assert_eq!(allocate_subnet6(&pools, &[], &routes).unwrap(), net6("fd42:98fc:1c14:4::/64"));
        // The whole /48 taken: dockerd's message.
        let err = allocate_subnet6(&pools, &[net6("fd42:98fc:1c14::/48")], &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network"
        );
        let tiny = [PoolSpec6 { base: net6("fd00:9::/126"), size: 127 }];
        assert_eq!(allocate_subnet6(&tiny, &[net6("fd00:9::/127")], &[]).unwrap(), net6("fd00:9::2/127"));
        assert!(allocate_subnet6(&tiny, &[net6("fd00:9::/126")], &[]).is_err());
    }

    #[test]
    fn ipv6_user_subnet_checks() {
        let used = [net6("fd00:1::/64")];
        let err = check_subnet6(net6("fd00:1::/48"), &used).unwrap_err();
        assert_eq!(err.to_string(), "invalid pool request: Pool overlaps with other one on this address space");
        check_subnet6(net6("fd00:2::/64"), &used).unwrap();
        let err = check_subnet6(net6("ff02::/64"), &[]).unwrap_err();
        assert_eq!(err.to_string(), "multicast subnet 'ff02::/64' is not allowed");
        let err = check_subnet6(net6("fe80::/64"), &[]).unwrap_err();
        assert_eq!(err.to_string(), "'fe80::/64' clashes with the Link-Local prefix 'fe80::/64'");
    }

    #[test]
    fn ipv6_gateway_serial_and_static_allocation() {
        let mut ipam = NetworkIpam6::new(net6("fd00:1::/64"), None, None).unwrap();
        assert_eq!(ipam.gateway(), ip6("fd00:1::1"));
        assert_eq!(ipam.gateway_cidr().to_string(), "fd00:1::1/64");
        assert_eq!(ipam.allocate(None).unwrap(), ip6("fd00:1::2"));
        assert_eq!(ipam.allocate(None).unwrap(), ip6("fd00:1::3"));
        // Serial: a released address is not handed out again at once.
        assert!(ipam.release(ip6("fd00:1::2")));
        assert_eq!(ipam.allocate(None).unwrap(), ip6("fd00:1::4"));
        assert!(!ipam.release(ipam.gateway()));
        // Static addresses: anywhere in the subnet but the reserved first address.
        assert_eq!(ipam.allocate(Some(ip6("fd00:1::ff"))).unwrap(), ip6("fd00:1::ff"));
        assert_eq!(ipam.allocate(Some(ip6("fd00:1::ff"))).unwrap_err().to_string(), "Address already in use");
        assert!(matches!(ipam.allocate(Some(ip6("fd00:1::"))), Err(Error::AddressInUse)));
        // The last address is usable (no broadcast in IPv6).
        assert!(ipam.allocate(Some(ip6("fd00:1::ffff:ffff:ffff:ffff"))).is_ok());
        let err = ipam.allocate(Some(ip6("fd00:2::1"))).unwrap_err();
        assert_eq!(err.to_string(), "invalid address fd00:2::1: It does not belong to any of this network's subnets");
        assert_eq!(ipam.allocate(None).unwrap(), ip6("fd00:1::5"));
        // JSON round trip keeps the cursor.
        let json = serde_json::to_string(&ipam).unwrap();
        let mut back: NetworkIpam6 = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ipam);
        assert_eq!(back.allocate(None).unwrap(), ip6("fd00:1::6"));
    }

    #[test]
    fn ipv6_ranges_gateways_exhaustion_and_errors() {
        let mut ipam =
            NetworkIpam6::new(net6("fd00:1::/64"), Some(net6("fd00:1::100/126")), Some(ip6("fd00:1::1"))).unwrap();
        let got: Vec<String> = (0..4).map(|_| ipam.allocate(None).unwrap().to_string()).collect();
        assert_eq!(got, ["fd00:1::100", "fd00:1::101", "fd00:1::102", "fd00:1::103"]);
        let err = ipam.allocate(None).unwrap_err();
        assert_eq!(err.to_string(), "no available IPv6 addresses on this network's address pools");
        assert_eq!(
            err.with_network("v6net", "abc").to_string(),
            "no available IPv6 addresses on this network's address pools: v6net (abc)"
        );
        // Without --gateway, the range's first usable address.
        let ipam = NetworkIpam6::new(net6("fd00:1::/64"), Some(net6("fd00:1::/120")), None).unwrap();
        assert_eq!(ipam.gateway(), ip6("fd00:1::1"));
        let err =
            NetworkIpam6::new(net6("fd00:1::1/64"), Some(net6("fd00:9::/48")), Some(ip6("fd00:2::1"))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid network config:\n\
             invalid subnet fd00:1::1/64: it should be fd00:1::/64\n\
             invalid ip-range fd00:9::/48: CIDR block is bigger than its parent subnet fd00:1::1/64\n\
             invalid ip-range fd00:9::/48: parent subnet fd00:1::1/64 doesn't contain ip-range\n\
             invalid gateway fd00:2::1: parent subnet fd00:1::1/64 doesn't contain this address"
        );
        // /127: one usable address (the gateway); /128: none.
        let mut p2p = NetworkIpam6::new(net6("fd00:3::/127"), None, None).unwrap();
        assert_eq!(p2p.gateway(), ip6("fd00:3::1"));
        assert!(p2p.allocate(None).is_err());
        assert!(matches!(NetworkIpam6::new(net6("fd00:3::/128"), None, None), Err(Error::NoAvailableAddresses6(_))));
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
