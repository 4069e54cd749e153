//! Data-driven tests of the whole engine: parse + execute against a
//! Docker-like JSON document, and the exact error messages.

use serde_json::{json, Value as Json};

use crate::{render, Template};

/// A Docker-inspect-like document used by most cases.
fn data() -> Json {
    json!({
        "ID": "4f66ad9a0b2e1c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
        "Name": "/web",
        "Names": ["web", "frontend"],
        "State": "running",
        "Size": 1_000_000,
        "Huge": 18_446_744_073_709_551_615_u64,
        "Neg": -5,
        "Ratio": 1.5,
        "FloatMillion": 1e6,
        "Zero": 0,
        "Empty": "",
        "Nil": null,
        "True": true,
        "False": false,
        "EmptyList": [],
        "EmptyMap": {},
        "Labels": {"com.example.b": "2", "com.example.a": "1", "app": "web"},
        "Server": {"Version": "24.0.7", "Os": "linux"},
        "Ports": [
            {"PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
            {"PrivatePort": 443, "Type": "tcp"}
        ],
        "Nested": [[1, 2], [3, 4]],
        "HTML": "<a&b>",
        "Mixed": [1, "two", 3.5, true, null],
        "Config": {"Env": ["A=1", "B=2"], "Healthcheck": null},
        "Unicode": "héllo wörld"
    })
}

#[track_caller]
fn check(template: &str, data: &Json, expected: &str) {
    match render(template, data) {
        Ok(out) => assert_eq!(out, expected, "template {template:?}"),
        Err(e) => panic!("template {template:?} failed: {e}"),
    }
}

#[track_caller]
fn check_all(cases: &[(&str, &str)]) {
    let d = data();
    let mut failures = Vec::new();
    for (template, expected) in cases {
        match render(template, &d) {
            Ok(out) if out == *expected => {}
            Ok(out) => failures.push(format!("{template:?}: got {out:?}, want {expected:?}")),
            Err(e) => failures.push(format!("{template:?}: error {e}")),
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[track_caller]
fn check_err(template: &str, data: &Json, expected: &str) {
    match render(template, data) {
        Ok(out) => panic!("template {template:?} succeeded with {out:?}, want error {expected:?}"),
        Err(e) => assert_eq!(e.to_string(), expected, "template {template:?}"),
    }
}

#[track_caller]
fn check_errs(cases: &[(&str, &str)]) {
    let d = data();
    let mut failures = Vec::new();
    for (template, expected) in cases {
        match render(template, &d) {
            Ok(out) => failures.push(format!("{template:?}: succeeded with {out:?}")),
            Err(e) if e.to_string() == *expected => {}
            Err(e) => failures.push(format!("{template:?}:\n   got {:?}\n  want {expected:?}", e.to_string())),
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[track_caller]
fn check_err_contains(template: &str, data: &Json, needle: &str) {
    match render(template, data) {
        Ok(out) => panic!("template {template:?} succeeded with {out:?}, want error with {needle:?}"),
        Err(e) => assert!(e.to_string().contains(needle), "template {template:?}: error {e} lacks {needle:?}"),
    }
}

#[test]
fn text_and_comments() {
    check_all(&[
        ("", ""),
        ("hello, world", "hello, world"),
        ("a{{/* comment */}}b", "ab"),
        ("a{{/* multi\nline\ncomment */}}b", "ab"),
        ("a {{- /* trimmed */ -}} b", "ab"),
        ("a {{/* kept */}} b", "a  b"),
        ("{{\"{{\"}}x{{\"}}\"}}", "{{x}}"),
        ("}} alone", "}} alone"),
    ]);
}

#[test]
fn trim_markers() {
    check_all(&[
        ("a  {{- .State}}  b", "arunning  b"),
        ("a  {{.State -}}  b", "a  runningb"),
        ("a \n\t {{- .State -}} \n\t b", "arunningb"),
        ("{{- .State -}}", "running"),
        ("x\n{{- range .Names}}\n  {{.}}\n{{- end}}\n", "x\n  web\n  frontend\n"),
        // Without the space the minus is part of a number.
        ("{{-3}}", "-3"),
        ("{{3 -}} x", "3x"),
    ]);
}

#[test]
fn fields_and_dot() {
    check_all(&[
        ("{{.Name}}", "/web"),
        ("{{ .Name }}", "/web"),
        ("{{.Server.Version}}", "24.0.7"),
        ("{{.Server.Os}}/{{.Server.Version}}", "linux/24.0.7"),
        ("{{.Labels.app}}", "web"),
        ("{{.Missing}}", "<no value>"),
        ("{{.Server.Missing}}", "<no value>"),
        ("{{.Missing.Deeper.Still}}", "<no value>"),
        ("{{.Nil}}", "<nil>"),
        ("{{$.Name}}", "/web"),
        ("{{with .Server}}{{$.Name}} {{.Os}}{{end}}", "/web linux"),
        ("{{(index .Ports 0).PublicPort}}", "8080"),
        ("{{(index .Ports 1).PublicPort}}", "<no value>"),
        ("{{(.Server).Os}}", "linux"),
        ("{{.Name\n}}", "/web"),
    ]);
    check("{{.}}", &json!("scalar"), "scalar");
    check("{{.}} {{$}}", &json!(7), "7 7");
    check("{{.}}", &json!(null), "<nil>");
}

#[test]
fn variables() {
    check_all(&[
        ("{{$x := .Name}}{{$x}}", "/web"),
        ("{{$x := 1}}{{$x = 2}}{{$x}}", "2"),
        ("{{$s := .Server}}{{$s.Version}}", "24.0.7"),
        ("{{$p := index .Ports 0}}{{$p.Type}}:{{$p.PrivatePort}}", "tcp:80"),
        ("{{$n := \"\"}}{{range .Names}}{{$n = .}}{{end}}{{$n}}", "frontend"),
        ("{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}", "21"),
        ("{{$x := .Missing}}{{$x}}", "<no value>"),
    ]);
    check("{{$}}", &json!([1, 2]), "[1 2]");
}

#[test]
fn literals() {
    check_all(&[
        ("{{1}}", "1"),
        ("{{-1}}", "-1"),
        ("{{+7}}", "7"),
        ("{{1.5}}", "1.5"),
        ("{{1e6}}", "1e+06"),
        ("{{1e3}}", "1000"),
        ("{{0x1F}} {{0o17}} {{0b101}} {{017}} {{1_000}}", "31 15 5 15 1000"),
        ("{{'a'}} {{'\\n'}}", "97 10"),
        ("{{true}} {{false}}", "true false"),
        ("{{\"a\\tb\\u00e9\\x41\"}}", "a\tbéA"),
        ("{{`raw \\n string`}}", "raw \\n string"),
        ("{{print nil}}", "<nil>"),
        ("{{99999999999999999999.5 | printf \"%v\"}}", "1e+20"),
        ("{{.Huge}} {{printf \"%d %x\" .Huge .Huge}}", "18446744073709551615 18446744073709551615 ffffffffffffffff"),
    ]);
}

#[test]
fn printing_values() {
    check_all(&[
        ("{{.Size}}", "1000000"),
        ("{{.Neg}}", "-5"),
        ("{{.Ratio}}", "1.5"),
        ("{{.FloatMillion}}", "1e+06"),
        ("{{.Names}}", "[web frontend]"),
        ("{{.Labels}}", "map[app:web com.example.a:1 com.example.b:2]"),
        ("{{.Mixed}}", "[1 two 3.5 true <nil>]"),
        ("{{.EmptyList}} {{.EmptyMap}}", "[] map[]"),
        ("{{.True}} {{.False}}", "true false"),
        ("{{.Ports}}", "[map[PrivatePort:80 PublicPort:8080 Type:tcp] map[PrivatePort:443 Type:tcp]]"),
        ("{{.Nested}}", "[[1 2] [3 4]]"),
        ("{{.Config}}", "map[Env:[A=1 B=2] Healthcheck:<nil>]"),
    ]);
}

#[test]
fn pipelines() {
    check_all(&[
        ("{{.Name | printf \"%s!\"}}", "/web!"),
        ("{{.ID | printf \"%.12s\"}}", "4f66ad9a0b2e"),
        ("{{ .Name | lower }}", "/web"),
        ("{{.State | upper | printf \"%q\"}}", "\"RUNNING\""),
        ("{{.Names | len}}", "2"),
        ("{{\"abc\" | printf \"%s-%s\" \"x\"}}", "x-abc"),
        ("{{.Names | printf \"%s|%d\" }}", "[web frontend]|%!d(MISSING)"),
        ("{{.Names | printf \"%d\" 1 }}", "1%!(EXTRA []interface {}=[web frontend])"),
        ("{{(printf \"%d-%d\" 1 2) | len}}", "3"),
        ("{{len (index .Nested 0)}}", "2"),
    ]);
}

#[test]
fn if_else() {
    check_all(&[
        ("{{if .True}}y{{end}}", "y"),
        ("{{if .False}}y{{else}}n{{end}}", "n"),
        ("{{if .Zero}}z{{else if .Empty}}e{{else if .Name}}name{{else}}n{{end}}", "name"),
        ("{{if .Nil}}y{{else}}n{{end}}", "n"),
        ("{{if .Missing}}y{{else}}n{{end}}", "n"),
        ("{{if .EmptyList}}y{{else}}n{{end}}", "n"),
        ("{{if .EmptyMap}}y{{else}}n{{end}}", "n"),
        ("{{if .Names}}y{{else}}n{{end}}", "y"),
        ("{{if .Labels}}y{{else}}n{{end}}", "y"),
        ("{{if 0.0}}y{{else}}n{{end}}", "n"),
        ("{{if .Ratio}}y{{else}}n{{end}}", "y"),
        ("{{if eq .State \"running\"}}up{{else}}down{{end}}", "up"),
        ("{{if ne .State \"running\"}}up{{else}}down{{end}}", "down"),
        ("{{if and .True .Name}}both{{end}}", "both"),
        ("{{if or .False .Zero}}any{{else}}none{{end}}", "none"),
        ("{{if not .Empty}}empty{{end}}", "empty"),
        ("{{if $x := .Server}}{{$x.Os}}{{end}}", "linux"),
    ]);
}

#[test]
fn range_loops() {
    check_all(&[
        ("{{range .Names}}{{.}},{{end}}", "web,frontend,"),
        ("{{range $i, $v := .Names}}{{$i}}={{$v}} {{end}}", "0=web 1=frontend "),
        ("{{range $v := .Names}}{{$v}};{{end}}", "web;frontend;"),
        (
            "{{range $k, $v := .Labels}}{{$k}}={{$v}}{{println}}{{end}}",
            "app=web\ncom.example.a=1\ncom.example.b=2\n",
        ),
        ("{{range .Labels}}{{.}}{{end}}", "web12"),
        ("{{range .EmptyList}}x{{else}}empty{{end}}", "empty"),
        ("{{range .EmptyMap}}x{{else}}empty{{end}}", "empty"),
        ("{{range .Missing}}x{{else}}none{{end}}", "none"),
        ("{{range .Nil}}x{{else}}none{{end}}", "none"),
        ("{{range .Ports}}{{.PrivatePort}}/{{.Type}} {{end}}", "80/tcp 443/tcp "),
        ("{{range .Ports}}{{.PublicPort}} {{end}}", "8080 <no value> "),
        ("{{range .Nested}}{{range .}}{{.}}{{end}};{{end}}", "12;34;"),
        (
            "{{range .Nested}}{{range .}}{{if eq . 2}}{{continue}}{{end}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}{{end}}",
            "13",
        ),
        ("{{range .Names}}{{break}}{{.}}{{end}}", ""),
        ("{{range .Names}}{{if eq . \"web\"}}{{continue}}{{end}}{{.}}{{end}}", "frontend"),
        ("{{range 3}}{{.}}{{end}}", "012"),
        ("{{range $i := 2}}[{{$i}}]{{end}}", "[0][1]"),
        ("{{range 0}}x{{else}}zero{{end}}", "zero"),
        (
            "{{$i := 0}}{{$v := \"\"}}{{range $i, $v = .Names}}{{end}}{{$i}}{{$v}}",
            "1frontend",
        ),
        ("{{range $i, $e := .Config.Env}}{{if $i}},{{end}}{{$e}}{{end}}", "A=1,B=2"),
        ("{{range (split \"a b c\" \" \")}}<{{.}}>{{end}}", "<a><b><c>"),
        ("{{range .Names}}{{$.State}} {{end}}", "running running "),
    ]);
}

#[test]
fn with_blocks() {
    check_all(&[
        ("{{with .Server}}{{.Version}}{{end}}", "24.0.7"),
        ("{{with .Missing}}x{{else}}none{{end}}", "none"),
        ("{{with .Missing}}a{{else with .Server}}{{.Os}}{{else}}c{{end}}", "linux"),
        ("{{with .Missing}}a{{else with .Nil}}b{{else}}c{{end}}", "c"),
        ("{{with $x := .Server}}{{$x.Os}}{{.Version}}{{end}}", "linux24.0.7"),
        ("{{with .Empty}}x{{end}}", ""),
    ]);
}

#[test]
fn define_template_block() {
    check_all(&[
        ("{{define \"T\"}}[{{.}}]{{end}}{{template \"T\" .Name}}", "[/web]"),
        ("{{define \"T\"}}[{{.}}]{{end}}{{template \"T\"}}", "[<no value>]"),
        ("{{define `T`}}{{$}}{{end}}{{template \"T\" 5}}", "5"),
        ("{{block \"B\" .State}}<{{.}}>{{end}}", "<running>"),
        ("{{block \"B\" .}}{{.State}}{{end}}|{{template \"B\" .Server}}", "running|<no value>"),
        (
            "{{define \"r\"}}{{if .}}{{index . 0}}{{template \"r\" (slice . 1)}}{{end}}{{end}}{{template \"r\" .Names}}",
            "webfrontend",
        ),
        ("{{define \"T\"}}x{{end}}\n{{- template \"T\"}}", "x"),
        ("{{template \"T\" .}}{{define \"T\"}}late{{end}}", "late"),
        ("{{define \"T\"}}{{$x := 1}}{{end}}{{$x := 2}}{{template \"T\"}}{{$x}}", "2"),
        ("{{define \"T\"}}   {{end}}{{define \"T\"}}second{{end}}{{template \"T\"}}", "second"),
    ]);
}

#[test]
fn builtin_logic_and_comparison() {
    check_all(&[
        ("{{and 1 0 2}}", "0"),
        ("{{and 1 2}}", "2"),
        ("{{or 0 \"\" \"x\"}}", "x"),
        ("{{or 0 false}}", "false"),
        ("{{or .True (index .Names 99)}}", "true"),
        ("{{and .False (index .Names 99)}}", "false"),
        ("{{.True | and 1}}", "true"),
        ("{{not .True}} {{not .Missing}} {{not 0}}", "false true true"),
        ("{{eq .State \"running\"}}", "true"),
        ("{{eq .State \"a\" \"b\" \"running\"}}", "true"),
        ("{{eq .State \"a\" \"b\"}}", "false"),
        ("{{eq .Size 1000000}} {{eq .Zero 0}} {{eq 1 1.0}} {{eq .Ratio 1.5}}", "true true true true"),
        ("{{eq .Nil nil}} {{eq .Missing nil}} {{eq .Missing \"x\"}} {{eq .True true}}", "true true false true"),
        ("{{ne 1 2}} {{ne \"a\" \"a\"}}", "true false"),
        (
            "{{lt 1 2}} {{lt 2 1}} {{lt \"a\" \"b\"}} {{lt 1.5 2}} {{lt -1 .Huge}} {{eq .Huge .Huge}}",
            "true false true true true true",
        ),
        ("{{le 2 2}} {{le 3 2}}", "true false"),
        ("{{gt \"b\" \"a\"}} {{gt 1 2}}", "true false"),
        ("{{ge 1.5 1}} {{ge 1 2}}", "true false"),
    ]);
}

#[test]
fn builtin_len_index_slice() {
    check_all(&[
        ("{{len .Names}} {{len .Labels}} {{len \"héllo\"}} {{len .EmptyList}}", "2 3 6 0"),
        ("{{index .Names 1}}", "frontend"),
        ("{{index .Labels \"app\"}}", "web"),
        ("{{index .Labels \"com.example.a\"}}", "1"),
        ("{{index .Labels \"nope\"}}", "<no value>"),
        ("{{index .Nested 1 0}}", "3"),
        ("{{index \"abc\" 1}}", "98"),
        ("{{index .Names}}", "[web frontend]"),
        ("{{index (index .Ports 0) \"Type\"}}", "tcp"),
        ("{{slice .Names 1}}", "[frontend]"),
        ("{{slice .Names 0 1}}", "[web]"),
        ("{{slice .Names}}", "[web frontend]"),
        ("{{slice .Names 1 1}}", "[]"),
        ("{{slice .Names 0 1 2}}", "[web]"),
        ("{{slice \"hello\" 1 3}}", "el"),
        ("{{slice \"hello\" 2}}", "llo"),
        ("{{slice (split \"a,b,c\" \",\") 1 2}}", "[b]"),
    ]);
}

#[test]
fn builtin_print_family() {
    check_all(&[
        ("{{print 1 2 \"a\" 3}}", "1 2a3"),
        ("{{print \"a\" \"b\"}}", "ab"),
        ("{{println \"a\" 1}}", "a 1\n"),
        ("{{println}}", "\n"),
        (
            "{{printf \"%5s|%-5s|%05d|%x|%v|%t\" \"ab\" \"cd\" 42 255 .Names true}}",
            "   ab|cd   |00042|ff|[web frontend]|true",
        ),
        ("{{printf \"%q\" .Name}}", "\"/web\""),
        ("{{printf \"%d\" .Size}}", "1000000"),
        ("{{printf \"%.2f\" .Ratio}}", "1.50"),
        ("{{printf \"%v %s\" .Nil .Missing}}", "<nil> %!s(<nil>)"),
        ("{{printf \"%s\" .Names}}", "[web frontend]"),
        ("{{printf \"%d\" .Name}}", "%!d(string=/web)"),
        ("{{printf \"%-10s|\" .State}}", "running   |"),
        ("{{printf \"%10.3s|\" .State}}", "       run|"),
        ("{{printf \"%6.2f%%\" 12.3456}}", " 12.35%"),
        ("{{printf \"%x\" \"hi\"}}", "6869"),
        ("{{printf \"%T\" .Labels}}", "map[string]interface {}"),
        ("{{printf \"%v\" .Labels}}", "map[app:web com.example.a:1 com.example.b:2]"),
        ("{{printf \"%#v\" .Names}}", "[]interface {}{\"web\", \"frontend\"}"),
        ("{{printf \"%e\" .Ratio}}", "1.500000e+00"),
        ("{{printf \"%g\" .FloatMillion}}", "1e+06"),
        ("{{printf \"%s %s\" \"a\"}}", "a %!s(MISSING)"),
    ]);
}

#[test]
fn builtin_escapers() {
    check_all(&[
        ("{{html .HTML}}", "&lt;a&amp;b&gt;"),
        ("{{html \"'\\\"\"}}", "&#39;&#34;"),
        ("{{html 1 2}}", "1 2"),
        ("{{js \"it's <x>\"}}", "it\\'s \\u003Cx\\u003E"),
        ("{{urlquery \"a b&c\"}}", "a+b%26c"),
        ("{{.HTML | html}}", "&lt;a&amp;b&gt;"),
    ]);
}

#[test]
fn docker_functions() {
    check_all(&[
        ("{{json .Names}}", "[\"web\",\"frontend\"]"),
        ("{{json .Server}}", "{\"Os\":\"linux\",\"Version\":\"24.0.7\"}"),
        ("{{json .Labels}}", "{\"app\":\"web\",\"com.example.a\":\"1\",\"com.example.b\":\"2\"}"),
        ("{{json .HTML}}", "\"<a&b>\""),
        ("{{json .Missing}} {{json .Nil}}", "null null"),
        ("{{json .Ratio}} {{json .Size}} {{json .True}}", "1.5 1000000 true"),
        ("{{json .Config}}", "{\"Env\":[\"A=1\",\"B=2\"],\"Healthcheck\":null}"),
        ("{{json (split \"a,b\" \",\")}}", "[\"a\",\"b\"]"),
        ("{{json \"line\\nbreak\\t\\\"q\\\"\"}}", "\"line\\nbreak\\t\\\"q\\\"\""),
        ("{{.Server | json}}", "{\"Os\":\"linux\",\"Version\":\"24.0.7\"}"),
        ("{{join .Names \",\"}}", "web,frontend"),
        ("{{join .EmptyList \",\"}}", ""),
        ("{{join (split \"a b\" \" \") \"-\"}}", "a-b"),
        ("{{split \"a:b:c\" \":\"}}", "[a b c]"),
        ("{{index (split .Server.Version \".\") 0}}", "24"),
        ("{{len (split \"\" \",\")}}", "1"),
        ("{{title \"hello world\"}}", "Hello World"),
        ("{{title .Unicode}}", "Héllo Wörld"),
        ("{{upper .Name}}", "/WEB"),
        ("{{upper .Unicode}}", "HÉLLO WÖRLD"),
        ("{{lower \"ABC\"}}", "abc"),
        ("{{pad .State 2 3}}|", "  running   |"),
        ("{{pad \"\" 2 2}}|", "|"),
        ("{{padWithSpace \"x\" 1 1}}|", " x |"),
        ("{{truncate .ID 12}}", "4f66ad9a0b2e"),
        ("{{truncate \"ab\" 5}}", "ab"),
        ("{{truncate .Unicode 2}}", "h"),
    ]);
    let d = json!({"Name": "n", "Image": "img", "Labels": {"a": "1"}});
    check("{{json .}}", &d, r#"{"Image":"img","Labels":{"a":"1"},"Name":"n"}"#);
}

#[test]
fn docker_cli_typical_formats() {
    let info = json!({"Server": {"Version": "24.0.7"}, "Client": {"Version": "24.0.6"}});
    check("{{.Server.Version}}", &info, "24.0.7");
    check("Client: {{.Client.Version}}\nServer: {{.Server.Version}}", &info, "Client: 24.0.6\nServer: 24.0.7");
    let ps = json!({
        "ID": "0123456789abcdef0123", "Names": ["/web"], "Image": "nginx:latest",
        "State": "running", "Status": "Up 2 hours",
        "Labels": {"com.docker.compose.project": "demo", "maintainer": "me"},
        "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2"}}},
        "Mounts": []
    });
    check("{{.ID}}\t{{.Image}}\t{{.Status}}", &ps, "0123456789abcdef0123\tnginx:latest\tUp 2 hours");
    check("{{range .Labels}}{{.}}{{end}}", &ps, "demome");
    check("{{join .Names \",\"}}", &ps, "/web");
    check("{{if eq .State \"running\"}}up{{else}}down{{end}}", &ps, "up");
    check(
        "{{range $k, $v := .Labels}}{{$k}}={{$v}}{{println}}{{end}}",
        &ps,
        "com.docker.compose.project=demo\nmaintainer=me\n",
    );
    check("{{.ID | printf \"%.12s\"}}", &ps, "0123456789ab");
    check("{{upper .Image}}", &ps, "NGINX:LATEST");
    check("{{ .Image | lower }}", &ps, "nginx:latest");
    check("{{index .Labels \"com.docker.compose.project\"}}", &ps, "demo");
    check("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", &ps, "172.17.0.2");
    check(
        "{{range $net, $cfg := .NetworkSettings.Networks}}{{$net}}:{{$cfg.IPAddress}}{{end}}",
        &ps,
        "bridge:172.17.0.2",
    );
    check("{{len .Mounts}}", &ps, "0");
    check("{{- range .Names -}}\n  {{ . }}\n{{- end -}}", &ps, "/web");
    check("{{json .Labels}}", &ps, r#"{"com.docker.compose.project":"demo","maintainer":"me"}"#);
    check("{{.State | title}}", &ps, "Running");
}

#[test]
fn template_is_reusable_and_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Template>();
    assert_send_sync::<crate::Error>();
    let t = Template::parse("{{.A}}-{{len .B}}").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.execute(&json!({"A": 1, "B": [1]})).ok().as_deref(), Some("1-1"));
    assert_eq!(t.execute(&json!({"A": "x", "B": "yy"})).ok().as_deref(), Some("x-2"));
}

#[test]
fn parse_errors() {
    check_errs(&[
        ("{{foo}}", "template: :1: function \"foo\" not defined"),
        ("{{.A | bar 1}}", "template: :1: function \"bar\" not defined"),
        ("{{.A}", "template: :1: bad character U+007D '}'"),
        ("{{.A }", "template: :1: unexpected \"}\" in operand"),
        ("{{if .A}}", "template: :1: unexpected EOF"),
        ("{{end}}", "template: :1: unexpected {{end}}"),
        ("{{else}}", "template: :1: unexpected {{else}}"),
        ("{{range .A}}{{else}}{{else}}{{end}}", "template: :1: expected end; found {{else}}"),
        ("{{$x}}", "template: :1: undefined variable \"$x\""),
        ("{{if 1}}{{$x := 1}}{{end}}{{$x}}", "template: :1: undefined variable \"$x\""),
        ("{{break}}", "template: :1: {{break}} outside {{range}}"),
        ("{{continue}}", "template: :1: {{continue}} outside {{range}}"),
        ("{{range .A}}{{else}}{{break}}{{end}}", "template: :1: {{break}} outside {{range}}"),
        ("{{.A | 1}}", "template: :1: non executable command in pipeline stage 2"),
        ("{{}}", "template: :1: missing value for command"),
        ("{{if}}{{end}}", "template: :1: missing value for if"),
        ("{{(1}}", "template: :1: unclosed left paren"),
        ("{{1)}}", "template: :1: unexpected right paren"),
        ("{{\"abc}}", "template: :1: unterminated quoted string"),
        ("{{`abc}}", "template: :1: unterminated raw quoted string"),
        ("{{'ab'}}", "template: :1: malformed character constant: 'ab'"),
        ("{{''}}", "template: :1: invalid syntax"),
        ("{{\"\\q\"}}", "template: :1: invalid syntax"),
        ("{{3k}}", "template: :1: bad number syntax: \"3k\""),
        ("{{1i}}", "template: :1: illegal number syntax: \"1i\""),
        ("{{99999999999999999999}}", "template: :1: integer overflow: \"99999999999999999999\""),
        ("a\n{{.A\n", "template: :3: unclosed action"),
        ("{{/* x", "template: :1: unclosed comment"),
        ("{{/* x */ .A}}", "template: :1: comment ends before closing delimiter"),
        ("{{.A := 1}}", "template: :1: unexpected \":=\" in operand"),
        ("{{1.A}}", "template: :1: bad number syntax: \"1.A\""),
        ("{{\"x\".A}}", "template: :1: unexpected . after term \"\\\"x\\\"\""),
        ("{{range $a, $b, $c := .}}{{end}}", "template: :1: too many declarations in range"),
        ("{{with $a, $b := .}}{{end}}", "template: :1: too many declarations in with"),
        ("{{range $a, 1}}{{end}}", "template: :1: range can only initialize variables"),
        (
            "{{define \"T\"}}a{{end}}{{define \"T\"}}b{{end}}",
            "template: :1: template: multiple definition of template \"T\"",
        ),
        ("{{define \"T\"}}a{{else}}b{{end}}", "template: :1: unexpected {{else}} in define clause"),
        ("{{define T}}{{end}}", "template: :1: unexpected \"T\" in define clause"),
        ("{{template .A}}", "template: :1: unexpected \".A\" in template clause"),
        ("{{template .}}", "template: :1: unexpected <.> in template clause"),
        ("{{if 1}}{{define \"T\"}}{{end}}{{end}}", "template: :1: unexpected <define> in command"),
        ("{{range .}}{{else with .}}{{end}}{{end}}", "template: :1: unexpected <with> in input"),
        ("x\n\n{{nope}}", "template: :3: function \"nope\" not defined"),
        ("{{.A =}}", "template: :1: unexpected \"=\" in operand"),
        ("{{\u{1}}}", "template: :1: unrecognized character in action: U+0001"),
        ("{{.A ,}}", "template: :1: unexpected \",\" in operand"),
    ]);
}

#[test]
fn execution_errors() {
    check_errs(&[
        ("{{1 2}}", "template: :1:2: executing \"\" at <1>: can't give argument to non-function 1"),
        ("{{nil}}", "template: :1:2: executing \"\" at <nil>: nil is not a command"),
        (
            "{{.Name.Foo}}",
            "template: :1:7: executing \"\" at <.Name.Foo>: can't evaluate field Foo in type string",
        ),
        (
            "{{.Names.Foo}}",
            "template: :1:8: executing \"\" at <.Names.Foo>: can't evaluate field Foo in type []interface {}",
        ),
        (
            "{{index .Names 5}}",
            "template: :1:2: executing \"\" at <index .Names 5>: error calling index: index out of range: 5",
        ),
        (
            "{{index .Names -1}}",
            "template: :1:2: executing \"\" at <index .Names -1>: error calling index: index out of range: -1",
        ),
        (
            "{{index .Names \"a\"}}",
            "template: :1:2: executing \"\" at <index .Names \"a\">: error calling index: cannot index slice/array with type string",
        ),
        (
            "{{index .Labels 1}}",
            "template: :1:2: executing \"\" at <index .Labels 1>: error calling index: value has type int; should be string",
        ),
        (
            "{{index .Missing 1}}",
            "template: :1:2: executing \"\" at <index .Missing 1>: error calling index: index of untyped nil",
        ),
        (
            "{{index 5 1}}",
            "template: :1:2: executing \"\" at <index 5 1>: error calling index: can't index item of type int",
        ),
        (
            "{{slice .Names 2 1}}",
            "template: :1:2: executing \"\" at <slice .Names 2 1>: error calling slice: invalid slice index: 2 > 1",
        ),
        (
            "{{slice \"abc\" 1 2 3}}",
            "template: :1:2: executing \"\" at <slice \"abc\" 1 2 3>: error calling slice: cannot 3-index slice a string",
        ),
        (
            "{{.Config.Healthcheck.Test}}",
            "template: :1:9: executing \"\" at <.Config.Healthcheck.Test>: nil pointer evaluating interface {}.Test",
        ),
        (
            "{{template \"nope\"}}",
            "template: :1:11: executing \"\" at <{{template \"nope\"}}>: template \"nope\" not defined",
        ),
        ("{{len 3}}", "template: :1:2: executing \"\" at <len 3>: error calling len: len of type int"),
        ("{{len .Missing}}", "template: :1:2: executing \"\" at <len .Missing>: error calling len: len of nil pointer"),
        ("{{len}}", "template: :1:2: executing \"\" at <len>: wrong number of args for len: want 1 got 0"),
        ("{{len 1 2}}", "template: :1:2: executing \"\" at <len>: wrong number of args for len: want 1 got 2"),
        ("{{printf}}", "template: :1:2: executing \"\" at <printf>: wrong number of args for printf: want at least 1 got 0"),
        ("{{printf 1}}", "template: :1:9: executing \"\" at <1>: wrong type for value; expected string; got int"),
        ("{{upper 1}}", "template: :1:8: executing \"\" at <1>: wrong type for value; expected string; got int"),
        ("{{upper .Missing}}", "template: :1:8: executing \"\" at <.Missing>: invalid value; expected string"),
        ("{{.Size | upper}}", "template: :1:10: executing \"\" at <upper>: wrong type for value; expected string; got int"),
        ("{{truncate .Name \"x\"}}", "template: :1:17: executing \"\" at <\"x\">: wrong type for value; expected int; got string"),
        ("{{join .Name \",\"}}", "template: :1:7: executing \"\" at <.Name>: wrong type for value; expected []string; got string"),
        ("{{range .Name}}{{end}}", "template: :1:8: executing \"\" at <.Name>: range can't iterate over /web"),
        ("{{range $i, $v := 3}}{{end}}", "template: :1:18: executing \"\" at <3>: can't use 3 to iterate over more than one variable"),
        (
            "{{eq .Name 1}}",
            "template: :1:2: executing \"\" at <eq .Name 1>: error calling eq: incompatible types for comparison: string and int",
        ),
        ("{{eq 1}}", "template: :1:2: executing \"\" at <eq 1>: error calling eq: missing argument for comparison"),
        (
            "{{eq .Names .Names}}",
            "template: :1:2: executing \"\" at <eq .Names .Names>: error calling eq: non-comparable type [web frontend]: []interface {}",
        ),
        ("{{lt .Names 1}}", "template: :1:2: executing \"\" at <lt .Names 1>: error calling lt: invalid type for comparison"),
        ("{{lt true false}}", "template: :1:2: executing \"\" at <lt true false>: error calling lt: invalid type for comparison"),
        ("{{.Labels 1}}", "template: :1:2: executing \"\" at <.Labels>: Labels is not a method but has arguments"),
        ("{{\"x\" | .Labels}}", "template: :1:8: executing \"\" at <.Labels>: Labels is not a method but has arguments"),
        ("{{$x := 1}}{{$x 2}}", "template: :1:13: executing \"\" at <$x>: can't give argument to non-function $x"),
        ("{{(1) 2}}", "template: :1:2: executing \"\" at <(1) 2>: can't give argument to non-function 1"),
        ("{{(nil).A}}", "template: :1:3: executing \"\" at <nil>: nil is not a command"),
        ("{{call .Name}}", "template: :1:2: executing \"\" at <call .Name>: error calling call: non-function of type string"),
        ("{{18446744073709551615}}", "template: :1:2: executing \"\" at <18446744073709551615>: 18446744073709551615 overflows int"),
        (
            "line1\n{{.Name.X}}",
            "template: :2:7: executing \"\" at <.Name.X>: can't evaluate field X in type string",
        ),
        (
            "{{define \"T\"}}{{.X.Y}}{{end}}{{template \"T\" .Name}}",
            "template: :1:18: executing \"T\" at <.X.Y>: can't evaluate field X in type string",
        ),
        (
            "{{pad \"a\" -1 0}}",
            "template: :1:2: executing \"\" at <pad \"a\" -1 0>: error calling pad: strings: negative Repeat count",
        ),
    ]);
}

#[test]
fn errors_with_other_data() {
    check_err(
        "{{.A.B}}",
        &json!({"A": 1}),
        "template: :1:4: executing \"\" at <.A.B>: can't evaluate field B in type int",
    );
    check_err(
        "{{.A.B}}",
        &json!({"A": 1.5}),
        "template: :1:4: executing \"\" at <.A.B>: can't evaluate field B in type float64",
    );
    check_err(
        "{{.A}}",
        &json!([1]),
        "template: :1:2: executing \"\" at <.A>: can't evaluate field A in type []interface {}",
    );
    check_err("{{.A}}", &json!(null), "template: :1:2: executing \"\" at <.A>: nil pointer evaluating interface {}.A");
}

/// Runs `f` on a thread with a deliberately small stack (1 MiB, half of
/// Rust's default for spawned threads) so stack regressions show up here.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    let handle = std::thread::Builder::new().stack_size(1 << 20).spawn(f).unwrap_or_else(|e| panic!("spawn: {e}"));
    if let Err(e) = handle.join() {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn limits_prevent_stack_overflow_and_runaway() {
    on_small_stack(limits_body);
}

fn limits_body() {
    let d = data();
    let max = crate::parse::MAX_PARSE_DEPTH;
    // Deeply nested parentheses and control structures are parse errors.
    let parens = format!("{{{{{}1{}}}}}", "(".repeat(5000), ")".repeat(5000));
    check_err_contains(&parens, &d, "max expression depth exceeded");
    let ifs = format!("{}x{}", "{{if 1}}".repeat(5000), "{{end}}".repeat(5000));
    check_err_contains(&ifs, &d, "max nesting depth exceeded");
    let withs = format!("{}x{}", "{{with 1}}{{range .}}".repeat(3000), "{{end}}".repeat(6000));
    check_err_contains(&withs, &d, "max nesting depth exceeded");
    let blocks = format!("{}x{}", "{{block \"b\" .}}".repeat(3000), "{{end}}".repeat(3000));
    check_err_contains(&blocks, &d, "max nesting depth exceeded");
    // Just below the limit works.
    let ok_ifs = format!("{}x{}", "{{if 1}}".repeat(max), "{{end}}".repeat(max));
    check(&ok_ifs, &d, "x");
    let ok_parens = format!("{{{{{}1{}}}}}", "(".repeat(max), ")".repeat(max));
    check(&ok_parens, &d, "1");
    let ok_ranges = format!("{}x{}", "{{range 1}}".repeat(max), "{{end}}".repeat(max));
    check(&ok_ranges, &d, "x");
    // Unbounded template recursion is an execution error.
    check_err_contains(
        "{{define \"r\"}}{{template \"r\" .}}{{end}}{{template \"r\" .}}",
        &d,
        "exceeded maximum template depth",
    );
    // Recursion with the deepest allowed nesting at every level still ends
    // in an error rather than a stack overflow.
    for open in ["{{if 1}}", "{{with .}}", "{{range 1}}"] {
        let n = max - 1;
        let body = format!("{}{{{{template \"r\" .}}}}{}", open.repeat(n), "{{end}}".repeat(n));
        let deep = format!("{{{{define \"r\"}}}}{body}{{{{end}}}}{{{{template \"r\" .}}}}");
        check_err_contains(&deep, &d, "exceeded maximum template depth");
    }
    let n = max - 1;
    let parens = format!(
        "{{{{define \"r\"}}}}{{{{template \"r\" {}.{}}}}}{{{{end}}}}{{{{template \"r\" .}}}}",
        "(print ".repeat(n),
        ")".repeat(n)
    );
    check_err_contains(&parens, &d, "exceeded maximum template depth");
    // Huge loops and outputs are cut off.
    check_err_contains("{{range 100000000}}{{end}}", &d, "steps");
    check_err_contains("{{pad \"a\" 100000000 0}}", &d, "pad width too large");
    let mut fanout = String::from("{{define \"t0\"}}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{{end}}");
    for i in 1..=12 {
        let call = format!("{{{{template \"t{}\"}}}}", i - 1);
        fanout.push_str(&format!("{{{{define \"t{i}\"}}}}{}{{{{end}}}}", call.repeat(4)));
    }
    fanout.push_str("{{template \"t12\"}}");
    check_err_contains(&fanout, &d, "output exceeds");
}

#[test]
fn deeply_nested_data_does_not_overflow() {
    let mut v = json!(1);
    for _ in 0..500 {
        v = Json::Array(vec![v]);
    }
    let out = render("{{.}}", &v).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.starts_with("[[[[") && out.contains("..."));
    let err = render("{{json .}}", &v).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("nested too deeply"), "{err}");
}

#[test]
fn arbitrary_input_never_panics() {
    // A cheap in-tree stand-in for the fuzz target: every prefix and some
    // mutations of a corpus of templates must parse/execute without panic.
    let corpus = [
        "{{range $i, $v := .Names}}{{if $i}},{{end}}{{$v | printf \"%-5s\"}}{{else}}none{{end}}",
        "{{define \"T\"}}{{with .Server}}{{.Version}}{{end}}{{end}}{{template \"T\" .}}{{block \"B\" .}}x{{end}}",
        "{{- /* c */ -}}{{ (index .Ports 0).PublicPort | printf \"%05d\" }}{{json .Labels}}{{slice .ID 1 3}}",
        "{{'\\x41'}}{{\"\\u00e9\"}}{{`r`}}{{0x1p-2}}{{1e400}}{{.5}}{{-.5e-3}}{{$ := 1}}",
        "{{printf \"%[2]*[1]d|%-+#0 8.3x|%.*s|%!|%[9]v\" 1 2 3 \"abc\"}}",
    ];
    let d = data();
    for src in corpus {
        for (i, _) in src.char_indices() {
            let _ = render(&src[..i], &d);
            let _ = render(&src[i..], &d);
        }
    }
}

#[test]
fn go_field_names_reach_json_keys_ignoring_case() {
    let data = json!({"Server": {"ApiVersion": "1.45", "apiversion": "lower", "Id": "abc"}});
    check("{{.Server.APIVersion}}", &data, "1.45");
    check("{{.Server.apiversion}}", &data, "lower");
    check("{{.Server.ID}}", &data, "abc");
    check("{{.Server.Nope}}", &data, "<no value>");
}
