//! `wharf system df`: disk usage from `GET /system/df`, shown as the docker 28 CLI's
//! `DiskUsageContext` shows it: a `TYPE TOTAL ACTIVE SIZE RECLAIMABLE` summary (images,
//! containers, local volumes, build cache), or with `-v` one table per kind. The
//! container, volume and build-cache fields are docker's formatter contexts.

use std::io::Write;

use anyhow::anyhow;
use clap::Args;
use http::Method;
use serde_json::{json, Map, Value};
use wharf_reference::ImageRef;

use crate::format::{self, Format, Row};
use crate::image::{connect, image_row, ImageRowOpts};
use crate::system::Target;
use crate::{timeutil, units};

#[derive(Debug, Args)]
pub(crate) struct DfArgs {
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true, help = format::FORMAT_HELP)]
    format: String,
    /// Show detailed information on space usage
    #[arg(short, long)]
    verbose: bool,
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn int(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(|n| n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))).unwrap_or(0)
}

fn boolean(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

/// "2.048kB (100%)": the reclaimable size and its share of `total`.
fn reclaimable(reclaimable: i64, total: i64) -> String {
    if total > 0 {
        format!("{} ({}%)", units::human_size(reclaimable as f64), (reclaimable * 100) / total)
    } else {
        units::human_size(reclaimable as f64)
    }
}

/// docker's `isActive` of a container in `df`.
fn container_active(c: &Value) -> bool {
    matches!(s(c, "State").to_lowercase().as_str(), "running" | "paused" | "restarting")
}

/// The volume's `UsageData` (size, reference count), -1 when unknown.
fn volume_usage(v: &Value) -> (i64, i64) {
    match v.get("UsageData").filter(|u| u.is_object()) {
        Some(u) => (int(u, "Size"), int(u, "RefCount")),
        None => (-1, -1),
    }
}

/// The build cache size docker shows: the records that are not shared.
fn builder_size(du: &Value) -> i64 {
    list(du, "BuildCache").iter().filter(|b| !boolean(b, "Shared")).map(|b| int(b, "Size")).sum()
}

/// The four summary rows (docker's `diskUsage*Context`).
fn summary_rows(du: &Value) -> Vec<Row> {
    let row = |kind: &str, total: usize, active: usize, size: String, reclaim: String| Row {
        data: json!({"Type": kind, "TotalCount": total.to_string(), "Active": active.to_string(), "Size": size, "Reclaimable": reclaim}),
        cells: vec![kind.to_string(), total.to_string(), active.to_string(), size, reclaim],
    };
    let images = list(du, "Images");
    let layers = int(du, "LayersSize");
    let used: i64 = images
        .iter()
        .filter(|i| int(i, "Containers") != 0 && int(i, "Size") != -1 && int(i, "SharedSize") != -1)
        .map(|i| int(i, "Size") - int(i, "SharedSize"))
        .sum();
    let active_images = images.iter().filter(|i| int(i, "Containers") > 0).count();

    let containers = list(du, "Containers");
    let c_size: i64 = containers.iter().map(|c| int(c, "SizeRw")).sum();
    let c_reclaim: i64 = containers.iter().filter(|c| !container_active(c)).map(|c| int(c, "SizeRw")).sum();
    let c_active = containers.iter().filter(|c| container_active(c)).count();

    let volumes = list(du, "Volumes");
    let usage: Vec<(i64, i64)> = volumes.iter().map(volume_usage).collect();
    let v_size: i64 = usage.iter().filter(|(s, _)| *s != -1).map(|(s, _)| s).sum();
    let v_reclaim: i64 = usage.iter().filter(|(s, r)| *s != -1 && *r == 0).map(|(s, _)| s).sum();
    let v_active = usage.iter().filter(|(_, r)| *r > 0).count();

    let cache = list(du, "BuildCache");
    let b_size = builder_size(du);
    let b_in_use: i64 =
        cache.iter().filter(|b| boolean(b, "InUse") && !boolean(b, "Shared")).map(|b| int(b, "Size")).sum();
    let b_active = cache.iter().filter(|b| boolean(b, "InUse")).count();

    vec![
        row(
            "Images",
            images.len(),
            active_images,
            units::human_size(layers as f64),
            reclaimable(layers - used, layers),
        ),
        row("Containers", containers.len(), c_active, units::human_size(c_size as f64), reclaimable(c_reclaim, c_size)),
        row("Local Volumes", volumes.len(), v_active, units::human_size(v_size as f64), reclaimable(v_reclaim, v_size)),
        row(
            "Build Cache",
            cache.len(),
            b_active,
            units::human_size(b_size as f64),
            units::human_size((b_size - b_in_use) as f64),
        ),
    ]
}

/// docker's `NewDiskUsageFormat` for the summary.
fn summary_format(source: &str) -> Format {
    match source {
        "table" => Format::DefaultTable,
        "raw" => Format::Template(
            "type: {{.Type}}\ntotal: {{.TotalCount}}\nactive: {{.Active}}\nsize: {{.Size}}\nreclaimable: {{.Reclaimable}}\n"
                .into(),
        ),
        f => Format::parse(f),
    }
}

// ---------------------------------------------------------------------------------------
// Verbose rows: docker's image, container, volume and build-cache contexts.
// ---------------------------------------------------------------------------------------

fn df_image_rows(du: &Value, trunc: bool, now: i64) -> Vec<Row> {
    let o = ImageRowOpts { trunc, digests: false, need_digest: false, now };
    let mut rows = Vec::new();
    for img in list(du, "Images") {
        let tags: Vec<&str> = list(img, "RepoTags").iter().filter_map(Value::as_str).collect();
        let digests: Vec<&str> = list(img, "RepoDigests").iter().filter_map(Value::as_str).collect();
        let dangling =
            (tags.is_empty() && digests.is_empty()) || (tags == ["<none>:<none>"] && digests == ["<none>@<none>"]);
        let (mut repo, mut tag) = ("<none>".to_string(), "<none>".to_string());
        if let (Some(first), false) = (tags.first(), dangling) {
            // Only the first tag is shown; an image whose tag does not parse is left out.
            let Ok(r) = ImageRef::parse_normalized(first) else { continue };
            if let Some(t) = r.tag() {
                repo = r.familiar_name();
                tag = t.to_string();
            }
        }
        let mut row = image_row(img, &repo, &tag, "", &o);
        row.cells = ["Repository", "Tag", "ID", "CreatedSince", "Size", "SharedSize", "UniqueSize", "Containers"]
            .iter()
            .map(|k| row.data[*k].as_str().unwrap_or("").to_string())
            .collect();
        rows.push(row);
    }
    rows
}

/// docker's `DisplayablePorts`: "0.0.0.0:80->80/tcp, 9988/tcp", with ranges grouped.
pub(crate) fn displayable_ports(ports: &[Value]) -> String {
    let join_host_port = |ip: &str, port: &str| {
        if ip.contains(':') {
            format!("[{ip}]:{port}")
        } else {
            format!("{ip}:{port}")
        }
    };
    let mut ports: Vec<(i64, String, i64, String)> = ports
        .iter()
        .map(|p| (int(p, "PrivatePort"), s(p, "IP").to_string(), int(p, "PublicPort"), s(p, "Type").to_string()))
        .collect();
    ports.sort();
    let form_group = |key: &str, first: i64, last: i64| {
        let (ip, kind) = match key.rsplit_once('/') {
            Some((ip, kind)) => (ip, kind),
            None => ("", key),
        };
        let mut group = first.to_string();
        if first != last {
            group = format!("{group}-{last}");
        }
        if !ip.is_empty() {
            group = format!("{}->{group}", join_host_port(ip, &group));
        }
        format!("{group}/{kind}")
    };
    let mut groups: Vec<(String, i64, i64)> = Vec::new();
    let mut result = Vec::new();
    let mut host_mappings = Vec::new();
    for (private, ip, public, kind) in ports {
        let mut key = kind.clone();
        if !ip.is_empty() {
            if public != private {
                host_mappings.push(format!("{}->{private}/{kind}", join_host_port(&ip, &public.to_string())));
                continue;
            }
            key = format!("{ip}/{kind}");
        }
        match groups.iter_mut().find(|(k, _, _)| *k == key) {
            None => groups.push((key, private, private)),
            Some(g) if private == g.2 + 1 => g.2 = private,
            Some(g) => {
                result.push(form_group(&g.0, g.1, g.2));
                g.1 = private;
                g.2 = private;
            }
        }
    }
    for (k, first, last) in &groups {
        result.push(form_group(k, *first, *last));
    }
    result.extend(host_mappings);
    result.join(", ")
}

/// docker's `ContainerContext.Image`.
fn container_image(c: &Value, trunc: bool) -> String {
    let image = s(c, "Image");
    if image.is_empty() {
        return "<no image>".into();
    }
    if !trunc {
        return image.to_string();
    }
    let short = units::truncate_id(s(c, "ImageID"));
    if short == units::truncate_id(image) {
        return short;
    }
    match ImageRef::parse_normalized(image) {
        Ok(r) => match r.tag() {
            Some(t) => format!("{}:{t}", r.familiar_name()),
            None => r.familiar_name(),
        },
        Err(_) => image.to_string(),
    }
}

/// One container as docker's `ContainerContext` (the virtual size left out, as `df`
/// does).
pub(crate) fn container_row(c: &Value, trunc: bool, now: i64) -> Row {
    let id = s(c, "Id");
    let id = if trunc { units::truncate_id(id) } else { id.to_string() };
    let names: Vec<String> =
        list(c, "Names").iter().filter_map(Value::as_str).map(|n| n.trim_start_matches('/').to_string()).collect();
    let names =
        if trunc { names.iter().find(|n| !n.contains('/')).cloned().unwrap_or_default() } else { names.join(",") };
    let command = s(c, "Command");
    let command = units::go_quote(&if trunc { units::ellipsis(command, 20) } else { command.to_string() });
    let mut labels: Vec<String> = c
        .get("Labels")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect())
        .unwrap_or_default();
    labels.sort();
    let mounts: Vec<String> = list(c, "Mounts")
        .iter()
        .map(|m| {
            let name = if s(m, "Name").is_empty() { s(m, "Source") } else { s(m, "Name") };
            if trunc {
                units::ellipsis(name, 15)
            } else {
                name.to_string()
            }
        })
        .collect();
    let local_volumes = list(c, "Mounts").iter().filter(|m| s(m, "Driver") == "local").count();
    let mut networks: Vec<String> = c
        .get("NetworkSettings")
        .and_then(|n| n.get("Networks"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    networks.sort();
    let platform = c.get("ImageManifestDescriptor").and_then(|d| d.get("platform")).cloned().unwrap_or(Value::Null);
    let created = int(c, "Created");
    let size = units::human_size_with_precision(int(c, "SizeRw") as f64, 3);
    let data = json!({
        "Command": command,
        "CreatedAt": timeutil::go_time_string(created),
        "ID": id,
        "Image": container_image(c, trunc),
        "Labels": labels.join(","),
        "LocalVolumes": local_volumes.to_string(),
        "Mounts": mounts.join(","),
        "Names": names,
        "Networks": networks.join(","),
        "Platform": platform,
        "Ports": displayable_ports(list(c, "Ports")),
        "RunningFor": units::since(created, now),
        "Size": size,
        "State": s(c, "State"),
        "Status": s(c, "Status"),
    });
    let cells = ["ID", "Image", "Command", "LocalVolumes", "Size", "RunningFor", "Status", "Names"]
        .iter()
        .map(|k| data[*k].as_str().unwrap_or("").to_string())
        .collect();
    Row { data, cells }
}

/// One volume as docker's `volumeContext`.
pub(crate) fn volume_row(v: &Value) -> Row {
    let (size, refs) = volume_usage(v);
    let has_usage = v.get("UsageData").is_some_and(Value::is_object);
    let mut labels: Vec<String> = v
        .get("Labels")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect())
        .unwrap_or_default();
    labels.sort();
    let cluster = v.get("ClusterVolume").filter(|c| c.is_object());
    let spec = cluster.and_then(|c| c.get("Spec")).cloned().unwrap_or(Value::Null);
    let status = match cluster {
        None => "N/A".to_string(),
        Some(c) => {
            if c.get("Info").map(|i| s(i, "VolumeID")).unwrap_or("").is_empty() {
                "pending creation".into()
            } else {
                match list(c, "PublishStatus").len() {
                    0 => "created".into(),
                    1 => "in use (1 node)".into(),
                    n => format!("in use ({n} nodes)"),
                }
            }
        }
    };
    let na = |f: &dyn Fn() -> String| if cluster.is_some() { f() } else { "N/A".to_string() };
    let data = json!({
        "Availability": na(&|| s(&spec, "Availability").to_string()),
        "Driver": s(v, "Driver"),
        "Group": na(&|| s(&spec, "Group").to_string()),
        "Labels": labels.join(","),
        "Links": if has_usage { refs.to_string() } else { "N/A".to_string() },
        "Mountpoint": s(v, "Mountpoint"),
        "Name": s(v, "Name"),
        "Scope": s(v, "Scope"),
        "Size": if has_usage { units::human_size(size as f64) } else { "N/A".to_string() },
        "Status": status,
    });
    let cells = ["Name", "Links", "Size"].iter().map(|k| data[*k].as_str().unwrap_or("").to_string()).collect();
    Row { data, cells }
}

/// Go's `time.Time.String()` of an RFC 3339 time from the API, in the zone it carries.
fn api_time_string(t: &str) -> String {
    let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) else { return String::new() };
    let off = d.offset().local_minus_utc();
    let sign = if off < 0 { '-' } else { '+' };
    let a = off.unsigned_abs();
    let num = format!("{sign}{:02}{:02}", a / 3600, (a / 60) % 60);
    let zone = if off == 0 { "UTC".to_string() } else { num.clone() };
    let frac = match d.timestamp_subsec_nanos() {
        0 => String::new(),
        n => format!(".{n:09}").trim_end_matches('0').to_string(),
    };
    format!("{}{frac} {num} {zone}", d.format("%Y-%m-%d %H:%M:%S"))
}

