//! The two halves of `scripts/bench search`, run by hand (not part of the tests).
//!
//! - `search_bench seed (--data-dir DIR | --redis-url URL) [--gigs N]`: writes N gigs (default
//!   100,000) through the store, as registration does (one creator, a listing fee each), with
//!   titles, names and descriptions of real words, starting over the next 30 days, and one
//!   marker gig the `query` half waits for.
//! - `search_bench query --base URL [--queries N] [--seed S] [--scan]`: waits until the
//!   server's index answers (the marker is found with its words swapped, which only the index
//!   does; not with `--scan`, for servers that search the store), then sends N distinct
//!   searches one at a time (real words, prefixes, typos, strings that match nothing; a third
//!   with a category, some with a status, a start range, a price range or free only) and
//!   prints their latency as the inner cells of a markdown table row:
//!   `queries | with results | p50 ms | p99 ms | max ms`. `--scan` is for the server before
//!   the index (commit d4e2679), which knew only the category and status filters: the same
//!   searches without the others.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bookmygig_api::{AccountId, Category, EntryKind, GigId, Money, PaymentPointer};
use bookmygig_store::{
    AccountRecord, EmbeddedStore, GigDetails, GigRecord, GigState, LedgerAccount, RedisStore,
    Store, TokenHash, Transaction,
};
use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use time::OffsetDateTime;

/// Words of titles and descriptions.
const WORDS: &[&str] = &[
    "salsa",
    "tango",
    "jazz",
    "blues",
    "swing",
    "opera",
    "comedy",
    "improv",
    "sketch",
    "stand",
    "laughs",
    "night",
    "evening",
    "morning",
    "brunch",
    "matinee",
    "acoustic",
    "piano",
    "guitar",
    "drums",
    "violin",
    "quartet",
    "trio",
    "orchestra",
    "choir",
    "poetry",
    "story",
    "theatre",
    "drama",
    "musical",
    "ballet",
    "flamenco",
    "hiphop",
    "yoga",
    "pilates",
    "workout",
    "cardio",
    "stretch",
    "meditation",
    "workshop",
    "painting",
    "pottery",
    "cooking",
    "baking",
    "coding",
    "writing",
    "photography",
    "magic",
    "puppets",
    "cabaret",
    "burlesque",
    "karaoke",
    "disco",
    "techno",
    "house",
    "ambient",
    "folk",
    "country",
    "reggae",
    "samba",
    "bossa",
    "latin",
    "classical",
    "baroque",
    "chamber",
    "symphony",
    "festival",
    "session",
    "live",
    "special",
    "premiere",
    "encore",
    "tour",
    "legends",
    "rising",
    "stars",
    "late",
    "early",
    "weekend",
    "summer",
    "winter",
    "autumn",
    "spring",
    "midnight",
    "sunset",
    "sunrise",
    "garden",
    "city",
    "harbour",
    "river",
    "mountain",
    "forest",
    "ocean",
    "island",
    "desert",
    "northern",
    "southern",
];

/// Given names and family names of creators.
const NAMES: &[&str] = &[
    "alice",
    "bruno",
    "chloé",
    "dmitri",
    "elena",
    "farah",
    "gustavo",
    "hana",
    "ingrid",
    "jamal",
    "kofi",
    "léa",
    "mateo",
    "nadia",
    "oskar",
    "priya",
    "quentin",
    "rosa",
    "søren",
    "tomás",
    "smith",
    "garcía",
    "müller",
    "nakamura",
    "okafor",
    "rossi",
    "dubois",
    "kowalski",
    "silva",
    "andersen",
    "ivanova",
    "haddad",
    "lindqvist",
    "moreau",
    "novak",
    "patel",
    "quinn",
];

/// The marker gig's title; searched with its words swapped.
const MARKER: &str = "Zyxwvut Benchmarker";

