//! `.dockerignore` matching against moby's `patternmatcher_test.go` (`TestMatches`, `TestMatch`
//! — Go's own `filepath.Match` table — and the single-case tests).

use wharf_dockerfile::ignore::{matches, read_ignore_file, MatchInfo, PatternMatcher};

#[derive(Clone, Copy, PartialEq)]
enum T {
    Fail,
    Exact,
    Inexact,
}

const TESTS: &[(&str, &str, T)] = &[
    ("**", "file", T::Exact),
    ("**", "file/", T::Exact),
    ("**/", "file", T::Exact),
    ("**/", "file/", T::Exact),
    ("**", "/", T::Exact),
    ("**/", "/", T::Exact),
    ("**", "dir/file", T::Exact),
    ("**/", "dir/file", T::Exact),
    ("**", "dir/file/", T::Exact),
    ("**/", "dir/file/", T::Exact),
    ("**/**", "dir/file", T::Exact),
    ("**/**", "dir/file/", T::Exact),
    ("dir/**", "dir/file", T::Exact),
    ("dir/**", "dir/file/", T::Exact),
    ("dir/**", "dir/dir2/file", T::Exact),
    ("dir/**", "dir/dir2/file/", T::Exact),
    ("**/dir", "dir", T::Exact),
    ("**/dir", "dir/file", T::Inexact),
    ("**/dir2/*", "dir/dir2/file", T::Exact),
    ("**/dir2/*", "dir/dir2/file/", T::Inexact),
    ("**/dir2/**", "dir/dir2/dir3/file", T::Exact),
    ("**/dir2/**", "dir/dir2/dir3/file/", T::Exact),
    ("**file", "file", T::Exact),
    ("**file", "dir/file", T::Exact),
    ("**/file", "dir/file", T::Exact),
    ("**file", "dir/dir/file", T::Exact),
    ("**/file", "dir/dir/file", T::Exact),
    ("**/file*", "dir/dir/file", T::Exact),
    ("**/file*", "dir/dir/file.txt", T::Exact),
    ("**/file*txt", "dir/dir/file.txt", T::Exact),
    ("**/file*.txt", "dir/dir/file.txt", T::Exact),
    ("**/file*.txt*", "dir/dir/file.txt", T::Exact),
    ("**/**/*.txt", "dir/dir/file.txt", T::Exact),
    ("**/**/*.txt2", "dir/dir/file.txt", T::Fail),
    ("**/*.txt", "file.txt", T::Exact),
    ("**/**/*.txt", "file.txt", T::Exact),
    ("a**/*.txt", "a/file.txt", T::Exact),
    ("a**/*.txt", "a/dir/file.txt", T::Exact),
    ("a**/*.txt", "a/dir/dir/file.txt", T::Exact),
    ("a/*.txt", "a/dir/file.txt", T::Fail),
    ("a/*.txt", "a/file.txt", T::Exact),
    ("a/*.txt**", "a/file.txt", T::Exact),
    ("a[b-d]e", "ae", T::Fail),
    ("a[b-d]e", "ace", T::Exact),
    ("a[b-d]e", "aae", T::Fail),
    ("a[^b-d]e", "aze", T::Exact),
    (".*", ".foo", T::Exact),
    (".*", "foo", T::Fail),
    ("abc.def", "abcdef", T::Fail),
    ("abc.def", "abc.def", T::Exact),
    ("abc.def", "abcZdef", T::Fail),
    ("abc?def", "abcZdef", T::Exact),
    ("abc?def", "abcdef", T::Fail),
    ("**/foo/bar", "foo/bar", T::Exact),
    ("**/foo/bar", "dir/foo/bar", T::Exact),
    ("**/foo/bar", "dir/dir2/foo/bar", T::Exact),
    ("abc/**", "abc", T::Fail),
    ("abc/**", "abc/def", T::Exact),
    ("abc/**", "abc/def/ghi", T::Exact),
    ("**/.foo", ".foo", T::Exact),
    ("**/.foo", "bar.foo", T::Fail),
    ("a(b)c/def", "a(b)c/def", T::Exact),
    ("a(b)c/def", "a(b)c/xyz", T::Fail),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", T::Exact),
    (
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        T::Exact,
    ),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", T::Exact),
    ("a\\\\", "a\\", T::Exact),
    ("a\\*b", "a*b", T::Exact),
];

