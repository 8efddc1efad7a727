//! Bearer-token authentication as extractors, so every route shares one check.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use bookmygig_store::{AccountRecord, TokenHash};
use time::OffsetDateTime;

use super::problem::ApiError;
use crate::secret::SessionToken;
use crate::state::AppState;

/// The signed-in account of a request; rejects with 401 when there is none.
#[derive(Clone, Debug)]
pub struct Authenticated {
    /// The account.
    pub account: AccountRecord,
    /// Hash of the session's token (to revoke it).
    pub token_hash: TokenHash,
}

/// The signed-in account of a WebSocket request: the token comes in the `Authorization` header,
/// or, for clients that cannot set headers on an upgrade, in a `token` query parameter. Only
/// the chat route takes it; the REST routes keep tokens out of URLs. (Request spans log the
/// path only, so the query never reaches a log.)
#[derive(Clone, Debug)]
pub struct SocketAuthenticated(pub Authenticated);

/// The signed-in account if the request carries credentials; bad credentials still get 401.
#[derive(Clone, Debug)]
pub struct MaybeAuthenticated(pub Option<Authenticated>);

fn bearer(parts: &Parts) -> Result<Option<SessionToken>, ApiError> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is not text".into()))?;
    let (scheme, token) = text.split_once(' ').unwrap_or((text, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::Unauthorized(
            "use `Authorization: Bearer <token>` with the token from POST /api/v1/sessions".into(),
        ));
    }
    Ok(Some(SessionToken::from_client(token.trim())))
}

async fn authenticate(state: &AppState, token: SessionToken) -> Result<Authenticated, ApiError> {
    let token_hash = token.hash();
    let expired = || {
        ApiError::Unauthorized(
            "the token is unknown, revoked or expired; sign in again with POST /api/v1/sessions"
                .into(),
        )
    };
    let session = state
        .store
        .session(&token_hash, OffsetDateTime::now_utc())
        .await?
        .ok_or_else(expired)?;
    let account = state
        .store
        .account(session.account_id)
        .await?
        .ok_or_else(expired)?;
    Ok(Authenticated {
        account,
        token_hash,
    })
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?.ok_or_else(|| {
            ApiError::Unauthorized("sign in first and send `Authorization: Bearer <token>`".into())
        })?;
        authenticate(state, token).await
    }
}

/// The `token` query parameter.
#[derive(serde::Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

impl FromRequestParts<AppState> for SocketAuthenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = match bearer(parts)? {
            Some(token) => token,
            None => {
                let query = axum::extract::Query::<TokenQuery>::try_from_uri(&parts.uri)
                    .map_err(|_| ApiError::Unauthorized("the query string is malformed".into()))?;
                let token = query
                    .0
                    .token
                    .filter(|t| !t.trim().is_empty())
                    .ok_or_else(|| {
                        ApiError::Unauthorized(
                            "sign in first and send `Authorization: Bearer <token>` \
                         or `?token=<token>`"
                                .into(),
                        )
                    })?;
                SessionToken::from_client(token.trim())
            }
        };
        authenticate(state, token).await.map(SocketAuthenticated)
    }
}

impl FromRequestParts<AppState> for MaybeAuthenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match bearer(parts)? {
            Some(token) => authenticate(state, token)
                .await
                .map(Some)
                .map(MaybeAuthenticated),
            None => Ok(MaybeAuthenticated(None)),
        }
    }
}
