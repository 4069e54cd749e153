//! The OCI bundle on disk: `config.json` written atomically (temporary file, fsync, rename,
//! fsync of the directory), read back by the shim and the runtime.

use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use oci_spec::runtime::Spec;

/// Name of the spec file inside a bundle.
pub const CONFIG_JSON: &str = "config.json";

/// Writes `spec` as `<dir>/config.json` (mode 0600: the environment may hold secrets),
/// creating `dir` (mode 0711) when missing. A crash leaves the old file or the new one.
pub fn write_bundle(dir: &Path, spec: &Spec) -> io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(0o711).create(dir)?;
    let bytes = serde_json::to_vec(spec).map_err(io::Error::other)?;
    // Rewritten at every start, in the exec root: atomic, not durable.
    wharf_fs::replace_file(dir.join(CONFIG_JSON), &bytes, 0o600).map_err(|e| match e {
        wharf_fs::FsError::Io { source, .. } => source,
        other => io::Error::other(other),
    })
}

/// Reads `<dir>/config.json`.
pub fn read_bundle(dir: &Path) -> io::Result<Spec> {
    let bytes = std::fs::read(dir.join(CONFIG_JSON))?;
    serde_json::from_slice(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}
