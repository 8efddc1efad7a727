//! Live video across a cluster: three real server processes on one real redis-server, ffmpeg
//! publishing to one node, ffprobe and plain HTTP-FLV viewers on the others. Proves the stream
//! registry (one publisher per gig on any node), the relays (one connection per other node,
//! however many viewers it has), and what happens when the publishing node is SIGKILLed.

#![allow(clippy::expect_used, clippy::unwrap_used)] // A harness failure is a test failure.

mod common;

use std::process::Command;
use std::time::Duration;

use bookmygig_api::ServerMessage;
use bookmygig_api::{Gig, GigId, GigStatus, Money, Playback, StreamStatus};
use bookmygig_client::Client;
use bookmygig_media::flv::{FlvReader, TagKind};
use bookmygig_media::video::parse_video_tag;
use bookmygig_server::cluster::registry::{HEARTBEAT, STREAM_TTL};
use bookmygig_server::cluster::relay::RELAY_LINGER;
use bookmygig_server::cluster::sweeper::SWEEP_INTERVAL;
use common::cluster::ClusterNodes;
use common::{ChatSocket, FfmpegPublisher, ServerProcess, TokenIn, live_gig_form, require_tool};
use tokio::time::Instant;

/// Viewers watching through the nodes that do not hold the publisher.
const VIEWERS: usize = 20;
/// How long something that should happen at once may take on a busy 2-core machine.
const PATIENCE: Duration = Duration::from_secs(30);

fn publish_url(node: &ServerProcess, gig: &Gig) -> String {
    let key = gig.stream_key.as_ref().expect("the creator sees the key");
    format!("rtmp://{}/live/{}", node.rtmp, key.expose())
}

async fn stream_status(node: &ServerProcess, gig: GigId) -> Option<StreamStatus> {
    let response = reqwest::get(format!("{}/api/v1/gigs/{gig}/stream", node.base))
        .await
        .ok()?;
    response.json().await.ok()
}

/// Waits until `node` reports a stream status for `gig` that satisfies `done`.
async fn await_status(
    node: &ServerProcess,
    gig: GigId,
    within: Duration,
    done: impl Fn(&StreamStatus) -> bool,
) -> StreamStatus {
    let deadline = Instant::now() + within;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        let status = stream_status(node, gig).await;
        if let Some(status) = status.as_ref().filter(|s| done(s)) {
            return status.clone();
        }
        assert!(
            Instant::now() < deadline,
            "{} never reported the awaited stream state; last: {status:?}",
            node.base
        );
    }
}

/// Waits until `node` stores `gig` with `status`.
async fn await_gig_status(node: &ServerProcess, gig: GigId, status: GigStatus, within: Duration) {
    let deadline = Instant::now() + within;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        let seen = node.client().gig(gig).await.map(|g| g.status);
        if matches!(&seen, Ok(s) if *s == status) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} never showed the gig {status:?}; last: {seen:?}",
            node.base
        );
    }
}

/// A gauge from `node`'s /metrics (`name` with its labels), `None` when absent.
async fn gauge(node: &ServerProcess, name: &str) -> Option<u64> {
    let text = reqwest::get(format!("{}/metrics", node.metrics_base))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

fn ffprobe_streams(url: &str) -> String {
    require_tool("ffprobe", "ffmpeg");
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-rw_timeout", "15000000"])
        .args(["-show_entries", "stream=codec_type,codec_name"])
        .args(["-of", "compact", url])
        .output()
        .expect("ffprobe runs");
    assert!(
        output.status.success(),
        "ffprobe failed on {}: {}",
        url.split('?').next().unwrap_or_default(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn assert_h264_and_aac(url: &str) {
    let probed = ffprobe_streams(url);
    assert!(
        probed.contains("codec_name=h264|codec_type=video"),
        "{probed}"
    );
    assert!(
        probed.contains("codec_name=aac|codec_type=audio"),
        "{probed}"
    );
}

/// One HTTP-FLV viewer: connects, reports once it has a keyframe, then reads until the stream
/// ends; returns whether the end was a clean end of the body.
fn spawn_viewer(
    url: String,
    started: tokio::sync::mpsc::Sender<()>,
) -> tokio::task::JoinHandle<bool> {
    tokio::spawn(async move {
        let mut response = reqwest::get(&url).await.expect("FLV request");
        assert_eq!(response.status(), 200, "the viewer is let in");
        let mut reader = FlvReader::new();
        let mut keyframe_seen = false;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    reader.push(&chunk);
                    while let Some(tag) = reader.next_tag().expect("valid FLV") {
                        let keyframe = tag.kind == TagKind::Video
                            && parse_video_tag(&tag.data).is_ok_and(|v| v.is_keyframe());
                        if keyframe && !keyframe_seen {
                            keyframe_seen = true;
                            let _ = started.send(()).await;
                        }
                    }
                }
                Ok(None) => return keyframe_seen,
                Err(_) => return false,
            }
        }
    })
}

/// Waits until `node`'s gauge `name` reads `value`.
async fn await_gauge(node: &ServerProcess, name: &str, value: u64, within: Duration) {
    let deadline = Instant::now() + within;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        let seen = gauge(node, name).await;
        if seen == Some(value) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} never showed {name} {value}; last: {seen:?}",
            node.base
        );
    }
}

