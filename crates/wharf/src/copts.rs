//! The flags of `create` and `run` (docker's `containerOptions`) and the request body
//! of `POST /containers/create` built from them exactly as the docker CLI 28 builds
//! it: the `Config` fields at the top level, `HostConfig` and `NetworkingConfig`, with
//! the same fields present (Go's zero values and `omitempty` rules), units parsed like
//! go-units (`RAMInBytes`), `--cpus` as `NanoCpus`, ports like go-connections' `nat`,
//! `--mount` like docker's `MountOpt`, capabilities normalized as the docker client
//! does, and the same error texts.
//!
//! Flag values are checked when the flags are parsed where docker checks them there
//! (`-m x` is a usage error); everything else is checked by [`build`], whose errors
//! the caller reports with docker's "Run 'wharf create --help'" hint.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use clap::{ArgAction, Args};
use serde_json::{json, Map, Value};

use crate::cli::parse_go_bool;

/// The container flags shared by `create` and `run`.
#[derive(Debug, Clone, Default, Args)]
#[command(next_display_order = None)]
pub(crate) struct ContainerOpts {
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long = "add-host", value_name = "list", value_parser = parse_extra_host)]
    pub add_host: Vec<String>,
    /// Add an annotation to the container (passed through to the OCI runtime)
    #[arg(long, value_name = "map")]
    pub annotation: Vec<String>,
    /// Attach to STDIN, STDOUT or STDERR
    #[arg(short = 'a', long = "attach", value_name = "list", value_parser = parse_attach)]
    pub attach: Vec<String>,
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)
    #[arg(long = "blkio-weight", value_name = "uint16", default_value_t = 0, hide_default_value = true)]
    pub blkio_weight: u16,
    /// Add Linux capabilities
    #[arg(long = "cap-add", value_name = "list")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop", value_name = "list")]
    pub cap_drop: Vec<String>,
    /// Optional parent cgroup for the container
    #[arg(long = "cgroup-parent", value_name = "string", default_value = "", hide_default_value = true)]
    pub cgroup_parent: String,
    /// Cgroup namespace to use (host|private)
    /// 'host':    Run the container in the wharf host's cgroup namespace
    /// 'private': Run the container in its own private cgroup namespace
    /// '':        Use the cgroup namespace as configured by the
    ///            default-cgroupns-mode option on the daemon (default)
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true, verbatim_doc_comment)]
    pub cgroupns: String,
    /// Write the container ID to the file
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true)]
    pub cidfile: String,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long = "cpu-period", value_name = "int", default_value_t = 0, hide_default_value = true)]
    pub cpu_period: i64,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(
        long = "cpu-quota",
        value_name = "int",
        default_value_t = 0,
        hide_default_value = true,
        allow_hyphen_values = true
    )]
    pub cpu_quota: i64,
    /// Limit CPU real-time period in microseconds
    #[arg(long = "cpu-rt-period", value_name = "int", default_value_t = 0, hide_default_value = true)]
    pub cpu_rt_period: i64,
    /// Limit CPU real-time runtime in microseconds
    #[arg(long = "cpu-rt-runtime", value_name = "int", default_value_t = 0, hide_default_value = true)]
    pub cpu_rt_runtime: i64,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares", value_name = "int", default_value_t = 0, hide_default_value = true)]
    pub cpu_shares: i64,
    /// Number of CPUs
    #[arg(long, value_name = "decimal", value_parser = parse_nano_cpus)]
    pub cpus: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus", value_name = "string", default_value = "", hide_default_value = true)]
    pub cpuset_cpus: String,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-mems", value_name = "string", default_value = "", hide_default_value = true)]
    pub cpuset_mems: String,
    /// Add a host device to the container
    #[arg(long, value_name = "list")]
    pub device: Vec<String>,
    /// Add a rule to the cgroup allowed devices list
    #[arg(long = "device-cgroup-rule", value_name = "list", value_parser = parse_device_cgroup_rule)]
    pub device_cgroup_rule: Vec<String>,
    /// Skip image verification (default true)
    #[arg(long = "disable-content-trust", num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = parse_go_bool, value_name = "bool", hide = true)]
    pub disable_content_trust: Option<bool>,
    /// Set custom DNS servers
    #[arg(long, value_name = "list", value_parser = parse_ip_address)]
    pub dns: Vec<String>,
    /// Set DNS options
    #[arg(long = "dns-option", visible_alias = "dns-opt", value_name = "list")]
    pub dns_option: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long = "dns-search", value_name = "list", value_parser = parse_dns_search)]
    pub dns_search: Vec<String>,
    /// Container NIS domain name
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true)]
    pub domainname: String,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long, value_name = "string")]
    pub entrypoint: Option<String>,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "list", value_parser = parse_env)]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "list")]
    pub env_file: Vec<String>,
    /// Expose a port or a range of ports
    #[arg(long, value_name = "list")]
    pub expose: Vec<String>,
    /// Add additional groups to join
    #[arg(long = "group-add", value_name = "list")]
    pub group_add: Vec<String>,
    /// Command to run to check health
    #[arg(long = "health-cmd", value_name = "string", default_value = "", hide_default_value = true)]
    pub health_cmd: String,
    /// Time between running the check (ms|s|m|h) (default 0s)
    #[arg(long = "health-interval", value_name = "duration", value_parser = parse_duration, allow_hyphen_values = true)]
    pub health_interval: Option<i64>,
    /// Consecutive failures needed to report unhealthy
    #[arg(
        long = "health-retries",
        value_name = "int",
        default_value_t = 0,
        hide_default_value = true,
        allow_hyphen_values = true
    )]
    pub health_retries: i64,
    /// Time between running the check during the start period (ms|s|m|h) (default 0s)
    #[arg(long = "health-start-interval", value_name = "duration", value_parser = parse_duration, allow_hyphen_values = true)]
    pub health_start_interval: Option<i64>,
    /// Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)
    #[arg(long = "health-start-period", value_name = "duration", value_parser = parse_duration, allow_hyphen_values = true)]
    pub health_start_period: Option<i64>,
    /// Maximum time to allow one check to run (ms|s|m|h) (default 0s)
    #[arg(long = "health-timeout", value_name = "duration", value_parser = parse_duration, allow_hyphen_values = true)]
    pub health_timeout: Option<i64>,
    /// Print usage
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
    /// Container host name
    #[arg(short = 'h', long, value_name = "string", default_value = "", hide_default_value = true)]
    pub hostname: String,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool,
          value_name = "bool")]
    pub init: Option<bool>,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false",
          hide_default_value = true, value_parser = parse_go_bool, value_name = "bool")]
    pub interactive: bool,
    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true)]
    pub ip: String,
    /// IPv6 address (e.g., 2001:db8::33)
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true)]
    pub ip6: String,
    /// IPC mode to use
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true)]
    pub ipc: String,
    /// Container isolation technology
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true)]
    pub isolation: String,
    /// Set meta data on a container
    #[arg(short = 'l', long = "label", value_name = "list", value_parser = parse_label)]
    pub label: Vec<String>,
    /// Read in a line delimited file of labels
    #[arg(long = "label-file", value_name = "list")]
    pub label_file: Vec<String>,
    /// Add link to another container
    #[arg(long, value_name = "list", value_parser = parse_link)]
    pub link: Vec<String>,
    /// Logging driver for the container
    #[arg(long = "log-driver", value_name = "string", default_value = "", hide_default_value = true)]
    pub log_driver: String,
    /// Log driver options
    #[arg(long = "log-opt", value_name = "list")]
    pub log_opt: Vec<String>,
    /// Container MAC address (e.g., 92:d0:c6:0a:29:33)
    #[arg(long = "mac-address", value_name = "string", default_value = "", hide_default_value = true)]
    pub mac_address: String,
    /// Memory limit
    #[arg(short = 'm', long, value_name = "bytes", value_parser = parse_mem_bytes, default_value = "0", hide_default_value = true)]
    pub memory: i64,
    /// Memory soft limit
    #[arg(long = "memory-reservation", value_name = "bytes", value_parser = parse_mem_bytes, default_value = "0",
          hide_default_value = true)]
    pub memory_reservation: i64,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "bytes", value_parser = parse_mem_swap, default_value = "0",
          hide_default_value = true, allow_hyphen_values = true)]
    pub memory_swap: i64,
    /// Tune container memory swappiness (0 to 100) (default -1)
    #[arg(long = "memory-swappiness", value_name = "int", default_value_t = -1, hide_default_value = true,
          allow_hyphen_values = true)]
    pub memory_swappiness: i64,
    /// Attach a filesystem mount to the container
    #[arg(long, value_name = "mount", value_parser = parse_mount)]
    pub mount: Vec<Value>,
    /// Connect a container to a network
    #[arg(long, visible_alias = "net", value_name = "network", value_parser = parse_network)]
    pub network: Vec<NetworkAttachment>,
    /// Add network-scoped alias for the container
    #[arg(long = "network-alias", visible_alias = "net-alias", value_name = "list")]
    pub network_alias: Vec<String>,
    /// Disable any container-specified HEALTHCHECK
    #[arg(long = "no-healthcheck", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false",
          hide_default_value = true, value_parser = parse_go_bool, value_name = "bool")]
    pub no_healthcheck: bool,
    /// Disable OOM Killer
    #[arg(long = "oom-kill-disable", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false",
          hide_default_value = true, value_parser = parse_go_bool, value_name = "bool")]
    pub oom_kill_disable: bool,
    /// Tune host's OOM preferences (-1000 to 1000)
    #[arg(
        long = "oom-score-adj",
        value_name = "int",
        default_value_t = 0,
        hide_default_value = true,
        allow_hyphen_values = true
    )]
    pub oom_score_adj: i64,
    /// PID namespace to use
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true)]
    pub pid: String,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(
        long = "pids-limit",
        value_name = "int",
        default_value_t = 0,
        hide_default_value = true,
        allow_hyphen_values = true
    )]
    pub pids_limit: i64,
    /// Give extended privileges to this container
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false",
          hide_default_value = true, value_parser = parse_go_bool, value_name = "bool")]
    pub privileged: bool,
    /// Publish a container's port(s) to the host
    #[arg(short = 'p', long, value_name = "list")]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long = "publish-all", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false",
          hide_default_value = true, value_parser = parse_go_bool, value_name = "bool")]
    pub publish_all: bool,
    /// Mount the container's root filesystem as read only
    #[arg(long = "read-only", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false",
          hide_default_value = true, value_parser = parse_go_bool, value_name = "bool")]
    pub read_only: bool,
    /// Restart policy to apply when a container exits
    #[arg(long, value_name = "string", default_value = "no")]
    pub restart: String,
    /// Automatically remove the container and its associated anonymous volumes when it exits
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false",
          hide_default_value = true, value_parser = parse_go_bool, value_name = "bool")]
    pub rm: bool,
    /// Runtime to use for this container
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true)]
    pub runtime: String,
    /// Security Options
    #[arg(long = "security-opt", value_name = "list")]
    pub security_opt: Vec<String>,
    /// Size of /dev/shm
    #[arg(long = "shm-size", value_name = "bytes", value_parser = parse_mem_bytes, default_value = "0", hide_default_value = true)]
    pub shm_size: i64,
    /// Signal to stop the container
    #[arg(long = "stop-signal", value_name = "string")]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long = "stop-timeout", value_name = "int", value_parser = parse_go_int, allow_hyphen_values = true)]
    pub stop_timeout: Option<i64>,
    /// Storage driver options for the container
    #[arg(long = "storage-opt", value_name = "list")]
    pub storage_opt: Vec<String>,
    /// Sysctl options
    #[arg(long, value_name = "map", value_parser = parse_sysctl)]
    pub sysctl: Vec<String>,
    /// Mount a tmpfs directory
    #[arg(long, value_name = "list")]
    pub tmpfs: Vec<String>,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false",
          hide_default_value = true, value_parser = parse_go_bool, value_name = "bool")]
    pub tty: bool,
    /// Ulimit options
    #[arg(long, value_name = "ulimit", value_parser = parse_ulimit)]
    pub ulimit: Vec<Ulimit>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short = 'u', long, value_name = "string", default_value = "", hide_default_value = true)]
    pub user: String,
    /// User namespace to use
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true)]
    pub userns: String,
    /// UTS namespace to use
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true)]
    pub uts: String,
    /// Bind mount a volume
    #[arg(short = 'v', long, value_name = "list")]
    pub volume: Vec<String>,
    /// Optional volume driver for the container
    #[arg(long = "volume-driver", value_name = "string", default_value = "", hide_default_value = true)]
    pub volume_driver: String,
    /// Mount volumes from the specified container(s)
    #[arg(long = "volumes-from", value_name = "list")]
    pub volumes_from: Vec<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long, value_name = "string", default_value = "", hide_default_value = true)]
    pub workdir: String,
}

