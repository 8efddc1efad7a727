//! Catalogue search end to end (`GET /api/v1/gigs?q=…`) on a real server on port 0 with the
//! embedded store: typos, prefixes, edits, cancellations, a live gig first, pages through the
//! ranking, and the limits of `q`. The index is built in the background at start-up (the
//! store answers meanwhile, matching text as written), so each test first waits until a search
//! only the index can answer is answered.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bookmygig_api::{Category, Gig, GigId, GigPatch, GigStatus, Money, NewGig};
use bookmygig_client::{Client, GigListQuery};
use bookmygig_testkit::eventually;
use common::{Backend, FfmpegPublisher, TestServer, live_gig_form, new_gig};

/// How long the index may take to be built, or to hear of a publisher.
const PATIENCE: Duration = Duration::from_secs(20);

/// A creator with money for `gigs` listing fees.
async fn creator(server: &TestServer, handle: &str, gigs: i64) -> Client {
    let creator = server.sign_up(handle).await;
    creator
        .top_up(Money::from_dollars(99 * gigs), None)
        .await
        .unwrap();
    creator
}

/// A form for a gig titled `title` starting `in_minutes` from now.
fn form(title: &str, in_minutes: i64) -> NewGig {
    let mut form = new_gig(title, None);
    form.starts_at = time::OffsetDateTime::now_utc() + time::Duration::minutes(in_minutes);
    form.ends_at = form.starts_at + time::Duration::hours(1);
    form
}

async fn search_with(client: &Client, query: GigListQuery) -> Vec<GigId> {
    let page = client.list_gigs(&query).await.unwrap();
    page.items.iter().map(|gig| gig.id).collect()
}

async fn search(client: &Client, q: &str) -> Vec<GigId> {
    search_with(
        client,
        GigListQuery {
            q: Some(q.into()),
            ..Default::default()
        },
    )
    .await
}

