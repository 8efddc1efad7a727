//! The store conformance suite: every story runs against both backends, so test output lists
//! each one twice, as `embedded::<story>` and `redis::<story>`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // A fixture failure is a test failure.

use std::collections::HashSet;
use std::sync::Arc;

use bookmygig_api::{
    AccountId, Category, ChatMessage, EntryKind, GigId, GigStatus, MessageId, Money,
    PaymentPointer, TicketId, TicketStatus, TransactionId,
};
use bookmygig_store::{
    AccountRecord, Cancellation, ChatRecord, EmbeddedStore, GigBounds, GigCursor, GigDetails,
    GigQuery, GigRecord, GigState, LedgerAccount, PaymentKind, PaymentRecord, PaymentState,
    Purchase, RedisStore, SessionRecord, SettingRecord, StatusFilter, Store, StoreError, TokenHash,
    Transaction,
};
use bookmygig_testkit::RedisServer;
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// A store and whatever keeps it alive (its directory or its redis-server).
struct Fixture {
    store: Arc<dyn Store>,
    _keep: Box<dyn std::any::Any + Send>,
}

async fn embedded() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open embedded store");
    Fixture {
        store: Arc::new(store),
        _keep: Box::new(dir),
    }
}

async fn redis() -> Fixture {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url())
        .await
        .expect("connect to redis");
    Fixture {
        store: Arc::new(store),
        _keep: Box::new(server),
    }
}

fn now() -> OffsetDateTime {
    // Whole microseconds: both backends keep time at that precision.
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .expect("valid nanosecond")
}

fn hash_of(byte: u8) -> TokenHash {
    TokenHash([byte; 32])
}

async fn account(store: &dyn Store, handle: &str) -> AccountId {
    let record = AccountRecord {
        id: AccountId::new(),
        handle: handle.to_owned(),
        display_name: format!("{handle} display"),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        created_at: now(),
    };
    store.create_account(&record).await.expect("create account");
    record.id
}

async fn top_up(store: &dyn Store, who: AccountId, amount: Money) {
    let t = Transaction::transfer(
        EntryKind::TopUp,
        LedgerAccount::ExternalTopups,
        LedgerAccount::User(who),
        amount,
        "Development top-up",
        None,
        now(),
    );
    store.post(&t, None).await.expect("top up");
}

fn details(title: &str, category: Category, starts_in: Duration, price: Money) -> GigDetails {
    let starts_at = now() + starts_in;
    GigDetails {
        creator_name: "Alice".into(),
        title: title.into(),
        description: format!("{title}: a show"),
        category,
        price,
        starts_at,
        ends_at: starts_at + Duration::hours(2),
        capacity: None,
        payment_pointer: PaymentPointer::parse("$wallet.example/alice").expect("pointer"),
        micropayment_rate: Money(360_000),
        replay_hours: 48,
    }
}

/// Registers a gig for `creator` (who must afford `fee`).
async fn gig_with(
    store: &dyn Store,
    creator: AccountId,
    details: GigDetails,
    fee: Money,
) -> GigRecord {
    let id = GigId::new();
    let key_byte = id.as_bytes()[15];
    let gig = GigRecord {
        id,
        creator_id: creator,
        details,
        stream_key: format!("key-{id}"),
        stream_key_hash: TokenHash([key_byte; 32]),
        created_at: now(),
        tickets_sold: 0,
        state: GigState::Scheduled,
    };
    let fee = Transaction::transfer(
        EntryKind::ListingFee,
        LedgerAccount::User(creator),
        LedgerAccount::PlatformRevenue,
        fee,
        "Listing fee",
        Some(id),
        now(),
    );
    store.create_gig(&gig, &fee).await.expect("create gig");
    gig
}

async fn simple_gig(store: &dyn Store, creator: AccountId, capacity: Option<u32>) -> GigRecord {
    let mut d = details(
        "Late Night Laughs",
        Category::Comedy,
        Duration::hours(1),
        Money::from_dollars(10),
    );
    d.capacity = capacity;
    gig_with(store, creator, d, Money::ZERO).await
}

fn purchase(gig: GigId, buyer: AccountId, key: &str) -> Purchase {
    Purchase {
        ticket_id: TicketId::new(),
        transaction_id: TransactionId::new(),
        gig_id: gig,
        buyer,
        idempotency_key: key.into(),
        commission_bps: 0,
        at: now(),
    }
}

async fn assert_ledger_sound(store: &dyn Store) {
    let balances = store.balances().await.expect("balances");
    let sum: i64 = balances.iter().map(|(_, m)| m.0).sum();
    assert_eq!(sum, 0, "balances must sum to zero: {balances:?}");
    for (account, money) in &balances {
        if account.is_user_wallet() {
            assert!(*money >= Money::ZERO, "{account} is negative: {money}");
        }
    }
}

fn query(now: OffsetDateTime) -> GigQuery {
    GigQuery {
        category: None,
        status: StatusFilter::Upcoming,
        text: None,
        after: None,
        limit: 100,
        now,
        bounds: GigBounds::default(),
    }
}

/// A chat message by `author` in `gig`, sent now.
fn chat(gig: GigId, author: AccountId, text: &str) -> ChatRecord {
    ChatRecord {
        gig_id: gig,
        author_id: author,
        message: ChatMessage {
            id: MessageId::new(),
            author: "bob".into(),
            display_name: "Bob \"the\" Builder".into(),
            text: text.into(),
            sent_at: now(),
        },
    }
}

fn texts(records: &[ChatRecord]) -> Vec<&str> {
    records.iter().map(|r| r.message.text.as_str()).collect()
}

/// A new payment record in `requested`, due now, with provider details the store must keep
/// as they are.
fn payment(owner: AccountId, kind: PaymentKind, amount: Money, key: Option<&str>) -> PaymentRecord {
    let at = now();
    PaymentRecord {
        id: Uuid::now_v7(),
        owner,
        kind,
        amount,
        state: PaymentState::Requested,
        version: 0,
        created_at: at,
        updated_at: at,
        next_attempt_at: at,
        attempts: 0,
        idempotency_key: key.map(Into::into),
        details: serde_json::json!({
            "wallet_address": "https://wallet.example/bob",
            "continue": {"uri": "https://auth.example/continue/1", "wait": 5},
            "quote": "Late \"Night\" — café 🎤",
            "big": 12_345_678_901_234_567u64,
        }),
        error: None,
    }
}

/// Moves `amount` from one ledger account to another, as a payment step books it.
fn booking(from: LedgerAccount, to: LedgerAccount, amount: Money) -> Transaction {
    let kind = if from == LedgerAccount::ExternalTopups {
        EntryKind::TopUp
    } else {
        EntryKind::Refund
    };
    Transaction::transfer(kind, from, to, amount, "Payment", None, now())
}

/// The external top-up that funds `who`'s wallet with `amount`.
fn credit(who: AccountId, amount: Money) -> Transaction {
    booking(
        LedgerAccount::ExternalTopups,
        LedgerAccount::User(who),
        amount,
    )
}

/// `record` moved to `state`, one attempt later.
fn moved(record: &PaymentRecord, state: PaymentState) -> PaymentRecord {
    PaymentRecord {
        state,
        attempts: record.attempts + 1,
        updated_at: now(),
        ..record.clone()
    }
}

async fn wallet(store: &dyn Store, who: AccountId) -> Money {
    store.balance(&LedgerAccount::User(who)).await.unwrap()
}

fn ids(records: &[PaymentRecord]) -> Vec<Uuid> {
    records.iter().map(|r| r.id).collect()
}

mod stories {
    use super::*;

    pub use super::payment_stories::*;
    pub use super::setting_stories::*;

    pub async fn handles_are_unique(store: &dyn Store) {
        let id = account(store, "alice").await;
        let twin = AccountRecord {
            id: AccountId::new(),
            handle: "alice".into(),
            display_name: "Other".into(),
            password_hash: "x".into(),
            created_at: now(),
        };
        assert!(matches!(
            store.create_account(&twin).await,
            Err(StoreError::HandleTaken)
        ));
        let found = store
            .account_by_handle("alice")
            .await
            .unwrap()
            .expect("by handle");
        assert_eq!(found.id, id);
        assert_eq!(found.display_name, "alice display");
        assert_eq!(
            store.account(id).await.unwrap().expect("by id").handle,
            "alice"
        );
        assert!(store.account_by_handle("nobody").await.unwrap().is_none());
        assert!(store.account(twin.id).await.unwrap().is_none());
    }

    pub async fn sessions_expire_and_revoke(store: &dyn Store) {
        let who = account(store, "bob").await;
        let t = now();
        let live = SessionRecord {
            token_hash: hash_of(1),
            account_id: who,
            created_at: t,
            expires_at: t + Duration::days(30),
        };
        let stale = SessionRecord {
            token_hash: hash_of(2),
            expires_at: t + Duration::seconds(1),
            ..live.clone()
        };
        store.create_session(&live).await.unwrap();
        store.create_session(&stale).await.unwrap();
        assert_eq!(
            store.session(&hash_of(1), t).await.unwrap(),
            Some(live.clone())
        );
        assert_eq!(
            store
                .session(&hash_of(2), t + Duration::seconds(2))
                .await
                .unwrap(),
            None
        );
        store.delete_session(&hash_of(1)).await.unwrap();
        assert_eq!(store.session(&hash_of(1), t).await.unwrap(), None);
        store.delete_session(&hash_of(9)).await.unwrap();
    }

