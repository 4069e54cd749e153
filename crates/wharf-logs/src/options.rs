//! `--log-opt` validation and parsing, with Docker's rules and error texts.
//!
//! Docker checks a container's log options in two places: at create, the keys
//! (`logger.ValidateLogOpts`: the common `mode` / `max-buffer-size`, then the driver's own list),
//! and at start, the values (the driver's `New`). [`parse_log_options`] does both at once, so
//! the daemon can refuse bad options at create; Docker's start-time errors are prefixed with
//! `failed to initialize logging driver: ` by the daemon, not here.
//!
//! Sizes are go-units': `json-file` and `local` both read `max-size` with `FromHumanSize`,
//! whose `k`, `m`, `g`, `t`, `p` are powers of 1000 (`10m` = 10 000 000 bytes; `kb`, `kib`,
//! `mb`, … are accepted and mean the same; a fraction such as `1.5m` too). `max-buffer-size` is
//! read with `RAMInBytes` (powers of 1024). `compress` is accepted as Docker accepts it, but
//! rotated files are never compressed here. `labels`, `labels-regex`, `env`, `env-regex` and
//! `tag` are accepted and not written (no `attrs` in entries).

use std::collections::BTreeMap;

use wharf_types::{Classify, ErrorKind};

use crate::LogOptions;

/// `local`'s default `max-size`: 20 MiB.
const LOCAL_MAX_SIZE: u64 = 20 * 1024 * 1024;
/// `local`'s default `max-file`.
const LOCAL_MAX_FILE: u32 = 5;

/// Keys every driver but `none` accepts (`logger.builtInLogOpts`).
const COMMON_KEYS: &[&str] = &["mode", "max-buffer-size"];
/// `json-file`'s keys.
const JSON_FILE_KEYS: &[&str] =
    &["max-file", "max-size", "compress", "labels", "labels-regex", "env", "env-regex", "tag"];
/// `local`'s keys.
const LOCAL_KEYS: &[&str] = &["max-file", "max-size", "compress", "labels", "labels-regex", "env", "env-regex", "tag"];

/// Log options that Docker would refuse; the text is Docker's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogOptError {
    /// The driver does not exist (or is not supported here).
    #[error("logger: no log driver named '{0}' is registered")]
    UnknownDriver(String),
    /// A key the driver does not know.
    #[error("{}", unknown_option(.driver, .key))]
    UnknownOption {
        /// The driver.
        driver: String,
        /// The key.
        key: String,
    },
    /// A value that cannot be used; the message says which and why.
    #[error("{0}")]
    Invalid(String),
}

fn invalid<T>(message: String) -> Result<T, LogOptError> {
    Err(LogOptError::Invalid(message))
}

fn unknown_option(driver: &str, key: &str) -> String {
    if driver == "json-file" {
        format!("unknown log opt '{key}' for json-file log driver")
    } else {
        format!("unknown log opt '{key}' for log driver {driver}")
    }
}

impl Classify for LogOptError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }
}

/// Validates `--log-opt` values `map` for `driver` (`json-file`, `local`, `none`) and returns
/// the options its writer needs, the driver's defaults filled in (`json-file`: no rotation,
/// `max-file` 1; `local`: 20 MiB, 5 files). `none` accepts anything, as in Docker.
pub fn parse_log_options(driver: &str, map: &BTreeMap<String, String>) -> Result<LogOptions, LogOptError> {
    if driver == "none" {
        return Ok(LogOptions { max_size: None, max_file: 1 });
    }
    let mode = map.get("mode").map(String::as_str).unwrap_or("");
    if !matches!(mode, "" | "blocking" | "non-blocking") {
        return invalid(format!("logger: logging mode not supported: {mode}"));
    }
    if let Some(v) = map.get("max-buffer-size") {
        if mode != "non-blocking" {
            return invalid("logger: max-buffer-size option is only supported with 'mode=non-blocking'".into());
        }
        if let Err(e) = parse_size(v, 1024) {
            return invalid(format!("error parsing option max-buffer-size: {e}"));
        }
    }
    let keys = match driver {
        "json-file" => JSON_FILE_KEYS,
        "local" => LOCAL_KEYS,
        other => return Err(LogOptError::UnknownDriver(other.to_string())),
    };
    if let Some(key) = map.keys().find(|k| !keys.contains(&k.as_str()) && !COMMON_KEYS.contains(&k.as_str())) {
        return Err(LogOptError::UnknownOption { driver: driver.to_string(), key: key.clone() });
    }
    let get = |k: &str| map.get(k).map(String::as_str);
    if driver == "json-file" {
        // jsonfilelog.New
        let mut max_size = None;
        if let Some(v) = get("max-size") {
            let size = parse_size(v, 1000).or_else(invalid)?;
            if size <= 0 {
                return invalid("max-size must be a positive number".into());
            }
            max_size = Some(size as u64);
        }
        let mut max_file = 1;
        if let Some(v) = get("max-file") {
            let n = atoi(v).or_else(invalid)?;
            if n < 1 {
                return invalid("max-file cannot be less than 1".into());
            }
            max_file = n;
        }
        if let Some(v) = get("compress") {
            if parse_bool(v).or_else(invalid)? && (max_file == 1 || max_size.is_none()) {
                return invalid("compress cannot be true when max-file is less than 2 or max-size is not set".into());
            }
        }
        Ok(LogOptions { max_size, max_file: u32::try_from(max_file).unwrap_or(u32::MAX) })
    } else {
        // local.newConfig
        let mut max_size = LOCAL_MAX_SIZE as i64;
        if let Some(v) = get("max-size") {
            max_size = parse_size(v, 1000).or_else(|e| invalid(format!("invalid value for max-size: {v}: {e}")))?;
        }
        let mut max_file = i64::from(LOCAL_MAX_FILE);
        if let Some(v) = get("max-file") {
            max_file = atoi(v).or_else(|e| invalid(format!("invalid value for max-file: {v}: {e}")))?;
        }
        let mut compress = true;
        if let Some(v) = get("compress") {
            compress = parse_bool(v).or_else(|e| invalid(format!("invalid boolean value for compress: {e}")))?;
        }
        if max_size < 0 {
            return invalid("max-size must not be negative".into());
        }
        if max_file < 0 {
            return invalid("max-file must not be negative".into());
        }
        if compress && max_file <= 1 {
            return invalid("compression cannot be enabled when max file count is 1".into());
        }
        Ok(LogOptions { max_size: Some(max_size as u64), max_file: u32::try_from(max_file.max(1)).unwrap_or(u32::MAX) })
    }
}

