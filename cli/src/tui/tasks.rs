//! Carries out [`Effect`]s: one-shot requests in tasks that answer with one [`Action`], and
//! the long-lived work of the live room (its chat connection, the polling of its stream facts,
//! its player), each in a task of its own that reports through the same channel.
//!
//! Nothing here is awaited by the event loop except [`Tasks::shutdown`] at exit, which closes
//! the player so mpv never outlives the TUI.

use std::time::Duration;

use bookmygig_api::limits::PAGE_LIMIT_MAX;
use bookmygig_api::{ChatErrorCode, ClientMessage, GigId, NewAccount, NewSession, ServerMessage};
use bookmygig_cli::player::{Player, PlayerEvent, PlayerOptions};
use bookmygig_client::{ChatError, Client, ClientError};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::action::{Action, ChatEvent, Effect, MonetizationUpdate, PlayerUpdate, SignedInAs};
use super::backoff::backoff_seconds;
use super::my_gigs::{CHART_PAGES, CreatorData};
use super::room::STREAM_POLL_SECONDS;
use super::sign_in::{Mode, Submission};
use super::update::WALLET_PAGE;
use crate::error::CliError;
use crate::settings::Store;

/// Chat messages typed faster than they can be sent wait here (the server allows 5 at once).
const SAY_QUEUE: usize = 16;

/// The monetization channel sends a keep-alive every 15 s: this long without a byte means the
/// connection is dead even if the socket says nothing.
const MONETIZATION_SILENCE: Duration = Duration::from_secs(45);

/// How often the chat is pinged, so that a vanished server (no close, no reset) is noticed.
const CHAT_PING_EVERY: Duration = Duration::from_secs(10);

/// The chat is given up and reconnected after this long without a frame (pongs included).
const CHAT_SILENCE: Duration = Duration::from_secs(30);

/// How long quitting waits for mpv to close its window.
const PLAYER_CLOSE_PATIENCE: Duration = Duration::from_secs(5);

/// The background work of the TUI.
pub struct Tasks {
    /// The server, signed in or not.
    client: Client,
    /// Where every task reports.
    results: mpsc::Sender<Action>,
    /// How the player opens mpv.
    player_options: PlayerOptions,
    /// The open room's tasks.
    room: Option<RoomTasks>,
    /// The running player.
    player: Option<PlayerTask>,
    /// Where sessions are saved.
    store: Store,
    /// The monetization channel's task.
    monetization: Option<JoinHandle<()>>,
}

/// The tasks of the open room; dropping this stops them.
struct RoomTasks {
    /// The room's id, tagging reports.
    id: u64,
    /// Messages to send in the chat.
    say: mpsc::Sender<String>,
    /// The chat connection (reconnecting by itself).
    chat: JoinHandle<()>,
    /// The stream facts' poller.
    poll: JoinHandle<()>,
}

impl Drop for RoomTasks {
    fn drop(&mut self) {
        self.chat.abort();
        self.poll.abort();
    }
}

/// A player run.
struct PlayerTask {
    /// Asks the run to close mpv; dropping it does too.
    stop: Option<oneshot::Sender<()>>,
    /// Ends once mpv is gone.
    done: JoinHandle<()>,
}

impl Tasks {
    /// Background work for `client`, reporting on `results`; sessions opened are saved in
    /// `store`.
    pub fn new(
        client: Client,
        results: mpsc::Sender<Action>,
        player_options: PlayerOptions,
        store: Store,
    ) -> Self {
        Self {
            client,
            results,
            player_options,
            room: None,
            player: None,
            store,
            monetization: None,
        }
    }

