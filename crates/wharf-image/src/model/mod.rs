//! Image model: Docker v2 schema 2 and OCI manifests, manifest lists / image indexes and image
//! configs (oci-spec's types, which read Docker's documents too), media types, layer
//! compression, chain IDs, platforms and history.

mod history;
mod platform;

use std::io::Read;

use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest};
use serde::Deserialize;

use crate::digest::{sha256_digest, Hasher};
use crate::error::{ImageError, Result};
use crate::Digest;

pub use history::{image_history, HistoryEntry};
pub use platform::{select_manifest, Platform};

/// Media types this crate knows, Docker's and OCI's.
pub mod media_types {
    /// Docker image manifest, schema 2.
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// Docker manifest list.
    pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    /// Docker image config.
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    /// Docker layer, uncompressed.
    pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
    /// Docker layer, gzip.
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    /// Docker layer, zstd (as written by BuildKit).
    pub const DOCKER_LAYER_ZSTD: &str = "application/vnd.docker.image.rootfs.diff.tar.zstd";
    /// Docker foreign (non-distributable) layer, gzip.
    pub const DOCKER_FOREIGN_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    /// Docker foreign layer, uncompressed.
    pub const DOCKER_FOREIGN_LAYER: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar";
    /// Docker schema 1 manifests (refused).
    pub const DOCKER_MANIFEST_V1: &str = "application/vnd.docker.distribution.manifest.v1+json";
    /// Docker schema 1 signed manifests (refused).
    pub const DOCKER_MANIFEST_V1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
    /// OCI image manifest.
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// OCI image index.
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// OCI image config.
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// OCI layer, uncompressed.
    pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
    /// OCI layer, gzip.
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    /// OCI layer, zstd.
    pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
    /// OCI non-distributable layer, uncompressed (deprecated by the spec, still read).
    pub const OCI_LAYER_ND: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar";
    /// OCI non-distributable layer, gzip.
    pub const OCI_LAYER_ND_GZIP: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
    /// OCI non-distributable layer, zstd.
    pub const OCI_LAYER_ND_ZSTD: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
}

use media_types as mt;

/// Which of the four manifest formats a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    /// `application/vnd.docker.distribution.manifest.v2+json`.
    DockerV2,
    /// `application/vnd.docker.distribution.manifest.list.v2+json`.
    DockerList,
    /// `application/vnd.oci.image.manifest.v1+json` (also an OCI manifest without `mediaType`).
    OciManifest,
    /// `application/vnd.oci.image.index.v1+json` (also an OCI index without `mediaType`).
    OciIndex,
}

impl ManifestKind {
    /// The kind for a media type, if it is a manifest or index type.
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        match media_type {
            mt::DOCKER_MANIFEST => Some(Self::DockerV2),
            mt::DOCKER_MANIFEST_LIST => Some(Self::DockerList),
            mt::OCI_MANIFEST => Some(Self::OciManifest),
            mt::OCI_INDEX => Some(Self::OciIndex),
            _ => None,
        }
    }

    /// The media type of this kind.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::DockerV2 => mt::DOCKER_MANIFEST,
            Self::DockerList => mt::DOCKER_MANIFEST_LIST,
            Self::OciManifest => mt::OCI_MANIFEST,
            Self::OciIndex => mt::OCI_INDEX,
        }
    }

    /// Whether this is a list of manifests rather than one image.
    pub fn is_index(self) -> bool {
        matches!(self, Self::DockerList | Self::OciIndex)
    }
}

/// A parsed manifest document.
#[derive(Debug, Clone)]
pub enum ParsedManifest {
    /// One image: a Docker v2 schema 2 or OCI manifest.
    Image {
        /// Which format it was.
        kind: ManifestKind,
        /// The manifest (oci-spec's type reads both formats).
        manifest: Box<ImageManifest>,
    },
    /// A Docker manifest list or an OCI index.
    Index {
        /// Which format it was.
        kind: ManifestKind,
        /// The index.
        index: Box<ImageIndex>,
    },
}

