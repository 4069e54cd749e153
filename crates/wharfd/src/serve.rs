//! Accept loops: one per listener, HTTP/1.1 with upgrades (attach and exec hijack the
//! connection), graceful shutdown that lets in-flight requests finish.

use std::time::Duration;

use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;

use crate::listen::Bound;

/// Serves `service` on every listener until `stop` is cancelled, then waits up to `grace` for
/// open requests, and removes the unix sockets it created.
pub async fn serve(listeners: Vec<Bound>, service: axum::Router, stop: CancellationToken, grace: Duration) {
    let graceful = std::sync::Arc::new(GracefulShutdown::new());
    let mut tasks = tokio::task::JoinSet::new();
    let mut sockets = Vec::new();
    for bound in listeners {
        tracing::info!("API listen on {}", bound.describe());
        let (svc, stop, graceful) = (service.clone(), stop.clone(), graceful.clone());
        match bound {
            Bound::Unix { listener, path, owned } => {
                if owned {
                    sockets.push(path);
                }
                tasks.spawn(async move {
                    loop {
                        tokio::select! {
                            _ = stop.cancelled() => break,
                            r = listener.accept() => match r {
                                Ok((stream, _)) => serve_conn(stream, svc.clone(), graceful.watcher()),
                                Err(e) => { tracing::warn!("accept: {e}"); tokio::time::sleep(Duration::from_millis(50)).await }
                            }
                        }
                    }
                });
            }
            Bound::Tcp { listener, tls, .. } => {
                tasks.spawn(async move {
                    loop {
                        tokio::select! {
                            _ = stop.cancelled() => break,
                            r = listener.accept() => match r {
                                Ok((stream, peer)) => {
                                    let _ = stream.set_nodelay(true);
                                    match tls.clone() {
                                        None => serve_conn(stream, svc.clone(), graceful.watcher()),
                                        Some(acceptor) => {
                                            let (svc, watcher) = (svc.clone(), graceful.watcher());
                                            tokio::spawn(async move {
                                                let handshake = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await;
                                                match handshake {
                                                    Ok(Ok(tls_stream)) => serve_conn(tls_stream, svc, watcher),
                                                    Ok(Err(e)) => tracing::info!("TLS handshake with {peer} failed: {e}"),
                                                    Err(_) => tracing::info!("TLS handshake with {peer} timed out"),
                                                }
                                            });
                                        }
                                    }
                                }
                                Err(e) => { tracing::warn!("accept: {e}"); tokio::time::sleep(Duration::from_millis(50)).await }
                            }
                        }
                    }
                });
            }
        }
    }
    stop.cancelled().await;
    while tasks.join_next().await.is_some() {}
    for path in &sockets {
        let _ = std::fs::remove_file(path);
    }
    // Every accept loop has ended, so this is the last reference.
    let graceful = std::sync::Arc::try_unwrap(graceful).unwrap_or_else(|_| GracefulShutdown::new());
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after {grace:?}; closing them");
    }
}

fn serve_conn<S>(stream: S, service: axum::Router, watcher: Watcher)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
        builder.http1().keep_alive(true);
        let builder = builder.http1_only();
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
        if let Err(e) = watcher.watch(conn).await {
            tracing::debug!("connection: {e}");
        }
    });
}
