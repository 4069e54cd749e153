//! Docker's volumes: the volume service ([`Volumes`]) with the built-in `local` driver and
//! volume plugins, as a blocking API for the daemon (async callers use `spawn_blocking`).
//!
//! - [`service`]: volumes as records in the daemon's database (a `wharf-store` migration,
//!   [`MIGRATIONS`]: `volumes`, `volume_refs`), Docker's create semantics (anonymous volumes
//!   with a random name and the `com.docker.volume.anonymous` label, an existing name returned
//!   unchanged, a name taken by another driver a conflict), `get`/`inspect`/`list` with
//!   Docker's filters, `remove`, `prune` (API ≥ 1.42: anonymous volumes unless `all=true`),
//!   references (`acquire`/`release`/`users`: who keeps a volume in use), `mount`/`unmount`
//!   with per-container reference counts, `usage` for `docker system df`, and Docker's volume
//!   events (`create`, `destroy`, `mount`, `unmount`, `prune`) on the `wharf-events` bus.
//! - [`local`]: the `local` driver as moby's `volume/local`: `<root>/<name>/_data` (0701/0755),
//!   `opts.json`, name and option validation with Docker's texts, and mount(2) of `type`,
//!   `device`, `o` (tmpfs, bind via `type=none,o=bind`, nfs/cifs with `addr=` resolved) on the
//!   first mount, unmounted after the last. `size` (quotas) is refused as on any file system
//!   without XFS project quotas.
//! - [`plugin`]: volume plugins over Docker's plugin protocol v1: discovery in the plugin
//!   directories (`.sock`, `.spec`, `.json`), `Plugin.Activate`, `VolumeDriver.*`, a small
//!   bounded blocking HTTP/1.1 client with moby's timeouts.
//! - [`copy_up`]: Docker's copy of an image directory into a fresh volume, through
//!   `wharf_fs::Root` (symlinks copied, never followed).
//!
//! **Invariants.** A local volume's directory is complete (built under a temporary name,
//! synced, renamed) before its record exists, and is moved aside before its record is deleted,
//! so a crash leaves nothing that comes back as a broken volume: [`Volumes::open`] removes
//! unfinished directories, adopts a directory that holds data but no record (as moby's local
//! driver does), drops a record whose directory is gone, and never deletes a directory that
//! has a record. Nothing is ever deleted through a mount point (unmount first; the removal
//! walk refuses to cross devices). A volume referenced by a container or mounted for one is
//! never removed. Error texts and event attributes are Docker's; errors classify through
//! `wharf_types::Classify` (404 not found, 409 conflict/in use, 400 bad input, 500 otherwise).

pub mod copy;
mod error;
pub mod local;
pub mod plugin;
pub mod service;

pub use copy::{copy_up, dir_size};
pub use error::{Result, VolumeError};
pub use service::{
    CreateVolume, MountContext, Volume, Volumes, VolumesConfig, ANONYMOUS_LABEL, COMPONENT, LIST_FILTERS, LOCAL_DRIVER,
    MIGRATIONS, PRUNE_FILTERS,
};
