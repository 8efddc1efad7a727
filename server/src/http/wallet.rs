//! Wallets: balance and history, and top-ups through the server's payment provider.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bookmygig_api::limits::{PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, TOPUP_MAX};
use bookmygig_api::{Money, TopUp, TopUpReceipt, TopUpStatus, Wallet};
use bookmygig_store::{LedgerAccount, PaymentKind};

use super::auth::Authenticated;
use super::json::ApiJson;
use super::problem::ApiError;
use super::problem::responses as problems;
use super::tickets::idempotency_key;
use crate::payments::{PaymentError, TopUpAnswer, TopUpRequest, topup_status};
use crate::state::AppState;

/// How many top-ups `GET /wallet` lists (unfinished ones first in time, newest first).
const WALLET_TOPUPS: usize = 10;

/// Balance and history, newest first.
#[utoipa::path(get, path = "/api/v1/wallet", tag = "wallet",
    params(("cursor" = Option<String>, Query, pattern = "^[0-9]{1,19}$", description = "next_cursor of the previous page"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "1–100, default 20")),
    responses((status = 200, body = Wallet), (status = 401, response = problems::Unauthorized), (status = 422, response = problems::Unprocessable), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)), security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    auth: Authenticated,
    RawQuery(raw): RawQuery,
) -> Result<ApiJson<Wallet>, ApiError> {
    let mut before = None;
    let mut limit = PAGE_LIMIT_DEFAULT;
    for part in raw
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        match name {
            "cursor" => {
                // 1–19 digits, as the OpenAPI document's pattern says (no sign, no overflow).
                let digits =
                    (1..=19).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit());
                before = Some(
                    value
                        .parse::<u64>()
                        .ok()
                        .filter(|_| digits)
                        .ok_or_else(|| {
                            ApiError::invalid("cursor", "not a cursor from a previous next_cursor")
                        })?,
                )
            }
            "limit" => {
                limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=PAGE_LIMIT_MAX).contains(n))
                    .ok_or_else(|| {
                        ApiError::invalid("limit", format!("a number from 1 to {PAGE_LIMIT_MAX}"))
                    })?
            }
            other => {
                return Err(ApiError::invalid(
                    other,
                    "unknown parameter; use cursor or limit",
                ));
            }
        }
    }
    let account = LedgerAccount::User(auth.account.id);
    let balance = state.store.balance(&account).await?;
    let mut records = state.store.entries(&account, before, limit + 1).await?;
    let next_cursor = if records.len() > limit {
        records.truncate(limit);
        records.last().map(|r| r.seq.to_string())
    } else {
        None
    };
    let entries = records.into_iter().map(|r| r.entry).collect();
    let topups = state
        .store
        .payments_of(auth.account.id, PaymentKind::TopUp, WALLET_TOPUPS)
        .await?
        .iter()
        .map(topup_status)
        .collect();
    Ok(ApiJson(Wallet {
        balance,
        entries,
        next_cursor,
        topups,
    }))
}

/// Add funds. With the development provider (`--dev-topups`: play money, for trying
/// BookMyGig out) they are credited at once: `201` with the receipt. On a server paid through
/// Open Payments, `from` names the viewer's wallet: `202` with the top-up, whose `consent_url`
/// the viewer opens to approve the payment in their wallet; poll `GET /wallet/topups/{id}`
/// until it is `completed` (credited), `declined`, `expired` or `failed` (nothing credited).
/// Without a provider, 403. An optional `Idempotency-Key` makes a retry credit once.
#[utoipa::path(post, path = "/api/v1/wallet/topups", tag = "wallet", request_body = TopUp,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 128, pattern = "^[!-~]{1,128}$",
        description = "makes a retry credit once: 1–128 visible ASCII characters, e.g. a UUID")),
    responses((status = 201, body = TopUpReceipt, description = "credited at once (development provider)"),
        (status = 202, body = TopUpStatus, description = "started: approve it at consent_url (Open Payments)"),
        (status = 400, response = problems::BadRequest), (status = 401, response = problems::Unauthorized), (status = 403, response = problems::Forbidden), (status = 409, response = problems::Conflict), (status = 413, response = problems::PayloadTooLarge), (status = 415, response = problems::UnsupportedMediaType), (status = 422, response = problems::Unprocessable), (status = 500, response = problems::Internal), (status = 502, response = problems::BadGateway), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn top_up(
    State(state): State<AppState>,
    auth: Authenticated,
    headers: HeaderMap,
    ApiJson(form): ApiJson<TopUp>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    if form.amount <= Money::ZERO || form.amount > TOPUP_MAX {
        return Err(ApiError::invalid(
            "amount",
            format!(
                "more than $0 and at most {TOPUP_MAX} (in micro-USD: 1 to {})",
                TOPUP_MAX.micros()
            ),
        ));
    }
    if let Some(from) = &form.from
        && (from.trim().is_empty() || from.chars().count() > 256)
    {
        return Err(ApiError::invalid(
            "from",
            "a wallet address or payment pointer of 1 to 256 characters",
        ));
    }
    let request = TopUpRequest {
        account: auth.account.id,
        amount: form.amount,
        from: form.from,
        idempotency_key: key,
    };
    match state.payments.top_up(request).await? {
        TopUpAnswer::Credited(receipt) => {
            Ok((StatusCode::CREATED, ApiJson(receipt)).into_response())
        }
        TopUpAnswer::Pending(status) => Ok((StatusCode::ACCEPTED, ApiJson(status)).into_response()),
    }
}

/// Where a top-up from an outside wallet stands (yours only).
#[utoipa::path(get, path = "/api/v1/wallet/topups/{id}", tag = "wallet",
    params(("id" = String, Path, format = Uuid, description = "the top-up's id")),
    responses((status = 200, body = TopUpStatus), (status = 401, response = problems::Unauthorized), (status = 404, response = problems::NotFound), (status = 422, response = problems::Unprocessable), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn top_up_status(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(id): Path<String>,
) -> Result<ApiJson<TopUpStatus>, ApiError> {
    let id = uuid::Uuid::parse_str(&id)
        .map_err(|_| ApiError::invalid("id", "not a top-up id (a UUID)"))?;
    match state.store.payment(id).await? {
        Some(record) if record.owner == auth.account.id && record.kind == PaymentKind::TopUp => {
            Ok(ApiJson(topup_status(&record)))
        }
        _ => Err(ApiError::NotFound("no top-up of yours with this id".into())),
    }
}

impl From<PaymentError> for ApiError {
    fn from(error: PaymentError) -> Self {
        match error {
            PaymentError::Off(detail) => ApiError::Forbidden(detail.into()),
            PaymentError::Invalid { field, detail } => ApiError::invalid(field, detail),
            PaymentError::Wallet { field, detail } => ApiError::WalletUnreachable { detail, field },
            PaymentError::Store(store) => store.into(),
            PaymentError::Internal(cause) => ApiError::internal(cause),
        }
    }
}