fn api_time_since(t: &str, now: i64) -> String {
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|d| {
            let nanos = d.timestamp_nanos_opt().unwrap_or(0);
            format!("{} ago", units::human_duration(now.saturating_sub(nanos)))
        })
        .unwrap_or_default()
}

/// One build cache record as docker's `buildCacheContext`.
fn build_cache_row(b: &Value, trunc: bool, now: i64) -> Row {
    let id = s(b, "ID");
    let mut id = if trunc { units::truncate_id(id) } else { id.to_string() };
    if boolean(b, "InUse") {
        id.push('*');
    }
    let parent = list(b, "Parents").first().and_then(Value::as_str).unwrap_or(s(b, "Parent"));
    let parent = if trunc { units::truncate_id(parent) } else { parent.to_string() };
    let last_used = s(b, "LastUsedAt");
    let data = json!({
        "CacheType": s(b, "Type"),
        "CreatedAt": api_time_string(s(b, "CreatedAt")),
        "CreatedSince": api_time_since(s(b, "CreatedAt"), now),
        "Description": s(b, "Description"),
        "ID": id,
        "InUse": boolean(b, "InUse").to_string(),
        "LastUsedAt": api_time_string(last_used),
        "LastUsedSince": api_time_since(last_used, now),
        "Parent": parent,
        "Shared": boolean(b, "Shared").to_string(),
        "Size": units::human_size_with_precision(int(b, "Size") as f64, 3),
        "UsageCount": int(b, "UsageCount").to_string(),
    });
    let cells = ["ID", "CacheType", "Size", "CreatedSince", "LastUsedSince", "UsageCount", "Shared"]
        .iter()
        .map(|k| data[*k].as_str().unwrap_or("").to_string())
        .collect();
    Row { data, cells }
}

