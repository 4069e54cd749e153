//! `wharf version`, `wharf info` and `wharf events` (also as `wharf system …`), with
//! docker's output: the `docker version` template rendered through a tabwriter, the
//! `docker info` text layout, and `docker events` lines.

use std::io::Write;

use anyhow::anyhow;
use bollard::query_parameters::EventsOptions;
use clap::Args;
use futures_util::StreamExt;
use serde_json::{json, Map, Value};

use crate::connect::{self, Conn, Endpoint};
use crate::filters::{query_escape, Filters};
use crate::format::{self, go_json, StatusError};
use crate::timeutil;

/// Version of the wharf client.
pub(crate) const CLIENT_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Git commit the client was built from (set `WHARF_GIT_COMMIT` when building).
pub(crate) const GIT_COMMIT: &str = match option_env!("WHARF_GIT_COMMIT") {
    Some(c) => c,
    None => "unknown",
};
const BUILD_TIME: &str = match option_env!("WHARF_BUILD_TIME") {
    Some(t) => t,
    None => "unknown",
};
const RUST_VERSION: &str = env!("WHARF_RUSTC_VERSION");

#[derive(Debug, Args)]
pub(crate) struct VersionArgs {
    #[arg(short = 'f', long, value_name = "string", default_value = "", hide_default_value = true, help = format::INSPECT_FORMAT_HELP)]
    format: String,
}

#[derive(Debug, Args)]
pub(crate) struct InfoArgs {
    #[arg(short = 'f', long, value_name = "string", default_value = "", hide_default_value = true, help = format::INSPECT_FORMAT_HELP)]
    format: String,
}

#[derive(Debug, Args)]
pub(crate) struct EventsArgs {
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    filter: Vec<String>,
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true, help = format::INSPECT_FORMAT_HELP)]
    format: String,
    /// Show all events created since timestamp
    #[arg(long, value_name = "string")]
    since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long, value_name = "string")]
    until: Option<String>,
}

/// What the system commands need from the global setup.
pub(crate) struct Target {
    /// The resolved context name.
    pub context: String,
    /// The endpoint, or the resolution error (printed as docker's "Failed to initialize").
    pub endpoint: Result<Endpoint, String>,
    pub debug: bool,
}

impl Target {
    /// The endpoint, or docker's "Failed to initialize" error.
    pub(crate) fn endpoint(&self) -> anyhow::Result<&Endpoint> {
        self.endpoint.as_ref().map_err(|e| anyhow!("Failed to initialize: unable to resolve docker endpoint: {e}"))
    }
}

/// Go's `runtime.GOARCH` for this build.
pub(crate) fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// The API version the client would use without negotiation.
fn default_api_version() -> String {
    let v = bollard::API_DEFAULT_VERSION;
    format!("{}.{}", v.major_version, v.minor_version)
}

