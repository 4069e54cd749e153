//! Time arguments of the API (`since`, `until`): Unix seconds with optional fraction,
//! RFC 3339, or a Go duration relative to now, as Docker's `timetypes.GetTimestamp` reads them.

/// A point in time as nanoseconds since the Unix epoch.
pub type Timestamp = i64;

/// A time argument that could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("failed to parse value as time or duration: {0:?}")]
pub struct TimeError(pub String);

impl crate::Classify for TimeError {
    fn kind(&self) -> crate::ErrorKind {
        crate::ErrorKind::InvalidArgument
    }
}

/// Parses `value` relative to `now_nanos`.
pub fn parse_timestamp(value: &str, now_nanos: Timestamp) -> Result<Timestamp, TimeError> {
    let v = value.trim();
    let err = || TimeError(value.to_string());
    if v.is_empty() {
        return Err(err());
    }
    if let Some(ns) = parse_unix(v) {
        return Ok(ns);
    }
    if let Some(d) = parse_go_duration(v) {
        return Ok(now_nanos - d);
    }
    parse_rfc3339(v).ok_or_else(err)
}

fn parse_unix(v: &str) -> Option<Timestamp> {
    let (secs, frac) = match v.split_once('.') {
        Some((s, f)) => (s, f),
        None => (v, ""),
    };
    let negative = secs.starts_with('-');
    let digits = secs.strip_prefix('-').unwrap_or(secs);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    let s: i64 = digits.parse().ok()?;
    let mut nanos: i64 = 0;
    if !frac.is_empty() {
        nanos = format!("{frac:0<9}").parse().ok()?;
    }
    let total = s.checked_mul(1_000_000_000)?.checked_add(nanos)?;
    Some(if negative { -total } else { total })
}

/// Go's `time.ParseDuration`: `1h30m`, `10s`, `1.5h`, `300ms`; returns nanoseconds.
pub fn parse_go_duration(v: &str) -> Option<i64> {
    let (neg, mut rest) = match v.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, v.strip_prefix('+').unwrap_or(v)),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
        if num_len == 0 {
            return None;
        }
        let num: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest.bytes().take_while(|b| !(b.is_ascii_digit() || *b == b'.')).count();
        let unit = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += num * unit;
    }
    if total > i64::MAX as f64 {
        return None;
    }
    let n = total as i64;
    Some(if neg { -n } else { n })
}

/// RFC 3339 (`2006-01-02T15:04:05.999999999Z07:00`), also without zone (UTC) or date only.
fn parse_rfc3339(v: &str) -> Option<Timestamp> {
    let b = v.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |s: &str| -> Option<i64> {
        if s.bytes().all(|c| c.is_ascii_digit()) && !s.is_empty() {
            s.parse().ok()
        } else {
            None
        }
    };
    let year = num(v.get(0..4)?)?;
    let month = num(v.get(5..7)?)?;
    let day = num(v.get(8..10)?)?;
    let (mut h, mut mi, mut s, mut nanos, mut offset) = (0, 0, 0, 0i64, 0i64);
    let rest = &v[10..];
    if !rest.is_empty() {
        let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
        h = num(rest.get(0..2)?)?;
        if rest.as_bytes().get(2) != Some(&b':') {
            return None;
        }
        mi = num(rest.get(3..5)?)?;
        let mut tail = &rest[5..];
        if let Some(t) = tail.strip_prefix(':') {
            s = num(t.get(0..2)?)?;
            tail = &t[2..];
            if let Some(t) = tail.strip_prefix('.') {
                let n = t.bytes().take_while(|c| c.is_ascii_digit()).count();
                if n == 0 || n > 9 {
                    return None;
                }
                nanos = format!("{:0<9}", &t[..n]).parse().ok()?;
                tail = &t[n..];
            }
        }
        match tail {
            "" | "Z" | "z" => {}
            z => {
                let sign = match z.as_bytes()[0] {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let zh = num(z.get(1..3)?)?;
                let zm = num(z.get(3..).map(|m| m.trim_start_matches(':'))?)?;
                offset = sign * (zh * 3600 + zm * 60);
            }
        }
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86400 + h * 3600 + mi * 60 + s - offset;
    Some(secs * 1_000_000_000 + nanos)
}

/// Formats nanoseconds since the epoch as RFC 3339 in UTC with nanoseconds, trailing zeros
/// dropped, as Go's `time.RFC3339Nano` (`2026-11-29T02:45:17.123456789Z`).
pub fn format_rfc3339_nanos(ns: Timestamp) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let (days, sod) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, d) = civil_from_days(days);
    let mut out = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", sod / 3600, sod % 3600 / 60, sod % 60);
    if frac != 0 {
        let f = format!("{frac:09}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000_000_000;

    #[test]
    fn unix_seconds_and_fractions() {
        assert_eq!(parse_timestamp("1700000000", NOW), Ok(NOW));
        assert_eq!(parse_timestamp("1700000000.5", NOW), Ok(NOW + 500_000_000));
        assert_eq!(parse_timestamp("1700000000.000000001", NOW), Ok(NOW + 1));
    }

    #[test]
    fn durations_are_before_now() {
        assert_eq!(parse_timestamp("10m", NOW), Ok(NOW - 600_000_000_000));
        assert_eq!(parse_timestamp("1h30m", NOW), Ok(NOW - 5_400_000_000_000));
        assert_eq!(parse_timestamp("1.5s", NOW), Ok(NOW - 1_500_000_000));
    }

    #[test]
    fn rfc3339() {
        assert_eq!(parse_timestamp("2023-11-14T22:13:20Z", NOW), Ok(NOW));
        assert_eq!(parse_timestamp("2023-11-14T23:13:20+01:00", NOW), Ok(NOW));
        assert_eq!(parse_timestamp("2023-11-14T22:13:20.25Z", NOW), Ok(NOW + 250_000_000));
        assert_eq!(parse_timestamp("1970-01-01", NOW), Ok(0));
    }

    #[test]
    fn formats_like_go_rfc3339nano() {
        assert_eq!(format_rfc3339_nanos(NOW), "2023-11-14T22:13:20Z");
        assert_eq!(format_rfc3339_nanos(NOW + 120_000_000), "2023-11-14T22:13:20.12Z");
        assert_eq!(format_rfc3339_nanos(0), "1970-01-01T00:00:00Z");
        for t in [NOW, NOW + 1, 951_782_400_000_000_000, -86_400_000_000_000] {
            assert_eq!(parse_timestamp(&format_rfc3339_nanos(t), 0), Ok(t));
        }
    }

    #[test]
    fn garbage_is_an_error() {
        for bad in ["", "abc", "10x", "2023-13-01", "1.2.3", "2023-11-14T25:00:00Z"] {
            assert!(parse_timestamp(bad, NOW).is_err(), "{bad}");
        }
    }
}
