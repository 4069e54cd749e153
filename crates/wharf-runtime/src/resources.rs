//! cgroup resources: Docker's `HostConfig.Resources` → `linux.resources` (moby
//! `getMemoryResources`, `getCPUResources`, `getPidsLimit`, blkio), plus the create-time
//! defaults and checks Docker applies before it stores a container (`adaptContainerSettings`,
//! `verifyPlatformContainerResources`), which the container service calls.

use std::path::Path;

use oci_spec::runtime::{
    LinuxBlockIo, LinuxBlockIoBuilder, LinuxCpu, LinuxCpuBuilder, LinuxMemory, LinuxMemoryBuilder, LinuxPids,
    LinuxPidsBuilder, LinuxThrottleDevice, LinuxThrottleDeviceBuilder, LinuxWeightDevice, LinuxWeightDeviceBuilder,
};

use crate::config::{Resources, ThrottleDevice};
use crate::error::RuntimeError;

/// moby's minimum memory limit and reservation (6 MiB).
const MIN_MEMORY: i64 = 6 * 1024 * 1024;

/// What the host's cgroups can enforce (moby's `sysinfo.SysInfo`, cgroup part). Fill it from
/// `wharf_sysinfo::CgroupFacts`; on cgroup v2 swappiness and `OomKillDisable` are unsupported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceSupport {
    /// Memory limits.
    pub memory: bool,
    /// Swap limits (v1: `memory.memsw.*` exists).
    pub swap: bool,
    /// Memory soft limits.
    pub memory_reservation: bool,
    /// `memory.swappiness` (v1 only).
    pub memory_swappiness: bool,
    /// `memory.oom_control` (v1 only).
    pub oom_kill_disable: bool,
    /// pids limits.
    pub pids: bool,
    /// CFS period and quota.
    pub cpu_cfs: bool,
    /// CPU shares / weight.
    pub cpu_shares: bool,
    /// cpusets.
    pub cpuset: bool,
    /// Block I/O weight.
    pub blkio_weight: bool,
    /// Per-device block I/O weight.
    pub blkio_weight_device: bool,
    /// Per-device block I/O rate limits.
    pub blkio_throttle: bool,
    /// Online CPUs (the `NanoCpus` range).
    pub ncpu: i64,
}

/// The cgroup limits of `r` as OCI `linux.resources` without devices: what a live update
/// (`docker update`) sends to the runtime.
pub fn linux_resources(r: &Resources) -> Result<oci_spec::runtime::LinuxResources, RuntimeError> {
    let mut rb = oci_spec::runtime::LinuxResourcesBuilder::default();
    if let Some(m) = memory(r)? {
        rb = rb.memory(m);
    }
    if let Some(c) = cpu(r)? {
        rb = rb.cpu(c);
    }
    if let Some(p) = pids(r)? {
        rb = rb.pids(p);
    }
    if let Some(b) = block_io(r)? {
        rb = rb.block_io(b);
    }
    Ok(rb.build()?)
}

impl ResourceSupport {
    /// Everything enforceable, with `ncpu` CPUs: only the checks that do not depend on the host.
    pub fn all(ncpu: i64) -> ResourceSupport {
        ResourceSupport {
            memory: true,
            swap: true,
            memory_reservation: true,
            memory_swappiness: true,
            oom_kill_disable: true,
            pids: true,
            cpu_cfs: true,
            cpu_shares: true,
            cpuset: true,
            blkio_weight: true,
            blkio_weight_device: true,
            blkio_throttle: true,
            ncpu,
        }
    }
}

/// Docker's create-time defaults (`adaptContainerSettings`): `MemorySwap` = 2 × `Memory` when
/// only `Memory` is set, `OomKillDisable` = false when unset.
pub fn adapt_resources(r: &mut Resources) {
    if r.memory > 0 && r.memory_swap == 0 {
        r.memory_swap = r.memory * 2;
    }
    if r.oom_kill_disable.is_none() {
        r.oom_kill_disable = Some(false);
    }
}

