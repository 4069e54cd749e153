//! `wharf stats` and `wharf top` (also under `wharf container`), as the docker 28 CLI
//! shows them.
//!
//! `stats` reads `GET /containers/{id}/stats?stream=1` (or `stream=0` with
//! `--no-stream`, where the daemon pairs the sample with one taken shortly before) per
//! container and computes docker's numbers (`stats_helpers.go`): CPU % from the
//! container's and the system's CPU time deltas times the online CPUs, memory use
//! without the inactive file cache (`total_inactive_file` on cgroup v1,
//! `inactive_file` on v2), memory %, network and block I/O (`io_service_bytes_recursive`
//! read/write) and PIDs. Memory is shown in binary units, I/O in decimal ones. Without
//! names, the running containers (all with `-a`) are followed through container events
//! (`start`, `die`, and `create` with `-a`), subscribed to before the list is read. A
//! container that sends nothing for 2 s shows `--`. The live table is redrawn every
//! 500 ms exactly as docker 28 writes it (cursor home, the table, then each line again
//! followed by an erase-line, then erase-below).
//!
//! `top` prints `GET /containers/{id}/top?ps_args=` as docker does (columns of at least
//! 20, padding 3); everything after the container is `ps`'s arguments.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use futures_util::StreamExt;
use http::Method;
use serde_json::{json, Value};

use crate::config::ConfigFile;
use crate::connect::{path_escape, Conn};
use crate::filters::{Filters, Query};
use crate::format::{self, Format, Row, StatusError};
use crate::hijack::{self, Transport};
use crate::image::connect;
use crate::jsonmessage::Decoder;
use crate::system::Target;
use crate::units;

#[derive(Debug, Args)]
pub(crate) struct StatsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    pub all: bool,
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true, help = format::FORMAT_HELP)]
    pub format: String,
    /// Disable streaming stats and only pull the first result
    #[arg(long)]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// One container's numbers (docker's `StatsEntry`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct StatsEntry {
    pub container: String,
    pub name: String,
    pub id: String,
    pub cpu_percentage: f64,
    pub memory: f64,
    pub memory_limit: f64,
    pub memory_percentage: f64,
    pub network_rx: f64,
    pub network_tx: f64,
    pub block_read: f64,
    pub block_write: f64,
    pub pids_current: u64,
    pub is_invalid: bool,
}

fn num(v: &Value, path: &[&str]) -> u64 {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_u64().or_else(|| cur.as_f64().map(|f| f as u64)).unwrap_or(0)
}

/// docker's `calculateCPUPercentUnix`.
pub(crate) fn calculate_cpu_percent_unix(pre: &Value, cur: &Value) -> f64 {
    let cpu_delta = num(cur, &["cpu_usage", "total_usage"]) as f64 - num(pre, &["cpu_usage", "total_usage"]) as f64;
    let system_delta = num(cur, &["system_cpu_usage"]) as f64 - num(pre, &["system_cpu_usage"]) as f64;
    let mut online = num(cur, &["online_cpus"]) as f64;
    if online == 0.0 {
        online = cur["cpu_usage"]["percpu_usage"].as_array().map_or(0, Vec::len) as f64;
    }
    if system_delta > 0.0 && cpu_delta > 0.0 {
        return cpu_delta / system_delta * online * 100.0;
    }
    0.0
}

/// docker's `calculateCPUPercentWindows`: 100 ns intervals used over those possible.
fn calculate_cpu_percent_windows(v: &Value) -> f64 {
    let time = |k: &str| {
        v[k].as_str().and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok()).and_then(|t| t.timestamp_nanos_opt())
    };
    let elapsed = time("read").unwrap_or(0).wrapping_sub(time("preread").unwrap_or(0)) as u64;
    let possible = elapsed / 100 * num(v, &["num_procs"]);
    if possible > 0 {
        let used = num(v, &["cpu_stats", "cpu_usage", "total_usage"])
            .wrapping_sub(num(v, &["precpu_stats", "cpu_usage", "total_usage"]));
        return used as f64 / possible as f64 * 100.0;
    }
    0.0
}

