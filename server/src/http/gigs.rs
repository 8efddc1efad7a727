//! Gigs: the catalogue, registration (with its listing fee), changes, cancellation (with its
//! refunds) and stream-key rotation.

use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bookmygig_api::gig::StreamKeyInfo;
use bookmygig_api::limits::{PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, PRICE_MAX};
use bookmygig_api::{
    AccountId, Category, EntryKind, Gig, GigId, GigPatch, GigStatus, Money, NewGig, Page,
    StreamKey, TransactionId,
};
use bookmygig_store::{
    Cancellation, GigBounds, GigCursor, GigQuery, GigRecord, GigState, LedgerAccount, StatusFilter,
    StoreError, Transaction,
};
use time::OffsetDateTime;

use super::auth::{Authenticated, MaybeAuthenticated};
use super::json::ApiJson;
use super::problem::ApiError;
use super::problem::responses as problems;
use crate::catalogue::Lookup;
use crate::chat::RoomEvent;
use crate::forms;
use crate::search::SearchQuery;
use crate::secret;
use crate::state::{AppState, Settings};

/// The public view of a gig; with `secrets` (its creator asking) also the stream key and URL.
pub fn view(gig: &GigRecord, settings: &Settings, now: OffsetDateTime, secrets: bool) -> Gig {
    let d = &gig.details;
    Gig {
        id: gig.id,
        creator_id: gig.creator_id,
        creator_name: d.creator_name.clone(),
        title: d.title.clone(),
        description: d.description.clone(),
        category: d.category,
        price: d.price,
        starts_at: d.starts_at,
        ends_at: d.ends_at,
        capacity: d.capacity,
        seats_left: gig.seats_left(),
        payment_pointer: d.payment_pointer.clone(),
        payment_url: d.payment_pointer.resolve(),
        micropayment_rate: d.micropayment_rate,
        status: gig.status_at(now),
        replay_hours: d.replay_hours,
        replay_until: crate::recording::replay_until(gig),
        created_at: gig.created_at,
        stream_key: secrets.then(|| StreamKey(gig.stream_key.clone())),
        rtmp_url: secrets.then(|| settings.rtmp_url.clone()),
    }
}

/// Parses a gig id from the path; a malformed one is simply not found.
pub fn gig_id(raw: &str) -> Result<GigId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound(format!("`{raw}` is not a gig id")))
}

/// Loads a gig or answers 404.
pub async fn load(state: &AppState, id: GigId) -> Result<GigRecord, ApiError> {
    state
        .store
        .gig(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no gig with id {id}")))
}

/// Loads a gig that `who` created, or answers 404/403.
pub async fn load_own(
    state: &AppState,
    raw_id: &str,
    who: AccountId,
) -> Result<GigRecord, ApiError> {
    let gig = load(state, gig_id(raw_id)?).await?;
    if gig.creator_id != who {
        return Err(ApiError::Forbidden(
            "only the gig's creator may do this".into(),
        ));
    }
    Ok(gig)
}

/// Parsed `GET /gigs` parameters.
///
/// # Errors
/// The first parameter that is wrong, or unknown.
pub fn catalogue_query(raw: Option<&str>, now: OffsetDateTime) -> Result<GigQuery, ApiError> {
    let mut query = GigQuery {
        category: None,
        status: StatusFilter::Upcoming,
        text: None,
        after: None,
        limit: PAGE_LIMIT_DEFAULT,
        now,
        bounds: GigBounds::default(),
    };
    let mut free = false;
    let pairs = url_pairs(raw.unwrap_or(""));
    for (name, value) in pairs {
        match name.as_str() {
            "category" => {
                query.category = Some(
                    value
                        .parse::<Category>()
                        .map_err(|e| ApiError::invalid("category", e.to_string()))?,
                );
            }
            "status" => {
                let status = value
                    .parse::<GigStatus>()
                    .map_err(|e| ApiError::invalid("status", e))?;
                query.status = StatusFilter::Is(status);
            }
            "q" => {
                // Its limits (characters as sent, words) hold whoever answers the search.
                SearchQuery::parse(&value).map_err(|e| ApiError::invalid("q", e.to_string()))?;
                let text = value.trim();
                query.text = (!text.is_empty()).then(|| text.to_owned());
            }
            "cursor" => {
                query.after = Some(GigCursor::decode(&value).ok_or_else(|| {
                    ApiError::invalid("cursor", "not a cursor from a previous page's next_cursor")
                })?);
            }
            "limit" => {
                query.limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=PAGE_LIMIT_MAX).contains(n))
                    .ok_or_else(|| {
                        ApiError::invalid("limit", format!("a number from 1 to {PAGE_LIMIT_MAX}"))
                    })?;
            }
            "from" => query.bounds.from = Some(instant("from", &value)?),
            "to" => query.bounds.to = Some(instant("to", &value)?),
            "min_price" => query.bounds.min_price = Some(price("min_price", &value)?),
            "max_price" => query.bounds.max_price = Some(price("max_price", &value)?),
            "free" => {
                free = match value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(ApiError::invalid("free", "true or false")),
                };
            }
            other => {
                return Err(ApiError::invalid(
                    other,
                    "unknown parameter; use category, q, status, from, to, min_price, \
                     max_price, free, cursor or limit",
                ));
            }
        }
    }
    let bounds = &mut query.bounds;
    if let (Some(from), Some(to)) = (bounds.from, bounds.to)
        && to <= from
    {
        return Err(ApiError::invalid("to", "must be later than `from`"));
    }
    if let (Some(min), Some(max)) = (bounds.min_price, bounds.max_price)
        && max < min
    {
        return Err(ApiError::invalid(
            "max_price",
            "must not be below `min_price`",
        ));
    }
    if free {
        bounds.max_price = Some(Money(0));
    }
    Ok(query)
}

