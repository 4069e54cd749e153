//! A streaming tar reader with hard limits, built on the `tar` crate's header parsing only.
//!
//! It walks 512-byte blocks itself so that every length taken from the input is checked before
//! anything is allocated: GNU long names/links and PAX records larger than the limit are refused
//! (the `tar` crate's own iterator would buffer them whole). It understands ustar (with prefix),
//! GNU (long names, long links, atime) and PAX (`path`, `linkpath`, `size`, `uid`, `gid`,
//! `mtime`, `atime` with sub-second precision, `SCHILY.xattr.*`); PAX global headers are ignored
//! as Docker does. Header-only types (directories, links, devices, fifos) carry no data whatever
//! their size field says, as in Go's `archive/tar`. GNU sparse files and other exotic types are
//! refused as unsupported.

use std::io::{self, Read};

use crate::error::{FsError, Result};
use crate::path::lossy_path;
use crate::root::FileTime;

const BLOCK: u64 = 512;

/// The kind of a tar member that reaches the filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Regular,
    Dir,
    Symlink,
    HardLink,
    Char,
    Block,
    Fifo,
}

/// One tar member, with every extension header already folded in.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) path: Vec<u8>,
    pub(crate) link: Vec<u8>,
    pub(crate) kind: EntryKind,
    pub(crate) size: u64,
    pub(crate) mode: u32,
    pub(crate) uid: u64,
    pub(crate) gid: u64,
    pub(crate) mtime: FileTime,
    pub(crate) atime: Option<FileTime>,
    pub(crate) dev: (u32, u32),
    pub(crate) xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Input limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_path: usize,
    pub(crate) max_record: u64,
}

pub(crate) struct TarReader<R> {
    inner: R,
    limits: Limits,
    index: u64,
    remaining: u64,
    padding: u64,
    done: bool,
}

fn padding_of(size: u64) -> u64 {
    (BLOCK - size % BLOCK) % BLOCK
}

impl<R: Read> TarReader<R> {
    pub(crate) fn new(inner: R, limits: Limits) -> Self {
        TarReader { inner, limits, index: 0, remaining: 0, padding: 0, done: false }
    }

    pub(crate) fn into_inner(self) -> R {
        self.inner
    }

    fn malformed(&self, reason: impl Into<String>) -> FsError {
        FsError::Malformed { entry: self.index, reason: reason.into() }
    }

    fn read_err(&self, e: io::Error) -> FsError {
        FsError::io("read layer", "", e)
    }

    /// Skips what is left of the current member's data and padding.
    fn skip_rest(&mut self) -> Result<()> {
        let n = self.remaining + self.padding;
        if n > 0 {
            let copied = io::copy(&mut (&mut self.inner).take(n), &mut io::sink()).map_err(|e| self.read_err(e))?;
            if copied != n {
                return Err(self.malformed("archive truncated inside a member"));
            }
        }
        self.remaining = 0;
        self.padding = 0;
        Ok(())
    }

    /// Reads exactly one block; `Ok(false)` on a clean end of input before it.
    fn read_block(&mut self, block: &mut [u8; 512]) -> Result<bool> {
        let mut got = 0;
        while got < block.len() {
            match self.inner.read(&mut block[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.read_err(e)),
            }
        }
        match got {
            0 => Ok(false),
            512 => Ok(true),
            _ => Err(self.malformed("archive truncated inside a header")),
        }
    }

    /// Reads an extension record of `size` bytes (plus padding), refusing one over the limit.
    fn read_record(&mut self, size: u64, what: &'static str) -> Result<Vec<u8>> {
        if size > self.limits.max_record {
            return Err(FsError::HeaderTooLarge { what, size, limit: self.limits.max_record });
        }
        let mut data = Vec::new();
        (&mut self.inner).take(size).read_to_end(&mut data).map_err(|e| self.read_err(e))?;
        if data.len() as u64 != size {
            return Err(self.malformed("archive truncated inside an extension header"));
        }
        self.remaining = 0;
        self.padding = padding_of(size);
        self.skip_rest()?;
        Ok(data)
    }

