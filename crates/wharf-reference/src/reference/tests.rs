//! Reference tests: distribution/reference's normalization and familiar forms, its and
//! go-digest's error texts (checked against the docker 28.2 CLI), the CLI's tag/commit
//! targets, and short IDs.

use super::*;
use wharf_types::{Classify, ErrorKind};

const D: &str = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";

#[test]
fn normalizes_like_docker() {
    // input, domain, path, familiar, full
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        ("busybox", "docker.io", "library/busybox", "busybox", "docker.io/library/busybox"),
        ("busybox:latest", "docker.io", "library/busybox", "busybox:latest", "docker.io/library/busybox:latest"),
        ("library/busybox:1.36", "docker.io", "library/busybox", "busybox:1.36", "docker.io/library/busybox:1.36"),
        ("docker.io/busybox", "docker.io", "library/busybox", "busybox", "docker.io/library/busybox"),
        ("index.docker.io/library/debian", "docker.io", "library/debian", "debian", "docker.io/library/debian"),
        ("index.docker.io/debian", "docker.io", "library/debian", "debian", "docker.io/library/debian"),
        ("fooo/bar", "docker.io", "fooo/bar", "fooo/bar", "docker.io/fooo/bar"),
        ("myrepo/x:1", "docker.io", "myrepo/x", "myrepo/x:1", "docker.io/myrepo/x:1"),
        ("library/foo/bar", "docker.io", "library/foo/bar", "library/foo/bar", "docker.io/library/foo/bar"),
        ("other/library", "docker.io", "other/library", "other/library", "docker.io/other/library"),
        ("localhost/x", "localhost", "x", "localhost/x", "localhost/x"),
        ("localhost:5000/x:1", "localhost:5000", "x", "localhost:5000/x:1", "localhost:5000/x:1"),
        // "localhost:5000" alone is the name "localhost" with tag "5000".
        ("localhost:5000", "docker.io", "library/localhost", "localhost:5000", "docker.io/library/localhost:5000"),
        ("example.com/a/b/c:t", "example.com", "a/b/c", "example.com/a/b/c:t", "example.com/a/b/c:t"),
        (
            "127.0.0.1:8000/private/moonbase",
            "127.0.0.1:8000",
            "private/moonbase",
            "127.0.0.1:8000/private/moonbase",
            "127.0.0.1:8000/private/moonbase",
        ),
        ("example.com/privatebase", "example.com", "privatebase", "example.com/privatebase", "example.com/privatebase"),
        ("test_com/foo", "docker.io", "test_com/foo", "test_com/foo", "docker.io/test_com/foo"),
        ("xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo", "xn--n3h.com:18080/foo", "xn--n3h.com:18080/foo"),
        (
            "[fc00::1]:5000/docker/docker",
            "[fc00::1]:5000",
            "docker/docker",
            "[fc00::1]:5000/docker/docker",
            "[fc00::1]:5000/docker/docker",
        ),
        ("[::1]/x", "[::1]", "x", "[::1]/x", "[::1]/x"),
        ("Foo/bar", "Foo", "bar", "Foo/bar", "Foo/bar"),
        ("test.com:5000", "docker.io", "library/test.com", "test.com:5000", "docker.io/library/test.com:5000"),
        ("192.168.0.1", "docker.io", "library/192.168.0.1", "192.168.0.1", "docker.io/library/192.168.0.1"),
        (
            "docker---rules/docker",
            "docker.io",
            "docker---rules/docker",
            "docker---rules/docker",
            "docker.io/docker---rules/docker",
        ),
        ("dock__er/docker", "docker.io", "dock__er/docker", "dock__er/docker", "docker.io/dock__er/docker"),
        ("a__b-c---d/e_f.g", "docker.io", "a__b-c---d/e_f.g", "a__b-c---d/e_f.g", "docker.io/a__b-c---d/e_f.g"),
        // A first component with a dot that is no domain name is a path (Go does the same).
        ("a__b.c/d", "", "a__b.c/d", "a__b.c/d", "a__b.c/d"),
        (
            "lowercase:Uppercase",
            "docker.io",
            "library/lowercase",
            "lowercase:Uppercase",
            "docker.io/library/lowercase:Uppercase",
        ),
        (
            "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
            "docker.io",
            "library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
            "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
            "docker.io/library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
        ),
    ];
    for &(input, domain, path, familiar, full) in cases {
        let r = ImageRef::parse_normalized(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(r.domain(), domain, "{input}");
        assert_eq!(r.path(), path, "{input}");
        assert_eq!(r.familiar(), familiar, "{input}");
        assert_eq!(r.full(), full, "{input}");
        assert_eq!(r.to_string(), full, "{input}");
        // The full and familiar forms parse back to the same reference.
        assert_eq!(ImageRef::parse_normalized(&r.full()).unwrap(), r, "{input}");
        // …except a familiar 64-hex name, which Docker takes for an image ID.
        if !is_short_id_candidate(&r.familiar()) || r.familiar().len() < 64 {
            assert_eq!(r.familiar().parse::<ImageRef>().unwrap(), r, "{input}");
        }
    }
}

