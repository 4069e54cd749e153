//! Networks end to end: the default bridge, user-defined networks with the embedded DNS,
//! isolation, `--internal`, and nothing left on the host afterwards — through the stock docker
//! CLI and `wharf`.

use wharf_it::images::{busybox_image, have_busybox};
use wharf_it::Daemon;

fn with_busybox() -> Option<Daemon> {
    wharf_it::images::daemon_with_busybox()
}

/// A /24 for this daemon's `k`-th user network, apart from every other test daemon's.
fn subnet(d: &Daemon, k: u32) -> String {
    format!("10.{}.{}.0/24", 170 + k * 8 + d.slot.index / 256, d.slot.index % 256)
}

fn link_exists(name: &str) -> bool {
    std::path::Path::new("/sys/class/net").join(name).exists()
}

#[test]
fn default_bridge_and_predefined_networks() {
    let Some(mut d) = with_busybox() else { return };
    let names = d.docker(&["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
    let mut names: Vec<&str> = names.ok().lines().collect();
    names.sort();
    assert_eq!(names, ["bridge bridge", "host host", "none null"]);
    let gw = format!("{}.1", d.slot.subnet.trim_end_matches(".0/24"));
    // A container on the default bridge: an address in the daemon's subnet, the gateway
    // reachable, the default route through it.
    let out = d.docker(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        &format!("ip -4 route; ping -c1 -W2 {gw} >/dev/null && echo gw-ok"),
    ]);
    let out = out.ok();
    assert!(out.contains(&format!("default via {gw} dev eth0")), "{out}");
    assert!(out.contains("gw-ok"), "{out}");
    d.docker(&["run", "-d", "--name", "b1", "busybox", "sleep", "60"]).ok();
    let ip = d.docker(&["inspect", "--format", "{{.NetworkSettings.IPAddress}}", "b1"]).ok().trim().to_string();
    assert!(ip.starts_with(d.slot.subnet.trim_end_matches("0/24")), "{ip}");
    let via = d.docker(&["inspect", "--format", "{{.NetworkSettings.Networks.bridge.IPAddress}}", "b1"]);
    assert_eq!(via.ok().trim(), ip);
    let inspect = d.docker(&[
        "network",
        "inspect",
        "--format",
        "{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}",
        "bridge",
    ]);
    assert_eq!(inspect.ok().trim(), format!("b1 {ip}/24"));
    // The default bridge has no name resolution (Docker's legacy behaviour).
    let r = d.docker(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "ping -c1 -W1 b1 >/dev/null 2>&1 && echo found || echo unknown",
    ]);
    assert_eq!(r.ok().trim(), "unknown");
    // --network none: loopback only; host: the host's interfaces.
    let none = d.docker(&["run", "--rm", "--network", "none", "busybox", "ip", "-o", "link"]);
    assert_eq!(none.ok().lines().count(), 1, "{}", none.stdout);
    let host = d.docker(&["run", "--rm", "--network", "host", "busybox", "ip", "-o", "link"]);
    assert!(host.ok().contains(&d.slot.bridge), "{}", host.stdout);
    // Predefined networks cannot be removed.
    let err = d.docker(&["network", "rm", "bridge"]);
    assert!(err.failed().contains("bridge is a pre-defined network and cannot be removed"), "{}", err.stderr);
    d.docker(&["rm", "-f", "b1"]).ok();
    d.stop();
    assert!(!link_exists(&d.slot.bridge));
}

#[test]
fn user_networks_resolve_names_and_stay_apart() {
    let Some(mut d) = with_busybox() else { return };
    let (sa, sb, sc) = (subnet(&d, 0), subnet(&d, 1), subnet(&d, 2));
    let a = d.docker(&["network", "create", "--subnet", &sa, "--label", "tier=front", "neta"]).ok().trim().to_string();
    let b = d.docker(&["network", "create", "--subnet", &sb, "netb"]).ok().trim().to_string();
    let c = d.docker(&["network", "create", "--internal", "--subnet", &sc, "netc"]).ok().trim().to_string();
    assert_eq!(a.len(), 64);
    let err = d.docker(&["network", "create", "neta"]);
    assert!(err.failed().contains("network with name neta already exists"), "{}", err.stderr);
    let ls = d.docker(&["network", "ls", "--filter", "label=tier=front", "--format", "{{.Name}}"]);
    assert_eq!(ls.ok().trim(), "neta");
    assert_eq!(d.docker(&["network", "ls", "-q", "--filter", "type=custom"]).ok().lines().count(), 3);

    d.docker(&["run", "-d", "--name", "web", "--network", "neta", "--network-alias", "www", "busybox", "sleep", "120"])
        .ok();
    let ip = d.docker(&["inspect", "--format", "{{(index .NetworkSettings.Networks \"neta\").IPAddress}}", "web"]);
    let ip = ip.ok().trim().to_string();
    assert!(ip.starts_with(sa.trim_end_matches("0/24")), "{ip}");
    // Same network: by name and by alias, through 127.0.0.11.
    // (A few tries: on a loaded machine the very first packet may take a while.)
    let script =
        "cat /etc/resolv.conf; for i in 1 2 3; do ping -c1 -W2 web >/dev/null && echo ping-ok && break; done; \
                  nslookup www 127.0.0.11";
    let out = d.docker(&["run", "--rm", "--network", "neta", "busybox", "sh", "-c", script]);
    let out = out.ok();
    assert!(out.contains("nameserver 127.0.0.11"), "{out}");
    assert!(out.contains("ping-ok"), "{out}");
    assert!(out.contains(&format!("Address: {ip}")), "{out}");
    // Another network: neither the name nor the address.
    let script = format!(
        "nslookup web 127.0.0.11 >/dev/null 2>&1 && echo named || echo unnamed; ping -c1 -W1 {ip} >/dev/null 2>&1 && echo reached || echo isolated"
    );
    let out = d.docker(&["run", "--rm", "--network", "netb", "busybox", "sh", "-c", &script]);
    assert_eq!(out.ok().split_whitespace().collect::<Vec<_>>(), ["unnamed", "isolated"]);
    // --internal: no way out (not even to the host), but its containers see each other.
    let gw = format!("{}.1", d.slot.subnet.trim_end_matches(".0/24"));
    let out = d.docker(&[
        "run",
        "--rm",
        "--network",
        "netc",
        "busybox",
        "sh",
        "-c",
        &format!("ping -c1 -W1 {gw} >/dev/null 2>&1 && echo out || echo blocked"),
    ]);
    assert_eq!(out.ok().trim(), "blocked");
    // Inspect both ways.
    let members = d.docker(&["network", "inspect", "--format", "{{range .Containers}}{{.Name}}{{end}}", "neta"]);
    assert_eq!(members.ok().trim(), "web");
    let dns = d.docker(&["inspect", "--format", "{{json (index .NetworkSettings.Networks \"neta\").DNSNames}}", "web"]);
    assert!(dns.ok().contains("\"www\""), "{}", dns.stdout);
    // A network in use cannot go; an unknown one is a 404.
    let err = d.docker(&["network", "rm", "neta"]);
    assert!(err.failed().contains("has active endpoints"), "{}", err.stderr);
    // (The docker CLI takes any 404 of a create for a missing image and tries a pull; the
    // daemon's answer is the one Docker gives.)
    let body = br#"{"Image":"busybox","HostConfig":{"NetworkMode":"nosuch"}}"#;
    let r = d.api("POST", "/containers/create", Some(body)).unwrap();
    assert_eq!(r.status, 404);
    assert!(String::from_utf8_lossy(&r.body).contains("network nosuch not found"));

    d.docker(&["rm", "-f", "web"]).ok();
    let pruned = d.docker(&["network", "prune", "-f", "--filter", "label=tier=front"]);
    assert!(pruned.ok().contains("neta"), "{}", pruned.stdout);
    d.docker(&["network", "rm", "netb", "netc"]).ok();
    for id in [&a, &b, &c] {
        assert!(!link_exists(&format!("br-{}", &id[..12])), "bridge of {id} left");
    }
    d.stop();
}

