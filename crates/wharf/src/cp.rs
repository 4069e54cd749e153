//! `wharf cp` (`container cp`): docker's client side of a copy between a container and
//! the local filesystem (docker/cli `cp.go`, moby's `pkg/archive` rules in
//! `archive.rs`).
//!
//! * From a container: `GET /containers/{id}/archive?path=` answers a tar of the path
//!   and its stat in the `X-Docker-Container-Path-Stat` header (base64 JSON: `name`,
//!   `size`, `mode` as Go's `os.FileMode`, `mtime`, `linkTarget`); with `-L` a `HEAD`
//!   of the same route first tells whether the source is a symlink to follow. The tar is
//!   extracted by `archive::untar` where `PrepareArchiveCopy` says, or streamed as it is
//!   to stdout for `-`.
//! * To a container: a `HEAD` stat of the destination (errors ignored, as docker
//!   does), then `PUT /containers/{id}/archive?path=&noOverwriteDirNonDir=true`
//!   (`&copyUIDGID=true` with `-a`) with the archive of the local source, its entries
//!   renamed for the destination, or the tar read from stdin for `-`.
//!
//! As docker 28 does, when stdout is a terminal and `-q` is not given, a line
//! `Successfully copied <size> to <destination>` (the archive's size, decimal units)
//! goes to stderr, even before an error of the extraction.

use std::io::{IsTerminal, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::anyhow;
use base64::Engine;
use bytes::Bytes;
use clap::Args;
use futures_util::StreamExt;
use http::Method;
use serde::Deserialize;

use crate::archive::{self, CopyInfo, Rename};
use crate::connect::{path_escape, BodyStream, Conn};
use crate::filters::Query;
use crate::hijack::{self, Transport};
use crate::image::connect;
use crate::system::Target;
use crate::units;

/// docker's usage lines for `cp`.
pub(crate) const CP_USAGE: &str =
    "wharf cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\twharf cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH";
/// The same under `wharf container`.
pub(crate) const CONTAINER_CP_USAGE: &str = "wharf container cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\twharf container cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH";
/// The help of `cp`, with docker's long description in place of the short one.
pub(crate) const CP_HELP: &str = "Copy files/folders between a container and the local filesystem

Use '-' as the source to read a tar archive from stdin
and extract it to a directory destination in a container.
Use '-' as the destination to stream a tar archive of a
container source to stdout.

{usage-heading} {usage}

{all-args}{after-help}";

#[derive(Debug, Args)]
pub(crate) struct CpArgs {
    /// Archive mode (copy all uid/gid information)
    #[arg(short = 'a', long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long = "follow-link")]
    pub follow_link: bool,
    /// Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached
    #[arg(short, long)]
    pub quiet: bool,
    #[arg(value_name = "SRC_PATH")]
    pub source: String,
    #[arg(value_name = "DEST_PATH")]
    pub destination: String,
}

/// Go's `os.FileMode` type bits, as the path stat carries them.
const MODE_DIR: u32 = 1 << 31;
const MODE_SYMLINK: u32 = 1 << 27;
const MODE_DEVICE: u32 = 1 << 26;
const MODE_IRREGULAR: u32 = 1 << 19;

/// The stat of a path in a container (`container.PathStat`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct PathStat {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub size: i64,
    #[serde(default)]
    pub mode: u32,
    #[serde(default)]
    pub mtime: String,
    #[serde(default, rename = "linkTarget")]
    pub link_target: String,
}

impl PathStat {
    fn is_dir(&self) -> bool {
        self.mode & MODE_DIR != 0
    }
}

/// Decodes the `X-Docker-Container-Path-Stat` header.
pub(crate) fn decode_path_stat(header: &str) -> Result<PathStat, String> {
    let json = base64::engine::general_purpose::STANDARD.decode(header.trim()).map_err(|e| e.to_string())?;
    if json.is_empty() {
        return Err("unexpected end of JSON input".into());
    }
    serde_json::from_slice(&json).map_err(|e| e.to_string())
}

/// docker's `splitCpArg`: `CONTAINER:PATH`, or a local path (absolute, or relative
/// starting with `.`, may hold a `:`). The container is empty for a local path.
pub(crate) fn split_cp_arg(arg: &str) -> (&str, &str) {
    if arg.starts_with('/') {
        return ("", arg);
    }
    match arg.split_once(':') {
        Some((ctr, path)) if !ctr.starts_with('.') => (ctr, path),
        _ => ("", arg),
    }
}

