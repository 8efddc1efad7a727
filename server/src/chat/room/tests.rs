//! The room's unit tests: seats, presence, held newcomers, batches, bans, cancellation.

use bookmygig_api::{ChatMessage, ServerMessage};

use super::super::in_process::InProcessRoster;
use super::super::outbox::OUTBOX_LIMIT;
use super::super::wire;
use super::*;

fn user(handle: &str) -> ChatUser {
    ChatUser {
        handle: handle.into(),
        display_name: handle.to_uppercase(),
    }
}

/// An empty room of a node alone.
fn room() -> ChatRoom {
    ChatRoom::new(GigId::new(), Arc::new(InProcessRoster::default()))
}

fn drain(membership: &mut Membership) -> Vec<ServerMessage> {
    wire::parse_frames(&membership.outbox.drain())
        .into_iter()
        .map(|(opcode, payload)| {
            assert_eq!(opcode, 0x1, "text frames");
            serde_json::from_slice(&payload).unwrap()
        })
        .collect()
}

fn greeted(room: &ChatRoom, account: AccountId, handle: &str, greeting: &Outbound) -> Membership {
    let joining = Joining {
        greeting: Some(greeting.clone()),
        ..Joining::default()
    };
    room.join_with(account, user(handle), joining).unwrap()
}

fn joined(room: &ChatRoom, account: AccountId, handle: &str) -> Membership {
    room.reserve(account).unwrap();
    room.join(account, user(handle)).unwrap()
}

#[test]
fn presence_counts_people_not_sockets_and_others_see_join_and_leave() {
    let room = room();
    let (ann, bob) = (AccountId::new(), AccountId::new());
    let mut a = joined(&room, ann, "ann");
    room.flush();
    assert_eq!(drain(&mut a), [ServerMessage::Presence { count: 1 }]);
    let b1 = joined(&room, bob, "bob");
    let b2 = joined(&room, bob, "bob");
    assert_eq!(room.presence(), 2);
    room.flush();
    assert_eq!(
        drain(&mut a),
        [
            ServerMessage::Join(user("bob")),
            ServerMessage::Presence { count: 2 },
        ]
    );
    room.leave(b1.id, bob);
    room.flush();
    assert!(
        drain(&mut a).is_empty(),
        "bob is still here on his second socket"
    );
    room.leave(b2.id, bob);
    room.flush();
    assert_eq!(
        drain(&mut a),
        [
            ServerMessage::Leave(user("bob")),
            ServerMessage::Presence { count: 1 },
        ]
    );
    room.leave(a.id, ann);
    assert!(room.is_idle());
}

#[test]
fn at_most_three_sockets_per_account() {
    let room = room();
    let ann = AccountId::new();
    for _ in 0..CHAT_SOCKETS_PER_ACCOUNT {
        room.reserve(ann).unwrap();
    }
    assert!(room.reserve(ann).is_err());
    room.release(ann);
    assert!(room.reserve(ann).is_ok());
    assert!(
        room.reserve(AccountId::new()).is_ok(),
        "others are not affected"
    );
}

#[test]
fn a_full_outbox_drops_that_member_only() {
    let room = room();
    let (ann, bob) = (AccountId::new(), AccountId::new());
    let mut slow = joined(&room, ann, "ann");
    let mut fast = joined(&room, bob, "bob");
    let say = |n: usize| {
        Outbound::new(&ServerMessage::Presence {
            count: u32::try_from(n).unwrap(),
        })
    };
    // Each frame is some 30 bytes: the limit is reached well within this many.
    for n in 0..OUTBOX_LIMIT / 8 {
        room.broadcast(say(n));
        room.flush();
        drain(&mut fast);
        if room.presence() == 1 {
            break;
        }
    }
    assert_eq!(slow.kicked.try_recv(), Ok(Kick::TooSlow));
    assert_eq!(room.presence(), 1);
    assert!(fast.kicked.try_recv().is_err());
    room.flush();
    assert_eq!(
        drain(&mut fast),
        [
            ServerMessage::Leave(user("ann")),
            ServerMessage::Presence { count: 1 },
        ]
    );
    room.broadcast(say(7));
    room.flush();
    assert_eq!(drain(&mut fast), [ServerMessage::Presence { count: 7 }]);
}

