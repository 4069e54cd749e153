//! `wharf update` (`container update`): new resource limits and restart policy for one
//! or more containers, `POST /containers/{id}/update` with the body docker 28 sends
//! (`container.UpdateConfig`: every `Resources` field in Go's order, unset pointers as
//! `null`, and the restart policy). The containers are updated one after the other;
//! the names that succeeded are printed as given, then the daemon's warnings, then the
//! errors.

use anyhow::anyhow;
use clap::Args;
use serde::Serialize;
use serde_json::Value;

use crate::connect::path_escape;
use crate::copts::{parse_mem_bytes, parse_mem_swap, parse_nano_cpus, parse_restart_policy};
use crate::format::StatusError;
use crate::image::connect;
use crate::system::Target;

#[derive(Debug, Default, Args)]
pub(crate) struct UpdateArgs {
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)
    #[arg(long = "blkio-weight", value_name = "uint16")]
    pub blkio_weight: Option<u16>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long = "cpu-period", value_name = "int", allow_hyphen_values = true)]
    pub cpu_period: Option<i64>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long = "cpu-quota", value_name = "int", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// Limit the CPU real-time period in microseconds
    #[arg(long = "cpu-rt-period", value_name = "int", allow_hyphen_values = true)]
    pub cpu_rt_period: Option<i64>,
    /// Limit the CPU real-time runtime in microseconds
    #[arg(long = "cpu-rt-runtime", value_name = "int", allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares", value_name = "int", allow_hyphen_values = true)]
    pub cpu_shares: Option<i64>,
    /// Number of CPUs
    #[arg(long, value_name = "decimal", value_parser = parse_nano_cpus)]
    pub cpus: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus", value_name = "string")]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-mems", value_name = "string")]
    pub cpuset_mems: Option<String>,
    /// Kernel memory limit (deprecated)
    #[arg(long = "kernel-memory", value_name = "bytes", value_parser = parse_mem_bytes, hide = true)]
    pub kernel_memory: Option<i64>,
    /// Memory limit
    #[arg(short = 'm', long, value_name = "bytes", value_parser = parse_mem_bytes)]
    pub memory: Option<i64>,
    /// Memory soft limit
    #[arg(long = "memory-reservation", value_name = "bytes", value_parser = parse_mem_bytes)]
    pub memory_reservation: Option<i64>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "bytes", value_parser = parse_mem_swap, allow_hyphen_values = true)]
    pub memory_swap: Option<i64>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", value_name = "int", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Restart policy to apply when a container exits
    #[arg(long, value_name = "string")]
    pub restart: Option<String>,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

/// docker's `container.RestartPolicy`.
#[derive(Debug, Default, PartialEq, Serialize)]
struct RestartPolicy {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "MaximumRetryCount")]
    maximum_retry_count: i64,
}

