//! BuildKit's `util/suggest`: "(did you mean …?)" after an error about a misspelt word, for the
//! closest option within an edit distance of 2 (Levenshtein over characters, as
//! `agext/levenshtein` computes it). BuildKit iterates Go maps, so among equally close options
//! its choice varies; ours is the first in the list.

use crate::gostr::{to_lower, to_upper};

fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

fn match_case(val: &str, orig: &str) -> String {
    if orig == to_lower(orig) {
        return to_lower(val);
    }
    if orig == to_upper(orig) {
        return to_upper(val);
    }
    val.to_string()
}

/// The suggestion for `val` among `options`, if there is one (none for an exact match).
pub(crate) fn suggest(val: &str, options: &[&str], case_sensitive: bool) -> Option<String> {
    let v = if case_sensitive { val.to_string() } else { to_lower(val) };
    let norm = |o: &str| if case_sensitive { o.to_string() } else { to_lower(o) };
    if options.iter().any(|o| norm(o) == v) {
        return None;
    }
    let mut best: Option<String> = None;
    let mut min = 3;
    for o in options {
        let o = norm(o);
        let d = levenshtein(&v, &o);
        if d < min {
            min = d;
            best = Some(if case_sensitive { o } else { match_case(&o, val) });
        }
    }
    best
}

/// BuildKit's `suggest.WrapError` on a message.
pub(crate) fn wrap(msg: String, val: &str, options: &[&str], case_sensitive: bool) -> String {
    match suggest(val, options, case_sensitive) {
        Some(m) => format!("{msg} (did you mean {m}?)"),
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let opts = ["RUN", "COPY", "FROM"];
        assert_eq!(suggest("RUNN", &opts, false).as_deref(), Some("RUN"));
        assert_eq!(suggest("runn", &opts, false).as_deref(), Some("run"));
        assert_eq!(suggest("Runn", &opts, false).as_deref(), Some("run"));
        assert_eq!(suggest("RUN", &opts, false), None);
        assert_eq!(suggest("XYZABC", &opts, false), None);
        assert_eq!(suggest("form", &["from", "chown"], true).as_deref(), Some("from"));
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }
}
