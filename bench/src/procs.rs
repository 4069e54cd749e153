//! The processes the harness starts, and everything it reads about processes.
//!
//! Every daemon is spawned through [`spawn`], which records it (PID and `Child`) in one
//! registry while still holding the registry lock, so that a signal arriving at any moment
//! finds it. Daemons are only ever stopped by those recorded PIDs: SIGTERM, wait, and SIGKILL
//! after a timeout. [`cleanup`] (run by the [`Guard`] on return or panic, and by the signal
//! thread on SIGINT/SIGTERM/SIGHUP) stops whatever is still recorded, newest first, then
//! unmounts and removes the work directory. Each daemon runs in its own process group (a
//! terminal's Ctrl-C reaches only the harness, which stops them in order) and gets
//! `PR_SET_PDEATHSIG=SIGTERM`, so even a harness killed by SIGKILL leaves nothing running.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Tracked {
    name: String,
    child: Child,
}

static REGISTRY: Mutex<Vec<Tracked>> = Mutex::new(Vec::new());
static WORK_DIR: Mutex<Option<(PathBuf, bool)>> = Mutex::new(None);

fn registry() -> std::sync::MutexGuard<'static, Vec<Tracked>> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Spawns `cmd` as daemon `name` (stdout and stderr appended to `log`) and records its PID.
pub fn spawn(name: &str, cmd: &mut Command, log: &Path) -> io::Result<u32> {
    let out = OpenOptions::new().create(true).append(true).open(log)?;
    let err = out.try_clone()?;
    cmd.stdin(Stdio::null()).stdout(out).stderr(err).process_group(0);
    // SAFETY: only async-signal-safe calls (prctl, getppid, kill) between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong, 0, 0, 0);
            if libc::getppid() == 1 {
                libc::kill(libc::getpid(), libc::SIGKILL); // the harness is already gone
            }
            Ok(())
        });
    }
    let mut reg = registry();
    let child = cmd.spawn()?;
    let pid = child.id();
    reg.push(Tracked { name: name.to_string(), child });
    Ok(pid)
}

/// `Some(status)` when recorded daemon `pid` has exited (it stays recorded until [`stop`]).
pub fn exited(pid: u32) -> Option<ExitStatus> {
    let mut reg = registry();
    let t = reg.iter_mut().find(|t| t.child.id() == pid)?;
    t.child.try_wait().ok().flatten()
}

/// True while `pid` is a recorded daemon.
pub fn is_tracked(pid: u32) -> bool {
    registry().iter().any(|t| t.child.id() == pid)
}

/// Stops recorded daemon `pid`: SIGTERM, then SIGKILL after `timeout`. Returns the time from
/// SIGTERM to exit, and whether it needed SIGKILL. Unknown PIDs are left alone.
pub fn stop(pid: u32, timeout: Duration) -> Option<(Duration, bool)> {
    let t = {
        let mut reg = registry();
        let i = reg.iter().position(|t| t.child.id() == pid)?;
        reg.remove(i)
    };
    Some(stop_tracked(t, timeout))
}

fn stop_tracked(mut t: Tracked, timeout: Duration) -> (Duration, bool) {
    if let Ok(Some(_)) = t.child.try_wait() {
        return (Duration::ZERO, false); // already exited (and now reaped)
    }
    // Not reaped yet, so the PID is still ours. A pidfd (Linux ≥ 5.3) reports the exit at once;
    // without one, poll every 200 µs.
    let pid = t.child.id() as libc::pid_t;
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as libc::c_int;
    let t0 = Instant::now();
    unsafe { libc::kill(pid, libc::SIGTERM) };
    while t0.elapsed() < timeout {
        if pidfd >= 0 {
            let mut p = libc::pollfd { fd: pidfd, events: libc::POLLIN, revents: 0 };
            let left = timeout.saturating_sub(t0.elapsed()).as_millis().min(1000) as libc::c_int;
            unsafe { libc::poll(&mut p, 1, left.max(1)) };
        } else {
            std::thread::sleep(Duration::from_micros(200));
        }
        if let Ok(Some(_)) = t.child.try_wait() {
            let d = t0.elapsed();
            if pidfd >= 0 {
                unsafe { libc::close(pidfd) };
            }
            return (d, false);
        }
    }
    if pidfd >= 0 {
        unsafe { libc::close(pidfd) };
    }
    eprintln!("wharf-bench: {} (pid {}) ignored SIGTERM for {timeout:?}: SIGKILL", t.name, t.child.id());
    let _ = t.child.kill();
    let _ = t.child.wait();
    (t0.elapsed(), true)
}

