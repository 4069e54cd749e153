//! `POST /containers/create`'s body as dockerd reads it (`runconfig.ContainerConfigWrapper`):
//! the `Config` fields at the top level, plus `HostConfig` and `NetworkingConfig`; then the
//! router's adjustments (default network mode, unlimited PIDs, per-version fixes).
//!
//! Go's JSON decoding is kinder than serde's, and clients rely on it, so before the typed
//! decode: field names match in any case (`"image"` is `Image`), `null` on a known field means
//! "not given", and the string-or-list fields (`Cmd`, `Entrypoint`, `Shell`, `CapAdd`,
//! `CapDrop`: Go's `strslice`) accept a single string.

use serde_json::{Map, Value};
use wharf_api::ApiVersion;
use wharf_container::{Config, CreateRequest, HostConfig};

use super::wire::{host_config_fields, HOST_CONFIG_OMITEMPTY};
use crate::ApiError;

/// Go's `container.Config` field names.
const CONFIG_FIELDS: &[&str] = &[
    "Hostname",
    "Domainname",
    "User",
    "AttachStdin",
    "AttachStdout",
    "AttachStderr",
    "ExposedPorts",
    "Tty",
    "OpenStdin",
    "StdinOnce",
    "Env",
    "Cmd",
    "Healthcheck",
    "ArgsEscaped",
    "Image",
    "Volumes",
    "WorkingDir",
    "Entrypoint",
    "NetworkDisabled",
    "MacAddress",
    "OnBuild",
    "Labels",
    "StopSignal",
    "StopTimeout",
    "Shell",
];

/// `Config` fields of Go type `strslice.StrSlice`.
const CONFIG_STRSLICES: &[&str] = &["Cmd", "Entrypoint", "Shell"];
/// `HostConfig` fields of Go type `strslice.StrSlice`.
const HOST_CONFIG_STRSLICES: &[&str] = &["CapAdd", "CapDrop"];

/// `HostConfig` fields beyond [`host_config_fields`]: the `omitempty` ones.
fn host_config_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = host_config_fields().into_iter().map(|(k, _)| k).collect();
    names.extend_from_slice(HOST_CONFIG_OMITEMPTY);
    names
}

/// The warning dockerd gives for a container-wide `MacAddress` from API 1.44.
pub(crate) const MAC_ADDRESS_WARNING: &str =
    "The container-wide MacAddress field is now deprecated. It should be specified in EndpointsConfig instead.";

/// The decoded request and the warnings the decoding itself produced.
#[derive(Debug)]
pub(crate) struct Decoded {
    pub(crate) request: CreateRequest,
    pub(crate) warnings: Vec<String>,
}

/// Decodes the body of `POST /containers/create?name=…` for a client speaking `version`, with
/// dockerd's messages for what it refuses. `NetworkingConfig` is read (it must be an object or
/// `null`) and dropped: wharf has no networks yet.
pub(crate) fn decode(name: &str, body: &[u8], version: ApiVersion) -> Result<Decoded, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid("invalid JSON: got EOF while reading request body"));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| invalid_json(e.to_string()))?;
    let mut top = match value {
        Value::Object(o) => o,
        Value::Null => Map::new(),
        other => {
            return Err(invalid_json(format!(
                "json: cannot unmarshal {} into Go value of type runconfig.ContainerConfigWrapper",
                go_kind(&other)
            )))
        }
    };
    let host = take_ci(&mut top, "HostConfig");
    let networking = take_ci(&mut top, "NetworkingConfig");
    if let Some(n) = &networking {
        if !matches!(n, Value::Object(_) | Value::Null) {
            return Err(invalid_json(format!(
                "json: cannot unmarshal {} into Go struct field ContainerConfigWrapper.NetworkingConfig of type network.NetworkingConfig",
                go_kind(n)
            )));
        }
    }
    // Go allocates the embedded `Config` only when one of its fields is in the body.
    let mut top = normalize(top, CONFIG_FIELDS, CONFIG_STRSLICES);
    if !top.keys().any(|k| CONFIG_FIELDS.contains(&k.as_str())) {
        return Err(ApiError::invalid("config cannot be empty in order to create a container"));
    }
    let mut warnings = Vec::new();
    if version >= v1(44) {
        if let Some(mac) = top.remove("MacAddress") {
            if mac.as_str().is_some_and(|m| !m.is_empty()) {
                warnings.push(MAC_ADDRESS_WARNING.to_string());
            }
        }
    }
    let config: Config = serde_json::from_value(Value::Object(top)).map_err(|e| invalid_json(e.to_string()))?;

    let host = match host {
        Some(Value::Object(o)) => normalize(o, &host_config_names(), HOST_CONFIG_STRSLICES),
        None | Some(Value::Null) => Map::new(),
        Some(other) => {
            return Err(invalid_json(format!(
                "json: cannot unmarshal {} into Go struct field ContainerConfigWrapper.HostConfig of type container.HostConfig",
                go_kind(&other)
            )))
        }
    };
    let mut host_config: HostConfig =
        serde_json::from_value(Value::Object(host)).map_err(|e| invalid_json(e.to_string()))?;
    adjust_host_config(&mut host_config, version);
    let networking = match networking {
        Some(Value::Object(mut n)) => match take_ci(&mut n, "EndpointsConfig") {
            Some(Value::Object(eps)) => eps,
            _ => Map::new(),
        },
        _ => Map::new(),
    };
    let request = CreateRequest {
        name: name.to_string(),
        config,
        host_config,
        networking,
        api_version: (u32::from(version.major), u32::from(version.minor)),
        ..Default::default()
    };
    Ok(Decoded { request, warnings })
}

