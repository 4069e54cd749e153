//! Listen addresses (`-H`): parsing as dockerd does, binding unix and TCP sockets, taking
//! sockets passed by systemd (`fd://`), and the TLS acceptor for TCP.

use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context as _};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

use crate::config::DaemonConfig;

/// A parsed `-H` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// `unix:///path`.
    Unix(PathBuf),
    /// `tcp://host:port`.
    Tcp(String),
    /// `fd://` (all passed sockets) or `fd://N`.
    Fd(Option<i32>),
}

/// Parses a `-H` value as dockerd's `ParseHost`: `unix://` (empty path → the default socket),
/// `tcp://host:port` (empty host → 127.0.0.1, empty port → 2375), a bare `host:port`, `fd://`.
pub fn parse_host(s: &str) -> anyhow::Result<Host> {
    let s = s.trim();
    if s.is_empty() {
        return parse_host(crate::config::DEFAULT_HOST);
    }
    if let Some(path) = s.strip_prefix("unix://") {
        let path = if path.is_empty() { "/run/wharf/wharf.sock" } else { path };
        if !path.starts_with('/') {
            bail!("invalid bind address ({s}): unix socket path must be absolute");
        }
        return Ok(Host::Unix(PathBuf::from(path)));
    }
    if let Some(fd) = s.strip_prefix("fd://") {
        if fd.is_empty() || fd == "*" {
            return Ok(Host::Fd(None));
        }
        let n = fd.parse::<i32>().map_err(|_| anyhow::anyhow!("invalid bind address ({s}): bad file descriptor"))?;
        return Ok(Host::Fd(Some(n)));
    }
    let rest = match s.split_once("://") {
        Some(("tcp", rest)) => rest,
        Some((proto, _)) => bail!("invalid bind address ({s}): unsupported proto '{proto}'"),
        None => s,
    };
    let rest = rest.trim_end_matches('/');
    if rest.contains('/') {
        bail!("invalid bind address ({s}): should not contain a path element");
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, _)) if !h.ends_with(']') && h.contains(':') => (rest, ""),
        Some((h, p)) => (h, p),
        None => (rest, ""),
    };
    let host = if host.is_empty() { "127.0.0.1" } else { host };
    let port = if port.is_empty() { "2375" } else { port };
    let port: u16 = port.parse().map_err(|_| anyhow::anyhow!("invalid bind address ({s}): invalid port"))?;
    Ok(Host::Tcp(format!("{host}:{port}")))
}

/// A bound listener, with a description for logs.
pub enum Bound {
    /// A unix socket; the path is removed at shutdown when `owned`.
    Unix { listener: tokio::net::UnixListener, path: PathBuf, owned: bool },
    /// A TCP socket, with TLS when an acceptor is set.
    Tcp { listener: tokio::net::TcpListener, addr: SocketAddr, tls: Option<tokio_rustls::TlsAcceptor> },
}

impl Bound {
    /// Human description (`unix:///run/wharf/wharf.sock`, `tcp://127.0.0.1:2376 (tls)`).
    pub fn describe(&self) -> String {
        match self {
            Bound::Unix { path, .. } => format!("unix://{}", path.display()),
            Bound::Tcp { addr, tls, .. } => format!("tcp://{addr}{}", if tls.is_some() { " (tls)" } else { "" }),
        }
    }
}

/// Checks the hosts of `cfg` before anything is bound: unencrypted TCP is refused unless
/// `--tls=false` was explicit, and then announced. Returns the warnings for `docker info`.
pub fn check(cfg: &DaemonConfig) -> anyhow::Result<Vec<String>> {
    let mut warnings = Vec::new();
    for h in &cfg.hosts {
        if let Host::Tcp(addr) = parse_host(h)? {
            if cfg.tls_enabled() {
                continue;
            }
            if cfg.tls != Some(false) && cfg.tlsverify != Some(false) {
                bail!(
                    "refusing to listen on tcp://{addr} without TLS: access to the API is equivalent to root access on the host. Use --tlsverify with --tlscacert, --tlscert and --tlskey, or pass --tls=false to accept the risk explicitly"
                );
            }
            let w = format!(
                "WARNING: API is accessible on http://{addr} without encryption.\n         Access to the remote API is equivalent to root access on the host. Refer\n         to the 'Docker daemon attack surface' section in the documentation for\n         more information: https://docs.docker.com/go/attack-surface/"
            );
            tracing::warn!("{w}");
            warnings.push(w);
        }
    }
    Ok(warnings)
}

