//! Hijacked connections and the streams of `run`, `start -a`, `attach`, `exec` and `logs`.
//!
//! bollard's `attach_container` does the HTTP upgrade, but it hides the raw stream
//! behind a decoder that guesses from the first byte whether a chunk is a multiplexed
//! frame or raw TTY output (so TTY output starting with `\x00`–`\x02` is misread), and
//! its `process_upgraded` is private. So [`Transport`] opens its own HTTP/1.1
//! connection to the same endpoint the rest of the CLI uses (`connect.rs`: a unix
//! socket, plain TCP, or TCP+TLS with the endpoint's certificates), sends
//! `POST /v<api>/containers/{id}/attach?…` with `Connection: Upgrade` and
//! `Upgrade: tcp` as the docker client does, and takes the upgraded connection from
//! hyper. It is also used for `POST …/wait`, whose response headers tell that the
//! daemon has registered the waiter (dockerd flushes them at once), so `run` can start
//! the container without racing its exit.
//!
//! What flows over the connection is docker's: without a TTY, 8-byte headers
//! (`[stream, 0, 0, 0, size(be32)]`) demultiplexed by [`StdCopy`] to stdout and
//! stderr; with a TTY, raw bytes. [`stream`] copies local stdin to the container
//! (through [`EscapeProxy`] for the detach keys, stdin in raw mode when it is a
//! terminal) and the output to the local stdout/stderr, like the docker CLI's
//! `hijackedIOStreamer`.

use std::io::{IsTerminal, Read, Write};
use std::pin::Pin;

use anyhow::anyhow;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wharf_types::{Escape, EscapeProxy};

use crate::connect::{self, Endpoint, RequestError};

/// The host name docker sends to unix-socket daemons.
const DUMMY_HOST: &str = "api.moby.localhost";

/// How the hijacked and long-lived requests reach the daemon.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    endpoint: Endpoint,
    prefix: String,
}

/// An upgraded (hijacked) connection.
pub(crate) type Upgraded = TokioIo<hyper::upgrade::Upgraded>;

impl Transport {
    /// A transport to `ep`, with requests versioned as `/v<major>.<minor>`.
    pub(crate) fn new(ep: &Endpoint, api: (usize, usize)) -> Transport {
        Transport { endpoint: ep.clone(), prefix: format!("/v{}.{}", api.0, api.1) }
    }

    fn error(&self, e: bollard::errors::Error) -> RequestError {
        let message = format!("{:#}", connect::daemon_error(e, &self.endpoint.host));
        RequestError { status: None, message }
    }

    /// Sends `method path_and_query` (unversioned, already escaped) with an empty body
    /// and returns the response once its headers arrived. `upgrade` asks for a hijack.
    pub(crate) async fn request(
        &self,
        method: Method,
        path_and_query: &str,
        upgrade: bool,
    ) -> Result<Response<Incoming>, RequestError> {
        self.request_with(method, path_and_query, upgrade, None).await
    }

    /// [`Transport::request`] with an optional JSON request body.
    async fn request_with(
        &self,
        method: Method,
        path_and_query: &str,
        upgrade: bool,
        json: Option<Vec<u8>>,
    ) -> Result<Response<Incoming>, RequestError> {
        let ep = &self.endpoint;
        let (scheme, rest) = ep.host.split_once("://").unwrap_or(("", ep.host.as_str()));
        let pq = format!("{}{path_and_query}", self.prefix);
        let mut b = Request::builder().method(method);
        if upgrade {
            b = b.header(http::header::CONNECTION, "Upgrade").header(http::header::UPGRADE, "tcp");
        }
        if json.is_some() {
            b = b.header(http::header::CONTENT_TYPE, "application/json");
        } else if upgrade {
            b = b.header(http::header::CONTENT_TYPE, "text/plain");
        }
        let body = Bytes::from(json.unwrap_or_default());
        let build = |b: http::request::Builder, uri: String, host: &str| {
            b.uri(uri)
                .header(http::header::HOST, host)
                .body(bollard::body_full(body))
                .map_err(|e| RequestError { status: None, message: format!("error during connect: {e}") })
        };
        match scheme {
            "unix" => {
                let stream = tokio::net::UnixStream::connect(rest)
                    .await
                    .map_err(|e| self.error(bollard::errors::Error::from(e)))?;
                let req = build(b, pq, DUMMY_HOST)?;
                self.send_on(TokioIo::new(stream), req).await
            }
            "tcp" | "http" | "https" => {
                let addr = rest.split('/').next().unwrap_or(rest);
                let use_tls = scheme == "https" || ep.tls.is_some() || ep.skip_tls_verify;
                if !use_tls {
                    let stream = tokio::net::TcpStream::connect(addr)
                        .await
                        .map_err(|e| self.error(bollard::errors::Error::from(e)))?;
                    let req = build(b, pq, addr)?;
                    return self.send_on(TokioIo::new(stream), req).await;
                }
                let files = ep.tls.clone().unwrap_or_default();
                let https = connect::https_connector(&files, ep.skip_tls_verify)
                    .map_err(|e| RequestError { status: None, message: format!("{e:#}") })?;
                let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .pool_max_idle_per_host(0)
                    .build(https);
                let req = build(b, format!("https://{addr}{pq}"), addr)?;
                let resp = client.request(req).await.map_err(|e| self.error(bollard::errors::Error::from(e)))?;
                self.check(resp).await
            }
            _ => Err(RequestError { status: None, message: format!("unable to parse docker host `{}`", ep.host) }),
        }
    }

