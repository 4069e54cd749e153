//! Container logs: the drivers the shim writes through (`json-file`, default, with `max-size` /
//! `max-file` rotation; `local`; `none`) and the reader `docker logs` uses (`follow`, `since`,
//! `until`, `tail`; `timestamps` is formatting, see [`format_timestamp`]).
//!
//! Invariants: a log line is written whole or not at all (a crash leaves at most a torn last
//! line, which the reader skips and the next writer opening the file cuts off); rotation never
//! loses a line a follower has not read yet (a follower finishes the renamed file, then reads any
//! rotated file it missed, then the new one).
//!
//! Both file formats are Docker's own, so a log file written by Docker's daemon reads here and
//! the other way round:
//! - `json-file`: one JSON object a line, `{"log":"hello\n","stream":"stdout","time":"…"}`,
//!   escaped exactly as Docker's `jsonlog` escapes (`<` as `\u003c`, a tab as `\u0009`, …).
//! - `local`: Docker's framing, `[u32 BE length][protobuf LogEntry][u32 BE length]`; defaults
//!   `max-size=20m` (20 MiB) and `max-file=5`. Docker also gzips rotated `local` files by default
//!   (`compress=true`); this crate never compresses: `compress` is validated and then ignored,
//!   so rotated files stay plain `path.N`, which Docker's reader also accepts.
//!
//! Who does what: the shim reads the container's pipes, cuts the bytes into lines with
//! [`LineSplitter`], stamps each line with the time it read it and writes it through the
//! [`LogWriter`] from [`open_writer`]; the daemon serves `GET /containers/{id}/logs` with
//! [`read_logs`] on a blocking thread. They share nothing but the files (and an advisory lock
//! on their directory, held only while files are renamed or listed).

mod json;
mod local;
mod lock;
mod options;
mod reader;
mod split;
mod writer;

use std::path::Path;

pub use options::{parse_log_options, LogOptError};
pub use reader::{read_logs, ReadOptions};
pub use split::{LineSplitter, Lines, MAX_LINE_LEN};

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl Stream {
    /// Docker's name of the stream: `stdout` or `stderr` (the `stream` field of `json-file`).
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }

    /// The stream named `name` (`stdout` or `stderr`).
    pub fn from_name(name: &str) -> Option<Stream> {
        match name {
            "stdout" => Some(Stream::Stdout),
            "stderr" => Some(Stream::Stderr),
            _ => None,
        }
    }
}

/// Options of a log driver (`--log-opt`), as [`parse_log_options`] reads them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogOptions {
    /// `max-size` in bytes: rotate when the current file would exceed it (`None`: never).
    pub max_size: Option<u64>,
    /// `max-file`: files kept, the current one included (at least 1; default 1; 0 counts as 1).
    pub max_file: u32,
}

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Its stream.
    pub stream: Stream,
    /// When it was written (Unix nanoseconds).
    pub time_nanos: i64,
    /// The bytes, newline included when the line had one (a partial line has none).
    pub bytes: Vec<u8>,
}

/// The on-disk format of a driver that can be read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LogFormat {
    /// `json-file`: one JSON object a line.
    #[default]
    JsonFile,
    /// `local`: length-framed protobuf entries, as Docker's `local` driver.
    Local,
}

impl LogFormat {
    /// The format the driver named `driver` writes; `None` for `none` and for drivers that
    /// cannot be read back (Docker answers those with `configured logging driver does not
    /// support reading`).
    pub fn for_driver(driver: &str) -> Option<LogFormat> {
        match driver {
            "json-file" => Some(LogFormat::JsonFile),
            "local" => Some(LogFormat::Local),
            _ => None,
        }
    }
}

/// Writes log entries (one per line) for one container.
///
/// Writes are buffered: a reader sees an entry only after [`flush`](LogWriter::flush) (or once
/// the buffer, 64 KiB, fills). The shim should flush after writing the lines of each chunk it
/// read from the container, so that `docker logs -f` sees output as soon as it is produced.
/// Dropping the writer flushes it.
pub trait LogWriter: Send {
    /// Writes one entry: `line` is one line with its `\n`, or a partial line (a line longer
    /// than 16 KiB is split into partial entries, as Docker does; see [`LineSplitter`]). An
    /// empty `line` writes nothing. Rotation, when due, happens before the entry is written, so
    /// an entry never spans two files.
    fn write(&mut self, stream: Stream, line: &[u8], time_nanos: i64) -> std::io::Result<()>;
    /// Makes what was written durable enough for readers (flush).
    fn flush(&mut self) -> std::io::Result<()>;
}

/// Opens the writer of `driver` (`json-file`, `local`, `none`) at `path`.
///
/// The file is opened for appending (created with mode 0640); a torn last entry left by a crash
/// is cut off first, and rotated files beyond `max_file` left by an earlier, larger setting are
/// removed. Unknown drivers fail with `InvalidInput` and Docker's text `logger: no log driver
/// named '…' is registered`. `opts` is used as given: take it from [`parse_log_options`], which
/// applies each driver's defaults (`local` rotates at 20 MiB × 5 files by default).
pub fn open_writer(driver: &str, path: &Path, opts: &LogOptions) -> std::io::Result<Box<dyn LogWriter>> {
    match driver {
        "none" => Ok(Box::new(writer::NoneWriter)),
        other => match LogFormat::for_driver(other) {
            Some(format) => Ok(Box::new(writer::FileWriter::open(path, opts, format)?)),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("logger: no log driver named '{other}' is registered"),
            )),
        },
    }
}

/// Formats a time for `docker logs --timestamps`: RFC 3339 in UTC with exactly nine fraction
/// digits, as Go's `jsonmessage.RFC3339NanoFixed` (`2024-01-02T03:04:05.120000000Z`). The
/// daemon writes it, then a space, before each entry's bytes.
pub fn format_timestamp(time_nanos: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(time_nanos).to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_nine_digits() {
        assert_eq!(format_timestamp(1_704_164_645_120_000_000), "2024-01-02T03:04:05.120000000Z");
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00.000000000Z");
    }

    #[test]
    fn drivers_and_streams() {
        assert_eq!(LogFormat::for_driver("json-file"), Some(LogFormat::JsonFile));
        assert_eq!(LogFormat::for_driver("local"), Some(LogFormat::Local));
        assert_eq!(LogFormat::for_driver("none"), None);
        assert_eq!(LogFormat::for_driver("syslog"), None);
        assert_eq!(Stream::from_name("stderr"), Some(Stream::Stderr));
        assert_eq!(Stream::Stdout.as_str(), "stdout");
        assert_eq!(Stream::from_name("stdin"), None);
    }

    #[test]
    fn unknown_driver_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = open_writer("syslog", &dir.path().join("x.log"), &LogOptions::default()).err().unwrap();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert_eq!(err.to_string(), "logger: no log driver named 'syslog' is registered");
    }

    #[test]
    fn none_discards() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        let mut w = open_writer("none", &path, &LogOptions::default()).unwrap();
        w.write(Stream::Stdout, b"hello\n", 1).unwrap();
        w.flush().unwrap();
        assert!(!path.exists());
    }
}