    /// Starts `effect`.
    pub fn run(&mut self, effect: Effect) {
        match effect {
            Effect::JoinRoom { room, gig } => {
                let (say, said) = mpsc::channel(SAY_QUEUE);
                self.room = Some(RoomTasks {
                    id: room,
                    say,
                    chat: tokio::spawn(chat(
                        self.client.clone(),
                        room,
                        gig,
                        said,
                        self.results.clone(),
                    )),
                    poll: tokio::spawn(poll_stream(
                        self.client.clone(),
                        room,
                        gig,
                        self.results.clone(),
                    )),
                });
            }
            Effect::LeaveRoom => {
                self.room = None;
                self.player = None;
            }
            Effect::Say { text } => {
                if let Some(room) = &self.room
                    && room.say.try_send(text).is_err()
                {
                    // Only a flood fills the queue; the server would refuse most of it anyway.
                    let refusal = Action::Chat {
                        room: room.id,
                        event: ChatEvent::Message(ServerMessage::Error {
                            code: ChatErrorCode::RateLimited,
                            detail: "too many messages waiting to be sent; slow down".to_owned(),
                        }),
                    };
                    let results = self.results.clone();
                    tokio::spawn(async move {
                        let _ = results.send(refusal).await;
                    });
                }
            }
            Effect::StartPlayer {
                room,
                run,
                gig,
                title,
            } => {
                let (stop, stopped) = oneshot::channel();
                let options = PlayerOptions {
                    title: Some(title),
                    ..self.player_options.clone()
                };
                let done = tokio::spawn(play(
                    self.client.clone(),
                    gig,
                    options,
                    stopped,
                    self.results.clone(),
                    (room, run),
                ));
                // Replacing a run stops the old one.
                self.player = Some(PlayerTask {
                    stop: Some(stop),
                    done,
                });
            }
            Effect::StopPlayer => self.player = None,
            // The URL was checked when the session was opened on it, so this cannot fail.
            Effect::UseSession(session) => {
                if let Ok(client) = Client::new(&session.server) {
                    self.client = client.with_token(session.token);
                }
            }
            Effect::WatchMonetization => {
                if let Some(task) = self.monetization.take() {
                    task.abort();
                }
                self.monetization = Some(tokio::spawn(watch_monetization(
                    self.client.clone(),
                    self.results.clone(),
                )));
            }
            Effect::Authenticate(submission) => {
                let store = self.store.clone();
                let results = self.results.clone();
                tokio::spawn(async move {
                    let result = authenticate(submission, &store).await;
                    let _ = results.send(Action::SignedIn(result)).await;
                });
            }
            once => self.once(once),
        }
    }

    /// Starts a one-shot request that answers with one action.
    fn once(&self, effect: Effect) {
        let client = self.client.clone();
        let results = self.results.clone();
        tokio::spawn(async move {
            let Some(action) = answer(&client, effect).await else {
                return;
            };
            // The loop has ended when the channel is closed: nobody wants the answer.
            let _ = results.send(action).await;
        });
    }

    /// Stops everything; waits (a few seconds at most) for mpv to close its window.
    pub async fn shutdown(mut self) {
        self.room = None;
        if let Some(task) = self.monetization.take() {
            task.abort();
        }
        if let Some(mut player) = self.player.take() {
            if let Some(stop) = player.stop.take() {
                let _ = stop.send(());
            }
            let _ = tokio::time::timeout(PLAYER_CLOSE_PATIENCE, &mut player.done).await;
        }
    }
}

