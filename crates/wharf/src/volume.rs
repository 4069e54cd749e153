//! `wharf volume` (`create`, `inspect`, `ls`, `prune`, `rm`, `update`) with the docker CLI
//! 28's flags, request bodies, output and errors:
//!
//! * `create` sends docker's `CreateOptions` (`omitempty` fields: no `Labels`/`DriverOpts`
//!   without flags; a `ClusterVolumeSpec` when a cluster flag is set, as docker's
//!   `hasClusterVolumeOptionSet` decides) and prints the name the daemon gave;
//! * `ls` renders `DRIVER VOLUME NAME` (natural name order), the cluster table with
//!   `--cluster`, or docker's template fields (`volumeContext`), with `volumesFormat` from
//!   `config.json`;
//! * `inspect` prints each volume re-encoded from Go's `Volume` struct (its field order,
//!   `omitempty` fields), as docker's typed inspect does;
//! * `rm` prints each removed name and reports the errors together at the end (status 1);
//!   `prune` prompts (anonymous volumes only unless `-a`) and lists what went;
//! * `update` changes a cluster volume's availability (`can only update cluster volumes`
//!   otherwise).
//!
//! Flags docker marks as API 1.42 (the cluster ones, `prune --all`, `ls --cluster`,
//! `update`) are refused against an older daemon with docker's message.

use std::collections::BTreeMap;

use anyhow::anyhow;
use clap::{Args, Subcommand};
use futures_util::StreamExt;
use http::Method;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Map, Value};

use crate::config::ConfigFile;
use crate::connect::{path_escape, BodyStream, Conn};
use crate::context::natural_cmp;
use crate::copts::{parse_label, parse_mem_bytes};
use crate::filters::{Filters, Query};
use crate::format::{self, Format, Row, StatusError};
use crate::image::{confirm, connect, prune_filters};
use crate::network::{label_template, map_opts, trim_id, write_stdout};
use crate::ps::label_header;
use crate::system::Target;
use crate::units;

/// The API version of cluster volumes, `prune --all` and `ls --cluster`.
const CLUSTER_API: (usize, usize) = (1, 42);

/// `wharf volume`.
#[derive(Debug, Subcommand)]
pub(crate) enum VolumeCommand {
    /// Create a volume
    #[command(override_usage = "wharf volume create [OPTIONS] [VOLUME]")]
    Create(Box<CreateArgs>),
    /// Display detailed information on one or more volumes
    #[command(override_usage = "wharf volume inspect [OPTIONS] VOLUME [VOLUME...]")]
    Inspect(InspectArgs),
    /// List volumes
    #[command(visible_alias = "list", override_usage = "wharf volume ls [OPTIONS]")]
    Ls(LsArgs),
    /// Remove unused local volumes
    #[command(override_usage = "wharf volume prune [OPTIONS]")]
    Prune(PruneArgs),
    /// Remove one or more volumes
    #[command(visible_alias = "remove", override_usage = "wharf volume rm [OPTIONS] VOLUME [VOLUME...]", help_template = RM_HELP)]
    Rm(RmArgs),
    /// Update a volume (cluster volumes only)
    #[command(override_usage = "wharf volume update [OPTIONS] [VOLUME]")]
    Update(UpdateArgs),
}

/// `volume rm --help`: docker's long description over the usual layout.
const RM_HELP: &str = "Remove one or more volumes. You cannot remove a volume that is in use by a container.

{usage-heading} {usage}

{all-args}{after-help}";

/// Runs a `wharf volume` subcommand.
pub(crate) async fn run(t: &Target, config: &ConfigFile, c: &VolumeCommand) -> anyhow::Result<()> {
    match c {
        VolumeCommand::Create(a) => create(t, a).await,
        VolumeCommand::Inspect(a) => inspect(t, a).await,
        VolumeCommand::Ls(a) => ls(t, config, a).await,
        VolumeCommand::Prune(a) => prune(t, config, a).await,
        VolumeCommand::Rm(a) => rm(t, a).await,
        VolumeCommand::Update(a) => update(t, a).await,
    }
}

/// docker's check of flags annotated with an API version: one line per flag set (in flag
/// name order) when the daemon is older.
fn require_api_flags(conn: &Conn, flags: &[&str], min: (usize, usize)) -> anyhow::Result<()> {
    let (major, minor) = conn.api_version();
    if flags.is_empty() || (major, minor) >= min {
        return Ok(());
    }
    let mut flags = flags.to_vec();
    flags.sort_unstable();
    let lines: Vec<String> = flags
        .iter()
        .map(|f| {
            format!(
                "\"--{f}\" requires API version {}.{}, but the wharf daemon API version is {major}.{minor}",
                min.0, min.1
            )
        })
        .collect();
    Err(anyhow!(lines.join("\n")))
}

/// Go's JSON decoding of a field: `null` leaves the zero value.
fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

// ---------------------------------------------------------------------------------------
// create
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Args)]
pub(crate) struct CreateArgs {
    #[arg(
        long,
        value_name = "string",
        help = "Cluster Volume availability (\"active\", \"pause\", \"drain\") [default: active]"
    )]
    pub availability: Option<String>,
    /// Specify volume driver name
    #[arg(short = 'd', long, value_name = "string", default_value = "local")]
    pub driver: String,
    /// Cluster Volume group (cluster volumes)
    #[arg(long, value_name = "string")]
    pub group: Option<String>,
    /// Set metadata for a volume
    #[arg(long, value_name = "list", value_parser = parse_label)]
    pub label: Vec<String>,
    /// Minimum size of the Cluster Volume in bytes
    #[arg(long = "limit-bytes", value_name = "bytes", value_parser = parse_mem_bytes, allow_hyphen_values = true)]
    pub limit_bytes: Option<i64>,
    /// Specify volume name
    #[arg(long, value_name = "string", default_value = "", hide = true)]
    pub name: String,
    /// Set driver specific options
    #[arg(short = 'o', long, value_name = "map")]
    pub opt: Vec<String>,
    /// Maximum size of the Cluster Volume in bytes
    #[arg(long = "required-bytes", value_name = "bytes", value_parser = parse_mem_bytes, allow_hyphen_values = true)]
    pub required_bytes: Option<i64>,
    #[arg(long, value_name = "string", help = "Cluster Volume access scope (\"single\", \"multi\") [default: single]")]
    pub scope: Option<String>,
    /// Cluster Volume secrets
    #[arg(long, value_name = "map")]
    pub secret: Vec<String>,
    #[arg(
        long,
        value_name = "string",
        help = "Cluster Volume access sharing (\"none\", \"readonly\", \"onewriter\", \"all\") [default: none]"
    )]
    pub sharing: Option<String>,
    /// A topology that the Cluster Volume would be preferred in
    #[arg(long = "topology-preferred", value_name = "list")]
    pub topology_preferred: Vec<String>,
    /// A topology that the Cluster Volume must be accessible from
    #[arg(long = "topology-required", value_name = "list")]
    pub topology_required: Vec<String>,
    #[arg(
        long = "type",
        value_name = "string",
        help = "Cluster Volume access type (\"mount\", \"block\") [default: block]"
    )]
    pub access_type: Option<String>,
    #[arg(value_name = "VOLUME")]
    pub volume: Option<String>,
}

