//! Registry commands: `pull` and `push` (also `image pull`/`image push`), `login` and
//! `logout`, as the docker 28 CLI does them.
//!
//! `pull` is `POST /images/create?fromImage=…&tag=…` and `push` is
//! `POST /images/{name}/push?tag=…`, both with the `X-Registry-Auth` header built from
//! the credentials of the image's registry (`auth.rs`); their JSON progress streams are
//! shown by `jsonmessage.rs` (bars on a terminal, docker's lines otherwise), `-q` shows
//! nothing but the full reference at the end. On a terminal, a 401 from the daemon
//! prompts for credentials once (`Login prior to pull:`) and the request is retried.
//!
//! `login` checks credentials with the daemon (`POST /auth`) and stores them as docker
//! does (`config.json` `auths`, or a credential helper); `logout` erases them. Docker
//! Hub's web-based device login is not done: wharf prompts for a user name and password
//! (or token) instead.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::anyhow;
use clap::Args;
use futures_util::StreamExt;
use http::Method;
use wharf_reference::{ImageRef, Platform};

use crate::auth::{self, AuthConfig, INDEX_SERVER};
use crate::config::ConfigFile;
use crate::connect::{path_escape, BodyStream, Conn};
use crate::filters::Query;
use crate::image::{connect, platform_json, require_api};
use crate::jsonmessage::{self, Display};
use crate::system::Target;

/// The header carrying registry credentials.
const AUTH_HEADER: &str = "x-registry-auth";

// ---------------------------------------------------------------------------------------
// pull
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct PullArgs {
    /// Download all tagged images in the repository
    #[arg(short = 'a', long = "all-tags")]
    all_tags: bool,
    /// Skip image verification (default true)
    #[arg(long = "disable-content-trust", num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = crate::cli::parse_go_bool, value_name = "bool")]
    disable_content_trust: Option<bool>,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "string")]
    platform: Option<String>,
    /// Suppress verbose output
    #[arg(short, long)]
    quiet: bool,
    #[arg(value_name = "NAME[:TAG|@DIGEST]")]
    name: String,
}

/// The query of `POST /images/create` for a pull (docker's `ImagePull`): the repository,
/// the tag or digest unless `all`, the platform in lower case.
pub(crate) fn pull_query(r: &ImageRef, all: bool, platform: Option<&str>) -> String {
    let mut q = Query::default();
    q.add("fromImage", &r.name());
    if !all {
        let tag = match (r.digest(), r.tag()) {
            (Some(d), _) => d.as_str().to_string(),
            (None, Some(t)) => t.to_string(),
            (None, None) => String::new(),
        };
        q.add("tag", &tag);
    }
    if let Some(p) = platform.filter(|p| !p.is_empty()) {
        q.add("platform", &p.to_lowercase());
    }
    q.encode()
}

/// Parses NAME and applies docker's `-a` rules: a tag or digest with `-a` is an error;
/// without `-a`, a bare name gets `latest` (and `Using default tag: latest` is printed
/// unless `quiet`).
fn target_ref(name: &str, all: bool, quiet: bool) -> anyhow::Result<ImageRef> {
    let r = ImageRef::parse_normalized(name)?;
    let name_only = r.tag().is_none() && r.digest().is_none();
    if all && !name_only {
        return Err(anyhow!("tag can't be used with --all-tags/-a"));
    }
    if !all && name_only {
        let r = r.with_default_tag();
        if !quiet {
            println!("Using default tag: {}", r.tag().unwrap_or_default());
        }
        return Ok(r);
    }
    Ok(r)
}

/// `wharf pull`.
pub(crate) async fn pull(t: &Target, cfg: &ConfigFile, a: &PullArgs) -> anyhow::Result<()> {
    let platform =
        a.platform.clone().or_else(|| std::env::var("DOCKER_DEFAULT_PLATFORM").ok()).filter(|p| !p.is_empty());
    // docker checks the API version of a flag before the command runs.
    let mut conn = None;
    if platform.is_some() {
        let c = connect(t).await?;
        require_api(&c, "platform", (1, 32))?;
        conn = Some(c);
    }
    let r = target_ref(&a.name, a.all_tags, a.quiet)?;
    let conn = match conn {
        Some(c) => c,
        None => connect(t).await?,
    };
    // docker ignores errors of the credential store here (no credentials are sent).
    let auth = auth::encoded_auth_for_image(cfg, &r).unwrap_or_else(|_| AuthConfig::default().encode());
    let path = format!("/images/create{}", pull_query(&r, a.all_tags, platform.as_deref()));
    send_with_auth(&conn, cfg, &path, &r, auth, "pull", a.quiet).await?;
    println!("{}", r.full());
    Ok(())
}

