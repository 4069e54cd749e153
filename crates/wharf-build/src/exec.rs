//! The executor: stages in order, one committed image per step, the step cache, and RUN
//! through [`RunStep`].

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};
use wharf_dockerfile::instructions::{self, CmdLine, Command, Stage};
use wharf_dockerfile::shell::Lex;
use wharf_image::store::{CommitOptions, ImageStore};

use crate::cache::Cache;
use crate::copy::{self, Layer};
use crate::{short_id, BuildError, Progress};

/// What a build is asked for (the query of `POST /build`).
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// `dockerfile`: its path inside the context (`Dockerfile` by default).
    pub dockerfile: String,
    /// `t`: names to tag the result with.
    pub tags: Vec<String>,
    /// `buildargs`: `--build-arg` values (`None`: take the value from the daemon's environment,
    /// which the classic builder leaves unset).
    pub build_args: BTreeMap<String, Option<String>>,
    /// `labels`: labels set on the final image.
    pub labels: BTreeMap<String, String>,
    /// `target`: the stage to stop at.
    pub target: String,
    /// `nocache`.
    pub nocache: bool,
    /// `q`: only the image ID is reported.
    pub quiet: bool,
    /// `rm`: remove a RUN's container after it succeeded.
    pub rm: bool,
    /// `forcerm`: remove a RUN's container even after it failed.
    pub forcerm: bool,
}

/// A RUN step for [`RunStep::run`].
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The image to run on (`None`: `FROM scratch`).
    pub image: Option<String>,
    /// The container's config (Docker's container-config shape): the step's config with `Cmd`
    /// the command, `Entrypoint` empty, build args added to `Env`.
    pub run_config: Value,
    /// The config the committed image gets.
    pub commit_config: Value,
    /// Remove the container after a success (`rm`) …
    pub remove_on_success: bool,
    /// … and after a failure (`forcerm`).
    pub remove_on_failure: bool,
}

/// How a RUN ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// Exit 0, committed as this image ID.
    Committed(String),
    /// A non-zero exit code (nothing committed).
    Failed(i64),
}

/// What the builder needs of the container side, implemented by `wharfd` over the container
/// lifecycle.
pub trait RunStep: Send + Sync {
    /// Creates a container for `req`, reports ` ---> Running in <id12>`, starts it attached,
    /// reports its output as `Stream` lines, waits, commits it on exit 0, and removes it as
    /// `remove_on_success`/`remove_on_failure` say (reporting ` ---> Removed intermediate
    /// container <id12>`).
    fn run(&self, req: RunRequest, report: &mut dyn FnMut(Progress)) -> Result<RunOutcome, BuildError>;

    /// Writes a `docker cp`-style tar of `path` in `image` to `out`; returns whether `path` is
    /// a directory.
    fn archive(&self, image: &str, path: &str, out: &mut dyn std::io::Write) -> Result<bool, BuildError>;
}

/// The classic builder.
pub struct Builder {
    images: Arc<ImageStore>,
    runner: Arc<dyn RunStep>,
    /// (parent image ID or empty, step key) → image ID.
    cache: Cache,
}

/// One stage's state while it is built.
struct State {
    /// The current image (`None`: scratch with no step yet).
    image: Option<String>,
    /// The current image's config object.
    config: Value,
    /// ARGs declared in this stage with their values.
    args: Vec<(String, Option<String>)>,
    /// Whether CMD was set in this stage (ENTRYPOINT resets an inherited CMD).
    cmd_set: bool,
}

impl Builder {
    /// A builder over `images`, running RUN steps with `runner`, its cache in memory.
    pub fn new(images: Arc<ImageStore>, runner: Arc<dyn RunStep>) -> Builder {
        Builder { images, runner, cache: Cache::Memory(Mutex::new(HashMap::new())) }
    }

    /// The same with its cache in `db` (which has [`crate::MIGRATIONS`] applied).
    pub fn with_db(images: Arc<ImageStore>, runner: Arc<dyn RunStep>, db: wharf_store::Db) -> Builder {
        Builder { images, runner, cache: Cache::Db(db) }
    }