    /// Sends `req` over a fresh HTTP/1.1 connection on `io`.
    async fn send_on<T>(&self, io: T, req: bollard::BollardRequest) -> Result<Response<Incoming>, RequestError>
    where
        T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(io).await.map_err(|e| self.error(bollard::errors::Error::from(e)))?;
        tokio::spawn(async move {
            let _ = conn.with_upgrades().await;
        });
        let resp = sender.send_request(req).await.map_err(|e| self.error(bollard::errors::Error::from(e)))?;
        self.check(resp).await
    }

    /// An error status becomes docker's "Error response from daemon: …".
    async fn check(&self, resp: Response<Incoming>) -> Result<Response<Incoming>, RequestError> {
        let status = resp.status();
        if status.is_success() || status == StatusCode::SWITCHING_PROTOCOLS {
            return Ok(resp);
        }
        let body = read_body(resp.into_body()).await.unwrap_or_default();
        Err(RequestError { status: Some(status.as_u16()), message: error_text(status, &body) })
    }

    /// `POST path_and_query` with an HTTP upgrade: the raw connection to the container's
    /// streams. A daemon that answers without upgrading is an error.
    pub(crate) async fn hijack(&self, path_and_query: &str) -> Result<Upgraded, RequestError> {
        self.hijack_with(path_and_query, None).await
    }

    /// [`Transport::hijack`] with a JSON request body (`POST /exec/{id}/start`).
    pub(crate) async fn hijack_json(
        &self,
        path_and_query: &str,
        body: &serde_json::Value,
    ) -> Result<Upgraded, RequestError> {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        self.hijack_with(path_and_query, Some(bytes)).await
    }

    async fn hijack_with(&self, path_and_query: &str, json: Option<Vec<u8>>) -> Result<Upgraded, RequestError> {
        let resp = self.request_with(Method::POST, path_and_query, true, json).await?;
        let upgraded = hyper::upgrade::on(resp).await.map_err(|e| self.error(bollard::errors::Error::from(e)))?;
        Ok(TokioIo::new(upgraded))
    }
}

/// The whole body of a response.
pub(crate) async fn read_body(mut body: Incoming) -> Result<Vec<u8>, hyper::Error> {
    let mut out = Vec::new();
    while let Some(data) = next_data(&mut body).await {
        out.extend_from_slice(&data?);
    }
    Ok(out)
}

/// The next data chunk of a response body (trailers skipped), `None` at its end.
pub(crate) async fn next_data(body: &mut Incoming) -> Option<Result<Bytes, hyper::Error>> {
    use hyper::body::Body;
    loop {
        match std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await? {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    return Some(Ok(data));
                }
            }
            Err(e) => return Some(Err(e)),
        }
    }
}

/// The text docker prints for an error response: the JSON `message`, else the body.
pub(crate) fn error_text(status: StatusCode, body: &[u8]) -> String {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(String::from))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string());
    let message = if message.is_empty() { status.canonical_reason().unwrap_or("").to_lowercase() } else { message };
    format!("Error response from daemon: {message}")
}

// ---------------------------------------------------------------------------------------
// Multiplexed streams
// ---------------------------------------------------------------------------------------

/// Where a demultiplexed chunk goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dest {
    Stdout,
    Stderr,
}

/// docker's `stdcopy.StdCopy` as an incremental decoder: feed it the bytes as they
/// arrive, get back the payloads with their destination.
#[derive(Debug, Default)]
pub(crate) struct StdCopy {
    buf: Vec<u8>,
}

