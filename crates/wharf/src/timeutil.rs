//! Time values of `--since`/`--until`, converted like moby's `GetTimestamp`: a Go
//! duration (`10m`, `1h30m`) counts back from now, RFC 3339 dates and times (with or
//! without a zone, in local time when without) become `seconds.nanoseconds`, and unix
//! timestamps pass through unchanged.
//!
//! Also Go's renderings of a Unix time in the local zone: `time.Time.String()`
//! (`2026-11-26 06:13:56 +0100 CET`, with the zone abbreviation read from the TZif file
//! Go would load: `$TZ`, else `/etc/localtime`) and `time.RFC3339`, and `String()` of
//! the RFC 3339 times the API sends (network `Created`).

use chrono::{DateTime, FixedOffset, Local, NaiveDate, NaiveDateTime, TimeZone};
pub(crate) use wharf_types::parse_go_duration;

/// Converts a `--since`/`--until` value into the unix timestamp string the API expects.
/// `now` is the reference for durations and the local zone for zone-less values.
pub(crate) fn get_timestamp(value: &str, now: DateTime<FixedOffset>) -> Result<String, String> {
    if value != "0" {
        if let Some(nanos) = parse_go_duration(value) {
            let secs = now.timestamp_nanos_opt().unwrap_or(0).saturating_sub(nanos);
            return Ok(secs.div_euclid(1_000_000_000).to_string());
        }
    }

    let in_location = !value.contains(['z', 'Z', '+']) && value.matches('-').count() != 3;
    let parsed: Option<DateTime<FixedOffset>> = if value.contains('.') {
        if in_location {
            local(NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f").ok(), now)
        } else {
            DateTime::parse_from_rfc3339(value).ok()
        }
    } else if value.contains('T') {
        let mut colons = value.matches(':').count();
        if !in_location && !value.contains(['z', 'Z']) && colons > 0 {
            colons -= 1;
        }
        let (date_part, rest) = value.split_once('T').unwrap_or((value, ""));
        if in_location {
            let full = match colons {
                0 => format!("{value}:00:00"),
                1 => format!("{value}:00"),
                _ => value.to_string(),
            };
            local(NaiveDateTime::parse_from_str(&full, "%Y-%m-%dT%H:%M:%S").ok(), now)
        } else {
            // Split the zone off the time part ("15", "15:04" or "15:04:05", then Z or ±hh:mm).
            let zpos = rest.find(['Z', 'z', '+', '-']);
            match zpos {
                Some(i) => {
                    let (clock, zone) = rest.split_at(i);
                    let clock = match colons {
                        0 => format!("{clock}:00:00"),
                        1 => format!("{clock}:00"),
                        _ => clock.to_string(),
                    };
                    let zone = if zone.eq_ignore_ascii_case("z") { "+00:00" } else { zone };
                    DateTime::parse_from_str(&format!("{date_part}T{clock}{zone}"), "%Y-%m-%dT%H:%M:%S%:z").ok()
                }
                None => None,
            }
        }
    } else if in_location {
        local(NaiveDate::parse_from_str(value, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)), now)
    } else {
        // "2006-01-02Z07:00"
        if value.len() > 10 && value.is_char_boundary(10) {
            let (date, zone) = value.split_at(10);
            let zone = if zone.eq_ignore_ascii_case("z") { "+00:00" } else { zone };
            DateTime::parse_from_str(&format!("{date}T00:00:00{zone}"), "%Y-%m-%dT%H:%M:%S%:z").ok()
        } else {
            None
        }
    };

    match parsed {
        Some(t) => Ok(format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos())),
        None => {
            if value.contains('-') {
                return Err(format!("parsing time {value:?}: cannot parse as a date or time"));
            }
            if parse_unix_timestamp(value) {
                Ok(value.to_string())
            } else {
                Err(format!("failed to parse value as time or duration: {value:?}"))
            }
        }
    }
}