/// An RFC 3339 instant given as parameter `name`.
fn instant(name: &str, value: &str) -> Result<OffsetDateTime, ApiError> {
    OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339).map_err(|_| {
        ApiError::invalid(
            name,
            "an RFC 3339 date and time, such as 2030-06-01T20:00:00Z",
        )
    })
}

/// A price in micro-USD (0 to the highest a gig may cost) given as parameter `name`.
fn price(name: &str, value: &str) -> Result<Money, ApiError> {
    value
        .parse::<i64>()
        .ok()
        .filter(|micros| (0..=PRICE_MAX.0).contains(micros))
        .map(Money)
        .ok_or_else(|| {
            ApiError::invalid(
                name,
                format!(
                    "a whole number of micro-USD from 0 to {} ({PRICE_MAX})",
                    PRICE_MAX.0
                ),
            )
        })
}

/// Decodes `a=b&c=d` (percent-encoding and `+`) into pairs.
fn url_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Browse the catalogue: upcoming and live gigs by start time, filtered (category, status,
/// start range, price range, free only), one page at a time; with `q`, the gigs matching every
/// word and the filters, live ones first, then the best matches, then by start time.
#[utoipa::path(get, path = "/api/v1/gigs", tag = "gigs",
    params(("category" = Option<Category>, Query, description = "only this category"),
           ("q" = Option<String>, Query, max_length = 100,
               description = "words to find in the title, creator name, description or category, \
                   in any order, accents and case aside: every word must match a word of the gig, \
                   the last one also the start of one, and a word of 5 letters or more also with \
                   one typo; at most 100 characters and 8 words (runs of letters and digits)"),
           ("status" = Option<GigStatus>, Query, description = "only this status (default: scheduled, live and offline)"),
           ("from" = Option<OffsetDateTime>, Query,
               description = "only gigs starting at or after this instant (RFC 3339)"),
           ("to" = Option<OffsetDateTime>, Query,
               description = "only gigs starting before this instant (RFC 3339); later than `from` when both are given"),
           ("min_price" = Option<i64>, Query, minimum = 0, maximum = 10_000_000_000_i64,
               description = "only gigs whose ticket costs at least this, in micro-USD (0 to 10,000,000,000, i.e. $10,000)"),
           ("max_price" = Option<i64>, Query, minimum = 0, maximum = 10_000_000_000_i64,
               description = "only gigs whose ticket costs at most this, in micro-USD (0 to 10,000,000,000); not below `min_price`"),
           ("free" = Option<bool>, Query, description = "true: only free gigs (price 0), with the other filters; false: no effect"),
           ("cursor" = Option<String>, Query, pattern = "^[A-Za-z0-9_-]{32}$",
               description = "next_cursor of the previous page"),
           ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "1–100, default 20")),
    responses((status = 200, body = Page<Gig>), (status = 422, response = problems::Unprocessable), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)))]
