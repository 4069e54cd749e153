//! `ContainerBackend` over the container service: each call runs the blocking service on
//! tokio's blocking pool.

use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use std::sync::atomic::{AtomicBool, Ordering};

use wharf_container::{ContainerError, CreateRequest, Lifecycle, PsFilter, Status, WaitFor};
use wharf_server::{
    ApiError, ContainerBackend, ContainerListOptions, Inspected, LogStream, LogsOptions, WaitCondition,
};
use wharf_types::{ErrorKind, Filters};

/// The adapter.
pub(crate) struct ContainerAdapter {
    life: Arc<Lifecycle>,
}

impl ContainerAdapter {
    pub(crate) fn new(life: Arc<Lifecycle>) -> Arc<Self> {
        Arc::new(ContainerAdapter { life })
    }
}

async fn run<T: Send + 'static>(
    l: &Arc<Lifecycle>,
    f: impl FnOnce(&Arc<Lifecycle>) -> Result<T, ContainerError> + Send + 'static,
) -> Result<T, ApiError> {
    let l = l.clone();
    match tokio::task::spawn_blocking(move || f(&l)).await {
        Ok(r) => r.map_err(ApiError::from_err),
        Err(e) => Err(ApiError::new(ErrorKind::Internal, format!("container task failed: {e}"))),
    }
}

/// A shim's attach stream as the server's async stream: bytes already read, then the socket.
fn into_attach_io(attached: wharf_container::Attached) -> Result<(Vec<u8>, Box<dyn wharf_server::AttachIo>), ApiError> {
    let internal = |e: std::io::Error| ApiError::new(ErrorKind::Internal, e.to_string());
    attached.stream.set_nonblocking(true).map_err(internal)?;
    let stream = tokio::net::UnixStream::from_std(attached.stream).map_err(internal)?;
    Ok((attached.buffered, Box::new(stream)))
}

fn inspected(l: &Lifecycle, c: wharf_container::Container, size: bool) -> Inspected {
    let cs = l.containers();
    let mut data = std::collections::BTreeMap::new();
    if cs.snapshots().driver() == "overlay2" {
        if let Ok(upper) = cs.snapshots().upper_dir(&c.id) {
            let base = upper.parent().map(|p| p.to_path_buf()).unwrap_or_default();
            data.insert("UpperDir".to_string(), upper.display().to_string());
            data.insert("MergedDir".to_string(), base.join("merged").display().to_string());
            data.insert("WorkDir".to_string(), base.join("work").display().to_string());
        }
    }
    let graph_driver = wharf_image::store::GraphDriver { name: cs.snapshots().driver().to_string(), data };
    let sizes = if size { cs.sizes(&c).ok() } else { None };
    let networks = l.networking().and_then(|n| n.settings(&c));
    Inspected { container: c, graph_driver, sizes, networks }
}

#[async_trait]
impl ContainerBackend for ContainerAdapter {
    async fn create(&self, req: CreateRequest) -> Result<(String, Vec<String>), ApiError> {
        run(&self.life, move |l| l.create(req).map(|(c, warnings)| (c.id, warnings))).await
    }

    async fn list(&self, opts: ContainerListOptions) -> Result<Vec<Inspected>, ApiError> {
        run(&self.life, move |l| {
            let cs = l.containers();
            let filter = PsFilter::new(
                &opts.filters,
                |n| cs.get(n),
                |img| cs.images().resolve(img).map(|id| vec![id]).unwrap_or_default(),
            )?;
            let mut out: Vec<Inspected> = Vec::new();
            for c in cs.list()? {
                let shown =
                    opts.all || opts.limit > 0 || c.state.status == Status::Running || c.state.status == Status::Paused;
                if shown && filter.keep(&c) {
                    out.push(inspected(l, c, opts.size));
                }
            }
            if opts.limit > 0 {
                out.truncate(opts.limit);
            }
            Ok(out)
        })
        .await
    }

    async fn inspect(&self, name: &str, size: bool) -> Result<Inspected, ApiError> {
        let name = name.to_string();
        run(&self.life, move |l| l.containers().get(&name).map(|c| inspected(l, c, size))).await
    }

    async fn start(&self, name: &str) -> Result<(), ApiError> {
        let name = name.to_string();
        run(&self.life, move |l| l.start(&name)).await
    }

