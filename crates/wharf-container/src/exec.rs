//! `docker exec`: processes run in a running container through its shim. An exec is created
//! (recorded in memory, as dockerd keeps them), started (the shim runs it from the container's
//! own process spec with the exec's args, env, user, workdir and terminal), and inspected for
//! its exit code.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use wharf_shim::protocol::{Client, Request};

use crate::error::{ContainerError, Result};
use crate::lifecycle::{Attached, Lifecycle};
use crate::model::Status;
use crate::store::now_nanos;

/// Docker's `ExecConfig` (what `POST /containers/{id}/exec` sends).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecConfig {
    /// Attach stdin.
    pub attach_stdin: bool,
    /// Attach stdout.
    pub attach_stdout: bool,
    /// Attach stderr.
    pub attach_stderr: bool,
    /// Allocate a TTY.
    pub tty: bool,
    /// `KEY=value` added to the container's environment.
    pub env: Option<Vec<String>>,
    /// The command.
    pub cmd: Option<Vec<String>>,
    /// All capabilities, no seccomp.
    pub privileged: bool,
    /// `user`, `uid:gid`; default: the container's user.
    pub user: String,
    /// Working directory; default: the container's.
    pub working_dir: String,
    /// Detach keys.
    pub detach_keys: String,
    /// Initial terminal size `[height, width]`.
    pub console_size: Option<Vec<u16>>,
}

/// An exec as `GET /exec/{id}/json` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecInfo {
    /// The exec ID.
    pub id: String,
    /// The container's ID.
    pub container_id: String,
    /// What was asked.
    pub config: ExecConfig,
    /// Whether it runs.
    pub running: bool,
    /// Its exit code once it has exited.
    pub exit_code: Option<i64>,
    /// Its PID (host namespace) once started.
    pub pid: i64,
    /// Whether it was started.
    pub started: bool,
}

/// The execs of this daemon's life.
#[derive(Default)]
pub struct Execs {
    map: Mutex<HashMap<String, ExecInfo>>,
}

impl Execs {
    fn get(&self, id: &str) -> Result<ExecInfo> {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
            .ok_or_else(|| ContainerError::NotFound(format!("exec instance {id}")).exec_message(id))
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut ExecInfo)) {
        if let Some(e) = self.map.lock().unwrap_or_else(|e| e.into_inner()).get_mut(id) {
            f(e);
        }
    }
}

impl ContainerError {
    fn exec_message(self, id: &str) -> ContainerError {
        match self {
            ContainerError::NotFound(_) => ContainerError::Other {
                kind: wharf_types::ErrorKind::NotFound,
                message: format!("No such exec instance: {id}"),
            },
            e => e,
        }
    }
}

impl Lifecycle {
    /// `POST /containers/{id}/exec`: the new exec's ID.
    pub fn exec_create(&self, name: &str, config: ExecConfig) -> Result<String> {
        let c = self.containers().get(name)?;
        if c.state.status == Status::Paused {
            return Err(ContainerError::Conflict(format!(
                "Container {} is paused, unpause the container before exec",
                c.id
            )));
        }
        if c.state.status != Status::Running {
            return Err(ContainerError::Conflict(format!("Container {} is not running", c.id)));
        }
        if config.cmd.as_ref().is_none_or(|c| c.is_empty()) {
            return Err(ContainerError::Invalid("No exec command specified".into()));
        }
        let id = crate::store::random_hex_id();
        let cmd = config.cmd.clone().unwrap_or_default().join(" ");
        self.execs().map.lock().unwrap_or_else(|e| e.into_inner()).insert(
            id.clone(),
            ExecInfo {
                id: id.clone(),
                container_id: c.id.clone(),
                config,
                running: false,
                exit_code: None,
                pid: 0,
                started: false,
            },
        );
        self.containers().publish(&format!("exec_create: {cmd}"), &c, &[("execID", id.clone())]);
        Ok(id)
    }

    /// `GET /exec/{id}/json`.
    pub fn exec_inspect(&self, id: &str) -> Result<ExecInfo> {
        let e = self.execs().get(id)?;
        if !(e.started && e.running) {
            return Ok(e);
        }
        // The exec's output may have ended an instant before its monitor recorded the exit (a
        // client inspects right then, as the docker CLI does): ask the shim, which answers at
        // once for an exec that has exited.
        let exited = Client::connect(&self.socket_of(&e.container_id)).ok().and_then(|mut cl| {
            cl.set_timeout(Some(std::time::Duration::from_millis(20))).ok()?;
            cl.call(&Request::ExecWait { exec_id: id.to_string() }).ok()?.exit
        });
        if let Some(x) = exited {
            self.execs().update(id, |info| {
                info.running = false;
                info.exit_code = Some(i64::from(x.exit_code));
            });
            return self.execs().get(id);
        }
        Ok(e)
    }

