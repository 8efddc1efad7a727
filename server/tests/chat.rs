//! Live chat end to end: a real server, real WebSocket clients (tokio-tungstenite), both stores
//! where storage matters, and ffmpeg for the stream events.

#![allow(clippy::expect_used, clippy::unwrap_used)] // A harness failure is a test failure.

mod common;

use std::time::Duration;

use bookmygig_api::limits::{CHAT_SOCKETS_PER_ACCOUNT, CHAT_TEXT_MAX};
use bookmygig_api::{ChatErrorCode, ChatUser, ClientMessage, MessageId, ServerMessage};
use common::{Backend, ChatSocket, FfmpegPublisher, TestServer, TokenIn};
use time::OffsetDateTime;
use tokio_tungstenite::tungstenite::Message;

fn user(handle: &str) -> ChatUser {
    ChatUser {
        handle: handle.into(),
        display_name: format!("{handle} (test)"),
    }
}

fn is_message(message: &ServerMessage) -> bool {
    matches!(message, ServerMessage::Message(_))
}

/// The text of a `message`, panicking on anything else.
fn text_of(message: ServerMessage) -> String {
    match message {
        ServerMessage::Message(m) => m.text,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// The code of an `error`, panicking on anything else.
fn error_code(message: ServerMessage) -> ChatErrorCode {
    match message {
        ServerMessage::Error { code, detail } => {
            assert!(!detail.is_empty(), "an error says what went wrong");
            code
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

async fn two_ticket_holders_see_each_others_join_messages_and_leave(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_creator, gig) = server.creator_with_gig("ann", None).await;
    let bob = server.ticket_holder("bob", gig.id).await;
    let cid = server.ticket_holder("cid", gig.id).await;

    let mut bob_socket = server.chat(&bob, gig.id).await;
    assert_eq!(
        bob_socket.next().await,
        ServerMessage::History { messages: vec![] }
    );
    assert_eq!(
        bob_socket.next().await,
        ServerMessage::Presence { count: 1 }
    );
    let ServerMessage::Stream(status) = bob_socket.next().await else {
        panic!("the stream's state follows presence");
    };
    assert!(!status.live && status.gig_id == gig.id);

    let (mut cid_socket, history) = server.enter_chat(&cid, gig.id).await;
    assert!(history.is_empty());
    assert_eq!(bob_socket.next().await, ServerMessage::Join(user("cid")));
    assert_eq!(
        bob_socket.next().await,
        ServerMessage::Presence { count: 2 }
    );

    let before = OffsetDateTime::now_utc() - time::Duration::seconds(1);
    bob_socket.say("  hello, cid!  ").await;
    for socket in [&mut bob_socket, &mut cid_socket] {
        let ServerMessage::Message(message) = socket.until(is_message).await else {
            unreachable!()
        };
        assert_eq!(message.author, "bob");
        assert_eq!(message.display_name, "bob (test)");
        assert_eq!(message.text, "hello, cid!", "trimmed");
        let after = OffsetDateTime::now_utc() + time::Duration::seconds(1);
        assert!(before < message.sent_at && message.sent_at < after);
    }
    cid_socket.say("hi bob").await;
    let reply = bob_socket.until(is_message).await;
    let ServerMessage::Message(reply) = reply else {
        unreachable!()
    };
    assert_eq!(
        (reply.author.as_str(), reply.text.as_str()),
        ("cid", "hi bob")
    );

    cid_socket.close().await;
    assert_eq!(bob_socket.next().await, ServerMessage::Leave(user("cid")));
    assert_eq!(
        bob_socket.next().await,
        ServerMessage::Presence { count: 1 }
    );
    server.stop().await;
}

async fn only_ticket_holders_and_the_creator_get_in_and_refusals_are_problems(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (creator, gig) = server.creator_with_gig("ann", None).await;
    let url = server.chat_url(gig.id);

    let (status, problem) = ChatSocket::connect(&url, None, TokenIn::Header)
        .await
        .err()
        .expect("no token is refused");
    assert_eq!(status, 401);
    assert_eq!(problem.expect("a problem body").code(), "unauthorized");
    for token_in in [TokenIn::Header, TokenIn::Query] {
        let (status, problem) = ChatSocket::connect(&url, Some("bmg_forged"), token_in)
            .await
            .err()
            .expect("a bad token is refused");
        assert_eq!(status, 401, "{token_in:?}");
        assert_eq!(problem.unwrap().status, 401);
    }

    let stranger = server.sign_up("eve").await;
    let (status, problem) = ChatSocket::connect(&url, stranger.token(), TokenIn::Header)
        .await
        .err()
        .expect("no ticket is refused");
    assert_eq!(status, 403);
    let problem = problem.unwrap();
    assert_eq!(problem.code(), "forbidden");
    assert!(problem.detail.contains("ticket"), "{}", problem.detail);

    let unknown = server.chat_url(bookmygig_api::GigId::new());
    let (status, _) = ChatSocket::connect(&unknown, creator.token(), TokenIn::Header)
        .await
        .err()
        .expect("an unknown gig is refused");
    assert_eq!(status, 404);

    // A plain GET is told to upgrade.
    let plain = reqwest::Client::new()
        .get(format!("{}/api/v1/gigs/{}/chat", server.base, gig.id))
        .bearer_auth(creator.token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status().as_u16(), 426);

    // The creator needs no ticket; a holder may put the token in the query.
    let (_creator_socket, _) = server.enter_chat(&creator, gig.id).await;
    let bob = server.ticket_holder("bob", gig.id).await;
    let mut bob_socket = ChatSocket::connect(&url, bob.token(), TokenIn::Query)
        .await
        .map_err(|(status, _)| status)
        .expect("a query token works");
    assert!(matches!(
        bob_socket.next().await,
        ServerMessage::History { .. }
    ));
    server.stop().await;
}

async fn a_banned_user_is_closed_with_a_reason_and_kept_out_until_unbanned(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (creator, gig) = server.creator_with_gig("ann", None).await;
    let bob = server.ticket_holder("bob", gig.id).await;
    let cid = server.ticket_holder("cid", gig.id).await;
    let (mut host, _) = server.enter_chat(&creator, gig.id).await;
    let (mut bob_first, _) = server.enter_chat(&bob, gig.id).await;
    let (mut bob_second, _) = server.enter_chat(&bob, gig.id).await;
    let (mut cid_socket, _) = server.enter_chat(&cid, gig.id).await;
    host.until(|m| *m == ServerMessage::Presence { count: 3 })
        .await;

    // Only the creator moderates.
    cid_socket
        .send_message(&ClientMessage::Ban { user: "bob".into() })
        .await;
    assert_eq!(
        error_code(cid_socket.next().await),
        ChatErrorCode::Forbidden
    );
    host.send_message(&ClientMessage::Ban {
        user: "nobody".into(),
    })
    .await;
    assert_eq!(error_code(host.next().await), ChatErrorCode::NotFound);

    host.send_message(&ClientMessage::Ban { user: "bob".into() })
        .await;
    for socket in [&mut bob_first, &mut bob_second] {
        let (code, reason) = socket.closed().await.expect("a close frame");
        assert_eq!(code, 1008);
        assert!(reason.contains("banned"), "{reason}");
    }
    assert_eq!(
        host.until(|m| matches!(m, ServerMessage::Leave(_))).await,
        ServerMessage::Leave(user("bob"))
    );
    assert_eq!(host.next().await, ServerMessage::Presence { count: 2 });

    let url = server.chat_url(gig.id);
    let (status, problem) = ChatSocket::connect(&url, bob.token(), TokenIn::Header)
        .await
        .err()
        .expect("a banned user cannot re-enter");
    assert_eq!(status, 403);
    assert!(problem.unwrap().detail.contains("banned"));

    host.send_message(&ClientMessage::Unban { user: "bob".into() })
        .await;
    // The unban is applied before the host's next frame is read; a round trip proves it.
    host.say("welcome back").await;
    host.until(is_message).await;
    let (_bob_again, _) = server.enter_chat(&bob, gig.id).await;
    assert_eq!(
        cid_socket
            .until(|m| matches!(m, ServerMessage::Join(_)))
            .await,
        ServerMessage::Join(user("bob"))
    );
    server.stop().await;
}

async fn the_creator_deletes_a_message_and_everyone_receives_deleted(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (creator, gig) = server.creator_with_gig("ann", None).await;
    let bob = server.ticket_holder("bob", gig.id).await;
    let (mut host, _) = server.enter_chat(&creator, gig.id).await;
    let (mut bob_socket, _) = server.enter_chat(&bob, gig.id).await;
    bob_socket.say("keep me").await;
    bob_socket.say("delete me").await;
    bob_socket.until(is_message).await;
    let ServerMessage::Message(doomed) = bob_socket.until(is_message).await else {
        unreachable!()
    };

    bob_socket
        .send_message(&ClientMessage::Delete { id: doomed.id })
        .await;
    assert_eq!(
        error_code(bob_socket.next().await),
        ChatErrorCode::Forbidden
    );
    host.send_message(&ClientMessage::Delete { id: doomed.id })
        .await;
    for socket in [&mut host, &mut bob_socket] {
        assert_eq!(
            socket
                .until(|m| matches!(m, ServerMessage::Deleted { .. }))
                .await,
            ServerMessage::Deleted { id: doomed.id }
        );
    }
    host.send_message(&ClientMessage::Delete { id: doomed.id })
        .await;
    assert_eq!(error_code(host.next().await), ChatErrorCode::NotFound);
    host.send_message(&ClientMessage::Delete {
        id: MessageId::new(),
    })
    .await;
    assert_eq!(error_code(host.next().await), ChatErrorCode::NotFound);

    let cid = server.ticket_holder("cid", gig.id).await;
    let (_cid_socket, history) = server.enter_chat(&cid, gig.id).await;
    let texts: Vec<_> = history.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["keep me"]);
    server.stop().await;
}

async fn history_is_in_order_and_survives_a_restart(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_creator, gig) = server.creator_with_gig("ann", None).await;
    let bob = server.ticket_holder("bob", gig.id).await;
    let cid = server.ticket_holder("cid", gig.id).await;
    let (mut bob_socket, _) = server.enter_chat(&bob, gig.id).await;
    let said = ["first", "second", "third — ünïcödé 🎤", "fourth"];
    for text in said {
        bob_socket.say(text).await;
        assert_eq!(text_of(bob_socket.until(is_message).await), text);
    }
    let (newcomer, history) = server.enter_chat(&cid, gig.id).await;
    let texts: Vec<_> = history.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, said, "oldest first");
    assert!(history.windows(2).all(|w| w[0].id < w[1].id));
    newcomer.close().await;
    bob_socket.close().await;

    let data = server.stop_keeping_data().await;
    let server = TestServer::start_on(data).await;
    let (_socket, after_restart) = server.enter_chat(&cid, gig.id).await;
    assert_eq!(after_restart, history, "nothing lost, nothing changed");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_is_in_order_and_survives_a_restart_embedded() {
    history_is_in_order_and_survives_a_restart(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_is_in_order_and_survives_a_restart_redis() {
    history_is_in_order_and_survives_a_restart(Backend::Redis).await;
}

async fn the_sixth_message_inside_a_second_is_rate_limited_and_the_socket_stays_usable(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let (_creator, gig) = server.creator_with_gig("ann", None).await;
    let bob = server.ticket_holder("bob", gig.id).await;
    let (mut socket, _) = server.enter_chat(&bob, gig.id).await;
    // A second socket of the same person shares the budget.
    let (mut second, _) = server.enter_chat(&bob, gig.id).await;
    let started = tokio::time::Instant::now();
    for n in 1..=5 {
        socket.say(&format!("message {n}")).await;
    }
    let mut seen = Vec::new();
    while seen.len() < 5 {
        seen.push(text_of(socket.until(is_message).await));
    }
    assert_eq!(
        seen,
        (1..=5).map(|n| format!("message {n}")).collect::<Vec<_>>()
    );
    second.say("message 6").await;
    let refused = second
        .until(|m| matches!(m, ServerMessage::Error { .. }))
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the six went out inside a second"
    );
    assert_eq!(error_code(refused), ChatErrorCode::RateLimited);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    second.say("after a breath").await;
    assert_eq!(text_of(second.until(is_message).await), "after a breath");
    server.stop().await;
}

async fn bad_frames_get_an_error_naming_the_problem_and_leave_socket_and_room_alone(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let (_creator, gig) = server.creator_with_gig("ann", None).await;
    let bob = server.ticket_holder("bob", gig.id).await;
    let cid = server.ticket_holder("cid", gig.id).await;
    let (mut bob_socket, _) = server.enter_chat(&bob, gig.id).await;
    let (mut cid_socket, _) = server.enter_chat(&cid, gig.id).await;
    bob_socket
        .until(|m| *m == ServerMessage::Presence { count: 2 })
        .await;

    let too_long = "x".repeat(CHAT_TEXT_MAX + 1);
    let cases: [(Message, ChatErrorCode); 7] = [
        (Message::binary(vec![1, 2, 3]), ChatErrorCode::BinaryFrame),
        (Message::text("not json {"), ChatErrorCode::InvalidJson),
        (
            Message::text(r#"{"type":"shout","text":"hi"}"#),
            ChatErrorCode::UnknownType,
        ),
        (
            Message::text(r#"{"type":"say"}"#),
            ChatErrorCode::InvalidMessage,
        ),
        (
            Message::text(r#"{"type":"say","text":""}"#),
            ChatErrorCode::EmptyText,
        ),
        (
            Message::text(r#"{"type":"say","text":" \u0007 \n "}"#),
            ChatErrorCode::EmptyText,
        ),
        (
            Message::text(format!(r#"{{"type":"say","text":"{too_long}"}}"#)),
            ChatErrorCode::TextTooLong,
        ),
    ];
    for (frame, expected) in cases {
        let shown = format!("{frame:?}");
        bob_socket.send(frame).await;
        assert_eq!(error_code(bob_socket.next().await), expected, "{shown:.60}");
    }
    let exactly_max = "y".repeat(CHAT_TEXT_MAX);
    bob_socket.say(&exactly_max).await;
    bob_socket.say("still here").await;
    // The room saw none of it: cid's next messages are bob's two good ones.
    assert_eq!(text_of(cid_socket.next().await), exactly_max);
    assert_eq!(text_of(cid_socket.next().await), "still here");
    assert_eq!(text_of(bob_socket.next().await), exactly_max);
    server.stop().await;
}

async fn an_oversized_frame_closes_only_that_socket_with_1009(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_creator, gig) = server.creator_with_gig("ann", None).await;
    let bob = server.ticket_holder("bob", gig.id).await;
    let cid = server.ticket_holder("cid", gig.id).await;
    let (mut bob_socket, _) = server.enter_chat(&bob, gig.id).await;
    let (mut cid_socket, _) = server.enter_chat(&cid, gig.id).await;

    let huge = format!(r#"{{"type":"say","text":"{}"}}"#, "z".repeat(5000));
    bob_socket.send_text(&huge).await;
    let (code, reason) = bob_socket.closed().await.expect("a close frame");
    assert_eq!(code, 1009, "{reason}");
    assert_eq!(
        cid_socket
            .until(|m| matches!(m, ServerMessage::Leave(_)))
            .await,
        ServerMessage::Leave(user("bob"))
    );
    cid_socket.say("unaffected").await;
    assert_eq!(text_of(cid_socket.until(is_message).await), "unaffected");
    server.stop().await;
}

async fn at_most_three_sockets_per_account_and_presence_counts_people(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_creator, gig) = server.creator_with_gig("ann", None).await;
    let bob = server.ticket_holder("bob", gig.id).await;
    let mut sockets = Vec::new();
    for _ in 0..CHAT_SOCKETS_PER_ACCOUNT {
        sockets.push(server.enter_chat(&bob, gig.id).await.0);
    }
    let url = server.chat_url(gig.id);
    let (status, problem) = ChatSocket::connect(&url, bob.token(), TokenIn::Header)
        .await
        .err()
        .expect("a fourth socket is refused");
    assert_eq!(status, 409);
    assert_eq!(problem.unwrap().code(), "too-many-connections");

    let cid = server.ticket_holder("cid", gig.id).await;
    let mut cid_socket = server.chat(&cid, gig.id).await;
    cid_socket.next().await;
    assert_eq!(
        cid_socket.next().await,
        ServerMessage::Presence { count: 2 },
        "bob counts once"
    );

    sockets.pop().unwrap().close().await;
    let (_again, _) = server.enter_chat(&bob, gig.id).await;
    server.stop().await;
}

async fn publishing_with_ffmpeg_shows_live_with_resolution_and_stopping_shows_offline(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let (_creator, gig) = server.live_gig("ann").await;
    let bob = server.ticket_holder("bob", gig.id).await;
    let (mut socket, _) = server.enter_chat(&bob, gig.id).await;

    let publisher = FfmpegPublisher::start(&server.publish_url(&gig), "640x360", 30, 60);
    let live = socket
        .until(|m| {
            matches!(m, ServerMessage::Stream(s)
                if s.live && s.video.as_ref().is_some_and(|v| v.width.is_some()))
        })
        .await;
    let ServerMessage::Stream(status) = live else {
        unreachable!()
    };
    let video = status.video.unwrap();
    assert_eq!((video.width, video.height), (Some(640), Some(360)));
    assert_eq!(status.gig_id, gig.id);
    assert!(status.started_at.is_some());

    drop(publisher);
    let offline = socket
        .until(|m| matches!(m, ServerMessage::Stream(s) if !s.live))
        .await;
    let ServerMessage::Stream(status) = offline else {
        unreachable!()
    };
    assert_eq!(status.gig_id, gig.id);
    server.stop().await;
}

async fn stopping_the_server_closes_chat_sockets_as_going_away(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (creator, gig) = server.creator_with_gig("ann", None).await;
    let (mut socket, _) = server.enter_chat(&creator, gig.id).await;
    let stopping = tokio::spawn(server.stop());
    let (code, _) = socket.closed().await.expect("a close frame");
    assert_eq!(code, 1001);
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("the server stops promptly")
        .unwrap();
}

/// Runs each scenario on both stores, as `embedded::NAME` and `redis::NAME` (on Redis the
/// server is a one-node cluster: chat goes through the Redis bus and presence through Redis).
macro_rules! on_both_stores {
    ($($scenario:ident),* $(,)?) => {
        mod embedded {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(Backend::Embedded).await;
                }
            )*
        }
        mod redis {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(Backend::Redis).await;
                }
            )*
        }
    };
}

on_both_stores!(
    two_ticket_holders_see_each_others_join_messages_and_leave,
    only_ticket_holders_and_the_creator_get_in_and_refusals_are_problems,
    a_banned_user_is_closed_with_a_reason_and_kept_out_until_unbanned,
    the_creator_deletes_a_message_and_everyone_receives_deleted,
    the_sixth_message_inside_a_second_is_rate_limited_and_the_socket_stays_usable,
    bad_frames_get_an_error_naming_the_problem_and_leave_socket_and_room_alone,
    an_oversized_frame_closes_only_that_socket_with_1009,
    at_most_three_sockets_per_account_and_presence_counts_people,
    publishing_with_ffmpeg_shows_live_with_resolution_and_stopping_shows_offline,
    stopping_the_server_closes_chat_sockets_as_going_away,
);