impl StdCopy {
    /// Decodes the complete frames in `buf` + `chunk`. Stream 0 (stdin) and 1 go to
    /// stdout, 2 to stderr; 3 (systemerr) ends the copy with the daemon's message.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Result<Vec<(Dest, Vec<u8>)>, String> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        let mut pos = 0;
        while self.buf.len() - pos >= 8 {
            let h = &self.buf[pos..pos + 8];
            let size = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
            let kind = h[0];
            if self.buf.len() - pos - 8 < size {
                break;
            }
            let payload = self.buf[pos + 8..pos + 8 + size].to_vec();
            pos += 8 + size;
            match kind {
                0 | 1 => out.push((Dest::Stdout, payload)),
                2 => out.push((Dest::Stderr, payload)),
                3 => {
                    self.buf.drain(..pos);
                    return Err(format!("error from daemon in stream: {}", String::from_utf8_lossy(&payload)));
                }
                k => return Err(format!("Unrecognized input header: {k}")),
            }
        }
        self.buf.drain(..pos);
        Ok(out)
    }

    /// Bytes of an incomplete frame left at the end of the stream (docker ignores them).
    #[cfg(test)]
    pub(crate) fn leftover(&self) -> usize {
        self.buf.len()
    }
}

/// Writes `data` to the local stdout or stderr and flushes it.
pub(crate) fn write_local(dest: Dest, data: &[u8]) -> std::io::Result<()> {
    match dest {
        Dest::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(data)?;
            out.flush()
        }
        Dest::Stderr => {
            let mut err = std::io::stderr().lock();
            err.write_all(data)?;
            err.flush()
        }
    }
}

/// Copies a stream from the daemon to the local stdout/stderr: raw with a TTY, else
/// demultiplexed. Ends at the end of the stream.
pub(crate) async fn copy_output<S>(mut stream: S, tty: bool, show_out: bool, show_err: bool) -> anyhow::Result<()>
where
    S: futures_util::Stream<Item = anyhow::Result<Bytes>> + Unpin,
{
    use futures_util::StreamExt;
    let mut demux = StdCopy::default();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if tty {
            if show_out {
                write_local(Dest::Stdout, &chunk)?;
            }
            continue;
        }
        for (dest, data) in demux.push(&chunk).map_err(anyhow::Error::msg)? {
            if (dest == Dest::Stdout && show_out) || (dest == Dest::Stderr && show_err) {
                write_local(dest, &data)?;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Terminal
// ---------------------------------------------------------------------------------------

/// The size of the terminal on stdout as `(height, width)`, `(0, 0)` when stdout is
/// not a terminal (docker's `Out().GetTtySize()`).
pub(crate) fn tty_size() -> (u16, u16) {
    let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ writes a `winsize` into the pointer we pass, which is valid.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    if rc != 0 {
        return (0, 0);
    }
    (ws.ws_row, ws.ws_col)
}

/// Local stdin in raw mode (moby/term's `MakeRaw`) until dropped.
pub(crate) struct RawTerminal {
    saved: libc::termios,
}

impl RawTerminal {
    /// Puts stdin in raw mode if it is a terminal.
    pub(crate) fn stdin() -> Option<RawTerminal> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        // SAFETY: termios is plain data; tcgetattr fills it in for a valid fd.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut t) } != 0 {
            return None;
        }
        let saved = t;
        t.c_iflag &= !(libc::IGNBRK
            | libc::BRKINT
            | libc::PARMRK
            | libc::ISTRIP
            | libc::INLCR
            | libc::IGNCR
            | libc::ICRNL
            | libc::IXON);
        t.c_oflag &= !libc::OPOST;
        t.c_lflag &= !(libc::ECHO | libc::ECHONL | libc::ICANON | libc::ISIG | libc::IEXTEN);
        t.c_cflag &= !(libc::CSIZE | libc::PARENB);
        t.c_cflag |= libc::CS8;
        t.c_cc[libc::VMIN] = 1;
        t.c_cc[libc::VTIME] = 0;
        // SAFETY: `t` is a valid termios for this fd.
        if unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t) } != 0 {
            return None;
        }
        Some(RawTerminal { saved })
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        // SAFETY: restores the attributes read from the same fd.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved);
        }
    }
}

/// Reads local stdin on its own thread (a blocked read must not hold up the runtime's
/// shutdown) and hands the chunks over; `None` is the end of input.
fn stdin_reader() -> tokio::sync::mpsc::Receiver<Option<Vec<u8>>> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.blocking_send(None);
                    return;
                }
                Ok(n) => {
                    if tx.blocking_send(Some(buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
    });
    rx
}

/// How [`stream`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamEnd {
    /// The daemon closed the output (the container's streams ended).
    Eof,
    /// The user typed the detach keys.
    Detached,
}

/// What [`stream`] connects.
#[derive(Debug, Clone)]
pub(crate) struct StreamOpts {
    /// Copy local stdin to the container.
    pub stdin: bool,
    /// Show the container's stdout / stderr.
    pub stdout: bool,
    pub stderr: bool,
    /// The container has a TTY: raw output, raw local terminal, detach keys.
    pub tty: bool,
    pub detach_keys: Vec<u8>,
}

