//! `ApiError`: every way a request can fail, rendered as an RFC 9457 problem. Internal causes
//! travel in a response extension to the logging middleware and never reach the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bookmygig_api::Problem;
use bookmygig_api::problem::{PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE};
use bookmygig_store::StoreError;

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A field has a value the API does not accept.
    #[error("{field}: {detail}")]
    Validation {
        /// Wire name of the field.
        field: String,
        /// What is wrong and what would be right.
        detail: String,
    },
    /// The body is not the JSON the endpoint expects.
    #[error("invalid JSON: {detail}")]
    InvalidJson {
        /// Where parsing stopped.
        detail: String,
        /// The field at fault, when known.
        field: Option<String>,
    },
    /// The body is not `application/json`.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The body is over the limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// No valid credentials.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Authenticated but not allowed.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Nothing at this address.
    #[error("not found: {0}")]
    NotFound(String),
    /// The method is not served here.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The endpoint speaks WebSocket and the request is not an upgrade.
    #[error("upgrade required")]
    UpgradeRequired(String),
    /// The request conflicts with the current state.
    #[error("{code}: {detail}")]
    Conflict {
        /// The problem code (`sold-out`, `handle-taken`, …).
        code: &'static str,
        /// Short title of that code.
        title: &'static str,
        /// What happened, for a person.
        detail: String,
        /// The field at fault, when one is.
        field: Option<&'static str>,
    },
    /// The client asked too often (sign-in attempts, sign-ups, connections); it may retry
    /// after `retry_after_secs`, sent as `Retry-After`.
    #[error("{code}: {detail}")]
    TooManyRequests {
        /// The problem code (`too-many-attempts`, `too-many-sign-ups`, …).
        code: &'static str,
        /// Short title of that code.
        title: &'static str,
        /// What happened and when to try again, for a person.
        detail: String,
        /// Whole seconds until a retry can succeed (at least 1).
        retry_after_secs: u64,
    },
    /// A wallet cannot pay.
    #[error("insufficient funds: {0}")]
    InsufficientFunds(String),
    /// A bug; the cause is logged, the client sees a generic answer.
    #[error("internal error: {0}")]
    Internal(String),
    /// The store cannot be reached (Redis down, disk failing); the cause is logged, the client
    /// is told to retry shortly.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The handler did not answer within the request deadline (seconds); the client may
    /// retry.
    #[error("deadline exceeded after {0} s")]
    DeadlineExceeded(u64),
    /// The node that holds a live stream cannot be reached to relay it (several nodes); the
    /// cause is logged, the viewer is told to retry shortly.
    #[error("stream unavailable: {0}")]
    StreamUnavailable(String),
    /// A `Range` outside the file (its length in bytes): 416 with `Content-Range: bytes */len`.
    #[error("range not satisfiable: the file has {0} bytes")]
    RangeNotSatisfiable(u64),
    /// An outside wallet (Open Payments) could not be reached or refused the request: the
    /// detail says which and why; nothing was charged.
    #[error("wallet unreachable: {detail}")]
    WalletUnreachable {
        /// What failed, for a person (no secrets: URLs and statuses only).
        detail: String,
        /// The field naming the wallet (`from`, `payment_pointer`), when one does.
        field: Option<&'static str>,
    },
}

/// The internal cause of a 500, for the logging middleware.
#[derive(Clone, Debug)]
pub struct InternalCause(pub String);

impl From<crate::forms::FormError> for ApiError {
    fn from(error: crate::forms::FormError) -> Self {
        ApiError::Validation {
            field: error.field,
            detail: error.detail,
        }
    }
}

