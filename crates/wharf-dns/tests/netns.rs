//! End-to-end tests in real network namespaces (`ip netns add`): queries sent to 127.0.0.11:53
//! from inside a namespace, over UDP and TCP, against a live [`DnsState`]; forwarding to a fake
//! upstream in the host namespace. Needs root and iproute2; skipped (with a note) otherwise.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};
use tokio::runtime::Runtime;
use wharf_dns::{DnsServer, DnsState, ServerConfig, DNS_ADDR};

const A_ID: &str = "aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111";
const B_ID: &str = "bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222";
const C_ID: &str = "cccccccccccc3333333333333333333333333333333333333333333333333333";

// ---------------------------------------------------------------------------------------------
// Namespaces

/// A named network namespace, deleted on drop.
struct NetNs {
    name: String,
}

impl NetNs {
    /// A fresh namespace, with `lo` up unless `lo_down`; `None` when not root or without `ip`.
    fn new(lo_down: bool) -> Option<NetNs> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped: network namespaces need root");
            return None;
        }
        let name = format!("wharf-dns-test-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        match Command::new("ip").args(["netns", "add", &name]).status() {
            Ok(s) if s.success() => {}
            other => {
                eprintln!("skipped: `ip netns add` failed: {other:?}");
                return None;
            }
        }
        let ns = NetNs { name };
        if !lo_down {
            let ok = Command::new("ip").args(["-n", &ns.name, "link", "set", "lo", "up"]).status().unwrap();
            assert!(ok.success());
        }
        Some(ns)
    }

    fn path(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.name)
    }

    /// Runs `f` on a thread inside the namespace.
    fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let file = std::fs::File::open(self.path()).unwrap();
        thread::spawn(move || {
            move_into_link_name_space(file.as_fd(), Some(LinkNameSpaceType::Network)).unwrap();
            f()
        })
        .join()
        .unwrap()
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

// ---------------------------------------------------------------------------------------------
// A client

fn query_bytes(name: &str, qtype: RecordType) -> Vec<u8> {
    let mut msg = Message::query();
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    msg.to_vec().unwrap()
}

fn udp_exchange(to: SocketAddr, query: &[u8]) -> Message {
    let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    sock.send_to(query, to).unwrap();
    let mut buf = [0u8; 65535];
    let n = sock.recv(&mut buf).unwrap();
    Message::from_vec(&buf[..n]).unwrap()
}

fn tcp_exchange(to: SocketAddr, query: &[u8]) -> Message {
    let mut stream = TcpStream::connect_timeout(&to, Duration::from_secs(5)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = (query.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(query);
    stream.write_all(&out).unwrap();
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).unwrap();
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    stream.read_exact(&mut buf).unwrap();
    Message::from_vec(&buf).unwrap()
}

/// Asks 127.0.0.11 from inside `ns`.
fn ask(ns: &NetNs, name: &str, qtype: RecordType, tcp: bool) -> Message {
    let query = query_bytes(name, qtype);
    let answer = ns.run(move || if tcp { tcp_exchange(DNS_ADDR, &query) } else { udp_exchange(DNS_ADDR, &query) });
    assert!(answer.metadata.recursion_available);
    answer
}

fn addrs(msg: &Message) -> Vec<IpAddr> {
    msg.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        })
        .collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A (client) on front; B (web) on front and back; C (db) on back.
fn sample_state() -> Arc<DnsState> {
    let s = Arc::new(DnsState::new());
    s.set_network_name("n-front", "front");
    s.set_network_name("n-back", "back");
    s.set_endpoint("n-front", A_ID, names(&["/client"]), Some([10, 1, 0, 2].into()), None);
    s.set_endpoint("n-front", B_ID, names(&["/web", "www"]), Some([10, 1, 0, 3].into()), None);
    s.set_endpoint("n-back", B_ID, names(&["/web", "api"]), Some([10, 2, 0, 3].into()), None);
    s.set_endpoint("n-back", C_ID, names(&["/db"]), Some([10, 2, 0, 4].into()), "fd00::4".parse().ok());
    s
}

// ---------------------------------------------------------------------------------------------
// A fake upstream in the host namespace

