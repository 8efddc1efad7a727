//! `ChatRooms`: this node's rooms by gig, created on the first seat and forgotten when the
//! last socket goes; the one place room-wide events enter ([`ChatRooms::publish`]); and the
//! bridge from the stream hub to the rooms.
//!
//! The rooms deliver *only* what comes back from the [`RoomBus`] of their [`ChatLink`], their
//! own events included. Alone, a node's bus is in process and delivers at once; in a cluster
//! every node then shows one gig's events in the one order Redis gave them, and nothing is
//! delivered twice without any echo to filter (each node subscribes once per gig). The price
//! is a Redis round trip before a node's own members see a message, which in Redis mode is
//! paid anyway to store it.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use bookmygig_api::{AccountId, ChatUser, GigId, ServerMessage};
use tokio::sync::{Notify, broadcast, watch};

use super::bus::{BusError, RoomBus, Roster, SpeechLimit};
use super::room::{ChatRoom, Joining, Kick, MemberId, Membership, Outbound, RoomFull};
use crate::live::HubEvent;

/// How often the server's rooms hand their members what was broadcast meanwhile: long enough
/// to batch several messages per member in a busy room (one wake-up and one write each), short
/// enough not to be noticed.
pub const ROOM_TICK: Duration = Duration::from_millis(20);

/// Something every member of a gig's room must see or undergo.
///
/// [`ChatRooms::publish`] hands it to this node's room, or with several nodes (Redis mode) to
/// the bus that takes it to every node: every variant is plain data for that reason.
#[derive(Clone, Debug)]
pub enum RoomEvent {
    /// A serialized message for everyone (`message`, `deleted`, `stream`).
    Broadcast(Outbound),
    /// The creator banned the account: close its sockets, refuse it.
    Ban(AccountId),
    /// The creator lifted the ban.
    Unban(AccountId),
    /// The creator cancelled the gig and every ticket was refunded: close every socket (with a
    /// reason the client shows) and let nobody in any more.
    Cancelled,
}

/// The chat rooms of this node.
#[derive(Debug)]
pub struct ChatRooms {
    rooms: Mutex<HashMap<GigId, Arc<ChatRoom>>>,
    /// Open sessions (seats), so shutdown can wait for them.
    sessions: AtomicUsize,
    /// Woken when `sessions` drops to zero.
    idle: Notify,
    /// How events, people and rate limits reach the rooms (in process, or across nodes).
    link: ChatLink,
    /// Asks [`ChatRooms::run_ticks`] to flush before the tick: a quiet room got a message.
    early: Notify,
}

/// The chat seams a node's rooms use, chosen once at start-up: in process for a node alone
/// ([`ChatLink::in_process`]), Redis-backed in a cluster.
#[derive(Clone)]
pub struct ChatLink {
    /// Carries room-wide events to every node's room of the gig; whoever runs it delivers
    /// what arrives with [`ChatRooms::deliver`].
    pub bus: Arc<dyn RoomBus>,
    /// Counts and announces people.
    pub roster: Arc<dyn Roster>,
    /// Rate-limits each person.
    pub limit: Arc<dyn SpeechLimit>,
}

impl fmt::Debug for ChatLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatLink").finish_non_exhaustive()
    }
}

impl ChatRooms {
    /// No rooms yet; a single node (the in-process seams).
    pub fn new() -> Arc<Self> {
        Arc::new_cyclic(|rooms: &Weak<ChatRooms>| Self::built(ChatLink::in_process(rooms.clone())))
    }

    /// No rooms yet; linked to the other nodes of a cluster by `link`.
    pub fn linked(link: ChatLink) -> Arc<Self> {
        Arc::new(Self::built(link))
    }

    fn built(link: ChatLink) -> Self {
        ChatRooms {
            rooms: Mutex::default(),
            sessions: AtomicUsize::new(0),
            idle: Notify::new(),
            link,
            early: Notify::new(),
        }
    }

    /// Takes a rate-limit token for `account` in `room` from the link's speech limit.
    ///
    /// # Errors
    /// When the limit's bucket cannot be reached.
    pub async fn take_token(
        &self,
        room: &ChatRoom,
        account: AccountId,
    ) -> Result<Result<(), Duration>, BusError> {
        self.link.limit.take_token(room.gig, account).await
    }