/// Waits until searching `q` finds exactly `expected`, in this order.
async fn until_found(client: &Client, q: &str, expected: &[GigId]) {
    eventually(&format!("searching {q:?}"), PATIENCE, || async {
        let found = search(client, q).await;
        if found == expected {
            Ok(())
        } else {
            Err(found)
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typo_finds_the_gig() {
    let server = TestServer::start(Backend::Embedded).await;
    let alice = creator(&server, "alice", 2).await;
    let salsa = alice.create_gig(&form("Salsa Night", 60)).await.unwrap();
    alice.create_gig(&form("Jazz Brunch", 90)).await.unwrap();
    let anyone = server.anonymous();
    until_found(&anyone, "slasa", &[salsa.id]).await;
    assert_eq!(search(&anyone, "salsx night").await, [salsa.id]);
    assert_eq!(search(&anyone, "SALSA nihgt").await, [salsa.id]);
    // Four letters are too few for a typo.
    assert!(search(&anyone, "jazx").await.is_empty());
    assert!(
        search(&anyone, "slasa brunch").await.is_empty(),
        "every word must match"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefix_of_the_last_word_finds_the_gig() {
    let server = TestServer::start(Backend::Embedded).await;
    let alice = creator(&server, "alice", 1).await;
    let salsa = alice.create_gig(&form("Salsa Night", 60)).await.unwrap();
    let anyone = server.anonymous();
    // Words in another order than the title's: only the index finds that.
    until_found(&anyone, "NIGHT sal", &[salsa.id]).await;
    assert_eq!(search(&anyone, "nigh").await, [salsa.id]);
    assert_eq!(search(&anyone, "salsa n").await, [salsa.id]);
    assert!(
        search(&anyone, "sal night").await.is_empty(),
        "only the last word is a prefix"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accents_and_case_fold_both_ways() {
    let server = TestServer::start(Backend::Embedded).await;
    let alice = creator(&server, "alice", 1).await;
    let mut cafe = form("Café Crème", 60);
    cafe.creator_name = "ZOË Brontë".into();
    let cafe = alice.create_gig(&cafe).await.unwrap();
    let anyone = server.anonymous();
    until_found(&anyone, "cafe creme", &[cafe.id]).await;
    assert_eq!(search(&anyone, "CAFÉ zoe bronte").await, [cafe.id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_gig_is_found_by_its_new_words_and_not_its_old_ones() {
    let server = TestServer::start(Backend::Embedded).await;
    let alice = creator(&server, "alice", 1).await;
    let gig = alice.create_gig(&form("Salsa Night", 60)).await.unwrap();
    let anyone = server.anonymous();
    until_found(&anyone, "slasa", &[gig.id]).await;
    let patch = GigPatch {
        title: Some("Tango Afternoon".into()),
        ..Default::default()
    };
    alice.update_gig(gig.id, &patch).await.unwrap();
    assert_eq!(search(&anyone, "tango afternoon").await, [gig.id]);
    assert_eq!(search(&anyone, "tnago").await, [gig.id]);
    assert!(search(&anyone, "salsa").await.is_empty());
    assert!(search(&anyone, "slasa").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_gig_is_not_found_where_the_listing_excludes_it() {
    let server = TestServer::start(Backend::Embedded).await;
    let alice = creator(&server, "alice", 1).await;
    let gig = alice.create_gig(&form("Salsa Night", 60)).await.unwrap();
    let anyone = server.anonymous();
    until_found(&anyone, "slasa", &[gig.id]).await;
    alice.cancel_gig(gig.id).await.unwrap();
    assert!(search(&anyone, "salsa").await.is_empty());
    assert!(search(&anyone, "slasa").await.is_empty());
    // Asked for, cancelled gigs are still searched (in the store, by text as written).
    let cancelled = GigListQuery {
        q: Some("salsa".into()),
        status: Some(GigStatus::Cancelled),
        ..Default::default()
    };
    assert_eq!(search_with(&anyone, cancelled).await, [gig.id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_gig_ranks_first_and_falls_back_when_it_goes_offline() {
    let server = TestServer::start(Backend::Embedded).await;
    let alice = creator(&server, "alice", 1).await;
    let bob = creator(&server, "bob", 1).await;
    // Sooner, equally relevant: first while nobody is on air.
    let soon = alice.create_gig(&form("Jazz Night", 5)).await.unwrap();
    let on_air: Gig = bob.create_gig(&live_gig_form("Jazz Night")).await.unwrap();
    let anyone = server.anonymous();
    until_found(&anyone, "jazz nihgt", &[soon.id, on_air.id]).await;
    let ffmpeg = FfmpegPublisher::start(&server.publish_url(&on_air), "320x240", 15, 60);
    server.await_stream(on_air.id, PATIENCE, |s| s.live).await;
    until_found(&anyone, "jazz nihgt", &[on_air.id, soon.id]).await;
    drop(ffmpeg);
    until_found(&anyone, "jazz nihgt", &[soon.id, on_air.id]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_apply_beside_the_text() {
    let server = TestServer::start(Backend::Embedded).await;
    let alice = creator(&server, "alice", 2).await;
    let mut music = form("Swing Night", 60);
    music.category = Category::Music;
    let music = alice.create_gig(&music).await.unwrap();
    let comedy = alice.create_gig(&form("Swing Jokes", 30)).await.unwrap();
    let anyone = server.anonymous();
    until_found(&anyone, "swnig", &[comedy.id, music.id]).await;
    let only_music = GigListQuery {
        q: Some("swnig".into()),
        category: Some(Category::Music),
        ..Default::default()
    };
    assert_eq!(search_with(&anyone, only_music).await, [music.id]);
    let only_live = GigListQuery {
        q: Some("swnig".into()),
        status: Some(GigStatus::Live),
        ..Default::default()
    };
    assert!(search_with(&anyone, only_live).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_through_the_ranking_are_not_shifted_by_new_gigs() {
    let server = TestServer::start(Backend::Embedded).await;
    let alice = creator(&server, "alice", 5).await;
    let mut ids = Vec::new();
    for minutes in [20, 30, 40] {
        ids.push(alice.create_gig(&form("Salsa", minutes)).await.unwrap().id);
    }
    let anyone = server.anonymous();
    until_found(&anyone, "slasa", &ids).await;
    let mut query = GigListQuery {
        q: Some("slasa".into()),
        limit: Some(2),
        ..Default::default()
    };
    let first = anyone.list_gigs(&query).await.unwrap();
    assert_eq!(first.items.len(), 2);
    // Registered between two pages and ranking before them both.
    alice.create_gig(&form("Salsa", 10)).await.unwrap();
    query.cursor = first.next_cursor.clone();
    assert_eq!(query.cursor.as_ref().map(String::len), Some(32));
    let second = anyone.list_gigs(&query).await.unwrap();
    let seen: Vec<GigId> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|g| g.id)
        .collect();
    assert_eq!(seen, ids, "every gig once, in order");
    assert_eq!(second.next_cursor, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_limits_are_refused_naming_q() {
    let server = TestServer::start(Backend::Embedded).await;
    let anyone = server.anonymous();
    for q in [
        "one two three four five six seven eight nine".to_owned(),
        "a-b-c-d-e-f-g-h-i".to_owned(),
        "x".repeat(101),
    ] {
        let error = anyone
            .list_gigs(&GigListQuery {
                q: Some(q.clone()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        let problem = error.problem().unwrap_or_else(|| panic!("{q}: {error:?}"));
        assert_eq!(
            (problem.status, problem.field.as_deref()),
            (422, Some("q")),
            "{q}"
        );
    }
    let eight = "one two three four five six seven eight";
    assert!(search(&anyone, eight).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_is_rebuilt_from_the_store_at_start_up() {
    let server = TestServer::start(Backend::Embedded).await;
    let alice = creator(&server, "alice", 2).await;
    let salsa = alice.create_gig(&form("Salsa Night", 60)).await.unwrap();
    let tango = alice.create_gig(&form("Tango Night", 90)).await.unwrap();
    alice.cancel_gig(tango.id).await.unwrap();
    let data = server.stop_keeping_data().await;
    let server = TestServer::start_on(data).await;
    let anyone = server.anonymous();
    until_found(&anyone, "nihgt", &[salsa.id]).await;
    assert!(search(&anyone, "tango").await.is_empty());
}

/// A form for a gig titled `title` starting `in_minutes` from now, costing `price`.
fn priced(title: &str, in_minutes: i64, price: Money) -> NewGig {
    let mut form = form(title, in_minutes);
    form.price = price;
    form
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn date_and_price_ranges_apply_with_the_text_and_without_it() {
    let server = TestServer::start(Backend::Embedded).await;
    let alice = creator(&server, "alice", 3).await;
    let free = alice
        .create_gig(&priced("Swing Night", 60, Money(0)))
        .await
        .unwrap();
    let five = alice
        .create_gig(&priced("Swing Night", 180, Money::from_dollars(5)))
        .await
        .unwrap();
    let twenty = alice
        .create_gig(&priced("Swing Jokes", 240, Money::from_dollars(20)))
        .await
        .unwrap();
    let anyone = server.anonymous();
    until_found(&anyone, "swnig", &[free.id, five.id, twenty.id]).await;
    let (five_at, twenty_at) = (five.starts_at, twenty.starts_at);
    let second = time::Duration::SECOND;
    let cases: Vec<(&str, GigListQuery, Vec<GigId>)> = vec![
        (
            "free only",
            GigListQuery {
                free: true,
                ..Default::default()
            },
            vec![free.id],
        ),
        (
            "from $5",
            GigListQuery {
                min_price: Some(Money::from_dollars(5)),
                ..Default::default()
            },
            vec![five.id, twenty.id],
        ),
        (
            "$0.01 to $5, both ends in",
            GigListQuery {
                min_price: Some(Money(10_000)),
                max_price: Some(Money::from_dollars(5)),
                ..Default::default()
            },
            vec![five.id],
        ),
        (
            "starting from the second gig's start",
            GigListQuery {
                from: Some(five_at),
                ..Default::default()
            },
            vec![five.id, twenty.id],
        ),
        (
            "starting before the second gig's start",
            GigListQuery {
                to: Some(five_at),
                ..Default::default()
            },
            vec![free.id],
        ),
        (
            "around the second gig's start, up to $100",
            GigListQuery {
                from: Some(five_at - second),
                to: Some(twenty_at),
                max_price: Some(Money::from_dollars(100)),
                ..Default::default()
            },
            vec![five.id],
        ),
        (
            "free and later than the free gig",
            GigListQuery {
                free: true,
                from: Some(five_at),
                ..Default::default()
            },
            vec![],
        ),
    ];
    for (what, query, expected) in cases {
        // With text the index answers; without, the store's scan by start time.
        for q in [Some("swnig"), None] {
            let query = GigListQuery {
                q: q.map(str::to_owned),
                ..query.clone()
            };
            assert_eq!(
                search_with(&anyone, query).await,
                expected,
                "{what}, q {q:?}"
            );
        }
    }
    // Cancelled gigs are the store's to search: the ranges hold there too.
    alice.cancel_gig(twenty.id).await.unwrap();
    let cancelled = |min: i64| GigListQuery {
        q: Some("swing".into()),
        status: Some(GigStatus::Cancelled),
        min_price: Some(Money::from_dollars(min)),
        ..Default::default()
    };
    assert_eq!(search_with(&anyone, cancelled(10)).await, [twenty.id]);
    assert!(search_with(&anyone, cancelled(30)).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ranges_are_refused_naming_the_parameter() {
    let server = TestServer::start(Backend::Embedded).await;
    for (query, field) in [
        ("from=tomorrow", "from"),
        ("to=2030-01-01", "to"),
        ("from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z", "to"),
        ("min_price=-1", "min_price"),
        ("max_price=10000000001", "max_price"),
        ("min_price=5&max_price=4", "max_price"),
        ("free=yes", "free"),
        ("free=", "free"),
    ] {
        let url = format!("{}/api/v1/gigs?{query}", server.base);
        let response = reqwest::get(&url).await.unwrap();
        assert_eq!(response.status(), 422, "{query}");
        let problem: bookmygig_api::Problem = response.json().await.unwrap();
        assert_eq!(problem.field.as_deref(), Some(field), "{query}");
    }
}
