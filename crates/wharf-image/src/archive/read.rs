//! Reading image archives (`docker load`): one pass over the tar in whatever member order it
//! has; every member except the few small metadata files is streamed into the [`BlobSink`]
//! (digest-named ones verified on the way), small JSON documents are also kept in memory, and
//! the images are resolved from `manifest.json` and/or `index.json` once the stream ends.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::io::{self, BufRead, BufReader, Read};
use std::rc::Rc;

use oci_spec::image::Descriptor;
use serde::Deserialize;

use super::{clean_member_path, resolve_link_target, BlobSink};
use crate::digest::{parse_digest, Hasher};
use crate::error::{ImageError, Result};
use crate::model::{
    media_types as mt, parse_manifest, select_manifest, Compression, ConfigSummary, DiffIdWriter, ManifestKind,
    ParsedManifest, Platform,
};
use crate::reference::ImageRef;
use crate::Digest;

/// Largest JSON document (manifest, index, config, metadata file) kept in memory.
const MAX_JSON: u64 = 8 << 20;
/// Largest total of JSON kept in memory for one archive.
const MAX_JSON_TOTAL: u64 = 64 << 20;
/// Deepest nesting of indexes followed.
const MAX_INDEX_DEPTH: usize = 4;
/// Most bytes read after the end-of-archive marker.
const MAX_TRAILER: u64 = 1 << 20;
/// Most link hops followed when resolving a member.
const MAX_LINK_HOPS: usize = 16;

const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Which layout an image was found through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// `manifest.json` (docker-archive; Docker 25+ archives also carry an OCI layout).
    DockerArchive,
    /// `index.json` + `oci-layout` only (skopeo's `oci-archive:`, containerd exports).
    OciLayout,
}

/// A layer of a loaded image, bottom first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedLayer {
    /// The blob as stored in the sink (compressed or not, as it was in the archive).
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// Its media type: from the OCI manifest when there is one, else from the sniffed
    /// compression (Docker's layer media types).
    pub media_type: String,
    /// The diff ID from the config's `rootfs.diff_ids`.
    pub diff_id: Digest,
    /// Whether the diff ID was computed from the content while reading and matched; `false`
    /// when the content could not be decompressed here (the apply step checks it then).
    pub diff_id_verified: bool,
}

/// An image found in an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImage {
    /// The config blob's digest: the image ID.
    pub config_digest: Digest,
    /// The layers, bottom first.
    pub layers: Vec<LoadedLayer>,
    /// Its names (tagged references), in archive order.
    pub repo_tags: Vec<ImageRef>,
    /// The digest of the manifest blob, when the archive has one (OCI layouts).
    pub manifest_digest: Option<Digest>,
    /// How it was found.
    pub format: ArchiveFormat,
}

/// A member stored in the sink.
#[derive(Debug, Clone)]
struct Member {
    digest: Digest,
    size: u64,
    diff_id: Option<Digest>,
    compression: Compression,
    json: Option<Vec<u8>>,
}

enum Node {
    Blob(usize),
    Link(String),
}

#[derive(Default)]
struct Collected {
    blobs: Vec<Member>,
    paths: HashMap<String, Node>,
    by_digest: HashMap<Digest, usize>,
    /// Top-level metadata files that are not blobs.
    meta: HashMap<String, Vec<u8>>,
    json_total: u64,
}

/// Reads an image archive (plain tar, or tar compressed with gzip or zstd) from `tar`, putting
/// its blobs into `sink`, and returns the images it holds. Indexes are resolved for `platform`.
pub fn read_archive<R: Read>(tar: R, sink: &mut dyn BlobSink, platform: &Platform) -> Result<Vec<LoadedImage>> {
    let mut buffered = BufReader::with_capacity(64 * 1024, tar);
    let head = buffered.fill_buf().map_err(|e| ImageError::io("reading archive", e))?;
    let input: Box<dyn Read + '_> = match Compression::sniff(head) {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(buffered)
                .map_err(|e| ImageError::io("starting zstd decoder", e))?,
        ),
    };
    let collected = collect(input, sink)?;
    resolve(&collected, platform)
}

fn tar_err(e: io::Error) -> ImageError {
    ImageError::archive(format!("reading tar: {e}"))
}

/// Notes when the stream under the tar reader ends: a complete archive ends with a zero block
/// that the reader stops at, so reaching the end of the stream means it was cut short.
struct EofWatch<R> {
    inner: R,
    eof: Rc<Cell<bool>>,
}

