//! A port of the parts of Go's `fmt` and `strconv` that templates use:
//! `%v` printing of values, `Sprint`, `Sprintln`, `Sprintf` with flags,
//! width and precision, and Go string/rune quoting.

use crate::value::{sorted_entries, Value, MAX_VALUE_DEPTH};

/// Formatting flags of one verb, as in Go's `fmt.fmtFlags`.
#[derive(Clone, Copy, Default, Debug)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    sharp_v: bool,
    wid: Option<usize>,
    prec: Option<usize>,
}

/// Go's `unicode.IsPrint`, approximated with the standard library's
/// character classes plus a list of format (Cf) and private-use ranges.
pub(crate) fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(
        c as u32,
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x8E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xE000..=0xF8FF
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0xFFFE
            | 0xFFFF
            | 0x110BD
            | 0x110CD
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
            | 0xF0000..
    )
}

const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";
const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";

fn push_escaped_rune(out: &mut String, c: char, quote: char, ascii_only: bool) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if ascii_only {
        if c.is_ascii() && is_print(c) {
            out.push(c);
            return;
        }
    } else if is_print(c) {
        out.push(c);
        return;
    }
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c => {
            let u = c as u32;
            if u < 0x20 || u == 0x7f {
                out.push_str("\\x");
                out.push(LOWER_HEX[(u >> 4) as usize & 0xF] as char);
                out.push(LOWER_HEX[u as usize & 0xF] as char);
            } else if u < 0x10000 {
                out.push_str(&format!("\\u{u:04x}"));
            } else {
                out.push_str(&format!("\\U{u:08x}"));
            }
        }
    }
}

/// Go's `strconv.Quote`.
pub(crate) fn go_quote(s: &str) -> String {
    quote_with(s, '"', false)
}

fn quote_with(s: &str, quote: char, ascii_only: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        push_escaped_rune(&mut out, c, quote, ascii_only);
    }
    out.push(quote);
    out
}

fn quote_rune(c: char, ascii_only: bool) -> String {
    let mut out = String::from("'");
    push_escaped_rune(&mut out, c, '\'', ascii_only);
    out.push('\'');
    out
}

/// Go's `strconv.CanBackquote`.
fn can_backquote(s: &str) -> bool {
    s.chars().all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !(c < ' ' || c == '\u{7f}')))
}

// ---------------------------------------------------------------------------
// Floats.

/// Decimal digits of a float: |f| = 0.DIGITS × 10^dp, no trailing zeros
/// (zero has no digits), as Go's `decimalSlice`.
struct Digits {
    neg: bool,
    d: Vec<u8>,
    dp: i32,
}

/// Parses Rust's `{:e}` output ("1.25e-3") into digits.
fn parse_exp_form(neg: bool, s: &str) -> Digits {
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while d.last() == Some(&b'0') {
        d.pop();
    }
    let dp = if d.is_empty() { 0 } else { exp + 1 };
    Digits { neg, d, dp }
}

fn shortest(f: f64) -> Digits {
    parse_exp_form(f.is_sign_negative(), &format!("{:e}", f.abs()))
}

/// Shortest round-trip decimal digits of `f`: (negative, digits, dp) with
/// |f| = 0.DIGITS × 10^dp. Zero yields ("0", 1).
pub(crate) fn shortest_digits(f: f64) -> (bool, String, i32) {
    let d = shortest(f);
    if d.d.is_empty() {
        return (d.neg, "0".into(), 1);
    }
    (d.neg, String::from_utf8_lossy(&d.d).into_owned(), d.dp)
}

fn fmt_e(d: &Digits, prec: i32, e: char) -> String {
    let mut out = String::new();
    if d.neg {
        out.push('-');
    }
    out.push(d.d.first().map_or('0', |&c| c as char));
    if prec > 0 {
        out.push('.');
        for i in 1..=prec as usize {
            out.push(d.d.get(i).map_or('0', |&c| c as char));
        }
    }
    out.push(e);
    let mut exp = d.dp - 1;
    if d.d.is_empty() {
        exp = 0;
    }
    out.push(if exp < 0 { '-' } else { '+' });
    let exp = exp.unsigned_abs();
    if exp < 10 {
        out.push('0');
    }
    out.push_str(&exp.to_string());
    out
}

