//! The `bridge` driver's kernel side: the Linux bridge itself (created idempotently with its
//! gateway address, MTU and up), `net.ipv4.ip_forward`, and endpoints — a veth pair whose host
//! end (`veth` + 7 hex digits, as Docker names it) is a bridge port and whose peer becomes
//! `eth0` (or `ethN`) inside the container's namespace with its MAC, address and routes.
//!
//! IPv6 (`--ipv6` networks): the bridge gets the IPv6 gateway address too, and the container's
//! interface its IPv6 address (both without duplicate address detection, so they are usable at
//! once) and, on the gateway network, the IPv6 default route; IPv6 is enabled on the interface
//! (`net.ipv6.conf.<if>.disable_ipv6=0`). On IPv4-only networks it is disabled on the
//! container's interface, as dockerd does since 26.0.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;

use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth};
use rtnetlink::{LinkBridge, LinkBridgePort, LinkMessageBuilder, LinkUnspec, LinkVeth};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ipam::{mac_from_ipv4, Ipv4Net, Ipv6Net, MacAddr};
use crate::link::{self, check_ifname, EndpointAddrs, EEXIST};
use crate::netns::{self, NetNs};

/// A bridge to ensure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeConfig {
    /// Interface name (`docker0`, `br-<12 hex of the network id>`), at most 15 bytes.
    pub name: String,
    /// The gateway address with the subnet's prefix length, e.g. `172.18.0.1/16`.
    pub address: Ipv4Net,
    /// MTU (`com.docker.network.driver.mtu`); `None` keeps the kernel's default.
    pub mtu: Option<u32>,
    /// The IPv6 gateway address with the subnet's prefix length (`--ipv6` networks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address6: Option<Ipv6Net>,
}

/// Makes sure the bridge exists, carries `address` (and `address6`, with IPv6 enabled on it)
/// and is up; sets the MTU when one is given.
/// Idempotent: an existing bridge is reused (other addresses on it are left alone); an
/// existing link of that name that is not a bridge is an [`Error::LinkConflict`].
pub fn ensure_bridge(ns: &NetNs, cfg: &BridgeConfig) -> Result<()> {
    check_ifname(&cfg.name)?;
    let (name, address, mtu, address6) = (cfg.name.as_str(), cfg.address, cfg.mtu, cfg.address6);
    let index = netns::netlink(ns, |h| async move {
        let existing = match link::get(&h, name).await? {
            Some(l) => Some(l),
            None => {
                let mut msg = LinkBridge::new(name);
                if let Some(m) = mtu {
                    msg = msg.mtu(m);
                }
                match h.link().add(msg.build()).execute().await {
                    Ok(()) => None,
                    Err(e) => {
                        let e = Error::netlink(format!("create bridge {name}"), e);
                        if e.errno() != Some(EEXIST) {
                            return Err(e);
                        }
                        None // created concurrently: checked below
                    }
                }
            }
        };
        let link = match existing {
            Some(l) => l,
            None => link::get(&h, name)
                .await?
                .ok_or_else(|| Error::LinkNotFound(format!("bridge {name} vanished after its creation")))?,
        };
        if link::kind(&link) != Some(&InfoKind::Bridge) {
            return Err(Error::LinkConflict(format!("interface {name} exists and is not a bridge")));
        }
        let index = link.header.index;
        if let Some(m) = mtu {
            if link::mtu(&link) != Some(m) {
                h.link()
                    .set(LinkUnspec::new_with_index(index).mtu(m).build())
                    .execute()
                    .await
                    .map_err(|e| Error::netlink(format!("set mtu {m} on {name}"), e))?;
            }
        }
        link::ensure_addr(&h, index, IpAddr::V4(address.addr()), address.prefix(), name).await?;
        link::up(&h, index, name).await?;
        Ok(index)
    })?;
    if let Some(a6) = address6 {
        set_ipv6(ns, name, true)?;
        netns::netlink(
            ns,
            |h| async move { link::ensure_addr(&h, index, IpAddr::V6(a6.addr()), a6.prefix(), name).await },
        )?;
    }
    Ok(())
}

