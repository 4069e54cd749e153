//! Template functions: Go's builtins (`and`, `or`, `not`, `len`, `index`,
//! `slice`, `print*`, comparisons, escapers) and the Docker CLI's additions
//! (`json`, `split`, `join`, `title`, `lower`, `upper`, `pad`, `truncate`).
//!
//! `and`/`or` short-circuit and are evaluated by the executor; everything
//! else receives evaluated arguments here.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::rc::Rc;

use crate::format::{is_print, sprint, sprintf, sprintln};
use crate::value::{to_json, Value};

/// Largest string `pad` may build, to keep a hostile template from
/// allocating without bound.
const MAX_PAD: usize = 1 << 24;

/// A template function known at parse time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Func {
    And,
    Or,
    Not,
    Len,
    Index,
    Slice,
    Print,
    Printf,
    Println,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Html,
    Js,
    Urlquery,
    Call,
    Json,
    Split,
    Join,
    Title,
    Lower,
    Upper,
    Pad,
    PadWithSpace,
    Truncate,
}

const TABLE: &[(&str, Func)] = &[
    ("and", Func::And),
    ("or", Func::Or),
    ("not", Func::Not),
    ("len", Func::Len),
    ("index", Func::Index),
    ("slice", Func::Slice),
    ("print", Func::Print),
    ("printf", Func::Printf),
    ("println", Func::Println),
    ("eq", Func::Eq),
    ("ne", Func::Ne),
    ("lt", Func::Lt),
    ("le", Func::Le),
    ("gt", Func::Gt),
    ("ge", Func::Ge),
    ("html", Func::Html),
    ("js", Func::Js),
    ("urlquery", Func::Urlquery),
    ("call", Func::Call),
    ("json", Func::Json),
    ("split", Func::Split),
    ("join", Func::Join),
    ("title", Func::Title),
    ("lower", Func::Lower),
    ("upper", Func::Upper),
    ("pad", Func::Pad),
    ("padWithSpace", Func::PadWithSpace),
    ("truncate", Func::Truncate),
];

impl Func {
    /// Looks a function up by its template name.
    pub(crate) fn lookup(name: &str) -> Option<Func> {
        TABLE.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    /// The template name of the function.
    pub(crate) fn name(self) -> &'static str {
        TABLE.iter().find(|(_, f)| *f == self).map_or("?", |(n, _)| n)
    }

    /// Number of fixed parameters and whether more may follow.
    pub(crate) fn signature(self) -> (usize, bool) {
        match self {
            Func::And | Func::Or | Func::Index | Func::Slice | Func::Printf | Func::Eq => (1, true),
            Func::Call => (1, true),
            Func::Print | Func::Println | Func::Html | Func::Js | Func::Urlquery => (0, true),
            Func::Not | Func::Len | Func::Json | Func::Title | Func::Lower | Func::Upper => (1, false),
            Func::Ne | Func::Lt | Func::Le | Func::Gt | Func::Ge => (2, false),
            Func::Split | Func::Join | Func::Truncate => (2, false),
            Func::Pad | Func::PadWithSpace => (3, false),
        }
    }
}

/// Why a function call failed.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The function itself failed: reported as "error calling NAME: ...".
    Call(String),
    /// Argument number N had the wrong type: reported as is, at that
    /// argument.
    Arg(usize, String),
}

type CResult<T> = Result<T, CallError>;

fn call_err<T>(msg: impl Into<String>) -> CResult<T> {
    Err(CallError::Call(msg.into()))
}

