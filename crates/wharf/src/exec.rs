//! `exec` (also `container exec`), as the docker CLI 28 runs it.
//!
//! The container is inspected first (so "No such container" wins over other errors),
//! the TTY is checked, then `POST /containers/{id}/exec` creates the exec instance
//! with the body of [`exec_config`]. With `-d`, `POST /exec/{id}/start` with
//! `"Detach": true` runs it in the background. Otherwise the start request is a
//! hijacked connection (`hijack.rs`) whose streams are copied like `attach`'s:
//! multiplexed frames without a TTY, raw bytes with one (the local terminal in raw
//! mode with `-it`, its size kept in sync through `POST /exec/{id}/resize`, detach
//! keys watched). The exit status is the `ExitCode` of `GET /exec/{id}/json`.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::anyhow;
use clap::Args;
use http::Method;
use serde_json::{json, Value};

use crate::cli::parse_go_bool;
use crate::config::ConfigFile;
use crate::connect::{path_escape, Conn};
use crate::copts::parse_kv_file;
use crate::format::StatusError;
use crate::hijack::{self, StreamEnd, StreamOpts, Transport};
use crate::image::connect;
use crate::run::{detach_keys, escape_keys, monitor_tty_size_at};
use crate::system::Target;

/// `wharf exec`.
#[derive(Debug, Args)]
pub(crate) struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short = 'd', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false",
          hide_default_value = true, value_parser = parse_go_bool, value_name = "bool")]
    pub detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "string", default_value = "", hide_default_value = true)]
    pub detach_keys: String,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "list", value_parser = validate_env_name)]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "list")]
    pub env_file: Vec<String>,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false",
          hide_default_value = true, value_parser = parse_go_bool, value_name = "bool")]
    pub interactive: bool,
    /// Give extended privileges to the command
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false",
          hide_default_value = true, value_parser = parse_go_bool, value_name = "bool")]
    pub privileged: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false",
          hide_default_value = true, value_parser = parse_go_bool, value_name = "bool")]
    pub tty: bool,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short = 'u', long, value_name = "string", default_value = "", hide_default_value = true)]
    pub user: String,
    /// Working directory inside the container
    #[arg(short = 'w', long, value_name = "string", default_value = "", hide_default_value = true)]
    pub workdir: String,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    #[arg(value_name = "COMMAND", required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// docker's `ValidateEnv` at flag time: the name must not be empty.
fn validate_env_name(s: &str) -> Result<String, String> {
    if s.split('=').next().unwrap_or("").is_empty() {
        return Err(format!("invalid environment variable: {s}"));
    }
    Ok(s.to_string())
}

