//! Daemon configuration: dockerd's flag names, `daemon.json` with dockerd's keys, and the rules
//! between them (a directive set both as a flag and in the file is an error; unknown keys in the
//! file are errors; some keys can be reloaded with SIGHUP).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};

/// Default data root.
pub const DEFAULT_DATA_ROOT: &str = "/var/lib/wharf";
/// Default exec root.
pub const DEFAULT_EXEC_ROOT: &str = "/run/wharf";
/// Default socket.
pub const DEFAULT_HOST: &str = "unix:///run/wharf/wharf.sock";
/// Default configuration file.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/wharf/daemon.json";
const LOG_LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "fatal"];

/// Command-line flags, named as dockerd's.
#[derive(Debug, Parser)]
#[command(
    name = "wharfd",
    about = "A self-sufficient runtime for containers (the wharf daemon, speaking the Docker Engine API)",
    version = concat!("version ", env!("CARGO_PKG_VERSION"), ", build ", env!("WHARF_GIT_COMMIT")),
    disable_version_flag = true,
    args_override_self = true
)]
pub struct Flags {
    /// Daemon socket(s) to connect to: unix:///path, tcp://host:port, fd://
    #[arg(short = 'H', long = "host", value_name = "list")]
    pub hosts: Vec<String>,
    /// Root directory of persistent wharf state
    #[arg(long = "data-root", value_name = "string", default_value = DEFAULT_DATA_ROOT)]
    pub data_root: PathBuf,
    /// Root directory for execution state files
    #[arg(long = "exec-root", value_name = "string", default_value = DEFAULT_EXEC_ROOT)]
    pub exec_root: PathBuf,
    /// Path to use for daemon PID file (default <exec-root>/wharfd.pid)
    #[arg(short = 'p', long = "pidfile", value_name = "string")]
    pub pidfile: Option<PathBuf>,
    /// Daemon configuration file
    #[arg(long = "config-file", value_name = "string", default_value = DEFAULT_CONFIG_FILE)]
    pub config_file: PathBuf,
    /// Set the logging level ("debug"|"info"|"warn"|"error"|"fatal")
    #[arg(short = 'l', long = "log-level", value_name = "string", default_value = "info")]
    pub log_level: String,
    /// Enable debug mode
    #[arg(short = 'D', long = "debug")]
    pub debug: bool,
    /// Use TLS; implied by --tlsverify. --tls=false explicitly accepts an unencrypted TCP socket
    #[arg(long = "tls", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    pub tls: Option<bool>,
    /// Use TLS and verify the remote (clients must present a certificate signed by --tlscacert)
    #[arg(long = "tlsverify", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    pub tlsverify: Option<bool>,
    /// Trust certs signed only by this CA (default "~/.docker/ca.pem")
    #[arg(long = "tlscacert", value_name = "string")]
    pub tlscacert: Option<PathBuf>,
    /// Path to TLS certificate file (default "~/.docker/cert.pem")
    #[arg(long = "tlscert", value_name = "string")]
    pub tlscert: Option<PathBuf>,
    /// Path to TLS key file (default "~/.docker/key.pem")
    #[arg(long = "tlskey", value_name = "string")]
    pub tlskey: Option<PathBuf>,
    /// Storage driver to use ("overlay2" or "vfs"; default: the one already in the data root, else overlay2 where it works)
    #[arg(short = 's', long = "storage-driver", value_name = "string")]
    pub storage_driver: Option<String>,
    /// Set parent cgroup for all containers (default "/wharf")
    #[arg(long = "cgroup-parent", value_name = "string")]
    pub cgroup_parent: Option<String>,
    /// Attach containers to a network bridge (the default `bridge` network's interface; default "wharf0")
    #[arg(short = 'b', long = "bridge", value_name = "string")]
    pub bridge: Option<String>,
    /// Network bridge IP (the default bridge's gateway address and prefix, default "172.17.0.1/16")
    #[arg(long = "bip", value_name = "string")]
    pub bip: Option<String>,
    /// Enable addition of nftables rules (NAT, isolation, published ports) (default true)
    #[arg(long = "iptables", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    pub iptables: Option<bool>,
    /// IPv4 subnet for fixed IPs (a range of the default bridge's subnet)
    #[arg(long = "fixed-cidr", value_name = "string")]
    pub fixed_cidr: Option<String>,
    /// Enable IPv6 networking on the default bridge network
    #[arg(long = "ipv6", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    pub ipv6: Option<bool>,
    /// IPv6 subnet for the default bridge network (with --ipv6; default: a /64 of the daemon's ULA prefix)
    #[arg(long = "fixed-cidr-v6", value_name = "string")]
    pub fixed_cidr_v6: Option<String>,
    /// Default address pools for node specific local networks (base=CIDR,size=N; repeatable)
    #[arg(long = "default-address-pool", value_name = "pool-options")]
    pub default_address_pool: Vec<String>,
    /// Set the containers network MTU (default 1500)
    #[arg(long = "mtu", value_name = "int")]
    pub mtu: Option<u32>,
    /// IP address that the special 'host-gateway' string in --add-host resolves to. Defaults to the IP address of the default bridge
    #[arg(long = "host-gateway-ip", value_name = "ip")]
    pub host_gateway_ip: Option<std::net::IpAddr>,
    /// Register an additional OCI compatible runtime (name=path of a runc-compatible binary)
    #[arg(long = "add-runtime", value_name = "runtime")]
    pub add_runtime: Vec<String>,
    /// Default OCI runtime for containers (default "libcontainer", embedded in the shim)
    #[arg(long = "default-runtime", value_name = "string")]
    pub default_runtime: Option<String>,
    /// Run an init in the container to forward signals and reap processes
    #[arg(long = "init", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "bool")]
    pub init: Option<bool>,
    /// Path to the docker-init binary (default: docker-init, then tini-static, from PATH)
    #[arg(long = "init-path", value_name = "string")]
    pub init_path: Option<PathBuf>,
    /// Enable insecure registry communication (CIDRs or host[:port]; 127.0.0.0/8 and localhost always are)
    #[arg(long = "insecure-registry", value_name = "list")]
    pub insecure_registry: Vec<String>,
    /// Preferred Docker registry mirror
    #[arg(long = "registry-mirror", value_name = "list")]
    pub registry_mirror: Vec<String>,
    /// Set the max concurrent downloads (default 3)
    #[arg(long = "max-concurrent-downloads", value_name = "int")]
    pub max_concurrent_downloads: Option<usize>,
    /// Set the max concurrent uploads (default 5)
    #[arg(long = "max-concurrent-uploads", value_name = "int")]
    pub max_concurrent_uploads: Option<usize>,
    /// Set key=value labels to the daemon
    #[arg(long = "label", value_name = "list")]
    pub labels: Vec<String>,
    /// Validate daemon configuration and exit
    #[arg(long = "validate")]
    pub validate: bool,
    /// Print version information and quit
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    pub version: (),
}