/// docker's `buildCacheSort`: never-used records first, then by last use, then by ID.
fn sorted_build_cache(du: &Value) -> Vec<Value> {
    let mut cache = list(du, "BuildCache").to_vec();
    cache.sort_by(|a, b| {
        let key = |v: &Value| {
            chrono::DateTime::parse_from_rfc3339(s(v, "LastUsedAt")).ok().and_then(|d| d.timestamp_nanos_opt())
        };
        key(a).cmp(&key(b)).then_with(|| s(a, "ID").cmp(s(b, "ID")))
    });
    cache
}

/// `df -v` rows of all four kinds.
struct Verbose {
    images: Vec<Row>,
    containers: Vec<Row>,
    volumes: Vec<Row>,
    build_cache: Vec<Row>,
}

impl Verbose {
    fn new(du: &Value, trunc: bool, now: i64) -> Verbose {
        Verbose {
            images: df_image_rows(du, trunc, now),
            containers: list(du, "Containers").iter().map(|c| container_row(c, trunc, now)).collect(),
            volumes: list(du, "Volumes").iter().map(volume_row).collect(),
            build_cache: sorted_build_cache(du).iter().map(|b| build_cache_row(b, trunc, now)).collect(),
        }
    }

    /// The tables of `df -v`.
    fn tables(&self, builder_size: i64) -> anyhow::Result<Vec<u8>> {
        let mut out = Vec::new();
        let empty = json!({});
        out.extend_from_slice(b"Images space usage:\n\n");
        format::write_list(
            &mut out,
            &Format::DefaultTable,
            &empty,
            &["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"],
            &self.images,
        )?;
        out.extend_from_slice(b"\nContainers space usage:\n\n");
        format::write_list(
            &mut out,
            &Format::DefaultTable,
            &empty,
            &["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"],
            &self.containers,
        )?;
        out.extend_from_slice(b"\nLocal Volumes space usage:\n\n");
        format::write_list(&mut out, &Format::DefaultTable, &empty, &["VOLUME NAME", "LINKS", "SIZE"], &self.volumes)?;
        out.extend_from_slice(
            format!("\nBuild cache usage: {}\n\n", units::human_size(builder_size as f64)).as_bytes(),
        );
        format::write_list(
            &mut out,
            &Format::DefaultTable,
            &empty,
            &["CACHE ID", "CACHE TYPE", "SIZE", "CREATED", "LAST USED", "USAGE", "SHARED"],
            &self.build_cache,
        )?;
        Ok(out)
    }

