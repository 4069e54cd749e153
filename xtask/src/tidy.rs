//! The tidy check. The layer table below is the machine-readable half of ARCHITECTURE.md's
//! "Layering rules"; change both together.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// (crate, layer). Edges must point to a lower layer, except the same-layer edges allowed below.
const LAYERS: &[(&str, u8)] = &[
    ("wharf-types", 0),
    ("wharf-api", 0),
    ("wharf-fs", 0),
    ("wharf-reference", 0),
    ("wharf-dockerfile", 0),
    ("wharf-sysinfo", 1),
    ("wharf-events", 1),
    ("wharf-store", 1),
    ("wharf-snapshot", 1),
    ("wharf-runtime", 1),
    ("wharf-logs", 1),
    ("wharf-shim", 1),
    ("wharf-proxy", 1),
    ("wharf-image", 2),
    ("wharf-registry", 2),
    ("wharf-container", 2),
    ("wharf-network", 2),
    ("wharf-dns", 2),
    ("wharf-volume", 2),
    ("wharf-build", 2),
    ("wharf-swarm", 2),
    ("wharf-server", 3),
    ("wharf-compose", 3),
    ("wharf-gotmpl", 3),
    ("wharfd", 4),
    ("wharf", 4),
    ("wharf-registryd", 4),
    ("wharf-it", 5),
    ("wharf-bench", 5),
    ("xtask", 5),
];

/// Same-layer edges that are allowed.
const SAME_LAYER_OK: &[(&str, &str)] = &[
    ("wharf-fs", "wharf-types"),
    ("wharf-api", "wharf-types"),
    ("wharf-reference", "wharf-types"),
    ("wharf-registry", "wharf-image"),
    ("wharf-build", "wharf-image"),
    ("wharf-container", "wharf-image"),
    ("wharf-network", "wharf-dns"),
    ("wharf-shim", "wharf-runtime"),
    ("wharf-shim", "wharf-logs"),
];

/// Client crates talk to any Docker-API daemon and never depend on daemon crates.
const CLIENT: &[&str] = &["wharf", "wharf-gotmpl", "wharf-compose"];
/// What client crates may use of the workspace.
const CLIENT_MAY_USE: &[&str] = &["wharf-gotmpl", "wharf-api", "wharf-types", "wharf-reference", "wharf-dockerfile"];

/// External crates that mean "knows HTTP or Docker's JSON", and who may use them.
const HTTP_CRATES: &[&str] = &["axum", "hyper", "hyper-util", "bollard", "bollard-stubs", "wharf-api", "reqwest"];
const HTTP_MAY: &[&str] = &[
    "wharf-server",
    "wharf-api",
    "wharf",
    "wharf-compose",
    "wharfd",
    "wharf-registry",
    "wharf-registryd",
    "wharf-it",
    "wharf-bench",
    "xtask",
];

/// Runs every check; returns all problems at once.
pub fn run(root: &Path) -> Result<(), String> {
    let meta = metadata(root)?;
    let arch = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap_or_default();
    let mut problems = check_crates(&meta, &arch);
    for dir in ["crates", "tests", "bench", "xtask", "fuzz/fuzz_targets"] {
        check_headers(&root.join(dir), root, &mut problems);
    }
    if problems.is_empty() {
        println!("tidy: {} crates, layering, ARCHITECTURE.md and file headers OK", meta.len());
        Ok(())
    } else {
        for p in &problems {
            eprintln!("tidy: {p}");
        }
        Err(format!("{} tidy problem(s)", problems.len()))
    }
}

