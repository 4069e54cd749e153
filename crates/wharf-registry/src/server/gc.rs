//! Garbage collection, as distribution's `registry garbage-collect`: mark every blob a
//! manifest revision of any repository keeps alive (the manifest itself, its config, layers
//! and child manifests), then delete the other blobs and the repository links to them.
//! Optionally (`delete_untagged`) first delete the manifests no tag reaches (directly, through
//! an index, or as a referrer of a reached manifest), and upload sessions idle for too long.
//!
//! Run it on a registry that is stopped (the caller holds the root's lock): a push in progress
//! has blobs that no manifest names yet.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime};

use wharf_types::Digest;

use super::storage::{Result, Storage};
use crate::manifest::{self, Manifest};
use crate::name::RepoName;

/// What to collect.
#[derive(Debug, Clone, Default)]
pub struct GcOptions {
    /// Report only; delete nothing.
    pub dry_run: bool,
    /// Delete manifests that no tag reaches first.
    pub delete_untagged: bool,
    /// Delete upload sessions idle for longer than this.
    pub upload_max_age: Option<Duration>,
}

/// What was (or, in a dry run, would be) collected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Blobs kept.
    pub marked: usize,
    /// Blobs deleted.
    pub deleted_blobs: Vec<Digest>,
    /// Their total size.
    pub freed_bytes: u64,
    /// Untagged manifests deleted, as `repo@digest`.
    pub deleted_manifests: Vec<String>,
    /// Upload sessions deleted.
    pub deleted_uploads: usize,
}

fn load(s: &Storage, name: &RepoName, d: &Digest) -> Result<Option<Manifest>> {
    let Some(media_type) = s.revision(name, d)? else { return Ok(None) };
    let Some(body) = s.read_blob(d)? else {
        tracing::warn!(repo = %name, digest = %d, "manifest revision without its blob");
        return Ok(None);
    };
    Ok(manifest::parse(&body, Some(&media_type)).ok())
}

/// Collects garbage under `s`.
pub fn collect(s: &Storage, opts: &GcOptions) -> Result<GcReport> {
    let mut report = GcReport::default();
    if !opts.dry_run {
        let n = s.remove_temp_files()?;
        if n > 0 {
            tracing::info!(removed = n, "removed interrupted blob writes");
        }
    }
    let mut marked: BTreeSet<Digest> = BTreeSet::new();
    let repos = s.all_repositories()?;
    for name in &repos {
        let revisions = s.revisions(name)?;
        let mut manifests: HashMap<Digest, Option<Manifest>> = HashMap::new();
        for d in &revisions {
            manifests.insert(d.clone(), load(s, name, d)?);
        }
        if opts.delete_untagged {
            // Reachable from tags: through index children and referrers, to a fixed point.
            let mut keep: BTreeSet<Digest> = s.tags(name)?.into_iter().filter_map(|(_, d)| d).collect();
            loop {
                let before = keep.len();
                for (d, m) in &manifests {
                    let Some(m) = m else { continue };
                    if keep.contains(d) {
                        keep.extend(m.manifests.iter().map(|c| c.digest.clone()));
                    }
                    if m.subject.as_ref().is_some_and(|sub| keep.contains(&sub.digest)) {
                        keep.insert(d.clone());
                    }
                }
                if keep.len() == before {
                    break;
                }
            }
            for d in &revisions {
                if keep.contains(d) {
                    continue;
                }
                report.deleted_manifests.push(format!("{name}@{d}"));
                if !opts.dry_run {
                    let subject = manifests
                        .get(d)
                        .and_then(|m| m.as_ref())
                        .and_then(|m| m.subject.as_ref())
                        .map(|x| x.digest.clone());
                    s.delete_manifest(name, d, subject.as_ref())?;
                }
                manifests.remove(d);
            }
        }
        for (d, m) in &manifests {
            marked.insert(d.clone());
            if let Some(m) = m {
                marked.extend(m.references().cloned());
            }
        }
        if let Some(max_age) = opts.upload_max_age {
            let now = SystemTime::now();
            for (id, modified) in s.uploads(name)? {
                if now.duration_since(modified).unwrap_or_default() > max_age {
                    report.deleted_uploads += 1;
                    if !opts.dry_run {
                        s.delete_upload(name, &id)?;
                    }
                }
            }
        }
    }
    for d in s.all_blobs()? {
        if marked.contains(&d) {
            report.marked += 1;
            continue;
        }
        report.freed_bytes += s.blob_size(&d)?.unwrap_or(0);
        if !opts.dry_run {
            s.delete_blob(&d)?;
        }
        report.deleted_blobs.push(d);
    }
    if !opts.dry_run {
        let gone: BTreeSet<&Digest> = report.deleted_blobs.iter().collect();
        for name in &repos {
            for d in s.linked_blobs(name)? {
                if gone.contains(&d) || s.blob_size(&d)?.is_none() {
                    s.unlink_blob(name, &d)?;
                }
            }
        }
    }
    Ok(report)
}