    /// The next member that reaches the filesystem, or `None` at the end of the archive.
    pub(crate) fn next_member(&mut self) -> Result<Option<Member>> {
        self.skip_rest()?;
        if self.done {
            return Ok(None);
        }
        let mut long_name: Option<Vec<u8>> = None;
        let mut long_link: Option<Vec<u8>> = None;
        let mut pax: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut block = [0u8; 512];
        loop {
            let pending = long_name.is_some() || long_link.is_some() || !pax.is_empty();
            if !self.read_block(&mut block)? || block.iter().all(|b| *b == 0) {
                self.done = true;
                if pending {
                    return Err(self.malformed("archive ends after an extension header"));
                }
                return Ok(None);
            }
            check_cksum(&block).map_err(|r| self.malformed(r))?;
            let h = tar::Header::from_byte_slice(&block);
            let size = num_field(&block[124..136]).ok_or_else(|| self.malformed("bad size field"))?;
            let typeflag = h.entry_type().as_byte();
            match typeflag {
                b'L' => {
                    let mut v = self.read_record(size, "gnu long name")?;
                    trim_nuls(&mut v);
                    long_name = Some(v);
                    continue;
                }
                b'K' => {
                    let mut v = self.read_record(size, "gnu long link")?;
                    trim_nuls(&mut v);
                    long_link = Some(v);
                    continue;
                }
                b'x' | b'X' => {
                    let data = self.read_record(size, "pax")?;
                    parse_pax(&data, &mut pax).map_err(|r| self.malformed(r))?;
                    continue;
                }
                b'g' => {
                    self.read_record(size, "pax global")?;
                    continue;
                }
                _ => {}
            }
            let member = self.build(h, size, typeflag, long_name, long_link, pax)?;
            self.index += 1;
            return Ok(Some(member));
        }
    }

