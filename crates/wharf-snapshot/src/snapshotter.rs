//! The [`Snapshotter`] trait (containerd's model) and the records it returns.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use wharf_types::{Mount, Timestamp};

use crate::Result;

/// Labels on a snapshot: free-form key/value pairs (e.g. the chain id of the layer it holds).
pub type Labels = BTreeMap<String, String>;

/// What a snapshot is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Writable, known by its *key*; can be committed.
    Active,
    /// Read-only, known by its *key*; cannot be committed.
    View,
    /// Immutable, known by its *name*; can be a parent.
    Committed,
}

impl Kind {
    /// Lower-case name, as in messages and metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Active => "active",
            Kind::View => "view",
            Kind::Committed => "committed",
        }
    }
}

/// What [`Snapshotter::stat`] and [`Snapshotter::list`] report about one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// The key (active, view) or name (committed).
    pub name: String,
    /// Active, view or committed.
    pub kind: Kind,
    /// The committed snapshot this one is based on.
    pub parent: Option<String>,
    /// Labels given at prepare/view, replaced by those given at commit.
    pub labels: Labels,
    /// Creation time, Unix nanoseconds.
    pub created: Timestamp,
    /// Last change (commit), Unix nanoseconds.
    pub updated: Timestamp,
}

/// Disk use of a snapshot's directory, as containerd counts it: allocated blocks (hard links
/// counted once) and inodes. Overlay counts only the snapshot's own changes; vfs, whose
/// snapshot is a full copy, counts the whole tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Bytes allocated on disk.
    pub size: u64,
    /// Number of inodes (files, directories, links…), the root directory included.
    pub inodes: u64,
}

/// How a layer's whiteouts must be applied into [`Snapshotter::apply_dir`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whiteouts {
    /// Overlay form: `.wh.x` becomes a 0:0 character device `x`, and an opaque directory gets
    /// `trusted.overlay.opaque=y`; the lower layers stay untouched.
    Overlay,
    /// The directory already holds a full copy of the parent: whiteouts delete.
    Delete,
}

/// A storage driver, in containerd's model.
///
/// # Terms
///
/// - A **snapshot** is a directory tree of a container's or image's filesystem, stacked on a
///   *parent*. It is *active* (writable), a *view* (read-only) or *committed* (immutable).
/// - A **key** names an active snapshot or a view. It is chosen by the caller, is valid until
///   the snapshot is committed or removed, and is what [`mounts`](Self::mounts) takes.
/// - A **name** names a committed snapshot; [`commit`](Self::commit) turns the active snapshot
///   under a key into the committed snapshot under a name. Keys and names share one namespace.
/// - A **parent** is always a committed snapshot (by name); a snapshot with children cannot be
///   removed. The empty parent (`None`) is the empty tree.
///
/// Nothing is mounted by the snapshotter: [`prepare`](Self::prepare) and
/// [`view`](Self::view) return [`Mount`]s as data, and whoever runs the container performs them.
///
/// # Importing a layer
///
/// For each layer of an image, bottom first, with `parent` the chain id of the layers below
/// (`None` for the first):
///
/// 1. `prepare("extract-<random> <chainid>", parent, labels)` makes an active snapshot.
/// 2. The image code applies the layer tar into [`apply_dir`](Self::apply_dir), with the
///    whiteout style of [`whiteouts`](Self::whiteouts). (The mounts could be used instead; the
///    directory avoids a mount.)
/// 3. `commit("<chainid>", "extract-… <chainid>", labels)` makes it a committed snapshot, the
///    parent of the next layer. If the name already exists (a concurrent pull), `remove` the
///    key and use the existing one.
///
/// # Running a container
///
/// 1. `prepare("<container id>", Some("<top chain id>"), labels)` makes the container's writable
///    layer and returns its mounts; the runtime mounts them as the rootfs.
/// 2. While it runs, changes land in [`upper_dir`](Self::upper_dir); `usage` measures them.
/// 3. `docker commit` = `commit("<new chain id>", "<container id>")` after stopping it — or, to
///    keep the container, compute the diff of the upper dir and import it as a new layer.
/// 4. `docker rm` = unmount, then `remove("<container id>")`: the writable layer is gone.
///
/// `view(key, parent)` gives a read-only tree of an image (export, `docker cp` from an image).
///
/// Implementations are synchronous and internally locked: call them from `spawn_blocking` and
/// from several threads at once.
pub trait Snapshotter: Send + Sync {
    /// The driver's name as `--storage-driver` spells it (`"overlay2"`, `"vfs"`).
    fn driver(&self) -> &'static str;

