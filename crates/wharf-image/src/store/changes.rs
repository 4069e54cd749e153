//! `docker import --change`: the Dockerfile instructions dockerd accepts there (`CMD`,
//! `ENTRYPOINT`, `ENV`, `EXPOSE`, `LABEL`, `ONBUILD`, `STOPSIGNAL`, `USER`, `VOLUME`,
//! `WORKDIR`), applied to an empty container config. Only these one-line forms are parsed here;
//! the full Dockerfile grammar belongs to the builder.

use serde_json::{json, Map, Value};
use wharf_types::ErrorKind;

use crate::error::{ImageError, Result};

fn bad(msg: String) -> ImageError {
    ImageError::Backend { kind: ErrorKind::InvalidArgument, message: msg, source: None }
}

/// The config object (`Cmd`, `Env`, `Labels`…) that `changes` produce.
pub(crate) fn apply_changes(changes: &[String]) -> Result<Value> {
    let mut c = Map::new();
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
            }
            "ENTRYPOINT" => {
                c.insert("Entrypoint".into(), json!(exec_or_shell(rest)?));
            }
            "ENV" => {
                let env = c.entry("Env").or_insert_with(|| json!([])).as_array_mut().expect("Env is an array");
                for (k, v) in key_values(rest, "ENV")? {
                    env.retain(|e| e.as_str().and_then(|s| s.split_once('=')).map(|(n, _)| n) != Some(k.as_str()));
                    env.push(json!(format!("{k}={v}")));
                }
            }
            "LABEL" => {
                let labels = c.entry("Labels").or_insert_with(|| json!({})).as_object_mut().expect("an object");
                for (k, v) in key_values(rest, "LABEL")? {
                    labels.insert(k, json!(v));
                }
            }
            "EXPOSE" => {
                let ports = c.entry("ExposedPorts").or_insert_with(|| json!({})).as_object_mut().expect("an object");
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
                let vols = c.entry("Volumes").or_insert_with(|| json!({})).as_object_mut().expect("an object");
                let list = if rest.starts_with('[') { json_array(rest)? } else { words(rest) };
                for v in list {
                    vols.insert(v, json!({}));
                }
            }
            "USER" => {
                c.insert("User".into(), json!(rest));
            }
            "WORKDIR" => {
                c.insert("WorkingDir".into(), json!(rest));
            }
            "STOPSIGNAL" => {
                c.insert("StopSignal".into(), json!(rest));
            }
            "ONBUILD" => {
                let list = c.entry("OnBuild").or_insert_with(|| json!([])).as_array_mut().expect("an array");
                list.push(json!(rest));
            }
            other => return Err(bad(format!("{other} is not a valid change command"))),
        }
    }
    Ok(Value::Object(c))
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
    fn refuses_what_dockerd_refuses() {
        assert!(apply_changes(&["RUN echo".into()]).unwrap_err().to_string().contains("not a valid change command"));
        assert!(apply_changes(&["EXPOSE 99999".into()]).is_err());
        assert!(apply_changes(&["ENV =x".into()]).is_err());
    }
}
