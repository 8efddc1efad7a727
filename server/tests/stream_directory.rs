//! Conformance of the stream directory ([`StreamDirectory`]), the seam between one node and
//! many for live streams: each case runs against the single node's directory and the Redis one
//! (on a private real redis-server), so a node behaves the same whichever it has. What only a
//! cluster can show (a second node's claim refused, a relay token admitted) has its own cases;
//! streams relayed between real nodes are in `cluster_live`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use bookmygig_api::GigId;
use bookmygig_server::cluster::Cluster;
use bookmygig_server::cluster::relay_token::{RELAY_TOKEN_TTL, RelayKey, RelayTokenError};
use bookmygig_server::cluster::stream_directory;
use bookmygig_server::live::directory::{DirectoryError, RelayRefusal};
use bookmygig_server::live::{StreamDirectory, StreamHub, StreamSeams};
use bookmygig_store::{EmbeddedStore, Store};
use bookmygig_testkit::RedisServer;
use time::OffsetDateTime;
use tokio::sync::watch;

/// Longest wait for something the directory does in the background.
const PATIENCE: Duration = Duration::from_secs(10);

/// One node's stream directory under test, its hub, and what keeps the Redis one alive.
struct Node {
    directory: Arc<dyn StreamDirectory>,
    hub: Arc<StreamHub>,
    cluster: Option<Arc<Cluster>>,
    stop: watch::Sender<bool>,
    _redis: Option<RedisServer>,
}

fn one_node() -> Node {
    let hub = StreamHub::new();
    let (stop, _) = watch::channel(false);
    Node {
        directory: StreamSeams::one_node(Arc::clone(&hub), None).directory,
        hub,
        cluster: None,
        stop,
        _redis: None,
    }
}

/// A node named `name` joining the cluster on `redis`: its cluster membership, its stream
/// seams, its hub, and the sender that stops it.
async fn join(
    redis: &RedisServer,
    name: &str,
) -> (
    Arc<Cluster>,
    StreamSeams,
    Arc<StreamHub>,
    watch::Sender<bool>,
) {
    let cluster = Cluster::join(&redis.url(), &format!("http://{name}"))
        .await
        .expect("joins the cluster");
    let hub = StreamHub::new();
    let (stop, stopping) = watch::channel(false);
    let seams = stream_directory::seams(&cluster, Arc::clone(&hub), None, stopping)
        .await
        .expect("the Redis directory starts");
    (cluster, seams, hub, stop)
}

async fn redis_node() -> Node {
    let redis = RedisServer::start();
    let (cluster, seams, hub, stop) = join(&redis, "node-under-test").await;
    Node {
        directory: seams.directory,
        hub,
        cluster: Some(cluster),
        stop,
        _redis: Some(redis),
    }
}

async fn a_claim_is_granted_and_after_release_granted_again(node: Node) {
    let gig = GigId::new();
    let claim = node.directory.claim(gig).await.expect("the first claim");
    claim.release().await;
    let again = node
        .directory
        .claim(gig)
        .await
        .expect("claimable after release");
    again.release().await;
}

#[tokio::test]
async fn a_claim_is_granted_and_after_release_granted_again_one_node() {
    a_claim_is_granted_and_after_release_granted_again(one_node()).await;
}

#[tokio::test]
async fn a_claim_is_granted_and_after_release_granted_again_redis() {
    a_claim_is_granted_and_after_release_granted_again(redis_node().await).await;
}

async fn an_offline_gig_has_no_watchable_stream_and_an_offline_status(node: Node) {
    let gig = GigId::new();
    assert!(
        node.directory
            .watchable_stream(gig)
            .await
            .unwrap()
            .is_none()
    );
    let status = node.directory.status(gig).await.unwrap();
    assert_eq!(
        (
            status.gig_id,
            status.live,
            status.viewers,
            status.started_at
        ),
        (gig, false, 0, None)
    );
    assert!(status.video.is_none() && status.audio.is_none());
}

#[tokio::test]
async fn an_offline_gig_has_no_watchable_stream_and_an_offline_status_one_node() {
    an_offline_gig_has_no_watchable_stream_and_an_offline_status(one_node()).await;
}

#[tokio::test]
async fn an_offline_gig_has_no_watchable_stream_and_an_offline_status_redis() {
    an_offline_gig_has_no_watchable_stream_and_an_offline_status(redis_node().await).await;
}

