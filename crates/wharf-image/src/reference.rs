//! Image references as Docker normalizes them: `busybox` → `docker.io/library/busybox`, with
//! Docker's grammar, limits and error texts.
//!
//! This is a small hand-written port of `github.com/distribution/reference` (`regexp.go`,
//! `reference.go`, `normalize.go`) rather than `oci_spec::distribution::Reference`, because
//! oci-spec 0.10 differs from Docker where users see it:
//! - an uppercase repository fails as a bare `invalid reference format`, not Docker's
//!   `invalid reference format: repository name (library/Busybox) must be lowercase`;
//! - a 64-hex name (`docker pull <image id>`) is accepted instead of refused;
//! - a first component with uppercase letters (`Foo/bar`) is not taken as a registry domain,
//!   and IPv6 registries (`[fc00::1]:5000/x`) are refused;
//! - it always adds `latest` (so `name` and `name:latest` cannot be told apart), accepts unknown
//!   digest algorithms, and has no familiar (`docker images`) form.
//!
//! Grammar (distribution/reference):
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
//! ```

use std::fmt;

use crate::digest::{is_lower_hex, parse_digest};
use crate::error::{ImageError, Result};
use crate::Digest;

/// Docker Hub's canonical domain.
pub const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_REPO_PREFIX: &str = "library/";
/// The tag a reference without tag or digest gets.
pub const DEFAULT_TAG: &str = "latest";
/// Longest repository path (after normalization) Docker accepts.
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;

const INVALID_FORMAT: &str = "invalid reference format";

/// A normalized image reference: domain, path, optional tag, optional digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl ImageRef {
    /// Parses a reference as the Docker UI accepts it (`ParseNormalizedNamed`): adds
    /// `docker.io` and `library/` where Docker does, keeps the tag and digest as given (no
    /// default tag: see [`ImageRef::with_default_tag`]).
    pub fn parse_normalized(s: &str) -> Result<Self> {
        if s.len() == 64 && is_lower_hex(s) {
            return Err(ImageError::InvalidReference(format!(
                "invalid repository name ({s}), cannot specify 64-byte hexadecimal strings"
            )));
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote = remainder.split(':').next().unwrap_or_default();
        if remote.to_lowercase() != remote {
            return Err(ImageError::InvalidReference(format!(
                "{INVALID_FORMAT}: repository name ({remote}) must be lowercase"
            )));
        }
        parse_canonical(&format!("{domain}/{remainder}"))
    }

    /// As dockerd's `ParseDockerRef`: normalized, a reference with both tag and digest keeps
    /// only the digest, and a bare name gets `latest`.
    pub fn parse_docker_ref(s: &str) -> Result<Self> {
        let mut r = Self::parse_normalized(s)?;
        if r.digest.is_some() {
            r.tag = None;
        }
        Ok(r.with_default_tag())
    }

    /// The registry domain (`docker.io`, `localhost:5000`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path inside the registry (`library/busybox`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The tag, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if any.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The full repository name, `domain/path` (`docker.io/library/busybox`).
    pub fn name(&self) -> String {
        if self.domain.is_empty() {
            self.path.clone()
        } else {
            format!("{}/{}", self.domain, self.path)
        }
    }

    /// The repository name as `docker images` prints it: `busybox`, `myrepo/x`,
    /// `localhost:5000/x`.
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            if let Some(rest) = self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
                if !rest.contains('/') {
                    return rest.to_string();
                }
            }
            return self.path.clone();
        }
        self.name()
    }

    /// The familiar form with tag and digest (`busybox:latest`, `localhost:5000/x:1`).
    pub fn familiar(&self) -> String {
        self.render(self.familiar_name())
    }

    /// The full form (`docker.io/library/busybox:latest`).
    pub fn full(&self) -> String {
        self.render(self.name())
    }

    fn render(&self, mut s: String) -> String {
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d.as_ref());
        }
        s
    }

    /// This reference with tag `latest` if it has neither tag nor digest (`TagNameOnly`).
    pub fn with_default_tag(mut self) -> Self {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.to_string());
        }
        self
    }

    /// The same repository with `tag` (checked against the tag grammar) and no digest.
    pub fn with_tag(&self, tag: &str) -> Result<Self> {
        if !is_tag(tag) {
            return Err(ImageError::InvalidReference("invalid tag format".into()));
        }
        Ok(Self { domain: self.domain.clone(), path: self.path.clone(), tag: Some(tag.to_string()), digest: None })
    }

    /// The same repository with `digest` and no tag (a canonical reference).
    pub fn with_digest(&self, digest: Digest) -> Self {
        Self { domain: self.domain.clone(), path: self.path.clone(), tag: None, digest: Some(digest) }
    }

    /// Only the repository (no tag, no digest).
    pub fn trim(&self) -> Self {
        Self { domain: self.domain.clone(), path: self.path.clone(), tag: None, digest: None }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full())
    }
}

