//! Human-readable values as the docker CLI prints them: go-units' `HumanSize` and
//! `HumanDuration`, Go's `%g` verb, `time.Duration.String`, `strconv.Quote`, and the
//! CLI formatter's `TruncateID` and `Ellipsis`.

use unicode_width::UnicodeWidthChar;

/// Decimal unit names of go-units (`decimapAbbrs`).
const DECIMAL_UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

/// go-units `HumanSizeWithPrecision`: decimal units (1000), `%.{precision}g`.
pub(crate) fn human_size_with_precision(size: f64, precision: usize) -> String {
    let mut size = size;
    let mut i = 0;
    while size >= 1000.0 && i < DECIMAL_UNITS.len() - 1 {
        size /= 1000.0;
        i += 1;
    }
    format!("{}{}", go_format_g(size, precision), DECIMAL_UNITS[i])
}

/// go-units `HumanSize`: four significant digits ("5.271MB").
pub(crate) fn human_size(size: f64) -> String {
    human_size_with_precision(size, 4)
}

/// Go's `%.{prec}g` (`strconv.FormatFloat(v, 'g', prec, 64)`): `prec` significant
/// digits, trailing zeros dropped, exponent form when the exponent is below -4 or not
/// below the precision ("1e+03").
pub(crate) fn go_format_g(v: f64, prec: usize) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let prec = prec.max(1);
    let neg = v.is_sign_negative() && v != 0.0;
    let sci = format!("{:.*e}", prec - 1, v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    // The rounded significant digits, without trailing zeros (Go's decimal type trims them).
    let mut digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    let nd = digits.len() as i32;
    let dp = if v == 0.0 { 1 } else { exp + 1 };
    let mut eprec = prec as i32;
    if eprec > nd && nd >= dp {
        eprec = nd;
    }
    let x = dp - 1;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if x < -4 || x >= eprec {
        // %e with min(prec, nd) - 1 decimals.
        let decimals = (prec as i32).min(nd) - 1;
        out.push_str(&digits[..1]);
        if decimals > 0 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if x < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", x.abs()));
        return out;
    }
    // %f with max(nd - dp, 0) decimals: all the significant digits.
    if dp <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-dp) as usize));
        out.push_str(&digits);
    } else {
        let dp = dp as usize;
        if digits.len() <= dp {
            out.push_str(&digits);
            out.push_str(&"0".repeat(dp - digits.len()));
        } else {
            out.push_str(&digits[..dp]);
            out.push('.');
            out.push_str(&digits[dp..]);
        }
    }
    out
}

/// go-units `HumanDuration` of `nanos` nanoseconds ("Less than a second", "About a
/// minute", "3 days", "13 months").
pub(crate) fn human_duration(nanos: i64) -> String {
    let secs_f = nanos as f64 / 1e9;
    let seconds = secs_f as i64;
    if seconds < 1 {
        return "Less than a second".into();
    }
    if seconds == 1 {
        return "1 second".into();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = (secs_f / 60.0) as i64;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let hours_f = secs_f / 3600.0;
    let hours = (hours_f + 0.5) as i64;
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", hours_f as i64 / 24 / 365)
}

/// `HumanDuration(now - created) + " ago"` for a Unix time in seconds.
pub(crate) fn since(created_secs: i64, now_nanos: i64) -> String {
    let nanos = now_nanos.saturating_sub(created_secs.saturating_mul(1_000_000_000));
    format!("{} ago", human_duration(nanos))
}

/// The current Unix time in nanoseconds.
pub(crate) fn now_nanos() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

/// Go's `time.Duration.String` for whole seconds ("0s", "45s", "1m30s", "2h0m5s").
pub(crate) fn go_duration_secs(secs: i64) -> String {
    let neg = secs < 0;
    let s = secs.unsigned_abs();
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    let body = if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    };
    if neg {
        format!("-{body}")
    } else {
        body
    }
}

/// The CLI formatter's `TruncateID`: drops an `algorithm:` prefix and keeps 12
/// characters.
pub(crate) fn truncate_id(id: &str) -> String {
    let id = id.split_once(':').map_or(id, |(_, rest)| rest);
    id.chars().take(12).collect()
}