/// Answers `*.example.` A queries with 192.0.2.1 (`big.example.`: a truncated UDP answer, and 60
/// addresses over TCP), `fail.example.` with SERVFAIL, anything else NXDOMAIN. Runs until the
/// test process ends.
struct Upstream {
    addr: SocketAddr,
    udp_queries: Arc<AtomicUsize>,
    tcp_queries: Arc<AtomicUsize>,
}

fn upstream_answer(query: &[u8], over_tcp: bool) -> Vec<u8> {
    let q = Message::from_vec(query).unwrap();
    let mut r = Message::response(q.metadata.id, q.metadata.op_code);
    r.metadata.recursion_desired = q.metadata.recursion_desired;
    r.metadata.recursion_available = true;
    r.add_queries(q.queries.clone());
    let question = q.queries[0].name().to_ascii().to_ascii_lowercase();
    let record = |n: u8| {
        hickory_proto::rr::Record::from_rdata(
            q.queries[0].name().clone(),
            30,
            RData::A(hickory_proto::rr::rdata::A(Ipv4Addr::new(192, 0, 2, n))),
        )
    };
    match question.as_str() {
        "big.example." if !over_tcp => r.metadata.truncation = true,
        "big.example." => {
            for n in 1..=60 {
                r.add_answer(record(n));
            }
        }
        "fail.example." => r.metadata.response_code = ResponseCode::ServFail,
        q if q.ends_with(".example.") => {
            r.add_answer(record(1));
        }
        _ => r.metadata.response_code = ResponseCode::NXDomain,
    }
    r.to_vec().unwrap()
}

impl Upstream {
    fn start() -> Upstream {
        // UDP and TCP on the same port.
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
            if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()) {
                break (udp, tcp);
            }
        };
        let addr = udp.local_addr().unwrap();
        let udp_queries = Arc::new(AtomicUsize::new(0));
        let tcp_queries = Arc::new(AtomicUsize::new(0));
        let count = udp_queries.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok((n, from)) = udp.recv_from(&mut buf) {
                count.fetch_add(1, Ordering::SeqCst);
                let _ = udp.send_to(&upstream_answer(&buf[..n], false), from);
            }
        });
        let count = tcp_queries.clone();
        thread::spawn(move || {
            for mut stream in tcp.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                let mut len = [0u8; 2];
                if stream.read_exact(&mut len).is_err() {
                    continue;
                }
                let mut query = vec![0u8; u16::from_be_bytes(len) as usize];
                if stream.read_exact(&mut query).is_err() {
                    continue;
                }
                let answer = upstream_answer(&query, true);
                let mut out = (answer.len() as u16).to_be_bytes().to_vec();
                out.extend_from_slice(&answer);
                let _ = stream.write_all(&out);
            }
        });
        Upstream { addr, udp_queries, tcp_queries }
    }
}

/// A local port nothing listens on (UDP gets ICMP port unreachable).
fn dead_port() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn resolves_names_aliases_and_short_ids_per_network() {
    let (Some(ns_a), Some(ns_b)) = (NetNs::new(false), NetNs::new(false)) else { return };
    let rt = runtime();
    let state = sample_state();
    let _ga = rt.enter();
    let server_a = DnsServer::start(&ns_a.path(), A_ID.into(), state.clone(), vec![]).unwrap();
    let server_b = DnsServer::start(&ns_b.path(), B_ID.into(), state.clone(), vec![]).unwrap();
    assert_eq!(server_a.querier(), A_ID);

    // A sees front only.
    for name in ["web", "web.", "WEB", "www", "bbbbbbbbbbbb", "web.front", "client"] {
        let r = ask(&ns_a, name, RecordType::A, false);
        assert_eq!(r.metadata.response_code, ResponseCode::NoError, "{name}");
        let want = if name == "client" { "10.1.0.2" } else { "10.1.0.3" };
        assert_eq!(addrs(&r), vec![ip(want)], "{name}");
        assert_eq!(r.answers[0].ttl, wharf_dns::TTL);
        assert!(r.metadata.authoritative);
    }
    // The answer keeps the question's spelling.
    assert_eq!(ask(&ns_a, "WeB", RecordType::A, false).answers[0].name.to_ascii(), "WeB.");
    // Names only on back, which A is not on: NXDOMAIN (no upstream).
    for name in ["api", "db", "cccccccccccc", "web.back"] {
        let r = ask(&ns_a, name, RecordType::A, false);
        assert_eq!(r.metadata.response_code, ResponseCode::NXDomain, "{name}");
        assert!(r.answers.is_empty());
    }
    // The name exists without IPv6: NOERROR, no records.
    let r = ask(&ns_a, "web", RecordType::AAAA, false);
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert!(r.answers.is_empty());

    // B is on both networks: back first (by name), `name.network` picks one.
    assert_eq!(addrs(&ask(&ns_b, "db", RecordType::A, false)), vec![ip("10.2.0.4")]);
    assert_eq!(addrs(&ask(&ns_b, "db", RecordType::AAAA, false)), vec![ip("fd00::4")]);
    assert_eq!(addrs(&ask(&ns_b, "client", RecordType::A, false)), vec![ip("10.1.0.2")]);
    assert_eq!(addrs(&ask(&ns_b, "web", RecordType::A, false)), vec![ip("10.2.0.3")]);
    assert_eq!(addrs(&ask(&ns_b, "web.front", RecordType::A, false)), vec![ip("10.1.0.3")]);
    assert_eq!(addrs(&ask(&ns_b, "api", RecordType::A, false)), vec![ip("10.2.0.3")]);

    // Over TCP too.
    assert_eq!(addrs(&ask(&ns_a, "www", RecordType::A, true)), vec![ip("10.1.0.3")]);
    let r = ask(&ns_a, "nothing", RecordType::A, true);
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);

    rt.block_on(async {
        server_a.stop().await;
        server_b.stop().await;
    });
}

