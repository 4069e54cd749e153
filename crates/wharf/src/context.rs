//! Contexts, stored exactly where and how the docker CLI stores them so both tools
//! share them:
//!
//! * `<config>/contexts/meta/<sha256(name)>/meta.json`:
//!   `{"Name":"x","Metadata":{"Description":"…"},"Endpoints":{"docker":{"Host":"…","SkipTLSVerify":false}}}`
//! * `<config>/contexts/tls/<sha256(name)>/docker/{ca,cert,key}.pem`
//! * the current context as `currentContext` in `<config>/config.json`.
//!
//! Also the `wharf context` commands: create, ls, use, rm, inspect, show, update.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::cli::{parse_go_bool, ClientOptions, Env};
use crate::config::{atomic_write, ConfigFile};
use crate::connect::{self, Endpoint};
use crate::format::{self, Format, Row};

/// The built-in context, computed from flags and the environment.
pub(crate) const DEFAULT_CONTEXT: &str = "default";
/// Name of the Docker API endpoint inside a context.
pub(crate) const DOCKER_ENDPOINT: &str = "docker";
/// Description `context ls` shows for the default context (docker 28).
pub(crate) const DEFAULT_DESCRIPTION: &str = "Current DOCKER_HOST based configuration";
const NAME_PATTERN: &str = "^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$";
const IN_MEMORY: &str = "<IN MEMORY>";
/// TLS file names inside `tls/<id>/<endpoint>/`.
pub(crate) const CA_FILE: &str = "ca.pem";
pub(crate) const CERT_FILE: &str = "cert.pem";
pub(crate) const KEY_FILE: &str = "key.pem";

// ---------------------------------------------------------------------------------------
// Store
// ---------------------------------------------------------------------------------------

/// A context's `meta.json`. Unknown metadata fields and endpoint types are kept as-is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Metadata {
    #[serde(rename = "Name", alias = "name", default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(rename = "Metadata", alias = "metadata", default, skip_serializing_if = "Value::is_null")]
    pub metadata: Value,
    #[serde(rename = "Endpoints", alias = "endpoints", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub endpoints: BTreeMap<String, Value>,
}

/// The `docker` endpoint of a context (docker's `docker.EndpointMeta`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct DockerEndpointMeta {
    #[serde(rename = "Host", skip_serializing_if = "String::is_empty")]
    pub host: String,
    #[serde(rename = "SkipTLSVerify")]
    pub skip_tls_verify: bool,
}

/// Looks a key up case-insensitively, as Go's `encoding/json` matches struct fields.
fn get_ci<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).or_else(|| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

impl Metadata {
    /// A new context's metadata with a `docker` endpoint.
    pub(crate) fn new(name: &str, description: &str, ep: &DockerEndpointMeta) -> Metadata {
        let mut md = Map::new();
        if !description.is_empty() {
            md.insert("Description".into(), Value::String(description.into()));
        }
        let mut endpoints = BTreeMap::new();
        endpoints.insert(DOCKER_ENDPOINT.to_string(), ep.to_value());
        Metadata { name: name.into(), metadata: Value::Object(md), endpoints }
    }

    /// The metadata object (docker's `DockerContext`); an error if it is not an object.
    fn docker_context(&self) -> Result<Map<String, Value>, String> {
        match &self.metadata {
            Value::Null => Ok(Map::new()),
            Value::Object(m) => Ok(m.clone()),
            _ => Err("context metadata is not a valid DockerContext".into()),
        }
    }

    /// The context's description (empty when unset).
    pub(crate) fn description(&self) -> Result<String, String> {
        let m = self.docker_context()?;
        Ok(get_ci(&m, "Description").and_then(Value::as_str).unwrap_or_default().to_string())
    }

    /// Sets the description, keeping other metadata fields.
    pub(crate) fn set_description(&mut self, d: &str) -> Result<(), String> {
        let mut m = self.docker_context()?;
        m.retain(|k, _| !k.eq_ignore_ascii_case("Description"));
        if !d.is_empty() {
            m.insert("Description".into(), Value::String(d.into()));
        }
        self.metadata = Value::Object(m);
        Ok(())
    }

    /// docker's `EndpointFromContext`.
    pub(crate) fn docker_endpoint(&self) -> Result<DockerEndpointMeta, String> {
        let ep = self.endpoints.get(DOCKER_ENDPOINT).ok_or("cannot find docker endpoint in context")?;
        let m = ep.as_object().ok_or_else(|| format!("endpoint {DOCKER_ENDPOINT:?} is not of type EndpointMeta"))?;
        Ok(DockerEndpointMeta {
            host: get_ci(m, "Host").and_then(Value::as_str).unwrap_or_default().to_string(),
            skip_tls_verify: get_ci(m, "SkipTLSVerify").and_then(Value::as_bool).unwrap_or(false),
        })
    }
}

impl DockerEndpointMeta {
    fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// TLS files of one endpoint, as bytes (docker's `EndpointTLSData`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TlsData {
    pub ca: Option<Vec<u8>>,
    pub cert: Option<Vec<u8>>,
    pub key: Option<Vec<u8>>,
}

impl TlsData {
    /// docker's `TLSDataFromFiles`: reads the given files; `None` when none is given.
    pub(crate) fn from_files(
        ca: Option<&Path>,
        cert: Option<&Path>,
        key: Option<&Path>,
    ) -> Result<Option<TlsData>, String> {
        fn read(p: Option<&Path>) -> Result<Option<Vec<u8>>, String> {
            match p {
                Some(p) if !p.as_os_str().is_empty() => {
                    fs::read(p).map(Some).map_err(|e| format!("open {}: {}", p.display(), io_text(&e)))
                }
                _ => Ok(None),
            }
        }
        let d = TlsData { ca: read(ca)?, cert: read(cert)?, key: read(key)? };
        if d.ca.is_none() && d.cert.is_none() && d.key.is_none() {
            return Ok(None);
        }
        if let Some(key) = &d.key {
            let text = String::from_utf8_lossy(key);
            if text.contains("Proc-Type: 4,ENCRYPTED") || text.contains("BEGIN ENCRYPTED PRIVATE KEY") {
                return Err("encrypted TLS private keys are not supported".into());
            }
        }
        Ok(Some(d))
    }

    fn files(&self) -> Vec<(&'static str, &Vec<u8>)> {
        let mut out = Vec::new();
        if let Some(b) = &self.ca {
            out.push((CA_FILE, b));
        }
        if let Some(b) = &self.cert {
            out.push((CERT_FILE, b));
        }
        if let Some(b) = &self.key {
            out.push((KEY_FILE, b));
        }
        out
    }
}

/// Go's text for common I/O errors ("no such file or directory").
pub(crate) fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            // "Is a directory (os error 21)" → "is a directory"
            let s = s.split(" (os error").next().unwrap_or(&s).to_string();
            let mut c = s.chars();
            match c.next() {
                Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
                None => s,
            }
        }
    }
}

