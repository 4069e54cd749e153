//! Forwarding of queries the containers' names do not answer to the upstream servers (the host's
//! resolv.conf nameservers), from the daemon's own network namespace.
//!
//! Each upstream is tried in order: the client's query bytes go out unchanged over UDP from a fresh
//! ephemeral port; a truncated answer is asked again over TCP. As Docker does, SERVFAIL and
//! REFUSED move on to the next server (the last such answer is returned when none does better).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;
use tracing::debug;

/// Why no upstream answered.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ForwardError {
    #[error("no upstream server configured")]
    NoUpstream,
    #[error("upstream {server}: {source}")]
    Io { server: SocketAddr, source: io::Error },
    #[error("upstream {0}: timed out")]
    Timeout(SocketAddr),
    #[error("upstream {0}: malformed answer")]
    Malformed(SocketAddr),
}

/// The upstream servers and the time each one gets.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    pub(crate) servers: Vec<SocketAddr>,
    pub(crate) timeout: Duration,
}

impl Upstream {
    /// Asks each server in turn; the first usable answer wins.
    pub(crate) async fn forward(&self, query: &[u8], id: u16) -> Result<Message, ForwardError> {
        let mut last: Result<Message, ForwardError> = Err(ForwardError::NoUpstream);
        for &server in &self.servers {
            match self.exchange(server, query, id).await {
                Ok(msg) if matches!(msg.metadata.response_code, ResponseCode::ServFail | ResponseCode::Refused) => {
                    debug!(%server, rcode = %msg.metadata.response_code, "upstream failed, trying next");
                    last = Ok(msg);
                }
                Ok(msg) => return Ok(msg),
                Err(e) => {
                    debug!(error = %e, "upstream failed, trying next");
                    if last.is_err() {
                        last = Err(e);
                    }
                }
            }
        }
        last
    }

    async fn exchange(&self, server: SocketAddr, query: &[u8], id: u16) -> Result<Message, ForwardError> {
        let io = |source| ForwardError::Io { server, source };
        let bytes = timeout(self.timeout, udp_exchange(server, query, id))
            .await
            .map_err(|_| ForwardError::Timeout(server))?
            .map_err(io)?;
        let msg = Message::from_vec(&bytes).map_err(|_| ForwardError::Malformed(server))?;
        if !msg.metadata.truncation {
            return Ok(msg);
        }
        match timeout(self.timeout, tcp_exchange(server, query, id)).await {
            Ok(Ok(bytes)) => Message::from_vec(&bytes).map_err(|_| ForwardError::Malformed(server)),
            Ok(Err(e)) => {
                debug!(%server, error = %e, "tcp retry of a truncated answer failed");
                Ok(msg)
            }
            Err(_) => {
                debug!(%server, "tcp retry of a truncated answer timed out");
                Ok(msg)
            }
        }
    }
}

fn is_answer(bytes: &[u8], id: u16) -> bool {
    bytes.len() >= 12 && u16::from_be_bytes([bytes[0], bytes[1]]) == id && bytes[2] & 0x80 != 0
}

async fn udp_exchange(server: SocketAddr, query: &[u8], id: u16) -> io::Result<Vec<u8>> {
    let local: SocketAddr = if server.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(local).await?;
    sock.connect(server).await?;
    sock.send(query).await?;
    let mut buf = vec![0u8; 65535];
    loop {
        let n = sock.recv(&mut buf).await?;
        if is_answer(&buf[..n], id) {
            buf.truncate(n);
            return Ok(buf);
        }
        debug!(%server, "ignoring a stray datagram");
    }
}

async fn tcp_exchange(server: SocketAddr, query: &[u8], id: u16) -> io::Result<Vec<u8>> {
    let len = u16::try_from(query.len()).map_err(|_| io::Error::other("query too long"))?;
    let mut stream = TcpStream::connect(server).await?;
    let mut out = Vec::with_capacity(query.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(query);
    stream.write_all(&out).await?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut buf).await?;
    if !is_answer(&buf, id) {
        return Err(io::Error::other("answer does not match the query"));
    }
    Ok(buf)
}
