//! htpasswd basic authentication, as distribution's `htpasswd` access controller does: the file
//! holds `user:hash` lines with bcrypt hashes (`htpasswd -B`: `$2y$`, also `$2a$`/`$2b$`); every
//! request must carry `Authorization: Basic …` for one of them, or gets `401 UNAUTHORIZED` with
//! `WWW-Authenticate: Basic realm="<realm>"`.
//!
//! bcrypt is slow on purpose (tens of milliseconds at the usual costs) and a push makes dozens of
//! requests, so a successful check is remembered as the SHA-256 of the password for that user
//! and hash; a wrong password is never remembered.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use base64::Engine as _;
use http::{header, HeaderMap, HeaderValue};
use wharf_types::Digest;

use super::error::{ErrorCode, RegistryError};

/// Why an htpasswd file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HtpasswdError {
    /// The file cannot be read.
    #[error("read htpasswd file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line is not `user:hash`.
    #[error("htpasswd file {path}, line {line}: expected user:hash")]
    Syntax {
        /// The file.
        path: String,
        /// The line number (1-based).
        line: usize,
    },
}

/// The users of an htpasswd file.
#[derive(Default)]
pub struct Htpasswd {
    users: HashMap<String, String>,
    /// user → SHA-256 of a password that matched the user's current hash.
    verified: Mutex<HashMap<String, Digest>>,
}

impl std::fmt::Debug for Htpasswd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the hashes.
        f.debug_struct("Htpasswd").field("users", &self.users.len()).finish_non_exhaustive()
    }
}

impl Htpasswd {
    /// Reads an htpasswd file. Entries that are not bcrypt are skipped with a warning
    /// (distribution supports only bcrypt); blank lines and `#` comments are ignored.
    pub fn load(path: &Path) -> Result<Htpasswd, HtpasswdError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| HtpasswdError::Read { path: path.display().to_string(), source })?;
        Htpasswd::parse(&text).map_err(|line| HtpasswdError::Syntax { path: path.display().to_string(), line })
    }

    /// Parses htpasswd text; `Err(line)` names the first malformed line.
    pub fn parse(text: &str) -> Result<Htpasswd, usize> {
        let mut users = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((user, hash)) = line.split_once(':') else { return Err(i + 1) };
            if user.is_empty() {
                return Err(i + 1);
            }
            if !(hash.starts_with("$2y$") || hash.starts_with("$2a$") || hash.starts_with("$2b$")) {
                tracing::warn!(user, "htpasswd: skipping an entry that is not bcrypt (create it with htpasswd -B)");
                continue;
            }
            users.insert(user.to_string(), hash.to_string());
        }
        Ok(Htpasswd { users, verified: Mutex::new(HashMap::new()) })
    }

    /// How many users can log in.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether no user can log in.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Whether `password` is `user`'s. Blocking (bcrypt): call from `spawn_blocking`.
    pub fn check(&self, user: &str, password: &str) -> bool {
        let Some(hash) = self.users.get(user) else { return false };
        let fingerprint = Digest::sha256_of(password.as_bytes());
        if self.verified.lock().is_ok_and(|v| v.get(user) == Some(&fingerprint)) {
            return true;
        }
        let ok = bcrypt::verify(password, hash).unwrap_or(false);
        if ok {
            if let Ok(mut v) = self.verified.lock() {
                v.insert(user.to_string(), fingerprint);
            }
        }
        ok
    }
}

/// The credentials of a `Basic` `Authorization` header.
pub fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(rest.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

/// The 401 answer: `UNAUTHORIZED` with the `WWW-Authenticate` challenge of `realm`.
pub fn challenge(realm: &str) -> RegistryError {
    let escaped = realm.replace('\\', "\\\\").replace('"', "\\\"");
    let value = HeaderValue::from_str(&format!("Basic realm=\"{escaped}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("Basic realm=\"registry\""));
    RegistryError::new(ErrorCode::Unauthorized).header(header::WWW_AUTHENTICATE, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> String {
        let hash = bcrypt::hash_with_result("s3cret", 4).unwrap().format_for_version(bcrypt::Version::TwoY);
        format!("# users\n\nalice:{hash}\nbob:{{SHA}}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\ncarol:$apr1$xyz$abc\n")
    }

    #[test]
    fn bcrypt_entries_are_checked() {
        let h = Htpasswd::parse(&file()).unwrap();
        assert_eq!(h.len(), 1, "only bcrypt entries count");
        assert!(h.check("alice", "s3cret"));
        assert!(h.check("alice", "s3cret"), "remembered");
        assert!(!h.check("alice", "wrong"));
        assert!(!h.check("bob", "password"));
        assert!(!h.check("nobody", "s3cret"));
    }

    #[test]
    fn malformed_lines_are_named() {
        assert_eq!(Htpasswd::parse("ok:$2y$04$x\nbroken\n").unwrap_err(), 2);
        assert_eq!(Htpasswd::parse(":$2y$04$x").unwrap_err(), 1);
    }

    #[test]
    fn basic_credentials_are_decoded() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic YWxpY2U6czNjOnJldA=="));
        assert_eq!(basic_credentials(&h), Some(("alice".into(), "s3c:ret".into())));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(basic_credentials(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert_eq!(basic_credentials(&h), None);
    }

    #[test]
    fn challenge_names_the_realm() {
        let e = challenge("my \"realm\"");
        assert_eq!(e.code, ErrorCode::Unauthorized);
        assert_eq!(e.headers[0].1, "Basic realm=\"my \\\"realm\\\"\"");
    }
}
