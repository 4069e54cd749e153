//! Docker's `filters` query argument: a JSON map from a key to the values accepted for it.
//!
//! Both wire forms are read: `{"label":["a=b"]}` (current) and `{"label":{"a=b":true}}` (legacy).
//! Values under one key are alternatives (any may match); different keys must all match,
//! except `label`, whose values must all match, as in Docker.

use std::collections::{BTreeMap, BTreeSet};

use crate::{Classify, ErrorKind};

/// A filters argument that failed to parse or names a key the endpoint does not accept.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    /// The JSON could not be read.
    #[error("invalid filter: {0}")]
    Json(String),
    /// A key the endpoint does not know.
    #[error("invalid filter '{0}'")]
    UnknownKey(String),
    /// A value of a known key that makes no sense.
    #[error("invalid filter '{key}={value}'")]
    BadValue {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
}

impl Classify for FilterError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }
}

/// Parsed filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    map: BTreeMap<String, BTreeSet<String>>,
}

impl Filters {
    /// Parses the JSON text of a `filters` argument; an empty text is no filter.
    pub fn from_json(text: &str) -> Result<Filters, FilterError> {
        if text.trim().is_empty() {
            return Ok(Filters::default());
        }
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| FilterError::Json(e.to_string()))?;
        let obj = match value {
            serde_json::Value::Object(o) => o,
            serde_json::Value::Null => return Ok(Filters::default()),
            other => return Err(FilterError::Json(format!("expected an object, got {other}"))),
        };
        let mut map = BTreeMap::new();
        for (key, values) in obj {
            let set: BTreeSet<String> = match values {
                serde_json::Value::Array(items) => items
                    .into_iter()
                    .map(|v| match v {
                        serde_json::Value::String(s) => Ok(s),
                        other => Err(FilterError::Json(format!("value of '{key}' is not a string: {other}"))),
                    })
                    .collect::<Result<_, _>>()?,
                serde_json::Value::Object(items) => {
                    items.into_iter().filter(|(_, on)| on.as_bool().unwrap_or(false)).map(|(k, _)| k).collect()
                }
                serde_json::Value::String(s) => [s].into(),
                other => return Err(FilterError::Json(format!("values of '{key}' are not a list: {other}"))),
            };
            map.insert(key, set);
        }
        Ok(Filters { map })
    }

    /// Builds filters from `key=value` pairs, as a CLI's `--filter` flags give them.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Filters {
        let mut f = Filters::default();
        for (k, v) in pairs {
            f.add(k, v);
        }
        f
    }

    /// Adds one accepted value for `key`.
    pub fn add(&mut self, key: &str, value: &str) {
        self.map.entry(key.to_string()).or_default().insert(value.to_string());
    }

    /// The current JSON wire form (`{"key":["v",…]}`).
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.map).unwrap_or_else(|_| "{}".into())
    }

    /// True when no key is set.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Fails on the first key not in `accepted`.
    pub fn validate(&self, accepted: &[&str]) -> Result<(), FilterError> {
        match self.map.keys().find(|k| !accepted.contains(&k.as_str())) {
            Some(k) => Err(FilterError::UnknownKey(k.clone())),
            None => Ok(()),
        }
    }

    /// True when `key` was given.
    pub fn contains(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// The values given for `key`.
    pub fn get(&self, key: &str) -> impl Iterator<Item = &str> {
        self.map.get(key).into_iter().flatten().map(String::as_str)
    }

    /// True when `key` was not given, or when one of its values equals `value`.
    pub fn exact_match(&self, key: &str, value: &str) -> bool {
        match self.map.get(key) {
            None => true,
            Some(set) => set.contains(value),
        }
    }

    /// True when `key` was not given, or when one of `candidates` equals one of its values.
    pub fn exact_match_any<'a>(&self, key: &str, candidates: impl IntoIterator<Item = &'a str>) -> bool {
        match self.map.get(key) {
            None => true,
            Some(set) => candidates.into_iter().any(|c| set.contains(c)),
        }
    }

    /// True when `key` was not given, or when one of its values is a prefix of `value`
    /// (Docker's match for ids given in short form).
    pub fn prefix_match(&self, key: &str, value: &str) -> bool {
        match self.map.get(key) {
            None => true,
            Some(set) => set.iter().any(|v| !v.is_empty() && value.starts_with(v.as_str())),
        }
    }

    /// Label matching: every value of `key` (`name`, `name=value` or `name!=value`) must hold
    /// for `labels`. True when `key` was not given.
    pub fn match_labels<'a>(&self, key: &str, labels: impl Fn(&str) -> Option<&'a str>) -> bool {
        let Some(set) = self.map.get(key) else { return true };
        set.iter().all(|want| {
            if let Some((name, value)) = want.split_once("!=") {
                labels(name) != Some(value)
            } else if let Some((name, value)) = want.split_once('=') {
                labels(name) == Some(value)
            } else {
                labels(want).is_some()
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_wire_forms() {
        let a = Filters::from_json(r#"{"type":["container","image"]}"#).unwrap();
        let b = Filters::from_json(r#"{"type":{"container":true,"image":true,"volume":false}}"#).unwrap();
        assert_eq!(a, b);
        assert!(a.exact_match("type", "image"));
        assert!(!a.exact_match("type", "volume"));
        assert!(a.exact_match("event", "anything"));
    }

    #[test]
    fn empty_and_invalid() {
        assert!(Filters::from_json("").unwrap().is_empty());
        assert!(matches!(Filters::from_json("{"), Err(FilterError::Json(_))));
        assert!(matches!(Filters::from_json("[1]"), Err(FilterError::Json(_))));
        assert!(matches!(Filters::from_json(r#"{"a":[1]}"#), Err(FilterError::Json(_))));
    }

    #[test]
    fn validate_names_the_unknown_key() {
        let f = Filters::from_json(r#"{"type":["x"],"bogus":["y"]}"#).unwrap();
        assert_eq!(f.validate(&["type"]).unwrap_err().to_string(), "invalid filter 'bogus'");
        assert!(f.validate(&["type", "bogus"]).is_ok());
    }

    #[test]
    fn labels_all_must_hold() {
        let f = Filters::from_pairs([("label", "a"), ("label", "b=2"), ("label", "c!=3")]);
        let labels = |m: &'static [(&'static str, &'static str)]| {
            move |k: &str| m.iter().find(|(n, _)| *n == k).map(|(_, v)| *v)
        };
        assert!(f.match_labels("label", labels(&[("a", "x"), ("b", "2")])));
        assert!(!f.match_labels("label", labels(&[("a", "x"), ("b", "3")])));
        assert!(!f.match_labels("label", labels(&[("b", "2")])));
        assert!(!f.match_labels("label", labels(&[("a", ""), ("b", "2"), ("c", "3")])));
    }

    #[test]
    fn round_trips_to_json() {
        let f = Filters::from_pairs([("type", "container"), ("event", "start")]);
        assert_eq!(Filters::from_json(&f.to_json()).unwrap(), f);
        assert!(f.prefix_match("type", "containers"));
    }
}
