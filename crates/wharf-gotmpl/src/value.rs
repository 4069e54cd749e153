//! Runtime values of the template evaluator.
//!
//! Data comes in as a borrowed [`serde_json::Value`]; results of functions
//! (for example `split`) are owned. Go distinguishes an *invalid* value (a
//! missing map key, printed as `<no value>`) from a nil interface (JSON
//! `null`, printed as `<nil>`), and integers from floats; [`Value`] keeps
//! those distinctions.

use std::borrow::Cow;
use std::rc::Rc;

use serde_json::{Map, Value as Json};

/// Maximum nesting of a value that printing and JSON encoding descend into.
pub(crate) const MAX_VALUE_DEPTH: usize = 100;

/// A value during template execution.
#[derive(Clone, Debug)]
pub(crate) enum Value<'a> {
    /// Go's invalid `reflect.Value`: the result of a missing map key.
    Missing,
    /// A nil interface: JSON `null` or the `nil` literal.
    Nil,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(Cow<'a, str>),
    /// A (sub)slice of a JSON array in the data.
    Array(&'a [Json]),
    /// A JSON object in the data.
    Object(&'a Map<String, Json>),
    /// An owned list produced by a function.
    List(Rc<Vec<Value<'a>>>),
}

impl<'a> Value<'a> {
    /// Wraps a JSON value from the data without copying.
    pub(crate) fn from_json(j: &'a Json) -> Value<'a> {
        match j {
            Json::Null => Value::Nil,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Value::Uint(u)
                } else {
                    Value::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Json::String(s) => Value::Str(Cow::Borrowed(s.as_str())),
            Json::Array(a) => Value::Array(a.as_slice()),
            Json::Object(m) => Value::Object(m),
        }
    }

    /// Builds an owned string value.
    pub(crate) fn string(s: impl Into<String>) -> Value<'a> {
        Value::Str(Cow::Owned(s.into()))
    }

    /// Go's truthiness (`isTrue`): false, 0, nil, and empty
    /// strings/arrays/maps are false.
    pub(crate) fn truth(&self) -> bool {
        match self {
            Value::Missing | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Uint(u) => *u != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(m) => !m.is_empty(),
            Value::List(l) => !l.is_empty(),
        }
    }

    /// True for the two nil-like values.
    pub(crate) fn is_nil(&self) -> bool {
        matches!(self, Value::Missing | Value::Nil)
    }

    /// The Go type name of the value as Go would see decoded JSON.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Missing | Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Uint(_) => "uint",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::Array(_) => "[]interface {}",
            Value::Object(_) => "map[string]interface {}",
            Value::List(l) => {
                if l.iter().all(|v| matches!(v, Value::Str(_))) {
                    "[]string"
                } else {
                    "[]interface {}"
                }
            }
        }
    }

    /// Number of elements of a list-like value.
    pub(crate) fn list_len(&self) -> Option<usize> {
        match self {
            Value::Array(a) => Some(a.len()),
            Value::List(l) => Some(l.len()),
            _ => None,
        }
    }

    /// Element `i` of a list-like value.
    pub(crate) fn list_get(&self, i: usize) -> Option<Value<'a>> {
        match self {
            Value::Array(a) => a.get(i).map(Value::from_json),
            Value::List(l) => l.get(i).cloned(),
            _ => None,
        }
    }

    /// All elements of a list-like value.
    pub(crate) fn list_items(&self) -> Option<Vec<Value<'a>>> {
        match self {
            Value::Array(a) => Some(a.iter().map(Value::from_json).collect()),
            Value::List(l) => Some(l.as_ref().clone()),
            _ => None,
        }
    }

    /// Integer value usable as an index or count, if the value is integral.
    pub(crate) fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Uint(u) => i64::try_from(*u).ok(),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Some(*f as i64),
            _ => None,
        }
    }
}

