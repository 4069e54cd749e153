//! Seccomp filters compiled once per profile. libcontainer builds a container's filter with
//! libseccomp inside every init (Docker's default profile: about 10 ms of CPU, the largest part
//! of a `docker run`); the shim instead compiles a profile to its classic BPF program once,
//! keeps it in `<runtime root>/@seccomp/<digest>.bpf`, and gives libcontainer a spec without
//! `linux.seccomp`: the shim's executor loads the program in the init, and in every exec'd
//! process (which libcontainer 0.7 leaves unfiltered), where libcontainer would have loaded its
//! own: after the capabilities are set, before the process reports ready ([`Filter::install`]).
//!
//! [`filter_context`] mirrors libcontainer 0.7's `seccomp::initialize_seccomp` (same
//! translation of the default action and errno, architectures, `SCMP_FLTATR_CTL_NNP` off, rules
//! whose action is the default skipped, unknown syscall names skipped, one rule per comparison
//! when an argument index repeats) and **must follow it on upgrades**; the unit test
//! `same_program_as_libcontainer` compares, for Docker's default profile, the program we export
//! with the one libcontainer's function loads into the kernel. Profiles this path does not
//! handle ([`precompilable`]: `SCMP_ACT_NOTIFY`, filter flags) stay in the spec for libcontainer.
//!
//! Loading a filter without `no_new_privs` needs `CAP_SYS_ADMIN`, which libcontainer has
//! dropped by the time the executor runs: [`borrow_sys_admin`] adds it to the process's
//! effective (and permitted) set in the spec given to libcontainer, and [`Filter::install`]
//! takes it back with `capset` once the filter is loaded. The bounding set is never touched
//! (a capability stays in the effective and permitted sets after it left the bounding set), so
//! it is the spec's.

use std::fs;
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use libcontainer::oci_spec::runtime::{Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator};
use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};
use sha2::{Digest, Sha256};

/// The cache's directory under the runtime root. `@` is not allowed in a container ID, so this
/// never names a container's state directory.
const CACHE_DIR: &str = "@seccomp";
/// The kernel's limit on a classic BPF program (`BPF_MAXINSNS`).
const MAX_INSNS: usize = 4096;
/// Bumped when the cache's file format or key changes.
const FORMAT: &str = "wharf-shim seccomp bpf 1";
const CAP_SYS_ADMIN: u32 = 21;
/// The instruction class of a return.
const BPF_RET: u16 = 0x06;

/// A classic BPF program, one `struct sock_filter` (8 bytes, native byte order) per element.
pub(crate) type Program = Rc<[u64]>;

/// What the executor does before the workload runs: load `program`, then give back what
/// [`borrow_sys_admin`] added.
#[derive(Clone)]
pub(crate) struct Filter {
    pub(crate) program: Program,
    pub(crate) borrowed: Borrowed,
}

impl Filter {
    /// Loads the filter into this process (`seccomp(SECCOMP_SET_MODE_FILTER, 0, …)`, as
    /// libseccomp's `seccomp_load` does for a context without flags), then drops the borrowed
    /// `CAP_SYS_ADMIN`. On error the process must not run its workload.
    pub(crate) fn install(&self) -> Result<(), String> {
        load(&self.program).map_err(|e| format!("loading the seccomp filter: {e}"))?;
        self.borrowed.give_back().map_err(|e| format!("dropping CAP_SYS_ADMIN after loading the seccomp filter: {e}"))
    }
}

/// Whether the shim compiles this profile itself: not with `SCMP_ACT_NOTIFY` (the init must
/// hand a listener fd to libcontainer) nor with filter flags (they change how the filter is
/// loaded). Those stay libcontainer's.
pub(crate) fn precompilable(seccomp: &LinuxSeccomp) -> bool {
    let notify = |a: LinuxSeccompAction| a == LinuxSeccompAction::ScmpActNotify;
    !notify(seccomp.default_action())
        && seccomp.flags().as_ref().is_none_or(|f| f.is_empty())
        && !seccomp.syscalls().iter().flatten().any(|s| notify(s.action()))
}

