//! Lexer for Go template source, a port of `text/template/parse/lex.go`.
//!
//! The whole input is tokenized up front into a vector of [`Item`]s. The
//! vector always ends with an [`Tok::Eof`] or an [`Tok::Error`] item; the
//! parser reports an error item when it reaches it, exactly like Go's parser
//! does with its lazily-running lexer.

use std::fmt;

use crate::format::{go_quote, is_print};

const LEFT_DELIM: &str = "{{";
const RIGHT_DELIM: &str = "}}";
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";
/// Length of a trim marker: the `-` plus one space.
const TRIM_MARKER_LEN: usize = 2;

/// Kind of a lexed item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    /// Error occurred; the value is the error text.
    Error,
    /// Boolean constant.
    Bool,
    /// Printable ASCII character; grab bag for comma etc.
    Char,
    /// Character constant like `'a'`.
    CharConstant,
    /// Equals (`=`) introducing an assignment.
    Assign,
    /// Colon-equals (`:=`) introducing a declaration.
    Declare,
    /// End of input.
    Eof,
    /// Alphanumeric identifier starting with `.`.
    Field,
    /// Alphanumeric identifier not starting with `.`.
    Identifier,
    /// `{{`
    LeftDelim,
    /// `(`
    LeftParen,
    /// Simple number (including imaginary/complex forms, rejected later).
    Number,
    /// `|`
    Pipe,
    /// Raw quoted string (includes the back quotes).
    RawString,
    /// `}}`
    RightDelim,
    /// `)`
    RightParen,
    /// Run of spaces separating arguments.
    Space,
    /// Quoted string (includes the quotes).
    String,
    /// Plain text.
    Text,
    /// Variable starting with `$`, such as `$` or `$x`.
    Variable,
    // Keywords.
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl Tok {
    fn is_keyword(self) -> bool {
        matches!(
            self,
            Tok::Block
                | Tok::Break
                | Tok::Continue
                | Tok::Dot
                | Tok::Define
                | Tok::Else
                | Tok::End
                | Tok::If
                | Tok::Nil
                | Tok::Range
                | Tok::Template
                | Tok::With
        )
    }
}

/// A token with its byte offset, text and line number.
#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub(crate) typ: Tok,
    pub(crate) pos: usize,
    pub(crate) val: String,
    pub(crate) line: usize,
}

impl fmt::Display for Item {
    /// Mirrors Go's `item.String`, used in "unexpected ..." messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.typ {
            Tok::Eof => f.write_str("EOF"),
            Tok::Error => f.write_str(&self.val),
            t if t.is_keyword() => write!(f, "<{}>", self.val),
            _ => {
                if self.val.chars().count() > 10 {
                    let short: String = self.val.chars().take(10).collect();
                    write!(f, "{}...", go_quote(&short))
                } else {
                    f.write_str(&go_quote(&self.val))
                }
            }
        }
    }
}

/// Formats a rune like Go's `%#U`: `U+0041 'A'`.
pub(crate) fn sharp_u(c: char) -> String {
    if is_print(c) {
        format!("U+{:04X} '{}'", c as u32, c)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

pub(crate) fn is_alphanumeric(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

fn has_left_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
}

fn has_right_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0] as char) && b[1] == b'-'
}

fn right_trim_length(s: &str) -> usize {
    s.len() - s.trim_end_matches(is_space).len()
}

fn left_trim_length(s: &str) -> usize {
    s.len() - s.trim_start_matches(is_space).len()
}

/// Lexer state: which function runs next.
#[derive(Clone, Copy)]
enum State {
    Text,
    LeftDelim,
    Comment,
    RightDelim,
    InsideAction,
    Done,
}

struct Lexer<'s> {
    input: &'s str,
    /// Current position.
    pos: usize,
    /// Start of the current item.
    start: usize,
    paren_depth: i64,
    items: Vec<Item>,
    /// Line-number cache: `line` is the line number at byte `line_pos`.
    line_pos: usize,
    line: usize,
}

/// Tokenizes `input`. The result always ends with an `Eof` or `Error` item.
pub(crate) fn lex(input: &str) -> Vec<Item> {
    let mut l = Lexer { input, pos: 0, start: 0, paren_depth: 0, items: Vec::new(), line_pos: 0, line: 1 };
    let mut state = State::Text;
    loop {
        state = match state {
            State::Text => l.lex_text(),
            State::LeftDelim => l.lex_left_delim(),
            State::Comment => l.lex_comment(),
            State::RightDelim => l.lex_right_delim(),
            State::InsideAction => l.lex_inside_action(),
            State::Done => break,
        };
    }
    l.items
}

