//! Bridges between the server's async byte streams and the blocking domain code: a request
//! body as a blocking reader, and a blocking writer whose chunks go out over a bounded channel
//! (a slow client slows the writer instead of buffering).

use std::io::{self, Write};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::io::{StreamReader, SyncIoBridge};
use wharf_server::ByteStream;

/// A request body as a blocking reader (use it on the blocking pool only).
pub(crate) fn body_reader(body: ByteStream) -> SyncIoBridge<StreamReader<ByteStream, Bytes>> {
    SyncIoBridge::new(StreamReader::new(body))
}

/// The receiving side of a [`ChannelWriter`] as a response body.
pub(crate) fn byte_stream(rx: mpsc::Receiver<io::Result<Bytes>>) -> ByteStream {
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) }))
}

/// A writer that sends what it is given as chunks over a bounded channel.
pub(crate) struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

const CHUNK: usize = 256 * 1024;

impl ChannelWriter {
    pub(crate) fn new(tx: mpsc::Sender<io::Result<Bytes>>) -> ChannelWriter {
        ChannelWriter { tx, buf: Vec::with_capacity(CHUNK) }
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))
    }
}

impl Drop for ChannelWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}
