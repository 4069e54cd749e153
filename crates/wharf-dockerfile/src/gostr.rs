//! Small ports of the Go standard library behaviour BuildKit's texts and rules depend on:
//! `strconv.Quote`, `strings.ToLower`/`ToUpper`/`EqualFold`, `unicode.IsSpace`, the
//! `[\t\v\f\r ]+` splitter, `time.ParseDuration`, `strconv.ParseInt`/`ParseUint`/`ParseBool`,
//! `path.Clean` and `filepath.Dir`. Each keeps Go's quirks where they show in output.

use std::fmt::Write as _;

/// Go's `unicode.IsSpace` (the Unicode `White_Space` property, like `char::is_whitespace`).
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// Go's `unicode.IsSpace(rune(b))` applied to a single byte, as BuildKit's byte-wise scanners do
/// (so 0x85 and 0xA0 count as spaces even inside a UTF-8 sequence).
pub(crate) fn is_space_byte(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0x85 | 0xa0)
}

/// Go's `strings.TrimSpace`.
pub(crate) fn trim_space(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// Go's `bytes.TrimLeftFunc(s, unicode.IsSpace)`.
pub(crate) fn trim_left_space(s: &str) -> &str {
    s.trim_start_matches(is_space)
}

/// The characters of BuildKit's `reWhitespace` (`[\t\v\f\r ]+`).
pub(crate) fn is_re_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\u{0b}' | '\u{0c}' | '\r' | ' ')
}

/// Go's `reWhitespace.Split(s, n)` for `n == 2` (`Some(2)`) or `n == -1` (`None`), with
/// `regexp.Split`'s exact rules (a leading run yields a leading empty piece, a trailing run a
/// trailing empty piece, an empty input one empty piece).
pub(crate) fn split_ws(s: &str, limit: Option<usize>) -> Vec<String> {
    if s.is_empty() {
        return vec![String::new()];
    }
    // Maximal runs of whitespace, at most `limit` of them.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if limit.is_some_and(|n| runs.len() >= n) {
            break;
        }
        if is_re_whitespace(bytes[i] as char) {
            let start = i;
            while i < bytes.len() && is_re_whitespace(bytes[i] as char) {
                i += 1;
            }
            runs.push((start, i));
        } else {
            i += 1;
        }
    }
    let mut out = Vec::new();
    let mut beg = 0;
    let mut end = 0;
    for (a, b) in runs {
        if limit.is_some_and(|n| out.len() == n - 1) {
            break;
        }
        end = a;
        if b != 0 {
            out.push(s[beg..end].to_string());
        }
        beg = b;
    }
    if end != s.len() {
        out.push(s[beg..].to_string());
    }
    out
}

/// Go's `unicode.ToLower` per rune (simple case mapping), as `strings.ToLower` applies it.
pub(crate) fn to_lower(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut it = c.to_lowercase();
            // Only U+0130 lowers to two characters; its simple mapping is the first ('i').
            it.next().unwrap_or(c)
        })
        .collect()
}

/// Go's `unicode.ToUpper` per rune: characters without a single-character uppercase stay.
pub(crate) fn to_upper(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut it = c.to_uppercase();
            match (it.next(), it.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

/// Go's `strings.EqualFold` (simple Unicode case folding, close enough for the ASCII keywords
/// BuildKit compares: `as`, instruction names).
pub(crate) fn equal_fold(a: &str, b: &str) -> bool {
    let mut ai = a.chars();
    let mut bi = b.chars();
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) => {
                if x == y {
                    continue;
                }
                let lx = to_lower(x.encode_utf8(&mut [0; 4]));
                let ly = to_lower(y.encode_utf8(&mut [0; 4]));
                let ux = to_upper(x.encode_utf8(&mut [0; 4]));
                let uy = to_upper(y.encode_utf8(&mut [0; 4]));
                if lx != ly && ux != uy {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// Go's `strconv.IsPrint`, without Unicode's unassigned code points (which Go escapes and we
/// print as they are): letters, marks, numbers, punctuation, symbols and the ASCII space.
fn is_print(c: char) -> bool {
    let u = c as u32;
    if u < 0x20 || (0x7f..=0x9f).contains(&u) {
        return false;
    }
    if c == ' ' {
        return true;
    }
    if c.is_whitespace() {
        return false;
    }
    // Format characters (Cf).
    if matches!(u,
        0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x890..=0x891 | 0x8e2 | 0x180e
        | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f | 0xfeff
        | 0xfff9..=0xfffb | 0x110bd | 0x110cd | 0x13430..=0x1343f | 0x1bca0..=0x1bca3
        | 0x1d173..=0x1d17a | 0xe0001 | 0xe0020..=0xe007f)
    {
        return false;
    }
    // Private use and noncharacters.
    if matches!(u, 0xe000..=0xf8ff | 0xf0000..=0x10ffff | 0xfdd0..=0xfdef) || (u & 0xfffe) == 0xfffe {
        return false;
    }
    true
}

/// Go's `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
            out.push(c);
            continue;
        }
        if is_print(c) {
            out.push(c);
            continue;
        }
        match c {
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0b}' => out.push_str("\\v"),
            _ => {
                let u = c as u32;
                if u < 0x20 || u == 0x7f {
                    let _ = write!(out, "\\x{u:02x}");
                } else if u < 0x10000 {
                    let _ = write!(out, "\\u{u:04x}");
                } else {
                    let _ = write!(out, "\\U{u:08x}");
                }
            }
        }
    }
    out.push('"');
    out
}

