//! Every REST request body: parsed by the server's `http::json::parse` (serde_json through
//! serde_path_to_error, the refusal naming the field) into each request type, then checked by
//! the server's pure validation where there is one (`forms::sign_up`, `forms::new_gig`,
//! `forms::patched`, the top-up's bounds).
#![no_main]

use bookmygig_api::{
    Category, GigPatch, Money, NewAccount, NewGig, NewSession, PaymentPointer, TopUp,
};
use bookmygig_server::forms;
use bookmygig_server::http::json::parse;
use bookmygig_store::GigDetails;
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

/// A fixed "now" keeps runs reproducible: 2026-01-01T00:00:00Z.
const NOW: i64 = 1_767_225_600;

fuzz_target!(|data: &[u8]| {
    let now = OffsetDateTime::from_unix_timestamp(NOW).expect("a valid time");
    if let Ok(form) = parse::<NewAccount>(data) {
        if let Ok(checked) = forms::sign_up(form) {
            assert!(!checked.display_name.is_empty());
        }
    }
    let _ = parse::<NewSession>(data);
    if let Ok(form) = parse::<NewGig>(data) {
        if let Ok(details) = forms::new_gig(form, Money::from_micros(360_000), now) {
            assert!(
                details.starts_at < details.ends_at,
                "a gig ends after it starts"
            );
        }
    }
    if let Ok(patch) = parse::<GigPatch>(data) {
        let current = GigDetails {
            creator_name: "Ada".into(),
            title: "Live".into(),
            description: String::new(),
            category: Category::Comedy,
            price: Money::from_dollars(5),
            starts_at: now + time::Duration::hours(1),
            ends_at: now + time::Duration::hours(2),
            capacity: None,
            payment_pointer: PaymentPointer::parse("$wallet.example/ada").expect("valid"),
            micropayment_rate: Money::from_micros(360_000),
            replay_hours: 48,
        };
        if let Ok(next) = forms::patched(&current, patch, now) {
            assert!(next.starts_at < next.ends_at, "a gig ends after it starts");
        }
    }
    if let Ok(top_up) = parse::<TopUp>(data) {
        let _ = top_up.amount.to_string();
    }
});
