//! `wharf-proxy`: forwards one published port of one container (Docker's `docker-proxy`).
//!
//! ```text
//! wharf-proxy -proto tcp|udp -host-ip IP -host-port N -container-ip IP -container-port N
//!             [--ready-fd FD]
//! ```
//!
//! Startup: SIGTERM/SIGINT are blocked (and later read from a signalfd), SIGHUP and SIGPIPE
//! ignored; the host address is bound; one line goes to `--ready-fd` — `ok`, or the error
//! (`listen tcp4 0.0.0.0:8080: bind: address already in use`) — and the descriptor is closed.
//! Then it serves until SIGTERM or SIGINT. Exit status: 0 after a stop signal, 1 when the
//! address cannot be bound (or serving fails), 2 for a usage error (also reported on the
//! ready fd when one can be found on the command line).
//!
//! One thread serves everything: an epoll loop over the stop signals, the host socket and the
//! connections (`tcp`) or per-client upstream sockets (`udp`); `sys` holds the syscalls.

mod sys;
mod tcp;
mod udp;

use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;

use wharf_proxy::{ready, Args, Proto};

const USAGE: &str = "\
Usage: wharf-proxy -proto tcp|udp -host-ip IP -host-port PORT -container-ip IP -container-port PORT [--ready-fd FD]

Forwards one published port of one container; serves until SIGTERM or SIGINT.
  -proto           tcp or udp (default tcp)
  -host-ip         host address to bind (default 0.0.0.0)
  -host-port       host port
  -container-ip    container address
  -container-port  container port
  --ready-fd       descriptor on which to report `ok` or the bind error, then close
Flags take one or two dashes.";

fn main() {
    std::process::exit(run());
}

fn run() -> i32 {
    let argv: Vec<String> = match std::env::args_os().skip(1).map(|a| a.into_string()).collect() {
        Ok(argv) => argv,
        Err(bad) => {
            eprintln!("wharf-proxy: argument is not UTF-8: {bad:?}");
            return 2;
        }
    };
    if argv.iter().any(|a| matches!(a.as_str(), "-h" | "-help" | "--help")) {
        println!("{USAGE}");
        return 0;
    }
    if argv.iter().any(|a| matches!(a.as_str(), "-v" | "-version" | "--version")) {
        println!("wharf-proxy version {}", env!("CARGO_PKG_VERSION"));
        return 0;
    }

    // Signals first: a SIGTERM from now on is held until the serve loop reads it.
    sys::ignore_signals();
    if let Err(e) = sys::block_stop_signals() {
        eprintln!("wharf-proxy: blocking signals: {e}");
        return 1;
    }

    // The ready descriptor is claimed before this process opens any other.
    let args = match Args::parse(&argv) {
        Ok(args) => args,
        Err(e) => {
            if let Some(pipe) = Args::scan_ready_fd(&argv).and_then(|fd| sys::ready_pipe(fd).ok()) {
                report(pipe, &e.to_string());
            }
            eprintln!("wharf-proxy: {e}\n\n{USAGE}");
            return 2;
        }
    };
    let pipe = match args.ready_fd.map(sys::ready_pipe).transpose() {
        Ok(pipe) => pipe,
        Err(e) => {
            eprintln!("wharf-proxy: --ready-fd {}: {e}", args.ready_fd.unwrap_or(-1));
            return 2;
        }
    };
    let fail = |pipe: Option<File>, text: &str| {
        if let Some(pipe) = pipe {
            report(pipe, text);
        }
        eprintln!("wharf-proxy: {text}");
        1
    };

    // Everything the serve loop needs is set up before `ok`: a client that connects as soon
    // as the daemon hears it is served.
    let setup = || -> std::io::Result<(OwnedFd, sys::Poller)> {
        let signals = sys::stop_signals()?;
        let poller = sys::Poller::new()?;
        poller.add(&signals, sys::SIGNAL)?;
        Ok((signals, poller))
    };
    let (_signals, poller) = match setup() {
        Ok(setup) => setup,
        Err(e) => return fail(pipe, &format!("setting up: {e}")),
    };
    sys::raise_nofile_limit();
    let socket = match sys::bind(&args.spec) {
        Ok(socket) => socket,
        Err(text) => return fail(pipe, &text),
    };
    if let Err(e) = poller.add(&socket, sys::LISTENER) {
        return fail(pipe, &format!("setting up: {e}"));
    }
    if let Some(pipe) = pipe {
        report(pipe, ready::OK);
    }

    let backend = args.spec.container_addr();
    let served = match args.spec.proto {
        Proto::Tcp => tcp::serve(poller, socket, backend),
        Proto::Udp => udp::serve(poller, socket, backend, args.udp_idle_timeout),
    };
    match served {
        Ok(()) => 0,
        Err(e) => {
            eprintln!(
                "wharf-proxy: stopping proxy on {}/{} for {}/{backend}: {e}",
                args.spec.proto,
                args.spec.host_addr(),
                args.spec.proto
            );
            1
        }
    }
}

/// Writes the one readiness line and closes the descriptor. A reader that went away is not
/// an error (SIGPIPE is ignored).
fn report(mut pipe: File, line: &str) {
    let _ = pipe.write_all(format!("{line}\n").as_bytes());
}
