//! One embedded DNS server: UDP and TCP on 127.0.0.11:53 inside one container's network
//! namespace, served by hickory-server on the caller's tokio runtime.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hickory_server::Server;
use tokio::runtime::Handle;
use tokio::sync::{oneshot, Semaphore};
use tracing::{debug, warn};

use crate::forward::Upstream;
use crate::handler::{Handler, MAX_CONCURRENT_FORWARDS};
use crate::netns::bind_in_netns;
use crate::DnsState;

/// The address Docker's embedded DNS listens on inside every container.
pub const DNS_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::new(127, 0, 0, 11)), 53);

/// How long one upstream server gets per attempt by default (Docker's `extIOTimeout`).
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(4);

/// How long an idle client TCP connection is kept.
const TCP_IDLE: Duration = Duration::from_secs(10);
/// Answers queued per client TCP connection.
const TCP_BUFFER: usize = 32;

/// What a server forwards to.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Upstream nameservers, tried in order (the host's resolv.conf ones; loopback addresses work
    /// since forwarding happens from the daemon's namespace). Empty: misses are NXDOMAIN.
    pub upstream: Vec<SocketAddr>,
    /// Time each upstream gets for one attempt (UDP, and again TCP after a truncated answer).
    pub upstream_timeout: Duration,
}

impl ServerConfig {
    /// Forward to `upstream` with the default timeout.
    pub fn new(upstream: Vec<SocketAddr>) -> Self {
        Self { upstream, upstream_timeout: DEFAULT_UPSTREAM_TIMEOUT }
    }
}

/// A running embedded DNS server for one container. Dropping it stops it too (the sockets close
/// shortly after, on the runtime); [`DnsServer::stop`] also waits until they are closed.
#[derive(Debug)]
pub struct DnsServer {
    querier: String,
    stop: Option<oneshot::Sender<()>>,
    done: Option<oneshot::Receiver<()>>,
}

impl DnsServer {
    /// Starts a server inside the network namespace `netns` (e.g. `/proc/<pid>/ns/net`) answering
    /// for the container `querier`, on the current tokio runtime (an error when called outside
    /// one). Brings `lo` up in the namespace when it is down.
    pub fn start(
        netns: &Path,
        querier: String,
        state: Arc<DnsState>,
        upstream: Vec<SocketAddr>,
    ) -> io::Result<DnsServer> {
        let runtime = Handle::try_current().map_err(io::Error::other)?;
        Self::start_with(netns, querier, state, ServerConfig::new(upstream), &runtime)
    }

    /// [`DnsServer::start`] with a configuration and an explicit runtime, usable from any thread.
    /// Blocks the calling thread only while a helper thread binds in the namespace.
    pub fn start_with(
        netns: &Path,
        querier: String,
        state: Arc<DnsState>,
        config: ServerConfig,
        runtime: &Handle,
    ) -> io::Result<DnsServer> {
        let (udp, tcp) = bind_in_netns(netns, DNS_ADDR)?;
        let _entered = runtime.enter();
        let udp = tokio::net::UdpSocket::from_std(udp)?;
        let tcp = tokio::net::TcpListener::from_std(tcp)?;
        let handler = Handler {
            querier: querier.clone(),
            state,
            upstream: Upstream { servers: config.upstream, timeout: config.upstream_timeout },
            forwards: Semaphore::new(MAX_CONCURRENT_FORWARDS),
        };
        let mut server = Server::new(handler);
        server.register_socket(udp);
        server.register_listener(tcp, TCP_IDLE, TCP_BUFFER);

        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (done_tx, done_rx) = oneshot::channel::<()>();
        let who = querier.clone();
        runtime.spawn(async move {
            tokio::select! {
                // A stop request, or the DnsServer dropped.
                _ = stop_rx => {
                    if let Err(e) = server.shutdown_gracefully().await {
                        debug!(querier = %who, error = %e, "dns server shutdown");
                    }
                }
                result = server.block_until_done() => {
                    warn!(querier = %who, ?result, "dns server ended on its own");
                }
            }
            let _ = done_tx.send(());
        });
        debug!(%querier, netns = %netns.display(), "dns server started");
        Ok(DnsServer { querier, stop: Some(stop_tx), done: Some(done_rx) })
    }

    /// The container this server answers for.
    pub fn querier(&self) -> &str {
        &self.querier
    }

    /// Stops the server and waits until its sockets are closed (127.0.0.11:53 can then be bound
    /// again in that namespace).
    pub async fn stop(mut self) {
        self.signal();
        if let Some(done) = self.done.take() {
            let _ = done.await;
        }
    }

    /// [`DnsServer::stop`] for synchronous code. Must not be called from within the runtime's
    /// async context (it blocks the thread until the server task has finished).
    pub fn stop_blocking(mut self) {
        self.signal();
        if let Some(done) = self.done.take() {
            let _ = done.blocking_recv();
        }
    }

    fn signal(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.signal();
    }
}
