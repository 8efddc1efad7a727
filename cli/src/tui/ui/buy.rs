//! The buy dialog: what the ticket costs, what the wallet holds, and how the purchase went
//! (errors such as sold out are shown here, in place). A wallet that cannot cover the ticket
//! is offered a top-up, whose dialog is drawn over this one.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::popup;
use super::theme::Theme;
use super::wallet;
use crate::tui::app::{BuyDialog, BuyPhase, State};

/// Draws the dialog centred over `area`.
pub fn dialog(frame: &mut Frame<'_>, area: Rect, state: &State, dialog: &BuyDialog) {
    let theme = Theme::new(state.color);
    let gig = &dialog.gig;
    let field = |label: &'static str, value: Span<'static>| {
        Line::from(vec![
            Span::styled(format!(" {label:<9}"), theme.dim()),
            value,
        ])
    };
    let balance = match (&dialog.balance, &dialog.balance_error) {
        (Some(balance), _) => Span::raw(balance.to_string()),
        (None, Some(_)) => Span::styled("unknown", theme.dim()),
        (None, None) => Span::styled("loading…", theme.dim()),
    };
    let shortfall = dialog.shortfall();
    let mut lines = vec![
        Line::from(Span::styled(format!(" {}", gig.title), theme.accent())),
        Line::from(format!(" by {}", gig.creator_name)),
        Line::from(format!(
            " {}, {}",
            state.zone.date(gig.starts_at),
            state.zone.range(gig.starts_at, gig.ends_at)
        )),
        Line::from(""),
        field("Price", Span::raw(gig.price.to_string())),
        field("Balance", balance),
        Line::from(""),
    ];
    let plain = ratatui::style::Style::new();
    let (message, style, keys) = match (&dialog.phase, shortfall) {
        (BuyPhase::Failed(reason), Some(shortfall)) => (
            format!("{reason} ({shortfall} more is needed: y tops up, then buys.)"),
            theme.error(),
            " y top up and buy · n cancel",
        ),
        (BuyPhase::Confirm, Some(shortfall)) => (
            format!(
                "{} more is needed: top up your wallet here, and the ticket is bought as soon \
                 as the money is in.",
                shortfall
            ),
            plain,
            " y top up and buy · n cancel",
        ),
        (BuyPhase::Confirm, None) => (
            format!("Buy a ticket for {}?", gig.price),
            plain,
            " y buy · n cancel",
        ),
        (BuyPhase::ToppingUp, _) => (
            "Topping up: the ticket is bought as soon as the money is in.".to_owned(),
            plain,
            " n close",
        ),
        (BuyPhase::Buying, _) => ("Buying…".to_owned(), plain, " n close"),
        (BuyPhase::Failed(reason), None) => {
            (reason.clone(), theme.error(), " y try again · n close")
        }
        (BuyPhase::Bought, _) => (
            "Ticket bought. Enjoy the show!".to_owned(),
            theme.accent(),
            " Enter close",
        ),
    };
    let width = area.width.clamp(20, 56);
    // Wrapped here rather than by the paragraph, so the dialog's height counts every line and
    // the keys at the bottom are never cut off by a long error.
    let text_width = usize::from(width.saturating_sub(4)).max(1);
    for part in wrap_words(&message, text_width) {
        lines.push(Line::from(Span::styled(format!(" {part}"), style)));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(keys, theme.dim())));
    let height = u16::try_from(lines.len() + 2)
        .unwrap_or(u16::MAX)
        .min(area.height);
    popup::centred(frame, area, (width, height), "Buy a ticket", lines, &theme);
    if let Some(top_up) = &state.wallet.top_up {
        wallet::top_up(frame, area, state, top_up, &theme);
    }
}

/// `text` in lines of at most `width` characters, broken between words (a word longer than a
/// line is cut).
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            lines.push(word.drain(..width).collect());
        }
        let word: String = word.into_iter().collect();
        if word.is_empty() {
            continue;
        }
        let needed = line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
        if needed > width && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::wrap_words;

    #[test]
    fn words_wrap_at_the_width_and_long_words_are_cut() {
        assert_eq!(
            wrap_words("Your own gig: creators watch", 12),
            ["Your own", "gig:", "creators", "watch"]
        );
        assert_eq!(wrap_words("abcdefgh ij", 3), ["abc", "def", "gh", "ij"]);
        assert_eq!(wrap_words("abcdef", 3), ["abc", "def"]);
        assert_eq!(wrap_words("", 5), [""]);
    }
}
