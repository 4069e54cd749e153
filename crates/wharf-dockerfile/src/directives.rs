//! Parser directives (BuildKit's `parser/directives.go`): `# syntax=`, `# escape=`, `# check=`
//! at the top of a Dockerfile. The directive parser latches: the first line that is not a
//! directive (an instruction, an empty line, a plain comment, an unknown key) ends the search.
//! Keys are case-insensitive, values are kept as written, a repeated key is an error.
//! [`detect_syntax`] also accepts `// syntax=` and `{"syntax": "…"}` and skips a `#!` line, as
//! BuildKit's `DetectSyntax` does before choosing a frontend.

use crate::error::Error;
use crate::gostr::trim_left_space;

/// The directives BuildKit knows.
pub const VALID_DIRECTIVES: [&str; 3] = ["syntax", "escape", "check"];

/// A parser directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// Lower-cased key: `syntax`, `escape` or `check`.
    pub name: String,
    /// The value as written (trailing whitespace removed).
    pub value: String,
    /// 1-based line.
    pub line: usize,
}

/// BuildKit's `DirectiveParser`.
#[derive(Debug, Clone)]
pub(crate) struct DirectiveParser {
    line: usize,
    comment: &'static str,
    seen: Vec<String>,
    done: bool,
}

/// Go's regexp `\s` (`[\t\n\f\r ]`).
fn is_re_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{0c}' | '\r' | ' ')
}

/// `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` with Go's leftmost-first semantics.
fn match_directive(line: &str) -> Option<(&str, &str)> {
    let b = line.as_bytes();
    if !b.first().is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    let mut i = 1;
    while i < b.len() && b[i].is_ascii_alphanumeric() {
        i += 1;
    }
    let key = &line[..i];
    let rest = line[i..].trim_start_matches(is_re_space);
    let after = rest.strip_prefix('=')?;
    // `.` does not match a newline (there is none: lines are split on it).
    if after.contains('\n') {
        return None;
    }
    let trimmed_start = after.trim_start_matches(is_re_space);
    let value = if trimmed_start.is_empty() {
        // `\s*` gives back one character so that `.+?` matches.
        let last = after.chars().next_back()?;
        &after[after.len() - last.len_utf8()..]
    } else {
        trimmed_start.trim_end_matches(is_re_space)
    };
    Some((key, value))
}

impl DirectiveParser {
    pub(crate) fn new(line: usize) -> DirectiveParser {
        DirectiveParser { line, comment: "#", seen: Vec::new(), done: false }
    }

    fn with_comment(line: usize, comment: &'static str) -> DirectiveParser {
        DirectiveParser { comment, ..DirectiveParser::new(line) }
    }

    /// BuildKit's `ParseLine`.
    pub(crate) fn parse_line(&mut self, line: &str) -> Result<Option<Directive>, Error> {
        self.line += 1;
        if self.done {
            return Ok(None);
        }
        let Some(rest) = line.strip_prefix(self.comment) else {
            self.done = true;
            return Ok(None);
        };
        let rest = trim_left_space(rest);
        let Some((key, value)) = match_directive(rest) else {
            self.done = true;
            return Ok(None);
        };
        let k = key.to_ascii_lowercase();
        if !VALID_DIRECTIVES.contains(&k.as_str()) {
            self.done = true;
            return Ok(None);
        }
        if self.seen.contains(&k) {
            return Err(Error::syntax(format!("only one {k} parser directive can be used")));
        }
        self.seen.push(k.clone());
        Ok(Some(Directive { name: k, value: value.to_string(), line: self.line }))
    }

    fn parse_all(&mut self, data: &str) -> Vec<Directive> {
        let mut out = Vec::new();
        for line in data.split('\n') {
            if self.done {
                break;
            }
            // bufio.ScanLines drops a trailing \r.
            let line = line.strip_suffix('\r').unwrap_or(line);
            match self.parse_line(line) {
                Ok(Some(d)) => out.push(d),
                Ok(None) => {}
                Err(_) => break,
            }
        }
        out
    }
}

