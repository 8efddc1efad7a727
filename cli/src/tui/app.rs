//! The TUI's whole state as a plain value: what [`update`](super::update::update) changes and
//! what [`draw`](super::ui::draw) reads. Nothing here does I/O, so any screen can be built in a
//! test.

use std::collections::{BTreeMap, BTreeSet};

use bookmygig_api::{Account, Category, Gig, GigId, Money, MyTicket};
use bookmygig_client::GigListQuery;
use chrono::{DateTime, FixedOffset, Local, TimeZone as _, Utc};
use time::OffsetDateTime;

use super::event::Keymap;
use super::my_gigs::MyGigsView;
use super::room::Room;
use super::sign_in::SignInForm;
use super::wallet::WalletView;

/// Which screen is in front.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    /// The list of gigs with the selected one's details beside it.
    Catalogue,
    /// One gig, full width.
    Gig,
    /// The signed-in account's tickets, with the selected one's gig beside them.
    Tickets,
    /// The live room of one gig: stream panel, chat, player.
    Room,
    /// The wallet: balance, history, top-up.
    Wallet,
    /// The creator's gigs with their stream keys and earnings.
    MyGigs,
}

/// The zone times are shown in: the machine's (following its rules for each date) or a fixed
/// offset, which keeps snapshot tests independent of the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zone {
    /// chrono's `Local` (reads `TZ` and `/etc/localtime`).
    Local,
    /// Always this offset.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "only snapshot tests pin the offset so far")
    )]
    Fixed(FixedOffset),
}

impl Zone {
    /// `at` in this zone, as `(date and time, offset)` text parts.
    fn parts(self, at: OffsetDateTime, format: &str) -> String {
        let nanos = at.unix_timestamp_nanos();
        let secs = i64::try_from(nanos.div_euclid(1_000_000_000)).unwrap_or_default();
        let utc = DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        match self {
            Zone::Local => Local
                .from_utc_datetime(&utc.naive_utc())
                .format(format)
                .to_string(),
            Zone::Fixed(offset) => offset
                .from_utc_datetime(&utc.naive_utc())
                .format(format)
                .to_string(),
        }
    }

    /// `Sat 2 May 2026`: the date a gig starts on.
    pub fn date(self, at: OffsetDateTime) -> String {
        self.parts(at, "%a %-d %b %Y")
    }

    /// `20:00–21:30 +02:00`, or with the end's date when it falls on another day.
    pub fn range(self, start: OffsetDateTime, end: OffsetDateTime) -> String {
        let (start_day, end_day) = (self.parts(start, "%F"), self.parts(end, "%F"));
        let end_format = if start_day == end_day {
            "%H:%M %:z"
        } else {
            "%a %-d %b %H:%M %:z"
        };
        format!(
            "{}–{}",
            self.parts(start, "%H:%M"),
            self.parts(end, end_format)
        )
    }

    /// `20:05`: the time of day, for chat lines.
    pub fn clock(self, at: OffsetDateTime) -> String {
        self.parts(at, "%H:%M")
    }

    /// `Tue 8 Dec 19:00`: a day and time within the year, for deadlines.
    pub fn day_time(self, at: OffsetDateTime) -> String {
        self.parts(at, "%a %-d %b %H:%M")
    }

    /// `May 02 20:00`: short, for list rows.
    pub fn short(self, at: OffsetDateTime) -> String {
        self.parts(at, "%b %d %H:%M")
    }
}

/// Where a purchase in the buy dialog is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuyPhase {
    /// Waiting for a yes.
    Confirm,
    /// The wallet could not cover the ticket: it is being topped up (in the top-up dialog, or
    /// waiting for approval in the holder's wallet), and the purchase follows once the money
    /// is added.
    ToppingUp,
    /// The request is under way.
    Buying,
    /// The server refused or could not be reached; `y` tries again with the same key.
    Failed(String),
    /// The ticket is bought.
    Bought,
}

