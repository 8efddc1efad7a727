//! RFC 9457 problem details: the body of every error answer.

use serde::{Deserialize, Serialize};

/// An error answer (`application/problem+json`). `type` is a stable URI per kind of problem,
/// `detail` says in plain words what to change, and `field` names the offending wire field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    /// A URI naming the kind of problem, e.g. `https://bookmygig.dev/problems/sold-out`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind, the same for every instance of it.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this request, written for a person.
    pub detail: String,
    /// The wire name of the field at fault, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The media type of a [`Problem`] body.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Prefix of every problem `type` URI.
pub const PROBLEM_TYPE_BASE: &str = "https://bookmygig.dev/problems/";

impl Problem {
    /// The last segment of `type` (`sold-out`, `validation`, …), handy for matching.
    pub fn code(&self) -> &str {
        self.kind
            .strip_prefix(PROBLEM_TYPE_BASE)
            .unwrap_or(&self.kind)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{} ({}): {}", self.title, field, self.detail),
            None => write!(f, "{}: {}", self.title, self.detail),
        }
    }
}

impl std::error::Error for Problem {}
