//! The image domain values in Docker's JSON, per API version, as dockerd 26 writes them: field
//! names, `null` versus `[]`, fields left out, and the version-dependent ones (`VirtualSize`
//! below 1.44, `<none>:<none>` below 1.43, `ContainerConfig` below 1.45).
//!
//! bollard-stubs' types describe API 1.53 and leave out `None` fields, so the shapes that differ
//! from dockerd 26 (`VirtualSize`, `Tags: null`, `ImagesDeleted: null`) are written here.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use wharf_api::models::ImageDeleteResponseItem;
use wharf_api::ApiVersion;
use wharf_image::model::HistoryEntry;
use wharf_image::store::{DeleteItem, ImageInfo, PruneReport};
use wharf_types::{format_rfc3339_nanos, parse_timestamp};

/// Go's zero `time.Time` in RFC 3339, what dockerd shows for a time it does not have.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// `1.minor`.
pub(crate) const fn v1(minor: u16) -> ApiVersion {
    ApiVersion { major: 1, minor }
}

/// A byte count as the API's signed 64-bit integer.
pub(crate) fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// One element of `GET /images/json` and of `/system/df`'s `Images` (Go's `image.Summary`,
/// fields in its order).
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ImageSummary {
    containers: i64,
    created: i64,
    #[serde(rename = "Id")]
    id: String,
    labels: BTreeMap<String, String>,
    parent_id: String,
    repo_digests: Vec<String>,
    repo_tags: Vec<String>,
    shared_size: i64,
    size: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    virtual_size: Option<i64>,
}

/// `info` as a list entry for a client speaking `version`.
pub(crate) fn summary(info: ImageInfo, version: ApiVersion) -> ImageSummary {
    let (mut repo_tags, mut repo_digests) = (info.repo_tags, info.repo_digests);
    if version < v1(43) && repo_tags.is_empty() && repo_digests.is_empty() {
        repo_tags.push("<none>:<none>".into());
        repo_digests.push("<none>@<none>".into());
    }
    let size = int(info.size);
    ImageSummary {
        containers: info.containers.map(int).unwrap_or(-1),
        created: info.created_unix,
        id: info.id,
        labels: info.labels,
        parent_id: info.parent,
        repo_digests,
        repo_tags,
        shared_size: info.shared_size.map(int).unwrap_or(-1),
        size,
        virtual_size: (version < v1(44)).then_some(size),
    }
}

/// `GET /images/{name}/json` (Go's `types.ImageInspect`, fields in its order).
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ImageInspect {
    #[serde(rename = "Id")]
    id: String,
    repo_tags: Vec<String>,
    repo_digests: Vec<String>,
    parent: String,
    comment: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    container_config: Option<Value>,
    docker_version: String,
    author: String,
    config: Value,
    architecture: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    variant: String,
    os: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    os_version: String,
    size: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    virtual_size: Option<i64>,
    graph_driver: GraphDriverData,
    #[serde(rename = "RootFS")]
    root_fs: RootFs,
    metadata: Metadata,
}

/// `GraphDriver`.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct GraphDriverData {
    name: String,
    data: BTreeMap<String, String>,
}

/// `RootFS` (`Layers` is `omitempty` in Go).
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct RootFs {
    #[serde(rename = "Type")]
    typ: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    layers: Vec<String>,
}

/// `Metadata`.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct Metadata {
    last_tag_time: String,
}

/// `info` as inspect output for a client speaking `version`. `Created` is left out when the
/// image has none (shown as Go's zero time below 1.44, as dockerd); below 1.45 an empty
/// `ContainerConfig` is shown, as dockerd does for images without one.
pub(crate) fn inspect(info: ImageInfo, version: ApiVersion) -> ImageInspect {
    let created = match info.created.as_deref() {
        Some(c) if !c.is_empty() => Some(go_rfc3339(c)),
        _ if version < v1(44) => Some(ZERO_TIME.to_string()),
        _ => None,
    };
    let size = int(info.size);
    ImageInspect {
        id: info.id,
        repo_tags: info.repo_tags,
        repo_digests: info.repo_digests,
        parent: info.parent,
        comment: info.comment,
        created,
        container_config: (version < v1(45)).then(empty_container_config),
        docker_version: info.docker_version,
        author: info.author,
        config: info.config,
        architecture: info.architecture,
        variant: info.variant,
        os: info.os,
        os_version: info.os_version,
        size,
        virtual_size: (version < v1(44)).then_some(size),
        graph_driver: GraphDriverData { name: info.graph_driver.name, data: info.graph_driver.data },
        root_fs: RootFs { typ: "layers", layers: info.layers },
        metadata: Metadata { last_tag_time: info.last_tag_time.unwrap_or_else(|| ZERO_TIME.to_string()) },
    }
}

