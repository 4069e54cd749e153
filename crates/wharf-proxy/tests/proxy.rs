//! The `wharf-proxy` binary end to end on loopback: the "container" is a server on 127.0.0.1
//! (or ::1). TCP forwarding, concurrency, half-close, UDP per-client flows and their expiry,
//! large datagrams, the readiness line and exit codes, signals, detachment and idle memory.

use std::io::{Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use wharf_proxy::{Args, Error, Proto, ProxySpec};

const BIN: &str = env!("CARGO_BIN_EXE_wharf-proxy");
const LOOPBACK: &str = "127.0.0.1";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn free_tcp_port(host: &str) -> u16 {
    TcpListener::bind((host, 0)).unwrap().local_addr().unwrap().port()
}

fn free_udp_port(host: &str) -> u16 {
    UdpSocket::bind((host, 0)).unwrap().local_addr().unwrap().port()
}

fn spec(proto: Proto, host: &str, container: SocketAddr) -> ProxySpec {
    let host_port = match proto {
        Proto::Tcp => free_tcp_port(host),
        Proto::Udp => free_udp_port(host),
    };
    ProxySpec { proto, host_ip: ip(host), host_port, container_ip: container.ip(), container_port: container.port() }
}

/// A running proxy, stopped (SIGTERM) and reaped on drop.
struct Proxy {
    child: Option<Child>,
    spec: ProxySpec,
}

impl Proxy {
    fn start(spec: ProxySpec) -> Proxy {
        Proxy::start_args(Args::new(spec))
    }

    fn start_args(args: Args) -> Proxy {
        let child = wharf_proxy::spawn(BIN, &args, Duration::from_secs(10)).unwrap();
        Proxy { child: Some(child), spec: args.spec }
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    fn addr(&self) -> SocketAddr {
        self.spec.host_addr()
    }

    fn signal(&self, sig: i32) {
        // SAFETY: signalling our own child, which has not been reaped.
        assert_eq!(unsafe { libc::kill(self.pid(), sig) }, 0);
    }

    /// Sends `sig` and waits for the exit (at most 10 s).
    fn stop_with(mut self, sig: i32) -> ExitStatus {
        self.signal(sig);
        let mut child = self.child.take().unwrap();
        wait_timeout(&mut child, Duration::from_secs(10)).expect("proxy did not exit")
    }

    fn status_field(&self, field: &str) -> String {
        proc_status(self.pid(), field)
    }

    fn fd_count(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid())).unwrap().count()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: as in `signal`.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            if wait_timeout(&mut child, Duration::from_secs(5)).is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

fn wait_timeout(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        thread::sleep(Duration::from_millis(10));
    }
    None
}

fn proc_status(pid: i32, field: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = text.lines().find(|l| l.starts_with(&format!("{field}:"))).unwrap();
    line[field.len() + 1..].trim().to_string()
}

/// Polls `cond` for up to 5 s.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// A TCP echo "container": echoes until EOF, then closes its write side.
fn tcp_echo(host: &str) -> SocketAddr {
    let listener = TcpListener::bind((host, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            thread::spawn(move || {
                let mut buf = [0u8; 8192];
                loop {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if conn.write_all(&buf[..n]).is_err() {
                                return;
                            }
                        }
                    }
                }
                let _ = conn.shutdown(Shutdown::Write);
            });
        }
    });
    addr
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Writes `data` from a second thread while reading everything back, then checks it.
fn echo_round_trip(addr: SocketAddr, data: Vec<u8>) {
    let mut stream = connect(addr);
    let mut writer = stream.try_clone().unwrap();
    let expected = data.clone();
    let w = thread::spawn(move || {
        writer.write_all(&data).unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
    });
    let mut got = Vec::new();
    stream.read_to_end(&mut got).unwrap();
    w.join().unwrap();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "echoed bytes differ");
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

#[test]
fn tcp_forwards_both_ways() {
    let proxy = Proxy::start(spec(Proto::Tcp, LOOPBACK, tcp_echo(LOOPBACK)));
    let mut s = connect(proxy.addr());
    s.write_all(b"hello").unwrap();
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello");
    drop(s);
    echo_round_trip(proxy.addr(), pattern(4 << 20, 7));
}

