//! `docker import --change` and `docker commit --change`: the Dockerfile instructions dockerd
//! accepts there (`CMD`, `ENTRYPOINT`, `ENV`, `EXPOSE`, `LABEL`, `ONBUILD`, `STOPSIGNAL`, `USER`,
//! `VOLUME`, `WORKDIR`), applied to a container config (empty for an import, the container's
//! for a commit) as dockerd's `BuildFromConfig` does: `ENV` replaces a variable in place or
//! appends it, `LABEL`, `EXPOSE` and `VOLUME` add, `ONBUILD` appends, a relative `WORKDIR` is
//! joined to the current one, and `ENTRYPOINT` clears `Cmd` unless a `CMD` came before it.
//! Only these one-line forms are parsed here (no `$VAR` expansion); the full Dockerfile grammar
//! belongs to the builder.

use serde_json::{json, Map, Value};
use wharf_types::ErrorKind;

use crate::error::{ImageError, Result};

fn bad(msg: String) -> ImageError {
    ImageError::Backend { kind: ErrorKind::InvalidArgument, message: msg, source: None }
}

/// The config object (`Cmd`, `Env`, `Labels`…) that `changes` produce from an empty one.
pub(crate) fn apply_changes(changes: &[String]) -> Result<Value> {
    apply_config_changes(&Value::Object(Map::new()), changes)
}

/// `config` (Docker's container-config shape: `Cmd`, `Env`, `Labels`…; `null` counts as empty)
/// with `changes` applied (see the module docs). A change dockerd refuses is an
/// `InvalidArgument` error.
pub fn apply_config_changes(config: &Value, changes: &[String]) -> Result<Value> {
    let mut c = match config {
        Value::Object(m) => m.clone(),
        Value::Null => Map::new(),
        _ => return Err(bad("the config must be a JSON object".into())),
    };
    let mut cmd_set = false;
    for change in changes {
        let line = change.trim();
        if line.is_empty() {
            continue;
        }
        let (instr, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        match instr.to_ascii_uppercase().as_str() {
            "CMD" => {
                c.insert("Cmd".into(), json!(exec_or_shell(rest)?));
                cmd_set = true;
            }
            "ENTRYPOINT" => {
                c.insert("Entrypoint".into(), json!(exec_or_shell(rest)?));
                if !cmd_set {
                    if let Some(cmd) = c.get_mut("Cmd") {
                        *cmd = Value::Null;
                    }
                }
            }
            "ENV" => {
                let env = array_field(&mut c, "Env");
                for (k, v) in key_values(rest, "ENV")? {
                    let new = json!(format!("{k}={v}"));
                    let same = |e: &Value| e.as_str().map(|s| s.split_once('=').map_or(s, |(n, _)| n)) == Some(&k);
                    match env.iter_mut().find(|e| same(e)) {
                        Some(slot) => *slot = new,
                        None => env.push(new),
                    }
                }
            }
            "LABEL" => {
                let labels = object_field(&mut c, "Labels");
                for (k, v) in key_values(rest, "LABEL")? {
                    labels.insert(k, json!(v));
                }
            }
            "EXPOSE" => {
                let ports = object_field(&mut c, "ExposedPorts");
                for p in rest.split_whitespace() {
                    let (num, proto) = p.split_once('/').unwrap_or((p, "tcp"));
                    let valid_num = num.split('-').all(|n| n.parse::<u16>().is_ok());
                    if !valid_num || !matches!(proto, "tcp" | "udp" | "sctp") {
                        return Err(bad(format!("invalid containerPort: {p}")));
                    }
                    ports.insert(format!("{num}/{proto}"), json!({}));
                }
            }
            "VOLUME" => {
                let list = if rest.starts_with('[') { json_array(rest)? } else { words(rest) };
                let vols = object_field(&mut c, "Volumes");
                for v in list {
                    vols.insert(v, json!({}));
                }
            }
            "USER" => {
                c.insert("User".into(), json!(rest));
            }
            "WORKDIR" => {
                let current = c.get("WorkingDir").and_then(Value::as_str).unwrap_or_default();
                c.insert("WorkingDir".into(), json!(workdir(current, rest)));
            }
            "STOPSIGNAL" => {
                c.insert("StopSignal".into(), json!(rest));
            }
            "ONBUILD" => {
                array_field(&mut c, "OnBuild").push(json!(rest));
            }
            other => return Err(bad(format!("{other} is not a valid change command"))),
        }
    }
    Ok(Value::Object(c))
}

/// The array at `key`, made one if it is missing, `null` or something else.
fn array_field<'m>(c: &'m mut Map<String, Value>, key: &str) -> &'m mut Vec<Value> {
    let slot = c.entry(key).or_insert(Value::Null);
    if !slot.is_array() {
        *slot = json!([]);
    }
    slot.as_array_mut().expect("made an array above")
}

/// The object at `key`, made one if it is missing, `null` or something else.
fn object_field<'m>(c: &'m mut Map<String, Value>, key: &str) -> &'m mut Map<String, Value> {
    let slot = c.entry(key).or_insert(Value::Null);
    if !slot.is_object() {
        *slot = json!({});
    }
    slot.as_object_mut().expect("made an object above")
}

