//! `bookmygig wallet topup AMOUNT --from WALLET` against a server paid through Open Payments
//! and the test wallet (a real HTTP counterpart checking every request against the published
//! specification): the CLI prints the page where the viewer approves, waits, and says what
//! happened; approved money is credited, a declined payment leaves nothing behind.

#![allow(clippy::expect_used, clippy::unwrap_used)] // A harness failure is a test failure.

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::time::Duration;

use bookmygig_api::{Money, TopUpState, Wallet};
use bookmygig_openpayments::ClientKey;
use bookmygig_testkit::eventually;
use bookmygig_testwallet::{NewWallet, TestWallet};
use common::{TestServer, User};

/// The most the CLI may take to finish once the wallet answered.
const PATIENCE: Duration = Duration::from_secs(30);

/// Runs `wallet topup` with `args` as `user`; once it prints the consent page, `decide` is
/// called with it; returns the exit code and everything the CLI wrote.
async fn top_up(
    user: &User,
    args: &[&str],
    decide: impl FnOnce(&str) + Send + 'static,
) -> (i32, String, String) {
    let mut command = user.command(args);
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null());
    let mut child = command.spawn().expect("bookmygig runs");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let reader = tokio::task::spawn_blocking(move || {
        let mut seen = String::new();
        let mut decide = Some(decide);
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("utf-8");
            seen.push_str(&line);
            seen.push('\n');
            if let Some(url) = line.trim().strip_prefix("http")
                && let Some(decide) = decide.take()
            {
                decide(&format!("http{url}"));
            }
        }
        seen
    });
    let errors =
        tokio::task::spawn_blocking(move || std::io::read_to_string(stderr).expect("stderr reads"));
    let status = tokio::time::timeout(PATIENCE, tokio::task::spawn_blocking(move || child.wait()))
        .await
        .expect("the CLI finished in time")
        .expect("joined")
        .expect("waited");
    (
        status.code().unwrap_or(-1),
        reader.await.expect("stdout"),
        errors.await.expect("stderr"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallet_topup_from_an_open_payments_wallet_waits_for_consent() {
    let wallet = std::sync::Arc::new(
        TestWallet::start(bookmygig_testwallet::Config::default())
            .await
            .expect("test wallet"),
    );
    let key = ClientKey::generate("cli-test-key");
    wallet
        .create_wallet(NewWallet::new("bookmygig").key(key.public_jwk()))
        .unwrap();
    wallet
        .create_wallet(NewWallet::new("carol").balance(5_000))
        .unwrap();
    let key_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(key_file.path(), key.to_pem()).unwrap();
    let platform = wallet.wallet_url("bookmygig");
    let key_path = key_file.path().display().to_string();
    let server = TestServer::start_with(&[
        "--open-payments-wallet",
        &platform,
        "--open-payments-key-id",
        "cli-test-key",
        "--open-payments-key",
        &key_path,
        "--open-payments-insecure-http",
    ])
    .await;
    let user = User::new(&server);
    user.run_with(
        &["signup", "--handle", "carol", "--password-stdin"],
        Some("carol-password\n"),
    )
    .await
    .ok();
    let from = wallet.wallet_url("carol");

    // Without --from, the server says what it needs.
    let refused = user.run(&["wallet", "topup", "20"]).await;
    assert_eq!(refused.code, 2, "{refused:#?}");
    assert!(refused.stderr.contains("from"), "{refused:#?}");

    // Approved in the wallet: the CLI waits, then says it is done.
    let approver = std::sync::Arc::clone(&wallet);
    let (code, out, err) = top_up(
        &user,
        &["wallet", "topup", "20", "--from", &from],
        move |url| {
            approver.approve_grant(url).expect("approve");
        },
    )
    .await;
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(out.contains("Approve the payment of $20.00"), "{out}");
    assert!(out.contains("Added $20.00 from"), "{out}");
    assert!(out.contains("Balance: $20.00"), "{out}");
    assert_eq!(wallet.balance("carol").unwrap(), 3_000);

    // Declined: exit 2, nothing added.
    let decliner = std::sync::Arc::clone(&wallet);
    let (code, out, err) = top_up(
        &user,
        &["wallet", "topup", "5", "--from", &from],
        move |url| {
            decliner.decline_grant(url).expect("decline");
        },
    )
    .await;
    assert_eq!(code, 2, "stdout: {out}\nstderr: {err}");
    assert!(
        err.contains("declined") && err.contains("nothing was added"),
        "{err}"
    );
    assert_eq!(wallet.balance("carol").unwrap(), 3_000);

    // `wallet --json` shows both, with the balance.
    let shown: Wallet = user.run(&["wallet", "--json"]).await.json();
    assert_eq!(shown.balance, Money::from_dollars(20));
    let states: Vec<TopUpState> = shown.topups.iter().map(|t| t.state).collect();
    assert_eq!(states, [TopUpState::Declined, TopUpState::Completed]);
    assert!(wallet.violations().is_empty(), "{:#?}", wallet.violations());
}

/// A gig of `creator` that started a moment ago and ends in `seconds`, at `dollars` a ticket,
/// paying to `pointer`.
async fn short_gig(
    creator: &bookmygig_client::Client,
    title: &str,
    dollars: i64,
    pointer: String,
    seconds: i64,
) -> bookmygig_api::Gig {
    let now = time::OffsetDateTime::now_utc();
    creator
        .create_gig(&bookmygig_api::NewGig {
            creator_name: "Test Host".into(),
            title: title.into(),
            description: String::new(),
            category: bookmygig_api::Category::Music,
            price: Money::from_dollars(dollars),
            starts_at: now - time::Duration::seconds(30),
            ends_at: now + time::Duration::seconds(seconds),
            capacity: None,
            payment_pointer: pointer,
            micropayment_rate: None,
            replay_hours: None,
        })
        .await
        .expect("gig")
}

/// Waits until `gig` has ended.
async fn ended(client: &bookmygig_client::Client, gig: bookmygig_api::GigId) {
    eventually("the gig ends", PATIENCE, || async {
        let status = client.gig(gig).await.expect("gig").status;
        if status == bookmygig_api::GigStatus::Ended {
            Ok(())
        } else {
            Err(status)
        }
    })
    .await;
}

/// The user's only payout, once it is final, as `bookmygig payouts --json` shows it.
async fn final_payout(user: &User) -> bookmygig_api::Payout {
    eventually("the payout ends", PATIENCE, || async {
        let shown: bookmygig_api::Payouts = user.run(&["payouts", "--json"]).await.json();
        assert_eq!(shown.items.len(), 1, "{shown:?}");
        match shown.items.first() {
            Some(payout) if payout.state.is_final() => Ok(payout.clone()),
            _ => Err(shown),
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payouts_are_requested_and_listed_through_the_cli() {
    use common::Serving as _;
    // Play money (the development provider sends payouts at once); the Open Payments path of
    // the same requests is tested against the test wallet in server/tests/open_payments.rs.
    let server = TestServer::start().await;
    let creator = server.account("dana", 200).await;
    let fan = server.account("fern", 20).await;
    let gig = short_gig(&creator, "Over Soon", 8, "$wallet.example/dana".into(), 5).await;
    fan.buy_ticket(gig.id, "one").await.expect("ticket");
    let user = User::new(&server);
    user.run_with(
        &["login", "--handle", "dana", "--password-stdin"],
        Some("dana-password\n"),
    )
    .await
    .ok();
    let id = gig.id.to_string();

    // Before the end: refused, naming why.
    let early = user.run(&["payouts", "request", &id]).await;
    // (On a machine slow enough that the 5 s were over before the CLI ran, it is paid now.)
    if early.code != 0 {
        assert_eq!(early.code, 2, "{early:#?}");
        assert!(early.stderr.contains("not over"), "{early:#?}");
    }
    ended(&creator, gig.id).await;
    let asked = user.run(&["payouts", "request", &id]).await;
    if early.code != 0 {
        assert!(
            asked
                .ok()
                .contains("Paying $8.00 to https://wallet.example/dana"),
            "{asked:#?}"
        );
    }
    // The payment worker sends it within a tick.
    let payout = &final_payout(&user).await;
    assert_eq!(
        (payout.gig_id, payout.amount, payout.state),
        (
            gig.id,
            Money::from_dollars(8),
            bookmygig_api::PayoutState::Sent
        )
    );
    let table = user.run(&["payouts"]).await;
    assert!(table.ok().contains("sent"), "{table:#?}");
    // Nothing more to pay: exit 2 naming the gig.
    let again = user.run(&["payouts", "request", &id]).await;
    assert_eq!(again.code, 2, "{again:#?}");
    assert!(again.stderr.contains("nothing to pay out"), "{again:#?}");
}

/// The platform's wallet and key on a fresh test wallet; the server flags that use them.
async fn open_payments_wallet() -> (std::sync::Arc<TestWallet>, tempfile::NamedTempFile) {
    let wallet = std::sync::Arc::new(
        TestWallet::start(bookmygig_testwallet::Config::default())
            .await
            .expect("test wallet"),
    );
    let key = ClientKey::generate("cli-test-key");
    wallet
        .create_wallet(NewWallet::new("bookmygig").key(key.public_jwk()))
        .unwrap();
    let key_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(key_file.path(), key.to_pem()).unwrap();
    (wallet, key_file)
}

fn open_payments_flags(wallet: &TestWallet, key_file: &tempfile::NamedTempFile) -> Vec<String> {
    vec![
        "--open-payments-wallet".into(),
        wallet.wallet_url("bookmygig"),
        "--open-payments-key-id".into(),
        "cli-test-key".into(),
        "--open-payments-key".into(),
        key_file.path().display().to_string(),
        "--open-payments-insecure-http".into(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_top_up_nobody_approves_expires_and_the_cli_says_so() {
    let (wallet, key_file) = open_payments_wallet().await;
    wallet
        .create_wallet(NewWallet::new("slow").balance(5_000))
        .unwrap();
    let mut flags = open_payments_flags(&wallet, &key_file);
    flags.extend(["--topup-consent-timeout".into(), "1".into()]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let server = TestServer::start_with(&flags).await;
    let user = User::new(&server);
    user.run_with(
        &["signup", "--handle", "slow", "--password-stdin"],
        Some("slow-password\n"),
    )
    .await
    .ok();
    let from = wallet.wallet_url("slow");
    let (code, out, err) = top_up(&user, &["wallet", "topup", "5", "--from", &from], |_| {}).await;
    assert_eq!(code, 2, "stdout: {out}\nstderr: {err}");
    assert!(
        err.contains("expired") && err.contains("nothing was added"),
        "{err}"
    );
    assert_eq!(wallet.balance("slow").unwrap(), 5_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payout_over_open_payments_is_requested_and_followed_through_the_cli() {
    use bookmygig_client::TopUpStarted;
    use clap::Parser as _;
    let (wallet, key_file) = open_payments_wallet().await;
    wallet
        .create_wallet(NewWallet::new("gus").balance(20_000))
        .unwrap();
    wallet
        .create_wallet(NewWallet::new("hal").balance(5_000))
        .unwrap();
    let flags = open_payments_flags(&wallet, &key_file);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let data = tempfile::tempdir().unwrap();

    // The host authorizes payouts once (before serving: the embedded store is one process's).
    let mut args = vec![
        "bookmygig-server",
        "--data-dir",
        data.path().to_str().unwrap(),
    ];
    args.extend(&flags);
    let config = bookmygig_server::Config::try_parse_from(args).expect("flags");
    let store = bookmygig_server::open_store(&config).await.expect("store");
    let approver = {
        let wallet = std::sync::Arc::clone(&wallet);
        tokio::spawn(async move {
            let grant = eventually("the payout grant is asked for", PATIENCE, || async {
                wallet
                    .grants()
                    .into_iter()
                    .find(|g| {
                        g.state == bookmygig_testwallet::GrantState::Pending
                            && g.consent_url.is_some()
                    })
                    .ok_or("no pending grant")
            })
            .await;
            wallet.approve_grant(&grant.id).expect("approve");
        })
    };
    bookmygig_server::authorize_payouts(
        &config,
        std::sync::Arc::clone(&store),
        Money::from_dollars(500),
        "P1M",
        PATIENCE,
    )
    .await
    .expect("authorized");
    approver.await.expect("approver");
    store.flush().await.expect("flush");
    drop(store);
    let any = "127.0.0.1:0".parse().unwrap();
    let server = TestServer::serve_at_with(data.path(), any, any, &flags).await;

    // Gus funds his listing fee from his wallet, Hal a ticket from his.
    let sign_up = |handle: &'static str| {
        let anonymous = bookmygig_client::Client::new(&server.base).unwrap();
        async move {
            let signed = anonymous
                .sign_up(&bookmygig_api::NewAccount {
                    handle: handle.into(),
                    display_name: handle.into(),
                    password: format!("{handle}-password"),
                })
                .await
                .expect("sign up");
            anonymous.with_token(signed.token)
        }
    };
    let gus = sign_up("gus").await;
    let hal = sign_up("hal").await;
    for (client, handle, dollars) in [(&gus, "gus", 100), (&hal, "hal", 10)] {
        let TopUpStarted::Pending(pending) = client
            .start_top_up(
                Money::from_dollars(dollars),
                Some(&wallet.wallet_url(handle)),
                None,
            )
            .await
            .expect("top-up")
        else {
            panic!("real money waits for consent");
        };
        wallet
            .approve_grant(pending.consent_url.as_deref().unwrap())
            .unwrap();
        eventually("the top-up ends", PATIENCE, || async {
            let status = client.top_up_status(pending.id).await.expect("status");
            if status.state.is_final() {
                Ok(())
            } else {
                Err(status)
            }
        })
        .await;
    }
    let host = wallet.base_url().trim_start_matches("http://").to_owned();
    let gig = short_gig(&gus, "Paid For Real", 6, format!("${host}/gus"), 2).await;
    hal.buy_ticket(gig.id, "hal-1").await.expect("ticket");
    ended(&gus, gig.id).await;

    // The platform's wallet answers 503 twice: the payout still arrives once.
    wallet
        .fail_next("create-outgoing-payment", 2, 503)
        .expect("fault");
    let user = User::new(&server);
    user.run_with(
        &["login", "--handle", "gus", "--password-stdin"],
        Some("gus-password\n"),
    )
    .await
    .ok();
    let id = gig.id.to_string();
    let asked = user.run(&["payouts", "request", &id]).await;
    assert!(asked.ok().contains("Paying $6.00 to"), "{asked:#?}");
    let payout = final_payout(&user).await;
    assert_eq!(
        (payout.amount, payout.state),
        (Money::from_dollars(6), bookmygig_api::PayoutState::Sent),
        "{payout:?}"
    );
    assert_eq!(
        wallet.balance("gus").unwrap(),
        20_000 - 10_000 + 600,
        "paid once"
    );
    assert!(wallet.violations().is_empty(), "{:#?}", wallet.violations());
}

/// Not a test: the server of the SIGKILL test below, run by it in a child process so that it
/// can be killed.
#[test]
#[ignore = "a server for other tests, started by them in a child process"]
fn serve_for_other_tests() {
    common::process::serve_in_this_process();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_while_the_wallet_pays_a_cli_top_up_credits_it_once_after_restart() {
    assert_eq!(common::process::SERVE_TEST, "serve_for_other_tests");
    let (wallet, key_file) = open_payments_wallet().await;
    wallet
        .create_wallet(NewWallet::new("kim").balance(5_000))
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let any = "127.0.0.1:0".parse().unwrap();
    let flags = open_payments_flags(&wallet, &key_file);
    let server = common::process::ServerProcess::start_with(data.path(), any, any, &flags);
    let user = User::new(&server);
    user.run_with(
        &["signup", "--handle", "kim", "--password-stdin"],
        Some("kim-password\n"),
    )
    .await
    .ok();
    // The wallet pays, then holds its answer: the server is caught between paying and recording.
    wallet
        .inject_fault(bookmygig_testwallet::Fault {
            operation: "create-outgoing-payment".into(),
            count: 1,
            action: bookmygig_testwallet::FaultAction::Hold,
        })
        .unwrap();
    let from = wallet.wallet_url("kim");
    let approver = std::sync::Arc::clone(&wallet);
    let started = user
        .run(&[
            "wallet",
            "topup",
            "20",
            "--from",
            &from,
            "--no-wait",
            "--json",
        ])
        .await;
    let pending: bookmygig_api::TopUpStatus = started.json();
    approver
        .approve_grant(pending.consent_url.as_deref().expect("a consent page"))
        .unwrap();
    eventually("kim's wallet pays", PATIENCE, || async {
        let cents = wallet.balance("kim").unwrap();
        if cents == 5_000 { Err(cents) } else { Ok(()) }
    })
    .await;
    let restarted = server.kill().restart();
    assert_eq!(
        restarted.base, user.server,
        "same address after the restart"
    );
    let shown = eventually("the top-up ends after the restart", PATIENCE, || async {
        let shown: Wallet = user.run(&["wallet", "--json"]).await.json();
        if shown.topups.first().is_some_and(|t| t.state.is_final()) {
            Ok(shown)
        } else {
            Err(shown)
        }
    })
    .await;
    assert_eq!(shown.topups[0].state, TopUpState::Completed, "{shown:?}");
    assert_eq!(shown.balance, Money::from_dollars(20), "credited once");
    assert_eq!(wallet.balance("kim").unwrap(), 3_000, "paid once");
    assert!(wallet.violations().is_empty(), "{:#?}", wallet.violations());
}