impl ApiError {
    /// A validation problem on `field`.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError::Validation {
            field: field.into(),
            detail: detail.into(),
        }
    }

    /// An internal failure.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    fn parts(
        &self,
    ) -> (
        StatusCode,
        &'static str,
        &'static str,
        String,
        Option<String>,
    ) {
        match self {
            ApiError::Validation { field, detail } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid field",
                detail.clone(),
                Some(field.clone()),
            ),
            ApiError::InvalidJson { detail, field } => (
                StatusCode::BAD_REQUEST,
                "invalid-json",
                "Malformed JSON body",
                detail.clone(),
                field.clone(),
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "send the body as JSON with `Content-Type: application/json`".into(),
                None,
            ),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
                format!(
                    "request bodies are limited to {} KiB",
                    bookmygig_api::limits::BODY_MAX_BYTES / 1024
                ),
                None,
            ),
            ApiError::Unauthorized(detail) => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Not signed in",
                detail.clone(),
                None,
            ),
            ApiError::Forbidden(detail) => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "Not allowed",
                detail.clone(),
                None,
            ),
            ApiError::NotFound(detail) => (
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                detail.clone(),
                None,
            ),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                "this address does not accept that method; see /api/v1/openapi.json".into(),
                None,
            ),
            ApiError::UpgradeRequired(detail) => (
                StatusCode::UPGRADE_REQUIRED,
                "upgrade-required",
                "WebSocket upgrade required",
                detail.clone(),
                None,
            ),
            ApiError::Conflict {
                code,
                title,
                detail,
                field,
            } => (
                StatusCode::CONFLICT,
                code,
                title,
                detail.clone(),
                field.map(str::to_owned),
            ),
            ApiError::TooManyRequests {
                code,
                title,
                detail,
                ..
            } => (
                StatusCode::TOO_MANY_REQUESTS,
                code,
                title,
                detail.clone(),
                None,
            ),
            ApiError::InsufficientFunds(detail) => (
                StatusCode::PAYMENT_REQUIRED,
                "insufficient-funds",
                "Insufficient funds",
                detail.clone(),
                None,
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
                "something went wrong on our side; it has been logged, please retry".into(),
                None,
            ),
            ApiError::RangeNotSatisfiable(len) => (
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range-not-satisfiable",
                "Range not satisfiable",
                format!("the file has {len} bytes; ask for a range inside it"),
                Some("Range".into()),
            ),
            ApiError::StreamUnavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "stream-unavailable",
                "Stream unavailable",
                "the server holding this stream cannot be reached right now; please retry in a \
                 few seconds"
                    .into(),
                None,
            ),
            ApiError::DeadlineExceeded(seconds) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "deadline-exceeded",
                "Deadline exceeded",
                format!(
                    "the server could not answer within {seconds} s; please retry in a few \
                     seconds (a retry with the same Idempotency-Key is never charged twice)"
                ),
                None,
            ),
            ApiError::WalletUnreachable { detail, field } => (
                StatusCode::BAD_GATEWAY,
                "wallet-unreachable",
                "Wallet unreachable",
                detail.clone(),
                field.map(str::to_owned),
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "storage-unavailable",
                "Storage unavailable",
                "our storage cannot be reached right now; please retry in a few seconds (a \
                 retry with the same Idempotency-Key is never charged twice)"
                    .into(),
                None,
            ),
        }
    }

    /// The problem body this error renders as.
    pub fn problem(&self) -> Problem {
        let (status, code, title, detail, field) = self.parts();
        Problem {
            kind: format!("{PROBLEM_TYPE_BASE}{code}"),
            title: title.into(),
            status: status.as_u16(),
            detail,
            field,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.problem();
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        );
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        match self {
            ApiError::Internal(cause) => {
                response.extensions_mut().insert(InternalCause(cause));
            }
            ApiError::DeadlineExceeded(_) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            }
            ApiError::TooManyRequests {
                retry_after_secs, ..
            } => {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_secs.max(1)),
                );
            }
            ApiError::RangeNotSatisfiable(len) => {
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{len}")) {
                    response.headers_mut().insert(header::CONTENT_RANGE, value);
                }
            }
            ApiError::Unavailable(cause) | ApiError::StreamUnavailable(cause) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
                response.extensions_mut().insert(InternalCause(cause));
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for ApiError {
    /// Maps the store's refusals that need no context; handlers map the others with detail.
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::GigNotFound => ApiError::NotFound("no gig with this id".into()),
            StoreError::GigClosed => ApiError::Conflict {
                code: "gig-closed",
                title: "Gig is over",
                detail: "this gig is cancelled or has ended".into(),
                field: None,
            },
            StoreError::InsufficientFunds { balance, needed } => ApiError::InsufficientFunds(
                format!("this needs {needed} and your wallet holds {balance}; top up first"),
            ),
            StoreError::IdempotencyKeyReused => ApiError::Conflict {
                code: "idempotency-key-reused",
                title: "Idempotency key reused",
                detail: "this Idempotency-Key was already used for a different request; \
                         use a fresh key for each new request"
                    .into(),
                field: Some("Idempotency-Key"),
            },
            StoreError::Backend(cause) => ApiError::Unavailable(cause),
            other => ApiError::internal(other),
        }
    }
}

