//! The harness's knobs, all read from the environment (see `bench/README.md`).

use std::path::PathBuf;
use std::str::FromStr;

/// Every knob, with its value for this run.
#[derive(Clone, Debug)]
pub struct Knobs {
    /// Engines to run, in column order (`ENGINES`, default `wharf docker podman`).
    pub engines: Vec<String>,
    /// Daemon starts per engine in `start` and `idle-rss`, timed operations per engine in
    /// `image-load` and `image-save` (`REPS`, 5).
    pub reps: usize,
    /// Measured requests per path and round in the API scenarios (`NAPI`, 2000).
    pub napi: usize,
    /// Warm-up requests before each measurement (`WARMUP`, 100).
    pub warmup: usize,
    /// Time cap of one warm-up, seconds (`WARMUP_MAX_S`, 3).
    pub warmup_max_s: f64,
    /// Time cap of one measurement, seconds (`API_MAX_S`, 20): podman's `/version` takes ~0.3 s.
    pub api_max_s: f64,
    /// Fresh daemons per engine in the API scenarios (`API_ROUNDS`, 3).
    pub api_rounds: usize,
    /// Version prefix of versioned API paths (`API_PREFIX`, `/v1.41`: dockerd 20.10's maximum).
    pub api_prefix: String,
    /// Seconds between "API answers" and the memory reading in `idle-rss` (`IDLE_SETTLE`, 10).
    pub idle_settle_s: f64,
    /// Pause between stopping one daemon and starting the next, ms (`REST_MS`, 1000).
    pub rest_ms: u64,
    /// Readiness polling interval, µs (`POLL_US`, 250; the anchors polled every 2 ms).
    pub poll_us: u64,
    /// Give up on a daemon that does not answer `/_ping` within this many seconds (`START_TIMEOUT`, 60).
    pub start_timeout_s: f64,
    /// SIGKILL a daemon that has not exited this many seconds after SIGTERM (`STOP_TIMEOUT`, 30).
    pub stop_timeout_s: f64,
    /// Parent of the per-run work directory (`BENCH_TMP`, `/var/tmp`).
    pub bench_tmp: PathBuf,
    /// Keep the work directory (daemon logs, configs) after the run (`KEEP_WORK=1`).
    pub keep_work: bool,
    /// Where the JSON-lines result file goes (`RESULTS_DIR`, `bench/results`).
    pub results_dir: PathBuf,
    /// containerd with its CRI plugin, as Debian ships it (`CONTAINERD_CRI`, 1).
    pub containerd_cri: bool,
    /// dockerd with its default bridge network (`docker0` + iptables rules, created inside our
    /// private network namespace) instead of `--bridge=none --iptables=false …` (`DOCKER_BRIDGE`,
    /// 0). The anchors' dockerd had the bridge; it accounts for most of dockerd's start time.
    pub docker_bridge: bool,
    /// Detach the hybrid cgroup2 mount in our mount namespace: `auto` (when podman runs and
    /// crun would refuse the layout), `1`, `0` (`DETACH_CGROUP2`).
    pub detach_cgroup2: String,
    /// Docker CLI used against wharf and docker in the image scenarios (`DOCKER_CLI`,
    /// `/usr/local/bin/docker` when it exists, else `docker` from `PATH`).
    pub docker_cli: String,
    /// Untimed operations (load, save) before the first timed round of the image scenarios, per
    /// engine (`IMAGE_WARMUP`, 1).
    pub image_warmup: usize,
    /// Give up on one CLI command of the image scenarios after this many seconds (`CLI_TIMEOUT`, 300).
    pub cli_timeout_s: f64,
    /// Timed `run --rm` per engine and round in `run-none` (`CTR_RUNS`, 5).
    pub ctr_runs: usize,
    /// Untimed `run --rm … true` per engine before the first round of the container scenarios
    /// (`CTR_WARMUP`, 3).
    pub ctr_warmup: usize,
    /// Detached containers per round in `run-50` (`NCTR`, 50).
    pub nctr: usize,
    /// Seconds between the last `run -d` and the memory reading in `run-50` (`CTR_SETTLE`, 3).
    pub ctr_settle_s: f64,
    /// MiB read per timed connection in `port-tcp` (`PORT_MIB`, 512).
    pub port_mib: u64,
    /// Timed connections per address, engine and round in `port-tcp` (`PORT_READS`, 3).
    pub port_reads: usize,
    /// First host port `port-tcp` tries to publish (`PORT_BASE`, 20000); each container gets
    /// the next port that nothing in the namespace has bound.
    pub port_base: u16,
    /// The server in `port-tcp`'s container (`PORT_SERVER`): `dd` (busybox `nc -l -p 80 -e dd
    /// if=/dev/zero bs=1M`, default) or `nc` (`nc -l -p 80 < /dev/zero`: 1 KiB writes, the
    /// server becomes the bottleneck).
    pub port_server: String,
    pub wharfd_bin: Option<PathBuf>,
    pub dockerd_bin: String,
    pub containerd_bin: String,
    pub podman_bin: String,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn num<T: FromStr>(name: &str, default: T) -> Result<T, String> {
    match var(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| format!("{name}={v:?} is not a valid number")),
    }
}

fn flag(name: &str, default: bool) -> Result<bool, String> {
    match var(name).as_deref().map(str::trim) {
        None => Ok(default),
        Some("1" | "true" | "yes") => Ok(true),
        Some("0" | "false" | "no") => Ok(false),
        Some(v) => Err(format!("{name}={v:?}: use 1 or 0")),
    }
}