    async fn stop(&self, name: &str, signal: Option<String>, timeout: Option<i64>) -> Result<(), ApiError> {
        let name = name.to_string();
        run(&self.life, move |l| l.stop(&name, signal.as_deref(), timeout)).await
    }

    async fn restart(&self, name: &str, signal: Option<String>, timeout: Option<i64>) -> Result<(), ApiError> {
        let name = name.to_string();
        run(&self.life, move |l| l.restart(&name, signal.as_deref(), timeout)).await
    }

    async fn kill(&self, name: &str, signal: &str) -> Result<(), ApiError> {
        let (name, signal) = (name.to_string(), signal.to_string());
        run(&self.life, move |l| l.kill(&name, &signal)).await
    }

    async fn wait(
        &self,
        name: &str,
        condition: WaitCondition,
    ) -> Result<Pin<Box<dyn std::future::Future<Output = (i64, Option<String>)> + Send>>, ApiError> {
        let name = name.to_string();
        let (c, rx) = run(&self.life, move |l| {
            let id = l.containers().get(&name)?.id;
            // Subscribe first, then look: an exit recorded in between still wakes us.
            let rx = match condition {
                WaitCondition::Removed => l.subscribe(&id, WaitFor::Removal),
                _ => l.subscribe(&id, WaitFor::Exit),
            };
            let c = l.containers().get(&id)?;
            let running = matches!(c.state.status, Status::Running | Status::Paused | Status::Restarting);
            let rx = (condition != WaitCondition::NotRunning || running).then_some(rx);
            Ok((c, rx))
        })
        .await?;
        let code = c.state.exit_code;
        Ok(Box::pin(async move {
            match rx {
                None => (code, None),
                Some(rx) => {
                    tokio::task::spawn_blocking(move || rx.recv().unwrap_or((code, None))).await.unwrap_or((code, None))
                }
            }
        }))
    }

    async fn remove(&self, name: &str, force: bool, volumes: bool) -> Result<(), ApiError> {
        let name = name.to_string();
        run(&self.life, move |l| l.remove(&name, force, volumes)).await
    }

    async fn rename(&self, name: &str, new_name: &str) -> Result<(), ApiError> {
        let (name, new_name) = (name.to_string(), new_name.to_string());
        run(&self.life, move |l| l.containers().rename(&name, &new_name)).await
    }

