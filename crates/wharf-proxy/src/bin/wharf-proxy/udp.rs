//! UDP forwarding, one thread and one epoll: a NAT table keyed by client address. A client's
//! first datagram opens an upstream socket connected to the container; the container's
//! replies on it go back to that client from the address the client sent to. An entry without
//! traffic in either direction for the idle timeout (docker-proxy's 90 s) is dropped.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::sys::{recv_with_dst, send_from, Poller, LISTENER, SIGNAL};

/// Largest UDP payload (IPv4's 65 507 bytes, IPv6's 65 527) fits.
const MAX_DATAGRAM: usize = 65_535;

/// One client's entry.
struct Flow {
    client: SocketAddr,
    /// Where the client sent to: the source of the replies.
    local: Option<IpAddr>,
    upstream: UdpSocket,
    last: Instant,
}

/// The NAT table.
struct Nat {
    backend: SocketAddr,
    by_client: HashMap<SocketAddr, u64>,
    flows: HashMap<u64, Flow>,
    next_token: u64,
}

impl Nat {
    /// The token of `client`'s flow, opening one (upstream socket connected to the container,
    /// watched by `poller`) for a new client.
    fn flow_for(&mut self, poller: &Poller, client: SocketAddr, local: Option<IpAddr>) -> io::Result<u64> {
        if let Some(token) = self.by_client.get(&client) {
            return Ok(*token);
        }
        let any: IpAddr =
            if self.backend.is_ipv4() { Ipv4Addr::UNSPECIFIED.into() } else { Ipv6Addr::UNSPECIFIED.into() };
        let upstream = UdpSocket::bind((any, 0))?;
        upstream.connect(self.backend)?;
        upstream.set_nonblocking(true)?;
        let token = self.next_token;
        self.next_token += 1;
        poller.add(&upstream, token)?;
        self.by_client.insert(client, token);
        self.flows.insert(token, Flow { client, local, upstream, last: Instant::now() });
        Ok(token)
    }

    fn remove(&mut self, poller: &Poller, token: u64) {
        if let Some(flow) = self.flows.remove(&token) {
            poller.delete(&flow.upstream);
            self.by_client.remove(&flow.client);
        }
    }

    /// Drops the flows idle for `idle` or longer.
    fn expire(&mut self, poller: &Poller, now: Instant, idle: Duration) {
        let stale: Vec<u64> =
            self.flows.iter().filter(|(_, f)| now.duration_since(f.last) >= idle).map(|(t, _)| *t).collect();
        for token in stale {
            self.remove(poller, token);
        }
    }
}

/// Serves until SIGTERM/SIGINT (`Ok`) or an unrecoverable socket error. `poller` already
/// watches the signals ([`SIGNAL`]) and the host socket ([`LISTENER`]).
pub fn serve(mut poller: Poller, socket: OwnedFd, backend: SocketAddr, idle: Duration) -> io::Result<()> {
    let listener = UdpSocket::from(socket);
    let mut nat = Nat { backend, by_client: HashMap::new(), flows: HashMap::new(), next_token: LISTENER + 1 };
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut ready = Vec::new();
    // Expiry is checked every quarter of the timeout (at most every 5 s), and only while the
    // table has entries: an idle proxy never wakes up.
    let sweep_every = (idle / 4).clamp(Duration::from_millis(10), Duration::from_secs(5));
    let mut next_sweep: Option<Instant> = None;
    loop {
        let timeout = next_sweep.map(|t| t.saturating_duration_since(Instant::now()));
        poller.wait(timeout, &mut ready)?;
        for &token in &ready {
            match token {
                SIGNAL => return Ok(()),
                LISTENER => from_clients(&listener, &poller, &mut nat, &mut buf)?,
                token => from_container(&listener, &poller, &mut nat, token, &mut buf),
            }
        }
        let now = Instant::now();
        if nat.flows.is_empty() {
            next_sweep = None;
        } else if next_sweep.is_none_or(|t| now >= t) {
            if next_sweep.is_some() {
                nat.expire(&poller, now, idle);
            }
            next_sweep = (!nat.flows.is_empty()).then(|| now + sweep_every);
        }
    }
}

/// Drains the host socket: each datagram goes up its client's flow.
fn from_clients(listener: &UdpSocket, poller: &Poller, nat: &mut Nat, buf: &mut [u8]) -> io::Result<()> {
    loop {
        let got = match recv_with_dst(listener.as_fd(), buf) {
            Ok(got) => got,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            // An ICMP error for an earlier reply, or a signal: nothing lost, read on.
            Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::ConnectionRefused) => continue,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => continue,
            Err(e) => return Err(e),
        };
        let token = match nat.flow_for(poller, got.from, got.to) {
            Ok(token) => token,
            Err(e) => {
                eprintln!("wharf-proxy: can't proxy a datagram to udp/{}: {e}", nat.backend);
                continue;
            }
        };
        let Some(flow) = nat.flows.get_mut(&token) else { continue };
        flow.last = Instant::now();
        if got.to.is_some() {
            flow.local = got.to;
        }
        let data = &buf[..got.len];
        // A refused earlier datagram (ICMP port unreachable) is reported on the next send;
        // that send itself did not go out, so try it once more.
        let sent = match flow.upstream.send(data) {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => flow.upstream.send(data),
            other => other,
        };
        if let Err(e) = sent {
            if e.kind() != io::ErrorKind::WouldBlock && e.kind() != io::ErrorKind::ConnectionRefused {
                eprintln!("wharf-proxy: can't proxy a datagram to udp/{}: {e}", nat.backend);
            }
        }
    }
}

/// Drains one flow's upstream socket back to its client.
fn from_container(listener: &UdpSocket, poller: &Poller, nat: &mut Nat, token: u64, buf: &mut [u8]) {
    let Some(flow) = nat.flows.get_mut(&token) else { return };
    loop {
        let n = match flow.upstream.recv(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            // Nothing listens in the container (yet): keep the entry until it times out.
            Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::ConnectionRefused) => continue,
            Err(e) => {
                eprintln!("wharf-proxy: udp/{}: {e}", nat.backend);
                nat.remove(poller, token);
                return;
            }
        };
        flow.last = Instant::now();
        let data = &buf[..n];
        let sent = match send_from(listener.as_fd(), data, flow.client, flow.local) {
            // The client sent to an address we cannot send from (broadcast): let the kernel pick.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && flow.local.is_some() => {
                flow.local = None;
                send_from(listener.as_fd(), data, flow.client, None)
            }
            other => other,
        };
        if let Err(e) = sent {
            if e.kind() != io::ErrorKind::WouldBlock {
                eprintln!("wharf-proxy: can't reply to udp/{}: {e}", flow.client);
            }
        }
    }
}
