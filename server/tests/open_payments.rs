//! Top-ups with real money over Open Payments, against the test wallet (a real HTTP
//! counterpart that verifies every request's signature and checks every body against the
//! published OpenAPI documents): approved, declined, expired, a wallet answering 503 twice, a
//! response lost after the wallet paid, and the server SIGKILLed while the wallet is paying.
//! Each on both stores; the wallets' balances and the ledger agree to the micro-unit.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bookmygig_api::{Money, TopUpState, TopUpStatus};
use bookmygig_client::{Client, TopUpStarted};
use bookmygig_openpayments::ClientKey;
use bookmygig_testkit::RedisServer;
use bookmygig_testwallet::{FaultAction, NewWallet, TestWallet};
use common::{ServerProcess, sign_up_through};

/// Generous: two cores, other tests running.
const PATIENCE: Duration = Duration::from_secs(30);
/// The platform's wallet name on the test wallet.
const PLATFORM: &str = "bookmygig";
/// The key id the platform signs with.
const KEY_ID: &str = "bookmygig-test-key";

/// The test wallet, the platform's key, and a server paid through it.
struct World {
    wallet: TestWallet,
    key_file: tempfile::NamedTempFile,
    data: tempfile::TempDir,
    redis: Option<RedisServer>,
    consent_timeout: u32,
    server: Option<ServerProcess>,
}

impl World {
    async fn start(redis: bool, consent_timeout: u32) -> World {
        let wallet = TestWallet::start(bookmygig_testwallet::Config::default())
            .await
            .expect("test wallet starts");
        let key = ClientKey::generate(KEY_ID);
        wallet
            .create_wallet(NewWallet::new(PLATFORM).key(key.public_jwk()))
            .expect("platform wallet");
        let key_file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(key_file.path(), key.to_pem()).unwrap();
        let mut world = World {
            wallet,
            key_file,
            data: tempfile::tempdir().unwrap(),
            redis: redis.then(RedisServer::start_durable),
            consent_timeout,
            server: None,
        };
        world.spawn();
        world
    }

    /// Starts (or restarts) the server on the same data.
    fn spawn(&mut self) {
        let platform = self.wallet.wallet_url(PLATFORM);
        let key = self.key_file.path().display().to_string();
        let data = self.data.path().display().to_string();
        let timeout = self.consent_timeout.to_string();
        let redis = self.redis.as_ref().map(RedisServer::url);
        let mut args = vec![
            "--open-payments-wallet",
            &platform,
            "--open-payments-key-id",
            KEY_ID,
            "--open-payments-key",
            &key,
            "--open-payments-insecure-http",
            "--topup-consent-timeout",
            &timeout,
            "--data-dir",
            &data,
        ];
        if let Some(url) = &redis {
            args.extend(["--redis-url", url]);
        }
        self.server = Some(ServerProcess::spawn(
            &args,
            &[("BOOKMYGIG_DEV_TOPUPS", "false")],
        ));
    }

    fn server(&self) -> &ServerProcess {
        self.server.as_ref().expect("running")
    }

    fn kill(&mut self) {
        self.server.take().expect("running").kill();
    }

    /// A viewer with a BookMyGig account and a wallet holding `cents`.
    async fn viewer(&self, handle: &str, cents: u64) -> (Client, String) {
        self.wallet
            .create_wallet(NewWallet::new(handle).balance(cents))
            .expect("viewer wallet");
        let client = sign_up_through(self.server().client(), handle).await;
        (client, self.wallet.wallet_url(handle))
    }

    fn cents(&self, name: &str) -> u64 {
        self.wallet.balance(name).expect("wallet")
    }

    /// No request broke the spec or its signature, and no answer of the wallet did.
    fn assert_no_violations(&self) {
        let violations = self.wallet.violations();
        assert!(violations.is_empty(), "{violations:#?}");
    }

