//! Small file helpers for the daemon's own directories (atomic writes are `wharf_fs::write_atomic`).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Creates `dir` (and parents) and sets its mode.
pub fn ensure_dir(dir: &Path, mode: u32) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
}
