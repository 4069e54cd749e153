//! Platform tests: containerd's `Parse` (the CLI's `--platform`), `Normalize` (the daemon's
//! reading), errors, matching, and the OCI JSON form.

use super::*;
use wharf_types::{Classify, ErrorKind};

fn p(s: &str) -> (String, String, Option<String>) {
    let p = Platform::parse(s).expect(s);
    (p.os, p.architecture, p.variant)
}

fn t(os: &str, arch: &str, variant: Option<&str>) -> (String, String, Option<String>) {
    (os.into(), arch.into(), variant.map(Into::into))
}

#[test]
fn parses_like_containerd() {
    assert_eq!(p("linux/amd64"), t("linux", "amd64", None));
    assert_eq!(p("Linux/x86_64"), t("linux", "amd64", None));
    assert_eq!(p("linux/aarch64"), t("linux", "arm64", None));
    assert_eq!(p("linux/arm64/v8"), t("linux", "arm64", Some("v8")));
    assert_eq!(p("linux/arm64/8"), t("linux", "arm64", Some("v8")));
    assert_eq!(p("linux/arm64/9.0"), t("linux", "arm64", Some("v9")));
    assert_eq!(p("linux/arm"), t("linux", "arm", None));
    assert_eq!(p("linux/arm/6"), t("linux", "arm", Some("v6")));
    assert_eq!(p("linux/arm/7"), t("linux", "arm", Some("v7")));
    assert_eq!(p("linux/armhf"), t("linux", "arm", None));
    assert_eq!(p("macos/arm64"), t("darwin", "arm64", None));
    assert_eq!(p("s390x"), t("linux", "s390x", None));
    assert_eq!(p("armhf"), t("linux", "arm", None));
    assert_eq!(p("linux"), t("linux", &Platform::host().architecture, None));
    assert_eq!("linux/amd64".parse::<Platform>().expect("FromStr"), Platform::parse("linux/amd64").expect("p"));
}

/// containerd's texts (the docker CLI prefixes some with `invalid platform: `).
#[test]
fn refuses_like_containerd() {
    let e = |s: &str| Platform::parse(s).expect_err(s);
    assert_eq!(e("bogus/x/y/z").to_string(), "\"bogus/x/y/z\": cannot parse platform specifier: invalid argument");
    assert_eq!(e("nonsense").to_string(), "\"nonsense\": unknown operating system or architecture: invalid argument");
    assert_eq!(
        e("linux/a b").to_string(),
        "\"a b\" is an invalid component of \"linux/a b\": platform specifier component must match \"^[A-Za-z0-9_.-]+$\": invalid argument"
    );
    assert_eq!(e("linux/*").to_string(), "\"linux/*\": wildcards not yet supported: invalid argument");
    for bad in ["", "linux/", "/amd64", "linux/amd64/v8/x", "linux/am d64"] {
        assert_eq!(e(bad).kind(), ErrorKind::InvalidArgument, "{bad}");
    }
}

#[test]
fn normalizes_like_containerd() {
    let cases = [
        ("linux/amd64", "linux/amd64"),
        ("linux/x86_64", "linux/amd64"),
        ("linux/amd64/v1", "linux/amd64"),
        ("linux/amd64/v3", "linux/amd64/v3"),
        ("linux/arm64", "linux/arm64"),
        ("linux/arm64/v8", "linux/arm64"),
        ("linux/aarch64", "linux/arm64"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/arm/7", "linux/arm/v7"),
        ("linux/armhf", "linux/arm/v7"),
        ("linux/armel", "linux/arm/v6"),
        ("LINUX/AMD64", "linux/amd64"),
        ("arm64", "linux/arm64"),
        ("linux/i386", "linux/386"),
        ("windows/amd64", "windows/amd64"),
        ("linux/s390x", "linux/s390x"),
    ];
    for (input, want) in cases {
        assert_eq!(Platform::parse_normalized(input).unwrap().to_string(), want, "{input}");
    }
    assert_eq!(Platform::new("MacOS", "x86_64", Some("v1")).to_string(), "darwin/amd64");
    let p = |s| Platform::parse_normalized(s).unwrap();
    assert!(p("linux/amd64").matches(&p("linux/amd64/v1")));
    assert!(p("linux/arm64").matches(&p("linux/arm64/v8")));
    assert!(p("linux/arm").matches(&p("linux/arm/v7")));
    assert!(Platform::parse("linux/arm").unwrap().matches(&p("linux/arm/v7")));
    assert!(!p("linux/arm/v6").matches(&p("linux/arm/v7")));
    assert!(!p("linux/amd64").matches(&p("linux/arm64")));
    assert!(!p("linux/amd64").matches(&p("windows/amd64")));
    let host = Platform::host();
    assert_eq!(host.os, std::env::consts::OS);
    assert!(Platform::parse_normalized(&host.to_string()).unwrap().matches(&host));
}

#[test]
fn compatible_in_containerds_order() {
    let c = |s: &str| Platform::parse(s).unwrap().compatible().iter().map(ToString::to_string).collect::<Vec<_>>();
    assert_eq!(c("linux/amd64/v3"), ["linux/amd64/v3", "linux/amd64/v2", "linux/amd64", "linux/386"]);
    assert_eq!(c("linux/arm64"), ["linux/arm64", "linux/arm/v8", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5"]);
    assert_eq!(c("linux/arm/v7"), ["linux/arm/v7", "linux/arm/v6", "linux/arm/v5"]);
    assert_eq!(c("linux/s390x"), ["linux/s390x"]);
}

#[test]
fn json_like_ocispec() {
    let j = |s: &str| serde_json::to_string(&Platform::parse(s).expect(s)).expect("json");
    assert_eq!(j("linux/amd64"), r#"{"architecture":"amd64","os":"linux"}"#);
    assert_eq!(j("linux/arm64/v8"), r#"{"architecture":"arm64","os":"linux","variant":"v8"}"#);
}
