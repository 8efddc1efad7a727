//! The chat seams (bus, roster, speech limit) keep one contract whatever implements them: the
//! same checks run against the in-process seams of a node alone and against the Redis ones
//! of a cluster (a real redis-server), through the rooms that use them.

#![allow(clippy::expect_used, clippy::unwrap_used)] // A harness failure is a test failure.

use std::sync::Arc;
use std::time::Duration;

use bookmygig_api::{AccountId, ChatMessage, ChatUser, GigId, MessageId, ServerMessage};
use bookmygig_server::chat::room::Membership;
use bookmygig_server::chat::{ChatLink, ChatRooms, Outbound, RoomEvent, Seat};
use bookmygig_server::cluster::Cluster;
use bookmygig_server::cluster::chat_bus::ChatBus;
use bookmygig_server::cluster::chat_presence::ChatPresence;
use bookmygig_server::cluster::chat_rate::RedisSpeechLimit;
use bookmygig_testkit::RedisServer;
use tokio::sync::watch;

/// How long an expected frame may take to arrive.
const PATIENCE: Duration = Duration::from_secs(10);

/// Rooms running on one kind of seams, with the tasks those seams need.
struct Node {
    rooms: Arc<ChatRooms>,
    stop: watch::Sender<bool>,
    /// Kept alive while the node runs (Redis seams only).
    _redis: Option<RedisServer>,
}

impl Node {
    /// A node alone: the in-process seams.
    fn in_process() -> Self {
        let rooms = ChatRooms::new();
        let (stop, stopping) = watch::channel(false);
        tokio::spawn(Arc::clone(&rooms).run_ticks(stopping));
        Node {
            rooms,
            stop,
            _redis: None,
        }
    }

    /// A cluster node: the Redis seams, on a redis-server of its own.
    async fn redis() -> Self {
        let redis = RedisServer::start();
        let cluster = Cluster::join(&redis.url(), "http://node-a")
            .await
            .expect("joins");
        let bus = ChatBus::new(Arc::clone(&cluster));
        let presence = ChatPresence::new(Arc::clone(&cluster));
        let rooms = ChatRooms::linked(ChatLink {
            bus: bus.clone(),
            roster: presence.clone(),
            limit: RedisSpeechLimit::new(cluster),
        });
        let (stop, stopping) = watch::channel(false);
        tokio::spawn(bus.run(Arc::clone(&rooms), stopping.clone()));
        tokio::spawn(presence.run(stopping.clone()));
        tokio::spawn(Arc::clone(&rooms).run_ticks(stopping));
        Node {
            rooms,
            stop,
            _redis: Some(redis),
        }
    }

    /// Joins a socket of `account` to `gig`'s room, once its events reach this node and its
    /// arrival is announced.
    async fn join(&self, gig: GigId, account: AccountId, handle: &str) -> Joined {
        let mut seat = self.rooms.take_seat(gig, account).expect("a seat");
        let user = ChatUser {
            handle: handle.into(),
            display_name: handle.to_uppercase(),
        };
        let mut membership = seat.join(user).expect("joins");
        self.rooms.listening(gig).await.expect("listening");
        if let Some(announced) = membership.announced.take() {
            assert_eq!(announced.await, Ok(true), "the arrival is announced");
        }
        Joined { seat, membership }
    }

