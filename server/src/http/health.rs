//! Liveness for load balancers and scripts.

use axum::extract::State;
use serde::Serialize;

use super::json::ApiJson;
use crate::state::AppState;

/// `GET /healthz` answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: &'static str,
    /// Which store backs this node: `embedded` or `redis`.
    pub store: &'static str,
}

/// Whether this node is up, and on which store.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> ApiJson<Health> {
    ApiJson(Health {
        status: "ok",
        store: state.store.backend_name(),
    })
}
