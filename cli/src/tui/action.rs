//! What can happen to the TUI ([`Action`]) and the slow work [`update`](super::update::update)
//! asks for in return ([`Effect`]). Actions come from keys (through the keymap) and from
//! background tasks reporting back; effects are carried out by tasks the event loop spawns.

use bookmygig_api::{
    Account, ChatMessage, Gig, GigId, MonetizationEvent, Money, MyTicket, Page, Payout, Purchased,
    Replay, ServerMessage, StreamStatus, TopUpStatus, Wallet,
};
use time::OffsetDateTime;

use super::line_editor::Edit;
use super::my_gigs::CreatorData;
use super::sign_in::Submission;
use super::wallet::TopUpField;
use bookmygig_cli::player::PlayerEvent;
use bookmygig_client::{GigListQuery, TopUpStarted};

/// Everything that changes the [`State`](super::app::State): a key's meaning or a result.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Move the selection up one row.
    Up,
    /// Move the selection down one row.
    Down,
    /// Move the selection (or the chat's scrollback) up a page.
    PageUp,
    /// Move the selection (or the chat's scrollback) down a page.
    PageDown,
    /// The next category tab.
    NextTab,
    /// The previous category tab.
    PrevTab,
    /// Start typing a search (`/`).
    StartSearch,
    /// A character typed into the search line (refused past the server's limits); the text
    /// is sent once the typing pauses.
    SearchInput(char),
    /// Delete the last character of the search line.
    SearchBackspace,
    /// Stop typing the search (Enter while searching), sending it now if it changed.
    SearchSubmit,
    /// Leave the search line and clear it (Esc while searching).
    SearchCancel,
    /// Load the catalogue again.
    Refresh,
    /// Open the selected gig.
    Open,
    /// Close what is open: the help overlay, then the gig.
    Back,
    /// Leave the TUI.
    Quit,
    /// Show or hide the help overlay.
    Help,
    /// Turn mouse capture on or off (capture blocks the terminal's own text selection).
    ToggleMouse,
    /// Show "My tickets" (loading them afresh).
    Tickets,
    /// The signed-in account's tickets arrived.
    TicketsLoaded(Result<Vec<MyTicket>, String>),
    /// Open the buy dialog for the selected gig.
    Buy,
    /// Say yes in the buy dialog.
    Confirm,
    /// The wallet balance arrived (for the buy dialog).
    WalletLoaded(Result<Money, String>),
    /// A purchase finished.
    TicketBought {
        /// The gig it was for; an answer for a gig whose dialog is closed only updates the status.
        gig: GigId,
        /// The ticket, or the refusal in words (sold out, insufficient funds…).
        result: Result<Purchased, String>,
    },
    /// The next page of the catalogue arrived (asked for on scrolling near the end).
    MoreLoaded {
        /// The listing it continues; pages of an earlier listing are dropped.
        request: u64,
        /// The page, or the error in words.
        result: Result<Page<Gig>, String>,
    },
    /// A catalogue request finished.
    CatalogueLoaded {
        /// The request it answers; older answers than the latest request are dropped.
        request: u64,
        /// The page, or the error in words.
        result: Result<Page<Gig>, String>,
    },
    /// Enter the live room of the selected gig (or the selected ticket's gig).
    EnterRoom,
    /// Play the stream in a side window, or stop it.
    Play,
    /// In a replay: move the position by this many seconds (negative: back).
    Seek(i32),
    /// In a replay: pause, or play on.
    TogglePause,
    /// The chat history of a replay's room arrived (see [`Effect::FetchReplayChat`]).
    ReplayChatLoaded {
        /// The room that asked.
        room: u64,
        /// The messages, oldest first, or the error in words.
        result: Result<Vec<ChatMessage>, String>,
    },
    /// In the room: move the video between mpv's window and the terminal.
    ToggleVideoOutput,
    /// In the room: the video in the terminal takes the whole screen, or goes back to the panel.
    ToggleFullScreen,
    /// A new video frame to draw in the terminal (paced by the event loop).
    VideoFrame(super::graphics::Picture),
    /// An edit of the chat's input line (while typing in the room).
    Edit(Edit),
    /// Send the input line to the chat (Enter while typing).
    Send,
    /// Stop typing in the chat (Esc while typing); the line is kept.
    StopTyping,
    /// The chat connection of a room reports.
    Chat {
        /// The room ([`Room::id`](super::room::Room::id)) whose connection this is.
        room: u64,
        /// What happened.
        event: ChatEvent,
    },
    /// A poll of the room's stream facts finished.
    StreamLoaded {
        /// The room that asked.
        room: u64,
        /// The facts, or the error in words.
        result: Result<StreamStatus, String>,
    },
    /// The player of a room reports.
    Player {
        /// The room.
        room: u64,
        /// The player run ([`Room::player_run`](super::room::Room::player_run)) it is about.
        run: u64,
        /// What happened.
        update: PlayerUpdate,
    },
    /// The clock moved on (once a second): uptime, retries.
    Tick(OffsetDateTime),
    /// The signed-in account arrived (or why it did not).
    MeLoaded(Result<Account, String>),
    /// Open the sign-in / sign-up form.
    SignIn,
    /// The saved session was refused (expired or signed out elsewhere).
    SessionExpired,
    /// A key for the sign-in form.
    Form(FormKey),
    /// A sign-in or sign-up finished (the session is saved by then).
    SignedIn(Result<SignedInAs, String>),
    /// The monetization channel reports.
    Monetization(MonetizationUpdate),
    /// Show the wallet (loading it afresh).
    Wallet,
    /// A page of the wallet arrived.
    WalletPageLoaded {
        /// It continues the loaded history (else it replaces it).
        more: bool,
        /// The page, or the error in words.
        result: Result<Wallet, String>,
    },
    /// Open the top-up dialog (on the wallet screen).
    TopUp,
    /// An edit of the top-up dialog's focused field.
    TopUpEdit(Edit),
    /// The top-up dialog's other field (Tab).
    TopUpNextField,
    /// The server answered a top-up request.
    ToppedUp {
        /// The request's idempotency key: an answer for a dialog since closed or changed
        /// does not change the dialog.
        idempotency_key: String,
        /// Credited at once (play money), or waiting for approval in the wallet; or refused.
        result: Result<TopUpStarted, TopUpRefusal>,
    },
    /// A top-up waiting for approval was asked about again (see [`Effect::FollowTopUp`]).
    TopUpChecked {
        /// The top-up asked about, as known before (its id tags the answer).
        asked: Box<TopUpStatus>,
        /// Where it stands now, or why that could not be learnt.
        result: Result<TopUpStatus, String>,
        /// Whether more answers follow (false once it is final or cannot be followed).
        more: bool,
    },
    /// Show "My gigs" (loading it afresh).
    MyGigs,
    /// The creator's gigs, earnings and recent entries arrived.
    CreatorLoaded(Result<CreatorData, String>),
    /// Show or hide the selected gig's stream key (on "My gigs").
    RevealKey,
    /// Pay the selected gig's earnings out now (on "My gigs").
    RequestPayout,
    /// The server answered a payout request.
    PayoutRequested {
        /// The gig it was asked for.
        gig: GigId,
        /// The payout (`requested`, or further along), or the refusal in words.
        result: Result<Payout, String>,
    },
    /// Change the selected gig's replay window to the next of
    /// [`REPLAY_STEPS`](super::my_gigs::REPLAY_STEPS) (on "My gigs").
    CycleReplayWindow,
    /// The server answered a change of a gig's replay window.
    ReplayWindowSet {
        /// The gig.
        gig: GigId,
        /// The hours asked for.
        hours: u32,
        /// The gig as it is now, or the refusal in words.
        result: Result<Gig, String>,
    },
    /// The payouts were asked about again (see [`Effect::FetchPayouts`]).
    PayoutsLoaded {
        /// The view of the payouts the check was asked for in; older answers are dropped.
        epoch: u64,
        /// The payouts, newest first, or why they could not be read.
        result: Result<Vec<Payout>, String>,
    },
    /// The tickets' gigs were looked at again (see [`Effect::WatchTickets`]).
    TicketsWatched(Result<Vec<MyTicket>, String>),
    /// Select this row of the list on screen (a mouse click).
    Select(usize),
    /// Show this category tab (a mouse click).
    SelectTab(usize),
}

