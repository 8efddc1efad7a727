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
