//! The proxy's command line: what to forward ([`ProxySpec`]) plus how to run ([`Args`]), in
//! docker-proxy's flag names, parsed the way Go's `flag` package parses them.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use wharf_types::{go_quote, parse_go_duration, Classify, ErrorKind};

/// docker-proxy's UDP connection-tracking timeout: a client's upstream socket is dropped after
/// this long without traffic in either direction.
pub const UDP_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// The transport of a published port. (docker-proxy also does SCTP; wharf does not.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    /// TCP: connections copied both ways.
    Tcp,
    /// UDP: datagrams relayed through a per-client table.
    Udp,
}

impl Proto {
    /// `tcp` or `udp`, as on the command line and in Docker's port texts.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Proto {
    type Err = ArgsError;

    /// docker-proxy's text for anything else: `unsupported protocol sctp`.
    fn from_str(s: &str) -> Result<Self, ArgsError> {
        match s {
            "tcp" => Ok(Proto::Tcp),
            "udp" => Ok(Proto::Udp),
            other => Err(ArgsError(format!("unsupported protocol {other}"))),
        }
    }
}

/// One published port of one container: listen on `host_ip:host_port`, forward to
/// `container_ip:container_port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProxySpec {
    /// The transport.
    pub proto: Proto,
    /// The host address to bind (`0.0.0.0` or `::` for every address).
    pub host_ip: IpAddr,
    /// The host port (never 0: the daemon allocates ephemeral ports itself).
    pub host_port: u16,
    /// The container's address on its network.
    pub container_ip: IpAddr,
    /// The port inside the container.
    pub container_port: u16,
}

impl ProxySpec {
    /// docker-proxy's flags for this mapping:
    /// `-proto tcp -host-ip 0.0.0.0 -host-port 8080 -container-ip 172.18.0.2 -container-port 80`.
    pub fn to_args(&self) -> Vec<String> {
        vec![
            "-proto".into(),
            self.proto.to_string(),
            "-host-ip".into(),
            self.host_ip.to_string(),
            "-host-port".into(),
            self.host_port.to_string(),
            "-container-ip".into(),
            self.container_ip.to_string(),
            "-container-port".into(),
            self.container_port.to_string(),
        ]
    }

    /// The host address to bind.
    pub fn host_addr(&self) -> std::net::SocketAddr {
        (self.host_ip, self.host_port).into()
    }

    /// The container's address to forward to.
    pub fn container_addr(&self) -> std::net::SocketAddr {
        (self.container_ip, self.container_port).into()
    }
}

/// moby's `PortBinding.String()`: `0.0.0.0:8080:172.18.0.2:80/tcp`, IPv6 addresses in
/// brackets (`[::]:8080:[fd00::2]:80/tcp`) — the form dockerd's bind errors name a mapping by.
impl fmt::Display for ProxySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn ip(f: &mut fmt::Formatter<'_>, ip: IpAddr) -> fmt::Result {
            match ip {
                IpAddr::V4(v4) => write!(f, "{v4}"),
                IpAddr::V6(v6) => write!(f, "[{v6}]"),
            }
        }
        ip(f, self.host_ip)?;
        write!(f, ":{}:", self.host_port)?;
        ip(f, self.container_ip)?;
        write!(f, ":{}/{}", self.container_port, self.proto)
    }
}

/// The proxy's whole command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// What to forward.
    pub spec: ProxySpec,
    /// `--ready-fd N`: an inherited descriptor (the write end of a pipe) on which the proxy
    /// reports one line once the host address is bound — `ok` or the error — then closes.
    pub ready_fd: Option<i32>,
    /// `--udp-idle-timeout D` (hidden; Go duration, e.g. `500ms`): how long a UDP client's
    /// entry lives without traffic. Default [`UDP_IDLE_TIMEOUT`].
    pub udp_idle_timeout: Duration,
}

/// A command-line error, worded as Go's `flag` package words it
/// (`flag provided but not defined: -foo`, `invalid value "x" for flag -host-port: …`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ArgsError(pub String);

impl Classify for ArgsError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }
}

impl Args {
    /// Arguments for `spec` with no readiness pipe and the default UDP timeout.
    pub fn new(spec: ProxySpec) -> Args {
        Args { spec, ready_fd: None, udp_idle_timeout: UDP_IDLE_TIMEOUT }
    }

    /// The command line (without the program name): the spec's docker-proxy flags, then
    /// `--ready-fd N` when set, then `--udp-idle-timeout` when not the default.
    pub fn to_args(&self) -> Vec<String> {
        let mut out = self.spec.to_args();
        if let Some(fd) = self.ready_fd {
            out.push("--ready-fd".into());
            out.push(fd.to_string());
        }
        if self.udp_idle_timeout != UDP_IDLE_TIMEOUT {
            out.push("--udp-idle-timeout".into());
            out.push(format!("{}ms", self.udp_idle_timeout.as_millis()));
        }
        out
    }

