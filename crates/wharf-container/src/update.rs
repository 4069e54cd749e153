//! `docker update`: new cgroup limits and restart policy for a container, stored, and applied
//! live through its shim when it runs — dockerd's `ContainerUpdate` with `UpdateContainer`'s
//! merge rules (a zero field keeps the old value) and its conflict messages. A runtime that
//! refuses the new limits leaves the stored config as it was.

use serde::Deserialize;
use wharf_shim::protocol::{Client, Request};

use crate::error::{ContainerError, Result};
use crate::lifecycle::Lifecycle;
use crate::model::{HostConfig, RestartPolicy, Status};

/// Docker's `UpdateConfig`: `Resources` plus `RestartPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateConfig {
    /// Block I/O weight (10–1000).
    pub blkio_weight: u16,
    /// CPU shares.
    pub cpu_shares: i64,
    /// CFS period (µs).
    pub cpu_period: i64,
    /// CFS quota (µs).
    pub cpu_quota: i64,
    /// Real-time period (µs).
    pub cpu_realtime_period: i64,
    /// Real-time runtime (µs).
    pub cpu_realtime_runtime: i64,
    /// CPUs allowed.
    pub cpuset_cpus: String,
    /// Memory nodes allowed.
    pub cpuset_mems: String,
    /// Memory limit (bytes).
    pub memory: i64,
    /// Memory + swap limit (bytes; -1 unlimited).
    pub memory_swap: i64,
    /// Memory soft limit (bytes).
    pub memory_reservation: i64,
    /// `--cpus` × 10⁹.
    pub nano_cpus: i64,
    /// Pids limit (0 or -1: unlimited).
    pub pids_limit: Option<i64>,
    /// A new restart policy (empty name: unchanged).
    pub restart_policy: Option<RestartPolicy>,
}

fn conflict(msg: &str) -> ContainerError {
    ContainerError::Invalid(format!("Conflicting options: {msg}"))
}

/// dockerd's `UpdateContainer` merge of `u` into `hc`.
pub fn merge_update(hc: &mut HostConfig, u: &UpdateConfig) -> Result<()> {
    if u.blkio_weight != 0 {
        hc.blkio_weight = u.blkio_weight;
    }
    if u.cpu_shares != 0 {
        hc.cpu_shares = u.cpu_shares;
    }
    if u.nano_cpus != 0 {
        if u.nano_cpus > 0 && (hc.cpu_period != 0 || hc.cpu_quota != 0) && u.cpu_period == 0 && u.cpu_quota == 0 {
            return Err(conflict("CPU Period cannot be updated as NanoCPUs has already been set"));
        }
        hc.nano_cpus = u.nano_cpus;
    }
    if u.cpu_period != 0 {
        if hc.nano_cpus > 0 {
            return Err(conflict("CPU Period cannot be updated as NanoCPUs has already been set"));
        }
        hc.cpu_period = u.cpu_period;
    }
    if u.cpu_quota != 0 {
        if hc.nano_cpus > 0 {
            return Err(conflict("CPU Quota cannot be updated as NanoCPUs has already been set"));
        }
        hc.cpu_quota = u.cpu_quota;
    }
    if !u.cpuset_cpus.is_empty() {
        hc.cpuset_cpus = u.cpuset_cpus.clone();
    }
    if !u.cpuset_mems.is_empty() {
        hc.cpuset_mems = u.cpuset_mems.clone();
    }
    if u.memory != 0 {
        if hc.memory_swap > 0 && u.memory > hc.memory_swap && u.memory_swap == 0 {
            return Err(ContainerError::Invalid(
                "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"
                    .into(),
            ));
        }
        hc.memory = u.memory;
    }
    if u.memory_swap != 0 {
        hc.memory_swap = u.memory_swap;
    }
    if u.memory_reservation != 0 {
        hc.memory_reservation = u.memory_reservation;
    }
    if u.pids_limit.is_some() {
        hc.pids_limit = u.pids_limit;
    }
    if let Some(p) = u.restart_policy.as_ref().filter(|p| !p.name.is_empty()) {
        if p.name != "no" && hc.auto_remove {
            return Err(conflict("Restart policy cannot be updated because AutoRemove is enabled for the container"));
        }
        hc.restart_policy = p.clone();
    }
    Ok(())
}

/// The cgroup part of a host config in the runtime's terms.
pub(crate) fn resources_of(hc: &HostConfig) -> wharf_runtime::Resources {
    wharf_runtime::Resources {
        memory: hc.memory,
        memory_reservation: hc.memory_reservation,
        memory_swap: hc.memory_swap,
        oom_kill_disable: hc.oom_kill_disable,
        nano_cpus: hc.nano_cpus,
        cpu_shares: hc.cpu_shares,
        cpu_period: hc.cpu_period,
        cpu_quota: hc.cpu_quota,
        cpuset_cpus: hc.cpuset_cpus.clone(),
        cpuset_mems: hc.cpuset_mems.clone(),
        pids_limit: hc.pids_limit,
        blkio_weight: hc.blkio_weight,
        ..Default::default()
    }
}

/// Everything supported: the checks that do not depend on the host.
pub(crate) fn full_support() -> wharf_runtime::ResourceSupport {
    wharf_runtime::ResourceSupport::all(std::thread::available_parallelism().map_or(1, |n| n.get() as i64))
}

