//! The Dockerfile parser: bytes → AST, as BuildKit's `frontend/dockerfile/parser` does it.
//!
//! Line handling (`Parse`): a byte order mark on the first line is dropped; parser directives
//! are read while they last; comment lines are skipped (and remembered as the next
//! instruction's `prev_comment`); an escape token at the end of a line (optionally followed by
//! spaces or tabs) continues the instruction on the next line, whose leading whitespace is
//! kept; comment lines inside a continuation are skipped, empty ones too (with a warning);
//! each instruction is split into its name, its `--flags` (`extractBuilderFlags`) and its
//! arguments, which the per-instruction dispatch table turns into the AST; RUN, COPY and ADD
//! (also under ONBUILD) read heredoc bodies from the following lines.

use crate::directives::{Directive, DirectiveParser};
use crate::error::{Error, Location};
use crate::gostr::{go_quote, is_space, is_space_byte, split_ws, to_lower, trim_left_space, trim_space};
use crate::json::{self, JsonArray};
use crate::shell::{Lex, NoEnv};

/// BuildKit's limit on a physical line (Go's `bufio.MaxScanTokenSize - 1`).
pub const MAX_LINE_BYTES: usize = 65535;
/// Our bound on a whole Dockerfile (heredoc bodies included).
pub const MAX_DOCKERFILE_BYTES: usize = 16 << 20;
/// Our bound on one instruction once its continuation lines are joined.
pub const MAX_INSTRUCTION_BYTES: usize = 1 << 20;
/// Our bound on the number of instructions.
pub const MAX_INSTRUCTIONS: usize = 100_000;
/// Our bound on `ONBUILD ONBUILD …` nesting in the AST (the instructions layer refuses any).
pub const MAX_ONBUILD_DEPTH: usize = 32;

/// BuildKit's default escape token.
pub const DEFAULT_ESCAPE_TOKEN: char = '\\';

/// A heredoc attached to an instruction (`<<EOF` … `EOF`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The terminator word, quotes removed.
    pub name: String,
    /// The file descriptor before `<<` (`3<<EOF`), 0 when absent.
    pub file_descriptor: u64,
    /// False when the word was quoted (`<<'EOF'`, `<<"EOF"`): the body is not expanded.
    pub expand: bool,
    /// `<<-`: leading tabs are stripped from the body (by the consumer) and the terminator.
    pub chomp: bool,
    /// The body, lines with their original endings.
    pub content: String,
}

/// One element of a node's argument list (BuildKit's `Next` chain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// A plain value.
    Value(String),
    /// A nested instruction (only `ONBUILD` has one).
    Instruction(Box<Node>),
}

/// An instruction (BuildKit's `Node` as a child of the root).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node {
    /// The instruction name as written (`FROM`, `run` …).
    pub value: String,
    /// `--flags` before the arguments, as written (`--from=build`).
    pub flags: Vec<String>,
    /// The arguments, as the instruction's line parser split them.
    pub next: Vec<Arg>,
    /// Whether the arguments were a JSON array (exec form).
    pub json: bool,
    /// Heredoc bodies, in order.
    pub heredocs: Vec<Heredoc>,
    /// The instruction's joined line.
    pub original: String,
    /// First line (1-based; 0 for an `ONBUILD` trigger).
    pub start_line: usize,
    /// Last line, heredoc bodies included.
    pub end_line: usize,
    /// Comment lines directly above (without `#`), directives excluded.
    pub prev_comment: Vec<String>,
}

/// The parsed Dockerfile (BuildKit's root `Node`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ast {
    /// The instructions.
    pub children: Vec<Node>,
    /// First line of the first instruction.
    pub start_line: usize,
    /// Last line of the last instruction.
    pub end_line: usize,
}

/// A parse warning (BuildKit's `parser.Warning`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The one-line text.
    pub short: String,
    /// The explanation.
    pub detail: String,
    /// The rule's documentation.
    pub url: String,
    /// Where.
    pub location: Location,
}

/// What [`parse`] returns (BuildKit's `parser.Result`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// The AST.
    pub ast: Ast,
    /// The escape token in effect (`\` or `` ` ``).
    pub escape_token: char,
    /// Warnings (empty continuation lines).
    pub warnings: Vec<Warning>,
    /// The parser directives found at the top.
    pub directives: Vec<Directive>,
}

