//! The test images themselves: their archives are well-formed (every blob hashes to its name,
//! diff ids match the layers, the config is the image ID), deterministic, and their layers —
//! applied with wharf-fs — give a root filesystem in which busybox runs.

use std::collections::BTreeMap;
use std::io::Read;

use sha2::{Digest as _, Sha256};
use wharf_fs::{apply_layer, ApplyOptions, Root, WhiteoutMode};
use wharf_it::images::{busybox_image, have_busybox, layered_image, TestImage};

fn members(archive: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut a = tar::Archive::new(archive);
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        if e.header().entry_type().is_file() {
            let path = e.path().unwrap().display().to_string();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            out.insert(path, data);
        }
    }
    out
}

fn check_archive(img: &TestImage) -> BTreeMap<String, Vec<u8>> {
    let m = members(&img.archive);
    for (path, data) in &m {
        if let Some(hex) = path.strip_prefix("blobs/sha256/") {
            assert_eq!(hex::encode(Sha256::digest(data)), hex, "{path} does not hash to its name");
        }
    }
    let manifest: serde_json::Value = serde_json::from_slice(&m["manifest.json"]).unwrap();
    let config_path = manifest[0]["Config"].as_str().unwrap();
    assert_eq!(format!("sha256:{}", config_path.trim_start_matches("blobs/sha256/")), img.id);
    let layers: Vec<&str> = manifest[0]["Layers"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    let diff_ids: Vec<String> =
        layers.iter().map(|l| format!("sha256:{}", hex::encode(Sha256::digest(&m[*l])))).collect();
    assert_eq!(diff_ids, img.diff_ids);
    assert_eq!(img.config["rootfs"]["diff_ids"], serde_json::json!(img.diff_ids));
    assert_eq!(manifest[0]["RepoTags"][0], img.repo_tag);
    let index: serde_json::Value = serde_json::from_slice(&m["index.json"]).unwrap();
    let mpath =
        format!("blobs/sha256/{}", index["manifests"][0]["digest"].as_str().unwrap().trim_start_matches("sha256:"));
    let oci: serde_json::Value = serde_json::from_slice(&m[&mpath]).unwrap();
    assert_eq!(oci["config"]["digest"], img.id);
    m
}

#[test]
fn archives_are_well_formed_and_deterministic() {
    if !have_busybox() {
        return;
    }
    let a = busybox_image("busybox:latest");
    check_archive(&a);
    assert_eq!(a.diff_ids.len(), 1);
    assert_eq!(busybox_image("busybox:latest").archive, a.archive, "same input, same bytes");
    let l = layered_image("wharf-test/layered:1");
    check_archive(&l);
    assert_eq!(l.diff_ids.len(), 3);
    assert_eq!(l.diff_ids[0], a.diff_ids[0], "the base layer is shared");
}

#[test]
fn layers_apply_into_a_root_where_busybox_runs() {
    if !wharf_it::have_root() || !have_busybox() {
        return;
    }
    let img = layered_image("wharf-test/layered:1");
    let m = check_archive(&img);
    let manifest: serde_json::Value = serde_json::from_slice(&m["manifest.json"]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = Root::new(dir.path()).unwrap();
    for l in manifest[0]["Layers"].as_array().unwrap() {
        let opts = ApplyOptions { whiteout_mode: WhiteoutMode::Remove, ..Default::default() };
        let stats = apply_layer(&root, &m[l.as_str().unwrap()][..], &opts).unwrap();
        assert!(img.diff_ids.contains(&stats.diff_id));
    }
    let p = dir.path();
    assert!(p.join("data/b").exists() && !p.join("data/a").exists(), "whiteout applied");
    assert!(p.join("opq/new").exists() && !p.join("opq/old").exists() && !p.join("opq/sub").exists(), "opaque dir");
    let out = std::process::Command::new("chroot")
        .arg(p)
        .args(["/bin/sh", "-c", "echo hello from $(basename $(readlink /bin/ls))"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "hello from busybox");
}
