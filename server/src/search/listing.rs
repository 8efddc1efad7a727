//! A catalogue page for a query with search text, answered from the index: the index ranks
//! and pages, the store gives each gig on the page as it is now (seats left, status), and a
//! gig that no longer passes the filters is left out.
//!
//! The index holds only what the default catalogue shows (cancelled gigs are taken out, ended
//! ones retired), so a search of ended or cancelled gigs is the store's, as is any search
//! before the index is first built: [`page`] answers `None` and the caller asks the store.

use bookmygig_api::GigStatus;
use bookmygig_store::{GigCursor, GigQuery, GigRecord, StatusFilter, Store, StoreError};

use super::SearchIndex;
use super::index::Filter;
use super::query::SearchQuery;
use super::rank::Position;

/// One page of search results.
#[derive(Debug)]
pub struct Listing {
    /// The gigs, in rank order.
    pub gigs: Vec<GigRecord>,
    /// Where the next page starts, when there is one.
    pub next: Option<GigCursor>,
}

/// The page `query` asks for (its `text` searched, its filters applied, `query.limit` gigs at
/// most), or `None` when the index cannot answer it (see the module docs).
///
/// # Errors
/// When the store fails to give a gig.
pub async fn page(
    index: &SearchIndex,
    store: &dyn Store,
    query: &GigQuery,
) -> Result<Option<Listing>, StoreError> {
    let Some(text) = &query.text else {
        return Ok(None);
    };
    if matches!(
        query.status,
        StatusFilter::Is(GigStatus::Ended | GigStatus::Cancelled)
    ) {
        return Ok(None);
    }
    // The handler refused a text over the limits already; one that slips past is the store's.
    let Ok(search) = SearchQuery::parse(text) else {
        return Ok(None);
    };
    let filter = Filter {
        category: query.category,
        status: query.status,
        now: query.now,
        bounds: query.bounds,
    };
    let after = query.after.as_ref().map(Position::from_cursor);
    let Some(mut hits) = index.search(&search, &filter, after, query.limit.saturating_add(1))
    else {
        return Ok(None);
    };
    let next = if hits.len() > query.limit {
        hits.truncate(query.limit);
        hits.last().map(Position::cursor)
    } else {
        None
    };
    let found = futures::future::try_join_all(hits.iter().map(|hit| store.gig(hit.id()))).await?;
    let filters = GigQuery {
        text: None,
        after: None,
        ..query.clone()
    };
    let gigs = found
        .into_iter()
        .flatten()
        .filter(|gig| filters.matches(gig))
        .collect();
    Ok(Some(Listing { gigs, next }))
}