/// docker's `ReadKVEnvStrings`: the env files' variables, then the `-e` ones; a name
/// without a value takes the local variable's value (and is passed alone when unset).
fn exec_env(a: &ExecArgs, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Vec<String>, String> {
    let mut vars = Vec::new();
    for f in &a.env_file {
        vars.extend(parse_kv_file(f, Some(lookup))?);
    }
    for e in &a.env {
        if e.contains('=') {
            vars.push(e.clone());
        } else {
            match lookup(e) {
                Some(v) => vars.push(format!("{e}={v}")),
                None => vars.push(e.clone()),
            }
        }
    }
    Ok(vars)
}

/// docker's `parseExec` + `fillConsoleSize`: the body of `POST /containers/{id}/exec`.
/// `console` is the terminal size `(height, width)` (sent with `-t`).
fn exec_config(a: &ExecArgs, env: Vec<String>, detach_keys: &str, console: Option<(u16, u16)>) -> Value {
    let attach = !a.detach;
    let mut body = json!({
        "User": a.user,
        "Privileged": a.privileged,
        "Tty": a.tty,
        "AttachStdin": attach && a.interactive,
        "AttachStderr": attach,
        "AttachStdout": attach,
        "DetachKeys": detach_keys,
        "Env": if env.is_empty() { Value::Null } else { json!(env) },
        "WorkingDir": a.workdir,
        "Cmd": a.command,
    });
    if let (true, Some((h, w))) = (a.tty, console) {
        body["ConsoleSize"] = json!([h, w]);
    }
    body
}

/// The body of `POST /exec/{id}/start` (docker's `ExecStartOptions`).
fn start_config(detach: bool, tty: bool, console: Option<&Value>) -> Value {
    let mut body = json!({ "Detach": detach, "Tty": tty });
    if let Some(c) = console {
        body["ConsoleSize"] = c.clone();
    }
    body
}

/// `wharf exec`.
pub(crate) async fn exec(t: &Target, config: &ConfigFile, a: &ExecArgs) -> anyhow::Result<()> {
    let lookup = |k: &str| std::env::var(k).ok();
    let env = exec_env(a, &lookup).map_err(anyhow::Error::msg)?;
    let keys = detach_keys(&a.detach_keys, config);
    let conn = connect(t).await?;
    // The container first: "No such container" takes precedence, and no exec
    // instance is leaked when the TTY check fails.
    conn.raw_json(Method::GET, &format!("/containers/{}/json", path_escape(&a.container))).await?;
    if !a.detach && a.interactive && a.tty && !std::io::stdin().is_terminal() {
        return Err(anyhow!("the input device is not a TTY"));
    }
    let console = match hijack::tty_size() {
        (0, 0) => None,
        size => Some(size),
    };
    let body = exec_config(a, env, &keys, console);
    let created = conn.post_json(&format!("/containers/{}/exec", path_escape(&a.container)), &body).await?;
    let id = created["Id"].as_str().unwrap_or("").to_string();
    if id.is_empty() {
        return Err(anyhow!("exec ID empty"));
    }
    let start_path = format!("/exec/{}/start", path_escape(&id));
    let start = start_config(a.detach, a.tty, body.get("ConsoleSize"));
    if a.detach {
        conn.post_json(&start_path, &start).await?;
        return Ok(());
    }

    let tr = Transport::new(t.endpoint()?, conn.api_version());
    let hijacked = tr.hijack_json(&start_path, &start).await?;
    let resizer = if a.tty && std::io::stdin().is_terminal() {
        Some(monitor_tty_size_at(&conn, format!("/exec/{}", path_escape(&id))))
    } else {
        None
    };
    let o =
        StreamOpts { stdin: a.interactive, stdout: true, stderr: true, tty: a.tty, detach_keys: escape_keys(&keys) };
    let end = hijack::stream(hijacked, &o).await;
    if let Some(r) = resizer {
        r.abort();
    }
    if end? == StreamEnd::Detached {
        // docker's hijackedIOStreamer returns the escape error, which `exec` reports.
        return Err(anyhow!("read escape sequence"));
    }
    let code = exit_code(&conn, &id).await?;
    if code == 0 {
        Ok(())
    } else {
        Err(StatusError::new(code, "").into())
    }
}

/// The exit code of `GET /exec/{id}/json`, polled for a short while when the daemon
/// has not recorded it yet.
async fn exit_code(conn: &Conn, id: &str) -> anyhow::Result<i32> {
    let path = format!("/exec/{}/json", path_escape(id));
    for _ in 0..40 {
        let v = conn.raw_json(Method::GET, &path).await?;
        if let (false, Some(code)) = (v["Running"] == true, v["ExitCode"].as_i64()) {
            return Ok(code as i32);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let v = conn.raw_json(Method::GET, &path).await?;
    Ok(v["ExitCode"].as_i64().unwrap_or(0) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cmd {
        #[command(flatten)]
        a: ExecArgs,
    }

    fn args(v: &[&str]) -> ExecArgs {
        Cmd::try_parse_from(std::iter::once("exec").chain(v.iter().copied())).expect("parse").a
    }

    #[test]
    fn create_body_like_docker() {
        let a = args(&["-u", "1000:1000", "-w", "/tmp", "--privileged", "ex", "sh", "-c", "echo $A"]);
        let body = exec_config(&a, vec!["A=1".into()], "ctrl-x", Some((24, 80)));
        assert_eq!(
            body,
            json!({
                "User": "1000:1000", "Privileged": true, "Tty": false,
                "AttachStdin": false, "AttachStdout": true, "AttachStderr": true,
                "DetachKeys": "ctrl-x", "Env": ["A=1"], "WorkingDir": "/tmp",
                "Cmd": ["sh", "-c", "echo $A"],
            })
        );
        let a = args(&["-it", "ex", "sh"]);
        let body = exec_config(&a, vec![], "", Some((24, 80)));
        assert_eq!(body["ConsoleSize"], json!([24, 80]));
        assert_eq!(
            (body["AttachStdin"].clone(), body["Tty"].clone(), body["Env"].clone()),
            (json!(true), json!(true), Value::Null)
        );
        assert!(exec_config(&a, vec![], "", None).get("ConsoleSize").is_none());
        let a = args(&["-d", "-i", "ex", "sleep", "1"]);
        let body = exec_config(&a, vec![], "", None);
        assert_eq!(
            [&body["AttachStdin"], &body["AttachStdout"], &body["AttachStderr"]],
            [&json!(false), &json!(false), &json!(false)]
        );
    }

    #[test]
    fn start_body() {
        assert_eq!(start_config(true, false, None), json!({"Detach": true, "Tty": false}));
        assert_eq!(
            start_config(false, true, Some(&json!([24, 80]))),
            json!({"Detach": false, "Tty": true, "ConsoleSize": [24, 80]})
        );
    }

    #[test]
    fn env_files_then_flags() {
        let dir = std::env::temp_dir().join(format!("wharf-exec-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let f = dir.join("env");
        std::fs::write(&f, "# c\nF=1\nLOCAL\nMISSING\n").expect("write");
        let f = f.to_string_lossy().to_string();
        let a = args(&["--env-file", &f, "-e", "X=2", "-e", "LOCAL", "-e", "UNSET", "ex", "true"]);
        let lookup = |k: &str| (k == "LOCAL").then(|| "here".to_string());
        assert_eq!(exec_env(&a, &lookup).expect("env"), ["F=1", "LOCAL=here", "X=2", "LOCAL=here", "UNSET"]);
        std::fs::remove_dir_all(&dir).expect("cleanup");
        assert!(Cmd::try_parse_from(["exec", "-e", "=x", "ex", "true"]).is_err());
    }

    #[test]
    fn flags_stop_at_the_container_and_a_command_is_required() {
        let a = args(&["ex", "ls", "-l", "--help"]);
        assert_eq!((a.container.as_str(), a.command), ("ex", vec!["ls".to_string(), "-l".into(), "--help".into()]));
        assert!(Cmd::try_parse_from(["exec", "ex"]).is_err());
    }
}