/// docker's `calculateMemUsageUnixNoCache`: the usage without the inactive file cache.
pub(crate) fn calculate_mem_usage_unix_no_cache(mem: &Value) -> f64 {
    let usage = num(mem, &["usage"]);
    let stats = &mem["stats"];
    if let Some(v) = stats.get("total_inactive_file") {
        let v = v.as_u64().unwrap_or(0);
        if v < usage {
            return (usage - v) as f64;
        }
    }
    let v = num(stats, &["inactive_file"]);
    if v < usage {
        return (usage - v) as f64;
    }
    usage as f64
}

/// docker's `calculateMemPercentUnixNoCache`.
fn calculate_mem_percent_unix_no_cache(limit: f64, used: f64) -> f64 {
    if limit != 0.0 {
        used / limit * 100.0
    } else {
        0.0
    }
}

/// docker's `calculateBlockIO`: bytes read and written, from the first letter of `op`.
pub(crate) fn calculate_block_io(blkio: &Value) -> (u64, u64) {
    let (mut read, mut write) = (0u64, 0u64);
    for e in blkio["io_service_bytes_recursive"].as_array().into_iter().flatten() {
        let value = num(e, &["value"]);
        match e["op"].as_str().and_then(|op| op.chars().next()) {
            Some('r' | 'R') => read = read.wrapping_add(value),
            Some('w' | 'W') => write = write.wrapping_add(value),
            _ => {}
        }
    }
    (read, write)
}

/// docker's `calculateNetwork`: bytes received and sent on all interfaces.
pub(crate) fn calculate_network(networks: &Value) -> (f64, f64) {
    let (mut rx, mut tx) = (0.0, 0.0);
    for n in networks.as_object().into_iter().flat_map(|m| m.values()) {
        rx += num(n, &["rx_bytes"]) as f64;
        tx += num(n, &["tx_bytes"]) as f64;
    }
    (rx, tx)
}

/// One stats sample as docker's `StatsEntry` (its `container` left empty).
pub(crate) fn entry_from_stats(v: &Value) -> StatsEntry {
    let name = v["name"].as_str().unwrap_or("").to_string();
    let id = v["id"].as_str().unwrap_or("").to_string();
    let (network_rx, network_tx) = calculate_network(&v["networks"]);
    if v["os_type"] == "windows" {
        return StatsEntry {
            name,
            id,
            cpu_percentage: calculate_cpu_percent_windows(v),
            memory: num(v, &["memory_stats", "privateworkingset"]) as f64,
            network_rx,
            network_tx,
            block_read: num(v, &["storage_stats", "read_size_bytes"]) as f64,
            block_write: num(v, &["storage_stats", "write_size_bytes"]) as f64,
            ..StatsEntry::default()
        };
    }
    let memory = calculate_mem_usage_unix_no_cache(&v["memory_stats"]);
    let limit = num(v, &["memory_stats", "limit"]) as f64;
    let (block_read, block_write) = calculate_block_io(&v["blkio_stats"]);
    StatsEntry {
        container: String::new(),
        name,
        id,
        cpu_percentage: calculate_cpu_percent_unix(&v["precpu_stats"], &v["cpu_stats"]),
        memory,
        memory_limit: limit,
        memory_percentage: calculate_mem_percent_unix_no_cache(limit, memory),
        network_rx,
        network_tx,
        block_read: block_read as f64,
        block_write: block_write as f64,
        pids_current: num(v, &["pids_stats", "current"]),
        is_invalid: false,
    }
}

/// Go's `strconv.FormatFloat(v, 'f', 2, 64) + "%"`.
fn percentage(v: f64) -> String {
    format!("{v:.2}%")
}