/// The buy dialog: the gig, the wallet balance and how far the purchase got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuyDialog {
    /// The gig being bought (a copy, so a reloaded list does not change the dialog).
    pub gig: Gig,
    /// The wallet balance; `None` while it loads, or when it could not be read.
    pub balance: Option<Money>,
    /// Why the balance could not be read.
    pub balance_error: Option<String>,
    /// Where the purchase is.
    pub phase: BuyPhase,
    /// The purchase's idempotency key, kept for retries.
    pub idempotency_key: String,
}

impl BuyDialog {
    /// How much the wallet lacks for the ticket; `None` while the balance is unknown or covers
    /// it.
    pub fn shortfall(&self) -> Option<Money> {
        let balance = self.balance?;
        self.gig
            .price
            .checked_sub(balance)
            .filter(|short| *short > Money::ZERO)
    }
}

/// The TUI's state.
#[derive(Clone, Debug)]
pub struct State {
    /// The screen in front.
    pub screen: Screen,
    /// The gigs of the loaded catalogue page, in the server's order.
    pub gigs: Vec<Gig>,
    /// Index into [`State::visible`] of the selected row.
    pub selected: usize,
    /// 0 is "All", then one tab per [`Category::ALL`] entry.
    pub tab: usize,
    /// The search text: sent to the server as it is typed, once the typing pauses (the server's
    /// answer is the list: it matches typos and prefixes a substring filter here would hide).
    pub search: String,
    /// Keys go to the search line.
    pub searching: bool,
    /// The search text changed since it was last sent.
    pub search_pending: bool,
    /// When the pending search text is sent: set by the first tick after the last change, a
    /// [`SEARCH_DEBOUNCE`] later, so one request goes once the typing pauses.
    pub search_due: Option<OffsetDateTime>,
    /// A catalogue request is under way.
    pub loading: bool,
    /// The filters of the loaded listing (the search text may have changed since): the next
    /// page is asked for with these.
    pub listing: GigListQuery,
    /// The cursor of the next page of the current listing; `None` once all is loaded.
    pub next_cursor: Option<String>,
    /// The next page is being fetched.
    pub loading_more: bool,
    /// Why the last catalogue request failed, shown in place of the list.
    pub error: Option<String>,
    /// The last request sent; answers to older ones are stale.
    pub request: u64,
    /// A short message for the status line (what just happened).
    pub status: String,
    /// The signed-in account's tickets, as last loaded.
    pub tickets: Vec<MyTicket>,
    /// Index of the selected ticket.
    pub ticket_selected: usize,
    /// The tickets are being loaded.
    pub tickets_loading: bool,
    /// Why the tickets could not be loaded.
    pub tickets_error: Option<String>,
    /// The help overlay is open.
    pub help: bool,
    /// Mouse events are captured (scrolling moves the selection); off, the terminal selects
    /// text instead. The event loop makes the terminal follow this.
    pub mouse: bool,
    /// The buy dialog, when open.
    pub buy: Option<BuyDialog>,
    /// Unique to this run of the TUI: purchase idempotency keys are `{session}-{n}`.
    pub session: String,
    /// Purchases started in this run, numbering their keys.
    pub purchases: u64,
    /// The event loop should end.
    pub quit: bool,
    /// Where times are shown.
    pub zone: Zone,
    /// Colours are allowed (off when `NO_COLOR` is set).
    pub color: bool,
    /// The keys in force; the help overlay lists them.
    pub keymap: Keymap,
    /// The signed-in account, once known; `None` when signed out or not loaded yet.
    pub me: Option<Account>,
    /// Gigs the signed-in account holds a ticket for (from "My tickets" and purchases).
    pub held: BTreeSet<GigId>,
    /// Held gigs that went live.
    pub live: LiveNews,
    /// The live room, while one is open (it stays open behind the other screens).
    pub room: Option<Room>,
    /// Rooms entered in this run, numbering them.
    pub rooms: u64,
    /// The time now, as of the last tick: what uptimes are counted to.
    pub now: OffsetDateTime,
    /// The server's base URL.
    pub server: String,
    /// The sign-in form, while open.
    pub form: Option<SignInForm>,
    /// After a failed catalogue load: when it is tried again by itself.
    pub catalogue_retry: Option<Retry>,
    /// Where the monetization channel stands.
    pub monetization: Monetization,
    /// The wallet screen.
    pub wallet: WalletView,
    /// The "My gigs" screen.
    pub my_gigs: MyGigsView,
    /// Server base URL → the wallet address its last completed top-up came from (from the
    /// config): what the top-up dialog offers.
    pub topup_wallets: BTreeMap<String, String>,
    /// The player can open a window (there is a display, or it runs headless and needs none);
    /// without one the video is drawn in the terminal.
    pub display: bool,
}

