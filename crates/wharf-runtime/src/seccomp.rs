//! Seccomp: Docker's profile format (with `archMap` and conditional `includes`/`excludes` on
//! capabilities, architecture and kernel version) converted to the OCI form, as moby's
//! `profiles/seccomp` `setupSeccomp` does. The default profile is Docker's `default.json`
//! (moby v26.1.5) compiled in.

use oci_spec::runtime::{Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator};
use serde::{Deserialize, Deserializer};

use crate::config::{parse_kernel, HostInfo};
use crate::error::RuntimeError;

/// Docker's default seccomp profile (moby `profiles/seccomp/default.json`).
const DEFAULT_PROFILE: &str = include_str!("seccomp_default.json");

/// The text of Docker's default seccomp profile (what `docker info` calls `builtin`).
pub fn default_seccomp_profile_json() -> &'static str {
    DEFAULT_PROFILE
}

/// Docker's default profile for a container whose bounding set is `caps` (either `CAP_X` or
/// `X` spellings), for this host's architecture and kernel.
pub fn default_seccomp(caps: &[String]) -> Result<LinuxSeccomp, RuntimeError> {
    let host = HostInfo::probe();
    default_seccomp_for(caps, &host.go_arch, &host.kernel_version)
}

/// [`default_seccomp`] for an explicit Go architecture (`amd64`…) and kernel release.
pub fn default_seccomp_for(caps: &[String], go_arch: &str, kernel: &str) -> Result<LinuxSeccomp, RuntimeError> {
    seccomp_from_profile(DEFAULT_PROFILE, caps, go_arch, kernel)?
        .ok_or_else(|| RuntimeError::Seccomp("the default seccomp profile is empty".into()))
}

/// Converts a profile in Docker's JSON format (`--security-opt seccomp=<json>`) to the OCI
/// form: `None` when it has neither a default action nor rules (moby: "seccomp disabled").
/// Errors use moby's words (`Decoding seccomp profile failed: …`).
pub fn seccomp_from_profile(
    json: &str,
    caps: &[String],
    go_arch: &str,
    kernel: &str,
) -> Result<Option<LinuxSeccomp>, RuntimeError> {
    let profile: Profile = serde_json::from_str(json)
        .map_err(|e| RuntimeError::Seccomp(format!("Decoding seccomp profile failed: {e}")))?;
    let caps: Vec<String> = caps
        .iter()
        .map(|c| {
            let c = c.to_uppercase();
            if c.starts_with("CAP_") {
                c
            } else {
                format!("CAP_{c}")
            }
        })
        .collect();
    setup(profile, &caps, go_arch, kernel)
}

fn decode_err(msg: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Seccomp(format!("Decoding seccomp profile failed: {msg}"))
}

/// Go's `runtime.GOARCH` → libseccomp's native arch name (moby `goToNative`).
fn go_to_native(go_arch: &str) -> &str {
    match go_arch {
        "386" => "x86",
        "mips64p32" => "mips64n32",
        "mips64le" => "mipsel64",
        "mips64p32le" => "mips3l64n32",
        other => other,
    }
}

/// libseccomp's native arch name → the `SCMP_ARCH_*` name (moby `nativeToSeccomp`).
fn native_to_seccomp(native: &str) -> Option<&'static str> {
    Some(match native {
        "x86" => "SCMP_ARCH_X86",
        "amd64" => "SCMP_ARCH_X86_64",
        "arm" => "SCMP_ARCH_ARM",
        "arm64" => "SCMP_ARCH_AARCH64",
        "mips64" => "SCMP_ARCH_MIPS64",
        "mips64n32" => "SCMP_ARCH_MIPS64N32",
        "mipsel64" => "SCMP_ARCH_MIPSEL64",
        "mips3l64n32" => "SCMP_ARCH_MIPSEL64N32",
        "mipsle" => "SCMP_ARCH_MIPSEL",
        "ppc" => "SCMP_ARCH_PPC",
        "ppc64" => "SCMP_ARCH_PPC64",
        "ppc64le" => "SCMP_ARCH_PPC64LE",
        "riscv64" => "SCMP_ARCH_RISCV64",
        "s390" => "SCMP_ARCH_S390",
        "s390x" => "SCMP_ARCH_S390X",
        "loong64" => "SCMP_ARCH_LOONGARCH64",
        _ => return None,
    })
}

