//! `docker pull`, `docker push` and `docker login` in the daemon: `wharf-registry`'s client
//! for the protocol, the image store for the content, dockerd's progress messages in between.
//!
//! Pull: the reference is resolved and the manifest fetched (an index resolved to the
//! platform's manifest) and the config read *before* the answer starts, so "manifest unknown"
//! and "pull access denied" are plain error answers as with dockerd. Then, in a task: `Pulling
//! from`, per layer `Already exists` or `Pulling fs layer`, up to `max-concurrent-downloads`
//! layers streaming at once (`Waiting` for the others) — each into a verifying blob writer
//! under the pull's lease, unpacking while it streams where the driver allows (`Downloading`,
//! `Verifying Checksum`, `Download complete`) —, then the store records the image
//! (`Extracting`, `Pull complete`), and `Digest:` / `Status:` end the stream. Any failure ends
//! it with an error message and gives up the lease (nothing of the pull stays visible).
//!
//! Push: `The push refers to repository […]`, per layer (top first) `Preparing`, then with
//! up to `max-concurrent-uploads` at once: `Layer already exists` (HEAD), `Mounted from …`
//! (a RepoDigest of the image in another repository of the same registry), or `Pushing` /
//! `Pushed` (monolithic upload streamed from the content store); the config; the manifest
//! (the pulled bytes when the image came from a registry); `TAG: digest: … size: N` and the
//! `aux` result; the pushed digest becomes a RepoDigest.

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc as sync_mpsc, Arc};

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::{mpsc, Semaphore};
use wharf_image::model::ConfigSummary;
use wharf_image::store::{ImageStore, PullLease, PulledImage, PulledLayer, PushPlan};
use wharf_reference::{ImageRef, Platform};
use wharf_registry::client::{self, decode_registry_auth, Client, ClientError, Credentials, Session, UploadStart};
use wharf_registry::manifest::{self, Kind};
use wharf_server::{ApiError, AuthRequest, PullRequest};
use wharf_types::{Digest, ErrorKind, Progress};

/// The daemon's registry settings.
#[derive(Debug, Clone)]
pub(crate) struct RegistryConfig {
    pub(crate) options: client::Options,
    pub(crate) max_concurrent_downloads: usize,
    pub(crate) max_concurrent_uploads: usize,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            options: client::Options { insecure_registries: vec!["127.0.0.0/8".into()], registry_mirrors: vec![] },
            max_concurrent_downloads: 3,
            max_concurrent_uploads: 5,
        }
    }
}

/// The registry side of the image adapter.
pub(crate) struct Registry {
    client: Client,
    downloads: usize,
    uploads: usize,
}

/// Bytes between two `Downloading` / `Pushing` reports.
const PROGRESS_STEP: u64 = 256 * 1024;
/// The largest config read.
const CONFIG_MAX: usize = 16 << 20;

fn api(e: ClientError) -> ApiError {
    ApiError::from_err(e)
}

fn image_err(e: wharf_image::ImageError) -> String {
    e.to_string()
}

/// dockerd's short form of a digest in progress lines: 12 hex characters.
pub(crate) fn short(d: &str) -> String {
    let hex = d.split_once(':').map_or(d, |(_, h)| h);
    hex.chars().take(12).collect()
}

/// The reference a pull request names: `fromImage` with `tag` (a tag or a digest) applied.
/// Neither a tag nor a digest anywhere means every tag of the repository (the API's rule, and
/// `docker pull -a`): the name comes back without one.
pub(crate) fn pull_reference(image: &str, tag: &str) -> Result<ImageRef, ApiError> {
    let invalid = |e: wharf_reference::ReferenceError| ApiError::new(ErrorKind::InvalidArgument, e.to_string());
    let r = ImageRef::parse_normalized(image).map_err(invalid)?;
    if tag.is_empty() {
        Ok(r)
    } else if let Ok(d) = tag.parse::<Digest>() {
        Ok(r.trim().with_digest(d))
    } else {
        r.trim().with_tag(tag).map_err(invalid)
    }
}