/// moby's `verifyPlatformContainerResources`: drops what the host cannot enforce (with
/// Docker's warning texts, returned) and refuses invalid combinations with Docker's error
/// texts. `update` is true for `docker update`. Cpuset availability is not checked here.
pub fn verify_resources(r: &mut Resources, s: &ResourceSupport, update: bool) -> Result<Vec<String>, RuntimeError> {
    let mut w: Vec<String> = Vec::new();
    let err = |m: &str| Err(RuntimeError::invalid(m));
    if r.memory_swappiness == Some(-1) {
        r.memory_swappiness = None;
    }
    if r.memory != 0 && r.memory < MIN_MEMORY {
        return err("Minimum memory limit allowed is 6MB");
    }
    if r.memory > 0 && !s.memory {
        w.push(
            "Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation \
            discarded."
                .into(),
        );
        r.memory = 0;
        r.memory_swap = -1;
    }
    if r.memory > 0 && r.memory_swap != -1 && !s.swap {
        w.push(
            "Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited \
            without swap."
                .into(),
        );
        r.memory_swap = -1;
    }
    if r.memory > 0 && r.memory_swap > 0 && r.memory_swap < r.memory {
        return err("Minimum memoryswap limit should be larger than memory limit, see usage");
    }
    if r.memory == 0 && r.memory_swap > 0 && !update {
        return err("You should always set the Memory limit when using Memoryswap limit, see usage");
    }
    if r.memory_swappiness.is_some() && !s.memory_swappiness {
        w.push(
            "Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory \
            swappiness discarded."
                .into(),
        );
        r.memory_swappiness = None;
    }
    if let Some(sw) = r.memory_swappiness {
        if !(0..=100).contains(&sw) {
            return Err(RuntimeError::invalid(format!("Invalid value: {sw}, valid memory swappiness range is 0-100")));
        }
    }
    if r.memory_reservation > 0 && !s.memory_reservation {
        w.push(
            "Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. Limitation \
            discarded."
                .into(),
        );
        r.memory_reservation = 0;
    }
    if r.memory_reservation > 0 && r.memory_reservation < MIN_MEMORY {
        return err("Minimum memory reservation allowed is 6MB");
    }
    if r.memory > 0 && r.memory_reservation > 0 && r.memory < r.memory_reservation {
        return err("Minimum memory limit can not be less than memory reservation limit, see usage");
    }
    if r.oom_kill_disable.is_some() && !s.oom_kill_disable {
        if r.oom_kill_disable == Some(true) {
            w.push("Your kernel does not support OomKillDisable. OomKillDisable discarded.".into());
        }
        r.oom_kill_disable = None;
    }
    if r.oom_kill_disable == Some(true) && r.memory == 0 {
        w.push(
            "OOM killer is disabled for the container, but no memory limit is set, this can result in the system \
            running out of resources."
                .into(),
        );
    }
    if r.pids_limit.is_some() && !s.pids {
        if r.pids_limit.is_some_and(|p| p > 0) {
            w.push(
                "Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit \
                discarded."
                    .into(),
            );
        }
        r.pids_limit = None;
    }
    if r.nano_cpus > 0 && r.cpu_period > 0 {
        return err("Conflicting options: Nano CPUs and CPU Period cannot both be set");
    }
    if r.nano_cpus > 0 && r.cpu_quota > 0 {
        return err("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
    }
    if r.nano_cpus > 0 && !s.cpu_cfs {
        return err(
            "NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted",
        );
    }
    if r.nano_cpus != 0 && (r.nano_cpus < 0 || r.nano_cpus > s.ncpu * 1_000_000_000) {
        return Err(RuntimeError::invalid(format!(
            "range of CPUs is from 0.01 to {0}.00, as there are only {0} CPUs available",
            s.ncpu
        )));
    }
    if r.cpu_shares > 0 && !s.cpu_shares {
        w.push("Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.".into());
        r.cpu_shares = 0;
    }
    if (r.cpu_period != 0 || r.cpu_quota != 0) && !s.cpu_cfs {
        w.push("Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.".into());
        r.cpu_period = 0;
        r.cpu_quota = 0;
    }
    if r.cpu_period != 0 && !(1000..=1_000_000).contains(&r.cpu_period) {
        return err("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
    }
    if r.cpu_quota > 0 && r.cpu_quota < 1000 {
        return err("CPU cfs quota can not be less than 1ms (i.e. 1000)");
    }
    if (!r.cpuset_cpus.is_empty() || !r.cpuset_mems.is_empty()) && !s.cpuset {
        w.push("Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.".into());
        r.cpuset_cpus.clear();
        r.cpuset_mems.clear();
    }
    if r.blkio_weight > 0 && !s.blkio_weight {
        w.push("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.".into());
        r.blkio_weight = 0;
    }
    if r.blkio_weight > 0 && !(10..=1000).contains(&r.blkio_weight) {
        return err("Range of blkio weight is from 10 to 1000");
    }
    if !r.blkio_weight_device.is_empty() && !s.blkio_weight_device {
        w.push(
            "Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device \
            discarded."
                .into(),
        );
        r.blkio_weight_device.clear();
    }
    let throttles: [(&mut Vec<ThrottleDevice>, &str); 4] = [
        (
            &mut r.blkio_device_read_bps,
            "Your kernel does not support BPS Block I/O read limit or the cgroup is not \
            mounted. Block I/O BPS read limit discarded.",
        ),
        (
            &mut r.blkio_device_write_bps,
            "Your kernel does not support BPS Block I/O write limit or the cgroup is not \
            mounted. Block I/O BPS write limit discarded.",
        ),
        (
            &mut r.blkio_device_read_iops,
            "Your kernel does not support IOPS Block read limit or the cgroup is not \
            mounted. Block I/O IOPS read limit discarded.",
        ),
        (
            &mut r.blkio_device_write_iops,
            "Your kernel does not support IOPS Block write limit or the cgroup is not \
            mounted. Block I/O IOPS write limit discarded.",
        ),
    ];
    for (list, msg) in throttles {
        if !list.is_empty() && !s.blkio_throttle {
            w.push(msg.into());
            list.clear();
        }
    }
    Ok(w)
}

/// moby `getMemoryResources`: `None` when nothing is set.
pub(crate) fn memory(r: &Resources) -> Result<Option<LinuxMemory>, RuntimeError> {
    let mut b = LinuxMemoryBuilder::default();
    let mut any = false;
    if r.memory > 0 {
        b = b.limit(r.memory);
        any = true;
    }
    if r.memory_reservation > 0 {
        b = b.reservation(r.memory_reservation);
        any = true;
    }
    if r.memory_swap > 0 {
        b = b.swap(r.memory_swap);
        any = true;
    }
    if let Some(s) = r.memory_swappiness.filter(|s| *s >= 0) {
        b = b.swappiness(s as u64);
        any = true;
    }
    if let Some(d) = r.oom_kill_disable {
        b = b.disable_oom_killer(d);
        any = true;
    }
    Ok(if any { Some(b.build()?) } else { None })
}

/// moby `getCPUResources`: `NanoCpus` becomes period 100 000 µs and quota
/// `NanoCpus × period / 10⁹`; explicit `CpuPeriod`/`CpuQuota` win.
pub(crate) fn cpu(r: &Resources) -> Result<Option<LinuxCpu>, RuntimeError> {
    let mut b = LinuxCpuBuilder::default();
    let mut any = false;
    if r.cpu_shares != 0 {
        if r.cpu_shares < 0 {
            return Err(RuntimeError::invalid(format!(
                "invalid CPU shares ({}): value must be a positive integer",
                r.cpu_shares
            )));
        }
        b = b.shares(r.cpu_shares as u64);
        any = true;
    }
    if !r.cpuset_cpus.is_empty() {
        b = b.cpus(r.cpuset_cpus.clone());
        any = true;
    }
    if !r.cpuset_mems.is_empty() {
        b = b.mems(r.cpuset_mems.clone());
        any = true;
    }
    if r.nano_cpus > 0 {
        let period: u64 = 100_000;
        b = b.period(period).quota(r.nano_cpus * period as i64 / 1_000_000_000);
        any = true;
    }
    if r.cpu_period != 0 {
        b = b.period(r.cpu_period as u64);
        any = true;
    }
    if r.cpu_quota != 0 {
        b = b.quota(r.cpu_quota);
        any = true;
    }
    if r.cpu_realtime_period != 0 {
        b = b.realtime_period(r.cpu_realtime_period as u64);
        any = true;
    }
    if r.cpu_realtime_runtime != 0 {
        b = b.realtime_runtime(r.cpu_realtime_runtime);
        any = true;
    }
    Ok(if any { Some(b.build()?) } else { None })
}

/// moby `getPidsLimit`: zero or negative means unlimited, written as `-1`.
pub(crate) fn pids(r: &Resources) -> Result<Option<LinuxPids>, RuntimeError> {
    match r.pids_limit {
        None => Ok(None),
        Some(p) => Ok(Some(LinuxPidsBuilder::default().limit(if p <= 0 { -1 } else { p }).build()?)),
    }
}

fn rdev(path: &str) -> Result<(i64, i64), RuntimeError> {
    let st = rustix::fs::stat(Path::new(path)).map_err(|e| {
        let e = std::io::Error::from(e).to_string();
        let e = e.split(" (os error").next().unwrap_or(&e).to_lowercase();
        RuntimeError::Host(format!("stat {path}: {e}"))
    })?;
    #[allow(clippy::unnecessary_cast)]
    let dev = st.st_rdev as u64;
    Ok((rustix::fs::major(dev as _) as i64, rustix::fs::minor(dev as _) as i64))
}

fn throttle(list: &[ThrottleDevice]) -> Result<Option<Vec<LinuxThrottleDevice>>, RuntimeError> {
    if list.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(list.len());
    for d in list {
        let (major, minor) = rdev(&d.path)?;
        out.push(LinuxThrottleDeviceBuilder::default().major(major).minor(minor).rate(d.rate).build()?);
    }
    Ok(Some(out))
}

/// The `blockIO` section. moby always writes `weight` (0 when unset); it is left out here
/// when nothing is set, so that a runtime never touches the blkio controller needlessly.
pub(crate) fn block_io(r: &Resources) -> Result<Option<LinuxBlockIo>, RuntimeError> {
    let mut weights: Vec<LinuxWeightDevice> = Vec::new();
    for d in &r.blkio_weight_device {
        let (major, minor) = rdev(&d.path)?;
        weights.push(LinuxWeightDeviceBuilder::default().major(major).minor(minor).weight(d.weight).build()?);
    }
    let rbps = throttle(&r.blkio_device_read_bps)?;
    let wbps = throttle(&r.blkio_device_write_bps)?;
    let riops = throttle(&r.blkio_device_read_iops)?;
    let wiops = throttle(&r.blkio_device_write_iops)?;
    if r.blkio_weight == 0
        && weights.is_empty()
        && rbps.is_none()
        && wbps.is_none()
        && riops.is_none()
        && wiops.is_none()
    {
        return Ok(None);
    }
    let mut b = LinuxBlockIoBuilder::default();
    if r.blkio_weight > 0 {
        b = b.weight(r.blkio_weight);
    }
    if !weights.is_empty() {
        b = b.weight_device(weights);
    }
    if let Some(v) = rbps {
        b = b.throttle_read_bps_device(v);
    }
    if let Some(v) = wbps {
        b = b.throttle_write_bps_device(v);
    }
    if let Some(v) = riops {
        b = b.throttle_read_iops_device(v);
    }
    if let Some(v) = wiops {
        b = b.throttle_write_iops_device(v);
    }
    Ok(Some(b.build()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn support() -> ResourceSupport {
        ResourceSupport::all(2)
    }

    #[test]
    fn nano_cpus_become_quota_over_period() {
        let r = Resources { nano_cpus: 1_500_000_000, ..Default::default() };
        let c = cpu(&r).unwrap().unwrap();
        assert_eq!((c.period(), c.quota()), (Some(100_000), Some(150_000)));
        assert!(cpu(&Resources::default()).unwrap().is_none());
        let r = Resources {
            cpu_shares: 512,
            cpu_period: 50_000,
            cpu_quota: 25_000,
            cpuset_cpus: "0-1".into(),
            ..Default::default()
        };
        let c = cpu(&r).unwrap().unwrap();
        assert_eq!(
            (c.shares(), c.period(), c.quota(), c.cpus().as_deref()),
            (Some(512), Some(50_000), Some(25_000), Some("0-1"))
        );
    }

    #[test]
    fn memory_swap_and_pids() {
        let mut r = Resources { memory: 64 << 20, pids_limit: Some(64), ..Default::default() };
        adapt_resources(&mut r);
        let m = memory(&r).unwrap().unwrap();
        assert_eq!((m.limit(), m.swap(), m.disable_oom_killer()), (Some(64 << 20), Some(128 << 20), Some(false)));
        assert_eq!(pids(&r).unwrap().unwrap().limit(), 64);
        assert_eq!(pids(&Resources { pids_limit: Some(0), ..Default::default() }).unwrap().unwrap().limit(), -1);
        let unlimited = Resources { memory: 64 << 20, memory_swap: -1, ..Default::default() };
        assert_eq!(memory(&unlimited).unwrap().unwrap().swap(), None);
        assert!(memory(&Resources::default()).unwrap().is_none());
    }

    #[test]
    fn verify_drops_the_unsupported_and_refuses_the_invalid() {
        let mut r = Resources { memory: 64 << 20, memory_swap: 128 << 20, ..Default::default() };
        let mut s = support();
        s.swap = false;
        let w = verify_resources(&mut r, &s, false).unwrap();
        assert_eq!(r.memory_swap, -1);
        assert_eq!(
            w,
            ["Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory \
            limited without swap."]
        );
        let mut r = Resources { memory: 1 << 20, ..Default::default() };
        assert_eq!(
            verify_resources(&mut r, &support(), false).unwrap_err().to_string(),
            "Minimum memory limit allowed is 6MB"
        );
        let mut r = Resources { nano_cpus: 3_000_000_000, ..Default::default() };
        assert_eq!(
            verify_resources(&mut r, &support(), false).unwrap_err().to_string(),
            "range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
        );
        let mut r = Resources { nano_cpus: 1, cpu_quota: 2000, ..Default::default() };
        assert!(verify_resources(&mut r, &support(), false).is_err());
        let mut r = Resources { blkio_weight: 5, ..Default::default() };
        assert_eq!(
            verify_resources(&mut r, &support(), false).unwrap_err().to_string(),
            "Range of blkio weight is from 10 to 1000"
        );
    }

    #[test]
    fn block_io_only_when_set() {
        assert!(block_io(&Resources::default()).unwrap().is_none());
        let b = block_io(&Resources { blkio_weight: 300, ..Default::default() }).unwrap().unwrap();
        assert_eq!(b.weight(), Some(300));
        let r = Resources {
            blkio_device_read_bps: vec![ThrottleDevice { path: "/dev/null".into(), rate: 1 << 20 }],
            ..Default::default()
        };
        let b = block_io(&r).unwrap().unwrap();
        let d = &b.throttle_read_bps_device().as_ref().unwrap()[0];
        assert_eq!((d.major(), d.minor(), d.rate()), (1, 3, 1 << 20));
        let bad = Resources {
            blkio_device_read_bps: vec![ThrottleDevice { path: "/nope".into(), rate: 1 }],
            ..Default::default()
        };
        assert_eq!(block_io(&bad).unwrap_err().to_string(), "stat /nope: no such file or directory");
    }
}
