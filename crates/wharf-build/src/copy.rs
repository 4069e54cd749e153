//! COPY/ADD: the sources (from the context directory, or a tar of another stage's path) turned
//! into a layer tar rooted at `/`, with a checksum of what was copied (paths, modes, owners,
//! link targets and contents; not times) for the cache key.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::BuildError;

/// A layer under construction.
pub(crate) struct Layer {
    tar: tar::Builder<Vec<u8>>,
    hash: Sha256,
    /// The numeric `--chown`, if any.
    chown: Option<(u64, u64)>,
    pub(crate) count: usize,
}

impl Layer {
    pub(crate) fn new(chown: Option<(u64, u64)>) -> Layer {
        let mut tar = tar::Builder::new(Vec::new());
        tar.follow_symlinks(false);
        Layer { tar, hash: Sha256::new(), chown, count: 0 }
    }

    /// The tar bytes and the checksum.
    pub(crate) fn finish(self) -> Result<(Vec<u8>, String), BuildError> {
        let data = self.tar.into_inner().map_err(io_err)?;
        Ok((data, hex::encode(self.hash.finalize())))
    }

    fn header(&mut self, path: &str, kind: tar::EntryType, mode: u32, uid: u64, gid: u64, mtime: u64) -> tar::Header {
        let (uid, gid) = self.chown.unwrap_or((uid, gid));
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode & 0o7777);
        h.set_uid(uid);
        h.set_gid(gid);
        h.set_mtime(mtime);
        h.set_size(0);
        self.hash.update(format!("{path}\0{kind:?}\0{:o}\0{uid}:{gid}\0", mode & 0o7777).as_bytes());
        self.count += 1;
        h
    }

    pub(crate) fn add_dir(&mut self, path: &str, mode: u32, uid: u64, gid: u64, mtime: u64) -> Result<(), BuildError> {
        let mut h = self.header(path, tar::EntryType::Directory, mode, uid, gid, mtime);
        self.tar.append_data(&mut h, format!("{path}/"), std::io::empty()).map_err(io_err)
    }

    fn add_file(&mut self, path: &str, meta: (u32, u64, u64, u64), mut data: impl Read) -> Result<(), BuildError> {
        let mut buf = Vec::new();
        data.read_to_end(&mut buf).map_err(io_err)?;
        let (mode, uid, gid, mtime) = meta;
        let mut h = self.header(path, tar::EntryType::Regular, mode, uid, gid, mtime);
        h.set_size(buf.len() as u64);
        self.hash.update(&buf);
        self.tar.append_data(&mut h, path, buf.as_slice()).map_err(io_err)
    }

    fn add_symlink(&mut self, path: &str, target: &str, uid: u64, gid: u64, mtime: u64) -> Result<(), BuildError> {
        let mut h = self.header(path, tar::EntryType::Symlink, 0o777, uid, gid, mtime);
        self.hash.update(target.as_bytes());
        self.tar.append_link(&mut h, path, target).map_err(io_err)
    }

    /// Copies `src` (a path relative to the context, already cleaned) from the context `ctx` to
    /// `dest` (absolute, cleaned; `dest_is_dir`: the source goes inside it).
    pub(crate) fn copy_from_context(
        &mut self,
        ctx: &Path,
        root: &wharf_fs::Root,
        src: &str,
        dest: &str,
        dest_is_dir: bool,
    ) -> Result<(), BuildError> {
        // A file: opened through the root, symlinks resolved inside the context (dockerd's
        // `FollowSymlinkInScope`: a link to `/etc/passwd` names `<context>/etc/passwd`).
        if !src.is_empty() {
            if let Ok(file) = root.open(src) {
                let meta = file.metadata().map_err(io_err)?;
                let name = Path::new(src).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let target = if dest_is_dir { join(dest, &name) } else { dest.to_string() };
                return self.add_file(rel_of(&target), file_meta(&meta), file);
            }
        }
        // A directory: it must be one inside the root, and its real path inside the context
        // (it is walked through the host path).
        if !src.is_empty() && root.read_dir(src).is_err() {
            return Err(not_found(src));
        }
        let full = if src.is_empty() { ctx.to_path_buf() } else { ctx.join(src) };
        let real = std::fs::canonicalize(&full).map_err(|_| not_found(src))?;
        let rel = real
            .strip_prefix(ctx)
            .map_err(|_| BuildError::new(format!("forbidden path outside the build context: {src} ()")))?
            .to_path_buf();
        let meta = std::fs::symlink_metadata(&real).map_err(|_| not_found(src))?;
        if !meta.is_dir() {
            return Err(not_found(src));
        }
        // A directory's contents go into the destination.
        self.walk_dir(ctx, &rel, dest)
    }

    fn walk_dir(&mut self, ctx: &Path, rel: &PathBuf, dest: &str) -> Result<(), BuildError> {
        if dest != "/" {
            let m = std::fs::symlink_metadata(ctx.join(rel)).map_err(io_err)?;
            let (mode, uid, gid, mtime) = file_meta(&m);
            self.add_dir(rel_of(dest), mode, uid, gid, mtime)?;
        }
        let mut names: Vec<_> =
            std::fs::read_dir(ctx.join(rel)).map_err(io_err)?.filter_map(|e| e.ok().map(|e| e.file_name())).collect();
        names.sort();
        for name in names {
            let child_rel = rel.join(&name);
            let child_dest = join(dest, &name.to_string_lossy());
            let path = ctx.join(&child_rel);
            let m = std::fs::symlink_metadata(&path).map_err(io_err)?;
            let (mode, uid, gid, mtime) = file_meta(&m);
            if m.file_type().is_symlink() {
                let target = std::fs::read_link(&path).map_err(io_err)?;
                self.add_symlink(rel_of(&child_dest), &target.to_string_lossy(), uid, gid, mtime)?;
            } else if m.is_dir() {
                self.walk_dir(ctx, &child_rel, &child_dest)?;
            } else if m.is_file() {
                let file = std::fs::File::open(&path).map_err(io_err)?;
                self.add_file(rel_of(&child_dest), (mode, uid, gid, mtime), file)?;
            }
        }
        Ok(())
    }

    /// Copies the entries of `tar` (a `docker cp`-style archive of a path, entries named
    /// `<base>/…`) to `dest`: with `dest_is_dir` the base keeps its name for a file and a
    /// directory's contents go into `dest`; else the base is renamed to `dest`.
    pub(crate) fn copy_from_tar(
        &mut self,
        input: impl Read,
        src_is_dir: bool,
        dest: &str,
        dest_is_dir: bool,
    ) -> Result<(), BuildError> {
        let mut archive = tar::Archive::new(input);
        for entry in archive.entries().map_err(io_err)? {
            let mut entry = entry.map_err(io_err)?;
            let path = entry.path().map_err(io_err)?.to_string_lossy().trim_end_matches('/').to_string();
            let (base, rest) = match path.split_once('/') {
                Some((b, r)) => (b.to_string(), r.to_string()),
                None => (path.clone(), String::new()),
            };
            let target = if src_is_dir {
                if rest.is_empty() {
                    dest.to_string()
                } else {
                    join(dest, &rest)
                }
            } else if dest_is_dir {
                join(dest, &base)
            } else {
                dest.to_string()
            };
            let h = entry.header().clone();
            let mode = h.mode().unwrap_or(0o644);
            let uid = h.uid().unwrap_or(0);
            let gid = h.gid().unwrap_or(0);
            let mtime = h.mtime().unwrap_or(0);
            match h.entry_type() {
                tar::EntryType::Directory if target != "/" => {
                    self.add_dir(rel_of(&target), mode, uid, gid, mtime)?;
                }
                tar::EntryType::Symlink => {
                    let link = entry.link_name().map_err(io_err)?.map(|l| l.to_string_lossy().into_owned());
                    self.add_symlink(rel_of(&target), &link.unwrap_or_default(), uid, gid, mtime)?;
                }
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    self.add_file(rel_of(&target), (mode, uid, gid, mtime), &mut entry)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// ADD of a local tar: its members extracted at `dest` (a directory).
    pub(crate) fn add_archive(&mut self, data: &[u8], dest: &str) -> Result<(), BuildError> {
        let gz = data.starts_with(&[0x1f, 0x8b]);
        let reader: Box<dyn Read> = if gz { Box::new(flate2::read::GzDecoder::new(data)) } else { Box::new(data) };
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries().map_err(io_err)? {
            let mut entry = entry.map_err(io_err)?;
            let path = wharf_types::clean_path(&format!("/{}", entry.path().map_err(io_err)?.to_string_lossy()));
            let target = join(dest, path.trim_start_matches('/'));
            let h = entry.header().clone();
            let (mode, uid, gid, mtime) =
                (h.mode().unwrap_or(0o644), h.uid().unwrap_or(0), h.gid().unwrap_or(0), h.mtime().unwrap_or(0));
            match h.entry_type() {
                tar::EntryType::Directory if target != "/" => self.add_dir(rel_of(&target), mode, uid, gid, mtime)?,
                tar::EntryType::Symlink => {
                    let link = entry.link_name().map_err(io_err)?.map(|l| l.to_string_lossy().into_owned());
                    self.add_symlink(rel_of(&target), &link.unwrap_or_default(), uid, gid, mtime)?;
                }
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    self.add_file(rel_of(&target), (mode, uid, gid, mtime), &mut entry)?
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Whether `data` looks like a tar (plain or gzipped) — ADD's auto-extraction test.
pub(crate) fn is_archive(data: &[u8]) -> bool {
    if data.starts_with(&[0x1f, 0x8b]) {
        let mut head = vec![0u8; 512];
        let mut d = flate2::read::GzDecoder::new(data);
        return d.read_exact(&mut head).is_ok() && &head[257..262] == b"ustar";
    }
    data.len() >= 512 && &data[257..262] == b"ustar"
}

fn file_meta(m: &std::fs::Metadata) -> (u32, u64, u64, u64) {
    (m.mode(), u64::from(m.uid()), u64::from(m.gid()), m.mtime().max(0) as u64)
}

fn not_found(src: &str) -> BuildError {
    BuildError::new(format!(
        "file not found in build context or excluded by .dockerignore: stat {src}: file does not exist"
    ))
}

fn io_err(e: std::io::Error) -> BuildError {
    BuildError::new(e.to_string())
}

/// `dest` joined with `name`, cleaned, absolute.
pub(crate) fn join(dest: &str, name: &str) -> String {
    wharf_types::clean_path(&format!("{dest}/{name}"))
}

/// An absolute path as a tar member name.
fn rel_of(p: &str) -> &str {
    p.trim_start_matches('/')
}
