//! `wharf build` with the docker CLI's classic-builder grammar: the context directory sent as
//! a tar (`.dockerignore` — or `<Dockerfile>.dockerignore` — applied on this side, the
//! Dockerfile and the ignore file always sent, owners zeroed, as the docker CLI does) to
//! `POST /build`, or a tar read from stdin (`-`), with `-t`, `-f`, `--build-arg`, `--label`,
//! `--target`, `--no-cache`, `--pull`, `--network`, `--platform`, `-q`, `--iidfile`, and the
//! daemon's JSON message stream shown as it arrives. `--print-ast` prints the Dockerfile's
//! parse tree in BuildKit's `Node.Dump()` form without a daemon (for comparing with BuildKit).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use clap::Args;
use futures_util::StreamExt;
use http::Method;
use wharf_dockerfile::ignore::PatternMatcher;

use crate::config::ConfigFile;
use crate::connect::BodyStream;
use crate::filters::Query;
use crate::jsonmessage::{self, Decoder, Display, JsonMessage};
use crate::system::Target;

#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// Name and optionally a tag in the "name:tag" format
    #[arg(short, long = "tag", value_name = "list")]
    tag: Vec<String>,
    /// Name of the Dockerfile (Default is "PATH/Dockerfile")
    #[arg(short, long, value_name = "string")]
    file: Option<String>,
    /// Set build-time variables
    #[arg(long = "build-arg", value_name = "list")]
    build_arg: Vec<String>,
    /// Set metadata for an image
    #[arg(long, value_name = "list")]
    label: Vec<String>,
    /// Set the target build stage to build.
    #[arg(long, value_name = "string")]
    target: Option<String>,
    /// Do not use cache when building the image
    #[arg(long = "no-cache")]
    no_cache: bool,
    /// Always attempt to pull a newer version of the image
    #[arg(long)]
    pull: bool,
    /// Set the networking mode for the RUN instructions during build
    #[arg(long, value_name = "string")]
    network: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "string")]
    platform: Option<String>,
    /// Suppress the build output and print image ID on success
    #[arg(short, long)]
    quiet: bool,
    /// Write the image ID to the file
    #[arg(long, value_name = "string")]
    iidfile: Option<String>,
    /// Remove intermediate containers after a successful build
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "bool")]
    rm: bool,
    /// Always remove intermediate containers
    #[arg(long = "force-rm")]
    force_rm: bool,
    /// Print the Dockerfile's parse tree (BuildKit's Node.Dump() form) and exit
    #[arg(long = "print-ast")]
    print_ast: bool,
    /// The build context: a directory, or - for a tar on stdin
    #[arg(value_name = "PATH | URL | -")]
    context: String,
}

/// `KEY=VALUE` pairs as a JSON object; a bare `KEY` takes its value from the environment, as
/// the docker CLI's `--build-arg` does (and is left out when unset).
fn kv_json(items: &[String], from_env: bool) -> String {
    let mut m = BTreeMap::new();
    for item in items {
        match item.split_once('=') {
            Some((k, v)) => {
                m.insert(k.to_string(), serde_json::Value::String(v.to_string()));
            }
            None if from_env => {
                if let Ok(v) = std::env::var(item) {
                    m.insert(item.clone(), serde_json::Value::String(v));
                }
            }
            None => {
                m.insert(item.clone(), serde_json::Value::String(String::new()));
            }
        }
    }
    serde_json::Value::Object(m.into_iter().collect()).to_string()
}

/// The query of `POST /build`.
fn build_query(a: &BuildArgs, dockerfile: &str) -> String {
    let mut q = Query::default();
    for t in &a.tag {
        q.add("t", t);
    }
    if !dockerfile.is_empty() {
        q.add("dockerfile", dockerfile);
    }
    if a.quiet {
        q.add("q", "1");
    }
    if a.no_cache {
        q.add("nocache", "1");
    }
    q.add("rm", if a.rm { "1" } else { "0" });
    if a.force_rm {
        q.add("forcerm", "1");
    }
    if a.pull {
        q.add("pull", "1");
    }
    if let Some(t) = a.target.as_deref().filter(|t| !t.is_empty()) {
        q.add("target", t);
    }
    if let Some(n) = a.network.as_deref().filter(|n| !n.is_empty()) {
        q.add("networkmode", n);
    }
    if let Some(p) = a.platform.as_deref().filter(|p| !p.is_empty()) {
        q.add("platform", p);
    }
    q.add("buildargs", &kv_json(&a.build_arg, true));
    q.add("labels", &kv_json(&a.label, false));
    q.encode()
}

/// The Dockerfile's path inside the context and on disk.
fn dockerfile_of(a: &BuildArgs, context: &Path) -> anyhow::Result<(String, PathBuf)> {
    let name = a.file.clone().unwrap_or_else(|| "Dockerfile".into());
    let on_disk = if Path::new(&name).is_absolute() { PathBuf::from(&name) } else { context.join(&name) };
    let rel = on_disk
        .strip_prefix(context)
        .map_err(|_| anyhow!("the Dockerfile ({}) must be within the build context ({})", name, context.display()))?;
    Ok((rel.to_string_lossy().into_owned(), on_disk))
}