/// A zero `container.Config` as Go encodes it (fields without `omitempty`).
fn empty_container_config() -> Value {
    serde_json::json!({
        "Hostname": "", "Domainname": "", "User": "",
        "AttachStdin": false, "AttachStdout": false, "AttachStderr": false,
        "Tty": false, "OpenStdin": false, "StdinOnce": false,
        "Env": null, "Cmd": null, "Image": "", "Volumes": null, "WorkingDir": "",
        "Entrypoint": null, "OnBuild": null, "Labels": null,
    })
}

/// An RFC 3339 time as Go re-encodes it after parsing (`time.RFC3339Nano`): a UTC time comes
/// back with `Z` and without trailing zeros in the fraction; other offsets are kept as written.
fn go_rfc3339(t: &str) -> String {
    if t.ends_with(['Z', 'z']) {
        if let Ok(ns) = parse_timestamp(t, 0) {
            return format_rfc3339_nanos(ns);
        }
    }
    t.to_string()
}

/// One element of `GET /images/{name}/history` (Go's `image.HistoryResponseItem`, fields in
/// its order). `Tags` is `null` where there are none, as dockerd.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct HistoryItem {
    comment: String,
    created: i64,
    created_by: String,
    #[serde(rename = "Id")]
    id: String,
    size: i64,
    tags: Option<Vec<String>>,
}

/// One history step; `tags` are the tags of the image `id` names (none for `<missing>`).
pub(crate) fn history_item(entry: HistoryEntry, size: u64, id: String, tags: Option<Vec<String>>) -> HistoryItem {
    let created = entry
        .created
        .as_deref()
        .and_then(|c| parse_timestamp(c, 0).ok())
        .map(|ns| ns.div_euclid(1_000_000_000))
        .unwrap_or(0);
    HistoryItem {
        comment: entry.comment,
        created,
        created_by: entry.created_by,
        id,
        size: int(size),
        tags: tags.filter(|t| !t.is_empty()),
    }
}

/// A line of `DELETE /images/{name}` and of a prune report.
pub(crate) fn delete_item(item: DeleteItem) -> ImageDeleteResponseItem {
    match item {
        DeleteItem::Untagged(s) => ImageDeleteResponseItem { untagged: Some(s), deleted: None },
        DeleteItem::Deleted(s) => ImageDeleteResponseItem { untagged: None, deleted: Some(s) },
    }
}

/// `POST /images/prune` (`ImagesDeleted` is `null` when nothing went, as dockerd).
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PruneResponse {
    images_deleted: Option<Vec<ImageDeleteResponseItem>>,
    space_reclaimed: u64,
}

