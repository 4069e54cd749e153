//! Platforms (`linux/amd64`, `linux/arm64/v8`) as containerd's `platforms` package parses,
//! normalizes and formats them, and the compatibility order used to choose an image from a
//! manifest list / index.
//!
//! Normalization (`Normalize`): `x86_64`/`x86-64` → `amd64` (`v1` dropped), `aarch64` →
//! `arm64` (`v8` dropped, `9`/`9.0`/`v9.0` → `v9`), `armhf` → `arm/v7`, `armel` → `arm/v6`,
//! `arm` without variant → `arm/v7`, `i386` → `386`, `macos` → `darwin`; variants get their
//! `v` (`arm/7` → `arm/v7`). `Parse` normalizes too, but as containerd keeps `arm` without
//! variant when none was given and gives `arm64` a `v8` when a variant part was empty.
//! Compatibility prefers the exact platform, then containerd's fallbacks (`amd64/v3` → `v2` →
//! `v1` → `386`; `arm64` → `arm/v8` … `arm/v5`; `arm/v7` → `v6` → `v5`).

use std::fmt;

use crate::error::PlatformError;

/// An OS / architecture / variant triple. Serializes as the OCI platform JSON the image
/// endpoints take (`{"architecture":"arm64","os":"linux","variant":"v8"}`, Go's field order,
/// no empty variant).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Platform {
    /// GOARCH names: `amd64`, `arm64`, `arm`, `386`, `ppc64le`, `s390x`, `riscv64`, …
    pub architecture: String,
    /// `linux`, `windows`, …
    pub os: String,
    /// CPU variant (`v7`, `v8`), `None` when none is given or it is the architecture's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// containerd's `knownOS`.
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

/// containerd's `knownArch`.
const KNOWN_ARCH: &[&str] = &[
    "386",
    "amd64",
    "amd64p32",
    "arm",
    "armbe",
    "arm64",
    "arm64be",
    "ppc64",
    "ppc64le",
    "loong64",
    "mips",
    "mipsle",
    "mips64",
    "mips64le",
    "mips64p32",
    "mips64p32le",
    "ppc",
    "riscv",
    "riscv64",
    "s390",
    "s390x",
    "sparc",
    "sparc64",
    "wasm",
    "wasm32",
];

impl Platform {
    /// A normalized platform from its parts (containerd's `Normalize`).
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Self {
        let (architecture, variant) = normalize_arch(architecture, variant.unwrap_or(""));
        Self::from_parts(normalize_os(os), architecture, variant)
    }

    fn from_parts(os: String, architecture: String, variant: String) -> Self {
        Self { architecture, os, variant: (!variant.is_empty()).then_some(variant) }
    }

    /// Parses `os`, `arch`, `os/arch` or `os/arch/variant` exactly as containerd's
    /// `platforms.Parse` (what `--platform` means to the docker CLI and dockerd): a lone OS
    /// gets this build's architecture, a lone known architecture this build's OS; `arm`
    /// without variant stays without one, an empty `arm64` variant becomes `v8`.
    pub fn parse(spec: &str) -> Result<Self, PlatformError> {
        if spec.contains('*') {
            return Err(PlatformError::Wildcard { spec: spec.to_string() });
        }
        let parts: Vec<&str> = spec.split('/').collect();
        for part in &parts {
            if part.is_empty() || !part.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-')) {
                return Err(PlatformError::InvalidComponent { part: part.to_string(), spec: spec.to_string() });
            }
        }
        let no_default_arm = |(arch, variant): (String, String)| {
            let variant = if arch == "arm" && variant == "v7" { String::new() } else { variant };
            (arch, variant)
        };
        match parts.as_slice() {
            [one] => {
                let os = normalize_os(one);
                if KNOWN_OS.contains(&os.as_str()) {
                    // containerd adds the CPU's variant on arm unless it is v7; wharf reads no
                    // /proc/cpuinfo and takes v7.
                    return Ok(Self { architecture: Self::host().architecture, os, variant: None });
                }
                let (architecture, variant) = no_default_arm(normalize_arch(one, ""));
                if KNOWN_ARCH.contains(&architecture.as_str()) {
                    return Ok(Self::from_parts(normalize_os(std::env::consts::OS), architecture, variant));
                }
                Err(PlatformError::Unknown { spec: spec.to_string() })
            }
            [os, arch] => {
                let (architecture, variant) = no_default_arm(normalize_arch(arch, ""));
                Ok(Self::from_parts(normalize_os(os), architecture, variant))
            }
            [os, arch, variant] => {
                let (architecture, mut variant) = normalize_arch(arch, variant);
                if architecture == "arm64" && variant.is_empty() {
                    variant = "v8".into();
                }
                Ok(Self::from_parts(normalize_os(os), architecture, variant))
            }
            _ => Err(PlatformError::TooManyComponents { spec: spec.to_string() }),
        }
    }

    /// [`Platform::parse`] followed by [`Platform::normalized`] (`linux/arm` → `linux/arm/v7`,
    /// `linux/arm64/v8` → `linux/arm64`): how the daemon reads `load`/`import` platforms.
    pub fn parse_normalized(spec: &str) -> Result<Self, PlatformError> {
        Ok(Self::parse(spec)?.normalized())
    }

    /// The same platform normalized (containerd's `Normalize`).
    pub fn normalized(&self) -> Self {
        Self::new(&self.os, &self.architecture, self.variant.as_deref())
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

    /// The variant with the architecture's default filled in (`amd64` → `v1`, `arm64` → `v8`,
    /// `arm` → `v7`), for comparisons.
    fn effective(&self) -> (String, String, String) {
        let n = self.normalized();
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

/// containerd's `Format`: `os/arch[/variant]`.
impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// [`Platform::parse`].
impl std::str::FromStr for Platform {
    type Err = PlatformError;

    fn from_str(s: &str) -> Result<Self, PlatformError> {
        Self::parse(s)
    }
}

fn normalize_os(os: &str) -> String {
    let os = os.to_lowercase();
    if os == "macos" {
        "darwin".into()
    } else {
        os
    }
}

/// containerd's `normalizeArch`.
fn normalize_arch(arch: &str, variant: &str) -> (String, String) {
    let (arch, variant) = (arch.to_lowercase(), variant.to_lowercase());
    match arch.as_str() {
        "i386" => ("386".into(), String::new()),
        "x86_64" | "x86-64" | "amd64" => ("amd64".into(), if variant == "v1" { String::new() } else { variant }),
        "aarch64" | "arm64" => {
            let v = match variant.as_str() {
                "8" | "v8" | "v8.0" => String::new(),
                "9" | "9.0" | "v9.0" => "v9".into(),
                _ => variant,
            };
            ("arm64".into(), v)
        }
        "armhf" => ("arm".into(), "v7".into()),
        "armel" => ("arm".into(), "v6".into()),
        "arm" => {
            let v = match variant.as_str() {
                "" | "7" => "v7".into(),
                "5" | "6" | "8" => format!("v{variant}"),
                _ => variant,
            };
            ("arm".into(), v)
        }
        _ => (arch, variant),
    }
}

#[cfg(test)]
mod tests;
