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
    match serde_path_to_error::deserialize(deserializer) {
        Ok(value) => Ok(value),
        Err(error) if error.inner().to_string().starts_with(FLOAT_MISTYPED) => {
            // JSON (and JSON Schema's `integer`) counts 5.0 and 5e3 as integers: read the body
            // again with every whole-valued number as an integer.
            let mut value: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|e| ApiError::InvalidJson {
                    detail: format!("the body is not valid JSON: {}", short(&e.to_string())),
                    field: None,
                })?;
            integral_numbers(&mut value);
            serde_path_to_error::deserialize(value).map_err(problem)
        }
        Err(error) => Err(problem(error)),
    }
}

/// How serde_json starts the message of a float where an integer belongs.
const FLOAT_MISTYPED: &str = "invalid type: floating point";

/// Turns every whole-valued float (5.0, 5e3) that fits an `i64` into an integer.
fn integral_numbers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(number) => {
            if let Some(float) = number.as_f64().filter(|_| number.is_f64())
                && float.fract() == 0.0
                && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&float)
            {
                *value = Value::from(float as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(map) => map.values_mut().for_each(integral_numbers),
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
}

/// serde_json's message without its ` at line L column C` tail.
fn short(message: &str) -> String {
    message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned()
}

/// The problem a failed parse is: a validation problem naming the field for data errors, an
/// invalid-JSON problem for syntax errors.
fn problem(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    let message = short(&inner.to_string());
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
    fn whole_floats_are_integers() {
        let top_up: bookmygig_api::TopUp = parse(br#"{"amount": 5e3}"#).unwrap();
        assert_eq!(top_up.amount.micros(), 5_000);
        let top_up: bookmygig_api::TopUp = parse(br#"{"amount": -2.0}"#).unwrap();
        assert_eq!(top_up.amount.micros(), -2);
        assert!(matches!(
            parse::<bookmygig_api::TopUp>(br#"{"amount": 1.5}"#),
            Err(ApiError::Validation { field, .. }) if field == "amount"
        ));
        assert!(matches!(
            parse::<bookmygig_api::TopUp>(br#"{"amount": 1e300}"#),
            Err(ApiError::Validation { field, .. }) if field == "amount"
        ));
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
