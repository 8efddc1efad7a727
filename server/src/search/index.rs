//! `Index`: the inverted index of the catalogue's text, owned by one thread at a time (the
//! [`super::SearchIndex`] puts it behind a lock). Each gig is a document of four fields
//! (title, creator name, description, category) and its facts for filtering and ranking
//! (category, stored state, start, end); the words live in the [`Vocabulary`].
//!
//! A search marks, for each query word, every gig it matches and how (one byte per gig: the
//! best [`MatchKind`] and the fields), walks the gigs of the rarest word checking the others'
//! marks and the filters, and keeps the first positions after the cursor. Its cost is bounded
//! by the posting lists of at most [`super::query::MAX_WORDS`] words (and the extensions of the
//! last), never by the length of what was typed.

use std::collections::HashMap;

use bookmygig_api::{Category, GigId, GigStatus, Money};
use bookmygig_store::{GigBounds, GigRecord, GigState, StatusFilter};
use time::OffsetDateTime;

use super::query::{SearchQuery, Word};
use super::rank::{self, MatchKind, Position, Score, word_score};
use super::text;
use super::vocabulary::{DOC_MAX, DocId, Posting, TermId, Vocabulary};

/// The fields of a gig that are searched, as bits of a posting's `fields`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// The title.
    Title = 1,
    /// The billed creator name.
    CreatorName = 2,
    /// The description.
    Description = 4,
    /// The category's name (`comedy`, `music`, …).
    Category = 8,
}

/// The filters of a catalogue query that apply beside the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Filter {
    /// Only this category.
    pub category: Option<Category>,
    /// Which statuses (at `now`).
    pub status: StatusFilter,
    /// The clock reading that decides `ended`.
    pub now: OffsetDateTime,
    /// Ranges of start and price.
    pub bounds: GigBounds,
}

impl Filter {
    /// Every category, the statuses the catalogue shows by default, at `now`, any start and
    /// price.
    pub fn upcoming_at(now: OffsetDateTime) -> Self {
        Filter {
            category: None,
            status: StatusFilter::Upcoming,
            now,
            bounds: GigBounds::default(),
        }
    }
}

/// An indexed gig.
#[derive(Debug)]
struct Doc {
    id: GigId,
    category: Category,
    state: GigState,
    /// Its start as ranking reads it (see [`rank::start_key`]).
    start: u64,
    /// Its start exactly, for the date range.
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
    /// Its ticket price, for the price range.
    price: Money,
    /// Its words, to take it out again.
    terms: Vec<TermId>,
}

impl Doc {
    /// As [`GigRecord::status_at`], from the facts kept here.
    fn status_at(&self, now: OffsetDateTime) -> GigStatus {
        match self.state {
            GigState::Cancelled => GigStatus::Cancelled,
            GigState::Live => GigStatus::Live,
            _ if now >= self.ends_at => GigStatus::Ended,
            GigState::Scheduled => GigStatus::Scheduled,
            GigState::Offline => GigStatus::Offline,
        }
    }

    fn passes(&self, filter: &Filter) -> bool {
        if filter.category.is_some_and(|c| c != self.category) {
            return false;
        }
        if !filter.bounds.accepts(self.starts_at, self.price) {
            return false;
        }
        let status = self.status_at(filter.now);
        match filter.status {
            StatusFilter::Upcoming => matches!(
                status,
                GigStatus::Scheduled | GigStatus::Live | GigStatus::Offline
            ),
            StatusFilter::Is(wanted) => wanted == status,
        }
    }
}

/// The catalogue's inverted index (see the module docs).
#[derive(Debug, Default)]
pub struct Index {
    words: Vocabulary,
    docs: Vec<Option<Doc>>,
    slots: HashMap<GigId, DocId>,
    free: Vec<DocId>,
}

impl Index {
    /// How many gigs are indexed.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no gig is indexed.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// How many distinct words the indexed gigs hold.
    pub fn words(&self) -> usize {
        self.words.len()
    }

