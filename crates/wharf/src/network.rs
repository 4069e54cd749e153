//! `wharf network` (`create`, `ls`, `inspect`, `rm`, `prune`, `connect`, `disconnect`)
//! with the docker CLI 28's flags, request bodies, output and errors:
//!
//! * `create` sends `POST /networks/create` with the body docker sends (Go's field
//!   order, `EnableIPv4`/`EnableIPv6` only when given, an `IPAM` section built and
//!   checked as docker's `createIPAMConfig` does: every `--ip-range`, `--gateway` and
//!   `--aux-address` must fall in one `--subnet`, subnets must not overlap) and prints
//!   the new ID;
//! * `ls` renders `NETWORK ID NAME DRIVER SCOPE` (natural name order, 12-character IDs)
//!   or docker's template fields, with `networksFormat` from `config.json`;
//! * `inspect` prints the daemon's JSON like the other inspects; `rm` asks before
//!   removing an ingress network, prints each removed name and reports errors as they
//!   happen (exit status 1 at the end); `prune` prompts and lists what went;
//! * `connect` / `disconnect` send docker's `EndpointSettings` / `Force` bodies.
//!
//! Names and IDs are trimmed and must not be empty, as the docker client checks them.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use anyhow::anyhow;
use clap::{Args, Subcommand};
use http::Method;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::cli::parse_go_bool;
use crate::config::ConfigFile;
use crate::connect::path_escape;
use crate::context::natural_cmp;
use crate::copts::{csv_fields, parse_label, parse_link};
use crate::filters::{Filters, Query};
use crate::format::{self, Format, Row, StatusError};
use crate::image::{confirm, connect, prune_filters};
use crate::ps::{label_header, rewrite_label_calls};
use crate::system::Target;
use crate::{timeutil, units};

/// `wharf network`.
#[derive(Debug, Subcommand)]
pub(crate) enum NetworkCommand {
    /// Connect a container to a network
    #[command(override_usage = "wharf network connect [OPTIONS] NETWORK CONTAINER")]
    Connect(ConnectArgs),
    /// Create a network
    #[command(override_usage = "wharf network create [OPTIONS] NETWORK")]
    Create(CreateArgs),
    /// Disconnect a container from a network
    #[command(override_usage = "wharf network disconnect [OPTIONS] NETWORK CONTAINER")]
    Disconnect(DisconnectArgs),
    /// Display detailed information on one or more networks
    #[command(override_usage = "wharf network inspect [OPTIONS] NETWORK [NETWORK...]")]
    Inspect(InspectArgs),
    /// List networks
    #[command(visible_alias = "list", override_usage = "wharf network ls [OPTIONS]")]
    Ls(LsArgs),
    /// Remove all unused networks
    #[command(override_usage = "wharf network prune [OPTIONS]")]
    Prune(PruneArgs),
    /// Remove one or more networks
    #[command(visible_alias = "remove", override_usage = "wharf network rm NETWORK [NETWORK...]")]
    Rm(RmArgs),
}

/// Runs a `wharf network` subcommand.
pub(crate) async fn run(t: &Target, config: &ConfigFile, c: &NetworkCommand) -> anyhow::Result<()> {
    match c {
        NetworkCommand::Connect(a) => network_connect(t, a).await,
        NetworkCommand::Create(a) => create(t, a).await,
        NetworkCommand::Disconnect(a) => disconnect(t, a).await,
        NetworkCommand::Inspect(a) => inspect(t, a).await,
        NetworkCommand::Ls(a) => ls(t, config, a).await,
        NetworkCommand::Prune(a) => prune(t, config, a).await,
        NetworkCommand::Rm(a) => rm(t, a).await,
    }
}

/// The docker client's `trimID`: surrounding spaces go, an empty name is an error.
pub(crate) fn trim_id<'a>(kind: &str, id: &'a str) -> Result<&'a str, String> {
    let id = id.trim();
    if id.is_empty() {
        return Err(format!("invalid {kind} name or ID: value is empty"));
    }
    Ok(id)
}

/// The values of a pflag `StringSlice` flag: each occurrence read as one CSV record
/// (an empty value adds nothing). A bad record is docker's flag error (status 125).
fn string_slice(values: &[String], flag: &str) -> Result<Vec<String>, StatusError> {
    let mut out = Vec::new();
    for v in values {
        if v.is_empty() {
            continue;
        }
        let fields = csv_fields(v)
            .map_err(|e| StatusError::new(125, format!("invalid argument {:?} for {flag:?} flag: {e}", v)))?;
        out.extend(fields);
    }
    Ok(out)
}

/// docker's `MapOpts` without a validator: `key=value` (or `key` alone, an empty value);
/// a later value for the same key wins.
pub(crate) fn map_opts(values: &[String]) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|v| match v.split_once('=') {
            Some((k, val)) => (k.to_string(), val.to_string()),
            None => (v.clone(), String::new()),
        })
        .collect()
}

pub(crate) fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// create
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Args)]
pub(crate) struct CreateArgs {
    /// Enable manual container attachment
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false",
          hide_default_value = true, value_parser = parse_go_bool, value_name = "bool")]
    pub attachable: bool,
    /// Auxiliary IPv4 or IPv6 addresses used by Network driver
    #[arg(long = "aux-address", value_name = "map")]
    pub aux_address: Vec<String>,
    /// The network from which to copy the configuration
    #[arg(long = "config-from", value_name = "string", default_value = "", hide_default_value = true)]
    pub config_from: String,
    /// Create a configuration only network
    #[arg(long = "config-only", num_args = 0..=1, require_equals = true, default_missing_value = "true",
          default_value = "false", hide_default_value = true, value_parser = parse_go_bool, value_name = "bool")]
    pub config_only: bool,
    /// Driver to manage the Network
    #[arg(short = 'd', long, value_name = "string", default_value = "bridge")]
    pub driver: String,
    /// IPv4 or IPv6 Gateway for the master subnet
    #[arg(long, value_name = "strings")]
    pub gateway: Vec<String>,
    /// Create swarm routing-mesh network
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false",
          hide_default_value = true, value_parser = parse_go_bool, value_name = "bool")]
    pub ingress: bool,
    /// Restrict external access to the network
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false",
          hide_default_value = true, value_parser = parse_go_bool, value_name = "bool")]
    pub internal: bool,
    /// Allocate container ip from a sub-range
    #[arg(long = "ip-range", value_name = "strings")]
    pub ip_range: Vec<String>,
    /// IP Address Management Driver
    #[arg(long = "ipam-driver", value_name = "string", default_value = "default")]
    pub ipam_driver: String,
    /// Set IPAM driver specific options
    #[arg(long = "ipam-opt", value_name = "map")]
    pub ipam_opt: Vec<String>,
    /// Enable or disable IPv4 address assignment (default true)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool,
          value_name = "bool")]
    pub ipv4: Option<bool>,
    /// Enable or disable IPv6 address assignment
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = parse_go_bool,
          value_name = "bool")]
    pub ipv6: Option<bool>,
    /// Set metadata on a network
    #[arg(long, value_name = "list", value_parser = parse_label)]
    pub label: Vec<String>,
    /// Set driver specific options
    #[arg(short = 'o', long, value_name = "map")]
    pub opt: Vec<String>,
    /// Control the network's scope
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true)]
    pub scope: String,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long, value_name = "strings")]
    pub subnet: Vec<String>,
    #[arg(value_name = "NETWORK")]
    pub name: String,
}

