//! `.dockerignore` files: reading them (moby's `patternmatcher/ignorefile.ReadAll`), matching
//! paths against them (moby's `patternmatcher`), and which file applies.
//!
//! Patterns use Go's `filepath.Match` syntax (`*`, `?`, `[…]`, `\` escapes) plus `**` for any
//! number of directories; `!` re-includes. As in moby, a pattern is translated to a Go regexp
//! (so `\d` or a `[…]` class mean what Go's regexp makes of them), except for patterns that are
//! a plain path (exact match), end in `**` (prefix) or start with `**` (suffix).

use crate::error::{Error, ErrorKind};
use crate::gostr::{path_clean, path_dir, trim_space};
use crate::re::Regex;

/// bufio.Scanner's token limit, which `ReadAll` inherits.
pub const MAX_IGNORE_LINE_BYTES: usize = 64 * 1024;

/// The name of the context-wide ignore file.
pub const DOCKERIGNORE: &str = ".dockerignore";

fn pattern_error(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Pattern, msg)
}

/// moby's `ignorefile.ReadAll`: the patterns of an ignore file. Lines starting with `#` are
/// comments; lines are trimmed; `!` marks an exception; each pattern is cleaned
/// (`filepath.Clean`) and a leading `/` dropped; a byte order mark is ignored.
pub fn read_ignore_file(content: &str) -> Result<Vec<String>, Error> {
    let content = content.strip_prefix('\u{feff}').unwrap_or(content);
    let mut out = Vec::new();
    if content.is_empty() {
        return Ok(out);
    }
    let body = content.strip_suffix('\n').unwrap_or(content);
    for line in body.split('\n') {
        // bufio.ScanLines drops one trailing \r.
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.len() >= MAX_IGNORE_LINE_BYTES {
            return Err(pattern_error("bufio.Scanner: token too long"));
        }
        if line.starts_with('#') {
            continue;
        }
        let mut pattern = trim_space(line);
        if pattern.is_empty() {
            continue;
        }
        let invert = pattern.starts_with('!');
        if invert {
            pattern = trim_space(&pattern[1..]);
        }
        let mut p = pattern.to_string();
        if !p.is_empty() {
            p = path_clean(&p);
            if p.len() > 1 && p.starts_with('/') {
                p.remove(0);
            }
        }
        if invert {
            p.insert(0, '!');
        }
        out.push(p);
    }
    Ok(out)
}

/// The ignore files that may apply to a build, in order of precedence: the Dockerfile-specific
/// `<Dockerfile>.dockerignore` (beside the Dockerfile, path as given), then the context's
/// `.dockerignore`. A Dockerfile read from stdin (`-`) has only the latter.
pub fn ignore_file_candidates(dockerfile: &str) -> Vec<String> {
    let mut out = Vec::new();
    if !dockerfile.is_empty() && dockerfile != "-" {
        out.push(format!("{dockerfile}.dockerignore"));
    }
    out.push(DOCKERIGNORE.to_string());
    out
}

/// Which ignore file applies, given the candidate files that exist: the first of
/// [`ignore_file_candidates`] that is among `existing`.
pub fn select_ignore_file<'a>(dockerfile: &str, existing: &[&'a str]) -> Option<&'a str> {
    ignore_file_candidates(dockerfile).iter().find_map(|c| existing.iter().copied().find(|e| e == c))
}

