//! The one error type of the client: what went wrong between a call and its typed answer.
//!
//! Server-side refusals arrive as RFC 9457 [`Problem`]s and are kept whole, so callers can match on
//! [`Problem::code`]; everything else (network, unexpected bodies, a bad base URL) has its own
//! variant.

use bookmygig_api::Problem;

/// Why a client call did not produce its typed answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a non-2xx status and an RFC 9457 problem body.
    #[error("{0}")]
    Problem(Problem),
    /// The server answered with a non-2xx status whose body is not a problem.
    #[error("unexpected HTTP status {status}: {body}")]
    UnexpectedStatus {
        /// The HTTP status code.
        status: u16,
        /// The body as text (possibly empty or truncated by the server).
        body: String,
    },
    /// The request could not be sent or its answer could not be read.
    #[error("transport error: {0}")]
    Transport(#[from] reqwest::Error),
    /// A 2xx answer whose body is not the expected JSON.
    #[error("could not decode the answer: {0}")]
    Decode(String),
    /// The base URL given to [`Client::new`](crate::Client::new) is not an `http(s)://` URL.
    #[error("invalid base URL: {0}")]
    InvalidBaseUrl(String),
    /// The trusted certificate authorities could not be set up (a bad `--cacert` file).
    #[error("{0}")]
    Tls(#[from] crate::TlsError),
}

impl ClientError {
    /// The problem the server answered with, if that is what this error is.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ClientError::Problem(problem) => Some(problem),
            _ => None,
        }
    }

    /// The HTTP status of the failed answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Problem(problem) => Some(problem.status),
            ClientError::UnexpectedStatus { status, .. } => Some(*status),
            ClientError::Transport(err) => err.status().map(|s| s.as_u16()),
            ClientError::Decode(_) | ClientError::InvalidBaseUrl(_) | ClientError::Tls(_) => None,
        }
    }
}

/// The result of every client call.
pub type Result<T> = std::result::Result<T, ClientError>;