impl CreateArgs {
    /// The flags docker annotates with API 1.42 that were given.
    fn cluster_flags(&self) -> Vec<&'static str> {
        let mut set = Vec::new();
        let checks: [(&str, bool); 10] = [
            ("availability", self.availability.is_some()),
            ("group", self.group.is_some()),
            ("limit-bytes", self.limit_bytes.is_some()),
            ("required-bytes", self.required_bytes.is_some()),
            ("scope", self.scope.is_some()),
            ("secret", !self.secret.is_empty()),
            ("sharing", self.sharing.is_some()),
            ("topology-preferred", !self.topology_preferred.is_empty()),
            ("topology-required", !self.topology_required.is_empty()),
            ("type", self.access_type.is_some()),
        ];
        for (flag, given) in checks {
            if given {
                set.push(flag);
            }
        }
        set
    }

    /// docker's `hasClusterVolumeOptionSet` (which looks for a `secrets` flag that does not
    /// exist, so `--secret` alone, like the topology flags, makes no cluster volume).
    fn is_cluster(&self) -> bool {
        self.group.is_some()
            || self.scope.is_some()
            || self.sharing.is_some()
            || self.availability.is_some()
            || self.access_type.is_some()
            || self.limit_bytes.is_some()
            || self.required_bytes.is_some()
    }
}

/// docker's `volume.CreateOptions` as its client encodes it (every field `omitempty`).
#[derive(Debug, PartialEq, Serialize)]
pub(crate) struct CreateRequest {
    #[serde(rename = "ClusterVolumeSpec", skip_serializing_if = "Option::is_none")]
    cluster_volume_spec: Option<ClusterVolumeSpec>,
    #[serde(rename = "Driver", skip_serializing_if = "String::is_empty")]
    driver: String,
    #[serde(rename = "DriverOpts", skip_serializing_if = "BTreeMap::is_empty")]
    driver_opts: BTreeMap<String, String>,
    #[serde(rename = "Labels", skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
    #[serde(rename = "Name", skip_serializing_if = "String::is_empty")]
    name: String,
}

