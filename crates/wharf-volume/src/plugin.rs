//! Volume plugins, Docker's legacy ("v1") plugin protocol: discovery as moby's `pkg/plugins`
//! (`<dir>/<name>.sock`, `<dir>/<name>/<name>.sock`, `<dir>/<name>.spec` holding a
//! `unix://`/`tcp://` URL, `<dir>/<name>.json` holding `{Name, Addr, TLSConfig}`),
//! `/Plugin.Activate`, and the `VolumeDriver.*` calls with moby's request and response shapes.
//!
//! The client is a small blocking HTTP/1.1 client over `std` unix and TCP sockets (one
//! connection per call, `Connection: close`), with `httparse` reading the response head. It is
//! not hyper: the layering rules keep HTTP stacks in the API, client and registry crates, and a
//! plugin call is one `POST` with a JSON body answered by one bounded JSON body. Requests carry
//! `Accept: application/vnd.docker.plugins.v1.2+json`; responses are limited to
//! [`MAX_RESPONSE`] bytes and each call to a deadline (moby's: 2 minutes for `Create` and
//! `Mount`, 1 minute for the others; 30 s for `Plugin.Activate`, which moby bounds by its
//! retry window). A connection that is refused (the plugin is starting) is retried with moby's
//! backoff (1 s, 2 s, 4 s…) within the registry's retry budget (moby: 30 s).
//!
//! JSON fields of responses are matched case-insensitively, as Go's decoder does.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use crate::error::{go_io_error, Result, VolumeError};

/// The media type the engine accepts from plugins.
pub const VERSION_MIMETYPE: &str = "application/vnd.docker.plugins.v1.2+json";
/// The `Host` header sent over unix sockets (moby's `dummyHost`).
const DUMMY_HOST: &str = "plugin.moby.localhost";
/// The largest response body accepted from a plugin.
pub const MAX_RESPONSE: usize = 16 << 20;
/// The largest response head accepted from a plugin.
const MAX_HEAD: usize = 64 << 10;
/// `Plugin.Activate`'s deadline.
pub const ACTIVATE_TIMEOUT: Duration = Duration::from_secs(30);
/// moby's `longTimeout`, for `VolumeDriver.Create` and `VolumeDriver.Mount`.
pub const LONG_TIMEOUT: Duration = Duration::from_secs(120);
/// moby's `shortTimeout`, for the other `VolumeDriver` calls.
pub const SHORT_TIMEOUT: Duration = Duration::from_secs(60);
/// The subsystem a volume plugin implements.
pub const VOLUME_DRIVER: &str = "VolumeDriver";

/// Docker's default plugin directories: sockets, then spec files.
pub fn default_plugin_dirs() -> Vec<PathBuf> {
    ["/run/docker/plugins", "/etc/docker/plugins", "/usr/lib/docker/plugins"].into_iter().map(PathBuf::from).collect()
}

/// Where a plugin listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginAddr {
    /// A unix socket.
    Unix(PathBuf),
    /// `host:port` over TCP (`tcp://` or `http://`).
    Tcp(String),
}

impl PluginAddr {
    /// Parses a spec file's URL: `unix:///path`, `tcp://host:port`, `http://host:port`.
    pub fn parse(url: &str) -> std::result::Result<PluginAddr, String> {
        let url = url.trim();
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err("Unknown protocol".into());
        };
        match scheme {
            "unix" => {
                if rest.is_empty() {
                    return Err(format!("invalid plugin address {url:?}: no socket path"));
                }
                Ok(PluginAddr::Unix(PathBuf::from(rest)))
            }
            "tcp" | "http" => {
                let host = rest.split('/').next().unwrap_or_default();
                if host.is_empty() {
                    return Err(format!("invalid plugin address {url:?}: no host"));
                }
                Ok(PluginAddr::Tcp(host.to_string()))
            }
            "https" => Err(format!("plugin address {url}: TLS plugin connections are not supported")),
            "" => Err("Unknown protocol".into()),
            other => Err(format!("plugin address {url}: unsupported protocol {other:?}")),
        }
    }

    fn url(&self, method: &str) -> String {
        match self {
            PluginAddr::Unix(_) => format!("http://{DUMMY_HOST}/{method}"),
            PluginAddr::Tcp(h) => format!("http://{h}/{method}"),
        }
    }

    fn host(&self) -> &str {
        match self {
            PluginAddr::Unix(_) => DUMMY_HOST,
            PluginAddr::Tcp(h) => h,
        }
    }
}

/// Whether `name` can name a plugin file (no path separators, not `.`/`..`, no NUL).
fn plausible_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0'])
}

fn is_socket(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.file_type().is_socket())
}

