//! `GET /api/v1/monetization`: the monetization channel, as server-sent events. While it is
//! open and the account plays nothing, the platform is paid at the browsing rate; while the
//! account plays a gig, its creator is. Each event is `started`, `pending` or `stopped` with
//! a [`MonetizationEvent`] JSON body.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use bookmygig_api::{MonetizationEvent, Money, StopReason};
use futures::Stream;
use tokio::sync::watch;

use super::auth::SocketAuthenticated;
use super::problem::responses as problems;
use crate::money::{ChannelGuard, ChannelStatus};
use crate::state::AppState;

/// How often an idle channel sends a keep-alive comment, so proxies keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The monetization channel: server-sent events telling where micropayments go and how much
/// this channel has paid.
#[utoipa::path(get, path = "/api/v1/monetization", tag = "wallet",
    params(("token" = Option<String>, Query, description = "session token, for clients that cannot send `Authorization`")),
    responses((status = 200, content_type = "text/event-stream", body = crate::http::openapi::MonetizationStreamEvent,
        description = "events `started`, `pending`, `stopped`; each `data` is a JSON `MonetizationEvent`"),
        (status = 401, response = problems::Unauthorized), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn channel(
    State(state): State<AppState>,
    SocketAuthenticated(auth): SocketAuthenticated,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let guard = state.meter.open_channel(auth.account.id);
    let base = guard.status.borrow().paid;
    tracing::info!(account = %auth.account.id, "monetization channel opened");
    let channel = Channel {
        guard,
        base,
        first: true,
        shutdown: state.shutdown.clone(),
    };
    Sse::new(futures::stream::unfold(channel, Channel::next))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
}

/// One open channel.
struct Channel {
    /// Keeps the channel counted by the meter; its receiver sees the account's status.
    guard: ChannelGuard,
    /// What the account had paid when the channel opened.
    base: Money,
    /// The current state is sent at once.
    first: bool,
    shutdown: watch::Receiver<bool>,
}

impl Channel {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        if self.first {
            self.first = false;
        } else {
            tokio::select! {
                changed = self.guard.status.changed() => changed.ok()?,
                _ = self.shutdown.wait_for(|stopping| *stopping) => return None,
            }
        }
        let status = self.guard.status.borrow_and_update().clone();
        let event = event_of(&status, self.base);
        let sse = Event::default()
            .event(event.name())
            .json_data(&event)
            .unwrap_or_else(|_| Event::default().comment("unencodable event"));
        Some((Ok(sse), self))
    }
}

/// The event a status shows, with the total counted from `base`.
fn event_of(status: &ChannelStatus, base: Money) -> MonetizationEvent {
    let total = Money(status.paid.0 - base.0);
    if status.stopped {
        MonetizationEvent::Stopped {
            reason: StopReason::WalletEmpty,
            total,
        }
    } else if status.started {
        MonetizationEvent::Started {
            recipient: status.recipient.clone(),
            total,
        }
    } else {
        MonetizationEvent::Pending { total }
    }
}