/// Sets the work directory that [`cleanup`] unmounts and removes (unless `keep`).
pub fn set_work_dir(dir: &Path, keep: bool) {
    *WORK_DIR.lock().unwrap_or_else(|e| e.into_inner()) = Some((dir.to_path_buf(), keep));
}

/// Runs `cmd` (a client, not a daemon: it is not recorded) to completion with stdout and stderr
/// written to `log` (truncated), and returns its wall time from spawn to exit, or `None` as the
/// status when it had to be killed after `timeout`. The child gets `PR_SET_PDEATHSIG=SIGKILL`.
pub fn run_timed(cmd: &mut Command, log: &Path, timeout: Duration) -> io::Result<(Duration, Option<ExitStatus>)> {
    let out = File::create(log)?;
    let err = out.try_clone()?;
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    // SAFETY: only async-signal-safe calls (prctl) between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
            Ok(())
        });
    }
    let t0 = Instant::now();
    let mut child = cmd.spawn()?;
    // Not reaped until it exits, so the PID stays ours; a pidfd wakes us at its exit.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, child.id() as libc::pid_t, 0) } as libc::c_int;
    let res = loop {
        if let Some(st) = child.try_wait()? {
            break (t0.elapsed(), Some(st));
        }
        if t0.elapsed() >= timeout {
            let _ = child.kill();
            let _ = child.wait();
            break (t0.elapsed(), None);
        }
        if pidfd >= 0 {
            let mut p = libc::pollfd { fd: pidfd, events: libc::POLLIN, revents: 0 };
            let left = timeout.saturating_sub(t0.elapsed()).as_millis().min(1000) as libc::c_int;
            unsafe { libc::poll(&mut p, 1, left.max(1)) };
        } else {
            std::thread::sleep(Duration::from_micros(200));
        }
    };
    if pidfd >= 0 {
        unsafe { libc::close(pidfd) };
    }
    Ok(res)
}

/// The work directory set by [`set_work_dir`] (until [`cleanup`] removes it).
pub fn work_dir() -> Option<PathBuf> {
    WORK_DIR.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|(d, _)| d.clone())
}

/// Stops every recorded daemon (newest first), then unmounts and removes the work directory.
/// Idempotent.
pub fn cleanup() {
    loop {
        let Some(t) = registry().pop() else { break };
        stop_tracked(t, Duration::from_secs(30));
    }
    let work = WORK_DIR.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some((dir, keep)) = work {
        unmount_under(&dir);
        if keep {
            let _ = fs::write(dir.join(".keep"), "KEEP_WORK=1: not removed by later runs\n");
            eprintln!("wharf-bench: work directory kept: {}", dir.display());
        } else if let Err(e) = fs::remove_dir_all(&dir) {
            eprintln!("wharf-bench: could not remove {}: {e}", dir.display());
        }
    }
}

/// Detaches every mount at or below `dir` (daemons may leave private bind mounts behind in our
/// private mount namespace), deepest first.
fn unmount_under(dir: &Path) {
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else { return };
    let mut points: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(p.replace("\\040", " ")))
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    points.dedup();
    for p in points {
        if let Ok(c) = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()) {
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

/// Runs [`cleanup`] when dropped: on return from main and while unwinding from a panic.
pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        cleanup();
    }
}

static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: libc::c_int) {
    let b = sig as u8;
    let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
    // SAFETY: write(2) is async-signal-safe.
    unsafe { libc::write(fd, (&b as *const u8).cast(), 1) };
}

/// SIGINT, SIGTERM and SIGHUP: a thread stops every recorded daemon, removes the work
/// directory and exits with 128+signal. (Handlers reset to default in the daemons at exec.)
pub fn install_signal_handlers() -> io::Result<()> {
    let mut fds = [0; 2];
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    SIGNAL_PIPE.store(fds[1], Ordering::Relaxed);
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        unsafe { libc::signal(sig, handler) };
    }
    let rfd = fds[0];
    std::thread::spawn(move || {
        let mut b = [0u8; 1];
        // SAFETY: rfd is the read end of the pipe created above, owned by this thread.
        let mut f = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(rfd) };
        if f.read_exact(&mut b).is_ok() {
            eprintln!("\nwharf-bench: signal {}: stopping the daemons it started", b[0]);
            cleanup();
            std::process::exit(128 + b[0] as i32);
        }
    });
    Ok(())
}

