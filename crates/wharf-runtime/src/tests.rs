//! Tests of [`crate::generate`] and [`crate::write_bundle`] against Docker's behaviour.

use std::path::{Path, PathBuf};

use oci_spec::runtime::{Capability, LinuxNamespaceType, PosixRlimitType, Spec};

use crate::seccomp::allows;
use crate::*;

fn host() -> HostInfo {
    HostInfo {
        cgroup_v2: false,
        kernel_version: "6.1.0-18-amd64".into(),
        go_arch: "amd64".into(),
        seccomp: true,
        cap_bounding: (1 << 41) - 1,
        ping_group_range: true,
        ip_unprivileged_port_start: true,
        in_userns: false,
    }
}

fn cfg() -> RuntimeConfig {
    RuntimeConfig {
        args: vec!["sh".into(), "-c".into(), "true".into()],
        env: daemon_environment("c0ffee", false, &[], &[]),
        hostname: "c0ffee".into(),
        rootfs: PathBuf::from("/var/lib/wharf/overlay2/abc/merged"),
        cgroups_path: "/wharf/c0ffee".into(),
        user: ResolvedUser { uid: 0, gid: 0, additional_gids: vec![0] },
        ..Default::default()
    }
}

fn gen(c: &RuntimeConfig) -> Spec {
    generate(c, &host()).unwrap()
}

fn ns_types(s: &Spec) -> Vec<(LinuxNamespaceType, Option<PathBuf>)> {
    s.linux().as_ref().unwrap().namespaces().as_ref().unwrap().iter().map(|n| (n.typ(), n.path().clone())).collect()
}

fn mount<'a>(s: &'a Spec, dest: &str) -> Option<&'a oci_spec::runtime::Mount> {
    s.mounts().as_ref().unwrap().iter().find(|m| m.destination() == Path::new(dest))
}

fn opts(s: &Spec, dest: &str) -> Vec<String> {
    mount(s, dest).unwrap().options().clone().unwrap_or_default()
}