/// The router's adjustments to the host config (moby's `postContainersCreate`).
fn adjust_host_config(hc: &mut HostConfig, version: ApiVersion) {
    // "default" is the OS's default network: the bridge on Linux.
    if hc.network_mode.is_empty() || hc.network_mode == "default" {
        hc.network_mode = "bridge".into();
    }
    // 0 and any negative value are "unlimited", which is no limit.
    if hc.pids_limit.is_some_and(|l| l <= 0) {
        hc.pids_limit = None;
    }
    if version < v1(25) {
        // Before 1.25 the client removed the container itself.
        hc.auto_remove = false;
    }
    if version < v1(40) && hc.ipc_mode.is_empty() {
        // Older clients expect a shareable IPC namespace by default.
        hc.ipc_mode = "shareable".into();
    }
    if version >= v1(42) {
        // KernelMemory was removed in 1.42.
        hc.extra.remove("KernelMemory");
    }
    if version < v1(43) {
        // Annotations came in 1.43.
        hc.extra.remove("Annotations");
    }
}

/// `1.minor`.
const fn v1(minor: u16) -> ApiVersion {
    ApiVersion { major: 1, minor }
}

fn invalid_json(detail: String) -> ApiError {
    ApiError::invalid(format!("invalid JSON: {detail}"))
}

/// The JSON kind in Go's `UnmarshalTypeError` words.
fn go_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Removes `key` from `obj`, matched as Go matches field names: exactly, or else in any case.
fn take_ci(obj: &mut Map<String, Value>, key: &str) -> Option<Value> {
    if let Some(v) = obj.remove(key) {
        return Some(v);
    }
    let found = obj.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()?;
    obj.remove(&found)
}

