//! Gigs: live online shows with a price, a time window and (optionally) a capacity.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;

use crate::{AccountId, GigId, Money, PaymentPointer};

/// What kind of show a gig is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Stand-up and other comedy.
    Comedy,
    /// Theatre.
    Play,
    /// Dance.
    Dance,
    /// Workouts, yoga and the like.
    Fitness,
    /// Concerts and DJ sets.
    Music,
    /// Classes and hands-on sessions.
    Workshop,
}

impl Category {
    /// Every category, in the order menus show them.
    pub const ALL: [Category; 6] = [
        Category::Comedy,
        Category::Play,
        Category::Dance,
        Category::Fitness,
        Category::Music,
        Category::Workshop,
    ];

    /// The wire name (`comedy`, `play`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Comedy => "comedy",
            Category::Play => "play",
            Category::Dance => "dance",
            Category::Fitness => "fitness",
            Category::Music => "music",
            Category::Workshop => "workshop",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown category name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown category `{0}`, expected one of comedy, play, dance, fitness, music, workshop")]
pub struct UnknownCategory(pub String);

impl FromStr for Category {
    type Err = UnknownCategory;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCategory(s.to_owned()))
    }
}

/// Where a gig is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GigStatus {
    /// On sale; the creator has not started streaming yet.
    Scheduled,
    /// A publisher is connected.
    Live,
    /// The stream started once and is not connected now.
    Offline,
    /// Past its end time.
    Ended,
    /// Cancelled by its creator; every ticket was refunded.
    Cancelled,
}

impl GigStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            GigStatus::Scheduled => "scheduled",
            GigStatus::Live => "live",
            GigStatus::Offline => "offline",
            GigStatus::Ended => "ended",
            GigStatus::Cancelled => "cancelled",
        }
    }
}

impl FromStr for GigStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            GigStatus::Scheduled,
            GigStatus::Live,
            GigStatus::Offline,
            GigStatus::Ended,
            GigStatus::Cancelled,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
        .ok_or_else(|| {
            format!("unknown status `{s}`, expected scheduled, live, offline, ended or cancelled")
        })
    }
}

/// A gig as the API shows it. `stream_key` and `rtmp_url` are present only in its creator's
/// own views.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Gig {
    /// The gig's id.
    pub id: GigId,
    /// The account that registered it.
    pub creator_id: AccountId,
    /// The performer's name as billed.
    pub creator_name: String,
    /// Title of the show.
    pub title: String,
    /// What the audience can expect.
    pub description: String,
    /// Kind of show.
    pub category: Category,
    /// Ticket price in micro-USD.
    pub price: Money,
    /// When the show starts.
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// When the show ends.
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    /// Seats on sale; `null` means unlimited.
    pub capacity: Option<u32>,
    /// Seats still on sale; `null` when unlimited.
    pub seats_left: Option<u32>,
    /// Where earnings go, e.g. `$wallet.example/alice`.
    pub payment_pointer: PaymentPointer,
    /// The HTTPS URL the payment pointer resolves to.
    pub payment_url: String,
    /// Streaming micropayment rate, micro-USD per hour watched.
    pub micropayment_rate: Money,
    /// Where the gig is in its life.
    pub status: GigStatus,
    /// When it was registered.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Hours after the end during which ticket holders may watch the recording; 0 = no replay.
    pub replay_hours: u32,
    /// Until when the recording can be replayed: present once a show that went on air has a
    /// replay window (not cancelled, `replay_hours` above 0, recording not deleted).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub replay_until: Option<OffsetDateTime>,
    /// The secret key to publish with (creator only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_key: Option<StreamKey>,
    /// The RTMP server URL to put in OBS (creator only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtmp_url: Option<String>,
}

/// A secret stream key. Its `Debug` is redacted so it never reaches a log by accident.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct StreamKey(pub String);

impl StreamKey {
    /// The key itself, for OBS or an RTMP URL.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for StreamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StreamKey(<redacted>)")
    }
}

