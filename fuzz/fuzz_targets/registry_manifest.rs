//! Fuzz target for `wharf-registry`'s parsers of untrusted input: manifests as pushed
//! (`manifest::parse`, under each media type a client may send), request paths
//! (`server::route::parse`), repository names, tags and references. None may panic, and
//! whatever they accept must be safe to use as a path below a directory.
//!
//! Run with `cargo +nightly fuzz run registry_manifest` from the repository root.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_registry::manifest::{self, MANIFEST_TYPES};
use wharf_registry::server::route::{self, Route};
use wharf_registry::{Reference, RepoName, Tag};

fn check_name(name: &RepoName) {
    assert!(name.as_str().len() <= wharf_registry::name::NAME_MAX);
    for c in name.components() {
        assert!(!c.is_empty() && c != "." && c != ".." && !c.starts_with('_') && !c.starts_with('.'), "{c:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let (selector, body) = data.split_first().unwrap_or((&0, data));
    let content_type = match selector % 6 {
        0 => None,
        n => Some(MANIFEST_TYPES.get(n as usize - 1).copied().unwrap_or("application/octet-stream")),
    };
    if let Ok(m) = manifest::parse(body, content_type) {
        assert!(MANIFEST_TYPES.contains(&m.media_type));
        let all: Vec<_> = m.references().collect();
        for d in m.required_blobs() {
            assert!(all.contains(&&d.digest));
        }
        let desc = m.referrer_descriptor(wharf_types::Digest::sha256_of(body), body.len() as u64);
        let _ = serde_json::to_vec(&desc).expect("descriptors serialize");
    }
    let Ok(text) = std::str::from_utf8(body) else { return };
    if let Ok(name) = RepoName::parse(text) {
        check_name(&name);
    }
    if let Ok(tag) = Tag::parse(text) {
        assert!(!tag.as_str().contains('/') && !tag.as_str().starts_with('.'));
    }
    let _ = Reference::parse(text);
    if let Ok(Some(r)) = route::parse(text) {
        match r {
            Route::Base | Route::Catalog => {}
            Route::Tags(n) | Route::UploadStart(n) => check_name(&n),
            Route::Manifest(n, s) | Route::Blob(n, s) | Route::Upload(n, s) | Route::Referrers(n, s) => {
                check_name(&n);
                assert!(!s.contains('/'));
            }
        }
    }
});
