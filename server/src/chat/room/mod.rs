//! `ChatRoom`: the members of one gig's chat on this node, and fan-out to them.
//!
//! Every member has an [`Outbox`]: frames are serialized and encoded once per room, and a tick's
//! batch is one buffer of bytes the fan-out loop offers to every member's socket in turn, each
//! written at once when the socket takes it. A member whose outbox overflows is cut loose on
//! the spot: the room never waits for anyone. All bookkeeping is under one std `Mutex` that is
//! never held across an `.await`, nor while the batch is written.
//!
//! The room tells its [`Roster`] who arrived and who left this node. On a single node the
//! roster answers at once with the `join`, `leave` and `presence` frames the room delivers; in
//! a cluster the announcements come back through the bus like any other event.
//!
//! Delivery in batches is `delivery.rs`'s job, bans and cancellation `moderation.rs`'s; this file
//! keeps the seats, the members and the people. A socket that joins is held (its frames kept)
//! until [`ChatRoom::open`] has sent its history first.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bookmygig_api::limits::{CHAT_BURST, CHAT_SOCKETS_PER_ACCOUNT};
use bookmygig_api::{AccountId, ChatUser, GigId, MessageId};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::bus::{Arrival, Roster};
pub use super::frame::{FrameKind, Outbound};
use super::member::{DEDUPE_WINDOW, Member, Seen};
use super::outbox::Outbox;
use super::rate::TokenBucket;

mod delivery;
mod moderation;

/// After the burst, one message per this long.
pub const RATE_REFILL: Duration = Duration::from_secs(1);

/// Why the room let a member go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kick {
    /// The gig's creator banned the account.
    Banned,
    /// Its outbound queue overflowed.
    TooSlow,
    /// The creator cancelled the gig (every ticket is refunded): the room closes for everyone.
    Cancelled,
}

/// Refusal of a seat: the account already holds as many sockets as allowed.
#[derive(Debug, thiserror::Error)]
#[error("at most {CHAT_SOCKETS_PER_ACCOUNT} chat connections per account and gig")]
pub struct RoomFull;

/// A member's handle on the room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemberId(u64);

/// What a member reads: its outbox, and the word if the room lets it go.
#[derive(Debug)]
pub struct Membership {
    /// Its id in the room.
    pub id: MemberId,
    /// Where the room writes its frames.
    pub outbox: Arc<Outbox>,
    /// Fires when the room drops the member (the outbox then gets nothing more from the room).
    pub kicked: oneshot::Receiver<Kick>,
    /// In a cluster: true once the roster announced the arrival (see [`Roster::arrived`]).
    pub announced: Option<oneshot::Receiver<bool>>,
}

/// How a socket joins: what it gets besides the room's frames.
#[derive(Debug, Default)]
pub struct Joining {
    /// Sent right after the first `presence` the member gets (the newcomer's `stream`).
    pub greeting: Option<Outbound>,
    /// Where its frames go; a new outbox without a socket if `None` (tests read it).
    pub outbox: Option<Arc<Outbox>>,
    /// Hold every frame until [`ChatRoom::open`] sends the history first.
    pub held: bool,
}

/// One gig's chat on this node.
#[derive(Debug)]
pub struct ChatRoom {
    /// The gig.
    pub gig: GigId,
    state: Mutex<RoomState>,
}

#[derive(Debug)]
struct RoomState {
    gig: GigId,
    /// Who counts and announces people.
    roster: Arc<dyn Roster>,
    next_member: u64,
    members: HashMap<MemberId, Member>,
    /// Sockets per account, counting those reserved before their upgrade finished.
    seats: HashMap<AccountId, usize>,
    /// Accounts with at least one joined socket: what presence counts.
    people: HashMap<AccountId, Person>,
    /// Banned while the room existed; the store is asked before every upgrade, this catches
    /// sockets that were already upgrading when the ban came.
    banned: HashSet<AccountId>,
    /// The gig was cancelled while the room existed: nobody joins any more (as with bans,
    /// this catches sockets that were upgrading when it happened).
    cancelled: bool,
    /// Broadcasts waiting for the next [`ChatRoom::flush`].
    pending: Vec<Outbound>,
    /// The last flush found nothing to send: the next broadcast need not
    /// wait for a tick.
    quiet: bool,
}

#[derive(Debug)]
struct Person {
    user: ChatUser,
    sockets: usize,
    /// One bucket per person, so extra sockets give no extra rate.
    bucket: TokenBucket,
}