// ---------------------------------------------------------------------------------------
// Flag value parsers (docker's flag-time validation)
// ---------------------------------------------------------------------------------------

/// Go's `strconv.ParseInt(s, 10, 64)` with its error text.
pub(crate) fn parse_go_int(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.ParseInt: parsing {}: invalid syntax", go_quote(s)));
    }
    s.parse::<i64>().map_err(|_| format!("strconv.ParseInt: parsing {}: value out of range", go_quote(s)))
}

fn go_quote(s: &str) -> String {
    crate::units::go_quote(s)
}

/// go-units `RAMInBytes` (binary multipliers, `b`, `k`, `kb`, `kib`, …).
pub(crate) fn ram_in_bytes(s: &str) -> Result<i64, String> {
    let invalid = || format!("invalid size: '{s}'");
    let Some(sep) = s.rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ') else { return Err(invalid()) };
    let (num, sfx) = if s.as_bytes()[sep] == b' ' { (&s[..sep], &s[sep + 1..]) } else { (&s[..=sep], &s[sep + 1..]) };
    let size: f64 =
        parse_go_float(num).ok_or_else(|| format!("strconv.ParseFloat: parsing {}: invalid syntax", go_quote(num)))?;
    if size < 0.0 {
        return Err(invalid());
    }
    if sfx.is_empty() {
        return Ok(size as i64);
    }
    let bad = || format!("invalid suffix: '{}'", sfx.to_lowercase());
    if sfx.len() > 3 {
        return Err(bad());
    }
    let lower = sfx.to_lowercase();
    let b = lower.as_bytes();
    if b[0] == b'b' {
        return if b.len() > 1 { Err(bad()) } else { Ok(size as i64) };
    }
    let mul: f64 = match b[0] {
        b'k' => 1024.0,
        b'm' => 1024f64.powi(2),
        b'g' => 1024f64.powi(3),
        b't' => 1024f64.powi(4),
        b'p' => 1024f64.powi(5),
        _ => return Err(bad()),
    };
    if (b.len() == 2 && b[1] != b'b') || (b.len() == 3 && &b[1..] != b"ib") {
        return Err(bad());
    }
    Ok((size * mul) as i64)
}

/// Go's `strconv.ParseFloat` for the plain decimal forms sizes use.
fn parse_go_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit() || b == b'.') || body.matches('.').count() > 1 {
        return None;
    }
    if body == "." {
        return None;
    }
    s.parse().ok()
}

/// docker's `MemBytes`.
pub(crate) fn parse_mem_bytes(s: &str) -> Result<i64, String> {
    ram_in_bytes(s)
}

/// docker's `MemSwapBytes`: `-1` is unlimited.
pub(crate) fn parse_mem_swap(s: &str) -> Result<i64, String> {
    if s == "-1" {
        return Ok(-1);
    }
    ram_in_bytes(s)
}

/// docker's `NanoCPUs`: a rational number of CPUs as an exact count of 1e-9 CPUs
/// (`1.5` → 1500000000; "3/2" and "1e-3" parse as `big.Rat` parses them).
pub(crate) fn parse_nano_cpus(s: &str) -> Result<i64, String> {
    let not_rational = || format!("failed to parse {s} as a rational number");
    // value = num / den, exactly.
    let (num, den): (i128, i128) = if let Some((a, b)) = s.split_once('/') {
        let a: i128 = a.parse().map_err(|_| not_rational())?;
        let b: i128 = b.parse().map_err(|_| not_rational())?;
        if b == 0 {
            return Err(not_rational());
        }
        (a, b)
    } else {
        let (mant, exp) = match s.find(['e', 'E']) {
            Some(i) => (&s[..i], s[i + 1..].parse::<i32>().map_err(|_| not_rational())?),
            None => (s, 0),
        };
        let neg = mant.starts_with('-');
        let mant = mant.strip_prefix(['+', '-']).unwrap_or(mant);
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        if (int.is_empty() && frac.is_empty()) || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(not_rational());
        }
        let digits: i128 = format!("{int}{frac}").parse().map_err(|_| not_rational())?;
        let scale = exp - frac.len() as i32;
        if !(-30..=30).contains(&scale) {
            return Err(not_rational());
        }
        let digits = if neg { -digits } else { digits };
        if scale >= 0 {
            (digits.checked_mul(10i128.pow(scale as u32)).ok_or_else(not_rational)?, 1)
        } else {
            (digits, 10i128.pow((-scale) as u32))
        }
    };
    let nano = num.checked_mul(1_000_000_000).ok_or_else(not_rational)?;
    if nano % den != 0 {
        return Err("value is too precise".into());
    }
    i64::try_from(nano / den).map_err(|_| not_rational())
}

/// docker's `ValidateEnv` at flag time: the name must not be empty. (A name without a
/// value takes the value of the local variable in [`build`].)
fn parse_env(s: &str) -> Result<String, String> {
    if s.split('=').next().unwrap_or("").is_empty() {
        return Err(format!("invalid environment variable: {s}"));
    }
    Ok(s.to_string())
}

/// docker's `ValidateLabel`: the name (before the first `=`, spaces trimmed) must be
/// neither empty nor contain spaces or tabs; the value is kept as given.
pub(crate) fn parse_label(s: &str) -> Result<String, String> {
    let name = s.split('=').next().unwrap_or("").trim();
    if name.is_empty() {
        return Err(format!("invalid label '{s}': empty name"));
    }
    if name.contains([' ', '\t']) {
        return Err(format!("label '{name}' contains whitespaces"));
    }
    Ok(s.to_string())
}

/// docker's `validateAttach`.
fn parse_attach(s: &str) -> Result<String, String> {
    let l = s.to_lowercase();
    if matches!(l.as_str(), "stdin" | "stdout" | "stderr") {
        return Ok(l);
    }
    Err("valid streams are STDIN, STDOUT and STDERR".into())
}

/// An IP address in Go's canonical text (`net.IP.String`).
fn canonical_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// docker's `ValidateIPAddress`.
fn parse_ip_address(s: &str) -> Result<String, String> {
    s.trim().parse::<IpAddr>().map(canonical_ip).map_err(|_| format!("IP address is not correctly formatted: {s}"))
}

/// docker's `ValidateExtraHost`: `host:ip` or `host=ip` (brackets allowed around the
/// address), sent as `host:ip`.
fn parse_extra_host(s: &str) -> Result<String, String> {
    let (k, v) = match s.split_once('=').or_else(|| s.split_once(':')) {
        Some((k, v)) if !k.is_empty() && !k.contains(':') => (k, v),
        _ => return Err(format!("bad format for add-host: {}", go_quote(s))),
    };
    let mut v = v;
    if v != "host-gateway" {
        if v.len() > 2 && v.starts_with('[') && v.ends_with(']') {
            v = &v[1..v.len() - 1];
        }
        if v.trim().parse::<IpAddr>().is_err() {
            return Err(format!("invalid IP address in add-host: {}", go_quote(v)));
        }
    }
    Ok(format!("{k}:{v}"))
}

/// docker's `ValidateDNSSearch`.
fn parse_dns_search(s: &str) -> Result<String, String> {
    let v = s.trim_matches(' ');
    if v == "." {
        return Ok(v.to_string());
    }
    let invalid = || format!("{v} is not a valid domain");
    if !v.bytes().any(|b| b.is_ascii_alphabetic()) {
        return Err(invalid());
    }
    let d = v.trim_end().strip_suffix('.').unwrap_or(v.trim_end());
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if d.len() >= 255 || !d.split('.').all(label_ok) {
        return Err(invalid());
    }
    Ok(d.to_string())
}

/// docker's `ValidateLink`: `name` or `name:alias`.
pub(crate) fn parse_link(s: &str) -> Result<String, String> {
    let mut parts = s.split(':');
    let name = parts.next().unwrap_or("");
    let alias = parts.next();
    if parts.next().is_some() || name.is_empty() || alias == Some("") {
        return Err(format!("bad format for links: {s}"));
    }
    Ok(s.to_string())
}

/// docker's `validateDeviceCgroupRule`: `^[acb] ([0-9]+|\*):([0-9]+|\*) [rwm]{1,3}$`.
fn parse_device_cgroup_rule(s: &str) -> Result<String, String> {
    let bad = || format!("invalid device cgroup format '{s}'");
    let parts: Vec<&str> = s.split(' ').collect();
    let [kind, numbers, mode] = parts.as_slice() else { return Err(bad()) };
    let num_ok = |n: &str| n == "*" || (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    let ok = matches!(*kind, "a" | "b" | "c")
        && numbers.split_once(':').is_some_and(|(a, b)| num_ok(a) && num_ok(b))
        && (1..=3).contains(&mode.len())
        && mode.bytes().all(|b| matches!(b, b'r' | b'w' | b'm'));
    if ok {
        Ok(s.to_string())
    } else {
        Err(bad())
    }
}

/// docker's `ValidateSysctl`: only namespaced sysctls.
fn parse_sysctl(s: &str) -> Result<String, String> {
    const ALLOWED: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let not_allowed = || format!("sysctl '{s}' is not allowed");
    let Some((k, _)) = s.split_once('=') else { return Err(not_allowed()) };
    if k.is_empty() {
        return Err(not_allowed());
    }
    if ALLOWED.contains(&k) || k.starts_with("net.") || k.starts_with("fs.mqueue.") {
        return Ok(s.to_string());
    }
    Err(not_allowed())
}

/// A `--ulimit` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// go-units `ParseUlimit`: `name=soft[:hard]`.
pub(crate) fn parse_ulimit(s: &str) -> Result<Ulimit, String> {
    const NAMES: [&str; 15] = [
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    ];
    let Some((name, limits)) = s.split_once('=') else { return Err(format!("invalid ulimit argument: {s}")) };
    if !NAMES.contains(&name) {
        return Err(format!("invalid ulimit type: {name}"));
    }
    let vals: Vec<&str> = limits.split(':').collect();
    let (soft, hard) = match vals.as_slice() {
        [soft] => {
            let soft = parse_go_int(soft)?;
            (soft, soft)
        }
        [soft, hard] => {
            let hard = parse_go_int(hard)?;
            (parse_go_int(soft)?, hard)
        }
        _ => return Err(format!("too many limit value arguments - {limits}, can only have up to two, `soft[:hard]`")),
    };
    if hard != -1 && soft > hard {
        return Err(format!("ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"));
    }
    Ok(Ulimit { name: name.to_string(), soft, hard })
}

/// A Go duration flag value in nanoseconds, with Go's error texts.
pub(crate) fn parse_duration(s: &str) -> Result<i64, String> {
    if let Some(n) = crate::timeutil::parse_go_duration(s) {
        return Ok(n);
    }
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit() || b == b'.') && body != "." {
        return Err(format!("time: missing unit in duration {}", go_quote(s)));
    }
    // The first unit that is not one of Go's.
    let mut rest = body;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_end == 0 {
            break;
        }
        let after = &rest[num_end..];
        let unit_end = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let unit = &after[..unit_end];
        if unit.is_empty() {
            break;
        }
        if !matches!(unit, "ns" | "us" | "µs" | "μs" | "ms" | "s" | "m" | "h") {
            return Err(format!("time: unknown unit {} in duration {}", go_quote(unit), go_quote(s)));
        }
        rest = &after[unit_end..];
    }
    Err(format!("time: invalid duration {}", go_quote(s)))
}