#[derive(Parser)]
enum Command {
    /// Writes the gigs through the store.
    Seed {
        /// The embedded store's directory.
        #[arg(
            long,
            conflicts_with = "redis_url",
            required_unless_present = "redis_url"
        )]
        data_dir: Option<std::path::PathBuf>,
        /// Redis instead.
        #[arg(long)]
        redis_url: Option<String>,
        /// How many gigs.
        #[arg(long, default_value_t = 100_000)]
        gigs: usize,
    },
    /// Times searches against a running server.
    Query {
        /// `http://HOST:PORT` of the server.
        #[arg(long)]
        base: String,
        /// How many distinct searches.
        #[arg(long, default_value_t = 1_000)]
        queries: usize,
        /// Seed of the searches (the same seed, the same searches).
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// A server before the index: do not wait for one, and send only the filters it
        /// knows (category, status).
        #[arg(long)]
        scan: bool,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Command::parse() {
        Command::Seed {
            data_dir,
            redis_url,
            gigs,
        } => {
            let store: Arc<dyn Store> = match (data_dir, redis_url) {
                (_, Some(url)) => Arc::new(RedisStore::connect(&url).await?),
                (Some(dir), None) => Arc::new(EmbeddedStore::open(&dir)?),
                (None, None) => bail!("--data-dir or --redis-url"),
            };
            seed(store.as_ref(), gigs).await
        }
        Command::Query {
            base,
            queries,
            seed,
            scan,
        } => {
            if !scan {
                wait_for_index(&base).await?;
            }
            query(&base, queries, seed, !scan).await
        }
    }
}

/// One creator, funded, and `count` gigs plus the marker.
async fn seed(store: &dyn Store, count: usize) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    let creator = AccountRecord {
        id: AccountId::new(),
        handle: "search_bench".into(),
        display_name: "Search Bench".into(),
        // Never signed in with: not a hash anything matches.
        password_hash: "-".into(),
        created_at: now,
    };
    store.create_account(&creator).await?;
    let fee = Money(1);
    let funds = Money(i64::try_from(count + 1)?);
    store
        .post(
            &Transaction::transfer(
                EntryKind::TopUp,
                LedgerAccount::ExternalTopups,
                LedgerAccount::User(creator.id),
                funds,
                "search benchmark funds",
                None,
                now,
            ),
            None,
        )
        .await?;
    let mut rng = StdRng::seed_from_u64(1);
    let pointer = PaymentPointer::parse("$wallet.example/bench")?;
    let began = Instant::now();
    for i in 0..=count {
        let title = if i == count {
            MARKER.to_owned()
        } else {
            capitalised(&words(&mut rng, WORDS, 2..=4))
        };
        let starts_at = now
            + time::Duration::minutes(10)
            + time::Duration::minutes(rng.random_range(0..30 * 24 * 60));
        let gig = GigRecord {
            id: GigId::new(),
            creator_id: creator.id,
            details: GigDetails {
                creator_name: capitalised(&words(&mut rng, NAMES, 2..=2)),
                title,
                description: words(&mut rng, WORDS, 10..=30),
                category: Category::ALL[rng.random_range(0..Category::ALL.len())],
                price: Money::from_dollars(rng.random_range(0..50)),
                starts_at,
                ends_at: starts_at + time::Duration::minutes(90),
                capacity: None,
                payment_pointer: pointer.clone(),
                micropayment_rate: Money(0),
                replay_hours: 48,
            },
            stream_key: format!("bench-{i}"),
            stream_key_hash: TokenHash(rng.random()),
            created_at: now,
            tickets_sold: 0,
            state: GigState::Scheduled,
        };
        let listing_fee = Transaction::transfer(
            EntryKind::ListingFee,
            LedgerAccount::User(creator.id),
            LedgerAccount::PlatformRevenue,
            fee,
            "search benchmark listing fee",
            Some(gig.id),
            now,
        );
        store
            .create_gig(&gig, &listing_fee)
            .await
            .with_context(|| format!("gig {i}"))?;
        if i % 10_000 == 0 {
            eprintln!("search_bench: {i} gigs in {:?}", began.elapsed());
        }
    }
    store.flush().await?;
    eprintln!("search_bench: {} gigs in {:?}", count + 1, began.elapsed());
    Ok(())
}

