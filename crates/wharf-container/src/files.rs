//! A container's files: `docker cp` (the archive API: stat, archive, extract), `docker diff`,
//! `docker export` and `docker commit`.
//!
//! Everything goes through the daemon's own view of the container's root filesystem — the
//! mount made at start while it runs, else its snapshot mounted for the call in a private
//! directory — opened as a [`wharf_fs::Root`], so that paths and symlinks inside the
//! container never reach the host (the `docker cp` symlink-escape class). Files the runtime
//! creates as mount points (`/etc/hosts`, `/proc`, …: dockerd keeps them in an "init" layer
//! below the container's) are left out of `diff`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use wharf_fs::archive::{self, ChangeKind, PathStat, Resource};
use wharf_fs::{DiffOptions, DiffSource, FsError, Root};
use wharf_types::ErrorKind;

use crate::error::{ContainerError, Result};
use crate::lifecycle::Lifecycle;
use crate::model::{Container, Status};

/// What the runtime puts in a root filesystem as mount points; dockerd's init layer holds the
/// same, so `docker diff` never shows them.
const INIT_PATHS: &[&str] = &[
    "/dev",
    "/dev/console",
    "/dev/pts",
    "/dev/shm",
    "/proc",
    "/sys",
    "/.dockerenv",
    "/etc/hostname",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/mtab",
    "/sbin/docker-init",
];

/// One change of `docker diff`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Absolute path in the container.
    pub path: String,
    /// 0 modified, 1 added, 2 deleted.
    pub kind: u8,
}

/// `PUT /containers/{id}/archive` options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyInOptions {
    /// Refuse to replace a directory with a non-directory or the reverse.
    pub no_overwrite_dir_non_dir: bool,
    /// Owners become the container user's.
    pub copy_uid_gid: bool,
}

/// `POST /commit` options, container side.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommitRequest {
    /// The container.
    pub container: String,
    /// Repository to name the image (empty: untagged).
    pub repo: String,
    /// Tag.
    pub tag: String,
    /// Commit message.
    pub comment: String,
    /// Author.
    pub author: String,
    /// Pause a running container while its layer is read.
    pub pause: bool,
    /// Dockerfile instructions applied to the config.
    pub changes: Vec<String>,
    /// A config from the request body, merged over the container's.
    pub config: Option<serde_json::Value>,
}

/// A container's root filesystem for one call; a temporary mount is undone on drop.
struct RootFs {
    root: Root,
    _mount: Option<(wharf_snapshot::mount::MountGuard, TempDir)>,
}

/// Where a path of the archive API lives: the container's root filesystem, or the host
/// directory of the bind or volume mounted there (the daemon's view of the rootfs does not
/// show the container's mounts), with the path inside it.
struct Located {
    root: Root,
    path: String,
    /// Whether writes are allowed there (a read-only bind or volume refuses them).
    writable: bool,
}

/// `path` cleaned lexically (`.`/`..`/duplicate slashes), absolute.
fn clean_abs(path: &str) -> String {
    wharf_types::clean_path(&format!("/{path}"))
}

/// The bind or volume mount of `c` that holds `path` (the deepest), and the rest of the path
/// below its destination. tmpfs mounts live only in the container's mount namespace and are
/// not reachable here.
fn mount_holding<'a>(c: &'a Container, path: &str) -> Option<(&'a crate::mounts::MountPoint, String)> {
    let want = clean_abs(path);
    c.mounts
        .iter()
        .filter(|m| m.kind != crate::mounts::MountKind::Tmpfs && !m.source.is_empty())
        .filter_map(|m| {
            let dest = clean_abs(&m.destination);
            let rest = if want == dest {
                Some(String::new())
            } else {
                want.strip_prefix(&dest).filter(|r| r.starts_with('/') || dest == "/").map(str::to_string)
            }?;
            Some((m, rest, dest.len()))
        })
        .max_by_key(|(_, _, depth)| *depth)
        .map(|(m, rest, _)| (m, rest))
}

/// A directory removed on drop (after the mount in front of it is gone).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

static MOUNTS: AtomicU64 = AtomicU64::new(0);

/// Maps a filesystem error of the call on `name` to Docker's message and status.
fn fs_error(e: FsError, name: &str) -> ContainerError {
    match e {
        FsError::NotFound { path } => ContainerError::Other {
            kind: ErrorKind::NotFound,
            message: format!("Could not find the file {} in container {name}", path.display()),
        },
        FsError::NotADirectory { .. } => ContainerError::Invalid("extraction point is not a directory".into()),
        e => ContainerError::other(e),
    }
}

