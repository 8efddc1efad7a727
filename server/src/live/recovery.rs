//! After a crash, gigs stored as `live` have no publisher any more. A single node (embedded
//! store) knows it holds every stream, so at start-up its stream directory
//! ([`super::directory::OneNodeDirectory`]) marks them offline. With Redis other nodes may hold
//! them: this must not run there; the stream sweeper ([`crate::cluster::sweeper`]) takes the
//! gigs of dead nodes off air instead.

use bookmygig_api::GigStatus;
use bookmygig_api::limits::PAGE_LIMIT_MAX;
use bookmygig_store::{GigCursor, GigQuery, GigState, StatusFilter, Store, StoreResult};
use time::OffsetDateTime;

/// Marks every gig stored as live as offline; returns how many there were.
///
/// # Errors
/// When the store fails.
pub async fn mark_orphaned_streams_offline(store: &dyn Store) -> StoreResult<usize> {
    let mut query = GigQuery {
        category: None,
        status: StatusFilter::Is(GigStatus::Live),
        text: None,
        after: None,
        limit: PAGE_LIMIT_MAX,
        now: OffsetDateTime::now_utc(),
        bounds: bookmygig_store::GigBounds::default(),
    };
    let mut marked = 0;
    loop {
        let page = store.list_gigs(&query).await?;
        let Some(last) = page.last() else {
            return Ok(marked);
        };
        query.after = Some(GigCursor::after(last));
        for gig in &page {
            store.set_gig_state(gig.id, GigState::Offline).await?;
            marked += 1;
        }
    }
}
