//! `-f/--filter key=value` flags, collected into the `filters` query parameter as the
//! docker CLI sends it: a JSON object of key → `{"value": true}` maps.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Docker's `filters.Args`: key → set of values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Filters {
    args: BTreeMap<String, BTreeMap<String, bool>>,
}

impl Filters {
    /// Parses repeated `key=value` flags (docker's `filters.ParseFlag`): the key is
    /// lower-cased and both sides are trimmed.
    pub(crate) fn parse<S: AsRef<str>>(flags: &[S]) -> Result<Filters, String> {
        let mut f = Filters::default();
        for flag in flags {
            let arg = flag.as_ref();
            if arg.is_empty() {
                continue;
            }
            let Some((name, value)) = arg.split_once('=') else {
                return Err(format!(
                    "invalid argument {arg:?} for \"-f, --filter\" flag: bad format of filter (expected name=value)"
                ));
            };
            f.add(&name.trim().to_lowercase(), value.trim());
        }
        Ok(f)
    }

    /// Adds one value for `key`.
    pub(crate) fn add(&mut self, key: &str, value: &str) {
        self.args.entry(key.to_string()).or_default().insert(value.to_string(), true);
    }

    /// True when no filter is set.
    pub(crate) fn is_empty(&self) -> bool {
        self.args.is_empty()
    }

    /// The JSON the docker CLI sends (`filters.ToJSON`): `{"key":{"value":true}}`.
    pub(crate) fn to_json(&self) -> String {
        let mut m = Map::new();
        for (k, vals) in &self.args {
            let inner: Map<String, Value> = vals.iter().map(|(v, b)| (v.clone(), Value::Bool(*b))).collect();
            m.insert(k.clone(), Value::Object(inner));
        }
        Value::Object(m).to_string()
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay as they are).
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_serialize() {
        let f = Filters::parse(&["type=container", " Event = start", "event=die", "label=a=b", ""]).expect("parse");
        assert_eq!(
            f.to_json(),
            r#"{"event":{"die":true,"start":true},"label":{"a=b":true},"type":{"container":true}}"#
        );
        assert!(Filters::parse::<&str>(&[]).expect("empty").is_empty());
    }

    #[test]
    fn bad_filter() {
        let err = Filters::parse(&["nokey"]).expect_err("must fail");
        assert_eq!(
            err,
            "invalid argument \"nokey\" for \"-f, --filter\" flag: bad format of filter (expected name=value)"
        );
    }

    #[test]
    fn escaping() {
        assert_eq!(query_escape(r#"{"a":{"b c":true}}"#), "%7B%22a%22%3A%7B%22b%20c%22%3Atrue%7D%7D");
    }
}
