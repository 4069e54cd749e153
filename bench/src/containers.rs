//! The container scenarios, `run-none` and `run-50`, driven like the image scenarios through
//! each engine's own command-line client (the Docker CLI for wharf and docker, `podman` in local
//! mode), as `shared/bench/incumbents.sh` measured the incumbents:
//!
//! * `run-none`: `run --rm --network none busybox true`, timed from the client's spawn to its
//!   exit (the container created, started, waited for and removed).
//! * `run-50`: `NCTR` (50) sequential `run -d --network none busybox sleep 1000`, timed as a
//!   whole; then the memory the engine spends per running container (its shims' RSS and PSS,
//!   and its daemons' growth); then one `rm -f` of them all, timed.
//!
//! Both need a `busybox` image in every engine: a rootfs tar built from the host's static
//! `/bin/busybox` (Debian's busybox-static: the binary, a symlink per applet in `/bin`, and an
//! `/etc/passwd` with root), `import`ed once per engine before the first round, as the anchors
//! did. A round leaves its daemon running for the next one (the harness stops it after the last).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::engine::Engine;
use crate::images::{ensure_up, ms, sync, tail, Cli};
use crate::knobs::Knobs;
use crate::procs;
use crate::scenario::{Better, Samples, Scenario};

/// The host's static busybox, the image's only binary.
pub(crate) const BUSYBOX: &str = "/bin/busybox";

/// What the container commands name; imported under [`tag`].
pub(crate) const IMAGE: &str = "busybox";

/// The tag the image is imported as: podman names a bare `busybox:latest` `localhost/…`, so it
/// gets the name a pulled busybox would have (as the anchors imported it).
fn tag(eng: &dyn Engine) -> &'static str {
    match eng.name() {
        "podman" => "docker.io/library/busybox:latest",
        _ => "busybox:latest",
    }
}

/// The engine's per-container process: wharf's shim, containerd's runc shim (`comm` is cut to 15
/// bytes: `containerd-shim-runc-v2` reads `containerd-shim`), podman's conmon.
fn shim_comm(eng: &dyn Engine) -> &'static str {
    match eng.name() {
        "wharf" => "wharf-shim",
        "docker" => "containerd-shim",
        _ => "conmon",
    }
}

fn shim_label(eng: &dyn Engine) -> &'static str {
    match eng.name() {
        "wharf" => "wharf-shim",
        "docker" => "containerd-shim-runc-v2",
        _ => "conmon",
    }
}

/// The busybox rootfs tar, built on first use (once per run) into the work directory.
fn rootfs() -> Result<&'static PathBuf, String> {
    static ROOTFS: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    ROOTFS
        .get_or_init(|| {
            let work = procs::work_dir().ok_or("no work directory")?;
            build_rootfs(&work.join("busybox-rootfs.tar"))
        })
        .as_ref()
        .map_err(|e| format!("busybox rootfs: {e}"))
}

/// Writes a rootfs tar of `/bin/busybox` with its applets (symlinks in `/bin`) to `to`.
fn build_rootfs(to: &Path) -> Result<PathBuf, String> {
    let bin = std::fs::read(BUSYBOX)
        .map_err(|e| format!("{BUSYBOX}: {e} (apt-get install busybox-static; the image needs a static busybox)"))?;
    let list =
        std::process::Command::new(BUSYBOX).arg("--list").output().map_err(|e| format!("{BUSYBOX} --list: {e}"))?;
    let applets: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty() && !a.contains('/') && *a != "busybox")
        .map(str::to_string)
        .collect();
    if !applets.iter().any(|a| a == "true") || !applets.iter().any(|a| a == "sleep") {
        return Err(format!("{BUSYBOX} --list has no 'true' or 'sleep' applet"));
    }
    let mut t = tar::Builder::new(Vec::new());
    let header = |path: &str, kind: tar::EntryType, mode: u32, size: u64| -> Result<tar::Header, String> {
        let mut h = tar::Header::new_ustar();
        h.set_path(path).map_err(|e| format!("tar path {path}: {e}"))?;
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(1_767_225_600);
        h.set_uid(0);
        h.set_gid(0);
        Ok(h)
    };
    let io = |e: std::io::Error| format!("tar: {e}");
    for (dir, mode) in
        [("bin/", 0o755), ("dev/", 0o755), ("etc/", 0o755), ("proc/", 0o555), ("root/", 0o700), ("sys/", 0o555)]
            .into_iter()
            .chain([("tmp/", 0o1777)])
    {
        let mut h = header(dir, tar::EntryType::Directory, mode, 0)?;
        h.set_cksum();
        t.append(&h, std::io::empty()).map_err(io)?;
    }
    let mut h = header("bin/busybox", tar::EntryType::Regular, 0o755, bin.len() as u64)?;
    h.set_cksum();
    t.append(&h, &bin[..]).map_err(io)?;
    for a in &applets {
        let mut h = header(&format!("bin/{a}"), tar::EntryType::Symlink, 0o777, 0)?;
        h.set_link_name("busybox").map_err(|e| format!("tar link {a}: {e}"))?;
        h.set_cksum();
        t.append(&h, std::io::empty()).map_err(io)?;
    }
    for (path, body) in [("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"), ("etc/group", "root:x:0:\n")] {
        let mut h = header(path, tar::EntryType::Regular, 0o644, body.len() as u64)?;
        h.set_cksum();
        t.append(&h, body.as_bytes()).map_err(io)?;
    }
    let data = t.into_inner().map_err(io)?;
    std::fs::write(to, data).map_err(|e| format!("write {}: {e}", to.display()))?;
    Ok(to.to_path_buf())
}

