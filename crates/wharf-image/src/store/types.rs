//! What the image service answers with: plain domain values, rendered to Docker's JSON by the
//! API layer.

use std::collections::BTreeMap;

/// An image as `docker images` and `docker image inspect` show it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImageInfo {
    /// `sha256:<hex>` of the config blob: the image ID.
    pub id: String,
    /// Tagged names in Docker's familiar form (`busybox:latest`, `localhost:5000/app:1`),
    /// sorted.
    pub repo_tags: Vec<String>,
    /// Digested names in familiar form (`busybox@sha256:…`), sorted.
    pub repo_digests: Vec<String>,
    /// The parent image ID (only for images built locally), or empty.
    pub parent: String,
    /// The config's `comment`.
    pub comment: String,
    /// The config's `created`, RFC 3339 as written there; `None` when absent.
    pub created: Option<String>,
    /// `created` as Unix seconds (0 when absent).
    pub created_unix: i64,
    /// The config's `docker_version`.
    pub docker_version: String,
    /// The config's `author`.
    pub author: String,
    /// The config's `architecture`.
    pub architecture: String,
    /// The config's `variant`, or empty.
    pub variant: String,
    /// The config's `os`.
    pub os: String,
    /// The config's `os.version`, or empty.
    pub os_version: String,
    /// The config's `config` object (Docker's container-config shape: `Env`, `Cmd`, `Labels`…)
    /// exactly as stored, or `null`.
    pub config: serde_json::Value,
    /// Bytes of all its layers, uncompressed (Docker's `Size`).
    pub size: u64,
    /// Bytes of its layers that other images share too (`docker system df`), when computed;
    /// `None` otherwise (the API shows -1).
    pub shared_size: Option<u64>,
    /// `config.Labels`.
    pub labels: BTreeMap<String, String>,
    /// The layers' diff IDs, bottom first (`RootFS.Layers`).
    pub layers: Vec<String>,
    /// The storage driver and its data (`GraphDriver`: `LowerDir`, `UpperDir`, `MergedDir`,
    /// `WorkDir` for overlay2).
    pub graph_driver: GraphDriver,
    /// When a tag was last put on it, RFC 3339 with nanoseconds; `None` if never tagged here.
    pub last_tag_time: Option<String>,
    /// When it was added to this daemon (Unix nanoseconds).
    pub added_at: i64,
    /// Containers using it, when counted (`docker system df`); `None` otherwise (API: -1).
    pub containers: Option<u64>,
}

/// `GraphDriver` of `docker image inspect`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GraphDriver {
    /// `overlay2` or `vfs`.
    pub name: String,
    /// Driver-specific paths.
    pub data: BTreeMap<String, String>,
}

/// A line of `DELETE /images/{name}`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteItem {
    /// A name removed (familiar form, `busybox:latest`).
    Untagged(String),
    /// An image or layer ID removed.
    Deleted(String),
}

/// `POST /images/prune`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PruneReport {
    /// What was untagged and deleted.
    pub deleted: Vec<DeleteItem>,
    /// Bytes freed.
    pub space_reclaimed: u64,
}

/// Options of `POST /images/create?fromSrc=…` (`docker import`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportOptions {
    /// `repo` (may carry a tag: `repo:tag`), or empty for an untagged image.
    pub repo: String,
    /// `tag`, or empty.
    pub tag: String,
    /// `message`: the history comment.
    pub message: String,
    /// `changes`: Dockerfile instructions applied to the config (`CMD`, `ENTRYPOINT`, `ENV`,
    /// `EXPOSE`, `LABEL`, `ONBUILD`, `STOPSIGNAL`, `USER`, `VOLUME`, `WORKDIR`).
    pub changes: Vec<String>,
    /// `platform` (`os[/arch[/variant]]`), or empty for the daemon's.
    pub platform: String,
}

/// What `docker commit` (`POST /commit`) makes an image of, besides the layer tar.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CommitOptions {
    /// The image the container was created from (an ID or a name; resolved when the commit
    /// starts), or `None` for a container without an image (`FROM scratch`).
    pub parent: Option<String>,
    /// The image's `config` (Docker's container-config shape, `null` for none): the container's
    /// `Config`, or the request body's config already merged with it as dockerd's `merge`.
    pub config: serde_json::Value,
    /// `changes`: Dockerfile instructions applied to `config` (see [`super::apply_config_changes`]).
    pub changes: Vec<String>,
    /// `author`; empty keeps the parent's.
    pub author: String,
    /// `comment`: the history entry's comment.
    pub comment: String,
    /// The history entry's `created_by`; dockerd writes the container's `Cmd` joined by spaces.
    pub created_by: String,
    /// `created`, Unix nanoseconds; `None` is now.
    pub created: Option<i64>,
    /// `repo` (may carry a tag: `repo:tag`), or empty for an untagged image.
    pub repo: String,
    /// `tag`, or empty (`latest` when `repo` is given).
    pub tag: String,
}

/// Options of `GET /images/json`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListOptions {
    /// `all`: include intermediate images.
    pub all: bool,
    /// `filters`: `dangling`, `label`, `before`, `since`, `reference`, `until`.
    pub filters: wharf_types::Filters,
    /// `shared-size`: compute `SharedSize`.
    pub shared_size: bool,
}