    /// `POST /exec/{id}/start`: runs it; with attached streams, the stream (else `None`).
    pub fn exec_start(self: &Arc<Self>, id: &str, detach: bool) -> Result<Option<Attached>> {
        let e = self.execs().get(id)?;
        if e.started {
            return Err(ContainerError::Conflict(format!("Error: Exec command {id} has already run")));
        }
        let c = self.containers().get(&e.container_id)?;
        if c.state.status != Status::Running {
            return Err(ContainerError::Conflict(format!("Container {} is not running", c.id)));
        }
        let process = self.exec_process(&c, &e.config)?;
        let attach = !detach && (e.config.attach_stdin || e.config.attach_stdout || e.config.attach_stderr);
        let mut client =
            Client::connect(&self.socket_of(&c.id)).map_err(|x| ContainerError::internal(x.to_string()))?;
        let resp = client
            .call(&Request::Exec {
                exec_id: id.to_string(),
                process,
                stdin: attach && e.config.attach_stdin,
                stdout: attach && e.config.attach_stdout,
                stderr: attach && e.config.attach_stderr,
                stdin_once: true,
            })
            .map_err(|x| ContainerError::internal(x.to_string()))?;
        if !resp.ok {
            let msg = resp.error.unwrap_or_default();
            self.execs().update(id, |x| {
                x.started = true;
                x.exit_code = Some(if msg.contains("not found") { 127 } else { 126 });
            });
            return Err(ContainerError::Other {
                kind: wharf_types::ErrorKind::InvalidArgument,
                message: format!("OCI runtime exec failed: exec failed: {msg}: unknown"),
            });
        }
        let pid = i64::from(resp.pid.unwrap_or(0));
        self.execs().update(id, |x| {
            x.started = true;
            x.running = true;
            x.pid = pid;
        });
        let cmd = e.config.cmd.clone().unwrap_or_default().join(" ");
        self.containers().publish(&format!("exec_start: {cmd}"), &c, &[("execID", id.to_string())]);
        // Another connection waits for the exit and records it.
        let (me, exec_id, cid) = (self.clone(), id.to_string(), c.id.clone());
        let _ = std::thread::Builder::new().name("exec-monitor".into()).spawn(move || {
            let code = Client::connect(&me.socket_of(&cid))
                .and_then(|mut cl| cl.call(&Request::ExecWait { exec_id: exec_id.clone() }))
                .ok()
                .and_then(|r| r.exit)
                .map_or(126, |x| i64::from(x.exit_code));
            me.execs().update(&exec_id, |x| {
                x.running = false;
                x.exit_code = Some(code);
            });
            if let Ok(c) = me.containers().get(&cid) {
                me.containers().publish("exec_die", &c, &[("execID", exec_id.clone()), ("exitCode", code.to_string())]);
            }
            let _ = now_nanos();
        });
        if !attach {
            return Ok(None);
        }
        let reader = client.into_stream();
        let buffered = reader.buffer().to_vec();
        Ok(Some(Attached { buffered, stream: reader.into_inner() }))
    }

    /// `POST /exec/{id}/resize`.
    pub fn exec_resize(&self, id: &str, height: u16, width: u16) -> Result<()> {
        let e = self.execs().get(id)?;
        let mut client =
            Client::connect(&self.socket_of(&e.container_id)).map_err(|x| ContainerError::internal(x.to_string()))?;
        client
            .call_ok(&Request::Resize { height, width, exec_id: Some(id.to_string()) })
            .map(|_| ())
            .map_err(|x| ContainerError::Conflict(x.to_string()))
    }

    /// The OCI `process` of an exec: the container's own process spec (capabilities, rlimits,
    /// seccomp-relevant fields) with the exec's args, env, user, cwd and terminal.
    fn exec_process(&self, c: &crate::model::Container, cfg: &ExecConfig) -> Result<Value> {
        let spec =
            wharf_runtime::read_bundle(&self.bundle_of(&c.id)).map_err(|e| ContainerError::internal(e.to_string()))?;
        let mut process = serde_json::to_value(spec.process()).map_err(|e| ContainerError::internal(e.to_string()))?;
        if process.is_null() {
            process = json!({});
        }
        process["args"] = json!(cfg.cmd.clone().unwrap_or_default());
        let env: Vec<String> = process["env"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        process["env"] = json!(wharf_runtime::replace_or_append_env(env, cfg.env.as_deref().unwrap_or_default()));
        if !cfg.working_dir.is_empty() {
            process["cwd"] = json!(cfg.working_dir);
        }
        if !cfg.user.is_empty() {
            let u = wharf_runtime::resolve_user(&self.rootfs_of(&c.id), &cfg.user, &[])
                .map_err(|e| ContainerError::Invalid(e.to_string()))?;
            process["user"] = json!({"uid": u.uid, "gid": u.gid, "additionalGids": u.additional_gids});
        }
        process["terminal"] = json!(cfg.tty);
        if cfg.tty {
            let (h, w) = match cfg.console_size.as_deref() {
                Some([h, w]) if *h > 0 && *w > 0 => (*h, *w),
                _ => (24, 80),
            };
            process["consoleSize"] = json!({"height": h, "width": w});
            let env = process["env"].as_array_mut().expect("env is an array");
            if !env.iter().any(|e| e.as_str().is_some_and(|s| s.starts_with("TERM="))) {
                env.push(json!("TERM=xterm"));
            }
        } else if let Some(o) = process.as_object_mut() {
            o.remove("consoleSize");
        }
        if cfg.privileged {
            let all: Vec<&str> = wharf_runtime::all_capabilities(u64::MAX);
            process["capabilities"] = json!({"bounding": all, "effective": all, "permitted": all});
        }
        Ok(process)
    }
}
