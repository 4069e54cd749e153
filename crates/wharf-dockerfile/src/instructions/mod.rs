//! Typed instructions (BuildKit's `frontend/dockerfile/instructions`): each AST node becomes a
//! stage (`FROM`) or a command, with its flags checked (`BFlags`) and its arguments validated
//! with BuildKit's texts; [`parse`] groups the commands into stages and returns the `ARG`s
//! before the first `FROM` (the global "meta" args).
//!
//! Variable expansion is not done here, as in BuildKit: commands keep what was written and
//! [`Command::expand`] applies an expander (BuildKit's `SupportsSingleWordExpansion`) when the
//! builder dispatches them; [`resolve_meta_args`] and [`Stage::expand_base_name`] do what
//! BuildKit does with global ARGs before the stages run.

mod bflag;
mod mount;

use std::collections::BTreeMap;

pub use mount::{parse_mount, Expander, Mount, MountType, ShareMode};

use crate::error::{Error, Location};
use crate::gostr::{equal_fold, format_duration, parse_duration, parse_int, to_lower, to_upper, trim_space};
use crate::parser::{chomp_heredoc_content, parse_heredoc, Ast, Node, MAX_DOCKERFILE_BYTES};
use crate::shell::Lex;
use crate::suggest;
use bflag::BFlags;

/// What every command carries (BuildKit's `withNameAndCode`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// The instruction name as written.
    pub name: String,
    /// The instruction's source line, trimmed.
    pub code: String,
    /// Where it is.
    pub location: Location,
}

/// A `key=value` of ENV or LABEL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValuePair {
    /// The key, as written (quotes are removed by expansion).
    pub key: String,
    /// The value, as written.
    pub value: String,
    /// The legacy `KEY value` form was used (BuildKit lints it).
    pub no_delim: bool,
}

/// A `name[=default]` of ARG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValuePairOptional {
    /// The name.
    pub key: String,
    /// The default, if any.
    pub value: Option<String>,
    /// The description from a `# name description` comment above.
    pub comment: String,
}

/// A heredoc used as a source of COPY or ADD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceContent {
    /// The heredoc's name (the file name it is written as).
    pub path: String,
    /// The body (tabs stripped for `<<-`).
    pub data: String,
    /// Whether variables in the body are expanded.
    pub expand: bool,
}

/// Sources and destination of COPY and ADD.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourcesAndDest {
    /// The destination.
    pub dest_path: String,
    /// Source paths (or URLs, for ADD).
    pub source_paths: Vec<String>,
    /// Heredoc sources.
    pub source_contents: Vec<SourceContent>,
}

/// A heredoc attached to RUN, CMD or ENTRYPOINT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellInlineFile {
    /// The heredoc's name.
    pub name: String,
    /// The body as written.
    pub data: String,
    /// `<<-`.
    pub chomp: bool,
}

/// A command line of RUN, CMD or ENTRYPOINT (BuildKit's `ShellDependantCmdLine`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CmdLine {
    /// The exec-form arguments, or the shell-form string as the only element.
    pub cmd_line: Vec<String>,
    /// Heredoc bodies.
    pub files: Vec<ShellInlineFile>,
    /// Shell form: the shell is prepended.
    pub prepend_shell: bool,
}

/// A health check (Docker's `HealthConfig`); durations in nanoseconds, 0 when unset.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthConfig {
    /// `["NONE"]`, `["CMD", args…]` or `["CMD-SHELL", command]`.
    pub test: Vec<String>,
    /// `--interval`.
    pub interval: i64,
    /// `--timeout`.
    pub timeout: i64,
    /// `--start-period`.
    pub start_period: i64,
    /// `--start-interval`.
    pub start_interval: i64,
    /// `--retries`.
    pub retries: i64,
}

/// ENV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvCommand {
    /// Name, code, location.
    pub meta: Meta,
    /// The variables, in order.
    pub env: Vec<KeyValuePair>,
}

/// MAINTAINER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintainerCommand {
    /// Name, code, location.
    pub meta: Meta,
    /// The maintainer.
    pub maintainer: String,
}

/// LABEL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelCommand {
    /// Name, code, location.
    pub meta: Meta,
    /// The labels, in order.
    pub labels: Vec<KeyValuePair>,
}

