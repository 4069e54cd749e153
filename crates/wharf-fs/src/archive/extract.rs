//! `PUT /containers/{id}/archive`: a tar extracted into a directory of the container, as
//! dockerd's `containerExtractToDir` with `archive.Untar` does, on the same machinery as
//! [`crate::apply_layer`] (so every member is resolved inside the root the same way).
//!
//! Differences from a layer apply, all dockerd's:
//! - The extraction point is resolved with every symlink followed (its last component too) and
//!   must be a directory: [`FsError::NotFound`] when it does not exist,
//!   [`FsError::NotADirectory`] when it is something else.
//! - Member paths and hard-link targets are relative to the extraction point and may not climb
//!   above it ([`FsError::Escape`]); a symlink whose target, taken relative to the link's
//!   directory, climbs above it is refused too (dockerd's breakout check). Symlinks already in
//!   the tree, or created by earlier members, are followed *inside the root* only.
//! - `.wh.` names are ordinary files (no whiteouts).
//! - A member naming the extraction point itself: `.` is skipped, `/` gives it its metadata, a
//!   non-directory is skipped (refused with `no_overwrite_dir_non_dir`).
//! - With `no_overwrite_dir_non_dir`, replacing a directory with a non-directory or the reverse
//!   is [`FsError::WouldOverwrite`]; otherwise the existing object is replaced (a directory
//!   meeting a directory is merged: it only takes the member's metadata).
//! - Owners are the tar's (mapped with `id_map`), or all `chown` with dockerd's `copyUIDGID`.
//!   Missing parents are created 0755, owned by (mapped) root.
//!
//! An error leaves what was extracted before it in place, as dockerd does.

use std::io::Read;
use std::path::Path;

use crate::apply::{self, ApplyOptions, ApplyStats, Extraction, IdMap, WhiteoutMode};
use crate::error::Result;
use crate::root::Root;

use super::{lookup_error, resolve_in_scope, ApiPath};

/// Options of [`extract`].
#[derive(Debug, Clone)]
pub struct ExtractOptions {
    /// `noOverwriteDirNonDir`: refuse to replace a directory with a non-directory or the
    /// reverse.
    pub no_overwrite_dir_non_dir: bool,
    /// `copyUIDGID`: the owner every extracted object gets (the container user's uid and gid,
    /// as host ids), instead of the owners in the tar.
    pub chown: Option<(u32, u32)>,
    /// Remap the tar's uids and gids (the daemon's `--userns-remap`).
    pub id_map: Option<IdMap>,
    /// Whether character and block devices are created (dockerd creates them); else skipped.
    pub allow_devices: bool,
    /// Longest member path or link target accepted, in bytes (default 4096).
    pub max_path_len: usize,
    /// Largest PAX header or GNU long name/link record accepted, in bytes (default 1 MiB).
    pub max_header_size: u64,
    /// Largest uncompressed tar accepted, in bytes (default: no limit).
    pub max_size: Option<u64>,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            no_overwrite_dir_non_dir: false,
            chown: None,
            id_map: None,
            allow_devices: true,
            max_path_len: 4096,
            max_header_size: 1 << 20,
            max_size: None,
        }
    }
}

/// Extracts `tar` (plain, gzip or zstd) into the directory `dest_dir` of `root` (a path as the
/// API names it), as dockerd's archive `PUT` (see the module docs). Returns what was read and
/// written.
pub fn extract(root: &Root, dest_dir: impl AsRef<Path>, tar: impl Read, opts: &ExtractOptions) -> Result<ApplyStats> {
    let dest = ApiPath::parse(dest_dir.as_ref())?;
    let shown = dest.shown();
    // Every symlink followed, the last one too (dockerd: `filepath.EvalSymlinks`); it must be
    // an existing directory.
    let base = resolve_in_scope(root, &dest.rel).map_err(|e| lookup_error(e, &shown))?;
    drop(root.resolve_dir(&base).map_err(|e| lookup_error(e, &shown))?);
    let apply_opts = ApplyOptions {
        whiteout_mode: WhiteoutMode::Remove,
        allow_devices: opts.allow_devices,
        id_map: opts.id_map.clone(),
        max_path_len: opts.max_path_len,
        max_header_size: opts.max_header_size,
        max_layer_size: opts.max_size,
    };
    let ex =
        Extraction { base, plain: true, no_overwrite_dir_non_dir: opts.no_overwrite_dir_non_dir, chown: opts.chown };
    apply::unpack(root, tar, &apply_opts, &ex)
}