/// docker's `network.CreateRequest` as its client encodes it, fields in Go's order.
#[derive(Debug, PartialEq, Serialize)]
pub(crate) struct CreateRequest {
    #[serde(rename = "Driver")]
    driver: String,
    #[serde(rename = "Scope")]
    scope: String,
    #[serde(rename = "EnableIPv4", skip_serializing_if = "Option::is_none")]
    enable_ipv4: Option<bool>,
    #[serde(rename = "EnableIPv6", skip_serializing_if = "Option::is_none")]
    enable_ipv6: Option<bool>,
    #[serde(rename = "IPAM")]
    ipam: Ipam,
    #[serde(rename = "Internal")]
    internal: bool,
    #[serde(rename = "Attachable")]
    attachable: bool,
    #[serde(rename = "Ingress")]
    ingress: bool,
    #[serde(rename = "ConfigOnly")]
    config_only: bool,
    #[serde(rename = "ConfigFrom")]
    config_from: Option<ConfigReference>,
    #[serde(rename = "Options")]
    options: BTreeMap<String, String>,
    #[serde(rename = "Labels")]
    labels: BTreeMap<String, String>,
    #[serde(rename = "Name")]
    name: String,
}

#[derive(Debug, PartialEq, Serialize)]
struct ConfigReference {
    #[serde(rename = "Network")]
    network: String,
}

#[derive(Debug, PartialEq, Serialize)]
struct Ipam {
    #[serde(rename = "Driver")]
    driver: String,
    #[serde(rename = "Options")]
    options: BTreeMap<String, String>,
    #[serde(rename = "Config")]
    config: Vec<IpamConfig>,
}

/// One subnet of `IPAM.Config` (`omitempty` fields).
#[derive(Debug, Default, PartialEq, Serialize)]
struct IpamConfig {
    #[serde(rename = "Subnet", skip_serializing_if = "String::is_empty")]
    subnet: String,
    #[serde(rename = "IPRange", skip_serializing_if = "String::is_empty")]
    ip_range: String,
    #[serde(rename = "Gateway", skip_serializing_if = "String::is_empty")]
    gateway: String,
    #[serde(rename = "AuxiliaryAddresses", skip_serializing_if = "BTreeMap::is_empty")]
    aux_addresses: BTreeMap<String, String>,
}

/// A network as Go's `net.ParseCIDR` returns it: the masked address and the prefix.
#[derive(Debug, Clone, Copy)]
struct GoNet {
    addr: IpAddr,
    bits: u32,
}

/// Go's `net.ParseCIDR`: the address as written and its network.
fn parse_cidr(s: &str) -> Result<(IpAddr, GoNet), String> {
    let err = || format!("invalid CIDR address: {s}");
    let (addr, mask) = s.split_once('/').ok_or_else(err)?;
    let ip: IpAddr = addr.parse().map_err(|_| err())?;
    // Go's dtoi: decimal digits (leading zeros allowed), nothing else.
    if mask.is_empty() || mask.len() > 8 || !mask.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err());
    }
    let bits: u32 = mask.parse().map_err(|_| err())?;
    let net = match ip {
        IpAddr::V4(a) if bits <= 32 => {
            let m = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) if bits <= 128 => {
            let m = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
        _ => return Err(err()),
    };
    Ok((ip, GoNet { addr: net, bits }))
}

/// Go's `IP.To4`: an IPv4 address, or an IPv4-mapped IPv6 one.
fn to4(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(a) => a.to_ipv4_mapped(),
    }
}

/// Go's `IPNet.Contains` (`None` is a nil IP: never contained).
fn net_contains(n: &GoNet, ip: Option<IpAddr>) -> bool {
    let Some(ip) = ip else { return false };
    let v4_match = |net: Ipv4Addr, bits: u32| {
        let m = if bits == 0 { 0 } else { u32::MAX << (32 - bits.min(32)) };
        to4(ip).is_some_and(|a| u32::from(a) & m == u32::from(net))
    };
    match n.addr {
        IpAddr::V4(net) => v4_match(net, n.bits),
        IpAddr::V6(net) => match net.to_ipv4_mapped() {
            // Go shortens a mapped network address and the last 32 bits of its mask.
            Some(net4) => v4_match(net4, n.bits.saturating_sub(96)),
            None => match ip {
                IpAddr::V6(a) if a.to_ipv4_mapped().is_none() => {
                    let m = if n.bits == 0 { 0 } else { u128::MAX << (128 - n.bits) };
                    u128::from(a) & m == u128::from(net)
                }
                _ => false,
            },
        },
    }
}

/// docker's `subnetMatches`: whether `data` (an address, or a CIDR whose address is
/// used) is inside `subnet`.
fn subnet_matches(subnet: &str, data: &str) -> Result<bool, String> {
    let (_, net) = parse_cidr(subnet).map_err(|e| format!("invalid subnet: {e}"))?;
    let ip = if data.contains('/') { Some(parse_cidr(data)?.0) } else { data.parse::<IpAddr>().ok() };
    Ok(net_contains(&net, ip))
}

/// docker's `createIPAMConfig`: one entry per subnet (in the order given), with the
/// range, gateway and auxiliary addresses that fall in it.
fn ipam_config(
    subnets: &[String],
    ranges: &[String],
    gateways: &[String],
    aux: &BTreeMap<String, String>,
) -> Result<Vec<IpamConfig>, String> {
    if subnets.len() < ranges.len() || subnets.len() < gateways.len() {
        return Err("every ip-range or gateway must have a corresponding subnet".into());
    }
    let mut data: Vec<IpamConfig> = Vec::new();
    for s in subnets {
        for k in &data {
            if subnet_matches(s, &k.subnet)? || subnet_matches(&k.subnet, s)? {
                return Err("multiple overlapping subnet configuration is not supported".into());
            }
        }
        data.push(IpamConfig { subnet: s.clone(), ..IpamConfig::default() });
    }
    let index = |data: &[IpamConfig], s: &str| data.iter().position(|d| d.subnet == s).unwrap_or(0);
    for r in ranges {
        let mut matched = false;
        for s in subnets {
            parse_cidr(r)?;
            if !subnet_matches(s, r)? {
                continue;
            }
            let i = index(&data, s);
            let d = &mut data[i];
            if !d.ip_range.is_empty() {
                return Err(format!("cannot configure multiple ranges ({r}, {}) on the same subnet ({s})", d.ip_range));
            }
            d.ip_range = r.clone();
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for range {r}"));
        }
    }
    for g in gateways {
        let mut matched = false;
        for s in subnets {
            if !subnet_matches(s, g)? {
                continue;
            }
            let i = index(&data, s);
            let d = &mut data[i];
            if !d.gateway.is_empty() {
                return Err(format!(
                    "cannot configure multiple gateways ({g}, {}) for the same subnet ({s})",
                    d.gateway
                ));
            }
            d.gateway = g.clone();
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for gateway {g}"));
        }
    }
    for (key, aa) in aux {
        let mut matched = false;
        for s in subnets {
            if !subnet_matches(s, aa)? {
                continue;
            }
            let i = index(&data, s);
            data[i].aux_addresses.insert(key.clone(), aa.clone());
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for aux-address {aa}"));
        }
    }
    Ok(data)
}

