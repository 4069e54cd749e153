//! The volume service (`wharf-volume`) as the container lifecycle's `VolumeProvider`, and the
//! reconciliation of volume references with the container records at daemon start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use wharf_container::mounts::{MountPoint, VolumeProvider, VolumeRef};
use wharf_container::ContainerError;
use wharf_server::{ApiError, CreateVolume, PruneVolumes, VolumeBackend, VolumePruneReport, VolumeUsage, VolumeView};
use wharf_types::{ErrorKind, Filters};
use wharf_volume::{MountContext, Volume, VolumeError, Volumes};

/// The lifecycle's view of the volume service.
pub(crate) struct ContainerVolumes(pub(crate) Arc<Volumes>);

fn err(e: VolumeError) -> ContainerError {
    ContainerError::other(e)
}

fn volume_ref(v: Volume) -> VolumeRef {
    VolumeRef { name: v.name, driver: v.driver, mountpoint: v.mountpoint.display().to_string() }
}

impl VolumeProvider for ContainerVolumes {
    fn create(
        &self,
        name: Option<&str>,
        driver: &str,
        opts: &BTreeMap<String, String>,
        labels: &BTreeMap<String, String>,
        container: &str,
    ) -> Result<VolumeRef, ContainerError> {
        let v = self
            .0
            .create(wharf_volume::CreateVolume {
                name: name.map(str::to_string),
                driver: driver.to_string(),
                driver_opts: opts.clone(),
                labels: labels.clone(),
            })
            .map_err(err)?;
        self.0.acquire(&v.name, container).map_err(err)?;
        Ok(volume_ref(v))
    }

    fn acquire(&self, name: &str, _driver: &str, container: &str) -> Result<VolumeRef, ContainerError> {
        let v = self.0.get(name).map_err(err)?;
        self.0.acquire(name, container).map_err(err)?;
        Ok(volume_ref(v))
    }

    fn release(&self, name: &str, container: &str) {
        if let Err(e) = self.0.release(name, container) {
            tracing::warn!(volume = name, container, "releasing a volume reference: {e}");
        }
    }

    fn mount(&self, mount: &MountPoint, container: &str) -> Result<PathBuf, ContainerError> {
        let ctx = MountContext {
            container: container.to_string(),
            destination: mount.destination.clone(),
            read_write: mount.rw,
            propagation: mount.propagation.clone(),
        };
        self.0.mount(&mount.name, &ctx).map_err(err)
    }

    fn unmount(&self, mount: &MountPoint, container: &str) {
        if let Err(e) = self.0.unmount(&mount.name, container) {
            tracing::warn!(volume = %mount.name, container, "unmounting a volume: {e}");
        }
    }

    fn remove(&self, name: &str) -> Result<(), ContainerError> {
        self.0.remove(name, false).map_err(err)
    }

    fn copy_up(&self, src: &Path, dst: &Path) -> Result<bool, ContainerError> {
        wharf_volume::copy_up(src, dst).map_err(err)
    }

    fn remount(&self, mount: &MountPoint, container: &str) {
        if let Err(e) = self.0.restore_mount(&mount.name, container) {
            tracing::warn!(volume = %mount.name, container, "counting a running container's volume again: {e}");
        }
    }
}

/// Drops the references of containers that have no record (a create that died between
/// taking its volumes and recording itself, or a record removed while the daemon was down).
pub(crate) fn reconcile(volumes: &Volumes, containers: &wharf_container::Containers) {
    let Ok(all) = volumes.list(&Filters::default()) else { return };
    for v in all {
        for user in volumes.users(&v.name).unwrap_or_default() {
            if containers.get(&user).is_err() {
                tracing::info!(volume = %v.name, container = %user, "dropping the reference of a container that does not exist");
                let _ = volumes.release(&v.name, &user);
            }
        }
    }
}

/// `VolumeBackend` over the volume service: each call runs on tokio's blocking pool.
pub(crate) struct VolumeAdapter {
    volumes: Arc<Volumes>,
}

impl VolumeAdapter {
    pub(crate) fn new(volumes: Arc<Volumes>) -> Arc<Self> {
        Arc::new(VolumeAdapter { volumes })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Volumes) -> Result<T, VolumeError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let v = self.volumes.clone();
        match tokio::task::spawn_blocking(move || f(&v)).await {
            Ok(r) => r.map_err(ApiError::from_err),
            Err(e) => Err(ApiError::new(ErrorKind::Internal, format!("volume task failed: {e}"))),
        }
    }
}

/// Docker's `Volume` JSON of `v`.
fn view(v: Volume) -> VolumeView {
    VolumeView {
        created_at: v.created_at,
        driver: v.driver,
        // dockerd echoes what was stored: nothing (`null`) when the create sent none.
        labels: (!v.labels.is_empty()).then_some(v.labels),
        mountpoint: v.mountpoint.display().to_string(),
        name: v.name,
        options: (!v.options.is_empty()).then_some(v.options),
        scope: v.scope,
        status: v.status.unwrap_or_default(),
        usage_data: None,
    }
}

#[async_trait]
impl VolumeBackend for VolumeAdapter {
    async fn list(&self, filters: Filters) -> Result<(Vec<VolumeView>, Vec<String>), ApiError> {
        self.run(move |v| Ok((v.list(&filters)?.into_iter().map(view).collect(), Vec::new()))).await
    }

    async fn inspect(&self, name: &str) -> Result<VolumeView, ApiError> {
        let name = name.to_string();
        self.run(move |v| v.inspect(&name).map(view)).await
    }

    async fn create(&self, req: CreateVolume) -> Result<VolumeView, ApiError> {
        self.run(move |v| {
            v.create(wharf_volume::CreateVolume {
                name: (!req.name.is_empty()).then_some(req.name),
                driver: req.driver,
                driver_opts: req.driver_opts.unwrap_or_default(),
                labels: req.labels.unwrap_or_default(),
            })
            .map(view)
        })
        .await
    }

    async fn remove(&self, name: &str, force: bool) -> Result<(), ApiError> {
        let name = name.to_string();
        self.run(move |v| v.remove(&name, force)).await
    }

    async fn prune(&self, opts: PruneVolumes) -> Result<VolumePruneReport, ApiError> {
        self.run(move |v| {
            let mut filters = opts.filters;
            if opts.all {
                filters.add("all", "true");
            }
            let (volumes_deleted, space_reclaimed) = v.prune(&filters)?;
            Ok(VolumePruneReport { volumes_deleted, space_reclaimed })
        })
        .await
    }

    async fn disk_usage(&self) -> Result<Vec<VolumeView>, ApiError> {
        self.run(|v| {
            Ok(v.usage()?
                .into_iter()
                .filter(|(vol, _, _)| vol.driver == wharf_volume::LOCAL_DRIVER && vol.options.is_empty())
                .map(|(vol, size, ref_count)| VolumeView {
                    usage_data: Some(VolumeUsage { ref_count, size }),
                    ..view(vol)
                })
                .collect())
        })
        .await
    }
}