/// ADD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCommand {
    /// Name, code, location.
    pub meta: Meta,
    /// Sources and destination.
    pub sources_and_dest: SourcesAndDest,
    /// `--chown`.
    pub chown: String,
    /// `--chmod`.
    pub chmod: String,
    /// `--link`.
    pub link: bool,
    /// `--keep-git-dir`.
    pub keep_git_dir: bool,
    /// `--checksum`.
    pub checksum: String,
    /// `--exclude` patterns.
    pub exclude_patterns: Vec<String>,
    /// `--unpack`, when given.
    pub unpack: Option<bool>,
}

/// COPY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyCommand {
    /// Name, code, location.
    pub meta: Meta,
    /// Sources and destination.
    pub sources_and_dest: SourcesAndDest,
    /// `--from`.
    pub from: String,
    /// `--chown`.
    pub chown: String,
    /// `--chmod`.
    pub chmod: String,
    /// `--link`.
    pub link: bool,
    /// `--parents`.
    pub parents: bool,
    /// `--exclude` patterns.
    pub exclude_patterns: Vec<String>,
}

/// ONBUILD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnbuildCommand {
    /// Name, code, location.
    pub meta: Meta,
    /// The trigger instruction's text (with its heredocs).
    pub expression: String,
}

/// WORKDIR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkdirCommand {
    /// Name, code, location.
    pub meta: Meta,
    /// The path.
    pub path: String,
}

/// RUN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCommand {
    /// Name, code, location.
    pub meta: Meta,
    /// The command.
    pub cmd: CmdLine,
    /// `--mount` values as written (see [`RunCommand::mounts`]).
    pub mounts: Vec<String>,
    /// `--network` (`default`, `none` or `host`).
    pub network: String,
    /// `--security` (`sandbox` or `insecure`).
    pub security: String,
    /// The flags given.
    pub flags_used: Vec<String>,
}

/// CMD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdCommand {
    /// Name, code, location.
    pub meta: Meta,
    /// The command.
    pub cmd: CmdLine,
}

/// HEALTHCHECK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckCommand {
    /// Name, code, location.
    pub meta: Meta,
    /// The health check.
    pub health: HealthConfig,
}

/// ENTRYPOINT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrypointCommand {
    /// Name, code, location.
    pub meta: Meta,
    /// The command (an empty exec form resets the entrypoint).
    pub cmd: CmdLine,
}

/// EXPOSE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExposeCommand {
    /// Name, code, location.
    pub meta: Meta,
    /// The ports as written, sorted (BuildKit sorts them).
    pub ports: Vec<String>,
}

/// USER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCommand {
    /// Name, code, location.
    pub meta: Meta,
    /// The user.
    pub user: String,
}

/// VOLUME.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeCommand {
    /// Name, code, location.
    pub meta: Meta,
    /// The volumes.
    pub volumes: Vec<String>,
}

/// STOPSIGNAL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopSignalCommand {
    /// Name, code, location.
    pub meta: Meta,
    /// The signal.
    pub signal: String,
}

/// ARG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgCommand {
    /// Name, code, location.
    pub meta: Meta,
    /// The arguments declared on the line.
    pub args: Vec<KeyValuePairOptional>,
}

/// SHELL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellCommand {
    /// Name, code, location.
    pub meta: Meta,
    /// The shell.
    pub shell: Vec<String>,
}

/// A command inside a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// ENV.
    Env(EnvCommand),
    /// MAINTAINER.
    Maintainer(MaintainerCommand),
    /// LABEL.
    Label(LabelCommand),
    /// ADD.
    Add(AddCommand),
    /// COPY.
    Copy(CopyCommand),
    /// ONBUILD.
    Onbuild(OnbuildCommand),
    /// WORKDIR.
    Workdir(WorkdirCommand),
    /// RUN.
    Run(RunCommand),
    /// CMD.
    Cmd(CmdCommand),
    /// HEALTHCHECK.
    Healthcheck(HealthCheckCommand),
    /// ENTRYPOINT.
    Entrypoint(EntrypointCommand),
    /// EXPOSE.
    Expose(ExposeCommand),
    /// USER.
    User(UserCommand),
    /// VOLUME.
    Volume(VolumeCommand),
    /// STOPSIGNAL.
    StopSignal(StopSignalCommand),
    /// ARG.
    Arg(ArgCommand),
    /// SHELL.
    Shell(ShellCommand),
}