/// One `--network` value (docker's `NetworkAttachmentOpts`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NetworkAttachment {
    pub target: String,
    pub aliases: Vec<String>,
    pub ipv4: String,
    pub ipv6: String,
    pub mac: String,
    pub link_local_ips: Vec<String>,
    pub driver_opts: BTreeMap<String, String>,
    pub gw_priority: i64,
    pub links: Vec<String>,
}

/// Go's `encoding/csv` reading one record (quoted fields, `""` escapes).
pub(crate) fn csv_fields(s: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    let mut col = 0;
    loop {
        // Start of a field.
        if chars.peek() == Some(&'"') {
            chars.next();
            col += 1;
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        cur.push('"');
                    }
                    Some('"') => break,
                    Some(c) => cur.push(c),
                    None => {
                        return Err(format!(
                            "parse error on line 1, column {}: extraneous or missing \" in quoted-field",
                            s.len() + 1
                        ))
                    }
                }
                col += 1;
            }
            match chars.next() {
                None => {
                    fields.push(std::mem::take(&mut cur));
                    return Ok(fields);
                }
                Some(',') => fields.push(std::mem::take(&mut cur)),
                Some(_) => {
                    return Err(format!(
                        "parse error on line 1, column {}: extraneous or missing \" in quoted-field",
                        col + 1
                    ))
                }
            }
            continue;
        }
        loop {
            match chars.next() {
                None => {
                    fields.push(std::mem::take(&mut cur));
                    return Ok(fields);
                }
                Some(',') => {
                    fields.push(std::mem::take(&mut cur));
                    break;
                }
                Some('"') => {
                    return Err(format!("parse error on line 1, column {}: bare \" in non-quoted-field", col + 1))
                }
                Some(c) => cur.push(c),
            }
            col += 1;
        }
    }
}

/// docker's `NetworkOpt.Set`: a network name, or `name=…,alias=…,ip=…` fields.
fn parse_network(s: &str) -> Result<NetworkAttachment, String> {
    // docker's `\w+=\w+(,\w+=\w+)*` matched anywhere in the value.
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let b: Vec<char> = s.chars().collect();
    let long = (1..b.len().saturating_sub(1)).any(|i| b[i] == '=' && word(b[i - 1]) && word(b[i + 1]));
    if !long {
        return Ok(NetworkAttachment { target: s.to_string(), ..NetworkAttachment::default() });
    }
    let mut n = NetworkAttachment::default();
    for field in csv_fields(s)? {
        let lower = field.to_lowercase();
        let Some((key, val)) = lower.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(format!("invalid field {field}"));
        };
        let (key, val) = (key.trim(), val.trim().to_string());
        match key {
            "name" => n.target = val,
            "alias" => n.aliases.push(val),
            "ip" => n.ipv4 = val,
            "ip6" => n.ipv6 = val,
            "mac-address" => n.mac = val,
            "link-local-ip" => n.link_local_ips.push(val),
            "driver-opt" => {
                let Some((k, v)) = val.split_once('=') else {
                    return Err("invalid key value pair format in driver options".into());
                };
                n.driver_opts.insert(k.trim().to_string(), v.trim().to_string());
            }
            "gw-priority" => n.gw_priority = parse_go_int(&val)?,
            _ => return Err(format!("invalid field key {key}")),
        }
    }
    if n.target.is_empty() {
        return Err("network name/id is not specified".into());
    }
    Ok(n)
}

/// docker's `MountOpt.Set`: a `--mount` value as the API's `Mount` object.
pub(crate) fn parse_mount(s: &str) -> Result<Value, String> {
    parse_mount_in(s, &std::env::current_dir().unwrap_or_default())
}

fn parse_mount_in(s: &str, cwd: &Path) -> Result<Value, String> {
    let fields = csv_fields(s)?;
    let mut m = Map::new();
    let mut kind = "volume".to_string();
    let mut read_only: Option<bool> = None;
    let mut volume: Option<Map<String, Value>> = None;
    let mut bind: Option<Map<String, Value>> = None;
    let mut tmpfs: Option<Map<String, Value>> = None;
    fn volume_opts(v: &mut Option<Map<String, Value>>) -> &mut Map<String, Value> {
        v.get_or_insert_with(|| {
            let mut o = Map::new();
            o.insert("Labels".into(), json!({}));
            o.insert("DriverConfig".into(), json!({}));
            o
        })
    }
    let parse_bool = |key: &str, val: &str| parse_go_bool(val).map_err(|_| format!("invalid value for {key}: {val}"));
    for field in &fields {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) => (k.to_lowercase(), Some(v)),
            None => (field.to_lowercase(), None),
        };
        let Some(val) = val else {
            match key.as_str() {
                "readonly" | "ro" => read_only = Some(true),
                "volume-nocopy" => {
                    volume_opts(&mut volume).insert("NoCopy".into(), json!(true));
                }
                "bind-nonrecursive" => {
                    bind.get_or_insert_with(Map::new).insert("NonRecursive".into(), json!(true));
                }
                _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
            }
            continue;
        };
        match key.as_str() {
            "type" => kind = val.to_lowercase(),
            "source" | "src" => {
                let src =
                    if !val.starts_with('/') && val.starts_with('.') { absolute(cwd, val) } else { val.to_string() };
                m.insert("Source".into(), json!(src));
            }
            "target" | "dst" | "destination" => {
                m.insert("Target".into(), json!(val));
            }
            "readonly" | "ro" => read_only = Some(parse_bool(&key, val)?),
            "consistency" => {
                m.insert("Consistency".into(), json!(val.to_lowercase()));
            }
            "bind-propagation" => {
                bind.get_or_insert_with(Map::new).insert("Propagation".into(), json!(val.to_lowercase()));
            }
            "bind-nonrecursive" => {
                let b = parse_bool(&key, val)?;
                bind.get_or_insert_with(Map::new).insert("NonRecursive".into(), json!(b));
            }
            "bind-recursive" => {
                let b = bind.get_or_insert_with(Map::new);
                match val {
                    "enabled" => {}
                    "disabled" => {
                        b.insert("NonRecursive".into(), json!(true));
                    }
                    "writable" => {
                        b.insert("ReadOnlyNonRecursive".into(), json!(true));
                    }
                    "readonly" => {
                        b.insert("ReadOnlyForceRecursive".into(), json!(true));
                    }
                    _ => {
                        return Err(format!(
                            "invalid value for {key}: {val} (must \"enabled\", \"disabled\", \"writable\", or \"readonly\")"
                        ))
                    }
                }
            }
            "volume-subpath" => {
                volume_opts(&mut volume).insert("Subpath".into(), json!(val));
            }
            "volume-nocopy" => {
                let b = parse_go_bool(val).map_err(|_| format!("invalid value for volume-nocopy: {val}"))?;
                volume_opts(&mut volume).insert("NoCopy".into(), json!(b));
            }
            "volume-label" => {
                let (k, v) = val.split_once('=').unwrap_or((val, ""));
                if !k.is_empty() {
                    let o = volume_opts(&mut volume);
                    if let Some(Value::Object(l)) = o.get_mut("Labels") {
                        l.insert(k.into(), json!(v));
                    }
                }
            }
            "volume-driver" => {
                let o = volume_opts(&mut volume);
                if let Some(Value::Object(d)) = o.get_mut("DriverConfig") {
                    d.insert("Name".into(), json!(val));
                }
            }
            "volume-opt" => {
                let (k, v) = val.split_once('=').unwrap_or((val, ""));
                let o = volume_opts(&mut volume);
                if let Some(Value::Object(d)) = o.get_mut("DriverConfig") {
                    let opts = d.entry("Options").or_insert_with(|| json!({}));
                    if let (Value::Object(opts), false) = (opts, k.is_empty()) {
                        opts.insert(k.into(), json!(v));
                    }
                }
            }
            "tmpfs-size" => {
                let n = ram_in_bytes(val).map_err(|_| format!("invalid value for {key}: {val}"))?;
                tmpfs.get_or_insert_with(Map::new).insert("SizeBytes".into(), json!(n));
            }
            "tmpfs-mode" => {
                let n = u32::from_str_radix(val, 8).map_err(|_| format!("invalid value for {key}: {val}"))?;
                tmpfs.get_or_insert_with(Map::new).insert("Mode".into(), json!(n));
            }
            _ => return Err(format!("unexpected key '{key}' in '{field}'")),
        }
    }
    if kind.is_empty() {
        return Err("type is required".into());
    }
    if !m.contains_key("Target") || m["Target"] == "" {
        return Err("target is required".into());
    }
    if volume.is_some() && kind != "volume" {
        return Err(format!("cannot mix 'volume-*' options with mount type '{kind}'"));
    }
    if bind.is_some() && kind != "bind" {
        return Err(format!("cannot mix 'bind-*' options with mount type '{kind}'"));
    }
    if tmpfs.is_some() && kind != "tmpfs" {
        return Err(format!("cannot mix 'tmpfs-*' options with mount type '{kind}'"));
    }
    let ro = read_only.unwrap_or(false);
    if let Some(b) = &bind {
        if b.get("ReadOnlyNonRecursive") == Some(&json!(true)) && !ro {
            return Err("option 'bind-recursive=writable' requires 'readonly' to be specified in conjunction".into());
        }
        if b.get("ReadOnlyForceRecursive") == Some(&json!(true)) {
            if !ro {
                return Err(
                    "option 'bind-recursive=readonly' requires 'readonly' to be specified in conjunction".into()
                );
            }
            if b.get("Propagation") != Some(&json!("rprivate")) {
                return Err(
                    "option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified in conjunction"
                        .into(),
                );
            }
        }
    }
    m.insert("Type".into(), json!(kind));
    if ro {
        m.insert("ReadOnly".into(), json!(true));
    }
    // Empty maps are left out (`omitempty`), the driver config stays as `{}`.
    if let Some(mut v) = volume {
        if v.get("Labels").and_then(Value::as_object).is_some_and(Map::is_empty) {
            v.remove("Labels");
        }
        m.insert("VolumeOptions".into(), Value::Object(v));
    }
    if let Some(b) = bind {
        m.insert("BindOptions".into(), Value::Object(b));
    }
    if let Some(t) = tmpfs {
        m.insert("TmpfsOptions".into(), Value::Object(t));
    }
    Ok(Value::Object(m))
}

/// Go's `filepath.Abs` for a relative path.
fn absolute(cwd: &Path, p: &str) -> String {
    let joined = cwd.join(p);
    let mut out: Vec<&str> = Vec::new();
    for part in joined.to_str().unwrap_or(p).split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            x => out.push(x),
        }
    }
    format!("/{}", out.join("/"))
}

// ---------------------------------------------------------------------------------------
// Files of environment variables and labels
// ---------------------------------------------------------------------------------------

/// A lookup of the client's environment variables.
pub(crate) type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// docker's `parseKeyValueFile`: `KEY=value` lines (value untouched), blank lines and
/// `#` comments skipped, a UTF-8 BOM dropped; a line with only a name takes the value
/// of `lookup` (dropped if it has none). `lookup` is `None` for label files.
pub(crate) fn parse_kv_file(path: &str, lookup: Option<&Lookup<'_>>) -> Result<Vec<String>, String> {
    let data = std::fs::read(path).map_err(|e| format!("open {path}: {}", crate::context::io_text(&e)))?;
    let mut lines = Vec::new();
    for (i, raw) in data.split(|b| *b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let raw = if i == 0 { raw.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(raw) } else { raw };
        let Ok(text) = std::str::from_utf8(raw) else {
            return Err(format!("env file {path} contains invalid utf8 bytes at line {}: {raw:?}", i + 1));
        };
        let line = text.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (variable, value) = match line.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (line, None),
        };
        let variable = variable.trim_start_matches([' ', '\t']);
        if variable.contains([' ', '\t']) {
            return Err(format!("poorly formatted environment: variable '{variable}' contains whitespaces"));
        }
        if variable.is_empty() {
            return Err(format!("poorly formatted environment: no variable name on line '{line}'"));
        }
        match value {
            Some(v) => lines.push(format!("{variable}={v}")),
            None => {
                if let Some(v) = lookup.and_then(|f| f(line)) {
                    lines.push(format!("{}={v}", variable.trim()));
                }
            }
        }
    }
    Ok(lines)
}