/// A pull's progress sender: reports go out in order; a gone client does not stop the pull.
#[derive(Clone)]
struct Reporter(mpsc::Sender<Progress>);

impl Reporter {
    async fn status(&self, id: &str, status: &str) {
        let _ = self.0.send(Progress::status(id, status)).await;
    }
    async fn counted(&self, id: &str, status: &str, current: u64, total: u64) {
        let p = Progress::Status { id: id.into(), status: status.into(), current: Some(current), total: Some(total) };
        let _ = self.0.send(p).await;
    }
    async fn send(&self, p: Progress) {
        let _ = self.0.send(p).await;
    }
}

/// What the pull resolved before the answer started.
struct Resolved {
    session: Arc<Session>,
    reference: ImageRef,
    /// The digest of what the reference names (the index, for a multi-platform image).
    top_digest: Digest,
    manifest_bytes: Bytes,
    manifest_digest: Digest,
    config_bytes: Bytes,
    config_digest: Digest,
    layers: Vec<PulledLayer>,
}

impl Registry {
    pub(crate) fn new(cfg: RegistryConfig) -> Registry {
        Registry {
            client: Client::new(cfg.options),
            downloads: cfg.max_concurrent_downloads.max(1),
            uploads: cfg.max_concurrent_uploads.max(1),
        }
    }

    /// `POST /auth`.
    pub(crate) async fn login(&self, req: AuthRequest) -> Result<String, ApiError> {
        let creds: Credentials = req;
        // Without credentials there is nothing to check (and no registry to bother).
        if creds.is_empty() {
            return Err(ApiError::invalid("login: a username and password (or a registry token) are required"));
        }
        self.client.login(&creds.serveraddress, &creds).await.map_err(api)?;
        Ok(String::new())
    }

    /// Opens the pull's session: `(reference, platform, session)`.
    async fn open(&self, req: &PullRequest) -> Result<(ImageRef, Platform, Arc<Session>), ApiError> {
        let reference = pull_reference(&req.image, &req.tag)?;
        let platform = if req.platform.is_empty() {
            Platform::host()
        } else {
            Platform::parse_normalized(&req.platform).map_err(|e| ApiError::invalid(e.to_string()))?
        };
        let creds = req.auth.as_deref().and_then(decode_registry_auth);
        let session = match self.client.session(reference.domain(), reference.path(), creds, false, &[]).await {
            Ok(s) => s,
            // As dockerd's `translatePullError`: a refused token is "pull access denied" (404;
            // a 401 would make the docker CLI prompt for credentials).
            Err(ClientError::Unauthorized(m)) => {
                return Err(ApiError::new(
                    ErrorKind::NotFound,
                    format!(
                        "pull access denied for {}, repository does not exist or may require 'docker login': {m}",
                        reference.familiar_name()
                    ),
                ))
            }
            Err(e) => return Err(api(e)),
        };
        Ok((reference, platform, Arc::new(session)))
    }