impl<R: Read> Read for EofWatch<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.eof.set(true);
        }
        Ok(n)
    }
}

fn collect(input: impl Read, sink: &mut dyn BlobSink) -> Result<Collected> {
    let mut c = Collected::default();
    let eof = Rc::new(Cell::new(false));
    let mut archive = tar::Archive::new(EofWatch { inner: input, eof: eof.clone() });
    read_entries(&mut archive, &mut c, sink)?;
    if eof.get() {
        return Err(ImageError::archive("truncated archive (the stream ended before the end-of-archive marker)"));
    }
    // Read what follows the marker (padding), so that a compressed stream's trailer is checked.
    let mut rest = archive.into_inner().inner;
    io::copy(&mut rest.by_ref().take(MAX_TRAILER), &mut io::sink())
        .map_err(|e| ImageError::archive(format!("reading the end of the archive: {e}")))?;
    Ok(c)
}

fn read_entries<R: Read>(archive: &mut tar::Archive<R>, c: &mut Collected, sink: &mut dyn BlobSink) -> Result<()> {
    let entries = archive.entries().map_err(tar_err)?;
    for entry in entries {
        let mut entry = entry.map_err(tar_err)?;
        let raw = entry.path_bytes();
        let raw = std::str::from_utf8(&raw).map_err(|_| ImageError::archive("member path is not UTF-8"))?.to_string();
        let path = clean_member_path(&raw)?;
        let kind = entry.header().entry_type();
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                if kind == tar::EntryType::GNUSparse {
                    return Err(ImageError::archive(format!("sparse member {path:?}")));
                }
                if path.is_empty() {
                    return Err(ImageError::archive("regular member with an empty path"));
                }
                add_file(c, &path, &mut entry, sink)?;
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| ImageError::archive(format!("link {path:?} has no target")))?;
                let target = std::str::from_utf8(&target)
                    .map_err(|_| ImageError::archive("link target is not UTF-8"))?
                    .to_string();
                let target = if kind == tar::EntryType::Symlink {
                    resolve_link_target(&path, &target)?
                } else {
                    clean_member_path(&target)?
                };
                c.paths.insert(path, Node::Link(target));
            }
            // Directories, PAX global headers, devices and FIFOs carry nothing an image needs.
            _ => {}
        }
    }
    Ok(())
}

/// Whether a member is metadata kept only in memory (never a blob).
fn is_meta(path: &str) -> bool {
    matches!(path, "manifest.json" | "index.json" | "oci-layout" | "repositories")
        || path.rsplit_once('/').is_some_and(|(dir, f)| !dir.contains('/') && (f == "json" || f == "VERSION"))
}

