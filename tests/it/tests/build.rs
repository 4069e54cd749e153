//! `docker build` with the classic builder (`DOCKER_BUILDKIT=0`) against wharfd: a two-stage
//! build run afterwards, the step cache (a rebuild runs no RUN; a changed COPY source re-runs
//! only what follows it), a failing RUN's error and no tag, `.dockerignore`, and sources that
//! try to leave the context.

use std::path::{Path, PathBuf};

use wharf_it::images::daemon_with_busybox;
use wharf_it::Daemon;

/// A build context directory under the daemon's root with `files` (name → content).
fn context(d: &Daemon, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = d.root.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for (f, text) in files {
        let p = dir.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

fn build(d: &Daemon, dir: &Path, tag: &str) -> wharf_it::CmdResult {
    // The classic builder: the test binary's own environment is inherited by the docker CLI.
    std::env::set_var("DOCKER_BUILDKIT", "0");
    d.docker(&["build", "-t", tag, dir.to_str().unwrap()])
}

fn has_line(out: &str, line: &str) -> bool {
    out.lines().any(|l| l.trim() == line)
}

const TWO_STAGE: &str = "FROM busybox AS builder
RUN echo built-by-stage-one > /out.txt && echo RUN-MARKER-ONE
COPY a.txt /src/a.txt
RUN cat /src/a.txt >> /out.txt && echo RUN-MARKER-TWO

FROM busybox
COPY --from=builder /out.txt /app/out.txt
ENV GREETING=hello
WORKDIR /app
CMD [\"sh\", \"-c\", \"echo $GREETING; cat out.txt\"]
";

#[test]
fn two_stage_build_runs_and_caches() {
    let Some(mut d) = daemon_with_busybox() else { return };
    let dir = context(&d, "ctx", &[("Dockerfile", TWO_STAGE), ("a.txt", "first\n")]);

    let r = build(&d, &dir, "x");
    assert_eq!(r.code, 0, "{} {}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Step 1/9 : FROM busybox AS builder"), "{}", r.stdout);
    assert!(has_line(&r.stdout, "RUN-MARKER-ONE"), "{}", r.stdout);
    assert!(r.stdout.contains("Successfully built "), "{}", r.stdout);
    assert!(r.stdout.contains("Successfully tagged x:latest"), "{}", r.stdout);
    let run = d.docker(&["run", "--rm", "x"]);
    assert_eq!(run.ok(), "hello\nbuilt-by-stage-one\nfirst\n");

    // No change: every step from the cache, no RUN runs.
    let again = build(&d, &dir, "x");
    assert_eq!(again.code, 0, "{} {}", again.stdout, again.stderr);
    assert_eq!(again.stdout.matches(" ---> Using cache").count(), 7, "{}", again.stdout);
    assert!(!has_line(&again.stdout, "RUN-MARKER-ONE"), "{}", again.stdout);
    assert!(!has_line(&again.stdout, "RUN-MARKER-TWO"), "{}", again.stdout);

    // A changed COPY source: the steps before it are cached, the RUN after it runs again.
    std::fs::write(dir.join("a.txt"), "second\n").unwrap();
    let changed = build(&d, &dir, "x");
    assert_eq!(changed.code, 0, "{} {}", changed.stdout, changed.stderr);
    assert!(!has_line(&changed.stdout, "RUN-MARKER-ONE"), "{}", changed.stdout);
    assert!(has_line(&changed.stdout, "RUN-MARKER-TWO"), "{}", changed.stdout);
    assert_eq!(d.docker(&["run", "--rm", "x"]).ok(), "hello\nbuilt-by-stage-one\nsecond\n");
    d.stop();
}

#[test]
fn failing_run_reports_docker_error_and_tags_nothing() {
    let Some(mut d) = daemon_with_busybox() else { return };
    let dir = context(&d, "ctx", &[("Dockerfile", "FROM busybox\nRUN false\n")]);
    let r = build(&d, &dir, "bad");
    assert_eq!(r.code, 1, "{} {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("The command '/bin/sh -c false' returned a non-zero code: 1"), "{}", r.stderr);
    assert_ne!(d.docker(&["image", "inspect", "bad"]).code, 0);
    // As dockerd: the failed step's container stays (`rm` removes only after a success)…
    assert_eq!(d.docker(&["ps", "-aq"]).ok().lines().count(), 1);
    d.docker(&["container", "prune", "-f"]).ok();
    // … unless `--force-rm`.
    let r = d.docker(&["build", "--force-rm", "-t", "bad", dir.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{} {}", r.stdout, r.stderr);
    assert_eq!(d.docker(&["ps", "-aq"]).ok(), "");
    // `--rm=false` keeps the containers of successful steps.
    let ok = context(&d, "ok", &[("Dockerfile", "FROM busybox\nRUN true\n")]);
    let r = d.docker(&["build", "--rm=false", ok.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{} {}", r.stdout, r.stderr);
    assert_eq!(d.docker(&["ps", "-aq"]).ok().lines().count(), 1);
    d.stop();
}

#[test]
fn dockerignore_and_context_escapes() {
    let Some(mut d) = daemon_with_busybox() else { return };
    let dir = context(
        &d,
        "ctx",
        &[
            ("Dockerfile", "FROM busybox\nCOPY . /ctx/\nCMD [\"ls\", \"/ctx\"]\n"),
            (".dockerignore", "secret.txt\n"),
            ("secret.txt", "s"),
            ("public.txt", "p"),
        ],
    );
    let r = build(&d, &dir, "ign");
    assert_eq!(r.code, 0, "{} {}", r.stdout, r.stderr);
    let ls = d.docker(&["run", "--rm", "ign"]);
    assert!(ls.ok().contains("public.txt"), "{}", ls.stdout);
    assert!(!ls.stdout.contains("secret.txt"), "{}", ls.stdout);

    let up = context(&d, "up", &[("Dockerfile", "FROM busybox\nCOPY ../x /x\n")]);
    std::fs::write(d.root.path().join("x"), "outside").unwrap();
    let r = build(&d, &up, "up");
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(r.stderr.contains("COPY failed: forbidden path outside the build context: ../x"), "{}", r.stderr);

    let link = context(&d, "link", &[("Dockerfile", "FROM busybox\nCOPY link /x\n")]);
    std::os::unix::fs::symlink("/etc/hostname", link.join("link")).unwrap();
    let r = build(&d, &link, "link");
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stderr.contains("COPY failed: file not found in build context or excluded by .dockerignore: stat link"),
        "{}",
        r.stderr
    );
    assert_ne!(d.docker(&["image", "inspect", "link"]).code, 0);
    // An absolute link is resolved inside the context, as dockerd's `FollowSymlinkInScope`.
    let scoped = context(
        &d,
        "scoped",
        &[("Dockerfile", "FROM busybox\nCOPY link /x\nCMD [\"cat\", \"/x\"]\n"), ("etc/hostname", "inside\n")],
    );
    std::os::unix::fs::symlink("/etc/hostname", scoped.join("link")).unwrap();
    let r = build(&d, &scoped, "scoped");
    assert_eq!(r.code, 0, "{} {}", r.stdout, r.stderr);
    assert_eq!(d.docker(&["run", "--rm", "scoped"]).ok(), "inside\n");
    d.stop();
}

/// A tar with one file `inner/hello.txt`.
fn small_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "inner/hello.txt", &b"hi\n"[..]).unwrap();
    b.into_inner().unwrap()
}

#[test]
fn instructions_args_target_and_persistent_cache() {
    let Some(mut d) = daemon_with_busybox() else { return };
    let dockerfile = "ARG BASE=busybox
FROM $BASE AS base
ARG WHO=nobody
LABEL stage=base
RUN echo \"hello $WHO\" > /who.txt
ADD files.tar /unpacked/
COPY --chown=1234:5678 *.conf /etc/app/
EXPOSE 8080
USER 1234
ENTRYPOINT [\"cat\"]
CMD [\"/who.txt\"]

FROM base AS later
RUN echo should-not-run
";
    let dir = context(&d, "ctx", &[("Dockerfile", dockerfile), ("a.conf", "a"), ("b.conf", "b"), ("c.txt", "c")]);
    std::fs::write(dir.join("files.tar"), small_tar()).unwrap();
    std::env::set_var("DOCKER_BUILDKIT", "0");
    let args = ["build", "--target", "base", "--build-arg", "WHO=world", "--label", "by=test", "-t", "t1"];
    let r = d.docker(&[&args[..], &[dir.to_str().unwrap()]].concat());
    assert_eq!(r.code, 0, "{} {}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("should-not-run"), "{}", r.stdout);
    assert_eq!(d.docker(&["run", "--rm", "t1"]).ok(), "hello world\n");
    assert_eq!(d.docker(&["run", "--rm", "t1", "/unpacked/inner/hello.txt"]).ok(), "hi\n");
    let ls = d.docker(&["run", "--rm", "--entrypoint", "ls", "t1", "-ln", "/etc/app"]);
    assert!(ls.ok().contains("1234     5678"), "{}", ls.stdout);
    assert!(ls.stdout.contains("a.conf") && ls.stdout.contains("b.conf") && !ls.stdout.contains("c.txt"));
    let cfg: serde_json::Value =
        serde_json::from_str(d.docker(&["image", "inspect", "-f", "{{json .Config}}", "t1"]).ok()).unwrap();
    assert_eq!(cfg["User"], "1234");
    assert_eq!(cfg["Entrypoint"], serde_json::json!(["cat"]));
    assert_eq!(cfg["Cmd"], serde_json::json!(["/who.txt"]));
    assert_eq!(cfg["Labels"], serde_json::json!({"stage": "base", "by": "test"}));
    assert!(cfg["ExposedPorts"].get("8080/tcp").is_some(), "{cfg}");
    // Build args are not in the image.
    assert!(!cfg["Env"].to_string().contains("WHO"), "{cfg}");

    // The cache is in the database: it survives a restart.
    d.stop();
    d.spawn();
    d.wait_ready();
    let again = d.docker(&[&args[..], &[dir.to_str().unwrap()]].concat());
    assert_eq!(again.code, 0, "{} {}", again.stdout, again.stderr);
    assert!(!has_line(&again.stdout, "hello world"), "{}", again.stdout);
    assert!(again.stdout.contains(" ---> Using cache"), "{}", again.stdout);
    // Another build arg value re-runs the RUN.
    let other = d.docker(&["build", "--target", "base", "--build-arg", "WHO=you", "-t", "t2", dir.to_str().unwrap()]);
    assert_eq!(other.code, 0, "{} {}", other.stdout, other.stderr);
    assert_eq!(d.docker(&["run", "--rm", "t2"]).ok(), "hello you\n");
    // A RUN after ENTRYPOINT keeps the image's (reset) Cmd, not the RUN's command.
    let ep = context(&d, "ep", &[("Dockerfile", "FROM busybox\nENTRYPOINT [\"echo\"]\nRUN true\n")]);
    let r = build(&d, &ep, "ep");
    assert_eq!(r.code, 0, "{} {}", r.stdout, r.stderr);
    assert_eq!(d.docker(&["image", "inspect", "-f", "{{json .Config.Cmd}}", "ep"]).ok(), "null\n");
    assert_eq!(d.docker(&["run", "--rm", "ep"]).ok(), "\n");
    // COPY of a file to an existing directory without a trailing `/` puts it inside; WORKDIR
    // makes its directory.
    let cp = context(
        &d,
        "cp",
        &[("Dockerfile", "FROM busybox\nCOPY a.conf /etc\nWORKDIR /made/here\nRUN pwd > /pwd.txt\n"), ("a.conf", "x")],
    );
    let r = build(&d, &cp, "cp");
    assert_eq!(r.code, 0, "{} {}", r.stdout, r.stderr);
    assert_eq!(d.docker(&["run", "--rm", "cp", "cat", "/etc/a.conf", "/pwd.txt"]).ok(), "x/made/here\n");
    // --no-cache runs every step.
    let nc = d.docker(&["build", "--no-cache", "--target", "base", "-t", "t3", dir.to_str().unwrap()]);
    assert_eq!(nc.code, 0, "{} {}", nc.stdout, nc.stderr);
    assert!(!nc.stdout.contains("Using cache"), "{}", nc.stdout);
    d.stop();
}

/// A tar of `files` (name → content).
fn tar_of(files: &[(&str, &str)]) -> Vec<u8> {
    use wharf_it::images::{layer_tar, Entry};
    let entries: Vec<Entry> =
        files.iter().map(|(n, t)| Entry::File(n.to_string(), 0o644, t.as_bytes().to_vec())).collect();
    layer_tar(&entries)
}

#[test]
fn raw_api_stream() {
    let Some(mut d) = daemon_with_busybox() else { return };
    let ctx = tar_of(&[("sub/Custom", "FROM busybox\nARG V\nRUN echo \"v=$V\"\n")]);
    let q = "/build?dockerfile=sub%2FCustom&t=api%3A1&buildargs=%7B%22V%22%3A%2242%22%7D";
    let r = d.api("POST", q, Some(&ctx)).unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let msgs: Vec<serde_json::Value> = r.text().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(msgs[0], serde_json::json!({"stream": "Step 1/3 : FROM busybox\n"}));
    assert!(msgs.iter().any(|m| m["stream"] == "v=42\n"), "{}", r.text());
    let id = msgs.iter().find_map(|m| m["aux"]["ID"].as_str()).expect("aux ID").to_string();
    assert!(msgs.iter().any(|m| m["stream"] == "Successfully tagged api:1\n"), "{}", r.text());
    assert_eq!(d.docker(&["image", "inspect", "-f", "{{.Id}}", "api:1"]).ok().trim(), id);

    let bad = tar_of(&[("Dockerfile", "FROM busybox\nRUN exit 3\n")]);
    let r = d.api("POST", "/build", Some(&bad)).unwrap();
    let last = r.text().lines().last().unwrap().to_string();
    let msg = "The command '/bin/sh -c exit 3' returned a non-zero code: 3";
    assert_eq!(last, format!("{{\"errorDetail\":{{\"message\":\"{msg}\"}},\"error\":\"{msg}\"}}"));

    let missing = tar_of(&[("Dockerfile", "FROM nosuchimage\n")]);
    let r = d.api("POST", "/build", Some(&missing)).unwrap();
    assert!(r.text().contains("\"error\":\"pull access denied for nosuchimage"), "{}", r.text());
    d.stop();
}

#[test]
fn wharf_build_matches_docker_build() {
    let Some(mut d) = daemon_with_busybox() else { return };
    let dir = context(
        &d,
        "wctx",
        &[
            ("Dockerfile", TWO_STAGE),
            ("a.txt", "from-a\n"),
            ("secret.txt", "do not send\n"),
            (".dockerignore", "secret.txt\nDockerfile\n"),
        ],
    );
    // The same build through our CLI: the ignore file applied client-side, the Dockerfile
    // still sent although it is listed there.
    let out = d.wharf(&["build", "-t", "wb:1", dir.to_str().unwrap()]);
    let out = out.ok();
    assert!(out.contains("Successfully tagged wb:1"), "{out}");
    assert!(has_line(out, "RUN-MARKER-ONE"), "{out}");
    let ran = d.docker(&["run", "--rm", "wb:1", "sh", "-c", "cat /app/out.txt; ls /app"]);
    assert!(ran.ok().starts_with("built-by-stage-one\nfrom-a\n"), "{}", ran.stdout);
    // -q prints only the ID, --iidfile writes it; the rebuild is all cache.
    let iid = d.root.path().join("iid");
    let q = d.wharf(&["build", "-q", "--iidfile", iid.to_str().unwrap(), "-t", "wb:1", dir.to_str().unwrap()]);
    let id = q.ok().trim().to_string();
    assert!(id.starts_with("sha256:") && !q.stdout.contains("Step"), "{}", q.stdout);
    assert_eq!(std::fs::read_to_string(&iid).unwrap(), id);
    let inspected = d.docker(&["image", "inspect", "--format", "{{.Id}}", "wb:1"]);
    assert_eq!(inspected.ok().trim(), id);
    // The ignored file never reached the daemon: COPY of it fails.
    std::fs::write(dir.join("Dockerfile"), "FROM busybox\nCOPY secret.txt /s\n").unwrap();
    let err = d.wharf(&["build", dir.to_str().unwrap()]);
    assert!(err.failed().contains("secret.txt"), "{}", err.stderr);
    // --print-ast needs no daemon: BuildKit's dump.
    let ast = d.wharf(&["build", "--print-ast", "-f", dir.join("Dockerfile").to_str().unwrap(), "."]);
    assert_eq!(ast.ok(), "(from \"busybox\")\n(copy \"secret.txt\" \"/s\")\n");
    d.stop();
}
