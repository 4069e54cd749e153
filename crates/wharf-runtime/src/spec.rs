//! [`generate`]: moby's `createSpec` (`oci.DefaultLinuxSpec` plus the `With…` options of
//! `daemon/oci_linux.go`, in moby's order) over a [`RuntimeConfig`].

use std::collections::HashMap;
use std::path::PathBuf;

use oci_spec::runtime::{
    LinuxBuilder, LinuxCapabilitiesBuilder, LinuxIdMappingBuilder, LinuxNamespace, LinuxNamespaceBuilder,
    LinuxNamespaceType, LinuxResourcesBuilder, LinuxSeccomp, Mount, MountBuilder, PosixRlimit, PosixRlimitBuilder,
    PosixRlimitType, ProcessBuilder, RootBuilder, Spec, SpecBuilder, UserBuilder,
};

use crate::caps::{to_oci, tweak_capabilities};
use crate::config::{HostInfo, IdMap, NamespaceMode, RuntimeConfig};
use crate::devices;
use crate::error::RuntimeError;
use crate::mounts::{self, MountParams, M};
use crate::resources;
use crate::seccomp::{default_seccomp_profile_json, seccomp_from_profile};
use crate::security::parse_security_opt;

/// The OCI runtime-spec version Docker 26.1 writes (its vendored runtime-spec v1.2.0).
pub const OCI_VERSION: &str = "1.2.0";

/// Where Docker mounts the init binary for `--init`.
pub const INIT_PATH: &str = "/sbin/docker-init";

/// Docker's default masked paths (moby v26 `oci.DefaultLinuxSpec`).
pub fn default_masked_paths() -> &'static [&'static str] {
    &[
        "/proc/asound",
        "/proc/acpi",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/scsi",
        "/sys/firmware",
        "/sys/devices/virtual/powercap",
    ]
}