/// The address of plugin `name`, searched as moby's local registry does: first a socket
/// (`<dir>/<name>.sock`, `<dir>/<name>/<name>.sock`) in every directory, then a spec
/// (`<dir>/<name>.spec`, `<dir>/<name>/<name>.spec`, `<dir>/<name>.json`,
/// `<dir>/<name>/<name>.json`) in every directory. `Ok(None)`: not found.
pub fn discover(dirs: &[PathBuf], name: &str) -> std::result::Result<Option<PluginAddr>, String> {
    if !plausible_name(name) {
        return Ok(None);
    }
    let paths = |dir: &Path, ext: &str| [dir.join(format!("{name}{ext}")), dir.join(name).join(format!("{name}{ext}"))];
    for dir in dirs {
        if let Some(p) = paths(dir, ".sock").into_iter().find(|p| is_socket(p)) {
            return Ok(Some(PluginAddr::Unix(p)));
        }
    }
    for dir in dirs {
        for p in paths(dir, ".spec").into_iter().chain(paths(dir, ".json")) {
            if !p.exists() {
                continue;
            }
            let text = read_bounded(&p).map_err(|e| format!("open {}: {}", p.display(), go_io_error(&e)))?;
            if p.extension().is_some_and(|e| e == "json") {
                let v: Value = serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", p.display()))?;
                let addr = field(&v, "Addr").and_then(Value::as_str).unwrap_or_default();
                return PluginAddr::parse(addr).map(Some);
            }
            return PluginAddr::parse(&String::from_utf8_lossy(&text)).map(Some);
        }
    }
    Ok(None)
}

fn read_bounded(p: &Path) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    std::fs::File::open(p)?.take(64 << 10).read_to_end(&mut out)?;
    Ok(out)
}

/// The names of the plugins found in `dirs` (sockets, and `.spec`/`.json` files), as moby's
/// `Scan`, without duplicates.
pub fn scan(dirs: &[PathBuf]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        let mut found: Vec<String> = Vec::new();
        for e in entries.flatten() {
            let Ok(fname) = e.file_name().into_string() else { continue };
            let path = e.path();
            if path.is_dir() {
                let inner = ["sock", "spec", "json"].iter().map(|x| path.join(format!("{fname}.{x}")));
                if inner.clone().any(|p| {
                    if p.extension().is_some_and(|x| x == "sock") {
                        is_socket(&p)
                    } else {
                        p.is_file()
                    }
                }) {
                    found.push(fname);
                }
                continue;
            }
            if let Some((stem, ext)) = fname.rsplit_once('.') {
                let ok = match ext {
                    "sock" => is_socket(&path),
                    "spec" | "json" => true,
                    _ => false,
                };
                if ok && !stem.is_empty() {
                    found.push(stem.to_string());
                }
            }
        }
        found.sort();
        for n in found {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    names
}

/// A JSON object field by name, exact first, then case-insensitively (Go's decoder).
fn field<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let obj = v.as_object()?;
    obj.get(key).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

fn field_str(v: &Value, key: &str) -> String {
    field(v, key).and_then(Value::as_str).unwrap_or_default().to_string()
}

// ---- transport ----------------------------------------------------------------------------

enum Conn {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Conn {
    fn set_timeouts(&self, d: Duration) -> io::Result<()> {
        let d = Some(d.max(Duration::from_millis(1)));
        match self {
            Conn::Unix(s) => {
                s.set_read_timeout(d)?;
                s.set_write_timeout(d)
            }
            Conn::Tcp(s) => {
                s.set_read_timeout(d)?;
                s.set_write_timeout(d)
            }
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.read(buf),
            Conn::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.write(buf),
            Conn::Tcp(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Unix(s) => s.flush(),
            Conn::Tcp(s) => s.flush(),
        }
    }
}

/// A failed round trip: connecting (retryable) or after.
enum Failure {
    Connect(String),
    Other(String),
}

fn connect(addr: &PluginAddr, timeout: Duration) -> std::result::Result<Conn, String> {
    match addr {
        PluginAddr::Unix(p) => UnixStream::connect(p)
            .map(Conn::Unix)
            .map_err(|e| format!("dial unix {}: connect: {}", p.display(), go_io_error(&e))),
        PluginAddr::Tcp(h) => {
            let addrs = h.to_socket_addrs().map_err(|e| format!("dial tcp {h}: {e}"))?;
            let mut last = format!("dial tcp {h}: no address");
            for a in addrs {
                match TcpStream::connect_timeout(&a, timeout) {
                    Ok(s) => return Ok(Conn::Tcp(s)),
                    Err(e) => last = format!("dial tcp {a}: connect: {}", go_io_error(&e)),
                }
            }
            Err(last)
        }
    }
}

/// Buffered reading with a deadline.
struct Reader {
    conn: Conn,
    buf: Vec<u8>,
    pos: usize,
    deadline: Instant,
}

impl Reader {
    /// Reads more bytes into the buffer; false at EOF.
    fn fill(&mut self) -> io::Result<bool> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "timeout"));
        }
        self.conn.set_timeouts(left)?;
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let mut chunk = [0u8; 16 << 10];
        let n = loop {
            match self.conn.read(&mut chunk) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "timeout"))
                }
                other => break other?,
            }
        };
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    fn pending(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Exactly `n` bytes.
    fn take(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.pending().len() < n {
            if !self.fill()? {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "unexpected EOF"));
            }
        }
        let out = self.buf[self.pos..self.pos + n].to_vec();
        self.pos += n;
        Ok(out)
    }

    /// One CRLF-terminated line (without it), at most 4 KiB.
    fn line(&mut self) -> io::Result<String> {
        loop {
            if let Some(i) = self.pending().windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.pending()[..i]).into_owned();
                self.pos += i + 2;
                return Ok(line);
            }
            if self.pending().len() > 4096 {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "malformed chunked encoding"));
            }
            if !self.fill()? {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "unexpected EOF"));
            }
        }
    }
}

