//! The payment worker: moves every unfinished payment on when it is due, on every node (the
//! store's compare-and-set makes two nodes moving one payment harmless), and picks up where a
//! stopped or killed node left off.

use std::sync::Arc;
use std::time::Duration;

use bookmygig_store::Store;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::PaymentProvider;

/// How often the worker looks for due payments.
pub const TICK: Duration = Duration::from_millis(500);
/// The most payments one look takes on (the rest wait for the next).
const BATCH: usize = 64;
/// The most one step may take before it is abandoned until the next look.
const STEP_LIMIT: Duration = Duration::from_secs(60);

/// Runs until `stopping` turns true.
pub async fn run(
    store: Arc<dyn Store>,
    provider: Arc<dyn PaymentProvider>,
    mut stopping: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = async { drop(stopping.wait_for(|stopping| *stopping).await) } => break,
        }
        let due = match store.unfinished_payments(BATCH).await {
            Ok(payments) => payments,
            Err(error) => {
                tracing::warn!(%error, "cannot read unfinished payments");
                continue;
            }
        };
        let now = OffsetDateTime::now_utc();
        for record in due
            .into_iter()
            .filter(|record| record.next_attempt_at <= now)
        {
            let id = record.id;
            match tokio::time::timeout(STEP_LIMIT, provider.advance(record)).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(payment = %id, %error, "payment step failed"),
                Err(_) => tracing::warn!(payment = %id, "payment step timed out"),
            }
        }
    }
}
