//! The file writers (`json-file`, `local`) with Docker's rotation, and the `none` writer.
//!
//! Rotation, as Docker's `loggerutils.LogFile` with `max-file` = N: `path.(N-2)` → `path.(N-1)`,
//! …, `path.1` → `path.2`, then `path` → `path.1`, and a new `path`; so at most N-1 rotated
//! files are kept and the oldest falls off. With N = 1 the current file is unlinked and a new one
//! created (Docker does the same rather than truncating in place, so that a reader still
//! following the old file reads it to its end). One difference from Docker: Docker rotates
//! before a write once the file has *reached* `max-size`, so a file may end one entry past it;
//! here a file is rotated before an entry that would take it *past* `max-size` (and never while
//! it is empty), so files stay within `max-size` unless a single entry is larger.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::lock::DirLock;
use crate::{json, local, LogFormat, LogOptions, LogWriter, Stream};

/// Size of the write buffer.
const BUFFER: usize = 64 * 1024;
/// Mode of created log files, as Docker.
const MODE: u32 = 0o640;

/// `path.N`.
pub(crate) fn rotated_path(path: &Path, n: u32) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

fn ignore_missing(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

/// Writes `json-file` or `local` entries to a file, rotating it.
pub(crate) struct FileWriter {
    path: PathBuf,
    out: BufWriter<File>,
    /// Bytes in the current file, buffered ones included.
    size: u64,
    max_size: Option<u64>,
    max_file: u32,
    format: LogFormat,
    scratch: Vec<u8>,
    runs: local::PartialRuns,
}

impl FileWriter {
    /// Opens (appends to) `path`.
    pub(crate) fn open(path: &Path, opts: &LogOptions, format: LogFormat) -> io::Result<FileWriter> {
        let max_file = opts.max_file.max(1);
        let file = {
            let _lock = DirLock::acquire(path, true);
            // Rotated files beyond max-file, left by an earlier, larger setting, would never be
            // rotated out again.
            let mut n = max_file;
            while rotated_path(path, n).exists() {
                ignore_missing(std::fs::remove_file(rotated_path(path, n)))?;
                n += 1;
            }
            OpenOptions::new().read(true).append(true).create(true).mode(MODE).open(path)?
        };
        let mut size = file.metadata()?.len();
        let end = complete_end(&file, size, format)?;
        if end < size {
            // A torn entry left by a crash: cut it off, or the next entry would be glued to it.
            file.set_len(end)?;
            size = end;
        }
        Ok(FileWriter {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(BUFFER, file),
            size,
            max_size: opts.max_size,
            max_file,
            format,
            scratch: Vec::new(),
            runs: local::PartialRuns::default(),
        })
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.out.flush()?;
        let _lock = DirLock::acquire(&self.path, true);
        if self.max_file >= 2 {
            // Shift the rotated files there are (Docker tries every index below max-file, which
            // costs as many failed renames as max-file is large); the rename onto
            // `path.(max_file-1)` replaces the oldest.
            let mut existing = 0;
            while existing + 1 < self.max_file && rotated_path(&self.path, existing + 1).exists() {
                existing += 1;
            }
            for n in (1..=existing.min(self.max_file - 2)).rev() {
                ignore_missing(std::fs::rename(rotated_path(&self.path, n), rotated_path(&self.path, n + 1)))?;
            }
            ignore_missing(std::fs::rename(&self.path, rotated_path(&self.path, 1)))?;
        } else {
            ignore_missing(std::fs::remove_file(&self.path))?;
        }
        let file = OpenOptions::new().append(true).create(true).truncate(false).mode(MODE).open(&self.path)?;
        file.set_len(0)?;
        // The old file is closed here, after the rename; everything in it was flushed above.
        self.out = BufWriter::with_capacity(BUFFER, file);
        self.size = 0;
        Ok(())
    }
}

impl LogWriter for FileWriter {
    fn write(&mut self, stream: Stream, line: &[u8], time_nanos: i64) -> io::Result<()> {
        if line.is_empty() {
            return Ok(());
        }
        self.scratch.clear();
        match self.format {
            LogFormat::JsonFile => json::encode(stream, line, time_nanos, &mut self.scratch),
            LogFormat::Local => local::encode(&mut self.runs, stream, line, time_nanos, &mut self.scratch),
        }
        let len = self.scratch.len() as u64;
        if let Some(max) = self.max_size {
            if self.size > 0 && self.size + len > max {
                self.rotate()?;
            }
        }
        self.out.write_all(&self.scratch)?;
        self.size += len;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The end of the last whole entry within the first `size` bytes of `file`.
pub(crate) fn complete_end(file: &File, size: u64, format: LogFormat) -> io::Result<u64> {
    match format {
        LogFormat::JsonFile => json_complete_end(file, size),
        LogFormat::Local => local::complete_end(file, size),
    }
}

/// Just past the last `\n` within the first `size` bytes of `file` (0 when there is none).
fn json_complete_end(file: &File, size: u64) -> io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut end = size;
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        file.read_exact_at(chunk, start)?;
        if let Some(i) = memchr::memrchr(b'\n', chunk) {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// The `none` driver: discards everything.
pub(crate) struct NoneWriter;

impl LogWriter for NoneWriter {
    fn write(&mut self, _stream: Stream, _line: &[u8], _time_nanos: i64) -> io::Result<()> {
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::open_writer;

    /// A `json-file` line of `log` at time 0 (`1970-01-01T00:00:00Z`): 61 bytes + `log.len()`.
    fn json_line(log: &str) -> String {
        format!("{{\"log\":\"{log}\\n\",\"stream\":\"stdout\",\"time\":\"1970-01-01T00:00:00Z\"}}\n")
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn appends_with_mode_0640_and_buffers_until_flush() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        std::fs::write(&path, json_line("old")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let mut w = open_writer("json-file", &path, &LogOptions::default()).unwrap();
        w.write(Stream::Stdout, b"new\n", 0).unwrap();
        assert_eq!(read(&path), json_line("old"));
        w.flush().unwrap();
        assert_eq!(read(&path), json_line("old") + &json_line("new"));

        let fresh = dir.path().join("fresh.log");
        drop(open_writer("json-file", &fresh, &LogOptions::default()).unwrap());
        assert_eq!(std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777, 0o640);
    }

    #[test]
    fn partial_lines_are_entries_without_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let mut w = open_writer("json-file", &path, &LogOptions::default()).unwrap();
        w.write(Stream::Stdout, b"abc", 1_000_000_000).unwrap();
        w.write(Stream::Stdout, b"def\n", 1_000_000_000).unwrap();
        drop(w);
        assert_eq!(
            read(&path),
            "{\"log\":\"abc\",\"stream\":\"stdout\",\"time\":\"1970-01-01T00:00:01Z\"}\n\
             {\"log\":\"def\\n\",\"stream\":\"stdout\",\"time\":\"1970-01-01T00:00:01Z\"}\n"
        );
    }

    #[test]
    fn rotates_with_max_size_and_max_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        // Each line is 63 bytes; 130 bytes hold two.
        let opts = LogOptions { max_size: Some(130), max_file: 3 };
        let mut w = open_writer("json-file", &path, &opts).unwrap();
        for i in 0..7 {
            w.write(Stream::Stdout, format!("l{i}\n").as_bytes(), 0).unwrap();
        }
        w.flush().unwrap();
        assert_eq!(read(&path), json_line("l6"));
        assert_eq!(read(&rotated_path(&path, 1)), json_line("l4") + &json_line("l5"));
        assert_eq!(read(&rotated_path(&path, 2)), json_line("l2") + &json_line("l3"));
        assert!(!rotated_path(&path, 3).exists());
        let mut names: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["c-json.log", "c-json.log.1", "c-json.log.2"]);
        for p in [path.clone(), rotated_path(&path, 1), rotated_path(&path, 2)] {
            assert!(std::fs::metadata(&p).unwrap().len() <= 130);
        }
    }

    #[test]
    fn a_huge_max_file_costs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let opts = LogOptions { max_size: Some(100), max_file: u32::MAX };
        let mut w = open_writer("json-file", &path, &opts).unwrap();
        for i in 0..4 {
            w.write(Stream::Stdout, format!("l{i}\n").as_bytes(), 0).unwrap();
        }
        w.flush().unwrap();
        assert_eq!(read(&rotated_path(&path, 3)), json_line("l0"));
        assert_eq!(read(&path), json_line("l3"));
    }

    #[test]
    fn max_file_1_starts_over_and_oversized_entries_are_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let opts = LogOptions { max_size: Some(100), max_file: 1 };
        let mut w = open_writer("json-file", &path, &opts).unwrap();
        w.write(Stream::Stdout, b"a\n", 0).unwrap();
        w.write(Stream::Stdout, b"b\n", 0).unwrap();
        w.flush().unwrap();
        assert_eq!(read(&path), json_line("b"));
        let big = "x".repeat(200);
        w.write(Stream::Stdout, format!("{big}\n").as_bytes(), 0).unwrap();
        w.write(Stream::Stdout, b"c\n", 0).unwrap();
        w.flush().unwrap();
        assert_eq!(read(&path), json_line("c"));
        assert!(!rotated_path(&path, 1).exists());
    }

    #[test]
    fn reopening_cuts_a_torn_line_and_drops_files_past_max_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        std::fs::write(&path, json_line("whole") + "{\"log\":\"tor").unwrap();
        for n in 1..=4 {
            std::fs::write(rotated_path(&path, n), json_line(&format!("r{n}"))).unwrap();
        }
        let opts = LogOptions { max_size: Some(1000), max_file: 3 };
        let mut w = open_writer("json-file", &path, &opts).unwrap();
        w.write(Stream::Stdout, b"next\n", 0).unwrap();
        drop(w);
        assert_eq!(read(&path), json_line("whole") + &json_line("next"));
        assert!(rotated_path(&path, 2).exists());
        assert!(!rotated_path(&path, 3).exists());
        assert!(!rotated_path(&path, 4).exists());
    }

    #[test]
    fn local_writes_docker_frames_and_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("container.log");
        let opts = LogOptions { max_size: Some(60), max_file: 2 };
        let mut w = open_writer("local", &path, &opts).unwrap();
        // Each frame: 8 + 2+6 (source) + 1+1 (time 1) + 2+len(line) bytes.
        for i in 0..4 {
            w.write(Stream::Stderr, format!("line{i}\n").as_bytes(), 1).unwrap();
        }
        w.flush().unwrap();
        let frame_len = 8 + 8 + 2 + 2 + 5;
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 2 * frame_len);
        assert_eq!(std::fs::metadata(rotated_path(&path, 1)).unwrap().len(), 2 * frame_len);
        assert!(!rotated_path(&path, 2).exists());
    }
}
