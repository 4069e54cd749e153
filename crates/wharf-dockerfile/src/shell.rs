//! Word expansion and splitting as BuildKit's `frontend/dockerfile/shell` lexer does it
//! (`shell.Lex`): quotes (single quotes literal, double quotes expand), the escape token, `$VAR`,
//! `${VAR}`, `${VAR:-x}` `${VAR-x}` `${VAR:+x}` `${VAR+x}` `${VAR:?msg}` `${VAR?msg}`,
//! `${VAR#pat}` `${VAR##pat}` `${VAR%pat}` `${VAR%%pat}`, `${VAR/pat/repl}` `${VAR//pat/repl}`,
//! the special parameters (`$1`, `$@` … expand like unset variables), word splitting after
//! expansion (`ProcessWords`), and the `RawQuotes` / `RawEscapes` / `SkipProcessQuotes` /
//! `SkipUnsetEnv` modes the parser uses for heredocs.
//!
//! One deliberate difference: recent BuildKit shares one word buffer between a word and the
//! `${…:-word}` nested inside it, so `ProcessWords("ab${X:-c}d")` loses `ab`; we keep each
//! level's buffer (giving `["abcd"]`, what `ProcessWord` and older BuildKit give).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::error::{Error, ErrorKind};
use crate::gostr::{go_quote, is_space};
use crate::re::Regex;

/// Nesting bound for `${…${…}…}` (each level is a recursion).
pub const MAX_EXPANSION_DEPTH: usize = 128;
/// Bound on one expanded word (`$A$A$A…` chains grow exponentially otherwise).
pub const MAX_EXPANSION_BYTES: usize = 32 << 20;

/// Variables for expansion (BuildKit's `EnvGetter`). Names are case-sensitive, as on Linux.
pub trait Env {
    /// The value of `key`, if it is set (an empty value is set).
    fn get(&self, key: &str) -> Option<&str>;
}

/// No variables at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEnv;

impl Env for NoEnv {
    fn get(&self, _: &str) -> Option<&str> {
        None
    }
}

impl Env for BTreeMap<String, String> {
    fn get(&self, key: &str) -> Option<&str> {
        BTreeMap::get(self, key).map(String::as_str)
    }
}

impl Env for HashMap<String, String> {
    fn get(&self, key: &str) -> Option<&str> {
        HashMap::get(self, key).map(String::as_str)
    }
}

/// Ordered `(name, value)` pairs; the last definition of a name wins (BuildKit's
/// `EnvsFromSlice`).
impl Env for [(String, String)] {
    fn get(&self, key: &str) -> Option<&str> {
        self.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

impl Env for Vec<(String, String)> {
    fn get(&self, key: &str) -> Option<&str> {
        Env::get(self.as_slice(), key)
    }
}

/// BuildKit's `EnvsFromSlice`: `KEY=VALUE` strings (a string without `=` is a key with an empty
/// value); the last definition wins.
pub fn env_from_slice<S: AsRef<str>>(list: &[S]) -> Vec<(String, String)> {
    list.iter()
        .map(|e| {
            let e = e.as_ref();
            match e.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (e.to_string(), String::new()),
            }
        })
        .collect()
}

/// The lexer (BuildKit's `shell.Lex`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lex {
    escape_token: char,
    /// Keep the quote characters in the result.
    pub raw_quotes: bool,
    /// Keep the escape tokens in the result.
    pub raw_escapes: bool,
    /// Do not treat quotes specially.
    pub skip_process_quotes: bool,
    /// Leave references to unset variables as written (`$X`, `${X}`, `${X:-y}`).
    pub skip_unset_env: bool,
}

/// What `ProcessWordWithMatches` returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// The expanded word.
    pub result: String,
    /// The expansion split into words (quotes keep their content together).
    pub words: Vec<String>,
    /// Variables that were referenced and set.
    pub matched: BTreeSet<String>,
    /// Variables that were referenced and unset.
    pub unmatched: BTreeSet<String>,
}

