//! `wharf`, the command-line client: Docker CLI grammar over the Docker Engine API
//! (through bollard), for wharfd or any Docker-compatible daemon.
//!
//! This file holds the clap command tree, logging setup, dispatch, and the mapping of
//! errors to docker's exit statuses (1 for errors, 125 for bad flags, 64 for bad
//! templates, the container's status for `run`/`start -a`/`attach`).
//!
//! `run` and `create` stop parsing flags at the image, and `exec` at the container, as
//! docker's do (pflag's `SetInterspersed(false)`): [`separate_image_args`] puts a `--` before the image so
//! that `wharf run busybox ls -l --help` passes `ls -l --help` to the container.

mod archive;
mod auth;
mod build;
mod cli;
mod config;
mod connect;
mod container;
mod context;
mod copts;
mod cp;
mod df;
mod exec;
mod files;
mod filters;
mod format;
mod hijack;
mod image;
mod image_io;
mod jsonmessage;
mod logs;
mod network;
mod port;
mod ps;
mod registry;
mod run;
mod stats;
mod system;
mod timeutil;
mod units;
mod update;
mod volume;

use std::ffi::OsString;
use std::path::Path;

use clap::{CommandFactory, Parser, Subcommand};

use crate::build::BuildArgs;
use crate::cli::{ClientOptions, Env, GlobalOpts};
use crate::container::{ContainerCommand, KillArgs, NamesArgs, RenameArgs, RmArgs, StopArgs, TopInspectArgs};
use crate::context::{ContextCommand, ContextEnv};
use crate::cp::CpArgs;
use crate::df::DfArgs;
use crate::exec::ExecArgs;
use crate::files::{CommitArgs, DiffArgs, ExportArgs};
use crate::format::StatusError;
use crate::image::{HistoryArgs, ImageCommand, ImagesArgs, RmiArgs, TagArgs};
use crate::image_io::{ImportArgs, LoadArgs, SaveArgs};
use crate::logs::LogsArgs;
use crate::network::NetworkCommand;
use crate::port::PortArgs;
use crate::ps::PsArgs;
use crate::registry::{LoginArgs, LogoutArgs, PullArgs, PushArgs};
use crate::run::{AttachArgs, CreateArgs, RunArgs, StartArgs};
use crate::stats::{StatsArgs, TopArgs};
use crate::system::{EventsArgs, InfoArgs, Target, VersionArgs};
use crate::update::UpdateArgs;
use crate::volume::VolumeCommand;

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
    /// Attach local standard input, output, and error streams to a running container
    Attach(AttachArgs),
    /// Create a new image from a container's changes
    #[command(override_usage = "wharf commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]")]
    Commit(CommitArgs),
    /// Manage containers
    #[command(subcommand, arg_required_else_help = true)]
    Container(ContainerCommand),
    /// Manage contexts
    #[command(subcommand, arg_required_else_help = true)]
    Context(ContextCommand),
    /// Build an image from a Dockerfile
    #[command(override_usage = "wharf build [OPTIONS] PATH | URL | -")]
    Build(BuildArgs),
    /// Copy files/folders between a container and the local filesystem
    #[command(override_usage = cp::CP_USAGE, help_template = cp::CP_HELP)]
    Cp(CpArgs),
    /// Create a new container
    #[command(override_usage = "wharf create [OPTIONS] IMAGE [COMMAND] [ARG...]")]
    Create(CreateArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(DiffArgs),
    /// Get real time events from the server
    Events(EventsArgs),
    /// Execute a command in a running container
    #[command(override_usage = "wharf exec [OPTIONS] CONTAINER COMMAND [ARG...]")]
    Exec(ExecArgs),
    /// Export a container's filesystem as a tar archive
    Export(ExportArgs),
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
    /// Return low-level information on wharf objects
    Inspect(TopInspectArgs),
    /// Kill one or more running containers
    Kill(KillArgs),
    /// Load an image from a tar archive or STDIN
    Load(LoadArgs),
    /// Log in to a registry
    #[command(override_usage = "wharf login [OPTIONS] [SERVER]", help_template = registry::LOGIN_HELP)]
    Login(LoginArgs),
    /// Log out from a registry
    #[command(override_usage = "wharf logout [SERVER]", help_template = registry::LOGOUT_HELP)]
    Logout(LogoutArgs),
    /// Fetch the logs of a container
    Logs(LogsArgs),
    /// Manage networks
    #[command(subcommand, arg_required_else_help = true)]
    Network(NetworkCommand),
    /// Pause all processes within one or more containers
    Pause(NamesArgs),
    /// List port mappings or a specific mapping for the container
    #[command(override_usage = "wharf port CONTAINER [PRIVATE_PORT[/PROTO]]")]
    Port(PortArgs),
    /// List containers
    Ps(PsArgs),
    /// Download an image from a registry
    #[command(override_usage = "wharf pull [OPTIONS] NAME[:TAG|@DIGEST]")]
    Pull(PullArgs),
    /// Upload an image to a registry
    #[command(override_usage = "wharf push [OPTIONS] NAME[:TAG]")]
    Push(PushArgs),
    /// Rename a container
    Rename(RenameArgs),
    /// Restart one or more containers
    Restart(StopArgs),
    /// Remove one or more containers
    Rm(RmArgs),
    /// Remove one or more images
    Rmi(RmiArgs),
    /// Create and run a new container from an image
    #[command(override_usage = "wharf run [OPTIONS] IMAGE [COMMAND] [ARG...]")]
    Run(RunArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(SaveArgs),
    /// Start one or more stopped containers
    Start(StartArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(StatsArgs),
    /// Stop one or more running containers
    Stop(StopArgs),
    /// Manage wharf
    #[command(subcommand, arg_required_else_help = true)]
    System(SystemCommand),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagArgs),
    /// Display the running processes of a container
    #[command(override_usage = "wharf top CONTAINER [ps OPTIONS]")]
    Top(TopArgs),
    /// Unpause all processes within one or more containers
    Unpause(NamesArgs),
    /// Update configuration of one or more containers
    #[command(override_usage = "wharf update [OPTIONS] CONTAINER [CONTAINER...]")]
    Update(UpdateArgs),
    /// Show the wharf version information
    Version(VersionArgs),
    /// Manage volumes
    #[command(subcommand, arg_required_else_help = true)]
    Volume(VolumeCommand),
    /// Block until one or more containers stop, then print their exit codes
    Wait(NamesArgs),
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
    let cli = match Cli::try_parse_from(separate_image_args(&Cli::command(), std::env::args_os().collect())) {
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
        Command::Pull(a) => block_on(registry::pull(&target(), &cx.config, &a)),
        Command::Push(a) => block_on(registry::push(&target(), &cx.config, &a)),
        Command::Login(a) => {
            let t = target();
            block_on(registry::login(&t, &mut cx.config, &a))
        }
        Command::Logout(a) => registry::logout(&mut cx.config, &a),
        Command::Rmi(a) => block_on(image::rmi(&target(), &a)),
        Command::Save(a) => block_on(image_io::save(&target(), &a)),
        Command::Tag(a) => block_on(image::tag(&target(), &a)),
        Command::Attach(a) => block_on(run::attach_cmd(&target(), &cx.config, &a)),
        Command::Commit(a) => block_on(files::commit(&target(), &a)),
        Command::Build(a) => block_on(build::build(&target(), &cx.config, &a)),
        Command::Cp(a) => block_on(cp::cp(&target(), &a)),
        Command::Diff(a) => block_on(files::diff(&target(), &a)),
        Command::Export(a) => block_on(files::export(&target(), &a)),
        Command::Stats(a) => block_on(stats::stats(&target(), &cx.config, &a)),
        Command::Top(a) => block_on(stats::top(&target(), &a)),
        Command::Update(a) => block_on(update::update(&target(), &a)),
        Command::Container(c) => block_on(container::run(&target(), &cx.config, &c)),
        Command::Create(a) => block_on(run::create(&target(), &cx.config, &a)),
        Command::Exec(a) => block_on(exec::exec(&target(), &cx.config, &a)),
        Command::Inspect(a) => block_on(container::top_inspect(&target(), &a)),
        Command::Kill(a) => block_on(container::kill(&target(), &a)),
        Command::Logs(a) => block_on(logs::logs(&target(), &a)),
        Command::Network(c) => block_on(network::run(&target(), &cx.config, &c)),
        Command::Pause(a) => block_on(container::simple(&target(), &a, "pause")),
        Command::Port(a) => block_on(port::port(&target(), &a)),
        Command::Ps(a) => block_on(ps::ps(&target(), &cx.config, &a)),
        Command::Rename(a) => block_on(container::rename(&target(), &a)),
        Command::Restart(a) => block_on(container::stop(&target(), &a, "restart")),
        Command::Rm(a) => block_on(container::rm(&target(), &a)),
        Command::Run(a) => block_on(run::run(&target(), &cx.config, &a)),
        Command::Start(a) => block_on(run::start(&target(), &cx.config, &a)),
        Command::Stop(a) => block_on(container::stop(&target(), &a, "stop")),
        Command::Unpause(a) => block_on(container::simple(&target(), &a, "unpause")),
        Command::Volume(c) => block_on(volume::run(&target(), &cx.config, &c)),
        Command::Wait(a) => block_on(container::wait(&target(), &a)),
    }
}

/// Puts `--` before the image of `run`/`create` (and the container of `exec` and `top`;
/// also under `container`), so that the flags after it belong to the container's command: the first argument that is not a
/// flag or a flag's value, as pflag finds it with interspersed flags off.
fn separate_image_args(root: &clap::Command, args: Vec<OsString>) -> Vec<OsString> {
    /// The index of the first positional argument from `start`, `None` at a `--`.
    fn first_positional(cmd: &clap::Command, args: &[OsString], start: usize) -> Option<usize> {
        let takes_value = |a: &clap::Arg| a.get_action().takes_values() && !a.is_require_equals_set();
        let mut i = start;
        while i < args.len() {
            let tok = args[i].to_string_lossy();
            if tok == "--" {
                return None;
            }
            if let Some(long) = tok.strip_prefix("--") {
                if !long.contains('=') {
                    let found = cmd.get_arguments().find(|a| {
                        a.get_long() == Some(long) || a.get_all_aliases().is_some_and(|al| al.contains(&long))
                    });
                    if found.is_some_and(takes_value) {
                        i += 1;
                    }
                }
            } else if tok.len() > 1 && tok.starts_with('-') {
                let shorts: Vec<char> = tok[1..].chars().collect();
                for (k, c) in shorts.iter().enumerate() {
                    let Some(a) = cmd.get_arguments().find(|a| a.get_short() == Some(*c)) else { break };
                    if takes_value(a) {
                        if k + 1 == shorts.len() {
                            i += 1;
                        }
                        break;
                    }
                }
            } else {
                return Some(i);
            }
            i += 1;
        }
        None
    }
    let mut cmd = root;
    let mut start = 1;
    let mut depth = 0;
    while let Some(p) = first_positional(cmd, &args, start) {
        let Some(sub) = cmd.find_subcommand(args[p].to_string_lossy().as_ref()) else { return args };
        let name = sub.get_name();
        let parent_ok = depth == 0 || cmd.get_name() == "container";
        if parent_ok && matches!(name, "run" | "create" | "exec" | "top") {
            let Some(image) = first_positional(sub, &args, p + 1) else { return args };
            let mut out = args;
            out.insert(image, OsString::from("--"));
            return out;
        }
        cmd = sub;
        start = p + 1;
        depth += 1;
    }
    args
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

    fn separated(args: &[&str]) -> Vec<String> {
        separate_image_args(&Cli::command(), args.iter().map(OsString::from).collect())
            .into_iter()
            .map(|s| s.into_string().expect("utf8"))
            .collect()
    }

    #[test]
    fn exec_flags_stop_at_the_container() {
        assert_eq!(
            separated(&["wharf", "exec", "-it", "-u", "root", "-e", "A=1", "ex", "ls", "-l", "--help"]),
            ["wharf", "exec", "-it", "-u", "root", "-e", "A=1", "--", "ex", "ls", "-l", "--help"]
        );
        assert_eq!(
            separated(&["wharf", "container", "exec", "-w", "/tmp", "ex", "sh", "-c", "pwd"]),
            ["wharf", "container", "exec", "-w", "/tmp", "--", "ex", "sh", "-c", "pwd"]
        );
        let c = Cli::try_parse_from(separated(&["wharf", "exec", "-d", "ex", "sleep", "-h"])).expect("parse");
        let Some(Command::Exec(a)) = c.command else { panic!("not exec") };
        assert!(a.detach);
        assert_eq!((a.container.as_str(), a.command), ("ex", vec!["sleep".to_string(), "-h".into()]));
    }

    #[test]
    fn run_flags_stop_at_the_image() {
        assert_eq!(
            separated(&["wharf", "run", "-it", "--name", "x", "-e", "A=1", "busybox", "ls", "-l", "--help"]),
            ["wharf", "run", "-it", "--name", "x", "-e", "A=1", "--", "busybox", "ls", "-l", "--help"]
        );
        assert_eq!(
            separated(&["wharf", "-H", "unix:///x", "container", "create", "-p8080:80", "-ebusybox=1", "nginx", "-g"]),
            ["wharf", "-H", "unix:///x", "container", "create", "-p8080:80", "-ebusybox=1", "--", "nginx", "-g"]
        );
        assert_eq!(
            separated(&["wharf", "run", "--rm=false", "-d", "--sig-proxy=false", "-h", "host", "busybox"]),
            ["wharf", "run", "--rm=false", "-d", "--sig-proxy=false", "-h", "host", "--", "busybox"]
        );
        assert_eq!(separated(&["wharf", "top", "web", "-ef"]), ["wharf", "top", "--", "web", "-ef"]);
        assert_eq!(
            separated(&["wharf", "container", "top", "web", "aux"]),
            ["wharf", "container", "top", "--", "web", "aux"]
        );
        for unchanged in [
            &["wharf", "ps", "-a"][..],
            &["wharf", "run", "--", "busybox", "-x"],
            &["wharf", "--context", "run", "ps"],
            &["wharf", "run", "--name", "x"],
            &["wharf", "logs", "run"],
        ] {
            assert_eq!(separated(unchanged), unchanged, "{unchanged:?}");
        }
        let c = Cli::try_parse_from(separated(&["wharf", "run", "--rm", "busybox", "sh", "-c", "echo --rm"]))
            .expect("parse");
        match c.command {
            Some(Command::Run(r)) => {
                assert!(r.create.opts.rm);
                assert_eq!(r.create.image, "busybox");
                assert_eq!(r.create.args, ["sh", "-c", "echo --rm"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_container_commands() {
        let ok = |args: &[&str]| Cli::try_parse_from(separated(args)).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        for args in [
            &["wharf", "run", "-it", "--rm", "-v", "/a:/b", "-p", "80:80", "busybox"][..],
            &["wharf", "container", "run", "-d", "--name", "x", "busybox", "sleep", "1"],
            &["wharf", "create", "-h", "host", "-m", "1g", "--cpus", "1.5", "busybox"],
            &["wharf", "container", "create", "--restart", "on-failure:3", "busybox"],
            &["wharf", "start", "-ai", "x"],
            &["wharf", "container", "start", "x", "y"],
            &["wharf", "stop", "-t", "3", "-s", "KILL", "x", "y"],
            &["wharf", "stop", "--time", "3", "x"],
            &["wharf", "restart", "--timeout=-1", "x"],
            &["wharf", "kill", "-s", "HUP", "x"],
            &["wharf", "pause", "x"],
            &["wharf", "unpause", "x"],
            &["wharf", "wait", "x", "y"],
            &["wharf", "rm", "-fv", "x", "y"],
            &["wharf", "container", "remove", "x"],
            &["wharf", "rename", "x", "y"],
            &["wharf", "container", "prune", "-f", "--filter", "until=1h"],
            &["wharf", "logs", "-f", "-n", "10", "--since", "10m", "x"],
            &["wharf", "ps", "-a", "-q", "-n", "3", "-s", "--no-trunc", "-f", "status=exited", "--format", "json"],
            &["wharf", "container", "ls", "-l"],
            &["wharf", "container", "list"],
            &["wharf", "container", "ps"],
            &["wharf", "inspect", "--type", "container", "-s", "-f", "{{.Id}}", "x"],
            &["wharf", "container", "inspect", "-s", "x", "y"],
            &["wharf", "attach", "--no-stdin", "--sig-proxy=false", "x"],
            &["wharf", "stats"],
            &["wharf", "stats", "-a", "--no-stream", "--no-trunc", "--format", "json", "x", "y"],
            &["wharf", "container", "stats", "--format", "table {{.Name}}"],
            &["wharf", "top", "x"],
            &["wharf", "top", "x", "-ef"],
            &["wharf", "container", "top", "x", "-o", "pid,comm", "--help"],
            &["wharf", "cp", "-aLq", "x:/etc", "-"],
            &["wharf", "container", "cp", "--follow-link", "./a:b", "x:/"],
            &["wharf", "diff", "x"],
            &["wharf", "container", "diff", "x"],
            &["wharf", "export", "-o", "x.tar", "x"],
            &["wharf", "container", "export", "--output=x.tar", "x"],
            &["wharf", "commit", "-a", "me", "-c", "ENV A=1", "--change", "CMD sh", "-m", "m", "-p=false", "x", "r:t"],
            &["wharf", "container", "commit", "--pause", "x"],
            &["wharf", "update", "-m", "1g", "--memory-swap", "-1", "--pids-limit", "-1", "-c", "2", "x", "y"],
            &["wharf", "container", "update", "--restart", "always", "--cpus", "1.5", "x"],
            &["wharf", "port", "x"],
            &["wharf", "port", "x", "80/tcp"],
            &["wharf", "container", "port", "x", "53"],
            &["wharf", "network", "ls", "-q"],
            &["wharf", "network", "create", "-d", "bridge", "--subnet", "10.9.0.0/16", "n"],
            &["wharf", "network", "connect", "--alias", "a", "n", "x"],
            &["wharf", "volume", "create", "-d", "local", "--label", "a=b", "v"],
            &["wharf", "volume", "ls", "-q"],
            &["wharf", "volume", "rm", "-f", "v"],
            &["wharf", "volume", "prune", "-a", "-f"],
        ] {
            ok(args);
        }
        let c = ok(&["wharf", "top", "x", "-ef", "-h"]);
        match c.command {
            Some(Command::Top(t)) => {
                assert_eq!((t.container.as_str(), t.args), ("x", vec!["-ef".to_string(), "-h".into()]))
            }
            other => panic!("{other:?}"),
        }
        for bad in [
            &["wharf", "run"][..],
            &["wharf", "create", "-m", "lots", "busybox"],
            &["wharf", "run", "--cpus", "x", "busybox"],
            &["wharf", "rename", "x"],
            &["wharf", "rm"],
            &["wharf", "create", "-d", "busybox"],
            &["wharf", "logs", "a", "b"],
            &["wharf", "top"],
            &["wharf", "cp", "a"],
            &["wharf", "cp", "a", "b", "c"],
            &["wharf", "diff"],
            &["wharf", "diff", "a", "b"],
            &["wharf", "export"],
            &["wharf", "commit"],
            &["wharf", "commit", "a", "b", "c"],
            &["wharf", "update", "-m", "1g"],
            &["wharf", "update", "--blkio-weight", "70000", "x"],
            &["wharf", "port"],
            &["wharf", "port", "a", "b", "c"],
            &["wharf", "network", "create"],
            &["wharf", "network", "bogus"],
            &["wharf", "volume", "bogus"],
            &["wharf", "volume", "create", "a", "b"],
        ] {
            assert!(Cli::try_parse_from(separated(bad)).is_err(), "{bad:?}");
        }
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
            &["wharf", "pull", "-a", "-q", "--platform", "linux/arm64", "--disable-content-trust", "busybox"],
            &["wharf", "image", "pull", "--disable-content-trust=false", "busybox:1"],
            &["wharf", "push", "-a", "-q", "--platform", "linux/amd64", "me/app"],
            &["wharf", "image", "push", "--all-tags", "--quiet", "me/app"],
            &["wharf", "login", "-u", "bob", "--password-stdin", "localhost:5000"],
            &["wharf", "login", "--username", "bob", "--password", "pw"],
            &["wharf", "logout"],
            &["wharf", "logout", "localhost:5000"],
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
            &["wharf", "pull"],
            &["wharf", "pull", "a", "b"],
            &["wharf", "push"],
            &["wharf", "login", "a", "b"],
            &["wharf", "logout", "a", "b"],
            &["wharf", "pull", "--disable-content-trust=maybe", "a"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }
}