/// The exclusion patterns of a context: `<Dockerfile>.dockerignore` next to the Dockerfile,
/// else `.dockerignore` at the root; the Dockerfile and the ignore file themselves are
/// always sent (the docker CLI's `TrimBuildFilesFromExcludes`).
fn excludes(context: &Path, dockerfile_rel: &str) -> anyhow::Result<Vec<String>> {
    let beside = format!("{dockerfile_rel}.dockerignore");
    let (file, name) = if context.join(&beside).is_file() {
        (context.join(&beside), beside)
    } else {
        (context.join(".dockerignore"), ".dockerignore".to_string())
    };
    let mut patterns = match std::fs::read(&file) {
        Ok(bytes) => wharf_dockerfile::ignore::read_ignore_file(&String::from_utf8_lossy(&bytes))
            .map_err(|e| anyhow!("failed to parse {}: {e}", file.display()))?,
        Err(_) => Vec::new(),
    };
    if !patterns.is_empty() {
        patterns.push(format!("!{name}"));
        patterns.push(format!("!{dockerfile_rel}"));
    }
    Ok(patterns)
}

/// Writes the context as a tar (names relative, owners 0:0, symlinks kept as links) into a
/// temporary file, leaving out what `patterns` exclude.
fn tar_context(context: &Path, patterns: &[String]) -> anyhow::Result<std::fs::File> {
    let matcher = PatternMatcher::new(patterns).map_err(|e| anyhow!("invalid .dockerignore pattern: {e}"))?;
    let file = tempfile::tempfile()?;
    let mut tar = tar::Builder::new(file);
    tar.follow_symlinks(false);
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = context.join(&rel);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| anyhow!("error checking context: can't read {}: {e}", dir.display()))?
            .collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries.into_iter().rev() {
            let child = rel.join(e.file_name());
            let name = child.to_string_lossy().into_owned();
            let excluded = matcher.matches_or_parent_matches(&name).map_err(|e| anyhow!("{e}"))?;
            let meta = std::fs::symlink_metadata(e.path())?;
            if meta.is_dir() {
                // An excluded directory may still hold exceptions (`!dir/keep`): walk it.
                if !excluded || matcher.exclusions() {
                    stack.push(child.clone());
                }
                if excluded {
                    continue;
                }
            } else if excluded {
                continue;
            }
            let mut header = tar::Header::new_gnu();
            header.set_metadata(&meta);
            header.set_uid(0);
            header.set_gid(0);
            if meta.is_dir() {
                tar.append_data(&mut header, &name, std::io::empty())?;
            } else if meta.file_type().is_symlink() {
                let target = std::fs::read_link(e.path())?;
                tar.append_link(&mut header, &name, target)?;
            } else if meta.is_file() {
                tar.append_data(&mut header, &name, std::fs::File::open(e.path())?)?;
            }
        }
    }
    let mut file = tar.into_inner()?;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(0))?;
    Ok(file)
}

/// `wharf build`.
pub(crate) async fn build(t: &Target, cfg: &ConfigFile, a: &BuildArgs) -> anyhow::Result<()> {
    if a.print_ast {
        return print_ast(a);
    }
    let (body, dockerfile_rel): (BodyStream, String) = if a.context == "-" {
        if std::io::stdin().is_terminal() {
            return Err(anyhow!("requested build context from stdin, but stdin is a terminal"));
        }
        let stdin = tokio_util::io::ReaderStream::new(tokio::io::stdin());
        (Box::pin(stdin), a.file.clone().unwrap_or_default())
    } else {
        let context = std::fs::canonicalize(&a.context)
            .map_err(|_| anyhow!("unable to prepare context: path \"{}\" not found", a.context))?;
        if !context.is_dir() {
            return Err(anyhow!("unable to prepare context: path \"{}\" is not a directory", a.context));
        }
        let (rel, on_disk) = dockerfile_of(a, &context)?;
        if !on_disk.is_file() {
            return Err(anyhow!(
                "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: no such file or directory",
                on_disk.display()
            ));
        }
        let patterns = excludes(&context, &rel)?;
        let ctx = context.clone();
        let file = tokio::task::spawn_blocking(move || tar_context(&ctx, &patterns)).await??;
        let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
        (Box::pin(stream), rel)
    };
    let conn = crate::image::connect(t).await?;
    let auths = crate::auth::all_credentials(cfg).map_err(anyhow::Error::msg)?;
    let headers = vec![("X-Registry-Config", crate::auth::encode_registry_config(&auths))];
    let path = format!("/build{}", build_query(a, &dockerfile_rel));
    let stream = conn.raw_with_headers(Method::POST, &path, Some(("application/x-tar", body)), headers);
    let conn2 = conn.clone();
    let stream = stream.map(move |c| c.map_err(|e| conn2.error(e)));
    let id = show(stream, a.quiet).await?;
    if let (Some(f), Some(id)) = (a.iidfile.as_deref(), id.as_deref()) {
        crate::config::atomic_write(Path::new(f), id.as_bytes(), 0o644)
            .map_err(|e| anyhow!("Cannot write the image ID to file: {e}"))?;
    }
    if a.quiet {
        if let Some(id) = id {
            println!("{id}");
        }
    }
    Ok(())
}

