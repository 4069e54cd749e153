//! Image archive commands: `save` (a tar stream from `GET /images/get` to a file or a
//! non-terminal stdout), `load` (a tar file or stdin streamed to `POST /images/load`)
//! and `import` (a root filesystem tarball, or a URL, to `POST /images/create?fromSrc=`),
//! with docker's flags, checks and messages. The request bodies are streamed, never
//! held in memory; the JSON message answers are shown by `jsonmessage.rs`.

use std::fs;
use std::io::{IsTerminal, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use clap::Args;
use futures_util::StreamExt;
use http::Method;
use wharf_reference::{ImageRef, Platform};

use crate::connect::{BodyStream, Conn};
use crate::context::io_text;
use crate::filters::Query;
use crate::image::{connect, platform_flag, platform_json};
use crate::jsonmessage::{self, Display};
use crate::system::Target;

// ---------------------------------------------------------------------------------------
// save
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct SaveArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short, long, value_name = "string")]
    output: Option<String>,
    /// Save only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")
    #[arg(long, value_name = "string")]
    platform: Option<String>,
    #[arg(value_name = "IMAGE", required = true)]
    images: Vec<String>,
}

/// The query of `GET /images/get`: one `names` per image, in order.
pub(crate) fn save_query(images: &[String], platform: Option<&str>) -> String {
    let mut q = Query::default();
    for name in images {
        q.add("names", name);
    }
    if let Some(p) = platform {
        q.add("platform", p);
    }
    q.encode()
}

/// atomicwriter's `validateDestination`: the directory must exist, and the file must
/// be absent or a regular file.
fn validate_destination(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("file name is empty".into());
    }
    let path = Path::new(name);
    if let Some(dir) = path.parent().map(|d| d.to_string_lossy().into_owned()) {
        if !dir.is_empty() && dir != "." && dir != ".." {
            match fs::metadata(&dir) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err(format!("invalid output path: stat {dir}: not a directory")),
                Err(e) => return Err(format!("invalid output path: stat {dir}: {}", io_text(&e))),
            }
        }
    }
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("failed to stat output path: lstat {name}: {}", io_text(&e))),
    };
    let t = meta.file_type();
    let mode = meta.permissions().mode();
    let what = if t.is_file() && mode & 0o7000 == 0 {
        return Ok(());
    } else if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link directly"
    } else if t.is_fifo() {
        "a named pipe (FIFO)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device file"
    } else if t.is_block_device() {
        "a block device file"
    } else if mode & 0o4000 != 0 {
        "a setuid file"
    } else if mode & 0o2000 != 0 {
        "a setgid file"
    } else {
        "a sticky bit file"
    };
    Err(format!("cannot write to {what}"))
}

/// Where `save` and `export` write: stdout, or a temporary file beside the destination
/// that replaces it (mode 0600) once the whole archive is there.
pub(crate) enum Output {
    Stdout(std::io::Stdout),
    File { file: tempfile::NamedTempFile, dest: PathBuf, written: bool },
}

impl Output {
    /// A file output, checked as docker's atomicwriter checks it.
    pub(crate) fn file(name: &str) -> Result<Output, String> {
        validate_destination(name)?;
        let dest = PathBuf::from(name);
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let base = dest.file_name().map(|b| b.to_string_lossy().into_owned()).unwrap_or_default();
        let file = tempfile::Builder::new()
            .prefix(&format!(".tmp-{base}"))
            .tempfile_in(&dir)
            .map_err(|e| format!("invalid output path: {}", io_text(&e)))?;
        Ok(Output::File { file, dest, written: false })
    }

    /// Writes a chunk.
    pub(crate) fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        match self {
            Output::Stdout(out) => out.write_all(chunk),
            Output::File { file, written, .. } => {
                *written = true;
                file.write_all(chunk)
            }
        }
    }

    /// Keeps the archive: the file is synced, made 0600 and renamed over the
    /// destination (when anything was written, as docker's atomicwriter does).
    pub(crate) fn commit(self) -> anyhow::Result<()> {
        match self {
            Output::Stdout(mut out) => Ok(out.flush()?),
            Output::File { file, dest, written } => {
                if !written {
                    return Ok(());
                }
                file.as_file().sync_all()?;
                fs::set_permissions(file.path(), fs::Permissions::from_mode(0o600))?;
                file.persist(&dest).map_err(|e| anyhow!("rename {}: {}", dest.display(), io_text(&e.error)))?;
                Ok(())
            }
        }
    }
}

