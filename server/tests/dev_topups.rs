#![allow(clippy::expect_used, clippy::unwrap_used)]
//! The development top-up provider mints play money, so it is off unless the server runs with
//! `--dev-topups`: off, a top-up is a 403 problem that names the flag, and nothing is credited.

mod common;

use bookmygig_api::Money;
use bookmygig_client::ClientError;
use common::ServerProcess;

#[tokio::test]
async fn without_dev_topups_a_top_up_is_403_naming_the_flag_and_credits_nothing() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::spawn(
        &["--data-dir", data.path().to_str().unwrap()],
        &[("BOOKMYGIG_DEV_TOPUPS", "false")],
    );
    let alice = server.sign_up("alice").await;
    let refused = alice
        .top_up(Money::from_dollars(10_000), None)
        .await
        .expect_err("no play money without --dev-topups");
    let ClientError::Problem(problem) = refused else {
        panic!("a problem, not {refused:?}");
    };
    assert_eq!(problem.status, 403, "{problem:?}");
    assert!(problem.detail.contains("--dev-topups"), "{problem:?}");
    assert_eq!(
        alice.wallet(None, None).await.expect("wallet").balance,
        Money::ZERO
    );

    // The API document says so too.
    let document: serde_json::Value = reqwest::get(format!("{}/api/v1/openapi.json", server.base))
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    assert!(
        document["paths"]["/api/v1/wallet/topups"]["post"]["responses"]["403"].is_object(),
        "the 403 is documented"
    );
}

#[tokio::test]
async fn with_dev_topups_a_top_up_credits_play_money() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::spawn(
        &["--data-dir", data.path().to_str().unwrap(), "--dev-topups"],
        &[],
    );
    let bob = server.sign_up("bob").await;
    bob.top_up(Money::from_dollars(10), None)
        .await
        .expect("top up");
    assert_eq!(
        bob.wallet(None, None).await.expect("wallet").balance,
        Money::from_dollars(10)
    );
}