// ---------------------------------------------------------------------------------------
// push
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct PushArgs {
    /// Push all tags of an image to the repository
    #[arg(short = 'a', long = "all-tags")]
    all_tags: bool,
    /// Skip image signing (default true)
    #[arg(long = "disable-content-trust", num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = crate::cli::parse_go_bool, value_name = "bool")]
    disable_content_trust: Option<bool>,
    /// Push a platform-specific manifest as a single-platform image to the registry. Image index won't be pushed, meaning that other manifests, including attestations won't be preserved. 'os[/arch[/variant]]': Explicit platform (eg. linux/amd64)
    #[arg(long, value_name = "string")]
    platform: Option<String>,
    /// Suppress verbose output
    #[arg(short, long)]
    quiet: bool,
    #[arg(value_name = "NAME[:TAG]")]
    name: String,
}

/// The path and query of a push (docker's `ImagePush`): the familiar name in the path,
/// the tag unless `all`, the platform as JSON.
pub(crate) fn push_path(r: &ImageRef, all: bool, platform: Option<&str>) -> String {
    let mut q = Query::default();
    if !all {
        if let Some(tag) = r.tag() {
            q.add("tag", tag);
        }
    }
    if let Some(p) = platform {
        q.add("platform", p);
    }
    format!("/images/{}/push{}", path_escape(&r.familiar_name()), q.encode())
}

/// The note docker prints for `push --platform`: the lines, with `--platform` bold on a terminal.
const PLATFORM_PUSH_NOTE: [&str; 4] = [
    "Using \x01--platform\x02 pushes only the specified platform manifest of a multi-platform image index.",
    "Other components, like attestations, will not be included.",
    "To push the complete multi-platform image, remove the \x01--platform\x02 flag.",
    "",
];

/// docker's `tui` info note: ` Info -> ` and the lines indented below it; on a terminal,
/// styled as docker styles it (`\x01`…`\x02` marks bold text, `\x03`…`\x02` underlined).
pub(crate) fn info_note(lines: &[&str], tty: bool) -> String {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let prefix = match (i, tty) {
            (0, false) => " Info -> ",
            (0, true) => "\x1b[1m\x1b[106m\x1b[30mi\x1b[0m\x1b[0m \x1b[96mInfo \u{2192} \x1b[0m\x1b[0m",
            _ => "         ",
        };
        out.push_str(prefix);
        if tty {
            out.push_str("\x1b[3m");
            out.push_str(&line.replace('\x01', "\x1b[1m").replace('\x03', "\x1b[4m").replace('\x02', "\x1b[0m"));
            out.push_str("\x1b[0m");
        } else {
            out.push_str(&line.replace(['\x01', '\x02', '\x03'], ""));
        }
        out.push('\n');
    }
    out
}

/// `wharf push`.
pub(crate) async fn push(t: &Target, cfg: &ConfigFile, a: &PushArgs) -> anyhow::Result<()> {
    let conn = connect(t).await?;
    let mut platform = None;
    if let Some(p) = a.platform.as_deref().filter(|p| !p.is_empty()) {
        require_api(&conn, "platform", (1, 46))?;
        let parsed = Platform::parse(p).map_err(|e| {
            eprint!("Invalid platform {p}");
            anyhow!(e)
        })?;
        platform = Some(platform_json(&parsed));
        print!("\n{}", info_note(&PLATFORM_PUSH_NOTE, std::io::stdout().is_terminal()));
    }
    let r = target_ref(&a.name, a.all_tags, a.quiet)?;
    let auth = auth::encoded_auth_for_image(cfg, &r).map_err(|e| anyhow!(e))?;
    if r.digest().is_some() {
        return Err(anyhow!("cannot push a digest reference"));
    }
    let path = push_path(&r, a.all_tags, platform.as_deref());
    send_with_auth(&conn, cfg, &path, &r, auth, "push", a.quiet).await?;
    if a.quiet {
        println!("{}", r.full());
    }
    Ok(())
}

