//! Streaming micropayments end to end: a real server, ffmpeg publishing, HTTP-FLV viewers, the
//! monetization channel read as server-sent events, chat, cancellation and earnings.
//!
//! Time: an acceptance test cannot watch for 60 real seconds, and the server's meter runs on
//! real time here (ffmpeg and sockets rule out tokio's paused clock in this process). So these
//! tests use the highest rate a creator may set ($36/hour = 10 micro-USD per millisecond), a
//! one-second settlement interval and a few seconds of real watching, and check the credit
//! against rate × the time measured around the session, within one interval's worth. The
//! exact "60 s of test time → rate × 60 s" is checked with paused time against the meter
//! itself (`money::meter::tests` in the server library).

#![allow(clippy::expect_used, clippy::unwrap_used)] // A harness failure is a test failure.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bookmygig_api::{
    ChatErrorCode, Earnings, MonetizationEvent, Money, Playback, ServerMessage, StopReason,
};
use bookmygig_client::Client;
use bookmygig_store::LedgerAccount;
use common::{Backend, FfmpegPublisher, TestServer, live_gig_form};

/// $36 per hour: the highest rate, 10 micro-USD per millisecond.
const RATE_PER_MS: i64 = 10;
/// `--settlement-interval` of these tests.
const INTERVAL: Duration = Duration::from_secs(1);
/// What one settlement interval is worth at [`RATE_PER_MS`].
const ONE_INTERVAL: i64 = 1_000 * RATE_PER_MS;
/// How long a test waits for something that should happen within an interval or two.
const PATIENCE: Duration = Duration::from_secs(15);

fn micros_for(elapsed: Duration) -> i64 {
    i64::try_from(elapsed.as_millis()).unwrap() * RATE_PER_MS
}

async fn start() -> TestServer {
    TestServer::start_with(
        Backend::Embedded,
        &["--settlement-interval", "1", "--micropayment-rate", "36"],
    )
    .await
}

/// A live gig at $36/hour with ffmpeg publishing; returns the creator, the gig and ffmpeg.
async fn on_air(server: &TestServer) -> (Client, bookmygig_api::Gig, FfmpegPublisher) {
    let creator = server.sign_up("alice").await;
    creator.top_up(Money::from_dollars(99), None).await.unwrap();
    let mut form = live_gig_form("Live Tonight");
    form.micropayment_rate = Some(Money::from_dollars(36));
    let gig = creator.create_gig(&form).await.unwrap();
    let ffmpeg = FfmpegPublisher::start(&server.publish_url(&gig), "320x240", 25, 120);
    server
        .await_stream(gig.id, PATIENCE, |s| s.live && s.video.is_some())
        .await;
    (creator, gig, ffmpeg)
}