/// The program for `seccomp`: read from the cache under `runtime_root`, else compiled and
/// stored there (temporary file, fsync, rename). The flag says whether it came from the cache.
/// A cache that cannot be written is not an error: the compiled program is returned.
pub(crate) fn program_for(runtime_root: &Path, seccomp: &LinuxSeccomp) -> Result<(Program, bool), String> {
    let path = cache_path(runtime_root, seccomp)?;
    if let Some(program) = fs::read(&path).ok().and_then(|b| parse(&b).ok()) {
        return Ok((program.into(), true));
    }
    let program = compile(seccomp)?;
    if let Err(e) = store(&path, &program) {
        diag!("seccomp: caching {}: {e}", path.display());
    }
    Ok((program.into(), false))
}

/// `<root>/@seccomp/<sha256>.bpf`, the digest over everything the program depends on: the
/// profile (its typed, canonical JSON), libseccomp's version, the architecture and the kernel.
pub(crate) fn cache_path(runtime_root: &Path, seccomp: &LinuxSeccomp) -> Result<PathBuf, String> {
    let json = serde_json::to_vec(seccomp).map_err(|e| e.to_string())?;
    let v = libseccomp::ScmpVersion::current().map_err(|e| e.to_string())?;
    let mut h = Sha256::new();
    h.update(FORMAT.as_bytes());
    h.update(format!("\0{}.{}.{}\0{}\0", v.major, v.minor, v.micro, std::env::consts::ARCH).as_bytes());
    h.update(kernel_release().as_bytes());
    h.update(b"\0");
    h.update(&json);
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(runtime_root.join(CACHE_DIR).join(format!("{hex}.bpf")))
}

fn kernel_release() -> String {
    // SAFETY: uname fills the zeroed struct; its fields are NUL-terminated.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return String::new();
        }
        std::ffi::CStr::from_ptr(u.release.as_ptr()).to_string_lossy().into_owned()
    }
}

