//! The networking scenarios, driven like the container scenarios through each engine's own
//! command-line client (the Docker CLI for wharf and docker, `podman` in local mode) on the
//! `busybox` image of [`crate::containers`]:
//!
//! * `run-bridge`: `run --rm busybox true` on the engine's default network (no `--network`):
//!   wharf's `bridge` (`wharf0`), docker's `bridge` (`docker0`), podman's netavark `podman`
//!   network (`podman0`), timed from the client's spawn to its exit, like `run-none`.
//! * `port-tcp`: throughput through a published TCP port. A container `-p <hostport>:80`
//!   streams zeros from busybox `nc` (see [`server`]); a small client here connects to the
//!   default network's gateway address (a local, non-loopback address: the engines' DNAT rules
//!   for locally generated traffic apply), reads `PORT_MIB` MiB and closes, timed from the
//!   connect to the last byte. The same through `127.0.0.1:<hostport>` (a userland proxy, or
//!   DNAT with `route_localnet`), recorded as skipped for an engine where connecting fails.
//!
//! dockerd runs with its bridge, iptables rules and userland proxy in these scenarios
//! ([`crate::engine::Engine::set_networking`]); everything happens inside the harness's private
//! network namespace. A round leaves its daemon running for the next one; `port-tcp` removes
//! its container at the end of every round, failed or not.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::containers::{prepare_image, ps, rm_args, BUSYBOX, IMAGE};
use crate::engine::Engine;
use crate::images::{ms, sync, tail, Cli};
use crate::knobs::Knobs;
use crate::scenario::{Better, Samples, Scenario};

/// Removes every container of the engine (all are the harness's: private data roots); returns
/// how many there were. Errors are reported, not returned: this runs on failure paths too.
fn remove_all(eng: &dyn Engine, cli: &Cli) -> usize {
    match ps(cli, true) {
        Ok(ids) if ids.is_empty() => 0,
        Ok(ids) => {
            if let Err(e) = cli.must(&rm_args(eng, &ids)) {
                eprintln!("\nwharf-bench: {}: removing {} container(s): {e}", eng.name(), ids.len());
            }
            ids.len()
        }
        Err(e) => {
            eprintln!("\nwharf-bench: {}: listing containers: {e}", eng.name());
            0
        }
    }
}

/// Why podman is skipped when its default network does not come up in the harness's isolated
/// setup (netavark in a private network and mount namespace); wharf and docker fail instead.
/// `first`: the failure is the engine's first container on its default network in the run.
fn podman_skip(eng: &dyn Engine, first: bool, err: &str) -> Option<String> {
    (eng.name() == "podman" && first).then(|| {
        format!("its default network (netavark bridge podman0) does not work in this isolated setup:\n{}", tail(err, 8))
    })
}

// ------------------------------------------------------------------------------------------

/// `run-bridge`: `<cli> run --rm busybox true` on the default network.
pub struct RunBridge;

const RUN_BRIDGE: &[&str] = &["run", "--rm", IMAGE, "true"];

impl Scenario for RunBridge {
    fn name(&self) -> &'static str {
        "run-bridge"
    }
    fn about(&self, k: &Knobs) -> String {
        format!(
            "'run --rm busybox true' on the default network (wharf: bridge wharf0; docker: bridge docker0 with \
             iptables; podman: netavark podman0), busybox imported from {BUSYBOX}, client spawn → exit; wharf and \
             docker through the Docker CLI ({}), podman's own CLI (local mode); warm daemon, {} untimed warm-up \
             run(s) (at least 1), sync before each; {} round(s) × {} runs",
            k.docker_cli,
            k.ctr_warmup.max(1),
            k.reps,
            k.ctr_runs
        )
    }
    fn rounds(&self, k: &Knobs) -> usize {
        k.reps
    }
    fn networking(&self) -> bool {
        true
    }
    fn round(&self, eng: &mut dyn Engine, k: &Knobs, round: usize, out: &mut Samples) -> Result<(), String> {
        prepare_image(eng, k, round)?;
        let eng: &dyn Engine = eng;
        let cli = Cli::new(eng, k);
        let res = bridge_runs(eng, &cli, k, round, out);
        let left = remove_all(eng, &cli);
        match res {
            Ok(()) if left > 0 && out.skipped.is_none() => {
                out.note("run_bridge_ms", format!("{left} container(s) left after 'run --rm' (removed)"));
                Ok(())
            }
            r => r,
        }
    }
}

