//! The manifests a registry stores, read only as far as the distribution protocol needs: the
//! media type, the descriptors that must exist (config and layers of an image manifest, the
//! manifests of an index), the `subject` and what the referrers API lists (`artifactType`,
//! annotations). Everything else is kept verbatim: a registry stores the client's bytes.
//!
//! Accepted: Docker image manifest v2 schema 2, Docker manifest list, OCI image manifest and OCI
//! image index (`schemaVersion: 2`). Docker schema 1 is refused, as distribution 3 does.
//!
//! [`parse`] never panics on any input (fuzz target `registry_manifest`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use wharf_types::Digest;

/// Docker image manifest v2, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker schema 1 (signed), refused.
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
/// Docker schema 1, refused.
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";

/// The media types a registry stores as manifests.
pub const MANIFEST_TYPES: [&str; 4] = [DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX];

/// Largest manifest accepted (distribution's default, and the spec's "at least 4 megabytes").
pub const MANIFEST_MAX: usize = 4 << 20;

/// Why a manifest is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Not a JSON object of the expected shape.
    #[error("manifest invalid: {0}")]
    Json(String),
    /// `schemaVersion` is not 2.
    #[error("unsupported manifest schema version {0}")]
    SchemaVersion(i64),
    /// A media type no registry stores as a manifest.
    #[error("unsupported manifest media type {0:?}")]
    MediaType(String),
    /// `mediaType` in the body and `Content-Type` disagree.
    #[error("manifest media type {field:?} does not match Content-Type {header:?}")]
    MediaTypeMismatch {
        /// The body's `mediaType`.
        field: String,
        /// The request's `Content-Type`.
        header: String,
    },
    /// A required field is missing.
    #[error("manifest invalid: missing {0}")]
    Missing(&'static str),
}

/// What kind of manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An image manifest (config + layers).
    Image,
    /// An index or manifest list (manifests).
    Index,
}

/// A platform of an index entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Platform {
    /// `amd64`, `arm64`, …
    #[serde(default)]
    pub architecture: String,
    /// `linux`, …
    #[serde(default)]
    pub os: String,
    /// `v8`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// An OCI content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// What it points at.
    #[serde(default)]
    pub media_type: String,
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// Where a non-distributable layer lives instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// Its annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Its platform (index entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Its artifact type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    schema_version: Option<i64>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
    subject: Option<Descriptor>,
    annotations: Option<BTreeMap<String, String>>,
}

/// A parsed manifest: what the registry checks and indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Its media type (one of [`MANIFEST_TYPES`]).
    pub media_type: &'static str,
    /// Image or index.
    pub kind: Kind,
    /// The config (image manifests).
    pub config: Option<Descriptor>,
    /// The layers (image manifests).
    pub layers: Vec<Descriptor>,
    /// The manifests (indexes).
    pub manifests: Vec<Descriptor>,
    /// The manifest this one refers to.
    pub subject: Option<Descriptor>,
    /// `artifactType`.
    pub artifact_type: Option<String>,
    /// Top-level annotations.
    pub annotations: Option<BTreeMap<String, String>>,
}

/// The media type of a `Content-Type` (or `Accept` element): parameters dropped, trimmed,
/// lower-case.
pub fn essence(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

fn known(media_type: &str) -> Option<&'static str> {
    MANIFEST_TYPES.into_iter().find(|t| *t == media_type)
}

/// Parses `body` pushed with `content_type`. The media type is the body's `mediaType`, else the
/// `Content-Type`, else guessed as distribution does (`manifests` → OCI index, else OCI
/// manifest); `mediaType` and a manifest `Content-Type` must agree.
pub fn parse(body: &[u8], content_type: Option<&str>) -> Result<Manifest, ManifestError> {
    let raw: Raw = serde_json::from_slice(body).map_err(|e| ManifestError::Json(e.to_string()))?;
    let header = content_type.map(essence).filter(|h| !h.is_empty());
    if let Some(h) = &header {
        if h == DOCKER_SCHEMA1 || h == DOCKER_SCHEMA1_SIGNED {
            return Err(ManifestError::MediaType(h.clone()));
        }
    }
    match raw.schema_version {
        Some(2) => {}
        Some(v) => return Err(ManifestError::SchemaVersion(v)),
        None => return Err(ManifestError::Missing("schemaVersion")),
    }
    let media_type = match (&raw.media_type, &header) {
        (Some(field), Some(h)) if known(h).is_some() && field != h => {
            return Err(ManifestError::MediaTypeMismatch { field: field.clone(), header: h.clone() })
        }
        (Some(field), _) => known(field).ok_or_else(|| ManifestError::MediaType(field.clone()))?,
        (None, Some(h)) if known(h).is_some() => known(h).unwrap_or(OCI_MANIFEST),
        (None, _) if raw.manifests.is_some() => OCI_INDEX,
        (None, _) => OCI_MANIFEST,
    };
    let kind = if media_type == DOCKER_LIST || media_type == OCI_INDEX { Kind::Index } else { Kind::Image };
    let m = Manifest {
        media_type,
        kind,
        config: raw.config,
        layers: raw.layers.unwrap_or_default(),
        manifests: raw.manifests.unwrap_or_default(),
        subject: raw.subject,
        artifact_type: raw.artifact_type.filter(|a| !a.is_empty()),
        annotations: raw.annotations,
    };
    match kind {
        Kind::Image if m.config.is_none() => Err(ManifestError::Missing("config")),
        Kind::Index if !m.layers.is_empty() || m.config.is_some() => {
            Err(ManifestError::Json("an index has no config or layers".into()))
        }
        _ => Ok(m),
    }
}