fn store(path: &Path, program: &[u64]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}", std::process::id()));
    let result = (|| {
        let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        f.write_all(&to_bytes(program))?;
        // Durable before its name appears: a torn file would fail to load (or to parse).
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Builds the filter as libcontainer would and exports its BPF program.
pub(crate) fn compile(seccomp: &LinuxSeccomp) -> Result<Vec<u64>, String> {
    let ctx = filter_context(seccomp)?;
    // libseccomp 2.5 exports only to an fd (no seccomp_export_bpf_mem).
    let fd = rustix::fs::memfd_create("wharf-seccomp", rustix::fs::MemfdFlags::CLOEXEC)
        .map_err(|e| format!("memfd_create: {e}"))?;
    let mut file = fs::File::from(fd);
    ctx.export_bpf(&file).map_err(|e| format!("exporting the seccomp filter: {e}"))?;
    let mut bytes = Vec::new();
    file.rewind().and_then(|_| file.read_to_end(&mut bytes)).map_err(|e| format!("reading the BPF program: {e}"))?;
    parse(&bytes)
}

/// A program's bytes (as libseccomp exports them) to instructions: a whole number of 8-byte
/// instructions, at least one and at most the kernel's limit, the last one a return (the
/// kernel checks the rest when it loads the program).
pub(crate) fn parse(bytes: &[u8]) -> Result<Vec<u64>, String> {
    let bad = || format!("not a BPF program: {} bytes", bytes.len());
    if bytes.is_empty() || !bytes.len().is_multiple_of(8) || bytes.len() / 8 > MAX_INSNS {
        return Err(bad());
    }
    let program: Vec<u64> = bytes.chunks_exact(8).map(|c| u64::from_ne_bytes(c.try_into().expect("8 bytes"))).collect();
    // `struct sock_filter` starts with its u16 opcode; BPF_CLASS(code) == BPF_RET.
    let last = &bytes[bytes.len() - 8..];
    if u16::from_ne_bytes([last[0], last[1]]) & 0x07 != BPF_RET {
        return Err(bad());
    }
    Ok(program)
}

fn to_bytes(program: &[u64]) -> Vec<u8> {
    program.iter().flat_map(|i| i.to_ne_bytes()).collect()
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, 0, &prog)`.
fn load(program: &[u64]) -> io::Result<()> {
    let len = u16::try_from(program.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // A u64 has the size of a `struct sock_filter` and at least its alignment.
    let prog = libc::sock_fprog { len, filter: program.as_ptr().cast::<libc::sock_filter>().cast_mut() };
    // SAFETY: the kernel only reads `prog` and the `len` instructions it points to.
    let rc = unsafe { libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0u32, &prog) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

// ---- the mirror of libcontainer 0.7's `seccomp::initialize_seccomp` ----

/// The libseccomp filter libcontainer 0.7's `initialize_seccomp` builds for a
/// [`precompilable`] profile, not loaded.
pub(crate) fn filter_context(seccomp: &LinuxSeccomp) -> Result<ScmpFilterContext, String> {
    let err = |what: &str, e: libseccomp::error::SeccompError| format!("{what}: {e}");
    let default_action = translate_action(seccomp.default_action(), seccomp.default_errno_ret())?;
    let mut ctx = ScmpFilterContext::new(default_action).map_err(|e| err("failed to create new seccomp filter", e))?;
    for &arch in seccomp.architectures().iter().flatten() {
        ctx.add_arch(translate_arch(arch)).map_err(|e| err("failed to add arch to seccomp", e))?;
    }
    ctx.set_ctl_nnp(false).map_err(|e| err("failed to set SCMP_FLTATR_CTL_NNP", e))?;
    for syscall in seccomp.syscalls().iter().flatten() {
        let action = translate_action(syscall.action(), syscall.errno_ret())?;
        if action == default_action {
            continue;
        }
        for name in syscall.names() {
            // Not known to libseccomp: likely not a syscall of this kernel.
            let Ok(sc) = ScmpSyscall::from_name(name) else { continue };
            let add = |e| err(&format!("failed to add seccomp rule for {name}"), e);
            match syscall.args() {
                Some(args) => {
                    let mut comparators = Vec::with_capacity(args.len());
                    let mut seen = std::collections::HashSet::new();
                    let mut duplicate_index = false;
                    for arg in args {
                        let index = arg.index() as u32;
                        comparators.push(ScmpArgCompare::new(
                            index,
                            translate_op(arg.op(), arg.value_two()),
                            arg.value(),
                        ));
                        duplicate_index |= !seen.insert(index);
                    }
                    if duplicate_index {
                        for c in &comparators {
                            ctx.add_rule_conditional(action, sc, std::slice::from_ref(c)).map_err(add)?;
                        }
                    } else {
                        ctx.add_rule_conditional(action, sc, &comparators).map_err(add)?;
                    }
                }
                None => {
                    ctx.add_rule(action, sc).map_err(add)?;
                }
            }
        }
    }
    Ok(ctx)
}

fn translate_action(action: LinuxSeccompAction, errno: Option<u32>) -> Result<ScmpAction, String> {
    let errno = errno.map(|e| e as i32).unwrap_or(libc::EPERM);
    Ok(match action {
        LinuxSeccompAction::ScmpActKill => ScmpAction::KillThread,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(errno),
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(errno.try_into().map_err(|e| {
            format!("failed to translate trace action due to failed to convert errno {errno} into i16: {e}")
        })?),
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActKillThread => ScmpAction::KillThread,
    })
}

fn translate_op(op: LinuxSeccompOperator, datum_b: Option<u64>) -> ScmpCompareOp {
    match op {
        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
        LinuxSeccompOperator::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(datum_b.unwrap_or(0)),
    }
}

fn translate_arch(arch: Arch) -> ScmpArch {
    match arch {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    }
}

// ---- capabilities ----

/// The capability sets of an OCI `process` that got `CAP_SYS_ADMIN` from
/// [`borrow_sys_admin`] only so that the executor can load the filter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Borrowed {
    pub(crate) effective: bool,
    pub(crate) permitted: bool,
}

/// Makes sure the process still has `CAP_SYS_ADMIN` in its effective set when the executor
/// runs, unless `no_new_privs` lets it load a filter without. libcontainer sets the effective,
/// then the permitted set from the spec (when given; an absent set keeps what the init has: all
/// of root's, also kept across its setuid), so the capability is added to the effective set
/// when that lacks it, and then to the permitted set when that lacks it too. The bounding set
/// stays the spec's. `noNewPrivileges: false` is treated as absent, as runc does (libcontainer
/// loads its own filter after dropping capabilities whenever the field is present).
pub(crate) fn borrow_sys_admin(process: &mut serde_json::Value) -> Borrowed {
    let mut borrowed = Borrowed::default();
    if process.get("noNewPrivileges").and_then(|v| v.as_bool()) == Some(true) {
        return borrowed;
    }
    let Some(caps) = process.get_mut("capabilities").and_then(|c| c.as_object_mut()) else { return borrowed };
    let mut add = |set: &str| -> bool {
        let Some(list) = caps.get_mut(set).and_then(|l| l.as_array_mut()) else { return false };
        if list.iter().any(|c| c.as_str().is_some_and(is_sys_admin)) {
            return false;
        }
        list.push(serde_json::Value::from("CAP_SYS_ADMIN"));
        true
    };
    borrowed.effective = add("effective");
    if borrowed.effective {
        borrowed.permitted = add("permitted");
    }
    borrowed
}

/// oci-spec's reading of a capability name: any case, any number of `CAP_` prefixes.
fn is_sys_admin(name: &str) -> bool {
    let upper = name.to_uppercase();
    let mut rest = upper.as_str();
    while let Some(r) = rest.strip_prefix("CAP_") {
        rest = r;
    }
    rest == "SYS_ADMIN"
}

/// `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

/// `struct __user_cap_data_struct`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

impl Borrowed {
    /// Removes the borrowed `CAP_SYS_ADMIN` from this process's effective and permitted sets
    /// (the kernel then also clears it from the ambient set). The inheritable set is unchanged.
    fn give_back(self) -> io::Result<()> {
        if self == Borrowed::default() {
            return Ok(());
        }
        let mut header = CapHeader { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
        let mut data = [CapData::default(); 2];
        // SAFETY: capget/capset with a version 3 header and two data structs, as the kernel expects.
        unsafe {
            if libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) != 0 {
                return Err(io::Error::last_os_error());
            }
            let bit = 1u32 << CAP_SYS_ADMIN;
            if self.effective {
                data[0].effective &= !bit;
            }
            if self.permitted {
                data[0].permitted &= !bit;
            }
            if libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libcontainer::oci_spec::runtime::{LinuxSeccompBuilder, LinuxSyscallBuilder};

    fn docker_default() -> LinuxSeccomp {
        let caps: Vec<String> = wharf_runtime::default_capabilities().iter().map(|c| c.to_string()).collect();
        wharf_runtime::default_seccomp(&caps).expect("Docker's default profile")
    }

    fn is_root() -> bool {
        // SAFETY: no preconditions.
        unsafe { libc::geteuid() == 0 }
    }

    /// The program libcontainer's own `initialize_seccomp` loads for `profile`, read back from
    /// the kernel (`PTRACE_SECCOMP_GET_FILTER`) out of a forked child.
    fn loaded_by_libcontainer(profile: &LinuxSeccomp) -> Vec<u64> {
        const PTRACE_SECCOMP_GET_FILTER: libc::c_uint = 0x420c;
        // SAFETY: the child only runs libcontainer's filter setup, then stops and is killed;
        // it never returns into the test harness.
        unsafe {
            let pid = libc::fork();
            assert!(pid >= 0, "fork: {}", io::Error::last_os_error());
            if pid == 0 {
                libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
                libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                let ok = std::panic::catch_unwind(|| libcontainer::seccomp::initialize_seccomp(profile).is_ok());
                if !matches!(ok, Ok(true)) {
                    libc::_exit(3);
                }
                libc::raise(libc::SIGSTOP);
                libc::_exit(0);
            }
            let mut status = 0;
            assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
            assert!(libc::WIFSTOPPED(status), "child did not stop: status {status:#x}");
            let n = libc::ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, std::ptr::null_mut::<u64>());
            let err = io::Error::last_os_error();
            let mut program = vec![0u64; usize::try_from(n).unwrap_or(0)];
            if n > 0 {
                let m = libc::ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, program.as_mut_ptr());
                assert_eq!(m, n);
            }
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, &mut status, 0);
            assert!(n > 0, "PTRACE_SECCOMP_GET_FILTER: {err}");
            program
        }
    }

    fn assert_same(ours: &[u64], theirs: &[u64]) {
        let first = ours.iter().zip(theirs).position(|(a, b)| a != b);
        assert!(
            ours == theirs,
            "our BPF differs from libcontainer's: {} vs {} instructions, first difference at {first:?}",
            ours.len(),
            theirs.len()
        );
    }

    #[test]
    fn same_program_as_libcontainer() {
        if !is_root() {
            eprintln!("skipped: needs root (PTRACE_SECCOMP_GET_FILTER)");
            return;
        }
        let profile = docker_default();
        assert!(precompilable(&profile));
        let ours = compile(&profile).unwrap();
        assert!(ours.len() > 100, "{} instructions", ours.len());
        assert_same(&ours, &loaded_by_libcontainer(&profile));
        // Also with repeated argument indexes, an errno, a skipped rule and an unknown name.
        let rule = |names: &[&str], action, args: Option<Vec<_>>, errno: Option<u32>| {
            let mut b = LinuxSyscallBuilder::default().names(names.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            b = b.action(action);
            if let Some(a) = args {
                b = b.args(a);
            }
            if let Some(e) = errno {
                b = b.errno_ret(e);
            }
            b.build().unwrap()
        };
        let arg = |index: usize, value: u64, op| {
            libcontainer::oci_spec::runtime::LinuxSeccompArgBuilder::default()
                .index(index)
                .value(value)
                .op(op)
                .build()
                .unwrap()
        };
        let custom = LinuxSeccompBuilder::default()
            .default_action(LinuxSeccompAction::ScmpActAllow)
            .architectures(vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86])
            .syscalls(vec![
                rule(&["getcwd", "nosuch_syscall"], LinuxSeccompAction::ScmpActErrno, None, Some(11)),
                rule(&["read"], LinuxSeccompAction::ScmpActAllow, None, None),
                rule(
                    &["personality"],
                    LinuxSeccompAction::ScmpActErrno,
                    Some(vec![arg(0, 8, LinuxSeccompOperator::ScmpCmpEq), arg(0, 16, LinuxSeccompOperator::ScmpCmpEq)]),
                    None,
                ),
                rule(
                    &["socket"],
                    LinuxSeccompAction::ScmpActErrno,
                    Some(vec![arg(0, 16, LinuxSeccompOperator::ScmpCmpEq), arg(2, 9, LinuxSeccompOperator::ScmpCmpEq)]),
                    None,
                ),
            ])
            .build()
            .unwrap();
        assert_same(&compile(&custom).unwrap(), &loaded_by_libcontainer(&custom));
    }

    #[test]
    fn what_is_precompiled() {
        let profile = docker_default();
        assert!(precompilable(&profile));
        let mut flags = profile.clone();
        flags.set_flags(Some(vec![libcontainer::oci_spec::runtime::LinuxSeccompFilterFlag::SeccompFilterFlagLog]));
        assert!(!precompilable(&flags));
        flags.set_flags(Some(vec![]));
        assert!(precompilable(&flags));
        let mut notify = profile.clone();
        let mut rules = notify.syscalls().clone().unwrap();
        rules[0].set_action(LinuxSeccompAction::ScmpActNotify);
        notify.set_syscalls(Some(rules));
        assert!(!precompilable(&notify));
        let mut default_notify = profile;
        default_notify.set_default_action(LinuxSeccompAction::ScmpActNotify);
        assert!(!precompilable(&default_notify));
    }

    #[test]
    fn compiles_the_same_twice_and_caches() {
        let profile = docker_default();
        let root = tempfile::tempdir().unwrap();
        let (a, cached) = program_for(root.path(), &profile).unwrap();
        assert!(!cached);
        let path = cache_path(root.path(), &profile).unwrap();
        assert!(path.starts_with(root.path().join("@seccomp")));
        assert_eq!(fs::read(&path).unwrap(), to_bytes(&a));
        let before = fs::metadata(&path).unwrap();
        let (b, cached) = program_for(root.path(), &profile).unwrap();
        assert!(cached);
        assert_eq!(a, b);
        assert_eq!(*compile(&profile).unwrap(), *a);
        let after = fs::metadata(&path).unwrap();
        assert_eq!(
            (std::os::unix::fs::MetadataExt::ino(&before), before.modified().unwrap()),
            (std::os::unix::fs::MetadataExt::ino(&after), after.modified().unwrap())
        );
        // Another profile, another file; a torn file is compiled again and replaced.
        let mut other = profile.clone();
        other.set_default_errno_ret(Some(38));
        assert_ne!(cache_path(root.path(), &other).unwrap(), path);
        fs::write(&path, [0u8; 12]).unwrap();
        let (c, cached) = program_for(root.path(), &profile).unwrap();
        assert!(!cached);
        assert_eq!(c, a);
        assert_eq!(fs::read(&path).unwrap(), to_bytes(&a));
        let names: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
    }

    #[test]
    fn parse_checks_the_shape() {
        let ret_allow = libc::sock_filter { code: 0x06, jt: 0, jf: 0, k: 0x7fff_0000 };
        // SAFETY: sock_filter is plain data of 8 bytes.
        let ret: [u8; 8] = unsafe { std::mem::transmute(ret_allow) };
        assert_eq!(parse(&ret).unwrap(), vec![u64::from_ne_bytes(ret)]);
        assert!(parse(&[]).is_err());
        assert!(parse(&[0; 8]).is_err(), "does not end with a return");
        assert!(parse(&[ret.as_slice(), &[0; 4]].concat()).is_err());
        assert!(parse(&ret.repeat(MAX_INSNS + 1)).is_err());
        assert_eq!(parse(&ret.repeat(MAX_INSNS)).unwrap().len(), MAX_INSNS);
    }

    #[test]
    fn borrows_sys_admin_only_when_needed() {
        let docker = || {
            let caps: Vec<&str> = wharf_runtime::default_capabilities().to_vec();
            serde_json::json!({"args": ["true"], "capabilities": {"bounding": caps, "effective": caps, "permitted": caps}})
        };
        let mut p = docker();
        assert_eq!(borrow_sys_admin(&mut p), Borrowed { effective: true, permitted: true });
        let has = |p: &serde_json::Value, set: &str| {
            p["capabilities"][set].as_array().unwrap().contains(&"CAP_SYS_ADMIN".into())
        };
        assert!(has(&p, "effective") && has(&p, "permitted") && !has(&p, "bounding"));
        // no_new_privs: nothing to borrow.
        let mut p = docker();
        p["noNewPrivileges"] = true.into();
        assert_eq!(borrow_sys_admin(&mut p), Borrowed::default());
        assert_eq!(p, {
            let mut d = docker();
            d["noNewPrivileges"] = true.into();
            d
        });
        // Explicitly false: as absent.
        let mut p = docker();
        p["noNewPrivileges"] = false.into();
        assert_eq!(borrow_sys_admin(&mut p), Borrowed { effective: true, permitted: true });
        // Already there (any spelling), or sets libcontainer leaves alone.
        let mut p = serde_json::json!({"capabilities": {"effective": ["sys_admin"], "permitted": ["CAP_KILL"]}});
        assert_eq!(borrow_sys_admin(&mut p), Borrowed::default());
        let mut p = serde_json::json!({"capabilities": {"effective": ["CAP_KILL"], "permitted": ["CAP_SYS_ADMIN"]}});
        assert_eq!(borrow_sys_admin(&mut p), Borrowed { effective: true, permitted: false });
        let mut p = serde_json::json!({"capabilities": {"bounding": ["CAP_KILL"], "permitted": ["CAP_KILL"]}});
        assert_eq!(borrow_sys_admin(&mut p), Borrowed::default());
        let mut p = serde_json::json!({"args": ["true"]});
        assert_eq!(borrow_sys_admin(&mut p), Borrowed::default());
        assert!(is_sys_admin("CAP_CAP_SYS_ADMIN") && is_sys_admin("Sys_Admin") && !is_sys_admin("CAP_SYS_ADMINX"));
    }
}