/// The body of `POST /networks/create` for the flags, or docker's error (status 125
/// for a bad flag value, 1 for an inconsistent IPAM configuration).
pub(crate) fn create_body(a: &CreateArgs) -> Result<CreateRequest, StatusError> {
    let subnets = string_slice(&a.subnet, "--subnet")?;
    let ranges = string_slice(&a.ip_range, "--ip-range")?;
    let gateways = string_slice(&a.gateway, "--gateway")?;
    let config =
        ipam_config(&subnets, &ranges, &gateways, &map_opts(&a.aux_address)).map_err(|e| StatusError::new(1, e))?;
    // docker's ConvertKVStringsToMap.
    let labels = a
        .label
        .iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (l.clone(), String::new()),
        })
        .collect();
    Ok(CreateRequest {
        driver: a.driver.clone(),
        scope: a.scope.clone(),
        enable_ipv4: a.ipv4,
        enable_ipv6: a.ipv6,
        ipam: Ipam { driver: a.ipam_driver.clone(), options: map_opts(&a.ipam_opt), config },
        internal: a.internal,
        attachable: a.attachable,
        ingress: a.ingress,
        config_only: a.config_only,
        config_from: (!a.config_from.is_empty()).then(|| ConfigReference { network: a.config_from.clone() }),
        options: map_opts(&a.opt),
        labels,
        name: a.name.clone(),
    })
}

/// `wharf network create`.
pub(crate) async fn create(t: &Target, a: &CreateArgs) -> anyhow::Result<()> {
    let body = create_body(a)?;
    let conn = connect(t).await?;
    let answer = conn.post_json("/networks/create", &body).await?;
    println!("{}", answer.get("Id").and_then(Value::as_str).unwrap_or(""));
    Ok(())
}

// ---------------------------------------------------------------------------------------
// ls
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    /// Provide filter values (e.g. "driver=bridge")
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true, help = format::FORMAT_HELP)]
    pub format: String,
    /// Do not truncate the output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only display network IDs
    #[arg(short, long)]
    pub quiet: bool,
}

const LS_COLUMNS: [&str; 4] = ["NETWORK ID", "NAME", "DRIVER", "SCOPE"];

/// Titles of the network fields in `table` templates.
fn ls_header(labels: &[String]) -> Value {
    let mut h = json!({
        "ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv4": "IPV4",
        "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT",
    });
    if !labels.is_empty() {
        h["Label"] = label_header(labels);
    }
    h
}

/// One network as a row: docker's `networkContext` fields and the default columns.
pub(crate) fn network_row(n: &Value, trunc: bool, labels: &[String]) -> Row {
    let s = |k: &str| n.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let b = |k: &str| n.get(k).and_then(Value::as_bool).unwrap_or(false).to_string();
    let id = if trunc { units::truncate_id(&s("Id")) } else { s("Id") };
    let own = n.get("Labels").and_then(Value::as_object);
    // Go ranges over the label map in random order; sorted here.
    let joined: Vec<String> =
        own.map(|m| m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))).collect()).unwrap_or_default();
    let mut data = json!({
        "CreatedAt": timeutil::go_time_string_rfc3339(&s("Created")),
        "Driver": s("Driver"),
        "ID": id,
        "IPv4": b("EnableIPv4"),
        "IPv6": b("EnableIPv6"),
        "Internal": b("Internal"),
        "Labels": joined.join(","),
        "Name": s("Name"),
        "Scope": s("Scope"),
    });
    if !labels.is_empty() {
        let m: Map<String, Value> = labels
            .iter()
            .map(|l| (l.clone(), own.and_then(|o| o.get(l)).cloned().unwrap_or_else(|| json!(""))))
            .collect();
        data["Label"] = Value::Object(m);
    }
    let cells = ["ID", "Name", "Driver", "Scope"].iter().map(|k| data[*k].as_str().unwrap_or("").to_string()).collect();
    Row { data, cells }
}

/// docker's `newFormat` for networks.
fn ls_format(source: &str, quiet: bool) -> Format {
    match source {
        "table" if quiet => Format::Template("{{.ID}}".into()),
        "table" => Format::DefaultTable,
        "raw" if quiet => Format::Template("network_id: {{.ID}}".into()),
        "raw" => {
            Format::Template("network_id: {{.ID}}\nname: {{.Name}}\ndriver: {{.Driver}}\nscope: {{.Scope}}\n".into())
        }
        // The whole context marshals as the `json` format does.
        src if src.trim() == "{{json .}}" => Format::Json,
        src => Format::parse(src),
    }
}

/// Where Go's template engine stops on a `.Label` used without its argument (a
/// method that wants one): `line:column` of the first such field.
pub(crate) fn bare_label_position(src: &str) -> Option<(usize, usize)> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    for (i, _) in src.match_indices(".Label") {
        let before = src[..i].chars().next_back();
        let after = &src[i + ".Label".len()..];
        if before.is_some_and(|c| ident(c) || c == '.' || c == '$') || after.starts_with(ident) {
            continue;
        }
        let trimmed = after.trim_start_matches([' ', '\t']);
        if after.len() > trimmed.len() && trimmed.starts_with(['"', '`']) {
            continue;
        }
        let line_start = src[..i].rfind('\n').map_or(0, |p| p + 1);
        let col = if line_start == 0 { i } else { i - line_start };
        return Some((1 + src[..i].matches('\n').count(), col));
    }
    None
}

/// Checks a `ls` template and rewrites its `.Label "k"` calls (docker's label lookups) into
/// fields; the label keys asked for, or `None` when a bad `.Label` call meets an empty list
/// (docker prints nothing then, and fails only when a row would be rendered).
pub(crate) fn label_template(format: &mut Format, empty: bool) -> anyhow::Result<Option<Vec<String>>> {
    let mut labels = Vec::new();
    if let Format::Table(t) | Format::Template(t) = format {
        format::parse_template(t).map_err(anyhow::Error::msg)?;
        match rewrite_label_calls(t) {
            Ok((rewritten, l)) => {
                *t = rewritten;
                labels = l;
            }
            Err(e) => {
                if empty {
                    return Ok(None);
                }
                let (line, col) = bare_label_position(t).unwrap_or((1, 0));
                return Err(anyhow!(
                    "template parsing error: template: :{line}:{col}: executing \"\" at <.Label>: {e}"
                ));
            }
        }
    }
    Ok(Some(labels))
}

