//! Gigs for unit tests (the search index, the replay rules).

use bookmygig_api::{AccountId, Category, GigId, Money, PaymentPointer};
use bookmygig_store::{GigDetails, GigRecord, GigState, TokenHash};
use time::OffsetDateTime;

/// A scheduled comedy gig titled `title`, starting an hour from now.
pub fn gig(title: &str) -> GigRecord {
    gig_at(title, 60)
}

/// A scheduled comedy gig titled `title`, starting `in_minutes` from now, lasting an hour.
pub fn gig_at(title: &str, in_minutes: i64) -> GigRecord {
    let now = OffsetDateTime::now_utc();
    let starts_at = now + time::Duration::minutes(in_minutes);
    GigRecord {
        id: GigId::new(),
        creator_id: AccountId::new(),
        details: GigDetails {
            creator_name: "Alice Smith".into(),
            title: title.into(),
            description: "An hour of new material.".into(),
            category: Category::Comedy,
            price: Money::from_dollars(5),
            starts_at,
            ends_at: starts_at + time::Duration::hours(1),
            capacity: None,
            payment_pointer: PaymentPointer::parse("$wallet.example/alice")
                .unwrap_or_else(|e| panic!("{e}")),
            micropayment_rate: Money(0),
            replay_hours: 48,
        },
        stream_key: String::new(),
        stream_key_hash: TokenHash([0; 32]),
        created_at: now,
        tickets_sold: 0,
        state: GigState::Scheduled,
    }
}
