//! API versions (`1.45`): parsing, ordering, and the range this daemon serves.

use std::fmt;

/// An API version `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    /// Major part (always 1 so far).
    pub major: u16,
    /// Minor part.
    pub minor: u16,
}

/// The newest version served; the one the spec in `shared/spec` describes.
pub const CURRENT_API_VERSION: ApiVersion = ApiVersion { major: 1, minor: 45 };
/// The oldest version served, as dockerd 26.
pub const MIN_API_VERSION: ApiVersion = ApiVersion { major: 1, minor: 24 };

impl ApiVersion {
    /// Parses `1.45`; anything else is `None`.
    pub fn parse(s: &str) -> Option<ApiVersion> {
        let (a, b) = s.split_once('.')?;
        let digits = |x: &str| !x.is_empty() && x.len() <= 4 && x.bytes().all(|c| c.is_ascii_digit());
        if !digits(a) || !digits(b) {
            return None;
        }
        Some(ApiVersion { major: a.parse().ok()?, minor: b.parse().ok()? })
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        let v = |s| ApiVersion::parse(s).unwrap();
        assert_eq!(v("1.45"), CURRENT_API_VERSION);
        assert!(v("1.9") < v("1.24"));
        assert!(v("1.100") > v("1.45"));
        assert!(v("2.0") > v("1.99"));
        assert_eq!(CURRENT_API_VERSION.to_string(), "1.45");
        for bad in ["", "1", "1.", ".1", "a.b", "1.2.3", "1.-2", "99999.1"] {
            assert_eq!(ApiVersion::parse(bad), None, "{bad}");
        }
    }
}