/// go-units' `parseSize`: a number (fraction allowed), an optional space, an optional unit
/// `k`/`m`/`g`/`t`/`p` (times `base`, 1000 for `FromHumanSize`, 1024 for `RAMInBytes`) followed
/// by an optional `b` or `ib`, or just `b`; case-insensitive. Errors are go-units' texts.
fn parse_size(s: &str, base: u64) -> Result<i64, String> {
    let Some(sep) = s.rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ') else {
        return Err(format!("invalid size: '{s}'"));
    };
    let (num, sfx) = if s.as_bytes()[sep] == b' ' { (&s[..sep], &s[sep + 1..]) } else { (&s[..=sep], &s[sep + 1..]) };
    let size: f64 =
        parse_go_float(num).ok_or_else(|| format!("strconv.ParseFloat: parsing {num:?}: invalid syntax"))?;
    if size < 0.0 {
        return Err(format!("invalid size: '{s}'"));
    }
    if sfx.is_empty() {
        return Ok(size as i64);
    }
    let bad = || Err(format!("invalid suffix: '{}'", if sfx.len() > 3 { sfx.to_string() } else { sfx.to_lowercase() }));
    if sfx.len() > 3 {
        return bad();
    }
    let lower = sfx.to_ascii_lowercase();
    let b = lower.as_bytes();
    if b[0] == b'b' {
        return if b.len() > 1 { bad() } else { Ok(size as i64) };
    }
    let Some(power) = b"kmgtp".iter().position(|&u| u == b[0]) else { return bad() };
    if (b.len() == 2 && b[1] != b'b') || (b.len() == 3 && &b[1..] != b"ib") {
        return bad();
    }
    Ok((size * (base as f64).powi(power as i32 + 1)) as i64)
}

/// Go's `strconv.ParseFloat` for the decimal forms a size can take.
fn parse_go_float(s: &str) -> Option<f64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    // Rust also reads `inf`/`nan`, which Go does too but a size never is (no digit in them).
    if digits.is_empty() || !digits.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Go's `strconv.Atoi`, with its error texts.
fn atoi(s: &str) -> Result<i64, String> {
    s.parse::<i64>().map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => "value out of range",
            _ => "invalid syntax",
        };
        format!("strconv.Atoi: parsing {s:?}: {why}")
    })
}