impl Lex {
    /// A lexer with the given escape token (`\` or `` ` ``).
    pub fn new(escape_token: char) -> Lex {
        Lex { escape_token, raw_quotes: false, raw_escapes: false, skip_process_quotes: false, skip_unset_env: false }
    }

    /// The escape token.
    pub fn escape_token(&self) -> char {
        self.escape_token
    }

    /// BuildKit's `ProcessWord`: expands `word` into one string.
    pub fn process_word(&self, word: &str, env: &dyn Env) -> Result<String, Error> {
        self.process(word, env).map(|e| e.result)
    }

    /// BuildKit's `ProcessWords`: expands `word`, then splits it on whitespace (quoted text and
    /// escaped characters do not split; empty words are dropped).
    pub fn process_words(&self, word: &str, env: &dyn Env) -> Result<Vec<String>, Error> {
        self.process(word, env).map(|e| e.words)
    }

    /// BuildKit's `ProcessWordWithMatches`: the expansion with the variables it used.
    pub fn process_word_with_matches(&self, word: &str, env: &dyn Env) -> Result<Expansion, Error> {
        self.process(word, env)
    }

    fn process(&self, word: &str, env: &dyn Env) -> Result<Expansion, Error> {
        let mut chars: Vec<char> = word.chars().collect();
        // Go's text/scanner skips a byte order mark at the start.
        if chars.first() == Some(&'\u{feff}') {
            chars.remove(0);
        }
        let mut sw = ShellWord {
            lex: self,
            env,
            chars,
            pos: 0,
            raw_escapes: self.raw_escapes,
            matched: BTreeSet::new(),
            unmatched: BTreeSet::new(),
            depth: 0,
            limit_hit: false,
        };
        let raw = sw.raw_escapes;
        match sw.stop_on(None, raw) {
            Ok((result, words)) => Ok(Expansion { result, words, matched: sw.matched, unmatched: sw.unmatched }),
            Err(e) => {
                let kind = if sw.limit_hit { ErrorKind::Limit } else { ErrorKind::Expansion };
                Err(Error::new(kind, format!("failed to process {}: {e}", go_quote(word))))
            }
        }
    }
}

struct ShellWord<'a> {
    lex: &'a Lex,
    env: &'a dyn Env,
    chars: Vec<char>,
    pos: usize,
    raw_escapes: bool,
    matched: BTreeSet<String>,
    unmatched: BTreeSet<String>,
    depth: usize,
    limit_hit: bool,
}

#[derive(Default)]
struct Words {
    buf: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if is_space(ch) && self.in_word {
            if !self.buf.is_empty() {
                self.words.push(std::mem::take(&mut self.buf));
                self.in_word = false;
            }
        } else if !is_space(ch) {
            self.add_raw_char(ch);
        }
    }

    fn add_raw_char(&mut self, ch: char) {
        self.buf.push(ch);
        self.in_word = true;
    }

    fn add_string(&mut self, s: &str) {
        for ch in s.chars() {
            self.add_char(ch);
        }
    }

    fn add_raw_string(&mut self, s: &str) {
        self.buf.push_str(s);
        self.in_word = true;
    }

    fn get_words(mut self) -> Vec<String> {
        if !self.buf.is_empty() {
            self.words.push(std::mem::take(&mut self.buf));
        }
        self.words
    }
}

/// Go's `string(rune)` of a scanner result (`EOF` becomes U+FFFD).
fn rune_str(c: Option<char>) -> String {
    c.unwrap_or('\u{fffd}').to_string()
}

/// Go's `unicode.IsDigit` (approximated outside ASCII by Unicode's numeric property).
fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric())
}

/// Go's `unicode.IsLetter` (approximated outside ASCII by Unicode's alphabetic property).
fn is_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || (!c.is_ascii() && c.is_alphabetic())
}