// ---------------------------------------------------------------------------------------
// Restart policy, ports, devices, volumes
// ---------------------------------------------------------------------------------------

/// docker's `ParseRestartPolicy`: `name[:max-retries]`.
pub(crate) fn parse_restart_policy(policy: &str) -> Result<(String, i64), String> {
    if policy.is_empty() {
        return Ok(("no".into(), 0));
    }
    let (name, count) = match policy.split_once(':') {
        Some(("", _)) => return Err("invalid restart policy format: no policy provided before colon".into()),
        Some((k, v)) => (k, v),
        None => (policy, ""),
    };
    let mut max = 0;
    if !count.is_empty() {
        max = count
            .parse::<i64>()
            .map_err(|_| "invalid restart policy format: maximum retry count must be an integer".to_string())?;
    }
    Ok((name.to_string(), max))
}

/// One published port: the container port (`80/tcp`) and its binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PortMapping {
    pub port: String,
    pub host_ip: String,
    pub host_port: String,
}

/// go-connections' `ParsePortRange`.
fn parse_port_range(ports: &str) -> Result<(u64, u64), String> {
    if ports.is_empty() {
        return Err("empty string specified for ports".into());
    }
    let p = |s: &str| s.parse::<u16>().map(u64::from).map_err(|_| format!("invalid port {s}"));
    match ports.split_once('-') {
        None => {
            let n = p(ports)?;
            Ok((n, n))
        }
        Some((a, b)) => {
            let b = b.split('-').next().unwrap_or(b);
            let (start, end) = (p(a)?, p(b)?);
            if end < start {
                return Err(format!("invalid range specified for port: {ports}"));
            }
            Ok((start, end))
        }
    }
}

/// go-connections' `SplitProtoPort`.
fn split_proto_port(raw: &str) -> (String, String) {
    let parts: Vec<&str> = raw.split('/').collect();
    if raw.is_empty() || parts[0].is_empty() {
        return (String::new(), String::new());
    }
    if parts.len() == 1 || parts[1].is_empty() {
        return ("tcp".into(), parts[0].to_string());
    }
    (parts[1].to_string(), parts[0].to_string())
}

/// go-connections' `ParsePortSpec`: `[ip:][hostPort:]containerPort[/proto]`, ranges
/// allowed (a host range for a single container port is a range to allocate from).
pub(crate) fn parse_port_spec(raw: &str) -> Result<Vec<PortMapping>, String> {
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    let (mut ip, host_port, container) = match n {
        1 => (String::new(), "", parts[0]),
        2 => (String::new(), parts[0], parts[1]),
        3 => (parts[0].to_string(), parts[1], parts[2]),
        _ => (parts[..n - 2].join(":"), parts[n - 2], parts[n - 1]),
    };
    let (proto, container) = split_proto_port(container);
    if ip.starts_with('[') {
        match ip.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            Some(inner) => ip = inner.to_string(),
            None => return Err(format!("invalid IP address {ip}: address {ip}:: missing ']' in address")),
        }
    }
    if !ip.is_empty() && ip.parse::<IpAddr>().is_err() {
        return Err(format!("invalid IP address: {ip}"));
    }
    if container.is_empty() {
        return Err(format!("no port specified: {raw}<empty>"));
    }
    let (start, end) = parse_port_range(&container).map_err(|_| format!("invalid containerPort: {container}"))?;
    let (mut hstart, mut hend) = (0, 0);
    if !host_port.is_empty() {
        (hstart, hend) = parse_port_range(host_port).map_err(|_| format!("invalid hostPort: {host_port}"))?;
        if end - start != hend - hstart && end != start {
            return Err(format!("invalid ranges specified for container and host Ports: {container} and {host_port}"));
        }
    }
    let proto = proto.to_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    let mut out = Vec::new();
    for i in 0..=(end - start) {
        let mut hp = String::new();
        if !host_port.is_empty() {
            hp = (hstart + i).to_string();
        }
        if start == end && hstart != hend {
            hp = format!("{hp}-{hend}");
        }
        out.push(PortMapping { port: format!("{}/{proto}", start + i), host_ip: ip.clone(), host_port: hp });
    }
    Ok(out)
}

/// docker's `convertToStandardNotation`: `published=8080,target=80[,protocol=udp]`.
fn publish_standard(p: &str) -> Result<String, String> {
    if !p.contains('=') {
        return Ok(p.to_string());
    }
    let mut params: BTreeMap<&str, &str> = BTreeMap::new();
    params.insert("protocol", "tcp");
    for param in p.split(',') {
        match param.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                params.insert(k, v);
            }
            _ => return Err(format!("invalid publish opts format (should be name=value but got '{param}')")),
        }
    }
    let get = |k: &str| params.get(k).copied().unwrap_or("");
    Ok(format!("{}:{}/{}", get("published"), get("target"), get("protocol")))
}

/// docker's `validDeviceMode`: a non-empty combination of r, w, m without repeats.
fn valid_device_mode(mode: &str) -> bool {
    !mode.is_empty()
        && mode.len() <= 3
        && mode.bytes().all(|b| matches!(b, b'r' | b'w' | b'm'))
        && mode.bytes().enumerate().all(|(i, b)| !mode.as_bytes()[..i].contains(&b))
}

/// Go's `path.Clean` on an absolute or relative Unix path.
pub(crate) use wharf_types::clean_path;

/// docker's `validateLinuxPath` + `parseLinuxDevice`: `--device` as a device mapping.
pub(crate) fn parse_device(val: &str) -> Result<Value, String> {
    if val.matches(':').count() > 2 {
        return Err(format!("bad format for path: {val}"));
    }
    let split: Vec<&str> = val.splitn(3, ':').collect();
    if split[0].is_empty() {
        return Err(format!("bad format for path: {val}"));
    }
    let (container_path, validated) = match split.as_slice() {
        [c] => (c.to_string(), clean_path(c)),
        [a, b] if valid_device_mode(b) => (a.to_string(), format!("{}:{b}", clean_path(a))),
        [a, b] => (b.to_string(), format!("{a}:{}", clean_path(b))),
        [a, b, mode] => {
            if !valid_device_mode(mode) {
                return Err(format!("bad mode specified: {mode}"));
            }
            (b.to_string(), format!("{a}:{b}:{mode}"))
        }
        _ => return Err(format!("bad format for path: {val}")),
    };
    if !container_path.starts_with('/') {
        return Err(format!("{container_path} is not an absolute path"));
    }
    let arr: Vec<&str> = validated.splitn(4, ':').collect();
    let (mut dst, mut perms) = ("", "rwm");
    let src = match arr.as_slice() {
        [s] => s,
        [s, b] | [s, b, _] => {
            if let [_, _, p] = arr.as_slice() {
                perms = p;
            }
            if valid_device_mode(b) {
                perms = b;
            } else {
                dst = b;
            }
            s
        }
        _ => return Err(format!("invalid device specification: {val}")),
    };
    let dst = if dst.is_empty() { src } else { dst };
    Ok(json!({"PathOnHost": src, "PathInContainer": dst, "CgroupPermissions": perms}))
}

/// The compose `ParseVolume` of a `-v` value: `(source, target)`.
fn parse_volume_spec(spec: &str) -> Result<(String, String), String> {
    match spec.chars().count() {
        0 => return Err("invalid empty volume spec".into()),
        1 | 2 => return Ok((String::new(), spec.to_string())),
        _ => {}
    }
    let (mut source, mut target) = (None::<String>, None::<String>);
    let mut buffer = String::new();
    let chars: Vec<char> = spec.chars().collect();
    for i in 0..=chars.len() {
        let end = i == chars.len();
        let c = if end { ':' } else { chars[i] };
        // A Windows drive letter ("c:") stays in the buffer.
        let drive = c == ':' && buffer.len() == 1 && buffer.chars().all(|b| b.is_ascii_alphabetic());
        if c != ':' || (drive && !end) {
            buffer.push(c);
            continue;
        }
        if buffer.is_empty() {
            return Err(format!("invalid spec: {spec}: empty section between colons"));
        }
        if source.is_none() && end {
            target = Some(std::mem::take(&mut buffer));
        } else if source.is_none() {
            source = Some(std::mem::take(&mut buffer));
        } else if target.is_none() {
            target = Some(std::mem::take(&mut buffer));
        } else if !end {
            return Err(format!("invalid spec: {spec}: too many colons"));
        } else {
            buffer.clear();
        }
    }
    Ok((source.unwrap_or_default(), target.unwrap_or_default()))
}

/// compose's `isFilePath`: a source that makes a bind mount.
fn is_file_path(source: &str) -> bool {
    matches!(source, "." | "..") || source.starts_with(['.', '/', '~']) || source.starts_with("\\\\")
}

// ---------------------------------------------------------------------------------------
// The create body
// ---------------------------------------------------------------------------------------

/// What the body depends on besides the flags.
pub(crate) struct BuildEnv<'a> {
    /// The negotiated API version.
    pub api: (usize, usize),
    /// The client's working directory (relative bind sources are made absolute).
    pub cwd: &'a Path,
    /// The client's environment (`-e NAME`, `NAME` lines of env files).
    pub lookup: &'a Lookup<'a>,
    /// `(height, width)` of the local terminal, `(0, 0)` when not a terminal.
    pub console_size: (u16, u16),
    /// Proxy variables from config.json (`HTTP_PROXY`, `http_proxy`, …) in order.
    pub proxy_env: Vec<(String, String)>,
}

/// The request of `POST /containers/create`.
#[derive(Debug, Clone)]
pub(crate) struct CreateRequest {
    /// The JSON body.
    pub body: Value,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub tty: bool,
    pub auto_remove: bool,
}

fn list_or_null(v: &[String]) -> Value {
    if v.is_empty() {
        Value::Null
    } else {
        json!(v)
    }
}

fn kv_map(items: &[String]) -> Map<String, Value> {
    let mut m = Map::new();
    for it in items {
        let (k, v) = it.split_once('=').unwrap_or((it, ""));
        m.insert(k.to_string(), json!(v));
    }
    m
}

/// The docker client's `normalizeCapabilities`: upper case, `CAP_` prefix (except
/// `ALL`), without duplicates, sorted.
pub(crate) fn normalize_caps(caps: &[String]) -> Value {
    let mut out: Vec<String> = Vec::new();
    for c in caps {
        let mut c = c.trim().to_uppercase();
        if c != "ALL" && !c.starts_with("CAP_") {
            c = format!("CAP_{c}");
        }
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out.sort();
    list_or_null(&out)
}

/// Whether a network mode names a user-defined network.
fn is_user_defined(mode: &str) -> bool {
    !matches!(mode, "default" | "bridge" | "host" | "none") && !mode.starts_with("container:")
}

/// Go's `net.ParseMAC` for the EUI-48/64 forms (`:` or `-` separated, or dotted).
fn valid_mac(s: &str) -> bool {
    let s = s.trim();
    let hex2 = |p: &str| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit());
    let hex4 = |p: &str| p.len() == 4 && p.bytes().all(|b| b.is_ascii_hexdigit());
    for sep in [':', '-'] {
        let parts: Vec<&str> = s.split(sep).collect();
        if matches!(parts.len(), 6 | 8 | 20) && parts.iter().all(|p| hex2(p)) {
            return true;
        }
    }
    let parts: Vec<&str> = s.split('.').collect();
    matches!(parts.len(), 3 | 4 | 10) && parts.iter().all(|p| hex4(p))
}

