//! The registry **client** the daemon pulls and pushes with (OCI Distribution Spec v1.1, the
//! protocol of Docker's `registry:2` and Docker Hub), speaking HTTP through [`http`].
//!
//! - [`Client`] holds the daemon's registry options (`insecure-registries` — `127.0.0.0/8` and
//!   `localhost` always —, `registry-mirrors` for `docker.io`) and maps a reference's domain to
//!   endpoints as dockerd does: `docker.io` → the mirrors, then `https://registry-1.docker.io`;
//!   an insecure registry → `https://`, falling back to `http://`.
//! - [`Client::session`] pings `/v2/` and authenticates for one repository: anonymous, Basic,
//!   or the Bearer token flow from the `WWW-Authenticate` challenge (realm, service,
//!   `repository:NAME:pull[,push]`), with credentials from the docker CLI's `X-Registry-Auth`
//!   ([`auth::decode_registry_auth`]).
//! - [`Session`] fetches manifests (accepting Docker v2 lists and manifests, OCI indexes and
//!   manifests), blobs as streams, and pushes: `HEAD` to skip existing blobs, cross-repository
//!   mounts, monolithic uploads, manifests by tag.
//! - [`select_platform`] picks an index entry with containerd's compatibility order.
//!
//! Registry errors come back as [`ClientError`] with dockerd's texts (`manifest for x not found:
//! manifest unknown: …`, `pull access denied for x, repository does not exist or may require
//! 'docker login': …`).

pub mod auth;
pub mod http;

use std::net::IpAddr;
use std::sync::Arc;

use ::http::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use ::http::{HeaderMap, HeaderValue, Method, StatusCode};
use bytes::Bytes;
use hyper::body::Incoming;
use wharf_reference::{ImageRef, Platform};
use wharf_types::{Classify, Digest, ErrorKind};

pub use auth::{decode_registry_auth, Credentials};
use http::{ReqBody, Target};

use crate::manifest::{self, Descriptor, Manifest, MANIFEST_MAX};

/// A registry error, with dockerd's texts.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Authentication failed or was refused.
    #[error("{0}")]
    Unauthorized(String),
    /// The repository, manifest or blob does not exist (or access was denied, as dockerd says).
    #[error("{0}")]
    NotFound(String),
    /// The registry answered something unexpected.
    #[error("{0}")]
    Protocol(String),
    /// The network failed.
    #[error("{0}")]
    Transport(String),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
}

impl Classify for ClientError {
    fn kind(&self) -> ErrorKind {
        match self {
            ClientError::Unauthorized(_) => ErrorKind::Unauthorized,
            ClientError::NotFound(_) => ErrorKind::NotFound,
            ClientError::Invalid(_) => ErrorKind::InvalidArgument,
            ClientError::Protocol(_) | ClientError::Transport(_) => ErrorKind::Internal,
        }
    }
}

/// The daemon's registry options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `insecure-registries`: CIDRs or `host[:port]` names.
    pub insecure_registries: Vec<String>,
    /// `registry-mirrors` (URLs) for `docker.io`.
    pub registry_mirrors: Vec<String>,
}

/// Docker Hub's API host.
pub const DOCKER_HUB_HOST: &str = "registry-1.docker.io";

/// The client. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    opts: Arc<Options>,
    tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("opts", &self.opts).finish()
    }
}

/// The `Accept` header of manifest requests.
const MANIFEST_ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.index.v1+json, \
application/vnd.oci.image.manifest.v1+json";

impl Client {
    /// A client with these options.
    pub fn new(opts: Options) -> Client {
        Client { opts: Arc::new(opts), tls: http::tls_config() }
    }

    /// The options.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Whether `domain` (`host[:port]`) is insecure: loopback, `localhost`, or listed (by name
    /// or by CIDR of an IP host).
    pub fn is_insecure(&self, domain: &str) -> bool {
        let host = host_of(domain);
        if host == "localhost" {
            return true;
        }
        let ip: Option<IpAddr> = host.parse().ok();
        if ip.is_some_and(|ip| ip.is_loopback()) {
            return true;
        }
        self.opts.insecure_registries.iter().any(|entry| {
            if entry == domain || entry == host {
                return true;
            }
            match (ip, parse_cidr(entry)) {
                (Some(ip), Some((net, bits))) => cidr_contains(net, bits, ip),
                _ => false,
            }
        })
    }

