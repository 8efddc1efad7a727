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
//! A room collects broadcasts until [`ChatRoom::flush`] (the server calls it every few
//! milliseconds) and then
//! writes the whole batch to every member: one write per member per tick instead of per
//! message, and of several `presence` frames in a batch only the last is sent. A socket that
//! joins is held (its frames kept) until [`ChatRoom::open`] has sent its history first.

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
use super::frame::{only_last_presence, wire_of};
use super::member::{DEDUPE_WINDOW, Member, Seen};
use super::outbox::Outbox;
use super::rate::TokenBucket;

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

/// A tick's batch, to write outside the room's lock.
struct Flush {
    /// The batch's frames, encoded.
    bytes: Vec<u8>,
    /// The members that take them as they are.
    shared: Vec<(MemberId, Arc<Outbox>)>,
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

    /// Sends `frame` to every member at the next [`ChatRoom::flush`]. True when the room
    /// would rather be flushed now than at the next tick: the last flush found
    /// nothing to send and this is the first broadcast since, so nothing is gained by waiting
    /// (a quiet room answers at once; a busy one, never quiet at its ticks, still goes out
    /// once per tick).
    pub fn broadcast(&self, frame: Outbound) -> bool {
        let mut state = self.state();
        state.pending.push(frame);
        state.quiet && state.pending.len() == 1
    }

    /// Hands every member the broadcasts collected since the last flush: one
    /// write of the same bytes per member, from this loop, outside the room's lock; members
    /// that must get them their own way (newcomers) are served under it.
    pub fn flush(&self) {
        let Some(Flush { bytes, shared }) = self.state().flush() else {
            return;
        };
        let mut slow = Vec::new();
        for (id, outbox) in &shared {
            if outbox.offer(&bytes).is_err() {
                slow.push(*id);
            }
        }
        if !slow.is_empty() {
            let mut state = self.state();
            for id in slow {
                state.drop_member(id, Some(Kick::TooSlow));
            }
        }
    }

    /// Sends `frame` to one member (an answer to what it sent).
    pub fn send_to(&self, id: MemberId, frame: Outbound) {
        let mut state = self.state();
        let now = Instant::now();
        let full = match state.members.get_mut(&id) {
            Some(member) => member.send(std::slice::from_ref(&frame), now).is_err(),
            None => false,
        };
        if full {
            state.drop_member(id, Some(Kick::TooSlow));
        }
    }

    /// Bans `account` here: its sockets close and new ones cannot join; or lifts the ban.
    pub fn set_banned(&self, account: AccountId, banned: bool) {
        let mut state = self.state();
        if !banned {
            state.banned.remove(&account);
            return;
        }
        state.banned.insert(account);
        let theirs: Vec<MemberId> = state
            .members
            .iter()
            .filter(|(_, m)| m.account == account)
            .map(|(id, _)| *id)
            .collect();
        for id in theirs {
            state.drop_member(id, Some(Kick::Banned));
        }
    }

