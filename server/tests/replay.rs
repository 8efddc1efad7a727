//! Replays end to end: ffmpeg publishes a real show to a real server, the recording is stored
//! as it streams, and after the show ticket holders play it with ffprobe and ffmpeg, seek in it
//! with range requests, and pay for watching; the creator sees and deletes it; a publisher that
//! drops and comes back, and a server SIGKILLed mid-show, leave one playable recording.

#![allow(clippy::expect_used, clippy::unwrap_used)] // A harness failure is a test failure.

mod common;

use std::process::Command;
use std::time::Duration;

use bookmygig_api::{GigId, GigPatch, GigStatus, Money, NewGig, Recording, Replay};
use bookmygig_client::Client;
use bookmygig_testkit::eventually;
use common::{Backend, FfmpegPublisher, ServerProcess, TestServer, require_tool};
use reqwest::{Method, StatusCode, header};
use time::OffsetDateTime;

/// How long something that should happen at once may take on a busy 2-core machine.
const PATIENCE: Duration = Duration::from_secs(30);

/// A gig on air from now until `seconds` from now, with a replay window of `replay_hours`.
fn show_form(title: &str, seconds: i64, replay_hours: u32) -> NewGig {
    let mut form = common::live_gig_form(title);
    let now = OffsetDateTime::now_utc();
    form.starts_at = now + time::Duration::seconds(5);
    form.ends_at = now + time::Duration::seconds(seconds);
    form.micropayment_rate = Some(Money::from_dollars(36));
    form.replay_hours = Some(replay_hours);
    form
}

fn publish_url(rtmp: &str, gig: &bookmygig_api::Gig) -> String {
    let key = gig.stream_key.as_ref().expect("the creator sees the key");
    format!("rtmp://{rtmp}/live/{}", key.expose())
}

/// Publishes a 640×360 test picture and a tone for `seconds`, and waits for ffmpeg to finish.
fn publish(url: &str, seconds: u32) {
    let (ok, said) = FfmpegPublisher::start(url, "640x360", 30, seconds).wait();
    assert!(ok, "ffmpeg published: {said}");
}

async fn ended(client: &Client, gig: GigId) {
    eventually("the gig ends", Duration::from_secs(120), || async {
        match client.gig(gig).await.expect("gig").status {
            GigStatus::Ended => Ok(()),
            other => Err(other),
        }
    })
    .await;
}

async fn replay(client: &Client, gig: GigId) -> reqwest::Response {
    client
        .request(Method::POST, &format!("/gigs/{gig}/replay"))
        .send()
        .await
        .expect("replay request")
}

async fn replay_url(client: &Client, gig: GigId) -> Replay {
    let response = replay(client, gig).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        response.text().await
    );
    response.json().await.expect("a replay grant")
}

async fn recording(client: &Client, gig: GigId) -> reqwest::Response {
    client
        .request(Method::GET, &format!("/gigs/{gig}/recording"))
        .send()
        .await
        .expect("recording request")
}

/// The problem type's last path segment and the status of a refused request.
async fn refusal(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let problem: bookmygig_api::Problem = response.json().await.expect("a problem body");
    (status, problem.code().to_owned())
}

/// `ffprobe`'s duration of `url` in seconds, and its streams' codecs.
fn probe(url: &str) -> (f64, Vec<String>) {
    require_tool("ffprobe", "ffmpeg");
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration:stream=codec_name",
        ])
        .args(["-of", "default=noprint_wrappers=1", url])
        .output()
        .expect("ffprobe runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "ffprobe: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let duration = text
        .lines()
        .find_map(|l| l.strip_prefix("duration="))
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("a duration in {text}"));
    let codecs = text
        .lines()
        .filter_map(|l| l.strip_prefix("codec_name="))
        .map(str::to_owned)
        .collect();
    (duration, codecs)
}

