//! Lexical path cleaning: turns a path from an untrusted source into the components of a path
//! relative to a root, before any system call sees it.
//!
//! Rules (the same for the rooted API and for tar members, as Docker's archive package does):
//! a leading `/` is dropped (absolute paths are relative to the root), `.` and empty components
//! vanish, `..` removes the previous component, and a `..` that would climb above the root is
//! refused with [`FsError::Escape`]. A NUL byte is refused. Symlinks are not looked at here:
//! they are resolved later by the kernel, inside the root (`RESOLVE_IN_ROOT`).

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::error::{FsError, Result};

/// A cleaned path relative to a root: no `.`/`..`/empty components, no NUL, no `/` inside a
/// component. The empty path is the root itself. Paths order component by component (bytewise),
/// so a directory sorts right before its descendants, as a depth-first walk visits them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub(crate) struct RelPath {
    comps: Vec<OsString>,
}

impl RelPath {
    /// Cleans raw path bytes.
    pub(crate) fn clean(raw: &[u8]) -> Result<RelPath> {
        if raw.contains(&0) {
            return Err(FsError::InvalidPath { path: lossy_path(raw), reason: "contains a NUL byte" });
        }
        let mut comps: Vec<OsString> = Vec::new();
        for c in raw.split(|b| *b == b'/') {
            match c {
                b"" | b"." => {}
                b".." => {
                    if comps.pop().is_none() {
                        return Err(FsError::Escape { path: lossy_path(raw) });
                    }
                }
                c => comps.push(OsStr::from_bytes(c).to_os_string()),
            }
        }
        Ok(RelPath { comps })
    }

    /// Cleans raw path bytes as Go's `filepath.Join("/", p)` does for a path from an API call:
    /// like [`RelPath::clean`], except that a `..` at the root stays at the root.
    pub(crate) fn clean_clamped(raw: &[u8]) -> Result<RelPath> {
        if raw.contains(&0) {
            return Err(FsError::InvalidPath { path: lossy_path(raw), reason: "contains a NUL byte" });
        }
        let mut comps: Vec<OsString> = Vec::new();
        for c in raw.split(|b| *b == b'/') {
            match c {
                b"" | b"." => {}
                b".." => {
                    comps.pop();
                }
                c => comps.push(OsStr::from_bytes(c).to_os_string()),
            }
        }
        Ok(RelPath { comps })
    }

    /// Cleans a `Path`.
    pub(crate) fn from_path(p: &Path) -> Result<RelPath> {
        RelPath::clean(p.as_os_str().as_bytes())
    }

    pub(crate) fn is_root(&self) -> bool {
        self.comps.is_empty()
    }

    pub(crate) fn comps(&self) -> &[OsString] {
        &self.comps
    }

    /// The parent and the final component; `None` for the root.
    pub(crate) fn split_last(&self) -> Option<(RelPath, &OsStr)> {
        let (last, rest) = self.comps.split_last()?;
        Some((RelPath { comps: rest.to_vec() }, last.as_os_str()))
    }

    pub(crate) fn join(&self, name: &OsStr) -> RelPath {
        let mut comps = self.comps.clone();
        comps.push(name.to_os_string());
        RelPath { comps }
    }

    /// `self` followed by every component of `other`.
    pub(crate) fn concat(&self, other: &RelPath) -> RelPath {
        let mut comps = self.comps.clone();
        comps.extend(other.comps.iter().cloned());
        RelPath { comps }
    }

    /// The path as bytes, components joined by `/` (empty for the root).
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, c) in self.comps.iter().enumerate() {
            if i > 0 {
                out.push(b'/');
            }
            out.extend_from_slice(c.as_bytes());
        }
        out
    }

    /// The path as an absolute path inside its root (`/a/b`; `/` for the root), for messages.
    pub(crate) fn to_abs_path(&self) -> PathBuf {
        let mut b = b"/".to_vec();
        b.extend_from_slice(&self.to_bytes());
        lossy_path(&b)
    }

    /// The path for system calls: `.` for the root.
    pub(crate) fn to_path(&self) -> PathBuf {
        if self.comps.is_empty() {
            PathBuf::from(".")
        } else {
            PathBuf::from(OsString::from_vec(self.to_bytes()))
        }
    }

    /// Every proper ancestor, from the first component down (the root excluded).
    pub(crate) fn ancestors(&self) -> impl Iterator<Item = RelPath> + '_ {
        (1..self.comps.len()).map(|n| RelPath { comps: self.comps[..n].to_vec() })
    }
}

pub(crate) fn lossy_path(raw: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Result<Vec<String>> {
        RelPath::clean(s.as_bytes()).map(|p| p.comps().iter().map(|c| c.to_string_lossy().into_owned()).collect())
    }

    #[test]
    fn cleans_lexically() {
        assert_eq!(c("a/b/c").unwrap(), ["a", "b", "c"]);
        assert_eq!(c("/etc/passwd").unwrap(), ["etc", "passwd"]);
        assert_eq!(c("./a//b/./").unwrap(), ["a", "b"]);
        assert_eq!(c("a/../b").unwrap(), ["b"]);
        assert!(c("").unwrap().is_empty());
        assert!(c("/").unwrap().is_empty());
        assert!(c("./").unwrap().is_empty());
    }

    #[test]
    fn refuses_escapes_and_nul() {
        assert!(matches!(c(".."), Err(FsError::Escape { .. })));
        assert!(matches!(c("../x"), Err(FsError::Escape { .. })));
        assert!(matches!(c("a/../../x"), Err(FsError::Escape { .. })));
        assert!(matches!(c("/../x"), Err(FsError::Escape { .. })));
        assert!(matches!(RelPath::clean(b"a\0b"), Err(FsError::InvalidPath { .. })));
    }

    #[test]
    fn clamped_cleaning_stays_at_the_root() {
        let c = |s: &str| RelPath::clean_clamped(s.as_bytes()).unwrap().to_bytes();
        assert_eq!(c("../../etc/passwd"), b"etc/passwd");
        assert_eq!(c("/a/../../b/./c/"), b"b/c");
        assert_eq!(c(".."), b"");
        assert!(RelPath::clean_clamped(b"a\0").is_err());
        let a = RelPath::clean(b"a").unwrap();
        assert_eq!(a.concat(&RelPath::clean(b"b/c").unwrap()).to_bytes(), b"a/b/c");
        // Component order: a directory right before its descendants.
        let mut v = [RelPath::clean(b"a-b").unwrap(), RelPath::clean(b"a/b").unwrap(), a.clone()];
        v.sort();
        assert_eq!(
            v.iter().map(|p| p.to_bytes()).collect::<Vec<_>>(),
            [b"a".to_vec(), b"a/b".to_vec(), b"a-b".to_vec()]
        );
    }

    #[test]
    fn split_and_ancestors() {
        let p = RelPath::clean(b"a/b/c").unwrap();
        let (parent, name) = p.split_last().unwrap();
        assert_eq!(parent.to_bytes(), b"a/b");
        assert_eq!(name, "c");
        let anc: Vec<Vec<u8>> = p.ancestors().map(|a| a.to_bytes()).collect();
        assert_eq!(anc, [b"a".to_vec(), b"a/b".to_vec()]);
        assert_eq!(RelPath::default().to_path(), PathBuf::from("."));
    }
}
