//! `wharf-bench [scenario...]`: side-by-side benchmarks of wharf (`wharfd`), Docker (`dockerd`
//! with containerd) and Podman (`podman system service`) in one run, on one machine, each
//! engine with private paths, all inside a private network and mount namespace. Prints a table
//! per scenario and a summary with ratios, and writes `bench/results/<timestamp>.json`.
//!
//! A benchmark, not a test: it asserts nothing about timings. It exits 0 when every installed
//! engine ran every scenario, 2 on a usage error, 1 when something failed (after reporting).
//! See `bench/README.md` for the scenarios, the knobs and how to read the output.

mod containers;
mod engine;
mod fixture;
mod http;
mod images;
mod knobs;
mod networks;
mod ns;
mod procs;
mod report;
mod scenario;
mod stats;

use std::path::PathBuf;

use serde_json::json;

use engine::Engine;
use knobs::Knobs;
use report::{Outcome, ScenarioResult};
use scenario::Samples;

fn usage() -> String {
    let names: Vec<&str> = scenario::all().iter().map(|s| s.name()).collect();
    format!(
        "usage: wharf-bench [--list] [scenario...] | --write-fixture DIR\n\
         scenarios: {} (default: {})\n\
         knobs (env): ENGINES=\"wharf docker podman\" REPS=5 NAPI=2000 WARMUP=100 API_ROUNDS=3 API_MAX_S=20\n\
         WARMUP_MAX_S=3 API_PREFIX=/v1.41 IDLE_SETTLE=10 REST_MS=1000 POLL_US=250 START_TIMEOUT=60 STOP_TIMEOUT=30\n\
         WHARFD_BIN DOCKERD_BIN CONTAINERD_BIN PODMAN_BIN BENCH_TMP=/var/tmp KEEP_WORK=0 RESULTS_DIR\n\
         CONTAINERD_CRI=1 DETACH_CGROUP2=auto DOCKER_CLI=/usr/local/bin/docker IMAGE_WARMUP=1 CLI_TIMEOUT=300\n\
         CTR_RUNS=5 CTR_WARMUP=3 NCTR=50 CTR_SETTLE=3 PORT_MIB=512 PORT_READS=3 PORT_BASE=20000 PORT_SERVER=dd\n\
         (see bench/README.md)",
        names.join(" "),
        scenario::DEFAULT.join(" ")
    )
}

fn main() {
    // Namespaces first: unshare(CLONE_NEWNS) needs a single-threaded process.
    let code = match parse_args() {
        Ok(Some(sel)) => match Knobs::from_env() {
            Ok(k) => run(sel, k),
            Err(e) => {
                eprintln!("wharf-bench: {e}");
                2
            }
        },
        Ok(None) => 0,
        Err(e) => {
            eprintln!("wharf-bench: {e}\n{}", usage());
            2
        }
    };
    std::process::exit(code);
}

/// The selected scenario names, or `None` when only help or the list was asked for.
fn parse_args() -> Result<Option<Vec<String>>, String> {
    let all = scenario::all();
    let mut sel = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--write-fixture" => {
                let dir = args.next().ok_or("--write-fixture needs a directory")?;
                let fx = fixture::generate(std::path::Path::new(&dir))?;
                println!(
                    "{}: {}, image {}, {:.2} s",
                    fx.path.display(),
                    fx.describe(),
                    fx.image_id,
                    fx.took.as_secs_f64()
                );
                return Ok(None);
            }
            "-h" | "--help" => {
                println!("{}", usage());
                return Ok(None);
            }
            "--list" => {
                for s in &all {
                    println!("{:12} {}", s.name(), s.about(&Knobs::from_env().map_err(|e| e.to_string())?));
                }
                return Ok(None);
            }
            "all" => sel.extend(all.iter().map(|s| s.name().to_string())),
            n if all.iter().any(|s| s.name() == n) => sel.push(n.to_string()),
            n => return Err(format!("unknown scenario {n:?}")),
        }
    }
    if sel.is_empty() {
        sel = scenario::DEFAULT.iter().map(|s| s.to_string()).collect();
    }
    sel.dedup();
    Ok(Some(sel))
}

