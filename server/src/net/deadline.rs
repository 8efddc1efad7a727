//! `DeadlineIo`: an HTTP connection's I/O, whose writes fail after making no progress for a
//! while. hyper stops polling a response body once the socket is full, so a
//! viewer that stops reading an endless FLV stream would otherwise hold its connection, its
//! place in the stream and the server's shutdown forever; with the deadline its connection
//! errors out, the body is dropped and the viewer is gone.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use super::admission::Place;

/// A stream whose writes fail after making no progress for the stall limit.
pub struct DeadlineIo<T> {
    inner: T,
    stall_limit: Duration,
    /// Armed while a write is pending; fires the deadline.
    stalled: Option<Pin<Box<Sleep>>>,
    /// The connection's place under the listener's ceilings, held as long as the I/O lives
    /// (a WebSocket upgrade carries it on).
    _place: Option<Place>,
}

impl<T> DeadlineIo<T> {
    /// Wraps `inner`, whose connection holds `place`; a write stuck for `stall_limit` fails.
    pub fn new(inner: T, stall_limit: Duration, place: Place) -> Self {
        DeadlineIo {
            inner,
            stall_limit,
            stalled: None,
            _place: Some(place),
        }
    }

    /// The stream inside.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// Turns a pending write into an error once the deadline passed; any progress disarms it.
    fn check<R>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        match poll {
            Poll::Ready(result) => {
                self.stalled = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let limit = self.stall_limit;
                let timer = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                if timer.as_mut().poll(cx).is_ready() {
                    Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the peer stopped reading",
                    )))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for DeadlineIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for DeadlineIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.check(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.check(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.check(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test(start_paused = true)]
    async fn a_write_stuck_past_the_limit_fails_and_progress_resets_it() {
        // A pipe with a 16-byte buffer nobody reads.
        let (writer, _reader) = tokio::io::duplex(16);
        let mut io = DeadlineIo {
            inner: writer,
            stall_limit: Duration::from_secs(15),
            stalled: None,
            _place: None,
        };
        io.write_all(&[0u8; 16]).await.expect("fits the buffer");
        let error = io
            .write_all(&[0u8; 1])
            .await
            .expect_err("stuck write fails");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }
}
