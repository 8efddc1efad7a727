//! One player run: a playback URL from the server (the live stream's, or a replay's), then
//! mpv, its events forwarded, and the viewer's seeks and pauses handed to it.

use bookmygig_api::GigId;
use bookmygig_cli::player::{Player, PlayerEvent, PlayerOptions};
use bookmygig_client::Client;
use tokio::sync::{mpsc, oneshot};

use crate::error::CliError;
use crate::tui::action::{Action, PlayerUpdate};

/// Seeks and pauses that may wait for a run; more are dropped (a key held down).
pub(super) const CONTROL_QUEUE: usize = 8;

/// What the viewer asks of a running player.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Control {
    /// Move the position by this many seconds.
    Seek(i32),
    /// Pause, or play on.
    TogglePause,
}

/// One player run: a playback URL (for `(gig, true)` the gig's replay), then mpv, its events
/// forwarded until the last one. A stop request (or its sender dropped) closes mpv; the run
/// ends once mpv is gone.
pub(super) async fn play(
    client: Client,
    (gig, replay): (GigId, bool),
    options: PlayerOptions,
    (mut stop, mut controls): (oneshot::Receiver<()>, mpsc::Receiver<Control>),
    results: mpsc::Sender<Action>,
    (room, run): (u64, u64),
) {
    let report = |update| {
        let results = results.clone();
        async move {
            let _ = results.send(Action::Player { room, run, update }).await;
        }
    };
    let asked = async {
        if replay {
            client.replay(gig).await.map(|replay| {
                let url = replay.url.clone();
                (url, Some(replay))
            })
        } else {
            client
                .playback(gig)
                .await
                .map(|playback| (playback.flv_url, None))
        }
    };
    let answer = tokio::select! {
        answer = asked => answer,
        _ = &mut stop => return,
    };
    let url = match answer {
        Ok((url, grant)) => {
            if let Some(grant) = grant {
                report(PlayerUpdate::Granted(Box::new(grant))).await;
            }
            url
        }
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
            Some(control) = controls.recv(), if player.is_some() => {
                if let Some(player) = &player {
                    match control {
                        Control::Seek(seconds) => player.seek(f64::from(seconds)),
                        Control::TogglePause => player.toggle_pause(),
                    }
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
