//! Live video end to end with the real tools: ffmpeg publishes over RTMP, ffprobe plays our
//! HTTP-FLV and RTMP (libmpv plays it in the CLI's tests/player.rs), and a hand-written FLV
//! reader checks what a viewer receives.

#![allow(clippy::expect_used, clippy::unwrap_used)] // A harness failure is a test failure.

mod common;

use std::process::Command;
use std::time::Duration;

use bookmygig_api::{GigStatus, Money};
use bookmygig_media::flv::{FlvReader, Tag, TagKind};
use bookmygig_media::video::parse_video_tag;
use bookmygig_server::playback::{PlaybackGrant, PlaybackKey};
use common::{Backend, FfmpegPublisher, TestServer, require_tool};

const SECRET_HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn ffprobe_streams(url: &str) -> String {
    require_tool("ffprobe", "ffmpeg");
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-rw_timeout", "10000000"])
        .args([
            "-show_entries",
            "stream=codec_type,codec_name,width,height,sample_rate",
        ])
        .args(["-of", "compact", url])
        .output()
        .expect("ffprobe runs");
    assert!(
        output.status.success(),
        "ffprobe failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Reads FLV tags from a streaming response until `enough` says stop (or the stream ends).
async fn read_tags(
    mut response: reqwest::Response,
    within: Duration,
    mut enough: impl FnMut(&[Tag]) -> bool,
) -> Vec<Tag> {
    let mut reader = FlvReader::new();
    let mut tags = Vec::new();
    let _ = tokio::time::timeout(within, async {
        while let Some(chunk) = response.chunk().await.expect("body") {
            reader.push(&chunk);
            while let Some(tag) = reader.next_tag().expect("valid FLV") {
                tags.push(tag);
            }
            if enough(&tags) {
                return;
            }
        }
    })
    .await;
    tags
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_720p_publish_is_probed_over_flv_and_rtmp_and_reported_with_the_same_facts() {
    let server = TestServer::start(Backend::Embedded).await;
    let (creator, gig) = server.live_gig("alice").await;
    let viewer = server.sign_up("bob").await;
    viewer.top_up(Money::from_dollars(10), None).await.unwrap();
    viewer.buy_ticket(gig.id, "k").await.unwrap();
    let _ffmpeg = FfmpegPublisher::start(&server.publish_url(&gig), "1280x720", 30, 60);
    let status = server
        .await_stream(gig.id, Duration::from_secs(20), |s| {
            s.live && s.video.is_some() && s.audio.is_some()
        })
        .await;
    let video = status.video.clone().unwrap();
    assert_eq!(
        (video.codec.as_str(), video.width, video.height),
        ("h264", Some(1280), Some(720))
    );
    assert_eq!(video.fps, Some(30.0));
    let audio = status.audio.clone().unwrap();
    assert_eq!(
        (audio.codec.as_str(), audio.sample_rate),
        ("aac", Some(44_100))
    );
    assert_eq!(creator.gig(gig.id).await.unwrap().status, GigStatus::Live);

    let playback = viewer.playback(gig.id).await.unwrap();
    assert!(
        !playback
            .flv_url
            .contains(gig.stream_key.as_ref().unwrap().expose())
    );
    for url in [&playback.flv_url, &playback.rtmp_url] {
        let probed = ffprobe_streams(url);
        assert!(
            probed.contains("codec_name=h264|codec_type=video|width=1280|height=720"),
            "{url}: {probed}"
        );
        assert!(
            probed.contains("codec_name=aac|codec_type=audio|sample_rate=44100"),
            "{url}: {probed}"
        );
    }
    let kbps = server
        .await_stream(gig.id, Duration::from_secs(10), |s| {
            s.video.as_ref().and_then(|v| v.kbps).is_some()
        })
        .await
        .video
        .unwrap()
        .kbps
        .unwrap();
    assert!(
        (500.0..6000.0).contains(&kbps),
        "measured {kbps} kbit/s for a 2.5 Mbit/s stream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_makes_the_gig_live_and_stopping_makes_it_offline() {
    let server = TestServer::start(Backend::Embedded).await;
    let (creator, gig) = server.live_gig("alice").await;
    let ffmpeg = FfmpegPublisher::start(&server.publish_url(&gig), "320x240", 30, 3);
    server
        .await_stream(gig.id, Duration::from_secs(20), |s| s.live)
        .await;
    let second = FfmpegPublisher::start(&server.publish_url(&gig), "320x240", 30, 3);
    let (ok, said) = second.wait();
    assert!(
        !ok,
        "a second publisher for the same gig is refused: {said}"
    );
    let (ok, said) = ffmpeg.wait();
    assert!(ok, "the first publisher ran to its end: {said}");
    server
        .await_stream(gig.id, Duration::from_secs(10), |s| !s.live)
        .await;
    assert_eq!(
        creator.gig(gig.id).await.unwrap().status,
        GigStatus::Offline
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_keys_and_closed_gigs_are_refused_at_publish_time() {
    let server = TestServer::start(Backend::Embedded).await;
    let (creator, gig) = server.live_gig("alice").await;
    let wrong = format!(
        "rtmp://127.0.0.1:{}/live/live_not-the-key",
        server.rtmp_port
    );
    let (ok, said) = FfmpegPublisher::start(&wrong, "320x240", 30, 2).wait();
    assert!(!ok, "a wrong key is refused: {said}");
    let old_url = server.publish_url(&gig);
    creator.rotate_stream_key(gig.id).await.unwrap();
    let (ok, _) = FfmpegPublisher::start(&old_url, "320x240", 30, 2).wait();
    assert!(!ok, "a rotated-away key is refused");
    creator.cancel_gig(gig.id).await.unwrap();
    let current = creator.gig(gig.id).await.unwrap();
    let (ok, _) = FfmpegPublisher::start(&server.publish_url(&current), "320x240", 30, 2).wait();
    assert!(!ok, "a cancelled gig cannot be published");
    let later = server.sign_up("carol").await;
    later.top_up(Money::from_dollars(99), None).await.unwrap();
    let far = later
        .create_gig(&common::new_gig("Tomorrow", None))
        .await
        .unwrap();
    let (ok, _) = FfmpegPublisher::start(&server.publish_url(&far), "320x240", 30, 2).wait();
    assert!(
        !ok,
        "a gig more than an hour away is not open for streaming yet"
    );
    let status = server
        .await_stream(gig.id, Duration::from_secs(1), |_| true)
        .await;
    assert!(!status.live);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playback_needs_a_current_token_for_that_gig_and_a_ticket() {
    let server =
        TestServer::start_with(Backend::Embedded, &["--playback-secret", SECRET_HEX]).await;
    let (creator, gig) = server.live_gig("alice").await;
    let (_, other_gig) = server.live_gig("dora").await;
    let _ffmpeg = FfmpegPublisher::start(&server.publish_url(&gig), "320x240", 30, 60);
    server
        .await_stream(gig.id, Duration::from_secs(20), |s| s.live)
        .await;
    let stranger = server.sign_up("mallory").await;
    let refused = stranger
        .request(reqwest::Method::POST, &format!("/gigs/{}/playback", gig.id))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403, "no ticket, no playback URL");

    let key = PlaybackKey::from_bytes(hex::decode(SECRET_HEX).unwrap().try_into().unwrap());
    let sign = |gig_id, account_id, expires_at| {
        key.sign(&PlaybackGrant {
            gig_id,
            account_id,
            expires_at,
        })
    };
    let me = stranger.me().await.unwrap().id;
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    let owner = creator.me().await.unwrap().id;
    let flv = |token: &str| format!("{}/live/{}.flv?token={token}", server.base, gig.id);
    let http = reqwest::Client::new();
    for (what, url) in [
        ("no token", format!("{}/live/{}.flv", server.base, gig.id)),
        ("garbage", flv("not-a-token")),
        (
            "expired",
            flv(&sign(gig.id, owner, now - time::Duration::seconds(1))),
        ),
        (
            "other gig's",
            flv(&sign(other_gig.id, owner, now + time::Duration::minutes(5))),
        ),
        (
            "no ticket",
            flv(&sign(gig.id, me, now + time::Duration::minutes(5))),
        ),
    ] {
        let response = http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 403, "{what} token");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    for (what, token) in [
        ("no token", String::new()),
        (
            "expired",
            sign(gig.id, owner, now - time::Duration::seconds(1)),
        ),
        (
            "other gig's",
            sign(other_gig.id, owner, now + time::Duration::minutes(5)),
        ),
    ] {
        require_tool("ffprobe", "ffmpeg");
        let url = format!(
            "rtmp://127.0.0.1:{}/live/{}?token={token}",
            server.rtmp_port, gig.id
        );
        let output = Command::new("ffprobe")
            .args(["-v", "error", "-rw_timeout", "5000000", &url])
            .output()
            .unwrap();
        assert!(
            !output.status.success(),
            "RTMP play with {what} token is refused"
        );
    }
    let good = flv(&sign(gig.id, owner, now + time::Duration::minutes(5)));
    assert_eq!(http.get(&good).send().await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_joining_mid_stream_starts_with_metadata_sequence_headers_and_a_keyframe() {
    let server = TestServer::start(Backend::Embedded).await;
    let (creator, gig) = server.live_gig("alice").await;
    let _ffmpeg = FfmpegPublisher::start(&server.publish_url(&gig), "640x360", 30, 60);
    // Join well into the stream, between keyframes (the GOP is 2 s).
    server
        .await_stream(gig.id, Duration::from_secs(20), |s| {
            s.started_at.is_some_and(|t| {
                time::OffsetDateTime::now_utc() - t > time::Duration::milliseconds(3_300)
            })
        })
        .await;
    let playback = creator.playback(gig.id).await.unwrap();
    let response = reqwest::get(&playback.flv_url).await.unwrap();
    assert_eq!(response.headers()["content-type"], "video/x-flv");
    let tags = read_tags(response, Duration::from_secs(10), |tags| tags.len() >= 40).await;
    assert!(tags.len() >= 40, "got {} tags", tags.len());
    assert_eq!(tags[0].kind, TagKind::Script, "metadata first");
    let headers: Vec<_> = tags[1..3].iter().map(|t| t.kind).collect();
    assert!(
        headers.contains(&TagKind::Video) && headers.contains(&TagKind::Audio),
        "{headers:?}"
    );
    for tag in &tags[1..3] {
        match tag.kind {
            TagKind::Video => assert!(parse_video_tag(&tag.data).unwrap().is_sequence_header()),
            _ => assert_eq!(tag.data[1], 0, "AAC sequence header"),
        }
    }
    let first_frame = tags[3..].iter().find(|t| t.kind == TagKind::Video).unwrap();
    assert!(
        parse_video_tag(&first_frame.data).unwrap().is_keyframe(),
        "video starts on a keyframe"
    );
    let start = first_frame.timestamp_ms;
    let last = tags
        .iter()
        .rev()
        .find(|t| t.kind == TagKind::Video)
        .unwrap()
        .timestamp_ms;
    assert!(
        start >= 1_900,
        "the viewer joined mid-stream (keyframe at {start} ms)"
    );
    assert!(last >= start, "timestamps go forward");
}

/// Saves 10 s of `url` into `file` with ffmpeg (`-c copy`); whether it succeeded.
fn save_ten_seconds(url: &str, file: &std::path::Path) -> bool {
    require_tool("ffmpeg", "ffmpeg");
    Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-i", url])
        .args(["-t", "10", "-c", "copy", "-f", "flv"])
        .arg(file)
        .status()
        .expect("ffmpeg runs")
        .success()
}

/// Checks that `file` holds about 10 s of 30 fps video and audio whose timestamps only go
/// forward, ending together, and that every frame decodes without an error.
fn assert_ten_good_seconds(file: &std::path::Path, what: &str) {
    let output = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "packet=stream_index,dts_time",
            "-of",
            "csv=p=0",
        ])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let mut last = [f64::MIN; 2];
    let mut packets = 0;
    for line in text.lines() {
        let (stream, dts) = line.split_once(',').unwrap();
        let (stream, dts): (usize, f64) = (
            stream.parse().unwrap(),
            dts.trim_end_matches(',').parse().unwrap(),
        );
        assert!(
            dts >= last[stream],
            "{what}: stream {stream} went back in time: {dts} < {}",
            last[stream]
        );
        last[stream] = dts;
        packets += 1;
    }
    assert!(
        packets > 300,
        "{what}: 10 s of 30 fps video plus audio, got {packets} packets"
    );
    assert!(
        last[0].max(last[1]) - last[0].min(last[1]) < 1.0,
        "{what}: audio and video end together"
    );
    let decoded = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-nostdin", "-i"])
        .arg(file)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(
        decoded.status.success() && decoded.stderr.is_empty(),
        "{what}: decoding reported {}",
        String::from_utf8_lossy(&decoded.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_seconds_saved_from_the_flv_and_rtmp_urls_are_valid_files_with_monotonic_timestamps() {
    let server = TestServer::start(Backend::Embedded).await;
    let (creator, gig) = server.live_gig("alice").await;
    let _ffmpeg = FfmpegPublisher::start(&server.publish_url(&gig), "320x240", 30, 60);
    server
        .await_stream(gig.id, Duration::from_secs(20), |s| {
            s.live && s.video.is_some()
        })
        .await;
    let playback = creator.playback(gig.id).await.unwrap();
    // A ticket plays on two devices at most: the second RTMP player is another account's.
    let viewer = server.sign_up("bob").await;
    viewer.top_up(Money::from_dollars(10), None).await.unwrap();
    viewer.buy_ticket(gig.id, "k").await.unwrap();
    let viewer_playback = viewer.playback(gig.id).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // One FLV viewer and two RTMP players at once: the players share each segment's chunks.
    let saves = [
        ("flv", playback.flv_url.clone()),
        ("rtmp-1", playback.rtmp_url.clone()),
        ("rtmp-2", viewer_playback.rtmp_url.clone()),
    ]
    .map(|(what, url)| {
        let file = dir.path().join(format!("{what}.flv"));
        let saving = {
            let file = file.clone();
            tokio::task::spawn_blocking(move || save_ten_seconds(&url, &file))
        };
        (what, file, saving)
    });
    for (what, file, saving) in saves {
        assert!(saving.await.unwrap(), "ffmpeg saved 10 s of {what}");
        assert_ten_good_seconds(&file, what);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refunded_ticket_ends_its_playback_within_seconds() {
    let server = TestServer::start(Backend::Embedded).await;
    let (creator, gig) = server.live_gig("alice").await;
    let viewer = server.sign_up("bob").await;
    viewer.top_up(Money::from_dollars(10), None).await.unwrap();
    viewer.buy_ticket(gig.id, "k").await.unwrap();
    let _ffmpeg = FfmpegPublisher::start(&server.publish_url(&gig), "320x240", 30, 60);
    server
        .await_stream(gig.id, Duration::from_secs(20), |s| s.live)
        .await;
    let playback = viewer.playback(gig.id).await.unwrap();
    let mut response = reqwest::get(&playback.flv_url).await.unwrap();
    assert_eq!(response.status(), 200);
    response.chunk().await.unwrap().expect("media flows");
    creator.cancel_gig(gig.id).await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(8), async {
        while response.chunk().await.ok().flatten().is_some() {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the refunded viewer's stream ended within seconds"
    );
}
