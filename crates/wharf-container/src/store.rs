//! The container table and the record operations on it: create (name, ID, image defaults,
//! writable layer), lookup by ID, name or ID prefix, list, rename, state updates, removal.
//!
//! Crash safety: a container row is inserted in one transaction after its writable layer (a
//! snapshot keyed by the container ID) exists; at open, snapshots keyed like container IDs with
//! no row are removed. Removal deletes the row, then the snapshot.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use wharf_events::EventBus;
use wharf_image::store::ImageStore;
use wharf_snapshot::{Kind, Labels, Snapshotter};
use wharf_store::rusqlite::{params, OptionalExtension};
use wharf_store::{Db, Migration, Tx};
use wharf_types::{Event, EventType};

use crate::error::{ContainerError, Result};
use crate::model::{Config, Container, HostConfig, State};
use crate::names;

/// This crate's component name in the migrations table.
pub const COMPONENT: &str = "wharf-container";

/// The container tables' migrations.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        component: COMPONENT,
        version: 1,
        sql: "
CREATE TABLE containers (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created     INTEGER NOT NULL,
    image_id    TEXT NOT NULL,
    config      TEXT NOT NULL,
    host_config TEXT NOT NULL,
    state       TEXT NOT NULL,
    path        TEXT NOT NULL,
    args        TEXT NOT NULL,
    driver      TEXT NOT NULL,
    log_path    TEXT NOT NULL
);
",
    },
    // `NetworkingConfig.EndpointsConfig` of the create request (networks, aliases, addresses).
    Migration {
        component: COMPONENT,
        version: 2,
        sql: "ALTER TABLE containers ADD COLUMN networking TEXT NOT NULL DEFAULT '{}';",
    },
    // The container's mount points (binds, volumes, tmpfs) as resolved at create.
    Migration {
        component: COMPONENT,
        version: 3,
        sql: "ALTER TABLE containers ADD COLUMN mounts TEXT NOT NULL DEFAULT '[]';",
    },
];

/// What `POST /containers/create` asks for.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    /// `name` (empty: generated).
    pub name: String,
    /// `Config`.
    pub config: Config,
    /// `HostConfig`.
    pub host_config: HostConfig,
    /// `NetworkingConfig.EndpointsConfig`: network name → Docker's `EndpointSettings`.
    pub networking: serde_json::Map<String, Value>,
    /// The ID to give it (empty: a new random one) — the lifecycle picks it first when
    /// volumes must be referenced before the record exists.
    pub id: String,
    /// Its mount points, resolved and provisioned (see [`crate::mounts`]).
    pub mounts: Vec<crate::mounts::MountPoint>,
    /// The API version of the request (mount options depend on it); `(0, 0)`: the newest.
    pub api_version: (u32, u32),
}

/// The container records.
pub struct Containers {
    db: Db,
    images: Arc<ImageStore>,
    events: Arc<EventBus>,
    /// Where per-container files live (`<data-root>/containers`).
    dir: std::path::PathBuf,
}

pub(crate) fn now_nanos() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    let mut filled = 0;
    while filled < N {
        match rustix::rand::getrandom(&mut b[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => {
                // No getrandom: time and PID are enough to avoid collisions in practice.
                let seed = now_nanos() as u64 ^ (u64::from(std::process::id()) << 32);
                for (i, x) in b.iter_mut().enumerate() {
                    *x = (seed.rotate_left((i * 7) as u32) & 0xff) as u8;
                }
                break;
            }
        }
    }
    b
}

/// A new random 64-hex-character ID (containers, execs).
pub(crate) fn random_hex_id() -> String {
    hex::encode(random_bytes::<32>())
}