impl Dockerfile {
    /// The warnings as BuildKit's `PrintWarnings` writes them.
    pub fn format_warnings(&self) -> String {
        let mut out = String::new();
        for w in &self.warnings {
            out.push_str("[WARNING]: ");
            out.push_str(&w.short);
            out.push('\n');
        }
        if !self.warnings.is_empty() {
            out.push_str("[WARNING]: Empty continuation lines will become errors in a future release.\n");
        }
        out
    }

    /// The value of a parser directive (`syntax`, `escape`, `check`), if present.
    pub fn directive(&self, name: &str) -> Option<&str> {
        self.directives.iter().find(|d| d.name == name).map(|d| d.value.as_str())
    }
}

impl Node {
    /// BuildKit's `Node.Dump()` for an instruction: `run "echo hi"`, `copy ["--from=a"] "x" "y"`.
    pub fn dump(&self) -> String {
        let mut s = to_lower(&self.value);
        if !self.flags.is_empty() {
            s.push_str(" [");
            let quoted: Vec<String> = self.flags.iter().map(|f| go_quote(f)).collect();
            s.push_str(&quoted.join(" "));
            s.push(']');
        }
        for a in &self.next {
            s.push(' ');
            match a {
                Arg::Value(v) => s.push_str(&go_quote(v)),
                Arg::Instruction(n) => {
                    let inner = format!("({})\n", n.dump());
                    s.push_str(trim_space(&inner));
                }
            }
        }
        trim_space(&s).to_string()
    }

    /// BuildKit's `nodeArgs`: the arguments as strings (a nested instruction contributes its
    /// name and arguments).
    pub fn args(&self) -> Vec<String> {
        let mut out = Vec::new();
        for a in &self.next {
            match a {
                Arg::Value(v) => out.push(v.clone()),
                Arg::Instruction(n) => {
                    out.push(n.value.clone());
                    out.extend(n.args());
                }
            }
        }
        out
    }

    /// The lines of this instruction.
    pub fn location(&self) -> Location {
        Location::new(self.start_line, self.end_line)
    }

    /// BuildKit's `canContainHeredoc`.
    fn can_contain_heredoc(&self) -> bool {
        let mut node = self;
        if to_lower(&node.value) == "onbuild" {
            if let Some(Arg::Instruction(n)) = node.next.first() {
                node = n;
            }
        }
        matches!(to_lower(&node.value).as_str(), "add" | "copy" | "run") && !node.json
    }
}

impl Ast {
    /// BuildKit's `Node.Dump()` of the root: one `(instruction …)` per line.
    pub fn dump(&self) -> String {
        let mut s = String::new();
        for c in &self.children {
            s.push('(');
            s.push_str(&c.dump());
            s.push_str(")\n");
        }
        trim_space(&s).to_string()
    }
}

/// The parser's state for directives and the escape token (BuildKit's `directives`).
struct State {
    parser: DirectiveParser,
    escape: char,
    found: Vec<Directive>,
}

impl State {
    fn set_escape_token(&mut self, s: &str) -> Result<(), Error> {
        if s != "`" && s != "\\" {
            return Err(Error::syntax(format!("invalid escape token '{s}' does not match ` or \\")));
        }
        self.escape = s.chars().next().unwrap_or(DEFAULT_ESCAPE_TOKEN);
        Ok(())
    }

    fn possible_directive(&mut self, line: &str, line_no: usize) -> Result<bool, Error> {
        let Some(mut d) = self.parser.parse_line(line)? else { return Ok(false) };
        d.line = line_no;
        if d.name == "escape" {
            self.set_escape_token(&d.value)?;
        }
        self.found.push(d);
        Ok(true)
    }

    /// BuildKit's `lineContinuationRegex`: `([^E])E[ \t]*$|^E[ \t]*$` replaced by `$1`.
    fn trim_continuation<'a>(&self, line: &'a str) -> (&'a str, bool) {
        let body = line.trim_end_matches([' ', '\t']);
        let Some(before) = body.strip_suffix(self.escape) else { return (line, true) };
        match before.chars().next_back() {
            None => ("", false),
            Some(c) if c == self.escape => (line, true),
            Some(_) => (before, false),
        }
    }
}

fn trim_newline(s: &str) -> &str {
    s.trim_end_matches(['\r', '\n'])
}

fn is_comment(line: &str) -> bool {
    trim_left_space(line).starts_with('#')
}

