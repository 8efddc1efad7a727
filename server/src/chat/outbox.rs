//! `Outbox`: where one chat socket's bytes go, in order. When the socket takes them at once
//! they are written on the spot, from whatever offers them (the room's fan-out loop writes a
//! tick's frames to thousands of sockets without waking a task for each); what the socket
//! cannot take yet waits here, bounded, for the socket's writer task.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::net::TcpStream;
use tokio::sync::Notify;

/// Bytes an outbox holds for a socket that does not keep up before its member is dropped
/// (on top of what the kernel's socket buffer already holds).
pub const OUTBOX_LIMIT: usize = 128 * 1024;

/// The outbox is over [`OUTBOX_LIMIT`]: the member does not keep up.
#[derive(Debug, thiserror::Error)]
#[error("the socket's outbox is full")]
pub struct Overflow;

/// One socket's outgoing bytes.
#[derive(Debug)]
pub struct Outbox {
    /// Written to at once when nothing waits; `None`: everything goes through the writer.
    direct: Option<Arc<TcpStream>>,
    state: Mutex<State>,
    /// Wakes the writer when bytes wait.
    ready: Notify,
}

#[derive(Debug, Default)]
struct State {
    waiting: Vec<u8>,
    /// The writer holds bytes taken from `waiting` that are not all written yet.
    writing: bool,
    /// The socket failed or the session ended: offers are dropped.
    closed: bool,
}

impl Outbox {
    /// An outbox writing to `direct` when it can, else only through the writer task.
    pub fn new(direct: Option<Arc<TcpStream>>) -> Arc<Self> {
        Arc::new(Outbox {
            direct,
            state: Mutex::new(State::default()),
            ready: Notify::new(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every update leaves the state whole, so a panic elsewhere leaves it usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends `bytes` after everything offered before: written now if the socket takes them and
    /// nothing waits, else kept for the writer.
    ///
    /// # Errors
    /// [`Overflow`] when that would hold more than [`OUTBOX_LIMIT`]; nothing is kept then.
    pub fn offer(&self, bytes: &[u8]) -> Result<(), Overflow> {
        let mut state = self.state();
        if state.closed || bytes.is_empty() {
            return Ok(());
        }
        let mut rest = bytes;
        if state.waiting.is_empty()
            && !state.writing
            && let Some(socket) = &self.direct
        {
            match socket.try_write(bytes) {
                Ok(n) if n == bytes.len() => return Ok(()),
                Ok(n) => rest = &bytes[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => {
                    // The writer finds out on its next write and ends the session.
                    state.closed = true;
                    drop(state);
                    self.ready.notify_one();
                    return Ok(());
                }
            }
        }
        if state.waiting.len() + rest.len() > OUTBOX_LIMIT {
            return Err(Overflow);
        }
        state.waiting.extend_from_slice(rest);
        drop(state);
        self.ready.notify_one();
        Ok(())
    }

    /// Waits for bytes to write and takes them all (the writer task); the writer calls
    /// [`Outbox::written`] once they are out. Empty once the outbox is closed.
    pub async fn take(&self) -> Vec<u8> {
        loop {
            {
                let mut state = self.state();
                if !state.waiting.is_empty() {
                    state.writing = true;
                    return std::mem::take(&mut state.waiting);
                }
                if state.closed {
                    return Vec::new();
                }
            }
            self.ready.notified().await;
        }
    }

    /// What [`Outbox::take`] returned is written; `buffer` (emptied) is kept for reuse if small.
    pub fn written(&self, mut buffer: Vec<u8>) {
        let mut state = self.state();
        state.writing = false;
        if state.waiting.is_empty() && buffer.capacity() <= OUTBOX_REUSE {
            buffer.clear();
            state.waiting = buffer;
        }
    }

    /// Drops every later offer, and wakes the writer; returns what was still waiting.
    pub fn close(&self) -> Vec<u8> {
        let mut state = self.state();
        state.closed = true;
        let waiting = std::mem::take(&mut state.waiting);
        drop(state);
        self.ready.notify_one();
        waiting
    }

    /// Takes what waits without writing it (tests read a member's bytes this way).
    #[cfg(test)]
    pub fn drain(&self) -> Vec<u8> {
        std::mem::take(&mut self.state().waiting)
    }
}

/// A writer's buffer up to this size goes back to the outbox for the next bytes.
const OUTBOX_REUSE: usize = 16 * 1024;

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt as _;

    use super::*;

    #[tokio::test]
    async fn without_a_socket_bytes_wait_in_order_up_to_the_limit() {
        let outbox = Outbox::new(None);
        outbox.offer(b"one ").unwrap();
        outbox.offer(b"two").unwrap();
        assert_eq!(outbox.take().await, b"one two");
        outbox.offer(b"three").unwrap();
        outbox.written(Vec::new());
        assert_eq!(outbox.take().await, b"three");
        assert!(outbox.offer(&vec![0; OUTBOX_LIMIT + 1]).is_err());
        outbox.offer(b"four").unwrap();
        assert_eq!(outbox.close(), b"four");
        outbox.offer(b"dropped").unwrap();
        assert!(outbox.take().await.is_empty(), "closed and empty");
    }

    #[tokio::test]
    async fn a_socket_that_takes_the_bytes_gets_them_at_once_and_order_holds_while_writing() {
        let (accepted, mut client) = crate::net::tcp::connected_pair().await;
        let outbox = Outbox::new(Some(Arc::new(accepted)));
        outbox.offer(b"direct ").unwrap();
        let mut got = [0; 7];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"direct ");
        // While the writer holds bytes, later ones wait behind them.
        outbox.state().writing = true;
        outbox.offer(b"later").unwrap();
        assert_eq!(outbox.drain(), b"later");
    }
}