/// Shows the build's messages (nothing with `quiet`); the image ID from the `aux` message.
async fn show<S>(mut stream: S, quiet: bool) -> anyhow::Result<Option<String>>
where
    S: futures_util::Stream<Item = anyhow::Result<bytes::Bytes>> + Unpin,
{
    let mut decoder = Decoder::<JsonMessage>::default();
    let mut id = None;
    let mut terminal = jsonmessage::Terminal::new();
    let mut plain = jsonmessage::Plain { out: std::io::stdout() };
    let display: &mut dyn Display = if std::io::stdout().is_terminal() { &mut terminal } else { &mut plain };
    let result = async {
        while let Some(chunk) = stream.next().await {
            for msg in decoder.push(&chunk?) {
                let jm = msg.map_err(anyhow::Error::msg)?;
                if let Some(e) = jm.error_message() {
                    return Err(anyhow!(e));
                }
                if let Some(aux) = &jm.aux {
                    if let Some(i) = aux.get("ID").and_then(|v| v.as_str()) {
                        id = Some(i.to_string());
                    }
                    continue;
                }
                if !quiet {
                    display.show(&jm)?;
                }
            }
        }
        decoder.finish().map_err(anyhow::Error::msg)
    }
    .await;
    display.finish()?;
    result.map(|()| id)
}

/// `--print-ast`: the parse tree of the Dockerfile (`-f`, else `PATH/Dockerfile`).
fn print_ast(a: &BuildArgs) -> anyhow::Result<()> {
    let path = match &a.file {
        Some(f) if f == "-" => None,
        Some(f) => Some(PathBuf::from(f)),
        None => Some(Path::new(&a.context).join("Dockerfile")),
    };
    let bytes = match &path {
        Some(p) => std::fs::read(p).map_err(|e| anyhow!("failed to read {}: {e}", p.display()))?,
        None => {
            let mut b = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)?;
            b
        }
    };
    let df = wharf_dockerfile::parse_bytes(&bytes).map_err(|e| anyhow!("{}", e.message()))?;
    let mut out = std::io::stdout().lock();
    let dump = df.ast.dump();
    out.write_all(dump.as_bytes())?;
    if !dump.is_empty() && !dump.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    let warnings = df.format_warnings();
    if !warnings.is_empty() {
        eprint!("{warnings}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        a: BuildArgs,
    }

    fn args(argv: &[&str]) -> BuildArgs {
        Cli::parse_from(std::iter::once("build").chain(argv.iter().copied())).a
    }

    #[test]
    fn query_as_the_docker_cli_sends_it() {
        let a =
            args(&["-t", "a:1", "-t", "b", "--build-arg", "X=1", "--label", "k=v", "--target", "s", "--no-cache", "."]);
        let q = build_query(&a, "Dockerfile");
        assert!(q.starts_with('?'), "{q}");
        for part in ["t=a%3A1", "t=b", "dockerfile=Dockerfile", "nocache=1", "rm=1", "target=s"] {
            assert!(q.contains(part), "{part} in {q}");
        }
        assert!(q.contains("buildargs=%7B%22X%22%3A%221%22%7D"), "{q}");
        assert!(q.contains("labels=%7B%22k%22%3A%22v%22%7D"), "{q}");
    }

    #[test]
    fn context_tar_applies_dockerignore_but_keeps_the_build_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(d.join(".dockerignore"), "secret*\nDockerfile\n.dockerignore\nlogs\n!logs/keep\n").unwrap();
        std::fs::write(d.join("secret.txt"), "x").unwrap();
        std::fs::write(d.join("app.txt"), "x").unwrap();
        std::fs::create_dir(d.join("logs")).unwrap();
        std::fs::write(d.join("logs/old"), "x").unwrap();
        std::fs::write(d.join("logs/keep"), "x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", d.join("link")).unwrap();
        let patterns = excludes(d, "Dockerfile").unwrap();
        let file = tar_context(d, &patterns).unwrap();
        let mut names: Vec<(String, u64)> = tar::Archive::new(file)
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.path().unwrap().to_string_lossy().into_owned(), e.header().uid().unwrap())
            })
            .collect();
        names.sort();
        let only: Vec<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(only, [".dockerignore", "Dockerfile", "app.txt", "link", "logs/keep"]);
        assert!(names.iter().all(|(_, uid)| *uid == 0));
    }

    #[test]
    fn dockerfile_outside_the_context_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = args(&["-f", "/etc/hostname", "."]);
        assert!(dockerfile_of(&a, dir.path()).is_err());
        let a = args(&["-f", "sub/Dockerfile.dev", "."]);
        assert_eq!(dockerfile_of(&a, dir.path()).unwrap().0, "sub/Dockerfile.dev");
    }
}