/// An `EndpointSettings` object with every field docker sends.
fn endpoint(n: &NetworkAttachment) -> Result<Value, String> {
    if n.target.trim().is_empty() {
        return Err("no name set for network".into());
    }
    if !is_user_defined(&n.target) {
        if !n.aliases.is_empty() {
            return Err("network-scoped aliases are only supported for user-defined networks".into());
        }
        if !n.links.is_empty() {
            return Err("links are only supported for user-defined networks".into());
        }
    }
    let ipam = if !n.ipv4.is_empty() || !n.ipv6.is_empty() || !n.link_local_ips.is_empty() {
        let mut m = Map::new();
        if !n.ipv4.is_empty() {
            m.insert("IPv4Address".into(), json!(n.ipv4));
        }
        if !n.ipv6.is_empty() {
            m.insert("IPv6Address".into(), json!(n.ipv6));
        }
        if !n.link_local_ips.is_empty() {
            m.insert("LinkLocalIPs".into(), json!(n.link_local_ips));
        }
        Value::Object(m)
    } else {
        Value::Null
    };
    if !n.mac.is_empty() && !valid_mac(&n.mac) {
        return Err(format!("{} is not a valid mac address", n.mac));
    }
    Ok(json!({
        "IPAMConfig": ipam,
        "Links": list_or_null(&n.links),
        "Aliases": list_or_null(&n.aliases),
        "MacAddress": n.mac,
        "DriverOpts": if n.driver_opts.is_empty() { Value::Null } else { json!(n.driver_opts) },
        "GwPriority": n.gw_priority,
        "NetworkID": "",
        "EndpointID": "",
        "Gateway": "",
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "DNSNames": null,
    }))
}

/// Whether an endpoint has nothing set (docker leaves such an endpoint out when it is
/// the only `--network`).
fn endpoint_is_empty(n: &NetworkAttachment) -> bool {
    n.aliases.is_empty()
        && n.links.is_empty()
        && n.ipv4.is_empty()
        && n.ipv6.is_empty()
        && n.mac.is_empty()
        && n.link_local_ips.is_empty()
        && n.driver_opts.is_empty()
        && n.gw_priority == 0
}

/// docker's `applyContainerOptions`: the old-style flags on the first network.
fn apply_container_options(n: &mut NetworkAttachment, o: &ContainerOpts, mac_in_endpoint: bool) -> Result<(), String> {
    let conflict = |what: &str| Err(format!("conflicting options: cannot specify both {what}"));
    if !n.aliases.is_empty() && !o.network_alias.is_empty() {
        return conflict("--network-alias and per-network alias");
    }
    if !n.links.is_empty() && !o.link.is_empty() {
        return conflict("--link and per-network links");
    }
    if !n.ipv4.is_empty() && !o.ip.is_empty() {
        return conflict("--ip and per-network IPv4 address");
    }
    if !n.ipv6.is_empty() && !o.ip6.is_empty() {
        return conflict("--ip6 and per-network IPv6 address");
    }
    if !n.mac.is_empty() && !o.mac_address.is_empty() {
        return conflict("--mac-address and per-network MAC address");
    }
    if !o.network_alias.is_empty() {
        n.aliases = o.network_alias.clone();
    }
    if is_user_defined(&n.target) && !o.link.is_empty() {
        n.links = o.link.clone();
    }
    if !o.ip.is_empty() {
        n.ipv4 = o.ip.clone();
    }
    if !o.ip6.is_empty() {
        n.ipv6 = o.ip6.clone();
    }
    if !o.mac_address.is_empty() && mac_in_endpoint {
        n.mac = o.mac_address.clone();
    }
    Ok(())
}

/// docker's `parseNetworkOpts`: `NetworkingConfig.EndpointsConfig`.
fn endpoints_config(o: &ContainerOpts, mac_in_endpoint: bool) -> Result<Map<String, Value>, String> {
    let mut endpoints = Map::new();
    if o.network.is_empty() {
        let mut n = NetworkAttachment { target: "default".into(), ..NetworkAttachment::default() };
        apply_container_options(&mut n, o, mac_in_endpoint)?;
        endpoints.insert("default".into(), endpoint(&n)?);
        return Ok(endpoints);
    }
    let (mut user_defined, mut other) = (false, false);
    for (i, n) in o.network.iter().enumerate() {
        let mut n = n.clone();
        if is_user_defined(&n.target) {
            user_defined = true;
        } else {
            other = true;
        }
        if i == 0 {
            apply_container_options(&mut n, o, mac_in_endpoint)?;
        }
        let ep = endpoint(&n)?;
        if endpoints.contains_key(&n.target) {
            return Err(format!("network {} is specified multiple times", go_quote(&n.target)));
        }
        if i == 0 && o.network.len() == 1 && endpoint_is_empty(&n) {
            continue;
        }
        endpoints.insert(n.target.clone(), ep);
    }
    if user_defined && other {
        return Err("conflicting options: cannot attach both user-defined and non-user-defined network-modes".into());
    }
    Ok(endpoints)
}

/// docker's `parseSecurityOpts` + `parseSystemPaths`: a seccomp profile file is sent
/// as its compacted JSON; `systempaths=unconfined` empties the masked and read-only
/// paths and is not sent.
fn security_opts(opts: &[String]) -> Result<(Vec<String>, Option<()>), String> {
    let mut out = Vec::new();
    let mut unconfined = None;
    for opt in opts {
        let (k, v, ok) = match opt.split_once('=') {
            Some((k, v)) => (k, v, true),
            None if opt != "no-new-privileges" => match opt.split_once(':') {
                Some((k, v)) => (k, v, true),
                None => (opt.as_str(), "", false),
            },
            None => (opt.as_str(), "", false),
        };
        if (!ok || v.is_empty()) && k != "no-new-privileges" {
            return Err(format!("invalid --security-opt: {}", go_quote(opt)));
        }
        if opt == "systempaths=unconfined" {
            unconfined = Some(());
            continue;
        }
        if k == "seccomp" && !matches!(v, "builtin" | "unconfined") {
            let data = std::fs::read(v).map_err(|e| {
                format!("opening seccomp profile ({v}) failed: open {v}: {}", crate::context::io_text(&e))
            })?;
            serde_json::from_slice::<Value>(&data)
                .map_err(|e| format!("compacting json for seccomp profile ({v}) failed: {e}"))?;
            out.push(format!("seccomp={}", String::from_utf8_lossy(&crate::format::go_json_compact(&data))));
            continue;
        }
        out.push(opt.clone());
    }
    Ok((out, unconfined))
}