    /// Parses a command line (without the program name). Flags take one or two dashes and
    /// their value as the next argument or after `=`; a repeated flag's last value wins.
    /// `-proto` defaults to `tcp` and `-host-ip` to `0.0.0.0`; the container address and both
    /// ports are required, and ports must be 1–65535.
    pub fn parse<I, S>(args: I) -> Result<Args, ArgsError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut proto = Proto::Tcp;
        let mut host_ip: IpAddr = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
        let mut host_port = None;
        let mut container_ip = None;
        let mut container_port = None;
        let mut ready_fd = None;
        let mut udp_idle_timeout = UDP_IDLE_TIMEOUT;

        let args: Vec<S> = args.into_iter().collect();
        let mut it = args.iter().map(AsRef::as_ref);
        while let Some(arg) = it.next() {
            let Some(flag) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
                return Err(ArgsError(format!("unexpected argument {}", go_quote(arg))));
            };
            let flag = flag.strip_prefix('-').unwrap_or(flag);
            if flag.is_empty() {
                // `--` ends the flags; wharf-proxy takes no operands.
                return match it.next() {
                    Some(extra) => Err(ArgsError(format!("unexpected argument {}", go_quote(extra)))),
                    None => break,
                };
            }
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (flag, None),
            };
            if !matches!(
                name,
                "proto" | "host-ip" | "host-port" | "container-ip" | "container-port" | "ready-fd" | "udp-idle-timeout"
            ) {
                return Err(ArgsError(format!("flag provided but not defined: -{name}")));
            }
            let value = match inline {
                Some(v) => v,
                None => it.next().ok_or_else(|| ArgsError(format!("flag needs an argument: -{name}")))?,
            };
            let invalid = |why: &str| ArgsError(format!("invalid value {} for flag -{name}: {why}", go_quote(value)));
            match name {
                "proto" => proto = value.parse()?,
                "host-ip" => host_ip = value.parse().map_err(|_| invalid("invalid IP address"))?,
                "container-ip" => container_ip = Some(value.parse().map_err(|_| invalid("invalid IP address"))?),
                "host-port" => host_port = Some(parse_port(value).map_err(invalid)?),
                "container-port" => container_port = Some(parse_port(value).map_err(invalid)?),
                "ready-fd" => {
                    ready_fd =
                        Some(value.parse::<i32>().ok().filter(|fd| *fd >= 0).ok_or_else(|| invalid("parse error"))?)
                }
                _ => {
                    udp_idle_timeout = parse_go_duration(value)
                        .filter(|ns| *ns > 0)
                        .map(|ns| Duration::from_nanos(ns as u64))
                        .ok_or_else(|| invalid("invalid duration"))?
                }
            }
        }
        let required = |name: &str| ArgsError(format!("flag -{name} is required"));
        Ok(Args {
            spec: ProxySpec {
                proto,
                host_ip,
                host_port: host_port.ok_or_else(|| required("host-port"))?,
                container_ip: container_ip.ok_or_else(|| required("container-ip"))?,
                container_port: container_port.ok_or_else(|| required("container-port"))?,
            },
            ready_fd,
            udp_idle_timeout,
        })
    }

    /// The `--ready-fd` value of a command line that may not parse as a whole, so that the
    /// binary can still report a usage error on the pipe the daemon is reading.
    pub fn scan_ready_fd<I, S>(args: I) -> Option<i32>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let args: Vec<S> = args.into_iter().collect();
        let mut found = None;
        for (i, arg) in args.iter().enumerate() {
            let arg = arg.as_ref();
            let flag = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')).unwrap_or("");
            if flag == "ready-fd" {
                found = args.get(i + 1).and_then(|v| v.as_ref().parse().ok());
            } else if let Some(v) = flag.strip_prefix("ready-fd=") {
                found = v.parse().ok();
            }
        }
        found.filter(|fd: &i32| *fd >= 0)
    }
}