/// BuildKit's `processLine`: the line without its newline (and leading whitespace for the first
/// line of an instruction), comments removed, after the directive check.
fn process_line<'a>(
    st: &mut State,
    token: &'a str,
    strip_left: bool,
    line_no: usize,
) -> Result<(&'a str, bool), Error> {
    let mut token = trim_newline(token);
    if strip_left {
        token = trim_left_space(token);
    }
    let ok = st.possible_directive(token, line_no)?;
    Ok((if is_comment(token) { "" } else { token }, ok))
}

/// Parses a Dockerfile given as bytes. Invalid UTF-8 is replaced with U+FFFD (BuildKit keeps
/// the raw bytes; no valid Dockerfile is affected).
pub fn parse_bytes(src: &[u8]) -> Result<Dockerfile, Error> {
    if src.len() > MAX_DOCKERFILE_BYTES {
        return Err(too_large(src.len()));
    }
    parse(&String::from_utf8_lossy(src))
}

fn too_large(n: usize) -> Error {
    Error::limit(format!("dockerfile is {n} bytes, more than the {MAX_DOCKERFILE_BYTES} bytes allowed"))
}

/// Parses a Dockerfile (BuildKit's `parser.Parse`).
pub fn parse(src: &str) -> Result<Dockerfile, Error> {
    if src.len() > MAX_DOCKERFILE_BYTES {
        return Err(too_large(src.len()));
    }
    let mut lines = Lines { src, pos: 0, index: 0 };
    let mut st = State { parser: DirectiveParser::new(0), escape: DEFAULT_ESCAPE_TOKEN, found: Vec::new() };
    let mut ast = Ast::default();
    let mut first_line: Option<usize> = None;
    let mut warnings = Vec::new();
    let mut comments: Vec<String> = Vec::new();
    let mut current = 0usize;
    while let Some(mut raw) = lines.next()? {
        if current == 0 {
            raw = raw.strip_prefix('\u{feff}').unwrap_or(raw);
        }
        if is_comment(raw) {
            // BuildKit drops the first byte, whatever it is, then trims.
            let comment = trim_space(raw.get(1..).unwrap_or_else(|| skip_first_char(raw)));
            if comment.is_empty() {
                comments.clear();
            } else {
                comments.push(comment.to_string());
            }
        }
        let (bytes_read, directive_ok) = process_line(&mut st, raw, true, current + 1).map_err(|e| e.at(current, 0))?;
        if directive_ok {
            comments.pop();
        }
        current += 1;
        let start_line = current;
        let (first, mut end_of_line) = st.trim_continuation(bytes_read);
        if end_of_line && first.is_empty() {
            continue;
        }
        let mut line = first.to_string();
        let mut empty_continuation = false;
        while !end_of_line {
            let Some(raw) = lines.next()? else { break };
            let (bytes_read, _) = process_line(&mut st, raw, false, current + 1).map_err(|e| e.at(current, 0))?;
            current += 1;
            if is_comment(raw) {
                continue;
            }
            if trim_left_space(trim_newline(bytes_read)).is_empty() {
                empty_continuation = true;
                continue;
            }
            let (part, eol) = st.trim_continuation(bytes_read);
            end_of_line = eol;
            line.push_str(part);
            if line.len() > MAX_INSTRUCTION_BYTES {
                return Err(Error::limit(format!("dockerfile instruction longer than {MAX_INSTRUCTION_BYTES} bytes"))
                    .at(start_line, current));
            }
        }
        if empty_continuation {
            warnings.push(Warning {
                short: format!("Empty continuation line found in: {line}"),
                detail: "Empty continuation lines will become errors in a future release".into(),
                url: "https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/".into(),
                location: Location::new(current, current),
            });
        }
        let mut child = node_from_line(&line, st.escape, std::mem::take(&mut comments), 0)
            .map_err(|e| e.at(start_line, current))?;
        if child.can_contain_heredoc() && line.contains("<<") {
            let heredocs = heredocs_from_line(&line).map_err(|e| e.at(start_line, current))?;
            for mut h in heredocs {
                let mut terminated = false;
                while let Some(raw) = lines.next()? {
                    current += 1;
                    let mut t = trim_newline(raw);
                    if h.chomp {
                        t = t.trim_start_matches('\t');
                    }
                    if t == h.name {
                        terminated = true;
                        break;
                    }
                    h.content.push_str(raw);
                }
                if !terminated {
                    return Err(Error::syntax("unterminated heredoc").at(start_line, current));
                }
                child.heredocs.push(h);
            }
        }
        if ast.children.len() >= MAX_INSTRUCTIONS {
            return Err(Error::limit(format!("dockerfile has more than {MAX_INSTRUCTIONS} instructions"))
                .at(start_line, current));
        }
        child.start_line = start_line;
        child.end_line = current;
        if first_line.is_none() {
            first_line = Some(start_line);
        }
        ast.end_line = current;
        ast.children.push(child);
    }
    match first_line {
        None => Err(Error::syntax("file with no instructions").at(current, 0)),
        Some(l) => {
            ast.start_line = l;
            Ok(Dockerfile { ast, escape_token: st.escape, warnings, directives: st.found })
        }
    }
}

