//! Typo tolerance: which words are one edit apart (a letter inserted, deleted, replaced, or two
//! neighbours swapped), and the deletion neighbourhoods that find them without walking the
//! vocabulary (SymSpell's idea): a word and every way of deleting one of its letters. Two
//! words one edit apart always share a member of their neighbourhoods; a shared member does
//! not prove it (two deletions can hide two edits), so every candidate is checked with
//! [`within_one_edit`].

/// Shortest query word that may match with a typo, in characters: shorter words have too
/// many neighbours one edit away for a typo to mean anything.
pub const TYPO_MIN_CHARS: usize = 5;

/// Shortest indexed word a typo may reach: a query word of [`TYPO_MIN_CHARS`] with one letter
/// deleted.
pub const TYPO_TARGET_MIN_CHARS: usize = TYPO_MIN_CHARS - 1;

/// Whether `a` and `b` differ by at most one insertion, deletion, substitution or
/// transposition of neighbours (optimal string alignment distance ≤ 1).
pub fn within_one_edit(a: &[char], b: &[char]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 {
        return false;
    }
    let Some(first) = short.iter().zip(long).position(|(x, y)| x != y) else {
        // One is the other, or the other with one more letter at the end.
        return true;
    };
    if short.len() == long.len() {
        let replaced = short[first + 1..] == long[first + 1..];
        let swapped = first + 1 < short.len()
            && short[first] == long[first + 1]
            && short[first + 1] == long[first]
            && short[first + 2..] == long[first + 2..];
        replaced || swapped
    } else {
        short[first..] == long[first + 1..]
    }
}

/// The deletion neighbourhood of `word`: itself, then `word` without its i-th letter for
/// every i. Only words of [`TYPO_MIN_CHARS`] or more have deletions (a shorter one is reached
/// only as itself).
pub fn neighbourhood(word: &[char]) -> impl Iterator<Item = Vec<char>> + '_ {
    let deletions = if word.len() >= TYPO_MIN_CHARS {
        word.len()
    } else {
        0
    };
    std::iter::once(word.to_vec()).chain((0..deletions).map(move |i| {
        let mut deleted = Vec::with_capacity(word.len() - 1);
        deleted.extend_from_slice(&word[..i]);
        deleted.extend_from_slice(&word[i + 1..]);
        deleted
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(word: &str) -> Vec<char> {
        word.chars().collect()
    }

    fn one_edit(a: &str, b: &str) -> bool {
        let result = within_one_edit(&chars(a), &chars(b));
        assert_eq!(result, within_one_edit(&chars(b), &chars(a)), "{a} {b}");
        result
    }

    #[test]
    fn each_kind_of_edit_is_one() {
        assert!(one_edit("salsa", "salsa"));
        assert!(one_edit("salsa", "slasa"), "transposed");
        assert!(one_edit("salsa", "salso"), "replaced");
        assert!(one_edit("salsa", "salsas"), "inserted at the end");
        assert!(one_edit("salsa", "ssalsa"), "inserted at the start");
        assert!(one_edit("salsa", "sala"), "deleted");
        assert!(one_edit("café", "cafe"));
    }

    #[test]
    fn two_edits_are_not_one() {
        assert!(!one_edit("salsa", "slaso"));
        assert!(!one_edit("salsa", "sa"));
        assert!(!one_edit("salsa", "asssal"));
        assert!(!one_edit("abcd", "badc"), "two swaps");
        assert!(!one_edit("abc", "cba"));
        assert!(!one_edit("salsa", "salsaaa"));
    }

    #[test]
    fn words_one_edit_apart_share_a_neighbour() {
        for (a, b) in [
            ("salsa", "slasa"),
            ("salsa", "salso"),
            ("salsa", "salsas"),
            ("salsa", "alsa"),
            ("comedy", "comdey"),
        ] {
            let (a, b) = (chars(a), chars(b));
            let theirs: Vec<Vec<char>> = neighbourhood(&b).collect();
            assert!(
                neighbourhood(&a).any(|n| theirs.contains(&n)),
                "{a:?} {b:?}"
            );
        }
    }

    #[test]
    fn short_words_are_their_only_neighbour() {
        assert_eq!(neighbourhood(&chars("jazz")).count(), 1);
        assert_eq!(neighbourhood(&chars("salsa")).count(), 6);
    }
}