/// A build stage (`FROM`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The lower-cased `AS` name, empty when unnamed.
    pub name: String,
    /// The commands.
    pub commands: Vec<Command>,
    /// The base image (or stage) as written.
    pub base_name: String,
    /// `FROM` as written.
    pub orig_cmd: String,
    /// The `FROM` line, trimmed.
    pub source_code: String,
    /// `--platform`, as written.
    pub platform: String,
    /// Where the `FROM` is.
    pub location: Location,
    /// The description from a `# name description` comment above.
    pub comment: String,
}

/// One parsed instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    /// `FROM`.
    Stage(Stage),
    /// Anything else.
    Command(Command),
}

/// The instruction names BuildKit knows (`command.Commands`).
pub const INSTRUCTIONS: [&str; 18] = [
    "add",
    "arg",
    "cmd",
    "copy",
    "entrypoint",
    "env",
    "expose",
    "from",
    "healthcheck",
    "label",
    "maintainer",
    "onbuild",
    "run",
    "shell",
    "stopsignal",
    "user",
    "volume",
    "workdir",
];

/// Whether variables are expanded in an instruction's arguments (moby's `replaceEnvAllowed`;
/// in BuildKit the same set implements `SupportsSingleWordExpansion`, EXPOSE being expanded
/// word by word). FROM (with global ARGs only) and `RUN --mount` values are expanded too, by
/// their own rules ([`Stage::expand_base_name`], [`RunCommand::mounts`]).
pub fn expansion_allowed(instruction: &str) -> bool {
    matches!(
        to_lower(instruction).as_str(),
        "env" | "label" | "add" | "copy" | "workdir" | "expose" | "volume" | "user" | "stopsignal" | "arg"
    )
}

fn at_least_one(cmd: &str) -> String {
    format!("{cmd} requires at least one argument")
}

fn exactly_one(cmd: &str) -> String {
    format!("{cmd} requires exactly one argument")
}

fn no_destination(cmd: &str) -> String {
    format!("{cmd} requires at least two arguments, but only one was provided. Destination could not be determined")
}

struct Request<'a> {
    node: &'a Node,
    args: Vec<String>,
    flags: BFlags,
}

impl Request<'_> {
    fn meta(&self) -> Meta {
        Meta {
            name: self.node.value.clone(),
            code: trim_space(&self.node.original).to_string(),
            location: self.node.location(),
        }
    }

    fn json(&self) -> bool {
        self.node.json
    }

    fn parse_flags(&mut self) -> Result<(), String> {
        self.flags.parse()
    }
}

/// BuildKit's `handleJSONArgs`.
fn handle_json_args(args: &[String], json: bool) -> Vec<String> {
    if args.is_empty() {
        return Vec::new();
    }
    if json {
        return args.to_vec();
    }
    vec![args.join(" ")]
}

fn shell_dependent(req: &Request<'_>) -> CmdLine {
    CmdLine {
        cmd_line: handle_json_args(&req.args, req.json()),
        files: req
            .node
            .heredocs
            .iter()
            .map(|h| ShellInlineFile { name: h.name.clone(), data: h.content.clone(), chomp: h.chomp })
            .collect(),
        prepend_shell: !req.json(),
    }
}

/// BuildKit's `getComment`: the rest of a `# name …` comment line.
fn get_comment(comments: &[String], name: &str) -> String {
    if name.is_empty() {
        return String::new();
    }
    let prefix = format!("{name} ");
    comments.iter().find_map(|l| l.strip_prefix(&prefix)).unwrap_or("").to_string()
}

fn parse_kvps(args: &[String], cmd: &str) -> Result<Vec<KeyValuePair>, String> {
    if args.is_empty() {
        return Err(at_least_one(cmd));
    }
    if !args.len().is_multiple_of(3) {
        return Err(format!("Bad input to {cmd}, too many arguments"));
    }
    let mut out = Vec::new();
    for kv in args.chunks(3) {
        if kv[0].is_empty() {
            return Err(format!("{cmd} names can not be blank"));
        }
        out.push(KeyValuePair { key: kv[0].clone(), value: kv[1].clone(), no_delim: kv[2].is_empty() });
    }
    Ok(out)
}

