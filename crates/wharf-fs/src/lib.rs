//! wharf-fs: the only code in wharf that touches untrusted paths.
//!
//! - [`Root`]: a directory handle whose methods resolve every path inside it (`openat2` with
//!   `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS` for parents, `*at` calls that do not follow the
//!   final component), used for snapshot directories, build contexts and container roots.
//! - [`write_atomic`]: temp file, fsync, rename, fsync of the directory; [`replace_file`]: the
//!   same without fsync, for per-start and exec-root state.
//! - [`apply_layer`]: applies a tar / tar+gzip / tar+zstd layer with OCI whiteouts, either by
//!   removal (vfs) or as overlayfs whiteouts (overlay2), computing the diff id in the same pass.
//! - [`diff_layer`]: writes the changes of an overlay upper dir, or of a changed copy against
//!   its parent, as a deterministic uncompressed layer.
//! - [`archive`]: Docker's container archive API (`stat`, `archive`, `extract`: `docker cp`)
//!   and `docker diff` (`changes`), every path resolved inside the container's root.
//!
//! **Architecture invariants**
//! - Every path from a tar, a build context or an API call is resolved inside its root: `..`
//!   cannot climb above it, and symlinks (absolute or relative) are resolved by the kernel
//!   relative to it. Nothing this crate does with untrusted input writes outside the root.
//! - The final component of a path is never followed when it is created, changed or removed;
//!   only regular files are ever opened to read or write content.
//! - The `tar` crate only parses headers here; extraction (`unpack`) is never used.
//! - Every input length (path, PAX record, GNU long name, layer size) is bounded before it is
//!   buffered; no untrusted input can make this crate panic.
//! - No global state: every operation takes its root and its options explicitly.
//!
//! Errors are [`FsError`]; [`FsError::is_bad_input`] tells input faults from host faults.

mod apply;
pub mod archive;
mod atomic;
mod diff;
mod error;
mod hash;
mod path;
mod root;
mod tar_read;
mod tar_write;

#[cfg(test)]
mod tests;

pub use apply::{apply_layer, ApplyOptions, ApplyStats, Compression, IdMap, IdMapping, WhiteoutMode};
pub use atomic::{replace_file, write_atomic};
pub use diff::{diff_layer, DiffOptions, DiffSource};
pub use error::{FsError, Result};
pub use root::{FileKind, FileTime, Metadata, NodeKind, Root};
