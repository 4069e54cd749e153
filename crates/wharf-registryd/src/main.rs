//! `wharf-registryd`: an OCI distribution registry, wharf's `registry:2`. Serves
//! `wharf_registry::server` on one TCP address, plain or TLS, with optional htpasswd basic auth
//! and a read-only mode, until SIGTERM/SIGINT; `garbage-collect` deletes the blobs no manifest
//! references. Both take the root's lock, so a collection never runs beside a serving registry.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;
use wharf_registry::server::gc::{collect, GcOptions};
use wharf_registry::server::{serve, Config, Htpasswd, Registry, Storage, DEFAULT_REALM};

/// The default storage root.
const DEFAULT_ROOT: &str = "/var/lib/wharf-registry";

#[derive(Debug, Parser)]
#[command(
    name = "wharf-registryd",
    version,
    about = "An OCI distribution registry (Docker Registry HTTP API V2)",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on (distribution's `http.addr`).
    #[arg(long, default_value = "127.0.0.1:5000", env = "WHARF_REGISTRY_ADDR")]
    addr: SocketAddr,
    /// Storage root (distribution's `storage.filesystem.rootdirectory`).
    #[arg(long, default_value = DEFAULT_ROOT, env = "WHARF_REGISTRY_ROOT")]
    root: PathBuf,
    /// Require basic auth against this htpasswd file (bcrypt entries, `htpasswd -B`).
    #[arg(long, value_name = "FILE")]
    htpasswd: Option<PathBuf>,
    /// Realm of the basic-auth challenge.
    #[arg(long, default_value = DEFAULT_REALM)]
    realm: String,
    /// Serve TLS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The TLS private key (PEM); needs --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Refuse every write (pushes, deletes) with 405 UNSUPPORTED.
    #[arg(long)]
    read_only: bool,
    /// Log level: error, warn, info, debug or trace.
    #[arg(short = 'l', long, default_value = "info")]
    log_level: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Delete blobs no manifest references (run while no registry serves the root).
    GarbageCollect(GcArgs),
}

#[derive(Debug, Args)]
struct GcArgs {
    /// Storage root.
    #[arg(long, default_value = DEFAULT_ROOT, env = "WHARF_REGISTRY_ROOT")]
    root: PathBuf,
    /// Report what would be deleted, delete nothing.
    #[arg(short = 'd', long)]
    dry_run: bool,
    /// Also delete manifests that no tag reaches.
    #[arg(short = 'm', long)]
    delete_untagged: bool,
    /// Also delete upload sessions idle for this many hours.
    #[arg(long, value_name = "HOURS")]
    upload_max_age: Option<u64>,
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(format!("{level},hyper=info,rustls=info"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::GarbageCollect(args)) => {
            init_logging("warn");
            garbage_collect(&args)
        }
        None => {
            init_logging(&cli.serve.log_level);
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("wharf-registryd")
                .build()
                .context("starting the async runtime")
                .and_then(|rt| rt.block_on(run(cli.serve)))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wharf-registryd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let storage = Storage::open(&args.root).with_context(|| format!("opening storage root {}", args.root.display()))?;
    let _lock = storage.lock()?;
    let htpasswd = match &args.htpasswd {
        Some(path) => {
            let h = Htpasswd::load(path)?;
            if h.is_empty() {
                tracing::warn!("{} has no bcrypt entry: nobody can log in", path.display());
            }
            Some(h)
        }
        None => None,
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(serve::tls_acceptor(cert, key)?),
        _ => None,
    };
    let registry = Registry::open(Config {
        root: args.root.clone(),
        read_only: args.read_only,
        htpasswd,
        realm: args.realm.clone(),
    })?;
    let listener =
        tokio::net::TcpListener::bind(args.addr).await.with_context(|| format!("listening on {}", args.addr))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        root = %args.root.display(),
        read_only = args.read_only,
        auth = args.htpasswd.is_some(),
        "listening on {scheme}://{addr}"
    );
    let stop = CancellationToken::new();
    let server = tokio::spawn(serve::serve(listener, registry.router(), tls, stop.clone(), Duration::from_secs(10)));
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
    }
    stop.cancel();
    server.await.context("server task")?;
    Ok(())
}

fn garbage_collect(args: &GcArgs) -> anyhow::Result<()> {
    let storage = Storage::open(&args.root).with_context(|| format!("opening storage root {}", args.root.display()))?;
    let _lock = storage.lock()?;
    let opts = GcOptions {
        dry_run: args.dry_run,
        delete_untagged: args.delete_untagged,
        upload_max_age: args.upload_max_age.map(|h| Duration::from_secs(h * 3600)),
    };
    let report = collect(&storage, &opts)?;
    let verb = if args.dry_run { "would delete" } else { "deleted" };
    for m in &report.deleted_manifests {
        println!("{verb} manifest {m}");
    }
    for d in &report.deleted_blobs {
        println!("{verb} blob {d}");
    }
    println!(
        "{} blobs marked, {} blobs {verb} ({} bytes), {} manifests {verb}, {} uploads {verb}",
        report.marked,
        report.deleted_blobs.len(),
        report.freed_bytes,
        report.deleted_manifests.len(),
        report.deleted_uploads
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use std::path::Path;

    #[test]
    fn flags() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from(["wharf-registryd"]).unwrap();
        assert_eq!(cli.serve.addr.to_string(), "127.0.0.1:5000");
        assert_eq!(cli.serve.root, PathBuf::from(DEFAULT_ROOT));
        assert!(cli.command.is_none());
        let cli = Cli::try_parse_from([
            "wharf-registryd",
            "--addr",
            "0.0.0.0:5443",
            "--root",
            "/r",
            "--htpasswd",
            "/h",
            "--realm",
            "R",
            "--tls-cert",
            "c",
            "--tls-key",
            "k",
            "--read-only",
        ])
        .unwrap();
        assert!(cli.serve.read_only);
        assert_eq!(cli.serve.tls_key, Some(PathBuf::from("k")));
        assert!(Cli::try_parse_from(["wharf-registryd", "--tls-cert", "c"]).is_err(), "a cert needs a key");
        let cli = Cli::try_parse_from(["wharf-registryd", "garbage-collect", "--root", "/r", "-d", "-m"]).unwrap();
        match cli.command {
            Some(Command::GarbageCollect(a)) => {
                assert!(a.dry_run && a.delete_untagged && a.root == Path::new("/r"))
            }
            None => panic!("no subcommand"),
        }
    }
}