fn parse_sources_and_dest(req: &Request<'_>, cmd: &str) -> Result<SourcesAndDest, String> {
    let (dest, srcs) = req.args.split_last().ok_or_else(|| no_destination(cmd))?;
    let heredoc = |s: &str| parse_heredoc(s).ok().flatten();
    if heredoc(dest).is_some() {
        return Err(format!("{cmd} cannot accept a heredoc as a destination"));
    }
    let mut out = SourcesAndDest { dest_path: dest.clone(), ..SourcesAndDest::default() };
    // Go shares a heredoc's body between the sources naming it; we copy it, within a bound.
    let mut copied = 0usize;
    for src in srcs {
        match heredoc(src) {
            Some(h) => {
                let mut data = req
                    .node
                    .heredocs
                    .iter()
                    .rev()
                    .find(|x| x.name == h.name)
                    .map(|x| x.content.clone())
                    .unwrap_or_default();
                if h.chomp {
                    data = chomp_heredoc_content(&data);
                }
                copied += data.len();
                if copied > MAX_DOCKERFILE_BYTES {
                    return Err(format!("{cmd} heredoc sources larger than {MAX_DOCKERFILE_BYTES} bytes"));
                }
                out.source_contents.push(SourceContent { path: h.name, data, expand: h.expand });
            }
            None => out.source_paths.push(src.clone()),
        }
    }
    Ok(out)
}

/// BuildKit's `parseOptInterval`: empty is 0, so is 0; otherwise at least 1ms.
fn parse_opt_interval(value: &str, name: &str) -> Result<i64, String> {
    if value.is_empty() {
        return Ok(0);
    }
    let d = parse_duration(value)?;
    if d == 0 {
        return Ok(0);
    }
    const MINIMUM: i64 = 1_000_000;
    if d < MINIMUM {
        return Err(format!("Interval \"{name}\" cannot be less than {}", format_duration(MINIMUM)));
    }
    Ok(d)
}

fn parse_healthcheck(mut req: Request<'_>) -> Result<HealthCheckCommand, String> {
    if req.args.is_empty() {
        return Err(at_least_one("HEALTHCHECK"));
    }
    let meta = req.meta();
    let typ = to_upper(&req.args[0]);
    let args: Vec<String> = req.args[1..].to_vec();
    if typ == "NONE" {
        if !args.is_empty() {
            return Err("HEALTHCHECK NONE takes no arguments".into());
        }
        return Ok(HealthCheckCommand { meta, health: HealthConfig { test: vec![typ], ..HealthConfig::default() } });
    }
    for f in ["interval", "timeout", "start-period", "start-interval", "retries"] {
        req.flags.add_string(f, "");
    }
    req.parse_flags()?;
    let test = match typ.as_str() {
        "CMD" => {
            let cmd = handle_json_args(&args, req.json());
            if cmd.is_empty() {
                return Err("Missing command after HEALTHCHECK CMD".into());
            }
            let t = if req.json() { typ.clone() } else { "CMD-SHELL".into() };
            std::iter::once(t).chain(cmd).collect()
        }
        _ => return Err(format!("Unknown type {} in HEALTHCHECK (try CMD)", crate::gostr::go_quote(&typ))),
    };
    let mut health = HealthConfig { test, ..HealthConfig::default() };
    health.interval = parse_opt_interval(&req.flags.string("interval"), "interval")?;
    health.timeout = parse_opt_interval(&req.flags.string("timeout"), "timeout")?;
    health.start_period = parse_opt_interval(&req.flags.string("start-period"), "start-period")?;
    health.start_interval = parse_opt_interval(&req.flags.string("start-interval"), "start-interval")?;
    let retries = req.flags.string("retries");
    if !retries.is_empty() {
        let r = parse_int(&retries, 32)?;
        if r < 0 {
            return Err(format!("--retries cannot be negative ({r})"));
        }
        health.retries = r;
    }
    Ok(HealthCheckCommand { meta, health })
}

fn parse_build_stage_name(args: &[String]) -> Result<String, String> {
    if args.len() == 3 && equal_fold(&args[1], "as") {
        let name = to_lower(&args[2]);
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
        if !valid {
            return Err(format!(
                "invalid name for build stage: {}, name can't start with a number or contain symbols",
                crate::gostr::go_quote(&args[2])
            ));
        }
        return Ok(name);
    }
    if args.len() != 1 {
        return Err("FROM requires either one or three arguments".into());
    }
    Ok(String::new())
}

