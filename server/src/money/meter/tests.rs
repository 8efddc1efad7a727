//! The meter driven with paused time against a real embedded store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bookmygig_api::{AccountId, Category, EntryKind, GigId, Money, PaymentPointer};
use bookmygig_store::{
    EmbeddedStore, GigDetails, GigRecord, GigState, LedgerAccount, Store, TokenHash, Transaction,
};
use time::OffsetDateTime;

use super::{LeaseError, Meter, MeteredPair, OneNodeLeases, WatchLeases};

/// $0.36/hour, the server default: 100 micro-USD per second.
const RATE: Money = Money(360_000);

struct Fixture {
    store: Arc<dyn Store>,
    meter: Arc<Meter>,
    viewer: AccountId,
    gig: GigRecord,
    _dir: tempfile::TempDir,
}

async fn fixture(viewer_funds: i64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let viewer = AccountId::new();
    let creator = AccountId::new();
    let top_up = Transaction::transfer(
        EntryKind::TopUp,
        LedgerAccount::ExternalTopups,
        LedgerAccount::User(viewer),
        Money(viewer_funds),
        "top-up",
        None,
        OffsetDateTime::UNIX_EPOCH,
    );
    store.post(&top_up, None).await.unwrap();
    let now = OffsetDateTime::UNIX_EPOCH;
    let gig = GigRecord {
        id: GigId::new(),
        creator_id: creator,
        details: GigDetails {
            creator_name: "Alice".into(),
            title: "Late Night Laughs".into(),
            description: String::new(),
            category: Category::Comedy,
            price: Money::ZERO,
            starts_at: now,
            ends_at: now,
            capacity: None,
            payment_pointer: PaymentPointer::parse("$wallet.example/alice").unwrap(),
            micropayment_rate: RATE,
            replay_hours: 48,
        },
        stream_key: String::new(),
        stream_key_hash: TokenHash([0; 32]),
        created_at: now,
        tickets_sold: 0,
        state: GigState::Live,
    };
    let meter = Meter::new(
        Arc::clone(&store),
        RATE,
        "https://wallet.example/bookmygig".into(),
        Arc::new(OneNodeLeases),
    );
    Fixture {
        store,
        meter,
        viewer,
        gig,
        _dir: dir,
    }
}

async fn balance(store: &Arc<dyn Store>, account: LedgerAccount) -> i64 {
    store.balance(&account).await.unwrap().0
}

#[tokio::test(start_paused = true)]
async fn sixty_seconds_watched_credit_the_creator_rate_times_time_exactly() {
    let f = fixture(1_000_000).await;
    let creator = LedgerAccount::User(f.gig.creator_id);
    let guard = f.meter.watch(f.viewer, &f.gig);
    tokio::time::advance(Duration::from_secs(60)).await;
    f.meter.settle().await;
    assert_eq!(balance(&f.store, creator).await, 6_000);
    drop(guard);
    f.meter.settle().await;
    assert_eq!(balance(&f.store, creator).await, 6_000);
    assert_eq!(
        balance(&f.store, LedgerAccount::User(f.viewer)).await,
        994_000
    );
}

#[tokio::test(start_paused = true)]
async fn sub_micro_amounts_carry_over_instead_of_being_lost() {
    let f = fixture(1_000_000).await;
    let creator = LedgerAccount::User(f.gig.creator_id);
    let _guard = f.meter.watch(f.viewer, &f.gig);
    // 100 micro-USD per second is 0.1 per millisecond: 7 ms at a time pays nothing yet.
    for _ in 0..1_000 {
        tokio::time::advance(Duration::from_millis(7)).await;
        f.meter.settle().await;
    }
    assert_eq!(balance(&f.store, creator).await, 700);
}

#[tokio::test(start_paused = true)]
async fn two_devices_on_one_gig_pay_once() {
    let f = fixture(1_000_000).await;
    let creator = LedgerAccount::User(f.gig.creator_id);
    let first = f.meter.watch(f.viewer, &f.gig);
    let second = f.meter.watch(f.viewer, &f.gig);
    tokio::time::advance(Duration::from_secs(10)).await;
    drop(first);
    tokio::time::advance(Duration::from_secs(10)).await;
    drop(second);
    f.meter.settle().await;
    assert_eq!(balance(&f.store, creator).await, 2_000);
}

#[tokio::test(start_paused = true)]
async fn browsing_pays_the_platform_and_watching_pauses_it() {
    let f = fixture(1_000_000).await;
    let channel = f.meter.open_channel(f.viewer);
    tokio::time::advance(Duration::from_secs(30)).await;
    let watching = f.meter.watch(f.viewer, &f.gig);
    tokio::time::advance(Duration::from_secs(30)).await;
    f.meter.settle().await;
    assert_eq!(
        balance(&f.store, LedgerAccount::PlatformRevenue).await,
        3_000
    );
    assert_eq!(
        balance(&f.store, LedgerAccount::User(f.gig.creator_id)).await,
        3_000
    );
    let status = channel.status.borrow().clone();
    assert!(status.started);
    assert_eq!(status.recipient, "https://wallet.example/alice");
    assert_eq!(status.paid, Money(6_000));
    drop(watching);
    drop(channel);
}

