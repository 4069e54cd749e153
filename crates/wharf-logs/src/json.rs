//! The `json-file` line format: encoding byte for byte as Docker's `jsonlog.JSONLogs.MarshalJSONBuf`
//! and decoding with serde_json.
//!
//! Why the encoder is hand-written: Docker's escaper differs from every JSON library's (serde_json
//! included). It escapes `<`, `>`, `&` as `\u003c`, `\u003e`, `\u0026`, U+2028/U+2029 as
//! `\u2028`/`\u2029`, every control byte other than `\n` and `\r` as `\u00XX` (so a tab is
//! `\u0009`, not `\t`), and each byte of invalid UTF-8 as `\ufffd`; fields come in the order
//! `log`, `stream`, `time`, with `log` left out when empty. Files must match Docker's so that
//! tools reading `*-json.log` see what they expect.

use std::borrow::Cow;

use serde::Deserialize;

use crate::{LogEntry, Stream};

/// Appends the line of one entry, `\n` included, to `out`.
pub(crate) fn encode(stream: Stream, line: &[u8], time_nanos: i64, out: &mut Vec<u8>) {
    out.push(b'{');
    if !line.is_empty() {
        out.extend_from_slice(b"\"log\":");
        write_string(out, line);
        out.push(b',');
    }
    out.extend_from_slice(b"\"stream\":\"");
    out.extend_from_slice(stream.as_str().as_bytes());
    out.extend_from_slice(b"\",\"time\":\"");
    out.extend_from_slice(wharf_types::format_rfc3339_nanos(time_nanos).as_bytes());
    out.extend_from_slice(b"\"}\n");
}

/// Writes `s` as a JSON string the way Docker's `ffjsonWriteJSONBytesAsString` does.
fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    let mut rest = s;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                write_valid(out, valid.as_bytes());
                break;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                write_valid(out, valid);
                // Go's utf8.DecodeRune consumes one byte of an invalid sequence at a time.
                out.extend_from_slice(b"\\ufffd");
                rest = &after[1..];
            }
        }
    }
    out.push(b'"');
}

/// Escapes valid UTF-8 bytes.
fn write_valid(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        // U+2028 and U+2029 are E2 80 A8 and E2 80 A9 (the input is valid UTF-8, so an E2 byte
        // has two continuation bytes after it).
        let line_separator = b == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9);
        let needs_escape = matches!(b, 0..0x20 | b'\\' | b'"' | b'<' | b'>' | b'&') || line_separator;
        if !needs_escape {
            i += 1;
            continue;
        }
        out.extend_from_slice(&s[start..i]);
        match b {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', b]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0xE2 => {
                out.extend_from_slice(b"\\u202");
                out.push(HEX[usize::from(s[i + 2] & 0x0F)]);
                i += 2;
            }
            _ => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0x0F)]);
            }
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&s[start..]);
}

/// One line as Docker writes it (`attrs` and unknown fields are ignored).
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(default, borrow)]
    log: Cow<'a, str>,
    #[serde(borrow)]
    stream: Cow<'a, str>,
    #[serde(borrow)]
    time: Cow<'a, str>,
}

/// Decodes one line (without its `\n`); `None` when it is not a log entry.
pub(crate) fn decode(line: &[u8]) -> Option<LogEntry> {
    let parsed: Line<'_> = serde_json::from_slice(line).ok()?;
    let stream = Stream::from_name(&parsed.stream)?;
    let time_nanos = chrono::DateTime::parse_from_rfc3339(&parsed.time).ok()?.timestamp_nanos_opt()?;
    Some(LogEntry { stream, time_nanos, bytes: parsed.log.into_owned().into_bytes() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-01-02T03:04:05.123456789Z
    const T: i64 = 1_704_164_645_123_456_789;

    fn line(stream: Stream, bytes: &[u8], t: i64) -> String {
        let mut out = Vec::new();
        encode(stream, bytes, t, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn byte_for_byte_like_docker() {
        // Lines as written by Docker 26's json-file driver.
        assert_eq!(
            line(Stream::Stdout, b"hello\n", T),
            "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05.123456789Z\"}\n"
        );
        assert_eq!(
            line(Stream::Stderr, b"oops\n", 1_704_164_645_100_000_000),
            "{\"log\":\"oops\\n\",\"stream\":\"stderr\",\"time\":\"2024-01-02T03:04:05.1Z\"}\n"
        );
        assert_eq!(
            line(Stream::Stdout, b"x\n", 1_704_164_645_000_000_000),
            "{\"log\":\"x\\n\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05Z\"}\n"
        );
    }

    #[test]
    fn escapes_like_go_jsonlog() {
        let got = line(Stream::Stdout, "a\tb <c> & \"q\" \\ é 🚀 \u{2028}\u{2029}\r\x7f\x01\n".as_bytes(), T);
        let want = r#"{"log":"a\u0009b \u003cc\u003e \u0026 \"q\" \\ é 🚀 \u2028\u2029\r"#.to_string()
            + "\x7f"
            + r#"\u0001\n","stream":"stdout","time":"2024-01-02T03:04:05.123456789Z"}"#
            + "\n";
        assert_eq!(got, want);
        // Each byte of invalid UTF-8 becomes U+FFFD, as Go's utf8.DecodeRune reads it.
        let got = line(Stream::Stdout, b"\xaf|\xe2\x82|\xe2\x82", T);
        assert!(got.starts_with(r#"{"log":"\ufffd|\ufffd\ufffd|\ufffd\ufffd","stream""#), "{got}");
    }

    #[test]
    fn partial_lines_have_no_newline_and_empty_log_is_omitted() {
        assert!(line(Stream::Stdout, b"part", T).starts_with(r#"{"log":"part","stream":"stdout""#));
        assert_eq!(line(Stream::Stdout, b"", 0), "{\"stream\":\"stdout\",\"time\":\"1970-01-01T00:00:00Z\"}\n");
    }

    #[test]
    fn decodes_what_it_encodes_and_docker_lines() {
        for bytes in [&b"hello\n"[..], b"part", "a\t<é>\u{2028}\"\\\n".as_bytes()] {
            let l = line(Stream::Stderr, bytes, T);
            let e = decode(l.trim_end_matches('\n').as_bytes()).unwrap();
            assert_eq!(e, LogEntry { stream: Stream::Stderr, time_nanos: T, bytes: bytes.to_vec() });
        }
        let docker = br#"{"log":"hi\n","stream":"stdout","attrs":{"tag":"x"},"time":"2024-01-02T04:04:05.5+01:00"}"#;
        let e = decode(docker).unwrap();
        assert_eq!(e.time_nanos, 1_704_164_645_500_000_000);
        assert_eq!(e.bytes, b"hi\n");
        for bad in [
            &b""[..],
            b"{",
            b"{\"log\":\"x\",\"stream\":\"stdin\",\"time\":\"2024-01-02T03:04:05Z\"}",
            b"{\"log\":\"x\"}",
        ] {
            assert!(decode(bad).is_none());
        }
    }
}
