//! A server with `--tls-cert`/`--tls-key` (signed by a private test authority): the CLI refuses it
//! until told to trust its authority (`--cacert`), then signs up, registers a gig whose OBS
//! server is `rtmps://`, and buys a ticket; ffmpeg publishes over RTMPS, ffprobe plays the
//! HTTPS FLV and the RTMPS play URL, libmpv plays the HTTPS FLV verifying the certificate, and
//! the chat speaks over `wss://`. A stream key never crosses the wire in clear.

#![allow(clippy::expect_used, clippy::unwrap_used)] // A harness failure is a test failure.

mod common;

use std::time::Duration;

use bookmygig_api::{Gig, Playback, ServerMessage};
use bookmygig_cli::player::{Player, PlayerEvent, PlayerOptions};
use bookmygig_client::Client;
use bookmygig_testkit::TestCertificate;
use common::{FfmpegPublisher, TestServer, User, require_tool};

/// Generous: the CI machine has two cores and compiles other crates meanwhile.
const PATIENCE: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_the_cli_publisher_players_and_chat_verify_the_server() {
    require_tool("ffprobe", "ffmpeg");
    let certificate = TestCertificate::new();
    let server_cert = certificate.cert_path().display().to_string();
    let key = certificate.key_path().display().to_string();
    let server = TestServer::start_with(&["--tls-cert", &server_cert, "--tls-key", &key]).await;
    let cert = certificate.ca_path().display().to_string();
    assert!(server.base.starts_with("https://"), "{}", server.base);

    // Plaintext is not served on the TLS listeners: an RTMP handshake gets no S0/S1 (so no
    // publisher can send its key in clear by mistake), plain HTTP gets no HTTP answer.
    let rtmp = format!("127.0.0.1:{}", server.rtmp_port);
    let mut c0c1 = vec![3_u8];
    c0c1.extend_from_slice(&[0; 1536]);
    let answer = plaintext_exchange(&rtmp, &c0c1).await;
    assert!(
        answer.first() != Some(&3),
        "RTMP answered in clear: {answer:?}"
    );
    let http = server.base.trim_start_matches("https://").to_owned();
    let answer = plaintext_exchange(&http, b"GET /api/v1/gigs HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(
        !answer.starts_with(b"HTTP/"),
        "HTTP answered in clear: {answer:?}"
    );

    // Without the authority, the CLI will not talk to a server it cannot verify.
    let creator = User::new(&server);
    let refused = creator.run(&["gig", "list"]).await;
    assert_ne!(refused.code, 0, "{refused:#?}");
    assert!(
        refused.stderr.to_lowercase().contains("certificate"),
        "the refusal names the certificate: {refused:#?}"
    );
    // A file that holds no certificate is refused, naming the flag.
    let junk = creator.config_dir().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let bad = creator
        .run(&["--cacert", junk.to_str().unwrap(), "gig", "list"])
        .await;
    assert_ne!(bad.code, 0, "{bad:#?}");
    assert!(bad.stderr.contains("--cacert"), "{bad:#?}");

    // With `--cacert`: sign up, fund, register; the OBS settings say rtmps://.
    run(
        &cert,
        &creator,
        &["signup", "--handle", "tlshost", "--password-stdin"],
        Some("tlshost-password\n"),
    )
    .await
    .ok();
    run(&cert, &creator, &["wallet", "topup", "150"], None)
        .await
        .ok();
    let (date, start, end) = creator.slot(5);
    let registered = run(
        &cert,
        &creator,
        &[
            "gig",
            "register",
            "--creator-name",
            "TLS Host",
            "--title",
            "Encrypted Evening",
            "--description",
            "Keys stay secret.",
            "--category",
            "music",
            "--price",
            "3",
            "--date",
            &date,
            "--start",
            &start,
            "--end",
            &end,
            "--payment-pointer",
            "$wallet.example/tlshost",
            "--yes",
        ],
        None,
    )
    .await;
    let obs = registered.ok();
    let rtmps = format!("rtmps://127.0.0.1:{}/live", server.rtmp_port);
    assert!(obs.contains(&rtmps), "the OBS server is {rtmps}: {obs}");
    let mine: bookmygig_api::Page<Gig> = run(&cert, &creator, &["gig", "mine", "--json"], None)
        .await
        .json();
    let gig = mine.items.into_iter().next().expect("the registered gig");
    let publish = format!(
        "{}/{}",
        gig.rtmp_url
            .as_deref()
            .expect("the creator's view has the server"),
        gig.stream_key.as_ref().expect("and the key").expose()
    );
    assert!(publish.starts_with("rtmps://"), "{publish}");

    // ffmpeg publishes over RTMPS.
    let _publisher = FfmpegPublisher::start(&publish, "640x360", 25, 300);
    let pem = certificate.ca_pem();
    let trusted = Client::with_ca_pem(&server.base, &pem).expect("client");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let status = trusted.stream_status(gig.id).await.expect("stream status");
        if status.live && status.video.is_some() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not live over rtmps within {PATIENCE:?}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A viewer buys a ticket through the CLI and gets https:// and rtmps:// playback URLs.
    let viewer = User::new(&server);
    run(
        &cert,
        &viewer,
        &["signup", "--handle", "tlsfan", "--password-stdin"],
        Some("tlsfan-password\n"),
    )
    .await
    .ok();
    run(&cert, &viewer, &["wallet", "topup", "20"], None)
        .await
        .ok();
    let id = gig.id.to_string();
    run(&cert, &viewer, &["ticket", "buy", &id], None)
        .await
        .ok();
    let playback: Playback = run(&cert, &viewer, &["play", &id, "--json"], None)
        .await
        .json();
    assert!(playback.flv_url.starts_with("https://"), "{playback:?}");
    assert!(playback.rtmp_url.starts_with("rtmps://"), "{playback:?}");

    // ffprobe plays the HTTPS FLV, verifying the certificate against the test authority...
    let codecs = ffprobe(&["-ca_file", &cert, "-tls_verify", "1"], &playback.flv_url).await;
    assert!(
        codecs.contains("h264") && codecs.contains("aac"),
        "{codecs}"
    );
    // ... which is a real check: without the authority, verification fails.
    let unverified = tokio::process::Command::new("ffprobe")
        .args(["-v", "error", "-tls_verify", "1", "-show_entries"])
        .args(["stream=codec_name", "-of", "csv=p=0"])
        .arg(&playback.flv_url)
        .output()
        .await
        .expect("ffprobe runs");
    assert!(
        !unverified.status.success(),
        "ffprobe trusted a self-signed certificate it was not given"
    );
    // The RTMPS play URL plays too.
    let codecs = ffprobe(&[], &playback.rtmp_url).await;
    assert!(codecs.contains("h264"), "{codecs}");

    // libmpv plays the HTTPS FLV with `--cacert`'s authority (the TUI's and `play`'s player).
    let options = PlayerOptions {
        headless: true,
        live_edge: None,
        ca_file: Some(certificate.ca_path()),
        ..PlayerOptions::default()
    };
    let fresh: Playback = run(&cert, &viewer, &["play", &id, "--json"], None)
        .await
        .json();
    let (player, mut events) = Player::open(&fresh.flv_url, options).expect("player opens");
    let playing = tokio::time::timeout(PATIENCE, async {
        let mut seen = Vec::new();
        while let Some(event) = events.recv().await {
            if matches!(event, PlayerEvent::Playing { .. }) {
                return Ok(());
            }
            if event.is_last() {
                seen.push(event);
                return Err(seen);
            }
            seen.push(event);
        }
        Err(seen)
    })
    .await;
    assert!(
        matches!(playing, Ok(Ok(()))),
        "mpv did not play the https stream: {playing:?}"
    );
    player.stop();

    // The chat speaks wss:// with the same trust roots.
    let fan = Client::with_ca_pem(&server.base, &pem).expect("client");
    let session = fan
        .sign_in(&bookmygig_api::NewSession {
            handle: "tlsfan".into(),
            password: "tlsfan-password".into(),
        })
        .await
        .expect("sign in over https");
    let fan = fan.with_token(session.token);
    let mut chat = fan.chat(gig.id).await.expect("chat over wss");
    let first = tokio::time::timeout(PATIENCE, chat.recv())
        .await
        .expect("a greeting within the patience")
        .expect("not closed")
        .expect("a server message");
    assert!(matches!(first, ServerMessage::History { .. }), "{first:?}");
}

/// Runs the CLI as `user` trusting the authority in `ca` (`--cacert`).
async fn run(ca: &str, user: &User, args: &[&str], stdin: Option<&str>) -> common::Run {
    let mut all = vec!["--cacert", ca];
    all.extend_from_slice(args);
    user.run_with(&all, stdin).await
}

/// Sends `bytes` over plain TCP to `address` and returns all it answers before closing (the
/// TLS listener's alert, at most).
async fn plaintext_exchange(address: &str, bytes: &[u8]) -> Vec<u8> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut socket = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    socket.write_all(bytes).await.expect("write");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(PATIENCE, socket.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "{address} kept a plaintext peer open");
    answer
}

/// The codec names of `url`'s streams as ffprobe reads them with `options`.
async fn ffprobe(options: &[&str], url: &str) -> String {
    let output = tokio::time::timeout(
        PATIENCE,
        tokio::process::Command::new("ffprobe")
            .args(["-v", "error"])
            .args(options)
            .args(["-show_entries", "stream=codec_name", "-of", "csv=p=0"])
            .arg(url)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("ffprobe finished in time")
    .expect("ffprobe runs");
    assert!(
        output.status.success(),
        "ffprobe {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
