//! Image commands that query or change the image store: `images` (`image ls`),
//! `image inspect`, `tag`, `rmi` (`image rm`), `history` and `image prune` (and the
//! dispatch of `image pull`/`image push`, in `registry.rs`), with the
//! docker CLI's flags, output and exit statuses. The archive commands (`save`, `load`,
//! `import`) are in `image_io.rs`.
//!
//! Requests go through [`Conn::raw`] with docker's own query strings, and the answers
//! are read as JSON values so every field the daemon sends (or leaves out) is handled
//! as the Go CLI handles it.

use std::io::{BufRead, Write};

use anyhow::anyhow;
use clap::{Args, Subcommand};
use http::Method;
use serde_json::{json, Value};
use wharf_reference::{check_tag_source, tag_target, ImageRef, Platform};

use crate::cli::parse_go_bool;
use crate::config::ConfigFile;
use crate::connect::{self, path_escape, Conn};
use crate::filters::{Filters, Query};
use crate::format::{self, Format, Row, StatusError};
use crate::image_io::{ImportArgs, LoadArgs, SaveArgs};
use crate::system::Target;
use crate::{timeutil, units};

/// `wharf image`.
#[derive(Debug, Subcommand)]
pub(crate) enum ImageCommand {
    /// Show the history of an image
    History(HistoryArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(ImportArgs),
    /// Display detailed information on one or more images
    Inspect(InspectArgs),
    /// Load an image from a tar archive or STDIN
    Load(LoadArgs),
    /// List images
    #[command(visible_alias = "list")]
    Ls(ImagesArgs),
    /// Remove unused images
    Prune(PruneArgs),
    /// Download an image from a registry
    #[command(override_usage = "wharf image pull [OPTIONS] NAME[:TAG|@DIGEST]")]
    Pull(crate::registry::PullArgs),
    /// Upload an image to a registry
    #[command(override_usage = "wharf image push [OPTIONS] NAME[:TAG]")]
    Push(crate::registry::PushArgs),
    /// Remove one or more images
    #[command(visible_alias = "remove", alias = "rmi")]
    Rm(RmiArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(SaveArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagArgs),
}

/// Runs a `wharf image` subcommand.
pub(crate) async fn run(t: &Target, config: &ConfigFile, c: &ImageCommand) -> anyhow::Result<()> {
    match c {
        ImageCommand::History(a) => history(t, a).await,
        ImageCommand::Import(a) => crate::image_io::import(t, a).await,
        ImageCommand::Inspect(a) => inspect(t, a).await,
        ImageCommand::Load(a) => crate::image_io::load(t, a).await,
        ImageCommand::Ls(a) => images(t, config, a).await,
        ImageCommand::Prune(a) => prune(t, config, a).await,
        ImageCommand::Pull(a) => crate::registry::pull(t, config, a).await,
        ImageCommand::Push(a) => crate::registry::push(t, config, a).await,
        ImageCommand::Rm(a) => rmi(t, a).await,
        ImageCommand::Save(a) => crate::image_io::save(t, a).await,
        ImageCommand::Tag(a) => tag(t, a).await,
    }
}

/// Connects to the target's daemon.
pub(crate) async fn connect(t: &Target) -> anyhow::Result<Conn> {
    connect::connect(t.endpoint()?).await
}

/// docker's check of flags that need a newer API than the daemon's.
pub(crate) fn require_api(conn: &Conn, flag: &str, min: (usize, usize)) -> anyhow::Result<()> {
    let (major, minor) = conn.api_version();
    if (major, minor) < min {
        return Err(anyhow!(
            "\"--{flag}\" requires API version {}.{}, but the wharf daemon API version is {major}.{minor}",
            min.0,
            min.1
        ));
    }
    Ok(())
}

/// A `--platform` value, if one was given: the API version is checked first, then the
/// value is parsed (`wrap` prefixes the parse error, as some docker commands do).
pub(crate) fn platform_flag(
    conn: &Conn,
    value: Option<&str>,
    min: (usize, usize),
    wrap: bool,
) -> anyhow::Result<Option<Platform>> {
    let Some(v) = value.filter(|v| !v.is_empty()) else { return Ok(None) };
    require_api(conn, "platform", min)?;
    let p = Platform::parse(v).map_err(|e| if wrap { anyhow!("invalid platform: {e}") } else { anyhow!(e) })?;
    Ok(Some(p))
}

/// The JSON OCI platform the image endpoints take (`{"architecture":"arm64","os":"linux"}`).
pub(crate) fn platform_json(p: &Platform) -> String {
    serde_json::to_string(p).unwrap_or_default()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn int(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(|n| n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))).unwrap_or(0)
}

fn strs(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default()
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// images / image ls
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct ImagesArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short, long)]
    all: bool,
    /// Show digests
    #[arg(long)]
    digests: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    filter: Vec<String>,
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true, help = format::FORMAT_HELP)]
    format: String,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    quiet: bool,
    #[arg(value_name = "REPOSITORY[:TAG]")]
    reference: Option<String>,
}