/// The CLI formatter's `Ellipsis`: cuts `s` to `max_width` display columns, the last
/// one being "…" (wide characters count as two columns).
pub(crate) fn ellipsis(s: &str, max_width: usize) -> String {
    if max_width == 0 {
        return String::new();
    }
    let chars: Vec<char> = s.chars().collect();
    if max_width == 1 {
        return chars.first().map(|c| c.to_string()).unwrap_or_default();
    }
    if s.len() == chars.len() {
        if chars.len() <= max_width {
            return s.to_string();
        }
        return chars[..max_width - 1].iter().collect::<String>() + "…";
    }
    let mut display = Vec::with_capacity(chars.len());
    let mut width = 0;
    for c in &chars {
        width += c.width().unwrap_or(0);
        display.push(width);
    }
    if width <= max_width {
        return s.to_string();
    }
    for i in 0..display.len().saturating_sub(1) {
        if display[i] < max_width && display[i + 1] >= max_width {
            return chars[..=i].iter().collect::<String>() + "…";
        }
    }
    s.to_string()
}

/// Go's `strconv.Quote` (shared with the reference and platform errors).
pub(crate) use wharf_types::go_quote;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_g_formatting() {
        assert_eq!(go_format_g(4.27, 3), "4.27");
        assert_eq!(go_format_g(1.5, 3), "1.5");
        assert_eq!(go_format_g(100.0, 3), "100");
        assert_eq!(go_format_g(999.5, 3), "1e+03");
        assert_eq!(go_format_g(0.0, 3), "0");
        assert_eq!(go_format_g(12.0, 3), "12");
        assert_eq!(go_format_g(5.27124, 4), "5.271");
        assert_eq!(go_format_g(999.5, 4), "999.5");
        assert_eq!(go_format_g(0.000123, 3), "0.000123");
        assert_eq!(go_format_g(0.0000123, 3), "1.23e-05");
        assert_eq!(go_format_g(123456.0, 3), "1.23e+05");
    }

    /// Values checked against the docker 28.2 CLI.
    #[test]
    fn sizes_like_go_units() {
        assert_eq!(human_size_with_precision(4_270_000.0, 3), "4.27MB");
        assert_eq!(human_size_with_precision(1240.0, 3), "1.24kB");
        assert_eq!(human_size_with_precision(999_500.0, 3), "1e+03kB");
        assert_eq!(human_size_with_precision(0.0, 3), "0B");
        assert_eq!(human_size_with_precision(12.0, 3), "12B");
        assert_eq!(human_size(999_500.0), "999.5kB");
        assert_eq!(human_size(5_271_240.0), "5.271MB");
        assert_eq!(human_size(1_240_000.0), "1.24MB");
        assert_eq!(human_size(2048.0), "2.048kB");
        assert_eq!(human_size(400.0), "400B");
    }

    #[test]
    fn durations_like_go_units() {
        let s = 1_000_000_000i64;
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(-5 * s), "Less than a second");
        assert_eq!(human_duration(s), "1 second");
        assert_eq!(human_duration(59 * s), "59 seconds");
        assert_eq!(human_duration(60 * s), "About a minute");
        assert_eq!(human_duration(59 * 60 * s), "59 minutes");
        assert_eq!(human_duration(60 * 60 * s), "About an hour");
        assert_eq!(human_duration(2 * 3600 * s), "2 hours");
        assert_eq!(human_duration(3 * 86400 * s), "3 days");
        assert_eq!(human_duration(20 * 86400 * s), "2 weeks");
        assert_eq!(human_duration(400 * 86400 * s), "13 months");
        assert_eq!(human_duration(9000 * 86400 * s), "24 years");
        assert_eq!(since(100, 160 * s), "About a minute ago");
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration_secs(0), "0s");
        assert_eq!(go_duration_secs(45), "45s");
        assert_eq!(go_duration_secs(90), "1m30s");
        assert_eq!(go_duration_secs(7205), "2h0m5s");
    }

    #[test]
    fn ids_and_ellipsis() {
        assert_eq!(truncate_id(&format!("sha256:{}", "a".repeat(64))), "a".repeat(12));
        assert_eq!(truncate_id("<missing>"), "<missing>");
        assert_eq!(
            ellipsis(
                "/bin/sh -c #(nop) ADD file:7e9002edaafd4e4579b65c8f0aaabde1aeb7fd3f8d95579f7fd3443cef785fd1 in / ",
                45
            ),
            "/bin/sh -c #(nop) ADD file:7e9002edaafd4e457…"
        );
        assert_eq!(ellipsis("short", 45), "short");
        assert_eq!(ellipsis("abc", 1), "a");
        let wide = format!("xé{}", "中文".repeat(23));
        assert_eq!(ellipsis(&wide, 45), format!("xé{}中…", "中文".repeat(10)));
    }
}