/// One `POST /{method}` round trip: the status and the body.
fn round_trip(
    addr: &PluginAddr,
    method: &str,
    body: &[u8],
    timeout: Duration,
) -> std::result::Result<(u16, Vec<u8>), Failure> {
    let deadline = Instant::now() + timeout;
    let conn = connect(addr, timeout).map_err(Failure::Connect)?;
    let io_err = |e: io::Error| {
        Failure::Other(if e.kind() == io::ErrorKind::TimedOut {
            format!("timeout after {timeout:?}")
        } else {
            go_io_error(&e)
        })
    };
    let mut r = Reader { conn, buf: Vec::new(), pos: 0, deadline };
    let head = format!(
        "POST /{method} HTTP/1.1\r\nHost: {}\r\nUser-Agent: wharf\r\nAccept: {VERSION_MIMETYPE}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        addr.host(),
        body.len()
    );
    r.conn.set_timeouts(timeout).map_err(io_err)?;
    r.conn
        .write_all(head.as_bytes())
        .and_then(|()| r.conn.write_all(body))
        .and_then(|()| r.conn.flush())
        .map_err(io_err)?;
    loop {
        // The response head.
        let (status, head_len, framing) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut resp = httparse::Response::new(&mut headers);
            match resp.parse(r.pending()) {
                Ok(httparse::Status::Complete(n)) => {
                    let status = resp.code.unwrap_or(0);
                    let mut chunked = false;
                    let mut length: Option<usize> = None;
                    for h in resp.headers.iter() {
                        let v = String::from_utf8_lossy(h.value);
                        if h.name.eq_ignore_ascii_case("transfer-encoding")
                            && v.to_ascii_lowercase().contains("chunked")
                        {
                            chunked = true;
                        } else if h.name.eq_ignore_ascii_case("content-length") {
                            length =
                                Some(v.trim().parse().map_err(|_| Failure::Other("malformed HTTP response".into()))?);
                        }
                    }
                    break (
                        status,
                        n,
                        if chunked { Framing::Chunked } else { length.map_or(Framing::Eof, Framing::Length) },
                    );
                }
                Ok(httparse::Status::Partial) => {
                    if r.pending().len() > MAX_HEAD {
                        return Err(Failure::Other("malformed HTTP response: head too large".into()));
                    }
                    if !r.fill().map_err(io_err)? {
                        return Err(Failure::Other("unexpected EOF".into()));
                    }
                }
                Err(e) => return Err(Failure::Other(format!("malformed HTTP response: {e}"))),
            }
        };
        r.pos += head_len;
        if (100..200).contains(&status) {
            continue; // an interim response; the real one follows
        }
        let too_big = || Failure::Other(format!("plugin response larger than {MAX_RESPONSE} bytes"));
        let body = match framing {
            _ if status == 204 || status == 304 => Vec::new(),
            Framing::Length(n) => {
                if n > MAX_RESPONSE {
                    return Err(too_big());
                }
                r.take(n).map_err(io_err)?
            }
            Framing::Chunked => {
                let mut out = Vec::new();
                loop {
                    let line = r.line().map_err(io_err)?;
                    let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
                        .map_err(|_| Failure::Other("malformed chunked encoding".into()))?;
                    if size == 0 {
                        // Trailers, up to the empty line.
                        let mut trailers = 0usize;
                        loop {
                            let t = r.line().map_err(io_err)?;
                            if t.is_empty() {
                                break;
                            }
                            trailers += t.len();
                            if trailers > MAX_HEAD {
                                return Err(Failure::Other("malformed HTTP response: trailers too large".into()));
                            }
                        }
                        break;
                    }
                    if size > MAX_RESPONSE - out.len() {
                        return Err(too_big());
                    }
                    out.extend(r.take(size).map_err(io_err)?);
                    if !r.line().map_err(io_err)?.is_empty() {
                        return Err(Failure::Other("malformed chunked encoding".into()));
                    }
                }
                out
            }
            Framing::Eof => {
                while r.fill().map_err(io_err)? {
                    if r.pending().len() > MAX_RESPONSE {
                        return Err(too_big());
                    }
                }
                r.pending().to_vec()
            }
        };
        return Ok((status, body));
    }
}

enum Framing {
    Length(usize),
    Chunked,
    Eof,
}

/// A client of one plugin.
#[derive(Debug, Clone)]
pub struct PluginClient {
    addr: PluginAddr,
    connect_retry: Duration,
}

impl PluginClient {
    /// A client of the plugin at `addr`; refused connections are retried for up to
    /// `connect_retry`.
    pub fn new(addr: PluginAddr, connect_retry: Duration) -> PluginClient {
        PluginClient { addr, connect_retry }
    }

    /// Where the plugin listens.
    pub fn addr(&self) -> &PluginAddr {
        &self.addr
    }