/// The monetization channel as the status line shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Monetization {
    /// Not signed in: no channel.
    Off,
    /// Opening the channel.
    Connecting,
    /// The last state the server sent.
    State(bookmygig_api::MonetizationEvent),
    /// The channel is down and being reopened.
    Lost(String),
}

/// The gigs the account holds a ticket for that are live, for the status line and the
/// catalogue, and which of them were announced (once each per run).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveNews {
    /// Held gigs live now, as last seen, with their titles.
    pub live: BTreeMap<GigId, String>,
    /// Held gigs whose going live was announced in this run.
    pub announced: BTreeSet<GigId>,
    /// The tickets' gigs are being watched (with the current session).
    pub watching: bool,
}

/// A retry scheduled after failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    /// Failures in a row so far.
    pub attempt: u32,
    /// When to try again.
    pub at: OffsetDateTime,
}

impl State {
    /// A fresh state showing an empty catalogue; `session` must be unique to this run (it
    /// prefixes idempotency keys).
    pub fn new(zone: Zone, color: bool, keymap: Keymap, session: String) -> Self {
        Self {
            screen: Screen::Catalogue,
            gigs: Vec::new(),
            selected: 0,
            tab: 0,
            search: String::new(),
            searching: false,
            search_pending: false,
            search_due: None,
            loading: false,
            listing: GigListQuery::default(),
            next_cursor: None,
            loading_more: false,
            error: None,
            request: 0,
            status: String::new(),
            tickets: Vec::new(),
            ticket_selected: 0,
            tickets_loading: false,
            tickets_error: None,
            help: false,
            mouse: true,
            buy: None,
            session,
            purchases: 0,
            quit: false,
            zone,
            color,
            keymap,
            me: None,
            held: BTreeSet::new(),
            live: LiveNews::default(),
            room: None,
            rooms: 0,
            now: OffsetDateTime::UNIX_EPOCH,
            server: crate::settings::DEFAULT_SERVER.to_owned(),
            form: None,
            catalogue_retry: None,
            monetization: Monetization::Off,
            wallet: WalletView::default(),
            my_gigs: MyGigsView::default(),
            topup_wallets: BTreeMap::new(),
            display: true,
        }
    }

    /// Whether the signed-in account may enter `gig`'s room: it holds a ticket or is the
    /// creator.
    pub fn may_enter(&self, gig: &Gig) -> bool {
        self.held.contains(&gig.id) || self.me.as_ref().is_some_and(|me| me.id == gig.creator_id)
    }

    /// The category of the current tab; `None` on "All".
    pub fn category(&self) -> Option<Category> {
        self.tab
            .checked_sub(1)
            .and_then(|i| Category::ALL.get(i).copied())
    }

    /// The rows of the list: the loaded gigs, as the server answered. They are not filtered
    /// here: the server's search matches typos, prefixes and accents that a substring filter
    /// would hide, and the text typed since is sent as soon as the typing pauses.
    pub fn visible(&self) -> Vec<&Gig> {
        self.gigs.iter().collect()
    }

    /// The selected gig, if any row is visible.
    pub fn selected_gig(&self) -> Option<&Gig> {
        self.visible().get(self.selected).copied()
    }
}

/// How long the search line waits after the last key before sending the text.
pub const SEARCH_DEBOUNCE: time::Duration = time::Duration::milliseconds(250);

/// Tabs in order: "All" then the categories.
pub const TAB_COUNT: usize = Category::ALL.len() + 1;

#[cfg(test)]
impl State {
    /// A state for tests: the given zone, colour on, the default keymap, session `test`.
    pub fn for_tests(zone: Zone) -> Self {
        Self::new(zone, true, Keymap::default(), "test".to_owned())
    }
}
