//! Kernel tests (root): bridges, veth and macvlan endpoints, isolation, internal networks,
//! masquerade and published ports, on the real kernel. Every test builds its own scratch
//! network namespaces (`wharf-net-test-<pid>-<n>`): one plays the host, others the containers
//! and an outside client; nothing touches the real host's links or rules, and the namespaces
//! are deleted by guards even when an assertion fails. Without root the tests are skipped,
//! unless `WHARF_IT=1` asks for a failure instead.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use wharf_network::*;

const PREFIX: &str = "wharf-net-test-";

fn can_run() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let tools = ["ip", "nft", "busybox"].iter().all(|t| {
        Command::new("sh").arg("-c").arg(format!("command -v {t}")).output().is_ok_and(|o| o.status.success())
    });
    if root && tools {
        return true;
    }
    if std::env::var("WHARF_IT").as_deref() == Ok("1") {
        panic!("kernel tests need root and ip, nft and busybox (root={root}, tools={tools})");
    }
    eprintln!("skipped: needs root and ip, nft, busybox");
    false
}

/// Removes namespaces left by test processes that died without cleaning up.
fn sweep_stale() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Ok(dir) = std::fs::read_dir("/run/netns") else { return };
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix(PREFIX) else { continue };
            let pid = rest.split('-').next().unwrap_or("");
            if !pid.is_empty() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                let _ = Command::new("ip").args(["netns", "del", &name]).output();
            }
        }
    });
}