/// `daemon.json`, with dockerd's key names. Unknown keys are refused before this is read.
#[derive(Debug, Default, Clone, PartialEq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FileConfig {
    hosts: Option<Vec<String>>,
    data_root: Option<PathBuf>,
    exec_root: Option<PathBuf>,
    pidfile: Option<PathBuf>,
    log_level: Option<String>,
    debug: Option<bool>,
    tls: Option<bool>,
    tlsverify: Option<bool>,
    tlscacert: Option<PathBuf>,
    tlscert: Option<PathBuf>,
    tlskey: Option<PathBuf>,
    labels: Option<Vec<String>>,
    storage_driver: Option<String>,
    cgroup_parent: Option<String>,
    init: Option<bool>,
    init_path: Option<PathBuf>,
    runtimes: Option<BTreeMap<String, FileRuntime>>,
    default_runtime: Option<String>,
    bridge: Option<String>,
    bip: Option<String>,
    iptables: Option<bool>,
    mtu: Option<u32>,
    host_gateway_ip: Option<std::net::IpAddr>,
    fixed_cidr: Option<String>,
    ipv6: Option<bool>,
    fixed_cidr_v6: Option<String>,
    default_address_pools: Option<Vec<FilePool>>,
    insecure_registries: Option<Vec<String>>,
    registry_mirrors: Option<Vec<String>>,
    max_concurrent_downloads: Option<usize>,
    max_concurrent_uploads: Option<usize>,
}

/// A `default-address-pools` entry of `daemon.json`.
#[derive(Debug, Default, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePool {
    base: String,
    size: u8,
}

/// A `runtimes` entry of `daemon.json`.
#[derive(Debug, Default, Clone, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileRuntime {
    path: String,
    #[serde(default)]
    runtime_args: Vec<String>,
}

/// Keys `daemon.json` may hold, each paired with the flag id that sets the same directive.
const KEYS: &[(&str, &str)] = &[
    ("hosts", "hosts"),
    ("data-root", "data_root"),
    ("exec-root", "exec_root"),
    ("pidfile", "pidfile"),
    ("log-level", "log_level"),
    ("debug", "debug"),
    ("tls", "tls"),
    ("tlsverify", "tlsverify"),
    ("tlscacert", "tlscacert"),
    ("tlscert", "tlscert"),
    ("tlskey", "tlskey"),
    ("labels", "labels"),
    ("storage-driver", "storage_driver"),
    ("cgroup-parent", "cgroup_parent"),
    ("init", "init"),
    ("init-path", "init_path"),
    // Merged with `--add-runtime`, as dockerd does, so never a conflict.
    ("runtimes", ""),
    ("default-runtime", "default_runtime"),
    ("bridge", "bridge"),
    ("bip", "bip"),
    ("iptables", "iptables"),
    ("mtu", "mtu"),
    ("host-gateway-ip", "host_gateway_ip"),
    ("fixed-cidr", "fixed_cidr"),
    ("ipv6", "ipv6"),
    ("fixed-cidr-v6", "fixed_cidr_v6"),
    ("default-address-pools", "default_address_pool"),
    ("insecure-registries", "insecure_registry"),
    ("registry-mirrors", "registry_mirror"),
    ("max-concurrent-downloads", "max_concurrent_downloads"),
    ("max-concurrent-uploads", "max_concurrent_uploads"),
];

/// The runtime embedded in the shim (youki's libcontainer).
pub const EMBEDDED_RUNTIME: &str = "libcontainer";

/// The settings that SIGHUP can change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloadable {
    /// Debug mode.
    pub debug: bool,
    /// Log level.
    pub log_level: String,
    /// Daemon labels.
    pub labels: Vec<String>,
}