fn fmt_f(d: &Digits, prec: i32) -> String {
    let mut out = String::new();
    if d.neg {
        out.push('-');
    }
    if d.dp > 0 {
        for i in 0..d.dp as usize {
            out.push(d.d.get(i).map_or('0', |&c| c as char));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            let j = d.dp + i - 1;
            let c = if j >= 0 { d.d.get(j as usize).map_or('0', |&c| c as char) } else { '0' };
            out.push(c);
        }
    }
    out
}

/// strconv's `%g` decision between exponent and fixed notation.
fn fmt_g(d: &Digits, prec: i32, shortest: bool, e: char) -> String {
    let nd = d.d.len() as i32;
    let mut eprec = prec;
    if eprec > nd && nd >= d.dp {
        eprec = nd;
    }
    if shortest {
        eprec = 6;
    }
    let exp = d.dp - 1;
    if exp < -4 || exp >= eprec {
        let p = prec.min(nd);
        return fmt_e(d, p - 1, e);
    }
    let p = if prec > d.dp { nd } else { prec };
    fmt_f(d, (p - d.dp).max(0))
}

/// Go's `strconv.FormatFloat(f, verb, prec, 64)` for verbs e, E, f, F, g, G;
/// `prec` None means shortest.
fn format_float(f: f64, verb: char, prec: Option<usize>) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let neg = f.is_sign_negative();
    let abs = f.abs();
    if verb == 'x' || verb == 'X' {
        return fmt_hex_float(f, verb, prec);
    }
    // Precisions beyond what a float64 can hold only add zeros; bound the
    // work done for absurd precisions.
    let prec = prec.map(|p| p.min(1_000_000));
    match verb {
        'e' | 'E' => match prec {
            None => {
                let d = shortest(f);
                let p = (d.d.len() as i32 - 1).max(0);
                fmt_e(&d, p, verb)
            }
            Some(p) => {
                let d = parse_exp_form(neg, &format!("{:.*e}", p.min(800), abs));
                fmt_e(&d, p as i32, verb)
            }
        },
        'f' | 'F' => match prec {
            None => {
                let d = shortest(f);
                let p = (d.d.len() as i32 - d.dp).max(0);
                fmt_f(&d, p)
            }
            Some(p) => {
                let s = format!("{:.*}", p.min(1100), abs);
                let mut out = String::new();
                if neg {
                    out.push('-');
                }
                out.push_str(&s);
                if p > 1100 {
                    out.extend(std::iter::repeat_n('0', p - 1100));
                }
                out
            }
        },
        _ => {
            let e = if verb == 'G' { 'E' } else { 'e' };
            match prec {
                None => {
                    let d = shortest(f);
                    let nd = d.d.len() as i32;
                    fmt_g(&d, nd, true, e)
                }
                Some(p) => {
                    let p = p.clamp(1, 800);
                    let d = parse_exp_form(neg, &format!("{:.*e}", p - 1, abs));
                    fmt_g(&d, p as i32, false, e)
                }
            }
        }
    }
}

