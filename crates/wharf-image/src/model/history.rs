//! `docker history`: the config's `history` entries matched to its layers, newest first.
//!
//! As dockerd's `ImageHistory`: each entry without `empty_layer` consumes the next diff ID of
//! `rootfs.diff_ids` (bottom first); `empty_layer` entries have no layer (size 0); more
//! non-empty entries than layers is an error.

use oci_spec::image::ImageConfiguration;

use crate::digest::parse_digest;
use crate::error::{ImageError, Result};
use crate::model::chain_ids;
use crate::Digest;

/// One line of `docker history`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// `created` (RFC 3339), as written in the config.
    pub created: Option<String>,
    /// `created_by` (the Dockerfile step).
    pub created_by: String,
    /// `comment`.
    pub comment: String,
    /// `author`.
    pub author: String,
    /// Whether the step made no layer.
    pub empty_layer: bool,
    /// The layer's diff ID, for steps that made one.
    pub diff_id: Option<Digest>,
    /// The layer's chain ID (to look its size up), for steps that made one.
    pub chain_id: Option<Digest>,
}

/// The history of an image, newest first, each non-empty step paired with its layer.
pub fn image_history(config: &ImageConfiguration) -> Result<Vec<HistoryEntry>> {
    let diff_ids = config
        .rootfs()
        .diff_ids()
        .iter()
        .map(|d| parse_digest(d).map_err(|e| ImageError::manifest(format!("diff id {d}: {e}"))))
        .collect::<Result<Vec<_>>>()?;
    let chains = chain_ids(&diff_ids);
    let mut out = Vec::new();
    let mut layer = 0usize;
    for h in config.history().as_deref().unwrap_or_default() {
        let empty = h.empty_layer().unwrap_or(false);
        let (diff_id, chain_id) = if empty {
            (None, None)
        } else {
            if layer >= diff_ids.len() {
                return Err(ImageError::manifest("too many non-empty layers in History section"));
            }
            layer += 1;
            (Some(diff_ids[layer - 1].clone()), Some(chains[layer - 1].clone()))
        };
        out.push(HistoryEntry {
            created: h.created().clone(),
            created_by: h.created_by().clone().unwrap_or_default(),
            comment: h.comment().clone().unwrap_or_default(),
            author: h.author().clone().unwrap_or_default(),
            empty_layer: empty,
            diff_id,
            chain_id,
        });
    }
    out.reverse();
    Ok(out)
}