/// Renames keys that name one of `fields` in another case to its canonical spelling, drops
/// `null` on known fields, and turns a lone string into a list on `strslices`.
fn normalize(obj: Map<String, Value>, fields: &[&str], strslices: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    // Exact spellings first, so that they win over a case variant, as in Go.
    let (exact, other): (Vec<_>, Vec<_>) = obj.into_iter().partition(|(k, _)| fields.contains(&k.as_str()));
    for (key, value) in exact.into_iter().chain(other) {
        let key = match fields.iter().find(|f| f.eq_ignore_ascii_case(&key)) {
            Some(canonical) => canonical.to_string(),
            None => key,
        };
        if out.contains_key(&key) {
            continue;
        }
        let known = fields.contains(&key.as_str());
        let value = match value {
            Value::Null if known => continue,
            Value::String(s) if strslices.contains(&key.as_str()) => Value::Array(vec![Value::String(s)]),
            v => v,
        };
        out.insert(key, value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const V: ApiVersion = v1(45);

    fn ok(body: Value) -> Decoded {
        decode("web", body.to_string().as_bytes(), V).unwrap()
    }

    fn err(body: &[u8]) -> String {
        decode("", body, V).unwrap_err().message
    }

    #[test]
    fn splits_config_and_host_config() {
        let d = ok(json!({
            "Image": "busybox", "Cmd": ["echo", "hi"], "Env": ["A=b"], "Labels": {"tier": "web"},
            "Tty": true, "Custom": {"kept": 1},
            "HostConfig": {"Binds": ["/a:/b"], "NetworkMode": "default", "Memory": 1024, "PidsLimit": -1,
                           "PortBindings": {"80/tcp": [{"HostPort": "8080"}]}},
            "NetworkingConfig": {"EndpointsConfig": {}}
        }));
        let (c, h) = (&d.request.config, &d.request.host_config);
        assert_eq!(d.request.name, "web");
        assert_eq!(c.image, "busybox");
        assert_eq!(c.cmd.as_deref(), Some(&["echo".to_string(), "hi".to_string()][..]));
        assert!(c.tty);
        assert_eq!(c.extra.get("Custom"), Some(&json!({"kept": 1})));
        assert!(!c.extra.contains_key("HostConfig") && !c.extra.contains_key("NetworkingConfig"));
        assert_eq!(h.binds.as_deref(), Some(&["/a:/b".to_string()][..]));
        assert_eq!(h.network_mode, "bridge");
        assert_eq!(h.memory, 1024);
        assert_eq!(h.pids_limit, None);
        assert_eq!(h.extra.get("PortBindings"), Some(&json!({"80/tcp": [{"HostPort": "8080"}]})));
        assert!(d.warnings.is_empty());
    }

    #[test]
    fn go_leniency() {
        let d = ok(json!({
            "image": "busybox", "CMD": "echo hi", "Entrypoint": null, "Hostname": null, "workingdir": "/w",
            "hostconfig": {"capadd": "NET_ADMIN", "networkmode": "host", "PidsLimit": 10}
        }));
        let (c, h) = (&d.request.config, &d.request.host_config);
        assert_eq!(c.image, "busybox");
        assert_eq!(c.cmd.as_deref(), Some(&["echo hi".to_string()][..]));
        assert_eq!((c.entrypoint.as_deref(), c.hostname.as_str(), c.working_dir.as_str()), (None, "", "/w"));
        assert_eq!(h.cap_add.as_deref(), Some(&["NET_ADMIN".to_string()][..]));
        assert_eq!((h.network_mode.as_str(), h.pids_limit), ("host", Some(10)));
        // The exact spelling wins over a case variant.
        let d = ok(json!({"image": "a", "Image": "b"}));
        assert_eq!(d.request.config.image, "b");
        // No HostConfig at all is an empty one.
        let d = ok(json!({"Image": "busybox"}));
        assert_eq!(d.request.host_config.network_mode, "bridge");
        assert_eq!(d.request.host_config.binds, None);
    }

    #[test]
    fn refusals_with_dockerd_messages() {
        assert_eq!(err(b""), "invalid JSON: got EOF while reading request body");
        assert_eq!(err(b"  \n"), "invalid JSON: got EOF while reading request body");
        assert!(err(b"{not json").starts_with("invalid JSON: "));
        assert_eq!(err(b"{}"), "config cannot be empty in order to create a container");
        assert_eq!(err(b"null"), "config cannot be empty in order to create a container");
        assert_eq!(err(br#"{"HostConfig": {}}"#), "config cannot be empty in order to create a container");
        assert_eq!(
            err(b"[1]"),
            "invalid JSON: json: cannot unmarshal array into Go value of type runconfig.ContainerConfigWrapper"
        );
        assert!(err(br#"{"Image": "a", "HostConfig": 5}"#).starts_with("invalid JSON: json: cannot unmarshal number"));
        assert!(err(br#"{"Image": "a", "Tty": "yes"}"#).starts_with("invalid JSON: "));
        assert!(err(br#"{"Image": "a"} x"#).starts_with("invalid JSON: "));
    }

    #[test]
    fn per_version_adjustments() {
        let body = json!({"Image": "a", "MacAddress": "02:42:ac:11:00:02",
                          "HostConfig": {"AutoRemove": true, "KernelMemory": 5, "Annotations": {"a": "b"}}})
        .to_string();
        let d = decode("", body.as_bytes(), v1(45)).unwrap();
        assert_eq!(d.warnings, [MAC_ADDRESS_WARNING]);
        assert!(!d.request.config.extra.contains_key("MacAddress"));
        let h = &d.request.host_config;
        assert!(h.auto_remove && h.ipc_mode.is_empty());
        assert!(!h.extra.contains_key("KernelMemory") && h.extra.contains_key("Annotations"));

        let d = decode("", body.as_bytes(), v1(24)).unwrap();
        assert!(d.warnings.is_empty());
        assert_eq!(d.request.config.extra.get("MacAddress"), Some(&json!("02:42:ac:11:00:02")));
        let h = &d.request.host_config;
        assert!(!h.auto_remove);
        assert_eq!(h.ipc_mode, "shareable");
        assert!(h.extra.contains_key("KernelMemory") && !h.extra.contains_key("Annotations"));
    }
}
