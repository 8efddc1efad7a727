//! Embedded backend: one redb file under the server's data directory.
//!
//! redb is a pure-Rust, ACID, copy-on-write B-tree store: nothing to install or run, one file
//! to back up, and every commit is fsynced before it is acknowledged, so a crash loses nothing
//! that was answered. redb allows one writer at a time, which makes each compound step (a
//! purchase with its capacity, balance and idempotency checks) trivially atomic; reads run
//! concurrently on snapshots. Calls run on tokio's blocking pool.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use bookmygig_api::{
    AccountId, EntryKind, GigId, MessageId, Money, Ticket, TicketId, TicketStatus, TransactionId,
};
use redb::{
    Database, ReadTransaction, ReadableTable, ReadableTableMetadata, TableDefinition,
    WriteTransaction,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ledger::rules;
use crate::query::unix_micros;
use crate::setting::{check_setting_name, encode_setting_value, next_setting_version};
use crate::{
    AccountRecord, Cancellation, ChatRecord, EntryRecord, GigDetails, GigQuery, GigRecord,
    GigState, LedgerAccount, PaymentKind, PaymentRecord, Posting, Purchase, PurchaseOutcome,
    Purged, SessionRecord, SettingRecord, Store, StoreError, StoreResult, TokenHash, Transaction,
};

/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "bookmygig.redb";

const ACCOUNTS: TableDefinition<u128, &[u8]> = TableDefinition::new("accounts");
const HANDLES: TableDefinition<&str, u128> = TableDefinition::new("handles");
const SESSIONS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("sessions");
/// Sessions by (account, token hash) → expiry (unix µs): sign out everywhere, password change.
const ACCOUNT_SESSIONS: TableDefinition<(u128, [u8; 32]), i64> =
    TableDefinition::new("account_sessions");
/// Sessions by (expiry in unix µs, token hash) → account: the purge reads the expired ones.
const SESSION_EXPIRY: TableDefinition<(i64, [u8; 32]), u128> =
    TableDefinition::new("session_expiry");
const GIGS: TableDefinition<u128, &[u8]> = TableDefinition::new("gigs");
const GIGS_BY_START: TableDefinition<(i64, u128), ()> = TableDefinition::new("gigs_by_start");
const GIGS_BY_CREATOR: TableDefinition<(u128, u128), ()> = TableDefinition::new("gigs_by_creator");
const STREAM_KEYS: TableDefinition<[u8; 32], u128> = TableDefinition::new("stream_keys");
const TICKETS: TableDefinition<u128, &[u8]> = TableDefinition::new("tickets");
const HOLDER_TICKETS: TableDefinition<(u128, u128), u128> = TableDefinition::new("holder_tickets");
const GIG_TICKETS: TableDefinition<(u128, u128), ()> = TableDefinition::new("gig_tickets");
const IDEMPOTENCY: TableDefinition<(u128, &str), &[u8]> = TableDefinition::new("idempotency");
/// Idempotency records by (when remembered in unix µs, owner, key): the purge reads the old ones.
const IDEMPOTENCY_AT: TableDefinition<(i64, u128, &str), ()> =
    TableDefinition::new("idempotency_at");
const BALANCES: TableDefinition<&str, i64> = TableDefinition::new("balances");
const ENTRIES: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("entries");
const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters");
/// Chat messages by (gig, message id): UUIDv7 ids keep each gig's messages in sending order.
const CHAT: TableDefinition<(u128, u128), &[u8]> = TableDefinition::new("chat");
/// Messages kept per gig, so trimming the history needs no count of it.
const CHAT_COUNTS: TableDefinition<u128, u64> = TableDefinition::new("chat_counts");
/// Chat bans by (gig, account).
const CHAT_BANS: TableDefinition<(u128, u128), ()> = TableDefinition::new("chat_bans");
/// Payment records by id, as JSON.
const PAYMENTS: TableDefinition<u128, &[u8]> = TableDefinition::new("payments");
/// Payment idempotency keys: (owner, key) → payment id. Apart from `idempotency` (the keys of
/// `post` and `purchase_ticket`) and never purged: a key lives as long as its payment.
const PAYMENT_KEYS: TableDefinition<(u128, &str), u128> = TableDefinition::new("payment_keys");
/// Payments by (owner, kind, id): UUIDv7 ids keep each owner's payments in creation order.
const PAYMENTS_BY_OWNER: TableDefinition<(u128, u8, u128), ()> =
    TableDefinition::new("payments_by_owner");
/// Payments not in a final state by (next attempt in unix µs, id): what workers resume.
const PAYMENTS_UNFINISHED: TableDefinition<(i64, u128), ()> =
    TableDefinition::new("payments_unfinished");

/// Platform settings by name, as [`SettingRecord`] JSON.
const SETTINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("settings");

const LEDGER_SEQ: &str = "ledger_seq";

/// Most rows one purge transaction removes, so a purge never holds the writer for long.
const PURGE_BATCH: usize = 1_000;

/// The [`Store`] on a redb file.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
}

/// A ticket as stored: the split of its price is kept so a refund returns exactly what moved.
#[derive(Serialize, Deserialize)]
struct StoredTicket {
    ticket: Ticket,
    creator_share: Money,
    commission: Money,
}

/// What an idempotency key remembers.
#[derive(Serialize, Deserialize)]
enum Remembered {
    Purchase {
        gig_id: GigId,
        ticket_id: TicketId,
    },
    Post {
        transaction_id: TransactionId,
        entries: Vec<EntryRecord>,
    },
}

impl EmbeddedStore {
    /// Opens (or creates) the database in `data_dir`, creating the directory if needed.
    ///
    /// # Errors
    /// When the directory or file cannot be created or the file is not a redb database.
    pub fn open(data_dir: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(data_dir).map_err(StoreError::backend)?;
        let db = Database::create(data_dir.join(DATABASE_FILE)).map_err(StoreError::backend)?;
        let store = EmbeddedStore { db: Arc::new(db) };
        store.create_tables()?;
        Ok(store)
    }

    /// Creates every table once, so read transactions never meet a missing one.
    fn create_tables(&self) -> StoreResult<()> {
        let tx = self.db.begin_write().map_err(StoreError::backend)?;
        tx.open_table(ACCOUNTS).map_err(StoreError::backend)?;
        tx.open_table(HANDLES).map_err(StoreError::backend)?;
        tx.open_table(SESSIONS).map_err(StoreError::backend)?;
        tx.open_table(GIGS).map_err(StoreError::backend)?;
        tx.open_table(GIGS_BY_START).map_err(StoreError::backend)?;
        tx.open_table(GIGS_BY_CREATOR)
            .map_err(StoreError::backend)?;
        tx.open_table(STREAM_KEYS).map_err(StoreError::backend)?;
        tx.open_table(TICKETS).map_err(StoreError::backend)?;
        tx.open_table(HOLDER_TICKETS).map_err(StoreError::backend)?;
        tx.open_table(GIG_TICKETS).map_err(StoreError::backend)?;
        tx.open_table(IDEMPOTENCY).map_err(StoreError::backend)?;
        tx.open_table(BALANCES).map_err(StoreError::backend)?;
        tx.open_table(ENTRIES).map_err(StoreError::backend)?;
        tx.open_table(COUNTERS).map_err(StoreError::backend)?;
        tx.open_table(CHAT).map_err(StoreError::backend)?;
        tx.open_table(CHAT_COUNTS).map_err(StoreError::backend)?;
        tx.open_table(CHAT_BANS).map_err(StoreError::backend)?;
        tx.open_table(PAYMENTS).map_err(StoreError::backend)?;
        tx.open_table(PAYMENT_KEYS).map_err(StoreError::backend)?;
        tx.open_table(PAYMENTS_BY_OWNER)
            .map_err(StoreError::backend)?;
        tx.open_table(PAYMENTS_UNFINISHED)
            .map_err(StoreError::backend)?;
        tx.open_table(SETTINGS).map_err(StoreError::backend)?;
        index_older_records(&tx)?;
        tx.commit().map_err(StoreError::backend)
    }