/// `wharf save`.
pub(crate) async fn save(t: &Target, a: &SaveArgs) -> anyhow::Result<()> {
    let mut conn: Option<Conn> = None;
    let mut platform = None;
    if a.platform.as_deref().is_some_and(|p| !p.is_empty()) {
        let c = connect(t).await?;
        platform = platform_flag(&c, a.platform.as_deref(), (1, 48), true)?;
        conn = Some(c);
    }
    let mut output = match a.output.as_deref().filter(|o| !o.is_empty()) {
        None => {
            let out = std::io::stdout();
            if out.is_terminal() {
                return Err(anyhow!("cowardly refusing to save to a terminal. Use the -o flag or redirect"));
            }
            Output::Stdout(out)
        }
        Some(name) => Output::file(name).map_err(|e| anyhow!("failed to save image: {e}"))?,
    };
    let conn = match conn {
        Some(c) => c,
        None => connect(t).await?,
    };
    let platform = platform.as_ref().map(platform_json);
    let path = format!("/images/get{}", save_query(&a.images, platform.as_deref()));
    let mut stream = conn.raw(Method::GET, &path, None);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| conn.error(e))?;
        output.write(&chunk)?;
    }
    output.commit()
}

// ---------------------------------------------------------------------------------------
// load
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct LoadArgs {
    /// Read from tar archive file, instead of STDIN
    #[arg(short, long, value_name = "string")]
    input: Option<String>,
    /// Load only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")
    #[arg(long, value_name = "string")]
    platform: Option<String>,
    /// Suppress the load output
    #[arg(short, long)]
    quiet: bool,
}

/// A request body read from `path`, or from stdin for `None`.
async fn body_from(path: Option<&str>) -> anyhow::Result<BodyStream> {
    Ok(match path {
        Some(p) => {
            let file = tokio::fs::File::open(p).await.map_err(|e| anyhow!("open {p}: {}", io_text(&e)))?;
            Box::pin(tokio_util::io::ReaderStream::new(file))
        }
        None => Box::pin(tokio_util::io::ReaderStream::new(tokio::io::stdin())),
    })
}

/// The query of `POST /images/load`.
pub(crate) fn load_query(quiet: bool, platform: Option<&str>) -> String {
    let mut q = Query::default();
    if quiet {
        q.add("quiet", "1");
    }
    if let Some(p) = platform {
        q.add("platform", p);
    }
    q.encode()
}

/// Shows a JSON message stream on stdout (bars on a terminal, docker's plain lines
/// otherwise).
async fn display<S>(stream: S) -> anyhow::Result<()>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, anyhow::Error>> + Unpin,
{
    if std::io::stdout().is_terminal() {
        jsonmessage::display_stream(stream, &mut jsonmessage::Terminal::new()).await
    } else {
        let mut plain = jsonmessage::Plain { out: std::io::stdout() };
        jsonmessage::display_stream(stream, &mut plain as &mut dyn Display).await
    }
}

/// `wharf load`.
pub(crate) async fn load(t: &Target, a: &LoadArgs) -> anyhow::Result<()> {
    let mut conn: Option<Conn> = None;
    if a.platform.as_deref().is_some_and(|p| !p.is_empty()) {
        let c = connect(t).await?;
        crate::image::require_api(&c, "platform", (1, 48))?;
        conn = Some(c);
    }
    let input = a.input.as_deref().filter(|i| !i.is_empty());
    if input.is_none() && std::io::stdin().is_terminal() {
        return Err(anyhow!("requested load from stdin, but stdin is empty"));
    }
    let body = body_from(input).await?;
    let platform = match a.platform.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => Some(platform_json(&Platform::parse(p).map_err(|e| anyhow!("invalid platform: {e}"))?)),
        None => None,
    };
    let conn = match conn {
        Some(c) => c,
        None => connect(t).await?,
    };
    let quiet = a.quiet || !std::io::stdout().is_terminal();
    let path = format!("/images/load{}", load_query(quiet, platform.as_deref()));
    let mut stream = conn.raw(Method::POST, &path, Some(("application/x-tar", body)));

    // docker shows a JSON answer as messages and copies any other answer as it is; the
    // content type is not visible here, so the first byte tells.
    let mut first = Vec::new();
    while first.iter().all(u8::is_ascii_whitespace) {
        match stream.next().await {
            Some(chunk) => first.extend_from_slice(&chunk.map_err(|e| conn.error(e))?),
            None => break,
        }
    }
    let is_json = first.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let head = futures_util::stream::iter([Ok(bytes::Bytes::from(first))]);
    let conn2 = conn.clone();
    let mut rest = head.chain(stream.map(move |c| c.map_err(|e| conn2.error(e))));
    if is_json {
        return display(rest).await;
    }
    let mut out = std::io::stdout().lock();
    while let Some(chunk) = rest.next().await {
        out.write_all(&chunk?)?;
    }
    out.flush()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// import
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long, value_name = "list")]
    change: Vec<String>,
    /// Set commit message for imported image
    #[arg(short, long, value_name = "string")]
    message: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "string")]
    platform: Option<String>,
    #[arg(value_name = "file|URL|-")]
    source: String,
    #[arg(value_name = "REPOSITORY[:TAG]")]
    reference: Option<String>,
}

