//! Content digests (`algorithm:hex`), the names of blobs, layers, configs and image ids: the
//! validated [`Digest`] newtype, its [`Algorithm`]s and a streaming [`Digester`].
//!
//! Accepted as the OCI image spec registers them: `sha256` with 64 and `sha512` with 128
//! lower-case hex digits. Any other algorithm, upper-case hex or a wrong length is refused, so a
//! `Digest` can safely name a file (`blobs/<algorithm>/<hex>`).

use std::fmt;
use std::str::FromStr;

use sha2::Digest as _;

use crate::{Classify, ErrorKind};

/// A digest algorithm wharf accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// SHA-256, the default everywhere.
    Sha256,
    /// SHA-512, accepted where a digest names content.
    Sha512,
}

impl Algorithm {
    /// Every accepted algorithm.
    pub const ALL: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Sha512];

    /// The name used in a digest (`sha256`).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// How many hex digits a digest of this algorithm has.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    /// Reads an algorithm name; only the exact lower-case names are accepted.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated content digest, `algorithm:hex`. Compared, hashed and ordered as its text.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    text: String,
    algorithm: Algorithm,
}

/// Why a text is not a [`Digest`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// No `:` separates algorithm and hex.
    #[error("invalid digest {input:?}: expected algorithm:hex")]
    MissingAlgorithm {
        /// The rejected text.
        input: String,
    },
    /// The algorithm is not one wharf accepts.
    #[error("unsupported digest algorithm: {algorithm}")]
    UnsupportedAlgorithm {
        /// The algorithm as given.
        algorithm: String,
    },
    /// The hex part has the wrong length for its algorithm.
    #[error("invalid {algorithm} digest {input:?}: expected {expected} hex digits, got {actual}")]
    Length {
        /// The rejected text.
        input: String,
        /// The algorithm.
        algorithm: Algorithm,
        /// The length it needs.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// The hex part holds something other than `0-9a-f`.
    #[error("invalid digest {input:?}: the hex part must be lower-case 0-9a-f")]
    NotHex {
        /// The rejected text.
        input: String,
    },
}

impl Classify for DigestError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }
}

impl Digest {
    /// Builds a digest from its parts, validating the hex.
    pub fn new(algorithm: Algorithm, hex: &str) -> Result<Digest, DigestError> {
        format!("{algorithm}:{hex}").parse()
    }

    /// The SHA-256 digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        Digest::of(Algorithm::Sha256, bytes)
    }

    /// The digest of `bytes` with `algorithm`.
    pub fn of(algorithm: Algorithm, bytes: &[u8]) -> Digest {
        let mut d = Digester::new(algorithm);
        d.update(bytes);
        d.finish()
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The hex digits, without the algorithm.
    pub fn hex(&self) -> &str {
        &self.text[self.algorithm.as_str().len() + 1..]
    }

    /// The first 12 hex digits, as Docker shows ids.
    pub fn short(&self) -> &str {
        &self.hex()[..12]
    }

    /// The whole text, `algorithm:hex`.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Digest, DigestError> {
        let Some((alg, hex)) = s.split_once(':') else {
            return Err(DigestError::MissingAlgorithm { input: s.to_string() });
        };
        let algorithm = Algorithm::from_name(alg)
            .ok_or_else(|| DigestError::UnsupportedAlgorithm { algorithm: alg.to_string() })?;
        if !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(DigestError::NotHex { input: s.to_string() });
        }
        if hex.len() != algorithm.hex_len() {
            return Err(DigestError::Length {
                input: s.to_string(),
                algorithm,
                expected: algorithm.hex_len(),
                actual: hex.len(),
            });
        }
        Ok(Digest { text: s.to_string(), algorithm })
    }
}

impl TryFrom<String> for Digest {
    type Error = DigestError;

    fn try_from(s: String) -> Result<Digest, DigestError> {
        s.parse()
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.text
    }
}

impl AsRef<str> for Digest {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.text)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Digest, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Computes a digest incrementally: feed bytes with [`Digester::update`], then
/// [`Digester::finish`].
#[derive(Clone)]
pub struct Digester {
    state: State,
}

#[derive(Clone)]
enum State {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Digester {
    /// A digester for `algorithm`.
    pub fn new(algorithm: Algorithm) -> Digester {
        let state = match algorithm {
            Algorithm::Sha256 => State::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => State::Sha512(sha2::Sha512::new()),
        };
        Digester { state }
    }

    /// The algorithm this digester computes.
    pub fn algorithm(&self) -> Algorithm {
        match self.state {
            State::Sha256(_) => Algorithm::Sha256,
            State::Sha512(_) => Algorithm::Sha512,
        }
    }