impl Knobs {
    /// Reads every knob from the environment.
    pub fn from_env() -> Result<Knobs, String> {
        let engines: Vec<String> = var("ENGINES")
            .unwrap_or_else(|| "wharf docker podman".into())
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        for e in &engines {
            if !crate::engine::KNOWN.contains(&e.as_str()) {
                return Err(format!("ENGINES: unknown engine {e:?} (known: {})", crate::engine::KNOWN.join(" ")));
            }
        }
        let k = Knobs {
            engines,
            reps: num("REPS", 5)?,
            napi: num("NAPI", 2000)?,
            warmup: num("WARMUP", 100)?,
            warmup_max_s: num("WARMUP_MAX_S", 3.0)?,
            api_max_s: num("API_MAX_S", 20.0)?,
            api_rounds: num("API_ROUNDS", 3)?,
            api_prefix: var("API_PREFIX").unwrap_or_else(|| "/v1.41".into()).trim_end_matches('/').to_string(),
            idle_settle_s: num("IDLE_SETTLE", 10.0)?,
            rest_ms: num("REST_MS", 1000)?,
            poll_us: num("POLL_US", 250)?,
            start_timeout_s: num("START_TIMEOUT", 60.0)?,
            stop_timeout_s: num("STOP_TIMEOUT", 30.0)?,
            bench_tmp: var("BENCH_TMP").map_or_else(|| PathBuf::from("/var/tmp"), PathBuf::from),
            keep_work: flag("KEEP_WORK", false)?,
            results_dir: var("RESULTS_DIR")
                .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results"), PathBuf::from),
            containerd_cri: flag("CONTAINERD_CRI", true)?,
            docker_bridge: flag("DOCKER_BRIDGE", false)?,
            detach_cgroup2: var("DETACH_CGROUP2").unwrap_or_else(|| "auto".into()),
            docker_cli: var("DOCKER_CLI").unwrap_or_else(|| {
                let local = "/usr/local/bin/docker";
                if std::path::Path::new(local).is_file() { local } else { "docker" }.into()
            }),
            image_warmup: num("IMAGE_WARMUP", 1)?,
            cli_timeout_s: num("CLI_TIMEOUT", 300.0)?,
            ctr_runs: num("CTR_RUNS", 5)?,
            ctr_warmup: num("CTR_WARMUP", 3)?,
            nctr: num("NCTR", 50)?,
            ctr_settle_s: num("CTR_SETTLE", 3.0)?,
            port_mib: num("PORT_MIB", 512)?,
            port_reads: num("PORT_READS", 3)?,
            port_base: num("PORT_BASE", 20000)?,
            port_server: var("PORT_SERVER").unwrap_or_else(|| "dd".into()),
            wharfd_bin: var("WHARFD_BIN").map(PathBuf::from),
            dockerd_bin: var("DOCKERD_BIN").unwrap_or_else(|| "dockerd".into()),
            containerd_bin: var("CONTAINERD_BIN").unwrap_or_else(|| "containerd".into()),
            podman_bin: var("PODMAN_BIN").unwrap_or_else(|| "podman".into()),
        };
        if k.reps == 0
            || k.api_rounds == 0
            || k.napi == 0
            || k.ctr_runs == 0
            || k.nctr == 0
            || k.port_mib == 0
            || k.port_reads == 0
            || k.port_base == 0
        {
            return Err(
                "REPS, API_ROUNDS, NAPI, CTR_RUNS, NCTR, PORT_MIB, PORT_READS and PORT_BASE must be at least 1".into(),
            );
        }
        if !["dd", "nc"].contains(&k.port_server.as_str()) {
            return Err(format!("PORT_SERVER={:?}: use dd or nc", k.port_server));
        }
        if !["auto", "1", "0"].contains(&k.detach_cgroup2.as_str()) {
            return Err(format!("DETACH_CGROUP2={:?}: use auto, 1 or 0", k.detach_cgroup2));
        }
        Ok(k)
    }

    /// The knobs as JSON, for the result file.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "ENGINES": self.engines.join(" "), "REPS": self.reps, "NAPI": self.napi, "WARMUP": self.warmup,
            "WARMUP_MAX_S": self.warmup_max_s, "API_MAX_S": self.api_max_s, "API_ROUNDS": self.api_rounds,
            "API_PREFIX": self.api_prefix, "IDLE_SETTLE": self.idle_settle_s, "REST_MS": self.rest_ms,
            "POLL_US": self.poll_us, "START_TIMEOUT": self.start_timeout_s, "STOP_TIMEOUT": self.stop_timeout_s,
            "CONTAINERD_CRI": self.containerd_cri, "DOCKER_BRIDGE": self.docker_bridge, "DETACH_CGROUP2": self.detach_cgroup2,
            "DOCKER_CLI": self.docker_cli, "IMAGE_WARMUP": self.image_warmup, "CLI_TIMEOUT": self.cli_timeout_s,
            "CTR_RUNS": self.ctr_runs, "CTR_WARMUP": self.ctr_warmup, "NCTR": self.nctr, "CTR_SETTLE": self.ctr_settle_s,
            "PORT_MIB": self.port_mib, "PORT_READS": self.port_reads, "PORT_BASE": self.port_base,
            "PORT_SERVER": self.port_server,
        })
    }
}