/// Sends a pull or push and shows its progress. A 401 with standard input on a
/// terminal prompts for credentials (docker's `RegistryAuthenticationPrivilegedFunc`) and
/// sends the request once more with them.
async fn send_with_auth(
    conn: &Conn,
    cfg: &ConfigFile,
    path: &str,
    r: &ImageRef,
    auth: String,
    what: &str,
    quiet: bool,
) -> anyhow::Result<()> {
    let mut header = auth;
    let mut retried = false;
    loop {
        let mut stream = conn.raw_with_headers(Method::POST, path, None, vec![(AUTH_HEADER, header.clone())]);
        let first = stream.next().await;
        if let Some(Err(bollard::errors::Error::DockerResponseServerError { status_code: 401, .. })) = &first {
            if !retried && std::io::stdin().is_terminal() {
                retried = true;
                header = privileged_auth(cfg, r, what)?.encode();
                continue;
            }
        }
        let head = futures_util::stream::iter(first);
        let c2 = conn.clone();
        let all = head.chain(stream).map(move |c| c.map_err(|e| c2.error(e)));
        return show(Box::pin(all), quiet).await;
    }
}

/// docker's privilege function: a new prompt for the registry's credentials.
fn privileged_auth(cfg: &ConfigFile, r: &ImageRef, what: &str) -> anyhow::Result<AuthConfig> {
    let key = auth::auth_config_key(r.domain());
    println!("\nLogin prior to {what}:");
    let stored = match auth::get_auth_config(cfg, &key) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("Unable to retrieve stored credentials for {key}, error: {e}.");
            AuthConfig::default()
        }
    };
    prompt_credentials("", "", &stored.username, &key)
}

/// Shows a progress stream on stdout (nothing with `quiet`, but errors still end it).
async fn show<S>(stream: S, quiet: bool) -> anyhow::Result<()>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, anyhow::Error>> + Unpin,
{
    if quiet {
        let mut sink = jsonmessage::Plain { out: std::io::sink() };
        jsonmessage::display_stream(stream, &mut sink as &mut dyn Display).await
    } else if std::io::stdout().is_terminal() {
        jsonmessage::display_stream(stream, &mut jsonmessage::Terminal::new()).await
    } else {
        let mut plain = jsonmessage::Plain { out: std::io::stdout() };
        jsonmessage::display_stream(stream, &mut plain as &mut dyn Display).await
    }
}

// ---------------------------------------------------------------------------------------
// login / logout
// ---------------------------------------------------------------------------------------

/// The help of `login`, with docker's long description.
pub(crate) const LOGIN_HELP: &str = "Authenticate to a registry.
Defaults to Docker Hub if no server is specified.

{usage-heading} {usage}

{all-args}{after-help}";

/// The help of `logout`, with docker's long description.
pub(crate) const LOGOUT_HELP: &str = "Log out from a registry.
If no server is specified, the default is defined by the daemon.

{usage-heading} {usage}

{all-args}{after-help}";

#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    /// Password or Personal Access Token (PAT)
    #[arg(short, long, value_name = "string")]
    password: Option<String>,
    /// Take the Password or Personal Access Token (PAT) from stdin
    #[arg(long = "password-stdin")]
    password_stdin: bool,
    /// Username
    #[arg(short, long, value_name = "string")]
    username: Option<String>,
    #[arg(value_name = "SERVER")]
    server: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct LogoutArgs {
    #[arg(value_name = "SERVER")]
    server: Option<String>,
}

/// docker's suggestions when logging in to Docker Hub without a user name.
const REGISTER_SUGGEST: &str = "Log in with your Docker ID or email address to push and pull images from Docker Hub. If you don't have a Docker ID, head over to https://hub.docker.com/ to create one.";
const PAT_SUGGEST: &str = "You can log in with your password or a Personal Access Token (PAT). Using a limited-scope PAT grants better security and is required for organizations using SSO. Learn more at https://docs.docker.com/go/access-tokens/";