    /// `{"Images":[…],"Containers":[…],"Volumes":[…],"BuildCache":[…]}` in docker's key
    /// order, without a final newline.
    fn json(&self) -> anyhow::Result<String> {
        let part = |rows: &[Row]| format::go_json(&rows.iter().map(|r| &r.data).collect::<Vec<_>>());
        Ok(format!(
            "{{\"Images\":{},\"Containers\":{},\"Volumes\":{},\"BuildCache\":{}}}",
            part(&self.images)?,
            part(&self.containers)?,
            part(&self.volumes)?,
            part(&self.build_cache)?
        ))
    }

    /// The template data: one object with the four lists.
    fn value(&self) -> Value {
        let part = |rows: &[Row]| Value::Array(rows.iter().map(|r| r.data.clone()).collect());
        let mut m = Map::new();
        m.insert("Images".into(), part(&self.images));
        m.insert("Containers".into(), part(&self.containers));
        m.insert("Volumes".into(), part(&self.volumes));
        m.insert("BuildCache".into(), part(&self.build_cache));
        Value::Object(m)
    }
}

/// Renders the output of `df` for the daemon's answer `du`.
fn render(du: &Value, source: &str, verbose: bool, now: i64) -> anyhow::Result<Vec<u8>> {
    if !verbose {
        let header = json!({"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE"});
        let mut out = Vec::new();
        format::write_list(
            &mut out,
            &summary_format(source),
            &header,
            &["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"],
            &summary_rows(du),
        )?;
        return Ok(out);
    }
    if source == "table" {
        return Verbose::new(du, true, now).tables(builder_size(du));
    }
    // Any other format is executed once on the whole usage (no newline added).
    let trunc = source.starts_with("table");
    let v = Verbose::new(du, trunc, now);
    match Format::parse(source) {
        Format::Json => Ok(v.json()?.into_bytes()),
        Format::Table(t) | Format::Template(t) => {
            let tmpl = format::parse_template(&t).map_err(anyhow::Error::msg)?;
            Ok(format::execute(&tmpl, &v.value()).map_err(anyhow::Error::msg)?.into_bytes())
        }
        Format::DefaultTable => v.tables(builder_size(du)),
    }
}

