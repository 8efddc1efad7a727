//! What a store call can refuse, and why.

use bookmygig_api::{Money, Ticket};

/// A refused or failed store call. The domain variants are answers the server turns into
/// precise problems; [`StoreError::Backend`] is an outage or a bug and never reaches clients
/// verbatim.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The handle belongs to another account.
    #[error("handle already taken")]
    HandleTaken,
    /// No such account.
    #[error("account not found")]
    AccountNotFound,
    /// No such gig.
    #[error("gig not found")]
    GigNotFound,
    /// The gig is cancelled or over, so it cannot be changed or sold.
    #[error("gig is cancelled or has ended")]
    GigClosed,
    /// Every seat is sold.
    #[error("sold out")]
    SoldOut,
    /// The buyer already holds a ticket for this gig.
    #[error("already holds a ticket")]
    AlreadyHolder(Box<Ticket>),
    /// The buyer is the gig's creator, who needs no ticket.
    #[error("the creator needs no ticket")]
    OwnGig,
    /// A user wallet would go below zero.
    #[error("insufficient funds: balance {balance}, needed {needed}")]
    InsufficientFunds {
        /// The wallet's balance now.
        balance: Money,
        /// What the step needs.
        needed: Money,
    },
    /// The idempotency key was used before for a different request.
    #[error("idempotency key reused for a different request")]
    IdempotencyKeyReused,
    /// A capacity below the tickets already sold.
    #[error("capacity below the {sold} tickets already sold")]
    CapacityBelowSold {
        /// Tickets sold so far.
        sold: u32,
    },
    /// A payment record is not as the call expects: its id is already taken (create), or it
    /// does not exist, has moved on to another version or is final (update). Re-read it.
    #[error("payment record conflict: it exists already, changed meanwhile or is final")]
    PaymentConflict,
    /// A platform setting is not as the call expects: a create found one already, or an
    /// update or delete found none or another version than the one it named. Nothing was
    /// written; re-read it and decide again.
    #[error("setting conflict: it exists already, is missing or changed meanwhile")]
    SettingConflict,
    /// A name the store refuses (a setting's: 1 to 64 characters of `a-z0-9._-`); it holds
    /// the name as given (at most its first 80 characters).
    #[error("invalid name `{0}`")]
    InvalidName(String),
    /// A value over the store's limit for it (a setting's: 64 KiB of JSON); nothing is written.
    #[error("too large: {size} bytes, at most {limit}")]
    TooLarge {
        /// Its size in bytes.
        size: usize,
        /// The most allowed, in bytes.
        limit: usize,
    },
    /// Postings that do not sum to zero: a bug in the caller.
    #[error("unbalanced transaction")]
    Unbalanced,
    /// The backend failed (I/O, connection, corrupt record).
    #[error("storage backend: {0}")]
    Backend(String),
}

impl StoreError {
    /// Wraps a backend failure.
    pub fn backend(error: impl std::fmt::Display) -> Self {
        StoreError::Backend(error.to_string())
    }
}