/// docker's `parse`: the create request for these flags, image and command.
pub(crate) fn build(
    o: &ContainerOpts,
    image: &str,
    cmd: &[String],
    env: &BuildEnv<'_>,
) -> Result<CreateRequest, String> {
    let mut attach_stdin = o.attach.iter().any(|a| a == "stdin");
    let mut attach_stdout = o.attach.iter().any(|a| a == "stdout");
    let mut attach_stderr = o.attach.iter().any(|a| a == "stderr");
    if !o.mac_address.is_empty() && !valid_mac(&o.mac_address) {
        return Err(format!("{} is not a valid mac address", o.mac_address));
    }
    if o.interactive {
        attach_stdin = true;
    }
    if o.attach.is_empty() {
        attach_stdout = true;
        attach_stderr = true;
    }
    if o.memory_swappiness != -1 && !(0..=100).contains(&o.memory_swappiness) {
        return Err(format!("invalid value: {}. Valid memory swappiness range is 0-100", o.memory_swappiness));
    }

    // -v: sources make binds, the others anonymous volumes.
    let mut binds: Vec<String> = Vec::new();
    let mut volumes = Map::new();
    for v in &o.volume {
        let (source, _) = parse_volume_spec(v)?;
        if source.is_empty() {
            volumes.insert(v.clone(), json!({}));
            continue;
        }
        let mut bind = v.clone();
        if is_file_path(&source) {
            if let Some((host, target)) = v.split_once(':') {
                if !host.starts_with('/') && host.starts_with('.') {
                    bind = format!("{}:{target}", absolute(env.cwd, host));
                }
            }
        }
        if !binds.contains(&bind) {
            binds.push(bind);
        }
    }

    let mut tmpfs = Map::new();
    for t in &o.tmpfs {
        let (k, v) = t.split_once(':').unwrap_or((t, ""));
        tmpfs.insert(k.to_string(), json!(v));
    }

    let entrypoint = match o.entrypoint.as_deref() {
        Some("") => json!([""]),
        Some(e) => json!([e]),
        None => Value::Null,
    };

    // Ports: published ones are exposed too.
    let mut exposed: BTreeMap<String, Value> = BTreeMap::new();
    let mut bindings: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for p in &o.publish {
        for m in parse_port_spec(&publish_standard(p)?)? {
            exposed.insert(m.port.clone(), json!({}));
            bindings.entry(m.port).or_default().push(json!({"HostIp": m.host_ip, "HostPort": m.host_port}));
        }
    }
    for e in &o.expose {
        if e.contains(':') {
            return Err(format!("invalid port format for --expose: {e}"));
        }
        let (proto, port) = split_proto_port(e);
        let (start, end) =
            parse_port_range(&port).map_err(|err| format!("invalid range format for --expose: {e}, error: {err}"))?;
        for p in start..=end {
            exposed.insert(format!("{p}/{proto}"), json!({}));
        }
    }

    let mut devices = Vec::new();
    for d in &o.device {
        devices.push(parse_device(d)?);
    }

    // Environment: env files first, then -e (a name alone takes the local value), then
    // the proxy settings of config.json that -e does not set.
    let mut env_vars = Vec::new();
    for f in &o.env_file {
        env_vars.extend(parse_kv_file(f, Some(env.lookup))?);
    }
    let mut flag_env: Vec<(String, Option<String>)> = Vec::new();
    for e in &o.env {
        let (k, v) = match e.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (e.clone(), (env.lookup)(e)),
        };
        match flag_env.iter_mut().find(|(name, _)| *name == k) {
            Some(slot) => slot.1 = v,
            None => flag_env.push((k, v)),
        }
    }
    for (k, v) in &env.proxy_env {
        if !flag_env.iter().any(|(name, _)| name == k) {
            flag_env.push((k.clone(), Some(v.clone())));
        }
    }
    env_vars.extend(flag_env.into_iter().map(|(k, v)| match v {
        Some(v) => format!("{k}={v}"),
        None => k,
    }));

    let mut labels = Vec::new();
    for f in &o.label_file {
        labels.extend(parse_kv_file(f, None)?);
    }
    labels.extend(o.label.iter().cloned());

    let pid_ok = o.pid.is_empty() || o.pid == "host" || o.pid.strip_prefix("container:").is_some_and(|c| !c.is_empty());
    if !pid_ok {
        return Err("--pid: invalid PID mode".into());
    }
    if !(o.uts.is_empty() || o.uts == "host") {
        return Err("--uts: invalid UTS mode".into());
    }
    if !(o.userns.is_empty() || o.userns == "host") {
        return Err("--userns: invalid USER mode".into());
    }
    if !matches!(o.cgroupns.as_str(), "" | "host" | "private") {
        return Err("--cgroupns: invalid CGROUP mode".into());
    }
    let (restart_name, restart_max) = parse_restart_policy(&o.restart)?;
    if o.log_driver == "none" && !o.log_opt.is_empty() {
        return Err(format!("invalid logging opts for driver {}", o.log_driver));
    }
    let (security, unconfined) = security_opts(&o.security_opt)?;
    let mut storage = Map::new();
    for s in &o.storage_opt {
        let Some((k, v)) = s.split_once('=') else { return Err("invalid storage option".into()) };
        storage.insert(k.into(), json!(v));
    }

    // Health check.
    let durations = [
        ("interval", o.health_interval),
        ("timeout", o.health_timeout),
        ("start-period", o.health_start_period),
        ("start-interval", o.health_start_interval),
    ];
    let have_health =
        !o.health_cmd.is_empty() || durations.iter().any(|(_, d)| d.is_some_and(|d| d != 0)) || o.health_retries != 0;
    let healthcheck = if o.no_healthcheck {
        if have_health {
            return Err("--no-healthcheck conflicts with --health-* options".into());
        }
        Some(json!({"Test": ["NONE"]}))
    } else if have_health {
        for (name, d) in &durations {
            if d.is_some_and(|d| d < 0) {
                return Err(format!("--health-{name} cannot be negative"));
            }
        }
        if o.health_retries < 0 {
            return Err("--health-retries cannot be negative".into());
        }
        let mut h = Map::new();
        if !o.health_cmd.is_empty() {
            h.insert("Test".into(), json!(["CMD-SHELL", o.health_cmd]));
        }
        for (key, d) in [
            ("Interval", o.health_interval),
            ("Timeout", o.health_timeout),
            ("StartPeriod", o.health_start_period),
            ("StartInterval", o.health_start_interval),
        ] {
            if let Some(d) = d.filter(|d| *d != 0) {
                h.insert(key.into(), json!(d));
            }
        }
        if o.health_retries != 0 {
            h.insert("Retries".into(), json!(o.health_retries));
        }
        Some(Value::Object(h))
    } else {
        None
    };

    let mac_in_endpoint = env.api >= (1, 44);
    let endpoints = endpoints_config(o, mac_in_endpoint)?;
    let network_mode = o.network.first().map(|n| n.target.clone()).unwrap_or_else(|| "default".into());

    let port_bindings: Map<String, Value> = bindings.into_iter().map(|(k, v)| (k, Value::Array(v))).collect();
    let ulimits: Vec<Value> = {
        let mut by_name: Vec<&Ulimit> = Vec::new();
        for u in &o.ulimit {
            match by_name.iter_mut().find(|x| x.name == u.name) {
                Some(slot) => *slot = u,
                None => by_name.push(u),
            }
        }
        by_name.iter().map(|u| json!({"Name": u.name, "Hard": u.hard, "Soft": u.soft})).collect()
    };

    let mut host = json!({
        "Binds": list_or_null(&binds),
        "ContainerIDFile": o.cidfile,
        "LogConfig": {"Type": o.log_driver, "Config": kv_map(&o.log_opt)},
        "NetworkMode": network_mode,
        "PortBindings": port_bindings,
        "RestartPolicy": {"Name": restart_name, "MaximumRetryCount": restart_max},
        "AutoRemove": o.rm,
        "VolumeDriver": o.volume_driver,
        "VolumesFrom": list_or_null(&o.volumes_from),
        "ConsoleSize": [env.console_size.0, env.console_size.1],
        "CapAdd": normalize_caps(&o.cap_add),
        "CapDrop": normalize_caps(&o.cap_drop),
        "CgroupnsMode": o.cgroupns,
        "Dns": o.dns,
        "DnsOptions": o.dns_option,
        "DnsSearch": o.dns_search,
        "ExtraHosts": list_or_null(&o.add_host),
        "GroupAdd": list_or_null(&o.group_add),
        "IpcMode": o.ipc,
        "Cgroup": "",
        "Links": list_or_null(&o.link),
        "OomScoreAdj": o.oom_score_adj,
        "PidMode": o.pid,
        "Privileged": o.privileged,
        "PublishAllPorts": o.publish_all,
        "ReadonlyRootfs": o.read_only,
        "SecurityOpt": list_or_null(&security),
        "UTSMode": o.uts,
        "UsernsMode": o.userns,
        "ShmSize": o.shm_size,
        "Isolation": o.isolation,
    });
    // The resources (split for the macro's recursion limit).
    let resources = json!({
        "CpuShares": o.cpu_shares,
        "Memory": o.memory,
        "NanoCpus": o.cpus.unwrap_or(0),
        "CgroupParent": o.cgroup_parent,
        "BlkioWeight": o.blkio_weight,
        "BlkioWeightDevice": [],
        "BlkioDeviceReadBps": [],
        "BlkioDeviceWriteBps": [],
        "BlkioDeviceReadIOps": [],
        "BlkioDeviceWriteIOps": [],
        "CpuPeriod": o.cpu_period,
        "CpuQuota": o.cpu_quota,
        "CpuRealtimePeriod": o.cpu_rt_period,
        "CpuRealtimeRuntime": o.cpu_rt_runtime,
        "CpusetCpus": o.cpuset_cpus,
        "CpusetMems": o.cpuset_mems,
        "Devices": devices,
        "DeviceCgroupRules": list_or_null(&o.device_cgroup_rule),
        "DeviceRequests": null,
        "MemoryReservation": o.memory_reservation,
        "MemorySwap": o.memory_swap,
        "MemorySwappiness": o.memory_swappiness,
        "OomKillDisable": o.oom_kill_disable,
        "PidsLimit": o.pids_limit,
        "Ulimits": ulimits,
        "CpuCount": 0,
        "CpuPercent": 0,
        "IOMaximumIOps": 0,
        "IOMaximumBandwidth": 0,
        "MaskedPaths": if unconfined.is_some() { json!([]) } else { Value::Null },
        "ReadonlyPaths": if unconfined.is_some() { json!([]) } else { Value::Null },
    });
    let h = host.as_object_mut().ok_or("host config")?;
    if let Value::Object(r) = resources {
        h.extend(r);
    }
    if !o.mount.is_empty() {
        h.insert("Mounts".into(), json!(o.mount));
    }
    if !tmpfs.is_empty() {
        h.insert("Tmpfs".into(), Value::Object(tmpfs));
    }
    if !o.sysctl.is_empty() {
        h.insert("Sysctls".into(), Value::Object(kv_map(&o.sysctl)));
    }
    if !storage.is_empty() {
        h.insert("StorageOpt".into(), Value::Object(storage));
    }
    if !o.runtime.is_empty() {
        h.insert("Runtime".into(), json!(o.runtime));
    }
    if !o.annotation.is_empty() {
        h.insert("Annotations".into(), Value::Object(kv_map(&o.annotation)));
    }
    if let Some(init) = o.init {
        h.insert("Init".into(), json!(init));
    }
    if o.rm && !matches!(restart_name.as_str(), "no" | "") {
        return Err("conflicting options: cannot specify both --restart and --rm".into());
    }

    let open_stdin = o.interactive;
    let stdin_once = open_stdin && attach_stdin;
    let mut body = json!({
        "Hostname": o.hostname,
        "Domainname": o.domainname,
        "User": o.user,
        "AttachStdin": attach_stdin,
        "AttachStdout": attach_stdout,
        "AttachStderr": attach_stderr,
        "Tty": o.tty,
        "OpenStdin": open_stdin,
        "StdinOnce": stdin_once,
        "Env": list_or_null(&env_vars),
        "Cmd": list_or_null(cmd),
        "Image": image,
        "Volumes": volumes,
        "WorkingDir": o.workdir,
        "Entrypoint": entrypoint,
        "OnBuild": null,
        "Labels": kv_map(&labels),
        "HostConfig": host,
        "NetworkingConfig": {"EndpointsConfig": endpoints},
    });
    let b = body.as_object_mut().ok_or("body")?;
    if !exposed.is_empty() {
        b.insert("ExposedPorts".into(), json!(exposed));
    }
    if let Some(h) = healthcheck {
        b.insert("Healthcheck".into(), h);
    }
    if let Some(s) = o.stop_signal.as_deref().filter(|s| !s.is_empty()) {
        b.insert("StopSignal".into(), json!(s));
    }
    if let Some(t) = o.stop_timeout {
        b.insert("StopTimeout".into(), json!(t));
    }
    if !o.mac_address.is_empty() && !mac_in_endpoint {
        b.insert("MacAddress".into(), json!(o.mac_address));
    }
    Ok(CreateRequest { body, attach_stdin, attach_stdout, attach_stderr, tty: o.tty, auto_remove: o.rm })
}