fn arg_str<'v>(args: &'v [Value<'_>], i: usize) -> CResult<&'v str> {
    let msg = match args.get(i) {
        Some(Value::Str(s)) => return Ok(s),
        None | Some(Value::Missing) => "invalid value; expected string".to_string(),
        Some(Value::Nil) => "wrong type for value; expected string; got interface {}".to_string(),
        Some(other) => format!("wrong type for value; expected string; got {}", other.type_name()),
    };
    Err(CallError::Arg(i, msg))
}

fn arg_int(args: &[Value<'_>], i: usize) -> CResult<i64> {
    let msg = match args.get(i) {
        None | Some(Value::Missing) => "invalid value; expected int".to_string(),
        Some(v) => match v.as_int() {
            Some(n) => return Ok(n),
            None => format!("wrong type for value; expected int; got {}", v.type_name()),
        },
    };
    Err(CallError::Arg(i, msg))
}

/// Text of the arguments as Go's `evalArgs`: a lone string as is, otherwise
/// `fmt.Sprint` of all.
fn eval_args(args: &[Value<'_>]) -> String {
    if let [Value::Str(s)] = args {
        return s.to_string();
    }
    sprint(args)
}

/// Calls `f` (anything but `and`/`or`) with evaluated arguments. The
/// executor has already checked the argument count.
pub(crate) fn call<'a>(f: Func, args: Vec<Value<'a>>) -> CResult<Value<'a>> {
    let arg = |i: usize| args.get(i).unwrap_or(&Value::Missing);
    match f {
        Func::And | Func::Or => {
            // Evaluated lazily by the executor; fall back to eager semantics.
            let want = f == Func::Or;
            let mut last = Value::Missing;
            for a in &args {
                if a.truth() == want {
                    return Ok(a.clone());
                }
                last = a.clone();
            }
            Ok(last)
        }
        Func::Not => Ok(Value::Bool(!arg(0).truth())),
        Func::Len => length(arg(0)).map(|n| Value::Int(n as i64)),
        Func::Index => index(arg(0).clone(), &args[1.min(args.len())..]),
        Func::Slice => slice(arg(0), &args[1.min(args.len())..]),
        Func::Print => Ok(Value::string(sprint(&args))),
        Func::Println => Ok(Value::string(sprintln(&args))),
        Func::Printf => {
            let format = arg_str(&args, 0)?;
            Ok(Value::string(sprintf(format, &args[1..])))
        }
        Func::Eq => {
            if args.len() < 2 {
                return call_err("missing argument for comparison");
            }
            eq(arg(0), &args[1..]).map(Value::Bool)
        }
        Func::Ne => eq(arg(0), &args[1..2]).map(|b| Value::Bool(!b)),
        Func::Lt => lt(arg(0), arg(1)).map(Value::Bool),
        Func::Le => le(arg(0), arg(1)).map(Value::Bool),
        Func::Gt => le(arg(0), arg(1)).map(|b| Value::Bool(!b)),
        Func::Ge => lt(arg(0), arg(1)).map(|b| Value::Bool(!b)),
        Func::Html => Ok(Value::string(html_escape(&eval_args(&args)))),
        Func::Js => Ok(Value::string(js_escape(&eval_args(&args)))),
        Func::Urlquery => Ok(Value::string(query_escape(&eval_args(&args)))),
        Func::Call => match arg(0) {
            v if v.is_nil() => call_err("call of nil"),
            v => call_err(format!("non-function of type {}", v.type_name())),
        },
        Func::Json => to_json(arg(0)).map(Value::string).map_err(CallError::Call),
        Func::Split => {
            let s = arg_str(&args, 0)?;
            let sep = arg_str(&args, 1)?;
            Ok(Value::List(Rc::new(split(s, sep))))
        }
        Func::Join => {
            let items = match arg(0) {
                Value::Missing | Value::Nil => Vec::new(),
                v => v.list_items().ok_or_else(|| {
                    CallError::Arg(0, format!("wrong type for value; expected []string; got {}", v.type_name()))
                })?,
            };
            let sep = arg_str(&args, 1)?;
            let parts: Vec<String> = items
                .iter()
                .map(|v| match v {
                    Value::Str(s) => s.to_string(),
                    other => sprint(std::slice::from_ref(other)),
                })
                .collect();
            Ok(Value::string(parts.join(sep)))
        }
        Func::Title => Ok(Value::string(title(arg_str(&args, 0)?))),
        Func::Lower => Ok(Value::string(lower(arg_str(&args, 0)?))),
        Func::Upper => Ok(Value::string(upper(arg_str(&args, 0)?))),
        Func::Pad | Func::PadWithSpace => {
            let s = arg_str(&args, 0)?;
            let left = arg_int(&args, 1)?;
            let right = arg_int(&args, 2)?;
            if s.is_empty() {
                return Ok(Value::string(""));
            }
            let count = |n: i64| -> CResult<usize> {
                // strings.Repeat panics on a negative count.
                let n = usize::try_from(n).map_err(|_| CallError::Call("strings: negative Repeat count".into()))?;
                if n > MAX_PAD {
                    return call_err("pad width too large");
                }
                Ok(n)
            };
            let (l, r) = (count(left)?, count(right)?);
            Ok(Value::string(format!("{}{s}{}", " ".repeat(l), " ".repeat(r))))
        }
        Func::Truncate => {
            let s = arg_str(&args, 0)?;
            let n = arg_int(&args, 1)?;
            let Ok(n) = usize::try_from(n) else {
                return call_err(format!("slice bounds out of range [:{n}]"));
            };
            if s.len() < n {
                return Ok(Value::string(s));
            }
            // Go slices bytes; stay on a character boundary.
            let mut end = n;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            Ok(Value::string(&s[..end]))
        }
    }
}

fn length(v: &Value<'_>) -> CResult<usize> {
    match v {
        Value::Str(s) => Ok(s.len()),
        Value::Array(a) => Ok(a.len()),
        Value::List(l) => Ok(l.len()),
        Value::Object(m) => Ok(m.len()),
        Value::Missing | Value::Nil => call_err("len of nil pointer"),
        other => call_err(format!("len of type {}", other.type_name())),
    }
}

/// Go's `indexArg`: an integer index in `0..=cap`.
fn index_arg(v: &Value<'_>, cap: usize) -> CResult<usize> {
    let x: i128 = match v {
        Value::Int(i) => i128::from(*i),
        Value::Uint(u) => i128::from(*u),
        Value::Missing | Value::Nil => return call_err("cannot index slice/array with nil"),
        other => return call_err(format!("cannot index slice/array with type {}", other.type_name())),
    };
    if x < 0 || x > cap as i128 {
        return call_err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index<'a>(mut item: Value<'a>, indexes: &[Value<'a>]) -> CResult<Value<'a>> {
    if item.is_nil() {
        return call_err("index of untyped nil");
    }
    for idx in indexes {
        item = match &item {
            Value::Str(s) => {
                let x = index_arg(idx, s.len())?;
                match s.as_bytes().get(x) {
                    Some(b) => Value::Uint(u64::from(*b)),
                    None => return call_err(format!("index out of range: {x}")),
                }
            }
            Value::Array(_) | Value::List(_) => {
                let len = item.list_len().unwrap_or(0);
                let x = index_arg(idx, len)?;
                match item.list_get(x) {
                    Some(v) => v,
                    None => return call_err(format!("index out of range: {x}")),
                }
            }
            Value::Object(m) => match idx {
                Value::Str(k) => m.get(k.as_ref()).map_or(Value::Missing, Value::from_json),
                v if v.is_nil() => return call_err("value is nil; should be of type string"),
                v => return call_err(format!("value has type {}; should be string", v.type_name())),
            },
            Value::Missing | Value::Nil => return call_err("index of nil pointer"),
            other => return call_err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn slice<'a>(item: &Value<'a>, indexes: &[Value<'a>]) -> CResult<Value<'a>> {
    if item.is_nil() {
        return call_err("slice of untyped nil");
    }
    if indexes.len() > 3 {
        return call_err(format!("too many slice indexes: {}", indexes.len()));
    }
    let len = match item {
        Value::Str(s) => {
            if indexes.len() == 3 {
                return call_err("cannot 3-index slice a string");
            }
            s.len()
        }
        Value::Array(_) | Value::List(_) => item.list_len().unwrap_or(0),
        other => return call_err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut idx = [0, len, len];
    for (i, v) in indexes.iter().enumerate() {
        idx[i] = index_arg(v, len)?;
    }
    if idx[0] > idx[1] {
        return call_err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return call_err(format!("invalid slice index: {} > {}", idx[1], idx[2]));
    }
    let (i, j) = (idx[0], idx[1]);
    Ok(match item {
        Value::Str(Cow::Borrowed(b)) => {
            let b: &'a str = b;
            match b.get(i..j) {
                Some(sub) => Value::Str(Cow::Borrowed(sub)),
                None => Value::string(String::from_utf8_lossy(&b.as_bytes()[i..j]).into_owned()),
            }
        }
        Value::Str(s) => Value::string(String::from_utf8_lossy(&s.as_bytes()[i..j]).into_owned()),
        Value::Array(a) => Value::Array(&a[i..j]),
        Value::List(l) => Value::List(Rc::new(l[i..j].to_vec())),
        _ => Value::Missing,
    })
}

// ---------------------------------------------------------------------------
// Comparisons.

/// Numeric view of a value for comparisons.
enum Num {
    I(i64),
    U(u64),
    F(f64),
}

fn num(v: &Value<'_>) -> Option<Num> {
    match v {
        Value::Int(i) => Some(Num::I(*i)),
        Value::Uint(u) => Some(Num::U(*u)),
        Value::Float(f) => Some(Num::F(*f)),
        _ => None,
    }
}

fn num_cmp(a: &Num, b: &Num) -> Option<Ordering> {
    match (a, b) {
        (Num::I(x), Num::I(y)) => Some(x.cmp(y)),
        (Num::U(x), Num::U(y)) => Some(x.cmp(y)),
        (Num::I(x), Num::U(y)) => Some(i128::from(*x).cmp(&i128::from(*y))),
        (Num::U(x), Num::I(y)) => Some(i128::from(*x).cmp(&i128::from(*y))),
        (Num::F(x), Num::F(y)) => x.partial_cmp(y),
        (Num::F(x), Num::I(y)) => x.partial_cmp(&(*y as f64)),
        (Num::F(x), Num::U(y)) => x.partial_cmp(&(*y as f64)),
        (Num::I(x), Num::F(y)) => (*x as f64).partial_cmp(y),
        (Num::U(x), Num::F(y)) => (*x as f64).partial_cmp(y),
    }
}

fn is_composite(v: &Value<'_>) -> bool {
    matches!(v, Value::Array(_) | Value::List(_) | Value::Object(_))
}

fn incompatible<T>(a: &Value<'_>, b: &Value<'_>) -> CResult<T> {
    call_err(format!("incompatible types for comparison: {} and {}", a.type_name(), b.type_name()))
}

/// `eq a b c...`: a == b || a == c || ... Integers and floats compare by
/// numeric value (Go would reject int vs float64).
fn eq(a: &Value<'_>, bs: &[Value<'_>]) -> CResult<bool> {
    for b in bs {
        let truth = match (a, b) {
            (x, y) if x.is_nil() || y.is_nil() => x.is_nil() && y.is_nil(),
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Str(x), Value::Str(y)) => x == y,
            (x, y) if is_composite(x) || is_composite(y) => {
                if is_composite(x) && is_composite(y) {
                    return call_err(format!(
                        "non-comparable type {}: {}",
                        sprint(std::slice::from_ref(y)),
                        y.type_name()
                    ));
                }
                return incompatible(x, y);
            }
            (x, y) => match (num(x), num(y)) {
                (Some(p), Some(q)) => num_cmp(&p, &q) == Some(Ordering::Equal),
                _ => return incompatible(x, y),
            },
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn lt(a: &Value<'_>, b: &Value<'_>) -> CResult<bool> {
    let basic =
        |v: &Value<'_>| matches!(v, Value::Bool(_) | Value::Int(_) | Value::Uint(_) | Value::Float(_) | Value::Str(_));
    if !basic(a) || !basic(b) {
        return call_err("invalid type for comparison");
    }
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Ok(x < y),
        (Value::Bool(_), Value::Bool(_)) => call_err("invalid type for comparison"),
        (x, y) => match (num(x), num(y)) {
            (Some(p), Some(q)) => Ok(num_cmp(&p, &q) == Some(Ordering::Less)),
            _ => incompatible(x, y),
        },
    }
}

fn le(a: &Value<'_>, b: &Value<'_>) -> CResult<bool> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}

// ---------------------------------------------------------------------------
// Strings.

/// Go's `strings.Split`.
fn split<'a>(s: &str, sep: &str) -> Vec<Value<'a>> {
    if sep.is_empty() {
        return s.chars().map(|c| Value::string(c.to_string())).collect();
    }
    s.split(sep).map(Value::string).collect()
}

/// Maps each character with a single-character case mapping, like Go's
/// rune-wise `unicode.ToUpper`/`ToLower`.
fn map_chars(s: &str, f: impl Fn(char) -> Option<char>) -> String {
    s.chars().map(|c| f(c).unwrap_or(c)).collect()
}

fn single<I: Iterator<Item = char>>(mut it: I) -> Option<char> {
    let c = it.next()?;
    it.next().is_none().then_some(c)
}

fn upper(s: &str) -> String {
    map_chars(s, |c| single(c.to_uppercase()))
}

fn lower(s: &str) -> String {
    map_chars(s, |c| c.to_lowercase().next())
}

/// Go's `strings.Title`: upper-cases the first letter of each word.
fn title(s: &str) -> String {
    let is_separator = |c: char| {
        if c.is_ascii() {
            return !(c.is_ascii_alphanumeric() || c == '_');
        }
        if c.is_alphabetic() || c.is_numeric() {
            return false;
        }
        c.is_whitespace()
    };
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_separator(prev) { single(c.to_uppercase()).unwrap_or(c) } else { c };
            prev = c;
            out
        })
        .collect()
}

/// Go's `template.HTMLEscapeString`.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u00{:02X}", c as u32)),
            c if c.is_ascii() || is_print(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_round_trip() {
        for (name, f) in TABLE {
            assert_eq!(Func::lookup(name), Some(*f));
            assert_eq!(f.name(), *name);
        }
        assert_eq!(Func::lookup("nope"), None);
    }

    #[test]
    fn escapers() {
        assert_eq!(
            html_escape("<a href=\"x\">'&'</a>\0"),
            "&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;&lt;/a&gt;\u{FFFD}"
        );
        assert_eq!(js_escape("a'b\"c<d>&=\\\n\u{2028}é"), "a\\'b\\\"c\\u003Cd\\u003E\\u0026\\u003D\\\\\\u000A\\u2028é");
        assert_eq!(query_escape("a b&c=d/é~"), "a+b%26c%3Dd%2F%C3%A9~");
    }

    #[test]
    fn strings() {
        assert_eq!(title("hello wide_world-foo"), "Hello Wide_world-Foo");
        assert_eq!(upper("straße"), "STRAßE");
        assert_eq!(lower("ÀB"), "àb");
        let parts: Vec<String> = split("a,b,,c", ",").iter().map(|v| sprint(std::slice::from_ref(v))).collect();
        assert_eq!(parts, vec!["a", "b", "", "c"]);
        assert_eq!(split("", ",").len(), 1);
        assert_eq!(split("ab", "").len(), 2);
    }
}