#[tokio::test(start_paused = true)]
async fn a_dry_wallet_pays_to_exactly_zero_stops_and_a_top_up_resumes() {
    let f = fixture(2_500).await;
    let viewer = LedgerAccount::User(f.viewer);
    let channel = f.meter.open_channel(f.viewer);
    let _watching = f.meter.watch(f.viewer, &f.gig);
    tokio::time::advance(Duration::from_secs(60)).await;
    f.meter.settle().await;
    assert_eq!(balance(&f.store, viewer).await, 0);
    assert_eq!(
        balance(&f.store, LedgerAccount::User(f.gig.creator_id)).await,
        2_500
    );
    assert!(channel.status.borrow().stopped);
    assert!(f.meter.is_stopped(f.viewer));
    // Time spent stopped is free.
    tokio::time::advance(Duration::from_secs(60)).await;
    f.meter.settle().await;
    let top_up = Transaction::transfer(
        EntryKind::TopUp,
        LedgerAccount::ExternalTopups,
        viewer,
        Money(10_000),
        "top-up",
        None,
        OffsetDateTime::UNIX_EPOCH,
    );
    f.store.post(&top_up, None).await.unwrap();
    f.meter.settle().await;
    assert!(!channel.status.borrow().stopped);
    tokio::time::advance(Duration::from_secs(10)).await;
    f.meter.settle().await;
    assert_eq!(balance(&f.store, viewer).await, 9_000);
}

/// Leases held in memory, shared by meters standing for two nodes.
#[derive(Debug, Default)]
struct SharedLeases {
    holders: Mutex<HashMap<MeteredPair, usize>>,
}

/// One node's view of [`SharedLeases`].
#[derive(Debug)]
struct NodeLeases {
    shared: Arc<SharedLeases>,
    node: usize,
}

#[async_trait]
impl WatchLeases for NodeLeases {
    async fn claim(&self, pairs: &[MeteredPair]) -> Result<Vec<bool>, LeaseError> {
        let mut holders = self.shared.holders.lock().unwrap();
        Ok(pairs
            .iter()
            .map(|pair| *holders.entry(*pair).or_insert(self.node) == self.node)
            .collect())
    }

    async fn release(&self, pairs: &[MeteredPair]) -> Result<(), LeaseError> {
        let mut holders = self.shared.holders.lock().unwrap();
        for pair in pairs {
            if holders.get(pair) == Some(&self.node) {
                holders.remove(pair);
            }
        }
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn one_viewer_on_two_nodes_pays_once_and_the_other_node_takes_over() {
    let f = fixture(1_000_000).await;
    let creator = LedgerAccount::User(f.gig.creator_id);
    let shared = Arc::new(SharedLeases::default());
    let node = |node| {
        Meter::new(
            Arc::clone(&f.store),
            RATE,
            "https://wallet.example/bookmygig".into(),
            Arc::new(NodeLeases {
                shared: Arc::clone(&shared),
                node,
            }),
        )
    };
    let (a, b) = (node(0), node(1));
    let on_a = a.watch(f.viewer, &f.gig);
    a.claim_leases().await;
    let on_b = b.watch(f.viewer, &f.gig);
    b.claim_leases().await;
    tokio::time::advance(Duration::from_secs(60)).await;
    a.settle().await;
    b.settle().await;
    assert_eq!(balance(&f.store, creator).await, 6_000, "charged once");

    // A stops; B takes over at its next claim and charges from then on only.
    drop(on_a);
    a.settle().await;
    b.claim_leases().await;
    tokio::time::advance(Duration::from_secs(30)).await;
    b.settle().await;
    drop(on_b);
    b.settle().await;
    assert_eq!(balance(&f.store, creator).await, 9_000);
    assert_eq!(
        balance(&f.store, LedgerAccount::User(f.viewer)).await,
        991_000
    );
    assert!(
        shared.holders.lock().unwrap().is_empty(),
        "leases given back"
    );
}

#[tokio::test(start_paused = true)]
async fn the_creator_watching_their_own_gig_pays_nothing() {
    let f = fixture(0).await;
    let _guard = f.meter.watch(f.gig.creator_id, &f.gig);
    tokio::time::advance(Duration::from_secs(60)).await;
    f.meter.settle().await;
    assert!(
        f.store
            .balances()
            .await
            .unwrap()
            .iter()
            .all(|(_, m)| m.0 == 0)
    );
    assert!(!f.meter.is_stopped(f.gig.creator_id));
}
