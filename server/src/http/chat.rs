//! `GET /api/v1/gigs/{id}/chat`: who may enter a gig's chat, checked before the upgrade so a
//! refusal is an ordinary problem answer (401, 403, 404, 409, 426); then the socket goes to
//! [`crate::chat::session`]. `GET /api/v1/gigs/{id}/chat/history`: the chat as kept, for
//! replays.

use axum::extract::{Path, State};
use axum::response::Response;
use bookmygig_api::limits::CHAT_SOCKETS_PER_ACCOUNT;
use std::sync::Arc;

use hyper_util::rt::TokioIo;

use super::auth::SocketAuthenticated;
use super::gigs::{gig_id, load};
use super::problem::ApiError;
use super::problem::responses as problems;
use crate::access;
use crate::chat::session::{self, SessionContext};
use crate::net::tcp::SharedTcp;
use crate::net::websocket::{NotWebSocket, WebSocketRequest};
use crate::state::AppState;
use bookmygig_store::{GigState, StoreError};

/// Enters a gig's chat: a WebSocket of JSON text frames (see docs/api.md).
#[utoipa::path(get, path = "/api/v1/gigs/{id}/chat", tag = "chat",
    params(("id" = bookmygig_api::GigId, Path),
        ("token" = Option<String>, Query, description = "session token, for clients that cannot send `Authorization`")),
    responses((status = 101, description = "switched to the chat WebSocket"),
        (status = 401, response = problems::Unauthorized), (status = 403, response = problems::Forbidden), (status = 404, response = problems::NotFound), (status = 409, response = problems::Conflict), (status = 426, response = problems::UpgradeRequired), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn enter(
    State(state): State<AppState>,
    SocketAuthenticated(auth): SocketAuthenticated,
    Path(id): Path<String>,
    upgrade: Result<WebSocketRequest, NotWebSocket>,
) -> Result<Response, ApiError> {
    let gig = load(&state, gig_id(&id)?).await?;
    let account = auth.account;
    if gig.state == GigState::Cancelled {
        return Err(StoreError::GigClosed.into());
    }
    if !access::may_watch(state.store.as_ref(), &gig, account.id).await? {
        return Err(ApiError::Forbidden(format!(
            "only ticket holders and the creator enter this chat; buy a ticket first: \
             POST /api/v1/gigs/{}/tickets",
            gig.id
        )));
    }
    if state.store.is_chat_banned(gig.id, account.id).await? {
        return Err(ApiError::Forbidden(
            "the host banned you from this gig's chat".into(),
        ));
    }
    // Refused only now, so that who may enter is answered first.
    let upgrade = upgrade.map_err(ApiError::from)?;
    let seat = state
        .chat
        .take_seat(gig.id, account.id)
        .map_err(|_| ApiError::Conflict {
            code: "too-many-connections",
            title: "Too many chat connections",
            detail: format!(
                "you already have {CHAT_SOCKETS_PER_ACCOUNT} connections to this chat; close one first"
            ),
            field: None,
        })?;
    // In Redis mode the stream may be on air on another node: ask the registry.
    let stream = super::stream_status::stream_status(&state, gig.id).await?;
    let context = SessionContext {
        store: state.store.clone(),
        rooms: state.chat.clone(),
        seat,
        gig: gig.id,
        creator: gig.creator_id,
        account,
        stream,
        shutdown: state.shutdown.clone(),
    };
    Ok(upgrade.accept(move |accepted| async move {
        // hyper reads the connection (it may hold bytes read past the handshake); writes go
        // to the socket under it, which the room writes to directly.
        let read = TokioIo::new(accepted.connection);
        match accepted.socket {
            Some(socket) => {
                let write = SharedTcp(Arc::clone(&socket));
                session::run(read, write, Some(socket), context).await;
            }
            None => {
                let (read, write) = tokio::io::split(read);
                session::run(read, write, None, context).await;
            }
        }
    }))
}

/// A gig's chat as kept (the last 1,000 messages), oldest first: for a replay's side panel,
/// where each message sits at its `sent_at` (ticket holders and the creator; not for a
/// cancelled gig).
#[utoipa::path(get, path = "/api/v1/gigs/{id}/chat/history", tag = "chat",
    params(("id" = bookmygig_api::GigId, Path)),
    responses((status = 200, body = Vec<bookmygig_api::ChatMessage>),
        (status = 401, response = problems::Unauthorized), (status = 403, response = problems::Forbidden), (status = 404, response = problems::NotFound), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn history(
    State(state): State<AppState>,
    auth: super::auth::Authenticated,
    Path(id): Path<String>,
) -> Result<super::json::ApiJson<Vec<bookmygig_api::ChatMessage>>, ApiError> {
    let gig = load(&state, gig_id(&id)?).await?;
    if !access::may_watch(state.store.as_ref(), &gig, auth.account.id).await? {
        return Err(ApiError::Forbidden(
            "only ticket holders and the creator read this gig's chat".into(),
        ));
    }
    let records = state
        .store
        .chat_history(gig.id, session::HISTORY_KEPT)
        .await?;
    Ok(super::json::ApiJson(
        records.into_iter().map(|r| r.message).collect(),
    ))
}
