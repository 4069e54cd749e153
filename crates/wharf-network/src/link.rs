//! Small rtnetlink steps shared by the drivers: look a link up, bring it up, add an address
//! (IPv6 ones without duplicate address detection, as dockerd adds them, so they are usable at
//! once) or a default route, delete a link, configure an endpoint interface inside a container.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures_util::TryStreamExt;
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressHeaderFlags};
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage};
use rtnetlink::{Handle, LinkUnspec, RouteMessageBuilder};

use crate::error::{Error, Result};

pub(crate) const ENODEV: i32 = libc::ENODEV;
pub(crate) const EEXIST: i32 = libc::EEXIST;

/// Linux's interface name limit (IFNAMSIZ - 1).
pub(crate) const MAX_IFNAME: usize = 15;

/// Checks an interface name as the kernel would (`dev_valid_name`).
pub(crate) fn check_ifname(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_IFNAME
        && name != "."
        && name != ".."
        && !name.bytes().any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0);
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!("invalid interface name {name:?}")))
    }
}

/// The link called `name`, or `None` when there is none.
pub(crate) async fn get(h: &Handle, name: &str) -> Result<Option<LinkMessage>> {
    match h.link().get().match_name(name).execute().try_next().await {
        Ok(msg) => Ok(msg),
        Err(e) => {
            let e = Error::netlink(format!("look up link {name}"), e);
            if e.errno() == Some(ENODEV) {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

/// The index of the link called `name`, or [`Error::LinkNotFound`].
pub(crate) async fn index(h: &Handle, name: &str) -> Result<u32> {
    match get(h, name).await? {
        Some(l) => Ok(l.header.index),
        None => Err(Error::LinkNotFound(format!("no such interface: {name}"))),
    }
}

/// The link's kind (`bridge`, `veth`, …) if it reports one.
pub(crate) fn kind(link: &LinkMessage) -> Option<&InfoKind> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
            LinkInfo::Kind(k) => Some(k),
            _ => None,
        }),
        _ => None,
    })
}

/// The link's MTU.
pub(crate) fn mtu(link: &LinkMessage) -> Option<u32> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::Mtu(m) => Some(*m),
        _ => None,
    })
}