const IMAGE_COLUMNS: [&str; 5] = ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"];
const IMAGE_COLUMNS_DIGEST: [&str; 6] = ["REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"];

/// Titles of the image fields in `table` templates.
pub(crate) fn image_header() -> Value {
    json!({
        "ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
        "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE", "Containers": "CONTAINERS",
        "VirtualSize": "SIZE", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE",
    })
}

/// docker's `NewImageFormat`.
fn image_format(source: &str, quiet: bool, digests: bool) -> Format {
    match source {
        "table" if quiet => Format::Template("{{.ID}}".into()),
        "table" => Format::DefaultTable,
        "raw" if quiet => Format::Template("image_id: {{.ID}}".into()),
        "raw" if digests => Format::Template(
            "repository: {{ .Repository }}\ntag: {{.Tag}}\ndigest: {{.Digest}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n".into(),
        ),
        "raw" => Format::Template(
            "repository: {{ .Repository }}\ntag: {{.Tag}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n".into(),
        ),
        src => match Format::parse(src) {
            Format::Table(mut t) if digests && !t.contains("{{.Digest}}") => {
                t.push_str("\t{{.Digest}}");
                Format::Table(t)
            }
            f => f,
        },
    }
}

/// docker's `isDangling`.
fn is_dangling(tags: &[String], digests: &[String]) -> bool {
    (tags.is_empty() && digests.is_empty()) || (tags == ["<none>:<none>"] && digests == ["<none>@<none>"])
}

/// Options of the image rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ImageRowOpts {
    /// Short IDs.
    pub trunc: bool,
    /// `--digests`: a DIGEST column, and a row per digest of untagged repositories.
    pub digests: bool,
    /// Whether digests are shown at all (`--digests`, or `{{.Digest}}` in the format).
    pub need_digest: bool,
    /// The current time, Unix nanoseconds.
    pub now: i64,
}

/// One image row: the template data of docker's `imageContext` and the default table's
/// cells.
pub(crate) fn image_row(img: &Value, repo: &str, tag: &str, digest: &str, o: &ImageRowOpts) -> Row {
    let id = s(img, "Id");
    let id = if o.trunc { units::truncate_id(id) } else { id.to_string() };
    let created = int(img, "Created");
    let size = int(img, "Size");
    let shared = int(img, "SharedSize");
    let containers = int(img, "Containers");
    let size_text = units::human_size_with_precision(size as f64, 3);
    let since = units::since(created, o.now);
    let data = json!({
        "Containers": if containers == -1 { "N/A".to_string() } else { containers.to_string() },
        "CreatedAt": timeutil::go_time_string(created),
        "CreatedSince": since,
        "Digest": digest,
        "ID": id,
        "Repository": repo,
        "SharedSize": if shared == -1 { "N/A".to_string() } else { units::human_size(shared as f64) },
        "Size": size_text,
        "Tag": tag,
        "UniqueSize": if size == -1 || shared == -1 { "N/A".to_string() } else { units::human_size((size - shared) as f64) },
        "VirtualSize": units::human_size(size as f64),
    });
    let created_cell = if since.is_empty() { "N/A".to_string() } else { since };
    let mut cells = vec![repo.to_string(), tag.to_string()];
    if o.digests {
        cells.push(digest.to_string());
    }
    cells.extend([id, created_cell, size_text]);
    Row { data, cells }
}

