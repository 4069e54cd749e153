//! The parser against BuildKit's parser tests (`parser_test.go`, `parser_heredoc_test.go`,
//! `directives_test.go`) and the edge cases of its line handling.

use wharf_dockerfile::{parse, Arg, ErrorKind, Heredoc, Location};

fn dump(src: &str) -> String {
    parse(src).unwrap_or_else(|e| panic!("{src:?}: {e}")).ast.dump()
}

fn err(src: &str) -> (String, Option<Location>) {
    let e = parse(src).expect_err(src);
    (e.to_string(), e.location())
}

fn hd(name: &str, content: &str, expand: bool, chomp: bool, fd: u64) -> Heredoc {
    Heredoc { name: name.into(), file_descriptor: fd, expand, chomp, content: content.into() }
}

#[test]
fn extracts_heredocs_like_buildkit() {
    // BuildKit's parser_heredoc_test.go TestParseExtractsHeredoc.
    let src = "\nFROM alpine:3.6\n\nENV NAME=me\n\nRUN ls\n\nUSER <<INVALID\nINVALID\n\nRUN <<EMPTY\nEMPTY\n\n\
RUN 3<<EMPTY2\nEMPTY2\n\nRUN \"<<NOHEREDOC\"\n\nRUN <<INDENT\n\tfoo\n\tbar\nINDENT\n\nRUN <<-UNINDENT\n\tbaz\n\tquux\n\
UNINDENT\n\nRUN <<-UNINDENT2\n\tbaz\n\tquux\n\tUNINDENT2\n\nRUN <<-EXPAND\n\texpand $NAME\nEXPAND\n\n\
RUN <<-'NOEXPAND'\n\tdon't expand $NAME\nNOEXPAND\n\nRUN <<COPY\necho hello world\necho foo bar\nCOPY\n\n\
RUN <<COMMENT\n# internal comment\necho hello world\necho foo bar # trailing comment\nCOMMENT\n\n\
RUN --mount=type=cache,target=/foo <<MOUNT\necho hello\nMOUNT\n\nCOPY <<FILE1 <<FILE2 /dest\ncontent 1\nFILE1\n\
content 2\nFILE2\n\nCOPY <<X <<Y /dest\nY\nX\nX\nY\n\t";
    let want: Vec<Vec<Heredoc>> = vec![
        vec![],
        vec![],
        vec![],
        vec![],
        vec![hd("EMPTY", "", true, false, 0)],
        vec![hd("EMPTY2", "", true, false, 3)],
        vec![],
        vec![hd("INDENT", "\tfoo\n\tbar\n", true, false, 0)],
        vec![hd("UNINDENT", "\tbaz\n\tquux\n", true, true, 0)],
        vec![hd("UNINDENT2", "\tbaz\n\tquux\n", true, true, 0)],
        vec![hd("EXPAND", "\texpand $NAME\n", true, true, 0)],
        vec![hd("NOEXPAND", "\tdon't expand $NAME\n", false, true, 0)],
        vec![hd("COPY", "echo hello world\necho foo bar\n", true, false, 0)],
        vec![hd("COMMENT", "# internal comment\necho hello world\necho foo bar # trailing comment\n", true, false, 0)],
        vec![hd("MOUNT", "echo hello\n", true, false, 0)],
        vec![hd("FILE1", "content 1\n", true, false, 0), hd("FILE2", "content 2\n", true, false, 0)],
        vec![hd("X", "Y\n", true, false, 0), hd("Y", "X\n", true, false, 0)],
    ];
    let df = parse(src).unwrap();
    assert_eq!(df.ast.children.len(), want.len() + 1);
    for (i, w) in want.iter().enumerate() {
        assert_eq!(&df.ast.children[i + 1].heredocs, w, "child {}", i + 1);
    }
}

#[test]
fn json_forms_have_no_heredocs() {
    // TestParseJSONHeredoc.
    let df = parse("\nFROM alpine:3.6\n\nRUN [\"whoami\"]\nRUN [\"<<EOF\"]\nRUN [\"<<'EOF'\"]\n\t").unwrap();
    for c in &df.ast.children[1..] {
        assert!(c.heredocs.is_empty() && c.json);
    }
}