/// Starts the daemon if needed; at round 0 imports busybox (if absent) and does `CTR_WARMUP`
/// untimed `run --rm --network none busybox true`.
fn prepare(eng: &mut dyn Engine, k: &Knobs, round: usize) -> Result<(), String> {
    prepare_image(eng, k, round)?;
    if round > 0 {
        return Ok(());
    }
    let cli = Cli::new(eng, k);
    for _ in 0..k.ctr_warmup {
        cli.must(&["run", "--rm", "--network", "none", IMAGE, "true"])?;
    }
    Ok(())
}

/// Starts the daemon if needed; at round 0 imports busybox (if absent).
pub(crate) fn prepare_image(eng: &mut dyn Engine, k: &Knobs, round: usize) -> Result<(), String> {
    ensure_up(eng, k)?;
    if round > 0 {
        return Ok(());
    }
    let tar = rootfs()?.to_string_lossy().into_owned();
    let cli = Cli::new(eng, k);
    if cli.image_id_of(tag(eng))?.is_none() {
        let mut args = vec!["import"];
        if eng.name() == "podman" {
            args.push("-q");
        }
        args.extend(["-c", "CMD [\"sh\"]", &tar, tag(eng)]);
        cli.must(&args)?;
        if cli.image_id_of(tag(eng))?.is_none() {
            return Err(format!("import exited 0 but {} is not there", tag(eng)));
        }
    }
    Ok(())
}

/// IDs of the engine's containers (`ps -q`, with `-a`: stopped ones too).
pub(crate) fn ps(cli: &Cli, all: bool) -> Result<Vec<String>, String> {
    let args: &[&str] = if all { &["ps", "-a", "-q", "--no-trunc"] } else { &["ps", "-q", "--no-trunc"] };
    let (_, ok, out) = cli.run(args)?;
    if !ok {
        return Err(format!("ps failed:\n{}", tail(&out, 15)));
    }
    Ok(out.lines().map(str::trim).filter(|l| is_id(l)).map(str::to_string).collect())
}

fn is_id(s: &str) -> bool {
    s.len() >= 12 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `rm -f` of `ids` (podman with `-t 0`: its `rm -f` otherwise waits 10 s for `sleep`, PID 1 of
/// its container, to ignore SIGTERM; docker's and wharf's `rm -f` send SIGKILL at once).
pub(crate) fn rm_args<'a>(eng: &dyn Engine, ids: &'a [String]) -> Vec<&'a str> {
    let mut args = vec!["rm", "-f"];
    if eng.name() == "podman" {
        args.extend(["-t", "0"]);
    }
    args.extend(ids.iter().map(String::as_str));
    args
}

// ------------------------------------------------------------------------------------------

/// `run-none`: `<cli> run --rm --network none busybox true`.
pub struct RunNone;