    /// Calls `method` (`VolumeDriver.Create`) with `args` (`None`: an empty body) and returns
    /// the decoded response. Transport failures read as Go's client errors (`Post "…": …`);
    /// an HTTP error status as moby's `statusError` (`{method}: {Err or body}`).
    pub fn call(&self, method: &str, args: Option<&Value>, timeout: Duration) -> Result<Value> {
        let body = match args {
            Some(v) => {
                let mut b = serde_json::to_vec(v).map_err(|e| VolumeError::Plugin(e.to_string()))?;
                b.push(b'\n'); // as Go's json.Encoder
                b
            }
            None => Vec::new(),
        };
        let start = Instant::now();
        let mut retries = 0u32;
        let (status, resp) = loop {
            match round_trip(&self.addr, method, &body, timeout) {
                Ok(x) => break x,
                Err(Failure::Connect(msg)) => {
                    // moby's backoff: 1s, 2s, 4s… while it fits in the retry window.
                    let off = Duration::from_secs(1u64 << retries.min(5)).min(Duration::from_secs(30));
                    if start.elapsed() + off >= self.connect_retry {
                        return Err(VolumeError::Plugin(format!("Post \"{}\": {msg}", self.addr.url(method))));
                    }
                    tracing::warn!(plugin = %self.addr.url(method), "unable to connect to plugin: {msg}, retrying in {off:?}");
                    std::thread::sleep(off);
                    retries += 1;
                }
                Err(Failure::Other(msg)) => {
                    return Err(VolumeError::Plugin(format!("Post \"{}\": {msg}", self.addr.url(method))))
                }
            }
        };
        if status != 200 {
            let text = serde_json::from_slice::<Value>(&resp)
                .ok()
                .map(|v| field_str(&v, "Err"))
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| String::from_utf8_lossy(&resp).into_owned());
            return Err(VolumeError::Plugin(format!("{method}: {text}")));
        }
        if resp.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(Map::new()));
        }
        serde_json::from_slice(&resp)
            .map_err(|e| VolumeError::Plugin(format!("{method}: error reading plugin response: {e}")))
    }
}

/// A volume as a plugin reports it (`VolumeDriver.Get`/`List`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PluginVolume {
    /// Its name.
    pub name: String,
    /// Its host path, if the plugin said.
    pub mountpoint: String,
    /// `CreatedAt`, if the plugin said (RFC 3339).
    pub created_at: Option<String>,
    /// `Status`, free-form.
    pub status: Option<BTreeMap<String, Value>>,
}

impl PluginVolume {
    fn from_json(v: &Value) -> PluginVolume {
        PluginVolume {
            name: field_str(v, "Name"),
            mountpoint: field_str(v, "Mountpoint"),
            created_at: field(v, "CreatedAt").and_then(Value::as_str).map(str::to_string),
            status: field(v, "Status")
                .and_then(Value::as_object)
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        }
    }
}

/// An activated volume plugin: its client and what it said it implements.
#[derive(Debug)]
pub struct Plugin {
    name: String,
    client: PluginClient,
    implements: Vec<String>,
    scope: Mutex<Option<String>>,
}

/// A response's `Err` as an error (moby's generated proxy: `errors.New(ret.Err)`).
fn check_err(v: &Value) -> Result<()> {
    match field_str(v, "Err") {
        e if e.is_empty() => Ok(()),
        e => Err(VolumeError::Plugin(e)),
    }
}

impl Plugin {
    /// Activates the plugin at `client`'s address (`POST /Plugin.Activate`).
    pub fn activate(name: &str, client: PluginClient) -> Result<Plugin> {
        let v = client.call("Plugin.Activate", None, ACTIVATE_TIMEOUT)?;
        let implements = field(&v, "Implements")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        Ok(Plugin { name: name.to_string(), client, implements, scope: Mutex::new(None) })
    }

    /// The plugin's name (the driver name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The subsystems it implements.
    pub fn implements(&self) -> &[String] {
        &self.implements
    }

    /// Its client.
    pub fn client(&self) -> &PluginClient {
        &self.client
    }

    /// `VolumeDriver.Create {Name, Opts}`.
    pub fn create(&self, name: &str, opts: &BTreeMap<String, String>) -> Result<()> {
        let v = self.client.call("VolumeDriver.Create", Some(&json!({"Name": name, "Opts": opts})), LONG_TIMEOUT)?;
        check_err(&v)
    }

    /// `VolumeDriver.Remove {Name}`.
    pub fn remove(&self, name: &str) -> Result<()> {
        let v = self.client.call("VolumeDriver.Remove", Some(&json!({"Name": name})), SHORT_TIMEOUT)?;
        check_err(&v)
    }

    /// `VolumeDriver.Mount {Name, ID}` → the mountpoint.
    pub fn mount(&self, name: &str, id: &str) -> Result<String> {
        let v = self.client.call("VolumeDriver.Mount", Some(&json!({"Name": name, "ID": id})), LONG_TIMEOUT)?;
        check_err(&v)?;
        Ok(field_str(&v, "Mountpoint"))
    }

    /// `VolumeDriver.Unmount {Name, ID}`.
    pub fn unmount(&self, name: &str, id: &str) -> Result<()> {
        let v = self.client.call("VolumeDriver.Unmount", Some(&json!({"Name": name, "ID": id})), SHORT_TIMEOUT)?;
        check_err(&v)
    }

    /// `VolumeDriver.Path {Name}` → the mountpoint.
    pub fn path(&self, name: &str) -> Result<String> {
        let v = self.client.call("VolumeDriver.Path", Some(&json!({"Name": name})), SHORT_TIMEOUT)?;
        check_err(&v)?;
        Ok(field_str(&v, "Mountpoint"))
    }