/// moby's resource checks (create and update) against what the host supports: refuses invalid
/// values with dockerd's texts, drops what the host cannot enforce (written back into `hc`)
/// and returns dockerd's warnings for that.
pub(crate) fn check_resources(
    hc: &mut HostConfig,
    support: &wharf_runtime::ResourceSupport,
    update: bool,
) -> Result<Vec<String>> {
    let mut r = resources_of(hc);
    let warnings =
        wharf_runtime::verify_resources(&mut r, support, update).map_err(|e| ContainerError::Invalid(e.to_string()))?;
    hc.memory = r.memory;
    hc.memory_swap = r.memory_swap;
    hc.memory_reservation = r.memory_reservation;
    hc.oom_kill_disable = r.oom_kill_disable;
    hc.nano_cpus = r.nano_cpus;
    hc.cpu_shares = r.cpu_shares;
    hc.cpu_period = r.cpu_period;
    hc.cpu_quota = r.cpu_quota;
    hc.cpuset_cpus = r.cpuset_cpus;
    hc.cpuset_mems = r.cpuset_mems;
    hc.pids_limit = r.pids_limit;
    hc.blkio_weight = r.blkio_weight;
    Ok(warnings)
}

impl Lifecycle {
    /// `POST /containers/{id}/update`: the warnings.
    pub fn update(&self, name: &str, u: &UpdateConfig) -> Result<Vec<String>> {
        let c = self.containers().get(name)?;
        if matches!(c.state.status, Status::Removing | Status::Dead) {
            return Err(ContainerError::Conflict(format!("container {} is marked for removal", c.id)));
        }
        let before = c.host_config.clone();
        let mut warnings = Vec::new();
        let support = self.settings().resources.clone();
        let updated = self.containers().update_host_config(&c.id, |hc| {
            merge_update(hc, u)?;
            warnings = check_resources(hc, &support, true)?;
            Ok(())
        })?;
        if matches!(updated.state.status, Status::Running | Status::Paused) {
            let applied = wharf_runtime::linux_resources(&resources_of(&updated.host_config))
                .map_err(|e| e.to_string())
                .and_then(|r| serde_json::to_value(r).map_err(|e| e.to_string()))
                .and_then(|resources| {
                    let mut client = Client::connect(&self.socket_of(&c.id)).map_err(|e| e.to_string())?;
                    client.call_ok(&Request::Update { resources }).map(|_| ()).map_err(|e| e.to_string())
                });
            if let Err(msg) = applied {
                let _ = self.containers().update_host_config(&c.id, |hc| {
                    *hc = before;
                    Ok(())
                });
                return Err(ContainerError::internal(format!("Cannot update container {}: {msg}", c.id)));
            }
        }
        self.containers().publish("update", &updated, &[]);
        Ok(warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_fields_keep_old_values() {
        let mut hc = HostConfig { memory: 32 << 20, memory_swap: 64 << 20, cpu_shares: 512, ..Default::default() };
        merge_update(&mut hc, &UpdateConfig { pids_limit: Some(50), cpuset_cpus: "0".into(), ..Default::default() })
            .unwrap();
        assert_eq!((hc.memory, hc.memory_swap, hc.cpu_shares, hc.pids_limit), (32 << 20, 64 << 20, 512, Some(50)));
        assert_eq!(hc.cpuset_cpus, "0");
    }

    #[test]
    fn dockers_conflicts() {
        // Raising memory past the old swap limit without a new one.
        let mut hc = HostConfig { memory: 16 << 20, memory_swap: 32 << 20, ..Default::default() };
        let err = merge_update(&mut hc, &UpdateConfig { memory: 64 << 20, ..Default::default() }).unwrap_err();
        assert!(err.to_string().contains("update the memoryswap at the same time"), "{err}");
        merge_update(&mut hc, &UpdateConfig { memory: 64 << 20, memory_swap: 128 << 20, ..Default::default() })
            .unwrap();
        assert_eq!((hc.memory, hc.memory_swap), (64 << 20, 128 << 20));
        // --cpus then a quota.
        let mut hc = HostConfig { nano_cpus: 1_000_000_000, ..Default::default() };
        assert!(merge_update(&mut hc, &UpdateConfig { cpu_quota: 5000, ..Default::default() }).is_err());
        // A restart policy on an --rm container.
        let mut hc = HostConfig { auto_remove: true, ..Default::default() };
        let p = RestartPolicy { name: "always".into(), maximum_retry_count: 0 };
        let err = merge_update(&mut hc, &UpdateConfig { restart_policy: Some(p), ..Default::default() }).unwrap_err();
        assert!(err.to_string().contains("AutoRemove is enabled"), "{err}");
    }

    #[test]
    fn too_little_memory_is_refused() {
        let mut hc = HostConfig::default();
        merge_update(&mut hc, &UpdateConfig { memory: 1 << 20, memory_swap: -1, ..Default::default() }).unwrap();
        let err = check_resources(&mut hc, &full_support(), true).unwrap_err();
        assert_eq!(err.to_string(), "Minimum memory limit allowed is 6MB");
    }

    #[test]
    fn what_the_host_cannot_enforce_is_dropped_with_a_warning() {
        let mut hc = HostConfig { blkio_weight: 300, pids_limit: Some(10), ..Default::default() };
        let support = wharf_runtime::ResourceSupport { blkio_weight: false, ..full_support() };
        let w = check_resources(&mut hc, &support, false).unwrap();
        assert_eq!(hc.blkio_weight, 0);
        assert_eq!(hc.pids_limit, Some(10));
        assert!(w.iter().any(|w| w.contains("Block I/O weight")), "{w:?}");
    }
}
