//! Sample gigs for the TUI's tests: fixed ids and times, so screens render the same everywhere.

use bookmygig_api::{AccountId, Category, Gig, GigId, GigStatus, Money, PaymentPointer};
use time::OffsetDateTime;
use time::macros::datetime;

/// One gig with the given fields and fixed everything else.
#[allow(clippy::too_many_arguments)]
fn gig(
    n: u8,
    creator_name: &str,
    title: &str,
    category: Category,
    price: Money,
    (starts_at, ends_at): (OffsetDateTime, OffsetDateTime),
    seats_left: Option<u32>,
    status: GigStatus,
    description: &str,
) -> Gig {
    Gig {
        id: GigId::from_bytes([n; 16]),
        creator_id: AccountId::from_bytes([n + 100; 16]),
        creator_name: creator_name.to_owned(),
        title: title.to_owned(),
        description: description.to_owned(),
        category,
        price,
        starts_at,
        ends_at,
        capacity: seats_left.map(|left| left + 10),
        seats_left,
        payment_pointer: PaymentPointer::parse("$wallet.example/alice")
            .unwrap_or_else(|err| panic!("sample pointer: {err}")),
        payment_url: "https://wallet.example/alice".to_owned(),
        micropayment_rate: Money(360_000),
        status,
        created_at: datetime!(2026-04-01 12:00 UTC),
        replay_hours: 48,
        replay_until: None,
        stream_key: None,
        rtmp_url: None,
    }
}

/// Three gigs: one live, one scheduled with unlimited seats, one crossing midnight.
pub fn gigs() -> Vec<Gig> {
    vec![
        gig(
            1,
            "The Blue Notes",
            "Late-night jazz trio",
            Category::Music,
            Money(7_500_000),
            (
                datetime!(2026-05-02 18:00 UTC),
                datetime!(2026-05-02 19:30 UTC),
            ),
            Some(42),
            GigStatus::Live,
            "Standards and originals from a piano trio, played live from a small club in Lisbon.",
        ),
        gig(
            2,
            "Mira Okafor",
            "Stand-up: Overbooked",
            Category::Comedy,
            Money(12_000_000),
            (
                datetime!(2026-05-03 19:00 UTC),
                datetime!(2026-05-03 20:00 UTC),
            ),
            None,
            GigStatus::Scheduled,
            "An hour about airports, landlords and the people who sell tickets online.",
        ),
        gig(
            3,
            "Studio Flow",
            "Sunrise yoga",
            Category::Fitness,
            Money(0),
            (
                datetime!(2026-05-04 21:30 UTC),
                datetime!(2026-05-04 23:00 UTC),
            ),
            Some(0),
            GigStatus::Scheduled,
            "",
        ),
    ]
}

/// The first sample gig once it ended (at 19:30), its replay open for 48 hours.
pub fn replay_gig() -> Gig {
    let mut gig = gigs().swap_remove(0);
    gig.status = GigStatus::Ended;
    gig.replay_until = Some(datetime!(2026-05-04 19:30 UTC));
    gig
}

/// The server's grant of [`replay_gig`]'s replay: recorded from 18:00:30, 85 minutes long.
pub fn replay_grant() -> bookmygig_api::Replay {
    bookmygig_api::Replay {
        url: "http://127.0.0.1:8080/replay/g.flv?token=t".to_owned(),
        expires_at: datetime!(2026-05-02 21:00 UTC),
        available_until: datetime!(2026-05-04 19:30 UTC),
        recorded_from: datetime!(2026-05-02 18:00:30 UTC),
        duration_ms: 85 * 60_000,
    }
}

/// A valid ticket for `gig`, as the server answers a purchase.
pub fn purchased(gig: &Gig) -> bookmygig_api::Purchased {
    bookmygig_api::Purchased {
        ticket: bookmygig_api::Ticket {
            id: bookmygig_api::TicketId::from_bytes([9; 16]),
            gig_id: gig.id,
            holder_id: AccountId::from_bytes([8; 16]),
            price: gig.price,
            purchased_at: datetime!(2026-05-01 10:00 UTC),
            status: bookmygig_api::TicketStatus::Valid,
        },
    }
}