fn bridge_runs(eng: &dyn Engine, cli: &Cli, k: &Knobs, round: usize, out: &mut Samples) -> Result<(), String> {
    if round == 0 {
        for i in 0..k.ctr_warmup.max(1) {
            if let Err(e) = cli.must(RUN_BRIDGE) {
                if let Some(why) = podman_skip(eng, i == 0, &e) {
                    out.skip(why);
                    return Ok(());
                }
                return Err(e);
            }
        }
    }
    for _ in 0..k.ctr_runs {
        sync();
        let took = cli.must(RUN_BRIDGE)?;
        out.push("run_bridge_ms", "run --rm busybox true (default bridge)", "ms", Better::Lower, true, ms(took));
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------

/// `port-tcp`: MiB/s read from a container through a published port.
pub struct PortTcp;

/// The container's name (one at a time per engine).
const PORT_CTR: &str = "wharf-bench-port";

/// The container's command: an endless loop of one-connection busybox `nc` servers on port 80
/// that stream zeros until the client closes. `dd` (default): `nc -e dd if=/dev/zero bs=1M`,
/// 1 MiB writes (~3 GiB/s over loopback on this machine: the path is the bottleneck); `nc`:
/// `nc < /dev/zero`, whose copy loop writes 1 KiB at a time (~0.9 GiB/s over loopback: the
/// server is the bottleneck).
pub fn server(k: &Knobs) -> &'static str {
    match k.port_server.as_str() {
        "nc" => "while true; do nc -l -p 80 < /dev/zero 2>/dev/null; done",
        _ => "while true; do nc -l -p 80 -e dd if=/dev/zero bs=1M 2>/dev/null; done",
    }
}

/// How long the first connection may take after `run -d` returns (the server starting).
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a measured connection may be retried (the server restarts between connections).
const RETRY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long 127.0.0.1 is tried before it is recorded as not served.
const LOOPBACK_TIMEOUT: Duration = Duration::from_secs(3);
/// Bytes read by the untimed first connection (at most `PORT_MIB` MiB).
const WARM_BYTES: u64 = 64 << 20;

impl Scenario for PortTcp {
    fn name(&self) -> &'static str {
        "port-tcp"
    }
    fn about(&self, k: &Knobs) -> String {
        format!(
            "TCP throughput through a published port: 'run -d -p <hostport>:80 busybox sh -c \"{}\"' (host ports \
             from {}), a native client reads {} MiB per connection (connect → last byte) from the default network's \
             gateway address (DNAT of locally generated traffic) and from 127.0.0.1 (userland proxy; skipped where \
             it is not served), {} connection(s) per address after one untimed; container removed after each round; \
             {} round(s); Docker CLI ({}) for wharf and docker, podman's own CLI",
            server(k),
            k.port_base,
            k.port_mib,
            k.port_reads,
            k.reps,
            k.docker_cli
        )
    }
    fn rounds(&self, k: &Knobs) -> usize {
        k.reps
    }
    fn networking(&self) -> bool {
        true
    }
    fn round(&self, eng: &mut dyn Engine, k: &Knobs, round: usize, out: &mut Samples) -> Result<(), String> {
        prepare_image(eng, k, round)?;
        let eng: &dyn Engine = eng;
        let cli = Cli::new(eng, k);
        // A container of an earlier, interrupted round (none normally).
        remove_all(eng, &cli);
        let port = match start_server(eng, &cli, k) {
            Ok(p) => p,
            Err(e) => {
                remove_all(eng, &cli);
                if let Some(why) = podman_skip(eng, round == 0, &e) {
                    out.skip(why);
                    return Ok(());
                }
                return Err(e);
            }
        };
        let res = measure(&cli, k, port, out);
        // Always remove the container, even after a failure.
        let rm = cli.must(&rm_args(eng, &[PORT_CTR.to_string()]));
        let left = remove_all(eng, &cli);
        res?;
        rm?;
        if left > 0 {
            return Err(format!("{left} container(s) left after rm -f {PORT_CTR}"));
        }
        Ok(())
    }
}

/// The next port from `PORT_BASE` on that nothing in the namespace has bound. Never the same
/// twice in a run, so a port whose rules an engine is still removing is not reused.
fn free_port(base: u16) -> Result<u16, String> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    loop {
        let p = u32::from(base) + NEXT.fetch_add(1, Ordering::Relaxed);
        let Ok(p) = u16::try_from(p) else {
            return Err(format!("no free host port between PORT_BASE={base} and 65535"));
        };
        if TcpListener::bind((Ipv4Addr::UNSPECIFIED, p)).is_ok() {
            return Ok(p);
        }
    }
}

/// `run -d --name PORT_CTR -p <port>:80 busybox sh -c <server>`; returns the host port. A port
/// that turns out to be taken ("already allocated", "address already in use") is replaced.
fn start_server(eng: &dyn Engine, cli: &Cli, k: &Knobs) -> Result<u16, String> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let port = free_port(k.port_base)?;
        let publish = format!("{port}:80");
        let args = ["run", "-d", "--name", PORT_CTR, "-p", &publish, IMAGE, "sh", "-c", server(k)];
        let (_, ok, output) = cli.run(&args)?;
        if ok {
            return Ok(port);
        }
        let low = output.to_lowercase();
        let taken = low.contains("already allocated") || low.contains("address already in use");
        if !taken || attempt >= 5 {
            return Err(format!("{} {} failed:\n{}", eng.name(), args.join(" "), tail(&output, 15)));
        }
        remove_all(eng, cli);
    }
}

