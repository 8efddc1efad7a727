//! The polling of a room's stream facts.

use std::time::Duration;

use bookmygig_api::GigId;
use bookmygig_client::Client;
use tokio::sync::mpsc;

use crate::error::CliError;
use crate::tui::action::Action;
use crate::tui::room::STREAM_POLL_SECONDS;

/// Polls the stream facts of the room's gig every [`STREAM_POLL_SECONDS`], errors included
/// (the panel shows them and recovers with the next success).
pub(super) async fn poll(client: Client, room: u64, gig: GigId, results: mpsc::Sender<Action>) {
    let mut every = tokio::time::interval(Duration::from_secs(STREAM_POLL_SECONDS));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let result = client
            .stream_status(gig)
            .await
            .map_err(|err| CliError::from(err).to_string());
        if results
            .send(Action::StreamLoaded { room, result })
            .await
            .is_err()
        {
            return;
        }
    }
}