/// The `Client` object of `version` (docker's `clientVersion`).
fn client_version(context: &str, api_version: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert("Version".into(), json!(CLIENT_VERSION));
    if let Some(v) = api_version {
        m.insert("ApiVersion".into(), json!(v));
    }
    m.insert("DefaultAPIVersion".into(), json!(default_api_version()));
    m.insert("GitCommit".into(), json!(GIT_COMMIT));
    m.insert("RustVersion".into(), json!(RUST_VERSION));
    m.insert("Os".into(), json!(std::env::consts::OS));
    m.insert("Arch".into(), json!(go_arch()));
    m.insert("BuildTime".into(), json!(reformat_date(BUILD_TIME)));
    m.insert("Context".into(), json!(context));
    Value::Object(m)
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn display(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Go's `time.ANSIC` for an RFC 3339 build time; other values are kept.
fn reformat_date(t: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(t) {
        Ok(d) => d.format("%a %b %e %H:%M:%S %Y").to_string(),
        Err(_) => t.to_string(),
    }
}

/// The server's `/version` as JSON, with an `Engine` component added when the daemon
/// sent none and build times reformatted, as docker does before rendering.
fn server_version_value(sv: &bollard::models::SystemVersion) -> anyhow::Result<Value> {
    let mut v = serde_json::to_value(sv)?;
    let top = v.clone();
    let obj = v.as_object_mut().ok_or_else(|| anyhow!("unexpected /version response"))?;
    let comps = obj.entry("Components").or_insert_with(|| Value::Array(vec![]));
    if comps.is_null() {
        *comps = Value::Array(vec![]);
    }
    if let Value::Array(list) = comps {
        let mut found = false;
        for c in list.iter_mut() {
            if s(c, "Name") == "Engine" {
                found = true;
                if let Some(Value::Object(details)) = c.get_mut("Details") {
                    if let Some(Value::String(bt)) = details.get("BuildTime").cloned() {
                        details.insert("BuildTime".into(), json!(reformat_date(&bt)));
                    }
                }
            }
        }
        if !found {
            list.push(json!({
                "Name": "Engine",
                "Version": s(&top, "Version"),
                "Details": {
                    "ApiVersion": s(&top, "ApiVersion"),
                    "MinAPIVersion": s(&top, "MinAPIVersion"),
                    "GitCommit": s(&top, "GitCommit"),
                    "GoVersion": s(&top, "GoVersion"),
                    "Os": s(&top, "Os"),
                    "Arch": s(&top, "Arch"),
                    "BuildTime": reformat_date(s(&top, "BuildTime")),
                    "Experimental": top.get("Experimental").and_then(Value::as_bool).unwrap_or(false).to_string(),
                },
            }));
        }
    }
    Ok(v)
}

/// docker's default `version` template, written in tab-separated form for a tabwriter.
fn default_version_text(data: &Value) -> String {
    let c = &data["Client"];
    let mut out = String::from("Client:\n");
    let api = s(c, "ApiVersion");
    let default_api = s(c, "DefaultAPIVersion");
    out.push_str(&format!(" Version:\t{}\n", s(c, "Version")));
    if api != default_api && !api.is_empty() {
        out.push_str(&format!(" API version:\t{api} (downgraded from {default_api})\n"));
    } else {
        out.push_str(&format!(" API version:\t{}\n", if api.is_empty() { default_api } else { api }));
    }
    out.push_str(&format!(" Rust version:\t{}\n", s(c, "RustVersion")));
    out.push_str(&format!(" Git commit:\t{}\n", s(c, "GitCommit")));
    out.push_str(&format!(" Built:\t{}\n", s(c, "BuildTime")));
    out.push_str(&format!(" OS/Arch:\t{}/{}\n", s(c, "Os"), s(c, "Arch")));
    out.push_str(&format!(" Context:\t{}", s(c, "Context")));

    let sv = &data["Server"];
    if sv.is_object() {
        let platform = sv.get("Platform").map(|p| s(p, "Name")).unwrap_or("");
        out.push_str("\n\nServer:");
        if !platform.is_empty() {
            out.push(' ');
            out.push_str(platform);
        }
        let empty = vec![];
        for comp in sv.get("Components").and_then(Value::as_array).unwrap_or(&empty) {
            let name = s(comp, "Name");
            let details = comp.get("Details").and_then(Value::as_object).cloned().unwrap_or_default();
            let d = |k: &str| display(details.get(k));
            out.push_str(&format!("\n {name}:"));
            if name == "Engine" {
                out.push_str(&format!("\n  Version:\t{}", s(sv, "Version")));
                out.push_str(&format!(
                    "\n  API version:\t{} (minimum version {})",
                    d("ApiVersion"),
                    d("MinAPIVersion")
                ));
                if !d("GoVersion").is_empty() {
                    out.push_str(&format!("\n  Go version:\t{}", d("GoVersion")));
                }
                out.push_str(&format!("\n  Git commit:\t{}", d("GitCommit")));
                out.push_str(&format!("\n  Built:\t{}", d("BuildTime")));
                out.push_str(&format!("\n  OS/Arch:\t{}/{}", d("Os"), d("Arch")));
                out.push_str(&format!("\n  Experimental:\t{}", d("Experimental")));
            } else {
                out.push_str(&format!("\n  Version:\t{}", s(comp, "Version")));
                let mut keys: Vec<&String> = details.keys().collect();
                keys.sort();
                for k in keys {
                    out.push_str(&format!("\n  {k}:\t{}", d(k)));
                }
            }
        }
    }
    out
}

/// Writes `text` through docker's version tabwriter (minwidth 20, padding 1) plus "\n".
fn write_version_text(text: &str) -> anyhow::Result<()> {
    let mut tw = format::go_tabwriter(Vec::new(), 20, 1);
    tw.write_all(text.as_bytes())?;
    tw.write_all(b"\n")?;
    tw.flush()?;
    let bytes = tw.into_inner().map_err(|e| anyhow!("{e}"))?;
    let mut out = std::io::stdout().lock();
    out.write_all(&bytes)?;
    out.flush()?;
    Ok(())
}

/// `wharf version`.
pub(crate) async fn version(t: &Target, a: &VersionArgs) -> anyhow::Result<()> {
    let tmpl = match a.format.as_str() {
        "" | "json" => None,
        f => Some(format::parse_template(f).map_err(|e| StatusError::new(64, e))?),
    };
    let ep = t.endpoint()?;
    let (api, server, err) = match connect::connect(ep).await {
        Ok(conn) => {
            let v = conn.docker.client_version();
            let api = format!("{}.{}", v.major_version, v.minor_version);
            match conn.docker.version().await {
                Ok(sv) => (Some(api), Some(server_version_value(&sv)?), None),
                Err(e) => (Some(api), None, Some(conn.error(e))),
            }
        }
        Err(e) => (None, None, Some(e)),
    };
    let data = json!({
        "Client": client_version(&t.context, Some(api.as_deref().unwrap_or(&default_api_version()))),
        "Server": server.unwrap_or(Value::Null),
    });
    let text = match (&tmpl, a.format.as_str()) {
        (_, "json") => version_json(&data).map_err(|e| format!("{e:#}")),
        (Some(tm), _) => format::execute(tm, &data),
        (None, _) => Ok(default_version_text(&data)),
    };
    match text {
        Ok(text) => write_version_text(&text)?,
        Err(e) => {
            write_version_text("")?;
            if err.is_none() {
                return Err(anyhow!(e));
            }
        }
    }
    match err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// `wharf -v`.
pub(crate) fn short_version() -> String {
    format!("wharf version {CLIENT_VERSION}, build {GIT_COMMIT}")
}

/// docker's `needsServerInfo`: a template that only reads `.ClientInfo` or
/// `.ClientErrors` needs no daemon.
fn needs_server_info(tmpl: &str) -> bool {
    let b = tmpl.as_bytes();
    let mut top_level = Vec::new();
    for (i, &c) in b.iter().enumerate() {
        if c != b'.' || i + 1 >= b.len() || !b[i + 1].is_ascii_alphabetic() {
            continue;
        }
        let prev = if i == 0 { b' ' } else { b[i - 1] };
        if prev.is_ascii_alphanumeric() || matches!(prev, b'_' | b')' | b']' | b'$') {
            continue; // a chained field or a variable's field
        }
        let end =
            b[i + 1..].iter().position(|c| !(c.is_ascii_alphanumeric() || *c == b'_')).map_or(b.len(), |p| i + 1 + p);
        top_level.push(&tmpl[i + 1..end]);
    }
    top_level.is_empty() || top_level.iter().any(|f| *f != "ClientInfo" && *f != "ClientErrors")
}

/// `wharf info`.
pub(crate) async fn info(t: &Target, a: &InfoArgs) -> anyhow::Result<()> {
    let mut client_info = client_version(&t.context, None);
    if let Value::Object(m) = &mut client_info {
        m.insert("Debug".into(), json!(t.debug));
        m.insert("Plugins".into(), json!([]));
        m.insert("Warnings".into(), Value::Null);
    }

    let format = a.format.as_str();
    let tmpl = match format {
        "" | "json" => None,
        f => Some(format::parse_template(f).map_err(|e| StatusError::new(64, e))?),
    };

    let mut server_err: Option<anyhow::Error> = None;
    let mut server: Option<bollard::models::SystemInfo> = None;
    if format.is_empty() || format == "json" || needs_server_info(format) {
        let ep = t.endpoint()?;
        match connect::connect(ep).await {
            Ok(conn) => {
                let v = conn.docker.client_version();
                if let Value::Object(m) = &mut client_info {
                    m.insert("ApiVersion".into(), json!(format!("{}.{}", v.major_version, v.minor_version)));
                }
                match conn.docker.info().await {
                    Ok(i) => server = Some(i),
                    Err(e) => server_err = Some(conn.error(e)),
                }
            }
            Err(e) => server_err = Some(e),
        }
    }
    let server_value = server.as_ref().map(serde_json::to_value).transpose()?;

    if format.is_empty() {
        return pretty_print_info(&client_info, server_value.as_ref(), server_err, t.debug);
    }
    if let Some(e) = &server_err {
        eprintln!("{e:#}");
    }
    let server_errors: Option<Vec<String>> = server_err.as_ref().map(|e| vec![format!("{e:#}")]);
    let rendered = match &tmpl {
        None => info_json(server.as_ref(), server_errors.as_deref(), &client_info),
        Some(tmpl) => {
            let mut data = match server_value {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            };
            if let Some(errs) = &server_errors {
                data.insert("ServerErrors".into(), json!(errs));
            }
            data.insert("ClientInfo".into(), client_info);
            format::execute(tmpl, &Value::Object(data)).map_err(anyhow::Error::msg)
        }
    };
    let mut out = std::io::stdout().lock();
    match rendered {
        Ok(s) => writeln!(out, "{s}")?,
        Err(e) => {
            writeln!(out)?;
            if server_err.is_none() {
                return Err(e);
            }
        }
    }
    match server_err {
        Some(_) => Err(StatusError::new(1, "").into()),
        None => Ok(()),
    }
}

/// Key order of docker's `clientVersion`/`clientInfo` JSON.
const CLIENT_ORDER: [&str; 14] = [
    "Debug",
    "Platform",
    "Version",
    "ApiVersion",
    "DefaultAPIVersion",
    "GitCommit",
    "GoVersion",
    "RustVersion",
    "Os",
    "Arch",
    "BuildTime",
    "Context",
    "Plugins",
    "Warnings",
];

/// `info --format json`: the server's fields (in the order the API defines them), then
/// `ServerErrors` and `ClientInfo`, as docker's `dockerInfo` marshals.
fn info_json(
    server: Option<&bollard::models::SystemInfo>,
    server_errors: Option<&[String]>,
    client: &Value,
) -> anyhow::Result<String> {
    let mut fields = Vec::new();
    if let Some(sv) = server {
        let text = go_json(sv)?;
        let inner = text.trim_start_matches('{').trim_end_matches('}');
        if !inner.is_empty() {
            fields.push(inner.to_string());
        }
    }
    if let Some(errs) = server_errors {
        fields.push(format!("\"ServerErrors\":{}", go_json(errs)?));
    }
    fields.push(format!("\"ClientInfo\":{}", ordered_json(client, &CLIENT_ORDER, &|_, v| go_json(v))?));
    Ok(format!("{{{}}}", fields.join(",")))
}

/// `version --format json`, in the field order of docker's `versionInfo`.
fn version_json(data: &Value) -> anyhow::Result<String> {
    const TOP: [&str; 2] = ["Client", "Server"];
    const SERVER: [&str; 12] = [
        "Platform",
        "Components",
        "Version",
        "ApiVersion",
        "MinAPIVersion",
        "GitCommit",
        "GoVersion",
        "Os",
        "Arch",
        "KernelVersion",
        "Experimental",
        "BuildTime",
    ];
    const COMPONENT: [&str; 3] = ["Name", "Version", "Details"];
    let component = |_: &str, v: &Value| ordered_json(v, &COMPONENT, &|_, v| go_json(v));
    let server = |k: &str, v: &Value| match (k, v) {
        ("Components", Value::Array(list)) => {
            let items: anyhow::Result<Vec<String>> = list.iter().map(|c| component("", c)).collect();
            Ok(format!("[{}]", items?.join(",")))
        }
        _ => go_json(v),
    };
    ordered_json(data, &TOP, &|k, v| match k {
        "Client" => ordered_json(v, &CLIENT_ORDER, &|_, v| go_json(v)),
        "Server" if v.is_object() => ordered_json(v, &SERVER, &server),
        _ => go_json(v),
    })
}

fn num(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::Number(n)) => n.to_string(),
        _ => "0".into(),
    }
}

fn boolean(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key).and_then(Value::as_array).map(|a| a.iter().map(|x| display(Some(x))).collect()).unwrap_or_default()
}

