//! The kernel-facing pieces of the proxy: signal setup, the readiness pipe, binding the host
//! address as Go's `net.Listen` does, epoll, and UDP with `IP_PKTINFO` (replies leave from
//! the address the client sent to, as docker-proxy's do).

use std::fs::File;
use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

use rustix::buffer::spare_capacity;
use rustix::event::epoll;
use rustix::net::{sockopt, AddressFamily, SocketFlags, SocketType};
use wharf_proxy::{ready, Proto, ProxySpec};

/// SIGHUP and SIGPIPE are ignored: the proxy has no terminal to lose and reports write
/// errors itself.
pub fn ignore_signals() {
    // SAFETY: setting a disposition to SIG_IGN installs no handler.
    unsafe {
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

fn stop_set() -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set before sigaddset reads it.
    unsafe {
        let mut set: libc::sigset_t = zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        set
    }
}

/// Blocks SIGTERM and SIGINT in this thread (and so in every thread spawned later): they are
/// then only received through [`stop_signals`]. Opens no descriptor.
pub fn block_stop_signals() -> io::Result<()> {
    let set = stop_set();
    // SAFETY: `set` is an initialised signal set.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

/// A signalfd that becomes readable on SIGTERM or SIGINT (blocked by [`block_stop_signals`]).
pub fn stop_signals() -> io::Result<OwnedFd> {
    let set = stop_set();
    // SAFETY: a new descriptor is returned or -1.
    let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Takes ownership of the inherited readiness descriptor `fd`, checking that it is open. Must
/// run before this process opens any descriptor, so that a stale number cannot name one of
/// ours.
pub fn ready_pipe(fd: i32) -> io::Result<File> {
    // SAFETY: F_GETFD only queries the descriptor table.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the descriptor is open and was handed to this process to own.
    let file = unsafe { File::from_raw_fd(fd) };
    rustix::io::fcntl_setfd(&file, rustix::io::FdFlags::CLOEXEC)?;
    Ok(file)
}

/// Raises the soft open-files limit to the hard one (as the Go runtime does for docker-proxy):
/// each TCP connection holds two descriptors, each UDP client one.
pub fn raise_nofile_limit() {
    // SAFETY: getrlimit/setrlimit on a local struct.
    unsafe {
        let mut lim: libc::rlimit = zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Binds the host address of `spec` — a listening TCP socket (SO_REUSEADDR, backlog up to
/// `somaxconn`) or a UDP socket receiving `IP_PKTINFO` — non-blocking and close-on-exec, IPv6
/// sockets v6-only (Go's `tcp6`/`udp6`). The error is Go's text
/// (`listen tcp4 0.0.0.0:8080: bind: address already in use`).
pub fn bind(spec: &ProxySpec) -> Result<OwnedFd, String> {
    let addr = SocketAddr::new(spec.host_ip.to_canonical(), spec.host_port);
    let fail = |call: &str, e: rustix::io::Errno| ready::listen_error(spec.proto, addr, call, &e.into());
    let family = if addr.is_ipv4() { AddressFamily::INET } else { AddressFamily::INET6 };
    let kind = match spec.proto {
        Proto::Tcp => SocketType::STREAM,
        Proto::Udp => SocketType::DGRAM,
    };
    let fd = rustix::net::socket_with(family, kind, SocketFlags::CLOEXEC | SocketFlags::NONBLOCK, None)
        .map_err(|e| fail("socket", e))?;
    if addr.is_ipv6() {
        sockopt::set_ipv6_v6only(&fd, true).map_err(|e| fail("setsockopt", e))?;
    }
    match spec.proto {
        Proto::Tcp => sockopt::set_socket_reuseaddr(&fd, true).map_err(|e| fail("setsockopt", e))?,
        // No SO_REUSEADDR for UDP: it would let a second socket bind the same port.
        Proto::Udp => set_pktinfo(fd.as_fd(), addr.is_ipv4()).map_err(|e| fail("setsockopt", e))?,
    }
    rustix::net::bind(&fd, &addr).map_err(|e| fail("bind", e))?;
    if spec.proto == Proto::Tcp {
        // The kernel caps the backlog at net.core.somaxconn, which is what Go asks for.
        rustix::net::listen(&fd, 4096).map_err(|e| fail("listen", e))?;
    }
    Ok(fd)
}

fn set_pktinfo(fd: BorrowedFd<'_>, v4: bool) -> Result<(), rustix::io::Errno> {
    let (level, name) =
        if v4 { (libc::IPPROTO_IP, libc::IP_PKTINFO) } else { (libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO) };
    let on: libc::c_int = 1;
    // SAFETY: the option value is a c_int of the given size.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&on as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(rustix::io::Errno::from_io_error(&io::Error::last_os_error()).unwrap_or(rustix::io::Errno::INVAL));
    }
    Ok(())
}

/// The poll token of the stop signals.
pub const SIGNAL: u64 = 0;
/// The poll token of the host socket.
pub const LISTENER: u64 = 1;

/// Edge-triggered readiness for input and output: an event only when either becomes
/// possible again, so the owner must read or write until `WouldBlock`.
pub const EDGE: epoll::EventFlags = epoll::EventFlags::IN.union(epoll::EventFlags::OUT).union(epoll::EventFlags::ET);

/// epoll over descriptors named by a `u64` token.
pub struct Poller {
    epoll: OwnedFd,
    events: Vec<epoll::Event>,
}

impl Poller {
    pub fn new() -> io::Result<Poller> {
        Ok(Poller { epoll: epoll::create(epoll::CreateFlags::CLOEXEC)?, events: Vec::with_capacity(64) })
    }

    /// Watches `fd` for input (level-triggered).
    pub fn add(&self, fd: impl AsFd, token: u64) -> io::Result<()> {
        self.add_with(fd, token, epoll::EventFlags::IN)
    }

    /// Watches `fd` for `events`.
    pub fn add_with(&self, fd: impl AsFd, token: u64, events: epoll::EventFlags) -> io::Result<()> {
        epoll::add(&self.epoll, fd, epoll::EventData::new_u64(token), events)?;
        Ok(())
    }

    /// Stops watching `fd`.
    pub fn delete(&self, fd: impl AsFd) {
        let _ = epoll::delete(&self.epoll, fd);
    }

    /// Waits up to `timeout` (for ever with `None`) and puts the ready tokens in `out`
    /// (empty on timeout or EINTR).
    pub fn wait(&mut self, timeout: Option<Duration>, out: &mut Vec<u64>) -> io::Result<()> {
        out.clear();
        self.events.clear();
        let ts = timeout.map(|d| rustix::event::Timespec { tv_sec: d.as_secs() as _, tv_nsec: d.subsec_nanos() as _ });
        match epoll::wait(&self.epoll, spare_capacity(&mut self.events), ts.as_ref()) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        out.extend(self.events.iter().map(|e| {
            let data = e.data;
            data.u64()
        }));
        Ok(())
    }
}

/// A datagram received on the host socket.
pub struct Received {
    /// Its length.
    pub len: usize,
    /// The client.
    pub from: SocketAddr,
    /// The address the client sent it to (from `IP_PKTINFO`), the source of our replies.
    pub to: Option<IpAddr>,
}

/// `recvmsg` with the packet-info control message.
pub fn recv_with_dst(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<Received> {
    // SAFETY: every pointer in `msg` refers to a live local buffer of the stated length; the
    // control messages are walked with the CMSG macros within `msg_controllen`.
    unsafe {
        let mut name: libc::sockaddr_storage = zeroed();
        let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
        let mut control = [0u64; 16];
        let mut msg: libc::msghdr = zeroed();
        msg.msg_name = (&mut name as *mut libc::sockaddr_storage).cast();
        msg.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = size_of_val(&control) as _;
        let n = libc::recvmsg(fd.as_raw_fd(), &mut msg, 0);
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let from = from_sockaddr(&name).ok_or_else(|| io::Error::from(io::ErrorKind::InvalidData))?;
        let mut to = None;
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let (level, kind) = ((*cmsg).cmsg_level, (*cmsg).cmsg_type);
            if level == libc::IPPROTO_IP && kind == libc::IP_PKTINFO {
                let info: libc::in_pktinfo = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                to = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr))));
            } else if level == libc::IPPROTO_IPV6 && kind == libc::IPV6_PKTINFO {
                let info: libc::in6_pktinfo = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                to = Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
        Ok(Received { len: n as usize, from, to })
    }
}

/// `sendmsg` to `to`, from source address `src` when given (a packet-info control message).
pub fn send_from(fd: BorrowedFd<'_>, buf: &[u8], to: SocketAddr, src: Option<IpAddr>) -> io::Result<usize> {
    // SAFETY: as in `recv_with_dst`; the one control message fits the aligned local buffer.
    unsafe {
        let (mut name, namelen) = to_sockaddr(to);
        let mut iov = libc::iovec { iov_base: buf.as_ptr() as *mut libc::c_void, iov_len: buf.len() };
        let mut control = [0u64; 8];
        let mut msg: libc::msghdr = zeroed();
        msg.msg_name = (&mut name as *mut libc::sockaddr_storage).cast();
        msg.msg_namelen = namelen;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        let mut put = |level: libc::c_int, kind: libc::c_int, len: usize| -> *mut u8 {
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = libc::CMSG_SPACE(len as u32) as _;
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = level;
            (*cmsg).cmsg_type = kind;
            (*cmsg).cmsg_len = libc::CMSG_LEN(len as u32) as _;
            libc::CMSG_DATA(cmsg)
        };
        match (src, to) {
            (Some(IpAddr::V4(ip)), SocketAddr::V4(_)) => {
                let info = libc::in_pktinfo {
                    ipi_ifindex: 0,
                    ipi_spec_dst: libc::in_addr { s_addr: u32::from(ip).to_be() },
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                let data = put(libc::IPPROTO_IP, libc::IP_PKTINFO, size_of::<libc::in_pktinfo>());
                std::ptr::write_unaligned(data.cast(), info);
            }
            (Some(IpAddr::V6(ip)), SocketAddr::V6(_)) => {
                let info = libc::in6_pktinfo { ipi6_addr: libc::in6_addr { s6_addr: ip.octets() }, ipi6_ifindex: 0 };
                let data = put(libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, size_of::<libc::in6_pktinfo>());
                std::ptr::write_unaligned(data.cast(), info);
            }
            _ => {}
        }
        let n = libc::sendmsg(fd.as_raw_fd(), &msg, 0);
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}

fn from_sockaddr(name: &libc::sockaddr_storage) -> Option<SocketAddr> {
    // SAFETY: the family field says which sockaddr type the storage holds.
    unsafe {
        match name.ss_family as libc::c_int {
            libc::AF_INET => {
                let sin = &*(name as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>();
                let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(sin.sin_port))))
            }
            libc::AF_INET6 => {
                let sin6 = &*(name as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>();
                let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                let port = u16::from_be(sin6.sin6_port);
                Some(SocketAddr::V6(SocketAddrV6::new(ip, port, sin6.sin6_flowinfo, sin6.sin6_scope_id)))
            }
            _ => None,
        }
    }
}

fn to_sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_storage is valid, and it is large and aligned enough for
    // either address type.
    unsafe {
        let mut name: libc::sockaddr_storage = zeroed();
        let len = match addr {
            SocketAddr::V4(a) => {
                let sin = &mut *(&mut name as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>();
                sin.sin_family = libc::AF_INET as libc::sa_family_t;
                sin.sin_port = a.port().to_be();
                sin.sin_addr = libc::in_addr { s_addr: u32::from(*a.ip()).to_be() };
                size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(a) => {
                let sin6 = &mut *(&mut name as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>();
                sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sin6.sin6_port = a.port().to_be();
                sin6.sin6_flowinfo = a.flowinfo();
                sin6.sin6_addr = libc::in6_addr { s6_addr: a.ip().octets() };
                sin6.sin6_scope_id = a.scope_id();
                size_of::<libc::sockaddr_in6>()
            }
        };
        (name, len as libc::socklen_t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    #[test]
    fn sockaddr_round_trip() {
        for addr in ["127.0.0.1:5353", "[::1]:80", "[fe80::1%3]:9"] {
            let addr: SocketAddr = addr.parse().unwrap();
            let (name, _) = to_sockaddr(addr);
            assert_eq!(from_sockaddr(&name), Some(addr));
        }
    }

    #[test]
    fn pktinfo_reports_the_destination_and_sets_the_source() {
        let spec = ProxySpec {
            proto: Proto::Udp,
            host_ip: "0.0.0.0".parse().unwrap(),
            host_port: free_udp_port(),
            container_ip: "127.0.0.1".parse().unwrap(),
            container_port: 9,
        };
        let fd = bind(&spec).unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        // Sent to 127.0.0.2: the reply must come from 127.0.0.2, not the routing default.
        client.send_to(b"ping", ("127.0.0.2", spec.host_port)).unwrap();
        let mut buf = [0u8; 64];
        let got = loop {
            match recv_with_dst(fd.as_fd(), &mut buf) {
                Ok(got) => break got,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(&buf[..got.len], b"ping");
        assert_eq!(got.from, client.local_addr().unwrap());
        assert_eq!(got.to, Some("127.0.0.2".parse().unwrap()));
        send_from(fd.as_fd(), b"pong", got.from, got.to).unwrap();
        let (n, from) = client.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"pong");
        assert_eq!(from, SocketAddr::new("127.0.0.2".parse().unwrap(), spec.host_port));
    }

    fn free_udp_port() -> u16 {
        UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }
}