    /// Fetches what `reference` (with a tag or a digest) names: manifest (resolved to the
    /// platform's), config, layers.
    async fn resolve(session: Arc<Session>, reference: ImageRef, platform: &Platform) -> Result<Resolved, ApiError> {
        let what = match reference.digest() {
            Some(d) => d.to_string(),
            None => reference.tag().unwrap_or("latest").to_string(),
        };
        let (bytes, media_type, top_digest) = session.manifest(&what).await.map_err(api)?;
        let mut parsed = manifest::parse(&bytes, Some(&media_type)).map_err(|e| ApiError::invalid(e.to_string()))?;
        let (mut manifest_bytes, mut manifest_digest) = (bytes, top_digest.clone());
        if parsed.kind == Kind::Index {
            let Some(d) = client::select_platform(&parsed, platform) else {
                return Err(ApiError::new(
                    ErrorKind::NotFound,
                    format!("no matching manifest for {} in the manifest list entries", platform),
                ));
            };
            let (b, mt, md) = session.manifest(d.digest.as_str()).await.map_err(api)?;
            parsed = manifest::parse(&b, Some(&mt)).map_err(|e| ApiError::invalid(e.to_string()))?;
            if parsed.kind != Kind::Image {
                return Err(ApiError::invalid(format!("{}: nested indexes are not supported", reference.familiar())));
            }
            (manifest_bytes, manifest_digest) = (b, md);
        }
        let config = parsed.config.clone().ok_or_else(|| ApiError::invalid("manifest without a config"))?;
        let config_bytes = session.blob_bytes(&config, CONFIG_MAX).await.map_err(api)?;
        let summary = ConfigSummary::parse(&config_bytes).map_err(ApiError::from_err)?;
        if summary.rootfs.diff_ids.len() != parsed.layers.len() {
            return Err(ApiError::invalid(format!(
                "{}: the manifest has {} layers but the config {} diff IDs",
                reference.familiar(),
                parsed.layers.len(),
                summary.rootfs.diff_ids.len()
            )));
        }
        let layers = parsed
            .layers
            .iter()
            .zip(&summary.rootfs.diff_ids)
            .map(|(l, diff)| PulledLayer {
                digest: l.digest.to_string(),
                size: l.size,
                media_type: l.media_type.clone(),
                diff_id: diff.to_string(),
            })
            .collect();
        Ok(Resolved {
            session,
            reference,
            top_digest,
            manifest_bytes,
            manifest_digest,
            config_bytes,
            config_digest: config.digest,
            layers,
        })
    }

    /// `POST /images/create?fromImage=…`.
    pub(crate) async fn pull(
        &self,
        store: Arc<ImageStore>,
        req: PullRequest,
    ) -> Result<mpsc::Receiver<Progress>, ApiError> {
        let (reference, platform, session) = self.open(&req).await?;
        let (tx, rx) = mpsc::channel(64);
        let downloads = self.downloads;
        if reference.tag().is_some() || reference.digest().is_some() {
            let resolved = Self::resolve(session, reference, &platform).await?;
            tokio::spawn(async move {
                let out = Reporter(tx);
                match run_pull(store, resolved, downloads, &out).await {
                    Ok((newer, shown)) => out.status("", &final_status(newer, &shown)).await,
                    Err(e) => out.send(Progress::Error(e)).await,
                }
            });
            return Ok(rx);
        }
        // Every tag, one after the other, then one status line for the repository.
        let tags = session.tags().await.map_err(api)?;
        tokio::spawn(async move {
            let out = Reporter(tx);
            let mut newer = false;
            for t in tags {
                let r = match reference.with_tag(&t) {
                    Ok(r) => r,
                    Err(e) => return out.send(Progress::Error(e.to_string())).await,
                };
                let resolved = match Self::resolve(session.clone(), r, &platform).await {
                    Ok(r) => r,
                    Err(e) => return out.send(Progress::Error(e.message)).await,
                };
                match run_pull(store.clone(), resolved, downloads, &out).await {
                    Ok((n, _)) => newer |= n,
                    Err(e) => return out.send(Progress::Error(e)).await,
                }
            }
            out.status("", &final_status(newer, &reference.familiar())).await;
        });
        Ok(rx)
    }

