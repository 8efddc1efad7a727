//! The storage contract of BookMyGig and its two backends.
//!
//! [`Store`] is the one contract: every method is a whole domain step that the backend makes
//! atomic (a ticket purchase checks capacity, balance and idempotency and books the ledger
//! transaction in one go), so the server holds no locks and several server processes can share
//! one Redis. [`EmbeddedStore`] keeps everything in one redb file; [`RedisStore`] in Redis,
//! where each step is a Lua script. Both pass the same conformance suite (`tests/`).
//!
//! Chat history is kept per gig and bounded (the caller says how many messages to keep), so a
//! restart, or another node, loses nothing that a room showed.
//!
//! Validation of what people type belongs to the server; this crate enforces only the
//! invariants that must hold under concurrency: unique handles, capacity, non-negative user
//! wallets, balanced transactions, one ticket per account and gig, idempotent retries.
//!
//! Payment records ([`PaymentRecord`]: top-ups from outside, payouts to creators) change only
//! by compare-and-set on their version, together with the ledger booking of each step, so a
//! state machine driven over them by several workers moves money exactly once.
//!
//! Platform settings ([`SettingRecord`]: named JSON documents the server keeps for itself,
//! such as its Open Payments grant) are shared by every node and change by compare-and-set on
//! their version too, so a node holding a stale copy never overwrites a newer one.
//!
//! Where things are:
//! - [`ledger`]: the double-entry ledger's accounts, transactions and entries, and its rules,
//!   in Rust (`ledger/rules.rs`, embedded) and in Lua (`ledger/ledger.lua`, Redis) side by side.
//! - [`backend`]: `embedded.rs` (redb tables, one write transaction per step) and `redis.rs`
//!   with its scripts in `backend/redis/` (one Lua file per step, after a shared prelude).
//! - [`record`], [`payment`], [`setting`]: what is stored; [`query`]: catalogue queries and
//!   their cursors; [`error`]: why a step was refused.

pub mod backend;
pub mod error;
pub mod ledger;
pub mod payment;
pub mod query;
pub mod record;
pub mod setting;

use async_trait::async_trait;
use bookmygig_api::{AccountId, GigId, MessageId, Money, Ticket};

pub use backend::embedded::EmbeddedStore;
pub use backend::redis::RedisStore;
pub use error::StoreError;
pub use ledger::{EntryRecord, LedgerAccount, Posting, Transaction};
pub use payment::{PaymentKind, PaymentRecord, PaymentState};
pub use query::{GigBounds, GigCursor, GigQuery, StatusFilter};
pub use record::{
    AccountRecord, Cancellation, ChatRecord, GigDetails, GigRecord, GigState, Purchase,
    PurchaseOutcome, SessionRecord, TokenHash,
};
pub use setting::{MAX_SETTING_NAME, MAX_SETTING_VALUE, SettingRecord, check_setting_name};

/// Result of every store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// How long an idempotency key is remembered: a retry within this time is answered with the
/// first outcome; [`Store::purge_expired`] (embedded) or a key TTL (Redis) forgets it after.
pub const IDEMPOTENCY_TTL: time::Duration = time::Duration::hours(24);

/// What one [`Store::purge_expired`] removed, for the log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    /// Expired sessions (and their index entries) removed.
    pub sessions: usize,
    /// Idempotency records older than [`IDEMPOTENCY_TTL`] removed.
    pub idempotency_records: usize,
}