pub async fn list(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let raw = raw.unwrap_or_default();
    match state.catalogue.lookup(&raw) {
        Lookup::Fresh(body) | Lookup::Stale(body) => return Ok(json_bytes(body)),
        Lookup::Miss => {}
    }
    let generation = state.catalogue.generation();
    let now = OffsetDateTime::now_utc();
    let query = catalogue_query(Some(&raw), now)?;
    let indexed = state.search.page(state.store.as_ref(), &query).await?;
    let (found, next_cursor) = match indexed {
        Some(page) => (page.gigs, page.next),
        None => by_start_time(&state, query).await?,
    };
    let next_cursor = next_cursor.map(|cursor| cursor.encode());
    let items: Vec<Gig> = found
        .iter()
        .map(|g| view(g, &state.settings, now, false))
        .collect();
    let body = serde_json::to_vec(&Page { items, next_cursor }).map_err(ApiError::internal)?;
    let body = bytes::Bytes::from(body);
    state.catalogue.put(&raw, generation, body.clone());
    Ok(json_bytes(body))
}

/// A catalogue page from the store, by start time: every query without search text, and those
/// the node's search does not answer (see [`crate::search::CatalogueSearch`]), where the text is matched as written.
async fn by_start_time(
    state: &AppState,
    mut query: GigQuery,
) -> Result<(Vec<GigRecord>, Option<GigCursor>), ApiError> {
    let limit = query.limit;
    query.limit = limit + 1;
    let mut found = state.store.list_gigs(&query).await?;
    let next = if found.len() > limit {
        found.truncate(limit);
        found.last().map(GigCursor::after)
    } else {
        None
    };
    Ok((found, next))
}

/// A `200 application/json` answer from bytes serialized earlier.
fn json_bytes(body: bytes::Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Register a gig; the listing fee is charged from the creator's wallet.
#[utoipa::path(post, path = "/api/v1/gigs", tag = "gigs", request_body = NewGig,
    responses((status = 201, body = Gig, description = "with stream_key and rtmp_url"),
        (status = 400, response = problems::BadRequest), (status = 401, response = problems::Unauthorized), (status = 402, response = problems::PaymentRequired), (status = 413, response = problems::PayloadTooLarge), (status = 415, response = problems::UnsupportedMediaType), (status = 422, response = problems::Unprocessable), (status = 500, response = problems::Internal), (status = 502, response = problems::BadGateway), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(form): ApiJson<NewGig>,
) -> Result<Response, ApiError> {
    let now = forms::to_micros(OffsetDateTime::now_utc());
    let details = forms::new_gig(form, state.settings.default_micropayment_rate, now)?;
    state.payments.check_payee(&details.payment_pointer).await?;
    let (key, key_hash) = secret::generate_stream_key();
    let gig = GigRecord {
        id: GigId::new(),
        creator_id: auth.account.id,
        details,
        stream_key: key,
        stream_key_hash: key_hash,
        created_at: now,
        tickets_sold: 0,
        state: GigState::Scheduled,
    };
    let fee = state.settings.listing_fee;
    let listing_fee = Transaction::transfer(
        EntryKind::ListingFee,
        LedgerAccount::User(auth.account.id),
        LedgerAccount::PlatformRevenue,
        fee,
        format!("Listing fee: {}", gig.details.title),
        Some(gig.id),
        now,
    );
    match state.store.create_gig(&gig, &listing_fee).await {
        Ok(()) => {}
        Err(StoreError::InsufficientFunds { balance, .. }) => {
            return Err(ApiError::InsufficientFunds(format!(
                "listing a gig costs {fee} and your wallet holds {balance}; \
                 top up with POST /api/v1/wallet/topups first"
            )));
        }
        Err(other) => return Err(other.into()),
    }
    state.gig_changed(&gig);
    tracing::info!(gig = %gig.id, creator = %auth.account.id, "gig registered");
    let location = format!("/api/v1/gigs/{}", gig.id);
    let body = view(&gig, &state.settings, now, true);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        ApiJson(body),
    )
        .into_response())
}

/// One gig; its creator also sees the stream key and RTMP URL.
#[utoipa::path(get, path = "/api/v1/gigs/{id}", tag = "gigs", params(("id" = GigId, Path)),
    responses((status = 200, body = Gig), (status = 401, response = problems::Unauthorized), (status = 404, response = problems::NotFound), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)))]
pub async fn show(
    State(state): State<AppState>,
    MaybeAuthenticated(auth): MaybeAuthenticated,
    Path(id): Path<String>,
) -> Result<ApiJson<Gig>, ApiError> {
    let gig = load(&state, gig_id(&id)?).await?;
    let mine = auth.is_some_and(|a| a.account.id == gig.creator_id);
    Ok(ApiJson(view(
        &gig,
        &state.settings,
        OffsetDateTime::now_utc(),
        mine,
    )))
}

