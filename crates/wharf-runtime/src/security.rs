//! `HostConfig.SecurityOpt` parsed as moby's `parseSecurityOpt` does.

use crate::error::RuntimeError;

/// What the security options ask for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityOptions {
    /// `no-new-privileges` (starting from the daemon's default).
    pub no_new_privileges: bool,
    /// `seccomp=`: `""` (daemon default), `unconfined`, `builtin`, or a JSON profile.
    pub seccomp_profile: String,
    /// `apparmor=` (accepted, not applied: wharf does not load AppArmor profiles).
    pub apparmor_profile: String,
    /// `label=…` / `disable` values (accepted, not applied: no SELinux support).
    pub label_opts: Vec<String>,
}

/// Parses security options (`no-new-privileges`, `no-new-privileges=<bool>`, `seccomp=…`,
/// `apparmor=…`, `label=…`, `disable`; `:` is accepted as the deprecated separator) with
/// moby's error texts (`invalid --security-opt 1: "x"`). Docker runs this when a container is
/// created; `daemon_no_new_privileges` is dockerd's `--no-new-privileges`.
pub fn parse_security_opt(opts: &[String], daemon_no_new_privileges: bool) -> Result<SecurityOptions, RuntimeError> {
    let mut out = SecurityOptions { no_new_privileges: daemon_no_new_privileges, ..Default::default() };
    for opt in opts {
        if opt == "no-new-privileges" {
            out.no_new_privileges = true;
            continue;
        }
        if opt == "disable" {
            out.label_opts.push("disable".into());
            continue;
        }
        let kv = if opt.contains('=') { opt.split_once('=') } else { opt.split_once(':') };
        let Some((k, v)) = kv else {
            return Err(RuntimeError::invalid(format!("invalid --security-opt 1: {opt:?}")));
        };
        match k {
            "label" => out.label_opts.push(v.into()),
            "apparmor" => out.apparmor_profile = v.into(),
            "seccomp" => out.seccomp_profile = v.into(),
            "no-new-privileges" => {
                out.no_new_privileges = parse_go_bool(v)
                    .ok_or_else(|| RuntimeError::invalid(format!("invalid --security-opt 2: {opt:?}")))?;
            }
            _ => return Err(RuntimeError::invalid(format!("invalid --security-opt 2: {opt:?}"))),
        }
    }
    Ok(out)
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[&str]) -> Result<SecurityOptions, RuntimeError> {
        parse_security_opt(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>(), false)
    }

    #[test]
    fn parses_dockers_forms() {
        let o = p(&["no-new-privileges", "seccomp=unconfined", "apparmor=docker-default", "label=disable"]).unwrap();
        assert!(o.no_new_privileges);
        assert_eq!(o.seccomp_profile, "unconfined");
        assert_eq!(o.apparmor_profile, "docker-default");
        assert!(!p(&["no-new-privileges:false"]).unwrap().no_new_privileges);
        assert!(p(&["no-new-privileges=true"]).unwrap().no_new_privileges);
        assert!(parse_security_opt(&[], true).unwrap().no_new_privileges);
        // A JSON profile may contain ':' and '='; the key ends at the first '='.
        let o = p(&[r#"seccomp={"defaultAction":"SCMP_ACT_ALLOW","x":"a=b"}"#]).unwrap();
        assert_eq!(o.seccomp_profile, r#"{"defaultAction":"SCMP_ACT_ALLOW","x":"a=b"}"#);
    }

    #[test]
    fn errors_in_mobys_words() {
        assert_eq!(p(&["bogus"]).unwrap_err().to_string(), r#"invalid --security-opt 1: "bogus""#);
        assert_eq!(p(&["foo=bar"]).unwrap_err().to_string(), r#"invalid --security-opt 2: "foo=bar""#);
        assert_eq!(
            p(&["no-new-privileges=maybe"]).unwrap_err().to_string(),
            r#"invalid --security-opt 2: "no-new-privileges=maybe""#
        );
    }
}