impl std::str::FromStr for ImageRef {
    type Err = ImageError;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse_normalized(s)
    }
}

/// Whether `s` may name an image by ID or ID prefix, as in `docker rmi 4f2c`: 1 to 64
/// lowercase hex digits, optionally after `sha256:`. Such a string may also be a valid name
/// (`docker rmi abc` could be `abc:latest`); Docker tries the name first, then the ID prefix.
pub fn is_short_id_candidate(s: &str) -> bool {
    short_id_hex(s).is_some()
}

/// The hex part of an ID or ID prefix (`sha256:` stripped), or `None` when `s` is not one.
pub fn short_id_hex(s: &str) -> Option<&str> {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    (!hex.is_empty() && hex.len() <= 64 && is_lower_hex(hex)).then_some(hex)
}

/// `splitDockerDomain` of distribution/reference's normalize.go (v0.6).
fn split_docker_domain(name: &str) -> (String, String) {
    let Some((maybe_domain, maybe_remote)) = name.split_once('/') else {
        return (DEFAULT_DOMAIN.to_string(), format!("{OFFICIAL_REPO_PREFIX}{name}"));
    };
    let (domain, mut remote) = if maybe_domain == "localhost" {
        (maybe_domain.to_string(), maybe_remote.to_string())
    } else if maybe_domain == LEGACY_DEFAULT_DOMAIN {
        (DEFAULT_DOMAIN.to_string(), maybe_remote.to_string())
    } else if maybe_domain.contains(['.', ':']) || maybe_domain.to_lowercase() != maybe_domain {
        (maybe_domain.to_string(), maybe_remote.to_string())
    } else {
        (DEFAULT_DOMAIN.to_string(), name.to_string())
    };
    if domain == DEFAULT_DOMAIN && !remote.contains('/') {
        remote = format!("{OFFICIAL_REPO_PREFIX}{remote}");
    }
    (domain, remote)
}

/// `Parse` of reference.go applied to an already domain-prefixed string.
fn parse_canonical(s: &str) -> Result<ImageRef> {
    if s.is_empty() {
        return Err(ImageError::InvalidReference("repository name must have at least one component".into()));
    }
    let Some(m) = match_reference(s) else {
        let lower = s.to_lowercase();
        if lower != s && match_reference(&lower).is_some() {
            return Err(ImageError::InvalidReference("repository name must be lowercase".into()));
        }
        return Err(ImageError::InvalidReference(INVALID_FORMAT.into()));
    };
    if m.path.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(ImageError::InvalidReference(format!(
            "repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
        )));
    }
    let digest = m.digest.map(parse_digest).transpose()?;
    Ok(ImageRef { domain: m.domain.to_string(), path: m.path.to_string(), tag: m.tag.map(str::to_string), digest })
}

struct Match<'a> {
    domain: &'a str,
    path: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

/// The anchored `ReferenceRegexp` followed by `anchoredNameRegexp` on the name part.
fn match_reference(s: &str) -> Option<Match<'_>> {
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest {
        if !is_digest_pattern(d) {
            return None;
        }
    }
    let last_slash = rest.rfind('/');
    let (name, tag) = match rest.rfind(':') {
        Some(c) if last_slash.is_none_or(|sl| c > sl) => (&rest[..c], Some(&rest[c + 1..])),
        _ => (rest, None),
    };
    if let Some(t) = tag {
        if !is_tag(t) {
            return None;
        }
    }
    // The regexp tries the optional domain first (leftmost-first, greedy).
    if let Some((d, p)) = name.split_once('/') {
        if is_domain_and_port(d) && is_remote_name(p) {
            return Some(Match { domain: d, path: p, tag, digest });
        }
    }
    is_remote_name(name).then_some(Match { domain: "", path: name, tag, digest })
}

