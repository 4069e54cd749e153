//! Performing [`Mount`] values: a small helper for this crate's tests, for overlay detection,
//! and for callers that want the same rules (flags vs data options, read-only binds, overlay
//! option strings longer than a page).
//!
//! The kernel copies `mount(2)` data into one page. When an overlay's options do not fit, the
//! lower dirs are rewritten relative to their common directory and the mount is made from a
//! thread that unshared its working directory (`unshare(CLONE_FS)`) and `chdir`ed there —
//! containerd's technique. The process's own working directory never changes.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use rustix::mount::{MountFlags, UnmountFlags};
use wharf_types::Mount;

use crate::error::{Error, Result};

/// Bytes of option data `mount(2)` accepts (one page on x86-64; the terminating NUL included).
pub const MAX_MOUNT_DATA: usize = 4096;

/// Mounts that are undone when dropped (innermost first). Keep it alive while the mount is used.
#[derive(Debug)]
#[must_use = "dropping the guard unmounts"]
pub struct MountGuard {
    target: PathBuf,
    layers: usize,
}

impl MountGuard {
    /// The mount point.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Unmounts now, reporting errors (dropping the guard also unmounts, ignoring them).
    pub fn unmount(mut self) -> Result<()> {
        self.release()
    }

    fn release(&mut self) -> Result<()> {
        while self.layers > 0 {
            unmount(&self.target)?;
            self.layers -= 1;
        }
        Ok(())
    }
}

impl Drop for MountGuard {
    fn drop(&mut self) {
        if let Err(e) = self.release() {
            tracing::warn!(target = %self.target.display(), error = %e, "unmount failed; detaching");
            while self.layers > 0 {
                rustix::mount::unmount(&self.target, UnmountFlags::DETACH).ok();
                self.layers -= 1;
            }
        }
    }
}

/// Mounts `mounts` in order on `target` (each on top of the previous one, as containerd's
/// `mount.All`). On failure, what was mounted is undone.
pub fn mount_all(mounts: &[Mount], target: &Path) -> Result<MountGuard> {
    let mut guard = MountGuard { target: target.to_path_buf(), layers: 0 };
    for m in mounts {
        mount_one(m, target)?;
        guard.layers += 1;
    }
    Ok(guard)
}

/// Unmounts `target` (retrying briefly while busy).
pub fn unmount(target: &Path) -> Result<()> {
    let mut tries = 0;
    loop {
        match rustix::mount::unmount(target, UnmountFlags::NOFOLLOW) {
            Err(rustix::io::Errno::BUSY) if tries < 10 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            r => return r.map_err(|e| Error::Mount { typ: "umount".into(), target: target.into(), source: e.into() }),
        }
    }
}

/// Splits options into mount flags and the filesystem's data string, as `mount(8)` does.
pub fn parse_options(options: &[String]) -> (MountFlags, String) {
    let mut flags = MountFlags::empty();
    let mut data = Vec::new();
    for o in options {
        let (set, clear) = match o.as_str() {
            "ro" => (MountFlags::RDONLY, MountFlags::empty()),
            "rw" => (MountFlags::empty(), MountFlags::RDONLY),
            "bind" => (MountFlags::BIND, MountFlags::empty()),
            "rbind" => (MountFlags::BIND | MountFlags::REC, MountFlags::empty()),
            "nosuid" => (MountFlags::NOSUID, MountFlags::empty()),
            "suid" => (MountFlags::empty(), MountFlags::NOSUID),
            "nodev" => (MountFlags::NODEV, MountFlags::empty()),
            "dev" => (MountFlags::empty(), MountFlags::NODEV),
            "noexec" => (MountFlags::NOEXEC, MountFlags::empty()),
            "exec" => (MountFlags::empty(), MountFlags::NOEXEC),
            "sync" => (MountFlags::SYNCHRONOUS, MountFlags::empty()),
            "async" => (MountFlags::empty(), MountFlags::SYNCHRONOUS),
            "dirsync" => (MountFlags::DIRSYNC, MountFlags::empty()),
            "noatime" => (MountFlags::NOATIME, MountFlags::empty()),
            "nodiratime" => (MountFlags::NODIRATIME, MountFlags::empty()),
            "relatime" => (MountFlags::RELATIME, MountFlags::empty()),
            "strictatime" => (MountFlags::STRICTATIME, MountFlags::empty()),
            "defaults" => (MountFlags::empty(), MountFlags::empty()),
            _ => {
                data.push(o.as_str());
                continue;
            }
        };
        flags = (flags | set) - clear;
    }
    (flags, data.join(","))
}

fn mount_error(m: &Mount, target: &Path, e: impl Into<std::io::Error>) -> Error {
    Error::Mount { typ: m.typ.clone(), target: target.into(), source: e.into() }
}

