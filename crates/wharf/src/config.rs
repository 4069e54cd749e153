//! `<config>/config.json`, the docker CLI's configuration file. wharf writes
//! `currentContext` and the `auths` entries of `login`/`logout`, and reads a few settings
//! (`imagesFormat`, `psFormat`, `pruneFilters`, `detachKeys`, `proxies`, `credsStore`,
//! `credHelpers`); every other key is preserved as-is when the file is saved.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::{Map, Value};

use crate::format::go_json_pretty_tabs;

/// The loaded configuration file.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConfigFile {
    path: PathBuf,
    data: Map<String, Value>,
}

impl ConfigFile {
    /// Loads `<dir>/config.json`. A missing file is an empty configuration. A malformed
    /// file prints a warning and is treated as empty, as docker does.
    pub(crate) fn load(dir: &Path) -> ConfigFile {
        let path = dir.join("config.json");
        let data = match fs::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Map::new(),
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(m)) => m,
                Ok(_) => {
                    eprintln!("WARNING: Error loading config file: {}: not a JSON object", path.display());
                    Map::new()
                }
                Err(e) => {
                    eprintln!("WARNING: Error loading config file: {}: {e}", path.display());
                    Map::new()
                }
            },
            Err(_) => Map::new(),
        };
        ConfigFile { path, data }
    }

    /// `currentContext`, if set and non-empty.
    pub(crate) fn current_context(&self) -> Option<&str> {
        self.data.get("currentContext").and_then(Value::as_str).filter(|s| !s.is_empty())
    }

    /// A string setting such as `imagesFormat`, if set and non-empty.
    pub(crate) fn get_str(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
    }

    /// Any setting, as JSON (`proxies`).
    pub(crate) fn get_value(&self, key: &str) -> Option<&Value> {
        self.data.get(key)
    }

    /// A list-of-strings setting such as `pruneFilters` (other values are skipped).
    pub(crate) fn get_str_list(&self, key: &str) -> Vec<String> {
        self.data
            .get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
            .unwrap_or_default()
    }

    /// The file's path (`<dir>/config.json`).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The `auths` entries, by key, as they are in the file.
    pub(crate) fn auths(&self) -> Vec<(&str, &Value)> {
        match self.data.get("auths") {
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.as_str(), v)).collect(),
            _ => Vec::new(),
        }
    }

    /// Sets the `auths` entry `key` (an object in docker's stored form).
    pub(crate) fn set_auth(&mut self, key: &str, entry: Value) {
        let auths = self.data.entry("auths").or_insert_with(|| Value::Object(Map::new()));
        if !auths.is_object() {
            *auths = Value::Object(Map::new());
        }
        if let Value::Object(m) = auths {
            m.insert(key.to_string(), entry);
        }
    }

    /// Removes the `auths` entry `key`; whether there was one.
    pub(crate) fn remove_auth(&mut self, key: &str) -> bool {
        match self.data.get_mut("auths") {
            Some(Value::Object(m)) => m.remove(key).is_some(),
            _ => false,
        }
    }

    /// `credHelpers`: the credential helper named for each registry.
    pub(crate) fn cred_helpers(&self) -> Vec<(&str, &str)> {
        match self.data.get("credHelpers") {
            Some(Value::Object(m)) => m.iter().filter_map(|(k, v)| Some((k.as_str(), v.as_str()?))).collect(),
            _ => Vec::new(),
        }
    }

    /// Sets (`Some`) or clears (`None`) `currentContext`.
    pub(crate) fn set_current_context(&mut self, name: Option<&str>) {
        match name {
            Some(n) if !n.is_empty() => {
                self.data.insert("currentContext".into(), Value::String(n.into()));
            }
            _ => {
                self.data.remove("currentContext");
            }
        }
    }

    /// Writes the file atomically (temp file in the same directory, fsync, rename), in
    /// the layout docker writes (tab indent, `"auths"` always present). A symlinked
    /// config.json is written through to its target, as docker does.
    pub(crate) fn save(&self) -> anyhow::Result<()> {
        let mut data = self.data.clone();
        data.entry("auths").or_insert_with(|| Value::Object(Map::new()));
        let text = go_json_pretty_tabs(&Value::Object(data))?;

        let target = match fs::canonicalize(&self.path) {
            Ok(p) => p,
            Err(_) => self.path.clone(),
        };
        let dir = target.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
        // A new configuration directory is private, as docker makes it.
        std::os::unix::fs::DirBuilderExt::mode(fs::DirBuilder::new().recursive(true), 0o700)
            .create(&dir)
            .with_context(|| format!("creating {}", dir.display()))?;
        let mode = fs_mode(&target).unwrap_or(0o600);
        atomic_write(&target, text.as_bytes(), mode)
    }
}

fn fs_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).ok().map(|m| m.permissions().mode() & 0o777)
}

/// Writes `bytes` to `path` atomically: a temporary file next to it, fsync, rename, and
/// an fsync of the directory.
pub(crate) fn atomic_write(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(&tmp)?;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        if let Ok(d) = fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preserves_other_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.json");
        fs::write(
            &path,
            "{\n\t\"auths\": {\"r.example\": {\"auth\": \"eDp5\"}},\n\t\"psFormat\": \"table {{.ID}}\",\n\t\"currentContext\": \"old\"\n}",
        )
        .expect("write");
        let mut cfg = ConfigFile::load(dir.path());
        assert_eq!(cfg.current_context(), Some("old"));
        cfg.set_current_context(Some("new"));
        cfg.save().expect("save");

        let v: Value = serde_json::from_slice(&fs::read(&path).expect("read")).expect("json");
        assert_eq!(v["currentContext"], "new");
        assert_eq!(v["psFormat"], "table {{.ID}}");
        assert_eq!(v["auths"]["r.example"]["auth"], "eDp5");

        let mut cfg = ConfigFile::load(dir.path());
        cfg.set_current_context(None);
        cfg.save().expect("save");
        let text = fs::read_to_string(&path).expect("read");
        assert!(!text.contains("currentContext"));
        assert!(text.contains("\n\t\"psFormat\": \"table {{.ID}}\""), "{text}");
        // No temp files left behind.
        assert_eq!(fs::read_dir(dir.path()).expect("ls").count(), 1);
    }

    #[test]
    fn docker_layout_for_new_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = ConfigFile::load(&dir.path().join("sub"));
        assert_eq!(cfg.current_context(), None);
        cfg.set_current_context(Some("yy"));
        cfg.save().expect("save");
        let text = fs::read_to_string(dir.path().join("sub/config.json")).expect("read");
        assert_eq!(text, "{\n\t\"auths\": {},\n\t\"currentContext\": \"yy\"\n}");
    }

    #[test]
    fn malformed_is_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("config.json"), "{not json").expect("write");
        assert_eq!(ConfigFile::load(dir.path()).current_context(), None);
    }
}