/// Everything BookMyGig persists. Implementations are cheap to share (`Arc<dyn Store>`).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which backend this is, for logs and `/healthz`: `embedded` or `redis`.
    fn backend_name(&self) -> &'static str;

    /// Creates an account.
    ///
    /// # Errors
    /// [`StoreError::HandleTaken`] when the handle belongs to someone else.
    async fn create_account(&self, account: &AccountRecord) -> StoreResult<()>;

    /// The account with this id.
    async fn account(&self, id: AccountId) -> StoreResult<Option<AccountRecord>>;

    /// The account with this handle.
    async fn account_by_handle(&self, handle: &str) -> StoreResult<Option<AccountRecord>>;

    /// Stores a session under the hash of its token.
    async fn create_session(&self, session: &SessionRecord) -> StoreResult<()>;

    /// The session whose token hashes to `token_hash`, if it exists and has not expired at `now`.
    async fn session(
        &self,
        token_hash: &TokenHash,
        now: time::OffsetDateTime,
    ) -> StoreResult<Option<SessionRecord>>;

    /// Revokes a session; revoking a missing one is not an error.
    async fn delete_session(&self, token_hash: &TokenHash) -> StoreResult<()>;

    /// Revokes every session of `account` (sign out everywhere) and answers how many were
    /// live. Sessions created afterwards are not affected.
    async fn delete_sessions_of(&self, account: AccountId) -> StoreResult<usize>;

    /// Replaces an account's password hash and revokes every session of the account except
    /// `keep` (the one that asked), in one step; answers how many sessions were revoked.
    ///
    /// # Errors
    /// [`StoreError::AccountNotFound`] when there is no such account; nothing is written.
    async fn change_password(
        &self,
        account: AccountId,
        password_hash: &str,
        keep: &TokenHash,
    ) -> StoreResult<usize>;

    /// Removes what has expired at `now`: sessions past their `expires_at` and idempotency
    /// records older than [`IDEMPOTENCY_TTL`], so neither grows without bound. The server
    /// calls it periodically. Redis expires both by key TTLs, so there it only tidies the
    /// per-account session indexes.
    async fn purge_expired(&self, now: time::OffsetDateTime) -> StoreResult<Purged>;

    /// Registers a gig and books its listing fee (`listing_fee`, which must debit the creator)
    /// in one step.
    ///
    /// # Errors
    /// [`StoreError::InsufficientFunds`] when the creator cannot pay the fee; nothing is written.
    async fn create_gig(&self, gig: &GigRecord, listing_fee: &Transaction) -> StoreResult<()>;

    /// The gig with this id.
    async fn gig(&self, id: GigId) -> StoreResult<Option<GigRecord>>;

    /// The gig whose current stream key hashes to `key_hash`.
    async fn gig_by_stream_key(&self, key_hash: &TokenHash) -> StoreResult<Option<GigRecord>>;

    /// One page of the catalogue, ordered by start time then id, filtered by `query`.
    async fn list_gigs(&self, query: &GigQuery) -> StoreResult<Vec<GigRecord>>;

    /// Every gig a creator registered, newest first.
    async fn gigs_by_creator(&self, creator: AccountId) -> StoreResult<Vec<GigRecord>>;

    /// Replaces a gig's editable details.
    ///
    /// # Errors
    /// [`StoreError::GigNotFound`]; [`StoreError::GigClosed`] for a cancelled gig;
    /// [`StoreError::CapacityBelowSold`] when the new capacity is under the tickets sold.
    async fn update_gig(&self, id: GigId, details: &GigDetails) -> StoreResult<GigRecord>;

    /// Replaces a gig's stream key (the old one stops matching at once).
    async fn rotate_stream_key(
        &self,
        id: GigId,
        key: &str,
        key_hash: &TokenHash,
    ) -> StoreResult<GigRecord>;

    /// Sets a gig's live state (live/offline), as the stream hub sees its publisher.
    async fn set_gig_state(&self, id: GigId, state: GigState) -> StoreResult<GigRecord>;

    /// Cancels a gig and refunds every valid ticket in full, in one step. Cancelling a cancelled
    /// gig changes nothing and returns it.
    ///
    /// # Errors
    /// [`StoreError::InsufficientFunds`] when the creator's wallet cannot cover the refunds;
    /// nothing is written.
    async fn cancel_gig(&self, cancellation: &Cancellation) -> StoreResult<GigRecord>;

    /// Buys a ticket: checks that the gig is on sale, has a seat, that the buyer has no ticket
    /// yet and can pay; books buyer → creator (less commission → platform). A retry with the
    /// same idempotency key returns the first ticket and moves no money.
    async fn purchase_ticket(&self, purchase: &Purchase) -> StoreResult<PurchaseOutcome>;

    /// The holder's ticket for a gig, if any (valid or refunded).
    async fn ticket_for(&self, holder: AccountId, gig: GigId) -> StoreResult<Option<Ticket>>;

    /// A holder's tickets, newest first.
    async fn tickets_of(&self, holder: AccountId) -> StoreResult<Vec<Ticket>>;

    /// Every ticket of a gig, oldest first.
    async fn tickets_of_gig(&self, gig: GigId) -> StoreResult<Vec<Ticket>>;

    /// Books a balanced transaction. With an idempotency key (scoped to `owner`), a retry
    /// returns the entries of the first booking and moves no money.
    ///
    /// # Errors
    /// [`StoreError::Unbalanced`] when postings do not sum to zero;
    /// [`StoreError::InsufficientFunds`] when a user wallet would go below zero.
    async fn post(
        &self,
        transaction: &Transaction,
        idempotency: Option<(AccountId, &str)>,
    ) -> StoreResult<Vec<EntryRecord>>;

    /// The balance of a ledger account (zero if it never moved).
    async fn balance(&self, account: &LedgerAccount) -> StoreResult<Money>;

    /// A ledger account's entries, newest first, older than `before` (an entry `seq`).
    async fn entries(
        &self,
        account: &LedgerAccount,
        before: Option<u64>,
        limit: usize,
    ) -> StoreResult<Vec<EntryRecord>>;

    /// Every ledger account that ever moved, with its balance: the audit view whose sum is zero.
    async fn balances(&self) -> StoreResult<Vec<(LedgerAccount, Money)>>;

    /// Records a new exchange of money with the outside world and books `booking` with it, in
    /// one atomic step, so a payment and the money it moves are never written one without the
    /// other. Returns the record as stored: `version` is 1 whatever the caller set.
    ///
    /// With an `idempotency_key` that `record.owner` already used for a payment (of any
    /// state), that payment is returned unchanged and nothing is booked: a client's retry gets
    /// the first answer. These keys live as long as their payments (they are not forgotten
    /// after [`IDEMPOTENCY_TTL`]) and are apart from the keys of [`Store::post`] and
    /// [`Store::purchase_ticket`].
    ///
    /// # Errors
    /// [`StoreError::IdempotencyKeyReused`] when the key belongs to a payment of the other
    /// kind; [`StoreError::PaymentConflict`] when a payment with this id exists;
    /// [`StoreError::Unbalanced`] when the booking's postings do not sum to zero;
    /// [`StoreError::InsufficientFunds`] when the booking would take a user wallet below zero.
    /// On any error nothing is written, the record included.
    async fn create_payment(
        &self,
        record: &PaymentRecord,
        booking: Option<&Transaction>,
    ) -> StoreResult<PaymentRecord>;

    /// Moves a payment on, compare-and-set: `record.version` must be the stored version (the
    /// one the caller read) and the stored state not final. Saves `record`'s state, amount,
    /// times, attempts, details and error under the next version, and books `booking` in the
    /// same atomic step, so of two workers updating from the same version exactly one wins
    /// and the money moves once. The id, owner, kind, `created_at` and idempotency key are
    /// those stored (they never change). Returns the record as stored.
    ///
    /// # Errors
    /// [`StoreError::PaymentConflict`] when there is no such payment, its version is not
    /// `record.version` or it is final; [`StoreError::Unbalanced`] and
    /// [`StoreError::InsufficientFunds`] as for [`Store::post`]. On any error nothing is
    /// written.
    async fn update_payment(
        &self,
        record: &PaymentRecord,
        booking: Option<&Transaction>,
    ) -> StoreResult<PaymentRecord>;

    /// The payment with this id.
    async fn payment(&self, id: uuid::Uuid) -> StoreResult<Option<PaymentRecord>>;

    /// An owner's payments of one kind, newest first (by id: UUIDv7 sorts by creation
    /// time), at most `limit`.
    async fn payments_of(
        &self,
        owner: AccountId,
        kind: PaymentKind,
        limit: usize,
    ) -> StoreResult<Vec<PaymentRecord>>;

    /// Every payment not in a final state, of every owner, earliest `next_attempt_at` first
    /// (ties by id), at most `limit`: what workers resume after a restart and poll for.
    async fn unfinished_payments(&self, limit: usize) -> StoreResult<Vec<PaymentRecord>>;

    /// Appends a message to its gig's chat history, then forgets the oldest messages beyond
    /// the newest `keep`, in one step.
    async fn append_chat(&self, record: &ChatRecord, keep: usize) -> StoreResult<()>;

    /// The newest `limit` messages of a gig's chat, oldest first (in id order).
    async fn chat_history(&self, gig: GigId, limit: usize) -> StoreResult<Vec<ChatRecord>>;

    /// Removes a message from a gig's chat history and returns it; `None` when there was no
    /// such message (already deleted, trimmed away, or of another gig).
    async fn delete_chat(&self, gig: GigId, id: MessageId) -> StoreResult<Option<ChatRecord>>;

    /// Bans `account` from a gig's chat, or lifts the ban (`banned: false`). Either is
    /// idempotent.
    async fn set_chat_ban(&self, gig: GigId, account: AccountId, banned: bool) -> StoreResult<()>;

    /// Whether `account` is banned from a gig's chat.
    async fn is_chat_banned(&self, gig: GigId, account: AccountId) -> StoreResult<bool>;

    /// The platform setting called `name`, if there is one.
    ///
    /// # Errors
    /// [`StoreError::InvalidName`] when `name` is not 1 to 64 characters of `a-z0-9._-`.
    async fn setting(&self, name: &str) -> StoreResult<Option<SettingRecord>>;

    /// Writes the platform setting called `name`, compare-and-set, so that of several nodes
    /// writing from the same version (say, each rotating an expired token) exactly one wins
    /// and a writer holding a stale copy never overwrites a newer one. With
    /// `expected_version: None` it creates the setting, which must not exist yet, at version
    /// 1; with `Some(v)` it replaces one whose stored version is `v`, under version `v + 1`.
    /// `now` becomes its `updated_at`. Returns the record as stored.
    ///
    /// # Errors
    /// [`StoreError::SettingConflict`] when the setting exists (create), or is missing or at
    /// another version (update): re-read it and decide again;
    /// [`StoreError::InvalidName`] when `name` is not 1 to 64 characters of `a-z0-9._-`;
    /// [`StoreError::TooLarge`] when `value` is over 64 KiB as JSON. On any error nothing is
    /// written.
    async fn put_setting(
        &self,
        name: &str,
        value: &serde_json::Value,
        expected_version: Option<u64>,
        now: time::OffsetDateTime,
    ) -> StoreResult<SettingRecord>;

    /// Removes the platform setting called `name` if its stored version is
    /// `expected_version`, so a node never deletes a setting another has just replaced. A
    /// later create starts again at version 1.
    ///
    /// # Errors
    /// [`StoreError::SettingConflict`] when there is no such setting or it is at another
    /// version (nothing is removed); [`StoreError::InvalidName`] as for [`Store::setting`].
    async fn delete_setting(&self, name: &str, expected_version: u64) -> StoreResult<()>;

    /// Makes everything acknowledged so far durable (called at shutdown).
    async fn flush(&self) -> StoreResult<()>;
}
