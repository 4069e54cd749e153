//! The volume service the API and the container lifecycle use ([`Volumes`]): Docker's volumes
//! as records in the daemon's database, their references (which containers use them), the
//! `local` driver's directories and mounts, volume plugins, Docker's filters, and events.
//!
//! # Tables (component `wharf-volume`, v1)
//!
//! ```text
//!  volumes                                volume_refs
//!  +-----------------------------+        +-----------------------------+
//!  | name       TEXT     PK      |<-------| volume       TEXT  PK FK    |  ON DELETE CASCADE
//!  | driver     TEXT             |        | container_id TEXT  PK       |
//!  | labels     TEXT  (JSON obj) |        +-----------------------------+
//!  | options    TEXT  (JSON obj) |          index volume_refs_container (container_id)
//!  | created_at INTEGER (Unix ns)|
//!  | scope      TEXT  local|global
//!  | mountpoint TEXT  (plugins: last known; local: '')
//!  +-----------------------------+
//! ```
//!
//! # Crash safety
//!
//! A local volume's directory is complete before its record exists (built under a `.tmp-`
//! name, synced, renamed into place), and it is moved aside (to a `.trash-` name) before its
//! record is deleted. [`Volumes::open`] therefore finds at most: `.tmp-`/`.trash-` directories
//! (removed), a directory without a record whose `_data` is empty (a create interrupted between
//! rename and insert: removed), a directory without a record whose `_data` has data (never
//! deleted: adopted as a volume, as moby's local driver adopts every directory it finds), and a
//! record whose directory is gone (a remove interrupted between the move and the delete: the
//! record is dropped, as moby's restore drops what a driver no longer has). A directory that
//! has a record is never deleted by `open`, and nothing is ever deleted through a mount point:
//! removal unmounts first and refuses to cross into another file system.
//!
//! Mount reference counts live in memory, per volume and container. After a daemon restart
//! they start empty; a local volume whose `_data` is still mounted is known to be mounted (not
//! mounted again), and the caller re-counts the volumes of running containers with
//! [`Volumes::restore_mount`] (no event, as moby's live restore).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde_json::Value;
use wharf_events::EventBus;
use wharf_store::rusqlite::{params, OptionalExtension};
use wharf_store::{Db, Migration, Tx};
use wharf_types::{Event, EventType, FilterError, Filters};

use crate::copy::dir_size;
use crate::error::{Result, VolumeError};
use crate::local::{self, LocalOptions, DATA_DIR, TMP_PREFIX, TRASH_PREFIX};
use crate::plugin::{self, Registry};

/// This crate's component name in the migrations table.
pub const COMPONENT: &str = "wharf-volume";

/// The volume tables' migrations (see the module doc for the drawing).
pub const MIGRATIONS: &[Migration] = &[Migration {
    component: COMPONENT,
    version: 1,
    sql: "
CREATE TABLE volumes (
    name       TEXT    NOT NULL PRIMARY KEY,
    driver     TEXT    NOT NULL,
    labels     TEXT    NOT NULL,
    options    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    scope      TEXT    NOT NULL,
    mountpoint TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE TABLE volume_refs (
    volume       TEXT NOT NULL REFERENCES volumes(name) ON DELETE CASCADE,
    container_id TEXT NOT NULL,
    PRIMARY KEY (volume, container_id)
) STRICT;
CREATE INDEX volume_refs_container ON volume_refs(container_id);
",
}];

/// The built-in driver.
pub const LOCAL_DRIVER: &str = "local";
/// The label of anonymous volumes (moby's `AnonymousLabel`), set on every volume created
/// without a name.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";
/// Filters accepted by [`Volumes::list`].
pub const LIST_FILTERS: &[&str] = &["dangling", "name", "driver", "label"];
/// Filters accepted by [`Volumes::prune`].
pub const PRUNE_FILTERS: &[&str] = &["label", "label!", "all"];

/// How the daemon configures volumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumesConfig {
    /// The local driver's root: `<data-root>/volumes`.
    pub root: PathBuf,
    /// Where volume plugins are looked for, in order (Docker's: `/run/docker/plugins` for
    /// sockets, `/etc/docker/plugins` and `/usr/lib/docker/plugins` for spec files; here every
    /// directory is searched for sockets first, then for specs).
    pub plugin_dirs: Vec<PathBuf>,
    /// How long a refused plugin connection is retried (Docker: 30 s).
    pub plugin_connect_retry: Duration,
}

impl VolumesConfig {
    /// Docker's defaults for the local driver rooted at `root` (`<data-root>/volumes`).
    pub fn new(root: impl Into<PathBuf>) -> VolumesConfig {
        VolumesConfig {
            root: root.into(),
            plugin_dirs: plugin::default_plugin_dirs(),
            plugin_connect_retry: Duration::from_secs(30),
        }
    }
}

