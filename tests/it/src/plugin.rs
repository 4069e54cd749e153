//! A volume plugin of the tests' own: Docker's plugin protocol (`/Plugin.Activate`,
//! `/VolumeDriver.*`) served over a unix socket by a thread, keeping its volumes as
//! directories under a temporary directory and recording every call, so a test can assert
//! what the daemon asked of it. One connection at a time, `Connection: close` after each
//! answer — as much HTTP as the daemon's plugin client needs.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

/// One call the plugin saw: the method (`VolumeDriver.Mount`) and the request body.
#[derive(Debug, Clone)]
pub struct PluginCall {
    /// The path without its leading `/`.
    pub method: String,
    /// The JSON body (`null` when empty).
    pub body: Value,
}

#[derive(Default)]
struct State {
    calls: Vec<PluginCall>,
    /// Volume name → (options, mounted by these IDs).
    volumes: BTreeMap<String, (Value, Vec<String>)>,
}

/// A running plugin; its socket is removed when it is dropped.
pub struct VolumePlugin {
    name: String,
    socket: PathBuf,
    data: tempfile::TempDir,
    state: Arc<Mutex<State>>,
}

impl VolumePlugin {
    /// Serves plugin `name` at `<dir>/<name>.sock`, where a daemon discovers it.
    pub fn start(dir: &Path, name: &str) -> VolumePlugin {
        std::fs::create_dir_all(dir).unwrap();
        let socket = dir.join(format!("{name}.sock"));
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket).unwrap();
        let data = tempfile::tempdir().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let (st, root) = (state.clone(), data.path().to_path_buf());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { break };
                let _ = serve(conn, &st, &root);
            }
        });
        VolumePlugin { name: name.to_string(), socket, data, state }
    }

    /// The plugin's name (the volume driver name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where a volume's data lives.
    pub fn volume_dir(&self, volume: &str) -> PathBuf {
        self.data.path().join(volume)
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<PluginCall> {
        self.state.lock().unwrap().calls.clone()
    }

    /// The calls of one method (`VolumeDriver.Mount`).
    pub fn calls_of(&self, method: &str) -> Vec<Value> {
        self.calls().into_iter().filter(|c| c.method == method).map(|c| c.body).collect()
    }
}

impl Drop for VolumePlugin {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
    }
}

fn serve(conn: UnixStream, state: &Mutex<State>, root: &Path) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body)?;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let method = path.trim_start_matches('/').to_string();
    let answer = answer(&method, &body, state, root);
    state.lock().unwrap().calls.push(PluginCall { method, body });
    let text = answer.to_string();
    let mut conn = conn;
    write!(
        conn,
        "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.plugins.v1+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )?;
    conn.flush()
}

fn answer(method: &str, body: &Value, state: &Mutex<State>, root: &Path) -> Value {
    let name = body["Name"].as_str().unwrap_or_default().to_string();
    let dir = root.join(&name);
    let mut st = state.lock().unwrap();
    match method {
        "Plugin.Activate" => json!({"Implements": ["VolumeDriver"]}),
        "VolumeDriver.Capabilities" => json!({"Capabilities": {"Scope": "local"}}),
        "VolumeDriver.Create" => {
            if name.is_empty() || name.contains('/') {
                return json!({"Err": "bad name"});
            }
            let _ = std::fs::create_dir_all(&dir);
            st.volumes.entry(name).or_insert((body["Opts"].clone(), Vec::new()));
            json!({"Err": ""})
        }
        "VolumeDriver.Remove" => match st.volumes.get(&name) {
            None => json!({"Err": format!("no such volume {name}")}),
            Some((_, users)) if !users.is_empty() => json!({"Err": "volume is mounted"}),
            Some(_) => {
                st.volumes.remove(&name);
                let _ = std::fs::remove_dir_all(&dir);
                json!({"Err": ""})
            }
        },
        "VolumeDriver.Mount" => match st.volumes.get_mut(&name) {
            None => json!({"Err": format!("no such volume {name}")}),
            Some((_, users)) => {
                users.push(body["ID"].as_str().unwrap_or_default().to_string());
                json!({"Mountpoint": dir.display().to_string(), "Err": ""})
            }
        },
        "VolumeDriver.Unmount" => {
            if let Some((_, users)) = st.volumes.get_mut(&name) {
                let id = body["ID"].as_str().unwrap_or_default();
                if let Some(i) = users.iter().position(|u| u == id) {
                    users.remove(i);
                }
            }
            json!({"Err": ""})
        }
        "VolumeDriver.Path" => match st.volumes.get(&name) {
            Some((_, users)) if !users.is_empty() => json!({"Mountpoint": dir.display().to_string(), "Err": ""}),
            Some(_) => json!({"Mountpoint": "", "Err": ""}),
            None => json!({"Err": format!("no such volume {name}")}),
        },
        "VolumeDriver.Get" => match st.volumes.get(&name) {
            Some((_, users)) => json!({"Volume": {
                "Name": name,
                "Mountpoint": if users.is_empty() { String::new() } else { dir.display().to_string() },
                "Status": {"mounted-by": users.len()},
            }, "Err": ""}),
            None => json!({"Err": format!("no such volume {name}")}),
        },
        "VolumeDriver.List" => {
            let vols: Vec<Value> = st.volumes.keys().map(|n| json!({"Name": n, "Mountpoint": ""})).collect();
            json!({"Volumes": vols, "Err": ""})
        }
        _ => json!({"Err": format!("unknown method {method}")}),
    }
}