/// Enables (or disables) IPv6 on interface `ifname` in `ns`
/// (`net.ipv6.conf.<if>.disable_ipv6`). Disabling on a kernel without IPv6 is a no-op.
pub(crate) fn set_ipv6(ns: &NetNs, ifname: &str, enable: bool) -> Result<()> {
    check_ifname(ifname)?;
    let key = format!("net.ipv6.conf.{}.disable_ipv6", ifname.replace('.', "/"));
    let want = if enable { "0" } else { "1" };
    match netns::read_sysctl(ns, &key) {
        Ok(v) if v == want => return Ok(()),
        Err(e) if !enable && e.errno() == Some(libc::ENOENT) => return Ok(()),
        _ => {}
    }
    netns::write_sysctl(ns, &key, want).map_err(|e| {
        let what = if enable { "enable" } else { "disable" };
        Error::io(
            format!("failed to {what} IPv6 on interface {ifname}"),
            std::io::Error::from_raw_os_error(e.errno().unwrap_or(libc::EIO)),
        )
    })
}

/// Sets `net.ipv6.conf.all.forwarding=1` (and `default`) in `ns`, as dockerd does when it
/// creates an IPv6 bridge network, so IPv6 is routed between the bridges and the outside.
pub fn enable_ipv6_forward(ns: &NetNs) -> Result<()> {
    for key in ["net.ipv6.conf.default.forwarding", "net.ipv6.conf.all.forwarding"] {
        if netns::read_sysctl(ns, key)? != "1" {
            netns::write_sysctl(ns, key, "1")?;
        }
    }
    Ok(())
}

/// Deletes the bridge (its ports are released, not deleted). Returns whether it existed.
pub fn delete_bridge(ns: &NetNs, name: &str) -> Result<bool> {
    check_ifname(name)?;
    netns::netlink(ns, |h| async move { link::delete_by_name(&h, name).await })
}

/// Whether a link called `name` exists in `ns`.
pub fn link_exists(ns: &NetNs, name: &str) -> Result<bool> {
    check_ifname(name)?;
    netns::netlink(ns, |h| async move { Ok(link::get(&h, name).await?.is_some()) })
}

/// Sets `net.ipv4.ip_forward=1` in `ns` (per namespace), as dockerd does at start when
/// `--ip-forward` is on.
pub fn enable_ip_forward(ns: &NetNs) -> Result<()> {
    if netns::read_sysctl(ns, "net.ipv4.ip_forward")? == "1" {
        return Ok(());
    }
    netns::write_sysctl(ns, "net.ipv4.ip_forward", "1")
}

/// How a container's interface is set up inside its namespace (veth peer or macvlan).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointConfig {
    /// The container's network namespace (`NetNs::Pid(init pid)` or its bind mount). Must not
    /// be [`NetNs::Current`].
    pub container: NetNs,
    /// The name inside the container: `eth0` for the first network, `eth1`… for the next.
    pub ifname: String,
    /// The endpoint's address with the subnet's prefix length, e.g. `172.18.0.2/16`.
    pub address: Ipv4Net,
    /// The MAC; `None` derives Docker's `02:42:<address bytes>`.
    pub mac: Option<MacAddr>,
    /// `Some(gateway)` adds the default route via it: only for the container's gateway
    /// network (the first one, Docker's default), never for internal networks.
    pub gateway: Option<Ipv4Addr>,
    /// MTU for both ends; `None` keeps the kernel's default (1500).
    pub mtu: Option<u32>,
    /// The endpoint's IPv6 address with the subnet's prefix length (`--ipv6` networks);
    /// `None`: IPv6 is disabled on the interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address6: Option<Ipv6Net>,
    /// `Some(gateway)` adds the IPv6 default route via it (with `address6`, on the same
    /// network as [`EndpointConfig::gateway`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway6: Option<Ipv6Addr>,
}

impl EndpointConfig {
    /// The MAC the interface gets.
    pub fn effective_mac(&self) -> MacAddr {
        self.mac.unwrap_or_else(|| mac_from_ipv4(self.address.addr()))
    }

    /// What the interface gets inside the container.
    pub(crate) fn addrs(&self) -> EndpointAddrs {
        EndpointAddrs {
            v4: (self.address.addr(), self.address.prefix()),
            gateway: self.gateway,
            v6: self.address6.map(|a| (a.addr(), a.prefix())),
            gateway6: self.gateway6,
        }
    }

    /// Inside the container: IPv6 on for an IPv6 endpoint, off otherwise (dockerd's
    /// `failed to disable IPv6 on container's interface` when that fails).
    pub(crate) fn apply_ipv6_setting(&self) -> Result<()> {
        set_ipv6(&self.container, &self.ifname, self.address6.is_some())
    }
}

