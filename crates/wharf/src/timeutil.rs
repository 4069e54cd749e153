//! Time values of `--since`/`--until`, converted like moby's `GetTimestamp`: a Go
//! duration (`10m`, `1h30m`) counts back from now, RFC 3339 dates and times (with or
//! without a zone, in local time when without) become `seconds.nanoseconds`, and unix
//! timestamps pass through unchanged.

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
    fn event_time_format() {
        // Only the shape can be checked without fixing the local zone.
        let s = format_rfc3339_nano_fixed(1_796_006_717_123_456_789);
        assert!(s.contains(".123456789"), "{s}");
        assert_eq!(s.len(), if s.ends_with('Z') { 30 } else { 35 }, "{s}");
    }
}