#[test]
fn familiar_names() {
    let f = |s: &str| ImageRef::parse_normalized(s).expect(s).familiar_name();
    assert_eq!(f("busybox:latest"), "busybox");
    assert_eq!(f("docker.io/library/busybox"), "busybox");
    assert_eq!(f("docker.io/library/a/b"), "library/a/b");
    assert_eq!(f("myrepo/x"), "myrepo/x");
    assert_eq!(f("localhost:5000/my/busybox:v1"), "localhost:5000/my/busybox");
    assert_eq!(ImageRef::parse_normalized("localhost:5000/my/busybox:v1").unwrap().name(), "localhost:5000/my/busybox");
}

#[test]
fn tags_and_digests() {
    let r = ImageRef::parse_normalized("busybox").unwrap();
    assert_eq!(r.tag(), None);
    assert_eq!(r.clone().with_default_tag().full(), "docker.io/library/busybox:latest");
    assert_eq!(r.with_default_tag().familiar(), "busybox:latest");

    let r = ImageRef::parse_normalized(&format!("redis@{D}")).unwrap();
    assert_eq!(r.digest().unwrap().to_string(), D);
    assert_eq!(r.tag(), None);
    assert_eq!(r.clone().with_default_tag(), r, "digest refs get no default tag");
    assert_eq!(r.full(), format!("docker.io/library/redis@{D}"));
    assert_eq!(r.trim().full(), "docker.io/library/redis");

    let both = format!("busybox:latest@{D}");
    let r = ImageRef::parse_normalized(&both).unwrap();
    assert_eq!(r.tag(), Some("latest"));
    assert_eq!(r.full(), format!("docker.io/library/{both}"));
    assert_eq!(r.familiar(), both);
    let r = ImageRef::parse_docker_ref(&both).unwrap();
    assert_eq!(r.full(), format!("docker.io/library/busybox@{D}"));

    let r = ImageRef::parse_normalized("localhost:5000/x").unwrap();
    assert_eq!(r.with_tag("v1").unwrap().familiar(), "localhost:5000/x:v1");
    assert_eq!(r.with_tag("-bad").unwrap_err(), ReferenceError::InvalidTag);
    assert_eq!(r.with_digest(D.parse().unwrap()).familiar(), format!("localhost:5000/x@{D}"));
    assert_eq!(ImageRef::parse_docker_ref("x").unwrap().full(), "docker.io/library/x:latest");

    let sha512 = format!("sha512:{}", "a".repeat(128));
    assert_eq!(ImageRef::parse_normalized(&format!("x@{sha512}")).unwrap().digest().unwrap().as_str(), sha512);
}

/// Error texts checked against distribution/reference, go-digest and the docker 28.2 CLI.
#[test]
fn refuses_like_docker() {
    let long = format!("{}/docker", "a".repeat(256));
    let cases: &[(&str, &str)] = &[
        ("", "invalid reference format"),
        ("B", "invalid reference format: repository name (library/B) must be lowercase"),
        ("Bad:Name", "invalid reference format: repository name (library/Bad) must be lowercase"),
        ("UPPER", "invalid reference format: repository name (library/UPPER) must be lowercase"),
        ("Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"),
        ("docker/Docker", "invalid reference format: repository name (docker/Docker) must be lowercase"),
        // Only lower-casing makes it parse: `Parse`'s own error.
        ("Foo_bar/baz", "repository name must be lowercase"),
        ("bad name", "invalid reference format"),
        ("a..b", "invalid reference format"),
        ("a:", "invalid reference format"),
        ("a:b:c", "invalid reference format"),
        ("-docker", "invalid reference format"),
        ("-docker/docker", "invalid reference format"),
        ("docker-/docker", "invalid reference format"),
        ("docker///docker", "invalid reference format"),
        ("____/____", "invalid reference format"),
        ("dock..er/docker", "invalid reference format"),
        ("dock_.er/docker", "invalid reference format"),
        ("docker/", "invalid reference format"),
        ("https://github.com/docker/docker", "invalid reference format"),
        ("[fc00::1]:5000", "invalid reference format"),
        ("fc00::1:5000/debian", "invalid reference format"),
        ("[fe80::1%eth0]:5000/debian", "invalid reference format"),
        ("busybox:-tag", "invalid reference format"),
        ("busybox@sha256:abc", "invalid reference format"),
        ("b@sha256:aaaa", "invalid reference format"),
        ("busybox@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9", "invalid checksum digest length"),
        ("busybox@md5:dbcc1c35ac38df41fd2f5e4130b32ffd", "unsupported digest algorithm"),
        ("a:t@FOO:dbcc1c35ac38df41fd2f5e4130b32ffd", "invalid checksum digest format"),
        (
            "a@sha256:DBCC1C35AC38DF41FD2F5E4130B32FFDB93EBAE8B3DBE638C23575912276FC9C",
            "invalid checksum digest format",
        ),
        ("1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
         "invalid repository name (1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a), cannot specify 64-byte hexadecimal strings"),
        (&long, "repository name must not be more than 255 characters"),
    ];
    for &(input, msg) in cases {
        let e = ImageRef::parse_normalized(input).expect_err(input);
        assert_eq!(e.to_string(), msg, "{input:?}");
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }
    let e = |s: &str| ImageRef::parse_normalized(s).expect_err(s).to_string();
    assert_eq!(e(&format!("a@sha256:{}", "a".repeat(63))), "invalid checksum digest length");
    assert_eq!(e(&format!("a@foo:{}", "a".repeat(32))), "unsupported digest algorithm");
    // go-digest knows sha384; wharf's digests do not.
    assert_eq!(e(&format!("a@sha384:{}", "a".repeat(96))), "unsupported digest algorithm");
    assert_eq!(e(&format!("a:{}", "t".repeat(129))), "invalid reference format");
    assert_eq!(e(&format!("{}/x", "a".repeat(250))), "repository name must not be more than 255 characters");
    // 255 characters of name are fine, 256 are not, counted with the domain (`docker.io/`,
    // `docker.io/library/`) as distribution/reference v0.6 does.
    let ok = format!("x/{}", "a".repeat(243));
    assert!(ImageRef::parse_normalized(&ok).is_ok());
    assert_eq!(ImageRef::parse_normalized(&format!("{ok}a")), Err(ReferenceError::NameTooLong));
    assert!(ImageRef::parse_normalized(&"a".repeat(237)).is_ok());
    assert_eq!(ImageRef::parse_normalized(&"a".repeat(238)), Err(ReferenceError::NameTooLong));
    let ok = format!("example.com/{}", "a".repeat(243));
    assert!(ImageRef::parse_normalized(&ok).is_ok());
    assert!(ImageRef::parse_normalized(&format!("{ok}a")).is_err());
}