/// Go's `time.quote` (used in `time.ParseDuration`'s errors).
fn time_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if (c as u32) >= 0x80 || c < ' ' {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "\\x{b:02x}");
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// Go's `time.ParseDuration`, in nanoseconds, with Go's error texts.
pub fn parse_duration(orig: &str) -> Result<i64, String> {
    const NS: u64 = 1;
    const US: u64 = 1_000;
    const MS: u64 = 1_000_000;
    const S: u64 = 1_000_000_000;
    let invalid = || format!("time: invalid duration {}", time_quote(orig));
    let mut s = orig.as_bytes();
    let mut neg = false;
    if let Some(&c) = s.first() {
        if c == b'-' || c == b'+' {
            neg = c == b'-';
            s = &s[1..];
        }
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut d: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid());
        }
        // Leading integer.
        let pl = s.len();
        let mut v: u64 = 0;
        let mut i = 0;
        while i < s.len() && s[i].is_ascii_digit() {
            if v > (1u64 << 63) / 10 {
                return Err(invalid());
            }
            v = v * 10 + u64::from(s[i] - b'0');
            if v > 1u64 << 63 {
                return Err(invalid());
            }
            i += 1;
        }
        s = &s[i..];
        let pre = pl != s.len();
        // Fraction.
        let mut post = false;
        let mut f: u64 = 0;
        let mut scale: f64 = 1.0;
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let pl = s.len();
            let mut overflow = false;
            let mut i = 0;
            while i < s.len() && s[i].is_ascii_digit() {
                if !overflow {
                    if f > ((1u64 << 63) - 1) / 10 {
                        overflow = true;
                    } else {
                        let y = f * 10 + u64::from(s[i] - b'0');
                        if y > 1u64 << 63 {
                            overflow = true;
                        } else {
                            f = y;
                            scale *= 10.0;
                        }
                    }
                }
                i += 1;
            }
            s = &s[i..];
            post = pl != s.len();
        }
        if !pre && !post {
            return Err(invalid());
        }
        // Unit.
        let mut i = 0;
        while i < s.len() && !(s[i] == b'.' || s[i].is_ascii_digit()) {
            i += 1;
        }
        if i == 0 {
            return Err(format!("time: missing unit in duration {}", time_quote(orig)));
        }
        let u = &s[..i];
        s = &s[i..];
        let unit = match u {
            b"ns" => NS,
            b"us" => US,
            b"\xc2\xb5s" | b"\xce\xbcs" => US,
            b"ms" => MS,
            b"s" => S,
            b"m" => 60 * S,
            b"h" => 3600 * S,
            _ => {
                let u = String::from_utf8_lossy(u);
                return Err(format!("time: unknown unit {} in duration {}", time_quote(&u), time_quote(orig)));
            }
        };
        if v > (1u64 << 63) / unit {
            return Err(invalid());
        }
        v *= unit;
        if f > 0 {
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > 1u64 << 63 {
                return Err(invalid());
            }
        }
        d += v;
        if d > 1u64 << 63 {
            return Err(invalid());
        }
    }
    if neg {
        return Ok((d as i64).wrapping_neg());
    }
    if d > (1u64 << 63) - 1 {
        return Err(invalid());
    }
    Ok(d as i64)
}

