//! Registry credentials as the docker CLI keeps them (`cli/config/configfile`,
//! `cli/config/credentials`, `docker-credential-helpers/client`): the `auths` of
//! `config.json` (`auth` = base64 `user:pass`, `identitytoken`), a credential helper for
//! every registry (`credsStore`) or for one (`credHelpers.<registry>`), run as
//! `docker-credential-<name> get|store|erase|list` with JSON on stdin/stdout.
//!
//! Registries are keyed as docker keys them: Docker Hub (`docker.io`,
//! `index.docker.io`) as `https://index.docker.io/v1/`, others by host name, an entry
//! written as `https://host/…` still found for `host` ([`convert_to_hostname`]).
//!
//! [`encoded_auth_for_image`] is the `X-Registry-Auth` header of pull, push and run;
//! [`all_credentials`] and [`encode_registry_config`] the `X-Registry-Config` of build.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::anyhow;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use wharf_reference::ImageRef;

use crate::config::ConfigFile;

/// Docker Hub's key in `auths` (docker's `registry.IndexServer`).
pub(crate) const INDEX_SERVER: &str = "https://index.docker.io/v1/";
/// The user name a helper stores an identity token under.
const TOKEN_USERNAME: &str = "<token>";
/// What a helper prints when it has no credentials for a server.
const NOT_FOUND: &str = "credentials not found in native keychain";

/// docker's `registry.AuthConfig`: the JSON of `X-Registry-Auth` and of `POST /auth`
/// (fields in Go's order, empty ones left out).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AuthConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub email: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub serveraddress: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub identitytoken: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub registrytoken: String,
}

/// Go's `json.Marshal` output for `v`: serde's, with `<`, `>`, `&`, U+2028 and U+2029
/// escaped as Go escapes them (they only occur inside strings).
fn go_json<T: Serialize + ?Sized>(v: &T) -> String {
    let s = serde_json::to_string(v).unwrap_or_default();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

impl AuthConfig {
    /// The `X-Registry-Auth` header value (docker's `registry.EncodeAuthConfig`):
    /// base64url (padded) of the JSON; `e30=` (`{}`) without credentials.
    pub(crate) fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE.encode(go_json(self))
    }

    /// The body of `POST /auth` (Go's `json.Encoder`: a final newline).
    pub(crate) fn login_body(&self) -> Vec<u8> {
        let mut b = go_json(self).into_bytes();
        b.push(b'\n');
        b
    }

    /// The entry `config.json` keeps: `auth` instead of user and password, no server.
    fn stored_form(&self) -> Value {
        let mut m = Map::new();
        if !self.username.is_empty() || !self.password.is_empty() {
            let raw = format!("{}:{}", self.username, self.password);
            m.insert("auth".into(), Value::String(base64::engine::general_purpose::STANDARD.encode(raw)));
        }
        for (k, v) in
            [("email", &self.email), ("identitytoken", &self.identitytoken), ("registrytoken", &self.registrytoken)]
        {
            if !v.is_empty() {
                m.insert(k.into(), Value::String(v.clone()));
            }
        }
        Value::Object(m)
    }

    /// An `auths` entry as docker loads it: `auth` decoded into user and password, the
    /// key as server address.
    fn from_stored(key: &str, v: &Value) -> AuthConfig {
        let mut a: AuthConfig = serde_json::from_value(v.clone()).unwrap_or_default();
        if !a.auth.is_empty() {
            if let Some((u, p)) = base64::engine::general_purpose::STANDARD
                .decode(a.auth.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.split_once(':').map(|(u, p)| (u.to_string(), p.to_string())))
            {
                a.username = u;
                a.password = p.trim_matches('\0').to_string();
            }
        }
        a.auth.clear();
        a.serveraddress = key.to_string();
        a
    }
}

/// docker's `credentials.ConvertToHostname`: `https://host:5000/v2/` → `host:5000`.
pub(crate) fn convert_to_hostname(url: &str) -> String {
    let s = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")).unwrap_or(url);
    s.split('/').next().unwrap_or(s).to_string()
}