    /// Publishes a chat message to `gig`'s room; its id.
    async fn say(&self, gig: GigId, text: &str) -> MessageId {
        let message = ChatMessage {
            id: MessageId::new(),
            author: "ann".into(),
            display_name: "ANN".into(),
            text: text.into(),
            sent_at: time::OffsetDateTime::UNIX_EPOCH,
        };
        let id = message.id;
        let frame = Outbound::new(&ServerMessage::Message(message));
        self.rooms
            .publish(gig, RoomEvent::Broadcast(frame))
            .await
            .expect("published");
        id
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// A socket in a room: its seat (held while it lives) and what the room writes to it.
struct Joined {
    seat: Seat,
    membership: Membership,
}

impl Joined {
    /// The messages written to this socket until one satisfies `last` (included).
    async fn until(&self, last: impl Fn(&ServerMessage) -> bool) -> Vec<ServerMessage> {
        let mut seen = Vec::new();
        tokio::time::timeout(PATIENCE, async {
            loop {
                let bytes = self.membership.outbox.take().await;
                self.membership.outbox.written(Vec::new());
                for payload in text_frames(&bytes) {
                    let message: ServerMessage = serde_json::from_slice(&payload).unwrap();
                    let done = last(&message);
                    seen.push(message);
                    if done {
                        return;
                    }
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("not within {PATIENCE:?}; seen {seen:?}"));
        seen
    }
}

/// The payloads of the server's (unmasked, final) frames in `bytes`.
fn text_frames(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut payloads = Vec::new();
    while bytes.len() >= 2 {
        let (len, head) = match bytes[1] & 0x7f {
            126 => (usize::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
            127 => {
                let len = u64::from_be_bytes(bytes[2..10].try_into().unwrap());
                (usize::try_from(len).unwrap(), 10)
            }
            short => (usize::from(short), 2),
        };
        assert_eq!(bytes[0], 0x81, "final text frames");
        payloads.push(bytes[head..head + len].to_vec());
        bytes = &bytes[head + len..];
    }
    payloads
}

fn is_message(id: MessageId) -> impl Fn(&ServerMessage) -> bool {
    move |m| matches!(m, ServerMessage::Message(message) if message.id == id)
}

async fn a_published_message_reaches_the_subscribed_room_once(node: Node) {
    let gig = GigId::new();
    let ann = node.join(gig, AccountId::new(), "ann").await;
    let first = node.say(gig, "hello").await;
    let last = node.say(gig, "marker").await;
    let seen = ann.until(is_message(last)).await;
    let copies = seen.iter().filter(|m| is_message(first)(m)).count();
    assert_eq!(copies, 1, "{seen:?}");
    let elsewhere = node.join(GigId::new(), AccountId::new(), "bob").await;
    let other = node.say(gig, "not for bob's gig").await;
    let mark = node.say(elsewhere.gig(), "bob's marker").await;
    let seen = elsewhere.until(is_message(mark)).await;
    assert!(!seen.iter().any(|m| is_message(other)(m)), "{seen:?}");
}

async fn presence_counts_people_not_sockets(node: Node) {
    let gig = GigId::new();
    let (ann, bob) = (AccountId::new(), AccountId::new());
    let host = node.join(gig, ann, "ann").await;
    let _ann_again = node.join(gig, ann, "ann").await;
    let _bob = node.join(gig, bob, "bob").await;
    let _bob_again = node.join(gig, bob, "bob").await;
    let marker = node.say(gig, "marker").await;
    let seen = host.until(is_message(marker)).await;
    let counts: Vec<u32> = seen
        .iter()
        .filter_map(|m| match m {
            ServerMessage::Presence { count } => Some(*count),
            _ => None,
        })
        .collect();
    assert_eq!(counts.last(), Some(&2), "{seen:?}");
    assert!(counts.iter().all(|&count| count <= 2), "{seen:?}");
}

async fn the_speech_limit_refuses_the_sixth_message_in_a_second(node: Node) {
    let gig = GigId::new();
    let ann = AccountId::new();
    let _socket = node.join(gig, ann, "ann").await;
    let room = node.rooms.room(gig).expect("the room");
    for n in 1..=5 {
        let token = node.rooms.take_token(&room, ann).await.expect("reachable");
        assert_eq!(token, Ok(()), "message {n} of the burst");
    }
    let sixth = node.rooms.take_token(&room, ann).await.expect("reachable");
    let wait = sixth.expect_err("the sixth is refused");
    assert!(wait <= Duration::from_secs(1), "{wait:?}");
    let bob = AccountId::new();
    let _other = node.join(gig, bob, "bob").await;
    let theirs = node.rooms.take_token(&room, bob).await.expect("reachable");
    assert_eq!(theirs, Ok(()), "another person has a bucket of their own");
}

impl Joined {
    /// The gig of this socket's room.
    fn gig(&self) -> GigId {
        self.seat.room().gig
    }
}

#[tokio::test]
async fn in_process_a_published_message_reaches_the_subscribed_room_once() {
    a_published_message_reaches_the_subscribed_room_once(Node::in_process()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_a_published_message_reaches_the_subscribed_room_once() {
    a_published_message_reaches_the_subscribed_room_once(Node::redis().await).await;
}

#[tokio::test]
async fn in_process_presence_counts_people_not_sockets() {
    presence_counts_people_not_sockets(Node::in_process()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_presence_counts_people_not_sockets() {
    presence_counts_people_not_sockets(Node::redis().await).await;
}

#[tokio::test]
async fn in_process_the_speech_limit_refuses_the_sixth_message_in_a_second() {
    the_speech_limit_refuses_the_sixth_message_in_a_second(Node::in_process()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_the_speech_limit_refuses_the_sixth_message_in_a_second() {
    the_speech_limit_refuses_the_sixth_message_in_a_second(Node::redis().await).await;
}