/// Go's `filepath.Match` syntax check (Go 1.16+ checks the whole pattern).
fn check_glob(pattern: &str) -> Result<(), Error> {
    let bad = || pattern_error("syntax error in pattern");
    let b: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            '\\' => {
                if i + 1 >= b.len() {
                    return Err(bad());
                }
                i += 2;
            }
            '[' => {
                i += 1;
                if b.get(i) == Some(&'^') {
                    i += 1;
                }
                let mut n = 0;
                loop {
                    if b.get(i) == Some(&']') && n > 0 {
                        i += 1;
                        break;
                    }
                    // getEsc for the low end, then an optional -high.
                    let esc = |i: &mut usize| -> Result<(), Error> {
                        match b.get(*i) {
                            None | Some('-') | Some(']') => return Err(bad()),
                            Some('\\') => {
                                *i += 1;
                                if *i >= b.len() {
                                    return Err(bad());
                                }
                            }
                            _ => {}
                        }
                        *i += 1;
                        if *i >= b.len() {
                            return Err(bad());
                        }
                        Ok(())
                    };
                    esc(&mut i)?;
                    if b[i] == '-' {
                        i += 1;
                        esc(&mut i)?;
                    }
                    n += 1;
                }
            }
            _ => i += 1,
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Matcher {
    Exact,
    Prefix,
    Suffix,
    Regexp(Option<Regex>),
}

/// One compiled pattern (moby's `patternmatcher.Pattern`).
#[derive(Debug, Clone)]
pub struct Pattern {
    cleaned: String,
    dirs: usize,
    exclusion: bool,
    matcher: Matcher,
}

impl Pattern {
    /// The cleaned pattern, without `!`.
    pub fn as_str(&self) -> &str {
        &self.cleaned
    }

    /// Whether the pattern is an exception (`!`).
    pub fn exclusion(&self) -> bool {
        self.exclusion
    }

    fn compile(cleaned: &str) -> Matcher {
        let mut reg = String::from("^");
        let mut kind = 0u8; // 0 exact, 1 prefix, 2 suffix, 3 regexp
        let mut chars: Vec<char> = cleaned.chars().collect();
        // Go's text/scanner skips a byte order mark at the start.
        if chars.first() == Some(&'\u{feff}') {
            chars.remove(0);
        }
        let mut k = 0;
        let mut i = 0;
        while k < chars.len() {
            let ch = chars[k];
            k += 1;
            if ch == '*' {
                if chars.get(k) == Some(&'*') {
                    k += 1;
                    if chars.get(k) == Some(&'/') {
                        k += 1;
                    }
                    if k >= chars.len() {
                        if kind == 0 {
                            kind = 1;
                        } else {
                            reg.push_str(".*");
                            kind = 3;
                        }
                    } else {
                        reg.push_str("(.*/)?");
                        kind = 3;
                    }
                    if i == 0 {
                        kind = 2;
                    }
                } else {
                    reg.push_str("[^/]*");
                    kind = 3;
                }
            } else if ch == '?' {
                reg.push_str("[^/]");
                kind = 3;
            } else if ".+()|{}$".contains(ch) {
                reg.push('\\');
                reg.push(ch);
            } else if ch == '\\' {
                if k < chars.len() {
                    reg.push('\\');
                    reg.push(chars[k]);
                    k += 1;
                    kind = 3;
                } else {
                    reg.push('\\');
                }
            } else if ch == '[' || ch == ']' {
                reg.push(ch);
                kind = 3;
            } else {
                reg.push(ch);
            }
            i += 1;
        }
        match kind {
            0 => Matcher::Exact,
            1 => Matcher::Prefix,
            2 => Matcher::Suffix,
            _ => {
                reg.push('$');
                Matcher::Regexp(Regex::new(&reg).ok())
            }
        }
    }

    fn matches(&self, path: &str) -> Result<bool, Error> {
        Ok(match &self.matcher {
            Matcher::Exact => path == self.cleaned,
            Matcher::Prefix => path.starts_with(self.cleaned.get(..self.cleaned.len().saturating_sub(2)).unwrap_or("")),
            Matcher::Suffix => {
                let suffix = self.cleaned.get(2..).unwrap_or("");
                path.ends_with(suffix) || suffix.strip_prefix('/').is_some_and(|s| path == s)
            }
            Matcher::Regexp(Some(re)) => re.is_match(path),
            Matcher::Regexp(None) => return Err(pattern_error("syntax error in pattern")),
        })
    }
}

/// Parent-directory match results carried down a walk (moby's `MatchInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchInfo {
    parent_matched: Vec<bool>,
}

/// A list of patterns (moby's `patternmatcher.PatternMatcher`).
#[derive(Debug, Clone)]
pub struct PatternMatcher {
    patterns: Vec<Pattern>,
    exclusions: bool,
}

