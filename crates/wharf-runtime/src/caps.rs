//! Capabilities as Docker computes them (moby `oci/caps`): the default set of 14, `CapAdd` and
//! `CapDrop` in any of Docker's spellings, `ALL`, and everything for `--privileged`.

use oci_spec::runtime::{Capabilities, Capability};

use crate::error::RuntimeError;

/// Every capability this crate knows, in kernel number order (index = capability number).
const ALL: [(&str, Capability); 41] = [
    ("CAP_CHOWN", Capability::Chown),
    ("CAP_DAC_OVERRIDE", Capability::DacOverride),
    ("CAP_DAC_READ_SEARCH", Capability::DacReadSearch),
    ("CAP_FOWNER", Capability::Fowner),
    ("CAP_FSETID", Capability::Fsetid),
    ("CAP_KILL", Capability::Kill),
    ("CAP_SETGID", Capability::Setgid),
    ("CAP_SETUID", Capability::Setuid),
    ("CAP_SETPCAP", Capability::Setpcap),
    ("CAP_LINUX_IMMUTABLE", Capability::LinuxImmutable),
    ("CAP_NET_BIND_SERVICE", Capability::NetBindService),
    ("CAP_NET_BROADCAST", Capability::NetBroadcast),
    ("CAP_NET_ADMIN", Capability::NetAdmin),
    ("CAP_NET_RAW", Capability::NetRaw),
    ("CAP_IPC_LOCK", Capability::IpcLock),
    ("CAP_IPC_OWNER", Capability::IpcOwner),
    ("CAP_SYS_MODULE", Capability::SysModule),
    ("CAP_SYS_RAWIO", Capability::SysRawio),
    ("CAP_SYS_CHROOT", Capability::SysChroot),
    ("CAP_SYS_PTRACE", Capability::SysPtrace),
    ("CAP_SYS_PACCT", Capability::SysPacct),
    ("CAP_SYS_ADMIN", Capability::SysAdmin),
    ("CAP_SYS_BOOT", Capability::SysBoot),
    ("CAP_SYS_NICE", Capability::SysNice),
    ("CAP_SYS_RESOURCE", Capability::SysResource),
    ("CAP_SYS_TIME", Capability::SysTime),
    ("CAP_SYS_TTY_CONFIG", Capability::SysTtyConfig),
    ("CAP_MKNOD", Capability::Mknod),
    ("CAP_LEASE", Capability::Lease),
    ("CAP_AUDIT_WRITE", Capability::AuditWrite),
    ("CAP_AUDIT_CONTROL", Capability::AuditControl),
    ("CAP_SETFCAP", Capability::Setfcap),
    ("CAP_MAC_OVERRIDE", Capability::MacOverride),
    ("CAP_MAC_ADMIN", Capability::MacAdmin),
    ("CAP_SYSLOG", Capability::Syslog),
    ("CAP_WAKE_ALARM", Capability::WakeAlarm),
    ("CAP_BLOCK_SUSPEND", Capability::BlockSuspend),
    ("CAP_AUDIT_READ", Capability::AuditRead),
    ("CAP_PERFMON", Capability::Perfmon),
    ("CAP_BPF", Capability::Bpf),
    ("CAP_CHECKPOINT_RESTORE", Capability::CheckpointRestore),
];

/// Docker's default capabilities (moby `caps.DefaultCapabilities`), in Docker's order.
const DEFAULT: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Docker's 14 default capabilities, `CAP_`-prefixed as Docker writes them.
pub fn default_capabilities() -> &'static [&'static str] {
    &DEFAULT
}

/// Every capability available here, as `--privileged` and `ALL` mean it (moby
/// `caps.GetAllCapabilities`): the known ones present in `bounding`, the daemon's bounding set
/// ([`crate::HostInfo::cap_bounding`]; it lacks the ones the kernel does not have, and those a
/// restricted environment such as Docker-in-Docker withholds).
pub fn all_capabilities(bounding: u64) -> Vec<&'static str> {
    ALL.iter().enumerate().filter(|(i, _)| bounding & (1u64 << i) != 0).map(|(_, (n, _))| *n).collect()
}

/// Upper-cases and `CAP_`-prefixes capability names, keeping `ALL`, and refuses unknown or
/// unavailable ones with Docker's messages (`unknown capability: "CAP_FOO"`, `capability not
/// supported by your kernel or not available in the current environment: "CAP_BPF"`). Docker
/// runs this when a container is created (400 on error).
pub fn normalize_capabilities(caps: &[String], bounding: u64) -> Result<Vec<String>, RuntimeError> {
    let valid = all_capabilities(bounding);
    let mut out = Vec::with_capacity(caps.len());
    for c in caps {
        let mut c = c.to_uppercase();
        if c == "ALL" {
            out.push(c);
            continue;
        }
        if !c.starts_with("CAP_") {
            c = format!("CAP_{c}");
        }
        if !valid.contains(&c.as_str()) {
            if ALL.iter().any(|(n, _)| *n == c) {
                return Err(RuntimeError::invalid(format!(
                    "capability not supported by your kernel or not available in the current environment: {c:?}"
                )));
            }
            return Err(RuntimeError::invalid(format!("unknown capability: {c:?}")));
        }
        out.push(c);
    }
    Ok(out)
}

