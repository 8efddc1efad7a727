//! The wallet screen's state: the balance, the history as loaded so far, the top-ups under way,
//! and the top-up dialog. Plain data; [`update`](super::update()) changes it.

use bookmygig_api::limits::TOPUP_MAX;
use bookmygig_api::{LedgerEntry, Money, TopUpStatus};

use super::line_editor::LineEditor;

/// A field of the top-up dialog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopUpField {
    /// The amount in dollars.
    Amount,
    /// The wallet address (or payment pointer) the money comes from.
    From,
}

/// Where a top-up is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopUpPhase {
    /// The fields are being typed.
    Editing,
    /// The request is under way.
    Sending,
    /// The server asked the wallet for the payment: waiting for its holder to approve it at
    /// the consent page, then for the money.
    Waiting {
        /// The top-up as last heard of.
        status: TopUpStatus,
        /// Why the last check of it failed, while checks go on.
        trouble: Option<String>,
    },
    /// Refused, declined, expired or failed; the text says why, under `field` when it is
    /// about one. Enter tries again.
    Failed {
        /// The field at fault, if one is.
        field: Option<TopUpField>,
        /// Why, in words.
        reason: String,
    },
}

/// The top-up dialog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopUpDialog {
    /// The amount in dollars, as typed.
    pub amount: LineEditor,
    /// The wallet address or payment pointer paying, as typed; empty for play money.
    pub from: LineEditor,
    /// The field keys edit.
    pub focus: TopUpField,
    /// Where the top-up is.
    pub phase: TopUpPhase,
    /// The top-up's idempotency key, kept for retries of the same amount from the same wallet.
    pub idempotency_key: String,
}

impl TopUpDialog {
    /// A fresh dialog, offering `from` (the wallet of the last top-up) as the wallet.
    pub fn new(from: Option<&str>, idempotency_key: String) -> Self {
        let mut editor = LineEditor::default();
        for c in from.unwrap_or_default().chars() {
            editor.apply(super::line_editor::Edit::Insert(c));
        }
        Self {
            amount: LineEditor::default(),
            from: editor,
            focus: TopUpField::Amount,
            phase: TopUpPhase::Editing,
            idempotency_key,
        }
    }

    /// The focused field's editor.
    pub fn focused(&mut self) -> &mut LineEditor {
        match self.focus {
            TopUpField::Amount => &mut self.amount,
            TopUpField::From => &mut self.from,
        }
    }

    /// The wallet typed, trimmed; `None` when empty (play money).
    ///
    /// # Errors
    /// When it is neither a wallet address (`https://…`) nor a payment pointer (`$…`).
    pub fn wallet(&self) -> Result<Option<String>, String> {
        let text = self.from.text();
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        if text.starts_with('$') || text.starts_with("https://") || text.starts_with("http://") {
            Ok(Some(text.to_owned()))
        } else {
            Err(format!(
                "`{text}`: a wallet address (https://wallet.example/you) or a payment pointer \
                 ($wallet.example/you)"
            ))
        }
    }

    /// The top-up being waited for, if one is.
    pub fn waiting(&self) -> Option<&TopUpStatus> {
        match &self.phase {
            TopUpPhase::Waiting { status, .. } => Some(status),
            _ => None,
        }
    }

    /// Whether the fields may change (nothing is under way).
    pub fn editable(&self) -> bool {
        matches!(self.phase, TopUpPhase::Editing | TopUpPhase::Failed { .. })
    }
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
    /// Top-ups from outside wallets, newest first: every unfinished one and the latest finished
    /// ones (as the server lists them, kept current while they are followed).
    pub topups: Vec<TopUpStatus>,
}

impl WalletView {
    /// Puts `status` in [`WalletView::topups`] in place of its older self, or first.
    pub fn note_topup(&mut self, status: &TopUpStatus) {
        match self.topups.iter_mut().find(|known| known.id == status.id) {
            Some(known) => known.clone_from(status),
            None => self.topups.insert(0, status.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::line_editor::Edit;

    fn dialog(text: &str) -> TopUpDialog {
        let mut dialog = TopUpDialog::new(None, "k".to_owned());
        for c in text.chars() {
            dialog.amount.apply(Edit::Insert(c));
        }
        dialog
    }

    #[test]
    fn the_wallet_is_an_address_a_pointer_or_nothing() {
        let from = |text: &str| TopUpDialog::new(Some(text), "k".to_owned()).wallet();
        assert_eq!(from(""), Ok(None));
        assert_eq!(from("  "), Ok(None));
        assert_eq!(
            from(" https://wallet.example/bob "),
            Ok(Some("https://wallet.example/bob".to_owned()))
        );
        assert_eq!(
            from("$wallet.example/bob"),
            Ok(Some("$wallet.example/bob".to_owned()))
        );
        assert!(from("wallet.example/bob").is_err());
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