#[test]
fn any_references() {
    let id = "a".repeat(64);
    let d = |s: &str| AnyReference::Digest(s.parse().unwrap());
    assert_eq!(parse_any_reference(&id), Ok(d(&format!("sha256:{id}"))));
    assert_eq!(parse_any_reference(D), Ok(d(D)));
    assert_eq!(parse_any_reference("abc123"), Ok(AnyReference::Named(ImageRef::parse_normalized("abc123").unwrap())));
    assert_eq!(parse_any_reference("bad name"), Err(ReferenceError::InvalidFormat));
}

#[test]
fn tag_and_commit_targets() {
    let ok = |r: &str, t: &str| Ok((r.to_string(), t.to_string()));
    assert_eq!(tag_target("myrepo/x:v2"), ok("docker.io/myrepo/x", "v2"));
    assert_eq!(tag_target("localhost:5000/foo"), ok("localhost:5000/foo", "latest"));
    assert_eq!(tag_target("foo"), ok("docker.io/library/foo", "latest"));
    let digested = format!("foo@sha256:{}", "a".repeat(64));
    assert_eq!(tag_target(&digested).unwrap_err().to_string(), "refusing to create a tag with a digest reference");
    assert_eq!(
        tag_target("b@sha256:aaaa").unwrap_err().to_string(),
        "Error parsing reference: \"b@sha256:aaaa\" is not a valid repository/tag: invalid reference format"
    );
    assert_eq!(
        tag_target("B").unwrap_err().to_string(),
        "Error parsing reference: \"B\" is not a valid repository/tag: invalid reference format: repository name (library/B) must be lowercase"
    );
    assert_eq!(commit_target("x:1"), ok("docker.io/library/x", "1"));
    assert_eq!(
        commit_target("B").unwrap_err().to_string(),
        "invalid reference format: repository name (library/B) must be lowercase"
    );
    assert_eq!(commit_target(&digested), Err(ReferenceError::TagWithDigest));

    assert!(check_tag_source("abc123").is_ok());
    assert!(check_tag_source(&"a".repeat(64)).is_ok());
    assert!(check_tag_source(&format!("sha256:{}", "a".repeat(64))).is_ok());
    assert_eq!(
        check_tag_source("bad\tname").unwrap_err().to_string(),
        "Error parsing reference: \"bad\\tname\" is not a valid repository/tag: invalid reference format"
    );
}

#[test]
fn short_ids() {
    assert!(is_short_id_candidate("4f2c"));
    assert!(is_short_id_candidate("a"));
    assert!(is_short_id_candidate(&"ab".repeat(32)));
    assert!(is_short_id_candidate("sha256:4f2c"));
    assert_eq!(short_id_hex("sha256:4f2c"), Some("4f2c"));
    assert!(!is_short_id_candidate(&"ab".repeat(33)));
    assert!(!is_short_id_candidate(""));
    assert!(!is_short_id_candidate("sha256:"));
    assert!(!is_short_id_candidate("4F2C"));
    assert!(!is_short_id_candidate("busybox"));
}