/// Renders `network ls` for the daemon's list (sorted here, in natural name order).
pub(crate) fn render_ls(list: &[Value], source: &str, quiet: bool, trunc: bool) -> anyhow::Result<Vec<u8>> {
    let mut list: Vec<&Value> = list.iter().collect();
    let name = |n: &Value| n.get("Name").and_then(Value::as_str).unwrap_or("").to_string();
    list.sort_by(|a, b| natural_cmp(&name(a), &name(b)));
    let mut format = ls_format(source, quiet);
    let Some(labels) = label_template(&mut format, list.is_empty())? else { return Ok(Vec::new()) };
    let rows: Vec<Row> = list.iter().map(|n| network_row(n, trunc, &labels)).collect();
    let mut out = Vec::new();
    format::write_list(&mut out, &format, &ls_header(&labels), &LS_COLUMNS, &rows)?;
    Ok(out)
}

/// `wharf network ls`.
pub(crate) async fn ls(t: &Target, config: &ConfigFile, a: &LsArgs) -> anyhow::Result<()> {
    let filters = Filters::parse(&a.filter).map_err(|e| StatusError::new(125, e))?;
    let source = match (a.format.as_str(), config.get_str("networksFormat")) {
        ("", Some(f)) if !a.quiet => f.to_string(),
        ("", _) => "table".to_string(),
        (f, _) => f.to_string(),
    };
    let conn = connect(t).await?;
    let mut q = Query::default();
    if !filters.is_empty() {
        q.add("filters", &filters.to_json());
    }
    let list = conn.raw_json(Method::GET, &format!("/networks{}", q.encode())).await?;
    let list = list.as_array().cloned().unwrap_or_default();
    write_stdout(&render_ls(&list, &source, a.quiet, !a.no_trunc)?)
}

// ---------------------------------------------------------------------------------------
// inspect
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    #[arg(short = 'f', long, value_name = "string", default_value = "", hide_default_value = true, help = format::INSPECT_FORMAT_HELP)]
    pub format: String,
    /// Verbose output for diagnostics
    #[arg(short = 'v', long)]
    pub verbose: bool,
    #[arg(value_name = "NETWORK", required = true)]
    pub networks: Vec<String>,
}

