//! Devices: Docker's default device cgroup rules, `--device` mappings (a node or a directory
//! of nodes on the host), `--device-cgroup-rule`, and every host device for `--privileged`
//! (moby `oci/devices_linux.go`, containerd `oci.HostDevices`).

use std::path::{Path, PathBuf};

use oci_spec::runtime::{
    LinuxDevice, LinuxDeviceBuilder, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType,
};
use rustix::fs::FileType;

use crate::config::DeviceMapping;
use crate::error::RuntimeError;

fn rule(
    allow: bool,
    typ: Option<LinuxDeviceType>,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut b = LinuxDeviceCgroupBuilder::default().allow(allow).access(access.to_string());
    if let Some(t) = typ {
        b = b.typ(t);
    }
    if let Some(m) = major {
        b = b.major(m);
    }
    if let Some(m) = minor {
        b = b.minor(m);
    }
    b.build().expect("device cgroup rule has no required fields")
}

/// moby `oci.DefaultLinuxSpec().Linux.Resources.Devices`: deny all, then allow the default
/// character devices (null, zero, full, urandom, random, tty, console-less ptmx) and deny
/// `/dev/net/tun`-era 10:229 (fuse).
pub(crate) fn default_rules() -> Vec<LinuxDeviceCgroup> {
    let c = Some(LinuxDeviceType::C);
    vec![
        rule(false, None, None, None, "rwm"),
        rule(true, c, Some(1), Some(5), "rwm"),
        rule(true, c, Some(1), Some(3), "rwm"),
        rule(true, c, Some(1), Some(9), "rwm"),
        rule(true, c, Some(1), Some(8), "rwm"),
        rule(true, c, Some(5), Some(0), "rwm"),
        rule(true, c, Some(5), Some(1), "rwm"),
        rule(false, c, Some(10), Some(229), "rwm"),
    ]
}

/// The rule `--privileged` uses: allow everything.
pub(crate) fn allow_all() -> Vec<LinuxDeviceCgroup> {
    vec![rule(true, None, None, None, "rwm")]
}

/// A device node on the host.
struct HostDevice {
    typ: LinuxDeviceType,
    major: i64,
    minor: i64,
    mode: u32,
    uid: u32,
    gid: u32,
}

/// runc `devices.DeviceFromPath`: `Ok(None)` when the path is not a device node.
fn device_from_path(path: &Path, fifo: bool) -> std::io::Result<Option<HostDevice>> {
    let st = rustix::fs::lstat(path)?;
    let typ = match FileType::from_raw_mode(st.st_mode as _) {
        FileType::BlockDevice => LinuxDeviceType::B,
        FileType::CharacterDevice => LinuxDeviceType::C,
        FileType::Fifo if fifo => LinuxDeviceType::P,
        _ => return Ok(None),
    };
    #[allow(clippy::unnecessary_cast)]
    let rdev = st.st_rdev as u64;
    Ok(Some(HostDevice {
        typ,
        major: rustix::fs::major(rdev as _) as i64,
        minor: rustix::fs::minor(rdev as _) as i64,
        #[allow(clippy::unnecessary_cast)]
        mode: (st.st_mode as u32) & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
    }))
}

fn linux_device(d: &HostDevice, path: &str) -> LinuxDevice {
    LinuxDeviceBuilder::default()
        .path(PathBuf::from(path))
        .typ(d.typ)
        .major(d.major)
        .minor(d.minor)
        .file_mode(d.mode)
        .uid(d.uid)
        .gid(d.gid)
        .build()
        .expect("device has its required fields")
}

fn device_rule(d: &HostDevice, perms: &str) -> LinuxDeviceCgroup {
    rule(true, Some(d.typ), Some(d.major), Some(d.minor), perms)
}

