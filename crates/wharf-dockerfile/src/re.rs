//! A small regular-expression engine for the Go (RE2) syntax BuildKit and moby's patternmatcher
//! generate: `.dockerignore` patterns and `${VAR#pattern}` are translated to Go regexps, with
//! user text passed through (`[...]` classes, `\d`-style escapes, a stray `^`), so their meaning
//! is Go's regexp meaning. Supported: literals, `.`, `^`, `$`, classes (ranges, negation, POSIX
//! and Perl classes), groups, `|`, `*` `+` `?` `{n,m}` (greedy and lazy), `\b` `\B` `\A` `\z`,
//! `\Q…\E`, `\x..`, octal. Not supported (compile error): `\p{…}` Unicode classes and `(?…)`
//! flag groups — neither can come out of the generators without being escaped first.
//!
//! Matching is a Pike VM with thread priorities, so `find_at` returns Go's leftmost-first match
//! in `O(text × program)` time: no backtracking blow-up on any input.

/// A compiled program.
#[derive(Debug, Clone)]
pub(crate) struct Regex {
    prog: Vec<Inst>,
    classes: Vec<Class>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Look {
    BeginText,
    EndText,
    WordBoundary,
    NotWordBoundary,
}

#[derive(Debug, Clone)]
enum Inst {
    Char(char),
    Class(usize),
    AnyNotNl,
    Split(usize, usize),
    Jmp(usize),
    Assert(Look),
    Match,
}

/// A character class as sorted, merged ranges of code points.
#[derive(Debug, Clone, Default)]
struct Class {
    ranges: Vec<(u32, u32)>,
    negated: bool,
}

impl Class {
    fn matches(&self, c: char) -> bool {
        let u = c as u32;
        let inside = self.ranges.iter().any(|&(lo, hi)| lo <= u && u <= hi);
        inside != self.negated
    }
}

#[derive(Debug, Clone)]
enum Ast {
    Empty,
    Lit(char),
    Class(Class),
    Dot,
    Look(Look),
    Concat(Vec<Ast>),
    Alt(Vec<Ast>),
    Rep { sub: Box<Ast>, min: u32, max: Option<u32>, greedy: bool },
}

/// The compile error (its text never reaches users: callers map it to their own error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReError;

const MAX_GROUP_DEPTH: usize = 256;
const MAX_REPEAT: u32 = 1000;
const MAX_PROG: usize = 1 << 20;

struct Parser {
    s: Vec<char>,
    i: usize,
}

fn perl_class(c: char) -> Option<(Vec<(u32, u32)>, bool)> {
    let digit = vec![(u32::from(b'0'), u32::from(b'9'))];
    let space = vec![(9, 10), (12, 13), (32, 32)];
    let word = vec![(48, 57), (65, 90), (95, 95), (97, 122)];
    Some(match c {
        'd' => (digit, false),
        'D' => (digit, true),
        's' => (space, false),
        'S' => (space, true),
        'w' => (word, false),
        'W' => (word, true),
        _ => return None,
    })
}

fn posix_class(name: &str) -> Option<Vec<(u32, u32)>> {
    Some(match name {
        "alnum" => vec![(48, 57), (65, 90), (97, 122)],
        "alpha" => vec![(65, 90), (97, 122)],
        "ascii" => vec![(0, 127)],
        "blank" => vec![(9, 9), (32, 32)],
        "cntrl" => vec![(0, 31), (127, 127)],
        "digit" => vec![(48, 57)],
        "graph" => vec![(33, 126)],
        "lower" => vec![(97, 122)],
        "print" => vec![(32, 126)],
        "punct" => vec![(33, 47), (58, 64), (91, 96), (123, 126)],
        "space" => vec![(9, 13), (32, 32)],
        "upper" => vec![(65, 90)],
        "word" => vec![(48, 57), (65, 90), (95, 95), (97, 122)],
        "xdigit" => vec![(48, 57), (65, 70), (97, 102)],
        _ => return None,
    })
}

fn complement(ranges: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable();
    let mut out = Vec::new();
    let mut next = 0u32;
    for (lo, hi) in sorted {
        if lo > next {
            out.push((next, lo - 1));
        }
        next = next.max(hi.saturating_add(1));
    }
    if next <= 0x10ffff {
        out.push((next, 0x10ffff));
    }
    out
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        self.s.get(self.i + k).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.i += 1;
        }
        c
    }

    fn alt(&mut self, depth: usize) -> Result<Ast, ReError> {
        let mut alts = vec![self.concat(depth)?];
        while self.peek() == Some('|') {
            self.i += 1;
            alts.push(self.concat(depth)?);
        }
        Ok(if alts.len() == 1 { alts.pop().unwrap_or(Ast::Empty) } else { Ast::Alt(alts) })
    }

    /// `{n}`, `{n,}` or `{n,m}` at the cursor, if that is what is there.
    fn repeat_spec(&self) -> Option<(u32, Option<u32>, usize)> {
        let mut k = 1;
        let num = |k: &mut usize| -> Option<u32> {
            let start = *k;
            let mut v: u32 = 0;
            while let Some(d) = self.peek_at(*k).and_then(|c| c.to_digit(10)) {
                v = v.saturating_mul(10).saturating_add(d);
                *k += 1;
            }
            (*k > start).then_some(v)
        };
        let min = num(&mut k)?;
        let max = match self.peek_at(k)? {
            '}' => Some(min),
            ',' => {
                k += 1;
                if self.peek_at(k)? == '}' {
                    None
                } else {
                    let m = num(&mut k)?;
                    if self.peek_at(k)? != '}' {
                        return None;
                    }
                    Some(m)
                }
            }
            _ => return None,
        };
        Some((min, max, k + 1))
    }

    fn concat(&mut self, depth: usize) -> Result<Ast, ReError> {
        let mut items: Vec<Ast> = Vec::new();
        let mut last_rep = false;
        while let Some(c) = self.peek() {
            let rep = match c {
                '|' | ')' => break,
                '*' | '+' | '?' => {
                    self.i += 1;
                    Some(match c {
                        '*' => (0, None),
                        '+' => (1, None),
                        _ => (0, Some(1)),
                    })
                }
                '{' => match self.repeat_spec() {
                    Some((min, max, len)) => {
                        if min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT || m < min) {
                            return Err(ReError);
                        }
                        self.i += len;
                        Some((min, max))
                    }
                    None => None,
                },
                _ => None,
            };
            if let Some((min, max)) = rep {
                if last_rep {
                    return Err(ReError);
                }
                let sub = items.pop().ok_or(ReError)?;
                let greedy = if self.peek() == Some('?') {
                    self.i += 1;
                    false
                } else {
                    true
                };
                items.push(Ast::Rep { sub: Box::new(sub), min, max, greedy });
                last_rep = true;
                continue;
            }
            last_rep = false;
            self.i += 1;
            let item = match c {
                '(' => {
                    if self.peek() == Some('?') || depth >= MAX_GROUP_DEPTH {
                        return Err(ReError);
                    }
                    let sub = self.alt(depth + 1)?;
                    if self.next() != Some(')') {
                        return Err(ReError);
                    }
                    sub
                }
                '[' => Ast::Class(self.class()?),
                '.' => Ast::Dot,
                '^' => Ast::Look(Look::BeginText),
                '$' => Ast::Look(Look::EndText),
                '\\' => {
                    let Some(e) = self.peek() else { return Err(ReError) };
                    match e {
                        'b' | 'B' | 'A' | 'z' => {
                            self.i += 1;
                            Ast::Look(match e {
                                'b' => Look::WordBoundary,
                                'B' => Look::NotWordBoundary,
                                'A' => Look::BeginText,
                                _ => Look::EndText,
                            })
                        }
                        'Q' => {
                            self.i += 1;
                            let mut lits = Vec::new();
                            while let Some(c) = self.next() {
                                if c == '\\' && self.peek() == Some('E') {
                                    self.i += 1;
                                    break;
                                }
                                lits.push(Ast::Lit(c));
                            }
                            Ast::Concat(lits)
                        }
                        _ => {
                            if let Some((ranges, negated)) = perl_class(e) {
                                self.i += 1;
                                Ast::Class(Class { ranges, negated })
                            } else {
                                let r = self.escape()?;
                                char::from_u32(r).map_or(Ast::Class(Class::default()), Ast::Lit)
                            }
                        }
                    }
                }
                c => Ast::Lit(c),
            };
            items.push(item);
        }
        Ok(match items.len() {
            0 => Ast::Empty,
            1 => items.pop().unwrap_or(Ast::Empty),
            _ => Ast::Concat(items),
        })
    }

    /// An escape after the backslash (Go's `parseEscape`), as a code point (which may be a
    /// surrogate, matching nothing).
    fn escape(&mut self) -> Result<u32, ReError> {
        let c = self.next().ok_or(ReError)?;
        let r: u32 = match c {
            '1'..='7' | '0' => {
                if c != '0' && !self.peek().is_some_and(|d| ('0'..='7').contains(&d)) {
                    return Err(ReError);
                }
                let mut r = c as u32 - '0' as u32;
                for _ in 1..3 {
                    match self.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            r = r * 8 + d;
                            self.i += 1;
                        }
                        None => break,
                    }
                }
                r
            }
            'x' => {
                let c = self.next().ok_or(ReError)?;
                if c == '{' {
                    let mut r: u32 = 0;
                    let mut n = 0;
                    loop {
                        let c = self.next().ok_or(ReError)?;
                        if c == '}' {
                            break;
                        }
                        r = r * 16 + c.to_digit(16).ok_or(ReError)?;
                        if r > 0x10ffff {
                            return Err(ReError);
                        }
                        n += 1;
                    }
                    if n == 0 {
                        return Err(ReError);
                    }
                    r
                } else {
                    let x = c.to_digit(16);
                    let y = self.next().and_then(|c| c.to_digit(16));
                    match (x, y) {
                        (Some(x), Some(y)) => x * 16 + y,
                        _ => return Err(ReError),
                    }
                }
            }
            'a' => 7,
            'f' => 12,
            't' => 9,
            'n' => 10,
            'r' => 13,
            'v' => 11,
            c if c.is_ascii() && !c.is_ascii_alphanumeric() => c as u32,
            _ => return Err(ReError),
        };
        Ok(r)
    }

    fn class(&mut self) -> Result<Class, ReError> {
        let mut cls = Class::default();
        if self.peek() == Some('^') {
            self.i += 1;
            cls.negated = true;
        }
        let mut first = true;
        loop {
            let c = self.peek().ok_or(ReError)?;
            if c == ']' && !first {
                self.i += 1;
                break;
            }
            first = false;
            // POSIX class: [:name:] / [:^name:].
            if c == '[' && self.peek_at(1) == Some(':') {
                let rest: String = self.s[self.i + 2..].iter().collect();
                if let Some(end) = rest.find(":]") {
                    let name = &rest[..end];
                    let (neg, name) = match name.strip_prefix('^') {
                        Some(n) => (true, n),
                        None => (false, name),
                    };
                    let ranges = posix_class(name).ok_or(ReError)?;
                    let ranges = if neg { complement(&ranges) } else { ranges };
                    cls.ranges.extend(ranges);
                    self.i += 2 + rest[..end].chars().count() + 2;
                    continue;
                }
            }
            if c == '\\' {
                if let Some((ranges, negated)) = self.peek_at(1).and_then(perl_class) {
                    self.i += 2;
                    cls.ranges.extend(if negated { complement(&ranges) } else { ranges });
                    continue;
                }
            }
            let lo = self.class_char()?;
            let mut hi = lo;
            if self.peek() == Some('-') && self.peek_at(1).is_some_and(|c| c != ']') {
                self.i += 1;
                hi = self.class_char()?;
                if hi < lo {
                    return Err(ReError);
                }
            }
            cls.ranges.push((lo, hi));
        }
        Ok(cls)
    }

    fn class_char(&mut self) -> Result<u32, ReError> {
        match self.next().ok_or(ReError)? {
            '\\' => self.escape(),
            c => Ok(c as u32),
        }
    }
}