    /// Stops the server, then reads its store: the ledger sums to zero, and what it booked as
    /// coming in from outside is exactly what the platform's wallet received.
    async fn assert_books_agree(mut self) {
        let log = self.server.take().expect("running").terminate();
        let store: std::sync::Arc<dyn bookmygig_store::Store> = match &self.redis {
            Some(redis) => std::sync::Arc::new(
                bookmygig_store::RedisStore::connect(&redis.url())
                    .await
                    .expect("redis store"),
            ),
            None => std::sync::Arc::new(
                bookmygig_store::EmbeddedStore::open(self.data.path()).expect("embedded store"),
            ),
        };
        let balances = store.balances().await.expect("balances");
        let sum: i64 = balances.iter().map(|(_, money)| money.micros()).sum();
        assert_eq!(sum, 0, "the ledger sums to zero: {balances:?}");
        let external = store
            .balance(&bookmygig_store::LedgerAccount::ExternalTopups)
            .await
            .expect("balance");
        let received_micros = i64::try_from(self.cents(PLATFORM)).unwrap() * 10_000;
        assert_eq!(
            -external.micros(),
            received_micros,
            "what came in is what the platform's wallet holds; log: {log}"
        );
    }
}

/// Starts a top-up of `dollars` from `from` and returns it pending, with its consent URL.
async fn start(client: &Client, dollars: i64, from: &str, key: &str) -> TopUpStatus {
    match client
        .start_top_up(Money::from_dollars(dollars), Some(from), Some(key))
        .await
        .expect("top-up starts")
    {
        TopUpStarted::Pending(status) => {
            assert_eq!(status.state, TopUpState::AwaitingConsent, "{status:?}");
            assert!(status.consent_url.is_some(), "{status:?}");
            status
        }
        TopUpStarted::Credited(receipt) => panic!("credited without consent: {receipt:?}"),
    }
}

