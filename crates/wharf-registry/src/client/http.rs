//! The client's HTTP/1.1 transport: one connection per request (TCP, or TLS through rustls with
//! the system's roots), redirects followed for GET/HEAD, and retries with backoff on transient
//! failures (connection errors, 5xx) for requests whose body can be replayed.
//!
//! Why hyper directly rather than oci-client or reqwest: oci-client's `push`/`pull` hold whole
//! layers in memory and bring their own manifest structs and reqwest 0.13 (a second HTTP stack
//! plus its TLS and cookie/redirect machinery) — while the workspace already builds hyper,
//! hyper-util, rustls and tokio-rustls for the server. A registry client needs a handful of
//! request shapes; the protocol (auth, manifests, uploads) lives in [`super`] either way.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::ClientError;

/// A request body.
pub type ReqBody = BoxBody<Bytes, io::Error>;

/// An empty body.
pub fn empty() -> ReqBody {
    Empty::new().map_err(|never| match never {}).boxed()
}

/// A body of bytes in memory.
pub fn full(b: impl Into<Bytes>) -> ReqBody {
    Full::new(b.into()).map_err(|never| match never {}).boxed()
}

/// A body streamed from `s`.
pub fn stream_body<S>(s: S) -> ReqBody
where
    S: futures_util::Stream<Item = io::Result<Bytes>> + Send + Sync + 'static,
{
    use futures_util::StreamExt;
    BodyExt::boxed(http_body_util::StreamBody::new(s.map(|r| r.map(hyper::body::Frame::data))))
}

/// Where a request goes: `http`/`https`, `host[:port]`, and `/path?query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// `host[:port]`.
    pub authority: String,
    /// `/path?query`.
    pub path: String,
}

impl Target {
    /// Parses an absolute URL, or a path relative to `base`'s authority.
    pub fn resolve(base: &Target, location: &str) -> Result<Target, ClientError> {
        for (prefix, scheme) in [("http://", "http"), ("https://", "https")] {
            if let Some(rest) = location.strip_prefix(prefix) {
                let (authority, path) = match rest.find('/') {
                    Some(i) => (&rest[..i], &rest[i..]),
                    None => (rest, "/"),
                };
                return Ok(Target { scheme, authority: authority.to_string(), path: path.to_string() });
            }
        }
        if location.starts_with('/') {
            return Ok(Target { path: location.to_string(), ..base.clone() });
        }
        Err(ClientError::Protocol(format!("unsupported location {location:?}")))
    }

    /// The full URL.
    pub fn url(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.path)
    }

    fn host_port(&self) -> (String, u16) {
        let default = if self.scheme == "https" { 443 } else { 80 };
        let a = self.authority.as_str();
        if let Some(rest) = a.strip_prefix('[') {
            // [v6]:port
            let (h, p) = rest.split_once(']').unwrap_or((rest, ""));
            return (h.to_string(), p.strip_prefix(':').and_then(|p| p.parse().ok()).unwrap_or(default));
        }
        match a.rsplit_once(':') {
            Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty() => {
                (h.to_string(), p.parse().unwrap_or(default))
            }
            _ => (a.to_string(), default),
        }
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The TLS configuration: the system's roots.
pub fn tls_config() -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth());
    match cfg {
        Ok(c) => Arc::new(c),
        Err(e) => {
            tracing::warn!("TLS configuration: {e}");
            Arc::new(
                rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
                    .with_protocol_versions(&[&rustls::version::TLS13])
                    .expect("TLS 1.3 is supported")
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth(),
            )
        }
    }
}

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How many times a replayable request is tried.
const ATTEMPTS: u32 = 3;