/// docker's `prettyPrintInfo`.
fn pretty_print_info(
    client: &Value,
    server: Option<&Value>,
    err: Option<anyhow::Error>,
    debug: bool,
) -> anyhow::Result<()> {
    let mut o = String::new();
    let line = |o: &mut String, label: &str, value: &str| {
        o.push_str(label);
        o.push(' ');
        o.push_str(value);
        o.push('\n');
    };
    let non_empty = |o: &mut String, label: &str, value: &str| {
        if !value.is_empty() {
            o.push_str(label);
            o.push(' ');
            o.push_str(value);
            o.push('\n');
        }
    };
    o.push_str("Client:\n");
    non_empty(&mut o, " Version:   ", s(client, "Version"));
    line(&mut o, " Context:   ", s(client, "Context"));
    line(&mut o, " Debug Mode:", &boolean(client, "Debug").to_string());
    o.push_str("\nServer:\n");

    let mut warnings = Vec::new();
    if let Some(i) = server {
        line(&mut o, " Containers:", &num(i, "Containers"));
        line(&mut o, "  Running:", &num(i, "ContainersRunning"));
        line(&mut o, "  Paused:", &num(i, "ContainersPaused"));
        line(&mut o, "  Stopped:", &num(i, "ContainersStopped"));
        line(&mut o, " Images:", &num(i, "Images"));
        non_empty(&mut o, " Server Version:", s(i, "ServerVersion"));
        non_empty(&mut o, " Storage Driver:", s(i, "Driver"));
        for pair in i.get("DriverStatus").and_then(Value::as_array).into_iter().flatten() {
            if let Some([k, v]) = pair.as_array().map(Vec::as_slice) {
                o.push_str(&format!("  {}: {}\n", display(Some(k)), display(Some(v))));
            }
        }
        for pair in i.get("SystemStatus").and_then(Value::as_array).into_iter().flatten() {
            if let Some([k, v]) = pair.as_array().map(Vec::as_slice) {
                o.push_str(&format!(" {}: {}\n", display(Some(k)), display(Some(v))));
            }
        }
        non_empty(&mut o, " Logging Driver:", s(i, "LoggingDriver"));
        non_empty(&mut o, " Cgroup Driver:", s(i, "CgroupDriver"));
        non_empty(&mut o, " Cgroup Version:", s(i, "CgroupVersion"));
        let plugins = i.get("Plugins").cloned().unwrap_or(Value::Null);
        o.push_str(" Plugins:\n");
        line(&mut o, "  Volume:", &strings(&plugins, "Volume").join(" "));
        line(&mut o, "  Network:", &strings(&plugins, "Network").join(" "));
        let authz = strings(&plugins, "Authorization");
        if !authz.is_empty() {
            line(&mut o, "  Authorization:", &authz.join(" "));
        }
        line(&mut o, "  Log:", &strings(&plugins, "Log").join(" "));
        let cdi = strings(i, "CDISpecDirs");
        if !cdi.is_empty() {
            o.push_str(" CDI spec directories:\n");
            for d in cdi {
                o.push_str(&format!("  {d}\n"));
            }
        }
        let swarm = i.get("Swarm").cloned().unwrap_or(Value::Null);
        let state = s(&swarm, "LocalNodeState");
        line(&mut o, " Swarm:", state);
        if !state.is_empty() && state != "inactive" && state != "locked" {
            line(&mut o, "  NodeID:", s(&swarm, "NodeID"));
            if !s(&swarm, "Error").is_empty() {
                line(&mut o, "  Error:", s(&swarm, "Error"));
            }
            line(&mut o, "  Is Manager:", &boolean(&swarm, "ControlAvailable").to_string());
            line(&mut o, "  Node Address:", s(&swarm, "NodeAddr"));
        }
        if let Some(rt) = i.get("Runtimes").and_then(Value::as_object).filter(|m| !m.is_empty()) {
            let names: Vec<&str> = rt.keys().map(String::as_str).collect();
            line(&mut o, " Runtimes:", &names.join(" "));
            line(&mut o, " Default Runtime:", s(i, "DefaultRuntime"));
        }
        if s(i, "OSType") == "linux" {
            line(&mut o, " Init Binary:", s(i, "InitBinary"));
            let id = |k: &str| i.get(k).map(|c| s(c, "ID").to_string()).unwrap_or_default();
            line(&mut o, " containerd version:", &id("ContainerdCommit"));
            line(&mut o, " runc version:", &id("RuncCommit"));
            line(&mut o, " init version:", &id("InitCommit"));
            let sec = strings(i, "SecurityOptions");
            if !sec.is_empty() {
                o.push_str(" Security Options:\n");
                for opt in sec {
                    // "name=seccomp,profile=builtin" → name, then Profile line
                    let mut name = String::new();
                    let mut profile = None;
                    for kv in opt.split(',') {
                        match kv.split_once('=') {
                            Some(("name", v)) => name = v.to_string(),
                            Some(("profile", v)) => profile = Some(v.to_string()),
                            Some(_) => {}
                            None => name = kv.to_string(),
                        }
                    }
                    o.push_str(&format!("  {name}\n"));
                    if let Some(p) = profile {
                        line(&mut o, "   Profile:", &p);
                    }
                }
            }
        }
        if s(i, "OSType") == "windows" {
            line(&mut o, " Default Isolation:", s(i, "Isolation"));
        }
        non_empty(&mut o, " Kernel Version:", s(i, "KernelVersion"));
        non_empty(&mut o, " Operating System:", s(i, "OperatingSystem"));
        non_empty(&mut o, " OSType:", s(i, "OSType"));
        non_empty(&mut o, " Architecture:", s(i, "Architecture"));
        line(&mut o, " CPUs:", &num(i, "NCPU"));
        let mem = i.get("MemTotal").and_then(Value::as_f64).unwrap_or(0.0);
        line(&mut o, " Total Memory:", &format::bytes_size(mem));
        non_empty(&mut o, " Name:", s(i, "Name"));
        non_empty(&mut o, " ID:", s(i, "ID"));
        line(&mut o, " Docker Root Dir:", s(i, "DockerRootDir"));
        line(&mut o, " Debug Mode:", &boolean(i, "Debug").to_string());
        if boolean(i, "Debug") || debug {
            line(&mut o, "  File Descriptors:", &num(i, "NFd"));
            line(&mut o, "  Goroutines:", &num(i, "NGoroutines"));
            line(&mut o, "  System Time:", s(i, "SystemTime"));
            line(&mut o, "  EventsListeners:", &num(i, "NEventsListener"));
        }
        non_empty(&mut o, " HTTP Proxy:", s(i, "HttpProxy"));
        non_empty(&mut o, " HTTPS Proxy:", s(i, "HttpsProxy"));
        non_empty(&mut o, " No Proxy:", s(i, "NoProxy"));
        let labels = strings(i, "Labels");
        if !labels.is_empty() {
            o.push_str(" Labels:\n");
            for l in labels {
                o.push_str(&format!("  {l}\n"));
            }
        }
        line(&mut o, " Experimental:", &boolean(i, "ExperimentalBuild").to_string());
        if let Some(reg) = i.get("RegistryConfig").filter(|r| r.is_object()) {
            let cidrs = strings(reg, "InsecureRegistryCIDRs");
            let index = reg.get("IndexConfigs").and_then(Value::as_object).cloned().unwrap_or_default();
            if !cidrs.is_empty() || !index.is_empty() {
                o.push_str(" Insecure Registries:\n");
                for cfg in index.values() {
                    if !boolean(cfg, "Secure") {
                        o.push_str(&format!("  {}\n", s(cfg, "Name")));
                    }
                }
                for c in cidrs {
                    o.push_str(&format!("  {c}\n"));
                }
            }
            let mirrors = strings(reg, "Mirrors");
            if !mirrors.is_empty() {
                o.push_str(" Registry Mirrors:\n");
                for m in mirrors {
                    o.push_str(&format!("  {m}\n"));
                }
            }
        }
        line(&mut o, " Live Restore Enabled:", &boolean(i, "LiveRestoreEnabled").to_string());
        if !s(i, "ProductLicense").is_empty() {
            line(&mut o, " Product License:", s(i, "ProductLicense"));
        }
        let pools = i.get("DefaultAddressPools").and_then(Value::as_array).cloned().unwrap_or_default();
        if !pools.is_empty() {
            o.push_str(" Default Address Pools:\n");
            for p in pools {
                o.push_str(&format!("   Base: {}, Size: {}\n", s(&p, "Base"), num(&p, "Size")));
            }
        }
        o.push('\n');
        warnings = strings(i, "Warnings");
    }
    let mut out = std::io::stdout().lock();
    out.write_all(o.as_bytes())?;
    out.flush()?;
    for w in warnings {
        eprintln!("{w}");
    }
    match err {
        None => Ok(()),
        Some(e) => {
            let msg = format!("{e:#}");
            if msg.starts_with("Error response from daemon:") {
                eprintln!("ERROR: {msg}");
                Err(anyhow!("errors pretty printing info"))
            } else {
                // docker 28 returns connection failures as the command's error.
                Err(e)
            }
        }
    }
}

