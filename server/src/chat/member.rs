//! One socket in a room as the room serves it: its outbox, its greeting, and while it is new
//! the frames held until its history is written and the messages that history already had.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bookmygig_api::{AccountId, MessageId};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::frame::{FrameKind, Outbound, wire_of};
use super::outbox::{Outbox, Overflow};
use super::room::Kick;

/// Frames a member may have held before its history before it counts as too slow.
pub(super) const HELD_LIMIT: usize = 1_024;
/// How long a message whose id was in the newcomer's history may still arrive from the room.
pub(super) const DEDUPE_WINDOW: Duration = Duration::from_secs(10);

/// For a while after a member's history was sent, the messages it held, which may still come
/// from the room (in a cluster, through the bus after the history was read), are skipped.
#[derive(Debug)]
pub(super) struct Seen {
    pub(super) messages: HashSet<MessageId>,
    pub(super) until: Instant,
}

/// A socket in the room.
#[derive(Debug)]
pub(super) struct Member {
    pub(super) account: AccountId,
    pub(super) outbox: Arc<Outbox>,
    pub(super) kick: Option<oneshot::Sender<Kick>>,
    /// Sent right after the first `presence` this member gets (the newcomer's `stream`).
    pub(super) greeting: Option<Outbound>,
    /// Frames waiting for the history, which [`ChatRoom::open`] writes first.
    pub(super) held: Option<Vec<Outbound>>,
    /// Messages its history had, skipped if the room sends them again.
    pub(super) seen: Option<Seen>,
}

impl Member {
    /// Whether the shared bytes of a batch will do for this member (nothing in it is to be
    /// held, skipped or followed by its greeting).
    pub(super) fn takes_shared(&self, batch_has_presence: bool, joined: &[AccountId]) -> bool {
        self.held.is_none()
            && self.seen.is_none()
            && !(batch_has_presence && self.greeting.is_some())
            && !joined.contains(&self.account)
    }

    /// Sends `frames` as this member must get them: without its own `join`, its greeting after
    /// the first `presence`, held until the history, without what the history had.
    pub(super) fn send(&mut self, frames: &[Outbound], now: Instant) -> Result<(), Overflow> {
        if self.seen.as_ref().is_some_and(|seen| now > seen.until) {
            self.seen = None;
        }
        let greeting = if frames.iter().any(|f| f.kind == FrameKind::Presence) {
            self.greeting.take()
        } else {
            None
        };
        let mut mine = Vec::with_capacity(frames.len() + 1);
        for frame in frames {
            if frame.kind == FrameKind::Join(self.account) {
                continue;
            }
            if let (Some(seen), Some(id)) = (&mut self.seen, frame.message())
                && seen.messages.remove(&id)
            {
                if seen.messages.is_empty() {
                    // Every repeat came: back to the shared bytes.
                    self.seen = None;
                }
                continue;
            }
            mine.push(frame);
            if frame.kind == FrameKind::Presence
                && let Some(greeting) = &greeting
            {
                mine.push(greeting);
            }
        }
        if let Some(held) = &mut self.held {
            if held.len() + mine.len() > HELD_LIMIT {
                return Err(Overflow);
            }
            held.extend(mine.into_iter().cloned());
            return Ok(());
        }
        self.outbox.offer(&wire_of(mine.into_iter()))
    }
}
