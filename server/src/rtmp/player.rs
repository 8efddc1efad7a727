//! The player role: what a connection whose play was granted does. It reads the stream's feed
//! from the hub, has the session turn each tag into a packet, accrues the viewer's
//! micropayments through the meter and holds one of the account's stream seats while it plays,
//! and asks the store again whether the viewer may still watch (a refunded ticket ends
//! playback).

use std::sync::Arc;

use bookmygig_api::{AccountId, GigId};
use bookmygig_media::gop::MediaTag;

use super::RtmpContext;
use super::policy::PlayGrant;
use super::session::{Session, SessionError};
use crate::access;
use crate::live::seats::StreamSeat;
use crate::live::{FeedEnd, ViewerFeed};
use crate::money::WatchGuard;

/// A connection playing a gig.
pub struct Playing {
    gig: GigId,
    /// Who watches (and pays).
    account: AccountId,
    feed: ViewerFeed,
    /// Accrues micropayments while the viewer plays; dropped with the role.
    _watching: WatchGuard,
    /// One of the account's `--max-streams-per-ticket`; given back with the role.
    _seat: StreamSeat,
}

impl Playing {
    /// Starts playing what the policy granted, once the session has accepted the play:
    /// subscribes to the stream and queues its start (metadata, sequence headers, the current
    /// GOP) in the session.
    ///
    /// # Errors
    /// The session's.
    pub fn start(
        context: &RtmpContext,
        grant: PlayGrant,
        session: &mut Session,
    ) -> Result<Self, SessionError> {
        let PlayGrant {
            gig,
            account,
            stream,
            seat,
        } = grant;
        let subscription = stream.subscribe();
        session.start_playback(&stream.facts(), &subscription.start)?;
        tracing::info!(gig = %gig.id, account = %account, "RTMP viewer joined");
        Ok(Playing {
            gig: gig.id,
            account,
            feed: subscription.feed,
            _watching: context.meter.watch(account, &gig),
            _seat: seat,
        })
    }

    /// The gig being watched.
    pub fn gig(&self) -> GigId {
        self.gig
    }

    /// The next tag for the viewer.
    ///
    /// # Errors
    /// Why the feed ended: the stream is over, or the viewer fell too far behind.
    pub async fn next_tag(&mut self) -> Result<Arc<MediaTag>, FeedEnd> {
        self.feed.next().await
    }

    /// The bytes carrying `tag` to the viewer: a metadata tag as the stream's metadata as of
    /// now, any other as media.
    ///
    /// # Errors
    /// The session's.
    pub fn packet(&self, tag: &MediaTag, session: &mut Session) -> Result<Vec<u8>, SessionError> {
        if tag.metadata {
            session.metadata_packet(&self.feed.stream().facts())
        } else {
            session.media_packet(tag)
        }
    }

    /// Whether the viewer may still watch (a store that cannot answer does not cut playback).
    pub async fn still_allowed(&self, context: &RtmpContext) -> bool {
        access::still_may_watch(context.store.as_ref(), self.gig, self.account).await
    }
}