/// docker's `resolveLocalPath`: absolute, keeping a trailing `/` or `/.`.
pub(crate) fn resolve_local_path(p: &str) -> Result<String, String> {
    Ok(archive::preserve_trailing_dot_or_separator(&archive::abs(p)?, p))
}

/// docker's `ValidateOutputPathFileMode` on a Go file mode.
pub(crate) fn validate_output_path_file_mode(mode: u32) -> Result<(), String> {
    if mode & MODE_DEVICE != 0 {
        return Err("got a device".into());
    }
    if mode & MODE_IRREGULAR != 0 {
        return Err("got an irregular file".into());
    }
    Ok(())
}

/// docker's `ValidateOutputPath` for the local destination of a copy.
pub(crate) fn validate_output_path(path: &str) -> Result<(), String> {
    let dir = archive::dir(&crate::copts::clean_path(path));
    if !dir.is_empty() && dir != "." {
        if let Err(e) = std::fs::metadata(&dir) {
            if e.kind() == std::io::ErrorKind::NotFound {
                return Err(format!("invalid output path: directory {} does not exist", units::go_quote(&dir)));
            }
        }
    }
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(archive::os_err("stat", path, &e)),
        Ok(m) if m.is_dir() || m.is_file() => Ok(()),
        Ok(m) => {
            use std::os::unix::fs::FileTypeExt;
            let ft = m.file_type();
            let mode = if ft.is_block_device() || ft.is_char_device() { MODE_DEVICE } else { 0 };
            validate_output_path_file_mode(mode).map_err(|e| {
                format!("invalid output path: {} must be a directory or a regular file: {e}", units::go_quote(path))
            })
        }
    }
}

/// The query of the archive routes.
fn archive_path(container: &str, path: &str, extra: &[(&str, &str)]) -> String {
    let mut q = Query::default();
    q.add("path", path);
    for (k, v) in extra {
        q.add(k, v);
    }
    format!("/containers/{}/archive{}", path_escape(container), q.encode())
}

/// `HEAD /containers/{id}/archive`: the stat of a container path, `None` on any error
/// (docker's `cp` ignores them).
async fn stat_path(tr: &Transport, container: &str, path: &str) -> Option<PathStat> {
    let resp = tr.request(Method::HEAD, &archive_path(container, path, &[]), false).await.ok()?;
    let header = resp.headers().get("X-Docker-Container-Path-Stat")?.to_str().ok()?;
    decode_path_stat(header).ok()
}

/// `wharf cp`.
pub(crate) async fn cp(t: &Target, a: &CpArgs) -> anyhow::Result<()> {
    if a.source.is_empty() {
        return Err(anyhow!("source can not be empty"));
    }
    if a.destination.is_empty() {
        return Err(anyhow!("destination can not be empty"));
    }
    let quiet = a.quiet || !std::io::stdout().is_terminal();
    let (src_ctr, src_path) = split_cp_arg(&a.source);
    let (dst_ctr, dst_path) = split_cp_arg(&a.destination);
    match (src_ctr.is_empty(), dst_ctr.is_empty()) {
        (false, false) => Err(anyhow!("copying between containers is not supported")),
        (true, true) => Err(anyhow!("must specify at least one container source")),
        (false, true) => copy_from_container(t, a, quiet, src_ctr, src_path, dst_path).await,
        (true, false) => copy_to_container(t, a, quiet, dst_ctr, src_path, dst_path).await,
    }
}

/// A symlink's target as docker resolves it: relative to the link's directory.
fn link_target(link_path: &str, target: &str) -> String {
    if target.starts_with('/') {
        return target.to_string();
    }
    let (parent, _) = archive::split_path_dir_entry(link_path);
    archive::join(&parent, target)
}

