//! Following a top-up that waits for approval in the viewer's wallet: asked about every second
//! until it is final, each change reported as an [`Action::TopUpChecked`].

use std::time::Duration;

use bookmygig_api::TopUpStatus;
use bookmygig_client::Client;
use tokio::sync::mpsc;

use crate::error::CliError;
use crate::tui::action::Action;
use crate::tui::backoff::backoff_seconds;

/// How often a top-up under way is asked about (as `bookmygig wallet topup` does).
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Asks about `known` until it is final; a failed check is reported and retried with growing
/// pauses, except a refusal (4xx: signed out, not ours), which ends the following.
pub(super) async fn follow(client: Client, mut known: TopUpStatus, results: mpsc::Sender<Action>) {
    let mut failures = 0_u32;
    loop {
        let pause = if failures == 0 {
            POLL_EVERY
        } else {
            Duration::from_secs(backoff_seconds(failures))
        };
        tokio::time::sleep(pause).await;
        let (report, more) = match client.top_up_status(known.id).await {
            Ok(status) => {
                let more = !status.state.is_final();
                // Only changes are news (a failure before is one: its trouble is over).
                let news = status != known || failures > 0;
                failures = 0;
                let asked = std::mem::replace(&mut known, status.clone());
                let report = news.then(|| Action::TopUpChecked {
                    asked: Box::new(asked),
                    result: Ok(status),
                    more,
                });
                (report, more)
            }
            Err(err) => {
                failures = failures.saturating_add(1);
                let more = !err
                    .status()
                    .is_some_and(|status| (400..500).contains(&status));
                let report = Action::TopUpChecked {
                    asked: Box::new(known.clone()),
                    result: Err(CliError::from(err).to_string()),
                    more,
                };
                (Some(report), more)
            }
        };
        // A closed channel: the TUI has ended, nobody wants to know.
        if let Some(report) = report
            && results.send(report).await.is_err()
        {
            return;
        }
        if !more {
            return;
        }
    }
}