    /// Indexes `gig` as it is now, replacing what was indexed for it. A cancelled gig is taken
    /// out: no catalogue search shows one (those ask the store, see [`super::listing`]).
    pub fn put(&mut self, gig: &GigRecord) {
        self.remove(gig.id);
        if gig.state == GigState::Cancelled {
            return;
        }
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => match DocId::try_from(self.docs.len()) {
                // A slot is reused when its gig goes: 268 million gigs would not fit in memory
                // long before this.
                Ok(slot) if slot <= DOC_MAX => slot,
                _ => return,
            },
        };
        let d = &gig.details;
        let mut terms = Vec::new();
        for (field, value) in [
            (Field::Title, d.title.as_str()),
            (Field::CreatorName, d.creator_name.as_str()),
            (Field::Description, d.description.as_str()),
            (Field::Category, d.category.as_str()),
        ] {
            for word in text::words(value) {
                terms.push(self.words.add(&word, slot, field as u8));
            }
        }
        terms.sort_unstable();
        terms.dedup();
        let doc = Doc {
            id: gig.id,
            category: d.category,
            state: gig.state,
            start: rank::start_key(d.starts_at),
            starts_at: d.starts_at,
            ends_at: d.ends_at,
            price: d.price,
            terms,
        };
        match self.docs.get_mut(slot as usize) {
            Some(place) => *place = Some(doc),
            None => self.docs.push(Some(doc)),
        }
        self.slots.insert(gig.id, slot);
    }

    /// Takes gig `id` out of the index.
    pub fn remove(&mut self, id: GigId) {
        let Some(slot) = self.slots.remove(&id) else {
            return;
        };
        if let Some(doc) = self.docs.get_mut(slot as usize).and_then(Option::take) {
            for term in doc.terms {
                self.words.remove(term, slot);
            }
        }
        self.free.push(slot);
    }

    /// Records that gig `id`'s publisher came (`live`) or went; nothing if it is not indexed.
    pub fn set_live(&mut self, id: GigId, live: bool) {
        if let Some(doc) = self
            .slots
            .get(&id)
            .and_then(|&slot| self.docs.get_mut(slot as usize)?.as_mut())
        {
            doc.state = if live {
                GigState::Live
            } else {
                GigState::Offline
            };
        }
    }

    /// The gigs indexed as live.
    pub fn live(&self) -> Vec<GigId> {
        self.docs
            .iter()
            .flatten()
            .filter(|doc| doc.state == GigState::Live)
            .map(|doc| doc.id)
            .collect()
    }

    /// Takes out the gigs that have ended by `now` (no catalogue search shows them); returns
    /// how many.
    pub fn retire_ended(&mut self, now: OffsetDateTime) -> usize {
        let ended: Vec<GigId> = self
            .docs
            .iter()
            .flatten()
            .filter(|doc| doc.status_at(now) == GigStatus::Ended)
            .map(|doc| doc.id)
            .collect();
        for id in &ended {
            self.remove(*id);
        }
        ended.len()
    }

    /// The first `limit` gigs matching `query` and `filter` after `after`, in rank order (see
    /// [`super::rank`]).
    pub fn search(
        &self,
        query: &SearchQuery,
        filter: &Filter,
        after: Option<Position>,
        limit: usize,
    ) -> Vec<Position> {
        if query.words.is_empty() || limit == 0 {
            return Vec::new();
        }
        let marks: Vec<Marks> = query.words.iter().map(|w| self.mark(w)).collect();
        let Some(rarest) = marks.iter().min_by_key(|m| m.touched.len()) else {
            return Vec::new();
        };
        let mut found: Vec<Position> = Vec::new();
        'docs: for &slot in &rarest.touched {
            let mut score: Score = 0;
            for word in &marks {
                let Some((kind, fields)) = word.get(slot) else {
                    continue 'docs;
                };
                score = score.saturating_add(word_score(kind, fields.count_ones()));
            }
            let Some(doc) = self.docs.get(slot as usize).and_then(Option::as_ref) else {
                continue;
            };
            if !doc.passes(filter) {
                continue;
            }
            let live = doc.status_at(filter.now) == GigStatus::Live;
            let position = Position::from_key_parts(live, score, doc.start, doc.id);
            if after.is_none_or(|after| position > after) {
                found.push(position);
            }
        }
        // Only the first `limit` are ordered: a common word matches most gigs.
        if found.len() > limit {
            found.select_nth_unstable(limit - 1);
            found.truncate(limit);
        }
        found.sort_unstable();
        found
    }

    /// Marks every gig `word` matches, and how.
    fn mark(&self, word: &Word) -> Marks {
        let mut marks = Marks {
            bytes: vec![0; self.docs.len()],
            touched: Vec::new(),
        };
        marks.add(self.words.exact(&word.text), MatchKind::Exact);
        if word.prefix {
            for postings in self.words.extensions(&word.text) {
                marks.add(postings, MatchKind::Prefix);
            }
        }
        if word.typo {
            for postings in self.words.one_typo_away(&word.text) {
                marks.add(postings, MatchKind::Typo);
            }
        }
        marks
    }
}

/// How one query word matched each gig: a byte per [`DocId`] (the best [`MatchKind`] in the
/// high nibble, the fields in the low one; 0 for no match) and the gigs it matched.
struct Marks {
    bytes: Vec<u8>,
    touched: Vec<DocId>,
}

impl Marks {
    fn add(&mut self, postings: &[Posting], kind: MatchKind) {
        for posting in postings {
            let Some(byte) = self.bytes.get_mut(posting.doc() as usize) else {
                continue;
            };
            if *byte == 0 {
                self.touched.push(posting.doc());
            }
            let best = (*byte >> 4).max(kind as u8);
            *byte = (best << 4) | (*byte & 0x0f) | posting.fields();
        }
    }

    fn get(&self, slot: DocId) -> Option<(MatchKind, u8)> {
        let byte = *self.bytes.get(slot as usize)?;
        let kind = match byte >> 4 {
            3 => MatchKind::Exact,
            2 => MatchKind::Prefix,
            1 => MatchKind::Typo,
            _ => return None,
        };
        Some((kind, byte & 0x0f))
    }
}

#[cfg(test)]
mod tests;
