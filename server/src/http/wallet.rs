//! Wallets: balance and history, and top-ups through the development provider.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use bookmygig_api::limits::{PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, TOPUP_MAX};
use bookmygig_api::{EntryKind, Money, TopUp, TopUpReceipt, Wallet};
use bookmygig_store::{LedgerAccount, Transaction};
use time::OffsetDateTime;

use super::auth::Authenticated;
use super::json::ApiJson;
use super::problem::ApiError;
use super::problem::responses as problems;
use super::tickets::idempotency_key;
use crate::forms;
use crate::state::AppState;

/// The only top-up provider so far: it credits play money and says so.
pub const DEVELOPMENT_PROVIDER: &str = "development";
/// What a top-up is told when the development provider is off (the server runs without
/// `--dev-topups`): the flag that turns it on, and why it is off.
pub const TOPUPS_OFF: &str = "top-ups are off on this server: the development provider (play \
    money) works only when the server runs with --dev-topups, never in production";

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
    Ok(ApiJson(Wallet {
        balance,
        entries,
        next_cursor,
    }))
}

/// Add funds through the development provider (play money, for trying BookMyGig out), on a
/// server started with `--dev-topups`; without it, 403. An optional `Idempotency-Key` makes a
/// retry credit once.
#[utoipa::path(post, path = "/api/v1/wallet/topups", tag = "wallet", request_body = TopUp,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 128, pattern = "^[!-~]{1,128}$",
        description = "makes a retry credit once: 1–128 visible ASCII characters, e.g. a UUID")),
    responses((status = 201, body = TopUpReceipt), (status = 400, response = problems::BadRequest), (status = 401, response = problems::Unauthorized), (status = 403, response = problems::Forbidden), (status = 409, response = problems::Conflict), (status = 413, response = problems::PayloadTooLarge), (status = 415, response = problems::UnsupportedMediaType), (status = 422, response = problems::Unprocessable), (status = 500, response = problems::Internal), (status = 503, response = problems::Unavailable)),
    security(("bearer" = [])))]
pub async fn top_up(
    State(state): State<AppState>,
    auth: Authenticated,
    headers: HeaderMap,
    ApiJson(form): ApiJson<TopUp>,
) -> Result<(StatusCode, ApiJson<TopUpReceipt>), ApiError> {
    if !state.settings.dev_topups {
        return Err(ApiError::Forbidden(TOPUPS_OFF.into()));
    }
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
    let wallet = LedgerAccount::User(auth.account.id);
    let transaction = Transaction::transfer(
        EntryKind::TopUp,
        LedgerAccount::ExternalTopups,
        wallet,
        form.amount,
        "Top-up (development provider: play money)",
        None,
        forms::to_micros(OffsetDateTime::now_utc()),
    );
    let entries = state
        .store
        .post(&transaction, key.as_deref().map(|k| (auth.account.id, k)))
        .await?;
    let entry = entries
        .into_iter()
        .find(|r| r.entry.amount > Money::ZERO)
        .ok_or_else(|| ApiError::internal("top-up booked no credit entry"))?
        .entry;
    Ok((
        StatusCode::CREATED,
        ApiJson(TopUpReceipt {
            provider: DEVELOPMENT_PROVIDER.into(),
            balance: entry.balance_after,
            entry,
        }),
    ))
}