/// The presentation time of the first video frame `ffmpeg -ss at -i url -frames:v 1` returns,
/// as the stream's timestamps say (`-copyts`).
fn frame_at(url: &str, at: u32) -> f64 {
    require_tool("ffmpeg", "ffmpeg");
    let out = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-nostdin",
            "-ss",
            &at.to_string(),
            "-copyts",
            "-i",
            url,
        ])
        .args(["-frames:v", "1", "-vf", "showinfo", "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "ffmpeg -ss {at}: {said}");
    said.split("pts_time:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("a frame's pts_time in {said}"))
}

/// Decodes the whole file; returns the video frames decoded.
fn decode_all(url: &str) -> u64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args([
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "csv=p=0",
            url,
        ])
        .output()
        .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .trim_end_matches(',')
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_recorded_show_replays_whole_seekable_and_paid_for() {
    let server = TestServer::start_with(Backend::Embedded, &["--settlement-interval", "1"]).await;
    let creator = server.sign_up("creator").await;
    creator.top_up(Money::from_dollars(99), None).await.unwrap();
    let gig = creator
        .create_gig(&show_form("Recorded Live", 66, 48))
        .await
        .unwrap();
    let fan = server.ticket_holder("fan", gig.id).await;
    let stranger = server.sign_up("stranger").await;
    stranger
        .top_up(Money::from_dollars(10), None)
        .await
        .unwrap();

    assert_eq!(
        refusal(replay(&fan, gig.id).await).await,
        (StatusCode::CONFLICT, "not-ended".into()),
        "no replay before the show ends"
    );
    let url = server.publish_url(&gig);
    tokio::task::spawn_blocking(move || publish(&url, 60))
        .await
        .unwrap();
    ended(&fan, gig.id).await;

    let shown = fan.gig(gig.id).await.unwrap();
    assert_eq!(
        shown.replay_until,
        Some(shown.ends_at + time::Duration::hours(48))
    );
    let grant = replay_url(&fan, gig.id).await;
    assert!(
        (grant.duration_ms as i64 - 60_000).abs() <= 2_000,
        "{grant:?}"
    );
    let url = grant.url.clone();
    let (duration, codecs, at_30) = tokio::task::spawn_blocking(move || {
        let (duration, codecs) = probe(&url);
        (duration, codecs, frame_at(&url, 30))
    })
    .await
    .unwrap();
    assert!((duration - 60.0).abs() <= 2.0, "ffprobe says {duration} s");
    assert!(
        codecs.contains(&"h264".to_owned()) && codecs.contains(&"aac".to_owned()),
        "{codecs:?}"
    );
    assert!(
        (at_30 - 30.0).abs() <= 2.0,
        "ffmpeg -ss 30 gave a frame at {at_30} s"
    );

    // A range in the middle: 206 with the bytes asked for; past the end: 416.
    let http = reqwest::Client::new();
    let whole = http.head(&grant.url).send().await.unwrap();
    let len: u64 = whole.headers()[header::CONTENT_LENGTH]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(whole.headers()[header::ACCEPT_RANGES], "bytes");
    let middle = http
        .get(&grant.url)
        .header(
            header::RANGE,
            format!("bytes={}-{}", len / 2, len / 2 + 999),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(middle.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        middle.headers()[header::CONTENT_RANGE],
        format!("bytes {}-{}/{len}", len / 2, len / 2 + 999).as_str()
    );
    assert_eq!(middle.bytes().await.unwrap().len(), 1000);
    let past = http
        .get(&grant.url)
        .header(header::RANGE, format!("bytes={len}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    // Watching pays the creator as live watching does, marked as a replay.
    let mut watching = http.get(&grant.url).send().await.unwrap();
    let _ = watching.chunk().await.unwrap();
    eventually("the replay is paid for", PATIENCE, || async {
        let wallet = fan.wallet(None, Some(50)).await.unwrap();
        match wallet
            .entries
            .iter()
            .find(|e| e.memo.starts_with("Replay: "))
        {
            Some(entry) => Ok(entry.clone()),
            None => Err(wallet
                .entries
                .iter()
                .map(|e| e.memo.clone())
                .collect::<Vec<_>>()),
        }
    })
    .await;
    drop(watching);

    // Without a ticket: 403, for the grant and for the file with another's token.
    assert_eq!(
        refusal(replay(&stranger, gig.id).await).await.0,
        StatusCode::FORBIDDEN
    );
    // The creator sees what is stored; without a window ticket holders are refused.
    let stored: Recording = recording(&creator, gig.id).await.json().await.unwrap();
    assert_eq!((stored.gaps, stored.lost_segments), (0, 0), "{stored:?}");
    assert!(stored.bytes > 1_000_000, "{stored:?}");
    creator
        .update_gig(
            gig.id,
            &GigPatch {
                replay_hours: Some(0),
                ..Default::default()
            },
        )
        .await
        .expect("the window may change after the show");
    assert_eq!(
        refusal(replay(&fan, gig.id).await).await.0,
        StatusCode::FORBIDDEN
    );
    let file = http.get(&grant.url).send().await.unwrap();
    assert_eq!(
        file.status(),
        StatusCode::FORBIDDEN,
        "the URL closes with the window"
    );
    creator
        .update_gig(
            gig.id,
            &GigPatch {
                replay_hours: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(replay(&fan, gig.id).await.status(), StatusCode::OK);
    // Deleted: 404 for everyone.
    let deleted = creator
        .request(Method::DELETE, &format!("/gigs/{}/recording", gig.id))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        refusal(replay(&creator, gig.id).await).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        http.get(&grant.url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(fan.gig(gig.id).await.unwrap().replay_until, None);
    server.stop().await;
}

#[tokio::test]
async fn a_publisher_that_drops_and_returns_continues_one_recording_after_a_gap() {
    let server = TestServer::start(Backend::Embedded).await;
    let creator = server.sign_up("creator").await;
    creator.top_up(Money::from_dollars(99), None).await.unwrap();
    let gig = creator
        .create_gig(&show_form("Two Halves", 40, 48))
        .await
        .unwrap();
    let url = server.publish_url(&gig);
    let first = url.clone();
    tokio::task::spawn_blocking(move || publish(&first, 10))
        .await
        .unwrap();
    server
        .await_stream(gig.id, PATIENCE, |status| !status.live)
        .await;
    // The publisher stays away for five seconds (the gap being tested), then comes back.
    tokio::time::sleep(Duration::from_secs(5)).await;
    tokio::task::spawn_blocking(move || publish(&url, 10))
        .await
        .unwrap();
    ended(&creator, gig.id).await;

    let stored: Recording = recording(&creator, gig.id).await.json().await.unwrap();
    assert_eq!(stored.gaps, 1, "one recording with one gap: {stored:?}");
    assert!(
        (24_000..=30_000).contains(&stored.duration_ms),
        "10 s + the gap + 10 s: {stored:?}"
    );
    let grant = replay_url(&creator, gig.id).await;
    let url = grant.url.clone();
    let (frames, second_part) =
        tokio::task::spawn_blocking(move || (decode_all(&url), frame_at(&url, 19)))
            .await
            .unwrap();
    assert!(frames >= 540, "both parts decode: {frames} frames of 600");
    assert!(
        second_part >= 17.0,
        "the second part plays: a frame at {second_part} s"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_server_killed_mid_show_keeps_the_recording_up_to_seconds_before() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_owned();
    let server = ServerProcess::spawn(&["--data-dir", &data], &[]);
    let creator = server.sign_up("creator").await;
    creator.top_up(Money::from_dollars(99), None).await.unwrap();
    let gig = creator
        .create_gig(&show_form("Cut Short", 45, 48))
        .await
        .unwrap();
    let publisher = FfmpegPublisher::start(&publish_url(&server.rtmp, &gig), "640x360", 30, 40);
    let on_air = eventually("the show is live", PATIENCE, || async {
        match creator.gig(gig.id).await.map(|g| g.status) {
            Ok(GigStatus::Live) => Ok(tokio::time::Instant::now()),
            other => Err(other),
        }
    })
    .await;
    eventually("15 s are stored", PATIENCE, || async {
        let stored: Result<Recording, _> = recording(&creator, gig.id).await.json().await;
        match stored {
            Ok(r) if r.duration_ms >= 15_000 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let live_for = on_air.elapsed();
    server.kill();
    drop(publisher);

    let restarted = ServerProcess::spawn(&["--data-dir", &data], &[]);
    let creator = restarted
        .client()
        .with_token(creator.token().unwrap().to_owned());
    ended(&creator, gig.id).await;
    let grant = replay_url(&creator, gig.id).await;
    let kept = Duration::from_millis(grant.duration_ms);
    assert!(
        kept + Duration::from_secs(6) >= live_for,
        "live for {live_for:?} before the kill, {kept:?} kept"
    );
    let url = grant.url.clone();
    let frames = tokio::task::spawn_blocking(move || decode_all(&url))
        .await
        .unwrap();
    assert!(
        frames as f64 >= kept.as_secs_f64() * 30.0 * 0.9,
        "{frames} frames play"
    );
}

#[tokio::test]
async fn a_cluster_on_s3_storage_replays_the_same_bytes_from_any_node() {
    let s3 = bookmygig_testkit::S3Server::start();
    s3.create_bucket("shows");
    let args = s3.server_args("s3://shows/recordings");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let cluster = common::cluster::ClusterNodes::start(2, &args);
    let (origin, other) = (cluster.node(0), cluster.node(1));
    let creator = origin.sign_up("creator").await;
    creator.top_up(Money::from_dollars(99), None).await.unwrap();
    let gig = creator
        .create_gig(&show_form("Shared Storage", 25, 48))
        .await
        .unwrap();
    let fan = origin.sign_up("fan").await;
    fan.top_up(Money::from_dollars(100), None).await.unwrap();
    fan.buy_ticket(gig.id, "fan-ticket").await.unwrap();
    let url = publish_url(&origin.rtmp, &gig);
    tokio::task::spawn_blocking(move || publish(&url, 15))
        .await
        .unwrap();
    ended(&fan, gig.id).await;

    let fan_elsewhere = other.client().with_token(fan.token().unwrap().to_owned());
    let here = replay_url(&fan, gig.id).await;
    let there = replay_url(&fan_elsewhere, gig.id).await;
    assert!(there.url.starts_with(&other.base), "{there:?}");
    assert!(
        (here.duration_ms as i64 - 15_000).abs() <= 2_000,
        "{here:?}"
    );
    let http = reqwest::Client::new();
    let from_origin = http
        .get(&here.url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let from_other = http
        .get(&there.url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(from_origin.len() > 1_000_000, "{} bytes", from_origin.len());
    assert!(from_origin == from_other, "both nodes serve the same bytes");
    let url = there.url.clone();
    let (duration, _) = tokio::task::spawn_blocking(move || probe(&url))
        .await
        .unwrap();
    assert!((duration - 15.0).abs() <= 2.0, "ffprobe says {duration} s");
}
