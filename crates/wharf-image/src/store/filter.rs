//! `docker images` filters: `dangling`, `label`, `before`, `since`, `reference`, `until`.

use std::collections::BTreeMap;

use wharf_types::{ErrorKind, Filters};

use super::{now_nanos, parse_bool_filter, ImageInfo};
use crate::error::{ImageError, Result};

/// Filters of a listing, resolved once (images named by `before`/`since` looked up).
pub(crate) struct ListFilter<'f> {
    filters: &'f Filters,
    dangling: Option<bool>,
    before: Option<i64>,
    since: Option<i64>,
    until: Option<i64>,
}

fn invalid(message: String) -> ImageError {
    ImageError::Backend { kind: ErrorKind::InvalidArgument, message, source: None }
}

impl<'f> ListFilter<'f> {
    /// Checks the keys and resolves `before`/`since` through `inspect`.
    pub(crate) fn new(filters: &'f Filters, inspect: impl Fn(&str) -> Result<ImageInfo>) -> Result<Self> {
        filters
            .validate(&["dangling", "label", "before", "since", "reference", "until"])
            .map_err(|e| invalid(e.to_string()))?;
        let dangling = match filters.get("dangling").next() {
            None => None,
            Some(v) => Some(parse_bool_filter("dangling", v)?),
        };
        let created = |key: &str| -> Result<Option<i64>> {
            match filters.get(key).next() {
                None => Ok(None),
                Some(name) => Ok(Some(inspect(name)?.created_unix)),
            }
        };
        let until = match filters.get("until").next() {
            None => None,
            Some(v) => Some(
                wharf_types::parse_timestamp(v, now_nanos())
                    .map_err(|e| invalid(e.to_string()))?
                    .div_euclid(1_000_000_000),
            ),
        };
        Ok(ListFilter { filters, dangling, before: created("before")?, since: created("since")?, until })
    }

    /// Whether `info` is kept; with a `reference` filter, its tags are narrowed to the matching
    /// ones, as dockerd does.
    pub(crate) fn keep(&self, info: &mut ImageInfo) -> bool {
        if let Some(d) = self.dangling {
            if d != info.repo_tags.is_empty() {
                return false;
            }
        }
        let labels = &info.labels;
        if !self.filters.match_labels("label", |k| labels.get(k).map(String::as_str)) {
            return false;
        }
        if self.before.is_some_and(|b| info.created_unix >= b) || self.since.is_some_and(|s| info.created_unix <= s) {
            return false;
        }
        if self.until.is_some_and(|u| info.created_unix >= u) {
            return false;
        }
        if self.filters.contains("reference") {
            let patterns: Vec<&str> = self.filters.get("reference").collect();
            let matching: Vec<String> =
                info.repo_tags.iter().filter(|t| patterns.iter().any(|p| reference_matches(p, t))).cloned().collect();
            if matching.is_empty() {
                return false;
            }
            info.repo_tags = matching;
        }
        true
    }
}

/// Whether any `label!` value (`key` or `key=value`) holds for `labels` (prune excludes those).
pub(crate) fn negated_labels_match(filters: &Filters, labels: &BTreeMap<String, String>) -> bool {
    filters.get("label!").any(|want| match want.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
        None => labels.contains_key(want),
    })
}

/// dockerd's `reference` filter: the pattern (Go `path.Match`) against the familiar
/// `name:tag`, or against the familiar name alone.
pub(crate) fn reference_matches(pattern: &str, familiar_tagged: &str) -> bool {
    if glob(pattern, familiar_tagged) {
        return true;
    }
    let name = match familiar_tagged.rfind(':') {
        Some(i) if !familiar_tagged[i..].contains('/') => &familiar_tagged[..i],
        _ => familiar_tagged,
    };
    glob(pattern, name)
}

/// Go's `path.Match`: `*` (no `/`), `?`, `[…]` classes with ranges and `^` negation, `\` escapes.
pub(crate) fn glob(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = s.chars().collect();
    glob_at(&p, &t)
}

fn glob_at(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => {
            let rest = &p[1..];
            for i in 0..=t.len() {
                if glob_at(rest, &t[i..]) {
                    return true;
                }
                if i < t.len() && t[i] == '/' {
                    break;
                }
            }
            false
        }
        Some('?') => !t.is_empty() && t[0] != '/' && glob_at(&p[1..], &t[1..]),
        Some('[') => {
            let Some(&c) = t.first() else { return false };
            let Some(end) = p.iter().skip(1).position(|&x| x == ']').map(|i| i + 1) else { return false };
            let class = &p[1..end];
            let (neg, class) = match class.first() {
                Some('^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != neg && c != '/' && glob_at(&p[end + 1..], &t[1..])
        }
        Some('\\') if p.len() > 1 => !t.is_empty() && t[0] == p[1] && glob_at(&p[2..], &t[1..]),
        Some(&c) => !t.is_empty() && t[0] == c && glob_at(&p[1..], &t[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_as_go_path_match() {
        assert!(glob("busy*", "busybox"));
        assert!(!glob("*", "a/b"));
        assert!(glob("*/*", "a/b"));
        assert!(glob("b?sy[a-z]ox", "busybox"));
        assert!(!glob("b[^u]sybox", "busybox"));
        assert!(glob("a\\*", "a*"));
    }

    #[test]
    fn reference_matches_name_or_name_tag() {
        assert!(reference_matches("busybox", "busybox:latest"));
        assert!(reference_matches("busybox:lat*", "busybox:latest"));
        assert!(!reference_matches("busybox:1", "busybox:latest"));
        assert!(reference_matches("localhost:5000/*", "localhost:5000/app:1"));
        assert!(!reference_matches("app", "localhost:5000/app:1"));
    }
}
