//! The scenarios. Each is a [`Scenario`]: a number of rounds, and what one round does on one
//! engine. The harness interleaves engines round by round (wharf, docker, podman, wharf, …)
//! so that a burst of load from another tenant of the machine spreads over all engines
//! instead of landing on one. To add a scenario: implement the trait and list it in [`all`].

use std::path::Path;
use std::time::{Duration, Instant};

use crate::engine::Engine;
use crate::http::Conn;
use crate::knobs::Knobs;
use crate::procs;
use crate::stats;

/// Which direction is better for a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
}

impl Better {
    pub fn as_str(self) -> &'static str {
        match self {
            Better::Lower => "lower",
            Better::Higher => "higher",
        }
    }
}

/// One metric's samples on one engine.
#[derive(Clone, Debug)]
pub struct Series {
    /// Stable key for the JSON file, e.g. `start_ms`.
    pub key: String,
    /// Label in the tables.
    pub label: String,
    pub unit: &'static str,
    pub better: Better,
    /// Shown in the final summary with ratios.
    pub headline: bool,
    pub values: Vec<f64>,
    /// Distinct notes from the rounds (request counts, errors, …).
    pub notes: Vec<String>,
    /// Why this metric could not be measured on this engine (see [`Samples::skip_metric`]).
    pub skipped: Option<String>,
}

/// What one engine's rounds of one scenario produced, in first-pushed order.
#[derive(Default, Debug)]
pub struct Samples {
    pub series: Vec<Series>,
    /// Why the whole scenario cannot run on this engine (see [`Samples::skip`]).
    pub skipped: Option<String>,
}

impl Samples {
    fn entry(&mut self, key: &str, label: &str, unit: &'static str, better: Better, headline: bool) -> &mut Series {
        if let Some(i) = self.series.iter().position(|s| s.key == key) {
            return &mut self.series[i];
        }
        self.series.push(Series {
            key: key.into(),
            label: label.into(),
            unit,
            better,
            headline,
            values: Vec::new(),
            notes: Vec::new(),
            skipped: None,
        });
        self.series.last_mut().expect("pushed")
    }

    /// Adds a sample to metric `key` (created on first use).
    pub fn push(&mut self, key: &str, label: &str, unit: &'static str, better: Better, headline: bool, v: f64) {
        self.entry(key, label, unit, better, headline).values.push(v);
    }

    /// Records that metric `key` cannot be measured on this engine, and why (e.g. a path the
    /// engine does not serve yet). Shown as `skipped` in the table, not as a failure. Later
    /// samples of the same metric, if any, still count.
    pub fn skip_metric(
        &mut self,
        key: &str,
        label: &str,
        unit: &'static str,
        better: Better,
        headline: bool,
        why: String,
    ) {
        let s = self.entry(key, label, unit, better, headline);
        s.skipped.get_or_insert(why);
    }

    /// Records that this scenario cannot run on this engine, and why: the harness runs no further
    /// round of it on this engine and reports it as skipped, not as a failure.
    pub fn skip(&mut self, why: String) {
        self.skipped.get_or_insert(why);
    }

    /// Adds a note to metric `key` unless it already has that exact note.
    pub fn note(&mut self, key: &str, note: String) {
        if let Some(s) = self.series.iter_mut().find(|s| s.key == key) {
            if !s.notes.contains(&note) {
                s.notes.push(note);
            }
        }
    }
}

/// A benchmark scenario.
pub trait Scenario {
    /// Name on the command line.
    fn name(&self) -> &'static str;
    /// One line: what is measured and how.
    fn about(&self, k: &Knobs) -> String;
    /// Rounds per engine.
    fn rounds(&self, k: &Knobs) -> usize;
    /// One round on one engine. Leaves the engine's daemon stopped (helpers may stay up), or
    /// running for its next round when the scenario times client commands on a warm daemon
    /// (the image scenarios): the harness stops every daemon after the last round.
    fn round(&self, eng: &mut dyn Engine, k: &Knobs, round: usize, out: &mut Samples) -> Result<(), String>;
    /// True when the scenario needs the engines' container networking (docker's default
    /// bridge, iptables rules and userland proxy, which the harness otherwise turns off; see
    /// [`Engine::set_networking`]).
    fn networking(&self) -> bool {
        false
    }
}