fn ensure_path() {
    let cur = std::env::var("PATH").unwrap_or_default();
    let mut parts: Vec<String> = cur.split(':').filter(|s| !s.is_empty()).map(str::to_string).collect();
    for d in ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        if !parts.iter().any(|p| p == d) {
            parts.push(d.to_string());
        }
    }
    std::env::set_var("PATH", parts.join(":"));
}

fn run(selected: Vec<String>, k: Knobs) -> i32 {
    if !is_root() {
        eprintln!("wharf-bench: needs root (namespaces, daemons)");
        return 2;
    }
    if let Err(e) = ns::enter_private() {
        eprintln!("wharf-bench: {e}");
        return 1;
    }
    if let Err(e) = ns::private_run() {
        eprintln!("wharf-bench: {e}");
        return 1;
    }
    ensure_path();
    if let Err(e) = procs::install_signal_handlers() {
        eprintln!("wharf-bench: signal handlers: {e}");
        return 1;
    }
    remove_stale_work_dirs(&k.bench_tmp);
    let work = k.bench_tmp.join(format!("wharf-bench.{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&work) {
        eprintln!("wharf-bench: mkdir {}: {e}", work.display());
        return 1;
    }
    procs::set_work_dir(&work, k.keep_work);
    let _guard = procs::Guard; // stops every daemon and removes `work` on return or panic
    bench(selected, k, work)
}

/// Removes `wharf-bench.<pid>` work directories left by a harness that was SIGKILLed (its
/// daemons died with it through PDEATHSIG; its mounts with its mount namespace), unless a
/// wharf-bench with that PID still runs or the directory was kept on purpose (`KEEP_WORK`).
fn remove_stale_work_dirs(parent: &std::path::Path) {
    let Ok(rd) = std::fs::read_dir(parent) else { return };
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("wharf-bench.")).and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let alive =
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.windows(11).any(|w| w == b"wharf-bench"));
        if !alive && !e.path().join(".keep").exists() {
            eprintln!("wharf-bench: removing stale work directory {}", e.path().display());
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

fn read_first_line(p: &str) -> String {
    std::fs::read_to_string(p).unwrap_or_default().lines().next().unwrap_or_default().trim().to_string()
}

fn bench(selected: Vec<String>, k: Knobs, work: PathBuf) -> i32 {
    let mut failed = false;
    // /etc/docker → private empty dir (dockerd 20.10 writes key.json there; no daemon.json leaks in)
    let etc_docker = work.join("etc-docker");
    let _ = std::fs::create_dir_all(&etc_docker);
    let etc_note = match ns::bind_over(&etc_docker, std::path::Path::new("/etc/docker")) {
        Ok(true) => "/etc/docker replaced by a private empty dir",
        Ok(false) => "/etc/docker absent",
        Err(e) => {
            eprintln!("wharf-bench: {e}");
            "/etc/docker NOT replaced"
        }
    };

    let mut engines: Vec<Box<dyn Engine>> = k.engines.iter().map(|n| engine::make(n, &work, &k)).collect();
    let mut missing: Vec<Option<String>> = engines.iter().map(|e| e.missing()).collect();
    for (e, m) in engines.iter_mut().zip(missing.iter_mut()) {
        if m.is_none() {
            if let Err(err) = e.prepare() {
                *m = Some(format!("cannot prepare: {err}"));
                failed = true;
            }
        }
    }
    let podman_runs = engines.iter().zip(&missing).any(|(e, m)| e.name() == "podman" && m.is_none());
    let detach = match k.detach_cgroup2.as_str() {
        "1" => true,
        "0" => false,
        _ => podman_runs && ns::hybrid_cgroup2_with_controllers(),
    };
    let cg_note = if detach {
        match ns::detach_unified() {
            Ok(()) => "hybrid cgroup2 mount /sys/fs/cgroup/unified detached (for podman/crun)",
            Err(e) => {
                eprintln!("wharf-bench: {e}");
                "detaching /sys/fs/cgroup/unified failed"
            }
        }
    } else {
        "cgroup mounts unchanged"
    };

    let (stamp, iso) = report::utc_now();
    let kernel = read_first_line("/proc/sys/kernel/osrelease");
    let ncpu = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_total = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0.0, |kb| kb as f64 / 1048576.0);
    println!("wharf-bench {iso}: kernel {kernel}, {ncpu} CPUs, {mem_total:.1} GiB");
    println!(
        "isolation: private network + mount namespace, private tmpfs /run; {etc_note}; {cg_note}; work dir {}",
        work.display()
    );
    let mut engine_json = Vec::new();
    for (e, m) in engines.iter().zip(&missing) {
        match m {
            None => println!("  {:7} {} — {}", e.name(), e.version(), e.describe()),
            Some(why) => println!("  {:7} not installed: {why} — skipped", e.name()),
        }
        engine_json.push(json!({"engine": e.name(), "installed": m.is_none(), "reason": m,
                                "version": if m.is_none() { Some(e.version()) } else { None }}));
    }

    let all = scenario::all();
    let mut results = Vec::new();
    for name in &selected {
        let sc = all.iter().find(|s| s.name() == name).expect("validated");
        let about = sc.about(&k);
        eprintln!("\n[{name}] {about}");
        let mut samples: Vec<Samples> = engines.iter().map(|_| Samples::default()).collect();
        let mut errors: Vec<Option<String>> = vec![None; engines.len()];
        let c0 = procs::cpu_snap();
        let rounds = sc.rounds(&k);
        for e in engines.iter_mut() {
            e.set_networking(sc.networking());
        }
        for round in 0..rounds {
            for (i, e) in engines.iter_mut().enumerate() {
                if missing[i].is_some() || errors[i].is_some() || samples[i].skipped.is_some() {
                    continue;
                }
                eprint!("[{name}] round {}/{rounds} {:7} ", round + 1, e.name());
                match sc.round(e.as_mut(), &k, round, &mut samples[i]) {
                    Ok(()) if samples[i].skipped.is_some() => {
                        eprintln!("skipped: {}", samples[i].skipped.as_deref().unwrap_or_default());
                    }
                    Ok(()) => {
                        let brief: Vec<String> = samples[i]
                            .series
                            .iter()
                            .filter(|s| s.headline)
                            .filter_map(|s| Some(format!("{} {}", stats::fmt(*s.values.last()?), s.unit)))
                            .collect();
                        eprintln!("{}", brief.join(", "));
                    }
                    Err(err) => {
                        eprintln!("FAILED");
                        eprintln!("  {}", err.replace('\n', "\n  "));
                        let _ = e.stop();
                        errors[i] = Some(err);
                        failed = true;
                    }
                }
            }
        }
        for e in engines.iter_mut() {
            if let Err(err) = e.stop() {
                eprintln!("wharf-bench: {err}");
            }
            e.stop_helpers();
        }
        let c1 = procs::cpu_snap();
        let res = ScenarioResult {
            name: name.clone(),
            about,
            engines: engines
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let o = match &missing[i] {
                        Some(why) => Outcome::NotInstalled(why.clone()),
                        None => Outcome::Ran { samples: std::mem::take(&mut samples[i]), error: errors[i].take() },
                    };
                    (e.name().to_string(), o)
                })
                .collect(),
            cpu: procs::cpu_between(c0, c1),
        };
        print!("{}", report::scenario_table(&res));
        results.push(res);
    }
    print!("{}", report::summary(&results));

    let run = json!({
        "type": "run", "timestamp": iso, "scenarios": selected, "kernel": kernel, "cpus": ncpu,
        "mem_gib": mem_total, "engines": engine_json, "knobs": k.to_json(),
        "isolation": format!("private network + mount namespace, private /run; {etc_note}; {cg_note}"),
    });
    match report::write_json(&k.results_dir, &stamp, run, &results) {
        Ok(p) => println!("\nresults: {}", p.display()),
        Err(e) => {
            eprintln!("wharf-bench: cannot write results to {}: {e}", k.results_dir.display());
            failed = true;
        }
    }
    i32::from(failed)
}