/// moby `oci.DevicesFromPath`: the device at `path_on_host` (symlinks followed), or every
/// device below it when it is a directory, placed at `path_in_container`.
pub(crate) fn devices_from_path(
    m: &DeviceMapping,
    perms: &str,
) -> Result<(Vec<LinuxDevice>, Vec<LinuxDeviceCgroup>), RuntimeError> {
    let host = Path::new(&m.path_on_host);
    let resolved = match std::fs::symlink_metadata(host) {
        Ok(md) if md.file_type().is_symlink() => std::fs::canonicalize(host).unwrap_or_else(|_| host.to_path_buf()),
        _ => host.to_path_buf(),
    };
    let err = match device_from_path(&resolved, true) {
        Ok(Some(d)) => return Ok((vec![linux_device(&d, &m.path_in_container)], vec![device_rule(&d, perms)])),
        Ok(None) => "not a device node".to_string(),
        Err(e) => format!("lstat {}: {}", resolved.display(), io_text(&e)),
    };
    let (mut devs, mut rules) = (Vec::new(), Vec::new());
    if std::fs::metadata(&resolved).is_ok_and(|md| md.is_dir()) {
        walk(&resolved, &mut |p| {
            if let Ok(Some(d)) = device_from_path(p, true) {
                let rel = p.to_string_lossy().replacen(&*resolved.to_string_lossy(), &m.path_in_container, 1);
                devs.push(linux_device(&d, &rel));
                rules.push(device_rule(&d, perms));
            }
        });
    }
    if devs.is_empty() {
        return Err(RuntimeError::Host(format!(
            "error gathering device information while adding custom device {:?}: {err}",
            m.path_on_host
        )));
    }
    Ok((devs, rules))
}

/// Go's error text for an errno ("no such file or directory").
fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = s.split(" (os error").next().unwrap_or(&s).to_string();
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => s,
    }
}

/// Walks a directory tree in lexical order (Go's `filepath.WalkDir`), not following symlinks.
fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    f(dir);
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            walk(&p, f);
        } else {
            f(&p);
        }
    }
}

/// containerd `oci.HostDevices`: every block and character device under `/dev`, except the
/// console and the `pts`, `shm`, `fd`, `mqueue`, `.lxc`, `.lxd-mounts` and `.udev` directories.
pub(crate) fn host_devices(dev: &Path, in_userns: bool) -> Result<Vec<LinuxDevice>, RuntimeError> {
    let mut out = Vec::new();
    collect_host_devices(dev, in_userns, &mut out)?;
    Ok(out)
}

fn collect_host_devices(dir: &Path, in_userns: bool, out: &mut Vec<LinuxDevice>) -> Result<(), RuntimeError> {
    let rd =
        std::fs::read_dir(dir).map_err(|e| RuntimeError::Host(format!("open {}: {}", dir.display(), io_text(&e))))?;
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        let path = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            if matches!(name.to_str(), Some("pts" | "shm" | "fd" | "mqueue" | ".lxc" | ".lxd-mounts" | ".udev")) {
                continue;
            }
            match collect_host_devices(&path, in_userns, out) {
                Err(_) if in_userns => continue,
                r => r?,
            }
            continue;
        }
        if name == "console" {
            continue;
        }
        match device_from_path(&path, false) {
            Ok(Some(d)) => out.push(linux_device(&d, &path.to_string_lossy())),
            Ok(None) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && in_userns => {}
            Err(e) => return Err(RuntimeError::Host(format!("lstat {}: {}", path.display(), io_text(&e)))),
        }
    }
    Ok(())
}

/// moby `oci.AppendDevicePermissionsFromCgroupRules`: `<a|b|c> <major|*>:<minor|*> <rwm>`, or
/// `a` (everything; any rules after it are ignored, as in moby). Stricter than moby's regex,
/// which also accepts any text that merely ends in `a` as "allow all".
pub(crate) fn append_cgroup_rules(
    mut perms: Vec<LinuxDeviceCgroup>,
    rules: &[String],
) -> Result<Vec<LinuxDeviceCgroup>, RuntimeError> {
    for r in rules {
        let invalid = || RuntimeError::invalid(format!("invalid device cgroup rule format: '{r}'"));
        let parts: Vec<&str> = r.split(' ').collect();
        if r == "a" || (parts.len() == 3 && parts[0] == "a") {
            if r != "a" && !(parts[1] == "*:*" && parts[2].len() == 3 && is_access(parts[2])) {
                if parts[1].split_once(':').is_some_and(|(a, b)| is_num_or_star(a) && is_num_or_star(b))
                    && is_access(parts[2])
                {
                    return Err(RuntimeError::invalid(format!(
                        "although this cgroup rule is technically correct, because 'a' maps to 'a *:* rwm' \
                            regardless of what comes next, this format is partially ineffective: '{r}'"
                    )));
                }
                return Err(invalid());
            }
            // moby writes -1 for the wildcards; the OCI spec's form is an absent number, which
            // youki needs (it writes the rule as text, where the kernel wants `*`).
            perms.push(rule(true, Some(LinuxDeviceType::A), None, None, "rwm"));
            return Ok(perms);
        }
        if parts.len() != 3 || !matches!(parts[0], "b" | "c") || !is_access(parts[2]) {
            return Err(invalid());
        }
        let (maj, min) = parts[1].split_once(':').ok_or_else(invalid)?;
        if !is_num_or_star(maj) || !is_num_or_star(min) {
            return Err(invalid());
        }
        let num = |s: &str, bits: u32, what: &str| -> Result<Option<i64>, RuntimeError> {
            if s == "*" {
                return Ok(None);
            }
            match s.parse::<i64>() {
                Ok(n) if n < (1 << (bits - 1)) => Ok(Some(n)),
                _ => Err(RuntimeError::invalid(format!("invalid {what} value in device cgroup rule format: '{r}'"))),
            }
        };
        let typ = if parts[0] == "b" { LinuxDeviceType::B } else { LinuxDeviceType::C };
        perms.push(rule(true, Some(typ), num(maj, 12, "major")?, num(min, 20, "minor")?, parts[2]));
    }
    Ok(perms)
}