    /// `VolumeDriver.Get {Name}`: `Ok(None)` when the plugin answers with an `Err` or no
    /// volume (moby's `lookupVolume` treats those as "not there"); transport failures are
    /// errors.
    pub fn get(&self, name: &str) -> Result<Option<PluginVolume>> {
        let v = self.client.call("VolumeDriver.Get", Some(&json!({"Name": name})), SHORT_TIMEOUT)?;
        if check_err(&v).is_err() {
            return Ok(None);
        }
        Ok(field(&v, "Volume").filter(|x| x.is_object()).map(PluginVolume::from_json))
    }

    /// `VolumeDriver.List`.
    pub fn list(&self) -> Result<Vec<PluginVolume>> {
        let v = self.client.call("VolumeDriver.List", Some(&json!({})), SHORT_TIMEOUT)?;
        check_err(&v)?;
        Ok(field(&v, "Volumes")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(PluginVolume::from_json).filter(|p| !p.name.is_empty()).collect())
            .unwrap_or_default())
    }

    /// The driver's scope from `VolumeDriver.Capabilities` (asked once): `local` or
    /// `global`; `local` when the call fails or the answer is not one of them, as moby's
    /// adapter does.
    pub fn scope(&self) -> String {
        let mut cached = self.scope.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = cached.as_ref() {
            return s.clone();
        }
        let scope = match self.client.call("VolumeDriver.Capabilities", Some(&json!({})), SHORT_TIMEOUT) {
            Ok(v) if check_err(&v).is_ok() => {
                let s = field(&v, "Capabilities").map(|c| field_str(c, "Scope")).unwrap_or_default().to_lowercase();
                match s.as_str() {
                    "" => "local".to_string(),
                    "local" | "global" => s,
                    other => {
                        tracing::warn!(plugin = %self.name, "volume driver returned an invalid scope: {other:?}");
                        "local".to_string()
                    }
                }
            }
            Ok(_) | Err(_) => {
                tracing::warn!(plugin = %self.name, "volume driver returned an error for its capabilities; using local scope");
                "local".to_string()
            }
        };
        *cached = Some(scope.clone());
        scope
    }
}

/// The volume plugins of this daemon: discovered in the plugin directories on first use,
/// activated once, kept for the daemon's life (as moby keeps v1 plugins).
#[derive(Debug)]
pub struct Registry {
    dirs: Vec<PathBuf>,
    connect_retry: Duration,
    active: Mutex<HashMap<String, Arc<Plugin>>>,
}

impl Registry {
    /// A registry over `dirs`; refused connections are retried for up to `connect_retry`
    /// (explicit driver lookups only; scans never wait).
    pub fn new(dirs: Vec<PathBuf>, connect_retry: Duration) -> Registry {
        Registry { dirs, connect_retry, active: Mutex::new(HashMap::new()) }
    }

    /// The volume plugin `name`, activated: Docker's `error looking up volume plugin NAME:
    /// plugin "NAME" not found` (404) when no directory has it, `…: legacy plugin: …` when it
    /// cannot be activated or does not implement `VolumeDriver`.
    pub fn lookup(&self, name: &str) -> Result<Arc<Plugin>> {
        self.lookup_with(name, self.connect_retry)
    }

    fn lookup_with(&self, name: &str, retry: Duration) -> Result<Arc<Plugin>> {
        if let Some(p) = self.active.lock().unwrap_or_else(|e| e.into_inner()).get(name) {
            return Ok(p.clone());
        }
        let unavailable = |message: String| VolumeError::PluginUnavailable { name: name.to_string(), message };
        let addr = discover(&self.dirs, name)
            .map_err(unavailable)?
            .ok_or_else(|| VolumeError::PluginNotFound { name: name.to_string() })?;
        let plugin = Plugin::activate(name, PluginClient::new(addr, retry)).map_err(|e| unavailable(e.to_string()))?;
        if !plugin.implements.iter().any(|i| i == VOLUME_DRIVER) {
            return Err(unavailable("Plugin does not implement the requested driver".into()));
        }
        // Later calls may wait for a restarting plugin like explicit lookups do.
        let plugin =
            Arc::new(Plugin { client: PluginClient::new(plugin.client.addr.clone(), self.connect_retry), ..plugin });
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        Ok(active.entry(name.to_string()).or_insert(plugin).clone())
    }

    /// Every volume plugin found in the directories that activates (moby's `GetAll`); those
    /// that fail are logged and skipped, without waiting for them.
    pub fn all(&self) -> Vec<Arc<Plugin>> {
        self.all_where(|_| true)
    }