/// docker's `hijackedIOStreamer.stream`: copies the output until the daemon closes it
/// and stdin until its end (then half-closes the connection), or until the detach
/// keys are typed.
pub(crate) async fn stream(conn: Upgraded, o: &StreamOpts) -> anyhow::Result<StreamEnd> {
    let (mut reader, mut writer) = tokio::io::split(conn);
    let mut raw = if o.stdin && o.tty { RawTerminal::stdin() } else { None };

    let output = async {
        if !o.stdout && !o.stderr {
            return std::future::pending::<anyhow::Result<()>>().await;
        }
        let mut buf = vec![0u8; 32 * 1024];
        let mut demux = StdCopy::default();
        loop {
            let n = match reader.read(&mut buf).await {
                Ok(n) => n,
                // A TLS peer that closes without close_notify ends the stream too.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
                Err(e) => return Err(e.into()),
            };
            if n == 0 {
                return Ok(());
            }
            if o.tty {
                write_local(Dest::Stdout, &buf[..n])?;
                continue;
            }
            for (dest, data) in demux.push(&buf[..n]).map_err(anyhow::Error::msg)? {
                if (dest == Dest::Stdout && o.stdout) || (dest == Dest::Stderr && o.stderr) {
                    write_local(dest, &data)?;
                }
            }
        }
    };
    let input = async {
        if o.stdin {
            let mut rx = stdin_reader();
            let mut proxy = EscapeProxy::new(if o.tty { o.detach_keys.clone() } else { Vec::new() });
            while let Some(Some(chunk)) = rx.recv().await {
                match proxy.feed(&chunk) {
                    Escape::Detach => return StreamEnd::Detached,
                    Escape::Data(d) if d.is_empty() => {}
                    Escape::Data(d) => {
                        if writer.write_all(&d).await.is_err() {
                            break;
                        }
                        let _ = writer.flush().await;
                    }
                }
            }
        }
        let _ = writer.shutdown().await;
        StreamEnd::Eof
    };
    tokio::pin!(output, input);
    let mut input_done = false;
    let result = loop {
        tokio::select! {
            r = &mut output => break r.map(|()| StreamEnd::Eof),
            end = &mut input, if !input_done => {
                if end == StreamEnd::Detached {
                    break Ok(StreamEnd::Detached);
                }
                input_done = true;
                if !o.stdout && !o.stderr {
                    break Ok(StreamEnd::Eof);
                }
            }
        }
    };
    // Restore the terminal before anything else is printed.
    raw.take();
    result
}

/// Reads a JSON answer from a response body.
pub(crate) async fn read_json(resp: Response<Incoming>) -> anyhow::Result<serde_json::Value> {
    let body = read_body(resp.into_body()).await.map_err(|e| anyhow!("error reading the daemon's response: {e}"))?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_slice(&body).map_err(|e| anyhow!("error reading the daemon's response: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, data: &[u8]) -> Vec<u8> {
        let mut f = vec![kind, 0, 0, 0];
        f.extend_from_slice(&(data.len() as u32).to_be_bytes());
        f.extend_from_slice(data);
        f
    }

    #[test]
    fn demultiplexes_frames_split_anywhere() {
        let mut all = frame(1, b"hello\n");
        all.extend(frame(2, b"err\n"));
        all.extend(frame(0, b""));
        all.extend(frame(1, &[0, 1, 2, 255]));
        // Every split point gives the same result.
        for cut in 0..all.len() {
            let mut d = StdCopy::default();
            let mut got = d.push(&all[..cut]).expect("first");
            got.extend(d.push(&all[cut..]).expect("second"));
            let want = vec![
                (Dest::Stdout, b"hello\n".to_vec()),
                (Dest::Stderr, b"err\n".to_vec()),
                (Dest::Stdout, Vec::new()),
                (Dest::Stdout, vec![0, 1, 2, 255]),
            ];
            assert_eq!(got, want, "cut at {cut}");
            assert_eq!(d.leftover(), 0);
        }
        let mut d = StdCopy::default();
        assert_eq!(d.push(&frame(1, b"abc")[..5]).expect("partial"), vec![]);
        assert_eq!(d.leftover(), 5);
    }

    #[test]
    fn system_errors_and_bad_headers() {
        let mut d = StdCopy::default();
        let mut all = frame(1, b"x");
        all.extend(frame(3, b"boom"));
        assert_eq!(d.push(&all), Err("error from daemon in stream: boom".into()));
        let mut d = StdCopy::default();
        assert_eq!(d.push(&frame(7, b"x")), Err("Unrecognized input header: 7".into()));
    }

    #[test]
    fn error_texts() {
        assert_eq!(
            error_text(StatusCode::NOT_FOUND, br#"{"message":"No such container: x"}"#),
            "Error response from daemon: No such container: x"
        );
        assert_eq!(
            error_text(StatusCode::NOT_FOUND, b"404 page not found\n"),
            "Error response from daemon: 404 page not found"
        );
        assert_eq!(error_text(StatusCode::NOT_FOUND, b""), "Error response from daemon: not found");
    }
}
