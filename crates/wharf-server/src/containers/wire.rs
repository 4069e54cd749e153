//! The container domain values in Docker's JSON, as dockerd 26 writes them: `GET
//! /containers/json` (Go's `container.Summary`), `GET /containers/{id}/json` (Go's
//! `ContainerJSON`), and the small answers (create, wait, prune).
//!
//! bollard-stubs leaves out `None` fields, and the docker CLI dereferences `Config`,
//! `HostConfig`, `State` and `NetworkSettings` without checking, so these shapes are written
//! here: every field dockerd always sends is present, with Go's zero value when wharf has
//! nothing (`""`, `0`, `false`, `null`), and Go's `omitempty` fields are left out when empty.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};
use wharf_container::{Container, HostConfig, State, Status};
use wharf_types::format_rfc3339_nanos;

use super::Inspected;

/// Go's zero `time.Time` in RFC 3339, what dockerd shows for a time that never happened.
pub(crate) const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// A time of the state (Unix nanoseconds, 0: never) as dockerd shows it.
fn state_time(ns: i64) -> String {
    if ns == 0 {
        ZERO_TIME.to_string()
    } else {
        format_rfc3339_nanos(ns)
    }
}

/// go-units' `HumanDuration`: a rough, human reading of a duration in nanoseconds.
pub(crate) fn human_duration(ns: i64) -> String {
    let seconds = ns / NANOS_PER_SEC;
    if seconds < 1 {
        return "Less than a second".into();
    }
    if seconds == 1 {
        return "1 second".into();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = seconds / 60;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let exact_hours = ns as f64 / (3600.0 * NANOS_PER_SEC as f64);
    let hours = (exact_hours + 0.5) as i64;
    if hours == 1 {
        "About an hour".into()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if hours < 24 * 7 * 2 {
        format!("{} days", hours / 24)
    } else if hours < 24 * 30 * 2 {
        format!("{} weeks", hours / 24 / 7)
    } else if hours < 24 * 365 * 2 {
        format!("{} months", hours / 24 / 30)
    } else {
        format!("{} years", exact_hours as i64 / 24 / 365)
    }
}

/// dockerd's `State.String()`, the `Status` column of `docker ps`, at `now` (Unix
/// nanoseconds): `Up 5 seconds`, `Up 2 minutes (Paused)`, `Restarting (1) 2 seconds ago`,
/// `Exited (0) 3 minutes ago`, `Created`, `Removal In Progress`, `Dead`.
pub(crate) fn human_status(state: &State, now: i64) -> String {
    let up = || human_duration(now - state.started_at);
    match state.status {
        Status::Running => match state.health.as_ref() {
            Some(h) if h.status == "starting" => format!("Up {} (health: starting)", up()),
            Some(h) => format!("Up {} ({})", up(), h.status),
            None => format!("Up {}", up()),
        },
        Status::Paused => format!("Up {} (Paused)", up()),
        Status::Restarting => {
            format!("Restarting ({}) {} ago", state.exit_code, human_duration(now - state.finished_at))
        }
        Status::Removing => "Removal In Progress".into(),
        Status::Dead => "Dead".into(),
        Status::Created | Status::Exited => {
            if state.started_at == 0 {
                "Created".into()
            } else if state.finished_at == 0 {
                String::new()
            } else {
                format!("Exited ({}) {} ago", state.exit_code, human_duration(now - state.finished_at))
            }
        }
    }
}

/// dockerd's command line of a container as `docker ps` shows it: the path, then the
/// arguments, each one with a space quoted in `'…'`.
pub(crate) fn command_line(path: &str, args: &[String]) -> String {
    let mut out = path.to_string();
    for a in args {
        out.push(' ');
        if a.contains(' ') {
            out.push('\'');
            out.push_str(a);
            out.push('\'');
        } else {
            out.push_str(a);
        }
    }
    out
}

/// A size in the API's signed 64-bit integer, if asked.
fn sizes(s: Option<(i64, i64)>) -> (Option<i64>, Option<i64>) {
    match s {
        Some((rw, root)) => (Some(rw), Some(root)),
        None => (None, None),
    }
}

/// One element of `GET /containers/json` (Go's `container.Summary`, fields in its order).
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Summary {
    #[serde(rename = "Id")]
    id: String,
    names: Vec<String>,
    image: String,
    #[serde(rename = "ImageID")]
    image_id: String,
    command: String,
    created: i64,
    ports: Vec<Value>,
    #[serde(skip_serializing_if = "omit_size")]
    size_rw: Option<i64>,
    #[serde(skip_serializing_if = "omit_size")]
    size_root_fs: Option<i64>,
    labels: BTreeMap<String, String>,
    state: &'static str,
    status: String,
    host_config: SummaryHostConfig,
    network_settings: SummaryNetworkSettings,
    mounts: Vec<Value>,
}

/// `Mounts` of a summary or an inspect: binds, volumes and `--mount` tmpfs, as dockerd shows them.
fn mounts_json(mounts: &[wharf_container::mounts::MountPoint]) -> Vec<Value> {
    match wharf_container::mounts::inspect_mounts_json(mounts) {
        Value::Array(a) => a,
        _ => Vec::new(),
    }
}

/// `SizeRw`/`SizeRootFs` are `omitempty` in Go: absent unless asked for and not zero.
fn omit_size(v: &Option<i64>) -> bool {
    v.is_none_or(|n| n == 0)
}

/// `HostConfig` of a summary.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct SummaryHostConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    network_mode: String,
}

/// `NetworkSettings` of a summary.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct SummaryNetworkSettings {
    networks: BTreeMap<String, Value>,
}

