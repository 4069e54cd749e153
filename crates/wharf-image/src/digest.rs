//! Digest helpers over `oci_spec::image::Digest`: hashing bytes and streams (sha256, sha384,
//! sha512), the strict validation go-digest applies, and a reader that verifies while it reads.
//!
//! `wharf_types::Digest` is being introduced concurrently; this crate uses oci-spec's type (the
//! one its descriptors carry) and converts at its edges once the shared type settles.

use std::io::{self, Read};

use sha2::{Digest as _, Sha256, Sha384, Sha512};

use crate::error::{ImageError, Result};
use crate::Digest;

/// A running hash for one of the registered algorithms.
#[derive(Clone)]
pub(crate) enum Hasher {
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
}

impl Hasher {
    pub(crate) fn sha256() -> Self {
        Self::Sha256(Sha256::new())
    }

    /// A hasher for the algorithm of `d`; `None` for an algorithm we do not implement.
    pub(crate) fn for_digest(d: &Digest) -> Option<Self> {
        match d.algorithm().as_ref() {
            "sha256" => Some(Self::Sha256(Sha256::new())),
            "sha384" => Some(Self::Sha384(Sha384::new())),
            "sha512" => Some(Self::Sha512(Sha512::new())),
            _ => None,
        }
    }

    pub(crate) fn update(&mut self, b: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(b),
            Self::Sha384(h) => h.update(b),
            Self::Sha512(h) => h.update(b),
        }
    }

    pub(crate) fn finish(self) -> Digest {
        let (alg, hex) = match self {
            Self::Sha256(h) => ("sha256", hex::encode(h.finalize())),
            Self::Sha384(h) => ("sha384", hex::encode(h.finalize())),
            Self::Sha512(h) => ("sha512", hex::encode(h.finalize())),
        };
        make_digest(alg, &hex)
    }
}

impl io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn make_digest(alg: &str, hex: &str) -> Digest {
    // A lowercase hex string of the algorithm's length always parses.
    Digest::try_from(format!("{alg}:{hex}")).expect("lowercase hex of the algorithm's length is a valid digest")
}

/// The sha256 digest of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> Digest {
    let mut h = Hasher::sha256();
    h.update(bytes);
    h.finish()
}

/// Parses a digest the way go-digest's `Parse` does: a registered algorithm (`sha256`,
/// `sha384`, `sha512`) and a lowercase hex part of exactly its length.
pub fn parse_digest(s: &str) -> Result<Digest> {
    let Some((alg, hex)) = s.split_once(':') else {
        return Err(ImageError::InvalidReference("invalid checksum digest format".into()));
    };
    let len = match alg {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(ImageError::InvalidReference("unsupported digest algorithm".into())),
    };
    if hex.len() != len {
        return Err(ImageError::InvalidReference("invalid checksum digest length".into()));
    }
    if !is_lower_hex(hex) {
        return Err(ImageError::InvalidReference("invalid checksum digest format".into()));
    }
    Ok(make_digest(alg, hex))
}

pub(crate) fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Reads exactly `size` bytes of `inner` and checks their digest at the end: a short stream or
/// a digest mismatch is an `io::Error` wrapping an [`ImageError`].
pub(crate) struct VerifyingReader<R> {
    inner: R,
    remaining: u64,
    hasher: Option<Hasher>,
    expected: Digest,
}

impl<R: Read> VerifyingReader<R> {
    pub(crate) fn new(inner: R, size: u64, expected: &Digest) -> Result<Self> {
        let hasher = Hasher::for_digest(expected)
            .ok_or_else(|| ImageError::UnsupportedMediaType(format!("digest algorithm {}", expected.algorithm())))?;
        Ok(Self { inner, remaining: size, hasher: Some(hasher), expected: expected.clone() })
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            if let Some(h) = self.hasher.take() {
                let actual = h.finish();
                if actual != self.expected {
                    return Err(io::Error::other(ImageError::DigestMismatch {
                        what: format!("blob {}", self.expected),
                        expected: self.expected.clone(),
                        actual,
                    }));
                }
            }
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::other(ImageError::archive(format!(
                "blob {} is shorter than its size",
                self.expected
            ))));
        }
        if let Some(h) = self.hasher.as_mut() {
            h.update(&buf[..n]);
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Turns an `io::Error` that may wrap an [`ImageError`] back into one.
pub(crate) fn unwrap_io(context: &str, e: io::Error) -> ImageError {
    if !e.get_ref().is_some_and(|r| r.is::<ImageError>()) {
        return ImageError::io(context, e);
    }
    match e.into_inner().map(|b| b.downcast::<ImageError>()) {
        Some(Ok(img)) => *img,
        Some(Err(other)) => ImageError::io(context, io::Error::other(other)),
        None => ImageError::io(context, io::Error::other("unknown error")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_empty() {
        assert_eq!(
            sha256_digest(b"").to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn parse_digest_like_go_digest() {
        let ok = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(parse_digest(ok).unwrap().to_string(), ok);
        for (bad, msg) in [
            ("sha256:abc", "invalid checksum digest length"),
            ("md5:d41d8cd98f00b204e9800998ecf8427e", "unsupported digest algorithm"),
            (
                "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                "invalid checksum digest format",
            ),
            ("nocolon", "invalid checksum digest format"),
        ] {
            assert_eq!(parse_digest(bad).unwrap_err().to_string(), msg, "{bad}");
        }
    }

    #[test]
    fn verifying_reader_checks_length_and_digest() {
        let d = sha256_digest(b"hello");
        let mut out = Vec::new();
        VerifyingReader::new(&b"hello"[..], 5, &d).unwrap().read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hello");
        let e = VerifyingReader::new(&b"hell"[..], 5, &d).unwrap().read_to_end(&mut Vec::new()).unwrap_err();
        assert!(matches!(unwrap_io("x", e), ImageError::InvalidArchive(_)));
        let e = VerifyingReader::new(&b"hellO"[..], 5, &d).unwrap().read_to_end(&mut Vec::new()).unwrap_err();
        assert!(matches!(unwrap_io("x", e), ImageError::DigestMismatch { .. }));
    }
}
