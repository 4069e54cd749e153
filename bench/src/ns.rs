//! Isolation: the harness moves itself into a private network and mount namespace before it
//! starts any thread or daemon, the same isolation as `shared/bench/incumbents.sh` (which
//! uses `ip netns` + `nsenter`). Every daemon inherits it, so bridges, iptables rules and
//! mounts they might make never reach the host, and whatever is left vanishes with the last
//! process. Inside the mount namespace:
//!
//! * `/run` becomes a private tmpfs (with `lock/`, `user/` and the `shm` link recreated):
//!   dockerd and podman create fixed run directories there (`/run/docker/plugins`,
//!   `/run/containers/networks`) whatever their flags say; now those vanish with the run.
//! * `/etc/docker` gets a private empty directory bind-mounted over it, so dockerd 20.10 reads
//!   no host `daemon.json` and writes its `key.json` into the work directory, not the host.
//! * the hybrid cgroup2 mount `/sys/fs/cgroup/unified` can be detached (see
//!   [`detach_unified`]): crun 1.8 refuses to run at all in hybrid mode when cgroup2 has a
//!   controller enabled. The host's mounts are unchanged.

use std::ffi::CString;
use std::io;
use std::path::Path;

fn cstr(p: &Path) -> CString {
    CString::new(p.as_os_str().as_encoded_bytes()).expect("path without NUL")
}

/// Unshares the network and mount namespaces (the process must still be single-threaded),
/// makes every mount private, and brings up `lo` in the new network namespace.
pub fn enter_private() -> Result<(), String> {
    if unsafe { libc::unshare(libc::CLONE_NEWNET | libc::CLONE_NEWNS) } != 0 {
        return Err(format!("unshare(CLONE_NEWNET|CLONE_NEWNS): {} (run as root)", io::Error::last_os_error()));
    }
    let root = cstr(Path::new("/"));
    let r = unsafe {
        libc::mount(
            std::ptr::null(),
            root.as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    };
    if r != 0 {
        return Err(format!("mount --make-rprivate /: {}", io::Error::last_os_error()));
    }
    if let Err(e) = lo_up() {
        eprintln!("wharf-bench: could not bring lo up in the private network namespace: {e}");
    }
    Ok(())
}

fn lo_up() -> io::Result<()> {
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut ifr: libc::ifreq = std::mem::zeroed();
        for (d, s) in ifr.ifr_name.iter_mut().zip(b"lo\0") {
            *d = *s as libc::c_char;
        }
        let mut res = Ok(());
        if libc::ioctl(fd, libc::SIOCGIFFLAGS as _, &mut ifr) != 0 {
            res = Err(io::Error::last_os_error());
        } else {
            ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            if libc::ioctl(fd, libc::SIOCSIFFLAGS as _, &ifr) != 0 {
                res = Err(io::Error::last_os_error());
            }
        }
        libc::close(fd);
        res
    }
}

/// Mounts a private tmpfs over `/run` (our mount namespace only) and recreates the few
/// entries programs expect there.
pub fn private_run() -> Result<(), String> {
    let (src, t, fs, opts) =
        (cstr(Path::new("tmpfs")), cstr(Path::new("/run")), cstr(Path::new("tmpfs")), cstr(Path::new("mode=0755")));
    let r = unsafe {
        libc::mount(src.as_ptr(), t.as_ptr(), fs.as_ptr(), libc::MS_NOSUID | libc::MS_NODEV, opts.as_ptr().cast())
    };
    if r != 0 {
        return Err(format!("mount tmpfs on /run: {}", io::Error::last_os_error()));
    }
    use std::os::unix::fs::PermissionsExt;
    for (d, mode) in [("/run/lock", 0o1777), ("/run/user", 0o755)] {
        std::fs::create_dir_all(d).map_err(|e| format!("mkdir {d}: {e}"))?;
        let _ = std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode));
    }
    let _ = std::os::unix::fs::symlink("/dev/shm", "/run/shm");
    Ok(())
}

/// Bind-mounts `private` over `target` (in our mount namespace only) when `target` exists.
pub fn bind_over(private: &Path, target: &Path) -> Result<bool, String> {
    if !target.is_dir() {
        return Ok(false);
    }
    let (s, t) = (cstr(private), cstr(target));
    let r = unsafe { libc::mount(s.as_ptr(), t.as_ptr(), std::ptr::null(), libc::MS_BIND, std::ptr::null()) };
    if r != 0 {
        return Err(format!("bind {} over {}: {}", private.display(), target.display(), io::Error::last_os_error()));
    }
    Ok(true)
}

/// True when `/sys/fs/cgroup/unified` is a hybrid-mode cgroup2 mount with a controller enabled
/// (the layout crun 1.8 refuses).
pub fn hybrid_cgroup2_with_controllers() -> bool {
    let p = Path::new("/sys/fs/cgroup/unified");
    let mounted = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some("/sys/fs/cgroup/unified") && l.contains(" - cgroup2 "));
    mounted && std::fs::read_to_string(p.join("cgroup.controllers")).is_ok_and(|s| !s.trim().is_empty())
}

/// Detaches `/sys/fs/cgroup/unified` in our mount namespace.
pub fn detach_unified() -> Result<(), String> {
    let t = cstr(Path::new("/sys/fs/cgroup/unified"));
    if unsafe { libc::umount2(t.as_ptr(), libc::MNT_DETACH) } != 0 {
        return Err(format!("umount -l /sys/fs/cgroup/unified: {}", io::Error::last_os_error()));
    }
    Ok(())
}
