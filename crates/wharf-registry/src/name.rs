//! Repository names, tags and manifest references, validated by the OCI distribution spec's
//! grammar before anything else sees them: a [`RepoName`] or a [`Tag`] is safe to use as a path
//! below a directory (no `.`/`..` component, no leading `_`, no empty component, no `/` in a tag).
//!
//! - name: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`, at most
//!   255 bytes (distribution's limit);
//! - tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`;
//! - reference: a tag, or a digest (`sha256:`/`sha512:` with lower-case hex, as
//!   [`wharf_types::Digest`] accepts).

use std::fmt;

use wharf_types::Digest;

/// Longest repository name accepted (distribution's `NameTotalLengthMax`).
pub const NAME_MAX: usize = 255;
/// Longest tag accepted.
pub const TAG_MAX: usize = 128;

/// Why a name, tag or reference is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The repository name does not match the spec's grammar.
    #[error("invalid repository name {0:?}")]
    Name(String),
    /// The repository name is longer than [`NAME_MAX`].
    #[error("repository name must not be more than {NAME_MAX} characters")]
    NameTooLong,
    /// The tag does not match the spec's grammar.
    #[error("invalid tag {0:?}")]
    Tag(String),
    /// A digest reference does not parse.
    #[error("{0}")]
    Digest(#[from] wharf_types::DigestError),
}

/// A validated repository name (`library/busybox`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName(String);

impl RepoName {
    /// Validates `s`.
    pub fn parse(s: &str) -> Result<RepoName, NameError> {
        if s.len() > NAME_MAX {
            return Err(NameError::NameTooLong);
        }
        if s.split('/').all(valid_component) {
            Ok(RepoName(s.to_string()))
        } else {
            Err(NameError::Name(s.to_string()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its `/`-separated components, each a safe path component.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let mut i = 0;
    loop {
        // A run of alphanumerics.
        let start = i;
        while i < b.len() && alnum(b[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == b.len() {
            return true;
        }
        // One separator: `.`, `_`, `__` or `-+`.
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// A validated tag (`latest`, `v1.2`, `sha256-<hex>` for the referrers tag schema).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    /// Validates `s`.
    pub fn parse(s: &str) -> Result<Tag, NameError> {
        let b = s.as_bytes();
        let first_ok = b.first().is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_');
        let rest_ok = b.iter().skip(1).all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'));
        if first_ok && rest_ok && b.len() <= TAG_MAX {
            Ok(Tag(s.to_string()))
        } else {
            Err(NameError::Tag(s.to_string()))
        }
    }

    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What `/v2/<name>/manifests/<reference>` names: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A tag.
    Tag(Tag),
    /// A manifest digest.
    Digest(Digest),
}

impl Reference {
    /// A digest when `s` holds a `:` (tags cannot), else a tag.
    pub fn parse(s: &str) -> Result<Reference, NameError> {
        if s.contains(':') {
            Ok(Reference::Digest(s.parse()?))
        } else {
            Ok(Reference::Tag(Tag::parse(s)?))
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Tag(t) => t.fmt(f),
            Reference::Digest(d) => d.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_spec_grammar() {
        for ok in ["a", "library/busybox", "a.b", "a_b", "a__b", "a---b", "0/1/2", "my-org/sub.team/img_1"] {
            assert!(RepoName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "A",
            "a/",
            "/a",
            "a//b",
            ".",
            "..",
            "a/../b",
            "a/./b",
            "_a",
            "a_",
            "a___b",
            "a.-b",
            "a-",
            "-a",
            "a..b",
            "a b",
            "a:b",
            "a\0",
            "é",
            "_uploads",
            "a/_manifests",
        ] {
            assert!(RepoName::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(RepoName::parse(&"a".repeat(256)), Err(NameError::NameTooLong));
        assert!(RepoName::parse(&"a".repeat(255)).is_ok());
    }

    #[test]
    fn tags_follow_the_spec_grammar() {
        for ok in ["latest", "v1.2.3", "_x", "A-b_c.d", "sha256-abc", &"a".repeat(128)] {
            assert!(Tag::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", ".hidden", "-x", "a/b", "a:b", "a b", &"a".repeat(129)] {
            assert!(Tag::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn references_are_tags_or_digests() {
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(Reference::parse(&d), Ok(Reference::Digest(d.parse().unwrap())));
        assert_eq!(Reference::parse("v1"), Ok(Reference::Tag(Tag::parse("v1").unwrap())));
        assert!(matches!(Reference::parse("sha256:xyz"), Err(NameError::Digest(_))));
        assert!(matches!(Reference::parse("md5:abc"), Err(NameError::Digest(_))));
        assert!(Reference::parse("../x").is_err());
    }
}