/// Physical lines with their terminators (BuildKit's `scanLines`), each within BuildKit's
/// line limit.
struct Lines<'a> {
    src: &'a str,
    pos: usize,
    index: usize,
}

impl<'a> Lines<'a> {
    fn next(&mut self) -> Result<Option<&'a str>, Error> {
        if self.pos >= self.src.len() {
            return Ok(None);
        }
        let rest = &self.src[self.pos..];
        let end = rest.find('\n').map_or(rest.len(), |i| i + 1);
        let line = &rest[..end];
        if line.strip_suffix('\n').unwrap_or(line).len() > MAX_LINE_BYTES {
            return Err(Error::syntax(format!("dockerfile line greater than max allowed size of {MAX_LINE_BYTES}"))
                .at(self.index, 0));
        }
        self.pos += end;
        self.index += 1;
        Ok(Some(line))
    }
}

fn skip_first_char(s: &str) -> &str {
    let mut it = s.chars();
    it.next();
    it.as_str()
}

/// BuildKit's `newNodeFromLine`.
fn node_from_line(line: &str, escape: char, comments: Vec<String>, depth: usize) -> Result<Node, Error> {
    let (cmd, flags, args) = split_command(line);
    let (next, json) = dispatch(&to_lower(&cmd), &args, escape, depth)?;
    Ok(Node { value: cmd, flags, next, json, original: line.to_string(), prev_comment: comments, ..Node::default() })
}

/// BuildKit's `splitCommand`: name, flags, arguments.
fn split_command(line: &str) -> (String, Vec<String>, String) {
    let parts = split_ws(trim_space(line), Some(2));
    let cmd = parts[0].clone();
    if parts.len() == 2 {
        let (args, flags) = extract_builder_flags(parts[1].as_bytes());
        (cmd, flags, trim_space(&args).to_string())
    } else {
        (cmd, Vec::new(), String::new())
    }
}

/// BuildKit's `extractBuilderFlags`. It works byte by byte, as BuildKit's does: a byte is a
/// character (so non-ASCII in a flag comes out as Latin-1 mojibake, exactly like BuildKit's),
/// and bytes 0x85 and 0xA0 count as spaces.
pub(crate) fn extract_builder_flags(line: &[u8]) -> (String, Vec<String>) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut quote = 0u8;
    let mut blank_ok = false;
    let rest = |pos: usize| String::from_utf8_lossy(&line[pos..]).into_owned();
    let mut pos = 0;
    while pos <= line.len() {
        let ch = if pos < line.len() { line[pos] } else { 0 };
        if phase == Phase::Spaces {
            if pos == line.len() {
                break;
            }
            if is_space_byte(ch) {
                pos += 1;
                continue;
            }
            if ch != b'-' || pos + 1 == line.len() || line[pos + 1] != b'-' {
                return (rest(pos), words);
            }
            phase = Phase::Word;
        }
        if (phase == Phase::Word || phase == Phase::Quote) && pos == line.len() {
            if word != "--" && (blank_ok || !word.is_empty()) {
                words.push(word);
            }
            break;
        }
        if phase == Phase::Word {
            if is_space_byte(ch) {
                phase = Phase::Spaces;
                if word == "--" {
                    return (rest(pos), words);
                }
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                word.clear();
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == b'\'' || ch == b'"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
                pos += 1;
                continue;
            }
            let mut c = ch;
            if c == b'\\' {
                if pos + 1 == line.len() {
                    pos += 1;
                    continue;
                }
                pos += 1;
                c = line[pos];
            }
            word.push(char::from(c));
            pos += 1;
            continue;
        }
        // In quotes.
        if ch == quote {
            phase = Phase::Word;
            pos += 1;
            continue;
        }
        let mut c = ch;
        if c == b'\\' {
            if pos + 1 == line.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            c = line[pos];
        }
        word.push(char::from(c));
        pos += 1;
    }
    (String::new(), words)
}

