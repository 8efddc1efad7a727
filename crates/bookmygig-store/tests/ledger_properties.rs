//! Property test of the ledger on both backends: random sequences of top-ups, ticket
//! purchases, micropayment postings (some of which would overdraw), cancellations with their
//! refunds, and replays of earlier requests under their idempotency keys. After every step:
//! all balances sum to zero, no user wallet is negative, a refused step and a replay change
//! nothing, and a top-up moves exactly its amount.
//!
//! One redis-server serves the whole run; each case gets a fresh key prefix (and the embedded
//! store a fresh directory), so cases never see each other's data.

#![allow(clippy::expect_used, clippy::unwrap_used)] // A fixture failure is a test failure.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use bookmygig_api::{
    AccountId, Category, EntryKind, GigId, Money, PaymentPointer, TicketId, TransactionId,
};
use bookmygig_store::{
    AccountRecord, Cancellation, EmbeddedStore, GigDetails, GigRecord, GigState, LedgerAccount,
    Purchase, RedisStore, Store, StoreError, TokenHash, Transaction,
};
use bookmygig_testkit::RedisServer;
use proptest::prelude::*;
use time::{Duration, OffsetDateTime};

/// Accounts in a case: 0 is the creator of both gigs, 1–3 are viewers.
const ACCOUNTS: usize = 4;
/// Gigs in a case.
const GIGS: usize = 2;
/// Every gig's ticket price, in micro-USD.
const PRICE: i64 = 20_000;

/// One step of a case.
#[derive(Clone, Debug)]
enum Step {
    /// External money into a wallet.
    TopUp { to: usize, amount: i64 },
    /// A ticket, under an idempotency key drawn from a small set (so keys repeat).
    Buy { buyer: usize, gig: usize, key: u8 },
    /// A micropayment from one wallet to another or to the platform; may overdraw.
    Micropay {
        from: usize,
        to: Option<usize>,
        amount: i64,
    },
    /// The creator cancels a gig, refunding every ticket.
    Cancel { gig: usize },
    /// Sends an earlier posting or purchase again, with its idempotency key.
    Replay { pick: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..ACCOUNTS, 1..60_000i64).prop_map(|(to, amount)| Step::TopUp { to, amount }),
        3 => (1..ACCOUNTS, 0..GIGS, 0..4u8).prop_map(|(buyer, gig, key)| Step::Buy { buyer, gig, key }),
        4 => (0..ACCOUNTS, proptest::option::of(0..ACCOUNTS), 1..40_000i64)
            .prop_map(|(from, to, amount)| Step::Micropay { from, to, amount }),
        1 => (0..GIGS).prop_map(|gig| Step::Cancel { gig }),
        2 => any::<usize>().prop_map(|pick| Step::Replay { pick }),
    ]
}

/// A request that can be sent again.
#[derive(Clone)]
enum Sent {
    Posting(Transaction, AccountId, String),
    Purchase(Purchase),
}

fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .expect("valid nanosecond")
}

fn redis_url() -> &'static str {
    static SERVER: OnceLock<(RedisServer, String)> = OnceLock::new();
    &SERVER
        .get_or_init(|| {
            let server = RedisServer::start();
            let url = server.url();
            (server, url)
        })
        .1
}

async fn snapshot(store: &dyn Store) -> BTreeMap<LedgerAccount, i64> {
    let balances = store.balances().await.expect("balances");
    let sum: i64 = balances.iter().map(|(_, m)| m.0).sum();
    assert_eq!(sum, 0, "balances must sum to zero: {balances:?}");
    for (account, money) in &balances {
        if account.is_user_wallet() {
            assert!(money.0 >= 0, "{account} is negative: {money}");
        }
    }
    balances
        .into_iter()
        .map(|(a, m)| (a, m.0))
        .filter(|(_, m)| *m != 0)
        .collect()
}

