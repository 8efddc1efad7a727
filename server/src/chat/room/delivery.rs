//! Delivery: a room collects broadcasts until [`ChatRoom::flush`] (the server calls it every few
//! milliseconds) and then writes the whole batch to every member, one write of the same bytes
//! per member per tick instead of one per message; of several `presence` frames in a batch only
//! the last is sent. Members that must get a batch their own way (newcomers still held, those
//! whose `join` it holds) are served under the room's lock; everyone else outside it.

use std::sync::Arc;

use bookmygig_api::AccountId;
use tokio::time::Instant;

use super::super::frame::{FrameKind, Outbound, only_last_presence, wire_of};
use super::super::outbox::Outbox;
use super::{ChatRoom, Kick, MemberId, RoomState};

/// A tick's batch, to write outside the room's lock.
struct Flush {
    /// The batch's frames, encoded.
    bytes: Vec<u8>,
    /// The members that take them as they are.
    shared: Vec<(MemberId, Arc<Outbox>)>,
}

impl ChatRoom {
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
}
