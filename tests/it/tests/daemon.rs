//! The daemon's life: start, stop, crash and restart, one daemon per data root, configuration
//! rules (flags versus daemon.json), listeners (unix, TCP, socket activation), SIGHUP.

use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::time::Duration;

use rustix::process::Signal;
use wharf_it::{CmdResult, Daemon, DaemonOpts};

#[test]
fn stops_cleanly_on_sigterm_and_sigint() {
    for sig in [Signal::TERM, Signal::INT] {
        let mut d = Daemon::start();
        assert!(d.socket.exists() && d.pidfile.exists());
        assert_eq!(std::fs::read_to_string(&d.pidfile).unwrap().trim(), d.pid().unwrap().to_string());
        d.signal(sig);
        let st = d.wait_exit(Duration::from_secs(15)).expect("exits");
        assert!(st.success(), "{st}");
        d.assert_clean();
        assert!(d.log_text().contains("Daemon shutdown complete"));
    }
}

#[test]
fn restarts_after_sigkill_despite_stale_socket_and_pidfile() {
    let mut d = Daemon::start();
    d.kill9();
    assert!(d.socket.exists(), "a killed daemon leaves its socket");
    assert!(d.pidfile.exists(), "a killed daemon leaves its pid file");
    d.spawn();
    d.wait_ready();
    assert_eq!(std::fs::read_to_string(&d.pidfile).unwrap().trim(), d.pid().unwrap().to_string());
    d.docker(&["version"]).ok();
    d.stop();
}

#[test]
fn a_second_daemon_on_the_same_data_root_is_refused() {
    let mut first = Daemon::start();
    let mut second = Daemon::prepare(DaemonOpts::default());
    let mut cmd = second.command();
    cmd.arg("--data-root").arg(&first.data_root);
    let out = CmdResult::run(cmd);
    let err = out.failed();
    assert!(err.contains("already using data root"), "{err}");
    assert!(err.contains(&first.pid().unwrap().to_string()), "names the holder: {err}");
    assert!(!second.socket.exists(), "the refused daemon must not leave a socket");
    first.docker(&["version"]).ok();
    first.stop();
    second.stop();
}

#[test]
fn a_socket_served_by_another_daemon_is_not_stolen() {
    let mut first = Daemon::start();
    let mut second = Daemon::prepare(DaemonOpts { no_default_host: true, ..Default::default() });
    let mut cmd = second.command();
    cmd.arg("-H").arg(first.host());
    let err = CmdResult::run(cmd).failed().to_string();
    assert!(err.contains("another daemon is serving this socket"), "{err}");
    first.docker(&["version"]).ok();
    first.stop();
    second.stop();
}

