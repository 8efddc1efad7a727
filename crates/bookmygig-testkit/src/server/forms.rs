//! The forms and sign-ups the tests fill in: valid gigs and accounts with known passwords.

use bookmygig_api::{Category, Money, NewAccount, NewGig};
use bookmygig_client::Client;
use time::OffsetDateTime;

/// A valid registration form starting in two hours.
pub fn new_gig(title: &str, capacity: Option<u32>) -> NewGig {
    let starts_at = OffsetDateTime::now_utc() + time::Duration::hours(2);
    NewGig {
        creator_name: "Alice Smith".into(),
        title: title.into(),
        description: "An hour of new material.".into(),
        category: Category::Comedy,
        price: Money(7_500_000),
        starts_at,
        ends_at: starts_at + time::Duration::hours(1),
        capacity,
        payment_pointer: "$wallet.example/alice".into(),
        micropayment_rate: None,
        replay_hours: None,
    }
}

/// A valid registration form for a gig that starts in ten minutes (inside the publish window).
pub fn live_gig_form(title: &str) -> NewGig {
    let mut form = new_gig(title, None);
    let start = OffsetDateTime::now_utc() + time::Duration::minutes(10);
    form.starts_at = start;
    form.ends_at = start + time::Duration::hours(1);
    form
}

/// Signs `handle` up through `anonymous` (password `{handle}-password`); the same client
/// carrying the new account's token.
///
/// # Panics
/// When the server refuses the sign-up.
pub async fn sign_up_through(anonymous: Client, handle: &str) -> Client {
    let signed = anonymous
        .sign_up(&NewAccount {
            handle: handle.into(),
            display_name: format!("{handle} (test)"),
            password: format!("{handle}-password"),
        })
        .await
        .unwrap_or_else(|e| panic!("sign up {handle}: {e}"));
    anonymous.with_token(signed.token)
}