/// `POST /volumes/create`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateVolume {
    /// The name; `None` (or empty): an anonymous volume with a random 64-hex name and the
    /// [`ANONYMOUS_LABEL`].
    pub name: Option<String>,
    /// The driver; empty: `local` (or, for an existing name, whatever driver it has).
    pub driver: String,
    /// Driver options (`local`: `type`, `device`, `o`, `size`).
    pub driver_opts: BTreeMap<String, String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// A volume, as inspect and list show it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Volume {
    /// Its name.
    pub name: String,
    /// Its driver (`local` or a plugin's name).
    pub driver: String,
    /// The host path: `<root>/<name>/_data` for `local`, the plugin's last answer otherwise
    /// (empty until it gave one).
    pub mountpoint: PathBuf,
    /// Creation time, Unix nanoseconds (0 when a plugin did not say).
    pub created: i64,
    /// Docker's `CreatedAt`: RFC 3339 in seconds, UTC (`2024-01-01T12:00:00Z`).
    pub created_at: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Driver options as given at creation.
    pub options: BTreeMap<String, String>,
    /// `local` or `global`.
    pub scope: String,
    /// A plugin's `Status` ([`Volumes::inspect`] only).
    pub status: Option<BTreeMap<String, Value>>,
}

/// What a container's start says about one volume mount, for Docker's `mount` event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountContext {
    /// The container's ID (also the mount's reference).
    pub container: String,
    /// The path inside the container.
    pub destination: String,
    /// Mounted read-write.
    pub read_write: bool,
    /// The mount's propagation (`rprivate`, …; may be empty).
    pub propagation: String,
}

/// A volume's row.
#[derive(Debug, Clone)]
struct Record {
    name: String,
    driver: String,
    labels: BTreeMap<String, String>,
    options: BTreeMap<String, String>,
    created: i64,
    scope: String,
    mountpoint: String,
}

impl Record {
    fn is_local(&self) -> bool {
        self.driver == LOCAL_DRIVER
    }
}

/// In-memory mount state of one volume.
#[derive(Debug, Clone, Default)]
struct MountState {
    /// Mounts per container.
    users: BTreeMap<String, u32>,
    /// A local volume with options: `_data` is mounted.
    mounted: bool,
    /// A plugin volume: the mountpoint of the current mounts.
    path: Option<PathBuf>,
}

/// Per-name serialization (moby's `locker`): operations on one volume run one at a time,
/// operations on different volumes in parallel.
#[derive(Default)]
struct NameLocks {
    held: Mutex<HashSet<String>>,
    cv: Condvar,
}

struct NameGuard<'a> {
    locks: &'a NameLocks,
    name: String,
}

impl NameLocks {
    fn lock(&self, name: &str) -> NameGuard<'_> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        while held.contains(name) {
            held = self.cv.wait(held).unwrap_or_else(|e| e.into_inner());
        }
        held.insert(name.to_string());
        NameGuard { locks: self, name: name.to_string() }
    }
}

impl Drop for NameGuard<'_> {
    fn drop(&mut self) {
        self.locks.held.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.name);
        self.locks.cv.notify_all();
    }
}

/// Resets the prune flag when a prune ends.
struct PruneGuard<'a>(&'a AtomicBool);

impl Drop for PruneGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

fn now_nanos() -> i64 {
    wharf_store::db::now_nanos()
}

/// Docker's `CreatedAt` (Go's `time.RFC3339`, UTC); Go's zero time for 0.
fn created_at(nanos: i64) -> String {
    if nanos == 0 {
        return "0001-01-01T00:00:00Z".into();
    }
    wharf_types::format_rfc3339_nanos(nanos.div_euclid(1_000_000_000) * 1_000_000_000)
}

fn to_json(m: &BTreeMap<String, String>) -> String {
    serde_json::to_string(m).unwrap_or_else(|_| "{}".into())
}

fn record_from_row(r: &wharf_store::rusqlite::Row<'_>) -> wharf_store::rusqlite::Result<(Record, String, String)> {
    Ok((
        Record {
            name: r.get(0)?,
            driver: r.get(1)?,
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
            created: r.get(4)?,
            scope: r.get(5)?,
            mountpoint: r.get(6)?,
        },
        r.get(2)?,
        r.get(3)?,
    ))
}

fn decode((mut rec, labels, options): (Record, String, String)) -> Result<Record> {
    let bad = |e: serde_json::Error| VolumeError::Corrupt { name: rec.name.clone(), message: e.to_string() };
    let labels = serde_json::from_str(&labels).map_err(bad)?;
    let options = serde_json::from_str(&options).map_err(bad)?;
    rec.labels = labels;
    rec.options = options;
    Ok(rec)
}

const SELECT: &str = "SELECT name, driver, labels, options, created_at, scope, mountpoint FROM volumes";

fn read_record(tx: &Tx<'_>, name: &str) -> Result<Option<Record>> {
    let row = tx.query_row(&format!("{SELECT} WHERE name = ?1"), params![name], record_from_row).optional()?;
    row.map(decode).transpose()
}

fn all_records(tx: &Tx<'_>) -> Result<Vec<Record>> {
    let mut st = tx.prepare(&format!("{SELECT} ORDER BY name"))?;
    let rows = st.query_map([], record_from_row)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(decode(r?)?);
    }
    Ok(out)
}