/// The key of a registry's credentials, from the domain of an image reference
/// (docker's `getAuthConfigKey`).
pub(crate) fn auth_config_key(domain: &str) -> String {
    if domain == "docker.io" || domain == "index.docker.io" {
        INDEX_SERVER.to_string()
    } else {
        domain.to_string()
    }
}

/// The credential helper for `key` (`credHelpers`, else `credsStore`), if any.
pub(crate) fn helper_for(cfg: &ConfigFile, key: &str) -> Option<String> {
    if !key.is_empty() {
        if let Some((_, h)) = cfg.cred_helpers().into_iter().find(|(k, _)| *k == key) {
            return Some(h.to_string());
        }
    }
    cfg.get_str("credsStore").map(String::from)
}

/// A credential helper, `docker-credential-<name>` on `PATH`.
#[derive(Debug, Clone)]
pub(crate) struct Helper {
    pub program: PathBuf,
}

/// The JSON a helper reads for `store` and prints for `get`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Credentials {
    #[serde(rename = "ServerURL", default)]
    server_url: String,
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Why a helper call failed.
#[derive(Debug)]
enum HelperError {
    NotFound,
    Other(String),
}

impl Helper {
    pub(crate) fn new(name: &str) -> Helper {
        Helper { program: PathBuf::from(format!("docker-credential-{name}")) }
    }

    /// Runs `<helper> <action>` with `input` on stdin; its trimmed output, or the
    /// error text docker's helper client makes of a failure.
    fn run(&self, action: &str, input: &[u8]) -> Result<String, (String, String)> {
        let child = Command::new(&self.program)
            .arg(action)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err((
                    format!("exec: \"{}\": executable file not found in $PATH", self.program.display()),
                    String::new(),
                ))
            }
            Err(e) => return Err((format!("fork/exec {}: {}", self.program.display(), e), String::new())),
        };
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(input);
        }
        let out = child.wait_with_output().map_err(|e| (e.to_string(), String::new()))?;
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() {
            return Ok(text);
        }
        let status = match out.status.code() {
            Some(c) => format!("exit status {c}"),
            None => "signal: killed".to_string(),
        };
        Err((status, text))
    }

    fn classify(err: (String, String), what: &str) -> HelperError {
        let (err, out) = err;
        if out == NOT_FOUND {
            return HelperError::NotFound;
        }
        let err = match out.as_str() {
            "no credentials server URL" | "no credentials username" => out.clone(),
            _ => err,
        };
        HelperError::Other(format!("error {what} credentials - err: {err}, out: `{out}`"))
    }

    /// `get`: the credentials for `server`, `None` when the helper has none.
    fn get(&self, server: &str) -> Result<Option<AuthConfig>, String> {
        match self.run("get", server.as_bytes()) {
            Ok(out) => {
                let c: Credentials = serde_json::from_str(&out).map_err(|e| e.to_string())?;
                let mut a = AuthConfig { serveraddress: server.to_string(), ..AuthConfig::default() };
                if c.username == TOKEN_USERNAME {
                    a.identitytoken = c.secret;
                } else {
                    a.username = c.username;
                    a.password = c.secret;
                }
                Ok(Some(a))
            }
            Err(e) => match Self::classify(e, "getting") {
                HelperError::NotFound => Ok(None),
                HelperError::Other(m) => Err(m),
            },
        }
    }

    /// `store`: an identity token is stored under the user name `<token>`.
    fn store(&self, a: &AuthConfig) -> Result<(), String> {
        let mut c = Credentials {
            server_url: a.serveraddress.clone(),
            username: a.username.clone(),
            secret: a.password.clone(),
        };
        if !a.identitytoken.is_empty() {
            c.username = TOKEN_USERNAME.into();
            c.secret = a.identitytoken.clone();
        }
        let input = serde_json::to_vec(&c).map_err(|e| e.to_string())?;
        match self.run("store", &input) {
            Ok(_) => Ok(()),
            Err(e) => match Self::classify(e, "storing") {
                HelperError::NotFound => Err(format!("error storing credentials - err: {NOT_FOUND}")),
                HelperError::Other(m) => Err(m),
            },
        }
    }

    /// `erase`.
    fn erase(&self, server: &str) -> Result<(), String> {
        match self.run("erase", server.as_bytes()) {
            Ok(_) => Ok(()),
            Err(e) => match Self::classify(e, "erasing") {
                HelperError::NotFound => Err(NOT_FOUND.to_string()),
                HelperError::Other(m) => Err(m),
            },
        }
    }

    /// `list`: server URL → user name.
    #[allow(dead_code)] // for build's X-Registry-Config (`all_credentials`), not wired yet
    fn list(&self) -> Result<BTreeMap<String, String>, String> {
        match self.run("list", b"unused") {
            Ok(out) => serde_json::from_str(&out).map_err(|e| e.to_string()),
            Err(e) => match Self::classify(e, "listing") {
                HelperError::NotFound => Ok(BTreeMap::new()),
                HelperError::Other(m) => Err(m),
            },
        }
    }
}