fn mount_one(m: &Mount, target: &Path) -> Result<()> {
    let (flags, data) = parse_options(&m.options);
    let err = |e: rustix::io::Errno| mount_error(m, target, e);
    if m.typ == "bind" || flags.contains(MountFlags::BIND) {
        let recursive = flags.contains(MountFlags::REC);
        if recursive {
            rustix::mount::mount_bind_recursive(&m.source, target).map_err(err)?;
        } else {
            rustix::mount::mount_bind(&m.source, target).map_err(err)?;
        }
        // MS_BIND ignores the other flags; they take effect on a remount of the bind.
        let rest = flags - MountFlags::BIND - MountFlags::REC;
        if !rest.is_empty() {
            if let Err(e) = rustix::mount::mount_remount(target, MountFlags::BIND | rest, "") {
                rustix::mount::unmount(target, UnmountFlags::DETACH).ok();
                return Err(err(e));
            }
        }
        return Ok(());
    }
    let (data, chdir) = if m.typ == "overlay" && data.len() + 1 > MAX_MOUNT_DATA {
        let (compact, dir) = compact_lowerdirs(&data)
            .ok_or_else(|| mount_error(m, target, std::io::Error::other("overlay options longer than a page")))?;
        if compact.len() + 1 > MAX_MOUNT_DATA {
            return Err(mount_error(m, target, std::io::Error::other("too many lower dirs for one mount")));
        }
        (compact, Some(dir))
    } else {
        (data, None)
    };
    let cdata = CString::new(data).map_err(|e| mount_error(m, target, std::io::Error::other(e)))?;
    let target_abs = std::path::absolute(target).map_err(|e| mount_error(m, target, e))?;
    let run = || rustix::mount::mount(m.source.as_str(), &target_abs, m.typ.as_str(), flags, cdata.as_c_str());
    match chdir {
        None => run().map_err(err),
        Some(dir) => std::thread::scope(|s| {
            s.spawn(|| {
                // SAFETY: CLONE_FS only gives this thread its own cwd/root/umask; no file
                // descriptor table is unshared.
                unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::FS) }?;
                rustix::process::chdir(&dir)?;
                run()
            })
            .join()
            .unwrap_or(Err(rustix::io::Errno::IO))
        })
        .map_err(err),
    }
}

/// Rewrites `lowerdir=` so that each lower is relative to the lowers' common directory;
/// returns the new data and that directory. `None` if there is nothing to shorten.
fn compact_lowerdirs(data: &str) -> Option<(String, PathBuf)> {
    let opts: Vec<&str> = data.split(',').collect();
    let lower = opts.iter().find_map(|o| o.strip_prefix("lowerdir="))?;
    let lowers: Vec<&Path> = lower.split(':').map(Path::new).collect();
    let mut common = lowers.first()?.parent()?.to_path_buf();
    while !lowers.iter().all(|l| l.starts_with(&common)) {
        common = common.parent()?.to_path_buf();
    }
    if common.as_os_str().len() <= 1 {
        return None;
    }
    let rel: Vec<String> = lowers
        .iter()
        .map(|l| l.strip_prefix(&common).map(|r| r.display().to_string()))
        .collect::<Result<_, _>>()
        .ok()?;
    let out: Vec<String> = opts
        .iter()
        .map(|o| if o.starts_with("lowerdir=") { format!("lowerdir={}", rel.join(":")) } else { o.to_string() })
        .collect();
    Some((out.join(","), common))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_split_into_flags_and_data() {
        let opts: Vec<String> =
            ["rbind", "ro", "index=off", "lowerdir=/a:/b", "nosuid"].iter().map(|s| s.to_string()).collect();
        let (flags, data) = parse_options(&opts);
        assert_eq!(flags, MountFlags::BIND | MountFlags::REC | MountFlags::RDONLY | MountFlags::NOSUID);
        assert_eq!(data, "index=off,lowerdir=/a:/b");
        let (flags, _) = parse_options(&["ro".to_string(), "rw".to_string()]);
        assert!(!flags.contains(MountFlags::RDONLY));
    }

    #[test]
    fn lowerdirs_compact_to_their_common_dir() {
        let (data, dir) =
            compact_lowerdirs("index=off,workdir=/r/s/1/work,upperdir=/r/s/1/fs,lowerdir=/r/l/a:/r/l/b").unwrap();
        assert_eq!(data, "index=off,workdir=/r/s/1/work,upperdir=/r/s/1/fs,lowerdir=a:b");
        assert_eq!(dir, Path::new("/r/l"));
        let (data, dir) = compact_lowerdirs("lowerdir=/r/l/a:/r/x/b").unwrap();
        assert_eq!((data.as_str(), dir.as_path()), ("lowerdir=l/a:x/b", Path::new("/r")));
        assert!(compact_lowerdirs("lowerdir=/a:/b").is_none());
        assert!(compact_lowerdirs("upperdir=/a").is_none());
    }
}