/// Change a gig's details (creator only; not once it is over, except its replay window, which
/// may change until the recording is deleted).
#[utoipa::path(patch, path = "/api/v1/gigs/{id}", tag = "gigs", params(("id" = GigId, Path)),
    request_body = GigPatch,
    responses((status = 200, body = Gig),
        (status = 400, response = problems::BadRequest), (status = 401, response = problems::Unauthorized), (status = 403, response = problems::Forbidden), (status = 404, response = problems::NotFound), (status = 409, response = problems::Conflict), (status = 413, response = problems::PayloadTooLarge), (status = 415, response = problems::UnsupportedMediaType), (status = 422, response = problems::Unprocessable), (status = 500, response = problems::Internal), (status = 502, response = problems::BadGateway), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<GigPatch>,
) -> Result<ApiJson<Gig>, ApiError> {
    let gig = load_own(&state, &id, auth.account.id).await?;
    let now = OffsetDateTime::now_utc();
    let replay_window_only = GigPatch {
        replay_hours: None,
        ..patch.clone()
    } == GigPatch::default();
    match gig.status_at(now) {
        GigStatus::Cancelled => return Err(StoreError::GigClosed.into()),
        GigStatus::Ended if !replay_window_only => return Err(StoreError::GigClosed.into()),
        _ => {}
    }
    let details = forms::patched(&gig.details, patch, now)?;
    if details.payment_pointer != gig.details.payment_pointer {
        state.payments.check_payee(&details.payment_pointer).await?;
    }
    let updated = match state.store.update_gig(gig.id, &details).await {
        Ok(updated) => updated,
        Err(StoreError::CapacityBelowSold { sold }) => {
            return Err(ApiError::Conflict {
                code: "capacity-below-sold",
                title: "Capacity below tickets sold",
                detail: format!("{sold} tickets are sold already; capacity cannot be lower"),
                field: Some("capacity"),
            });
        }
        Err(other) => return Err(other.into()),
    };
    state.gig_changed(&updated);
    Ok(ApiJson(view(&updated, &state.settings, now, true)))
}

/// Cancel a gig: every ticket is refunded in full from the creator's wallet. A live publisher
/// is cut within a second (its FLV and RTMP viewers see the stream end), and every chat socket
/// closes with a reason, on every node.
#[utoipa::path(delete, path = "/api/v1/gigs/{id}", tag = "gigs", params(("id" = GigId, Path)),
    responses((status = 200, body = Gig), (status = 401, response = problems::Unauthorized), (status = 402, response = problems::PaymentRequired), (status = 403, response = problems::Forbidden), (status = 404, response = problems::NotFound), (status = 409, response = problems::Conflict), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<ApiJson<Gig>, ApiError> {
    let gig = load_own(&state, &id, auth.account.id).await?;
    let now = forms::to_micros(OffsetDateTime::now_utc());
    if gig.status_at(now) == GigStatus::Ended {
        return Err(ApiError::Conflict {
            code: "gig-closed",
            title: "Gig is over",
            detail: "this gig has ended and can no longer be cancelled".into(),
            field: None,
        });
    }
    let cancellation = Cancellation {
        gig_id: gig.id,
        transaction_id: TransactionId::new(),
        at: now,
    };
    let cancelled = match state.store.cancel_gig(&cancellation).await {
        Ok(cancelled) => cancelled,
        Err(StoreError::InsufficientFunds { balance, needed }) => {
            return Err(ApiError::InsufficientFunds(format!(
                "refunding every ticket needs {needed} and your wallet holds {balance}; \
                 top up first, then cancel"
            )));
        }
        Err(other) => return Err(other.into()),
    };
    state.gig_changed(&cancelled);
    tracing::info!(gig = %gig.id, "gig cancelled");
    // The publisher notices by itself (it re-checks the store, `rtmp::policy::still_may_publish`);
    // the chat is told, so its sockets close at once on every node. A socket that misses this
    // (still upgrading) is refused when it joins.
    if let Err(error) = state.chat.publish(gig.id, RoomEvent::Cancelled).await {
        tracing::warn!(gig = %gig.id, %error, "the chat did not hear of the cancellation");
    }
    Ok(ApiJson(view(&cancelled, &state.settings, now, true)))
}

/// Replace the stream key; the old one stops working at once, and a publisher using it is cut
/// within a second.
#[utoipa::path(post, path = "/api/v1/gigs/{id}/stream-key", tag = "gigs", params(("id" = GigId, Path)),
    responses((status = 200, body = StreamKeyInfo), (status = 401, response = problems::Unauthorized), (status = 403, response = problems::Forbidden), (status = 404, response = problems::NotFound), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn rotate_stream_key(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<ApiJson<StreamKeyInfo>, ApiError> {
    let gig = load_own(&state, &id, auth.account.id).await?;
    let (key, key_hash) = secret::generate_stream_key();
    let rotated = state
        .store
        .rotate_stream_key(gig.id, &key, &key_hash)
        .await?;
    tracing::info!(gig = %gig.id, "stream key rotated");
    Ok(ApiJson(StreamKeyInfo {
        stream_key: StreamKey(rotated.stream_key),
        rtmp_url: state.settings.rtmp_url.clone(),
    }))
}

/// The signed-in creator's gigs, newest first, with their stream keys.
#[utoipa::path(get, path = "/api/v1/me/gigs", tag = "gigs",
    responses((status = 200, body = Page<Gig>), (status = 401, response = problems::Unauthorized), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)), security(("bearer" = [])))]