/// The daemon's whole configuration after flags and file are merged.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonConfig {
    /// Listen addresses.
    pub hosts: Vec<String>,
    /// Persistent state.
    pub data_root: PathBuf,
    /// Runtime state.
    pub exec_root: PathBuf,
    /// PID file.
    pub pidfile: PathBuf,
    /// The file read, if any.
    pub config_file: Option<PathBuf>,
    /// `tls` as given (None: not given).
    pub tls: Option<bool>,
    /// `tlsverify` as given.
    pub tlsverify: Option<bool>,
    /// CA for client verification.
    pub tlscacert: PathBuf,
    /// Server certificate.
    pub tlscert: PathBuf,
    /// Server key.
    pub tlskey: PathBuf,
    /// `--storage-driver`, when chosen.
    pub storage_driver: Option<String>,
    /// `--cgroup-parent`: the cgroup every container's cgroup is made under.
    pub cgroup_parent: String,
    /// `--init`: containers get an init unless they say otherwise.
    pub init: bool,
    /// `--init-path`, when given.
    pub init_path: Option<PathBuf>,
    /// Runtimes added by `--add-runtime` / `runtimes`: name → runc-compatible binary.
    pub runtimes: BTreeMap<String, PathBuf>,
    /// `--default-runtime`.
    pub default_runtime: String,
    /// `--bridge`: the default bridge network's interface.
    pub bridge: String,
    /// `--bip`: its gateway address and prefix.
    pub bip: String,
    /// `--iptables`: the daemon's nftables rules.
    pub iptables: bool,
    /// `--mtu`.
    pub mtu: Option<u32>,
    /// `--host-gateway-ip` (`None`: the default bridge's gateway).
    pub host_gateway_ip: Option<std::net::IpAddr>,
    /// `--fixed-cidr`.
    pub fixed_cidr: Option<wharf_network::Ipv4Net>,
    /// `--ipv6`: IPv6 on the default bridge network.
    pub ipv6: bool,
    /// `--fixed-cidr-v6`: the default bridge's IPv6 subnet.
    pub fixed_cidr_v6: Option<wharf_network::Ipv6Net>,
    /// `--default-address-pool` / `default-address-pools` (empty: dockerd's defaults).
    pub address_pools: Vec<wharf_network::PoolSpec>,
    /// `--insecure-registry` / `insecure-registries` (127.0.0.0/8 is always added, as dockerd).
    pub insecure_registries: Vec<String>,
    /// `--registry-mirror` / `registry-mirrors` (for docker.io).
    pub registry_mirrors: Vec<String>,
    /// `--max-concurrent-downloads` (default 3).
    pub max_concurrent_downloads: usize,
    /// `--max-concurrent-uploads` (default 5).
    pub max_concurrent_uploads: usize,
    /// What SIGHUP can change.
    pub live: Reloadable,
}

impl DaemonConfig {
    /// True when TCP listeners must use TLS.
    pub fn tls_enabled(&self) -> bool {
        self.tlsverify == Some(true) || self.tls == Some(true)
    }
}

/// Flags plus which of them were given on the command line.
pub struct CommandLine {
    flags: Flags,
    explicit: BTreeSet<String>,
}