async fn run_case(store: Arc<dyn Store>, steps: Vec<Step>) {
    let store = store.as_ref();
    let mut accounts = Vec::new();
    for i in 0..ACCOUNTS {
        let record = AccountRecord {
            id: AccountId::new(),
            handle: format!("user{i}"),
            display_name: format!("User {i}"),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            created_at: now(),
        };
        store.create_account(&record).await.expect("account");
        accounts.push(record.id);
    }
    let creator = accounts[0];
    let mut gigs = Vec::new();
    for i in 0..GIGS {
        let starts_at = now() + Duration::hours(1);
        let id = GigId::new();
        let gig = GigRecord {
            id,
            creator_id: creator,
            details: GigDetails {
                creator_name: "Alice".into(),
                title: format!("Gig {i}"),
                description: String::new(),
                category: Category::Music,
                price: Money(PRICE),
                starts_at,
                ends_at: starts_at + Duration::hours(1),
                capacity: Some(2),
                payment_pointer: PaymentPointer::parse("$wallet.example/alice").unwrap(),
                micropayment_rate: Money(360_000),
                replay_hours: 48,
            },
            stream_key: format!("key-{id}"),
            stream_key_hash: TokenHash([u8::try_from(i).unwrap(); 32]),
            created_at: now(),
            tickets_sold: 0,
            state: GigState::Scheduled,
        };
        // A free listing keeps the creator's wallet for refunds and micropayments.
        let fee = Transaction::transfer(
            EntryKind::ListingFee,
            LedgerAccount::User(creator),
            LedgerAccount::PlatformRevenue,
            Money::ZERO,
            "Listing fee",
            Some(id),
            now(),
        );
        store.create_gig(&gig, &fee).await.expect("gig");
        gigs.push(id);
    }
    let mut sent: Vec<Sent> = Vec::new();
    let mut counter = 0u64;
    for step in steps {
        let before = snapshot(store).await;
        counter += 1;
        match step {
            Step::TopUp { to, amount } => {
                let wallet = LedgerAccount::User(accounts[to]);
                let t = Transaction::transfer(
                    EntryKind::TopUp,
                    LedgerAccount::ExternalTopups,
                    wallet,
                    Money(amount),
                    "Top-up",
                    None,
                    now(),
                );
                let key = format!("topup-{counter}");
                store
                    .post(&t, Some((accounts[to], &key)))
                    .await
                    .expect("a top-up is booked");
                let after = snapshot(store).await;
                assert_eq!(
                    after.get(&wallet).copied().unwrap_or(0),
                    before.get(&wallet).copied().unwrap_or(0) + amount
                );
                sent.push(Sent::Posting(t, accounts[to], key));
            }
            Step::Buy { buyer, gig, key } => {
                let purchase = Purchase {
                    ticket_id: TicketId::new(),
                    transaction_id: TransactionId::new(),
                    gig_id: gigs[gig],
                    buyer: accounts[buyer],
                    idempotency_key: format!("ticket-{key}"),
                    commission_bps: 1_000,
                    at: now(),
                };
                match store.purchase_ticket(&purchase).await {
                    Ok(outcome) => {
                        if outcome.replayed {
                            assert_eq!(snapshot(store).await, before, "a replayed purchase");
                        }
                        sent.push(Sent::Purchase(purchase));
                    }
                    Err(
                        StoreError::InsufficientFunds { .. }
                        | StoreError::SoldOut
                        | StoreError::AlreadyHolder(_)
                        | StoreError::GigClosed
                        | StoreError::IdempotencyKeyReused,
                    ) => assert_eq!(snapshot(store).await, before, "a refused purchase"),
                    Err(other) => panic!("unexpected purchase error: {other}"),
                }
            }
            Step::Micropay { from, to, amount } => {
                let payer = accounts[from];
                let payee = to.map_or(LedgerAccount::PlatformRevenue, |to| {
                    LedgerAccount::User(accounts[to])
                });
                let t = Transaction::transfer(
                    EntryKind::Micropayment,
                    LedgerAccount::User(payer),
                    payee,
                    Money(amount),
                    "Streaming",
                    Some(gigs[0]),
                    now(),
                );
                let key = format!("micro-{counter}");
                let held = before
                    .get(&LedgerAccount::User(payer))
                    .copied()
                    .unwrap_or(0);
                match store.post(&t, Some((payer, &key))).await {
                    Ok(_) => {
                        assert!(held >= amount || payee == LedgerAccount::User(payer));
                        sent.push(Sent::Posting(t, payer, key));
                    }
                    Err(StoreError::InsufficientFunds { balance, needed }) => {
                        assert!(held < amount, "refused though {held} covers {amount}");
                        assert_eq!((balance.0, needed.0), (held, amount));
                        assert_eq!(snapshot(store).await, before, "a refused micropayment");
                    }
                    Err(other) => panic!("unexpected posting error: {other}"),
                }
            }
            Step::Cancel { gig } => {
                let cancellation = Cancellation {
                    gig_id: gigs[gig],
                    transaction_id: TransactionId::new(),
                    at: now(),
                };
                match store.cancel_gig(&cancellation).await {
                    Ok(_) => {
                        for ticket in store.tickets_of_gig(gigs[gig]).await.unwrap() {
                            assert_eq!(
                                ticket.status,
                                bookmygig_api::TicketStatus::Refunded,
                                "every ticket of a cancelled gig is refunded"
                            );
                        }
                    }
                    Err(StoreError::InsufficientFunds { .. }) => {
                        assert_eq!(snapshot(store).await, before, "a refused cancellation");
                    }
                    Err(other) => panic!("unexpected cancellation error: {other}"),
                }
            }
            Step::Replay { pick } => {
                if sent.is_empty() {
                    continue;
                }
                match &sent[pick % sent.len()] {
                    Sent::Posting(t, owner, key) => {
                        store.post(t, Some((*owner, key))).await.expect("a replay");
                    }
                    Sent::Purchase(purchase) => {
                        // Same key: the first ticket comes back, or the first refusal holds.
                        if let Ok(outcome) = store.purchase_ticket(purchase).await {
                            assert!(outcome.replayed, "a replayed key bought another ticket");
                        }
                    }
                }
                assert_eq!(snapshot(store).await, before, "a replay changed balances");
            }
        }
        snapshot(store).await;
    }
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn embedded_ledger_stays_sound(steps in proptest::collection::vec(step(), 1..30)) {
        runtime().block_on(async {
            let dir = tempfile::tempdir().expect("temp dir");
            let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).expect("open"));
            run_case(store, steps).await;
        });
    }

    #[test]
    fn redis_ledger_stays_sound(steps in proptest::collection::vec(step(), 1..30)) {
        static CASE: AtomicU64 = AtomicU64::new(0);
        let prefix = format!("prop{}:", CASE.fetch_add(1, Ordering::Relaxed));
        runtime().block_on(async {
            let store: Arc<dyn Store> = Arc::new(
                RedisStore::connect_with_prefix(redis_url(), &prefix)
                    .await
                    .expect("connect"),
            );
            run_case(store, steps).await;
        });
    }
}