async fn a_gig_published_here_is_watched_from_this_nodes_stream_and_is_live(node: Node) {
    let gig = GigId::new();
    let claim = node.directory.claim(gig).await.expect("claimed");
    let publisher = node.hub.start_publishing(gig).expect("the hub's slot");
    let stream = node
        .directory
        .watchable_stream(gig)
        .await
        .unwrap()
        .expect("a stream to watch");
    assert!(Arc::ptr_eq(&stream, publisher.stream()));
    let status = node.directory.status(gig).await.unwrap();
    assert_eq!((status.gig_id, status.live), (gig, true));
    drop(publisher);
    claim.release().await;
    assert!(
        node.directory
            .watchable_stream(gig)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_gig_published_here_is_watched_from_this_nodes_stream_and_is_live_one_node() {
    a_gig_published_here_is_watched_from_this_nodes_stream_and_is_live(one_node()).await;
}

#[tokio::test]
async fn a_gig_published_here_is_watched_from_this_nodes_stream_and_is_live_redis() {
    a_gig_published_here_is_watched_from_this_nodes_stream_and_is_live(redis_node().await).await;
}

async fn a_relay_request_without_a_valid_token_is_not_admitted(node: Node) {
    let refusal = node
        .directory
        .admit_relay(None, GigId::new(), OffsetDateTime::now_utc())
        .expect_err("no token, no relay");
    match node.cluster {
        None => assert_eq!(
            refusal,
            RelayRefusal::NotServed,
            "one node serves no relays"
        ),
        Some(_) => assert_eq!(refusal, RelayRefusal::Token(RelayTokenError::Invalid)),
    }
}

#[tokio::test]
async fn a_relay_request_without_a_valid_token_is_not_admitted_one_node() {
    a_relay_request_without_a_valid_token_is_not_admitted(one_node()).await;
}

#[tokio::test]
async fn a_relay_request_without_a_valid_token_is_not_admitted_redis() {
    a_relay_request_without_a_valid_token_is_not_admitted(redis_node().await).await;
}

#[tokio::test]
async fn a_one_node_claim_is_never_lost() {
    let node = one_node();
    let mut claim = node.directory.claim(GigId::new()).await.unwrap();
    // Nothing can take a single node's gig: `lost` stays pending however long one waits.
    tokio::time::pause();
    assert!(
        tokio::time::timeout(Duration::from_secs(24 * 3600), claim.lost())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn one_node_start_takes_no_task_on_an_empty_embedded_store() {
    let node = one_node();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let task = node
        .directory
        .start(store, node.stop.subscribe())
        .await
        .unwrap();
    assert!(task.is_none(), "the start-up recovery runs at once");
}

#[tokio::test]
async fn in_a_cluster_a_second_claim_is_refused_until_the_first_is_released() {
    let redis = RedisServer::start();
    let (_, one, _, _stop_one) = join(&redis, "one").await;
    let (_, two, _, _stop_two) = join(&redis, "two").await;
    let gig = GigId::new();
    let first = one
        .directory
        .claim(gig)
        .await
        .expect("the first claim wins");
    assert!(matches!(
        two.directory.claim(gig).await,
        Err(DirectoryError::Taken(_))
    ));
    assert!(
        matches!(
            one.directory.claim(gig).await,
            Err(DirectoryError::Taken(_))
        ),
        "the same node cannot claim twice either"
    );
    first.release().await;
    let second = two.directory.claim(gig).await.expect("free again");
    second.release().await;
}

#[tokio::test]
async fn in_a_cluster_a_relay_token_signed_with_the_shared_secret_is_admitted_for_its_gig() {
    let node = redis_node().await;
    let cluster = node.cluster.as_ref().unwrap();
    let key = RelayKey::derive(&cluster.shared_secret().await.unwrap());
    let (gig, now) = (GigId::new(), OffsetDateTime::now_utc());
    let token = key.sign(gig, now + RELAY_TOKEN_TTL);
    assert_eq!(node.directory.admit_relay(Some(&token), gig, now), Ok(()));
    assert_eq!(
        node.directory.admit_relay(Some(&token), GigId::new(), now),
        Err(RelayRefusal::Token(RelayTokenError::WrongGig))
    );
}

#[tokio::test]
async fn in_a_cluster_start_sweeps_until_the_node_stops() {
    let node = redis_node().await;
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let task = node
        .directory
        .start(store, node.stop.subscribe())
        .await
        .unwrap()
        .expect("the sweeper runs while the node does");
    node.stop.send(true).unwrap();
    tokio::time::timeout(PATIENCE, task)
        .await
        .expect("the sweeper stops with the node")
        .unwrap();
}

#[tokio::test]
async fn a_cluster_signs_playback_tokens_with_the_shared_secret_unless_a_flag_says_otherwise() {
    let redis = RedisServer::start();
    let (cluster, one, _, _stop_one) = join(&redis, "one").await;
    let (_, two, _, _stop_two) = join(&redis, "two").await;
    let grant = bookmygig_server::playback::PlaybackGrant {
        gig_id: GigId::new(),
        account_id: bookmygig_api::AccountId::new(),
        expires_at: OffsetDateTime::now_utc() + time::Duration::minutes(1),
    };
    let token = one.playback_key.sign(&grant);
    let now = OffsetDateTime::now_utc();
    assert!(
        two.playback_key
            .verify(Some(&token), grant.gig_id, now)
            .is_ok(),
        "a token from one node opens another"
    );
    let flag = bookmygig_server::config::PlaybackSecret([5; 32]);
    let (_stop, stopping) = watch::channel(false);
    let flagged = stream_directory::seams(&cluster, StreamHub::new(), Some(&flag), stopping)
        .await
        .unwrap();
    assert!(
        flagged
            .playback_key
            .verify(Some(&token), grant.gig_id, now)
            .is_err(),
        "--playback-secret wins over the shared secret"
    );
}