/// A store error; `NotFound` is told apart so `create` can check for existence.
#[derive(Debug)]
pub(crate) enum StoreError {
    NotFound(String),
    Other(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::NotFound(s) | StoreError::Other(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for StoreError {}

/// Where a context's files are (`Storage` in `context inspect`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct StorageInfo {
    #[serde(rename = "MetadataPath")]
    pub metadata_path: String,
    #[serde(rename = "TLSPath")]
    pub tls_path: String,
}

/// The on-disk context store under `<config>/contexts`.
#[derive(Debug, Clone)]
pub(crate) struct ContextStore {
    root: PathBuf,
}

/// sha256 hex of a context name: its directory name.
pub(crate) fn context_id(name: &str) -> String {
    hex::encode(Sha256::digest(name.as_bytes()))
}

/// docker's `store.ValidateContextName`.
pub(crate) fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("context name cannot be empty".into());
    }
    if name == DEFAULT_CONTEXT {
        return Err(format!("{DEFAULT_CONTEXT:?} is a reserved context name"));
    }
    let b = name.as_bytes();
    let first_ok = b[0].is_ascii_alphanumeric();
    let rest_ok =
        b.len() >= 2 && b[1..].iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'+' | b'-'));
    if !(first_ok && rest_ok) {
        return Err(format!("context name {name:?} is invalid, names are validated against regexp {NAME_PATTERN:?}"));
    }
    Ok(())
}

impl ContextStore {
    /// The store of the config directory `config_dir`.
    pub(crate) fn new(config_dir: &Path) -> ContextStore {
        ContextStore { root: config_dir.join("contexts") }
    }

    fn meta_root(&self) -> PathBuf {
        self.root.join("meta")
    }

    /// `<root>/meta/<id>`.
    pub(crate) fn meta_dir(&self, name: &str) -> PathBuf {
        self.meta_root().join(context_id(name))
    }

    /// `<root>/tls/<id>`.
    pub(crate) fn tls_dir(&self, name: &str) -> PathBuf {
        self.root.join("tls").join(context_id(name))
    }

    /// Path of one TLS file of a context endpoint.
    pub(crate) fn tls_file(&self, name: &str, endpoint: &str, file: &str) -> PathBuf {
        self.tls_dir(name).join(endpoint).join(file)
    }

    /// Reads a context's metadata.
    pub(crate) fn get(&self, name: &str) -> Result<Metadata, StoreError> {
        let path = self.meta_dir(name).join("meta.json");
        let bytes = fs::read(&path).map_err(|e| {
            let msg = format!("open {}: {}", path.display(), io_text(&e));
            if e.kind() == std::io::ErrorKind::NotFound {
                StoreError::NotFound(format!("context {name:?}: context not found: {msg}"))
            } else {
                StoreError::Other(format!("load context {name:?}: {msg}"))
            }
        })?;
        parse_meta(&bytes)
            .map_err(|e| StoreError::Other(format!("load context {name:?}: parsing {}: {e}", path.display())))
    }