/// strconv's `%x` for floats: `-0x1.yyyyp±dd`.
fn fmt_hex_float(f: f64, verb: char, prec: Option<usize>) -> String {
    const MANT_BITS: u32 = 52;
    let bits = f.to_bits();
    let neg = bits >> 63 != 0;
    let mut exp = ((bits >> MANT_BITS) & 0x7ff) as i64;
    let mut mant = bits & ((1 << MANT_BITS) - 1);
    if exp == 0 {
        exp += 1;
    } else {
        mant |= 1 << MANT_BITS;
    }
    exp -= 1023;
    if mant == 0 {
        exp = 0;
    }
    // Shift digits so the leading 1 (if any) is at bit 60.
    mant <<= 60 - MANT_BITS;
    while mant != 0 && mant & (1 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    let prec = prec.map(|p| p.min(1_000_000));
    if let Some(p) = prec.filter(|&p| p < 15) {
        let shift = (p * 4) as u32;
        let extra = (mant << shift) & ((1 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let hex = if verb == 'X' { UPPER_HEX } else { LOWER_HEX };
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push('0');
    out.push(verb);
    out.push(if (mant >> 60) & 1 == 1 { '1' } else { '0' });
    mant <<= 4;
    match prec {
        None if mant != 0 => {
            out.push('.');
            while mant != 0 {
                out.push(hex[((mant >> 60) & 15) as usize] as char);
                mant <<= 4;
            }
        }
        Some(p) if p > 0 => {
            out.push('.');
            for _ in 0..p {
                out.push(hex[((mant >> 60) & 15) as usize] as char);
                mant <<= 4;
            }
        }
        _ => {}
    }
    out.push(if verb == 'X' { 'P' } else { 'p' });
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
    out
}

/// A float as Go's `%v` prints it.
pub(crate) fn format_float_v(f: f64) -> String {
    format_float(f, 'g', None)
}

// ---------------------------------------------------------------------------
// The printer.

struct Printer {
    out: String,
}

impl Printer {
    fn write_padding(&mut self, n: usize, f: &Flags) {
        let c = if f.zero && !f.minus { '0' } else { ' ' };
        self.out.extend(std::iter::repeat_n(c, n));
    }

    /// Go's `fmt.pad`: pads to the width, counting runes.
    fn pad(&mut self, s: &str, f: &Flags) {
        let Some(w) = f.wid else {
            self.out.push_str(s);
            return;
        };
        let n = s.chars().count();
        if n >= w {
            self.out.push_str(s);
        } else if f.minus {
            self.out.push_str(s);
            self.write_padding(w - n, f);
        } else {
            self.write_padding(w - n, f);
            self.out.push_str(s);
        }
    }

    fn truncate<'s>(s: &'s str, f: &Flags) -> &'s str {
        match f.prec {
            Some(p) => match s.char_indices().nth(p) {
                Some((i, _)) => &s[..i],
                None => s,
            },
            None => s,
        }
    }

    fn bad_verb(&mut self, verb: char, v: &Value<'_>) {
        self.out.push_str("%!");
        self.out.push(verb);
        self.out.push('(');
        if v.is_nil() {
            self.out.push_str("<nil>");
        } else {
            self.out.push_str(v.type_name());
            self.out.push('=');
            self.print_value(v, 'v', &Flags::default(), 0);
        }
        self.out.push(')');
    }

    /// Go's `printArg`/`printValue`.
    fn print_value(&mut self, v: &Value<'_>, verb: char, f: &Flags, depth: usize) {
        if depth > MAX_VALUE_DEPTH {
            self.out.push_str("...");
            return;
        }
        if verb == 'T' {
            let t = if v.is_nil() { "<nil>" } else { v.type_name() };
            self.pad(t, f);
            return;
        }
        match v {
            Value::Missing | Value::Nil => {
                if depth > 0 {
                    if f.sharp_v {
                        self.out.push_str("interface {}(nil)");
                    } else {
                        self.out.push_str("<nil>");
                    }
                } else if verb == 'v' {
                    self.pad("<nil>", f);
                } else {
                    self.bad_verb(verb, v);
                }
            }
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { "true" } else { "false" }, f),
                _ => self.bad_verb(verb, v),
            },
            Value::Int(i) => self.fmt_integer(i.unsigned_abs(), *i < 0, verb, f, v),
            Value::Uint(u) => self.fmt_integer(*u, false, verb, f, v),
            Value::Float(x) => self.fmt_float(*x, verb, f, v),
            Value::Str(s) => self.fmt_string(s, verb, f, v),
            Value::Array(_) | Value::List(_) => {
                let n = v.list_len().unwrap_or(0);
                if f.sharp_v {
                    self.out.push_str(v.type_name());
                    self.out.push('{');
                } else {
                    self.out.push('[');
                }
                for i in 0..n {
                    if i > 0 {
                        self.out.push_str(if f.sharp_v { ", " } else { " " });
                    }
                    if let Some(e) = v.list_get(i) {
                        self.print_value(&e, verb, f, depth + 1);
                    }
                }
                self.out.push(if f.sharp_v { '}' } else { ']' });
            }
            Value::Object(m) => {
                if f.sharp_v {
                    self.out.push_str(v.type_name());
                    self.out.push('{');
                } else {
                    self.out.push_str("map[");
                }
                for (i, (k, e)) in sorted_entries(m).into_iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(if f.sharp_v { ", " } else { " " });
                    }
                    let key = Value::Str(k.as_str().into());
                    self.print_value(&key, verb, f, depth + 1);
                    self.out.push(':');
                    self.print_value(&Value::from_json(e), verb, f, depth + 1);
                }
                self.out.push(if f.sharp_v { '}' } else { ']' });
            }
        }
    }

    fn fmt_string(&mut self, s: &str, verb: char, f: &Flags, v: &Value<'_>) {
        match verb {
            'v' if f.sharp_v => self.fmt_q(s, f),
            'v' | 's' => self.pad(Self::truncate(s, f), f),
            'x' => self.fmt_sx(s, LOWER_HEX, 'x', f),
            'X' => self.fmt_sx(s, UPPER_HEX, 'X', f),
            'q' => self.fmt_q(s, f),
            _ => self.bad_verb(verb, v),
        }
    }

    fn fmt_q(&mut self, s: &str, f: &Flags) {
        let s = Self::truncate(s, f);
        if f.sharp && can_backquote(s) {
            self.pad(&format!("`{s}`"), f);
        } else {
            self.pad(&quote_with(s, '"', f.plus), f);
        }
    }

    fn fmt_sx(&mut self, s: &str, digits: &[u8; 16], x: char, f: &Flags) {
        let b = s.as_bytes();
        let mut length = b.len();
        if let Some(p) = f.prec {
            length = length.min(p);
        }
        let mut width = 2 * length;
        if width > 0 {
            if f.space {
                if f.sharp {
                    width *= 2;
                }
                width += length - 1;
            } else if f.sharp {
                width += 2;
            }
        } else {
            if let Some(w) = f.wid {
                self.write_padding(w, f);
            }
            return;
        }
        let wid = f.wid.unwrap_or(0);
        if wid > width && !f.minus {
            self.write_padding(wid - width, f);
        }
        if f.sharp {
            self.out.push('0');
            self.out.push(x);
        }
        for (i, &c) in b[..length].iter().enumerate() {
            if f.space && i > 0 {
                self.out.push(' ');
                if f.sharp {
                    self.out.push('0');
                    self.out.push(x);
                }
            }
            self.out.push(digits[(c >> 4) as usize] as char);
            self.out.push(digits[(c & 0xF) as usize] as char);
        }
        if wid > width && f.minus {
            self.write_padding(wid - width, f);
        }
    }

    fn fmt_integer(&mut self, u: u64, neg: bool, verb: char, f: &Flags, v: &Value<'_>) {
        let (base, digits): (u64, &[u8; 16]) = match verb {
            'v' | 'd' => (10, LOWER_HEX),
            'b' => (2, LOWER_HEX),
            'o' | 'O' => (8, LOWER_HEX),
            'x' => (16, LOWER_HEX),
            'X' => (16, UPPER_HEX),
            'c' => {
                let c =
                    if neg { '\u{FFFD}' } else { u32::try_from(u).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}') };
                self.pad(&c.to_string(), f);
                return;
            }
            'q' => {
                let c =
                    if neg { '\u{FFFD}' } else { u32::try_from(u).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}') };
                self.pad(&quote_rune(c, f.plus), f);
                return;
            }
            'U' => {
                let mut s = format!("U+{u:04X}");
                if f.sharp && !neg {
                    if let Some(c) = u32::try_from(u).ok().and_then(char::from_u32) {
                        if is_print(c) {
                            s.push_str(&format!(" '{c}'"));
                        }
                    }
                }
                let s = if neg { format!("U+-{u:04X}") } else { s };
                self.pad(&s, f);
                return;
            }
            _ => {
                self.bad_verb(verb, v);
                return;
            }
        };
        let mut prec = 0usize;
        if let Some(p) = f.prec {
            prec = p;
            if p == 0 && u == 0 {
                let mut g = *f;
                g.zero = false;
                if let Some(w) = f.wid {
                    self.write_padding(w, &g);
                }
                return;
            }
        } else if f.zero && !f.minus {
            if let Some(w) = f.wid {
                prec = w;
                if neg || f.plus || f.space {
                    prec = prec.saturating_sub(1);
                }
            }
        }
        let mut rev: Vec<u8> = Vec::new();
        let mut n = u;
        loop {
            rev.push(digits[(n % base) as usize]);
            n /= base;
            if n == 0 {
                break;
            }
        }
        while rev.len() < prec {
            rev.push(b'0');
        }
        if f.sharp {
            match base {
                2 => rev.extend_from_slice(b"b0"),
                8 if rev.last() != Some(&b'0') => rev.push(b'0'),
                16 => {
                    rev.push(if verb == 'X' { b'X' } else { b'x' });
                    rev.push(b'0');
                }
                _ => {}
            }
        }
        if verb == 'O' {
            rev.extend_from_slice(b"o0");
        }
        if neg {
            rev.push(b'-');
        } else if f.plus {
            rev.push(b'+');
        } else if f.space {
            rev.push(b' ');
        }
        rev.reverse();
        let s = String::from_utf8_lossy(&rev).into_owned();
        let mut g = *f;
        g.zero = false;
        self.pad(&s, &g);
    }

    fn fmt_float(&mut self, x: f64, verb: char, f: &Flags, v: &Value<'_>) {
        let (fverb, default_prec) = match verb {
            'v' => ('g', None),
            'g' | 'G' | 'x' | 'X' => (verb, None),
            'e' | 'E' | 'f' | 'F' => (verb, Some(6)),
            _ => {
                self.bad_verb(verb, v);
                return;
            }
        };
        let prec = f.prec.or(default_prec);
        let mut num = format_float(x, fverb, prec);
        if !num.starts_with(['-', '+']) {
            num.insert(0, '+');
        }
        if f.space && num.starts_with('+') && !f.plus {
            num.replace_range(0..1, " ");
        }
        let special = num[1..].starts_with(['I', 'N']);
        if special {
            let mut g = *f;
            g.zero = false;
            if num[1..].starts_with('N') && !f.space && !f.plus {
                num.remove(0);
            }
            self.pad(&num, &g);
            return;
        }
        if f.sharp && verb != 'b' {
            num = sharp_float(&num, fverb, prec);
        }
        if f.plus || !num.starts_with('+') {
            let len = num.chars().count();
            if f.zero && !f.minus {
                if let Some(w) = f.wid {
                    if w > len {
                        let (sign, rest) = num.split_at(1);
                        self.out.push_str(sign);
                        self.write_padding(w - len, f);
                        self.out.push_str(rest);
                        return;
                    }
                }
            }
            self.pad(&num, f);
            return;
        }
        self.pad(&num[1..], f);
    }
}