fn local(naive: Option<NaiveDateTime>, now: DateTime<FixedOffset>) -> Option<DateTime<FixedOffset>> {
    let naive = naive?;
    now.offset().from_local_datetime(&naive).single()
}

/// `seconds[.nanoseconds]`, both parts integers.
fn parse_unix_timestamp(v: &str) -> bool {
    let (s, n) = match v.split_once('.') {
        Some((s, n)) => (s, Some(n)),
        None => (v, None),
    };
    s.parse::<i64>().is_ok() && n.is_none_or(|n| n.parse::<i64>().is_ok())
}

/// The current time in the local zone.
pub(crate) fn now_local() -> DateTime<FixedOffset> {
    Local::now().fixed_offset()
}

/// docker's `rfc3339NanoFixed` in the local zone: `2006-01-02T15:04:05.000000000Z07:00`.
pub(crate) fn format_rfc3339_nano_fixed(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let sub = nanos.rem_euclid(1_000_000_000) as u32;
    match Local.timestamp_opt(secs, sub).single() {
        Some(t) => {
            let t = t.fixed_offset();
            let zone = if t.offset().local_minus_utc() == 0 { "Z".to_string() } else { t.format("%:z").to_string() };
            format!("{}{}", t.format("%Y-%m-%dT%H:%M:%S%.9f"), zone)
        }
        None => nanos.to_string(),
    }
}

/// A zone loaded from a TZif file: transitions, local time types, and the POSIX TZ
/// rule that follows the last transition.
#[derive(Debug, Default)]
struct Zone {
    transitions: Vec<(i64, usize)>,
    /// (UTC offset in seconds, abbreviation)
    types: Vec<(i32, String)>,
    footer: String,
}

/// Parses a TZif file (version 1, or the 64-bit data of versions 2 and later).
fn parse_tzif(data: &[u8]) -> Option<Zone> {
    fn counts(h: &[u8]) -> Option<[usize; 6]> {
        if h.len() < 44 || &h[..4] != b"TZif" {
            return None;
        }
        let mut c = [0usize; 6];
        for (i, n) in c.iter_mut().enumerate() {
            let b = &h[20 + 4 * i..24 + 4 * i];
            *n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        }
        Some(c)
    }
    let [isut, isstd, leap, timecnt, typecnt, charcnt] = counts(data)?;
    let v1_len = timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
    let (body, time_size, counts) = if data[4] >= b'2' {
        let second = data.get(44 + v1_len..)?;
        (second.get(44..)?, 8, counts(second)?)
    } else {
        (&data[44..], 4, [isut, isstd, leap, timecnt, typecnt, charcnt])
    };
    let [isut, isstd, leap, timecnt, typecnt, charcnt] = counts;
    let mut pos = 0;
    let mut take = |n: usize| -> Option<&[u8]> {
        let s = body.get(pos..pos + n)?;
        pos += n;
        Some(s)
    };
    let times = take(timecnt * time_size)?;
    let idx = take(timecnt)?;
    let ttinfo = take(typecnt * 6)?;
    let chars = take(charcnt)?;
    take(leap * (time_size + 4) + isstd + isut)?;
    let footer = if time_size == 8 {
        let rest = &body[pos..];
        let rest = rest.strip_prefix(b"\n").unwrap_or(rest);
        String::from_utf8_lossy(rest.split(|b| *b == b'\n').next().unwrap_or(&[])).into_owned()
    } else {
        String::new()
    };
    let transitions = (0..timecnt)
        .map(|i| {
            let t = &times[i * time_size..(i + 1) * time_size];
            let t = if time_size == 8 {
                i64::from_be_bytes([t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]])
            } else {
                i64::from(i32::from_be_bytes([t[0], t[1], t[2], t[3]]))
            };
            (t, usize::from(idx[i]))
        })
        .collect();
    let types = (0..typecnt)
        .map(|i| {
            let t = &ttinfo[i * 6..i * 6 + 6];
            let off = i32::from_be_bytes([t[0], t[1], t[2], t[3]]);
            let start = usize::from(t[5]).min(chars.len());
            let end = chars[start..].iter().position(|b| *b == 0).map_or(chars.len(), |p| start + p);
            (off, String::from_utf8_lossy(&chars[start..end]).into_owned())
        })
        .collect();
    Some(Zone { transitions, types, footer })
}