/// The rows of `images`: one per repository and tag (and digest, when shown), as
/// docker's `imageFormat` makes them, newest image first.
pub(crate) fn image_rows(images: &[Value], o: &ImageRowOpts) -> Vec<Row> {
    let mut sorted: Vec<&Value> = images.iter().collect();
    sorted.sort_by_key(|img| std::cmp::Reverse(int(img, "Created")));
    let mut rows = Vec::new();
    for img in sorted {
        let tags = strs(img, "RepoTags");
        let digests = strs(img, "RepoDigests");
        if is_dangling(&tags, &digests) {
            rows.push(image_row(img, "<none>", "<none>", "<none>", o));
            continue;
        }
        // Repositories in the order they first appear (docker's Go maps have none).
        let mut repo_tags: Vec<(String, Vec<String>)> = Vec::new();
        let mut repo_digests: Vec<(String, Vec<String>)> = Vec::new();
        fn push(list: &mut Vec<(String, Vec<String>)>, repo: String, v: String) {
            match list.iter_mut().find(|(r, _)| *r == repo) {
                Some((_, vs)) => vs.push(v),
                None => list.push((repo, vec![v])),
            }
        }
        for t in &tags {
            if let Ok(r) = ImageRef::parse_normalized(t) {
                if let Some(tag) = r.tag() {
                    push(&mut repo_tags, r.familiar_name(), tag.to_string());
                }
            }
        }
        for d in &digests {
            if let Ok(r) = ImageRef::parse_normalized(d) {
                if let Some(digest) = r.digest() {
                    push(&mut repo_digests, r.familiar_name(), digest.to_string());
                }
            }
        }
        for (repo, tags) in &repo_tags {
            let mut ds = Vec::new();
            if let Some(i) = repo_digests.iter().position(|(r, _)| r == repo) {
                ds = repo_digests.remove(i).1;
            }
            if !o.need_digest {
                ds.clear();
            }
            for tag in tags {
                if ds.is_empty() {
                    rows.push(image_row(img, repo, tag, "<none>", o));
                }
                for d in &ds {
                    rows.push(image_row(img, repo, tag, d, o));
                }
            }
        }
        for (repo, ds) in &repo_digests {
            if o.digests {
                for d in ds {
                    rows.push(image_row(img, repo, "<none>", d, o));
                }
            } else {
                rows.push(image_row(img, repo, "<none>", "", o));
            }
        }
    }
    rows
}

/// `wharf images` / `wharf image ls`.
pub(crate) async fn images(t: &Target, config: &ConfigFile, a: &ImagesArgs) -> anyhow::Result<()> {
    let mut filters = Filters::parse(&a.filter).map_err(|e| StatusError::new(125, e))?;
    if let Some(r) = a.reference.as_deref().filter(|r| !r.is_empty()) {
        filters.add("reference", r);
    }
    let source = match (a.format.as_str(), config.get_str("imagesFormat")) {
        ("", Some(f)) if !a.quiet => f.to_string(),
        ("", _) => "table".to_string(),
        (f, _) => f.to_string(),
    };
    let format = image_format(&source, a.quiet, a.digests);

    let conn = connect(t).await?;
    let mut q = Query::default();
    if a.all {
        q.add("all", "1");
    }
    if !filters.is_empty() {
        q.add("filters", &filters.to_json());
    }
    let list = conn.raw_json(Method::GET, &format!("/images/json{}", q.encode())).await?;
    let list = list.as_array().cloned().unwrap_or_default();
    let need_digest = a.digests || (format != Format::DefaultTable && source.contains("{{.Digest}}"));
    let opts = ImageRowOpts { trunc: !a.no_trunc, digests: a.digests, need_digest, now: units::now_nanos() };
    let rows = image_rows(&list, &opts);
    let columns: &[&str] = if a.digests { &IMAGE_COLUMNS_DIGEST } else { &IMAGE_COLUMNS };
    let mut out = Vec::new();
    format::write_list(&mut out, &format, &image_header(), columns, &rows)?;
    write_stdout(&out)
}