/// `wharf system df`.
pub(crate) async fn df(t: &Target, a: &DfArgs) -> anyhow::Result<()> {
    let conn = connect(t).await?;
    let du = conn.raw_json(Method::GET, "/system/df").await?;
    if !du.is_object() {
        return Err(anyhow!("unexpected /system/df response"));
    }
    let source = if a.format.is_empty() { "table" } else { a.format.as_str() };
    let out = render(&du, source, a.verbose, units::now_nanos())?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&out)?;
    stdout.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_000_000 * 1_000_000_000;

    fn sample() -> Value {
        let now = NOW / 1_000_000_000;
        json!({
            "LayersSize": 5_271_240,
            "Images": [
                {"Id": format!("sha256:{}", "a".repeat(64)), "RepoTags": ["busybox:latest", "busybox:1.36"],
                 "RepoDigests": [], "Created": now - 3 * 86400, "Size": 4_270_000, "SharedSize": -1, "Containers": -1},
                {"Id": format!("sha256:{}", "b".repeat(64)), "RepoTags": [], "RepoDigests": [], "Created": now - 7200,
                 "Size": 1240, "SharedSize": -1, "Containers": 2},
                {"Id": format!("sha256:{}", "c".repeat(64)), "RepoTags": ["alpine:3.20"], "RepoDigests": [],
                 "Created": now - 400 * 86400, "Size": 999_500, "SharedSize": 0, "Containers": 0},
            ],
            "Containers": [
                {"Id": "f".repeat(64), "Names": ["/c1"], "Image": "busybox", "ImageID": format!("sha256:{}", "a".repeat(64)),
                 "Command": "sh", "Created": now - 60, "State": "running", "Status": "Up 1 minute", "SizeRw": 100,
                 "SizeRootFs": 4_270_100, "Mounts": []},
                {"Id": "e".repeat(64), "Names": ["/c2"], "Image": "busybox", "ImageID": format!("sha256:{}", "a".repeat(64)),
                 "Command": "sh", "Created": now - 60, "State": "exited", "Status": "Exited (0)", "SizeRw": 300,
                 "SizeRootFs": 4_270_300, "Mounts": []},
            ],
            "Volumes": [{"Name": "v1", "Driver": "local", "Mountpoint": "/x", "Scope": "local",
                         "UsageData": {"Size": 2048, "RefCount": 0}}],
            "BuildCache": null,
        })
    }

    /// `docker system df` (28.2) for the same answer, byte for byte.
    #[test]
    fn summary_like_docker() {
        let out = String::from_utf8(render(&sample(), "table", false, NOW).expect("render")).expect("utf8");
        assert_eq!(
            out,
            "\
TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE
Images          3         1         5.271MB   5.271MB (100%)
Containers      2         1         400B      300B (75%)
Local Volumes   1         0         2.048kB   2.048kB (100%)
Build Cache     0         0         0B        0B
"
        );
        let json = String::from_utf8(render(&sample(), "json", false, NOW).expect("render")).expect("utf8");
        assert_eq!(
            json.lines().next(),
            Some(r#"{"Active":"1","Reclaimable":"5.271MB (100%)","Size":"5.271MB","TotalCount":"3","Type":"Images"}"#)
        );
        let empty = json!({"LayersSize": 0, "Images": [], "Containers": [], "Volumes": [], "BuildCache": []});
        let out = String::from_utf8(render(&empty, "table", false, NOW).expect("render")).expect("utf8");
        assert_eq!(
            out,
            "\
TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE
Images          0         0         0B        0B
Containers      0         0         0B        0B
Local Volumes   0         0         0B        0B
Build Cache     0         0         0B        0B
"
        );
    }

    /// `docker system df -v` (28.2) for the same answer.
    #[test]
    fn verbose_like_docker() {
        let out = String::from_utf8(render(&sample(), "table", true, NOW).expect("render")).expect("utf8");
        assert_eq!(
            out,
            "\
Images space usage:

REPOSITORY   TAG       IMAGE ID       CREATED         SIZE      SHARED SIZE   UNIQUE SIZE   CONTAINERS
busybox      latest    aaaaaaaaaaaa   3 days ago      4.27MB    N/A           N/A           N/A
<none>       <none>    bbbbbbbbbbbb   2 hours ago     1.24kB    N/A           N/A           2
alpine       3.20      cccccccccccc   13 months ago   1e+03kB   0B            999.5kB       0

Containers space usage:

CONTAINER ID   IMAGE     COMMAND   LOCAL VOLUMES   SIZE      CREATED              STATUS        NAMES
ffffffffffff   busybox   \"sh\"      0               100B      About a minute ago   Up 1 minute   c1
eeeeeeeeeeee   busybox   \"sh\"      0               300B      About a minute ago   Exited (0)    c2

Local Volumes space usage:

VOLUME NAME   LINKS     SIZE
v1            0         2.048kB

Build cache usage: 0B

CACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED
"
        );
        let json = String::from_utf8(render(&sample(), "json", true, NOW).expect("render")).expect("utf8");
        assert!(json.starts_with(r#"{"Images":[{"Containers":"N/A","#), "{json}");
        assert!(json.contains(r#""Volumes":[{"Availability":"N/A","Driver":"local","Group":"N/A","Labels":"","Links":"0","Mountpoint":"/x","Name":"v1","Scope":"local","Size":"2.048kB","Status":"N/A"}],"BuildCache":[]}"#), "{json}");
        assert!(json.contains(r#""ID":"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff","Image":"busybox","Labels":"","LocalVolumes":"0","Mounts":"","Names":"c1","Networks":"","Platform":null,"Ports":"","RunningFor":"About a minute ago","Size":"100B","State":"running","Status":"Up 1 minute"}"#), "{json}");
        assert!(!json.ends_with('\n'));
    }

    #[test]
    fn ports_like_docker() {
        let ports = vec![
            json!({"PrivatePort": 9988, "Type": "tcp"}),
            json!({"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}),
            json!({"IP": "0.0.0.0", "PrivatePort": 443, "PublicPort": 443, "Type": "tcp"}),
            json!({"IP": "0.0.0.0", "PrivatePort": 444, "PublicPort": 444, "Type": "tcp"}),
            json!({"PrivatePort": 53, "Type": "udp"}),
            json!({"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}),
        ];
        assert_eq!(
            displayable_ports(&ports),
            "53/udp, 0.0.0.0:443-444->443-444/tcp, 9988/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp"
        );
        assert_eq!(displayable_ports(&[]), "");
    }

    #[test]
    fn api_times() {
        assert_eq!(api_time_string("2026-11-26T05:08:37Z"), "2026-11-26 05:08:37 +0000 UTC");
        assert_eq!(api_time_string("2026-11-26T05:08:37.5+01:00"), "2026-11-26 05:08:37.5 +0100 +0100");
    }
}
