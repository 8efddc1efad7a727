//! The index alone: what each kind of word finds, the order, the filters, the cursor.

use super::*;
use crate::search::fixtures::gig_at as gig;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn upcoming() -> Filter {
    Filter::upcoming_at(now())
}

fn find(index: &Index, text: &str) -> Vec<GigId> {
    let query = SearchQuery::parse(text).unwrap();
    index
        .search(&query, &upcoming(), None, 100)
        .iter()
        .map(Position::id)
        .collect()
}

fn index_of(gigs: &[&GigRecord]) -> Index {
    let mut index = Index::default();
    for gig in gigs {
        index.put(gig);
    }
    index
}

#[test]
fn words_match_in_any_order_and_all_must_match() {
    let salsa = gig("Salsa Night Fever", 60);
    let index = index_of(&[&salsa, &gig("Night of Jazz", 60)]);
    assert_eq!(find(&index, "night salsa"), [salsa.id]);
    assert_eq!(find(&index, "fever salsa night"), [salsa.id]);
    assert!(find(&index, "salsa jazz").is_empty());
    assert_eq!(find(&index, "night").len(), 2);
}

#[test]
fn case_and_accents_are_folded_both_ways() {
    let cafe = gig("CAFÉ Crème", 60);
    let index = index_of(&[&cafe]);
    assert_eq!(find(&index, "cafe creme"), [cafe.id]);
    assert_eq!(find(&index, "Café CRÈME"), [cafe.id]);
}

#[test]
fn every_field_is_searched() {
    let mut music = gig("Evening", 60);
    music.details.category = Category::Music;
    music.details.creator_name = "Zoë Quartet".into();
    music.details.description = "Standards and bossa nova.".into();
    let index = index_of(&[&music]);
    for text in ["evening", "zoe", "bossa", "music"] {
        assert_eq!(find(&index, text), [music.id], "{text}");
    }
}

#[test]
fn the_last_word_matches_as_a_prefix_and_only_the_last() {
    let salsa = gig("Salsa Night", 60);
    let index = index_of(&[&salsa]);
    assert_eq!(find(&index, "sal"), [salsa.id]);
    assert_eq!(find(&index, "night s"), [salsa.id]);
    assert!(
        find(&index, "sal night").is_empty(),
        "not a prefix when not last"
    );
}

#[test]
fn one_typo_is_forgiven_in_words_of_five_letters_or_more() {
    let salsa = gig("Salsa Comedy Jazz", 60);
    let index = index_of(&[&salsa]);
    for typo in ["slasa", "salsx", "salsaa", "comdey", "comedi"] {
        assert_eq!(find(&index, typo), [salsa.id], "{typo}");
    }
    // As the last word a typo also reaches words it is the start of: not here.
    assert!(find(&index, "slasx").is_empty(), "two edits");
    assert!(find(&index, "jaz jazx").is_empty(), "four letters: no typo");
    assert!(find(&index, "jazx").is_empty(), "four letters: no typo");
    assert!(find(&index, "slsa").is_empty(), "four letters: no typo");
}

#[test]
fn live_gigs_rank_first_then_relevance_then_the_soonest() {
    let soon = gig("Jazz Evening", 10);
    let later = gig("Jazz Evening", 120);
    let live = gig("Jazz Evening", 240);
    // Sooner than all, but "evening" only starts one of its words.
    let prefix_only = gig("Jazz Evenings", 5);
    let index = {
        let mut index = index_of(&[&soon, &later, &live, &prefix_only]);
        index.set_live(live.id, true);
        index
    };
    assert_eq!(
        find(&index, "jazz evening"),
        [live.id, soon.id, later.id, prefix_only.id]
    );
}

#[test]
fn exact_beats_prefix_beats_typo_and_more_fields_count() {
    let exact = gig("Salsa", 50);
    let prefix = gig("Salsas", 40);
    let typo = gig("Slasa", 30);
    let mut two_fields = gig("Salsa", 60);
    two_fields.details.description = "Salsa all night.".into();
    let index = index_of(&[&exact, &prefix, &typo, &two_fields]);
    assert_eq!(
        find(&index, "salsa"),
        [two_fields.id, exact.id, prefix.id, typo.id]
    );
}