impl CommandLine {
    /// Parses `args` (the first is the program name); exits on `--help`/`--version` or a usage
    /// error, as clap does.
    pub fn parse_from<I, T>(args: I) -> CommandLine
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Flags::command().get_matches_from(args);
        Self::from_matches(&matches).unwrap_or_else(|e| e.exit())
    }

    /// Like [`CommandLine::parse_from`] but returns clap's error.
    #[cfg(test)]
    pub fn try_parse_from<I, T>(args: I) -> Result<CommandLine, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Flags::command().try_get_matches_from(args)?;
        Self::from_matches(&matches)
    }

    fn from_matches(m: &ArgMatches) -> Result<CommandLine, clap::Error> {
        let flags = Flags::from_arg_matches(m)?;
        let explicit = m
            .ids()
            .filter(|id| m.value_source(id.as_str()) == Some(ValueSource::CommandLine))
            .map(|id| id.as_str().to_string())
            .collect();
        Ok(CommandLine { flags, explicit })
    }

    /// Whether `--validate` was given.
    pub fn validate_only(&self) -> bool {
        self.flags.validate
    }

    fn given(&self, id: &str) -> bool {
        self.explicit.contains(id)
    }

    /// Reads the configuration file (when it exists, or when `--config-file` was given) and
    /// merges it with the flags.
    pub fn load(&self) -> anyhow::Result<DaemonConfig> {
        let path = &self.flags.config_file;
        let read_file = self.given("config_file") || path.exists();
        let (file, file_keys) = if read_file { read_file_config(path)? } else { Default::default() };
        self.merge(file, &file_keys, read_file.then(|| path.clone()))
    }

    /// Re-reads the file for SIGHUP and returns the new reloadable settings, plus the keys whose
    /// change needs a restart.
    pub fn reload(&self, current: &DaemonConfig) -> anyhow::Result<(Reloadable, Vec<&'static str>)> {
        let path = &self.flags.config_file;
        let (file, keys) = if path.exists() { read_file_config(path)? } else { Default::default() };
        let next = self.merge(file, &keys, current.config_file.clone())?;
        let mut ignored = Vec::new();
        let cmp: [(&'static str, bool); 8] = [
            ("storage-driver", next.storage_driver != current.storage_driver),
            ("hosts", next.hosts != current.hosts),
            ("data-root", next.data_root != current.data_root),
            ("exec-root", next.exec_root != current.exec_root),
            ("pidfile", next.pidfile != current.pidfile),
            ("tls", next.tls != current.tls || next.tlsverify != current.tlsverify),
            ("tlscacert", next.tlscacert != current.tlscacert),
            ("tlscert", next.tlscert != current.tlscert || next.tlskey != current.tlskey),
        ];
        for (key, changed) in cmp {
            if changed {
                ignored.push(key);
            }
        }
        Ok((next.live, ignored))
    }

    fn merge(
        &self,
        file: FileConfig,
        file_keys: &BTreeSet<String>,
        config_file: Option<PathBuf>,
    ) -> anyhow::Result<DaemonConfig> {
        let f = &self.flags;
        let mut conflicts = Vec::new();
        for (key, id) in KEYS {
            if file_keys.contains(*key) && self.given(id) {
                conflicts.push(format!(
                    "{key}: (from flag: {}, from file: {})",
                    flag_value(f, id),
                    file_value(&file, key)
                ));
            }
        }
        if !conflicts.is_empty() {
            bail!(
                "unable to configure the wharf daemon with file {}: the following directives are specified both as a flag and in the configuration file: {}",
                config_file.as_deref().unwrap_or(Path::new("")).display(),
                conflicts.join(", ")
            );
        }
        let pick = |flag: &PathBuf, id: &str, from_file: Option<PathBuf>| {
            if self.given(id) {
                flag.clone()
            } else {
                from_file.unwrap_or_else(|| flag.clone())
            }
        };
        let data_root = pick(&f.data_root, "data_root", file.data_root);
        let exec_root = pick(&f.exec_root, "exec_root", file.exec_root);
        let hosts = if !f.hosts.is_empty() {
            f.hosts.clone()
        } else {
            file.hosts.filter(|h| !h.is_empty()).unwrap_or_else(|| vec![DEFAULT_HOST.to_string()])
        };
        let pidfile = f.pidfile.clone().or(file.pidfile).unwrap_or_else(|| exec_root.join("wharfd.pid"));
        let log_level = if self.given("log_level") {
            f.log_level.clone()
        } else {
            file.log_level.unwrap_or_else(|| f.log_level.clone())
        };
        if !LOG_LEVELS.contains(&log_level.as_str()) {
            bail!("unable to parse logging level: {log_level}");
        }
        let debug = f.debug || file.debug.unwrap_or(false);
        let labels = if self.given("labels") { f.labels.clone() } else { file.labels.unwrap_or_default() };
        for l in &labels {
            if !l.contains('=') || l.starts_with('=') {
                bail!("bad attribute format: {l}");
            }
        }
        let cert_dir =
            std::env::var_os("DOCKER_CERT_PATH").map(PathBuf::from).unwrap_or_else(|| home_dir().join(".docker"));
        let tls_path = |flag: &Option<PathBuf>, from_file: Option<PathBuf>, name: &str| {
            flag.clone().or(from_file).unwrap_or_else(|| cert_dir.join(name))
        };
        let config = DaemonConfig {
            hosts,
            data_root: absolute(data_root)?,
            exec_root: absolute(exec_root)?,
            pidfile: absolute(pidfile)?,
            config_file,
            tls: f.tls.or(file.tls),
            tlsverify: f.tlsverify.or(file.tlsverify),
            tlscacert: tls_path(&f.tlscacert, file.tlscacert, "ca.pem"),
            tlscert: tls_path(&f.tlscert, file.tlscert, "cert.pem"),
            tlskey: tls_path(&f.tlskey, file.tlskey, "key.pem"),
            storage_driver: f.storage_driver.clone().or(file.storage_driver),
            cgroup_parent: f.cgroup_parent.clone().or(file.cgroup_parent).unwrap_or_else(|| "/wharf".into()),
            init: f.init.or(file.init).unwrap_or(false),
            init_path: f.init_path.clone().or(file.init_path),
            bridge: f.bridge.clone().or(file.bridge).unwrap_or_else(|| "wharf0".into()),
            bip: f.bip.clone().or(file.bip).unwrap_or_else(|| "172.17.0.1/16".into()),
            iptables: f.iptables.or(file.iptables).unwrap_or(true),
            mtu: f.mtu.or(file.mtu),
            host_gateway_ip: f.host_gateway_ip.or(file.host_gateway_ip),
            fixed_cidr: match f.fixed_cidr.clone().or(file.fixed_cidr) {
                None => None,
                Some(c) => Some(c.parse().map_err(|_| anyhow::anyhow!("invalid --fixed-cidr {c:?}"))?),
            },
            ipv6: f.ipv6.or(file.ipv6).unwrap_or(false),
            fixed_cidr_v6: match f.fixed_cidr_v6.clone().or(file.fixed_cidr_v6) {
                None => None,
                Some(c) => Some(c.parse().map_err(|_| anyhow::anyhow!("invalid --fixed-cidr-v6 {c:?}"))?),
            },
            address_pools: address_pools(&f.default_address_pool, file.default_address_pools.unwrap_or_default())?,
            runtimes: runtimes(&f.add_runtime, file.runtimes.unwrap_or_default())?,
            default_runtime: f
                .default_runtime
                .clone()
                .or(file.default_runtime)
                .unwrap_or_else(|| EMBEDDED_RUNTIME.into()),
            insecure_registries: {
                let mut v = vec!["127.0.0.0/8".to_string()];
                let given = if self.given("insecure_registry") {
                    f.insecure_registry.clone()
                } else {
                    file.insecure_registries.unwrap_or_default()
                };
                for r in given {
                    if !v.contains(&r) {
                        v.push(r);
                    }
                }
                v
            },
            registry_mirrors: registry_mirrors(if self.given("registry_mirror") {
                f.registry_mirror.clone()
            } else {
                file.registry_mirrors.unwrap_or_default()
            })?,
            max_concurrent_downloads: concurrency(
                f.max_concurrent_downloads.or(file.max_concurrent_downloads),
                3,
                "downloads",
            )?,
            max_concurrent_uploads: concurrency(
                f.max_concurrent_uploads.or(file.max_concurrent_uploads),
                5,
                "uploads",
            )?,
            live: Reloadable { debug, log_level, labels },
        };
        for h in &config.hosts {
            crate::listen::parse_host(h)?;
        }
        if config.bridge.is_empty() || config.bridge.len() > 15 {
            bail!("invalid bridge name {:?}: 1 to 15 characters", config.bridge);
        }
        if config.bip.parse::<wharf_network::Ipv4Net>().is_err() {
            bail!("invalid --bip {:?}: an IPv4 address with a prefix length, e.g. 172.17.0.1/16", config.bip);
        }
        let known = config.default_runtime == EMBEDDED_RUNTIME
            || config.default_runtime == "runc"
            || config.runtimes.contains_key(&config.default_runtime);
        if !known {
            bail!("specified default runtime '{}' does not exist", config.default_runtime);
        }
        Ok(config)
    }
}

