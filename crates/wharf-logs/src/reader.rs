//! Reading a container's log for `docker logs`: history (`tail`, `since`, `until`) across the
//! rotated files, then, with `follow`, what is appended, across rotations.
//!
//! Files are read oldest first: `path.N`, …, `path.1`, then `path`. `path` is read up to its size
//! when reading began (so that a reader of a busy log ends); an entry not yet whole there (being
//! written, or torn by a crash) is left out. `tail` counts entries from the end across files and
//! reads backwards only as far as needed (a newline scan for `json-file`, the size trailers for
//! `local`); as in Docker, `tail` is applied first and `since`/`until` filter what it selected.
//! With `since` alone, rotated files whose last entry is older are not read at all.
//!
//! Following polls: it reads what was appended to the file it holds open, and when `path` is
//! replaced (rotation renamed it to `path.1`, or `max-file=1` unlinked it), finishes the old file,
//! reads any rotated file it missed (several rotations between two polls), then continues with
//! the new `path` from its start. A `json-file` line that is not a log entry (damaged) is
//! skipped; a damaged `local` frame ends the read with `InvalidData` (frames cannot be resynced).

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::local::{self, Decoded};
use crate::lock::DirLock;
use crate::writer::{complete_end, rotated_path};
use crate::{json, LogEntry, LogFormat};

/// Bytes read at a time.
const READ_CHUNK: usize = 64 * 1024;

/// What to read, and how to stop following.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The format of the files (the container's log driver; see [`LogFormat::for_driver`]).
    pub format: LogFormat,
    /// Only entries at or after this time (Unix nanoseconds), as Docker's `since`.
    pub since: Option<i64>,
    /// Only entries at or before this time (Unix nanoseconds), as Docker's `until`; reading
    /// ends at the first later entry, and following ends once the clock passes it.
    pub until: Option<i64>,
    /// Only the last N entries of the history (`None`: all; `Some(0)`: none, e.g. to follow
    /// only new output). Entries of both streams count.
    pub tail: Option<usize>,
    /// After the history, keep reading what is appended, until stopped.
    pub follow: bool,
    /// Set it to end following: the reader then reads what was written up to that moment and
    /// returns. Without it, following ends only when the callback returns `false`.
    pub stop: Option<Arc<AtomicBool>>,
    /// How often a follower looks for new data and rotations (default 50 ms).
    pub poll_interval: Duration,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: LogFormat::JsonFile,
            since: None,
            until: None,
            tail: None,
            follow: false,
            stop: None,
            poll_interval: Duration::from_millis(50),
        }
    }
}

impl ReadOptions {
    fn stop_requested(&self) -> bool {
        self.stop.as_ref().is_some_and(|s| s.load(Ordering::Acquire))
    }
}

