//! Endpoint resolution (which daemon to talk to, with which TLS settings) and the
//! connection itself: a `bollard::Docker` over a unix socket, plain TCP, or TCP+TLS,
//! with the API version negotiated so requests go to `/v<server version>/…`.
//!
//! Resolution follows the docker CLI (`cli/command/cli.go`): the context named by
//! `resolve_context_name`, where the `default` context is built from `-H`,
//! `DOCKER_HOST` and the TLS flags. Errors print as docker prints them.
//!
//! [`Conn::raw`] makes the requests bollard's typed API cannot: streamed request
//! bodies (`load`, `import`), raw response bodies (`save`, `inspect`), and exact query
//! strings.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::anyhow;
use bollard::{BollardRequest, Docker, API_DEFAULT_VERSION};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use crate::cli::{parse_host, ClientOptions, Env};
use crate::context::{self, ContextStore, DockerEndpointMeta, TlsData, DEFAULT_CONTEXT};

/// Request timeout in seconds (bollard's default). It bounds the wait for response
/// headers, not a streamed body such as `events`.
const TIMEOUT_SECS: u64 = 120;

/// Paths of an endpoint's TLS files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TlsFiles {
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// A resolved daemon endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub host: String,
    pub skip_tls_verify: bool,
    /// TLS material; TLS is used on `tcp://` when this is set or `skip_tls_verify` is.
    pub tls: Option<TlsFiles>,
}

/// docker's `getServerHost`: the one `-H`, else `DOCKER_HOST`, else the default.
fn server_host(opts: &ClientOptions, env: &Env) -> Result<String, String> {
    let default_to_tls = opts.tls.is_some();
    match opts.hosts.as_slice() {
        [] => parse_host(default_to_tls, env.docker_host.as_deref().unwrap_or("")),
        [one] => parse_host(default_to_tls, one),
        _ => Err("specify only one -H".into()),
    }
}

/// The default context's endpoint, with the TLS files from the flags.
pub(crate) fn default_endpoint(opts: &ClientOptions, env: &Env) -> Result<Endpoint, String> {
    let host = server_host(opts, env)?;
    let Some(t) = &opts.tls else {
        return Ok(Endpoint { host, skip_tls_verify: false, tls: None });
    };
    // Check the files can be read, as docker's TLSDataFromFiles does.
    TlsData::from_files(Some(&t.ca_file), t.cert_file.as_deref(), t.key_file.as_deref())?;
    Ok(Endpoint {
        host,
        skip_tls_verify: t.skip_verify,
        tls: Some(TlsFiles { ca: Some(t.ca_file.clone()), cert: t.cert_file.clone(), key: t.key_file.clone() }),
    })
}

/// The default context's endpoint metadata and TLS data, as `context inspect` shows it.
pub(crate) fn default_endpoint_meta(
    opts: &ClientOptions,
    env: &Env,
) -> Result<(DockerEndpointMeta, Option<TlsData>), String> {
    let host = server_host(opts, env)?;
    match &opts.tls {
        None => Ok((DockerEndpointMeta { host, skip_tls_verify: false }, None)),
        Some(t) => {
            let data = TlsData::from_files(Some(&t.ca_file), t.cert_file.as_deref(), t.key_file.as_deref())?;
            Ok((DockerEndpointMeta { host, skip_tls_verify: t.skip_verify }, data))
        }
    }
}

/// Resolves the endpoint of context `name`.
pub(crate) fn resolve_endpoint(
    name: &str,
    opts: &ClientOptions,
    env: &Env,
    store: &ContextStore,
) -> Result<Endpoint, String> {
    if opts.context.is_some() && !opts.hosts.is_empty() {
        return Err("conflicting options: cannot specify both --host and --context".into());
    }
    if name == DEFAULT_CONTEXT {
        return default_endpoint(opts, env);
    }
    context::stored_endpoint(store, name)
}

/// A connection to the daemon.
#[derive(Debug, Clone)]
pub(crate) struct Conn {
    pub docker: Docker,
    pub host: String,
}

impl Conn {
    /// Turns a bollard error into the message docker prints for it.
    pub(crate) fn error(&self, e: bollard::errors::Error) -> anyhow::Error {
        daemon_error(e, &self.host)
    }
}

