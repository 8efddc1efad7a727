//! The wallet screen's state: the balance, the history as loaded so far, and the top-up
//! dialog. Plain data; [`update`](super::update()) changes it.

use bookmygig_api::limits::TOPUP_MAX;
use bookmygig_api::{LedgerEntry, Money};

use super::line_editor::LineEditor;

/// Where a top-up is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopUpPhase {
    /// The amount is being typed.
    Editing,
    /// The request is under way.
    Sending,
    /// The amount or the server refused; the text says why. Enter tries again.
    Failed(String),
}

/// The top-up dialog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopUpDialog {
    /// The amount in dollars, as typed.
    pub amount: LineEditor,
    /// Where the top-up is.
    pub phase: TopUpPhase,
    /// The top-up's idempotency key, kept for retries of the same amount.
    pub idempotency_key: String,
}

impl TopUpDialog {
    /// The typed amount, checked: more than $0 and at most the server's maximum.
    ///
    /// # Errors
    /// What is wrong with it, in words.
    pub fn amount(&self) -> Result<Money, String> {
        let text = self.amount.text();
        let amount: Money = text
            .trim()
            .trim_start_matches('$')
            .parse()
            .map_err(|err| format!("`{}`: {err}", text.trim()))?;
        if amount <= Money::ZERO || amount > TOPUP_MAX {
            return Err(format!(
                "more than $0.00 and at most {TOPUP_MAX} (got {amount})"
            ));
        }
        Ok(amount)
    }
}

/// The wallet screen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WalletView {
    /// The balance, once loaded.
    pub balance: Option<Money>,
    /// The history as loaded so far, newest first.
    pub entries: Vec<LedgerEntry>,
    /// The cursor of older entries; `None` once all are loaded.
    pub next_cursor: Option<String>,
    /// A request for the first page is under way.
    pub loading: bool,
    /// A request for older entries is under way.
    pub loading_more: bool,
    /// Why the last load failed.
    pub error: Option<String>,
    /// Index of the selected entry.
    pub selected: usize,
    /// The top-up dialog, when open.
    pub top_up: Option<TopUpDialog>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::line_editor::Edit;

    fn dialog(text: &str) -> TopUpDialog {
        let mut amount = LineEditor::default();
        for c in text.chars() {
            amount.apply(Edit::Insert(c));
        }
        TopUpDialog {
            amount,
            phase: TopUpPhase::Editing,
            idempotency_key: "k".to_owned(),
        }
    }

    #[test]
    fn amounts_are_dollars_within_the_servers_bounds() {
        assert_eq!(dialog("20").amount(), Ok(Money::from_dollars(20)));
        assert_eq!(dialog(" $7.50 ").amount(), Ok(Money(7_500_000)));
        assert!(dialog("0").amount().is_err());
        assert!(dialog("10000.01").amount().is_err());
        assert!(dialog("lots").amount().is_err());
    }
}