/// docker's default event line.
pub(crate) fn event_line(ev: &Value) -> String {
    let mut line = String::new();
    let nano = ev.get("timeNano").and_then(Value::as_i64).unwrap_or(0);
    let secs = ev.get("time").and_then(Value::as_i64).unwrap_or(0);
    if nano != 0 {
        line.push_str(&timeutil::format_rfc3339_nano_fixed(nano));
        line.push(' ');
    } else if secs != 0 {
        line.push_str(&timeutil::format_rfc3339_nano_fixed(secs.saturating_mul(1_000_000_000)));
        line.push(' ');
    }
    let actor = ev.get("Actor").cloned().unwrap_or(Value::Null);
    line.push_str(&format!("{} {} {}", s(ev, "Type"), s(ev, "Action"), s(&actor, "ID")));
    if let Some(attrs) = actor.get("Attributes").and_then(Value::as_object).filter(|m| !m.is_empty()) {
        // serde_json maps are sorted by key, as docker sorts them.
        let parts: Vec<String> = attrs.iter().map(|(k, v)| format!("{k}={}", display(Some(v)))).collect();
        line.push_str(&format!(" ({})", parts.join(", ")));
    }
    line
}

/// An event as JSON in the field order of docker's `events.Message`.
pub(crate) fn event_json(ev: &Value) -> anyhow::Result<String> {
    const ORDER: [&str; 9] = ["status", "id", "from", "Type", "Action", "Actor", "scope", "time", "timeNano"];
    const ACTOR_ORDER: [&str; 2] = ["ID", "Attributes"];
    ordered_json(ev, &ORDER, &|k, v| {
        if k == "Actor" {
            ordered_json(v, &ACTOR_ORDER, &|_, v| go_json(v))
        } else {
            go_json(v)
        }
    })
}

