//! Accounts and sessions: sign up, sign in, sign out (here or everywhere), change the
//! password, who am I. Sign-ins and sign-ups pass the [`crate::throttle`] first; password
//! hashing goes through the bounded [`crate::password::Hasher`].

use axum::extract::State;
use axum::http::StatusCode;
use bookmygig_api::{
    Account, AccountId, NewAccount, NewSession, PasswordChange, Session, SignedUp,
};
use bookmygig_store::{AccountRecord, SessionRecord, StoreError};
use time::OffsetDateTime;

use super::auth::Authenticated;
use super::client_ip::ClientIp;
use super::json::ApiJson;
use super::problem::ApiError;
use super::problem::responses as problems;
use crate::forms;
use crate::password::HashError;
use crate::secret::SessionToken;
use crate::state::AppState;
use crate::throttle::{Scope, ThrottleError, Verdict};

/// Whole seconds to announce in `Retry-After` for a wait (rounded up, at least one).
fn retry_after_secs(wait: std::time::Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

impl From<ThrottleError> for ApiError {
    fn from(error: ThrottleError) -> Self {
        ApiError::Unavailable(error.to_string())
    }
}

impl From<HashError> for ApiError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => ApiError::TooManyRequests {
                code: "too-many-requests",
                title: "Server busy",
                detail: "too many passwords are being checked right now; retry in a second".into(),
                retry_after_secs: 1,
            },
            HashError::Failed(cause) => ApiError::Internal(cause),
        }
    }
}

/// The 429 of a sign-in (or password check) the throttle refused.
fn too_many_attempts(scope: Scope, wait: std::time::Duration) -> ApiError {
    let secs = retry_after_secs(wait);
    let detail = match scope {
        Scope::Handle => format!(
            "too many failed sign-ins for this handle; try again in {secs} s (each further \
             failure doubles the wait)"
        ),
        Scope::Address => {
            format!("too many failed sign-ins from your address; try again in {secs} s")
        }
    };
    ApiError::TooManyRequests {
        code: "too-many-attempts",
        title: "Too many sign-in attempts",
        detail,
        retry_after_secs: secs,
    }
}

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
        (status = 400, response = problems::BadRequest), (status = 409, response = problems::Conflict), (status = 413, response = problems::PayloadTooLarge), (status = 415, response = problems::UnsupportedMediaType), (status = 422, response = problems::Unprocessable), (status = 429, response = problems::TooManyRequests), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)))]
pub async fn sign_up(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(form): ApiJson<NewAccount>,
) -> Result<(StatusCode, ApiJson<SignedUp>), ApiError> {
    let form = forms::sign_up(form)?;
    // Only a well-formed sign-up counts: a mistyped form costs no hash and no budget.
    if let Verdict::Wait { retry_after, .. } = state.throttle.begin_sign_up(ip).await? {
        let secs = retry_after_secs(retry_after);
        return Err(ApiError::TooManyRequests {
            code: "too-many-sign-ups",
            title: "Too many sign-ups",
            detail: format!(
                "too many accounts were created from your address; try again in {secs} s"
            ),
            retry_after_secs: secs,
        });
    }
    if state.store.account_by_handle(&form.handle).await?.is_some() {
        return Err(handle_taken(&form.handle));
    }
    let record = AccountRecord {
        id: AccountId::new(),
        handle: form.handle,
        display_name: form.display_name,
        password_hash: state.hasher.hash(form.password).await?,
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
        (status = 400, response = problems::BadRequest), (status = 401, response = problems::Unauthorized), (status = 413, response = problems::PayloadTooLarge), (status = 415, response = problems::UnsupportedMediaType), (status = 422, response = problems::Unprocessable), (status = 429, response = problems::TooManyRequests), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)))]
pub async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(form): ApiJson<NewSession>,
) -> Result<(StatusCode, ApiJson<Session>), ApiError> {
    // Counted before the account is even looked up, so a known and an unknown handle are
    // throttled, and answered, alike.
    if let Verdict::Wait { scope, retry_after } =
        state.throttle.begin_sign_in(&form.handle, ip).await?
    {
        return Err(too_many_attempts(scope, retry_after));
    }
    let found = if form.handle.len() <= bookmygig_api::limits::HANDLE_MAX {
        state.store.account_by_handle(&form.handle).await?
    } else {
        None
    };
    let password_ok = form.password.chars().count() <= bookmygig_api::limits::PASSWORD_MAX
        && state
            .hasher
            .verify(
                form.password,
                found.as_ref().map(|a| a.password_hash.clone()),
            )
            .await?;
    let account = match found {
        Some(account) if password_ok => account,
        _ => {
            return Err(ApiError::Unauthorized(
                "the handle or the password is wrong".into(),
            ));
        }
    };
    state.throttle.sign_in_succeeded(&form.handle, ip).await?;
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

/// Sign out everywhere: every session of the account stops working, this one included.
#[utoipa::path(delete, path = "/api/v1/sessions", tag = "accounts",
    responses((status = 204, description = "every session of the account is signed out"), (status = 401, response = problems::Unauthorized), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<StatusCode, ApiError> {
    let revoked = state.store.delete_sessions_of(auth.account.id).await?;
    tracing::info!(account = %auth.account.id, sessions = revoked, "signed out everywhere");
    Ok(StatusCode::NO_CONTENT)
}

/// Change the password: the current one is checked (throttled as sign-ins are), the new one
/// follows sign-up's rules; every other session of the account is signed out, this one stays.
#[utoipa::path(put, path = "/api/v1/me/password", tag = "accounts", request_body = PasswordChange,
    responses((status = 204, description = "changed; every other session is signed out"),
        (status = 400, response = problems::BadRequest), (status = 401, response = problems::Unauthorized), (status = 403, response = problems::Forbidden), (status = 413, response = problems::PayloadTooLarge), (status = 415, response = problems::UnsupportedMediaType), (status = 422, response = problems::Unprocessable), (status = 429, response = problems::TooManyRequests), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn change_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    auth: Authenticated,
    ApiJson(form): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    forms::password("new_password", &form.new_password)?;
    let handle = &auth.account.handle;
    // A stolen session must not become a way to guess the password unthrottled.
    if let Verdict::Wait { scope, retry_after } = state.throttle.begin_sign_in(handle, ip).await? {
        return Err(too_many_attempts(scope, retry_after));
    }
    let current_ok = form.current_password.chars().count() <= bookmygig_api::limits::PASSWORD_MAX
        && state
            .hasher
            .verify(
                form.current_password,
                Some(auth.account.password_hash.clone()),
            )
            .await?;
    if !current_ok {
        // 403, not 422: the body is well-formed; this account may not do this with it.
        return Err(ApiError::Forbidden(
            "the current password is wrong; nothing was changed".into(),
        ));
    }
    state.throttle.sign_in_succeeded(handle, ip).await?;
    let hash = state.hasher.hash(form.new_password).await?;
    let revoked = state
        .store
        .change_password(auth.account.id, &hash, &auth.token_hash)
        .await?;
    tracing::info!(account = %auth.account.id, other_sessions = revoked, "password changed");
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in account.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, body = Account), (status = 401, response = problems::Unauthorized), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn me(auth: Authenticated) -> ApiJson<Account> {
    ApiJson(auth.account.to_api())
}
