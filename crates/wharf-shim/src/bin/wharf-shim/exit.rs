//! Exit bookkeeping: Docker's exit code from a wait status, RFC 3339 timestamps, the OOM
//! counter of the container's memory cgroup, and atomic file writes (exit.json, pid files).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Docker's view of a raw wait status: `(exit_code, signal)`, the code being `128 + signal`
/// when a signal killed the process.
pub(crate) fn exit_code(status: i32) -> (i32, Option<i32>) {
    if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        (128 + sig, Some(sig))
    } else if libc::WIFEXITED(status) {
        (libc::WEXITSTATUS(status), None)
    } else {
        (255, None)
    }
}

/// `t` as RFC 3339 in UTC with nanoseconds, trailing zeros trimmed (Go's `RFC3339Nano`, as
/// Docker prints `State.FinishedAt`).
pub(crate) fn rfc3339_nano(t: SystemTime) -> String {
    let dt: chrono::DateTime<chrono::Utc> = t.into();
    let mut s = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = dt.timestamp_subsec_nanos();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Nanoseconds since the Unix epoch (log timestamps).
pub(crate) fn unix_nanos(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// Writes `data` to `path` atomically: a temporary file in the same directory renamed over
/// `path`. Readers see the old content or the new, never a part.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        // The state dir is in the exec root (tmpfs in practice) and means nothing after a
        // reboot: the rename makes it atomic for a crash of the shim; fsync would only cost.
        let mut f = fs::File::create(&tmp)?;
        f.write_all(data)?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The file whose `oom_kill` line counts OOM kills in a process's memory cgroup: cgroup v1
/// `memory.oom_control`, or v2 `memory.events` when memory is not a v1 controller.
#[derive(Debug, Clone)]
pub(crate) struct OomCounter {
    file: PathBuf,
    baseline: u64,
}

impl OomCounter {
    /// Finds the counter of `pid`'s memory cgroup (read while it lives) and notes its value.
    pub(crate) fn for_pid(pid: i32) -> Option<OomCounter> {
        let cgroups = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").ok()?;
        let file = counter_file(&cgroups, &mountinfo)?;
        let baseline = read_oom_kill(&file).unwrap_or(0);
        Some(OomCounter { file, baseline })
    }

    /// Whether the counter moved since [`for_pid`](Self::for_pid) (read before the cgroup is
    /// removed).
    pub(crate) fn fired(&self) -> bool {
        read_oom_kill(&self.file).is_some_and(|n| n > self.baseline)
    }
}

fn read_oom_kill(file: &Path) -> Option<u64> {
    let text = fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| l.strip_prefix("oom_kill ")).and_then(|n| n.trim().parse().ok())
}

/// The counter file from `/proc/<pid>/cgroup` and `/proc/self/mountinfo` contents.
fn counter_file(cgroups: &str, mountinfo: &str) -> Option<PathBuf> {
    let mut v1 = None;
    let mut v2 = None;
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(hier), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if hier == "0" && ctrls.is_empty() {
            v2 = Some(path.to_owned());
        } else if ctrls.split(',').any(|c| c == "memory") {
            v1 = Some(path.to_owned());
        }
    }
    // mountinfo: id parent major:minor root mountpoint options [optional...] - fstype source super
    let mounts = mountinfo.lines().filter_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        Some((pre.get(3)?.to_string(), pre.get(4)?.to_string(), post.first()?.to_string(), post.get(2)?.to_string()))
    });
    let mounts: Vec<(String, String, String, String)> = mounts.collect();
    let join = |root: &str, mountpoint: &str, path: &str, file: &str| {
        let rel = path.strip_prefix(root).unwrap_or(path).trim_start_matches('/');
        let mut p = PathBuf::from(mountpoint);
        if !rel.is_empty() {
            p.push(rel);
        }
        p.push(file);
        p
    };
    if let Some(path) = v1 {
        let m = mounts.iter().find(|(_, _, fs, sup)| fs == "cgroup" && sup.split(',').any(|o| o == "memory"))?;
        return Some(join(&m.0, &m.1, &path, "memory.oom_control"));
    }
    let path = v2?;
    let m = mounts.iter().find(|(_, _, fs, _)| fs == "cgroup2")?;
    Some(join(&m.0, &m.1, &path, "memory.events"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code(3 << 8), (3, None));
        assert_eq!(exit_code(15), (143, Some(15)));
        assert_eq!(exit_code(9 | 0x80), (137, Some(9)));
    }

    #[test]
    fn timestamps_trim_zeros() {
        let t = SystemTime::UNIX_EPOCH + Duration::new(1_704_164_645, 120_000_000);
        assert_eq!(rfc3339_nano(t), "2024-01-02T03:04:05.12Z");
        assert_eq!(rfc3339_nano(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn counter_files() {
        let mountinfo = "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
                         41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        let v1 = "4:memory:/wharf/abc\n0::/\n";
        assert_eq!(
            counter_file(v1, mountinfo).unwrap(),
            PathBuf::from("/sys/fs/cgroup/memory/wharf/abc/memory.oom_control")
        );
        let v2 = "0::/wharf/abc\n";
        assert_eq!(
            counter_file(v2, mountinfo).unwrap(),
            PathBuf::from("/sys/fs/cgroup/unified/wharf/abc/memory.events")
        );
    }
}