    /// `POST /images/{name}/push?tag=…`.
    pub(crate) async fn push(
        &self,
        store: Arc<ImageStore>,
        name: &str,
        tag: &str,
        auth: Option<String>,
    ) -> Result<mpsc::Receiver<Progress>, ApiError> {
        let base = ImageRef::parse_normalized(name).map_err(|e| ApiError::invalid(e.to_string()))?;
        let tag = if tag.is_empty() { base.tag().unwrap_or("latest").to_string() } else { tag.to_string() };
        let reference = base.trim().with_tag(&tag).map_err(|e| ApiError::invalid(e.to_string()))?;
        let full = reference.full();
        let plan = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.push_plan(&full))
                .await
                .map_err(|e| ApiError::new(ErrorKind::Internal, e.to_string()))?
                .map_err(ApiError::from_err)?
        };
        let info = {
            let (store, id) = (store.clone(), plan.id.clone());
            tokio::task::spawn_blocking(move || store.inspect(&id)).await.ok().and_then(Result::ok)
        };
        // Blobs of this image that another repository of the same registry already has.
        let sources: Vec<String> = info
            .map(|i| i.repo_digests)
            .unwrap_or_default()
            .iter()
            .filter_map(|d| ImageRef::parse_normalized(d).ok())
            .filter(|r| r.domain() == reference.domain() && r.path() != reference.path())
            .map(|r| r.path().to_string())
            .collect();
        let creds = auth.as_deref().and_then(decode_registry_auth);
        let (tx, rx) = mpsc::channel(64);
        let client = self.client.clone();
        let uploads = self.uploads;
        tokio::spawn(async move {
            let out = Reporter(tx);
            out.status("", &format!("The push refers to repository [{}]", reference.name())).await;
            let scopes: Vec<String> = sources.iter().map(|s| format!("repository:{s}:pull")).collect();
            let session = match client.session(reference.domain(), reference.path(), creds, true, &scopes).await {
                Ok(s) => s,
                Err(e) => return out.send(Progress::Error(e.to_string())).await,
            };
            match run_push(store.clone(), Arc::new(session), &plan, &sources, uploads, &tag, &out).await {
                Ok(digest) => {
                    let id = plan.id.clone();
                    match tokio::task::spawn_blocking(move || store.record_push(&id, &reference, digest)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::warn!("recording the push: {e}"),
                        Err(e) => tracing::warn!("recording the push: {e}"),
                    }
                }
                Err(e) => out.send(Progress::Error(e)).await,
            }
        });
        Ok(rx)
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, String> + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(f).await.map_err(|e| format!("image task failed: {e}"))?
}

/// dockerd's last line of a pull.
fn final_status(newer: bool, shown: &str) -> String {
    if newer {
        format!("Status: Downloaded newer image for {shown}")
    } else {
        format!("Status: Image is up to date for {shown}")
    }
}

