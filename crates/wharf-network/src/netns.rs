//! Network namespaces: which one an operation acts in ([`NetNs`]), and how code gets there.
//!
//! A thread is never moved into another namespace unless this crate created it: every
//! namespace-bound step runs on a fresh, short-lived thread that joins the namespace with
//! `setns(2)`, does its work (a netlink conversation on a current-thread tokio runtime, a
//! sysctl write, an `nft` child process — a child inherits the namespace of the thread that
//! forks it) and exits, taking the namespace membership with it.

use std::fs::File;
use std::future::Future;
use std::path::{Path, PathBuf};

use nix::sched::{setns, CloneFlags};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A network namespace to act in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NetNs {
    /// The namespace of the calling thread (the daemon's, normally the host's).
    #[default]
    Current,
    /// A namespace file: a bind mount such as `/run/netns/<name>` or `/proc/<pid>/ns/net`.
    Path(PathBuf),
    /// The namespace of a process (a container's init), through `/proc/<pid>/ns/net`.
    Pid(u32),
}

impl NetNs {
    /// The namespace file, or `None` for [`NetNs::Current`].
    pub fn path(&self) -> Option<PathBuf> {
        match self {
            NetNs::Current => None,
            NetNs::Path(p) => Some(p.clone()),
            NetNs::Pid(pid) => Some(PathBuf::from(format!("/proc/{pid}/ns/net"))),
        }
    }

    /// Opens the namespace file (`None` for [`NetNs::Current`]). The descriptor pins the
    /// namespace while it is open.
    pub fn open(&self) -> Result<Option<File>> {
        match self.path() {
            None => Ok(None),
            Some(p) => {
                File::open(&p).map(Some).map_err(|e| Error::io(format!("open network namespace {}", p.display()), e))
            }
        }
    }

    /// Runs `f` on a new thread inside this namespace and returns its result. The calling
    /// thread never changes namespace; a panic in `f` is resumed in the caller.
    pub fn run<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let file = self.open()?;
        let path = self.path();
        std::thread::scope(|s| {
            let handle = std::thread::Builder::new()
                .name("wharf-netns".into())
                .spawn_scoped(s, move || -> Result<R> {
                    if let Some(file) = file {
                        setns(&file, CloneFlags::CLONE_NEWNET).map_err(|e| {
                            let p = path.as_deref().unwrap_or(Path::new("?"));
                            Error::io(format!("join network namespace {}", p.display()), e.into())
                        })?;
                    }
                    Ok(f())
                })
                .map_err(|e| Error::io("spawn a namespace thread", e))?;
            match handle.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }
}

/// Runs an rtnetlink conversation inside `ns`: a fresh thread joins the namespace, opens a
/// netlink socket there (a socket stays bound to the namespace it was created in) and drives
/// `f` to completion on a current-thread tokio runtime.
pub(crate) fn netlink<F, Fut, R>(ns: &NetNs, f: F) -> Result<R>
where
    F: FnOnce(rtnetlink::Handle) -> Fut + Send,
    Fut: Future<Output = Result<R>>,
    R: Send,
{
    ns.run(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(|e| Error::io("start a netlink runtime", e))?;
        rt.block_on(async move {
            let (conn, handle, _) = rtnetlink::new_connection().map_err(|e| Error::io("open a netlink socket", e))?;
            let task = tokio::spawn(conn);
            let result = f(handle).await;
            task.abort();
            result
        })
    })?
}

/// The file of a sysctl key: dots separate the levels, and a `/` in the key stands for a dot
/// in a name (`net.ipv6.conf.br/1.disable_ipv6` is `…/conf/br.1/disable_ipv6`), as `sysctl(8)`
/// spells it.
fn sysctl_path(key: &str) -> String {
    let rel: String = key
        .chars()
        .map(|c| match c {
            '.' => '/',
            '/' => '.',
            c => c,
        })
        .collect();
    format!("/proc/sys/{rel}")
}

/// Writes a sysctl under `/proc/sys` inside `ns` (`/proc/sys/net` shows the namespace of the
/// thread that opens it).
pub(crate) fn write_sysctl(ns: &NetNs, key: &str, value: &str) -> Result<()> {
    let path = sysctl_path(key);
    ns.run(|| std::fs::write(&path, value))?.map_err(|e| Error::io(format!("write {path}"), e))
}

/// Reads a sysctl inside `ns`, trimmed.
pub(crate) fn read_sysctl(ns: &NetNs, key: &str) -> Result<String> {
    let path = sysctl_path(key);
    let s = ns.run(|| std::fs::read_to_string(&path))?.map_err(|e| Error::io(format!("read {path}"), e))?;
    Ok(s.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_keys_map_to_proc_files() {
        assert_eq!(sysctl_path("net.ipv4.ip_forward"), "/proc/sys/net/ipv4/ip_forward");
        assert_eq!(sysctl_path("net.ipv6.conf.br/1.disable_ipv6"), "/proc/sys/net/ipv6/conf/br.1/disable_ipv6");
    }
}
