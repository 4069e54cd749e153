//! Registry credentials and challenges: the docker CLI's `X-Registry-Auth` header (base64url
//! JSON of an `AuthConfig`), `WWW-Authenticate` challenges (`Basic realm=…`, `Bearer
//! realm=…,service=…,scope=…`) as distribution's `challenge` package parses them, and the token
//! endpoint's answer (`token` or `access_token`).

use base64::Engine;
use serde::Deserialize;

/// Credentials for one registry, as the docker CLI sends them (`AuthConfig`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Credentials {
    /// User name.
    #[serde(default)]
    pub username: String,
    /// Password.
    #[serde(default)]
    pub password: String,
    /// `auth`: base64 of `user:password`, used when the two above are empty.
    #[serde(default)]
    pub auth: String,
    /// The registry they are for.
    #[serde(default)]
    pub serveraddress: String,
    /// An OAuth refresh token from a previous login.
    #[serde(default)]
    pub identitytoken: String,
    /// A bearer token to send as is.
    #[serde(default)]
    pub registrytoken: String,
}

impl Credentials {
    /// Basic credentials.
    pub fn basic(username: &str, password: &str) -> Self {
        Credentials { username: username.into(), password: password.into(), ..Default::default() }
    }

    /// Whether there is nothing to authenticate with.
    pub fn is_empty(&self) -> bool {
        self.user_password().is_none() && self.identitytoken.is_empty() && self.registrytoken.is_empty()
    }

    /// `(user, password)` from the fields or from `auth`.
    pub fn user_password(&self) -> Option<(String, String)> {
        if !self.username.is_empty() {
            return Some((self.username.clone(), self.password.clone()));
        }
        let raw = base64::engine::general_purpose::STANDARD.decode(self.auth.trim()).ok()?;
        let s = String::from_utf8(raw).ok()?;
        let (u, p) = s.split_once(':')?;
        Some((u.to_string(), p.to_string())).filter(|(u, _)| !u.is_empty())
    }

    /// The `Authorization` value for Basic auth.
    pub fn basic_header(&self) -> Option<String> {
        let (u, p) = self.user_password()?;
        Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))))
    }
}

/// Decodes an `X-Registry-Auth` header as dockerd does: base64url (padded or not, standard
/// alphabet tolerated) JSON. An empty header, `{}` or garbage is "no credentials" (dockerd
/// ignores an undecodable header for pulls).
pub fn decode_registry_auth(header: &str) -> Option<Credentials> {
    let h = header.trim();
    if h.is_empty() {
        return None;
    }
    let engines = [
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
    ];
    let raw = engines.iter().find_map(|e| e.decode(h).ok())?;
    let c: Credentials = serde_json::from_slice(&raw).ok()?;
    Some(c).filter(|c| !c.is_empty())
}

/// One `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// `basic` or `bearer` (lower-case).
    pub scheme: String,
    /// Parameters, names lower-case.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// A parameter by (lower-case) name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Parses a `WWW-Authenticate` value: `Scheme k=v, k="quoted \" v", …` (one challenge per
/// header value, as registries send them).
pub fn parse_challenge(value: &str) -> Option<Challenge> {
    let value = value.trim();
    let (scheme, rest) = match value.find(char::is_whitespace) {
        Some(i) => (&value[..i], value[i..].trim_start()),
        None => (value, ""),
    };
    if scheme.is_empty() {
        return None;
    }
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() {
            break;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek() != Some(&'=') {
            params.push((key.to_ascii_lowercase(), String::new()));
            continue;
        }
        chars.next();
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut val = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            val.push(n);
                        }
                    }
                    '"' => break,
                    c => val.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c.is_whitespace() {
                    break;
                }
                val.push(c);
                chars.next();
            }
        }
        params.push((key.to_ascii_lowercase(), val));
    }
    Some(Challenge { scheme: scheme.to_ascii_lowercase(), params })
}

/// The token endpoint's answer.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenResponse {
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub access_token: String,
}

impl TokenResponse {
    pub(crate) fn bearer(&self) -> Option<&str> {
        [&self.token, &self.access_token].into_iter().find(|t| !t.is_empty()).map(String::as_str)
    }
}

/// The scope of a repository: `repository:NAME:pull` or `…:pull,push`.
pub fn scope(repo: &str, push: bool) -> String {
    format!("repository:{repo}:{}", if push { "pull,push" } else { "pull" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenge() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#,
        )
        .unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.param("realm"), Some("https://auth.docker.io/token"));
        assert_eq!(c.param("service"), Some("registry.docker.io"));
        assert_eq!(c.param("scope"), Some("repository:library/busybox:pull"));
    }

    #[test]
    fn basic_challenge_and_odd_spacing() {
        let c = parse_challenge(r#"Basic realm="wharf \"registry\"" , charset=UTF-8"#).unwrap();
        assert_eq!(c.scheme, "basic");
        assert_eq!(c.param("realm"), Some("wharf \"registry\""));
        assert_eq!(c.param("charset"), Some("UTF-8"));
        assert_eq!(parse_challenge("Basic").unwrap().params, vec![]);
        assert!(parse_challenge("  ").is_none());
    }

    #[test]
    fn registry_auth_header() {
        use base64::Engine;
        let json = r#"{"username":"u","password":"p+/?","serveraddress":"127.0.0.1:5000"}"#;
        for e in [base64::engine::general_purpose::URL_SAFE, base64::engine::general_purpose::STANDARD] {
            let c = decode_registry_auth(&e.encode(json)).unwrap();
            assert_eq!(c.user_password(), Some(("u".into(), "p+/?".into())));
            assert_eq!(c.serveraddress, "127.0.0.1:5000");
        }
        assert!(decode_registry_auth("").is_none());
        assert!(decode_registry_auth(&base64::engine::general_purpose::URL_SAFE.encode("{}")).is_none());
        assert!(decode_registry_auth("!!!").is_none());
        let c = Credentials { auth: base64::engine::general_purpose::STANDARD.encode("a:b:c"), ..Default::default() };
        assert_eq!(c.user_password(), Some(("a".into(), "b:c".into())));
        assert_eq!(Credentials::basic("a", "b").basic_header().unwrap(), "Basic YTpi");
    }

    #[test]
    fn scopes() {
        assert_eq!(scope("library/x", false), "repository:library/x:pull");
        assert_eq!(scope("a/b", true), "repository:a/b:pull,push");
    }
}
