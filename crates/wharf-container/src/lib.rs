//! Containers (layer 2): the records (Docker's `Config`, `HostConfig` and `State`, in the
//! metadata database), names and IDs, the image defaults applied at create, the writable layer
//! (a snapshot keyed by the container ID on the image's top layer), and the lifecycle that
//! runs each container under its own shim.
//!
//! Invariants:
//! - A container row exists only with its writable layer; a create that fails or crashes leaves
//!   neither (the layer is removed at open when no row names it).
//! - Names are unique (the table enforces it) and follow Docker's rule; IDs are 64 random hex
//!   characters.
//! - Every transition publishes Docker's container event.

mod error;
mod exec;
mod files;
mod filter;
pub mod health;
mod lifecycle;
mod links;
pub mod model;
pub mod mounts;
mod names;
pub mod networking;
mod stats;
mod store;
mod update;
pub mod warm;

pub use error::{ContainerError, Result};
pub use exec::{ExecConfig, ExecInfo};
pub use files::{CommitRequest, CopyInOptions, FileChange};
pub use filter::{PsFilter, PS_FILTERS};
pub use lifecycle::{parse_signal, AttachRequest, Attached, Lifecycle, RunSettings, WaitFor, WaitResult};
pub use model::{
    BindOptions, Config, Container, HostConfig, LogConfig, Mount, MountDriver, RestartPolicy, State, Status,
    TmpfsOptions, Ulimit, VolumeOptions,
};
pub use mounts::{MountKind, MountPoint, Origin, ResolveOptions, VolumeProvider, VolumeRef};
pub use networking::{EndpointRequest, NetPlan, Networking, PortSpec};
pub use stats::StatsSample;
pub use store::{command_of, labels_of, merge_image_config, Containers, CreateRequest, COMPONENT, MIGRATIONS};
pub use update::{merge_update, UpdateConfig};
pub use wharf_fs::archive::PathStat;
