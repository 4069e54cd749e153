//! Global options (`-H`, `--context`, `--config`, TLS flags, …) and the environment
//! variables the docker CLI reads, normalized into [`ClientOptions`] the same way
//! docker's `cli/flags` package does (`InstallFlags` + `SetDefaultOptions`).

use std::path::{Path, PathBuf};

use clap::Args;

/// wharf's default daemon socket (docker's is `unix:///var/run/docker.sock`).
pub(crate) const DEFAULT_HOST: &str = "unix:///run/wharf/wharf.sock";
/// Default host when TLS is requested and no host is given (docker's `DefaultTLSHost`).
pub(crate) const DEFAULT_TLS_HOST: &str = "tcp://localhost:2376";
/// Default address used to complete a partial `tcp://` host (docker's `defaultTCPHost`).
const DEFAULT_TCP_HOST: &str = "tcp://localhost:2375";

/// Global options, accepted before the command name, as in `docker [OPTIONS] COMMAND`.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct GlobalOpts {
    /// Location of client config files
    #[arg(long = "config", value_name = "string")]
    pub config: Option<PathBuf>,

    /// Name of the context to use to connect to the daemon (overrides DOCKER_HOST env var and
    /// default context set with "wharf context use")
    #[arg(short = 'c', long = "context", value_name = "string")]
    pub context: Option<String>,

    /// Enable debug mode
    #[arg(short = 'D', long = "debug")]
    pub debug: bool,

    /// Daemon socket to connect to
    #[arg(short = 'H', long = "host", value_name = "list")]
    pub host: Vec<String>,

    /// Set the logging level ("debug", "info", "warn", "error", "fatal")
    #[arg(short = 'l', long = "log-level", value_name = "string", default_value = "info")]
    pub log_level: String,

    /// Use TLS; implied by --tlsverify
    #[arg(long = "tls", num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = parse_go_bool, value_name = "bool")]
    pub tls: Option<bool>,

    /// Trust certs signed only by this CA (default "~/.docker/ca.pem")
    #[arg(long = "tlscacert", value_name = "string")]
    pub tlscacert: Option<String>,

    /// Path to TLS certificate file (default "~/.docker/cert.pem")
    #[arg(long = "tlscert", value_name = "string")]
    pub tlscert: Option<String>,

    /// Path to TLS key file (default "~/.docker/key.pem")
    #[arg(long = "tlskey", value_name = "string")]
    pub tlskey: Option<String>,

    /// Use TLS and verify the remote
    #[arg(long = "tlsverify", num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = parse_go_bool, value_name = "bool")]
    pub tlsverify: Option<bool>,
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("parsing {s:?}: invalid syntax")),
    }
}

/// The environment variables the CLI looks at. Empty values count as unset, as in docker.
#[derive(Debug, Clone, Default)]
pub(crate) struct Env {
    pub docker_host: Option<String>,
    pub docker_context: Option<String>,
    pub docker_tls_verify: bool,
    pub docker_tls: bool,
    pub docker_cert_path: Option<PathBuf>,
    pub docker_config: Option<PathBuf>,
    pub home: Option<PathBuf>,
}

impl Env {
    /// Reads the process environment.
    pub(crate) fn from_process() -> Env {
        fn var(name: &str) -> Option<String> {
            std::env::var(name).ok().filter(|v| !v.is_empty())
        }
        Env {
            docker_host: var("DOCKER_HOST"),
            docker_context: var("DOCKER_CONTEXT"),
            docker_tls_verify: var("DOCKER_TLS_VERIFY").is_some(),
            docker_tls: var("DOCKER_TLS").is_some(),
            docker_cert_path: var("DOCKER_CERT_PATH").map(PathBuf::from),
            docker_config: var("DOCKER_CONFIG").map(PathBuf::from),
            home: var("HOME").map(PathBuf::from),
        }
    }

    /// docker's `config.Dir()`: `$DOCKER_CONFIG`, else `~/.docker`.
    pub(crate) fn default_config_dir(&self) -> PathBuf {
        if let Some(dir) = &self.docker_config {
            return dir.clone();
        }
        match &self.home {
            Some(home) => home.join(".docker"),
            None => PathBuf::from(".docker"),
        }
    }
}

/// TLS settings from the command line (docker's `tlsconfig.Options`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsOptions {
    pub ca_file: PathBuf,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub skip_verify: bool,
}

/// Normalized client options: what docker calls `cliflags.ClientOptions` after
/// `SetDefaultOptions`.
#[derive(Debug, Clone)]
pub(crate) struct ClientOptions {
    pub hosts: Vec<String>,
    pub context: Option<String>,
    pub config_dir: PathBuf,
    pub debug: bool,
    /// `Some` when TLS was requested by `--tls`, `--tlsverify`, `DOCKER_TLS` or `DOCKER_TLS_VERIFY`.
    pub tls: Option<TlsOptions>,
}

