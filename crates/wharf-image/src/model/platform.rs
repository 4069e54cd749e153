//! Choosing an image from a manifest list / index for a platform, as `docker pull --platform`
//! does. The [`Platform`] type itself (containerd's parsing, normalization and compatibility
//! order) is `wharf-reference`'s, shared with the CLI; this module adds only what needs
//! oci-spec's index types.

use oci_spec::image::{Descriptor, ImageIndex};

use crate::error::{ImageError, Result};

pub use wharf_reference::Platform;

/// A descriptor's platform, normalized.
fn from_oci(p: &oci_spec::image::Platform) -> Platform {
    Platform::new(&p.os().to_string(), &p.architecture().to_string(), p.variant().as_deref())
}

/// Picks the manifest for `want` from a manifest list / index, as `docker pull --platform`
/// does: the best entry in [`Platform::compatible`] order, the first of equals. An index whose
/// only entry has no platform yields that entry.
pub fn select_manifest<'a>(index: &'a ImageIndex, want: &Platform) -> Result<&'a Descriptor> {
    let entries = index.manifests();
    for cand in want.compatible() {
        if let Some(d) = entries.iter().find(|d| d.platform().as_ref().is_some_and(|p| from_oci(p).matches(&cand))) {
            return Ok(d);
        }
    }
    if let [only] = entries.as_slice() {
        if only.platform().is_none() {
            return Ok(only);
        }
    }
    Err(ImageError::NoMatchingManifest { platform: want.to_string() })
}