/// The warning after credentials were written to the file.
pub(crate) fn unencrypted_warning(path: &std::path::Path) -> String {
    format!(
        "\nWARNING! Your credentials are stored unencrypted in '{}'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n",
        path.display()
    )
}

/// The key `login` stores credentials under and whether it is Docker Hub: no server or
/// `docker.io` is Docker Hub (`https://index.docker.io/v1/`), others by host name.
pub(crate) fn login_server_key(server: Option<&str>) -> (String, bool) {
    match server {
        Some(s) if !s.is_empty() && s != "docker.io" => (auth::convert_to_hostname(s), false),
        _ => (INDEX_SERVER.to_string(), true),
    }
}

/// Reads a line from the terminal (or standard input), without its line ending.
fn read_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches('\n').trim_end_matches('\r').to_string())
}

/// Turns terminal echo off on standard input until dropped.
struct NoEcho(Option<libc::termios>);

impl NoEcho {
    fn new() -> NoEcho {
        // SAFETY: tcgetattr/tcsetattr only read and write the termios struct passed.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut t) != 0 {
                return NoEcho(None);
            }
            let saved = t;
            t.c_lflag &= !libc::ECHO;
            if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t) != 0 {
                return NoEcho(None);
            }
            NoEcho(Some(saved))
        }
    }
}

impl Drop for NoEcho {
    fn drop(&mut self) {
        if let Some(saved) = self.0 {
            // SAFETY: restores the settings read in `new`.
            unsafe {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &saved);
            }
        }
    }
}

/// docker's `PromptUserForCredentials`.
fn prompt_credentials(user: &str, password: &str, default_user: &str, server: &str) -> anyhow::Result<AuthConfig> {
    let mut user = user.trim().to_string();
    let mut out = std::io::stdout();
    if user.is_empty() {
        if server == INDEX_SERVER {
            writeln!(out, "{REGISTER_SUGGEST}")?;
            writeln!(out, "{PAT_SUGGEST}")?;
            writeln!(out)?;
        }
        let default_user = default_user.trim();
        if default_user.is_empty() {
            write!(out, "Username: ")?;
        } else {
            write!(out, "Username ({default_user}): ")?;
        }
        out.flush()?;
        user = read_line()?.trim().to_string();
        if user.is_empty() {
            user = default_user.to_string();
        }
        if user.is_empty() {
            return Err(anyhow!("Error: Non-null Username Required"));
        }
        if server == INDEX_SERVER {
            // docker's hint before the password prompt for Docker Hub.
            let lines = [
                "A Personal Access Token (PAT) can be used instead.",
                "To create a PAT, visit \x03https://app.docker.com/settings\x02",
                "",
                "",
            ];
            write!(out, "\n{}", info_note(&lines, out.is_terminal()))?;
        }
    }
    let mut password = password.trim().to_string();
    if password.is_empty() {
        let echo = NoEcho::new();
        write!(out, "Password: ")?;
        out.flush()?;
        password = read_line()?.trim().to_string();
        drop(echo);
        writeln!(out)?;
        if password.is_empty() {
            return Err(anyhow!("Error: Password Required"));
        }
    }
    Ok(AuthConfig { username: user, password, serveraddress: server.to_string(), ..AuthConfig::default() })
}

/// The answer of `POST /auth`.
#[derive(Debug, Default, serde::Deserialize)]
struct AuthOk {
    #[serde(rename = "Status", default)]
    status: String,
    #[serde(rename = "IdentityToken", default)]
    identity_token: String,
}

/// `POST /auth`: the daemon checks the credentials with the registry.
async fn registry_login(conn: &Conn, a: &AuthConfig) -> Result<AuthOk, crate::connect::RequestError> {
    let body: BodyStream = Box::pin(futures_util::stream::iter([Ok(bytes::Bytes::from(a.login_body()))]));
    let mut resp = conn.raw(Method::POST, "/auth", Some(("application/json", body)));
    let mut out = Vec::new();
    while let Some(chunk) = resp.next().await {
        out.extend_from_slice(&chunk.map_err(|e| conn.request_error(e))?);
    }
    Ok(serde_json::from_slice(&out).unwrap_or_default())
}