/// The answer to a one-shot effect.
async fn answer(client: &Client, effect: Effect) -> Option<Action> {
    let words = |err: bookmygig_client::ClientError| CliError::from(err).to_string();
    Some(match effect {
        Effect::FetchCatalogue { request, query } => {
            let more = query.cursor.is_some();
            let result = client.list_gigs(&query).await.map_err(words);
            if more {
                Action::MoreLoaded { request, result }
            } else {
                Action::CatalogueLoaded { request, result }
            }
        }
        Effect::FetchTickets => Action::TicketsLoaded(
            client
                .my_tickets()
                .await
                .map(|page| page.items)
                .map_err(words),
        ),
        Effect::FetchWallet => Action::WalletLoaded(
            client
                .wallet(None, Some(1))
                .await
                .map(|wallet| wallet.balance)
                .map_err(words),
        ),
        Effect::FetchWalletPage { cursor } => Action::WalletPageLoaded {
            more: cursor.is_some(),
            result: client
                .wallet(cursor.as_deref(), Some(WALLET_PAGE))
                .await
                .map_err(words),
        },
        Effect::FetchCreatorData => {
            Action::CreatorLoaded(creator_data(client).await.map_err(words))
        }
        Effect::TopUp {
            amount,
            idempotency_key,
        } => Action::ToppedUp(
            client
                .top_up(amount, Some(&idempotency_key))
                .await
                .map_err(words),
        ),
        Effect::BuyTicket {
            gig,
            idempotency_key,
        } => Action::TicketBought {
            gig,
            result: client
                .buy_ticket(gig, &idempotency_key)
                .await
                .map_err(words),
        },
        Effect::FetchMe => match client.me().await {
            Err(err) if err.status() == Some(401) => Action::SessionExpired,
            result => Action::MeLoaded(result.map_err(words)),
        },
        Effect::JoinRoom { .. }
        | Effect::Authenticate(_)
        | Effect::UseSession(_)
        | Effect::WatchMonetization
        | Effect::LeaveRoom
        | Effect::Say { .. }
        | Effect::StartPlayer { .. }
        | Effect::StopPlayer => return None,
    })
}

/// Holds the monetization channel open, forwarding its events; reopens it after a loss (or
/// [`MONETIZATION_SILENCE`] without even a keep-alive) after a growing pause. Ends when the
/// server says the session is not valid (reporting [`Action::SessionExpired`]), or when the
/// loop is gone.
async fn watch_monetization(client: Client, results: mpsc::Sender<Action>) {
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

/// The creator's gigs, earnings, and the newest wallet entries (for the charts).
async fn creator_data(client: &Client) -> Result<CreatorData, ClientError> {
    let (gigs, earnings) = tokio::try_join!(client.my_gigs(), client.earnings())?;
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..CHART_PAGES {
        let page = client
            .wallet(cursor.as_deref(), Some(PAGE_LIMIT_MAX))
            .await?;
        entries.extend(page.entries);
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    Ok(CreatorData {
        gigs: gigs.items,
        earnings: earnings.gigs,
        entries,
    })
}

/// Signs in or up as the form says, and saves the session (as `bookmygig login` does, making
/// the server the default).
async fn authenticate(submission: Submission, store: &Store) -> Result<SignedInAs, String> {
    let words = |err: bookmygig_client::ClientError| CliError::from(err).to_string();
    let client = Client::new(&submission.server).map_err(words)?;
    let (account, token) = match submission.mode {
        Mode::SignIn => {
            let session = client
                .sign_in(&NewSession {
                    handle: submission.handle,
                    password: submission.password,
                })
                .await
                .map_err(words)?;
            (session.account, session.token)
        }
        Mode::SignUp => {
            let signed = client
                .sign_up(&NewAccount {
                    handle: submission.handle,
                    display_name: submission.display_name,
                    password: submission.password,
                })
                .await
                .map_err(words)?;
            (signed.account, signed.token)
        }
    };
    store
        .remember_session(&submission.server, &account.handle, &token)
        .map_err(|err| err.to_string())?;
    Ok(SignedInAs {
        server: submission.server,
        account,
        token,
    })
}

/// The chat connection of room `room`: connects, forwards what the server says and sends what
/// is typed; when the connection fails or breaks, says so and tries again after a growing
/// pause, until the server refuses for good or the room is left (the task is aborted).
async fn chat(
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

/// Polls the stream facts of the room's gig every [`STREAM_POLL_SECONDS`], errors included
/// (the panel shows them and recovers with the next success).
async fn poll_stream(client: Client, room: u64, gig: GigId, results: mpsc::Sender<Action>) {
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

/// One player run: a playback URL, then mpv, its events forwarded until the last one. A stop
/// request (or its sender dropped) closes mpv; the run ends once mpv is gone.
async fn play(
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
