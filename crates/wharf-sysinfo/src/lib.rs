//! Facts about the host that `/info` and `/version` report and that later capabilities branch
//! on: kernel, operating system, CPUs, memory, the cgroup layout (v1, v2 or hybrid) and which
//! controllers and security features are present.
//!
//! Invariant: read-only; every probe reads `/proc`, `/sys` or `uname(2)` and never fails — an
//! unreadable fact becomes an empty string, zero or `false`, as Docker reports it.

mod cgroup;

use std::path::Path;

pub use cgroup::{CgroupFacts, CgroupVersion};

/// What this host is and offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFacts {
    /// Host name (`uname -n`).
    pub hostname: String,
    /// Kernel release (`uname -r`).
    pub kernel_version: String,
    /// Pretty OS name, e.g. `Debian GNU/Linux 12 (bookworm)`.
    pub operating_system: String,
    /// OS version id, e.g. `12`.
    pub os_version: String,
    /// `uname -m`, e.g. `x86_64` (what `/info` reports).
    pub machine: String,
    /// Go's name of the architecture, e.g. `amd64` (what `/version` reports).
    pub go_arch: String,
    /// Online CPUs.
    pub ncpu: i64,
    /// Total memory in bytes.
    pub mem_total: i64,
    /// cgroup layout and controllers.
    pub cgroup: CgroupFacts,
    /// Whether the kernel offers seccomp filters.
    pub seccomp: bool,
    /// Whether AppArmor is enabled.
    pub apparmor: bool,
    /// Whether overlayfs is available.
    pub overlay: bool,
    /// `net.ipv4.ip_forward`.
    pub ipv4_forwarding: bool,
}

impl HostFacts {
    /// Probes the running host.
    pub fn probe() -> HostFacts {
        let uname = rustix::system::uname();
        let text = |c: &std::ffi::CStr| c.to_string_lossy().into_owned();
        let machine = text(uname.machine());
        let os_release = read("/etc/os-release");
        HostFacts {
            hostname: text(uname.nodename()),
            kernel_version: text(uname.release()),
            operating_system: os_release_value(&os_release, "PRETTY_NAME").unwrap_or_else(|| "Linux".into()),
            os_version: os_release_value(&os_release, "VERSION_ID").unwrap_or_default(),
            go_arch: go_arch(&machine).to_string(),
            machine,
            ncpu: std::thread::available_parallelism().map(|n| n.get() as i64).unwrap_or(1),
            mem_total: meminfo_total(&read("/proc/meminfo")),
            cgroup: CgroupFacts::probe(Path::new("/sys/fs/cgroup")),
            seccomp: read("/proc/self/status").lines().any(|l| l.starts_with("Seccomp:")),
            apparmor: read("/sys/module/apparmor/parameters/enabled").trim() == "Y",
            overlay: read("/proc/filesystems").lines().any(|l| l.split_whitespace().last() == Some("overlay")),
            ipv4_forwarding: read("/proc/sys/net/ipv4/ip_forward").trim() == "1",
        }
    }
}

pub(crate) fn read(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn os_release_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"').trim_matches('\'').to_string())
    })
}

fn meminfo_total(text: &str) -> i64 {
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<i64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Go's GOARCH for a `uname -m` machine name.
pub fn go_arch(machine: &str) -> &str {
    match machine {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "i386" | "i686" => "386",
        "armv7l" | "armv6l" => "arm",
        "ppc64le" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_os_release_and_meminfo() {
        let os = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\n";
        assert_eq!(os_release_value(os, "PRETTY_NAME").as_deref(), Some("Debian GNU/Linux 12 (bookworm)"));
        assert_eq!(os_release_value(os, "VERSION_ID").as_deref(), Some("12"));
        assert_eq!(os_release_value(os, "ID"), None);
        assert_eq!(meminfo_total("MemTotal:       24576000 kB\nMemFree: 1 kB\n"), 24576000 * 1024);
        assert_eq!(meminfo_total(""), 0);
    }

    #[test]
    fn probe_reads_this_host() {
        let f = HostFacts::probe();
        assert!(!f.kernel_version.is_empty());
        assert!(f.ncpu >= 1);
        assert!(f.mem_total > 0);
        assert_eq!(f.go_arch, go_arch(&f.machine));
    }
}
