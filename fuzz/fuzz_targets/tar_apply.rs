//! Fuzz target for `wharf-fs`: applies arbitrary bytes as a layer (plain, gzip or zstd, as the
//! magic bytes say) into a fresh temporary root, in both whiteout modes. It must never panic
//! (errors are fine), and nothing may appear beside the root.
//!
//! Run with `cargo +nightly fuzz run tar_apply` from the repository root.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_fs::{apply_layer, ApplyOptions, Root, WhiteoutMode};

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let root_path = dir.path().join("root");
    if std::fs::create_dir(&root_path).is_err() {
        return;
    }
    let Ok(root) = Root::new(&root_path) else { return };
    let mode = if data.first().is_some_and(|b| b & 1 == 1) { WhiteoutMode::Overlay } else { WhiteoutMode::Remove };
    let opts = ApplyOptions { whiteout_mode: mode, max_layer_size: Some(64 << 20), ..Default::default() };
    let _ = apply_layer(&root, data, &opts);
    let beside: Vec<_> = std::fs::read_dir(dir.path())
        .map(|r| r.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert_eq!(beside, ["root"], "the layer wrote beside its root");
});