/// The file store's lookup: the entry `key`, else one whose key names the same host
/// (`https://host/v1/` for `host`); empty when there is none.
fn file_get(cfg: &ConfigFile, key: &str) -> AuthConfig {
    let auths = cfg.auths();
    if let Some((k, v)) = auths.iter().find(|(k, _)| *k == key) {
        return AuthConfig::from_stored(k, v);
    }
    for (k, v) in &auths {
        if convert_to_hostname(k) == key {
            return AuthConfig::from_stored(k, v);
        }
    }
    AuthConfig::default()
}

/// docker's `ConfigFile.GetAuthConfig`: the credentials for `key` from its helper, or
/// from `auths`.
pub(crate) fn get_auth_config(cfg: &ConfigFile, key: &str) -> Result<AuthConfig, String> {
    match helper_for(cfg, key) {
        Some(h) => {
            let mut a = Helper::new(&h).get(key)?.unwrap_or_default();
            // The deprecated email still comes from the file.
            a.email = file_get(cfg, key).email;
            Ok(a)
        }
        None => Ok(file_get(cfg, key)),
    }
}

/// Stores `a` under `a.serveraddress`: through its helper (the file keeps an empty
/// entry), or in `auths`; the file is saved. Returns whether the credentials went to
/// the file (docker then warns about unencrypted storage).
pub(crate) fn store_credentials(cfg: &mut ConfigFile, a: &AuthConfig) -> anyhow::Result<bool> {
    if a.serveraddress.is_empty() {
        return Err(anyhow!("invalid auth config: no server address"));
    }
    let helper = helper_for(cfg, &a.serveraddress);
    let mut entry = a.clone();
    if let Some(h) = &helper {
        Helper::new(h).store(a).map_err(|e| anyhow!(e))?;
        entry.username.clear();
        entry.password.clear();
        entry.identitytoken.clear();
    }
    cfg.set_auth(&a.serveraddress, entry.stored_form());
    cfg.save()?;
    Ok(helper.is_none())
}

/// Erases the credentials of `key`: from its helper first (a failure there leaves the
/// file as it is, as docker does), then from `auths`. The file is not saved.
pub(crate) fn erase_credentials(cfg: &mut ConfigFile, key: &str) -> Result<(), String> {
    if let Some(h) = helper_for(cfg, key) {
        Helper::new(&h).erase(key)?;
    }
    cfg.remove_auth(key);
    Ok(())
}

/// docker's `GetAllCredentials`: every registry's credentials (`auths` and the default
/// helper's `list`, then each `credHelpers` registry), for build's `X-Registry-Config`.
#[allow(dead_code)] // for `wharf build`, not wired yet
pub(crate) fn all_credentials(cfg: &ConfigFile) -> Result<BTreeMap<String, AuthConfig>, String> {
    let mut out = BTreeMap::new();
    for (k, v) in cfg.auths() {
        out.insert(k.to_string(), AuthConfig::from_stored(k, v));
    }
    if let Some(store) = cfg.get_str("credsStore") {
        let helper = Helper::new(store);
        for server in helper.list()?.into_keys() {
            if let Some(mut a) = helper.get(&server)? {
                a.email = file_get(cfg, &server).email;
                out.insert(server, a);
            }
        }
    }
    for (registry, _) in cfg.cred_helpers() {
        match get_auth_config(cfg, registry) {
            Ok(a) => {
                out.insert(registry.to_string(), a);
            }
            Err(e) => tracing::warn!("Failed to get credentials for registry: {registry}: {e}"),
        }
    }
    Ok(out)
}

