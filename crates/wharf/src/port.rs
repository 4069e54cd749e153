//! `wharf port` (`container port`): a container's published ports from
//! `NetworkSettings.Ports` of `GET /containers/{id}/json`, printed as docker 28 prints
//! them: `80/tcp -> 0.0.0.0:8080` lines in natural order, or the host addresses of one
//! `PRIVATE_PORT[/PROTO]` (`tcp` by default), with docker's errors for a port that is
//! not a number or not published.

use clap::Args;
use http::Method;
use serde_json::Value;

use crate::connect::path_escape;
use crate::context::natural_cmp;
use crate::image::connect;
use crate::network::trim_id;
use crate::system::Target;
use crate::units::go_quote;

#[derive(Debug, Args)]
pub(crate) struct PortArgs {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    #[arg(value_name = "PRIVATE_PORT[/PROTO]")]
    pub port: Option<String>,
}

/// Go's `net.JoinHostPort`.
fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The host side of each binding of a port (`HostIp`, `HostPort`).
fn frontends(bindings: &Value) -> Vec<String> {
    bindings
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| {
            let s = |k: &str| b.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            join_host_port(&s("HostIp"), &s("HostPort"))
        })
        .collect()
}

/// The lines `port` prints for a container's `NetworkSettings.Ports`, or docker's error.
/// `container` is the name as given (for the message), `port` the optional argument.
pub(crate) fn port_lines(ports: &Value, container: &str, port: Option<&str>) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    match port.filter(|p| !p.is_empty()) {
        Some(arg) => {
            let (num, proto) = arg.split_once('/').unwrap_or((arg, ""));
            let proto = if proto.is_empty() { "tcp" } else { proto };
            // Go's strconv.ParseUint(num, 10, 16).
            if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "Error: invalid port ({num}): strconv.ParseUint: parsing {}: invalid syntax",
                    go_quote(num)
                ));
            }
            if num.parse::<u16>().is_err() {
                return Err(format!(
                    "Error: invalid port ({num}): strconv.ParseUint: parsing {}: value out of range",
                    go_quote(num)
                ));
            }
            let found = ports.get(format!("{num}/{proto}")).map(frontends).unwrap_or_default();
            if found.is_empty() {
                return Err(format!("Error: No public port '{arg}' published for {container}"));
            }
            out = found;
        }
        None => {
            for (from, bindings) in ports.as_object().into_iter().flatten() {
                out.extend(frontends(bindings).into_iter().map(|f| format!("{from} -> {f}")));
            }
        }
    }
    out.sort_by(|a, b| natural_cmp(a, b));
    Ok(out)
}

/// `wharf port` / `wharf container port`.
pub(crate) async fn port(t: &Target, a: &PortArgs) -> anyhow::Result<()> {
    let id = trim_id("container", &a.container).map_err(anyhow::Error::msg)?;
    let conn = connect(t).await?;
    let c = conn.raw_json(Method::GET, &format!("/containers/{}/json", path_escape(id))).await?;
    let ports = c.get("NetworkSettings").and_then(|n| n.get("Ports")).cloned().unwrap_or(Value::Null);
    let lines = port_lines(&ports, &a.container, a.port.as_deref()).map_err(anyhow::Error::msg)?;
    if !lines.is_empty() {
        println!("{}", lines.join("\n"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ports() -> Value {
        json!({
            "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}],
            "443/tcp": null,
            "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}],
            "9/tcp": [{"HostIp": "", "HostPort": "10009"}],
            "100/tcp": [{"HostIp": "0.0.0.0", "HostPort": "32768"}],
        })
    }

    /// `docker port` (28.2) output for the same `NetworkSettings.Ports`.
    #[test]
    fn port_output_like_docker() {
        assert_eq!(
            port_lines(&ports(), "c", None).expect("all"),
            [
                "9/tcp -> :10009",
                "53/udp -> 127.0.0.1:5353",
                "80/tcp -> 0.0.0.0:8080",
                "80/tcp -> [::]:8080",
                "100/tcp -> 0.0.0.0:32768"
            ]
        );
        assert_eq!(port_lines(&ports(), "c", Some("80")).expect("80"), ["0.0.0.0:8080", "[::]:8080"]);
        assert_eq!(port_lines(&ports(), "c", Some("80/tcp")).expect("80/tcp"), ["0.0.0.0:8080", "[::]:8080"]);
        assert_eq!(port_lines(&ports(), "c", Some("80/")).expect("80/"), ["0.0.0.0:8080", "[::]:8080"]);
        assert_eq!(port_lines(&ports(), "c", Some("53/udp")).expect("udp"), ["127.0.0.1:5353"]);
        assert_eq!(port_lines(&ports(), "c", Some("9")).expect("9"), [":10009"]);
        assert_eq!(port_lines(&json!({}), "e", None).expect("none"), Vec::<String>::new());
        assert_eq!(port_lines(&Value::Null, "e", None).expect("null"), Vec::<String>::new());
    }

    #[test]
    fn port_errors_like_docker() {
        let err = |p: &str| port_lines(&ports(), "c", Some(p)).expect_err(p);
        assert_eq!(err("53"), "Error: No public port '53' published for c");
        assert_eq!(err("81/tcp"), "Error: No public port '81/tcp' published for c");
        assert_eq!(err("443"), "Error: No public port '443' published for c");
        assert_eq!(err("80/TCP"), "Error: No public port '80/TCP' published for c");
        assert_eq!(err("080"), "Error: No public port '080' published for c");
        assert_eq!(err("abc"), "Error: invalid port (abc): strconv.ParseUint: parsing \"abc\": invalid syntax");
        assert_eq!(
            err("70000"),
            "Error: invalid port (70000): strconv.ParseUint: parsing \"70000\": value out of range"
        );
        assert_eq!(err("/tcp"), "Error: invalid port (): strconv.ParseUint: parsing \"\": invalid syntax");
        assert_eq!(err("+80"), "Error: invalid port (+80): strconv.ParseUint: parsing \"+80\": invalid syntax");
    }
}
