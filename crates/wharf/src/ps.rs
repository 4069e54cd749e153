//! `wharf ps` (`container ls`): `GET /containers/json` shown as the docker CLI's
//! `ContainerContext` shows it: the default table `CONTAINER ID IMAGE COMMAND CREATED
//! STATUS PORTS NAMES` (and `SIZE` with `-s`), with the command quoted and cut to 20
//! columns, the status as the daemon wrote it, `-q` for IDs, `--format` tables, JSON
//! lines or templates. A template that uses `.Size` asks the daemon for sizes, as
//! docker does; `.Label "name"` (a method call in Go) is rewritten to an `index` of the
//! container's labels.

use std::io::Write;

use clap::Args;
use http::Method;
use serde_json::{json, Map, Value};

use crate::config::ConfigFile;
use crate::df::container_row;
use crate::filters::{Filters, Query};
use crate::format::{self, Format, Row, StatusError};
use crate::image::connect;
use crate::system::Target;
use crate::units;

#[derive(Debug, Args)]
pub(crate) struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    pub all: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true, help = format::FORMAT_HELP)]
    pub format: String,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last", value_name = "int", default_value_t = -1, allow_hyphen_values = true)]
    pub last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short = 'l', long)]
    pub latest: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only display container IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Display total file sizes
    #[arg(short, long)]
    pub size: bool,
}

const PS_COLUMNS: [&str; 7] = ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"];

/// Titles of the container fields in `table` templates.
fn ps_header(labels: &[String]) -> Value {
    let mut h = json!({
        "ID": "CONTAINER ID", "Names": "NAMES", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
        "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS", "Size": "SIZE",
        "Labels": "LABELS", "Mounts": "MOUNTS", "LocalVolumes": "LOCAL VOLUMES", "Networks": "NETWORKS",
        "Platform": "PLATFORM",
    });
    if !labels.is_empty() {
        h["Label"] = label_header(labels);
    }
    h
}

/// The titles of `.Label "NAME"` columns (docker's `SubHeaderContext.Label`): the last
/// dot-separated part of each name, `-` and `_` as spaces.
pub(crate) fn label_header(labels: &[String]) -> Value {
    let mut m = Map::new();
    for l in labels {
        let last = l.rsplit('.').next().unwrap_or(l);
        m.insert(l.clone(), json!(last.replace(['-', '_'], " ")));
    }
    Value::Object(m)
}

/// docker's `ContainerContext.Size`: "12B (virtual 187MB)", or the writable layer alone.
fn size_text(c: &Value) -> String {
    let int = |k: &str| c.get(k).and_then(|n| n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))).unwrap_or(0);
    let srw = units::human_size_with_precision(int("SizeRw") as f64, 3);
    let root = int("SizeRootFs");
    if root > 0 {
        format!("{srw} (virtual {})", units::human_size_with_precision(root as f64, 3))
    } else {
        srw
    }
}

/// One container as a row: docker's template fields, and the default table's cells.
pub(crate) fn ps_row(c: &Value, trunc: bool, size: bool, labels: &[String], now: i64) -> Row {
    let mut row = container_row(c, trunc, now);
    row.data["Size"] = json!(size_text(c));
    if !labels.is_empty() {
        let own = c.get("Labels").and_then(Value::as_object);
        let m: Map<String, Value> = labels
            .iter()
            .map(|l| (l.clone(), own.and_then(|o| o.get(l)).cloned().unwrap_or_else(|| json!(""))))
            .collect();
        row.data["Label"] = Value::Object(m);
    }
    let mut keys = vec!["ID", "Image", "Command", "RunningFor", "Status", "Ports", "Names"];
    if size {
        keys.push("Size");
    }
    row.cells = keys.iter().map(|k| row.data[*k].as_str().unwrap_or("").to_string()).collect();
    row
}

