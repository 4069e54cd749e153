//! The container environment as moby's `Container.CreateDaemonEnvironment` builds it.

/// Docker's default `PATH` for Linux containers (moby `oci.DefaultPathEnv`).
pub const DEFAULT_PATH_ENV: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The process environment Docker gives a container: `PATH` (default), `HOSTNAME`, `TERM=xterm`
/// with a TTY, the legacy-link variables, then `Config.Env` replacing same-named entries in
/// place and appending the rest (an entry without `=` unsets the variable).
pub fn daemon_environment(hostname: &str, tty: bool, linked_env: &[String], config_env: &[String]) -> Vec<String> {
    let mut env = vec![format!("PATH={DEFAULT_PATH_ENV}"), format!("HOSTNAME={hostname}")];
    if tty {
        env.push("TERM=xterm".into());
    }
    env.extend(linked_env.iter().cloned());
    replace_or_append_env(env, config_env)
}

/// moby `ReplaceOrAppendEnvValues`.
pub fn replace_or_append_env(mut defaults: Vec<String>, overrides: &[String]) -> Vec<String> {
    let key = |e: &str| e.split_once('=').map_or(e, |(k, _)| k).to_string();
    let cache: std::collections::HashMap<String, usize> =
        defaults.iter().enumerate().map(|(i, e)| (key(e), i)).collect();
    let mut removed = vec![false; defaults.len()];
    for v in overrides {
        match v.split_once('=') {
            None => {
                if let Some(&i) = cache.get(v.as_str()) {
                    removed[i] = true;
                }
            }
            Some((k, _)) => match cache.get(k) {
                Some(&i) => {
                    defaults[i] = v.clone();
                    removed[i] = false;
                }
                None => defaults.push(v.clone()),
            },
        }
    }
    let mut i = 0;
    defaults.retain(|_| {
        let keep = removed.get(i).is_none_or(|r| !r);
        i += 1;
        keep
    });
    defaults
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn dockers_environment() {
        assert_eq!(
            daemon_environment("abc123", true, &[], &s(&["FOO=bar", "PATH=/bin"])),
            s(&["PATH=/bin", "HOSTNAME=abc123", "TERM=xterm", "FOO=bar"])
        );
        assert_eq!(
            daemon_environment("h", false, &s(&["DB_PORT=tcp://x"]), &s(&["HOSTNAME", "A=1", "A=2"])),
            s(&[&format!("PATH={DEFAULT_PATH_ENV}"), "DB_PORT=tcp://x", "A=1", "A=2"])
        );
    }
}
