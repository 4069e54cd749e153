//! Health checks (`HEALTHCHECK`, `--health-*`): one monitor thread per running container with a
//! check runs the probe as an exec at Docker's intervals and keeps `State.Health` (status,
//! failing streak, the last five results) as dockerd's `daemon/health.go` does:
//!
//! - `starting` until the first success; failures inside the start period do not count;
//! - `healthy` after a success; `unhealthy` after `Retries` consecutive failures;
//! - during the start period, while still `starting`, probes run every `StartInterval`;
//! - a probe that outlives `Timeout` is killed and counts as a failure (exit code -1);
//! - a change of status publishes `health_status: <status>`;
//! - when the container stops, the monitor ends and the status becomes `unhealthy`.

use std::collections::HashMap;
use std::io::Read;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wharf_shim::protocol::{Client, Request};

use crate::exec::ExecConfig;
use crate::lifecycle::Lifecycle;
use crate::model::Config;
use crate::store::now_nanos;

/// Docker's defaults (`daemon/health.go`).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_RETRIES: i64 = 3;
/// Results kept in `Health.Log`.
const MAX_LOG_ENTRIES: usize = 5;
/// Bytes of probe output kept.
const MAX_OUTPUT_LEN: usize = 4096;

/// `starting`.
pub const STARTING: &str = "starting";
/// `healthy`.
pub const HEALTHY: &str = "healthy";
/// `unhealthy`.
pub const UNHEALTHY: &str = "unhealthy";

/// Docker's `State.Health`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Health {
    /// `starting`, `healthy` or `unhealthy`.
    pub status: String,
    /// Consecutive failures.
    pub failing_streak: i64,
    /// The last results, oldest first.
    pub log: Vec<HealthResult>,
}

/// One probe's result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HealthResult {
    /// Unix nanoseconds.
    pub start: i64,
    /// Unix nanoseconds.
    pub end: i64,
    /// 0 healthy, 1 unhealthy, -1 the probe could not run or timed out.
    pub exit_code: i64,
    /// Combined stdout and stderr, at most 4096 bytes (then `...`).
    pub output: String,
}

/// A container's check with Docker's defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What to exec.
    pub cmd: Vec<String>,
    /// Between probes.
    pub interval: Duration,
    /// A probe's limit.
    pub timeout: Duration,
    /// Failures in this time after the start do not count.
    pub start_period: Duration,
    /// Between probes during the start period while `starting`.
    pub start_interval: Duration,
    /// Consecutive failures that make it unhealthy.
    pub retries: i64,
}

fn duration_of(v: &Value, key: &str, default: Duration) -> Duration {
    match v.get(key).and_then(Value::as_i64) {
        Some(n) if n > 0 => Duration::from_nanos(n as u64),
        _ => default,
    }
}

impl Check {
    /// The check of `config`: `None` without one, with `NONE`, or with an unknown test kind.
    pub fn of(config: &Config) -> Option<Check> {
        let hc = config.healthcheck.as_ref()?;
        let test: Vec<String> = hc
            .get("Test")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let cmd = match test.first().map(String::as_str) {
            Some("CMD") if test.len() > 1 => test[1..].to_vec(),
            Some("CMD-SHELL") if test.len() > 1 => {
                let shell: Vec<String> = config
                    .extra
                    .get("Shell")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
                    .filter(|s: &Vec<String>| !s.is_empty())
                    .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
                let mut cmd = shell;
                cmd.push(test[1..].join(" "));
                cmd
            }
            _ => return None,
        };
        Some(Check {
            cmd,
            interval: duration_of(hc, "Interval", DEFAULT_INTERVAL),
            timeout: duration_of(hc, "Timeout", DEFAULT_TIMEOUT),
            start_period: duration_of(hc, "StartPeriod", Duration::ZERO),
            start_interval: duration_of(hc, "StartInterval", DEFAULT_START_INTERVAL),
            retries: hc.get("Retries").and_then(Value::as_i64).filter(|r| *r > 0).unwrap_or(DEFAULT_RETRIES),
        })
    }
}

/// Applies a probe's result to `h` as dockerd's `handleProbeResult`; `since_start` is the time
/// from the container's start to the probe's start.
pub fn apply_result(h: &mut Health, check: &Check, result: HealthResult, since_start: Duration) {
    if h.log.len() >= MAX_LOG_ENTRIES {
        h.log.drain(..=h.log.len() - MAX_LOG_ENTRIES);
    }
    let code = result.exit_code;
    h.log.push(result);
    if code == 0 {
        h.failing_streak = 0;
        h.status = HEALTHY.into();
        return;
    }
    if h.status == STARTING && since_start < check.start_period {
        return;
    }
    h.failing_streak += 1;
    if h.failing_streak >= check.retries {
        h.status = UNHEALTHY.into();
    }
}