#[test]
fn heredoc_lines_and_errors() {
    let df = parse("FROM a\nRUN <<EOF\r\nx\r\nEOF\r\nRUN b\n").unwrap();
    let run = &df.ast.children[1];
    assert_eq!(run.heredocs, vec![hd("EOF", "x\r\n", true, false, 0)]);
    assert_eq!((run.start_line, run.end_line), (2, 4));
    assert_eq!(df.ast.children[2].start_line, 5);
    assert_eq!(
        err("FROM a\nRUN <<EOF\nno end\n"),
        ("unterminated heredoc".into(), Some(Location { start: 2, end: 3 }))
    );
    // ONBUILD's trigger may carry one; other instructions never do.
    let df = parse("FROM a\nONBUILD COPY <<F /f\nbody\nF\nENV X=<<Y\n").unwrap();
    assert_eq!(df.ast.children[1].heredocs, vec![hd("F", "body\n", true, false, 0)]);
    assert!(df.ast.children[2].heredocs.is_empty());
}

#[test]
fn warns_on_empty_continuation_lines() {
    // BuildKit's TestParseWarnsOnEmptyContinutationLine.
    let src = "\nFROM alpine:3.6\n\nRUN something \\\n\n    following \\\n\n    more\n\nRUN another \\\n\n    thing\n\
RUN non-indented \\\n# this is a comment\n   after-comment\n\nRUN indented \\\n    # this is an indented comment\n    comment\n\t";
    let df = parse(src).unwrap();
    assert_eq!(df.warnings.len(), 2);
    assert!(df.warnings[0].short.contains("Empty continuation line found in"));
    assert!(df.warnings[0].short.contains("RUN something     following     more"));
    assert!(df.warnings[1].short.contains("RUN another     thing"));
    assert_eq!(df.warnings[0].location, Location { start: 8, end: 8 });
    let printed = df.format_warnings();
    assert!(printed.ends_with("[WARNING]: Empty continuation lines will become errors in a future release.\n"));
    assert_eq!(printed.lines().count(), 3);
}

#[test]
fn scanner_line_limit() {
    // BuildKit's TestParseReturnsScannerErrors.
    let label = "a".repeat(65536);
    let (msg, _) = err(&format!("\n\t\tFROM image\n\t\tLABEL test={label}\n"));
    assert_eq!(msg, "dockerfile line greater than max allowed size of 65535");
    let ok = "a".repeat(65535 - "LABEL x=".len());
    assert!(parse(&format!("FROM i\nLABEL x={ok}\n")).is_ok());
}

#[test]
fn line_numbers() {
    let src = "# comment\n\nFROM a\n\nRUN a \\\n  b \\\n\n  c\n# trailing\nCMD x";
    let df = parse(src).unwrap();
    let lines: Vec<_> = df.ast.children.iter().map(|c| (c.start_line, c.end_line)).collect();
    assert_eq!(lines, [(3, 3), (5, 8), (10, 10)]);
    assert_eq!((df.ast.start_line, df.ast.end_line), (3, 10));
}

