//! The vocabulary: every word some indexed gig holds, each with its posting list (which gigs
//! hold it, and in which fields). Three ways in: the word itself (a hash map), the words that
//! start with a prefix (a sorted map, walked from the prefix on), and the words one typo away
//! (deletion neighbourhoods, see [`super::typo`]). A word no gig holds any more is forgotten at
//! once, so edits cannot grow the vocabulary without bound.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher as _;

use super::typo::{self, TYPO_TARGET_MIN_CHARS};

/// A word's number in the vocabulary (reused once the word is forgotten).
pub type TermId = u32;

/// A gig's number in the index (see [`super::index::Index`]).
pub type DocId = u32;

/// Bits of a [`Posting`] that hold the fields (see [`super::index::Field`]).
const FIELD_BITS: u32 = 4;

/// Most gigs an index holds: a [`DocId`] and the fields share 32 bits.
pub const DOC_MAX: DocId = (1 << (32 - FIELD_BITS)) - 1;

/// One gig holding a word, and in which fields: packed in 32 bits, since the posting lists are
/// most of the index's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Posting(u32);

impl Posting {
    fn new(doc: DocId, fields: u8) -> Self {
        Posting((doc.min(DOC_MAX) << FIELD_BITS) | u32::from(fields & 0x0f))
    }

    /// The gig.
    pub fn doc(self) -> DocId {
        self.0 >> FIELD_BITS
    }

    /// The fields the word is in (see [`super::index::Field`]).
    pub fn fields(self) -> u8 {
        // The low four bits: always fits.
        u8::try_from(self.0 & 0x0f).unwrap_or(0)
    }
}

/// A word and the gigs that hold it, by ascending [`DocId`].
#[derive(Debug)]
struct Term {
    text: Box<str>,
    postings: Vec<Posting>,
}

/// Every word of the indexed gigs (see the module docs).
#[derive(Debug)]
pub struct Vocabulary {
    ids: HashMap<Box<str>, TermId>,
    sorted: BTreeMap<Box<str>, TermId>,
    terms: Vec<Option<Term>>,
    free: Vec<TermId>,
    /// Deletion-neighbourhood hash → the words of 4+ letters with that neighbour. Most hashes
    /// have one word: it is kept here, and any more in `more_neighbours`, which keeps the map
    /// at 16 bytes an entry.
    neighbours: HashMap<u64, TermId>,
    more_neighbours: HashMap<u64, Vec<TermId>>,
    /// Keyed per process, so nobody can choose words that collide.
    hasher: RandomState,
}

impl Default for Vocabulary {
    fn default() -> Self {
        Vocabulary {
            ids: HashMap::new(),
            sorted: BTreeMap::new(),
            terms: Vec::new(),
            free: Vec::new(),
            neighbours: HashMap::new(),
            more_neighbours: HashMap::new(),
            hasher: RandomState::new(),
        }
    }
}

impl Vocabulary {
    /// How many distinct words are indexed.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no word is indexed.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Records that `doc` holds `word` in `fields`; returns the word's id. Docs are added in
    /// any order, fastest in ascending order (as a rebuild adds them).
    pub fn add(&mut self, word: &str, doc: DocId, fields: u8) -> TermId {
        let id = match self.ids.get(word) {
            Some(&id) => id,
            None => self.insert(word),
        };
        if let Some(term) = self.term_mut(id) {
            let posting = Posting::new(doc, fields);
            if term.postings.last().is_none_or(|last| last.doc() < doc) {
                term.postings.push(posting);
            } else {
                match term.postings.binary_search_by_key(&doc, |p| p.doc()) {
                    Ok(at) => {
                        let merged = term.postings[at].fields() | fields;
                        term.postings[at] = Posting::new(doc, merged);
                    }
                    Err(at) => term.postings.insert(at, posting),
                }
            }
        }
        id
    }