async fn copy_from_container(
    t: &Target,
    a: &CpArgs,
    quiet: bool,
    container: &str,
    src_path: &str,
    dst_path: &str,
) -> anyhow::Result<()> {
    let mut dst = dst_path.to_string();
    if dst != "-" {
        dst = resolve_local_path(&dst).map_err(anyhow::Error::msg)?;
    }
    validate_output_path(&dst).map_err(anyhow::Error::msg)?;
    let conn = connect(t).await?;
    let tr = Transport::new(t.endpoint()?, conn.api_version());
    let mut src = src_path.to_string();
    let mut rebase_name = String::new();
    if a.follow_link {
        if let Some(st) = stat_path(&tr, container, &src).await.filter(|s| s.mode & MODE_SYMLINK != 0) {
            let (resolved, rebase) = archive::get_rebase_name(&src, &link_target(&src, &st.link_target));
            src = resolved;
            rebase_name = rebase;
        }
    }
    let resp = tr.request(Method::GET, &archive_path(container, &src, &[]), false).await?;
    let stat = resp.headers().get("X-Docker-Container-Path-Stat").and_then(|h| h.to_str().ok()).unwrap_or("");
    let stat = decode_path_stat(stat);
    let mut body = resp.into_body();
    if dst == "-" {
        let mut out = std::io::stdout().lock();
        while let Some(chunk) = hijack::next_data(&mut body).await {
            out.write_all(&chunk.map_err(|e| anyhow!("{e}"))?)?;
        }
        out.flush()?;
        return Ok(());
    }
    let stat = stat.map_err(|e| anyhow!("unable to get resource stat from response: {e}"))?;
    let src_info = CopyInfo { path: src, exists: true, is_dir: stat.is_dir(), rebase_name };
    let mut copied = 0u64;
    let result = extract_to(&mut body, &src_info, &dst, &mut copied).await;
    if !quiet {
        eprintln!("Successfully copied {} to {dst}", units::human_size_with_precision(copied as f64, 3));
    }
    result
}

/// `archive.CopyTo`: extracts the body where the copy of `src` must land for `dst`.
/// `copied` gets the archive's size as docker counts it: what the tar reader consumed,
/// the end-of-archive blocks included (trailing padding is never read).
async fn extract_to(
    body: &mut hyper::body::Incoming,
    src: &CopyInfo,
    dst: &str,
    copied: &mut u64,
) -> anyhow::Result<()> {
    let mut renames = Vec::new();
    if !src.rebase_name.is_empty() {
        let (_, src_base) = archive::split_path_dir_entry(&src.path);
        renames.push(Rename::new(&src_base, &src.rebase_name));
    }
    let dst_info = archive::copy_info_destination_path(dst).map_err(anyhow::Error::msg)?;
    let (dst_dir, rename) = archive::prepare_archive_copy(src, &dst_info).map_err(anyhow::Error::msg)?;
    renames.extend(rename);

    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    let extractor = tokio::task::spawn_blocking(move || {
        let mut reader = ChannelReader { rx, cur: Bytes::new(), read: 0, eof: false };
        let result = archive::untar(&mut reader, &dst_dir, &renames);
        // The reader stops at the first of the two zero blocks that end an archive.
        let size = if reader.eof { reader.read } else { reader.read + 512 };
        (result, size)
    });
    let mut body_error = None;
    while let Some(chunk) = hijack::next_data(body).await {
        match chunk {
            Ok(c) => {
                if tx.send(c).await.is_err() {
                    break; // the extraction is over
                }
            }
            Err(e) => {
                body_error = Some(anyhow!("{e}"));
                break;
            }
        }
    }
    drop(tx);
    let (extracted, size) = extractor.await.map_err(|e| anyhow!("{e}"))?;
    *copied = size;
    if let Some(e) = body_error {
        return Err(e);
    }
    extracted.map_err(anyhow::Error::msg)
}

/// A blocking reader over the chunks an async task receives, counting what it hands
/// out and whether it reached the end.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
    cur: Bytes,
    read: u64,
    eof: bool,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(b) => self.cur = b,
                None => {
                    self.eof = true;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur.split_to(n));
        self.read += n as u64;
        Ok(n)
    }
}

/// The error of [`ChannelWriter`] once the request no longer reads its body.
const REQUEST_ENDED: &str = "the request ended";

