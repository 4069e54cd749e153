//! The JSON BuildKit's `parseJSON` needs: Go's `json.Unmarshal` of the whole rest of a line into
//! `[]interface{}`, reduced to "is it valid JSON, and is it an array of strings". Iterative (no
//! recursion), with Go's nesting limit (10000) and string decoding (surrogates, `\u` escapes).

/// What `parseJSON` makes of a text starting with `[`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JsonArray {
    /// Not valid JSON (or not an array): BuildKit falls back to the shell form.
    Invalid,
    /// Valid JSON, but an element is not a string: BuildKit's
    /// "when using JSON array syntax, arrays must be comprised of strings only".
    NotStrings,
    /// An array of strings.
    Strings(Vec<String>),
}

const MAX_DEPTH: usize = 10_000;

struct P<'a> {
    s: &'a [u8],
    i: usize,
    overflow: bool,
}

impl P<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn lit(&mut self, word: &[u8]) -> bool {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn number(&mut self) -> bool {
        let s = self.s;
        let mut i = self.i;
        if s.get(i) == Some(&b'-') {
            i += 1;
        }
        match s.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while s.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
            _ => return false,
        }
        if s.get(i) == Some(&b'.') {
            i += 1;
            if !s.get(i).is_some_and(u8::is_ascii_digit) {
                return false;
            }
            while s.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        if matches!(s.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(s.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !s.get(i).is_some_and(u8::is_ascii_digit) {
                return false;
            }
            while s.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        // Go decodes numbers into float64: an overflow is an (unmarshal) error, which BuildKit
        // treats like a syntax error.
        let text = std::str::from_utf8(&s[self.i..i]).unwrap_or("0");
        if text.parse::<f64>().map_or(true, f64::is_infinite) {
            self.overflow = true;
        }
        self.i = i;
        true
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let h = self.s.get(at..at + 4)?;
        let h = std::str::from_utf8(h).ok()?;
        if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(h, 16).ok()
    }

    /// A string starting at the opening quote; decoded as Go decodes it.
    fn string(&mut self) -> Option<String> {
        self.i += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = *self.s.get(self.i)?;
            match c {
                b'"' => {
                    self.i += 1;
                    return Some(String::from_utf8_lossy(&out).into_owned());
                }
                b'\\' => {
                    let e = *self.s.get(self.i + 1)?;
                    self.i += 2;
                    let simple = match e {
                        b'"' => Some(b'"'),
                        b'\\' => Some(b'\\'),
                        b'/' => Some(b'/'),
                        b'b' => Some(8),
                        b'f' => Some(12),
                        b'n' => Some(b'\n'),
                        b'r' => Some(b'\r'),
                        b't' => Some(b'\t'),
                        b'u' => None,
                        _ => return None,
                    };
                    if let Some(b) = simple {
                        out.push(b);
                        continue;
                    }
                    let r = self.hex4(self.i)?;
                    self.i += 4;
                    let mut ch = char::from_u32(r);
                    if (0xd800..0xdc00).contains(&r) {
                        // A high surrogate combines with a following \u low surrogate.
                        if self.s.get(self.i) == Some(&b'\\') && self.s.get(self.i + 1) == Some(&b'u') {
                            if let Some(r2) = self.hex4(self.i + 2) {
                                if (0xdc00..0xe000).contains(&r2) {
                                    ch = char::from_u32(0x10000 + ((r - 0xd800) << 10) + (r2 - 0xdc00));
                                    self.i += 6;
                                }
                            }
                        }
                    }
                    let ch = ch.unwrap_or('\u{fffd}');
                    let mut buf = [0; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                0..=0x1f => return None,
                _ => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }
}

/// The top level of a valid JSON text, with the string values directly inside it (`None` for a
/// value that is not a string).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Top {
    Array(Vec<Option<String>>),
    Object(Vec<(String, Option<String>)>),
    Scalar,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Value,
    ValueOrClose,
    KeyOrClose,
    Key,
    CommaOrClose,
    Done,
}

/// Go's `json.Unmarshal` validity (whole text, nesting ≤ 10000, numbers that fit a float64),
/// with the top level's direct members.
pub(crate) fn parse(text: &str) -> Option<Top> {
    let mut p = P { s: text.as_bytes(), i: 0, overflow: false };
    // Containers: true for arrays.
    let mut stack: Vec<bool> = Vec::new();
    let mut top: Option<Top> = None;
    let mut key: Option<String> = None;
    let mut expect = Expect::Value;
    loop {
        p.ws();
        match expect {
            Expect::Done => {
                return (p.i == p.s.len() && !p.overflow).then(|| top.unwrap_or(Top::Scalar));
            }
            Expect::Value | Expect::ValueOrClose => {
                let c = p.peek()?;
                if expect == Expect::ValueOrClose && c == b']' {
                    p.i += 1;
                    stack.pop();
                    expect = if stack.is_empty() { Expect::Done } else { Expect::CommaOrClose };
                    continue;
                }
                let member = stack.len() == 1;
                let value: Option<String> = match c {
                    b'[' | b'{' => {
                        if stack.len() >= MAX_DEPTH {
                            return None;
                        }
                        p.i += 1;
                        if stack.is_empty() {
                            top = Some(if c == b'[' { Top::Array(Vec::new()) } else { Top::Object(Vec::new()) });
                        } else if member {
                            record(&mut top, &mut key, None);
                        }
                        stack.push(c == b'[');
                        expect = if c == b'[' { Expect::ValueOrClose } else { Expect::KeyOrClose };
                        continue;
                    }
                    b'"' => Some(p.string()?),
                    b't' | b'f' | b'n' => {
                        if !(p.lit(b"true") || p.lit(b"false") || p.lit(b"null")) {
                            return None;
                        }
                        None
                    }
                    _ => {
                        if !p.number() {
                            return None;
                        }
                        None
                    }
                };
                if member {
                    record(&mut top, &mut key, value);
                }
                expect = if stack.is_empty() { Expect::Done } else { Expect::CommaOrClose };
            }
            Expect::KeyOrClose | Expect::Key => {
                let c = p.peek()?;
                if expect == Expect::KeyOrClose && c == b'}' {
                    p.i += 1;
                    stack.pop();
                    expect = if stack.is_empty() { Expect::Done } else { Expect::CommaOrClose };
                    continue;
                }
                if c != b'"' {
                    return None;
                }
                let k = p.string()?;
                p.ws();
                if p.peek()? != b':' {
                    return None;
                }
                p.i += 1;
                if stack.len() == 1 {
                    key = Some(k);
                }
                expect = Expect::Value;
            }
            Expect::CommaOrClose => {
                let c = p.peek()?;
                let in_array = *stack.last()?;
                match (c, in_array) {
                    (b',', true) => expect = Expect::Value,
                    (b',', false) => expect = Expect::Key,
                    (b']', true) | (b'}', false) => {
                        p.i += 1;
                        stack.pop();
                        expect = if stack.is_empty() { Expect::Done } else { Expect::CommaOrClose };
                        continue;
                    }
                    _ => return None,
                }
                p.i += 1;
            }
        }
    }
}

fn record(top: &mut Option<Top>, key: &mut Option<String>, value: Option<String>) {
    match top {
        Some(Top::Array(v)) => v.push(value),
        Some(Top::Object(m)) => m.push((key.take().unwrap_or_default(), value)),
        _ => {}
    }
}

/// Parses `text` (which BuildKit has checked starts with `[`) as Go's `json.Unmarshal` into
/// `[]interface{}` would.
pub(crate) fn parse_array(text: &str) -> JsonArray {
    match parse(text) {
        Some(Top::Array(items)) => {
            if items.iter().all(Option::is_some) {
                JsonArray::Strings(items.into_iter().flatten().collect())
            } else {
                JsonArray::NotStrings
            }
        }
        _ => JsonArray::Invalid,
    }
}

/// The string value of `key` in a JSON object text (Go's `json.Unmarshal` into a map: the last
/// duplicate wins).
pub(crate) fn object_string(text: &str, key: &str) -> Option<String> {
    match parse(text)? {
        Top::Object(members) => members.into_iter().rev().find(|(k, _)| k == key).and_then(|(_, v)| v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> JsonArray {
        JsonArray::Strings(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn buildkit_valid_cases() {
        // BuildKit's parser/json_test.go validJSONArraysOfStrings.
        assert_eq!(parse_array("[]"), strings(&[]));
        assert_eq!(parse_array(r#"[""]"#), strings(&[""]));
        assert_eq!(parse_array(r#"["a"]"#), strings(&["a"]));
        assert_eq!(parse_array(r#"["a","b"]"#), strings(&["a", "b"]));
        assert_eq!(parse_array(r#"[ "a", "b" ]"#), strings(&["a", "b"]));
        assert_eq!(parse_array("[\t\"a\",\t\"b\"\t]"), strings(&["a", "b"]));
        assert_eq!(parse_array("\t[\t\"a\",\t\"b\"\t]\t"), strings(&["a", "b"]));
        assert_eq!(
            parse_array(r#"["abc 123", "♥", "☃", "\" \\ \/ \b \f \n \r \t \u0000"]"#),
            strings(&["abc 123", "♥", "☃", "\" \\ / \u{8} \u{c} \n \r \t \u{0}"])
        );
    }

    #[test]
    fn buildkit_invalid_cases() {
        // BuildKit's parser/json_test.go invalidJSONArraysOfStrings.
        for s in [
            r#"["a",42,"b"]"#,
            r#"["a",123.456,"b"]"#,
            r#"["a",{},"b"]"#,
            r#"["a",{"c": "d"},"b"]"#,
            r#"["a",["c"],"b"]"#,
            r#"["a",true,"b"]"#,
            r#"["a",false,"b"]"#,
            r#"["a",null,"b"]"#,
        ] {
            assert_eq!(parse_array(s), JsonArray::NotStrings, "{s}");
        }
    }

    #[test]
    fn syntax_errors_fall_back() {
        for s in [
            "[",
            "[\"a\"",
            "[\"a\",]",
            "[,]",
            "[\"a\"] x",
            "[01]",
            "[\"\\x\"]",
            "[\"a\nb\"]",
            "[{\"a\"}]",
            "[{\"a\":1,}]",
            "[1.]",
            "[tru]",
        ] {
            assert_eq!(parse_array(s), JsonArray::Invalid, "{s:?}");
        }
    }

    #[test]
    fn surrogates_and_depth() {
        assert_eq!(parse_array(r#"["\ud83d\ude00"]"#), strings(&["😀"]));
        assert_eq!(parse_array(r#"["\ud83d"]"#), strings(&["\u{fffd}"]));
        assert_eq!(parse_array(r#"["\ud83dx"]"#), strings(&["\u{fffd}x"]));
        let deep = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
        assert_eq!(parse_array(&deep), JsonArray::Invalid);
        let ok = format!("[{}{}]", "[".repeat(100), "]".repeat(100));
        assert_eq!(parse_array(&ok), JsonArray::NotStrings);
        assert_eq!(parse_array(r#"["a", 1e999]"#), JsonArray::Invalid);
        assert_eq!(object_string(r#"{"syntax": "x", "a": [1, {"b": 2}]}"#, "syntax"), Some("x".into()));
        assert_eq!(object_string(r#"{"syntax": 1}"#, "syntax"), None);
        assert_eq!(object_string(r#"{"syntax": "a", "syntax": "b"}"#, "syntax"), Some("b".into()));
        assert_eq!(object_string(r#"{"syntax": "a",}"#, "syntax"), None);
    }
}