/// Pulls what `r` resolved, up to its `Digest:` line; returns whether anything changed and the
/// name the status line shows.
async fn run_pull(
    store: Arc<ImageStore>,
    r: Resolved,
    downloads: usize,
    out: &Reporter,
) -> Result<(bool, String), String> {
    let id = match r.reference.digest() {
        Some(d) => d.to_string(),
        None => r.reference.tag().unwrap_or("latest").to_string(),
    };
    out.status(&id, &format!("Pulling from {}", r.reference.path())).await;
    let config_id = r.config_digest.to_string();
    let mut names = Vec::new();
    if r.reference.digest().is_none() {
        names.push(r.reference.clone());
    }
    names.push(r.reference.trim().with_digest(r.top_digest.clone()));
    let (present, up_to_date) = {
        let (store, diff_ids, primary, cid) = (
            store.clone(),
            r.layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>(),
            names[0].clone(),
            config_id.clone(),
        );
        blocking(move || {
            let present = store.layers_present(&diff_ids).map_err(image_err)?;
            let up = store.image_of_name(&primary).as_deref() == Some(cid.as_str());
            Ok((present, up))
        })
        .await?
    };
    let lease = Arc::new({
        let store = store.clone();
        blocking(move || store.pull_begin().map_err(image_err)).await?
    });
    let result = async {
        if !up_to_date {
            for (l, p) in r.layers.iter().zip(&present) {
                out.status(&short(&l.digest), if *p { "Already exists" } else { "Pulling fs layer" }).await;
            }
        }
        // Manifest and config first: small, and the image needs both.
        {
            let (store, lease, md, mb, cd, cb) = (
                store.clone(),
                lease.clone(),
                r.manifest_digest.to_string(),
                r.manifest_bytes.clone(),
                config_id.clone(),
                r.config_bytes.clone(),
            );
            blocking(move || {
                store.pull_bytes(&lease, &md, &mb).map_err(image_err)?;
                store.pull_bytes(&lease, &cd, &cb).map_err(image_err)
            })
            .await?;
        }
        let session = r.session.clone();
        let permits = Arc::new(Semaphore::new(downloads));
        let mut tasks = Vec::new();
        for (l, p) in r.layers.iter().zip(&present) {
            if *p {
                continue;
            }
            let (store, lease, session, permits, out, l) =
                (store.clone(), lease.clone(), session.clone(), permits.clone(), out.clone(), l.clone());
            tasks.push(tokio::spawn(async move {
                let sid = short(&l.digest);
                let permit = match permits.clone().try_acquire_owned() {
                    Ok(p) => p,
                    Err(_) => {
                        out.status(&sid, "Waiting").await;
                        permits.acquire_owned().await.map_err(|e| e.to_string())?
                    }
                };
                let r = download(&store, &lease, &session, &l, &out).await;
                drop(permit);
                r
            }));
        }
        let mut first_err = None;
        for t in tasks {
            let r = t.await.unwrap_or_else(|e| Err(format!("download task failed: {e}")));
            if let (Err(e), None) = (r, &first_err) {
                first_err = Some(e);
            }
        }
        if let Some(e) = first_err {
            return Err(e);
        }
        Ok(())
    }
    .await;
    let lease = match Arc::try_unwrap(lease) {
        Ok(l) => l,
        Err(_) => return Err("pull lease still in use".into()),
    };
    if let Err(e) = result {
        let store = store.clone();
        let _ = tokio::task::spawn_blocking(move || store.pull_abort(lease)).await;
        return Err(e);
    }
    // Register: the store reports unpacking by diff ID; the lines are the blobs'.
    let by_diff: HashMap<String, String> = r.layers.iter().map(|l| (short(&l.diff_id), short(&l.digest))).collect();
    let downloaded: Vec<String> =
        r.layers.iter().zip(&present).filter(|(_, p)| !**p).map(|(l, _)| short(&l.digest)).collect();
    let img = PulledImage {
        config_digest: config_id,
        config_size: r.config_bytes.len() as u64,
        manifest_digest: r.manifest_digest.to_string(),
        layers: r.layers.clone(),
        names: names.clone(),
    };
    {
        let (store, tx) = (store.clone(), out.0.clone());
        blocking(move || {
            let mut report = |p: Progress| {
                if let Progress::Status { id, status, current, total } = p {
                    let id = by_diff.get(&id).cloned().unwrap_or(id);
                    let _ = tx.blocking_send(Progress::Status { id, status, current, total });
                }
            };
            store.pull_finish(lease, &img, &mut report).map_err(image_err)
        })
        .await?;
    }
    for sid in &downloaded {
        out.status(sid, "Pull complete").await;
    }
    out.status("", &format!("Digest: {}", r.top_digest)).await;
    Ok((!up_to_date, names[0].familiar()))
}

