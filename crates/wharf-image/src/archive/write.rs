//! Writing image archives (`docker save`) in Docker 25+'s shape: an OCI image layout
//! (`oci-layout`, `index.json`, `blobs/sha256/…` with config, uncompressed layers and an OCI
//! manifest per image) that is also a docker-archive (`manifest.json`, `repositories`).
//!
//! Output is deterministic: members in a fixed order (directories, then per image its config,
//! new layers and manifest, then `index.json`, `manifest.json`, `oci-layout`, `repositories`),
//! mtime 0, owner 0:0, modes 0644/0755, and JSON with fixed field order and sorted maps, so the
//! same input always gives byte-identical archives.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write};

use serde::Serialize;

use super::{blob_path, familiar_tags, BlobSource};
use crate::digest::{unwrap_io, VerifyingReader};
use crate::error::{ImageError, Result};
use crate::model::media_types as mt;
use crate::reference::ImageRef;
use crate::Digest;

const MAX_CONFIG: u64 = 8 << 20;

/// An image to save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveImage {
    /// The config blob's digest (the image ID); must be sha256.
    pub config_digest: Digest,
    /// The layers' diff IDs, bottom first; the source serves them as uncompressed tars.
    pub layers: Vec<Digest>,
    /// The names to record (tagged references; digest-only ones are not recorded, as Docker).
    pub repo_tags: Vec<ImageRef>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DescriptorOut<'a> {
    media_type: &'a str,
    digest: String,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<BTreeMap<&'static str, String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ManifestOut<'a> {
    schema_version: u32,
    media_type: &'a str,
    config: DescriptorOut<'a>,
    layers: Vec<DescriptorOut<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IndexOut<'a> {
    schema_version: u32,
    media_type: &'a str,
    manifests: Vec<DescriptorOut<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestItemOut {
    config: String,
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

fn to_json<T: Serialize>(v: &T) -> Vec<u8> {
    // Serializing these plain structs cannot fail.
    serde_json::to_vec(v).expect("serializing archive metadata")
}

/// The OCI manifest `docker save` writes for an image: OCI config and uncompressed OCI layer
/// media types, in this exact byte form (its sha256 is the manifest digest in `index.json`).
pub fn oci_manifest(config: (&Digest, u64), layers: &[(Digest, u64)]) -> Vec<u8> {
    to_json(&ManifestOut {
        schema_version: 2,
        media_type: mt::OCI_MANIFEST,
        config: DescriptorOut {
            media_type: mt::OCI_CONFIG,
            digest: config.0.to_string(),
            size: config.1,
            annotations: None,
        },
        layers: layers
            .iter()
            .map(|(d, size)| DescriptorOut {
                media_type: mt::OCI_LAYER,
                digest: d.to_string(),
                size: *size,
                annotations: None,
            })
            .collect(),
    })
}

struct Out<W: Write> {
    tar: tar::Builder<W>,
}

impl<W: Write> Out<W> {
    fn header(size: u64, mode: u32, kind: tar::EntryType) -> tar::Header {
        let mut h = tar::Header::new_ustar();
        h.set_size(size);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_entry_type(kind);
        h
    }

    fn dir(&mut self, path: &str) -> Result<()> {
        let mut h = Self::header(0, 0o755, tar::EntryType::Directory);
        self.tar.append_data(&mut h, path, std::io::empty()).map_err(|e| unwrap_io("writing archive", e))
    }

    fn file(&mut self, path: &str, size: u64, data: impl Read) -> Result<()> {
        let mut h = Self::header(size, 0o644, tar::EntryType::Regular);
        self.tar.append_data(&mut h, path, data).map_err(|e| unwrap_io("writing archive", e))
    }
}

fn require_sha256(d: &Digest) -> Result<()> {
    if d.algorithm().as_ref() != "sha256" {
        return Err(ImageError::UnsupportedMediaType(format!(
            "digest algorithm {} in {d} (docker save writes sha256 only)",
            d.algorithm()
        )));
    }
    Ok(())
}

/// Writes `images` as one archive to `out`, reading configs and uncompressed layers from
/// `source` (each verified against its digest while it is copied), and returns `out`.
pub fn write_archive<W: Write>(images: &[SaveImage], source: &dyn BlobSource, out: W) -> Result<W> {
    let mut out = Out { tar: tar::Builder::new(out) };
    out.dir("blobs/")?;
    out.dir("blobs/sha256/")?;

    let mut written: HashSet<Digest> = HashSet::new();
    let mut layer_sizes: HashMap<Digest, u64> = HashMap::new();
    let mut index = Vec::new();
    let mut items = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();

    for img in images {
        require_sha256(&img.config_digest)?;
        // The config: small, read whole (bounded) to learn its size and check it.
        let (size, r) = source.open(&img.config_digest)?;
        if size > MAX_CONFIG {
            return Err(ImageError::manifest(format!("config {} is too large ({size} bytes)", img.config_digest)));
        }
        let mut config = Vec::with_capacity(size as usize);
        VerifyingReader::new(r, size, &img.config_digest)?
            .read_to_end(&mut config)
            .map_err(|e| unwrap_io("reading config", e))?;
        if written.insert(img.config_digest.clone()) {
            out.file(&blob_path(&img.config_digest), size, &config[..])?;
        }

        let mut layer_descs = Vec::with_capacity(img.layers.len());
        for diff_id in &img.layers {
            require_sha256(diff_id)?;
            let lsize = match layer_sizes.get(diff_id) {
                Some(s) => *s,
                None => {
                    let (lsize, r) = source.open(diff_id)?;
                    let verifying = VerifyingReader::new(r, lsize, diff_id)?;
                    out.file(&blob_path(diff_id), lsize, verifying)?;
                    written.insert(diff_id.clone());
                    layer_sizes.insert(diff_id.clone(), lsize);
                    lsize
                }
            };
            layer_descs.push((diff_id.clone(), lsize));
        }

        let manifest = oci_manifest((&img.config_digest, size), &layer_descs);
        let manifest_digest = crate::digest::sha256_digest(&manifest);
        if written.insert(manifest_digest.clone()) {
            out.file(&blob_path(&manifest_digest), manifest.len() as u64, &manifest[..])?;
        }

        let tagged: Vec<&ImageRef> = img.repo_tags.iter().filter(|r| r.tag().is_some()).collect();
        let descriptor = |annotations| DescriptorOut {
            media_type: mt::OCI_MANIFEST,
            digest: manifest_digest.to_string(),
            size: manifest.len() as u64,
            annotations,
        };
        if tagged.is_empty() {
            index.push(descriptor(None));
        }
        for r in &tagged {
            let tag = r.tag().unwrap_or_default().to_string();
            let full = r.trim().with_tag(&tag)?.full();
            index.push(descriptor(Some(BTreeMap::from([
                ("io.containerd.image.name", full),
                ("org.opencontainers.image.ref.name", tag.clone()),
            ]))));
            if let Some((top, _)) = layer_descs.last() {
                repositories.entry(r.familiar_name()).or_default().insert(tag, top.digest().to_string());
            }
        }
        let tags = familiar_tags(&img.repo_tags);
        items.push(ManifestItemOut {
            config: blob_path(&img.config_digest),
            repo_tags: (!tags.is_empty()).then_some(tags),
            layers: layer_descs.iter().map(|(d, _)| blob_path(d)).collect(),
        });
    }

    let index = to_json(&IndexOut { schema_version: 2, media_type: mt::OCI_INDEX, manifests: index });
    out.file("index.json", index.len() as u64, &index[..])?;
    let manifest = to_json(&items);
    out.file("manifest.json", manifest.len() as u64, &manifest[..])?;
    let layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
    out.file("oci-layout", layout.len() as u64, &layout[..])?;
    if !repositories.is_empty() {
        let repos = to_json(&repositories);
        out.file("repositories", repos.len() as u64, &repos[..])?;
    }
    out.tar.into_inner().map_err(|e| unwrap_io("finishing archive", e))
}