impl ParsedManifest {
    /// The format of the document.
    pub fn kind(&self) -> ManifestKind {
        match self {
            Self::Image { kind, .. } | Self::Index { kind, .. } => *kind,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Sniff {
    schema_version: Option<u32>,
    media_type: Option<String>,
    manifests: Option<serde_json::Value>,
    config: Option<serde_json::Value>,
    layers: Option<serde_json::Value>,
}

/// Parses a manifest or index, deciding its format from its `mediaType` field, else from
/// `content_type` (a registry's `Content-Type`, a descriptor's media type), else from its shape
/// (`manifests` → index, `config` + `layers` → manifest), as containerd does. Schema 1 is
/// refused; a `mediaType` that contradicts `content_type` is an error.
pub fn parse_manifest(bytes: &[u8], content_type: Option<&str>) -> Result<ParsedManifest> {
    let sniff: Sniff =
        serde_json::from_slice(bytes).map_err(|e| ImageError::manifest(format!("not a JSON manifest: {e}")))?;
    let hint = content_type.filter(|c| ManifestKind::from_media_type(c).is_some());
    let kind = match (sniff.media_type.as_deref(), hint) {
        (Some(m), Some(h)) if m != h => {
            return Err(ImageError::manifest(format!("mediaType {m} does not match the expected {h}")))
        }
        (Some(m), _) => ManifestKind::from_media_type(m),
        (None, Some(h)) => ManifestKind::from_media_type(h),
        (None, None) => None,
    };
    let kind = match kind {
        Some(k) => k,
        None => {
            if let Some(m) = sniff.media_type.as_deref().or(content_type) {
                if m == mt::DOCKER_MANIFEST_V1 || m == mt::DOCKER_MANIFEST_V1_SIGNED {
                    return Err(ImageError::UnsupportedMediaType(format!("{m} (Docker image manifest schema 1)")));
                }
                if sniff.media_type.is_some() {
                    return Err(ImageError::UnsupportedMediaType(m.to_string()));
                }
            }
            if sniff.schema_version == Some(1) {
                return Err(ImageError::UnsupportedMediaType("Docker image manifest schema 1".into()));
            }
            if sniff.manifests.is_some() {
                ManifestKind::OciIndex
            } else if sniff.config.is_some() && sniff.layers.is_some() {
                ManifestKind::OciManifest
            } else {
                return Err(ImageError::manifest(
                    "neither a manifest nor an index (no mediaType, manifests or layers)",
                ));
            }
        }
    };
    if sniff.schema_version != Some(2) {
        return Err(ImageError::manifest(format!("unsupported schemaVersion {:?}", sniff.schema_version)));
    }
    if kind.is_index() {
        let index: ImageIndex =
            serde_json::from_slice(bytes).map_err(|e| ImageError::manifest(format!("invalid index: {e}")))?;
        Ok(ParsedManifest::Index { kind, index: Box::new(index) })
    } else {
        let manifest: ImageManifest =
            serde_json::from_slice(bytes).map_err(|e| ImageError::manifest(format!("invalid manifest: {e}")))?;
        Ok(ParsedManifest::Image { kind, manifest: Box::new(manifest) })
    }
}

/// Parses an image config (Docker's `application/vnd.docker.container.image.v1+json` or OCI's).
pub fn parse_config(bytes: &[u8]) -> Result<ImageConfiguration> {
    serde_json::from_slice(bytes).map_err(|e| ImageError::manifest(format!("invalid image config: {e}")))
}

/// The part of a config this crate needs to load images: `rootfs.diff_ids` and the platform.
/// Lenient on purpose (unknown and odd fields elsewhere in the config are ignored).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConfigSummary {
    /// `architecture`.
    #[serde(default)]
    pub architecture: String,
    /// `os`.
    #[serde(default)]
    pub os: String,
    /// `variant`.
    #[serde(default)]
    pub variant: Option<String>,
    /// `rootfs`.
    pub rootfs: RootFsSummary,
}

/// `rootfs` of a config.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RootFsSummary {
    /// Always `layers`.
    #[serde(rename = "type", default)]
    pub typ: String,
    /// The layers' diff IDs, bottom first.
    #[serde(default)]
    pub diff_ids: Vec<Digest>,
}

impl ConfigSummary {
    /// Reads the summary of a config document.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let s: Self =
            serde_json::from_slice(bytes).map_err(|e| ImageError::manifest(format!("invalid image config: {e}")))?;
        if s.rootfs.typ != "layers" {
            return Err(ImageError::manifest(format!("unsupported rootfs type {:?}", s.rootfs.typ)));
        }
        Ok(s)
    }
}

/// Layer compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip.
    Gzip,
    /// zstd.
    Zstd,
}

impl Compression {
    /// Sniffs the compression from the first bytes of a stream (gzip `1f 8b`, zstd
    /// `28 b5 2f fd`; anything else is taken as a plain tar).
    pub fn sniff(head: &[u8]) -> Self {
        if head.starts_with(&[0x1f, 0x8b]) {
            Self::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Self::Zstd
        } else {
            Self::None
        }
    }
}

/// What a layer media type says: its compression and whether it is foreign
/// (non-distributable). `None` for a media type that is not a layer.
pub fn layer_media_type(media_type: &str) -> Option<(Compression, bool)> {
    Some(match media_type {
        mt::DOCKER_LAYER | mt::OCI_LAYER => (Compression::None, false),
        mt::DOCKER_LAYER_GZIP | mt::OCI_LAYER_GZIP => (Compression::Gzip, false),
        mt::DOCKER_LAYER_ZSTD | mt::OCI_LAYER_ZSTD => (Compression::Zstd, false),
        mt::DOCKER_FOREIGN_LAYER | mt::OCI_LAYER_ND => (Compression::None, true),
        mt::DOCKER_FOREIGN_LAYER_GZIP | mt::OCI_LAYER_ND_GZIP => (Compression::Gzip, true),
        mt::OCI_LAYER_ND_ZSTD => (Compression::Zstd, true),
        _ => return None,
    })
}