    /// Builds the Dockerfile of the context in `ctx` (already extracted, `.dockerignore`
    /// applied); returns the image ID. Progress goes to `report` as Docker's messages.
    pub fn build(
        &self,
        ctx: &Path,
        opts: &BuildOptions,
        report: &mut dyn FnMut(Progress),
    ) -> Result<String, BuildError> {
        let ctx = std::fs::canonicalize(ctx).map_err(|e| BuildError::new(e.to_string()))?;
        let name = if opts.dockerfile.is_empty() { "Dockerfile" } else { opts.dockerfile.as_str() };
        let df_path = wharf_types::clean_path(&format!("/{name}"));
        let text = std::fs::read(ctx.join(df_path.trim_start_matches('/')))
            .map_err(|_| BuildError::new(format!("Cannot locate specified Dockerfile: {name}")))?;
        let df = wharf_dockerfile::parse_bytes(&text).map_err(|e| BuildError::new(e.to_string()))?;
        let (stages, meta_args) = instructions::parse(&df.ast).map_err(|e| BuildError::new(e.to_string()))?;
        if stages.is_empty() {
            return Err(BuildError::new("dockerfile contains no stages to build"));
        }
        let last = if opts.target.is_empty() {
            stages.len() - 1
        } else {
            instructions::find_stage(&stages, &opts.target)
                .map(|(i, _)| i)
                .ok_or_else(|| BuildError::new(format!("failed to reach build target {} in Dockerfile", opts.target)))?
        };
        let lex = Lex::new(df.escape_token);
        // Global ARGs: defaults overridden by build args.
        let mut global: Vec<(String, String)> = Vec::new();
        for a in &meta_args {
            for kv in &a.args {
                let v = opts.build_args.get(&kv.key).cloned().flatten().or_else(|| kv.value.clone());
                if let Some(v) = v {
                    let v = lex.process_word(&v, &global).map_err(|e| BuildError::new(e.to_string()))?;
                    global.retain(|(k, _)| k != &kv.key);
                    global.push((kv.key.clone(), v));
                }
            }
        }
        let total: usize = stages[..=last].iter().map(|s| s.commands.len() + 1).sum();
        let mut step = 0usize;
        let mut built: Vec<Option<String>> = vec![None; stages.len()];
        let mut id = String::new();
        for (i, stage) in stages[..=last].iter().enumerate() {
            step += 1;
            say(report, opts, format!("Step {step}/{total} : {}\n", stage.source_code));
            let mut st = self.from(stage, &stages, &built, &lex, &global, report, opts)?;
            for cmd in &stage.commands {
                step += 1;
                say(report, opts, format!("Step {step}/{total} : {}\n", cmd.meta().code));
                self.step(&mut st, cmd.clone(), &ctx, &stages, &built, &lex, opts, report)?;
            }
            if i == last && !opts.labels.is_empty() {
                let mut config = st.config.clone();
                let labels = obj(&mut config, "Labels");
                for (k, v) in &opts.labels {
                    labels.insert(k.clone(), json!(v));
                }
                let key = format!("LABEL {:?}", opts.labels);
                self.commit_config(&mut st, config, &key, opts, report)?;
            }
            let Some(image) = st.image.clone() else {
                return Err(BuildError::new("No image was generated. Is your Dockerfile empty?"));
            };
            built[i] = Some(image.clone());
            id = image;
        }
        report(Progress::Aux(json!({"ID": id}).to_string()));
        say(report, opts, format!("Successfully built {}\n", short_id(&id)));
        for t in &opts.tags {
            let (repo, tag) = split_tag(t);
            self.images.tag(&id, repo, tag).map_err(|e| BuildError::new(e.to_string()))?;
            say(report, opts, format!("Successfully tagged {}\n", with_tag(t)));
        }
        if opts.quiet {
            report(Progress::Stream(format!("{id}\n")));
        }
        Ok(id)
    }