/// Polls the top-up until it is final.
async fn finished(client: &Client, id: uuid::Uuid) -> TopUpStatus {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let status = client.top_up_status(id).await.expect("status");
        if status.state.is_final() {
            return status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "top-up not finished within {PATIENCE:?}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn balance(client: &Client) -> Money {
    client.wallet(None, Some(1)).await.expect("wallet").balance
}

async fn approved_declined_and_retried(redis: bool) {
    let world = World::start(redis, 600).await;
    let (bob, bob_wallet) = world.viewer("bob", 10_000).await;

    // Approved: $20 leaves bob's wallet, arrives in the platform's, and is credited once.
    let pending = start(&bob, 20, &bob_wallet, "topup-1").await;
    // A retry with the same key is the same top-up, not a second one.
    let again = start(&bob, 20, &bob_wallet, "topup-1").await;
    assert_eq!(again.id, pending.id);
    world
        .wallet
        .approve_grant(pending.consent_url.as_deref().unwrap())
        .expect("approve");
    let done = finished(&bob, pending.id).await;
    assert_eq!(done.state, TopUpState::Completed, "{done:?}");
    assert_eq!(balance(&bob).await, Money::from_dollars(20));
    assert_eq!(world.cents("bob"), 8_000);
    assert_eq!(world.cents(PLATFORM), 2_000);

    // Declined: nothing moves.
    let pending = start(&bob, 5, &bob_wallet, "topup-2").await;
    world
        .wallet
        .decline_grant(pending.consent_url.as_deref().unwrap())
        .expect("decline");
    let done = finished(&bob, pending.id).await;
    assert_eq!(done.state, TopUpState::Declined, "{done:?}");
    assert!(
        done.error.as_deref().unwrap_or("").contains("declined"),
        "{done:?}"
    );
    assert_eq!(balance(&bob).await, Money::from_dollars(20));
    assert_eq!(world.cents("bob"), 8_000);

    // The wallet answers the outgoing payment with 503 twice, then pays: paid once.
    world
        .wallet
        .fail_next("create-outgoing-payment", 2, 503)
        .expect("fault");
    let pending = start(&bob, 10, &bob_wallet, "topup-3").await;
    world
        .wallet
        .approve_grant(pending.consent_url.as_deref().unwrap())
        .expect("approve");
    let done = finished(&bob, pending.id).await;
    assert_eq!(done.state, TopUpState::Completed, "{done:?}");
    assert_eq!(balance(&bob).await, Money::from_dollars(30));
    assert_eq!(world.cents("bob"), 7_000);
    assert_eq!(world.cents(PLATFORM), 3_000);

    // The wallet pays but its answer is lost: the server learns from the incoming payment.
    world
        .wallet
        .drop_next_response("create-outgoing-payment")
        .expect("fault");
    let pending = start(&bob, 7, &bob_wallet, "topup-4").await;
    world
        .wallet
        .approve_grant(pending.consent_url.as_deref().unwrap())
        .expect("approve");
    let done = finished(&bob, pending.id).await;
    assert_eq!(done.state, TopUpState::Completed, "{done:?}");
    assert_eq!(balance(&bob).await, Money::from_dollars(37));
    assert_eq!(world.cents("bob"), 6_300);
    assert_eq!(world.cents(PLATFORM), 3_700);

    // GET /wallet lists them, newest first.
    let wallet = bob.wallet(None, None).await.expect("wallet");
    let states: Vec<TopUpState> = wallet.topups.iter().map(|t| t.state).collect();
    assert_eq!(
        states,
        [
            TopUpState::Completed,
            TopUpState::Completed,
            TopUpState::Declined,
            TopUpState::Completed
        ]
    );
    world.assert_no_violations();
    world.assert_books_agree().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_ups_approved_declined_and_retried_on_the_embedded_store() {
    approved_declined_and_retried(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_ups_approved_declined_and_retried_on_redis() {
    approved_declined_and_retried(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_top_up_nobody_approves_expires_and_credits_nothing() {
    let world = World::start(false, 2).await;
    let (bob, bob_wallet) = world.viewer("bob", 10_000).await;
    let pending = start(&bob, 20, &bob_wallet, "late").await;
    let done = finished(&bob, pending.id).await;
    assert_eq!(done.state, TopUpState::Expired, "{done:?}");
    assert_eq!(balance(&bob).await, Money::ZERO);
    assert_eq!(world.cents("bob"), 10_000);
    world.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_while_the_wallet_pays_credits_once_after_restart() {
    for redis in [false, true] {
        let mut world = World::start(redis, 600).await;
        let (bob, bob_wallet) = world.viewer("bob", 10_000).await;
        // The wallet pays, then holds its answer: the server is mid-step when it dies.
        world
            .wallet
            .inject_fault(bookmygig_testwallet::Fault {
                operation: "create-outgoing-payment".into(),
                count: 1,
                action: FaultAction::Hold,
            })
            .expect("fault");
        let pending = start(&bob, 20, &bob_wallet, "killed").await;
        world
            .wallet
            .approve_grant(pending.consent_url.as_deref().unwrap())
            .expect("approve");
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while world
            .wallet
            .outgoing_payments("bob")
            .expect("bob")
            .is_empty()
        {
            assert!(tokio::time::Instant::now() < deadline, "never paid");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(world.cents("bob"), 8_000, "the wallet paid");
        world.kill();
        world.spawn();
        let bob = bob_again(&world, &bob).await;
        let done = finished(&bob, pending.id).await;
        assert_eq!(done.state, TopUpState::Completed, "{done:?}");
        assert_eq!(
            balance(&bob).await,
            Money::from_dollars(20),
            "credited once"
        );
        assert_eq!(world.cents("bob"), 8_000, "paid once");
        assert_eq!(world.cents(PLATFORM), 2_000);
        world.assert_no_violations();
    }
}

/// `client`'s session against the restarted server (same token, new port).
async fn bob_again(world: &World, client: &Client) -> Client {
    world
        .server()
        .client()
        .with_token(client.token().expect("signed in").to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_ups_refuse_what_cannot_be_paid() {
    let world = World::start(false, 600).await;
    let (bob, bob_wallet) = world.viewer("bob", 10_000).await;
    let problem = |err: bookmygig_client::ClientError| err.problem().cloned().expect("a problem");

    // No wallet named: 422 naming `from`.
    let err = bob
        .start_top_up(Money::from_dollars(5), None, None)
        .await
        .unwrap_err();
    let p = problem(err);
    assert_eq!((p.status, p.field.as_deref()), (422, Some("from")), "{p:?}");

    // A wallet in another currency: 422 naming `from`.
    world
        .wallet
        .create_wallet(NewWallet::new("eve").asset("EUR", 2).balance(10_000))
        .unwrap();
    let err = bob
        .start_top_up(
            Money::from_dollars(5),
            Some(&world.wallet.wallet_url("eve")),
            None,
        )
        .await
        .unwrap_err();
    let p = problem(err);
    assert_eq!((p.status, p.field.as_deref()), (422, Some("from")), "{p:?}");

    // A fraction of a cent cannot be asked of a wallet in cents: 422 naming `amount`.
    let err = bob
        .start_top_up(Money(5_000_500), Some(&bob_wallet), None)
        .await
        .unwrap_err();
    let p = problem(err);
    assert_eq!(
        (p.status, p.field.as_deref()),
        (422, Some("amount")),
        "{p:?}"
    );

    // A wallet that does not answer: 502 naming `from`.
    let err = bob
        .start_top_up(
            Money::from_dollars(5),
            Some("http://127.0.0.1:9/nobody"),
            None,
        )
        .await
        .unwrap_err();
    let p = problem(err);
    assert_eq!((p.status, p.field.as_deref()), (502, Some("from")), "{p:?}");

    assert_eq!(balance(&bob).await, Money::ZERO);
    assert_eq!(world.cents("bob"), 10_000);
    world.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_pointers_must_resolve_to_a_wallet_we_can_pay() {
    let world = World::start(false, 600).await;
    let (alice, _) = world.viewer("alice", 20_000).await;
    world
        .wallet
        .create_wallet(NewWallet::new("euro").asset("EUR", 2))
        .unwrap();
    let host = world
        .wallet
        .base_url()
        .trim_start_matches("http://")
        .to_owned();
    let pending = start(&alice, 150, &world.wallet.wallet_url("alice"), "fund").await;
    world
        .wallet
        .approve_grant(pending.consent_url.as_deref().unwrap())
        .unwrap();
    assert_eq!(
        finished(&alice, pending.id).await.state,
        TopUpState::Completed
    );

    let mut form = common::live_gig_form("Paid For Real");
    for (pointer, wanted) in [
        (format!("${host}/nobody"), "does not resolve"),
        (format!("${host}/euro"), "EUR"),
    ] {
        form.payment_pointer = pointer.clone();
        let err = alice.create_gig(&form).await.unwrap_err();
        let problem = err.problem().cloned().expect("a problem");
        assert_eq!(
            (problem.status, problem.field.as_deref()),
            (422, Some("payment_pointer")),
            "{pointer}: {problem:?}"
        );
        assert!(problem.detail.contains(wanted), "{pointer}: {problem:?}");
    }
    assert_eq!(
        balance(&alice).await,
        Money::from_dollars(150),
        "no fee charged"
    );

    form.payment_pointer = format!("${host}/alice");
    let gig = alice.create_gig(&form).await.expect("a payable pointer");
    let patch = bookmygig_api::GigPatch {
        payment_pointer: Some(format!("${host}/nobody")),
        ..Default::default()
    };
    let err = alice.update_gig(gig.id, &patch).await.unwrap_err();
    assert_eq!(
        err.problem().and_then(|p| p.field.clone()).as_deref(),
        Some("payment_pointer")
    );
    world.assert_no_violations();
}