async fn flv(viewer: &Client, gig: bookmygig_api::GigId) -> reqwest::Response {
    let playback: Playback = viewer
        .request(reqwest::Method::POST, &format!("/gigs/{gig}/playback"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // A client of its own, so dropping the response closes the connection.
    let response = reqwest::Client::new()
        .get(&playback.flv_url)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response
}

/// Reads FLV bytes for `duration`; returns how many arrived.
async fn play_for(response: &mut reqwest::Response, duration: Duration) -> usize {
    let mut bytes = 0;
    let _ = tokio::time::timeout(duration, async {
        while let Some(chunk) = response.chunk().await.expect("FLV body") {
            bytes += chunk.len();
        }
    })
    .await;
    bytes
}

async fn balance(server: &TestServer, account: LedgerAccount) -> i64 {
    server.store.balance(&account).await.unwrap().0
}

async fn wallet_of(client: &Client) -> i64 {
    client.wallet(None, Some(1)).await.unwrap().balance.0
}

/// Polls `read` until it returns the same value twice an interval apart (settled).
async fn settled(mut read: impl AsyncFnMut() -> i64) -> i64 {
    let deadline = Instant::now() + PATIENCE;
    let mut last = read().await;
    loop {
        tokio::time::sleep(INTERVAL + Duration::from_millis(200)).await;
        let now = read().await;
        if now == last {
            return now;
        }
        assert!(Instant::now() < deadline, "never settled");
        last = now;
    }
}

/// The monetization channel as a stream of parsed server-sent events.
struct Channel {
    response: reqwest::Response,
    buffer: String,
}

impl Channel {
    async fn open(server: &TestServer, client: &Client) -> Self {
        // The token in the query, as a terminal client that cannot set headers might send it.
        let url = format!(
            "{}/api/v1/monetization?token={}",
            server.base,
            client.token().unwrap()
        );
        let response = reqwest::Client::new().get(url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Channel {
            response,
            buffer: String::new(),
        }
    }

    /// The next event; its SSE name must match its state.
    async fn next(&mut self) -> MonetizationEvent {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = None;
                let mut data = None;
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = Some(value.trim().to_owned());
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data = Some(value.trim().to_owned());
                    }
                }
                let (Some(name), Some(data)) = (name, data) else {
                    continue; // a keep-alive comment
                };
                let event: MonetizationEvent = serde_json::from_str(&data).unwrap();
                assert_eq!(event.name(), name);
                return event;
            }
            let chunk = tokio::time::timeout(PATIENCE, self.response.chunk())
                .await
                .expect("an event in time")
                .unwrap()
                .expect("the channel stays open");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    async fn until(&mut self, wanted: impl Fn(&MonetizationEvent) -> bool) -> MonetizationEvent {
        loop {
            let event = self.next().await;
            if wanted(&event) {
                return event;
            }
        }
    }
}

async fn earnings(creator: &Client) -> Earnings {
    creator
        .request(reqwest::Method::GET, "/me/earnings")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_playing_a_live_gig_credits_the_creator_rate_times_time_within_one_interval() {
    let server = start().await;
    let (creator, gig, _ffmpeg) = on_air(&server).await;
    let viewer = server.ticket_holder("bob", gig.id).await;
    let creator_before = wallet_of(&creator).await;

    let outer = Instant::now();
    let mut response = flv(&viewer, gig.id).await;
    let inner = Instant::now();
    assert!(play_for(&mut response, Duration::from_secs(3)).await > 0);
    // While watching, the creator is credited up to within one settlement interval.
    let so_far = balance(&server, LedgerAccount::User(gig.creator_id)).await - creator_before;
    let watched = inner.elapsed();
    assert!(
        so_far >= micros_for(watched) - 2 * ONE_INTERVAL && so_far <= micros_for(outer.elapsed()),
        "after {watched:?} the creator got {so_far}"
    );
    assert!(play_for(&mut response, Duration::from_secs(2)).await > 0);
    let watched = inner.elapsed();
    drop(response);
    let outer = outer.elapsed();

    let credited = settled(async || wallet_of(&creator).await).await - creator_before;
    assert!(
        credited >= micros_for(watched) && credited <= micros_for(outer) + ONE_INTERVAL,
        "watched {watched:?} (at most {outer:?}), credited {credited}"
    );
    // Two devices pay once: everything the viewer paid went to the creator, at one rate.
    let viewer_paid = Money::from_dollars(10).0 - gig.price.0 - wallet_of(&viewer).await;
    assert_eq!(viewer_paid, credited);
    let report = earnings(&creator).await;
    assert_eq!(report.gigs[0].micropayments.0, credited);
    assert_eq!(report.gigs[0].payment_url, "https://wallet.example/alice");
    server.assert_ledger_sound().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_viewer_on_two_devices_pays_once() {
    let server = start().await;
    let (creator, gig, _ffmpeg) = on_air(&server).await;
    let viewer = server.ticket_holder("bob", gig.id).await;
    let creator_before = wallet_of(&creator).await;
    let outer = Instant::now();
    let (mut first, mut second) = (flv(&viewer, gig.id).await, flv(&viewer, gig.id).await);
    let (a, b) = tokio::join!(
        play_for(&mut first, Duration::from_secs(3)),
        play_for(&mut second, Duration::from_secs(3))
    );
    assert!(a > 0 && b > 0);
    drop((first, second));
    let outer = outer.elapsed();
    let credited = settled(async || wallet_of(&creator).await).await - creator_before;
    assert!(
        credited <= micros_for(outer) + ONE_INTERVAL,
        "two devices for {outer:?} were charged {credited}"
    );
    server.assert_ledger_sound().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsing_with_the_channel_open_credits_the_platform() {
    let server = start().await;
    let viewer = server.sign_up("bob").await;
    viewer.top_up(Money::from_dollars(1), None).await.unwrap();
    let opened = Instant::now();
    let mut channel = Channel::open(&server, &viewer).await;
    assert_eq!(
        channel.next().await,
        MonetizationEvent::Pending { total: Money::ZERO }
    );
    let started = channel
        .until(|e| matches!(e, MonetizationEvent::Started { total, .. } if total.0 > 0))
        .await;
    let MonetizationEvent::Started { recipient, .. } = started else {
        unreachable!()
    };
    assert_eq!(recipient, "https://wallet.example/bookmygig");
    tokio::time::sleep(Duration::from_secs(2)).await;
    drop(channel);
    let held = opened.elapsed();
    let platform = settled(async || balance(&server, LedgerAccount::PlatformRevenue).await).await;
    let paid = Money::from_dollars(1).0 - wallet_of(&viewer).await;
    assert_eq!(platform, paid, "everything paid went to the platform");
    assert!(
        paid > micros_for(Duration::from_secs(2)) && paid <= micros_for(held) + ONE_INTERVAL,
        "browsed {held:?}, paid {paid}"
    );
    server.assert_ledger_sound().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wallet_that_runs_dry_stops_refuses_chat_goes_no_lower_than_zero_and_keeps_playing() {
    let server = start().await;
    let (creator, gig, _ffmpeg) = on_air(&server).await;
    let viewer = server.sign_up("bob").await;
    // The ticket and two seconds' worth at $36/hour.
    viewer
        .top_up(Money(gig.price.0 + 2 * ONE_INTERVAL), None)
        .await
        .unwrap();
    viewer.buy_ticket(gig.id, "ticket").await.unwrap();
    let mut channel = Channel::open(&server, &viewer).await;
    let (mut chat, _) = server.enter_chat(&viewer, gig.id).await;
    chat.say("hello while paying").await;
    chat.until(|m| matches!(m, ServerMessage::Message(_))).await;

    // The viewer plays in the background, counting the FLV bytes it receives.
    let received = Arc::new(AtomicUsize::new(0));
    let player = tokio::spawn({
        let mut response = flv(&viewer, gig.id).await;
        let received = Arc::clone(&received);
        async move {
            while let Ok(Some(chunk)) = response.chunk().await {
                received.fetch_add(chunk.len(), Ordering::Relaxed);
            }
        }
    });
    let stopped = channel
        .until(|e| matches!(e, MonetizationEvent::Stopped { .. }))
        .await;
    assert_eq!(
        stopped,
        MonetizationEvent::Stopped {
            reason: StopReason::WalletEmpty,
            total: Money(2 * ONE_INTERVAL),
        }
    );
    assert_eq!(wallet_of(&viewer).await, 0);
    // Every micro-USD went somewhere: the creator while playing, the platform for the moment
    // the channel was open before playback began.
    let browsing = balance(&server, LedgerAccount::PlatformRevenue).await - 99_000_000;
    assert_eq!(
        earnings(&creator).await.gigs[0].micropayments.0 + browsing,
        2 * ONE_INTERVAL
    );

    chat.say("hello after the money ran out").await;
    let refused = chat
        .until(|m| matches!(m, ServerMessage::Error { .. }))
        .await;
    let ServerMessage::Error { code, detail } = refused else {
        unreachable!()
    };
    assert_eq!(code, ChatErrorCode::WalletEmpty);
    assert!(detail.contains("top up"), "{detail}");

    // The paid-for playback goes on.
    let before = received.load(Ordering::Relaxed);
    let flowing = tokio::time::timeout(PATIENCE, async {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        while received.load(Ordering::Relaxed) <= before {
            tick.tick().await;
        }
    })
    .await;
    assert!(flowing.is_ok(), "no FLV after the stop");
    assert!(!player.is_finished(), "playback was cut");
    assert_eq!(wallet_of(&viewer).await, 0);
    server.assert_ledger_sound().await;

    // A top-up resumes payments and chat.
    viewer.top_up(Money::from_dollars(1), None).await.unwrap();
    channel
        .until(|e| matches!(e, MonetizationEvent::Started { .. }))
        .await;
    chat.say("back").await;
    chat.until(|m| matches!(m, ServerMessage::Message(_))).await;
    player.abort();
    server.assert_ledger_sound().await;
}

#[tokio::test]
async fn cancelling_a_gig_refunds_every_ticket_and_earnings_agree_with_wallets() {
    let server = TestServer::start_with(Backend::Embedded, &["--ticket-commission", "10"]).await;
    let (creator, gig) = server.creator_with_gig("alice", None).await;
    let mut buyers = Vec::new();
    for handle in ["bob", "carol", "dave"] {
        let buyer = server.sign_up(handle).await;
        buyer.top_up(Money::from_dollars(10), None).await.unwrap();
        buyer.buy_ticket(gig.id, "ticket").await.unwrap();
        buyers.push(buyer);
    }
    let before = earnings(&creator).await;
    let sold = &before.gigs[0];
    assert_eq!(sold.tickets_sold, 3);
    assert_eq!(sold.ticket_revenue, Money(3 * 6_750_000));
    assert_eq!(sold.listing_fee, Money(-99_000_000));
    assert_eq!(sold.payment_url, "https://wallet.example/alice");

    creator.cancel_gig(gig.id).await.unwrap();
    for buyer in &buyers {
        assert_eq!(wallet_of(buyer).await, Money::from_dollars(10).0);
    }
    let after = earnings(&creator).await;
    let cancelled = &after.gigs[0];
    assert_eq!(cancelled.tickets_sold, 0);
    // Buyers get the full price back: the creator returns its share, the platform its
    // commission.
    assert_eq!(cancelled.refunds.0, -cancelled.ticket_revenue.0);
    assert_eq!(
        cancelled.net.0,
        cancelled.ticket_revenue.0
            + cancelled.refunds.0
            + cancelled.micropayments.0
            + cancelled.listing_fee.0
    );
    // The creator's wallet is what came in from outside plus what the gig netted.
    assert_eq!(
        wallet_of(&creator).await,
        Money::from_dollars(99).0 + after.net.0
    );
    assert_eq!(
        balance(&server, LedgerAccount::PlatformRevenue).await,
        99_000_000
    );
    server.assert_ledger_sound().await;
}

#[tokio::test]
async fn the_channel_and_earnings_need_a_session() {
    let server = start().await;
    let anonymous = reqwest::Client::new();
    for path in ["/api/v1/monetization", "/api/v1/me/earnings"] {
        let response = anonymous
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
}
