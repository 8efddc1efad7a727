//! The chat seams for a single node, in process: a [`RoomBus`] that delivers to this node's
//! rooms only, a [`Roster`] that announces people at once, and a [`SpeechLimit`] that is each
//! person's token bucket in the room. They do what a node alone always did; having them lets
//! the rooms run one code path with one node or many ([`ChatLink::in_process`] builds the set).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use async_trait::async_trait;
use bookmygig_api::{AccountId, ChatUser, GigId, ServerMessage};

use super::bus::{Arrival, BusError, RoomBus, Roster, SpeechLimit};
use super::room::{FrameKind, Outbound, RATE_REFILL};
use super::rooms::{ChatLink, ChatRooms, RoomEvent};

impl ChatLink {
    /// The bus, roster and speech limit of a node alone, serving `rooms` (the rooms being
    /// built: they hold the link, the link refers back to them weakly).
    pub fn in_process(rooms: Weak<ChatRooms>) -> ChatLink {
        ChatLink {
            bus: Arc::new(InProcessBus {
                rooms: rooms.clone(),
            }),
            roster: Arc::new(InProcessRoster::default()),
            limit: Arc::new(InProcessSpeechLimit { rooms }),
        }
    }
}

/// Delivers each published event to this node's room of the gig, at once.
#[derive(Debug)]
pub struct InProcessBus {
    rooms: Weak<ChatRooms>,
}

impl InProcessBus {
    /// A bus delivering to `rooms`.
    pub fn new(rooms: Weak<ChatRooms>) -> Self {
        Self { rooms }
    }
}

#[async_trait]
impl RoomBus for InProcessBus {
    async fn publish(&self, gig: GigId, event: &RoomEvent) -> Result<(), BusError> {
        let rooms = self.rooms.upgrade().ok_or(BusError::Stopped)?;
        rooms.deliver(gig, event.clone());
        Ok(())
    }

    fn want(&self, _gig: GigId) {}

    fn unwant(&self, _gig: GigId) {}

    async fn listening(&self, _gig: GigId) -> Result<(), BusError> {
        Ok(())
    }
}

/// Counts the people of each gig's room on this node and announces them at once.
#[derive(Debug, Default)]
pub struct InProcessRoster {
    people: Mutex<HashMap<GigId, HashSet<AccountId>>>,
}

impl InProcessRoster {
    fn people(&self) -> MutexGuard<'_, HashMap<GigId, HashSet<AccountId>>> {
        // Each statement leaves the sets consistent, so a panic elsewhere leaves them usable.
        self.people.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The `presence` frame for `count` people.
fn presence(count: usize) -> Outbound {
    let count = u32::try_from(count).unwrap_or(u32::MAX);
    Outbound::new(&ServerMessage::Presence { count })
}

impl Roster for InProcessRoster {
    fn arrived(&self, gig: GigId, account: AccountId, user: &ChatUser) -> Arrival {
        let mut people = self.people();
        let here = people.entry(gig).or_default();
        let mut frames = Vec::with_capacity(2);
        if here.insert(account) {
            let mut join = Outbound::new(&ServerMessage::Join(user.clone()));
            join.kind = FrameKind::Join(account);
            frames.push(join);
        }
        frames.push(presence(here.len()));
        Arrival::Now(frames)
    }

    fn departed(&self, gig: GigId, account: AccountId, user: &ChatUser) -> Vec<Outbound> {
        let mut people = self.people();
        let Some(here) = people.get_mut(&gig) else {
            return Vec::new();
        };
        if !here.remove(&account) {
            return Vec::new();
        }
        let count = here.len();
        if count == 0 {
            people.remove(&gig);
        }
        vec![
            Outbound::new(&ServerMessage::Leave(user.clone())),
            presence(count),
        ]
    }
}

/// Each person's token bucket in this node's room.
#[derive(Debug)]
pub struct InProcessSpeechLimit {
    rooms: Weak<ChatRooms>,
}

impl InProcessSpeechLimit {
    /// A limit reading the buckets of `rooms`.
    pub fn new(rooms: Weak<ChatRooms>) -> Self {
        Self { rooms }
    }
}

#[async_trait]
impl SpeechLimit for InProcessSpeechLimit {
    async fn take_token(
        &self,
        gig: GigId,
        account: AccountId,
    ) -> Result<Result<(), Duration>, BusError> {
        let rooms = self.rooms.upgrade().ok_or(BusError::Stopped)?;
        Ok(match rooms.room(gig) {
            Some(room) => room.take_token(account),
            // Only members send; with no room here nobody has anything to say.
            None => Err(RATE_REFILL),
        })
    }
}