/// Builds a client for `ep` (without any request yet).
pub(crate) fn client(ep: &Endpoint) -> anyhow::Result<Docker> {
    let (scheme, rest) =
        ep.host.split_once("://").ok_or_else(|| anyhow!("unable to parse docker host `{}`", ep.host))?;
    match scheme {
        "unix" => match Docker::connect_with_unix(&ep.host, TIMEOUT_SECS, API_DEFAULT_VERSION) {
            Ok(d) => Ok(d),
            Err(e) => Err(daemon_error(e, &ep.host)),
        },
        "tcp" | "http" | "https" => {
            let addr = rest.split('/').next().unwrap_or(rest);
            let use_tls = scheme == "https" || ep.tls.is_some() || ep.skip_tls_verify;
            if !use_tls {
                return Docker::connect_with_http(addr, TIMEOUT_SECS, API_DEFAULT_VERSION)
                    .map_err(|e| daemon_error(e, &ep.host));
            }
            let files = ep.tls.clone().unwrap_or_default();
            match (&files.ca, &files.cert, &files.key) {
                (Some(ca), Some(cert), Some(key)) if !ep.skip_tls_verify => {
                    Docker::connect_with_ssl(addr, key, cert, ca, TIMEOUT_SECS, API_DEFAULT_VERSION)
                        .map_err(|e| anyhow!("error during connect: {e}"))
                }
                _ => tls_client(addr, &files, ep.skip_tls_verify),
            }
        }
        "ssh" | "fd" | "npipe" => Err(anyhow!("{scheme}:// hosts are not supported by wharf: {}", ep.host)),
        _ => Err(anyhow!("unable to parse docker host `{}`", ep.host)),
    }
}

/// Connects to `ep` and negotiates the API version. Requests then go to
/// `/v<negotiated version>/…` like the docker CLI's (bollard itself sends unversioned
/// paths).
pub(crate) async fn connect(ep: &Endpoint) -> anyhow::Result<Conn> {
    let docker = client(ep)?;
    let docker = docker.negotiate_version().await.map_err(|e| daemon_error(e, &ep.host))?;
    Ok(Conn { docker: with_request_rewrite(docker, None), host: ep.host.clone() })
}

impl Conn {
    /// A client whose requests also carry the query parameter `extra`
    /// (`key=escaped-value`), for parameters bollard's option types cannot express.
    pub(crate) fn with_query(&self, extra: String) -> Docker {
        with_request_rewrite(self.docker.clone(), Some(extra))
    }

    /// The negotiated API version as `(major, minor)`.
    pub(crate) fn api_version(&self) -> (usize, usize) {
        let v = self.docker.client_version();
        (v.major_version, v.minor_version)
    }

    /// A request that bollard's typed API cannot make, or would make lossily: any
    /// `method` on `path_and_query` (unversioned and already escaped, e.g.
    /// `/images/load?quiet=1`), with an optional streamed request body and its content
    /// type. Returns the response body as it arrives; an error status becomes
    /// bollard's `DockerResponseServerError` (see [`Conn::error`]).
    ///
    /// bollard has no public raw-request call, so this sends its `export_images`
    /// request (whose response body it hands back untouched) through a request modifier
    /// that replaces the method, path, query, content type and body. The bollard
    /// timeout is lifted: uploads and downloads of image archives can take long.
    pub(crate) fn raw(
        &self,
        method: http::Method,
        path_and_query: &str,
        body: Option<(&'static str, BodyStream)>,
    ) -> impl Stream<Item = Result<Bytes, bollard::errors::Error>> + Unpin + Send {
        self.raw_with_headers(method, path_and_query, body, Vec::new())
    }

    /// [`Conn::raw`] with extra request headers (`X-Registry-Auth`).
    pub(crate) fn raw_with_headers(
        &self,
        method: http::Method,
        path_and_query: &str,
        body: Option<(&'static str, BodyStream)>,
        extra_headers: Vec<(&'static str, String)>,
    ) -> impl Stream<Item = Result<Bytes, bollard::errors::Error>> + Unpin + Send {
        let (major, minor) = self.api_version();
        let target = format!("/v{major}.{minor}{path_and_query}");
        let (content_type, body) = match body {
            Some((ct, b)) => (Some(ct), Some(b)),
            None => (None, None),
        };
        let body = std::sync::Mutex::new(body);
        let docker = self.docker.clone().with_timeout(std::time::Duration::from_secs(STREAM_TIMEOUT_SECS));
        let docker = docker.with_request_modifier(move |mut req| {
            *req.method_mut() = method.clone();
            let mut parts = req.uri().clone().into_parts();
            if let Ok(pq) = target.parse() {
                parts.path_and_query = Some(pq);
                if let Ok(uri) = http::Uri::from_parts(parts) {
                    *req.uri_mut() = uri;
                }
            }
            let headers = req.headers_mut();
            headers.remove(http::header::CONTENT_TYPE);
            if let Some(ct) = content_type {
                headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(ct));
            }
            for (name, value) in &extra_headers {
                if let Ok(v) = http::HeaderValue::from_str(value) {
                    headers.insert(*name, v);
                }
            }
            if let Some(stream) = body.lock().ok().and_then(|mut b| b.take()) {
                *req.body_mut() = bollard::body_try_stream(stream);
            }
            req
        });
        docker.export_images(&[])
    }

    /// [`Conn::raw`] without a request body, collected; errors as docker prints them.
    pub(crate) async fn raw_bytes(&self, method: http::Method, path_and_query: &str) -> Result<Vec<u8>, RequestError> {
        let mut stream = self.raw(method, path_and_query, None);
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.map_err(|e| self.request_error(e))?);
        }
        Ok(out)
    }