    fn session_of(who: AccountId, byte: u8, expires_at: OffsetDateTime) -> SessionRecord {
        SessionRecord {
            token_hash: hash_of(byte),
            account_id: who,
            created_at: now(),
            expires_at,
        }
    }

    pub async fn sign_out_everywhere_revokes_only_that_accounts_sessions(store: &dyn Store) {
        let bob = account(store, "bob").await;
        let carol = account(store, "carol").await;
        let t = now();
        let month = t + Duration::days(30);
        for (who, byte) in [(bob, 1), (bob, 2), (carol, 3)] {
            store
                .create_session(&session_of(who, byte, month))
                .await
                .unwrap();
        }
        // A session revoked on its own is not counted again.
        store.delete_session(&hash_of(2)).await.unwrap();
        store
            .create_session(&session_of(bob, 4, month))
            .await
            .unwrap();
        assert_eq!(store.delete_sessions_of(bob).await.unwrap(), 2);
        for byte in [1, 2, 4] {
            assert_eq!(store.session(&hash_of(byte), t).await.unwrap(), None);
        }
        assert!(store.session(&hash_of(3), t).await.unwrap().is_some());
        assert_eq!(store.delete_sessions_of(bob).await.unwrap(), 0);
        // Signing in again afterwards works.
        store
            .create_session(&session_of(bob, 5, month))
            .await
            .unwrap();
        assert!(store.session(&hash_of(5), t).await.unwrap().is_some());
    }

    pub async fn password_change_keeps_the_callers_session_and_revokes_the_rest(store: &dyn Store) {
        let bob = account(store, "bob").await;
        let carol = account(store, "carol").await;
        let t = now();
        let month = t + Duration::days(30);
        for (who, byte) in [(bob, 1), (bob, 2), (bob, 3), (carol, 4)] {
            store
                .create_session(&session_of(who, byte, month))
                .await
                .unwrap();
        }
        let revoked = store
            .change_password(bob, "$argon2id$new", &hash_of(2))
            .await
            .unwrap();
        assert_eq!(revoked, 2);
        assert!(store.session(&hash_of(2), t).await.unwrap().is_some());
        for byte in [1, 3] {
            assert_eq!(store.session(&hash_of(byte), t).await.unwrap(), None);
        }
        assert!(store.session(&hash_of(4), t).await.unwrap().is_some());
        let record = store.account(bob).await.unwrap().unwrap();
        assert_eq!(record.password_hash, "$argon2id$new");
        assert_eq!(record.handle, "bob");
        let by_handle = store.account_by_handle("bob").await.unwrap().unwrap();
        assert_eq!(by_handle.password_hash, "$argon2id$new");
        assert!(matches!(
            store
                .change_password(AccountId::new(), "$argon2id$x", &hash_of(9))
                .await,
            Err(StoreError::AccountNotFound)
        ));
    }

    pub async fn purge_removes_expired_sessions_and_keeps_live_ones(store: &dyn Store) {
        let bob = account(store, "bob").await;
        let t = now();
        store
            .create_session(&session_of(bob, 1, t + Duration::days(30)))
            .await
            .unwrap();
        store
            .create_session(&session_of(bob, 2, t - Duration::seconds(1)))
            .await
            .unwrap();
        store.purge_expired(now()).await.unwrap();
        // Asked as of a time before it expired, the purged session is gone all the same.
        let earlier = t - Duration::hours(1);
        assert_eq!(store.session(&hash_of(2), earlier).await.unwrap(), None);
        assert!(store.session(&hash_of(1), t).await.unwrap().is_some());
        assert_eq!(store.delete_sessions_of(bob).await.unwrap(), 1);
    }

    pub async fn idempotency_records_survive_a_purge_within_their_ttl(store: &dyn Store) {
        let bob = account(store, "bob").await;
        let topup = Transaction::transfer(
            EntryKind::TopUp,
            LedgerAccount::ExternalTopups,
            LedgerAccount::User(bob),
            Money(1_000_000),
            "Development top-up",
            None,
            now(),
        );
        let first = store.post(&topup, Some((bob, "k"))).await.unwrap();
        store.purge_expired(now()).await.unwrap();
        let retry = Transaction {
            id: TransactionId::new(),
            ..topup
        };
        assert_eq!(store.post(&retry, Some((bob, "k"))).await.unwrap(), first);
        assert_eq!(
            store.balance(&LedgerAccount::User(bob)).await.unwrap(),
            Money(1_000_000)
        );
    }

    pub async fn listing_fee_is_charged_or_nothing_is_written(store: &dyn Store) {
        let alice = account(store, "alice").await;
        let fee = Money::from_dollars(99);
        let d = details("Too Poor", Category::Music, Duration::hours(3), Money::ZERO);
        let gig = GigRecord {
            id: GigId::new(),
            creator_id: alice,
            details: d.clone(),
            stream_key: "k".into(),
            stream_key_hash: hash_of(7),
            created_at: now(),
            tickets_sold: 0,
            state: GigState::Scheduled,
        };
        let t = Transaction::transfer(
            EntryKind::ListingFee,
            LedgerAccount::User(alice),
            LedgerAccount::PlatformRevenue,
            fee,
            "Listing fee",
            Some(gig.id),
            now(),
        );
        let refused = store.create_gig(&gig, &t).await;
        assert!(
            matches!(refused, Err(StoreError::InsufficientFunds { balance: Money(0), needed }) if needed == fee),
            "{refused:?}"
        );
        assert!(store.gig(gig.id).await.unwrap().is_none());
        assert!(
            store
                .gig_by_stream_key(&hash_of(7))
                .await
                .unwrap()
                .is_none()
        );
        assert!(store.list_gigs(&query(now())).await.unwrap().is_empty());

        top_up(store, alice, Money::from_dollars(100)).await;
        let created = gig_with(store, alice, d, fee).await;
        assert_eq!(
            store.balance(&LedgerAccount::User(alice)).await.unwrap(),
            Money::from_dollars(1)
        );
        assert_eq!(
            store
                .balance(&LedgerAccount::PlatformRevenue)
                .await
                .unwrap(),
            fee
        );
        assert_eq!(store.gig(created.id).await.unwrap(), Some(created.clone()));
        assert_eq!(
            store
                .gig_by_stream_key(&created.stream_key_hash)
                .await
                .unwrap(),
            Some(created)
        );
        assert_ledger_sound(store).await;
    }

