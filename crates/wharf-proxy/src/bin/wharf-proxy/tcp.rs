//! TCP forwarding in one thread: an edge-triggered epoll loop over the listener, the stop
//! signals and every connection's two sockets. Each connection dials the container without
//! blocking, then relays two halves (client → container, container → client) through one
//! shared read buffer; bytes a destination cannot take yet wait in a per-half buffer that
//! exists only while they do (and stop reading from the source meanwhile). An idle
//! connection costs two sockets and a small record — no thread, no buffer.
//!
//! Half-close as docker-proxy: when a source ends, its destination is shut down for writing
//! (the peer reads EOF) while the other half goes on. A source that fails (reset) has no one
//! left to receive the other half, so that half is stopped too; a destination that cannot be
//! written ends its half. The connection is closed once both halves are done.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::thread;
use std::time::Duration;

use rustix::net::{AddressFamily, SocketFlags, SocketType};

use crate::sys::{Poller, EDGE, LISTENER, SIGNAL};

/// Connection `id` has tokens `FIRST + 2*id` (client) and `FIRST + 2*id + 1` (container).
const FIRST: u64 = 2;

/// Shared read buffer.
const BUF: usize = 32 * 1024;
/// Reads per half before other connections get a turn.
const BUDGET: usize = 16;

/// One direction of a connection.
#[derive(Default)]
struct Half {
    /// Read from the source, not yet taken by the destination.
    pending: Vec<u8>,
    /// The source ended (EOF or error).
    ended: bool,
    /// Finished: the destination is shut down for writing.
    done: bool,
}

struct Conn {
    client: TcpStream,
    server: TcpStream,
    connecting: bool,
    /// client → container
    up: Half,
    /// container → client
    down: Half,
}

enum Pumped {
    /// Waits for an edge (readable source, writable destination) or is done.
    Idle,
    /// Used its budget with work left: pump again without waiting.
    More,
}

/// Serves until SIGTERM/SIGINT (`Ok`) or an unrecoverable accept error. `poller` already
/// watches the signals ([`SIGNAL`]) and the listener ([`LISTENER`]).
pub fn serve(mut poller: Poller, listener: OwnedFd, backend: SocketAddr) -> io::Result<()> {
    let listener = TcpListener::from(listener);
    let mut conns: HashMap<u64, Conn> = HashMap::new();
    let mut next_id = 0u64;
    let mut buf = vec![0u8; BUF];
    let mut ready = Vec::new();
    let mut again: Vec<u64> = Vec::new();
    let mut starved = false;
    loop {
        let timeout = if again.is_empty() { None } else { Some(Duration::ZERO) };
        poller.wait(timeout, &mut ready)?;
        let mut todo = std::mem::take(&mut again);
        for &token in &ready {
            match token {
                SIGNAL => return Ok(()),
                LISTENER => loop {
                    match listener.accept() {
                        Ok((client, _)) => {
                            starved = false;
                            let id = next_id;
                            next_id += 1;
                            match open(&poller, id, client, backend) {
                                Ok(conn) => {
                                    conns.insert(id, conn);
                                }
                                Err(e) => eprintln!("wharf-proxy: can't forward traffic to backend tcp/{backend}: {e}"),
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted) => {
                        }
                        Err(e) if is_resource_shortage(&e) => {
                            // Out of descriptors or memory: the connection waits in the
                            // backlog; retry shortly instead of spinning on the listener.
                            if !starved {
                                eprintln!("wharf-proxy: accept: {e}");
                                starved = true;
                            }
                            thread::sleep(Duration::from_millis(50));
                            break;
                        }
                        Err(e) => return Err(e),
                    }
                },
                token => todo.push((token - FIRST) / 2),
            }
        }
        todo.sort_unstable();
        todo.dedup();
        for id in todo {
            let Some(conn) = conns.get_mut(&id) else { continue };
            match pump(conn, &mut buf, backend) {
                Some(Pumped::More) => again.push(id),
                Some(Pumped::Idle) => {}
                None => {
                    if let Some(conn) = conns.remove(&id) {
                        poller.delete(&conn.client);
                        poller.delete(&conn.server);
                    }
                }
            }
        }
    }
}

fn is_resource_shortage(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM))
}