/// Go's `time.Duration.String()` for the timeout message (`30s`, `1.5s`, `500ms`, `1m30s`).
pub fn go_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".into();
    }
    if ns < 1_000_000_000 {
        let (unit, div) = if ns < 1_000 {
            ("ns", 1)
        } else if ns < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{}{unit}", trim_frac(ns as f64 / div as f64));
    }
    let total = d.as_secs();
    let (h, m) = (total / 3600, (total / 60) % 60);
    let s = (ns % 60_000_000_000) as f64 / 1e9;
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&format!("{}s", trim_frac(s)));
    out
}

fn trim_frac(v: f64) -> String {
    let s = format!("{v:.9}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The running monitors, by container ID: dropping the sender ends one.
#[derive(Default)]
pub(crate) struct Monitors {
    map: Mutex<HashMap<String, mpsc::Sender<()>>>,
}

impl Monitors {
    fn insert(&self, id: &str, tx: mpsc::Sender<()>) {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).insert(id.to_string(), tx);
    }

    /// Ends the monitor of `id`; whether there was one.
    pub(crate) fn stop(&self, id: &str) -> bool {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).remove(id).is_some()
    }
}

/// Collects a multiplexed exec stream's payload, at most [`MAX_OUTPUT_LEN`] bytes (then `...`).
struct Output {
    buf: Vec<u8>,
    truncated: bool,
}

impl Output {
    fn push(&mut self, data: &[u8]) {
        let room = MAX_OUTPUT_LEN.saturating_sub(self.buf.len());
        if data.len() > room {
            self.truncated = true;
        }
        self.buf.extend_from_slice(&data[..data.len().min(room)]);
    }

    fn text(&self) -> String {
        let mut s = String::from_utf8_lossy(&self.buf).into_owned();
        if self.truncated {
            s.push_str("...");
        }
        s
    }
}

impl Lifecycle {
    /// Starts the health monitor of running container `id` (nothing without a check); the
    /// status starts as `starting` with no failing streak (the log is kept).
    pub(crate) fn start_health(self: &Arc<Self>, id: &str) {
        self.health().stop(id);
        let Ok(c) = self.containers().get(id) else { return };
        let Some(check) = Check::of(&c.config) else { return };
        let Ok(c) = self.containers().update_state(id, |s| {
            let h = s.health.get_or_insert_with(Health::default);
            h.status = STARTING.into();
            h.failing_streak = 0;
        }) else {
            return;
        };
        let (tx, rx) = mpsc::channel();
        self.health().insert(id, tx);
        let (me, id, started) = (self.clone(), c.id.clone(), c.state.started_at);
        let _ = std::thread::Builder::new()
            .name("ctr-health".into())
            .spawn(move || me.health_loop(&id, started, &check, &rx));
    }

    /// Ends the health monitor of `id` (the container stopped): the status becomes `unhealthy`.
    pub(crate) fn stop_health(&self, id: &str) {
        if self.health().stop(id) {
            let _ = self.containers().update_state(id, |s| {
                if let Some(h) = s.health.as_mut() {
                    h.status = UNHEALTHY.into();
                }
            });
        }
    }

    fn health_loop(self: &Arc<Self>, id: &str, started: i64, check: &Check, stop: &mpsc::Receiver<()>) {
        loop {
            let since_start = Duration::from_nanos(now_nanos().saturating_sub(started).max(0) as u64);
            let status = self.containers().get(id).ok().and_then(|c| c.state.health).map(|h| h.status);
            let wait = if since_start < check.start_period && status.as_deref() == Some(STARTING) {
                check.start_interval
            } else {
                check.interval
            };
            if !matches!(stop.recv_timeout(wait), Err(mpsc::RecvTimeoutError::Timeout)) {
                return;
            }
            let result = self.probe(id, check);
            if !matches!(stop.try_recv(), Err(mpsc::TryRecvError::Empty)) {
                return; // stopped meanwhile: the result is dropped, as dockerd does
            }
            let since_start = Duration::from_nanos(result.start.saturating_sub(started).max(0) as u64);
            let mut old = String::new();
            let updated = self.containers().update_state(id, |s| {
                let h = s.health.get_or_insert_with(Health::default);
                old = h.status.clone();
                apply_result(h, check, result, since_start);
            });
            let Ok(c) = updated else { return };
            let new = c.state.health.as_ref().map(|h| h.status.clone()).unwrap_or_default();
            if new != old {
                self.containers().publish(&format!("health_status: {new}"), &c, &[]);
            }
        }
    }