fn is_access(s: &str) -> bool {
    (1..=3).contains(&s.len()) && s.chars().all(|c| matches!(c, 'r' | 'w' | 'm'))
}

fn is_num_or_star(s: &str) -> bool {
    s == "*" || (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rules_serialize_like_docker() {
        let v = serde_json::to_value(default_rules()).unwrap();
        assert_eq!(v[0], serde_json::json!({"allow": false, "access": "rwm"}));
        assert_eq!(v[1], serde_json::json!({"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"}));
        assert_eq!(v[7], serde_json::json!({"allow": false, "type": "c", "major": 10, "minor": 229, "access": "rwm"}));
    }

    #[test]
    fn device_mapping_of_a_node_and_errors() {
        let m = DeviceMapping {
            path_on_host: "/dev/null".into(),
            path_in_container: "/dev/xnull".into(),
            cgroup_permissions: "rw".into(),
        };
        let (devs, rules) = devices_from_path(&m, "rw").unwrap();
        let v = serde_json::to_value(&devs[0]).unwrap();
        assert_eq!(
            (v["path"].as_str(), v["type"].as_str(), v["major"].as_i64(), v["minor"].as_i64()),
            (Some("/dev/xnull"), Some("c"), Some(1), Some(3))
        );
        assert_eq!(v["fileMode"], 0o666);
        assert_eq!(rules[0].to_string(), "c 1:3 rw");
        let missing = DeviceMapping { path_on_host: "/dev/nope-wharf".into(), ..m.clone() };
        assert_eq!(
            devices_from_path(&missing, "rwm").unwrap_err().to_string(),
            "error gathering device information while adding custom device \"/dev/nope-wharf\": \
             lstat /dev/nope-wharf: no such file or directory"
        );
        let not_dev = DeviceMapping { path_on_host: "/etc/hostname".into(), ..m };
        assert!(devices_from_path(&not_dev, "rwm").unwrap_err().to_string().ends_with("not a device node"));
    }

    #[test]
    fn host_devices_include_null_but_not_pts() {
        let devs = host_devices(Path::new("/dev"), false).unwrap();
        assert!(devs.iter().any(|d| d.path() == Path::new("/dev/null")));
        assert!(devs.iter().all(|d| !d.path().starts_with("/dev/pts") && d.path() != Path::new("/dev/console")));
    }

    #[test]
    fn cgroup_rules() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let r = append_cgroup_rules(vec![], &s(&["c 1:3 mr", "b *:* rwm", "c 4095:1 r"]));
        assert_eq!(r.unwrap_err().to_string(), "invalid major value in device cgroup rule format: 'c 4095:1 r'");
        let r = append_cgroup_rules(vec![], &s(&["c 1:3 mr", "b *:* rwm"])).unwrap();
        assert_eq!(r.iter().map(|x| x.to_string()).collect::<Vec<_>>(), ["c 1:3 mr", "b *:* rwm"]);
        assert_eq!(append_cgroup_rules(vec![], &s(&["a"])).unwrap().len(), 1);
        assert!(append_cgroup_rules(vec![], &s(&["a 1:3 m"]))
            .unwrap_err()
            .to_string()
            .contains("partially ineffective"));
        for bad in ["x 1:3 r", "c 1:3", "c 1-3 r", "c 1:3 rwx", "xa"] {
            assert!(append_cgroup_rules(vec![], &s(&[bad])).is_err(), "{bad}");
        }
    }
}