/// The `#` flag on floats: always print a decimal point; for %g keep
/// trailing zeros up to the precision.
fn sharp_float(num: &str, verb: char, prec: Option<usize>) -> String {
    let (body, tail) = match num.find(['e', 'E']) {
        Some(i) => num.split_at(i),
        None => (num, ""),
    };
    let mut body = body.to_string();
    if !body.contains('.') {
        body.push('.');
    }
    if matches!(verb, 'g' | 'G') {
        let want = match prec {
            Some(p) => p.max(1),
            None => 6,
        };
        let sig = body.bytes().skip_while(|b| !b.is_ascii_digit() || *b == b'0').filter(u8::is_ascii_digit).count();
        let digits_total = body.bytes().filter(u8::is_ascii_digit).count();
        let have = if sig == 0 { digits_total } else { sig };
        if have < want {
            body.extend(std::iter::repeat_n('0', want - have));
        }
    }
    body + tail
}

fn parse_num(s: &[u8], mut i: usize) -> (Option<usize>, usize) {
    let mut num: usize = 0;
    let mut is_num = false;
    while i < s.len() && s[i].is_ascii_digit() {
        if num > 1_000_000 {
            return (None, s.len());
        }
        num = num * 10 + (s[i] - b'0') as usize;
        is_num = true;
        i += 1;
    }
    (if is_num { Some(num) } else { None }, i)
}

