//! `wharf`, the command-line client: Docker CLI grammar over the Docker Engine API
//! (through bollard), for wharfd or any Docker-compatible daemon.
//!
//! This file holds the clap command tree, logging setup, dispatch, and the mapping of
//! errors to docker's exit statuses (1 for errors, 125 for bad flags, 64 for bad
//! templates).

mod cli;
mod config;
mod connect;
mod context;
mod df;
mod filters;
mod format;
mod image;
mod image_io;
mod jsonmessage;
mod platform;
mod reference;
mod system;
mod timeutil;
mod units;

use std::path::Path;

use clap::{CommandFactory, Parser, Subcommand};

use crate::cli::{ClientOptions, Env, GlobalOpts};
use crate::context::{ContextCommand, ContextEnv};
use crate::df::DfArgs;
use crate::format::StatusError;
use crate::image::{HistoryArgs, ImageCommand, ImagesArgs, RmiArgs, TagArgs};
use crate::image_io::{ImportArgs, LoadArgs, SaveArgs};
use crate::system::{EventsArgs, InfoArgs, Target, VersionArgs};

/// A self-sufficient runtime for containers
#[derive(Debug, Parser)]
#[command(
    name = "wharf",
    disable_version_flag = true,
    override_usage = "wharf [OPTIONS] COMMAND",
    after_help = "Run 'wharf COMMAND --help' for more information on a command."
)]
struct Cli {
    #[command(flatten)]
    global: GlobalOpts,

    /// Print version information and quit
    #[arg(short = 'v', long = "version")]
    version: bool,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Manage contexts
    #[command(subcommand, arg_required_else_help = true)]
    Context(ContextCommand),
    /// Get real time events from the server
    Events(EventsArgs),
    /// Show the history of an image
    History(HistoryArgs),
    /// Manage images
    #[command(subcommand, arg_required_else_help = true)]
    Image(ImageCommand),
    /// List images
    Images(ImagesArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(ImportArgs),
    /// Display system-wide information
    Info(InfoArgs),
    /// Load an image from a tar archive or STDIN
    Load(LoadArgs),
    /// Remove one or more images
    Rmi(RmiArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(SaveArgs),
    /// Manage wharf
    #[command(subcommand, arg_required_else_help = true)]
    System(SystemCommand),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagArgs),
    /// Show the wharf version information
    Version(VersionArgs),
}

#[derive(Debug, Subcommand)]
enum SystemCommand {
    /// Show wharf disk usage
    Df(DfArgs),
    /// Get real time events from the server
    Events(EventsArgs),
    /// Display system-wide information
    Info(InfoArgs),
}

fn main() {
    std::process::exit(run());
}

fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return clap_exit(e),
    };

    // One rustls provider for the whole process (bollard's TLS transport needs it).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();

    if cli.version {
        println!("{}", system::short_version());
        return 0;
    }
    if let Err(code) = init_logging(&cli.global) {
        return code;
    }
    let Some(command) = cli.command else {
        let _ = Cli::command().print_help();
        return 0;
    };

    let env = Env::from_process();
    let opts = ClientOptions::from_flags(&cli.global, &env, &|p: &Path| p.exists());
    let result = if opts.context.is_some() && !opts.hosts.is_empty() {
        Err(anyhow::anyhow!("conflicting options: cannot specify both --host and --context"))
    } else {
        dispatch(command, opts, env)
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            if let Some(s) = e.downcast_ref::<StatusError>() {
                if !s.message.is_empty() {
                    eprintln!("{}", s.message);
                }
                return s.code;
            }
            eprintln!("{e:#}");
            1
        }
    }
}

fn dispatch(command: Command, opts: ClientOptions, env: Env) -> anyhow::Result<()> {
    let mut cx = ContextEnv::new(opts, env);
    let target = || Target {
        context: cx.current.clone(),
        endpoint: connect::resolve_endpoint(&cx.current, &cx.opts, &cx.env, &cx.store),
        debug: cx.opts.debug,
    };
    match command {
        Command::Context(c) => context::run(&c, &mut cx),
        Command::Version(a) => block_on(system::version(&target(), &a)),
        Command::Info(a) | Command::System(SystemCommand::Info(a)) => block_on(system::info(&target(), &a)),
        Command::Events(a) | Command::System(SystemCommand::Events(a)) => block_on(system::events(&target(), &a)),
        Command::System(SystemCommand::Df(a)) => block_on(df::df(&target(), &a)),
        Command::Image(c) => block_on(image::run(&target(), &cx.config, &c)),
        Command::Images(a) => block_on(image::images(&target(), &cx.config, &a)),
        Command::History(a) => block_on(image::history(&target(), &a)),
        Command::Import(a) => block_on(image_io::import(&target(), &a)),
        Command::Load(a) => block_on(image_io::load(&target(), &a)),
        Command::Rmi(a) => block_on(image::rmi(&target(), &a)),
        Command::Save(a) => block_on(image_io::save(&target(), &a)),
        Command::Tag(a) => block_on(image::tag(&target(), &a)),
    }
}

fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(f: F) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(f)
}

/// Prints a clap error or help text and returns docker's exit status for it.
fn clap_exit(e: clap::Error) -> i32 {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let _ = e.print();
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 0,
        ErrorKind::UnknownArgument => {
            // A flag docker does not know is a usage error (125); a stray positional
            // argument is an ordinary error (1).
            match e.get(ContextKind::InvalidArg) {
                Some(ContextValue::String(a)) if !a.starts_with('-') => 1,
                _ => 125,
            }
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation | ErrorKind::NoEquals | ErrorKind::ArgumentConflict => 125,
        _ => 1,
    }
}

/// Sets up tracing on stderr from `-l/--log-level` and `-D/--debug`.
fn init_logging(g: &GlobalOpts) -> Result<(), i32> {
    let level = match g.log_level.to_lowercase().as_str() {
        "panic" | "fatal" | "error" => "error",
        "warn" | "warning" => "warn",
        "info" => "info",
        "debug" => "debug",
        "trace" => "trace",
        _ => {
            eprintln!("Unable to parse logging level: {}", g.log_level);
            return Err(1);
        }
    };
    let level = if g.debug { "debug" } else { level };
    let filter = tracing_subscriber::EnvFilter::new(format!("wharf={level},bollard={level}"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_tree_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_docker_grammar() {
        let c =
            Cli::try_parse_from(["wharf", "-H", "unix:///tmp/s.sock", "version", "--format", "{{.Server.ApiVersion}}"])
                .expect("parse");
        assert_eq!(c.global.host, vec!["unix:///tmp/s.sock".to_string()]);
        let c = Cli::try_parse_from(["wharf", "--tlsverify=false", "-D", "info"]).expect("parse");
        assert_eq!(c.global.tlsverify, Some(false));
        assert!(c.global.debug);
        let c = Cli::try_parse_from(["wharf", "--tlsverify", "--context", "x", "events", "-f", "type=container"])
            .expect("parse");
        assert_eq!(c.global.tlsverify, Some(true));
        let c = Cli::try_parse_from([
            "wharf",
            "context",
            "create",
            "x1",
            "--docker",
            "host=unix:///a",
            "--docker",
            "ca=/b",
        ])
        .expect("parse");
        assert!(matches!(c.command, Some(Command::Context(ContextCommand::Create(_)))));
        let e = Cli::try_parse_from(["wharf", "version", "--bogus"]).expect_err("bad flag");
        assert_eq!(e.kind(), clap::error::ErrorKind::UnknownArgument);
    }

    #[test]
    fn parses_image_commands() {
        let ok = |args: &[&str]| Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        for args in [
            &["wharf", "images", "-a", "--digests", "-f", "dangling=true", "--no-trunc", "-q", "busybox"][..],
            &["wharf", "image", "ls", "--format", "json"],
            &["wharf", "image", "list"],
            &["wharf", "image", "inspect", "-f", "{{.Id}}", "a", "b"],
            &["wharf", "tag", "a", "b:c"],
            &["wharf", "image", "tag", "a", "b"],
            &["wharf", "rmi", "-f", "--no-prune", "a", "b"],
            &["wharf", "image", "rm", "a"],
            &["wharf", "image", "remove", "a"],
            &["wharf", "image", "rmi", "a"],
            &["wharf", "history", "-H=false", "--no-trunc", "-q", "a"],
            &["wharf", "image", "history", "--human=false", "a"],
            &["wharf", "image", "prune", "-a", "-f", "--filter", "until=24h"],
            &["wharf", "save", "-o", "x.tar", "a", "b"],
            &["wharf", "image", "save", "a"],
            &["wharf", "load", "-i", "x.tar", "-q"],
            &["wharf", "image", "load"],
            &["wharf", "import", "-c", "ENV A=1", "--change", "CMD [\"sh\"]", "-m", "msg", "x.tar", "r:t"],
            &["wharf", "image", "import", "-"],
            &["wharf", "system", "df", "-v", "--format", "json"],
        ] {
            ok(args);
        }
        let c = ok(&["wharf", "history", "a"]);
        assert!(matches!(c.command, Some(Command::History(ref h)) if format!("{h:?}").contains("human: true")));
        let c = ok(&["wharf", "history", "-H=false", "a"]);
        assert!(matches!(c.command, Some(Command::History(ref h)) if format!("{h:?}").contains("human: false")));
        for bad in [
            &["wharf", "rmi"][..],
            &["wharf", "history", "a", "b"],
            &["wharf", "tag", "a"],
            &["wharf", "image", "prune", "x"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }
}