    /// Closes the room of a cancelled gig: every member gets `offline` (a `stream` message: the
    /// show is over, whether or not its publisher has been cut yet), then is let go with
    /// [`Kick::Cancelled`], and nobody joins any more. (No `leave` or `presence` goes out:
    /// everyone is leaving.)
    pub fn cancel(&self, offline: &Outbound) {
        let mut state = self.state();
        state.cancelled = true;
        let now = Instant::now();
        let everyone: Vec<MemberId> = state.members.keys().copied().collect();
        for id in everyone {
            if let Some(member) = state.members.get_mut(&id) {
                // Written before the close frame; one that cannot take it goes all the same.
                let _ = member.send(std::slice::from_ref(offline), now);
            }
            // The frames announcing departures would only go to members about to go too.
            let _ = state.remove_member(id, Some(Kick::Cancelled));
        }
        state.pending.clear();
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
    /// Takes the pending batch: serves the members that need it their own way, and returns the
    /// batch's bytes with the members that take them as they are.
    fn flush(&mut self) -> Option<Flush> {
        self.quiet = self.pending.is_empty();
        if self.quiet {
            return None;
        }
        let frames = only_last_presence(std::mem::take(&mut self.pending));
        let has_presence = frames.iter().any(|f| f.kind == FrameKind::Presence);
        let joined: Vec<AccountId> = frames
            .iter()
            .filter_map(|f| match f.kind {
                FrameKind::Join(account) => Some(account),
                _ => None,
            })
            .collect();
        let bytes = wire_of(frames.iter());
        let now = Instant::now();
        let mut shared = Vec::with_capacity(self.members.len());
        let mut gone = Vec::new();
        for (id, member) in &mut self.members {
            if member.takes_shared(has_presence, &joined) {
                shared.push((*id, Arc::clone(&member.outbox)));
            } else if member.send(&frames, now).is_err() {
                gone.push(*id);
            }
        }
        for id in gone {
            self.drop_member(id, Some(Kick::TooSlow));
        }
        Some(Flush { bytes, shared })
    }

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
mod tests {
    use bookmygig_api::{ChatMessage, ServerMessage};

    use super::super::in_process::InProcessRoster;
    use super::super::outbox::OUTBOX_LIMIT;
    use super::super::wire;
    use super::*;

    fn user(handle: &str) -> ChatUser {
        ChatUser {
            handle: handle.into(),
            display_name: handle.to_uppercase(),
        }
    }

    /// An empty room of a node alone.
    fn room() -> ChatRoom {
        ChatRoom::new(GigId::new(), Arc::new(InProcessRoster::default()))
    }

    fn drain(membership: &mut Membership) -> Vec<ServerMessage> {
        wire::parse_frames(&membership.outbox.drain())
            .into_iter()
            .map(|(opcode, payload)| {
                assert_eq!(opcode, 0x1, "text frames");
                serde_json::from_slice(&payload).unwrap()
            })
            .collect()
    }

    fn greeted(
        room: &ChatRoom,
        account: AccountId,
        handle: &str,
        greeting: &Outbound,
    ) -> Membership {
        let joining = Joining {
            greeting: Some(greeting.clone()),
            ..Joining::default()
        };
        room.join_with(account, user(handle), joining).unwrap()
    }

    fn joined(room: &ChatRoom, account: AccountId, handle: &str) -> Membership {
        room.reserve(account).unwrap();
        room.join(account, user(handle)).unwrap()
    }

    #[test]
    fn presence_counts_people_not_sockets_and_others_see_join_and_leave() {
        let room = room();
        let (ann, bob) = (AccountId::new(), AccountId::new());
        let mut a = joined(&room, ann, "ann");
        room.flush();
        assert_eq!(drain(&mut a), [ServerMessage::Presence { count: 1 }]);
        let b1 = joined(&room, bob, "bob");
        let b2 = joined(&room, bob, "bob");
        assert_eq!(room.presence(), 2);
        room.flush();
        assert_eq!(
            drain(&mut a),
            [
                ServerMessage::Join(user("bob")),
                ServerMessage::Presence { count: 2 },
            ]
        );
        room.leave(b1.id, bob);
        room.flush();
        assert!(
            drain(&mut a).is_empty(),
            "bob is still here on his second socket"
        );
        room.leave(b2.id, bob);
        room.flush();
        assert_eq!(
            drain(&mut a),
            [
                ServerMessage::Leave(user("bob")),
                ServerMessage::Presence { count: 1 },
            ]
        );
        room.leave(a.id, ann);
        assert!(room.is_idle());
    }

    #[test]
    fn at_most_three_sockets_per_account() {
        let room = room();
        let ann = AccountId::new();
        for _ in 0..CHAT_SOCKETS_PER_ACCOUNT {
            room.reserve(ann).unwrap();
        }
        assert!(room.reserve(ann).is_err());
        room.release(ann);
        assert!(room.reserve(ann).is_ok());
        assert!(
            room.reserve(AccountId::new()).is_ok(),
            "others are not affected"
        );
    }

    #[test]
    fn a_full_outbox_drops_that_member_only() {
        let room = room();
        let (ann, bob) = (AccountId::new(), AccountId::new());
        let mut slow = joined(&room, ann, "ann");
        let mut fast = joined(&room, bob, "bob");
        let say = |n: usize| {
            Outbound::new(&ServerMessage::Presence {
                count: u32::try_from(n).unwrap(),
            })
        };
        // Each frame is some 30 bytes: the limit is reached well within this many.
        for n in 0..OUTBOX_LIMIT / 8 {
            room.broadcast(say(n));
            room.flush();
            drain(&mut fast);
            if room.presence() == 1 {
                break;
            }
        }
        assert_eq!(slow.kicked.try_recv(), Ok(Kick::TooSlow));
        assert_eq!(room.presence(), 1);
        assert!(fast.kicked.try_recv().is_err());
        room.flush();
        assert_eq!(
            drain(&mut fast),
            [
                ServerMessage::Leave(user("ann")),
                ServerMessage::Presence { count: 1 },
            ]
        );
        room.broadcast(say(7));
        room.flush();
        assert_eq!(drain(&mut fast), [ServerMessage::Presence { count: 7 }]);
    }

    #[test]
    fn a_held_member_gets_its_history_first_then_what_it_did_not_have() {
        let room = room();
        let (ann, bob) = (AccountId::new(), AccountId::new());
        let mut a = joined(&room, ann, "ann");
        room.flush();
        drain(&mut a);
        room.reserve(bob).unwrap();
        let joining = Joining {
            held: true,
            ..Joining::default()
        };
        let mut b = room.join_with(bob, user("bob"), joining).unwrap();
        let message = |text: &str| ChatMessage {
            id: MessageId::new(),
            author: "ann".into(),
            display_name: "ANN".into(),
            text: text.into(),
            sent_at: time::OffsetDateTime::UNIX_EPOCH,
        };
        let (early, late, new) = (message("early"), message("late"), message("new"));
        room.broadcast(Outbound::new(&ServerMessage::Message(early.clone())));
        room.flush();
        assert!(drain(&mut b).is_empty(), "held until the history");
        assert_eq!(drain(&mut a).len(), 3, "join, presence, message");
        // The history read after joining has both the message held and one the room sends
        // only later (in a cluster, the bus may deliver after the store answered).
        let history = ServerMessage::History {
            messages: vec![early.clone(), late.clone()],
        };
        room.open(
            b.id,
            &Outbound::new(&history),
            HashSet::from([early.id, late.id]),
        );
        room.broadcast(Outbound::new(&ServerMessage::Message(late.clone())));
        room.broadcast(Outbound::new(&ServerMessage::Message(new.clone())));
        room.flush();
        assert_eq!(
            drain(&mut b),
            [
                history,
                ServerMessage::Presence { count: 2 },
                ServerMessage::Message(new.clone())
            ],
            "the history first, then only what it did not have"
        );
        assert_eq!(
            drain(&mut a),
            [ServerMessage::Message(late), ServerMessage::Message(new)]
        );
    }

    /// Records what a cluster room tells its roster.
    #[derive(Debug, Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Roster for Recorder {
        fn arrived(&self, _: GigId, _: AccountId, user: &ChatUser) -> Arrival {
            self.0.lock().unwrap().push(format!("+{}", user.handle));
            Arrival::Later(oneshot::channel().1)
        }

        fn departed(&self, _: GigId, _: AccountId, user: &ChatUser) -> Vec<Outbound> {
            self.0.lock().unwrap().push(format!("-{}", user.handle));
            Vec::new()
        }
    }

    #[test]
    fn a_cluster_room_reports_people_to_its_roster_and_greets_after_the_first_presence() {
        let recorder = Arc::new(Recorder::default());
        let room = ChatRoom::new(GigId::new(), recorder.clone());
        let (ann, bob) = (AccountId::new(), AccountId::new());
        let greeting = Outbound::new(&ServerMessage::Deleted {
            id: MessageId::new(),
        });
        room.reserve(ann).unwrap();
        let mut a = greeted(&room, ann, "ann", &greeting);
        assert!(a.announced.is_some());
        let b1 = joined(&room, bob, "bob");
        let b2 = joined(&room, bob, "bob");
        room.flush();
        assert!(
            drain(&mut a).is_empty(),
            "the roster announces, not the room"
        );
        room.broadcast(Outbound::new(&ServerMessage::Presence { count: 2 }));
        room.flush();
        let deleted: ServerMessage = serde_json::from_str(greeting.frame.as_str()).unwrap();
        assert_eq!(
            drain(&mut a),
            [ServerMessage::Presence { count: 2 }, deleted]
        );
        room.broadcast(Outbound::new(&ServerMessage::Presence { count: 2 }));
        room.flush();
        assert_eq!(
            drain(&mut a),
            [ServerMessage::Presence { count: 2 }],
            "once"
        );
        room.leave(b1.id, bob);
        room.leave(b2.id, bob);
        room.set_banned(ann, true);
        room.flush();
        assert!(drain(&mut a).is_empty());
        assert_eq!(
            *recorder.0.lock().unwrap(),
            ["+ann", "+bob", "+bob", "-bob", "-ann"]
        );
    }

    #[test]
    fn a_room_delivers_at_flush_one_batch_per_member_with_the_last_presence_only() {
        let room = room();
        let (ann, bob) = (AccountId::new(), AccountId::new());
        let mut a = joined(&room, ann, "ann");
        room.flush();
        assert_eq!(drain(&mut a), [ServerMessage::Presence { count: 1 }]);
        room.reserve(bob).unwrap();
        let greeting = Outbound::new(&ServerMessage::Deleted {
            id: MessageId::new(),
        });
        let mut b = greeted(&room, bob, "bob", &greeting);
        let said = Outbound::new(&ServerMessage::Presence { count: 99 });
        room.broadcast(Outbound {
            kind: FrameKind::Other,
            ..said
        });
        assert!(drain(&mut a).is_empty(), "nothing before the flush");
        room.flush();
        assert_eq!(
            drain(&mut a),
            [
                ServerMessage::Join(user("bob")),
                ServerMessage::Presence { count: 2 },
                ServerMessage::Presence { count: 99 },
            ]
        );
        let greeting: ServerMessage = serde_json::from_str(greeting.frame.as_str()).unwrap();
        assert_eq!(
            drain(&mut b),
            [
                ServerMessage::Presence { count: 2 },
                greeting,
                ServerMessage::Presence { count: 99 },
            ],
            "no own join; the greeting right after the presence"
        );
        // Two joins in one tick: one presence, the last.
        let (cid, dan) = (AccountId::new(), AccountId::new());
        let _c = joined(&room, cid, "cid");
        let _d = joined(&room, dan, "dan");
        room.flush();
        assert_eq!(
            drain(&mut a),
            [
                ServerMessage::Join(user("cid")),
                ServerMessage::Join(user("dan")),
                ServerMessage::Presence { count: 4 },
            ]
        );
    }

    #[test]
    fn a_ban_kicks_every_socket_of_the_account_and_bars_joining() {
        let room = room();
        let (ann, bob) = (AccountId::new(), AccountId::new());
        let mut a = joined(&room, ann, "ann");
        let mut b1 = joined(&room, bob, "bob");
        let mut b2 = joined(&room, bob, "bob");
        room.flush();
        drain(&mut a);
        room.set_banned(bob, true);
        room.flush();
        assert_eq!(b1.kicked.try_recv(), Ok(Kick::Banned));
        assert_eq!(b2.kicked.try_recv(), Ok(Kick::Banned));
        assert_eq!(
            drain(&mut a),
            [
                ServerMessage::Leave(user("bob")),
                ServerMessage::Presence { count: 1 },
            ]
        );
        room.reserve(bob).unwrap();
        assert_eq!(room.join(bob, user("bob")).unwrap_err(), Kick::Banned);
        room.set_banned(bob, false);
        assert!(room.join(bob, user("bob")).is_ok());
    }

    #[test]
    fn a_cancelled_room_tells_everyone_the_stream_is_over_lets_them_go_and_lets_nobody_in() {
        let gig = GigId::new();
        let room = ChatRoom::new(gig, Arc::new(InProcessRoster::default()));
        let (ann, bob) = (AccountId::new(), AccountId::new());
        let mut a = joined(&room, ann, "ann");
        let mut b = joined(&room, bob, "bob");
        room.flush();
        drain(&mut a);
        drain(&mut b);
        let offline = ServerMessage::Stream(super::super::rooms::offline(gig));
        room.cancel(&Outbound::new(&offline));
        for member in [&mut a, &mut b] {
            assert_eq!(
                drain(member),
                std::slice::from_ref(&offline),
                "and no leave or presence"
            );
            assert_eq!(member.kicked.try_recv(), Ok(Kick::Cancelled));
        }
        assert_eq!(room.presence(), 0);
        room.reserve(ann).unwrap();
        assert_eq!(room.join(ann, user("ann")).unwrap_err(), Kick::Cancelled);
    }

    #[test]
    fn a_quiet_room_asks_to_be_flushed_at_once() {
        let room = room();
        let frame = || Outbound::new(&ServerMessage::Presence { count: 1 });
        assert!(room.broadcast(frame()), "the first in a quiet room");
        assert!(!room.broadcast(frame()), "that batch is already asked for");
        room.flush();
        assert!(
            !room.broadcast(frame()),
            "busy at the last flush: wait for the tick"
        );
        room.flush();
        room.flush();
        assert!(
            room.broadcast(frame()),
            "quiet again: the last flush found nothing"
        );
    }
}