/// Rewrites Go's method call `.Label "name"` into `(index .Label "name")` and returns
/// the label names used; `Err` for a `.Label` without its argument (an error in Go).
pub(crate) fn rewrite_label_calls(src: &str) -> Result<(String, Vec<String>), String> {
    let mut out = String::with_capacity(src.len());
    let mut labels = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find(".Label") {
        let before = rest[..i].chars().next_back();
        let after = &rest[i + ".Label".len()..];
        let ident = |c: char| c.is_alphanumeric() || c == '_';
        let trimmed = after.trim_start_matches([' ', '\t']);
        let field = before.is_none_or(|c| !ident(c) && c != '.' && c != '$') && !after.starts_with(ident);
        let is_call = field && after.len() > trimmed.len() && trimmed.starts_with(['"', '`']);
        if field && !is_call {
            return Err("wrong number of args for Label: want 1 got 0".into());
        }
        if !is_call {
            out.push_str(&rest[..i + ".Label".len()]);
            rest = after;
            continue;
        }
        // The string literal, with Go's escapes for interpreted strings.
        let quote = trimmed.chars().next().unwrap_or('"');
        let mut end = None;
        let mut escaped = false;
        for (j, ch) in trimmed.char_indices().skip(1) {
            if quote == '"' && escaped {
                escaped = false;
                continue;
            }
            if quote == '"' && ch == '\\' {
                escaped = true;
                continue;
            }
            if ch == quote {
                end = Some(j);
                break;
            }
        }
        let Some(end) = end else {
            out.push_str(&rest[..i + ".Label".len()]);
            rest = after;
            continue;
        };
        let literal = &trimmed[..=end];
        let name = if quote == '`' {
            literal[1..literal.len() - 1].to_string()
        } else {
            serde_json::from_str::<String>(literal).unwrap_or_else(|_| literal[1..literal.len() - 1].to_string())
        };
        if !labels.contains(&name) {
            labels.push(name);
        }
        out.push_str(&rest[..i]);
        out.push_str(&format!("(index .Label {literal})"));
        rest = &trimmed[end + 1..];
    }
    out.push_str(rest);
    Ok((out, labels))
}

/// Whether a template needs the sizes (docker records the use of `.Size`; `json .`
/// marshals every field, the size included).
fn template_uses_size(src: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let uses_field = src.match_indices(".Size").any(|(i, _)| {
        let after = src[i + 5..].chars().next();
        let before = src[..i].chars().next_back();
        after.is_none_or(|c| !ident(c)) && before.is_none_or(|c| !ident(c))
    });
    let whole = src.match_indices("json").any(|(i, _)| {
        let rest = src[i + 4..].trim_start();
        rest.starts_with('.') && rest[1..].chars().next().is_none_or(|c| !ident(c) && c != '.')
    });
    uses_field || whole
}

/// docker's `NewContainerFormat`.
fn ps_format(source: &str, quiet: bool, size: bool) -> Format {
    match source {
        "" | "table" if quiet => Format::Template("{{.ID}}".into()),
        "" | "table" => Format::DefaultTable,
        "raw" if quiet => Format::Template("container_id: {{.ID}}".into()),
        "raw" => {
            let mut f = "container_id: {{.ID}}\nimage: {{.Image}}\ncommand: {{.Command}}\ncreated_at: {{.CreatedAt}}\nstate: {{- pad .State 1 0}}\nstatus: {{- pad .Status 1 0}}\nnames: {{.Names}}\nlabels: {{- pad .Labels 1 0}}\nports: {{- pad .Ports 1 0}}\n".to_string();
            if size {
                f.push_str("size: {{.Size}}\n");
            }
            Format::Template(f)
        }
        _ if quiet => Format::Template("{{.ID}}".into()),
        // The whole context marshals as Go's json.Marshal does (HTML-escaped).
        src if src.trim() == "{{json .}}" => Format::Json,
        src => Format::parse(src),
    }
}

/// Renders `ps` for the daemon's list.
pub(crate) fn render(
    list: &[Value],
    source: &str,
    quiet: bool,
    size: bool,
    trunc: bool,
    now: i64,
) -> anyhow::Result<Vec<u8>> {
    let (source, labels) =
        rewrite_label_calls(source).map_err(|e| anyhow::anyhow!("failed to execute template: {e}"))?;
    let format = ps_format(&source, quiet, size);
    let labels = if matches!(format, Format::Table(_) | Format::Template(_)) { labels } else { Vec::new() };
    let rows: Vec<Row> = list.iter().map(|c| ps_row(c, trunc, size, &labels, now)).collect();
    let mut columns = PS_COLUMNS.to_vec();
    if size {
        columns.push("SIZE");
    }
    let mut out = Vec::new();
    format::write_list(&mut out, &format, &ps_header(&labels), &columns, &rows)?;
    Ok(out)
}

