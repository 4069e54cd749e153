//! `FilesBackend` over the container lifecycle: `docker cp` (stat, archive out, archive in),
//! `docker diff`, `docker export` and `docker commit`, each on tokio's blocking pool; tars
//! stream both ways through bounded channels.

use std::io;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use wharf_container::{CommitRequest, CopyInOptions, Lifecycle, PathStat};
use wharf_server::{ApiError, ByteStream, Change, CommitOptions, ExtractOptions, FilesBackend};
use wharf_types::ErrorKind;

use crate::streams::{body_reader, byte_stream, ChannelWriter};

/// The adapter.
pub(crate) struct FilesAdapter {
    life: Arc<Lifecycle>,
}

impl FilesAdapter {
    pub(crate) fn new(life: Arc<Lifecycle>) -> Arc<Self> {
        Arc::new(FilesAdapter { life })
    }
}

fn task_failed(e: tokio::task::JoinError) -> ApiError {
    ApiError::new(ErrorKind::Internal, format!("container task failed: {e}"))
}

/// Runs `f` on the lifecycle in the blocking pool.
async fn run<T: Send + 'static>(
    l: &Arc<Lifecycle>,
    f: impl FnOnce(&Lifecycle) -> wharf_container::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let l = l.clone();
    tokio::task::spawn_blocking(move || f(&l)).await.map_err(task_failed)?.map_err(ApiError::from_err)
}

#[async_trait]
impl FilesBackend for FilesAdapter {
    async fn stat_path(&self, name: &str, path: &str) -> Result<PathStat, ApiError> {
        let (name, path) = (name.to_string(), path.to_string());
        run(&self.life, move |l| l.stat_path(&name, &path)).await
    }

    async fn archive(&self, name: &str, path: &str) -> Result<(PathStat, ByteStream), ApiError> {
        let (name, path) = (name.to_string(), path.to_string());
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(8);
        let (stat_tx, stat_rx) = oneshot::channel::<PathStat>();
        let life = self.life.clone();
        let errors = tx.clone();
        let task = tokio::task::spawn_blocking(move || {
            let result = life.archive_path(&name, &path, |stat| {
                let _ = stat_tx.send(stat);
                ChannelWriter::new(tx)
            });
            if let Err(e) = &result {
                // After the header went out, an error can only cut the stream.
                let _ = errors.blocking_send(Err(io::Error::other(e.to_string())));
            }
            result
        });
        match stat_rx.await {
            Ok(stat) => Ok((stat, byte_stream(rx))),
            // No stat: the resource could not be opened; the task says why.
            Err(_) => match task.await.map_err(task_failed)? {
                Err(e) => Err(ApiError::from_err(e)),
                Ok(()) => Err(ApiError::new(ErrorKind::Internal, "archive ended without a stat")),
            },
        }
    }

    async fn extract(&self, name: &str, path: &str, opts: ExtractOptions, tar: ByteStream) -> Result<(), ApiError> {
        let (name, path) = (name.to_string(), path.to_string());
        let opts =
            CopyInOptions { no_overwrite_dir_non_dir: opts.no_overwrite_dir_non_dir, copy_uid_gid: opts.copy_uid_gid };
        run(&self.life, move |l| l.extract_to(&name, &path, body_reader(tar), opts)).await
    }

    async fn changes(&self, name: &str) -> Result<Vec<Change>, ApiError> {
        let name = name.to_string();
        let changes = run(&self.life, move |l| l.changes(&name)).await?;
        Ok(changes.into_iter().map(|c| Change { path: c.path, kind: c.kind }).collect())
    }

    async fn export(&self, name: &str) -> Result<ByteStream, ApiError> {
        let name = name.to_string();
        // Resolve the container first, so a missing one is a 404 rather than a cut stream.
        let check = name.clone();
        run(&self.life, move |l| l.containers().get(&check).map(|_| ())).await?;
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(8);
        let life = self.life.clone();
        tokio::task::spawn_blocking(move || {
            let errors = tx.clone();
            if let Err(e) = life.export(&name, ChannelWriter::new(tx)) {
                let _ = errors.blocking_send(Err(io::Error::other(e.to_string())));
            }
        });
        Ok(byte_stream(rx))
    }

    async fn commit(&self, o: CommitOptions) -> Result<String, ApiError> {
        let req = CommitRequest {
            container: o.container,
            repo: o.repo,
            tag: o.tag,
            comment: o.comment,
            author: o.author,
            pause: o.pause,
            changes: o.changes,
            config: o.config,
        };
        run(&self.life, move |l| l.commit(&req)).await
    }
}
