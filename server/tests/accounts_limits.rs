//! Account abuse limits, attacked over real HTTP: sign-in throttled per handle and per address
//! (a locked handle is released after the announced `Retry-After`, and unknown handles are
//! answered like known ones), sign-ups throttled per address, the counts shared by the nodes of
//! a cluster, `--no-rate-limits` lifting them; and the account's own defences: a password
//! change signs out every other session, sign-out-everywhere signs out all of them.
#![allow(clippy::expect_used, clippy::unwrap_used)] // A harness failure is a test failure.

mod common;

use std::time::{Duration, Instant};

use bookmygig_api::{NewAccount, NewSession, PasswordChange, Problem};
use bookmygig_client::Client;
use bookmygig_server::throttle::policy;
use common::cluster::ClusterNodes;
use common::{Backend, TestServer};

macro_rules! on_both_backends {
    ($($test:ident),+ $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::Backend::Embedded).await;
                }
            )+
        }
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::Backend::Redis).await;
                }
            )+
        }
    };
}

on_both_backends!(
    twenty_wrong_passwords_lock_the_handle_until_the_announced_wait,
    unknown_handles_are_answered_as_known_ones_are,
    an_address_guessing_across_handles_runs_out_of_attempts,
    sign_ups_from_one_address_are_throttled,
    a_password_change_signs_out_every_other_session,
    signing_out_everywhere_ends_every_session,
);

/// What one sign-in attempt got: status, `Retry-After` (seconds) and problem.
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    problem: Option<Problem>,
    took: Duration,
}

/// Signs in through `client`'s raw HTTP, so the headers can be read.
async fn attempt(client: &Client, handle: &str, password: &str) -> Answer {
    let started = Instant::now();
    let response = client
        .raw()
        .post(client.url("/sessions"))
        .json(&NewSession {
            handle: handle.into(),
            password: password.into(),
        })
        .send()
        .await
        .expect("the server answers");
    let took = started.elapsed();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let body = response.bytes().await.unwrap();
    Answer {
        status,
        retry_after,
        problem: serde_json::from_slice(&body).ok(),
        took,
    }
}

fn kind(answer: &Answer) -> &str {
    answer.problem.as_ref().map_or("", |p| p.kind.as_str())
}

