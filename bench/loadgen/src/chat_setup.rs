//! Getting a BookMyGig chat room ready through the REST API: N member accounts (signed up and
//! topped up once, then cached in a file, since each sign-up costs the server an argon2 hash),
//! and per run a new creator, a new gig, and a ticket for every member.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use futures::{StreamExt as _, TryStreamExt as _};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::setup::{call, text};

/// $1,000 in micro-USD: the listing fee for the creator, tickets and a non-zero wallet (chat
/// `say` is refused from an empty one) for members.
const TOP_UP: u64 = 1_000_000_000;
/// Sign-ups in flight at once (each is an argon2 hash on the server's blocking pool).
const SIGNUPS_IN_FLIGHT: usize = 8;
/// Ticket purchases in flight at once.
const TICKETS_IN_FLIGHT: usize = 32;

/// A member account.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Member {
    /// Its handle.
    pub handle: String,
    /// A session token.
    pub token: String,
}

/// The room: a gig whose tickets every member holds.
#[derive(Debug)]
pub struct Room {
    /// The gig's id.
    pub gig_id: String,
    /// The members, each with a ticket.
    pub members: Vec<Member>,
}

/// Prepares a gig (`gig`, or a new one) with `count` ticket-holding members on the server at
/// `base`, reusing and extending the accounts cached in `cache` (if given).
///
/// # Errors
/// When a call fails or the cache cannot be read or written.
pub async fn prepare(
    base: &str,
    count: usize,
    cache: Option<&Path>,
    gig: Option<&str>,
) -> anyhow::Result<Room> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(64)
        .build()?;
    let base = base.trim_end_matches('/').to_owned();
    let mut members: Vec<Member> = match cache {
        Some(path) if path.exists() => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?
        }
        _ => Vec::new(),
    };
    if members.len() < count {
        let started = std::time::Instant::now();
        let missing = count - members.len();
        eprintln!("loadgen: signing up {missing} member accounts");
        let run = rand::random::<u32>();
        let new: Vec<Member> = futures::stream::iter(members.len()..count)
            .map(|i| {
                let (http, base) = (&http, base.as_str());
                async move { sign_up(http, base, &format!("m{run:08x}_{i}")).await }
            })
            .buffer_unordered(SIGNUPS_IN_FLIGHT)
            .try_collect()
            .await?;
        members.extend(new);
        eprintln!(
            "loadgen: signed up {missing} in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        if let Some(path) = cache {
            std::fs::write(path, serde_json::to_string(&members)?)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    members.truncate(count);

    let gig_id = match gig {
        Some(gig) => gig.to_owned(),
        None => new_gig(&http, &base).await?,
    };
    let started = std::time::Instant::now();
    futures::stream::iter(members.iter())
        .map(|member| {
            let (http, base, path) = (&http, base.as_str(), format!("/gigs/{gig_id}/tickets"));
            async move {
                let key = format!("{:032x}", rand::random::<u128>());
                call(
                    http,
                    base,
                    Some(&member.token),
                    Method::POST,
                    &path,
                    Value::Null,
                    Some(&key),
                )
                .await
                .map(|_| ())
            }
        })
        .buffer_unordered(TICKETS_IN_FLIGHT)
        .try_collect::<()>()
        .await?;
    eprintln!(
        "loadgen: {} tickets bought in {:.1} s",
        members.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(Room { gig_id, members })
}

/// Lists a new gig, starting in 5 minutes, from a new creator; returns its id.
async fn new_gig(http: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let creator = sign_up(http, base, &format!("c{:016x}", rand::random::<u64>())).await?;
    let now = OffsetDateTime::now_utc();
    let gig = call(
        http,
        base,
        Some(&creator.token),
        Method::POST,
        "/gigs",
        json!({
            "creator_name": "Benchmark Creator",
            "title": "Chat fan-out benchmark",
            "description": "Listed by bookmygig-loadgen chat.",
            "category": "music",
            "price": 1_000_000,
            "starts_at": (now + time::Duration::minutes(5)).format(&Rfc3339)?,
            "ends_at": (now + time::Duration::minutes(125)).format(&Rfc3339)?,
            "capacity": null,
            "payment_pointer": "$wallet.example/bench",
        }),
        None,
    )
    .await?;
    text(&gig, "id")
}

/// Signs up `handle` and tops its wallet up.
async fn sign_up(http: &reqwest::Client, base: &str, handle: &str) -> anyhow::Result<Member> {
    let signed_up = call(
        http,
        base,
        None,
        Method::POST,
        "/accounts",
        json!({ "handle": handle, "display_name": handle, "password": "bench-password-123" }),
        None,
    )
    .await?;
    let token = text(&signed_up, "token")?;
    call(
        http,
        base,
        Some(&token),
        Method::POST,
        "/wallet/topups",
        json!({ "amount": TOP_UP }),
        None,
    )
    .await?;
    Ok(Member {
        handle: handle.to_owned(),
        token,
    })
}