fn parse_port(value: &str) -> Result<u16, &'static str> {
    match value.parse::<i64>() {
        Err(_) => Err("parse error"),
        Ok(p) if (1..=65535).contains(&p) => Ok(p as u16),
        Ok(_) => Err("port out of range"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ProxySpec {
        ProxySpec {
            proto: Proto::Tcp,
            host_ip: "0.0.0.0".parse().unwrap(),
            host_port: 8080,
            container_ip: "172.18.0.2".parse().unwrap(),
            container_port: 80,
        }
    }

    #[test]
    fn to_args_is_docker_proxy_s_command_line() {
        assert_eq!(
            spec().to_args().join(" "),
            "-proto tcp -host-ip 0.0.0.0 -host-port 8080 -container-ip 172.18.0.2 -container-port 80"
        );
        let mut args = Args::new(spec());
        args.ready_fd = Some(3);
        assert!(args.to_args().join(" ").ends_with("-container-port 80 --ready-fd 3"));
        args.udp_idle_timeout = Duration::from_millis(250);
        assert!(args.to_args().join(" ").ends_with("--ready-fd 3 --udp-idle-timeout 250ms"));
    }

    #[test]
    fn round_trips() {
        let mut args = Args::new(ProxySpec {
            proto: Proto::Udp,
            host_ip: "::1".parse().unwrap(),
            host_port: 53,
            container_ip: "fd00::2".parse().unwrap(),
            container_port: 5353,
        });
        assert_eq!(Args::parse(args.to_args()).unwrap(), args);
        args.ready_fd = Some(7);
        args.udp_idle_timeout = Duration::from_secs(2);
        assert_eq!(Args::parse(args.to_args()).unwrap(), args);
    }

    #[test]
    fn accepts_both_dash_spellings_and_equals() {
        let a = Args::parse([
            "--proto=udp",
            "-host-ip=127.0.0.1",
            "--host-port",
            "5000",
            "-container-ip",
            "10.0.0.2",
            "--container-port=53",
            "-ready-fd=4",
            "--udp-idle-timeout",
            "1.5s",
        ])
        .unwrap();
        assert_eq!(a.spec.proto, Proto::Udp);
        assert_eq!(a.spec.host_addr(), "127.0.0.1:5000".parse().unwrap());
        assert_eq!(a.spec.container_addr(), "10.0.0.2:53".parse().unwrap());
        assert_eq!(a.ready_fd, Some(4));
        assert_eq!(a.udp_idle_timeout, Duration::from_millis(1500));
    }

    #[test]
    fn defaults_and_last_value_wins() {
        let a =
            Args::parse(["-host-port", "1", "-host-port", "2", "-container-ip", "10.0.0.2", "-container-port", "3"])
                .unwrap();
        assert_eq!(a.spec.proto, Proto::Tcp);
        assert_eq!(a.spec.host_addr(), "0.0.0.0:2".parse().unwrap());
        assert_eq!(a.ready_fd, None);
        assert_eq!(a.udp_idle_timeout, UDP_IDLE_TIMEOUT);
    }

    #[test]
    fn errors_are_go_flag_texts() {
        let err = |args: &[&str]| Args::parse(args).unwrap_err().0;
        let base = ["-container-ip", "10.0.0.2", "-container-port", "80"];
        let with = |extra: &[&str]| {
            let mut v: Vec<&str> = base.to_vec();
            v.extend_from_slice(extra);
            err(&v)
        };
        assert_eq!(with(&["-foo", "1"]), "flag provided but not defined: -foo");
        assert_eq!(with(&["-host-port"]), "flag needs an argument: -host-port");
        assert_eq!(with(&["-host-port", "x"]), r#"invalid value "x" for flag -host-port: parse error"#);
        assert_eq!(with(&["-host-port", "0"]), r#"invalid value "0" for flag -host-port: port out of range"#);
        assert_eq!(with(&["-host-port", "65536"]), r#"invalid value "65536" for flag -host-port: port out of range"#);
        assert_eq!(
            with(&["-host-port", "1", "-host-ip", "nope"]),
            r#"invalid value "nope" for flag -host-ip: invalid IP address"#
        );
        assert_eq!(with(&["-host-port", "1", "-proto", "sctp"]), "unsupported protocol sctp");
        assert_eq!(with(&["-host-port", "1", "extra"]), r#"unexpected argument "extra""#);
        assert_eq!(with(&["-host-port", "1", "--", "extra"]), r#"unexpected argument "extra""#);
        assert_eq!(
            with(&["-host-port", "1", "--ready-fd", "-1"]),
            r#"invalid value "-1" for flag -ready-fd: parse error"#
        );
        assert_eq!(
            with(&["-host-port", "1", "--udp-idle-timeout", "0s"]),
            r#"invalid value "0s" for flag -udp-idle-timeout: invalid duration"#
        );
        assert_eq!(with(&[]), "flag -host-port is required");
        assert_eq!(err(&["-host-port", "1", "-container-port", "2"]), "flag -container-ip is required");
        assert!(Args::parse(["-host-port", "1", "-container-ip", "10.0.0.2", "-container-port", "2", "--"]).is_ok());
        assert_eq!(Args::parse(["-x"]).unwrap_err().kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn scans_ready_fd_from_a_bad_command_line() {
        assert_eq!(Args::scan_ready_fd(["-bogus", "--ready-fd", "5"]), Some(5));
        assert_eq!(Args::scan_ready_fd(["-ready-fd=6", "-proto", "sctp"]), Some(6));
        assert_eq!(Args::scan_ready_fd(["-proto", "sctp"]), None);
        assert_eq!(Args::scan_ready_fd(["--ready-fd", "x"]), None);
    }

    #[test]
    fn display_is_moby_s_port_binding() {
        assert_eq!(spec().to_string(), "0.0.0.0:8080:172.18.0.2:80/tcp");
        let v6 = ProxySpec {
            proto: Proto::Udp,
            host_ip: "::".parse().unwrap(),
            host_port: 53,
            container_ip: "fd00::2".parse().unwrap(),
            container_port: 53,
        };
        assert_eq!(v6.to_string(), "[::]:53:[fd00::2]:53/udp");
    }
}