    /// Runs `f` in a read transaction on the blocking pool.
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTransaction) -> StoreResult<T> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || {
            let tx = db.begin_read().map_err(StoreError::backend)?;
            f(&tx)
        })
        .await
        .map_err(StoreError::backend)?
    }

    /// Runs `f` in a write transaction on the blocking pool; commits only when `f` succeeds,
    /// so a refused step leaves nothing half-written.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> StoreResult<T> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || {
            let tx = db.begin_write().map_err(StoreError::backend)?;
            let value = f(&tx)?;
            tx.commit().map_err(StoreError::backend)?;
            Ok(value)
        })
        .await
        .map_err(StoreError::backend)?
    }
}

/// Indexes the sessions and idempotency records of a database written before their indexes
/// existed (the indexes are empty and the tables are not), so sign-out-everywhere and the
/// purge reach them too. Old idempotency records count as remembered now.
fn index_older_records(tx: &WriteTransaction) -> StoreResult<()> {
    let mut by_account = tx
        .open_table(ACCOUNT_SESSIONS)
        .map_err(StoreError::backend)?;
    let mut by_expiry = tx.open_table(SESSION_EXPIRY).map_err(StoreError::backend)?;
    if by_account.is_empty().map_err(StoreError::backend)? {
        let sessions = tx.open_table(SESSIONS).map_err(StoreError::backend)?;
        for item in sessions.iter().map_err(StoreError::backend)? {
            let (_, value) = item.map_err(StoreError::backend)?;
            let session: SessionRecord = decode(value.value())?;
            index_session(&mut by_account, &mut by_expiry, &session)?;
        }
    }
    let mut remembered_at = tx.open_table(IDEMPOTENCY_AT).map_err(StoreError::backend)?;
    if remembered_at.is_empty().map_err(StoreError::backend)? {
        let now = unix_micros(OffsetDateTime::now_utc());
        let records = tx.open_table(IDEMPOTENCY).map_err(StoreError::backend)?;
        for item in records.iter().map_err(StoreError::backend)? {
            let (key, _) = item.map_err(StoreError::backend)?;
            let (owner, key) = key.value();
            remembered_at
                .insert((now, owner, key), ())
                .map_err(StoreError::backend)?;
        }
    }
    Ok(())
}

type AccountSessions<'tx> = redb::Table<'tx, (u128, [u8; 32]), i64>;
type SessionExpiry<'tx> = redb::Table<'tx, (i64, [u8; 32]), u128>;

fn index_session(
    by_account: &mut AccountSessions<'_>,
    by_expiry: &mut SessionExpiry<'_>,
    session: &SessionRecord,
) -> StoreResult<()> {
    let account = id128(session.account_id.as_bytes());
    let expires = unix_micros(session.expires_at);
    by_account
        .insert((account, session.token_hash.0), expires)
        .map_err(StoreError::backend)?;
    by_expiry
        .insert((expires, session.token_hash.0), account)
        .map_err(StoreError::backend)?;
    Ok(())
}

/// Removes one session and its index entries; answers whether it existed.
fn remove_session(tx: &WriteTransaction, hash: [u8; 32]) -> StoreResult<bool> {
    let removed = tx
        .open_table(SESSIONS)
        .map_err(StoreError::backend)?
        .remove(hash)
        .map_err(StoreError::backend)?
        .map(|g| decode::<SessionRecord>(g.value()))
        .transpose()?;
    let Some(session) = removed else {
        return Ok(false);
    };
    let account = id128(session.account_id.as_bytes());
    tx.open_table(ACCOUNT_SESSIONS)
        .map_err(StoreError::backend)?
        .remove((account, hash))
        .map_err(StoreError::backend)?;
    tx.open_table(SESSION_EXPIRY)
        .map_err(StoreError::backend)?
        .remove((unix_micros(session.expires_at), hash))
        .map_err(StoreError::backend)?;
    Ok(true)
}

