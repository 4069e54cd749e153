//! Image archives: reading what `docker load` accepts (docker-archive, old and new style, and
//! OCI image layouts such as skopeo's `oci-archive:`) and writing what `docker save` (Docker
//! 25+) produces, as streams, independent of storage.
//!
//! Storage is reached through two small traits the daemon implements over its content store:
//! [`BlobSink`] (where archive members go while the tar is read) and [`BlobSource`] (where saved
//! blobs come from). Archive member paths are only ever keys in a map: nothing is unpacked.

mod read;
mod write;

#[cfg(test)]
mod tests;

use std::io::Read;

use crate::error::{ImageError, Result};
use crate::reference::ImageRef;
use crate::Digest;

pub use read::{read_archive, ArchiveFormat, LoadedImage, LoadedLayer};
pub use write::{oci_manifest, write_archive, SaveImage};

/// Where the members of an archive being loaded go: one content-addressed blob per member.
pub trait BlobSink {
    /// Stores every byte of `r` as one blob and returns its digest. When `expected` is given,
    /// content with another digest must be refused and not become visible under `expected`.
    /// Blobs stored for a load that then fails are left to the store's GC (hold a lease).
    fn put(&mut self, expected: Option<&Digest>, r: &mut dyn Read) -> Result<Digest>;
}

/// Where the blobs of images being saved come from.
pub trait BlobSource {
    /// Opens the blob named `digest`: its exact size in bytes and a reader of exactly those
    /// bytes. For layers, `digest` is a diff ID and the blob must be the *uncompressed* layer
    /// tar (what `docker save` writes). [`ImageError::BlobNotFound`] when it is not there.
    fn open(&self, digest: &Digest) -> Result<(u64, Box<dyn Read + '_>)>;
}

/// Normalizes an archive member path: `./` and empty components dropped; an absolute path, a
/// `..` component, a backslash or a NUL is refused.
pub(crate) fn clean_member_path(raw: &str) -> Result<String> {
    if raw.starts_with('/') {
        return Err(ImageError::archive(format!("member path {raw:?} is absolute")));
    }
    if raw.contains(['\\', '\0']) {
        return Err(ImageError::archive(format!("member path {raw:?} has a forbidden character")));
    }
    let mut parts = Vec::new();
    for c in raw.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(ImageError::archive(format!("member path {raw:?} leaves the archive"))),
            c => parts.push(c),
        }
    }
    Ok(parts.join("/"))
}

/// Resolves a symlink target relative to the directory of `link`, inside the archive's
/// namespace: `..` may climb back towards the root but never above it.
pub(crate) fn resolve_link_target(link: &str, target: &str) -> Result<String> {
    if target.starts_with('/') || target.contains(['\\', '\0']) {
        return Err(ImageError::archive(format!("link {link:?} points to {target:?} outside the archive")));
    }
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop();
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(ImageError::archive(format!("link {link:?} points to {target:?} outside the archive")));
                }
            }
            c => parts.push(c),
        }
    }
    Ok(parts.join("/"))
}

/// `blobs/<alg>/<hex>` for a digest.
pub(crate) fn blob_path(d: &Digest) -> String {
    format!("blobs/{}/{}", d.algorithm(), d.digest())
}

/// The repository tags of an image as `manifest.json` lists them (familiar, tagged only).
pub(crate) fn familiar_tags(refs: &[ImageRef]) -> Vec<String> {
    refs.iter()
        .filter(|r| r.tag().is_some())
        .map(|r| r.trim().with_tag(r.tag().unwrap_or_default()))
        .filter_map(|r| r.ok().map(|r| r.familiar()))
        .collect()
}