#[test]
fn a_held_member_gets_its_history_first_then_what_it_did_not_have() {
    let room = room();
    let (ann, bob) = (AccountId::new(), AccountId::new());
    let mut a = joined(&room, ann, "ann");
    room.flush();
    drain(&mut a);
    room.reserve(bob).unwrap();
    let joining = Joining {
        held: true,
        ..Joining::default()
    };
    let mut b = room.join_with(bob, user("bob"), joining).unwrap();
    let message = |text: &str| ChatMessage {
        id: MessageId::new(),
        author: "ann".into(),
        display_name: "ANN".into(),
        text: text.into(),
        sent_at: time::OffsetDateTime::UNIX_EPOCH,
    };
    let (early, late, new) = (message("early"), message("late"), message("new"));
    room.broadcast(Outbound::new(&ServerMessage::Message(early.clone())));
    room.flush();
    assert!(drain(&mut b).is_empty(), "held until the history");
    assert_eq!(drain(&mut a).len(), 3, "join, presence, message");
    // The history read after joining has both the message held and one the room sends
    // only later (in a cluster, the bus may deliver after the store answered).
    let history = ServerMessage::History {
        messages: vec![early.clone(), late.clone()],
    };
    room.open(
        b.id,
        &Outbound::new(&history),
        HashSet::from([early.id, late.id]),
    );
    room.broadcast(Outbound::new(&ServerMessage::Message(late.clone())));
    room.broadcast(Outbound::new(&ServerMessage::Message(new.clone())));
    room.flush();
    assert_eq!(
        drain(&mut b),
        [
            history,
            ServerMessage::Presence { count: 2 },
            ServerMessage::Message(new.clone())
        ],
        "the history first, then only what it did not have"
    );
    assert_eq!(
        drain(&mut a),
        [ServerMessage::Message(late), ServerMessage::Message(new)]
    );
}

/// Records what a cluster room tells its roster.
#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<String>>);

impl Roster for Recorder {
    fn arrived(&self, _: GigId, _: AccountId, user: &ChatUser) -> Arrival {
        self.0.lock().unwrap().push(format!("+{}", user.handle));
        Arrival::Later(oneshot::channel().1)
    }

    fn departed(&self, _: GigId, _: AccountId, user: &ChatUser) -> Vec<Outbound> {
        self.0.lock().unwrap().push(format!("-{}", user.handle));
        Vec::new()
    }
}

#[test]
fn a_cluster_room_reports_people_to_its_roster_and_greets_after_the_first_presence() {
    let recorder = Arc::new(Recorder::default());
    let room = ChatRoom::new(GigId::new(), recorder.clone());
    let (ann, bob) = (AccountId::new(), AccountId::new());
    let greeting = Outbound::new(&ServerMessage::Deleted {
        id: MessageId::new(),
    });
    room.reserve(ann).unwrap();
    let mut a = greeted(&room, ann, "ann", &greeting);
    assert!(a.announced.is_some());
    let b1 = joined(&room, bob, "bob");
    let b2 = joined(&room, bob, "bob");
    room.flush();
    assert!(
        drain(&mut a).is_empty(),
        "the roster announces, not the room"
    );
    room.broadcast(Outbound::new(&ServerMessage::Presence { count: 2 }));
    room.flush();
    let deleted: ServerMessage = serde_json::from_str(greeting.frame.as_str()).unwrap();
    assert_eq!(
        drain(&mut a),
        [ServerMessage::Presence { count: 2 }, deleted]
    );
    room.broadcast(Outbound::new(&ServerMessage::Presence { count: 2 }));
    room.flush();
    assert_eq!(
        drain(&mut a),
        [ServerMessage::Presence { count: 2 }],
        "once"
    );
    room.leave(b1.id, bob);
    room.leave(b2.id, bob);
    room.set_banned(ann, true);
    room.flush();
    assert!(drain(&mut a).is_empty());
    assert_eq!(
        *recorder.0.lock().unwrap(),
        ["+ann", "+bob", "+bob", "-bob", "-ann"]
    );
}

