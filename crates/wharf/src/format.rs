//! `--format` handling shared by all commands, as the docker CLI's `formatter` and
//! `inspect` packages do it:
//!
//! * list commands: `table` (the command's default columns), `table TEMPLATE` (a header
//!   row plus one row per object, aligned like Go's `text/tabwriter` with docker's
//!   settings), `json` (one JSON object per line) or a Go template per object;
//! * inspect-style commands: an indented JSON array by default, `json` for a compact
//!   array, or a Go template per object.
//!
//! Templates are executed by `wharf-gotmpl` against the JSON form of each object. JSON
//! output is escaped like Go's `encoding/json` (`<`, `>`, `&` as `\u003c`…).

use std::fmt;
use std::io::Write;

use serde::Serialize;
use serde_json::Value;
use tabwriter::TabWriter;

/// An error that carries docker's exit status (1 for most errors, 64 for bad templates).
#[derive(Debug)]
pub(crate) struct StatusError {
    pub code: i32,
    pub message: String,
}

impl StatusError {
    pub(crate) fn new(code: i32, message: impl Into<String>) -> StatusError {
        StatusError { code, message: message.into() }
    }
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StatusError {}

/// Help text of `--format` on list commands (docker's `flagsHelper.FormatHelp`).
pub(crate) const FORMAT_HELP: &str = "Format output using a custom template:
'table':            Print output in table format with column headers (default)
'table TEMPLATE':   Print output in table format using the given Go template
'json':             Print in JSON format
'TEMPLATE':         Print output using the given Go template.
Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";

/// Help text of `--format` on inspect-style commands (docker's `InspectFormatHelp`).
pub(crate) const INSPECT_FORMAT_HELP: &str = "Format output using a custom template:
'json':             Print in JSON format
'TEMPLATE':         Print output using the given Go template.
Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates";

/// A parsed list `--format` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Format {
    /// `table` (or no `--format`): the command's default columns.
    DefaultTable,
    /// `table TEMPLATE`.
    Table(String),
    /// `json`.
    Json,
    /// Any other value: a Go template executed per object.
    Template(String),
}

impl Format {
    /// Parses a list command's `--format` like docker's `formatter.Context.preFormat`:
    /// strips `table`, trims spaces, and turns the two-character sequences `\t` and `\n`
    /// into a tab and a newline.
    pub(crate) fn parse(src: &str) -> Format {
        if src.is_empty() || src == "table" {
            return Format::DefaultTable;
        }
        if src == "json" {
            return Format::Json;
        }
        if let Some(rest) = src.strip_prefix("table") {
            let t = unescape(rest.trim_matches(' '));
            if t.is_empty() {
                return Format::DefaultTable;
            }
            return Format::Table(t);
        }
        Format::Template(unescape(src.trim_matches(' ')))
    }
}

fn unescape(s: &str) -> String {
    s.replace("\\t", "\t").replace("\\n", "\n")
}

/// Parses a Go template with `wharf-gotmpl`, mapping errors to docker's text.
pub(crate) fn parse_template(src: &str) -> Result<wharf_gotmpl::Template, String> {
    wharf_gotmpl::Template::parse(src).map_err(|e| format!("template parsing error: {e}"))
}

/// Executes a parsed template against `data`.
pub(crate) fn execute(t: &wharf_gotmpl::Template, data: &Value) -> Result<String, String> {
    t.execute(data).map_err(|e| format!("template parsing error: {e}"))
}

/// A tab-aligning writer with docker's table settings: Go's
/// `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`.
///
/// Go computes a column as `max(minwidth, widest cell + padding)`, while the `tabwriter`
/// crate computes `max(minwidth, widest cell) + padding`; a minwidth of `10 - 3` gives
/// the same columns as Go's 10.
pub(crate) fn table_writer<W: Write>(w: W) -> TabWriter<W> {
    go_tabwriter(w, 10, 3)
}

/// Go's `tabwriter.NewWriter(w, minwidth, 1, padding, ' ', 0)` on top of the crate.
pub(crate) fn go_tabwriter<W: Write>(w: W, minwidth: usize, padding: usize) -> TabWriter<W> {
    TabWriter::new(w).minwidth(minwidth.saturating_sub(padding)).padding(padding)
}