/// `wharf ps` / `wharf container ls`.
pub(crate) async fn ps(t: &Target, config: &ConfigFile, a: &PsArgs) -> anyhow::Result<()> {
    let filters = Filters::parse(&a.filter).map_err(|e| StatusError::new(125, e))?;
    let mut source = a.format.clone();
    if source.is_empty() {
        source = config.get_str("psFormat").unwrap_or("").to_string();
    } else if a.quiet {
        eprintln!("WARNING: Ignoring custom format, because both --format and --quiet are set.");
    }
    let mut size = a.size;
    if !source.is_empty() {
        let parsed = match Format::parse(&source) {
            Format::Table(t) | Format::Template(t) => Some(t),
            _ => None,
        };
        if let Some(t) = parsed {
            wharf_gotmpl::Template::parse(&t).map_err(|e| anyhow::anyhow!("failed to parse template: {e}"))?;
            rewrite_label_calls(&t).map_err(|e| anyhow::anyhow!("failed to execute template: {e}"))?;
            if !a.quiet && template_uses_size(&t) {
                size = true;
            }
        }
    }
    let mut limit = a.last;
    if a.latest && limit == -1 {
        limit = 1;
    }
    let mut q = Query::default();
    if a.all {
        q.add("all", "1");
    }
    if limit > 0 {
        q.add("limit", &limit.to_string());
    }
    if size {
        q.add("size", "1");
    }
    if !filters.is_empty() {
        q.add("filters", &filters.to_json());
    }
    let conn = connect(t).await?;
    let list = conn.raw_json(Method::GET, &format!("/containers/json{}", q.encode())).await?;
    let list = list.as_array().cloned().unwrap_or_default();
    let out = render(&list, &source, a.quiet, size, !a.no_trunc, units::now_nanos())?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&out)?;
    stdout.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_000_000 * 1_000_000_000;

    /// The daemon answer used to capture `docker ps` (28.2) output.
    fn sample() -> Vec<Value> {
        let now = NOW / 1_000_000_000;
        vec![
            json!({"Id": "f".repeat(64), "Names": ["/web"], "Image": "nginx:latest", "ImageID": format!("sha256:{}", "a".repeat(64)),
                   "Command": "/docker-entrypoint.sh nginx -g 'daemon off;'", "Created": now - 3 * 86400,
                   "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                             {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}, {"PrivatePort": 443, "Type": "tcp"}],
                   "Labels": {"com.example": "x", "b": "2"}, "State": "running", "Status": "Up 3 days", "SizeRw": 12,
                   "SizeRootFs": 187_000_000, "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2"}}},
                   "Mounts": [{"Type": "volume", "Name": "abcdefabcdefabcdefabcdef", "Source": "/var/lib/x", "Destination": "/data", "Driver": "local"}]}),
            json!({"Id": "e".repeat(64), "Names": ["/db", "/web/db"], "Image": format!("sha256:{}", "b".repeat(64)),
                   "ImageID": format!("sha256:{}", "b".repeat(64)), "Command": "sh", "Created": now - 7200, "Ports": [],
                   "Labels": {}, "State": "exited", "Status": "Exited (0) 2 hours ago", "NetworkSettings": {"Networks": {}}, "Mounts": []}),
            json!({"Id": "d".repeat(64), "Names": ["/ünï"], "Image": format!("busybox@sha256:{}", "c".repeat(64)),
                   "ImageID": format!("sha256:{}", "c".repeat(64)), "Command": "echo \"héllo wörld\" && sleep 1000",
                   "Created": now - 30, "Ports": [{"PrivatePort": 53, "Type": "udp"}, {"PrivatePort": 54, "Type": "udp"}],
                   "Labels": null, "State": "created", "Status": "Created", "NetworkSettings": null,
                   "Mounts": [{"Type": "bind", "Source": "/home/user/very/long/path/here", "Destination": "/x"}]}),
        ]
    }

    fn text(out: Vec<u8>) -> String {
        String::from_utf8(out).expect("utf8")
    }

    /// `docker ps` output for the same answer, byte for byte.
    #[test]
    fn default_table_like_docker() {
        let out = text(render(&sample(), "", false, false, true, NOW).expect("render"));
        assert_eq!(
            out,
            "\
CONTAINER ID   IMAGE          COMMAND                    CREATED          STATUS                   PORTS                                              NAMES
ffffffffffff   nginx:latest   \"/docker-entrypoint.…\"     3 days ago       Up 3 days                443/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp   web
eeeeeeeeeeee   bbbbbbbbbbbb   \"sh\"                       2 hours ago      Exited (0) 2 hours ago                                                      db
dddddddddddd   cccccccccccc   \"echo \\\"héllo wörld\\\" …\"   30 seconds ago   Created                  53-54/udp                                          ünï
"
        );
        let out = text(render(&sample(), "table", false, true, true, NOW).expect("render"));
        let first = out.lines().nth(1).expect("row");
        assert!(out.starts_with("CONTAINER ID   IMAGE"), "{out}");
        assert!(out.lines().next().expect("header").ends_with("NAMES     SIZE"), "{out}");
        assert!(first.ends_with("web       12B (virtual 187MB)"), "{first}");
        assert!(out.lines().nth(2).expect("row").ends_with("db        0B"), "{out}");
    }

    #[test]
    fn no_trunc_and_quiet() {
        let out = text(render(&sample(), "", false, false, false, NOW).expect("render"));
        let rows: Vec<&str> = out.lines().collect();
        assert!(rows[1].starts_with(&format!("{}   nginx:latest", "f".repeat(64))), "{}", rows[1]);
        assert!(rows[1].contains("\"/docker-entrypoint.sh nginx -g 'daemon off;'\""));
        assert!(rows[2].ends_with("db,web/db"));
        assert!(rows[3].contains(&format!("busybox@sha256:{}", "c".repeat(64))));
        let out = text(render(&sample(), "", true, false, true, NOW).expect("render"));
        assert_eq!(out, "ffffffffffff\neeeeeeeeeeee\ndddddddddddd\n");
        let out = text(render(&sample(), "{{.Names}}", true, false, true, NOW).expect("render"));
        assert_eq!(out, "ffffffffffff\neeeeeeeeeeee\ndddddddddddd\n");
    }

    /// Command truncation: 20 columns, the last one "…", then Go-quoted.
    #[test]
    fn command_truncation() {
        let row = |cmd: &str, trunc: bool| {
            let c = json!({"Id": "a", "Names": ["/x"], "Image": "i", "Command": cmd, "Created": 0});
            ps_row(&c, trunc, false, &[], NOW).data["Command"].as_str().expect("command").to_string()
        };
        assert_eq!(row("sh", true), "\"sh\"");
        assert_eq!(row("12345678901234567890", true), "\"12345678901234567890\"");
        assert_eq!(row("123456789012345678901", true), "\"1234567890123456789…\"");
        assert_eq!(row("/docker-entrypoint.sh nginx", true), "\"/docker-entrypoint.…\"");
        assert_eq!(row("/docker-entrypoint.sh nginx", false), "\"/docker-entrypoint.sh nginx\"");
        assert_eq!(row("a\tb\"c", true), "\"a\\tb\\\"c\"");
        assert_eq!(row("", true), "\"\"");
    }

    /// The status column is the daemon's text, whatever it says.
    #[test]
    fn status_passthrough() {
        for status in [
            "Up 3 seconds (healthy)",
            "Exited (137) 5 minutes ago",
            "Up 2 hours (Paused)",
            "Restarting (1) 3 seconds ago",
            "Removal In Progress",
            "Dead",
            "",
        ] {
            let c = json!({"Id": "a", "Names": ["/x"], "Image": "i", "Command": "sh", "Created": 0, "Status": status, "State": "running"});
            let row = ps_row(&c, true, false, &[], NOW);
            assert_eq!(row.cells[4], status);
            assert_eq!(row.data["Status"], status);
        }
    }

    /// `docker ps --format json` lines (28.2), minus the local-time field.
    #[test]
    fn json_lines_like_docker() {
        let out = text(render(&sample(), "json", false, false, true, NOW).expect("render"));
        let first: Value = serde_json::from_str(out.lines().next().expect("line")).expect("json");
        let mut first = first;
        first.as_object_mut().expect("object").remove("CreatedAt");
        assert_eq!(
            format::go_json(&first).expect("json"),
            r#"{"Command":"\"/docker-entrypoint.…\"","ID":"ffffffffffff","Image":"nginx:latest","Labels":"b=2,com.example=x","LocalVolumes":"1","Mounts":"abcdefabcdefab…","Names":"web","Networks":"bridge","Platform":null,"Ports":"443/tcp, 0.0.0.0:8080-\u003e80/tcp, [::]:8080-\u003e80/tcp","RunningFor":"3 days ago","Size":"12B (virtual 187MB)","State":"running","Status":"Up 3 days"}"#
        );
        assert!(out.lines().nth(1).expect("line").contains(r#""Size":"0B""#));
        assert!(!out.contains("\"Label\""));
    }

    #[test]
    fn label_calls() {
        assert_eq!(
            rewrite_label_calls(r#"{{.Names}}\t{{.Label "com.example"}} {{ .Label `b` | printf "%s"}} {{.Labels}}"#),
            Ok((
                r#"{{.Names}}\t{{(index .Label "com.example")}} {{ (index .Label `b`) | printf "%s"}} {{.Labels}}"#
                    .to_string(),
                vec!["com.example".to_string(), "b".to_string()]
            ))
        );
        assert_eq!(rewrite_label_calls("{{.Label}}"), Err("wrong number of args for Label: want 1 got 0".into()));
        assert_eq!(rewrite_label_calls("{{.Labels}} {{.LabelX}}").map(|r| r.0), Ok("{{.Labels}} {{.LabelX}}".into()));
        assert_eq!(ps_format(" {{json .}}", false, false), Format::Json);
        assert_eq!(ps_header(&["com.example.my-label".into()])["Label"]["com.example.my-label"], "my label");
        if wharf_gotmpl::Template::parse("x").and_then(|t| t.execute(&json!({}))).is_err() {
            return;
        }
        let out = text(
            render(&sample(), r#"table {{.ID}}\t{{.Label "com.example"}}\t{{.Size}}"#, false, true, true, NOW)
                .expect("render"),
        );
        assert_eq!(
            out,
            "CONTAINER ID   example   SIZE\nffffffffffff   x         12B (virtual 187MB)\neeeeeeeeeeee             0B\ndddddddddddd             0B\n"
        );
        let out = text(
            render(
                &sample(),
                r#"{{.Names}}|{{.Label "b"}}|{{.Label "zz"}}|{{.Mounts}}|{{.Networks}}|{{.LocalVolumes}}|{{.State}}"#,
                false,
                false,
                true,
                NOW,
            )
            .expect("render"),
        );
        assert_eq!(out, "web|2||abcdefabcdefab…|bridge|1|running\ndb|||||0|exited\nünï|||/home/user/ver…||0|created\n");
    }

    #[test]
    fn size_detection() {
        assert!(template_uses_size("{{.Size}}"));
        assert!(template_uses_size("table {{.ID}}\t{{ .Size }}"));
        assert!(template_uses_size("{{json .}}"));
        assert!(!template_uses_size("{{json .Labels}}"));
        assert!(!template_uses_size("{{.SizeRw}}"));
        assert!(!template_uses_size("{{.Names}}"));
        assert_eq!(ps_format("table", false, true), Format::DefaultTable);
        assert_eq!(ps_format("json", false, false), Format::Json);
        assert_eq!(ps_format("{{.Names}}", true, false), Format::Template("{{.ID}}".into()));
    }
}