/// A listed container at `now` (Unix nanoseconds).
pub(crate) fn summary(i: Inspected, now: i64) -> Summary {
    let ports = summary_ports(&i.networks);
    let networks = endpoint_map(&i.networks);
    let c = i.container;
    let (size_rw, size_root_fs) = sizes(i.sizes);
    Summary {
        names: vec![format!("/{}", c.name)],
        image: c.config.image.clone(),
        image_id: c.image_id.clone(),
        command: command_line(&c.path, &c.args),
        created: c.created.div_euclid(NANOS_PER_SEC),
        ports,
        size_rw,
        size_root_fs,
        labels: c.config.labels.clone().unwrap_or_default(),
        state: c.state.status.as_str(),
        status: human_status(&c.state, now),
        host_config: SummaryHostConfig { network_mode: c.host_config.network_mode.clone() },
        network_settings: SummaryNetworkSettings { networks },
        mounts: mounts_json(&c.mounts),
        id: c.id,
    }
}

/// `GET /containers/{id}/json` (Go's `ContainerJSON`, fields in its order).
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Inspect {
    #[serde(rename = "Id")]
    id: String,
    created: String,
    path: String,
    args: Vec<String>,
    state: StateJson,
    image: String,
    resolv_conf_path: String,
    hostname_path: String,
    hosts_path: String,
    log_path: String,
    name: String,
    restart_count: i64,
    driver: String,
    platform: &'static str,
    mount_label: &'static str,
    process_label: &'static str,
    app_armor_profile: &'static str,
    #[serde(rename = "ExecIDs")]
    exec_ids: Option<Vec<String>>,
    host_config: Value,
    graph_driver: GraphDriverData,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_rw: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_root_fs: Option<i64>,
    mounts: Vec<Value>,
    config: Value,
    network_settings: NetworkSettings,
}

/// Go's `ContainerState`. `Running` is true while paused or restarting too, as dockerd.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct StateJson {
    status: &'static str,
    running: bool,
    paused: bool,
    restarting: bool,
    #[serde(rename = "OOMKilled")]
    oom_killed: bool,
    dead: bool,
    pid: i64,
    exit_code: i64,
    error: String,
    started_at: String,
    finished_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    health: Option<HealthJson>,
}

/// Go's `Health`.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct HealthJson {
    status: String,
    failing_streak: i64,
    log: Vec<HealthResultJson>,
}

/// Go's `HealthcheckResult`.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct HealthResultJson {
    start: String,
    end: String,
    exit_code: i64,
    output: String,
}

/// `GraphDriver`.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct GraphDriverData {
    name: String,
    data: BTreeMap<String, String>,
}