// ---------------------------------------------------------------------------------------
// image inspect
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    #[arg(short = 'f', long, value_name = "string", default_value = "", hide_default_value = true, help = format::INSPECT_FORMAT_HELP)]
    format: String,
    /// Inspect a specific platform of the multi-platform image.
    /// If the image or the server is not multi-platform capable, the command will error out if the platform does not match.
    /// 'os[/arch[/variant]]': Explicit platform (eg. linux/amd64)
    #[arg(long, value_name = "string", verbatim_doc_comment)]
    platform: Option<String>,
    #[arg(value_name = "IMAGE", required = true)]
    images: Vec<String>,
}

/// `wharf image inspect`.
pub(crate) async fn inspect(t: &Target, a: &InspectArgs) -> anyhow::Result<()> {
    if !matches!(a.format.as_str(), "" | "json") {
        format::parse_template(&a.format).map_err(|e| StatusError::new(64, e))?;
    }
    let conn = connect(t).await?;
    let platform = platform_flag(&conn, a.platform.as_deref(), (1, 49), false)?;
    let mut q = Query::default();
    if let Some(p) = &platform {
        q.add("platform", &platform_json(p));
    }
    let mut raws = Vec::new();
    let mut errors = Vec::new();
    for name in &a.images {
        match conn.raw_bytes(Method::GET, &format!("/images/{}/json{}", path_escape(name), q.encode())).await {
            Ok(raw) => raws.push(raw),
            Err(e) => errors.push(e.message),
        }
    }
    let mut out = Vec::new();
    let result = format::write_inspect_raw(&mut out, &a.format, &raws, errors);
    write_stdout(&out)?;
    result
}

// ---------------------------------------------------------------------------------------
// tag
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct TagArgs {
    #[arg(value_name = "SOURCE_IMAGE[:TAG]")]
    source: String,
    #[arg(value_name = "TARGET_IMAGE[:TAG]")]
    target: String,
}

/// `wharf tag`: `POST /images/{source}/tag?repo=…&tag=…`, the target split as the
/// docker client splits it.
pub(crate) async fn tag(t: &Target, a: &TagArgs) -> anyhow::Result<()> {
    check_tag_source(&a.source)?;
    let (repo, tag) = tag_target(&a.target)?;
    let conn = connect(t).await?;
    let mut q = Query::default();
    q.add("repo", &repo).add("tag", &tag);
    conn.raw_bytes(Method::POST, &format!("/images/{}/tag{}", path_escape(&a.source), q.encode())).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// rmi / image rm
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct RmiArgs {
    /// Force removal of the image
    #[arg(short, long)]
    force: bool,
    /// Do not delete untagged parents
    #[arg(long)]
    no_prune: bool,
    /// Remove only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")
    #[arg(long, value_name = "strings", value_delimiter = ',')]
    platform: Vec<String>,
    #[arg(value_name = "IMAGE", required = true)]
    images: Vec<String>,
}

/// The lines `rmi` prints for a `DELETE /images/{name}` answer.
fn rmi_lines(answer: &Value) -> String {
    let mut out = String::new();
    for item in answer.as_array().into_iter().flatten() {
        let deleted = s(item, "Deleted");
        if deleted.is_empty() {
            out.push_str(&format!("Untagged: {}\n", s(item, "Untagged")));
        } else {
            out.push_str(&format!("Deleted: {deleted}\n"));
        }
    }
    out
}

/// `wharf rmi`: each image in turn; the errors are reported at the end, and with
/// `--force` only errors other than "No such image" fail the command.
pub(crate) async fn rmi(t: &Target, a: &RmiArgs) -> anyhow::Result<()> {
    let conn = connect(t).await?;
    let mut q = Query::default();
    if a.force {
        q.add("force", "1");
    }
    if a.no_prune {
        q.add("noprune", "1");
    }
    let platforms: Vec<&String> = a.platform.iter().filter(|p| !p.is_empty()).collect();
    if !platforms.is_empty() {
        require_api(&conn, "platform", (1, 50))?;
        for p in platforms {
            q.add("platforms", &platform_json(&Platform::parse(p)?));
        }
    }
    let mut errors = Vec::new();
    let mut fatal = false;
    for img in &a.images {
        match conn.raw_bytes(Method::DELETE, &format!("/images/{}{}", path_escape(img), q.encode())).await {
            Ok(raw) => {
                let answer: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
                write_stdout(rmi_lines(&answer).as_bytes())?;
            }
            Err(e) => {
                fatal |= e.status != Some(404);
                errors.push(e.message);
            }
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    let joined = errors.join("\n");
    if !a.force || fatal {
        return Err(anyhow!(joined));
    }
    eprintln!("{joined}");
    Ok(())
}

// ---------------------------------------------------------------------------------------
// history
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true, help = format::FORMAT_HELP)]
    format: String,
    /// Print sizes and dates in human readable format
    #[arg(short = 'H', long, value_name = "bool", action = clap::ArgAction::Set, num_args = 0..=1,
          require_equals = true, default_value = "true", default_missing_value = "true", value_parser = parse_go_bool)]
    human: bool,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Show history for the given platform. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")
    #[arg(long, value_name = "string")]
    platform: Option<String>,
    /// Only show image IDs
    #[arg(short, long)]
    quiet: bool,
    #[arg(value_name = "IMAGE")]
    image: String,
}