    fn build(
        &mut self,
        h: &tar::Header,
        header_size: u64,
        typeflag: u8,
        long_name: Option<Vec<u8>>,
        long_link: Option<Vec<u8>>,
        pax: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<Member> {
        let mut path = long_name.unwrap_or_else(|| h.path_bytes().into_owned());
        let mut link = long_link.unwrap_or_else(|| h.link_name_bytes().map(|c| c.into_owned()).unwrap_or_default());
        let mut size = header_size;
        let raw = h.as_bytes();
        let mut uid = num_field(&raw[108..116]).ok_or_else(|| self.malformed("bad uid field"))?;
        let mut gid = num_field(&raw[116..124]).ok_or_else(|| self.malformed("bad gid field"))?;
        let mtime = num_field(&raw[136..148]).ok_or_else(|| self.malformed("bad mtime field"))?;
        let mut mtime = FileTime::from_secs(i64::try_from(mtime).map_err(|_| self.malformed("bad mtime field"))?);
        let mut atime = h
            .as_gnu()
            .and_then(|_| num_field(&raw[345..357]))
            .filter(|t| *t > 0)
            .and_then(|t| i64::try_from(t).ok())
            .map(FileTime::from_secs);
        let mut xattrs: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut sparse = false;
        for (k, v) in pax {
            if v.is_empty() && !k.starts_with(b"SCHILY.xattr.") {
                continue; // an empty value unsets the key: keep the header's field
            }
            match k.as_slice() {
                b"path" => path = v,
                b"linkpath" => link = v,
                b"size" => size = parse_dec(&v).ok_or_else(|| self.malformed("bad pax size"))?,
                b"uid" => uid = parse_dec(&v).ok_or_else(|| self.malformed("bad pax uid"))?,
                b"gid" => gid = parse_dec(&v).ok_or_else(|| self.malformed("bad pax gid"))?,
                b"mtime" => mtime = parse_pax_time(&v).ok_or_else(|| self.malformed("bad pax mtime"))?,
                b"atime" => atime = Some(parse_pax_time(&v).ok_or_else(|| self.malformed("bad pax atime"))?),
                k if k.starts_with(b"SCHILY.xattr.") => {
                    let name = k[b"SCHILY.xattr.".len()..].to_vec();
                    xattrs.retain(|(n, _)| *n != name);
                    xattrs.push((name, v));
                }
                k if k.starts_with(b"GNU.sparse.") => sparse = true,
                _ => {}
            }
        }
        for p in [&path, &link] {
            if p.len() > self.limits.max_path {
                let shown = String::from_utf8_lossy(&p[..256.min(p.len())]).into_owned();
                return Err(FsError::PathTooLong { path: shown, len: p.len(), limit: self.limits.max_path });
            }
        }
        let kind = match typeflag {
            b'0' | b'7' if !sparse => EntryKind::Regular,
            b'\0' if !sparse => {
                if path.ends_with(b"/") {
                    EntryKind::Dir
                } else {
                    EntryKind::Regular
                }
            }
            b'1' => EntryKind::HardLink,
            b'2' => EntryKind::Symlink,
            b'3' => EntryKind::Char,
            b'4' => EntryKind::Block,
            b'5' => EntryKind::Dir,
            b'6' => EntryKind::Fifo,
            other => {
                return Err(FsError::Unsupported {
                    path: lossy_path(&path).display().to_string(),
                    typeflag: other as char,
                })
            }
        };
        let dev =
            if matches!(kind, EntryKind::Char | EntryKind::Block) && (h.as_ustar().is_some() || h.as_gnu().is_some()) {
                let field = |r: std::ops::Range<usize>, what: &str| {
                    num_field(&raw[r])
                        .and_then(|v| u32::try_from(v).ok())
                        .ok_or_else(|| self.malformed(format!("bad device {what}")))
                };
                (field(329..337, "major")?, field(337..345, "minor")?)
            } else {
                (0, 0)
            };
        let mode = num_field(&raw[100..108]).ok_or_else(|| self.malformed("bad mode field"))?;
        let mode = u32::try_from(mode & 0o7777).unwrap_or(0);
        if kind == EntryKind::Regular {
            self.remaining = size;
            self.padding = padding_of(size);
        } else {
            size = 0;
        }
        Ok(Member { path, link, kind, size, mode, uid, gid, mtime, atime, dev, xattrs })
    }
}

impl<R: Read> Read for TarReader<R> {
    /// Reads the current member's data; 0 at its end. A truncated archive is an error.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "archive truncated inside a file"));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

fn trim_nuls(v: &mut Vec<u8>) {
    while v.last() == Some(&0) {
        v.pop();
    }
}

/// Verifies a header block's checksum (unsigned sum, or the historic signed sum).
fn check_cksum(block: &[u8; 512]) -> std::result::Result<(), &'static str> {
    let h = tar::Header::from_byte_slice(block);
    let stored = h.cksum().map_err(|_| "bad checksum field")?;
    let (mut unsigned, mut signed) = (0u32, 0i32);
    for (i, b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { *b };
        unsigned = unsigned.wrapping_add(u32::from(b));
        signed = signed.wrapping_add(i32::from(b as i8));
    }
    if stored == unsigned || i64::from(stored) == i64::from(signed) {
        Ok(())
    } else {
        Err("bad header checksum")
    }
}

/// A numeric header field: octal text padded with spaces or NULs (empty is 0), or GNU base-256
/// (negative values are refused).
fn num_field(f: &[u8]) -> Option<u64> {
    let first = *f.first()?;
    if first & 0x80 != 0 {
        if first & 0x40 != 0 {
            return None; // negative
        }
        let mut v: u64 = u64::from(first & 0x3f);
        for b in &f[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(*b))?;
        }
        return Some(v);
    }
    let trim = |b: &u8| *b == 0 || *b == b' ';
    let start = f.iter().position(|b| !trim(b)).unwrap_or(f.len());
    let end = f.iter().rposition(|b| !trim(b)).map_or(start, |i| i + 1);
    let digits = &f[start..end];
    let mut v: u64 = 0;
    for d in digits {
        if !(b'0'..=b'7').contains(d) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(v)
}

fn parse_dec(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 20 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// A PAX time: `[-]seconds[.fraction]`.
pub(crate) fn parse_pax_time(v: &[u8]) -> Option<FileTime> {
    let (neg, v) = match v.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    let (int, frac) = match v.iter().position(|b| *b == b'.') {
        Some(i) => (&v[..i], &v[i + 1..]),
        None => (v, &b""[..]),
    };
    if !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let secs = i64::try_from(parse_dec(int)?).ok()?;
    let mut nanos: u32 = 0;
    for i in 0..9 {
        nanos = nanos * 10 + frac.get(i).map(|d| u32::from(d - b'0')).unwrap_or(0);
    }
    Some(match (neg, nanos) {
        (false, n) => FileTime { sec: secs, nsec: n },
        (true, 0) => FileTime { sec: -secs, nsec: 0 },
        (true, n) => FileTime { sec: -secs - 1, nsec: 1_000_000_000 - n },
    })
}

/// Parses PAX records (`"<len> <key>=<value>\n"`) and appends them in order.
pub(crate) fn parse_pax(data: &[u8], out: &mut Vec<(Vec<u8>, Vec<u8>)>) -> std::result::Result<(), &'static str> {
    let mut rest = data;
    while !rest.is_empty() {
        if rest.iter().all(|b| *b == 0) {
            break; // NUL padding some writers leave
        }
        let sp = rest.iter().position(|b| *b == b' ').ok_or("pax record without length")?;
        let len = parse_dec(&rest[..sp]).ok_or("bad pax record length")?;
        let len = usize::try_from(len).map_err(|_| "bad pax record length")?;
        if len <= sp + 1 || len > rest.len() {
            return Err("bad pax record length");
        }
        let rec = &rest[sp + 1..len];
        let kv = rec.strip_suffix(b"\n").ok_or("pax record without newline")?;
        let eq = kv.iter().position(|b| *b == b'=').ok_or("pax record without '='")?;
        out.push((kv[..eq].to_vec(), kv[eq + 1..].to_vec()));
        rest = &rest[len..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_times() {
        assert_eq!(parse_pax_time(b"1700000000"), Some(FileTime { sec: 1_700_000_000, nsec: 0 }));
        assert_eq!(parse_pax_time(b"1.5"), Some(FileTime { sec: 1, nsec: 500_000_000 }));
        assert_eq!(parse_pax_time(b"1.123456789123"), Some(FileTime { sec: 1, nsec: 123_456_789 }));
        assert_eq!(parse_pax_time(b"-1.5"), Some(FileTime { sec: -2, nsec: 500_000_000 }));
        assert_eq!(parse_pax_time(b"x"), None);
        assert_eq!(parse_pax_time(b""), None);
        assert_eq!(parse_pax_time(b"1.x"), None);
    }

    #[test]
    fn numeric_fields() {
        assert_eq!(num_field(b"0000644\0"), Some(0o644));
        assert_eq!(num_field(b"  644 \0"), Some(0o644));
        assert_eq!(num_field(b"\0\0\0\0\0\0\0\0"), Some(0));
        assert_eq!(num_field(&[0x80, 0, 0, 0, 0, 0, 1, 0]), Some(256));
        assert_eq!(num_field(&[0xff; 8]), None);
        assert_eq!(num_field(b"0008"), None);
        assert_eq!(num_field(&[0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), None);
    }

    #[test]
    fn pax_records() {
        let mut out = Vec::new();
        parse_pax(b"11 path=ab\n16 SCHILY.x=a=b\n", &mut out).unwrap();
        assert_eq!(out[0], (b"path".to_vec(), b"ab".to_vec()));
        assert_eq!(out[1], (b"SCHILY.x".to_vec(), b"a=b".to_vec()));
        for bad in [&b"5 a=b\n"[..], b"99 a=b\n", b"x a=b\n", b"7 ab\nxx", b"6 a=bc"] {
            assert!(parse_pax(bad, &mut Vec::new()).is_err(), "{bad:?}");
        }
    }
}