    /// Flushes every room's batch once per [`ROOM_TICK`], and at once when a quiet room gets
    /// a message, until `shutdown` turns true. Rooms deliver nothing while it does not run.
    pub async fn run_ticks(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut ticks = tokio::time::interval(ROOM_TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => self.flush_all(),
                () = self.early.notified() => self.flush_all(),
                () = async { drop(shutdown.wait_for(|stopping| *stopping).await) } => return,
            }
        }
    }

    /// Flushes every room's batch now.
    pub fn flush_all(&self) {
        let rooms: Vec<Arc<ChatRoom>> = self.rooms().values().cloned().collect();
        for room in rooms {
            room.flush();
        }
    }

    fn rooms(&self) -> MutexGuard<'_, HashMap<GigId, Arc<ChatRoom>>> {
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reserves a socket's place in the gig's room (creating the room), before the upgrade.
    ///
    /// # Errors
    /// [`RoomFull`] when the account already holds the most sockets allowed there.
    pub fn take_seat(self: &Arc<Self>, gig: GigId, account: AccountId) -> Result<Seat, RoomFull> {
        let room = {
            // The registry lock is held while reserving, so a room being emptied cannot be
            // forgotten between the lookup and the reservation.
            let mut rooms = self.rooms();
            let room = Arc::clone(rooms.entry(gig).or_insert_with(|| {
                self.link.bus.want(gig);
                Arc::new(ChatRoom::new(gig, Arc::clone(&self.link.roster)))
            }));
            if let Err(full) = room.reserve(account) {
                if room.is_idle() {
                    rooms.remove(&gig);
                    self.link.bus.unwant(gig);
                }
                return Err(full);
            }
            room
        };
        self.sessions.fetch_add(1, Ordering::SeqCst);
        Ok(Seat {
            rooms: Arc::clone(self),
            room,
            account,
            member: None,
        })
    }

    /// The gig's room, if anyone is in it on this node.
    pub fn room(&self, gig: GigId) -> Option<Arc<ChatRoom>> {
        self.rooms().get(&gig).cloned()
    }

    /// Hands a room-wide event to everyone in the gig's room, on every node in a cluster. The
    /// seam where nodes meet: every `message`, `deleted`, `stream`, ban, unban and cancellation
    /// goes through here.
    ///
    /// # Errors
    /// When the bus could not take the event (nobody received it).
    pub async fn publish(&self, gig: GigId, event: RoomEvent) -> Result<(), BusError> {
        self.link.bus.publish(gig, &event).await
    }

    /// Completes once events published for `gig` on any node reach this node's room (at once
    /// on a single node). A session waits for it before it reads the history, so that no
    /// message falls between the two.
    ///
    /// # Errors
    /// When the bus stopped.
    pub async fn listening(&self, gig: GigId) -> Result<(), BusError> {
        self.link.bus.listening(gig).await
    }

    /// Applies an event to this node's room of the gig, if it has one: what the bus calls
    /// with each event that reaches this node.
    pub fn deliver(&self, gig: GigId, event: RoomEvent) {
        let Some(room) = self.room(gig) else { return };
        match event {
            RoomEvent::Broadcast(frame) => {
                if room.broadcast(frame) {
                    self.early.notify_one();
                }
            }
            RoomEvent::Ban(account) => room.set_banned(account, true),
            RoomEvent::Unban(account) => room.set_banned(account, false),
            RoomEvent::Cancelled => {
                room.cancel(&Outbound::new(&ServerMessage::Stream(offline(gig))));
            }
        }
    }

    /// Open chat sessions on this node.
    pub fn sessions(&self) -> usize {
        self.sessions.load(Ordering::SeqCst)
    }

    /// Waits until every session has ended (they end by themselves once shutdown is signalled).
    pub async fn wait_until_idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.sessions() == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Forgets the room if nobody holds a place in it.
    fn forget_if_idle(&self, room: &Arc<ChatRoom>) {
        let mut rooms = self.rooms();
        if room.is_idle()
            && rooms
                .get(&room.gig)
                .is_some_and(|current| Arc::ptr_eq(current, room))
        {
            rooms.remove(&room.gig);
            self.link.bus.unwant(room.gig);
        }
    }
}

/// A socket's place in a room: reserved before the upgrade, joined after it, and given back
/// (leaving the room) when dropped.
#[derive(Debug)]
pub struct Seat {
    rooms: Arc<ChatRooms>,
    room: Arc<ChatRoom>,
    account: AccountId,
    member: Option<MemberId>,
}

impl Seat {
    /// The room.
    pub fn room(&self) -> &Arc<ChatRoom> {
        &self.room
    }

    /// Joins the room (others see `join` and everyone `presence`).
    ///
    /// # Errors
    /// [`Kick::Banned`] when a ban came while the socket was upgrading.
    pub fn join(&mut self, user: ChatUser) -> Result<Membership, Kick> {
        self.join_with(user, Joining::default())
    }