    /// The base URLs to try for `domain`, in order.
    pub fn endpoints(&self, domain: &str, pull: bool) -> Vec<Target> {
        let mut out = Vec::new();
        if domain == "docker.io" || domain == "index.docker.io" || domain == DOCKER_HUB_HOST {
            if pull {
                for m in &self.opts.registry_mirrors {
                    let base = Target { scheme: "https", authority: String::new(), path: "/".into() };
                    if let Ok(t) = Target::resolve(&base, m.trim_end_matches('/')) {
                        out.push(Target { path: String::new(), ..t });
                    }
                }
            }
            out.push(Target { scheme: "https", authority: DOCKER_HUB_HOST.into(), path: String::new() });
            return out;
        }
        out.push(Target { scheme: "https", authority: domain.into(), path: String::new() });
        if self.is_insecure(domain) {
            out.push(Target { scheme: "http", authority: domain.into(), path: String::new() });
        }
        out
    }

    /// Opens a session on `repo` (the path, `library/busybox`) of `domain`: finds a reachable
    /// endpoint, pings `/v2/` and authenticates with the pull (and push) scope.
    pub async fn session(
        &self,
        domain: &str,
        repo: &str,
        creds: Option<Credentials>,
        push: bool,
        extra_scopes: &[String],
    ) -> Result<Session, ClientError> {
        let mut last = None;
        for base in self.endpoints(domain, !push) {
            let mut s = Session {
                tls: self.tls.clone(),
                base,
                domain: domain.to_string(),
                repo: repo.to_string(),
                creds: creds.clone().filter(|c| !c.is_empty()),
                authorization: None,
            };
            let mut scopes = vec![auth::scope(repo, push)];
            scopes.extend(extra_scopes.iter().cloned());
            match s.authenticate(&scopes).await {
                Ok(()) => return Ok(s),
                Err(e @ ClientError::Transport(_)) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| ClientError::Invalid(format!("no endpoint for {domain}"))))
    }

    /// `docker login`: checks the credentials against `serveraddress`'s `/v2/`. Errors are
    /// dockerd's texts.
    pub async fn login(&self, serveraddress: &str, creds: &Credentials) -> Result<(), ClientError> {
        let domain = login_domain(serveraddress);
        let mut last = None;
        for base in self.endpoints(&domain, false) {
            let mut s = Session {
                tls: self.tls.clone(),
                base,
                domain: domain.clone(),
                repo: String::new(),
                creds: Some(creds.clone()),
                authorization: None,
            };
            match s.login().await {
                Ok(()) => return Ok(()),
                Err(e @ ClientError::Transport(_)) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| ClientError::Invalid(format!("no endpoint for {domain}"))))
    }
}

/// The registry domain of a login server address (`https://index.docker.io/v1/` → `docker.io`,
/// `http://host:5000/` → `host:5000`).
pub fn login_domain(serveraddress: &str) -> String {
    let s = serveraddress.trim();
    let s = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).unwrap_or(s);
    let host = s.split('/').next().unwrap_or_default();
    match host {
        "" | "index.docker.io" | "registry-1.docker.io" | "docker.io" => "docker.io".to_string(),
        h => h.to_string(),
    }
}

fn host_of(domain: &str) -> &str {
    if let Some(rest) = domain.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    match domain.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => domain,
    }
}

fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = s.split_once('/')?;
    Some((ip.parse().ok()?, bits.parse().ok()?))
}

fn cidr_contains(net: IpAddr, bits: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) if bits <= 32 => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) if bits <= 128 => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

/// Picks the manifest for `want` from an index: the first entry of the best compatible
/// platform (containerd's order), skipping attestation entries (`unknown/unknown`).
pub fn select_platform<'a>(index: &'a Manifest, want: &Platform) -> Option<&'a Descriptor> {
    let entries: Vec<(&Descriptor, Platform)> = index
        .manifests
        .iter()
        .filter_map(|d| {
            let p = d.platform.as_ref()?;
            Some((d, Platform::new(&p.os, &p.architecture, p.variant.as_deref())))
        })
        .collect();
    for candidate in want.compatible() {
        if let Some((d, _)) = entries.iter().find(|(_, p)| p.matches(&candidate)) {
            return Some(d);
        }
    }
    None
}