fn is_tag(t: &str) -> bool {
    let b = t.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    !b.is_empty() && b.len() <= 128 && word(b[0]) && b[1..].iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

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
    if let Some(h) = host {
        if !h.split('.').all(is_domain_component) {
            return false;
        }
    }
    port.is_none_or(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";

    #[test]
    fn normalizes_like_docker() {
        // input, domain, path, familiar, full
        let cases: &[(&str, &str, &str, &str, &str)] = &[
            ("busybox", "docker.io", "library/busybox", "busybox", "docker.io/library/busybox"),
            ("busybox:latest", "docker.io", "library/busybox", "busybox:latest", "docker.io/library/busybox:latest"),
            ("library/busybox:1.36", "docker.io", "library/busybox", "busybox:1.36", "docker.io/library/busybox:1.36"),
            ("docker.io/busybox", "docker.io", "library/busybox", "busybox", "docker.io/library/busybox"),
            ("index.docker.io/library/debian", "docker.io", "library/debian", "debian", "docker.io/library/debian"),
            ("index.docker.io/debian", "docker.io", "library/debian", "debian", "docker.io/library/debian"),
            ("fooo/bar", "docker.io", "fooo/bar", "fooo/bar", "docker.io/fooo/bar"),
            ("myrepo/x:1", "docker.io", "myrepo/x", "myrepo/x:1", "docker.io/myrepo/x:1"),
            ("library/foo/bar", "docker.io", "library/foo/bar", "library/foo/bar", "docker.io/library/foo/bar"),
            ("other/library", "docker.io", "other/library", "other/library", "docker.io/other/library"),
            ("localhost/x", "localhost", "x", "localhost/x", "localhost/x"),
            ("localhost:5000/x:1", "localhost:5000", "x", "localhost:5000/x:1", "localhost:5000/x:1"),
            (
                "127.0.0.1:8000/private/moonbase",
                "127.0.0.1:8000",
                "private/moonbase",
                "127.0.0.1:8000/private/moonbase",
                "127.0.0.1:8000/private/moonbase",
            ),
            (
                "example.com/privatebase",
                "example.com",
                "privatebase",
                "example.com/privatebase",
                "example.com/privatebase",
            ),
            ("test_com/foo", "docker.io", "test_com/foo", "test_com/foo", "docker.io/test_com/foo"),
            ("xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo", "xn--n3h.com:18080/foo", "xn--n3h.com:18080/foo"),
            (
                "[fc00::1]:5000/docker/docker",
                "[fc00::1]:5000",
                "docker/docker",
                "[fc00::1]:5000/docker/docker",
                "[fc00::1]:5000/docker/docker",
            ),
            ("Foo/bar", "Foo", "bar", "Foo/bar", "Foo/bar"),
            ("test.com:5000", "docker.io", "library/test.com", "test.com:5000", "docker.io/library/test.com:5000"),
            ("192.168.0.1", "docker.io", "library/192.168.0.1", "192.168.0.1", "docker.io/library/192.168.0.1"),
            (
                "docker---rules/docker",
                "docker.io",
                "docker---rules/docker",
                "docker---rules/docker",
                "docker.io/docker---rules/docker",
            ),
            ("dock__er/docker", "docker.io", "dock__er/docker", "dock__er/docker", "docker.io/dock__er/docker"),
            (
                "lowercase:Uppercase",
                "docker.io",
                "library/lowercase",
                "lowercase:Uppercase",
                "docker.io/library/lowercase:Uppercase",
            ),
            (
                "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
                "docker.io",
                "library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
                "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
                "docker.io/library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
            ),
        ];
        for &(input, domain, path, familiar, full) in cases {
            let r = ImageRef::parse_normalized(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.domain(), domain, "{input}");
            assert_eq!(r.path(), path, "{input}");
            assert_eq!(r.familiar(), familiar, "{input}");
            assert_eq!(r.full(), full, "{input}");
            // The full and familiar forms parse back to the same reference.
            assert_eq!(ImageRef::parse_normalized(&r.full()).unwrap(), r, "{input}");
            // …except a familiar 64-hex name, which Docker takes for an image ID.
            if !is_short_id_candidate(&r.familiar()) || r.familiar().len() < 64 {
                assert_eq!(ImageRef::parse_normalized(&r.familiar()).unwrap(), r, "{input}");
            }
        }
    }

    #[test]
    fn tags_and_digests() {
        let r = ImageRef::parse_normalized("busybox").unwrap();
        assert_eq!(r.tag(), None);
        assert_eq!(r.clone().with_default_tag().full(), "docker.io/library/busybox:latest");
        assert_eq!(r.with_default_tag().familiar(), "busybox:latest");

        let r = ImageRef::parse_normalized(&format!("redis@{D}")).unwrap();
        assert_eq!(r.digest().unwrap().to_string(), D);
        assert_eq!(r.tag(), None);
        assert_eq!(r.clone().with_default_tag(), r, "digest refs get no default tag");
        assert_eq!(r.full(), format!("docker.io/library/redis@{D}"));

        let both = format!("busybox:latest@{D}");
        let r = ImageRef::parse_normalized(&both).unwrap();
        assert_eq!(r.full(), format!("docker.io/library/{both}"));
        assert_eq!(r.familiar(), both);
        let r = ImageRef::parse_docker_ref(&both).unwrap();
        assert_eq!(r.full(), format!("docker.io/library/busybox@{D}"));

        let r = ImageRef::parse_normalized("localhost:5000/x").unwrap();
        assert_eq!(r.with_tag("v1").unwrap().familiar(), "localhost:5000/x:v1");
        assert!(r.with_tag("-bad").is_err());
        assert_eq!(ImageRef::parse_docker_ref("x").unwrap().full(), "docker.io/library/x:latest");
    }

    #[test]
    fn refuses_like_docker() {
        let long = format!("{}/docker", "a".repeat(256));
        let cases: &[(&str, &str)] = &[
            ("", "invalid reference format"),
            ("UPPER", "invalid reference format: repository name (library/UPPER) must be lowercase"),
            ("Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"),
            ("docker/Docker", "invalid reference format: repository name (docker/Docker) must be lowercase"),
            ("a:b:c", "invalid reference format"),
            ("-docker", "invalid reference format"),
            ("-docker/docker", "invalid reference format"),
            ("docker-/docker", "invalid reference format"),
            ("docker///docker", "invalid reference format"),
            ("____/____", "invalid reference format"),
            ("dock..er/docker", "invalid reference format"),
            ("dock_.er/docker", "invalid reference format"),
            ("docker/", "invalid reference format"),
            ("https://github.com/docker/docker", "invalid reference format"),
            ("[fc00::1]:5000", "invalid reference format"),
            ("fc00::1:5000/debian", "invalid reference format"),
            ("[fe80::1%eth0]:5000/debian", "invalid reference format"),
            ("busybox:-tag", "invalid reference format"),
            ("busybox@sha256:abc", "invalid reference format"),
            ("busybox@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9", "invalid checksum digest length"),
            ("busybox@md5:dbcc1c35ac38df41fd2f5e4130b32ffd", "unsupported digest algorithm"),
            ("1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
             "invalid repository name (1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a), cannot specify 64-byte hexadecimal strings"),
            (&long, "repository name must not be more than 255 characters"),
        ];
        for &(input, msg) in cases {
            let e = ImageRef::parse_normalized(input).expect_err(input);
            assert_eq!(e.to_string(), msg, "{input:?}");
            assert_eq!(wharf_types::Classify::kind(&e), wharf_types::ErrorKind::InvalidArgument);
        }
        // 255 characters of path are fine, 256 are not (counted after `library/`).
        let ok = format!("x/{}", "a".repeat(253));
        assert!(ImageRef::parse_normalized(&ok).is_ok());
        assert!(ImageRef::parse_normalized(&format!("{ok}a")).is_err());
        assert!(ImageRef::parse_normalized(&"a".repeat(247)).is_ok());
        assert!(ImageRef::parse_normalized(&"a".repeat(248)).is_err());
    }

    #[test]
    fn short_ids() {
        assert!(is_short_id_candidate("4f2c"));
        assert!(is_short_id_candidate("a"));
        assert!(is_short_id_candidate(&"ab".repeat(32)));
        assert!(is_short_id_candidate("sha256:4f2c"));
        assert_eq!(short_id_hex("sha256:4f2c"), Some("4f2c"));
        assert!(!is_short_id_candidate(&"ab".repeat(33)));
        assert!(!is_short_id_candidate(""));
        assert!(!is_short_id_candidate("sha256:"));
        assert!(!is_short_id_candidate("4F2C"));
        assert!(!is_short_id_candidate("busybox"));
    }
}