/// One object of a list: its template data and its cells for the default table.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub data: Value,
    pub cells: Vec<String>,
}

/// Writes a list in `format`. `header` maps field names to column titles (what docker's
/// `SubContext.FullHeader()` returns); `columns` are the default table's titles.
pub(crate) fn write_list<W: Write + ?Sized>(
    out: &mut W,
    format: &Format,
    header: &Value,
    columns: &[&str],
    rows: &[Row],
) -> anyhow::Result<()> {
    match format {
        Format::DefaultTable => {
            let mut tw = table_writer(Vec::new());
            writeln!(tw, "{}", columns.join("\t"))?;
            for r in rows {
                writeln!(tw, "{}", r.cells.join("\t"))?;
            }
            tw.flush()?;
            out.write_all(&tw.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?;
        }
        Format::Table(src) => {
            let t = parse_template(src).map_err(anyhow::Error::msg)?;
            let mut body = String::new();
            for r in rows {
                body.push_str(&execute(&t, &r.data).map_err(anyhow::Error::msg)?);
                body.push('\n');
            }
            // Docker ignores errors while rendering the header.
            let head = t.execute(header).unwrap_or_default();
            let mut tw = table_writer(Vec::new());
            tw.write_all(head.as_bytes())?;
            tw.write_all(b"\n")?;
            tw.write_all(body.as_bytes())?;
            tw.flush()?;
            out.write_all(&tw.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?;
        }
        Format::Json => {
            for r in rows {
                writeln!(out, "{}", go_json(&r.data)?)?;
            }
        }
        Format::Template(src) => {
            let t = parse_template(src).map_err(anyhow::Error::msg)?;
            let mut body = String::new();
            for r in rows {
                body.push_str(&execute(&t, &r.data).map_err(anyhow::Error::msg)?);
                body.push('\n');
            }
            out.write_all(body.as_bytes())?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Writes inspect output like docker's `inspect.Inspect`: the found `items` as an
/// indented JSON array (or `json`: compact, or a template per item), then fails with
/// the lookup `errors` (exit status 1) if there were any. A bad template is status 64.
pub(crate) fn write_inspect<W: Write + ?Sized, T: Serialize>(
    out: &mut W,
    format: &str,
    items: &[T],
    mut errors: Vec<String>,
) -> anyhow::Result<()> {
    match format {
        "" => {
            if items.is_empty() {
                out.write_all(b"[]\n")?;
            } else {
                writeln!(out, "{}", go_json_pretty(items, b"    ")?)?;
            }
        }
        "json" => {
            writeln!(out, "{}", go_json(items)?)?;
        }
        src => {
            let t = parse_template(src).map_err(|e| StatusError::new(64, e))?;
            let mut buf = String::new();
            for item in items {
                let data = serde_json::to_value(item)?;
                match execute(&t, &data) {
                    Ok(s) => {
                        buf.push_str(&s);
                        buf.push('\n');
                    }
                    Err(e) => errors.push(e),
                }
            }
            if buf.is_empty() {
                buf.push('\n');
            }
            out.write_all(buf.as_bytes())?;
        }
    }
    out.flush()?;
    if !errors.is_empty() {
        return Err(StatusError::new(1, errors.join("\n")).into());
    }
    Ok(())
}

/// Writes inspect output from the daemon's raw JSON documents, as docker's inspector
/// does when it has the raw response: by default the documents as one array indented
/// by Go's `json.Indent` (keys and values as the daemon sent them), `json` for the
/// array compacted, else a template per document. Lookup `errors` (and template errors)
/// fail the command with status 1 after the output; a bad template is status 64.
pub(crate) fn write_inspect_raw<W: Write + ?Sized>(
    out: &mut W,
    format: &str,
    raws: &[Vec<u8>],
    mut errors: Vec<String>,
) -> anyhow::Result<()> {
    let joined = || {
        let mut all = b"[".to_vec();
        for (i, r) in raws.iter().enumerate() {
            if i > 0 {
                all.push(b',');
            }
            all.extend_from_slice(r);
        }
        all.push(b']');
        all
    };
    match format {
        "" => {
            if raws.is_empty() {
                out.write_all(b"[]\n")?;
            } else {
                out.write_all(&go_json_indent(&joined(), "    "))?;
                out.write_all(b"\n")?;
            }
        }
        "json" => {
            out.write_all(&go_json_compact(&joined()))?;
            out.write_all(b"\n")?;
        }
        src => {
            let t = parse_template(src).map_err(|e| StatusError::new(64, e))?;
            let mut buf = String::new();
            for raw in raws {
                let data: Value = match serde_json::from_slice(raw) {
                    Ok(v) => v,
                    Err(e) => {
                        errors.push(format!("unable to read inspect data: {e}"));
                        continue;
                    }
                };
                match execute(&t, &data) {
                    Ok(s) => {
                        buf.push_str(&s);
                        buf.push('\n');
                    }
                    Err(e) => errors.push(e),
                }
            }
            if buf.is_empty() {
                buf.push('\n');
            }
            out.write_all(buf.as_bytes())?;
        }
    }
    out.flush()?;
    if !errors.is_empty() {
        return Err(StatusError::new(1, errors.join("\n")).into());
    }
    Ok(())
}

/// Go's `json.Indent(dst, src, "", indent)` on valid JSON: whitespace between tokens
/// is dropped, then each element goes on its own line; `{}` and `[]` stay as they are.
pub(crate) fn go_json_indent(src: &[u8], indent: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len() * 2);
    let mut depth = 0usize;
    let mut need_indent = false;
    let mut in_string = false;
    let mut escaped = false;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        for _ in 0..depth {
            out.extend_from_slice(indent.as_bytes());
        }
    };
    for &c in src {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
            continue;
        }
        if matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
            continue;
        }
        if need_indent && c != b']' && c != b'}' {
            need_indent = false;
            depth += 1;
            newline(&mut out, depth);
        }
        match c {
            b'"' => {
                in_string = true;
                out.push(c);
            }
            b'{' | b'[' => {
                need_indent = true;
                out.push(c);
            }
            b',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            b'}' | b']' => {
                if need_indent {
                    need_indent = false;
                } else {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Go's `json.Compact` on valid JSON: the whitespace between tokens removed.
pub(crate) fn go_json_compact(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len());
    let mut in_string = false;
    let mut escaped = false;
    for &c in src {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
        } else if matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
            continue;
        } else if c == b'"' {
            in_string = true;
        }
        out.push(c);
    }
    out
}