#[test]
fn directives() {
    let df = parse("# syntax=docker/dockerfile:1\n# ESCAPE = `\n# check=skip=all\nFROM a\nRUN a `\n  b\n").unwrap();
    assert_eq!(df.escape_token, '`');
    assert_eq!(df.directive("syntax"), Some("docker/dockerfile:1"));
    assert_eq!(df.directive("check"), Some("skip=all"));
    assert_eq!(df.directives.iter().map(|d| d.line).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(df.ast.dump(), "(from \"a\")\n(run \"a   b\")");
    // Directives are not comments of the first instruction; other comments are.
    assert!(df.ast.children[0].prev_comment.is_empty());
    let df = parse("# syntax=x\n# about a\nFROM a\n").unwrap();
    assert_eq!(df.ast.children[0].prev_comment, ["about a"]);
    // Duplicates are errors; BuildKit reports the line before.
    assert_eq!(
        err("# escape=`\n# escape=\\\nFROM a"),
        ("only one escape parser directive can be used".into(), Some(Location { start: 1, end: 1 }))
    );
    assert_eq!(err("# escape=x\nFROM a").0, "invalid escape token 'x' does not match ` or \\");
    // A byte order mark, leading whitespace, and an unknown key ending the search.
    assert_eq!(parse("\u{feff}# escape=`\nFROM a").unwrap().escape_token, '`');
    assert_eq!(parse("   #escape=`\nFROM a").unwrap().escape_token, '`');
    assert_eq!(parse("# foo=bar\n# escape=`\nFROM a").unwrap().escape_token, '\\');
    assert_eq!(parse("\n# escape=`\nFROM a").unwrap().escape_token, '\\');
    assert_eq!(parse("FROM a\n# escape=`\n").unwrap().escape_token, '\\');
}

#[test]
fn comments_before_instructions() {
    let df = parse("# a\n#\n# b\n  # c\nFROM x\nRUN y\n").unwrap();
    // An empty comment resets; BuildKit drops the first byte of an indented comment line.
    assert_eq!(df.ast.children[0].prev_comment, ["b", "# c"]);
    assert!(df.ast.children[1].prev_comment.is_empty());
}

#[test]
fn crlf_and_bom() {
    let df = parse("\u{feff}FROM a\r\nRUN b \\\r\n  c\r\n").unwrap();
    assert_eq!(df.ast.dump(), "(from \"a\")\n(run \"b   c\")");
}

#[test]
fn errors_with_locations() {
    assert_eq!(err(""), ("file with no instructions".into(), Some(Location { start: 0, end: 0 })));
    assert_eq!(err("# only\n\n"), ("file with no instructions".into(), Some(Location { start: 2, end: 2 })));
    assert_eq!(
        err("FROM a\nCMD [\"a\", 1]\n"),
        (
            "when using JSON array syntax, arrays must be comprised of strings only".into(),
            Some(Location { start: 2, end: 2 })
        )
    );
    assert_eq!(err("FROM a\nENV foo\n").0, "ENV must have two arguments");
    assert_eq!(err("FROM a\nLABEL a=b c\n").0, "Syntax error - can't find = in \"c\". Must be of the form: name=value");
}

#[test]
fn onbuild_args_and_nesting() {
    let df = parse("ONBUILD ONBUILD RUN x").unwrap();
    assert_eq!(df.ast.dump(), "(onbuild (onbuild (run \"x\")))");
    let Arg::Instruction(inner) = &df.ast.children[0].next[0] else { panic!() };
    assert_eq!(inner.value, "ONBUILD");
    assert_eq!(df.ast.children[0].args(), ["ONBUILD", "RUN", "x"]);
}

#[test]
fn pathological_inputs_are_bounded() {
    // Deep continuations: one instruction over many lines.
    let src = format!("FROM a\nRUN x{}\n", " \\\n y".repeat(50_000));
    let df = parse(&src).unwrap();
    assert_eq!(df.ast.children[1].end_line, 50_002);
    // A continued instruction beyond the joined-length bound.
    let src = format!("FROM a\nRUN x{}\n", " \\\n yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy".repeat(40_000));
    let e = parse(&src).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Limit);
    // A huge heredoc within the size bound is fine; beyond it is refused up front.
    let body = "line of heredoc text\n".repeat(400_000);
    let df = parse(&format!("FROM a\nRUN <<EOF\n{body}EOF\n")).unwrap();
    assert_eq!(df.ast.children[1].heredocs[0].content.len(), body.len());
    let body = "x".repeat(60_000) + "\n";
    let e = parse(&format!("FROM a\nRUN <<EOF\n{}EOF\n", body.repeat(300))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Limit);
    // Many instructions.
    let e = parse(&"RUN x\n".repeat(100_001)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Limit);
    // Deep ONBUILD nesting.
    let e = parse(&format!("{}RUN x", "ONBUILD ".repeat(5_000))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Limit);
    // Only newlines, only continuations, only quotes.
    assert!(parse(&"\n".repeat(1_000_000)).is_err());
    assert!(parse(&"\\\n".repeat(100_000)).is_ok());
    assert!(parse(&format!("RUN {}", "\"".repeat(60_000))).is_ok());
    let deep = format!("CMD {}{}", "[".repeat(30_000), "]".repeat(30_000));
    assert!(parse(&deep).is_ok());
}

#[test]
fn dump_quotes_like_go() {
    assert_eq!(dump("RUN echo \"\u{1}\u{7f}\u{a0}é\""), "(run \"echo \\\"\\x01\\x7f\\u00a0é\\\"\")");
    assert_eq!(dump("RUN echo \u{1F600}"), "(run \"echo 😀\")");
}
