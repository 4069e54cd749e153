//! Image references as Docker normalizes them: `busybox` → `docker.io/library/busybox`, with
//! Docker's grammar, limits and error texts — a hand-written port of
//! `github.com/distribution/reference` (`reference.go`, `normalize.go`), plus the docker CLI's
//! rules for `tag` and `commit` targets.
//!
//! Why not `oci_spec::distribution::Reference`: oci-spec 0.10 differs from Docker where users
//! see it:
//! - an uppercase repository fails as a bare `invalid reference format`, not Docker's
//!   `invalid reference format: repository name (library/Busybox) must be lowercase`;
//! - a 64-hex name (`docker pull <image id>`) is accepted instead of refused;
//! - a first component with uppercase letters (`Foo/bar`) is not taken as a registry domain,
//!   and IPv6 registries (`[fc00::1]:5000/x`) are refused;
//! - it always adds `latest` (so `name` and `name:latest` cannot be told apart), accepts unknown
//!   digest algorithms, and has no familiar (`docker images`) form.

use std::fmt;

use wharf_types::Digest;

use crate::error::ReferenceError;
use crate::grammar::{is_identifier, is_lower_hex, is_tag, match_reference, validate_digest};

/// Docker Hub's canonical domain.
pub const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_REPO_PREFIX: &str = "library/";
/// The tag a reference without tag or digest gets.
pub const DEFAULT_TAG: &str = "latest";
/// Longest repository name (`domain/path`, after normalization) Docker accepts.
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;

type Result<T, E = ReferenceError> = std::result::Result<T, E>;

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
        if is_identifier(s) {
            return Err(ReferenceError::HexName(s.to_string()));
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote = remainder.split(':').next().unwrap_or_default();
        if remote.to_lowercase() != remote {
            return Err(ReferenceError::UppercaseRepository(remote.to_string()));
        }
        parse(&format!("{domain}/{remainder}"))
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

    /// The registry domain (`docker.io`, `localhost:5000`); empty when the name has none
    /// (`a__b.c/d`, whose first component is no domain name).
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

    /// The full repository name, `domain/path` (`docker.io/library/busybox`), as the API's
    /// `repo` parameters take it.
    pub fn name(&self) -> String {
        if self.domain.is_empty() {
            self.path.clone()
        } else {
            format!("{}/{}", self.domain, self.path)
        }
    }

    /// The repository name as `docker images` prints it (`FamiliarName`): `busybox`,
    /// `myrepo/x`, `localhost:5000/x`.
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
            s.push_str(d.as_str());
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
            return Err(ReferenceError::InvalidTag);
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
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse_normalized(s)
    }
}

/// What [`parse_any_reference`] read: an image ID or digest, or a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyReference {
    /// A full image ID (`sha256:` added) or a digest.
    Digest(Digest),
    /// A normalized name.
    Named(ImageRef),
}

/// `ParseAnyReference`, as the docker CLI checks `run`/`create` images and `tag` sources: a
/// full hexadecimal ID or a digest is accepted as is; anything else must be a name. (A
/// `sha384:` digest, valid for go-digest but not a wharf [`Digest`], is read as the name
/// `sha384` with its hex as the tag, which is accepted too.)
pub fn parse_any_reference(s: &str) -> Result<AnyReference> {
    if is_identifier(s) {
        if let Ok(d) = format!("sha256:{s}").parse() {
            return Ok(AnyReference::Digest(d));
        }
    }
    if validate_digest(s).is_ok() {
        if let Ok(d) = s.parse() {
            return Ok(AnyReference::Digest(d));
        }
    }
    ImageRef::parse_normalized(s).map(AnyReference::Named)
}

/// What `POST /images/{name}/tag` gets for a `docker tag` target, as the docker client
/// computes it: the normalized name as `repo`, the tag (default `latest`) as `tag`.
pub fn tag_target(target: &str) -> Result<(String, String)> {
    let r = ImageRef::parse_normalized(target).map_err(|e| not_repository_tag(target, e))?;
    new_tag(r)
}

/// What `POST /commit` gets as `repo` and `tag` for `docker commit`'s reference, as the docker
/// client computes it (its errors unwrapped).
pub fn commit_target(reference: &str) -> Result<(String, String)> {
    new_tag(ImageRef::parse_normalized(reference)?)
}

/// Checks a `docker tag` source like the docker client (`ParseAnyReference`, its error
/// wrapped).
pub fn check_tag_source(source: &str) -> Result<()> {
    parse_any_reference(source).map(|_| ()).map_err(|e| not_repository_tag(source, e))
}

fn not_repository_tag(input: &str, e: ReferenceError) -> ReferenceError {
    ReferenceError::NotRepositoryTag { input: input.to_string(), error: Box::new(e) }
}

/// The name and tag (`TagNameOnly`: default `latest`) of a reference naming a new tag.
fn new_tag(r: ImageRef) -> Result<(String, String)> {
    if r.digest.is_some() {
        return Err(ReferenceError::TagWithDigest);
    }
    let name = r.name();
    Ok((name, r.tag.unwrap_or_else(|| DEFAULT_TAG.to_string())))
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

/// `Parse` of reference.go, applied to an already domain-prefixed string.
fn parse(s: &str) -> Result<ImageRef> {
    if s.is_empty() {
        return Err(ReferenceError::Empty);
    }
    let Some(m) = match_reference(s) else {
        let lower = s.to_lowercase();
        if lower != s && match_reference(&lower).is_some() {
            return Err(ReferenceError::ContainsUppercase);
        }
        return Err(ReferenceError::InvalidFormat);
    };
    // distribution/reference v0.6 (the docker 28 CLI and dockerd) counts the whole name,
    // domain included; later versions count only the path.
    if m.name.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(ReferenceError::NameTooLong);
    }
    let digest = m.digest.map(parse_digest).transpose()?;
    Ok(ImageRef { domain: m.domain.to_string(), path: m.path.to_string(), tag: m.tag.map(str::to_string), digest })
}

/// go-digest's `Parse`, then wharf's [`Digest`] (which has no `sha384`).
fn parse_digest(d: &str) -> Result<Digest> {
    validate_digest(d)?;
    d.parse().map_err(|_| ReferenceError::DigestUnsupported)
}

#[cfg(test)]
mod tests;