/// BuildKit's `ParseInstruction`: one AST node to a stage or command. Errors carry the node's
/// location.
pub fn parse_instruction(node: &Node) -> Result<Instruction, Error> {
    parse_instruction_inner(node).map_err(|m| Error::instruction(m).at(node.start_line, node.end_line))
}

fn parse_instruction_inner(node: &Node) -> Result<Instruction, String> {
    let mut req = Request { node, args: node.args(), flags: BFlags::new(&node.flags) };
    let cmd = match to_lower(&node.value).as_str() {
        "env" => {
            req.parse_flags()?;
            Command::Env(EnvCommand { meta: req.meta(), env: parse_kvps(&req.args, "ENV")? })
        }
        "maintainer" => {
            if req.args.len() != 1 {
                return Err(exactly_one("MAINTAINER"));
            }
            req.parse_flags()?;
            Command::Maintainer(MaintainerCommand { meta: req.meta(), maintainer: req.args[0].clone() })
        }
        "label" => {
            req.parse_flags()?;
            Command::Label(LabelCommand { meta: req.meta(), labels: parse_kvps(&req.args, "LABEL")? })
        }
        "add" => {
            if req.args.len() < 2 {
                return Err(no_destination("ADD"));
            }
            req.flags.add_strings("exclude");
            req.flags.add_string("chown", "");
            req.flags.add_string("chmod", "");
            req.flags.add_bool("link", false);
            req.flags.add_bool("keep-git-dir", false);
            req.flags.add_string("checksum", "");
            req.flags.add_bool("unpack", false);
            req.parse_flags()?;
            let sources_and_dest = parse_sources_and_dest(&req, "ADD")?;
            let f = &req.flags;
            Command::Add(AddCommand {
                meta: req.meta(),
                sources_and_dest,
                chown: f.string("chown"),
                chmod: f.string("chmod"),
                link: f.bool("link"),
                keep_git_dir: f.bool("keep-git-dir"),
                checksum: f.string("checksum"),
                exclude_patterns: f.strings("exclude"),
                unpack: f.is_used("unpack").then(|| f.bool("unpack")),
            })
        }
        "copy" => {
            if req.args.len() < 2 {
                return Err(no_destination("COPY"));
            }
            req.flags.add_strings("exclude");
            req.flags.add_bool("parents", false);
            req.flags.add_string("chown", "");
            req.flags.add_string("from", "");
            req.flags.add_string("chmod", "");
            req.flags.add_bool("link", false);
            req.parse_flags()?;
            let sources_and_dest = parse_sources_and_dest(&req, "COPY")?;
            let f = &req.flags;
            Command::Copy(CopyCommand {
                meta: req.meta(),
                sources_and_dest,
                from: f.string("from"),
                chown: f.string("chown"),
                chmod: f.string("chmod"),
                link: f.bool("link"),
                parents: f.bool("parents"),
                exclude_patterns: f.strings("exclude"),
            })
        }
        "from" => {
            let name = parse_build_stage_name(&req.args)?;
            req.flags.add_string("platform", "");
            req.parse_flags()?;
            return Ok(Instruction::Stage(Stage {
                comment: get_comment(&node.prev_comment, &name),
                name,
                commands: Vec::new(),
                base_name: req.args[0].clone(),
                orig_cmd: node.value.clone(),
                source_code: trim_space(&node.original).to_string(),
                platform: req.flags.string("platform"),
                location: node.location(),
            }));
        }
        "onbuild" => {
            if req.args.is_empty() {
                return Err(at_least_one("ONBUILD"));
            }
            req.parse_flags()?;
            let trigger = to_upper(trim_space(&req.args[0]));
            match trigger.as_str() {
                "ONBUILD" => return Err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into()),
                "MAINTAINER" | "FROM" => return Err(format!("{trigger} isn't allowed as an ONBUILD trigger")),
                _ => {}
            }
            let mut expression = strip_onbuild(&node.original).to_string();
            for h in &node.heredocs {
                expression.push('\n');
                expression.push_str(&h.content);
                expression.push_str(&h.name);
            }
            Command::Onbuild(OnbuildCommand { meta: req.meta(), expression })
        }
        "workdir" => {
            if req.args.len() != 1 {
                return Err(exactly_one("WORKDIR"));
            }
            req.parse_flags()?;
            Command::Workdir(WorkdirCommand { meta: req.meta(), path: req.args[0].clone() })
        }
        "run" => {
            req.flags.add_strings("mount");
            req.flags.add_string("network", "default");
            req.flags.add_string("security", "sandbox");
            req.parse_flags()?;
            let mounts = req.flags.strings("mount");
            for m in &mounts {
                parse_mount(m, None).map_err(|e| e.message().to_string())?;
            }
            let network = req.flags.string("network");
            if !matches!(network.as_str(), "default" | "none" | "host") {
                return Err(format!("invalid network mode {}", crate::gostr::go_quote(&network)));
            }
            let security = req.flags.string("security");
            if !matches!(security.as_str(), "sandbox" | "insecure") {
                return Err(format!("security {} is not valid", crate::gostr::go_quote(&security)));
            }
            Command::Run(RunCommand {
                meta: req.meta(),
                cmd: shell_dependent(&req),
                mounts,
                network,
                security,
                flags_used: req.flags.used(),
            })
        }
        "cmd" => {
            req.parse_flags()?;
            Command::Cmd(CmdCommand { meta: req.meta(), cmd: shell_dependent(&req) })
        }
        "healthcheck" => Command::Healthcheck(parse_healthcheck(req)?),
        "entrypoint" => {
            req.parse_flags()?;
            Command::Entrypoint(EntrypointCommand { meta: req.meta(), cmd: shell_dependent(&req) })
        }
        "expose" => {
            if req.args.is_empty() {
                return Err(at_least_one("EXPOSE"));
            }
            req.parse_flags()?;
            let mut ports = req.args.clone();
            ports.sort();
            Command::Expose(ExposeCommand { meta: req.meta(), ports })
        }
        "user" => {
            if req.args.len() != 1 {
                return Err(exactly_one("USER"));
            }
            req.parse_flags()?;
            Command::User(UserCommand { meta: req.meta(), user: req.args[0].clone() })
        }
        "volume" => {
            if req.args.is_empty() {
                return Err(at_least_one("VOLUME"));
            }
            req.parse_flags()?;
            let mut volumes = Vec::new();
            for v in &req.args {
                let v = trim_space(v);
                if v.is_empty() {
                    return Err("VOLUME specified can not be an empty string".into());
                }
                volumes.push(v.to_string());
            }
            Command::Volume(VolumeCommand { meta: req.meta(), volumes })
        }
        "stopsignal" => {
            if req.args.len() != 1 {
                return Err(exactly_one("STOPSIGNAL"));
            }
            Command::StopSignal(StopSignalCommand { meta: req.meta(), signal: req.args[0].clone() })
        }
        "arg" => {
            if req.args.is_empty() {
                return Err(at_least_one("ARG"));
            }
            let mut args = Vec::new();
            for a in &req.args {
                let (key, value) = match a.split_once('=') {
                    Some((k, v)) => {
                        if k.is_empty() {
                            return Err("ARG names can not be blank".into());
                        }
                        (k.to_string(), Some(v.to_string()))
                    }
                    None => (a.clone(), None),
                };
                let comment = get_comment(&node.prev_comment, &key);
                args.push(KeyValuePairOptional { key, value, comment });
            }
            Command::Arg(ArgCommand { meta: req.meta(), args })
        }
        "shell" => {
            req.parse_flags()?;
            let shell = handle_json_args(&req.args, req.json());
            if shell.is_empty() {
                return Err(at_least_one("SHELL"));
            }
            if !req.json() {
                return Err("SHELL requires the arguments to be in JSON form".into());
            }
            Command::Shell(ShellCommand { meta: req.meta(), shell })
        }
        _ => {
            let names: Vec<String> = INSTRUCTIONS.iter().map(|s| to_upper(s)).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            return Err(suggest::wrap(format!("unknown instruction: {}", node.value), &node.value, &names, false));
        }
    };
    Ok(Instruction::Command(cmd))
}