#[test]
fn default_spec_is_dockers() {
    let s = gen(&cfg());
    assert_eq!(s.version(), "1.2.0");
    let root = s.root().as_ref().unwrap();
    assert_eq!(root.path(), Path::new("/var/lib/wharf/overlay2/abc/merged"));
    assert_eq!(root.readonly(), Some(false));
    assert_eq!(s.hostname().as_deref(), Some("c0ffee"));

    let p = s.process().as_ref().unwrap();
    assert_eq!(p.args().as_ref().unwrap(), &["sh", "-c", "true"]);
    assert_eq!(p.cwd(), Path::new("/"));
    assert_eq!(p.terminal(), Some(false));
    assert_eq!(p.oom_score_adj(), Some(0));
    assert_eq!(p.rlimits(), &None);
    assert_eq!(p.no_new_privileges(), None);
    assert_eq!(p.user().additional_gids().as_deref(), Some(&[0][..]));
    assert_eq!(p.env().as_ref().unwrap()[0], format!("PATH={DEFAULT_PATH_ENV}"));

    // The capability set is Docker's 14, in bounding, effective and permitted only.
    let caps = p.capabilities().as_ref().unwrap();
    let want: std::collections::HashSet<Capability> =
        default_capabilities().iter().map(|c| serde_json::from_value(serde_json::json!(c)).unwrap()).collect();
    assert_eq!(want.len(), 14);
    assert_eq!(caps.bounding().as_ref(), Some(&want));
    assert_eq!(caps.effective().as_ref(), Some(&want));
    assert_eq!(caps.permitted().as_ref(), Some(&want));
    assert_eq!(caps.inheritable(), &None);
    assert_eq!(caps.ambient(), &None);

    let l = s.linux().as_ref().unwrap();
    use LinuxNamespaceType::*;
    assert_eq!(ns_types(&s), [(Mount, None), (Network, None), (Uts, None), (Pid, None), (Ipc, None)]);
    assert_eq!(l.masked_paths().as_ref().unwrap(), &default_masked_paths().to_vec());
    assert!(l.masked_paths().as_ref().unwrap().contains(&"/proc/kcore".to_string()));
    assert_eq!(
        l.readonly_paths().as_ref().unwrap(),
        &["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
    );
    assert_eq!(l.cgroups_path().as_deref(), Some(Path::new("/wharf/c0ffee")));
    let sysctl = l.sysctl().as_ref().unwrap();
    assert_eq!(sysctl.get("net.ipv4.ping_group_range").map(String::as_str), Some("0 2147483647"));
    assert_eq!(sysctl.get("net.ipv4.ip_unprivileged_port_start").map(String::as_str), Some("0"));
    let rules = l.resources().as_ref().unwrap().devices().as_ref().unwrap();
    assert_eq!(rules.len(), 8);
    assert_eq!(rules[0].to_string(), "a *:* rwm");
    assert!(!rules[0].allow());
    assert_eq!(l.devices(), &None);
    assert!(l.resources().as_ref().unwrap().memory().is_none());

    let sec = l.seccomp().as_ref().unwrap();
    for blocked in ["mount", "reboot", "kexec_load", "umount2", "swapon"] {
        assert!(!allows(sec, blocked), "{blocked}");
    }
    assert!(allows(sec, "read"));

    let dests: Vec<String> =
        s.mounts().as_ref().unwrap().iter().map(|m| m.destination().display().to_string()).collect();
    assert_eq!(dests, ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"]);
    assert_eq!(opts(&s, "/dev"), ["nosuid", "strictatime", "mode=755", "size=65536k"]);
    assert_eq!(opts(&s, "/dev/pts"), ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]);
    assert_eq!(opts(&s, "/sys"), ["nosuid", "noexec", "nodev", "ro"]);
    assert_eq!(opts(&s, "/sys/fs/cgroup"), ["ro", "nosuid", "noexec", "nodev"]);
    assert_eq!(opts(&s, "/dev/shm"), ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]);
    assert_eq!(mount(&s, "/dev/shm").unwrap().source().as_deref(), Some(Path::new("shm")));
}

