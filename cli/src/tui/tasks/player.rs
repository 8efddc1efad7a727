//! One player run: a playback URL from the server, then mpv, its events forwarded.

use bookmygig_api::GigId;
use bookmygig_cli::player::{Player, PlayerEvent, PlayerOptions};
use bookmygig_client::Client;
use tokio::sync::{mpsc, oneshot};

use crate::error::CliError;
use crate::tui::action::{Action, PlayerUpdate};

/// One player run: a playback URL, then mpv, its events forwarded until the last one. A stop
/// request (or its sender dropped) closes mpv; the run ends once mpv is gone.
pub(super) async fn play(
    client: Client,
    gig: GigId,
    options: PlayerOptions,
    mut stop: oneshot::Receiver<()>,
    results: mpsc::Sender<Action>,
    (room, run): (u64, u64),
) {
    let report = |update| {
        let results = results.clone();
        async move {
            let _ = results.send(Action::Player { room, run, update }).await;
        }
    };
    let playback = tokio::select! {
        playback = client.playback(gig) => playback,
        _ = &mut stop => return,
    };
    let url = match playback {
        Ok(playback) => playback.flv_url,
        Err(err) => {
            let transient = err.status().is_none_or(|status| status >= 500);
            let reason = CliError::from(err).to_string();
            let update = if transient {
                PlayerUpdate::Event(PlayerEvent::Error(reason))
            } else {
                PlayerUpdate::CannotOpen(reason)
            };
            return report(update).await;
        }
    };
    // Creating and initialising mpv takes milliseconds of blocking work (more the first time,
    // when its libraries load): not on the thread that draws.
    let opened = tokio::task::spawn_blocking(move || Player::open(&url, options)).await;
    let (player, mut events) = match opened {
        Ok(Ok(opened)) => opened,
        Ok(Err(err)) => return report(PlayerUpdate::CannotOpen(err.to_string())).await,
        Err(err) => {
            return report(PlayerUpdate::CannotOpen(format!(
                "the player could not start: {err}"
            )))
            .await;
        }
    };
    let mut player = Some(player);
    loop {
        tokio::select! {
            _ = &mut stop, if player.is_some() => {
                if let Some(player) = player.take() {
                    player.stop();
                }
            }
            event = events.recv() => {
                let Some(event) = event else { return };
                let last = event.is_last();
                report(PlayerUpdate::Event(event)).await;
                if last {
                    return;
                }
            }
        }
    }
}
