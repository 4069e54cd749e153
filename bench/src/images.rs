//! The image scenarios, `image-load` and `image-save`: each engine's own command-line client
//! loads (`load -q -i`) or saves (`save -o`) the generated ~100 MB, 3-layer docker-archive of
//! [`crate::fixture`], as `shared/bench/incumbents.sh` measured the incumbents (`docker load`
//! of an image removed just before, `docker save -o file`). The clients are the Docker CLI
//! (`DOCKER_CLI`) with `DOCKER_HOST` at the daemon's socket for wharf and docker, and `podman`
//! in local mode on the service's private storage (see [`crate::engine::Engine::cli`]).
//!
//! Unlike the daemon scenarios, a round leaves the daemon running for the next round (the
//! harness stops it after the last one): what is timed is the client command alone, on a warm
//! daemon. Before the first timed round each engine does `IMAGE_WARMUP` untimed operations, and
//! before every timed one the harness calls `sync(2)` (untimed), so that no engine's timing
//! pays for writing back the previous engine's dirty pages.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::engine::Engine;
use crate::fixture::{self, Fixture};
use crate::knobs::Knobs;
use crate::procs;
use crate::scenario::{Better, Samples, Scenario};

/// The archive, generated on first use (once per run) into the work directory.
fn fixture() -> Result<&'static Fixture, String> {
    static FIXTURE: OnceLock<Result<Fixture, String>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let work = procs::work_dir().ok_or("no work directory")?;
            eprint!("(generating the image fixture… ");
            let fx = fixture::generate(&work.join("fixture"))?;
            eprint!("{}, {:.2} s) ", fx.describe(), fx.took.as_secs_f64());
            Ok(fx)
        })
        .as_ref()
        .map_err(|e| format!("image fixture: {e}"))
}

/// What the `about` lines say about the archive.
fn archive_about() -> String {
    format!(
        "a generated docker-archive of {} ({} layers, {} MB of incompressible content in ~{} files)",
        fixture::TAG,
        fixture::LAYERS,
        fixture::DATA_BYTES / 1_000_000,
        fixture::SMALL_FILES
    )
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(crate) fn sync() {
    unsafe { libc::sync() };
}

/// Starts the engine's daemon unless it runs (untimed, after the usual rest).
pub(crate) fn ensure_up(eng: &mut dyn Engine, k: &Knobs) -> Result<(), String> {
    if !eng.running() {
        std::thread::sleep(Duration::from_millis(k.rest_ms));
        eng.start(false)?;
    }
    Ok(())
}

/// The engine's client, one command at a time, output in `<work>/<engine>-cli.log`.
pub(crate) struct Cli<'a> {
    eng: &'a dyn Engine,
    k: &'a Knobs,
    log: PathBuf,
}

impl<'a> Cli<'a> {
    pub(crate) fn new(eng: &'a dyn Engine, k: &'a Knobs) -> Cli<'a> {
        let work = procs::work_dir().unwrap_or_else(std::env::temp_dir);
        Cli { eng, k, log: work.join(format!("{}-cli.log", eng.name())) }
    }

    /// Runs the client with `args`: (wall time, exit status success, output).
    pub(crate) fn run(&self, args: &[&str]) -> Result<(Duration, bool, String), String> {
        let mut cmd: Command = self.eng.cli()?;
        cmd.args(args);
        let prog = cmd.get_program().to_string_lossy().into_owned();
        let line = format!("{prog} {}", args.join(" "));
        let (took, st) = procs::run_timed(&mut cmd, &self.log, Duration::from_secs_f64(self.k.cli_timeout_s))
            .map_err(|e| format!("{line}: {e}"))?;
        let output = std::fs::read_to_string(&self.log).unwrap_or_default().trim().to_string();
        match st {
            None => Err(format!(
                "{line}: no exit within {} s (CLI_TIMEOUT), killed; output:\n{output}",
                self.k.cli_timeout_s
            )),
            Some(st) => Ok((took, st.success(), output)),
        }
    }

    /// Runs the client with `args`; an error unless it exits 0.
    pub(crate) fn must(&self, args: &[&str]) -> Result<Duration, String> {
        let (took, ok, output) = self.run(args)?;
        if !ok {
            return Err(format!("{} {} failed:\n{}", self.eng.name(), args.join(" "), tail(&output, 15)));
        }
        Ok(took)
    }

    /// The image ID of [`fixture::TAG`] (`sha256:` prefixed), `None` when there is no such image.
    fn image_id(&self) -> Result<Option<String>, String> {
        self.image_id_of(fixture::TAG)
    }

    /// The image ID of `tag` (`sha256:` prefixed), `None` when there is no such image.
    pub(crate) fn image_id_of(&self, tag: &str) -> Result<Option<String>, String> {
        let (_, ok, output) = self.run(&["image", "inspect", "--format", "{{.Id}}", tag])?;
        if !ok {
            let low = output.to_lowercase();
            if low.contains("no such") || low.contains("not found") || low.contains("not known") {
                return Ok(None);
            }
            return Err(format!("{} image inspect {tag} failed:\n{}", self.eng.name(), tail(&output, 15)));
        }
        let id = output.lines().last().unwrap_or_default().trim();
        Ok(Some(if id.starts_with("sha256:") { id.to_string() } else { format!("sha256:{id}") }))
    }

    /// `rmi -f` of [`fixture::TAG`], whether present or not; then checks that it is gone.
    /// Returns the time of the `rmi` when it removed something.
    fn remove(&self) -> Result<Option<Duration>, String> {
        let (took, ok, output) = self.run(&["rmi", "-f", fixture::TAG])?;
        if let Some(id) = self.image_id()? {
            return Err(format!(
                "{} rmi -f {}: image {id} still there; rmi said:\n{}",
                self.eng.name(),
                fixture::TAG,
                tail(&output, 15)
            ));
        }
        Ok(ok.then_some(took))
    }

    fn load(&self, fx: &Fixture) -> Result<Duration, String> {
        let archive = fx.path.to_string_lossy();
        self.must(&["load", "-q", "-i", &archive])
    }

    fn save(&self, to: &Path) -> Result<Duration, String> {
        let to = to.to_string_lossy();
        match self.eng.name() {
            "podman" => self.must(&["save", "-q", "-o", &to, fixture::TAG]), // docker-archive, its default
            _ => self.must(&["save", "-o", &to, fixture::TAG]),
        }
    }
}

