//! Docker image references on the client side, as the docker CLI parses them with
//! `distribution/reference`: `ParseNormalizedNamed` (with `docker.io/library/`
//! completion), `ParseAnyReference`, the familiar (short) form, and the same error
//! texts. Used to split `wharf tag` targets into `repo` and `tag`, to check `import`
//! names, and to show `REPOSITORY`/`TAG` columns.

/// The default registry (`docker.io`).
const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_REPO_PREFIX: &str = "library/";
const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// A parsed, normalized reference: `domain/path[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reference {
    pub domain: String,
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl Reference {
    /// The full name (`docker.io/library/busybox`), as the API's `repo` parameter.
    pub(crate) fn name(&self) -> String {
        if self.domain.is_empty() {
            return self.path.clone();
        }
        format!("{}/{}", self.domain, self.path)
    }

    /// `FamiliarName`: the name without `docker.io/` and `library/`.
    pub(crate) fn familiar_name(&self) -> String {
        if self.domain != DEFAULT_DOMAIN {
            return self.name();
        }
        match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
            Some(rest) if !rest.contains('/') => rest.to_string(),
            _ => self.path.clone(),
        }
    }
}

/// `anchoredIdentifierRegexp`: a full 64-character hexadecimal image ID.
fn is_identifier(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `splitDockerDomain`.
fn split_docker_domain(name: &str) -> (String, String) {
    let (mut domain, mut remainder) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" || first.to_lowercase() != first => {
            (first.to_string(), rest.to_string())
        }
        _ => (DEFAULT_DOMAIN.to_string(), name.to_string()),
    };
    if domain == LEGACY_DEFAULT_DOMAIN {
        domain = DEFAULT_DOMAIN.to_string();
    }
    if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        remainder = format!("{OFFICIAL_REPO_PREFIX}{remainder}");
    }
    (domain, remainder)
}

/// `ParseNormalizedNamed`.
pub(crate) fn parse_normalized_named(s: &str) -> Result<Reference, String> {
    if is_identifier(s) {
        return Err(format!("invalid repository name ({s}), cannot specify 64-byte hexadecimal strings"));
    }
    let (domain, remainder) = split_docker_domain(s);
    let remote = remainder.split_once(':').map_or(remainder.as_str(), |(r, _)| r);
    if remote.to_lowercase() != remote {
        return Err(format!("invalid reference format: repository name ({remote}) must be lowercase"));
    }
    parse(&format!("{domain}/{remainder}"))
}

/// `ParseAnyReference`: a full hexadecimal ID or a digest is accepted as is; anything
/// else must be a name. Returns whether `s` parsed.
pub(crate) fn parse_any_reference(s: &str) -> Result<(), String> {
    if is_identifier(s) || validate_digest(s).is_ok() {
        return Ok(());
    }
    parse_normalized_named(s).map(|_| ())
}

/// `reference.Parse` of an already normalized `domain/path[:tag][@digest]`.
fn parse(s: &str) -> Result<Reference, String> {
    const INVALID: &str = "invalid reference format";
    let Some((name, tag, digest)) = match_reference(s) else {
        if s.is_empty() {
            return Err("repository name must have at least one component".into());
        }
        if match_reference(&s.to_lowercase()).is_some() {
            return Err(format!("{INVALID}: repository name must be lowercase"));
        }
        return Err(INVALID.into());
    };
    if name.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(format!("repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"));
    }
    if let Some(d) = digest {
        validate_digest(d)?;
    }
    let (domain, path) = split_name(name).unwrap_or(("", name));
    Ok(Reference {
        domain: domain.to_string(),
        path: path.to_string(),
        tag: tag.map(String::from),
        digest: digest.map(String::from),
    })
}

/// `ReferenceRegexp`: splits `name[:tag][@digest]` and checks each part's grammar.
fn match_reference(s: &str) -> Option<(&str, Option<&str>, Option<&str>)> {
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest {
        if !digest_grammar(d) {
            return None;
        }
    }
    // A tag is what follows the last ':' after the last '/'.
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        if !tag_grammar(t) {
            return None;
        }
    }
    split_name(name)?;
    Some((name, tag, digest))
}