/// The line parsers' result: the `Next` chain and the JSON attribute.
type Parsed = (Vec<Arg>, bool);

fn values(v: Vec<String>) -> Vec<Arg> {
    v.into_iter().map(Arg::Value).collect()
}

/// BuildKit's dispatch table.
fn dispatch(cmd: &str, rest: &str, escape: char, depth: usize) -> Result<Parsed, Error> {
    match cmd {
        "add" | "copy" | "volume" => parse_maybe_json_to_list(rest),
        "arg" => Ok((values(parse_words(rest, escape)), false)),
        "cmd" | "entrypoint" | "run" | "shell" => parse_maybe_json(rest),
        "env" => Ok((parse_name_val(rest, "ENV", escape)?, false)),
        "label" => Ok((parse_name_val(rest, "LABEL", escape)?, false)),
        "expose" | "from" => Ok((parse_strings_ws(rest), false)),
        "healthcheck" => parse_health_config(rest),
        "maintainer" | "stopsignal" | "user" | "workdir" => {
            Ok((if rest.is_empty() { Vec::new() } else { vec![Arg::Value(rest.to_string())] }, false))
        }
        "onbuild" => {
            if rest.is_empty() {
                return Ok((Vec::new(), false));
            }
            if depth + 1 > MAX_ONBUILD_DEPTH {
                return Err(Error::limit(format!("ONBUILD nested more than {MAX_ONBUILD_DEPTH} levels deep")));
            }
            let child = node_from_line(rest, escape, Vec::new(), depth + 1)?;
            Ok((vec![Arg::Instruction(Box::new(child))], false))
        }
        // parseIgnore: unknown instructions keep one empty argument node.
        _ => Ok((vec![Arg::Value(String::new())], false)),
    }
}

/// BuildKit's `parseWords`: words split on whitespace, quotes and escapes kept.
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<String> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let chars: Vec<char> = rest.chars().collect();
    let n = chars.len();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut quote = '\0';
    let mut blank_ok = false;
    let mut pos = 0;
    while pos <= n {
        let mut ch = if pos < n { chars[pos] } else { '\0' };
        if phase == Phase::Spaces {
            if pos == n {
                break;
            }
            if is_space(ch) {
                pos += 1;
                continue;
            }
            phase = Phase::Word;
        }
        if (phase == Phase::Word || phase == Phase::Quote) && pos == n {
            if blank_ok || !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            break;
        }
        if phase == Phase::Word {
            if is_space(ch) {
                phase = Phase::Spaces;
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                word.clear();
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
            }
            if ch == escape {
                if pos + 1 == n {
                    pos += 1;
                    continue;
                }
                word.push(ch);
                pos += 1;
                ch = chars[pos];
            }
            word.push(ch);
            pos += 1;
            continue;
        }
        // In quotes.
        if ch == quote {
            phase = Phase::Word;
        }
        if ch == escape && quote != '\'' {
            if pos + 1 == n {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            word.push(ch);
            ch = chars[pos];
        }
        word.push(ch);
        pos += 1;
    }
    words
}

/// BuildKit's `parseNameVal` (ENV, LABEL): `KEY value` (old form, separator `""`) or
/// `k=v k2=v2` (separator `"="`), as (key, value, separator) triples.
fn parse_name_val(rest: &str, key: &str, escape: char) -> Result<Vec<Arg>, Error> {
    let words = parse_words(rest, escape);
    if words.is_empty() {
        return Ok(Vec::new());
    }
    if !words[0].contains('=') {
        let parts = split_ws(rest, Some(2));
        if parts.len() < 2 {
            return Err(Error::syntax(format!("{key} must have two arguments")));
        }
        return Ok(values(vec![parts[0].clone(), parts[1].clone(), String::new()]));
    }
    let mut out = Vec::new();
    for w in words {
        let Some((k, v)) = w.split_once('=') else {
            return Err(Error::syntax(format!(
                "Syntax error - can't find = in {}. Must be of the form: name=value",
                go_quote(&w)
            )));
        };
        out.extend(values(vec![k.to_string(), v.to_string(), "=".to_string()]));
    }
    Ok(out)
}

/// BuildKit's `parseStringsWhitespaceDelimited`.
fn parse_strings_ws(rest: &str) -> Vec<Arg> {
    if rest.is_empty() {
        return Vec::new();
    }
    values(split_ws(rest, None))
}