/// A JSON object with the keys in `order` first (Go struct order), then the others.
fn ordered_json(
    v: &Value,
    order: &[&str],
    value_json: &dyn Fn(&str, &Value) -> anyhow::Result<String>,
) -> anyhow::Result<String> {
    let Some(m) = v.as_object() else { return go_json(v) };
    let mut parts = Vec::new();
    let keys = order
        .iter()
        .copied()
        .filter(|k| m.contains_key(*k))
        .chain(m.keys().map(String::as_str).filter(|k| !order.contains(k)));
    for k in keys {
        if let Some(val) = m.get(k) {
            parts.push(format!("{}:{}", go_json(k)?, value_json(k, val)?));
        }
    }
    Ok(format!("{{{}}}", parts.join(",")))
}

/// `wharf events`.
pub(crate) async fn events(t: &Target, a: &EventsArgs) -> anyhow::Result<()> {
    enum Out {
        Pretty,
        Json,
        Template(wharf_gotmpl::Template),
    }
    let out_format = match a.format.as_str() {
        "" => Out::Pretty,
        "json" => Out::Json,
        f => Out::Template(
            wharf_gotmpl::Template::parse(f).map_err(|e| StatusError::new(64, format!("Error parsing format: {e}")))?,
        ),
    };
    let filters = Filters::parse(&a.filter).map_err(|e| StatusError::new(125, e))?;
    let now = timeutil::now_local();
    let since = a.since.as_deref().filter(|s| !s.is_empty()).map(|s| timeutil::get_timestamp(s, now)).transpose();
    let until = a.until.as_deref().filter(|s| !s.is_empty()).map(|s| timeutil::get_timestamp(s, now)).transpose();
    let (since, until) = (since.map_err(anyhow::Error::msg)?, until.map_err(anyhow::Error::msg)?);

    let ep = t.endpoint()?;
    let conn: Conn = connect::connect(ep).await?;
    let docker = if filters.is_empty() {
        conn.docker.clone()
    } else {
        conn.with_query(format!("filters={}", query_escape(&filters.to_json())))
    };
    let opts = EventsOptions { since, until, filters: None };
    let mut stream = docker.events(Some(opts));
    let mut stdout = std::io::stdout();
    while let Some(item) = stream.next().await {
        let ev = item.map_err(|e| conn.error(e))?;
        let v = serde_json::to_value(&ev)?;
        let line = match &out_format {
            Out::Pretty => event_line(&v),
            Out::Json => event_json(&v)?,
            Out::Template(tm) => format::execute(tm, &v).map_err(anyhow::Error::msg)?,
        };
        let mut lock = stdout.lock();
        writeln!(lock, "{line}")?;
        lock.flush()?;
    }
    stdout.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lines_like_docker() {
        let ev = json!({
            "Type": "container",
            "Action": "create",
            "Actor": {"ID": "4f2c", "Attributes": {"name": "x", "image": "busybox"}},
            "scope": "local",
            "time": 1_796_006_717i64,
            "timeNano": 1_796_006_717_123_456_789i64,
        });
        let line = event_line(&ev);
        assert!(line.ends_with(" container create 4f2c (image=busybox, name=x)"), "{line}");
        assert!(line.contains(".123456789"), "{line}");
        let no_attrs = json!({"Type": "network", "Action": "prune", "Actor": {"ID": ""}});
        assert_eq!(event_line(&no_attrs), "network prune ");
    }

    #[test]
    fn event_json_order() {
        let ev = json!({
            "Type": "container", "Action": "start",
            "Actor": {"ID": "a", "Attributes": {"z": "1", "a": "<2>"}},
            "scope": "local", "time": 1, "timeNano": 1000000000i64,
        });
        assert_eq!(
            event_json(&ev).expect("json"),
            r#"{"Type":"container","Action":"start","Actor":{"ID":"a","Attributes":{"a":"\u003c2\u003e","z":"1"}},"scope":"local","time":1,"timeNano":1000000000}"#
        );
    }

    #[test]
    fn server_info_detection() {
        assert!(needs_server_info("{{json .}}"));
        assert!(needs_server_info("{{.ServerVersion}}"));
        assert!(!needs_server_info("{{json .ClientInfo}}"));
        assert!(!needs_server_info("{{.ClientInfo.Version}} {{.ClientErrors}}"));
        assert!(needs_server_info("{{.ClientInfo.Version}} {{.Name}}"));
        assert!(needs_server_info("table"));
    }

    #[test]
    fn version_text_layout() {
        let sv: bollard::models::SystemVersion = serde_json::from_value(json!({
            "Platform": {"Name": "wharf"},
            "Version": "0.1.0", "ApiVersion": "1.45", "MinAPIVersion": "1.24",
            "GitCommit": "abc123", "Os": "linux", "Arch": "amd64",
            "Experimental": false, "BuildTime": "2026-11-29T02:45:17Z"
        }))
        .expect("version");
        let data = json!({
            "Client": {
                "Version": "0.1.0", "ApiVersion": "1.45", "DefaultAPIVersion": "1.53",
                "GitCommit": "unknown", "RustVersion": "rustc 1.95.0", "Os": "linux",
                "Arch": "amd64", "BuildTime": "unknown", "Context": "default"
            },
            "Server": server_version_value(&sv).expect("value"),
        });
        let mut tw = format::go_tabwriter(Vec::new(), 20, 1);
        tw.write_all(default_version_text(&data).as_bytes()).expect("write");
        tw.write_all(b"\n").expect("write");
        tw.flush().expect("flush");
        let got = String::from_utf8(tw.into_inner().expect("inner")).expect("utf8");
        let want = "\
Client:
 Version:           0.1.0
 API version:       1.45 (downgraded from 1.53)
 Rust version:      rustc 1.95.0
 Git commit:        unknown
 Built:             unknown
 OS/Arch:           linux/amd64
 Context:           default

Server: wharf
 Engine:
  Version:          0.1.0
  API version:      1.45 (minimum version 1.24)
  Git commit:       abc123
  Built:            Sun Nov 29 02:45:17 2026
  OS/Arch:          linux/amd64
  Experimental:     false
";
        assert_eq!(got, want);
    }
}
