//! Who may watch a gig: its creator, and holders of a valid ticket. REST (playback grants),
//! HTTP-FLV, RTMP play and the periodic re-check of running sessions all ask here; a player
//! (FLV or RTMP) is let in by [`admit_player`] alone.

use bookmygig_api::{AccountId, GigId, TicketStatus};
use bookmygig_store::{GigRecord, GigState, Store, StoreError, StoreResult};
use time::OffsetDateTime;

use crate::playback::{PlaybackKey, TokenError};

/// Why a player (HTTP-FLV or RTMP play) was not let in.
#[derive(Debug, thiserror::Error)]
pub enum PlayerRefusal {
    /// The playback token does not open this gig.
    #[error("{0}")]
    Token(#[from] TokenError),
    /// No such gig.
    #[error("no gig with id {0}")]
    UnknownGig(GigId),
    /// The token's account holds no valid ticket (nor created the gig).
    #[error("no valid ticket for this gig")]
    NoTicket,
    /// The store failed.
    #[error("storage unavailable: {0}")]
    Store(#[from] StoreError),
}

/// A player let in: the gig it plays and the account that watches (and pays).
#[derive(Debug)]
pub struct Player {
    /// The gig, as stored now.
    pub gig: GigRecord,
    /// The account the playback token was signed for.
    pub account: AccountId,
}

/// The one check every player passes: `token` (from a playback URL) opens `gig` at `now`, the
/// gig exists, and the token's account may watch it.
///
/// # Errors
/// Why the player may not play.
pub async fn admit_player(
    store: &dyn Store,
    key: &PlaybackKey,
    token: Option<&str>,
    gig: GigId,
    now: OffsetDateTime,
) -> Result<Player, PlayerRefusal> {
    let grant = key.verify(token, gig, now)?;
    let record = store
        .gig(gig)
        .await?
        .ok_or(PlayerRefusal::UnknownGig(gig))?;
    if !may_watch(store, &record, grant.account_id).await? {
        return Err(PlayerRefusal::NoTicket);
    }
    Ok(Player {
        gig: record,
        account: grant.account_id,
    })
}

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