    /// A failed request as a [`RequestError`].
    pub(crate) fn request_error(&self, e: bollard::errors::Error) -> RequestError {
        let status = match &e {
            bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
            _ => None,
        };
        RequestError { status, message: format!("{:#}", self.error(e)) }
    }

    /// `POST path_and_query` with `body` as JSON, the answer parsed (`null` when empty).
    pub(crate) async fn post_json<T: serde::Serialize + ?Sized>(
        &self,
        path_and_query: &str,
        body: &T,
    ) -> Result<serde_json::Value, RequestError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| RequestError { status: None, message: format!("error encoding the request: {e}") })?;
        let stream: BodyStream = Box::pin(futures_util::stream::iter([Ok(Bytes::from(bytes))]));
        let mut resp = self.raw(http::Method::POST, path_and_query, Some(("application/json", stream)));
        let mut out = Vec::new();
        while let Some(chunk) = resp.next().await {
            out.extend_from_slice(&chunk.map_err(|e| self.request_error(e))?);
        }
        if out.iter().all(u8::is_ascii_whitespace) {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_slice(&out)
            .map_err(|e| RequestError { status: None, message: format!("error reading the daemon's response: {e}") })
    }

    /// [`Conn::raw_bytes`] parsed as JSON (`null` for an empty body).
    pub(crate) async fn raw_json(
        &self,
        method: http::Method,
        path_and_query: &str,
    ) -> anyhow::Result<serde_json::Value> {
        let bytes = self.raw_bytes(method, path_and_query).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| anyhow!("error reading the daemon's response: {e}"))
    }
}

/// A failed request: the text docker prints for it, and the HTTP status when the
/// daemon answered with an error (404 tells "No such image" apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestError {
    pub status: Option<u16>,
    pub message: String,
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RequestError {}

/// A streamed request body (a file or stdin).
pub(crate) type BodyStream = std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// The timeout of [`Conn::raw`] requests: none in practice, as with the docker CLI.
const STREAM_TIMEOUT_SECS: u64 = 365 * 24 * 3600;

/// Escapes an image name for a URL path as Go's `url.URL` does (`/` and `:` stay).
pub(crate) fn path_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b'/' | b':' | b'@' | b'$' | b'&' | b'+' | b',' | b';' | b'=' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Installs the request modifier that adds the API version prefix and `extra_query`.
fn with_request_rewrite(docker: Docker, extra_query: Option<String>) -> Docker {
    let v = docker.client_version();
    let prefix = format!("/v{}.{}", v.major_version, v.minor_version);
    docker.with_request_modifier(move |mut req| {
        let mut parts = req.uri().clone().into_parts();
        let pq = parts.path_and_query.as_ref().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
        let new_pq = rewrite_path_and_query(&pq, &prefix, extra_query.as_deref());
        if let Ok(new_pq) = new_pq.parse() {
            parts.path_and_query = Some(new_pq);
            if let Ok(uri) = http::Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
        req
    })
}

/// Prefixes an unversioned path with `prefix` and appends `extra` to the query.
fn rewrite_path_and_query(pq: &str, prefix: &str, extra: Option<&str>) -> String {
    let (path, query) = match pq.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (pq, None),
    };
    let versioned = path.strip_prefix("/v").is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()));
    let mut out = if versioned { path.to_string() } else { format!("{prefix}{path}") };
    let query: Vec<&str> = query.into_iter().chain(extra).filter(|q| !q.is_empty()).collect();
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query.join("&"));
    }
    out
}

