#![allow(clippy::expect_used, clippy::unwrap_used)] // A harness failure is a test failure.
//! Taking a stream back and keeping a ticket to its devices: rotating the stream key or
//! cancelling the gig cuts the live publisher within 2 s (the chat hears `stream` offline);
//! cancelling also ends every FLV and RTMP viewer and closes the chat with a reason; one ticket
//! plays on at most `--max-streams-per-ticket` devices. The last test does it across two real
//! nodes on one Redis, with the publisher on one node and the requests on the other.

mod common;

use std::time::Duration;

use bookmygig_api::{Gig, GigId, Money, Problem, ServerMessage};
use common::cluster::ClusterNodes;
use common::logs::Logs;
use common::rtmp_raw::{assert_closed_by_server, stalled_rtmp_player};
use common::{
    Backend, ChatSocket, FfmpegPublisher, ServerProcess, TestServer, TokenIn, live_gig_form,
};
use tokio::time::Instant;

/// How long something that should happen at once may take on a busy 2-core machine.
const PATIENCE: Duration = Duration::from_secs(30);
/// What the creator is promised: a taken-back key or a cancelled gig is off air this fast.
const CUTOFF: Duration = Duration::from_secs(2);

/// The RTMP publish URL of `key` on `rtmp` (`HOST:PORT`).
fn publish_url(rtmp: &str, key: &bookmygig_api::StreamKey) -> String {
    format!("rtmp://{rtmp}/live/{}", key.expose())
}

/// Waits (in a blocking thread) for ffmpeg to exit; whether it succeeded.
async fn ffmpeg_exit(publisher: FfmpegPublisher) -> bool {
    tokio::time::timeout(
        PATIENCE,
        tokio::task::spawn_blocking(move || publisher.wait().0),
    )
    .await
    .expect("ffmpeg exits once the server hangs up")
    .expect("the waiting thread")
}

/// A chat message saying `gig` is on air (`live`) or not.
fn stream_is(live: bool) -> impl Fn(&ServerMessage) -> bool {
    move |message| matches!(message, ServerMessage::Stream(s) if s.live == live)
}