/// `--default-address-pool base=CIDR,size=N` (flags win over `daemon.json`'s list, as for
/// dockerd's other list options given both ways — which is refused before this).
fn address_pools(flags: &[String], file: Vec<FilePool>) -> anyhow::Result<Vec<wharf_network::PoolSpec>> {
    let mut out = Vec::new();
    let mut push = |base: &str, size: u8| -> anyhow::Result<()> {
        let base: wharf_network::Ipv4Net =
            base.parse().map_err(|_| anyhow::anyhow!("invalid default address pool base {base:?}"))?;
        if size < base.prefix() || size > 30 {
            bail!("invalid default address pool size {size} for base {base}");
        }
        out.push(wharf_network::PoolSpec { base, size });
        Ok(())
    };
    for spec in flags {
        let (mut base, mut size) = (None, None);
        for kv in spec.split(',') {
            match kv.split_once('=') {
                Some(("base", v)) => base = Some(v.to_string()),
                Some(("size", v)) => size = v.parse::<u8>().ok(),
                _ => bail!("invalid --default-address-pool {spec:?}: expected base=CIDR,size=N"),
            }
        }
        let (Some(b), Some(s)) = (base, size) else {
            bail!("invalid --default-address-pool {spec:?}: expected base=CIDR,size=N");
        };
        push(&b, s)?;
    }
    for p in file {
        push(&p.base, p.size)?;
    }
    Ok(out)
}

/// `--add-runtime name=path` and `daemon.json` `runtimes`, merged; the built-in names are
/// reserved and a name may be defined once.
fn runtimes(flags: &[String], file: BTreeMap<String, FileRuntime>) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    let mut add = |name: &str, path: &str| -> anyhow::Result<()> {
        if name.is_empty() || path.is_empty() {
            bail!("invalid runtime: {name}={path}: a name and a path are needed");
        }
        if name == EMBEDDED_RUNTIME || name == "runc" {
            bail!("runtime name '{name}' is reserved");
        }
        if out.insert(name.to_string(), PathBuf::from(path)).is_some() {
            bail!("runtime name '{name}' is already in use");
        }
        Ok(())
    };
    for (name, r) in &file {
        if !r.runtime_args.is_empty() {
            bail!("runtime '{name}': runtimeArgs are not supported");
        }
        add(name, &r.path)?;
    }
    for spec in flags {
        let (name, path) = spec.split_once('=').unwrap_or((spec.as_str(), ""));
        add(name, path)?;
    }
    Ok(out)
}

fn home_dir() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"))
}

fn absolute(p: PathBuf) -> anyhow::Result<PathBuf> {
    if p.is_absolute() {
        Ok(p)
    } else {
        Ok(std::env::current_dir().context("current directory")?.join(p))
    }
}

/// Reads `path`, refusing keys wharf does not know, and returns the parsed file plus the keys
/// present in it.
fn read_file_config(path: &Path) -> anyhow::Result<(FileConfig, BTreeSet<String>)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("unable to configure the wharf daemon with file {}", path.display()))?;
    if text.trim().is_empty() {
        return Ok(Default::default());
    }
    let map: BTreeMap<String, serde_json::Value> = serde_json::from_str(&text)
        .with_context(|| format!("unable to configure the wharf daemon with file {}", path.display()))?;
    let unknown: Vec<&str> = map.keys().map(String::as_str).filter(|k| !KEYS.iter().any(|(n, _)| n == k)).collect();
    if !unknown.is_empty() {
        bail!(
            "unable to configure the wharf daemon with file {}: the following directives don't match any configuration option: {}",
            path.display(),
            unknown.join(", ")
        );
    }
    let keys = map.keys().cloned().collect();
    let file: FileConfig = serde_json::from_value(serde_json::Value::Object(map.into_iter().collect()))
        .with_context(|| format!("unable to configure the wharf daemon with file {}", path.display()))?;
    Ok((file, keys))
}

