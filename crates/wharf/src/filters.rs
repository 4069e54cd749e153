//! `-f/--filter key=value` flags, collected into the `filters` query parameter as the
//! docker CLI sends it: a JSON object of key → `{"value": true}` maps; and query strings
//! built as Go's `url.Values.Encode` builds them.

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
        Self::parse_flag(flags, "-f, --filter")
    }

    /// [`Filters::parse`] for a flag spelled `flag` in the error ("--filter" where the
    /// command has no `-f`).
    pub(crate) fn parse_flag<S: AsRef<str>>(flags: &[S], flag_name: &str) -> Result<Filters, String> {
        let mut f = Filters::default();
        for flag in flags {
            let arg = flag.as_ref();
            if arg.is_empty() {
                continue;
            }
            let Some((name, value)) = arg.split_once('=') else {
                return Err(format!(
                    "invalid argument {arg:?} for \"{flag_name}\" flag: bad format of filter (expected name=value)"
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

    /// Whether `key` has the value `value`.
    pub(crate) fn has(&self, key: &str, value: &str) -> bool {
        self.args.get(key).is_some_and(|v| v.contains_key(value))
    }

    /// Whether `key` was given, with any value.
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.args.contains_key(key)
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

/// Query parameters, encoded like Go's `url.Values.Encode`: sorted by key, the values
/// of a repeated key in the order they were added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    /// Adds a value for `key` (keys may repeat: `names=a&names=b`).
    pub(crate) fn add(&mut self, key: &str, value: &str) -> &mut Query {
        self.0.push((key.to_string(), value.to_string()));
        self
    }

    /// `""`, or `?` and the encoded parameters.
    pub(crate) fn encode(&self) -> String {
        let mut pairs: Vec<&(String, String)> = self.0.iter().collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        let parts: Vec<String> =
            pairs.iter().map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v))).collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
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
    fn queries_like_go() {
        let mut q = Query::default();
        q.add("names", "busybox").add("platform", r#"{"os":"linux"}"#).add("names", "alpine:3.20");
        assert_eq!(q.encode(), "?names=busybox&names=alpine%3A3.20&platform=%7B%22os%22%3A%22linux%22%7D");
        let mut q = Query::default();
        q.add("repo", "foo/bar:v1").add("fromSrc", "-").add("changes", "ENV A=1").add("changes", r#"CMD ["sh"]"#);
        assert_eq!(q.encode(), "?changes=ENV%20A%3D1&changes=CMD%20%5B%22sh%22%5D&fromSrc=-&repo=foo%2Fbar%3Av1");
        assert_eq!(Query::default().encode(), "");
        let f = Filters::parse(&["label=a=b"]).expect("parse");
        assert!(f.has("label", "a=b") && !f.has("label", "a") && !f.has("until", "a=b"));
    }

    #[test]
    fn escaping() {
        assert_eq!(query_escape(r#"{"a":{"b c":true}}"#), "%7B%22a%22%3A%7B%22b%20c%22%3Atrue%7D%7D");
    }
}
