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
    /// Where money comes from: `none`, `development` or `open-payments`.
    pub payments: &'static str,
    /// What payouts wait for, when they wait (e.g. the platform's payout grant is spent):
    /// the host's cue to act. Absent when all is well.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payouts: Option<String>,
}

/// Whether this node is up, and on which store.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> ApiJson<Health> {
    ApiJson(Health {
        status: "ok",
        store: state.store.backend_name(),
        payments: state.payments.name(),
        payouts: state.payments.attention(),
    })
}