/// Sends one request on a fresh connection.
async fn send_once(
    tls: &Arc<rustls::ClientConfig>,
    target: &Target,
    method: &Method,
    headers: &HeaderMap,
    body: ReqBody,
) -> Result<Response<Incoming>, ClientError> {
    let (host, port) = target.host_port();
    let transport = |e: io::Error| ClientError::Transport(format!("{} {}: {e}", method, target.url()));
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host.as_str(), port)))
        .await
        .map_err(|_| transport(io::Error::new(io::ErrorKind::TimedOut, "connection timed out")))?
        .map_err(transport)?;
    let _ = tcp.set_nodelay(true);
    let stream: Pin<Box<dyn Io>> = if target.scheme == "https" {
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| ClientError::Invalid(format!("invalid registry host {host:?}: {e}")))?;
        let tls = tokio_rustls::TlsConnector::from(tls.clone()).connect(name, tcp).await.map_err(transport)?;
        Box::pin(tls)
    } else {
        Box::pin(tcp)
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| ClientError::Transport(format!("{} {}: {e}", method, target.url())))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("registry connection: {e}");
        }
    });
    let mut req = Request::builder().method(method.clone()).uri(&target.path);
    let h = req.headers_mut().expect("builder is valid");
    h.extend(headers.clone());
    h.insert(
        http::header::HOST,
        HeaderValue::from_str(&target.authority).map_err(|e| ClientError::Invalid(e.to_string()))?,
    );
    h.entry(http::header::USER_AGENT).or_insert(HeaderValue::from_static(concat!("wharf/", env!("CARGO_PKG_VERSION"))));
    let req = req.body(body).map_err(|e| ClientError::Invalid(e.to_string()))?;
    sender.send_request(req).await.map_err(|e| ClientError::Transport(format!("{} {}: {e}", method, target.url())))
}

/// Sends a request whose body is `body` (replayable: bytes in memory), following redirects for
/// GET and HEAD (without the `Authorization` header once the host changes) and retrying
/// transient failures with backoff.
pub async fn send(
    tls: &Arc<rustls::ClientConfig>,
    target: &Target,
    method: Method,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response<Incoming>, ClientError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = send_following(tls, target, &method, headers, body.clone()).await;
        let transient = match &result {
            Err(ClientError::Transport(_)) => true,
            Ok(r) => r.status().is_server_error() && r.status() != StatusCode::NOT_IMPLEMENTED,
            Err(_) => false,
        };
        if !transient || attempt >= ATTEMPTS {
            return result;
        }
        let wait = Duration::from_millis(200 << attempt);
        tracing::debug!(url = %target.url(), attempt, "retrying after a transient failure");
        tokio::time::sleep(wait).await;
    }
}

async fn send_following(
    tls: &Arc<rustls::ClientConfig>,
    target: &Target,
    method: &Method,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response<Incoming>, ClientError> {
    let mut target = target.clone();
    let mut headers = headers.clone();
    for _ in 0..6 {
        let resp = send_once(tls, &target, method, &headers, full(body.clone())).await?;
        let follow = matches!(*method, Method::GET | Method::HEAD) && resp.status().is_redirection();
        let location = resp.headers().get(http::header::LOCATION).and_then(|l| l.to_str().ok()).map(str::to_string);
        match (follow, location) {
            (true, Some(loc)) => {
                let next = Target::resolve(&target, &loc)?;
                if next.authority != target.authority {
                    headers.remove(http::header::AUTHORIZATION);
                }
                target = next;
            }
            _ => return Ok(resp),
        }
    }
    Err(ClientError::Protocol(format!("too many redirects from {}", target.url())))
}

/// Sends a request with a streaming body once (uploads are not replayed).
pub async fn send_stream(
    tls: &Arc<rustls::ClientConfig>,
    target: &Target,
    method: Method,
    headers: &HeaderMap,
    body: ReqBody,
) -> Result<Response<Incoming>, ClientError> {
    send_once(tls, target, &method, headers, body).await
}

/// Reads a whole (bounded) response body.
pub async fn read_body(resp: Response<Incoming>, limit: usize) -> Result<Bytes, ClientError> {
    let limited = http_body_util::Limited::new(resp.into_body(), limit);
    limited
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| ClientError::Transport(format!("reading a response: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let base = Target { scheme: "http", authority: "127.0.0.1:5000".into(), path: "/v2/".into() };
        let t = Target::resolve(&base, "/v2/a/blobs/uploads/x?_state=1").unwrap();
        assert_eq!(t.url(), "http://127.0.0.1:5000/v2/a/blobs/uploads/x?_state=1");
        let t = Target::resolve(&base, "https://cdn.example:8443/blob?sig=1").unwrap();
        assert_eq!((t.scheme, t.authority.as_str(), t.path.as_str()), ("https", "cdn.example:8443", "/blob?sig=1"));
        assert_eq!(t.host_port(), ("cdn.example".to_string(), 8443));
        let t = Target::resolve(&base, "https://h").unwrap();
        assert_eq!((t.host_port(), t.path.as_str()), (("h".to_string(), 443), "/"));
        let v6 = Target { scheme: "http", authority: "[::1]:5000".into(), path: "/".into() };
        assert_eq!(v6.host_port(), ("::1".to_string(), 5000));
        assert!(Target::resolve(&base, "ftp://x").is_err());
    }
}
