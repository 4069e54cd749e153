//! The Docker Engine API over HTTP. Thin: decode the request, call the backend trait the route
//! module declares, encode the answer or stream it.
//!
//! Invariants:
//! - One module per resource; each declares the backend trait it needs and gets only that.
//! - HTTP statuses are chosen in one place, [`error::status_of`], from an error's
//!   [`wharf_types::ErrorKind`]; handlers never pick a status by hand.
//! - API-version handling (prefix stripping, negotiation, response headers) is done once, in
//!   [`version`], around the router; handlers read the negotiated [`ApiVersion`] if they need it.
//! - Unknown routes and wrong methods answer 404 `{"message":"page not found"}`, as dockerd.
//!
//! **Boundary**: the only daemon crate that knows HTTP and Docker's JSON.

mod build;
mod containers;
pub mod error;
mod events;
mod files;
mod images;
mod networks;
mod query;
mod system;
pub mod version;
mod volumes;

use std::sync::Arc;

use axum::Router;
use tokio_util::sync::CancellationToken;

pub use build::{BuildBackend, BuildRequest};
pub use containers::{
    AttachFuture, AttachIo, ContainerBackend, Inspected, ListOptions as ContainerListOptions, LogLine, LogStream,
    LogsOptions, WaitCondition,
};
pub use error::ApiError;
pub use files::{Change, CommitOptions, ExtractOptions, FilesBackend, PathStat, PATH_STAT_HEADER};
pub use images::{AuthRequest, ByteStream, ImageBackend, ProgressStream, PullRequest};
pub use networks::{
    ConnectRequest, CreateNetwork, DisconnectRequest, Ipam, IpamConfig, NetworkBackend, NetworkContainer, NetworkView,
    NETWORK_FILTERS,
};
pub use system::{DaemonStatus, ObjectCounts, RuntimeInfo, SystemBackend};
pub use volumes::{
    dangling_filter, CreateVolume, PruneVolumes, VolumeBackend, VolumePruneReport, VolumeUsage, VolumeView,
    ANONYMOUS_LABEL, VOLUME_FILTERS, VOLUME_PRUNE_FILTERS,
};
pub use wharf_api::{ApiVersion, CURRENT_API_VERSION, MIN_API_VERSION};

/// Everything the routes need, one backend per resource. Built by `wharfd`'s wiring; each field
/// goes to exactly one route module.
pub struct Backends {
    /// `/_ping`, `/version`, `/info`.
    pub system: Arc<dyn SystemBackend>,
    /// `/images/…` and the images part of `/system/df`.
    pub images: Arc<dyn ImageBackend>,
    /// `/containers/…`.
    pub containers: Arc<dyn ContainerBackend>,
    /// `/containers/{id}/archive`, `…/changes`, `…/export`, `/commit`.
    pub files: Arc<dyn FilesBackend>,
    /// `/networks/…`.
    pub networks: Arc<dyn NetworkBackend>,
    /// `/volumes/…` and the volumes part of `/system/df`.
    pub volumes: Arc<dyn VolumeBackend>,
    /// `/build`.
    pub build: Arc<dyn BuildBackend>,
    /// `/events`.
    pub events: Arc<wharf_events::EventBus>,
    /// Cancelled when the daemon shuts down: long-lived streams end.
    pub shutdown: CancellationToken,
}

/// Builds the whole API service: the router with version negotiation, panic catching and the
/// 404 fallback around it.
pub fn service(backends: Backends) -> Router {
    let Backends { system, images, containers, files, networks, volumes, build, events, shutdown } = backends;
    let routes = Router::new()
        .merge(system::routes(system.clone()))
        .merge(images::df_routes(images.clone(), containers.clone(), volumes.clone()))
        .merge(images::routes(images))
        .merge(containers::routes(containers))
        .merge(files::routes(files))
        .merge(networks::routes(networks))
        .merge(volumes::routes(volumes))
        .merge(build::routes(build))
        .merge(events::routes(events, shutdown))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::not_found);
    let api = routes.layer(tower_http::catch_panic::CatchPanicLayer::custom(error::panic_response));
    // The version layer must run before routing (a `Router::layer` runs after it), so the
    // router is nested inside a router whose only job is to apply it.
    Router::new().fallback_service(api).layer(axum::middleware::from_fn(version::negotiate))
}

/// Current time as nanoseconds since the Unix epoch.
pub(crate) fn now_nanos() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}