async fn twenty_wrong_passwords_lock_the_handle_until_the_announced_wait(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.sign_up("alice").await;
    let client = server.anonymous();
    let mut statuses = Vec::new();
    let mut last = None;
    for i in 0..20 {
        let answer = attempt(&client, "alice", &format!("wrong guess {i}")).await;
        statuses.push(answer.status);
        last = Some(answer);
    }
    let free = policy::SIGN_IN_FREE_FAILURES as usize;
    assert!(
        statuses[..free].iter().all(|s| *s == 401),
        "the first {free} failures are answered: {statuses:?}"
    );
    assert!(
        statuses[free..].iter().all(|s| *s == 429),
        "then the handle is locked: {statuses:?}"
    );
    let last = last.unwrap();
    assert!(
        kind(&last).ends_with("too-many-attempts"),
        "{}",
        kind(&last)
    );
    let wait = last.retry_after.expect("a 429 says when to retry");
    assert!(
        (1..=2).contains(&wait),
        "the first lock is a second, got {wait}"
    );
    // The right password is refused too while the lock holds.
    let locked = attempt(&client, "alice", "alice-password").await;
    assert_eq!(locked.status, 429);
    // Waiting out what the server announced is enough.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let signed_in = attempt(&client, "alice", "alice-password").await;
    assert_eq!(signed_in.status, 201);
    // The success forgave the failures: a typo now is a plain 401, not a longer lock.
    assert_eq!(attempt(&client, "alice", "typo").await.status, 401);
    assert_eq!(
        attempt(&client, "alice", "alice-password").await.status,
        201
    );
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn unknown_handles_are_answered_as_known_ones_are(backend: Backend) {
    let server = TestServer::start(backend).await;
    server.sign_up("timed").await;
    let client = server.anonymous();
    // Interleaved, so both kinds meet the same load; each under the free failures of its
    // handle, so every one is a full password check.
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    let mut bodies = Vec::new();
    for i in 0..(policy::SIGN_IN_FREE_FAILURES - 1) {
        let a = attempt(&client, "timed", &format!("wrong {i}")).await;
        let b = attempt(&client, &format!("ghost_{i}"), &format!("wrong {i}")).await;
        assert_eq!((a.status, b.status), (401, 401));
        known.push(a.took);
        unknown.push(b.took);
        bodies.push((a.problem.unwrap(), b.problem.unwrap()));
    }
    for (a, b) in &bodies {
        assert_eq!(a, b, "the same answer whether the account exists or not");
    }
    let (known, unknown) = (median(known), median(unknown));
    assert!(
        unknown * 3 >= known && unknown <= known * 3,
        "median sign-in time: known {known:?}, unknown {unknown:?}"
    );
    // And a locked unknown handle is locked as a known one is.
    let mut last = 0;
    for i in 0..=policy::SIGN_IN_FREE_FAILURES {
        last = attempt(&client, "nobody_here", &format!("guess {i}"))
            .await
            .status;
    }
    assert_eq!(last, 429);
}

async fn an_address_guessing_across_handles_runs_out_of_attempts(backend: Backend) {
    let server = TestServer::start(backend).await;
    let client = server.anonymous();
    for i in 0..policy::SIGN_IN_IP_BURST {
        let answer = attempt(&client, &format!("target_{i}"), "password1").await;
        assert_eq!(answer.status, 401, "attempt {i}");
    }
    let refused = attempt(&client, "one_more", "password1").await;
    assert_eq!(refused.status, 429);
    assert!(kind(&refused).ends_with("too-many-attempts"));
    let wait = refused.retry_after.unwrap();
    assert!(
        (1..=policy::SIGN_IN_IP_INTERVAL.as_secs()).contains(&wait),
        "{wait}"
    );
}

fn new_account(handle: &str) -> NewAccount {
    NewAccount {
        handle: handle.into(),
        display_name: handle.into(),
        password: format!("{handle}-password"),
    }
}

async fn sign_ups_from_one_address_are_throttled(backend: Backend) {
    let server = TestServer::start(backend).await;
    let client = server.anonymous();
    for i in 0..policy::SIGN_UP_IP_BURST {
        client
            .sign_up(&new_account(&format!("user_{i}")))
            .await
            .expect("within the budget");
    }
    let response = client
        .raw()
        .post(client.url("/accounts"))
        .header("x-forwarded-for", "203.0.113.9") // Not from a trusted proxy: ignored.
        .json(&new_account("one_too_many"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=policy::SIGN_UP_IP_INTERVAL.as_secs()).contains(&wait),
        "{wait}"
    );
    let problem: Problem = response.json().await.unwrap();
    assert!(
        problem.kind.ends_with("too-many-sign-ups"),
        "{}",
        problem.kind
    );
    // A malformed form is refused as such, and costs nothing.
    let bad = client.sign_up(&new_account("X")).await.unwrap_err();
    assert_eq!(bad.status(), Some(422));
    // Nothing was created by the refused sign-up: the handle is still free for sign-in… to fail.
    assert_eq!(
        attempt(&client, "one_too_many", "one_too_many-password")
            .await
            .status,
        401
    );
}

async fn a_password_change_signs_out_every_other_session(backend: Backend) {
    let server = TestServer::start(backend).await;
    let here = server.sign_up("bob").await;
    let mut others = Vec::new();
    for _ in 0..2 {
        let session = server
            .anonymous()
            .sign_in(&NewSession {
                handle: "bob".into(),
                password: "bob-password".into(),
            })
            .await
            .unwrap();
        others.push(server.anonymous().with_token(session.token));
    }
    let wrong = here
        .change_password(&PasswordChange {
            current_password: "not it".into(),
            new_password: "a new long password".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(wrong.status(), Some(403));
    assert!(wrong.problem().unwrap().detail.contains("current password"));
    let short = here
        .change_password(&PasswordChange {
            current_password: "bob-password".into(),
            new_password: "short".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        short.problem().unwrap().field.as_deref(),
        Some("new_password")
    );
    here.change_password(&PasswordChange {
        current_password: "bob-password".into(),
        new_password: "a new long password".into(),
    })
    .await
    .expect("changed");
    assert_eq!(here.me().await.unwrap().handle, "bob", "this session stays");
    for other in &others {
        assert_eq!(other.me().await.unwrap_err().status(), Some(401));
    }
    let client = server.anonymous();
    assert_eq!(attempt(&client, "bob", "bob-password").await.status, 401);
    assert_eq!(
        attempt(&client, "bob", "a new long password").await.status,
        201
    );
}

async fn signing_out_everywhere_ends_every_session(backend: Backend) {
    let server = TestServer::start(backend).await;
    let first = server.sign_up("carol").await;
    let session = server
        .anonymous()
        .sign_in(&NewSession {
            handle: "carol".into(),
            password: "carol-password".into(),
        })
        .await
        .unwrap();
    let second = server.anonymous().with_token(session.token);
    let dave = server.sign_up("dave").await;
    second
        .sign_out_everywhere()
        .await
        .expect("signed out everywhere");
    for client in [&first, &second] {
        assert_eq!(client.me().await.unwrap_err().status(), Some(401));
    }
    assert_eq!(
        dave.me().await.unwrap().handle,
        "dave",
        "other accounts keep theirs"
    );
    assert_eq!(
        attempt(&server.anonymous(), "carol", "carol-password")
            .await
            .status,
        201
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spreading_guesses_over_the_nodes_of_a_cluster_buys_nothing() {
    let cluster = ClusterNodes::start(2, &[]);
    cluster.node(0).sign_up("erin").await;
    let nodes = [cluster.node(0).client(), cluster.node(1).client()];
    let mut statuses = Vec::new();
    for i in 0..(policy::SIGN_IN_FREE_FAILURES as usize + 3) {
        let answer = attempt(&nodes[i % 2], "erin", &format!("guess {i}")).await;
        statuses.push(answer.status);
    }
    let free = policy::SIGN_IN_FREE_FAILURES as usize;
    assert!(statuses[..free].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[free..].iter().all(|s| *s == 429), "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_rate_limits_lifts_the_account_throttles() {
    let server = TestServer::start_with(Backend::Embedded, &["--no-rate-limits"]).await;
    server.sign_up("frank").await;
    let client = server.anonymous();
    for i in 0..(policy::SIGN_IN_FREE_FAILURES + 3) {
        assert_eq!(
            attempt(&client, "frank", &format!("guess {i}"))
                .await
                .status,
            401
        );
    }
    assert_eq!(
        attempt(&client, "frank", "frank-password").await.status,
        201
    );
    for i in 0..=policy::SIGN_UP_IP_BURST {
        client
            .sign_up(&new_account(&format!("many_{i}")))
            .await
            .expect("no budget");
    }
}
