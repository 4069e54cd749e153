//! A deterministic tar writer: ustar headers (empty user/group names, no atime/ctime) with a PAX
//! extended header before an entry only when needed (long path or link target, xattrs, ids or
//! sizes beyond ustar's fields, negative mtimes), and two zero blocks at the end. The same
//! input always gives the same bytes.

use std::io::{self, Read, Write};
use std::path::Path;

use crate::error::{FsError, Result};
use crate::hash::HashWriter;
use crate::tar_read::{EntryKind, Member};

const USTAR_ID_MAX: u64 = 0o7777777;
const USTAR_SIZE_MAX: u64 = 0o77777777777;

pub(crate) struct TarWriter<W: Write> {
    out: HashWriter<W>,
    entries: u64,
    content: u64,
}

fn werr(e: io::Error) -> FsError {
    FsError::io("write layer", "", e)
}

impl<W: Write> TarWriter<W> {
    pub(crate) fn new(out: W) -> Self {
        TarWriter { out: HashWriter::new(out), entries: 0, content: 0 }
    }

    /// Appends a member; a regular file's `m.size` bytes are copied from `data`.
    pub(crate) fn append(&mut self, m: &Member, data: Option<&mut dyn Read>, shown: &Path) -> Result<()> {
        let (header, pax) = header_for(m);
        if !pax.is_empty() {
            let mut body = Vec::new();
            for (k, v) in &pax {
                body.extend_from_slice(&pax_record(k, v));
            }
            let mut ph = tar::Header::new_ustar();
            put_path(&mut ph, b"././@PaxHeader");
            ph.set_entry_type(tar::EntryType::XHeader);
            ph.set_mode(0o644);
            ph.set_uid(0);
            ph.set_gid(0);
            ph.set_mtime(0);
            ph.set_size(body.len() as u64);
            ph.set_cksum();
            self.out.write_all(ph.as_bytes()).map_err(werr)?;
            self.out.write_all(&body).map_err(werr)?;
            self.pad(body.len() as u64)?;
        }
        self.out.write_all(header.as_bytes()).map_err(werr)?;
        if m.kind == EntryKind::Regular && m.size > 0 {
            let data = data.ok_or_else(|| FsError::Changed { path: shown.to_path_buf() })?;
            let copied = io::copy(&mut data.take(m.size), &mut self.out).map_err(|e| FsError::io("read", shown, e))?;
            self.content += copied;
            if copied != m.size {
                return Err(FsError::Changed { path: shown.to_path_buf() });
            }
            self.pad(m.size)?;
        }
        self.entries += 1;
        Ok(())
    }

    fn pad(&mut self, size: u64) -> Result<()> {
        let pad = ((512 - size % 512) % 512) as usize;
        self.out.write_all(&[0u8; 512][..pad]).map_err(werr)
    }

    /// Writes the end-of-archive marker; returns (members, bytes, `sha256:<hex>`).
    /// Ends the archive: (entries, bytes, diff id, regular-file content bytes).
    pub(crate) fn finish(mut self) -> Result<(u64, u64, String, u64)> {
        self.out.write_all(&[0u8; 1024]).map_err(werr)?;
        let (bytes, digest) = self.out.finish().map_err(werr)?;
        Ok((self.entries, bytes, digest, self.content))
    }
}

/// Puts a path into ustar's name (and prefix) fields; false when it does not fit.
fn put_path(h: &mut tar::Header, path: &[u8]) -> bool {
    let name_field = |h: &mut tar::Header, name: &[u8]| {
        let f = &mut h.as_old_mut().name;
        f.fill(0);
        f[..name.len()].copy_from_slice(name);
    };
    if path.len() <= 100 {
        name_field(h, path);
        return true;
    }
    // Split at a '/' so that the prefix fits 155 bytes and the rest 100 (and is not empty).
    let split =
        (0..path.len()).rev().find(|&i| path[i] == b'/' && i <= 155 && path.len() - i - 1 <= 100 && i + 1 < path.len());
    let (Some(i), Some(_)) = (split, h.as_ustar_mut()) else { return false };
    name_field(h, &path[i + 1..]);
    if let Some(u) = h.as_ustar_mut() {
        u.prefix.fill(0);
        u.prefix[..i].copy_from_slice(&path[..i]);
    }
    true
}