/// 2000-01-01T00:00:00Z: docker shows older creation times as "N/A".
const HISTORY_EPOCH: i64 = 946_684_800;

/// The rows of `history` (docker's `historyContext`).
fn history_rows(items: &[Value], human: bool, trunc: bool, now: i64) -> Vec<Row> {
    items
        .iter()
        .map(|h| {
            let id = s(h, "Id");
            let id = if trunc { units::truncate_id(id) } else { id.to_string() };
            let created = int(h, "Created");
            let created_at = timeutil::format_rfc3339_local(created);
            let since = if !human {
                created_at.clone()
            } else if created <= HISTORY_EPOCH {
                "N/A".to_string()
            } else {
                units::since(created, now)
            };
            let created_by = s(h, "CreatedBy").replace('\t', " ");
            let created_by = if trunc { units::ellipsis(&created_by, 45) } else { created_by };
            let size = int(h, "Size");
            let size = if human { units::human_size_with_precision(size as f64, 3) } else { size.to_string() };
            let comment = s(h, "Comment").to_string();
            let data = json!({
                "Comment": comment, "CreatedAt": created_at, "CreatedBy": created_by,
                "CreatedSince": since, "ID": id, "Size": size,
            });
            let when = if human { since } else { created_at };
            Row { data, cells: vec![id, when, created_by, size, comment] }
        })
        .collect()
}

/// `wharf history`.
pub(crate) async fn history(t: &Target, a: &HistoryArgs) -> anyhow::Result<()> {
    let conn = connect(t).await?;
    let platform = platform_flag(&conn, a.platform.as_deref(), (1, 48), true)?;
    let mut q = Query::default();
    if let Some(p) = &platform {
        q.add("platform", &platform_json(p));
    }
    let answer =
        conn.raw_json(Method::GET, &format!("/images/{}/history{}", path_escape(&a.image), q.encode())).await?;
    let items = answer.as_array().cloned().unwrap_or_default();
    let format = match a.format.as_str() {
        "" | "table" if a.quiet => Format::Template("{{.ID}}".into()),
        "" | "table" => Format::DefaultTable,
        f => Format::parse(f),
    };
    let columns: [&str; 5] = if a.human {
        ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]
    } else {
        ["IMAGE", "CREATED AT", "CREATED BY", "SIZE", "COMMENT"]
    };
    let header = json!({
        "ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
        "Size": "SIZE", "Comment": "COMMENT",
    });
    let rows = history_rows(&items, a.human, !a.no_trunc, units::now_nanos());
    let mut out = Vec::new();
    format::write_list(&mut out, &format, &header, &columns, &rows)?;
    write_stdout(&out)
}

// ---------------------------------------------------------------------------------------
// image prune
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct PruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short, long)]
    all: bool,
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "filter")]
    filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    force: bool,
}

const DANGLING_WARNING: &str = "WARNING! This will remove all dangling images.\nAre you sure you want to continue?";
const ALL_IMAGES_WARNING: &str = "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?";

