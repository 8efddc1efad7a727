//! The publisher role: what a connection whose publish was granted does with the gig. It marks
//! the gig live, keeps the gig's claim in the stream directory alive, pushes the media into the
//! hub, asks the store again and again whether it may go on ([`policy::still_may_publish`]),
//! and on leaving gives the claim back and marks the gig offline. It never sees bytes: the
//! session hands it media tags.

use std::sync::Arc;

use bookmygig_api::GigId;
use bookmygig_media::gop::MediaTag;
use bookmygig_store::{GigState, TokenHash};
use time::OffsetDateTime;

use super::RtmpContext;
use super::policy::{self, PublishGrant, PublishRefusal};
use crate::live::{PublishClaim, Publisher};

/// A connection publishing a gig.
pub struct Publishing {
    gig: GigId,
    /// Hash of the key the publisher used: a rotation changes the gig's.
    key_hash: TokenHash,
    /// The gig's slot in this node's hub; the stream ends when it is dropped.
    publisher: Publisher,
    /// The gig's claim in the stream directory (across the cluster, with several nodes).
    claim: PublishClaim,
}

impl Publishing {
    /// Goes live with what the policy granted: marks the gig live and keeps its claim alive.
    pub async fn start(context: &RtmpContext, grant: PublishGrant) -> Self {
        let PublishGrant {
            gig,
            publisher,
            mut claim,
        } = grant;
        if let Err(error) = context.store.set_gig_state(gig.id, GigState::Live).await {
            tracing::warn!(gig = %gig.id, %error, "could not mark the gig live");
        }
        tracing::info!(gig = %gig.id, "publisher connected: gig is live");
        claim.keep_alive(
            Arc::clone(publisher.stream()),
            Arc::clone(&context.hub),
            Arc::clone(&context.store),
        );
        Publishing {
            gig: gig.id,
            key_hash: gig.stream_key_hash,
            publisher,
            claim,
        }
    }

    /// The gig being published.
    pub fn gig(&self) -> GigId {
        self.gig
    }

    /// Hands one tag of the publisher's media to the hub.
    pub fn push(&self, tag: MediaTag) {
        self.publisher.push(tag);
    }

    /// Whether the publisher may go on (see [`policy::still_may_publish`]).
    ///
    /// # Errors
    /// Why it must go: a rotated key, a cancelled gig, a closed window.
    pub async fn recheck(&self, context: &RtmpContext) -> Result<(), PublishRefusal> {
        let now = OffsetDateTime::now_utc();
        policy::still_may_publish(context, self.gig, &self.key_hash, now).await
    }

    /// Resolves when another publisher has taken the gig while this node's claim had lapsed;
    /// never on one node.
    pub async fn claim_lost(&mut self) {
        self.claim.lost().await;
    }

    /// Leaves: ends the stream, gives the claim back and marks the gig offline.
    pub async fn stop(self, context: &RtmpContext) {
        let Publishing {
            gig,
            publisher,
            claim,
            ..
        } = self;
        drop(publisher);
        claim.release().await;
        if let Err(error) = context.store.set_gig_state(gig, GigState::Offline).await {
            tracing::debug!(gig = %gig, %error, "could not mark the gig offline");
        }
        tracing::info!(gig = %gig, "publisher left: gig is offline");
    }
}