const MULTI: &[(&[&str], &str, T)] = &[
    (&["**", "!util/docker/web"], "util/docker/web/foo", T::Fail),
    (&["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", T::Exact),
    (
        &["**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"],
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        T::Fail,
    ),
    (&["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", T::Fail),
];

fn parents(text: &str) -> Vec<String> {
    let dir = match text.rfind('/') {
        Some(i) => &text[..i],
        None => return Vec::new(),
    };
    let dir = dir.trim_end_matches('/');
    if dir.is_empty() {
        return Vec::new();
    }
    let parts: Vec<&str> = dir.split('/').collect();
    (0..parts.len()).map(|i| parts[..=i].join("/")).collect()
}

fn using_parent_results(pm: &PatternMatcher, text: &str) -> bool {
    let mut info = MatchInfo::default();
    for p in parents(text) {
        info = pm.matches_using_parent_results(&p, &info).unwrap().1;
    }
    pm.matches_using_parent_results(text, &info).unwrap().0
}

#[test]
fn matches_table() {
    for &(pattern, text, want) in TESTS {
        let pm = PatternMatcher::new(&[pattern]).unwrap();
        let d = format!("pattern={pattern:?} text={text:?}");
        assert_eq!(pm.matches_exact(text).unwrap(), want == T::Exact, "exact {d}");
        assert_eq!(pm.matches_or_parent_matches(text).unwrap(), want != T::Fail, "parent {d}");
        assert_eq!(using_parent_results(&pm, text), want != T::Fail, "walk {d}");
        let no_ctx = pm.matches_using_parent_results(text, &MatchInfo::default()).unwrap().0;
        assert_eq!(no_ctx, want != T::Fail, "no context {d}");
    }
    for &(patterns, text, want) in MULTI {
        let pm = PatternMatcher::new(patterns).unwrap();
        assert_eq!(pm.matches_or_parent_matches(text).unwrap(), want != T::Fail, "{patterns:?} {text}");
        assert_eq!(using_parent_results(&pm, text), want != T::Fail, "walk {patterns:?} {text}");
    }
}

#[test]
fn go_filepath_match_table() {
    // (pattern, name, match, bad pattern)
    let cases: &[(&str, &str, bool, bool)] = &[
        ("abc", "abc", true, false),
        ("*", "abc", true, false),
        ("*c", "abc", true, false),
        ("a*", "a", true, false),
        ("a*", "abc", true, false),
        ("a*", "ab/c", true, false),
        ("a*/b", "abc/b", true, false),
        ("a*/b", "a/c/b", false, false),
        ("a*b*c*d*e*/f", "axbxcxdxe/f", true, false),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true, false),
        ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false, false),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false, false),
        ("a*b?c*x", "abxbbxdbxebxczzx", true, false),
        ("a*b?c*x", "abxbbxdbxebxczzy", false, false),
        ("ab[c]", "abc", true, false),
        ("ab[b-d]", "abc", true, false),
        ("ab[e-g]", "abc", false, false),
        ("ab[^c]", "abc", false, false),
        ("ab[^b-d]", "abc", false, false),
        ("ab[^e-g]", "abc", true, false),
        ("a\\*b", "a*b", true, false),
        ("a\\*b", "ab", false, false),
        ("a?b", "a☺b", true, false),
        ("a[^a]b", "a☺b", true, false),
        ("a???b", "a☺b", false, false),
        ("a[^a][^a][^a]b", "a☺b", false, false),
        ("[a-ζ]*", "α", true, false),
        ("*[a-ζ]", "A", false, false),
        ("a?b", "a/b", false, false),
        ("a*b", "a/b", false, false),
        ("[\\]a]", "]", true, false),
        ("[\\-]", "-", true, false),
        ("[x\\-]", "x", true, false),
        ("[x\\-]", "-", true, false),
        ("[x\\-]", "z", false, false),
        ("[\\-x]", "x", true, false),
        ("[\\-x]", "-", true, false),
        ("[\\-x]", "a", false, false),
        ("[]a]", "]", false, true),
        ("[-]", "-", false, true),
        ("[x-]", "x", false, true),
        ("[x-]", "-", false, true),
        ("[x-]", "z", false, true),
        ("[-x]", "x", false, true),
        ("[-x]", "-", false, true),
        ("[-x]", "a", false, true),
        ("\\", "a", false, true),
        ("[a-b-c]", "a", false, true),
        ("[", "a", false, true),
        ("[^", "a", false, true),
        ("[^bc", "a", false, true),
        ("a[", "a", false, true),
        ("a[", "ab", false, true),
        ("*x", "xxx", true, false),
    ];
    for &(pattern, name, want, bad) in cases {
        match matches(name, &[pattern.to_string()]) {
            Ok(m) => {
                assert!(!bad, "{pattern} {name}: expected a bad pattern");
                assert_eq!(m, want, "{pattern} {name}");
            }
            Err(e) => {
                assert!(bad, "{pattern} {name}: {e}");
                assert_eq!(e.to_string(), "syntax error in pattern");
            }
        }
    }
}