/// The prune report on the wire.
pub(crate) fn prune(report: PruneReport) -> PruneResponse {
    PruneResponse {
        images_deleted: (!report.deleted.is_empty()).then(|| report.deleted.into_iter().map(delete_item).collect()),
        space_reclaimed: report.space_reclaimed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn image() -> ImageInfo {
        ImageInfo {
            id: "sha256:aaaa".into(),
            repo_tags: vec!["busybox:latest".into()],
            repo_digests: vec!["busybox@sha256:bbbb".into()],
            created: Some("2024-05-20T10:00:00.500000000Z".into()),
            created_unix: 1_716_199_200,
            architecture: "amd64".into(),
            os: "linux".into(),
            config: json!({"Cmd": ["sh"]}),
            size: 4_261_550,
            layers: vec!["sha256:cccc".into()],
            graph_driver: wharf_image::store::GraphDriver {
                name: "overlay2".into(),
                data: [("MergedDir".to_string(), "/m".to_string())].into(),
            },
            ..Default::default()
        }
    }

    #[test]
    fn summary_fields_by_version() {
        let v = serde_json::to_value(summary(image(), v1(45))).unwrap();
        assert_eq!(
            v,
            json!({
                "Containers": -1, "Created": 1_716_199_200, "Id": "sha256:aaaa", "Labels": {}, "ParentId": "",
                "RepoDigests": ["busybox@sha256:bbbb"], "RepoTags": ["busybox:latest"], "SharedSize": -1,
                "Size": 4_261_550
            })
        );
        let v = serde_json::to_value(summary(image(), v1(43))).unwrap();
        assert_eq!(v["VirtualSize"], 4_261_550);
        let bare = ImageInfo { repo_tags: vec![], repo_digests: vec![], ..image() };
        let v = serde_json::to_value(summary(bare.clone(), v1(44))).unwrap();
        assert_eq!((&v["RepoTags"], &v["RepoDigests"]), (&json!([]), &json!([])));
        let v = serde_json::to_value(summary(bare, v1(42))).unwrap();
        assert_eq!((&v["RepoTags"], &v["RepoDigests"]), (&json!(["<none>:<none>"]), &json!(["<none>@<none>"])));
        let counted = ImageInfo { shared_size: Some(10), containers: Some(2), ..image() };
        let v = serde_json::to_value(summary(counted, v1(45))).unwrap();
        assert_eq!((&v["SharedSize"], &v["Containers"]), (&json!(10), &json!(2)));
    }

    #[test]
    fn inspect_shape() {
        let v = serde_json::to_value(inspect(image(), v1(45))).unwrap();
        assert_eq!(
            v,
            json!({
                "Id": "sha256:aaaa", "RepoTags": ["busybox:latest"], "RepoDigests": ["busybox@sha256:bbbb"],
                "Parent": "", "Comment": "", "Created": "2024-05-20T10:00:00.5Z", "DockerVersion": "",
                "Author": "", "Config": {"Cmd": ["sh"]}, "Architecture": "amd64", "Os": "linux",
                "Size": 4_261_550, "GraphDriver": {"Name": "overlay2", "Data": {"MergedDir": "/m"}},
                "RootFS": {"Type": "layers", "Layers": ["sha256:cccc"]},
                "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"}
            })
        );
    }

    #[test]
    fn inspect_version_dependent_fields() {
        let bare = ImageInfo {
            created: None,
            variant: "v8".into(),
            os_version: "10.0".into(),
            config: Value::Null,
            layers: vec![],
            last_tag_time: Some("2024-01-01T00:00:00.123456789Z".into()),
            ..image()
        };
        let v = serde_json::to_value(inspect(bare.clone(), v1(45))).unwrap();
        assert!(v.get("Created").is_none() && v.get("VirtualSize").is_none() && v.get("ContainerConfig").is_none());
        assert_eq!(v["Config"], Value::Null);
        assert_eq!((&v["Variant"], &v["OsVersion"]), (&json!("v8"), &json!("10.0")));
        assert_eq!(v["RootFS"], json!({"Type": "layers"}));
        assert_eq!(v["Metadata"]["LastTagTime"], "2024-01-01T00:00:00.123456789Z");
        let v = serde_json::to_value(inspect(bare.clone(), v1(44))).unwrap();
        assert!(v.get("Created").is_none() && v.get("VirtualSize").is_none());
        assert_eq!(v["ContainerConfig"]["Hostname"], "");
        let v = serde_json::to_value(inspect(bare, v1(43))).unwrap();
        assert_eq!((&v["Created"], &v["VirtualSize"]), (&json!(ZERO_TIME), &json!(4_261_550)));
    }

    #[test]
    fn go_reencodes_utc_times_only() {
        assert_eq!(go_rfc3339("2024-05-20T10:00:00.000000000Z"), "2024-05-20T10:00:00Z");
        assert_eq!(go_rfc3339("2024-05-20T10:00:00.120Z"), "2024-05-20T10:00:00.12Z");
        assert_eq!(go_rfc3339("2024-05-20T12:00:00+02:00"), "2024-05-20T12:00:00+02:00");
        assert_eq!(go_rfc3339("garbage"), "garbage");
    }

    #[test]
    fn history_and_prune_shapes() {
        let entry = HistoryEntry {
            created: Some("2024-05-20T10:00:00+02:00".into()),
            created_by: "/bin/sh -c #(nop) ADD file:x in /".into(),
            comment: "c".into(),
            author: String::new(),
            empty_layer: false,
            diff_id: None,
            chain_id: None,
        };
        let v = serde_json::to_value(history_item(entry.clone(), 42, "sha256:aaaa".into(), Some(vec!["b:1".into()])))
            .unwrap();
        assert_eq!(
            v,
            json!({"Comment": "c", "Created": 1_716_192_000, "CreatedBy": "/bin/sh -c #(nop) ADD file:x in /",
                   "Id": "sha256:aaaa", "Size": 42, "Tags": ["b:1"]})
        );
        let v = serde_json::to_value(history_item(
            HistoryEntry { created: None, ..entry },
            0,
            "<missing>".into(),
            Some(vec![]),
        ))
        .unwrap();
        assert_eq!((&v["Created"], &v["Tags"]), (&json!(0), &Value::Null));

        assert_eq!(
            serde_json::to_value(prune(PruneReport::default())).unwrap(),
            json!({"ImagesDeleted": null, "SpaceReclaimed": 0})
        );
        let report = PruneReport {
            deleted: vec![DeleteItem::Untagged("a:1".into()), DeleteItem::Deleted("sha256:aaaa".into())],
            space_reclaimed: 7,
        };
        assert_eq!(
            serde_json::to_value(prune(report)).unwrap(),
            json!({"ImagesDeleted": [{"Untagged": "a:1"}, {"Deleted": "sha256:aaaa"}], "SpaceReclaimed": 7})
        );
    }
}