struct Compiler {
    prog: Vec<Inst>,
    classes: Vec<Class>,
}

impl Compiler {
    fn push(&mut self, i: Inst) -> Result<usize, ReError> {
        if self.prog.len() >= MAX_PROG {
            return Err(ReError);
        }
        self.prog.push(i);
        Ok(self.prog.len() - 1)
    }

    fn emit(&mut self, ast: &Ast) -> Result<(), ReError> {
        match ast {
            Ast::Empty => {}
            Ast::Lit(c) => {
                self.push(Inst::Char(*c))?;
            }
            Ast::Class(c) => {
                self.classes.push(c.clone());
                self.push(Inst::Class(self.classes.len() - 1))?;
            }
            Ast::Dot => {
                self.push(Inst::AnyNotNl)?;
            }
            Ast::Look(l) => {
                self.push(Inst::Assert(*l))?;
            }
            Ast::Concat(items) => {
                for a in items {
                    self.emit(a)?;
                }
            }
            Ast::Alt(alts) => {
                let mut jumps = Vec::new();
                for (k, a) in alts.iter().enumerate() {
                    if k + 1 < alts.len() {
                        let split = self.push(Inst::Split(0, 0))?;
                        self.emit(a)?;
                        jumps.push(self.push(Inst::Jmp(0))?);
                        let next = self.prog.len();
                        self.prog[split] = Inst::Split(split + 1, next);
                    } else {
                        self.emit(a)?;
                    }
                }
                let end = self.prog.len();
                for j in jumps {
                    self.prog[j] = Inst::Jmp(end);
                }
            }
            Ast::Rep { sub, min, max, greedy } => {
                for _ in 0..*min {
                    self.emit(sub)?;
                }
                match max {
                    None => {
                        let split = self.push(Inst::Split(0, 0))?;
                        self.emit(sub)?;
                        self.push(Inst::Jmp(split))?;
                        let end = self.prog.len();
                        self.prog[split] =
                            if *greedy { Inst::Split(split + 1, end) } else { Inst::Split(end, split + 1) };
                    }
                    Some(m) => {
                        let mut splits = Vec::new();
                        for _ in *min..*m {
                            splits.push(self.push(Inst::Split(0, 0))?);
                            self.emit(sub)?;
                        }
                        let end = self.prog.len();
                        for s in splits {
                            self.prog[s] = if *greedy { Inst::Split(s + 1, end) } else { Inst::Split(end, s + 1) };
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Regex {
    /// Compiles a Go regexp (the subset described in the module doc).
    pub(crate) fn new(pattern: &str) -> Result<Regex, ReError> {
        let mut p = Parser { s: pattern.chars().collect(), i: 0 };
        let ast = p.alt(0)?;
        if p.i != p.s.len() {
            // A `)` without its `(`.
            return Err(ReError);
        }
        let mut c = Compiler { prog: Vec::new(), classes: Vec::new() };
        c.emit(&ast)?;
        c.push(Inst::Match)?;
        Ok(Regex { prog: c.prog, classes: c.classes })
    }

    /// Go's `MatchString`.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        self.find_at(text, 0).is_some()
    }

    /// The leftmost-first match starting at or after byte offset `start` (Go's
    /// `FindStringIndex` on `text[start..]`, but with `text` as the context for `^` and `\b`).
    pub(crate) fn find_at(&self, text: &str, start: usize) -> Option<(usize, usize)> {
        if start > text.len() || !text.is_char_boundary(start) {
            return None;
        }
        // Walk the text lazily: a search that ends early (a match found, no thread left) never
        // looks at the rest, so repeated searches (`replace_all`) stay linear.
        let mut it = text[start..].char_indices().map(|(i, c)| (i + start, c)).peekable();
        let n = self.prog.len();
        let mut mark = vec![0u32; n];
        let mut gen = 1u32;
        let mut clist: Vec<(usize, usize)> = Vec::new();
        let mut nlist: Vec<(usize, usize)> = Vec::new();
        let mut stack: Vec<usize> = Vec::new();
        let mut matched: Option<(usize, usize)> = None;
        let mut prev = text[..start].chars().next_back();
        loop {
            let (pos, cur) = match it.peek() {
                Some(&(i, c)) => (i, Some(c)),
                None => (text.len(), None),
            };
            if matched.is_none() {
                self.add(&mut clist, &mut mark, gen, &mut stack, 0, pos, (pos, text.len(), prev, cur));
            }
            if clist.is_empty() {
                break;
            }
            it.next();
            gen += 1;
            let (npos, ncur) = match it.peek() {
                Some(&(i, c)) => (i, Some(c)),
                None => (text.len(), None),
            };
            for &(pc, st) in &clist {
                let ok = match &self.prog[pc] {
                    Inst::Match => {
                        matched = Some((st, pos));
                        break;
                    }
                    Inst::Char(c) => cur == Some(*c),
                    Inst::Class(ci) => cur.is_some_and(|c| self.classes[*ci].matches(c)),
                    Inst::AnyNotNl => cur.is_some_and(|c| c != '\n'),
                    _ => false,
                };
                if ok {
                    self.add(&mut nlist, &mut mark, gen, &mut stack, pc + 1, st, (npos, text.len(), cur, ncur));
                }
            }
            std::mem::swap(&mut clist, &mut nlist);
            nlist.clear();
            if cur.is_none() {
                break;
            }
            prev = cur;
        }
        matched
    }

    /// Adds the thread at `pc` (started at `st`) and its ε-closure to `list`, in priority order.
    /// `at` is (position, text length, char before, char at).
    #[allow(clippy::too_many_arguments)]
    fn add(
        &self,
        list: &mut Vec<(usize, usize)>,
        mark: &mut [u32],
        gen: u32,
        stack: &mut Vec<usize>,
        pc: usize,
        st: usize,
        at: (usize, usize, Option<char>, Option<char>),
    ) {
        let (pos, len, prev, cur) = at;
        stack.clear();
        stack.push(pc);
        while let Some(pc) = stack.pop() {
            if mark[pc] == gen {
                continue;
            }
            mark[pc] = gen;
            match &self.prog[pc] {
                Inst::Jmp(x) => stack.push(*x),
                Inst::Split(x, y) => {
                    stack.push(*y);
                    stack.push(*x);
                }
                Inst::Assert(l) => {
                    let holds = match l {
                        Look::BeginText => pos == 0,
                        Look::EndText => pos == len,
                        Look::WordBoundary => is_word(prev) != is_word(cur),
                        Look::NotWordBoundary => is_word(prev) == is_word(cur),
                    };
                    if holds {
                        stack.push(pc + 1);
                    }
                }
                _ => list.push((pc, st)),
            }
        }
    }

    /// Go's `ReplaceAllString` (with `$`-template expansion of `repl`; only group 0 exists);
    /// `None` once the result would pass `limit` bytes.
    pub(crate) fn replace_all(&self, src: &str, repl: &str, limit: usize) -> Option<String> {
        let mut out = String::new();
        let mut last_end = 0;
        let mut search = 0;
        while search <= src.len() {
            let Some((a, b)) = self.find_at(src, search) else { break };
            out.push_str(&src[last_end..a]);
            if b > last_end || a == 0 {
                expand_template(&mut out, repl, &src[a..b]);
            }
            if out.len() > limit {
                return None;
            }
            last_end = b;
            let width = src[search..].chars().next().map_or(0, char::len_utf8);
            if search + width > b {
                search += width;
            } else if search + 1 > b {
                search += 1;
            } else {
                search = b;
            }
        }
        out.push_str(&src[last_end..]);
        (out.len() <= limit).then_some(out)
    }
}

/// Go's `Regexp.Expand` for a regexp without capture groups: `$$` is `$`, `$0`/`${0}` the whole
/// match, any other valid reference empty, a malformed `$` literal.
fn expand_template(out: &mut String, template: &str, whole: &str) {
    let mut t = template;
    while let Some(i) = t.find('$') {
        out.push_str(&t[..i]);
        t = &t[i + 1..];
        if let Some(rest) = t.strip_prefix('$') {
            out.push('$');
            t = rest;
            continue;
        }
        let (brace, body) = match t.strip_prefix('{') {
            Some(b) => (true, b),
            None => (false, t),
        };
        let name_len: usize = body.chars().take_while(|c| c.is_alphanumeric() || *c == '_').map(char::len_utf8).sum();
        if name_len == 0 || (brace && !body[name_len..].starts_with('}')) {
            out.push('$');
            continue;
        }
        let name = &body[..name_len];
        t = &body[name_len + usize::from(brace)..];
        let is_num = name.bytes().all(|b| b.is_ascii_digit()) && !(name.starts_with('0') && name.len() > 1);
        if is_num && name.len() < 9 && name.parse::<u32>() == Ok(0) {
            out.push_str(whole);
        }
    }
    out.push_str(t);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(p: &str, t: &str) -> Option<(usize, usize)> {
        Regex::new(p).unwrap().find_at(t, 0)
    }

    #[test]
    fn leftmost_first() {
        assert_eq!(find("a*", "aaa"), Some((0, 3)));
        assert_eq!(find("a*?", "aaa"), Some((0, 0)));
        assert_eq!(find("^.*?b", "abab"), Some((0, 2)));
        assert_eq!(find("^.*b", "abab"), Some((0, 4)));
        assert_eq!(find("b", "abab"), Some((1, 2)));
        assert_eq!(find("x|xy", "xy"), Some((0, 1)));
        assert_eq!(find("^(.*/)?c$", "a/b/c"), Some((0, 5)));
        assert_eq!(find("^a[^/]*$", "a/b"), None);
        assert_eq!(find(".", "\n"), None);
        assert_eq!(find("[^/]", "\n"), Some((0, 1)));
        assert_eq!(find("^a\\d$", "a5"), Some((0, 2)));
        assert_eq!(find("\\bfoo\\b", "a foo b"), Some((2, 5)));
        assert_eq!(find("[[:alpha:]]+", "12ab3"), Some((2, 4)));
        assert_eq!(find("[]a]+", "x]a]"), Some((1, 4)));
        assert_eq!(find("\\x41\\101\\x{42}", "AAB"), Some((0, 3)));
        assert_eq!(find("a{2,3}", "aaaa"), Some((0, 3)));
        assert_eq!(find("a{,2}", "a{,2}"), Some((0, 5)));
        assert_eq!(find("\\Qa.b\\E", "axb a.b"), Some((4, 7)));
        assert_eq!(find("^^a", "a"), Some((0, 1)));
    }

    #[test]
    fn go_compile_errors() {
        for p in ["a**", "*a", "(a", "a)", "[a", "[z-a]", "\\1", "\\y", "\\", "[[:foo:]]", "a{1001}", "(?i)a", "\\pL"] {
            assert!(Regex::new(p).is_err(), "{p}");
        }
        assert!(Regex::new("(a*)*").is_ok());
        assert!(Regex::new("^*").is_ok());
    }

    #[test]
    fn replace_all_like_go() {
        let r = |re: &Regex, s: &str, t: &str| re.replace_all(s, t, usize::MAX).unwrap();
        let re = Regex::new("a*").unwrap();
        assert_eq!(r(&re, "baaac", "X"), "XbXcX");
        let re = Regex::new("o").unwrap();
        assert_eq!(r(&re, "foo", "[$0]"), "f[o][o]");
        assert_eq!(r(&re, "foo", "$$"), "f$$");
        assert_eq!(r(&re, "foo", "$1x"), "f");
        assert_eq!(r(&re, "foo", "${1}x"), "fxx");
        assert_eq!(r(&re, "foo", "$"), "f$$");
        assert_eq!(re.replace_all("foo", "xyz", 5), None);
    }

    #[test]
    fn no_blowup() {
        let p = "^(.*/)?".repeat(200) + "x$";
        let re = Regex::new(&p).unwrap();
        let text = "a/".repeat(2000);
        assert!(!re.is_match(&text));
    }
}
