//! Accounts and sessions: sign up, sign in, sign out, who am I.

use axum::extract::State;
use axum::http::StatusCode;
use bookmygig_api::{Account, AccountId, NewAccount, NewSession, Session, SignedUp};
use bookmygig_store::{AccountRecord, SessionRecord, StoreError};
use time::OffsetDateTime;

use super::auth::Authenticated;
use super::json::ApiJson;
use super::problem::ApiError;
use super::problem::responses as problems;
use crate::forms;
use crate::password;
use crate::secret::SessionToken;
use crate::state::AppState;

/// Opens a session for `account` and returns its token (shown once) and expiry.
async fn open_session(
    state: &AppState,
    account: AccountId,
) -> Result<(SessionToken, OffsetDateTime), ApiError> {
    let token = SessionToken::generate();
    let now = forms::to_micros(OffsetDateTime::now_utc());
    let expires_at = now + state.settings.session_ttl;
    state
        .store
        .create_session(&SessionRecord {
            token_hash: token.hash(),
            account_id: account,
            created_at: now,
            expires_at,
        })
        .await?;
    Ok((token, expires_at))
}

/// Create an account and sign it in.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = NewAccount,
    responses((status = 201, body = SignedUp),
        (status = 400, response = problems::BadRequest), (status = 409, response = problems::Conflict), (status = 413, response = problems::PayloadTooLarge), (status = 415, response = problems::UnsupportedMediaType), (status = 422, response = problems::Unprocessable), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)))]
pub async fn sign_up(
    State(state): State<AppState>,
    ApiJson(form): ApiJson<NewAccount>,
) -> Result<(StatusCode, ApiJson<SignedUp>), ApiError> {
    let form = forms::sign_up(form)?;
    if state.store.account_by_handle(&form.handle).await?.is_some() {
        return Err(handle_taken(&form.handle));
    }
    let record = AccountRecord {
        id: AccountId::new(),
        handle: form.handle,
        display_name: form.display_name,
        password_hash: password::hash(form.password)
            .await
            .map_err(ApiError::internal)?,
        created_at: forms::to_micros(OffsetDateTime::now_utc()),
    };
    match state.store.create_account(&record).await {
        Ok(()) => {}
        Err(StoreError::HandleTaken) => return Err(handle_taken(&record.handle)),
        Err(other) => return Err(other.into()),
    }
    tracing::info!(account = %record.id, handle = %record.handle, "account created");
    let (token, expires_at) = open_session(&state, record.id).await?;
    let body = SignedUp {
        account: record.to_api(),
        token: token.expose().to_owned(),
        expires_at,
    };
    Ok((StatusCode::CREATED, ApiJson(body)))
}

fn handle_taken(handle: &str) -> ApiError {
    ApiError::Conflict {
        code: "handle-taken",
        title: "Handle taken",
        detail: format!("the handle `{handle}` is taken; choose another"),
        field: Some("handle"),
    }
}

/// Sign in with handle and password.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "accounts", request_body = NewSession,
    responses((status = 201, body = Session),
        (status = 400, response = problems::BadRequest), (status = 401, response = problems::Unauthorized), (status = 413, response = problems::PayloadTooLarge), (status = 415, response = problems::UnsupportedMediaType), (status = 422, response = problems::Unprocessable), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)))]
pub async fn sign_in(
    State(state): State<AppState>,
    ApiJson(form): ApiJson<NewSession>,
) -> Result<(StatusCode, ApiJson<Session>), ApiError> {
    let found = if form.handle.len() <= bookmygig_api::limits::HANDLE_MAX {
        state.store.account_by_handle(&form.handle).await?
    } else {
        None
    };
    let password_ok = form.password.chars().count() <= bookmygig_api::limits::PASSWORD_MAX
        && password::verify(
            form.password,
            found.as_ref().map(|a| a.password_hash.clone()),
        )
        .await;
    let account = match found {
        Some(account) if password_ok => account,
        _ => {
            return Err(ApiError::Unauthorized(
                "the handle or the password is wrong".into(),
            ));
        }
    };
    let (token, expires_at) = open_session(&state, account.id).await?;
    tracing::info!(account = %account.id, "signed in");
    let body = Session {
        token: token.expose().to_owned(),
        expires_at,
        account: account.to_api(),
    };
    Ok((StatusCode::CREATED, ApiJson(body)))
}

/// Sign out: the token used for this request stops working.
#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "accounts",
    responses((status = 204, description = "signed out"), (status = 401, response = problems::Unauthorized), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn sign_out(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<StatusCode, ApiError> {
    state.store.delete_session(&auth.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in account.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, body = Account), (status = 401, response = problems::Unauthorized), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn me(auth: Authenticated) -> ApiJson<Account> {
    ApiJson(auth.account.to_api())
}
