//! The ledger's rules for the embedded store, beside their Lua twin (`ledger.lua`, for Redis):
//! a transaction books only if its postings sum to zero; postings of zero are skipped; each
//! remaining posting moves its account's balance in order (two postings on one account see each
//! other); no user wallet may end a posting below zero; a balance that would overflow refuses
//! the whole transaction. Nothing is written unless every posting passes.
//!
//! The conformance suite and the ledger property tests (`tests/`) run the same cases through
//! both backends, so the two implementations cannot drift apart unnoticed.

use std::collections::HashMap;

use bookmygig_api::Money;

use super::{LedgerAccount, Posting, Transaction};
use crate::{StoreError, StoreResult};

/// A posting that passed the rules, with the balance its account will have after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedPosting<'a> {
    /// The posting.
    pub posting: &'a Posting,
    /// Its account's balance once it is booked.
    pub balance_after: Money,
}

/// Checks `transaction` against the rules, reading each account's current balance once with
/// `balance_of`, and returns what booking it will write, in order.
///
/// # Errors
/// [`StoreError::Unbalanced`], [`StoreError::InsufficientFunds`] (the wallet's balance before
/// the posting that would take it below zero, and what that posting needed), a backend error
/// for an overflowing balance, or whatever `balance_of` fails with.
pub fn plan<'a>(
    transaction: &'a Transaction,
    mut balance_of: impl FnMut(&LedgerAccount) -> StoreResult<Money>,
) -> StoreResult<Vec<PlannedPosting<'a>>> {
    if !transaction.is_balanced() {
        return Err(StoreError::Unbalanced);
    }
    let mut running: HashMap<LedgerAccount, Money> = HashMap::new();
    let mut planned = Vec::with_capacity(transaction.postings.len());
    for posting in transaction
        .postings
        .iter()
        .filter(|p| p.amount != Money::ZERO)
    {
        let current = match running.get(&posting.account) {
            Some(balance) => *balance,
            None => balance_of(&posting.account)?,
        };
        let next = current
            .checked_add(posting.amount)
            .ok_or_else(|| StoreError::backend("balance overflow"))?;
        if posting.account.is_user_wallet() && next < Money::ZERO {
            return Err(StoreError::InsufficientFunds {
                balance: current,
                needed: Money(-posting.amount.0),
            });
        }
        running.insert(posting.account, next);
        planned.push(PlannedPosting {
            posting,
            balance_after: next,
        });
    }
    Ok(planned)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use bookmygig_api::{AccountId, EntryKind, TransactionId};
    use time::OffsetDateTime;

    use super::*;

    fn transaction(postings: &[(LedgerAccount, i64)]) -> Transaction {
        Transaction {
            id: TransactionId::new(),
            kind: EntryKind::TicketSale,
            postings: postings
                .iter()
                .map(|&(account, amount)| Posting {
                    account,
                    amount: Money(amount),
                })
                .collect(),
            memo: String::new(),
            gig_id: None,
            at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn balances(of: &[(LedgerAccount, i64)]) -> impl FnMut(&LedgerAccount) -> StoreResult<Money> {
        let known: HashMap<_, _> = of.iter().copied().collect();
        move |account| Ok(Money(known.get(account).copied().unwrap_or(0)))
    }

    #[test]
    fn a_wallet_may_reach_exactly_zero_but_not_below() {
        let ann = LedgerAccount::User(AccountId::new());
        let all = transaction(&[(ann, -500), (LedgerAccount::PlatformRevenue, 500)]);
        let planned = plan(&all, balances(&[(ann, 500)])).unwrap();
        assert_eq!(planned[0].balance_after, Money::ZERO);
        let more = transaction(&[(ann, -501), (LedgerAccount::PlatformRevenue, 501)]);
        assert!(matches!(
            plan(&more, balances(&[(ann, 500)])),
            Err(StoreError::InsufficientFunds { balance, needed })
                if balance == Money(500) && needed == Money(501)
        ));
    }

    #[test]
    fn two_postings_on_one_wallet_see_each_other_and_zero_postings_are_skipped() {
        let ann = LedgerAccount::User(AccountId::new());
        let bob = LedgerAccount::User(AccountId::new());
        let split = transaction(&[(ann, -300), (bob, 0), (ann, -300), (bob, 600)]);
        assert!(matches!(
            plan(&split, balances(&[(ann, 500)])),
            Err(StoreError::InsufficientFunds { balance, .. }) if balance == Money(200)
        ));
        let planned = plan(&split, balances(&[(ann, 600)])).unwrap();
        let after: Vec<_> = planned.iter().map(|p| p.balance_after.0).collect();
        assert_eq!(after, [300, 0, 600], "the zero posting is not booked");
    }

    #[test]
    fn only_user_wallets_have_a_floor_and_unbalanced_or_overflowing_transactions_are_refused() {
        let ann = LedgerAccount::User(AccountId::new());
        let top_up = transaction(&[(LedgerAccount::ExternalTopups, -900), (ann, 900)]);
        let planned = plan(&top_up, balances(&[])).unwrap();
        assert_eq!(planned[0].balance_after, Money(-900));
        let unbalanced = transaction(&[(LedgerAccount::ExternalTopups, -900), (ann, 901)]);
        assert!(matches!(
            plan(&unbalanced, balances(&[])),
            Err(StoreError::Unbalanced)
        ));
        let overflow = transaction(&[(LedgerAccount::ExternalTopups, -1), (ann, 1)]);
        assert!(matches!(
            plan(&overflow, balances(&[(ann, i64::MAX)])),
            Err(StoreError::Backend(_))
        ));
    }
}