#[test]
fn a_room_delivers_at_flush_one_batch_per_member_with_the_last_presence_only() {
    let room = room();
    let (ann, bob) = (AccountId::new(), AccountId::new());
    let mut a = joined(&room, ann, "ann");
    room.flush();
    assert_eq!(drain(&mut a), [ServerMessage::Presence { count: 1 }]);
    room.reserve(bob).unwrap();
    let greeting = Outbound::new(&ServerMessage::Deleted {
        id: MessageId::new(),
    });
    let mut b = greeted(&room, bob, "bob", &greeting);
    let said = Outbound::new(&ServerMessage::Presence { count: 99 });
    room.broadcast(Outbound {
        kind: FrameKind::Other,
        ..said
    });
    assert!(drain(&mut a).is_empty(), "nothing before the flush");
    room.flush();
    assert_eq!(
        drain(&mut a),
        [
            ServerMessage::Join(user("bob")),
            ServerMessage::Presence { count: 2 },
            ServerMessage::Presence { count: 99 },
        ]
    );
    let greeting: ServerMessage = serde_json::from_str(greeting.frame.as_str()).unwrap();
    assert_eq!(
        drain(&mut b),
        [
            ServerMessage::Presence { count: 2 },
            greeting,
            ServerMessage::Presence { count: 99 },
        ],
        "no own join; the greeting right after the presence"
    );
    // Two joins in one tick: one presence, the last.
    let (cid, dan) = (AccountId::new(), AccountId::new());
    let _c = joined(&room, cid, "cid");
    let _d = joined(&room, dan, "dan");
    room.flush();
    assert_eq!(
        drain(&mut a),
        [
            ServerMessage::Join(user("cid")),
            ServerMessage::Join(user("dan")),
            ServerMessage::Presence { count: 4 },
        ]
    );
}

#[test]
fn a_ban_kicks_every_socket_of_the_account_and_bars_joining() {
    let room = room();
    let (ann, bob) = (AccountId::new(), AccountId::new());
    let mut a = joined(&room, ann, "ann");
    let mut b1 = joined(&room, bob, "bob");
    let mut b2 = joined(&room, bob, "bob");
    room.flush();
    drain(&mut a);
    room.set_banned(bob, true);
    room.flush();
    assert_eq!(b1.kicked.try_recv(), Ok(Kick::Banned));
    assert_eq!(b2.kicked.try_recv(), Ok(Kick::Banned));
    assert_eq!(
        drain(&mut a),
        [
            ServerMessage::Leave(user("bob")),
            ServerMessage::Presence { count: 1 },
        ]
    );
    room.reserve(bob).unwrap();
    assert_eq!(room.join(bob, user("bob")).unwrap_err(), Kick::Banned);
    room.set_banned(bob, false);
    assert!(room.join(bob, user("bob")).is_ok());
}

#[test]
fn a_cancelled_room_tells_everyone_the_stream_is_over_lets_them_go_and_lets_nobody_in() {
    let gig = GigId::new();
    let room = ChatRoom::new(gig, Arc::new(InProcessRoster::default()));
    let (ann, bob) = (AccountId::new(), AccountId::new());
    let mut a = joined(&room, ann, "ann");
    let mut b = joined(&room, bob, "bob");
    room.flush();
    drain(&mut a);
    drain(&mut b);
    let offline = ServerMessage::Stream(super::super::rooms::offline(gig));
    room.cancel(&Outbound::new(&offline));
    for member in [&mut a, &mut b] {
        assert_eq!(
            drain(member),
            std::slice::from_ref(&offline),
            "and no leave or presence"
        );
        assert_eq!(member.kicked.try_recv(), Ok(Kick::Cancelled));
    }
    assert_eq!(room.presence(), 0);
    room.reserve(ann).unwrap();
    assert_eq!(room.join(ann, user("ann")).unwrap_err(), Kick::Cancelled);
}

#[test]
fn a_quiet_room_asks_to_be_flushed_at_once() {
    let room = room();
    let frame = || Outbound::new(&ServerMessage::Presence { count: 1 });
    assert!(room.broadcast(frame()), "the first in a quiet room");
    assert!(!room.broadcast(frame()), "that batch is already asked for");
    room.flush();
    assert!(
        !room.broadcast(frame()),
        "busy at the last flush: wait for the tick"
    );
    room.flush();
    room.flush();
    assert!(
        room.broadcast(frame()),
        "quiet again: the last flush found nothing"
    );
}