    /// Feeds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.state {
            State::Sha256(h) => h.update(bytes),
            State::Sha512(h) => h.update(bytes),
        }
    }

    /// The digest of everything fed.
    pub fn finish(self) -> Digest {
        let (algorithm, hex) = match self.state {
            State::Sha256(h) => (Algorithm::Sha256, hex::encode(h.finalize())),
            State::Sha512(h) => (Algorithm::Sha512, hex::encode(h.finalize())),
        };
        Digest { text: format!("{algorithm}:{hex}"), algorithm }
    }
}

impl fmt::Debug for Digester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digester({})", self.algorithm())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY256: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const EMPTY512: &str = "sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

    #[test]
    fn parses_and_displays_sha256() {
        let d: Digest = EMPTY256.parse().expect("valid");
        assert_eq!(d.algorithm(), Algorithm::Sha256);
        assert_eq!(d.hex().len(), 64);
        assert_eq!(d.short(), "e3b0c44298fc");
        assert_eq!(d.to_string(), EMPTY256);
        assert_eq!(d.as_str(), EMPTY256);
    }

    #[test]
    fn parses_sha512() {
        let d: Digest = EMPTY512.parse().expect("valid");
        assert_eq!(d.algorithm(), Algorithm::Sha512);
        assert_eq!(d.hex().len(), 128);
        assert_eq!(d.short(), "cf83e1357eef");
    }

    #[test]
    fn computes_known_digests() {
        assert_eq!(Digest::sha256_of(b"").as_str(), EMPTY256);
        assert_eq!(Digest::of(Algorithm::Sha512, b"").as_str(), EMPTY512);
        let mut d = Digester::new(Algorithm::Sha256);
        d.update(b"hello ");
        d.update(b"world");
        assert_eq!(d.finish(), Digest::sha256_of(b"hello world"));
        assert_eq!(
            Digest::sha256_of(b"hello world").hex(),
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
    }

    #[test]
    fn refuses_bad_digests() {
        let upper = EMPTY256.to_uppercase().replace("SHA256", "sha256");
        let cases = [
            ("", "missing"),
            ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "missing"),
            ("md5:d41d8cd98f00b204e9800998ecf8427e", "algorithm"),
            ("SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "algorithm"),
            ("sha384:abc", "algorithm"),
            ("sha256:e3b0c4", "length"),
            (&EMPTY512.replace("sha512", "sha256"), "length"),
            (&upper, "hex"),
            ("sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "hex"),
            ("sha256:", "length"),
            ("sha256:../../../../etc/passwd", "hex"),
        ];
        for (input, what) in cases {
            let err = input.parse::<Digest>().expect_err(input);
            let ok = matches!(
                (&err, what),
                (DigestError::MissingAlgorithm { .. }, "missing")
                    | (DigestError::UnsupportedAlgorithm { .. }, "algorithm")
                    | (DigestError::Length { .. }, "length")
                    | (DigestError::NotHex { .. }, "hex")
            );
            assert!(ok, "{input:?}: {err:?}");
            assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        }
    }

    #[test]
    fn error_messages() {
        let e = "md5:00".parse::<Digest>().expect_err("md5");
        assert_eq!(e.to_string(), "unsupported digest algorithm: md5");
        let e = "sha256:abc".parse::<Digest>().expect_err("short");
        assert_eq!(e.to_string(), "invalid sha256 digest \"sha256:abc\": expected 64 hex digits, got 3");
    }

    #[test]
    fn new_from_parts() {
        let d = Digest::new(Algorithm::Sha256, &EMPTY256[7..]).expect("valid");
        assert_eq!(d.as_str(), EMPTY256);
        assert!(Digest::new(Algorithm::Sha512, &EMPTY256[7..]).is_err());
    }

    #[test]
    fn serde_as_string() {
        let d: Digest = EMPTY256.parse().expect("valid");
        let json = serde_json::to_string(&d).expect("serialize");
        assert_eq!(json, format!("\"{EMPTY256}\""));
        let back: Digest = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, d);
        let err = serde_json::from_str::<Digest>("\"sha256:xyz\"").expect_err("invalid");
        assert!(err.to_string().contains("lower-case"), "{err}");
        assert!(serde_json::from_str::<Digest>("42").is_err());
    }

    #[test]
    fn ordering_and_hash_follow_text() {
        let a = Digest::sha256_of(b"a");
        let b: Digest = a.as_str().parse().expect("valid");
        let mut set = std::collections::HashSet::new();
        set.insert(a.clone());
        assert!(set.contains(&b));
        assert_eq!(a.cmp(&b), std::cmp::Ordering::Equal);
    }
}