/// The query of `POST /images/create` for an import, as the docker client builds it.
pub(crate) fn import_query(
    from_src: &str,
    reference: Option<&str>,
    message: Option<&str>,
    platform: Option<&str>,
    changes: &[String],
) -> String {
    let mut q = Query::default();
    q.add("fromSrc", from_src);
    if let Some(r) = reference.filter(|r| !r.is_empty()) {
        q.add("repo", r);
    }
    if let Some(m) = message.filter(|m| !m.is_empty()) {
        q.add("message", m);
    }
    if let Some(p) = platform.filter(|p| !p.is_empty()) {
        q.add("platform", &p.to_lowercase());
    }
    for c in changes {
        q.add("changes", c);
    }
    q.encode()
}

/// `wharf import`.
pub(crate) async fn import(t: &Target, a: &ImportArgs) -> anyhow::Result<()> {
    let src = a.source.as_str();
    let (from_src, body) = if src == "-" {
        ("-", Some(body_from(None).await?))
    } else if src.starts_with("http://") || src.starts_with("https://") {
        (src, None)
    } else {
        ("-", Some(body_from(Some(src)).await?))
    };
    if let Some(r) = a.reference.as_deref().filter(|r| !r.is_empty()) {
        ImageRef::parse_normalized(r)?;
    }
    let platform = a.platform.clone().or_else(|| std::env::var("DOCKER_DEFAULT_PLATFORM").ok());
    let conn = connect(t).await?;
    let query = import_query(from_src, a.reference.as_deref(), a.message.as_deref(), platform.as_deref(), &a.change);
    let stream = conn.raw(Method::POST, &format!("/images/create{query}"), body.map(|b| ("text/plain", b)));
    let conn2 = conn.clone();
    display(stream.map(move |c| c.map_err(|e| conn2.error(e)))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_queries() {
        assert_eq!(
            save_query(&["busybox".into(), "alpine:3.20".into(), "busybox".into()], None),
            "?names=busybox&names=alpine%3A3.20&names=busybox"
        );
        assert_eq!(
            save_query(&["a".into()], Some(r#"{"architecture":"amd64","os":"linux"}"#)),
            "?names=a&platform=%7B%22architecture%22%3A%22amd64%22%2C%22os%22%3A%22linux%22%7D"
        );
        assert_eq!(load_query(true, None), "?quiet=1");
        assert_eq!(load_query(false, None), "");
        // As the docker 28.2 CLI sends it (keys sorted, changes in order).
        assert_eq!(
            import_query(
                "-",
                Some("foo/bar:v1"),
                Some("my msg"),
                Some("Linux/ARM64"),
                &["ENV A=1".into(), r#"CMD ["sh"]"#.into()]
            ),
            "?changes=ENV%20A%3D1&changes=CMD%20%5B%22sh%22%5D&fromSrc=-&message=my%20msg&platform=linux%2Farm64&repo=foo%2Fbar%3Av1"
        );
        assert_eq!(
            import_query("http://example.com/x.tar", None, None, None, &[]),
            "?fromSrc=http%3A%2F%2Fexample.com%2Fx.tar"
        );
    }

    #[test]
    fn save_destinations() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().display().to_string();
        assert_eq!(validate_destination(&format!("{d}/new.tar")), Ok(()));
        assert_eq!(validate_destination(&d), Err("cannot write to a directory".into()));
        fs::write(dir.path().join("afile"), "x").expect("file");
        assert_eq!(validate_destination(&format!("{d}/afile")), Ok(()));
        assert_eq!(
            validate_destination(&format!("{d}/afile/x.tar")),
            Err(format!("invalid output path: stat {d}/afile: not a directory"))
        );
        assert_eq!(
            validate_destination(&format!("{d}/out/x.tar")),
            Err(format!("invalid output path: stat {d}/out: no such file or directory"))
        );
        std::os::unix::fs::symlink(dir.path().join("afile"), dir.path().join("link")).expect("symlink");
        assert_eq!(validate_destination(&format!("{d}/link")), Err("cannot write to a symbolic link directly".into()));
        assert_eq!(validate_destination(""), Err("file name is empty".into()));
    }

    #[test]
    fn save_output_is_atomic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("s.tar");
        fs::write(&dest, "old").expect("old");
        let mut out = Output::file(&dest.display().to_string()).expect("output");
        out.write(b"TAR").expect("write");
        assert_eq!(fs::read(&dest).expect("read"), b"old");
        out.commit().expect("commit");
        assert_eq!(fs::read(&dest).expect("read"), b"TAR");
        assert_eq!(fs::metadata(&dest).expect("meta").permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::read_dir(dir.path()).expect("dir").count(), 1, "no temporary file left");
        // Nothing written: no file, as docker's atomicwriter.
        let empty = dir.path().join("empty.tar");
        Output::file(&empty.display().to_string()).expect("output").commit().expect("commit");
        assert!(!empty.exists());
    }
}
