//! Typed instructions against BuildKit's `instructions/parse_test.go` and `bflag` behaviour,
//! with today's error texts.

use std::collections::BTreeMap;

use wharf_dockerfile::instructions::{
    self, parse_instruction, resolve_meta_args, Command, Instruction, MountType, ShareMode,
};
use wharf_dockerfile::shell::{env_from_slice, Lex};
use wharf_dockerfile::{parse, Arg, ErrorKind, Location, Node};

fn first(src: &str) -> Result<Instruction, String> {
    let df = parse(src).unwrap();
    parse_instruction(&df.ast.children[0]).map_err(|e| e.to_string())
}

fn command(src: &str) -> Command {
    match first(src).unwrap() {
        Instruction::Command(c) => c,
        Instruction::Stage(_) => panic!("{src}: a stage"),
    }
}

fn stages(src: &str) -> Result<(Vec<instructions::Stage>, Vec<instructions::ArgCommand>), String> {
    instructions::parse(&parse(src).unwrap().ast).map_err(|e| e.to_string())
}

#[test]
fn argument_counts() {
    // TestCommandsExactlyOneArgument, TestCommandsAtLeastOneArgument,
    // TestCommandsNoDestinationArgument.
    for c in ["MAINTAINER", "WORKDIR", "USER", "STOPSIGNAL"] {
        assert_eq!(first(c).unwrap_err(), format!("{c} requires exactly one argument"));
    }
    for c in ["ENV", "LABEL", "ONBUILD", "HEALTHCHECK", "EXPOSE", "VOLUME", "ARG", "SHELL"] {
        assert_eq!(first(c).unwrap_err(), format!("{c} requires at least one argument"));
    }
    for c in ["ADD", "COPY"] {
        assert_eq!(
            first(&format!("{c} arg1")).unwrap_err(),
            format!(
                "{c} requires at least two arguments, but only one was provided. Destination could not be determined"
            )
        );
    }
}

#[test]
fn kvp_shapes() {
    // TestCommandsTooManyArguments, TestCommandsBlankNames (nodes built by hand).
    let node = |args: &[&str]| Node {
        value: "env".into(),
        next: args.iter().map(|a| Arg::Value(a.to_string())).collect(),
        ..Node::default()
    };
    let e = parse_instruction(&node(&["arg1", "arg2", "=", "arg4"])).unwrap_err();
    assert_eq!(e.to_string(), "Bad input to ENV, too many arguments");
    let e = parse_instruction(&node(&["", "arg2", "="])).unwrap_err();
    assert_eq!(e.to_string(), "ENV names can not be blank");
    assert_eq!(first("ARG =x").unwrap_err(), "ARG names can not be blank");
    let Command::Env(env) = command("ENV A=1 B=\"2 3\"") else { panic!() };
    assert_eq!(
        env.env.iter().map(|k| (&k.key[..], &k.value[..], k.no_delim)).collect::<Vec<_>>(),
        [("A", "1", false), ("B", "\"2 3\"", false)]
    );
    let Command::Label(l) = command("LABEL a b c") else { panic!() };
    assert!(l.labels[0].no_delim && l.labels[0].value == "b c");
}

