//! `RUN --mount=…` (BuildKit's `commands_runmount.go`): a CSV list of `key=value` fields parsed
//! into a typed [`Mount`] with BuildKit's defaults and errors. BuildKit parses each value twice:
//! once when the instruction is parsed, without expansion (only `from` is checked, refusing
//! variables), and once at build time with an expander; [`parse_mount`] does either.

use std::fmt;

use crate::error::Error;
use crate::gostr::{go_quote, parse_bool, parse_uint, to_lower};
use crate::suggest;

/// The kind of a mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountType {
    /// `type=bind` (the default).
    Bind,
    /// `type=cache`.
    Cache,
    /// `type=tmpfs`.
    Tmpfs,
    /// `type=secret`.
    Secret,
    /// `type=ssh`.
    Ssh,
}

impl MountType {
    fn parse(s: &str) -> Option<MountType> {
        Some(match s {
            "bind" => MountType::Bind,
            "cache" => MountType::Cache,
            "tmpfs" => MountType::Tmpfs,
            "secret" => MountType::Secret,
            "ssh" => MountType::Ssh,
            _ => return None,
        })
    }

    /// The name BuildKit uses.
    pub fn as_str(&self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Cache => "cache",
            MountType::Tmpfs => "tmpfs",
            MountType::Secret => "secret",
            MountType::Ssh => "ssh",
        }
    }
}

impl fmt::Display for MountType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How concurrent builds share a cache mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareMode {
    /// `sharing=shared` (BuildKit's default when unset).
    Shared,
    /// `sharing=private`.
    Private,
    /// `sharing=locked`.
    Locked,
}

impl ShareMode {
    /// The name BuildKit uses.
    pub fn as_str(&self) -> &'static str {
        match self {
            ShareMode::Shared => "shared",
            ShareMode::Private => "private",
            ShareMode::Locked => "locked",
        }
    }
}

/// A parsed `--mount` (BuildKit's `instructions.Mount`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The kind.
    pub mount_type: MountType,
    /// `from=`: a stage or image to mount from.
    pub from: String,
    /// `source=`/`src=`.
    pub source: String,
    /// `target=`/`dst=`/`destination=`.
    pub target: String,
    /// `ro`/`readonly`, `rw`/`readwrite`; by default true except for cache and tmpfs.
    pub read_only: bool,
    /// `size=` of a tmpfs, in bytes (0 when unset).
    pub size_limit: i64,
    /// `id=`.
    pub cache_id: String,
    /// `sharing=` (cache only).
    pub cache_sharing: Option<ShareMode>,
    /// `required` (secret and ssh only).
    pub required: bool,
    /// `env=`: expose a secret as this environment variable.
    pub env: Option<String>,
    /// `mode=` (octal; secret, ssh and cache only).
    pub mode: Option<u64>,
    /// `uid=` (secret, ssh and cache only).
    pub uid: Option<u64>,
    /// `gid=` (secret, ssh and cache only).
    pub gid: Option<u64>,
}

const MOUNT_TYPES: [&str; 5] = ["bind", "cache", "tmpfs", "secret", "ssh"];
const SHARE_MODES: [&str; 3] = ["shared", "private", "locked"];
const ALL_KEYS: [&str; 19] = [
    "type",
    "from",
    "source",
    "target",
    "readonly",
    "id",
    "sharing",
    "required",
    "size",
    "mode",
    "uid",
    "gid",
    "src",
    "dst",
    "destination",
    "ro",
    "rw",
    "readwrite",
    "env",
];

/// One CSV record as Go's `encoding/csv` reads it (comma-separated, `"`-quoted fields with
/// `""` for a quote, no lazy quotes), with its error texts.
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let b = line.as_bytes();
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        if b.get(i) == Some(&b'"') {
            // Quoted field.
            let mut field: Vec<u8> = Vec::new();
            i += 1;
            loop {
                match b.get(i) {
                    None => {
                        return Err(format!(
                            "parse error on line 1, column {}: extraneous or missing \" in quoted-field",
                            b.len() + 1
                        ))
                    }
                    Some(b'"') => {
                        if b.get(i + 1) == Some(&b'"') {
                            field.push(b'"');
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    }
                    Some(&c) => {
                        field.push(c);
                        i += 1;
                    }
                }
            }
            fields.push(String::from_utf8_lossy(&field).into_owned());
            match b.get(i) {
                None => return Ok(fields),
                Some(b',') => i += 1,
                Some(_) => {
                    return Err(format!(
                        "parse error on line 1, column {}: extraneous or missing \" in quoted-field",
                        i + 1
                    ))
                }
            }
        } else {
            let end = b[i..].iter().position(|&c| c == b',').map_or(b.len(), |p| i + p);
            if let Some(q) = b[i..end].iter().position(|&c| c == b'"') {
                return Err(format!("parse error on line 1, column {}: bare \" in non-quoted field", i + q + 1));
            }
            fields.push(line[i..end].to_string());
            if end == b.len() {
                return Ok(fields);
            }
            i = end + 1;
        }
    }
}