fn row(r: &wharf_store::rusqlite::Row<'_>) -> wharf_store::rusqlite::Result<(Container, String, String, String)> {
    Ok((
        Container {
            id: r.get(0)?,
            name: r.get(1)?,
            created: r.get(2)?,
            image_id: r.get(3)?,
            config: Config::default(),
            host_config: HostConfig::default(),
            state: State::default(),
            path: r.get(7)?,
            args: Vec::new(),
            driver: r.get(9)?,
            log_path: r.get(10)?,
            networking: serde_json::from_str(&r.get::<_, String>(11)?).unwrap_or_default(),
            mounts: serde_json::from_str(&r.get::<_, String>(12)?).unwrap_or_default(),
        },
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

const COLUMNS: &str =
    "id, name, created, image_id, config, host_config, state, path, args, driver, log_path, networking, mounts";

fn decode(raw: (Container, String, String, String), args: String) -> Result<Container> {
    let (mut c, config, host_config, state) = raw;
    let bad = |what: &str, e: serde_json::Error| ContainerError::internal(format!("container {} {what}: {e}", c.id));
    c.config = serde_json::from_str(&config).map_err(|e| bad("config", e))?;
    c.host_config = serde_json::from_str(&host_config).map_err(|e| bad("host config", e))?;
    c.state = serde_json::from_str(&state).map_err(|e| bad("state", e))?;
    c.args = serde_json::from_str(&args).map_err(|e| bad("args", e))?;
    Ok(c)
}

/// The columns of a new record that come from the request.
#[derive(Clone, Copy)]
struct Row<'a> {
    config: &'a Config,
    host_config: &'a HostConfig,
    networking: &'a serde_json::Map<String, Value>,
    mounts: &'a [crate::mounts::MountPoint],
    path: &'a str,
    args: &'a [String],
    log_path: &'a str,
}

fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).expect("container records serialize")
}