/// Tickets for the first two sample gigs, as `GET /me/tickets` lists them.
pub fn my_tickets() -> Vec<bookmygig_api::MyTicket> {
    gigs()
        .into_iter()
        .take(2)
        .map(|gig| bookmygig_api::MyTicket {
            ticket: purchased(&gig).ticket,
            gig,
        })
        .collect()
}

/// The stream facts of the first sample gig: live since 18:00 with 12 viewers at 720p, or
/// offline after a broadcast.
pub fn stream(live: bool) -> bookmygig_api::StreamStatus {
    bookmygig_api::StreamStatus {
        gig_id: GigId::from_bytes([1; 16]),
        live,
        started_at: Some(datetime!(2026-05-02 18:00 UTC)),
        viewers: if live { 12 } else { 0 },
        video: live.then(|| bookmygig_api::VideoFacts {
            codec: "h264".to_owned(),
            width: Some(1280),
            height: Some(720),
            fps: Some(30.0),
            kbps: Some(2488.0),
        }),
        audio: None,
    }
}

/// A chat message by `author`, sent `minute` minutes past 18:00.
pub fn chat_message(n: u8, author: &str, text: &str, minute: u8) -> bookmygig_api::ChatMessage {
    bookmygig_api::ChatMessage {
        id: bookmygig_api::MessageId::from_bytes([n; 16]),
        author: author.to_owned(),
        display_name: author.to_owned(),
        text: text.to_owned(),
        sent_at: datetime!(2026-05-02 18:00 UTC) + time::Duration::minutes(i64::from(minute)),
    }
}

/// Answers the catalogue request in flight with `items`, as the network task would.
pub fn answer_catalogue(
    state: &mut crate::tui::app::State,
    items: Vec<Gig>,
    next_cursor: Option<String>,
) {
    let request = state.request;
    crate::tui::update::update(
        state,
        crate::tui::action::Action::CatalogueLoaded {
            request,
            result: Ok(bookmygig_api::Page { items, next_cursor }),
        },
    );
}

/// What `gig` earned: 12 tickets and $18 of streaming, less the $99 listing fee; `paid_out`
/// (negative or zero) sent out already and `payable` left to send.
pub fn earnings(gig: &Gig, paid_out: Money, payable: Money) -> bookmygig_api::GigEarnings {
    bookmygig_api::GigEarnings {
        gig_id: gig.id,
        title: gig.title.clone(),
        status: gig.status,
        tickets_sold: 12,
        ticket_revenue: Money(90_000_000),
        refunds: Money::ZERO,
        micropayments: Money(18_000_000),
        listing_fee: Money::from_dollars(-99),
        net: Money(9_000_000),
        paid_out,
        payable,
        payment_pointer: gig.payment_pointer.clone(),
        payment_url: gig.payment_url.clone(),
    }
}

/// Payout number `n` (1–9) of `gig`'s earnings to alice's wallet, in `state` (its wire name),
/// asked for `minute` minutes past 20:00 UTC on 2 May 2026.
pub fn payout(
    n: u8,
    gig: GigId,
    amount: Money,
    state: &str,
    error: Option<&str>,
    minute: i64,
) -> bookmygig_api::Payout {
    let at = datetime!(2026-05-02 20:00 UTC) + time::Duration::minutes(minute);
    let at = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|err| panic!("a time: {err}"));
    serde_json::from_value(serde_json::json!({
        "id": format!("0196a1c9-0000-7000-8000-00000000000{n}"),
        "gig_id": gig,
        "amount": amount,
        "to": "https://wallet.example/alice",
        "state": state,
        "error": error,
        "created_at": at,
        "updated_at": at,
    }))
    .unwrap_or_else(|err| panic!("a payout: {err}"))
}