/// docker's `PruneFilters`: the `pruneFilters` of config.json added to the command's,
/// except a `label`/`label!` that the command line contradicts.
pub(crate) fn prune_filters(mut f: Filters, config: &ConfigFile) -> Filters {
    for entry in config.get_str_list("pruneFilters") {
        let Some((k, v)) = entry.split_once('=') else { continue };
        if (k == "label" && f.has("label!", v)) || (k == "label!" && f.has("label", v)) {
            continue;
        }
        f.add(k, v);
    }
    f
}

/// docker's `prompt.Confirm`: writes `message [y/N] ` to stdout and reads one line;
/// only "y" (any case, surrounding spaces ignored) is a yes.
pub(crate) fn confirm(message: &str) -> anyhow::Result<bool> {
    write_stdout(format!("{message} [y/N] ").as_bytes())?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().eq_ignore_ascii_case("y"))
}

/// The report `image prune` prints for the daemon's answer.
fn prune_report(answer: &Value) -> String {
    let deleted = answer.get("ImagesDeleted").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut out = String::new();
    let mut reclaimed = 0;
    if !deleted.is_empty() {
        out.push_str("Deleted Images:\n");
        for d in &deleted {
            let untagged = s(d, "Untagged");
            if untagged.is_empty() {
                out.push_str(&format!("deleted: {}\n", s(d, "Deleted")));
            } else {
                out.push_str(&format!("untagged: {untagged}\n"));
            }
        }
        out.push('\n');
        reclaimed = int(answer, "SpaceReclaimed");
    }
    out.push_str(&format!("Total reclaimed space: {}\n", units::human_size(reclaimed as f64)));
    out
}