#[test]
fn connect_disconnect_and_a_daemon_restart() {
    let Some(mut d) = with_busybox() else { return };
    let (s1, s2) = (subnet(&d, 3), subnet(&d, 4));
    d.docker(&["network", "create", "--subnet", &s1, "n1"]).ok();
    d.docker(&["network", "create", "--subnet", &s2, "n2"]).ok();
    d.docker(&["run", "-d", "--name", "c1", "--network", "n1", "busybox", "sleep", "300"]).ok();
    d.docker(&["run", "-d", "--name", "c2", "--network", "n2", "busybox", "sleep", "300"]).ok();
    fn reach(d: &Daemon, from: &str, to: &str) -> String {
        d.docker(&["exec", from, "sh", "-c", &format!("ping -c1 -W2 {to} >/dev/null 2>&1 && echo yes || echo no")])
            .ok()
            .trim()
            .to_string()
    }
    assert_eq!(reach(&d, "c2", "c1"), "no");
    // Live connect: a second interface, the alias resolvable from the other side.
    d.docker(&["network", "connect", "--alias", "second", "n1", "c2"]).ok();
    assert_eq!(reach(&d, "c2", "c1"), "yes");
    assert_eq!(reach(&d, "c1", "second"), "yes");
    let links = d.docker(&["exec", "c2", "ip", "-o", "link"]).ok().to_string();
    assert!(links.contains("eth1"), "{links}");
    let err = d.docker(&["network", "connect", "n1", "c2"]);
    assert!(err.failed().contains("already exists in network n1"), "{}", err.stderr);
    // The daemon dies and comes back: interfaces, addresses and the embedded DNS still work.
    d.kill9();
    d.spawn();
    d.wait_ready();
    assert_eq!(reach(&d, "c1", "second"), "yes");
    assert_eq!(reach(&d, "c2", "c1"), "yes");
    // Live disconnect.
    d.docker(&["network", "disconnect", "n1", "c2"]).ok();
    assert_eq!(reach(&d, "c2", "c1"), "no");
    assert!(!d.docker(&["exec", "c2", "ip", "-o", "link"]).ok().contains("eth1"));
    // A stopped container remembers a connect for its next start.
    d.docker(&["stop", "-t", "0", "c2"]).ok();
    d.docker(&["network", "connect", "n1", "c2"]).ok();
    d.docker(&["start", "c2"]).ok();
    assert_eq!(reach(&d, "c2", "c1"), "yes");
    d.docker(&["rm", "-f", "c1", "c2"]).ok();
    d.docker(&["network", "rm", "n1", "n2"]).ok();
    d.stop();
}