/// A blob fetch in progress: its declared size and the body.
pub struct BlobStream {
    /// `Content-Length`, when sent.
    pub length: Option<u64>,
    /// The body.
    pub body: Incoming,
}

impl BlobStream {
    /// The next chunk of the body; `None` at its end.
    pub async fn chunk(&mut self) -> Option<Result<Bytes, ClientError>> {
        use http_body_util::BodyExt;
        loop {
            match self.body.frame().await? {
                Ok(f) => {
                    if let Ok(d) = f.into_data() {
                        return Some(Ok(d));
                    }
                }
                Err(e) => return Some(Err(ClientError::Transport(format!("reading a blob: {e}")))),
            }
        }
    }
}

/// How an upload began.
#[derive(Debug)]
pub enum UploadStart {
    /// The blob was mounted from another repository: nothing to send.
    Mounted,
    /// Send the bytes to this location.
    Location(String),
}

/// An authenticated session on one repository.
pub struct Session {
    tls: Arc<rustls::ClientConfig>,
    base: Target,
    domain: String,
    repo: String,
    creds: Option<Credentials>,
    authorization: Option<HeaderValue>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("base", &self.base).field("repo", &self.repo).finish()
    }
}

/// A registry's error body (`{"errors":[{"code":…,"message":…}]}`) as distribution's
/// `errcode.Error.Error()` prints its first error: `<code lower-cased, _ → space>: <message>`.
pub fn registry_error_text(body: &[u8], status: StatusCode) -> (String, String) {
    #[derive(serde::Deserialize)]
    struct E {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    #[derive(serde::Deserialize)]
    struct Es {
        #[serde(default)]
        errors: Vec<E>,
    }
    match serde_json::from_slice::<Es>(body).ok().and_then(|e| e.errors.into_iter().next()) {
        Some(e) => {
            let code = e.code.to_ascii_lowercase().replace('_', " ");
            let text = if e.message.is_empty() { code.clone() } else { format!("{code}: {}", e.message) };
            (e.code, text)
        }
        None => {
            let reason = status.canonical_reason().unwrap_or("error");
            (String::new(), format!("unexpected status from registry: {} {reason}", status.as_u16()))
        }
    }
}

impl Session {
    /// The registry's domain as the reference spells it.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path.
    pub fn repo(&self) -> &str {
        &self.repo
    }

    /// The base URL in use (`http://127.0.0.1:5000`).
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.base.scheme, self.base.authority)
    }

    fn target(&self, path: &str) -> Target {
        Target { path: format!("{}{path}", self.base.path), ..self.base.clone() }
    }

    fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(a) = &self.authorization {
            h.insert(AUTHORIZATION, a.clone());
        }
        h
    }

    async fn ping(&self, auth: Option<HeaderValue>) -> Result<hyper::Response<Incoming>, ClientError> {
        let mut h = HeaderMap::new();
        if let Some(a) = auth {
            h.insert(AUTHORIZATION, a);
        }
        http::send(&self.tls, &self.target("/v2/"), Method::GET, &h, Bytes::new()).await
    }

    /// Pings `/v2/` and sets up the `Authorization` this session sends.
    async fn authenticate(&mut self, scopes: &[String]) -> Result<(), ClientError> {
        let resp = self.ping(None).await?;
        match resp.status() {
            s if s.is_success() => return Ok(()),
            StatusCode::UNAUTHORIZED => {}
            s => {
                let body = http::read_body(resp, 64 << 10).await.unwrap_or_default();
                return Err(ClientError::Protocol(registry_error_text(&body, s).1));
            }
        }
        let challenge = resp
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok().and_then(auth::parse_challenge))
            .find(|c| c.scheme == "bearer" || c.scheme == "basic");
        let Some(ch) = challenge else {
            return Ok(());
        };
        if ch.scheme == "basic" {
            self.authorization = self.basic();
            return Ok(());
        }
        let token = self.fetch_token(&ch, scopes).await?;
        self.authorization = Some(bearer(&token)?);
        Ok(())
    }

    fn basic(&self) -> Option<HeaderValue> {
        self.creds.as_ref().and_then(Credentials::basic_header).and_then(|h| HeaderValue::from_str(&h).ok())
    }

    async fn fetch_token(&self, ch: &auth::Challenge, scopes: &[String]) -> Result<String, ClientError> {
        if let Some(t) = self.creds.as_ref().map(|c| c.registrytoken.clone()).filter(|t| !t.is_empty()) {
            return Ok(t);
        }
        let realm = ch.param("realm").ok_or_else(|| ClientError::Protocol("bearer challenge without realm".into()))?;
        let mut query = Vec::new();
        if let Some(s) = ch.param("service") {
            query.push(format!("service={}", pct(s)));
        }
        for s in scopes {
            query.push(format!("scope={}", pct(s)));
        }
        let sep = if realm.contains('?') { '&' } else { '?' };
        let url = if query.is_empty() { realm.to_string() } else { format!("{realm}{sep}{}", query.join("&")) };
        let base = self.base.clone();
        let target = Target::resolve(&base, &url)?;
        let mut h = HeaderMap::new();
        if let Some(b) = self.basic() {
            h.insert(AUTHORIZATION, b);
        }
        let resp = http::send(&self.tls, &target, Method::GET, &h, Bytes::new()).await?;
        let status = resp.status();
        let body = http::read_body(resp, 1 << 20).await?;
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(ClientError::Unauthorized(format!(
                "Get \"{}\": {}",
                target.url(),
                registry_error_text(&body, status).1.replace("unexpected status from registry: ", "")
            )));
        }
        if !status.is_success() {
            return Err(ClientError::Protocol(format!(
                "token from {}: {}",
                target.url(),
                registry_error_text(&body, status).1
            )));
        }
        let t: auth::TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| ClientError::Protocol(format!("token from {}: {e}", target.url())))?;
        t.bearer().map(str::to_string).ok_or_else(|| ClientError::Protocol("token response without a token".into()))
    }

    async fn login(&mut self) -> Result<(), ClientError> {
        let resp = self.ping(None).await?;
        if resp.status().is_success() {
            return Ok(());
        }
        if resp.status() != StatusCode::UNAUTHORIZED {
            return Err(ClientError::Protocol(format!(
                "login attempt to {}/v2/ failed with status: {}",
                self.base_url(),
                status_text(resp.status())
            )));
        }
        let ch = resp
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok().and_then(auth::parse_challenge))
            .find(|c| c.scheme == "bearer" || c.scheme == "basic");
        let auth = match ch {
            Some(ch) if ch.scheme == "bearer" => Some(bearer(&self.fetch_token(&ch, &[]).await?)?),
            _ => self.basic(),
        };
        let resp = self.ping(auth).await?;
        if resp.status().is_success() {
            return Ok(());
        }
        let msg =
            format!("login attempt to {}/v2/ failed with status: {}", self.base_url(), status_text(resp.status()));
        if resp.status() == StatusCode::UNAUTHORIZED {
            Err(ClientError::Unauthorized(msg))
        } else {
            Err(ClientError::Protocol(msg))
        }
    }

    /// The familiar form of `reference` for error texts.
    fn familiar(&self, reference: &str) -> String {
        let sep = if reference.starts_with("sha256:") || reference.contains(':') { "@" } else { ":" };
        let full = format!("{}/{}{sep}{reference}", self.domain, self.repo);
        ImageRef::parse_normalized(&full).map(|r| r.familiar()).unwrap_or(full)
    }

    fn familiar_name(&self) -> String {
        let full = format!("{}/{}", self.domain, self.repo);
        ImageRef::parse_normalized(&full).map(|r| r.familiar_name()).unwrap_or(full)
    }

    /// An error answer to a pull request, as dockerd's `translatePullError` words it.
    fn pull_error(&self, what: &str, status: StatusCode, body: &[u8]) -> ClientError {
        let (code, text) = registry_error_text(body, status);
        match code.as_str() {
            "MANIFEST_UNKNOWN" => ClientError::NotFound(format!("manifest for {what} not found: {text}")),
            "NAME_UNKNOWN" => ClientError::NotFound(format!("repository {} not found: {text}", self.familiar_name())),
            _ if code == "DENIED" || status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN => {
                let text =
                    if code.is_empty() { "denied: requested access to the resource is denied".into() } else { text };
                ClientError::NotFound(format!(
                    "pull access denied for {}, repository does not exist or may require 'docker login': {text}",
                    self.familiar_name()
                ))
            }
            _ if status == StatusCode::NOT_FOUND => {
                ClientError::NotFound(format!("manifest for {what} not found: {text}"))
            }
            _ => ClientError::Protocol(text),
        }
    }

    /// `GET /v2/<name>/manifests/<reference>`: `(bytes, media type, digest)`. The digest is
    /// computed from the bytes (and checked against a digest reference).
    pub async fn manifest(&self, reference: &str) -> Result<(Bytes, String, Digest), ClientError> {
        let mut h = self.headers();
        h.insert(ACCEPT, HeaderValue::from_static(MANIFEST_ACCEPT));
        let target = self.target(&format!("/v2/{}/manifests/{reference}", self.repo));
        let resp = http::send(&self.tls, &target, Method::GET, &h, Bytes::new()).await?;
        let status = resp.status();
        let ct = resp.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(manifest::essence);
        let body = http::read_body(resp, MANIFEST_MAX).await?;
        if !status.is_success() {
            return Err(self.pull_error(&self.familiar(reference), status, &body));
        }
        let parsed = manifest::parse(&body, ct.as_deref())
            .map_err(|e| ClientError::Protocol(format!("{}: {e}", self.familiar(reference))))?;
        let digest = match reference.parse::<Digest>() {
            Ok(want) => {
                let got = Digest::of(want.algorithm(), &body);
                if got != want {
                    return Err(ClientError::Protocol(format!(
                        "manifest verification failed for digest {want}: got {got}"
                    )));
                }
                got
            }
            Err(_) => Digest::sha256_of(&body),
        };
        Ok((body, parsed.media_type.to_string(), digest))
    }

    /// `GET /v2/<name>/tags/list`, following `Link` pages: every tag of the repository.
    pub async fn tags(&self) -> Result<Vec<String>, ClientError> {
        #[derive(serde::Deserialize)]
        struct Tags {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut out = Vec::new();
        let mut next = Some(self.target(&format!("/v2/{}/tags/list", self.repo)));
        let mut pages = 0;
        while let Some(target) = next.take() {
            pages += 1;
            let resp = http::send(&self.tls, &target, Method::GET, &self.headers(), Bytes::new()).await?;
            let status = resp.status();
            let link = resp.headers().get(::http::header::LINK).and_then(|l| l.to_str().ok()).map(str::to_string);
            let body = http::read_body(resp, 16 << 20).await?;
            if !status.is_success() {
                return Err(self.pull_error(&self.familiar_name(), status, &body));
            }
            let t: Tags =
                serde_json::from_slice(&body).map_err(|e| ClientError::Protocol(format!("tags list: {e}")))?;
            out.extend(t.tags.unwrap_or_default());
            // `Link: </v2/name/tags/list?last=x&n=y>; rel="next"`
            if let Some(l) = link.filter(|_| pages < 1000) {
                let url = l.split(';').next().unwrap_or("").trim().trim_start_matches('<').trim_end_matches('>');
                if !url.is_empty() {
                    next = Some(Target::resolve(&self.target("/"), url)?);
                }
            }
        }
        Ok(out)
    }

    /// `GET /v2/<name>/blobs/<digest>` as a stream (the caller verifies size and digest).
    pub async fn blob(&self, digest: &Digest) -> Result<BlobStream, ClientError> {
        let target = self.target(&format!("/v2/{}/blobs/{digest}", self.repo));
        let resp = http::send(&self.tls, &target, Method::GET, &self.headers(), Bytes::new()).await?;
        let status = resp.status();
        if !status.is_success() {
            let body = http::read_body(resp, 64 << 10).await.unwrap_or_default();
            return Err(match status {
                StatusCode::NOT_FOUND => {
                    ClientError::NotFound(format!("blob {digest} not found: {}", registry_error_text(&body, status).1))
                }
                _ => self.pull_error(digest.as_str(), status, &body),
            });
        }
        let length = resp.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        Ok(BlobStream { length, body: resp.into_body() })
    }

    /// A whole small blob (a config), verified.
    pub async fn blob_bytes(&self, d: &Descriptor, limit: usize) -> Result<Bytes, ClientError> {
        if d.size as usize > limit {
            return Err(ClientError::Protocol(format!("blob {} is too large ({} bytes)", d.digest, d.size)));
        }
        let target = self.target(&format!("/v2/{}/blobs/{}", self.repo, d.digest));
        let resp = http::send(&self.tls, &target, Method::GET, &self.headers(), Bytes::new()).await?;
        let status = resp.status();
        let body = http::read_body(resp, limit).await?;
        if !status.is_success() {
            return Err(self.pull_error(d.digest.as_str(), status, &body));
        }
        let got = Digest::of(d.digest.algorithm(), &body);
        if got != d.digest || body.len() as u64 != d.size {
            return Err(ClientError::Protocol(format!("filesystem layer verification failed for digest {}", d.digest)));
        }
        Ok(body)
    }

    /// `HEAD /v2/<name>/blobs/<digest>`: whether the repository has the blob.
    pub async fn blob_exists(&self, digest: &Digest) -> Result<bool, ClientError> {
        let target = self.target(&format!("/v2/{}/blobs/{digest}", self.repo));
        let resp = http::send(&self.tls, &target, Method::HEAD, &self.headers(), Bytes::new()).await?;
        match resp.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            s => Err(self.push_error(s, &[])),
        }
    }

    fn push_error(&self, status: StatusCode, body: &[u8]) -> ClientError {
        let text = registry_error_text(body, status).1;
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ClientError::Unauthorized(text),
            _ => ClientError::Protocol(text),
        }
    }

    /// `POST /v2/<name>/blobs/uploads/`, with `?mount=&from=` when `mount` names a blob of
    /// another repository of this registry.
    pub async fn start_upload(&self, mount: Option<(&Digest, &str)>) -> Result<UploadStart, ClientError> {
        let query = match mount {
            Some((d, from)) => format!("?mount={d}&from={}", pct(from)),
            None => String::new(),
        };
        let target = self.target(&format!("/v2/{}/blobs/uploads/{query}", self.repo));
        let resp = http::send(&self.tls, &target, Method::POST, &self.headers(), Bytes::new()).await?;
        let status = resp.status();
        let location = resp.headers().get(LOCATION).and_then(|l| l.to_str().ok()).map(str::to_string);
        let body = http::read_body(resp, 64 << 10).await.unwrap_or_default();
        match (status, location) {
            (StatusCode::CREATED, _) if mount.is_some() => Ok(UploadStart::Mounted),
            (StatusCode::ACCEPTED, Some(l)) => Ok(UploadStart::Location(l)),
            (s, _) => Err(self.push_error(s, &body)),
        }
    }

    /// Finishes an upload with its whole content in one `PUT <location>?digest=`.
    pub async fn put_blob(&self, location: &str, digest: &Digest, size: u64, body: ReqBody) -> Result<(), ClientError> {
        let mut target = Target::resolve(&self.target("/"), location)?;
        let sep = if target.path.contains('?') { '&' } else { '?' };
        target.path = format!("{}{sep}digest={}", target.path, pct(digest.as_str()));
        let mut h = self.headers();
        if target.authority != self.base.authority {
            h.remove(AUTHORIZATION);
        }
        h.insert(CONTENT_LENGTH, HeaderValue::from(size));
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
        let resp = http::send_stream(&self.tls, &target, Method::PUT, &h, body).await?;
        let status = resp.status();
        let body = http::read_body(resp, 64 << 10).await.unwrap_or_default();
        if status.is_success() {
            Ok(())
        } else {
            Err(self.push_error(status, &body))
        }
    }

    /// `PUT /v2/<name>/manifests/<reference>`: returns the digest of the bytes.
    pub async fn put_manifest(&self, reference: &str, media_type: &str, bytes: Bytes) -> Result<Digest, ClientError> {
        let target = self.target(&format!("/v2/{}/manifests/{reference}", self.repo));
        let mut h = self.headers();
        h.insert(CONTENT_TYPE, HeaderValue::from_str(media_type).map_err(|e| ClientError::Invalid(e.to_string()))?);
        let digest = Digest::sha256_of(&bytes);
        let resp = http::send(&self.tls, &target, Method::PUT, &h, bytes).await?;
        let status = resp.status();
        let body = http::read_body(resp, 64 << 10).await.unwrap_or_default();
        if status.is_success() {
            Ok(digest)
        } else {
            Err(self.push_error(status, &body))
        }
    }
}