/// Bridge-port flags of a veth's host end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortOptions {
    /// Hairpin mode: frames may leave through the port they came in on, so a container
    /// reaches its own published port through the host's address (dockerd sets it when the
    /// userland proxy is off).
    pub hairpin: bool,
    /// Port isolation: isolated ports cannot talk to each other, only to the bridge
    /// (gateway) — `icc=false` at layer 2, with no br_netfilter needed.
    pub isolated: bool,
}

/// A veth endpoint as created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VethAttachment {
    /// The host end's name (`veth` + 7 hex digits): remember it for [`detach_veth`].
    pub host_ifname: String,
    /// The container interface's MAC.
    pub mac: MacAddr,
}

/// Connects a container to a bridge: creates a veth pair in `host` whose peer is created
/// directly inside the container's namespace under `ep.ifname` (with its MAC and MTU),
/// enslaves the host end to `bridge` with `port`'s flags and brings it up; then, inside the
/// container, brings `lo` and the interface up, adds the address and (with a gateway) the
/// default route. On failure nothing is left behind.
pub fn attach_veth(host: &NetNs, bridge: &str, ep: &EndpointConfig, port: PortOptions) -> Result<VethAttachment> {
    check_ifname(bridge)?;
    check_ifname(&ep.ifname)?;
    let container = ep
        .container
        .open()?
        .ok_or_else(|| Error::InvalidArgument("an endpoint needs the container's network namespace".into()))?;
    let container_fd = container.as_raw_fd();
    let mac = ep.effective_mac();
    let (ifname, mtu) = (ep.ifname.as_str(), ep.mtu);

    let host_ifname = netns::netlink(host, |h| async move {
        let br =
            link::get(&h, bridge).await?.ok_or_else(|| Error::LinkNotFound(format!("bridge {bridge} not found")))?;
        if link::kind(&br) != Some(&InfoKind::Bridge) {
            return Err(Error::LinkConflict(format!("interface {bridge} is not a bridge")));
        }
        let mut attempts = 0;
        let name = loop {
            let name = link::random_name("veth", 7)?;
            let mut peer = LinkUnspec::new_with_name(ifname).address(mac.0.to_vec()).setns_by_fd(container_fd);
            let mut msg = LinkMessageBuilder::<LinkVeth>::new_with_info_kind(InfoKind::Veth)
                .name(name.clone())
                .controller(br.header.index);
            if let Some(m) = mtu {
                peer = peer.mtu(m);
                msg = msg.mtu(m);
            }
            let msg = msg.set_info_data(InfoData::Veth(InfoVeth::Peer(peer.build()))).build();
            match h.link().add(msg).execute().await {
                Ok(()) => break name,
                Err(e) => {
                    let e = Error::netlink(format!("create veth {name}"), e);
                    attempts += 1;
                    if e.errno() != Some(EEXIST) {
                        return Err(e);
                    }
                    if link::get(&h, &name).await?.is_none() {
                        return Err(Error::LinkConflict(format!("interface {ifname} already exists in the container")));
                    }
                    if attempts >= 5 {
                        return Err(e);
                    }
                }
            }
        };
        let result = async {
            let index = link::index(&h, &name).await?;
            if port.hairpin || port.isolated {
                h.link()
                    .set_port(LinkBridgePort::new(index).hairpin(port.hairpin).isolated(port.isolated).build())
                    .execute()
                    .await
                    .map_err(|e| Error::netlink(format!("set bridge port flags of {name}"), e))?;
            }
            link::up(&h, index, &name).await
        }
        .await;
        if let Err(e) = result {
            let _ = link::delete_by_name(&h, &name).await;
            return Err(e);
        }
        Ok(name)
    })?;

    let (addr, addrs) = (ep.address.addr(), ep.addrs());
    let configured = ep.apply_ipv6_setting().and_then(|()| {
        netns::netlink(&ep.container, |h| async move { link::configure_endpoint(&h, ifname, addrs).await })
    });
    drop(container);
    if let Err(e) = configured {
        if let Err(cleanup) = detach_veth(host, &host_ifname) {
            tracing::warn!(veth = %host_ifname, error = %cleanup, "could not remove a half-attached endpoint");
        }
        return Err(e);
    }
    tracing::debug!(bridge, veth = %host_ifname, ifname, %addr, "endpoint attached");
    Ok(VethAttachment { host_ifname, mac })
}

/// Removes a veth endpoint by its host end (the peer inside the container goes with it).
/// Returns whether it existed; a container whose namespace died already took the pair along.
pub fn detach_veth(host: &NetNs, host_ifname: &str) -> Result<bool> {
    check_ifname(host_ifname)?;
    netns::netlink(host, |h| async move { link::delete_by_name(&h, host_ifname).await })
}