/// `POST /gigs`: the registration form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewGig {
    /// The performer's name as billed: at most 80 characters, not blank, no control characters;
    /// white space around it is trimmed.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 80))]
    pub creator_name: String,
    /// Title: at most 120 characters, not blank, no control characters; trimmed.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 120))]
    pub title: String,
    /// Description: at most 5,000 characters; newlines and tabs are the only control
    /// characters allowed; trimmed.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 5000))]
    pub description: String,
    /// Kind of show.
    pub category: Category,
    /// Ticket price in micro-USD, 0 to $10,000.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = i64, minimum = 0, maximum = 10_000_000_000_i64)
    )]
    pub price: Money,
    /// Start: not in the past (a minute of clock skew is allowed) and at most two years ahead.
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// End: after the start and at most 24 hours later.
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    /// Seats on sale, 1–1,000,000; absent or `null` for unlimited.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1_000_000))]
    pub capacity: Option<u32>,
    /// Where earnings go, e.g. `$wallet.example/alice`: at most 256 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 256))]
    pub payment_pointer: String,
    /// Micro-USD per hour watched, 0 to $36; absent or `null` for the server's default.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<i64>, minimum = 0, maximum = 36_000_000)
    )]
    pub micropayment_rate: Option<Money>,
    /// Hours after the end during which ticket holders may watch the recording, 0 (no replay)
    /// to 8,760 (a year); absent or `null` for 48.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 8760))]
    pub replay_hours: Option<u32>,
}

/// `PATCH /gigs/{id}`: fields to change; absent fields (and `null` ones, except `capacity`)
/// stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GigPatch {
    /// New billed name (the rules of `NewGig`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 80))]
    pub creator_name: Option<String>,
    /// New title (the rules of `NewGig`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 120))]
    pub title: Option<String>,
    /// New description (the rules of `NewGig`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 5000))]
    pub description: Option<String>,
    /// New category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    /// New price for tickets sold from now on, 0 to $10,000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<i64>, minimum = 0, maximum = 10_000_000_000_i64)
    )]
    pub price: Option<Money>,
    /// New start (the rules of `NewGig`; an unchanged start may be in the past).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub starts_at: Option<OffsetDateTime>,
    /// New end (after the start, at most 24 hours later).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub ends_at: Option<OffsetDateTime>,
    /// New capacity: a number, or `null` for unlimited; never below the tickets already sold.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_or_null"
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<u32>, minimum = 1, maximum = 1_000_000)
    )]
    pub capacity: Option<Option<u32>>,
    /// New payment pointer (the rules of `NewGig`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 256))]
    pub payment_pointer: Option<String>,
    /// New micropayment rate, 0 to $36 per hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<i64>, minimum = 0, maximum = 36_000_000)
    )]
    pub micropayment_rate: Option<Money>,
    /// New replay window in hours, 0 to 8,760; may be changed after the show too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 8760))]
    pub replay_hours: Option<u32>,
}

/// Tells a field that is present (even as `null`) from one that is absent.
fn present_or_null<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `POST /gigs/{id}/stream-key`: the fresh key after a rotation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamKeyInfo {
    /// The new secret key; the old one stops working at once.
    pub stream_key: StreamKey,
    /// The RTMP server URL for OBS.
    pub rtmp_url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_tells_null_capacity_from_absent() {
        let absent: GigPatch = serde_json::from_str("{}").unwrap();
        assert_eq!(absent.capacity, None);
        let null: GigPatch = serde_json::from_str(r#"{"capacity":null}"#).unwrap();
        assert_eq!(null.capacity, Some(None));
        let some: GigPatch = serde_json::from_str(r#"{"capacity":5}"#).unwrap();
        assert_eq!(some.capacity, Some(Some(5)));
    }

    #[test]
    fn stream_key_debug_is_redacted() {
        let key = StreamKey("secret-value".into());
        assert!(!format!("{key:?}").contains("secret"));
    }
}