/// The fields of docker's `statsContext` for one entry, and the default table's cells.
pub(crate) fn stats_row(e: &StatsEntry, trunc: bool) -> Row {
    let invalid = e.is_invalid;
    let dash = || "--".to_string();
    let name = if e.name.len() > 1 { e.name[1..].to_string() } else { dash() };
    let id = if trunc { units::truncate_id(&e.id) } else { e.id.clone() };
    let cpu = if invalid { dash() } else { percentage(e.cpu_percentage) };
    let mem_usage = if invalid {
        "-- / --".to_string()
    } else {
        format!("{} / {}", format::bytes_size(e.memory), format::bytes_size(e.memory_limit))
    };
    let mem_perc = if invalid { dash() } else { percentage(e.memory_percentage) };
    let io = |a: f64, b: f64| {
        format!("{} / {}", units::human_size_with_precision(a, 3), units::human_size_with_precision(b, 3))
    };
    let net = if invalid { dash() } else { io(e.network_rx, e.network_tx) };
    let block = if invalid { dash() } else { io(e.block_read, e.block_write) };
    let pids = if invalid { dash() } else { e.pids_current.to_string() };
    let data = json!({
        "Container": e.container, "Name": name, "ID": id, "CPUPerc": cpu, "MemUsage": mem_usage,
        "MemPerc": mem_perc, "NetIO": net, "BlockIO": block, "PIDs": pids,
    });
    let cells = vec![id, name, cpu, mem_usage, mem_perc, net, block, pids];
    Row { data, cells }
}

const STATS_COLUMNS: [&str; 8] =
    ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"];

/// Renders the entries in `format` (`table`, `table TEMPLATE`, `json` or a template).
pub(crate) fn render(entries: &[StatsEntry], format: &str, trunc: bool) -> anyhow::Result<Vec<u8>> {
    let header = json!({
        "Container": "CONTAINER", "Name": "NAME", "ID": "CONTAINER ID", "CPUPerc": "CPU %",
        "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
    });
    let rows: Vec<Row> = entries.iter().map(|e| stats_row(e, trunc)).collect();
    let mut out = Vec::new();
    format::write_list(&mut out, &Format::parse(format), &header, &STATS_COLUMNS, &rows)?;
    Ok(out)
}

/// One redraw of the live table, byte for byte as docker 28 writes it: the cursor sent
/// home and the table, then every line of that again followed by ` ` and an erase to
/// the end of the line, then an erase of the rest of the screen.
pub(crate) fn redraw(table: &[u8]) -> Vec<u8> {
    let mut first = b"\x1b[H".to_vec();
    first.extend_from_slice(table);
    let mut out = first.clone();
    for line in first.split(|b| *b == b'\n') {
        out.extend_from_slice(line);
        out.extend_from_slice(b" \x1b[K\n");
    }
    out.extend_from_slice(b"\x1b[J");
    out
}

/// docker's `Stats`: a container's last entry and error.
#[derive(Debug, Default)]
struct Stats {
    entry: StatsEntry,
    err: Option<String>,
}

impl Stats {
    /// `SetErrorAndReset`: the numbers zeroed, the entry invalid.
    fn set_error_and_reset(&mut self, err: &str) {
        let container = std::mem::take(&mut self.entry.container);
        let (name, id) = (std::mem::take(&mut self.entry.name), std::mem::take(&mut self.entry.id));
        self.entry = StatsEntry { container, name, id, is_invalid: true, ..StatsEntry::default() };
        self.err = Some(err.to_string());
    }

    /// `SetError`: an error makes the entry invalid; none clears the error only.
    fn set_error(&mut self, err: Option<String>) {
        if err.is_some() {
            self.entry.is_invalid = true;
        }
        self.err = err;
    }

    /// `SetStatistics`.
    fn set_statistics(&mut self, mut e: StatsEntry) {
        e.container = std::mem::take(&mut self.entry.container);
        self.entry = e;
    }
}

type Shared = Arc<Mutex<Stats>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Stats> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// The containers shown, in the order they were added.
#[derive(Debug, Default)]
struct StatsList(Mutex<Vec<Shared>>);

impl StatsList {
    fn items(&self) -> std::sync::MutexGuard<'_, Vec<Shared>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `container` unless it is shown already.
    fn add(&self, container: &str) -> Option<Shared> {
        let mut items = self.items();
        if items.iter().any(|s| lock(s).entry.container == container) {
            return None;
        }
        let s = Arc::new(Mutex::new(Stats {
            entry: StatsEntry { container: container.to_string(), ..StatsEntry::default() },
            err: None,
        }));
        items.push(Arc::clone(&s));
        Some(s)
    }

    fn remove(&self, container: &str) {
        self.items().retain(|s| lock(s).entry.container != container);
    }

    fn entries(&self) -> Vec<StatsEntry> {
        self.items().iter().map(|s| lock(s).entry.clone()).collect()
    }