impl Scenario for RunNone {
    fn name(&self) -> &'static str {
        "run-none"
    }
    fn about(&self, k: &Knobs) -> String {
        format!(
            "'run --rm --network none busybox true' (busybox imported from {BUSYBOX}), client spawn → exit; wharf and \
             docker through the Docker CLI ({}), podman's own CLI (local mode); warm daemon, {} untimed warm-up \
             run(s), sync before each; {} round(s) × {} runs",
            k.docker_cli, k.ctr_warmup, k.reps, k.ctr_runs
        )
    }
    fn rounds(&self, k: &Knobs) -> usize {
        k.reps
    }
    fn round(&self, eng: &mut dyn Engine, k: &Knobs, round: usize, out: &mut Samples) -> Result<(), String> {
        prepare(eng, k, round)?;
        let cli = Cli::new(eng, k);
        for _ in 0..k.ctr_runs {
            sync();
            let took = cli.must(&["run", "--rm", "--network", "none", IMAGE, "true"])?;
            out.push("run_ms", "run --rm --network none busybox true", "ms", Better::Lower, true, ms(took));
        }
        let left = ps(&cli, true)?;
        if !left.is_empty() {
            out.note("run_ms", format!("{} container(s) left after 'run --rm'", left.len()));
            cli.must(&rm_args(eng, &left))?;
        }
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------

/// `run-50`: `NCTR` detached containers created and started, their memory, then `rm -f`.
pub struct Run50;

impl Scenario for Run50 {
    fn name(&self) -> &'static str {
        "run-50"
    }
    fn about(&self, k: &Knobs) -> String {
        format!(
            "{n} × 'run -d --network none busybox sleep 1000' in sequence (timed as a whole), then {s} s later RSS/PSS \
             of the per-container processes (wharf-shim, containerd-shim-runc-v2, conmon) / {n} and the daemons' RSS \
             growth / {n}, then one 'rm -f' of all {n} (podman: 'rm -f -t 0'), timed; Docker CLI ({}) for wharf and \
             docker, podman's own CLI; warm daemon; {} round(s)",
            k.docker_cli,
            k.reps,
            n = k.nctr,
            s = k.ctr_settle_s
        )
    }
    fn rounds(&self, k: &Knobs) -> usize {
        k.reps
    }
    fn round(&self, eng: &mut dyn Engine, k: &Knobs, round: usize, out: &mut Samples) -> Result<(), String> {
        prepare(eng, k, round)?;
        let n = k.nctr;
        let cli = Cli::new(eng, k);
        let stale = ps(&cli, true)?;
        if !stale.is_empty() {
            cli.must(&rm_args(eng, &stale))?;
        }
        std::thread::sleep(Duration::from_secs(1)); // the previous engine's work settles
        let comps = eng.components();
        let before: Vec<u64> = comps.iter().map(|(_, p)| procs::mem(*p).map_or(0, |m| m.rss_kb)).collect();
        sync();

        let mut ids = Vec::with_capacity(n);
        let t0 = Instant::now();
        let mut res = Ok(());
        for _ in 0..n {
            match cli.run(&["run", "-d", "--network", "none", IMAGE, "sleep", "1000"]) {
                Ok((_, true, output)) => match output.lines().map(str::trim).rfind(|l| is_id(l)) {
                    Some(id) => ids.push(id.to_string()),
                    None => {
                        res = Err(format!("run -d printed no container ID:\n{}", tail(&output, 15)));
                        break;
                    }
                },
                Ok((_, false, output)) => {
                    res = Err(format!("{} run -d failed:\n{}", eng.name(), tail(&output, 15)));
                    break;
                }
                Err(e) => {
                    res = Err(e);
                    break;
                }
            }
        }
        let took = t0.elapsed();
        let measured = res.and_then(|()| {
            out.push("run50_ms", &format!("{n} × run -d … sleep 1000, total"), "ms", Better::Lower, true, ms(took));
            out.push("run50_each_ms", "  per container", "ms", Better::Lower, false, ms(took) / n as f64);
            std::thread::sleep(Duration::from_secs_f64(k.ctr_settle_s));
            let running = ps(&cli, false)?;
            if running.len() != n {
                return Err(format!("{} container(s) running after {n} × run -d, not {n}", running.len()));
            }
            memory(eng, &comps, &before, n, out);
            Ok(())
        });
        // Always remove what was started, even after a failure.
        if ids.is_empty() {
            return measured;
        }
        sync();
        let rm = cli.must(&rm_args(eng, &ids));
        measured?;
        out.push("rm50_ms", &format!("rm -f of the {n} (one command)"), "ms", Better::Lower, false, ms(rm?));
        let left = ps(&cli, true)?;
        if !left.is_empty() {
            return Err(format!("{} container(s) left after rm -f", left.len()));
        }
        Ok(())
    }
}

/// Per-container memory: the shims' RSS and PSS, and the daemons' RSS growth since `before`.
fn memory(eng: &dyn Engine, comps: &[(&'static str, u32)], before: &[u64], n: usize, out: &mut Samples) {
    let dir = eng.socket().parent().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default();
    let shims = procs::find(shim_comm(eng), &dir);
    let mut sum = procs::Mem::default();
    for p in &shims {
        sum += procs::mem(*p).unwrap_or_default();
    }
    let per = |kb: u64| kb as f64 / 1024.0 / n as f64;
    let label = shim_label(eng);
    out.push("shim_rss_mib", "RSS per container (shim)", "MiB", Better::Lower, true, per(sum.rss_kb));
    out.note("shim_rss_mib", format!("{} {label} process(es) for {n} containers", shims.len()));
    out.push("shim_pss_mib", "PSS per container (shim)", "MiB", Better::Lower, true, per(sum.pss_kb));
    let mut growth_total = 0i64;
    for ((name, pid), b) in comps.iter().zip(before) {
        let after = procs::mem(*pid).map_or(0, |m| m.rss_kb);
        let g = after as i64 - *b as i64;
        growth_total += g;
        out.push(
            &format!("growth_mib_{name}"),
            &format!("  {name} RSS growth per container"),
            "MiB",
            Better::Lower,
            false,
            g as f64 / 1024.0 / n as f64,
        );
    }
    out.push(
        "overhead_mib",
        "engine RSS per container (shim + daemon growth)",
        "MiB",
        Better::Lower,
        false,
        (sum.rss_kb as f64 + growth_total as f64) / 1024.0 / n as f64,
    );
}