fn bearer(token: &str) -> Result<HeaderValue, ClientError> {
    HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| ClientError::Protocol("invalid token".into()))
}

fn status_text(s: StatusCode) -> String {
    format!("{} {}", s.as_u16(), s.canonical_reason().unwrap_or_default())
}

/// Percent-encodes a query value (RFC 3986 unreserved characters kept).
fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(insecure: &[&str]) -> Client {
        Client::new(Options {
            insecure_registries: insecure.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })
    }

    #[test]
    fn insecure_and_endpoints() {
        let c = client(&["10.0.0.0/8", "myreg:5000"]);
        assert!(c.is_insecure("127.0.0.1:5000"));
        assert!(c.is_insecure("localhost:5000"));
        assert!(c.is_insecure("[::1]:5000"));
        assert!(c.is_insecure("10.1.2.3"));
        assert!(c.is_insecure("myreg:5000"));
        assert!(!c.is_insecure("myreg:5001"));
        assert!(!c.is_insecure("11.0.0.1:5000"));
        let urls = |d: &str| c.endpoints(d, true).iter().map(Target::url).collect::<Vec<_>>();
        assert_eq!(urls("127.0.0.1:5000"), ["https://127.0.0.1:5000", "http://127.0.0.1:5000"]);
        assert_eq!(urls("quay.io"), ["https://quay.io"]);
        assert_eq!(urls("docker.io"), ["https://registry-1.docker.io"]);
        let m = Client::new(Options { registry_mirrors: vec!["https://mirror.example/".into()], ..Default::default() });
        let urls: Vec<_> = m.endpoints("docker.io", true).iter().map(Target::url).collect();
        assert_eq!(urls, ["https://mirror.example", "https://registry-1.docker.io"]);
        assert_eq!(m.endpoints("docker.io", false).len(), 1);
    }

    #[test]
    fn login_domains() {
        assert_eq!(login_domain("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(login_domain(""), "docker.io");
        assert_eq!(login_domain("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(login_domain("http://localhost:5000/"), "localhost:5000");
    }

    #[test]
    fn platform_choice() {
        let idx = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":1,"platform":{"os":"linux","architecture":"arm","variant":"v6"}},
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:3333333333333333333333333333333333333333333333333333333333333333","size":1,"platform":{"os":"linux","architecture":"amd64"}},
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:4444444444444444444444444444444444444444444444444444444444444444","size":1,"platform":{"os":"unknown","architecture":"unknown"}}]}"#;
        let m = manifest::parse(idx, Some(manifest::OCI_INDEX)).unwrap();
        let pick = |p: &str| {
            select_platform(&m, &Platform::parse_normalized(p).unwrap()).map(|d| d.digest.hex()[..1].to_string())
        };
        assert_eq!(pick("linux/amd64").as_deref(), Some("3"));
        assert_eq!(pick("linux/arm64").as_deref(), Some("2"));
        assert_eq!(pick("linux/arm/v7").as_deref(), Some("1"));
        assert_eq!(pick("linux/s390x"), None);
    }

    #[test]
    fn error_texts() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#;
        assert_eq!(
            registry_error_text(body, StatusCode::NOT_FOUND),
            ("MANIFEST_UNKNOWN".into(), "manifest unknown: manifest unknown".into())
        );
        assert_eq!(
            registry_error_text(b"", StatusCode::BAD_GATEWAY).1,
            "unexpected status from registry: 502 Bad Gateway"
        );
        let s = Session {
            tls: http::tls_config(),
            base: Target { scheme: "http", authority: "127.0.0.1:5000".into(), path: String::new() },
            domain: "docker.io".into(),
            repo: "library/nope".into(),
            creds: None,
            authorization: None,
        };
        let e = s.pull_error(
            "nope:latest",
            StatusCode::UNAUTHORIZED,
            br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
        );
        assert_eq!(e.to_string(), "pull access denied for nope, repository does not exist or may require 'docker login': unauthorized: authentication required");
        let e = s.pull_error("nope:latest", StatusCode::NOT_FOUND, body);
        assert_eq!(e.to_string(), "manifest for nope:latest not found: manifest unknown: manifest unknown");
        assert_eq!(s.familiar("latest"), "nope:latest");
        assert_eq!(pct("repository:a/b:pull,push"), "repository%3Aa%2Fb%3Apull%2Cpush");
    }
}
