//! Tests of the image model: manifest sniffing, configs, chain IDs, diff IDs, index selection
//! for a platform, and history.

use std::io::Write;

use wharf_types::{Classify, ErrorKind};

use super::*;
use crate::digest::parse_digest;

fn d(c: char) -> Digest {
    parse_digest(&format!("sha256:{}", c.to_string().repeat(64))).unwrap()
}

const DOCKER_V2: &str = r#"{
  "schemaVersion": 2,
  "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
  "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1469,
             "digest": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
  "layers": [
    {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 2,
     "digest": "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},
    {"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "size": 3,
     "digest": "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
     "urls": ["https://example.com/layer"]}
  ]
}"#;

fn list_json(media_type: Option<&str>) -> String {
    let mt = media_type.map(|m| format!(r#""mediaType": "{m}","#)).unwrap_or_default();
    format!(
        r#"{{
  "schemaVersion": 2, {mt}
  "manifests": [
    {{"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 1,
      "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
      "platform": {{"architecture": "arm", "os": "linux", "variant": "v6"}}}},
    {{"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 1,
      "digest": "sha256:2222222222222222222222222222222222222222222222222222222222222222",
      "platform": {{"architecture": "arm", "os": "linux", "variant": "v7"}}}},
    {{"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 1,
      "digest": "sha256:3333333333333333333333333333333333333333333333333333333333333333",
      "platform": {{"architecture": "arm64", "os": "linux", "variant": "v8"}}}},
    {{"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 1,
      "digest": "sha256:4444444444444444444444444444444444444444444444444444444444444444",
      "platform": {{"architecture": "amd64", "os": "linux"}}}},
    {{"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1,
      "digest": "sha256:5555555555555555555555555555555555555555555555555555555555555555",
      "platform": {{"architecture": "unknown", "os": "unknown"}}}},
    {{"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": 1,
      "digest": "sha256:6666666666666666666666666666666666666666666666666666666666666666",
      "platform": {{"architecture": "amd64", "os": "windows", "os.version": "10.0.17763.1"}}}}
  ]
}}"#
    )
}