pub async fn mine(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<ApiJson<Page<Gig>>, ApiError> {
    let now = OffsetDateTime::now_utc();
    let gigs = state.store.gigs_by_creator(auth.account.id).await?;
    let items = gigs
        .iter()
        .map(|g| view(g, &state.settings, now, true))
        .collect();
    Ok(ApiJson(Page {
        items,
        next_cursor: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query_text() {
        assert_eq!(
            url_pairs("q=late+night%21&category=comedy&x"),
            vec![
                ("q".into(), "late night!".into()),
                ("category".into(), "comedy".into()),
                ("x".into(), String::new())
            ]
        );
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn the_search_limits_are_the_ones_the_openapi_document_states() {
        // The `q` parameter's `max_length` and description are literals (attributes).
        assert_eq!(bookmygig_api::limits::SEARCH_MAX, 100);
        assert_eq!(crate::search::MAX_WORDS, 8);
        let now = OffsetDateTime::now_utc();
        let eight = "q=one+two+three+four+five+six+seven+eight";
        assert!(catalogue_query(Some(eight), now).is_ok());
        let long = format!("q={}", "x".repeat(100));
        assert!(catalogue_query(Some(&long), now).is_ok());
        let longer = format!("q={}", "x".repeat(101));
        assert!(catalogue_query(Some(&longer), now).is_err());
    }

    #[test]
    fn refuses_bad_parameters_by_name() {
        let now = OffsetDateTime::now_utc();
        for (raw, field) in [
            ("category=opera", "category"),
            ("status=soon", "status"),
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("cursor=%%%", "cursor"),
            ("cursor=", "cursor"),
            ("category=", "category"),
            ("status=", "status"),
            ("colour=red", "colour"),
            ("q=a+b+c+d+e+f+g+h+i", "q"),
            ("q=one,two,three,four,five,six,seven,eight,nine", "q"),
            ("from=yesterday", "from"),
            ("from=", "from"),
            ("to=2030-01-01", "to"),
            ("min_price=-1", "min_price"),
            ("min_price=1.5", "min_price"),
            ("min_price=", "min_price"),
            ("max_price=10000000001", "max_price"),
            ("free=yes", "free"),
            ("free=", "free"),
            ("from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z", "to"),
            ("from=2030-01-01T00:00:00Z&to=2030-01-01T00:00:00Z", "to"),
            ("min_price=5&max_price=4", "max_price"),
        ] {
            match catalogue_query(Some(raw), now) {
                Err(ApiError::Validation { field: got, .. }) => assert_eq!(got, field, "{raw}"),
                other => panic!("{raw}: {other:?}"),
            }
        }
    }

    #[test]
    fn ranges_are_read_into_the_query() {
        use time::macros::datetime;
        let now = OffsetDateTime::now_utc();
        let raw = "from=2030-06-01T20%3A00%3A00%2B02%3A00&to=2030-06-02T00:00:00Z\
                   &min_price=0&max_price=10000000000";
        let bounds = catalogue_query(Some(raw), now).unwrap().bounds;
        assert_eq!(bounds.from, Some(datetime!(2030-06-01 18:00 UTC)));
        assert_eq!(bounds.to, Some(datetime!(2030-06-02 00:00 UTC)));
        assert_eq!(bounds.min_price, Some(Money(0)));
        assert_eq!(bounds.max_price, Some(PRICE_MAX));
        let free = catalogue_query(Some("max_price=5000000&free=true"), now).unwrap();
        assert_eq!(free.bounds.max_price, Some(Money(0)));
        let not_free = catalogue_query(Some("free=false"), now).unwrap();
        assert_eq!(not_free.bounds, GigBounds::default());
    }
}
