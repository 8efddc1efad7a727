//! Several nodes on one Redis: three real `bookmygig-server` processes on one real
//! redis-server, real WebSocket clients. Chat crosses nodes once and in order, presence counts
//! people across nodes, bans hold everywhere, ticket capacity holds under purchases spread over
//! the nodes, and two nodes metering one viewer charge once.

#![allow(clippy::expect_used, clippy::unwrap_used)] // A harness failure is a test failure.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bookmygig_api::{ChatUser, ClientMessage, GigId, Money, ServerMessage};
use bookmygig_client::Client;
use bookmygig_server::cluster::chat_presence::{ENTRY_TTL, HEARTBEAT};
use bookmygig_store::Store as _;
use common::cluster::ClusterNodes;
use common::{ChatSocket, ServerProcess, Serving as _, TokenIn, new_gig};
use futures::StreamExt as _;

fn user(handle: &str) -> ChatUser {
    ChatUser {
        handle: handle.into(),
        display_name: format!("{handle} (test)"),
    }
}

/// Tries to enter `gig`'s chat on `node`.
async fn connect(
    node: &ServerProcess,
    client: &Client,
    gig: GigId,
) -> Result<ChatSocket, (u16, Option<bookmygig_api::Problem>)> {
    ChatSocket::connect(&node.chat_url(gig), client.token(), TokenIn::Header).await
}

/// Enters `gig`'s chat on `node` and reads the greeting (`history`, `presence`, `stream`).
async fn enter(node: &ServerProcess, client: &Client, gig: GigId) -> ChatSocket {
    let mut socket = connect(node, client, gig)
        .await
        .unwrap_or_else(|(status, problem)| panic!("refused with {status}: {problem:?}"));
    assert!(matches!(socket.next().await, ServerMessage::History { .. }));
    socket
        .until(|m| matches!(m, ServerMessage::Stream(_)))
        .await;
    socket
}

