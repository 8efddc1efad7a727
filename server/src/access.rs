//! Who may watch a gig: its creator, and holders of a valid ticket. REST (playback grants),
//! HTTP-FLV, RTMP play and the periodic re-check of running sessions all ask here.

use bookmygig_api::{AccountId, GigId, TicketStatus};
use bookmygig_store::{GigRecord, GigState, Store, StoreResult};

/// Whether `account` may watch `gig` now. Nobody watches (or chats in) a cancelled gig: its
/// tickets are refunded, and its show will not happen.
///
/// # Errors
/// When the store cannot answer.
pub async fn may_watch(
    store: &dyn Store,
    gig: &GigRecord,
    account: AccountId,
) -> StoreResult<bool> {
    if gig.state == GigState::Cancelled {
        return Ok(false);
    }
    if gig.creator_id == account {
        return Ok(true);
    }
    Ok(store
        .ticket_for(account, gig.id)
        .await?
        .is_some_and(|t| t.status == TicketStatus::Valid))
}

/// The periodic re-check of a running playback session: whether `account` may still watch
/// `gig`. A store hiccup does not cut off a paying viewer (the next check decides); a gig that
/// is gone does.
pub async fn still_may_watch(store: &dyn Store, gig: GigId, account: AccountId) -> bool {
    match store.gig(gig).await {
        Ok(Some(record)) => may_watch(store, &record, account).await.unwrap_or(true),
        Ok(None) => false,
        Err(_) => true,
    }
}