/// A blocking writer whose bytes become the chunks of a request body.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, REQUEST_ENDED))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn copy_to_container(
    t: &Target,
    a: &CpArgs,
    quiet: bool,
    container: &str,
    src_path: &str,
    dst_path: &str,
) -> anyhow::Result<()> {
    let mut src = src_path.to_string();
    if src != "-" {
        src = resolve_local_path(&src).map_err(anyhow::Error::msg)?;
    }
    let conn = connect(t).await?;
    let tr = Transport::new(t.endpoint()?, conn.api_version());
    let mut dst_info = CopyInfo { path: dst_path.to_string(), ..CopyInfo::default() };
    let mut stat = stat_path(&tr, container, dst_path).await;
    if let Some(st) = stat.clone().filter(|s| s.mode & MODE_SYMLINK != 0) {
        dst_info.path = link_target(dst_path, &st.link_target);
        stat = stat_path(&tr, container, &dst_info.path).await;
    }
    validate_output_path_file_mode(stat.as_ref().map_or(0, |s| s.mode))
        .map_err(|e| anyhow!("destination \"{container}:{dst_path}\" must be a directory or a regular file: {e}"))?;
    if let Some(st) = &stat {
        dst_info.exists = true;
        dst_info.is_dir = st.is_dir();
    }

    let copied = Arc::new(AtomicU64::new(0));
    let (body, resolved, builder): (BodyStream, String, _) = if src == "-" {
        if !dst_info.is_dir {
            return Err(anyhow!("destination \"{container}:{dst_path}\" must be a directory"));
        }
        let stdin: BodyStream = Box::pin(tokio_util::io::ReaderStream::new(tokio::io::stdin()));
        (stdin, dst_info.path.clone(), None)
    } else {
        let src_info = archive::copy_info_source_path(&src, a.follow_link).map_err(anyhow::Error::msg)?;
        let (dst_dir, rename) = archive::prepare_archive_copy(&src_info, &dst_info).map_err(anyhow::Error::msg)?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(16);
        let builder = tokio::task::spawn_blocking(move || {
            let renames: Vec<Rename> = rename.into_iter().collect();
            let out = std::io::BufWriter::with_capacity(32 * 1024, ChannelWriter { tx: tx.clone() });
            let result = archive::tar_resource(&src_info, &renames, out)
                .and_then(|mut w| w.flush().map_err(|e| format!("tar: {e}")));
            if let Err(e) = &result {
                // Ends the upload: the daemon must not take a truncated archive.
                let _ = tx.blocking_send(Err(std::io::Error::other(e.clone())));
            }
            result
        });
        let counter = Arc::clone(&copied);
        let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).inspect(move |c| {
            if let Ok(b) = c {
                counter.fetch_add(b.len() as u64, Ordering::Relaxed);
            }
        });
        (Box::pin(stream) as BodyStream, dst_dir, Some(builder))
    };

    let mut extra = vec![("noOverwriteDirNonDir", "true")];
    if a.archive {
        extra.push(("copyUIDGID", "true"));
    }
    let path = archive_path(container, &resolved, &extra);
    let result = put(&conn, &path, body).await;
    let built = match builder {
        Some(b) => b.await.map_err(|e| anyhow!("{e}"))?,
        None => Ok(()),
    };
    if !quiet {
        let size = units::human_size_with_precision(copied.load(Ordering::Relaxed) as f64, 3);
        eprintln!("Successfully copied {size} to {container}:{}", dst_info.path);
    }
    match built {
        // The archive could not be made (the upload was cut short because of it).
        Err(e) if !e.contains(REQUEST_ENDED) => Err(anyhow!(e)),
        _ => result,
    }
}

