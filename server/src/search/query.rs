//! A catalogue search as people type it: words in any order, every one must match; the last
//! word also matches as the start of a longer word (search as you type); a word of
//! [`TYPO_MIN_CHARS`] letters or more also matches with one typo. Its size is bounded before
//! any work is done: at most [`SEARCH_MAX`] characters as sent and [`MAX_WORDS`] words.

use bookmygig_api::limits::SEARCH_MAX;

use super::text;
use super::typo::TYPO_MIN_CHARS;

/// Most words a search may have (each one costs a pass over its posting lists).
pub const MAX_WORDS: usize = 8;

/// Why a search text was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// More than [`SEARCH_MAX`] characters.
    #[error("search text is at most {max} characters", max = SEARCH_MAX)]
    TooLong,
    /// More than [`MAX_WORDS`] words (how many it has).
    #[error(
        "search text is at most {max} words (runs of letters and digits); it has {0}",
        max = MAX_WORDS
    )]
    TooManyWords(usize),
}

/// One word of a search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// Folded (see [`text::words`]).
    pub text: String,
    /// Whether longer words starting with it match too (the last word).
    pub prefix: bool,
    /// Whether words one edit away match too (long enough for a typo to mean anything).
    pub typo: bool,
}

/// A parsed search (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchQuery {
    /// Its words, in the order typed; none when the text has no letter or digit (which
    /// matches no gig).
    pub words: Vec<Word>,
}

impl SearchQuery {
    /// Reads a search text.
    ///
    /// # Errors
    /// When it is longer than [`SEARCH_MAX`] characters or has more than [`MAX_WORDS`] words.
    pub fn parse(raw: &str) -> Result<Self, QueryError> {
        // Counted before anything else, as sent, as the OpenAPI document's `maxLength` counts.
        if raw.chars().count() > SEARCH_MAX {
            return Err(QueryError::TooLong);
        }
        let words = text::words(raw);
        if words.len() > MAX_WORDS {
            return Err(QueryError::TooManyWords(words.len()));
        }
        let last = words.len().saturating_sub(1);
        let words = words
            .into_iter()
            .enumerate()
            .map(|(i, text)| Word {
                typo: text.chars().count() >= TYPO_MIN_CHARS,
                prefix: i == last,
                text,
            })
            .collect();
        Ok(SearchQuery { words })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_folded_and_only_the_last_is_a_prefix() {
        let query = SearchQuery::parse("Salsa, CAFÉ  nig").unwrap_or_else(|e| panic!("{e}"));
        let words: Vec<(&str, bool, bool)> = query
            .words
            .iter()
            .map(|w| (w.text.as_str(), w.prefix, w.typo))
            .collect();
        assert_eq!(
            words,
            [
                ("salsa", false, true),
                ("cafe", false, false),
                ("nig", true, false)
            ]
        );
    }

    #[test]
    fn text_without_letters_has_no_words() {
        assert_eq!(
            SearchQuery::parse("?!  --"),
            Ok(SearchQuery { words: Vec::new() })
        );
    }

    #[test]
    fn the_word_limit_is_enforced() {
        let eight = "a b c d e f g h";
        assert_eq!(SearchQuery::parse(eight).map(|q| q.words.len()), Ok(8));
        assert_eq!(
            SearchQuery::parse(&format!("{eight} i")),
            Err(QueryError::TooManyWords(9))
        );
        // Punctuation splits words too: a flood of one-letter words is still counted.
        let packed = "a.".repeat(50);
        assert_eq!(
            SearchQuery::parse(&packed),
            Err(QueryError::TooManyWords(50))
        );
    }

    #[test]
    fn the_length_limit_counts_characters_as_sent() {
        let at_limit = "é".repeat(SEARCH_MAX);
        assert!(
            SearchQuery::parse(&at_limit).is_ok(),
            "bytes are not counted"
        );
        assert_eq!(
            SearchQuery::parse(&"é".repeat(SEARCH_MAX + 1)),
            Err(QueryError::TooLong)
        );
        let spaces = " ".repeat(SEARCH_MAX + 1);
        assert_eq!(SearchQuery::parse(&spaces), Err(QueryError::TooLong));
    }
}