/// BuildKit's `parseJSON` on a line's arguments.
fn parse_json(rest: &str) -> JsonArray {
    let rest = trim_left_space(rest);
    if !rest.starts_with('[') {
        return JsonArray::Invalid;
    }
    json::parse_array(rest)
}

fn not_string_array() -> Error {
    Error::syntax("when using JSON array syntax, arrays must be comprised of strings only")
}

/// BuildKit's `parseMaybeJSON` (RUN, CMD, ENTRYPOINT, SHELL).
fn parse_maybe_json(rest: &str) -> Result<Parsed, Error> {
    if rest.is_empty() {
        return Ok((Vec::new(), false));
    }
    match parse_json(rest) {
        JsonArray::Strings(v) => Ok((values(v), true)),
        JsonArray::NotStrings => Err(not_string_array()),
        JsonArray::Invalid => Ok((vec![Arg::Value(rest.to_string())], false)),
    }
}

/// BuildKit's `parseMaybeJSONToList` (ADD, COPY, VOLUME).
fn parse_maybe_json_to_list(rest: &str) -> Result<Parsed, Error> {
    match parse_json(rest) {
        JsonArray::Strings(v) => Ok((values(v), true)),
        JsonArray::NotStrings => Err(not_string_array()),
        JsonArray::Invalid => Ok((parse_strings_ws(rest), false)),
    }
}

/// BuildKit's `parseHealthConfig`: the type word (found byte by byte), then `parseMaybeJSON`.
fn parse_health_config(rest: &str) -> Result<Parsed, Error> {
    let b = rest.as_bytes();
    let mut sep = 0;
    while sep < b.len() && !is_space_byte(b[sep]) {
        sep += 1;
    }
    let mut next = sep;
    while next < b.len() && is_space_byte(b[next]) {
        next += 1;
    }
    if sep == 0 {
        return Ok((Vec::new(), false));
    }
    let typ = String::from_utf8_lossy(&b[..sep]).into_owned();
    let cmd = String::from_utf8_lossy(&b[next..]).into_owned();
    let (args, json) = parse_maybe_json(&cmd)?;
    let mut out = vec![Arg::Value(typ)];
    out.extend(args);
    Ok((out, json))
}

/// BuildKit's `ParseHeredoc`: a word `[fd]<<[-]NAME`, or `None` when it is not a heredoc.
pub fn parse_heredoc(src: &str) -> Result<Option<Heredoc>, Error> {
    let digits = src.bytes().take_while(u8::is_ascii_digit).count();
    let Some(after) = src[digits..].strip_prefix("<<") else { return Ok(None) };
    let (chomp, rest) = match after.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, after),
    };
    if rest.contains('<') || rest.is_empty() {
        return Ok(None);
    }
    let fd = src[..digits].parse::<u64>().unwrap_or(if digits == 0 { 0 } else { u64::MAX });
    let mut lex = Lex::new('\\');
    lex.skip_unset_env = true;
    let words = lex.process_words(rest, &NoEnv)?;
    if words.len() != 1 {
        return Ok(None);
    }
    lex.raw_quotes = true;
    let raw = lex.process_words(rest, &NoEnv)?;
    if raw.len() != words.len() {
        return Err(Error::syntax(format!("internal lexing of heredoc produced inconsistent results: {rest}")));
    }
    let quotes = |s: &str| s.chars().filter(|&c| c == '\'' || c == '"').count();
    let expand = quotes(&words[0]) == quotes(&raw[0]);
    Ok(Some(Heredoc {
        name: words.into_iter().next().unwrap_or_default(),
        file_descriptor: fd,
        expand,
        chomp,
        content: String::new(),
    }))
}

/// BuildKit's `heredocsFromLine`: the heredoc words of an instruction line (the line is split
/// with quotes and escapes kept, so `"<<EOF"` is not one).
pub fn heredocs_from_line(line: &str) -> Result<Vec<Heredoc>, Error> {
    let mut lex = Lex::new('\\');
    lex.raw_quotes = true;
    lex.raw_escapes = true;
    lex.skip_unset_env = true;
    let words = lex.process_words(line, &NoEnv).unwrap_or_default();
    let mut out = Vec::new();
    for w in words {
        if let Some(h) = parse_heredoc(&w)? {
            out.push(h);
        }
    }
    Ok(out)
}