    /// All stored contexts, in natural name order.
    pub(crate) fn list(&self) -> Result<Vec<Metadata>, String> {
        let mut dirs = Vec::new();
        list_meta_dirs(&self.meta_root(), &mut dirs).map_err(|e| format!("failed to read metadata: {e}"))?;
        let mut out = Vec::new();
        for dir in dirs {
            let path = dir.join("meta.json");
            let bytes = match fs::read(&path) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(format!("failed to read metadata: open {}: {}", path.display(), io_text(&e))),
            };
            let m =
                parse_meta(&bytes).map_err(|e| format!("failed to read metadata: parsing {}: {e}", path.display()))?;
            out.push(m);
        }
        out.sort_by(|a, b| natural_cmp(&a.name, &b.name));
        Ok(out)
    }

    /// Writes a context's metadata (creating its directory).
    pub(crate) fn create_or_update(&self, meta: &Metadata) -> anyhow::Result<()> {
        if meta.name == DEFAULT_CONTEXT {
            bail!("default context cannot be created nor updated");
        }
        let dir = self.meta_dir(&meta.name);
        mkdir_all(&dir, 0o755)?;
        let bytes = format::go_json(meta)?;
        atomic_write(&dir.join("meta.json"), bytes.as_bytes(), 0o644)
    }

    /// Removes a context's metadata and TLS files.
    pub(crate) fn remove(&self, name: &str) -> anyhow::Result<()> {
        if name == DEFAULT_CONTEXT {
            bail!("default context cannot be removed");
        }
        remove_all(&self.meta_dir(name)).map_err(|e| anyhow!("failed to remove metadata: {e}"))?;
        remove_all(&self.tls_dir(name)).map_err(|e| anyhow!("failed to remove TLS data: {e}"))?;
        Ok(())
    }

    /// Replaces all TLS material of a context.
    pub(crate) fn reset_tls(&self, name: &str, endpoints: &BTreeMap<String, TlsData>) -> anyhow::Result<()> {
        remove_all(&self.tls_dir(name))?;
        for (ep, data) in endpoints {
            self.write_endpoint_tls(name, ep, data)?;
        }
        Ok(())
    }

    /// Replaces the TLS material of one endpoint (`None` removes it).
    pub(crate) fn reset_endpoint_tls(&self, name: &str, endpoint: &str, data: Option<&TlsData>) -> anyhow::Result<()> {
        remove_all(&self.tls_dir(name).join(endpoint))?;
        if let Some(d) = data {
            self.write_endpoint_tls(name, endpoint, d)?;
        }
        Ok(())
    }

    fn write_endpoint_tls(&self, name: &str, endpoint: &str, data: &TlsData) -> anyhow::Result<()> {
        let files = data.files();
        if files.is_empty() {
            return Ok(());
        }
        let dir = self.tls_dir(name).join(endpoint);
        mkdir_all(&dir, 0o700)?;
        for (file, bytes) in files {
            atomic_write(&dir.join(file), bytes, 0o600)?;
        }
        Ok(())
    }

    /// Reads all TLS files of a context, by endpoint.
    pub(crate) fn tls_data(&self, name: &str) -> anyhow::Result<BTreeMap<String, TlsData>> {
        let mut out = BTreeMap::new();
        for (ep, files) in self.list_tls_files(name)? {
            let dir = self.tls_dir(name).join(&ep);
            let mut d = TlsData::default();
            for f in files {
                let bytes = fs::read(dir.join(&f))?;
                match f.as_str() {
                    CA_FILE => d.ca = Some(bytes),
                    CERT_FILE => d.cert = Some(bytes),
                    KEY_FILE => d.key = Some(bytes),
                    _ => {}
                }
            }
            out.insert(ep, d);
        }
        Ok(out)
    }

    /// Lists TLS files by endpoint (docker's `ListTLSFiles`).
    pub(crate) fn list_tls_files(&self, name: &str) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
        let mut out = BTreeMap::new();
        let dir = self.tls_dir(name);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e.into()),
        };
        for entry in entries {
            let entry = entry?;
            if !entry.file_type()?.is_dir() {
                continue;
            }
            let mut files: Vec<String> = fs::read_dir(entry.path())?
                .filter_map(Result::ok)
                .filter(|e| e.file_type().map(|t| !t.is_dir()).unwrap_or(false))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            files.sort();
            out.insert(entry.file_name().to_string_lossy().into_owned(), files);
        }
        Ok(out)
    }

    /// Storage paths shown by `context inspect`.
    pub(crate) fn storage_info(&self, name: &str) -> StorageInfo {
        if name == DEFAULT_CONTEXT {
            return StorageInfo { metadata_path: IN_MEMORY.into(), tls_path: IN_MEMORY.into() };
        }
        StorageInfo {
            metadata_path: self.meta_dir(name).display().to_string(),
            tls_path: self.tls_dir(name).display().to_string(),
        }
    }
}

fn parse_meta(bytes: &[u8]) -> Result<Metadata, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("json: {e}"))?;
    let Value::Object(m) = v else {
        return Err("json: cannot unmarshal into Go value of type store.untypedContextMetadata".into());
    };
    let name = get_ci(&m, "Name").and_then(Value::as_str).unwrap_or_default().to_string();
    let metadata = get_ci(&m, "Metadata").cloned().unwrap_or(Value::Null);
    if !(metadata.is_null() || metadata.is_object()) {
        return Err("json: cannot unmarshal into Go value of type map[string]interface {}".into());
    }
    let endpoints = match get_ci(&m, "Endpoints") {
        Some(Value::Object(eps)) => eps.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Some(Value::Null) | None => BTreeMap::new(),
        Some(_) => return Err("json: cannot unmarshal into Go value of type map[string]json.RawMessage".into()),
    };
    Ok(Metadata { name, metadata, endpoints })
}

fn list_meta_dirs(root: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let entries = match fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .map(|e| e.path())
        .collect();
    dirs.sort();
    for d in dirs {
        if d.join("meta.json").is_file() {
            out.push(d.clone());
        }
        list_meta_dirs(&d, out)?;
    }
    Ok(())
}

fn mkdir_all(dir: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
        .map_err(|e| anyhow!("mkdir {}: {}", dir.display(), io_text(&e)))
}

fn remove_all(p: &Path) -> anyhow::Result<()> {
    match fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow!("unlinkat {}: {}", p.display(), io_text(&e))),
    }
}

/// Natural ordering (`github.com/fvbommel/sortorder.NaturalLess`): digit runs compare
/// numerically, and digits sort before other characters.
pub(crate) fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (s1, s2) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < s1.len() && j < s2.len() {
        let (c1, c2) = (s1[i], s2[j]);
        let (d1, d2) = (c1.is_ascii_digit(), c2.is_ascii_digit());
        if d1 != d2 {
            return if d1 { Ordering::Less } else { Ordering::Greater };
        }
        if !d1 {
            if c1 != c2 {
                return c1.cmp(&c2);
            }
            i += 1;
            j += 1;
            continue;
        }
        while i < s1.len() && s1[i] == b'0' {
            i += 1;
        }
        while j < s2.len() && s2[j] == b'0' {
            j += 1;
        }
        let (nz1, nz2) = (i, j);
        while i < s1.len() && s1[i].is_ascii_digit() {
            i += 1;
        }
        while j < s2.len() && s2[j].is_ascii_digit() {
            j += 1;
        }
        let (l1, l2) = (i - nz1, j - nz2);
        if l1 != l2 {
            return l1.cmp(&l2);
        }
        let (n1, n2) = (&s1[nz1..i], &s2[nz2..j]);
        if n1 != n2 {
            return n1.cmp(n2);
        }
        if nz1 != nz2 {
            return nz1.cmp(&nz2);
        }
    }
    (i < s1.len()).cmp(&(j < s2.len())).then(s1.len().cmp(&s2.len()))
}

