//! Query parameters of the list endpoints.

use bookmygig_api::{Category, GigStatus};

/// Filters and paging of `GET /gigs`; every `None` field is left out of the query string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GigListQuery {
    /// Only gigs of this category.
    pub category: Option<Category>,
    /// Free-text search in titles, descriptions and billed names.
    pub q: Option<String>,
    /// Only gigs in this status (without it: scheduled, live and offline).
    pub status: Option<GigStatus>,
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
}
