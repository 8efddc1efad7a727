//! The real `bookmygig-server` binary as a child process: crash durability and log hygiene.

#![allow(clippy::expect_used, clippy::unwrap_used)] // A harness failure is a test failure.

mod common;

use bookmygig_api::{GigPatch, Money, NewAccount, NewSession};
use bookmygig_client::GigListQuery;
use common::{ServerProcess, new_gig};

#[tokio::test]
async fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let server = ServerProcess::spawn(&["--data-dir", data], &[]);
    let alice = server.client();
    let signed = alice
        .sign_up(&NewAccount {
            handle: "alice".into(),
            display_name: "Alice".into(),
            password: "alice-password".into(),
        })
        .await
        .unwrap();
    let alice = alice.with_token(signed.token.clone());
    alice.top_up(Money::from_dollars(150), None).await.unwrap();
    let gig = alice
        .create_gig(&new_gig("Crash Course", Some(5)))
        .await
        .unwrap();
    let bob = server.client();
    let bob_token = bob
        .sign_up(&NewAccount {
            handle: "bob".into(),
            display_name: "Bob".into(),
            password: "bob-password".into(),
        })
        .await
        .unwrap()
        .token;
    let bob = bob.with_token(bob_token.clone());
    bob.top_up(Money::from_dollars(10), Some("bob-topup"))
        .await
        .unwrap();
    let ticket = bob.buy_ticket(gig.id, "bob-ticket").await.unwrap().ticket;
    let patch = GigPatch {
        title: Some("Crash Course II".into()),
        ..Default::default()
    };
    alice.update_gig(gig.id, &patch).await.unwrap();
    server.kill();

    let restarted = ServerProcess::spawn(&["--data-dir", data], &[]);
    let alice = restarted.client().with_token(signed.token);
    let bob = restarted.client().with_token(bob_token);
    assert_eq!(
        alice.me().await.unwrap().handle,
        "alice",
        "sessions survive"
    );
    let listed = restarted
        .client()
        .list_gigs(&GigListQuery::default())
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].title, "Crash Course II");
    assert_eq!(listed.items[0].seats_left, Some(4));
    assert_eq!(
        alice.wallet(None, None).await.unwrap().balance,
        Money(51_000_000 + 7_500_000)
    );
    let bob_wallet = bob.wallet(None, None).await.unwrap();
    assert_eq!(bob_wallet.balance, Money(2_500_000));
    assert_eq!(bob_wallet.entries.len(), 2);
    assert_eq!(bob.my_tickets().await.unwrap().items[0].ticket, ticket);
    let replay = bob.buy_ticket(gig.id, "bob-ticket").await.unwrap();
    assert_eq!(replay.ticket, ticket, "idempotency records survive too");
    let again = bob
        .top_up(Money::from_dollars(10), Some("bob-topup"))
        .await
        .unwrap();
    assert_eq!(
        again.balance,
        Money::from_dollars(10),
        "the replayed top-up credits nothing"
    );
    assert_eq!(
        bob.wallet(None, None).await.unwrap().balance,
        Money(2_500_000)
    );
    let session = restarted
        .client()
        .sign_in(&NewSession {
            handle: "bob".into(),
            password: "bob-password".into(),
        })
        .await
        .unwrap();
    assert_eq!(session.account.handle, "bob");
}

