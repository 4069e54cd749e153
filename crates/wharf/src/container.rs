//! The container lifecycle commands besides `run`/`create`/`start`/`attach`
//! (`run.rs`), `exec` (`exec.rs`), `logs` (`logs.rs`) and `ps` (`ps.rs`): `stop`,
//! `restart`, `kill`, `pause`, `unpause`, `wait`, `rm`, `rename`, `container prune`,
//! `container inspect`, and the top-level `inspect` that looks for a container, then an
//! image, a network, a volume or a plugin. Also the `wharf container` command tree
//! (`stats`/`top` are in `stats.rs`, `cp` in `cp.rs`, `diff`/`export`/`commit` in
//! `files.rs`, `update` in `update.rs`, `port` in `port.rs`).
//!
//! As with the docker CLI, commands on several containers run the requests in
//! parallel, print the names that succeeded in the order given, and fail at the end
//! with the errors joined by newlines (exit status 1).

use anyhow::anyhow;
use clap::{Args, Subcommand};
use futures_util::StreamExt;
use http::Method;
use serde_json::Value;

use crate::config::ConfigFile;
use crate::connect::{path_escape, Conn, RequestError};
use crate::cp::CpArgs;
use crate::exec::ExecArgs;
use crate::files::{CommitArgs, DiffArgs, ExportArgs};
use crate::filters::{Filters, Query};
use crate::format::{self, StatusError};
use crate::image::{confirm, connect, prune_filters};
use crate::logs::LogsArgs;
use crate::port::PortArgs;
use crate::ps::PsArgs;
use crate::run::{AttachArgs, CreateArgs, RunArgs, StartArgs};
use crate::stats::{StatsArgs, TopArgs};
use crate::system::Target;
use crate::units;
use crate::update::UpdateArgs;

