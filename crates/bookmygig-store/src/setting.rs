//! Platform settings: named JSON documents the server keeps for itself.
//!
//! Some state belongs to the platform rather than to an account or a gig, and every node must
//! see the same copy: the first is the platform's Open Payments outgoing-payment grant, whose
//! access token is rotated as it expires by whichever node notices first. A setting changes
//! only by compare-and-set on its `version` (see [`crate::Store::put_setting`] and
//! [`crate::Store::delete_setting`]), so of two nodes rotating from the same version exactly
//! one wins, and a stale writer never overwrites a newer token.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{StoreError, StoreResult};

/// Longest setting name, in characters (all ASCII, so also in bytes).
pub const MAX_SETTING_NAME: usize = 64;

/// Largest setting value, in bytes of its JSON serialization.
pub const MAX_SETTING_VALUE: usize = 64 * 1024;

/// A named document the platform keeps for itself (e.g. its Open Payments grant), with the
/// version every update bumps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SettingRecord {
    /// Its name: 1 to [`MAX_SETTING_NAME`] characters of `a-z`, `0-9`, `.`, `_` and `-`.
    pub name: String,
    /// The document, at most [`MAX_SETTING_VALUE`] bytes as JSON.
    pub value: serde_json::Value,
    /// 1 when created, one more on every update: what the next update must name.
    pub version: u64,
    /// When it was last written (the `now` of that call).
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Checks a setting name: 1 to [`MAX_SETTING_NAME`] characters of `a-z0-9._-`, so it is safe
/// as part of a Redis key and a redb key alike.
///
/// # Errors
/// [`StoreError::InvalidName`] otherwise.
pub fn check_setting_name(name: &str) -> StoreResult<()> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
    if name.is_empty() || name.len() > MAX_SETTING_NAME || !name.chars().all(allowed) {
        return Err(StoreError::InvalidName(name.chars().take(80).collect()));
    }
    Ok(())
}

/// Serializes a setting value, refusing one over [`MAX_SETTING_VALUE`] bytes.
///
/// # Errors
/// [`StoreError::TooLarge`] when the JSON is too long; [`StoreError::Backend`] when the value
/// cannot be serialized.
pub(crate) fn encode_setting_value(value: &serde_json::Value) -> StoreResult<String> {
    let json = serde_json::to_string(value).map_err(StoreError::backend)?;
    if json.len() > MAX_SETTING_VALUE {
        return Err(StoreError::TooLarge {
            size: json.len(),
            limit: MAX_SETTING_VALUE,
        });
    }
    Ok(json)
}

/// The version a write stores: 1 for a create, `expected + 1` for an update.
///
/// # Errors
/// [`StoreError::Backend`] when the version would overflow (it never does in practice).
pub(crate) fn next_setting_version(expected: Option<u64>) -> StoreResult<u64> {
    match expected {
        None => Ok(1),
        Some(version) => version
            .checked_add(1)
            .ok_or_else(|| StoreError::backend("setting version overflow")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_lowercase_and_plain() {
        for good in ["a", "open-payments.payout-grant", "x_1", &"a".repeat(64)] {
            assert!(check_setting_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Grant",
            "a:b",
            "a b",
            "café",
            "a/b",
            "{x}",
            &"a".repeat(65),
        ] {
            assert!(
                matches!(check_setting_name(bad), Err(StoreError::InvalidName(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn values_are_bounded_by_their_json() {
        // A string of n characters serializes to n + 2 bytes (its quotes).
        let fits = serde_json::Value::String("x".repeat(MAX_SETTING_VALUE - 2));
        assert_eq!(
            encode_setting_value(&fits).map(|json| json.len()).ok(),
            Some(MAX_SETTING_VALUE)
        );
        let over = serde_json::Value::String("x".repeat(MAX_SETTING_VALUE - 1));
        assert!(matches!(
            encode_setting_value(&over),
            Err(StoreError::TooLarge { size, limit: MAX_SETTING_VALUE }) if size == MAX_SETTING_VALUE + 1
        ));
    }
}
