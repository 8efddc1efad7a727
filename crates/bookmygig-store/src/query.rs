//! Catalogue queries: filters and the cursor, shared by both backends so they agree exactly.

use base64::Engine as _;
use bookmygig_api::{Category, GigId, GigStatus, Money};
use time::OffsetDateTime;

use crate::GigRecord;

/// Which statuses a catalogue query wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFilter {
    /// Scheduled, live or offline: everything a person can still watch (the default).
    Upcoming,
    /// Exactly this status.
    Is(GigStatus),
}

impl StatusFilter {
    fn accepts(self, status: GigStatus) -> bool {
        match self {
            StatusFilter::Upcoming => matches!(
                status,
                GigStatus::Scheduled | GigStatus::Live | GigStatus::Offline
            ),
            StatusFilter::Is(wanted) => wanted == status,
        }
    }
}

/// Position in the catalogue: the (start, id) of the last gig seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GigCursor {
    /// Start of the last gig seen, in microseconds since the Unix epoch.
    pub starts_at_us: i64,
    /// Its id.
    pub id: GigId,
}

impl GigCursor {
    /// The cursor just after `gig`.
    pub fn after(gig: &GigRecord) -> Self {
        GigCursor {
            starts_at_us: unix_micros(gig.details.starts_at),
            id: gig.id,
        }
    }

    /// Opaque text form for `next_cursor`.
    pub fn encode(&self) -> String {
        let mut raw = Vec::with_capacity(24);
        raw.extend_from_slice(&self.starts_at_us.to_be_bytes());
        raw.extend_from_slice(self.id.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    /// Reads a cursor made by [`GigCursor::encode`]; `None` if it is not one.
    pub fn decode(text: &str) -> Option<Self> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        let (time, id) = raw.split_at_checked(8)?;
        Some(GigCursor {
            starts_at_us: i64::from_be_bytes(time.try_into().ok()?),
            id: GigId::from_bytes(id.try_into().ok()?),
        })
    }

    /// Whether `gig` comes after this cursor in catalogue order.
    pub fn precedes(&self, gig: &GigRecord) -> bool {
        GigCursor::after(gig) > *self
    }
}

/// The ranges a catalogue query may set on a gig's start and price, each end optional; the
/// default sets none. Both backends scan only the starts inside the range, and the search index
/// checks the same [`GigBounds::accepts`], so every path answers alike.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GigBounds {
    /// Only gigs starting at or after this instant.
    pub from: Option<OffsetDateTime>,
    /// Only gigs starting before this instant (the end is left out, so adjacent ranges do not
    /// overlap).
    pub to: Option<OffsetDateTime>,
    /// Only gigs costing at least this much.
    pub min_price: Option<Money>,
    /// Only gigs costing at most this much (`Money(0)`: free gigs only).
    pub max_price: Option<Money>,
}

impl GigBounds {
    /// Whether a gig starting at `starts_at` and costing `price` is inside every range set.
    pub fn accepts(&self, starts_at: OffsetDateTime, price: Money) -> bool {
        self.from.is_none_or(|from| starts_at >= from)
            && self.to.is_none_or(|to| starts_at < to)
            && self.min_price.is_none_or(|min| price >= min)
            && self.max_price.is_none_or(|max| price <= max)
    }
}

/// A catalogue query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GigQuery {
    /// Only this category.
    pub category: Option<Category>,
    /// Which statuses.
    pub status: StatusFilter,
    /// Case-insensitive text that the title, description or creator name must contain.
    pub text: Option<String>,
    /// Continue after this position.
    pub after: Option<GigCursor>,
    /// At most this many gigs.
    pub limit: usize,
    /// The clock reading that decides `ended`.
    pub now: OffsetDateTime,
    /// Ranges of start and price (none by default).
    pub bounds: GigBounds,
}

impl GigQuery {
    /// Whether `gig` belongs in the answer (ignoring cursor and limit).
    pub fn matches(&self, gig: &GigRecord) -> bool {
        if self.category.is_some_and(|c| c != gig.details.category) {
            return false;
        }
        if !self.status.accepts(gig.status_at(self.now)) {
            return false;
        }
        if !self
            .bounds
            .accepts(gig.details.starts_at, gig.details.price)
        {
            return false;
        }
        match &self.text {
            None => true,
            Some(text) => {
                let needle = text.to_lowercase();
                [
                    &gig.details.title,
                    &gig.details.description,
                    &gig.details.creator_name,
                ]
                .iter()
                .any(|hay| hay.to_lowercase().contains(&needle))
            }
        }
    }

    /// Where a scan by start time may begin: the cursor, or for upcoming gigs the earliest start
    /// that can still be running (a gig lasts at most a day), or the range's `from`, whichever is
    /// latest, so old gigs cost nothing.
    pub fn scan_from_us(&self) -> i64 {
        let mut floor = match self.status {
            StatusFilter::Upcoming => {
                unix_micros(self.now) - bookmygig_api::limits::GIG_HOURS_MAX * 3_600_000_000
            }
            StatusFilter::Is(_) => i64::MIN,
        };
        if let Some(from) = self.bounds.from {
            floor = floor.max(unix_micros(from));
        }
        match self.after {
            Some(cursor) => cursor.starts_at_us.max(floor),
            None => floor,
        }
    }

    /// Where a scan by start time may stop: the first start it need not read (the range's
    /// `to`), or `None` to read to the end.
    pub fn scan_until_us(&self) -> Option<i64> {
        self.bounds.to.map(unix_micros)
    }
}

/// Microseconds since the Unix epoch (the catalogue's sort key).
pub fn unix_micros(at: OffsetDateTime) -> i64 {
    // Any date the API accepts fits: i64 microseconds span ±292,000 years.
    (at.unix_timestamp_nanos() / 1_000) as i64
}