/// Streams one layer into the store: chunks go to a blocking writer (verifying digest and size
/// at commit) over a bounded channel.
async fn download(
    store: &Arc<ImageStore>,
    lease: &Arc<PullLease>,
    session: &Session,
    l: &PulledLayer,
    out: &Reporter,
) -> Result<(), String> {
    let sid = short(&l.digest);
    let digest: Digest = l.digest.parse().map_err(|e: wharf_types::DigestError| e.to_string())?;
    let mut blob = session.blob(&digest).await.map_err(|e| e.to_string())?;
    let (tx, rx) = sync_mpsc::sync_channel::<Vec<u8>>(8);
    let writer = {
        let (store, lease, d, size) = (store.clone(), lease.clone(), l.digest.clone(), l.size);
        tokio::task::spawn_blocking(move || {
            let mut reader = ChanReader { rx, cur: Vec::new(), pos: 0 };
            store.pull_blob(&lease, &d, size, true, &mut reader).map_err(image_err)
        })
    };
    let (mut done, mut reported) = (0u64, 0u64);
    let mut failed = None;
    while let Some(chunk) = blob.chunk().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                failed = Some(e.to_string());
                break;
            }
        };
        done += chunk.len() as u64;
        if done > l.size {
            failed = Some(format!("filesystem layer verification failed for digest {}", l.digest));
            break;
        }
        // Hand the chunk over without blocking the runtime; wait on the blocking pool only
        // when the writer is behind.
        let sent = match tx.try_send(chunk.to_vec()) {
            Ok(()) => true,
            Err(sync_mpsc::TrySendError::Disconnected(_)) => false,
            Err(sync_mpsc::TrySendError::Full(v)) => {
                let tx2 = tx.clone();
                tokio::task::spawn_blocking(move || tx2.send(v).is_ok()).await.unwrap_or(false)
            }
        };
        if !sent {
            break; // the writer stopped: its error says why
        }
        if done - reported >= PROGRESS_STEP || done == l.size {
            reported = done;
            out.counted(&sid, "Downloading", done, l.size).await;
        }
    }
    if failed.is_some() {
        // Make the writer fail (a short stream would not verify either; this says it broke).
        let tx2 = tx.clone();
        let _ = tokio::task::spawn_blocking(move || tx2.send(Vec::new())).await;
    }
    drop(tx);
    if failed.is_none() {
        out.status(&sid, "Verifying Checksum").await;
    }
    let stored = writer.await.map_err(|e| format!("layer task failed: {e}"))?;
    if let Some(e) = failed {
        return Err(e);
    }
    stored?;
    out.status(&sid, "Download complete").await;
    if store.snapshotter().whiteouts() == wharf_snapshot::Whiteouts::Overlay {
        // Unpacked while it streamed.
        out.counted(&sid, "Extracting", l.size, l.size).await;
    }
    Ok(())
}