impl Lifecycle {
    /// The root filesystem of `c`: the start-time mount while it runs, else its snapshot
    /// mounted in a private directory for this call.
    fn root_fs(&self, c: &Container) -> Result<RootFs> {
        let running = matches!(c.state.status, Status::Running | Status::Paused | Status::Restarting);
        if running {
            let root = Root::new(self.rootfs_of(&c.id)).map_err(ContainerError::other)?;
            return Ok(RootFs { root, _mount: None });
        }
        let n = MOUNTS.fetch_add(1, Ordering::Relaxed);
        let dir = self.containers().container_dir(&c.id).join(format!("mnt-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| ContainerError::internal(format!("creating {}: {e}", dir.display())))?;
        let tmp = TempDir(dir.clone());
        let mounts = self.containers().snapshots().mounts(&c.id).map_err(ContainerError::other)?;
        let guard = wharf_snapshot::mount::mount_all(&mounts, &dir).map_err(ContainerError::other)?;
        let root = Root::new(&dir).map_err(ContainerError::other)?;
        Ok(RootFs { root, _mount: Some((guard, tmp)) })
    }

    /// Where `path` of `c` is: inside a bind or volume directory mounted there (a directory
    /// source; its subpath applied), else in the root filesystem `fs`. A trailing `/` or `/.`
    /// of `path` is kept, as the archive rules depend on it.
    fn locate(&self, c: &Container, fs: &RootFs, path: &str) -> Result<Located> {
        if let Some((m, rest)) = mount_holding(c, path) {
            let mut source = PathBuf::from(&m.source);
            if !m.subpath.is_empty() {
                source = source.join(&m.subpath);
            }
            if source.is_dir() {
                let root = Root::new(&source).map_err(ContainerError::other)?;
                let mut inner = if rest.is_empty() { "/".to_string() } else { rest };
                if path.ends_with("/.") {
                    inner = format!("{}/.", inner.trim_end_matches('/'));
                } else if path.ends_with('/') && !inner.ends_with('/') {
                    inner.push('/');
                }
                return Ok(Located { root, path: inner, writable: m.rw });
            }
        }
        let root = Root::new(fs.root.path()).map_err(ContainerError::other)?;
        Ok(Located { root, path: path.to_string(), writable: !c.host_config.readonly_rootfs })
    }

    /// `HEAD /containers/{id}/archive?path=`.
    pub fn stat_path(&self, name: &str, path: &str) -> Result<PathStat> {
        let c = self.containers().get(name)?;
        let fs = self.root_fs(&c)?;
        let at = self.locate(&c, &fs, path)?;
        archive::stat(&at.root, &at.path).map_err(|e| fs_error(e, name))
    }

    /// `GET /containers/{id}/archive?path=`: resolves `path`, hands its stat to `start`, which
    /// returns where the tar goes, then writes it (the filesystem stays mounted meanwhile).
    pub fn archive_path<W: Write>(&self, name: &str, path: &str, start: impl FnOnce(PathStat) -> W) -> Result<()> {
        let c = self.containers().get(name)?;
        let fs = self.root_fs(&c)?;
        let at = self.locate(&c, &fs, path)?;
        let res = Resource::open(&at.root, &at.path).map_err(|e| fs_error(e, name))?;
        let out = start(res.stat().clone());
        res.write_tar(out).map_err(|e| fs_error(e, name))?;
        self.containers().publish("archive-path", &c, &[("path", path.to_string())]);
        Ok(())
    }

    /// `PUT /containers/{id}/archive?path=`: extracts `tar` into the directory `path`.
    pub fn extract_to(&self, name: &str, path: &str, tar: impl std::io::Read, opts: CopyInOptions) -> Result<()> {
        let c = self.containers().get(name)?;
        let fs = self.root_fs(&c)?;
        let at = self.locate(&c, &fs, path)?;
        if !at.writable {
            let message = if mount_holding(&c, path).is_some() {
                "mounted volume is marked read-only"
            } else {
                "container rootfs is marked read-only"
            };
            return Err(ContainerError::Other { kind: ErrorKind::Forbidden, message: message.into() });
        }
        let chown = if opts.copy_uid_gid {
            let u = wharf_runtime::resolve_user(fs.root.path(), &c.config.user, &[])
                .map_err(|e| ContainerError::Invalid(e.to_string()))?;
            Some((u.uid, u.gid))
        } else {
            None
        };
        let xo = archive::ExtractOptions {
            no_overwrite_dir_non_dir: opts.no_overwrite_dir_non_dir,
            chown,
            ..Default::default()
        };
        archive::extract(&at.root, &at.path, tar, &xo).map_err(|e| fs_error(e, name))?;
        self.containers().publish("extract-to-dir", &c, &[("path", path.to_string())]);
        Ok(())
    }

    /// `GET /containers/{id}/changes`, without the runtime's mount points.
    pub fn changes(&self, name: &str) -> Result<Vec<FileChange>> {
        let c = self.containers().get(name)?;
        let snaps = self.containers().snapshots();
        let upper = Root::new(snaps.upper_dir(&c.id).map_err(ContainerError::other)?).map_err(ContainerError::other)?;
        let dirs = self.containers().images().layer_dirs(&c.image_id)?;
        let lowers: Vec<Root> =
            dirs.iter().map(Root::new).collect::<std::result::Result<_, _>>().map_err(ContainerError::other)?;
        let source = if snaps.driver() == "overlay2" {
            DiffSource::Overlay { upper: &upper, lowers: &lowers }
        } else {
            match lowers.first() {
                Some(lower) => DiffSource::Compare { lower, upper: &upper },
                None => DiffSource::OverlayUpper { upper: &upper },
            }
        };
        let all = archive::changes(source).map_err(ContainerError::other)?;
        Ok(without_init_paths(all.into_iter().map(|ch| (ch.path, ch.kind)).collect()))
    }

    /// `GET /containers/{id}/export`: the container's whole filesystem as a tar into `out`.
    pub fn export<W: Write>(&self, name: &str, out: W) -> Result<()> {
        let c = self.containers().get(name)?;
        let fs = self.root_fs(&c)?;
        let res = Resource::open(&fs.root, "/.").map_err(|e| fs_error(e, name))?;
        res.write_contents_tar(out).map_err(|e| fs_error(e, name))?;
        self.containers().publish("export", &c, &[]);
        Ok(())
    }

    /// `POST /commit`: a new image from the container's changes and config; its ID.
    pub fn commit(&self, req: &CommitRequest) -> Result<String> {
        let c = self.containers().get(&req.container)?;
        let paused = req.pause && c.state.status == Status::Running && self.pause(&c.id, true).is_ok();
        let result = self.commit_inner(&c, req);
        if paused {
            let _ = self.pause(&c.id, false);
        }
        let id = result?;
        let image_ref = if req.repo.is_empty() {
            String::new()
        } else {
            format!("{}:{}", req.repo, if req.tag.is_empty() { "latest" } else { &req.tag })
        };
        self.containers().publish(
            "commit",
            &c,
            &[("comment", req.comment.clone()), ("imageID", id.clone()), ("imageRef", image_ref)],
        );
        Ok(id)
    }

    fn commit_inner(&self, c: &Container, req: &CommitRequest) -> Result<String> {
        let mut config = serde_json::to_value(&c.config).map_err(|e| ContainerError::internal(e.to_string()))?;
        if let Some(given) = req.config.as_ref().and_then(|v| v.as_object()) {
            // dockerd's `merge`: what the request sets wins, the container fills the rest.
            if let Some(obj) = config.as_object_mut() {
                for (k, v) in given {
                    let empty = v.is_null()
                        || v.as_str().is_some_and(str::is_empty)
                        || v.as_array().is_some_and(Vec::is_empty)
                        || v.as_object().is_some_and(serde_json::Map::is_empty);
                    if !empty {
                        obj.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        let snaps = self.containers().snapshots().clone();
        let upper_dir = snaps.upper_dir(&c.id).map_err(ContainerError::other)?;
        let lower_dir = if snaps.driver() == "overlay2" {
            None
        } else {
            self.containers().images().layer_dirs(&c.image_id)?.into_iter().next()
        };
        let (reader, writer) = std::io::pipe().map_err(|e| ContainerError::internal(format!("pipe: {e}")))?;
        let differ = std::thread::Builder::new()
            .name("commit-diff".into())
            .spawn(move || -> std::result::Result<(), String> {
                let upper = Root::new(&upper_dir).map_err(|e| e.to_string())?;
                let lower = match lower_dir {
                    Some(d) => Some(Root::new(d).map_err(|e| e.to_string())?),
                    None => None,
                };
                let source = match &lower {
                    Some(lower) => DiffSource::Compare { lower, upper: &upper },
                    None => DiffSource::OverlayUpper { upper: &upper },
                };
                // The runtime's mount points stay out, as dockerd's init layer keeps them out.
                let opts =
                    DiffOptions { exclude: INIT_PATHS.iter().map(|p| p.to_string()).collect(), ..Default::default() };
                wharf_fs::diff_layer(source, writer, &opts).map(|_| ()).map_err(|e| e.to_string())
            })
            .map_err(|e| ContainerError::internal(format!("spawning the diff: {e}")))?;
        let opts = wharf_image::store::CommitOptions {
            parent: Some(c.image_id.clone()),
            config,
            changes: req.changes.clone(),
            author: req.author.clone(),
            comment: req.comment.clone(),
            created_by: c.config.cmd.clone().unwrap_or_default().join(" "),
            created: None,
            repo: req.repo.clone(),
            tag: req.tag.clone(),
        };
        let committed = self.containers().images().commit(reader, &opts);
        let diffed = differ.join().map_err(|_| ContainerError::internal("the diff thread panicked"))?;
        let id = committed?;
        diffed.map_err(|e| ContainerError::internal(format!("reading the container's changes: {e}")))?;
        Ok(id)
    }
}

/// Drops the runtime's mount points (and what is under them) and the directory changes only
/// they caused, keeping the order.
fn without_init_paths(all: Vec<(String, ChangeKind)>) -> Vec<FileChange> {
    let is_init = |p: &str| INIT_PATHS.iter().any(|i| p == *i || p.strip_prefix(i).is_some_and(|r| r.starts_with('/')));
    let kept: Vec<(String, ChangeKind)> = all.into_iter().filter(|(p, _)| !is_init(p)).collect();
    let under = |dir: &str, p: &str| {
        p.len() > dir.len() && p.starts_with(dir) && (dir == "/" || p.as_bytes()[dir.len()] == b'/')
    };
    // A modified directory stays if it has a change left below it, or if no init path is
    // below it (then its own metadata changed).
    let init_below = |dir: &str| INIT_PATHS.iter().any(|i| under(dir, i));
    kept.iter()
        .filter(|(p, k)| *k != ChangeKind::Modified || !init_below(p) || kept.iter().any(|(q, _)| under(p, q)))
        .map(|(p, k)| FileChange { path: p.clone(), kind: k.code() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_mounts_are_found_deepest_first() {
        use crate::mounts::{MountKind, MountPoint};
        let mp = |kind, source: &str, destination: &str| MountPoint {
            kind,
            source: source.into(),
            destination: destination.into(),
            ..Default::default()
        };
        let c = Container {
            mounts: vec![
                mp(MountKind::Volume, "/v/data", "/data"),
                mp(MountKind::Bind, "/h/deep", "/data/deep"),
                mp(MountKind::Tmpfs, "", "/run"),
            ],
            ..Default::default()
        };
        let at = |p: &str| mount_holding(&c, p).map(|(m, rest)| (m.source.clone(), rest));
        assert_eq!(at("/data"), Some(("/v/data".into(), String::new())));
        assert_eq!(at("/data/x/../f"), Some(("/v/data".into(), "/f".into())));
        assert_eq!(at("/data/deep/a/b"), Some(("/h/deep".into(), "/a/b".into())));
        assert_eq!(at("/database"), None);
        assert_eq!(at("/run/x"), None);
        assert_eq!(at("/etc/passwd"), None);
        assert_eq!(clean_abs("a//b/./c/.."), "/a/b");
    }

    #[test]
    fn init_paths_and_the_changes_they_caused_are_left_out() {
        let all = vec![
            ("/dev".to_string(), ChangeKind::Added),
            ("/etc".to_string(), ChangeKind::Modified),
            ("/etc/hostname".to_string(), ChangeKind::Added),
            ("/etc/hosts".to_string(), ChangeKind::Added),
            ("/proc".to_string(), ChangeKind::Added),
            ("/tmp".to_string(), ChangeKind::Modified),
            ("/tmp/x".to_string(), ChangeKind::Added),
        ];
        let out: Vec<(String, u8)> = without_init_paths(all).into_iter().map(|c| (c.path, c.kind)).collect();
        assert_eq!(out, [("/tmp".to_string(), 0), ("/tmp/x".to_string(), 1)]);
        let all = vec![
            ("/etc".to_string(), ChangeKind::Modified),
            ("/etc/hosts".to_string(), ChangeKind::Added),
            ("/etc/passwd".to_string(), ChangeKind::Modified),
            ("/devices".to_string(), ChangeKind::Added),
        ];
        let out: Vec<String> = without_init_paths(all).into_iter().map(|c| c.path).collect();
        assert_eq!(out, ["/etc", "/etc/passwd", "/devices"]);
    }

    #[test]
    fn missing_paths_read_as_docker() {
        let e = fs_error(FsError::NotFound { path: "/nosuch".into() }, "web");
        assert_eq!(e.to_string(), "Could not find the file /nosuch in container web");
        assert_eq!(wharf_types::Classify::kind(&e), ErrorKind::NotFound);
    }
}
