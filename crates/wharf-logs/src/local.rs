//! The `local` format, Docker's: each entry is a frame `[u32 BE size][LogEntry][u32 BE size]`
//! where `LogEntry` is the protobuf message of Docker's `logdriver` package:
//!
//! ```text
//! message LogEntry { string source = 1; int64 time_nano = 2; bytes line = 3; bool partial = 4;
//!                    PartialLogEntryMetadata partial_log_metadata = 5; repeated LogAttr attrs = 6; }
//! message PartialLogEntryMetadata { bool last = 1; string id = 2; int32 ordinal = 3; }
//! ```
//!
//! `line` has no newline. A line cut into pieces is a run of `partial` entries sharing an `id`
//! with `ordinal` 1, 2, …; the piece that ends the line has `last` set. A reader appends `\n`
//! to an entry that is not partial or is the last piece. The size repeated after the message
//! lets a reader walk the file backwards for `tail`. `attrs` (labels, env, tag) is not written
//! and is ignored when read.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use prost::Message;

use crate::{LogEntry, Stream};

/// Bytes of each size field.
const SIZE_LEN: u64 = 4;
/// The largest message accepted when reading, as Docker's `maxMsgLen`.
const MAX_MESSAGE: u32 = 1_000_000;

/// Docker's `logdriver.LogEntry`.
#[derive(Clone, PartialEq, Message)]
struct ProtoEntry {
    #[prost(string, tag = "1")]
    source: String,
    #[prost(int64, tag = "2")]
    time_nano: i64,
    #[prost(bytes = "vec", tag = "3")]
    line: Vec<u8>,
    #[prost(bool, tag = "4")]
    partial: bool,
    #[prost(message, optional, tag = "5")]
    partial_log_metadata: Option<PartialMeta>,
}

/// Docker's `logdriver.PartialLogEntryMetadata`.
#[derive(Clone, PartialEq, Message)]
struct PartialMeta {
    #[prost(bool, tag = "1")]
    last: bool,
    #[prost(string, tag = "2")]
    id: String,
    #[prost(int32, tag = "3")]
    ordinal: i32,
}

/// Per-stream state of the writer: the run of partial entries in progress.
#[derive(Debug, Default)]
pub(crate) struct PartialRuns {
    runs: [Option<(String, i32)>; 2],
    counter: u64,
}

impl PartialRuns {
    fn slot(&mut self, stream: Stream) -> &mut Option<(String, i32)> {
        &mut self.runs[match stream {
            Stream::Stdout => 0,
            Stream::Stderr => 1,
        }]
    }

    /// A fresh id for a run (Docker uses a random 64-hex-digit id; nothing reads it back, it
    /// only has to differ between runs).
    fn new_id(&mut self, time_nanos: i64) -> String {
        self.counter += 1;
        format!("{:016x}{:08x}{:016x}", time_nanos as u64, std::process::id(), self.counter)
    }
}

/// Appends the frame of one entry to `out`.
pub(crate) fn encode(runs: &mut PartialRuns, stream: Stream, line: &[u8], time_nanos: i64, out: &mut Vec<u8>) {
    let (body, complete) = match line.strip_suffix(b"\n") {
        Some(body) => (body, true),
        None => (line, false),
    };
    let meta = if !complete {
        if runs.slot(stream).is_none() {
            let id = runs.new_id(time_nanos);
            *runs.slot(stream) = Some((id, 0));
        }
        let (id, ordinal) = runs.slot(stream).as_mut().expect("run just started");
        *ordinal += 1;
        Some(PartialMeta { last: false, id: id.clone(), ordinal: *ordinal })
    } else {
        runs.slot(stream).take().map(|(id, ordinal)| PartialMeta { last: true, id, ordinal: ordinal + 1 })
    };
    let entry = ProtoEntry {
        source: stream.as_str().to_string(),
        time_nano: time_nanos,
        line: body.to_vec(),
        partial: meta.is_some(),
        partial_log_metadata: meta,
    };
    let size = (entry.encoded_len() as u32).to_be_bytes();
    out.reserve(entry.encoded_len() + 2 * SIZE_LEN as usize);
    out.extend_from_slice(&size);
    entry.encode(out).expect("a Vec grows as needed");
    out.extend_from_slice(&size);
}