fn trim_quotes(v: &str) -> &str {
    if v.len() >= 2 {
        for q in ['\'', '"'] {
            if v.starts_with(q) && v.ends_with(q) {
                return &v[1..v.len() - 1];
            }
        }
    }
    v
}

impl ClientOptions {
    /// Applies docker's defaults to the parsed flags, with `env` as the environment.
    /// `exists` tells whether a file exists (a parameter so tests need no files).
    pub(crate) fn from_flags(g: &GlobalOpts, env: &Env, exists: &dyn Fn(&Path) -> bool) -> Self {
        let default_config = env.default_config_dir();
        let config_dir = g.config.clone().unwrap_or_else(|| default_config.clone());
        // The certificate directory defaults to DOCKER_CERT_PATH, else the *default*
        // config directory (docker evaluates it before --config is parsed).
        let cert_path = env.docker_cert_path.clone().unwrap_or(default_config);

        let tls_verify = g.tlsverify.unwrap_or(env.docker_tls_verify);
        let tls = g.tls.unwrap_or(env.docker_tls) || g.tlsverify.is_some() || tls_verify;
        let tls = tls.then(|| {
            let ca_file = g
                .tlscacert
                .as_deref()
                .map(|v| PathBuf::from(trim_quotes(v)))
                .unwrap_or_else(|| cert_path.join("ca.pem"));
            let cert_file = match &g.tlscert {
                Some(v) => Some(PathBuf::from(trim_quotes(v))),
                None => Some(cert_path.join("cert.pem")).filter(|p| exists(p)),
            };
            let key_file = match &g.tlskey {
                Some(v) => Some(PathBuf::from(trim_quotes(v))),
                None => Some(cert_path.join("key.pem")).filter(|p| exists(p)),
            };
            TlsOptions { ca_file, cert_file, key_file, skip_verify: !tls_verify }
        });

        ClientOptions {
            hosts: g.host.clone(),
            context: g.context.clone().filter(|c| !c.is_empty()),
            config_dir,
            debug: g.debug,
            tls,
        }
    }
}

/// docker's `opts.ParseHost`: fills in defaults and validates a daemon address.
pub(crate) fn parse_host(default_to_tls: bool, val: &str) -> Result<String, String> {
    let host = val.trim();
    if host.is_empty() {
        return Ok(if default_to_tls { DEFAULT_TLS_HOST } else { DEFAULT_HOST }.to_string());
    }
    parse_daemon_host(host)
}

fn parse_daemon_host(addr: &str) -> Result<String, String> {
    let (proto, host) = match addr.split_once("://") {
        Some((p, h)) => (p.to_string(), h.to_string()),
        None => {
            let proto = if addr.starts_with('/') || addr.starts_with("./") { "unix" } else { "tcp" };
            (proto.to_string(), addr.to_string())
        }
    };
    match proto.as_str() {
        "tcp" => parse_tcp_addr(&host, DEFAULT_TCP_HOST),
        "unix" => {
            let default_path = DEFAULT_HOST.trim_start_matches("unix://");
            parse_simple_proto_addr("unix", &host, default_path)
        }
        "npipe" => parse_simple_proto_addr("npipe", &host, "//./pipe/docker_engine"),
        "fd" | "ssh" => Ok(addr.to_string()),
        _ => Err(format!("invalid bind address format: {addr}")),
    }
}

fn parse_simple_proto_addr(proto: &str, addr: &str, default_addr: &str) -> Result<String, String> {
    let addr = addr.strip_prefix(&format!("{proto}://")).unwrap_or(addr);
    if addr.contains("://") {
        return Err(format!("invalid proto, expected {proto}: {addr}"));
    }
    let addr = if addr.is_empty() { default_addr } else { addr };
    Ok(format!("{proto}://{addr}"))
}

/// docker's `opts.ParseTCPAddr`.
pub(crate) fn parse_tcp_addr(try_addr: &str, default_addr: &str) -> Result<String, String> {
    if try_addr.is_empty() || try_addr == "tcp://" {
        return Ok(default_addr.to_string());
    }
    let addr = try_addr.strip_prefix("tcp://").unwrap_or(try_addr);
    if addr.contains("://") || addr.is_empty() {
        return Err(format!("invalid proto, expected tcp: {try_addr}"));
    }
    let default_addr = default_addr.strip_prefix("tcp://").unwrap_or(default_addr);
    let (default_host, default_port) =
        split_host_port(default_addr).ok_or_else(|| format!("invalid bind address format: {try_addr}"))?;
    let mut addr = addr.to_string();
    if addr.ends_with("]:") {
        addr.push_str(&default_port);
    }
    // Split off a path (url.Parse keeps it in u.Path).
    let (hostport, path) = match addr.find('/') {
        Some(i) => (addr[..i].to_string(), addr[i..].to_string()),
        None => (addr.clone(), String::new()),
    };
    let (host, port) = match split_host_port(&hostport) {
        Some(hp) => hp,
        None => split_host_port(&join_host_port(&hostport, &default_port))
            .ok_or_else(|| format!("invalid bind address format: {try_addr}"))?,
    };
    let host = if host.is_empty() { default_host } else { host };
    let port = if port.is_empty() { default_port } else { port };
    if port.parse::<u16>().is_err() {
        return Err(format!("invalid bind address format: {try_addr}"));
    }
    Ok(format!("tcp://{}{}", join_host_port(&host, &port), path))
}