/// The gateway of the container's network(s): a local, non-loopback address of the namespace.
fn gateway(cli: &Cli) -> Result<Ipv4Addr, String> {
    let fmt = "{{range .NetworkSettings.Networks}}{{.Gateway}} {{end}}";
    let (_, ok, output) = cli.run(&["container", "inspect", "--format", fmt, PORT_CTR])?;
    if !ok {
        return Err(format!("container inspect {PORT_CTR} failed:\n{}", tail(&output, 15)));
    }
    output
        .split_whitespace()
        .filter_map(|w| w.parse::<Ipv4Addr>().ok())
        .find(|a| !a.is_unspecified() && !a.is_loopback())
        .ok_or_else(|| format!("container inspect {PORT_CTR}: no IPv4 gateway in {:?}", output.trim()))
}

fn measure(cli: &Cli, k: &Knobs, port: u16, out: &mut Samples) -> Result<(), String> {
    let gw = gateway(cli)?;
    let n = k.port_mib << 20;
    let mib = k.port_mib as f64;
    let mut buf = vec![0u8; 1 << 20];
    let via_gw = SocketAddr::from((gw, port));
    let (key, label) = ("tcp_gw_mibs", "TCP read via gateway:hostport (DNAT)");
    read_retry(via_gw, n.min(WARM_BYTES), FIRST_BYTE_TIMEOUT, &mut buf)
        .map_err(|e| format!("no stream through {via_gw} (the published port) within {FIRST_BYTE_TIMEOUT:?}: {e}"))?;
    let mut retries = 0;
    for _ in 0..k.port_reads {
        let (took, r) = read_retry(via_gw, n, RETRY_TIMEOUT, &mut buf).map_err(|e| format!("{via_gw}: {e}"))?;
        retries += r;
        out.push(key, label, "MiB/s", Better::Higher, true, mib / took.as_secs_f64());
    }
    out.note(key, format!("gateway {gw}"));
    if retries > 0 {
        out.note(key, format!("{retries} connection(s) retried (server restarting), not timed"));
    }

    let via_lo = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let (key, label) = ("tcp_lo_mibs", "TCP read via 127.0.0.1:hostport");
    if let Err(e) = read_retry(via_lo, n.min(WARM_BYTES), LOOPBACK_TIMEOUT, &mut buf) {
        let why = format!("127.0.0.1:<hostport> not served (no userland proxy?): {e}");
        out.skip_metric(key, label, "MiB/s", Better::Higher, true, why);
        return Ok(());
    }
    let mut retries = 0;
    for _ in 0..k.port_reads {
        let (took, r) = read_retry(via_lo, n, RETRY_TIMEOUT, &mut buf).map_err(|e| format!("{via_lo}: {e}"))?;
        retries += r;
        out.push(key, label, "MiB/s", Better::Higher, true, mib / took.as_secs_f64());
    }
    if retries > 0 {
        out.note(key, format!("{retries} connection(s) retried (server restarting), not timed"));
    }
    Ok(())
}

/// Reads `n` bytes from `addr` on one connection, retrying failed connections (refused, or
/// closed early: the server restarts between connections) for up to `limit`. Returns the time
/// of the connection that succeeded, from its connect to its last byte, and how many failed.
fn read_retry(addr: SocketAddr, n: u64, limit: Duration, buf: &mut [u8]) -> Result<(Duration, u32), String> {
    let t0 = Instant::now();
    let mut failed = 0;
    loop {
        match read_once(addr, n, buf) {
            Ok(d) => return Ok((d, failed)),
            Err(e) => {
                failed += 1;
                if t0.elapsed() >= limit {
                    return Err(format!("{e} ({failed} attempt(s) in {:.1} s)", t0.elapsed().as_secs_f64()));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// One connection: connect, read `n` bytes, close (dropping it unread: a reset).
fn read_once(addr: SocketAddr, n: u64, buf: &mut [u8]) -> Result<Duration, String> {
    let t0 = Instant::now();
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| format!("SO_RCVTIMEO: {e}"))?;
    let mut got = 0u64;
    while got < n {
        let want = (n - got).min(buf.len() as u64) as usize;
        match s.read(&mut buf[..want]) {
            Ok(0) => return Err(format!("connection closed after {got} of {n} bytes")),
            Ok(r) => got += r as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("read after {got} of {n} bytes: {e}")),
        }
    }
    Ok(t0.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_exactly_n_bytes() {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = l.local_addr().unwrap();
        let srv = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let zeros = vec![0u8; 64 << 10];
            while c.write_all(&zeros).is_ok() {}
        });
        let mut buf = vec![0u8; 1 << 20];
        let (d, failed) = read_retry(addr, 3 << 20, Duration::from_secs(5), &mut buf).unwrap();
        assert_eq!(failed, 0);
        assert!(d > Duration::ZERO);
        srv.join().unwrap();
    }

    #[test]
    fn refused_is_retried_then_reported() {
        let port = {
            let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
            l.local_addr().unwrap().port()
        };
        let mut buf = vec![0u8; 1024];
        let e = read_retry(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), 1, Duration::from_millis(50), &mut buf)
            .unwrap_err();
        assert!(e.contains("connect"), "{e}");
    }
}