fn add_file(
    c: &mut Collected,
    path: &str,
    entry: &mut tar::Entry<'_, impl Read>,
    sink: &mut dyn BlobSink,
) -> Result<()> {
    let size = entry.header().entry_size().map_err(tar_err)?;
    if is_meta(path) {
        if size > MAX_JSON {
            return Err(ImageError::archive(format!("{path} is too large ({size} bytes)")));
        }
        let mut buf = Vec::with_capacity(size as usize);
        entry.by_ref().take(MAX_JSON + 1).read_to_end(&mut buf).map_err(tar_err)?;
        if buf.len() as u64 != size {
            return Err(ImageError::archive(format!("{path} is truncated")));
        }
        c.json_total += size;
        if c.json_total > MAX_JSON_TOTAL {
            return Err(ImageError::archive("too much metadata"));
        }
        c.meta.insert(path.to_string(), buf);
        c.paths.remove(path);
        return Ok(());
    }
    let expected = match path.strip_prefix("blobs/") {
        Some(rest) => {
            let Some((alg, hex)) = rest.split_once('/') else {
                return Err(ImageError::archive(format!("unexpected member {path:?}")));
            };
            Some(
                parse_digest(&format!("{alg}:{hex}"))
                    .map_err(|_| ImageError::archive(format!("member {path:?} is not named by a valid digest")))?,
            )
        }
        None => None,
    };
    // The member's own sha256 is the diff ID of an uncompressed layer: not hashed twice.
    let member_is_sha256 = expected.as_ref().is_none_or(|d| d.algorithm() == &oci_spec::image::DigestAlgorithm::Sha256);
    let hasher = match &expected {
        Some(d) => Hasher::for_digest(d)
            .ok_or_else(|| ImageError::archive(format!("unsupported digest algorithm in {path:?}")))?,
        None => Hasher::sha256(),
    };
    let keep_json = size <= MAX_JSON && c.json_total + size <= MAX_JSON_TOTAL;
    let mut tee = Tee {
        inner: entry,
        count: 0,
        hasher: Some(hasher),
        diff: Some(if member_is_sha256 { DiffIdWriter::skipping_plain() } else { DiffIdWriter::new() }),
        json: keep_json.then(Vec::new),
        json_decided: false,
        read_error: None,
    };
    let put = sink.put(expected.as_ref(), &mut tee);
    // Whatever the sink did, read the member to its end so our digest covers all of it.
    let drained = io::copy(&mut tee, &mut io::sink());
    if let Some(e) = tee.read_error.take() {
        return Err(tar_err(e));
    }
    drained.map_err(tar_err)?;
    if tee.count != size {
        return Err(ImageError::archive(format!("member {path:?} is truncated ({} of {size} bytes)", tee.count)));
    }
    let actual = tee
        .hasher
        .take()
        .map(Hasher::finish)
        .ok_or_else(|| ImageError::archive(format!("member {path:?} could not be hashed")))?;
    if let Some(exp) = &expected {
        if &actual != exp {
            return Err(ImageError::DigestMismatch {
                what: format!("archive member {path}"),
                expected: exp.clone(),
                actual,
            });
        }
    }
    let stored = put?;
    if stored != actual {
        return Err(ImageError::backend(
            wharf_types::ErrorKind::Internal,
            format!("blob sink stored {stored} for content {actual} of {path}"),
            None,
        ));
    }
    let compression = tee.diff.as_ref().map_or(Compression::None, DiffIdWriter::compression);
    let diff_id = match tee.diff.take() {
        Some(_) if compression == Compression::None && member_is_sha256 => Some(actual.clone()),
        d => d.and_then(DiffIdWriter::finish),
    };
    let json = tee.json.take();
    if let Some(j) = &json {
        c.json_total += j.len() as u64;
    }
    let idx = c.blobs.len();
    c.blobs.push(Member { digest: actual.clone(), size, diff_id, compression, json });
    c.by_digest.insert(actual, idx);
    c.paths.insert(path.to_string(), Node::Blob(idx));
    Ok(())
}

/// Counts, hashes, computes the diff ID and keeps JSON-looking small content while the sink
/// reads a member.
struct Tee<'a, R> {
    inner: &'a mut R,
    count: u64,
    hasher: Option<Hasher>,
    diff: Option<DiffIdWriter>,
    json: Option<Vec<u8>>,
    json_decided: bool,
    read_error: Option<io::Error>,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) => {
                let kind = e.kind();
                let msg = e.to_string();
                self.read_error = Some(e);
                return Err(io::Error::new(kind, msg));
            }
        };
        let b = &buf[..n];
        self.count += n as u64;
        if let Some(h) = self.hasher.as_mut() {
            h.update(b);
        }
        if let Some(d) = self.diff.as_mut() {
            d.write(b);
        }
        if !self.json_decided && self.json.is_some() {
            if let Some(first) = b.iter().find(|c| !c.is_ascii_whitespace()) {
                self.json_decided = true;
                if *first != b'{' && *first != b'[' {
                    self.json = None;
                }
            }
        }
        if let Some(j) = self.json.as_mut() {
            j.extend_from_slice(b);
        }
        Ok(n)
    }
}

// ---------------------------------------------------------------------------------------------
// Resolution

impl Collected {
    fn member_at(&self, path: &str) -> Result<&Member> {
        let mut p = path.to_string();
        for _ in 0..MAX_LINK_HOPS {
            match self.paths.get(&p) {
                Some(Node::Blob(i)) => return Ok(&self.blobs[*i]),
                Some(Node::Link(t)) => p = t.clone(),
                None => return Err(ImageError::archive(format!("{path} is missing from the archive"))),
            }
        }
        Err(ImageError::archive(format!("too many links resolving {path}")))
    }

    fn member_by_digest(&self, d: &Digest) -> Result<&Member> {
        self.by_digest
            .get(d)
            .map(|i| &self.blobs[*i])
            .ok_or_else(|| ImageError::archive(format!("blob {d} is missing from the archive")))
    }

    fn json_of<'a>(&self, m: &'a Member, what: &str) -> Result<&'a [u8]> {
        m.json.as_deref().ok_or_else(|| ImageError::archive(format!("{what} {} is not a JSON document", m.digest)))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestItem {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Vec<String>,
}

