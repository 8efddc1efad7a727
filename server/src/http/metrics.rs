//! `GET /metrics` on the private metrics listener: Prometheus text of the live side, and
//! whether payouts wait for the host.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::live::metrics::StreamMetrics;
use crate::state::AppState;

/// Prometheus metrics of the live side, and whether payouts wait for the host.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let streams: Vec<StreamMetrics> = state
        .hub
        .streams()
        .iter()
        .filter(|s| s.source == crate::live::StreamSource::Publisher)
        .map(|s| StreamMetrics {
            gig: s.gig_id.to_string(),
            ingest_kbps: s.ingest_kbps(),
            relay_connections: s.relay_connections(),
        })
        .collect();
    let mut text = state.hub.metrics.render(&streams);
    text.push_str(&format!(
        "# HELP bookmygig_payouts_waiting Whether payouts wait for the host (e.g. a spent payout \
         grant; /healthz says why).\n# TYPE bookmygig_payouts_waiting gauge\n\
         bookmygig_payouts_waiting {}\n",
        u8::from(state.payments.attention().is_some())
    ));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
