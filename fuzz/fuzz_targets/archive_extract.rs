//! Fuzz target for `wharf-fs`'s archive API (`docker cp`): extracts arbitrary bytes as a tar
//! (plain, gzip or zstd) into a directory of a fresh temporary root, with options taken from
//! the first byte, then archives the whole root back and stats it. Nothing may panic (errors
//! are fine), and nothing may appear beside the root.
//!
//! Run with `cargo +nightly fuzz run archive_extract` from the repository root.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_fs::archive::{archive, extract, stat, ExtractOptions};
use wharf_fs::Root;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let root_path = dir.path().join("root");
    if std::fs::create_dir_all(root_path.join("dest/sub")).is_err() {
        return;
    }
    // A symlink in the tree that points out of the root, as a hostile container would leave.
    let _ = std::os::unix::fs::symlink(dir.path(), root_path.join("dest/out"));
    let Ok(root) = Root::new(&root_path) else { return };
    let flags = data.first().copied().unwrap_or(0);
    let opts = ExtractOptions {
        no_overwrite_dir_non_dir: flags & 1 == 1,
        chown: (flags & 2 == 2).then_some((1000, 1000)),
        allow_devices: flags & 4 == 4,
        max_size: Some(64 << 20),
        ..Default::default()
    };
    let dest = if flags & 8 == 8 { "/dest/sub" } else { "/dest" };
    let _ = extract(&root, dest, data, &opts);
    let _ = stat(&root, "/dest/out/root");
    let _ = archive(&root, "/", std::io::sink());
    let beside: Vec<_> = std::fs::read_dir(dir.path())
        .map(|r| r.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert_eq!(beside, ["root"], "the extraction wrote beside its root");
});