/// A PAX record `"<len> <key>=<value>\n"`, where `<len>` counts itself.
fn pax_record(key: &[u8], value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    let mut r = format!("{len} ").into_bytes();
    r.extend_from_slice(key);
    r.push(b'=');
    r.extend_from_slice(value);
    r.push(b'\n');
    r
}

/// PAX records: (key, value).
type PaxRecords = Vec<(Vec<u8>, Vec<u8>)>;

fn header_for(m: &Member) -> (tar::Header, PaxRecords) {
    let mut h = tar::Header::new_ustar();
    let mut pax: PaxRecords = Vec::new();
    let mut path = m.path.clone();
    if m.kind == EntryKind::Dir && !path.ends_with(b"/") {
        path.push(b'/');
    }
    if !put_path(&mut h, &path) {
        pax.push((b"path".to_vec(), path.clone()));
        let tail = &path[path.len().saturating_sub(100)..];
        put_path(&mut h, tail);
    }
    if !m.link.is_empty() {
        let f = &mut h.as_old_mut().linkname;
        if m.link.len() > f.len() {
            pax.push((b"linkpath".to_vec(), m.link.clone()));
        }
        let n = m.link.len().min(f.len());
        f[..n].copy_from_slice(&m.link[..n]);
    }
    h.set_mode(m.mode & 0o7777);
    for (key, id) in [(&b"uid"[..], m.uid), (&b"gid"[..], m.gid)] {
        if id > USTAR_ID_MAX {
            pax.push((key.to_vec(), id.to_string().into_bytes()));
        }
    }
    h.set_uid(m.uid);
    h.set_gid(m.gid);
    if m.mtime.sec < 0 {
        pax.push((b"mtime".to_vec(), m.mtime.sec.to_string().into_bytes()));
        h.set_mtime(0);
    } else {
        h.set_mtime(m.mtime.sec.unsigned_abs());
    }
    let size = if m.kind == EntryKind::Regular { m.size } else { 0 };
    if size > USTAR_SIZE_MAX {
        pax.push((b"size".to_vec(), size.to_string().into_bytes()));
    }
    h.set_size(size);
    h.set_entry_type(match m.kind {
        EntryKind::Regular => tar::EntryType::Regular,
        EntryKind::Dir => tar::EntryType::Directory,
        EntryKind::Symlink => tar::EntryType::Symlink,
        EntryKind::HardLink => tar::EntryType::Link,
        EntryKind::Char => tar::EntryType::Char,
        EntryKind::Block => tar::EntryType::Block,
        EntryKind::Fifo => tar::EntryType::Fifo,
    });
    if matches!(m.kind, EntryKind::Char | EntryKind::Block) {
        // ustar headers always have device fields; these setters only fail on old headers.
        let _ = h.set_device_major(m.dev.0);
        let _ = h.set_device_minor(m.dev.1);
    } else {
        let _ = h.set_device_major(0);
        let _ = h.set_device_minor(0);
    }
    let mut xattrs = m.xattrs.clone();
    xattrs.sort();
    for (k, v) in xattrs {
        let mut key = b"SCHILY.xattr.".to_vec();
        key.extend_from_slice(&k);
        pax.push((key, v));
    }
    h.set_cksum();
    (h, pax)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_length_counts_itself() {
        assert_eq!(pax_record(b"path", b"ab"), b"11 path=ab\n");
        let r = pax_record(b"k", &[b'v'; 95]);
        assert!(r.starts_with(b"102 "));
        assert_eq!(r.len(), 102);
        let mut out = Vec::new();
        crate::tar_read::parse_pax(&r, &mut out).unwrap();
        assert_eq!(out[0].1.len(), 95);
    }

    #[test]
    fn long_paths_split_or_pax() {
        let mut h = tar::Header::new_ustar();
        let p = [b"d".repeat(120), b"f".repeat(50)].join(&b'/');
        assert!(put_path(&mut h, &p));
        assert_eq!(h.path_bytes().as_ref(), p.as_slice());
        assert!(!put_path(&mut tar::Header::new_ustar(), &b"x".repeat(300)));
    }
}