#[test]
fn updates_are_seen_by_the_next_query_and_aliases_round_robin() {
    let Some(ns) = NetNs::new(false) else { return };
    let rt = runtime();
    let state = sample_state();
    let _g = rt.enter();
    let server = DnsServer::start(&ns.path(), A_ID.into(), state.clone(), vec![]).unwrap();

    assert_eq!(ask(&ns, "newbie", RecordType::A, false).metadata.response_code, ResponseCode::NXDomain);
    state.set_endpoint("n-front", C_ID, names(&["/newbie", "svc"]), Some([10, 1, 0, 9].into()), None);
    assert_eq!(addrs(&ask(&ns, "newbie", RecordType::A, false)), vec![ip("10.1.0.9")]);
    state.set_endpoint("n-front", B_ID, names(&["/web", "svc"]), Some([10, 1, 0, 3].into()), None);

    // Two containers share `svc`: both answer, the first one alternates.
    let first = addrs(&ask(&ns, "svc", RecordType::A, false));
    let second = addrs(&ask(&ns, "svc", RecordType::A, false));
    assert_eq!(first.len(), 2);
    assert_eq!(first.iter().rev().copied().collect::<Vec<_>>(), second);

    state.remove_endpoint("n-front", C_ID);
    assert_eq!(ask(&ns, "newbie", RecordType::A, false).metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(addrs(&ask(&ns, "svc", RecordType::A, false)), vec![ip("10.1.0.3")]);

    // The querier itself leaves the network: it sees nothing any more.
    state.remove_endpoint("n-front", A_ID);
    assert_eq!(ask(&ns, "web", RecordType::A, false).metadata.response_code, ResponseCode::NXDomain);
    rt.block_on(server.stop());
}

#[test]
fn reverse_lookups() {
    let Some(ns) = NetNs::new(false) else { return };
    let rt = runtime();
    let state = sample_state();
    let _g = rt.enter();
    let server = DnsServer::start(&ns.path(), C_ID.into(), state, vec![]).unwrap();

    let ptr = |msg: &Message| -> Vec<String> {
        msg.answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::PTR(p) => Some(p.0.to_ascii()),
                _ => None,
            })
            .collect()
    };
    let r = ask(&ns, "3.0.2.10.in-addr.arpa.", RecordType::PTR, false);
    assert_eq!(ptr(&r), vec!["web.back."]);
    let r =
        ask(&ns, "4.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", RecordType::PTR, true);
    assert_eq!(ptr(&r), vec!["db.back."]);
    // 10.1.0.3 is B on front, which C is not on.
    let r = ask(&ns, "3.0.1.10.in-addr.arpa.", RecordType::PTR, false);
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    rt.block_on(server.stop());
}