fn setup(profile: Profile, caps: &[String], go_arch: &str, kernel: &str) -> Result<Option<LinuxSeccomp>, RuntimeError> {
    if profile.default_action.is_empty() && profile.syscalls.is_empty() {
        return Ok(None);
    }
    if !profile.architectures.is_empty() && !profile.arch_map.is_empty() {
        return Err(RuntimeError::Seccomp(
            "both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or \
                'archMap'"
                .into(),
        ));
    }
    let mut arches: Vec<Arch> = profile.architectures.iter().map(|a| parse_arch(a)).collect::<Result<_, _>>()?;
    let native = go_to_native(go_arch);
    if let Some(scmp) = native_to_seccomp(native) {
        if let Some(entry) = profile.arch_map.iter().find(|a| a.arch == scmp) {
            arches.push(parse_arch(&entry.arch)?);
            for sub in &entry.sub_arches {
                arches.push(parse_arch(sub)?);
            }
        }
    }
    let host_kernel = parse_kernel(kernel);
    let kernel_at_least = |min: &str| -> Result<bool, RuntimeError> {
        let want = parse_min_kernel(min)?;
        let have =
            host_kernel.ok_or_else(|| RuntimeError::Seccomp(format!("failed to parse kernel version {kernel:?}")))?;
        Ok(have >= want)
    };
    let in_caps = |c: &String| caps.iter().any(|x| x == c);

    let mut syscalls = Vec::new();
    for rule in &profile.syscalls {
        let names = if rule.name.is_empty() {
            rule.names.clone()
        } else {
            if !rule.names.is_empty() {
                return Err(RuntimeError::Seccomp(
                    "both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'".into(),
                ));
            }
            vec![rule.name.clone()]
        };
        if let Some(ex) = &rule.excludes {
            if ex.arches.iter().any(|a| a == native) || ex.caps.iter().any(in_caps) {
                continue;
            }
            if let Some(min) = ex.min_kernel.as_deref().filter(|m| !m.is_empty()) {
                if kernel_at_least(min)? {
                    continue;
                }
            }
        }
        if let Some(inc) = &rule.includes {
            if !inc.arches.is_empty() && !inc.arches.iter().any(|a| a == native) {
                continue;
            }
            if !inc.caps.iter().all(in_caps) {
                continue;
            }
            if let Some(min) = inc.min_kernel.as_deref().filter(|m| !m.is_empty()) {
                if !kernel_at_least(min)? {
                    continue;
                }
            }
        }
        let mut args = Vec::with_capacity(rule.args.len());
        for a in &rule.args {
            let op: LinuxSeccompOperator =
                a.op.parse().map_err(|_| decode_err(format_args!("unknown seccomp operator {:?}", a.op)))?;
            let mut b = oci_spec::runtime::LinuxSeccompArgBuilder::default().index(a.index).value(a.value).op(op);
            if a.value_two != 0 {
                b = b.value_two(a.value_two);
            }
            args.push(b.build()?);
        }
        let mut b = oci_spec::runtime::LinuxSyscallBuilder::default().names(names).action(parse_action(&rule.action)?);
        if let Some(e) = rule.errno_ret {
            b = b.errno_ret(e);
        }
        if !args.is_empty() {
            b = b.args(args);
        }
        syscalls.push(b.build()?);
    }

    let mut b =
        oci_spec::runtime::LinuxSeccompBuilder::default().default_action(parse_action(&profile.default_action)?);
    if let Some(e) = profile.default_errno_ret {
        b = b.default_errno_ret(e);
    }
    if !arches.is_empty() {
        b = b.architectures(arches);
    }
    if !profile.flags.is_empty() {
        let flags: Vec<LinuxSeccompFilterFlag> = profile
            .flags
            .iter()
            .map(|f| f.parse().map_err(|_| decode_err(format_args!("unknown seccomp flag {f:?}"))))
            .collect::<Result<_, _>>()?;
        b = b.flags(flags);
    }
    if !profile.listener_path.is_empty() {
        b = b.listener_path(profile.listener_path.clone());
    }
    if !profile.listener_metadata.is_empty() {
        b = b.listener_metadata(profile.listener_metadata.clone());
    }
    if !syscalls.is_empty() {
        b = b.syscalls(syscalls);
    }
    Ok(Some(b.build()?))
}

