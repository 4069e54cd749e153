//! The regular expressions of distribution/reference (`regexp.go`) as hand-written matchers,
//! and go-digest's `Parse` (digest validation with its error texts).
//!
//! ```text
//! reference        := name [ ":" tag ] [ "@" digest ]
//! name             := [domain '/'] remote-name
//! domain           := host [':' port-number]
//! host             := domain-name | '[' IPv6address ']'
//! domain-name      := domain-component ['.' domain-component]*
//! domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//! path-component   := /[a-z0-9]+/ [separator /[a-z0-9]+/]*
//! separator        := /[_.]|__|[-]+/
//! tag              := /[\w][\w.-]{0,127}/
//! digest           := algorithm ":" /[0-9a-fA-F]{32,}/
//! algorithm        := /[A-Za-z][A-Za-z0-9]*/ [/[-_+.]/ /[A-Za-z][A-Za-z0-9]*/]*
//! identifier       := /[a-f0-9]{64}/
//! ```

use crate::error::ReferenceError;

/// The parts of a string matching the anchored `ReferenceRegexp`, its name split by
/// `anchoredNameRegexp` (`domain` is empty when the name has none).
pub(crate) struct Match<'a> {
    /// The whole name, `[domain/]path`.
    pub name: &'a str,
    pub domain: &'a str,
    pub path: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

/// The anchored `ReferenceRegexp` followed by `anchoredNameRegexp` on the name part.
pub(crate) fn match_reference(s: &str) -> Option<Match<'_>> {
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    if digest.is_some_and(|d| !is_digest_pattern(d)) {
        return None;
    }
    // A tag is what follows the last ':' after the last '/'.
    let last_slash = rest.rfind('/');
    let (name, tag) = match rest.rfind(':') {
        Some(c) if last_slash.is_none_or(|sl| c > sl) => (&rest[..c], Some(&rest[c + 1..])),
        _ => (rest, None),
    };
    if tag.is_some_and(|t| !is_tag(t)) {
        return None;
    }
    // The regexp tries the optional domain first (leftmost-first, greedy).
    if let Some((d, p)) = name.split_once('/') {
        if is_domain_and_port(d) && is_remote_name(p) {
            return Some(Match { name, domain: d, path: p, tag, digest });
        }
    }
    is_remote_name(name).then_some(Match { name, domain: "", path: name, tag, digest })
}

/// `anchoredTagRegexp`: `[\w][\w.-]{0,127}`.
pub(crate) fn is_tag(t: &str) -> bool {
    let b = t.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    !b.is_empty() && b.len() <= 128 && word(b[0]) && b[1..].iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

/// `anchoredIdentifierRegexp`: a full 64-character image ID.
pub(crate) fn is_identifier(s: &str) -> bool {
    s.len() == 64 && is_lower_hex(s)
}

pub(crate) fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// go-digest's `Parse`/`Validate`: a registered algorithm (`sha256`, `sha384`, `sha512`) and
/// a lower-case hex part of exactly its length.
pub(crate) fn validate_digest(d: &str) -> Result<(), ReferenceError> {
    let Some((alg, hex)) = d.split_once(':').filter(|(a, h)| !a.is_empty() && !h.is_empty()) else {
        return Err(ReferenceError::DigestFormat);
    };
    let len = match alg {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ if is_go_digest_pattern(d) => return Err(ReferenceError::DigestUnsupported),
        _ => return Err(ReferenceError::DigestFormat),
    };
    if hex.len() != len {
        return Err(ReferenceError::DigestLength);
    }
    if !is_lower_hex(hex) {
        return Err(ReferenceError::DigestFormat);
    }
    Ok(())
}

/// go-digest's `DigestRegexp`: `[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+`.
fn is_go_digest_pattern(d: &str) -> bool {
    let Some((alg, enc)) = d.split_once(':') else { return false };
    let comp_ok = |c: &str| !c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    alg.split(['.', '+', '_', '-']).all(comp_ok)
        && !enc.is_empty()
        && enc.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'))
}

/// The reference grammar's `digest` (looser than go-digest: any algorithm, 32+ hex digits of
/// either case).
fn is_digest_pattern(d: &str) -> bool {
    let Some((alg, hex)) = d.split_once(':') else {
        return false;
    };
    let comp_ok = |c: &str| {
        let b = c.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(u8::is_ascii_alphanumeric)
    };
    alg.split(['-', '_', '+', '.']).all(comp_ok) && hex.len() >= 32 && hex.bytes().all(|c| c.is_ascii_hexdigit())
}

fn is_domain_component(c: &str) -> bool {
    let b = c.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|&x| x.is_ascii_alphanumeric() || x == b'-')
}

/// `host[:port]`, the host a domain name or a bracketed IPv6 address.
fn is_domain_and_port(d: &str) -> bool {
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        let Some((inner, after)) = rest.split_once(']') else {
            return false;
        };
        if inner.is_empty() || !inner.bytes().all(|c| c.is_ascii_hexdigit() || c == b':') {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return false,
            },
        }
    } else {
        match d.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(d), None),
        }
    };
    if host.is_some_and(|h| !h.split('.').all(is_domain_component)) {
        return false;
    }
    port.is_none_or(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn is_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_remote_name(p: &str) -> bool {
    p.split('/').all(is_path_component)
}