#[test]
fn dual_stack_and_ipv6_only_names() {
    let Some(ns) = NetNs::new(false) else { return };
    let rt = runtime();
    let state = Arc::new(DnsState::new());
    state.set_network_name("n-v6", "v6net");
    state.set_endpoint("n-v6", A_ID, names(&["/client"]), Some([10, 6, 0, 2].into()), "fd00:6::2".parse().ok());
    state.set_endpoint("n-v6", B_ID, names(&["/web", "www"]), Some([10, 6, 0, 3].into()), "fd00:6::3".parse().ok());
    // An endpoint with an IPv6 address only.
    state.set_endpoint("n-v6", C_ID, names(&["/six"]), None, "fd00:6::4".parse().ok());
    let _g = rt.enter();
    let server = DnsServer::start(&ns.path(), A_ID.into(), state.clone(), vec![]).unwrap();

    // AAAA for names and aliases, over UDP and TCP; A still answers for dual-stack names.
    for (name, tcp) in [("web", false), ("www", false), ("web.v6net", true), ("bbbbbbbbbbbb", true)] {
        let r = ask(&ns, name, RecordType::AAAA, tcp);
        assert_eq!(r.metadata.response_code, ResponseCode::NoError, "{name}");
        assert_eq!(addrs(&r), vec![ip("fd00:6::3")], "{name}");
        assert_eq!(r.answers[0].ttl, wharf_dns::TTL);
    }
    assert_eq!(addrs(&ask(&ns, "web", RecordType::A, false)), vec![ip("10.6.0.3")]);
    assert_eq!(addrs(&ask(&ns, "client", RecordType::AAAA, false)), vec![ip("fd00:6::2")]);
    // An IPv6-only name: AAAA answers, A is NOERROR without records (as Docker's resolver).
    assert_eq!(addrs(&ask(&ns, "six", RecordType::AAAA, false)), vec![ip("fd00:6::4")]);
    let r = ask(&ns, "six", RecordType::A, false);
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert!(r.answers.is_empty());
    // PTR of an IPv6 address: `ip6.arpa`, the name and the network.
    let r =
        ask(&ns, "3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.0.0.0.0.0.d.f.ip6.arpa.", RecordType::PTR, false);
    let ptr: Vec<String> = r
        .answers
        .iter()
        .filter_map(|a| match &a.data {
            RData::PTR(p) => Some(p.0.to_ascii()),
            _ => None,
        })
        .collect();
    assert_eq!(ptr, vec!["web.v6net."]);
    // An unknown name: NXDOMAIN for AAAA too (no upstream).
    assert_eq!(ask(&ns, "nothing", RecordType::AAAA, false).metadata.response_code, ResponseCode::NXDomain);
    rt.block_on(server.stop());
}

#[test]
fn misses_and_other_types_are_forwarded_upstream() {
    let Some(ns) = NetNs::new(false) else { return };
    let upstream = Upstream::start();
    let rt = runtime();
    let _g = rt.enter();
    // A dead first server: skipped for the live one.
    let config = ServerConfig { upstream: vec![dead_port(), upstream.addr], upstream_timeout: Duration::from_secs(3) };
    let server = DnsServer::start_with(&ns.path(), A_ID.into(), sample_state(), config, rt.handle()).unwrap();

    let r = ask(&ns, "www.example", RecordType::A, false);
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert_eq!(addrs(&r), vec![ip("192.0.2.1")]);
    assert!(!r.metadata.authoritative);
    let r = ask(&ns, "nope.test", RecordType::A, true);
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    // Local names are not forwarded; other types of them are.
    let before = upstream.udp_queries.load(Ordering::SeqCst);
    assert_eq!(addrs(&ask(&ns, "web", RecordType::A, false)), vec![ip("10.1.0.3")]);
    assert_eq!(upstream.udp_queries.load(Ordering::SeqCst), before);
    let r = ask(&ns, "web", RecordType::MX, false);
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(upstream.udp_queries.load(Ordering::SeqCst), before + 1);
    // A name on a network the querier is not on goes upstream too.
    ask(&ns, "db", RecordType::A, false);
    assert_eq!(upstream.udp_queries.load(Ordering::SeqCst), before + 2);
    // SERVFAIL from the only live upstream is passed on.
    assert_eq!(ask(&ns, "fail.example", RecordType::A, false).metadata.response_code, ResponseCode::ServFail);

    // Truncated upstream answer: retried over TCP. A UDP client then gets a truncated answer
    // (60 records do not fit 512 bytes), a TCP client all of them.
    let tcp_before = upstream.tcp_queries.load(Ordering::SeqCst);
    let r = ask(&ns, "big.example", RecordType::A, false);
    assert!(r.metadata.truncation);
    assert!(r.answers.len() < 60);
    let r = ask(&ns, "big.example", RecordType::A, true);
    assert!(!r.metadata.truncation);
    assert_eq!(r.answers.len(), 60);
    assert_eq!(upstream.tcp_queries.load(Ordering::SeqCst), tcp_before + 2);
    rt.block_on(server.stop());
}