/// The text docker prints for a failed request.
pub(crate) fn daemon_error(e: bollard::errors::Error, host: &str) -> anyhow::Error {
    use bollard::errors::Error as B;
    match &e {
        B::DockerResponseServerError { message, .. } => return anyhow!("Error response from daemon: {message}"),
        B::SocketNotFoundError(_) => return cannot_connect(host),
        _ => {}
    }
    let chain = error_chain(&e);
    if let Some(io) = find_io_error(&e) {
        use std::io::ErrorKind as K;
        match io.kind() {
            K::PermissionDenied => {
                return anyhow!(
                    "permission denied while trying to connect to the wharf daemon socket at {host}: {chain}"
                )
            }
            K::NotFound | K::ConnectionRefused | K::AddrNotAvailable | K::ConnectionReset | K::TimedOut => {
                return cannot_connect(host)
            }
            _ => {}
        }
        if matches!(io.raw_os_error(), Some(libc::EHOSTUNREACH | libc::ENETUNREACH)) {
            return cannot_connect(host);
        }
    }
    anyhow!("error during connect: {chain}")
}

fn cannot_connect(host: &str) -> anyhow::Error {
    anyhow!("Cannot connect to the wharf daemon at {host}. Is the daemon running?")
}

fn find_io_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a std::io::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            // An io::Error may wrap the real cause (rustls errors are wrapped this way).
            if let Some(inner) = io.get_ref() {
                if inner.downcast_ref::<rustls::Error>().is_some() {
                    return None;
                }
            }
            return Some(io);
        }
        if err.downcast_ref::<rustls::Error>().is_some() {
            return None;
        }
        cur = err.source();
    }
    None
}

/// "outer: inner: innermost", skipping repeated texts.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut all = Vec::new();
    while let Some(err) = cur {
        let s = err.to_string();
        all.push(s.clone());
        // Transport wrappers ("Error in the hyper legacy client: …", "client error
        // (Connect)") say nothing the inner errors do not.
        let wrapper = s.starts_with("Error in the hyper legacy client") || s.starts_with("client error (");
        if !wrapper && !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    if parts.is_empty() {
        return all.join(": ");
    }
    parts.join(": ")
}

/// A TLS client for the cases `connect_with_ssl` does not cover: no certificate
/// verification (`--tls` without `--tlsverify`, `skip-tls-verify=true` contexts), no CA
/// file (the system roots are used), or no client certificate.
fn tls_client(addr: &str, files: &TlsFiles, skip_verify: bool) -> anyhow::Result<Docker> {
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let https = https_connector(files, skip_verify)?;
    let mut cb = Client::builder(TokioExecutor::new());
    cb.pool_max_idle_per_host(0);
    let client = Arc::new(cb.build(https));
    let transport = move |req: BollardRequest| {
        let client = Arc::clone(&client);
        Box::pin(async move { client.request(req).await.map_err(bollard::errors::Error::from) })
            as std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>
    };
    Docker::connect_with_custom_transport(transport, Some(format!("https://{addr}")), TIMEOUT_SECS, API_DEFAULT_VERSION)
        .map_err(|e| anyhow!("error during connect: {e}"))
}

/// The HTTPS connector of an endpoint: its CA (else the system roots, or no
/// verification at all with `skip_verify`) and its client certificate, if any. Also
/// used for the hijacked connections of `attach` (see `hijack.rs`).
pub(crate) fn https_connector(
    files: &TlsFiles,
    skip_verify: bool,
) -> anyhow::Result<hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>> {
    use hyper_rustls::HttpsConnector;
    use hyper_util::client::legacy::connect::HttpConnector;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let read_certs = |p: &Path| -> anyhow::Result<Vec<CertificateDer<'static>>> {
        CertificateDer::pem_file_iter(p)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| anyhow!("could not read certificate {:?}: {e}", p.display().to_string()))
    };

    let builder = rustls::ClientConfig::builder();
    let builder = if skip_verify {
        let provider = rustls::crypto::CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    } else {
        let mut roots = rustls::RootCertStore::empty();
        match &files.ca {
            Some(ca) => {
                for c in read_certs(ca)? {
                    roots.add(c).map_err(|e| {
                        anyhow!("failed to append certificates from PEM file {:?}: {e}", ca.display().to_string())
                    })?;
                }
            }
            None => {
                for c in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(c);
                }
            }
        }
        builder.with_root_certificates(roots)
    };
    let config = match (&files.cert, &files.key) {
        (Some(cert), Some(key)) => {
            let certs = read_certs(cert)?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| anyhow!("could not read key {:?}: {e}", key.display().to_string()))?;
            builder.with_client_auth_cert(certs, key).map_err(|e| anyhow!("could not load X509 key pair: {e}"))?
        }
        _ => builder.with_no_client_auth(),
    };

    let mut http = HttpConnector::new();
    http.enforce_http(false);
    Ok(HttpsConnector::from((http, config)))
}

