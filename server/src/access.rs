//! Who may watch a gig: its creator, and holders of a valid ticket. REST (playback grants),
//! HTTP-FLV, RTMP play and the periodic re-check of running sessions all ask here.

use bookmygig_api::{AccountId, TicketStatus};
use bookmygig_store::{GigRecord, Store, StoreResult};

/// Whether `account` may watch `gig` now.
///
/// # Errors
/// When the store cannot answer.
pub async fn may_watch(
    store: &dyn Store,
    gig: &GigRecord,
    account: AccountId,
) -> StoreResult<bool> {
    if gig.creator_id == account {
        return Ok(true);
    }
    Ok(store
        .ticket_for(account, gig.id)
        .await?
        .is_some_and(|t| t.status == TicketStatus::Valid))
}
