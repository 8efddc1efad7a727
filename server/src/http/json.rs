//! `ApiJson`: the JSON body extractor whose every rejection is a precise problem naming the
//! field (missing, mistyped, unknown), instead of axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::problem::ApiError;

/// A JSON request body (as extractor) or response body (as response).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json")
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::InvalidJson {
                    detail: rejection.body_text(),
                    field: None,
                }
            }
        })?;
        parse(&bytes).map(ApiJson)
    }
}

/// Parses `bytes` as `T`, naming the offending field on failure. Every request body of this
/// API is an object; serde would also read a struct from an array, which nobody means.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b == b'[') {
        return Err(ApiError::invalid("body", "the body must be a JSON object"));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let message = inner.to_string();
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_owned();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = field_name(&path, &message);
                ApiError::Validation {
                    field,
                    detail: message,
                }
            }
            _ => ApiError::InvalidJson {
                detail: format!("the body is not valid JSON: {message}"),
                field: None,
            },
        }
    })
}

/// The wire name at fault: the path serde reached, or for a missing field the name its message
/// gives (that error is reported at the enclosing object's path).
fn field_name(path: &str, message: &str) -> String {
    let named = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    let base = if path == "." { "" } else { path };
    match named {
        Some(name) if base.is_empty() => name.to_owned(),
        Some(name) => format!("{base}.{name}"),
        None if base.is_empty() => "body".to_owned(),
        None => base.to_owned(),
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bookmygig_api::NewAccount;

    fn field_of(body: &str) -> Option<String> {
        match parse::<NewAccount>(body.as_bytes()) {
            Err(ApiError::Validation { field, .. }) => Some(field),
            _ => None,
        }
    }

    #[test]
    fn names_missing_mistyped_and_unknown_fields() {
        assert_eq!(
            field_of(r#"{"handle":"a","password":"x"}"#).as_deref(),
            Some("display_name")
        );
        assert_eq!(
            field_of(r#"{"handle":5,"display_name":"a","password":"x"}"#).as_deref(),
            Some("handle")
        );
        assert_eq!(
            field_of(r#"{"handle":"a","display_name":"a","password":"x","admin":true}"#).as_deref(),
            Some("admin")
        );
    }

    #[test]
    fn syntax_errors_are_invalid_json() {
        assert!(matches!(
            parse::<NewAccount>(b"{\"handle\":"),
            Err(ApiError::InvalidJson { .. })
        ));
        assert!(matches!(
            parse::<NewAccount>(b"not json"),
            Err(ApiError::InvalidJson { .. })
        ));
    }
}