/// The problem answers as reusable OpenAPI responses, one per status, each an RFC 9457
/// [`Problem`] in `application/problem+json`. Handlers list the ones they can give.
pub mod responses {
    use bookmygig_api::Problem;

    /// `invalid-json`: the body is not well-formed JSON.
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct BadRequest(pub Problem);

    /// `unauthorized`: no bearer token, or one that is unknown, revoked or expired.
    #[derive(utoipa::ToResponse)]
    #[response(
        content_type = "application/problem+json",
        headers(("WWW-Authenticate" = String, description = "`Bearer`"))
    )]
    pub struct Unauthorized(pub Problem);

    /// `insufficient-funds`: the wallet cannot pay for this; top up first.
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct PaymentRequired(pub Problem);

    /// `forbidden`: signed in, but not allowed to do this (not the creator, no ticket, banned).
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct Forbidden(pub Problem);

    /// `not-found`: no such gig (a malformed id is not found either).
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct NotFound(pub Problem);

    /// A conflict with the current state; `type` says which (`handle-taken`, `sold-out`,
    /// `already-holder`, `own-gig`, `gig-closed`, `idempotency-key-reused`,
    /// `capacity-below-sold`, `too-many-connections`, `too-many-streams`).
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct Conflict(pub Problem);

    /// `range-not-satisfiable`: the `Range` asked for starts past the end of the file.
    #[derive(utoipa::ToResponse)]
    #[response(
        content_type = "application/problem+json",
        headers(("Content-Range" = String, description = "`bytes */{length}`"))
    )]
    pub struct RangeNotSatisfiable(pub Problem);

    /// `payload-too-large`: the body is over 64 KiB.
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct PayloadTooLarge(pub Problem);

    /// `unsupported-media-type`: the body is not sent as `application/json`.
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct UnsupportedMediaType(pub Problem);

    /// `validation`: a field (of the body, the query or a header) is missing, mistyped,
    /// unknown or out of its limits; `field` names it and `detail` says what would be right.
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct Unprocessable(pub Problem);

    /// `upgrade-required`: this address speaks WebSocket and the request is not an upgrade.
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct UpgradeRequired(pub Problem);

    /// Too many requests of this kind from this client or for this account (`type` says
    /// which: `too-many-attempts`, `too-many-sign-ups`, `too-many-requests`): retry after the
    /// `Retry-After` seconds.
    #[derive(utoipa::ToResponse)]
    #[response(
        content_type = "application/problem+json",
        headers(("Retry-After" = u32, description = "seconds to wait before retrying"))
    )]
    pub struct TooManyRequests(pub Problem);

    /// `internal`: a bug on our side; it was logged. Nothing was written half-way.
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct Internal(pub Problem);

    /// `storage-unavailable` (the store cannot be reached), `deadline-exceeded` (no answer
    /// within the request deadline) or, for live streams, `stream-unavailable` (the node
    /// holding the stream cannot be reached): retry after the
    /// `Retry-After` seconds, with the same `Idempotency-Key` for money steps.
    #[derive(utoipa::ToResponse)]
    #[response(
        content_type = "application/problem+json",
        headers(("Retry-After" = u32, description = "seconds to wait before retrying"))
    )]
    pub struct Unavailable(pub Problem);

    /// `wallet-unreachable`: an outside wallet (Open Payments) could not be reached or refused
    /// the request; `field` names the wallet at fault. Nothing was charged; retry later.
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct BadGateway(pub Problem);
}