/// The texts of the `message`s read until (and with) the one saying `last`.
async fn texts_until(socket: &mut ChatSocket, last: &str) -> Vec<String> {
    let mut texts = Vec::new();
    loop {
        if let ServerMessage::Message(message) = socket.next().await {
            let done = message.text == last;
            texts.push(message.text);
            if done {
                return texts;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_sent_through_one_node_reaches_members_on_the_others_in_order_once() {
    let cluster = ClusterNodes::start(3, &[]);
    let (a, b, c) = (cluster.node(0), cluster.node(1), cluster.node(2));
    let (_creator, gig) = a.creator_with_gig("ann", None).await;
    let bob = a.ticket_holder("bob", gig.id).await;
    let cid = b.ticket_holder("cid", gig.id).await;
    let dan = c.ticket_holder("dan", gig.id).await;
    let mut on_a = enter(a, &bob, gig.id).await;
    let mut on_b = enter(b, &cid, gig.id).await;
    let mut on_c = enter(c, &dan, gig.id).await;
    on_a.until(|m| *m == ServerMessage::Presence { count: 3 })
        .await;
    on_b.until(|m| *m == ServerMessage::Presence { count: 3 })
        .await;

    let said: Vec<String> = (1..=5).map(|n| format!("from C #{n}")).collect();
    for text in &said {
        on_c.say(text).await;
    }
    // Once every member saw the fifth, B speaks: Redis orders B's word after C's five on every
    // node, so anything delivered twice would show up before it.
    assert_eq!(texts_until(&mut on_b, &said[4]).await, said);
    on_b.say("over").await;
    let mut expected = said.clone();
    expected.push("over".into());
    assert_eq!(texts_until(&mut on_a, "over").await, expected, "node A");
    assert_eq!(texts_until(&mut on_b, "over").await, ["over"], "node B");
    assert_eq!(texts_until(&mut on_c, "over").await, expected, "node C");

    let mut late = enter_raw(b, &dan, gig.id).await;
    let ServerMessage::History { messages } = late.next().await else {
        panic!("history first");
    };
    let stored: Vec<_> = messages.into_iter().map(|m| m.text).collect();
    assert_eq!(stored, expected, "stored once each, in order");
}

/// Connects without reading anything.
async fn enter_raw(node: &ServerProcess, client: &Client, gig: GigId) -> ChatSocket {
    connect(node, client, gig)
        .await
        .unwrap_or_else(|(status, problem)| panic!("refused with {status}: {problem:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_join_and_leave_count_people_across_nodes() {
    let cluster = ClusterNodes::start(3, &[]);
    let (a, b, c) = (cluster.node(0), cluster.node(1), cluster.node(2));
    let (creator, gig) = a.creator_with_gig("ann", None).await;
    let bob = b.ticket_holder("bob", gig.id).await;
    let mut host = enter(a, &creator, gig.id).await;

    let mut bob_on_b = enter_raw(b, &bob, gig.id).await;
    assert!(matches!(
        bob_on_b.next().await,
        ServerMessage::History { .. }
    ));
    assert_eq!(bob_on_b.next().await, ServerMessage::Presence { count: 2 });
    assert!(matches!(bob_on_b.next().await, ServerMessage::Stream(_)));
    assert_eq!(host.next().await, ServerMessage::Join(user("bob")));
    assert_eq!(host.next().await, ServerMessage::Presence { count: 2 });

    // Bob on a second node is still one person: no second join.
    let bob_on_c = enter(c, &bob, gig.id).await;
    assert_eq!(host.next().await, ServerMessage::Presence { count: 2 });
    bob_on_b.close().await;
    bob_on_c.close().await;
    // One leave, once his last socket anywhere is gone.
    assert_eq!(host.next().await, ServerMessage::Leave(user("bob")));
    assert_eq!(host.next().await, ServerMessage::Presence { count: 1 });
    host.say("alone").await;
    let ServerMessage::Message(message) = host.next().await else {
        panic!("nothing else came in between");
    };
    assert_eq!(message.text, "alone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_people_of_a_node_that_dies_leave_within_the_ttl() {
    let mut cluster = ClusterNodes::start(2, &[]);
    let (creator, gig) = cluster.node(0).creator_with_gig("ann", None).await;
    let bob = cluster.node(1).ticket_holder("bob", gig.id).await;
    let mut host = enter(cluster.node(0), &creator, gig.id).await;
    let _bob_on_b = enter(cluster.node(1), &bob, gig.id).await;
    host.until(|m| *m == ServerMessage::Presence { count: 2 })
        .await;

    cluster.kill(1);
    let killed = tokio::time::Instant::now();
    let deadline = ENTRY_TTL + HEARTBEAT + Duration::from_secs(10);
    // The host keeps talking (within the rate limit) so the socket never goes quiet for the
    // harness's patience while the dead node's entry expires.
    let mut beat = tokio::time::interval(Duration::from_secs(1));
    for n in 0.. {
        beat.tick().await;
        let text = format!("anyone there? #{n}");
        host.say(&text).await;
        let seen = host
            .until(|m| match m {
                ServerMessage::Leave(_) => true,
                ServerMessage::Message(message) => message.text == text,
                _ => false,
            })
            .await;
        if let ServerMessage::Leave(gone) = seen {
            assert_eq!(gone, user("bob"));
            break;
        }
        assert!(killed.elapsed() < deadline, "bob never left");
    }
    host.until(|m| *m == ServerMessage::Presence { count: 1 })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_metering_one_viewer_charge_once_and_browsing_elsewhere_is_free() {
    use bookmygig_server::cluster::Cluster;
    use bookmygig_server::cluster::watch_lease::RedisWatchLeases;
    use bookmygig_server::money::Meter;
    use bookmygig_store::LedgerAccount;

    let cluster = ClusterNodes::start(1, &[]);
    let node = cluster.node(0);
    let creator = node.sign_up("ann").await;
    creator
        .top_up(Money::from_dollars(99), None)
        .await
        .expect("top up");
    let mut form = new_gig("Late Night Laughs", None);
    form.micropayment_rate = Some(Money::from_dollars(36)); // 10,000 micro-USD a second
    let gig = creator.create_gig(&form).await.expect("gig");
    let viewer = node.ticket_holder("bob", gig.id).await;
    let viewer_id = viewer.me().await.expect("me").id;

    let url = cluster.redis().url();
    let store: Arc<dyn bookmygig_store::Store> = Arc::new(
        bookmygig_store::RedisStore::connect(&url)
            .await
            .expect("the cluster's Redis"),
    );
    let record = store.gig(gig.id).await.unwrap().expect("the gig");
    let creator_wallet = LedgerAccount::User(record.creator_id);
    let creator_before = store.balance(&creator_wallet).await.unwrap().0;
    let platform_before = store
        .balance(&LedgerAccount::PlatformRevenue)
        .await
        .unwrap()
        .0;
    let viewer_before = store
        .balance(&LedgerAccount::User(viewer_id))
        .await
        .unwrap()
        .0;
    // Nodes A and B play the gig to the viewer; on node C the viewer's TUI is open (browsing,
    // which would pay the platform if the viewer watched nothing anywhere).
    let mut meters = Vec::new();
    for name in ["a", "b", "c"] {
        let member = Cluster::join(&url, &format!("http://node-{name}"))
            .await
            .expect("joins");
        let meter = Meter::new(
            Arc::clone(&store),
            Money::from_dollars(36),
            "https://wallet.example/bookmygig".into(),
            RedisWatchLeases::new(member),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let run = tokio::spawn(
            Arc::clone(&meter).run(Duration::from_millis(200), async move {
                let _ = stopped.await;
            }),
        );
        meters.push((meter, stop, run));
    }
    let (browsing_node, stop_browsing, browsing_run) = meters.pop().unwrap();

    let started = tokio::time::Instant::now();
    let watching: Vec<_> = meters
        .iter()
        .map(|(meter, _, _)| meter.watch(viewer_id, &record))
        .collect();
    for (meter, _, _) in &meters {
        meter.claim_leases().await;
    }
    let channel = browsing_node.open_channel(viewer_id);
    browsing_node.claim_leases().await;
    // The span watched is what is under test, not a readiness wait.
    tokio::time::sleep(Duration::from_secs(2)).await;
    drop(channel);
    let _ = stop_browsing.send(());
    browsing_run.await.unwrap();
    drop(watching);
    let watched = started.elapsed();
    for (_, stop, run) in meters {
        let _ = stop.send(());
        run.await.unwrap();
    }

    let paid = store.balance(&creator_wallet).await.unwrap().0 - creator_before;
    let ceiling = i64::try_from(watched.as_millis()).unwrap() * 10;
    assert!(
        paid <= ceiling,
        "paid {paid} for {watched:?}: charged twice?"
    );
    // Charging starts once the lease is claimed, a Redis round trip after the watch began.
    assert!(
        paid >= ceiling / 2,
        "paid {paid} for {watched:?}: too little"
    );
    let platform = store
        .balance(&LedgerAccount::PlatformRevenue)
        .await
        .unwrap()
        .0;
    assert_eq!(platform, platform_before, "no browsing while watching");
    let viewer_after = store
        .balance(&LedgerAccount::User(viewer_id))
        .await
        .unwrap()
        .0;
    assert_eq!(
        viewer_before - viewer_after,
        paid,
        "the viewer paid exactly what the creator got"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ban_on_one_node_closes_sockets_on_the_others_and_keeps_the_user_out_everywhere() {
    let cluster = ClusterNodes::start(3, &[]);
    let (a, b, c) = (cluster.node(0), cluster.node(1), cluster.node(2));
    let (creator, gig) = a.creator_with_gig("ann", None).await;
    let bob = b.ticket_holder("bob", gig.id).await;
    let cid = c.ticket_holder("cid", gig.id).await;
    let mut host = enter(a, &creator, gig.id).await;
    let mut bob_on_b = enter(b, &bob, gig.id).await;
    let mut bob_on_c = enter(c, &bob, gig.id).await;
    let mut cid_on_c = enter(c, &cid, gig.id).await;
    host.until(|m| *m == ServerMessage::Presence { count: 3 })
        .await;

    host.send_message(&ClientMessage::Ban { user: "bob".into() })
        .await;
    for socket in [&mut bob_on_b, &mut bob_on_c] {
        let (code, reason) = socket.closed().await.expect("a close frame");
        assert_eq!(code, 1008);
        assert!(reason.contains("banned"), "{reason}");
    }
    for socket in [&mut host, &mut cid_on_c] {
        assert_eq!(
            socket.until(|m| matches!(m, ServerMessage::Leave(_))).await,
            ServerMessage::Leave(user("bob"))
        );
        assert_eq!(socket.next().await, ServerMessage::Presence { count: 2 });
    }
    for node in [a, b, c] {
        let (status, problem) = connect(node, &bob, gig.id)
            .await
            .err()
            .expect("a banned user cannot re-enter on any node");
        assert_eq!(status, 403);
        assert!(problem.unwrap().detail.contains("banned"));
    }

    host.send_message(&ClientMessage::Unban { user: "bob".into() })
        .await;
    // The unban is stored before the host's next frame is read; a round trip proves it.
    host.say("welcome back").await;
    host.until(|m| matches!(m, ServerMessage::Message(_))).await;
    let _bob_again = enter(b, &bob, gig.id).await;
    assert_eq!(
        cid_on_c
            .until(|m| matches!(m, ServerMessage::Join(_)))
            .await,
        ServerMessage::Join(user("bob"))
    );
}

/// Says `text` every second (the rate limit's pace) on `socket` until the socket gets it back,
/// riding out `unavailable` errors while Redis is away. Returns the attempt that got through.
async fn say_until_echoed(socket: &mut ChatSocket, text: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut beat = tokio::time::interval(Duration::from_secs(1));
    for n in 0.. {
        beat.tick().await;
        let attempt = format!("{text} #{n}");
        socket.say(&attempt).await;
        let answer = socket
            .until(|m| match m {
                ServerMessage::Message(message) => message.text == attempt,
                ServerMessage::Error { .. } => true,
                _ => false,
            })
            .await;
        if matches!(answer, ServerMessage::Message(_)) {
            return attempt;
        }
        assert!(tokio::time::Instant::now() < deadline, "never got through");
    }
    unreachable!()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_crosses_nodes_again_once_redis_is_back_and_the_loss_is_logged_once() {
    let mut redis = bookmygig_testkit::RedisServer::start_durable();
    let url = redis.url();
    let a = ServerProcess::spawn(&["--redis-url", &url], &[]);
    let b = ServerProcess::spawn(&["--redis-url", &url], &[]);
    let (_creator, gig) = a.creator_with_gig("ann", None).await;
    let bob = a.ticket_holder("bob", gig.id).await;
    let cid = b.ticket_holder("cid", gig.id).await;
    let mut bob_on_a = enter(&a, &bob, gig.id).await;
    let mut cid_on_b = enter(&b, &cid, gig.id).await;
    bob_on_a
        .until(|m| *m == ServerMessage::Presence { count: 2 })
        .await;

    redis.crash_and_restart();
    // Each node hears its own members again once its subscription is back...
    say_until_echoed(&mut cid_on_b, "B back").await;
    say_until_echoed(&mut bob_on_a, "A back").await;
    // ...and then the other node's.
    cid_on_b.say("both back").await;
    for socket in [&mut bob_on_a, &mut cid_on_b] {
        socket
            .until(|m| matches!(m, ServerMessage::Message(message) if message.text == "both back"))
            .await;
    }

    for node in [a, b] {
        let log = node.terminate();
        assert_eq!(log.matches("chat bus lost Redis").count(), 1, "{log}");
        assert_eq!(log.matches("chat bus reconnected").count(), 1, "{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_person_on_two_nodes_has_one_rate_limit() {
    let cluster = ClusterNodes::start(2, &[]);
    let (a, b) = (cluster.node(0), cluster.node(1));
    let (_creator, gig) = a.creator_with_gig("ann", None).await;
    let bob = a.ticket_holder("bob", gig.id).await;
    let mut on_a = enter(a, &bob, gig.id).await;
    let mut on_b = enter(b, &bob, gig.id).await;
    let started = tokio::time::Instant::now();
    for n in 1..=5 {
        on_a.say(&format!("message {n}")).await;
    }
    texts_until(&mut on_a, "message 5").await;
    on_b.say("message 6").await;
    let answer = on_b
        .until(|m| match m {
            ServerMessage::Message(message) => message.text == "message 6",
            ServerMessage::Error { .. } => true,
            _ => false,
        })
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the six went out inside a second"
    );
    assert!(
        matches!(
            answer,
            ServerMessage::Error {
                code: bookmygig_api::ChatErrorCode::RateLimited,
                ..
            }
        ),
        "{answer:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_purchases_over_three_nodes_sell_exactly_the_capacity() {
    const BUYERS: usize = 300;
    const CAPACITY: u32 = 100;
    // 300 buyers from one address: the per-address caps and throttles are not under test.
    let cluster = ClusterNodes::start(3, &["--no-rate-limits"]);
    let nodes = [cluster.node(0), cluster.node(1), cluster.node(2)];
    let (_creator, gig) = nodes[0].creator_with_gig("ann", Some(CAPACITY)).await;

    let buyers: Vec<Client> = futures::stream::iter(0..BUYERS)
        .map(|n| async move {
            let buyer = nodes[n % 3].sign_up(&format!("buyer_{n}")).await;
            buyer
                .top_up(Money::from_dollars(10), None)
                .await
                .expect("top up");
            buyer
        })
        .buffer_unordered(16)
        .collect()
        .await;

    let start = Arc::new(tokio::sync::Barrier::new(BUYERS));
    let purchases: Vec<_> = buyers
        .into_iter()
        .map(|buyer| {
            let start = Arc::clone(&start);
            tokio::spawn(async move {
                start.wait().await;
                buyer.buy_ticket(gig.id, "the-only-try").await
            })
        })
        .collect();
    let (mut sold, mut sold_out) = (0, 0);
    for purchase in purchases {
        match purchase.await.unwrap() {
            Ok(_) => sold += 1,
            Err(error) => {
                let problem = error.problem().expect("a problem answer");
                assert_eq!((problem.status, problem.code()), (409, "sold-out"));
                sold_out += 1;
            }
        }
    }
    assert_eq!((sold, sold_out), (100, 200));

    let store = bookmygig_store::RedisStore::connect(&cluster.redis().url())
        .await
        .expect("the cluster's Redis");
    assert_eq!(store.tickets_of_gig(gig.id).await.unwrap().len(), 100);
    let balances = store.balances().await.unwrap();
    assert_eq!(
        balances.iter().map(|(_, m)| m.0).sum::<i64>(),
        0,
        "{balances:?}"
    );
    assert!(
        balances
            .iter()
            .all(|(account, m)| !account.is_user_wallet() || *m >= Money::ZERO)
    );
    let seen = nodes[2].client().gig(gig.id).await.expect("gig");
    assert_eq!(seen.seats_left, Some(0));
}
