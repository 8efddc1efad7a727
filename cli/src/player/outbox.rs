//! Delivery of [`PlayerEvent`]s from the player thread to an async caller, never blocking mpv.
//!
//! The channel is bounded. Ordinary events are offered with `try_send` and dropped when the
//! caller is behind (position updates repeat twice a second, so a dropped one heals itself).
//! One slot is reserved from the start for the last event (`Ended`, `Error` or `Closed`), so that
//! one is always delivered, however full the channel is.

use tokio::sync::mpsc::{self, OwnedPermit};

use super::PlayerEvent;

/// The sending side of a player's event channel.
#[derive(Debug)]
pub(crate) struct Outbox {
    /// Ordinary events.
    events: mpsc::Sender<PlayerEvent>,
    /// The reserved slot for the last event; `None` only if the caller dropped the receiver
    /// before the player started.
    last: Option<OwnedPermit<PlayerEvent>>,
}

impl Outbox {
    /// A channel holding up to `capacity` events (at least 2: one is reserved for the last).
    pub(crate) fn channel(capacity: usize) -> (Self, mpsc::Receiver<PlayerEvent>) {
        let (events, receiver) = mpsc::channel(capacity.max(2));
        // The channel is new and empty, so the reservation can only fail if it were closed.
        let last = events.clone().try_reserve_owned().ok();
        (Self { events, last }, receiver)
    }

    /// Offers an ordinary event; drops it if the caller is behind or gone.
    pub(crate) fn send(&self, event: PlayerEvent) {
        // Full or closed: either way the event is not worth waiting for.
        let _ = self.events.try_send(event);
    }

    /// Delivers the last event into the reserved slot; the channel closes once the receiver
    /// has read everything.
    pub(crate) fn finish(self, event: PlayerEvent) {
        if let Some(permit) = self.last {
            permit.send(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_caller_loses_ordinary_events_but_always_gets_the_last() {
        let (outbox, mut rx) = Outbox::channel(3);
        for i in 0..10_u32 {
            outbox.send(PlayerEvent::Playing {
                position_s: f64::from(i),
            });
        }
        outbox.finish(PlayerEvent::Ended);

        let mut got = Vec::new();
        while let Some(event) = rx.blocking_recv() {
            got.push(event);
        }
        assert_eq!(
            got,
            [
                PlayerEvent::Playing { position_s: 0.0 },
                PlayerEvent::Playing { position_s: 1.0 },
                PlayerEvent::Ended,
            ]
        );
    }

    #[test]
    fn a_gone_caller_is_not_an_error() {
        let (outbox, rx) = Outbox::channel(2);
        drop(rx);
        outbox.send(PlayerEvent::Loading);
        outbox.finish(PlayerEvent::Closed);
    }
}
