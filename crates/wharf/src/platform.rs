//! `--platform` values (`os[/arch[/variant]]`), parsed and normalized like containerd's
//! `platforms.Parse`, and encoded as the JSON OCI platform the image endpoints take
//! (`{"architecture":"arm64","os":"linux","variant":"v8"}`).

/// A normalized OCI platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: String,
}

const KNOWN_OS: [&str; 17] = [
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

const KNOWN_ARCH: [&str; 25] = [
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

fn normalize_os(os: &str) -> String {
    let os = os.to_lowercase();
    if os == "macos" {
        "darwin".into()
    } else {
        os
    }
}

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

/// `platforms.Parse`; errors read like containerd's (the caller adds "invalid platform: ").
pub(crate) fn parse(specifier: &str) -> Result<Platform, String> {
    let invalid = "invalid argument";
    if specifier.contains('*') {
        return Err(format!("{specifier:?}: wildcards not yet supported: {invalid}"));
    }
    let parts: Vec<&str> = specifier.split('/').collect();
    for part in &parts {
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-')) {
            return Err(format!(
                "{part:?} is an invalid component of {specifier:?}: platform specifier component must match \"^[A-Za-z0-9_.-]+$\": {invalid}"
            ));
        }
    }
    match parts.as_slice() {
        [one] => {
            let os = normalize_os(one);
            if KNOWN_OS.contains(&os.as_str()) {
                return Ok(Platform { os, architecture: crate::system::go_arch().into(), variant: String::new() });
            }
            let (architecture, mut variant) = normalize_arch(one, "");
            if architecture == "arm" && variant == "v7" {
                variant.clear();
            }
            if KNOWN_ARCH.contains(&architecture.as_str()) {
                return Ok(Platform { os: std::env::consts::OS.into(), architecture, variant });
            }
            Err(format!("{specifier:?}: unknown operating system or architecture: {invalid}"))
        }
        [os, arch] => {
            let (architecture, mut variant) = normalize_arch(arch, "");
            if architecture == "arm" && variant == "v7" {
                variant.clear();
            }
            Ok(Platform { os: normalize_os(os), architecture, variant })
        }
        [os, arch, variant] => {
            let (architecture, mut variant) = normalize_arch(arch, variant);
            if architecture == "arm64" && variant.is_empty() {
                variant = "v8".into();
            }
            Ok(Platform { os: normalize_os(os), architecture, variant })
        }
        _ => Err(format!("{specifier:?}: cannot parse platform specifier: {invalid}")),
    }
}

impl Platform {
    /// The JSON form of an OCI platform (Go field order, empty variant omitted).
    pub(crate) fn to_json(&self) -> String {
        let mut m = serde_json::Map::new();
        m.insert("architecture".into(), self.architecture.clone().into());
        m.insert("os".into(), self.os.clone().into());
        if !self.variant.is_empty() {
            m.insert("variant".into(), self.variant.clone().into());
        }
        serde_json::Value::Object(m).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> (String, String, String) {
        let p = parse(s).expect(s);
        (p.os, p.architecture, p.variant)
    }

    #[test]
    fn normalizes_like_containerd() {
        assert_eq!(p("linux/amd64"), ("linux".into(), "amd64".into(), "".into()));
        assert_eq!(p("Linux/x86_64"), ("linux".into(), "amd64".into(), "".into()));
        assert_eq!(p("linux/aarch64"), ("linux".into(), "arm64".into(), "".into()));
        assert_eq!(p("linux/arm64/v8"), ("linux".into(), "arm64".into(), "v8".into()));
        assert_eq!(p("linux/arm"), ("linux".into(), "arm".into(), "".into()));
        assert_eq!(p("linux/arm/6"), ("linux".into(), "arm".into(), "v6".into()));
        assert_eq!(p("linux/armhf"), ("linux".into(), "arm".into(), "".into()));
        assert_eq!(p("macos/arm64"), ("darwin".into(), "arm64".into(), "".into()));
        assert_eq!(p("s390x").1, "s390x");
        assert_eq!(p("linux").0, "linux");
        assert!(parse("bogus/x/y/z")
            .expect_err("4 parts")
            .ends_with("cannot parse platform specifier: invalid argument"));
        assert!(parse("nonsense").is_err());
        assert!(parse("linux/a b").is_err());
    }

    #[test]
    fn json_like_ocispec() {
        assert_eq!(parse("linux/amd64").expect("p").to_json(), r#"{"architecture":"amd64","os":"linux"}"#);
        assert_eq!(
            parse("linux/arm64/v8").expect("p").to_json(),
            r#"{"architecture":"arm64","os":"linux","variant":"v8"}"#
        );
    }
}