/// BuildKit's `ChompHeredocContent`: leading tabs removed from every line.
pub fn chomp_heredoc_content(src: &str) -> String {
    src.split_inclusive('\n').map(|l| l.trim_start_matches('\t')).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(s: &str) -> (String, Vec<String>) {
        extract_builder_flags(s.as_bytes())
    }

    #[test]
    fn builder_flags() {
        assert_eq!(flags("--from=a /x /y"), ("/x /y".into(), vec!["--from=a".into()]));
        assert_eq!(flags("--a=\"b c\" --d x"), ("x".into(), vec!["--a=b c".into(), "--d".into()]));
        assert_eq!(flags("-- --x y"), (" --x y".into(), vec![]));
        assert_eq!(flags("--x"), ("".into(), vec!["--x".into()]));
        assert_eq!(flags("--"), ("".into(), vec![]));
        assert_eq!(flags("--x=\\\"y"), ("".into(), vec!["--x=\"y".into()]));
        assert_eq!(flags("-x y"), ("-x y".into(), vec![]));
        assert_eq!(flags("--x=''"), ("".into(), vec!["--x=".into()]));
        // Byte-wise: é (C3 A9) comes out as two Latin-1 characters, as in BuildKit.
        assert_eq!(flags("--from=é x"), ("x".into(), vec!["--from=Ã©".into()]));
    }

    #[test]
    fn words() {
        // BuildKit's parser_test.go TestParseWords.
        let w = |s: &str| parse_words(s, '\\');
        assert_eq!(w("foo"), ["foo"]);
        assert_eq!(w("foo bar"), ["foo", "bar"]);
        assert_eq!(w("foo\\ bar"), ["foo\\ bar"]);
        assert_eq!(w("foo=bar"), ["foo=bar"]);
        assert_eq!(w("foo bar 'abc xyz'"), ["foo", "bar", "'abc xyz'"]);
        assert_eq!(w("foo bar \"abc xyz\""), ["foo", "bar", "\"abc xyz\""]);
        assert_eq!(w("àöû"), ["àöû"]);
        assert_eq!(w("föo bàr \"âbc xÿz\""), ["föo", "bàr", "\"âbc xÿz\""]);
    }

    #[test]
    fn heredoc_helpers() {
        // BuildKit's parser_heredoc_test.go TestParseHeredocHelpers.
        for s in ["<<EOF", "<<'EOF'", "<<\"EOF\"", "<<-EOF", "<<-'EOF'", "<<-\"EOF\""] {
            assert_eq!(parse_heredoc(s).unwrap().unwrap().name, "EOF", "{s}");
        }
        for s in ["<<'EOF", "<<\"EOF", "<<EOF'", "<<EOF\""] {
            assert!(parse_heredoc(s).is_err(), "{s}");
        }
        for s in ["", "EOF", "<<", "<<-", "<EOF", "<<<EOF"] {
            assert!(parse_heredoc(s).unwrap().is_none(), "{s}");
        }
        // TestHeredocsFromLine.
        let names = |l: &str| heredocs_from_line(l).unwrap().into_iter().map(|h| h.name).collect::<Vec<_>>();
        assert_eq!(names("RUN <<EOF"), ["EOF"]);
        assert_eq!(names("RUN <<-EOF"), ["EOF"]);
        assert_eq!(names("RUN <<'EOF'"), ["EOF"]);
        assert_eq!(names("RUN 4<<EOF"), ["EOF"]);
        assert_eq!(names("RUN <<EOF <<EOF2"), ["EOF", "EOF2"]);
        assert!(names("RUN '<<EOF'").is_empty());
        assert!(names("RUN \"<<EOF\"").is_empty());
        // TestHeredocChomp.
        assert_eq!(chomp_heredoc_content("\thello\n\tworld\n"), "hello\nworld\n");
    }

    #[test]
    fn continuation_regex() {
        let st = State { parser: DirectiveParser::new(0), escape: '\\', found: Vec::new() };
        assert_eq!(st.trim_continuation("a \\"), ("a ", false));
        assert_eq!(st.trim_continuation("a \\ \t"), ("a ", false));
        assert_eq!(st.trim_continuation("\\  "), ("", false));
        assert_eq!(st.trim_continuation("a \\\\"), ("a \\\\", true));
        assert_eq!(st.trim_continuation("a"), ("a", true));
        assert_eq!(st.trim_continuation("é\\"), ("é", false));
    }
}