/// `[domain/]path-component(/path-component)*`: the domain and the path, if `name`
/// matches.
fn split_name(name: &str) -> Option<(&str, &str)> {
    if let Some((first, rest)) = name.split_once('/') {
        if domain_grammar(first) && rest.split('/').all(path_component) {
            return Some((first, rest));
        }
    }
    name.split('/').all(path_component).then_some(("", name))
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn path_component(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
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
        let sep = &s[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `host[:port]`, host being a domain name or a bracketed IPv6 address.
fn domain_grammar(s: &str) -> bool {
    let (host, port) = if s.starts_with('[') {
        let Some(end) = s.find(']') else { return false };
        (&s[..=end], &s[end + 1..])
    } else {
        s.find(':').map_or((s, ""), |i| (&s[..i], &s[i..]))
    };
    if !port.is_empty() {
        match port.strip_prefix(':') {
            Some(p) if !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()) => {}
            _ => return false,
        }
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return !inner.is_empty() && inner.bytes().all(|c| c.is_ascii_hexdigit() || c == b':');
    }
    host.split('.').all(|c| {
        let b = c.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    })
}

/// `[\w][\w.-]{0,127}`.
fn tag_grammar(t: &str) -> bool {
    let b = t.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    !b.is_empty() && b.len() <= 128 && word(b[0]) && b[1..].iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

/// `algorithm:hex`, algorithm `[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*`, hex
/// at least 32 hexadecimal digits.
fn digest_grammar(d: &str) -> bool {
    let Some((alg, hex)) = d.split_once(':') else { return false };
    let alg_ok = alg.split(['-', '_', '+', '.']).all(|c| {
        let b = c.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(u8::is_ascii_alphanumeric)
    });
    alg_ok && hex.len() >= 32 && hex.bytes().all(|c| c.is_ascii_hexdigit())
}

/// go-digest's `Parse`/`Validate`.
fn validate_digest(d: &str) -> Result<(), String> {
    const FORMAT: &str = "invalid checksum digest format";
    let Some((alg, hex)) = d.split_once(':').filter(|(a, h)| !a.is_empty() && !h.is_empty()) else {
        return Err(FORMAT.into());
    };
    let len = match alg {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => {
            return Err(if digest_grammar(d) { "unsupported digest algorithm" } else { FORMAT }.into());
        }
    };
    if hex.len() != len {
        return Err("invalid checksum digest length".into());
    }
    if !hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(FORMAT.into());
    }
    Ok(())
}

/// What `POST /images/{name}/tag` gets for a `wharf tag` target, as the docker client
/// computes it: the normalized name as `repo`, the tag (default `latest`) as `tag`.
pub(crate) fn tag_target(target: &str) -> Result<(String, String), String> {
    let r = parse_normalized_named(target)
        .map_err(|e| format!("Error parsing reference: {} is not a valid repository/tag: {e}", go_quote(target)))?;
    new_tag(r)
}

/// What `POST /commit` gets as `repo` and `tag` for `wharf commit`'s reference, as the
/// docker client computes it (its errors unwrapped).
pub(crate) fn commit_target(reference: &str) -> Result<(String, String), String> {
    new_tag(parse_normalized_named(reference)?)
}

/// The name and tag (`TagNameOnly`: default `latest`) of a reference naming a new tag.
fn new_tag(r: Reference) -> Result<(String, String), String> {
    if r.digest.is_some() {
        return Err("refusing to create a tag with a digest reference".into());
    }
    let tag = r.tag.clone().unwrap_or_else(|| "latest".into());
    Ok((r.name(), tag))
}

/// Checks a `wharf tag` source like the docker client (`ParseAnyReference`).
pub(crate) fn check_tag_source(source: &str) -> Result<(), String> {
    parse_any_reference(source)
        .map_err(|e| format!("Error parsing reference: {} is not a valid repository/tag: {e}", go_quote(source)))
}

fn go_quote(s: &str) -> String {
    crate::units::go_quote(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(s: &str) -> (String, Option<String>, Option<String>) {
        let r = parse_normalized_named(s).expect(s);
        (r.name(), r.tag, r.digest)
    }

    #[test]
    fn normalizes_like_distribution_reference() {
        assert_eq!(named("busybox"), ("docker.io/library/busybox".into(), None, None));
        assert_eq!(named("busybox:1.36"), ("docker.io/library/busybox".into(), Some("1.36".into()), None));
        assert_eq!(named("myrepo/x:v2"), ("docker.io/myrepo/x".into(), Some("v2".into()), None));
        assert_eq!(named("localhost:5000/foo"), ("localhost:5000/foo".into(), None, None));
        assert_eq!(named("localhost/foo:1"), ("localhost/foo".into(), Some("1".into()), None));
        assert_eq!(named("index.docker.io/library/a"), ("docker.io/library/a".into(), None, None));
        assert_eq!(named("example.com/a/b/c:t"), ("example.com/a/b/c".into(), Some("t".into()), None));
        assert_eq!(named("[::1]:5000/x"), ("[::1]:5000/x".into(), None, None));
        // "localhost:5000" alone is the name "localhost" with tag "5000".
        assert_eq!(named("localhost:5000"), ("docker.io/library/localhost".into(), Some("5000".into()), None));
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(named(&format!("foo@{d}")), ("docker.io/library/foo".into(), None, Some(d.clone())));
        assert_eq!(named(&format!("foo:t@{d}")).1, Some("t".into()));
        assert_eq!(named("a__b-c---d/e_f.g"), ("docker.io/a__b-c---d/e_f.g".into(), None, None));
        // A first component with a dot that is no domain name is a path (Go does the same).
        let r = parse_normalized_named("a__b.c/d").expect("path");
        assert_eq!((r.domain.as_str(), r.path.as_str(), r.name()), ("", "a__b.c/d", "a__b.c/d".to_string()));
    }

    #[test]
    fn familiar_names() {
        let f = |s: &str| parse_normalized_named(s).expect(s).familiar_name();
        assert_eq!(f("busybox:latest"), "busybox");
        assert_eq!(f("docker.io/library/busybox"), "busybox");
        assert_eq!(f("docker.io/library/a/b"), "library/a/b");
        assert_eq!(f("myrepo/x"), "myrepo/x");
        assert_eq!(f("localhost:5000/my/busybox:v1"), "localhost:5000/my/busybox");
    }

    /// Error texts checked against the docker 28.2 CLI.
    #[test]
    fn errors_like_docker() {
        let e = |s: &str| parse_normalized_named(s).expect_err(s);
        assert_eq!(e("B"), "invalid reference format: repository name (library/B) must be lowercase");
        assert_eq!(e("Bad:Name"), "invalid reference format: repository name (library/Bad) must be lowercase");
        assert_eq!(e("bad name"), "invalid reference format");
        assert_eq!(e("b@sha256:aaaa"), "invalid reference format");
        assert_eq!(e("a..b"), "invalid reference format");
        assert_eq!(e("a:"), "invalid reference format");
        assert_eq!(e(""), "invalid reference format");
        assert_eq!(
            e(&"a".repeat(64)),
            format!("invalid repository name ({}), cannot specify 64-byte hexadecimal strings", "a".repeat(64))
        );
        assert_eq!(e(&format!("a@sha256:{}", "a".repeat(63))), "invalid checksum digest length");
        assert_eq!(e(&format!("a@foo:{}", "a".repeat(32))), "unsupported digest algorithm");
        assert_eq!(e(&format!("a:{}", "t".repeat(129))), "invalid reference format");
        assert_eq!(e(&format!("{}/x", "a".repeat(250))), "repository name must not be more than 255 characters");
    }

    #[test]
    fn tag_targets() {
        assert_eq!(tag_target("myrepo/x:v2"), Ok(("docker.io/myrepo/x".into(), "v2".into())));
        assert_eq!(tag_target("localhost:5000/foo"), Ok(("localhost:5000/foo".into(), "latest".into())));
        assert_eq!(tag_target("foo"), Ok(("docker.io/library/foo".into(), "latest".into())));
        let d = format!("foo@sha256:{}", "a".repeat(64));
        assert_eq!(tag_target(&d), Err("refusing to create a tag with a digest reference".into()));
        assert_eq!(
            tag_target("b@sha256:aaaa"),
            Err("Error parsing reference: \"b@sha256:aaaa\" is not a valid repository/tag: invalid reference format"
                .into())
        );
        assert_eq!(
            tag_target("B"),
            Err("Error parsing reference: \"B\" is not a valid repository/tag: invalid reference format: repository name (library/B) must be lowercase".into())
        );
        assert!(check_tag_source("abc123").is_ok());
        assert!(check_tag_source(&"a".repeat(64)).is_ok());
        assert!(check_tag_source(&format!("sha256:{}", "a".repeat(64))).is_ok());
        assert!(check_tag_source("bad name").is_err());
    }
}