fn insert_record(tx: &Tx<'_>, r: &Record) -> Result<()> {
    tx.execute(
        "INSERT INTO volumes (name, driver, labels, options, created_at, scope, mountpoint)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![r.name, r.driver, to_json(&r.labels), to_json(&r.options), r.created, r.scope, r.mountpoint],
    )?;
    Ok(())
}

/// Records `r` unless a record of that name appeared meanwhile; returns the record in place.
fn insert_or_get(tx: &Tx<'_>, r: &Record) -> Result<Record> {
    if let Some(existing) = read_record(tx, &r.name)? {
        return Ok(existing);
    }
    insert_record(tx, r)?;
    Ok(r.clone())
}

fn refs_of(tx: &Tx<'_>, name: &str) -> Result<Vec<String>> {
    let mut st = tx.prepare("SELECT container_id FROM volume_refs WHERE volume = ?1 ORDER BY container_id")?;
    let rows = st.query_map(params![name], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

fn ref_counts(tx: &Tx<'_>) -> Result<HashMap<String, i64>> {
    let mut st = tx.prepare("SELECT volume, COUNT(*) FROM volume_refs GROUP BY volume")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// moby's `filters.Args.MatchKVList`: every `key` / `key=value` of `field` must hold; an
/// absent field matches everything, a present one never matches a volume without labels.
fn match_kv_list(f: &Filters, field: &str, labels: &BTreeMap<String, String>) -> bool {
    let mut wanted = f.get(field).peekable();
    if wanted.peek().is_none() {
        return true;
    }
    if labels.is_empty() {
        return false;
    }
    wanted.all(|w| match w.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
        None => labels.contains_key(w),
    })
}

/// moby's `GetBoolOrDefault`: `None` when `key` is absent; the error names every value.
fn filter_bool(f: &Filters, key: &str) -> std::result::Result<Option<bool>, FilterError> {
    if !f.contains(key) {
        return Ok(None);
    }
    let values: Vec<&str> = f.get(key).collect();
    let is_false = values.iter().any(|v| *v == "0" || *v == "false");
    let is_true = values.iter().any(|v| *v == "1" || *v == "true");
    if is_false == is_true {
        return Err(FilterError::BadValue { key: key.to_string(), value: values.join(",") });
    }
    Ok(Some(is_true))
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The compiled `name` filter: exact names, then Go-style regular expressions (moby's
/// `filters.Args.Match`; values that do not compile never match).
struct NameFilter {
    exact: Vec<String>,
    patterns: Vec<regex::Regex>,
}

impl NameFilter {
    fn new(f: &Filters) -> Option<NameFilter> {
        if !f.contains("name") {
            return None;
        }
        let exact: Vec<String> = f.get("name").map(str::to_string).collect();
        let patterns = exact.iter().filter_map(|p| regex::Regex::new(p).ok()).collect();
        Some(NameFilter { exact, patterns })
    }

    fn matches(&self, name: &str) -> bool {
        self.exact.iter().any(|e| e == name) || self.patterns.iter().any(|p| p.is_match(name))
    }
}

/// The volume service. Every method blocks (database, file system, mount(2), plugin calls);
/// async callers use `spawn_blocking`.
pub struct Volumes {
    db: Db,
    events: Arc<EventBus>,
    cfg: VolumesConfig,
    plugins: Registry,
    locks: NameLocks,
    mounts: Mutex<HashMap<String, MountState>>,
    pruning: AtomicBool,
}

impl std::fmt::Debug for Volumes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Volumes").field("root", &self.cfg.root).finish_non_exhaustive()
    }
}

impl Volumes {
    /// Opens the service over the daemon's database (migrated with [`MIGRATIONS`]) and the
    /// local root (created, mode 0701, if missing), and recovers from a crash as the module
    /// doc describes.
    pub fn open(db: Db, events: Arc<EventBus>, cfg: VolumesConfig) -> Result<Volumes> {
        local::ensure_root(&cfg.root)?;
        let plugins = Registry::new(cfg.plugin_dirs.clone(), cfg.plugin_connect_retry);
        let svc = Volumes {
            db,
            events,
            cfg,
            plugins,
            locks: NameLocks::default(),
            mounts: Mutex::new(HashMap::new()),
            pruning: AtomicBool::new(false),
        };
        svc.recover()?;
        Ok(svc)
    }

    /// The configuration.
    pub fn config(&self) -> &VolumesConfig {
        &self.cfg
    }

    fn volume_dir(&self, name: &str) -> PathBuf {
        self.cfg.root.join(name)
    }

    fn data_dir(&self, name: &str) -> PathBuf {
        self.cfg.root.join(name).join(DATA_DIR)
    }

    fn recover(&self) -> Result<()> {
        let records = self.db.read(all_records)?;
        let local: HashMap<&str, &Record> =
            records.iter().filter(|r| r.is_local()).map(|r| (r.name.as_str(), r)).collect();
        let entries = std::fs::read_dir(&self.cfg.root)
            .map_err(|e| VolumeError::io(format!("read {}", self.cfg.root.display()), e))?;
        let mut present: HashSet<String> = HashSet::new();
        for e in entries {
            let e = e.map_err(|e| VolumeError::io(format!("read {}", self.cfg.root.display()), e))?;
            let path = e.path();
            let Ok(name) = e.file_name().into_string() else { continue };
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if name.starts_with(TMP_PREFIX) || name.starts_with(TRASH_PREFIX) {
                if let Err(err) = local::remove_tree(&path) {
                    tracing::warn!(path = %path.display(), "removing a leftover volume directory: {err}");
                }
                continue;
            }
            if local.contains_key(name.as_str()) {
                present.insert(name);
                continue;
            }
            self.recover_orphan(&name, &path);
        }
        for r in local.values() {
            if present.contains(&r.name) {
                continue;
            }
            if self.volume_dir(&r.name).is_dir() {
                // Not a plain directory (a symlink to one): left as it is.
                continue;
            }
            tracing::warn!(volume = %r.name, "the directory of a local volume is gone; forgetting the volume");
            self.db.tx(|tx| {
                tx.execute("DELETE FROM volumes WHERE name = ?1", params![r.name])?;
                Ok::<_, VolumeError>(())
            })?;
        }
        // Mounts that outlived the daemon (its containers may still run).
        let mounted: HashSet<PathBuf> = local::mount_points().unwrap_or_default().into_iter().collect();
        let mut mounts = self.mounts.lock().unwrap_or_else(|e| e.into_inner());
        for r in self.db.read(all_records)?.iter().filter(|r| r.is_local()) {
            let needs = LocalOptions::from_map(&r.options).is_some_and(|o| o.needs_mount());
            if needs && mounted.contains(&self.data_dir(&r.name)) {
                mounts.entry(r.name.clone()).or_default().mounted = true;
            }
        }
        Ok(())
    }

    /// A directory under the root without a record.
    fn recover_orphan(&self, name: &str, path: &Path) {
        let data = path.join(DATA_DIR);
        if local::is_mount_point(&data).unwrap_or(true) {
            tracing::warn!(path = %path.display(), "a volume directory without a record is mounted; leaving it");
            return;
        }
        // Only what `create_volume_dir` makes is ever removed: `_data` (a real, empty
        // directory) and perhaps `opts.json`, nothing else.
        let ours = std::fs::symlink_metadata(&data).is_ok_and(|m| m.is_dir())
            && std::fs::read_dir(path)
                .is_ok_and(|it| it.flatten().all(|e| e.file_name() == DATA_DIR || e.file_name() == local::OPTS_FILE));
        if !ours {
            tracing::warn!(path = %path.display(), "leaving a directory that is not a volume");
            return;
        }
        match local::dir_is_empty(&data) {
            Ok(true) => {
                tracing::info!(path = %path.display(), "removing an unfinished volume directory");
                if let Err(e) = local::remove_tree(path) {
                    tracing::warn!(path = %path.display(), "removing an unfinished volume directory: {e}");
                }
            }
            Ok(false) if local::is_valid_name(name) => {
                tracing::warn!(volume = name, "adopting a volume directory that has no record");
                let options = local::load_opts(path).map(|o| local::opts_to_map(&o)).unwrap_or_default();
                let created = std::fs::metadata(path)
                    .ok()
                    .and_then(|m| {
                        use std::os::unix::fs::MetadataExt;
                        m.ctime().checked_mul(1_000_000_000).and_then(|s| s.checked_add(m.ctime_nsec()))
                    })
                    .unwrap_or_else(now_nanos);
                let rec = Record {
                    name: name.to_string(),
                    driver: LOCAL_DRIVER.into(),
                    labels: BTreeMap::new(),
                    options,
                    created,
                    scope: "local".into(),
                    mountpoint: String::new(),
                };
                if let Err(e) = self.db.tx(|tx| insert_record(tx, &rec)) {
                    tracing::warn!(volume = name, "adopting a volume directory: {e}");
                }
            }
            Ok(false) => tracing::warn!(path = %path.display(), "leaving a directory that is not a volume"),
            Err(e) => tracing::warn!(path = %path.display(), "reading a volume directory: {e}"),
        }
    }

    fn to_volume(&self, r: &Record) -> Volume {
        Volume {
            name: r.name.clone(),
            driver: r.driver.clone(),
            mountpoint: if r.is_local() { self.data_dir(&r.name) } else { PathBuf::from(&r.mountpoint) },
            created: r.created,
            created_at: created_at(r.created),
            labels: r.labels.clone(),
            options: r.options.clone(),
            scope: r.scope.clone(),
            status: None,
        }
    }

    fn publish(&self, action: &str, actor: &str, attrs: &[(&str, String)]) {
        let mut ev = Event::new(EventType::Volume, action, actor, now_nanos());
        for (k, v) in attrs {
            ev.attributes.insert((*k).to_string(), v.clone());
        }
        self.events.publish(ev);
    }

    /// The record of `name`, or — as moby's store probes every driver for a name it does not
    /// know — a volume that an available plugin has (recorded from then on). Not found:
    /// `get NAME: no such volume`.
    fn resolve(&self, name: &str) -> Result<Record> {
        if let Some(r) = self.db.read(|tx| read_record(tx, name))? {
            return Ok(r);
        }
        for p in self.plugins.all() {
            let Ok(Some(v)) = p.get(name) else { continue };
            let rec = Record {
                name: name.to_string(),
                driver: p.name().to_string(),
                labels: BTreeMap::new(),
                options: BTreeMap::new(),
                created: v
                    .created_at
                    .as_deref()
                    .and_then(|c| wharf_types::parse_timestamp(c, now_nanos()).ok())
                    .unwrap_or(0),
                scope: p.scope(),
                mountpoint: v.mountpoint,
            };
            return self.db.tx(|tx| insert_or_get(tx, &rec));
        }
        Err(VolumeError::not_found(name))
    }

    /// `docker volume create`: Docker's semantics — no name makes an anonymous volume (64
    /// random hex characters, [`ANONYMOUS_LABEL`]); an existing name returns the existing
    /// volume unchanged (its original labels and options) when the driver is the same or not
    /// given, and is a conflict otherwise. A local volume's name and options are validated
    /// with Docker's texts; its directory is complete before its record exists. Publishes
    /// `create` (attribute `driver`) for a new volume.
    pub fn create(&self, req: CreateVolume) -> Result<Volume> {
        let mut labels = req.labels;
        let name = match req.name.filter(|n| !n.is_empty()) {
            Some(n) => n,
            None => {
                labels.insert(ANONYMOUS_LABEL.into(), String::new());
                local::random_hex(32)
            }
        };
        let _g = self.locks.lock(&name);
        let existing = self.db.read(|tx| read_record(tx, &name))?;
        if let Some(rec) = existing {
            if !req.driver.is_empty() && req.driver != LOCAL_DRIVER {
                // moby resolves the asked driver first: an unknown one is reported as such.
                self.plugins.lookup(&req.driver).map_err(|e| e.op("create", &name))?;
            }
            if req.driver.is_empty() || req.driver == rec.driver {
                return Ok(self.to_volume(&rec));
            }
            return Err(VolumeError::NameConflict { driver: rec.driver, name: name.clone() }.op("create", &name));
        }
        let driver = if req.driver.is_empty() { LOCAL_DRIVER.to_string() } else { req.driver };
        let rec = if driver == LOCAL_DRIVER {
            self.create_local(&name, req.driver_opts, labels)
        } else {
            self.create_plugin(&name, &driver, req.driver_opts, labels)
        }
        .map_err(|e| e.op("create", &name))?;
        self.publish("create", &rec.name, &[("driver", rec.driver.clone())]);
        Ok(self.to_volume(&rec))
    }

    fn create_local(
        &self,
        name: &str,
        options: BTreeMap<String, String>,
        labels: BTreeMap<String, String>,
    ) -> Result<Record> {
        local::validate_name(name)?;
        local::validate_options(&options)?;
        let dir = local::create_volume_dir(&self.cfg.root, name, LocalOptions::from_map(&options).as_ref())?;
        let rec = Record {
            name: name.to_string(),
            driver: LOCAL_DRIVER.into(),
            labels,
            options,
            created: now_nanos(),
            scope: "local".into(),
            mountpoint: String::new(),
        };
        if let Err(e) = self.db.tx(|tx| insert_record(tx, &rec)) {
            if let Err(rm) = local::remove_tree(&dir) {
                tracing::warn!(volume = name, "removing the directory of a volume not recorded: {rm}");
            }
            return Err(e);
        }
        Ok(rec)
    }

    fn create_plugin(
        &self,
        name: &str,
        driver: &str,
        options: BTreeMap<String, String>,
        labels: BTreeMap<String, String>,
    ) -> Result<Record> {
        let p = self.plugins.lookup(driver)?;
        // As moby: a volume the driver already has is taken over, not created again.
        let existing = p.get(name)?;
        if existing.is_none() {
            p.create(name, &options)?;
        }
        let rec = Record {
            name: name.to_string(),
            driver: driver.to_string(),
            labels,
            options,
            created: now_nanos(),
            scope: p.scope(),
            mountpoint: existing.map(|v| v.mountpoint).unwrap_or_default(),
        };
        self.db.tx(|tx| insert_record(tx, &rec))?;
        Ok(rec)
    }

    /// A volume by name, from its record (no plugin call when it has one). Not found:
    /// `get NAME: no such volume` (404).
    pub fn get(&self, name: &str) -> Result<Volume> {
        Ok(self.to_volume(&self.resolve(name)?))
    }

    /// `docker volume inspect`: [`Volumes::get`], plus, for a plugin volume, the plugin's
    /// current `Status` and mountpoint (`VolumeDriver.Get`); a plugin that no longer has the
    /// volume makes it vanish (its record is dropped, as moby purges it).
    pub fn inspect(&self, name: &str) -> Result<Volume> {
        let _g = self.locks.lock(name);
        let rec = self.resolve(name)?;
        let mut v = self.to_volume(&rec);
        if rec.is_local() {
            return Ok(v);
        }
        let checking = |e: VolumeError| {
            VolumeError::Plugin(format!(
                "error while checking if volume {} exists in driver {}: {e}",
                wharf_types::go_quote(name),
                wharf_types::go_quote(&rec.driver)
            ))
            .op("get", name)
        };
        let p = self.plugins.lookup(&rec.driver).map_err(checking)?;
        match p.get(name).map_err(checking)? {
            Some(pv) => {
                if !pv.mountpoint.is_empty() {
                    v.mountpoint = PathBuf::from(&pv.mountpoint);
                }
                v.status = Some(pv.status.unwrap_or_default());
                Ok(v)
            }
            None => {
                self.db.tx(|tx| {
                    tx.execute("DELETE FROM volumes WHERE name = ?1", params![name])?;
                    Ok::<_, VolumeError>(())
                })?;
                Err(VolumeError::not_found(name))
            }
        }
    }

    /// `docker volume ls` with Docker's filters (`dangling`, `driver`, `label` as `key` or
    /// `key=value`, `name` as moby matches it: exact, or a regular expression found anywhere in
    /// the name), sorted by name. Volumes that plugins report and that have no record are
    /// included, as Docker lists every driver's volumes.
    pub fn list(&self, filters: &Filters) -> Result<Vec<Volume>> {
        filters.validate(LIST_FILTERS)?;
        let dangling = filter_bool(filters, "dangling")?;
        let names = NameFilter::new(filters);
        let (records, refs) = self.db.read(|tx| Ok::<_, VolumeError>((all_records(tx)?, ref_counts(tx)?)))?;
        let mut out: Vec<(Volume, bool)> =
            records.iter().map(|r| (self.to_volume(r), refs.get(&r.name).copied().unwrap_or(0) > 0)).collect();
        let known: HashSet<String> = records.iter().map(|r| r.name.clone()).collect();
        let drivers: Vec<&str> = filters.get("driver").collect();
        for p in self.plugins.all_where(|n| drivers.is_empty() || drivers.contains(&n)) {
            match p.list() {
                Ok(vols) => {
                    for pv in vols.into_iter().filter(|pv| !known.contains(&pv.name)) {
                        let created = pv
                            .created_at
                            .as_deref()
                            .and_then(|c| wharf_types::parse_timestamp(c, now_nanos()).ok())
                            .unwrap_or(0);
                        let v = Volume {
                            name: pv.name,
                            driver: p.name().to_string(),
                            mountpoint: PathBuf::from(pv.mountpoint),
                            created,
                            created_at: created_at(created),
                            scope: p.scope(),
                            ..Default::default()
                        };
                        out.push((v, false));
                    }
                }
                Err(e) => tracing::warn!(plugin = p.name(), "listing a volume plugin's volumes: {e}"),
            }
        }
        out.retain(|(v, in_use)| {
            (drivers.is_empty() || drivers.contains(&v.driver.as_str()))
                && names.as_ref().is_none_or(|n| n.matches(&v.name))
                && match_kv_list(filters, "label", &v.labels)
                && dangling.is_none_or(|d| d != *in_use)
        });
        let mut vols: Vec<Volume> = out.into_iter().map(|(v, _)| v).collect();
        vols.sort_by(|a, b| a.name.cmp(&b.name));
        vols.dedup_by(|a, b| a.name == b.name);
        Ok(vols)
    }

    /// `docker volume rm [-f]`: refused while containers reference the volume
    /// (`remove NAME: volume is in use - [ID, …]`, 409) or it is mounted; a missing volume is
    /// `get NAME: no such volume` (404) unless `force`. A local volume is unmounted, moved
    /// aside, forgotten, then deleted; a plugin volume is removed by its plugin first (with
    /// `force`, its record goes even if the plugin fails). Publishes `destroy`.
    pub fn remove(&self, name: &str, force: bool) -> Result<()> {
        let _g = self.locks.lock(name);
        let rec = match self.resolve(name) {
            Ok(r) => r,
            Err(e) if force && matches!(e.cause(), VolumeError::NoSuchVolume) => return Ok(()),
            Err(e) => return Err(e),
        };
        let users = self.db.read(|tx| refs_of(tx, name))?;
        if !users.is_empty() {
            return Err(VolumeError::InUse { users }.op("remove", name));
        }
        let state = self.mounts.lock().unwrap_or_else(|e| e.into_inner()).get(name).cloned().unwrap_or_default();
        if !state.users.is_empty() {
            return Err(VolumeError::ActiveMounts.op("remove", name));
        }
        let forget = |tx: &Tx<'_>| -> Result<()> {
            tx.execute("DELETE FROM volumes WHERE name = ?1", params![name])?;
            Ok(())
        };
        if rec.is_local() {
            if LocalOptions::from_map(&rec.options).is_some_and(|o| o.needs_mount()) || state.mounted {
                local::unmount_path(&self.data_dir(name)).map_err(|e| e.op("remove", name))?;
            }
            self.mounts.lock().unwrap_or_else(|e| e.into_inner()).remove(name);
            let trash = local::trash_volume_dir(&self.cfg.root, name).map_err(|e| e.op("remove", name))?;
            self.db.tx(forget)?;
            if let Some(t) = trash {
                if let Err(e) = local::remove_tree(&t) {
                    tracing::warn!(volume = name, path = %t.display(), "deleting a removed volume's data: {e}");
                }
            }
        } else {
            let removed = self.plugins.lookup(&rec.driver).and_then(|p| p.remove(name));
            if let Err(e) = removed {
                if !force {
                    return Err(e.op("remove", name));
                }
                tracing::warn!(volume = name, "the volume plugin failed to remove the volume; forgetting it: {e}");
            }
            self.mounts.lock().unwrap_or_else(|e| e.into_inner()).remove(name);
            self.db.tx(forget)?;
        }
        self.publish("destroy", name, &[("driver", rec.driver.clone())]);
        Ok(())
    }

    /// `docker volume prune` with API ≥ 1.42 semantics: unused local volumes without driver
    /// options; only anonymous ones (label [`ANONYMOUS_LABEL`]) unless the filter `all` is true;
    /// filters `label` and `label!`. (For older API versions the caller adds `all=true`.)
    /// Returns the names removed and the bytes reclaimed, and publishes `prune` with attribute
    /// `reclaimed`. One prune at a time (409 otherwise).
    pub fn prune(&self, filters: &Filters) -> Result<(Vec<String>, u64)> {
        if self.pruning.swap(true, Ordering::SeqCst) {
            return Err(VolumeError::PruneRunning);
        }
        let _guard = PruneGuard(&self.pruning);
        let all: Vec<&str> = filters.get("all").collect();
        let everything = match all.as_slice() {
            [] => false,
            [one] => parse_go_bool(one).ok_or_else(|| {
                VolumeError::InvalidArgument(format!(
                    "invalid filter 'all': strconv.ParseBool: parsing {}: invalid syntax",
                    wharf_types::go_quote(one)
                ))
            })?,
            many => {
                return Err(VolumeError::InvalidArgument(format!(
                    "invalid filter 'all=[{}]': only one value is expected",
                    many.join(" ")
                )))
            }
        };
        let mut f = filters.clone();
        if !everything {
            f.add("label", ANONYMOUS_LABEL);
        }
        f.validate(PRUNE_FILTERS)?;
        let (records, refs) = self.db.read(|tx| Ok::<_, VolumeError>((all_records(tx)?, ref_counts(tx)?)))?;
        let mut deleted = Vec::new();
        let mut reclaimed = 0u64;
        for r in records {
            let unused = refs.get(&r.name).copied().unwrap_or(0) == 0;
            let labels_ok = match_kv_list(&f, "label", &r.labels)
                && !(f.contains("label!") && match_kv_list(&f, "label!", &r.labels));
            if !r.is_local() || !r.options.is_empty() || !unused || !labels_ok {
                continue;
            }
            let size = dir_size(&self.data_dir(&r.name)).unwrap_or_else(|e| {
                tracing::warn!(volume = %r.name, "could not determine size of volume: {e}");
                0
            });
            if let Err(e) = self.remove(&r.name, false) {
                tracing::warn!(volume = %r.name, "prune: {e}");
                continue;
            }
            reclaimed += size;
            deleted.push(r.name);
        }
        self.publish("prune", "", &[("reclaimed", reclaimed.to_string())]);
        Ok((deleted, reclaimed))
    }

    /// Records that `container_id` uses the volume (moby's `GetWithRef`/`CreateWithRef`): it
    /// cannot be removed or pruned, and is not dangling, until released. Idempotent.
    pub fn acquire(&self, name: &str, container_id: &str) -> Result<()> {
        let _g = self.locks.lock(name);
        self.resolve(name)?;
        self.db.tx(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO volume_refs (volume, container_id) VALUES (?1, ?2)",
                params![name, container_id],
            )?;
            Ok::<_, VolumeError>(())
        })
    }

    /// Drops the reference of `container_id` (a pair never acquired is a no-op).
    pub fn release(&self, name: &str, container_id: &str) -> Result<()> {
        let _g = self.locks.lock(name);
        self.db.tx(|tx| {
            tx.execute("DELETE FROM volume_refs WHERE volume = ?1 AND container_id = ?2", params![name, container_id])?;
            Ok::<_, VolumeError>(())
        })
    }

    /// The containers referencing the volume, sorted.
    pub fn users(&self, name: &str) -> Result<Vec<String>> {
        self.db.read(|tx| refs_of(tx, name))
    }

    /// Mounts the volume for a container and returns the host path to bind into it (`_data`
    /// for `local`, what `VolumeDriver.Mount` answered for a plugin). A local volume with
    /// `type`/`device` is mounted on its first user and stays mounted until its last unmount;
    /// a plugin gets one `Mount {Name, ID: container}` per container. Publishes Docker's
    /// `mount` event (`driver`, `container`, `destination`, `read/write`, `propagation`).
    pub fn mount(&self, name: &str, ctx: &MountContext) -> Result<PathBuf> {
        let _g = self.locks.lock(name);
        let rec = self.resolve(name)?;
        let path = self.mount_locked(&rec, &ctx.container)?;
        self.publish(
            "mount",
            name,
            &[
                ("driver", rec.driver.clone()),
                ("container", ctx.container.clone()),
                ("destination", ctx.destination.clone()),
                ("read/write", ctx.read_write.to_string()),
                ("propagation", ctx.propagation.clone()),
            ],
        );
        Ok(path)
    }

    /// After a daemon restart, counts the mount of a still-running container again (mounting
    /// only what is no longer mounted; a plugin is asked to `Mount` again, as moby's live
    /// restore does). No event.
    pub fn restore_mount(&self, name: &str, container_id: &str) -> Result<PathBuf> {
        let _g = self.locks.lock(name);
        let rec = self.resolve(name)?;
        self.mount_locked(&rec, container_id)
    }

    fn state(&self, name: &str) -> MountState {
        self.mounts.lock().unwrap_or_else(|e| e.into_inner()).get(name).cloned().unwrap_or_default()
    }

    fn set_state(&self, name: &str, st: MountState) {
        let mut m = self.mounts.lock().unwrap_or_else(|e| e.into_inner());
        if st.users.is_empty() && !st.mounted && st.path.is_none() {
            m.remove(name);
        } else {
            m.insert(name.to_string(), st);
        }
    }

    /// The caller holds the name lock.
    fn mount_locked(&self, rec: &Record, container: &str) -> Result<PathBuf> {
        let mut st = self.state(&rec.name);
        let path = if rec.is_local() {
            let data = self.data_dir(&rec.name);
            if let Some(o) = LocalOptions::from_map(&rec.options).filter(LocalOptions::needs_mount) {
                if !st.mounted {
                    local::mount_volume(&o, &data)?;
                    st.mounted = true;
                }
            }
            data
        } else {
            match (&st.path, st.users.get(container)) {
                (Some(p), Some(_)) => p.clone(),
                _ => {
                    let p = self.plugins.lookup(&rec.driver)?;
                    let mp = PathBuf::from(p.mount(&rec.name, container)?);
                    st.path = Some(mp.clone());
                    if mp.as_os_str() != rec.mountpoint.as_str() {
                        let mps = mp.to_string_lossy().into_owned();
                        self.db.tx(|tx| {
                            tx.execute("UPDATE volumes SET mountpoint = ?2 WHERE name = ?1", params![rec.name, mps])?;
                            Ok::<_, VolumeError>(())
                        })?;
                    }
                    mp
                }
            }
        };
        *st.users.entry(container.to_string()).or_insert(0) += 1;
        self.set_state(&rec.name, st);
        Ok(path)
    }

    /// Undoes one [`Volumes::mount`] of a container: the last user of a local volume with
    /// options unmounts it (lazily); a plugin gets `Unmount {Name, ID: container}` when the
    /// container's last mount goes. The count drops even when unmounting fails (as moby).
    /// Publishes `unmount` (`driver`, `container`).
    pub fn unmount(&self, name: &str, container_id: &str) -> Result<()> {
        let _g = self.locks.lock(name);
        let rec = self.resolve(name)?;
        let mut st = self.state(name);
        let had = st.users.get(container_id).copied().unwrap_or(0);
        if had > 1 {
            st.users.insert(container_id.to_string(), had - 1);
        } else {
            st.users.remove(container_id);
        }
        let result = if rec.is_local() {
            if st.users.is_empty() && st.mounted {
                let r = local::unmount_path(&self.data_dir(name));
                if r.is_ok() {
                    st.mounted = false;
                }
                r
            } else {
                Ok(())
            }
        } else if had <= 1 {
            let r = self.plugins.lookup(&rec.driver).and_then(|p| p.unmount(name, container_id));
            if st.users.is_empty() {
                st.path = None;
            }
            r
        } else {
            Ok(())
        };
        self.set_state(name, st);
        result?;
        self.publish("unmount", name, &[("driver", rec.driver.clone()), ("container", container_id.to_string())]);
        Ok(())
    }

    /// `docker system df`: every recorded volume with its size in bytes (local volumes without
    /// options: `_data` walked as dockerd's `directory.Size`; others, whose data is not local,
    /// -1) and its reference count. Docker's `df` itself shows only local volumes without
    /// options.
    pub fn usage(&self) -> Result<Vec<(Volume, i64, i64)>> {
        let (records, refs) = self.db.read(|tx| Ok::<_, VolumeError>((all_records(tx)?, ref_counts(tx)?)))?;
        Ok(records
            .iter()
            .map(|r| {
                let size = if r.is_local() && r.options.is_empty() {
                    dir_size(&self.data_dir(&r.name)).map_or(-1, |s| i64::try_from(s).unwrap_or(i64::MAX))
                } else {
                    -1
                };
                (self.to_volume(r), size, refs.get(&r.name).copied().unwrap_or(0))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests;