/// The proxy variables docker adds from config.json's `proxies` (the entry of
/// `host`, else `default`), upper- and lower-case, in a fixed order.
pub(crate) fn proxy_env(proxies: Option<&Value>, host: &str) -> Vec<(String, String)> {
    let Some(p) = proxies.and_then(Value::as_object) else { return Vec::new() };
    let Some(cfg) = p.get(host).or_else(|| p.get("default")) else { return Vec::new() };
    let mut out = Vec::new();
    for (var, key) in [
        ("HTTP_PROXY", "httpProxy"),
        ("HTTPS_PROXY", "httpsProxy"),
        ("NO_PROXY", "noProxy"),
        ("FTP_PROXY", "ftpProxy"),
        ("ALL_PROXY", "allProxy"),
    ] {
        if let Some(v) = cfg.get(key).and_then(Value::as_str).filter(|v| !v.is_empty()) {
            out.push((var.to_string(), v.to_string()));
            out.push((var.to_lowercase(), v.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    #[command(disable_help_flag = true)]
    struct T {
        #[command(flatten)]
        o: ContainerOpts,
    }

    fn opts(args: &[&str]) -> ContainerOpts {
        let mut all = vec!["t"];
        all.extend_from_slice(args);
        T::try_parse_from(all).unwrap_or_else(|e| panic!("{args:?}: {e}")).o
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn body(args: &[&str]) -> Value {
        build_with(args, &no_env).expect("build").body
    }

    fn build_with(args: &[&str], lookup: &dyn Fn(&str) -> Option<String>) -> Result<CreateRequest, String> {
        let env =
            BuildEnv { api: (1, 45), cwd: Path::new("/work/dir"), lookup, console_size: (0, 0), proxy_env: Vec::new() };
        build(&opts(args), "busybox", &[], &env)
    }

    /// The body the docker 28.2 CLI sends for `docker create busybox` (captured from a
    /// fake daemon), field for field.
    #[test]
    fn default_body_like_docker() {
        let want: Value = serde_json::from_str(
            r#"{
            "Hostname": "", "Domainname": "", "User": "", "AttachStdin": false, "AttachStdout": true,
            "AttachStderr": true, "Tty": false, "OpenStdin": false, "StdinOnce": false, "Env": null, "Cmd": null,
            "Image": "busybox", "Volumes": {}, "WorkingDir": "", "Entrypoint": null, "OnBuild": null, "Labels": {},
            "HostConfig": {
                "Binds": null, "ContainerIDFile": "", "LogConfig": {"Type": "", "Config": {}}, "NetworkMode": "default",
                "PortBindings": {}, "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}, "AutoRemove": false,
                "VolumeDriver": "", "VolumesFrom": null, "ConsoleSize": [0, 0], "CapAdd": null, "CapDrop": null,
                "CgroupnsMode": "", "Dns": [], "DnsOptions": [], "DnsSearch": [], "ExtraHosts": null, "GroupAdd": null,
                "IpcMode": "", "Cgroup": "", "Links": null, "OomScoreAdj": 0, "PidMode": "", "Privileged": false,
                "PublishAllPorts": false, "ReadonlyRootfs": false, "SecurityOpt": null, "UTSMode": "", "UsernsMode": "",
                "ShmSize": 0, "Isolation": "", "CpuShares": 0, "Memory": 0, "NanoCpus": 0, "CgroupParent": "",
                "BlkioWeight": 0, "BlkioWeightDevice": [], "BlkioDeviceReadBps": [], "BlkioDeviceWriteBps": [],
                "BlkioDeviceReadIOps": [], "BlkioDeviceWriteIOps": [], "CpuPeriod": 0, "CpuQuota": 0,
                "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0, "CpusetCpus": "", "CpusetMems": "", "Devices": [],
                "DeviceCgroupRules": null, "DeviceRequests": null, "MemoryReservation": 0, "MemorySwap": 0,
                "MemorySwappiness": -1, "OomKillDisable": false, "PidsLimit": 0, "Ulimits": [], "CpuCount": 0,
                "CpuPercent": 0, "IOMaximumIOps": 0, "IOMaximumBandwidth": 0, "MaskedPaths": null, "ReadonlyPaths": null
            },
            "NetworkingConfig": {"EndpointsConfig": {"default": {
                "IPAMConfig": null, "Links": null, "Aliases": null, "MacAddress": "", "DriverOpts": null, "GwPriority": 0,
                "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
                "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": null
            }}}
        }"#,
        )
        .expect("json");
        assert_eq!(body(&[]), want);
    }

    #[test]
    fn resources_and_units() {
        let b = body(&[
            "-m",
            "512m",
            "--memory-swap",
            "1g",
            "--memory-reservation",
            "256m",
            "--cpus",
            "1.5",
            "--cpu-shares",
            "512",
            "--cpu-quota",
            "50000",
            "--cpu-period",
            "100000",
            "--cpuset-cpus",
            "0-1",
            "--pids-limit",
            "100",
            "--blkio-weight",
            "300",
            "--oom-kill-disable",
            "--shm-size",
            "64m",
        ]);
        let h = &b["HostConfig"];
        assert_eq!(h["Memory"], 536_870_912);
        assert_eq!(h["MemorySwap"], 1_073_741_824);
        assert_eq!(h["MemoryReservation"], 268_435_456);
        assert_eq!(h["NanoCpus"], 1_500_000_000);
        assert_eq!(h["CpuShares"], 512);
        assert_eq!(h["CpuQuota"], 50000);
        assert_eq!(h["CpuPeriod"], 100_000);
        assert_eq!(h["CpusetCpus"], "0-1");
        assert_eq!(h["PidsLimit"], 100);
        assert_eq!(h["BlkioWeight"], 300);
        assert_eq!(h["OomKillDisable"], true);
        assert_eq!(h["ShmSize"], 67_108_864);
        assert_eq!(body(&["--memory-swap", "-1", "--pids-limit", "-1"])["HostConfig"]["MemorySwap"], -1);
    }

    /// go-units `RAMInBytes`, checked against the docker 28.2 CLI where noted.
    #[test]
    fn ram_in_bytes_like_go_units() {
        for (s, want) in [
            ("1.5g", 1_610_612_736),
            ("100", 100),
            ("10k", 10240),
            ("1b", 1),
            ("1KiB", 1024),
            ("1 MB", 1_048_576),
            ("2T", 2_199_023_255_552),
            ("0.5k", 512),
            ("1p", 1_125_899_906_842_624),
        ] {
            assert_eq!(ram_in_bytes(s), Ok(want), "{s}");
        }
        assert_eq!(ram_in_bytes("x"), Err("invalid size: 'x'".into()));
        assert_eq!(ram_in_bytes("-1"), Err("invalid size: '-1'".into()));
        assert_eq!(ram_in_bytes("1kk"), Err("invalid suffix: 'kk'".into()));
        assert_eq!(ram_in_bytes("1bb"), Err("invalid suffix: 'bb'".into()));
        assert_eq!(ram_in_bytes("1x"), Err("invalid suffix: 'x'".into()));
        assert_eq!(ram_in_bytes("1.2.3m"), Err("strconv.ParseFloat: parsing \"1.2.3\": invalid syntax".into()));
        assert_eq!(parse_mem_swap("-1"), Ok(-1));
    }

    #[test]
    fn nano_cpus_like_big_rat() {
        assert_eq!(parse_nano_cpus("1.5"), Ok(1_500_000_000));
        assert_eq!(parse_nano_cpus("0.001"), Ok(1_000_000));
        assert_eq!(parse_nano_cpus("2"), Ok(2_000_000_000));
        assert_eq!(parse_nano_cpus("3/2"), Ok(1_500_000_000));
        assert_eq!(parse_nano_cpus("1e-3"), Ok(1_000_000));
        assert_eq!(parse_nano_cpus(".5"), Ok(500_000_000));
        assert_eq!(parse_nano_cpus("0.0000000001"), Err("value is too precise".into()));
        assert_eq!(parse_nano_cpus("abc"), Err("failed to parse abc as a rational number".into()));
    }

    #[test]
    fn env_and_env_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("env.list");
        std::fs::write(&f, "\u{feff}A=1\n# comment\nB\n\nC=x y\n  D=spaced  \nUNSET\r\n").expect("write");
        let path = f.to_str().expect("path");
        let lookup = |k: &str| match k {
            "B" => Some("fromhost".to_string()),
            "HOME" => Some("/root".to_string()),
            _ => None,
        };
        let b = build_with(&["-e", "X=1", "-e", "HOME", "-e", "FOO_UNSET", "--env-file", path, "-e", "X=2"], &lookup)
            .expect("build")
            .body;
        assert_eq!(b["Env"], json!(["A=1", "B=fromhost", "C=x y", "D=spaced  ", "X=2", "HOME=/root", "FOO_UNSET"]));
        std::fs::write(&f, "BAD NAME=1\n").expect("write");
        assert_eq!(
            build_with(&["--env-file", path], &no_env).expect_err("bad").as_str(),
            "poorly formatted environment: variable 'BAD NAME' contains whitespaces"
        );
        std::fs::write(&f, "=x\n").expect("write");
        assert_eq!(
            build_with(&["--env-file", path], &no_env).expect_err("bad").as_str(),
            "poorly formatted environment: no variable name on line '=x'"
        );
        assert!(build_with(&["--env-file", "/nonexistent/e"], &no_env)
            .expect_err("missing")
            .starts_with("open /nonexistent/e: no such file or directory"));
        // Label files drop names without values.
        std::fs::write(&f, "a=1\nb\nc=x=y\n").expect("write");
        let b = build_with(&["--label-file", path, "-l", "d", "-l", "a=2"], &lookup).expect("labels").body;
        assert_eq!(b["Labels"], json!({"a": "2", "c": "x=y", "d": ""}));
        assert!(T::try_parse_from(["t", "-e", "=x"]).is_err());
        assert!(T::try_parse_from(["t", "-l", "=x"]).is_err());
    }

    #[test]
    fn proxies_from_config() {
        let cfg = json!({"default": {"httpProxy": "http://p:3128", "noProxy": "localhost"}});
        let env = proxy_env(Some(&cfg), "unix:///run/wharf/wharf.sock");
        assert_eq!(
            env,
            vec![
                ("HTTP_PROXY".into(), "http://p:3128".into()),
                ("http_proxy".into(), "http://p:3128".into()),
                ("NO_PROXY".into(), "localhost".into()),
                ("no_proxy".into(), "localhost".into()),
            ]
        );
        let lookup = no_env;
        let build_env =
            BuildEnv { api: (1, 45), cwd: Path::new("/"), lookup: &lookup, console_size: (0, 0), proxy_env: env };
        let r = build(&opts(&["-e", "http_proxy=mine"]), "busybox", &[], &build_env).expect("build");
        assert_eq!(
            r.body["Env"],
            json!(["http_proxy=mine", "HTTP_PROXY=http://p:3128", "NO_PROXY=localhost", "no_proxy=localhost"])
        );
    }

    #[test]
    fn restart_policies() {
        assert_eq!(parse_restart_policy("no"), Ok(("no".into(), 0)));
        assert_eq!(parse_restart_policy("on-failure:3"), Ok(("on-failure".into(), 3)));
        assert_eq!(parse_restart_policy("on-failure"), Ok(("on-failure".into(), 0)));
        assert_eq!(parse_restart_policy("always:3"), Ok(("always".into(), 3)));
        assert_eq!(parse_restart_policy("bogus"), Ok(("bogus".into(), 0)));
        assert_eq!(
            parse_restart_policy("on-failure:x"),
            Err("invalid restart policy format: maximum retry count must be an integer".into())
        );
        assert_eq!(
            parse_restart_policy(":3"),
            Err("invalid restart policy format: no policy provided before colon".into())
        );
        let b = body(&["--restart", "on-failure:3"]);
        assert_eq!(b["HostConfig"]["RestartPolicy"], json!({"Name": "on-failure", "MaximumRetryCount": 3}));
        assert_eq!(
            build_with(&["--rm", "--restart", "always"], &no_env).expect_err("conflict"),
            "conflicting options: cannot specify both --restart and --rm"
        );
        assert_eq!(body(&["--rm"])["HostConfig"]["AutoRemove"], true);
    }

    /// Port specs as go-connections parses them (the shapes the docker 28.2 CLI sends).
    #[test]
    fn ports_like_nat() {
        let b = body(&[
            "-p",
            "8080:80",
            "-p",
            "127.0.0.1:53:53/udp",
            "-p",
            "9000",
            "-p",
            "7000-7001:7000-7001",
            "-p",
            "[::1]:8081:81",
            "-p",
            "8000-8001:82",
            "-p",
            "1.2.3.4::83",
            "-p",
            "published=84,target=85",
            "--expose",
            "3000",
            "--expose",
            "4000-4001/udp",
        ]);
        assert_eq!(
            b["HostConfig"]["PortBindings"],
            json!({
                "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "53"}],
                "7000/tcp": [{"HostIp": "", "HostPort": "7000"}],
                "7001/tcp": [{"HostIp": "", "HostPort": "7001"}],
                "80/tcp": [{"HostIp": "", "HostPort": "8080"}],
                "81/tcp": [{"HostIp": "::1", "HostPort": "8081"}],
                "82/tcp": [{"HostIp": "", "HostPort": "8000-8001"}],
                "83/tcp": [{"HostIp": "1.2.3.4", "HostPort": ""}],
                "85/tcp": [{"HostIp": "", "HostPort": "84"}],
                "9000/tcp": [{"HostIp": "", "HostPort": ""}],
            })
        );
        let exposed: Vec<&String> = b["ExposedPorts"].as_object().expect("exposed").keys().collect();
        assert_eq!(
            exposed,
            [
                "3000/tcp", "4000/udp", "4001/udp", "53/udp", "7000/tcp", "7001/tcp", "80/tcp", "81/tcp", "82/tcp",
                "83/tcp", "85/tcp", "9000/tcp"
            ]
        );
        assert!(body(&[]).get("ExposedPorts").is_none());
        for (spec, err) in [
            ("99999:80", "invalid hostPort: 99999"),
            ("foo", "invalid containerPort: foo"),
            ("80/xyz", "invalid proto: xyz"),
            ("1.2.3:80:80", "invalid IP address: 1.2.3"),
            ("80-81:90-92", "invalid ranges specified for container and host Ports: 90-92 and 80-81"),
        ] {
            assert_eq!(parse_port_spec(spec), Err(err.to_string()), "{spec}");
        }
    }

    #[test]
    fn volumes_mounts_tmpfs() {
        let b = body(&[
            "-v",
            "/data:/data:ro",
            "-v",
            "myvol:/vol",
            "-v",
            "/anon",
            "-v",
            "./rel:/x",
            "--tmpfs",
            "/run:rw,size=64m",
            "--tmpfs",
            "/tmp2",
            "--mount",
            "type=bind,src=/src,dst=/dst,readonly",
            "--mount",
            "type=volume,source=v2,target=/v2",
            "--mount",
            "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770",
        ]);
        assert_eq!(b["HostConfig"]["Binds"], json!(["/data:/data:ro", "myvol:/vol", "/work/dir/rel:/x"]));
        assert_eq!(b["Volumes"], json!({"/anon": {}}));
        assert_eq!(b["HostConfig"]["Tmpfs"], json!({"/run": "rw,size=64m", "/tmp2": ""}));
        assert_eq!(
            b["HostConfig"]["Mounts"],
            json!([
                {"Type": "bind", "Source": "/src", "Target": "/dst", "ReadOnly": true},
                {"Type": "volume", "Source": "v2", "Target": "/v2"},
                {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1_048_576, "Mode": 1016}},
            ])
        );
        assert_eq!(
            parse_mount_in(
                "type=volume,src=v,dst=/d,volume-opt=a=b,volume-nocopy,volume-driver=local,volume-label=l=1",
                Path::new("/")
            ),
            Ok(json!({"Type": "volume", "Source": "v", "Target": "/d", "VolumeOptions": {
                "DriverConfig": {"Name": "local", "Options": {"a": "b"}}, "Labels": {"l": "1"}, "NoCopy": true}}))
        );
        assert_eq!(
            parse_mount_in("type=volume,dst=/d,volume-nocopy", Path::new("/")),
            Ok(json!({"Type": "volume", "Target": "/d", "VolumeOptions": {"DriverConfig": {}, "NoCopy": true}}))
        );
        assert_eq!(parse_mount_in("type=foo", Path::new("/")), Err("target is required".into()));
        assert_eq!(
            parse_mount_in("type=tmpfs,dst=/x,volume-nocopy", Path::new("/")),
            Err("cannot mix 'volume-*' options with mount type 'tmpfs'".into())
        );
        assert_eq!(
            parse_mount_in("type=bind,src=/s,dst=/t,readonly,bind-recursive=readonly", Path::new("/")),
            Err("option 'bind-recursive=readonly' requires 'bind-propagation=rprivate' to be specified in conjunction"
                .into())
        );
        assert_eq!(
            parse_mount_in("type=bind,dst=/t,bogus=1", Path::new("/")),
            Err("unexpected key 'bogus' in 'bogus=1'".into())
        );
        assert_eq!(
            parse_mount_in("\"type=bind\",dst=/t", Path::new("/")).map(|v| v["Type"].clone()),
            Ok(json!("bind"))
        );
        assert_eq!(parse_volume_spec(":/x"), Err("invalid spec: :/x: empty section between colons".into()));
        assert_eq!(parse_volume_spec("ab:cd:ef:gh"), Err("invalid spec: ab:cd:ef:gh: too many colons".into()));
        assert_eq!(parse_volume_spec("/a:/b:ro:x"), Err("invalid spec: /a:/b:ro:x: too many colons".into()));
        assert_eq!(parse_volume_spec("ab:b:c:d"), Ok(("ab".into(), "b:c".into())));
        // "a:" reads as a Windows drive, so docker takes `a:b:c:d` (source "a:b").
        assert_eq!(parse_volume_spec("a:b:c:d"), Ok(("a:b".into(), "c:d".into())));
        assert_eq!(body(&["-v", "a:b:c:d"])["HostConfig"]["Binds"], json!(["a:b:c:d"]));
        assert_eq!(parse_volume_spec("a"), Ok((String::new(), "a".into())));
    }

    #[test]
    fn devices_caps_security() {
        let b = body(&[
            "--device",
            "/dev/fuse",
            "--device",
            "/dev/sda:/dev/xvda:rw",
            "--device",
            "/dev/a:r",
            "--cap-add",
            "sys_admin",
            "--cap-add",
            "ALL",
            "--cap-add",
            "CAP_SYS_ADMIN",
            "--cap-drop",
            "cap_chown",
            "--security-opt",
            "seccomp=unconfined",
            "--security-opt",
            "systempaths=unconfined",
            "--security-opt",
            "label:disable",
        ]);
        assert_eq!(
            b["HostConfig"]["Devices"],
            json!([
                {"CgroupPermissions": "rwm", "PathInContainer": "/dev/fuse", "PathOnHost": "/dev/fuse"},
                {"CgroupPermissions": "rw", "PathInContainer": "/dev/xvda", "PathOnHost": "/dev/sda"},
                {"CgroupPermissions": "r", "PathInContainer": "/dev/a", "PathOnHost": "/dev/a"},
            ])
        );
        assert_eq!(b["HostConfig"]["CapAdd"], json!(["ALL", "CAP_SYS_ADMIN"]));
        assert_eq!(b["HostConfig"]["CapDrop"], json!(["CAP_CHOWN"]));
        assert_eq!(b["HostConfig"]["SecurityOpt"], json!(["seccomp=unconfined", "label:disable"]));
        assert_eq!(b["HostConfig"]["MaskedPaths"], json!([]));
        assert_eq!(parse_device("/dev/x:rel"), Err("rel is not an absolute path".into()));
        assert_eq!(parse_device("/dev/x:/y:zz"), Err("bad mode specified: zz".into()));
        assert_eq!(
            build_with(&["--security-opt", "seccomp"], &no_env).expect_err("bad"),
            "invalid --security-opt: \"seccomp\""
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("s.json");
        std::fs::write(&p, "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\"\n}\n").expect("write");
        let arg = format!("seccomp={}", p.display());
        let b = body(&["--security-opt", &arg]);
        assert_eq!(b["HostConfig"]["SecurityOpt"], json!(["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"]));
    }

    #[test]
    fn networks() {
        let b = body(&["--network", "bridge"]);
        assert_eq!(b["HostConfig"]["NetworkMode"], "bridge");
        assert_eq!(b["NetworkingConfig"]["EndpointsConfig"], json!({}));
        let b = body(&["--network", "mynet", "--network-alias", "web", "--mac-address", "92:d0:c6:0a:29:33"]);
        let ep = &b["NetworkingConfig"]["EndpointsConfig"]["mynet"];
        assert_eq!(ep["Aliases"], json!(["web"]));
        assert_eq!(ep["MacAddress"], "92:d0:c6:0a:29:33");
        assert!(b.get("MacAddress").is_none());
        let b = body(&["--network", "none", "--ip", "1.2.3.4"]);
        assert_eq!(b["NetworkingConfig"]["EndpointsConfig"]["none"]["IPAMConfig"], json!({"IPv4Address": "1.2.3.4"}));
        let b = body(&["--network", "name=n1,alias=a1,driver-opt=k=v"]);
        assert_eq!(b["NetworkingConfig"]["EndpointsConfig"]["n1"]["DriverOpts"], json!({"k": "v"}));
        assert_eq!(
            build_with(&["--network-alias", "x"], &no_env).expect_err("alias"),
            "network-scoped aliases are only supported for user-defined networks"
        );
        assert_eq!(
            build_with(&["--network", "host", "--network", "mynet"], &no_env).expect_err("mix"),
            "conflicting options: cannot attach both user-defined and non-user-defined network-modes"
        );
        assert_eq!(build_with(&["--mac-address", "zz"], &no_env).expect_err("mac"), "zz is not a valid mac address");
    }

    #[test]
    fn config_fields() {
        let b = body(&[
            "-h",
            "myhost",
            "-u",
            "1000:1000",
            "-w",
            "/tmp",
            "--entrypoint",
            "/bin/sh",
            "-t",
            "-i",
            "--stop-signal",
            "SIGINT",
            "--stop-timeout",
            "5",
            "--init",
            "--health-cmd",
            "true",
            "--health-interval",
            "5s",
            "--health-retries",
            "3",
            "--log-driver",
            "json-file",
            "--log-opt",
            "max-size=10m",
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "--ulimit",
            "nofile=1024:2048",
            "--ulimit",
            "nproc=10",
            "--add-host",
            "h:1.2.3.4",
            "--add-host",
            "g=[::1]",
            "--dns",
            "8.8.8.8",
            "--dns-search",
            "example.com",
            "--dns-opt",
            "ndots:2",
            "--group-add",
            "10",
            "--pid",
            "host",
            "--ipc",
            "private",
            "--uts",
            "host",
            "--cgroupns",
            "private",
            "--privileged",
            "--read-only",
        ]);
        assert_eq!(b["Hostname"], "myhost");
        assert_eq!(b["User"], "1000:1000");
        assert_eq!(b["WorkingDir"], "/tmp");
        assert_eq!(b["Entrypoint"], json!(["/bin/sh"]));
        assert_eq!(
            (b["Tty"].clone(), b["OpenStdin"].clone(), b["StdinOnce"].clone()),
            (json!(true), json!(true), json!(true))
        );
        assert_eq!(b["AttachStdin"], true);
        assert_eq!(b["StopSignal"], "SIGINT");
        assert_eq!(b["StopTimeout"], 5);
        assert_eq!(
            b["Healthcheck"],
            json!({"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000i64, "Retries": 3})
        );
        let h = &b["HostConfig"];
        assert_eq!(h["Init"], true);
        assert_eq!(h["LogConfig"], json!({"Type": "json-file", "Config": {"max-size": "10m"}}));
        assert_eq!(h["Sysctls"], json!({"net.ipv4.ip_forward": "1"}));
        assert_eq!(
            h["Ulimits"],
            json!([{"Name": "nofile", "Soft": 1024, "Hard": 2048}, {"Name": "nproc", "Soft": 10, "Hard": 10}])
        );
        assert_eq!(h["ExtraHosts"], json!(["h:1.2.3.4", "g:::1"]));
        assert_eq!(h["Dns"], json!(["8.8.8.8"]));
        assert_eq!(h["DnsSearch"], json!(["example.com"]));
        assert_eq!(h["DnsOptions"], json!(["ndots:2"]));
        assert_eq!(h["GroupAdd"], json!(["10"]));
        assert_eq!(
            (h["PidMode"].clone(), h["IpcMode"].clone(), h["UTSMode"].clone()),
            (json!("host"), json!("private"), json!("host"))
        );
        assert_eq!(h["CgroupnsMode"], "private");
        assert_eq!((h["Privileged"].clone(), h["ReadonlyRootfs"].clone()), (json!(true), json!(true)));
        assert_eq!(body(&["--entrypoint", ""])["Entrypoint"], json!([""]));
        assert_eq!(body(&["--init=false"])["HostConfig"]["Init"], false);
        assert!(body(&[])["HostConfig"].get("Init").is_none());
        assert_eq!(body(&["--stop-timeout", "0"])["StopTimeout"], 0);
        assert_eq!(body(&["--no-healthcheck"])["Healthcheck"], json!({"Test": ["NONE"]}));
        let b = body(&["-a", "stdin", "-a", "STDOUT"]);
        assert_eq!(
            (b["AttachStdin"].clone(), b["AttachStdout"].clone(), b["AttachStderr"].clone()),
            (json!(true), json!(true), json!(false))
        );
        assert_eq!(build_with(&["--pid", "bogus"], &no_env).expect_err("pid"), "--pid: invalid PID mode");
        assert_eq!(build_with(&["--cgroupns", "x"], &no_env).expect_err("cgroupns"), "--cgroupns: invalid CGROUP mode");
        assert_eq!(
            build_with(&["--log-driver", "none", "--log-opt", "a=b"], &no_env).expect_err("log"),
            "invalid logging opts for driver none"
        );
        assert_eq!(
            build_with(&["--memory-swappiness", "101"], &no_env).expect_err("swappiness"),
            "invalid value: 101. Valid memory swappiness range is 0-100"
        );
    }

    #[test]
    fn flag_value_errors() {
        assert_eq!(parse_ulimit("nofile=x"), Err("strconv.ParseInt: parsing \"x\": invalid syntax".into()));
        assert_eq!(parse_ulimit("bogus=1"), Err("invalid ulimit type: bogus".into()));
        assert_eq!(
            parse_ulimit("nofile=10:5"),
            Err("ulimit soft limit must be less than or equal to hard limit: 10 > 5".into())
        );
        assert_eq!(parse_sysctl("foo"), Err("sysctl 'foo' is not allowed".into()));
        assert_eq!(parse_sysctl("kernel.hostname=x"), Err("sysctl 'kernel.hostname=x' is not allowed".into()));
        assert_eq!(parse_extra_host("foo"), Err("bad format for add-host: \"foo\"".into()));
        assert_eq!(parse_extra_host("foo:bar"), Err("invalid IP address in add-host: \"bar\"".into()));
        assert_eq!(parse_extra_host("gw:host-gateway"), Ok("gw:host-gateway".into()));
        assert_eq!(parse_ip_address("notanip"), Err("IP address is not correctly formatted: notanip".into()));
        assert_eq!(parse_ip_address("::ffff:1.2.3.4"), Ok("1.2.3.4".into()));
        assert_eq!(parse_duration("5"), Err("time: missing unit in duration \"5\"".into()));
        assert_eq!(parse_duration("5d"), Err("time: unknown unit \"d\" in duration \"5d\"".into()));
        assert_eq!(parse_duration("x"), Err("time: invalid duration \"x\"".into()));
        assert_eq!(parse_duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_attach("STDERR"), Ok("stderr".into()));
        assert_eq!(parse_attach("x"), Err("valid streams are STDIN, STDOUT and STDERR".into()));
        assert_eq!(parse_dns_search("example.com."), Ok("example.com".into()));
        assert!(parse_dns_search("-x.com").is_err());
        assert_eq!(parse_device_cgroup_rule("c 1:3 mr"), Ok("c 1:3 mr".into()));
        assert!(parse_device_cgroup_rule("x 1:3 mr").is_err());
        assert_eq!(parse_go_int("12"), Ok(12));
        assert_eq!(parse_go_int("1x"), Err("strconv.ParseInt: parsing \"1x\": invalid syntax".into()));
        assert_eq!(csv_fields("a,\"b,c\",\"d\"\"e\""), Ok(vec!["a".into(), "b,c".into(), "d\"e".into()]));
        assert!(csv_fields("a\"b").is_err());
        assert_eq!(clean_path("/dev/../dev//x/."), "/dev/x");
    }
}
