//! Readers and writers that compute the sha256 digest and byte count of what passes through
//! them, so a layer's diff id is known after one streaming pass.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

/// `sha256:<hex>` of a finished hasher.
pub(crate) fn digest_string(h: Sha256) -> String {
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// Hashes and counts everything read; fails once more than `limit` bytes were read.
pub(crate) struct HashReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
    limit: Option<u64>,
    pub(crate) exceeded: bool,
}

impl<R: Read> HashReader<R> {
    pub(crate) fn new(inner: R, limit: Option<u64>) -> Self {
        HashReader { inner, hasher: Sha256::new(), count: 0, limit, exceeded: false }
    }

    /// (byte count, `sha256:<hex>`).
    pub(crate) fn finish(self) -> (u64, String) {
        (self.count, digest_string(self.hasher))
    }
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if let Some(limit) = self.limit {
            if self.count > limit {
                self.exceeded = true;
                return Err(io::Error::other("layer size limit exceeded"));
            }
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Hashes and counts everything written.
pub(crate) struct HashWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> HashWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        HashWriter { inner, hasher: Sha256::new(), count: 0 }
    }

    /// (byte count, `sha256:<hex>`).
    pub(crate) fn finish(mut self) -> io::Result<(u64, String)> {
        self.inner.flush()?;
        Ok((self.count, digest_string(self.hasher)))
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_known_values() {
        let mut r = HashReader::new(&b"abc"[..], None);
        let mut v = Vec::new();
        r.read_to_end(&mut v).unwrap();
        let (n, d) = r.finish();
        assert_eq!(n, 3);
        assert_eq!(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let mut w = HashWriter::new(Vec::new());
        w.write_all(b"abc").unwrap();
        assert_eq!(w.finish().unwrap().1, d);
    }

    #[test]
    fn reader_limit() {
        let mut r = HashReader::new(&[0u8; 100][..], Some(10));
        let mut v = Vec::new();
        assert!(r.read_to_end(&mut v).is_err());
        assert!(r.exceeded);
    }
}
