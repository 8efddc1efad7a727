//! `SharedTcp`: an accepted TCP stream behind an `Arc`, so that after a WebSocket upgrade the
//! chat can write to the socket itself (a non-blocking `try_write` from the room's fan-out
//! loop) while hyper still owns the connection; and `PeerSocket`, the per-connection handle
//! axum puts in every request's extensions to reach it.
//!
//! hyper hands an upgraded connection over as an opaque type (wrapped in a private buffer
//! type), which cannot be turned back into the `TcpStream`; the `Arc` is the way back.

use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A TCP stream that can be shared: reads and writes need only `&TcpStream`.
#[derive(Clone, Debug)]
pub struct SharedTcp(pub Arc<TcpStream>);

impl AsyncRead for SharedTcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.0.poll_read_ready(cx))?;
            match self.0.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                // Readiness was stale; polling again registers for the next.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl SharedTcp {
    /// Runs the non-blocking `write` once the socket has room (tokio's readiness loop for a
    /// shared `TcpStream`).
    fn poll_writing<T>(
        &self,
        cx: &mut Context<'_>,
        mut write: impl FnMut(&TcpStream) -> io::Result<T>,
    ) -> Poll<io::Result<T>> {
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match write(&self.0) {
                // Readiness was stale; polling again registers for the next.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                written => return Poll::Ready(written),
            }
        }
    }
}

impl AsyncWrite for SharedTcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_writing(cx, |socket| socket.try_write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_writing(cx, |socket| socket.try_write_vectored(bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let shut = socket2::SockRef::from(self.0.as_ref()).shutdown(Shutdown::Write);
        Poll::Ready(match shut {
            // Already closed by the peer: nothing left to shut.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        })
    }
}

/// The TCP socket under a plain HTTP connection, in every request's extensions (axum's
/// `ConnectInfo`, put there by [`super::server`]), for handlers that take the connection over.
#[derive(Clone, Debug)]
pub struct PeerSocket(pub Arc<TcpStream>);

/// A loopback connection: the accepted side and the client side (tests of code that writes to
/// a real socket).
#[cfg(test)]
pub async fn connected_pair() -> (TcpStream, TcpStream) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (accepted, _) = listener.accept().await.unwrap();
    (accepted, client)
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    #[tokio::test]
    async fn both_owners_write_one_stream_and_shutdown_ends_it() {
        let (accepted, mut client) = connected_pair().await;
        let mut shared = SharedTcp(Arc::new(accepted));
        let other = Arc::clone(&shared.0);
        shared.write_all(b"hello ").await.unwrap();
        assert_eq!(other.try_write(b"world").unwrap(), 5);
        client.write_all(b"ping").await.unwrap();
        let mut got = [0; 4];
        shared.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");
        shared.shutdown().await.unwrap();
        let mut all = Vec::new();
        client.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"hello world");
    }
}
