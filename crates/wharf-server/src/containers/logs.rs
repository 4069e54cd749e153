//! `GET /containers/{id}/logs` on the wire (moby's `httputils.WriteLogStream` and
//! `stdcopy.StdWriter`): without a TTY each line is one frame, `[stream, 0, 0, 0, len (u32 BE)]`
//! then the bytes; with a TTY the bytes go raw. With `timestamps`, each line is prefixed by its
//! time in `RFC3339NanoFixed` (always nine digits) and a space, inside the frame.

use bytes::{BufMut, Bytes, BytesMut};
use wharf_types::format_rfc3339_nanos;

use super::LogLine;

/// Content type of a multiplexed stream (API 1.42 and later, no TTY).
pub(crate) const MULTIPLEXED: &str = "application/vnd.docker.multiplexed-stream";
/// Content type of a raw stream (a TTY, or any stream before API 1.42).
pub(crate) const RAW: &str = "application/vnd.docker.raw-stream";

/// How lines are written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Writer {
    /// Frame each line (no TTY).
    pub(crate) mux: bool,
    /// Prefix each line by its time.
    pub(crate) timestamps: bool,
    /// Write stdout lines.
    pub(crate) stdout: bool,
    /// Write stderr lines.
    pub(crate) stderr: bool,
}

impl Writer {
    /// The bytes of one line, or `None` when its stream was not asked for.
    pub(crate) fn line(&self, (stream, time, bytes): LogLine) -> Option<Bytes> {
        let wanted = match stream {
            1 => self.stdout,
            2 => self.stderr,
            _ => false,
        };
        if !wanted {
            return None;
        }
        let stamp = self.timestamps.then(|| fixed_rfc3339_nanos(time));
        let payload_len = bytes.len() + stamp.as_ref().map_or(0, |s| s.len() + 1);
        let mut out = BytesMut::with_capacity(payload_len + if self.mux { 8 } else { 0 });
        if self.mux {
            out.put_slice(&[stream, 0, 0, 0]);
            out.put_u32(u32::try_from(payload_len).unwrap_or(u32::MAX));
        }
        if let Some(s) = stamp {
            out.put_slice(s.as_bytes());
            out.put_u8(b' ');
        }
        out.put_slice(&bytes);
        Some(out.freeze())
    }
}

/// Go's `jsonmessage.RFC3339NanoFixed` in UTC: `2006-01-02T15:04:05.000000000Z`.
pub(crate) fn fixed_rfc3339_nanos(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let whole = format_rfc3339_nanos(secs * 1_000_000_000);
    format!("{}.{frac:09}Z", whole.trim_end_matches('Z'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_716_199_200_000_000_000;

    fn writer(mux: bool, timestamps: bool) -> Writer {
        Writer { mux, timestamps, stdout: true, stderr: true }
    }

    #[test]
    fn frames_and_raw() {
        let w = writer(true, false);
        assert_eq!(&w.line((1, T, b"hi\n".to_vec())).unwrap()[..], b"\x01\x00\x00\x00\x00\x00\x00\x03hi\n");
        assert_eq!(&w.line((2, T, b"oops\n".to_vec())).unwrap()[..], b"\x02\x00\x00\x00\x00\x00\x00\x05oops\n");
        let big = vec![b'x'; 70_000];
        let f = w.line((1, T, big)).unwrap();
        assert_eq!(&f[..8], &[1, 0, 0, 0, 0, 1, 0x11, 0x70]);
        assert_eq!(f.len(), 70_008);
        let w = writer(false, false);
        assert_eq!(&w.line((1, T, b"hi\n".to_vec())).unwrap()[..], b"hi\n");
    }

    #[test]
    fn timestamps_are_fixed_width_and_inside_the_frame() {
        let w = writer(true, true);
        let f = w.line((1, T + 5_000, b"hi\n".to_vec())).unwrap();
        let text = "2024-05-20T10:00:00.000005000Z hi\n";
        assert_eq!(&f[..8], &[1, 0, 0, 0, 0, 0, 0, text.len() as u8]);
        assert_eq!(&f[8..], text.as_bytes());
        let w = writer(false, true);
        assert_eq!(&w.line((1, T, b"x".to_vec())).unwrap()[..], b"2024-05-20T10:00:00.000000000Z x");
        assert_eq!(fixed_rfc3339_nanos(T + 123_456_789), "2024-05-20T10:00:00.123456789Z");
    }

    #[test]
    fn unasked_streams_are_dropped() {
        let w = Writer { stderr: false, ..writer(true, false) };
        assert!(w.line((2, T, b"e".to_vec())).is_none());
        assert!(w.line((1, T, b"o".to_vec())).is_some());
        assert!(w.line((3, T, b"?".to_vec())).is_none());
    }
}