/// Resident and proportional set size of one process, in KiB.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mem {
    pub rss_kb: u64,
    pub pss_kb: u64,
}

impl std::ops::AddAssign for Mem {
    fn add_assign(&mut self, o: Mem) {
        self.rss_kb += o.rss_kb;
        self.pss_kb += o.pss_kb;
    }
}

/// VmRSS (/proc/PID/status) and Pss (/proc/PID/smaps_rollup) of `pid`.
pub fn mem(pid: u32) -> Option<Mem> {
    let field = |file: &str, key: &str| -> Option<u64> {
        let s = fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
        s.lines().find_map(|l| l.strip_prefix(key)?.split_whitespace().next()?.parse().ok())
    };
    Some(Mem { rss_kb: field("status", "VmRSS:")?, pss_kb: field("smaps_rollup", "Pss:").unwrap_or(0) })
}

/// `pid` and all its descendants.
pub fn tree(pid: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(rd) = fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            if let Some(st) = stat_fields(p) {
                if let Some(pp) = st.get(1).and_then(|s| s.parse::<u32>().ok()) {
                    parent_of.push((p, pp));
                }
            }
        }
    }
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let cur = out[i];
        out.extend(parent_of.iter().filter(|(_, pp)| *pp == cur).map(|(p, _)| *p));
        i += 1;
    }
    out
}

/// Summed memory of `pid` and its descendants, and how many processes that was.
pub fn tree_mem(pid: u32) -> (Mem, usize) {
    let mut m = Mem::default();
    let mut n = 0;
    for p in tree(pid) {
        if let Some(x) = mem(p) {
            m += x;
            n += 1;
        }
    }
    (m, n)
}

/// Fields of /proc/PID/stat after the command name: [state, ppid, pgrp, ...].
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

fn clk_tck() -> f64 {
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// CPU seconds (user+system) used by `pid` so far.
fn proc_cpu_s(pid: u32) -> f64 {
    stat_fields(pid)
        .and_then(|f| Some(f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?))
        .map_or(0.0, |t| t / clk_tck())
}

/// A point in time for estimating how much CPU other tenants of the machine used.
#[derive(Clone, Copy)]
pub struct CpuSnap {
    at: Instant,
    busy_s: f64,
    ours_s: f64,
}

fn rusage_s(who: libc::c_int) -> f64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut u) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// Machine-wide busy CPU time, and ours: this process, reaped children, and live daemons.
pub fn cpu_snap() -> CpuSnap {
    let busy_s = fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let f: Vec<f64> = s.lines().next()?.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
            // user nice system idle iowait irq softirq steal
            Some((f.first()? + f.get(1)? + f.get(2)? + f.get(5)? + f.get(6)?) / clk_tck())
        })
        .unwrap_or(0.0);
    let live: f64 = registry().iter().map(|t| tree(t.child.id()).into_iter().map(proc_cpu_s).sum::<f64>()).sum();
    CpuSnap { at: Instant::now(), busy_s, ours_s: rusage_s(libc::RUSAGE_SELF) + rusage_s(libc::RUSAGE_CHILDREN) + live }
}

/// (other tenants' cores, our cores, seconds) between two snapshots.
pub fn cpu_between(a: CpuSnap, b: CpuSnap) -> (f64, f64, f64) {
    let el = b.at.duration_since(a.at).as_secs_f64().max(1e-3);
    let ours = (b.ours_s - a.ours_s).max(0.0);
    let others = (b.busy_s - a.busy_s - ours).max(0.0);
    (others / el, ours / el, el)
}

/// The last `n` lines of a log file (for error messages).
pub fn tail(path: &Path, n: usize) -> String {
    let s = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Processes whose name (`/proc/PID/comm`, at most 15 bytes) is `comm` and whose command line
/// contains `needle` (the engine's private directory: tells this run's shims from any other).
pub fn find(comm: &str, needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir("/proc") else { return out };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(c) = fs::read_to_string(format!("/proc/{pid}/comm")) else { continue };
        if c.trim_end() != comm {
            continue;
        }
        let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else { continue };
        if cmdline.windows(needle.len()).any(|w| w == needle.as_bytes()) {
            out.push(pid);
        }
    }
    out
}