/// Binds every host of `cfg` (after [`check`]). A failure part-way removes the sockets already
/// created, so a refused start leaves nothing behind.
pub async fn bind_all(cfg: &DaemonConfig) -> anyhow::Result<Vec<Bound>> {
    let hosts = cfg.hosts.iter().map(|h| parse_host(h)).collect::<anyhow::Result<Vec<_>>>()?;
    let tls = if cfg.tls_enabled() { Some(tls_acceptor(cfg)?) } else { None };
    let mut bound = Vec::new();
    if let Err(e) = bind_each(&hosts, tls, &mut bound).await {
        for b in &bound {
            if let Bound::Unix { path, owned: true, .. } = b {
                let _ = std::fs::remove_file(path);
            }
        }
        return Err(e);
    }
    Ok(bound)
}

async fn bind_each(
    hosts: &[Host],
    tls: Option<tokio_rustls::TlsAcceptor>,
    bound: &mut Vec<Bound>,
) -> anyhow::Result<()> {
    for h in hosts {
        match h {
            Host::Unix(path) => bound.push(bind_unix(path)?),
            Host::Tcp(addr) => {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("failed to listen on tcp://{addr}"))?;
                let addr = listener.local_addr()?;
                bound.push(Bound::Tcp { listener, addr, tls: tls.clone() });
            }
            Host::Fd(which) => bound.extend(take_systemd_fds(*which, tls.clone())?),
        }
    }
    Ok(())
}

/// Binds a unix socket at `path`: a socket file left by a killed daemon is removed, but one that
/// still answers belongs to a live daemon and is refused.
fn bind_unix(path: &Path) -> anyhow::Result<Bound> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if !meta.file_type().is_socket() {
            bail!("cannot listen on {}: the path exists and is not a socket", path.display());
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!("cannot listen on {}: another daemon is serving this socket", path.display());
        }
        std::fs::remove_file(path).with_context(|| format!("removing stale socket {}", path.display()))?;
    }
    let listener =
        tokio::net::UnixListener::bind(path).with_context(|| format!("failed to listen on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    if let Some(gid) = group_id("docker") {
        let _ = rustix::fs::chown(path, None, Some(rustix::fs::Gid::from_raw(gid)));
    }
    Ok(Bound::Unix { listener, path: path.to_path_buf(), owned: true })
}

/// The gid of `name` from /etc/group.
fn group_id(name: &str) -> Option<u32> {
    std::fs::read_to_string("/etc/group").ok()?.lines().find_map(|l| {
        let mut parts = l.split(':');
        (parts.next()? == name).then_some(())?;
        parts.nth(1)?.parse().ok()
    })
}

