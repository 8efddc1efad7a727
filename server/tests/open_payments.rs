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
use bookmygig_testkit::{RedisServer, eventually};
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
    /// More server flags for the next spawn.
    extra: Vec<String>,
}

impl World {
    async fn start(redis: bool, consent_timeout: u32) -> World {
        let mut world = World::new(redis, consent_timeout).await;
        world.spawn();
        world
    }

    /// The test wallet and the platform's key, the server not started yet.
    async fn new(redis: bool, consent_timeout: u32) -> World {
        let wallet = TestWallet::start(bookmygig_testwallet::Config::default())
            .await
            .expect("test wallet starts");
        let key = ClientKey::generate(KEY_ID);
        wallet
            .create_wallet(NewWallet::new(PLATFORM).key(key.public_jwk()))
            .expect("platform wallet");
        let key_file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(key_file.path(), key.to_pem()).unwrap();
        World {
            wallet,
            key_file,
            data: tempfile::tempdir().unwrap(),
            redis: redis.then(RedisServer::start_durable),
            consent_timeout,
            server: None,
            extra: Vec::new(),
        }
    }

    /// The flags every run of the server binary gets: store, wallet, key.
    fn flags(&self) -> Vec<String> {
        let mut flags = vec![
            "--open-payments-wallet".to_owned(),
            self.wallet.wallet_url(PLATFORM),
            "--open-payments-key-id".into(),
            KEY_ID.into(),
            "--open-payments-key".into(),
            self.key_file.path().display().to_string(),
            "--open-payments-insecure-http".into(),
            "--data-dir".into(),
            self.data.path().display().to_string(),
        ];
        if let Some(redis) = &self.redis {
            flags.extend(["--redis-url".to_owned(), redis.url()]);
        }
        flags
    }