/// Reads the chunks a channel delivers; the end of the channel is the end of the stream.
struct ChanReader {
    rx: sync_mpsc::Receiver<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

impl Read for ChanReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(v) if v.is_empty() => return Err(io::Error::other("the download failed")),
                Ok(v) => {
                    self.cur = v;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

async fn run_push(
    store: Arc<ImageStore>,
    session: Arc<Session>,
    plan: &PushPlan,
    sources: &[String],
    uploads: usize,
    tag: &str,
    out: &Reporter,
) -> Result<Digest, String> {
    // dockerd lists layers top first.
    let layers: Vec<(String, u64, String)> = plan.layers.iter().rev().cloned().collect();
    let mut seen = std::collections::HashSet::new();
    let layers: Vec<_> = layers.into_iter().filter(|l| seen.insert(l.0.clone())).collect();
    for (d, _, _) in &layers {
        out.status(&short(d), "Preparing").await;
    }
    let permits = Arc::new(Semaphore::new(uploads));
    let mut tasks = Vec::new();
    for (d, size, _) in layers {
        let (store, session, permits, out, sources) =
            (store.clone(), session.clone(), permits.clone(), out.clone(), sources.to_vec());
        tasks.push(tokio::spawn(async move {
            let sid = short(&d);
            let permit = match permits.clone().try_acquire_owned() {
                Ok(p) => p,
                Err(_) => {
                    out.status(&sid, "Waiting").await;
                    permits.acquire_owned().await.map_err(|e| e.to_string())?
                }
            };
            let r = push_blob(&store, &session, &d, size, &sources, Some(&out)).await;
            drop(permit);
            r
        }));
    }
    let mut first_err = None;
    for t in tasks {
        let r = t.await.unwrap_or_else(|e| Err(format!("upload task failed: {e}")));
        if let (Err(e), None) = (r, &first_err) {
            first_err = Some(e);
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    push_blob(&store, &session, &plan.id, plan.config_size, &[], None).await?;
    let (bytes, media_type) = plan.manifest.clone();
    let size = bytes.len();
    let digest = session.put_manifest(tag, &media_type, Bytes::from(bytes)).await.map_err(|e| e.to_string())?;
    out.status("", &format!("{tag}: digest: {digest} size: {size}")).await;
    out.send(Progress::Aux(serde_json::json!({"Tag": tag, "Digest": digest.to_string(), "Size": size}).to_string()))
        .await;
    Ok(digest)
}

/// Uploads one blob unless the repository has it or can mount it.
async fn push_blob(
    store: &Arc<ImageStore>,
    session: &Session,
    digest: &str,
    size: u64,
    sources: &[String],
    out: Option<&Reporter>,
) -> Result<(), String> {
    let sid = short(digest);
    let d: Digest = digest.parse().map_err(|e: wharf_types::DigestError| e.to_string())?;
    let e = |e: ClientError| e.to_string();
    if session.blob_exists(&d).await.map_err(e)? {
        if let Some(out) = out {
            out.status(&sid, "Layer already exists").await;
        }
        return Ok(());
    }
    let mut location = None;
    // One mount attempt (from the first repository known to hold the image): a refused mount
    // starts an ordinary upload, which is then used.
    if let Some(from) = sources.first() {
        match session.start_upload(Some((&d, from))).await.map_err(e)? {
            UploadStart::Mounted => {
                if let Some(out) = out {
                    out.status(&sid, &format!("Mounted from {from}")).await;
                }
                return Ok(());
            }
            UploadStart::Location(l) => location = Some(l),
        }
    }
    let location = match location {
        Some(l) => l,
        None => match session.start_upload(None).await.map_err(e)? {
            UploadStart::Location(l) => l,
            UploadStart::Mounted => return Ok(()),
        },
    };
    let file = {
        let (store, digest) = (store.clone(), digest.to_string());
        blocking(move || store.open_blob(&digest).map_err(image_err)).await?
    };
    let done = Arc::new(AtomicU64::new(0));
    let reported = Arc::new(AtomicU64::new(0));
    let tx = out.map(|o| o.0.clone());
    let (done2, sid2) = (done.clone(), sid.clone());
    let stream =
        tokio_util::io::ReaderStream::with_capacity(tokio::fs::File::from_std(file), 256 * 1024).map(move |c| {
            if let Ok(c) = &c {
                let now = done2.fetch_add(c.len() as u64, Ordering::Relaxed) + c.len() as u64;
                if let Some(tx) = &tx {
                    if now - reported.load(Ordering::Relaxed) >= PROGRESS_STEP || now == size {
                        reported.store(now, Ordering::Relaxed);
                        let _ = tx.try_send(Progress::Status {
                            id: sid2.clone(),
                            status: "Pushing".into(),
                            current: Some(now),
                            total: Some(size),
                        });
                    }
                }
            }
            c
        });
    if let Some(out) = out {
        out.counted(&sid, "Pushing", 0, size).await;
    }
    session.put_blob(&location, &d, size, wharf_registry::client::http::stream_body(stream)).await.map_err(e)?;
    if let Some(out) = out {
        out.status(&sid, "Pushed").await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let r = |i: &str, t: &str| pull_reference(i, t).map(|r| r.full()).map_err(|_| ());
        assert_eq!(r("busybox", "").unwrap(), "docker.io/library/busybox");
        assert_eq!(r("busybox:latest", "").unwrap(), "docker.io/library/busybox:latest");
        assert_eq!(r("busybox", "1.36").unwrap(), "docker.io/library/busybox:1.36");
        assert_eq!(r("127.0.0.1:5000/test/bb:1", "").unwrap(), "127.0.0.1:5000/test/bb:1");
        let d = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
        assert_eq!(r("busybox", d).unwrap(), format!("docker.io/library/busybox@{d}"));
        assert_eq!(r(&format!("busybox@{d}"), "").unwrap(), format!("docker.io/library/busybox@{d}"));
        assert!(r("Busybox", "").is_err());
    }

    #[test]
    fn short_ids() {
        assert_eq!(short("sha256:0123456789abcdef0123"), "0123456789ab");
        assert_eq!(short("abc"), "abc");
    }
}
