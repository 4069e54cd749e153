//! `POST /build` wiring: the server's `BuildBackend` over `wharf_build::Builder`, and the
//! builder's `RunStep` over the container lifecycle (a RUN is a container created from the
//! current image, started attached, waited for, committed and removed, as dockerd's classic
//! builder does; `COPY --from` reads a path of another image through a created container's
//! archive API).

use std::io::Read;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;
use wharf_build::{BuildError, BuildOptions, Builder, RunOutcome, RunRequest, RunStep};
use wharf_container::{AttachRequest, CommitRequest, Lifecycle, WaitFor};
use wharf_server::{ApiError, BuildBackend, BuildRequest, ByteStream, ProgressStream};
use wharf_types::Progress;

use crate::streams::body_reader;

/// The `/build` backend.
pub struct BuildAdapter {
    builder: Arc<Builder>,
    /// Where contexts are extracted (`<data-root>/tmp`).
    tmp: std::path::PathBuf,
}

impl BuildAdapter {
    /// A backend building with `images` and running RUN steps on `life`.
    pub fn new(
        images: Arc<wharf_image::store::ImageStore>,
        life: Arc<Lifecycle>,
        db: wharf_store::Db,
        tmp: std::path::PathBuf,
    ) -> Arc<BuildAdapter> {
        let runner: Arc<dyn RunStep> = Arc::new(LifecycleRunner(life));
        Arc::new(BuildAdapter { builder: Arc::new(Builder::with_db(images, runner, db)), tmp })
    }
}

#[async_trait]
impl BuildBackend for BuildAdapter {
    async fn build(&self, body: ByteStream, req: BuildRequest) -> Result<ProgressStream, ApiError> {
        let (tx, rx) = mpsc::channel::<Progress>(64);
        let builder = self.builder.clone();
        let tmp = self.tmp.clone();
        tokio::task::spawn_blocking(move || {
            let result = (|| -> Result<String, BuildError> {
                std::fs::create_dir_all(&tmp).map_err(|e| BuildError(format!("creating {}: {e}", tmp.display())))?;
                let dir = ContextDir::create(&tmp)?;
                wharf_build::context::extract(dir.path(), body_reader(body))?;
                let dockerfile =
                    if req.dockerfile.is_empty() { "Dockerfile".to_string() } else { req.dockerfile.clone() };
                wharf_build::context::apply_dockerignore(dir.path(), &dockerfile)?;
                let opts = BuildOptions {
                    dockerfile,
                    tags: req.tags.clone(),
                    build_args: req.build_args.clone(),
                    labels: req.labels.clone(),
                    target: req.target.clone(),
                    nocache: req.nocache,
                    quiet: req.quiet,
                    rm: req.rm,
                    forcerm: req.forcerm,
                };
                let mut report = |p: Progress| {
                    let _ = tx.blocking_send(p);
                };
                builder.build(dir.path(), &opts, &mut report)
            })();
            if let Err(e) = result {
                let _ = tx.blocking_send(Progress::Error(e.0));
            }
        });
        Ok(Box::pin(futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|p| (p, rx)) })))
    }
}

/// RUN and `COPY --from` over the container lifecycle.
struct LifecycleRunner(Arc<Lifecycle>);

fn err(e: impl std::fmt::Display) -> BuildError {
    BuildError(e.to_string())
}

impl LifecycleRunner {
    fn create(&self, image: &str, mut config: serde_json::Value) -> Result<String, BuildError> {
        config["Image"] = serde_json::json!(image);
        config["AttachStdout"] = serde_json::json!(true);
        config["AttachStderr"] = serde_json::json!(true);
        let config: wharf_container::Config = serde_json::from_value(config).map_err(err)?;
        let req = wharf_container::CreateRequest { config, ..Default::default() };
        let (c, _) = self.0.create(req).map_err(err)?;
        Ok(c.id)
    }
}

impl RunStep for LifecycleRunner {
    fn run(&self, req: RunRequest, report: &mut dyn FnMut(Progress)) -> Result<RunOutcome, BuildError> {
        let image = req.image.clone().ok_or_else(|| err("no image to run the command in: FROM scratch"))?;
        let id = self.create(&image, req.run_config.clone())?;
        let short = id[..12].to_string();
        report(Progress::Stream(format!(" ---> Running in {short}\n")));
        let result = (|| -> Result<RunOutcome, BuildError> {
            let (_, attached) =
                self.0.attach(&id, AttachRequest { stdin: false, stdout: true, stderr: true }).map_err(err)?;
            let exited = self.0.subscribe(&id, WaitFor::Exit);
            self.0.start(&id).map_err(err)?;
            if let Ok(Ok(a)) = attached.recv() {
                let mut input = std::io::Cursor::new(a.buffered).chain(a.stream);
                let mut head = [0u8; 8];
                while input.read_exact(&mut head).is_ok() {
                    let len = u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as u64;
                    let mut buf = Vec::new();
                    if (&mut input).take(len).read_to_end(&mut buf).is_err() {
                        break;
                    }
                    report(Progress::Stream(String::from_utf8_lossy(&buf).into_owned()));
                }
            }
            let (code, _) = exited.recv().map_err(|_| err("the container did not report its exit"))?;
            if code != 0 {
                return Ok(RunOutcome::Failed(code));
            }
            let image = self
                .0
                .commit(&CommitRequest {
                    container: id.clone(),
                    config: Some(req.commit_config.clone()),
                    ..Default::default()
                })
                .map_err(err)?;
            Ok(RunOutcome::Committed(image))
        })();
        let succeeded = matches!(result, Ok(RunOutcome::Committed(_)));
        if (succeeded && req.remove_on_success) || (!succeeded && req.remove_on_failure) {
            let _ = self.0.remove(&id, true, true);
            report(Progress::Stream(format!(" ---> Removed intermediate container {short}\n")));
        }
        result
    }

    fn archive(&self, image: &str, path: &str, out: &mut dyn std::io::Write) -> Result<bool, BuildError> {
        let id = self.create(image, serde_json::json!({"Cmd": ["true"], "Entrypoint": []}))?;
        let mut is_dir = false;
        let path = if path.starts_with('/') { path.to_string() } else { format!("/{path}") };
        let result = self.0.archive_path(&id, &path, |st| {
            is_dir = st.is_dir();
            out
        });
        let _ = self.0.remove(&id, true, true);
        result.map_err(|e| {
            BuildError(format!("{e}").replace(
                "Could not find the file",
                "failed to compute cache key: failed to calculate checksum: could not find the file",
            ))
        })?;
        Ok(is_dir)
    }
}

/// The directory a context is extracted to; removed on drop.
struct ContextDir(std::path::PathBuf);

impl ContextDir {
    fn create(tmp: &std::path::Path) -> Result<ContextDir, BuildError> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = tmp.join(format!("build-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path).map_err(|e| BuildError(format!("creating the context directory: {e}")))?;
        Ok(ContextDir(path))
    }

    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for ContextDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