/// A ticket holder, signed in on every node (sessions live in Redis).
struct Holder {
    token: String,
}

impl Holder {
    /// Playback URLs handed out by `node`.
    async fn playback_on(&self, node: &ServerProcess, gig: GigId) -> Playback {
        Client::new(&node.base)
            .expect("client")
            .with_token(self.token.clone())
            .playback(gig)
            .await
            .expect("playback")
    }
}

/// A gig on air: its creator signed up on node A, a ticket holder, and ffmpeg publishing.
struct Show {
    gig: Gig,
    viewer: Holder,
    publisher: FfmpegPublisher,
}

impl Show {
    /// Registers a gig, sells a ticket and publishes to `node` until the node reports the
    /// stream with its facts.
    async fn publish_to(node: &ServerProcess) -> Self {
        let creator = node.sign_up("alice").await;
        creator
            .top_up(Money::from_dollars(99), None)
            .await
            .expect("top up");
        let gig = creator
            .create_gig(&live_gig_form("Across the cluster"))
            .await
            .expect("gig");
        let viewer = node.sign_up("bob").await;
        viewer.top_up(Money::from_dollars(10), None).await.unwrap();
        viewer.buy_ticket(gig.id, "cluster-live").await.unwrap();
        let publisher = FfmpegPublisher::start(&publish_url(node, &gig), "320x240", 30, 600);
        await_live_with_facts(node, gig.id).await;
        Show {
            gig,
            viewer: Holder {
                token: viewer.token().expect("signed in").to_owned(),
            },
            publisher,
        }
    }
}

