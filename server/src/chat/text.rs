//! What a chat message's text may be: control characters stripped, whitespace trimmed, then
//! 1–500 characters (Unicode scalar values, the unit people and the clients count).

use bookmygig_api::limits::CHAT_TEXT_MAX;

/// Why a text was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextRefusal {
    /// Nothing left after stripping and trimming.
    #[error("the message is empty")]
    Empty,
    /// Over the limit.
    #[error("the message has {chars} characters; at most {CHAT_TEXT_MAX} are allowed")]
    TooLong {
        /// Characters after cleaning.
        chars: usize,
    },
}

/// The text as it will be stored and shown.
///
/// # Errors
/// [`TextRefusal`] when it is empty or too long after cleaning.
pub fn clean(raw: &str) -> Result<String, TextRefusal> {
    // Control characters (newlines and tabs too) could forge lines in terminal clients.
    let stripped: String = raw.chars().filter(|c| !c.is_control()).collect();
    let text = stripped.trim();
    let chars = text.chars().count();
    match chars {
        0 => Err(TextRefusal::Empty),
        n if n > CHAT_TEXT_MAX => Err(TextRefusal::TooLong { chars: n }),
        _ => Ok(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_strips_control_characters() {
        assert_eq!(clean("  hello\u{7} there\n ").as_deref(), Ok("hello there"));
        assert_eq!(clean("a\tb\r\nc\u{1b}[31m").as_deref(), Ok("abc[31m"));
        assert_eq!(clean("\u{0}\u{7f} \n"), Err(TextRefusal::Empty));
        assert_eq!(clean(""), Err(TextRefusal::Empty));
    }

    #[test]
    fn counts_characters_not_bytes() {
        let emoji = "🎤".repeat(CHAT_TEXT_MAX);
        assert_eq!(clean(&emoji).as_deref(), Ok(emoji.as_str()));
        let long = "x".repeat(CHAT_TEXT_MAX + 1);
        assert_eq!(clean(&long), Err(TextRefusal::TooLong { chars: 501 }));
        let padded = format!("  {}  ", "x".repeat(CHAT_TEXT_MAX));
        assert!(clean(&padded).is_ok(), "trimming comes before counting");
    }
}