    fn errors(&self) -> Vec<String> {
        self.items().iter().filter_map(|s| lock(s).err.clone()).collect()
    }
}

/// docker's `collect`: reads one container's stats into `s`; `first` is released with
/// the first sample, an error, or the 2 s timeout.
async fn collect(conn: Conn, s: Shared, stream: bool, mut first: Option<tokio::sync::oneshot::Sender<()>>) {
    let mut release = move || {
        if let Some(f) = first.take() {
            let _ = f.send(());
        }
    };
    let container = lock(&s).entry.container.clone();
    let path = format!("/containers/{}/stats?stream={}", path_escape(&container), if stream { "1" } else { "0" });
    let mut body = conn.raw(Method::GET, &path, None);
    let mut decoder = Decoder::<Value>::default();
    loop {
        match tokio::time::timeout(Duration::from_secs(2), body.next()).await {
            Err(_) => {
                lock(&s).set_error_and_reset("timeout waiting for stats");
                release();
                if !stream {
                    return;
                }
            }
            Ok(None) => {
                lock(&s).set_error(Some("EOF".into()));
                release();
                return;
            }
            Ok(Some(Err(e))) => {
                lock(&s).set_error(Some(conn.request_error(e).message));
                release();
                return;
            }
            Ok(Some(Ok(chunk))) => {
                for sample in decoder.push(&chunk) {
                    match sample {
                        Ok(v) => {
                            let mut st = lock(&s);
                            st.set_statistics(entry_from_stats(&v));
                            st.set_error(None);
                            drop(st);
                            release();
                            if !stream {
                                return;
                            }
                        }
                        Err(e) => lock(&s).set_error(Some(e)),
                    }
                }
            }
        }
    }
}

/// Starts collecting for `container` unless it is shown already.
fn start_collect(
    conn: &Conn,
    list: &StatsList,
    container: &str,
    stream: bool,
    firsts: Option<&mut Vec<tokio::sync::oneshot::Receiver<()>>>,
) {
    let Some(s) = list.add(container) else { return };
    let first = firsts.map(|f| {
        let (tx, rx) = tokio::sync::oneshot::channel();
        f.push(rx);
        tx
    });
    tokio::spawn(collect(conn.clone(), s, stream, first));
}

/// The first 12 characters of an ID (docker keys the containers it finds by them).
fn short_id(id: &str) -> String {
    id.chars().take(12).collect()
}

/// Follows container events: `start` (and `create` with `-a`) add a container, `die`
/// (without `-a`) removes it. Returns when the stream ends, with its error if any.
async fn watch_events(
    mut body: hyper::body::Incoming,
    conn: Conn,
    list: Arc<StatsList>,
    all: bool,
    stream: bool,
) -> Result<(), String> {
    let mut decoder = Decoder::<Value>::default();
    while let Some(chunk) = hijack::next_data(&mut body).await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        for ev in decoder.push(&chunk) {
            let ev = ev?;
            let action = ev["Action"].as_str().or_else(|| ev["status"].as_str()).unwrap_or("");
            let id = ev["Actor"]["ID"].as_str().or_else(|| ev["id"].as_str()).unwrap_or("");
            if id.is_empty() {
                continue;
            }
            match action {
                "create" if all => start_collect(&conn, &list, &short_id(id), stream, None),
                "start" => start_collect(&conn, &list, &short_id(id), stream, None),
                "die" if !all => list.remove(&short_id(id)),
                _ => {}
            }
        }
    }
    Ok(())
}

