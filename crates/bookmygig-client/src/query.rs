//! Query parameters of the list endpoints.

use bookmygig_api::{Category, GigStatus, Money};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Filters and paging of `GET /gigs`; every `None` field is left out of the query string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GigListQuery {
    /// Only gigs of this category.
    pub category: Option<Category>,
    /// Free-text search in titles, descriptions and billed names.
    pub q: Option<String>,
    /// Only gigs in this status (without it: scheduled, live and offline).
    pub status: Option<GigStatus>,
    /// Only gigs starting at or after this instant.
    pub from: Option<OffsetDateTime>,
    /// Only gigs starting before this instant (later than `from`).
    pub to: Option<OffsetDateTime>,
    /// Only gigs costing at least this.
    pub min_price: Option<Money>,
    /// Only gigs costing at most this (not below `min_price`).
    pub max_price: Option<Money>,
    /// Only free gigs (price 0); left out of the query string when false.
    pub free: bool,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Most items to return.
    pub limit: Option<usize>,
}

impl GigListQuery {
    /// The present fields as `(name, value)` pairs, in a stable order.
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(category) = self.category {
            pairs.push(("category", category.as_str().to_owned()));
        }
        if let Some(q) = &self.q {
            pairs.push(("q", q.clone()));
        }
        if let Some(status) = self.status {
            pairs.push(("status", status.as_str().to_owned()));
        }
        for (name, at) in [("from", self.from), ("to", self.to)] {
            // Formatting fails only for years past 9999, which the server refuses anyway:
            // left out then, as if not given.
            if let Some(text) = at.and_then(|at| at.format(&Rfc3339).ok()) {
                pairs.push((name, text));
            }
        }
        for (name, price) in [("min_price", self.min_price), ("max_price", self.max_price)] {
            if let Some(price) = price {
                pairs.push((name, price.0.to_string()));
            }
        }
        if self.free {
            pairs.push(("free", "true".to_owned()));
        }
        if let Some(cursor) = &self.cursor {
            pairs.push(("cursor", cursor.clone()));
        }
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_fields_are_left_out() {
        assert!(GigListQuery::default().pairs().is_empty());
        let query = GigListQuery {
            category: Some(Category::Music),
            limit: Some(5),
            ..GigListQuery::default()
        };
        assert_eq!(
            query.pairs(),
            vec![("category", "music".to_owned()), ("limit", "5".to_owned())]
        );
    }

    #[test]
    fn ranges_are_sent_as_rfc3339_and_micro_usd() {
        let query = GigListQuery {
            from: Some(time::macros::datetime!(2030-06-01 20:00 +02:00)),
            to: Some(time::macros::datetime!(2030-06-02 00:00 UTC)),
            min_price: Some(Money(0)),
            max_price: Some(Money::from_dollars(5)),
            free: true,
            ..GigListQuery::default()
        };
        assert_eq!(
            query.pairs(),
            vec![
                ("from", "2030-06-01T20:00:00+02:00".to_owned()),
                ("to", "2030-06-02T00:00:00Z".to_owned()),
                ("min_price", "0".to_owned()),
                ("max_price", "5000000".to_owned()),
                ("free", "true".to_owned()),
            ]
        );
    }
}
