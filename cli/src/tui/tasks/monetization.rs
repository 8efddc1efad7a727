//! The monetization channel, held open and reopened after losses.

use std::time::Duration;

use bookmygig_client::{Client, ClientError};
use tokio::sync::mpsc;

use crate::error::CliError;
use crate::tui::action::{Action, MonetizationUpdate};
use crate::tui::backoff::backoff_seconds;

/// The monetization channel sends a keep-alive every 15 s: this long without a byte means the
/// connection is dead even if the socket says nothing.
const MONETIZATION_SILENCE: Duration = Duration::from_secs(45);

/// Holds the monetization channel open, forwarding its events; reopens it after a loss (or
/// [`MONETIZATION_SILENCE`] without even a keep-alive) after a growing pause. Ends when the
/// server says the session is not valid (reporting [`Action::SessionExpired`]), or when the
/// loop is gone.
pub(super) async fn watch(client: Client, results: mpsc::Sender<Action>) {
    let report = |update| {
        let results = results.clone();
        async move { results.send(Action::Monetization(update)).await.is_ok() }
    };
    let mut attempt = 0;
    loop {
        let reason = match client.monetization().await {
            Ok(mut channel) => {
                attempt = 0;
                loop {
                    match tokio::time::timeout(MONETIZATION_SILENCE, channel.next()).await {
                        Ok(Some(Ok(event))) => {
                            if !report(MonetizationUpdate::Event(event)).await {
                                return;
                            }
                        }
                        // An event this client does not understand is skipped.
                        Ok(Some(Err(ClientError::Decode(_)))) => {}
                        Ok(Some(Err(err))) => break CliError::from(err).to_string(),
                        Ok(None) => break "the server closed the channel".to_owned(),
                        Err(_) => break "the channel went silent".to_owned(),
                    }
                }
            }
            Err(err) if err.status() == Some(401) => {
                let _ = results.send(Action::SessionExpired).await;
                return;
            }
            Err(err) => CliError::from(err).to_string(),
        };
        if !report(MonetizationUpdate::Lost(reason)).await {
            return;
        }
        attempt += 1;
        tokio::time::sleep(Duration::from_secs(backoff_seconds(attempt))).await;
    }
}