// ---------------------------------------------------------------------------------------
// Resolution helpers shared with connect.rs
// ---------------------------------------------------------------------------------------

/// The default context's metadata and TLS data, from flags and the environment
/// (docker's `resolveDefaultContext`).
pub(crate) fn default_context(opts: &ClientOptions, env: &Env) -> Result<(Metadata, Option<TlsData>), String> {
    let (ep, tls) = connect::default_endpoint_meta(opts, env)?;
    let mut endpoints = BTreeMap::new();
    endpoints.insert(DOCKER_ENDPOINT.to_string(), ep.to_value());
    Ok((Metadata { name: DEFAULT_CONTEXT.into(), metadata: json!({}), endpoints }, tls))
}

/// Metadata of any context, `default` included (docker's `ContextStoreWithDefault`).
pub(crate) fn get_metadata(
    store: &ContextStore,
    name: &str,
    opts: &ClientOptions,
    env: &Env,
) -> Result<Metadata, String> {
    if name == DEFAULT_CONTEXT {
        return default_context(opts, env).map(|(m, _)| m);
    }
    store.get(name).map_err(|e| e.to_string())
}

/// docker's `resolveContextName`: `--context`, else `default` when `-H` or `DOCKER_HOST`
/// is set, else `DOCKER_CONTEXT`, else `currentContext` from config.json, else `default`.
pub(crate) fn resolve_context_name(opts: &ClientOptions, env: &Env, cfg: &ConfigFile) -> String {
    if let Some(c) = &opts.context {
        return c.clone();
    }
    if !opts.hosts.is_empty() || env.docker_host.is_some() {
        return DEFAULT_CONTEXT.into();
    }
    if let Some(c) = &env.docker_context {
        return c.clone();
    }
    if let Some(c) = cfg.current_context() {
        return c.to_string();
    }
    DEFAULT_CONTEXT.into()
}

// ---------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------

/// `wharf context`.
#[derive(Debug, Subcommand)]
pub(crate) enum ContextCommand {
    /// Create a context
    #[command(long_about = create_long_help("create"), after_help = create_example("create"))]
    Create(CreateArgs),
    /// Display detailed information on one or more contexts
    Inspect(InspectArgs),
    /// List contexts
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Remove one or more contexts
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Print the name of the current context
    Show,
    /// Update a context
    #[command(long_about = create_long_help("update"), after_help = create_example("update"))]
    Update(UpdateArgs),
    /// Set the current wharf context
    Use(UseArgs),
}

fn create_long_help(verb: &str) -> String {
    let mut s =
        format!("{} a context\n\nDocker endpoint config:\n\n", if verb == "create" { "Create" } else { "Update" });
    let mut tw = format::go_tabwriter(Vec::new(), 20, 3);
    let _ = writeln!(tw, "NAME\tDESCRIPTION");
    for (k, d) in [
        ("from", "Copy named context's Docker endpoint configuration"),
        ("host", "Docker endpoint on which to connect"),
        ("ca", "Trust certs signed only by this CA"),
        ("cert", "Path to TLS certificate file"),
        ("key", "Path to TLS key file"),
        ("skip-tls-verify", "Skip TLS certificate validation"),
    ] {
        let _ = writeln!(tw, "{k}\t{d}");
    }
    let _ = tw.flush();
    s.push_str(&String::from_utf8_lossy(&tw.into_inner().unwrap_or_default()));
    s
}

fn create_example(verb: &str) -> String {
    format!(
        "Example:\n\n$ wharf context {verb} my-context --description \"some description\" --docker \"host=tcp://myserver:2376,ca=~/ca-file,cert=~/cert-file,key=~/key-file\""
    )
}

/// Parses one `--docker` value: comma-separated `key=value` pairs, CSV-quoted like
/// pflag's `StringToString`.
fn parse_string_to_string(s: &str) -> Result<Vec<(String, String)>, String> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    let mut at_start = true;
    let mut quoted = false;
    let mut col = 0usize;
    while let Some(c) = chars.next() {
        col += 1;
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    col += 1;
                    cur.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
            continue;
        }
        match c {
            ',' => {
                fields.push(std::mem::take(&mut cur));
                at_start = true;
                continue;
            }
            '"' if at_start => quoted = true,
            '"' => return Err(format!("parse error on line 1, column {col}: bare \" in non-quoted-field")),
            c => cur.push(c),
        }
        at_start = false;
    }
    if quoted {
        return Err(format!("parse error on line 1, column {col}: extraneous or missing \" in quoted-field"));
    }
    fields.push(cur);
    fields
        .into_iter()
        .map(|f| match f.split_once('=') {
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None => Err(format!("{f} must be formatted as key=value")),
        })
        .collect()
}

fn docker_flag_parser(s: &str) -> Result<Vec<(String, String)>, String> {
    parse_string_to_string(s)
}