fn parse_action(s: &str) -> Result<LinuxSeccompAction, RuntimeError> {
    s.parse().map_err(|_| decode_err(format_args!("unknown seccomp action {s:?}")))
}

fn parse_arch(s: &str) -> Result<Arch, RuntimeError> {
    s.parse().map_err(|_| decode_err(format_args!("unknown seccomp architecture {s:?}")))
}

/// moby's `KernelVersion` JSON form: `"<kernel>.<major>"`, both below 256, not `0.0`.
fn parse_min_kernel(v: &str) -> Result<(u64, u64), RuntimeError> {
    let bad = || decode_err(format_args!(r#"invalid kernel version: "{v}", expected "<kernel>.<major>""#));
    let parts: Vec<&str> = v.splitn(3, '.').collect();
    if parts.len() != 2 {
        return Err(bad());
    }
    let k: u8 = parts[0].parse().map_err(|_| bad())?;
    let m: u8 = parts[1].parse().map_err(|_| bad())?;
    if k == 0 && m == 0 {
        return Err(bad());
    }
    Ok((k.into(), m.into()))
}

/// Go's encoding/json accepts `null` for slices and strings: treat it as empty.
fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Docker's seccomp profile (moby `profiles/seccomp.Seccomp`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    #[serde(default, deserialize_with = "nullable")]
    default_action: String,
    #[serde(default)]
    default_errno_ret: Option<u32>,
    #[serde(default, deserialize_with = "nullable")]
    architectures: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    flags: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    listener_path: String,
    #[serde(default, deserialize_with = "nullable")]
    listener_metadata: String,
    #[serde(default, deserialize_with = "nullable")]
    arch_map: Vec<ArchMapEntry>,
    #[serde(default, deserialize_with = "nullable")]
    syscalls: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
struct ArchMapEntry {
    #[serde(rename = "architecture", default, deserialize_with = "nullable")]
    arch: String,
    #[serde(rename = "subArchitectures", default, deserialize_with = "nullable")]
    sub_arches: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    #[serde(default, deserialize_with = "nullable")]
    names: Vec<String>,
    /// Deprecated single-name form.
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    action: String,
    #[serde(default)]
    errno_ret: Option<u32>,
    #[serde(default, deserialize_with = "nullable")]
    args: Vec<Arg>,
    #[serde(default)]
    includes: Option<Filter>,
    #[serde(default)]
    excludes: Option<Filter>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Filter {
    #[serde(default, deserialize_with = "nullable")]
    caps: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    arches: Vec<String>,
    #[serde(default)]
    min_kernel: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Arg {
    #[serde(default)]
    index: usize,
    #[serde(default)]
    value: u64,
    #[serde(default)]
    value_two: u64,
    #[serde(default, deserialize_with = "nullable")]
    op: String,
}

/// Test helper: what the filter does with a syscall called without arguments that a rule
/// would have to match (rules with argument conditions are "conditional").
#[cfg(test)]
pub(crate) fn verdict(s: &LinuxSeccomp, name: &str) -> (LinuxSeccompAction, Option<u32>, bool) {
    for rule in s.syscalls().iter().flatten() {
        if rule.names().iter().any(|n| n == name) {
            return (rule.action(), rule.errno_ret(), rule.args().as_ref().is_some_and(|a| !a.is_empty()));
        }
    }
    (s.default_action(), s.default_errno_ret(), false)
}

#[cfg(test)]
pub(crate) fn allows(s: &LinuxSeccomp, name: &str) -> bool {
    let (a, _, conditional) = verdict(s, name);
    a == LinuxSeccompAction::ScmpActAllow && !conditional
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::default_capabilities;

    fn defaults() -> Vec<String> {
        default_capabilities().iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_profile_blocks_the_dangerous_and_allows_the_rest() {
        let s = default_seccomp_for(&defaults(), "amd64", "6.1.0-18-amd64").unwrap();
        assert_eq!(s.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(s.default_errno_ret(), Some(1));
        assert_eq!(
            s.architectures().as_deref(),
            Some(&[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32][..])
        );
        for blocked in ["mount", "umount2", "reboot", "kexec_load", "init_module", "unshare", "setns", "bpf"] {
            assert!(!allows(&s, blocked), "{blocked} must be blocked");
        }
        for allowed in ["read", "write", "openat", "execve", "arch_prctl", "modify_ldt", "ptrace", "chroot", "clone"] {
            // clone is allowed only with the namespace-flag mask: conditional, so not "allows".
            if allowed == "clone" {
                let (a, _, cond) = verdict(&s, "clone");
                assert_eq!((a, cond), (LinuxSeccompAction::ScmpActAllow, true));
                continue;
            }
            assert!(allows(&s, allowed), "{allowed} must be allowed");
        }
        // clone3 answers ENOSYS so that libc falls back to clone.
        assert_eq!(verdict(&s, "clone3"), (LinuxSeccompAction::ScmpActErrno, Some(38), false));
        // Arch-specific rules of other arches are left out.
        assert!(!allows(&s, "s390_runtime_instr"));
        assert!(!allows(&s, "arm_fadvise64_64"));
    }

    #[test]
    fn sys_admin_unlocks_mount_and_drops_the_clone_rules() {
        let mut caps = defaults();
        caps.push("SYS_ADMIN".into());
        let s = default_seccomp_for(&caps, "amd64", "6.1").unwrap();
        assert!(allows(&s, "mount"));
        assert!(allows(&s, "unshare"));
        assert!(allows(&s, "clone"));
        assert!(allows(&s, "clone3"));
        assert!(!allows(&s, "reboot"));
        let mut caps = defaults();
        caps.push("CAP_SYS_BOOT".into());
        let s = default_seccomp_for(&caps, "amd64", "6.1").unwrap();
        assert!(allows(&s, "reboot"));
    }

    #[test]
    fn min_kernel_and_arch_conditions() {
        // ptrace needs kernel >= 4.8.
        let old = default_seccomp_for(&defaults(), "amd64", "4.4.0-210-generic").unwrap();
        assert!(!allows(&old, "ptrace"));
        let arm = default_seccomp_for(&defaults(), "arm64", "6.1").unwrap();
        assert_eq!(arm.architectures().as_deref(), Some(&[Arch::ScmpArchAarch64, Arch::ScmpArchArm][..]));
        assert!(allows(&arm, "arm_fadvise64_64"));
        assert!(!allows(&arm, "arch_prctl"));
        let s390 = default_seccomp_for(&defaults(), "s390x", "6.1").unwrap();
        // On s390 the clone flags are the second argument.
        let rule = s390.syscalls().as_ref().unwrap().iter().find(|r| r.names() == &["clone"]).unwrap();
        assert_eq!(rule.args().as_ref().unwrap()[0].index(), 1);
    }

    #[test]
    fn custom_profiles() {
        assert_eq!(seccomp_from_profile("{}", &[], "amd64", "6.1").unwrap(), None);
        let p = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],
            "syscalls":[{"name":"mkdir","action":"SCMP_ACT_ERRNO","args":null},
                        {"names":["chmod"],"action":"SCMP_ACT_ERRNO","errnoRet":13,
                         "args":[{"index":1,"value":511,"valueTwo":0,"op":"SCMP_CMP_EQ"}]}]}"#;
        let s = seccomp_from_profile(p, &[], "amd64", "6.1").unwrap().unwrap();
        assert_eq!(s.default_action(), LinuxSeccompAction::ScmpActAllow);
        assert_eq!(verdict(&s, "mkdir"), (LinuxSeccompAction::ScmpActErrno, None, false));
        assert_eq!(verdict(&s, "chmod"), (LinuxSeccompAction::ScmpActErrno, Some(13), true));
        let bad = seccomp_from_profile("{nope", &[], "amd64", "6.1").unwrap_err();
        assert!(bad.to_string().starts_with("Decoding seccomp profile failed: "), "{bad}");
        let both = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],
            "archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":null}]}"#;
        assert!(seccomp_from_profile(both, &[], "amd64", "6.1").unwrap_err().to_string().contains("archMap"));
        let both =
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"a","names":["b"],"action":"SCMP_ACT_ERRNO"}]}"#;
        assert!(seccomp_from_profile(both, &[], "amd64", "6.1").is_err());
    }

    #[test]
    fn serializes_in_oci_form() {
        let s = default_seccomp_for(&defaults(), "amd64", "6.1").unwrap();
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(v["defaultErrnoRet"], 1);
        assert_eq!(v["architectures"][0], "SCMP_ARCH_X86_64");
        assert!(v["syscalls"][0]["names"].as_array().unwrap().len() > 300);
        assert_eq!(v["syscalls"][0]["action"], "SCMP_ACT_ALLOW");
    }
}