#[tokio::test]
async fn logs_never_contain_passwords_tokens_or_stream_keys() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::spawn(
        &["--data-dir", dir.path().to_str().unwrap()],
        &[("BOOKMYGIG_LOG", "trace")],
    );
    let password = "correct-horse-battery-staple";
    let anonymous = server.client();
    let signed = anonymous
        .sign_up(&NewAccount {
            handle: "carol".into(),
            display_name: "Carol".into(),
            password: password.into(),
        })
        .await
        .unwrap();
    let session = anonymous
        .sign_in(&NewSession {
            handle: "carol".into(),
            password: password.into(),
        })
        .await
        .unwrap();
    let wrong = anonymous
        .sign_in(&NewSession {
            handle: "carol".into(),
            password: "wrong-but-secret-1".into(),
        })
        .await;
    assert!(wrong.is_err());
    let carol = anonymous.clone().with_token(session.token.clone());
    carol.top_up(Money::from_dollars(99), None).await.unwrap();
    let gig = carol
        .create_gig(&new_gig("Secret Show", None))
        .await
        .unwrap();
    let first_key = gig.stream_key.clone().unwrap();
    let rotated = carol.rotate_stream_key(gig.id).await.unwrap().stream_key;
    carol.gig(gig.id).await.unwrap();
    // Publishing is refused (the show is hours away; the old key is gone): both refusals are
    // logged, without the key.
    for key in [rotated.expose(), first_key.expose()] {
        let url = format!("rtmp://{}/live/{key}", server.rtmp);
        let (ok, _) = common::FfmpegPublisher::start(&url, "160x120", 10, 1).wait();
        assert!(!ok, "publishing outside the window is refused");
    }
    carol.my_gigs().await.unwrap();
    carol.sign_out().await.unwrap();
    let log = server.terminate();

    assert!(
        log.contains("account created"),
        "the log is being captured:\n{log}"
    );
    assert!(log.contains("gig registered"));
    assert!(
        log.contains("publish refused"),
        "refusals are logged:\n{log}"
    );
    for (what, secret) in [
        ("password", password),
        ("wrong password", "wrong-but-secret-1"),
        ("sign-up token", signed.token.as_str()),
        ("session token", session.token.as_str()),
        ("stream key", first_key.expose()),
        ("rotated stream key", rotated.expose()),
    ] {
        assert!(!log.contains(secret), "the {what} appears in the log");
    }
}

#[tokio::test]
async fn environment_variables_configure_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::spawn(
        &[],
        &[
            ("BOOKMYGIG_DATA_DIR", dir.path().to_str().unwrap()),
            ("BOOKMYGIG_LISTING_FEE", "5"),
            ("BOOKMYGIG_PUBLIC_URL", "https://gigs.example"),
            ("BOOKMYGIG_RTMP", "127.0.0.1:19350"),
        ],
    );
    let client = server.client();
    let token = client
        .sign_up(&NewAccount {
            handle: "dave".into(),
            display_name: "Dave".into(),
            password: "dave-password".into(),
        })
        .await
        .unwrap()
        .token;
    let dave = client.with_token(token);
    dave.top_up(Money::from_dollars(5), None).await.unwrap();
    let gig = dave
        .create_gig(&new_gig("Cheap Listing", None))
        .await
        .unwrap();
    assert_eq!(
        gig.rtmp_url.as_deref(),
        Some("rtmp://gigs.example:19350/live")
    );
    assert_eq!(dave.wallet(None, None).await.unwrap().balance, Money::ZERO);
    assert!(dir.path().join("bookmygig.redb").exists());
}

#[tokio::test]
async fn a_gig_left_live_by_a_crash_is_offline_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let server = ServerProcess::spawn(&["--data-dir", data], &[]);
    let client = server.client();
    let token = client
        .sign_up(&NewAccount {
            handle: "erin".into(),
            display_name: "Erin".into(),
            password: "erin-password".into(),
        })
        .await
        .unwrap()
        .token;
    let erin = client.with_token(token);
    erin.top_up(Money::from_dollars(99), None).await.unwrap();
    let gig = erin
        .create_gig(&common::live_gig_form("Crashy"))
        .await
        .unwrap();
    let url = format!(
        "rtmp://{}/live/{}",
        server.rtmp,
        gig.stream_key.as_ref().unwrap().expose()
    );
    let _ffmpeg = common::FfmpegPublisher::start(&url, "160x120", 10, 60);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
    while erin.gig(gig.id).await.unwrap().status != bookmygig_api::GigStatus::Live {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the gig never went live"
        );
        tick.tick().await;
    }
    server.kill();
    let restarted = ServerProcess::spawn(&["--data-dir", data], &[]);
    let status = restarted.client().gig(gig.id).await.unwrap().status;
    assert_eq!(status, bookmygig_api::GigStatus::Offline);
}