/// Reads the log at `path` (with its rotated files `path.1`, `path.2`, …), calling `out` with
/// each entry in order; `out` returns `false` to stop (the client went away). Returns once the
/// history is read (without `follow`), or when following is stopped through
/// [`ReadOptions::stop`], by `until`, or by `out`.
///
/// A log that does not exist (a container that never ran) reads as empty; a follower waits for
/// it to appear. The function blocks (reads files, sleeps between polls): run it on a blocking
/// thread. From the daemon:
///
/// ```ignore
/// let stop = Arc::new(AtomicBool::new(false));
/// let opts = ReadOptions { format, since, until, tail, follow, stop: Some(stop.clone()), ..Default::default() };
/// let (tx, rx) = tokio::sync::mpsc::channel::<LogEntry>(256);
/// let reader = tokio::task::spawn_blocking(move || read_logs(&path, &opts, &mut |e| tx.blocking_send(e).is_ok()));
/// // Stream `rx` into the response. When the container stops (or the client disconnects while
/// // no output comes: `tx.closed()`), `stop.store(true, Ordering::Release)`: the reader sends
/// // what was written until then and returns; `rx` then ends.
/// ```
pub fn read_logs(path: &Path, opts: &ReadOptions, out: &mut dyn FnMut(LogEntry) -> bool) -> io::Result<()> {
    let format = opts.format;
    let mut emit = Emitter { since: opts.since, until: opts.until, out };
    let Snapshot { mut current, mut rotated } = snapshot(path)?;
    let last_seen = current.as_ref().or(rotated.first()).map(|s| s.id);
    let current_size = match &current {
        Some(c) => c.file.metadata()?.len(),
        None => 0,
    };

    // Decide where to start in each file; `rotated` is newest first.
    match opts.tail {
        Some(0) => {
            rotated.clear();
            if let Some(c) = current.as_mut() {
                c.pos = complete_end(&c.file, current_size, format)?;
            }
        }
        Some(n) => {
            let mut wanted = n;
            if let Some(c) = current.as_mut() {
                let (start, found) = tail_start(&c.file, format, current_size, wanted)?;
                c.pos = start;
                wanted -= found;
            }
            let mut keep = 0;
            for r in rotated.iter_mut() {
                if wanted == 0 {
                    break;
                }
                let (start, found) = tail_start(&r.file, format, r.file.metadata()?.len(), wanted)?;
                r.pos = start;
                wanted -= found;
                keep += 1;
            }
            rotated.truncate(keep);
        }
        None => {
            if let Some(since) = opts.since {
                // A file whose last entry is older than `since` is skipped, and so are older files.
                let mut keep = rotated.len();
                for (i, r) in rotated.iter().enumerate() {
                    if last_time(&r.file, format, r.file.metadata()?.len())?.is_some_and(|t| t < since) {
                        keep = i;
                        break;
                    }
                }
                rotated.truncate(keep);
            }
        }
    }

    for mut r in rotated.into_iter().rev() {
        if read_range(&mut r, format, None, &mut emit)? == Flow::Stop {
            return Ok(());
        }
    }
    if let Some(c) = current.as_mut() {
        if read_range(c, format, Some(current_size), &mut emit)? == Flow::Stop {
            return Ok(());
        }
    }
    if opts.follow {
        follow(path, opts, current, last_seen, &mut emit)?;
    }
    Ok(())
}

/// Follows `path` from `current` (at its read position) until stopped.
fn follow(
    path: &Path,
    opts: &ReadOptions,
    mut current: Option<Source>,
    mut last_seen: Option<FileId>,
    emit: &mut Emitter<'_>,
) -> io::Result<()> {
    let format = opts.format;
    let poll = opts.poll_interval.max(Duration::from_millis(1));
    loop {
        // Sampled before the pass, so that the pass reads everything written before the stop.
        let stopping = opts.stop_requested() || opts.until.is_some_and(|u| now_nanos() > u);
        loop {
            if let Some(c) = current.as_mut() {
                let size = c.file.metadata()?.len();
                if size < c.pos {
                    // Truncated in place by something else (copytruncate): start over.
                    c.pos = 0;
                }
                // When stopping, only up to the present size, lest a busy writer keep us forever.
                if read_range(c, format, stopping.then_some(size), emit)? == Flow::Stop {
                    return Ok(());
                }
            }
            let now = stat_id(path)?;
            if now.is_none() || now == current.as_ref().map(|c| c.id) {
                break;
            }
            // `path` was replaced. The old file is complete (the writer flushed it before the
            // rename): finish it.
            if let Some(c) = current.as_mut() {
                if read_range(c, format, None, emit)? == Flow::Stop {
                    return Ok(());
                }
            }
            let snap = snapshot(path)?;
            let Some(next) = snap.current else { break };
            if current.as_ref().is_some_and(|c| c.id == next.id) {
                break;
            }
            // Rotated files newer than the last file seen were written while we were not looking;
            // if that file is gone (rotated out, or unlinked with max-file=1), all of them are.
            let newer =
                last_seen.and_then(|id| snap.rotated.iter().position(|r| r.id == id)).unwrap_or(snap.rotated.len());
            for mut r in snap.rotated.into_iter().take(newer).rev() {
                if read_range(&mut r, format, None, emit)? == Flow::Stop {
                    return Ok(());
                }
            }
            last_seen = Some(next.id);
            current = Some(next);
        }
        if stopping {
            return Ok(());
        }
        std::thread::sleep(poll);
    }
}

fn now_nanos() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Whether to go on.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

/// Applies `since`/`until` and hands entries to the callback.
struct Emitter<'a> {
    since: Option<i64>,
    until: Option<i64>,
    out: &'a mut dyn FnMut(LogEntry) -> bool,
}

