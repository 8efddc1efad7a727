//! The order of search results and the cursor that pages through it: live gigs first, then
//! relevance, then the soonest start, then the id. A gig's place is one [`Position`], a 56-bit
//! key and the id, so a page is "the positions after the cursor", which new gigs cannot shift
//! (a page never repeats or skips a gig because another was registered meanwhile).
//!
//! The position travels in the catalogue's own cursor ([`GigCursor`]: 64 bits and the id,
//! 32 characters of base64url), so the OpenAPI document's cursor pattern holds for searches
//! too. Any such cursor reads as some position, so a forged one pages from somewhere, never
//! fails.

use bookmygig_api::GigId;
use bookmygig_store::GigCursor;
use time::OffsetDateTime;

/// How a query word matched a gig, from worst to best.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MatchKind {
    /// One edit away from a word of the gig.
    Typo = 1,
    /// The start of a longer word of the gig (the last word only).
    Prefix = 2,
    /// A word of the gig.
    Exact = 3,
}

/// Relevance: for each query word, its best [`MatchKind`] (weighted so that one better match
/// outweighs any number of extra fields), plus the number of fields it matched in.
pub type Score = u16;

/// Weight of one step of [`MatchKind`] in a [`Score`]: more than the most fields all the
/// words of a search can match (8 words × 4 fields).
pub const KIND_WEIGHT: Score = 64;

/// The score of one query word that matched as `kind` in `fields` fields.
pub fn word_score(kind: MatchKind, fields: u32) -> Score {
    let fields = Score::try_from(fields).unwrap_or(Score::MAX);
    (kind as Score) * KIND_WEIGHT + fields
}

/// Bits of the start time (seconds since 1970): enough for 34,000 years.
const START_BITS: u32 = 40;
/// Bits of the inverted score.
const SCORE_BITS: u32 = 15;
/// Highest score a position keeps apart (8 words × (3 × 64 + 4) is far below it).
const SCORE_MAX: u64 = (1 << SCORE_BITS) - 1;
/// The bits a key uses: not-live flag, inverted score, start.
const KEY_MASK: u64 = (1 << (1 + SCORE_BITS + START_BITS)) - 1;

/// Latest start a position tells apart.
const START_MAX: u64 = (1 << START_BITS) - 1;

/// A start as positions order it: seconds since 1970, before 1970 as 1970.
pub fn start_key(starts_at: OffsetDateTime) -> u64 {
    u64::try_from(starts_at.unix_timestamp())
        .unwrap_or(0)
        .min(START_MAX)
}

/// A gig's place in a search's order: smaller comes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    key: u64,
    id: GigId,
}

impl Position {
    /// The place of gig `id` that is `live` or not, scored `score`, starting at `starts_at`
    /// (to the second; before 1970 counts as 1970).
    pub fn new(live: bool, score: Score, starts_at: OffsetDateTime, id: GigId) -> Self {
        Self::from_key_parts(live, score, start_key(starts_at), id)
    }

    /// As [`Position::new`], with the start already read by [`start_key`] (the index keeps it
    /// so, which spares a date conversion per matching gig).
    pub fn from_key_parts(live: bool, score: Score, start: u64, id: GigId) -> Self {
        let not_live = u64::from(!live);
        let inverted = SCORE_MAX - u64::from(score).min(SCORE_MAX);
        let start = start.min(START_MAX);
        Position {
            key: (not_live << (SCORE_BITS + START_BITS)) | (inverted << START_BITS) | start,
            id,
        }
    }

    /// The gig.
    pub fn id(&self) -> GigId {
        self.id
    }

    /// The cursor of the page that starts after this position.
    pub fn cursor(&self) -> GigCursor {
        GigCursor {
            // At most 56 bits: always a positive i64.
            starts_at_us: i64::try_from(self.key).unwrap_or(i64::MAX),
            id: self.id,
        }
    }

    /// The position a cursor names (see the module docs: any cursor names one).
    pub fn from_cursor(cursor: &GigCursor) -> Self {
        Position {
            key: u64::from_ne_bytes(cursor.starts_at_us.to_ne_bytes()) & KEY_MASK,
            id: cursor.id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000) + time::Duration::minutes(minutes)
    }

    #[test]
    fn live_comes_first_then_relevance_then_the_soonest() {
        let id = GigId::new();
        let live_late_weak = Position::new(true, 10, at(90), id);
        let strong_late = Position::new(false, 200, at(90), id);
        let weak_soon = Position::new(false, 10, at(5), id);
        let weak_late = Position::new(false, 10, at(90), id);
        let mut order = [weak_late, weak_soon, strong_late, live_late_weak];
        order.sort();
        assert_eq!(order, [live_late_weak, strong_late, weak_soon, weak_late]);
    }

    #[test]
    fn exact_beats_prefix_beats_typo_whatever_the_fields() {
        assert!(word_score(MatchKind::Exact, 1) > word_score(MatchKind::Prefix, 4));
        assert!(word_score(MatchKind::Prefix, 1) > word_score(MatchKind::Typo, 4));
        assert!(word_score(MatchKind::Exact, 2) > word_score(MatchKind::Exact, 1));
    }

    #[test]
    fn a_position_survives_its_cursor() {
        let position = Position::new(true, 1_234, at(77), GigId::new());
        let text = position.cursor().encode();
        assert_eq!(text.len(), 32, "the catalogue's cursor pattern");
        let back = GigCursor::decode(&text).unwrap();
        assert_eq!(Position::from_cursor(&back), position);
    }

    #[test]
    fn any_cursor_names_a_position() {
        let forged = GigCursor {
            starts_at_us: -1,
            id: GigId::new(),
        };
        let position = Position::from_cursor(&forged);
        assert_eq!(Position::from_cursor(&position.cursor()), position);
    }

    #[test]
    fn starts_out_of_range_are_clamped() {
        let id = GigId::new();
        let before_1970 = OffsetDateTime::UNIX_EPOCH - time::Duration::days(1);
        assert_eq!(
            Position::new(false, 0, before_1970, id),
            Position::new(false, 0, OffsetDateTime::UNIX_EPOCH, id)
        );
    }
}