/// The abbreviations and UTC offsets named by a POSIX TZ rule ("CET-1CEST,M3.5.0,…").
fn footer_zones(rule: &str) -> Vec<(i32, String)> {
    fn name(s: &str) -> Option<(String, &str)> {
        if let Some(rest) = s.strip_prefix('<') {
            let end = rest.find('>')?;
            return Some((rest[..end].to_string(), &rest[end + 1..]));
        }
        let end = s.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(s.len());
        (end >= 3).then(|| (s[..end].to_string(), &s[end..]))
    }
    fn offset(s: &str) -> Option<(i32, &str)> {
        let end = s.find(|c: char| !(c.is_ascii_digit() || matches!(c, '+' | '-' | ':'))).unwrap_or(s.len());
        let (text, rest) = s.split_at(end);
        let (sign, digits) = match text.strip_prefix('-') {
            Some(d) => (-1, d),
            None => (1, text.strip_prefix('+').unwrap_or(text)),
        };
        let mut secs = 0;
        for (i, part) in digits.split(':').enumerate().take(3) {
            secs += part.parse::<i32>().ok()? * [3600, 60, 1][i];
        }
        // POSIX offsets are west of Greenwich: "CET-1" is UTC+1.
        Some((-sign * secs, rest))
    }
    let mut out = Vec::new();
    let Some((std_name, rest)) = name(rule) else { return out };
    let Some((std_off, rest)) = offset(rest) else { return out };
    out.push((std_off, std_name));
    if let Some((dst_name, rest)) = name(rest) {
        let dst_off = offset(rest).filter(|(_, r)| r.is_empty() || r.starts_with(',')).map_or(std_off + 3600, |o| o.0);
        out.push((dst_off, dst_name));
    }
    out
}

/// The zone Go's `time.Local` would use, `None` for UTC.
fn local_zone() -> Option<Zone> {
    let data = match std::env::var("TZ") {
        Err(_) => std::fs::read("/etc/localtime").ok()?,
        Ok(tz) => {
            let tz = tz.strip_prefix(':').unwrap_or(&tz);
            if tz.is_empty() || tz == "UTC" {
                return None;
            }
            if tz.starts_with('/') {
                std::fs::read(tz).ok()?
            } else {
                ["/usr/share/zoneinfo/", "/usr/share/lib/zoneinfo/", "/usr/lib/locale/TZ/", "/etc/zoneinfo/"]
                    .iter()
                    .find_map(|dir| std::fs::read(format!("{dir}{tz}")).ok())?
            }
        }
    };
    parse_tzif(&data)
}

/// The UTC offset and zone abbreviation in effect at Unix time `secs`.
fn zone_at(zone: Option<&Zone>, secs: i64) -> (i32, String) {
    let Some(z) = zone else { return (0, "UTC".into()) };
    let last = z.transitions.last().map(|t| t.0);
    if !z.footer.is_empty() && last.is_none_or(|l| secs >= l) {
        // After the last transition: the rule's names, told apart by the offset the
        // system's own zone handling computes.
        let names = footer_zones(&z.footer);
        let off = Local.timestamp_opt(secs, 0).single().map(|t| t.offset().local_minus_utc());
        if let Some(found) = names.iter().find(|(o, _)| Some(*o) == off).or(names.first()) {
            return found.clone();
        }
    }
    let ty = match z.transitions.iter().rposition(|(t, _)| *t <= secs) {
        Some(i) => z.transitions[i].1,
        None => 0,
    };
    z.types.get(ty).cloned().unwrap_or((0, "UTC".into()))
}