/// What the start of a buffer holds.
pub(crate) enum Decoded {
    /// A whole frame with an entry, and its length.
    Entry(LogEntry, usize),
    /// A whole frame that is not a stdout/stderr entry; skip its length.
    Skip(usize),
    /// The frame is not all there yet.
    Incomplete,
    /// Not a frame: the file is damaged here.
    Corrupt(&'static str),
}

/// Decodes the frame at the start of `buf`.
pub(crate) fn decode(buf: &[u8]) -> Decoded {
    let Some(size) = read_size(buf, 0) else { return Decoded::Incomplete };
    if size > MAX_MESSAGE {
        return Decoded::Corrupt("log message is too large");
    }
    let len = size as usize;
    let frame = len + 2 * SIZE_LEN as usize;
    if buf.len() < frame {
        return Decoded::Incomplete;
    }
    if read_size(buf, len + SIZE_LEN as usize) != Some(size) {
        return Decoded::Corrupt("log message header and footer indicate different message sizes");
    }
    let Ok(entry) = ProtoEntry::decode(&buf[SIZE_LEN as usize..SIZE_LEN as usize + len]) else {
        return Decoded::Skip(frame);
    };
    let Some(stream) = Stream::from_name(&entry.source) else { return Decoded::Skip(frame) };
    let mut bytes = entry.line;
    if !entry.partial || entry.partial_log_metadata.is_some_and(|m| m.last) {
        bytes.push(b'\n');
    }
    Decoded::Entry(LogEntry { stream, time_nanos: entry.time_nano, bytes }, frame)
}

fn read_size(buf: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = buf.get(at..at + SIZE_LEN as usize)?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}

fn read_size_at(file: &File, at: u64) -> io::Result<u32> {
    let mut b = [0u8; SIZE_LEN as usize];
    file.read_exact_at(&mut b, at)?;
    Ok(u32::from_be_bytes(b))
}

/// The end of the last whole frame within the first `size` bytes of `file` (a frame being
/// written, or torn by a crash, is not whole).
pub(crate) fn complete_end(file: &File, size: u64) -> io::Result<u64> {
    if size == 0 || frame_ends_at(file, size)? {
        return Ok(size);
    }
    // The end is not on a frame boundary: walk the frames from the start.
    let mut pos = 0;
    loop {
        if pos + 2 * SIZE_LEN > size {
            return Ok(pos);
        }
        let len = u64::from(read_size_at(file, pos)?);
        let next = pos + len + 2 * SIZE_LEN;
        if len > u64::from(MAX_MESSAGE) || next > size || u64::from(read_size_at(file, next - SIZE_LEN)?) != len {
            return Ok(pos);
        }
        pos = next;
    }
}

/// Whether a whole frame ends at `end`: its footer and header agree.
fn frame_ends_at(file: &File, end: u64) -> io::Result<bool> {
    if end < 2 * SIZE_LEN {
        return Ok(false);
    }
    let len = u64::from(read_size_at(file, end - SIZE_LEN)?);
    if len > u64::from(MAX_MESSAGE) || len + 2 * SIZE_LEN > end {
        return Ok(false);
    }
    Ok(u64::from(read_size_at(file, end - len - 2 * SIZE_LEN)?) == len)
}

/// Where the last `n` (≥ 1) entries before `end` (a frame boundary) start, and how many there
/// are (fewer than `n` when the file has fewer).
pub(crate) fn tail_start(file: &File, end: u64, n: usize) -> io::Result<(u64, usize)> {
    let mut pos = end;
    let mut found = 0;
    while found < n && pos > 0 {
        if !frame_ends_at(file, pos)? {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "log message header and footer indicate different message sizes",
            ));
        }
        pos -= u64::from(read_size_at(file, pos - SIZE_LEN)?) + 2 * SIZE_LEN;
        found += 1;
    }
    Ok((pos, found))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(runs: &mut PartialRuns, stream: Stream, line: &[u8], t: i64) -> Vec<u8> {
        let mut out = Vec::new();
        encode(runs, stream, line, t, &mut out);
        out
    }

    #[test]
    fn frames_like_docker() {
        // `hi\n` at 2024-01-02T03:04:05.123456789Z as Docker's gogo-protobuf marshaller frames it
        // (proto3: fields in tag order, default values left out, no newline in `line`).
        let want: &[u8] = &[
            0, 0, 0, 0x16, // size 22
            0x0a, 6, b's', b't', b'd', b'o', b'u', b't', // source
            0x10, 0x95, 0xfe, 0xf3, 0xba, 0xf3, 0x96, 0x9a, 0xd3, 0x17, // time_nano
            0x1a, 2, b'h', b'i', // line, newline stripped
            0, 0, 0, 0x16,
        ];
        let got = frame(&mut PartialRuns::default(), Stream::Stdout, b"hi\n", 1_704_164_645_123_456_789);
        assert_eq!(got, want);
        match decode(&got) {
            Decoded::Entry(e, n) => {
                assert_eq!(n, got.len());
                assert_eq!(
                    e,
                    LogEntry { stream: Stream::Stdout, time_nanos: 1_704_164_645_123_456_789, bytes: b"hi\n".to_vec() }
                );
            }
            _ => panic!("not decoded"),
        }
    }

    #[test]
    fn partial_runs_round_trip() {
        let mut runs = PartialRuns::default();
        let mut file = Vec::new();
        for piece in [&b"aaa"[..], b"bbb", b"c\n", b"d\n", b"tail"] {
            file.extend(frame(&mut runs, Stream::Stderr, piece, 5));
        }
        let mut got = Vec::new();
        let mut at = 0;
        while let Decoded::Entry(e, n) = decode(&file[at..]) {
            got.push(e.bytes);
            at += n;
        }
        assert_eq!(at, file.len());
        assert_eq!(got, [&b"aaa"[..], b"bbb", b"c\n", b"d\n", b"tail"]);
        // The ordinals and the `last` flag are Docker's.
        let meta = |n: usize| {
            let mut at = 0;
            for _ in 0..n {
                at += read_size(&file, at).unwrap() as usize + 8;
            }
            let len = read_size(&file, at).unwrap() as usize;
            ProtoEntry::decode(&file[at + 4..at + 4 + len]).unwrap().partial_log_metadata
        };
        let (m0, m2) = (meta(0).unwrap(), meta(2).unwrap());
        assert_eq!((m0.ordinal, m0.last), (1, false));
        assert_eq!((m2.ordinal, m2.last, m2.id == m0.id), (3, true, true));
        assert!(meta(3).is_none());
        assert_ne!(meta(4).unwrap().id, m0.id);
    }

    #[test]
    fn torn_and_damaged_frames() {
        let f = frame(&mut PartialRuns::default(), Stream::Stdout, b"hello\n", 1);
        for cut in 0..f.len() {
            assert!(matches!(decode(&f[..cut]), Decoded::Incomplete), "{cut}");
        }
        let mut bad = f.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(matches!(decode(&bad), Decoded::Corrupt(_)));
    }

    #[test]
    fn tail_and_complete_end_walk_frames() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("container.log");
        let mut data = Vec::new();
        let mut runs = PartialRuns::default();
        let mut ends = vec![0u64];
        for i in 0..10 {
            data.extend(frame(&mut runs, Stream::Stdout, format!("line {i}\n").as_bytes(), i));
            ends.push(data.len() as u64);
        }
        let whole = data.len() as u64;
        data.extend(&frame(&mut runs, Stream::Stdout, b"torn\n", 10)[..7]);
        std::fs::write(&path, &data).unwrap();
        let file = File::open(&path).unwrap();
        assert_eq!(complete_end(&file, data.len() as u64).unwrap(), whole);
        assert_eq!(complete_end(&file, whole).unwrap(), whole);
        assert_eq!(tail_start(&file, whole, 3).unwrap(), (ends[7], 3));
        assert_eq!(tail_start(&file, whole, 30).unwrap(), (0, 10));
    }
}
