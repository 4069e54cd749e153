//! JSON message streams (`load`, `import`) shown as the docker CLI's
//! `jsonmessage.DisplayJSONMessagesStream` shows them.
//!
//! The daemon sends concatenated JSON objects: `{"stream":…}` text, `{"status","id",
//! "progressDetail"}` progress, `{"errorDetail","error"}` failures, `{"aux"}` side data.
//! Off a terminal, progress with a position is skipped and everything else is printed
//! line by line, byte for byte as docker does ([`plain_text`]). On a terminal, each id
//! gets a line that is redrawn in place (indicatif bars whose text is docker's
//! progress line); any other message ends the current set of lines, as docker's
//! cursor handling does. An error message stops the display and becomes the
//! command's error.

use std::collections::HashMap;
use std::io::Write;

use anyhow::anyhow;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Deserializer};

use crate::{timeutil, units};

fn null_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `progressDetail`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Progress {
    #[serde(default, deserialize_with = "null_default")]
    pub current: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub total: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub start: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub hidecounts: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub units: String,
}

impl Progress {
    /// Whether docker draws anything for it (`JSONProgress.String() != ""`).
    fn shown(&self) -> bool {
        self.current > 0 || self.total > 0
    }

    /// `JSONProgress.String()` for a terminal `width` columns wide, at `now` (Unix
    /// seconds): `[=====>     ]  1.2MB/4.3MB 3s`.
    pub(crate) fn render(&self, width: usize, now: i64) -> String {
        if !self.shown() {
            return String::new();
        }
        if self.total <= 0 {
            return match self.units.as_str() {
                "" => format!("{:>8}", units::human_size(self.current as f64)),
                u => format!("{} {u}", self.current),
            };
        }
        let percentage = (((self.current as f64 / self.total as f64) * 100.0) as i64 / 2).min(50);
        let mut out = String::new();
        if width > 110 {
            let spaces = (50 - percentage).max(0) as usize;
            let done = percentage.max(0) as usize;
            out.push_str(&format!("[{}>{}] ", "=".repeat(done), " ".repeat(spaces)));
        }
        if !self.hidecounts {
            if self.units.is_empty() {
                let current = units::human_size(self.current as f64);
                if self.current > self.total {
                    out.push_str(&format!("{current:>8}"));
                } else {
                    out.push_str(&format!("{current:>8}/{}", units::human_size(self.total as f64)));
                }
            } else if self.current > self.total {
                out.push_str(&format!("{} {}", self.current, self.units));
            } else {
                out.push_str(&format!("{}/{} {}", self.current, self.total, self.units));
            }
        }
        if self.current > 0 && self.start > 0 && percentage < 50 {
            let from_start = (now - self.start).max(0) as f64;
            let per_entry = from_start / self.current as f64;
            let left = ((self.total - self.current) as f64 * per_entry) as i64;
            if width > 50 {
                out.push(' ');
                out.push_str(&units::go_duration_secs(left));
            }
        }
        out
    }
}

/// `errorDetail`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct JsonError {
    #[serde(default, deserialize_with = "null_default")]
    pub message: String,
}

/// One message of the stream (docker's `jsonmessage.JSONMessage`).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct JsonMessage {
    #[serde(default, deserialize_with = "null_default")]
    pub stream: String,
    #[serde(default, deserialize_with = "null_default")]
    pub status: String,
    #[serde(default, rename = "progressDetail")]
    pub progress_detail: Option<Progress>,
    /// The daemon's own rendering of the progress (docker's deprecated `progress`).
    #[serde(default, rename = "progress", deserialize_with = "null_default")]
    pub progress_message: String,
    #[serde(default, deserialize_with = "null_default")]
    pub id: String,
    #[serde(default, deserialize_with = "null_default")]
    pub from: String,
    #[serde(default, deserialize_with = "null_default")]
    pub time: i64,
    #[serde(default, rename = "timeNano", deserialize_with = "null_default")]
    pub time_nano: i64,
    #[serde(default, rename = "errorDetail")]
    pub error_detail: Option<JsonError>,
    #[serde(default, deserialize_with = "null_default")]
    pub error: String,
    #[serde(default)]
    pub aux: Option<serde_json::Value>,
}