impl Lexer<'_> {
    /// Line number (1-based) of byte offset `pos`. Offsets passed here never
    /// decrease, so the count is incremental.
    fn line_at(&mut self, pos: usize) -> usize {
        if pos >= self.line_pos {
            let seg = self.input.get(self.line_pos..pos).unwrap_or("");
            self.line += seg.bytes().filter(|&b| b == b'\n').count();
            self.line_pos = pos;
            self.line
        } else {
            1 + self.input[..pos].bytes().filter(|&b| b == b'\n').count()
        }
    }

    fn rest(&self) -> &str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn advance(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn emit_range(&mut self, typ: Tok, start: usize, end: usize) {
        let line = self.line_at(start);
        self.items.push(Item { typ, pos: start, val: self.input[start..end].to_string(), line });
    }

    fn emit(&mut self, typ: Tok) -> State {
        self.emit_range(typ, self.start, self.pos);
        self.start = self.pos;
        State::InsideAction
    }

    fn errorf(&mut self, msg: String) -> State {
        let line = self.line_at(self.start);
        self.items.push(Item { typ: Tok::Error, pos: self.start, val: msg, line });
        State::Done
    }

    fn ignore(&mut self) {
        self.start = self.pos;
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    /// Reports whether the input is at a right delimiter, possibly preceded
    /// by a trim marker.
    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if has_right_trim_marker(rest) && rest[TRIM_MARKER_LEN..].starts_with(RIGHT_DELIM) {
            return (true, true);
        }
        (rest.starts_with(RIGHT_DELIM), false)
    }

    /// Reports whether the input is at a valid termination character to
    /// appear after an identifier.
    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            Some(_) => self.rest().starts_with(RIGHT_DELIM),
        }
    }

    fn lex_text(&mut self) -> State {
        if let Some(x) = self.rest().find(LEFT_DELIM) {
            if x > 0 {
                self.pos += x;
                let delim_end = self.pos + LEFT_DELIM.len();
                let mut trim = 0;
                if has_left_trim_marker(&self.input[delim_end..]) {
                    trim = right_trim_length(&self.input[self.start..self.pos]);
                }
                let text_end = self.pos - trim;
                if text_end > self.start {
                    self.emit_range(Tok::Text, self.start, text_end);
                }
                self.ignore();
            }
            return State::LeftDelim;
        }
        self.pos = self.input.len();
        if self.pos > self.start {
            self.emit_range(Tok::Text, self.start, self.pos);
            self.ignore();
        }
        self.emit_range(Tok::Eof, self.pos, self.pos);
        State::Done
    }

    fn lex_left_delim(&mut self) -> State {
        self.pos += LEFT_DELIM.len();
        let trim = has_left_trim_marker(self.rest());
        let after_marker = if trim { TRIM_MARKER_LEN } else { 0 };
        if self.input[self.pos + after_marker..].starts_with(LEFT_COMMENT) {
            self.pos += after_marker;
            self.ignore();
            return State::Comment;
        }
        self.emit_range(Tok::LeftDelim, self.start, self.pos);
        self.pos += after_marker;
        self.ignore();
        self.paren_depth = 0;
        State::InsideAction
    }

    fn lex_comment(&mut self) -> State {
        self.pos += LEFT_COMMENT.len();
        let Some(x) = self.rest().find(RIGHT_COMMENT) else {
            return self.errorf("unclosed comment".into());
        };
        self.pos += x + RIGHT_COMMENT.len();
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return self.errorf("comment ends before closing delimiter".into());
        }
        if trim {
            self.pos += TRIM_MARKER_LEN;
        }
        self.pos += RIGHT_DELIM.len();
        if trim {
            self.pos += left_trim_length(self.rest());
        }
        self.ignore();
        State::Text
    }

    fn lex_right_delim(&mut self) -> State {
        let (_, trim) = self.at_right_delim();
        if trim {
            self.pos += TRIM_MARKER_LEN;
            self.ignore();
        }
        self.pos += RIGHT_DELIM.len();
        self.emit_range(Tok::RightDelim, self.start, self.pos);
        self.ignore();
        if trim {
            self.pos += left_trim_length(self.rest());
            self.ignore();
        }
        State::Text
    }

    fn lex_inside_action(&mut self) -> State {
        let (delim, _) = self.at_right_delim();
        if delim {
            if self.paren_depth == 0 {
                return State::RightDelim;
            }
            return self.errorf("unclosed left paren".into());
        }
        let Some(c) = self.peek() else {
            return self.errorf("unclosed action".into());
        };
        if is_space(c) {
            return self.lex_space();
        }
        match c {
            '=' => {
                self.pos += 1;
                self.emit(Tok::Assign)
            }
            ':' => {
                self.pos += 1;
                if self.advance() != Some('=') {
                    return self.errorf("expected :=".into());
                }
                self.emit(Tok::Declare)
            }
            '|' => {
                self.pos += 1;
                self.emit(Tok::Pipe)
            }
            '"' => {
                self.pos += 1;
                self.lex_quote()
            }
            '`' => {
                self.pos += 1;
                self.lex_raw_quote()
            }
            '$' => {
                self.pos += 1;
                self.lex_variable()
            }
            '\'' => {
                self.pos += 1;
                self.lex_char()
            }
            '.' => {
                // Special look-ahead for ".field" so a number like .5 still works.
                match self.input.as_bytes().get(self.pos + 1) {
                    Some(b) if !b.is_ascii_digit() => {
                        self.pos += 1;
                        self.lex_field_or_variable(Tok::Field)
                    }
                    _ => self.lex_number(),
                }
            }
            '+' | '-' | '0'..='9' => self.lex_number(),
            c if is_alphanumeric(c) => self.lex_identifier(),
            '(' => {
                self.pos += 1;
                self.paren_depth += 1;
                self.emit(Tok::LeftParen)
            }
            ')' => {
                self.pos += 1;
                self.paren_depth -= 1;
                if self.paren_depth < 0 {
                    return self.errorf("unexpected right paren".into());
                }
                self.emit(Tok::RightParen)
            }
            c if c.is_ascii() && !c.is_ascii_control() => {
                self.pos += 1;
                self.emit(Tok::Char)
            }
            c => self.errorf(format!("unrecognized character in action: {}", sharp_u(c))),
        }
    }

    fn lex_space(&mut self) -> State {
        let mut num_spaces = 0;
        while let Some(c) = self.peek() {
            if !is_space(c) {
                break;
            }
            self.pos += 1;
            num_spaces += 1;
        }
        // Be careful about a trim-marked closing delimiter, which has a minus
        // after a space: the last space belongs to the delimiter.
        let last = self.pos - 1;
        if has_right_trim_marker(&self.input[last..]) && self.input[last + TRIM_MARKER_LEN..].starts_with(RIGHT_DELIM) {
            self.pos = last;
            if num_spaces == 1 {
                return State::RightDelim;
            }
        }
        self.emit(Tok::Space)
    }

    fn lex_identifier(&mut self) -> State {
        while let Some(c) = self.peek() {
            if !is_alphanumeric(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        if !self.at_terminator() {
            return self.bad_character();
        }
        let typ = match &self.input[self.start..self.pos] {
            "block" => Tok::Block,
            "break" => Tok::Break,
            "continue" => Tok::Continue,
            "define" => Tok::Define,
            "else" => Tok::Else,
            "end" => Tok::End,
            "if" => Tok::If,
            "range" => Tok::Range,
            "nil" => Tok::Nil,
            "template" => Tok::Template,
            "with" => Tok::With,
            "true" | "false" => Tok::Bool,
            _ => Tok::Identifier,
        };
        self.emit(typ)
    }

    fn bad_character(&mut self) -> State {
        let c = self.peek().unwrap_or('\u{FFFD}');
        self.errorf(format!("bad character {}", sharp_u(c)))
    }

    fn lex_variable(&mut self) -> State {
        if self.at_terminator() {
            return self.emit(Tok::Variable);
        }
        self.lex_field_or_variable(Tok::Variable)
    }

    /// Lexes a field or variable name; the leading `.` or `$` is consumed.
    fn lex_field_or_variable(&mut self, typ: Tok) -> State {
        if self.at_terminator() {
            return if typ == Tok::Variable { self.emit(Tok::Variable) } else { self.emit(Tok::Dot) };
        }
        while let Some(c) = self.peek() {
            if !is_alphanumeric(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        if !self.at_terminator() {
            return self.bad_character();
        }
        self.emit(typ)
    }

    fn lex_char(&mut self) -> State {
        self.lex_escaped('\'', Tok::CharConstant, "unterminated character constant")
    }

    fn lex_quote(&mut self) -> State {
        self.lex_escaped('"', Tok::String, "unterminated quoted string")
    }

    /// A `"…"` string or `'…'` character constant: backslash escapes, ends at `close`, and may
    /// not run past the end of the line.
    fn lex_escaped(&mut self, close: char, tok: Tok, unterminated: &str) -> State {
        loop {
            match self.advance() {
                Some('\\') => match self.advance() {
                    None | Some('\n') => return self.errorf(unterminated.into()),
                    Some(_) => {}
                },
                None | Some('\n') => return self.errorf(unterminated.into()),
                Some(c) if c == close => break,
                Some(_) => {}
            }
        }
        self.emit(tok)
    }

    fn lex_raw_quote(&mut self) -> State {
        loop {
            match self.advance() {
                None => return self.errorf("unterminated raw quoted string".into()),
                Some('`') => break,
                Some(_) => {}
            }
        }
        self.emit(Tok::RawString)
    }

    fn lex_number(&mut self) -> State {
        if !self.scan_number() {
            let text = go_quote(&self.input[self.start..self.pos]);
            return self.errorf(format!("bad number syntax: {text}"));
        }
        if matches!(self.peek(), Some('+' | '-')) {
            // Complex: 1+2i. No spaces, must end in 'i'.
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                let text = go_quote(&self.input[self.start..self.pos]);
                return self.errorf(format!("bad number syntax: {text}"));
            }
        }
        self.emit(Tok::Number)
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 10 + 1 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 16 + 6 + 1 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if let Some(c) = self.peek() {
            if is_alphanumeric(c) {
                self.pos += c.len_utf8();
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Tok, String)> {
        lex(src).into_iter().map(|i| (i.typ, i.val)).collect()
    }

    #[test]
    fn basic_tokens() {
        let got = kinds("a{{.A.B | printf \"%d\" 1}}b");
        let want = vec![
            (Tok::Text, "a".to_string()),
            (Tok::LeftDelim, "{{".into()),
            (Tok::Field, ".A".into()),
            (Tok::Field, ".B".into()),
            (Tok::Space, " ".into()),
            (Tok::Pipe, "|".into()),
            (Tok::Space, " ".into()),
            (Tok::Identifier, "printf".into()),
            (Tok::Space, " ".into()),
            (Tok::String, "\"%d\"".into()),
            (Tok::Space, " ".into()),
            (Tok::Number, "1".into()),
            (Tok::RightDelim, "}}".into()),
            (Tok::Text, "b".into()),
            (Tok::Eof, "".into()),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn trim_markers() {
        let got = kinds("a  {{- 1 -}}  b");
        assert_eq!(got[0], (Tok::Text, "a".into()));
        assert_eq!(got[2], (Tok::Number, "1".into()));
        assert_eq!(got[3], (Tok::RightDelim, "}}".into()));
        assert_eq!(got[4], (Tok::Text, "b".into()));
    }

    #[test]
    fn keywords_and_vars() {
        let got = kinds("{{range $i, $v := .}}{{end}}");
        let typs: Vec<Tok> = got.iter().map(|x| x.0).collect();
        assert_eq!(
            typs,
            vec![
                Tok::LeftDelim,
                Tok::Range,
                Tok::Space,
                Tok::Variable,
                Tok::Char,
                Tok::Space,
                Tok::Variable,
                Tok::Space,
                Tok::Declare,
                Tok::Space,
                Tok::Dot,
                Tok::RightDelim,
                Tok::LeftDelim,
                Tok::End,
                Tok::RightDelim,
                Tok::Eof
            ]
        );
    }

    #[test]
    fn errors() {
        let last = |s: &str| lex(s).pop().map(|i| (i.typ, i.val));
        assert_eq!(last("{{"), Some((Tok::Error, "unclosed action".into())));
        assert_eq!(last("{{/* x"), Some((Tok::Error, "unclosed comment".into())));
        assert_eq!(last("{{\"abc}}"), Some((Tok::Error, "unterminated quoted string".into())));
        assert_eq!(last("{{3k}}"), Some((Tok::Error, "bad number syntax: \"3k\"".into())));
        assert_eq!(last("{{.A}"), Some((Tok::Error, "bad character U+007D '}'".into())));
        assert_eq!(last("{{(}}"), Some((Tok::Error, "unclosed left paren".into())));
        assert_eq!(last("{{)}}"), Some((Tok::Error, "unexpected right paren".into())));
        assert_eq!(last("{{\u{1}}}"), Some((Tok::Error, "unrecognized character in action: U+0001".into())));
    }

    #[test]
    fn line_numbers() {
        let items = lex("a\nb{{.X\n}}\n{{.Y}}");
        let y = items.iter().find(|i| i.val == ".Y").map(|i| i.line);
        assert_eq!(y, Some(4));
    }
}