/// docker/go-units' `RAMInBytes` (binary multipliers, case-insensitive suffix, optional `b`).
fn ram_in_bytes(s: &str) -> Option<i64> {
    let sep = s.rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ')?;
    let (num, sfx) = if s.as_bytes()[sep] != b' ' { (&s[..=sep], &s[sep + 1..]) } else { (&s[..sep], &s[sep + 1..]) };
    let size: f64 = num.parse().ok()?;
    if size < 0.0 || size.is_nan() {
        return None;
    }
    if sfx.is_empty() {
        return Some(size as i64);
    }
    if sfx.len() > 3 {
        return None;
    }
    let sfx = sfx.to_ascii_lowercase();
    let sb = sfx.as_bytes();
    if sb[0] == b'b' {
        return (sb.len() == 1).then_some(size as i64);
    }
    let mul: f64 = match sb[0] {
        b'k' => 1024.0,
        b'm' => 1024.0 * 1024.0,
        b'g' => 1024.0 * 1024.0 * 1024.0,
        b't' => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        b'p' => 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    if (sb.len() == 2 && sb[1] != b'b') || (sb.len() == 3 && &sfx[1..] != "ib") {
        return None;
    }
    Some((size * mul) as i64)
}

/// An expander for `--mount` values (BuildKit's `SingleWordExpander`).
pub type Expander<'a> = dyn FnMut(&str) -> Result<String, Error> + 'a;

/// BuildKit's `parseMount`. Without an expander, values are not evaluated (only `from` is, and
/// may not contain a variable); with one, every value is expanded and checked.
pub fn parse_mount(value: &str, mut expander: Option<&mut Expander<'_>>) -> Result<Mount, Error> {
    let err = |m: String| Error::instruction(m);
    let fields = csv_fields(value).map_err(|e| err(format!("failed to parse csv mounts: {e}")))?;
    let mut m = Mount {
        mount_type: MountType::Bind,
        from: String::new(),
        source: String::new(),
        target: String::new(),
        read_only: false,
        size_limit: 0,
        cache_id: String::new(),
        cache_sharing: None,
        required: false,
        env: None,
        mode: None,
        uid: None,
        gid: None,
    };
    let mut ro_auto = true;
    let secret_or_ssh = |m: &Mount| matches!(m.mount_type, MountType::Secret | MountType::Ssh);
    for field in &fields {
        let (key, raw, has_value) = match field.split_once('=') {
            Some((k, v)) => (to_lower(k), v.to_string(), true),
            None => (to_lower(field), String::new(), false),
        };
        if !has_value {
            if expander.is_none() {
                continue;
            }
            match key.as_str() {
                "readonly" | "ro" => {
                    m.read_only = true;
                    ro_auto = false;
                }
                "readwrite" | "rw" => {
                    m.read_only = false;
                    ro_auto = false;
                }
                "required" => {
                    if !secret_or_ssh(&m) {
                        return Err(err(format!("unexpected key '{key}' for mount type '{}'", m.mount_type)));
                    }
                    m.required = true;
                }
                _ => return Err(err(format!("invalid field '{field}' must be a key=value pair"))),
            }
            continue;
        }
        let value = match expander.as_mut() {
            Some(x) => x(&raw)?,
            None if key == "from" => {
                if raw.find('$').is_some_and(|i| i != raw.len() - 1) {
                    return Err(err(format!("'{key}' doesn't support variable expansion, define alias stage instead")));
                }
                raw
            }
            None => continue,
        };
        let invalid = |key: &str, value: &str| err(format!("invalid value for {key}: {value}"));
        match key.as_str() {
            "type" => {
                m.mount_type = MountType::parse(&to_lower(&value)).ok_or_else(|| {
                    err(suggest::wrap(
                        format!("unsupported mount type {}", go_quote(&value)),
                        &value,
                        &MOUNT_TYPES,
                        true,
                    ))
                })?;
            }
            "from" => m.from = value,
            "source" | "src" => m.source = value,
            "target" | "dst" | "destination" => m.target = value,
            "readonly" | "ro" => {
                m.read_only = parse_bool(&value).ok_or_else(|| invalid(&key, &value))?;
                ro_auto = false;
            }
            "readwrite" | "rw" => {
                m.read_only = !parse_bool(&value).ok_or_else(|| invalid(&key, &value))?;
                ro_auto = false;
            }
            "required" => {
                if !secret_or_ssh(&m) {
                    return Err(err(format!("unexpected key '{key}' for mount type '{}'", m.mount_type)));
                }
                m.required = parse_bool(&value).ok_or_else(|| invalid(&key, &value))?;
            }
            "size" => {
                if m.mount_type != MountType::Tmpfs {
                    return Err(err(format!("unexpected key '{key}' for mount type '{}'", m.mount_type)));
                }
                m.size_limit = ram_in_bytes(&value).ok_or_else(|| invalid(&key, &value))?;
            }
            "id" => m.cache_id = value,
            "sharing" => {
                m.cache_sharing = Some(match to_lower(&value).as_str() {
                    "shared" => ShareMode::Shared,
                    "private" => ShareMode::Private,
                    "locked" => ShareMode::Locked,
                    _ => {
                        return Err(err(suggest::wrap(
                            format!("unsupported sharing value {}", go_quote(&value)),
                            &value,
                            &SHARE_MODES,
                            true,
                        )))
                    }
                });
            }
            "mode" => {
                m.mode = Some(parse_uint(&value, 8, 32).map_err(|_| err(format!("invalid value {value} for mode")))?);
            }
            "uid" => {
                m.uid = Some(parse_uint(&value, 10, 32).map_err(|_| err(format!("invalid value {value} for uid")))?);
            }
            "gid" => {
                m.gid = Some(parse_uint(&value, 10, 32).map_err(|_| err(format!("invalid value {value} for gid")))?);
            }
            "env" => m.env = Some(value),
            _ => {
                return Err(err(suggest::wrap(format!("unexpected key '{key}' in '{field}'"), &key, &ALL_KEYS, true)));
            }
        }
    }
    let file_info_allowed = matches!(m.mount_type, MountType::Secret | MountType::Ssh | MountType::Cache);
    if !file_info_allowed {
        let t = go_quote(m.mount_type.as_str());
        if m.mode.is_some() {
            return Err(err(format!("mode not allowed for {t} type mounts")));
        }
        if m.uid.is_some() {
            return Err(err(format!("uid not allowed for {t} type mounts")));
        }
        if m.gid.is_some() {
            return Err(err(format!("gid not allowed for {t} type mounts")));
        }
    }
    if ro_auto {
        m.read_only = !matches!(m.mount_type, MountType::Cache | MountType::Tmpfs);
    }
    if m.mount_type == MountType::Secret {
        if !m.from.is_empty() {
            return Err(err("secret mount should not have a from".into()));
        }
        if m.cache_sharing.is_some() {
            return Err(err("secret mount should not define sharing".into()));
        }
        if m.source.is_empty() && m.target.is_empty() && m.cache_id.is_empty() {
            return Err(err("invalid secret mount. one of source, target required".into()));
        }
        if !m.source.is_empty() && !m.cache_id.is_empty() {
            return Err(err("both source and id can't be set".into()));
        }
    }
    if m.cache_sharing.is_some() && m.mount_type != MountType::Cache {
        return Err(err(format!("invalid cache sharing set for {} mount", m.mount_type)));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(s: &str) -> Result<Mount, String> {
        let mut id = |v: &str| Ok(v.to_string());
        parse_mount(s, Some(&mut id)).map_err(|e| e.to_string())
    }

    #[test]
    fn csv_like_encoding_csv() {
        assert_eq!(csv_fields("a=1,b=2").unwrap(), ["a=1", "b=2"]);
        assert_eq!(csv_fields("\"a=1,2\",b").unwrap(), ["a=1,2", "b"]);
        assert_eq!(csv_fields("\"a\"\"b\"").unwrap(), ["a\"b"]);
        assert_eq!(csv_fields("a,").unwrap(), ["a", ""]);
        assert_eq!(csv_fields("").unwrap(), [""]);
        assert!(csv_fields("a=\"b\"").unwrap_err().contains("bare \" in non-quoted field"));
        assert!(csv_fields("\"a\"b").unwrap_err().contains("extraneous or missing \" in quoted-field"));
        assert!(csv_fields("\"a").is_err());
    }

    #[test]
    fn mounts() {
        let m = expanded("type=cache,target=/root/.cache,sharing=LOCKED,id=x,mode=0755,uid=1").unwrap();
        assert_eq!(m.mount_type, MountType::Cache);
        assert_eq!(m.target, "/root/.cache");
        assert_eq!(m.cache_sharing, Some(ShareMode::Locked));
        assert_eq!((m.mode, m.uid, m.read_only), (Some(0o755), Some(1), false));
        let m = expanded("target=/src,from=build,rw").unwrap();
        assert_eq!((m.mount_type, m.from.as_str(), m.read_only), (MountType::Bind, "build", false));
        assert!(expanded("target=/x").unwrap().read_only);
        let m = expanded("type=tmpfs,target=/t,size=64m").unwrap();
        assert_eq!((m.size_limit, m.read_only), (64 << 20, false));
        let m = expanded("type=secret,id=aws,required,env=AWS").unwrap();
        assert!(m.required && m.env.as_deref() == Some("AWS") && m.read_only);
        assert!(expanded("type=ssh").is_ok());
    }

    #[test]
    fn mount_errors_like_buildkit() {
        for (s, e) in [
            ("type=foo", "unsupported mount type \"foo\""),
            ("type=bnd", "unsupported mount type \"bnd\" (did you mean bind?)"),
            ("type=cache,sharing=x", "unsupported sharing value \"x\""),
            ("target=/a,mode=0755", "mode not allowed for \"bind\" type mounts"),
            ("type=tmpfs,uid=1", "uid not allowed for \"tmpfs\" type mounts"),
            ("type=cache,mode=9", "invalid value 9 for mode"),
            ("type=cache,gid=-1", "invalid value -1 for gid"),
            ("ro=maybe", "invalid value for ro: maybe"),
            ("size=1g", "unexpected key 'size' for mount type 'bind'"),
            ("type=tmpfs,size=1x", "invalid value for size: 1x"),
            ("required", "unexpected key 'required' for mount type 'bind'"),
            ("bogus", "invalid field 'bogus' must be a key=value pair"),
            ("targt=/x", "unexpected key 'targt' in 'targt=/x' (did you mean target?)"),
            ("type=secret", "invalid secret mount. one of source, target required"),
            ("type=secret,id=a,from=x", "secret mount should not have a from"),
            ("type=secret,id=a,source=b", "both source and id can't be set"),
            ("type=secret,id=a,sharing=locked", "secret mount should not define sharing"),
            ("sharing=locked", "invalid cache sharing set for bind mount"),
        ] {
            assert_eq!(expanded(s).unwrap_err(), e, "{s}");
        }
        // Without an expander only `from` is looked at.
        assert!(parse_mount("type=foo,mode=abc", None).is_ok());
        assert_eq!(
            parse_mount("from=$STAGE", None).unwrap_err().to_string(),
            "'from' doesn't support variable expansion, define alias stage instead"
        );
        assert_eq!(parse_mount("from=stage$", None).unwrap().from, "stage$");
    }

    #[test]
    fn ram_sizes() {
        assert_eq!(ram_in_bytes("32"), Some(32));
        assert_eq!(ram_in_bytes("32b"), Some(32));
        assert_eq!(ram_in_bytes("1k"), Some(1024));
        assert_eq!(ram_in_bytes("1KiB"), Some(1024));
        assert_eq!(ram_in_bytes("1 MB"), Some(1 << 20));
        assert_eq!(ram_in_bytes("1.5g"), Some(3 << 29));
        assert_eq!(ram_in_bytes("1kb2"), None);
        assert_eq!(ram_in_bytes("1kx"), None);
        assert_eq!(ram_in_bytes("-1"), None);
        assert_eq!(ram_in_bytes("k"), None);
    }
}