/// Why a top-up request was refused or failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopUpRefusal {
    /// The dialog's field the server named (`amount`, `from`), if any.
    pub field: Option<TopUpField>,
    /// Why, in words (the server's detail when it names a field).
    pub reason: String,
}

/// What the monetization channel reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MonetizationUpdate {
    /// The state changed (or was sent again with a new total).
    Event(MonetizationEvent),
    /// The channel is down; it is opened again after a pause.
    Lost(String),
}

/// What a key does in the sign-in form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormKey {
    /// Edit the focused text field.
    Edit(Edit),
    /// The next row (Tab, Down).
    Next,
    /// The previous row (Shift-Tab, Up).
    Prev,
    /// Send the form (Enter).
    Submit,
    /// Close the form and browse without an account (Esc).
    Cancel,
    /// Switch between Sign in and Sign up, keeping what was typed (Ctrl-n).
    SwitchMode,
}

/// A session just opened.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedInAs {
    /// The server it is on.
    pub server: String,
    /// The account.
    pub account: Account,
    /// The session's bearer token.
    pub token: String,
}

impl std::fmt::Debug for SignedInAs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a credential: never let it reach a log.
        f.debug_struct("SignedInAs")
            .field("server", &self.server)
            .field("account", &self.account.handle)
            .finish_non_exhaustive()
    }
}