/// Revokes every session of `account` but `keep`; answers how many.
fn remove_sessions_of(
    tx: &WriteTransaction,
    account: AccountId,
    keep: Option<[u8; 32]>,
) -> StoreResult<usize> {
    let account = id128(account.as_bytes());
    let hashes: Vec<[u8; 32]> = {
        let by_account = tx
            .open_table(ACCOUNT_SESSIONS)
            .map_err(StoreError::backend)?;
        by_account
            .range((account, [0u8; 32])..=(account, [u8::MAX; 32]))
            .map_err(StoreError::backend)?
            .map(|item| item.map(|(k, _)| k.value().1).map_err(StoreError::backend))
            .collect::<StoreResult<_>>()?
    };
    let mut removed = 0;
    for hash in hashes.into_iter().filter(|hash| Some(*hash) != keep) {
        if remove_session(tx, hash)? {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Removes up to [`PURGE_BATCH`] sessions that expired at `now`; answers how many.
fn purge_sessions_in(tx: &WriteTransaction, now: i64) -> StoreResult<usize> {
    let expired: Vec<(i64, [u8; 32])> = {
        let by_expiry = tx.open_table(SESSION_EXPIRY).map_err(StoreError::backend)?;
        by_expiry
            .range(..=(now, [u8::MAX; 32]))
            .map_err(StoreError::backend)?
            .take(PURGE_BATCH)
            .map(|item| item.map(|(k, _)| k.value()).map_err(StoreError::backend))
            .collect::<StoreResult<_>>()?
    };
    for (at, hash) in &expired {
        remove_session(tx, *hash)?;
        // Gone with the session; removed here too in case the session was not there.
        tx.open_table(SESSION_EXPIRY)
            .map_err(StoreError::backend)?
            .remove((*at, *hash))
            .map_err(StoreError::backend)?;
    }
    Ok(expired.len())
}

/// Removes up to [`PURGE_BATCH`] idempotency records remembered before `before`; answers how
/// many.
fn purge_idempotency_in(tx: &WriteTransaction, before: i64) -> StoreResult<usize> {
    let old: Vec<(i64, u128, String)> = {
        let remembered_at = tx.open_table(IDEMPOTENCY_AT).map_err(StoreError::backend)?;
        remembered_at
            .range(..(before, 0u128, ""))
            .map_err(StoreError::backend)?
            .take(PURGE_BATCH)
            .map(|item| {
                item.map(|(k, _)| {
                    let (at, owner, key) = k.value();
                    (at, owner, key.to_owned())
                })
                .map_err(StoreError::backend)
            })
            .collect::<StoreResult<_>>()?
    };
    let mut records = tx.open_table(IDEMPOTENCY).map_err(StoreError::backend)?;
    let mut remembered_at = tx.open_table(IDEMPOTENCY_AT).map_err(StoreError::backend)?;
    for (at, owner, key) in &old {
        records
            .remove((*owner, key.as_str()))
            .map_err(StoreError::backend)?;
        remembered_at
            .remove((*at, *owner, key.as_str()))
            .map_err(StoreError::backend)?;
    }
    Ok(old.len())
}

fn encode<T: Serialize>(value: &T) -> StoreResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(StoreError::backend)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(bytes).map_err(StoreError::backend)
}

fn id128(bytes: &[u8; 16]) -> u128 {
    u128::from_be_bytes(*bytes)
}

/// Reads and decodes one JSON value from any table keyed by `K`.
fn load<K, T>(
    table: &impl ReadableTable<K, &'static [u8]>,
    key: K::SelfType<'_>,
) -> StoreResult<Option<T>>
where
    K: redb::Key + 'static,
    T: DeserializeOwned,
{
    match table.get(key).map_err(StoreError::backend)? {
        Some(guard) => decode(guard.value()).map(Some),
        None => Ok(None),
    }
}

fn load_gig(tx: &WriteTransaction, id: GigId) -> StoreResult<GigRecord> {
    let gigs = tx.open_table(GIGS).map_err(StoreError::backend)?;
    load(&gigs, id128(id.as_bytes()))?.ok_or(StoreError::GigNotFound)
}

fn save_gig(tx: &WriteTransaction, gig: &GigRecord) -> StoreResult<()> {
    let mut gigs = tx.open_table(GIGS).map_err(StoreError::backend)?;
    gigs.insert(id128(gig.id.as_bytes()), encode(gig)?.as_slice())
        .map_err(StoreError::backend)?;
    Ok(())
}

fn load_ticket(tx: &WriteTransaction, id: u128) -> StoreResult<StoredTicket> {
    let tickets = tx.open_table(TICKETS).map_err(StoreError::backend)?;
    load(&tickets, id)?.ok_or_else(|| StoreError::backend("ticket index points nowhere"))
}

fn save_ticket(tx: &WriteTransaction, stored: &StoredTicket) -> StoreResult<()> {
    let mut tickets = tx.open_table(TICKETS).map_err(StoreError::backend)?;
    tickets
        .insert(
            id128(stored.ticket.id.as_bytes()),
            encode(stored)?.as_slice(),
        )
        .map_err(StoreError::backend)?;
    Ok(())
}

fn balance_in(tx: &WriteTransaction, account: &LedgerAccount) -> StoreResult<Money> {
    let balances = tx.open_table(BALANCES).map_err(StoreError::backend)?;
    let value = balances
        .get(account.to_string().as_str())
        .map_err(StoreError::backend)?
        .map_or(0, |g| g.value());
    Ok(Money(value))
}

/// Books `transaction` inside `tx`: checks balance, floors, then writes balances and entries.
fn apply(tx: &WriteTransaction, transaction: &Transaction) -> StoreResult<Vec<EntryRecord>> {
    let planned = rules::plan(transaction, |account| balance_in(tx, account))?;
    let mut counters = tx.open_table(COUNTERS).map_err(StoreError::backend)?;
    let mut balances = tx.open_table(BALANCES).map_err(StoreError::backend)?;
    let mut entries = tx.open_table(ENTRIES).map_err(StoreError::backend)?;
    let mut seq = counters
        .get(LEDGER_SEQ)
        .map_err(StoreError::backend)?
        .map_or(0, |g| g.value());
    let mut written = Vec::with_capacity(planned.len());
    for rules::PlannedPosting {
        posting,
        balance_after,
    } in planned
    {
        seq += 1;
        let account = posting.account.to_string();
        let record = EntryRecord {
            seq,
            entry: transaction.entry(posting, balance_after),
        };
        entries
            .insert((account.as_str(), seq), encode(&record)?.as_slice())
            .map_err(StoreError::backend)?;
        balances
            .insert(account.as_str(), balance_after.0)
            .map_err(StoreError::backend)?;
        written.push(record);
    }
    counters
        .insert(LEDGER_SEQ, seq)
        .map_err(StoreError::backend)?;
    Ok(written)
}

fn take_remembered(
    tx: &WriteTransaction,
    owner: AccountId,
    key: &str,
) -> StoreResult<Option<Remembered>> {
    let table = tx.open_table(IDEMPOTENCY).map_err(StoreError::backend)?;
    let value = table
        .get((id128(owner.as_bytes()), key))
        .map_err(StoreError::backend)?
        .map(|g| decode(g.value()));
    value.transpose()
}

fn remember(
    tx: &WriteTransaction,
    owner: AccountId,
    key: &str,
    what: &Remembered,
) -> StoreResult<()> {
    let mut table = tx.open_table(IDEMPOTENCY).map_err(StoreError::backend)?;
    table
        .insert((id128(owner.as_bytes()), key), encode(what)?.as_slice())
        .map_err(StoreError::backend)?;
    let now = unix_micros(OffsetDateTime::now_utc());
    tx.open_table(IDEMPOTENCY_AT)
        .map_err(StoreError::backend)?
        .insert((now, id128(owner.as_bytes()), key), ())
        .map_err(StoreError::backend)?;
    Ok(())
}

fn purchase_in(tx: &WriteTransaction, p: &Purchase) -> StoreResult<PurchaseOutcome> {
    if let Some(remembered) = take_remembered(tx, p.buyer, &p.idempotency_key)? {
        return match remembered {
            Remembered::Purchase { gig_id, ticket_id } if gig_id == p.gig_id => {
                let stored = load_ticket(tx, id128(ticket_id.as_bytes()))?;
                Ok(PurchaseOutcome {
                    ticket: stored.ticket,
                    replayed: true,
                })
            }
            _ => Err(StoreError::IdempotencyKeyReused),
        };
    }
    let mut gig = load_gig(tx, p.gig_id)?;
    if gig.creator_id == p.buyer {
        return Err(StoreError::OwnGig);
    }
    if gig.state == GigState::Cancelled || p.at >= gig.details.ends_at {
        return Err(StoreError::GigClosed);
    }
    let holder_key = (id128(p.buyer.as_bytes()), id128(p.gig_id.as_bytes()));
    {
        let holders = tx.open_table(HOLDER_TICKETS).map_err(StoreError::backend)?;
        let existing = holders
            .get(holder_key)
            .map_err(StoreError::backend)?
            .map(|g| g.value());
        if let Some(ticket_id) = existing {
            drop(holders);
            let stored = load_ticket(tx, ticket_id)?;
            return Err(StoreError::AlreadyHolder(Box::new(stored.ticket)));
        }
    }
    if gig.seats_left() == Some(0) {
        return Err(StoreError::SoldOut);
    }
    let price = gig.details.price;
    let commission = price.basis_points(p.commission_bps);
    let creator_share = Money(price.0 - commission.0);
    let transaction = Transaction {
        id: p.transaction_id,
        kind: EntryKind::TicketSale,
        postings: vec![
            Posting {
                account: LedgerAccount::User(p.buyer),
                amount: Money(-price.0),
            },
            Posting {
                account: LedgerAccount::User(gig.creator_id),
                amount: creator_share,
            },
            Posting {
                account: LedgerAccount::PlatformRevenue,
                amount: commission,
            },
        ],
        memo: format!("Ticket: {}", gig.details.title),
        gig_id: Some(gig.id),
        at: p.at,
    };
    apply(tx, &transaction)?;
    let ticket = Ticket {
        id: p.ticket_id,
        gig_id: p.gig_id,
        holder_id: p.buyer,
        price,
        purchased_at: p.at,
        status: TicketStatus::Valid,
    };
    save_ticket(
        tx,
        &StoredTicket {
            ticket: ticket.clone(),
            creator_share,
            commission,
        },
    )?;
    let ticket_key = id128(p.ticket_id.as_bytes());
    tx.open_table(HOLDER_TICKETS)
        .map_err(StoreError::backend)?
        .insert(holder_key, ticket_key)
        .map_err(StoreError::backend)?;
    tx.open_table(GIG_TICKETS)
        .map_err(StoreError::backend)?
        .insert((id128(p.gig_id.as_bytes()), ticket_key), ())
        .map_err(StoreError::backend)?;
    gig.tickets_sold += 1;
    save_gig(tx, &gig)?;
    remember(
        tx,
        p.buyer,
        &p.idempotency_key,
        &Remembered::Purchase {
            gig_id: p.gig_id,
            ticket_id: p.ticket_id,
        },
    )?;
    Ok(PurchaseOutcome {
        ticket,
        replayed: false,
    })
}

fn cancel_in(tx: &WriteTransaction, c: &Cancellation) -> StoreResult<GigRecord> {
    let mut gig = load_gig(tx, c.gig_id)?;
    if gig.state == GigState::Cancelled {
        return Ok(gig);
    }
    let ticket_ids: Vec<u128> = {
        let gig_key = id128(c.gig_id.as_bytes());
        let index = tx.open_table(GIG_TICKETS).map_err(StoreError::backend)?;
        let range = index
            .range((gig_key, 0u128)..=(gig_key, u128::MAX))
            .map_err(StoreError::backend)?;
        range
            .map(|item| item.map(|(k, _)| k.value().1).map_err(StoreError::backend))
            .collect::<StoreResult<_>>()?
    };
    let mut postings = Vec::new();
    let mut creator_total = Money::ZERO;
    let mut commission_total = Money::ZERO;
    let mut refunded = Vec::new();
    for id in ticket_ids {
        let mut stored = load_ticket(tx, id)?;
        if stored.ticket.status != TicketStatus::Valid {
            continue;
        }
        creator_total = Money(creator_total.0 + stored.creator_share.0);
        commission_total = Money(commission_total.0 + stored.commission.0);
        postings.push(Posting {
            account: LedgerAccount::User(stored.ticket.holder_id),
            amount: stored.ticket.price,
        });
        stored.ticket.status = TicketStatus::Refunded;
        refunded.push(stored);
    }
    if !refunded.is_empty() {
        let creator = LedgerAccount::User(gig.creator_id);
        let balance = balance_in(tx, &creator)?;
        if balance < creator_total {
            return Err(StoreError::InsufficientFunds {
                balance,
                needed: creator_total,
            });
        }
        postings.push(Posting {
            account: creator,
            amount: Money(-creator_total.0),
        });
        postings.push(Posting {
            account: LedgerAccount::PlatformRevenue,
            amount: Money(-commission_total.0),
        });
        apply(
            tx,
            &Transaction {
                id: c.transaction_id,
                kind: EntryKind::Refund,
                postings,
                memo: format!("Refund: {} (cancelled)", gig.details.title),
                gig_id: Some(gig.id),
                at: c.at,
            },
        )?;
        for stored in &refunded {
            save_ticket(tx, stored)?;
        }
    }
    gig.state = GigState::Cancelled;
    gig.tickets_sold = 0;
    save_gig(tx, &gig)?;
    Ok(gig)
}

/// Appends a chat message and trims its gig's history to the newest `keep`.
fn append_chat_in(tx: &WriteTransaction, record: &ChatRecord, keep: usize) -> StoreResult<()> {
    let gig = id128(record.gig_id.as_bytes());
    let mut chat = tx.open_table(CHAT).map_err(StoreError::backend)?;
    let mut counts = tx.open_table(CHAT_COUNTS).map_err(StoreError::backend)?;
    let mut count = counts
        .get(gig)
        .map_err(StoreError::backend)?
        .map_or(0, |g| g.value());
    let previous = chat
        .insert(
            (gig, id128(record.message.id.as_bytes())),
            encode(record)?.as_slice(),
        )
        .map_err(StoreError::backend)?;
    if previous.is_none() {
        count += 1;
    }
    drop(previous);
    let keep = u64::try_from(keep).unwrap_or(u64::MAX);
    while count > keep {
        let oldest = chat
            .range((gig, 0u128)..=(gig, u128::MAX))
            .map_err(StoreError::backend)?
            .next()
            .transpose()
            .map_err(StoreError::backend)?
            .map(|(k, _)| k.value());
        let Some(oldest) = oldest else { break };
        chat.remove(oldest).map_err(StoreError::backend)?;
        count -= 1;
    }
    counts.insert(gig, count).map_err(StoreError::backend)?;
    Ok(())
}

fn delete_chat_in(
    tx: &WriteTransaction,
    gig: GigId,
    id: MessageId,
) -> StoreResult<Option<ChatRecord>> {
    let gig = id128(gig.as_bytes());
    let mut chat = tx.open_table(CHAT).map_err(StoreError::backend)?;
    let removed = chat
        .remove((gig, id128(id.as_bytes())))
        .map_err(StoreError::backend)?
        .map(|g| decode::<ChatRecord>(g.value()))
        .transpose()?;
    if removed.is_some() {
        let mut counts = tx.open_table(CHAT_COUNTS).map_err(StoreError::backend)?;
        let count = counts
            .get(gig)
            .map_err(StoreError::backend)?
            .map_or(0, |g| g.value());
        counts
            .insert(gig, count.saturating_sub(1))
            .map_err(StoreError::backend)?;
    }
    Ok(removed)
}

/// The byte that stands for a payment kind in [`PAYMENTS_BY_OWNER`].
fn kind_byte(kind: PaymentKind) -> u8 {
    match kind {
        PaymentKind::TopUp => 0,
        PaymentKind::Payout => 1,
    }
}

fn load_payment(tx: &WriteTransaction, id: u128) -> StoreResult<Option<PaymentRecord>> {
    let payments = tx.open_table(PAYMENTS).map_err(StoreError::backend)?;
    load(&payments, id)
}

/// Writes `record` and keeps the unfinished index in step: `previous` (the stored record it
/// replaces, if any) leaves it, `record` enters it unless final.
fn save_payment(
    tx: &WriteTransaction,
    record: &PaymentRecord,
    previous: Option<&PaymentRecord>,
) -> StoreResult<()> {
    let id = id128(record.id.as_bytes());
    tx.open_table(PAYMENTS)
        .map_err(StoreError::backend)?
        .insert(id, encode(record)?.as_slice())
        .map_err(StoreError::backend)?;
    let mut unfinished = tx
        .open_table(PAYMENTS_UNFINISHED)
        .map_err(StoreError::backend)?;
    if let Some(previous) = previous {
        unfinished
            .remove((unix_micros(previous.next_attempt_at), id))
            .map_err(StoreError::backend)?;
    }
    if !record.state.is_final() {
        unfinished
            .insert((unix_micros(record.next_attempt_at), id), ())
            .map_err(StoreError::backend)?;
    }
    Ok(())
}

/// Creates a payment record and books `booking` with it (see [`Store::create_payment`]).
fn create_payment_in(
    tx: &WriteTransaction,
    record: &PaymentRecord,
    booking: Option<&Transaction>,
) -> StoreResult<PaymentRecord> {
    let owner = id128(record.owner.as_bytes());
    if let Some(key) = &record.idempotency_key {
        let known = {
            let keys = tx.open_table(PAYMENT_KEYS).map_err(StoreError::backend)?;
            keys.get((owner, key.as_str()))
                .map_err(StoreError::backend)?
                .map(|g| g.value())
        };
        if let Some(first) = known {
            let stored = load_payment(tx, first)?
                .ok_or_else(|| StoreError::backend("payment key points nowhere"))?;
            if stored.kind != record.kind {
                return Err(StoreError::IdempotencyKeyReused);
            }
            return Ok(stored);
        }
    }
    let id = id128(record.id.as_bytes());
    if load_payment(tx, id)?.is_some() {
        return Err(StoreError::PaymentConflict);
    }
    if let Some(booking) = booking {
        apply(tx, booking)?;
    }
    let stored = PaymentRecord {
        version: 1,
        ..record.clone()
    };
    save_payment(tx, &stored, None)?;
    tx.open_table(PAYMENTS_BY_OWNER)
        .map_err(StoreError::backend)?
        .insert((owner, kind_byte(stored.kind), id), ())
        .map_err(StoreError::backend)?;
    if let Some(key) = &stored.idempotency_key {
        tx.open_table(PAYMENT_KEYS)
            .map_err(StoreError::backend)?
            .insert((owner, key.as_str()), id)
            .map_err(StoreError::backend)?;
    }
    Ok(stored)
}

/// Moves a payment on by compare-and-set and books `booking` with it (see
/// [`Store::update_payment`]).
fn update_payment_in(
    tx: &WriteTransaction,
    record: &PaymentRecord,
    booking: Option<&Transaction>,
) -> StoreResult<PaymentRecord> {
    let stored =
        load_payment(tx, id128(record.id.as_bytes()))?.ok_or(StoreError::PaymentConflict)?;
    if stored.version != record.version || stored.state.is_final() {
        return Err(StoreError::PaymentConflict);
    }
    if let Some(booking) = booking {
        apply(tx, booking)?;
    }
    let version = stored
        .version
        .checked_add(1)
        .ok_or_else(|| StoreError::backend("payment version overflow"))?;
    let next = PaymentRecord {
        id: stored.id,
        owner: stored.owner,
        kind: stored.kind,
        created_at: stored.created_at,
        idempotency_key: stored.idempotency_key.clone(),
        version,
        ..record.clone()
    };
    save_payment(tx, &next, Some(&stored))?;
    Ok(next)
}

/// Writes a setting by compare-and-set (see [`Store::put_setting`]).
fn put_setting_in(
    tx: &WriteTransaction,
    name: &str,
    value: serde_json::Value,
    expected: Option<u64>,
    now: OffsetDateTime,
) -> StoreResult<SettingRecord> {
    let mut settings = tx.open_table(SETTINGS).map_err(StoreError::backend)?;
    let stored: Option<SettingRecord> = load(&settings, name)?;
    if stored.map(|s| s.version) != expected {
        return Err(StoreError::SettingConflict);
    }
    let record = SettingRecord {
        name: name.to_owned(),
        value,
        version: next_setting_version(expected)?,
        updated_at: now,
    };
    settings
        .insert(name, encode(&record)?.as_slice())
        .map_err(StoreError::backend)?;
    Ok(record)
}

/// Removes a setting by compare-and-set (see [`Store::delete_setting`]).
fn delete_setting_in(tx: &WriteTransaction, name: &str, expected: u64) -> StoreResult<()> {
    let mut settings = tx.open_table(SETTINGS).map_err(StoreError::backend)?;
    let stored: Option<SettingRecord> = load(&settings, name)?;
    if stored.map(|s| s.version) != Some(expected) {
        return Err(StoreError::SettingConflict);
    }
    settings.remove(name).map_err(StoreError::backend)?;
    Ok(())
}

/// Loads payments by id from a read transaction.
fn payments_from(tx: &ReadTransaction, ids: Vec<u128>) -> StoreResult<Vec<PaymentRecord>> {
    let payments = tx.open_table(PAYMENTS).map_err(StoreError::backend)?;
    ids.into_iter()
        .map(|id| {
            load(&payments, id)?.ok_or_else(|| StoreError::backend("payment index points nowhere"))
        })
        .collect()
}

fn tickets_from(tx: &ReadTransaction, ids: Vec<u128>) -> StoreResult<Vec<Ticket>> {
    let tickets = tx.open_table(TICKETS).map_err(StoreError::backend)?;
    ids.into_iter()
        .map(|id| {
            load::<u128, StoredTicket>(&tickets, id)?
                .map(|s| s.ticket)
                .ok_or_else(|| StoreError::backend("ticket index points nowhere"))
        })
        .collect()
}

#[async_trait]
impl Store for EmbeddedStore {
    fn backend_name(&self) -> &'static str {
        "embedded"
    }

    async fn create_account(&self, account: &AccountRecord) -> StoreResult<()> {
        let account = account.clone();
        self.write(move |tx| {
            let mut handles = tx.open_table(HANDLES).map_err(StoreError::backend)?;
            if handles
                .get(account.handle.as_str())
                .map_err(StoreError::backend)?
                .is_some()
            {
                return Err(StoreError::HandleTaken);
            }
            let id = id128(account.id.as_bytes());
            handles
                .insert(account.handle.as_str(), id)
                .map_err(StoreError::backend)?;
            tx.open_table(ACCOUNTS)
                .map_err(StoreError::backend)?
                .insert(id, encode(&account)?.as_slice())
                .map_err(StoreError::backend)?;
            Ok(())
        })
        .await
    }

    async fn account(&self, id: AccountId) -> StoreResult<Option<AccountRecord>> {
        self.read(move |tx| {
            let accounts = tx.open_table(ACCOUNTS).map_err(StoreError::backend)?;
            load(&accounts, id128(id.as_bytes()))
        })
        .await
    }

    async fn account_by_handle(&self, handle: &str) -> StoreResult<Option<AccountRecord>> {
        let handle = handle.to_owned();
        self.read(move |tx| {
            let handles = tx.open_table(HANDLES).map_err(StoreError::backend)?;
            let Some(id) = handles.get(handle.as_str()).map_err(StoreError::backend)? else {
                return Ok(None);
            };
            let accounts = tx.open_table(ACCOUNTS).map_err(StoreError::backend)?;
            load(&accounts, id.value())
        })
        .await
    }

    async fn create_session(&self, session: &SessionRecord) -> StoreResult<()> {
        let session = session.clone();
        self.write(move |tx| {
            tx.open_table(SESSIONS)
                .map_err(StoreError::backend)?
                .insert(session.token_hash.0, encode(&session)?.as_slice())
                .map_err(StoreError::backend)?;
            let mut by_account = tx
                .open_table(ACCOUNT_SESSIONS)
                .map_err(StoreError::backend)?;
            let mut by_expiry = tx.open_table(SESSION_EXPIRY).map_err(StoreError::backend)?;
            index_session(&mut by_account, &mut by_expiry, &session)
        })
        .await
    }

    async fn session(
        &self,
        token_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> StoreResult<Option<SessionRecord>> {
        let hash = token_hash.0;
        let found: Option<SessionRecord> = self
            .read(move |tx| {
                let sessions = tx.open_table(SESSIONS).map_err(StoreError::backend)?;
                load(&sessions, hash)
            })
            .await?;
        Ok(found.filter(|s| s.expires_at > now))
    }

    async fn delete_session(&self, token_hash: &TokenHash) -> StoreResult<()> {
        let hash = token_hash.0;
        self.write(move |tx| remove_session(tx, hash).map(|_| ()))
            .await
    }

    async fn delete_sessions_of(&self, account: AccountId) -> StoreResult<usize> {
        self.write(move |tx| remove_sessions_of(tx, account, None))
            .await
    }

    async fn change_password(
        &self,
        account: AccountId,
        password_hash: &str,
        keep: &TokenHash,
    ) -> StoreResult<usize> {
        let password_hash = password_hash.to_owned();
        let keep = keep.0;
        self.write(move |tx| {
            let id = id128(account.as_bytes());
            let mut accounts = tx.open_table(ACCOUNTS).map_err(StoreError::backend)?;
            let mut record: AccountRecord =
                load(&accounts, id)?.ok_or(StoreError::AccountNotFound)?;
            record.password_hash = password_hash;
            accounts
                .insert(id, encode(&record)?.as_slice())
                .map_err(StoreError::backend)?;
            drop(accounts);
            remove_sessions_of(tx, account, Some(keep))
        })
        .await
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> StoreResult<Purged> {
        let mut purged = Purged::default();
        let now_us = unix_micros(now);
        loop {
            let removed = self.write(move |tx| purge_sessions_in(tx, now_us)).await?;
            purged.sessions += removed;
            if removed < PURGE_BATCH {
                break;
            }
        }
        let before = unix_micros(now - crate::IDEMPOTENCY_TTL);
        loop {
            let removed = self
                .write(move |tx| purge_idempotency_in(tx, before))
                .await?;
            purged.idempotency_records += removed;
            if removed < PURGE_BATCH {
                break;
            }
        }
        Ok(purged)
    }

    async fn create_gig(&self, gig: &GigRecord, listing_fee: &Transaction) -> StoreResult<()> {
        let gig = gig.clone();
        let fee = listing_fee.clone();
        self.write(move |tx| {
            apply(tx, &fee)?;
            save_gig(tx, &gig)?;
            let id = id128(gig.id.as_bytes());
            tx.open_table(GIGS_BY_START)
                .map_err(StoreError::backend)?
                .insert((unix_micros(gig.details.starts_at), id), ())
                .map_err(StoreError::backend)?;
            tx.open_table(GIGS_BY_CREATOR)
                .map_err(StoreError::backend)?
                .insert((id128(gig.creator_id.as_bytes()), id), ())
                .map_err(StoreError::backend)?;
            tx.open_table(STREAM_KEYS)
                .map_err(StoreError::backend)?
                .insert(gig.stream_key_hash.0, id)
                .map_err(StoreError::backend)?;
            Ok(())
        })
        .await
    }

    async fn gig(&self, id: GigId) -> StoreResult<Option<GigRecord>> {
        self.read(move |tx| {
            let gigs = tx.open_table(GIGS).map_err(StoreError::backend)?;
            load(&gigs, id128(id.as_bytes()))
        })
        .await
    }

    async fn gig_by_stream_key(&self, key_hash: &TokenHash) -> StoreResult<Option<GigRecord>> {
        let hash = key_hash.0;
        self.read(move |tx| {
            let keys = tx.open_table(STREAM_KEYS).map_err(StoreError::backend)?;
            let Some(id) = keys.get(hash).map_err(StoreError::backend)? else {
                return Ok(None);
            };
            let gigs = tx.open_table(GIGS).map_err(StoreError::backend)?;
            load(&gigs, id.value())
        })
        .await
    }

    async fn list_gigs(&self, query: &GigQuery) -> StoreResult<Vec<GigRecord>> {
        let query = query.clone();
        self.read(move |tx| {
            let index = tx.open_table(GIGS_BY_START).map_err(StoreError::backend)?;
            let gigs = tx.open_table(GIGS).map_err(StoreError::backend)?;
            let mut found = Vec::new();
            let from = (query.scan_from_us(), 0u128);
            // A start of `to` is left out; no gig id is 0, so nothing at `to` is read.
            let until = (query.scan_until_us().unwrap_or(i64::MAX), 0u128);
            if from >= until {
                return Ok(found);
            }
            for item in index.range(from..until).map_err(StoreError::backend)? {
                let (key, _) = item.map_err(StoreError::backend)?;
                let Some(gig) = load::<u128, GigRecord>(&gigs, key.value().1)? else {
                    continue;
                };
                if query.after.is_some_and(|c| !c.precedes(&gig)) || !query.matches(&gig) {
                    continue;
                }
                found.push(gig);
                if found.len() >= query.limit {
                    break;
                }
            }
            Ok(found)
        })
        .await
    }

    async fn gigs_by_creator(&self, creator: AccountId) -> StoreResult<Vec<GigRecord>> {
        self.read(move |tx| {
            let index = tx
                .open_table(GIGS_BY_CREATOR)
                .map_err(StoreError::backend)?;
            let gigs = tx.open_table(GIGS).map_err(StoreError::backend)?;
            let who = id128(creator.as_bytes());
            let mut found = Vec::new();
            for item in index
                .range((who, 0u128)..=(who, u128::MAX))
                .map_err(StoreError::backend)?
                .rev()
            {
                let (key, _) = item.map_err(StoreError::backend)?;
                if let Some(gig) = load(&gigs, key.value().1)? {
                    found.push(gig);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn update_gig(&self, id: GigId, details: &GigDetails) -> StoreResult<GigRecord> {
        let details = details.clone();
        self.write(move |tx| {
            let mut gig = load_gig(tx, id)?;
            if gig.state == GigState::Cancelled {
                return Err(StoreError::GigClosed);
            }
            if details.capacity.is_some_and(|cap| cap < gig.tickets_sold) {
                return Err(StoreError::CapacityBelowSold {
                    sold: gig.tickets_sold,
                });
            }
            let key = id128(id.as_bytes());
            let mut index = tx.open_table(GIGS_BY_START).map_err(StoreError::backend)?;
            index
                .remove((unix_micros(gig.details.starts_at), key))
                .map_err(StoreError::backend)?;
            index
                .insert((unix_micros(details.starts_at), key), ())
                .map_err(StoreError::backend)?;
            gig.details = details;
            save_gig(tx, &gig)?;
            Ok(gig)
        })
        .await
    }

    async fn rotate_stream_key(
        &self,
        id: GigId,
        key: &str,
        key_hash: &TokenHash,
    ) -> StoreResult<GigRecord> {
        let (key, hash) = (key.to_owned(), *key_hash);
        self.write(move |tx| {
            let mut gig = load_gig(tx, id)?;
            let mut keys = tx.open_table(STREAM_KEYS).map_err(StoreError::backend)?;
            keys.remove(gig.stream_key_hash.0)
                .map_err(StoreError::backend)?;
            keys.insert(hash.0, id128(id.as_bytes()))
                .map_err(StoreError::backend)?;
            gig.stream_key = key;
            gig.stream_key_hash = hash;
            save_gig(tx, &gig)?;
            Ok(gig)
        })
        .await
    }

    async fn set_gig_state(&self, id: GigId, state: GigState) -> StoreResult<GigRecord> {
        self.write(move |tx| {
            let mut gig = load_gig(tx, id)?;
            if gig.state == GigState::Cancelled {
                return Err(StoreError::GigClosed);
            }
            gig.state = state;
            save_gig(tx, &gig)?;
            Ok(gig)
        })
        .await
    }

    async fn cancel_gig(&self, cancellation: &Cancellation) -> StoreResult<GigRecord> {
        let cancellation = cancellation.clone();
        self.write(move |tx| cancel_in(tx, &cancellation)).await
    }

    async fn purchase_ticket(&self, purchase: &Purchase) -> StoreResult<PurchaseOutcome> {
        let purchase = purchase.clone();
        self.write(move |tx| purchase_in(tx, &purchase)).await
    }

    async fn ticket_for(&self, holder: AccountId, gig: GigId) -> StoreResult<Option<Ticket>> {
        self.read(move |tx| {
            let holders = tx.open_table(HOLDER_TICKETS).map_err(StoreError::backend)?;
            let key = (id128(holder.as_bytes()), id128(gig.as_bytes()));
            let Some(id) = holders.get(key).map_err(StoreError::backend)? else {
                return Ok(None);
            };
            Ok(tickets_from(tx, vec![id.value()])?.pop())
        })
        .await
    }

    async fn tickets_of(&self, holder: AccountId) -> StoreResult<Vec<Ticket>> {
        let mut tickets = self
            .read(move |tx| {
                let holders = tx.open_table(HOLDER_TICKETS).map_err(StoreError::backend)?;
                let who = id128(holder.as_bytes());
                let ids = holders
                    .range((who, 0u128)..=(who, u128::MAX))
                    .map_err(StoreError::backend)?
                    .map(|item| item.map(|(_, v)| v.value()).map_err(StoreError::backend))
                    .collect::<StoreResult<Vec<_>>>()?;
                tickets_from(tx, ids)
            })
            .await?;
        tickets.sort_by_key(|t| std::cmp::Reverse(t.id));
        Ok(tickets)
    }

    async fn tickets_of_gig(&self, gig: GigId) -> StoreResult<Vec<Ticket>> {
        let mut tickets = self
            .read(move |tx| {
                let index = tx.open_table(GIG_TICKETS).map_err(StoreError::backend)?;
                let key = id128(gig.as_bytes());
                let ids = index
                    .range((key, 0u128)..=(key, u128::MAX))
                    .map_err(StoreError::backend)?
                    .map(|item| item.map(|(k, _)| k.value().1).map_err(StoreError::backend))
                    .collect::<StoreResult<Vec<_>>>()?;
                tickets_from(tx, ids)
            })
            .await?;
        tickets.sort_by_key(|t| t.id);
        Ok(tickets)
    }

    async fn post(
        &self,
        transaction: &Transaction,
        idempotency: Option<(AccountId, &str)>,
    ) -> StoreResult<Vec<EntryRecord>> {
        if !transaction.is_balanced() {
            return Err(StoreError::Unbalanced);
        }
        let transaction = transaction.clone();
        let idempotency = idempotency.map(|(owner, key)| (owner, key.to_owned()));
        self.write(move |tx| {
            if let Some((owner, key)) = &idempotency
                && let Some(remembered) = take_remembered(tx, *owner, key)?
            {
                return match remembered {
                    Remembered::Post { entries, .. } => Ok(entries),
                    Remembered::Purchase { .. } => Err(StoreError::IdempotencyKeyReused),
                };
            }
            let entries = apply(tx, &transaction)?;
            if let Some((owner, key)) = &idempotency {
                let what = Remembered::Post {
                    transaction_id: transaction.id,
                    entries: entries.clone(),
                };
                remember(tx, *owner, key, &what)?;
            }
            Ok(entries)
        })
        .await
    }

    async fn balance(&self, account: &LedgerAccount) -> StoreResult<Money> {
        let account = account.to_string();
        self.read(move |tx| {
            let balances = tx.open_table(BALANCES).map_err(StoreError::backend)?;
            let value = balances
                .get(account.as_str())
                .map_err(StoreError::backend)?
                .map_or(0, |g| g.value());
            Ok(Money(value))
        })
        .await
    }

    async fn entries(
        &self,
        account: &LedgerAccount,
        before: Option<u64>,
        limit: usize,
    ) -> StoreResult<Vec<EntryRecord>> {
        let account = account.to_string();
        self.read(move |tx| {
            let entries = tx.open_table(ENTRIES).map_err(StoreError::backend)?;
            let end = before.unwrap_or(u64::MAX);
            let mut found = Vec::new();
            for item in entries
                .range((account.as_str(), 0u64)..(account.as_str(), end))
                .map_err(StoreError::backend)?
                .rev()
                .take(limit)
            {
                let (_, value) = item.map_err(StoreError::backend)?;
                found.push(decode(value.value())?);
            }
            Ok(found)
        })
        .await
    }

    async fn balances(&self) -> StoreResult<Vec<(LedgerAccount, Money)>> {
        self.read(|tx| {
            let balances = tx.open_table(BALANCES).map_err(StoreError::backend)?;
            balances
                .iter()
                .map_err(StoreError::backend)?
                .map(|item| {
                    let (k, v) = item.map_err(StoreError::backend)?;
                    let account = k.value().parse().map_err(StoreError::Backend)?;
                    Ok((account, Money(v.value())))
                })
                .collect()
        })
        .await
    }

    async fn create_payment(
        &self,
        record: &PaymentRecord,
        booking: Option<&Transaction>,
    ) -> StoreResult<PaymentRecord> {
        if booking.is_some_and(|b| !b.is_balanced()) {
            return Err(StoreError::Unbalanced);
        }
        let (record, booking) = (record.clone(), booking.cloned());
        self.write(move |tx| create_payment_in(tx, &record, booking.as_ref()))
            .await
    }

    async fn update_payment(
        &self,
        record: &PaymentRecord,
        booking: Option<&Transaction>,
    ) -> StoreResult<PaymentRecord> {
        if booking.is_some_and(|b| !b.is_balanced()) {
            return Err(StoreError::Unbalanced);
        }
        let (record, booking) = (record.clone(), booking.cloned());
        self.write(move |tx| update_payment_in(tx, &record, booking.as_ref()))
            .await
    }

    async fn payment(&self, id: uuid::Uuid) -> StoreResult<Option<PaymentRecord>> {
        self.read(move |tx| {
            let payments = tx.open_table(PAYMENTS).map_err(StoreError::backend)?;
            load(&payments, id128(id.as_bytes()))
        })
        .await
    }

    async fn payments_of(
        &self,
        owner: AccountId,
        kind: PaymentKind,
        limit: usize,
    ) -> StoreResult<Vec<PaymentRecord>> {
        self.read(move |tx| {
            let index = tx
                .open_table(PAYMENTS_BY_OWNER)
                .map_err(StoreError::backend)?;
            let (who, kind) = (id128(owner.as_bytes()), kind_byte(kind));
            let ids = index
                .range((who, kind, 0u128)..=(who, kind, u128::MAX))
                .map_err(StoreError::backend)?
                .rev()
                .take(limit)
                .map(|item| item.map(|(k, _)| k.value().2).map_err(StoreError::backend))
                .collect::<StoreResult<Vec<_>>>()?;
            payments_from(tx, ids)
        })
        .await
    }

    async fn unfinished_payments(&self, limit: usize) -> StoreResult<Vec<PaymentRecord>> {
        self.read(move |tx| {
            let index = tx
                .open_table(PAYMENTS_UNFINISHED)
                .map_err(StoreError::backend)?;
            let ids = index
                .iter()
                .map_err(StoreError::backend)?
                .take(limit)
                .map(|item| item.map(|(k, _)| k.value().1).map_err(StoreError::backend))
                .collect::<StoreResult<Vec<_>>>()?;
            payments_from(tx, ids)
        })
        .await
    }

    async fn append_chat(&self, record: &ChatRecord, keep: usize) -> StoreResult<()> {
        let record = record.clone();
        self.write(move |tx| append_chat_in(tx, &record, keep))
            .await
    }

    async fn chat_history(&self, gig: GigId, limit: usize) -> StoreResult<Vec<ChatRecord>> {
        let mut newest_first = self
            .read(move |tx| {
                let chat = tx.open_table(CHAT).map_err(StoreError::backend)?;
                let key = id128(gig.as_bytes());
                chat.range((key, 0u128)..=(key, u128::MAX))
                    .map_err(StoreError::backend)?
                    .rev()
                    .take(limit)
                    .map(|item| {
                        let (_, value) = item.map_err(StoreError::backend)?;
                        decode(value.value())
                    })
                    .collect::<StoreResult<Vec<ChatRecord>>>()
            })
            .await?;
        newest_first.reverse();
        Ok(newest_first)
    }

    async fn delete_chat(&self, gig: GigId, id: MessageId) -> StoreResult<Option<ChatRecord>> {
        self.write(move |tx| delete_chat_in(tx, gig, id)).await
    }

    async fn set_chat_ban(&self, gig: GigId, account: AccountId, banned: bool) -> StoreResult<()> {
        self.write(move |tx| {
            let mut bans = tx.open_table(CHAT_BANS).map_err(StoreError::backend)?;
            let key = (id128(gig.as_bytes()), id128(account.as_bytes()));
            if banned {
                bans.insert(key, ()).map_err(StoreError::backend)?;
            } else {
                bans.remove(key).map_err(StoreError::backend)?;
            }
            Ok(())
        })
        .await
    }

    async fn is_chat_banned(&self, gig: GigId, account: AccountId) -> StoreResult<bool> {
        self.read(move |tx| {
            let bans = tx.open_table(CHAT_BANS).map_err(StoreError::backend)?;
            let key = (id128(gig.as_bytes()), id128(account.as_bytes()));
            Ok(bans.get(key).map_err(StoreError::backend)?.is_some())
        })
        .await
    }

    async fn setting(&self, name: &str) -> StoreResult<Option<SettingRecord>> {
        check_setting_name(name)?;
        let name = name.to_owned();
        self.read(move |tx| {
            let settings = tx.open_table(SETTINGS).map_err(StoreError::backend)?;
            load(&settings, name.as_str())
        })
        .await
    }

    async fn put_setting(
        &self,
        name: &str,
        value: &serde_json::Value,
        expected_version: Option<u64>,
        now: OffsetDateTime,
    ) -> StoreResult<SettingRecord> {
        check_setting_name(name)?;
        encode_setting_value(value)?;
        let (name, value) = (name.to_owned(), value.clone());
        self.write(move |tx| put_setting_in(tx, &name, value, expected_version, now))
            .await
    }

    async fn delete_setting(&self, name: &str, expected_version: u64) -> StoreResult<()> {
        check_setting_name(name)?;
        let name = name.to_owned();
        self.write(move |tx| delete_setting_in(tx, &name, expected_version))
            .await
    }

    async fn flush(&self) -> StoreResult<()> {
        // Every commit is already fsynced (redb's default `Durability::Immediate`).
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use bookmygig_api::EntryKind;
    use time::Duration;

    use super::*;

    fn account(handle: &str) -> AccountRecord {
        AccountRecord {
            id: AccountId::new(),
            handle: handle.to_owned(),
            display_name: handle.to_owned(),
            password_hash: "x".to_owned(),
            created_at: OffsetDateTime::now_utc(),
        }
    }

    #[tokio::test]
    async fn purge_forgets_idempotency_keys_after_their_ttl_and_expired_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let bob = account("bob");
        store.create_account(&bob).await.unwrap();
        let now = OffsetDateTime::now_utc();
        let topup = Transaction::transfer(
            EntryKind::TopUp,
            LedgerAccount::ExternalTopups,
            LedgerAccount::User(bob.id),
            Money(5),
            "Top-up",
            None,
            now,
        );
        store.post(&topup, Some((bob.id, "k"))).await.unwrap();
        for (byte, expires_at) in [(1, now + Duration::hours(1)), (2, now + Duration::days(30))] {
            let session = SessionRecord {
                token_hash: TokenHash([byte; 32]),
                account_id: bob.id,
                created_at: now,
                expires_at,
            };
            store.create_session(&session).await.unwrap();
        }
        assert_eq!(store.purge_expired(now).await.unwrap(), Purged::default());
        let later = now + crate::IDEMPOTENCY_TTL + Duration::minutes(1);
        let purged = store.purge_expired(later).await.unwrap();
        assert_eq!(
            purged,
            Purged {
                sessions: 1,
                idempotency_records: 1
            }
        );
        // The key is forgotten: the same key books anew.
        let retry = Transaction {
            id: TransactionId::new(),
            ..topup
        };
        store.post(&retry, Some((bob.id, "k"))).await.unwrap();
        assert_eq!(
            store.balance(&LedgerAccount::User(bob.id)).await.unwrap(),
            Money(10)
        );
        assert!(
            store
                .session(&TokenHash([2; 32]), now)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(store.delete_sessions_of(bob.id).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_database_from_before_the_indexes_gets_them_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let bob = account("bob");
        let session = SessionRecord {
            token_hash: TokenHash([3; 32]),
            account_id: bob.id,
            created_at: OffsetDateTime::now_utc(),
            expires_at: OffsetDateTime::now_utc() + Duration::days(1),
        };
        {
            let store = EmbeddedStore::open(dir.path()).unwrap();
            store.create_account(&bob).await.unwrap();
            store.create_session(&session).await.unwrap();
            // As an older server left it: the session without its index entries.
            store
                .write(|tx| {
                    tx.delete_table(ACCOUNT_SESSIONS)
                        .map_err(StoreError::backend)?;
                    tx.delete_table(SESSION_EXPIRY)
                        .map_err(StoreError::backend)?;
                    Ok(())
                })
                .await
                .unwrap();
        }
        let store = EmbeddedStore::open(dir.path()).unwrap();
        assert_eq!(store.delete_sessions_of(bob.id).await.unwrap(), 1);
        let now = OffsetDateTime::now_utc();
        assert_eq!(store.session(&session.token_hash, now).await.unwrap(), None);
    }
}