/// `wharf login`.
pub(crate) async fn login(t: &Target, cfg: &mut ConfigFile, a: &LoginArgs) -> anyhow::Result<()> {
    let user = a.username.clone().unwrap_or_default();
    let mut password = a.password.clone().unwrap_or_default();
    if a.password.is_some() && a.password_stdin {
        return Err(anyhow!("conflicting options: cannot specify both --password and --password-stdin"));
    }
    if a.password_stdin && user.is_empty() {
        return Err(anyhow!("the --password-stdin option requires --username to be set"));
    }
    if !password.is_empty() {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
    }
    if a.password_stdin {
        let mut contents = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut contents)?;
        password = contents.strip_suffix('\n').unwrap_or(&contents).to_string();
        password = password.strip_suffix('\r').unwrap_or(&password).to_string();
    }
    let (key, _default) = login_server_key(a.server.as_deref());
    let conn = connect(t).await?;

    // Stored credentials first, when none were given.
    let mut default_user = String::new();
    if user.is_empty() && password.is_empty() {
        if let Ok(stored) = auth::get_auth_config(cfg, &key) {
            default_user = stored.username.clone();
            if !stored.username.is_empty() && !stored.password.is_empty() {
                let stored = AuthConfig { serveraddress: key.clone(), identitytoken: String::new(), ..stored };
                let note = info_note(
                    &["To login with a different account, run 'wharf logout' followed by 'wharf login'"],
                    std::io::stderr().is_terminal(),
                );
                eprint!("Authenticating with existing credentials... [Username: {}]\n\n{note}\n\n", stored.username);
                match registry_login(&conn, &stored).await {
                    Ok(ok) => {
                        let mut stored = stored;
                        if !ok.identity_token.is_empty() {
                            stored.password.clear();
                            stored.identitytoken = ok.identity_token;
                        }
                        auth::store_credentials(cfg, &stored).map_err(|e| anyhow!("Error saving credentials: {e}"))?;
                        if !ok.status.is_empty() {
                            println!("{}", ok.status);
                        }
                        return Ok(());
                    }
                    Err(e) if e.status == Some(401) => eprintln!("Stored credentials invalid or expired"),
                    Err(e) => eprintln!("Login did not succeed, error: {e}"),
                }
            }
        }
    }

    if (user.is_empty() || password.is_empty()) && !std::io::stdin().is_terminal() {
        return Err(anyhow!("Error: Cannot perform an interactive login from a non TTY device"));
    }
    let mut creds = prompt_credentials(&user, &password, &default_user, &key)?;
    let ok = registry_login(&conn, &creds).await?;
    if !ok.identity_token.is_empty() {
        creds.password.clear();
        creds.identitytoken = ok.identity_token;
    }
    let in_file = auth::store_credentials(cfg, &creds).map_err(|e| anyhow!("Error saving credentials: {e}"))?;
    if in_file && !creds.password.is_empty() {
        eprintln!("{}", unencrypted_warning(cfg.path()));
    }
    if !ok.status.is_empty() {
        println!("{}", ok.status);
    }
    Ok(())
}

/// The keys `logout` erases: the server as given, its host name, and the host name with
/// `http://` and `https://` (older docker versions stored those); Docker Hub's one key.
pub(crate) fn logout_keys(server: Option<&str>) -> (String, Vec<String>) {
    match server.filter(|s| !s.is_empty()) {
        None => (INDEX_SERVER.to_string(), vec![INDEX_SERVER.to_string()]),
        Some(s) => {
            let host = auth::convert_to_hostname(s);
            let keys = vec![s.to_string(), host.clone(), format!("http://{host}"), format!("https://{host}")];
            (host, keys)
        }
    }
}

