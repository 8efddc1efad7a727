//! Limits that the server enforces and clients check before sending, so both agree.

use crate::Money;

/// Shortest handle, in characters.
pub const HANDLE_MIN: usize = 3;
/// Longest handle, in characters.
pub const HANDLE_MAX: usize = 32;
/// Longest display name, in characters.
pub const DISPLAY_NAME_MAX: usize = 64;
/// Shortest password, in characters.
pub const PASSWORD_MIN: usize = 8;
/// Longest password, in characters (bounds the hashing work a stranger can ask for).
pub const PASSWORD_MAX: usize = 128;
/// Longest creator name on a gig, in characters.
pub const CREATOR_NAME_MAX: usize = 80;
/// Longest gig title, in characters.
pub const TITLE_MAX: usize = 120;
/// Longest gig description, in characters.
pub const DESCRIPTION_MAX: usize = 5_000;
/// Longest payment pointer, in characters.
pub const PAYMENT_POINTER_MAX: usize = 256;
/// Largest capacity a gig may declare.
pub const CAPACITY_MAX: u32 = 1_000_000;
/// Highest ticket price: $10,000.
pub const PRICE_MAX: Money = Money::from_dollars(10_000);
/// Highest streaming micropayment rate a creator may set: $36 per hour.
pub const MICROPAYMENT_RATE_MAX: Money = Money::from_dollars(36);
/// Longest a gig may last, in hours.
pub const GIG_HOURS_MAX: i64 = 24;
/// Largest single development top-up: $10,000.
pub const TOPUP_MAX: Money = Money::from_dollars(10_000);
/// Longest `Idempotency-Key`, in bytes.
pub const IDEMPOTENCY_KEY_MAX: usize = 128;
/// Largest page a list endpoint returns.
pub const PAGE_LIMIT_MAX: usize = 100;
/// Page size when the caller gives none.
pub const PAGE_LIMIT_DEFAULT: usize = 20;
/// Longest free-text search, in characters.
pub const SEARCH_MAX: usize = 100;
/// Largest request body the server reads, in bytes.
pub const BODY_MAX_BYTES: usize = 64 * 1024;

/// Whether `handle` is 3–32 characters of `a-z`, `0-9` and `_`.
pub fn is_valid_handle(handle: &str) -> bool {
    (HANDLE_MIN..=HANDLE_MAX).contains(&handle.len())
        && handle
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Longest chat message, in characters after trimming.
pub const CHAT_TEXT_MAX: usize = 500;
/// Largest WebSocket frame (and message) the chat accepts, in bytes; a bigger one closes the
/// socket with 1009.
pub const CHAT_FRAME_MAX_BYTES: usize = 4 * 1024;
/// Messages `history` carries on join.
pub const CHAT_HISTORY_ON_JOIN: usize = 100;
/// Sockets one account may hold open in one gig's chat.
pub const CHAT_SOCKETS_PER_ACCOUNT: usize = 3;
/// Messages a person may send at once before the rate limit applies.
pub const CHAT_BURST: u32 = 5;