impl JsonMessage {
    /// The error this message carries: `errorDetail.message`, else the bare `error`.
    pub(crate) fn error_message(&self) -> Option<String> {
        match &self.error_detail {
            Some(d) => Some(if d.message.is_empty() { self.error.clone() } else { d.message.clone() }),
            None if !self.error.is_empty() => Some(self.error.clone()),
            None => None,
        }
    }

    /// Whether this message updates the line of its id on a terminal.
    fn is_progress_line(&self) -> bool {
        !self.id.is_empty() && (self.progress_detail.is_some() || !self.progress_message.is_empty())
    }

    /// The time, id and `from` prefix docker puts before a message.
    fn prefix(&self) -> String {
        let mut s = String::new();
        if self.time_nano != 0 {
            s.push_str(&timeutil::format_rfc3339_nano_fixed(self.time_nano));
            s.push(' ');
        } else if self.time != 0 {
            s.push_str(&timeutil::format_rfc3339_nano_fixed(self.time.saturating_mul(1_000_000_000)));
            s.push(' ');
        }
        if !self.id.is_empty() {
            s.push_str(&self.id);
            s.push_str(": ");
        }
        if !self.from.is_empty() {
            s.push_str(&format!("(from {}) ", self.from));
        }
        s
    }
}

/// What docker prints for a message when its output is not a terminal (`Display` with
/// no terminal): nothing for progress with a position; `status progress` without a
/// newline for the daemon-rendered progress; stream text as is; else `status` and a
/// newline. Errors are handled by the caller.
pub(crate) fn plain_text(jm: &JsonMessage) -> String {
    if jm.progress_detail.as_ref().is_some_and(Progress::shown) {
        return String::new();
    }
    let mut s = jm.prefix();
    if !jm.progress_message.is_empty() {
        s.push_str(&format!("{} {}", jm.status, jm.progress_message));
    } else if !jm.stream.is_empty() {
        s.push_str(&jm.stream);
    } else {
        s.push_str(&jm.status);
        s.push('\n');
    }
    s
}

/// Splits a byte stream into JSON messages (Go's `json.Decoder` on the body): progress
/// messages by default, any JSON stream (`stats`, `events`) with another `T`.
#[derive(Debug)]
pub(crate) struct Decoder<T = JsonMessage> {
    buf: Vec<u8>,
    kind: std::marker::PhantomData<fn() -> T>,
}

impl<T> Default for Decoder<T> {
    fn default() -> Self {
        Decoder { buf: Vec::new(), kind: std::marker::PhantomData }
    }
}

impl<T: serde::de::DeserializeOwned> Decoder<T> {
    /// Adds `chunk` and returns the messages it completes. A malformed message is an
    /// error, and nothing after it is read.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Vec<Result<T, String>> {
        self.buf.extend_from_slice(chunk);
        let mut out = Vec::new();
        let mut it = serde_json::Deserializer::from_slice(&self.buf).into_iter::<T>();
        let consumed = loop {
            match it.next() {
                Some(Ok(m)) => out.push(Ok(m)),
                Some(Err(e)) if e.is_eof() => break it.byte_offset(),
                Some(Err(e)) => {
                    out.push(Err(e.to_string()));
                    break self.buf.len();
                }
                None => break it.byte_offset(),
            }
        };
        self.buf.drain(..consumed);
        out
    }

    /// Fails if the stream ended inside a message.
    pub(crate) fn finish(&self) -> Result<(), String> {
        if self.buf.iter().all(u8::is_ascii_whitespace) {
            Ok(())
        } else {
            Err("unexpected EOF".into())
        }
    }
}

