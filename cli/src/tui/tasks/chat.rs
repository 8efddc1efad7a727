//! A room's chat connection: connects, forwards what the server says, sends what is typed,
//! pings to notice a vanished peer, and reconnects with backoff.

use std::time::Duration;

use bookmygig_api::{ClientMessage, GigId};
use bookmygig_client::{ChatError, Client};
use tokio::sync::mpsc;

use crate::tui::action::{Action, ChatEvent};
use crate::tui::backoff::backoff_seconds;

/// How often the chat is pinged, so that a vanished server (no close, no reset) is noticed.
const CHAT_PING_EVERY: Duration = Duration::from_secs(10);

/// The chat is given up and reconnected after this long without a frame (pongs included).
const CHAT_SILENCE: Duration = Duration::from_secs(30);

/// The chat connection of room `room`: connects, forwards what the server says and sends what
/// is typed; when the connection fails or breaks, says so and tries again after a growing
/// pause, until the server refuses for good or the room is left (the task is aborted).
pub(super) async fn run(
    client: Client,
    room: u64,
    gig: GigId,
    mut said: mpsc::Receiver<String>,
    results: mpsc::Sender<Action>,
) {
    let report = |event| {
        let results = results.clone();
        async move { results.send(Action::Chat { room, event }).await.is_ok() }
    };
    let mut attempt = 0;
    loop {
        let reason = match client.chat(gig).await {
            Ok(mut socket) => {
                attempt = 0;
                if !report(ChatEvent::Connected).await {
                    return;
                }
                let mut heartbeat = tokio::time::interval(CHAT_PING_EVERY);
                heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = heartbeat.tick() => {
                            if socket.silent_for() > CHAT_SILENCE {
                                break "the chat went silent".to_owned();
                            }
                            if let Err(err) = socket.ping().await {
                                break err.to_string();
                            }
                        }
                        message = socket.recv() => match message {
                            Some(Ok(message)) => {
                                if !report(ChatEvent::Message(message)).await {
                                    return;
                                }
                            }
                            // A frame this client does not understand is skipped.
                            Some(Err(ChatError::Decode(_))) => {}
                            Some(Err(err)) => break err.to_string(),
                            None => break "the server closed the chat".to_owned(),
                        },
                        text = said.recv() => {
                            let Some(text) = text else { return };
                            if let Err(err) = socket.send(&ClientMessage::Say { text }).await {
                                break err.to_string();
                            }
                        }
                    }
                }
            }
            Err(err) if !err.is_retryable() => {
                report(ChatEvent::Refused(err.to_string())).await;
                return;
            }
            Err(err) => err.to_string(),
        };
        attempt += 1;
        let retry_in_s = backoff_seconds(attempt);
        if !report(ChatEvent::Lost {
            attempt,
            reason,
            retry_in_s,
        })
        .await
        {
            return;
        }
        tokio::time::sleep(Duration::from_secs(retry_in_s)).await;
    }
}