/// `PUT path` with a tar body, the answer read to its end.
async fn put(conn: &Conn, path: &str, body: BodyStream) -> anyhow::Result<()> {
    let mut resp = conn.raw(Method::PUT, path, Some(("application/x-tar", body)));
    while let Some(chunk) = resp.next().await {
        chunk.map_err(|e| conn.request_error(e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp_args_like_docker() {
        assert_eq!(split_cp_arg("web:/etc/hostname"), ("web", "/etc/hostname"));
        assert_eq!(split_cp_arg("/abs/file:name"), ("", "/abs/file:name"));
        assert_eq!(split_cp_arg("./file:name"), ("", "./file:name"));
        assert_eq!(split_cp_arg("../x:y"), ("", "../x:y"));
        assert_eq!(split_cp_arg("file"), ("", "file"));
        assert_eq!(split_cp_arg("web:"), ("web", ""));
        assert_eq!(split_cp_arg(":x"), ("", "x"));
        assert_eq!(split_cp_arg("-"), ("", "-"));
        assert_eq!(link_target("/a/link", "b/c"), "/a/b/c");
        assert_eq!(link_target("/a/link", "/etc"), "/etc");
        assert_eq!(link_target("/a/link/.", "../x"), "/a/x");
    }

    #[test]
    fn path_stat_header() {
        // What dockerd sends for /etc (a directory, 0755) and for a symlink.
        let st = decode_path_stat("eyJuYW1lIjoiZXRjIiwic2l6ZSI6NDA5NiwibW9kZSI6MjE0NzQ4NDE0MSwibXRpbWUiOiIyMDI0LTAxLTAxVDAwOjAwOjAwWiIsImxpbmtUYXJnZXQiOiIifQ==")
            .expect("stat");
        assert_eq!((st.name.as_str(), st.size, st.is_dir(), st.mode & 0o777), ("etc", 4096, true, 0o755));
        let link = base64::engine::general_purpose::STANDARD
            .encode(r#"{"name":"l","size":4,"mode":134218239,"mtime":"","linkTarget":"/etc"}"#);
        let st = decode_path_stat(&link).expect("stat");
        assert!(st.mode & MODE_SYMLINK != 0 && !st.is_dir());
        assert_eq!(st.link_target, "/etc");
        assert_eq!(decode_path_stat(""), Err("unexpected end of JSON input".into()));
        assert!(decode_path_stat("!!").is_err());
    }

    #[test]
    fn destination_checks() {
        assert_eq!(validate_output_path_file_mode(0o644), Ok(()));
        assert_eq!(validate_output_path_file_mode(MODE_DEVICE | (1 << 21) | 0o666), Err("got a device".into()));
        assert_eq!(validate_output_path_file_mode(MODE_IRREGULAR), Err("got an irregular file".into()));
        assert_eq!(validate_output_path_file_mode(1 << 25), Ok(()), "named pipes pass, as in docker");

        let t = tempfile::tempdir().expect("tempdir");
        let d = t.path().to_str().expect("utf8");
        std::fs::write(format!("{d}/afile"), "x").expect("file");
        assert_eq!(validate_output_path(&format!("{d}/new")), Ok(()));
        assert_eq!(validate_output_path(&format!("{d}/afile")), Ok(()));
        assert_eq!(validate_output_path(d), Ok(()));
        assert_eq!(validate_output_path("-"), Ok(()));
        assert_eq!(
            validate_output_path(&format!("{d}/nodir/x")),
            Err(format!("invalid output path: directory \"{d}/nodir\" does not exist"))
        );
        assert_eq!(validate_output_path(&format!("{d}/afile/")), Err(format!("stat {d}/afile/: not a directory")));
        assert_eq!(
            validate_output_path("/dev/null"),
            Err("invalid output path: \"/dev/null\" must be a directory or a regular file: got a device".into())
        );
        let cwd = std::env::current_dir().expect("cwd");
        let cwd = cwd.to_str().expect("utf8");
        assert_eq!(resolve_local_path("out/."), Ok(format!("{cwd}/out/.")));
        assert_eq!(resolve_local_path("out//"), Ok(format!("{cwd}/out/")));
        assert_eq!(resolve_local_path("/x/../y"), Ok("/y".to_string()));
    }

    #[test]
    fn archive_queries() {
        assert_eq!(archive_path("web", "/etc/", &[]), "/containers/web/archive?path=%2Fetc%2F");
        assert_eq!(
            archive_path("web", "/", &[("noOverwriteDirNonDir", "true"), ("copyUIDGID", "true")]),
            "/containers/web/archive?copyUIDGID=true&noOverwriteDirNonDir=true&path=%2F"
        );
    }

    #[test]
    fn channel_reader_reads_across_chunks() {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tx.try_send(Bytes::from_static(b"ab")).expect("send");
        tx.try_send(Bytes::from_static(b"cde")).expect("send");
        drop(tx);
        let mut out = String::new();
        let mut r = ChannelReader { rx, cur: Bytes::new(), read: 0, eof: false };
        r.read_to_string(&mut out).expect("read");
        assert_eq!((out.as_str(), r.read, r.eof), ("abcde", 5, true));
    }
}
