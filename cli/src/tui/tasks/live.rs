//! The watch of the tickets' gigs: `GET /me/tickets` every [`WATCH_EVERY`], so that a held
//! gig going live is noticed wherever the TUI is (the list API carries each gig's status).

use std::time::Duration;

use bookmygig_client::Client;
use tokio::sync::mpsc;

use crate::error::CliError;
use crate::tui::action::Action;

/// How often the tickets are looked at: a show is noticed within this of going live.
const WATCH_EVERY: Duration = Duration::from_secs(15);

/// Looks at the tickets every [`WATCH_EVERY`] (the first look is the caller's own), reporting
/// each answer; failures are reported too and the next round tries again. Ends when the
/// session is refused or the loop is gone.
pub(super) async fn watch(client: Client, results: mpsc::Sender<Action>) {
    let start = tokio::time::Instant::now() + WATCH_EVERY;
    let mut every = tokio::time::interval_at(start, WATCH_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let result = match client.my_tickets().await {
            Ok(page) => Ok(page.items),
            // The session is over (the monetization channel tells the loop): a new one starts
            // a new watch.
            Err(err) if err.status() == Some(401) => return,
            Err(err) => Err(CliError::from(err).to_string()),
        };
        if results.send(Action::TicketsWatched(result)).await.is_err() {
            return;
        }
    }
}