#[test]
fn filters_apply_beside_the_text() {
    let mut music = gig("Jazz Night", 60);
    music.details.category = Category::Music;
    let comedy = gig("Jazz Jokes", 60);
    let mut index = index_of(&[&music, &comedy]);
    let query = SearchQuery::parse("jazz").unwrap();
    let only = |index: &Index, filter: Filter| -> Vec<GigId> {
        index
            .search(&query, &filter, None, 10)
            .iter()
            .map(Position::id)
            .collect()
    };
    let music_only = Filter {
        category: Some(Category::Music),
        ..upcoming()
    };
    assert_eq!(only(&index, music_only), [music.id]);
    let live_only = Filter {
        status: StatusFilter::Is(GigStatus::Live),
        ..upcoming()
    };
    assert!(only(&index, live_only).is_empty());
    index.set_live(comedy.id, true);
    assert_eq!(only(&index, live_only), [comedy.id]);
    // An hour and a half from now, both have ended (the live one stays live).
    let later = Filter {
        now: now() + time::Duration::minutes(150),
        ..upcoming()
    };
    assert_eq!(only(&index, later), [comedy.id]);
}

/// The gigs matching `text` under `bounds` (and the default statuses), in rank order.
fn find_within(index: &Index, text: &str, bounds: GigBounds) -> Vec<GigId> {
    let query = SearchQuery::parse(text).unwrap();
    let filter = Filter {
        bounds,
        ..upcoming()
    };
    index
        .search(&query, &filter, None, 10)
        .iter()
        .map(Position::id)
        .collect()
}

#[test]
fn a_date_range_keeps_the_starts_from_its_start_up_to_its_end() {
    let soon = gig("Salsa Night", 30);
    let later = gig("Salsa Night", 120);
    let index = index_of(&[&soon, &later]);
    let bounds = |from: Option<OffsetDateTime>, to: Option<OffsetDateTime>| GigBounds {
        from,
        to,
        ..GigBounds::default()
    };
    let (a, b) = (soon.details.starts_at, later.details.starts_at);
    assert_eq!(
        find_within(&index, "salsa", bounds(Some(a), None)),
        [soon.id, later.id]
    );
    assert_eq!(
        find_within(
            &index,
            "salsa",
            bounds(Some(a + time::Duration::SECOND), None)
        ),
        [later.id],
        "a start before `from` is out"
    );
    assert_eq!(
        find_within(&index, "salsa", bounds(None, Some(b))),
        [soon.id],
        "`to` is out"
    );
    assert_eq!(
        find_within(
            &index,
            "salsa",
            bounds(Some(a), Some(b + time::Duration::SECOND))
        ),
        [soon.id, later.id]
    );
    assert!(find_within(&index, "salsa", bounds(Some(b), Some(a))).is_empty());
}

#[test]
fn a_price_range_includes_both_ends_and_free_means_zero() {
    let mut free = gig("Jazz Night", 30);
    free.details.price = Money(0);
    let mut five = gig("Jazz Night", 60);
    five.details.price = Money::from_dollars(5);
    let mut twenty = gig("Jazz Night", 90);
    twenty.details.price = Money::from_dollars(20);
    let index = index_of(&[&free, &five, &twenty]);
    let prices = |min: Option<i64>, max: Option<i64>| GigBounds {
        min_price: min.map(Money::from_dollars),
        max_price: max.map(Money::from_dollars),
        ..GigBounds::default()
    };
    assert_eq!(
        find_within(&index, "jazz", prices(Some(0), Some(0))),
        [free.id]
    );
    assert_eq!(
        find_within(&index, "jazz", prices(None, Some(0))),
        [free.id],
        "free only"
    );
    assert_eq!(
        find_within(&index, "jazz", prices(Some(5), Some(20))),
        [five.id, twenty.id]
    );
    assert_eq!(
        find_within(&index, "jazz", prices(Some(6), None)),
        [twenty.id]
    );
    assert_eq!(
        find_within(&index, "jazz", prices(None, Some(19))),
        [free.id, five.id]
    );
    assert!(find_within(&index, "jazz", prices(Some(21), None)).is_empty());
}

