//! What can happen to the TUI ([`Action`]) and the slow work [`update`](super::update::update)
//! asks for in return ([`Effect`]). Actions come from keys (through the keymap) and from
//! background tasks reporting back; effects are carried out by tasks the event loop spawns.

use bookmygig_api::{Gig, GigId, Money, MyTicket, Page, Purchased};
use bookmygig_client::GigListQuery;

/// Everything that changes the [`State`](super::app::State): a key's meaning or a result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Move the selection up one row.
    Up,
    /// Move the selection down one row.
    Down,
    /// The next category tab.
    NextTab,
    /// The previous category tab.
    PrevTab,
    /// Start typing a search (`/`).
    StartSearch,
    /// A character typed into the search line.
    SearchInput(char),
    /// Delete the last character of the search line.
    SearchBackspace,
    /// Send the search to the server (Enter while searching).
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
}
