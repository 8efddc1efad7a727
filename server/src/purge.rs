//! Storage housekeeping: every [`PURGE_INTERVAL`], expired sessions and idempotency records
//! older than [`bookmygig_store::IDEMPOTENCY_TTL`] are removed, so neither grows without
//! bound (the embedded store keeps them until then; Redis expires them by itself).

use std::sync::Arc;
use std::time::Duration;

use bookmygig_store::Store;
use time::OffsetDateTime;
use tokio::sync::watch;

/// How often the store is purged (also once at start-up).
pub const PURGE_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// Purges `store` at start-up and every [`PURGE_INTERVAL`] until `stopping` turns true.
pub async fn run(store: Arc<dyn Store>, mut stopping: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(PURGE_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => match store.purge_expired(OffsetDateTime::now_utc()).await {
                Ok(purged) if purged.sessions + purged.idempotency_records > 0 => tracing::info!(
                    sessions = purged.sessions,
                    idempotency_records = purged.idempotency_records,
                    "purged expired records"
                ),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "cannot purge expired records"),
            },
            () = async { drop(stopping.wait_for(|stopping| *stopping).await) } => break,
        }
    }
}
