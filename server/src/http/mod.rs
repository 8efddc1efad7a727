//! The HTTP side: the router, its middleware, and one module per resource.

pub mod accounts;
pub mod auth;
pub mod chat;
pub mod client_ip;
pub mod earnings;
pub mod flv;
pub mod gigs;
pub mod health;
pub mod internal;
pub mod json;
pub mod metrics;
pub mod monetization;
pub mod openapi;
pub mod payouts;
pub mod playback;
pub mod player;
pub mod pricing;
pub mod problem;
pub mod recordings;
pub mod replay;
pub mod stream_status;
pub mod tickets;
pub mod wallet;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{delete, get, post, put};
use bookmygig_api::limits::BODY_MAX_BYTES;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi as _;

use self::json::ApiJson;
use self::problem::{ApiError, InternalCause};
use crate::state::AppState;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/accounts", post(accounts::sign_up))
        .route(
            "/sessions",
            post(accounts::sign_in).delete(accounts::sign_out_everywhere),
        )
        .route("/sessions/current", delete(accounts::sign_out))
        .route("/me", get(accounts::me))
        .route("/me/password", put(accounts::change_password))
        .route("/me/gigs", get(gigs::mine))
        .route("/me/tickets", get(tickets::mine))
        .route("/me/earnings", get(earnings::mine))
        .route("/me/payouts", get(payouts::mine).post(payouts::request))
        .route("/pricing", get(pricing::show))
        .route("/gigs", get(gigs::list).post(gigs::create))
        .route(
            "/gigs/{id}",
            get(gigs::show).patch(gigs::update).delete(gigs::cancel),
        )
        .route("/gigs/{id}/stream-key", post(gigs::rotate_stream_key))
        .route("/gigs/{id}/tickets", post(tickets::buy))
        .route("/gigs/{id}/playback", post(playback::playback))
        .route("/gigs/{id}/replay", post(replay::grant))
        .route(
            "/gigs/{id}/recording",
            get(recordings::show).delete(recordings::delete),
        )
        .route("/me/recordings", get(recordings::mine))
        .route("/gigs/{id}/chat/history", get(chat::history))
        .route("/gigs/{id}/stream", get(stream_status::status))
        .route("/gigs/{id}/chat", get(chat::enter))
        .route("/wallet", get(wallet::show))
        .route("/wallet/topups", post(wallet::top_up))
        .route("/wallet/topups/{id}", get(wallet::top_up_status))
        .route("/openapi.json", get(openapi_json))
        .layer(middleware::from_fn_with_state(
            state.settings.request_timeout,
            request_deadline,
        ))
        // Server-sent events: endless, so outside the request deadline.
        .route("/monetization", get(monetization::channel));
    Router::new()
        .nest(bookmygig_api::API_PREFIX, api)
        .route("/healthz", get(health::healthz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(log_internal_errors))
        .layer(DefaultBodyLimit::max(BODY_MAX_BYTES))
        .layer(
            // Spans carry the path only: query strings may hold playback tokens.
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                tracing::info_span!("http", method = %request.method(), path = %request.uri().path())
            }),
        )
        // The FLV stream logs its own joins and ends: a request span entered on every poll of
        // an endless body costs the fan-out a few percent of its CPU.
        .route("/live/{file}", get(flv::flv))
        .route("/replay/{file}", get(replay::file))
        .with_state(state)
}

/// The private metrics listener's routes (`--metrics-addr`): Prometheus text.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::metrics))
        .fallback(not_found)
        .with_state(state)
}

/// The private internal listener's routes (`--internal-addr`): other nodes' relays (Redis
/// mode); not in the OpenAPI document.
pub fn internal_router(state: AppState) -> Router {
    Router::new()
        .route("/internal/v1/live/{file}", get(internal::relay_flv))
        .fallback(not_found)
        .with_state(state)
}

/// Answers 503 `deadline-exceeded` for a request its handler has not answered within the
/// deadline (`--http-request-timeout`); the handler is dropped at its next await. Every
/// store write is one atomic step, and money steps are idempotent, so a retry is safe.
async fn request_deadline(
    axum::extract::State(limit): axum::extract::State<std::time::Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::DeadlineExceeded(limit.as_secs()).into_response(),
    }
}

async fn openapi_json() -> ApiJson<utoipa::openapi::OpenApi> {
    ApiJson(openapi::ApiDoc::openapi())
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint; see /api/v1/openapi.json".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Logs the cause of every 500, which the client never sees.
async fn log_internal_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if let Some(InternalCause(cause)) = response.extensions().get::<InternalCause>() {
        tracing::error!(%method, %path, %cause, "request failed");
    }
    response
}