/// Go's `fmt.Sprintf`.
pub(crate) fn sprintf(format: &str, args: &[Value<'_>]) -> String {
    let mut p = Printer { out: String::new() };
    let s = format.as_bytes();
    let end = s.len();
    let mut arg_num = 0usize;
    let mut reordered = false;
    let mut i = 0usize;
    while i < end {
        let lasti = i;
        while i < end && s[i] != b'%' {
            i += 1;
        }
        if i > lasti {
            p.out.push_str(&format[lasti..i]);
        }
        if i >= end {
            break;
        }
        i += 1; // skip '%'
        let mut f = Flags::default();
        let mut good_arg_num = true;
        while i < end {
            match s[i] {
                b'#' => f.sharp = true,
                b'0' => f.zero = !f.minus,
                b'+' => f.plus = true,
                b'-' => {
                    f.minus = true;
                    f.zero = false;
                }
                b' ' => f.space = true,
                _ => break,
            }
            i += 1;
        }
        // Argument index, e.g. %[2]d.
        let mut after_index;
        (arg_num, i, after_index) = arg_number(arg_num, s, i, args.len(), &mut reordered, &mut good_arg_num);
        // Width.
        if i < end && s[i] == b'*' {
            i += 1;
            match int_from_arg(args, &mut arg_num) {
                Some(w) => {
                    if w < 0 {
                        f.minus = true;
                        f.zero = false;
                    }
                    f.wid = usize::try_from(w.unsigned_abs()).ok();
                }
                None => p.out.push_str("%!(BADWIDTH)"),
            }
            after_index = false;
        } else {
            let (w, ni) = parse_num(s, i);
            f.wid = w;
            i = ni;
            if after_index && f.wid.is_some() {
                good_arg_num = false;
            }
        }
        // Precision.
        if i + 1 < end && s[i] == b'.' {
            i += 1;
            if after_index {
                good_arg_num = false;
            }
            (arg_num, i, after_index) = arg_number(arg_num, s, i, args.len(), &mut reordered, &mut good_arg_num);
            if i < end && s[i] == b'*' {
                i += 1;
                match int_from_arg(args, &mut arg_num) {
                    Some(pr) if pr >= 0 => f.prec = usize::try_from(pr).ok(),
                    _ => {
                        f.prec = None;
                        p.out.push_str("%!(BADPREC)");
                    }
                }
                after_index = false;
            } else {
                let (pr, ni) = parse_num(s, i);
                f.prec = Some(pr.unwrap_or(0));
                i = ni;
            }
        }
        if !after_index {
            (arg_num, i, _) = arg_number(arg_num, s, i, args.len(), &mut reordered, &mut good_arg_num);
        }
        if i >= end {
            p.out.push_str("%!(NOVERB)");
            break;
        }
        let verb = format[i..].chars().next().unwrap_or('?');
        i += verb.len_utf8();
        if verb == '%' {
            p.out.push('%');
            continue;
        }
        if !good_arg_num {
            p.out.push_str(&format!("%!{verb}(BADINDEX)"));
            continue;
        }
        let Some(arg) = args.get(arg_num) else {
            p.out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        if verb == 'v' {
            f.sharp_v = f.sharp;
            f.sharp = false;
            f.plus = false;
        }
        p.print_value(arg, verb, &f, 0);
        arg_num += 1;
    }
    if !reordered && arg_num < args.len() {
        p.out.push_str("%!(EXTRA ");
        for (k, a) in args[arg_num..].iter().enumerate() {
            if k > 0 {
                p.out.push_str(", ");
            }
            if a.is_nil() {
                p.out.push_str("<nil>");
            } else {
                p.out.push_str(a.type_name());
                p.out.push('=');
                p.print_value(a, 'v', &Flags::default(), 0);
            }
        }
        p.out.push(')');
    }
    p.out
}

/// Parses an optional `[n]` argument index at `i`.
fn arg_number(
    arg_num: usize,
    s: &[u8],
    i: usize,
    num_args: usize,
    reordered: &mut bool,
    good: &mut bool,
) -> (usize, usize, bool) {
    if i >= s.len() || s[i] != b'[' {
        return (arg_num, i, false);
    }
    *reordered = true;
    let rest = &s[i..];
    let close = rest.iter().skip(1).position(|&c| c == b']').map(|p| p + 1);
    let (Some(j), true) = (close, rest.len() >= 3) else {
        *good = false;
        return (arg_num, i + 1, false);
    };
    match parse_num(&rest[..j], 1) {
        (Some(n), ni) if ni == j => {
            if n >= 1 && n - 1 < num_args {
                (n - 1, i + j + 1, true)
            } else {
                *good = false;
                (arg_num, i + j + 1, true)
            }
        }
        _ => {
            *good = false;
            (arg_num, i + j + 1, false)
        }
    }
}

fn int_from_arg(args: &[Value<'_>], arg_num: &mut usize) -> Option<i64> {
    let a = args.get(*arg_num)?;
    *arg_num += 1;
    match a {
        Value::Int(i) if i.unsigned_abs() <= 1_000_000 => Some(*i),
        Value::Uint(u) if *u <= 1_000_000 => i64::try_from(*u).ok(),
        _ => None,
    }
}

/// Go's `fmt.Sprint`: spaces between operands when neither is a string.
pub(crate) fn sprint(args: &[Value<'_>]) -> String {
    let mut p = Printer { out: String::new() };
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::Str(_));
        if i > 0 && !is_string && !prev_string {
            p.out.push(' ');
        }
        p.print_value(a, 'v', &Flags::default(), 0);
        prev_string = is_string;
    }
    p.out
}

/// Go's `fmt.Sprintln`: spaces between all operands, newline at the end.
pub(crate) fn sprintln(args: &[Value<'_>]) -> String {
    let mut p = Printer { out: String::new() };
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            p.out.push(' ');
        }
        p.print_value(a, 'v', &Flags::default(), 0);
    }
    p.out.push('\n');
    p.out
}

/// Appends `v` as the template engine prints an action's value.
pub(crate) fn print_action_value(out: &mut String, v: &Value<'_>) {
    if matches!(v, Value::Missing) {
        out.push_str("<no value>");
        return;
    }
    if let Value::Str(s) = v {
        out.push_str(s);
        return;
    }
    let mut p = Printer { out: std::mem::take(out) };
    p.print_value(v, 'v', &Flags::default(), 0);
    *out = p.out;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: f64) -> Value<'static> {
        Value::Float(x)
    }

    #[test]
    fn floats_v() {
        let cases = [
            (1.5, "1.5"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.0, "0"),
            (-2.25, "-2.25"),
            (1e100, "1e+100"),
            (f64::INFINITY, "+Inf"),
            (f64::NAN, "NaN"),
        ];
        for (x, want) in cases {
            assert_eq!(sprint(&[f(x)]), want, "{x}");
        }
    }

    #[test]
    fn printf_verbs() {
        let s = |x: &str| Value::string(x);
        let cases: Vec<(&str, Vec<Value<'static>>, &str)> = vec![
            ("%d", vec![Value::Int(42)], "42"),
            ("%5d|%-5d|%05d", vec![Value::Int(42), Value::Int(42), Value::Int(-42)], "   42|42   |-0042"),
            (
                "%x %X %o %b %#x",
                vec![Value::Int(255), Value::Int(255), Value::Int(8), Value::Int(5), Value::Int(255)],
                "ff FF 10 101 0xff",
            ),
            ("%+d % d", vec![Value::Int(3), Value::Int(3)], "+3  3"),
            ("%s|%10s|%-10s|%.2s", vec![s("abc"), s("abc"), s("abc"), s("abc")], "abc|       abc|abc       |ab"),
            ("%q", vec![s("a\"b\n")], "\"a\\\"b\\n\""),
            ("%#q", vec![s("ab")], "`ab`"),
            ("%x % x", vec![s("hi"), s("hi")], "6869 68 69"),
            ("%t", vec![Value::Bool(true)], "true"),
            (
                "%f|%.2f|%8.3f|%e|%g",
                vec![f(1.23456), f(1.23456), f(1.23456), f(1234.5678), f(0.000012345)],
                "1.234560|1.23|   1.235|1.234568e+03|1.2345e-05",
            ),
            ("%.3g|%g|%G", vec![f(1.0), f(100000.0), f(1e-7)], "1|100000|1E-07"),
            ("%06.2f|%+.1f", vec![f(1.23456), f(2.0)], "001.23|+2.0"),
            (
                "%c|%q|%U|%#U",
                vec![Value::Int(65), Value::Int(97), Value::Int(0x1F600), Value::Int(65)],
                "A|'a'|U+1F600|U+0041 'A'",
            ),
            ("%v %v", vec![Value::Nil, Value::Bool(false)], "<nil> false"),
            ("%d", vec![s("x")], "%!d(string=x)"),
            ("%s", vec![Value::Int(1)], "%!s(int=1)"),
            ("%d", vec![Value::Nil], "%!d(<nil>)"),
            ("%d %d", vec![Value::Int(1)], "1 %!d(MISSING)"),
            ("%d", vec![Value::Int(1), s("x")], "1%!(EXTRA string=x)"),
            ("100%%", vec![], "100%"),
            ("%", vec![], "%!(NOVERB)"),
            ("%z", vec![Value::Int(1)], "%!z(int=1)"),
            ("%[2]d %[1]d", vec![Value::Int(1), Value::Int(2)], "2 1"),
            ("%*d|%-*d", vec![Value::Int(4), Value::Int(7), Value::Int(3), Value::Int(7)], "   7|7  "),
            ("%.*f", vec![Value::Int(1), f(2.25)], "2.2"),
            ("%T %T %T", vec![s("a"), Value::Int(1), f(1.0)], "string int float64"),
            ("%.0f %.0f", vec![f(0.5), f(1.5)], "0 2"),
            (
                "%x|%X|%.1x|%x|%x",
                vec![f(3.5), f(-1.0), f(1.0 / 3.0), f(0.0), f(1e-320)],
                "0x1.cp+01|-0X1P+00|0x1.5p-02|0x0p+00|0x1.fap-1064",
            ),
        ];
        for (fmt, args, want) in cases {
            assert_eq!(sprintf(fmt, &args), want, "format {fmt:?}");
        }
    }

    #[test]
    fn sprint_spacing() {
        let s = |x: &str| Value::string(x);
        assert_eq!(sprint(&[Value::Int(1), Value::Int(2)]), "1 2");
        assert_eq!(sprint(&[s("a"), Value::Int(1), s("b")]), "a1b");
        assert_eq!(sprint(&[s("a"), s("b")]), "ab");
        assert_eq!(sprintln(&[s("a"), s("b")]), "a b\n");
    }

    #[test]
    fn quoting() {
        assert_eq!(go_quote("a\tb\u{1}\u{7f}é\u{a0}"), "\"a\\tb\\x01\\x7fé\\u00a0\"");
        assert_eq!(go_quote("\u{10FFFF}"), "\"\\U0010ffff\"");
        assert_eq!(quote_rune('\'', false), "'\\''");
    }
}
