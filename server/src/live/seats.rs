//! How many devices one account plays one gig on at once (`--max-streams-per-ticket`).
//!
//! Every HTTP-FLV response and every RTMP play holds a [`StreamSeat`] for its (account, gig)
//! while it runs; the next one over the limit is refused (FLV: a 409 `too-many-streams`
//! problem; RTMP: a `NetStream.Play.Failed` status), both naming the limit. A playback URL is
//! the only credential a player needs, so without this one ticket posted in a forum would be an
//! open watch party (micropayments are charged once per account and gig, however many streams).
//!
//! The gig's creator counts like a ticket holder: the limit is about the account the playback
//! URL was signed for, and a creator's URL posted publicly would otherwise feed any number of
//! strangers at the platform's bandwidth cost. A creator who monitors on more devices raises
//! the flag.
//!
//! Relay connections between nodes take no seat: they carry one gig for many viewers, each of
//! whom holds their own seat on the node that serves them.
//!
//! The seats are counted by a [`SeatBook`] chosen once at start-up: [`LocalSeats`] on one node,
//! [`crate::cluster::stream_seats::RedisSeats`] across the nodes of a cluster (behind a load
//! balancer one viewer's streams may land on different nodes).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use bookmygig_api::{AccountId, GigId};

/// One stream's claim on a place: whose, for which gig, and which stream (unique per node
/// process, so a backend can tell two streams of the same account apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SeatHolder {
    /// The account the playback token was signed for.
    pub account: AccountId,
    /// The gig it plays.
    pub gig: GigId,
    /// This stream, random.
    pub id: u64,
}

/// Why a seat book could not answer (Redis unreachable).
#[derive(Debug, thiserror::Error)]
#[error("stream seats: {0}")]
pub struct SeatBookError(pub String);

/// Counts the streams each (account, gig) holds: on this node, or across a cluster.
#[async_trait]
pub trait SeatBook: Send + Sync + fmt::Debug {
    /// Takes a place for `holder` if its (account, gig) holds fewer than `max`; true when
    /// taken.
    ///
    /// # Errors
    /// When the count cannot be read.
    async fn take(&self, holder: &SeatHolder, max: u32) -> Result<bool, SeatBookError>;

    /// Gives `holder`'s place back. Called from `Drop`, so it must not block; a backend that
    /// needs the network finishes in the background.
    fn release(&self, holder: &SeatHolder);
}

/// Why a stream was refused a seat.
#[derive(Debug, thiserror::Error)]
pub enum SeatRefusal {
    /// The account already plays this gig on `max` devices.
    #[error(
        "this ticket already plays on {max} devices at once (the most allowed); \
         stop one of them first"
    )]
    TooMany {
        /// The limit in force.
        max: u32,
    },
    /// The count could not be read.
    #[error("{0}")]
    Unavailable(#[from] SeatBookError),
}

/// The limit and the book that enforces it; shared by the FLV handler and RTMP play.
#[derive(Debug)]
pub struct StreamSeats {
    book: Arc<dyn SeatBook>,
    max: u32,
}

/// A running stream's place; given back when dropped (the stream ended).
#[derive(Debug)]
pub struct StreamSeat {
    book: Arc<dyn SeatBook>,
    holder: SeatHolder,
}

impl StreamSeats {
    /// `max` streams per (account, gig), counted by `book`.
    pub fn new(book: Arc<dyn SeatBook>, max: u32) -> Arc<Self> {
        Arc::new(StreamSeats { book, max })
    }

    /// The limit in force.
    pub fn max(&self) -> u32 {
        self.max
    }

    /// Takes a place for a new stream of `account` watching `gig`.
    ///
    /// # Errors
    /// [`SeatRefusal::TooMany`] at the limit; [`SeatRefusal::Unavailable`] when the count
    /// cannot be read.
    pub async fn take(&self, account: AccountId, gig: GigId) -> Result<StreamSeat, SeatRefusal> {
        let holder = SeatHolder {
            account,
            gig,
            id: rand::random(),
        };
        if self.book.take(&holder, self.max).await? {
            Ok(StreamSeat {
                book: Arc::clone(&self.book),
                holder,
            })
        } else {
            Err(SeatRefusal::TooMany { max: self.max })
        }
    }
}

impl Drop for StreamSeat {
    fn drop(&mut self) {
        self.book.release(&self.holder);
    }
}

/// The seats of one node, in memory.
#[derive(Debug, Default)]
pub struct LocalSeats {
    /// Streams held per (account, gig); an entry goes with its last stream.
    held: Mutex<HashMap<(AccountId, GigId), u32>>,
}

impl LocalSeats {
    /// No seats taken.
    pub fn new() -> Arc<Self> {
        Arc::new(LocalSeats::default())
    }
}

#[async_trait]
impl SeatBook for LocalSeats {
    async fn take(&self, holder: &SeatHolder, max: u32) -> Result<bool, SeatBookError> {
        // Plain counters, consistent between statements: usable after a panic elsewhere.
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let count = held.entry((holder.account, holder.gig)).or_insert(0);
        if *count >= max {
            return Ok(false);
        }
        *count += 1;
        Ok(true)
    }

    fn release(&self, holder: &SeatHolder) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (holder.account, holder.gig);
        if let Some(count) = held.get_mut(&key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_account_holds_at_most_max_streams_of_a_gig_and_gets_them_back() {
        let seats = StreamSeats::new(LocalSeats::new(), 2);
        let (ann, bob, gig, other) = (
            AccountId::new(),
            AccountId::new(),
            GigId::new(),
            GigId::new(),
        );
        let first = seats.take(ann, gig).await.unwrap();
        let _second = seats.take(ann, gig).await.unwrap();
        assert!(matches!(
            seats.take(ann, gig).await,
            Err(SeatRefusal::TooMany { max: 2 })
        ));
        assert!(seats.take(bob, gig).await.is_ok(), "another account");
        assert!(seats.take(ann, other).await.is_ok(), "another gig");
        drop(first);
        assert!(seats.take(ann, gig).await.is_ok(), "a place came back");
    }
}