    /// [`Registry::all`] restricted to the plugin names `keep` accepts (the others are not
    /// activated).
    pub fn all_where(&self, keep: impl Fn(&str) -> bool) -> Vec<Arc<Plugin>> {
        let mut out = Vec::new();
        for name in scan(&self.dirs).into_iter().filter(|n| keep(n)) {
            match self.lookup_with(&name, Duration::ZERO) {
                Ok(p) => out.push(p),
                Err(e) => tracing::debug!(plugin = %name, "skipping plugin: {e}"),
            }
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    //! A fake volume plugin: an HTTP/1.1 server on a unix socket (or TCP port) in a thread,
    //! recording every call, implementing `VolumeDriver` over an in-memory set of volumes.

    use std::collections::BTreeMap;
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::UnixListener;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    use serde_json::{json, Value};

    /// One recorded call: the path (`/VolumeDriver.Mount`), the JSON body (`Null` when empty)
    /// and the request's `Accept` header.
    pub type Call = (String, Value, String);

    /// The plugin's state, shared with its server thread.
    #[derive(Default)]
    pub struct State {
        /// Calls, in order.
        pub calls: Vec<Call>,
        /// Volumes: name → mountpoint.
        pub volumes: BTreeMap<String, String>,
        /// What `Plugin.Activate` says it implements.
        pub implements: Vec<String>,
        /// Answer `List` with chunked transfer encoding.
        pub chunked: bool,
    }

    /// A running fake plugin; stops when dropped.
    pub struct FakePlugin {
        /// Its state.
        pub state: Arc<Mutex<State>>,
        /// The socket path.
        pub socket: PathBuf,
        stop: Arc<AtomicBool>,
    }

    impl FakePlugin {
        /// Serves `<dir>/<name>.sock`.
        pub fn start(dir: &Path, name: &str) -> FakePlugin {
            let socket = dir.join(format!("{name}.sock"));
            let listener = UnixListener::bind(&socket).expect("bind fake plugin");
            let state = Arc::new(Mutex::new(State { implements: vec!["VolumeDriver".into()], ..Default::default() }));
            let stop = Arc::new(AtomicBool::new(false));
            let (st, sp) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if sp.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(mut conn) = conn else { continue };
                    let Ok(clone) = conn.try_clone() else { continue };
                    serve(&st, BufReader::new(clone), &mut conn);
                }
            });
            FakePlugin { state, socket, stop }
        }

        /// The methods called so far (`Plugin.Activate`, `VolumeDriver.Create`…).
        pub fn methods(&self) -> Vec<String> {
            self.state.lock().unwrap().calls.iter().map(|c| c.0.trim_start_matches('/').to_string()).collect()
        }