#[test]
fn json_has_only_what_docker_writes() {
    let v = serde_json::to_value(gen(&cfg())).unwrap();
    assert_eq!(v["ociVersion"], "1.2.0");
    let caps = v["process"]["capabilities"].as_object().unwrap();
    let mut keys: Vec<&str> = caps.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["bounding", "effective", "permitted"]);
    assert!(v.get("annotations").is_none());
    assert!(v.get("domainname").is_none());
    assert!(v["process"].get("rlimits").is_none());
    assert!(v["process"].get("noNewPrivileges").is_none());
    assert!(v["process"].get("apparmorProfile").is_none());
    assert_eq!(
        v["linux"]["resources"]["devices"][1],
        serde_json::json!({"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"})
    );
    assert_eq!(v["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(v["linux"]["seccomp"]["defaultErrnoRet"], 1);
}

#[test]
fn cgroup_namespace_follows_the_cgroup_version() {
    let mut h = host();
    h.cgroup_v2 = true;
    let s = generate(&cfg(), &h).unwrap();
    assert_eq!(ns_types(&s).last().unwrap().0, LinuxNamespaceType::Cgroup);
    let mut c = cfg();
    c.namespaces.cgroup = Some(NamespaceMode::Private);
    assert_eq!(ns_types(&gen(&c)).last().unwrap().0, LinuxNamespaceType::Cgroup);
    c.namespaces.cgroup = Some(NamespaceMode::Host);
    assert!(generate(&c, &h)
        .unwrap()
        .linux()
        .as_ref()
        .unwrap()
        .namespaces()
        .as_ref()
        .unwrap()
        .iter()
        .all(|n| n.typ() != LinuxNamespaceType::Cgroup));
}

#[test]
fn cap_add_sys_admin_opens_seccomp() {
    let mut c = cfg();
    c.cap_add = vec!["SYS_ADMIN".into()];
    let s = gen(&c);
    let sec = s.linux().as_ref().unwrap().seccomp().as_ref().unwrap();
    assert!(allows(sec, "mount"));
    assert!(allows(sec, "unshare"));
    assert!(!allows(sec, "reboot"));
    assert!(s
        .process()
        .as_ref()
        .unwrap()
        .capabilities()
        .as_ref()
        .unwrap()
        .bounding()
        .as_ref()
        .unwrap()
        .contains(&Capability::SysAdmin));
    c.cap_add = vec!["CAP_BOGUS".into()];
    assert_eq!(generate(&c, &host()).unwrap_err().to_string(), r#"unknown capability: "CAP_BOGUS""#);
}

#[test]
fn privileged_gets_everything() {
    let mut c = cfg();
    c.privileged = true;
    let s = gen(&c);
    let caps = s.process().as_ref().unwrap().capabilities().as_ref().unwrap();
    assert_eq!(caps.bounding().as_ref().unwrap().len(), 41);
    assert_eq!(caps.effective().as_ref().unwrap().len(), 41);
    let l = s.linux().as_ref().unwrap();
    assert!(l.seccomp().is_none());
    assert!(l.masked_paths().is_none());
    assert!(l.readonly_paths().is_none());
    let rules = l.resources().as_ref().unwrap().devices().as_ref().unwrap();
    assert_eq!(rules.len(), 1);
    assert!(rules[0].allow());
    assert!(l.devices().as_ref().unwrap().iter().any(|d| d.path() == Path::new("/dev/null")));
    assert_eq!(opts(&s, "/sys"), ["nosuid", "noexec", "nodev"]);
    assert_eq!(opts(&s, "/sys/fs/cgroup"), ["nosuid", "noexec", "nodev"]);
    // Only what the daemon's bounding set holds (here without CAP_SYS_RESOURCE).
    let mut h = host();
    h.cap_bounding = 0x1fffeffffff;
    let s = generate(&c, &h).unwrap();
    let bounding = s.process().as_ref().unwrap().capabilities().as_ref().unwrap().bounding().clone().unwrap();
    assert_eq!(bounding.len(), 40);
    assert!(!bounding.contains(&Capability::SysResource));
    // Explicit HostConfig paths still apply.
    c.masked_paths = Some(vec!["/proc/kcore".into()]);
    assert_eq!(gen(&c).linux().as_ref().unwrap().masked_paths().as_deref(), Some(&["/proc/kcore".to_string()][..]));
}

#[test]
fn read_only_rootfs() {
    let mut c = cfg();
    c.readonly_rootfs = true;
    c.mounts = vec![MountSpec {
        destination: "/data".into(),
        source: "/srv/data".into(),
        writable: true,
        ..Default::default()
    }];
    let s = gen(&c);
    assert_eq!(s.root().as_ref().unwrap().readonly(), Some(true));
    assert_eq!(opts(&s, "/data"), ["rbind"]);
    assert_eq!(opts(&s, "/dev/shm"), ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]);
    assert_eq!(opts(&s, "/sys"), ["nosuid", "noexec", "nodev", "ro"]);
}

#[test]
fn resources_nano_cpus_memory_pids() {
    let mut c = cfg();
    c.resources = Resources {
        nano_cpus: 500_000_000,
        memory: 256 << 20,
        pids_limit: Some(100),
        cpu_shares: 512,
        ..Default::default()
    };
    adapt_resources(&mut c.resources);
    let s = gen(&c);
    let r = s.linux().as_ref().unwrap().resources().as_ref().unwrap();
    let cpu = r.cpu().as_ref().unwrap();
    assert_eq!((cpu.period(), cpu.quota(), cpu.shares()), (Some(100_000), Some(50_000), Some(512)));
    let mem = r.memory().as_ref().unwrap();
    assert_eq!((mem.limit(), mem.swap()), (Some(256 << 20), Some(512 << 20)));
    assert_eq!(r.pids().as_ref().unwrap().limit(), 100);
    assert!(r.block_io().is_none());
}

#[test]
fn namespaces_host_and_path() {
    use LinuxNamespaceType::*;
    let mut c = cfg();
    c.namespaces.pid = NamespaceMode::Host;
    c.namespaces.net = NamespaceMode::Path("/proc/42/ns/net".into());
    c.namespaces.ipc = NamespaceMode::Host;
    c.namespaces.uts = NamespaceMode::Host;
    let s = gen(&c);
    assert_eq!(ns_types(&s), [(Mount, None), (Network, Some(PathBuf::from("/proc/42/ns/net")))]);
    // Host UTS: no hostname (youki refuses one without a UTS namespace); joined netns: no
    // network sysctls.
    assert_eq!(s.hostname(), &None);
    assert!(s.linux().as_ref().unwrap().sysctl().is_none());

    let mut c = cfg();
    c.namespaces.net = NamespaceMode::Host;
    let s = gen(&c);
    assert_eq!(ns_types(&s), [(Mount, None), (Uts, None), (Pid, None), (Ipc, None)]);

    let mut c = cfg();
    c.namespaces.user = NamespaceMode::Private;
    assert!(generate(&c, &host()).is_err());
    c.id_mappings = Some(IdMappings {
        uids: vec![IdMap { container_id: 0, host_id: 100000, size: 65536 }],
        gids: vec![IdMap { container_id: 0, host_id: 100000, size: 65536 }],
    });
    let s = gen(&c);
    assert_eq!(ns_types(&s).last().unwrap().0, User);
    assert_eq!(s.linux().as_ref().unwrap().uid_mappings().as_ref().unwrap()[0].host_id(), 100000);
    assert!(!s.linux().as_ref().unwrap().sysctl().as_ref().unwrap().contains_key("net.ipv4.ping_group_range"));
    assert_eq!(opts(&s, "/sys/fs/cgroup"), ["nosuid", "noexec", "nodev"]);
}

#[test]
fn ulimits_become_rlimits() {
    let mut c = cfg();
    c.ulimits = vec![
        Ulimit { name: "nofile".into(), soft: 1024, hard: 2048 },
        Ulimit { name: "core".into(), soft: -1, hard: -1 },
    ];
    let s = gen(&c);
    let r = s.process().as_ref().unwrap().rlimits().as_ref().unwrap();
    assert_eq!((r[0].typ(), r[0].soft(), r[0].hard()), (PosixRlimitType::RlimitNofile, 1024, 2048));
    assert_eq!((r[1].typ(), r[1].soft()), (PosixRlimitType::RlimitCore, u64::MAX));
    c.ulimits = vec![Ulimit { name: "bogus".into(), soft: 1, hard: 1 }];
    assert_eq!(generate(&c, &host()).unwrap_err().to_string(), "invalid ulimit type: bogus");
}

#[test]
fn security_options() {
    let mut c = cfg();
    c.security_opt = vec!["seccomp=unconfined".into(), "no-new-privileges".into(), "apparmor=unconfined".into()];
    let s = gen(&c);
    assert!(s.linux().as_ref().unwrap().seccomp().is_none());
    assert_eq!(s.process().as_ref().unwrap().no_new_privileges(), Some(true));

    c.security_opt = vec![
        r#"seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#
            .into(),
    ];
    let s = gen(&c);
    let sec = s.linux().as_ref().unwrap().seccomp().as_ref().unwrap();
    assert!(!allows(sec, "mkdir"));
    assert!(allows(sec, "mount"));

    let mut c = cfg();
    c.daemon_seccomp_profile = Some("unconfined".into());
    assert!(gen(&c).linux().as_ref().unwrap().seccomp().is_none());
    c.security_opt = vec!["seccomp=builtin".into()];
    assert!(gen(&c).linux().as_ref().unwrap().seccomp().is_some());

    let mut h = host();
    h.seccomp = false;
    assert!(generate(&cfg(), &h).unwrap().linux().as_ref().unwrap().seccomp().is_none());
    let mut c = cfg();
    c.security_opt = vec![r#"seccomp={"defaultAction":"SCMP_ACT_ALLOW"}"#.into()];
    assert_eq!(
        generate(&c, &h).unwrap_err().to_string(),
        "seccomp is not enabled in your kernel, cannot run a custom seccomp profile"
    );
    c.security_opt = vec!["nonsense".into()];
    assert_eq!(generate(&c, &host()).unwrap_err().to_string(), r#"invalid --security-opt 1: "nonsense""#);
}

#[test]
fn init_domainname_tty_and_annotations() {
    let mut c = cfg();
    c.init = Some("/usr/libexec/docker-init".into());
    c.domainname = "example.org".into();
    c.tty = true;
    c.console_size = Some((24, 80));
    c.cwd = "/work".into();
    c.oom_score_adj = 500;
    c.annotations.insert("org.example/a".into(), "b".into());
    let s = gen(&c);
    let p = s.process().as_ref().unwrap();
    assert_eq!(p.args().as_ref().unwrap(), &["/sbin/docker-init", "--", "sh", "-c", "true"]);
    assert_eq!(p.terminal(), Some(true));
    assert_eq!(p.console_size().map(|b| (b.height(), b.width())), Some((24, 80)));
    assert_eq!(p.cwd(), Path::new("/work"));
    assert_eq!(p.oom_score_adj(), Some(500));
    let init = mount(&s, "/sbin/docker-init").unwrap();
    assert_eq!(init.source().as_deref(), Some(Path::new("/usr/libexec/docker-init")));
    assert_eq!(init.options().as_deref(), Some(&["bind".to_string(), "ro".to_string()][..]));
    assert_eq!(s.linux().as_ref().unwrap().sysctl().as_ref().unwrap()["kernel.domainname"], "example.org");
    assert_eq!(s.annotations().as_ref().unwrap()["org.example/a"], "b");
    // No init outside a private PID namespace.
    c.namespaces.pid = NamespaceMode::Host;
    assert_eq!(gen(&c).process().as_ref().unwrap().args().as_ref().unwrap()[0], "sh");
    c.namespaces.uts = NamespaceMode::Host;
    assert!(generate(&c, &host()).is_err());
}

#[test]
fn devices_and_cgroup_rules() {
    let mut c = cfg();
    c.devices = vec![DeviceMapping {
        path_on_host: "/dev/zero".into(),
        path_in_container: "/dev/myzero".into(),
        cgroup_permissions: "r".into(),
    }];
    c.device_cgroup_rules = vec!["c 42:* rmw".into()];
    let s = gen(&c);
    let l = s.linux().as_ref().unwrap();
    assert_eq!(l.devices().as_ref().unwrap()[0].path(), Path::new("/dev/myzero"));
    let rules: Vec<String> =
        l.resources().as_ref().unwrap().devices().as_ref().unwrap().iter().map(|r| r.to_string()).collect();
    assert_eq!(&rules[8..], ["c 1:5 r", "c 42:* rmw"]);
}

#[test]
fn write_bundle_round_trips() {
    let d = tempfile::tempdir().unwrap();
    let bundle = d.path().join("bundles/c0ffee");
    let mut c = cfg();
    c.ulimits = vec![Ulimit { name: "nofile".into(), soft: 1, hard: 2 }];
    let spec = gen(&c);
    write_bundle(&bundle, &spec).unwrap();
    let back = read_bundle(&bundle).unwrap();
    assert_eq!(back, spec);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(bundle.join("config.json")).unwrap().permissions().mode() & 0o777, 0o600);
    // Rewriting replaces it and leaves no temporary file.
    write_bundle(&bundle, &gen(&cfg())).unwrap();
    let names: Vec<_> = std::fs::read_dir(&bundle).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["config.json"]);
    assert_eq!(read_bundle(&bundle).unwrap(), gen(&cfg()));
}