/// `wharf container`.
#[derive(Debug, Subcommand)]
pub(crate) enum ContainerCommand {
    /// Attach local standard input, output, and error streams to a running container
    Attach(AttachArgs),
    /// Create a new image from a container's changes
    #[command(override_usage = "wharf container commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]")]
    Commit(CommitArgs),
    /// Copy files/folders between a container and the local filesystem
    #[command(override_usage = crate::cp::CONTAINER_CP_USAGE, help_template = crate::cp::CP_HELP)]
    Cp(CpArgs),
    /// Create a new container
    #[command(override_usage = "wharf container create [OPTIONS] IMAGE [COMMAND] [ARG...]")]
    Create(CreateArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(DiffArgs),
    /// Execute a command in a running container
    #[command(override_usage = "wharf container exec [OPTIONS] CONTAINER COMMAND [ARG...]")]
    Exec(ExecArgs),
    /// Export a container's filesystem as a tar archive
    Export(ExportArgs),
    /// Display detailed information on one or more containers
    Inspect(InspectArgs),
    /// Kill one or more running containers
    Kill(KillArgs),
    /// Fetch the logs of a container
    Logs(LogsArgs),
    /// List containers
    #[command(visible_aliases = ["list", "ps"])]
    Ls(PsArgs),
    /// Pause all processes within one or more containers
    Pause(NamesArgs),
    /// List port mappings or a specific mapping for the container
    #[command(override_usage = "wharf container port CONTAINER [PRIVATE_PORT[/PROTO]]")]
    Port(PortArgs),
    /// Remove all stopped containers
    Prune(PruneArgs),
    /// Rename a container
    Rename(RenameArgs),
    /// Restart one or more containers
    Restart(StopArgs),
    /// Remove one or more containers
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Create and run a new container from an image
    #[command(override_usage = "wharf container run [OPTIONS] IMAGE [COMMAND] [ARG...]")]
    Run(RunArgs),
    /// Start one or more stopped containers
    Start(StartArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(StatsArgs),
    /// Stop one or more running containers
    Stop(StopArgs),
    /// Display the running processes of a container
    #[command(override_usage = "wharf container top CONTAINER [ps OPTIONS]")]
    Top(TopArgs),
    /// Unpause all processes within one or more containers
    Unpause(NamesArgs),
    /// Update configuration of one or more containers
    #[command(override_usage = "wharf container update [OPTIONS] CONTAINER [CONTAINER...]")]
    Update(UpdateArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(NamesArgs),
}

/// Runs a `wharf container` subcommand.
pub(crate) async fn run(t: &Target, config: &ConfigFile, c: &ContainerCommand) -> anyhow::Result<()> {
    match c {
        ContainerCommand::Attach(a) => crate::run::attach_cmd(t, config, a).await,
        ContainerCommand::Commit(a) => crate::files::commit(t, a).await,
        ContainerCommand::Cp(a) => crate::cp::cp(t, a).await,
        ContainerCommand::Diff(a) => crate::files::diff(t, a).await,
        ContainerCommand::Export(a) => crate::files::export(t, a).await,
        ContainerCommand::Stats(a) => crate::stats::stats(t, config, a).await,
        ContainerCommand::Top(a) => crate::stats::top(t, a).await,
        ContainerCommand::Update(a) => crate::update::update(t, a).await,
        ContainerCommand::Create(a) => crate::run::create(t, config, a).await,
        ContainerCommand::Exec(a) => crate::exec::exec(t, config, a).await,
        ContainerCommand::Inspect(a) => inspect(t, a).await,
        ContainerCommand::Kill(a) => kill(t, a).await,
        ContainerCommand::Logs(a) => crate::logs::logs(t, a).await,
        ContainerCommand::Ls(a) => crate::ps::ps(t, config, a).await,
        ContainerCommand::Pause(a) => simple(t, a, "pause").await,
        ContainerCommand::Port(a) => crate::port::port(t, a).await,
        ContainerCommand::Prune(a) => prune(t, config, a).await,
        ContainerCommand::Rename(a) => rename(t, a).await,
        ContainerCommand::Restart(a) => stop(t, a, "restart").await,
        ContainerCommand::Rm(a) => rm(t, a).await,
        ContainerCommand::Run(a) => crate::run::run(t, config, a).await,
        ContainerCommand::Start(a) => crate::run::start(t, config, a).await,
        ContainerCommand::Stop(a) => stop(t, a, "stop").await,
        ContainerCommand::Unpause(a) => simple(t, a, "unpause").await,
        ContainerCommand::Wait(a) => wait(t, a).await,
    }
}

/// Runs `op` on every name (at most 50 at a time, as docker's `parallelOperation`),
/// prints the names that succeeded in the order given and returns the errors.
async fn each<F, Fut>(names: &[String], op: F) -> Vec<String>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<(), RequestError>>,
{
    let mut results = futures_util::stream::iter(names.iter().map(|n| {
        let fut = op(n.clone());
        async move { (n, fut.await) }
    }))
    .buffered(50);
    let mut errors = Vec::new();
    while let Some((name, r)) = results.next().await {
        match r {
            Ok(()) => println!("{name}"),
            Err(e) => errors.push(e.message),
        }
    }
    errors
}

/// The joined errors as the command's failure.
fn fail_with(errors: Vec<String>) -> anyhow::Result<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(StatusError::new(1, errors.join("\n")).into())
    }
}

/// Container names of `pause`, `unpause` and `wait`.
#[derive(Debug, Args)]
pub(crate) struct NamesArgs {
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

/// `wharf pause` / `wharf unpause`: `POST /containers/{id}/{action}`.
pub(crate) async fn simple(t: &Target, a: &NamesArgs, action: &str) -> anyhow::Result<()> {
    let conn = connect(t).await?;
    let errors = each(&a.containers, |name| {
        let conn = conn.clone();
        let path = format!("/containers/{}/{action}", path_escape(&name));
        async move { conn.raw_bytes(Method::POST, &path).await.map(|_| ()) }
    })
    .await;
    fail_with(errors)
}

// ---------------------------------------------------------------------------------------
// stop / restart / kill
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct StopArgs {
    /// Signal to send to the container
    #[arg(short = 's', long, value_name = "string", default_value = "", hide_default_value = true)]
    pub signal: String,
    /// Seconds to wait before killing the container
    #[arg(short = 't', long, value_name = "int", allow_hyphen_values = true, value_parser = crate::copts::parse_go_int)]
    pub timeout: Option<i64>,
    /// Seconds to wait before killing the container (deprecated: use --timeout)
    #[arg(long, value_name = "int", hide = true, allow_hyphen_values = true, value_parser = crate::copts::parse_go_int)]
    pub time: Option<i64>,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

/// The query of `stop` and `restart`.
pub(crate) fn stop_query(signal: &str, timeout: Option<i64>) -> String {
    let mut q = Query::default();
    if !signal.is_empty() {
        q.add("signal", signal);
    }
    if let Some(t) = timeout {
        q.add("t", &t.to_string());
    }
    q.encode()
}

/// `wharf stop` / `wharf restart`.
pub(crate) async fn stop(t: &Target, a: &StopArgs, action: &str) -> anyhow::Result<()> {
    if a.time.is_some() {
        println!("Flag --time has been deprecated, use --timeout instead");
    }
    let conn = connect(t).await?;
    let query = stop_query(&a.signal, a.timeout.or(a.time));
    let errors = each(&a.containers, |name| {
        let conn = conn.clone();
        let path = format!("/containers/{}/{action}{query}", path_escape(&name));
        async move { conn.raw_bytes(Method::POST, &path).await.map(|_| ()) }
    })
    .await;
    fail_with(errors)
}

#[derive(Debug, Args)]
pub(crate) struct KillArgs {
    /// Signal to send to the container
    #[arg(short = 's', long, value_name = "string", default_value = "", hide_default_value = true)]
    pub signal: String,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

/// `wharf kill`.
pub(crate) async fn kill(t: &Target, a: &KillArgs) -> anyhow::Result<()> {
    let conn = connect(t).await?;
    let mut q = Query::default();
    if !a.signal.is_empty() {
        q.add("signal", &a.signal);
    }
    let query = q.encode();
    let errors = each(&a.containers, |name| {
        let conn = conn.clone();
        let path = format!("/containers/{}/kill{query}", path_escape(&name));
        async move { conn.raw_bytes(Method::POST, &path).await.map(|_| ()) }
    })
    .await;
    fail_with(errors)
}

// ---------------------------------------------------------------------------------------
// wait
// ---------------------------------------------------------------------------------------

/// `wharf wait`: one container after the other, printing each exit code.
pub(crate) async fn wait(t: &Target, a: &NamesArgs) -> anyhow::Result<()> {
    let conn = connect(t).await?;
    let mut errors = Vec::new();
    for name in &a.containers {
        match conn.raw_json(Method::POST, &format!("/containers/{}/wait", path_escape(name))).await {
            Ok(v) => match v.get("Error").and_then(|e| e.get("Message")).and_then(Value::as_str) {
                Some(m) if !m.is_empty() => errors.push(m.to_string()),
                _ => println!("{}", v.get("StatusCode").and_then(Value::as_i64).unwrap_or(0)),
            },
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    fail_with(errors)
}

// ---------------------------------------------------------------------------------------
// rm
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short, long)]
    pub force: bool,
    /// Remove the specified link
    #[arg(short = 'l', long)]
    pub link: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short = 'v', long)]
    pub volumes: bool,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

/// The query of `DELETE /containers/{id}`.
pub(crate) fn rm_query(a: &RmArgs) -> String {
    let mut q = Query::default();
    if a.volumes {
        q.add("v", "1");
    }
    if a.link {
        q.add("link", "1");
    }
    if a.force {
        q.add("force", "1");
    }
    q.encode()
}

/// `wharf rm`: with `-f`, containers that do not exist are reported but do not fail
/// the command.
pub(crate) async fn rm(t: &Target, a: &RmArgs) -> anyhow::Result<()> {
    let conn = connect(t).await?;
    let query = rm_query(a);
    let mut results = futures_util::stream::iter(a.containers.iter().map(|n| {
        let conn = conn.clone();
        let name = n.trim_matches('/').to_string();
        let path = format!("/containers/{}{query}", path_escape(&name));
        async move {
            if name.is_empty() {
                return (n, Err(RequestError { status: None, message: "container name cannot be empty".into() }));
            }
            (n, conn.raw_bytes(Method::DELETE, &path).await.map(|_| ()))
        }
    }))
    .buffered(50);
    let mut errors = Vec::new();
    while let Some((name, r)) = results.next().await {
        match r {
            Ok(()) => println!("{name}"),
            Err(e) if a.force && e.status == Some(404) => eprintln!("{e}"),
            Err(e) => errors.push(e.message),
        }
    }
    fail_with(errors)
}

// ---------------------------------------------------------------------------------------
// rename
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct RenameArgs {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    #[arg(value_name = "NEW_NAME")]
    pub new_name: String,
}

/// `wharf rename`.
pub(crate) async fn rename(t: &Target, a: &RenameArgs) -> anyhow::Result<()> {
    let (old, new) = (a.container.trim(), a.new_name.trim());
    if old.is_empty() || new.is_empty() {
        return Err(anyhow!("Error: Neither old nor new names may be empty"));
    }
    let conn = connect(t).await?;
    let mut q = Query::default();
    q.add("name", new);
    if let Err(e) =
        conn.raw_bytes(Method::POST, &format!("/containers/{}/rename{}", path_escape(old), q.encode())).await
    {
        eprintln!("{e}");
        return Err(anyhow!("Error: failed to rename container named {old}"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// container prune
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct PruneArgs {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

const PRUNE_WARNING: &str = "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?";

/// The report of `container prune` for the daemon's answer.
pub(crate) fn prune_report(answer: &Value) -> String {
    let deleted: Vec<&str> = answer
        .get("ContainersDeleted")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut out = String::new();
    let mut reclaimed = 0;
    if !deleted.is_empty() {
        out.push_str("Deleted Containers:\n");
        for id in &deleted {
            out.push_str(id);
            out.push('\n');
        }
        out.push('\n');
        reclaimed = answer.get("SpaceReclaimed").and_then(Value::as_i64).unwrap_or(0);
    }
    out.push_str(&format!("Total reclaimed space: {}\n", units::human_size(reclaimed as f64)));
    out
}

/// `wharf container prune`.
pub(crate) async fn prune(t: &Target, config: &ConfigFile, a: &PruneArgs) -> anyhow::Result<()> {
    let filters = Filters::parse_flag(&a.filter, "--filter").map_err(|e| StatusError::new(125, e))?;
    let filters = prune_filters(filters, config);
    if !a.force && !confirm(PRUNE_WARNING)? {
        return Ok(());
    }
    let conn = connect(t).await?;
    let mut q = Query::default();
    if !filters.is_empty() {
        q.add("filters", &filters.to_json());
    }
    let answer = conn.raw_json(Method::POST, &format!("/containers/prune{}", q.encode())).await?;
    print!("{}", prune_report(&answer));
    Ok(())
}

// ---------------------------------------------------------------------------------------
// inspect
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    #[arg(short = 'f', long, value_name = "string", default_value = "", hide_default_value = true, help = format::INSPECT_FORMAT_HELP)]
    pub format: String,
    /// Display total file sizes
    #[arg(short = 's', long)]
    pub size: bool,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

fn check_template(f: &str) -> anyhow::Result<()> {
    if !matches!(f, "" | "json") {
        format::parse_template(f).map_err(|e| StatusError::new(64, e))?;
    }
    Ok(())
}

async fn write_inspect(format: &str, raws: &[Vec<u8>], errors: Vec<String>) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = Vec::new();
    let result = format::write_inspect_raw(&mut out, format, raws, errors);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&out)?;
    stdout.flush()?;
    result
}

/// `wharf container inspect`.
pub(crate) async fn inspect(t: &Target, a: &InspectArgs) -> anyhow::Result<()> {
    check_template(&a.format)?;
    let conn = connect(t).await?;
    let query = if a.size { "?size=1" } else { "" };
    let mut raws = Vec::new();
    let mut errors = Vec::new();
    for name in &a.containers {
        match conn.raw_bytes(Method::GET, &format!("/containers/{}/json{query}", path_escape(name))).await {
            Ok(raw) => raws.push(raw),
            Err(e) => errors.push(e.message),
        }
    }
    write_inspect(&a.format, &raws, errors).await
}

/// Top-level `wharf inspect`.
#[derive(Debug, Args)]
pub(crate) struct TopInspectArgs {
    #[arg(short = 'f', long, value_name = "string", default_value = "", hide_default_value = true, help = format::INSPECT_FORMAT_HELP)]
    pub format: String,
    /// Display total file sizes if the type is container
    #[arg(short = 's', long)]
    pub size: bool,
    /// Only inspect objects of the given type
    #[arg(long = "type", value_name = "string", default_value = "", hide_default_value = true)]
    pub kind: String,
    #[arg(value_name = "NAME|ID", required = true)]
    pub names: Vec<String>,
}

const TYPES: [&str; 10] =
    ["config", "container", "image", "network", "node", "plugin", "secret", "service", "task", "volume"];

/// The inspect endpoint of an object type.
fn inspect_path(kind: &str, name: &str, size: bool) -> String {
    let n = path_escape(name);
    match kind {
        "container" => format!("/containers/{n}/json{}", if size { "?size=1" } else { "" }),
        "image" => format!("/images/{n}/json"),
        "plugin" => format!("/plugins/{n}/json"),
        "network" => format!("/networks/{n}"),
        "volume" => format!("/volumes/{n}"),
        other => format!("/{other}s/{n}"),
    }
}

/// Looks `name` up as each of `kinds` in turn; "not found" (404) moves on to the next.
async fn inspect_any(conn: &Conn, kinds: &[&str], name: &str, size: bool) -> Result<Vec<u8>, String> {
    for kind in kinds {
        match conn.raw_bytes(Method::GET, &inspect_path(kind, name, size)).await {
            Ok(raw) => return Ok(raw),
            Err(e) if e.status == Some(404) || e.status == Some(501) => continue,
            Err(e) => return Err(e.message),
        }
    }
    Err(format!("Error: No such object: {name}"))
}

/// `wharf inspect`: any object; without `--type`, a container, then an image, a
/// network, a volume or a plugin.
pub(crate) async fn top_inspect(t: &Target, a: &TopInspectArgs) -> anyhow::Result<()> {
    if !a.kind.is_empty() && !TYPES.contains(&a.kind.as_str()) {
        let list: Vec<String> = TYPES.iter().map(|t| format!("\"{t}\"")).collect();
        return Err(anyhow!("unknown type: \"{}\": must be one of {}", a.kind, list.join(", ")));
    }
    check_template(&a.format)?;
    let conn = connect(t).await?;
    let mut raws = Vec::new();
    let mut errors = Vec::new();
    for name in &a.names {
        let result = if a.kind.is_empty() {
            inspect_any(&conn, &["container", "image", "network", "volume", "plugin"], name, a.size).await
        } else {
            conn.raw_bytes(Method::GET, &inspect_path(&a.kind, name, a.size)).await.map_err(|e| e.message)
        };
        match result {
            Ok(raw) => raws.push(raw),
            Err(e) => errors.push(e),
        }
    }
    write_inspect(&a.format, &raws, errors).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn queries_like_docker() {
        assert_eq!(stop_query("KILL", Some(3)), "?signal=KILL&t=3");
        assert_eq!(stop_query("", None), "");
        assert_eq!(stop_query("", Some(0)), "?t=0");
        let a = RmArgs { force: true, link: false, volumes: true, containers: vec![] };
        assert_eq!(rm_query(&a), "?force=1&v=1");
        assert_eq!(inspect_path("container", "x", true), "/containers/x/json?size=1");
        assert_eq!(inspect_path("network", "n", true), "/networks/n");
        assert_eq!(inspect_path("service", "s", false), "/services/s");
    }

    #[test]
    fn prune_output_like_docker() {
        let answer = json!({"ContainersDeleted": ["a".repeat(64), "b".repeat(64)], "SpaceReclaimed": 1240});
        assert_eq!(
            prune_report(&answer),
            format!("Deleted Containers:\n{}\n{}\n\nTotal reclaimed space: 1.24kB\n", "a".repeat(64), "b".repeat(64))
        );
        assert_eq!(
            prune_report(&json!({"ContainersDeleted": null, "SpaceReclaimed": 0})),
            "Total reclaimed space: 0B\n"
        );
    }
}
