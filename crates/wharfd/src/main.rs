//! `wharfd`: the wharf daemon. Reads flags and `daemon.json` like dockerd, takes the data root,
//! binds the API sockets, wires the services, and runs until SIGTERM/SIGINT; SIGHUP reloads the
//! reloadable settings.

mod build;
mod config;
mod containers;
mod files;
mod fsutil;
mod images;
mod listen;
mod lock;
mod networks;
mod serve;
mod streams;
mod volumes;
mod wiring;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use tokio::signal::unix::{signal, SignalKind};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{reload, EnvFilter};
use wharf_events::{Event, EventType};

use crate::config::{CommandLine, DaemonConfig, Reloadable};

type LogHandle = reload::Handle<EnvFilter, tracing_subscriber::Registry>;

/// The cgroup warmer's helper (see `wharf_container::warm`): does nothing until the daemon,
/// its parent, dies — then dies too.
fn park() -> ! {
    let parent = rustix::process::getppid();
    // SAFETY: prctl(PR_SET_PDEATHSIG) with a signal number.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    if rustix::process::getppid() != parent {
        std::process::exit(0);
    }
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

/// The argument that makes `wharfd` the parked helper of the cgroup warmer.
pub(crate) const PARK_ARG: &str = "__wharf_cgroup_warmer";

fn main() -> ExitCode {
    if std::env::args_os().nth(1).is_some_and(|a| a == PARK_ARG) {
        park();
    }
    let cli = CommandLine::parse_from(std::env::args_os());
    let cfg = match cli.load() {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("{e:#}");
            return ExitCode::FAILURE;
        }
    };
    if cli.validate_only() {
        println!("configuration OK");
        return ExitCode::SUCCESS;
    }
    let logs = init_logging(&cfg.live);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("wharfd").build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("failed to start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, cfg, logs)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("failed to start daemon: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn filter_for(live: &Reloadable) -> EnvFilter {
    let level = match (live.debug, live.log_level.as_str()) {
        (true, _) => "debug",
        (_, "fatal") => "error",
        (_, l) => l,
    };
    EnvFilter::new(format!("{level},hyper=info,h2=info,rustls=info"))
}

fn init_logging(live: &Reloadable) -> LogHandle {
    let (filter, handle) = reload::Layer::new(filter_for(live));
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_target(false),
        )
        .init();
    handle
}

async fn run(cli: CommandLine, cfg: DaemonConfig, logs: LogHandle) -> anyhow::Result<()> {
    // Handlers first: a signal that arrives once the API answers must never find the default
    // disposition (which would kill the daemon without cleanup).
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    fsutil::ensure_dir(&cfg.data_root, 0o711)
        .with_context(|| format!("creating data root {}", cfg.data_root.display()))?;
    fsutil::ensure_dir(&cfg.exec_root, 0o711)
        .with_context(|| format!("creating exec root {}", cfg.exec_root.display()))?;
    let _lock = lock::DataRootLock::acquire(&cfg.data_root)?;
    let _pidfile = lock::PidFile::create(&cfg.pidfile)?;
    // Everything that can refuse the configuration runs before a socket exists.
    let warnings = listen::check(&cfg)?;
    let wired = wiring::wire(&cfg, warnings)?;
    let listeners = match listen::bind_all(&cfg).await {
        Ok(l) => l,
        Err(e) => {
            // A refused start leaves nothing behind: no bridge, no rules either.
            let nets = wired.networks.clone();
            let _ = tokio::task::spawn_blocking(move || nets.shutdown()).await;
            return Err(e);
        }
    };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        data_root = %cfg.data_root.display(),
        cgroup = wired.host.cgroup.version.as_str(),
        "Daemon has completed initialization"
    );
    let server =
        tokio::spawn(serve::serve(listeners, wired.service.clone(), wired.shutdown.clone(), Duration::from_secs(10)));

    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("Processing signal 'terminated'"); break }
            _ = int.recv() => { tracing::info!("Processing signal 'interrupt'"); break }
            _ = hup.recv() => reload(&cli, &cfg, &wired, &logs),
        }
    }
    wired.shutdown.cancel();
    let _ = server.await;
    let nets = wired.networks.clone();
    let _ = tokio::task::spawn_blocking(move || nets.shutdown()).await;
    if let Some((mut child, w)) = wired.warmer {
        let _ = child.kill();
        let _ = child.wait();
        w.remove();
    }
    tracing::info!("Daemon shutdown complete");
    Ok(())
}

/// SIGHUP: re-read the file, apply what can change live, say what needs a restart.
fn reload(cli: &CommandLine, cfg: &DaemonConfig, wired: &wiring::Wired, logs: &LogHandle) {
    let (live, ignored) = match cli.reload(cfg) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("Error reconfiguring the daemon: {e:#}");
            return;
        }
    };
    for key in ignored {
        tracing::warn!("the '{key}' directive changed in the configuration file but cannot be reloaded; restart the daemon to apply it");
    }
    if let Err(e) = logs.reload(filter_for(&live)) {
        tracing::warn!("could not change the log level: {e}");
    }
    *wired.live.write().unwrap_or_else(|e| e.into_inner()) = live.clone();
    let labels = serde_json::to_string(&live.labels).unwrap_or_default();
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0);
    wired.events.publish(
        Event::new(EventType::Daemon, "reload", wired.engine_id.clone(), now)
            .with_attr("name", wired.host.hostname.clone())
            .with_attr("debug", live.debug.to_string())
            .with_attr("log-level", live.log_level.clone())
            .with_attr("labels", labels),
    );
    tracing::info!(debug = live.debug, log_level = %live.log_level, labels = ?live.labels, "Reloaded configuration");
}