/// Layering and code-map problems of `meta` (crate → dependencies) against `arch`.
fn check_crates(meta: &BTreeMap<String, Vec<String>>, arch: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let layer: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();

    for (name, deps) in meta {
        let Some(&l) = layer.get(name.as_str()) else {
            problems.push(format!("crate `{name}` has no layer in xtask/src/tidy.rs (and ARCHITECTURE.md)"));
            continue;
        };
        if !arch.contains(&format!("`{name}`")) {
            problems.push(format!("crate `{name}` is missing from ARCHITECTURE.md's code map"));
        }
        for dep in deps {
            if let Some(&dl) = layer.get(dep.as_str()) {
                let same_ok = SAME_LAYER_OK.contains(&(name.as_str(), dep.as_str()));
                if dl > l || (dl == l && !same_ok) {
                    problems.push(format!("forbidden edge: `{name}` (layer {l}) depends on `{dep}` (layer {dl})"));
                }
                if CLIENT.contains(&name.as_str()) && !CLIENT_MAY_USE.contains(&dep.as_str()) {
                    problems.push(format!("forbidden edge: client crate `{name}` depends on daemon crate `{dep}`"));
                }
            }
            if HTTP_CRATES.contains(&dep.as_str()) && !HTTP_MAY.contains(&name.as_str()) {
                problems.push(format!("forbidden edge: `{name}` depends on `{dep}`: only the API layer, clients and the registry know HTTP and Docker's JSON"));
            }
        }
    }
    problems
}

/// Workspace crates and the names of their normal and build dependencies.
fn metadata(root: &Path) -> Result<BTreeMap<String, Vec<String>>, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata JSON: {e}"))?;
    let mut map = BTreeMap::new();
    for p in v["packages"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap_or_default().to_string();
        let deps = p["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["kind"].as_str() != Some("dev"))
            .filter_map(|d| d["name"].as_str().map(str::to_string))
            .collect();
        map.insert(name, deps);
    }
    Ok(map)
}

fn check_headers(dir: &Path, root: &Path, problems: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name();
        if name == "target" || name.to_string_lossy().starts_with('.') {
            continue;
        }
        if p.is_dir() {
            check_headers(&p, root, problems);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            if !first.starts_with("//!") {
                let rel = p.strip_prefix(root).unwrap_or(&p);
                problems.push(format!("{} has no `//!` header saying what it is for", rel.display()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(edges: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        edges.iter().map(|(n, d)| (n.to_string(), d.iter().map(|x| x.to_string()).collect())).collect()
    }

    const ARCH: &str = "`wharf-types` `wharf-server` `wharf-events` `wharfd` `wharf` `wharf-image` `wharf-network`";

    #[test]
    fn accepts_downward_edges() {
        let m =
            meta(&[("wharfd", &["wharf-server", "wharf-events", "tokio"]), ("wharf-server", &["wharf-types", "axum"])]);
        assert_eq!(check_crates(&m, ARCH), Vec::<String>::new());
    }

    #[test]
    fn refuses_upward_same_layer_client_and_http_edges() {
        let m = meta(&[
            ("wharf-types", &["wharf-server"]),
            ("wharf-image", &["wharf-network"]),
            ("wharf", &["wharf-events"]),
            ("wharf-events", &["axum"]),
        ]);
        let p = check_crates(&m, ARCH).join("\n");
        assert!(p.contains("`wharf-types` (layer 0) depends on `wharf-server` (layer 3)"), "{p}");
        assert!(p.contains("`wharf-image` (layer 2) depends on `wharf-network` (layer 2)"), "{p}");
        assert!(p.contains("client crate `wharf` depends on daemon crate `wharf-events`"), "{p}");
        assert!(p.contains("`wharf-events` depends on `axum`"), "{p}");
    }

    #[test]
    fn refuses_unmapped_and_unknown_crates() {
        let m = meta(&[("wharf-volume", &[]), ("mystery", &[])]);
        let p = check_crates(&m, ARCH).join("\n");
        assert!(p.contains("`wharf-volume` is missing from ARCHITECTURE.md"), "{p}");
        assert!(p.contains("`mystery` has no layer"), "{p}");
    }

    #[test]
    fn the_layer_table_names_each_crate_once() {
        let mut names: Vec<&str> = LAYERS.iter().map(|(n, _)| *n).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
        for (a, b) in SAME_LAYER_OK {
            let la = LAYERS.iter().find(|(n, _)| n == a).map(|(_, l)| l);
            let lb = LAYERS.iter().find(|(n, _)| n == b).map(|(_, l)| l);
            assert!(la.is_some() && la == lb, "{a} -> {b}");
        }
    }
}
