//! Docker's single-host networking. The kernel-facing modules: IPAM, Linux bridges with veth
//! endpoints, macvlan endpoints, and nftables rules for isolation, masquerade and published
//! ports (no database, no HTTP). On top of them, [`service`]: the networks as records in the
//! daemon's database, their endpoints, and the embedded DNS (`wharf-dns`) per container.
//!
//! Everything here is synchronous. Namespace-bound work runs on short-lived threads that join
//! the namespace (see [`netns`]); no caller thread ever changes namespace. Every kernel
//! operation takes the [`NetNs`] to act in — the daemon passes [`NetNs::Current`] for the host
//! side, tests pass a scratch namespace.
//!
//! Container start, per network, in order (first network = `eth0` + default route):
//! 1. once per network: [`ensure_bridge`] (gateway address from [`NetworkIpam::gateway_cidr`]),
//!    [`Nat::add_network`]; once per daemon: [`enable_ip_forward`];
//! 2. [`NetworkIpam::allocate`] the address (persist the state);
//! 3. after the runtime has created the container's network namespace (init pid known) and
//!    before the workload runs: [`attach_veth`] (or [`attach_macvlan`]);
//! 4. [`Nat::add_endpoint`] for its published ports (plus the caller's userland proxy for
//!    127.0.0.1).
//!
//! Stop, in reverse: [`Nat::remove_endpoint`], [`detach_veth`], [`NetworkIpam::release`].
//! Network removal: [`Nat::remove_network`], [`delete_bridge`]. Daemon stop: [`Nat::flush_all`].
//!
//! With a real Docker on the same host, [`DockerUser`] keeps Docker's `FORWARD` policy from
//! dropping our bridges' traffic: tagged rules in Docker's `DOCKER-USER` chain (the one place
//! where the daemon writes outside its own table), ensured beside [`Nat::add_network`] and
//! at container start, removed beside [`Nat::remove_network`] and [`Nat::flush_all`].
//!
//! IPv6 networks add, beside each IPv4 step: a [`NetworkIpam6`] (subnet given or from
//! [`ula_pool`]), the bridge's `address6`, [`enable_ipv6_forward`], the endpoint's `address6`
//! and `gateway6`, and the `subnet6`/`address6` of the rules — all in the one `inet` table.

mod bridge;
mod docker_compat;
mod error;
pub mod ipam;
mod link;
mod macvlan;
mod nat;
pub mod netns;
pub mod service;

pub use bridge::{
    attach_veth, delete_bridge, detach_veth, enable_ip_forward, enable_ipv6_forward, ensure_bridge, link_exists,
    BridgeConfig, EndpointConfig, PortOptions, VethAttachment,
};
pub use docker_compat::{DockerUser, DockerUserPass, DOCKER_USER};
pub use error::{Error, Result};
pub use ipam::{
    allocate_subnet, allocate_subnet6, check_subnet, check_subnet6, default_pools, mac_from_ipv4, ula_pool, Ipv4Net,
    Ipv6Net, MacAddr, NetworkIpam, NetworkIpam6, PoolSpec, PoolSpec6, DEFAULT_BRIDGE_SUBNET,
};
pub use macvlan::{attach_macvlan, detach_macvlan};
pub use nat::{EndpointRules, Nat, NetworkRules, PortMapping, Protocol, MAX_ID_LEN};
pub use netns::NetNs;