#[test]
fn ranges_combine_with_the_text_and_the_category() {
    let mut cheap_music = gig("Jazz Night", 30);
    cheap_music.details.category = Category::Music;
    cheap_music.details.price = Money(0);
    let mut cheap_comedy = gig("Jazz Jokes", 30);
    cheap_comedy.details.price = Money(0);
    let mut dear_music = gig("Jazz Night", 30);
    dear_music.details.category = Category::Music;
    dear_music.details.price = Money::from_dollars(50);
    let index = index_of(&[&cheap_music, &cheap_comedy, &dear_music]);
    let query = SearchQuery::parse("jazz nihgt").unwrap();
    let filter = Filter {
        category: Some(Category::Music),
        bounds: GigBounds {
            max_price: Some(Money(0)),
            ..GigBounds::default()
        },
        ..upcoming()
    };
    let found: Vec<GigId> = index
        .search(&query, &filter, None, 10)
        .iter()
        .map(Position::id)
        .collect();
    assert_eq!(found, [cheap_music.id]);
}

#[test]
fn an_edit_replaces_the_words_and_a_cancellation_removes_the_gig() {
    let mut salsa = gig("Salsa Night", 60);
    let mut index = index_of(&[&salsa]);
    salsa.details.title = "Tango Afternoon".into();
    index.put(&salsa);
    assert_eq!(find(&index, "tango"), [salsa.id]);
    assert!(find(&index, "salsa").is_empty());
    assert!(
        find(&index, "sals").is_empty(),
        "old words are gone for prefixes too"
    );
    assert_eq!(index.len(), 1);
    salsa.state = GigState::Cancelled;
    index.put(&salsa);
    assert!(find(&index, "tango").is_empty());
    assert!(index.is_empty());
    assert_eq!(index.words(), 0, "no word outlives its last gig");
}

#[test]
fn ended_gigs_are_retired() {
    let ended = gig("Salsa", -120);
    let coming = gig("Salsa", 60);
    let mut index = index_of(&[&ended, &coming]);
    assert_eq!(find(&index, "salsa"), [coming.id], "never shown");
    assert_eq!(index.retire_ended(now()), 1);
    assert_eq!(index.len(), 1);
}

#[test]
fn pages_follow_the_cursor_and_new_gigs_do_not_shift_them() {
    let gigs: Vec<GigRecord> = (0..5).map(|i| gig("Jazz", 10 * (i + 1))).collect();
    let mut index = index_of(&gigs.iter().collect::<Vec<_>>());
    let query = SearchQuery::parse("jazz").unwrap();
    let first = index.search(&query, &upcoming(), None, 2);
    assert_eq!(
        first.iter().map(Position::id).collect::<Vec<_>>(),
        [gigs[0].id, gigs[1].id]
    );
    // Registered meanwhile, ranking before the cursor: not on the next pages.
    index.put(&gig("Jazz", 1));
    let cursor = Position::from_cursor(&first[1].cursor());
    let rest = index.search(&query, &upcoming(), Some(cursor), 10);
    assert_eq!(
        rest.iter().map(Position::id).collect::<Vec<_>>(),
        [gigs[2].id, gigs[3].id, gigs[4].id]
    );
}

#[test]
fn a_search_without_words_finds_nothing() {
    let index = index_of(&[&gig("Jazz", 10)]);
    assert!(find(&index, "?!").is_empty());
}

#[test]
fn slots_and_words_are_reused() {
    let mut index = Index::default();
    for round in 0..50 {
        let gig = gig(&format!("Word{round} salsa"), 60);
        index.put(&gig);
        index.remove(gig.id);
    }
    assert!(index.is_empty());
    assert_eq!(index.words(), 0);
    assert!(index.docs.len() <= 1, "one slot, reused");
}