/// Where messages are shown.
pub(crate) trait Display {
    /// Shows one message (never an error or aux message).
    fn show(&mut self, jm: &JsonMessage) -> anyhow::Result<()>;
    /// Called once at the end, also after an error.
    fn finish(&mut self) -> anyhow::Result<()>;
}

/// Docker's display off a terminal.
pub(crate) struct Plain<W: Write> {
    pub out: W,
}

impl<W: Write> Display for Plain<W> {
    fn show(&mut self, jm: &JsonMessage) -> anyhow::Result<()> {
        self.out.write_all(plain_text(jm).as_bytes())?;
        self.out.flush()?;
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        self.out.flush()?;
        Ok(())
    }
}

/// The width of the terminal on stdout, if it is one (0 for a terminal that reports
/// no size, which docker takes as is).
pub(crate) fn terminal_width() -> Option<usize> {
    // SAFETY: TIOCGWINSZ only fills in the winsize struct passed by pointer.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    (r == 0).then_some(ws.ws_col as usize)
}

/// Docker's display on a terminal: a line per id, redrawn in place.
pub(crate) struct Terminal {
    multi: indicatif::MultiProgress,
    bars: HashMap<String, indicatif::ProgressBar>,
}

impl Terminal {
    pub(crate) fn new() -> Terminal {
        Terminal { multi: Self::new_multi(), bars: HashMap::new() }
    }

    fn new_multi() -> indicatif::MultiProgress {
        indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stdout())
    }

    /// Leaves the current lines as they are; later messages start below them.
    fn reset(&mut self) {
        for bar in self.bars.values() {
            bar.finish();
        }
        // indicatif leaves the cursor at the end of the last line it drew.
        let drew = !self.bars.is_empty() && !self.multi.is_hidden();
        self.bars.clear();
        self.multi = Self::new_multi();
        if drew {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(b"\n");
            let _ = out.flush();
        }
    }
}

impl Display for Terminal {
    fn show(&mut self, jm: &JsonMessage) -> anyhow::Result<()> {
        if !jm.is_progress_line() {
            self.reset();
            let mut out = std::io::stdout().lock();
            out.write_all(plain_text(&JsonMessage { progress_detail: None, ..jm.clone() }).as_bytes())?;
            out.flush()?;
            return Ok(());
        }
        let width = terminal_width().unwrap_or(200);
        let progress = match &jm.progress_detail {
            Some(p) => p.render(width, units::now_nanos() / 1_000_000_000),
            None => jm.progress_message.clone(),
        };
        let line = format!("{}{} {}", jm.prefix(), jm.status, progress);
        let bar = self.bars.entry(jm.id.clone()).or_insert_with(|| {
            let bar = self.multi.add(indicatif::ProgressBar::no_length());
            if let Ok(style) = indicatif::ProgressStyle::with_template("{msg}") {
                bar.set_style(style);
            }
            bar
        });
        bar.set_message(line);
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        self.reset();
        Ok(())
    }
}