/// docker's `ClusterVolumeSpec` (its field order and `omitempty`s; the pointers as
/// options), sent by `create` and `update` and decoded from `inspect`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct ClusterVolumeSpec {
    #[serde(rename = "Group", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    group: String,
    #[serde(rename = "AccessMode", default, skip_serializing_if = "Option::is_none")]
    access_mode: Option<AccessMode>,
    #[serde(rename = "AccessibilityRequirements", default, skip_serializing_if = "Option::is_none")]
    accessibility_requirements: Option<TopologyRequirement>,
    #[serde(rename = "CapacityRange", default, skip_serializing_if = "Option::is_none")]
    capacity_range: Option<CapacityRange>,
    #[serde(rename = "Secrets", default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    secrets: Vec<Secret>,
    #[serde(rename = "Availability", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    availability: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct AccessMode {
    #[serde(rename = "Scope", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    scope: String,
    #[serde(rename = "Sharing", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    sharing: String,
    /// `FsType`, `MountFlags`: sorted keys are Go's order.
    #[serde(rename = "MountVolume", default, skip_serializing_if = "Option::is_none")]
    mount_volume: Option<Map<String, Value>>,
    #[serde(rename = "BlockVolume", default, skip_serializing_if = "Option::is_none")]
    block_volume: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct TopologyRequirement {
    #[serde(rename = "Requisite", default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    requisite: Vec<Topology>,
    #[serde(rename = "Preferred", default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    preferred: Vec<Topology>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Topology {
    #[serde(rename = "Segments", default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    segments: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct CapacityRange {
    #[serde(rename = "RequiredBytes", default)]
    required_bytes: i64,
    #[serde(rename = "LimitBytes", default)]
    limit_bytes: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Secret {
    #[serde(rename = "Key", default, deserialize_with = "nullable")]
    key: String,
    #[serde(rename = "Secret", default, deserialize_with = "nullable")]
    secret: String,
}

/// docker's `ClusterVolume` (with swarm's embedded `Meta`) as its client re-encodes it:
/// `Version` always, the times as Go's zero time when absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct ClusterVolume {
    #[serde(rename = "ID", default, deserialize_with = "nullable")]
    id: String,
    #[serde(rename = "Version", default, deserialize_with = "nullable")]
    version: SwarmVersion,
    #[serde(rename = "CreatedAt", default, deserialize_with = "go_time")]
    created_at: GoTime,
    #[serde(rename = "UpdatedAt", default, deserialize_with = "go_time")]
    updated_at: GoTime,
    #[serde(rename = "Spec", default, deserialize_with = "nullable")]
    spec: ClusterVolumeSpec,
    #[serde(rename = "PublishStatus", default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    publish_status: Vec<PublishStatus>,
    #[serde(rename = "Info", default, skip_serializing_if = "Option::is_none")]
    info: Option<ClusterVolumeInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct SwarmVersion {
    #[serde(rename = "Index", default, skip_serializing_if = "is_zero")]
    index: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A Go `time.Time` as JSON text: the zero time when absent or `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
struct GoTime(String);

impl Default for GoTime {
    fn default() -> Self {
        GoTime("0001-01-01T00:00:00Z".into())
    }
}

fn go_time<'de, D: Deserializer<'de>>(d: D) -> Result<GoTime, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(GoTime).unwrap_or_default())
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct PublishStatus {
    #[serde(rename = "NodeID", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    node_id: String,
    #[serde(rename = "State", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    state: String,
    #[serde(
        rename = "PublishContext",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    publish_context: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct ClusterVolumeInfo {
    #[serde(rename = "CapacityBytes", default, skip_serializing_if = "is_zero_i64")]
    capacity_bytes: i64,
    #[serde(
        rename = "VolumeContext",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    volume_context: BTreeMap<String, String>,
    #[serde(rename = "VolumeID", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    volume_id: String,
    #[serde(
        rename = "AccessibleTopology",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    accessible_topology: Vec<Topology>,
}

fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

/// A topology flag: `segment=value,segment=value`.
fn topology(value: &str) -> Topology {
    let segments = value
        .split(',')
        .map(|seg| match seg.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (seg.to_string(), String::new()),
        })
        .collect();
    Topology { segments }
}

/// The body of `POST /volumes/create` for the flags, or docker's error (status 1).
pub(crate) fn create_body(a: &CreateArgs) -> Result<CreateRequest, StatusError> {
    let mut name = a.name.clone();
    if let Some(v) = &a.volume {
        if !name.is_empty() {
            return Err(StatusError::new(
                1,
                "conflicting options: cannot specify a volume-name through both --name and as a positional arg",
            ));
        }
        name = v.clone();
    }
    let cluster_volume_spec = a.is_cluster().then(|| {
        let access_type = a.access_type.as_deref().unwrap_or("block");
        ClusterVolumeSpec {
            group: a.group.clone().unwrap_or_default(),
            access_mode: Some(AccessMode {
                scope: a.scope.clone().unwrap_or_else(|| "single".into()),
                sharing: a.sharing.clone().unwrap_or_else(|| "none".into()),
                mount_volume: (access_type == "mount").then(Map::new),
                block_volume: (access_type == "block").then(Map::new),
            }),
            accessibility_requirements: Some(TopologyRequirement {
                requisite: a.topology_required.iter().map(|t| topology(t)).collect(),
                preferred: a.topology_preferred.iter().map(|t| topology(t)).collect(),
            }),
            capacity_range: Some(CapacityRange {
                required_bytes: a.required_bytes.unwrap_or(0),
                limit_bytes: a.limit_bytes.unwrap_or(0),
            }),
            // A map, so sorted by key, as docker sorts them.
            secrets: map_opts(&a.secret).into_iter().map(|(key, secret)| Secret { key, secret }).collect(),
            availability: a.availability.clone().unwrap_or_else(|| "active".into()),
        }
    });
    // docker's ConvertKVStringsToMap: `key=value` or `key` (empty value); the last wins.
    let labels = a
        .label
        .iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (l.clone(), String::new()),
        })
        .collect();
    Ok(CreateRequest { cluster_volume_spec, driver: a.driver.clone(), driver_opts: map_opts(&a.opt), labels, name })
}

/// `wharf volume create`.
pub(crate) async fn create(t: &Target, a: &CreateArgs) -> anyhow::Result<()> {
    let cluster_flags = a.cluster_flags();
    let conn = if cluster_flags.is_empty() { None } else { Some(connect(t).await?) };
    if let Some(conn) = &conn {
        require_api_flags(conn, &cluster_flags, CLUSTER_API)?;
    }
    let body = create_body(a)?;
    let conn = match conn {
        Some(c) => c,
        None => connect(t).await?,
    };
    let answer = conn.post_json("/volumes/create", &body).await?;
    println!("{}", answer.get("Name").and_then(Value::as_str).unwrap_or(""));
    Ok(())
}

// ---------------------------------------------------------------------------------------
// ls
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    /// Display only cluster volumes, and use cluster volume list formatting
    #[arg(long)]
    pub cluster: bool,
    /// Provide filter values (e.g. "dangling=true")
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true, help = format::FORMAT_HELP)]
    pub format: String,
    /// Only display volume names
    #[arg(short, long)]
    pub quiet: bool,
}

const LS_COLUMNS: [&str; 2] = ["DRIVER", "VOLUME NAME"];
const CLUSTER_TABLE: &str = "table {{.Name}}\t{{.Group}}\t{{.Driver}}\t{{.Availability}}\t{{.Status}}";

/// Titles of the volume fields in `table` templates (docker's `newVolumeContext`).
fn ls_header(labels: &[String]) -> Value {
    let mut h = json!({
        "ID": "ID", "Name": "VOLUME NAME", "Group": "GROUP", "Driver": "DRIVER", "Scope": "SCOPE",
        "Availability": "AVAILABILITY", "Mountpoint": "MOUNTPOINT", "Labels": "LABELS", "Links": "LINKS",
        "Size": "SIZE", "Status": "STATUS",
    });
    if !labels.is_empty() {
        h["Label"] = label_header(labels);
    }
    h
}

/// One volume as a row: docker's `volumeContext` fields (shared with `system df -v`) and
/// the default columns.
pub(crate) fn volume_row(v: &Value, labels: &[String]) -> Row {
    let mut row = crate::df::volume_row(v);
    if !labels.is_empty() {
        let own = v.get("Labels").and_then(Value::as_object);
        let m: Map<String, Value> = labels
            .iter()
            .map(|l| (l.clone(), own.and_then(|o| o.get(l)).cloned().unwrap_or_else(|| json!(""))))
            .collect();
        row.data["Label"] = Value::Object(m);
    }
    row.cells = ["Driver", "Name"].iter().map(|k| row.data[*k].as_str().unwrap_or("").to_string()).collect();
    row
}

/// docker's `NewVolumeFormat`.
fn ls_format(source: &str, quiet: bool) -> Format {
    match source {
        "table" if quiet => Format::Template("{{.Name}}".into()),
        "table" => Format::DefaultTable,
        "raw" if quiet => Format::Template("name: {{.Name}}".into()),
        "raw" => Format::Template("name: {{.Name}}\ndriver: {{.Driver}}\n".into()),
        // The whole context marshals as the `json` format does.
        src if src.trim() == "{{json .}}" => Format::Json,
        src => Format::parse(src),
    }
}

/// The format source `volume ls` uses (docker's `runList`): `--cluster` wins over
/// `--format`, then `--format`, then `volumesFormat` (unless quiet), then `table`.
fn ls_source(a: &LsArgs, config_format: Option<&str>) -> String {
    if a.cluster {
        return if a.quiet { "table".into() } else { CLUSTER_TABLE.into() };
    }
    match (a.format.as_str(), config_format) {
        ("", Some(f)) if !a.quiet && !f.is_empty() => f.to_string(),
        ("", _) => "table".to_string(),
        (f, _) => f.to_string(),
    }
}

/// Renders `volume ls` for the daemon's `Volumes` (sorted here, in natural name order;
/// `cluster` keeps only cluster volumes).
pub(crate) fn render_ls(list: &[Value], source: &str, quiet: bool, cluster: bool) -> anyhow::Result<Vec<u8>> {
    let mut list: Vec<&Value> =
        list.iter().filter(|v| !cluster || v.get("ClusterVolume").is_some_and(Value::is_object)).collect();
    let name = |v: &Value| v.get("Name").and_then(Value::as_str).unwrap_or("").to_string();
    list.sort_by(|a, b| natural_cmp(&name(a), &name(b)));
    let mut format = ls_format(source, quiet);
    let Some(labels) = label_template(&mut format, list.is_empty())? else { return Ok(Vec::new()) };
    let rows: Vec<Row> = list.iter().map(|v| volume_row(v, &labels)).collect();
    let mut out = Vec::new();
    format::write_list(&mut out, &format, &ls_header(&labels), &LS_COLUMNS, &rows)?;
    Ok(out)
}

/// `wharf volume ls`.
pub(crate) async fn ls(t: &Target, config: &ConfigFile, a: &LsArgs) -> anyhow::Result<()> {
    let filters = Filters::parse(&a.filter).map_err(|e| StatusError::new(125, e))?;
    let conn = connect(t).await?;
    if a.cluster {
        require_api_flags(&conn, &["cluster"], CLUSTER_API)?;
    }
    let mut q = Query::default();
    if !filters.is_empty() {
        q.add("filters", &filters.to_json());
    }
    let answer = conn.raw_json(Method::GET, &format!("/volumes{}", q.encode())).await?;
    let list = answer.get("Volumes").and_then(Value::as_array).cloned().unwrap_or_default();
    let source = ls_source(a, config.get_str("volumesFormat"));
    write_stdout(&render_ls(&list, &source, a.quiet, a.cluster)?)
}

// ---------------------------------------------------------------------------------------
// inspect
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    #[arg(short = 'f', long, value_name = "string", default_value = "", hide_default_value = true, help = format::INSPECT_FORMAT_HELP)]
    pub format: String,
    #[arg(value_name = "VOLUME", required = true)]
    pub volumes: Vec<String>,
}

/// `UsageData` as Go's struct encodes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UsageData {
    #[serde(rename = "RefCount", default)]
    ref_count: i64,
    #[serde(rename = "Size", default)]
    size: i64,
}

/// Go's `volume.Volume` as the docker CLI decodes and re-encodes it for `inspect`: its field
/// order, `omitempty` on `ClusterVolume`, `CreatedAt`, `Status` and `UsageData`, `null` for
/// absent maps, unknown fields dropped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Volume {
    #[serde(rename = "ClusterVolume", default, skip_serializing_if = "Option::is_none")]
    cluster_volume: Option<ClusterVolume>,
    #[serde(rename = "CreatedAt", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    created_at: String,
    #[serde(rename = "Driver", default, deserialize_with = "nullable")]
    driver: String,
    #[serde(rename = "Labels", default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(rename = "Mountpoint", default, deserialize_with = "nullable")]
    mountpoint: String,
    #[serde(rename = "Name", default, deserialize_with = "nullable")]
    name: String,
    #[serde(rename = "Options", default)]
    options: Option<BTreeMap<String, String>>,
    #[serde(rename = "Scope", default, deserialize_with = "nullable")]
    scope: String,
    #[serde(rename = "Status", default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    status: BTreeMap<String, Value>,
    #[serde(rename = "UsageData", default, skip_serializing_if = "Option::is_none")]
    usage_data: Option<UsageData>,
}

impl Volume {
    /// What a Go template sees: every field, nil maps printing as `map[]` (an empty object
    /// here) and nil pointers as `<nil>`.
    fn template_data(&self) -> Value {
        let map = |m: &Option<BTreeMap<String, String>>| json!(m.clone().unwrap_or_default());
        json!({
            "ClusterVolume": self.cluster_volume,
            "CreatedAt": self.created_at,
            "Driver": self.driver,
            "Labels": map(&self.labels),
            "Mountpoint": self.mountpoint,
            "Name": self.name,
            "Options": map(&self.options),
            "Scope": self.scope,
            "Status": self.status,
            "UsageData": self.usage_data,
        })
    }
}

/// Writes `volume inspect` output for the volumes found, then fails with `errors`.
pub(crate) fn render_inspect(format: &str, volumes: &[Volume], errors: Vec<String>) -> (Vec<u8>, anyhow::Result<()>) {
    let mut out = Vec::new();
    let result = match format {
        "" | "json" => format::write_inspect(&mut out, format, volumes, errors),
        _ => {
            let data: Vec<Value> = volumes.iter().map(Volume::template_data).collect();
            format::write_inspect(&mut out, format, &data, errors)
        }
    };
    (out, result)
}

/// `wharf volume inspect`.
pub(crate) async fn inspect(t: &Target, a: &InspectArgs) -> anyhow::Result<()> {
    if !matches!(a.format.as_str(), "" | "json") {
        format::parse_template(&a.format).map_err(|e| StatusError::new(64, e))?;
    }
    let conn = connect(t).await?;
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for name in &a.volumes {
        match get_volume(&conn, name).await {
            Ok(v) => found.push(v),
            Err(e) => errors.push(e),
        }
    }
    let (out, result) = render_inspect(&a.format, &found, errors);
    write_stdout(&out)?;
    result
}

/// `GET /volumes/{name}` decoded as docker's client decodes it; errors as docker prints them.
async fn get_volume(conn: &Conn, name: &str) -> Result<Volume, String> {
    let name = trim_id("volume", name)?;
    let raw = conn.raw_bytes(Method::GET, &format!("/volumes/{}", path_escape(name))).await.map_err(|e| e.message)?;
    serde_json::from_slice(&raw).map_err(|e| format!("error reading the daemon's response: {e}"))
}

// ---------------------------------------------------------------------------------------
// rm
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct RmArgs {
    /// Force the removal of one or more volumes
    #[arg(short, long)]
    pub force: bool,
    #[arg(value_name = "VOLUME", required = true)]
    pub volumes: Vec<String>,
}

/// The request path of one `volume rm` (the name trimmed, as docker's client does).
fn rm_path(name: &str, force: bool) -> Result<String, String> {
    let id = trim_id("volume", name)?;
    Ok(format!("/volumes/{}{}", path_escape(id), if force { "?force=1" } else { "" }))
}

/// `wharf volume rm`: each removed name is printed as given; the errors are joined and
/// reported at the end (status 1), as docker's `errors.Join`.
pub(crate) async fn rm(t: &Target, a: &RmArgs) -> anyhow::Result<()> {
    let conn = connect(t).await?;
    let mut errors = Vec::new();
    for name in &a.volumes {
        let path = match rm_path(name, a.force) {
            Ok(p) => p,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        match conn.raw_bytes(Method::DELETE, &path).await {
            Ok(_) => println!("{name}"),
            Err(e) => errors.push(e.message),
        }
    }
    if !errors.is_empty() {
        return Err(StatusError::new(1, errors.join("\n")).into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// prune
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct PruneArgs {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short, long)]
    pub all: bool,
    /// Provide filter values (e.g. "label=<label>")
    #[arg(long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

const UNUSED_WARNING: &str =
    "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?";
const ALL_WARNING: &str =
    "WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?";

/// The filters `volume prune` sends (config.json's `pruneFilters` added, `all=true` for
/// `--all`) and its warning, or docker's conflict error.
pub(crate) fn prune_request(a: &PruneArgs, config: &ConfigFile) -> Result<(Filters, &'static str), StatusError> {
    let filters = Filters::parse_flag(&a.filter, "--filter").map_err(|e| StatusError::new(125, e))?;
    let mut filters = prune_filters(filters, config);
    if !a.all {
        return Ok((filters, UNUSED_WARNING));
    }
    if filters.contains("all") {
        return Err(StatusError::new(1, "conflicting options: cannot specify both --all and --filter all=1"));
    }
    filters.add("all", "true");
    Ok((filters, ALL_WARNING))
}

/// What `volume prune` prints for the daemon's answer.
pub(crate) fn prune_report(answer: &Value) -> String {
    let deleted: Vec<&str> = answer
        .get("VolumesDeleted")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut out = String::new();
    let mut reclaimed = 0u64;
    if !deleted.is_empty() {
        out.push_str("Deleted Volumes:\n");
        for v in deleted {
            out.push_str(v);
            out.push('\n');
        }
        out.push('\n');
        reclaimed = answer.get("SpaceReclaimed").and_then(Value::as_u64).unwrap_or(0);
    }
    out.push_str(&format!("Total reclaimed space: {}\n", units::human_size(reclaimed as f64)));
    out
}

/// `wharf volume prune`.
pub(crate) async fn prune(t: &Target, config: &ConfigFile, a: &PruneArgs) -> anyhow::Result<()> {
    let conn = if a.all {
        let conn = connect(t).await?;
        require_api_flags(&conn, &["all"], CLUSTER_API)?;
        Some(conn)
    } else {
        None
    };
    let (filters, warning) = prune_request(a, config)?;
    if !a.force && !confirm(warning)? {
        // docker treats a "no" as a cancellation: nothing more is printed, status 0.
        return Ok(());
    }
    let conn = match conn {
        Some(c) => c,
        None => connect(t).await?,
    };
    let mut q = Query::default();
    if !filters.is_empty() {
        q.add("filters", &filters.to_json());
    }
    let answer = conn.raw_json(Method::POST, &format!("/volumes/prune{}", q.encode())).await?;
    write_stdout(prune_report(&answer).as_bytes())
}

// ---------------------------------------------------------------------------------------
// update
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct UpdateArgs {
    #[arg(
        long,
        value_name = "string",
        help = "Cluster Volume availability (\"active\", \"pause\", \"drain\") [default: active]"
    )]
    pub availability: Option<String>,
    #[arg(value_name = "VOLUME")]
    pub volume: String,
}

/// The `PUT` docker's `volume update` sends for an inspected volume: the path (cluster ID
/// and version) and the spec with the new availability.
pub(crate) fn update_request(vol: &Volume, availability: Option<&str>) -> Result<(String, UpdateBody), String> {
    let Some(cluster) = &vol.cluster_volume else {
        return Err("can only update cluster volumes".into());
    };
    let mut spec = cluster.spec.clone();
    if let Some(a) = availability {
        spec.availability = a.to_string();
    }
    let path = format!("/volumes/{}?version={}", path_escape(&cluster.id), cluster.version.index);
    Ok((path, UpdateBody { spec }))
}

/// docker's `volume.UpdateOptions`.
#[derive(Debug, PartialEq, Serialize)]
pub(crate) struct UpdateBody {
    #[serde(rename = "Spec")]
    spec: ClusterVolumeSpec,
}

/// `wharf volume update`.
pub(crate) async fn update(t: &Target, a: &UpdateArgs) -> anyhow::Result<()> {
    let conn = connect(t).await?;
    let (major, minor) = conn.api_version();
    if (major, minor) < CLUSTER_API {
        return Err(anyhow!(
            "wharf volume update requires API version {}.{}, but the wharf daemon API version is {major}.{minor}",
            CLUSTER_API.0,
            CLUSTER_API.1
        ));
    }
    let vol = get_volume(&conn, &a.volume).await.map_err(anyhow::Error::msg)?;
    let (path, body) = update_request(&vol, a.availability.as_deref()).map_err(anyhow::Error::msg)?;
    let bytes = serde_json::to_vec(&body)?;
    let stream: BodyStream = Box::pin(futures_util::stream::iter([Ok(bytes::Bytes::from(bytes))]));
    let mut resp = conn.raw(Method::PUT, &path, Some(("application/json", stream)));
    while let Some(chunk) = resp.next().await {
        chunk.map_err(|e| conn.error(e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrap {
        #[command(subcommand)]
        c: VolumeCommand,
    }

    fn try_parse(args: &[&str]) -> Result<VolumeCommand, clap::Error> {
        let mut all = vec!["volume"];
        all.extend_from_slice(args);
        Wrap::try_parse_from(all).map(|w| w.c)
    }

    fn parse(args: &[&str]) -> VolumeCommand {
        try_parse(args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    fn body(args: &[&str]) -> Result<String, (i32, String)> {
        let mut all = vec!["create"];
        all.extend_from_slice(args);
        let VolumeCommand::Create(a) = parse(&all) else { panic!("not create") };
        create_body(&a).map(|b| serde_json::to_string(&b).expect("json")).map_err(|e| (e.code, e.message))
    }

    fn text(out: Vec<u8>) -> String {
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn parses_volume_commands() {
        for args in [
            &["create"][..],
            &["create", "v"],
            &["create", "-d", "local", "--label", "a=b", "-o", "type=tmpfs", "--opt", "o=size=1m", "v"],
            &["create", "--name", "v"],
            &["create", "--limit-bytes", "1g", "--required-bytes", "1k", "--secret", "a=b", "v"],
            &["ls"],
            &["list", "-q", "-f", "dangling=true", "--filter", "name=x", "--format", "json", "--cluster"],
            &["inspect", "-f", "{{.Name}}", "a", "b"],
            &["inspect", "--format", "json", "a"],
            &["rm", "-f", "a", "b"],
            &["remove", "--force", "a"],
            &["prune"],
            &["prune", "-a", "-f", "--filter", "label=a"],
            &["prune", "--all", "--force"],
            &["update", "--availability", "drain", "v"],
        ] {
            parse(args);
        }
        for bad in [
            &["create", "a", "b"][..],
            &["create", "--label", "", "v"],
            &["create", "--label", "a b=c", "v"],
            &["create", "--limit-bytes", "-1", "v"],
            &["create", "--required-bytes", "xyz", "v"],
            &["ls", "x"],
            &["ls", "-a"],
            &["inspect"],
            &["rm"],
            &["prune", "x"],
            &["prune", "-q"],
            &["prune", "-f", "label=a"],
            &["update"],
            &["update", "a", "b"],
            &["bogus"],
        ] {
            assert!(try_parse(bad).is_err(), "{bad:?}");
        }
        match parse(&["create"]) {
            VolumeCommand::Create(a) => {
                assert_eq!((a.driver.as_str(), a.volume.as_deref(), a.name.as_str()), ("local", None, ""));
                assert!(!a.is_cluster() && a.cluster_flags().is_empty());
            }
            other => panic!("{other:?}"),
        }
        match parse(&["create", "--limit-bytes", "1.5k", "v"]) {
            VolumeCommand::Create(a) => assert_eq!(a.limit_bytes, Some(1536)),
            other => panic!("{other:?}"),
        }
        match parse(&["list", "-q"]) {
            VolumeCommand::Ls(a) => assert!(a.quiet && !a.cluster && a.format.is_empty()),
            other => panic!("{other:?}"),
        }
    }

    /// Bodies captured from docker 28.2 (`docker volume create …` against a recording
    /// server), byte for byte (Go adds a final newline).
    #[test]
    fn create_bodies_like_docker() {
        let ok = |args: &[&str]| body(args).unwrap_or_else(|e| panic!("{args:?}: {e:?}"));
        assert_eq!(ok(&["v1"]), r#"{"Driver":"local","Name":"v1"}"#);
        assert_eq!(ok(&[]), r#"{"Driver":"local"}"#);
        assert_eq!(ok(&["--name", "n3"]), r#"{"Driver":"local","Name":"n3"}"#);
        assert_eq!(ok(&["-d", "", "--name", "", "x1"]), r#"{"Name":"x1"}"#);
        assert_eq!(
            ok(&["--label", "a=b", "--label", "c", "-o", "type=tmpfs", "-o", "o=size=1m", "-d", "foo", "v2"]),
            r#"{"Driver":"foo","DriverOpts":{"o":"size=1m","type":"tmpfs"},"Labels":{"a":"b","c":""},"Name":"v2"}"#
        );
        assert_eq!(
            ok(&["--label", "a=b=c", "--label", "a=d", "x3"]),
            r#"{"Driver":"local","Labels":{"a":"d"},"Name":"x3"}"#
        );
        assert_eq!(ok(&["-o", "noequals", "v12"]), r#"{"Driver":"local","DriverOpts":{"noequals":""},"Name":"v12"}"#);
        assert_eq!(
            ok(&["-o", "a=1,b=2", "-o", "a=3", "v13"]),
            r#"{"Driver":"local","DriverOpts":{"a":"3"},"Name":"v13"}"#
        );
        // Not cluster options for docker: --secret (it checks a `secrets` flag) and topologies.
        assert_eq!(ok(&["--secret", "a=b", "v8"]), r#"{"Driver":"local","Name":"v8"}"#);
        assert_eq!(ok(&["--topology-required", "a=b", "v7"]), r#"{"Driver":"local","Name":"v7"}"#);
        assert_eq!(
            ok(&[
                "--group",
                "g",
                "--type",
                "mount",
                "--secret",
                "k=v",
                "--secret",
                "a=b",
                "--limit-bytes",
                "1k",
                "--topology-required",
                "a=b,c=d",
                "--topology-preferred",
                "x=y",
                "v5"
            ]),
            r#"{"ClusterVolumeSpec":{"Group":"g","AccessMode":{"Scope":"single","Sharing":"none","MountVolume":{}},"AccessibilityRequirements":{"Requisite":[{"Segments":{"a":"b","c":"d"}}],"Preferred":[{"Segments":{"x":"y"}}]},"CapacityRange":{"RequiredBytes":0,"LimitBytes":1024},"Secrets":[{"Key":"a","Secret":"b"},{"Key":"k","Secret":"v"}],"Availability":"active"},"Driver":"local","Name":"v5"}"#
        );
        assert_eq!(
            ok(&["--scope", "multi", "v6"]),
            r#"{"ClusterVolumeSpec":{"AccessMode":{"Scope":"multi","Sharing":"none","BlockVolume":{}},"AccessibilityRequirements":{},"CapacityRange":{"RequiredBytes":0,"LimitBytes":0},"Availability":"active"},"Driver":"local","Name":"v6"}"#
        );
        assert_eq!(
            ok(&["--required-bytes", "1.5k", "--limit-bytes", "0", "x4"]),
            r#"{"ClusterVolumeSpec":{"AccessMode":{"Scope":"single","Sharing":"none","BlockVolume":{}},"AccessibilityRequirements":{},"CapacityRange":{"RequiredBytes":1536,"LimitBytes":0},"Availability":"active"},"Driver":"local","Name":"x4"}"#
        );
        assert_eq!(
            ok(&[
                "--type",
                "foo",
                "--scope",
                "",
                "--sharing",
                "",
                "--availability",
                "",
                "--group",
                "",
                "--topology-preferred",
                "",
                "--secret",
                "=",
                "x2"
            ]),
            r#"{"ClusterVolumeSpec":{"AccessMode":{},"AccessibilityRequirements":{"Preferred":[{"Segments":{"":""}}]},"CapacityRange":{"RequiredBytes":0,"LimitBytes":0},"Secrets":[{"Key":"","Secret":""}]},"Driver":"local","Name":"x2"}"#
        );
        assert_eq!(
            body(&["--name", "n3", "n4"]),
            Err((
                1,
                "conflicting options: cannot specify a volume-name through both --name and as a positional arg".into()
            ))
        );
        let VolumeCommand::Create(a) =
            parse(&["create", "--topology-required", "x", "--type", "block", "--secret", "a"])
        else {
            panic!()
        };
        assert_eq!(a.cluster_flags(), ["secret", "topology-required", "type"]);
    }

    fn sample() -> Vec<Value> {
        vec![
            json!({"CreatedAt":"2025-01-02T03:04:05Z","Driver":"local","Labels":{"com.docker.volume.anonymous":""},"Mountpoint":"/var/lib/docker/volumes/","Name":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","Options":null,"Scope":"local"}),
            json!({"CreatedAt":"2025-01-02T03:04:05+01:00","Driver":"local","Labels":{"b":"2","a":"1 & <x>"},"Mountpoint":"/var/lib/docker/volumes/vol10/_data","Name":"vol10","Options":{"type":"tmpfs"},"Scope":"local"}),
            json!({"Driver":"a-very-long-driver-name","Labels":null,"Mountpoint":"/m","Name":"vol9","Options":null,"Scope":"global","UsageData":{"RefCount":2,"Size":123456789}}),
            json!({"Driver":"local","Labels":{},"Mountpoint":"","Name":"Abc","Options":{},"Scope":"local","Status":{"x":1}}),
        ]
    }

    /// `docker volume ls` (28.2) output for the same daemon answer, byte for byte.
    #[test]
    fn ls_like_docker() {
        let render = |source: &str, quiet: bool, cluster: bool| {
            text(render_ls(&sample(), source, quiet, cluster).expect("render"))
        };
        assert_eq!(
            render("table", false, false),
            "\
DRIVER                    VOLUME NAME
local                     0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
local                     Abc
a-very-long-driver-name   vol9
local                     vol10
"
        );
        assert_eq!(
            render("table", true, false),
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\nAbc\nvol9\nvol10\n"
        );
        assert_eq!(text(render_ls(&[], "table", false, false).expect("empty")), "DRIVER    VOLUME NAME\n");
        assert_eq!(
            render("raw", false, false),
            "name: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\ndriver: local\n\nname: Abc\ndriver: local\n\nname: vol9\ndriver: a-very-long-driver-name\n\nname: vol10\ndriver: local\n\n"
        );
        assert_eq!(
            render("raw", true, false),
            "name: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\nname: Abc\nname: vol9\nname: vol10\n"
        );
        // Labels are in Go's random map order there; sorted here.
        let json_lines = "\
{\"Availability\":\"N/A\",\"Driver\":\"local\",\"Group\":\"N/A\",\"Labels\":\"com.docker.volume.anonymous=\",\"Links\":\"N/A\",\"Mountpoint\":\"/var/lib/docker/volumes/\",\"Name\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"Scope\":\"local\",\"Size\":\"N/A\",\"Status\":\"N/A\"}
{\"Availability\":\"N/A\",\"Driver\":\"local\",\"Group\":\"N/A\",\"Labels\":\"\",\"Links\":\"N/A\",\"Mountpoint\":\"\",\"Name\":\"Abc\",\"Scope\":\"local\",\"Size\":\"N/A\",\"Status\":\"N/A\"}
{\"Availability\":\"N/A\",\"Driver\":\"a-very-long-driver-name\",\"Group\":\"N/A\",\"Labels\":\"\",\"Links\":\"2\",\"Mountpoint\":\"/m\",\"Name\":\"vol9\",\"Scope\":\"global\",\"Size\":\"123.5MB\",\"Status\":\"N/A\"}
{\"Availability\":\"N/A\",\"Driver\":\"local\",\"Group\":\"N/A\",\"Labels\":\"a=1 \\u0026 \\u003cx\\u003e,b=2\",\"Links\":\"N/A\",\"Mountpoint\":\"/var/lib/docker/volumes/vol10/_data\",\"Name\":\"vol10\",\"Scope\":\"local\",\"Size\":\"N/A\",\"Status\":\"N/A\"}
";
        assert_eq!(render("json", false, false), json_lines);
        assert_eq!(render("{{json .}}", false, false), json_lines);
        // --cluster keeps cluster volumes only, in the cluster table (quiet: names).
        assert_eq!(render("table", true, true), "");
        assert_eq!(
            text(render_ls(&sample(), CLUSTER_TABLE, false, true).expect("cluster")),
            "VOLUME NAME   GROUP     DRIVER    AVAILABILITY   STATUS\n"
        );
        let cluster = json!({"Name":"c","Driver":"csi","Scope":"global","ClusterVolume":{"ID":"x","Spec":{"Group":"g","Availability":"active"},"Info":{"VolumeID":"vid"},"PublishStatus":[{},{}]}});
        let mut with_cluster = sample();
        with_cluster.push(cluster);
        assert_eq!(text(render_ls(&with_cluster, "table", true, true).expect("quiet cluster")), "c\n");
        if wharf_gotmpl::Template::parse("x").and_then(|t| t.execute(&json!({}))).is_err() {
            return;
        }
        assert_eq!(
            text(render_ls(&with_cluster, CLUSTER_TABLE, false, true).expect("cluster")),
            "VOLUME NAME   GROUP     DRIVER    AVAILABILITY   STATUS\nc             g         csi       active         in use (2 nodes)\n"
        );
    }

    #[test]
    fn ls_sources() {
        let a =
            |format: &str, quiet: bool, cluster: bool| LsArgs { cluster, filter: vec![], format: format.into(), quiet };
        assert_eq!(ls_source(&a("", false, false), None), "table");
        assert_eq!(ls_source(&a("", false, false), Some("{{.Name}}")), "{{.Name}}");
        assert_eq!(ls_source(&a("", true, false), Some("{{.Name}}")), "table");
        assert_eq!(ls_source(&a("json", false, false), Some("{{.Name}}")), "json");
        assert_eq!(ls_source(&a("json", false, true), None), CLUSTER_TABLE);
        assert_eq!(ls_source(&a("", true, true), None), "table");
    }

    /// `docker volume ls --format …` (28.2) for the sample.
    #[test]
    fn ls_templates_like_docker() {
        let err = render_ls(&sample(), "x {{.Name}} {{.Label}}", false, false).expect_err("bare Label");
        assert_eq!(
            err.to_string(),
            "template parsing error: template: :1:14: executing \"\" at <.Label>: wrong number of args for Label: want 1 got 0"
        );
        if wharf_gotmpl::Template::parse("x").and_then(|t| t.execute(&json!({}))).is_err() {
            return;
        }
        let all = r#"table {{.Name}}\t{{.Driver}}\t{{.Scope}}\t{{.Mountpoint}}\t{{.Labels}}\t{{.Label "a"}}\t{{.Links}}\t{{.Size}}\t{{.Group}}\t{{.Availability}}\t{{.Status}}"#;
        assert_eq!(
            text(render_ls(&sample(), all, false, false).expect("table")),
            "\
VOLUME NAME                                                        DRIVER                    SCOPE     MOUNTPOINT                            LABELS                         a         LINKS     SIZE      GROUP     AVAILABILITY   STATUS
0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef   local                     local     /var/lib/docker/volumes/              com.docker.volume.anonymous=             N/A       N/A       N/A       N/A            N/A
Abc                                                                local                     local                                                                                    N/A       N/A       N/A       N/A            N/A
vol9                                                               a-very-long-driver-name   global    /m                                                                             2         123.5MB   N/A       N/A            N/A
vol10                                                              local                     local     /var/lib/docker/volumes/vol10/_data   a=1 & <x>,b=2                  1 & <x>   N/A       N/A       N/A       N/A            N/A
"
        );
        assert_eq!(
            text(render_ls(&sample(), "{{.Name}}:{{.Driver}}", true, false).expect("format wins over -q")),
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef:local\nAbc:local\nvol9:a-very-long-driver-name\nvol10:local\n"
        );
    }

    fn volumes(raw: &[&str]) -> Vec<Volume> {
        raw.iter().map(|r| serde_json::from_str(r).expect("volume")).collect()
    }

    /// `docker volume inspect` (28.2): the typed re-encoding, not the daemon's bytes.
    #[test]
    fn inspect_like_docker() {
        let vols = volumes(&[
            r#"{"CreatedAt":"2025-01-02T03:04:05Z","Driver":"local","Labels":null,"Mountpoint":"/var/lib/docker/volumes/v1/_data","Name":"v1","Options":null,"Scope":"local"}"#,
            r#"{"Name": "v2", "Driver":"local","Labels":{"a":"<b>"},"Options":{},"Status":{"k":[1,2]}, "Mountpoint":"/m","Scope":"local","Unknown":1}"#,
        ]);
        let (out, result) = render_inspect("", &vols, vec![]);
        result.expect("ok");
        assert_eq!(
            text(out),
            r#"[
    {
        "CreatedAt": "2025-01-02T03:04:05Z",
        "Driver": "local",
        "Labels": null,
        "Mountpoint": "/var/lib/docker/volumes/v1/_data",
        "Name": "v1",
        "Options": null,
        "Scope": "local"
    },
    {
        "Driver": "local",
        "Labels": {
            "a": "\u003cb\u003e"
        },
        "Mountpoint": "/m",
        "Name": "v2",
        "Options": {},
        "Scope": "local",
        "Status": {
            "k": [
                1,
                2
            ]
        }
    }
]
"#
        );
        let (out, result) = render_inspect("json", &vols, vec![]);
        result.expect("ok");
        assert_eq!(
            text(out),
            r#"[{"CreatedAt":"2025-01-02T03:04:05Z","Driver":"local","Labels":null,"Mountpoint":"/var/lib/docker/volumes/v1/_data","Name":"v1","Options":null,"Scope":"local"},{"Driver":"local","Labels":{"a":"\u003cb\u003e"},"Mountpoint":"/m","Name":"v2","Options":{},"Scope":"local","Status":{"k":[1,2]}}]"#.to_string() + "\n"
        );
        // Found volumes first, then the errors (status 1); nothing found is `[]`.
        let (out, result) =
            render_inspect("", &[], vec!["Error response from daemon: get missing: no such volume".into()]);
        assert_eq!(text(out), "[]\n");
        let e = result.expect_err("missing");
        assert_eq!(
            e.downcast_ref::<StatusError>().map(|s| (s.code, s.message.as_str())),
            Some((1, "Error response from daemon: get missing: no such volume"))
        );
        let (_, result) = render_inspect("{{.Name", &vols, vec![]);
        assert_eq!(result.expect_err("bad template").downcast_ref::<StatusError>().map(|s| s.code), Some(64));
        assert_eq!(
            vols[0].template_data(),
            json!({"ClusterVolume": null, "CreatedAt": "2025-01-02T03:04:05Z", "Driver": "local", "Labels": {},
                   "Mountpoint": "/var/lib/docker/volumes/v1/_data", "Name": "v1", "Options": {}, "Scope": "local",
                   "Status": {}, "UsageData": null})
        );
        if wharf_gotmpl::Template::parse("x").and_then(|t| t.execute(&json!({}))).is_err() {
            return;
        }
        let (out, result) = render_inspect("{{.Name}} {{.Labels}}", &vols, vec![]);
        result.expect("ok");
        assert_eq!(text(out), "v1 map[]\nv2 map[a:<b>]\n");
    }

    #[test]
    fn rm_paths_like_docker() {
        assert_eq!(rm_path("v1", false).as_deref(), Ok("/volumes/v1"));
        assert_eq!(rm_path(" v1", true).as_deref(), Ok("/volumes/v1?force=1"));
        assert_eq!(rm_path("a/b", false).as_deref(), Ok("/volumes/a/b"));
        assert_eq!(rm_path("a b", false).as_deref(), Ok("/volumes/a%20b"));
        assert_eq!(rm_path("", false), Err("invalid volume name or ID: value is empty".into()));
    }

    #[test]
    fn prune_like_docker() {
        let config = ConfigFile::default();
        let args = |all: bool, filter: &[&str]| PruneArgs {
            all,
            filter: filter.iter().map(|s| s.to_string()).collect(),
            force: true,
        };
        let (f, w) = prune_request(&args(false, &[]), &config).expect("plain");
        assert_eq!((f.is_empty(), w), (true, UNUSED_WARNING));
        // Sent by docker 28.2 for `-a --filter label=a --filter label!=b=c`.
        let (f, w) = prune_request(&args(true, &["label=a", "label!=b=c"]), &config).expect("all");
        assert_eq!(w, ALL_WARNING);
        let mut q = Query::default();
        q.add("filters", &f.to_json());
        assert_eq!(
            q.encode(),
            "?filters=%7B%22all%22%3A%7B%22true%22%3Atrue%7D%2C%22label%22%3A%7B%22a%22%3Atrue%7D%2C%22label%21%22%3A%7B%22b%3Dc%22%3Atrue%7D%7D"
        );
        let e = prune_request(&args(true, &["all=1"]), &config).expect_err("conflict");
        assert_eq!(
            (e.code, e.message.as_str()),
            (1, "conflicting options: cannot specify both --all and --filter all=1")
        );
        let (f, _) = prune_request(&args(false, &["all=true"]), &config).expect("filter all");
        assert_eq!(f.to_json(), r#"{"all":{"true":true}}"#);
        let e = prune_request(&args(false, &["nokey"]), &config).expect_err("bad filter");
        assert_eq!(
            (e.code, e.message.as_str()),
            (125, "invalid argument \"nokey\" for \"--filter\" flag: bad format of filter (expected name=value)")
        );
        assert_eq!(
            UNUSED_WARNING,
            "WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?"
        );
        assert_eq!(
            prune_report(&json!({"VolumesDeleted": ["v1", "abc"], "SpaceReclaimed": 123456789})),
            "Deleted Volumes:\nv1\nabc\n\nTotal reclaimed space: 123.5MB\n"
        );
        assert_eq!(prune_report(&json!({"VolumesDeleted": [], "SpaceReclaimed": 0})), "Total reclaimed space: 0B\n");
        assert_eq!(prune_report(&json!({"VolumesDeleted": null, "SpaceReclaimed": 55})), "Total reclaimed space: 0B\n");
    }

    #[test]
    fn update_like_docker() {
        let local = volumes(&[
            r#"{"Name":"v","Driver":"local","Labels":null,"Mountpoint":"/m","Options":null,"Scope":"local"}"#,
        ]);
        assert_eq!(update_request(&local[0], Some("drain")), Err("can only update cluster volumes".into()));
        let c = volumes(&[
            r#"{"Name":"c","Driver":"csi","Scope":"global","ClusterVolume":{"ID":"abcid","Version":{"Index":42},"Spec":{"Group":"g","AccessMode":{"Scope":"single","Sharing":"none","BlockVolume":{}},"Availability":"active"}}}"#,
        ]);
        // Sent by docker 28.2 for `volume update --availability drain c`.
        let (path, body) = update_request(&c[0], Some("drain")).expect("cluster");
        assert_eq!(path, "/volumes/abcid?version=42");
        assert_eq!(
            serde_json::to_string(&body).expect("json"),
            r#"{"Spec":{"Group":"g","AccessMode":{"Scope":"single","Sharing":"none","BlockVolume":{}},"Availability":"drain"}}"#
        );
        let (_, body) = update_request(&c[0], None).expect("cluster");
        assert_eq!(body.spec.availability, "active");
    }

    /// `docker volume inspect` (28.2) of a cluster volume: Go's struct order and zero times.
    #[test]
    fn inspect_cluster_volume_like_docker() {
        let vols = volumes(&[
            r#"{"Name":"c2","Driver":"csi","Labels":{"z":"1"},"Mountpoint":"","Options":null,"Scope":"global","CreatedAt":"2025-01-01T00:00:00Z","ClusterVolume":{"Info":{"VolumeID":"vid","CapacityBytes":5,"VolumeContext":{"b":"1","a":"2"},"AccessibleTopology":[{"Segments":{"r":"x"}}]},"PublishStatus":[{"State":"published","NodeID":"n1","PublishContext":{"k":"v"}},{}],"Spec":{"Availability":"pause","CapacityRange":{"LimitBytes":9},"AccessMode":{"MountVolume":{"MountFlags":["ro"],"FsType":"ext4"},"Sharing":"all"},"Secrets":[{"Secret":"s","Key":"k"}],"AccessibilityRequirements":{"Preferred":[{"Segments":{"a":"b"}}]}},"UpdatedAt":"2025-02-01T00:00:00.123456789Z","Version":{"Index":0},"ID":"cid","Extra":1}}"#,
        ]);
        let (out, result) = render_inspect("json", &vols, vec![]);
        result.expect("ok");
        assert_eq!(
            text(out),
            r#"[{"ClusterVolume":{"ID":"cid","Version":{},"CreatedAt":"0001-01-01T00:00:00Z","UpdatedAt":"2025-02-01T00:00:00.123456789Z","Spec":{"AccessMode":{"Sharing":"all","MountVolume":{"FsType":"ext4","MountFlags":["ro"]}},"AccessibilityRequirements":{"Preferred":[{"Segments":{"a":"b"}}]},"CapacityRange":{"RequiredBytes":0,"LimitBytes":9},"Secrets":[{"Key":"k","Secret":"s"}],"Availability":"pause"},"PublishStatus":[{"NodeID":"n1","State":"published","PublishContext":{"k":"v"}},{}],"Info":{"CapacityBytes":5,"VolumeContext":{"a":"2","b":"1"},"VolumeID":"vid","AccessibleTopology":[{"Segments":{"r":"x"}}]}},"CreatedAt":"2025-01-01T00:00:00Z","Driver":"csi","Labels":{"z":"1"},"Mountpoint":"","Name":"c2","Options":null,"Scope":"global"}]
"#
        );
    }
}