/// Docker's default read-only paths.
pub fn default_readonly_paths() -> &'static [&'static str] {
    &["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
}

/// The cgroup namespace mode Docker gives a container that did not ask for one: private on
/// cgroup v2, host on v1 (moby `adaptContainerSettings`, daemon `default-cgroupns-mode`).
pub fn default_cgroupns_mode(cgroup_v2: bool) -> NamespaceMode {
    if cgroup_v2 {
        NamespaceMode::Private
    } else {
        NamespaceMode::Host
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Sets (replacing in place) or appends a namespace, as moby's `setNamespace`.
fn set_ns(list: &mut Vec<LinuxNamespace>, typ: LinuxNamespaceType, path: Option<PathBuf>) -> Result<(), RuntimeError> {
    let mut b = LinuxNamespaceBuilder::default().typ(typ);
    if let Some(p) = path {
        b = b.path(p);
    }
    let ns = b.build()?;
    match list.iter_mut().find(|n| n.typ() == typ) {
        Some(slot) => *slot = ns,
        None => list.push(ns),
    }
    Ok(())
}

fn apply_mode(
    list: &mut Vec<LinuxNamespace>,
    typ: LinuxNamespaceType,
    mode: &NamespaceMode,
) -> Result<(), RuntimeError> {
    match mode {
        NamespaceMode::Private => set_ns(list, typ, None),
        NamespaceMode::Host => {
            list.retain(|n| n.typ() != typ);
            Ok(())
        }
        NamespaceMode::Path(p) => set_ns(list, typ, Some(p.clone())),
    }
}

fn rlimit_type(name: &str) -> Result<PosixRlimitType, RuntimeError> {
    let key = format!("RLIMIT_{}", name.to_uppercase());
    serde_json::from_value(serde_json::Value::String(key))
        .map_err(|_| RuntimeError::invalid(format!("invalid ulimit type: {name}")))
}

fn id_maps(v: &[IdMap]) -> Result<Vec<oci_spec::runtime::LinuxIdMapping>, RuntimeError> {
    v.iter()
        .map(|m| {
            Ok(LinuxIdMappingBuilder::default().container_id(m.container_id).host_id(m.host_id).size(m.size).build()?)
        })
        .collect()
}

fn to_oci_mount(m: M) -> Result<Mount, RuntimeError> {
    Ok(MountBuilder::default()
        .destination(PathBuf::from(m.destination))
        .typ(m.typ)
        .source(PathBuf::from(m.source))
        .options(m.options)
        .build()?)
}

/// Produces the container's OCI runtime spec exactly as Docker's daemon would (moby
/// `createSpec`): default mounts, masked and read-only paths, namespaces, capabilities,
/// seccomp, devices and device cgroup rules, cgroup resources, rlimits, sysctls, user.
///
/// Reads the host only where Docker does: `/dev` for `--privileged`, device nodes named by
/// `--device` and the blkio device options. Errors at this stage are what moby reports as
/// system errors when a container starts.
pub fn generate(cfg: &RuntimeConfig, host: &HostInfo) -> Result<Spec, RuntimeError> {
    let sec = parse_security_opt(&cfg.security_opt, cfg.daemon_no_new_privileges)?;
    let ns = &cfg.namespaces;
    let userns = ns.user != NamespaceMode::Host;
    let uts_host = ns.uts == NamespaceMode::Host;

    // --- withCommonOptions --------------------------------------------------------------
    let mut args = cfg.args.clone();
    let mut default_mounts = mounts::default_mounts();
    if let (Some(init), NamespaceMode::Private) = (&cfg.init, &ns.pid) {
        let mut a = vec![INIT_PATH.to_string(), "--".to_string()];
        a.append(&mut args);
        args = a;
        default_mounts.push(M {
            destination: INIT_PATH.into(),
            typ: "bind".into(),
            source: init.to_string_lossy().into_owned(),
            options: strings(&["bind", "ro"]),
        });
    }
    let cwd = if cfg.cwd.is_empty() { "/".to_string() } else { cfg.cwd.clone() };

    let mut sysctl: HashMap<String, String> = HashMap::new();
    if !cfg.domainname.is_empty() {
        if uts_host {
            // What runc answers for this spec; youki refuses it too.
            return Err(RuntimeError::invalid(r#"sysctl "kernel.domainname" not allowed in host UTS namespace"#));
        }
        sysctl.insert("kernel.domainname".into(), cfg.domainname.clone());
    }
    if ns.net == NamespaceMode::Private {
        if !userns && !host.in_userns && host.ping_group_range {
            sysctl.insert("net.ipv4.ping_group_range".into(), "0 2147483647".into());
        }
        if host.ip_unprivileged_port_start {
            sysctl.insert("net.ipv4.ip_unprivileged_port_start".into(), "0".into());
        }
    }
    // --- withSysctls: the container's own win ------------------------------------------------
    for (k, v) in &cfg.sysctls {
        sysctl.insert(k.clone(), v.clone());
    }

    // --- WithResources + WithDevices -------------------------------------------------------
    let mut devs = Vec::new();
    let dev_perms = if cfg.privileged {
        devs.extend(devices::host_devices(std::path::Path::new("/dev"), host.in_userns)?);
        for d in &cfg.devices {
            if d.path_on_host == d.path_in_container {
                continue; // already there through /dev
            }
            devs.extend(devices::devices_from_path(d, "rwm")?.0);
        }
        devices::allow_all()
    } else {
        let mut perms = devices::default_rules();
        for d in &cfg.devices {
            let (ds, ps) = devices::devices_from_path(d, &d.cgroup_permissions)?;
            devs.extend(ds);
            perms.extend(ps);
        }
        devices::append_cgroup_rules(perms, &cfg.device_cgroup_rules)?
    };
    let r = &cfg.resources;
    let mut rb = LinuxResourcesBuilder::default().devices(dev_perms);
    if let Some(m) = resources::memory(r)? {
        rb = rb.memory(m);
    }
    if let Some(c) = resources::cpu(r)? {
        rb = rb.cpu(c);
    }
    if let Some(p) = resources::pids(r)? {
        rb = rb.pids(p);
    }
    if let Some(b) = resources::block_io(r)? {
        rb = rb.block_io(b);
    }
    let linux_resources = rb.build()?;

    // --- withRlimits -------------------------------------------------------------------------
    let mut rlimits: Vec<PosixRlimit> = Vec::new();
    for u in &cfg.ulimits {
        rlimits.push(
            PosixRlimitBuilder::default().typ(rlimit_type(&u.name)?).soft(u.soft as u64).hard(u.hard as u64).build()?,
        );
    }

    // --- WithNamespaces ----------------------------------------------------------------------
    let mut namespaces = Vec::new();
    for t in [
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Network,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Ipc,
    ] {
        set_ns(&mut namespaces, t, None)?;
    }
    let mut uid_mappings = None;
    let mut gid_mappings = None;
    match &ns.user {
        NamespaceMode::Host => {}
        NamespaceMode::Private => {
            let maps = cfg
                .id_mappings
                .as_ref()
                .ok_or_else(|| RuntimeError::invalid("a private user namespace needs uid and gid mappings"))?;
            set_ns(&mut namespaces, LinuxNamespaceType::User, None)?;
            uid_mappings = Some(id_maps(&maps.uids)?);
            gid_mappings = Some(id_maps(&maps.gids)?);
        }
        NamespaceMode::Path(p) => set_ns(&mut namespaces, LinuxNamespaceType::User, Some(p.clone()))?,
    }
    apply_mode(&mut namespaces, LinuxNamespaceType::Network, &ns.net)?;
    apply_mode(&mut namespaces, LinuxNamespaceType::Ipc, &ns.ipc)?;
    apply_mode(&mut namespaces, LinuxNamespaceType::Pid, &ns.pid)?;
    if uts_host {
        namespaces.retain(|n| n.typ() != LinuxNamespaceType::Uts);
    } else if let NamespaceMode::Path(p) = &ns.uts {
        set_ns(&mut namespaces, LinuxNamespaceType::Uts, Some(p.clone()))?;
    }
    let cgroupns = ns.cgroup.clone().unwrap_or_else(|| default_cgroupns_mode(host.cgroup_v2));
    match cgroupns {
        NamespaceMode::Private => set_ns(&mut namespaces, LinuxNamespaceType::Cgroup, None)?,
        NamespaceMode::Path(p) => set_ns(&mut namespaces, LinuxNamespaceType::Cgroup, Some(p))?,
        NamespaceMode::Host => {}
    }

    // --- WithCapabilities --------------------------------------------------------------------
    let caps = tweak_capabilities(&cfg.cap_add, &cfg.cap_drop, cfg.privileged, host.cap_bounding)?;
    let oci_caps = to_oci(&caps);
    let mut capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(oci_caps.clone())
        .effective(oci_caps.clone())
        .permitted(oci_caps)
        .build()?;
    // Docker sets no inheritable (CVE-2022-24769) and no ambient capabilities; the builder's
    // defaults would add some.
    capabilities.set_inheritable(None);
    capabilities.set_ambient(None);

    // --- WithSeccomp -------------------------------------------------------------------------
    let seccomp = seccomp_for(cfg, host, &sec.seccomp_profile, &caps)?;

    // --- withMounts --------------------------------------------------------------------------
    let mounted = mounts::build(
        default_mounts,
        &MountParams {
            user: &cfg.mounts,
            ipc_none: cfg.ipc_none,
            shm_size: cfg.shm_size,
            readonly_rootfs: cfg.readonly_rootfs,
            privileged: cfg.privileged,
            userns,
            rro_supported: host.kernel().is_some_and(|k| k >= (5, 12)),
        },
    )?;
    let mut masked: Option<Vec<String>> = (!cfg.privileged).then(|| strings(default_masked_paths()));
    let mut readonly: Option<Vec<String>> = (!cfg.privileged).then(|| strings(default_readonly_paths()));
    // HostConfig.MaskedPaths / ReadonlyPaths, when set, are applied last (even when privileged).
    if let Some(p) = &cfg.masked_paths {
        masked = Some(p.clone());
    }
    if let Some(p) = &cfg.readonly_paths {
        readonly = Some(p.clone());
    }

    // --- process -----------------------------------------------------------------------------
    let user = UserBuilder::default()
        .uid(cfg.user.uid)
        .gid(cfg.user.gid)
        .additional_gids(cfg.user.additional_gids.clone())
        .build()?;
    let mut pb = ProcessBuilder::default()
        .terminal(cfg.tty)
        .user(user)
        .args(args)
        .env(cfg.env.clone())
        .cwd(PathBuf::from(cwd))
        .capabilities(capabilities)
        .oom_score_adj(cfg.oom_score_adj);
    if !rlimits.is_empty() {
        pb = pb.rlimits(rlimits);
    }
    if sec.no_new_privileges {
        pb = pb.no_new_privileges(true);
    }
    if let (true, Some((h, w))) = (cfg.tty, cfg.console_size) {
        if h > 0 && w > 0 {
            pb = pb.console_size(oci_spec::runtime::BoxBuilder::default().height(h).width(w).build()?);
        }
    }
    let mut process = pb.build()?;
    // The builder's defaults are runc-like; keep only what Docker sets.
    if cfg.ulimits.is_empty() {
        process.set_rlimits(None);
    }
    if !sec.no_new_privileges {
        process.set_no_new_privileges(None);
    }
    if !(cfg.tty && cfg.console_size.is_some_and(|(h, w)| h > 0 && w > 0)) {
        process.set_console_size(None);
    }
    process.set_apparmor_profile(None);
    process.set_selinux_label(None);
    process.set_scheduler(None);
    process.set_io_priority(None);

    // --- linux -------------------------------------------------------------------------------
    let mut lb = LinuxBuilder::default().resources(linux_resources).namespaces(namespaces).sysctl(sysctl);
    if !cfg.cgroups_path.is_empty() {
        lb = lb.cgroups_path(PathBuf::from(&cfg.cgroups_path));
    }
    if !devs.is_empty() {
        lb = lb.devices(devs);
    }
    if let Some(s) = seccomp {
        lb = lb.seccomp(s);
    }
    if let Some(p) = mounted.rootfs_propagation {
        lb = lb.rootfs_propagation(p);
    }
    if let Some(m) = uid_mappings {
        lb = lb.uid_mappings(m);
    }
    if let Some(m) = gid_mappings {
        lb = lb.gid_mappings(m);
    }
    let mut linux = lb.build()?;
    if linux.sysctl().as_ref().is_some_and(|s| s.is_empty()) {
        linux.set_sysctl(None);
    }
    // The builder starts from runc's lists: set Docker's (an empty list is left out, as Go's
    // omitempty does).
    linux.set_masked_paths(masked.filter(|m| !m.is_empty()));
    linux.set_readonly_paths(readonly.filter(|m| !m.is_empty()));

    let root = RootBuilder::default().path(cfg.rootfs.clone()).readonly(cfg.readonly_rootfs).build()?;
    let oci_mounts = mounted.mounts.into_iter().map(to_oci_mount).collect::<Result<Vec<_>, _>>()?;
    let mut sb =
        SpecBuilder::default().version(OCI_VERSION).root(root).mounts(oci_mounts).process(process).linux(linux);
    if !uts_host && !cfg.hostname.is_empty() {
        sb = sb.hostname(cfg.hostname.clone());
    }
    if !cfg.annotations.is_empty() {
        sb = sb.annotations(cfg.annotations.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<HashMap<_, _>>());
    }
    let mut spec = sb.build()?;
    // SpecBuilder starts from Spec::default(), which has youki's hostname and empty annotations.
    if uts_host || cfg.hostname.is_empty() {
        spec.set_hostname(None);
    }
    if cfg.annotations.is_empty() {
        spec.set_annotations(None);
    }
    spec.set_domainname(None);
    Ok(spec)
}

/// moby `WithSeccomp`.
fn seccomp_for(
    cfg: &RuntimeConfig,
    host: &HostInfo,
    profile: &str,
    caps: &[String],
) -> Result<Option<LinuxSeccomp>, RuntimeError> {
    if profile == "unconfined" || cfg.privileged {
        return Ok(None);
    }
    if !host.seccomp {
        if !profile.is_empty() && profile != "builtin" {
            return Err(RuntimeError::Seccomp(
                "seccomp is not enabled in your kernel, cannot run a custom seccomp profile".into(),
            ));
        }
        return Ok(None);
    }
    let load = |json: &str| seccomp_from_profile(json, caps, &host.go_arch, &host.kernel_version);
    match (profile, cfg.daemon_seccomp_profile.as_deref()) {
        ("builtin", _) => load(default_seccomp_profile_json()),
        (p, _) if !p.is_empty() => load(p),
        ("", Some("unconfined")) => Ok(None),
        ("", Some(daemon)) if daemon != "builtin" && !daemon.is_empty() => load(daemon),
        _ => load(default_seccomp_profile_json()),
    }
}