/// The container's capability list (moby `caps.TweakCapabilities` over the defaults):
/// everything when privileged; otherwise the defaults minus `drops` plus `adds`, where
/// `ALL` in `adds` means every capability but the dropped ones and `ALL` in `drops` means
/// only the added ones.
pub fn tweak_capabilities(
    adds: &[String],
    drops: &[String],
    privileged: bool,
    bounding: u64,
) -> Result<Vec<String>, RuntimeError> {
    if privileged {
        return Ok(all_capabilities(bounding).into_iter().map(String::from).collect());
    }
    if adds.is_empty() && drops.is_empty() {
        return Ok(DEFAULT.iter().map(|s| s.to_string()).collect());
    }
    let drops = normalize_capabilities(drops, bounding)?;
    let adds = normalize_capabilities(adds, bounding)?;
    let has = |v: &[String], s: &str| v.iter().any(|x| x == s);
    let caps = if has(&adds, "ALL") {
        all_capabilities(bounding).into_iter().filter(|c| !has(&drops, c)).map(String::from).collect()
    } else if has(&drops, "ALL") {
        adds
    } else {
        let mut caps: Vec<String> = DEFAULT.iter().filter(|c| !has(&drops, c)).map(|s| s.to_string()).collect();
        caps.extend(adds);
        caps
    };
    Ok(caps)
}

/// Converts `CAP_X` names (as produced by [`tweak_capabilities`]) to oci-spec's set.
pub(crate) fn to_oci(caps: &[String]) -> Capabilities {
    caps.iter().filter_map(|c| ALL.iter().find(|(n, _)| n == c).map(|(_, cap)| *cap)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: u64 = (1 << 41) - 1;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn table_is_in_kernel_order_and_complete() {
        assert_eq!(ALL[21].0, "CAP_SYS_ADMIN");
        assert_eq!(ALL[27].0, "CAP_MKNOD");
        assert_eq!(ALL[40].0, "CAP_CHECKPOINT_RESTORE");
        for (name, cap) in ALL {
            assert_eq!(serde_json::to_value(cap).unwrap(), name);
        }
        assert_eq!(all_capabilities(FULL).len(), 41);
        assert_eq!(all_capabilities((1 << 38) - 1).len(), 38);
        // This VM's bounding set lacks CAP_SYS_RESOURCE (bit 24).
        let caps = all_capabilities(0x1fffeffffff);
        assert_eq!(caps.len(), 40);
        assert!(!caps.contains(&"CAP_SYS_RESOURCE"));
    }

    #[test]
    fn defaults_without_tweaks() {
        let caps = tweak_capabilities(&[], &[], false, FULL).unwrap();
        assert_eq!(caps, DEFAULT);
        assert_eq!(to_oci(&caps).len(), 14);
    }

    #[test]
    fn add_and_drop_in_docker_spellings() {
        let caps = tweak_capabilities(&s(&["net_admin", "CAP_SYS_PTRACE"]), &s(&["MKNOD"]), false, FULL).unwrap();
        assert!(caps.contains(&"CAP_NET_ADMIN".to_string()));
        assert!(caps.contains(&"CAP_SYS_PTRACE".to_string()));
        assert!(!caps.contains(&"CAP_MKNOD".to_string()));
        assert_eq!(caps.len(), 15);
    }

    #[test]
    fn all_handling() {
        let caps = tweak_capabilities(&s(&["ALL"]), &s(&["SYS_ADMIN"]), false, FULL).unwrap();
        assert_eq!(caps.len(), 40);
        assert!(!caps.contains(&"CAP_SYS_ADMIN".to_string()));
        let caps = tweak_capabilities(&s(&["chown"]), &s(&["all"]), false, FULL).unwrap();
        assert_eq!(caps, ["CAP_CHOWN"]);
        let caps = tweak_capabilities(&[], &s(&["ALL"]), false, FULL).unwrap();
        assert!(caps.is_empty());
        assert_eq!(tweak_capabilities(&[], &[], true, FULL).unwrap().len(), 41);
    }

    #[test]
    fn unknown_capability_in_dockers_words() {
        let err = tweak_capabilities(&s(&["FOO"]), &[], false, FULL).unwrap_err();
        assert_eq!(err.to_string(), r#"unknown capability: "CAP_FOO""#);
        // A capability the kernel or the environment does not offer.
        assert_eq!(
            normalize_capabilities(&s(&["bpf"]), (1 << 38) - 1).unwrap_err().to_string(),
            r#"capability not supported by your kernel or not available in the current environment: "CAP_BPF""#
        );
    }
}
