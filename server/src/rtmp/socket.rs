//! The bytes of one RTMP peer, plain TCP or TLS (RTMPS) alike, and the deadlines on them: a
//! read gives up after a silence, a write when the peer stops taking bytes. Nothing here knows
//! RTMP; the session makes sense of the bytes.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf};

/// How long one write to a peer may take before the peer is let go (a player that stopped
/// reading; as for HTTP-FLV viewers).
pub const WRITE_STALL: Duration = Duration::from_secs(15);
/// Most buffers handed to one vectored write (well under any system's `IOV_MAX`).
const MAX_IO_SLICES: usize = 64;
/// Most bytes taken from the socket at once.
const READ_BUFFER: usize = 64 * 1024;

/// Why the socket is done with. Never contains what the peer sent.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// The peer closed or reset the connection.
    #[error("peer went away")]
    PeerGone,
    /// The peer sent nothing for this long.
    #[error("silent for {0:?}")]
    Silent(Duration),
    /// The peer took no bytes for [`WRITE_STALL`].
    #[error("a write did not finish within {WRITE_STALL:?}")]
    WriteStalled,
    /// Anything else the socket reported.
    #[error("I/O: {0}")]
    Io(io::Error),
}

impl From<io::Error> for SocketError {
    /// A reset, a broken pipe or an early end is the peer going away, not a failure.
    fn from(error: io::Error) -> Self {
        match error.kind() {
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof => SocketError::PeerGone,
            _ => SocketError::Io(error),
        }
    }
}

/// Splits `socket` into its read and write sides.
pub fn split<S: AsyncRead + AsyncWrite + Send + 'static>(
    socket: S,
) -> (PeerReader<ReadHalf<S>>, PeerWriter) {
    let (reader, writer) = tokio::io::split(socket);
    (
        PeerReader {
            half: reader,
            buffer: vec![0u8; READ_BUFFER],
        },
        PeerWriter(Box::pin(writer)),
    )
}

/// The socket's read side.
pub struct PeerReader<R> {
    half: R,
    /// Where each read lands; lent out until the next read.
    buffer: Vec<u8>,
}

impl<R: AsyncRead + Unpin> PeerReader<R> {
    /// The next bytes the peer sends, waiting no longer than `patience` for them.
    ///
    /// # Errors
    /// [`SocketError::Silent`] after `patience`, [`SocketError::PeerGone`] when the peer
    /// closed, or the socket's error.
    pub async fn read(&mut self, patience: Duration) -> Result<&[u8], SocketError> {
        let read = tokio::time::timeout(patience, self.half.read(&mut self.buffer))
            .await
            .map_err(|_| SocketError::Silent(patience))??;
        match self.buffer.get(..read) {
            Some(bytes) if !bytes.is_empty() => Ok(bytes),
            _ => Err(SocketError::PeerGone),
        }
    }
}

/// The socket's write side, where every write must finish within [`WRITE_STALL`]: a player
/// that stops reading is let go instead of holding its task, its place and its meter forever.
/// Boxed: one type for plain and TLS connections.
pub struct PeerWriter(Pin<Box<dyn AsyncWrite + Send>>);

impl PeerWriter {
    /// Writes all of `bytes`.
    ///
    /// # Errors
    /// [`SocketError::WriteStalled`], or the socket's error.
    pub async fn write_all(&mut self, bytes: &[u8]) -> Result<(), SocketError> {
        tokio::time::timeout(WRITE_STALL, self.0.write_all(bytes))
            .await
            .map_err(|_| SocketError::WriteStalled)??;
        Ok(())
    }

    /// Writes all of `parts`, in order, as few writes as the socket allows (one `writev` each),
    /// taking them from the front as they go; all of it within one [`WRITE_STALL`].
    ///
    /// # Errors
    /// [`SocketError::WriteStalled`], or the socket's error.
    pub async fn write_all_parts(
        &mut self,
        parts: &mut VecDeque<Bytes>,
    ) -> Result<(), SocketError> {
        tokio::time::timeout(WRITE_STALL, async {
            while !parts.is_empty() {
                let slices: Vec<IoSlice<'_>> = parts
                    .iter()
                    .take(MAX_IO_SLICES)
                    .map(|part| IoSlice::new(part))
                    .collect();
                let mut written = self.0.write_vectored(&slices).await?;
                if written == 0 {
                    return Err(io::Error::from(io::ErrorKind::WriteZero));
                }
                while let Some(front) = parts.front_mut() {
                    if written < front.len() {
                        front.advance(written);
                        break;
                    }
                    written -= front.len();
                    parts.pop_front();
                }
            }
            Ok(())
        })
        .await
        .map_err(|_| SocketError::WriteStalled)??;
        Ok(())
    }

    /// Writes all of `bytes` and flushes: last words before closing (TLS buffers otherwise).
    ///
    /// # Errors
    /// As [`PeerWriter::write_all`].
    pub async fn write_last(&mut self, bytes: &[u8]) -> Result<(), SocketError> {
        self.write_all(bytes).await?;
        tokio::time::timeout(WRITE_STALL, self.0.flush())
            .await
            .map_err(|_| SocketError::WriteStalled)??;
        Ok(())
    }
}