/// Go's `time.Duration.String()`.
pub fn format_duration(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        // Sub-second: ns, µs or ms with a fraction.
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&fmt_frac(u, div));
        out.push_str(unit);
    } else {
        let mut secs = u / 1_000_000_000;
        let frac = u % 1_000_000_000;
        let h = secs / 3600;
        secs %= 3600;
        let m = secs / 60;
        secs %= 60;
        if h > 0 {
            let _ = write!(out, "{h}h");
        }
        if h > 0 || m > 0 {
            let _ = write!(out, "{m}m");
        }
        out.push_str(&fmt_frac(secs * 1_000_000_000 + frac, 1_000_000_000));
        out.push('s');
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

fn fmt_frac(v: u64, div: u64) -> String {
    let whole = v / div;
    let mut frac = v % div;
    if frac == 0 {
        return whole.to_string();
    }
    let mut digits = div.to_string().len() - 1;
    while frac.is_multiple_of(10) {
        frac /= 10;
        digits -= 1;
    }
    format!("{whole}.{frac:0digits$}")
}

/// Go's `strconv.ParseInt(s, 10, bits)` with its error texts.
pub fn parse_int(s: &str, bits: u32) -> Result<i64, String> {
    let syntax = || format!("strconv.ParseInt: parsing {}: invalid syntax", go_quote(s));
    let range = || format!("strconv.ParseInt: parsing {}: value out of range", go_quote(s));
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let un = parse_uint_digits(digits, 10).map_err(|e| if e { range() } else { syntax() })?;
    let cutoff: u64 = 1u64 << (bits - 1);
    if !neg && un >= cutoff {
        return Err(range());
    }
    if neg && un > cutoff {
        return Err(range());
    }
    Ok(if neg { (un as i64).wrapping_neg() } else { un as i64 })
}

/// Go's `strconv.ParseUint(s, base, bits)` with its error texts (no prefixes or underscores,
/// as for an explicit base).
pub fn parse_uint(s: &str, base: u32, bits: u32) -> Result<u64, String> {
    let un = parse_uint_digits(s, base).map_err(|e| {
        let what = if e { "value out of range" } else { "invalid syntax" };
        format!("strconv.ParseUint: parsing {}: {what}", go_quote(s))
    })?;
    if bits < 64 && un >= (1u64 << bits) {
        return Err(format!("strconv.ParseUint: parsing {}: value out of range", go_quote(s)));
    }
    Ok(un)
}

/// `Err(true)` is out of range, `Err(false)` a syntax error.
fn parse_uint_digits(s: &str, base: u32) -> Result<u64, bool> {
    if s.is_empty() {
        return Err(false);
    }
    let mut n: u64 = 0;
    let mut overflow = false;
    for c in s.chars() {
        let d = c.to_digit(base).ok_or(false)?;
        match n.checked_mul(u64::from(base)).and_then(|x| x.checked_add(u64::from(d))) {
            Some(x) => n = x,
            None => overflow = true,
        }
    }
    if overflow {
        Err(true)
    } else {
        Ok(n)
    }
}

/// Go's `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Go's `path.Clean` (`filepath.Clean` on Unix).
pub fn path_clean(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let p = path.as_bytes();
    let rooted = p[0] == b'/';
    let n = p.len();
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let (mut r, mut dotdot) = (0, 0);
    if rooted {
        out.push(b'/');
        r = 1;
        dotdot = 1;
    }
    while r < n {
        if p[r] == b'/' || (p[r] == b'.' && (r + 1 == n || p[r + 1] == b'/')) {
            r += 1;
        } else if p[r] == b'.' && p[r + 1] == b'.' && (r + 2 == n || p[r + 2] == b'/') {
            r += 2;
            if out.len() > dotdot {
                let mut w = out.len() - 1;
                while w > dotdot && out[w] != b'/' {
                    w -= 1;
                }
                out.truncate(w);
            } else if !rooted {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(b"..");
                dotdot = out.len();
            }
        } else {
            if (rooted && out.len() != 1) || (!rooted && !out.is_empty()) {
                out.push(b'/');
            }
            while r < n && p[r] != b'/' {
                out.push(p[r]);
                r += 1;
            }
        }
    }
    if out.is_empty() {
        return ".".into();
    }
    // Only ASCII bytes were inserted or removed at '/' boundaries: still valid UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Go's `filepath.Dir` on Unix.
pub fn path_dir(path: &str) -> String {
    let i = path.rfind('/').map(|i| i + 1).unwrap_or(0);
    path_clean(&path[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_like_go() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("\t\n\r\u{0b}\u{0c}\u{07}\u{08}"), r#""\t\n\r\v\f\a\b""#);
        assert_eq!(go_quote("\u{1}\u{7f}\u{85}\u{a0}"), r#""\x01\x7f\u0085\u00a0""#);
        assert_eq!(go_quote("♥ é ☃"), "\"♥ é ☃\"");
        assert_eq!(go_quote("\u{feff}\u{e000}\u{10ffff}"), r#""\ufeff\ue000\U0010ffff""#);
    }

    #[test]
    fn split_like_regexp_split() {
        assert_eq!(split_ws("a b  c", None), ["a", "b", "c"]);
        assert_eq!(split_ws("a b  c", Some(2)), ["a", "b  c"]);
        assert_eq!(split_ws("a", Some(2)), ["a"]);
        assert_eq!(split_ws("", None), [""]);
        assert_eq!(split_ws(" a", None), ["", "a"]);
        assert_eq!(split_ws("a ", None), ["a", ""]);
    }

    #[test]
    fn durations_like_go() {
        assert_eq!(parse_duration("5s"), Ok(5_000_000_000));
        assert_eq!(parse_duration("1h2m3.5s"), Ok(3_723_500_000_000));
        assert_eq!(parse_duration("-1.5ms"), Ok(-1_500_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("1µs"), Ok(1_000));
        assert_eq!(parse_duration(""), Err(r#"time: invalid duration """#.into()));
        assert_eq!(parse_duration("1"), Err(r#"time: missing unit in duration "1""#.into()));
        assert_eq!(parse_duration("1x"), Err(r#"time: unknown unit "x" in duration "1x""#.into()));
        assert_eq!(parse_duration(".s"), Err(r#"time: invalid duration ".s""#.into()));
        assert!(parse_duration("9999999999h").is_err());
        assert_eq!(format_duration(1_000_000), "1ms");
        assert_eq!(format_duration(3_723_500_000_000), "1h2m3.5s");
        assert_eq!(format_duration(1_500), "1.5µs");
        assert_eq!(format_duration(0), "0s");
    }

    #[test]
    fn ints_like_strconv() {
        assert_eq!(parse_int("-3", 32), Ok(-3));
        assert_eq!(parse_int("+3", 32), Ok(3));
        assert_eq!(parse_int("x", 32), Err(r#"strconv.ParseInt: parsing "x": invalid syntax"#.into()));
        assert_eq!(
            parse_int("2147483648", 32),
            Err(r#"strconv.ParseInt: parsing "2147483648": value out of range"#.into())
        );
        assert_eq!(parse_int("-2147483648", 32), Ok(-2147483648));
        assert_eq!(parse_uint("0755", 8, 32), Ok(0o755));
        assert!(parse_uint("8", 8, 32).is_err());
        assert!(parse_uint("4294967296", 10, 32).is_err());
    }

    #[test]
    fn clean_like_go() {
        for (i, o) in [
            ("", "."),
            ("a/../..", ".."),
            ("/../a", "/a"),
            ("a//b/./c/", "a/b/c"),
            ("./", "."),
            ("../../a/b/../c", "../../a/c"),
            ("/", "/"),
            ("!./foo", "!./foo"),
        ] {
            assert_eq!(path_clean(i), o, "{i}");
        }
        assert_eq!(path_dir("a/b"), "a");
        assert_eq!(path_dir("a"), ".");
        assert_eq!(path_dir("/a"), "/");
    }

    #[test]
    fn case_like_go() {
        assert_eq!(to_lower("RUN İ Σ"), "run i σ");
        assert_eq!(to_upper("run ß"), "RUN ß");
        assert!(equal_fold("As", "as"));
        assert!(equal_fold("aſ", "as"));
        assert!(!equal_fold("at", "as"));
    }
}