/// What a room's chat connection reports.
#[derive(Clone, Debug, PartialEq)]
pub enum ChatEvent {
    /// Entered the room (the server's `history` follows).
    Connected,
    /// A message from the server.
    Message(ServerMessage),
    /// The connection failed or broke; another attempt follows after a pause.
    Lost {
        /// Attempts since the last success.
        attempt: u32,
        /// What went wrong, in words.
        reason: String,
        /// Seconds until the next attempt.
        retry_in_s: u64,
    },
    /// The server refused entry for good (no ticket, unknown gig): no more attempts.
    Refused(String),
}

/// What a player run reports.
#[derive(Clone, Debug, PartialEq)]
pub enum PlayerUpdate {
    /// The player could not be opened at all (no playback URL for us, no display, no libmpv);
    /// trying again will not help.
    CannotOpen(String),
    /// The server granted the replay this run plays (before mpv opens it).
    Granted(Box<Replay>),
    /// The player's own report.
    Event(PlayerEvent),
}

/// Slow work for a background task; its outcome comes back as an [`Action`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// `GET /gigs` with this query; answers with [`Action::CatalogueLoaded`], or with
    /// [`Action::MoreLoaded`] when the query carries a cursor.
    FetchCatalogue {
        /// Tags the answer so a stale one can be recognised.
        request: u64,
        /// Filters of the request.
        query: GigListQuery,
    },
    /// `GET /me/tickets`; answers with [`Action::TicketsLoaded`].
    FetchTickets,
    /// `GET /wallet`; answers with [`Action::WalletLoaded`].
    FetchWallet,
    /// `POST /gigs/{id}/tickets`; answers with [`Action::TicketBought`].
    BuyTicket {
        /// The gig.
        gig: GigId,
        /// The same key for every retry of this purchase, so it happens at most once.
        idempotency_key: String,
    },
    /// `GET /me`; answers with [`Action::MeLoaded`].
    FetchMe,
    /// Connect to the gig's chat and poll its stream facts, until [`Effect::LeaveRoom`];
    /// answers with [`Action::Chat`] and [`Action::StreamLoaded`], again and again.
    JoinRoom {
        /// The room's id, tagging the answers.
        room: u64,
        /// The gig.
        gig: GigId,
    },
    /// Stop the room's connection and polling, and its player.
    LeaveRoom,
    /// Send a chat message in the current room.
    Say {
        /// The text.
        text: String,
    },
    /// Get a playback URL and open the player (closing any other); answers with
    /// [`Action::Player`].
    StartPlayer {
        /// The room.
        room: u64,
        /// The run, tagging its events.
        run: u64,
        /// The gig.
        gig: GigId,
        /// The window's title.
        title: String,
        /// Draw the video in the terminal instead of a window.
        in_terminal: bool,
        /// Play the gig's replay (`POST /gigs/{id}/replay`) from this many milliseconds in,
        /// instead of its live stream.
        replay_from_ms: Option<u64>,
    },
    /// Close the player.
    StopPlayer,
    /// Move the running player's position by this many seconds (a replay's).
    SeekPlayer(i32),
    /// Pause the running player, or play on.
    TogglePause,
    /// `GET /gigs/{id}/chat/history` for a replay's room; answers with
    /// [`Action::ReplayChatLoaded`].
    FetchReplayChat {
        /// The room, tagging the answer.
        room: u64,
        /// The gig.
        gig: GigId,
    },
    /// Sign in or up on the submission's server and save the session there; answers with
    /// [`Action::SignedIn`].
    Authenticate(Submission),
    /// From now on talk to the session's server with its token.
    UseSession(SignedInAs),
    /// `GET /wallet` from `cursor` (the newest page without one); answers with
    /// [`Action::WalletPageLoaded`].
    FetchWalletPage {
        /// Where the page starts.
        cursor: Option<String>,
    },
    /// `POST /wallet/topups`; answers with [`Action::ToppedUp`].
    TopUp {
        /// How much.
        amount: Money,
        /// The wallet address or payment pointer paying; `None` for play money.
        from: Option<String>,
        /// The same key for every retry of this top-up.
        idempotency_key: String,
    },
    /// Ask about this top-up every second until it is final (or cannot be followed); answers
    /// with [`Action::TopUpChecked`] whenever something changed.
    FollowTopUp(Box<TopUpStatus>),
    /// Open the page in the desktop's browser, when there is a desktop.
    OpenBrowser(String),
    /// Remember in the config that top-ups on `server` come from `wallet`.
    RememberTopUpWallet {
        /// The server's base URL.
        server: String,
        /// The wallet address.
        wallet: String,
    },
    /// `GET /me/gigs`, `GET /me/earnings`, `GET /me/payouts` and recent `GET /wallet` pages;
    /// answers with [`Action::CreatorLoaded`].
    FetchCreatorData,
    /// `POST /me/payouts` for the gig; answers with [`Action::PayoutRequested`].
    RequestPayout {
        /// The gig whose earnings to pay out.
        gig: GigId,
    },
    /// `PATCH /gigs/{id}` with a new `replay_hours`; answers with [`Action::ReplayWindowSet`].
    SetReplayWindow {
        /// The gig (one of the creator's).
        gig: GigId,
        /// Hours after the end, 0 (no replay) to
        /// [`REPLAY_HOURS_MAX`](bookmygig_api::limits::REPLAY_HOURS_MAX).
        hours: u32,
    },
    /// `GET /me/payouts`; answers with [`Action::PayoutsLoaded`].
    FetchPayouts {
        /// Tags the answer (see [`MyGigsView::payouts_epoch`](super::my_gigs::MyGigsView)).
        epoch: u64,
    },
    /// Hold the monetization channel open (again, with the current session), reopening it
    /// after losses; answers with [`Action::Monetization`].
    WatchMonetization,
    /// `GET /me/tickets` now and then (with the current session, replacing an earlier watch),
    /// so that a held gig going live is noticed; answers with [`Action::TicketsWatched`].
    WatchTickets,
    /// Tell the person at the terminal, outside the screen: a desktop notification where the
    /// terminal shows one, else the bell.
    Notify {
        /// What it is about.
        title: String,
        /// What happened.
        body: String,
    },
}