impl PatternMatcher {
    /// moby's `New`: trims and cleans each pattern, checks its syntax.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<PatternMatcher, Error> {
        let mut out = PatternMatcher { patterns: Vec::new(), exclusions: false };
        for p in patterns {
            let p = trim_space(p.as_ref());
            if p.is_empty() {
                continue;
            }
            let mut p = path_clean(p);
            let mut exclusion = false;
            if let Some(rest) = p.strip_prefix('!') {
                if rest.is_empty() {
                    return Err(pattern_error("illegal exclusion pattern: \"!\""));
                }
                exclusion = true;
                p = rest.to_string();
                out.exclusions = true;
            }
            check_glob(&p)?;
            let matcher = Pattern::compile(&p);
            out.patterns.push(Pattern { dirs: p.split('/').count(), cleaned: p, exclusion, matcher });
        }
        Ok(out)
    }

    /// Whether any pattern is an exception.
    pub fn exclusions(&self) -> bool {
        self.exclusions
    }

    /// The patterns.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// moby's `MatchesOrParentMatches`: whether `file` (slash-separated, relative to the
    /// context) is excluded, a pattern matching a parent directory matching the file too.
    pub fn matches_or_parent_matches(&self, file: &str) -> Result<bool, Error> {
        let parent = path_dir(file);
        let parent_dirs: Vec<&str> = parent.split('/').collect();
        let mut matched = false;
        for p in &self.patterns {
            if p.exclusion != matched {
                continue;
            }
            let mut m = p.matches(file)?;
            if !m && parent != "." {
                for i in 0..parent_dirs.len() {
                    if p.matches(&parent_dirs[..=i].join("/")).unwrap_or(false) {
                        m = true;
                        break;
                    }
                }
            }
            if m {
                matched = !p.exclusion;
            }
        }
        Ok(matched)
    }

    /// moby's `MatchesExact`: no parent matching.
    pub fn matches_exact(&self, file: &str) -> Result<bool, Error> {
        let mut matched = false;
        for p in &self.patterns {
            if p.exclusion != matched {
                continue;
            }
            if p.matches(file)? {
                matched = !p.exclusion;
            }
        }
        Ok(matched)
    }

    /// moby's `MatchesUsingParentResults`: like [`Self::matches_or_parent_matches`], reusing the
    /// parent directory's result during a walk (pass `MatchInfo::default()` at the top).
    pub fn matches_using_parent_results(&self, file: &str, parent: &MatchInfo) -> Result<(bool, MatchInfo), Error> {
        let pm = &parent.parent_matched;
        if !pm.is_empty() && pm.len() != self.patterns.len() {
            return Err(pattern_error("wrong number of values in parentMatched"));
        }
        let mut matched = false;
        let mut info = MatchInfo { parent_matched: vec![false; self.patterns.len()] };
        for (i, p) in self.patterns.iter().enumerate() {
            let mut m = pm.get(i).copied().unwrap_or(false);
            if !m {
                if p.exclusion != matched {
                    continue;
                }
                m = p.matches(file)?;
                if !m && pm.is_empty() {
                    let parent_path = path_dir(file);
                    if parent_path != "." {
                        let dirs: Vec<&str> = parent_path.split('/').collect();
                        for j in 0..dirs.len() {
                            if p.matches(&dirs[..=j].join("/")).unwrap_or(false) {
                                m = true;
                                break;
                            }
                        }
                    }
                }
            }
            info.parent_matched[i] = m;
            if m {
                matched = !p.exclusion;
            }
        }
        Ok((matched, info))
    }

    /// How many path components the pattern at `index` has (moby uses it to prune walks).
    pub fn pattern_dirs(&self, index: usize) -> usize {
        self.patterns.get(index).map_or(0, |p| p.dirs)
    }
}

/// moby's `patternmatcher.MatchesOrParentMatches` on a list: the context root (`.`) is never
/// excluded.
pub fn matches(file: &str, patterns: &[String]) -> Result<bool, Error> {
    let pm = PatternMatcher::new(patterns)?;
    let file = path_clean(file);
    if file == "." {
        return Ok(false);
    }
    pm.matches_or_parent_matches(&file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_all_like_moby() {
        // moby's ignorefile_test.go TestReadAll.
        let content = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! \n";
        assert_eq!(
            read_ignore_file(content).unwrap(),
            ["test1", "test2", "a/file/here", "lastfile", "!inverted/abs/path", "!", "!"]
        );
        assert_eq!(read_ignore_file("\u{feff}a\r\nb/../c/\n").unwrap(), ["a", "c"]);
        assert_eq!(read_ignore_file("  # not a comment\n/\n").unwrap(), ["# not a comment", "/"]);
        assert!(read_ignore_file(&"a".repeat(70_000)).is_err());
    }

    #[test]
    fn candidates() {
        assert_eq!(ignore_file_candidates("Dockerfile"), ["Dockerfile.dockerignore", ".dockerignore"]);
        assert_eq!(ignore_file_candidates("-"), [".dockerignore"]);
        assert_eq!(
            select_ignore_file("ci/app.Dockerfile", &[".dockerignore", "ci/app.Dockerfile.dockerignore"]),
            Some("ci/app.Dockerfile.dockerignore")
        );
        assert_eq!(select_ignore_file("Dockerfile", &[".dockerignore"]), Some(".dockerignore"));
        assert_eq!(select_ignore_file("Dockerfile", &[]), None);
    }
}