/// Go's `NetworkSettings` (base, default-network and `Networks` parts), fields in its order.
/// wharf has no networking yet: everything is empty, but present.
#[derive(Debug, Serialize, PartialEq, Default)]
#[serde(rename_all = "PascalCase")]
struct NetworkSettings {
    bridge: String,
    #[serde(rename = "SandboxID")]
    sandbox_id: String,
    sandbox_key: String,
    ports: BTreeMap<String, Value>,
    hairpin_mode: bool,
    #[serde(rename = "LinkLocalIPv6Address")]
    link_local_ipv6_address: String,
    #[serde(rename = "LinkLocalIPv6PrefixLen")]
    link_local_ipv6_prefix_len: i64,
    #[serde(rename = "SecondaryIPAddresses")]
    secondary_ip_addresses: Option<Vec<Value>>,
    #[serde(rename = "SecondaryIPv6Addresses")]
    secondary_ipv6_addresses: Option<Vec<Value>>,
    #[serde(rename = "EndpointID")]
    endpoint_id: String,
    gateway: String,
    #[serde(rename = "GlobalIPv6Address")]
    global_ipv6_address: String,
    #[serde(rename = "GlobalIPv6PrefixLen")]
    global_ipv6_prefix_len: i64,
    #[serde(rename = "IPAddress")]
    ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    ip_prefix_len: i64,
    #[serde(rename = "IPv6Gateway")]
    ipv6_gateway: String,
    mac_address: String,
    networks: BTreeMap<String, Value>,
}

fn state_json(s: &State) -> StateJson {
    StateJson {
        status: s.status.as_str(),
        running: matches!(s.status, Status::Running | Status::Paused | Status::Restarting),
        paused: s.status == Status::Paused,
        restarting: s.status == Status::Restarting,
        oom_killed: s.oom_killed,
        dead: s.status == Status::Dead,
        pid: s.pid,
        exit_code: s.exit_code,
        error: s.error.clone(),
        started_at: state_time(s.started_at),
        finished_at: state_time(s.finished_at),
        health: s.health.as_ref().map(|h| HealthJson {
            status: h.status.clone(),
            failing_streak: h.failing_streak,
            log: h
                .log
                .iter()
                .map(|r| HealthResultJson {
                    start: state_time(r.start),
                    end: state_time(r.end),
                    exit_code: r.exit_code,
                    output: r.output.clone(),
                })
                .collect(),
        }),
    }
}

/// An inspected container on the wire.
pub(crate) fn inspect(i: Inspected) -> Inspect {
    let ports = port_map(&i.networks);
    let networks = endpoint_map(&i.networks);
    let Container {
        id, name, created, image_id, config, host_config, state, path, args, driver, log_path, mounts, ..
    } = i.container;
    let (size_rw, size_root_fs) = sizes(i.sizes);
    Inspect {
        id,
        created: format_rfc3339_nanos(created),
        path,
        args,
        state: state_json(&state),
        image: image_id,
        resolv_conf_path: String::new(),
        hostname_path: String::new(),
        hosts_path: String::new(),
        log_path,
        name: format!("/{name}"),
        restart_count: state.restart_count,
        driver,
        platform: "linux",
        mount_label: "",
        process_label: "",
        app_armor_profile: "",
        exec_ids: None,
        host_config: host_config_json(&host_config),
        graph_driver: GraphDriverData { name: i.graph_driver.name, data: i.graph_driver.data },
        size_rw,
        size_root_fs,
        mounts: mounts_json(&mounts),
        config: serde_json::to_value(&config).unwrap_or(Value::Null),
        network_settings: network_settings(networks, ports),
    }
}