    /// Forgets that `doc` holds word `id`; the word goes when no gig holds it any more.
    pub fn remove(&mut self, id: TermId, doc: DocId) {
        let Some(term) = self.term_mut(id) else {
            return;
        };
        if let Ok(at) = term.postings.binary_search_by_key(&doc, |p| p.doc()) {
            term.postings.remove(at);
        }
        if term.postings.is_empty() {
            self.forget(id);
        }
    }

    /// The gigs holding exactly `word`.
    pub fn exact(&self, word: &str) -> &[Posting] {
        self.ids
            .get(word)
            .and_then(|&id| self.term(id))
            .map_or(&[], |term| &term.postings)
    }

    /// The posting lists of the words that start with `prefix` and are longer than it, in
    /// word order.
    pub fn extensions<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a [Posting]> + 'a {
        self.sorted
            .range::<str, _>((
                std::ops::Bound::Excluded(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(move |(word, _)| word.starts_with(prefix))
            .filter_map(|(_, &id)| self.term(id))
            .map(|term| term.postings.as_slice())
    }

    /// The posting lists of the words exactly one edit from `word` (not `word` itself). Only
    /// words of 4+ letters are reachable (see [`TYPO_TARGET_MIN_CHARS`]).
    pub fn one_typo_away(&self, word: &str) -> Vec<&[Posting]> {
        let chars: Vec<char> = word.chars().collect();
        let mut seen: Vec<TermId> = Vec::new();
        for neighbour in typo::neighbourhood(&chars) {
            let key = self.hasher.hash_one(&neighbour);
            let first = self.neighbours.get(&key).into_iter();
            let more = self.more_neighbours.get(&key).into_iter().flatten();
            for &id in first.chain(more) {
                if !seen.contains(&id) {
                    seen.push(id);
                }
            }
        }
        seen.into_iter()
            .filter_map(|id| self.term(id))
            .filter(|term| {
                let theirs: Vec<char> = term.text.chars().collect();
                theirs != chars && typo::within_one_edit(&chars, &theirs)
            })
            .map(|term| term.postings.as_slice())
            .collect()
    }

    fn term(&self, id: TermId) -> Option<&Term> {
        self.terms.get(id as usize)?.as_ref()
    }

    fn term_mut(&mut self, id: TermId) -> Option<&mut Term> {
        self.terms.get_mut(id as usize)?.as_mut()
    }

    /// Adds a word no gig held yet.
    fn insert(&mut self, word: &str) -> TermId {
        let term = Term {
            text: word.into(),
            postings: Vec::new(),
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.terms[id as usize] = Some(term);
                id
            }
            None => {
                // Never near u32::MAX: a word is forgotten when its last gig goes.
                let id = TermId::try_from(self.terms.len()).unwrap_or(TermId::MAX);
                self.terms.push(Some(term));
                id
            }
        };
        self.ids.insert(word.into(), id);
        self.sorted.insert(word.into(), id);
        for key in self.neighbour_keys(word) {
            match self.neighbours.entry(key) {
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(id);
                }
                std::collections::hash_map::Entry::Occupied(_) => {
                    self.more_neighbours.entry(key).or_default().push(id);
                }
            }
        }
        id
    }

    /// Drops a word no gig holds any more.
    fn forget(&mut self, id: TermId) {
        let Some(term) = self.terms.get_mut(id as usize).and_then(Option::take) else {
            return;
        };
        self.ids.remove(&term.text);
        self.sorted.remove(&term.text);
        for key in self.neighbour_keys(&term.text) {
            if self.neighbours.get(&key) == Some(&id) {
                let successor = self.more_neighbours.get_mut(&key).and_then(Vec::pop);
                match successor {
                    Some(next) => {
                        self.neighbours.insert(key, next);
                    }
                    None => {
                        self.neighbours.remove(&key);
                    }
                }
            } else if let Some(more) = self.more_neighbours.get_mut(&key) {
                more.retain(|&other| other != id);
            }
            if self.more_neighbours.get(&key).is_some_and(Vec::is_empty) {
                self.more_neighbours.remove(&key);
            }
        }
        self.free.push(id);
    }