impl Manifest {
    /// The blobs that must exist in the repository before this manifest is accepted: the config
    /// and the layers (except non-distributable ones, which carry `urls`). Indexes name
    /// manifests, see [`Manifest::manifests`].
    pub fn required_blobs(&self) -> Vec<&Descriptor> {
        self.config.iter().chain(self.layers.iter().filter(|l| l.urls.is_empty())).collect()
    }

    /// Every digest this manifest keeps alive (for garbage collection): config, layers and
    /// child manifests.
    pub fn references(&self) -> impl Iterator<Item = &Digest> {
        self.config.iter().chain(&self.layers).chain(&self.manifests).map(|d| &d.digest)
    }

    /// The descriptor the referrers API lists for this manifest, stored as `digest` with `size`
    /// bytes. `artifactType` is the manifest's, else (image manifests) the config's media type.
    pub fn referrer_descriptor(&self, digest: Digest, size: u64) -> Descriptor {
        let artifact_type = self.artifact_type.clone().or_else(|| match self.kind {
            Kind::Image => self.config.as_ref().map(|c| c.media_type.clone()).filter(|t| !t.is_empty()),
            Kind::Index => None,
        });
        Descriptor {
            media_type: self.media_type.to_string(),
            digest,
            size,
            urls: Vec::new(),
            annotations: self.annotations.clone().filter(|a| !a.is_empty()),
            platform: None,
            artifact_type,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn image(media: Option<&str>) -> Vec<u8> {
        let mut v = serde_json::json!({
            "schemaVersion": 2,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": d('a'), "size": 2},
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d('b'), "size": 3},
                {"mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar", "digest": d('c'), "size": 3, "urls": ["https://x"]}
            ]
        });
        if let Some(m) = media {
            v["mediaType"] = m.into();
        }
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn image_manifests_name_config_and_layers() {
        let m =
            parse(&image(Some(OCI_MANIFEST)), Some("application/vnd.oci.image.manifest.v1+json; charset=x")).unwrap();
        assert_eq!(m.kind, Kind::Image);
        assert_eq!(m.media_type, OCI_MANIFEST);
        let req: Vec<String> = m.required_blobs().iter().map(|x| x.digest.to_string()).collect();
        assert_eq!(req, [d('a'), d('b')], "the foreign layer is not required");
        assert_eq!(m.references().count(), 3);
    }

    #[test]
    fn media_type_comes_from_the_field_the_header_or_the_shape() {
        assert_eq!(parse(&image(None), Some(DOCKER_MANIFEST)).unwrap().media_type, DOCKER_MANIFEST);
        assert_eq!(parse(&image(None), None).unwrap().media_type, OCI_MANIFEST);
        assert_eq!(parse(&image(None), Some("application/octet-stream")).unwrap().media_type, OCI_MANIFEST);
        assert_eq!(parse(&image(Some(DOCKER_MANIFEST)), Some("application/json")).unwrap().media_type, DOCKER_MANIFEST);
        let idx = serde_json::json!({"schemaVersion": 2, "manifests": []});
        assert_eq!(parse(&serde_json::to_vec(&idx).unwrap(), None).unwrap().kind, Kind::Index);
        assert!(matches!(
            parse(&image(Some(OCI_MANIFEST)), Some(DOCKER_MANIFEST)),
            Err(ManifestError::MediaTypeMismatch { .. })
        ));
        assert!(matches!(parse(&image(Some("text/plain")), None), Err(ManifestError::MediaType(_))));
    }

    #[test]
    fn invalid_manifests_are_refused() {
        assert!(matches!(parse(b"", None), Err(ManifestError::Json(_))));
        assert!(matches!(parse(b"[]", None), Err(ManifestError::Json(_))));
        assert!(matches!(parse(br#"{"schemaVersion":1}"#, None), Err(ManifestError::SchemaVersion(1))));
        assert!(matches!(parse(br#"{"mediaType":"x"}"#, None), Err(ManifestError::Missing("schemaVersion"))));
        assert!(matches!(parse(br#"{"schemaVersion":2}"#, None), Err(ManifestError::Missing("config"))));
        assert!(matches!(
            parse(br#"{"schemaVersion":2}"#, Some(DOCKER_SCHEMA1_SIGNED)),
            Err(ManifestError::MediaType(_))
        ));
        let bad_digest = br#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"md5:00","size":1}}"#;
        assert!(matches!(parse(bad_digest, None), Err(ManifestError::Json(_))));
        let negative = format!(r#"{{"schemaVersion":2,"config":{{"mediaType":"x","digest":"{}","size":-1}}}}"#, d('a'));
        assert!(matches!(parse(negative.as_bytes(), None), Err(ManifestError::Json(_))));
    }

    #[test]
    fn referrer_descriptors_take_artifact_type_from_config_when_missing() {
        let mut v: serde_json::Value = serde_json::from_slice(&image(Some(OCI_MANIFEST))).unwrap();
        v["subject"] = serde_json::json!({"mediaType": OCI_MANIFEST, "digest": d('f'), "size": 10});
        v["annotations"] = serde_json::json!({"k": "v"});
        let m = parse(&serde_json::to_vec(&v).unwrap(), None).unwrap();
        assert_eq!(m.subject.as_ref().unwrap().digest.to_string(), d('f'));
        let r = m.referrer_descriptor(d('e').parse().unwrap(), 99);
        assert_eq!(r.artifact_type.as_deref(), Some("application/vnd.oci.image.config.v1+json"));
        assert_eq!(r.annotations.unwrap()["k"], "v");
        v["artifactType"] = "application/x-sbom".into();
        let m = parse(&serde_json::to_vec(&v).unwrap(), None).unwrap();
        assert_eq!(
            m.referrer_descriptor(d('e').parse().unwrap(), 1).artifact_type.as_deref(),
            Some("application/x-sbom")
        );
    }
}