#[test]
fn tcp_many_concurrent_connections() {
    let proxy = Proxy::start(spec(Proto::Tcp, LOOPBACK, tcp_echo(LOOPBACK)));
    let idle_fds = proxy.fd_count();
    // All connections open at once before any data flows.
    let streams: Vec<TcpStream> = (0..100).map(|_| connect(proxy.addr())).collect();
    eventually("all connections to reach the container", || proxy.fd_count() == idle_fds + 200);
    let workers: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(i, mut s)| {
            thread::spawn(move || {
                let data = pattern(64 * 1024 + i, i as u8);
                let mut w = s.try_clone().unwrap();
                let sent = data.clone();
                let writer = thread::spawn(move || {
                    w.write_all(&sent).unwrap();
                    w.shutdown(Shutdown::Write).unwrap();
                });
                let mut got = Vec::new();
                s.read_to_end(&mut got).unwrap();
                writer.join().unwrap();
                assert!(got == data, "connection {i} got other bytes");
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    // One thread throughout, and every connection's two sockets are closed again.
    assert_eq!(proxy.status_field("Threads"), "1");
    eventually("connections to be closed", || proxy.fd_count() == idle_fds);
}

#[test]
fn tcp_client_half_close_still_receives_the_answer() {
    // The "container" answers only after the client finished sending, slowly.
    let listener = TcpListener::bind((LOOPBACK, 0)).unwrap();
    let backend = listener.local_addr().unwrap();
    thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        conn.read_to_end(&mut request).unwrap();
        conn.write_all(format!("received {} bytes", request.len()).as_bytes()).unwrap();
        thread::sleep(Duration::from_millis(200));
        conn.write_all(b"; bye").unwrap();
    });
    let proxy = Proxy::start(spec(Proto::Tcp, LOOPBACK, backend));
    let mut s = connect(proxy.addr());
    s.write_all(&pattern(100_000, 1)).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert_eq!(answer, "received 100000 bytes; bye");
}

#[test]
fn tcp_container_half_close_still_receives_the_request() {
    // The "container" greets and shuts down its write side, then still reads the client.
    let listener = TcpListener::bind((LOOPBACK, 0)).unwrap();
    let backend = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.write_all(b"hello").unwrap();
        conn.shutdown(Shutdown::Write).unwrap();
        let mut request = Vec::new();
        conn.read_to_end(&mut request).unwrap();
        tx.send(request).unwrap();
    });
    let proxy = Proxy::start(spec(Proto::Tcp, LOOPBACK, backend));
    let mut s = connect(proxy.addr());
    let mut greeting = Vec::new();
    s.read_to_end(&mut greeting).unwrap();
    assert_eq!(greeting, b"hello");
    s.write_all(b"late request").unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), b"late request");
}

#[test]
fn tcp_slow_reader_gets_everything() {
    // The "container" sends 16 MiB at once and closes; the client starts reading late and
    // slowly, so the proxy has to hold back and resume on writability.
    let listener = TcpListener::bind((LOOPBACK, 0)).unwrap();
    let backend = listener.local_addr().unwrap();
    let data = pattern(16 << 20, 9);
    let sent = data.clone();
    thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.write_all(&sent).unwrap();
    });
    let proxy = Proxy::start(spec(Proto::Tcp, LOOPBACK, backend));
    let mut s = connect(proxy.addr());
    thread::sleep(Duration::from_millis(300));
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if got.len() < (1 << 20) {
            thread::sleep(Duration::from_micros(200));
        }
    }
    assert_eq!(got.len(), data.len());
    assert!(got == data, "bytes differ");
}

#[test]
fn tcp_client_reset_closes_the_container_side() {
    let listener = TcpListener::bind((LOOPBACK, 0)).unwrap();
    let backend = listener.local_addr().unwrap();
    let proxy = Proxy::start(spec(Proto::Tcp, LOOPBACK, backend));
    let idle_fds = proxy.fd_count();
    let mut s = connect(proxy.addr());
    s.write_all(b"partial").unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 7];
    conn.read_exact(&mut buf).unwrap();
    // Abort the client: SO_LINGER 0 turns close into a reset.
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: a valid option value of the given size on an open socket.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
    drop(s);
    // The container sees the end of the stream and the proxy drops both sockets.
    assert!(matches!(conn.read(&mut buf), Ok(0) | Err(_)));
    eventually("the connection to be closed", || proxy.fd_count() == idle_fds);
}

