//! The HTTP side: the router, its middleware, and one module per resource.

pub mod accounts;
pub mod auth;
pub mod chat;
pub mod client_ip;
pub mod deadline;
pub mod earnings;
pub mod gigs;
pub mod health;
pub mod internal;
pub mod json;
pub mod live;
pub mod monetization;
pub mod openapi;
pub mod pricing;
pub mod problem;
pub mod tcp;
pub mod tickets;
pub mod wallet;
pub mod websocket;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post};
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
        .route("/sessions", post(accounts::sign_in))
        .route("/sessions/current", delete(accounts::sign_out))
        .route("/me", get(accounts::me))
        .route("/me/gigs", get(gigs::mine))
        .route("/me/tickets", get(tickets::mine))
        .route("/me/earnings", get(earnings::mine))
        .route("/monetization", get(monetization::channel))
        .route("/pricing", get(pricing::show))
        .route("/gigs", get(gigs::list).post(gigs::create))
        .route(
            "/gigs/{id}",
            get(gigs::show).patch(gigs::update).delete(gigs::cancel),
        )
        .route("/gigs/{id}/stream-key", post(gigs::rotate_stream_key))
        .route("/gigs/{id}/tickets", post(tickets::buy))
        .route("/gigs/{id}/playback", post(live::playback))
        .route("/gigs/{id}/stream", get(live::status))
        .route("/gigs/{id}/chat", get(chat::enter))
        .route("/wallet", get(wallet::show))
        .route("/wallet/topups", post(wallet::top_up))
        .route("/openapi.json", get(openapi_json));
    Router::new()
        .nest(bookmygig_api::API_PREFIX, api)
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(live::metrics))
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
        .route("/live/{file}", get(live::flv))
        // Other nodes' relays (Redis mode); not in the OpenAPI document.
        .route("/internal/v1/live/{file}", get(internal::relay_flv))
        .with_state(state)
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