fn cmd(program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn must(program: &str, args: &[&str]) -> String {
    let out = cmd(program, args);
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A scratch network namespace, deleted on drop.
struct Ns {
    name: String,
}

impl Ns {
    fn new() -> Ns {
        static N: AtomicUsize = AtomicUsize::new(0);
        sweep_stale();
        let name = format!("{PREFIX}{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst));
        must("ip", &["netns", "add", &name]);
        let ns = Ns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    fn netns(&self) -> NetNs {
        NetNs::Path(format!("/run/netns/{}", self.name).into())
    }

    /// `ip -n <ns> …`, asserting success.
    fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        must("ip", &all)
    }

    /// `ip -j -n <ns> …` parsed.
    fn ip_json(&self, args: &[&str]) -> Vec<Value> {
        let mut all = vec!["-j"];
        all.extend_from_slice(args);
        let out = self.ip(&all);
        if out.trim().is_empty() {
            return Vec::new();
        }
        serde_json::from_str::<Value>(&out).unwrap().as_array().cloned().unwrap_or_default()
    }

    fn exec(&self, args: &[&str]) -> Output {
        let mut all = vec!["netns", "exec", &self.name];
        all.extend_from_slice(args);
        cmd("ip", &all)
    }

    fn ping(&self, ip: &str) -> bool {
        self.exec(&["busybox", "ping", "-c1", "-W1", ip]).status.success()
    }

    fn links(&self) -> Vec<String> {
        self.ip_json(&["link", "show"]).iter().filter_map(|l| l["ifname"].as_str().map(String::from)).collect()
    }

    fn link(&self, name: &str) -> Value {
        self.ip_json(&["link", "show", "dev", name]).into_iter().next().unwrap()
    }

    fn ipv4(&self, dev: &str) -> Vec<String> {
        let addrs = self.ip_json(&["-4", "addr", "show", "dev", dev]);
        addrs
            .iter()
            .flat_map(|a| a["addr_info"].as_array().cloned().unwrap_or_default())
            .map(|i| format!("{}/{}", i["local"].as_str().unwrap(), i["prefixlen"]))
            .collect()
    }

    fn default_route(&self) -> Option<(String, String)> {
        self.ip_json(&["-4", "route", "show", "default"])
            .first()
            .map(|r| (r["gateway"].as_str().unwrap_or("").to_string(), r["dev"].as_str().unwrap_or("").to_string()))
    }

    /// The ruleset's tables as `family name`.
    fn nft_tables(&self) -> Vec<String> {
        let out = self.exec(&["nft", "-j", "list", "ruleset"]);
        assert!(out.status.success());
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["nftables"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i.get("table"))
            .map(|t| format!("{} {}", t["family"].as_str().unwrap(), t["name"].as_str().unwrap()))
            .collect()
    }

    /// The comments of every rule of `inet <table>`.
    fn nft_comments(&self, table: &str) -> Vec<String> {
        let out = self.exec(&["nft", "-j", "list", "table", "inet", table]);
        if !out.status.success() {
            return Vec::new();
        }
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["nftables"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i.get("rule"))
            .filter_map(|r| r["comment"].as_str().map(String::from))
            .collect()
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).output();
    }
}

/// A veth pair between two scratch namespaces, both ends up, with optional addresses.
fn wire(a: &Ns, a_if: &str, a_addr: Option<&str>, b: &Ns, b_if: &str, b_addr: Option<&str>) {
    a.ip(&["link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", &b.name]);
    for (ns, dev, addr) in [(a, a_if, a_addr), (b, b_if, b_addr)] {
        if let Some(addr) = addr {
            ns.ip(&["addr", "add", addr, "dev", dev]);
        }
        ns.ip(&["link", "set", dev, "up"]);
    }
}

fn net(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

/// A bridge network in the host namespace with its IPAM state.
struct TestNet {
    bridge: String,
    ipam: NetworkIpam,
}

impl TestNet {
    fn new(host: &Ns, bridge: &str, subnet: &str) -> TestNet {
        let ipam = NetworkIpam::new(net(subnet), None, None).unwrap();
        let cfg = BridgeConfig { name: bridge.into(), address: ipam.gateway_cidr(), mtu: None, address6: None };
        ensure_bridge(&host.netns(), &cfg).unwrap();
        TestNet { bridge: bridge.into(), ipam }
    }

    fn rules(&self, id: &str) -> NetworkRules {
        NetworkRules {
            network_id: id.into(),
            bridge: self.bridge.clone(),
            subnet: self.ipam.subnet(),
            subnet6: None,
            internal: false,
            icc: true,
            masquerade: true,
        }
    }

    /// Attaches a container as `ifname`, with the default route when `gateway`.
    fn attach(
        &mut self,
        host: &Ns,
        c: &Ns,
        ifname: &str,
        gateway: bool,
        port: PortOptions,
    ) -> (Ipv4Addr, VethAttachment) {
        let ip = self.ipam.allocate(None).unwrap();
        let ep = EndpointConfig {
            container: c.netns(),
            ifname: ifname.into(),
            address: Ipv4Net::new(ip, self.ipam.subnet().prefix()).unwrap(),
            mac: None,
            gateway: gateway.then(|| self.ipam.gateway()),
            mtu: None,
            address6: None,
            gateway6: None,
        };
        let att = attach_veth(&host.netns(), &self.bridge, &ep, port).unwrap();
        (ip, att)
    }
}

fn host_with_forwarding() -> Ns {
    let h = Ns::new();
    enable_ip_forward(&h.netns()).unwrap();
    h
}

#[test]
fn bridge_is_created_and_deleted_idempotently() {
    if !can_run() {
        return;
    }
    let h = Ns::new();
    let ns = h.netns();
    let cfg = BridgeConfig { name: "wbr0".into(), address: net("10.31.0.1/24"), mtu: Some(1400), address6: None };
    ensure_bridge(&ns, &cfg).unwrap();
    ensure_bridge(&ns, &cfg).unwrap();
    let link = h.link("wbr0");
    assert_eq!(link["mtu"], 1400);
    assert!(link["flags"].as_array().unwrap().iter().any(|f| f == "UP"), "{link}");
    assert_eq!(h.ipv4("wbr0"), ["10.31.0.1/24"]);
    assert!(link_exists(&ns, "wbr0").unwrap());

    // A new MTU is applied to the existing bridge.
    ensure_bridge(&ns, &BridgeConfig { mtu: Some(1450), ..cfg.clone() }).unwrap();
    assert_eq!(h.link("wbr0")["mtu"], 1450);

    // A link of that name that is not a bridge is refused.
    h.ip(&["link", "add", "notabr", "type", "veth", "peer", "name", "notabr-p"]);
    let err = ensure_bridge(&ns, &BridgeConfig { name: "notabr".into(), ..cfg.clone() }).unwrap_err();
    assert!(matches!(err, Error::LinkConflict(_)), "{err}");
    assert!(matches!(
        ensure_bridge(&ns, &BridgeConfig { name: "bad/name".into(), ..cfg.clone() }),
        Err(Error::InvalidArgument(_))
    ));

    assert!(delete_bridge(&ns, "wbr0").unwrap());
    assert!(!delete_bridge(&ns, "wbr0").unwrap());
    assert!(!h.links().contains(&"wbr0".to_string()));

    // ip_forward is per namespace.
    enable_ip_forward(&ns).unwrap();
    enable_ip_forward(&ns).unwrap();
    let out = h.exec(&["cat", "/proc/sys/net/ipv4/ip_forward"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
}

#[test]
fn containers_on_one_bridge_reach_each_other() {
    if !can_run() {
        return;
    }
    let h = Ns::new();
    let (c1, c2) = (Ns::new(), Ns::new());
    let mut n = TestNet::new(&h, "wbr1", "10.32.0.0/24");
    let (ip1, a1) = n.attach(&h, &c1, "eth0", true, PortOptions::default());
    let (ip2, a2) = n.attach(&h, &c2, "eth0", true, PortOptions::default());
    assert_eq!(ip1.to_string(), "10.32.0.2");
    assert_eq!(ip2.to_string(), "10.32.0.3");

    // Docker's names, MAC and addresses.
    for a in [&a1, &a2] {
        assert!(a.host_ifname.len() == 11 && a.host_ifname.starts_with("veth"), "{}", a.host_ifname);
        assert!(a.host_ifname[4..].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        let host_end = h.link(&a.host_ifname);
        assert_eq!(host_end["master"], "wbr1");
        assert!(host_end["flags"].as_array().unwrap().iter().any(|f| f == "UP"));
    }
    assert_eq!(a1.mac.to_string(), "02:42:0a:20:00:02");
    assert_eq!(c1.link("eth0")["address"], "02:42:0a:20:00:02");
    assert_eq!(c1.ipv4("eth0"), ["10.32.0.2/24"]);
    assert_eq!(c1.default_route(), Some(("10.32.0.1".into(), "eth0".into())));
    assert!(c1.link("lo")["flags"].as_array().unwrap().iter().any(|f| f == "UP"));

    assert!(c1.ping("10.32.0.3"));
    assert!(c2.ping("10.32.0.2"));
    assert!(c1.ping("10.32.0.1"));

    // A second network: eth1, no second default route.
    let mut n2 = TestNet::new(&h, "wbr2", "10.33.0.0/24");
    let (_, b1) = n2.attach(&h, &c1, "eth1", false, PortOptions::default());
    assert_eq!(c1.ipv4("eth1"), ["10.33.0.2/24"]);
    assert_eq!(c1.ip_json(&["-4", "route", "show", "default"]).len(), 1);
    assert_eq!(c1.default_route(), Some(("10.32.0.1".into(), "eth0".into())));

    // The interface name is taken: refused, and no host end is left behind.
    let before = h.links();
    let ep = EndpointConfig {
        container: c1.netns(),
        ifname: "eth0".into(),
        address: net("10.32.0.50/24"),
        mac: None,
        gateway: None,
        mtu: None,
        address6: None,
        gateway6: None,
    };
    let err = attach_veth(&h.netns(), "wbr1", &ep, PortOptions::default()).unwrap_err();
    assert!(matches!(err, Error::LinkConflict(_)), "{err}");
    // A missing bridge, and the host's own namespace as the container's, are refused too.
    assert!(matches!(attach_veth(&h.netns(), "nobr", &ep, PortOptions::default()), Err(Error::LinkNotFound(_))));
    let current = EndpointConfig { container: NetNs::Current, ..ep.clone() };
    assert!(matches!(
        attach_veth(&h.netns(), "wbr1", &current, PortOptions::default()),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(h.links(), before);

    // Detach removes both ends; a second detach finds nothing.
    for a in [&a1, &a2, &b1] {
        assert!(detach_veth(&h.netns(), &a.host_ifname).unwrap());
        assert!(!detach_veth(&h.netns(), &a.host_ifname).unwrap());
    }
    assert_eq!(c1.links(), ["lo"]);
    assert_eq!(c2.links(), ["lo"]);
    assert!(delete_bridge(&h.netns(), "wbr1").unwrap());
    assert!(delete_bridge(&h.netns(), "wbr2").unwrap());
    assert_eq!(h.links(), ["lo"]);
}

#[test]
fn icc_false_isolates_containers_of_a_bridge() {
    if !can_run() {
        return;
    }
    let h = host_with_forwarding();
    let (c1, c2) = (Ns::new(), Ns::new());
    let mut n = TestNet::new(&h, "wbr3", "10.34.0.0/24");
    let isolated = PortOptions { isolated: true, hairpin: false };
    n.attach(&h, &c1, "eth0", true, isolated);
    n.attach(&h, &c2, "eth0", true, isolated);
    let nat = Nat::new("wharf", h.netns()).unwrap();
    nat.add_network(&NetworkRules { icc: false, ..n.rules("n3") }).unwrap();
    assert!(!c1.ping("10.34.0.3"), "icc=false must block container to container");
    assert!(c1.ping("10.34.0.1"), "the gateway stays reachable");
    assert!(c2.ping("10.34.0.1"));
    nat.flush_all().unwrap();
    assert!(h.nft_tables().is_empty());
}

#[test]
fn bridges_are_isolated_by_the_rules() {
    if !can_run() {
        return;
    }
    let h = host_with_forwarding();
    let (c1, c2) = (Ns::new(), Ns::new());
    let mut n1 = TestNet::new(&h, "wbr4", "10.35.0.0/24");
    let mut n2 = TestNet::new(&h, "wbr5", "10.36.0.0/24");
    n1.attach(&h, &c1, "eth0", true, PortOptions::default());
    n2.attach(&h, &c2, "eth0", true, PortOptions::default());
    // Without rules the host routes between the bridges.
    assert!(c1.ping("10.36.0.2"));

    let nat = Nat::new("wharf-test", h.netns()).unwrap();
    assert!(!nat.exists().unwrap());
    nat.ensure().unwrap();
    nat.ensure().unwrap();
    nat.add_network(&n1.rules("net1")).unwrap();
    nat.add_network(&n2.rules("net2")).unwrap();
    // Re-adding replaces instead of duplicating.
    nat.add_network(&n2.rules("net2")).unwrap();
    let comments = h.nft_comments("wharf-test");
    let net2 = comments.iter().filter(|c| c.starts_with("n=net2 ")).count();
    let net1 = comments.iter().filter(|c| c.starts_with("n=net1 ")).count();
    assert_eq!(net1, net2, "{comments:?}");

    assert!(!c1.ping("10.36.0.2"), "two wharf bridges must be isolated");
    assert!(!c2.ping("10.35.0.2"));
    assert!(c1.ping("10.35.0.1"));

    // Removing one network's rules removes exactly those: the other's stay, and the removed
    // bridge is no longer in the isolation set.
    nat.remove_network("net2").unwrap();
    nat.remove_network("net2").unwrap();
    let comments = h.nft_comments("wharf-test");
    assert!(comments.iter().all(|c| c.starts_with("n=net1 ")), "{comments:?}");
    assert_eq!(comments.len(), net1);
    assert!(c1.ping("10.36.0.2"));

    nat.flush_all().unwrap();
    nat.flush_all().unwrap();
    assert!(h.nft_tables().is_empty());
}

#[test]
fn masquerade_and_internal_networks() {
    if !can_run() {
        return;
    }
    let h = host_with_forwarding();
    let outside = Ns::new();
    wire(&h, "ext0", Some("10.200.0.1/24"), &outside, "ext1", Some("10.200.0.2/24"));
    let (c1, c2, c3) = (Ns::new(), Ns::new(), Ns::new());
    let mut n1 = TestNet::new(&h, "wbr6", "10.37.0.0/24");
    let mut n2 = TestNet::new(&h, "wbr7", "10.38.0.0/24");
    n1.attach(&h, &c1, "eth0", true, PortOptions::default());
    // Docker gives internal networks no default route; one is added here anyway so that only
    // the rules stand between the container and the outside.
    n2.attach(&h, &c2, "eth0", true, PortOptions::default());
    n2.attach(&h, &c3, "eth0", true, PortOptions::default());
    // The outside knows the way back to the internal subnet, not to the other one.
    outside.ip(&["route", "add", "10.38.0.0/24", "via", "10.200.0.1"]);
    assert!(!c1.ping("10.200.0.2"), "no way back without masquerade");
    assert!(c2.ping("10.200.0.2"));

    let nat = Nat::new("wharf", h.netns()).unwrap();
    nat.add_network(&n1.rules("pub")).unwrap();
    nat.add_network(&NetworkRules { internal: true, ..n2.rules("int") }).unwrap();
    assert!(c1.ping("10.200.0.2"), "masquerade lets a container reach out");
    assert!(!c2.ping("10.200.0.2"), "an internal network cannot reach out");
    assert!(!outside.ping("10.38.0.2"), "nor be reached from outside");
    assert!(c2.ping("10.38.0.3"), "containers of an internal network still talk");
    // Unsolicited inbound traffic to a non-internal network is dropped too.
    outside.ip(&["route", "add", "10.37.0.0/24", "via", "10.200.0.1"]);
    assert!(!outside.ping("10.37.0.2"));

    nat.remove_network("int").unwrap();
    assert!(c2.ping("10.200.0.2"));
    nat.remove_network("pub").unwrap();
    assert!(h.nft_comments("wharf").is_empty());
    nat.flush_all().unwrap();
    assert!(h.nft_tables().is_empty());
}

/// A TCP server inside a namespace answering `hello from <tag>` to every connection until
/// stopped.
struct Server {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(ns: &Ns, port: u16, tag: &'static str) -> Server {
        Server::start_on(ns, SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)), tag)
    }

    /// A server bound to `bind` (an IPv6 address binds IPv6 only).
    fn start_on(ns: &Ns, bind: SocketAddr, tag: &'static str) -> Server {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let netns = ns.netns();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            netns
                .run(move || {
                    let listener = TcpListener::bind(bind).unwrap();
                    listener.set_nonblocking(true).unwrap();
                    tx.send(()).unwrap();
                    while !flag.load(Ordering::SeqCst) {
                        match listener.accept() {
                            Ok((mut s, _)) => {
                                let _ = s.set_nonblocking(false);
                                let _ = s.write_all(format!("hello from {tag}").as_bytes());
                            }
                            Err(_) => std::thread::sleep(Duration::from_millis(5)),
                        }
                    }
                })
                .unwrap();
        });
        rx.recv_timeout(Duration::from_secs(5)).expect("server did not start");
        Server { stop, thread: Some(thread) }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Connects from inside `ns` and returns what the server said.
fn fetch(ns: &NetNs, addr: &str) -> Option<String> {
    let addr: SocketAddr = addr.parse().unwrap();
    ns.run(move || {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(1500)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    })
    .unwrap()
}

#[test]
fn published_ports_are_reachable() {
    if !can_run() {
        return;
    }
    let h = host_with_forwarding();
    let client = Ns::new();
    wire(&h, "ext0", Some("10.201.0.1/24"), &client, "ext1", Some("10.201.0.2/24"));
    let (c1, c2) = (Ns::new(), Ns::new());
    let mut n = TestNet::new(&h, "wbr8", "10.39.0.0/24");
    let hairpin = PortOptions { hairpin: true, isolated: false };
    let (ip1, _) = n.attach(&h, &c1, "eth0", true, hairpin);
    n.attach(&h, &c2, "eth0", true, hairpin);
    let _server = Server::start(&c1, 80, "c1");

    let nat = Nat::new("wharf", h.netns()).unwrap();
    nat.add_network(&n.rules("web")).unwrap();
    let ports = vec![
        PortMapping { protocol: Protocol::Tcp, host_ip: None, host_port: 8080, container_port: 80 },
        PortMapping {
            protocol: Protocol::Tcp,
            host_ip: Some("10.201.0.1".parse().unwrap()),
            host_port: 8081,
            container_port: 80,
        },
        PortMapping {
            protocol: Protocol::Tcp,
            host_ip: Some("10.99.99.99".parse().unwrap()),
            host_port: 8082,
            container_port: 80,
        },
        PortMapping { protocol: Protocol::Udp, host_ip: None, host_port: 8080, container_port: 80 },
    ];
    let ep = EndpointRules {
        network_id: "web".into(),
        endpoint_id: "c1".into(),
        bridge: "wbr8".into(),
        address: ip1,
        address6: None,
        ports,
    };
    nat.add_endpoint(&ep).unwrap();
    nat.add_endpoint(&ep).unwrap(); // replaces

    let hello = Some("hello from c1".to_string());
    // From another namespace through the host's address.
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut got = fetch(&client.netns(), "10.201.0.1:8080");
    while got.is_none() && Instant::now() < deadline {
        got = fetch(&client.netns(), "10.201.0.1:8080");
    }
    assert_eq!(got, hello);
    assert_eq!(fetch(&client.netns(), "10.201.0.1:8081"), hello, "published on a given host address");
    assert_eq!(fetch(&client.netns(), "10.201.0.1:8082"), None, "published on another host address only");
    // From the host itself (locally generated, output chain).
    assert_eq!(fetch(&h.netns(), "10.201.0.1:8080"), hello);
    // From another container on the same bridge, and from the container itself (hairpin).
    assert_eq!(fetch(&c2.netns(), "10.201.0.1:8080"), hello);
    assert_eq!(fetch(&c1.netns(), "10.201.0.1:8080"), hello);
    // Direct access to the container from outside is dropped.
    client.ip(&["route", "add", "10.39.0.0/24", "via", "10.201.0.1"]);
    assert!(!client.ping(&ip1.to_string()));

    nat.remove_endpoint("web", "c1").unwrap();
    nat.remove_endpoint("web", "c1").unwrap();
    assert_eq!(fetch(&client.netns(), "10.201.0.1:8080"), None);
    let comments = h.nft_comments("wharf");
    assert!(comments.iter().all(|c| !c.contains("e=")), "{comments:?}");

    // Removing the network takes its endpoints' rules along.
    nat.add_endpoint(&ep).unwrap();
    nat.remove_network("web").unwrap();
    assert!(h.nft_comments("wharf").is_empty());
    nat.flush_all().unwrap();
    assert!(h.nft_tables().is_empty());
}

#[test]
fn macvlan_on_a_veth_parent() {
    if !can_run() {
        return;
    }
    let h = Ns::new();
    let lan = Ns::new();
    let c = Ns::new();
    wire(&h, "mvp0", None, &lan, "mvp1", Some("10.50.0.1/24"));
    let ep = EndpointConfig {
        container: c.netns(),
        ifname: "eth0".into(),
        address: net("10.50.0.2/24"),
        mac: None,
        gateway: Some("10.50.0.1".parse().unwrap()),
        mtu: Some(1400),
        address6: None,
        gateway6: None,
    };
    let mac = attach_macvlan(&h.netns(), "mvp0", &ep).unwrap();
    assert_eq!(mac.to_string(), "02:42:0a:32:00:02");
    let link = c.link("eth0");
    assert_eq!(link["address"], "02:42:0a:32:00:02");
    assert_eq!(link["mtu"], 1400);
    assert_eq!(c.ipv4("eth0"), ["10.50.0.2/24"]);
    assert_eq!(c.default_route(), Some(("10.50.0.1".into(), "eth0".into())));
    assert!(c.ping("10.50.0.1"));
    // Nothing appeared in the host namespace.
    assert_eq!(h.links(), ["lo", "mvp0"]);

    let err = attach_macvlan(&h.netns(), "nope0", &EndpointConfig { ifname: "eth1".into(), ..ep.clone() }).unwrap_err();
    assert_eq!(err.to_string(), "-o parent interface was not found on the host: nope0");
    let err = attach_macvlan(&h.netns(), "mvp0", &ep).unwrap_err();
    assert!(matches!(err, Error::LinkConflict(_)), "{err}");

    assert!(detach_macvlan(&c.netns(), "eth0").unwrap());
    assert!(!detach_macvlan(&c.netns(), "eth0").unwrap());
    assert_eq!(c.links(), ["lo"]);
}

impl Ns {
    fn ping6(&self, ip: &str) -> bool {
        self.exec(&["busybox", "ping", "-6", "-c1", "-W1", ip]).status.success()
    }

    /// `addr/prefix flags…` of the interface's global IPv6 addresses.
    fn ipv6(&self, dev: &str) -> Vec<String> {
        let addrs = self.ip_json(&["-6", "addr", "show", "dev", dev, "scope", "global"]);
        addrs
            .iter()
            .flat_map(|a| a["addr_info"].as_array().cloned().unwrap_or_default())
            .filter(|i| i.get("local").is_some())
            .map(|i| {
                let mut flags = Vec::new();
                for f in ["nodad", "tentative", "dadfailed"] {
                    if i.get(f).is_some_and(|v| v == true) {
                        flags.push(f);
                    }
                }
                format!(
                    "{}/{}{}",
                    i["local"].as_str().unwrap(),
                    i["prefixlen"],
                    if flags.is_empty() { String::new() } else { format!(" {}", flags.join(" ")) }
                )
            })
            .collect()
    }

    fn sysctl(&self, key: &str) -> String {
        let out = self.exec(&["cat", &format!("/proc/sys/{}", key.replace('.', "/"))]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

fn net6(s: &str) -> Ipv6Net {
    s.parse().unwrap()
}

#[test]
fn dual_stack_bridge_endpoints_and_published_ports() {
    if !can_run() {
        return;
    }
    let h = host_with_forwarding();
    enable_ipv6_forward(&h.netns()).unwrap();
    assert_eq!(h.sysctl("net.ipv6.conf.all.forwarding"), "1");
    let client = Ns::new();
    wire(&h, "ext0", None, &client, "ext1", None);
    h.ip(&["addr", "add", "fd00:201::1/64", "dev", "ext0", "nodad"]);
    client.ip(&["addr", "add", "fd00:201::2/64", "dev", "ext1", "nodad"]);
    let (c1, c2, c4) = (Ns::new(), Ns::new(), Ns::new());
    let mut ipam = NetworkIpam::new(net("10.41.0.0/24"), None, None).unwrap();
    let mut ipam6 = NetworkIpam6::new(net6("fd00:41::/64"), None, None).unwrap();
    let cfg = BridgeConfig {
        name: "wbr9".into(),
        address: ipam.gateway_cidr(),
        mtu: None,
        address6: Some(ipam6.gateway_cidr()),
    };
    ensure_bridge(&h.netns(), &cfg).unwrap();
    ensure_bridge(&h.netns(), &cfg).unwrap();
    assert_eq!(h.ipv6("wbr9"), ["fd00:41::1/64 nodad"]);
    let mut attach = |c: &Ns, v6: bool| {
        let ip = ipam.allocate(None).unwrap();
        let ip6 = v6.then(|| ipam6.allocate(None).unwrap());
        let ep = EndpointConfig {
            container: c.netns(),
            ifname: "eth0".into(),
            address: Ipv4Net::new(ip, 24).unwrap(),
            mac: None,
            gateway: Some(ipam.gateway()),
            mtu: None,
            address6: ip6.map(|a| Ipv6Net::new(a, 64).unwrap()),
            gateway6: ip6.map(|_| ipam6.gateway()),
        };
        attach_veth(&h.netns(), "wbr9", &ep, PortOptions { hairpin: true, isolated: false }).unwrap();
        (ip, ip6)
    };
    let (ip1, ip61) = attach(&c1, true);
    let (_, ip62) = attach(&c2, true);
    let (_, none) = attach(&c4, false);
    let (ip61, ip62) = (ip61.unwrap(), ip62.unwrap());
    assert_eq!((ip61.to_string(), ip62.to_string(), none), ("fd00:41::2".into(), "fd00:41::3".into(), None));
    // The address is usable at once (no DAD), the default route goes to the gateway, IPv6 is
    // on; the IPv4-only endpoint has IPv6 off, as dockerd leaves it.
    assert_eq!(c1.ipv6("eth0"), ["fd00:41::2/64 nodad"]);
    let routes = c1.ip_json(&["-6", "route", "show", "default"]);
    assert_eq!(routes.len(), 1, "{routes:?}");
    assert_eq!((routes[0]["gateway"].as_str(), routes[0]["dev"].as_str()), (Some("fd00:41::1"), Some("eth0")));
    assert_eq!(c1.sysctl("net.ipv6.conf.eth0.disable_ipv6"), "0");
    assert_eq!(c4.sysctl("net.ipv6.conf.eth0.disable_ipv6"), "1");
    assert!(c4.ipv6("eth0").is_empty());
    assert!(c1.ping6("fd00:41::3"));
    assert!(c2.ping6("fd00:41::2"));
    assert!(c1.ping6("fd00:41::1"));

    let nat = Nat::new("wharf-v6", h.netns()).unwrap();
    nat.add_network(&NetworkRules {
        network_id: "ds".into(),
        bridge: "wbr9".into(),
        subnet: ipam.subnet(),
        subnet6: Some(ipam6.subnet()),
        internal: false,
        icc: true,
        masquerade: true,
    })
    .unwrap();
    // Masquerade: the client knows no way back to the containers' subnet, yet is reached.
    assert!(c1.ping6("fd00:201::2"), "IPv6 masquerade");
    // Unsolicited traffic from outside to the bridge is dropped (IPv6 too).
    client.ip(&["-6", "route", "add", "fd00:41::/64", "via", "fd00:201::1"]);
    assert!(!client.ping6("fd00:41::2"));

    // (Bound to the addresses: `[::]:80` would be dual-stack and take 0.0.0.0:80 too.)
    let _server = Server::start_on(&c1, SocketAddr::from((ip61, 80)), "c1-v6");
    let _server4 = Server::start_on(&c1, SocketAddr::from((ip1, 80)), "c1-v4");
    let tcp = |host_ip: &str, host_port| PortMapping {
        protocol: Protocol::Tcp,
        host_ip: Some(host_ip.parse().unwrap()),
        host_port,
        container_port: 80,
    };
    let ep = EndpointRules {
        network_id: "ds".into(),
        endpoint_id: "c1".into(),
        bridge: "wbr9".into(),
        address: ip1,
        address6: Some(ip61),
        ports: vec![tcp("0.0.0.0", 8080), tcp("::", 8080), tcp("fd00:201::1", 8081)],
    };
    nat.add_endpoint(&ep).unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut got = fetch(&client.netns(), "[fd00:201::1]:8080");
    while got.is_none() && Instant::now() < deadline {
        got = fetch(&client.netns(), "[fd00:201::1]:8080");
    }
    assert_eq!(got.as_deref(), Some("hello from c1-v6"), "DNAT to the container's IPv6 address");
    assert_eq!(fetch(&client.netns(), "[fd00:201::1]:8081").as_deref(), Some("hello from c1-v6"));
    assert_eq!(fetch(&h.netns(), "[fd00:201::1]:8080").as_deref(), Some("hello from c1-v6"), "from the host");
    // Hairpin: the container itself, and its neighbour, through the host's address.
    assert_eq!(fetch(&c2.netns(), "[fd00:201::1]:8080").as_deref(), Some("hello from c1-v6"));
    assert_eq!(fetch(&c1.netns(), "[fd00:201::1]:8080").as_deref(), Some("hello from c1-v6"));
    // IPv4 still goes to the IPv4 server.
    h.ip(&["addr", "add", "10.201.1.1/24", "dev", "ext0"]);
    assert_eq!(fetch(&h.netns(), "10.201.1.1:8080").as_deref(), Some("hello from c1-v4"));
    // ::1 is not DNATed (the userland proxy's business).
    assert_eq!(fetch(&h.netns(), "[::1]:8080"), None);

    nat.remove_endpoint("ds", "c1").unwrap();
    assert_eq!(fetch(&client.netns(), "[fd00:201::1]:8080"), None);
    nat.remove_network("ds").unwrap();
    assert!(h.nft_comments("wharf-v6").is_empty());
    nat.flush_all().unwrap();
    assert!(h.nft_tables().is_empty());
}

#[test]
fn a_legacy_ip_table_is_replaced_by_the_inet_one() {
    if !can_run() {
        return;
    }
    let h = Ns::new();
    h.exec(&["nft", "add", "table", "ip", "wharf-old"]);
    h.exec(&["nft", "add", "chain", "ip", "wharf-old", "forward", "{ type filter hook forward priority 0; }"]);
    assert_eq!(h.nft_tables(), ["ip wharf-old"]);
    let nat = Nat::new("wharf-old", h.netns()).unwrap();
    assert!(nat.ensure().unwrap(), "the legacy table was there");
    assert_eq!(h.nft_tables(), ["inet wharf-old"]);
    assert!(nat.exists().unwrap());
    assert!(!nat.ensure().unwrap(), "nothing legacy the second time");
    // A legacy table left next to the new one goes at flush too.
    h.exec(&["nft", "add", "table", "ip", "wharf-old"]);
    nat.flush_all().unwrap();
    assert!(h.nft_tables().is_empty());
    assert!(!nat.exists().unwrap());
}

/// `iptables`/`ip6tables` (iptables-nft, as dockerd uses it) inside `ns`, asserting success.
fn xtables(ns: &Ns, tool: &str, args: &[&str]) -> String {
    let mut all = vec![tool];
    all.extend_from_slice(args);
    let out = ns.exec(&all);
    assert!(out.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn docker_s_forward_policy_lets_our_bridges_through_docker_user() {
    if !can_run() {
        return;
    }
    let have_iptables = Command::new("sh").arg("-c").arg("iptables -V | grep -q nf_tables").status();
    if !have_iptables.is_ok_and(|s| s.success()) {
        assert!(std::env::var("WHARF_IT").as_deref() != Ok("1"), "this test needs iptables-nft");
        eprintln!("skipped: needs iptables-nft");
        return;
    }
    let h = host_with_forwarding();
    let outside = Ns::new();
    wire(&h, "ext0", Some("10.202.0.1/24"), &outside, "ext1", Some("10.202.0.2/24"));
    let c1 = Ns::new();
    let mut n = TestNet::new(&h, "wbr5", "10.36.0.0/24");
    let (ip1, _) = n.attach(&h, &c1, "eth0", true, PortOptions::default());
    let _server = Server::start(&c1, 80, "c1");
    let nat = Nat::new("wharf", h.netns()).unwrap();
    nat.add_network(&n.rules("n1")).unwrap();
    let ports = vec![PortMapping { protocol: Protocol::Tcp, host_ip: None, host_port: 8080, container_port: 80 }];
    let ep = EndpointRules {
        network_id: "n1".into(),
        endpoint_id: "c1".into(),
        bridge: "wbr5".into(),
        address: ip1,
        address6: None,
        ports,
    };
    nat.add_endpoint(&ep).unwrap();
    let reach = || c1.ping("10.202.0.2");
    let fetch_published = || {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let got = fetch(&outside.netns(), "10.202.0.1:8080");
            if got.is_some() || Instant::now() > deadline {
                return got;
            }
        }
    };
    assert!(reach(), "without Docker, our table lets the container out");

    // Without Docker's chain, nothing is created anywhere.
    let du = DockerUser::new("wharf", h.netns()).unwrap();
    let pass = DockerUserPass { network_id: "n1".into(), bridge: "wbr5".into() };
    assert_eq!(du.ensure(std::slice::from_ref(&pass)).unwrap(), 0);
    assert_eq!(h.nft_tables(), ["inet wharf"]);

    // dockerd's layout (20.10, iptables-nft), and an administrator's own rule.
    for tool in ["iptables", "ip6tables"] {
        xtables(&h, tool, &["-N", "DOCKER-USER"]);
        xtables(&h, tool, &["-A", "DOCKER-USER", "-j", "RETURN"]);
        xtables(&h, tool, &["-I", "FORWARD", "-j", "DOCKER-USER"]);
        xtables(&h, tool, &["-P", "FORWARD", "DROP"]);
        xtables(&h, tool, &["-I", "DOCKER-USER", "-i", "adm9", "-j", "DROP"]);
    }
    // Docker's tables without counters (our packets move them).
    let docker_tables = || {
        let list = |f: &str| {
            String::from_utf8_lossy(&h.exec(&["nft", "-s", "list", "table", f, "filter"]).stdout).into_owned()
        };
        list("ip") + &list("ip6")
    };
    let docker_only = docker_tables();
    assert!(docker_only.contains("policy drop;"), "{docker_only}");
    assert!(!reach(), "Docker's FORWARD policy drops our egress");
    assert_eq!(fetch(&outside.netns(), "10.202.0.1:8080"), None, "and our published ports");

    assert_eq!(du.ensure(std::slice::from_ref(&pass)).unwrap(), 2);
    assert!(reach(), "egress passes DOCKER-USER");
    assert_eq!(fetch_published().as_deref(), Some("hello from c1"), "published ports pass DOCKER-USER");
    // Unsolicited traffic to the bridge is still dropped, by our own table.
    outside.ip(&["route", "add", "10.36.0.0/24", "via", "10.202.0.1"]);
    assert!(!outside.ping(&ip1.to_string()));
    // iptables-nft reads the chain back (no expression it does not know), with ours after the
    // administrator's rule and before Docker's RETURN.
    for tool in ["iptables", "ip6tables"] {
        assert_eq!(
            xtables(&h, tool, &["-S", "DOCKER-USER"]),
            "-N DOCKER-USER\n-A DOCKER-USER -i adm9 -j DROP\n\
             -A DOCKER-USER -i wbr5 -m comment --comment \"wharf t=wharf n=n1 b=wbr5 egress\" -j ACCEPT\n\
             -A DOCKER-USER -o wbr5 -m comment --comment \"wharf t=wharf n=n1 b=wbr5 ingress\" -j ACCEPT\n\
             -A DOCKER-USER -j RETURN\n"
        );
        xtables(&h, tool, &["-C", "DOCKER-USER", "-j", "RETURN"]);
    }
    // Ensuring again changes nothing (same handles); another daemon's rules stay apart.
    let before = du.dump("ip").unwrap();
    assert_eq!(du.ensure(std::slice::from_ref(&pass)).unwrap(), 2);
    assert_eq!(du.dump("ip").unwrap(), before);
    let other = DockerUser::new("wharf-other", h.netns()).unwrap();
    other.ensure(&[DockerUserPass { network_id: "n1".into(), bridge: "wbr4".into() }]).unwrap();
    du.remove("n1").unwrap();
    assert!(!reach());
    let left = xtables(&h, "iptables", &["-S", "DOCKER-USER"]);
    assert!(left.contains("t=wharf-other") && !left.contains("t=wharf "), "{left}");
    other.remove_all().unwrap();
    // Docker's rules are exactly what they were.
    assert_eq!(docker_tables(), docker_only);

    // Stale rules of networks that are gone go with `retain`; `remove_all` takes the rest.
    du.ensure(&[pass.clone(), DockerUserPass { network_id: "gone".into(), bridge: "wbr3".into() }]).unwrap();
    du.retain(&["n1"]).unwrap();
    let left = xtables(&h, "ip6tables", &["-S", "DOCKER-USER"]);
    assert!(left.contains("n=n1") && !left.contains("n=gone"), "{left}");
    assert!(reach());
    du.remove_all().unwrap();
    assert!(!reach());
    assert_eq!(docker_tables(), docker_only);
    nat.flush_all().unwrap();
}