#[test]
fn sniffs_docker_v2_manifest() {
    let p = parse_manifest(DOCKER_V2.as_bytes(), None).unwrap();
    assert_eq!(p.kind(), ManifestKind::DockerV2);
    let ParsedManifest::Image { manifest, .. } = p else { panic!("not an image") };
    assert_eq!(manifest.config().digest(), &d('a'));
    assert_eq!(manifest.layers().len(), 2);
    let types: Vec<_> = manifest.layers().iter().map(|l| layer_media_type(l.media_type().as_ref())).collect();
    assert_eq!(types, [Some((Compression::Gzip, false)), Some((Compression::Gzip, true))]);
    // The same document announced by a registry under its type parses too.
    assert!(parse_manifest(DOCKER_V2.as_bytes(), Some(media_types::DOCKER_MANIFEST)).is_ok());
    // …but not under a contradicting one.
    let e = parse_manifest(DOCKER_V2.as_bytes(), Some(media_types::OCI_MANIFEST)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn sniffs_lists_and_indexes() {
    let list = list_json(Some(media_types::DOCKER_MANIFEST_LIST));
    assert_eq!(parse_manifest(list.as_bytes(), None).unwrap().kind(), ManifestKind::DockerList);
    let oci = list_json(Some(media_types::OCI_INDEX));
    assert_eq!(parse_manifest(oci.as_bytes(), None).unwrap().kind(), ManifestKind::OciIndex);
    // No mediaType: the content type decides, else the shape.
    let bare = list_json(None);
    assert_eq!(
        parse_manifest(bare.as_bytes(), Some(media_types::DOCKER_MANIFEST_LIST)).unwrap().kind(),
        ManifestKind::DockerList
    );
    assert_eq!(parse_manifest(bare.as_bytes(), None).unwrap().kind(), ManifestKind::OciIndex);
    let bare_manifest =
        DOCKER_V2.replace(r#""mediaType": "application/vnd.docker.distribution.manifest.v2+json","#, "");
    assert_eq!(parse_manifest(bare_manifest.as_bytes(), None).unwrap().kind(), ManifestKind::OciManifest);
}

#[test]
fn refuses_bad_manifests() {
    let v1 = r#"{"schemaVersion":1,"name":"x","tag":"latest","fsLayers":[]}"#;
    let e = parse_manifest(v1.as_bytes(), None).unwrap_err();
    assert!(matches!(e, ImageError::UnsupportedMediaType(_)), "{e}");
    let e = parse_manifest(
        br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v1+prettyjws"}"#,
        None,
    )
    .unwrap_err();
    assert!(e.to_string().contains("schema 1"), "{e}");
    for bad in [&b"not json"[..], b"{}", br#"{"schemaVersion":2}"#, b"[]"] {
        let e = parse_manifest(bad, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }
    let e = parse_manifest(br#"{"schemaVersion":2,"mediaType":"text/plain"}"#, None).unwrap_err();
    assert!(matches!(e, ImageError::UnsupportedMediaType(_)));
}

#[test]
fn parses_docker_config_and_history() {
    let config = r#"{
  "architecture": "amd64", "os": "linux",
  "config": {"Env": ["PATH=/usr/bin"], "Cmd": ["sh"], "Volumes": null, "WorkingDir": "",
             "Entrypoint": null, "OnBuild": null, "Labels": null, "ArgsEscaped": true,
             "Image": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
  "container": "abc", "docker_version": "20.10.7",
  "created": "2024-01-02T03:04:05.123456789Z",
  "history": [
    {"created": "2024-01-01T00:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:1 in / "},
    {"created": "2024-01-01T00:00:01Z", "created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]", "empty_layer": true},
    {"created": "2024-01-02T00:00:00Z", "created_by": "RUN /bin/sh -c touch /x # buildkit", "comment": "buildkit.dockerfile.v0"}
  ],
  "rootfs": {"type": "layers", "diff_ids": [
    "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"]}
}"#;
    let c = parse_config(config.as_bytes()).unwrap();
    let h = image_history(&c).unwrap();
    assert_eq!(h.len(), 3);
    assert_eq!(h[0].created_by, "RUN /bin/sh -c touch /x # buildkit");
    assert_eq!(h[0].comment, "buildkit.dockerfile.v0");
    assert_eq!(h[0].diff_id, Some(d('c')));
    assert_eq!(h[0].chain_id, Some(chain_ids(&[d('b'), d('c')])[1].clone()));
    assert!(h[1].empty_layer);
    assert_eq!(h[1].diff_id, None);
    assert_eq!(h[2].diff_id, Some(d('b')));
    assert_eq!(h[2].chain_id, Some(d('b')));
    assert_eq!(h[2].created.as_deref(), Some("2024-01-01T00:00:00Z"));

    let s = ConfigSummary::parse(config.as_bytes()).unwrap();
    assert_eq!(s.rootfs.diff_ids, [d('b'), d('c')]);
    assert_eq!((s.os.as_str(), s.architecture.as_str()), ("linux", "amd64"));

    // More non-empty steps than layers is Docker's error.
    let too_many = config.replace(r#", "empty_layer": true"#, "");
    let e = image_history(&parse_config(too_many.as_bytes()).unwrap()).unwrap_err();
    assert!(e.to_string().contains("too many non-empty layers in History section"));
}

#[test]
fn chain_ids_follow_the_oci_config_spec() {
    assert!(chain_ids(&[]).is_empty());
    let ids = chain_ids(&[d('a'), d('b'), d('c')]);
    assert_eq!(ids[0], d('a'));
    assert_eq!(ids[1].to_string(), "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c");
    assert_eq!(ids[2].to_string(), "sha256:c1377126441fb2f5ec2c21ae2a60255331d639e830f0ee1b40a36e52d4c40588");
}

#[test]
fn diff_ids_of_plain_gzip_and_zstd_layers() {
    let plain: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let want = crate::sha256_digest(&plain);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    let zst = zstd::encode_all(&plain[..], 3).unwrap();
    for (name, bytes) in [("plain", &plain), ("gzip", &gz), ("zstd", &zst)] {
        assert_eq!(compute_diff_id(&mut &bytes[..]).unwrap(), want, "{name}");
        // Fed in odd-sized pieces, as a tar stream delivers them.
        let mut w = DiffIdWriter::new();
        for chunk in bytes.chunks(3) {
            w.write(chunk);
        }
        assert_eq!(w.finish(), Some(want.clone()), "{name} chunked");
    }
    assert_eq!(compute_diff_id(&mut &b""[..]).unwrap(), crate::sha256_digest(b""));
    assert!(compute_diff_id(&mut &gz[..gz.len() / 2]).is_err());
    assert!(compute_diff_id(&mut &zst[..zst.len() / 2]).is_err());
}

fn digest_of(desc: &oci_spec::image::Descriptor) -> char {
    desc.digest().digest().chars().next().unwrap()
}

#[test]
fn selects_manifests_like_docker() {
    let ParsedManifest::Index { index, .. } = parse_manifest(list_json(None).as_bytes(), None).unwrap() else {
        panic!("not an index")
    };
    let pick = |s: &str| select_manifest(&index, &Platform::parse(s).unwrap()).map(digest_of);
    assert_eq!(pick("linux/amd64").unwrap(), '4');
    assert_eq!(pick("linux/arm64").unwrap(), '3');
    assert_eq!(pick("linux/arm64/v8").unwrap(), '3');
    assert_eq!(pick("linux/arm").unwrap(), '2');
    assert_eq!(pick("linux/arm/v6").unwrap(), '1');
    // arm/v8 falls back to v7 as containerd does.
    assert_eq!(pick("linux/arm/v8").unwrap(), '2');
    assert_eq!(pick("windows/amd64").unwrap(), '6');
    // amd64/v3 falls back to v1.
    assert_eq!(pick("linux/amd64/v3").unwrap(), '4');
    let e = pick("linux/ppc64le").unwrap_err();
    assert_eq!(e.to_string(), "no matching manifest for linux/ppc64le in the manifest list entries");
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = pick("linux/arm/v5").unwrap_err();
    assert_eq!(e.to_string(), "no matching manifest for linux/arm/v5 in the manifest list entries");

    // Only arm64: an amd64 request fails with Docker's message.
    let only_arm = r#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,"digest":"sha256:3333333333333333333333333333333333333333333333333333333333333333","platform":{"architecture":"arm64","os":"linux"}}]}"#;
    let ParsedManifest::Index { index, .. } = parse_manifest(only_arm.as_bytes(), None).unwrap() else {
        panic!("not an index")
    };
    let e = select_manifest(&index, &Platform::parse("linux/amd64").unwrap()).unwrap_err();
    assert_eq!(e.to_string(), "no matching manifest for linux/amd64 in the manifest list entries");
}