fn local_parts(secs: i64) -> (chrono::NaiveDateTime, i32, String) {
    static ZONE: std::sync::OnceLock<Option<Zone>> = std::sync::OnceLock::new();
    let zone = ZONE.get_or_init(local_zone);
    let (off, abbr) = zone_at(zone.as_ref(), secs);
    let naive = DateTime::from_timestamp(secs.saturating_add(i64::from(off)), 0).unwrap_or_default().naive_utc();
    (naive, off, abbr)
}

/// Go's `time.Unix(secs, 0).String()` in the local zone: `2006-01-02 15:04:05 -0700 MST`.
pub(crate) fn go_time_string(secs: i64) -> String {
    let (t, off, abbr) = local_parts(secs);
    let sign = if off < 0 { '-' } else { '+' };
    let a = off.unsigned_abs();
    format!("{} {sign}{:02}{:02} {abbr}", t.format("%Y-%m-%d %H:%M:%S"), a / 3600, (a / 60) % 60)
}

/// Go's `time.Time.String()` of a time the docker client decoded from the daemon's JSON
/// (RFC 3339 with optional fraction; network `Created`): `2006-01-02 15:04:05.999999999
/// -0700 MST`. A `Z` time is in `UTC`; an offset that the local zone has at that instant
/// takes the local zone's name (Go's `time.Parse` does so), any other offset is named by
/// itself (`+0530`). A value that does not parse is Go's zero time.
pub(crate) fn go_time_string_rfc3339(value: &str) -> String {
    const ZERO: &str = "0001-01-01 00:00:00 +0000 UTC";
    let Ok(t) = DateTime::parse_from_rfc3339(value) else { return ZERO.to_string() };
    let off = t.offset().local_minus_utc();
    let sign = if off < 0 { '-' } else { '+' };
    let a = off.unsigned_abs();
    let numeric = format!("{sign}{:02}{:02}", a / 3600, (a / 60) % 60);
    let name = if value.ends_with(['Z', 'z']) {
        "UTC".to_string()
    } else {
        static ZONE: std::sync::OnceLock<Option<Zone>> = std::sync::OnceLock::new();
        let (local_off, abbr) = zone_at(ZONE.get_or_init(local_zone).as_ref(), t.timestamp());
        if local_off == off {
            abbr
        } else {
            numeric.clone()
        }
    };
    let nanos = t.timestamp_subsec_nanos();
    let frac = if nanos == 0 { String::new() } else { format!(".{nanos:09}").trim_end_matches('0').to_string() };
    format!("{}{frac} {numeric} {name}", t.naive_local().format("%Y-%m-%d %H:%M:%S"))
}