/// `(?i)^\s*ONBUILD\s*` removed (Go's `\s` is `[\t\n\f\r ]`).
fn strip_onbuild(original: &str) -> &str {
    let is_s = |c: char| matches!(c, '\t' | '\n' | '\u{0c}' | '\r' | ' ');
    let s = original.trim_start_matches(is_s);
    match s.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("onbuild") => s[7..].trim_start_matches(is_s),
        _ => original,
    }
}

/// The instructions of a Dockerfile (BuildKit's `instructions.Parse`): the stages, and the
/// ARGs before the first FROM.
pub fn parse(ast: &Ast) -> Result<(Vec<Stage>, Vec<ArgCommand>), Error> {
    let mut stages: Vec<Stage> = Vec::new();
    let mut meta_args = Vec::new();
    for n in &ast.children {
        let ins = parse_instruction(n).map_err(|e| {
            let msg = format!("dockerfile parse error on line {}: {}", n.start_line, e.message());
            e.with_message(msg)
        })?;
        match ins {
            Instruction::Stage(s) => stages.push(s),
            Instruction::Command(Command::Arg(a)) if stages.is_empty() => meta_args.push(a),
            Instruction::Command(c) => match stages.last_mut() {
                Some(s) => s.commands.push(c),
                None => {
                    return Err(Error::instruction("no build stage in current context").at(n.start_line, n.end_line))
                }
            },
        }
    }
    Ok((stages, meta_args))
}

