//! The `Mount` value: a mount described as data (containerd's `mount.Mount` shape). Snapshotters
//! return these and the runtime performs them; nothing here touches the kernel.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One mount to perform, as data: `mount -t <typ> -o <options> <source> <target>`.
///
/// Options mix mount flags (`ro`, `rbind`, `nosuid`…) and filesystem data (`lowerdir=…`), as in
/// containerd and `mount(8)`; whoever performs the mount splits them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Mount {
    /// Filesystem type: `"overlay"`, `"bind"`, `"tmpfs"`…
    #[serde(rename = "type")]
    pub typ: String,
    /// What to mount: a path for `bind`, a label (`"overlay"`, `"tmpfs"`) otherwise.
    pub source: String,
    /// Where to mount it, when the producer knows; snapshotters leave it `None` and the
    /// caller chooses the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<PathBuf>,
    /// Flags and data options, in order.
    #[serde(default)]
    pub options: Vec<String>,
}

impl Mount {
    /// A bind mount of `source` with the given options (e.g. `["rbind", "ro"]`).
    pub fn bind(source: impl Into<String>, options: Vec<String>) -> Self {
        Mount { typ: "bind".into(), source: source.into(), target: None, options }
    }

    /// Whether the options ask for a read-only mount (`ro` present, later `rw` wins).
    pub fn is_read_only(&self) -> bool {
        self.options.iter().rev().find_map(|o| match o.as_str() {
            "ro" => Some(true),
            "rw" => Some(false),
            _ => None,
        }) == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_in_containerd_shape() {
        let m = Mount::bind("/a", vec!["rbind".into(), "ro".into()]);
        let j = serde_json::to_value(&m).unwrap();
        assert_eq!(j, serde_json::json!({"type": "bind", "source": "/a", "options": ["rbind", "ro"]}));
        let back: Mount = serde_json::from_value(j).unwrap();
        assert_eq!(back, m);
        assert!(m.is_read_only());
    }

    #[test]
    fn later_rw_wins() {
        let m = Mount::bind("/a", vec!["ro".into(), "rw".into()]);
        assert!(!m.is_read_only());
    }
}