    #[allow(clippy::too_many_arguments, clippy::ptr_arg)]
    fn from(
        &self,
        stage: &Stage,
        stages: &[Stage],
        built: &[Option<String>],
        lex: &Lex,
        global: &Vec<(String, String)>,
        report: &mut dyn FnMut(Progress),
        opts: &BuildOptions,
    ) -> Result<State, BuildError> {
        let base = stage.expand_base_name(lex, global).map_err(|e| BuildError::new(e.to_string()))?;
        let image = if base.eq_ignore_ascii_case("scratch") {
            None
        } else if let Some((i, _)) = instructions::find_stage(stages, &base) {
            Some(built[i].clone().ok_or_else(|| BuildError::new(format!("stage {base} is not built yet")))?)
        } else {
            Some(self.images.resolve(&base).map_err(|_| {
                BuildError::new(format!(
                    "pull access denied for {base}, repository does not exist or may require 'docker login'"
                ))
            })?)
        };
        let config = match &image {
            Some(id) => {
                say(report, opts, format!(" ---> {}\n", short_id(id)));
                let info = self.images.inspect(id).map_err(|e| BuildError::new(e.to_string()))?;
                if info.config.is_object() {
                    info.config
                } else {
                    json!({})
                }
            }
            None => json!({}),
        };
        Ok(State { image, config, args: Vec::new(), cmd_set: false })
    }