#[test]
fn unreachable_upstreams_give_servfail() {
    let Some(ns) = NetNs::new(false) else { return };
    let rt = runtime();
    let _g = rt.enter();
    let config = ServerConfig { upstream: vec![dead_port()], upstream_timeout: Duration::from_secs(2) };
    let server = DnsServer::start_with(&ns.path(), A_ID.into(), sample_state(), config, rt.handle()).unwrap();
    assert_eq!(ask(&ns, "x.example", RecordType::A, false).metadata.response_code, ResponseCode::ServFail);
    // Local names still answer.
    assert_eq!(addrs(&ask(&ns, "web", RecordType::A, false)), vec![ip("10.1.0.3")]);
    rt.block_on(server.stop());
}

#[test]
fn stop_frees_the_port_and_a_second_server_binds() {
    let Some(ns) = NetNs::new(false) else { return };
    let rt = runtime();
    let state = sample_state();
    let _g = rt.enter();
    let first = DnsServer::start(&ns.path(), A_ID.into(), state.clone(), vec![]).unwrap();
    let err = DnsServer::start(&ns.path(), A_ID.into(), state.clone(), vec![]).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse, "{err}");
    // An open TCP connection does not keep the port.
    let open = ns.run(|| TcpStream::connect(DNS_ADDR).unwrap());
    rt.block_on(first.stop());
    drop(open);

    let second = DnsServer::start(&ns.path(), B_ID.into(), state.clone(), vec![]).unwrap();
    // B's view now: on back too.
    assert_eq!(addrs(&ask(&ns, "db", RecordType::A, false)), vec![ip("10.2.0.4")]);
    // stop_blocking, from a plain thread (outside the runtime's context).
    thread::spawn(move || second.stop_blocking()).join().unwrap();

    // Dropping stops it too; the sockets close shortly after, on the runtime.
    let third = DnsServer::start(&ns.path(), A_ID.into(), state, vec![]).unwrap();
    drop(third);
    let freed = (0..100).any(|_| {
        let free = ns.run(|| UdpSocket::bind(DNS_ADDR).is_ok() && TcpListener::bind(DNS_ADDR).is_ok());
        if !free {
            thread::sleep(Duration::from_millis(20));
        }
        free
    });
    assert!(freed, "port freed after drop");
}

#[test]
fn brings_loopback_up() {
    let Some(ns) = NetNs::new(true) else { return };
    let rt = runtime();
    let _g = rt.enter();
    let server = DnsServer::start(&ns.path(), A_ID.into(), sample_state(), vec![]).unwrap();
    assert_eq!(addrs(&ask(&ns, "web", RecordType::A, false)), vec![ip("10.1.0.3")]);
    rt.block_on(server.stop());
}

#[test]
fn start_needs_a_runtime_and_a_namespace() {
    let err = DnsServer::start(Path::new("/proc/self/ns/net"), A_ID.into(), sample_state(), vec![]).unwrap_err();
    assert!(err.to_string().contains("runtime"), "{err}");
    let rt = runtime();
    let _g = rt.enter();
    let err = DnsServer::start(Path::new("/nonexistent/ns"), A_ID.into(), sample_state(), vec![]).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{err}");
}

#[test]
fn busybox_nslookup_from_inside() {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"].into_iter().find(|p| Path::new(p).exists());
    let Some(busybox) = busybox else {
        eprintln!("skipped: no busybox");
        return;
    };
    let Some(ns) = NetNs::new(false) else { return };
    let rt = runtime();
    let _g = rt.enter();
    let server = DnsServer::start(&ns.path(), A_ID.into(), sample_state(), vec![]).unwrap();
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.name, busybox, "nslookup", "-type=a", "web", "127.0.0.11"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("10.1.0.3"), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    rt.block_on(server.stop());
}