/// The entries of a JSON object sorted by key, as Go sorts map keys.
pub(crate) fn sorted_entries(m: &Map<String, Json>) -> Vec<(&String, &Json)> {
    let mut v: Vec<(&String, &Json)> = m.iter().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

/// Encodes `v` as JSON the way Docker's `json` template function does
/// (Go's `json.Encoder` with HTML escaping disabled, trailing newline
/// removed). Object keys are sorted, as Go sorts map keys, whatever the
/// iteration order of the map (serde_json's `preserve_order` feature).
pub(crate) fn to_json(v: &Value<'_>) -> Result<String, String> {
    let mut out = String::new();
    match v {
        Value::Missing | Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Uint(u) => out.push_str(&u.to_string()),
        Value::Float(f) => json_float(&mut out, *f)?,
        Value::Str(s) => json_string(&mut out, s),
        Value::Array(a) => json_array(&mut out, a, 0)?,
        Value::Object(m) => json_object(&mut out, m, 0)?,
        Value::List(l) => {
            out.push('[');
            for (i, e) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&to_json(e)?);
            }
            out.push(']');
        }
    }
    Ok(out)
}

fn json_value(out: &mut String, j: &Json, depth: usize) -> Result<(), String> {
    if depth > MAX_VALUE_DEPTH {
        return Err("json: value nested too deeply".into());
    }
    match j {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else {
                json_float(out, n.as_f64().unwrap_or(f64::NAN))?;
            }
        }
        Json::String(s) => json_string(out, s),
        Json::Array(a) => json_array(out, a, depth)?,
        Json::Object(m) => json_object(out, m, depth)?,
    }
    Ok(())
}

fn json_array(out: &mut String, a: &[Json], depth: usize) -> Result<(), String> {
    out.push('[');
    for (i, e) in a.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_value(out, e, depth + 1)?;
    }
    out.push(']');
    Ok(())
}

fn json_object(out: &mut String, m: &Map<String, Json>, depth: usize) -> Result<(), String> {
    out.push('{');
    for (i, (k, v)) in sorted_entries(m).into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(out, k);
        out.push(':');
        json_value(out, v, depth + 1)?;
    }
    out.push('}');
    Ok(())
}

/// Go's `encoding/json` float format: shortest representation, exponent
/// form outside [1e-6, 1e21).
fn json_float(out: &mut String, f: f64) -> Result<(), String> {
    if !f.is_finite() {
        return Err(format!("json: unsupported value: {}", crate::format::format_float_v(f)));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let (neg, digits, exp) = crate::format::shortest_digits(f);
        if neg {
            out.push('-');
        }
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        let e = exp - 1;
        if e < 0 {
            out.push('-');
        } else {
            out.push('+');
        }
        let ae = e.unsigned_abs();
        if ae < 10 && e >= 0 {
            out.push('0');
        }
        out.push_str(&ae.to_string());
    } else {
        // Rust's Display is the shortest round-trip form without exponent.
        out.push_str(&format!("{f}"));
    }
    Ok(())
}

/// Go's JSON string encoding with `SetEscapeHTML(false)`.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn truthiness() {
        let data = json!([null, false, 0, 0.0, "", [], {}, true, 1, "a", [1], {"a": 1}]);
        let arr = data.as_array().cloned().unwrap_or_default();
        let truths: Vec<bool> = arr.iter().map(|j| Value::from_json(j).truth()).collect();
        assert_eq!(truths, vec![false, false, false, false, false, false, false, true, true, true, true, true]);
        assert!(!Value::Missing.truth());
    }

    #[test]
    fn json_encoding() {
        let data = json!({"b": [1, 2.5, "x<y>&\"\n\u{1}"], "a": null, "c": 1e22, "d": 1e-7});
        assert_eq!(
            to_json(&Value::from_json(&data)).as_deref(),
            Ok(r#"{"a":null,"b":[1,2.5,"x<y>&\"\n\u0001"],"c":1e+22,"d":1e-7}"#)
        );
    }
}