    /// [`Seat::join`], as `joining` says (greeting, outbox, held until the history).
    ///
    /// # Errors
    /// [`Kick::Banned`] when a ban came while the socket was upgrading.
    pub fn join_with(&mut self, user: ChatUser, joining: Joining) -> Result<Membership, Kick> {
        let membership = self.room.join_with(self.account, user, joining)?;
        self.member = Some(membership.id);
        Ok(membership)
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        match self.member {
            Some(id) => self.room.leave(id, self.account),
            None => self.room.release(self.account),
        }
        self.rooms.forget_if_idle(&self.room);
        if self.rooms.sessions.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.rooms.idle.notify_waiters();
        }
    }
}

/// The `stream` message for a hub event.
pub fn stream_message(event: &HubEvent) -> (GigId, ServerMessage) {
    match event {
        HubEvent::Live(status) | HubEvent::Facts(status) => {
            (status.gig_id, ServerMessage::Stream(status.clone()))
        }
        HubEvent::Offline(gig) => (*gig, ServerMessage::Stream(offline(*gig))),
    }
}

/// The status of a gig that is not on air.
pub use crate::live::directory::offline_status as offline;

/// Forwards the stream hub's events into the rooms as `stream` messages until shutdown.
///
/// In a cluster every node forwards its own hub's events to every node, so `events` must carry
/// only the streams whose publisher is on this node (not those it relays from another), or the
/// rooms would see each change once per relaying node.
pub async fn forward_stream_events(
    rooms: Arc<ChatRooms>,
    mut events: broadcast::Receiver<HubEvent>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = shutdown.wait_for(|stopping| *stopping) => return,
        };
        match event {
            Ok(event) => {
                let (gig, message) = stream_message(&event);
                // Published for every gig: the members may be on any node (alone, the bus
                // drops what no room here awaits).
                let event = RoomEvent::Broadcast(Outbound::new(&message));
                if let Err(error) = rooms.publish(gig, event).await {
                    tracing::warn!(%gig, %error, "a stream event did not reach the chat");
                }
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "chat missed stream events");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> ChatUser {
        ChatUser {
            handle: "ann".into(),
            display_name: "Ann".into(),
        }
    }

    #[test]
    fn rooms_exist_while_someone_holds_a_seat() {
        let rooms = ChatRooms::new();
        let (gig, ann) = (GigId::new(), AccountId::new());
        let mut seat = rooms.take_seat(gig, ann).unwrap();
        let reserved = rooms.take_seat(gig, ann).unwrap();
        assert!(rooms.room(gig).is_some());
        let _membership = seat.join(user()).unwrap();
        assert_eq!(rooms.room(gig).unwrap().presence(), 1);
        assert_eq!(rooms.sessions(), 2);
        drop(seat);
        assert!(rooms.room(gig).is_some(), "a reserved seat keeps the room");
        drop(reserved);
        assert!(rooms.room(gig).is_none());
        assert_eq!(rooms.sessions(), 0);
    }

    /// The messages written to `membership` next, once there are some.
    async fn next_messages(membership: &Membership) -> Vec<ServerMessage> {
        let bytes = membership.outbox.take().await;
        membership.outbox.written(Vec::new());
        super::super::wire::parse_frames(&bytes)
            .into_iter()
            .map(|(_, payload)| serde_json::from_slice(&payload).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn hub_events_arrive_as_stream_messages_in_that_gigs_room_only() {
        let rooms = ChatRooms::new();
        let hub = crate::live::StreamHub::new();
        let (stop, stopping) = watch::channel(false);
        let ticks = tokio::spawn(Arc::clone(&rooms).run_ticks(stopping.clone()));
        let forward = tokio::spawn(forward_stream_events(
            Arc::clone(&rooms),
            hub.subscribe(),
            stopping,
        ));
        let (gig, other) = (GigId::new(), GigId::new());
        let mut seat = rooms.take_seat(gig, AccountId::new()).unwrap();
        let membership = seat.join(user()).unwrap();
        let _presence = next_messages(&membership).await;
        let publisher = hub.start_publishing(gig).unwrap();
        let _elsewhere = hub.start_publishing(other).unwrap();
        let live = next_messages(&membership).await;
        assert!(
            matches!(&live[..], [ServerMessage::Stream(s)] if s.live && s.gig_id == gig),
            "{live:?}"
        );
        drop(publisher);
        let offline_now = next_messages(&membership).await;
        assert_eq!(offline_now, [ServerMessage::Stream(offline(gig))]);
        stop.send(true).unwrap();
        forward.await.unwrap();
        ticks.await.unwrap();
        assert!(
            membership.outbox.drain().is_empty(),
            "nothing from the other gig"
        );
    }
}
