//! Docker's legacy container links (`--link name[:alias]`, `HostConfig.Links`) on the default
//! bridge, as moby's `daemon/links` and `setupLinkedContainers` make them: the linked
//! container's address under the alias, its hostname and its name in `/etc/hosts`, and the
//! `ALIAS_PORT_…`, `ALIAS_NAME` and `ALIAS_ENV_…` variables in the environment. On
//! user-defined networks links do nothing here (the embedded DNS resolves names there).

use std::net::Ipv4Addr;

/// One link: the linked container's name (or ID) and the alias it is known by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    /// The linked (child) container, as given.
    pub child: String,
    /// The alias (the last path element of what was given; the child's name when none).
    pub alias: String,
}

/// `HostConfig.Links` entries: `name`, `name:alias`, or the `/name:/parent/alias` form Docker
/// shows back.
pub(crate) fn parse(links: &[String]) -> Vec<Link> {
    links
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (child, alias) = l.split_once(':').unwrap_or((l, l));
            let child = child.trim_start_matches('/').to_string();
            let alias = alias.rsplit('/').next().unwrap_or(alias).to_string();
            Link { child, alias }
        })
        .collect()
}

/// moby `links.Link.ToEnv`: `link_name` is `/<parent>/<alias>`; `ports` are the child's
/// exposed ports (`80/tcp`); `child_env` its configured environment.
pub(crate) fn env(alias: &str, link_name: &str, ip: Ipv4Addr, ports: &[String], child_env: &[String]) -> Vec<String> {
    let prefix = alias.to_uppercase().replace('-', "_");
    let mut parsed: Vec<(u16, &str)> = ports
        .iter()
        .filter_map(|p| {
            let (port, proto) = p.split_once('/').unwrap_or((p, "tcp"));
            port.parse().ok().map(|n| (n, proto))
        })
        .collect();
    // nat.Sort with moby's comparator: by port, tcp first.
    parsed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| (a.1 != "tcp").cmp(&(b.1 != "tcp")).then(a.1.cmp(b.1))));
    let mut out = Vec::new();
    if let Some((port, proto)) = parsed.first() {
        out.push(format!("{prefix}_PORT={proto}://{ip}:{port}"));
    }
    for (port, proto) in &parsed {
        let up = proto.to_uppercase();
        out.push(format!("{prefix}_PORT_{port}_{up}={proto}://{ip}:{port}"));
        out.push(format!("{prefix}_PORT_{port}_{up}_ADDR={ip}"));
        out.push(format!("{prefix}_PORT_{port}_{up}_PORT={port}"));
        out.push(format!("{prefix}_PORT_{port}_{up}_PROTO={proto}"));
    }
    out.push(format!("{prefix}_NAME={link_name}"));
    for v in child_env {
        let Some((k, val)) = v.split_once('=') else { continue };
        // Variables docker build adds, not the linked service's own.
        if k == "HOME" || k == "PATH" {
            continue;
        }
        out.push(format!("{prefix}_ENV_{k}={val}"));
    }
    out
}

/// The `/etc/hosts` line of a link: the alias, the child's hostname, and its name when that
/// differs from the alias.
pub(crate) fn hosts_line(alias: &str, child_hostname: &str, child_name: &str, ip: Ipv4Addr) -> String {
    let mut names = format!("{alias} {child_hostname}");
    if alias != child_name {
        names.push(' ');
        names.push_str(child_name);
    }
    format!("{ip}\t{names}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        let l = parse(&["db".into(), "cache:c".into(), "/web:/app/front".into()]);
        assert_eq!(l[0], Link { child: "db".into(), alias: "db".into() });
        assert_eq!(l[1], Link { child: "cache".into(), alias: "c".into() });
        assert_eq!(l[2], Link { child: "web".into(), alias: "front".into() });
    }

    #[test]
    fn env_as_moby() {
        let ip: Ipv4Addr = "172.17.0.2".parse().unwrap();
        let e = env(
            "my-db",
            "/web/my-db",
            ip,
            &["6379/tcp".into(), "53/udp".into(), "53/tcp".into()],
            &["PATH=/bin".into(), "PASSWORD=x=y".into(), "EMPTY".into()],
        );
        assert_eq!(
            e,
            vec![
                "MY_DB_PORT=tcp://172.17.0.2:53",
                "MY_DB_PORT_53_TCP=tcp://172.17.0.2:53",
                "MY_DB_PORT_53_TCP_ADDR=172.17.0.2",
                "MY_DB_PORT_53_TCP_PORT=53",
                "MY_DB_PORT_53_TCP_PROTO=tcp",
                "MY_DB_PORT_53_UDP=udp://172.17.0.2:53",
                "MY_DB_PORT_53_UDP_ADDR=172.17.0.2",
                "MY_DB_PORT_53_UDP_PORT=53",
                "MY_DB_PORT_53_UDP_PROTO=udp",
                "MY_DB_PORT_6379_TCP=tcp://172.17.0.2:6379",
                "MY_DB_PORT_6379_TCP_ADDR=172.17.0.2",
                "MY_DB_PORT_6379_TCP_PORT=6379",
                "MY_DB_PORT_6379_TCP_PROTO=tcp",
                "MY_DB_NAME=/web/my-db",
                "MY_DB_ENV_PASSWORD=x=y",
            ]
        );
    }

    #[test]
    fn hosts_lines() {
        let ip: Ipv4Addr = "172.17.0.2".parse().unwrap();
        assert_eq!(hosts_line("db", "abc123", "db", ip), "172.17.0.2\tdb abc123\n");
        assert_eq!(hosts_line("d", "abc123", "db", ip), "172.17.0.2\td abc123 db\n");
    }
}