fn expand_all(values: &mut [String], expander: &mut Expander<'_>) -> Result<(), Error> {
    for v in values {
        *v = expander(v)?;
    }
    Ok(())
}

fn expand_kvps(kvps: &mut [KeyValuePair], expander: &mut Expander<'_>) -> Result<(), Error> {
    for kv in kvps {
        kv.key = expander(&kv.key)?;
        kv.value = expander(&kv.value)?;
    }
    Ok(())
}

fn expand_sources(s: &mut SourcesAndDest, expander: &mut Expander<'_>) -> Result<(), Error> {
    expand_all(&mut s.source_paths, expander)?;
    s.dest_path = expander(&s.dest_path)?;
    Ok(())
}

impl Command {
    /// Name, code and location.
    pub fn meta(&self) -> &Meta {
        match self {
            Command::Env(c) => &c.meta,
            Command::Maintainer(c) => &c.meta,
            Command::Label(c) => &c.meta,
            Command::Add(c) => &c.meta,
            Command::Copy(c) => &c.meta,
            Command::Onbuild(c) => &c.meta,
            Command::Workdir(c) => &c.meta,
            Command::Run(c) => &c.meta,
            Command::Cmd(c) => &c.meta,
            Command::Healthcheck(c) => &c.meta,
            Command::Entrypoint(c) => &c.meta,
            Command::Expose(c) => &c.meta,
            Command::User(c) => &c.meta,
            Command::Volume(c) => &c.meta,
            Command::StopSignal(c) => &c.meta,
            Command::Arg(c) => &c.meta,
            Command::Shell(c) => &c.meta,
        }
    }

    /// Whether [`Command::expand`] does anything (BuildKit's `SupportsSingleWordExpansion`).
    pub fn supports_expansion(&self) -> bool {
        matches!(
            self,
            Command::Env(_)
                | Command::Label(_)
                | Command::Add(_)
                | Command::Copy(_)
                | Command::Workdir(_)
                | Command::User(_)
                | Command::Volume(_)
                | Command::StopSignal(_)
                | Command::Arg(_)
        )
    }