/// Go's `strconv.ParseBool`, with its error text.
fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("strconv.ParseBool: parsing {s:?}: invalid syntax")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(driver: &str, pairs: &[(&str, &str)]) -> Result<LogOptions, String> {
        let map = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        parse_log_options(driver, &map).map_err(|e| {
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
            e.to_string()
        })
    }

    fn ok(max_size: Option<u64>, max_file: u32) -> Result<LogOptions, String> {
        Ok(LogOptions { max_size, max_file })
    }

    #[test]
    fn json_file_defaults_and_values() {
        assert_eq!(opts("json-file", &[]), ok(None, 1));
        assert_eq!(opts("json-file", &[("max-size", "10m"), ("max-file", "3")]), ok(Some(10_000_000), 3));
        assert_eq!(opts("json-file", &[("max-size", "512k")]), ok(Some(512_000), 1));
        assert_eq!(opts("json-file", &[("max-size", "1g")]), ok(Some(1_000_000_000), 1));
        assert_eq!(opts("json-file", &[("max-size", "1.5MB")]), ok(Some(1_500_000), 1));
        assert_eq!(opts("json-file", &[("max-size", "2 KiB")]), ok(Some(2_000), 1));
        assert_eq!(opts("json-file", &[("max-size", "4096")]), ok(Some(4096), 1));
        assert_eq!(opts("json-file", &[("max-size", "100b")]), ok(Some(100), 1));
        // max-file without max-size is accepted (and rotates nothing), as in Docker.
        assert_eq!(opts("json-file", &[("max-file", "5")]), ok(None, 5));
        assert_eq!(
            opts("json-file", &[("max-size", "1m"), ("max-file", "2"), ("compress", "true"), ("tag", "{{.Name}}")]),
            ok(Some(1_000_000), 2)
        );
        assert_eq!(opts("json-file", &[("mode", "non-blocking"), ("max-buffer-size", "4m")]), ok(None, 1));
    }

    #[test]
    fn json_file_errors_are_dockers() {
        let err = |pairs: &[(&str, &str)]| opts("json-file", pairs).unwrap_err();
        assert_eq!(err(&[("x", "1")]), "unknown log opt 'x' for json-file log driver");
        assert_eq!(err(&[("max-size", "10x")]), "invalid suffix: 'x'");
        assert_eq!(err(&[("max-size", "10mbytes")]), "invalid suffix: 'mbytes'");
        assert_eq!(err(&[("max-size", "big")]), "invalid size: 'big'");
        assert_eq!(err(&[("max-size", "-1")]), "invalid size: '-1'");
        assert_eq!(err(&[("max-size", "1.2.3m")]), "strconv.ParseFloat: parsing \"1.2.3\": invalid syntax");
        assert_eq!(err(&[("max-size", "0")]), "max-size must be a positive number");
        assert_eq!(err(&[("max-file", "0")]), "max-file cannot be less than 1");
        assert_eq!(err(&[("max-file", "two")]), "strconv.Atoi: parsing \"two\": invalid syntax");
        assert_eq!(
            err(&[("max-file", "99999999999999999999")]),
            "strconv.Atoi: parsing \"99999999999999999999\": value out of range"
        );
        assert_eq!(err(&[("compress", "yes")]), "strconv.ParseBool: parsing \"yes\": invalid syntax");
        assert_eq!(
            err(&[("compress", "true"), ("max-size", "1m")]),
            "compress cannot be true when max-file is less than 2 or max-size is not set"
        );
        assert_eq!(err(&[("mode", "async")]), "logger: logging mode not supported: async");
        assert_eq!(
            err(&[("max-buffer-size", "1m")]),
            "logger: max-buffer-size option is only supported with 'mode=non-blocking'"
        );
        assert_eq!(
            err(&[("mode", "non-blocking"), ("max-buffer-size", "lots")]),
            "error parsing option max-buffer-size: invalid size: 'lots'"
        );
    }

    #[test]
    fn local_defaults_values_and_errors() {
        assert_eq!(opts("local", &[]), ok(Some(20 * 1024 * 1024), 5));
        assert_eq!(opts("local", &[("max-size", "10m"), ("max-file", "3")]), ok(Some(10_000_000), 3));
        assert_eq!(opts("local", &[("max-file", "1"), ("compress", "false")]), ok(Some(20 * 1024 * 1024), 1));
        let err = |pairs: &[(&str, &str)]| opts("local", pairs).unwrap_err();
        assert_eq!(err(&[("x", "1")]), "unknown log opt 'x' for log driver local");
        assert_eq!(err(&[("max-file", "1")]), "compression cannot be enabled when max file count is 1");
        assert_eq!(err(&[("max-size", "1q")]), "invalid value for max-size: 1q: invalid suffix: 'q'");
        assert_eq!(
            err(&[("max-file", "x")]),
            "invalid value for max-file: x: strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(err(&[("max-file", "-1"), ("compress", "false")]), "max-file must not be negative");
        assert_eq!(
            err(&[("compress", "no")]),
            "invalid boolean value for compress: strconv.ParseBool: parsing \"no\": invalid syntax"
        );
    }

    #[test]
    fn none_and_unknown_drivers() {
        assert_eq!(opts("none", &[("anything", "goes")]), ok(None, 1));
        assert_eq!(opts("syslog", &[]).unwrap_err(), "logger: no log driver named 'syslog' is registered");
        // As in Docker, the common options are checked before the driver.
        assert_eq!(opts("syslog", &[("mode", "x")]).unwrap_err(), "logger: logging mode not supported: x");
    }
}