    /// `bookmygig-server payouts authorize` as the host runs it (before the server starts: the
    /// embedded store is one process's), approved in the platform's wallet.
    async fn authorize_payouts(&self, limit_dollars: u32) {
        use std::io::BufRead as _;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bookmygig-server"))
            .args(self.flags())
            .args(["payouts", "authorize", "--interval", "P1M", "--limit"])
            .arg(limit_dollars.to_string())
            .env("BOOKMYGIG_DEV_TOPUPS", "false")
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("bookmygig-server payouts authorize runs");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let consent = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                line.trim()
                    .strip_prefix("http")
                    .map(|rest| format!("http{rest}"))
            })
            .expect("the consent page is printed");
        self.wallet
            .approve_grant(&consent)
            .expect("the host approves");
        let rest: Vec<String> = lines.map_while(Result::ok).collect();
        let status = child.wait().expect("waited");
        assert!(status.success(), "authorize failed: {rest:?}");
        assert!(
            rest.iter().any(|line| line.contains("Payouts authorized")),
            "{rest:?}"
        );
    }

    /// Starts (or restarts) the server on the same data.
    fn spawn(&mut self) {
        let mut flags = self.flags();
        flags.extend([
            "--topup-consent-timeout".to_owned(),
            self.consent_timeout.to_string(),
        ]);
        flags.extend(self.extra.iter().cloned());
        let args: Vec<&str> = flags.iter().map(String::as_str).collect();
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
    async fn assert_books_agree(mut self) -> i64 {
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
        let paid_out = store
            .balance(&bookmygig_store::LedgerAccount::ExternalPayouts)
            .await
            .expect("balance");
        let pending = store
            .balance(&bookmygig_store::LedgerAccount::PayoutsPending)
            .await
            .expect("balance");
        assert_eq!(pending, Money::ZERO, "nothing held once every payout ended");
        let platform_micros = i64::try_from(self.cents(PLATFORM)).unwrap() * 10_000;
        assert_eq!(
            -external.micros() - paid_out.micros(),
            platform_micros,
            "what came in less what went out is what the platform's wallet holds; log: {log}"
        );
        paid_out.micros()
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
    eventually("the top-up ends", PATIENCE, || async {
        let status = client.top_up_status(id).await.expect("status");
        if status.state.is_final() {
            Ok(status)
        } else {
            Err(status)
        }
    })
    .await
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
    let done = approved(&world, &bob, &pending).await;
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
    let done = approved(&world, &bob, &pending).await;
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
    let done = approved(&world, &bob, &pending).await;
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
    assert_eq!(world.assert_books_agree().await, 0, "no payouts");
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
    for redis in [false, true] {
        let world = World::start(redis, 2).await;
        let (bob, bob_wallet) = world.viewer("bob", 10_000).await;
        let pending = start(&bob, 20, &bob_wallet, "late").await;
        let done = finished(&bob, pending.id).await;
        assert_eq!(done.state, TopUpState::Expired, "{done:?}");
        assert_eq!(balance(&bob).await, Money::ZERO);
        assert_eq!(world.cents("bob"), 10_000);
        world.assert_no_violations();
    }
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
        eventually("bob's wallet pays", PATIENCE, || async {
            let paid = world.wallet.outgoing_payments("bob").expect("bob");
            if paid.is_empty() { Err(paid) } else { Ok(()) }
        })
        .await;
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
    assert_eq!(
        approved(&world, &alice, &pending).await.state,
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

/// Approves `pending` in its wallet and returns it once it ended.
async fn approved(world: &World, client: &Client, pending: &TopUpStatus) -> TopUpStatus {
    world
        .wallet
        .approve_grant(pending.consent_url.as_deref().expect("a consent page"))
        .expect("approve");
    finished(client, pending.id).await
}

/// Funds `handle`'s BookMyGig wallet with `dollars` from their test wallet, approved.
async fn fund(world: &World, client: &Client, handle: &str, dollars: i64) {
    let pending = start(
        client,
        dollars,
        &world.wallet.wallet_url(handle),
        &format!("fund-{handle}-{dollars}"),
    )
    .await;
    assert_eq!(
        approved(world, client, &pending).await.state,
        TopUpState::Completed
    );
}

/// A gig of `creator` that started a moment ago and ends in `seconds`, paying to their test
/// wallet, with one $5 ticket sold to `fan`.
async fn short_gig_with_a_sale(
    world: &World,
    creator: &Client,
    handle: &str,
    fan: &Client,
    seconds: i64,
) -> bookmygig_api::Gig {
    let host = world
        .wallet
        .base_url()
        .trim_start_matches("http://")
        .to_owned();
    let mut form = common::live_gig_form("Short Show");
    form.starts_at = time::OffsetDateTime::now_utc() - time::Duration::seconds(30);
    form.ends_at = time::OffsetDateTime::now_utc() + time::Duration::seconds(seconds);
    form.price = Money::from_dollars(5);
    form.payment_pointer = format!("${host}/{handle}");
    let gig = creator.create_gig(&form).await.expect("gig");
    fan.buy_ticket(gig.id, &format!("ticket-{}", gig.id))
        .await
        .expect("ticket");
    ended(creator, gig.id).await;
    gig
}

/// Waits until `gig` has ended.
async fn ended(creator: &Client, gig: bookmygig_api::GigId) {
    eventually("the gig ends", PATIENCE, || async {
        let status = creator.gig(gig).await.expect("gig").status;
        if status == bookmygig_api::GigStatus::Ended {
            Ok(())
        } else {
            Err(status)
        }
    })
    .await;
}

/// Polls the creator's payouts until the one of `gig` is final.
async fn payout_of(client: &Client, gig: bookmygig_api::GigId) -> bookmygig_api::Payout {
    eventually("the gig's payout ends", PATIENCE, || async {
        let payouts = client.payouts().await.expect("payouts");
        match payouts.items.iter().find(|p| p.gig_id == gig) {
            Some(payout) if payout.state.is_final() => Ok(payout.clone()),
            _ => Err(payouts),
        }
    })
    .await
}

async fn payouts_are_sent_exactly_once(redis: bool) {
    let mut world = World::new(redis, 600).await;
    world.authorize_payouts(500).await;
    world.spawn();
    // Carla funds three listing fees ($297) from her wallet: 50,000 - 30,000 cents.
    let (carla, _) = world.viewer("carla", 50_000).await;
    let (vic, _) = world.viewer("vic", 10_000).await;
    fund(&world, &carla, "carla", 300).await;
    fund(&world, &vic, "vic", 20).await;

    // Asked for, with the wallet answering 503 twice: sent once.
    let gig = short_gig_with_a_sale(&world, &carla, "carla", &vic, 3).await;
    world
        .wallet
        .fail_next("create-outgoing-payment", 2, 503)
        .expect("fault");
    let payout = carla.request_payout(gig.id).await.expect("payout");
    assert_eq!(payout.amount, Money::from_dollars(5));
    let payout = payout_of(&carla, gig.id).await;
    assert_eq!(payout.state, bookmygig_api::PayoutState::Sent, "{payout:?}");
    assert_eq!(world.cents("carla"), 20_000 + 500);
    // Nothing more to pay for that gig.
    let err = carla.request_payout(gig.id).await.unwrap_err();
    assert_eq!(
        err.problem().and_then(|p| p.field.clone()).as_deref(),
        Some("gig_id")
    );

    // The server dies while the platform's wallet is paying: paid once, recorded after restart.
    let gig = short_gig_with_a_sale(&world, &carla, "carla", &vic, 3).await;
    world
        .wallet
        .inject_fault(bookmygig_testwallet::Fault {
            operation: "create-outgoing-payment".into(),
            count: 1,
            action: FaultAction::Hold,
        })
        .expect("fault");
    carla.request_payout(gig.id).await.expect("payout");
    eventually("the platform's wallet pays", PATIENCE, || async {
        let cents = world.cents("carla");
        if cents == 20_000 + 1_000 {
            Ok(())
        } else {
            Err(cents)
        }
    })
    .await;
    world.kill();
    world.spawn();
    let carla = bob_again(&world, &carla).await;
    let payout = payout_of(&carla, gig.id).await;
    assert_eq!(payout.state, bookmygig_api::PayoutState::Sent, "{payout:?}");
    assert_eq!(world.cents("carla"), 20_000 + 1_000, "paid once");

    // Nobody asks: the scheduler pays an ended gig out by itself once the delay passed.
    let vic = bob_again(&world, &vic).await;
    let gig = short_gig_with_a_sale(&world, &carla, "carla", &vic, 3).await;
    world.kill();
    world.extra = vec!["--payout-delay".into(), "0".into()];
    world.spawn();
    let carla = bob_again(&world, &carla).await;
    let payout = payout_of(&carla, gig.id).await;
    assert_eq!(payout.state, bookmygig_api::PayoutState::Sent, "{payout:?}");
    assert_eq!(world.cents("carla"), 20_000 + 1_500);

    // Earnings show what was paid out; nothing is left to pay.
    let earnings = carla.earnings().await.expect("earnings");
    for gig in &earnings.gigs {
        assert_eq!(gig.paid_out, Money::from_dollars(-5), "{gig:?}");
        assert_eq!(gig.payable, Money::ZERO, "{gig:?}");
    }
    world.assert_no_violations();
    let paid_out = world.assert_books_agree().await;
    assert_eq!(paid_out, Money::from_dollars(15).micros());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payouts_are_sent_exactly_once_on_the_embedded_store() {
    payouts_are_sent_exactly_once(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payouts_are_sent_exactly_once_on_redis() {
    payouts_are_sent_exactly_once(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payouts_wait_while_the_grant_is_spent_and_resume_once_the_host_authorizes_again() {
    // Redis: the host authorizes again while the node serves (the embedded store is one
    // process's, so there the server stops for it).
    let mut world = World::new(true, 600).await;
    world.authorize_payouts(5).await;
    world.spawn();
    let (ida, _) = world.viewer("ida", 50_000).await;
    let (vic, _) = world.viewer("vic", 10_000).await;
    fund(&world, &ida, "ida", 200).await;
    fund(&world, &vic, "vic", 20).await;

    let first = short_gig_with_a_sale(&world, &ida, "ida", &vic, 3).await;
    ida.request_payout(first.id).await.expect("payout");
    assert_eq!(
        payout_of(&ida, first.id).await.state,
        bookmygig_api::PayoutState::Sent
    );

    // The $5 grant is spent: the next payout waits, and the host is told.
    let second = short_gig_with_a_sale(&world, &ida, "ida", &vic, 3).await;
    ida.request_payout(second.id).await.expect("payout");
    let health_url = format!("{}/healthz", world.server().base);
    let note = eventually("/healthz tells the host", PATIENCE, || async {
        let health: serde_json::Value = reqwest::get(&health_url)
            .await
            .expect("healthz")
            .json()
            .await
            .expect("json");
        health["payouts"].as_str().map(str::to_owned).ok_or(health)
    })
    .await;
    assert!(note.contains("payouts authorize"), "{note}");
    let waiting = ida.payouts().await.expect("payouts");
    let payout = waiting
        .items
        .iter()
        .find(|p| p.gig_id == second.id)
        .expect("listed");
    assert!(!payout.state.is_final(), "{payout:?}");
    assert!(
        payout.error.as_deref().unwrap_or("").contains("spent"),
        "{payout:?}"
    );
    assert_eq!(
        world.cents("ida"),
        50_000 - 20_000 + 500,
        "nothing paid twice or lost"
    );

    // A new grant: the waiting payout goes through, once.
    world.authorize_payouts(500).await;
    assert_eq!(
        payout_of(&ida, second.id).await.state,
        bookmygig_api::PayoutState::Sent
    );
    assert_eq!(world.cents("ida"), 50_000 - 20_000 + 1_000);
    world.assert_no_violations();
    world.assert_books_agree().await;
}

/// A show with streaming micropayments ($35 an hour, metered by the millisecond) earns amounts
/// that are rarely whole cents, while the platform's wallet counts in cents: the payout sends
/// the earnings rounded down to a cent, the rest stays payable, and what the creator's wallet
/// received plus what stays payable is what the gig earned, to the micro-unit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_show_with_micropayments_is_paid_out_in_whole_cents_on_the_embedded_store() {
    a_show_with_micropayments_is_paid_out_in_whole_cents(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_show_with_micropayments_is_paid_out_in_whole_cents_on_redis() {
    a_show_with_micropayments_is_paid_out_in_whole_cents(true).await;
}

async fn a_show_with_micropayments_is_paid_out_in_whole_cents(redis: bool) {
    use bookmygig_testkit::server::Serving as _;

    let mut world = World::new(redis, 600).await;
    world.authorize_payouts(500).await;
    world.extra = vec!["--settlement-interval".into(), "1".into()];
    world.spawn();
    let (carla, _) = world.viewer("carla", 50_000).await;
    let (vic, _) = world.viewer("vic", 10_000).await;
    fund(&world, &carla, "carla", 300).await;
    fund(&world, &vic, "vic", 20).await;
    let carla_before = world.cents("carla");

    let host = world
        .wallet
        .base_url()
        .trim_start_matches("http://")
        .to_owned();
    let mut form = common::live_gig_form("Metered Show");
    form.starts_at = time::OffsetDateTime::now_utc() - time::Duration::seconds(30);
    form.ends_at = time::OffsetDateTime::now_utc() + time::Duration::seconds(15);
    form.price = Money::from_dollars(5);
    // $35 an hour: 9,722.2 micro-dollars a second, so the earnings are almost never whole cents.
    form.micropayment_rate = Some(Money::from_dollars(35));
    form.payment_pointer = format!("${host}/carla");
    let gig = carla.create_gig(&form).await.expect("gig");
    vic.buy_ticket(gig.id, "metered-ticket")
        .await
        .expect("ticket");
    let server = world.server();
    let ffmpeg = common::FfmpegPublisher::start(&server.publish_url(&gig), "320x240", 25, 120);
    server
        .await_stream(gig.id, PATIENCE, |s| s.live && s.video.is_some())
        .await;

    // Vic watches for a few seconds, then leaves; the meter settles when the session ends.
    let playback: bookmygig_api::Playback = vic
        .request(reqwest::Method::POST, &format!("/gigs/{}/playback", gig.id))
        .send()
        .await
        .expect("playback")
        .json()
        .await
        .expect("playback JSON");
    let mut response = reqwest::Client::new()
        .get(&playback.flv_url)
        .send()
        .await
        .expect("FLV");
    assert_eq!(response.status(), 200);
    let mut bytes = 0;
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        while let Some(chunk) = response.chunk().await.expect("FLV body") {
            bytes += chunk.len();
        }
    })
    .await;
    assert!(bytes > 0, "the stream played");
    drop(response);
    server
        .await_stream(gig.id, PATIENCE, |s| s.viewers == 0)
        .await;
    // The show is over: the creator stops streaming (a live gig stays live past its end).
    drop(ffmpeg);
    ended(&carla, gig.id).await;
    let before = carla.earnings().await.expect("earnings");
    let before = before
        .gigs
        .iter()
        .find(|g| g.gig_id == gig.id)
        .expect("the gig");
    assert!(before.micropayments > Money::ZERO, "{before:?}");

    let requested = carla.request_payout(gig.id).await.expect("payout");
    let payout = payout_of(&carla, gig.id).await;
    assert_eq!(payout.state, bookmygig_api::PayoutState::Sent, "{payout:?}");
    let cent = 10_000;
    assert_eq!(requested.amount.micros() % cent, 0, "{requested:?}");
    assert_eq!(
        requested.amount.micros(),
        before.payable.micros() - before.payable.micros() % cent
    );
    let received = i64::try_from(world.cents("carla") - carla_before).unwrap() * cent;
    assert_eq!(
        received,
        requested.amount.micros(),
        "the wallet got the payout"
    );

    let after = carla.earnings().await.expect("earnings");
    let after = after
        .gigs
        .iter()
        .find(|g| g.gig_id == gig.id)
        .expect("the gig");
    assert_eq!(after.paid_out.micros(), -received, "{after:?}");
    assert!(
        (0..cent).contains(&after.payable.micros()),
        "less than a cent stays payable: {after:?}"
    );
    assert_eq!(
        received + after.payable.micros(),
        before.payable.micros(),
        "received plus still payable is what the gig earned, to the micro-unit"
    );
    // Less than a cent cannot be sent: asking again says so, naming the gig.
    let refused = carla.request_payout(gig.id).await.unwrap_err();
    assert_eq!(
        refused.problem().and_then(|p| p.field.clone()).as_deref(),
        Some("gig_id")
    );
    world.assert_no_violations();
    world.assert_books_agree().await;
}