/// The `X-Registry-Config` header of `POST /build`: base64url of the credentials map.
#[allow(dead_code)] // for `wharf build`, not wired yet
pub(crate) fn encode_registry_config(auths: &BTreeMap<String, AuthConfig>) -> String {
    base64::engine::general_purpose::URL_SAFE.encode(go_json(auths))
}

/// The credentials docker sends to pull or push `image` (its registry's, empty when
/// there are none), unencoded.
pub(crate) fn auth_for_image(cfg: &ConfigFile, image: &ImageRef) -> Result<AuthConfig, String> {
    let key = auth_config_key(image.domain());
    let a = get_auth_config(cfg, &key)?;
    Ok(AuthConfig {
        username: a.username,
        password: a.password,
        serveraddress: a.serveraddress,
        identitytoken: a.identitytoken,
        registrytoken: a.registrytoken,
        ..AuthConfig::default()
    })
}

/// The `X-Registry-Auth` header for `image` (docker's `RetrieveAuthTokenFromImage`).
pub(crate) fn encoded_auth_for_image(cfg: &ConfigFile, image: &ImageRef) -> Result<String, String> {
    Ok(auth_for_image(cfg, image)?.encode())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    fn b64url_json(s: &str) -> String {
        let bytes = base64::engine::general_purpose::URL_SAFE.decode(s).expect("base64url");
        String::from_utf8(bytes).expect("utf8")
    }

    /// The headers the docker 28.2 CLI sent for the same config (recorded from
    /// `docker pull` against a recording socket).
    #[test]
    fn x_registry_auth_like_docker() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(
            dir.path().join("config.json"),
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"},"localhost:5000":{"auth":"YTpi"},"https://r.example.com":{"auth":"Yzpk"},"tok.example.com":{"auth":"dTpw","identitytoken":"IDTOK"}}}"#,
        )
        .expect("write");
        let cfg = ConfigFile::load(dir.path());
        let enc =
            |image: &str| encoded_auth_for_image(&cfg, &ImageRef::parse_normalized(image).expect("ref")).expect("auth");
        assert_eq!(
            enc("busybox"),
            "eyJ1c2VybmFtZSI6InVzZXIiLCJwYXNzd29yZCI6InBhc3MiLCJzZXJ2ZXJhZGRyZXNzIjoiaHR0cHM6Ly9pbmRleC5kb2NrZXIuaW8vdjEvIn0="
        );
        assert_eq!(enc("index.docker.io/library/busybox"), enc("busybox"));
        assert_eq!(
            enc("localhost:5000/x"),
            "eyJ1c2VybmFtZSI6ImEiLCJwYXNzd29yZCI6ImIiLCJzZXJ2ZXJhZGRyZXNzIjoibG9jYWxob3N0OjUwMDAifQ=="
        );
        assert_eq!(
            enc("r.example.com/x"),
            "eyJ1c2VybmFtZSI6ImMiLCJwYXNzd29yZCI6ImQiLCJzZXJ2ZXJhZGRyZXNzIjoiaHR0cHM6Ly9yLmV4YW1wbGUuY29tIn0="
        );
        assert_eq!(
            enc("tok.example.com/x:1"),
            "eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InAiLCJzZXJ2ZXJhZGRyZXNzIjoidG9rLmV4YW1wbGUuY29tIiwiaWRlbnRpdHl0b2tlbiI6IklEVE9LIn0="
        );
        assert_eq!(enc("other.io/y"), "e30=");
        assert_eq!(
            b64url_json(&enc("tok.example.com/x")),
            r#"{"username":"u","password":"p","serveraddress":"tok.example.com","identitytoken":"IDTOK"}"#
        );
        // Go's HTML-safe JSON.
        let a = AuthConfig { password: "<&>".into(), ..AuthConfig::default() };
        assert_eq!(b64url_json(&a.encode()), r#"{"password":"\u003c\u0026\u003e"}"#);
        assert_eq!(
            String::from_utf8(
                AuthConfig {
                    username: "bob".into(),
                    password: "pw1".into(),
                    serveraddress: "localhost:5000".into(),
                    ..AuthConfig::default()
                }
                .login_body()
            )
            .expect("utf8"),
            "{\"username\":\"bob\",\"password\":\"pw1\",\"serveraddress\":\"localhost:5000\"}\n"
        );
    }

    #[test]
    fn key_normalization() {
        assert_eq!(convert_to_hostname("https://r.example.com/v2/"), "r.example.com");
        assert_eq!(convert_to_hostname("http://localhost:5000"), "localhost:5000");
        assert_eq!(convert_to_hostname("localhost:5000/x"), "localhost:5000");
        assert_eq!(convert_to_hostname("ftp://x/y"), "ftp:");
        assert_eq!(auth_config_key("docker.io"), INDEX_SERVER);
        assert_eq!(auth_config_key("index.docker.io"), INDEX_SERVER);
        assert_eq!(auth_config_key("localhost:5000"), "localhost:5000");
    }

    #[test]
    fn file_store_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.json");
        fs::write(&path, "{\n\t\"psFormat\": \"x\",\n\t\"unknownKey\": {\"a\": [1, 2]}\n}").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).expect("chmod");
        let mut cfg = ConfigFile::load(dir.path());
        let a = AuthConfig {
            username: "bob".into(),
            password: "pw1".into(),
            serveraddress: "localhost:5000".into(),
            ..AuthConfig::default()
        };
        assert!(store_credentials(&mut cfg, &a).expect("store"));
        let a = AuthConfig {
            username: "tk".into(),
            identitytoken: "tok123".into(),
            serveraddress: "tok.io".into(),
            ..AuthConfig::default()
        };
        assert!(store_credentials(&mut cfg, &a).expect("store"));
        let text = fs::read_to_string(&path).expect("read");
        let v: Value = serde_json::from_str(&text).expect("json");
        // As docker 28.2 stored the same logins.
        assert_eq!(v["auths"]["localhost:5000"], serde_json::json!({"auth": "Ym9iOnB3MQ=="}));
        assert_eq!(v["auths"]["tok.io"], serde_json::json!({"auth": "dGs6", "identitytoken": "tok123"}));
        assert_eq!(v["unknownKey"], serde_json::json!({"a": [1, 2]}));
        assert_eq!(v["psFormat"], "x");
        assert!(
            text.contains("\n\t\"auths\": {\n\t\t\"localhost:5000\": {\n\t\t\t\"auth\": \"Ym9iOnB3MQ==\"\n\t\t},"),
            "{text}"
        );
        // The existing mode is kept; no temp file is left.
        assert_eq!(fs::metadata(&path).expect("stat").permissions().mode() & 0o777, 0o640);
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 1);

        let cfg = ConfigFile::load(dir.path());
        let got = get_auth_config(&cfg, "localhost:5000").expect("get");
        assert_eq!(
            (got.username.as_str(), got.password.as_str(), got.serveraddress.as_str()),
            ("bob", "pw1", "localhost:5000")
        );
        assert_eq!(get_auth_config(&cfg, "tok.io").expect("get").identitytoken, "tok123");
        assert_eq!(get_auth_config(&cfg, "nothere").expect("get"), AuthConfig::default());

        let mut cfg = ConfigFile::load(dir.path());
        erase_credentials(&mut cfg, "localhost:5000").expect("erase");
        cfg.save().expect("save");
        let v: Value = serde_json::from_slice(&fs::read(&path).expect("read")).expect("json");
        assert!(v["auths"].get("localhost:5000").is_none());
        assert!(v["auths"].get("tok.io").is_some());

        // A new file is 0600.
        let dir2 = tempfile::tempdir().expect("tempdir");
        let mut cfg = ConfigFile::load(&dir2.path().join("new"));
        store_credentials(
            &mut cfg,
            &AuthConfig {
                username: "a".into(),
                password: "b".into(),
                serveraddress: INDEX_SERVER.into(),
                ..AuthConfig::default()
            },
        )
        .expect("store");
        let meta = fs::metadata(dir2.path().join("new/config.json")).expect("stat");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    /// A fake `docker-credential-test` on `PATH`, recording its calls.
    pub(crate) struct FakeHelper {
        pub dir: tempfile::TempDir,
    }

    impl FakeHelper {
        pub(crate) fn new() -> FakeHelper {
            let dir = tempfile::tempdir().expect("tempdir");
            let log = dir.path().join("calls.log");
            let script = format!(
                r#"#!/bin/sh
input=$(cat)
printf '%s %s\n' "$1" "$input" >> {log}
case "$1" in
get)
  case "$input" in
  localhost:5000) echo '{{"ServerURL":"localhost:5000","Username":"hu","Secret":"hs"}}';;
  tok.io) echo '{{"ServerURL":"tok.io","Username":"<token>","Secret":"T0K"}}';;
  broken.io) echo 'keychain locked'; exit 3;;
  *) echo 'credentials not found in native keychain'; exit 1;;
  esac;;
