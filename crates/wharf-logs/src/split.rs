//! Cutting a container's output into log lines, as Docker's `logger.Copier` does.
//!
//! Bytes come from a pipe in chunks of any size. A line is everything up to and including a
//! `\n`. A line longer than [`MAX_LINE_LEN`] (16 KiB) is emitted in pieces: whenever 16 KiB are
//! pending without a newline among them, those 16 KiB go out as a partial line (no `\n`), and
//! the rest of the line follows. So a line of exactly 16 KiB plus its `\n` becomes a 16 KiB
//! partial and then a line holding just `\n`, as in Docker. At end of input the pending bytes,
//! if any, go out as a last partial line.

/// The longest line emitted whole; longer lines are cut into pieces of this size (Docker's
/// 16 KiB copier buffer).
pub const MAX_LINE_LEN: usize = 16 * 1024;

/// Cuts byte chunks into lines (with their `\n`) and partial lines (pieces of a long line, or
/// the unterminated end of the output).
///
/// ```
/// use wharf_logs::LineSplitter;
///
/// let mut s = LineSplitter::new();
/// let lines: Vec<Vec<u8>> = s.push(b"one\ntw").map(<[u8]>::to_vec).collect();
/// assert_eq!(lines, [b"one\n".to_vec()]);
/// let lines: Vec<Vec<u8>> = s.push(b"o\nthr").map(<[u8]>::to_vec).collect();
/// assert_eq!(lines, [b"two\n".to_vec()]);
/// let rest: Vec<Vec<u8>> = s.finish().map(<[u8]>::to_vec).collect();
/// assert_eq!(rest, [b"thr".to_vec()]); // partial: no newline
/// ```
///
/// A line is complete when it ends with `\n` and partial otherwise, which is what
/// [`LogWriter::write`](crate::LogWriter::write) expects. Lines not taken from the iterator
/// before the next `push` stay pending and come out then. Memory held is at most 16 KiB plus
/// the largest chunk pushed.
#[derive(Debug, Clone)]
pub struct LineSplitter {
    buf: Vec<u8>,
    /// Bytes of `buf` already handed out.
    start: usize,
    max: usize,
}

impl Default for LineSplitter {
    fn default() -> Self {
        LineSplitter::new()
    }
}

impl LineSplitter {
    /// A splitter cutting at [`MAX_LINE_LEN`].
    pub fn new() -> LineSplitter {
        LineSplitter::with_max_len(MAX_LINE_LEN)
    }

    /// A splitter cutting lines longer than `max` bytes (at least 1) into pieces of `max` bytes.
    pub fn with_max_len(max: usize) -> LineSplitter {
        LineSplitter { buf: Vec::new(), start: 0, max: max.max(1) }
    }

    /// Adds `chunk` and returns the lines (and 16 KiB pieces) now complete.
    pub fn push(&mut self, chunk: &[u8]) -> Lines<'_> {
        self.buf.drain(..self.start);
        self.start = 0;
        self.buf.extend_from_slice(chunk);
        Lines { buf: &self.buf, start: &mut self.start, max: self.max, eof: false }
    }

    /// Ends the input (EOF on the pipe): returns what is pending, the last item being the
    /// unterminated end of the output (a partial line) if there is one. Once the iterator is
    /// consumed the splitter is empty, ready for new input.
    pub fn finish(&mut self) -> Lines<'_> {
        self.push(b"");
        Lines { buf: &self.buf, start: &mut self.start, max: self.max, eof: true }
    }

    /// Bytes pending: received but not yet handed out as a line.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }
}

/// The lines returned by [`LineSplitter::push`] and [`LineSplitter::finish`], borrowed from the
/// splitter.
#[derive(Debug)]
pub struct Lines<'a> {
    buf: &'a [u8],
    start: &'a mut usize,
    max: usize,
    eof: bool,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let buf: &'a [u8] = self.buf;
        let rest = &buf[*self.start..];
        if rest.is_empty() {
            return None;
        }
        let window = &rest[..rest.len().min(self.max)];
        let len = match memchr::memchr(b'\n', window) {
            Some(i) => i + 1,
            None if rest.len() >= self.max => self.max,
            None if self.eof => rest.len(),
            None => return None,
        };
        *self.start += len;
        Some(&rest[..len])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(lines: Lines<'_>) -> Vec<Vec<u8>> {
        lines.map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn lines_across_chunks() {
        let mut s = LineSplitter::new();
        assert_eq!(collect(s.push(b"a\nb")), [b"a\n".to_vec()]);
        assert_eq!(s.pending(), 1);
        assert_eq!(collect(s.push(b"c")), Vec::<Vec<u8>>::new());
        assert_eq!(collect(s.push(b"\n\nd\n")), [b"bc\n".to_vec(), b"\n".to_vec(), b"d\n".to_vec()]);
        assert_eq!(collect(s.finish()), Vec::<Vec<u8>>::new());
        assert_eq!(collect(s.push(b"x")), Vec::<Vec<u8>>::new());
        assert_eq!(collect(s.finish()), [b"x".to_vec()]);
        assert_eq!(s.pending(), 0);
    }

    #[test]
    fn long_lines_are_cut_at_16k_like_docker() {
        let mut s = LineSplitter::new();
        // 16 KiB - 1 plus its newline fits whole.
        let mut line = vec![b'a'; MAX_LINE_LEN - 1];
        line.push(b'\n');
        assert_eq!(collect(s.push(&line)), [line.clone()]);
        // 16 KiB plus newline: a 16 KiB partial, then the newline alone.
        let mut line = vec![b'b'; MAX_LINE_LEN];
        line.push(b'\n');
        assert_eq!(collect(s.push(&line)), [vec![b'b'; MAX_LINE_LEN], b"\n".to_vec()]);
        // 40000 bytes arriving in small chunks: two pieces, then the rest with its newline.
        let mut got = Vec::new();
        for chunk in vec![b'c'; 40_000].chunks(1000) {
            got.extend(collect(s.push(chunk)));
        }
        got.extend(collect(s.push(b"\n")));
        assert_eq!(
            got,
            [
                vec![b'c'; MAX_LINE_LEN],
                vec![b'c'; MAX_LINE_LEN],
                [vec![b'c'; 40_000 - 2 * MAX_LINE_LEN], vec![b'\n']].concat()
            ]
        );
    }

    #[test]
    fn unread_lines_stay_pending() {
        let mut s = LineSplitter::with_max_len(4);
        assert_eq!(s.push(b"a\nb\nlonger\n").next(), Some(&b"a\n"[..]));
        assert_eq!(collect(s.push(b"")), [b"b\n".to_vec(), b"long".to_vec(), b"er\n".to_vec()]);
        assert_eq!(collect(s.push(b"zz")), Vec::<Vec<u8>>::new());
        assert_eq!(collect(s.finish()), [b"zz".to_vec()]);
    }
}
