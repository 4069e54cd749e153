//! Random and mutated input never panics and never writes outside the root.

use super::roundtrip::{build_tree, diff_bytes};
use super::util::{gzip, zstd, RawTar, Rng, Sandbox};
use crate::{apply_layer, ApplyOptions, DiffOptions, DiffSource, WhiteoutMode};

fn opts(rng: &mut Rng) -> ApplyOptions {
    ApplyOptions {
        whiteout_mode: if rng.below(2) == 0 { WhiteoutMode::Remove } else { WhiteoutMode::Overlay },
        allow_devices: rng.below(2) == 0,
        max_layer_size: Some(8 << 20),
        ..Default::default()
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let sb = Sandbox::new();
    for i in 0..300 {
        let len = rng.below(4096) as usize;
        let mut data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        match i % 3 {
            1 => data.splice(0..0, [0x1f, 0x8b]).for_each(drop),
            2 => data.splice(0..0, [0x28, 0xb5, 0x2f, 0xfd]).for_each(drop),
            _ => {}
        }
        let o = opts(&mut rng);
        let _ = apply_layer(&sb.root(), &data[..], &o);
    }
    sb.assert_untouched();
}

/// A small layer with hostile and ordinary members to mutate.
fn seed(sb: &Sandbox) -> Vec<u8> {
    let mut t = RawTar::new();
    t.dir("d/");
    t.file("d/f", b"content");
    t.symlink("s", sb.sentinel().to_str().unwrap_or("/"));
    t.symlink("r", "../sentinel");
    t.hardlink("d/h", "d/f");
    t.file(".wh.x", b"");
    t.file("d/.wh..wh..opq", b"");
    t.pax(&[("path", b"p/long"), ("SCHILY.xattr.user.a", b"b"), ("mtime", b"1.5")]);
    t.file("ignored", b"pax");
    t.entry(b'L', b"././@LongLink", b"", 0o644, b"q/gnu-long\0");
    t.file("ignored", b"gnu");
    t.entry(b'6', b"fifo", b"", 0o600, b"");
    t.finish()
}

#[test]
fn mutated_layers_never_panic_or_escape() {
    let mut rng = Rng(42);
    let sb = Sandbox::new();
    let base = seed(&sb);
    let src = Sandbox::new();
    build_tree(&src.root());
    let (tree_tar, _) = diff_bytes(DiffSource::OverlayUpper { upper: &src.root() }, &DiffOptions::default());
    for i in 0..400 {
        let mut data = if i % 2 == 0 { base.clone() } else { tree_tar.clone() };
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(data.len() as u64) as usize;
            match rng.below(4) {
                0 => data[at] = rng.next() as u8,
                1 => data[at] ^= 1 << rng.below(8),
                2 => data.truncate(at),
                _ => {
                    // Plant a header-looking field: a '/' or ".." in a name field.
                    let block = at / 512 * 512;
                    if block + 4 < data.len() {
                        data[block..block + 3].copy_from_slice(b"../");
                    }
                }
            }
            if data.is_empty() {
                break;
            }
        }
        let layer = match i % 5 {
            3 => gzip(&data),
            4 => zstd(&data),
            _ => data,
        };
        let target = Sandbox::new();
        let o = opts(&mut rng);
        let _ = apply_layer(&target.root(), &layer[..], &o);
        target.assert_untouched();
    }
    sb.assert_untouched();
}
