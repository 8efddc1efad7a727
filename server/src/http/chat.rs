//! `GET /api/v1/gigs/{id}/chat`: who may enter a gig's chat, checked before the upgrade so a
//! refusal is an ordinary problem answer (401, 403, 404, 409, 426); then the socket goes to
//! [`crate::chat::session`].

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use bookmygig_api::limits::{CHAT_FRAME_MAX_BYTES, CHAT_SOCKETS_PER_ACCOUNT};

use super::auth::SocketAuthenticated;
use super::gigs::{gig_id, load};
use super::problem::ApiError;
use crate::access;
use crate::chat::session::{self, SessionContext};
use crate::state::AppState;

/// Bytes read from a chat socket at a time: two of the largest frames allowed.
const READ_BUFFER_BYTES: usize = 2 * CHAT_FRAME_MAX_BYTES;

/// Enters a gig's chat: a WebSocket of JSON text frames (see docs/api.md).
#[utoipa::path(get, path = "/api/v1/gigs/{id}/chat", tag = "chat",
    params(("id" = bookmygig_api::GigId, Path),
        ("token" = Option<String>, Query, description = "session token, for clients that cannot send `Authorization`")),
    responses((status = 101, description = "switched to the chat WebSocket"),
        (status = 401, body = bookmygig_api::Problem), (status = 403, body = bookmygig_api::Problem),
        (status = 404, body = bookmygig_api::Problem), (status = 409, body = bookmygig_api::Problem),
        (status = 426, body = bookmygig_api::Problem)),
    security(("bearer" = [])))]
pub async fn enter(
    State(state): State<AppState>,
    SocketAuthenticated(auth): SocketAuthenticated,
    Path(id): Path<String>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let gig = load(&state, gig_id(&id)?).await?;
    let account = auth.account;
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
    let upgrade = upgrade.map_err(|_| {
        ApiError::UpgradeRequired("connect with a WebSocket client (RFC 6455)".into())
    })?;
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
    let stream = super::live::stream_status(&state, gig.id).await?;
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
    Ok(upgrade
        // tungstenite's default read buffer is 128 KiB per socket, touched in full, which at
        // thousands of members is most of the server's memory; chat frames are at most 4 KiB.
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(CHAT_FRAME_MAX_BYTES)
        .max_frame_size(CHAT_FRAME_MAX_BYTES)
        .on_upgrade(move |socket| async move {
            session::run(socket, context).await;
        }))
}