/// Waits until the server's index finds the marker gig by its swapped words.
async fn wait_for_index(base: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let url = format!("{base}/api/v1/gigs");
    let marker = MARKER.split(' ').rev().collect::<Vec<_>>().join(" ");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let page: serde_json::Value = client
            .get(&url)
            .query(&[("q", marker.as_str())])
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        if page["items"]
            .as_array()
            .is_some_and(|items| !items.is_empty())
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the server's index did not find the marker gig within 2 minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Times `count` distinct searches, one at a time.
async fn query(base: &str, count: usize, seed: u64, all_filters: bool) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let url = format!("{base}/api/v1/gigs");
    let mut rng = StdRng::seed_from_u64(seed);
    let now = OffsetDateTime::now_utc();
    let mut seen = HashSet::new();
    let mut searches = Vec::with_capacity(count);
    while searches.len() < count {
        let search = random_search(&mut rng, now, all_filters)?;
        if seen.insert(search.clone()) {
            searches.push(search);
        }
    }
    let mut latencies = Vec::with_capacity(count);
    let mut found = 0;
    for search in &searches {
        let began = Instant::now();
        let page: serde_json::Value = client
            .get(&url)
            .query(search)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        latencies.push(began.elapsed());
        if page["items"]
            .as_array()
            .is_some_and(|items| !items.is_empty())
        {
            found += 1;
        }
    }
    latencies.sort();
    let at = |q: f64| {
        let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1_000.0
    };
    println!(
        "{count} | {found} | {:.2} | {:.2} | {:.2}",
        at(0.50),
        at(0.99),
        at(1.0)
    );
    Ok(())
}

/// One search: its query pairs. The filters only the index's server knows (start range, price
/// range, free) are drawn either way, so the searches' text is the same, and sent only with
/// `all_filters`.
fn random_search(
    rng: &mut StdRng,
    now: OffsetDateTime,
    all_filters: bool,
) -> anyhow::Result<Vec<(&'static str, String)>> {
    let word = |rng: &mut StdRng| WORDS[rng.random_range(0..WORDS.len())].to_owned();
    let text = match rng.random_range(0..10) {
        // Real words, one to three.
        0..=3 => (0..rng.random_range(1..=3))
            .map(|_| word(rng))
            .collect::<Vec<_>>()
            .join(" "),
        // Typing: whole words, then the start of one.
        4 | 5 => {
            let last = word(rng);
            let cut = rng.random_range(1..=last.len());
            format!("{} {}", word(rng), &last[..cut])
        }
        // A typo in a word of five letters or more.
        6 | 7 => {
            let mut typo: Vec<char> = word(rng).chars().collect();
            while typo.len() < 5 {
                typo = word(rng).chars().collect();
            }
            let at = rng.random_range(0..typo.len() - 1);
            match rng.random_range(0..3) {
                0 => typo.swap(at, at + 1),
                1 => typo[at] = char::from(b'a' + rng.random_range(0..26u8)),
                _ => {
                    typo.remove(at);
                }
            }
            typo.into_iter().collect()
        }
        // Nothing matches.
        _ => (0..rng.random_range(4..12))
            .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
            .collect(),
    };
    let mut pairs = vec![("q", text)];
    if rng.random_range(0..3) == 0 {
        let category = Category::ALL[rng.random_range(0..Category::ALL.len())];
        pairs.push(("category", category.as_str().to_owned()));
    }
    if rng.random_range(0..10) == 0 {
        pairs.push(("status", "scheduled".to_owned()));
    }
    let mut more = Vec::new();
    if rng.random_range(0..5) == 0 {
        // Gigs starting within a few days, some days from now.
        let from = now + time::Duration::days(rng.random_range(0..25));
        let to = from + time::Duration::days(rng.random_range(1..=5));
        let rfc3339 = &time::format_description::well_known::Rfc3339;
        more.push(("from", from.format(rfc3339)?));
        more.push(("to", to.format(rfc3339)?));
    }
    match rng.random_range(0..10) {
        0 | 1 => {
            let min = rng.random_range(0..40i64);
            let max = min + rng.random_range(1..=10i64);
            more.push(("min_price", Money::from_dollars(min).0.to_string()));
            more.push(("max_price", Money::from_dollars(max).0.to_string()));
        }
        2 => more.push(("free", "true".to_owned())),
        _ => {}
    }
    if all_filters {
        pairs.extend(more);
    }
    Ok(pairs)
}

/// `n` words of `from` (n in `range`), space-separated.
fn words(rng: &mut StdRng, from: &[&str], range: std::ops::RangeInclusive<usize>) -> String {
    (0..rng.random_range(range))
        .map(|_| from[rng.random_range(0..from.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

/// Each word with a capital first letter.
fn capitalised(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}
