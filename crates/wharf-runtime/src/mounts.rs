//! Mounts as moby's `oci.DefaultLinuxSpec` and `withMounts` produce them: Docker's default
//! filesystems, the container's binds and tmpfs mounts sorted by depth, user mounts replacing
//! defaults at the same destination, `/dev/shm` sized, `--read-only` and `--privileged`
//! adjustments.

use crate::config::{MountSpec, MountType};
use crate::error::RuntimeError;

/// A mount while the spec is being assembled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct M {
    pub destination: String,
    pub typ: String,
    pub source: String,
    pub options: Vec<String>,
}

fn m(destination: &str, typ: &str, source: &str, options: &[&str]) -> M {
    M {
        destination: destination.into(),
        typ: typ.into(),
        source: source.into(),
        options: options.iter().map(|s| s.to_string()).collect(),
    }
}

/// moby `oci.DefaultLinuxSpec().Mounts`.
pub(crate) fn default_mounts() -> Vec<M> {
    vec![
        m("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        m("/dev", "tmpfs", "tmpfs", &["nosuid", "strictatime", "mode=755", "size=65536k"]),
        m("/dev/pts", "devpts", "devpts", &["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
        m("/sys", "sysfs", "sysfs", &["nosuid", "noexec", "nodev", "ro"]),
        m("/sys/fs/cgroup", "cgroup", "cgroup", &["ro", "nosuid", "noexec", "nodev"]),
        m("/dev/mqueue", "mqueue", "mqueue", &["nosuid", "noexec", "nodev"]),
        m("/dev/shm", "tmpfs", "shm", &["nosuid", "noexec", "nodev", "mode=1777"]),
    ]
}

/// Go's `filepath.Clean` for absolute-or-relative slash paths.
pub(crate) use wharf_types::clean_path as clean;

/// Depth of a destination as moby's mount sort counts it (separators in the cleaned path).
fn depth(dest: &str) -> usize {
    clean(dest).matches('/').count()
}

/// What the mount stage needs beyond the mounts themselves.
pub(crate) struct MountParams<'a> {
    pub user: &'a [MountSpec],
    pub ipc_none: bool,
    pub shm_size: u64,
    pub readonly_rootfs: bool,
    pub privileged: bool,
    pub userns: bool,
    pub rro_supported: bool,
}

/// The result: the mount list and a rootfs propagation when a bind asked for one.
pub(crate) struct MountResult {
    pub mounts: Vec<M>,
    pub rootfs_propagation: Option<String>,
}

/// moby's `withMounts` over `defaults` (the default mounts plus any added earlier, e.g. the
/// init binary).
pub(crate) fn build(defaults: Vec<M>, p: &MountParams<'_>) -> Result<MountResult, RuntimeError> {
    let mut user: Vec<&MountSpec> = p.user.iter().collect();
    user.sort_by_key(|u| depth(&u.destination));
    let user_dests: Vec<&str> = user.iter().map(|u| u.destination.as_str()).collect();
    let mount_dev = user_dests.contains(&"/dev");

    let mut out = Vec::new();
    for mut d in defaults {
        if user_dests.contains(&d.destination.as_str()) {
            continue;
        }
        if mount_dev && d.destination.starts_with("/dev/") {
            continue;
        }
        if d.destination == "/dev/shm" {
            if p.ipc_none {
                continue;
            }
            d.options.push(format!("size={}", p.shm_size));
        }
        out.push(d);
    }

    let mut rootfs_propagation: Option<String> = None;
    for u in &user {
        match u.typ {
            MountType::Tmpfs => {
                let mut opts: Vec<String> =
                    ["noexec", "nosuid", "nodev", "rprivate"].iter().map(|s| s.to_string()).collect();
                if !u.data.is_empty() {
                    opts.extend(u.data.split(',').map(String::from));
                }
                out.push(M {
                    destination: u.destination.clone(),
                    typ: "tmpfs".into(),
                    source: "tmpfs".into(),
                    options: merge_tmpfs_options(&opts)?,
                });
            }
            MountType::Bind => {
                let prop = u.propagation.as_str();
                match prop {
                    "" | "private" | "rprivate" => {}
                    "shared" | "rshared" => {
                        if !matches!(rootfs_propagation.as_deref(), Some("shared" | "rshared")) {
                            rootfs_propagation = Some("shared".into());
                        }
                    }
                    "slave" | "rslave" => {
                        if !matches!(rootfs_propagation.as_deref(), Some("shared" | "rshared" | "slave" | "rslave")) {
                            rootfs_propagation = Some("rslave".into());
                        }
                    }
                    other => return Err(RuntimeError::invalid(format!("invalid propagation mode: {other}"))),
                }
                let mut opts = vec![if u.non_recursive { "bind" } else { "rbind" }.to_string()];
                if !u.writable {
                    let mut rro = true;
                    if u.read_only_non_recursive {
                        rro = false;
                        if u.read_only_force_recursive {
                            return Err(RuntimeError::invalid(
                                "mount options conflict: ReadOnlyNonRecursive && ReadOnlyForceRecursive",
                            ));
                        }
                    }
                    if !p.rro_supported {
                        rro = false;
                        if u.read_only_force_recursive {
                            return Err(RuntimeError::invalid(
                                "rro is not supported: mount_setattr is not available (kernel is older than 5.12?)",
                            ));
                        }
                    }
                    opts.push(if rro { "rro" } else { "ro" }.into());
                }
                if !prop.is_empty() {
                    opts.push(prop.into());
                }
                out.push(M {
                    destination: u.destination.clone(),
                    typ: "bind".into(),
                    source: u.source.clone(),
                    options: opts,
                });
            }
        }
    }

    if p.readonly_rootfs {
        for d in out.iter_mut() {
            if matches!(d.destination.as_str(), "/proc" | "/dev/pts" | "/dev/shm" | "/dev/mqueue" | "/dev") {
                continue;
            }
            if !user_dests.contains(&d.destination.as_str()) && !d.options.iter().any(|o| o == "ro") {
                d.options.push("ro".into());
            }
        }
    }
    if p.privileged {
        for d in out.iter_mut().filter(|d| d.destination == "/sys") {
            d.options.retain(|o| o != "ro");
        }
    }
    if p.userns || p.privileged {
        for d in out.iter_mut().filter(|d| d.typ == "cgroup") {
            d.options.retain(|o| o != "ro");
        }
    }
    Ok(MountResult { mounts: out, rootfs_propagation })
}

/// Mount flags and the group they collide in (moby/sys/mount's flag table; propagation flags
/// all share one group).
fn flag_group(opt: &str) -> Option<&'static str> {
    Some(match opt {
        "ro" | "rw" => "rdonly",
        "suid" | "nosuid" => "nosuid",
        "dev" | "nodev" => "nodev",
        "exec" | "noexec" => "noexec",
        "sync" | "async" => "sync",
        "dirsync" => "dirsync",
        "remount" => "remount",
        "mand" | "nomand" => "mand",
        "atime" | "noatime" => "noatime",
        "diratime" | "nodiratime" => "nodiratime",
        "bind" => "bind",
        "rbind" => "rbind",
        "unbindable" | "runbindable" | "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" => {
            "propagation"
        }
        "relatime" | "norelatime" => "relatime",
        "strictatime" | "nostrictatime" => "strictatime",
        _ => return None,
    })
}

/// moby/sys/mount `MergeTmpfsOptions`: later options win, one propagation mode, only known
/// data options (`size`, `mode`, `uid`, `gid`, `nr_inodes`, `nr_blocks`, `mpol`).
pub(crate) fn merge_tmpfs_options(options: &[String]) -> Result<Vec<String>, RuntimeError> {
    let mut seen_flags: Vec<&str> = Vec::new();
    let mut seen_data: Vec<&str> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for opt in options.iter().rev() {
        if opt == "defaults" {
            continue;
        }
        if let Some(group) = flag_group(opt) {
            if !seen_flags.contains(&group) {
                out.insert(0, opt.clone());
                seen_flags.push(group);
            }
            continue;
        }
        let parts: Vec<&str> = opt.splitn(2, '=').collect();
        let valid = ["size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"];
        if parts.len() != 2 || !valid.contains(&parts[0]) {
            let quoted: Vec<String> = parts.iter().map(|p| format!("{p:?}")).collect();
            return Err(RuntimeError::invalid(format!("invalid tmpfs option [{}]", quoted.join(" "))));
        }
        if !seen_data.contains(&parts[0]) {
            out.insert(0, opt.clone());
            seen_data.push(parts[0]);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(user: &[MountSpec]) -> MountParams<'_> {
        MountParams {
            user,
            ipc_none: false,
            shm_size: 67108864,
            readonly_rootfs: false,
            privileged: false,
            userns: false,
            rro_supported: true,
        }
    }

    fn find<'a>(ms: &'a [M], dest: &str) -> Option<&'a M> {
        ms.iter().find(|m| m.destination == dest)
    }

    #[test]
    fn clean_like_go() {
        assert_eq!(clean("/a//b/./c/.."), "/a/b");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean("/"), "/");
        assert_eq!(clean("a/../.."), "..");
        assert_eq!(depth("/"), 1);
        assert_eq!(depth("/a/b/"), 2);
    }

    #[test]
    fn defaults_with_shm_size() {
        let r = build(default_mounts(), &params(&[])).unwrap();
        let dests: Vec<&str> = r.mounts.iter().map(|m| m.destination.as_str()).collect();
        assert_eq!(dests, ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"]);
        assert_eq!(
            find(&r.mounts, "/dev/shm").unwrap().options,
            ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]
        );
        assert!(r.rootfs_propagation.is_none());
    }

    #[test]
    fn user_mounts_sorted_by_depth_and_replace_defaults() {
        let user = vec![
            MountSpec {
                destination: "/data/sub".into(),
                source: "/h/sub".into(),
                writable: true,
                ..Default::default()
            },
            MountSpec {
                destination: "/data".into(),
                source: "/h/data".into(),
                propagation: "rprivate".into(),
                ..Default::default()
            },
            MountSpec {
                typ: MountType::Tmpfs,
                destination: "/dev/shm".into(),
                data: "size=1m,exec".into(),
                ..Default::default()
            },
        ];
        let r = build(default_mounts(), &params(&user)).unwrap();
        let tail: Vec<(&str, &str, Vec<&str>)> = r.mounts[6..]
            .iter()
            .map(|m| (m.destination.as_str(), m.typ.as_str(), m.options.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(
            tail,
            [
                ("/data", "bind", vec!["rbind", "rro", "rprivate"]),
                ("/data/sub", "bind", vec!["rbind"]),
                ("/dev/shm", "tmpfs", vec!["nosuid", "nodev", "rprivate", "size=1m", "exec"]),
            ]
        );
        assert_eq!(r.mounts.iter().filter(|m| m.destination == "/dev/shm").count(), 1);
    }

    #[test]
    fn dev_mount_removes_everything_under_dev_and_ipc_none_drops_shm() {
        let user =
            vec![MountSpec { destination: "/dev".into(), source: "/dev".into(), writable: true, ..Default::default() }];
        let r = build(default_mounts(), &params(&user)).unwrap();
        assert!(r.mounts.iter().all(|m| !m.destination.starts_with("/dev/")));
        let mut p = params(&[]);
        p.ipc_none = true;
        assert!(find(&build(default_mounts(), &p).unwrap().mounts, "/dev/shm").is_none());
    }

    #[test]
    fn read_only_privileged_and_propagation() {
        let user = vec![MountSpec {
            destination: "/x".into(),
            source: "/x".into(),
            propagation: "rshared".into(),
            ..Default::default()
        }];
        let mut p = params(&user);
        p.readonly_rootfs = true;
        p.rro_supported = false;
        let r = build(default_mounts(), &p).unwrap();
        assert_eq!(find(&r.mounts, "/x").unwrap().options, ["rbind", "ro", "rshared"]);
        assert_eq!(find(&r.mounts, "/dev/mqueue").unwrap().options, ["nosuid", "noexec", "nodev"]);
        assert_eq!(r.rootfs_propagation.as_deref(), Some("shared"));
        p.privileged = true;
        let r = build(default_mounts(), &p).unwrap();
        assert_eq!(find(&r.mounts, "/sys").unwrap().options, ["nosuid", "noexec", "nodev"]);
        assert_eq!(find(&r.mounts, "/sys/fs/cgroup").unwrap().options, ["nosuid", "noexec", "nodev"]);
        let forced =
            vec![MountSpec { destination: "/y".into(), read_only_force_recursive: true, ..Default::default() }];
        let mut p = params(&forced);
        p.rro_supported = false;
        assert!(build(default_mounts(), &p).is_err());
    }

    #[test]
    fn tmpfs_option_merge() {
        let o = |v: &[&str]| merge_tmpfs_options(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            o(&["noexec", "nosuid", "nodev", "rprivate", "rw", "size=1g", "exec", "shared", "size=2g"]).unwrap(),
            ["nosuid", "nodev", "rw", "exec", "shared", "size=2g"]
        );
        assert_eq!(o(&["bogus"]).unwrap_err().to_string(), r#"invalid tmpfs option ["bogus"]"#);
        assert_eq!(o(&["color=red"]).unwrap_err().to_string(), r#"invalid tmpfs option ["color" "red"]"#);
    }
}