/// Merges repeated `--docker` values into one map (later keys win).
fn merge_docker_flags(v: &Option<Vec<Vec<(String, String)>>>) -> Option<BTreeMap<String, String>> {
    v.as_ref().map(|all| all.iter().flatten().cloned().collect())
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// Description of the context
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true)]
    description: String,
    /// set the docker endpoint
    #[arg(long, value_name = "stringToString", value_parser = docker_flag_parser)]
    docker: Option<Vec<Vec<(String, String)>>>,
    /// create context from a named context
    #[arg(long, value_name = "string")]
    from: Option<String>,
    #[arg(value_name = "CONTEXT")]
    name: String,
}

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    #[arg(short = 'f', long, value_name = "string", default_value = "", hide_default_value = true, help = format::INSPECT_FORMAT_HELP)]
    format: String,
    #[arg(value_name = "CONTEXT")]
    names: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true, help = format::FORMAT_HELP)]
    format: String,
    /// Only show context names
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RmArgs {
    /// Force the removal of a context in use
    #[arg(short, long)]
    force: bool,
    #[arg(value_name = "CONTEXT", required = true)]
    names: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct UpdateArgs {
    /// Description of the context
    #[arg(long, value_name = "string", default_value = "", hide_default_value = true)]
    description: String,
    /// set the docker endpoint
    #[arg(long, value_name = "stringToString", value_parser = docker_flag_parser)]
    docker: Option<Vec<Vec<(String, String)>>>,
    #[arg(value_name = "CONTEXT")]
    name: String,
}

#[derive(Debug, Args)]
pub(crate) struct UseArgs {
    #[arg(value_name = "CONTEXT")]
    name: String,
}

/// What context commands need: options, environment, store, config file and the
/// resolved current context name.
pub(crate) struct ContextEnv {
    pub opts: ClientOptions,
    pub env: Env,
    pub store: ContextStore,
    pub config: ConfigFile,
    pub current: String,
}

impl ContextEnv {
    pub(crate) fn new(opts: ClientOptions, env: Env) -> ContextEnv {
        let store = ContextStore::new(&opts.config_dir);
        let config = ConfigFile::load(&opts.config_dir);
        let current = resolve_context_name(&opts, &env, &config);
        ContextEnv { opts, env, store, config, current }
    }

    fn metadata(&self, name: &str) -> Result<Metadata, String> {
        get_metadata(&self.store, name, &self.opts, &self.env)
    }

    fn docker_host_warning(&self, what: &str) {
        if self.env.docker_host.is_some() {
            eprintln!(
                "Warning: DOCKER_HOST environment variable overrides the active context. To use {what}, either set the global --context flag, or unset DOCKER_HOST environment variable."
            );
        }
    }
}

/// Runs a `wharf context` subcommand.
pub(crate) fn run(cmd: &ContextCommand, cx: &mut ContextEnv) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match cmd {
        ContextCommand::Create(a) => create(cx, a, &mut out),
        ContextCommand::Ls(a) => list(cx, a, &mut out),
        ContextCommand::Use(a) => use_context(cx, &a.name, &mut out),
        ContextCommand::Rm(a) => remove(cx, a, &mut out),
        ContextCommand::Inspect(a) => inspect(cx, a, &mut out),
        ContextCommand::Show => {
            let m = cx.metadata(&cx.current).map_err(anyhow::Error::msg)?;
            writeln!(out, "{}", m.name)?;
            Ok(())
        }
        ContextCommand::Update(a) => update(cx, a, &mut out),
    }
}