        /// The recorded calls of `method`.
        pub fn calls_of(&self, method: &str) -> Vec<Value> {
            let want = format!("/{method}");
            self.state.lock().unwrap().calls.iter().filter(|c| c.0 == want).map(|c| c.1.clone()).collect()
        }
    }

    impl Drop for FakePlugin {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::SeqCst);
            let _ = std::os::unix::net::UnixStream::connect(&self.socket);
        }
    }

    /// Serves one request on a connection (HTTP/1.1, `Content-Length` bodies).
    pub fn serve(state: &Mutex<State>, mut r: impl BufRead, w: &mut impl Write) {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let (mut len, mut accept) = (0usize, String::new());
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                break;
            }
            let (k, v) = h.split_once(':').unwrap_or((&h, ""));
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            } else if k.eq_ignore_ascii_case("accept") {
                accept = v.trim().to_string();
            }
        }
        let mut body = vec![0u8; len];
        let _ = r.read_exact(&mut body);
        let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let mut s = state.lock().unwrap();
        s.calls.push((path.clone(), req.clone(), accept));
        let name = req.get("Name").and_then(Value::as_str).unwrap_or("").to_string();
        let (status, resp) = match path.as_str() {
            "/Plugin.Activate" => (200, json!({"Implements": s.implements})),
            "/VolumeDriver.Create" => {
                s.volumes.insert(name.clone(), format!("/fake/{name}"));
                (200, json!({}))
            }
            "/VolumeDriver.Remove" => match s.volumes.remove(&name) {
                Some(_) => (200, json!({})),
                None => (200, json!({"Err": "no such volume"})),
            },
            "/VolumeDriver.Get" => match s.volumes.get(&name) {
                Some(m) => (200, json!({"Volume": {"Name": name, "Mountpoint": m, "Status": {"hello": "world"}}})),
                None => (200, json!({"Err": "no such volume"})),
            },
            "/VolumeDriver.List" => {
                let vols: Vec<Value> = s.volumes.iter().map(|(n, m)| json!({"Name": n, "Mountpoint": m})).collect();
                (200, json!({"Volumes": vols}))
            }
            "/VolumeDriver.Mount" => match s.volumes.get(&name) {
                // lower-case field name: Go's decoder (and ours) match case-insensitively
                Some(m) => (200, json!({"mountpoint": m})),
                None => (200, json!({"Err": "no such volume"})),
            },
            "/VolumeDriver.Path" => (200, json!({"Mountpoint": s.volumes.get(&name).cloned().unwrap_or_default()})),
            "/VolumeDriver.Unmount" => (200, json!({})),
            "/VolumeDriver.Capabilities" => (200, json!({"Capabilities": {"Scope": "global"}})),
            _ => (404, json!({"Err": "unknown method"})),
        };
        let chunked = s.chunked && path == "/VolumeDriver.List";
        drop(s);
        let text = resp.to_string();
        let reason = if status == 200 { "OK" } else { "Not Found" };
        let out = if chunked {
            let (a, b) = text.split_at(text.len() / 2);
            format!(
                "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
                 {:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
                a.len(),
                b.len()
            )
        } else {
            format!(
                "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{text}",
                text.len()
            )
        };
        let _ = w.write_all(out.as_bytes());
        let _ = w.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::FakePlugin;
    use super::*;

    #[test]
    fn addresses_parse() {
        assert_eq!(PluginAddr::parse("unix:///run/x.sock\n").unwrap(), PluginAddr::Unix("/run/x.sock".into()));
        assert_eq!(PluginAddr::parse("tcp://127.0.0.1:8080").unwrap(), PluginAddr::Tcp("127.0.0.1:8080".into()));
        assert_eq!(PluginAddr::parse("http://h:1/").unwrap(), PluginAddr::Tcp("h:1".into()));
        assert_eq!(PluginAddr::parse("/run/x.sock").unwrap_err(), "Unknown protocol");
        assert!(PluginAddr::parse("https://h:1").unwrap_err().contains("TLS"));
    }

    #[test]
    fn discovery_follows_mobys_order_and_files() {
        let t = tempfile::tempdir().unwrap();
        let (run, etc) = (t.path().join("run"), t.path().join("etc"));
        std::fs::create_dir_all(run.join("nested")).unwrap();
        std::fs::create_dir_all(&etc).unwrap();
        let dirs = vec![run.clone(), etc.clone()];
        assert_eq!(discover(&dirs, "nothing").unwrap(), None);
        assert_eq!(discover(&dirs, "../etc/x").unwrap(), None);
        // A plain file named .sock is not a socket.
        std::fs::write(run.join("plain.sock"), b"").unwrap();
        assert_eq!(discover(&dirs, "plain").unwrap(), None);
        let _l1 = std::os::unix::net::UnixListener::bind(run.join("nested").join("nested.sock")).unwrap();
        assert_eq!(discover(&dirs, "nested").unwrap(), Some(PluginAddr::Unix(run.join("nested/nested.sock"))));
        std::fs::write(etc.join("spec.spec"), "tcp://127.0.0.1:9\n").unwrap();
        assert_eq!(discover(&dirs, "spec").unwrap(), Some(PluginAddr::Tcp("127.0.0.1:9".into())));
        std::fs::write(etc.join("js.json"), r#"{"Name":"js","Addr":"unix:///tmp/js.sock"}"#).unwrap();
        assert_eq!(discover(&dirs, "js").unwrap(), Some(PluginAddr::Unix("/tmp/js.sock".into())));
        std::fs::write(etc.join("tls.json"), r#"{"Name":"tls","Addr":"https://h:1","TLSConfig":{}}"#).unwrap();
        assert!(discover(&dirs, "tls").unwrap_err().contains("TLS"));
        // A socket wins over a spec of the same name.
        let _l2 = std::os::unix::net::UnixListener::bind(run.join("spec.sock")).unwrap();
        assert_eq!(discover(&dirs, "spec").unwrap(), Some(PluginAddr::Unix(run.join("spec.sock"))));
        assert_eq!(scan(&dirs), vec!["nested", "spec", "js", "tls"]);
    }

    #[test]
    fn protocol_calls_reach_the_plugin_with_dockers_headers() {
        let t = tempfile::tempdir().unwrap();
        let fake = FakePlugin::start(t.path(), "fake");
        let reg = Registry::new(vec![t.path().to_path_buf()], Duration::ZERO);
        let p = reg.lookup("fake").unwrap();
        assert_eq!(p.implements(), ["VolumeDriver"]);
        p.create("v1", &[("a".to_string(), "b".to_string())].into()).unwrap();
        assert_eq!(p.mount("v1", "c0ffee").unwrap(), "/fake/v1");
        assert_eq!(p.path("v1").unwrap(), "/fake/v1");
        let got = p.get("v1").unwrap().unwrap();
        assert_eq!((got.name.as_str(), got.mountpoint.as_str()), ("v1", "/fake/v1"));
        assert_eq!(got.status.unwrap()["hello"], "world");
        assert_eq!(p.get("nope").unwrap(), None);
        fake.state.lock().unwrap().chunked = true;
        assert_eq!(p.list().unwrap().iter().map(|v| v.name.as_str()).collect::<Vec<_>>(), vec!["v1"]);
        p.unmount("v1", "c0ffee").unwrap();
        p.remove("v1").unwrap();
        assert_eq!(p.remove("v1").unwrap_err().to_string(), "no such volume");
        assert_eq!(p.scope(), "global");
        assert_eq!(p.scope(), "global"); // cached: asked once
        assert_eq!(
            fake.methods(),
            [
                "Plugin.Activate",
                "VolumeDriver.Create",
                "VolumeDriver.Mount",
                "VolumeDriver.Path",
                "VolumeDriver.Get",
                "VolumeDriver.Get",
                "VolumeDriver.List",
                "VolumeDriver.Unmount",
                "VolumeDriver.Remove",
                "VolumeDriver.Remove",
                "VolumeDriver.Capabilities",
            ]
        );
        assert_eq!(fake.calls_of("VolumeDriver.Create")[0], json!({"Name": "v1", "Opts": {"a": "b"}}));
        assert_eq!(fake.calls_of("VolumeDriver.Mount")[0], json!({"Name": "v1", "ID": "c0ffee"}));
        assert_eq!(fake.calls_of("Plugin.Activate")[0], Value::Null);
        assert!(fake.state.lock().unwrap().calls.iter().all(|c| c.2 == VERSION_MIMETYPE));
        // An unknown method: moby's statusError text.
        assert_eq!(
            p.client().call("VolumeDriver.Bogus", Some(&json!({})), SHORT_TIMEOUT).unwrap_err().to_string(),
            "VolumeDriver.Bogus: unknown method"
        );
    }

    #[test]
    fn lookups_fail_with_dockers_texts() {
        let t = tempfile::tempdir().unwrap();
        let reg = Registry::new(vec![t.path().to_path_buf()], Duration::ZERO);
        assert_eq!(
            reg.lookup("nope").unwrap_err().to_string(),
            "error looking up volume plugin nope: plugin \"nope\" not found"
        );
        let fake = FakePlugin::start(t.path(), "authz");
        fake.state.lock().unwrap().implements = vec!["authz".into()];
        assert_eq!(
            reg.lookup("authz").unwrap_err().to_string(),
            "error looking up volume plugin authz: legacy plugin: Plugin does not implement the requested driver"
        );
        // A stale socket: connection refused, reported like Go's client.
        drop(fake);
        let sock = t.path().join("stale.sock");
        drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
        let err = reg.lookup("stale").unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "error looking up volume plugin stale: legacy plugin: Post \"http://plugin.moby.localhost/Plugin.Activate\": \
                 dial unix {}: connect: connection refused",
                sock.display()
            )
        );
    }

    #[test]
    fn tcp_spec_plugins_work_and_bodies_are_bounded() {
        use std::net::TcpListener;
        let t = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::fs::write(t.path().join("tcpplug.spec"), format!("tcp://127.0.0.1:{port}")).unwrap();
        let state =
            Arc::new(Mutex::new(testutil::State { implements: vec!["VolumeDriver".into()], ..Default::default() }));
        let st = state.clone();
        let server = std::thread::spawn(move || {
            // Activate, Create (served by the fake), then a response that is too large.
            for (i, conn) in listener.incoming().take(3).enumerate() {
                let mut conn = conn.unwrap();
                let r = std::io::BufReader::new(conn.try_clone().unwrap());
                if i < 2 {
                    testutil::serve(&st, r, &mut conn);
                } else {
                    let mut r = r;
                    let mut line = String::new();
                    while std::io::BufRead::read_line(&mut r, &mut line).unwrap() > 2 {
                        line.clear();
                    }
                    let _ = conn.write_all(
                        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", MAX_RESPONSE + 1).as_bytes(),
                    );
                }
            }
        });
        let reg = Registry::new(vec![t.path().to_path_buf()], Duration::ZERO);
        let p = reg.lookup("tcpplug").unwrap();
        p.create("tv", &BTreeMap::new()).unwrap();
        assert_eq!(state.lock().unwrap().volumes.keys().collect::<Vec<_>>(), ["tv"]);
        let err = p.remove("tv").unwrap_err().to_string();
        assert!(err.contains("larger than"), "{err}");
        server.join().unwrap();
    }

    /// Answers one request on a fresh socket with `raw`, returns the client's result.
    fn answer(raw: &'static str) -> Result<Value> {
        let t = tempfile::tempdir().unwrap();
        let sock = t.path().join("raw.sock");
        let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let server = std::thread::spawn(move || {
            let (mut c, _) = listener.accept().unwrap();
            let mut r = std::io::BufReader::new(c.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                std::io::BufRead::read_line(&mut r, &mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0u8; len];
            std::io::Read::read_exact(&mut r, &mut body).unwrap();
            let _ = c.write_all(raw.as_bytes());
        });
        let out = PluginClient::new(PluginAddr::Unix(sock), Duration::ZERO).call(
            "VolumeDriver.Get",
            Some(&json!({"Name": "x"})),
            SHORT_TIMEOUT,
        );
        server.join().unwrap();
        out
    }

    #[test]
    fn responses_are_framed_and_errors_worded_as_docker() {
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\n{\"Vol\r\n\
                       a\r\nume\":null}\r\n0\r\nX-Trailer: 1\r\n\r\n";
        assert_eq!(answer(chunked).unwrap(), json!({"Volume": null}));
        let interim = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(answer(interim).unwrap(), json!({}));
        let until_eof = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"Err\":\"\"}";
        assert_eq!(answer(until_eof).unwrap(), json!({"Err": ""}));
        let empty = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(answer(empty).unwrap(), json!({}));
        let failed = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 14\r\n\r\n{\"Err\":\"boom\"}";
        assert_eq!(answer(failed).unwrap_err().to_string(), "VolumeDriver.Get: boom");
        let plain = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot here\n";
        assert_eq!(answer(plain).unwrap_err().to_string(), "VolumeDriver.Get: not here\n");
        let garbage = "SMTP ready\r\n\r\n";
        assert!(answer(garbage).unwrap_err().to_string().contains("malformed HTTP response"));
        let bad_json = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n{";
        assert!(answer(bad_json)
            .unwrap_err()
            .to_string()
            .starts_with("VolumeDriver.Get: error reading plugin response"));
        let huge_chunk = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n";
        assert!(answer(huge_chunk).unwrap_err().to_string().contains("larger than"));
        let cut = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}";
        assert!(answer(cut).unwrap_err().to_string().ends_with("unexpected EOF"));
    }

    #[test]
    fn a_silent_plugin_times_out() {
        let t = tempfile::tempdir().unwrap();
        let sock = t.path().join("mute.sock");
        let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let hold = std::thread::spawn(move || {
            let c = listener.accept().unwrap();
            std::thread::sleep(Duration::from_millis(800));
            drop(c);
        });
        let client = PluginClient::new(PluginAddr::Unix(sock), Duration::ZERO);
        let started = Instant::now();
        let err = client.call("Plugin.Activate", None, Duration::from_millis(200)).unwrap_err().to_string();
        assert!(err.ends_with("timeout after 200ms"), "{err}");
        assert!(started.elapsed() < Duration::from_millis(700));
        hold.join().unwrap();
    }
}