/// Go's `%v` of a list: `[a b]`.
fn go_list(v: &[String]) -> String {
    format!("[{}]", v.join(" "))
}

/// `max-concurrent-downloads`/`-uploads`: dockerd refuses negative values; 0 would stall.
fn concurrency(v: Option<usize>, default: usize, what: &str) -> anyhow::Result<usize> {
    match v {
        None => Ok(default),
        Some(0) => bail!("invalid max concurrent {what}: 0"),
        Some(n) => Ok(n),
    }
}

/// `registry-mirrors`: URLs with a scheme and no path, as dockerd's `ValidateMirror`; a trailing
/// slash is added as dockerd shows them.
fn registry_mirrors(list: Vec<String>) -> anyhow::Result<Vec<String>> {
    list.into_iter()
        .map(|m| {
            let rest = m.strip_prefix("https://").or_else(|| m.strip_prefix("http://"));
            match rest {
                Some(r) if !r.trim_end_matches('/').is_empty() && !r.trim_end_matches('/').contains('/') => {
                    Ok(format!("{}/", m.trim_end_matches('/')))
                }
                _ => bail!("invalid mirror: \"{m}\" is not a valid URI"),
            }
        })
        .collect()
}

fn flag_value(f: &Flags, id: &str) -> String {
    let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    match id {
        "hosts" => go_list(&f.hosts),
        "data_root" => f.data_root.display().to_string(),
        "exec_root" => f.exec_root.display().to_string(),
        "pidfile" => path(&f.pidfile),
        "log_level" => f.log_level.clone(),
        "debug" => f.debug.to_string(),
        "tls" => f.tls.unwrap_or(false).to_string(),
        "tlsverify" => f.tlsverify.unwrap_or(false).to_string(),
        "tlscacert" => path(&f.tlscacert),
        "tlscert" => path(&f.tlscert),
        "tlskey" => path(&f.tlskey),
        "labels" => go_list(&f.labels),
        "storage_driver" => f.storage_driver.clone().unwrap_or_default(),
        "cgroup_parent" => f.cgroup_parent.clone().unwrap_or_default(),
        "init" => f.init.unwrap_or(false).to_string(),
        "init_path" => path(&f.init_path),
        "default_runtime" => f.default_runtime.clone().unwrap_or_default(),
        "bridge" => f.bridge.clone().unwrap_or_default(),
        "bip" => f.bip.clone().unwrap_or_default(),
        "iptables" => f.iptables.unwrap_or(true).to_string(),
        "mtu" => f.mtu.map(|m| m.to_string()).unwrap_or_default(),
        "host_gateway_ip" => f.host_gateway_ip.map(|m| m.to_string()).unwrap_or_default(),
        "fixed_cidr" => f.fixed_cidr.clone().unwrap_or_default(),
        "ipv6" => f.ipv6.unwrap_or(false).to_string(),
        "fixed_cidr_v6" => f.fixed_cidr_v6.clone().unwrap_or_default(),
        "default_address_pool" => go_list(&f.default_address_pool),
        "insecure_registry" => go_list(&f.insecure_registry),
        "registry_mirror" => go_list(&f.registry_mirror),
        "max_concurrent_downloads" => f.max_concurrent_downloads.map(|m| m.to_string()).unwrap_or_default(),
        "max_concurrent_uploads" => f.max_concurrent_uploads.map(|m| m.to_string()).unwrap_or_default(),
        _ => String::new(),
    }
}

