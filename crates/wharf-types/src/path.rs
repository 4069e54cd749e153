//! Go's `path.Clean` for slash-separated paths, which Docker applies to every container path
//! (mount destinations, `VOLUME`s, archive paths) — shared by the daemon and the CLI.

/// Go's `path.Clean`: the shortest equivalent path by lexical processing (`.`, `..` and
/// repeated slashes resolved; `..` above the root of an absolute path dropped; `"."` for an
/// empty result).
pub fn clean_path(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !abs {
                    out.push("..");
                }
            }
            x => out.push(x),
        }
    }
    let joined = out.join("/");
    match (abs, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::clean_path;

    #[test]
    fn as_go() {
        for (i, o) in [
            ("", "."),
            ("/", "/"),
            ("a//b/./c/..", "a/b"),
            ("/../x", "/x"),
            ("../../x", "../../x"),
            ("a/../..", ".."),
            ("/a/b/", "/a/b"),
            (".", "."),
        ] {
            assert_eq!(clean_path(i), o, "{i}");
        }
    }
}
