//! Conformance of the per-node seams that have a one-node and a Redis implementation, chosen
//! once at start-up: metering leases ([`WatchLeases`]), stream seats ([`SeatBook`]) and the
//! account throttles ([`AccountThrottle`]). Each case runs against both implementations (the
//! Redis ones on a private real redis-server), so a node behaves the same whichever it has;
//! what only a cluster can show (two nodes competing) is in the cluster tests.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use bookmygig_api::{AccountId, GigId};
use bookmygig_server::cluster::Cluster;
use bookmygig_server::cluster::account_throttle::RedisThrottle;
use bookmygig_server::cluster::stream_seats::RedisSeats;
use bookmygig_server::cluster::watch_lease::RedisWatchLeases;
use bookmygig_server::live::seats::{LocalSeats, SeatBook, SeatHolder};
use bookmygig_server::money::meter::{MeteredPair, OneNodeLeases, WatchLeases};
use bookmygig_server::throttle::{AccountThrottle, LocalThrottle, Scope, Verdict, policy};
use bookmygig_testkit::{RedisServer, eventually};
use tokio::sync::watch;

/// The parts of one node under test, and what keeps the Redis ones alive.
struct Node {
    leases: Arc<dyn WatchLeases>,
    seats: Arc<dyn SeatBook>,
    throttle: Arc<dyn AccountThrottle>,
    _redis: Option<RedisServer>,
    _stop: watch::Sender<bool>,
}

fn one_node() -> Node {
    let (stop, _) = watch::channel(false);
    Node {
        leases: Arc::new(OneNodeLeases),
        seats: LocalSeats::new(),
        throttle: Arc::new(LocalThrottle::default()),
        _redis: None,
        _stop: stop,
    }
}

async fn redis_node() -> Node {
    let redis = RedisServer::start();
    let cluster = Cluster::join(&redis.url(), "http://node-under-test")
        .await
        .expect("joins the cluster");
    let (stop, stopping) = watch::channel(false);
    Node {
        leases: RedisWatchLeases::new(Arc::clone(&cluster)),
        seats: RedisSeats::start(Arc::clone(&cluster), stopping),
        throttle: RedisThrottle::new(cluster),
        _redis: Some(redis),
        _stop: stop,
    }
}

/// Two watches and one browse (of an account watching nothing: the meter never claims a
/// browse lease for an account that watches).
fn pairs() -> Vec<MeteredPair> {
    let (ann, bob, cid) = (AccountId::new(), AccountId::new(), AccountId::new());
    vec![
        MeteredPair {
            account: ann,
            gig: Some(GigId::new()),
        },
        MeteredPair {
            account: bob,
            gig: Some(GigId::new()),
        },
        MeteredPair {
            account: cid,
            gig: None,
        },
    ]
}

async fn leases_are_held_renewed_and_claimable_again_after_release(node: Node) {
    let pairs = pairs();
    assert_eq!(node.leases.claim(&[]).await.unwrap(), Vec::<bool>::new());
    assert_eq!(node.leases.claim(&pairs).await.unwrap(), [true; 3]);
    assert_eq!(
        node.leases.claim(&pairs).await.unwrap(),
        [true; 3],
        "renewed"
    );
    node.leases.release(&pairs[..1]).await.unwrap();
    assert_eq!(
        node.leases.claim(&pairs).await.unwrap(),
        [true; 3],
        "a released lease is this node's again at the next claim"
    );
    node.leases.release(&pairs).await.unwrap();
}

#[tokio::test]
async fn leases_are_held_renewed_and_claimable_again_after_release_one_node() {
    leases_are_held_renewed_and_claimable_again_after_release(one_node()).await;
}

#[tokio::test]
async fn leases_are_held_renewed_and_claimable_again_after_release_redis() {
    leases_are_held_renewed_and_claimable_again_after_release(redis_node().await).await;
}

async fn seats_count_streams_per_account_and_gig_and_come_back_when_released(node: Node) {
    let (account, gig) = (AccountId::new(), GigId::new());
    let holder = |id| SeatHolder { account, gig, id };
    assert!(node.seats.take(&holder(1), 2).await.unwrap());
    assert!(node.seats.take(&holder(2), 2).await.unwrap());
    assert!(
        !node.seats.take(&holder(3), 2).await.unwrap(),
        "a third stream over a limit of two"
    );
    let other_gig = SeatHolder {
        account,
        gig: GigId::new(),
        id: 4,
    };
    assert!(
        node.seats.take(&other_gig, 2).await.unwrap(),
        "another gig counts apart"
    );
    node.seats.release(&holder(1));
    let seats = Arc::clone(&node.seats);
    eventually(
        "a released seat is free again",
        Duration::from_secs(5),
        || {
            let seats = Arc::clone(&seats);
            async move {
                match seats.take(&holder(3), 2).await {
                    Ok(true) => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            }
        },
    )
    .await;
}

#[tokio::test]
async fn seats_count_streams_per_account_and_gig_and_come_back_when_released_one_node() {
    seats_count_streams_per_account_and_gig_and_come_back_when_released(one_node()).await;
}

#[tokio::test]
async fn seats_count_streams_per_account_and_gig_and_come_back_when_released_redis() {
    seats_count_streams_per_account_and_gig_and_come_back_when_released(redis_node().await).await;
}

async fn a_handle_is_locked_after_its_free_failures_and_a_success_clears_them(node: Node) {
    let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
    for attempt in 0..policy::SIGN_IN_FREE_FAILURES {
        assert_eq!(
            node.throttle.begin_sign_in("ann", ip).await.unwrap(),
            Verdict::Allowed,
            "attempt {attempt} is free"
        );
    }
    assert!(matches!(
        node.throttle.begin_sign_in("ann", ip).await.unwrap(),
        Verdict::Wait {
            scope: Scope::Handle,
            ..
        }
    ));
    assert_eq!(
        node.throttle.begin_sign_in("bob", ip).await.unwrap(),
        Verdict::Allowed,
        "another handle is not locked"
    );
    node.throttle.sign_in_succeeded("bob", ip).await.unwrap();
    assert_eq!(
        node.throttle.begin_sign_in("bob", ip).await.unwrap(),
        Verdict::Allowed
    );
}

#[tokio::test]
async fn a_handle_is_locked_after_its_free_failures_and_a_success_clears_them_one_node() {
    a_handle_is_locked_after_its_free_failures_and_a_success_clears_them(one_node()).await;
}

#[tokio::test]
async fn a_handle_is_locked_after_its_free_failures_and_a_success_clears_them_redis() {
    a_handle_is_locked_after_its_free_failures_and_a_success_clears_them(redis_node().await).await;
}

async fn sign_ups_from_one_address_stop_at_the_burst(node: Node) {
    let ip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 9));
    for _ in 0..policy::SIGN_UP_IP_BURST {
        assert_eq!(
            node.throttle.begin_sign_up(ip).await.unwrap(),
            Verdict::Allowed
        );
    }
    assert!(matches!(
        node.throttle.begin_sign_up(ip).await.unwrap(),
        Verdict::Wait {
            scope: Scope::Address,
            ..
        }
    ));
    let elsewhere = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 10));
    assert_eq!(
        node.throttle.begin_sign_up(elsewhere).await.unwrap(),
        Verdict::Allowed
    );
}

#[tokio::test]
async fn sign_ups_from_one_address_stop_at_the_burst_one_node() {
    sign_ups_from_one_address_stop_at_the_burst(one_node()).await;
}

#[tokio::test]
async fn sign_ups_from_one_address_stop_at_the_burst_redis() {
    sign_ups_from_one_address_stop_at_the_burst(redis_node().await).await;
}
