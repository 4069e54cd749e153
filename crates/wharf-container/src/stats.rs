//! `docker stats` and `docker top`: samples of a running container's cgroups (v1 controllers
//! under `/sys/fs/cgroup/<controller>/<parent>/<id>`, or the v2 unified directory), and its
//! processes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{ContainerError, Result};
use crate::lifecycle::Lifecycle;
use crate::model::{Container, Status};
use crate::store::now_nanos;

/// One sample of a container's resource use, in Docker's units.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsSample {
    /// When it was read (Unix nanoseconds).
    pub read: i64,
    /// CPU time of the container (ns).
    pub cpu_total: u64,
    /// Per-CPU time (ns).
    pub percpu: Vec<u64>,
    /// User-mode CPU time (ns).
    pub cpu_user: u64,
    /// Kernel-mode CPU time (ns).
    pub cpu_kernel: u64,
    /// The host's CPU time since boot (ns), as Docker's `system_cpu_usage`.
    pub system_cpu: u64,
    /// Online CPUs.
    pub online_cpus: u32,
    /// Memory in use (bytes).
    pub mem_usage: u64,
    /// Peak memory (bytes; v1 only).
    pub mem_max_usage: u64,
    /// Memory limit (bytes; the host's memory when unlimited).
    pub mem_limit: u64,
    /// `memory.stat`.
    pub mem_stats: BTreeMap<String, u64>,
    /// Processes now.
    pub pids_current: u64,
    /// Pids limit (0: none).
    pub pids_limit: u64,
    /// `(major, minor, op, bytes)` of block I/O.
    pub blkio: Vec<(u64, u64, String, u64)>,
}