/// dockerd's `WORKDIR`: a relative path is joined to the current directory (or `/`), and the
/// result cleaned.
fn workdir(current: &str, path: &str) -> String {
    let joined = if path.starts_with('/') { path.to_string() } else { format!("/{current}/{path}") };
    let mut parts: Vec<&str> = Vec::new();
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

fn exec_or_shell(rest: &str) -> Result<Vec<String>> {
    if rest.starts_with('[') {
        if let Ok(v) = json_array(rest) {
            return Ok(v);
        }
    }
    Ok(vec!["/bin/sh".into(), "-c".into(), rest.to_string()])
}

fn json_array(s: &str) -> Result<Vec<String>> {
    serde_json::from_str::<Vec<String>>(s).map_err(|e| bad(format!("invalid JSON array {s:?}: {e}")))
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// `k=v k2="v 2"` pairs, or the legacy single `k v…` form.
fn key_values(rest: &str, instr: &str) -> Result<Vec<(String, String)>> {
    let first = rest.split_whitespace().next().unwrap_or_default();
    if !first.contains('=') {
        let (k, v) =
            rest.split_once(char::is_whitespace).ok_or_else(|| bad(format!("{instr} requires two arguments")))?;
        return Ok(vec![(k.to_string(), v.trim().to_string())]);
    }
    let mut out = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while let Some(&c) = chars.peek() {
            match (quote, c) {
                (None, c) if c.is_whitespace() => break,
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (_, '\\') => {
                    chars.next();
                    if let Some(n) = chars.next() {
                        word.push(n);
                    }
                    continue;
                }
                _ => word.push(c),
            }
            chars.next();
        }
        let (k, v) = word.split_once('=').ok_or_else(|| bad(format!("{instr} names must be key=value: {word}")))?;
        if k.is_empty() {
            return Err(bad(format!("{instr} names can not be blank")));
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_each_instruction() {
        let c = apply_changes(&[
            "CMD [\"/bin/sh\",\"-c\",\"echo hi\"]".into(),
            "ENTRYPOINT /init --fast".into(),
            "ENV A=1 B=\"two words\"".into(),
            "ENV C 3 4".into(),
            "LABEL x=y".into(),
            "EXPOSE 80 53/udp".into(),
            "VOLUME /data".into(),
            "USER nobody".into(),
            "WORKDIR /srv".into(),
            "STOPSIGNAL SIGINT".into(),
        ])
        .unwrap();
        assert_eq!(c["Cmd"], json!(["/bin/sh", "-c", "echo hi"]));
        assert_eq!(c["Entrypoint"], json!(["/bin/sh", "-c", "/init --fast"]));
        assert_eq!(c["Env"], json!(["A=1", "B=two words", "C=3 4"]));
        assert_eq!(c["Labels"], json!({"x": "y"}));
        assert_eq!(c["ExposedPorts"], json!({"80/tcp": {}, "53/udp": {}}));
        assert_eq!(c["Volumes"], json!({"/data": {}}));
        assert_eq!(c["User"], "nobody");
        assert_eq!(c["WorkingDir"], "/srv");
        assert_eq!(c["StopSignal"], "SIGINT");
    }

    #[test]
    fn applies_onto_an_existing_config_as_dockerd() {
        let base = json!({
            "Cmd": ["sh"], "Env": ["PATH=/bin", "A=1"], "Labels": {"x": "1"}, "WorkingDir": "/srv",
            "ExposedPorts": {"80/tcp": {}}, "Image": "busybox", "Volumes": null,
        });
        let c = apply_config_changes(
            &base,
            &[
                "ENV A=2 B=3".into(),
                "LABEL y=2".into(),
                "EXPOSE 443".into(),
                "WORKDIR app/../www".into(),
                "VOLUME /data".into(),
                "ENTRYPOINT [\"/init\"]".into(),
            ],
        )
        .unwrap();
        assert_eq!(c["Env"], json!(["PATH=/bin", "A=2", "B=3"]), "replaced in place");
        assert_eq!(c["Labels"], json!({"x": "1", "y": "2"}));
        assert_eq!(c["ExposedPorts"], json!({"80/tcp": {}, "443/tcp": {}}));
        assert_eq!(c["WorkingDir"], "/srv/www");
        assert_eq!(c["Volumes"], json!({"/data": {}}));
        assert_eq!(c["Entrypoint"], json!(["/init"]));
        assert_eq!(c["Cmd"], Value::Null, "ENTRYPOINT without an earlier CMD clears Cmd");
        assert_eq!(c["Image"], "busybox", "other fields are kept");
        let c = apply_config_changes(&base, &["CMD [\"x\"]".into(), "ENTRYPOINT /e".into()]).unwrap();
        assert_eq!(c["Cmd"], json!(["x"]));
        assert_eq!(apply_config_changes(&Value::Null, &[]).unwrap(), json!({}));
        assert!(apply_config_changes(&json!([]), &[]).is_err());
        assert_eq!(workdir("", "a"), "/a");
        assert_eq!(workdir("/x", "/abs/./b/.."), "/abs");
    }

    #[test]
    fn refuses_what_dockerd_refuses() {
        assert!(apply_changes(&["RUN echo".into()]).unwrap_err().to_string().contains("not a valid change command"));
        assert!(apply_changes(&["EXPOSE 99999".into()]).is_err());
        assert!(apply_changes(&["ENV =x".into()]).is_err());
    }
}