/// Waits until `node` reports `gig` live with h264 video and audio facts.
async fn await_live_with_facts(node: &ServerProcess, gig: GigId) {
    let status = await_status(node, gig, PATIENCE, |s| {
        s.live && s.video.is_some() && s.audio.is_some()
    })
    .await;
    assert_eq!(status.video.unwrap().codec, "h264", "{}", node.base);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_published_on_one_node_is_relayed_once_per_node_and_survives_its_node() {
    // Every viewer plays on the one ticket: lift the devices-per-ticket limit.
    let mut cluster = ClusterNodes::start(3, &["--max-streams-per-ticket", "100"]);
    let (a, b, c) = (cluster.node(0), cluster.node(1), cluster.node(2));

    let show = Show::publish_to(a).await;
    let gig = show.gig.clone();
    let on_a = show.publisher;
    for node in [b, c] {
        await_live_with_facts(node, gig.id).await;
    }

    // ffprobe through B and C: the relays carry h264 + aac.
    let (flv_b, flv_c) = (
        show.viewer.playback_on(b, gig.id).await.flv_url,
        show.viewer.playback_on(c, gig.id).await.flv_url,
    );
    assert!(flv_b.starts_with(&b.base) && flv_c.starts_with(&c.base));
    assert_h264_and_aac(&flv_b);
    assert_h264_and_aac(&flv_c);
    // RTMP play through a node without the publisher is relayed too.
    let rtmp_c = show.viewer.playback_on(c, gig.id).await.rtmp_url;
    assert!(rtmp_c.contains(&c.rtmp), "{}", c.rtmp);
    assert_h264_and_aac(&rtmp_c);

    // 20 viewers through B and C, all at once.
    let (started_tx, mut started) = tokio::sync::mpsc::channel(VIEWERS);
    let viewers: Vec<_> = (0..VIEWERS)
        .map(|i| {
            let url = if i % 2 == 0 { &flv_b } else { &flv_c };
            spawn_viewer(url.clone(), started_tx.clone())
        })
        .collect();
    drop(started_tx);
    for _ in 0..VIEWERS {
        tokio::time::timeout(PATIENCE, started.recv())
            .await
            .expect("every viewer gets a keyframe in time")
            .expect("a viewer task ended early");
    }
    let relay_gauge = format!("bookmygig_relay_connections{{gig=\"{}\"}}", gig.id);
    assert_eq!(
        gauge(a, &relay_gauge).await,
        Some(2),
        "exactly one relay connection per other node"
    );
    for node in [b, c] {
        assert_eq!(gauge(node, "bookmygig_relayed_streams").await, Some(1));
        // (ffprobe's connections before may take a moment to be noticed gone.)
        await_gauge(node, "bookmygig_viewers", 10, PATIENCE).await;
    }
    let across = await_status(a, gig.id, PATIENCE, |s| s.viewers == VIEWERS as u32).await;
    assert!(across.live);
    await_status(c, gig.id, PATIENCE, |s| s.viewers == VIEWERS as u32).await;
    assert_eq!(
        gauge(a, &relay_gauge).await,
        Some(2),
        "still one relay connection per node"
    );

    // A chat member on C, to hear the stream go and come back.
    let chat_url = format!(
        "{}/api/v1/gigs/{}/chat",
        c.base.replacen("http://", "ws://", 1),
        gig.id
    );
    let mut chat = ChatSocket::connect(&chat_url, Some(&show.viewer.token), TokenIn::Header)
        .await
        .expect("the ticket holder enters the chat on C");
    chat.until(|m| matches!(m, ServerMessage::Stream(s) if s.live))
        .await;

    // SIGKILL the publishing node: B and C take the gig off air within the TTL.
    cluster.kill(0);
    drop(on_a);
    let killed_at = Instant::now();
    let (b, c) = (cluster.node(1), cluster.node(2));
    let limit = STREAM_TTL + SWEEP_INTERVAL + Duration::from_secs(2);
    for node in [b, c] {
        await_status(node, gig.id, limit, |s| !s.live).await;
        await_gig_status(node, gig.id, GigStatus::Offline, limit).await;
    }
    chat.until(|m| matches!(m, ServerMessage::Stream(s) if !s.live))
        .await;
    let took = killed_at.elapsed();
    assert!(took <= limit, "offline everywhere after {took:?}");
    eprintln!("offline on B and C {took:?} after node A was killed");
    for viewer in viewers {
        tokio::time::timeout(PATIENCE, viewer)
            .await
            .expect("every relayed viewer is told the stream finished")
            .expect("viewer task");
    }

    // Republish to B: live again on B and C, and C relays from B now.
    let _on_b = FfmpegPublisher::start(&publish_url(b, &gig), "320x240", 30, 600);
    for node in [b, c] {
        await_status(node, gig.id, PATIENCE, |s| s.live && s.video.is_some()).await;
        await_gig_status(node, gig.id, GigStatus::Live, PATIENCE).await;
    }
    chat.until(|m| matches!(m, ServerMessage::Stream(s) if s.live))
        .await;
    assert_h264_and_aac(&show.viewer.playback_on(c, gig.id).await.flv_url);

    // With its last viewer gone, C's relay lingers a little, then ends.
    await_gauge(
        b,
        &relay_gauge,
        0,
        RELAY_LINGER + HEARTBEAT + Duration::from_secs(5),
    )
    .await;
    assert_eq!(gauge(c, "bookmygig_relayed_streams").await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_publisher_and_tokenless_relays_are_refused_and_a_lapsed_claim_is_taken_back() {
    let cluster = ClusterNodes::start(2, &[]);
    let (a, b) = (cluster.node(0), cluster.node(1));
    let show = Show::publish_to(a).await;
    let gig = show.gig.clone();

    // A second publisher is refused on the other node too, and the first keeps the gig.
    let second = FfmpegPublisher::start(&publish_url(b, &gig), "320x240", 30, 5);
    let (ok, said) = second.wait();
    assert!(!ok, "a second publisher on node B is refused: {said}");
    assert!(stream_status(a, gig.id).await.is_some_and(|s| s.live));

    // The internal endpoint wants a relay token: none, or a playback token, is refused; and
    // it is not in the public API document.
    let flv = show.viewer.playback_on(b, gig.id).await.flv_url;
    let internal = format!("{}/internal/v1/live/{}.flv", a.internal_base, gig.id);
    let http = reqwest::Client::new();
    // Neither the relay endpoint nor the metrics are on the public listener.
    for private in [
        format!("{}/internal/v1/live/{}.flv", a.base, gig.id),
        format!("{}/metrics", a.base),
    ] {
        assert_eq!(
            http.get(&private).send().await.unwrap().status(),
            404,
            "{private}"
        );
    }
    assert_eq!(http.get(&internal).send().await.unwrap().status(), 403);
    let playback_token = flv.split("token=").nth(1).unwrap();
    assert_eq!(
        http.get(&internal)
            .bearer_auth(playback_token)
            .send()
            .await
            .unwrap()
            .status(),
        403,
        "a playback token is no relay token"
    );
    let openapi = reqwest::get(format!("{}/api/v1/openapi.json", a.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!openapi.contains("/internal"));

    // The claim lapses (as if Redis had been out for longer than the TTL): the publishing node
    // takes it back, and the gig is live on both nodes again (whichever ran first, its renewal
    // or a sweeper).
    let redis = redis::Client::open(cluster.redis().url()).unwrap();
    let mut redis = redis.get_multiplexed_async_connection().await.unwrap();
    let entry = format!("bmg:stream:{}", gig.id);
    let _: () = redis::cmd("DEL")
        .arg(&entry)
        .query_async(&mut redis)
        .await
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        let back: bool = redis::cmd("EXISTS")
            .arg(&entry)
            .query_async(&mut redis)
            .await
            .unwrap();
        if back {
            break;
        }
        assert!(Instant::now() < deadline, "the claim was never taken back");
    }
    for node in [a, b] {
        await_status(node, gig.id, PATIENCE, |s| s.live).await;
        await_gig_status(node, gig.id, GigStatus::Live, PATIENCE).await;
    }
}

#[tokio::test]
async fn the_registry_claims_once_releases_only_its_own_claim_and_hands_each_orphan_to_one_node() {
    use bookmygig_server::cluster::Cluster;
    use bookmygig_server::cluster::registry::{RegistryError, StreamRegistry};

    let redis = bookmygig_testkit::RedisServer::start();
    let join = |url: &'static str| {
        let redis_url = redis.url();
        async move { StreamRegistry::new(Cluster::join(&redis_url, url).await.expect("joins")) }
    };
    let (one, two) = (join("http://one").await, join("http://two").await);
    let gig = GigId::new();

    let first = one.claim(gig).await.expect("the first claim wins");
    assert!(matches!(two.claim(gig).await, Err(RegistryError::Taken(_))));
    let origin = two.origin(gig).await.unwrap().expect("registered");
    assert_eq!(
        (origin.node, origin.url.as_str()),
        (one.node(), "http://one")
    );
    assert!(
        !two.take_orphan(gig).await.unwrap(),
        "no orphan while claimed"
    );

    // The first claim lapses (as during a long Redis outage) and node two claims the gig: the
    // late release of the first claim must not delete the second.
    let _: () = redis::cmd("DEL")
        .arg(format!("bmg:stream:{gig}"))
        .query_async(&mut one.cluster().connection())
        .await
        .unwrap();
    let second = two.claim(gig).await.expect("free again");
    first.release().await;
    assert_eq!(
        one.origin(gig).await.unwrap().map(|o| o.node),
        Some(two.node()),
        "compare-and-delete left the newer claim alone"
    );
    drop(second);

    // Dropping the claim releases it in the background; then exactly one node takes the orphan.
    let deadline = Instant::now() + PATIENCE;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    while one.origin(gig).await.unwrap().is_some() {
        assert!(
            Instant::now() < deadline,
            "the dropped claim was never released"
        );
        tick.tick().await;
    }
    let taken = [
        one.take_orphan(gig).await.unwrap(),
        two.take_orphan(gig).await.unwrap(),
    ];
    assert_eq!(taken, [true, false], "one node settles the orphan, once");
    assert!(one.tracked().await.unwrap().is_empty());
}
