//! The player role: what a connection whose play was granted does. It reads the stream's feed
//! from the hub a segment at a time, as RTMP chunks encoded once for every player of the gig
//! (see [`super::chunks`]) and gathered into one write when several wait, accrues the viewer's
//! micropayments through the meter and holds one of the account's stream seats while it plays,
//! and asks the store again whether the viewer may still watch (a refunded ticket ends
//! playback).

use std::collections::VecDeque;
use std::sync::Arc;

use bookmygig_api::{AccountId, GigId};
use bytes::{Bytes, BytesMut};

use super::RtmpContext;
use super::chunks;
use super::media;
use super::policy::PlayGrant;
use super::session::{Session, SessionError};
use crate::access;
use crate::live::seats::StreamSeat;
use crate::live::stream::{LiveStream, Segment};
use crate::live::{FeedEnd, ViewerFeed};
use crate::money::WatchGuard;

/// A connection playing a gig.
pub struct Playing {
    gig: GigId,
    /// Who watches (and pays).
    account: AccountId,
    feed: ViewerFeed,
    /// The message stream the player plays on; [`chunks::SHARED_STREAM_ID`] shares the
    /// segments' encoding.
    stream_id: u32,
    /// The feed ended while segments were being gathered: they go out first, then this.
    ended: Option<FeedEnd>,
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
        let stream_id = session
            .playing_stream_id()
            .ok_or_else(|| SessionError::Protocol("not playing".into()))?;
        tracing::info!(gig = %gig.id, account = %account, "RTMP viewer joined");
        Ok(Playing {
            gig: gig.id,
            account,
            feed: subscription.feed,
            stream_id,
            ended: None,
            _watching: context.meter.watch(account, &gig),
            _seat: seat,
        })
    }

    /// The gig being watched.
    pub fn gig(&self) -> GigId {
        self.gig
    }

    /// The next bytes for the viewer: the next segment, with those already waiting behind it
    /// (a player a little behind catches up in one write), each as RTMP chunks.
    ///
    /// # Errors
    /// Why the feed ended: the stream is over, or the viewer fell too far behind.
    pub async fn next_chunks(&mut self) -> Result<VecDeque<Bytes>, FeedEnd> {
        if let Some(end) = self.ended {
            return Err(end);
        }
        let first = self.feed.next_segment().await?;
        let stream = Arc::clone(self.feed.stream());
        let stream_id = self.stream_id;
        let mut parts = VecDeque::from([chunks_of(&stream, stream_id, &first)]);
        self.ended = self.feed.gather_waiting(parts[0].len(), |segment| {
            let bytes = chunks_of(&stream, stream_id, &segment);
            let len = bytes.len();
            parts.push_back(bytes);
            len
        });
        Ok(parts)
    }

    /// Whether the viewer may still watch (a store that cannot answer does not cut playback).
    pub async fn still_allowed(&self, context: &RtmpContext) -> bool {
        access::still_may_watch(context.store.as_ref(), self.gig, self.account).await
    }
}

/// `segment` as chunks on message stream `stream_id` of `stream`: the shared encoding on the
/// shared stream id, a player's own otherwise.
fn chunks_of(stream: &LiveStream, stream_id: u32, segment: &Segment) -> Bytes {
    let encode = |segment: &Segment| {
        let mut out = BytesMut::new();
        for tag in &segment.tags {
            chunks::append_tag(&mut out, tag, stream_id, &mut || {
                media::player_on_metadata(&stream.facts())
            });
        }
        out.freeze()
    };
    if stream_id == chunks::SHARED_STREAM_ID {
        segment.shared_rtmp(encode)
    } else {
        encode(segment)
    }
}
