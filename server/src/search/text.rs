//! Text as the index compares it: folded (compatibility decomposition, accents dropped, lower
//! case, the few full case foldings lower-casing lacks) and cut into words at everything that
//! is not a letter or a digit. Gigs and queries go through the same two functions, so whatever
//! one side writes the other side reads alike ("Café" and "CAFE" are the word `cafe`).

use unicode_normalization::UnicodeNormalization as _;
use unicode_normalization::char::is_combining_mark;

/// Longest word kept, in characters; a longer run of letters is cut to it, on both sides, so
/// a stranger's 5,000-letter "word" costs no more than any other.
pub const WORD_MAX_CHARS: usize = 32;

/// The words of `text`, folded, in order (repeats kept).
pub fn words(text: &str) -> Vec<String> {
    let mut split = Splitter::default();
    if text.is_ascii() {
        // The common case, without the decomposition's cost.
        for c in text.chars() {
            if c.is_ascii_alphanumeric() {
                split.push(c.to_ascii_lowercase());
            } else {
                split.end();
            }
        }
    } else {
        for c in text.nfkd().filter(|c| !is_combining_mark(*c)) {
            if c.is_alphanumeric() {
                fold(c).for_each(|folded| split.push(folded));
            } else {
                split.end();
            }
        }
    }
    split.end();
    split.words
}

/// Collects words one character at a time.
#[derive(Default)]
struct Splitter {
    words: Vec<String>,
    word: String,
    chars: usize,
}

impl Splitter {
    fn push(&mut self, c: char) {
        if self.chars < WORD_MAX_CHARS {
            self.word.push(c);
            self.chars += 1;
        }
    }

    fn end(&mut self) {
        if !self.word.is_empty() {
            self.words.push(std::mem::take(&mut self.word));
        }
        self.chars = 0;
    }
}

/// One decomposed, unaccented character in lower case, with the foldings that neither
/// decomposition nor `to_lowercase` make: letters with a stroke or a ligature of their own,
/// `ß`, the long and the final s.
fn fold(c: char) -> Folded {
    let replacement = match c {
        'ß' | 'ẞ' => "ss",
        'ſ' => "s",
        'ς' => "σ",
        'æ' | 'Æ' => "ae",
        'œ' | 'Œ' => "oe",
        'ø' | 'Ø' => "o",
        'đ' | 'Đ' => "d",
        'ł' | 'Ł' => "l",
        'ı' => "i",
        _ => return Folded::Lower(c.to_lowercase()),
    };
    Folded::Str(replacement.chars())
}

/// The characters one character folds to.
enum Folded {
    Lower(std::char::ToLowercase),
    Str(std::str::Chars<'static>),
}

impl Iterator for Folded {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        match self {
            Folded::Lower(chars) => chars.next(),
            Folded::Str(chars) => chars.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_accents_fold_away() {
        assert_eq!(words("Café CRÈME brûlée"), ["cafe", "creme", "brulee"]);
        assert_eq!(
            words("ÅNGSTRÖM Ærø Straße"),
            ["angstrom", "aero", "strasse"]
        );
        assert_eq!(words("Łódź Đakovo"), ["lodz", "dakovo"]);
        assert_eq!(words("ΣΟΦΟΣ σοφος"), ["σοφοσ", "σοφοσ"]);
    }

    #[test]
    fn compatibility_forms_fold_to_plain_letters() {
        assert_eq!(words("ﬁesta ＪＡＺＺ"), ["fiesta", "jazz"]);
    }

    #[test]
    fn words_split_on_everything_but_letters_and_digits() {
        assert_eq!(
            words("Rock'n'roll -- 90s/2000s, live!"),
            ["rock", "n", "roll", "90s", "2000s", "live"]
        );
        assert_eq!(words("東京 ロック"), ["東京", "ロック"]);
        assert!(words("  ...  !!! ").is_empty());
        assert!(words("").is_empty());
    }

    #[test]
    fn a_long_run_of_letters_is_cut_to_the_word_limit() {
        let long = "a".repeat(5_000);
        let cut = words(&format!("{long} b"));
        assert_eq!(cut.len(), 2);
        assert_eq!(cut[0].chars().count(), WORD_MAX_CHARS);
        let accented = "é".repeat(100);
        assert_eq!(words(&accented)[0], "e".repeat(WORD_MAX_CHARS));
    }
}