/// `wharf stats`.
pub(crate) async fn stats(t: &Target, config: &ConfigFile, a: &StatsArgs) -> anyhow::Result<()> {
    let conn = connect(t).await?;
    let list = Arc::new(StatsList::default());
    let show_all = a.containers.is_empty();
    let stream = !a.no_stream;
    let mut firsts = Vec::new();
    let (events_tx, mut events_rx) = tokio::sync::mpsc::channel::<Result<(), String>>(1);
    if show_all {
        // Subscribed before the list is read, so that no start is missed.
        let tr = Transport::new(t.endpoint()?, conn.api_version());
        let mut f = Filters::default();
        f.add("type", "container");
        let mut q = Query::default();
        q.add("filters", &f.to_json());
        let events = tr.request(Method::GET, &format!("/events{}", q.encode()), false).await;
        let (c, l) = (conn.clone(), Arc::clone(&list));
        let all = a.all;
        tokio::spawn(async move {
            let result = match events {
                Ok(resp) => watch_events(resp.into_body(), c, l, all, stream).await,
                Err(e) => Err(e.message),
            };
            let _ = events_tx.send(result).await;
        });
        let mut q = Query::default();
        if a.all {
            q.add("all", "1");
        }
        let containers = conn.raw_json(Method::GET, &format!("/containers/json{}", q.encode())).await?;
        for c in containers.as_array().into_iter().flatten() {
            let id = short_id(c["Id"].as_str().unwrap_or(""));
            start_collect(&conn, &list, &id, stream, Some(&mut firsts));
        }
    } else {
        drop(events_tx);
        for name in &a.containers {
            start_collect(&conn, &list, name, stream, Some(&mut firsts));
        }
    }
    for f in firsts {
        let _ = f.await;
    }
    if !show_all {
        let errors = list.errors();
        if !errors.is_empty() {
            return Err(StatusError::new(1, errors.join("\n")).into());
        }
    }

    let mut source = a.format.clone();
    if source.is_empty() {
        source = config.get_str("statsFormat").unwrap_or("table").to_string();
    }
    let trunc = !a.no_trunc;
    if !stream {
        let out = render(&list.entries(), &source, trunc)?;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&out)?;
        stdout.flush()?;
        return Ok(());
    }
    let period = Duration::from_millis(500);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let events_open = show_all;
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let entries = list.entries();
                let out = redraw(&render(&entries, &source, trunc)?);
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(&out)?;
                stdout.flush()?;
                if entries.is_empty() && !show_all {
                    return Ok(());
                }
            }
            ended = events_rx.recv(), if events_open => {
                // The daemon going away ends the command quietly, as in docker.
                if let Some(Err(e)) = ended {
                    if !e.contains("EOF") {
                        return Err(anyhow::anyhow!(e));
                    }
                }
                return Ok(());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// top
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct TopArgs {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    #[arg(value_name = "ps OPTIONS", trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// The path of `GET /containers/{id}/top`: the `ps` arguments joined by spaces.
pub(crate) fn top_path(container: &str, args: &[String]) -> String {
    let mut q = Query::default();
    if !args.is_empty() {
        q.add("ps_args", &args.join(" "));
    }
    format!("/containers/{}/top{}", path_escape(container), q.encode())
}

/// The process table as docker prints it.
pub(crate) fn top_table(answer: &Value) -> anyhow::Result<Vec<u8>> {
    let cells = |v: &Value| -> Vec<String> {
        v.as_array().into_iter().flatten().map(|c| c.as_str().unwrap_or("").to_string()).collect()
    };
    let mut tw = format::go_tabwriter(Vec::new(), 20, 3);
    writeln!(tw, "{}", cells(&answer["Titles"]).join("\t"))?;
    for p in answer["Processes"].as_array().into_iter().flatten() {
        writeln!(tw, "{}", cells(p).join("\t"))?;
    }
    tw.flush()?;
    tw.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// `wharf top`.
pub(crate) async fn top(t: &Target, a: &TopArgs) -> anyhow::Result<()> {
    let conn = connect(t).await?;
    let answer = conn.raw_json(Method::GET, &top_path(&a.container, &a.args)).await?;
    let out = top_table(&answer)?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&out)?;
    stdout.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cgroup v2 sample like the one used to capture docker 28.2's output.
    fn sample(n: u64) -> Value {
        json!({
            "read": "2024-01-01T00:00:01Z", "preread": "2024-01-01T00:00:00Z", "name": "/web", "id": "a".repeat(64),
            "pids_stats": {"current": 3 + n},
            "blkio_stats": {"io_service_bytes_recursive": [
                {"major": 8, "minor": 0, "op": "read", "value": 4_096_000u64},
                {"major": 8, "minor": 0, "op": "write", "value": 12_300},
                {"major": 8, "minor": 0, "op": "", "value": 5}]},
            "num_procs": 0,
            "cpu_stats": {"cpu_usage": {"total_usage": 200_000_000 + n * 10_000_000}, "system_cpu_usage": 10_000_000_000u64 + n * 1_000_000_000, "online_cpus": 4},
            "precpu_stats": {"cpu_usage": {"total_usage": 100_000_000}, "system_cpu_usage": 9_000_000_000u64, "online_cpus": 4},
            "memory_stats": {"usage": 1_572_864 + 4_096_000, "stats": {"inactive_file": 4_096_000}, "limit": 25_199_845_376u64},
            "networks": {"eth0": {"rx_bytes": 12_300, "tx_bytes": 4_100}, "eth1": {"rx_bytes": 0, "tx_bytes": 0}},
        })
    }

    #[test]
    fn cpu_percent_like_docker() {
        let s = sample(0);
        assert!((calculate_cpu_percent_unix(&s["precpu_stats"], &s["cpu_stats"]) - 40.0).abs() < 1e-9);
        // No online_cpus: the per-CPU list's length.
        let pre = json!({"cpu_usage": {"total_usage": 0}, "system_cpu_usage": 0});
        let cur = json!({"cpu_usage": {"total_usage": 50, "percpu_usage": [1, 2]}, "system_cpu_usage": 100});
        assert_eq!(calculate_cpu_percent_unix(&pre, &cur), 100.0);
        // A counter that went backwards (or no delta) is 0.
        assert_eq!(calculate_cpu_percent_unix(&cur, &pre), 0.0);
        // One-shot samples have an empty precpu.
        assert_eq!(calculate_cpu_percent_unix(&json!({}), &json!({"cpu_usage": {"total_usage": 5}})), 0.0);
        let win = json!({"read": "2024-01-01T00:00:01Z", "preread": "2024-01-01T00:00:00Z", "num_procs": 2,
                         "cpu_stats": {"cpu_usage": {"total_usage": 5_000_000}}, "precpu_stats": {"cpu_usage": {"total_usage": 0}}});
        assert_eq!(calculate_cpu_percent_windows(&win), 25.0);
    }

    #[test]
    fn memory_without_cache() {
        // cgroup v2.
        assert_eq!(calculate_mem_usage_unix_no_cache(&json!({"usage": 100, "stats": {"inactive_file": 30}})), 70.0);
        // cgroup v1 wins when present.
        let v1 = json!({"usage": 100, "stats": {"total_inactive_file": 10, "inactive_file": 30}});
        assert_eq!(calculate_mem_usage_unix_no_cache(&v1), 90.0);
        // A cache larger than the usage is not subtracted.
        assert_eq!(calculate_mem_usage_unix_no_cache(&json!({"usage": 100, "stats": {"inactive_file": 300}})), 100.0);
        let v1_big = json!({"usage": 100, "stats": {"total_inactive_file": 300, "inactive_file": 30}});
        assert_eq!(calculate_mem_usage_unix_no_cache(&v1_big), 70.0);
        assert_eq!(calculate_mem_usage_unix_no_cache(&json!({})), 0.0);
        assert_eq!(calculate_mem_percent_unix_no_cache(0.0, 5.0), 0.0);
        assert_eq!(
            calculate_block_io(
                &json!({"io_service_bytes_recursive": [{"op": "Read", "value": 1}, {"op": "Write", "value": 2}, {"op": "Total", "value": 3}]})
            ),
            (1, 2)
        );
        assert_eq!(calculate_block_io(&json!({"io_service_bytes_recursive": null})), (0, 0));
        assert_eq!(
            calculate_network(&json!({"a": {"rx_bytes": 1, "tx_bytes": 2}, "b": {"rx_bytes": 3, "tx_bytes": 4}})),
            (4.0, 6.0)
        );
        assert_eq!(calculate_network(&Value::Null), (0.0, 0.0));
    }

    fn entry(container: &str, n: u64) -> StatsEntry {
        StatsEntry { container: container.into(), ..entry_from_stats(&sample(n)) }
    }

    /// `docker stats --no-stream` (28.2) for the same daemon answers, byte for byte.
    #[test]
    fn table_like_docker() {
        let mut db = entry("db", 0);
        db.name = "/db".into();
        db.id = "b".repeat(64);
        let out =
            String::from_utf8(render(&[entry("web", 0), db.clone()], "table", true).expect("render")).expect("utf8");
        assert_eq!(
            out,
            "\
CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O          BLOCK I/O        PIDS
aaaaaaaaaaaa   web       40.00%    1.5MiB / 23.47GiB   0.01%     12.3kB / 4.1kB   4.1MB / 12.3kB   3
bbbbbbbbbbbb   db        40.00%    1.5MiB / 23.47GiB   0.01%     12.3kB / 4.1kB   4.1MB / 12.3kB   3
"
        );
        let out = String::from_utf8(render(&[entry("web", 0)], "", false).expect("render")).expect("utf8");
        assert!(out.lines().nth(1).expect("row").starts_with(&format!("{}   web", "a".repeat(64))), "{out}");
        let out = String::from_utf8(render(&[entry("web", 0)], "json", true).expect("render")).expect("utf8");
        assert_eq!(
            out,
            r#"{"BlockIO":"4.1MB / 12.3kB","CPUPerc":"40.00%","Container":"web","ID":"aaaaaaaaaaaa","MemPerc":"0.01%","MemUsage":"1.5MiB / 23.47GiB","Name":"web","NetIO":"12.3kB / 4.1kB","PIDs":"3"}
"#
        );
        let out = String::from_utf8(render(&[], "table", true).expect("render")).expect("utf8");
        assert_eq!(
            out,
            "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O   PIDS\n"
        );
    }

    #[test]
    fn invalid_entries_show_dashes() {
        let mut s = Stats { entry: entry("web", 0), err: None };
        s.set_error_and_reset("timeout waiting for stats");
        assert_eq!(s.entry.container, "web");
        assert_eq!(s.entry.memory, 0.0);
        let row = stats_row(&s.entry, true);
        assert_eq!(row.cells, ["aaaaaaaaaaaa", "web", "--", "-- / --", "--", "--", "--", "--"]);
        s.set_statistics(entry_from_stats(&sample(1)));
        s.set_error(None);
        assert!(!s.entry.is_invalid && s.err.is_none());
        assert_eq!(s.entry.container, "web");
        assert_eq!(stats_row(&s.entry, true).cells[2], "22.00%");
        s.set_error(Some("EOF".into()));
        assert!(s.entry.is_invalid);
        let nameless = StatsEntry { name: "/".into(), ..StatsEntry::default() };
        assert_eq!(stats_row(&nameless, true).cells[1], "--");
    }

    #[test]
    fn list_keeps_order_and_dedups() {
        let l = StatsList::default();
        assert!(l.add("a").is_some());
        assert!(l.add("b").is_some());
        assert!(l.add("a").is_none());
        l.remove("a");
        assert!(l.add("a").is_some());
        let names: Vec<String> = l.entries().into_iter().map(|e| e.container).collect();
        assert_eq!(names, ["b", "a"]);
    }

    /// The bytes docker 28.2 writes for one redraw of the live table.
    #[test]
    fn redraw_like_docker() {
        assert_eq!(redraw(b"H\nr1\n"), b"\x1b[HH\nr1\n\x1b[HH \x1b[K\nr1 \x1b[K\n \x1b[K\n\x1b[J".to_vec());
    }

    #[test]
    fn top_like_docker() {
        assert_eq!(top_path("web", &[]), "/containers/web/top");
        assert_eq!(top_path("web", &["-o".into(), "pid,comm".into()]), "/containers/web/top?ps_args=-o%20pid%2Ccomm");
        let answer = json!({"Titles": ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
            "Processes": [["root", "1234", "1200", "0", "10:00", "?", "00:00:00", "sleep 1000"],
                          ["root", "99999", "1234", "0", "10:00", "pts/0", "00:00:00", "sh -c echo a   b"]]});
        assert_eq!(
            String::from_utf8(top_table(&answer).expect("table")).expect("utf8"),
            "\
UID                 PID                 PPID                C                   STIME               TTY                 TIME                CMD
root                1234                1200                0                   10:00               ?                   00:00:00            sleep 1000
root                99999               1234                0                   10:00               pts/0               00:00:00            sh -c echo a   b
"
        );
    }
}