#[test]
fn tcp_unreachable_container_closes_the_client_only() {
    let dead: SocketAddr = (ip(LOOPBACK), free_tcp_port(LOOPBACK)).into();
    let proxy = Proxy::start(spec(Proto::Tcp, LOOPBACK, dead));
    let mut s = connect(proxy.addr());
    let mut buf = [0u8; 1];
    assert!(matches!(s.read(&mut buf), Ok(0) | Err(_)));
    // Still serving: once something listens there, connections go through.
    let listener = TcpListener::bind(dead).unwrap();
    let mut s = connect(proxy.addr());
    s.write_all(b"x").unwrap();
    let (mut conn, _) = listener.accept().unwrap();
    conn.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"x");
}

#[test]
fn tcp_over_ipv6() {
    if TcpListener::bind("[::1]:0").is_err() {
        eprintln!("skipped: no ::1");
        return;
    }
    let proxy = Proxy::start(spec(Proto::Tcp, "::1", tcp_echo("::1")));
    echo_round_trip(proxy.addr(), pattern(10_000, 3));
}

/// A UDP "container" that answers each datagram with `<payload>|<sender port>`.
fn udp_tagger() -> SocketAddr {
    let sock = UdpSocket::bind((LOOPBACK, 0)).unwrap();
    let addr = sock.local_addr().unwrap();
    thread::spawn(move || {
        let mut buf = vec![0u8; 65_535];
        loop {
            let Ok((n, from)) = sock.recv_from(&mut buf) else { return };
            let mut reply = buf[..n].to_vec();
            reply.extend_from_slice(format!("|{}", from.port()).as_bytes());
            let _ = sock.send_to(&reply, from);
        }
    });
    addr
}