/// Sets the link up.
pub(crate) async fn up(h: &Handle, index: u32, what: &str) -> Result<()> {
    h.link()
        .set(LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .map_err(|e| Error::netlink(format!("set {what} up"), e))
}

/// Deletes the link by index; a link that vanished meanwhile is not an error.
pub(crate) async fn delete(h: &Handle, index: u32, what: &str) -> Result<()> {
    match h.link().del(index).execute().await {
        Ok(()) => Ok(()),
        Err(e) => {
            let e = Error::netlink(format!("delete {what}"), e);
            if e.errno() == Some(ENODEV) {
                Ok(())
            } else {
                Err(e)
            }
        }
    }
}

/// Deletes the link called `name` if it exists. Returns whether it existed.
pub(crate) async fn delete_by_name(h: &Handle, name: &str) -> Result<bool> {
    match get(h, name).await? {
        Some(l) => delete(h, l.header.index, name).await.map(|()| true),
        None => Ok(false),
    }
}

/// The addresses (with prefix lengths) of the link, of both families.
pub(crate) async fn addrs(h: &Handle, index: u32) -> Result<Vec<(IpAddr, u8)>> {
    let mut out = Vec::new();
    let mut stream = h.address().get().set_link_index_filter(index).execute();
    while let Some(msg) = stream.try_next().await.map_err(|e| Error::netlink("list addresses", e))? {
        if msg.header.index != index {
            continue;
        }
        // IPv6 addresses carry only `Address`; IPv4 ones `Local` (and `Address`, the peer).
        let local = msg.attributes.iter().find_map(|a| match a {
            AddressAttribute::Local(ip) => Some(*ip),
            _ => None,
        });
        let address = msg.attributes.iter().find_map(|a| match a {
            AddressAttribute::Address(ip) => Some(*ip),
            _ => None,
        });
        if let Some(ip) = local.or(address) {
            out.push((ip, msg.header.prefix_len));
        }
    }
    Ok(out)
}

/// Adds `ip/prefix` to the link unless it is already there; an IPv6 address is added with
/// `nodad` (no duplicate address detection: usable at once, as dockerd adds them).
pub(crate) async fn ensure_addr(h: &Handle, index: u32, ip: IpAddr, prefix: u8, what: &str) -> Result<()> {
    if addrs(h, index).await?.contains(&(ip, prefix)) {
        return Ok(());
    }
    let mut req = h.address().add(index, ip, prefix);
    if ip.is_ipv6() {
        let msg = req.message_mut();
        msg.header.flags = AddressHeaderFlags::Nodad;
        msg.attributes.push(AddressAttribute::Flags(AddressFlags::Nodad));
    }
    match req.execute().await {
        Ok(()) => Ok(()),
        Err(e) => {
            let e = Error::netlink(format!("add address {ip}/{prefix} to {what}"), e);
            if e.errno() == Some(EEXIST) {
                Ok(())
            } else {
                Err(e)
            }
        }
    }
}

/// Adds the default route via `gateway` out of the link.
pub(crate) async fn add_default_route(h: &Handle, index: u32, gateway: Ipv4Addr) -> Result<()> {
    let route = RouteMessageBuilder::<Ipv4Addr>::new().gateway(gateway).output_interface(index).build();
    h.route().add(route).execute().await.map_err(|e| Error::netlink(format!("add default route via {gateway}"), e))
}

/// Adds the IPv6 default route via `gateway` out of the link.
pub(crate) async fn add_default_route6(h: &Handle, index: u32, gateway: Ipv6Addr) -> Result<()> {
    let route = RouteMessageBuilder::<Ipv6Addr>::new().gateway(gateway).output_interface(index).build();
    h.route().add(route).execute().await.map_err(|e| Error::netlink(format!("add default route via {gateway}"), e))
}

/// What [`configure_endpoint`] sets on a container's interface.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EndpointAddrs {
    /// The IPv4 address and prefix length.
    pub(crate) v4: (Ipv4Addr, u8),
    /// The IPv4 default route's gateway, if any.
    pub(crate) gateway: Option<Ipv4Addr>,
    /// The IPv6 address and prefix length, if any.
    pub(crate) v6: Option<(Ipv6Addr, u8)>,
    /// The IPv6 default route's gateway, if any.
    pub(crate) gateway6: Option<Ipv6Addr>,
}

/// Inside a container's namespace: brings `lo` and `ifname` up, adds the addresses and, with
/// gateways, the default routes. (IPv6 must already be enabled on the interface when it gets
/// an IPv6 address: see [`crate::bridge`].)
pub(crate) async fn configure_endpoint(h: &Handle, ifname: &str, a: EndpointAddrs) -> Result<()> {
    let lo = index(h, "lo").await?;
    up(h, lo, "lo").await?;
    let idx = index(h, ifname).await?;
    ensure_addr(h, idx, IpAddr::V4(a.v4.0), a.v4.1, ifname).await?;
    if let Some((ip, prefix)) = a.v6 {
        ensure_addr(h, idx, IpAddr::V6(ip), prefix, ifname).await?;
    }
    up(h, idx, ifname).await?;
    if let Some(gw) = a.gateway {
        add_default_route(h, idx, gw).await?;
    }
    if let (Some(gw), Some(_)) = (a.gateway6, a.v6) {
        add_default_route6(h, idx, gw).await?;
    }
    Ok(())
}

/// `prefix` followed by `n` random lowercase hex digits (Docker's `veth1a2b3c4`).
pub(crate) fn random_name(prefix: &str, n: usize) -> Result<String> {
    let mut buf = vec![0u8; n.div_ceil(2)];
    let mut filled = 0;
    while filled < buf.len() {
        // SAFETY: the pointer and length describe the unfilled tail of `buf`.
        let r = unsafe { libc::getrandom(buf[filled..].as_mut_ptr().cast(), buf.len() - filled, 0) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(Error::io("getrandom", e));
        }
        filled += r as usize;
    }
    let hex: String = buf.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{prefix}{}", &hex[..n]))
}