    /// The directory holding this snapshotter's state.
    fn root(&self) -> PathBuf;

    /// Creates an active (writable) snapshot `key` on `parent` and returns its mounts.
    ///
    /// Errors: `key` taken → Conflict; `parent` unknown → NotFound; `parent` not committed →
    /// InvalidArgument.
    fn prepare(&self, key: &str, parent: Option<&str>, labels: Labels) -> Result<Vec<Mount>>;

    /// Creates a read-only view `key` of `parent` and returns its mounts. Views cannot be
    /// committed.
    fn view(&self, key: &str, parent: Option<&str>, labels: Labels) -> Result<Vec<Mount>>;

    /// The mounts of an active snapshot or view (the same as `prepare`/`view` returned).
    /// A committed snapshot has no mounts of its own: view it instead (Conflict).
    fn mounts(&self, key: &str) -> Result<Vec<Mount>>;

    /// Turns the active snapshot `key` into the committed snapshot `name`, whose content is
    /// what was written into the active snapshot's upper dir. `labels` replace the old ones.
    /// The key is gone afterwards. The caller must have unmounted it.
    fn commit(&self, name: &str, key: &str, labels: Labels) -> Result<()>;

    /// Removes a snapshot and its directories. A snapshot that is the parent of another is
    /// refused (Conflict). The caller must have unmounted it.
    fn remove(&self, key: &str) -> Result<()>;

    /// Facts about one snapshot.
    fn stat(&self, key: &str) -> Result<Info>;

    /// Every snapshot, ordered by key/name.
    fn list(&self) -> Result<Vec<Info>>;

    /// Calls `f` on every snapshot, ordered by key/name (containerd's `Walk`).
    fn walk(&self, f: &mut dyn FnMut(&Info)) -> Result<()> {
        for info in self.list()? {
            f(&info);
        }
        Ok(())
    }

    /// Disk use of the snapshot's own content: measured now for an active snapshot, recorded at
    /// commit for a committed one.
    fn usage(&self, key: &str) -> Result<Usage>;

    /// The directory holding the snapshot's own content: the overlay upper dir, or the vfs
    /// snapshot's full tree. This is what `docker commit`'s diff reads.
    fn upper_dir(&self, key: &str) -> Result<PathBuf>;

    /// Where the image code applies a layer tar for the active snapshot `key`: the overlay
    /// upper dir, or the vfs tree that `prepare` already filled with a copy of the parent.
    fn apply_dir(&self, key: &str) -> Result<PathBuf> {
        self.upper_dir(key)
    }

    /// How whiteouts must be written into [`apply_dir`](Self::apply_dir).
    fn whiteouts(&self) -> Whiteouts;

    /// Moves the active snapshot `key` onto another `parent` (committed). Only drivers whose
    /// snapshots hold just their own changes ([`Whiteouts::Overlay`]) can: a layer can then be
    /// unpacked before its parent is known (while an archive streams) and placed afterwards.
    /// Others refuse (Internal, `Unsupported`); so does a snapshot with children or mounted.
    fn rebase(&self, key: &str, parent: Option<&str>) -> Result<()>;

    /// Removes directories no snapshot owns (left by a crash or a failed removal). Runs at
    /// open; safe to call at any time.
    fn cleanup(&self) -> Result<()>;
}