/// Every scenario, in run order.
pub fn all() -> Vec<Box<dyn Scenario>> {
    vec![
        Box::new(Start),
        Box::new(IdleRss),
        Box::new(Api { name: "api-version", paths: &[("version", "{v}/version"), ("ping", "/_ping")] }),
        Box::new(Api { name: "api-info", paths: &[("info", "{v}/info")] }),
        Box::new(crate::images::ImageLoad),
        Box::new(crate::images::ImageSave),
        Box::new(crate::containers::RunNone),
        Box::new(crate::containers::Run50),
        Box::new(crate::networks::RunBridge),
        Box::new(crate::networks::PortTcp),
    ]
}

/// Scenarios run when none is named.
pub const DEFAULT: &[&str] = &["start", "idle-rss", "api-version"];

fn rest(k: &Knobs) {
    std::thread::sleep(Duration::from_millis(k.rest_ms));
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ------------------------------------------------------------------------------------------

/// `start`: daemon spawn → first `GET /_ping` answered 200, and SIGTERM → exit.
struct Start;

impl Scenario for Start {
    fn name(&self) -> &'static str {
        "start"
    }
    fn about(&self, k: &Knobs) -> String {
        format!(
            "daemon spawn → first GET /_ping answered 200 (polled every {} µs), SIGTERM → exit; {} reps. \
             docker: 'start' with containerd already running (the anchor), 'cold' = containerd + dockerd",
            k.poll_us, k.reps
        )
    }
    fn rounds(&self, k: &Knobs) -> usize {
        k.reps
    }
    fn round(&self, eng: &mut dyn Engine, k: &Knobs, _round: usize, out: &mut Samples) -> Result<(), String> {
        rest(k);
        let ready = eng.start(false)?;
        out.push("start_ms", "start → /_ping OK", "ms", Better::Lower, true, ms(ready));
        let stop = eng.stop()?;
        out.push("stop_ms", "stop: SIGTERM → exit", "ms", Better::Lower, false, ms(stop));
        if eng.has_helpers() {
            eng.stop_helpers();
            rest(k);
            let cold = eng.start(true)?;
            out.push("cold_start_ms", "cold stack start → /_ping OK", "ms", Better::Lower, true, ms(cold));
            eng.stop()?;
        } else {
            out.push("cold_start_ms", "cold stack start → /_ping OK", "ms", Better::Lower, true, ms(ready));
            out.note("cold_start_ms", "one process: same samples as 'start'".into());
        }
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------

/// `idle-rss`: memory of a freshly started, idle daemon.
struct IdleRss;

impl Scenario for IdleRss {
    fn name(&self) -> &'static str {
        "idle-rss"
    }
    fn about(&self, k: &Knobs) -> String {
        format!(
            "RSS (VmRSS) and PSS (smaps_rollup) of a fresh idle daemon, {} s after its API answers, each process \
             with its descendants; docker = fresh dockerd + containerd (also shown apart); {} reps",
            k.idle_settle_s, k.reps
        )
    }
    fn rounds(&self, k: &Knobs) -> usize {
        k.reps
    }
    fn round(&self, eng: &mut dyn Engine, k: &Knobs, _round: usize, out: &mut Samples) -> Result<(), String> {
        // A fresh stack each time: docker's containerd is restarted too, as the anchors measured it.
        eng.stop_helpers();
        rest(k);
        eng.start(true)?;
        std::thread::sleep(Duration::from_secs_f64(k.idle_settle_s));
        let comps = eng.components();
        let mut total = procs::Mem::default();
        let mut parts = Vec::new();
        for (name, pid) in &comps {
            let (m, n) = procs::tree_mem(*pid);
            total += m;
            parts.push((*name, m, n));
        }
        let kib = |k: u64| k as f64 / 1024.0;
        out.push("rss_mib", "idle RSS, total", "MiB", Better::Lower, true, kib(total.rss_kb));
        out.push("pss_mib", "idle PSS, total", "MiB", Better::Lower, true, kib(total.pss_kb));
        let nproc: usize = parts.iter().map(|p| p.2).sum();
        out.note("rss_mib", format!("{nproc} process(es)"));
        if parts.len() > 1 {
            for (name, m, _) in &parts {
                out.push(
                    &format!("rss_mib_{name}"),
                    &format!("  RSS: {name}"),
                    "MiB",
                    Better::Lower,
                    false,
                    kib(m.rss_kb),
                );
                out.push(
                    &format!("pss_mib_{name}"),
                    &format!("  PSS: {name}"),
                    "MiB",
                    Better::Lower,
                    false,
                    kib(m.pss_kb),
                );
            }
        }
        eng.stop()?;
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------

/// API throughput and latency with one keep-alive client: `NAPI` sequential `GET`s per path.
struct Api {
    name: &'static str,
    /// (metric key, path); `{v}` becomes `API_PREFIX`.
    paths: &'static [(&'static str, &'static str)],
}

/// One measurement: requests sent, failures, connections opened, elapsed, sorted latencies (ms).
struct Run {
    errors: usize,
    connects: u64,
    elapsed: Duration,
    lat_ms: Vec<f64>,
    capped: bool,
    first_error: Option<String>,
}

fn hammer(sock: &Path, path: &str, n: usize, max: Duration) -> Run {
    let mut c = Conn::new(sock, Duration::from_secs(30));
    let mut lat = Vec::with_capacity(n);
    let mut errors = 0;
    let mut first_error = None;
    let t0 = Instant::now();
    let mut capped = false;
    for _ in 0..n {
        if t0.elapsed() >= max {
            capped = true;
            break;
        }
        let a = Instant::now();
        let r = c.get(path);
        lat.push(ms(a.elapsed()));
        match r {
            Ok(resp) if resp.status == 200 => {}
            Ok(resp) => {
                errors += 1;
                first_error.get_or_insert_with(|| {
                    format!("HTTP {}: {}", resp.status, String::from_utf8_lossy(&resp.body).trim())
                });
            }
            Err(e) => {
                errors += 1;
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    let elapsed = t0.elapsed();
    lat.sort_by(f64::total_cmp);
    Run { errors, connects: c.connects, elapsed, lat_ms: lat, capped, first_error }
}

impl Scenario for Api {
    fn name(&self) -> &'static str {
        self.name
    }
    fn about(&self, k: &Knobs) -> String {
        let paths: Vec<String> = self.paths.iter().map(|(_, p)| p.replace("{v}", &k.api_prefix)).collect();
        format!(
            "GET {} over the unix socket, 1 keep-alive HTTP/1.1 client (native Rust), {} requests after {} warm-up \
             (caps {} s / {} s), {} fresh daemon(s) per engine; req/s and p50/p99 latency",
            paths.join(", "),
            k.napi,
            k.warmup,
            k.api_max_s,
            k.warmup_max_s,
            k.api_rounds
        )
    }
    fn rounds(&self, k: &Knobs) -> usize {
        k.api_rounds
    }
    fn round(&self, eng: &mut dyn Engine, k: &Knobs, _round: usize, out: &mut Samples) -> Result<(), String> {
        rest(k);
        eng.start(false)?;
        let sock = eng.socket();
        let res = (|| {
            for (key, p) in self.paths {
                let path = p.replace("{v}", &k.api_prefix);
                let warm = hammer(&sock, &path, k.warmup, Duration::from_secs_f64(k.warmup_max_s));
                if warm.errors > 0 && warm.errors == warm.lat_ms.len() {
                    return Err(format!("GET {path}: {}", warm.first_error.unwrap_or_default()));
                }
                let r = hammer(&sock, &path, k.napi, Duration::from_secs_f64(k.api_max_s));
                let n = r.lat_ms.len();
                if n == 0 || r.errors == n {
                    return Err(format!("GET {path}: {}", r.first_error.unwrap_or_else(|| "no request".into())));
                }
                let rps = n as f64 / r.elapsed.as_secs_f64();
                let (p50, p99) = (stats::percentile(&r.lat_ms, 50.0), stats::percentile(&r.lat_ms, 99.0));
                let rk = format!("{key}_rps");
                out.push(&rk, &format!("GET {path} req/s"), "req/s", Better::Higher, true, rps);
                out.push(&format!("{key}_p50_ms"), &format!("GET {path} p50"), "ms", Better::Lower, true, p50);
                out.push(&format!("{key}_p99_ms"), &format!("GET {path} p99"), "ms", Better::Lower, false, p99);
                let mut note = format!("n={n}");
                if r.capped {
                    note += &format!(" (capped at {} s)", k.api_max_s);
                }
                if r.errors > 0 {
                    note += &format!(", {} errors ({})", r.errors, r.first_error.unwrap_or_default());
                }
                if r.connects > 1 {
                    note += &format!(", {} connections (server closed keep-alive)", r.connects);
                }
                out.note(&rk, note);
            }
            let mut total = procs::Mem::default();
            for (_, pid) in eng.components() {
                total += procs::tree_mem(pid).0;
            }
            out.push(
                "rss_after_mib",
                "RSS after the runs, total",
                "MiB",
                Better::Lower,
                false,
                total.rss_kb as f64 / 1024.0,
            );
            Ok(())
        })();
        let stopped = eng.stop();
        res?;
        stopped.map(|_| ())
    }
}