fn resolve(c: &Collected, platform: &Platform) -> Result<Vec<LoadedImage>> {
    if let Some(layout) = c.meta.get("oci-layout") {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Layout {
            image_layout_version: String,
        }
        let l: Layout =
            serde_json::from_slice(layout).map_err(|e| ImageError::archive(format!("invalid oci-layout: {e}")))?;
        if !l.image_layout_version.starts_with("1.") {
            return Err(ImageError::archive(format!("unsupported image layout version {}", l.image_layout_version)));
        }
    }
    let oci = match c.meta.get("index.json") {
        Some(index) => match resolve_oci(c, index, platform) {
            Ok(v) => v,
            // With a manifest.json (Docker 25+ archives carry both), the OCI side only adds
            // manifest digests and media types: docker load reads manifest.json.
            Err(_) if c.meta.contains_key("manifest.json") => Vec::new(),
            Err(e) => return Err(e),
        },
        None => Vec::new(),
    };
    let Some(manifest) = c.meta.get("manifest.json") else {
        if c.meta.contains_key("index.json") {
            return Ok(oci);
        }
        return Err(ImageError::archive("neither manifest.json nor index.json found (not an image archive)"));
    };
    let items: Vec<ManifestItem> =
        serde_json::from_slice(manifest).map_err(|e| ImageError::archive(format!("invalid manifest.json: {e}")))?;
    let mut out: Vec<LoadedImage> = Vec::new();
    for item in items {
        let config_path = clean_member_path(&item.config)?;
        let config = c.member_at(&config_path)?;
        let summary = ConfigSummary::parse(c.json_of(config, "config")?)?;
        let diff_ids = &summary.rootfs.diff_ids;
        if diff_ids.len() != item.layers.len() {
            return Err(ImageError::archive(format!(
                "config {} has {} diff ids but manifest.json lists {} layers",
                config.digest,
                diff_ids.len(),
                item.layers.len()
            )));
        }
        // Docker 25+ archives carry the OCI manifest of the same image: take its media types.
        let from_oci = oci.iter().find(|i| i.config_digest == config.digest);
        let mut layers = Vec::with_capacity(item.layers.len());
        for (i, (lp, diff_id)) in item.layers.iter().zip(diff_ids).enumerate() {
            let m = c.member_at(&clean_member_path(lp)?)?;
            let media_type = from_oci
                .and_then(|o| o.layers.get(i))
                .filter(|l| l.digest == m.digest)
                .map(|l| l.media_type.clone())
                .unwrap_or_else(|| docker_layer_type(m.compression).to_string());
            layers.push(loaded_layer(m, media_type, diff_id, lp)?);
        }
        let mut repo_tags = Vec::new();
        for t in item.repo_tags.unwrap_or_default() {
            let r = ImageRef::parse_normalized(&t)
                .ok()
                .filter(|r| r.tag().is_some() && r.digest().is_none())
                .ok_or_else(|| ImageError::archive(format!("invalid tag {t:?}")))?;
            repo_tags.push(r);
        }
        push_image(
            &mut out,
            LoadedImage {
                config_digest: config.digest.clone(),
                layers,
                repo_tags,
                manifest_digest: from_oci.and_then(|o| o.manifest_digest.clone()),
                format: ArchiveFormat::DockerArchive,
            },
        );
    }
    Ok(out)
}

fn docker_layer_type(c: Compression) -> &'static str {
    match c {
        Compression::None => mt::DOCKER_LAYER,
        Compression::Gzip => mt::DOCKER_LAYER_GZIP,
        Compression::Zstd => mt::DOCKER_LAYER_ZSTD,
    }
}

fn loaded_layer(m: &Member, media_type: String, diff_id: &Digest, what: &str) -> Result<LoadedLayer> {
    let verified = match &m.diff_id {
        Some(computed) if computed == diff_id => true,
        Some(computed) => {
            return Err(ImageError::DigestMismatch {
                what: format!("diff id of layer {what}"),
                expected: diff_id.clone(),
                actual: computed.clone(),
            })
        }
        None => false,
    };
    Ok(LoadedLayer {
        digest: m.digest.clone(),
        size: m.size,
        media_type,
        diff_id: diff_id.clone(),
        diff_id_verified: verified,
    })
}

/// Adds an image, merging its names into an earlier entry with the same config.
fn push_image(out: &mut Vec<LoadedImage>, img: LoadedImage) {
    if let Some(prev) = out.iter_mut().find(|i| i.config_digest == img.config_digest) {
        for t in img.repo_tags {
            if !prev.repo_tags.contains(&t) {
                prev.repo_tags.push(t);
            }
        }
        if prev.manifest_digest.is_none() {
            prev.manifest_digest = img.manifest_digest;
        }
    } else {
        out.push(img);
    }
}