/// The frontend a Dockerfile asks for (BuildKit's `DetectSyntax`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syntax {
    /// The image reference: the value up to the first space.
    pub reference: String,
    /// The whole value.
    pub cmdline: String,
    /// 1-based line of the directive (counting a skipped `#!` line; 0 for the JSON form).
    pub line: usize,
}

fn strip_bom_shebang(src: &str) -> (&str, usize) {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let first = src.split('\n').next().unwrap_or("");
    if first.starts_with("#!") {
        (src.get(first.len() + 1..).unwrap_or(""), 1)
    } else {
        (src, 0)
    }
}

fn find_directive(key: &str, data: &str, parser: DirectiveParser) -> Option<Syntax> {
    let mut parser = parser;
    parser.parse_all(data).into_iter().find(|d| d.name == key).map(|d| Syntax {
        reference: d.value.split(' ').next().unwrap_or("").to_string(),
        cmdline: d.value.clone(),
        line: d.line,
    })
}

/// BuildKit's `DetectSyntax`: `# syntax=`, then `// syntax=`, then a JSON `{"syntax": "…"}`;
/// a first line starting with `#!` is skipped.
pub fn detect_syntax(src: &str) -> Option<Syntax> {
    let (data, line) = strip_bom_shebang(src);
    if let Some(s) = find_directive("syntax", data, DirectiveParser::new(line)) {
        return Some(s);
    }
    if let Some(s) = find_directive("syntax", data, DirectiveParser::with_comment(line, "//")) {
        return Some(s);
    }
    let v = crate::json::object_string(data, "syntax")?;
    Some(Syntax { reference: v.clone(), cmdline: v, line })
}

/// BuildKit's `ParseDirective(key, …)`: the `# key=value` directive only (used for `check`).
pub fn parse_directive(key: &str, src: &str) -> Option<Syntax> {
    let (data, line) = strip_bom_shebang(src);
    find_directive(key, data, DirectiveParser::new(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directive_regexp() {
        assert_eq!(match_directive("escape=`"), Some(("escape", "`")));
        assert_eq!(match_directive("syntax = docker/dockerfile:1  "), Some(("syntax", "docker/dockerfile:1")));
        assert_eq!(match_directive("escape=  "), Some(("escape", " ")));
        assert_eq!(match_directive("escape="), None);
        assert_eq!(match_directive("1escape=x"), None);
        assert_eq!(match_directive("es-cape=x"), None);
    }

    #[test]
    fn latch_and_duplicates() {
        // BuildKit's directives_test.go: the unknown key ends the search.
        let mut p = DirectiveParser::new(0);
        let got = p.parse_all("#escape=\\\n# key = FOO bar\n\n# smth\n");
        assert_eq!(got.len(), 1);
        let mut p = DirectiveParser::new(0);
        assert!(p.parse_line("#syntax=a").unwrap().is_some());
        assert_eq!(p.parse_line("#syntax=b").unwrap_err().message(), "only one syntax parser directive can be used");
        let mut p = DirectiveParser::new(0);
        assert_eq!(p.parse_line("# EScape=\\").unwrap().unwrap().name, "escape");
    }

    #[test]
    fn detect_syntax_forms() {
        let s = detect_syntax("# syntax = dockerfile:experimental\nFROM x").unwrap();
        assert_eq!((s.reference.as_str(), s.line), ("dockerfile:experimental", 1));
        let s = detect_syntax("#!/bin/sh\n# syntax = a b\n").unwrap();
        assert_eq!((s.reference.as_str(), s.cmdline.as_str(), s.line), ("a", "a b", 2));
        assert!(detect_syntax("#!/bin/sh\n\n# syntax = a\n").is_none());
        assert_eq!(detect_syntax("// syntax = b\n").unwrap().reference, "b");
        assert_eq!(detect_syntax("{\"syntax\": \"c\"}").unwrap().reference, "c");
        assert!(detect_syntax("FROM x\n# syntax=a\n").is_none());
        assert_eq!(parse_directive("check", "# check=skip=all\n").unwrap().cmdline, "skip=all");
        assert!(parse_directive("check", "// check=skip=all\n").is_none());
    }
}
