//! Carries out [`Effect`]s: one-shot requests in tasks that answer with one [`Action`], and
//! the long-lived work (the live room's chat connection and the polling of its stream facts,
//! the player, the monetization channel), each in a task of its own that reports through the
//! same channel.
//!
//! - `requests`: the one-shot requests and their answers.
//! - `chat`: a room's chat connection, reconnecting with backoff.
//! - `stream`: the polling of a room's stream facts.
//! - `player`: one player run (playback URL, then mpv).
//! - `monetization`: the monetization channel, reopened after losses.
//! - `topups`: following top-ups that wait for approval in the viewer's wallet.
//! - `live`: the watch of the tickets' gigs (a held gig going live).
//! - `notify`: desktop notifications through the terminal, else the bell.
//!
//! Nothing here is awaited by the event loop except [`Tasks::shutdown`] at exit, which closes
//! the player so mpv never outlives the TUI.

mod chat;
mod live;
mod monetization;
mod notify;
mod player;
mod requests;
mod stream;
mod topups;

use std::time::Duration;

use bookmygig_api::{ChatErrorCode, ServerMessage, TopUpStatus};
use bookmygig_cli::player::{PlayerOptions, VideoOutput, VideoSink};
use bookmygig_client::Client;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::action::{Action, ChatEvent, Effect};
use crate::settings::Store;

/// Chat messages typed faster than they can be sent wait here (the server allows 5 at once).
const SAY_QUEUE: usize = 16;

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
    /// Where a player drawing in the terminal puts its frames (the event loop reads them).
    video: VideoSink,
    /// The open room's tasks.
    room: Option<RoomTasks>,
    /// The running player.
    player: Option<PlayerTask>,
    /// Where sessions are saved.
    store: Store,
    /// The monetization channel's task.
    monetization: Option<JoinHandle<()>>,
    /// The watch of the tickets' gigs.
    tickets_watch: Option<JoinHandle<()>>,
    /// The tasks following top-ups, with the top-up each follows (each ends once its top-up
    /// is final).
    topups: Vec<(TopUpStatus, JoinHandle<()>)>,
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
    /// Seeks and pauses for the run's player (dropped when it cannot keep up).
    controls: mpsc::Sender<player::Control>,
    /// Ends once mpv is gone.
    done: JoinHandle<()>,
}

impl Tasks {
    /// Background work for `client`, reporting on `results`; sessions opened are saved in
    /// `store`; a player in the terminal draws into `video`.
    pub fn new(
        client: Client,
        results: mpsc::Sender<Action>,
        (player_options, video): (PlayerOptions, VideoSink),
        store: Store,
    ) -> Self {
        Self {
            client,
            results,
            player_options,
            video,
            room: None,
            player: None,
            store,
            monetization: None,
            tickets_watch: None,
            topups: Vec::new(),
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
                    chat: tokio::spawn(chat::run(
                        self.client.clone(),
                        room,
                        gig,
                        said,
                        self.results.clone(),
                    )),
                    poll: tokio::spawn(stream::poll(
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
                in_terminal,
                replay_from_ms,
            } => {
                let (stop, stopped) = oneshot::channel();
                let (controls, controlled) = mpsc::channel(player::CONTROL_QUEUE);
                let video = if in_terminal {
                    // A frame left by an earlier run must not show.
                    self.video.clear();
                    VideoOutput::Terminal(self.video.clone())
                } else {
                    VideoOutput::Window
                };
                let mut options = PlayerOptions {
                    title: Some(title),
                    video,
                    ..self.player_options.clone()
                };
                if let Some(from_ms) = replay_from_ms {
                    // A recording: read ahead and seek, no live edge to chase.
                    options.low_latency = false;
                    options.live_edge = None;
                    options.start_s = Some(from_ms as f64 / 1000.0);
                }
                let done = tokio::spawn(player::play(
                    self.client.clone(),
                    (gig, replay_from_ms.is_some()),
                    options,
                    (stopped, controlled),
                    self.results.clone(),
                    (room, run),
                ));
                // Replacing a run stops the old one.
                self.player = Some(PlayerTask {
                    stop: Some(stop),
                    controls,
                    done,
                });
            }
            Effect::StopPlayer => self.player = None,
            Effect::SeekPlayer(seconds) => self.control(player::Control::Seek(seconds)),
            Effect::TogglePause => self.control(player::Control::TogglePause),
            // The URL was checked when the session was opened on it, so this cannot fail.
            Effect::UseSession(session) => {
                if let Ok(client) = Client::with_roots(&session.server, self.client.roots().clone())
                {
                    self.client = client.with_token(session.token);
                }
            }
            Effect::WatchMonetization => {
                if let Some(task) = self.monetization.take() {
                    task.abort();
                }
                self.monetization = Some(tokio::spawn(monetization::watch(
                    self.client.clone(),
                    self.results.clone(),
                )));
            }
            Effect::WatchTickets => {
                if let Some(task) = self.tickets_watch.take() {
                    task.abort();
                }
                self.tickets_watch = Some(tokio::spawn(live::watch(
                    self.client.clone(),
                    self.results.clone(),
                )));
            }
            // Here, on the event loop between two draws: never inside one of the screen's
            // own sequences.
            Effect::Notify { title, body } => notify::send(&title, &body),
            Effect::FollowTopUp(status) => {
                self.topups.retain(|(_, task)| !task.is_finished());
                if self.topups.iter().all(|(known, _)| known.id != status.id) {
                    let task = tokio::spawn(topups::follow(
                        self.client.clone(),
                        (*status).clone(),
                        self.results.clone(),
                    ));
                    self.topups.push((*status, task));
                }
            }
            Effect::OpenBrowser(url) => bookmygig_cli::browser::open_in_browser(&url),
            Effect::RememberTopUpWallet { server, wallet } => {
                let store = self.store.clone();
                // Best effort: the dialog merely offers the wallet less next time.
                tokio::task::spawn_blocking(move || {
                    let _ = store.remember_topup_wallet(&server, &wallet);
                });
            }
            Effect::Authenticate(submission) => {
                let store = self.store.clone();
                let results = self.results.clone();
                let roots = self.client.roots().clone();
                tokio::spawn(async move {
                    let result = requests::authenticate(submission, roots, &store).await;
                    let _ = results.send(Action::SignedIn(result)).await;
                });
            }
            once => self.once(once),
        }
    }

    /// Hands a seek or pause to the running player, if any; dropped when its queue is full
    /// (a key held down), as the player itself would.
    fn control(&self, control: player::Control) {
        if let Some(player) = &self.player {
            let _ = player.controls.try_send(control);
        }
    }

    /// Starts a one-shot request that answers with one action.
    fn once(&self, effect: Effect) {
        let client = self.client.clone();
        let results = self.results.clone();
        tokio::spawn(async move {
            let Some(action) = requests::answer(&client, effect).await else {
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
        if let Some(task) = self.tickets_watch.take() {
            task.abort();
        }
        for (_, task) in self.topups.drain(..) {
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