fn resolve_oci(c: &Collected, index: &[u8], platform: &Platform) -> Result<Vec<LoadedImage>> {
    let index = match parse_manifest(index, Some(mt::OCI_INDEX))? {
        ParsedManifest::Index { index, .. } => index,
        ParsedManifest::Image { .. } => return Err(ImageError::archive("index.json is not an image index")),
    };
    let mut out = Vec::new();
    for d in index.manifests() {
        let mut seen = HashSet::new();
        let Some(mut img) = resolve_descriptor(c, d, platform, 0, &mut seen)? else {
            continue;
        };
        img.repo_tags = names_from_annotations(d)?;
        push_image(&mut out, img);
    }
    Ok(out)
}

/// The names of a top-level index.json entry: `io.containerd.image.name` (a full reference),
/// else `org.opencontainers.image.ref.name` when it is a tagged reference (`busybox:latest`,
/// as skopeo writes it). A bare tag (`latest`) names nothing.
fn names_from_annotations(d: &Descriptor) -> Result<Vec<ImageRef>> {
    let Some(ann) = d.annotations() else {
        return Ok(Vec::new());
    };
    if let Some(n) = ann.get(ANNOTATION_IMAGE_NAME) {
        let r =
            ImageRef::parse_normalized(n).map_err(|e| ImageError::archive(format!("invalid image name {n:?}: {e}")))?;
        // A name with tag and digest records the tag; a digest-only name records nothing.
        return Ok(r.tag().and_then(|t| r.trim().with_tag(t).ok()).into_iter().collect());
    }
    if let Some(n) = ann.get(ANNOTATION_REF_NAME) {
        let after_slash = n.rsplit('/').next().unwrap_or(n);
        if after_slash.contains(':') {
            if let Ok(r) = ImageRef::parse_normalized(n) {
                if r.tag().is_some() && r.digest().is_none() {
                    return Ok(vec![r]);
                }
            }
        }
    }
    Ok(Vec::new())
}

fn resolve_descriptor(
    c: &Collected,
    d: &Descriptor,
    platform: &Platform,
    depth: usize,
    seen: &mut HashSet<Digest>,
) -> Result<Option<LoadedImage>> {
    if depth > MAX_INDEX_DEPTH || !seen.insert(d.digest().clone()) {
        return Err(ImageError::archive("index nesting too deep or cyclic"));
    }
    let media_type = d.media_type().to_string();
    let Some(kind) = ManifestKind::from_media_type(&media_type) else {
        // Artifacts, attestations and other non-image entries are not images.
        return Ok(None);
    };
    let m = c.member_by_digest(d.digest())?;
    if m.size != d.size() {
        return Err(ImageError::archive(format!(
            "blob {} has {} bytes, its descriptor says {}",
            m.digest,
            m.size,
            d.size()
        )));
    }
    match parse_manifest(c.json_of(m, "manifest")?, Some(kind.media_type()))? {
        ParsedManifest::Index { index, .. } => {
            let child = select_manifest(&index, platform)?;
            resolve_descriptor(c, child, platform, depth + 1, seen)
        }
        ParsedManifest::Image { manifest, .. } => {
            let cd = manifest.config().digest();
            let config = c.member_by_digest(cd)?;
            let summary = ConfigSummary::parse(c.json_of(config, "config")?)?;
            let diff_ids = &summary.rootfs.diff_ids;
            if diff_ids.len() != manifest.layers().len() {
                return Err(ImageError::archive(format!(
                    "config {cd} has {} diff ids but manifest {} lists {} layers",
                    diff_ids.len(),
                    m.digest,
                    manifest.layers().len()
                )));
            }
            let mut layers = Vec::new();
            for (l, diff_id) in manifest.layers().iter().zip(diff_ids) {
                let lm = c.member_by_digest(l.digest())?;
                if lm.size != l.size() {
                    return Err(ImageError::archive(format!(
                        "layer {} has {} bytes, its descriptor says {}",
                        lm.digest,
                        lm.size,
                        l.size()
                    )));
                }
                layers.push(loaded_layer(lm, l.media_type().to_string(), diff_id, l.digest().as_ref())?);
            }
            Ok(Some(LoadedImage {
                config_digest: cd.clone(),
                layers,
                repo_tags: Vec::new(),
                manifest_digest: Some(m.digest.clone()),
                format: ArchiveFormat::OciLayout,
            }))
        }
    }
}
