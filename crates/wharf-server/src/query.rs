//! Query arguments as dockerd's `r.Form` reads them: every `key=value` pair kept in order, so
//! repeated keys (`names=a&names=b`, `changes=…&changes=…`, `type=…`) are all seen; form
//! decoding (`+` is a space, `%XX` an escaped byte); and Docker's spelling of booleans.
//!
//! axum's `Query` over a struct keeps only one value per key, hence this. Shared by the route
//! modules.

use http::Uri;

use crate::ApiError;

/// The decoded query pairs of one request, in the order sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct QueryArgs(Vec<(String, String)>);

impl QueryArgs {
    /// The query of `uri`; none is no argument.
    pub(crate) fn from_uri(uri: &Uri) -> Result<Self, ApiError> {
        Self::parse(uri.query().unwrap_or(""))
    }

    /// Parses a raw query string as Go's `url.ParseQuery` does; a bad `%` escape is a 400 with
    /// Go's message.
    pub(crate) fn parse(query: &str) -> Result<Self, ApiError> {
        let mut pairs = Vec::new();
        for part in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((unescape(k)?, unescape(v)?));
        }
        Ok(QueryArgs(pairs))
    }

    /// The first value of `key` (Go's `Form.Get`), if given.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The first value of `key`, or an empty string.
    pub(crate) fn string(&self, key: &str) -> String {
        self.get(key).unwrap_or_default().to_string()
    }

    /// Every value of `key`, in order (Go's `Form[key]`).
    pub(crate) fn all(&self, key: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect()
    }

    /// True when `key` was given at all, even empty.
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// dockerd's `httputils.BoolValue`: false when absent, empty, `0`, `no`, `false` or `none`
    /// (any case, spaces trimmed); true otherwise.
    pub(crate) fn bool(&self, key: &str) -> bool {
        let v = self.get(key).unwrap_or_default().trim().to_ascii_lowercase();
        !matches!(v.as_str(), "" | "0" | "no" | "false" | "none")
    }

    /// dockerd's `httputils.BoolValueOrDefault`: `default` when the key is absent.
    pub(crate) fn bool_or(&self, key: &str, default: bool) -> bool {
        if self.contains(key) {
            self.bool(key)
        } else {
            default
        }
    }
}

/// Form decoding of one key or value.
fn unescape(s: &str) -> Result<String, ApiError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
                    (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                    _ => {
                        let bad: String = s[i..].chars().take(3).collect();
                        return Err(ApiError::invalid(format!("invalid URL escape \"{bad}\"")));
                    }
                }
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_repeats_in_order_and_decodes() {
        let q =
            QueryArgs::parse("names=busybox%3Alatest&names=localhost%3A5000%2Fa%2Fb%3A1&x&changes=ENV+A%3D1").unwrap();
        assert_eq!(q.all("names"), ["busybox:latest", "localhost:5000/a/b:1"]);
        assert_eq!(q.get("names"), Some("busybox:latest"));
        assert_eq!(q.get("changes"), Some("ENV A=1"));
        assert!(q.contains("x") && q.get("x") == Some(""));
        assert!(!q.contains("y") && q.all("y").is_empty());
    }

    #[test]
    fn docker_booleans() {
        let q = QueryArgs::parse("a=1&b=0&c=False&d=NONE&e=no&f=true&g=&h=yes&i=%20").unwrap();
        let on: Vec<_> =
            ["a", "b", "c", "d", "e", "f", "g", "h", "i", "absent"].into_iter().filter(|k| q.bool(k)).collect();
        assert_eq!(on, ["a", "f", "h"]);
        assert!(q.bool_or("absent", true));
        assert!(!q.bool_or("b", true));
        assert!(!q.bool_or("g", true));
    }

    #[test]
    fn bad_escape_is_go_s_400() {
        let e = QueryArgs::parse("a=%zz").unwrap_err();
        assert_eq!(e, ApiError::invalid("invalid URL escape \"%zz\""));
        assert_eq!(QueryArgs::parse("a=b%4").unwrap_err().message, "invalid URL escape \"%4\"");
    }
}
