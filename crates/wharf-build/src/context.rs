//! The build context: the request body (a tar, plain or gzipped) extracted into a directory
//! through `wharf_fs::archive::extract` (every member resolved inside the directory), then the
//! `.dockerignore` patterns applied by deleting what they exclude (the Dockerfile and the
//! ignore file stay, as the docker CLI keeps them).

use std::io::Read;
use std::path::Path;

use wharf_dockerfile::ignore::{read_ignore_file, select_ignore_file, PatternMatcher};

use crate::BuildError;

/// Extracts the context tar `body` into `dir` (an empty directory).
pub fn extract(dir: &Path, body: impl Read) -> Result<(), BuildError> {
    let root = wharf_fs::Root::new(dir).map_err(|e| BuildError::new(format!("error opening the context: {e}")))?;
    // `docker cp`'s extraction: `.wh.` names are ordinary files here, not whiteouts.
    let opts = wharf_fs::archive::ExtractOptions { allow_devices: false, ..Default::default() };
    wharf_fs::archive::extract(&root, "/", body, &opts)
        .map_err(|e| BuildError::new(format!("error extracting the build context: {e}")))?;
    Ok(())
}

/// Deletes what the context's ignore file (`<dockerfile>.dockerignore` or `.dockerignore`)
/// excludes, keeping the Dockerfile and the ignore file themselves.
pub fn apply_dockerignore(dir: &Path, dockerfile: &str) -> Result<(), BuildError> {
    let candidates = wharf_dockerfile::ignore::ignore_file_candidates(dockerfile);
    let existing: Vec<&str> = candidates
        .iter()
        .map(String::as_str)
        .filter(|c| std::fs::symlink_metadata(dir.join(c)).is_ok_and(|m| m.is_file()))
        .collect();
    let Some(file) = select_ignore_file(dockerfile, &existing) else { return Ok(()) };
    let text =
        std::fs::read_to_string(dir.join(file)).map_err(|e| BuildError::new(format!("error reading {file}: {e}")))?;
    let patterns = read_ignore_file(&text).map_err(|e| BuildError::new(e.to_string()))?;
    if patterns.is_empty() {
        return Ok(());
    }
    let matcher = PatternMatcher::new(&patterns).map_err(|e| BuildError::new(e.to_string()))?;
    let keep = [dockerfile.trim_start_matches("./").to_string(), file.to_string()];
    remove_ignored(dir, "", &matcher, &keep)
}

fn remove_ignored(base: &Path, rel: &str, m: &PatternMatcher, keep: &[String]) -> Result<(), BuildError> {
    let dir = if rel.is_empty() { base.to_path_buf() } else { base.join(rel) };
    let entries = std::fs::read_dir(&dir).map_err(|e| BuildError::new(format!("reading the context: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| BuildError::new(format!("reading the context: {e}")))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() { name } else { format!("{rel}/{name}") };
        if keep.contains(&path) {
            continue;
        }
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let excluded = m.matches_or_parent_matches(&path).map_err(|e| BuildError::new(e.to_string()))?;
        if excluded && !(is_dir && m.exclusions()) {
            let p = base.join(&path);
            let _ = if is_dir { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
        } else if is_dir {
            remove_ignored(base, &path, m, keep)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(files: &[(&str, &str)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, text) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(text.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, text.as_bytes()).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn dockerignore_applied() {
        let d = tempfile::tempdir().unwrap();
        extract(d.path(), tar_of(&tar_files()).as_slice()).unwrap();
        apply_dockerignore(d.path(), "Dockerfile").unwrap();
        assert!(d.path().join("Dockerfile").exists(), "the Dockerfile stays");
        assert!(d.path().join(".dockerignore").exists(), "the ignore file stays");
        assert!(d.path().join("b.txt").exists());
        assert!(!d.path().join("a.log").exists());
        assert!(!d.path().join("secret/key").exists());
        assert!(d.path().join("secret/keep").exists());
    }

    #[test]
    fn whiteout_names_are_ordinary_files() {
        let d = tempfile::tempdir().unwrap();
        extract(d.path(), tar_of(&[("a", "1"), (".wh.a", "2")]).as_slice()).unwrap();
        assert!(d.path().join("a").exists() && d.path().join(".wh.a").exists());
    }

    fn tar_files() -> Vec<(&'static str, &'static str)> {
        vec![
            ("Dockerfile", "FROM scratch\n"),
            (".dockerignore", "*.log\nsecret/\n!secret/keep\nDockerfile\n"),
            ("a.log", "x"),
            ("b.txt", "y"),
            ("secret/key", "k"),
            ("secret/keep", "k"),
        ]
    }

    #[test]
    fn gzip_is_detected() {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&tar_of(&tar_files())).unwrap();
        let d = tempfile::tempdir().unwrap();
        extract(d.path(), gz.finish().unwrap().as_slice()).unwrap();
        assert_eq!(std::fs::read_to_string(d.path().join("b.txt")).unwrap(), "y");
    }
}