pub(crate) fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

// ------------------------------------------------------------------------------------------

/// `image-load`: `<cli> load -q -i <archive>` with the image removed before each.
pub struct ImageLoad;

impl Scenario for ImageLoad {
    fn name(&self) -> &'static str {
        "image-load"
    }
    fn about(&self, k: &Knobs) -> String {
        format!(
            "'load -q -i' of {}, image removed ('rmi -f', untimed) before each; wharf and docker through the \
             Docker CLI ({}), podman's own CLI (local mode); warm daemon, {} untimed warm-up load(s), sync before \
             each; {} reps",
            archive_about(),
            k.docker_cli,
            k.image_warmup,
            k.reps
        )
    }
    fn rounds(&self, k: &Knobs) -> usize {
        k.reps
    }
    fn round(&self, eng: &mut dyn Engine, k: &Knobs, round: usize, out: &mut Samples) -> Result<(), String> {
        let fx = fixture()?;
        ensure_up(eng, k)?;
        let cli = Cli::new(eng, k);
        if round == 0 {
            for _ in 0..k.image_warmup {
                cli.remove()?;
                cli.load(fx)?;
            }
        }
        if let Some(d) = cli.remove()? {
            out.push("rmi_ms", "rmi -f (untimed prep, informative)", "ms", Better::Lower, false, ms(d));
        }
        sync();
        let took = cli.load(fx)?;
        out.push("load_ms", "load -i (100 MB, 3 layers)", "ms", Better::Lower, true, ms(took));
        out.note("load_ms", fx.describe());
        match cli.image_id()? {
            None => return Err(format!("load exited 0 but {} is not there", fixture::TAG)),
            Some(id) if id != fx.image_id => {
                out.note("load_ms", format!("image ID {id} ≠ config digest {}", fx.image_id))
            }
            Some(_) => {}
        }
        Ok(())
    }
}

/// `image-save`: `<cli> save -o <file> bench/big:latest` of the loaded fixture.
pub struct ImageSave;

impl Scenario for ImageSave {
    fn name(&self) -> &'static str {
        "image-save"
    }
    fn about(&self, k: &Knobs) -> String {
        format!(
            "'save -o <file>' of {} (loaded once before the rounds), file deleted after each; wharf and docker through \
             the Docker CLI ({}), podman's own CLI (local mode, docker-archive); warm daemon, {} untimed warm-up \
             save(s), sync before each; {} reps",
            archive_about(),
            k.docker_cli,
            k.image_warmup,
            k.reps
        )
    }
    fn rounds(&self, k: &Knobs) -> usize {
        k.reps
    }
    fn round(&self, eng: &mut dyn Engine, k: &Knobs, round: usize, out: &mut Samples) -> Result<(), String> {
        let fx = fixture()?;
        ensure_up(eng, k)?;
        let cli = Cli::new(eng, k);
        if cli.image_id()?.is_none() {
            cli.load(fx)?;
        }
        let work = procs::work_dir().ok_or("no work directory")?;
        let target = work.join(format!("{}-saved.tar", eng.name()));
        if round == 0 {
            for _ in 0..k.image_warmup {
                let _ = std::fs::remove_file(&target);
                cli.save(&target)?;
            }
        }
        let _ = std::fs::remove_file(&target);
        sync();
        let took = cli.save(&target);
        let checked = took.and_then(|took| {
            let size =
                std::fs::metadata(&target).map_err(|e| format!("save exited 0 but {}: {e}", target.display()))?;
            let (tags, layers) = fixture::inspect_archive(&target)?;
            if layers != fixture::LAYERS {
                return Err(format!("saved archive has {layers} layers, not {}", fixture::LAYERS));
            }
            Ok((took, size.len(), tags))
        });
        let _ = std::fs::remove_file(&target);
        let (took, size, tags) = checked?;
        out.push("save_ms", "save -o (100 MB, 3 layers)", "ms", Better::Lower, true, ms(took));
        out.push("saved_mb", "saved archive size", "MB", Better::Lower, false, size as f64 / 1e6);
        out.note("save_ms", format!("saved {size} bytes, {} layers, RepoTags {tags:?}", fixture::LAYERS));
        Ok(())
    }
}