/// Go's `time.Unix(secs, 0).Format(time.RFC3339)` in the local zone.
pub(crate) fn format_rfc3339_local(secs: i64) -> String {
    let (t, off, _) = local_parts(secs);
    if off == 0 {
        return format!("{}Z", t.format("%Y-%m-%dT%H:%M:%S"));
    }
    let sign = if off < 0 { '-' } else { '+' };
    let a = off.unsigned_abs();
    format!("{}{sign}{:02}:{:02}", t.format("%Y-%m-%dT%H:%M:%S"), a / 3600, (a / 60) % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).expect("time")
    }

    #[test]
    fn durations() {
        assert_eq!(parse_go_duration("10m"), Some(600_000_000_000));
        assert_eq!(parse_go_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_go_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_go_duration("-2s"), Some(-2_000_000_000));
        assert_eq!(parse_go_duration("300ms"), Some(300_000_000));
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("m"), None);
        assert_eq!(parse_go_duration("1d"), None);
    }

    #[test]
    fn timestamps_like_moby() {
        let now = at("2026-11-29T02:45:17+00:00");
        let cases: &[(&str, &str)] = &[
            ("10m", "1795919717"),
            ("1h", "1795916717"),
            ("0", "0"),
            ("1796006717", "1796006717"),
            ("1796006717.123", "1796006717.123"),
            ("2026-11-29T02:45:17Z", "1795920317.000000000"),
            ("2026-11-29T02:45:17.5Z", "1795920317.500000000"),
            ("2026-11-29T03:45:17+01:00", "1795920317.000000000"),
            ("2026-11-29T02:45:17", "1795920317.000000000"),
            ("2026-11-29T02:45", "1795920300.000000000"),
            ("2026-11-29T02", "1795917600.000000000"),
            ("2026-11-29", "1795910400.000000000"),
            ("2026-11-29T02:45:17.25", "1795920317.250000000"),
            ("2026-11-29Z", "1795910400.000000000"),
        ];
        for (input, want) in cases {
            assert_eq!(get_timestamp(input, now).as_deref(), Ok(*want), "input {input:?}");
        }
        // Zone-less values are read in the reference zone.
        let now_plus1 = at("2026-11-29T03:45:17+01:00");
        assert_eq!(get_timestamp("2026-11-29T03:45:17", now_plus1).as_deref(), Ok("1795920317.000000000"));

        assert!(get_timestamp("yesterday", now).is_err());
        assert!(get_timestamp("2026-13-45", now).is_err());
    }

    #[test]
    fn zone_abbreviations() {
        let Ok(data) = std::fs::read("/usr/share/zoneinfo/Europe/Berlin") else {
            eprintln!("no zoneinfo; skipping");
            return;
        };
        let z = parse_tzif(&data).expect("tzif");
        // 2026-11-26 05:13:56 UTC is CET, 2025-07-01 is CEST, 1990-01-01 is CET.
        assert_eq!(zone_at(Some(&z), 1_795_929_236), (3600, "CET".into()));
        assert_eq!(zone_at(Some(&z), 1_751_328_000), (7200, "CEST".into()));
        assert_eq!(zone_at(Some(&z), 631_152_000), (3600, "CET".into()));
        assert_eq!(zone_at(None, 0), (0, "UTC".into()));
        assert_eq!(footer_zones("CET-1CEST,M3.5.0,M10.5.0/3"), vec![(3600, "CET".into()), (7200, "CEST".into())]);
        assert_eq!(footer_zones("<-03>3"), vec![(-10800, "-03".into())]);
        assert_eq!(footer_zones("IST-5:30"), vec![(19800, "IST".into())]);
        assert_eq!(footer_zones("EST5EDT,M3.2.0,M11.1.0"), vec![(-18000, "EST".into()), (-14400, "EDT".into())]);
    }

    #[test]
    fn go_time_strings_of_api_times() {
        assert_eq!(go_time_string_rfc3339("2025-01-02T03:04:05.123456789Z"), "2025-01-02 03:04:05.123456789 +0000 UTC");
        assert_eq!(go_time_string_rfc3339("2025-06-02T13:04:05.5Z"), "2025-06-02 13:04:05.5 +0000 UTC");
        assert_eq!(go_time_string_rfc3339("0001-01-01T00:00:00Z"), "0001-01-01 00:00:00 +0000 UTC");
        assert_eq!(go_time_string_rfc3339(""), "0001-01-01 00:00:00 +0000 UTC");
        // An offset no local zone has is named by itself.
        assert_eq!(go_time_string_rfc3339("2025-01-02T03:04:05+05:17"), "2025-01-02 03:04:05 +0517 +0517");
    }

    #[test]
    fn event_time_format() {
        // Only the shape can be checked without fixing the local zone.
        let s = format_rfc3339_nano_fixed(1_796_006_717_123_456_789);
        assert!(s.contains(".123456789"), "{s}");
        assert_eq!(s.len(), if s.ends_with('Z') { 30 } else { 35 }, "{s}");
    }
}