impl Containers {
    /// Opens the records over the daemon's database (migrated with [`MIGRATIONS`]) and removes
    /// writable layers left by a create that crashed before its row was written.
    pub fn open(db: Db, images: Arc<ImageStore>, events: Arc<EventBus>, dir: std::path::PathBuf) -> Result<Self> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| ContainerError::internal(format!("creating {}: {e}", dir.display())))?;
        let c = Containers { db, images, events, dir };
        let ids: std::collections::HashSet<String> = c.db.read(|tx| {
            let mut st = tx.prepare("SELECT id FROM containers")?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            Ok::<_, ContainerError>(rows.collect::<std::result::Result<_, _>>()?)
        })?;
        for info in c.snapshots().list()? {
            let looks_like_ours = info.name.len() == 64 && info.name.bytes().all(|b| b.is_ascii_hexdigit());
            if info.kind == Kind::Active && looks_like_ours && !ids.contains(&info.name) {
                tracing::info!(id = %info.name, "removing the writable layer of a container that was never recorded");
                let _ = c.snapshots().remove(&info.name);
            }
        }
        Ok(c)
    }

    /// The snapshotter holding writable layers.
    pub fn snapshots(&self) -> &Arc<dyn Snapshotter> {
        self.images.snapshotter()
    }

    /// The image store.
    pub fn images(&self) -> &Arc<ImageStore> {
        &self.images
    }

    /// The directory of container `id`'s files (log, hostname, hosts…).
    pub fn container_dir(&self, id: &str) -> std::path::PathBuf {
        self.dir.join(id)
    }

    pub(crate) fn publish(&self, action: &str, c: &Container, extra: &[(&str, String)]) {
        let mut ev = Event::new(EventType::Container, action, &c.id, now_nanos());
        ev.attributes.insert("name".into(), c.name.clone());
        ev.attributes.insert("image".into(), c.config.image.clone());
        if let Some(labels) = &c.config.labels {
            for (k, v) in labels {
                ev.attributes.insert(k.clone(), v.clone());
            }
        }
        for (k, v) in extra {
            ev.attributes.insert((*k).to_string(), v.clone());
        }
        self.events.publish(ev);
    }

    /// `docker create`: checks the name, resolves the image, applies its defaults, makes the
    /// writable layer and records the container.
    pub fn create(&self, req: CreateRequest) -> Result<Container> {
        let CreateRequest { name, mut config, host_config, networking, id, mounts, .. } = req;
        if !name.is_empty() && !names::valid(&name) {
            return Err(ContainerError::Invalid(format!(
                "Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        if config.image.is_empty() {
            return Err(ContainerError::Invalid("No command specified".into()).with_image_hint());
        }
        let image = self.images.inspect(&config.image)?;
        let image_config: Config = serde_json::from_value(image.config.clone()).unwrap_or_default();
        merge_image_config(&mut config, &image_config);
        let (path, args) = command_of(&config)?;
        let id = if id.is_empty() { random_hex_id() } else { id };
        if config.hostname.is_empty() {
            config.hostname = id[..12].to_string();
        }
        let mut host_config = host_config;
        if host_config.log_config.kind.is_empty() {
            host_config.log_config.kind = "json-file".into();
        }
        if host_config.network_mode.is_empty() {
            host_config.network_mode = "bridge".into();
        }
        // dockerd's `adaptContainerSettings`, then its resource checks.
        if host_config.memory > 0 && host_config.memory_swap == 0 {
            host_config.memory_swap = host_config.memory * 2;
        }
        if host_config.oom_kill_disable.is_none() {
            host_config.oom_kill_disable = Some(false);
        }
        crate::update::check_resources(&mut host_config, &crate::update::full_support(), false)?;
        let (_, chain) = self.images.layer_chain(&image.id)?;
        let parent = chain.last().map(|(c, _)| c.clone());
        self.snapshots().prepare(&id, parent.as_deref(), Labels::new())?;
        let dir = self.container_dir(&id);
        let log_path = dir.join(format!("{id}-json.log")).display().to_string();
        let made = std::fs::create_dir_all(&dir)
            .map_err(|e| ContainerError::internal(format!("creating {}: {e}", dir.display())))
            .and_then(|()| {
                let row = Row {
                    config: &config,
                    host_config: &host_config,
                    networking: &networking,
                    mounts: &mounts,
                    path: &path,
                    args: &args,
                    log_path: &log_path,
                };
                self.insert(&id, &name, &image.id, &row)
            });
        let name = match made {
            Ok(n) => n,
            Err(e) => {
                let _ = self.snapshots().remove(&id);
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        let c = Container {
            id,
            name,
            created: now_nanos(),
            image_id: image.id,
            config,
            host_config,
            state: State::default(),
            path,
            args,
            driver: self.snapshots().driver().to_string(),
            log_path,
            networking,
            mounts,
        };
        self.publish("create", &c, &[]);
        Ok(c)
    }

    /// `Config` with the defaults of its image applied (what the record will hold), before
    /// anything is recorded.
    pub fn merged_config(&self, config: &Config) -> Result<Config> {
        let mut config = config.clone();
        if config.image.is_empty() {
            return Ok(config);
        }
        let image = self.images.inspect(&config.image)?;
        let image_config: Config = serde_json::from_value(image.config.clone()).unwrap_or_default();
        merge_image_config(&mut config, &image_config);
        Ok(config)
    }

    fn insert(&self, id: &str, name: &str, image_id: &str, row: &Row<'_>) -> Result<String> {
        let Row { config, host_config, networking, mounts, path, args, log_path } = *row;
        let driver = self.snapshots().driver();
        self.db.tx(|tx| {
            let name = if name.is_empty() {
                let mut retry = 0;
                loop {
                    let seed = u64::from_le_bytes(random_bytes::<8>());
                    let n = names::generate(seed, retry);
                    if lookup_name(tx, &n)?.is_none() {
                        break n;
                    }
                    retry += 1;
                }
            } else {
                let n = name.strip_prefix('/').unwrap_or(name).to_string();
                if let Some(other) = lookup_name(tx, &n)? {
                    return Err(ContainerError::Conflict(format!(
                        "Conflict. The container name \"/{n}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name."
                    )));
                }
                n
            };
            tx.execute(
                "INSERT INTO containers (id, name, created, image_id, config, host_config, state, path, args, driver, log_path, networking, mounts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    id,
                    name,
                    now_nanos(),
                    image_id,
                    to_json(config),
                    to_json(host_config),
                    to_json(&State::default()),
                    path,
                    to_json(&args),
                    driver,
                    log_path,
                    to_json(networking),
                    to_json(&mounts)
                ],
            )?;
            Ok(name)
        })
    }

    /// Finds a container by full ID, name (with or without `/`) or unique ID prefix, as dockerd.
    pub fn get(&self, name_or_id: &str) -> Result<Container> {
        self.db.read(|tx| get_in(tx, name_or_id))
    }

    /// Every container, newest first.
    pub fn list(&self) -> Result<Vec<Container>> {
        self.db.read(|tx| {
            let mut st = tx.prepare(&format!("SELECT {COLUMNS} FROM containers ORDER BY created DESC"))?;
            let rows = st.query_map([], |r| Ok((row(r)?, r.get::<_, String>(8)?)))?;
            let mut out = Vec::new();
            for r in rows {
                let (raw, args) = r?;
                out.push(decode(raw, args)?);
            }
            Ok(out)
        })
    }

    /// How many containers there are in each state: (running, paused, stopped).
    pub fn counts(&self) -> Result<(i64, i64, i64)> {
        let all = self.list()?;
        let running = all.iter().filter(|c| c.state.status == crate::model::Status::Running).count() as i64;
        let paused = all.iter().filter(|c| c.state.status == crate::model::Status::Paused).count() as i64;
        Ok((running, paused, all.len() as i64 - running - paused))
    }

    /// Replaces the state of container `id` through `f`, in one transaction; returns the new
    /// record.
    pub fn update_state(&self, id: &str, f: impl FnOnce(&mut State)) -> Result<Container> {
        self.db.tx(|tx| {
            let mut c = get_in(tx, id)?;
            f(&mut c.state);
            tx.execute("UPDATE containers SET state = ?2 WHERE id = ?1", params![c.id, to_json(&c.state)])?;
            Ok(c)
        })
    }

    /// Replaces the host config of container `id` through `f` (which may refuse), in one
    /// transaction; returns the new record.
    pub fn update_host_config(&self, id: &str, f: impl FnOnce(&mut HostConfig) -> Result<()>) -> Result<Container> {
        self.db.tx(|tx| {
            let mut c = get_in(tx, id)?;
            f(&mut c.host_config)?;
            tx.execute("UPDATE containers SET host_config = ?2 WHERE id = ?1", params![c.id, to_json(&c.host_config)])?;
            Ok(c)
        })
    }

    /// Replaces the host config and `EndpointsConfig` of container `id` through `f` (which may
    /// refuse), in one transaction (`docker network connect`/`disconnect`).
    pub fn update_networking(
        &self,
        id: &str,
        f: impl FnOnce(&mut HostConfig, &mut serde_json::Map<String, Value>) -> Result<()>,
    ) -> Result<Container> {
        self.db.tx(|tx| {
            let mut c = get_in(tx, id)?;
            f(&mut c.host_config, &mut c.networking)?;
            tx.execute(
                "UPDATE containers SET host_config = ?2, networking = ?3 WHERE id = ?1",
                params![c.id, to_json(&c.host_config), to_json(&c.networking)],
            )?;
            Ok(c)
        })
    }

    /// Replaces the mount points of container `id` (after the first start populated its
    /// volumes).
    pub fn update_mounts(&self, id: &str, mounts: &[crate::mounts::MountPoint]) -> Result<()> {
        self.db.tx(|tx| {
            tx.execute("UPDATE containers SET mounts = ?2 WHERE id = ?1", params![id, to_json(&mounts)])?;
            Ok(())
        })
    }

    /// `SizeRw` and `SizeRootFs`: the bytes of the files in the writable layer (apparent sizes,
    /// hard links once, directories not counted, as dockerd's `directory.Size`) and those plus
    /// the image's. On vfs, where the layer is a full copy, the image's size is taken off.
    pub fn sizes(&self, c: &Container) -> Result<(i64, i64)> {
        let image = self.images.inspect(&c.image_id).map(|i| i.size as i64).unwrap_or(0);
        let dir = self.snapshots().upper_dir(&c.id).map_err(ContainerError::other)?;
        let mut rw = tree_size(&dir) as i64;
        if self.snapshots().driver() != "overlay2" {
            rw = (rw - image).max(0);
        }
        Ok((rw, rw + image))
    }

    /// `docker rename`.
    pub fn rename(&self, name_or_id: &str, new_name: &str) -> Result<()> {
        if !names::valid(new_name) {
            return Err(ContainerError::Invalid(format!(
                "Invalid container name ({new_name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )));
        }
        let new_name = new_name.strip_prefix('/').unwrap_or(new_name).to_string();
        let (c, old) = self.db.tx(|tx| {
            let c = get_in(tx, name_or_id)?;
            if c.name == new_name {
                return Err(ContainerError::Invalid("Renaming a container with the same name as its current name".into()));
            }
            if let Some(other) = lookup_name(tx, &new_name)? {
                return Err(ContainerError::Conflict(format!(
                    "Conflict. The container name \"/{new_name}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name."
                )));
            }
            tx.execute("UPDATE containers SET name = ?2 WHERE id = ?1", params![c.id, new_name])?;
            let old = c.name.clone();
            Ok((Container { name: new_name.clone(), ..c }, old))
        })?;
        self.publish("rename", &c, &[("oldName", format!("/{old}"))]);
        Ok(())
    }

    /// Deletes the record of a stopped container, then its writable layer and files.
    pub fn delete(&self, c: &Container) -> Result<()> {
        self.db.tx(|tx| {
            tx.execute("DELETE FROM containers WHERE id = ?1", [&c.id])?;
            Ok::<_, ContainerError>(())
        })?;
        if let Err(e) = self.snapshots().remove(&c.id) {
            tracing::warn!(id = %c.id, "removing the writable layer: {e}");
        }
        let _ = std::fs::remove_dir_all(self.container_dir(&c.id));
        self.publish("destroy", c, &[]);
        Ok(())
    }

    /// Containers using image `id`: `(container id, running)`.
    pub fn users_of_image(&self, image_id: &str) -> Vec<(String, bool)> {
        self.list()
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c.image_id == image_id)
            .map(|c| {
                let running = matches!(c.state.status, crate::model::Status::Running | crate::model::Status::Paused);
                (c.id, running)
            })
            .collect()
    }
}

impl ContainerError {
    fn with_image_hint(self) -> Self {
        match self {
            ContainerError::Invalid(_) => ContainerError::Invalid("No image specified".into()),
            e => e,
        }
    }
}

fn lookup_name(tx: &Tx<'_>, name: &str) -> Result<Option<String>> {
    Ok(tx.query_row("SELECT id FROM containers WHERE name = ?1", [name], |r| r.get(0)).optional()?)
}

fn get_in(tx: &Tx<'_>, name_or_id: &str) -> Result<Container> {
    let key = name_or_id.strip_prefix('/').unwrap_or(name_or_id);
    let q = |sql: &str, arg: &str| -> Result<Option<Container>> {
        let r = tx
            .query_row(&format!("SELECT {COLUMNS} FROM containers WHERE {sql}"), [arg], |r| {
                Ok((row(r)?, r.get::<_, String>(8)?))
            })
            .optional()?;
        r.map(|(raw, args)| decode(raw, args)).transpose()
    };
    if key.is_empty() {
        return Err(ContainerError::NotFound(name_or_id.to_string()));
    }
    if let Some(c) = q("id = ?1", key)? {
        return Ok(c);
    }
    if let Some(c) = q("name = ?1", key)? {
        return Ok(c);
    }
    if key.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut st = tx.prepare("SELECT id FROM containers WHERE id LIKE ?1 LIMIT 2")?;
        let ids: Vec<String> =
            st.query_map([format!("{key}%")], |r| r.get(0))?.collect::<std::result::Result<_, _>>()?;
        match ids.len() {
            1 => return q("id = ?1", &ids[0]).map(|c| c.expect("just found")),
            0 => {}
            _ => {
                return Err(ContainerError::Invalid(format!("multiple IDs found with provided prefix: {key}")));
            }
        }
    }
    Err(ContainerError::NotFound(name_or_id.to_string()))
}

/// The apparent size of the non-directories under `dir`, each inode once; unreadable parts count
/// as empty.
fn tree_size(dir: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                stack.push(e.path());
            } else if m.nlink() == 1 || seen.insert((m.dev(), m.ino())) {
                total += m.size();
            }
        }
    }
    total
}

/// Applies the image's config under the container's, as dockerd's `merge`: env by key, labels
/// by key, the rest only where the container left it empty.
pub fn merge_image_config(c: &mut Config, image: &Config) {
    if c.user.is_empty() {
        c.user = image.user.clone();
    }
    match (&mut c.env, &image.env) {
        (Some(env), Some(img)) => {
            let mut merged: Vec<String> = img
                .iter()
                .filter(|ie| {
                    let k = ie.split_once('=').map_or(ie.as_str(), |(k, _)| k);
                    !env.iter().any(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == k)
                })
                .cloned()
                .collect();
            merged.append(env);
            *env = merged;
        }
        (None, Some(img)) => c.env = Some(img.clone()),
        _ => {}
    }
    if c.labels.is_none() {
        c.labels = image.labels.clone();
    } else if let (Some(labels), Some(img)) = (&mut c.labels, &image.labels) {
        for (k, v) in img {
            labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    // Docker: an Entrypoint given on the command line resets the image's Cmd.
    if c.entrypoint.as_ref().is_none_or(|e| e.is_empty()) {
        if c.cmd.as_ref().is_none_or(|e| e.is_empty()) {
            c.cmd = image.cmd.clone();
        }
        if c.entrypoint.is_none() {
            c.entrypoint = image.entrypoint.clone();
        }
    }
    if c.working_dir.is_empty() {
        c.working_dir = image.working_dir.clone();
    }
    if c.exposed_ports.is_none() {
        c.exposed_ports = image.exposed_ports.clone();
    } else if let (Some(p), Some(img)) = (&mut c.exposed_ports, &image.exposed_ports) {
        for (k, v) in img {
            p.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    if c.volumes.is_none() {
        c.volumes = image.volumes.clone();
    } else if let (Some(v), Some(img)) = (&mut c.volumes, &image.volumes) {
        for (k, x) in img {
            v.entry(k.clone()).or_insert_with(|| x.clone());
        }
    }
    if c.stop_signal.is_none() {
        c.stop_signal = image.stop_signal.clone();
    }
    match (&mut c.healthcheck, &image.healthcheck) {
        (None, img) => c.healthcheck = img.clone(),
        // Field by field, as dockerd: what the container leaves empty comes from the image.
        (Some(Value::Object(own)), Some(Value::Object(img))) => {
            for key in ["Test", "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"] {
                let empty = match own.get(key) {
                    None | Some(Value::Null) => true,
                    Some(Value::Array(a)) => a.is_empty(),
                    Some(Value::Number(n)) => n.as_i64() == Some(0),
                    _ => false,
                };
                if empty {
                    if let Some(v) = img.get(key) {
                        own.insert(key.to_string(), v.clone());
                    }
                }
            }
        }
        _ => {}
    }
    if c.on_build.is_none() {
        c.on_build = image.on_build.clone();
    }
}

/// The process to run: Entrypoint followed by Cmd; an error in Docker's words when both are empty.
pub fn command_of(c: &Config) -> Result<(String, Vec<String>)> {
    let mut all: Vec<String> = c.entrypoint.clone().unwrap_or_default();
    all.extend(c.cmd.clone().unwrap_or_default());
    if all.is_empty() {
        return Err(ContainerError::Invalid("no command specified".into()));
    }
    let path = all.remove(0);
    Ok((path, all))
}

/// Labels (for the filters) of a container.
pub fn labels_of(c: &Container) -> BTreeMap<String, String> {
    c.config.labels.clone().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(entry: Option<&[&str]>, cmd: Option<&[&str]>) -> Config {
        Config {
            entrypoint: entry.map(|e| e.iter().map(|s| s.to_string()).collect()),
            cmd: cmd.map(|e| e.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn cmd_and_entrypoint_rules() {
        let image =
            Config { env: Some(vec!["PATH=/bin".into(), "A=1".into()]), ..cfg(Some(&["/init"]), Some(&["sh"])) };
        let mut c = cfg(None, None);
        merge_image_config(&mut c, &image);
        assert_eq!(command_of(&c).unwrap(), ("/init".into(), vec!["sh".into()]));
        let mut c = cfg(None, Some(&["echo", "hi"]));
        merge_image_config(&mut c, &image);
        assert_eq!(command_of(&c).unwrap(), ("/init".into(), vec!["echo".into(), "hi".into()]));
        // --entrypoint resets the image's Cmd.
        let mut c = cfg(Some(&["/bin/true"]), None);
        merge_image_config(&mut c, &image);
        assert_eq!(command_of(&c).unwrap(), ("/bin/true".into(), vec![]));
        // --entrypoint "" drops the image's Entrypoint and keeps its Cmd.
        let mut c = cfg(Some(&[]), None);
        merge_image_config(&mut c, &image);
        assert_eq!(command_of(&c).unwrap(), ("sh".into(), vec![]));
        let mut c = Config { env: Some(vec!["A=2".into()]), ..cfg(None, None) };
        merge_image_config(&mut c, &image);
        assert_eq!(c.env.unwrap(), vec!["PATH=/bin", "A=2"]);
        assert!(command_of(&cfg(None, None)).is_err());
    }
}