/// Go's `net.SplitHostPort` (enough of it for host addresses).
fn split_host_port(hp: &str) -> Option<(String, String)> {
    if let Some(rest) = hp.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        return Some((host.to_string(), port.to_string()));
    }
    let (host, port) = hp.rsplit_once(':')?;
    if host.contains(':') {
        return None; // too many colons
    }
    Some((host.to_string(), port.to_string()))
}

fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_host_like_docker() {
        let cases: &[(&str, bool, &str)] = &[
            ("", false, "unix:///run/wharf/wharf.sock"),
            ("", true, "tcp://localhost:2376"),
            ("unix:///tmp/x.sock", false, "unix:///tmp/x.sock"),
            ("unix://", false, "unix:///run/wharf/wharf.sock"),
            ("/tmp/x.sock", false, "unix:///tmp/x.sock"),
            ("tcp://1.2.3.4", false, "tcp://1.2.3.4:2375"),
            ("tcp://1.2.3.4:2376", false, "tcp://1.2.3.4:2376"),
            ("tcp://:2376", false, "tcp://localhost:2376"),
            ("tcp://", false, "tcp://localhost:2375"),
            ("1.2.3.4:5555", false, "tcp://1.2.3.4:5555"),
            ("tcp://[::1]:2375", false, "tcp://[::1]:2375"),
            ("tcp://host:2375/path", false, "tcp://host:2375/path"),
            ("ssh://me@host", false, "ssh://me@host"),
        ];
        for (input, tls, want) in cases {
            assert_eq!(parse_host(*tls, input).as_deref(), Ok(*want), "input {input:?}");
        }
        assert_eq!(parse_host(false, "foo://x"), Err("invalid bind address format: foo://x".to_string()));
        assert!(parse_host(false, "tcp://h:notaport").is_err());
        assert!(parse_host(false, "unix://tcp://x").is_err());
    }

    #[test]
    fn tls_defaults() {
        let env = Env { home: Some("/home/u".into()), ..Env::default() };
        let none = |_: &Path| false;
        let all = |_: &Path| true;

        let g = GlobalOpts::default();
        assert_eq!(ClientOptions::from_flags(&g, &env, &all).tls, None);

        let g = GlobalOpts { tlsverify: Some(true), ..GlobalOpts::default() };
        let o = ClientOptions::from_flags(&g, &env, &all);
        let tls = o.tls.expect("tls");
        assert!(!tls.skip_verify);
        assert_eq!(tls.ca_file, PathBuf::from("/home/u/.docker/ca.pem"));
        assert_eq!(tls.cert_file, Some(PathBuf::from("/home/u/.docker/cert.pem")));

        // --tlsverify=false still turns TLS on, without verification.
        let g = GlobalOpts { tlsverify: Some(false), ..GlobalOpts::default() };
        let tls = ClientOptions::from_flags(&g, &env, &none).tls.expect("tls");
        assert!(tls.skip_verify);
        assert_eq!(tls.cert_file, None);
        assert_eq!(tls.key_file, None);

        // --tls alone: TLS without verification.
        let g = GlobalOpts { tls: Some(true), ..GlobalOpts::default() };
        assert!(ClientOptions::from_flags(&g, &env, &none).tls.expect("tls").skip_verify);

        // DOCKER_TLS_VERIFY + DOCKER_CERT_PATH.
        let env2 = Env { docker_tls_verify: true, docker_cert_path: Some("/certs".into()), ..env.clone() };
        let g = GlobalOpts { tlscert: Some("'/x/c.pem'".into()), ..GlobalOpts::default() };
        let tls = ClientOptions::from_flags(&g, &env2, &none).tls.expect("tls");
        assert!(!tls.skip_verify);
        assert_eq!(tls.ca_file, PathBuf::from("/certs/ca.pem"));
        assert_eq!(tls.cert_file, Some(PathBuf::from("/x/c.pem")));
        assert_eq!(tls.key_file, None);

        // --config does not move the default certificate directory.
        let g = GlobalOpts { config: Some("/cfg".into()), tls: Some(true), ..GlobalOpts::default() };
        let o = ClientOptions::from_flags(&g, &env, &all);
        assert_eq!(o.config_dir, PathBuf::from("/cfg"));
        assert_eq!(o.tls.expect("tls").ca_file, PathBuf::from("/home/u/.docker/ca.pem"));
    }

    #[test]
    fn go_bool() {
        assert_eq!(parse_go_bool("T"), Ok(true));
        assert_eq!(parse_go_bool("0"), Ok(false));
        assert!(parse_go_bool("yes").is_err());
    }
}
