//! Containers end to end through the stock docker CLI, `wharf` and raw HTTP.

use wharf_it::Daemon;

fn with_busybox() -> Option<Daemon> {
    wharf_it::images::daemon_with_busybox()
}

#[test]
fn create_inspect_list_rename_remove() {
    let Some(d) = with_busybox() else { return };
    let id = d.docker(&["create", "--name", "first", "-e", "A=b", "-l", "tier=web", "busybox", "echo", "hi"]);
    let id = id.ok().trim().to_string();
    assert_eq!(id.len(), 64, "{id}");
    let i: serde_json::Value = serde_json::from_str(d.docker(&["inspect", "first"]).ok()).unwrap();
    let i = &i[0];
    assert_eq!(i["Id"], id.as_str());
    assert_eq!(i["Name"], "/first");
    assert_eq!(i["Path"], "echo");
    assert_eq!(i["Args"], serde_json::json!(["hi"]));
    assert_eq!(i["State"]["Status"], "created");
    assert_eq!(i["Config"]["Image"], "busybox");
    assert_eq!(i["Config"]["Hostname"], &id[..12]);
    // The image's env comes first, the container's after.
    let env: Vec<String> = serde_json::from_value(i["Config"]["Env"].clone()).unwrap();
    assert!(env.iter().any(|e| e.starts_with("PATH=")) && env.last().unwrap() == "A=b", "{env:?}");
    assert_eq!(i["Config"]["Labels"]["tier"], "web");
    assert!(i["HostConfig"].is_object() && i["GraphDriver"]["Name"].is_string());

    // A generated name, and the name conflict.
    let id2 = d.wharf(&["create", "busybox"]).ok().trim().to_string();
    let name2 = d.docker(&["inspect", "--format", "{{.Name}}", &id2]).ok().trim().trim_start_matches('/').to_string();
    assert!(name2.contains('_'), "{name2}");
    let err = d.docker(&["create", "--name", "first", "busybox"]);
    assert!(err.failed().contains("is already in use by container"), "{}", err.stderr);

    // ps: created containers show with -a only; filters.
    assert_eq!(d.docker(&["ps", "-q"]).ok().trim(), "");
    let all = d.docker(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert!(all.ok().lines().any(|l| l == "first Created"), "{}", all.stdout);
    let by_label = d.docker(&["ps", "-a", "-q", "--no-trunc", "--filter", "label=tier=web"]);
    assert_eq!(by_label.ok().trim(), id);
    let by_status = d.docker(&["ps", "-a", "-q", "--filter", "status=created"]);
    assert_eq!(by_status.ok().lines().count(), 2);

    // rename, rm; the image is in use until then.
    d.docker(&["rename", "first", "second"]).ok();
    assert_eq!(d.docker(&["inspect", "--format", "{{.Name}}", &id[..12]]).ok().trim(), "/second");
    let err = d.docker(&["rmi", "busybox"]);
    assert!(err.failed().contains("is using its referenced image"), "{}", err.stderr);
    d.docker(&["rm", "second", &id2]).ok();
    assert_eq!(d.docker(&["ps", "-aq"]).ok().trim(), "");
    let err = d.docker(&["rm", "second"]);
    assert!(err.failed().contains("No such container: second"), "{}", err.stderr);
    // The writable layers are gone: only the image's layer snapshot is left.
    let info: serde_json::Value = d.get_json("/info");
    assert_eq!(info["Containers"], 0);
    d.docker(&["rmi", "busybox"]).ok();
}

#[test]
fn create_errors_are_dockers() {
    let Some(d) = with_busybox() else { return };
    let err = d.docker(&["create", "--name", "bad name", "busybox"]);
    assert!(err.failed().contains("Invalid container name"), "{}", err.stderr);
    let r = d.api("POST", "/containers/create", Some(br#"{"Image":"nosuch"}"#)).unwrap();
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json()["message"], "No such image: nosuch:latest");
    let r = d.api("POST", "/containers/create", Some(b"{not json")).unwrap();
    assert_eq!(r.status, 400, "{}", r.text());
    let r = d.api("GET", "/containers/nosuch/json", None).unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "No such container: nosuch");
}

#[test]
fn run_attaches_and_returns_the_exit_code() {
    let Some(d) = with_busybox() else { return };
    let out = d.docker(&["run", "--rm", "busybox", "echo", "hi"]);
    assert_eq!(out.ok(), "hi\n");
    let out = d.docker(&["run", "--name", "codes", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(out.stdout, "out\n");
    assert_eq!(out.stderr, "err\n");
    let st = d.docker(&["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "codes"]);
    assert_eq!(st.ok().trim(), "exited 3");
    // The log keeps both streams; `--rm` left nothing behind.
    let logs = d.docker(&["logs", "codes"]);
    assert_eq!((logs.stdout.as_str(), logs.stderr.as_str()), ("out\n", "err\n"));
    assert_eq!(d.docker(&["ps", "-aq"]).ok().lines().count(), 1);
    // A program that does not exist: Docker's exit code 127 and message.
    let out = d.docker(&["run", "--name", "nocmd", "busybox", "nosuchprogram"]);
    assert_eq!(out.code, 127, "{out:?}");
    assert!(out.stderr.contains("executable file not found"), "{}", out.stderr);
    let st = d.docker(&["inspect", "--format", "{{.State.ExitCode}}", "nocmd"]);
    assert_eq!(st.ok().trim(), "127");
    // stdin reaches the container.
    let mut c = std::process::Command::new(wharf_it::docker_cli());
    c.arg("--config").arg(&d.client_config).arg("-H").arg(d.host()).args(["run", "-i", "--rm", "busybox", "cat"]);
    c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"through stdin\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "through stdin\n");
    // wharf run works too.
    assert_eq!(d.wharf(&["run", "--rm", "busybox", "echo", "from wharf"]).ok(), "from wharf\n");
    d.docker(&["rm", "codes", "nocmd"]).ok();
}

#[test]
fn isolated_like_docker() {
    let Some(d) = with_busybox() else { return };
    let script =
        "echo pid1=$(cat /proc/1/cmdline | tr '\\0' ' '); hostname; grep -E '^(CapEff|Seccomp):' /proc/self/status; \
                  head -c1 /proc/kcore >/dev/null 2>&1 && echo kcore=readable || echo kcore=masked";
    let out = d.docker(&["run", "--rm", "--hostname", "boxy", "busybox", "sh", "-c", script]);
    let text = out.ok();
    assert!(text.contains("pid1=sh -c"), "{text}");
    assert!(text.contains("\nboxy\n"), "{text}");
    // Docker's default capability set and seccomp filter mode.
    assert!(text.contains("CapEff:\t00000000a80425fb"), "{text}");
    assert!(text.contains("Seccomp:\t2"), "{text}");
    assert!(text.contains("kcore=masked"), "{text}");
    let out = d.docker(&["run", "--rm", "--read-only", "busybox", "sh", "-c", "touch /x 2>&1; echo rc=$?"]);
    assert!(out.ok().contains("Read-only file system") && out.ok().contains("rc=1"), "{}", out.stdout);
    let out = d.docker(&[
        "run",
        "--rm",
        "--pids-limit",
        "20",
        "busybox",
        "sh",
        "-c",
        "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max",
    ]);
    assert_eq!(out.ok().trim(), "20");
}

#[test]
fn memory_and_pids_limits_hold() {
    let Some(d) = with_busybox() else { return };
    let out =
        d.docker(&["run", "--name", "oom", "-m", "16m", "busybox", "sh", "-c", "x=a; while true; do x=$x$x; done"]);
    assert_eq!(out.code, 137, "{out:?}");
    let st = d.docker(&["inspect", "--format", "{{.State.OOMKilled}} {{.State.ExitCode}}", "oom"]);
    assert_eq!(st.ok().trim(), "true 137");
    // A fork bomb stops at the pids limit.
    let out = d.docker(&[
        "run",
        "--rm",
        "--pids-limit",
        "10",
        "busybox",
        "sh",
        "-c",
        "for i in $(seq 20); do sleep 5 & done; wait",
    ]);
    assert!(out.stderr.contains("can't fork"), "{out:?}");
    d.docker(&["rm", "oom"]).ok();
}

#[test]
fn detached_containers_survive_a_daemon_kill() {
    let Some(mut d) = with_busybox() else { return };
    let ticker = "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done";
    for n in ["ta", "tb", "tc"] {
        d.docker(&["run", "-d", "--name", n, "busybox", "sh", "-c", ticker]).ok();
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    d.kill9();
    std::thread::sleep(std::time::Duration::from_millis(300));
    d.spawn();
    d.wait_ready();
    let ps = d.docker(&["ps", "--format", "{{.Names}} {{.State}}"]);
    let mut lines: Vec<&str> = ps.ok().lines().collect();
    lines.sort();
    assert_eq!(lines, vec!["ta running", "tb running", "tc running"]);
    // Logs continue.
    let before = d.docker(&["logs", "ta"]).ok().lines().count();
    std::thread::sleep(std::time::Duration::from_millis(400));
    let after = d.docker(&["logs", "ta"]).ok().lines().count();
    assert!(after > before, "{before} → {after}");
    d.docker(&["stop", "-t", "1", "ta", "tb", "tc"]).ok();
    let st = d.docker(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert!(st.ok().lines().all(|l| l.contains("Exited (137)")), "{}", st.stdout);
    d.docker(&["rm", "ta", "tb", "tc"]).ok();
    d.stop();
}

#[test]
fn stop_kill_wait_and_rm_force() {
    let Some(d) = with_busybox() else { return };
    let id = d.docker(&["run", "-d", "busybox", "sleep", "100"]).ok().trim().to_string();
    let err = d.docker(&["rm", &id]);
    assert!(err.failed().contains("container is running"), "{}", err.stderr);
    d.docker(&["kill", "-s", "TERM", &id]).ok();
    // sleep as PID 1 ignores SIGTERM (no handler), as in Docker: still running.
    assert_eq!(d.docker(&["inspect", "--format", "{{.State.Running}}", &id]).ok().trim(), "true");
    d.docker(&["kill", &id]).ok();
    assert_eq!(d.docker(&["wait", &id]).ok().trim(), "137");
    let err = d.docker(&["kill", &id]);
    assert!(err.failed().contains("is not running"), "{}", err.stderr);
    d.docker(&["start", &id]).ok();
    assert_eq!(d.docker(&["inspect", "--format", "{{.State.Status}}", &id]).ok().trim(), "running");
    d.docker(&["rm", "-f", &id]).ok();
    assert_eq!(d.docker(&["ps", "-aq"]).ok().trim(), "");
}

#[test]
fn exec_runs_in_the_container() {
    let Some(d) = with_busybox() else { return };
    d.docker(&["run", "-d", "--name", "ex", "-e", "BASE=1", "busybox", "sleep", "100"]).ok();
    let out = d.docker(&["exec", "ex", "sh", "-c", "echo in-exec; echo e >&2; exit 4"]);
    assert_eq!((out.code, out.stdout.as_str(), out.stderr.as_str()), (4, "in-exec\n", "e\n"));
    let out = d.docker(&["exec", "-e", "FOO=bar", "-w", "/tmp", "ex", "sh", "-c", "echo $BASE $FOO $(pwd)"]);
    assert_eq!(out.ok(), "1 bar /tmp\n");
    // The exec shares the container's PID namespace: the container's sleep is PID 1.
    assert_eq!(d.docker(&["exec", "ex", "cat", "/proc/1/cmdline"]).ok(), "sleep\u{0}100\u{0}");
    d.docker(&["exec", "-d", "ex", "sleep", "1"]).ok();
    let out = d.docker(&["exec", "ex", "nosuch"]);
    assert_eq!(out.code, 127, "{out:?}");
    assert!(out.stdout.contains("executable file not found"), "{out:?}");
    let out = d.wharf(&["exec", "ex", "echo", "via wharf"]);
    assert_eq!(out.ok(), "via wharf\n");
    // `docker exec -it` from a real terminal (util-linux `script` gives the CLI a pty): the
    // process has a TTY of the terminal's size.
    if std::path::Path::new("/usr/bin/script").exists() {
        let host = d.host();
        let cfg = d.client_config.display().to_string();
        let cli = wharf_it::docker_cli().display().to_string();
        let cmd = format!(
            "stty cols 91 rows 17; {cli} --config {cfg} -H {host} exec -it ex sh -c 'tty; stty size; echo done'"
        );
        // stdin stays open (a pipe nobody writes to) until the end, as a user's terminal does.
        let mut child = std::process::Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let out = child.wait_with_output().unwrap();
        drop(stdin);
        let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
        assert!(text.contains("/dev/pts/"), "{text} {}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("17 91\n"), "{text}");
        assert!(text.contains("done"), "{text}");
    }
    d.docker(&["rm", "-f", "ex"]).ok();
    let r = d.api("GET", "/exec/nosuch/json", None).unwrap();
    assert_eq!(r.status, 404);
}

#[test]
fn stats_and_top() {
    let Some(d) = with_busybox() else { return };
    d.docker(&["run", "-d", "--name", "busy", "-m", "64m", "busybox", "sh", "-c", "while true; do :; done"]).ok();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = d.docker(&["stats", "--no-stream", "--format", "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}"]);
    let line = out.ok().trim().to_string();
    let parts: Vec<&str> = line.split('|').collect();
    assert_eq!(parts[0], "busy", "{line}");
    let cpu: f64 = parts[1].trim_end_matches('%').parse().unwrap();
    assert!(cpu > 20.0, "a busy loop uses CPU: {line}");
    assert!(parts[2].ends_with("/ 64MiB"), "{line}");
    assert_eq!(parts[3], "1");
    let top = d.docker(&["top", "busy", "-o", "pid,comm"]);
    let rows: Vec<&str> = top.ok().lines().collect();
    assert!(rows[0].starts_with("PID") && rows.len() == 2 && rows[1].trim_end().ends_with("sh"), "{rows:?}");
    d.docker(&["rm", "-f", "busy"]).ok();
}

#[test]
fn restart_policies() {
    let Some(d) = with_busybox() else { return };
    d.docker(&["run", "-d", "--name", "fails", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 1"]).ok();
    d.docker(&["run", "-d", "--name", "always", "--restart", "always", "busybox", "sh", "-c", "sleep 0.2"]).ok();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let state =
        |n: &str| d.docker(&["inspect", "--format", "{{.State.Status}} {{.RestartCount}}", n]).ok().trim().to_string();
    loop {
        let f = state("fails");
        if f == "exited 2" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "on-failure:2 never settled: {f}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let count: i64 = state("always").split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(count >= 1, "always restarted: {}", state("always"));
    // A user stop ends `always`.
    d.docker(&["stop", "-t", "1", "always"]).ok();
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert!(state("always").starts_with("exited"), "{}", state("always"));
    d.docker(&["rm", "-f", "fails", "always"]).ok();
}

/// Polls `f` every 100 ms until it holds or `secs` pass.
fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> Option<String>) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn health_checks_move_between_states() {
    let Some(d) = with_busybox() else { return };
    let t0 = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string();
    d.docker(&[
        "run",
        "-d",
        "--name",
        "hc",
        "--health-cmd",
        "echo probing; test -f /tmp/ok",
        "--health-interval",
        "300ms",
        "--health-retries",
        "2",
        "busybox",
        "sleep",
        "100",
    ])
    .ok();
    let status = |n: &str| d.docker(&["inspect", "--format", "{{.State.Health.Status}}", n]).ok().trim().to_string();
    // Two failures: unhealthy; the probe's output is in the log; ps shows it and filters by it.
    eventually(10, "unhealthy", || (status("hc") == "unhealthy").then_some(String::new()));
    let log = d.docker(&[
        "inspect",
        "--format",
        "{{(index .State.Health.Log 0).Output}}|{{(index .State.Health.Log 0).ExitCode}}",
        "hc",
    ]);
    assert_eq!(log.ok().trim(), "probing\n|1");
    let ps = d.docker(&["ps", "--format", "{{.Status}}"]);
    assert!(ps.ok().trim().ends_with("(unhealthy)"), "{}", ps.stdout);
    assert_eq!(d.docker(&["ps", "-q", "--filter", "health=unhealthy"]).ok().lines().count(), 1);
    assert_eq!(d.docker(&["ps", "-q", "--filter", "health=healthy"]).ok().trim(), "");
    // Fixed: healthy, the streak resets.
    d.docker(&["exec", "hc", "touch", "/tmp/ok"]).ok();
    eventually(10, "healthy", || (status("hc") == "healthy").then_some(String::new()));
    assert_eq!(d.docker(&["inspect", "--format", "{{.State.Health.FailingStreak}}", "hc"]).ok().trim(), "0");
    assert!(d.docker(&["ps", "--format", "{{.Status}}"]).ok().trim().ends_with("(healthy)"));
    // Events for both transitions.
    let now = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 1).to_string();
    let ev = d.docker(&["events", "--since", &t0, "--until", &now, "--format", "{{.Action}}"]);
    let actions: Vec<&str> = ev.ok().lines().filter(|l| l.starts_with("health_status")).collect();
    assert_eq!(actions, ["health_status: unhealthy", "health_status: healthy"], "{}", ev.stdout);
    // A probe that outlives its timeout is killed and fails with Docker's text.
    d.docker(&[
        "run",
        "-d",
        "--name",
        "slow",
        "--health-cmd",
        "sleep 30",
        "--health-timeout",
        "200ms",
        "--health-interval",
        "200ms",
        "--health-retries",
        "1",
        "busybox",
        "sleep",
        "100",
    ])
    .ok();
    eventually(10, "timeout", || (status("slow") == "unhealthy").then_some(String::new()));
    let out = d.docker(&["inspect", "--format", "{{(index .State.Health.Log 0).Output}}", "slow"]);
    assert_eq!(out.ok().trim(), "Health check exceeded timeout (200ms)");
    // Killed, not piling up: after several timeouts at most the current probe runs.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let top = d.docker(&["top", "slow", "-o", "pid,args"]);
    assert!(top.ok().lines().filter(|l| l.contains("sleep 30")).count() <= 1, "{}", top.stdout);
    // A stopped container's check ends unhealthy, as Docker reports it; NONE disables the image's.
    d.docker(&["stop", "-t", "0", "hc"]).ok();
    assert_eq!(status("hc"), "unhealthy");
    d.docker(&["run", "-d", "--name", "none", "--no-healthcheck", "busybox", "sleep", "100"]).ok();
    assert_eq!(d.docker(&["inspect", "--format", "{{.State.Health}}", "none"]).ok().trim(), "<nil>");
    d.docker(&["rm", "-f", "hc", "slow", "none"]).ok();
}

#[test]
fn init_reaps_and_forwards_signals() {
    let Some(d) = with_busybox() else { return };
    if !std::path::Path::new("/usr/bin/tini-static").exists() {
        assert!(!wharf_it::strict(), "tini-static (Debian's tini) is needed for --init");
        return;
    }
    let ps = d.docker(&["run", "--rm", "--init", "busybox", "ps", "-o", "pid,args"]);
    let rows: Vec<String> =
        ps.ok().lines().skip(1).map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    assert_eq!(rows[0], "1 /sbin/docker-init -- ps -o pid,args", "{rows:?}");
    // An orphaned zombie is reaped by the init (sh as PID 1 would not reap a grandchild here).
    let out = d.docker(&[
        "run",
        "--rm",
        "--init",
        "busybox",
        "sh",
        "-c",
        "sh -c 'sleep 0.2 & exec true'; sleep 0.6; ps -o stat,args | grep -c '^Z' || true",
    ]);
    assert_eq!(out.ok().trim(), "0");
    // SIGTERM reaches a process that ignores it as PID 1 only through the init: stop is fast.
    d.docker(&["run", "-d", "--init", "--name", "ini", "busybox", "sleep", "100"]).ok();
    let t = std::time::Instant::now();
    d.docker(&["stop", "-t", "5", "ini"]).ok();
    assert!(t.elapsed() < std::time::Duration::from_secs(4), "stop took {:?}", t.elapsed());
    assert_eq!(d.docker(&["inspect", "--format", "{{.State.ExitCode}}", "ini"]).ok().trim(), "143");
    d.docker(&["rm", "ini"]).ok();
}

#[test]
fn update_changes_limits_live() {
    let Some(d) = with_busybox() else { return };
    d.docker(&["run", "-d", "--name", "up", "-m", "32m", "busybox", "sleep", "100"]).ok();
    let id = d.docker(&["inspect", "--format", "{{.Id}}", "up"]).ok().trim().to_string();
    let parent = d.slot.cgroup_parent.clone();
    let cg = |ctrl: &str, file: &str| {
        std::fs::read_to_string(format!("/sys/fs/cgroup/{ctrl}/{parent}/{id}/{file}")).unwrap().trim().to_string()
    };
    assert_eq!(cg("memory", "memory.limit_in_bytes"), (32u64 << 20).to_string());
    // Docker's rule: a memory limit above the old swap limit needs a new swap limit too.
    let err = d.docker(&["update", "-m", "128m", "up"]);
    assert!(err.failed().contains("update the memoryswap at the same time"), "{}", err.stderr);
    d.docker(&["update", "-m", "128m", "--memory-swap", "256m", "--pids-limit", "40", "--cpus", "0.5", "up"]).ok();
    assert_eq!(cg("memory", "memory.limit_in_bytes"), (128u64 << 20).to_string());
    assert_eq!(cg("pids", "pids.max"), "40");
    assert_eq!(cg("cpu", "cpu.cfs_quota_us"), "50000");
    let hc = d.docker(&[
        "inspect",
        "--format",
        "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}}",
        "up",
    ]);
    assert_eq!(hc.ok().trim(), format!("{} {} 40 500000000", 128u64 << 20, 256u64 << 20));
    // The restart policy, and Docker's refusals.
    d.docker(&["update", "--restart", "on-failure:3", "up"]).ok();
    assert_eq!(
        d.docker(&[
            "inspect",
            "--format",
            "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}",
            "up"
        ])
        .ok()
        .trim(),
        "on-failure:3"
    );
    let err = d.docker(&["update", "-m", "1m", "up"]);
    assert!(err.failed().contains("Minimum memory limit allowed is 6MB"), "{}", err.stderr);
    let err = d.docker(&["update", "--pids-limit", "5", "nosuch"]);
    assert!(err.failed().contains("No such container: nosuch"), "{}", err.stderr);
    // The kernel refuses a limit below current usage: the stored config stays as it was.
    d.docker(&["exec", "up", "sh", "-c", "head -c 20000000 /dev/zero > /dev/shm/fill"]).ok();
    let err = d.docker(&["update", "-m", "8m", "--memory-swap", "8m", "up"]);
    assert!(err.failed().contains("Cannot update container"), "{}", err.stderr);
    assert_eq!(
        d.docker(&["inspect", "--format", "{{.HostConfig.Memory}}", "up"]).ok().trim(),
        (128u64 << 20).to_string()
    );
    // Sizes: the 20 MB in /dev/shm are not the layer; a file in the layer is.
    d.docker(&["exec", "up", "sh", "-c", "head -c 300000 /dev/zero > /big"]).ok();
    let sizes = d.docker(&["ps", "--size", "--format", "{{.Size}}"]);
    assert!(sizes.ok().trim().starts_with("300kB (virtual "), "{}", sizes.stdout);
    // A stopped container takes an update and starts with it.
    d.docker(&["stop", "-t", "0", "up"]).ok();
    d.docker(&["update", "--pids-limit", "30", "up"]).ok();
    d.docker(&["start", "up"]).ok();
    assert_eq!(cg("pids", "pids.max"), "30");
    d.docker(&["rm", "-f", "up"]).ok();
}

#[test]
fn cp_diff_export_commit() {
    let Some(d) = with_busybox() else { return };
    d.docker(&[
        "run",
        "-d",
        "--name",
        "files",
        "busybox",
        "sh",
        "-c",
        "mkdir /data && echo hello > /data/a.txt && ln -s / /data/escape && ln -s /etc/passwd /data/pw && sleep 100",
    ])
    .ok();
    let ready = || d.docker(&["exec", "files", "test", "-L", "/data/pw"]).code == 0;
    for _ in 0..50 {
        if ready() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let out = tempfile::tempdir().unwrap();
    let o = |p: &str| out.path().join(p);
    // Out of the container: a directory, and paths through the container's own symlinks,
    // which resolve inside the container — never on the host.
    d.docker(&["cp", "files:/data", o("").to_str().unwrap()]).ok();
    assert_eq!(std::fs::read_to_string(o("data/a.txt")).unwrap(), "hello\n");
    assert_eq!(std::fs::read_link(o("data/escape")).unwrap(), std::path::Path::new("/"));
    d.docker(&["cp", "files:/data/escape/etc/passwd", o("passwd").to_str().unwrap()]).ok();
    let container_passwd = d.docker(&["exec", "files", "cat", "/etc/passwd"]).ok().to_string();
    assert_eq!(std::fs::read_to_string(o("passwd")).unwrap(), container_passwd);
    assert_ne!(container_passwd, std::fs::read_to_string("/etc/passwd").unwrap());
    // -L follows the last link, again inside the container.
    d.docker(&["cp", "-L", "files:/data/pw", o("pw").to_str().unwrap()]).ok();
    assert_eq!(std::fs::read_to_string(o("pw")).unwrap(), container_passwd);
    let err = d.docker(&["cp", "files:/nosuch", o("x").to_str().unwrap()]);
    assert!(err.failed().contains("Could not find the file /nosuch in container files"), "{}", err.stderr);
    // Into the container, also through a symlinked directory: it lands in the container's /tmp.
    std::fs::write(o("in.txt"), "in\n").unwrap();
    d.docker(&["cp", o("in.txt").to_str().unwrap(), "files:/tmp/"]).ok();
    assert_eq!(d.docker(&["exec", "files", "cat", "/tmp/in.txt"]).ok(), "in\n");
    d.docker(&["cp", o("in.txt").to_str().unwrap(), "files:/data/escape/tmp/via-link.txt"]).ok();
    assert_eq!(d.docker(&["exec", "files", "cat", "/tmp/via-link.txt"]).ok(), "in\n");
    assert!(!std::path::Path::new("/tmp/via-link.txt").exists());
    // A tar on stdin: a member that tries to climb out stays inside.
    let tar = tar_with(&[("../../../../outside-wharf-it.txt", b"x")]);
    let _ = d.docker_stdin(&["cp", "-", "files:/tmp"], &tar);
    assert!(!std::path::Path::new("/outside-wharf-it.txt").exists());
    let tar = tar_with(&[("streamed.txt", b"via stdin")]);
    d.docker_stdin(&["cp", "-", "files:/tmp"], &tar).ok();
    assert_eq!(d.docker(&["exec", "files", "cat", "/tmp/streamed.txt"]).ok(), "via stdin");

    // diff: Docker's letters, without the runtime's mount points.
    let diff = d.docker(&["diff", "files"]);
    let lines: Vec<&str> = diff.ok().lines().collect();
    for want in ["A /data", "A /data/a.txt", "A /data/escape", "C /tmp", "A /tmp/in.txt"] {
        assert!(lines.contains(&want), "{want} missing: {lines:?}");
    }
    assert!(!lines.iter().any(|l| l.contains("/etc/hosts") || l.contains("/proc")), "{lines:?}");

    // export: the whole filesystem with the container's changes.
    let exported = d.docker(&["export", "-o", o("fs.tar").to_str().unwrap(), "files"]);
    exported.ok();
    let names = std::process::Command::new("tar").arg("tf").arg(o("fs.tar")).output().unwrap();
    let names = String::from_utf8_lossy(&names.stdout);
    // Members as dockerd names them: relative, no `./`, no entry for the root itself.
    assert!(names.lines().any(|l| l == "data/a.txt"), "{names}");
    assert!(names.lines().any(|l| l == "bin/busybox"), "{names}");
    assert!(names.lines().any(|l| l == "bin/"), "{names}");
    assert!(!names.lines().any(|l| l.starts_with("./") || l.starts_with('/')), "{names}");

    // commit (the container keeps running): a new image with one more layer, the change
    // applied; a container of it sees the files.
    let id = d.docker(&["commit", "-c", "ENV COMMITTED=yes", "-m", "a message", "-a", "me", "files", "snap:v1"]);
    let id = id.ok().trim().to_string();
    assert!(id.starts_with("sha256:"), "{id}");
    let layers = |img: &str| {
        d.docker(&["image", "inspect", "--format", "{{len .RootFS.Layers}}", img]).ok().trim().parse::<usize>().unwrap()
    };
    assert_eq!(layers("snap:v1"), layers("busybox") + 1);
    assert_eq!(
        d.docker(&["image", "inspect", "--format", "{{.Author}}|{{.Comment}}", "snap:v1"]).ok().trim(),
        "me|a message"
    );
    let run = d.docker(&["run", "--rm", "snap:v1", "sh", "-c", "cat /data/a.txt /tmp/in.txt; echo $COMMITTED"]);
    assert_eq!(run.ok(), "hello\nin\nyes\n");
    // The committed layer holds the container's changes, not the runtime's mount points.
    d.docker(&["save", "-o", o("snap.tar").to_str().unwrap(), "snap:v1"]).ok();
    let members = committed_layer_members(&std::fs::read(o("snap.tar")).unwrap());
    assert!(members.iter().any(|m| m == "data/a.txt"), "{members:?}");
    for gone in ["etc/hosts", "etc/hostname", "etc/resolv.conf", "proc/", "dev/", "sys/"] {
        assert!(!members.iter().any(|m| m == gone), "{gone} in {members:?}");
    }
    assert_eq!(d.docker(&["inspect", "--format", "{{.State.Status}}", "files"]).ok().trim(), "running");
    // A stopped container too, and through wharf.
    d.docker(&["stop", "-t", "0", "files"]).ok();
    d.docker(&["cp", "files:/data/a.txt", o("stopped.txt").to_str().unwrap()]).ok();
    assert_eq!(std::fs::read_to_string(o("stopped.txt")).unwrap(), "hello\n");
    d.wharf(&["commit", "files", "snap:v2"]).ok();
    assert_eq!(d.docker(&["run", "--rm", "snap:v2", "cat", "/data/a.txt"]).ok(), "hello\n");
    d.docker(&["rm", "-f", "files"]).ok();
}

/// The member names of the top layer of a `docker save` archive.
fn committed_layer_members(archive: &[u8]) -> Vec<String> {
    let mut files: std::collections::HashMap<String, Vec<u8>> = Default::default();
    for e in tar::Archive::new(archive).entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        files.insert(name, data);
    }
    let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let top = manifest[0]["Layers"].as_array().unwrap().last().unwrap().as_str().unwrap().to_string();
    tar::Archive::new(files[&top].as_slice())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// An uncompressed tar of `(name, content)` regular files, names written as given.
fn tar_with(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in files {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..108].copy_from_slice(b"0000644\0");
        h[108..116].copy_from_slice(b"0000000\0");
        h[116..124].copy_from_slice(b"0000000\0");
        h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
        h[136..148].copy_from_slice(b"00000000000\0");
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

#[test]
fn log_drivers_and_rotation() {
    let Some(d) = with_busybox() else { return };
    // json-file with max-size/max-file: rotated files, the newest lines readable with logs.
    let script = "i=0; while [ $i -lt 400 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done";
    d.docker(&[
        "run",
        "--name",
        "rot",
        "--log-opt",
        "max-size=4k",
        "--log-opt",
        "max-file=3",
        "busybox",
        "sh",
        "-c",
        script,
    ])
    .ok();
    let path = d.docker(&["inspect", "--format", "{{.LogPath}}", "rot"]).ok().trim().to_string();
    let p = std::path::Path::new(&path);
    assert!(p.exists() && p.with_extension("log.1").exists(), "{path}");
    assert!(!std::path::Path::new(&format!("{path}.3")).exists(), "max-file=3 keeps 3 files");
    for f in [path.clone(), format!("{path}.1"), format!("{path}.2")] {
        let len = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
        assert!(len <= 4096 + 256, "{f}: {len} bytes");
    }
    let logs = d.docker(&["logs", "rot"]);
    let lines: Vec<&str> = logs.ok().lines().collect();
    assert_eq!(lines.last().copied(), Some("line-399-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
    assert!(lines.len() < 400 && lines.len() > 50, "{} lines kept", lines.len());
    let tail = d.docker(&["logs", "--tail", "2", "rot"]);
    assert_eq!(tail.ok().lines().next(), Some("line-398-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
    // local: Docker's protobuf file, read back by logs; none: nothing to read.
    d.docker(&["run", "--name", "loc", "--log-driver", "local", "busybox", "sh", "-c", "echo out; echo err >&2"]).ok();
    let logs = d.docker(&["logs", "loc"]);
    assert_eq!((logs.stdout.as_str(), logs.stderr.as_str()), ("out\n", "err\n"));
    d.docker(&["run", "--name", "nolog", "--log-driver", "none", "busybox", "echo", "gone"]).ok();
    let err = d.docker(&["logs", "nolog"]);
    assert!(err.failed().contains("configured logging driver does not support reading"), "{}", err.stderr);
    d.docker(&["rm", "rot", "loc", "nolog"]).ok();
}

#[test]
fn detach_keys_leave_the_container_running() {
    use std::io::{Read, Write};
    let Some(d) = with_busybox() else { return };
    d.docker(&["run", "-dit", "--name", "tty", "busybox", "sh"]).ok();
    // A raw hijacked attach, as clients without their own escape handling use it.
    let mut s = std::os::unix::net::UnixStream::connect(&d.socket).unwrap();
    s.write_all(
        b"POST /containers/tty/attach?stdin=1&stdout=1&stream=1&detachKeys=ctrl-x,ctrl-y HTTP/1.1\r\nHost: d\r\nUpgrade: tcp\r\nConnection: Upgrade\r\n\r\n",
    )
    .unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut b).unwrap(), 1);
        head.push(b[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
    s.write_all(b"echo marker-$((40+2))\n").unwrap();
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("marker-42") {
        let mut chunk = [0u8; 256];
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "{}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&chunk[..n]);
    }
    // ctrl-x, ctrl-y one key at a time: the daemon ends the attach, the shell lives on.
    for key in [24u8, 25] {
        s.write_all(&[key]).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // The daemon closes the connection (EOF, not a timeout).
    s.set_read_timeout(Some(std::time::Duration::from_secs(3))).unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).expect("the attach ends at the detach keys");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(d.docker(&["inspect", "--format", "{{.State.Status}}", "tty"]).ok().trim(), "running");
    assert_eq!(d.docker(&["exec", "tty", "echo", "still"]).ok(), "still\n");
    // Bad keys are refused as dockerd does.
    let r = d.api("POST", "/containers/tty/attach?stdin=1&stream=1&detachKeys=ctrl-1", None).unwrap();
    assert_eq!(r.status, 400);
    d.docker(&["rm", "-f", "tty"]).ok();
}

#[test]
fn runtimes_by_name() {
    if !wharf_it::images::have_busybox() {
        return;
    }
    let Some(runc) = ["/usr/sbin/runc", "/usr/bin/runc"].into_iter().find(|p| std::path::Path::new(p).exists()) else {
        assert!(!wharf_it::strict(), "runc is needed");
        return;
    };
    let d = wharf_it::Daemon::start_with(wharf_it::DaemonOpts {
        args: vec!["--add-runtime".into(), format!("mine={runc}")],
        ..Default::default()
    });
    let img = wharf_it::images::busybox_image("busybox:latest");
    let file = d.root.path().join("busybox.tar");
    std::fs::write(&file, &img.archive).unwrap();
    d.docker(&["load", "-i", file.to_str().unwrap()]).ok();
    let info = d.docker(&["info", "--format", "{{.DefaultRuntime}} {{len .Runtimes}}"]);
    assert_eq!(info.ok().trim(), "libcontainer 3");
    // The configured runtime runs the container: the shim says which it drives.
    let out = d.docker(&["run", "--rm", "--runtime", "mine", "busybox", "echo", "via mine"]);
    assert_eq!(out.ok(), "via mine\n");
    let id = d.docker(&["run", "-d", "--runtime", "mine", "busybox", "sleep", "30"]).ok().trim().to_string();
    let log = std::fs::read_to_string(d.exec_root.join("c").join(&id[..24]).join("shim.log")).unwrap();
    assert!(log.contains(&format!("(runtime {runc})")), "{log}");
    d.docker(&["rm", "-f", &id]).ok();
    d.docker(&["create", "--name", "dflt", "busybox", "true"]).ok();
    assert_eq!(d.docker(&["inspect", "--format", "{{.HostConfig.Runtime}}", "dflt"]).ok().trim(), "libcontainer");
    let err = d.docker(&["create", "--runtime", "nosuch", "busybox"]);
    assert!(err.failed().contains("Unknown runtime specified nosuch"), "{}", err.stderr);
    d.docker(&["rm", "dflt"]).ok();
}

#[test]
fn limits_the_host_cannot_enforce_are_dropped_with_dockers_warning() {
    let Some(d) = with_busybox() else { return };
    let weight = std::path::Path::new("/sys/fs/cgroup/blkio/blkio.weight").exists()
        || std::path::Path::new("/sys/fs/cgroup/blkio/blkio.bfq.weight").exists()
        || std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let run = d.docker(&["run", "--rm", "--blkio-weight", "300", "busybox", "echo", "ran"]);
    assert_eq!(run.ok(), "ran\n");
    if !weight {
        // This kernel has no blkio weight (no CFQ/BFQ weight file): Docker's warning, and the
        // container runs without it.
        assert!(run.stderr.contains("does not support Block I/O weight"), "{}", run.stderr);
    }
    let err = d.docker(&["run", "--rm", "-m", "4m", "busybox", "true"]);
    assert!(err.failed().contains("Minimum memory limit allowed is 6MB"), "{}", err.stderr);
    let err = d.docker(&["create", "--memory-swap", "64m", "busybox"]);
    assert!(
        err.failed().contains("You should always set the Memory limit when using Memoryswap limit"),
        "{}",
        err.stderr
    );
}

#[test]
fn wharf_cli_files_stats_top_update() {
    let Some(d) = with_busybox() else { return };
    d.wharf(&["run", "-d", "--name", "wc", "-m", "64m", "busybox", "sh", "-c", "echo hi > /hello; sleep 100"]).ok();
    for _ in 0..50 {
        if d.docker(&["exec", "wc", "test", "-f", "/hello"]).code == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // stats and top: the same as the docker CLI prints.
    let (w, k) = d.both(&["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}} {{.MemUsage}}"]);
    let (w, k) = (w.ok().to_string(), k.ok().to_string());
    assert!(w.starts_with("wc 1 ") && w.trim_end().ends_with("/ 64MiB"), "{w}");
    assert_eq!(w.split_whitespace().next(), k.split_whitespace().next());
    let (w, k) = d.both(&["top", "wc", "-o", "pid,comm"]);
    assert_eq!(w.ok(), k.ok());
    // cp out and in, diff, export.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("hello");
    d.wharf(&["cp", "wc:/hello", out.to_str().unwrap()]).ok();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "hi\n");
    std::fs::write(tmp.path().join("up.txt"), "up\n").unwrap();
    d.wharf(&["cp", tmp.path().join("up.txt").to_str().unwrap(), "wc:/tmp/"]).ok();
    assert_eq!(d.docker(&["exec", "wc", "cat", "/tmp/up.txt"]).ok(), "up\n");
    let (w, k) = d.both(&["diff", "wc"]);
    assert_eq!(w.ok(), k.ok());
    assert!(w.stdout.lines().any(|l| l == "A /hello"), "{}", w.stdout);
    let tar = tmp.path().join("w.tar");
    d.wharf(&["export", "-o", tar.to_str().unwrap(), "wc"]).ok();
    assert!(std::fs::metadata(&tar).unwrap().len() > 1_000_000);
    // update: live, then visible in inspect.
    d.wharf(&["update", "--pids-limit", "33", "wc"]).ok();
    assert_eq!(d.docker(&["inspect", "--format", "{{.HostConfig.PidsLimit}}", "wc"]).ok().trim(), "33");
    let err = d.wharf(&["update", "wc"]);
    assert!(err.failed().contains("you must provide one or more flags"), "{}", err.stderr);
    d.docker(&["rm", "-f", "wc"]).ok();
}
