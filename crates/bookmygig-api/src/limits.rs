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
/// Longest replay window, hours after the show's end (a year).
pub const REPLAY_HOURS_MAX: u32 = 8_760;
/// The replay window of a gig registered without one, hours.
pub const REPLAY_HOURS_DEFAULT: u32 = 48;
/// Largest page a list endpoint returns.
pub const PAGE_LIMIT_MAX: usize = 100;
/// Page size when the caller gives none.
pub const PAGE_LIMIT_DEFAULT: usize = 20;
/// Longest free-text search, in characters.
pub const SEARCH_MAX: usize = 100;
/// Largest request body the server reads, in bytes.
pub const BODY_MAX_BYTES: usize = 64 * 1024;

/// The rule of a handle as a regular expression (ECMA-262, Python and Rust read it alike), as the
/// OpenAPI document states it.
pub const HANDLE_PATTERN: &str = "^[a-z0-9_]{3,32}$";

/// A one-line text field (display name, creator name, title): at least one character that is
/// neither white space nor a control character, and no control character once the white space
/// around it is trimmed. White space is Rust's `char::is_whitespace`, control characters
/// `char::is_control`, spelled out so that every regular-expression dialect reads them alike.
/// Its length limit applies to the text as sent.
pub const LINE_PATTERN: &str = r"^[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$";

/// A description: like [`LINE_PATTERN`], but it may be empty (or all white space) and may hold
/// newlines and tabs.
pub const DESCRIPTION_PATTERN: &str = r"^(?:[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?)?[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$";

/// A payment pointer (see [`crate::PaymentPointer::parse`]): `$`, a host name of two or more
/// labels (letters, digits, inner `-`, at most 63 each), an optional port 1–65535 without
/// leading zeros, an optional path of letters, digits and `- . _ ~` segments; white space
/// around it is trimmed. At most [`PAYMENT_POINTER_MAX`] characters as sent.
pub const PAYMENT_POINTER_PATTERN: &str = r"^[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*\$[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?(?:/[A-Za-z0-9._~-]+)*/?[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$";

/// An `Idempotency-Key`: 1–128 visible ASCII characters.
pub const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~]{1,128}$";

/// A catalogue cursor: the `next_cursor` of a `GET /gigs` page, 32 characters of base64url.
pub const GIG_CURSOR_PATTERN: &str = "^[A-Za-z0-9_-]{32}$";

/// A wallet cursor: the `next_cursor` of a `GET /wallet` page, 1–19 digits.
pub const WALLET_CURSOR_PATTERN: &str = "^[0-9]{1,19}$";

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