#[test]
fn a_flag_also_set_in_daemon_json_is_an_error() {
    let d = Daemon::prepare(DaemonOpts {
        config_json: Some(r#"{"debug": false, "labels": ["a=b"]}"#.into()),
        ..Default::default()
    });
    let mut cmd = d.command();
    cmd.args(["-D", "--label", "c=d"]);
    let err = CmdResult::run(cmd).failed().to_string();
    assert!(
        err.contains("the following directives are specified both as a flag and in the configuration file"),
        "{err}"
    );
    assert!(err.contains("debug: (from flag: true, from file: false)"), "{err}");
    assert!(err.contains("labels: (from flag: [c=d], from file: [a=b])"), "{err}");
    d.assert_clean();
}

#[test]
fn unknown_daemon_json_keys_are_errors_and_validate_checks_without_starting() {
    let d = Daemon::prepare(DaemonOpts { config_json: Some(r#"{"no-such-option": 1}"#.into()), ..Default::default() });
    let err = CmdResult::run(d.command()).failed().to_string();
    assert!(err.contains("don't match any configuration option: no-such-option"), "{err}");
    let good = Daemon::prepare(DaemonOpts { config_json: Some(r#"{"debug": true}"#.into()), ..Default::default() });
    let mut cmd = good.command();
    cmd.arg("--validate");
    assert_eq!(CmdResult::run(cmd).ok().trim(), "configuration OK");
    assert!(!good.socket.exists());
}

#[test]
fn daemon_json_settings_apply() {
    let mut d = Daemon::start_with(DaemonOpts {
        config_json: Some(r#"{"debug": true, "labels": ["zone=a", "tier=b"], "log-level": "warn"}"#.into()),
        ..Default::default()
    });
    let info = d.get_json("/info");
    assert_eq!(info["Debug"], true);
    assert_eq!(info["Labels"], serde_json::json!(["zone=a", "tier=b"]));
    d.stop();
}

#[test]
fn sighup_reloads_labels_and_debug_and_survives_a_broken_file() {
    let mut d =
        Daemon::start_with(DaemonOpts { config_json: Some(r#"{"labels": ["v=1"]}"#.into()), ..Default::default() });
    assert_eq!(d.get_json("/info")["Debug"], false);
    std::fs::write(d.config_file(), r#"{"labels": ["v=2"], "debug": true}"#).unwrap();
    d.signal(Signal::HUP);
    wait_for(|| d.get_json("/info")["Labels"] == serde_json::json!(["v=2"]));
    assert_eq!(d.get_json("/info")["Debug"], true);
    std::fs::write(d.config_file(), "{ not json").unwrap();
    d.signal(Signal::HUP);
    wait_for(|| d.log_text().contains("Error reconfiguring the daemon"));
    assert_eq!(d.get_json("/info")["Labels"], serde_json::json!(["v=2"]), "a bad file changes nothing");
    d.stop();
}

#[test]
fn tcp_without_tls_is_refused_unless_explicitly_accepted() {
    let port = free_port();
    let d = Daemon::prepare(DaemonOpts::default());
    let mut cmd = d.command();
    cmd.arg("-H").arg(format!("tcp://127.0.0.1:{port}"));
    let err = CmdResult::run(cmd).failed().to_string();
    assert!(err.contains("without TLS"), "{err}");
    assert!(!d.socket.exists(), "nothing is left listening");

    let mut d = Daemon::start_with(DaemonOpts {
        args: vec!["-H".into(), format!("tcp://127.0.0.1:{port}"), "--tls=false".into()],
        ..Default::default()
    });
    assert!(d.log_text().contains("without encryption"), "a loud warning: {}", d.log_text());
    let r = wharf_it::RawClient::Tcp(format!("127.0.0.1:{port}")).request("GET", "/version", None).unwrap();
    assert_eq!(r.status, 200);
    let mut c = std::process::Command::new(wharf_it::docker_cli());
    c.args(["--config"]).arg(&d.client_config).args([
        "-H",
        &format!("tcp://127.0.0.1:{port}"),
        "info",
        "--format",
        "{{json .Warnings}}",
    ]);
    let warnings = CmdResult::run(c);
    assert!(warnings.ok().contains("without encryption"), "{}", warnings.stdout);
    d.stop();
}

#[test]
fn socket_activation_with_fd_host() {
    let d = Daemon::prepare(DaemonOpts { no_default_host: true, ..Default::default() });
    let sock = d.root.path().join("activated.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let fd = listener.as_raw_fd();
    let inner = d.command();
    let mut argv: Vec<String> = vec![inner.get_program().to_string_lossy().into_owned()];
    argv.extend(inner.get_args().map(|a| a.to_string_lossy().into_owned()));
    argv.extend(["-H".into(), "fd://".into()]);
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.arg("-c").arg("LISTEN_PID=$$ LISTEN_FDS=1 exec \"$@\"").arg("sh").args(&argv);
    cmd.env("HOME", d.root.path()).stdout(std::process::Stdio::null()).stderr(std::fs::File::create(&d.log).unwrap());
    // SAFETY: dup2 is async-signal-safe; runs in the child between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc_dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    drop(listener);
    let client = wharf_it::RawClient::unix(&sock);
    let mut ok = false;
    for _ in 0..500 {
        if client.request("GET", "/_ping", None).is_ok_and(|r| r.status == 200) {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, Signal::TERM).unwrap();
    let st = child.wait().unwrap();
    assert!(ok, "no answer on the activated socket; log:\n{}", d.log_text());
    assert!(st.success(), "{st}");
    assert!(sock.exists(), "a socket systemd owns is not removed by wharfd");
}

fn libc_dup2(from: i32, to: i32) -> i32 {
    // SAFETY: plain syscalls on descriptors owned by this (child) process.
    unsafe {
        let from = std::os::fd::BorrowedFd::borrow_raw(from);
        if from.as_raw_fd() == to {
            // dup2 onto itself is a no-op that keeps close-on-exec (std sets it on every
            // descriptor): clear it so the socket survives the exec.
            return rustix::io::fcntl_setfd(from, rustix::io::FdFlags::empty()).map(|_| 0).unwrap_or(-1);
        }
        let mut to_fd = std::os::fd::OwnedFd::from_raw_fd_unchecked(to);
        let r = rustix::io::dup2(from, &mut to_fd).map(|_| 0).unwrap_or(-1);
        std::mem::forget(to_fd);
        r
    }
}

trait FromRawUnchecked {
    /// # Safety
    /// `fd` must be a descriptor number this process may overwrite.
    unsafe fn from_raw_fd_unchecked(fd: i32) -> Self;
}

impl FromRawUnchecked for std::os::fd::OwnedFd {
    unsafe fn from_raw_fd_unchecked(fd: i32) -> Self {
        use std::os::fd::FromRawFd;
        // SAFETY: forwarded to the caller.
        unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for(mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "condition not met in 10s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn storage_driver_is_chosen_kept_and_validated() {
    // detected on a fresh data root, then kept on restart
    let mut d = Daemon::start();
    let detected = d.get_json("/info")["Driver"].as_str().unwrap().to_string();
    assert!(detected == "overlay2" || detected == "vfs", "{detected}");
    assert!(d.data_root.join(&detected).is_dir());
    d.stop();

    let mut v = Daemon::start_with(DaemonOpts {
        config_json: Some(r#"{"storage-driver": "vfs"}"#.into()),
        ..Default::default()
    });
    assert_eq!(v.get_json("/info")["Driver"], "vfs");
    v.stop();
    // the prior driver is kept when none is named any more (as dockerd does)
    std::fs::write(v.config_file(), "{}").unwrap();
    v.spawn();
    v.wait_ready();
    assert_eq!(v.get_json("/info")["Driver"], "vfs");
    v.stop();

    let bad = Daemon::prepare(DaemonOpts {
        config_json: Some(r#"{"storage-driver": "zfs-please"}"#.into()),
        ..Default::default()
    });
    let err = CmdResult::run(bad.command()).failed().to_string();
    assert!(err.contains("driver not supported: zfs-please"), "{err}");
    bad.assert_clean();
}