/// Reads a message stream to its end, showing each message on `display`. An error
/// message (or a malformed stream) ends it with that error.
pub(crate) async fn display_stream<S, E>(mut stream: S, display: &mut dyn Display) -> anyhow::Result<()>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<anyhow::Error>,
{
    let mut decoder = Decoder::<JsonMessage>::default();
    let result = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(Into::into)?;
            for msg in decoder.push(&chunk) {
                let jm = msg.map_err(anyhow::Error::msg)?;
                if let Some(e) = jm.error_message() {
                    return Err(anyhow!(e));
                }
                if jm.aux.is_some() {
                    continue;
                }
                display.show(&jm)?;
            }
        }
        decoder.finish().map_err(anyhow::Error::msg)
    }
    .await;
    display.finish()?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(text: &str) -> Vec<JsonMessage> {
        let mut d = Decoder::<JsonMessage>::default();
        let mut out = Vec::new();
        // Feed byte by byte: messages split across chunks must still decode.
        for b in text.as_bytes() {
            out.extend(d.push(std::slice::from_ref(b)).into_iter().map(|m| m.expect("message")));
        }
        d.finish().expect("complete");
        out
    }

    /// The output of the docker 28.2 CLI for the same stream with stdout not a terminal.
    #[test]
    fn plain_output_like_docker() {
        let stream = concat!(
            r#"{"status":"Loading layer","progressDetail":{"current":100,"total":1000},"progress":"[=>  ] 100B/1kB","id":"abc123"}"#,
            "\r\n",
            r#"{"status":"Loading layer","progressDetail":{},"id":"def456"}"#,
            "\r\n",
            r#"{"status":"Waiting","id":"xyz"}"#,
            "\r\n",
            r#"{"stream":"Loaded image: busybox:latest\n"}"#,
            r#"{"aux":{"ID":"x"}}"#,
            r#"{"status":"sha256:cc","progressDetail":null,"id":null}"#,
        );
        let mut out = Vec::new();
        for jm in messages(stream) {
            if jm.aux.is_none() {
                out.extend_from_slice(plain_text(&jm).as_bytes());
            }
        }
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "def456: Loading layer\nxyz: Waiting\nLoaded image: busybox:latest\nsha256:cc\n"
        );
    }

    #[tokio::test]
    async fn errors_end_the_stream() {
        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from_static(b"{\"stream\":\"a\\n\"}\r\n{\"errorDetail\":{\"message\":\"unexpected EOF\"},")),
            Ok(Bytes::from_static(b"\"error\":\"unexpected EOF\"}\r\n{\"stream\":\"never\\n\"}")),
        ];
        let mut display = Plain { out: Vec::new() };
        let err = display_stream(futures_util::stream::iter(chunks), &mut display).await.expect_err("error");
        assert_eq!(err.to_string(), "unexpected EOF");
        assert_eq!(display.out, b"a\n");

        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![Ok(Bytes::from_static(b"{\"stream\":\"a"))];
        let mut display = Plain { out: Vec::new() };
        let err = display_stream(futures_util::stream::iter(chunks), &mut display).await.expect_err("truncated");
        assert_eq!(err.to_string(), "unexpected EOF");

        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![Ok(Bytes::from_static(b"{\"error\":\"bad tar\"}"))];
        let mut display = Plain { out: Vec::new() };
        let err = display_stream(futures_util::stream::iter(chunks), &mut display).await.expect_err("bare error");
        assert_eq!(err.to_string(), "bad tar");
    }

    #[test]
    fn deprecated_progress_text_is_printed_without_newline() {
        let jm = messages(r#"{"status":"Downloading","progress":"[==>] 1/2","id":"a"}"#).remove(0);
        assert_eq!(plain_text(&jm), "a: Downloading [==>] 1/2");
    }

    #[test]
    fn progress_bar_text_like_docker() {
        let p = Progress { current: 100, total: 1000, ..Progress::default() };
        assert_eq!(p.render(200, 0), format!("[=====>{}]     100B/1kB", " ".repeat(45)));
        assert_eq!(p.render(80, 0), "    100B/1kB");
        let p = Progress { current: 2000, total: 1000, ..Progress::default() };
        assert_eq!(p.render(80, 0), "     2kB");
        let p = Progress { current: 500, total: 0, ..Progress::default() };
        assert_eq!(p.render(80, 0), "    500B");
        let p = Progress { current: 3, total: 10, units: "layers".into(), ..Progress::default() };
        assert_eq!(p.render(80, 0), "3/10 layers");
        let p = Progress { current: 250, total: 1000, start: 100, ..Progress::default() };
        // 10 s for 250 bytes: 750 bytes left take 30 s.
        assert_eq!(p.render(80, 110), "    250B/1kB 30s");
        assert_eq!(Progress::default().render(200, 0), "");
    }
}
