//! Golden AST dumps: each `testfiles/<name>/Dockerfile` must dump (BuildKit's `Node.Dump()`
//! format) to `testfiles/<name>/result`, as BuildKit's own `TestParseCases` checks. `docker`,
//! `health`, `influxdb`, `flags`, `env`, `escape` and `escape-after-comment` are BuildKit's
//! testfiles (results updated to today's `(key, value, separator)` ENV/LABEL triples); the
//! others are ours, their results derived by hand from BuildKit's line parsers.

use std::path::Path;

#[test]
fn testfiles_dump_like_buildkit() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testfiles");
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    assert!(names.len() >= 12, "{names:?}");
    for case in names {
        let src = std::fs::read(case.join("Dockerfile")).unwrap();
        let want = std::fs::read_to_string(case.join("result")).unwrap();
        let df = wharf_dockerfile::parse_bytes(&src).unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        assert_eq!(df.ast.dump() + "\n", want, "{}", case.display());
    }
}
