//! The `macvlan` driver's kernel side: a macvlan link in bridge mode on a host parent
//! interface, created directly inside the container's namespace under its final name, with
//! its MAC, address and (optionally) default route.

use netlink_packet_route::link::MacVlanMode;
use rtnetlink::LinkMacVlan;
use std::os::fd::AsRawFd;

use crate::bridge::EndpointConfig;
use crate::error::{Error, Result};
use crate::ipam::MacAddr;
use crate::link::{self, check_ifname, EEXIST};
use crate::netns::{self, NetNs};

/// Creates the container's macvlan interface on `parent` (a link in `host`) and configures it
/// inside `ep.container`. Returns the interface's MAC. On failure nothing is left behind.
///
/// Errors: dockerd's `-o parent interface was not found on the host: <parent>` when the parent
/// does not exist.
pub fn attach_macvlan(host: &NetNs, parent: &str, ep: &EndpointConfig) -> Result<MacAddr> {
    check_ifname(parent)?;
    check_ifname(&ep.ifname)?;
    let container = ep
        .container
        .open()?
        .ok_or_else(|| Error::InvalidArgument("an endpoint needs the container's network namespace".into()))?;
    let container_fd = container.as_raw_fd();
    let mac = ep.effective_mac();
    let (ifname, mtu) = (ep.ifname.as_str(), ep.mtu);

    netns::netlink(host, |h| async move {
        let parent_index = match link::get(&h, parent).await? {
            Some(l) => l.header.index,
            None => {
                return Err(Error::LinkNotFound(format!("-o parent interface was not found on the host: {parent}")))
            }
        };
        let mut msg = LinkMacVlan::new(ifname, parent_index, MacVlanMode::Bridge)
            .address(mac.0.to_vec())
            .setns_by_fd(container_fd);
        if let Some(m) = mtu {
            msg = msg.mtu(m);
        }
        h.link().add(msg.build()).execute().await.map_err(|e| {
            let e = Error::netlink(format!("create macvlan {ifname} on {parent}"), e);
            if e.errno() == Some(EEXIST) {
                Error::LinkConflict(format!("interface {ifname} already exists in the container"))
            } else {
                e
            }
        })
    })?;

    let (addr, addrs) = (ep.address.addr(), ep.addrs());
    let configured = ep.apply_ipv6_setting().and_then(|()| {
        netns::netlink(&ep.container, |h| async move { link::configure_endpoint(&h, ifname, addrs).await })
    });
    drop(container);
    if let Err(e) = configured {
        if let Err(cleanup) = detach_macvlan(&ep.container, ifname) {
            tracing::warn!(ifname, error = %cleanup, "could not remove a half-attached macvlan endpoint");
        }
        return Err(e);
    }
    tracing::debug!(parent, ifname, %addr, "macvlan endpoint attached");
    Ok(mac)
}

/// Deletes the container's macvlan interface. Returns whether it existed (it also disappears
/// with the container's namespace).
pub fn detach_macvlan(container: &NetNs, ifname: &str) -> Result<bool> {
    check_ifname(ifname)?;
    netns::netlink(container, |h| async move { link::delete_by_name(&h, ifname).await })
}