/// Sockets passed by systemd socket activation (`LISTEN_PID`, `LISTEN_FDS`, fds from 3).
fn take_systemd_fds(which: Option<i32>, tls: Option<tokio_rustls::TlsAcceptor>) -> anyhow::Result<Vec<Bound>> {
    let pid_ok = std::env::var("LISTEN_PID").ok().and_then(|p| p.parse::<u32>().ok()) == Some(std::process::id());
    let n: i32 = std::env::var("LISTEN_FDS").ok().and_then(|n| n.parse().ok()).unwrap_or(0);
    if !pid_ok || n <= 0 {
        bail!("no sockets found via socket activation: make sure the service was started by systemd");
    }
    let fds: Vec<i32> = match which {
        None => (3..3 + n).collect(),
        Some(fd) if (3..3 + n).contains(&fd) => vec![fd],
        Some(fd) => bail!("too few socket activated files passed in by systemd: fd {fd} not among them"),
    };
    let mut out = Vec::new();
    for fd in fds {
        // Only a socket that was really passed is adopted: when the descriptor is missing, its
        // number may already belong to a file this process opened (the data-root lock), which
        // must not be closed under it.
        // SAFETY: borrowed only for the duration of the fstat.
        let st = rustix::fs::fstat(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) });
        if !st.is_ok_and(|st| rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Socket) {
            bail!("socket activation: descriptor {fd} is not a socket passed by systemd");
        }
        // SAFETY: systemd passed this descriptor to us (it is a socket we did not open) and
        // nothing else in the process owns it.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        let addr = rustix::net::getsockname(&owned).context("getsockname on an activated socket")?;
        if addr.address_family() == rustix::net::AddressFamily::UNIX {
            let std = std::os::unix::net::UnixListener::from(owned);
            std.set_nonblocking(true)?;
            let path = std.local_addr().ok().and_then(|a| a.as_pathname().map(Path::to_path_buf)).unwrap_or_default();
            out.push(Bound::Unix { listener: tokio::net::UnixListener::from_std(std)?, path, owned: false });
        } else {
            let std = std::net::TcpListener::from(owned);
            std.set_nonblocking(true)?;
            let addr = std.local_addr()?;
            out.push(Bound::Tcp { listener: tokio::net::TcpListener::from_std(std)?, addr, tls: tls.clone() });
        }
    }
    Ok(out)
}

/// The TLS acceptor: server certificate and key; with `--tlsverify`, client certificates must
/// chain to `--tlscacert`.
pub fn tls_acceptor(cfg: &DaemonConfig) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cfg.tlscert)
        .with_context(|| format!("could not load TLS certificate {}", cfg.tlscert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("could not read TLS certificate {}", cfg.tlscert.display()))?;
    if certs.is_empty() {
        bail!("no certificate found in {}", cfg.tlscert.display());
    }
    let key = PrivateKeyDer::from_pem_file(&cfg.tlskey)
        .with_context(|| format!("could not load TLS key {}", cfg.tlskey.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder =
        rustls::ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions()?;
    let builder = if cfg.tlsverify == Some(true) {
        let mut roots = rustls::RootCertStore::empty();
        for ca in CertificateDer::pem_file_iter(&cfg.tlscacert)
            .with_context(|| format!("could not load TLS CA {}", cfg.tlscacert.display()))?
        {
            roots.add(ca.with_context(|| format!("could not read TLS CA {}", cfg.tlscacert.display()))?)?;
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build()?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder.with_single_cert(certs, key).context("TLS certificate and key do not match")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_like_dockerd() {
        assert_eq!(parse_host("unix:///tmp/a.sock").unwrap(), Host::Unix("/tmp/a.sock".into()));
        assert_eq!(parse_host("unix://").unwrap(), Host::Unix("/run/wharf/wharf.sock".into()));
        assert_eq!(parse_host("tcp://0.0.0.0:2376").unwrap(), Host::Tcp("0.0.0.0:2376".into()));
        assert_eq!(parse_host("tcp://:2376").unwrap(), Host::Tcp("127.0.0.1:2376".into()));
        assert_eq!(parse_host("tcp://").unwrap(), Host::Tcp("127.0.0.1:2375".into()));
        assert_eq!(parse_host("127.0.0.1:9").unwrap(), Host::Tcp("127.0.0.1:9".into()));
        assert_eq!(parse_host("tcp://[::1]:2376").unwrap(), Host::Tcp("[::1]:2376".into()));
        assert_eq!(parse_host("fd://").unwrap(), Host::Fd(None));
        assert_eq!(parse_host("fd://3").unwrap(), Host::Fd(Some(3)));
        for bad in ["udp://x:1", "tcp://h:port", "tcp://h:1/path", "unix://relative", "fd://x"] {
            assert!(parse_host(bad).is_err(), "{bad}");
        }
    }
}
