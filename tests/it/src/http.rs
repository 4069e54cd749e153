//! A deliberately small HTTP/1.1 client for raw API checks (status codes, headers, bodies the
//! CLIs would hide), over a unix socket or TCP. One request per connection.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where to connect.
#[derive(Debug, Clone)]
pub enum RawClient {
    /// A unix socket.
    Unix(PathBuf),
    /// A TCP address.
    Tcp(String),
}

/// A whole response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body, de-chunked.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// First header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    /// Body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

impl RawClient {
    /// A client for a unix socket.
    pub fn unix(path: &Path) -> RawClient {
        RawClient::Unix(path.to_path_buf())
    }

    /// Sends one request and reads the whole response (the server closes after it).
    pub fn request(&self, method: &str, path: &str, body: Option<&[u8]>) -> std::io::Result<HttpResponse> {
        let mut head =
            format!("{method} {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\nUser-Agent: wharf-it\r\n");
        if let Some(b) = body {
            head.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", b.len()));
        }
        head.push_str("\r\n");
        let raw = match self {
            RawClient::Unix(p) => {
                let mut s = UnixStream::connect(p)?;
                s.set_read_timeout(Some(Duration::from_secs(30)))?;
                exchange(&mut s, head.as_bytes(), body)?
            }
            RawClient::Tcp(a) => {
                let mut s = std::net::TcpStream::connect(a)?;
                s.set_read_timeout(Some(Duration::from_secs(30)))?;
                exchange(&mut s, head.as_bytes(), body)?
            }
        };
        parse(&raw, method == "HEAD")
    }
}

fn exchange<S: Read + Write>(s: &mut S, head: &[u8], body: Option<&[u8]>) -> std::io::Result<Vec<u8>> {
    // One write for head and body; a server may answer (an error, say) and close without reading
    // the body, so a broken pipe while writing still leaves a response to read — as curl does.
    let mut msg = head.to_vec();
    msg.extend_from_slice(body.unwrap_or_default());
    match s.write_all(&msg) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe || e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => other?,
    }
    let mut raw = Vec::new();
    match s.read_to_end(&mut raw) {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && !raw.is_empty() => {}
        other => {
            other?;
        }
    }
    Ok(raw)
}

fn bad(msg: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.to_string())
}

fn parse(raw: &[u8], head_only: bool) -> std::io::Result<HttpResponse> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| bad("no end of headers"))?;
    let text = String::from_utf8_lossy(&raw[..end]);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().ok_or_else(|| bad("empty response"))?;
    let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| bad("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if head_only {
        Vec::new()
    } else if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Ok(HttpResponse { status, headers, body })
}

fn dechunk(mut data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let nl = data.windows(2).position(|w| w == b"\r\n").ok_or_else(|| bad("truncated chunk size"))?;
        let size_text = String::from_utf8_lossy(&data[..nl]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| bad("bad chunk size"))?;
        data = &data[nl + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err(bad("truncated chunk"));
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_chunked_and_plain() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nApi-Version: 1.45\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let r = parse(raw, false).unwrap();
        assert_eq!((r.status, r.body.as_slice(), r.header("api-version")), (200, &b"abcde"[..], Some("1.45")));
        let r = parse(b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n{}", false).unwrap();
        assert_eq!((r.status, r.text().as_str()), (404, "{}"));
        assert!(parse(b"garbage", false).is_err());
    }
}