/// `wharf network inspect`.
pub(crate) async fn inspect(t: &Target, a: &InspectArgs) -> anyhow::Result<()> {
    if !matches!(a.format.as_str(), "" | "json") {
        format::parse_template(&a.format).map_err(|e| StatusError::new(64, e))?;
    }
    let conn = connect(t).await?;
    let query = if a.verbose { "?verbose=true" } else { "" };
    let mut raws = Vec::new();
    let mut errors = Vec::new();
    for name in &a.networks {
        let id = match trim_id("network", name) {
            Ok(id) => id,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        match conn.raw_bytes(Method::GET, &format!("/networks/{}{query}", path_escape(id))).await {
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
// rm
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct RmArgs {
    /// Do not error if the network does not exist
    #[arg(short, long)]
    pub force: bool,
    #[arg(value_name = "NETWORK", required = true)]
    pub networks: Vec<String>,
}

const INGRESS_WARNING: &str = "WARNING! Before removing the routing-mesh network, make sure all the nodes in your swarm run the same docker engine version. Otherwise, removal may not be effective and functionality of newly create ingress networks will be impaired.\nAre you sure you want to continue?";

/// `wharf network rm`: one network after the other; errors are printed as they
/// happen and make the exit status 1 (`exit status 1` is printed last, as docker does).
pub(crate) async fn rm(t: &Target, a: &RmArgs) -> anyhow::Result<()> {
    let conn = connect(t).await?;
    let mut failed = false;
    for name in &a.networks {
        let id = match trim_id("network", name) {
            Ok(id) => path_escape(id),
            Err(e) => {
                eprintln!("{e}");
                failed = true;
                continue;
            }
        };
        if let Ok(n) = conn.raw_json(Method::GET, &format!("/networks/{id}")).await {
            if n.get("Ingress").and_then(Value::as_bool) == Some(true) && !confirm(INGRESS_WARNING)? {
                continue;
            }
        }
        match conn.raw_bytes(Method::DELETE, &format!("/networks/{id}")).await {
            Ok(_) => println!("{name}"),
            Err(e) if a.force && e.status == Some(404) => {}
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    if failed {
        return Err(StatusError::new(1, "exit status 1").into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// prune
// ---------------------------------------------------------------------------------------

#[derive(Debug, Args)]
pub(crate) struct PruneArgs {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

const PRUNE_WARNING: &str =
    "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?";

/// What `network prune` prints for the daemon's answer (nothing when nothing went).
pub(crate) fn prune_report(answer: &Value) -> String {
    let deleted: Vec<&str> = answer
        .get("NetworksDeleted")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if deleted.is_empty() {
        return String::new();
    }
    let mut out = "Deleted Networks:\n".to_string();
    for n in deleted {
        out.push_str(n);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// `wharf network prune`.
pub(crate) async fn prune(t: &Target, config: &ConfigFile, a: &PruneArgs) -> anyhow::Result<()> {
    let filters = Filters::parse_flag(&a.filter, "--filter").map_err(|e| StatusError::new(125, e))?;
    let filters = prune_filters(filters, config);
    if !a.force && !confirm(PRUNE_WARNING)? {
        return Ok(());
    }
    let conn = connect(t).await?;
    let mut q = Query::default();
    if !filters.is_empty() {
        q.add("filters", &filters.to_json());
    }
    let answer = conn.raw_json(Method::POST, &format!("/networks/prune{}", q.encode())).await?;
    write_stdout(prune_report(&answer).as_bytes())
}

// ---------------------------------------------------------------------------------------
// connect / disconnect
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Args)]
pub(crate) struct ConnectArgs {
    /// Add network-scoped alias for the container
    #[arg(long, value_name = "strings")]
    pub alias: Vec<String>,
    /// driver options for the network
    #[arg(long = "driver-opt", value_name = "strings")]
    pub driver_opt: Vec<String>,
    #[arg(long = "gw-priority", value_name = "int",
          help = "Highest gw-priority provides the default gateway. Accepts positive and negative values.", default_value_t = 0, hide_default_value = true,
          allow_hyphen_values = true, value_parser = crate::copts::parse_go_int)]
    pub gw_priority: i64,
    /// IPv4 address (e.g., "172.30.100.104")
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true)]
    pub ip: String,
    /// IPv6 address (e.g., "2001:db8::33")
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true)]
    pub ip6: String,
    /// Add link to another container
    #[arg(long, value_name = "list", value_parser = parse_link)]
    pub link: Vec<String>,
    /// Add a link-local address for the container
    #[arg(long = "link-local-ip", value_name = "strings")]
    pub link_local_ip: Vec<String>,
    #[arg(value_name = "NETWORK")]
    pub network: String,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// docker's `NetworkConnect` body.
#[derive(Debug, PartialEq, Serialize)]
pub(crate) struct ConnectRequest {
    #[serde(rename = "Container")]
    container: String,
    #[serde(rename = "EndpointConfig")]
    endpoint_config: EndpointSettings,
}

/// `EndpointSettings` with every field docker's client sends, in Go's order.
#[derive(Debug, PartialEq, Serialize)]
struct EndpointSettings {
    #[serde(rename = "IPAMConfig")]
    ipam_config: EndpointIpamConfig,
    #[serde(rename = "Links")]
    links: Option<Vec<String>>,
    #[serde(rename = "Aliases")]
    aliases: Vec<String>,
    #[serde(rename = "MacAddress")]
    mac_address: String,
    #[serde(rename = "DriverOpts")]
    driver_opts: BTreeMap<String, String>,
    #[serde(rename = "GwPriority")]
    gw_priority: i64,
    #[serde(rename = "NetworkID")]
    network_id: String,
    #[serde(rename = "EndpointID")]
    endpoint_id: String,
    #[serde(rename = "Gateway")]
    gateway: String,
    #[serde(rename = "IPAddress")]
    ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    ip_prefix_len: i64,
    #[serde(rename = "IPv6Gateway")]
    ipv6_gateway: String,
    #[serde(rename = "GlobalIPv6Address")]
    global_ipv6_address: String,
    #[serde(rename = "GlobalIPv6PrefixLen")]
    global_ipv6_prefix_len: i64,
    #[serde(rename = "DNSNames")]
    dns_names: Option<Vec<String>>,
}

#[derive(Debug, PartialEq, Serialize)]
struct EndpointIpamConfig {
    #[serde(rename = "IPv4Address", skip_serializing_if = "String::is_empty")]
    ipv4_address: String,
    #[serde(rename = "IPv6Address", skip_serializing_if = "String::is_empty")]
    ipv6_address: String,
    #[serde(rename = "LinkLocalIPs", skip_serializing_if = "Vec::is_empty")]
    link_local_ips: Vec<String>,
}

/// docker's `convertDriverOpt`: `key=value`, both trimmed, the key not empty.
fn driver_opts(opts: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for opt in opts {
        match opt.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                out.insert(k.trim().to_string(), v.trim().to_string());
            }
            _ => return Err("invalid key/value pair format in driver options".into()),
        }
    }
    Ok(out)
}

/// The network (trimmed) and the body of `POST /networks/{id}/connect`.
pub(crate) fn connect_body(a: &ConnectArgs) -> Result<(String, ConnectRequest), StatusError> {
    let aliases = string_slice(&a.alias, "--alias")?;
    let opts = string_slice(&a.driver_opt, "--driver-opt")?;
    let link_local_ips = string_slice(&a.link_local_ip, "--link-local-ip")?;
    let driver_opts = driver_opts(&opts).map_err(|e| StatusError::new(1, e))?;
    let network = trim_id("network", &a.network).map_err(|e| StatusError::new(1, e))?;
    let container = trim_id("container", &a.container).map_err(|e| StatusError::new(1, e))?;
    let body = ConnectRequest {
        container: container.to_string(),
        endpoint_config: EndpointSettings {
            ipam_config: EndpointIpamConfig { ipv4_address: a.ip.clone(), ipv6_address: a.ip6.clone(), link_local_ips },
            links: (!a.link.is_empty()).then(|| a.link.clone()),
            aliases,
            mac_address: String::new(),
            driver_opts,
            gw_priority: a.gw_priority,
            network_id: String::new(),
            endpoint_id: String::new(),
            gateway: String::new(),
            ip_address: String::new(),
            ip_prefix_len: 0,
            ipv6_gateway: String::new(),
            global_ipv6_address: String::new(),
            global_ipv6_prefix_len: 0,
            dns_names: None,
        },
    };
    Ok((network.to_string(), body))
}

/// `wharf network connect`.
pub(crate) async fn network_connect(t: &Target, a: &ConnectArgs) -> anyhow::Result<()> {
    let (network, body) = connect_body(a)?;
    let conn = connect(t).await?;
    conn.post_json(&format!("/networks/{}/connect", path_escape(&network)), &body).await?;
    Ok(())
}

#[derive(Debug, Args)]
pub(crate) struct DisconnectArgs {
    /// Force the container to disconnect from a network
    #[arg(short, long)]
    pub force: bool,
    #[arg(value_name = "NETWORK")]
    pub network: String,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// docker's `NetworkDisconnect` body.
#[derive(Debug, PartialEq, Serialize)]
pub(crate) struct DisconnectRequest {
    #[serde(rename = "Container")]
    container: String,
    #[serde(rename = "Force")]
    force: bool,
}

/// `wharf network disconnect`.
pub(crate) async fn disconnect(t: &Target, a: &DisconnectArgs) -> anyhow::Result<()> {
    let network = trim_id("network", &a.network).map_err(anyhow::Error::msg)?;
    let container = trim_id("container", &a.container).map_err(anyhow::Error::msg)?;
    let body = DisconnectRequest { container: container.to_string(), force: a.force };
    let conn = connect(t).await?;
    conn.post_json(&format!("/networks/{}/disconnect", path_escape(network)), &body).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrap {
        #[command(subcommand)]
        c: NetworkCommand,
    }

    fn parse(args: &[&str]) -> NetworkCommand {
        let mut all = vec!["network"];
        all.extend_from_slice(args);
        Wrap::try_parse_from(all).unwrap_or_else(|e| panic!("{args:?}: {e}")).c
    }

    fn create_args(args: &[&str]) -> CreateArgs {
        let mut all = vec!["create"];
        all.extend_from_slice(args);
        match parse(&all) {
            NetworkCommand::Create(a) => a,
            other => panic!("{other:?}"),
        }
    }

    fn body(args: &[&str]) -> Result<String, (i32, String)> {
        create_body(&create_args(args))
            .map(|b| serde_json::to_string(&b).expect("json"))
            .map_err(|e| (e.code, e.message))
    }

    /// Bodies captured from docker 28.2 (`docker network create …` against a recording
    /// server), byte for byte.
    #[test]
    fn create_bodies_like_docker() {
        assert_eq!(
            body(&["n1"]).expect("body"),
            r#"{"Driver":"bridge","Scope":"","IPAM":{"Driver":"default","Options":{},"Config":[]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":{},"Labels":{},"Name":"n1"}"#
        );
        assert_eq!(
            body(&[
                "-d",
                "macvlan",
                "--subnet",
                "10.1.0.0/16",
                "--subnet",
                "fd00::/64",
                "--gateway",
                "10.1.0.1",
                "--ip-range",
                "10.1.1.0/24",
                "--internal",
                "--attachable",
                "--ipv6",
                "--label",
                "a=b",
                "--label",
                "c",
                "-o",
                "x=y",
                "-o",
                "com.z=1",
                "--ipam-driver",
                "foo",
                "--ipam-opt",
                "p=q",
                "--aux-address",
                "h1=10.1.0.5",
                "--scope",
                "local",
                "--config-only",
                "n2",
            ])
            .expect("body"),
            r#"{"Driver":"macvlan","Scope":"local","EnableIPv6":true,"IPAM":{"Driver":"foo","Options":{"p":"q"},"Config":[{"Subnet":"10.1.0.0/16","IPRange":"10.1.1.0/24","Gateway":"10.1.0.1","AuxiliaryAddresses":{"h1":"10.1.0.5"}},{"Subnet":"fd00::/64"}]},"Internal":true,"Attachable":true,"Ingress":false,"ConfigOnly":true,"ConfigFrom":null,"Options":{"com.z":"1","x":"y"},"Labels":{"a":"b","c":""},"Name":"n2"}"#
        );
        assert_eq!(
            body(&["--config-from", "n2", "--ipv4=false", "n3"]).expect("body"),
            r#"{"Driver":"bridge","Scope":"","EnableIPv4":false,"IPAM":{"Driver":"default","Options":{},"Config":[]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":{"Network":"n2"},"Options":{},"Labels":{},"Name":"n3"}"#
        );
        let b = body(&["--ipv6=false", "--ipv4", "--ingress", "x"]).expect("body");
        assert!(b.contains(r#""EnableIPv4":true,"EnableIPv6":false,"#) && b.contains(r#""Ingress":true"#), "{b}");
        // Unchecked values pass through; the last of a repeated map key wins.
        let b = body(&[
            "--subnet",
            "10.0.0.0/8",
            "--aux-address",
            "a=10.1.0.5",
            "--aux-address",
            "b=10.0.0.9",
            "--aux-address",
            "a=10.0.0.7",
            "--label",
            "a=b",
            "--label",
            "a=c",
            "-o",
            "a=b=c",
            "--ipam-opt",
            "=x",
            "--ipam-opt",
            "k",
            "-d",
            "",
            "x",
        ])
        .expect("body");
        assert_eq!(
            b,
            r#"{"Driver":"","Scope":"","IPAM":{"Driver":"default","Options":{"":"x","k":""},"Config":[{"Subnet":"10.0.0.0/8","AuxiliaryAddresses":{"a":"10.0.0.7","b":"10.0.0.9"}}]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":{"a":"b=c"},"Labels":{"a":"c"},"Name":"x"}"#
        );
        assert!(body(&["--subnet", "foo", "x"]).expect("body").contains(r#""Config":[{"Subnet":"foo"}]"#));
        assert!(body(&["--subnet", "10.0.0.5", "x"]).is_ok());
        let b = body(&["--subnet", "10.0.0.5/8", "--gateway", "10.0.0.1", "x"]).expect("body");
        assert!(b.contains(r#"[{"Subnet":"10.0.0.5/8","Gateway":"10.0.0.1"}]"#), "{b}");
        let b = body(&["--subnet", "10.0.0.0/8,11.0.0.0/8", "--subnet=", "x"]).expect("body");
        assert!(b.contains(r#"[{"Subnet":"10.0.0.0/8"},{"Subnet":"11.0.0.0/8"}]"#), "{b}");
    }

    /// docker 28.2's messages for inconsistent IPAM flags (all exit status 1).
    #[test]
    fn ipam_errors_like_docker() {
        let cases: &[(&[&str], &str)] = &[
            (&["--gateway", "10.0.0.1"], "every ip-range or gateway must have a corresponding subnet"),
            (
                &["--subnet", "10.0.0.0/8", "--subnet", "10.1.0.0/16"],
                "multiple overlapping subnet configuration is not supported",
            ),
            (&["--subnet", "10.0.0.5/8,10.1.0.0/8"], "multiple overlapping subnet configuration is not supported"),
            (&["--subnet", "10.0.0.0/8", "--gateway", "11.0.0.1"], "no matching subnet for gateway 11.0.0.1"),
            (&["--subnet", "10.0.0.0/8", "--gateway", "bogus"], "no matching subnet for gateway bogus"),
            (&["--subnet", "foo", "--gateway", "1.2.3.4"], "invalid subnet: invalid CIDR address: foo"),
            (&["--subnet", "10.0.0.0/8", "--subnet", "foo"], "invalid subnet: invalid CIDR address: foo"),
            (&["--subnet", "foo", "--subnet", "10.0.0.0/8"], "invalid subnet: invalid CIDR address: foo"),
            (
                &["--subnet", "10.0.0.0/8", "--ip-range", "10.1.0.0/16", "--ip-range", "10.2.0.0/16"],
                "every ip-range or gateway must have a corresponding subnet",
            ),
            (
                &[
                    "--subnet",
                    "10.0.0.0/8",
                    "--ip-range",
                    "10.1.0.0/16",
                    "--subnet",
                    "11.0.0.0/8",
                    "--ip-range",
                    "10.2.0.0/16",
                ],
                "cannot configure multiple ranges (10.2.0.0/16, 10.1.0.0/16) on the same subnet (10.0.0.0/8)",
            ),
            (
                &["--subnet", "10.0.0.0/8", "--gateway", "10.0.0.1", "--subnet", "11.0.0.0/8", "--gateway", "10.0.0.2"],
                "cannot configure multiple gateways (10.0.0.2, 10.0.0.1) for the same subnet (10.0.0.0/8)",
            ),
            (&["--subnet", "10.0.0.0/8", "--ip-range", "11.1.0.0/16"], "no matching subnet for range 11.1.0.0/16"),
            (&["--subnet", "10.0.0.0/8", "--ip-range", "bogus"], "invalid CIDR address: bogus"),
            (&["--subnet", "10.0.0.0/8", "--ip-range", "10.1.0.5"], "invalid CIDR address: 10.1.0.5"),
            (&["--subnet", "10.0.0.0/8", "--aux-address", "a=11.0.0.1"], "no matching subnet for aux-address 11.0.0.1"),
            (&["--subnet", "10.0.0.0/8", "--aux-address", "a=zz"], "no matching subnet for aux-address zz"),
            (&["--subnet", "10.0.0.0/8", "--aux-address", "a"], "no matching subnet for aux-address "),
            (&["--aux-address", "a=10.0.0.1"], "no matching subnet for aux-address 10.0.0.1"),
        ];
        for (args, want) in cases {
            let mut all = args.to_vec();
            all.push("x");
            assert_eq!(body(&all), Err((1, want.to_string())), "{args:?}");
        }
    }

    #[test]
    fn go_cidr_semantics() {
        assert!(subnet_matches("10.0.0.0/8", "10.255.0.1").expect("ok"));
        assert!(subnet_matches("10.0.0.0/8", "::ffff:10.1.2.3").expect("ok"));
        assert!(!subnet_matches("10.0.0.0/8", "fd00::1").expect("ok"));
        assert!(subnet_matches("fd00::/64", "fd00::5").expect("ok"));
        assert!(!subnet_matches("fd00::/64", "10.0.0.1").expect("ok"));
        assert!(subnet_matches("::ffff:10.0.0.0/104", "10.1.2.3").expect("ok"));
        assert!(subnet_matches("0.0.0.0/0", "1.2.3.4").expect("ok"));
        assert!(subnet_matches("10.0.0.0/008", "10.1.2.3").expect("leading zeros"));
        assert_eq!(
            subnet_matches("10.0.0.0/33", "1.2.3.4"),
            Err("invalid subnet: invalid CIDR address: 10.0.0.0/33".into())
        );
        assert_eq!(
            subnet_matches("010.0.0.0/8", "1.2.3.4"),
            Err("invalid subnet: invalid CIDR address: 010.0.0.0/8".into())
        );
        assert_eq!(
            subnet_matches("10.0.0.0/+8", "1.2.3.4"),
            Err("invalid subnet: invalid CIDR address: 10.0.0.0/+8".into())
        );
        assert_eq!(subnet_matches("10.0.0.0/8", "1.2.3.4/x"), Err("invalid CIDR address: 1.2.3.4/x".into()));
        assert!(!subnet_matches("10.0.0.0/8", "").expect("nil ip"));
    }

    #[test]
    fn flag_values() {
        assert_eq!(
            string_slice(&["a,b".into(), "".into(), "\"c,d\"".into()], "--alias").expect("csv"),
            ["a", "b", "c,d"]
        );
        let e = string_slice(&["\"a".into()], "--alias").expect_err("bad csv");
        assert_eq!(e.code, 125);
        assert!(e.message.starts_with("invalid argument \"\\\"a\" for \"--alias\" flag: parse error"), "{}", e.message);
        for bad in [
            &["create", "--label", "", "x"][..],
            &["create", "--label", "a b=c", "x"],
            &["create"],
            &["create", "a", "b"],
        ] {
            let mut all = vec!["network"];
            all.extend_from_slice(bad);
            assert!(Wrap::try_parse_from(all).is_err(), "{bad:?}");
        }
        assert_eq!(parse_label(" a=b").as_deref(), Ok(" a=b"));
        assert_eq!(parse_label("a b=c"), Err("label 'a b' contains whitespaces".into()));
        assert_eq!(parse_label("=c"), Err("invalid label '=c': empty name".into()));
        assert_eq!(trim_id("network", " n1 "), Ok("n1"));
        assert_eq!(trim_id("container", " "), Err("invalid container name or ID: value is empty".into()));
    }

    fn sample() -> Vec<Value> {
        vec![
            json!({"Name":"none","Id":"3".repeat(64),"Created":"0001-01-01T00:00:00Z","Scope":"local","Driver":"null","EnableIPv4":true,"EnableIPv6":false,"Internal":false,"Labels":null}),
            json!({"Name":"my-net-with-a-long-name","Id":"2".repeat(64),"Created":"2025-06-02T13:04:05.5Z","Scope":"local","Driver":"macvlan","EnableIPv4":true,"EnableIPv6":true,"Internal":true,"Labels":{"b":"2","a":"1 & <x>"}}),
            json!({"Name":"bridge","Id":"1".repeat(64),"Created":"2025-01-02T03:04:05.123456789Z","Scope":"local","Driver":"bridge","EnableIPv4":true,"EnableIPv6":false,"Internal":false,"Labels":{}}),
            json!({"Name":"net10","Id":"4".repeat(64),"Created":"2025-01-02T03:04:05Z","Scope":"local","Driver":"bridge"}),
            json!({"Name":"net9","Id":"5".repeat(64),"Created":"2025-01-02T03:04:05Z","Scope":"local","Driver":"bridge"}),
        ]
    }

    fn text(out: Vec<u8>) -> String {
        String::from_utf8(out).expect("utf8")
    }

    /// `docker network ls` (28.2) output for the same daemon answer, byte for byte.
    #[test]
    fn ls_table_like_docker() {
        assert_eq!(
            text(render_ls(&sample(), "table", false, true).expect("render")),
            "\
NETWORK ID     NAME                      DRIVER    SCOPE
111111111111   bridge                    bridge    local
222222222222   my-net-with-a-long-name   macvlan   local
555555555555   net9                      bridge    local
444444444444   net10                     bridge    local
333333333333   none                      null      local
"
        );
        let out = text(render_ls(&sample()[2..3], "table", false, false).expect("render"));
        assert_eq!(
            out,
            format!(
                "NETWORK ID{}NAME      DRIVER    SCOPE\n{}   bridge    bridge    local\n",
                " ".repeat(57),
                "1".repeat(64)
            )
        );
        assert_eq!(
            text(render_ls(&sample(), "table", true, true).expect("quiet")),
            "111111111111\n222222222222\n555555555555\n444444444444\n333333333333\n"
        );
        assert_eq!(
            text(render_ls(&[], "table", false, true).expect("empty")),
            "NETWORK ID   NAME      DRIVER    SCOPE\n"
        );
        assert_eq!(
            text(render_ls(&sample()[..1], "raw", false, true).expect("raw")),
            "network_id: 333333333333\nname: none\ndriver: null\nscope: local\n\n"
        );
        assert_eq!(text(render_ls(&sample()[..1], "raw", true, true).expect("raw")), "network_id: 333333333333\n");
    }

    /// `docker network ls --format json` lines (28.2).
    #[test]
    fn ls_json_like_docker() {
        let out = text(render_ls(&sample()[..3], "json", false, true).expect("render"));
        assert_eq!(
            out,
            r#"{"CreatedAt":"2025-01-02 03:04:05.123456789 +0000 UTC","Driver":"bridge","ID":"111111111111","IPv4":"true","IPv6":"false","Internal":"false","Labels":"","Name":"bridge","Scope":"local"}
{"CreatedAt":"2025-06-02 13:04:05.5 +0000 UTC","Driver":"macvlan","ID":"222222222222","IPv4":"true","IPv6":"true","Internal":"true","Labels":"a=1 \u0026 \u003cx\u003e,b=2","Name":"my-net-with-a-long-name","Scope":"local"}
{"CreatedAt":"0001-01-01 00:00:00 +0000 UTC","Driver":"null","ID":"333333333333","IPv4":"true","IPv6":"false","Internal":"false","Labels":"","Name":"none","Scope":"local"}
"#
        );
        assert_eq!(text(render_ls(&sample()[..3], " {{json .}}", false, true).expect("render")), out);
        // A daemon without `EnableIPv4` (API < 1.47): false, as Go decodes it.
        assert_eq!(network_row(&sample()[3], true, &[]).data["IPv4"], "false");
    }

    #[test]
    fn ls_templates() {
        let err = render_ls(&sample(), "x {{.Name}} {{.Label}}", false, true).expect_err("bare Label");
        assert_eq!(
            err.to_string(),
            "template parsing error: template: :1:14: executing \"\" at <.Label>: wrong number of args for Label: want 1 got 0"
        );
        assert_eq!(render_ls(&[], "{{.Label}}", false, true).expect("no rows"), b"");
        assert_eq!(bare_label_position("a\n{{.ID}} {{.Label}}"), Some((2, 10)));
        let err = render_ls(&sample(), "{{.Name", false, true).expect_err("parse");
        assert!(err.to_string().starts_with("template parsing error: "), "{err}");
        if wharf_gotmpl::Template::parse("x").and_then(|t| t.execute(&json!({}))).is_err() {
            return;
        }
        assert_eq!(
            text(
                render_ls(
                    &sample()[..3],
                    r#"table {{.ID}}\t{{.Name}}\t{{.IPv6}}\t{{.Internal}}\t{{.Labels}}\t{{.Label "a"}}\t{{.CreatedAt}}"#,
                    false,
                    true
                )
                .expect("table")
            ),
            "\
NETWORK ID     NAME                      IPV6      INTERNAL   LABELS          a         CREATED AT
111111111111   bridge                    false     false                                2025-01-02 03:04:05.123456789 +0000 UTC
222222222222   my-net-with-a-long-name   true      true       a=1 & <x>,b=2   1 & <x>   2025-06-02 13:04:05.5 +0000 UTC
333333333333   none                      false     false                                0001-01-01 00:00:00 +0000 UTC
"
        );
        assert_eq!(
            text(render_ls(&sample()[..3], r#"{{.Name}} {{.Label "b"}}"#, false, true).expect("template")),
            "bridge \nmy-net-with-a-long-name 2\nnone \n"
        );
        assert_eq!(
            text(render_ls(&sample()[..3], "{{.Name}}", true, true).expect("format wins over -q")),
            "bridge\nmy-net-with-a-long-name\nnone\n"
        );
    }

    #[test]
    fn prune_output_like_docker() {
        assert_eq!(prune_report(&json!({"NetworksDeleted": ["n1", "n2"]})), "Deleted Networks:\nn1\nn2\n\n");
        assert_eq!(prune_report(&json!({"NetworksDeleted": null})), "");
        assert_eq!(prune_report(&Value::Null), "");
    }

    fn connect_args(args: &[&str]) -> ConnectArgs {
        let mut all = vec!["connect"];
        all.extend_from_slice(args);
        match parse(&all) {
            NetworkCommand::Connect(a) => a,
            other => panic!("{other:?}"),
        }
    }

    /// Bodies captured from docker 28.2 `network connect`.
    #[test]
    fn connect_bodies_like_docker() {
        let (net, b) = connect_body(&connect_args(&[
            "--alias",
            "a1",
            "--alias",
            "a2,a3",
            "--ip",
            "10.0.0.5",
            "--ip6",
            "fd00::5",
            "--link",
            "c1:al",
            "--link-local-ip",
            "169.254.1.1",
            "--driver-opt",
            "k=v",
            "--driver-opt",
            "x=y",
            "n",
            "c",
        ]))
        .expect("body");
        assert_eq!(net, "n");
        assert_eq!(
            serde_json::to_string(&b).expect("json"),
            r#"{"Container":"c","EndpointConfig":{"IPAMConfig":{"IPv4Address":"10.0.0.5","IPv6Address":"fd00::5","LinkLocalIPs":["169.254.1.1"]},"Links":["c1:al"],"Aliases":["a1","a2","a3"],"MacAddress":"","DriverOpts":{"k":"v","x":"y"},"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}"#
        );
        let (net, b) = connect_body(&connect_args(&["--gw-priority", "-5", " n ", " c "])).expect("body");
        assert_eq!(net, "n");
        assert_eq!(
            serde_json::to_string(&b).expect("json"),
            r#"{"Container":"c","EndpointConfig":{"IPAMConfig":{},"Links":null,"Aliases":[],"MacAddress":"","DriverOpts":{},"GwPriority":-5,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}"#
        );
        let e = connect_body(&connect_args(&["--driver-opt", "x", "n", "c"])).expect_err("bad opt");
        assert_eq!((e.code, e.message.as_str()), (1, "invalid key/value pair format in driver options"));
        let e = connect_body(&connect_args(&["--driver-opt", " =v", "n", "c"])).expect_err("empty key");
        assert_eq!(e.message, "invalid key/value pair format in driver options");
        let e = connect_body(&connect_args(&["", "c"])).expect_err("empty network");
        assert_eq!(e.message, "invalid network name or ID: value is empty");
        let e = connect_body(&connect_args(&["n", ""])).expect_err("empty container");
        assert_eq!(e.message, "invalid container name or ID: value is empty");
        assert!(Wrap::try_parse_from(["network", "connect", "--link", "a:b:c", "n", "c"]).is_err());
        assert!(Wrap::try_parse_from(["network", "connect", "n"]).is_err());
        assert!(Wrap::try_parse_from(["network", "connect", "--mac-address", "x", "n", "c"]).is_err());
        let d = DisconnectRequest { container: "c".into(), force: true };
        assert_eq!(serde_json::to_string(&d).expect("json"), r#"{"Container":"c","Force":true}"#);
    }

    #[test]
    fn parses_network_commands() {
        for args in [
            &["ls"][..],
            &["list", "-q", "--no-trunc", "-f", "driver=bridge", "--filter", "name=x", "--format", "json"],
            &["inspect", "-v", "-f", "{{.Name}}", "a", "b"],
            &["rm", "-f", "a", "b"],
            &["remove", "a"],
            &["prune", "-f", "--filter", "until=1h"],
            &["disconnect", "-f", "n", "c"],
            &["create", "--internal=false", "--attachable", "--ipv6", "n"],
        ] {
            parse(args);
        }
        for bad in [&["ls", "x"][..], &["rm"], &["inspect"], &["prune", "x"], &["disconnect", "n"], &["prune", "-q"]] {
            let mut all = vec!["network"];
            all.extend_from_slice(bad);
            assert!(Wrap::try_parse_from(all).is_err(), "{bad:?}");
        }
        match parse(&["create", "--internal=false", "n"]) {
            NetworkCommand::Create(a) => assert!(!a.internal && a.ipv4.is_none() && a.driver == "bridge"),
            other => panic!("{other:?}"),
        }
    }
}