fn file_value(c: &FileConfig, key: &str) -> String {
    let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    let b = |v: Option<bool>| v.unwrap_or(false).to_string();
    match key {
        "hosts" => go_list(c.hosts.as_deref().unwrap_or_default()),
        "data-root" => path(&c.data_root),
        "exec-root" => path(&c.exec_root),
        "pidfile" => path(&c.pidfile),
        "log-level" => c.log_level.clone().unwrap_or_default(),
        "debug" => b(c.debug),
        "tls" => b(c.tls),
        "tlsverify" => b(c.tlsverify),
        "tlscacert" => path(&c.tlscacert),
        "tlscert" => path(&c.tlscert),
        "tlskey" => path(&c.tlskey),
        "labels" => go_list(c.labels.as_deref().unwrap_or_default()),
        "storage-driver" => c.storage_driver.clone().unwrap_or_default(),
        "cgroup-parent" => c.cgroup_parent.clone().unwrap_or_default(),
        "init" => b(c.init),
        "init-path" => path(&c.init_path),
        "default-runtime" => c.default_runtime.clone().unwrap_or_default(),
        "bridge" => c.bridge.clone().unwrap_or_default(),
        "bip" => c.bip.clone().unwrap_or_default(),
        "iptables" => c.iptables.unwrap_or(true).to_string(),
        "mtu" => c.mtu.map(|m| m.to_string()).unwrap_or_default(),
        "host-gateway-ip" => c.host_gateway_ip.map(|m| m.to_string()).unwrap_or_default(),
        "fixed-cidr" => c.fixed_cidr.clone().unwrap_or_default(),
        "ipv6" => b(c.ipv6),
        "fixed-cidr-v6" => c.fixed_cidr_v6.clone().unwrap_or_default(),
        "default-address-pools" => format!("{:?}", c.default_address_pools.clone().unwrap_or_default()),
        "insecure-registries" => go_list(c.insecure_registries.as_deref().unwrap_or_default()),
        "registry-mirrors" => go_list(c.registry_mirrors.as_deref().unwrap_or_default()),
        "max-concurrent-downloads" => c.max_concurrent_downloads.map(|m| m.to_string()).unwrap_or_default(),
        "max-concurrent-uploads" => c.max_concurrent_uploads.map(|m| m.to_string()).unwrap_or_default(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> CommandLine {
        CommandLine::try_parse_from(std::iter::once("wharfd").chain(args.iter().copied())).unwrap()
    }

    fn with_file(json: &str, args: &[&str]) -> (tempfile::TempDir, anyhow::Result<DaemonConfig>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.json");
        std::fs::write(&path, json).unwrap();
        let p = path.to_str().unwrap().to_string();
        let mut all = vec!["--config-file", p.as_str()];
        all.extend_from_slice(args);
        let r = cli(&all).load();
        (dir, r)
    }

    #[test]
    fn defaults_are_dockerd_like() {
        let c = cli(&["--config-file", "/nonexistent/wharf-test.json"]);
        assert!(c.load().is_err(), "an explicit missing config file is an error");
        let c = CommandLine { flags: cli(&[]).flags, explicit: BTreeSet::new() };
        let mut flags = c.flags;
        flags.config_file = PathBuf::from("/nonexistent/default.json");
        let c = CommandLine { flags, explicit: BTreeSet::new() };
        let cfg = c.load().unwrap();
        assert_eq!(cfg.hosts, vec![DEFAULT_HOST.to_string()]);
        assert_eq!(cfg.data_root, PathBuf::from(DEFAULT_DATA_ROOT));
        assert_eq!(cfg.exec_root, PathBuf::from(DEFAULT_EXEC_ROOT));
        assert_eq!(cfg.pidfile, PathBuf::from("/run/wharf/wharfd.pid"));
        assert_eq!(cfg.live.log_level, "info");
        assert!(!cfg.tls_enabled());
    }

    #[test]
    fn registry_options() {
        let (_d, cfg) = with_file(
            r#"{"insecure-registries":["10.0.0.0/8","myreg:5000"],"registry-mirrors":["https://m.example"],"max-concurrent-downloads":7}"#,
            &[],
        );
        let cfg = cfg.unwrap();
        assert_eq!(cfg.insecure_registries, ["127.0.0.0/8", "10.0.0.0/8", "myreg:5000"]);
        assert_eq!(cfg.registry_mirrors, ["https://m.example/"]);
        assert_eq!((cfg.max_concurrent_downloads, cfg.max_concurrent_uploads), (7, 5));
        let (_d, cfg) = with_file("{}", &["--insecure-registry", "a:1", "--max-concurrent-uploads", "2"]);
        let cfg = cfg.unwrap();
        assert_eq!(cfg.insecure_registries, ["127.0.0.0/8", "a:1"]);
        assert_eq!((cfg.max_concurrent_downloads, cfg.max_concurrent_uploads), (3, 2));
        let (_d, cfg) = with_file(r#"{"registry-mirrors":["m.example"]}"#, &[]);
        assert!(cfg.unwrap_err().to_string().contains("invalid mirror"));
        let (_d, cfg) = with_file(r#"{"max-concurrent-downloads":1}"#, &["--max-concurrent-downloads", "2"]);
        assert!(cfg.unwrap_err().to_string().contains("max-concurrent-downloads"));
    }

    #[test]
    fn file_values_apply() {
        let (_d, cfg) = with_file(
            r#"{"hosts":["unix:///tmp/x.sock"],"data-root":"/tmp/dr","debug":true,"labels":["a=b"],"log-level":"warn"}"#,
            &[],
        );
        let cfg = cfg.unwrap();
        assert_eq!(cfg.hosts, vec!["unix:///tmp/x.sock".to_string()]);
        assert_eq!(cfg.data_root, PathBuf::from("/tmp/dr"));
        assert!(cfg.live.debug);
        assert_eq!(cfg.live.labels, vec!["a=b".to_string()]);
        assert_eq!(cfg.live.log_level, "warn");
    }

    #[test]
    fn a_directive_in_both_places_is_an_error() {
        let (_d, r) = with_file(r#"{"hosts":["unix:///b.sock"],"debug":false}"#, &["-H", "unix:///a.sock", "-D"]);
        let msg = r.unwrap_err().to_string();
        assert!(
            msg.contains("the following directives are specified both as a flag and in the configuration file"),
            "{msg}"
        );
        assert!(msg.contains("hosts: (from flag: [unix:///a.sock], from file: [unix:///b.sock])"), "{msg}");
        assert!(msg.contains("debug: (from flag: true, from file: false)"), "{msg}");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        let (_d, r) = with_file(r#"{"bogus-key":1,"debug":true}"#, &[]);
        let msg = r.unwrap_err().to_string();
        assert!(msg.contains("don't match any configuration option: bogus-key"), "{msg}");
        let (_d, r) = with_file(r#"{"debug":"yes"}"#, &[]);
        assert!(r.is_err());
        let (_d, r) = with_file(r#"{"log-level":"loud"}"#, &[]);
        assert!(r.unwrap_err().to_string().contains("unable to parse logging level"));
        let (_d, r) = with_file("{}", &["--label", "novalue"]);
        assert!(r.unwrap_err().to_string().contains("bad attribute format"));
        let (_d, r) = with_file("{}", &["-H", "gopher://x"]);
        assert!(r.is_err());
    }

    #[test]
    fn tls_flags_take_optional_values() {
        let c = cli(&["--tls=false", "--tlsverify"]);
        assert_eq!(c.flags.tls, Some(false));
        assert_eq!(c.flags.tlsverify, Some(true));
        assert!(c.given("tls"));
    }

    #[test]
    fn reload_picks_up_reloadable_keys_and_names_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.json");
        std::fs::write(&path, r#"{"labels":["a=1"]}"#).unwrap();
        let c = cli(&["--config-file", path.to_str().unwrap(), "--data-root", "/tmp/x"]);
        let cfg = c.load().unwrap();
        std::fs::write(&path, r#"{"labels":["a=2"],"debug":true,"hosts":["unix:///other.sock"]}"#).unwrap();
        let (live, ignored) = c.reload(&cfg).unwrap();
        assert_eq!(live.labels, vec!["a=2".to_string()]);
        assert!(live.debug);
        assert_eq!(ignored, vec!["hosts"]);
        std::fs::write(&path, r#"{"data-root":"/y"}"#).unwrap();
        assert!(c.reload(&cfg).is_err(), "a conflict on reload is an error and changes nothing");
    }

    #[test]
    fn runtimes_merge_flags_and_file() {
        let (_d, cfg) = with_file(
            r#"{"runtimes":{"fast":{"path":"/usr/bin/crun"}},"default-runtime":"fast","init":true}"#,
            &["--add-runtime", "other=/opt/runc"],
        );
        let cfg = cfg.unwrap();
        assert_eq!(cfg.runtimes.get("fast"), Some(&PathBuf::from("/usr/bin/crun")));
        assert_eq!(cfg.runtimes.get("other"), Some(&PathBuf::from("/opt/runc")));
        assert_eq!((cfg.default_runtime.as_str(), cfg.init), ("fast", true));
        let (_d, cfg) = with_file("{}", &[]);
        assert_eq!(cfg.unwrap().default_runtime, EMBEDDED_RUNTIME);
        let (_d, err) = with_file("{}", &["--add-runtime", "runc=/x"]);
        assert!(err.unwrap_err().to_string().contains("runtime name 'runc' is reserved"));
        let (_d, err) = with_file("{}", &["--default-runtime", "nope"]);
        assert!(err.unwrap_err().to_string().contains("specified default runtime 'nope' does not exist"));
        let (_d, err) = with_file(r#"{"runtimes":{"x":{"path":"/x","runtimeArgs":["--debug"]}}}"#, &[]);
        assert!(err.unwrap_err().to_string().contains("runtimeArgs are not supported"));
    }

    #[test]
    fn address_pools_and_fixed_cidr() {
        let (_d, cfg) = with_file(
            r#"{"default-address-pools":[{"base":"10.50.0.0/16","size":24}],"fixed-cidr":"172.17.5.0/24"}"#,
            &[],
        );
        let cfg = cfg.unwrap();
        assert_eq!(cfg.address_pools.len(), 1);
        assert_eq!((cfg.address_pools[0].base.to_string(), cfg.address_pools[0].size), ("10.50.0.0/16".into(), 24));
        assert_eq!(cfg.fixed_cidr.unwrap().to_string(), "172.17.5.0/24");
        let (_d, cfg) = with_file("{}", &["--default-address-pool", "base=10.60.0.0/16,size=20"]);
        assert_eq!(cfg.unwrap().address_pools[0].size, 20);
        let (_d, err) = with_file("{}", &["--default-address-pool", "base=10.60.0.0/16"]);
        assert!(err.unwrap_err().to_string().contains("expected base=CIDR,size=N"));
        let (_d, err) = with_file("{}", &["--default-address-pool", "base=10.60.0.0/16,size=8"]);
        assert!(err.unwrap_err().to_string().contains("invalid default address pool size 8"));
    }

    #[test]
    fn ipv6_and_fixed_cidr_v6() {
        let (_d, cfg) = with_file("{}", &[]);
        let cfg = cfg.unwrap();
        assert!(!cfg.ipv6 && cfg.fixed_cidr_v6.is_none());
        let (_d, cfg) = with_file(r#"{"ipv6":true,"fixed-cidr-v6":"fd00:17::/64"}"#, &[]);
        let cfg = cfg.unwrap();
        assert!(cfg.ipv6);
        assert_eq!(cfg.fixed_cidr_v6.unwrap().to_string(), "fd00:17::/64");
        let (_d, cfg) = with_file("{}", &["--ipv6", "--fixed-cidr-v6", "fd00:18::/64"]);
        let cfg = cfg.unwrap();
        assert!(cfg.ipv6);
        assert_eq!(cfg.fixed_cidr_v6.unwrap().to_string(), "fd00:18::/64");
        let (_d, err) = with_file("{}", &["--fixed-cidr-v6", "10.0.0.0/8"]);
        assert!(err.unwrap_err().to_string().contains("invalid --fixed-cidr-v6"));
        let (_d, err) = with_file(r#"{"ipv6":true}"#, &["--ipv6=false"]);
        let err = err.unwrap_err().to_string();
        assert!(err.contains("ipv6"), "{err}");
    }
}
