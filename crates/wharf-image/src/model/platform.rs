//! Platforms (`linux/amd64`, `linux/arm64/v8`) normalized as containerd's `platforms` package
//! does, and choosing an image from a manifest list / index for a platform.
//!
//! Normalization: `x86_64`/`x86-64` → `amd64` (`v1` dropped), `aarch64` → `arm64` (`v8`
//! dropped), `armhf` → `arm/v7`, `armel` → `arm/v6`, `arm` without variant → `arm/v7`,
//! `i386` → `386`, `macos` → `darwin`; variants get their `v` (`arm/7` → `arm/v7`).
//! Selection prefers the exact platform, then compatible ones in containerd's order
//! (`amd64/v3` → `v2` → `v1` → `386`; `arm64` → `arm/v8` … `arm/v5`; `arm/v7` → `v6` → `v5`).

use std::fmt;

use oci_spec::image::{Descriptor, ImageIndex};

use crate::error::{ImageError, Result};

/// An OS / architecture / variant triple, normalized.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    /// `linux`, `windows`, …
    pub os: String,
    /// GOARCH names: `amd64`, `arm64`, `arm`, `386`, `ppc64le`, `s390x`, `riscv64`, …
    pub architecture: String,
    /// CPU variant (`v7`, `v8`), `None` when it is the architecture's default.
    pub variant: Option<String>,
}

const KNOWN_OS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "js",
    "linux",
    "nacl",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "windows",
    "zos",
];

impl Platform {
    /// A normalized platform from its parts.
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Self {
        let os = match os.to_ascii_lowercase().as_str() {
            "macos" => "darwin".to_string(),
            o => o.to_string(),
        };
        let (architecture, variant) = normalize_arch(
            &architecture.to_ascii_lowercase(),
            variant.map(str::to_ascii_lowercase).as_deref().unwrap_or(""),
        );
        Self { os, architecture, variant: (!variant.is_empty()).then_some(variant) }
    }

    /// Parses `os`, `arch`, `os/arch` or `os/arch/variant` as `--platform` does (a lone
    /// architecture means Linux).
    pub fn parse(spec: &str) -> Result<Self> {
        let bad = |reason: &str| ImageError::InvalidPlatform { spec: spec.to_string(), reason: reason.to_string() };
        let parts: Vec<&str> = spec.split('/').collect();
        for p in &parts {
            if p.is_empty() || !p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.') {
                return Err(bad("invalid platform component"));
            }
        }
        match parts.as_slice() {
            [one] => {
                let l = one.to_ascii_lowercase();
                if KNOWN_OS.contains(&l.as_str()) || l == "macos" {
                    let host = Self::host();
                    Ok(Self::new(&l, &host.architecture, host.variant.as_deref()))
                } else {
                    Ok(Self::new("linux", one, None))
                }
            }
            [os, arch] => Ok(Self::new(os, arch, None)),
            [os, arch, variant] => Ok(Self::new(os, arch, Some(variant))),
            _ => Err(bad("too many components")),
        }
    }

    /// The platform this build of wharf runs on (what Docker pulls by default). As containerd's
    /// `DefaultSpec`, arm64 keeps its `v8` variant here so messages read `linux/arm64/v8`.
    pub fn host() -> Self {
        let (arch, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "x86" => ("386", None),
            "aarch64" => ("arm64", Some("v8")),
            "arm" => ("arm", Some("v7")),
            "powerpc64" if cfg!(target_endian = "little") => ("ppc64le", None),
            "powerpc64" => ("ppc64", None),
            "s390x" => ("s390x", None),
            "riscv64" => ("riscv64", None),
            "loongarch64" => ("loong64", None),
            other => (other, None),
        };
        let mut p = Self::new(std::env::consts::OS, arch, None);
        p.variant = variant.map(str::to_string);
        p
    }

    /// From a descriptor's platform.
    pub fn from_oci(p: &oci_spec::image::Platform) -> Self {
        Self::new(&p.os().to_string(), &p.architecture().to_string(), p.variant().as_deref())
    }

    /// The variant with the architecture's default filled in (`amd64` → `v1`, `arm64` → `v8`,
    /// `arm` → `v7`), for comparisons.
    fn effective(&self) -> (String, String, String) {
        let n = Self::new(&self.os, &self.architecture, self.variant.as_deref());
        let v = n.variant.clone().unwrap_or_else(|| {
            match n.architecture.as_str() {
                "amd64" => "v1",
                "arm64" => "v8",
                "arm" => "v7",
                _ => "",
            }
            .to_string()
        });
        (n.os, n.architecture, v)
    }

    /// Whether `other` is the same platform once defaults are applied (`linux/arm64` ≈
    /// `linux/arm64/v8`, `linux/amd64` ≈ `linux/amd64/v1`).
    pub fn matches(&self, other: &Platform) -> bool {
        self.effective() == other.effective()
    }

    /// The platforms an image for which can run here, best first (containerd's `Only`).
    pub fn compatible(&self) -> Vec<Platform> {
        let (os, arch, variant) = self.effective();
        let num = |v: &str| v.strip_prefix('v').and_then(|n| n.parse::<u32>().ok());
        let mut out = vec![Platform::new(&os, &arch, Some(&variant))];
        match arch.as_str() {
            "amd64" => {
                for n in (1..num(&variant).unwrap_or(1)).rev() {
                    out.push(Platform::new(&os, "amd64", Some(&format!("v{n}"))));
                }
                out.push(Platform::new(&os, "386", None));
            }
            "arm64" if variant == "v8" => {
                for n in (5..=8).rev() {
                    out.push(Platform::new(&os, "arm", Some(&format!("v{n}"))));
                }
            }
            "arm" => {
                for n in (5..num(&variant).unwrap_or(5)).rev() {
                    out.push(Platform::new(&os, "arm", Some(&format!("v{n}"))));
                }
            }
            _ => {}
        }
        out
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Platform {
    type Err = ImageError;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

fn normalize_arch(arch: &str, variant: &str) -> (String, String) {
    let v = |s: &str| s.to_string();
    match arch {
        "i386" => (v("386"), v("")),
        "x86_64" | "x86-64" | "amd64" => {
            let variant = if variant == "v1" { "" } else { variant };
            (v("amd64"), v(variant))
        }
        "aarch64" | "arm64" => {
            let variant = match variant {
                "8" | "v8" | "v8.0" => "",
                other => other,
            };
            (v("arm64"), v(variant))
        }
        "armhf" => (v("arm"), v("v7")),
        "armel" => (v("arm"), v("v6")),
        "arm" => {
            let variant = match variant {
                "" | "7" => "v7".to_string(),
                "5" | "6" | "8" => format!("v{variant}"),
                other => other.to_string(),
            };
            (v("arm"), variant)
        }
        other => (v(other), v(variant)),
    }
}

/// Picks the manifest for `want` from a manifest list / index, as `docker pull --platform`
/// does: the best entry in [`Platform::compatible`] order, the first of equals. An index whose
/// only entry has no platform yields that entry.
pub fn select_manifest<'a>(index: &'a ImageIndex, want: &Platform) -> Result<&'a Descriptor> {
    let entries = index.manifests();
    for cand in want.compatible() {
        if let Some(d) =
            entries.iter().find(|d| d.platform().as_ref().is_some_and(|p| Platform::from_oci(p).matches(&cand)))
        {
            return Ok(d);
        }
    }
    if let [only] = entries.as_slice() {
        if only.platform().is_none() {
            return Ok(only);
        }
    }
    Err(ImageError::NoMatchingManifest { platform: want.to_string() })
}