    pub async fn purchase_moves_money_and_takes_a_seat(store: &dyn Store) {
        let alice = account(store, "alice").await;
        let bob = account(store, "bob").await;
        top_up(store, bob, Money::from_dollars(25)).await;
        let gig = simple_gig(store, alice, Some(10)).await;
        let mut p = purchase(gig.id, bob, "k1");
        p.commission_bps = 1_000;
        let outcome = store.purchase_ticket(&p).await.unwrap();
        assert!(!outcome.replayed);
        assert_eq!(outcome.ticket.id, p.ticket_id);
        assert_eq!(outcome.ticket.price, Money::from_dollars(10));
        assert_eq!(outcome.ticket.status, TicketStatus::Valid);
        assert_eq!(outcome.ticket.purchased_at, p.at);
        assert_eq!(
            store.balance(&LedgerAccount::User(bob)).await.unwrap(),
            Money::from_dollars(15)
        );
        assert_eq!(
            store.balance(&LedgerAccount::User(alice)).await.unwrap(),
            Money::from_dollars(9)
        );
        assert_eq!(
            store
                .balance(&LedgerAccount::PlatformRevenue)
                .await
                .unwrap(),
            Money::from_dollars(1)
        );
        let stored = store.gig(gig.id).await.unwrap().unwrap();
        assert_eq!(stored.tickets_sold, 1);
        assert_eq!(stored.seats_left(), Some(9));
        assert_eq!(
            store.ticket_for(bob, gig.id).await.unwrap(),
            Some(outcome.ticket.clone())
        );
        assert_eq!(
            store.tickets_of(bob).await.unwrap(),
            vec![outcome.ticket.clone()]
        );
        assert_eq!(
            store.tickets_of_gig(gig.id).await.unwrap(),
            vec![outcome.ticket.clone()]
        );
        let entries = store
            .entries(&LedgerAccount::User(bob), None, 10)
            .await
            .unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].entry.kind, EntryKind::TicketSale);
        assert_eq!(entries[0].entry.amount, Money::from_dollars(-10));
        assert_eq!(entries[0].entry.balance_after, Money::from_dollars(15));
        assert_eq!(entries[0].entry.memo, "Ticket: Late Night Laughs");
        assert_eq!(entries[0].entry.gig_id, Some(gig.id));
        assert_eq!(entries[1].entry.kind, EntryKind::TopUp);
        assert!(entries[0].seq > entries[1].seq);
        assert_ledger_sound(store).await;
    }

    pub async fn purchase_retry_with_same_key_changes_nothing(store: &dyn Store) {
        let alice = account(store, "alice").await;
        let bob = account(store, "bob").await;
        top_up(store, bob, Money::from_dollars(25)).await;
        let gig = simple_gig(store, alice, None).await;
        let other = simple_gig(store, alice, None).await;
        let first = store
            .purchase_ticket(&purchase(gig.id, bob, "same"))
            .await
            .unwrap();
        let again = store
            .purchase_ticket(&purchase(gig.id, bob, "same"))
            .await
            .unwrap();
        assert!(again.replayed);
        assert_eq!(again.ticket, first.ticket);
        assert_eq!(
            store.balance(&LedgerAccount::User(bob)).await.unwrap(),
            Money::from_dollars(15)
        );
        assert_eq!(store.gig(gig.id).await.unwrap().unwrap().tickets_sold, 1);
        let reused = store
            .purchase_ticket(&purchase(other.id, bob, "same"))
            .await;
        assert!(
            matches!(reused, Err(StoreError::IdempotencyKeyReused)),
            "{reused:?}"
        );
        let second = store
            .purchase_ticket(&purchase(gig.id, bob, "another"))
            .await;
        assert!(matches!(second, Err(StoreError::AlreadyHolder(t)) if t.id == first.ticket.id));
        assert_eq!(
            store.balance(&LedgerAccount::User(bob)).await.unwrap(),
            Money::from_dollars(15)
        );
        assert_ledger_sound(store).await;
    }

    pub async fn purchase_refusals_write_nothing(store: &dyn Store) {
        let alice = account(store, "alice").await;
        let bob = account(store, "bob").await;
        let carol = account(store, "carol").await;
        top_up(store, bob, Money::from_dollars(25)).await;
        let gig = simple_gig(store, alice, Some(1)).await;
        let poor = store.purchase_ticket(&purchase(gig.id, carol, "c")).await;
        assert!(
            matches!(poor, Err(StoreError::InsufficientFunds { balance: Money(0), needed }) if needed == Money::from_dollars(10)),
            "{poor:?}"
        );
        let own = store.purchase_ticket(&purchase(gig.id, alice, "a")).await;
        assert!(matches!(own, Err(StoreError::OwnGig)), "{own:?}");
        let missing = store
            .purchase_ticket(&purchase(GigId::new(), bob, "m"))
            .await;
        assert!(
            matches!(missing, Err(StoreError::GigNotFound)),
            "{missing:?}"
        );
        let mut late = purchase(gig.id, bob, "late");
        late.at = gig.details.ends_at;
        assert!(matches!(
            store.purchase_ticket(&late).await,
            Err(StoreError::GigClosed)
        ));
        store
            .purchase_ticket(&purchase(gig.id, bob, "b"))
            .await
            .unwrap();
        top_up(store, carol, Money::from_dollars(25)).await;
        let full = store.purchase_ticket(&purchase(gig.id, carol, "c2")).await;
        assert!(matches!(full, Err(StoreError::SoldOut)), "{full:?}");
        assert_eq!(
            store.balance(&LedgerAccount::User(carol)).await.unwrap(),
            Money::from_dollars(25)
        );
        assert!(store.ticket_for(carol, gig.id).await.unwrap().is_none());
        // A refused key was not consumed: the same key works once a seat exists.
        let mut d = gig.details.clone();
        d.capacity = Some(2);
        store.update_gig(gig.id, &d).await.unwrap();
        store
            .purchase_ticket(&purchase(gig.id, carol, "c2"))
            .await
            .unwrap();
        assert_ledger_sound(store).await;
    }

    pub async fn concurrent_purchases_never_oversell(store: &dyn Store) {
        let alice = account(store, "alice").await;
        let gig = simple_gig(store, alice, Some(50)).await;
        let mut buyers = Vec::new();
        for i in 0..200 {
            let who = account(store, &format!("buyer_{i}")).await;
            top_up(store, who, Money::from_dollars(10)).await;
            buyers.push(who);
        }
        let store_arc: Vec<_> = buyers
            .into_iter()
            .map(|who| {
                let p = purchase(gig.id, who, "k");
                async move { store.purchase_ticket(&p).await }
            })
            .collect();
        let results = futures::future::join_all(store_arc).await;
        let sold = results.iter().filter(|r| r.is_ok()).count();
        let sold_out = results
            .iter()
            .filter(|r| matches!(r, Err(StoreError::SoldOut)))
            .count();
        assert_eq!(
            (sold, sold_out),
            (50, 150),
            "{:?}",
            results
                .iter()
                .filter(|r| !matches!(r, Ok(_) | Err(StoreError::SoldOut)))
                .collect::<Vec<_>>()
        );
        assert_eq!(store.tickets_of_gig(gig.id).await.unwrap().len(), 50);
        assert_eq!(
            store.gig(gig.id).await.unwrap().unwrap().seats_left(),
            Some(0)
        );
        assert_eq!(
            store.balance(&LedgerAccount::User(alice)).await.unwrap(),
            Money::from_dollars(500)
        );
        assert_ledger_sound(store).await;
    }

    pub async fn cancellation_refunds_every_ticket(store: &dyn Store) {
        let alice = account(store, "alice").await;
        let gig = simple_gig(store, alice, None).await;
        let mut holders = Vec::new();
        for name in ["bob", "carol", "dave"] {
            let who = account(store, name).await;
            top_up(store, who, Money::from_dollars(10)).await;
            let mut p = purchase(gig.id, who, "k");
            p.commission_bps = 500;
            store.purchase_ticket(&p).await.unwrap();
            holders.push(who);
        }
        assert_eq!(
            store.balance(&LedgerAccount::User(alice)).await.unwrap(),
            Money(28_500_000)
        );
        let c = Cancellation {
            gig_id: gig.id,
            transaction_id: TransactionId::new(),
            at: now(),
        };
        let cancelled = store.cancel_gig(&c).await.unwrap();
        assert_eq!(cancelled.state, GigState::Cancelled);
        assert_eq!(cancelled.status_at(now()), GigStatus::Cancelled);
        for who in &holders {
            assert_eq!(
                store.balance(&LedgerAccount::User(*who)).await.unwrap(),
                Money::from_dollars(10)
            );
            let t = store.ticket_for(*who, gig.id).await.unwrap().unwrap();
            assert_eq!(t.status, TicketStatus::Refunded);
            let last = &store
                .entries(&LedgerAccount::User(*who), None, 1)
                .await
                .unwrap()[0];
            assert_eq!(
                (last.entry.kind, last.entry.amount),
                (EntryKind::Refund, Money::from_dollars(10))
            );
        }
        assert_eq!(
            store.balance(&LedgerAccount::User(alice)).await.unwrap(),
            Money::ZERO
        );
        assert_eq!(
            store
                .balance(&LedgerAccount::PlatformRevenue)
                .await
                .unwrap(),
            Money::ZERO
        );
        let again = store
            .cancel_gig(&Cancellation {
                transaction_id: TransactionId::new(),
                ..c
            })
            .await
            .unwrap();
        assert_eq!(again.state, GigState::Cancelled);
        assert_eq!(
            store
                .balance(&LedgerAccount::User(holders[0]))
                .await
                .unwrap(),
            Money::from_dollars(10)
        );
        let closed = store
            .purchase_ticket(&purchase(gig.id, holders[0], "after"))
            .await;
        assert!(matches!(closed, Err(StoreError::GigClosed)), "{closed:?}");
        assert!(matches!(
            store.update_gig(gig.id, &gig.details).await,
            Err(StoreError::GigClosed)
        ));
        assert_ledger_sound(store).await;
    }

    pub async fn cancellation_needs_the_creator_to_cover_refunds(store: &dyn Store) {
        let alice = account(store, "alice").await;
        let bob = account(store, "bob").await;
        top_up(store, bob, Money::from_dollars(10)).await;
        let gig = simple_gig(store, alice, None).await;
        store
            .purchase_ticket(&purchase(gig.id, bob, "k"))
            .await
            .unwrap();
        // Alice spends her takings on a listing fee elsewhere.
        gig_with(
            store,
            alice,
            details("Other", Category::Dance, Duration::hours(5), Money::ZERO),
            Money::from_dollars(4),
        )
        .await;
        let c = Cancellation {
            gig_id: gig.id,
            transaction_id: TransactionId::new(),
            at: now(),
        };
        let refused = store.cancel_gig(&c).await;
        assert!(
            matches!(refused, Err(StoreError::InsufficientFunds { balance, needed }) if balance == Money::from_dollars(6) && needed == Money::from_dollars(10)),
            "{refused:?}"
        );
        let still = store.gig(gig.id).await.unwrap().unwrap();
        assert_eq!((still.state, still.tickets_sold), (GigState::Scheduled, 1));
        assert_eq!(
            store.ticket_for(bob, gig.id).await.unwrap().unwrap().status,
            TicketStatus::Valid
        );
        assert_ledger_sound(store).await;
    }

    pub async fn catalogue_is_ordered_filtered_and_paged(store: &dyn Store) {
        let alice = account(store, "alice").await;
        let mut expected = Vec::new();
        for i in 0..7 {
            let category = if i % 2 == 0 {
                Category::Comedy
            } else {
                Category::Music
            };
            // Registered in reverse start order, so id order differs from start order.
            let d = details(
                &format!("Show {i}"),
                category,
                Duration::hours(10 - i),
                Money::ZERO,
            );
            expected.push(gig_with(store, alice, d, Money::ZERO).await);
        }
        let same_start = {
            let mut d = expected[6].details.clone();
            d.title = "Twin".into();
            gig_with(store, alice, d, Money::ZERO).await
        };
        let mut past = details(
            "Long Gone",
            Category::Comedy,
            Duration::hours(-30),
            Money::ZERO,
        );
        past.ends_at = past.starts_at + Duration::hours(1);
        let ended = gig_with(store, alice, past, Money::ZERO).await;

        expected.push(same_start);
        expected.sort_by_key(GigCursor::after);
        let t = now();
        let all = store.list_gigs(&query(t)).await.unwrap();
        assert_eq!(
            all.iter().map(|g| g.id).collect::<Vec<_>>(),
            expected.iter().map(|g| g.id).collect::<Vec<_>>()
        );

        let mut paged = Vec::new();
        let mut q = GigQuery {
            limit: 3,
            ..query(t)
        };
        loop {
            let page = store.list_gigs(&q).await.unwrap();
            if page.is_empty() {
                break;
            }
            q.after = Some(GigCursor::after(page.last().unwrap()));
            paged.extend(page.into_iter().map(|g| g.id));
        }
        assert_eq!(paged, expected.iter().map(|g| g.id).collect::<Vec<_>>());

        let comedy = store
            .list_gigs(&GigQuery {
                category: Some(Category::Comedy),
                ..query(t)
            })
            .await
            .unwrap();
        assert!(
            comedy
                .iter()
                .all(|g| g.details.category == Category::Comedy)
        );
        assert_eq!(comedy.len(), 5, "four comedies and the twin of one");
        let text = store
            .list_gigs(&GigQuery {
                text: Some("SHOW 3".into()),
                ..query(t)
            })
            .await
            .unwrap();
        assert_eq!(
            text.iter()
                .map(|g| g.details.title.as_str())
                .collect::<Vec<_>>(),
            ["Show 3"]
        );
        let by_creator_name = store
            .list_gigs(&GigQuery {
                text: Some("alic".into()),
                ..query(t)
            })
            .await
            .unwrap();
        assert_eq!(by_creator_name.len(), 8);
        let old = store
            .list_gigs(&GigQuery {
                status: StatusFilter::Is(GigStatus::Ended),
                ..query(t)
            })
            .await
            .unwrap();
        assert_eq!(old.iter().map(|g| g.id).collect::<Vec<_>>(), [ended.id]);
        let mine = store.gigs_by_creator(alice).await.unwrap();
        assert_eq!(mine.len(), 9);
        assert!(mine.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    }

    pub async fn updates_reindex_and_respect_sold_seats(store: &dyn Store) {
        let alice = account(store, "alice").await;
        let bob = account(store, "bob").await;
        top_up(store, bob, Money::from_dollars(100)).await;
        let first = simple_gig(store, alice, Some(5)).await;
        let second = gig_with(
            store,
            alice,
            details("Later", Category::Play, Duration::hours(4), Money::ZERO),
            Money::ZERO,
        )
        .await;
        store
            .purchase_ticket(&purchase(first.id, bob, "k"))
            .await
            .unwrap();
        let mut d = first.details.clone();
        d.capacity = Some(0);
        let refused = store.update_gig(first.id, &d).await;
        assert!(
            matches!(refused, Err(StoreError::CapacityBelowSold { sold: 1 })),
            "{refused:?}"
        );
        d.capacity = Some(1);
        d.title = "Moved Later".into();
        d.starts_at = second.details.starts_at + Duration::hours(1);
        d.ends_at = d.starts_at + Duration::hours(1);
        let updated = store.update_gig(first.id, &d).await.unwrap();
        assert_eq!(updated.details, d);
        assert_eq!(updated.tickets_sold, 1);
        let order: Vec<_> = store
            .list_gigs(&query(now()))
            .await
            .unwrap()
            .into_iter()
            .map(|g| g.id)
            .collect();
        assert_eq!(order, [second.id, first.id]);
        assert!(matches!(
            store.update_gig(GigId::new(), &d).await,
            Err(StoreError::GigNotFound)
        ));
    }

    pub async fn stream_keys_rotate_and_states_change(store: &dyn Store) {
        let alice = account(store, "alice").await;
        let gig = simple_gig(store, alice, None).await;
        let rotated = store
            .rotate_stream_key(gig.id, "fresh-key", &hash_of(200))
            .await
            .unwrap();
        assert_eq!(rotated.stream_key, "fresh-key");
        assert!(
            store
                .gig_by_stream_key(&gig.stream_key_hash)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            store
                .gig_by_stream_key(&hash_of(200))
                .await
                .unwrap()
                .map(|g| g.id),
            Some(gig.id)
        );
        let live = store.set_gig_state(gig.id, GigState::Live).await.unwrap();
        assert_eq!(live.status_at(now()), GigStatus::Live);
        let off = store
            .set_gig_state(gig.id, GigState::Offline)
            .await
            .unwrap();
        assert_eq!(store.gig(gig.id).await.unwrap(), Some(off));
    }

    pub async fn postings_are_balanced_floored_and_idempotent(store: &dyn Store) {
        let bob = account(store, "bob").await;
        let mut bad = Transaction::transfer(
            EntryKind::TopUp,
            LedgerAccount::ExternalTopups,
            LedgerAccount::User(bob),
            Money(5),
            "x",
            None,
            now(),
        );
        bad.postings[0].amount = Money(-4);
        assert!(matches!(
            store.post(&bad, None).await,
            Err(StoreError::Unbalanced)
        ));
        let overdraw = Transaction::transfer(
            EntryKind::Micropayment,
            LedgerAccount::User(bob),
            LedgerAccount::PlatformRevenue,
            Money(1),
            "x",
            None,
            now(),
        );
        assert!(matches!(
            store.post(&overdraw, None).await,
            Err(StoreError::InsufficientFunds { .. })
        ));
        let topup = Transaction::transfer(
            EntryKind::TopUp,
            LedgerAccount::ExternalTopups,
            LedgerAccount::User(bob),
            Money(5_000_000),
            "Development top-up",
            None,
            now(),
        );
        let first = store.post(&topup, Some((bob, "t1"))).await.unwrap();
        let retry = Transaction {
            id: TransactionId::new(),
            ..topup.clone()
        };
        let again = store.post(&retry, Some((bob, "t1"))).await.unwrap();
        assert_eq!(first, again);
        assert_eq!(
            store.balance(&LedgerAccount::User(bob)).await.unwrap(),
            Money(5_000_000)
        );
        assert_eq!(
            store.balance(&LedgerAccount::ExternalTopups).await.unwrap(),
            Money(-5_000_000)
        );
        let mine: Vec<_> = first
            .iter()
            .filter(|e| e.entry.amount > Money::ZERO)
            .collect();
        assert_eq!(mine[0].entry.balance_after, Money(5_000_000));
        assert_ledger_sound(store).await;
    }

    pub async fn wallet_history_pages_newest_first(store: &dyn Store) {
        let bob = account(store, "bob").await;
        for i in 1..=5 {
            top_up(store, bob, Money(i * 1_000_000)).await;
        }
        let wallet = LedgerAccount::User(bob);
        let first = store.entries(&wallet, None, 2).await.unwrap();
        assert_eq!(
            first.iter().map(|e| e.entry.amount.0).collect::<Vec<_>>(),
            [5_000_000, 4_000_000]
        );
        assert_eq!(first[0].entry.balance_after, Money(15_000_000));
        let rest = store
            .entries(&wallet, Some(first[1].seq), 10)
            .await
            .unwrap();
        assert_eq!(
            rest.iter().map(|e| e.entry.amount.0).collect::<Vec<_>>(),
            [3_000_000, 2_000_000, 1_000_000]
        );
        let seqs: HashSet<u64> = first.iter().chain(&rest).map(|e| e.seq).collect();
        assert_eq!(seqs.len(), 5);
        assert!(
            store
                .entries(&LedgerAccount::User(AccountId::new()), None, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }

    pub async fn chat_history_is_ordered_and_bounded(store: &dyn Store) {
        let (gig, other, bob) = (GigId::new(), GigId::new(), AccountId::new());
        assert!(store.chat_history(gig, 100).await.unwrap().is_empty());
        let mut sent = Vec::new();
        for text in [
            "one",
            "two",
            "three",
            "four — ünïcödé 🎤",
            "five \"quoted\" \\ /",
        ] {
            let record = chat(gig, bob, text);
            store.append_chat(&record, 3).await.unwrap();
            sent.push(record);
        }
        store
            .append_chat(&chat(other, bob, "elsewhere"), 3)
            .await
            .unwrap();
        let kept = store.chat_history(gig, 100).await.unwrap();
        assert_eq!(
            kept,
            sent[2..],
            "the newest 3, oldest first, exactly as sent"
        );
        let last_two = store.chat_history(gig, 2).await.unwrap();
        assert_eq!(texts(&last_two), texts(&sent[3..]));
        assert!(store.chat_history(gig, 0).await.unwrap().is_empty());
        assert_eq!(
            texts(&store.chat_history(other, 100).await.unwrap()),
            ["elsewhere"]
        );
    }

    pub async fn chat_messages_are_deleted_once(store: &dyn Store) {
        let (gig, bob) = (GigId::new(), AccountId::new());
        let sent: Vec<_> = ["a", "b", "c"].map(|t| chat(gig, bob, t)).into();
        for record in &sent {
            store.append_chat(record, 3).await.unwrap();
        }
        let id = sent[1].message.id;
        assert_eq!(
            store.delete_chat(GigId::new(), id).await.unwrap(),
            None,
            "a message is deleted only through its own gig"
        );
        assert_eq!(
            store.delete_chat(gig, id).await.unwrap(),
            Some(sent[1].clone())
        );
        assert_eq!(store.delete_chat(gig, id).await.unwrap(), None);
        assert_eq!(
            texts(&store.chat_history(gig, 100).await.unwrap()),
            ["a", "c"]
        );
        // The deletion made room: the next message trims nothing.
        store.append_chat(&chat(gig, bob, "d"), 3).await.unwrap();
        assert_eq!(
            texts(&store.chat_history(gig, 100).await.unwrap()),
            ["a", "c", "d"]
        );
        store.append_chat(&chat(gig, bob, "e"), 3).await.unwrap();
        assert_eq!(
            texts(&store.chat_history(gig, 100).await.unwrap()),
            ["c", "d", "e"]
        );
        assert_eq!(
            store.delete_chat(gig, sent[0].message.id).await.unwrap(),
            None,
            "a trimmed message is gone"
        );
    }

    pub async fn chat_bans_are_per_gig_and_can_be_lifted(store: &dyn Store) {
        let (gig, other, bob, cid) = (
            GigId::new(),
            GigId::new(),
            AccountId::new(),
            AccountId::new(),
        );
        assert!(!store.is_chat_banned(gig, bob).await.unwrap());
        store.set_chat_ban(gig, bob, true).await.unwrap();
        store.set_chat_ban(gig, bob, true).await.unwrap();
        assert!(store.is_chat_banned(gig, bob).await.unwrap());
        assert!(!store.is_chat_banned(other, bob).await.unwrap());
        assert!(!store.is_chat_banned(gig, cid).await.unwrap());
        store.set_chat_ban(gig, bob, false).await.unwrap();
        store.set_chat_ban(gig, bob, false).await.unwrap();
        assert!(!store.is_chat_banned(gig, bob).await.unwrap());
    }
}

/// Stories that spawn tasks of their own, so they take the store shared.
mod shared_stories {
    use super::*;

    pub async fn racing_payment_updates_move_money_once(store: Arc<dyn Store>) {
        let ann = account(store.as_ref(), "ann").await;
        top_up(store.as_ref(), ann, Money::from_dollars(100)).await;
        let amount = Money::from_dollars(3);
        for round in 0..10 {
            let requested = payment(ann, PaymentKind::Payout, amount, None);
            let created = store.create_payment(&requested, None).await.unwrap();
            // Every racer read version 1 and would hold her earnings: a state that is not
            // final, so only the version tells them apart.
            let hold = booking(
                LedgerAccount::User(ann),
                LedgerAccount::PayoutsPending,
                amount,
            );
            let sending = race(&store, &created, PaymentState::Sending, &hold, round).await;
            assert_eq!(sending.version, 2);
            assert_eq!(
                store.balance(&LedgerAccount::PayoutsPending).await.unwrap(),
                amount
            );
            // Every racer read version 2 and would send the held money out.
            let send = booking(
                LedgerAccount::PayoutsPending,
                LedgerAccount::ExternalPayouts,
                amount,
            );
            let done = race(&store, &sending, PaymentState::Completed, &send, round).await;
            assert_eq!(done.version, 3);
            assert_eq!(
                store
                    .balance(&LedgerAccount::ExternalPayouts)
                    .await
                    .unwrap(),
                Money(i64::from(round + 1) * amount.0)
            );
            assert_eq!(
                store.balance(&LedgerAccount::PayoutsPending).await.unwrap(),
                Money::ZERO
            );
            assert_eq!(store.payment(created.id).await.unwrap(), Some(done));
        }
        assert_eq!(
            wallet(store.as_ref(), ann).await,
            Money(Money::from_dollars(100).0 - 10 * amount.0)
        );
        assert_ledger_sound(store.as_ref()).await;
    }

    pub async fn racing_setting_writes_have_one_winner(store: Arc<dyn Store>) {
        const NAME: &str = "open-payments.payout-grant";
        const RACERS: usize = 4;
        let mut expected = None;
        for round in 0..10u64 {
            // Every racer read the same version (none at first: each would create it) and
            // writes a token of its own.
            let start = Arc::new(tokio::sync::Barrier::new(RACERS));
            let racers: Vec<_> = (0..RACERS)
                .map(|racer| {
                    let (store, start) = (Arc::clone(&store), Arc::clone(&start));
                    let value = json!({ "access_token": format!("tok-{round}-{racer}") });
                    tokio::spawn(async move {
                        start.wait().await;
                        store.put_setting(NAME, &value, expected, now()).await
                    })
                })
                .collect();
            let mut winners = Vec::new();
            for racer in racers {
                match racer.await.unwrap() {
                    Ok(record) => winners.push(record),
                    Err(StoreError::SettingConflict) => {}
                    Err(other) => panic!("round {round}: unexpected {other}"),
                }
            }
            assert_eq!(winners.len(), 1, "round {round}: exactly one write wins");
            let winner = winners.remove(0);
            assert_eq!(winner.version, round + 1);
            assert_eq!(store.setting(NAME).await.unwrap(), Some(winner.clone()));
            expected = Some(winner.version);
        }
    }

    /// Four tasks move `from` to `state` with `booking` at once; asserts exactly one wins (the
    /// others get a conflict) and returns what it stored.
    async fn race(
        store: &Arc<dyn Store>,
        from: &PaymentRecord,
        state: PaymentState,
        booking: &Transaction,
        round: u32,
    ) -> PaymentRecord {
        const RACERS: usize = 4;
        let start = Arc::new(tokio::sync::Barrier::new(RACERS));
        let racers: Vec<_> = (0..RACERS)
            .map(|_| {
                let (store, start) = (Arc::clone(store), Arc::clone(&start));
                let (next, booking) = (moved(from, state), booking.clone());
                tokio::spawn(async move {
                    start.wait().await;
                    store.update_payment(&next, Some(&booking)).await
                })
            })
            .collect();
        let mut winners = Vec::new();
        for racer in racers {
            match racer.await.unwrap() {
                Ok(record) => winners.push(record),
                Err(StoreError::PaymentConflict) => {}
                Err(other) => panic!("round {round}: unexpected {other}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one update wins");
        winners.remove(0)
    }
}

mod setting_stories {
    use super::*;

    const GRANT: &str = "open-payments.payout-grant";

    pub async fn settings_are_created_once_and_read_back(store: &dyn Store) {
        assert_eq!(store.setting(GRANT).await.unwrap(), None);
        let at = now();
        let value = json!({ "access_token": "tok-1", "note": "Quotes \" and — café 🎤" });
        let created = store.put_setting(GRANT, &value, None, at).await.unwrap();
        assert_eq!(
            created,
            SettingRecord {
                name: GRANT.into(),
                value: value.clone(),
                version: 1,
                updated_at: at,
            }
        );
        assert_eq!(store.setting(GRANT).await.unwrap(), Some(created.clone()));

        // A second create, from a node that saw none, is refused and writes nothing.
        let other = json!({ "access_token": "tok-other" });
        let again = store.put_setting(GRANT, &other, None, now()).await;
        assert!(
            matches!(again, Err(StoreError::SettingConflict)),
            "{again:?}"
        );
        assert_eq!(store.setting(GRANT).await.unwrap(), Some(created.clone()));

        // Names are apart from each other.
        assert_eq!(
            store.setting("open-payments.payout-grant2").await.unwrap(),
            None
        );
        let beside = store
            .put_setting("beside", &json!([1, 2.5, null, true]), None, at)
            .await
            .unwrap();
        assert_eq!(beside.version, 1);
        assert_eq!(store.setting("beside").await.unwrap(), Some(beside));
        assert_eq!(store.setting(GRANT).await.unwrap(), Some(created));
    }

    pub async fn setting_updates_are_compare_and_set(store: &dyn Store) {
        // Updating one that does not exist is a conflict, whatever the version.
        let missing = store.put_setting(GRANT, &json!(1), Some(1), now()).await;
        assert!(
            matches!(missing, Err(StoreError::SettingConflict)),
            "{missing:?}"
        );
        assert_eq!(store.setting(GRANT).await.unwrap(), None);

        let first = store
            .put_setting(GRANT, &json!({ "access_token": "tok-1" }), None, now())
            .await
            .unwrap();
        let later = now() + Duration::minutes(5);
        let second = store
            .put_setting(GRANT, &json!({ "access_token": "tok-2" }), Some(1), later)
            .await
            .unwrap();
        assert_eq!(second.version, 2);
        assert_eq!(second.updated_at, later);
        assert_eq!(store.setting(GRANT).await.unwrap(), Some(second.clone()));

        // A writer that read version 1 is stale now: refused, the value unchanged.
        for stale in [Some(first.version), Some(0), Some(3), None] {
            let refused = store
                .put_setting(GRANT, &json!({ "access_token": "stale" }), stale, now())
                .await;
            assert!(
                matches!(refused, Err(StoreError::SettingConflict)),
                "{stale:?}: {refused:?}"
            );
            assert_eq!(store.setting(GRANT).await.unwrap(), Some(second.clone()));
        }

        let third = store
            .put_setting(GRANT, &json!("tok-3"), Some(2), now())
            .await
            .unwrap();
        assert_eq!(third.version, 3);
        assert_eq!(store.setting(GRANT).await.unwrap(), Some(third));
    }

    pub async fn settings_are_deleted_by_compare_and_set(store: &dyn Store) {
        let missing = store.delete_setting(GRANT, 1).await;
        assert!(
            matches!(missing, Err(StoreError::SettingConflict)),
            "{missing:?}"
        );

        store
            .put_setting(GRANT, &json!("a"), None, now())
            .await
            .unwrap();
        let current = store
            .put_setting(GRANT, &json!("b"), Some(1), now())
            .await
            .unwrap();
        for wrong in [1, 3] {
            let refused = store.delete_setting(GRANT, wrong).await;
            assert!(
                matches!(refused, Err(StoreError::SettingConflict)),
                "{refused:?}"
            );
            assert_eq!(store.setting(GRANT).await.unwrap(), Some(current.clone()));
        }
        store.delete_setting(GRANT, 2).await.unwrap();
        assert_eq!(store.setting(GRANT).await.unwrap(), None);
        let twice = store.delete_setting(GRANT, 2).await;
        assert!(
            matches!(twice, Err(StoreError::SettingConflict)),
            "{twice:?}"
        );

        // Created again, it starts over at version 1.
        let again = store
            .put_setting(GRANT, &json!("c"), None, now())
            .await
            .unwrap();
        assert_eq!(again.version, 1);
        assert_eq!(store.setting(GRANT).await.unwrap(), Some(again));
    }

    pub async fn setting_names_and_sizes_are_checked(store: &dyn Store) {
        let longest = "a".repeat(64);
        let too_long = "a".repeat(65);
        for bad in [
            "",
            "Grant",
            "a:b",
            "a b",
            "a/b",
            "café",
            "{x}",
            "a*",
            too_long.as_str(),
        ] {
            let put = store.put_setting(bad, &json!(1), None, now()).await;
            assert!(
                matches!(put, Err(StoreError::InvalidName(_))),
                "{bad}: {put:?}"
            );
            let read = store.setting(bad).await;
            assert!(
                matches!(read, Err(StoreError::InvalidName(_))),
                "{bad}: {read:?}"
            );
            let delete = store.delete_setting(bad, 1).await;
            assert!(
                matches!(delete, Err(StoreError::InvalidName(_))),
                "{bad}: {delete:?}"
            );
        }
        let fine = store
            .put_setting(&longest, &json!(1), None, now())
            .await
            .unwrap();
        assert_eq!(store.setting(&longest).await.unwrap(), Some(fine));

        // 64 KiB of JSON fits (a string of n characters is n + 2 bytes); one byte more does not,
        // neither to create nor to update, and nothing is written.
        let fits = json!("x".repeat(64 * 1024 - 2));
        let big = store.put_setting(GRANT, &fits, None, now()).await.unwrap();
        assert_eq!(store.setting(GRANT).await.unwrap(), Some(big.clone()));
        let over = json!("x".repeat(64 * 1024 - 1));
        let refused = store.put_setting(GRANT, &over, Some(1), now()).await;
        assert!(
            matches!(refused, Err(StoreError::TooLarge { size, limit }) if size == 64 * 1024 + 1 && limit == 64 * 1024),
            "{refused:?}"
        );
        assert_eq!(store.setting(GRANT).await.unwrap(), Some(big));
        let refused = store.put_setting("other", &over, None, now()).await;
        assert!(
            matches!(refused, Err(StoreError::TooLarge { .. })),
            "{refused:?}"
        );
        assert_eq!(store.setting("other").await.unwrap(), None);
    }
}

mod payment_stories {
    use super::*;

    pub async fn payment_is_created_with_its_booking(store: &dyn Store) {
        let bob = account(store, "bob").await;
        let mut requested = payment(bob, PaymentKind::TopUp, Money(2_500_000), None);
        requested.version = 41; // The store sets it.
        let created = store
            .create_payment(&requested, Some(&credit(bob, requested.amount)))
            .await
            .unwrap();
        assert_eq!(
            created,
            PaymentRecord {
                version: 1,
                ..requested.clone()
            }
        );
        assert_eq!(store.payment(requested.id).await.unwrap(), Some(created));
        assert_eq!(wallet(store, bob).await, Money(2_500_000));
        let entries = store
            .entries(&LedgerAccount::User(bob), None, 10)
            .await
            .unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].entry.amount, Money(2_500_000));

        // The same id again (without a key) is a conflict, and books nothing.
        let twin = PaymentRecord {
            amount: Money(1),
            ..requested.clone()
        };
        assert!(matches!(
            store
                .create_payment(&twin, Some(&credit(bob, Money(1))))
                .await,
            Err(StoreError::PaymentConflict)
        ));
        assert_eq!(wallet(store, bob).await, Money(2_500_000));

        // Without a booking only the record is written.
        let bare = payment(bob, PaymentKind::TopUp, Money(1), None);
        store.create_payment(&bare, None).await.unwrap();
        assert_eq!(wallet(store, bob).await, Money(2_500_000));
        assert_eq!(store.payment(Uuid::now_v7()).await.unwrap(), None);
        assert_ledger_sound(store).await;
    }

    pub async fn payment_retry_with_same_key_returns_the_first_and_books_nothing(
        store: &dyn Store,
    ) {
        let bob = account(store, "bob").await;
        let carol = account(store, "carol").await;
        let first = store
            .create_payment(
                &payment(bob, PaymentKind::TopUp, Money(5_000_000), Some("k1")),
                Some(&credit(bob, Money(5_000_000))),
            )
            .await
            .unwrap();
        // A retry: a fresh id and transaction, another amount even; the first answer stands.
        let retry = payment(bob, PaymentKind::TopUp, Money(9_000_000), Some("k1"));
        let again = store
            .create_payment(&retry, Some(&credit(bob, Money(9_000_000))))
            .await
            .unwrap();
        assert_eq!(again, first);
        assert_eq!(store.payment(retry.id).await.unwrap(), None);
        assert_eq!(wallet(store, bob).await, Money(5_000_000));
        assert_eq!(
            ids(&store
                .payments_of(bob, PaymentKind::TopUp, 10)
                .await
                .unwrap()),
            [first.id]
        );
        // After an update the retry gets the record as it is now.
        let sent = store
            .update_payment(&moved(&first, PaymentState::Completed), None)
            .await
            .unwrap();
        let later = payment(bob, PaymentKind::TopUp, Money(5_000_000), Some("k1"));
        assert_eq!(store.create_payment(&later, None).await.unwrap(), sent);

        // Keys are per owner: Carol's "k1" is hers.
        let hers = payment(carol, PaymentKind::TopUp, Money(1_000_000), Some("k1"));
        let created = store
            .create_payment(&hers, Some(&credit(carol, Money(1_000_000))))
            .await
            .unwrap();
        assert_eq!(created.id, hers.id);
        assert_eq!(wallet(store, carol).await, Money(1_000_000));

        // …and apart from the keys of `post`: "k1" books there as new, in both directions.
        store
            .post(&credit(bob, Money(1)), Some((bob, "k1")))
            .await
            .unwrap();
        assert_eq!(wallet(store, bob).await, Money(5_000_001));
        store
            .post(&credit(bob, Money(2)), Some((bob, "k2")))
            .await
            .unwrap();
        let fresh = payment(bob, PaymentKind::TopUp, Money(3), Some("k2"));
        let made = store
            .create_payment(&fresh, Some(&credit(bob, Money(3))))
            .await
            .unwrap();
        assert_eq!(made.id, fresh.id);
        assert_eq!(wallet(store, bob).await, Money(5_000_006));
        assert_ledger_sound(store).await;
    }

    pub async fn payment_key_of_another_kind_is_refused(store: &dyn Store) {
        let ann = account(store, "ann").await;
        top_up(store, ann, Money::from_dollars(10)).await;
        store
            .create_payment(&payment(ann, PaymentKind::TopUp, Money(5), Some("k")), None)
            .await
            .unwrap();
        let payout = payment(ann, PaymentKind::Payout, Money(5), Some("k"));
        let hold = booking(
            LedgerAccount::User(ann),
            LedgerAccount::PayoutsPending,
            Money(5),
        );
        assert!(matches!(
            store.create_payment(&payout, Some(&hold)).await,
            Err(StoreError::IdempotencyKeyReused)
        ));
        assert_eq!(store.payment(payout.id).await.unwrap(), None);
        assert!(
            store
                .payments_of(ann, PaymentKind::Payout, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(wallet(store, ann).await, Money::from_dollars(10));
        assert_ledger_sound(store).await;
    }

    pub async fn payment_whose_booking_would_overdraw_writes_nothing(store: &dyn Store) {
        let ann = account(store, "ann").await;
        top_up(store, ann, Money::from_dollars(5)).await;
        let payout = payment(ann, PaymentKind::Payout, Money::from_dollars(10), Some("p"));
        let hold = booking(
            LedgerAccount::User(ann),
            LedgerAccount::PayoutsPending,
            payout.amount,
        );
        match store.create_payment(&payout, Some(&hold)).await {
            Err(StoreError::InsufficientFunds { balance, needed }) => {
                assert_eq!(
                    (balance, needed),
                    (Money::from_dollars(5), Money::from_dollars(10))
                );
            }
            other => panic!("expected InsufficientFunds, got {other:?}"),
        }
        let mut unbalanced = hold.clone();
        unbalanced.postings[1].amount = Money(1);
        assert!(matches!(
            store.create_payment(&payout, Some(&unbalanced)).await,
            Err(StoreError::Unbalanced)
        ));
        assert_eq!(store.payment(payout.id).await.unwrap(), None);
        assert!(
            store
                .payments_of(ann, PaymentKind::Payout, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(store.unfinished_payments(10).await.unwrap().is_empty());
        assert_eq!(wallet(store, ann).await, Money::from_dollars(5));
        assert_eq!(
            store.balance(&LedgerAccount::PayoutsPending).await.unwrap(),
            Money::ZERO
        );
        // The key was not taken: a payout she can afford goes through under it.
        let smaller = payment(ann, PaymentKind::Payout, Money::from_dollars(5), Some("p"));
        let hold = booking(
            LedgerAccount::User(ann),
            LedgerAccount::PayoutsPending,
            smaller.amount,
        );
        let created = store.create_payment(&smaller, Some(&hold)).await.unwrap();
        assert_eq!(created.id, smaller.id);
        assert_eq!(wallet(store, ann).await, Money::ZERO);
        assert_ledger_sound(store).await;
    }

    pub async fn payment_update_is_compare_and_set(store: &dyn Store) {
        let bob = account(store, "bob").await;
        let created = store
            .create_payment(
                &payment(bob, PaymentKind::TopUp, Money(4_000_000), Some("t")),
                None,
            )
            .await
            .unwrap();
        // A step that tries to change what never changes: the stored values are kept.
        let mut step = moved(&created, PaymentState::AwaitingConsent);
        step.owner = AccountId::new();
        step.kind = PaymentKind::Payout;
        step.created_at = created.created_at + Duration::days(1);
        step.idempotency_key = Some("other".into());
        step.next_attempt_at = created.next_attempt_at + Duration::seconds(5);
        step.details = serde_json::json!({"grant": "https://auth.example/continue/abc"});
        step.error = Some("the wallet answered 503".into());
        let awaiting = store.update_payment(&step, None).await.unwrap();
        let expected = PaymentRecord {
            version: 2,
            owner: bob,
            kind: PaymentKind::TopUp,
            created_at: created.created_at,
            idempotency_key: Some("t".into()),
            ..step.clone()
        };
        assert_eq!(awaiting, expected);
        assert_eq!(store.payment(created.id).await.unwrap(), Some(expected));

        // Stale: another step from version 1 is refused and books nothing.
        let stale = moved(&created, PaymentState::Completed);
        assert!(matches!(
            store
                .update_payment(&stale, Some(&credit(bob, Money(4_000_000))))
                .await,
            Err(StoreError::PaymentConflict)
        ));
        // So is a version from the future, and a payment that does not exist.
        let ahead = PaymentRecord {
            version: 3,
            ..awaiting.clone()
        };
        assert!(matches!(
            store.update_payment(&ahead, None).await,
            Err(StoreError::PaymentConflict)
        ));
        let nowhere = payment(bob, PaymentKind::TopUp, Money(1), None);
        assert!(matches!(
            store.update_payment(&nowhere, None).await,
            Err(StoreError::PaymentConflict)
        ));
        assert_eq!(wallet(store, bob).await, Money::ZERO);

        // A booking that would overdraw leaves the record as it was.
        let overdraw = booking(
            LedgerAccount::User(bob),
            LedgerAccount::PlatformRevenue,
            Money(1),
        );
        assert!(matches!(
            store
                .update_payment(&moved(&awaiting, PaymentState::Sending), Some(&overdraw))
                .await,
            Err(StoreError::InsufficientFunds { .. })
        ));
        let mut unbalanced = credit(bob, Money(1));
        unbalanced.postings[0].amount = Money(0);
        assert!(matches!(
            store
                .update_payment(&moved(&awaiting, PaymentState::Sending), Some(&unbalanced))
                .await,
            Err(StoreError::Unbalanced)
        ));
        assert_eq!(
            store.payment(created.id).await.unwrap(),
            Some(awaiting.clone())
        );

        // The current version goes through, with its booking.
        let done = store
            .update_payment(
                &moved(&awaiting, PaymentState::Completed),
                Some(&credit(bob, Money(4_000_000))),
            )
            .await
            .unwrap();
        assert_eq!((done.version, done.state), (3, PaymentState::Completed));
        assert_eq!(wallet(store, bob).await, Money(4_000_000));
        assert_ledger_sound(store).await;
    }

    pub async fn final_payments_cannot_be_updated(store: &dyn Store) {
        let bob = account(store, "bob").await;
        for state in [
            PaymentState::Completed,
            PaymentState::Failed,
            PaymentState::Declined,
            PaymentState::Expired,
        ] {
            assert!(state.is_final());
            let created = store
                .create_payment(&payment(bob, PaymentKind::TopUp, Money(10), None), None)
                .await
                .unwrap();
            let last = store
                .update_payment(&moved(&created, state), None)
                .await
                .unwrap();
            let reopen = moved(&last, PaymentState::Sending);
            assert!(matches!(
                store
                    .update_payment(&reopen, Some(&credit(bob, Money(10))))
                    .await,
                Err(StoreError::PaymentConflict)
            ));
            assert_eq!(store.payment(created.id).await.unwrap(), Some(last));
        }
        // Created final, a record is as final.
        let mut failed = payment(bob, PaymentKind::TopUp, Money(10), None);
        failed.state = PaymentState::Failed;
        failed.error = Some("the wallet address does not resolve".into());
        let created = store.create_payment(&failed, None).await.unwrap();
        assert!(matches!(
            store
                .update_payment(&moved(&created, PaymentState::Requested), None)
                .await,
            Err(StoreError::PaymentConflict)
        ));
        for state in [
            PaymentState::Requested,
            PaymentState::AwaitingConsent,
            PaymentState::Sending,
        ] {
            assert!(!state.is_final());
        }
        assert_eq!(wallet(store, bob).await, Money::ZERO);
        assert!(store.unfinished_payments(10).await.unwrap().is_empty());
    }

    pub async fn unfinished_payments_skip_finals_in_next_attempt_order(store: &dyn Store) {
        let bob = account(store, "bob").await;
        let ann = account(store, "ann").await;
        let base = now();
        let mut made = Vec::new();
        // Created in this order, due in another: +30 s, +10 s, +20 s, +40 s.
        for (owner, kind, due) in [
            (bob, PaymentKind::TopUp, 30),
            (ann, PaymentKind::Payout, 10),
            (bob, PaymentKind::TopUp, 20),
            (ann, PaymentKind::TopUp, 40),
        ] {
            let mut record = payment(owner, kind, Money(1), None);
            record.next_attempt_at = base + Duration::seconds(due);
            made.push(store.create_payment(&record, None).await.unwrap());
        }
        let mut failed = payment(bob, PaymentKind::TopUp, Money(1), None);
        failed.state = PaymentState::Failed;
        failed.next_attempt_at = base;
        store.create_payment(&failed, None).await.unwrap();
        assert_eq!(
            ids(&store.unfinished_payments(10).await.unwrap()),
            [made[1].id, made[2].id, made[0].id, made[3].id]
        );
        assert_eq!(
            ids(&store.unfinished_payments(2).await.unwrap()),
            [made[1].id, made[2].id]
        );
        assert!(store.unfinished_payments(0).await.unwrap().is_empty());

        // One finishes, one is put off (+50 s), one brought forward (+5 s, and before base).
        store
            .update_payment(&moved(&made[1], PaymentState::Declined), None)
            .await
            .unwrap();
        let mut later = moved(&made[2], PaymentState::AwaitingConsent);
        later.next_attempt_at = base + Duration::seconds(50);
        let later = store.update_payment(&later, None).await.unwrap();
        let mut sooner = moved(&made[3], PaymentState::Sending);
        sooner.next_attempt_at = base - Duration::seconds(5);
        let sooner = store.update_payment(&sooner, None).await.unwrap();
        let unfinished = store.unfinished_payments(10).await.unwrap();
        assert_eq!(ids(&unfinished), [sooner.id, made[0].id, later.id]);
        assert_eq!(unfinished[0], sooner);
        assert_eq!(unfinished[2], later);
        assert!(unfinished.iter().all(|p| !p.state.is_final()));
    }

    pub async fn payments_of_lists_newest_first_per_owner_and_kind(store: &dyn Store) {
        let bob = account(store, "bob").await;
        let carol = account(store, "carol").await;
        let mut bobs = Vec::new();
        for _ in 0..3 {
            let record = payment(bob, PaymentKind::TopUp, Money(1), None);
            bobs.push(store.create_payment(&record, None).await.unwrap());
        }
        let payout = store
            .create_payment(&payment(bob, PaymentKind::Payout, Money(1), None), None)
            .await
            .unwrap();
        let hers = store
            .create_payment(&payment(carol, PaymentKind::TopUp, Money(1), None), None)
            .await
            .unwrap();
        // An update does not move a payment in its owner's list.
        let first = store
            .update_payment(&moved(&bobs[0], PaymentState::Completed), None)
            .await
            .unwrap();
        let listed = store
            .payments_of(bob, PaymentKind::TopUp, 10)
            .await
            .unwrap();
        assert_eq!(listed, [bobs[2].clone(), bobs[1].clone(), first]);
        assert_eq!(
            ids(&store.payments_of(bob, PaymentKind::TopUp, 2).await.unwrap()),
            [bobs[2].id, bobs[1].id]
        );
        assert!(
            store
                .payments_of(bob, PaymentKind::TopUp, 0)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store
                .payments_of(bob, PaymentKind::Payout, 10)
                .await
                .unwrap(),
            [payout]
        );
        assert_eq!(
            store
                .payments_of(carol, PaymentKind::TopUp, 10)
                .await
                .unwrap(),
            [hers]
        );
        assert!(
            store
                .payments_of(carol, PaymentKind::Payout, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }

    pub async fn payout_ledger_accounts_round_trip_and_balance(store: &dyn Store) {
        for account in [
            LedgerAccount::PayoutsPending,
            LedgerAccount::ExternalPayouts,
        ] {
            let name = account.to_string();
            assert_eq!(name.parse::<LedgerAccount>().unwrap(), account);
            assert!(!account.is_user_wallet());
        }
        assert_eq!(LedgerAccount::PayoutsPending.to_string(), "payouts:pending");
        assert_eq!(
            LedgerAccount::ExternalPayouts.to_string(),
            "external:payouts"
        );
        let ann = account(store, "ann").await;
        top_up(store, ann, Money(10_000_000)).await;
        let hold = |amount| {
            booking(
                LedgerAccount::User(ann),
                LedgerAccount::PayoutsPending,
                Money(amount),
            )
        };
        // One payout is sent; another is returned to her wallet.
        let sent = store
            .create_payment(
                &payment(ann, PaymentKind::Payout, Money(6_000_000), None),
                Some(&hold(6_000_000)),
            )
            .await
            .unwrap();
        let returned = store
            .create_payment(
                &payment(ann, PaymentKind::Payout, Money(3_000_000), None),
                Some(&hold(3_000_000)),
            )
            .await
            .unwrap();
        assert_eq!(
            store.balance(&LedgerAccount::PayoutsPending).await.unwrap(),
            Money(9_000_000)
        );
        store
            .update_payment(
                &moved(&sent, PaymentState::Completed),
                Some(&booking(
                    LedgerAccount::PayoutsPending,
                    LedgerAccount::ExternalPayouts,
                    Money(6_000_000),
                )),
            )
            .await
            .unwrap();
        store
            .update_payment(
                &moved(&returned, PaymentState::Failed),
                Some(&booking(
                    LedgerAccount::PayoutsPending,
                    LedgerAccount::User(ann),
                    Money(3_000_000),
                )),
            )
            .await
            .unwrap();
        let balances = store.balances().await.unwrap();
        let of = |account| {
            balances
                .iter()
                .find(|(a, _)| *a == account)
                .map(|(_, m)| *m)
        };
        assert_eq!(of(LedgerAccount::PayoutsPending), Some(Money::ZERO));
        assert_eq!(of(LedgerAccount::ExternalPayouts), Some(Money(6_000_000)));
        assert_eq!(of(LedgerAccount::User(ann)), Some(Money(4_000_000)));
        assert_eq!(of(LedgerAccount::ExternalTopups), Some(Money(-10_000_000)));
        let history = store
            .entries(&LedgerAccount::ExternalPayouts, None, 10)
            .await
            .unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].entry.balance_after, Money(6_000_000));
        assert_ledger_sound(store).await;
    }
}

macro_rules! conformance {
    ($backend:ident: $($story:ident),+ $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $story() {
                    let fixture = super::$backend().await;
                    super::stories::$story(fixture.store.as_ref()).await;
                }
            )+
        }
    };
}

macro_rules! both_backends {
    ($($story:ident),+ $(,)?) => {
        conformance!(embedded: $($story),+);
        conformance!(redis: $($story),+);
    };
}

macro_rules! both_backends_shared {
    ($($story:ident),+ $(,)?) => {
        mod shared {
            mod embedded {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $story() {
                        let fixture = super::super::embedded().await;
                        super::super::shared_stories::$story(fixture.store.clone()).await;
                    }
                )+
            }
            mod redis {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $story() {
                        let fixture = super::super::redis().await;
                        super::super::shared_stories::$story(fixture.store.clone()).await;
                    }
                )+
            }
        }
    };
}

both_backends_shared!(
    racing_payment_updates_move_money_once,
    racing_setting_writes_have_one_winner,
);

both_backends!(
    handles_are_unique,
    sessions_expire_and_revoke,
    sign_out_everywhere_revokes_only_that_accounts_sessions,
    password_change_keeps_the_callers_session_and_revokes_the_rest,
    purge_removes_expired_sessions_and_keeps_live_ones,
    idempotency_records_survive_a_purge_within_their_ttl,
    listing_fee_is_charged_or_nothing_is_written,
    purchase_moves_money_and_takes_a_seat,
    purchase_retry_with_same_key_changes_nothing,
    purchase_refusals_write_nothing,
    concurrent_purchases_never_oversell,
    cancellation_refunds_every_ticket,
    cancellation_needs_the_creator_to_cover_refunds,
    catalogue_is_ordered_filtered_and_paged,
    updates_reindex_and_respect_sold_seats,
    stream_keys_rotate_and_states_change,
    postings_are_balanced_floored_and_idempotent,
    wallet_history_pages_newest_first,
    chat_history_is_ordered_and_bounded,
    chat_messages_are_deleted_once,
    chat_bans_are_per_gig_and_can_be_lifted,
    payment_is_created_with_its_booking,
    payment_retry_with_same_key_returns_the_first_and_books_nothing,
    payment_key_of_another_kind_is_refused,
    payment_whose_booking_would_overdraw_writes_nothing,
    payment_update_is_compare_and_set,
    final_payments_cannot_be_updated,
    unfinished_payments_skip_finals_in_next_attempt_order,
    payments_of_lists_newest_first_per_owner_and_kind,
    payout_ledger_accounts_round_trip_and_balance,
    settings_are_created_once_and_read_back,
    setting_updates_are_compare_and_set,
    settings_are_deleted_by_compare_and_set,
    setting_names_and_sizes_are_checked,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_payments_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (bob, first, pending) = {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let bob = account(&store, "bob").await;
        let first = store
            .create_payment(
                &payment(bob, PaymentKind::TopUp, Money(7), Some("k")),
                Some(&credit(bob, Money(7))),
            )
            .await
            .unwrap();
        let pending = store
            .create_payment(&payment(bob, PaymentKind::TopUp, Money(9), None), None)
            .await
            .unwrap();
        let done = store
            .update_payment(&moved(&first, PaymentState::Completed), None)
            .await
            .unwrap();
        (bob, done, pending)
    };
    let store = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(store.payment(first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(
        store
            .payments_of(bob, PaymentKind::TopUp, 10)
            .await
            .unwrap(),
        [pending.clone(), first.clone()]
    );
    let unfinished = store.unfinished_payments(10).await.unwrap();
    assert_eq!(unfinished.first(), Some(&pending));
    assert_eq!(unfinished.len(), 1);
    // The key is still known: a retry gets the first payment and books nothing.
    let retry = store
        .create_payment(
            &payment(bob, PaymentKind::TopUp, Money(7), Some("k")),
            Some(&credit(bob, Money(7))),
        )
        .await
        .unwrap();
    assert_eq!(retry, first);
    assert_eq!(wallet(&store, bob).await, Money(7));
    let sent = store
        .update_payment(&moved(&pending, PaymentState::Sending), None)
        .await
        .unwrap();
    assert_eq!(sent.version, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_settings_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (kept, gone) = {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let first = store
            .put_setting("grant", &json!({ "access_token": "a" }), None, now())
            .await
            .unwrap();
        let kept = store
            .put_setting(
                "grant",
                &json!({ "access_token": "b" }),
                Some(first.version),
                now(),
            )
            .await
            .unwrap();
        let gone = store
            .put_setting("gone", &json!(1), None, now())
            .await
            .unwrap();
        store.delete_setting("gone", gone.version).await.unwrap();
        (kept, gone)
    };
    let store = EmbeddedStore::open(dir.path()).unwrap();
    assert_eq!(store.setting("grant").await.unwrap(), Some(kept.clone()));
    assert_eq!(store.setting(&gone.name).await.unwrap(), None);
    // The version carries on: a writer holding the version before is still stale.
    let stale = store
        .put_setting("grant", &json!("c"), Some(1), now())
        .await;
    assert!(
        matches!(stale, Err(StoreError::SettingConflict)),
        "{stale:?}"
    );
    let next = store
        .put_setting("grant", &json!("c"), Some(kept.version), now())
        .await
        .unwrap();
    assert_eq!(next.version, 3);
}