fn is_special_param(c: char) -> bool {
    matches!(c, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0')
}

impl ShellWord<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn get_env(&mut self, name: &str) -> Option<String> {
        match self.env.get(name) {
            Some(v) => {
                self.matched.insert(name.to_string());
                Some(v.to_string())
            }
            None => {
                self.unmatched.insert(name.to_string());
                None
            }
        }
    }

    /// BuildKit's `processStopOn`: up to `stop` (consumed) or the end.
    fn stop_on(&mut self, stop: Option<char>, raw_escapes: bool) -> Result<(String, Vec<String>), String> {
        let saved = self.raw_escapes;
        self.raw_escapes = raw_escapes;
        let r = self.stop_on_inner(stop);
        self.raw_escapes = saved;
        r
    }

    fn stop_on_inner(&mut self, stop: Option<char>) -> Result<(String, Vec<String>), String> {
        let mut result = String::new();
        let mut words = Words::default();
        let quotes = !self.lex.skip_process_quotes;
        while let Some(ch) = self.peek() {
            if stop == Some(ch) {
                self.pos += 1;
                return Ok((result, words.get_words()));
            }
            if ch == '$' || (quotes && (ch == '\'' || ch == '"')) {
                let tmp = match ch {
                    '\'' => self.single_quote()?,
                    '"' => self.double_quote()?,
                    _ => self.dollar()?,
                };
                result.push_str(&tmp);
                self.check_size(result.len())?;
                if ch == '$' {
                    words.add_string(&tmp);
                } else {
                    words.add_raw_string(&tmp);
                }
                continue;
            }
            self.pos += 1;
            let mut ch = ch;
            if ch == self.lex.escape_token {
                if self.raw_escapes {
                    words.add_raw_char(ch);
                    result.push(ch);
                }
                match self.next() {
                    None => break,
                    Some(c) => {
                        ch = c;
                        words.add_raw_char(ch);
                    }
                }
            } else {
                words.add_char(ch);
            }
            result.push(ch);
        }
        if let Some(s) = stop {
            return Err(format!("unexpected end of statement while looking for matching {s}"));
        }
        Ok((result, words.get_words()))
    }

    fn single_quote(&mut self) -> Result<String, String> {
        let mut out = String::new();
        let q = self.next();
        if self.lex.raw_quotes {
            out.push(q.unwrap_or('\''));
        }
        loop {
            match self.next() {
                None => return Err("unexpected end of statement while looking for matching single-quote".into()),
                Some('\'') => {
                    if self.lex.raw_quotes {
                        out.push('\'');
                    }
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quote(&mut self) -> Result<String, String> {
        let mut out = String::new();
        let q = self.next();
        if self.lex.raw_quotes {
            out.push(q.unwrap_or('"'));
        }
        loop {
            match self.peek() {
                None => return Err("unexpected end of statement while looking for matching double-quote".into()),
                Some('"') => {
                    self.pos += 1;
                    if self.lex.raw_quotes {
                        out.push('"');
                    }
                    return Ok(out);
                }
                Some('$') => {
                    let v = self.dollar()?;
                    out.push_str(&v);
                    self.check_size(out.len())?;
                }
                Some(mut ch) => {
                    self.pos += 1;
                    if ch == self.lex.escape_token {
                        if self.raw_escapes {
                            out.push(ch);
                        }
                        match self.peek() {
                            None => continue,
                            Some(c) if c == '"' || c == '$' || c == self.lex.escape_token => {
                                ch = c;
                                self.pos += 1;
                            }
                            Some(_) => {}
                        }
                    }
                    out.push(ch);
                }
            }
        }
    }

    fn check_size(&mut self, n: usize) -> Result<(), String> {
        if n > MAX_EXPANSION_BYTES {
            self.limit_hit = true;
            return Err(format!("expansion longer than {MAX_EXPANSION_BYTES} bytes"));
        }
        Ok(())
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && is_digit(ch) {
                while let Some(d) = self.peek().filter(|&d| is_digit(d)) {
                    name.push(d);
                    self.pos += 1;
                }
                return name;
            }
            if name.is_empty() && is_special_param(ch) {
                self.pos += 1;
                return ch.to_string();
            }
            if !is_letter(ch) && !is_digit(ch) && ch != '_' {
                break;
            }
            self.pos += 1;
            name.push(ch);
        }
        name
    }

    fn dollar(&mut self) -> Result<String, String> {
        if self.depth >= MAX_EXPANSION_DEPTH {
            self.limit_hit = true;
            return Err(format!("variable expansion nested more than {MAX_EXPANSION_DEPTH} levels deep"));
        }
        self.depth += 1;
        let r = self.dollar_inner();
        self.depth -= 1;
        r
    }

    fn dollar_inner(&mut self) -> Result<String, String> {
        self.pos += 1; // '$'
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(match self.get_env(&name) {
                Some(v) => v,
                None if self.lex.skip_unset_env => format!("${name}"),
                None => String::new(),
            });
        }
        self.pos += 1; // '{'
        match self.peek() {
            None => return Err("syntax error: missing '}'".into()),
            Some('{' | '}' | ':') => return Err("syntax error: bad substitution".into()),
            _ => {}
        }
        let name = self.name();
        let mut ch = self.next();
        let mut chs = rune_str(ch);
        match ch {
            Some('}') => Ok(match self.get_env(&name) {
                Some(v) => v,
                None if self.lex.skip_unset_env => format!("${{{name}}}"),
                None => String::new(),
            }),
            Some(':' | '+' | '-' | '?' | '#' | '%') => {
                let null_is_unset = ch == Some(':');
                if null_is_unset {
                    ch = self.next();
                    chs.push_str(&rune_str(ch));
                }
                let raw = matches!(ch, Some('#' | '%'));
                if null_is_unset && raw {
                    return Err(format!("unsupported modifier ({chs}) in substitution"));
                }
                let word = match self.stop_on(Some('}'), raw) {
                    Ok((w, _)) => w,
                    Err(e) => {
                        return Err(if self.peek().is_none() && !self.limit_hit {
                            "syntax error: missing '}'".into()
                        } else {
                            e
                        })
                    }
                };
                let value = self.get_env(&name);
                let set = value.is_some();
                if self.lex.skip_unset_env && !set {
                    return Ok(format!("${{{name}{chs}{word}}}"));
                }
                let value = value.unwrap_or_default();
                match ch {
                    Some('-') => Ok(if !set || (null_is_unset && value.is_empty()) { word } else { value }),
                    Some('+') => Ok(if !set || (null_is_unset && value.is_empty()) { String::new() } else { word }),
                    Some('?') => {
                        if !set {
                            let msg = if word.is_empty() { "is not allowed to be unset".into() } else { word };
                            return Err(format!("{name}: {msg}"));
                        }
                        if null_is_unset && value.is_empty() {
                            let msg = if word.is_empty() { "is not allowed to be empty".into() } else { word };
                            return Err(format!("{name}: {msg}"));
                        }
                        Ok(value)
                    }
                    Some(c @ ('%' | '#')) => {
                        let (greedy, pattern) = match word.strip_prefix(c) {
                            Some(rest) => (true, rest.to_string()),
                            None => (false, word),
                        };
                        if c == '%' {
                            trim_suffix(&pattern, &value, greedy)
                        } else {
                            trim_prefix(&pattern, &value, greedy)
                        }
                    }
                    _ => Err(format!("unsupported modifier ({chs}) in substitution")),
                }
            }
            Some('/') => {
                let replace_all = self.peek() == Some('/');
                if replace_all {
                    self.pos += 1;
                }
                let pattern = match self.stop_on(Some('/'), true) {
                    Ok((w, _)) => w,
                    Err(e) => {
                        return Err(if self.peek().is_none() && !self.limit_hit {
                            "syntax error: missing '/' in ${}".into()
                        } else {
                            e
                        })
                    }
                };
                let replacement = match self.stop_on(Some('}'), true) {
                    Ok((w, _)) => w,
                    Err(e) => {
                        return Err(if self.peek().is_none() && !self.limit_hit {
                            "syntax error: missing '}'".into()
                        } else {
                            e
                        })
                    }
                };
                let value = self.get_env(&name);
                if self.lex.skip_unset_env && value.is_none() {
                    return Ok(format!("${{{name}/{pattern}/{replacement}}}"));
                }
                let value = value.unwrap_or_default();
                let re = shell_pattern_regex(&pattern, true, false)
                    .map_err(|e| format!("invalid pattern ({pattern}) in substitution: {e}"))?;
                if replace_all {
                    match re.replace_all(&value, &replacement, MAX_EXPANSION_BYTES) {
                        Some(v) => Ok(v),
                        None => {
                            self.limit_hit = true;
                            Err(format!("expansion longer than {MAX_EXPANSION_BYTES} bytes"))
                        }
                    }
                } else {
                    Ok(match re.find_at(&value, 0) {
                        Some((a, b)) => format!("{}{replacement}{}", &value[..a], &value[b..]),
                        None => value,
                    })
                }
            }
            _ => Err(format!("unsupported modifier ({chs}) in substitution")),
        }
    }
}

/// BuildKit's `convertShellPatternToRegex`: `*` is any string (longest or shortest), `?` one
/// character, `\` escapes `*`, `?` and `\` (and is dropped before `}` and `/`); no brackets.
fn shell_pattern_regex(pattern: &str, greedy: bool, anchored: bool) -> Result<Regex, String> {
    let mut chars = pattern.chars().peekable();
    if chars.peek() == Some(&'\u{feff}') {
        chars.next();
    }
    let mut out = String::with_capacity(pattern.len() + 4);
    if anchored {
        out.push('^');
    }
    let star = if greedy { ".*" } else { ".*?" };
    while let Some(tok) = chars.next() {
        match tok {
            '*' => out.push_str(star),
            '?' => out.push('.'),
            '\\' => {
                if matches!(chars.peek(), Some('}' | '/')) {
                    continue;
                }
                out.push('\\');
                let t = chars.next();
                match t {
                    Some(c @ ('*' | '?' | '\\')) => out.push(c),
                    _ => return Err(format!("invalid escape '\\{}'", rune_str(t))),
                }
            }
            '[' | ']' | '{' | '}' | '.' | '+' | '(' | ')' | '|' | '^' | '$' => {
                out.push('\\');
                out.push(tok);
            }
            c => out.push(c),
        }
    }
    Regex::new(&out).map_err(|_| "error parsing regexp".to_string())
}

fn trim_prefix(pattern: &str, value: &str, greedy: bool) -> Result<String, String> {
    let re = shell_pattern_regex(pattern, greedy, true)
        .map_err(|e| format!("invalid pattern ({pattern}) in substitution: {e}"))?;
    Ok(match re.find_at(value, 0) {
        Some((_, end)) => value[end..].to_string(),
        None => value.to_string(),
    })
}

/// Reverses a pattern keeping escape pairs in order (`a\*c` → `c\*a`).
fn reverse_pattern(pattern: &str) -> String {
    let runes: Vec<char> = pattern.chars().collect();
    if runes.is_empty() {
        return String::new();
    }
    let last = runes.len() - 1;
    let mut out = vec!['\0'; runes.len()];
    let mut i = 0;
    while i <= last {
        let tok = runes[i];
        let o = last - i;
        if tok == '\\' && i != last {
            out[o - 1] = tok;
            out[o] = runes[i + 1];
            i += 2;
        } else {
            out[o] = tok;
            i += 1;
        }
    }
    out.into_iter().collect()
}

fn trim_suffix(pattern: &str, value: &str, greedy: bool) -> Result<String, String> {
    let pattern = reverse_pattern(pattern);
    let value: String = value.chars().rev().collect();
    let s = trim_prefix(&pattern, &value, greedy)?;
    Ok(s.chars().rev().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_pattern_like_buildkit() {
        // BuildKit's lex_test.go TestReversePattern.
        for (i, o) in [
            ("a\\*c", "c\\*a"),
            ("\\\\\\ab", "b\\a\\\\"),
            ("ab\\", "\\ba"),
            ("👽\\🚀🖖", "🖖\\🚀👽"),
            ("\\\\b", "b\\\\"),
        ] {
            assert_eq!(reverse_pattern(i), o, "{i}");
        }
    }
}