/// The endpoints of a container by network name.
fn endpoint_map(v: &Option<Value>) -> BTreeMap<String, Value> {
    v.as_ref()
        .and_then(|v| v.get("Networks"))
        .and_then(Value::as_object)
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// `NetworkSettings.Ports`.
fn port_map(v: &Option<Value>) -> BTreeMap<String, Value> {
    v.as_ref()
        .and_then(|v| v.get("Ports"))
        .and_then(Value::as_object)
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// The `Ports` of a listed container: one entry per published binding, one without public
/// port per exposed but unpublished port.
fn summary_ports(v: &Option<Value>) -> Vec<Value> {
    let mut out = Vec::new();
    for (key, bindings) in port_map(v) {
        let (port, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        let private: i64 = port.parse().unwrap_or(0);
        match bindings.as_array() {
            Some(list) if !list.is_empty() => {
                for b in list {
                    let public: i64 =
                        b.get("HostPort").and_then(Value::as_str).and_then(|p| p.parse().ok()).unwrap_or(0);
                    let ip = b.get("HostIp").and_then(Value::as_str).unwrap_or("0.0.0.0");
                    out.push(
                        serde_json::json!({"IP": ip, "PrivatePort": private, "PublicPort": public, "Type": proto}),
                    );
                }
            }
            _ => out.push(serde_json::json!({"PrivatePort": private, "Type": proto})),
        }
    }
    out
}

/// `NetworkSettings`: the endpoints, and the default bridge's in the legacy top-level fields,
/// as dockerd fills them.
fn network_settings(networks: BTreeMap<String, Value>, ports: BTreeMap<String, Value>) -> NetworkSettings {
    let mut s = NetworkSettings { ports, ..Default::default() };
    if let Some(b) = networks.get("bridge") {
        let text = |k: &str| b.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        s.endpoint_id = text("EndpointID");
        s.gateway = text("Gateway");
        s.ip_address = text("IPAddress");
        s.ip_prefix_len = b.get("IPPrefixLen").and_then(Value::as_i64).unwrap_or(0);
        s.mac_address = text("MacAddress");
    }
    s.networks = networks;
    s
}

/// Every field of Go's `HostConfig` (with `Resources` inline) that is not `omitempty`, with its
/// zero value, in Go's order. Used to complete what the record holds, and to know the field
/// names a client may spell in another case.
pub(crate) fn host_config_fields() -> Vec<(&'static str, Value)> {
    use serde_json::json;
    let (null, empty, zero, no) = (Value::Null, json!(""), json!(0), json!(false));
    vec![
        ("Binds", null.clone()),
        ("ContainerIDFile", empty.clone()),
        ("LogConfig", json!({"Type": "", "Config": null})),
        ("NetworkMode", empty.clone()),
        ("PortBindings", null.clone()),
        ("RestartPolicy", json!({"Name": "", "MaximumRetryCount": 0})),
        ("AutoRemove", no.clone()),
        ("VolumeDriver", empty.clone()),
        ("VolumesFrom", null.clone()),
        ("ConsoleSize", json!([0, 0])),
        ("CapAdd", null.clone()),
        ("CapDrop", null.clone()),
        ("CgroupnsMode", empty.clone()),
        ("Dns", null.clone()),
        ("DnsOptions", null.clone()),
        ("DnsSearch", null.clone()),
        ("ExtraHosts", null.clone()),
        ("GroupAdd", null.clone()),
        ("IpcMode", empty.clone()),
        ("Cgroup", empty.clone()),
        ("Links", null.clone()),
        ("OomScoreAdj", zero.clone()),
        ("PidMode", empty.clone()),
        ("Privileged", no.clone()),
        ("PublishAllPorts", no.clone()),
        ("ReadonlyRootfs", no.clone()),
        ("SecurityOpt", null.clone()),
        ("UTSMode", empty.clone()),
        ("UsernsMode", empty.clone()),
        ("ShmSize", zero.clone()),
        ("Isolation", empty.clone()),
        ("CpuShares", zero.clone()),
        ("Memory", zero.clone()),
        ("NanoCpus", zero.clone()),
        ("CgroupParent", empty.clone()),
        ("BlkioWeight", zero.clone()),
        ("BlkioWeightDevice", null.clone()),
        ("BlkioDeviceReadBps", null.clone()),
        ("BlkioDeviceWriteBps", null.clone()),
        ("BlkioDeviceReadIOps", null.clone()),
        ("BlkioDeviceWriteIOps", null.clone()),
        ("CpuPeriod", zero.clone()),
        ("CpuQuota", zero.clone()),
        ("CpuRealtimePeriod", zero.clone()),
        ("CpuRealtimeRuntime", zero.clone()),
        ("CpusetCpus", empty.clone()),
        ("CpusetMems", empty),
        ("Devices", null.clone()),
        ("DeviceCgroupRules", null.clone()),
        ("DeviceRequests", null.clone()),
        ("MemoryReservation", zero.clone()),
        ("MemorySwap", zero.clone()),
        ("MemorySwappiness", null.clone()),
        ("OomKillDisable", null.clone()),
        ("PidsLimit", null.clone()),
        ("Ulimits", null.clone()),
        ("CpuCount", zero.clone()),
        ("CpuPercent", zero.clone()),
        ("IOMaximumIOps", zero.clone()),
        ("IOMaximumBandwidth", zero),
        ("MaskedPaths", null.clone()),
        ("ReadonlyPaths", null),
    ]
}

/// `HostConfig` fields Go leaves out when empty (`omitempty`).
pub(crate) const HOST_CONFIG_OMITEMPTY: &[&str] =
    &["Annotations", "StorageOpt", "Tmpfs", "Sysctls", "Runtime", "KernelMemory", "KernelMemoryTCP", "Mounts", "Init"];

/// Go's notion of an empty value for `omitempty`.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// The record's host config as dockerd shows it: every field Docker always sends (Go's zero
/// value where the record has none), what the client sent beyond wharf's typed fields, and
/// the `omitempty` fields only when set.
pub(crate) fn host_config_json(hc: &HostConfig) -> Value {
    let mut obj = match serde_json::to_value(hc) {
        Ok(Value::Object(o)) => o,
        _ => Map::new(),
    };
    for (key, zero) in host_config_fields() {
        obj.entry(key).or_insert(zero);
    }
    for key in HOST_CONFIG_OMITEMPTY {
        if obj.get(*key).is_some_and(is_empty) {
            obj.remove(*key);
        }
    }
    Value::Object(obj)
}

/// `POST /containers/create`'s answer (`Warnings` is `[]`, never `null`).
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CreateResponse {
    #[serde(rename = "Id")]
    pub(crate) id: String,
    pub(crate) warnings: Vec<String>,
}

/// `POST /containers/{id}/wait`'s answer (Go's `WaitResponse`: `Error` is `omitempty`).
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WaitResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<WaitError>,
    pub(crate) status_code: i64,
}

/// `WaitExitError`.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct WaitError {
    pub(crate) message: String,
}

/// `POST /containers/prune`'s answer (`ContainersDeleted` is `null` when none went).
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PruneResponse {
    pub(crate) containers_deleted: Option<Vec<String>>,
    pub(crate) space_reclaimed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const S: i64 = NANOS_PER_SEC;

    #[test]
    fn human_durations_as_go_units() {
        let cases = [
            (0, "Less than a second"),
            (S - 1, "Less than a second"),
            (-5 * S, "Less than a second"),
            (S, "1 second"),
            (5 * S, "5 seconds"),
            (59 * S, "59 seconds"),
            (60 * S, "About a minute"),
            (119 * S, "About a minute"),
            (120 * S, "2 minutes"),
            (59 * 60 * S, "59 minutes"),
            (60 * 60 * S, "About an hour"),
            (89 * 60 * S, "About an hour"),
            (90 * 60 * S, "2 hours"),
            (47 * 3600 * S, "47 hours"),
            (48 * 3600 * S, "2 days"),
            (13 * 24 * 3600 * S, "13 days"),
            (14 * 24 * 3600 * S, "2 weeks"),
            (59 * 24 * 3600 * S, "8 weeks"),
            (60 * 24 * 3600 * S, "2 months"),
            (729 * 24 * 3600 * S, "24 months"),
            (730 * 24 * 3600 * S, "2 years"),
        ];
        for (ns, want) in cases {
            assert_eq!(human_duration(ns), want, "{ns}");
        }
    }

    #[test]
    fn status_strings_as_dockerd() {
        let now = 1_700_000_000 * S;
        let st = |status, started_ago: Option<i64>, finished_ago: Option<i64>, code| State {
            status,
            started_at: started_ago.map(|a| now - a).unwrap_or(0),
            finished_at: finished_ago.map(|a| now - a).unwrap_or(0),
            exit_code: code,
            ..Default::default()
        };
        let cases = [
            (st(Status::Created, None, None, 0), "Created"),
            (st(Status::Running, Some(S / 2), None, 0), "Up Less than a second"),
            (st(Status::Running, Some(5 * S), None, 0), "Up 5 seconds"),
            (st(Status::Paused, Some(150 * S), None, 0), "Up 2 minutes (Paused)"),
            (st(Status::Restarting, Some(10 * S), Some(2 * S), 1), "Restarting (1) 2 seconds ago"),
            (st(Status::Exited, Some(3 * 3600 * S), Some(2 * 3600 * S), 137), "Exited (137) 2 hours ago"),
            (st(Status::Exited, Some(400 * S), Some(180 * S), 0), "Exited (0) 3 minutes ago"),
            // Never started: dockerd says Created whatever the status.
            (st(Status::Exited, None, Some(S), 127), "Created"),
            (st(Status::Exited, Some(S), None, 0), ""),
            (st(Status::Removing, Some(S), Some(S), 0), "Removal In Progress"),
            (st(Status::Dead, Some(S), Some(S), 0), "Dead"),
        ];
        for (state, want) in cases {
            assert_eq!(human_status(&state, now), want, "{state:?}");
        }
    }

    #[test]
    fn command_lines_quote_spaces() {
        assert_eq!(command_line("sh", &[]), "sh");
        assert_eq!(command_line("sh", &["-c".into(), "echo hi".into()]), "sh -c 'echo hi'");
        assert_eq!(command_line("echo", &["a".into(), "b".into()]), "echo a b");
    }

    #[test]
    fn host_config_is_completed_and_omitempty_dropped() {
        let mut hc = HostConfig { network_mode: "bridge".into(), ..Default::default() };
        hc.extra.insert("PortBindings".into(), json!({"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}));
        hc.extra.insert("Tmpfs".into(), json!({}));
        hc.extra.insert("Runtime".into(), json!("runc"));
        let v = host_config_json(&hc);
        let o = v.as_object().unwrap();
        for (key, _) in host_config_fields() {
            assert!(o.contains_key(key), "{key}");
        }
        assert_eq!(v["NetworkMode"], "bridge");
        assert_eq!(v["PortBindings"]["80/tcp"][0]["HostPort"], "8080");
        assert_eq!(v["ConsoleSize"], json!([0, 0]));
        assert_eq!(v["LogConfig"], json!({"Type": "", "Config": {}}));
        assert_eq!(v["Runtime"], "runc");
        assert_eq!((&v["Binds"], &v["PidsLimit"], &v["Dns"]), (&Value::Null, &Value::Null, &Value::Null));
        for gone in ["Tmpfs", "Init", "Sysctls", "Mounts", "Annotations"] {
            assert!(!o.contains_key(gone), "{gone}");
        }
        let hc = HostConfig { init: Some(true), sysctls: Some([("a".to_string(), "1".to_string())].into()), ..hc };
        let v = host_config_json(&hc);
        assert_eq!((&v["Init"], &v["Sysctls"]), (&json!(true), &json!({"a": "1"})));
    }

    #[test]
    fn small_answers() {
        let v = serde_json::to_value(CreateResponse { id: "abc".into(), warnings: vec![] }).unwrap();
        assert_eq!(v, json!({"Id": "abc", "Warnings": []}));
        let v = serde_json::to_value(WaitResponse { error: None, status_code: 3 }).unwrap();
        assert_eq!(v, json!({"StatusCode": 3}));
        let v = serde_json::to_value(WaitResponse { error: Some(WaitError { message: "x".into() }), status_code: 0 })
            .unwrap();
        assert_eq!(v, json!({"Error": {"Message": "x"}, "StatusCode": 0}));
        let v = serde_json::to_value(PruneResponse { containers_deleted: None, space_reclaimed: 0 }).unwrap();
        assert_eq!(v, json!({"ContainersDeleted": null, "SpaceReclaimed": 0}));
    }
}