    #[allow(clippy::too_many_arguments)]
    fn step(
        &self,
        st: &mut State,
        mut cmd: Command,
        ctx: &Path,
        stages: &[Stage],
        built: &[Option<String>],
        lex: &Lex,
        opts: &BuildOptions,
        report: &mut dyn FnMut(Progress),
    ) -> Result<(), BuildError> {
        // The expansion environment: the config's Env over the stage's ARGs.
        let mut env: Vec<(String, String)> =
            st.args.iter().filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v))).collect();
        for (k, v) in wharf_dockerfile::shell::env_from_slice(&env_list(&st.config)) {
            env.retain(|(ek, _)| ek != &k);
            env.push((k, v));
        }
        if cmd.supports_expansion() {
            let mut expander = |w: &str| lex.process_word(w, &env);
            cmd.expand(&mut expander).map_err(|e| BuildError::new(e.to_string()))?;
        }
        let mut config = st.config.clone();
        let code = cmd.meta().code.clone();
        match cmd {
            Command::Env(c) => {
                let mut list = env_list(&config);
                for kv in &c.env {
                    list.retain(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) != kv.key);
                    list.push(format!("{}={}", kv.key, kv.value));
                }
                config["Env"] = json!(list);
            }
            Command::Label(c) => {
                let labels = obj(&mut config, "Labels");
                for kv in &c.labels {
                    labels.insert(kv.key.clone(), json!(kv.value));
                }
            }
            Command::Maintainer(_) => {}
            Command::Workdir(c) => {
                let cur = config.get("WorkingDir").and_then(Value::as_str).unwrap_or("/").to_string();
                let dir = if c.path.starts_with('/') { c.path.clone() } else { format!("{cur}/{}", c.path) };
                let dir = wharf_types::clean_path(&dir);
                config["WorkingDir"] = json!(dir);
                // The directory is made (with its missing parents) in a layer of its own.
                let mut layer = Layer::new(None);
                let mut at = String::new();
                for part in dir.split('/').filter(|p| !p.is_empty()) {
                    at = format!("{at}/{part}");
                    if !self.is_dir_in_image(st.image.as_deref(), &at) {
                        layer.add_dir(at.trim_start_matches('/'), 0o755, 0, 0, now_secs())?;
                    }
                }
                if layer.count > 0 {
                    let (tar, _) = layer.finish()?;
                    let created_by = format!("/bin/sh -c #(nop) {code}");
                    let key = format!("{created_by}\n{config}");
                    if self.use_cache(st, &key, opts, report)? {
                        return Ok(());
                    }
                    return self.commit_layer(st, &tar, config, &created_by, &key, opts, report);
                }
            }
            Command::Cmd(c) => {
                config["Cmd"] = json!(self.command_line(&config, &c.cmd));
                st.cmd_set = true;
            }
            Command::Entrypoint(c) => {
                config["Entrypoint"] = json!(self.command_line(&config, &c.cmd));
                if !st.cmd_set {
                    config["Cmd"] = Value::Null;
                }
            }
            Command::Expose(c) => {
                let ports = c.expand_ports(lex, &env).map_err(|e| BuildError::new(e.to_string()))?;
                let map = obj(&mut config, "ExposedPorts");
                for p in ports {
                    let p = if p.contains('/') { p } else { format!("{p}/tcp") };
                    map.insert(p, json!({}));
                }
            }
            Command::User(c) => config["User"] = json!(c.user),
            Command::Volume(c) => {
                let map = obj(&mut config, "Volumes");
                for v in &c.volumes {
                    map.insert(v.clone(), json!({}));
                }
            }
            Command::StopSignal(c) => config["StopSignal"] = json!(c.signal),
            Command::Shell(c) => config["Shell"] = json!(c.shell),
            Command::Onbuild(c) => {
                let mut list: Vec<Value> = config.get("OnBuild").and_then(Value::as_array).cloned().unwrap_or_default();
                list.push(json!(c.expression));
                config["OnBuild"] = json!(list);
            }
            Command::Healthcheck(c) => {
                let h = &c.health;
                config["Healthcheck"] = json!({
                    "Test": h.test, "Interval": h.interval, "Timeout": h.timeout,
                    "StartPeriod": h.start_period, "StartInterval": h.start_interval, "Retries": h.retries,
                });
            }
            Command::Arg(c) => {
                for kv in &c.args {
                    let v = opts.build_args.get(&kv.key).cloned().flatten().or_else(|| kv.value.clone());
                    st.args.retain(|(k, _)| k != &kv.key);
                    st.args.push((kv.key.clone(), v));
                }
            }
            Command::Run(c) => return self.run(st, &c.cmd, &code, opts, report),
            Command::Copy(c) => {
                let from = if c.from.is_empty() { None } else { Some(self.stage_image(&c.from, stages, built)?) };
                let chown = parse_chown(&c.chown)?;
                let sd = &c.sources_and_dest;
                return self.copy(
                    st,
                    ctx,
                    from.as_deref(),
                    &sd.source_paths,
                    &sd.dest_path,
                    chown,
                    false,
                    &code,
                    opts,
                    report,
                );
            }
            Command::Add(c) => {
                let chown = parse_chown(&c.chown)?;
                let sd = &c.sources_and_dest;
                return self.copy(st, ctx, None, &sd.source_paths, &sd.dest_path, chown, true, &code, opts, report);
            }
        }
        let key = format!("/bin/sh -c #(nop) {code}");
        self.commit_config(st, config, &key, opts, report)
    }

    /// CMD/ENTRYPOINT: the exec form as is, the shell form through the config's `Shell`.
    fn command_line(&self, config: &Value, cmd: &CmdLine) -> Vec<String> {
        if cmd.prepend_shell {
            let mut v = shell_of(config);
            v.push(cmd.cmd_line.join(" "));
            v
        } else {
            cmd.cmd_line.clone()
        }
    }

    fn stage_image(&self, from: &str, stages: &[Stage], built: &[Option<String>]) -> Result<String, BuildError> {
        let idx = match from.parse::<usize>() {
            Ok(i) if i < stages.len() => Some(i),
            _ => instructions::find_stage(stages, from).map(|(i, _)| i),
        };
        match idx {
            Some(i) => built[i].clone().ok_or_else(|| BuildError::new(format!("invalid from flag value {from}"))),
            None => self
                .images
                .resolve(from)
                .map_err(|_| BuildError::new(format!("invalid from flag value {from}: pull access denied for {from}"))),
        }
    }

    /// Whether `path` is a directory in `image` (in any of its layers, topmost first).
    fn is_dir_in_image(&self, image: Option<&str>, path: &str) -> bool {
        let rel = wharf_types::clean_path(path).trim_start_matches('/').to_string();
        if rel.is_empty() {
            return true;
        }
        let Some(image) = image else { return false };
        let dirs = self.images.layer_dirs(image).unwrap_or_default();
        dirs.iter().any(|d| wharf_fs::Root::new(d).is_ok_and(|r| r.read_dir(&rel).is_ok()))
    }

    /// A cached image for (parent, key), if it still exists.
    fn cached(&self, st: &State, key: &str, opts: &BuildOptions) -> Option<String> {
        if opts.nocache {
            return None;
        }
        let parent = st.image.clone().unwrap_or_default();
        let id = self.cache.get(&parent, key)?;
        self.images.inspect(&id).ok().map(|_| id)
    }

    fn remember(&self, parent: &Option<String>, key: &str, id: &str) {
        self.cache.put(parent.as_deref().unwrap_or_default(), key, id);
    }

    /// Moves the stage onto `id` (reporting ` ---> <id12>`).
    fn advance(
        &self,
        st: &mut State,
        id: String,
        opts: &BuildOptions,
        report: &mut dyn FnMut(Progress),
    ) -> Result<(), BuildError> {
        let info = self.images.inspect(&id).map_err(|e| BuildError::new(e.to_string()))?;
        st.config = if info.config.is_object() { info.config } else { json!({}) };
        say(report, opts, format!(" ---> {}\n", short_id(&id)));
        st.image = Some(id);
        Ok(())
    }

    fn use_cache(
        &self,
        st: &mut State,
        key: &str,
        opts: &BuildOptions,
        report: &mut dyn FnMut(Progress),
    ) -> Result<bool, BuildError> {
        if let Some(id) = self.cached(st, key, opts) {
            say(report, opts, " ---> Using cache\n".to_string());
            self.advance(st, id, opts, report)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// A config-only step: an image with an empty layer.
    fn commit_config(
        &self,
        st: &mut State,
        config: Value,
        created_by: &str,
        opts: &BuildOptions,
        report: &mut dyn FnMut(Progress),
    ) -> Result<(), BuildError> {
        let key = format!("{created_by}\n{config}");
        if self.use_cache(st, &key, opts, report)? {
            return Ok(());
        }
        let empty = vec![0u8; 1024];
        self.commit_layer(st, &empty, config, created_by, &key, opts, report)
    }

    #[allow(clippy::too_many_arguments)]
    fn commit_layer(
        &self,
        st: &mut State,
        layer: &[u8],
        config: Value,
        created_by: &str,
        key: &str,
        opts: &BuildOptions,
        report: &mut dyn FnMut(Progress),
    ) -> Result<(), BuildError> {
        let copts = CommitOptions {
            parent: st.image.clone(),
            config,
            created_by: created_by.to_string(),
            ..Default::default()
        };
        let id = self.images.commit(layer, &copts).map_err(|e| BuildError::new(e.to_string()))?;
        self.remember(&st.image, key, &id);
        self.advance(st, id, opts, report)
    }

    fn run(
        &self,
        st: &mut State,
        cmd: &CmdLine,
        code: &str,
        opts: &BuildOptions,
        report: &mut dyn FnMut(Progress),
    ) -> Result<(), BuildError> {
        let argv = self.command_line(&st.config, cmd);
        // Build args declared in the stage are in RUN's environment (not in the image).
        let args: Vec<String> = st
            .args
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
            .filter(|kv| {
                let k = kv.split_once('=').map_or("", |(k, _)| k);
                !env_list(&st.config).iter().any(|e| e.split_once('=').map_or(e.as_str(), |(ek, _)| ek) == k)
            })
            .collect();
        let key = if args.is_empty() {
            argv.join(" ")
        } else {
            format!("|{} {} {}", args.len(), args.join(" "), argv.join(" "))
        };
        let key = format!("RUN {key}\n{}", st.config);
        if self.use_cache(st, &key, opts, report)? {
            return Ok(());
        }
        let mut run_config = st.config.clone();
        run_config["Cmd"] = json!(argv);
        if st.config.get("Entrypoint").and_then(Value::as_array).is_some_and(|e| !e.is_empty()) {
            run_config["Entrypoint"] = json!([]);
        }
        let mut env = args.clone();
        env.extend(env_list(&st.config));
        run_config["Env"] = json!(env);
        let req = RunRequest {
            image: st.image.clone(),
            run_config,
            commit_config: st.config.clone(),
            remove_on_success: opts.rm || opts.forcerm,
            remove_on_failure: opts.forcerm,
        };
        match self.runner.run(req, report)? {
            RunOutcome::Committed(id) => {
                // The container's commit fills what the step's config leaves empty (a reset
                // `Cmd`, an empty `Env`) from the container: put the step's config back.
                let got = self.images.inspect(&id).map_err(|e| BuildError::new(e.to_string()))?.config;
                let differs = |k: &str| got.get(k).unwrap_or(&Value::Null) != st.config.get(k).unwrap_or(&Value::Null);
                let id = if differs("Cmd") || differs("Env") {
                    let copts = CommitOptions {
                        parent: Some(id),
                        config: st.config.clone(),
                        created_by: format!("/bin/sh -c #(nop) {code}"),
                        ..Default::default()
                    };
                    self.images.commit(&[0u8; 1024][..], &copts).map_err(|e| BuildError::new(e.to_string()))?
                } else {
                    id
                };
                self.remember(&st.image, &key, &id);
                self.advance(st, id, opts, report)
            }
            RunOutcome::Failed(code_) => {
                let _ = code;
                Err(BuildError::new(format!("The command '{}' returned a non-zero code: {code_}", argv.join(" "))))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn copy(
        &self,
        st: &mut State,
        ctx: &Path,
        from: Option<&str>,
        sources: &[String],
        dest: &str,
        chown: Option<(u64, u64)>,
        add: bool,
        code: &str,
        opts: &BuildOptions,
        report: &mut dyn FnMut(Progress),
    ) -> Result<(), BuildError> {
        let what = if add { "ADD" } else { "COPY" };
        let failed = |e: BuildError| BuildError::new(format!("{what} failed: {}", e.0));
        let workdir = st.config.get("WorkingDir").and_then(Value::as_str).unwrap_or("/").to_string();
        let abs = if dest.starts_with('/') { dest.to_string() } else { format!("{workdir}/{dest}") };
        let dest_is_dir = dest.ends_with('/')
            || dest.ends_with("/.")
            || sources.len() > 1
            || self.is_dir_in_image(st.image.as_deref(), &abs);
        let dest = wharf_types::clean_path(&abs);
        let mut layer = Layer::new(chown);
        match from {
            Some(image) => {
                for src in sources {
                    let mut buf = Vec::new();
                    let is_dir = self.runner.archive(image, src, &mut buf).map_err(failed)?;
                    layer.copy_from_tar(buf.as_slice(), is_dir, &dest, dest_is_dir).map_err(failed)?;
                }
            }
            None => {
                let root = wharf_fs::Root::new(ctx).map_err(|e| failed(BuildError::new(e.to_string())))?;
                for src in sources {
                    for s in expand_source(ctx, src).map_err(failed)? {
                        if add && !s.is_empty() {
                            let data = root.open(&s).ok().and_then(|mut f| {
                                let mut v = Vec::new();
                                std::io::Read::read_to_end(&mut f, &mut v).ok().map(|_| v)
                            });
                            if let Some(data) = data {
                                if copy::is_archive(&data) {
                                    layer.add_archive(&data, &dest).map_err(failed)?;
                                    continue;
                                }
                            }
                        }
                        layer.copy_from_context(ctx, &root, &s, &dest, dest_is_dir).map_err(failed)?;
                    }
                }
            }
        }
        let (tar, sum) = layer.finish()?;
        let created_by = format!("/bin/sh -c #(nop) {code}");
        let key = format!("{created_by}\n{sum}\n{}", st.config);
        if self.use_cache(st, &key, opts, report)? {
            return Ok(());
        }
        let config = st.config.clone();
        self.commit_layer(st, &tar, config, &created_by, &key, opts, report)
    }
}

/// The context paths a COPY source names: `..` refused, globs matched against the context.
fn expand_source(ctx: &Path, src: &str) -> Result<Vec<String>, BuildError> {
    let cleaned = wharf_types::clean_path(&format!("/{src}"));
    if is_outside(src) {
        return Err(BuildError::new(format!("forbidden path outside the build context: {src} ()")));
    }
    let rel = cleaned.trim_start_matches('/').to_string();
    if !rel.contains(['*', '?', '[']) {
        return Ok(vec![rel]);
    }
    let depth = rel.split('/').count();
    let mut out = Vec::new();
    let mut stack = vec![String::new()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(if dir.is_empty() { ctx.to_path_buf() } else { ctx.join(&dir) }) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = if dir.is_empty() { name } else { format!("{dir}/{name}") };
            let d = path.split('/').count();
            if d == depth {
                if wharf_dockerfile::ignore::matches(&path, std::slice::from_ref(&rel)).unwrap_or(false) {
                    out.push(path);
                }
            } else if d < depth && e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            }
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(BuildError::new(format!("no source files were specified: {src}")));
    }
    Ok(out)
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Whether a relative source climbs above the context (`../x`, `a/../../x`).
fn is_outside(src: &str) -> bool {
    let mut depth: i64 = 0;
    for part in src.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

fn parse_chown(s: &str) -> Result<Option<(u64, u64)>, BuildError> {
    if s.is_empty() {
        return Ok(None);
    }
    let (u, g) = s.split_once(':').unwrap_or((s, s));
    match (u.parse::<u64>(), g.parse::<u64>()) {
        (Ok(u), Ok(g)) => Ok(Some((u, g))),
        _ => Err(BuildError::new(format!(
            "unable to convert uid/gid chown string to host mapping: {s}: only numeric ids are supported"
        ))),
    }
}

fn env_list(config: &Value) -> Vec<String> {
    config
        .get("Env")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn shell_of(config: &Value) -> Vec<String> {
    config
        .get("Shell")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_else(|| vec!["/bin/sh".to_string(), "-c".to_string()])
}

/// The object `key` of `config`, created when missing or null.
fn obj<'a>(config: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !config.get(key).is_some_and(Value::is_object) {
        config[key] = json!({});
    }
    config[key].as_object_mut().expect("just made an object")
}

fn say(report: &mut dyn FnMut(Progress), opts: &BuildOptions, line: String) {
    if !opts.quiet {
        report(Progress::Stream(line));
    }
}

/// `name:tag` → (`name`, `tag`), the tag after the last `:` that follows the last `/`.
fn split_tag(t: &str) -> (&str, &str) {
    match t.rfind(':') {
        Some(i) if !t[i..].contains('/') => (&t[..i], &t[i + 1..]),
        _ => (t, "latest"),
    }
}

fn with_tag(t: &str) -> String {
    let (r, tag) = split_tag(t);
    format!("{r}:{tag}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_paths() {
        assert!(is_outside("../x"));
        assert!(is_outside("a/../../x"));
        assert!(!is_outside("a/../x"));
        assert!(!is_outside("./x"));
    }

    #[test]
    fn tags() {
        assert_eq!(split_tag("x"), ("x", "latest"));
        assert_eq!(split_tag("x:1"), ("x", "1"));
        assert_eq!(split_tag("localhost:5000/x"), ("localhost:5000/x", "latest"));
    }

    #[test]
    fn chown() {
        assert_eq!(parse_chown("1:2").unwrap(), Some((1, 2)));
        assert_eq!(parse_chown("7").unwrap(), Some((7, 7)));
        assert!(parse_chown("bob").is_err());
    }

    #[test]
    fn glob_and_context_layer() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.txt"), "a").unwrap();
        std::fs::write(d.path().join("b.txt"), "b").unwrap();
        std::fs::write(d.path().join("c.md"), "c").unwrap();
        let ctx = std::fs::canonicalize(d.path()).unwrap();
        assert_eq!(expand_source(&ctx, "*.txt").unwrap(), vec!["a.txt", "b.txt"]);
        std::os::unix::fs::symlink("/etc/passwd", ctx.join("link")).unwrap();
        let root = wharf_fs::Root::new(&ctx).unwrap();
        let mut l = Layer::new(None);
        assert!(l.copy_from_context(&ctx, &root, "link", "/x", false).is_err());
        l.copy_from_context(&ctx, &root, "a.txt", "/app", true).unwrap();
        let (tar, sum) = l.finish().unwrap();
        assert_eq!(sum.len(), 64);
        let mut a = tar::Archive::new(tar.as_slice());
        let names: Vec<String> =
            a.entries().unwrap().map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, vec!["app/a.txt"]);
    }
}
