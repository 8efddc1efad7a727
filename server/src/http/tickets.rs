//! Tickets: buying one (exactly once, however often the request is retried) and listing mine.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bookmygig_api::limits::IDEMPOTENCY_KEY_MAX;
use bookmygig_api::{IDEMPOTENCY_KEY_HEADER, MyTicket, Page, Purchased, TicketId, TransactionId};
use bookmygig_store::{Purchase, StoreError};
use time::OffsetDateTime;

use super::auth::Authenticated;
use super::gigs::{gig_id, load, view};
use super::json::ApiJson;
use super::problem::ApiError;
use super::problem::responses as problems;
use crate::forms;
use crate::state::AppState;

/// Reads the `Idempotency-Key` header: 1–128 visible ASCII characters.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY_HEADER) else {
        return Ok(None);
    };
    let text = value.to_str().ok().map(str::trim).filter(|t| {
        !t.is_empty() && t.len() <= IDEMPOTENCY_KEY_MAX && t.bytes().all(|b| b.is_ascii_graphic())
    });
    match text {
        Some(key) => Ok(Some(key.to_owned())),
        None => Err(ApiError::invalid(
            IDEMPOTENCY_KEY_HEADER,
            format!("1–{IDEMPOTENCY_KEY_MAX} visible ASCII characters, e.g. a UUID"),
        )),
    }
}

/// Buy a ticket. Send a fresh `Idempotency-Key` per purchase; a retry with the same key
/// answers with the same ticket and charges nothing.
#[utoipa::path(post, path = "/api/v1/gigs/{id}/tickets", tag = "tickets",
    params(("id" = bookmygig_api::GigId, Path),
        ("Idempotency-Key" = String, Header, min_length = 1, max_length = 128, pattern = "^[!-~]{1,128}$",
            description = "unique per purchase: 1–128 visible ASCII characters, e.g. a UUID")),
    responses((status = 201, body = Purchased, description = "the ticket (the same one for a retry with the same key)"),
        (status = 401, response = problems::Unauthorized), (status = 402, response = problems::PaymentRequired), (status = 404, response = problems::NotFound), (status = 409, response = problems::Conflict), (status = 422, response = problems::Unprocessable), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn buy(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let gig_id = gig_id(&id)?;
    let key = idempotency_key(&headers)?.ok_or_else(|| {
        ApiError::invalid(
            IDEMPOTENCY_KEY_HEADER,
            "send an Idempotency-Key header (e.g. a fresh UUID) so a retry never charges twice",
        )
    })?;
    let purchase = Purchase {
        ticket_id: TicketId::new(),
        transaction_id: TransactionId::new(),
        gig_id,
        buyer: auth.account.id,
        idempotency_key: key,
        commission_bps: state.settings.ticket_commission_bps,
        at: forms::to_micros(OffsetDateTime::now_utc()),
    };
    let outcome = match state.store.purchase_ticket(&purchase).await {
        Ok(outcome) => outcome,
        Err(StoreError::SoldOut) => {
            return Err(ApiError::Conflict {
                code: "sold-out",
                title: "Sold out",
                detail: "every seat of this gig is taken".into(),
                field: None,
            });
        }
        Err(StoreError::AlreadyHolder(ticket)) => {
            return Err(ApiError::Conflict {
                code: "already-holder",
                title: "Already a ticket holder",
                detail: format!("you already hold ticket {} for this gig", ticket.id),
                field: None,
            });
        }
        Err(StoreError::OwnGig) => {
            return Err(ApiError::Conflict {
                code: "own-gig",
                title: "Your own gig",
                detail: "creators watch their own gigs without a ticket".into(),
                field: None,
            });
        }
        Err(StoreError::InsufficientFunds { balance, needed }) => {
            return Err(ApiError::InsufficientFunds(format!(
                "the ticket costs {needed} and your wallet holds {balance}; top up first"
            )));
        }
        Err(other) => return Err(other.into()),
    };
    if !outcome.replayed {
        state.catalogue.invalidate();
        tracing::info!(gig = %gig_id, ticket = %outcome.ticket.id, "ticket sold");
    }
    let mut response = (
        StatusCode::CREATED,
        ApiJson(Purchased {
            ticket: outcome.ticket,
        }),
    )
        .into_response();
    if outcome.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The signed-in account's tickets, newest first, each with its gig.
#[utoipa::path(get, path = "/api/v1/me/tickets", tag = "tickets",
    responses((status = 200, body = Page<MyTicket>), (status = 401, response = problems::Unauthorized), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)), security(("bearer" = [])))]
pub async fn mine(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<ApiJson<Page<MyTicket>>, ApiError> {
    let now = OffsetDateTime::now_utc();
    let tickets = state.store.tickets_of(auth.account.id).await?;
    let mut items = Vec::with_capacity(tickets.len());
    for ticket in tickets {
        let gig = load(&state, ticket.gig_id).await?;
        items.push(MyTicket {
            gig: view(&gig, &state.settings, now, false),
            ticket,
        });
    }
    Ok(ApiJson(Page {
        items,
        next_cursor: None,
    }))
}