/// Chain IDs of a layer stack (OCI config spec): `ChainID(L0) = DiffID(L0)`,
/// `ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))`.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(parent) => sha256_digest(format!("{parent} {d}").as_bytes()),
        };
        out.push(next);
    }
    out
}

/// The diff ID of a layer stream: the sha256 of its uncompressed bytes, decompressing gzip or
/// zstd as sniffed from the first bytes.
pub fn compute_diff_id(r: &mut dyn Read) -> Result<Digest> {
    let mut w = DiffIdWriter::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf).map_err(|e| ImageError::io("reading layer", e))?;
        if n == 0 {
            break;
        }
        w.write(&buf[..n]);
    }
    w.finish().ok_or_else(|| ImageError::archive("layer is not a valid compressed stream"))
}

/// Computes a diff ID from bytes pushed into it, sniffing the compression from the start.
pub(crate) struct DiffIdWriter {
    head: Vec<u8>,
    state: DiffState,
    /// Do not hash a plain (uncompressed) stream: the caller already has its sha256.
    skip_plain: bool,
}

enum DiffState {
    Sniffing,
    Plain(Option<Box<Hasher>>),
    Gzip(Box<flate2::write::MultiGzDecoder<Hasher>>),
    Zstd(Box<zstd::stream::write::Decoder<'static, Hasher>>),
    Failed,
}

const SNIFF_LEN: usize = 4;

impl DiffIdWriter {
    pub(crate) fn new() -> Self {
        Self { head: Vec::with_capacity(SNIFF_LEN), state: DiffState::Sniffing, skip_plain: false }
    }

    /// A writer that leaves a plain stream unhashed ([`DiffIdWriter::finish`] gives `None`
    /// for it): for callers that compute the stream's sha256 anyway.
    pub(crate) fn skipping_plain() -> Self {
        Self { skip_plain: true, ..Self::new() }
    }

    /// The compression sniffed so far (`None` for a stream shorter than the magic).
    pub(crate) fn compression(&self) -> Compression {
        match self.state {
            DiffState::Gzip(_) => Compression::Gzip,
            DiffState::Zstd(_) => Compression::Zstd,
            _ => Compression::sniff(&self.head),
        }
    }

    pub(crate) fn write(&mut self, mut b: &[u8]) {
        use std::io::Write;
        if let DiffState::Sniffing = self.state {
            let take = (SNIFF_LEN - self.head.len()).min(b.len());
            self.head.extend_from_slice(&b[..take]);
            b = &b[take..];
            if self.head.len() < SNIFF_LEN {
                return;
            }
            self.start();
        }
        let ok = match &mut self.state {
            DiffState::Plain(h) => {
                if let Some(h) = h {
                    h.update(b);
                }
                true
            }
            DiffState::Gzip(d) => d.write_all(b).is_ok(),
            DiffState::Zstd(d) => d.write_all(b).is_ok(),
            DiffState::Sniffing | DiffState::Failed => true,
        };
        if !ok {
            self.state = DiffState::Failed;
        }
    }

    fn start(&mut self) {
        use std::io::Write;
        let head = std::mem::take(&mut self.head);
        let mut state = match Compression::sniff(&head) {
            Compression::None => DiffState::Plain((!self.skip_plain).then(|| Box::new(Hasher::sha256()))),
            Compression::Gzip => DiffState::Gzip(Box::new(flate2::write::MultiGzDecoder::new(Hasher::sha256()))),
            Compression::Zstd => match zstd::stream::write::Decoder::new(Hasher::sha256()) {
                Ok(d) => DiffState::Zstd(Box::new(d)),
                Err(_) => DiffState::Failed,
            },
        };
        let ok = match &mut state {
            DiffState::Plain(h) => {
                if let Some(h) = h {
                    h.update(&head);
                }
                true
            }
            DiffState::Gzip(d) => d.write_all(&head).is_ok(),
            DiffState::Zstd(d) => d.write_all(&head).is_ok(),
            _ => false,
        };
        self.head = head;
        self.state = if ok { state } else { DiffState::Failed };
    }

    /// The diff ID, or `None` when the compressed stream was invalid or incomplete.
    pub(crate) fn finish(mut self) -> Option<Digest> {
        if let DiffState::Sniffing = self.state {
            self.start();
        }
        match self.state {
            DiffState::Plain(h) => h.map(|h| h.finish()),
            DiffState::Gzip(d) => d.finish().ok().map(Hasher::finish),
            DiffState::Zstd(d) => d.finish().ok().map(Hasher::finish),
            DiffState::Sniffing | DiffState::Failed => None,
        }
    }
}

#[cfg(test)]
mod tests;
