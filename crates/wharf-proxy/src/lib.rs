//! wharf's userland port proxy — the counterpart of Docker's `docker-proxy`.
//!
//! The `wharf-proxy` binary forwards one published port of one container: it binds the host
//! address itself, reports on a readiness pipe (`--ready-fd N`: one line, `ok` or the error
//! text), then serves until SIGTERM/SIGINT. TCP connections are copied both ways with
//! half-close propagation; UDP datagrams go through a per-client table of upstream sockets
//! that expire after 90 s idle. The daemon starts one proxy per published port (so loopback
//! clients, which nftables DNAT cannot reach, still get through) in its own session, so the
//! proxy outlives a daemon crash.
//!
//! This library is the daemon's side of that contract, shared with the binary:
//! - [`ProxySpec`] / [`Args`]: the command line (`-proto tcp -host-ip 0.0.0.0 -host-port 8080
//!   -container-ip 172.18.0.2 -container-port 80 --ready-fd 3`), built with
//!   [`Args::to_args`] and parsed with [`Args::parse`] (both `-flag` and `--flag`, and
//!   `-flag=value`, as Go's `flag` package accepts).
//! - [`ready`]: the readiness line and the Go-style listen error texts the proxy writes.
//! - [`spawn`]: start a proxy detached (new session, the pipe on a fresh fd) and wait for its
//!   readiness line; a bind failure comes back as Docker's text
//!   (`failed to bind host port for 0.0.0.0:8080:172.18.0.2:80/tcp: address already in use`).
//! - [`port_already_allocated`]: dockerd's text for a port its own allocator already holds.

mod launch;
pub mod ready;
mod spec;

pub use launch::{spawn, Error, READY_TIMEOUT};
pub use spec::{Args, ArgsError, Proto, ProxySpec, UDP_IDLE_TIMEOUT};

use std::net::IpAddr;

/// dockerd's portallocator text for a host port that is already mapped by the daemon
/// (`ErrPortAlreadyAllocated`): `Bind for 0.0.0.0:8080 failed: port is already allocated`.
/// The address is printed as Go prints a `net.IP` (no brackets: `Bind for :::80 failed: …`).
pub fn port_already_allocated(host_ip: IpAddr, host_port: u16) -> String {
    format!("Bind for {host_ip}:{host_port} failed: port is already allocated")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn already_allocated_text_is_dockerd_s() {
        assert_eq!(
            port_already_allocated("0.0.0.0".parse().unwrap(), 8080),
            "Bind for 0.0.0.0:8080 failed: port is already allocated"
        );
        assert_eq!(
            port_already_allocated("::".parse().unwrap(), 80),
            "Bind for :::80 failed: port is already allocated"
        );
    }
}