    /// Runs the probe once as an exec: its exit code and output, or -1 with the reason.
    fn probe(self: &Arc<Self>, id: &str, check: &Check) -> HealthResult {
        let start = now_nanos();
        let deadline = Instant::now() + check.timeout;
        let fail = |output: String| HealthResult { start, end: now_nanos(), exit_code: -1, output };
        let cfg =
            ExecConfig { attach_stdout: true, attach_stderr: true, cmd: Some(check.cmd.clone()), ..Default::default() };
        let exec_id = match self.exec_create(id, cfg) {
            Ok(x) => x,
            Err(e) => return fail(e.to_string()),
        };
        let attached = match self.exec_start(&exec_id, false) {
            Ok(Some(a)) => a,
            Ok(None) => return fail("the probe's output stream is missing".into()),
            Err(e) => return fail(e.to_string()),
        };
        let mut out = Output { buf: Vec::new(), truncated: false };
        let mut pending = attached.buffered;
        let mut stream = attached.stream;
        let mut chunk = [0u8; 8192];
        let mut timed_out = false;
        loop {
            // Whole frames: an 8-byte header (stream, 0, 0, 0, big-endian length), then data.
            while pending.len() >= 8 {
                let len = u32::from_be_bytes([pending[4], pending[5], pending[6], pending[7]]) as usize;
                if pending.len() < 8 + len {
                    break;
                }
                out.push(&pending[8..8 + len]);
                pending.drain(..8 + len);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                timed_out = true;
                break;
            }
            let _ = stream.set_read_timeout(Some(left));
            match stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => pending.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    timed_out = true;
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        drop(stream);
        let exit_code = if timed_out {
            None
        } else {
            loop {
                match self.exec_inspect(&exec_id) {
                    Ok(e) if !e.running && e.exit_code.is_some() => break e.exit_code,
                    Ok(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                    _ => break None,
                }
            }
        };
        match exit_code {
            Some(code) => HealthResult { start, end: now_nanos(), exit_code: code, output: out.text() },
            None => {
                if let Ok(mut client) = Client::connect(&self.socket_of(id)) {
                    let _ = client.call(&Request::Kill { signal: 9, all: false, exec_id: Some(exec_id) });
                }
                fail(format!("Health check exceeded timeout ({})", go_duration(check.timeout)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(hc: Value) -> Config {
        Config { healthcheck: Some(hc), ..Default::default() }
    }

    #[test]
    fn checks_take_docker_defaults_and_forms() {
        let c = Check::of(&config(json!({"Test": ["CMD-SHELL", "test -f /ok"]}))).unwrap();
        assert_eq!(c.cmd, ["/bin/sh", "-c", "test -f /ok"]);
        assert_eq!(
            (c.interval, c.timeout, c.start_period, c.start_interval, c.retries),
            (DEFAULT_INTERVAL, DEFAULT_TIMEOUT, Duration::ZERO, DEFAULT_START_INTERVAL, 3)
        );
        let c = Check::of(&config(json!({"Test": ["CMD", "true", "x"], "Interval": 1_000_000_000i64, "Retries": 2})))
            .unwrap();
        assert_eq!(
            (c.cmd.as_slice(), c.interval, c.retries),
            (&["true".to_string(), "x".into()][..], Duration::from_secs(1), 2)
        );
        assert!(Check::of(&config(json!({"Test": ["NONE"]}))).is_none());
        assert!(Check::of(&config(json!({"Test": []}))).is_none());
        assert!(Check::of(&Config::default()).is_none());
    }

    fn res(code: i64) -> HealthResult {
        HealthResult { exit_code: code, ..Default::default() }
    }

    #[test]
    fn results_move_the_status_like_dockerd() {
        let mut check = Check::of(&config(json!({"Test": ["CMD", "x"], "Retries": 2}))).unwrap();
        check.start_period = Duration::from_secs(10);
        let mut h = Health { status: STARTING.into(), ..Default::default() };
        // Failures inside the start period while starting do not count.
        apply_result(&mut h, &check, res(1), Duration::from_secs(1));
        assert_eq!((h.status.as_str(), h.failing_streak), (STARTING, 0));
        apply_result(&mut h, &check, res(1), Duration::from_secs(11));
        assert_eq!((h.status.as_str(), h.failing_streak), (STARTING, 1));
        apply_result(&mut h, &check, res(-1), Duration::from_secs(12));
        assert_eq!((h.status.as_str(), h.failing_streak), (UNHEALTHY, 2));
        apply_result(&mut h, &check, res(0), Duration::from_secs(13));
        assert_eq!((h.status.as_str(), h.failing_streak), (HEALTHY, 0));
        // Once healthy, the start period no longer shields failures.
        apply_result(&mut h, &check, res(1), Duration::from_secs(1));
        assert_eq!((h.status.as_str(), h.failing_streak), (HEALTHY, 1));
        for _ in 0..4 {
            apply_result(&mut h, &check, res(1), Duration::from_secs(20));
        }
        assert_eq!(h.log.len(), MAX_LOG_ENTRIES);
    }

    #[test]
    fn output_is_capped_like_dockerd() {
        let mut o = Output { buf: Vec::new(), truncated: false };
        o.push(&[b'a'; 4000]);
        o.push(&[b'b'; 200]);
        let t = o.text();
        assert_eq!(t.len(), MAX_OUTPUT_LEN + 3);
        assert!(t.ends_with("bb..."));
    }

    #[test]
    fn durations_print_as_go() {
        assert_eq!(go_duration(Duration::from_secs(30)), "30s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
    }
}
