//! Awaiting a condition that another process brings about (a payment worker, a gig's clock):
//! checked every 100 ms until it holds, failing with what was last seen when it does not
//! within the patience given. No sleep guesses how long it takes.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

/// How often the condition is checked.
const EVERY: Duration = Duration::from_millis(100);

/// Calls `check` until it answers `Ok(value)` and returns the value; panics naming `what` and
/// the last `Err(seen)` once `patience` has passed.
pub async fn eventually<T, S, F, Fut>(what: &str, patience: Duration, mut check: F) -> T
where
    S: Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, S>>,
{
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(seen) => assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: not within {patience:?}; last seen {seen:?}"
            ),
        }
        tokio::time::sleep(EVERY).await;
    }
}