/// Compact JSON, escaped like Go's `json.Marshal`.
pub(crate) fn go_json<T: Serialize + ?Sized>(v: &T) -> anyhow::Result<String> {
    Ok(go_escape(serde_json::to_string(v)?))
}

/// Indented JSON, escaped like Go's `json.MarshalIndent(v, "", indent)`.
pub(crate) fn go_json_pretty<T: Serialize + ?Sized>(v: &T, indent: &[u8]) -> anyhow::Result<String> {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(indent);
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    v.serialize(&mut ser)?;
    Ok(go_escape(String::from_utf8(buf)?))
}

/// Tab-indented JSON, as docker writes config.json.
pub(crate) fn go_json_pretty_tabs<T: Serialize + ?Sized>(v: &T) -> anyhow::Result<String> {
    go_json_pretty(v, b"\t")
}

/// Go's HTML-safe escaping. These characters only occur inside JSON strings, so the
/// serialized text can be rewritten directly.
fn go_escape(s: String) -> String {
    if !s.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `units.BytesSize`: binary units with up to 4 significant digits ("23.47GiB").
pub(crate) fn bytes_size(size: f64) -> String {
    const UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    let mut size = size;
    let mut i = 0;
    while size >= 1024.0 && i < UNITS.len() - 1 {
        size /= 1024.0;
        i += 1;
    }
    format!("{}{}", format_g4(size), UNITS[i])
}

/// Go's `%.4g` for the non-negative values `bytes_size` produces.
fn format_g4(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let exp = v.abs().log10().floor() as i32;
    if !(-4..4).contains(&exp) {
        // Exponent form; never reached for sizes below 1024 per unit.
        return format!("{v:.3e}");
    }
    let decimals = (3 - exp).max(0) as usize;
    let s = format!("{v:.decimals$}");
    // A rounding carry (999.95 → "1000.0") can add a digit; %g would switch to
    // exponent form there, which units.BytesSize never hits below 1024.
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_formats() {
        assert_eq!(Format::parse(""), Format::DefaultTable);
        assert_eq!(Format::parse("table"), Format::DefaultTable);
        assert_eq!(Format::parse("json"), Format::Json);
        assert_eq!(
            Format::parse("table {{.Name}}\\t{{.DockerEndpoint}}"),
            Format::Table("{{.Name}}\t{{.DockerEndpoint}}".into())
        );
        assert_eq!(Format::parse(" {{.Name}}\\n"), Format::Template("{{.Name}}\n".into()));
        assert_eq!(Format::parse("{{json .}}"), Format::Template("{{json .}}".into()));
    }

    /// `docker context ls` output, byte for byte (taken from the docker 28.2 CLI).
    #[test]
    fn default_table_matches_docker() {
        let rows = vec![
            Row {
                data: json!({}),
                cells: vec![
                    "default".into(),
                    "Current DOCKER_HOST based configuration".into(),
                    "unix:///var/run/docker.sock".into(),
                    "".into(),
                ],
            },
            Row { data: json!({}), cells: vec!["yy *".into(), "".into(), "unix:///tmp/y.sock".into(), "".into()] },
            Row { data: json!({}), cells: vec!["zz".into(), "zed ctx".into(), "tcp://1.2.3.4:2376".into(), "".into()] },
        ];
        let mut out = Vec::new();
        write_list(
            &mut out,
            &Format::DefaultTable,
            &json!({}),
            &["NAME", "DESCRIPTION", "DOCKER ENDPOINT", "ERROR"],
            &rows,
        )
        .expect("write");
        let want = "\
NAME      DESCRIPTION                               DOCKER ENDPOINT               ERROR
default   Current DOCKER_HOST based configuration   unix:///var/run/docker.sock   
yy *                                                unix:///tmp/y.sock            
zz        zed ctx                                   tcp://1.2.3.4:2376            
";
        assert_eq!(String::from_utf8(out).expect("utf8"), want);
    }

    #[test]
    fn short_columns_get_minwidth() {
        let rows = vec![Row { data: json!({}), cells: vec!["a".into(), "b".into()] }];
        let mut out = Vec::new();
        write_list(&mut out, &Format::DefaultTable, &json!({}), &["X", "Y"], &rows).expect("write");
        // Go: max(minwidth 10, 1 + padding 3) = 10.
        assert_eq!(String::from_utf8(out).expect("utf8"), "X         Y\na         b\n");
    }

    #[test]
    fn json_lines_are_go_escaped_and_sorted() {
        let rows = vec![
            Row { data: json!({"Name": "b", "Current": false, "Error": "<x> & y"}), cells: vec![] },
            Row { data: json!({"Name": "a"}), cells: vec![] },
        ];
        let mut out = Vec::new();
        write_list(&mut out, &Format::Json, &json!({}), &[], &rows).expect("write");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "{\"Current\":false,\"Error\":\"\\u003cx\\u003e \\u0026 y\",\"Name\":\"b\"}\n{\"Name\":\"a\"}\n"
        );
    }

    #[test]
    fn inspect_default_and_json() {
        #[derive(Serialize)]
        struct Item {
            #[serde(rename = "Name")]
            name: String,
            #[serde(rename = "Path")]
            path: String,
        }
        let items = vec![Item { name: "x".into(), path: "<IN MEMORY>".into() }];
        let mut out = Vec::new();
        write_inspect(&mut out, "", &items, vec![]).expect("inspect");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "[\n    {\n        \"Name\": \"x\",\n        \"Path\": \"\\u003cIN MEMORY\\u003e\"\n    }\n]\n"
        );
        let mut out = Vec::new();
        write_inspect(&mut out, "json", &items, vec![]).expect("inspect");
        assert_eq!(String::from_utf8(out).expect("utf8"), "[{\"Name\":\"x\",\"Path\":\"\\u003cIN MEMORY\\u003e\"}]\n");
        let mut out = Vec::new();
        let err = write_inspect::<_, Item>(&mut out, "", &[], vec!["context \"q\" does not exist".into()])
            .expect_err("error");
        assert_eq!(String::from_utf8(out).expect("utf8"), "[]\n");
        let status = err.downcast_ref::<StatusError>().expect("status");
        assert_eq!((status.code, status.message.as_str()), (1, "context \"q\" does not exist"));
    }

    /// `docker image inspect` output for a daemon answer written with other spacing.
    #[test]
    fn raw_inspect_like_docker() {
        let raw = br#"{"Id": "sha256:a", "RepoTags": ["b:latest"], "RepoDigests": [], "Config": {"Env": ["P=<x>"], "Labels": {}}, "Data": null, "Size": 1e3, "S": "a\"b, c: [d]"}
"#
        .to_vec();
        let mut out = Vec::new();
        write_inspect_raw(&mut out, "", std::slice::from_ref(&raw), vec![]).expect("inspect");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            r#"[
    {
        "Id": "sha256:a",
        "RepoTags": [
            "b:latest"
        ],
        "RepoDigests": [],
        "Config": {
            "Env": [
                "P=<x>"
            ],
            "Labels": {}
        },
        "Data": null,
        "Size": 1e3,
        "S": "a\"b, c: [d]"
    }
]
"#
        );
        let mut out = Vec::new();
        write_inspect_raw(&mut out, "json", &[raw.clone(), b"{}".to_vec()], vec![]).expect("json");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "[{\"Id\":\"sha256:a\",\"RepoTags\":[\"b:latest\"],\"RepoDigests\":[],\"Config\":{\"Env\":[\"P=<x>\"],\"Labels\":{}},\"Data\":null,\"Size\":1e3,\"S\":\"a\\\"b, c: [d]\"},{}]\n"
        );
        let mut out = Vec::new();
        let err =
            write_inspect_raw(&mut out, "", &[], vec!["Error response from daemon: No such image: x:latest".into()])
                .expect_err("missing");
        assert_eq!(String::from_utf8(out).expect("utf8"), "[]\n");
        assert_eq!(err.to_string(), "Error response from daemon: No such image: x:latest");
        let err = write_inspect_raw(&mut Vec::new(), "{{.Id", &[raw], vec![]).expect_err("bad template");
        assert_eq!(err.downcast_ref::<StatusError>().map(|s| s.code), Some(64));
    }

    #[test]
    fn human_sizes() {
        assert_eq!(bytes_size(25_199_845_376.0), "23.47GiB");
        assert_eq!(bytes_size(0.0), "0B");
        assert_eq!(bytes_size(1023.0), "1023B");
        assert_eq!(bytes_size(1024.0), "1KiB");
        assert_eq!(bytes_size(1536.0), "1.5KiB");
        assert_eq!(bytes_size(2_147_483_648.0), "2GiB");
        assert_eq!(bytes_size(8_246_337_208.0), "7.68GiB");
    }

    /// Table and template rendering through wharf-gotmpl (skipped while the template
    /// engine is still a skeleton that cannot execute).
    #[test]
    fn table_template_through_gotmpl() {
        if wharf_gotmpl::Template::parse("x").and_then(|t| t.execute(&json!({}))).is_err() {
            eprintln!("wharf-gotmpl cannot execute templates yet; skipping");
            return;
        }
        let rows = vec![
            Row { data: json!({"Name": "default", "DockerEndpoint": "unix:///var/run/docker.sock"}), cells: vec![] },
            Row { data: json!({"Name": "a-much-longer-name", "DockerEndpoint": "tcp://h:1"}), cells: vec![] },
        ];
        let header = json!({"Name": "NAME", "DockerEndpoint": "DOCKER ENDPOINT"});
        let mut out = Vec::new();
        write_list(&mut out, &Format::parse("table {{.Name}}\\t{{.DockerEndpoint}}"), &header, &[], &rows)
            .expect("table");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "NAME                 DOCKER ENDPOINT\n\
             default              unix:///var/run/docker.sock\n\
             a-much-longer-name   tcp://h:1\n"
        );
        let mut out = Vec::new();
        write_list(&mut out, &Format::parse("{{.Name}}"), &header, &[], &rows).expect("template");
        assert_eq!(String::from_utf8(out).expect("utf8"), "default\na-much-longer-name\n");
    }
}
