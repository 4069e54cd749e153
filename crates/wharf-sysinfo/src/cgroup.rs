//! cgroup layout detection: pure v2 (unified), or v1 controllers (possibly beside a v2 mount,
//! the "hybrid" layout, which runtimes treat as v1).

use std::path::{Path, PathBuf};

/// The cgroup version the daemon drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    /// Per-controller hierarchies under the root (hybrid layouts included).
    V1,
    /// One unified hierarchy.
    V2,
}

impl CgroupVersion {
    /// `"1"` or `"2"`, as `/info` reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            CgroupVersion::V1 => "1",
            CgroupVersion::V2 => "2",
        }
    }
}

/// The cgroup layout and which limits the host can enforce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupFacts {
    /// Version in use.
    pub version: CgroupVersion,
    /// A cgroup2 mount exists beside v1 controllers.
    pub hybrid: bool,
    /// Where the hierarchy (v2) or the controllers (v1) live.
    pub root: PathBuf,
    /// Memory limits.
    pub memory: bool,
    /// Swap limits.
    pub swap: bool,
    /// CFS period and quota.
    pub cpu_cfs: bool,
    /// CPU shares / weight.
    pub cpu_shares: bool,
    /// cpusets.
    pub cpuset: bool,
    /// pids limits.
    pub pids: bool,
    /// Block I/O weight.
    pub blkio_weight: bool,
}

impl CgroupFacts {
    /// Probes the hierarchy mounted at `root` (normally `/sys/fs/cgroup`).
    pub fn probe(root: &Path) -> CgroupFacts {
        let has = |p: &str| root.join(p).exists();
        if has("cgroup.controllers") {
            let controllers = crate::read(root.join("cgroup.controllers"));
            let c = |name: &str| controllers.split_whitespace().any(|x| x == name);
            return CgroupFacts {
                version: CgroupVersion::V2,
                hybrid: false,
                root: root.to_path_buf(),
                memory: c("memory"),
                swap: c("memory"),
                cpu_cfs: c("cpu"),
                cpu_shares: c("cpu"),
                cpuset: c("cpuset"),
                pids: c("pids"),
                blkio_weight: c("io"),
            };
        }
        CgroupFacts {
            version: CgroupVersion::V1,
            hybrid: has("unified/cgroup.controllers"),
            root: root.to_path_buf(),
            memory: has("memory/memory.limit_in_bytes"),
            swap: has("memory/memory.memsw.limit_in_bytes"),
            cpu_cfs: has("cpu/cpu.cfs_period_us") || has("cpu,cpuacct/cpu.cfs_period_us"),
            cpu_shares: has("cpu/cpu.shares") || has("cpu,cpuacct/cpu.shares"),
            cpuset: has("cpuset/cpuset.cpus"),
            // The root of the pids hierarchy has no `pids.max`; its children do.
            pids: has("pids/pids.current") || has("pids/cgroup.procs"),
            blkio_weight: has("blkio/blkio.weight") || has("blkio/blkio.bfq.weight"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_v2_from_a_fake_tree() {
        let dir = std::env::temp_dir().join(format!("wharf-cg-v2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("cgroup.controllers"), "cpuset cpu io memory pids\n").unwrap();
        let f = CgroupFacts::probe(&dir);
        assert_eq!(f.version, CgroupVersion::V2);
        assert!(f.memory && f.pids && f.cpuset && f.blkio_weight);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn detects_hybrid_v1_from_a_fake_tree() {
        let dir = std::env::temp_dir().join(format!("wharf-cg-v1-{}", std::process::id()));
        for d in ["memory", "pids", "unified"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        std::fs::write(dir.join("memory/memory.limit_in_bytes"), "").unwrap();
        std::fs::write(dir.join("pids/cgroup.procs"), "").unwrap();
        std::fs::write(dir.join("unified/cgroup.controllers"), "hugetlb").unwrap();
        let f = CgroupFacts::probe(&dir);
        assert_eq!(f.version, CgroupVersion::V1);
        assert!(f.hybrid && f.memory && f.pids && !f.swap && !f.cpuset);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