#[test]
fn single_cases() {
    let m = |f: &str, p: &[&str]| matches(f, &p.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert!(m("fileutils.go", &["*"]).unwrap());
    assert!(m("fileutils.go", &["*.go"]).unwrap());
    assert!(m("fileutils.go", &["!fileutils.go", "*.go"]).unwrap());
    assert!(!m("docs/README.md", &["docs", "!docs/README.md"]).unwrap());
    assert!(!m("docs/README.md", &["docs/", "!docs/README.md"]).unwrap());
    assert!(!m("docs/README.md", &["docs/*", "!docs/README.md"]).unwrap());
    assert!(!m("fileutils.go", &["*.go", "!fileutils.go"]).unwrap());
    assert!(!m(".", &["*.go"]).unwrap());
    assert_eq!(m("fileutils.go", &["!"]).unwrap_err().to_string(), "illegal exclusion pattern: \"!\"");
    assert!(!m("/any/path/there", &[]).unwrap());
    assert!(m("/any/path/there", &["["]).is_err());
    let pm = PatternMatcher::new(&["docs", "config", ""]).unwrap();
    assert_eq!(pm.patterns().len(), 2);
    assert!(PatternMatcher::new(&["docs", "  !docs/README.md  "]).unwrap().exclusions());
    // A stray `^` or a `\d` mean what Go's regexp makes of them.
    assert!(m("a5", &["a\\d"]).unwrap());
    assert!(!m("ad", &["a\\d"]).unwrap());
}

#[test]
fn read_then_match() {
    let patterns = read_ignore_file("# comment\n*.md\n!README.md\n/build\nnode_modules/\n**/*.tmp\n").unwrap();
    assert_eq!(patterns, ["*.md", "!README.md", "build", "node_modules", "**/*.tmp"]);
    let pm = PatternMatcher::new(&patterns).unwrap();
    for (f, want) in [
        ("CHANGES.md", true),
        ("README.md", false),
        ("docs/x.md", false),
        ("build/out/a.o", true),
        ("node_modules/x/y.js", true),
        ("src/a/b.tmp", true),
        ("src/main.rs", false),
    ] {
        assert_eq!(pm.matches_or_parent_matches(f).unwrap(), want, "{f}");
    }
}

#[test]
fn pathological_patterns_are_linear() {
    let pattern = "*a".repeat(200) + "b";
    let pm = PatternMatcher::new(&[pattern]).unwrap();
    assert!(!pm.matches_or_parent_matches(&"a".repeat(5_000)).unwrap());
    let pattern = "**/".repeat(100) + "x";
    let pm = PatternMatcher::new(&[pattern]).unwrap();
    assert!(!pm.matches_or_parent_matches(&"d/".repeat(100)).unwrap());
}