#[test]
fn published_ports() {
    let Some(mut d) = with_busybox() else { return };
    // A host address (the daemon's bridge gateway, local to the host) reaches the container
    // through the daemon's DNAT rules.
    let gw = format!("{}.1", d.slot.subnet.trim_end_matches(".0/24"));
    let (tcp, udp) = (20000 + (d.slot.index % 4000) as u16 * 2, 20001 + (d.slot.index % 4000) as u16 * 2);
    let script = "while true; do echo tcp-answer | nc -l -p 80; done";
    let pa = format!("{tcp}:80");
    let pu = format!("{udp}:81/udp");
    d.docker(&["run", "-d", "--name", "srv", "-p", &pa, "-p", &pu, "--expose", "90", "busybox", "sh", "-c", script])
        .ok();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let fetch = std::process::Command::new("busybox").args(["nc", "-w", "3", &gw, &tcp.to_string()]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&fetch.stdout), "tcp-answer\n");
    // The host's loopback goes through the userland proxy (DNAT does not see it).
    // (The one-shot `nc -l` in the container needs a moment to listen again.)
    let fetch = |host: &str| {
        for _ in 0..30 {
            let out =
                std::process::Command::new("busybox").args(["nc", "-w", "3", host, &tcp.to_string()]).output().unwrap();
            if !out.stdout.is_empty() {
                return String::from_utf8_lossy(&out.stdout).into_owned();
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        String::new()
    };
    assert_eq!(fetch("127.0.0.1"), "tcp-answer\n");
    // Docker 28 publishes on [::] too: the userland proxy forwards it to the container's IPv4
    // address (the default bridge has no IPv6).
    assert_eq!(fetch("::1"), "tcp-answer\n");
    // (UDP answers are checked in `published_tcp_and_udp_from_loopback_and_another_namespace`.)
    // Docker's views: inspect, ps, port — a 0.0.0.0 and a :: binding each.
    let ports = d.docker(&["inspect", "--format", "{{json .NetworkSettings.Ports}}", "srv"]);
    let v: serde_json::Value = serde_json::from_str(ports.ok().trim()).unwrap();
    assert_eq!(
        v["80/tcp"],
        serde_json::json!([{"HostIp": "0.0.0.0", "HostPort": tcp.to_string()}, {"HostIp": "::", "HostPort": tcp.to_string()}])
    );
    assert_eq!(
        v["81/udp"],
        serde_json::json!([{"HostIp": "0.0.0.0", "HostPort": udp.to_string()}, {"HostIp": "::", "HostPort": udp.to_string()}])
    );
    assert!(v["90/tcp"].is_null());
    let ps = d.docker(&["ps", "--format", "{{.Ports}}"]);
    assert!(ps.ok().contains(&format!("0.0.0.0:{tcp}->80/tcp, [::]:{tcp}->80/tcp")), "{}", ps.stdout);
    let port = d.docker(&["port", "srv", "80"]);
    assert_eq!(port.ok().lines().collect::<Vec<_>>(), [format!("0.0.0.0:{tcp}"), format!("[::]:{tcp}")]);
    // The same host port again: Docker's message, and nothing half-started.
    let err = d.docker(&["run", "-d", "--name", "dup", "-p", &pa, "busybox", "sleep", "30"]);
    assert!(
        err.failed().contains(&format!("Bind for 0.0.0.0:{tcp} failed: port is already allocated")),
        "{}",
        err.stderr
    );
    assert_eq!(d.docker(&["inspect", "--format", "{{.State.Status}}", "dup"]).ok().trim(), "created");
    // ps filters over networks and ports.
    let q = |f: &str| d.docker(&["ps", "-q", "--filter", f]).ok().lines().count();
    assert_eq!(q(&format!("publish={tcp}")), 1);
    assert_eq!(q("expose=80"), 1);
    assert_eq!(q("expose=90"), 1);
    assert_eq!(q("publish=1/udp"), 0);
    assert_eq!(q("network=bridge"), 1);
    assert_eq!(q("network=nosuch"), 0);
    // -P: an ephemeral host port for each exposed port.
    d.docker(&["run", "-d", "--name", "all", "-P", "--expose", "7000", "busybox", "sleep", "30"]).ok();
    let p =
        d.docker(&["inspect", "--format", "{{(index (index .NetworkSettings.Ports \"7000/tcp\") 0).HostPort}}", "all"]);
    let p: u16 = p.ok().trim().parse().unwrap();
    assert!(p >= 1024, "{p}");
    d.docker(&["rm", "-f", "srv", "dup", "all"]).ok();
    let proxies = wharf_it::processes_mentioning(&format!("-host-port\u{0}{tcp}\u{0}"));
    assert!(proxies.is_empty(), "proxies left: {proxies:?}");
    d.stop();
}

#[test]
fn macvlan_on_a_veth_parent() {
    let Some(mut d) = with_busybox() else { return };
    // The parent: one end of a veth pair whose other end lives in a test namespace standing in
    // for the outside world (this kernel has no dummy driver).
    let ns = format!("wharf-it-mv-{}", d.slot.index);
    let (parent, peer) = (format!("wmv{}a", d.slot.index), format!("wmv{}b", d.slot.index));
    let sh = |cmd: &str| std::process::Command::new("sh").arg("-c").arg(cmd).status().unwrap().success();
    let _ = sh(&format!("ip netns del {ns} 2>/dev/null; ip link del {parent} 2>/dev/null"));
    let _cleanup = Cleanup(format!("ip netns del {ns} 2>/dev/null; ip link del {parent} 2>/dev/null"));
    let sub = subnet(&d, 5);
    let base = sub.trim_end_matches(".0/24").to_string();
    assert!(sh(&format!(
        "ip netns add {ns} && ip link add {parent} type veth peer name {peer} && ip link set {peer} netns {ns} && \
         ip -n {ns} addr add {base}.200/24 dev {peer} && ip -n {ns} link set {peer} up && ip link set {parent} up"
    )));
    let err = d.docker(&["network", "create", "-d", "macvlan", "-o", "parent=nosuchif0", "mvbad"]);
    assert!(err.failed().contains("parent interface was not found on the host: nosuchif0"), "{}", err.stderr);
    d.docker(&["network", "create", "-d", "macvlan", "--subnet", &sub, "-o", &format!("parent={parent}"), "mv"]).ok();
    let out = d.docker(&[
        "run",
        "--rm",
        "--network",
        "mv",
        "--ip",
        &format!("{base}.10"),
        "busybox",
        "sh",
        "-c",
        &format!("ip -4 -o addr show eth0; ping -c1 -W2 {base}.200 >/dev/null && echo reached"),
    ]);
    let out = out.ok();
    assert!(out.contains(&format!("{base}.10/24")), "{out}");
    assert!(out.contains("reached"), "{out}");
    d.docker(&["network", "rm", "mv"]).ok();
    d.stop();
}

#[test]
fn hosts_and_resolv_conf_options() {
    let Some(mut d) = with_busybox() else { return };
    let out = d.docker(&[
        "run",
        "--rm",
        "--add-host",
        "db.local:10.9.8.7",
        "--add-host",
        "host.docker.internal:host-gateway",
        "--dns",
        "10.1.1.1",
        "--dns-search",
        "corp.example",
        "--dns-option",
        "ndots:3",
        "--hostname",
        "box",
        "busybox",
        "sh",
        "-c",
        "cat /etc/hosts /etc/resolv.conf; hostname",
    ]);
    let out = out.ok();
    assert!(out.contains("10.9.8.7\tdb.local\n"), "{out}");
    // `host-gateway` is the default bridge's gateway (the daemon's --bip).
    let gw = format!("{}.1", d.slot.subnet.trim_end_matches(".0/24"));
    assert!(out.contains(&format!("{gw}\thost.docker.internal\n")), "{out}");
    assert!(out.contains("nameserver 10.1.1.1\n") && out.contains("search corp.example\n"), "{out}");
    assert!(out.contains("options ndots:3\n") && out.trim_end().ends_with("box"), "{out}");
    // The container's own address names its hostname in /etc/hosts.
    let own = d.docker(&[
        "run",
        "--rm",
        "--hostname",
        "me",
        "busybox",
        "sh",
        "-c",
        "grep -w me /etc/hosts | cut -f1; ip -4 -o addr show eth0",
    ]);
    let own = own.ok().to_string();
    let ip = own.lines().next().unwrap_or_default().to_string();
    assert!(own.contains(&format!("inet {ip}/")), "{own}");
    d.stop();
}

#[test]
fn wharf_network_commands_match_docker() {
    let Some(mut d) = with_busybox() else { return };
    let s = subnet(&d, 6);
    let id = d.wharf(&["network", "create", "--subnet", &s, "--label", "k=v", "wn"]).ok().trim().to_string();
    assert_eq!(id.len(), 64);
    let (w, k) = d.both(&["network", "ls"]);
    assert_eq!(w.ok(), k.ok());
    let (w, k) = d.both(&["network", "inspect", "wn"]);
    assert_eq!(w.ok(), k.ok());
    d.wharf(&["run", "-d", "--name", "wc", "--network", "wn", "-p", "0:80", "busybox", "sleep", "60"]).ok();
    let (w, k) = d.both(&["port", "wc"]);
    assert_eq!(w.ok(), k.ok());
    assert!(w.stdout.starts_with("80/tcp -> 0.0.0.0:"), "{}", w.stdout);
    d.wharf(&["network", "disconnect", "wn", "wc"]).ok();
    d.wharf(&["network", "connect", "wn", "wc"]).ok();
    let err = d.wharf(&["network", "rm", "wn"]);
    assert!(err.failed().contains("has active endpoints"), "{}", err.stderr);
    d.wharf(&["rm", "-f", "wc"]).ok();
    d.wharf(&["network", "rm", "wn"]).ok();
    d.stop();
}

#[test]
fn fixed_cidr_and_default_address_pools() {
    if !have_busybox() {
        return;
    }
    // The range and pool come from this daemon's own slot, apart from every other test daemon.
    // (100.64.0.0/10: apart from the 10.x ranges the other tests use; every slot index fits.)
    let pool_of = |slot: &wharf_it::Slot| format!("100.{}.{}.0/23", 64 + slot.index / 128, (slot.index % 128) * 2);
    let mut d = Daemon::start_with_slot_args(|slot| {
        let net = slot.subnet.trim_end_matches(".0/24");
        vec![
            "--fixed-cidr".into(),
            format!("{net}.128/25"),
            "--default-address-pool".into(),
            format!("base={},size=24", pool_of(slot)),
        ]
    });
    let img = busybox_image("busybox:latest");
    let file = d.root.path().join("busybox.tar");
    std::fs::write(&file, &img.archive).unwrap();
    d.docker(&["load", "-i", file.to_str().unwrap()]).ok();
    let net = d.slot.subnet.trim_end_matches(".0/24").to_string();
    let ip = d.docker(&["run", "--rm", "busybox", "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'"]);
    let ip = ip.ok().trim().to_string();
    let last: u32 = ip.split('/').next().unwrap().rsplit('.').next().unwrap().parse().unwrap();
    assert!(ip.starts_with(&format!("{net}.")) && last >= 128, "{ip}");
    d.docker(&["network", "create", "pooled"]).ok();
    let sub = d.docker(&["network", "inspect", "--format", "{{(index .IPAM.Config 0).Subnet}}", "pooled"]);
    let sub = sub.ok().trim().to_string();
    let pool = pool_of(&d.slot);
    let prefix = pool.rsplitn(3, '.').nth(2).unwrap().to_string();
    assert!(sub.starts_with(&format!("{prefix}.")) && sub.ends_with("/24"), "{sub} from {pool}");
    d.docker(&["network", "rm", "pooled"]).ok();
    d.stop();
}

/// Removes a test namespace and link however a test ends.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::process::Command::new("sh").arg("-c").arg(&self.0).status();
    }
}