/// docker's `container.UpdateConfig` as its client encodes it, fields in Go's order.
#[derive(Debug, Default, PartialEq, Serialize)]
pub(crate) struct UpdateConfig {
    #[serde(rename = "CpuShares")]
    cpu_shares: i64,
    #[serde(rename = "Memory")]
    memory: i64,
    #[serde(rename = "NanoCpus")]
    nano_cpus: i64,
    #[serde(rename = "CgroupParent")]
    cgroup_parent: String,
    #[serde(rename = "BlkioWeight")]
    blkio_weight: u16,
    #[serde(rename = "BlkioWeightDevice")]
    blkio_weight_device: Option<Vec<Value>>,
    #[serde(rename = "BlkioDeviceReadBps")]
    blkio_device_read_bps: Option<Vec<Value>>,
    #[serde(rename = "BlkioDeviceWriteBps")]
    blkio_device_write_bps: Option<Vec<Value>>,
    #[serde(rename = "BlkioDeviceReadIOps")]
    blkio_device_read_iops: Option<Vec<Value>>,
    #[serde(rename = "BlkioDeviceWriteIOps")]
    blkio_device_write_iops: Option<Vec<Value>>,
    #[serde(rename = "CpuPeriod")]
    cpu_period: i64,
    #[serde(rename = "CpuQuota")]
    cpu_quota: i64,
    #[serde(rename = "CpuRealtimePeriod")]
    cpu_realtime_period: i64,
    #[serde(rename = "CpuRealtimeRuntime")]
    cpu_realtime_runtime: i64,
    #[serde(rename = "CpusetCpus")]
    cpuset_cpus: String,
    #[serde(rename = "CpusetMems")]
    cpuset_mems: String,
    #[serde(rename = "Devices")]
    devices: Option<Vec<Value>>,
    #[serde(rename = "DeviceCgroupRules")]
    device_cgroup_rules: Option<Vec<String>>,
    #[serde(rename = "DeviceRequests")]
    device_requests: Option<Vec<Value>>,
    #[serde(rename = "KernelMemory", skip_serializing_if = "is_zero")]
    kernel_memory: i64,
    #[serde(rename = "MemoryReservation")]
    memory_reservation: i64,
    #[serde(rename = "MemorySwap")]
    memory_swap: i64,
    #[serde(rename = "MemorySwappiness")]
    memory_swappiness: Option<i64>,
    #[serde(rename = "OomKillDisable")]
    oom_kill_disable: Option<bool>,
    #[serde(rename = "PidsLimit")]
    pids_limit: Option<i64>,
    #[serde(rename = "Ulimits")]
    ulimits: Option<Vec<Value>>,
    #[serde(rename = "CpuCount")]
    cpu_count: i64,
    #[serde(rename = "CpuPercent")]
    cpu_percent: i64,
    #[serde(rename = "IOMaximumIOps")]
    io_maximum_iops: u64,
    #[serde(rename = "IOMaximumBandwidth")]
    io_maximum_bandwidth: u64,
    #[serde(rename = "RestartPolicy")]
    restart_policy: RestartPolicy,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

impl UpdateArgs {
    /// How many flags were given (cobra's `NFlag`).
    fn flags_set(&self) -> usize {
        [
            self.blkio_weight.is_some(),
            self.cpu_period.is_some(),
            self.cpu_quota.is_some(),
            self.cpu_rt_period.is_some(),
            self.cpu_rt_runtime.is_some(),
            self.cpu_shares.is_some(),
            self.cpus.is_some(),
            self.cpuset_cpus.is_some(),
            self.cpuset_mems.is_some(),
            self.kernel_memory.is_some(),
            self.memory.is_some(),
            self.memory_reservation.is_some(),
            self.memory_swap.is_some(),
            self.pids_limit.is_some(),
            self.restart.is_some(),
        ]
        .iter()
        .filter(|s| **s)
        .count()
    }
}

/// docker's `runUpdate` checks and the body it sends.
pub(crate) fn update_config(a: &UpdateArgs) -> Result<UpdateConfig, String> {
    if a.flags_set() == 0 {
        return Err("you must provide one or more flags when using this command".into());
    }
    let mut restart_policy = RestartPolicy::default();
    if let Some(r) = a.restart.as_deref().filter(|r| !r.is_empty()) {
        let (name, max) = parse_restart_policy(r)?;
        restart_policy = RestartPolicy { name, maximum_retry_count: max };
    }
    Ok(UpdateConfig {
        cpu_shares: a.cpu_shares.unwrap_or(0),
        memory: a.memory.unwrap_or(0),
        nano_cpus: a.cpus.unwrap_or(0),
        blkio_weight: a.blkio_weight.unwrap_or(0),
        cpu_period: a.cpu_period.unwrap_or(0),
        cpu_quota: a.cpu_quota.unwrap_or(0),
        cpu_realtime_period: a.cpu_rt_period.unwrap_or(0),
        cpu_realtime_runtime: a.cpu_rt_runtime.unwrap_or(0),
        cpuset_cpus: a.cpuset_cpus.clone().unwrap_or_default(),
        cpuset_mems: a.cpuset_mems.clone().unwrap_or_default(),
        kernel_memory: a.kernel_memory.unwrap_or(0),
        memory_reservation: a.memory_reservation.unwrap_or(0),
        memory_swap: a.memory_swap.unwrap_or(0),
        pids_limit: a.pids_limit.filter(|p| *p != 0),
        restart_policy,
        ..UpdateConfig::default()
    })
}

/// `wharf update`.
pub(crate) async fn update(t: &Target, a: &UpdateArgs) -> anyhow::Result<()> {
    let body = update_config(a).map_err(|e| anyhow!(e))?;
    let conn = connect(t).await?;
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    for name in &a.containers {
        match conn.post_json(&format!("/containers/{}/update", path_escape(name)), &body).await {
            Ok(answer) => {
                println!("{name}");
                let w = answer["Warnings"].as_array().into_iter().flatten();
                warnings.extend(w.filter_map(Value::as_str).map(String::from));
            }
            Err(e) => errors.push(e.message),
        }
    }
    if !warnings.is_empty() {
        println!("{}", warnings.join("\n"));
    }
    if !errors.is_empty() {
        return Err(StatusError::new(1, errors.join("\n")).into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(flatten)]
        a: UpdateArgs,
    }

    fn body(args: &[&str]) -> Result<String, String> {
        let mut all = vec!["t"];
        all.extend_from_slice(args);
        all.push("web");
        let a = T::try_parse_from(all).map_err(|e| e.to_string())?.a;
        update_config(&a).map(|c| serde_json::to_string(&c).expect("json"))
    }

    /// The bodies docker 28.2 sends, byte for byte.
    #[test]
    fn bodies_like_docker() {
        assert_eq!(
            body(&["-m", "1g", "--cpus", "1.5", "--restart", "on-failure:3", "--pids-limit", "-1"]).as_deref(),
            Ok(
                r#"{"CpuShares":0,"Memory":1073741824,"NanoCpus":1500000000,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":null,"BlkioDeviceReadBps":null,"BlkioDeviceWriteBps":null,"BlkioDeviceReadIOps":null,"BlkioDeviceWriteIOps":null,"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":null,"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":null,"OomKillDisable":null,"PidsLimit":-1,"Ulimits":null,"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3}}"#
            )
        );
        assert_eq!(
            body(&[
                "--memory-swap",
                "-1",
                "--cpu-shares",
                "2",
                "--blkio-weight",
                "10",
                "--cpuset-cpus",
                "0-1",
                "--cpuset-mems",
                "0",
                "--cpu-period",
                "100000",
                "--cpu-quota",
                "50000",
                "--cpu-rt-period",
                "1",
                "--cpu-rt-runtime",
                "1",
                "--memory-reservation",
                "10m",
            ])
            .as_deref(),
            Ok(
                r#"{"CpuShares":2,"Memory":0,"NanoCpus":0,"CgroupParent":"","BlkioWeight":10,"BlkioWeightDevice":null,"BlkioDeviceReadBps":null,"BlkioDeviceWriteBps":null,"BlkioDeviceReadIOps":null,"BlkioDeviceWriteIOps":null,"CpuPeriod":100000,"CpuQuota":50000,"CpuRealtimePeriod":1,"CpuRealtimeRuntime":1,"CpusetCpus":"0-1","CpusetMems":"0","Devices":null,"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":10485760,"MemorySwap":-1,"MemorySwappiness":null,"OomKillDisable":null,"PidsLimit":null,"Ulimits":null,"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"RestartPolicy":{"Name":"","MaximumRetryCount":0}}"#
            )
        );
        let b = body(&["--kernel-memory", "1m"]).expect("body");
        assert!(b.contains(r#""DeviceRequests":null,"KernelMemory":1048576,"MemoryReservation":0"#), "{b}");
        // A zero pids limit counts as a flag but is not sent.
        assert!(body(&["--pids-limit", "0"]).expect("body").contains(r#""PidsLimit":null"#));
        assert!(body(&["--restart=no"])
            .expect("body")
            .contains(r#""RestartPolicy":{"Name":"no","MaximumRetryCount":0}"#));
    }

    #[test]
    fn errors_like_docker() {
        assert_eq!(body(&[]), Err("you must provide one or more flags when using this command".into()));
        assert_eq!(
            body(&["--restart", "bogus:x"]),
            Err("invalid restart policy format: maximum retry count must be an integer".into())
        );
        assert_eq!(
            body(&["--restart", ":1"]),
            Err("invalid restart policy format: no policy provided before colon".into())
        );
        assert!(body(&["--blkio-weight", "70000"]).is_err());
        assert!(body(&["-m", "1x"]).is_err());
        assert!(body(&["--cpus", "abc"]).is_err());
    }
}