    async fn logs(&self, name: &str, opts: LogsOptions) -> Result<(bool, LogStream), ApiError> {
        let name = name.to_string();
        let (c, format, exited) = run(&self.life, move |l| {
            let (c, format) = l.log_source(&name)?;
            let exited = l.subscribe(&c.id, WaitFor::Exit);
            Ok((c, format, exited))
        })
        .await?;
        let running = matches!(c.state.status, Status::Running | Status::Paused | Status::Restarting);
        let stop = Arc::new(AtomicBool::new(false));
        let read = wharf_logs::ReadOptions {
            format: format.unwrap_or(wharf_logs::LogFormat::JsonFile),
            since: (opts.since > 0).then_some(opts.since),
            until: (opts.until > 0).then_some(opts.until),
            tail: opts.tail,
            follow: opts.follow && running,
            stop: Some(stop.clone()),
            ..Default::default()
        };
        let (tx, rx) = tokio::sync::mpsc::channel::<wharf_server::LogLine>(256);
        if read.follow {
            // Following ends when the container exits or the client goes away.
            let (stop2, tx2) = (stop.clone(), tx.clone());
            tokio::spawn(async move {
                let exit = tokio::task::spawn_blocking(move || exited.recv());
                tokio::select! {
                    _ = exit => {}
                    _ = tx2.closed() => {}
                }
                stop2.store(true, Ordering::SeqCst);
            });
        }
        let path = std::path::PathBuf::from(&c.log_path);
        let (want_out, want_err) = (opts.stdout, opts.stderr);
        tokio::task::spawn_blocking(move || {
            let _ = wharf_logs::read_logs(&path, &read, &mut |e| {
                let (stream, wanted) = match e.stream {
                    wharf_logs::Stream::Stdout => (1u8, want_out),
                    wharf_logs::Stream::Stderr => (2u8, want_err),
                };
                !wanted || tx.blocking_send((stream, e.time_nanos, e.bytes)).is_ok()
            });
        });
        let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|l| (l, rx)) });
        Ok((c.config.tty, Box::pin(stream)))
    }

    async fn prune(&self, filters: Filters) -> Result<(Vec<String>, u64), ApiError> {
        run(&self.life, move |l| l.prune(&filters)).await
    }

    async fn attach(
        &self,
        name: &str,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<(bool, wharf_server::AttachFuture), ApiError> {
        let name = name.to_string();
        let req = wharf_container::AttachRequest { stdin, stdout, stderr };
        let (c, rx) = run(&self.life, move |l| l.attach(&name, req)).await?;
        let fut = async move {
            let got = tokio::task::spawn_blocking(move || rx.recv())
                .await
                .map_err(|e| ApiError::new(ErrorKind::Internal, e.to_string()))?
                .map_err(|_| ApiError::new(ErrorKind::Internal, "the container was removed before it started"))?;
            into_attach_io(got.map_err(ApiError::from_err)?)
        };
        Ok((c.config.tty, Box::pin(fut)))
    }

    async fn resize(&self, name: &str, height: u16, width: u16) -> Result<(), ApiError> {
        let name = name.to_string();
        run(&self.life, move |l| l.resize(&name, height, width)).await
    }

    async fn exec_create(&self, name: &str, config: wharf_container::ExecConfig) -> Result<String, ApiError> {
        let name = name.to_string();
        run(&self.life, move |l| l.exec_create(&name, config)).await
    }

    async fn exec_start(&self, id: &str, detach: bool) -> Result<Option<(bool, wharf_server::AttachFuture)>, ApiError> {
        let id = id.to_string();
        let (tty, attached) = run(&self.life, move |l| {
            let tty = l.exec_inspect(&id)?.config.tty;
            match l.exec_start(&id, detach) {
                Ok(a) => Ok((tty, Ok(a))),
                // As dockerd: once the client waits on the stream, a failure to run the
                // process is written into it (the exit code is in the exec's inspect).
                Err(e) if !detach && l.exec_inspect(&id).is_ok_and(|x| x.exit_code.is_some()) => Ok((tty, Err(e))),
                Err(e) => Err(e),
            }
        })
        .await?;
        let attached = match attached {
            Ok(a) => a,
            Err(e) => {
                let text = format!("{e}\r\n").into_bytes();
                let mut bytes = Vec::new();
                if !tty {
                    bytes.extend_from_slice(&wharf_shim::protocol::frame_header(
                        wharf_shim::protocol::FrameStream::Stdout,
                        text.len() as u32,
                    ));
                }
                bytes.extend_from_slice(&text);
                let (ours, _gone) = tokio::io::duplex(1);
                let fut = async move { Ok((bytes, Box::new(ours) as Box<dyn wharf_server::AttachIo>)) };
                return Ok(Some((tty, Box::pin(fut))));
            }
        };
        let Some(attached) = attached else { return Ok(None) };
        let fut = async move { into_attach_io(attached) };
        Ok(Some((tty, Box::pin(fut))))
    }

    async fn exec_inspect(&self, id: &str) -> Result<wharf_container::ExecInfo, ApiError> {
        let id = id.to_string();
        run(&self.life, move |l| l.exec_inspect(&id)).await
    }

    async fn exec_resize(&self, id: &str, height: u16, width: u16) -> Result<(), ApiError> {
        let id = id.to_string();
        run(&self.life, move |l| l.exec_resize(&id, height, width)).await
    }

    async fn stats(&self, name: &str) -> Result<(wharf_container::Container, wharf_container::StatsSample), ApiError> {
        let name = name.to_string();
        run(&self.life, move |l| l.stats(&name)).await
    }

    async fn top(&self, name: &str, ps_args: &str) -> Result<(Vec<String>, Vec<Vec<String>>), ApiError> {
        let (name, ps_args) = (name.to_string(), ps_args.to_string());
        run(&self.life, move |l| l.top(&name, &ps_args)).await
    }

    async fn pause(&self, name: &str) -> Result<(), ApiError> {
        let name = name.to_string();
        run(&self.life, move |l| l.pause(&name, true)).await
    }

    async fn unpause(&self, name: &str) -> Result<(), ApiError> {
        let name = name.to_string();
        run(&self.life, move |l| l.pause(&name, false)).await
    }

    async fn update(&self, name: &str, update: wharf_container::UpdateConfig) -> Result<Vec<String>, ApiError> {
        let name = name.to_string();
        run(&self.life, move |l| l.update(&name, &update)).await
    }
}