/// Runs `f` on a thread that has entered the network namespace at `ns` (a `/proc/PID/ns/net`
/// or `/run/netns/NAME` path).
fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> std::thread::JoinHandle<T> {
    let file = std::fs::File::open(ns).unwrap();
    std::thread::spawn(move || {
        rustix::thread::move_into_link_name_space(
            std::os::fd::AsFd::as_fd(&file),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .unwrap();
        f()
    })
}

/// Sends `msg` over UDP to `to` from a socket bound to `from` and waits for the echo.
fn udp_ask(from: &str, to: &str, msg: &str) -> String {
    let s = std::net::UdpSocket::bind(from).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_millis(300))).unwrap();
    let mut buf = [0u8; 256];
    // UDP is lossy by nature and the first datagram may race the proxy's start: retry.
    for _ in 0..20 {
        s.send_to(msg.as_bytes(), to).unwrap();
        if let Ok((n, _)) = s.recv_from(&mut buf) {
            return String::from_utf8_lossy(&buf[..n]).into_owned();
        }
    }
    String::new()
}

#[test]
fn published_tcp_and_udp_from_loopback_and_another_namespace() {
    let Some(mut d) = with_busybox() else { return };
    let (tcp, udp) = (28000 + (d.slot.index % 2000) as u16 * 2, 28001 + (d.slot.index % 2000) as u16 * 2);
    let script = "while true; do echo tcp-answer | nc -l -p 80; done";
    d.docker(&[
        "run",
        "-d",
        "--name",
        "srv",
        "-p",
        &format!("{tcp}:80"),
        "-p",
        &format!("{udp}:81/udp"),
        "busybox",
        "sh",
        "-c",
        script,
    ])
    .ok();
    // busybox has no UDP server: an echo server in the container's network namespace, run by
    // this test, stands in for the workload.
    let pid = d.docker(&["inspect", "--format", "{{.State.Pid}}", "srv"]).ok().trim().to_string();
    let echo = in_netns(&format!("/proc/{pid}/ns/net"), || {
        let s = std::net::UdpSocket::bind("0.0.0.0:81").unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
        let mut buf = [0u8; 256];
        let mut served = 0;
        while let Ok((n, peer)) = s.recv_from(&mut buf) {
            let reply = format!("echo:{}", String::from_utf8_lossy(&buf[..n]));
            s.send_to(reply.as_bytes(), peer).unwrap();
            served += 1;
            if buf[..n].starts_with(b"bye") {
                break;
            }
        }
        served
    });
    // The outside world: a namespace behind a veth pair, routed through the host.
    let i = d.slot.index;
    let ns = format!("wharf-it-pub-{i}");
    let (host_end, ns_end) = (format!("wpb{i}a"), format!("wpb{i}b"));
    let base = subnet(&d, 7).trim_end_matches(".0/24").to_string();
    let sh = |cmd: &str| std::process::Command::new("sh").arg("-c").arg(cmd).status().unwrap().success();
    let undo = format!("ip netns del {ns} 2>/dev/null; ip link del {host_end} 2>/dev/null");
    let _ = sh(&undo);
    let _cleanup = Cleanup(undo);
    assert!(sh(&format!(
        "ip netns add {ns} && ip link add {host_end} type veth peer name {ns_end} && ip link set {ns_end} netns {ns} && \
         ip addr add {base}.1/24 dev {host_end} && ip link set {host_end} up && \
         ip -n {ns} addr add {base}.2/24 dev {ns_end} && ip -n {ns} link set {ns_end} up && ip -n {ns} link set lo up && \
         ip -n {ns} route add default via {base}.1"
    )));
    // TCP from the other namespace (DNAT) and from loopback (the userland proxy); the one-shot
    // `nc -l` in the container needs a moment to listen again between the two.
    let fetch = |prefix: &[&str], host: &str| {
        for _ in 0..30 {
            let out = std::process::Command::new(prefix[0])
                .args(&prefix[1..])
                .args(["busybox", "nc", "-w", "3", host, &tcp.to_string()])
                .output()
                .unwrap();
            if !out.stdout.is_empty() {
                return String::from_utf8_lossy(&out.stdout).into_owned();
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        String::new()
    };
    assert_eq!(fetch(&["ip", "netns", "exec", &ns], &format!("{base}.1")), "tcp-answer\n");
    assert_eq!(fetch(&["env"], "127.0.0.1"), "tcp-answer\n");
    // UDP the same two ways.
    let to = format!("{base}.1:{udp}");
    let from_ns = in_netns(&format!("/run/netns/{ns}"), move || udp_ask("0.0.0.0:0", &to, "from-ns")).join().unwrap();
    assert_eq!(from_ns, "echo:from-ns");
    assert_eq!(udp_ask("127.0.0.1:0", &format!("127.0.0.1:{udp}"), "from-lo"), "echo:from-lo");
    assert_eq!(udp_ask("[::1]:0", &format!("[::1]:{udp}"), "from-lo6"), "echo:from-lo6");
    assert_eq!(udp_ask("127.0.0.1:0", &format!("127.0.0.1:{udp}"), "bye"), "echo:bye");
    assert!(echo.join().unwrap() >= 3);
    d.docker(&["rm", "-f", "srv"]).ok();
    // Once the container is gone, neither way answers any more.
    assert_eq!(udp_ask("127.0.0.1:0", &format!("127.0.0.1:{udp}"), "late"), "");
    d.stop();
}

#[test]
fn legacy_links_on_the_default_bridge() {
    let Some(mut d) = with_busybox() else { return };
    d.docker(&["run", "-d", "--name", "db", "-e", "PASSWORD=s3cret", "--expose", "6379", "busybox", "sleep", "60"])
        .ok();
    let ip = d.docker(&["inspect", "--format", "{{.NetworkSettings.IPAddress}}", "db"]).ok().trim().to_string();
    let host = d.docker(&["inspect", "--format", "{{.Config.Hostname}}", "db"]).ok().trim().to_string();
    let out = d.docker(&[
        "run",
        "--rm",
        "--name",
        "web",
        "--link",
        "db:cache",
        "busybox",
        "sh",
        "-c",
        "cat /etc/hosts; env | sort; ping -c1 -W2 cache >/dev/null && echo reached",
    ]);
    let out = out.ok();
    assert!(out.contains(&format!("{ip}\tcache {host} db\n")), "{out}");
    for want in [
        format!("CACHE_PORT=tcp://{ip}:6379"),
        format!("CACHE_PORT_6379_TCP_ADDR={ip}"),
        "CACHE_PORT_6379_TCP_PORT=6379".to_string(),
        "CACHE_NAME=/web/cache".to_string(),
        "CACHE_ENV_PASSWORD=s3cret".to_string(),
        "reached".to_string(),
    ] {
        assert!(out.lines().any(|l| l == want), "{want} missing in {out}");
    }
    // The same through the wharf CLI (the alias defaults to the name).
    let out = d.wharf(&["run", "--rm", "--link", "db", "busybox", "sh", "-c", "echo $DB_PORT_6379_TCP_PROTO"]);
    assert_eq!(out.ok().trim(), "tcp");
    let err = d.docker(&["run", "--rm", "--link", "nosuch:x", "busybox", "true"]);
    assert!(err.failed().contains("could not get container for nosuch"), "{}", err.stderr);
    d.docker(&["stop", "-t", "0", "db"]).ok();
    let err = d.docker(&["run", "--name", "late", "--link", "db:cache", "busybox", "true"]);
    assert!(err.failed().contains("Cannot link to a non running container: /db AS /late/cache"), "{}", err.stderr);
    d.docker(&["rm", "-f", "db", "late"]).ok();
    d.stop();
}

/// A ULA /64 for this daemon's `k`-th IPv6 network, apart from every other test daemon's
/// (`fd00:7xxx:k+1::/64`, the slot in the second group); `prefix` without the `/64`.
fn subnet6(d: &Daemon, k: u32) -> (String, String) {
    let prefix = format!("fd00:{:x}:{:x}::", 0x7000 + d.slot.index, k + 1);
    (format!("{prefix}/64"), prefix)
}

/// The nftables tables whose name mentions `needle`.
fn nft_tables_mentioning(needle: &str) -> Vec<String> {
    let out = std::process::Command::new("nft").args(["list", "tables"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains(needle)).map(String::from).collect()
}

#[test]
fn ipv6_networks_dual_stack() {
    let Some(mut d) = with_busybox() else { return };
    let (s4, (s6, p6)) = (subnet(&d, 0), subnet6(&d, 0));
    // Our table is one `inet` table for both families.
    let table = format!("wharf-{}", d.slot.bridge);
    assert_eq!(nft_tables_mentioning(&table), [format!("table inet {table}")]);

    // `--ipv6` with both subnets: one IPAM config per family.
    let id =
        d.docker(&["network", "create", "--ipv6", "--subnet", &s4, "--subnet", &s6, "v6net"]).ok().trim().to_string();
    let net = d.docker(&["network", "inspect", "--format", "{{json .}}", "v6net"]);
    let net: serde_json::Value = serde_json::from_str(net.ok().trim()).unwrap();
    assert_eq!(net["EnableIPv6"], true);
    let configs = net["IPAM"]["Config"].as_array().unwrap();
    assert_eq!(configs.len(), 2, "{net}");
    assert_eq!(configs[0]["Subnet"], s4.as_str());
    assert_eq!(
        (configs[1]["Subnet"].as_str(), configs[1]["Gateway"].as_str()),
        (Some(s6.as_str()), Some(&*format!("{p6}1")))
    );
    // The bridge carries both gateways.
    let bridge = format!("br-{}", &id[..12]);
    let addrs = std::process::Command::new("ip").args(["-o", "addr", "show", "dev", &bridge]).output().unwrap();
    let addrs = String::from_utf8_lossy(&addrs.stdout).to_string();
    assert!(addrs.contains(&format!("inet6 {p6}1/64")), "{addrs}");
    // `--ipv6` without an IPv6 subnet: a /64 of the daemon's ULA prefix (`wharf` CLI).
    d.wharf(&["network", "create", "--ipv6", "--subnet", &subnet(&d, 1), "auto6"]).ok();
    let auto = d.docker(&[
        "network",
        "inspect",
        "--format",
        "{{range .IPAM.Config}}{{.Subnet}} {{end}}{{.EnableIPv6}}",
        "auto6",
    ]);
    let auto = auto.ok().trim().to_string();
    let words: Vec<&str> = auto.split_whitespace().collect();
    assert_eq!(words.len(), 3, "{auto}");
    assert!(words[1].starts_with("fd") && words[1].ends_with("::/64") && words[2] == "true", "{auto}");
    // An IPv6 subnet without `--ipv6` is not an IPv6 network (dockerd keeps the config only).
    let (s6b, _) = subnet6(&d, 1);
    d.docker(&["network", "create", "--subnet", &subnet(&d, 2), "--subnet", &s6b, "not6"]).ok();
    let not6 = d.docker(&["network", "inspect", "--format", "{{.EnableIPv6}}", "not6"]);
    assert_eq!(not6.ok().trim(), "false");
    // Overlapping IPv6 subnets are refused, with dockerd's text.
    let err = d.docker(&["network", "create", "--ipv6", "--subnet", &subnet(&d, 3), "--subnet", &s6, "dup6"]);
    assert!(err.failed().contains("Pool overlaps with other one on this address space"), "{}", err.stderr);
    // (The wharf CLI shows the networks as the docker CLI does.)
    let (w, k) = d.both(&["network", "inspect", "v6net"]);
    assert_eq!(w.ok(), k.ok());

    // Two containers: a static --ip6 and a serial one (after the gateway).
    let static6 = format!("{p6}a");
    d.docker(&[
        "run",
        "-d",
        "--name",
        "a6",
        "--hostname",
        "a6host",
        "--network",
        "v6net",
        "--ip6",
        &static6,
        "busybox",
        "sleep",
        "300",
    ])
    .ok();
    d.docker(&["run", "-d", "--name", "b6", "--network", "v6net", "busybox", "sleep", "300"]).ok();
    let inspect = |c: &str| -> serde_json::Value {
        let out = d.docker(&["inspect", "--format", "{{json (index .NetworkSettings.Networks \"v6net\")}}", c]);
        serde_json::from_str(out.ok().trim()).unwrap()
    };
    let a = inspect("a6");
    assert_eq!(a["GlobalIPv6Address"], static6.as_str());
    assert_eq!(a["GlobalIPv6PrefixLen"], 64);
    assert_eq!(a["IPv6Gateway"], format!("{p6}1"));
    assert_eq!(a["IPAMConfig"]["IPv6Address"], static6.as_str());
    let b = inspect("b6");
    assert_eq!(b["GlobalIPv6Address"], format!("{p6}2"));
    let members = d.docker(&[
        "network",
        "inspect",
        "--format",
        "{{range .Containers}}{{.Name}}={{.IPv6Address}} {{end}}",
        "v6net",
    ]);
    let members = members.ok().to_string();
    assert!(members.contains(&format!("a6={static6}/64")) && members.contains(&format!("b6={p6}2/64")), "{members}");
    // By name over IPv6 (AAAA from 127.0.0.11), the address usable at once, the default route.
    let script = "for i in 1 2 3; do ping -6 -c1 -W2 a6 >/dev/null && echo ping6-ok && break; done; \
                  nslookup -type=AAAA a6 127.0.0.11; ip -6 route show default; ip -6 -o addr show dev eth0 scope global";
    let out = d.docker(&["exec", "b6", "sh", "-c", script]);
    let out = out.ok().to_string();
    assert!(out.contains("ping6-ok"), "{out}");
    assert!(out.contains(&format!("Address: {static6}")), "{out}");
    assert!(out.contains(&format!("default via {p6}1 dev eth0")), "{out}");
    assert!(out.contains(&format!("inet6 {p6}2/64")) && !out.contains("tentative"), "{out}");
    // /etc/hosts names the hostname with the IPv6 address too.
    let hosts = d.docker(&["exec", "a6", "cat", "/etc/hosts"]).ok().to_string();
    assert!(hosts.contains(&format!("\n{static6}\ta6host\n")), "{hosts}");
    // Docker's errors for static IPv6 addresses.
    let err = d.docker(&["run", "--rm", "--network", "v6net", "--ip6", "fd99::5", "busybox", "true"]);
    assert!(err.failed().contains("no configured subnet or ip-range contain the IP address fd99::5"), "{}", err.stderr);
    let err = d.docker(&[
        "run",
        "--rm",
        "--network",
        "auto6",
        "--ip6",
        &format!("{}9", words[1].trim_end_matches("/64")),
        "busybox",
        "true",
    ]);
    assert!(
        err.failed().contains(
            "user specified IP address is supported only when connecting to networks with user configured subnets"
        ),
        "{}",
        err.stderr
    );

    // A container of the default bridge (IPv4 only: IPv6 off on its interface) joins the IPv6
    // network with a static address through the wharf CLI, and is reached by name.
    d.docker(&["run", "-d", "--name", "c4", "busybox", "sleep", "300"]).ok();
    let c4_static = format!("{p6}c");
    d.wharf(&["network", "connect", "--ip6", &c4_static, "v6net", "c4"]).ok();
    let out = d.docker(&[
        "exec",
        "c4",
        "sh",
        "-c",
        "cat /proc/sys/net/ipv6/conf/eth0/disable_ipv6; ip -6 -o addr show dev eth1 scope global",
    ]);
    let out = out.ok().to_string();
    assert!(out.starts_with("1\n"), "{out}");
    assert!(out.contains(&format!("inet6 {c4_static}/64")), "{out}");
    let reach = d.docker(&["exec", "b6", "sh", "-c", "ping -6 -c1 -W2 c4 >/dev/null && echo yes || echo no"]);
    assert_eq!(reach.ok().trim(), "yes");

    // A published port: [::] and 0.0.0.0; loopback through the userland proxy, to the
    // container's IPv6 address; `-p [::1]:…` publishes on that address only.
    let port = 30000 + (d.slot.index % 2000) as u16 * 2;
    let pa = format!("{port}:80");
    let pl = format!("[::1]:{}:80", port + 1);
    let script = "while true; do echo v6-answer | nc -l -p 80; done";
    d.docker(&[
        "run",
        "-d",
        "--name",
        "web6",
        "--network",
        "v6net",
        "-p",
        &pa,
        "-p",
        &pl,
        "busybox",
        "sh",
        "-c",
        script,
    ])
    .ok();
    let ports = d.docker(&["inspect", "--format", "{{json .NetworkSettings.Ports}}", "web6"]);
    let v: serde_json::Value = serde_json::from_str(ports.ok().trim()).unwrap();
    assert_eq!(
        v["80/tcp"],
        serde_json::json!([
            {"HostIp": "0.0.0.0", "HostPort": port.to_string()},
            {"HostIp": "::", "HostPort": port.to_string()},
            {"HostIp": "::1", "HostPort": (port + 1).to_string()}
        ])
    );
    let ps = d.docker(&["ps", "--filter", "name=web6", "--format", "{{.Ports}}"]);
    assert!(ps.ok().contains(&format!("0.0.0.0:{port}->80/tcp, [::]:{port}->80/tcp")), "{}", ps.stdout);
    let fetch = |host: &str, p: u16| {
        for _ in 0..30 {
            let out =
                std::process::Command::new("busybox").args(["nc", "-w", "3", host, &p.to_string()]).output().unwrap();
            if !out.stdout.is_empty() {
                return String::from_utf8_lossy(&out.stdout).into_owned();
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        String::new()
    };
    assert_eq!(fetch("::1", port), "v6-answer\n");
    assert_eq!(fetch("::1", port + 1), "v6-answer\n");
    assert_eq!(fetch("127.0.0.1", port), "v6-answer\n");
    // The same host port again: Docker's message for the first binding.
    let err = d.docker(&["run", "-d", "--name", "dup6", "--network", "v6net", "-p", &pa, "busybox", "sleep", "30"]);
    assert!(
        err.failed().contains(&format!("Bind for 0.0.0.0:{port} failed: port is already allocated")),
        "{}",
        err.stderr
    );

    // Everything goes; nothing of ours is left once the daemon stops.
    d.docker(&["rm", "-f", "a6", "b6", "c4", "web6", "dup6"]).ok();
    d.docker(&["network", "rm", "v6net", "auto6", "not6"]).ok();
    assert!(!link_exists(&bridge));
    let proxies = wharf_it::processes_mentioning(&format!("-host-port\u{0}{port}\u{0}"));
    assert!(proxies.is_empty(), "proxies left: {proxies:?}");
    d.stop();
    assert!(d.leftovers().is_empty());
    assert!(nft_tables_mentioning(&table).is_empty(), "{:?}", nft_tables_mentioning(&table));
}

#[test]
fn daemon_ipv6_on_the_default_bridge_and_an_old_ip_table() {
    if !have_busybox() {
        return;
    }
    // An older wharfd's `table ip` of the same name is replaced by the `inet` table at start.
    let mut d = Daemon::start_with_slot_args(|slot| {
        let table = format!("wharf-{}", slot.bridge);
        let _ = std::process::Command::new("nft").args(["add", "table", "ip", &table]).status();
        let prefix = format!("fd00:{:x}:ff::", 0x7000 + slot.index);
        vec!["--ipv6".into(), "--fixed-cidr-v6".into(), format!("{prefix}/64")]
    });
    let table = format!("wharf-{}", d.slot.bridge);
    assert_eq!(nft_tables_mentioning(&table), [format!("table inet {table}")]);
    let img = busybox_image("busybox:latest");
    let file = d.root.path().join("busybox.tar");
    std::fs::write(&file, &img.archive).unwrap();
    d.docker(&["load", "-i", file.to_str().unwrap()]).ok();
    let prefix = format!("fd00:{:x}:ff::", 0x7000 + d.slot.index);
    // `--ipv6` / `--fixed-cidr-v6`: the default bridge is dual-stack.
    let net = d.docker(&[
        "network",
        "inspect",
        "--format",
        "{{.EnableIPv6}} {{range .IPAM.Config}}{{.Subnet}} {{end}}",
        "bridge",
    ]);
    assert_eq!(net.ok().trim(), format!("true {} {prefix}/64", d.slot.subnet));
    d.docker(&["run", "-d", "--name", "d6", "busybox", "sleep", "60"]).ok();
    let v6 = d.docker(&["inspect", "--format", "{{.NetworkSettings.Networks.bridge.GlobalIPv6Address}}", "d6"]);
    assert_eq!(v6.ok().trim(), format!("{prefix}2"));
    let out = d.docker(&["exec", "d6", "sh", "-c", &format!("ping -6 -c1 -W2 {prefix}1 >/dev/null && echo gw6-ok")]);
    assert_eq!(out.ok().trim(), "gw6-ok");
    // A static address is for user-defined networks only.
    let err = d.docker(&["run", "--rm", "--ip6", &format!("{prefix}9"), "busybox", "true"]);
    assert!(
        err.failed().contains("user specified IP address is supported on user defined networks only"),
        "{}",
        err.stderr
    );
    d.docker(&["rm", "-f", "d6"]).ok();
    d.stop();
    assert!(nft_tables_mentioning(&table).is_empty());
}

#[test]
fn published_ports_survive_the_upgrade_to_the_inet_table() {
    let Some(mut d) = with_busybox() else { return };
    let gw = format!("{}.1", d.slot.subnet.trim_end_matches(".0/24"));
    let port = 24000 + (d.slot.index % 2000) as u16 * 2;
    let script = "while true; do echo up-answer | nc -l -p 80; done";
    d.docker(&["run", "-d", "--name", "srv", "-p", &format!("{port}:80"), "busybox", "sh", "-c", script]).ok();
    let fetch = || {
        for _ in 0..30 {
            let out =
                std::process::Command::new("busybox").args(["nc", "-w", "3", &gw, &port.to_string()]).output().unwrap();
            if !out.stdout.is_empty() {
                return String::from_utf8_lossy(&out.stdout).into_owned();
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        String::new()
    };
    assert_eq!(fetch(), "up-answer\n");
    // The daemon dies while the container runs, and an older version's layout is in place:
    // its rules in a `table ip` of the same name (here: an empty one), none in `inet`.
    d.kill9();
    let table = format!("wharf-{}", d.slot.bridge);
    for args in [vec!["delete", "table", "inet", &table], vec!["add", "table", "ip", &table]] {
        assert!(std::process::Command::new("nft").args(&args).status().unwrap().success());
    }
    let dnat = || {
        let out = std::process::Command::new("nft").args(["list", "table", "inet", &table]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains(&format!("dport {port} dnat"))).count()
    };
    d.spawn();
    d.wait_ready();
    // The new daemon replaced the table and installed the running endpoint's ports again
    // (DNAT for 0.0.0.0; `[::]` goes to the userland proxy, the container has no IPv6).
    assert_eq!(nft_tables_mentioning(&table), [format!("table inet {table}")]);
    assert_eq!(dnat(), 1);
    assert_eq!(fetch(), "up-answer\n");
    d.docker(&["rm", "-f", "srv"]).ok();
    d.stop();
}

/// A real dockerd and the containerd it needs, started by a test inside a network namespace
/// with private paths (data, exec and containerd roots, sockets, PID file, key) under `dir`;
/// stopped by PID however the test ends.
struct RealDocker {
    ns: String,
    dir: tempfile::TempDir,
    containerd: Option<std::process::Child>,
    dockerd: Option<std::process::Child>,
}

/// SIGTERM to a child of ours, then SIGKILL after `grace`; its exit status.
fn stop_child(child: &mut std::process::Child, grace: std::time::Duration) -> std::process::ExitStatus {
    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
    let deadline = std::time::Instant::now() + grace;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(st)) = child.try_wait() {
            return st;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    child.wait().expect("wait")
}

impl RealDocker {
    /// Starts containerd, then dockerd (`--iptables`, the default, with iptables-nft), in the
    /// namespace `ns`, and waits for dockerd's `/_ping`.
    fn start(ns: &str, dir: tempfile::TempDir) -> RealDocker {
        let mut me = RealDocker { ns: ns.to_string(), dir, containerd: None, dockerd: None };
        // containerd with private root, state and sockets, its CRI plugin off.
        std::fs::write(
            me.dir.path().join("containerd.toml"),
            format!(
                "version = 2\nroot = \"{}\"\nstate = \"{}\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
                 [grpc]\n  address = \"{}\"\n[ttrpc]\n  address = \"{}\"\n\
                 [plugins]\n  [plugins.\"io.containerd.internal.v1.opt\"]\n    path = \"{}\"\n",
                me.path("containerd-root"),
                me.path("containerd-state"),
                me.path("containerd.sock"),
                me.path("containerd.sock.ttrpc"),
                me.path("containerd-root/opt"),
            ),
        )
        .unwrap();
        // The trust key would otherwise go to /etc/docker/key.json.
        let config = format!("{{\"deprecated-key-path\": \"{}\"}}", me.path("key.json"));
        std::fs::write(me.dir.path().join("daemon.json"), config).unwrap();
        let args = ["containerd", "--config", &me.path("containerd.toml")].map(String::from);
        me.containerd = Some(me.spawn(&args, "containerd.log"));
        let sock = me.dir.path().join("containerd.sock");
        me.wait_for("containerd", || std::os::unix::net::UnixStream::connect(&sock).is_ok());
        me.start_dockerd();
        me
    }

    /// A file under the private directory.
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    /// Runs `args` in the namespace, output appended to the log `logname`.
    fn spawn(&self, args: &[String], logname: &str) -> std::process::Child {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.path(logname)).unwrap();
        std::process::Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.ns))
            .arg("--")
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    /// Starts dockerd (again) and waits for its `/_ping`.
    fn start_dockerd(&mut self) {
        let args = [
            "dockerd",
            "--config-file",
            &self.path("daemon.json"),
            "--data-root",
            &self.path("docker-data"),
            "--exec-root",
            &self.path("docker-exec"),
            "--pidfile",
            &self.path("docker.pid"),
            "-H",
            &format!("unix://{}", self.path("docker.sock")),
            "--containerd",
            &self.path("containerd.sock"),
            "--storage-driver",
            "vfs",
        ]
        .map(String::from);
        self.dockerd = Some(self.spawn(&args, "dockerd.log"));
        let sock = self.dir.path().join("docker.sock");
        self.wait_for("dockerd", || {
            wharf_it::RawClient::unix(&sock).request("GET", "/_ping", None).is_ok_and(|r| r.status == 200)
        });
    }

    /// Stops dockerd by PID (SIGTERM); panics unless it exits cleanly.
    fn stop_dockerd(&mut self) {
        if let Some(mut c) = self.dockerd.take() {
            let st = stop_child(&mut c, std::time::Duration::from_secs(30));
            assert!(st.success(), "dockerd exited with {st}:\n{}", self.log("dockerd.log"));
        }
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    fn wait_for(&mut self, what: &str, ready: impl Fn() -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !ready() {
            let exited = [&mut self.containerd, &mut self.dockerd]
                .into_iter()
                .flatten()
                .find_map(|c| c.try_wait().ok().flatten());
            if let Some(st) = exited {
                panic!("{what}: a daemon exited ({st}):\n{}\n{}", self.log("containerd.log"), self.log("dockerd.log"));
            }
            assert!(std::time::Instant::now() < deadline, "{what} did not come up:\n{}", self.log("dockerd.log"));
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// Stops dockerd, then containerd (SIGTERM, by PID); panics unless both exit cleanly.
    fn stop(&mut self) {
        self.stop_dockerd();
        if let Some(mut c) = self.containerd.take() {
            let st = stop_child(&mut c, std::time::Duration::from_secs(30));
            assert!(st.success(), "containerd exited with {st}:\n{}", self.log("containerd.log"));
        }
    }
}

impl Drop for RealDocker {
    fn drop(&mut self) {
        for c in [self.dockerd.as_mut(), self.containerd.as_mut()].into_iter().flatten() {
            stop_child(c, std::time::Duration::from_secs(10));
        }
        // dockerd bind-mounts its data root onto itself; a killed one leaves that behind.
        let root = self.dir.path().to_string_lossy().into_owned();
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut mine: Vec<&str> =
            mounts.lines().filter_map(|l| l.split(' ').nth(4)).filter(|m| m.starts_with(&root)).collect();
        mine.reverse();
        for m in mine {
            let _ = rustix::mount::unmount(m, rustix::mount::UnmountFlags::DETACH);
        }
    }
}

/// The chains of an `nft list table …` listing, each with its table's name, in a fixed order
/// (the rules of a chain keep theirs).
fn chains(listing: &str) -> Vec<String> {
    let (mut out, mut table, mut chain) = (Vec::new(), String::new(), None::<String>);
    for line in listing.lines() {
        if line.starts_with("table ") {
            table = line.to_string();
        } else if line.starts_with("\tchain ") {
            chain = Some(format!("{table}\n{line}\n"));
        } else if line == "\t}" {
            out.extend(chain.take().map(|c| c + line));
        } else if let Some(c) = chain.as_mut() {
            c.push_str(line);
            c.push('\n');
        }
    }
    out.sort();
    out
}

/// Runs `args` in the network namespace `ns`; its stdout (asserting success).
fn in_ns(ns: &str, args: &[&str]) -> String {
    let out = std::process::Command::new("ip").args(["netns", "exec", ns]).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?} in {ns}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn coexists_with_a_real_dockerd_in_the_same_namespace() {
    if !have_busybox() || !wharf_it::have_root() {
        return;
    }
    let probe = "command -v dockerd && command -v containerd && iptables -V | grep -q nf_tables";
    let installed = std::process::Command::new("sh").arg("-c").arg(probe).output().unwrap().status.success();
    if !installed {
        assert!(!wharf_it::strict(), "dockerd, containerd and iptables-nft are needed: apt-get install docker.io");
        eprintln!("skipped: needs dockerd, containerd and iptables-nft (docker.io)");
        return;
    }
    let mut d = Daemon::prepare(wharf_it::DaemonOpts::default());
    let i = d.slot.index;
    let ns = format!("wharf-it-dk-{i}");
    d.opts_mut().netns = Some(ns.clone());
    // The outside world: the host, at the far end of a veth pair (a /24 of its own).
    let (host_end, ns_end) = (format!("wdk{i}a"), format!("wdk{i}b"));
    let base = subnet(&d, 8).trim_end_matches(".0/24").to_string();
    let (outside, inside) = (format!("{base}.1"), format!("{base}.2"));
    let sh = |cmd: &str| std::process::Command::new("sh").arg("-c").arg(cmd).status().unwrap().success();
    let undo = format!("ip netns del {ns} 2>/dev/null; ip link del {host_end} 2>/dev/null");
    let _ = sh(&undo);
    let _cleanup = Cleanup(undo);
    // ip_forward off at first, as on a fresh host: dockerd turns it on and, doing so, sets
    // the FORWARD policy to DROP.
    assert!(sh(&format!(
        "ip netns add {ns} && ip link add {host_end} type veth peer name {ns_end} && ip link set {ns_end} netns {ns} && \
         ip addr add {outside}/24 dev {host_end} && ip link set {host_end} up && \
         ip -n {ns} addr add {inside}/24 dev {ns_end} && ip -n {ns} link set {ns_end} up && ip -n {ns} link set lo up && \
         ip -n {ns} route add default via {outside} && ip netns exec {ns} sysctl -qw net.ipv4.ip_forward=0"
    )));
    let key_before = std::path::Path::new("/etc/docker/key.json").exists();
    let dir = tempfile::Builder::new().prefix(&format!("wharf-it-dk-{i}-")).tempdir().unwrap();
    let dir_path = dir.path().to_string_lossy().into_owned();
    let mut docker = RealDocker::start(&ns, dir);
    let forward = in_ns(&ns, &["nft", "list", "chain", "ip", "filter", "FORWARD"]);
    assert!(forward.contains("policy drop;") && forward.contains("jump DOCKER-USER"), "{forward}");
    // Docker's tables, without counters (our packets move Docker's counters).
    let docker_tables = || {
        let f = in_ns(&ns, &["nft", "-s", "list", "table", "ip", "filter"]);
        f + &in_ns(&ns, &["nft", "-s", "list", "table", "ip", "nat"])
    };
    let before = docker_tables();
    assert!(chains(&before).len() >= 8, "{before}");
    let table = format!("wharf-{}", d.slot.bridge);
    let tag = format!("comment \"wharf t={table} ");
    let ours = |text: &str| text.lines().filter(|l| l.contains(&tag)).map(String::from).collect::<Vec<_>>();
    let without_ours =
        |text: &str| text.lines().filter(|l| !l.contains(&tag)).map(|l| format!("{l}\n")).collect::<String>();

    // wharfd in the same namespace: the default bridge is let through DOCKER-USER, before
    // Docker's RETURN; nothing else of Docker's changes; iptables still reads the chain.
    d.spawn();
    d.wait_ready();
    let img = busybox_image("busybox:latest");
    let file = d.root.path().join("busybox.tar");
    std::fs::write(&file, &img.archive).unwrap();
    d.docker(&["load", "-i", file.to_str().unwrap()]).ok();
    let running = docker_tables();
    let bridge = &d.slot.bridge;
    let mine = ours(&running);
    assert_eq!(mine.len(), 2, "{running}");
    assert!(mine[0].trim().starts_with(&format!("iifname \"{bridge}\" accept comment")), "{mine:?}");
    assert!(mine[1].trim().starts_with(&format!("oifname \"{bridge}\" accept comment")), "{mine:?}");
    assert_eq!(without_ours(&running), before);
    let user = in_ns(&ns, &["iptables", "-S", "DOCKER-USER"]);
    assert!(user.trim_end().ends_with("-A DOCKER-USER -j RETURN") && user.contains(&format!("-i {bridge} ")), "{user}");

    // Egress to the outside, through Docker's FORWARD (policy drop) and our masquerade.
    let ping = format!("for i in 1 2 3; do ping -c1 -W2 {outside} >/dev/null && echo out-ok && break; done");
    let out = d.docker(&["run", "--rm", "busybox", "sh", "-c", &ping]);
    assert_eq!(out.ok().trim(), "out-ok");
    // A published port, from the outside end.
    let script = "while true; do echo dk-answer | nc -l -p 80; done";
    d.docker(&["run", "-d", "--name", "srv", "-p", "8080:80", "busybox", "sh", "-c", script]).ok();
    let fetch = || {
        for _ in 0..30 {
            let out = std::process::Command::new("busybox").args(["nc", "-w", "3", &inside, "8080"]).output().unwrap();
            if !out.stdout.is_empty() {
                return String::from_utf8_lossy(&out.stdout).into_owned();
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        String::new()
    };
    assert_eq!(fetch(), "dk-answer\n");
    let exec_ping = || {
        let cmd = format!("ping -c1 -W1 {outside} >/dev/null 2>&1 && echo yes || echo no");
        d.docker(&["exec", "srv", "sh", "-c", &cmd]).ok().trim().to_string()
    };

    // dockerd restarts while wharfd runs: iptables reads the chain, so dockerd sets
    // DOCKER-USER up as before (jumped to first), our rules stay, traffic still flows.
    docker.stop_dockerd();
    docker.start_dockerd();
    assert!(!docker.log("dockerd.log").contains("Failed to create DOCKER-USER"), "{}", docker.log("dockerd.log"));
    let forward = in_ns(&ns, &["nft", "list", "chain", "ip", "filter", "FORWARD"]);
    let first = forward.lines().find(|l| l.contains("counter")).unwrap_or_default();
    assert!(first.contains("jump DOCKER-USER"), "{forward}");
    // (dockerd makes some of its chains anew: the listing's chain order changes, not a rule.)
    let restarted = docker_tables();
    assert_eq!(ours(&restarted), mine);
    assert_eq!(chains(&without_ours(&restarted)), chains(&before));
    assert_eq!(exec_ping(), "yes");
    assert_eq!(fetch(), "dk-answer\n");

    // Without our rules (as when dockerd starts after wharfd), Docker's policy drops our
    // traffic; the next container start puts them back.
    let handles: Vec<String> = in_ns(&ns, &["nft", "-a", "list", "chain", "ip", "filter", "DOCKER-USER"])
        .lines()
        .filter(|l| l.contains(&tag))
        .filter_map(|l| l.rsplit("# handle ").next().map(|h| h.trim().to_string()))
        .collect();
    assert_eq!(handles.len(), 2);
    for h in &handles {
        in_ns(&ns, &["nft", "delete", "rule", "ip", "filter", "DOCKER-USER", "handle", h]);
    }
    assert_eq!(exec_ping(), "no", "Docker's FORWARD policy drops our traffic without DOCKER-USER rules");
    d.docker(&["run", "--rm", "busybox", "true"]).ok();
    assert_eq!(ours(&docker_tables()).len(), 2);
    assert_eq!(exec_ping(), "yes");

    // A user-defined network gets its own pair, gone with the network.
    let id = d.docker(&["network", "create", "--subnet", &subnet(&d, 0), "dknet"]).ok().trim().to_string();
    let br = format!("br-{}", &id[..12]);
    let user = in_ns(&ns, &["iptables", "-S", "DOCKER-USER"]);
    assert!(user.contains(&format!("-i {br} ")) && user.contains(&format!("-o {br} ")), "{user}");
    let out = d.docker(&["run", "--rm", "--network", "dknet", "busybox", "sh", "-c", &ping]);
    assert_eq!(out.ok().trim(), "out-ok");
    d.docker(&["network", "rm", "dknet"]).ok();
    assert!(!in_ns(&ns, &["iptables", "-S", "DOCKER-USER"]).contains(&br));

    // wharfd stops: none of our rules is left, Docker's tables are byte-identical.
    d.docker(&["rm", "-f", "srv"]).ok();
    d.stop();
    let after = docker_tables();
    assert!(ours(&after).is_empty(), "{after}");
    assert_eq!(after, without_ours(&restarted));
    assert_eq!(chains(&after), chains(&before));
    // dockerd and containerd stop by PID; nothing of theirs is left.
    docker.stop();
    drop(docker);
    assert!(wharf_it::processes_mentioning(&dir_path).is_empty());
    assert!(!std::path::Path::new(&dir_path).exists());
    if !key_before {
        assert!(!std::path::Path::new("/etc/docker/key.json").exists(), "dockerd wrote /etc/docker/key.json");
    }
}