list) echo '{{"localhost:5000":"hu"}}';;
store) ;;
erase) if [ "$input" = "fail.io" ]; then echo boom; exit 1; fi;;
esac
"#,
                log = log.display()
            );
            let prog = dir.path().join("docker-credential-test");
            fs::write(&prog, script).expect("script");
            fs::set_permissions(&prog, fs::Permissions::from_mode(0o755)).expect("chmod");
            FakeHelper { dir }
        }

        pub(crate) fn helper(&self) -> Helper {
            Helper { program: self.dir.path().join("docker-credential-test") }
        }

        pub(crate) fn calls(&self) -> String {
            fs::read_to_string(self.dir.path().join("calls.log")).unwrap_or_default()
        }
    }

    #[test]
    fn helper_protocol() {
        let fake = FakeHelper::new();
        let h = fake.helper();
        let got = h.get("localhost:5000").expect("get").expect("found");
        assert_eq!(
            (got.username.as_str(), got.password.as_str(), got.serveraddress.as_str()),
            ("hu", "hs", "localhost:5000")
        );
        let got = h.get("tok.io").expect("get").expect("found");
        assert_eq!((got.username.as_str(), got.identitytoken.as_str()), ("", "T0K"));
        assert!(h.get("other.io").expect("not found is no error").is_none());
        assert_eq!(
            h.get("broken.io").expect_err("error"),
            "error getting credentials - err: exit status 3, out: `keychain locked`"
        );
        h.store(&AuthConfig {
            username: "bob".into(),
            password: "pw".into(),
            serveraddress: "localhost:5000".into(),
            ..AuthConfig::default()
        })
        .expect("store");
        h.store(&AuthConfig {
            username: "bob".into(),
            identitytoken: "IT".into(),
            serveraddress: "tok.io".into(),
            ..AuthConfig::default()
        })
        .expect("store");
        h.erase("localhost:5000").expect("erase");
        assert_eq!(
            h.erase("fail.io").expect_err("fails"),
            "error erasing credentials - err: exit status 1, out: `boom`"
        );
        assert_eq!(h.list().expect("list"), BTreeMap::from([("localhost:5000".to_string(), "hu".to_string())]));
        assert_eq!(
            fake.calls(),
            concat!(
                "get localhost:5000\n",
                "get tok.io\n",
                "get other.io\n",
                "get broken.io\n",
                "store {\"ServerURL\":\"localhost:5000\",\"Username\":\"bob\",\"Secret\":\"pw\"}\n",
                "store {\"ServerURL\":\"tok.io\",\"Username\":\"<token>\",\"Secret\":\"IT\"}\n",
                "erase localhost:5000\n",
                "erase fail.io\n",
                "list unused\n",
            )
        );
        let missing = Helper::new("wharf-test-does-not-exist");
        assert_eq!(
            missing.store(&AuthConfig { serveraddress: "x".into(), ..AuthConfig::default() }).expect_err("missing"),
            "error storing credentials - err: exec: \"docker-credential-wharf-test-does-not-exist\": executable file not found in $PATH, out: ``"
        );
    }
}