impl ChatRoom {
    /// An empty room whose people `roster` counts and announces, delivering broadcasts in
    /// batches at each [`ChatRoom::flush`].
    pub fn new(gig: GigId, roster: Arc<dyn Roster>) -> Self {
        ChatRoom {
            gig,
            state: Mutex::new(RoomState {
                gig,
                roster,
                next_member: 0,
                members: HashMap::new(),
                seats: HashMap::new(),
                people: HashMap::new(),
                banned: HashSet::new(),
                cancelled: false,
                pending: Vec::new(),
                quiet: true,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, RoomState> {
        // The state stays consistent between statements, so a panic elsewhere leaves it usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds a socket slot for `account` while its upgrade runs.
    ///
    /// # Errors
    /// [`RoomFull`] when it already holds the most allowed.
    pub fn reserve(&self, account: AccountId) -> Result<(), RoomFull> {
        let mut state = self.state();
        let seats = state.seats.entry(account).or_default();
        if *seats >= CHAT_SOCKETS_PER_ACCOUNT {
            return Err(RoomFull);
        }
        *seats += 1;
        Ok(())
    }

    /// Gives back a slot whose socket never joined (or has left).
    pub fn release(&self, account: AccountId) {
        let mut state = self.state();
        if let Entry::Occupied(mut seats) = state.seats.entry(account) {
            *seats.get_mut() -= 1;
            if *seats.get() == 0 {
                seats.remove();
            }
        }
    }

    /// Joins a reserved socket: the others see `join` if this is the person's first socket,
    /// then everyone (the newcomer included) gets `presence`.
    ///
    /// # Errors
    /// [`Kick::Banned`] when the account was banned while the socket was upgrading.
    pub fn join(&self, account: AccountId, user: ChatUser) -> Result<Membership, Kick> {
        self.join_with(account, user, Joining::default())
    }

    /// [`ChatRoom::join`], with a greeting after its first `presence` (in a cluster that
    /// `presence` comes back through the bus), its own outbox, and held frames as asked.
    ///
    /// # Errors
    /// [`Kick::Banned`] when the account was banned while the socket was upgrading;
    /// [`Kick::Cancelled`] when the gig was cancelled meanwhile.
    pub fn join_with(
        &self,
        account: AccountId,
        user: ChatUser,
        joining: Joining,
    ) -> Result<Membership, Kick> {
        let mut state = self.state();
        if state.cancelled {
            return Err(Kick::Cancelled);
        }
        if state.banned.contains(&account) {
            return Err(Kick::Banned);
        }
        let outbox = joining.outbox.unwrap_or_else(|| Outbox::new(None));
        let (kick_tx, kicked) = oneshot::channel();
        let id = MemberId(state.next_member);
        state.next_member += 1;
        match state.people.entry(account) {
            Entry::Occupied(mut person) => person.get_mut().sockets += 1,
            Entry::Vacant(slot) => {
                slot.insert(Person {
                    user: user.clone(),
                    sockets: 1,
                    bucket: TokenBucket::new(CHAT_BURST, RATE_REFILL, Instant::now()),
                });
            }
        }
        let arrival = state.roster.arrived(self.gig, account, &user);
        state.members.insert(
            id,
            Member {
                account,
                outbox: Arc::clone(&outbox),
                kick: Some(kick_tx),
                greeting: joining.greeting,
                held: joining.held.then(Vec::new),
                seen: None,
            },
        );
        let announced = match arrival {
            Arrival::Now(frames) => {
                state.pending.extend(frames);
                None
            }
            Arrival::Later(announced) => Some(announced),
        };
        Ok(Membership {
            id,
            outbox,
            kicked,
            announced,
        })
    }

    /// Sends a held member `first` (its history) and then what was held, without the messages
    /// `history` holds (skipped for a while longer if the room sends them again).
    pub fn open(&self, id: MemberId, first: &Outbound, history: HashSet<MessageId>) {
        let mut state = self.state();
        let Some(member) = state.members.get_mut(&id) else {
            return;
        };
        let held = member.held.take().unwrap_or_default();
        let now = Instant::now();
        member.seen = (!history.is_empty()).then(|| Seen {
            messages: history,
            until: now + DEDUPE_WINDOW,
        });
        // The held frames were made this member's own when they came; `send` now only skips
        // what the history had.
        let sent = member.outbox.offer(first.wire());
        if sent.and_then(|()| member.send(&held, now)).is_err() {
            state.drop_member(id, Some(Kick::TooSlow));
        }
    }

    /// Removes a member (if the room has not already let it go) and frees its slot.
    pub fn leave(&self, id: MemberId, account: AccountId) {
        self.state().drop_member(id, None);
        self.release(account);
    }

    /// Takes a rate-limit token for `account`.
    ///
    /// # Errors
    /// How long until the next token.
    pub fn take_token(&self, account: AccountId) -> Result<(), Duration> {
        match self.state().people.get_mut(&account) {
            Some(person) => person.bucket.take(Instant::now()),
            // Only members send; one the room just dropped has nothing to say.
            None => Err(RATE_REFILL),
        }
    }

    /// People here now (distinct accounts).
    pub fn presence(&self) -> usize {
        self.state().people.len()
    }

    /// Whether no socket holds or waits for a place, so the room can be forgotten.
    pub fn is_idle(&self) -> bool {
        self.state().seats.is_empty()
    }
}

impl RoomState {
    /// Removes a member, telling it why, and tells the others (at the next flush) when the
    /// person left.
    fn drop_member(&mut self, id: MemberId, kick: Option<Kick>) {
        let frames = self.remove_member(id, kick);
        self.pending.extend(frames);
    }

    /// Removes a member, telling it why; returns the `leave` and `presence` to deliver when
    /// that was the person's last socket and the roster announces at once.
    fn remove_member(&mut self, id: MemberId, kick: Option<Kick>) -> Vec<Outbound> {
        let Some(mut member) = self.members.remove(&id) else {
            return Vec::new();
        };
        if let (Some(kick), Some(tx)) = (kick, member.kick.take()) {
            if kick == Kick::TooSlow {
                tracing::info!(account = %member.account, "chat member too slow, dropped");
            }
            let _ = tx.send(kick);
        }
        let Entry::Occupied(mut person) = self.people.entry(member.account) else {
            return Vec::new();
        };
        person.get_mut().sockets -= 1;
        if person.get().sockets > 0 {
            return Vec::new();
        }
        let user = person.remove().user;
        self.roster.departed(self.gig, member.account, &user)
    }
}

#[cfg(test)]
mod tests;
