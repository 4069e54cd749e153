//! A minimal HTTP/1.1 client over a unix socket: one keep-alive connection, `GET` only,
//! bodies framed by `Content-Length`, `Transfer-Encoding: chunked` or connection close.
//! Hand-written so that the client costs a few microseconds per request and never becomes
//! the bottleneck of the API scenarios (the anchors' Python client topped out near 10k req/s).

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One response: status code, body, and whether the server closes the connection after it.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    pub close: bool,
}

/// A keep-alive HTTP/1.1 connection to a unix socket; reconnects when the server closes it.
pub struct Conn {
    sock: PathBuf,
    timeout: Duration,
    r: Option<BufReader<UnixStream>>,
    /// Connections opened so far (1 for a connection that was kept alive throughout).
    pub connects: u64,
}

impl Conn {
    /// A connection to `sock`; `timeout` bounds every read and write.
    pub fn new(sock: &Path, timeout: Duration) -> Conn {
        Conn { sock: sock.to_path_buf(), timeout, r: None, connects: 0 }
    }

    fn stream(&mut self) -> io::Result<&mut BufReader<UnixStream>> {
        if self.r.is_none() {
            let s = UnixStream::connect(&self.sock)?;
            s.set_read_timeout(Some(self.timeout))?;
            s.set_write_timeout(Some(self.timeout))?;
            self.r = Some(BufReader::with_capacity(64 * 1024, s));
            self.connects += 1;
        }
        Ok(self.r.as_mut().expect("connected"))
    }

    /// `GET path`. A failed request drops the connection (the next one reconnects).
    pub fn get(&mut self, path: &str) -> io::Result<Response> {
        let res = self.get_inner(path);
        match &res {
            Ok(r) if !r.close => {}
            _ => self.r = None,
        }
        res
    }

    fn get_inner(&mut self, path: &str) -> io::Result<Response> {
        let req = format!("GET {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: wharf-bench\r\n\r\n");
        let r = self.stream()?;
        r.get_mut().write_all(req.as_bytes())?;
        read_response(r)
    }
}

/// One `GET /_ping` on a fresh connection (`Connection: close`): true when it answers 200.
pub fn ping_once(sock: &Path, timeout: Duration) -> bool {
    let Ok(mut s) = UnixStream::connect(sock) else { return false };
    if s.set_read_timeout(Some(timeout)).is_err() || s.set_write_timeout(Some(timeout)).is_err() {
        return false;
    }
    if s.write_all(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut r = BufReader::new(s);
    matches!(read_response(&mut r), Ok(resp) if resp.status == 200)
}

/// Reads one response (status line, headers, body) from `r`.
pub fn read_response<R: BufRead>(r: &mut R) -> io::Result<Response> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed before the status line"));
    }
    let mut parts = line.split_whitespace();
    let version = parts.next().unwrap_or_default().to_string();
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("bad status line {line:?}")))?;
    let mut len: Option<usize> = None;
    let mut chunked = false;
    let mut close = version == "HTTP/1.0";
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed in the headers"));
        }
        let h = line.trim_end();
        if h.is_empty() {
            break;
        }
        let Some((k, v)) = h.split_once(':') else { continue };
        let v = v.trim();
        if k.eq_ignore_ascii_case("content-length") {
            len = v.parse().ok();
        } else if k.eq_ignore_ascii_case("transfer-encoding") {
            chunked = v.to_ascii_lowercase().contains("chunked");
        } else if k.eq_ignore_ascii_case("connection") {
            let v = v.to_ascii_lowercase();
            close = v.contains("close") || (close && !v.contains("keep-alive"));
        }
    }
    let mut body = Vec::new();
    if status == 204 || status == 304 || (100..200).contains(&status) {
        // no body
    } else if chunked {
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("bad chunk size {line:?}")))?;
            if size == 0 {
                // trailers until the empty line
                loop {
                    line.clear();
                    if r.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            r.read_exact(&mut body[start..])?;
            line.clear();
            r.read_line(&mut line)?; // CRLF after the chunk
        }
    } else if let Some(n) = len {
        body.resize(n, 0);
        r.read_exact(&mut body)?;
    } else {
        r.read_to_end(&mut body)?;
        close = true;
    }
    Ok(Response { status, body, close })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_and_keep_alive() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nApi-Version: 1.45\r\n\r\nOKHTTP/1.1 200 OK\r\n";
        let mut r = io::BufReader::new(&raw[..]);
        let resp = read_response(&mut r).unwrap();
        assert_eq!((resp.status, resp.body.as_slice(), resp.close), (200, &b"OK"[..], false));
    }

    #[test]
    fn chunked_body() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        let resp = read_response(&mut io::BufReader::new(&raw[..])).unwrap();
        assert_eq!(resp.body, b"abcde");
    }

    #[test]
    fn close_without_length() {
        let raw = b"HTTP/1.0 404 Not Found\r\n\r\ngone";
        let resp = read_response(&mut io::BufReader::new(&raw[..])).unwrap();
        assert_eq!((resp.status, resp.body.as_slice(), resp.close), (404, &b"gone"[..], true));
    }
}
