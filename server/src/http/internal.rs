//! The internal endpoint nodes pull each other's streams from (several nodes on one Redis):
//! `GET /internal/v1/live/{gig_id}.flv` with `Authorization: Bearer {relay token}`. It serves only
//! streams whose publisher is connected to this node (never a relay, so relays cannot chain or
//! loop), counts each connection as a relay rather than a viewer, and is not part of the public
//! API (absent from the OpenAPI document). Load balancers should not route `/internal/` from
//! the outside; the token is required regardless.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use bookmygig_api::GigId;
use time::OffsetDateTime;

use super::problem::ApiError;
use crate::live::FeedKind;
use crate::live::directory::RelayRefusal;
use crate::net::flv_body::flv_response;
use crate::state::AppState;

/// `GET /internal/v1/live/{gig_id}.flv`: this node's published stream for another node's relay.
pub async fn relay_flv(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound("no such endpoint; see /api/v1/openapi.json".into());
    let gig: GigId = file
        .strip_suffix(".flv")
        .and_then(|id| id.parse().ok())
        .ok_or_else(not_found)?;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    // One node serves no relays: the endpoint does not exist there.
    state
        .directory
        .admit_relay(token, gig, OffsetDateTime::now_utc())
        .map_err(|refusal| match refusal {
            RelayRefusal::NotServed => not_found(),
            RelayRefusal::Token(error) => ApiError::Forbidden(error.to_string()),
        })?;
    let stream = state
        .hub
        .published_stream(gig)
        .ok_or_else(|| ApiError::NotFound("this gig is not published on this node".into()))?;
    tracing::info!(gig = %gig, "relay connection opened");
    Ok(flv_response(
        Arc::clone(&state.hub.metrics),
        state.shutdown.clone(),
        gig,
        stream.subscribe_as(FeedKind::Relay),
        None,
    ))
}