    /// BuildKit's `Expand`: applies `expander` (one word in, one word out) to the fields
    /// BuildKit expands. EXPOSE is expanded with word splitting instead
    /// ([`ExposeCommand::expand_ports`]).
    pub fn expand(&mut self, expander: &mut Expander<'_>) -> Result<(), Error> {
        match self {
            Command::Env(c) => expand_kvps(&mut c.env, expander),
            Command::Label(c) => expand_kvps(&mut c.labels, expander),
            Command::Add(c) => {
                c.chown = expander(&c.chown)?;
                c.chmod = expander(&c.chmod)?;
                c.checksum = expander(&c.checksum)?;
                expand_sources(&mut c.sources_and_dest, expander)
            }
            Command::Copy(c) => {
                c.chown = expander(&c.chown)?;
                c.chmod = expander(&c.chmod)?;
                c.from = expander(&c.from)?;
                expand_sources(&mut c.sources_and_dest, expander)
            }
            Command::Workdir(c) => {
                c.path = expander(&c.path)?;
                Ok(())
            }
            Command::User(c) => {
                c.user = expander(&c.user)?;
                Ok(())
            }
            Command::Volume(c) => expand_all(&mut c.volumes, expander),
            Command::StopSignal(c) => {
                c.signal = expander(&c.signal)?;
                Ok(())
            }
            Command::Arg(c) => {
                for kv in &mut c.args {
                    kv.key = expander(&kv.key)?;
                    if let Some(v) = &kv.value {
                        kv.value = Some(expander(v)?);
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

impl ExposeCommand {
    /// BuildKit's `dispatchExpose`: each port expanded and split into words.
    pub fn expand_ports(&self, lex: &Lex, env: &dyn crate::shell::Env) -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        for p in &self.ports {
            out.extend(lex.process_words(p, env)?);
        }
        Ok(out)
    }
}

impl RunCommand {
    /// The `--mount`s, parsed with `expander` applied to each value (BuildKit's
    /// `setMountState` at dispatch), or unexpanded with `None`.
    pub fn mounts(&self, mut expander: Option<&mut Expander<'_>>) -> Result<Vec<Mount>, Error> {
        let mut out = Vec::new();
        for m in &self.mounts {
            out.push(parse_mount(m, expander.as_deref_mut())?);
        }
        Ok(out)
    }
}

/// Our bound on the global ARGs' total size once evaluated.
pub const MAX_META_ARGS_BYTES: usize = 64 << 20;

/// BuildKit's `buildMetaArgs`: the global ARGs (before the first FROM) evaluated in order on
/// top of `defaults` (`TARGETPLATFORM`, `BUILDPLATFORM` …), a `--build-arg` overriding a
/// declared default; ARGs without a value and without a build arg stay unset.
pub fn resolve_meta_args(
    lex: &Lex,
    defaults: &[(String, String)],
    meta_args: &[ArgCommand],
    build_args: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, Error> {
    let mut env: Vec<(String, String)> = defaults.to_vec();
    let size = |env: &[(String, String)]| env.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
    for cmd in meta_args {
        for kv in &cmd.args {
            let value = match build_args.get(&kv.key) {
                Some(v) => Some(v.clone()),
                None => match &kv.value {
                    Some(v) => Some(
                        lex.process_word(v, &env).map_err(|e| e.at(cmd.meta.location.start, cmd.meta.location.end))?,
                    ),
                    None => None,
                },
            };
            if let Some(v) = value {
                match env.iter_mut().find(|(k, _)| *k == kv.key) {
                    Some(slot) => slot.1 = v,
                    None => env.push((kv.key.clone(), v)),
                }
                if size(&env) > MAX_META_ARGS_BYTES {
                    let (s, e) = (cmd.meta.location.start, cmd.meta.location.end);
                    return Err(Error::limit(format!(
                        "global build arguments larger than {MAX_META_ARGS_BYTES} bytes"
                    ))
                    .at(s, e));
                }
            }
        }
    }
    Ok(env)
}

impl Stage {
    /// The base image name with the global ARGs expanded (BuildKit: `base name (…) should not be
    /// blank` when it expands to nothing).
    pub fn expand_base_name(&self, lex: &Lex, meta_env: &dyn crate::shell::Env) -> Result<String, Error> {
        let (s, e) = (self.location.start, self.location.end);
        let r = lex.process_word(&self.base_name, meta_env).map_err(|err| err.at(s, e))?;
        if r.is_empty() {
            return Err(Error::instruction(format!("base name ({}) should not be blank", self.base_name)).at(s, e));
        }
        Ok(r)
    }

    /// `--platform` with the global ARGs expanded, `None` when not given.
    pub fn expand_platform(&self, lex: &Lex, meta_env: &dyn crate::shell::Env) -> Result<Option<String>, Error> {
        if self.platform.is_empty() {
            return Ok(None);
        }
        let (s, e) = (self.location.start, self.location.end);
        let r = lex.process_word(&self.platform, meta_env).map_err(|err| {
            let msg = format!("failed to process arguments for platform : {}", err.message());
            err.with_message(msg).at(s, e)
        })?;
        if r.is_empty() {
            return Err(Error::instruction(format!("empty platform value from expression {}", self.platform)).at(s, e));
        }
        Ok(Some(r))
    }
}

/// Stage lookup by name, case-insensitively (BuildKit's `HasStage`).
pub fn find_stage<'a>(stages: &'a [Stage], name: &str) -> Option<(usize, &'a Stage)> {
    stages.iter().enumerate().find(|(_, s)| equal_fold(&s.name, name))
}