    /// The neighbourhood hashes a word is filed under: none for words too short for any typo
    /// to reach.
    fn neighbour_keys(&self, word: &str) -> Vec<u64> {
        let chars: Vec<char> = word.chars().collect();
        if chars.len() < TYPO_TARGET_MIN_CHARS {
            return Vec::new();
        }
        let mut keys: Vec<u64> = typo::neighbourhood(&chars)
            .map(|neighbour| self.hasher.hash_one(&neighbour))
            .collect();
        // "aaaaa" has one deletion five times: filed once.
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(postings: &[Posting]) -> Vec<DocId> {
        postings.iter().map(|p| p.doc()).collect()
    }

    #[test]
    fn postings_stay_sorted_and_merge_fields() {
        let mut words = Vocabulary::default();
        words.add("jazz", 5, 1);
        words.add("jazz", 2, 1);
        words.add("jazz", 9, 1);
        words.add("jazz", 5, 4);
        assert_eq!(docs(words.exact("jazz")), [2, 5, 9]);
        assert_eq!(words.exact("jazz")[1].fields(), 5);
        assert!(words.exact("jaz").is_empty());
    }

    #[test]
    fn a_posting_packs_the_gig_and_its_fields() {
        let posting = Posting::new(DOC_MAX, 0x0f);
        assert_eq!((posting.doc(), posting.fields()), (DOC_MAX, 0x0f));
        assert_eq!(
            Posting::new(7, 0xf4).fields(),
            4,
            "only the four field bits"
        );
        assert_eq!(std::mem::size_of::<Posting>(), 4);
    }

    #[test]
    fn extensions_are_the_longer_words_with_the_prefix() {
        let mut words = Vocabulary::default();
        for (i, word) in ["sal", "salsa", "salt", "samba", "sa"].iter().enumerate() {
            words.add(word, i as DocId, 1);
        }
        let found: Vec<Vec<DocId>> = words.extensions("sal").map(docs).collect();
        assert_eq!(found, [vec![1], vec![2]]);
        assert_eq!(words.extensions("x").count(), 0);
    }

    #[test]
    fn typos_reach_words_one_edit_away_and_no_further() {
        let mut words = Vocabulary::default();
        for (i, word) in ["salsa", "salsas", "sala", "slasa", "pasta", "jazz"]
            .iter()
            .enumerate()
        {
            words.add(word, i as DocId, 1);
        }
        let mut found: Vec<DocId> = words
            .one_typo_away("salsa")
            .into_iter()
            .flat_map(docs)
            .collect();
        found.sort_unstable();
        assert_eq!(found, [1, 2, 3], "not salsa itself, not pasta (two edits)");
    }

    #[test]
    fn a_word_without_gigs_is_forgotten_everywhere() {
        let mut words = Vocabulary::default();
        let salsa = words.add("salsa", 1, 1);
        words.add("salsa", 2, 1);
        words.add("salso", 3, 1);
        words.remove(salsa, 1);
        assert_eq!(docs(words.exact("salsa")), [2]);
        words.remove(salsa, 2);
        assert!(words.exact("salsa").is_empty());
        let extended: Vec<Vec<DocId>> = words.extensions("sals").map(docs).collect();
        assert_eq!(extended, [vec![3]], "only salso is left");
        assert_eq!(words.len(), 1);
        let found: Vec<DocId> = words
            .one_typo_away("salsa")
            .into_iter()
            .flat_map(docs)
            .collect();
        assert_eq!(
            found,
            [3],
            "salso is still reached through the shared neighbours"
        );
        let again = words.add("samba", 4, 1);
        assert_eq!(again, salsa, "the id is reused");
        assert_eq!(docs(words.exact("samba")), [4]);
    }
}