impl Emitter<'_> {
    fn emit(&mut self, entry: LogEntry) -> Flow {
        if self.since.is_some_and(|s| entry.time_nanos < s) {
            return Flow::Continue;
        }
        if self.until.is_some_and(|u| entry.time_nanos > u) || !(self.out)(entry) {
            return Flow::Stop;
        }
        Flow::Continue
    }
}

/// (device, inode): a file's identity, whatever its name.
type FileId = (u64, u64);

/// An open log file and where reading it is at (the start of the next entry).
struct Source {
    file: File,
    name: PathBuf,
    id: FileId,
    pos: u64,
}

fn open_source(path: &Path) -> io::Result<Option<Source>> {
    match File::open(path) {
        Ok(file) => {
            let m = file.metadata()?;
            Ok(Some(Source { file, name: path.to_path_buf(), id: (m.dev(), m.ino()), pos: 0 }))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn stat_id(path: &Path) -> io::Result<Option<FileId>> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(Some((m.dev(), m.ino()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The files of a log, opened together.
struct Snapshot {
    /// `path`.
    current: Option<Source>,
    /// `path.1`, `path.2`, …: newest first.
    rotated: Vec<Source>,
}

/// Opens `path` and its rotated files as one consistent set: no rotation happened while they
/// were opened (the writer's directory lock keeps it out; should the lock not be had, `path`
/// having kept its identity throughout shows it).
fn snapshot(path: &Path) -> io::Result<Snapshot> {
    let _lock = DirLock::acquire(path, false);
    let mut attempts = 0;
    loop {
        let current = open_source(path)?;
        let mut rotated = Vec::new();
        while let Some(r) = open_source(&rotated_path(path, rotated.len() as u32 + 1))? {
            rotated.push(r);
        }
        let settled = stat_id(path)? == current.as_ref().map(|c| c.id) && (current.is_some() || rotated.is_empty());
        attempts += 1;
        if settled || attempts >= 50 {
            return Ok(Snapshot { current, rotated });
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn decode(format: LogFormat, buf: &[u8]) -> Decoded {
    match format {
        LogFormat::JsonFile => match memchr::memchr(b'\n', buf) {
            Some(i) => match json::decode(&buf[..i]) {
                Some(entry) => Decoded::Entry(entry, i + 1),
                None => Decoded::Skip(i + 1),
            },
            None => Decoded::Incomplete,
        },
        LogFormat::Local => local::decode(buf),
    }
}

fn read_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    loop {
        match file.read_at(buf, at) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

/// Reads the whole entries of `src` from its position up to `limit` (or the end of the file),
/// leaving the position at the first entry not read.
fn read_range(src: &mut Source, format: LogFormat, limit: Option<u64>, emit: &mut Emitter<'_>) -> io::Result<Flow> {
    let end = limit.unwrap_or(u64::MAX);
    // Bytes from `src.pos` on, read but not yet decoded.
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let at = src.pos + buf.len() as u64;
        if at >= end {
            break;
        }
        let old = buf.len();
        let want = READ_CHUNK.min(usize::try_from(end - at).unwrap_or(READ_CHUNK));
        buf.resize(old + want, 0);
        let n = read_at(&src.file, &mut buf[old..], at)?;
        buf.truncate(old + n);
        if n == 0 {
            break;
        }
        let mut used = 0;
        loop {
            match decode(format, &buf[used..]) {
                Decoded::Entry(entry, len) => {
                    used += len;
                    src.pos += len as u64;
                    if emit.emit(entry) == Flow::Stop {
                        return Ok(Flow::Stop);
                    }
                }
                Decoded::Skip(len) => {
                    used += len;
                    src.pos += len as u64;
                }
                Decoded::Incomplete => break,
                Decoded::Corrupt(what) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{}: {what} at offset {}", src.name.display(), src.pos),
                    ));
                }
            }
        }
        buf.drain(..used);
    }
    Ok(Flow::Continue)
}

/// Where the last `n` (≥ 1) whole entries within the first `size` bytes of `file` start, and how
/// many there are.
fn tail_start(file: &File, format: LogFormat, size: u64, n: usize) -> io::Result<(u64, usize)> {
    let end = complete_end(file, size, format)?;
    match format {
        LogFormat::Local => local::tail_start(file, end, n),
        LogFormat::JsonFile => {
            if end == 0 {
                return Ok((0, 0));
            }
            // The last line ends at `end - 1`; the n-th newline before that ends the line before
            // the last n.
            let mut newlines = 0;
            let mut hi = end - 1;
            let mut buf = vec![0u8; READ_CHUNK];
            while hi > 0 {
                let lo = hi.saturating_sub(READ_CHUNK as u64);
                let chunk = &mut buf[..(hi - lo) as usize];
                file.read_exact_at(chunk, lo)?;
                for i in memchr::memrchr_iter(b'\n', chunk) {
                    newlines += 1;
                    if newlines == n {
                        return Ok((lo + i as u64 + 1, n));
                    }
                }
                hi = lo;
            }
            Ok((0, newlines + 1))
        }
    }
}

/// The time of the last whole entry of `file` (`None` if there is none, or it is damaged).
fn last_time(file: &File, format: LogFormat, size: u64) -> io::Result<Option<i64>> {
    let end = complete_end(file, size, format)?;
    let (start, found) = tail_start(file, format, end, 1)?;
    if found == 0 {
        return Ok(None);
    }
    let mut buf = vec![0u8; (end - start) as usize];
    file.read_exact_at(&mut buf, start)?;
    Ok(match decode(format, &buf) {
        Decoded::Entry(entry, _) => Some(entry.time_nanos),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::thread;
    use std::time::Instant;

    use super::*;
    use crate::{open_writer, LogOptions, LogWriter, Stream};

    const SEC: i64 = 1_000_000_000;

    fn collect(path: &Path, opts: &ReadOptions) -> Vec<String> {
        let mut got = Vec::new();
        read_logs(path, opts, &mut |e| {
            got.push(String::from_utf8(e.bytes).unwrap());
            true
        })
        .unwrap();
        got
    }

    fn lines(range: std::ops::Range<i64>) -> Vec<String> {
        range.map(|i| format!("line {i}\n")).collect()
    }

    /// Writes `line {i}` at second `i` for each `i` of `range`.
    fn write_lines(w: &mut dyn LogWriter, range: std::ops::Range<i64>) {
        for i in range {
            w.write(
                if i % 2 == 0 { Stream::Stdout } else { Stream::Stderr },
                format!("line {i}\n").as_bytes(),
                i * SEC,
            )
            .unwrap();
        }
        w.flush().unwrap();
    }

    /// A log of 20 lines in 4 files of 5 lines, in `format`.
    fn rotated_log(format: LogFormat) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.log");
        let driver = if format == LogFormat::Local { "local" } else { "json-file" };
        // Every line has the same length, so `max_size` of 5 lines holds exactly 5.
        let mut probe = Vec::new();
        match format {
            LogFormat::JsonFile => json::encode(Stream::Stdout, b"line 10\n", 10 * SEC, &mut probe),
            LogFormat::Local => {
                local::encode(&mut Default::default(), Stream::Stdout, b"line 10\n", 10 * SEC, &mut probe)
            }
        }
        let opts = LogOptions { max_size: Some(5 * probe.len() as u64), max_file: 4 };
        let mut w = open_writer(driver, &path, &opts).unwrap();
        write_lines(&mut *w, 10..30);
        (dir, path)
    }

    #[test]
    fn reads_rotated_files_in_order_with_tail_since_until() {
        for format in [LogFormat::JsonFile, LogFormat::Local] {
            let (_dir, path) = rotated_log(format);
            assert!(rotated_path(&path, 3).exists() && !rotated_path(&path, 4).exists());
            let base = ReadOptions { format, ..Default::default() };
            assert_eq!(collect(&path, &base), lines(10..30), "{format:?}");
            for (tail, want) in
                [(0, 30..30), (1, 29..30), (3, 27..30), (5, 25..30), (7, 23..30), (16, 14..30), (99, 10..30)]
            {
                let opts = ReadOptions { tail: Some(tail), ..base.clone() };
                assert_eq!(collect(&path, &opts), lines(want), "{format:?} tail {tail}");
            }
            let opts = ReadOptions { since: Some(17 * SEC), until: Some(22 * SEC), ..base.clone() };
            assert_eq!(collect(&path, &opts), lines(17..23), "{format:?}");
            let opts = ReadOptions { since: Some(26 * SEC), ..base.clone() };
            assert_eq!(collect(&path, &opts), lines(26..30), "{format:?}");
            // Tail first, then the filter, as Docker.
            let opts = ReadOptions { since: Some(12 * SEC), until: Some(27 * SEC), tail: Some(4), ..base.clone() };
            assert_eq!(collect(&path, &opts), lines(26..28), "{format:?}");
            // The callback stops the read.
            let mut n = 0;
            read_logs(&path, &base, &mut |_| {
                n += 1;
                n < 3
            })
            .unwrap();
            assert_eq!(n, 3);
        }
    }

    #[test]
    fn tail_reads_backwards_only_as_far_as_needed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        // A big file whose start is garbage: a tail of the end never reaches it.
        let mut data = vec![b'#'; 1 << 20];
        let mut w = Vec::new();
        for i in 0..1000 {
            json::encode(Stream::Stdout, format!("line {i}\n").as_bytes(), i * SEC, &mut w);
        }
        data.extend(&w);
        std::fs::write(&path, &data).unwrap();
        let file = File::open(&path).unwrap();
        let (start, found) = tail_start(&file, LogFormat::JsonFile, data.len() as u64, 3).unwrap();
        assert_eq!(found, 3);
        assert!(start > (1 << 20));
        let opts = ReadOptions { tail: Some(2), ..Default::default() };
        assert_eq!(collect(&path, &opts), lines(998..1000));
    }

    #[test]
    fn torn_last_line_and_damaged_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let mut data = Vec::new();
        json::encode(Stream::Stdout, b"line 1\n", SEC, &mut data);
        data.extend(b"not json\n\n");
        json::encode(Stream::Stdout, b"line 2\n", 2 * SEC, &mut data);
        json::encode(Stream::Stdout, b"line 3\n", 3 * SEC, &mut data);
        data.truncate(data.len() - 10);
        std::fs::write(&path, &data).unwrap();
        assert_eq!(collect(&path, &ReadOptions::default()), lines(1..3));
        assert_eq!(collect(&path, &ReadOptions { tail: Some(1), ..Default::default() }), lines(2..3));

        let local_path = dir.path().join("container.log");
        let mut data = Vec::new();
        let mut runs = Default::default();
        for i in 1..4 {
            local::encode(&mut runs, Stream::Stdout, format!("line {i}\n").as_bytes(), i * SEC, &mut data);
        }
        data.truncate(data.len() - 3);
        std::fs::write(&local_path, &data).unwrap();
        let opts = ReadOptions { format: LogFormat::Local, ..Default::default() };
        assert_eq!(collect(&local_path, &opts), lines(1..3));
        assert_eq!(collect(&local_path, &ReadOptions { tail: Some(1), ..opts }), lines(2..3));
    }

    #[test]
    fn missing_log_reads_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(collect(&dir.path().join("nope.log"), &ReadOptions::default()).is_empty());
    }

    /// Follows `path` on a thread, sending what it reads; returns the receiver, the stop flag
    /// and the thread.
    fn spawn_follower(
        path: &Path,
        opts: ReadOptions,
    ) -> (mpsc::Receiver<String>, Arc<AtomicBool>, thread::JoinHandle<io::Result<()>>) {
        spawn_follower_polling(path, opts, Duration::from_millis(5))
    }

    fn spawn_follower_polling(
        path: &Path,
        opts: ReadOptions,
        poll_interval: Duration,
    ) -> (mpsc::Receiver<String>, Arc<AtomicBool>, thread::JoinHandle<io::Result<()>>) {
        let stop = Arc::new(AtomicBool::new(false));
        let opts = ReadOptions { follow: true, stop: Some(stop.clone()), poll_interval, ..opts };
        let (tx, rx) = mpsc::channel();
        let path = path.to_path_buf();
        let reader = thread::spawn(move || {
            read_logs(&path, &opts, &mut |e| tx.send(String::from_utf8(e.bytes).unwrap()).is_ok())
        });
        (rx, stop, reader)
    }

    fn recv_n(rx: &mpsc::Receiver<String>, n: usize) -> Vec<String> {
        (0..n).map(|_| rx.recv_timeout(Duration::from_secs(10)).expect("follower too slow")).collect()
    }

    #[test]
    fn follow_picks_up_appended_lines_and_survives_rotation() {
        for format in [LogFormat::JsonFile, LogFormat::Local] {
            let (_dir, path) = rotated_log(format);
            let driver = if format == LogFormat::Local { "local" } else { "json-file" };
            let (rx, stop, reader) = spawn_follower(&path, ReadOptions { format, tail: Some(2), ..Default::default() });
            assert_eq!(recv_n(&rx, 2), lines(28..30));

            // A writer reopening the log appends and rotates (5 lines a file) while we follow;
            // a thread writes 200 lines in bursts of 10.
            let size = std::fs::metadata(rotated_path(&path, 1)).unwrap().len();
            let opts = LogOptions { max_size: Some(size), max_file: 10 };
            let mut w = open_writer(driver, &path, &opts).unwrap();
            let writer = thread::spawn(move || {
                for burst in 0..20 {
                    let from = 30 + burst * 10;
                    write_lines(&mut *w, from..from + 10);
                    // Some bursts follow each other at once: several rotations between two polls.
                    thread::sleep(Duration::from_millis(if burst % 3 == 0 { 0 } else { 12 }));
                }
            });
            assert_eq!(recv_n(&rx, 200), lines(30..230), "{format:?}");
            writer.join().unwrap();
            stop.store(true, Ordering::Release);
            reader.join().unwrap().unwrap();
            assert!(rx.try_recv().is_err());
        }
    }

    #[test]
    fn follow_reads_the_files_rotated_between_two_polls() {
        for (format, driver) in [(LogFormat::JsonFile, "json-file"), (LogFormat::Local, "local")] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("c.log");
            let opts = LogOptions { max_size: Some(150), max_file: 20 };
            let mut w = open_writer(driver, &path, &opts).unwrap();
            write_lines(&mut *w, 0..2);
            let (rx, stop, reader) =
                spawn_follower_polling(&path, ReadOptions { format, ..Default::default() }, Duration::from_millis(300));
            assert_eq!(recv_n(&rx, 2), lines(0..2));
            // The follower now sleeps; meanwhile the log rotates several times.
            write_lines(&mut *w, 2..30);
            assert!(rotated_path(&path, 4).exists());
            assert_eq!(recv_n(&rx, 28), lines(2..30), "{format:?}");
            stop.store(true, Ordering::Release);
            reader.join().unwrap().unwrap();
        }
    }

    #[test]
    fn follow_survives_max_file_1_and_waits_for_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let (rx, stop, reader) = spawn_follower(&path, ReadOptions::default());
        thread::sleep(Duration::from_millis(20));
        let mut w = open_writer("json-file", &path, &LogOptions { max_size: Some(200), max_file: 1 }).unwrap();
        for i in 0..40 {
            write_lines(&mut *w, i..i + 1);
            if i % 4 == 0 {
                thread::sleep(Duration::from_millis(10));
            }
        }
        // With max-file=1 lines of a file unlinked between two polls are lost (Docker too), but
        // everything still there when the follower looks is read, in order, once.
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut got = Vec::new();
        while got.last() != Some(&"line 39\n".to_string()) && Instant::now() < deadline {
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
                got.push(l);
            }
        }
        assert_eq!(got.last().map(String::as_str), Some("line 39\n"));
        let nums: Vec<i64> = got.iter().map(|l| l.trim_end().trim_start_matches("line ").parse().unwrap()).collect();
        assert!(nums.windows(2).all(|w| w[0] < w[1]), "{nums:?}");
        stop.store(true, Ordering::Release);
        reader.join().unwrap().unwrap();
    }

    #[test]
    fn stop_reads_what_was_written_then_returns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let mut w = open_writer("json-file", &path, &LogOptions::default()).unwrap();
        write_lines(&mut *w, 0..3);
        let (rx, stop, reader) = spawn_follower(&path, ReadOptions { tail: Some(0), ..Default::default() });
        thread::sleep(Duration::from_millis(30));
        write_lines(&mut *w, 3..5);
        // Stopped right after the write, before the follower polled: it still reads those lines.
        stop.store(true, Ordering::Release);
        reader.join().unwrap().unwrap();
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), lines(3..5));
    }

    #[test]
    fn follow_ends_when_until_passes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let mut w = open_writer("json-file", &path, &LogOptions::default()).unwrap();
        write_lines(&mut *w, 0..2);
        let until = now_nanos() + 50_000_000;
        let (rx, _stop, reader) = spawn_follower(&path, ReadOptions { until: Some(until), ..Default::default() });
        reader.join().unwrap().unwrap();
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), lines(0..2));
    }
}
