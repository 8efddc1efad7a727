//! Cursor-paginated lists.

use serde::{Deserialize, Serialize};

/// One page of a list, and the opaque cursor that fetches the next (absent on the last page).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    /// The items of this page, in the list's order.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` when there is none.
    pub next_cursor: Option<String>,
}