fn read_u64(p: &std::path::Path) -> u64 {
    std::fs::read_to_string(p).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

fn host_memory() -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The host's CPU time since boot in nanoseconds (sum of `/proc/stat`'s `cpu` line, in
/// clock ticks of 1/100 s), as Docker computes `system_cpu_usage`.
fn system_cpu() -> u64 {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: u64 = text
        .lines()
        .find(|l| l.starts_with("cpu "))
        .map(|l| l.split_whitespace().skip(1).take(7).filter_map(|v| v.parse::<u64>().ok()).sum())
        .unwrap_or(0);
    ticks * 10_000_000
}

impl Lifecycle {
    fn cgroup_dirs(&self, c: &Container) -> (bool, PathBuf) {
        let parent = if c.host_config.cgroup_parent.is_empty() {
            self.settings().cgroup_parent.clone()
        } else {
            c.host_config.cgroup_parent.clone()
        };
        let rel = format!("{}/{}", parent.trim_start_matches('/'), c.id);
        if self.settings().host.cgroup_v2 {
            (true, PathBuf::from("/sys/fs/cgroup").join(rel))
        } else {
            (false, PathBuf::from(rel))
        }
    }

    /// One sample of running container `name`'s cgroups.
    pub fn stats(&self, name: &str) -> Result<(Container, StatsSample)> {
        let c = self.containers().get(name)?;
        let mut s = StatsSample { read: now_nanos(), system_cpu: system_cpu(), ..Default::default() };
        s.online_cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        if !matches!(c.state.status, Status::Running | Status::Paused) {
            return Ok((c, s));
        }
        let (v2, dir) = self.cgroup_dirs(&c);
        if v2 {
            let cpu = std::fs::read_to_string(dir.join("cpu.stat")).unwrap_or_default();
            let field = |k: &str| {
                cpu.lines().find_map(|l| l.strip_prefix(k)).and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0)
                    * 1000
            };
            s.cpu_total = field("usage_usec");
            s.cpu_user = field("user_usec");
            s.cpu_kernel = field("system_usec");
            s.mem_usage = read_u64(&dir.join("memory.current"));
            s.mem_limit = std::fs::read_to_string(dir.join("memory.max"))
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(host_memory);
            s.pids_current = read_u64(&dir.join("pids.current"));
            s.pids_limit = read_u64(&dir.join("pids.max"));
            for l in std::fs::read_to_string(dir.join("memory.stat")).unwrap_or_default().lines() {
                if let Some((k, v)) = l.split_once(' ') {
                    s.mem_stats.insert(k.into(), v.trim().parse().unwrap_or(0));
                }
            }
        } else {
            let ctl = |c: &str| PathBuf::from("/sys/fs/cgroup").join(c).join(&dir);
            s.cpu_total = read_u64(&ctl("cpuacct").join("cpuacct.usage"));
            s.percpu = std::fs::read_to_string(ctl("cpuacct").join("cpuacct.usage_percpu"))
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            s.cpu_user = read_u64(&ctl("cpuacct").join("cpuacct.usage_user"));
            s.cpu_kernel = read_u64(&ctl("cpuacct").join("cpuacct.usage_sys"));
            let mem = ctl("memory");
            s.mem_usage = read_u64(&mem.join("memory.usage_in_bytes"));
            s.mem_max_usage = read_u64(&mem.join("memory.max_usage_in_bytes"));
            let limit = read_u64(&mem.join("memory.limit_in_bytes"));
            let host = host_memory();
            s.mem_limit = if limit == 0 || limit > host { host } else { limit };
            for l in std::fs::read_to_string(mem.join("memory.stat")).unwrap_or_default().lines() {
                if let Some((k, v)) = l.split_once(' ') {
                    s.mem_stats.insert(k.into(), v.trim().parse().unwrap_or(0));
                }
            }
            s.pids_current = read_u64(&ctl("pids").join("pids.current"));
            s.pids_limit = read_u64(&ctl("pids").join("pids.max"));
            for l in std::fs::read_to_string(ctl("blkio").join("blkio.throttle.io_service_bytes"))
                .unwrap_or_default()
                .lines()
            {
                let parts: Vec<&str> = l.split_whitespace().collect();
                if let [dev, op, v] = parts[..] {
                    if let Some((ma, mi)) = dev.split_once(':') {
                        s.blkio.push((
                            ma.parse().unwrap_or(0),
                            mi.parse().unwrap_or(0),
                            op.into(),
                            v.parse().unwrap_or(0),
                        ));
                    }
                }
            }
        }
        Ok((c, s))
    }

    /// The PIDs (host namespace) of the processes in running container `name`.
    fn pids(&self, c: &Container) -> Vec<u32> {
        let (v2, dir) = self.cgroup_dirs(c);
        let procs = if v2 {
            dir.join("cgroup.procs")
        } else {
            PathBuf::from("/sys/fs/cgroup/pids").join(&dir).join("cgroup.procs")
        };
        std::fs::read_to_string(procs).unwrap_or_default().split_whitespace().filter_map(|p| p.parse().ok()).collect()
    }

    /// `docker top`: `ps` run on the host with `ps_args` (default `-ef`), its rows narrowed to
    /// the container's processes, as dockerd does. `(titles, rows)`.
    pub fn top(&self, name: &str, ps_args: &str) -> Result<(Vec<String>, Vec<Vec<String>>)> {
        let c = self.containers().get(name)?;
        if !matches!(c.state.status, Status::Running | Status::Paused) {
            return Err(ContainerError::Conflict(format!("Container {} is not running", c.id)));
        }
        let pids = self.pids(&c);
        let args: Vec<&str> =
            if ps_args.trim().is_empty() { vec!["-ef"] } else { ps_args.split_whitespace().collect() };
        let out = std::process::Command::new("ps")
            .args(&args)
            .output()
            .map_err(|e| ContainerError::internal(format!("running ps: {e}")))?;
        if !out.status.success() {
            return Err(ContainerError::internal(format!("ps: {}", String::from_utf8_lossy(&out.stderr).trim())));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default();
        let titles: Vec<String> = header.split_whitespace().map(str::to_string).collect();
        let Some(pid_col) = titles.iter().position(|t| t == "PID") else {
            return Err(ContainerError::Invalid("Couldn't find PID field in ps output".into()));
        };
        let mut rows = Vec::new();
        for l in lines {
            let fields: Vec<&str> = l.split_whitespace().collect();
            if fields.len() < titles.len() {
                continue;
            }
            let Some(pid) = fields.get(pid_col).and_then(|p| p.parse::<u32>().ok()) else { continue };
            if !pids.contains(&pid) {
                continue;
            }
            // The last column keeps its spaces (the command line).
            let mut row: Vec<String> = fields[..titles.len() - 1].iter().map(|s| s.to_string()).collect();
            row.push(fields[titles.len() - 1..].join(" "));
            rows.push(row);
        }
        self.containers().publish("top", &c, &[]);
        Ok((titles, rows))
    }
}