/// `wharf image prune`.
pub(crate) async fn prune(t: &Target, config: &ConfigFile, a: &PruneArgs) -> anyhow::Result<()> {
    let mut filters = Filters::parse_flag(&a.filter, "--filter").map_err(|e| StatusError::new(125, e))?;
    filters.add("dangling", if a.all { "false" } else { "true" });
    let filters = prune_filters(filters, config);
    if !a.force && !confirm(if a.all { ALL_IMAGES_WARNING } else { DANGLING_WARNING })? {
        // docker treats a "no" as a cancellation: nothing more is printed, status 0.
        return Ok(());
    }
    let conn = connect(t).await?;
    let mut q = Query::default();
    q.add("filters", &filters.to_json());
    let answer = conn.raw_json(Method::POST, &format!("/images/prune{}", q.encode())).await?;
    write_stdout(prune_report(&answer).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_000_000 * 1_000_000_000;

    fn sample() -> Vec<Value> {
        let now = NOW / 1_000_000_000;
        vec![
            json!({"Id": format!("sha256:{}", "c".repeat(64)), "RepoTags": ["alpine:3.20"],
                   "RepoDigests": [format!("alpine@sha256:{}", "e".repeat(64))], "Created": now - 400 * 86400,
                   "Size": 999_500, "SharedSize": 0, "Containers": 0}),
            json!({"Id": format!("sha256:{}", "a".repeat(64)),
                   "RepoTags": ["busybox:latest", "busybox:1.36", "localhost:5000/my/busybox:v1"],
                   "RepoDigests": [format!("busybox@sha256:{}", "d".repeat(64))], "Created": now - 3 * 86400,
                   "Size": 4_270_000, "SharedSize": -1, "Labels": null, "Containers": -1}),
            json!({"Id": format!("sha256:{}", "b".repeat(64)), "RepoTags": [], "RepoDigests": null,
                   "Created": now - 7200, "Size": 1240, "SharedSize": -1, "Containers": 2}),
        ]
    }

    fn table(rows: &[Row], columns: &[&str]) -> String {
        let mut out = Vec::new();
        format::write_list(&mut out, &Format::DefaultTable, &image_header(), columns, rows).expect("table");
        String::from_utf8(out).expect("utf8")
    }

    /// `docker images` (28.2) for the same daemon answer, byte for byte, once sorted
    /// newest first (the daemon sends that order; the sample is shuffled to check the
    /// sort).
    #[test]
    fn images_table_like_docker() {
        let o = ImageRowOpts { trunc: true, digests: false, need_digest: false, now: NOW };
        let rows = image_rows(&sample(), &o);
        assert_eq!(
            table(&rows, &IMAGE_COLUMNS),
            "\
REPOSITORY                  TAG       IMAGE ID       CREATED         SIZE
<none>                      <none>    bbbbbbbbbbbb   2 hours ago     1.24kB
busybox                     latest    aaaaaaaaaaaa   3 days ago      4.27MB
busybox                     1.36      aaaaaaaaaaaa   3 days ago      4.27MB
localhost:5000/my/busybox   v1        aaaaaaaaaaaa   3 days ago      4.27MB
alpine                      3.20      cccccccccccc   13 months ago   1e+03kB
"
        );
        let o = ImageRowOpts { digests: true, need_digest: true, ..o };
        let rows = image_rows(&sample(), &o);
        let d = "d".repeat(64);
        let e = "e".repeat(64);
        let pad = " ".repeat(64 - 6);
        assert_eq!(
            table(&rows, &IMAGE_COLUMNS_DIGEST),
            format!(
                "\
REPOSITORY                  TAG       DIGEST                                                                    IMAGE ID       CREATED         SIZE
<none>                      <none>    <none>{pad}          bbbbbbbbbbbb   2 hours ago     1.24kB
busybox                     latest    sha256:{d}   aaaaaaaaaaaa   3 days ago      4.27MB
busybox                     1.36      sha256:{d}   aaaaaaaaaaaa   3 days ago      4.27MB
localhost:5000/my/busybox   v1        <none>{pad}          aaaaaaaaaaaa   3 days ago      4.27MB
alpine                      3.20      sha256:{e}   cccccccccccc   13 months ago   1e+03kB
"
            )
        );
    }

    #[test]
    fn image_json_fields_like_docker() {
        let o = ImageRowOpts { trunc: true, digests: false, need_digest: false, now: NOW };
        let rows = image_rows(&sample(), &o);
        let mut v = rows[4].data.clone();
        v.as_object_mut().expect("object").remove("CreatedAt");
        assert_eq!(
            format::go_json(&v).expect("json"),
            r#"{"Containers":"0","CreatedSince":"13 months ago","Digest":"\u003cnone\u003e","ID":"cccccccccccc","Repository":"alpine","SharedSize":"0B","Size":"1e+03kB","Tag":"3.20","UniqueSize":"999.5kB","VirtualSize":"999.5kB"}"#
        );
        assert_eq!(rows[0].data["Containers"], "2");
        assert_eq!(rows[1].data["SharedSize"], "N/A");
        assert_eq!(rows[1].data["UniqueSize"], "N/A");
        assert_eq!(rows[1].data["Containers"], "N/A");
    }

    #[test]
    fn digest_only_repositories() {
        let img = json!({"Id": "sha256:1", "RepoTags": [], "RepoDigests": [format!("foo@sha256:{}", "f".repeat(64))], "Created": 1});
        let o = ImageRowOpts { trunc: true, digests: false, need_digest: false, now: NOW };
        let rows = image_rows(std::slice::from_ref(&img), &o);
        assert_eq!(
            (rows.len(), rows[0].data["Tag"].as_str(), rows[0].data["Digest"].as_str()),
            (1, Some("<none>"), Some(""))
        );
        let rows = image_rows(&[img], &ImageRowOpts { digests: true, need_digest: true, ..o });
        assert_eq!(rows[0].data["Digest"], format!("sha256:{}", "f".repeat(64)));
        let dangling = json!({"Id": "sha256:2", "RepoTags": ["<none>:<none>"], "RepoDigests": ["<none>@<none>"]});
        assert_eq!(image_rows(&[dangling], &o)[0].cells[..2], ["<none>", "<none>"]);
    }

    #[test]
    fn image_formats() {
        assert_eq!(image_format("table", false, false), Format::DefaultTable);
        assert_eq!(image_format("table", true, true), Format::Template("{{.ID}}".into()));
        assert_eq!(image_format("table {{.ID}}", false, true), Format::Table("{{.ID}}\t{{.Digest}}".into()));
        assert_eq!(image_format("table {{.ID}} {{.Digest}}", false, true), Format::Table("{{.ID}} {{.Digest}}".into()));
        assert_eq!(image_format("{{.ID}}", true, false), Format::Template("{{.ID}}".into()));
        assert_eq!(image_format("json", true, false), Format::Json);
    }

    /// `docker history` (28.2) for the same answer.
    #[test]
    fn history_table_like_docker() {
        let now = NOW / 1_000_000_000;
        let items = vec![
            json!({"Id": format!("sha256:{}", "a".repeat(64)), "Created": now - 3 * 86400,
                   "CreatedBy": "/bin/sh -c #(nop)  CMD [\"sh\"]\tfoo", "Tags": ["busybox:latest"], "Size": 0, "Comment": ""}),
            json!({"Id": "<missing>", "Created": now - 3 * 86400 - 10,
                   "CreatedBy": "/bin/sh -c #(nop) ADD file:7e9002edaafd4e4579b65c8f0aaabde1aeb7fd3f8d95579f7fd3443cef785fd1 in / ",
                   "Tags": null, "Size": 4_270_000, "Comment": "imported from -"}),
            json!({"Id": "<missing>", "Created": 0, "CreatedBy": "", "Tags": null, "Size": 12, "Comment": ""}),
            json!({"Id": "<missing>", "Created": 946_684_801, "CreatedBy": "y", "Size": 1000, "Comment": ""}),
        ];
        let rows = history_rows(&items, true, true, NOW);
        let mut out = Vec::new();
        format::write_list(
            &mut out,
            &Format::DefaultTable,
            &json!({}),
            &["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"],
            &rows,
        )
        .expect("table");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "\
IMAGE          CREATED        CREATED BY                                      SIZE      COMMENT
aaaaaaaaaaaa   3 days ago     /bin/sh -c #(nop)  CMD [\"sh\"] foo               0B        
<missing>      3 days ago     /bin/sh -c #(nop) ADD file:7e9002edaafd4e457…   4.27MB    imported from -
<missing>      N/A                                                            12B       
<missing>      26 years ago   y                                               1kB       
"
        );
        let rows = history_rows(&items, false, false, NOW);
        assert_eq!(rows[2].cells[3], "12");
        assert_eq!(rows[0].cells[0], format!("sha256:{}", "a".repeat(64)));
        assert!(rows[1].cells[2].ends_with("in / "));
        assert_eq!(rows[2].data["CreatedSince"], rows[2].data["CreatedAt"]);
    }

    #[test]
    fn rmi_and_prune_output() {
        let answer =
            json!([{"Untagged": "busybox:latest"}, {"Deleted": "sha256:aa"}, {"Untagged": "x", "Deleted": ""}]);
        assert_eq!(rmi_lines(&answer), "Untagged: busybox:latest\nDeleted: sha256:aa\nUntagged: x\n");
        let answer = json!({"ImagesDeleted": [{"Untagged": "foo:latest"}, {"Deleted": "sha256:bb"}], "SpaceReclaimed": 1_240_000});
        assert_eq!(
            prune_report(&answer),
            "Deleted Images:\nuntagged: foo:latest\ndeleted: sha256:bb\n\nTotal reclaimed space: 1.24MB\n"
        );
        assert_eq!(prune_report(&json!({"ImagesDeleted": null, "SpaceReclaimed": 5})), "Total reclaimed space: 0B\n");
    }

    #[test]
    fn prune_filters_from_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"pruneFilters": ["label=keep", "until=24h", "label!=x", "bad"]}"#,
        )
        .expect("config");
        let config = ConfigFile::load(dir.path());
        let f = Filters::parse(&["label=x", "dangling=true"]).expect("filters");
        assert_eq!(
            prune_filters(f, &config).to_json(),
            r#"{"dangling":{"true":true},"label":{"keep":true,"x":true},"until":{"24h":true}}"#
        );
    }

    #[test]
    fn dangling() {
        assert!(is_dangling(&[], &[]));
        assert!(is_dangling(&["<none>:<none>".into()], &["<none>@<none>".into()]));
        assert!(!is_dangling(&["a:b".into()], &[]));
    }
}