/// `wharf logout`. As docker 28, failures to erase are not reported.
pub(crate) fn logout(cfg: &mut ConfigFile, a: &LogoutArgs) -> anyhow::Result<()> {
    let (shown, keys) = logout_keys(a.server.as_deref());
    println!("Removing login credentials for {shown}");
    let mut changed = false;
    for k in &keys {
        if auth::erase_credentials(cfg, k).is_ok() {
            changed = true;
        }
    }
    if changed {
        if let Err(e) = cfg.save() {
            tracing::debug!("saving the configuration: {e:#}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> ImageRef {
        ImageRef::parse_normalized(s).expect("ref")
    }

    /// As the docker 28.2 CLI sent them.
    #[test]
    fn request_shapes_like_docker() {
        assert_eq!(
            pull_query(&r("busybox").with_default_tag(), false, None),
            "?fromImage=docker.io%2Flibrary%2Fbusybox&tag=latest"
        );
        assert_eq!(
            pull_query(&r("localhost:5000/foo/bar:v1"), false, None),
            "?fromImage=localhost%3A5000%2Ffoo%2Fbar&tag=v1"
        );
        let digest = format!("other.io/y@sha256:{}", "a".repeat(64));
        assert_eq!(
            pull_query(&r(&digest), false, None),
            format!("?fromImage=other.io%2Fy&tag=sha256%3A{}", "a".repeat(64))
        );
        assert_eq!(
            pull_query(&r("busybox"), true, Some("Linux/ARM64")),
            "?fromImage=docker.io%2Flibrary%2Fbusybox&platform=linux%2Farm64"
        );
        assert_eq!(push_path(&r("localhost:5000/x:latest"), false, None), "/images/localhost:5000/x/push?tag=latest");
        assert_eq!(push_path(&r("busybox:1"), false, None), "/images/busybox/push?tag=1");
        assert_eq!(push_path(&r("me/app"), true, None), "/images/me/app/push");
        assert_eq!(
            push_path(&r("localhost:5000/x:v1"), false, Some(r#"{"architecture":"arm64","os":"linux"}"#)),
            "/images/localhost:5000/x/push?platform=%7B%22architecture%22%3A%22arm64%22%2C%22os%22%3A%22linux%22%7D&tag=v1"
        );
    }

    #[test]
    fn all_tags_rules() {
        assert_eq!(
            target_ref("busybox:1", true, true).expect_err("tag").to_string(),
            "tag can't be used with --all-tags/-a"
        );
        assert_eq!(target_ref("busybox", true, true).expect("ok").full(), "docker.io/library/busybox");
        assert_eq!(target_ref("busybox", false, true).expect("ok").full(), "docker.io/library/busybox:latest");
        assert_eq!(
            target_ref("BusyBox", false, true).expect_err("upper").to_string(),
            "invalid reference format: repository name (library/BusyBox) must be lowercase"
        );
    }

    /// As docker 28.2 printed them, off and on a terminal.
    #[test]
    fn info_notes_like_docker() {
        assert_eq!(
            format!("\n{}", info_note(&PLATFORM_PUSH_NOTE, false)),
            "\n Info -> Using --platform pushes only the specified platform manifest of a multi-platform image index.\n         Other components, like attestations, will not be included.\n         To push the complete multi-platform image, remove the --platform flag.\n         \n"
        );
        assert_eq!(
            info_note(&PLATFORM_PUSH_NOTE[1..], true),
            "\x1b[1m\x1b[106m\x1b[30mi\x1b[0m\x1b[0m \x1b[96mInfo \u{2192} \x1b[0m\x1b[0m\x1b[3mOther components, like attestations, will not be included.\x1b[0m\n         \x1b[3mTo push the complete multi-platform image, remove the \x1b[1m--platform\x1b[0m flag.\x1b[0m\n         \x1b[3m\x1b[0m\n"
        );
    }

    #[test]
    fn login_and_logout_keys() {
        assert_eq!(login_server_key(None), (INDEX_SERVER.to_string(), true));
        assert_eq!(login_server_key(Some("docker.io")), (INDEX_SERVER.to_string(), true));
        assert_eq!(login_server_key(Some("https://r.example.com/v2/")), ("r.example.com".to_string(), false));
        assert_eq!(login_server_key(Some("localhost:5000")), ("localhost:5000".to_string(), false));
        assert_eq!(logout_keys(None), (INDEX_SERVER.to_string(), vec![INDEX_SERVER.to_string()]));
        assert_eq!(
            logout_keys(Some("https://r.example.com/")),
            (
                "r.example.com".to_string(),
                vec![
                    "https://r.example.com/".to_string(),
                    "r.example.com".into(),
                    "http://r.example.com".into(),
                    "https://r.example.com".into()
                ]
            )
        );
    }
}
