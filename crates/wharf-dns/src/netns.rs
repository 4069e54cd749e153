//! Sockets bound inside another network namespace.
//!
//! A socket keeps the network namespace it was created in, whatever thread later uses it. So a
//! short-lived, dedicated std thread enters the container's namespace (`setns(CLONE_NEWNET)`),
//! brings `lo` up if it is down, binds, and hands the sockets back before it exits. A tokio
//! worker (or any long-lived thread) never changes namespace.

use std::fs::File;
use std::io;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::thread;

use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};

/// Binds a UDP socket and a TCP listener on `addr` inside the network namespace `netns` (a
/// `/proc/<pid>/ns/net` link or a bind mount of one), both non-blocking.
pub(crate) fn bind_in_netns(netns: &Path, addr: SocketAddr) -> io::Result<(UdpSocket, TcpListener)> {
    let ns = File::open(netns).map_err(|e| context(e, format!("open {}", netns.display())))?;
    let shown = netns.display().to_string();
    thread::Builder::new()
        .name("wharf-dns-netns".into())
        .spawn(move || -> io::Result<(UdpSocket, TcpListener)> {
            move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network))
                .map_err(|e| context(e.into(), format!("setns {shown}")))?;
            loopback_up().map_err(|e| context(e, format!("bring lo up in {shown}")))?;
            let udp = UdpSocket::bind(addr).map_err(|e| context(e, format!("bind udp {addr} in {shown}")))?;
            // std sets SO_REUSEADDR on listeners, so a restart binds again at once.
            let tcp = TcpListener::bind(addr).map_err(|e| context(e, format!("bind tcp {addr} in {shown}")))?;
            udp.set_nonblocking(true)?;
            tcp.set_nonblocking(true)?;
            Ok((udp, tcp))
        })?
        .join()
        .map_err(|_| io::Error::other("netns thread panicked"))?
}

fn context(err: io::Error, what: String) -> io::Error {
    io::Error::new(err.kind(), format!("{what}: {err}"))
}

/// Sets `IFF_UP` on `lo` in the calling thread's network namespace when it is not set.
fn loopback_up() -> io::Result<()> {
    // SAFETY: plain socket(2); the result is checked before it is owned.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a fresh descriptor that nothing else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the name and writes `ifru_flags` of a valid ifreq.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    if flags & libc::IFF_UP as libc::c_short != 0 {
        return Ok(());
    }
    req.ifr_ifru.ifru_flags = flags | libc::IFF_UP as libc::c_short;
    // SAFETY: SIOCSIFFLAGS reads a valid ifreq.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