/// The status and problem of a refused FLV request.
async fn refused_flv(url: &str) -> (u16, Problem) {
    let response = reqwest::get(url).await.expect("FLV request");
    let status = response.status().as_u16();
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    (status, response.json().await.expect("a problem"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_key_cuts_the_live_publisher_within_two_seconds_and_the_new_key_goes_live() {
    let logs = Logs::capture();
    let server = TestServer::start(Backend::Embedded).await;
    let (creator, gig) = server.live_gig("rotor").await;
    let fan = server.ticket_holder("rotor_fan", gig.id).await;
    let (mut chat, _) = server.enter_chat(&fan, gig.id).await;
    let old = FfmpegPublisher::start(&server.publish_url(&gig), "320x240", 30, 120);
    chat.until(stream_is(true)).await;

    let rotated_at = Instant::now();
    let fresh = creator.rotate_stream_key(gig.id).await.expect("rotated");
    // The server's word that it hung up on the publisher, and the chat's `stream` offline.
    let line = logs
        .await_line_within(
            &[&gig.id.to_string(), "stream key of gig", "was replaced"],
            CUTOFF,
        )
        .await;
    assert!(line.contains("RTMP connection closed"), "{line}");
    chat.until(stream_is(false)).await;
    assert!(
        rotated_at.elapsed() <= CUTOFF + Duration::from_millis(500),
        "the chat heard the stream end {:?} after the rotation",
        rotated_at.elapsed()
    );
    assert!(!ffmpeg_exit(old).await, "the old publisher was cut off");
    assert!(
        !line.contains(fresh.stream_key.expose()),
        "keys are never logged"
    );

    let rtmp = format!("127.0.0.1:{}", server.rtmp_port);
    let _new = FfmpegPublisher::start(&publish_url(&rtmp, &fresh.stream_key), "320x240", 30, 60);
    chat.until(stream_is(true)).await;
    server
        .await_stream(gig.id, PATIENCE, |s| s.live && s.video.is_some())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_live_gig_cuts_the_publisher_ends_flv_and_rtmp_viewers_and_closes_the_chat() {
    let server = TestServer::start(Backend::Embedded).await;
    let (creator, gig) = server.live_gig("canceller").await;
    creator
        .top_up(Money::from_dollars(10), None)
        .await
        .expect("top up for the refunds");
    let fan = server.ticket_holder("cancel_fan", gig.id).await;
    let (mut fan_chat, _) = server.enter_chat(&fan, gig.id).await;
    let (mut host_chat, _) = server.enter_chat(&creator, gig.id).await;
    let publisher = FfmpegPublisher::start(&server.publish_url(&gig), "320x240", 30, 120);
    server
        .await_stream(gig.id, PATIENCE, |s| s.live && s.video.is_some())
        .await;
    let playback = fan.playback(gig.id).await.expect("playback");
    let mut flv = common::flv_viewer::FlvViewer::open(&playback.flv_url).await;
    flv.read_video_frames(3).await;
    let mut rtmp = stalled_rtmp_player(&playback.rtmp_url).await;

    let cancelled_at = Instant::now();
    creator.cancel_gig(gig.id).await.expect("cancelled");
    server.await_stream(gig.id, PATIENCE, |s| !s.live).await;
    assert!(
        cancelled_at.elapsed() <= CUTOFF + Duration::from_millis(500),
        "the publisher was cut {:?} after the cancellation",
        cancelled_at.elapsed()
    );
    assert!(!ffmpeg_exit(publisher).await, "the publisher was cut off");

    // Both chat sockets hear the stream end, then close with a reason a client can show.
    for chat in [&mut fan_chat, &mut host_chat] {
        chat.until(stream_is(false)).await;
        let (code, reason) = chat.closed().await.expect("a close frame");
        assert_eq!(code, 1008);
        assert!(reason.contains("cancelled"), "{reason}");
    }
    // The FLV body ends; the RTMP player's connection is closed.
    while flv.next_tag().await.is_some() {}
    assert_closed_by_server(&mut rtmp).await;

    // Nobody gets back in: the gig is cancelled.
    let token = fan.token().expect("signed in");
    let refused = ChatSocket::connect(&server.chat_url(gig.id), Some(token), TokenIn::Header).await;
    assert!(matches!(refused, Err((409, _))), "{:?}", refused.err());
    let (status, _) = refused_flv(&playback.flv_url).await;
    assert_eq!(status, 403, "a refunded ticket plays nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_ticket_plays_on_two_devices_and_a_third_gets_409_too_many_streams() {
    let server = TestServer::start(Backend::Embedded).await;
    let (_creator, gig) = server.live_gig("limiter").await;
    let fan = server.ticket_holder("limit_fan", gig.id).await;
    let _publisher = FfmpegPublisher::start(&server.publish_url(&gig), "320x240", 30, 120);
    server
        .await_stream(gig.id, PATIENCE, |s| s.live && s.video.is_some())
        .await;
    let playback = fan.playback(gig.id).await.expect("playback");
    let mut first = common::flv_viewer::FlvViewer::open(&playback.flv_url).await;
    let mut second = common::flv_viewer::FlvViewer::open(&playback.flv_url).await;
    first.read_video_frames(2).await;
    second.read_video_frames(2).await;

    let (status, problem) = refused_flv(&playback.flv_url).await;
    assert_eq!(status, 409);
    assert!(problem.code() == "too-many-streams", "{problem:?}");
    assert!(problem.detail.contains("2 devices"), "{problem:?}");
    // A new playback URL is the same account: no way around the limit.
    let again = fan.playback(gig.id).await.expect("playback");
    assert_eq!(refused_flv(&again.flv_url).await.0, 409);
    // RTMP play counts too: refused while two FLV streams run.
    let refused = tokio::process::Command::new("ffprobe")
        .args(["-v", "error", "-rw_timeout", "10000000", &playback.rtmp_url])
        .output()
        .await
        .expect("ffprobe runs");
    assert!(!refused.status.success(), "RTMP play over the limit");

    // A device that stops gives its place back.
    drop(first);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let response = reqwest::get(&playback.flv_url).await.expect("FLV request");
        if response.status() == 200 {
            break;
        }
        assert_eq!(response.status(), 409);
        assert!(Instant::now() < deadline, "the place never came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.read_video_frames(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_too_many_streams_on_the_flv_path() {
    let server = TestServer::start(Backend::Embedded).await;
    let doc: serde_json::Value = reqwest::get(format!("{}/api/v1/openapi.json", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let flv = &doc["paths"]["/live/{file}"]["get"]["responses"];
    assert_eq!(flv["409"]["$ref"], "#/components/responses/Conflict");
    assert!(flv["200"]["content"]["video/x-flv"].is_object(), "{flv}");
    let conflict = doc["components"]["responses"]["Conflict"]["description"]
        .as_str()
        .unwrap();
    assert!(conflict.contains("too-many-streams"), "{conflict}");
}

/// A ticket holder's client on `node`.
async fn holder_on(node: &ServerProcess, gig: GigId, handle: &str) -> bookmygig_client::Client {
    let holder = node.sign_up(handle).await;
    holder.top_up(Money::from_dollars(10), None).await.unwrap();
    holder.buy_ticket(gig, handle).await.unwrap();
    holder
}

/// The chat of `gig` on `node` as `client`, its greeting read.
async fn chat_on(node: &ServerProcess, client: &bookmygig_client::Client, gig: &Gig) -> ChatSocket {
    let url = format!(
        "{}/api/v1/gigs/{}/chat",
        node.base.replacen("http://", "ws://", 1),
        gig.id
    );
    let mut chat = ChatSocket::connect(&url, client.token(), TokenIn::Header)
        .await
        .expect("enters the chat");
    chat.until(|m| matches!(m, ServerMessage::Stream(_))).await;
    chat
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_two_nodes_the_stream_limit_holds_and_a_rotation_on_one_cuts_the_publisher_on_the_other()
 {
    let nodes = ClusterNodes::start(2, &[]);
    let (a, b) = (nodes.node(0), nodes.node(1));
    let creator = a.sign_up("cluster_host").await;
    creator.top_up(Money::from_dollars(99), None).await.unwrap();
    let gig = creator
        .create_gig(&live_gig_form("Cut across nodes"))
        .await
        .unwrap();
    let fan = holder_on(b, gig.id, "cluster_fan").await;
    let mut chat = chat_on(b, &fan, &gig).await;
    let old = FfmpegPublisher::start(
        &publish_url(&a.rtmp, gig.stream_key.as_ref().unwrap()),
        "320x240",
        30,
        120,
    );
    chat.until(stream_is(true)).await;

    // One FLV stream on each node: the ticket's two places, counted in Redis.
    let on_a = bookmygig_client::Client::new(&a.base)
        .unwrap()
        .with_token(fan.token().unwrap().to_owned());
    let mut viewer_a =
        common::flv_viewer::FlvViewer::open(&on_a.playback(gig.id).await.unwrap().flv_url).await;
    let url_b = fan.playback(gig.id).await.unwrap().flv_url;
    let mut viewer_b = common::flv_viewer::FlvViewer::open(&url_b).await;
    viewer_a.read_video_frames(2).await;
    viewer_b.read_video_frames(2).await;
    for url in [&url_b, &on_a.playback(gig.id).await.unwrap().flv_url] {
        let (status, problem) = refused_flv(url).await;
        assert_eq!(status, 409, "{url}");
        assert!(problem.code() == "too-many-streams", "{problem:?}");
    }

    // The creator rotates on node B; the publisher is on node A.
    let creator_b = bookmygig_client::Client::new(&b.base)
        .unwrap()
        .with_token(creator.token().unwrap().to_owned());
    let rotated_at = Instant::now();
    let fresh = creator_b.rotate_stream_key(gig.id).await.unwrap();
    chat.until(stream_is(false)).await;
    assert!(
        rotated_at.elapsed() <= CUTOFF + Duration::from_millis(500),
        "node B's chat heard the stream end {:?} after the rotation",
        rotated_at.elapsed()
    );
    assert!(!ffmpeg_exit(old).await, "the old publisher was cut off");
    while viewer_a.next_tag().await.is_some() {}
    while viewer_b.next_tag().await.is_some() {}

    // The new key goes live on node B; the ended streams gave their places back.
    let _new = FfmpegPublisher::start(&publish_url(&b.rtmp, &fresh.stream_key), "320x240", 30, 60);
    chat.until(stream_is(true)).await;
    let deadline = Instant::now() + PATIENCE;
    let mut again = loop {
        let url = on_a.playback(gig.id).await.unwrap().flv_url;
        let response = reqwest::get(&url).await.expect("FLV request");
        match response.status().as_u16() {
            200 => break response,
            404 | 409 => {}
            other => panic!("unexpected {other}"),
        }
        assert!(
            Instant::now() < deadline,
            "the places never came back or the stream never reached node A"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let first = tokio::time::timeout(PATIENCE, again.chunk())
        .await
        .expect("the stream flows")
        .expect("FLV body");
    assert!(first.is_some_and(|bytes| bytes.starts_with(b"FLV")));
}
