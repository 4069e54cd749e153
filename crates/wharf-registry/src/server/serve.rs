//! Serving a registry on a TCP listener: HTTP/1.1, optionally behind TLS (rustls, aws-lc-rs,
//! a certificate chain and key from PEM files, HTTP/1.1 by ALPN), until a token is cancelled;
//! then open requests get a grace period.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;

/// Why TLS cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file cannot be read.
    #[error("could not load TLS {what} {path}: {message}")]
    Load {
        /// `certificate` or `key`.
        what: &'static str,
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// rustls refused the configuration (a key that does not match the certificate…).
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// A TLS acceptor for the certificate chain in `cert` and the private key in `key` (PEM).
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor, TlsError> {
    let load = |what, path: &Path, message: String| TlsError::Load { what, path: path.display().to_string(), message };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| load("certificate", cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| load("certificate", cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(load("certificate", cert, "no certificate found".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| load("key", key, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Serves `app` on `listener` (through `tls` if given) until `stop` is cancelled, then waits up
/// to `grace` for open connections.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    stop: CancellationToken,
    grace: Duration,
) {
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            r = listener.accept() => match r {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let (app, watcher) = (app.clone(), graceful.watcher());
                    match tls.clone() {
                        None => serve_conn(stream, app, watcher),
                        Some(acceptor) => {
                            tokio::spawn(async move {
                                match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
                                    Ok(Ok(s)) => serve_conn(s, app, watcher),
                                    Ok(Err(e)) => tracing::info!("TLS handshake with {peer} failed: {e}"),
                                    Err(_) => tracing::info!("TLS handshake with {peer} timed out"),
                                }
                            });
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after {grace:?}; closing them");
    }
}

fn serve_conn<S>(stream: S, app: axum::Router, watcher: Watcher)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
        // The timer arms hyper's header read timeout (30 s): a client that never finishes its
        // request head does not hold a connection forever.
        builder.http1().timer(hyper_util::rt::TokioTimer::new()).keep_alive(true);
        let builder = builder.http1_only();
        let conn = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
        if let Err(e) = watcher.watch(conn).await {
            tracing::debug!("connection: {e}");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Sends one HTTP/1.1 request with `Connection: close` and returns the raw answer.
    async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, request: &str) -> String {
        s.write_all(request.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    fn registry(dir: &Path) -> axum::Router {
        crate::server::Registry::open(crate::server::Config::new(dir)).unwrap().router()
    }

    #[tokio::test]
    async fn serves_plain_http_and_stops() {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let server = tokio::spawn(serve(listener, registry(dir.path()), None, stop.clone(), Duration::from_secs(1)));
        let conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        let answer = exchange(conn, "HEAD /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("docker-distribution-api-version: registry/2.0"), "{answer}");
        assert!(answer.contains("content-length: 2"), "HEAD keeps the length: {answer}");
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), server).await.unwrap().unwrap();
        assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "the listener is closed");
    }

    #[tokio::test]
    async fn serves_tls() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
        std::fs::write(dir.path().join("cert.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).unwrap();
        let acceptor = tls_acceptor(&dir.path().join("cert.pem"), &dir.path().join("key.pem")).unwrap();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let server = tokio::spawn(serve(
            listener,
            registry(&dir.path().join("root")),
            Some(acceptor),
            stop.clone(),
            Duration::from_secs(1),
        ));

        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert.der().clone()).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let tls = connector.connect(name, tcp).await.unwrap();
        let answer = exchange(tls, "GET /v2/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("{}"), "{answer}");

        // Plain HTTP to the TLS port gets no HTTP answer.
        let plain = tokio::net::TcpStream::connect(addr).await.unwrap();
        let answer = exchange(plain, "GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
        assert!(!answer.contains("200 OK"), "{answer}");
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), server).await.unwrap().unwrap();
    }

    #[test]
    fn tls_setup_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = tls_acceptor(&missing, &missing).err().unwrap().to_string();
        assert!(err.contains("could not load TLS certificate"), "{err}");
        let key = rcgen::KeyPair::generate().unwrap();
        let other = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
        std::fs::write(dir.path().join("cert.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("other.pem"), other.serialize_pem()).unwrap();
        std::fs::write(dir.path().join("empty.pem"), "").unwrap();
        let err = tls_acceptor(&dir.path().join("empty.pem"), &dir.path().join("other.pem")).err().unwrap().to_string();
        assert!(err.contains("no certificate found"), "{err}");
        assert!(
            tls_acceptor(&dir.path().join("cert.pem"), &dir.path().join("other.pem")).is_err(),
            "a key of another cert"
        );
    }
}
