//! `bookmygig chat ID`: the room as a pipe, against a real server and a second member on a
//! WebSocket of its own. Lines of stdin are said; what the room says is printed; a viewer
//! without a ticket is refused with the server's words.

#![allow(clippy::expect_used, clippy::unwrap_used)] // A harness failure is a test failure.

mod common;

use std::time::Duration;

use bookmygig_api::{ClientMessage, GigId, ServerMessage};
use common::{Serving as _, TestServer, User};

/// Generous: the CI machine has two cores and compiles other crates meanwhile.
const PATIENCE: Duration = Duration::from_secs(20);

/// A CLI user signed up as `handle` with $200, holding a ticket for `gig` when given.
async fn cli_user(server: &TestServer, handle: &str, gig: Option<GigId>) -> User {
    let user = User::new(server);
    user.sign_up_with_funds(handle).await;
    if let Some(gig) = gig {
        user.run(&["ticket", "buy", &gig.to_string()]).await.ok();
    }
    user
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_of_stdin_are_said_and_the_room_is_printed() {
    let server = TestServer::start().await;
    let (_creator, gig) = server.creator_with_gig("host", None).await;
    let friend = server.ticket_holder("friend", gig.id).await;
    let mut socket = friend.chat(gig.id).await.expect("the friend enters");
    socket
        .send(&ClientMessage::Say {
            text: "anyone here?".to_owned(),
        })
        .await
        .expect("the friend speaks");

    let viewer = cli_user(&server, "piper", Some(gig.id)).await;
    let run = viewer
        .run_with(
            &["chat", &gig.id.to_string(), "--leave-at-eof"],
            Some("hello from a pipe\n\n   \nsecond line\n"),
        )
        .await;
    // The history it entered with is printed as "author: text".
    assert!(run.ok().contains("friend: anyone here?"), "{run:?}");

    // The friend hears both lines, in order, from the piper (blank lines are not said).
    let mut heard = Vec::new();
    tokio::time::timeout(PATIENCE, async {
        while heard.len() < 2 {
            match socket.recv().await.expect("open").expect("a message") {
                ServerMessage::Message(message) if message.author == "piper" => {
                    heard.push(message.text);
                }
                _ => {}
            }
        }
    })
    .await
    .expect("both lines arrive");
    assert_eq!(heard, ["hello from a pipe", "second line"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_prints_one_server_message_per_line() {
    let server = TestServer::start().await;
    let (_creator, gig) = server.creator_with_gig("host", None).await;
    let viewer = cli_user(&server, "jay", Some(gig.id)).await;
    let run = viewer
        .run_with(
            &["--json", "chat", &gig.id.to_string(), "--leave-at-eof"],
            Some("in json\n"),
        )
        .await;
    let stdout = run.ok();
    let messages: Vec<ServerMessage> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is a server message"))
        .collect();
    assert!(
        matches!(messages.first(), Some(ServerMessage::History { .. })),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_ticket_the_room_refuses_in_plain_words() {
    let server = TestServer::start().await;
    let (_creator, gig) = server.creator_with_gig("host", None).await;
    let stranger = cli_user(&server, "stranger", None).await;
    let run = stranger
        .run_with(&["chat", &gig.id.to_string()], Some("let me in\n"))
        .await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("ticket"), "{run:?}");
}