fn udp_client() -> UdpSocket {
    let s = UdpSocket::bind((LOOPBACK, 0)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Sends `payload` through the proxy and returns (payload echoed, upstream port seen).
fn ask(client: &UdpSocket, proxy: SocketAddr, payload: &str) -> (String, u16) {
    client.send_to(payload.as_bytes(), proxy).unwrap();
    let mut buf = [0u8; 1024];
    let (n, from) = client.recv_from(&mut buf).unwrap();
    assert_eq!(from, proxy, "the reply comes from the proxy's address");
    let text = std::str::from_utf8(&buf[..n]).unwrap();
    let (echo, port) = text.rsplit_once('|').unwrap();
    (echo.to_string(), port.parse().unwrap())
}

#[test]
fn udp_two_clients_get_their_own_replies() {
    let proxy = Proxy::start(spec(Proto::Udp, LOOPBACK, udp_tagger()));
    let (a, b) = (udp_client(), udp_client());
    let (echo_a, port_a) = ask(&a, proxy.addr(), "from a");
    let (echo_b, port_b) = ask(&b, proxy.addr(), "from b");
    assert_eq!((echo_a.as_str(), echo_b.as_str()), ("from a", "from b"));
    assert_ne!(port_a, port_b, "each client has its own upstream socket");
    // The table keeps each client on its flow.
    assert_eq!(ask(&a, proxy.addr(), "again a"), ("again a".into(), port_a));
    assert_eq!(ask(&b, proxy.addr(), "again b"), ("again b".into(), port_b));
}

#[test]
fn udp_idle_entries_expire() {
    let mut args = Args::new(spec(Proto::Udp, LOOPBACK, udp_tagger()));
    args.udp_idle_timeout = Duration::from_millis(500);
    let proxy = Proxy::start_args(args);
    let idle_fds = proxy.fd_count();
    let client = udp_client();
    let (_, first) = ask(&client, proxy.addr(), "1");
    assert_eq!(proxy.fd_count(), idle_fds + 1, "one upstream socket");
    // Traffic keeps the entry alive past the timeout.
    for _ in 0..8 {
        thread::sleep(Duration::from_millis(100));
        assert_eq!(ask(&client, proxy.addr(), "2").1, first);
    }
    // Idle for longer than the timeout: the upstream socket is closed…
    eventually("the idle entry to expire", || proxy.fd_count() == idle_fds);
    // …and the next datagram opens a new one.
    let (_, second) = ask(&client, proxy.addr(), "3");
    assert_ne!(first, second);
}

#[test]
fn udp_default_timeout_keeps_entries() {
    let proxy = Proxy::start(spec(Proto::Udp, LOOPBACK, udp_tagger()));
    let client = udp_client();
    let (_, first) = ask(&client, proxy.addr(), "1");
    thread::sleep(Duration::from_millis(700));
    assert_eq!(ask(&client, proxy.addr(), "2").1, first);
}

#[test]
fn udp_datagrams_up_to_64k() {
    // An echoing "container".
    let upstream = UdpSocket::bind((LOOPBACK, 0)).unwrap();
    let backend = upstream.local_addr().unwrap();
    thread::spawn(move || {
        let mut buf = vec![0u8; 65_535];
        while let Ok((n, from)) = upstream.recv_from(&mut buf) {
            let _ = upstream.send_to(&buf[..n], from);
        }
    });
    let proxy = Proxy::start(spec(Proto::Udp, LOOPBACK, backend));
    let client = udp_client();
    let mut buf = vec![0u8; 70_000];
    for len in [0, 1, 1500, 9000, 65_507] {
        let data = pattern(len, len as u8);
        client.send_to(&data, proxy.addr()).unwrap();
        let (n, _) = client.recv_from(&mut buf).unwrap();
        assert_eq!(n, len);
        assert!(buf[..n] == data[..], "datagram of {len} bytes changed");
    }
}

/// Runs the binary with a readiness pipe; returns the line and the exit status (`None`
/// while it still runs: then it is stopped).
fn run_raw(args: &[String]) -> (String, Option<ExitStatus>) {
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
    let wfd = w.as_raw_fd();
    let mut cmd = Command::new(BIN);
    cmd.args(args).arg("--ready-fd").arg(wfd.to_string()).stdin(Stdio::null()).stdout(Stdio::null());
    cmd.stderr(Stdio::piped());
    // SAFETY: fcntl is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            libc::fcntl(wfd, libc::F_SETFD, 0);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    drop(w);
    let mut line = String::new();
    std::fs::File::from(r).read_to_string(&mut line).unwrap();
    let status = wait_timeout(&mut child, Duration::from_secs(2));
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    (line, status)
}

#[test]
fn ready_line_and_exit_code_for_a_port_in_use() {
    let holder = TcpListener::bind((LOOPBACK, 0)).unwrap();
    let port = holder.local_addr().unwrap().port();
    let mut s = spec(Proto::Tcp, LOOPBACK, tcp_echo(LOOPBACK));
    s.host_port = port;
    let (line, status) = run_raw(&s.to_args());
    assert_eq!(line, format!("listen tcp4 127.0.0.1:{port}: bind: address already in use\n"));
    assert_eq!(status.and_then(|s| s.code()), Some(1));

    // Through the daemon's launcher: dockerd's text.
    let err = wharf_proxy::spawn(BIN, &Args::new(s), Duration::from_secs(10)).unwrap_err();
    assert!(matches!(err, Error::Bind { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("failed to bind host port for 127.0.0.1:{port}:{}/tcp: address already in use", {
            let c = s.container_addr();
            format!("{}:{}", c.ip(), c.port())
        })
    );
}

#[test]
fn a_second_proxy_on_the_same_port_is_refused() {
    for proto in [Proto::Tcp, Proto::Udp] {
        let first = Proxy::start(spec(proto, LOOPBACK, (ip(LOOPBACK), 9).into()));
        let err = wharf_proxy::spawn(BIN, &Args::new(first.spec), Duration::from_secs(10)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("failed to bind host port for {}: address already in use", first.spec),
            "{proto}"
        );
        let (line, status) = run_raw(&first.spec.to_args());
        assert_eq!(line, format!("listen {proto}4 127.0.0.1:{}: bind: address already in use\n", first.spec.host_port));
        assert_eq!(status.and_then(|s| s.code()), Some(1));
    }
}

#[test]
fn usage_errors_exit_2_and_are_reported_on_the_ready_fd() {
    let (line, status) = run_raw(&["-proto".into(), "sctp".into(), "-host-port".into(), "1".into()]);
    assert_eq!(line, "unsupported protocol sctp\n");
    assert_eq!(status.and_then(|s| s.code()), Some(2));
    let (line, status) = run_raw(&["-host-port".into(), "1".into(), "-container-port".into(), "2".into()]);
    assert_eq!(line, "flag -container-ip is required\n");
    assert_eq!(status.and_then(|s| s.code()), Some(2));
    let out = Command::new(BIN).arg("-bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("flag provided but not defined: -bogus"));
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("-container-port"));
}

#[test]
fn address_not_on_this_host_is_reported() {
    // 192.0.2.0/24 is TEST-NET-1: never a local address.
    let s = ProxySpec {
        proto: Proto::Tcp,
        host_ip: ip("192.0.2.1"),
        host_port: 8080,
        container_ip: ip(LOOPBACK),
        container_port: 80,
    };
    let (line, status) = run_raw(&s.to_args());
    assert_eq!(line, "listen tcp4 192.0.2.1:8080: bind: cannot assign requested address\n");
    assert_eq!(status.and_then(|s| s.code()), Some(1));
}

#[test]
fn sigterm_exits_0_and_frees_the_port() {
    let proxy = Proxy::start(spec(Proto::Tcp, LOOPBACK, tcp_echo(LOOPBACK)));
    let addr = proxy.addr();
    // An open connection does not hold the exit up.
    let _conn = connect(addr);
    assert!(TcpListener::bind(addr).is_err());
    let status = proxy.stop_with(libc::SIGTERM);
    assert_eq!(status.code(), Some(0), "{status:?}");
    TcpListener::bind(addr).expect("the port is free again");
}

#[test]
fn sigint_exits_0_and_frees_the_udp_port() {
    let proxy = Proxy::start(spec(Proto::Udp, LOOPBACK, udp_tagger()));
    let addr = proxy.addr();
    let client = udp_client();
    ask(&client, addr, "x");
    let status = proxy.stop_with(libc::SIGINT);
    assert_eq!(status.code(), Some(0), "{status:?}");
    UdpSocket::bind(addr).expect("the port is free again");
}

#[test]
fn sighup_and_sigpipe_are_ignored() {
    let proxy = Proxy::start(spec(Proto::Tcp, LOOPBACK, tcp_echo(LOOPBACK)));
    proxy.signal(libc::SIGHUP);
    proxy.signal(libc::SIGPIPE);
    thread::sleep(Duration::from_millis(100));
    echo_round_trip(proxy.addr(), b"still here".to_vec());
    let status = proxy.stop_with(libc::SIGTERM);
    assert_eq!(status.code(), Some(0));
    assert_eq!(status.signal(), None);
}

#[test]
fn runs_in_its_own_session_with_one_thread() {
    let proxy = Proxy::start(spec(Proto::Tcp, LOOPBACK, tcp_echo(LOOPBACK)));
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", proxy.pid())).unwrap();
    // Fields after the command: state ppid pgrp session …
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    assert_eq!(fields[3], proxy.pid().to_string(), "session leader");
    assert_eq!(proxy.status_field("Threads"), "1");
    // Besides what it inherited: epoll, signalfd and the listener; the readiness pipe is closed.
    let targets = |pid: &str| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .map(|t| t.to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let own = || -> Vec<String> {
        let inherited = targets("self");
        targets(&proxy.pid().to_string())
            .into_iter()
            .filter(|t| !inherited.contains(t) && t != "/dev/null")
            .map(|t| if t.starts_with("socket:") { "socket".into() } else { t })
            .collect()
    };
    // (The pipe is closed right after the line is written: wait for that.)
    eventually("only epoll, signalfd and the listener", || {
        own() == ["anon_inode:[eventpoll]", "anon_inode:[signalfd]", "socket"]
    });
}

#[test]
fn outlives_the_process_that_started_it() {
    // A shell starts the proxy in the background and exits at once (as a crashing daemon
    // would): the proxy keeps forwarding.
    let s = spec(Proto::Tcp, LOOPBACK, tcp_echo(LOOPBACK));
    let cmdline = format!("'{BIN}' {} </dev/null >/dev/null 2>&1 & echo $!", s.to_args().join(" "));
    let out = Command::new("sh").arg("-c").arg(cmdline).output().unwrap();
    let pid: i32 = String::from_utf8(out.stdout).unwrap().trim().parse().unwrap();
    eventually("the orphaned proxy to listen", || TcpStream::connect(s.host_addr()).is_ok());
    echo_round_trip(s.host_addr(), b"orphan".to_vec());
    // SAFETY: signalling the proxy by the pid the shell printed.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    eventually("the orphaned proxy to exit", || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|st| st[st.rfind(')').unwrap() + 2..].starts_with('Z'))
            .unwrap_or(true)
    });
}

#[test]
fn idle_memory_is_small() {
    let tcp = Proxy::start(spec(Proto::Tcp, LOOPBACK, tcp_echo(LOOPBACK)));
    let udp = Proxy::start(spec(Proto::Udp, LOOPBACK, udp_tagger()));
    thread::sleep(Duration::from_millis(100));
    for (name, p) in [("tcp", &tcp), ("udp", &udp)] {
        let rss = p.status_field("VmRSS");
        eprintln!("idle {name} proxy: VmRSS {rss}");
        let kb: u64 = rss.trim_end_matches(" kB").trim().parse().unwrap();
        assert!(kb < 8 * 1024, "idle {name} proxy uses {rss}");
    }
}