/// Accepts any server certificate (Go's `InsecureSkipVerify`); handshake signatures are
/// still checked.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::GlobalOpts;
    use crate::config::ConfigFile;
    use crate::context::{resolve_context_name, Metadata};
    use std::fs;

    struct Case {
        name: &'static str,
        hosts: &'static [&'static str],
        context_flag: Option<&'static str>,
        docker_host: Option<&'static str>,
        docker_context: Option<&'static str>,
        current_context: Option<&'static str>,
        want_context: &'static str,
        want: Result<&'static str, &'static str>,
    }

    const C: Case = Case {
        name: "",
        hosts: &[],
        context_flag: None,
        docker_host: None,
        docker_context: None,
        current_context: None,
        want_context: "default",
        want: Ok("unix:///run/wharf/wharf.sock"),
    };

    #[test]
    fn resolution_table() {
        let cases = [
            Case { name: "nothing set: default socket", ..C },
            Case { name: "-H", hosts: &["unix:///tmp/h.sock"], want: Ok("unix:///tmp/h.sock"), ..C },
            Case {
                name: "-H beats DOCKER_CONTEXT and config",
                hosts: &["tcp://1.2.3.4"],
                docker_context: Some("ctx-a"),
                current_context: Some("ctx-b"),
                want: Ok("tcp://1.2.3.4:2375"),
                ..C
            },
            Case {
                name: "-H wins over DOCKER_HOST",
                hosts: &["unix:///tmp/h.sock"],
                docker_host: Some("unix:///tmp/env.sock"),
                want: Ok("unix:///tmp/h.sock"),
                ..C
            },
            Case {
                name: "DOCKER_HOST beats DOCKER_CONTEXT and config",
                docker_host: Some("unix:///tmp/env.sock"),
                docker_context: Some("ctx-a"),
                current_context: Some("ctx-b"),
                want: Ok("unix:///tmp/env.sock"),
                ..C
            },
            Case {
                name: "--context beats DOCKER_HOST",
                context_flag: Some("ctx-a"),
                docker_host: Some("unix:///tmp/env.sock"),
                want_context: "ctx-a",
                want: Ok("unix:///tmp/a.sock"),
                ..C
            },
            Case {
                name: "--context with -H conflicts",
                context_flag: Some("ctx-a"),
                hosts: &["unix:///tmp/h.sock"],
                want_context: "ctx-a",
                want: Err("conflicting options: cannot specify both --host and --context"),
                ..C
            },
            Case {
                name: "DOCKER_CONTEXT beats config",
                docker_context: Some("ctx-a"),
                current_context: Some("ctx-b"),
                want_context: "ctx-a",
                want: Ok("unix:///tmp/a.sock"),
                ..C
            },
            Case {
                name: "config currentContext",
                current_context: Some("ctx-b"),
                want_context: "ctx-b",
                want: Ok("tcp://10.0.0.2:2376"),
                ..C
            },
            Case {
                name: "--context default uses the default endpoint",
                context_flag: Some("default"),
                current_context: Some("ctx-b"),
                docker_host: Some("unix:///tmp/env.sock"),
                want_context: "default",
                want: Ok("unix:///tmp/env.sock"),
                ..C
            },
            Case {
                name: "missing context",
                context_flag: Some("nope"),
                want_context: "nope",
                want: Err("context \"nope\": context not found"),
                ..C
            },
            Case { name: "two -H", hosts: &["unix:///a", "unix:///b"], want: Err("specify only one -H"), ..C },
            Case {
                name: "bad DOCKER_HOST",
                docker_host: Some("foo://x"),
                want: Err("invalid bind address format: foo://x"),
                ..C
            },
        ];

        let dir = tempfile::tempdir().expect("tempdir");
        let store = ContextStore::new(dir.path());
        let a = DockerEndpointMeta { host: "unix:///tmp/a.sock".into(), skip_tls_verify: false };
        let b = DockerEndpointMeta { host: "tcp://10.0.0.2:2376".into(), skip_tls_verify: true };
        store.create_or_update(&Metadata::new("ctx-a", "", &a)).expect("a");
        store.create_or_update(&Metadata::new("ctx-b", "", &b)).expect("b");

        for c in cases {
            let g = GlobalOpts {
                host: c.hosts.iter().map(|s| s.to_string()).collect(),
                context: c.context_flag.map(String::from),
                config: Some(dir.path().to_path_buf()),
                ..GlobalOpts::default()
            };
            let env = Env {
                docker_host: c.docker_host.map(String::from),
                docker_context: c.docker_context.map(String::from),
                home: Some("/nonexistent-home".into()),
                ..Env::default()
            };
            let opts = ClientOptions::from_flags(&g, &env, &|_| false);
            let mut cfg = ConfigFile::load(dir.path());
            cfg.set_current_context(c.current_context);
            let name = resolve_context_name(&opts, &env, &cfg);
            assert_eq!(name, c.want_context, "{}", c.name);
            let got = resolve_endpoint(&name, &opts, &env, &store);
            match c.want {
                Ok(host) => assert_eq!(got.map(|e| e.host).as_deref(), Ok(host), "{}", c.name),
                Err(msg) => {
                    let e = got.expect_err(c.name);
                    assert!(e.starts_with(msg), "{}: {e}", c.name);
                }
            }
        }
    }

    #[test]
    fn stored_tls_and_skip_verify() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ContextStore::new(dir.path());
        let b = DockerEndpointMeta { host: "tcp://10.0.0.2:2376".into(), skip_tls_verify: true };
        store.create_or_update(&Metadata::new("ctx-b", "", &b)).expect("b");
        let ep = context::stored_endpoint(&store, "ctx-b").expect("ep");
        assert!(ep.skip_tls_verify);
        assert_eq!(ep.tls, None);
    }

    #[test]
    fn default_tls_from_flags() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("ca.pem"), "x").expect("ca");
        let g = GlobalOpts { tlsverify: Some(true), ..GlobalOpts::default() };
        let env = Env { docker_cert_path: Some(dir.path().to_path_buf()), home: Some("/h".into()), ..Env::default() };
        let opts = ClientOptions::from_flags(&g, &env, &|p: &Path| p.exists());
        let ep = default_endpoint(&opts, &env).expect("endpoint");
        assert_eq!(ep.host, "tcp://localhost:2376");
        assert!(!ep.skip_tls_verify);
        let files = ep.tls.expect("tls");
        assert_eq!(files.ca, Some(dir.path().join("ca.pem")));
        assert_eq!(files.cert, None);

        // A missing CA file is an error, as in docker.
        fs::remove_file(dir.path().join("ca.pem")).expect("rm");
        let err = default_endpoint(&opts, &env).expect_err("no ca");
        assert!(err.starts_with("open ") && err.ends_with("ca.pem: no such file or directory"), "{err}");
    }

    #[test]
    fn request_paths() {
        assert_eq!(rewrite_path_and_query("/info", "/v1.45", None), "/v1.45/info");
        assert_eq!(rewrite_path_and_query("/v1.45/info", "/v1.45", None), "/v1.45/info");
        assert_eq!(
            rewrite_path_and_query("/events?since=1", "/v1.45", Some("filters=%7B%7D")),
            "/v1.45/events?since=1&filters=%7B%7D"
        );
        assert_eq!(rewrite_path_and_query("/events", "/v1.24", Some("filters=x")), "/v1.24/events?filters=x");
    }

    #[test]
    fn path_escaping() {
        assert_eq!(path_escape("localhost:5000/my/busybox:v1"), "localhost:5000/my/busybox:v1");
        assert_eq!(path_escape("a b?c#d%"), "a%20b%3Fc%23d%25");
    }

    #[tokio::test]
    async fn unreachable_socket_message() {
        let ep = Endpoint { host: "unix:///nonexistent/wharf.sock".into(), skip_tls_verify: false, tls: None };
        let err = connect(&ep).await.expect_err("must fail");
        assert_eq!(
            err.to_string(),
            "Cannot connect to the wharf daemon at unix:///nonexistent/wharf.sock. Is the daemon running?"
        );
        let ep = Endpoint { host: "tcp://127.0.0.1:1".into(), skip_tls_verify: false, tls: None };
        let err = connect(&ep).await.expect_err("must fail");
        assert_eq!(err.to_string(), "Cannot connect to the wharf daemon at tcp://127.0.0.1:1. Is the daemon running?");
    }
}