#[test]
fn error_cases() {
    // TestErrorCases, with today's texts.
    let cases = [
        ("COPY\t\n\t\tquux \\\n      bar", "COPY requires at least two arguments"),
        ("ONBUILD FROM scratch", "FROM isn't allowed as an ONBUILD trigger"),
        ("ONBUILD MAINTAINER docker.io", "MAINTAINER isn't allowed as an ONBUILD trigger"),
        ("MAINTAINER --boo joe@example.com", "unknown flag: --boo"),
        ("ONBUILD ONBUILD RUN touch foobar", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
        ("foo bar", "unknown instruction: foo"),
        ("FOO bar", "unknown instruction: FOO (did you mean FROM?)"),
        ("XYZZY bar", "unknown instruction: XYZZY"),
        ("RUNN echo", "unknown instruction: RUNN (did you mean RUN?)"),
        ("copyy a b", "unknown instruction: copyy (did you mean copy?)"),
        ("COPY --form=x a b", "unknown flag: --form (did you mean from?)"),
        ("COPY --from a b", "missing a value on flag: --from"),
        ("COPY --link=maybe a b", "expecting boolean value for flag --link, not: maybe"),
        ("COPY --from=a --from=b x y", "duplicate flag specified: --from"),
        ("COPY a <<EOF\nEOF", "COPY cannot accept a heredoc as a destination"),
        ("ADD --chown a b", "missing a value on flag: --chown"),
        ("FROM a b", "FROM requires either one or three arguments"),
        ("FROM a AS 1x", "invalid name for build stage: \"1x\", name can't start with a number or contain symbols"),
        ("FROM a AS b/c", "invalid name for build stage: \"b/c\", name can't start with a number or contain symbols"),
        ("FROM --platfrom=x a", "unknown flag: --platfrom (did you mean platform?)"),
        ("SHELL /bin/sh -c", "SHELL requires the arguments to be in JSON form"),
        ("SHELL []", "SHELL requires at least one argument"),
        ("VOLUME [\"\"]", "VOLUME specified can not be an empty string"),
        ("HEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments"),
        ("HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD"),
        ("HEALTHCHECK CONNECT TCP 7000", "Unknown type \"CONNECT\" in HEALTHCHECK (try CMD)"),
        ("HEALTHCHECK --interval=50ns CMD x", "Interval \"interval\" cannot be less than 1ms"),
        ("HEALTHCHECK --timeout=x CMD x", "time: invalid duration \"x\""),
        ("HEALTHCHECK --retries=-1 CMD x", "--retries cannot be negative (-1)"),
        ("HEALTHCHECK --retries=x CMD x", "strconv.ParseInt: parsing \"x\": invalid syntax"),
        ("HEALTHCHECK --foo=1 CMD x", "unknown flag: --foo"),
        ("RUN --network=bridge x", "invalid network mode \"bridge\""),
        ("RUN --security=x x", "security \"x\" is not valid"),
        ("RUN --mount=from=$X x", "'from' doesn't support variable expansion, define alias stage instead"),
        (
            "RUN --mount='type=\"a' x",
            "failed to parse csv mounts: parse error on line 1, column 6: bare \" in non-quoted field",
        ),
        ("RUN --bogus x", "unknown flag: --bogus"),
        ("CMD --x y", "unknown flag: --x"),
        ("ENV --x=y a=b", "unknown flag: --x"),
    ];
    for (src, want) in cases {
        let Err(got) = first(src) else { panic!("{src}: no error") };
        assert!(got.starts_with(want), "{src}: {got}");
    }
}

#[test]
fn instruction_values() {
    let Command::Healthcheck(h) = command("HEALTHCHECK CMD hello world") else { panic!() };
    assert_eq!(h.health.test, ["CMD-SHELL", "hello world"]);
    let Command::Healthcheck(h) = command(
        "HEALTHCHECK --interval=5s --timeout=3s --start-period=1m --start-interval=0s --retries=3 CMD [\"a\", \"b\"]",
    ) else {
        panic!()
    };
    assert_eq!(h.health.test, ["CMD", "a", "b"]);
    assert_eq!(
        (h.health.interval, h.health.timeout, h.health.start_period),
        (5_000_000_000, 3_000_000_000, 60_000_000_000)
    );
    assert_eq!((h.health.start_interval, h.health.retries), (0, 3));
    let Command::Healthcheck(h) = command("HEALTHCHECK --interval=5s none") else { panic!() };
    assert_eq!(h.health.test, ["NONE"]);

    let Command::Copy(c) =
        command("COPY --from=build --chown=1:1 --chmod=0755 --link --parents --exclude=*.md --exclude=x a b /dst/")
    else {
        panic!()
    };
    assert_eq!(
        (c.from.as_str(), c.chown.as_str(), c.chmod.as_str(), c.link, c.parents),
        ("build", "1:1", "0755", true, true)
    );
    assert_eq!(c.exclude_patterns, ["*.md", "x"]);
    assert_eq!(c.sources_and_dest.source_paths, ["a", "b"]);
    assert_eq!(c.sources_and_dest.dest_path, "/dst/");

    let Command::Add(a) = command("ADD --checksum=sha256:abc --keep-git-dir=true --unpack=false https://x/y.tgz /")
    else {
        panic!()
    };
    assert_eq!((a.checksum.as_str(), a.keep_git_dir, a.unpack, a.link), ("sha256:abc", true, Some(false), false));

    let Command::Run(r) =
        command("RUN --mount=type=cache,target=/c,sharing=locked --network=none --security=insecure make")
    else {
        panic!()
    };
    assert_eq!((r.network.as_str(), r.security.as_str()), ("none", "insecure"));
    assert_eq!(r.cmd.cmd_line, ["make"]);
    assert!(r.cmd.prepend_shell);
    assert_eq!(r.flags_used, ["mount", "network", "security"]);
    let mounts = r.mounts(Some(&mut |v: &str| Ok(v.to_string()))).unwrap();
    assert_eq!(mounts[0].mount_type, MountType::Cache);
    assert_eq!(mounts[0].cache_sharing, Some(ShareMode::Locked));
    let Command::Run(r) = command("RUN [\"echo\", \"hi\"]") else { panic!() };
    assert_eq!(
        (r.cmd.cmd_line.clone(), r.cmd.prepend_shell, r.network.as_str()),
        (vec!["echo".into(), "hi".into()], false, "default")
    );

    let Command::Expose(e) = command("EXPOSE 8080 443/tcp 80") else { panic!() };
    assert_eq!(e.ports, ["443/tcp", "80", "8080"]);
    let Command::Arg(a) = command("ARG A B=2 C=") else { panic!() };
    let args: Vec<_> = a.args.iter().map(|k| (k.key.as_str(), k.value.as_deref())).collect();
    assert_eq!(args, [("A", None), ("B", Some("2")), ("C", Some(""))]);
    let Command::Onbuild(o) = command("  onbuild   RUN echo hi") else { panic!() };
    assert_eq!(o.expression, "RUN echo hi");
    let Command::Shell(s) = command("SHELL [\"pwsh\", \"-c\"]") else { panic!() };
    assert_eq!(s.shell, ["pwsh", "-c"]);
    let Command::Entrypoint(e) = command("ENTRYPOINT []") else { panic!() };
    assert!(e.cmd.cmd_line.is_empty() && !e.cmd.prepend_shell);
    let Command::Volume(v) = command("VOLUME [\" /a \", \"/b\"]") else { panic!() };
    assert_eq!(v.volumes, ["/a", "/b"]);
    let Command::StopSignal(s) = command("STOPSIGNAL --ignored SIGTERM") else { panic!() };
    assert_eq!(s.signal, "SIGTERM");
    assert_eq!(command("WORKDIR /app").meta().code, "WORKDIR /app");
}

#[test]
fn heredoc_sources_and_files() {
    let df =
        parse("FROM a\nCOPY <<-one.txt <<'two' /d/\n\tA $X\n\tone.txt\nB $X\ntwo\nRUN <<EOF\necho\nEOF\n").unwrap();
    let (stages, _) = instructions::parse(&df.ast).unwrap();
    let Command::Copy(c) = &stages[0].commands[0] else { panic!() };
    let sc: Vec<_> = c.sources_and_dest.source_contents.iter().map(|s| (&s.path[..], &s.data[..], s.expand)).collect();
    assert_eq!(sc, [("one.txt", "A $X\n", true), ("two", "B $X\n", false)]);
    let Command::Run(r) = &stages[0].commands[1] else { panic!() };
    assert_eq!(r.cmd.cmd_line, ["<<EOF"]);
    assert_eq!((r.cmd.files[0].name.as_str(), r.cmd.files[0].data.as_str()), ("EOF", "echo\n"));
    let df = parse("FROM a\nONBUILD RUN <<EOF\nx\nEOF\n").unwrap();
    let (stages, _) = instructions::parse(&df.ast).unwrap();
    let Command::Onbuild(o) = &stages[0].commands[0] else { panic!() };
    assert_eq!(o.expression, "RUN <<EOF\nx\nEOF");
}

#[test]
fn stages_and_meta_args() {
    let src = "# base the image to use\nARG base=alpine\nARG TAG V=1\n# base the image to use\nFROM ${base}:${TAG:-latest} AS Build\n\
RUN a\nFROM --platform=$BUILDPLATFORM scratch\nARG X\nCOPY --from=build / /\n";
    let (stages, meta) = stages(src).unwrap();
    assert_eq!(meta.len(), 2);
    assert_eq!(meta[0].args[0].comment, "the image to use");
    assert_eq!(stages.len(), 2);
    assert_eq!((stages[0].name.as_str(), stages[0].orig_cmd.as_str()), ("build", "FROM"));
    assert_eq!(stages[0].comment, "");
    assert_eq!(stages[0].location, Location { start: 5, end: 5 });
    assert_eq!(stages[1].commands.len(), 2);
    assert_eq!(instructions::find_stage(&stages, "BUILD").map(|(i, _)| i), Some(0));

    let lex = Lex::new('\\');
    let defaults = env_from_slice(&["BUILDPLATFORM=linux/amd64"]);
    let mut build_args = BTreeMap::new();
    let env = resolve_meta_args(&lex, &defaults, &meta, &build_args).unwrap();
    assert_eq!(stages[0].expand_base_name(&lex, &env).unwrap(), "alpine:latest");
    assert_eq!(stages[1].expand_platform(&lex, &env).unwrap().as_deref(), Some("linux/amd64"));
    build_args.insert("TAG".to_string(), "3.20".to_string());
    build_args.insert("base".to_string(), "debian".to_string());
    let env = resolve_meta_args(&lex, &defaults, &meta, &build_args).unwrap();
    assert_eq!(stages[0].expand_base_name(&lex, &env).unwrap(), "debian:3.20");

    let (stages, meta) = super_stage("ARG IMG\nFROM $IMG\n");
    let env = resolve_meta_args(&lex, &[], &meta, &BTreeMap::new()).unwrap();
    assert_eq!(stages[0].expand_base_name(&lex, &env).unwrap_err().to_string(), "base name ($IMG) should not be blank");
    let (stages, _) = super_stage("FROM --platform=$P a\n");
    assert_eq!(
        stages[0].expand_platform(&lex, &env).unwrap_err().to_string(),
        "empty platform value from expression $P"
    );

    // Commands before the first FROM (other than ARG) have no stage.
    let e = instructions::parse(&parse("ARG a\nRUN x\nFROM a").unwrap().ast).unwrap_err();
    assert_eq!(
        (e.to_string(), e.location()),
        ("no build stage in current context".into(), Some(Location { start: 2, end: 2 }))
    );
    // Instruction errors are prefixed with their line, as BuildKit's parseError.
    let e = instructions::parse(&parse("FROM a\n\nFOO x").unwrap().ast).unwrap_err();
    assert_eq!(e.to_string(), "dockerfile parse error on line 3: unknown instruction: FOO (did you mean FROM?)");
    assert_eq!(e.kind(), ErrorKind::Instruction);
}

fn super_stage(src: &str) -> (Vec<instructions::Stage>, Vec<instructions::ArgCommand>) {
    stages(src).unwrap()
}

#[test]
fn expansion() {
    assert!(instructions::expansion_allowed("COPY") && instructions::expansion_allowed("expose"));
    assert!(!instructions::expansion_allowed("RUN") && !instructions::expansion_allowed("CMD"));
    let lex = Lex::new('\\');
    let env = env_from_slice(&["D=/dst", "U=1000", "N=\"x y\"", "PORTS=80 443"]);
    let mut expand = |w: &str| lex.process_word(w, &env);
    let mut c = command("COPY --chown=$U:$U --from=${S:-build} src/${N} $D/");
    assert!(c.supports_expansion());
    c.expand(&mut expand).unwrap();
    let Command::Copy(c) = c else { panic!() };
    assert_eq!((c.chown.as_str(), c.from.as_str()), ("1000:1000", "build"));
    assert_eq!(c.sources_and_dest.source_paths, ["src/\"x y\""]);
    assert_eq!(c.sources_and_dest.dest_path, "/dst/");
    let mut e = command("ENV A=\"a b\" B=$D");
    e.expand(&mut expand).unwrap();
    let Command::Env(e) = e else { panic!() };
    assert_eq!((e.env[0].value.as_str(), e.env[1].value.as_str()), ("a b", "/dst"));
    let mut r = command("RUN echo $D");
    assert!(!r.supports_expansion());
    r.expand(&mut expand).unwrap();
    let Command::Run(r) = r else { panic!() };
    assert_eq!(r.cmd.cmd_line, ["echo $D"]);
    let Command::Expose(x) = command("EXPOSE $PORTS 8080") else { panic!() };
    assert_eq!(x.expand_ports(&lex, &env).unwrap(), ["80", "443", "8080"]);
    let Command::Run(r) = command("RUN --mount=type=$T,target=$D x") else { panic!() };
    let env2 = env_from_slice(&["T=tmpfs", "D=/t"]);
    let m = r.mounts(Some(&mut |w: &str| lex.process_word(w, &env2))).unwrap();
    assert_eq!((m[0].mount_type, m[0].target.as_str()), (MountType::Tmpfs, "/t"));
}

#[test]
fn amplification_is_bounded() {
    // Exponential global ARG chains stop at a bound instead of exhausting memory.
    let mut src = format!("ARG A0={}\n", "x".repeat(1000));
    for i in 1..40 {
        src.push_str(&format!("ARG A{i}=${{A{p}}}${{A{p}}}\n", p = i - 1));
    }
    src.push_str("FROM scratch\n");
    let (_, meta) = stages(&src).unwrap();
    let e = resolve_meta_args(&Lex::new('\\'), &[], &meta, &BTreeMap::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Limit);
    // One heredoc body named by many sources is copied within a bound.
    let body = format!("{}\n", "y".repeat(1023)).repeat(1024);
    let src = format!("FROM a\nCOPY {}/d\n{}{body}A\n", "<<A ".repeat(20), "s\nA\n".repeat(19));
    let e = stages(&src).unwrap_err();
    assert!(e.contains("COPY heredoc sources larger than"), "{e}");
    let src = "FROM a\nCOPY <<A <<A /d\n1\nA\n2\nA\n";
    let (stages, _) = stages(src).unwrap();
    let Command::Copy(c) = &stages[0].commands[0] else { panic!() };
    let data: Vec<_> = c.sources_and_dest.source_contents.iter().map(|s| s.data.as_str()).collect();
    assert_eq!(data, ["2\n", "2\n"]);
}