/// Starts dialing the container for a new client and watches both sockets.
fn open(poller: &Poller, id: u64, client: TcpStream, backend: SocketAddr) -> io::Result<Conn> {
    client.set_nonblocking(true)?;
    let family = if backend.is_ipv4() { AddressFamily::INET } else { AddressFamily::INET6 };
    let fd = rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC, None)?;
    match rustix::net::connect(&fd, &backend) {
        Ok(()) | Err(rustix::io::Errno::INPROGRESS) => {}
        Err(e) => return Err(e.into()),
    }
    let server = TcpStream::from(fd);
    // Go enables TCP_NODELAY on every connection, so docker-proxy does too.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let token = FIRST + 2 * id;
    poller.add_with(&client, token, EDGE)?;
    poller.add_with(&server, token + 1, EDGE)?;
    Ok(Conn { client, server, connecting: true, up: Half::default(), down: Half::default() })
}

/// Moves what can move now. `None` once the connection is finished (to be closed).
fn pump(conn: &mut Conn, buf: &mut [u8], backend: SocketAddr) -> Option<Pumped> {
    if conn.connecting {
        match conn.server.take_error() {
            Ok(None) if conn.server.peer_addr().is_ok() => conn.connecting = false,
            Ok(None) => return Some(Pumped::Idle),
            Ok(Some(e)) | Err(e) => {
                eprintln!("wharf-proxy: can't forward traffic to backend tcp/{backend}: {e}");
                return None;
            }
        }
    }
    let up = relay(&conn.client, &conn.server, &mut conn.up, buf);
    if up.source_failed {
        stop(&conn.server, &conn.client, &mut conn.down);
    }
    let down = relay(&conn.server, &conn.client, &mut conn.down, buf);
    if down.source_failed {
        stop(&conn.client, &conn.server, &mut conn.up);
    }
    if conn.up.done && conn.down.done {
        return None;
    }
    Some(if up.more || down.more { Pumped::More } else { Pumped::Idle })
}

struct Relayed {
    /// Budget used up with data still readable.
    more: bool,
    /// Reading the source failed: its peer is gone.
    source_failed: bool,
}

/// Relays `src` → `dst` until the source has nothing, the destination takes nothing, or the
/// budget is spent; finishes the half once its source ended and everything is delivered.
fn relay(src: &TcpStream, dst: &TcpStream, half: &mut Half, buf: &mut [u8]) -> Relayed {
    let mut out = Relayed { more: false, source_failed: false };
    let (mut reader, mut writer) = (src, dst);
    let mut budget = BUDGET;
    while !half.done {
        if !half.pending.is_empty() {
            match writer.write(&half.pending) {
                Ok(n) => {
                    half.pending.drain(..n);
                    if half.pending.is_empty() {
                        half.pending = Vec::new();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => finish(src, dst, half),
            }
            continue;
        }
        if half.ended {
            finish(src, dst, half);
            break;
        }
        if budget == 0 {
            out.more = true;
            break;
        }
        budget -= 1;
        match reader.read(buf) {
            Ok(0) => half.ended = true,
            Ok(n) => match writer.write(&buf[..n]) {
                Ok(m) => half.pending.extend_from_slice(&buf[m..n]),
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {
                    half.pending.extend_from_slice(&buf[..n])
                }
                Err(_) => finish(src, dst, half),
            },
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                half.ended = true;
                out.source_failed = true;
            }
        }
    }
    out
}

/// Ends a half: the destination stops writing (its peer reads EOF), the source stops reading.
fn finish(src: &TcpStream, dst: &TcpStream, half: &mut Half) {
    let _ = dst.shutdown(Shutdown::Write);
    let _ = src.shutdown(Shutdown::Read);
    half.pending = Vec::new();
    half.done = true;
}

/// Cancels a half whose destination's peer is gone: nothing it holds can be delivered.
fn stop(src: &TcpStream, dst: &TcpStream, half: &mut Half) {
    if !half.done {
        finish(src, dst, half);
    }
}
