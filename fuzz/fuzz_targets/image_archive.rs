//! Fuzz target for `wharf-image`'s archive reader (`docker load` input): arbitrary bytes as a
//! docker-archive or OCI layout, plain or compressed, into an in-memory blob sink. It must
//! never panic (errors are fine), and every image it returns must name blobs the sink holds.
//!
//! Run with `cargo +nightly fuzz run image_archive` from the repository root.

#![no_main]

use std::collections::HashMap;
use std::io::Read;

use libfuzzer_sys::fuzz_target;
use wharf_image::archive::{read_archive, BlobSink};
use wharf_image::{Digest, Platform};

#[derive(Default)]
struct MemSink(HashMap<Digest, Vec<u8>>);

impl BlobSink for MemSink {
    fn put(&mut self, expected: Option<&Digest>, r: &mut dyn Read) -> wharf_image::Result<Digest> {
        let mut data = Vec::new();
        r.take(16 << 20).read_to_end(&mut data).map_err(|e| wharf_image::ImageError::Io { context: "read".into(), source: e })?;
        let d = wharf_image::sha256_digest(&data);
        if let Some(e) = expected {
            if *e != d {
                return Err(wharf_image::ImageError::DigestMismatch { what: "member".into(), expected: e.clone(), actual: d });
            }
        }
        self.0.insert(d.clone(), data);
        Ok(d)
    }
}

fuzz_target!(|data: &[u8]| {
    let mut sink = MemSink::default();
    if let Ok(images) = read_archive(data, &mut sink, &Platform::new("linux", "amd64", None)) {
        for img in images {
            assert!(sink.0.contains_key(&img.config_digest), "config not stored");
            for l in img.layers {
                assert!(sink.0.contains_key(&l.digest), "layer not stored");
            }
        }
    }
});