/// Builds the `docker` endpoint and its TLS data from `--docker key=value` settings
/// (docker's `getDockerEndpointMetadataAndTLS`).
fn endpoint_from_flags(
    cx: &ContextEnv,
    cfg: &BTreeMap<String, String>,
) -> Result<(DockerEndpointMeta, Option<TlsData>), String> {
    let allowed = ["from", "host", "ca", "cert", "key", "skip-tls-verify"];
    let unknown: Vec<String> = cfg
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(|k| format!("unrecognized config key: {k}"))
        .collect();
    if !unknown.is_empty() {
        return Err(unknown.join("\n"));
    }
    if let Some(from) = cfg.get("from") {
        let m = cx.metadata(from)?;
        let ep = m.docker_endpoint().map_err(|_| format!("unable to get endpoint from context {from:?}"))?;
        return Ok((ep, None));
    }
    let path = |k: &str| cfg.get(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let (ca, cert, key) = (path("ca"), path("cert"), path("key"));
    let tls = TlsData::from_files(ca.as_deref(), cert.as_deref(), key.as_deref())?;
    let skip = match cfg.get("skip-tls-verify") {
        Some(v) => parse_go_bool(v).map_err(|e| format!("skip-tls-verify: {e}"))?,
        None => false,
    };
    let host = cfg.get("host").cloned().unwrap_or_default();
    if !host.is_empty() && !host.contains("://") {
        return Err(format!("unable to apply docker endpoint options: unable to parse docker host `{host}`"));
    }
    Ok((DockerEndpointMeta { host, skip_tls_verify: skip }, tls))
}

fn create(cx: &mut ContextEnv, a: &CreateArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    validate_name(&a.name).map_err(anyhow::Error::msg)?;
    match cx.store.get(&a.name) {
        Err(StoreError::NotFound(_)) => {}
        Err(StoreError::Other(e)) => bail!("error while getting existing contexts: {e}"),
        Ok(_) => bail!("context {:?} already exists", a.name),
    }
    let docker = merge_docker_flags(&a.docker);
    match (&a.from, docker) {
        (Some(_), Some(d)) if !d.is_empty() => bail!("cannot use --docker flag when --from is set"),
        (None, Some(d)) => {
            let (ep, tls) =
                endpoint_from_flags(cx, &d).map_err(|e| anyhow!("unable to create docker endpoint config: {e}"))?;
            let meta = Metadata::new(&a.name, &a.description, &ep);
            cx.store.create_or_update(&meta)?;
            let mut tls_map = BTreeMap::new();
            if let Some(t) = tls {
                tls_map.insert(DOCKER_ENDPOINT.to_string(), t);
            }
            cx.store.reset_tls(&a.name, &tls_map)?;
        }
        (from, _) => {
            let from = from.clone().unwrap_or_else(|| cx.current.clone());
            copy_context(cx, &from, &a.name, &a.description)?;
        }
    }
    writeln!(out, "{}", a.name)?;
    eprintln!("Successfully created context {:?}", a.name);
    Ok(())
}

/// `create --from` (or without endpoint flags): copies a context's metadata and TLS
/// files under a new name, optionally with a new description.
fn copy_context(cx: &ContextEnv, from: &str, to: &str, description: &str) -> anyhow::Result<()> {
    let (mut meta, tls) = if from == DEFAULT_CONTEXT {
        let (mut m, tls) = default_context(&cx.opts, &cx.env).map_err(anyhow::Error::msg)?;
        // docker 28 copies the default context with its displayed description.
        m.set_description(DEFAULT_DESCRIPTION).map_err(anyhow::Error::msg)?;
        let mut map = BTreeMap::new();
        if let Some(t) = tls {
            map.insert(DOCKER_ENDPOINT.to_string(), t);
        }
        (m, map)
    } else {
        let m = cx.store.get(from).map_err(|e| anyhow!("{e}"))?;
        let tls = cx.store.tls_data(from)?;
        (m, tls)
    };
    meta.docker_context().map_err(anyhow::Error::msg)?;
    if !description.is_empty() {
        meta.set_description(description).map_err(anyhow::Error::msg)?;
    }
    meta.name = to.to_string();
    if meta.metadata.is_null() {
        meta.metadata = json!({});
    }
    cx.store.create_or_update(&meta)?;
    cx.store.reset_tls(to, &tls)?;
    Ok(())
}

fn update(cx: &mut ContextEnv, a: &UpdateArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    validate_name(&a.name).map_err(anyhow::Error::msg)?;
    let mut meta = cx.store.get(&a.name).map_err(|e| anyhow!("{e}"))?;
    meta.docker_context().map_err(anyhow::Error::msg)?;
    if !a.description.is_empty() {
        meta.set_description(&a.description).map_err(anyhow::Error::msg)?;
    }
    let mut new_tls = None;
    if let Some(d) = merge_docker_flags(&a.docker) {
        let (ep, tls) =
            endpoint_from_flags(cx, &d).map_err(|e| anyhow!("unable to create docker endpoint config: {e}"))?;
        meta.endpoints.insert(DOCKER_ENDPOINT.to_string(), ep.to_value());
        new_tls = Some(tls);
    }
    if meta.metadata.is_null() {
        meta.metadata = json!({});
    }
    cx.store.create_or_update(&meta)?;
    if let Some(tls) = new_tls {
        cx.store.reset_endpoint_tls(&a.name, DOCKER_ENDPOINT, tls.as_ref())?;
    }
    writeln!(out, "{}", a.name)?;
    eprintln!("Successfully updated context {:?}", a.name);
    Ok(())
}

/// docker's `formatter.Ellipsis`: cut to `max` characters, the last one being `…`.
fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// One `context ls` row.
struct ListedContext {
    name: String,
    current: bool,
    description: String,
    endpoint: String,
    error: String,
}

fn list(cx: &mut ContextEnv, a: &LsArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let stored = cx.store.list().map_err(anyhow::Error::msg)?;
    let (default_meta, _) = default_context(&cx.opts, &cx.env).map_err(anyhow::Error::msg)?;
    let mut found_current = false;
    let mut items = Vec::new();
    for meta in std::iter::once(default_meta).chain(stored) {
        let name = meta.name.clone();
        let current = name == cx.current;
        found_current |= current;
        let description = match meta.description() {
            Ok(d) => d,
            Err(e) => {
                items.push(ListedContext {
                    name,
                    current,
                    description: String::new(),
                    endpoint: String::new(),
                    error: e,
                });
                continue;
            }
        };
        let description = if name == DEFAULT_CONTEXT { DEFAULT_DESCRIPTION.to_string() } else { description };
        let (endpoint, error) = match meta.docker_endpoint() {
            Ok(ep) => (ep.host, String::new()),
            Err(e) => (String::new(), e),
        };
        items.push(ListedContext { name, current, description, endpoint, error });
    }
    if !found_current {
        let error = match cx.metadata(&cx.current) {
            Ok(_) => String::new(),
            Err(e) => e,
        };
        items.push(ListedContext {
            name: cx.current.clone(),
            current: true,
            description: String::new(),
            endpoint: String::new(),
            error,
        });
    }
    items.sort_by(|x, y| natural_cmp(&x.name, &y.name));

    let rows: Vec<Row> = items
        .iter()
        .map(|c| {
            let error = ellipsis(&c.error, 45);
            Row {
                data: json!({
                    "Current": c.current,
                    "Description": c.description,
                    "DockerEndpoint": c.endpoint,
                    "Error": error,
                    "Name": c.name,
                }),
                cells: vec![
                    if c.current { format!("{} *", c.name) } else { c.name.clone() },
                    c.description.clone(),
                    c.endpoint.clone(),
                    error,
                ],
            }
        })
        .collect();
    let format = if a.quiet && (a.format.is_empty() || a.format == "table") {
        Format::Template("{{.Name}}".into())
    } else {
        Format::parse(&a.format)
    };
    if a.quiet && matches!(format, Format::Template(ref t) if t == "{{.Name}}") {
        // Plain names need no template engine.
        for r in &rows {
            writeln!(out, "{}", r.data["Name"].as_str().unwrap_or_default())?;
        }
    } else {
        let header = json!({
            "Name": "NAME",
            "Description": "DESCRIPTION",
            "DockerEndpoint": "DOCKER ENDPOINT",
            "Error": "ERROR",
        });
        format::write_list(out, &format, &header, &["NAME", "DESCRIPTION", "DOCKER ENDPOINT", "ERROR"], &rows)?;
    }
    if cx.env.docker_host.is_some() {
        eprintln!(
            "Warning: DOCKER_HOST environment variable overrides the active context. To use a context, either set the global --context flag, or unset DOCKER_HOST environment variable."
        );
    }
    Ok(())
}

fn use_context(cx: &mut ContextEnv, name: &str, out: &mut dyn Write) -> anyhow::Result<()> {
    let value = if name == DEFAULT_CONTEXT {
        None
    } else {
        validate_name(name).map_err(anyhow::Error::msg)?;
        cx.store.get(name).map_err(|e| anyhow!("{e}"))?;
        Some(name)
    };
    if cx.config.current_context() != value {
        cx.config.set_current_context(value);
        cx.config.save()?;
    }
    writeln!(out, "{name}")?;
    eprintln!("Current context is now {name:?}");
    if name != DEFAULT_CONTEXT {
        cx.docker_host_warning(&format!("{name:?}"));
    }
    Ok(())
}

fn remove(cx: &mut ContextEnv, a: &RmArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut errs = Vec::new();
    for name in &a.names {
        if name == DEFAULT_CONTEXT {
            errs.push(format!("context {DEFAULT_CONTEXT:?} cannot be removed"));
            continue;
        }
        match remove_one(cx, name, *name == cx.current, a.force) {
            Ok(()) => writeln!(out, "{name}")?,
            Err(e) => errs.push(format!("{e:#}")),
        }
    }
    if !errs.is_empty() {
        bail!("{}", errs.join("\n"));
    }
    Ok(())
}

fn remove_one(cx: &mut ContextEnv, name: &str, is_current: bool, force: bool) -> anyhow::Result<()> {
    if is_current {
        if !force {
            bail!("context {name:?} is in use, set -f flag to force remove");
        }
        cx.config.set_current_context(None);
        cx.config.save()?;
    }
    if !force && !cx.store.meta_dir(name).exists() {
        bail!("context {name:?} does not exist");
    }
    cx.store.remove(name)
}

/// `context inspect` output object (docker's `contextWithTLSListing`).
#[derive(Serialize)]
struct InspectedContext {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Metadata", skip_serializing_if = "Value::is_null")]
    metadata: Value,
    #[serde(rename = "Endpoints")]
    endpoints: BTreeMap<String, Value>,
    #[serde(rename = "TLSMaterial")]
    tls_material: BTreeMap<String, Vec<String>>,
    #[serde(rename = "Storage")]
    storage: StorageInfo,
}

fn inspect(cx: &mut ContextEnv, a: &InspectArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let names = if a.names.is_empty() { vec![cx.current.clone()] } else { a.names.clone() };
    let mut items = Vec::new();
    let mut errs = Vec::new();
    for name in &names {
        match inspect_one(cx, name) {
            Ok(i) => items.push(i),
            Err(e) => errs.push(e),
        }
    }
    format::write_inspect(out, &a.format, &items, errs)
}

fn inspect_one(cx: &ContextEnv, name: &str) -> Result<InspectedContext, String> {
    let (meta, tls_material) = if name == DEFAULT_CONTEXT {
        let (m, tls) = default_context(&cx.opts, &cx.env)?;
        let mut files = BTreeMap::new();
        if let Some(t) = tls {
            files.insert(DOCKER_ENDPOINT.to_string(), t.files().iter().map(|(f, _)| f.to_string()).collect());
        }
        (m, files)
    } else {
        let m = cx.store.get(name).map_err(|e| e.to_string())?;
        let files = cx.store.list_tls_files(name).map_err(|e| format!("{e:#}"))?;
        (m, files)
    };
    Ok(InspectedContext {
        name: meta.name.clone(),
        metadata: meta.metadata.clone(),
        endpoints: meta.endpoints.clone(),
        tls_material,
        storage: cx.store.storage_info(name),
    })
}

/// The endpoint of a stored context, with paths to its TLS files in the store.
pub(crate) fn stored_endpoint(store: &ContextStore, name: &str) -> Result<Endpoint, String> {
    let meta = store.get(name).map_err(|e| e.to_string())?;
    meta.docker_context()?;
    let ep = meta.docker_endpoint()?;
    let files = store.list_tls_files(name).map_err(|e| format!("{e:#}"))?;
    let tls = files.get(DOCKER_ENDPOINT).map(|fs| {
        let has = |f: &str| fs.iter().any(|x| x == f).then(|| store.tls_file(name, DOCKER_ENDPOINT, f));
        connect::TlsFiles { ca: has(CA_FILE), cert: has(CERT_FILE), key: has(KEY_FILE) }
    });
    Ok(Endpoint { host: ep.host, skip_tls_verify: ep.skip_tls_verify, tls })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn ids_are_sha256_of_the_name() {
        // Directory names the docker 28.2 CLI created for these names.
        assert_eq!(context_id("yy"), "ef90d9c1ec76b1edc9edfaf2c0c05359c10ccc49ae8ecf7b7fd25ce9c02e86a4");
        assert_eq!(context_id("tt"), "0e07cf830957701d43c183f1515f63e6b68027e528f43ef52b1527a520ddec82");
    }

    #[test]
    fn names() {
        assert!(validate_name("yy").is_ok());
        assert!(validate_name("my-ctx_1.2+3").is_ok());
        assert_eq!(validate_name("default").unwrap_err(), "\"default\" is a reserved context name");
        assert_eq!(
            validate_name("y").unwrap_err(),
            "context name \"y\" is invalid, names are validated against regexp \"^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$\""
        );
        assert!(validate_name("-ab").is_err());
        assert!(validate_name("a/b").is_err());
        assert!(validate_name("").is_err());
    }

    #[test]
    fn natural_order() {
        let mut v = vec!["b10", "b9", "a", "default", "B", "b09", "10", "9x"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, vec!["9x", "10", "B", "a", "b9", "b09", "b10", "default"]);
        assert_eq!(natural_cmp("abc", "abc"), Ordering::Equal);
        assert_eq!(natural_cmp("ab", "abc"), Ordering::Less);
    }

    /// A meta.json exactly as the docker 28.2 CLI writes it.
    #[test]
    fn reads_docker_written_meta() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ContextStore::new(dir.path());
        let id_dir = dir.path().join("contexts/meta").join(context_id("zz"));
        fs::create_dir_all(&id_dir).expect("mkdir");
        let docker_json = r#"{"Name":"zz","Metadata":{"Description":"zed ctx"},"Endpoints":{"docker":{"Host":"tcp://1.2.3.4:2376","SkipTLSVerify":true}}}"#;
        fs::write(id_dir.join("meta.json"), docker_json).expect("write");

        let m = store.get("zz").expect("get");
        assert_eq!(m.name, "zz");
        assert_eq!(m.description().as_deref(), Ok("zed ctx"));
        assert_eq!(
            m.docker_endpoint(),
            Ok(DockerEndpointMeta { host: "tcp://1.2.3.4:2376".into(), skip_tls_verify: true })
        );
        // Written back byte for byte the same.
        assert_eq!(format::go_json(&m).expect("json"), docker_json);
        let listed = store.list().expect("list");
        assert_eq!(listed, vec![m]);
    }

    #[test]
    fn round_trip_with_tls() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ContextStore::new(dir.path());
        let ep = DockerEndpointMeta { host: "unix:///tmp/y.sock".into(), skip_tls_verify: false };
        let meta = Metadata::new("yy", "", &ep);
        store.create_or_update(&meta).expect("create");
        let written = fs::read_to_string(dir.path().join("contexts/meta").join(context_id("yy")).join("meta.json"))
            .expect("read");
        assert_eq!(
            written,
            r#"{"Name":"yy","Metadata":{},"Endpoints":{"docker":{"Host":"unix:///tmp/y.sock","SkipTLSVerify":false}}}"#
        );

        let mut tls = BTreeMap::new();
        tls.insert(
            DOCKER_ENDPOINT.to_string(),
            TlsData { ca: Some(b"CA".to_vec()), cert: None, key: Some(b"KEY".to_vec()) },
        );
        store.reset_tls("yy", &tls).expect("tls");
        let files = store.list_tls_files("yy").expect("list");
        assert_eq!(files[DOCKER_ENDPOINT], vec!["ca.pem".to_string(), "key.pem".to_string()]);
        assert_eq!(store.tls_data("yy").expect("data"), tls);
        {
            use std::os::unix::fs::PermissionsExt;
            let mode =
                fs::metadata(store.tls_file("yy", DOCKER_ENDPOINT, KEY_FILE)).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let ep = stored_endpoint(&store, "yy").expect("endpoint");
        assert_eq!(ep.host, "unix:///tmp/y.sock");
        let t = ep.tls.expect("tls files");
        assert!(t.ca.is_some() && t.cert.is_none() && t.key.is_some());

        // Description updates keep other metadata fields.
        let mut m = store.get("yy").expect("get");
        m.metadata = json!({"GODEBUG": "x509negativeserial=1"});
        m.set_description("hello").expect("desc");
        store.create_or_update(&m).expect("update");
        assert_eq!(
            store.get("yy").expect("get").metadata,
            json!({"Description": "hello", "GODEBUG": "x509negativeserial=1"})
        );

        store.reset_endpoint_tls("yy", DOCKER_ENDPOINT, None).expect("reset");
        assert!(store.list_tls_files("yy").expect("list").is_empty());

        store.remove("yy").expect("remove");
        assert!(matches!(store.get("yy"), Err(StoreError::NotFound(_))));
        assert!(store.list().expect("list").is_empty());
        assert!(store.remove("default").is_err());
    }

    #[test]
    fn not_found_message_like_docker() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ContextStore::new(dir.path());
        let err = store.get("nonex").expect_err("missing").to_string();
        let want = format!(
            "context \"nonex\": context not found: open {}/contexts/meta/b1a53614ee27a38ca8f4072a64f7d05e0d3a658170daabec70626077bf093624/meta.json: no such file or directory",
            dir.path().display()
        );
        assert_eq!(err, want);
    }

    #[test]
    fn malformed_meta_fails_listing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ContextStore::new(dir.path());
        let d = dir.path().join("contexts/meta/abc");
        fs::create_dir_all(&d).expect("mkdir");
        fs::write(d.join("meta.json"), r#"{"Name":"bad","Metadata":"str"}"#).expect("write");
        assert!(store.list().expect_err("must fail").starts_with("failed to read metadata: parsing "));
    }

    #[test]
    fn docker_flag_values() {
        assert_eq!(
            parse_string_to_string("host=tcp://h:1,ca=/a,skip-tls-verify=true").expect("parse"),
            vec![
                ("host".into(), "tcp://h:1".into()),
                ("ca".into(), "/a".into()),
                ("skip-tls-verify".into(), "true".into())
            ]
        );
        assert_eq!(
            parse_string_to_string("\"host=unix:///a,b\",ca=/x").expect("parse"),
            vec![("host".into(), "unix:///a,b".into()), ("ca".into(), "/x".into())]
        );
        assert_eq!(parse_string_to_string("host").unwrap_err(), "host must be formatted as key=value");
        assert_eq!(
            parse_string_to_string("host=unix:///a,ca=/x\"y").unwrap_err(),
            "parse error on line 1, column 21: bare \" in non-quoted-field"
        );
        assert!(parse_string_to_string("").expect("empty").is_empty());
    }

    #[test]
    fn ellipsis_like_docker() {
        let e = "context \"nonex\": context not found: open /tmp/tmp.x/contexts/meta/abc/meta.json";
        assert_eq!(ellipsis(e, 45), "context \"nonex\": context not found: open /tm…");
        assert_eq!(ellipsis("short", 45), "short");
    }
}
