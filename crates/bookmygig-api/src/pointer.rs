//! Interledger payment pointers (`$wallet.example/alice`), validated and resolved to the HTTPS
//! URL they stand for, as the Payment Pointers specification defines.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::limits::PAYMENT_POINTER_MAX;

/// A validated payment pointer, kept in its `$host/path` form.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct PaymentPointer(String);

/// Why a payment pointer was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PaymentPointerError {
    /// It does not start with `$`.
    #[error("a payment pointer starts with `$`, like $wallet.example/alice")]
    MissingDollar,
    /// The host part is empty or not a domain name.
    #[error("`{0}` is not a valid host name, expected something like wallet.example")]
    BadHost(String),
    /// The path holds characters a URL path cannot.
    #[error("the path may hold only letters, digits and - . _ ~ / characters")]
    BadPath,
    /// Longer than the limit.
    #[error("a payment pointer is at most {PAYMENT_POINTER_MAX} characters")]
    TooLong,
}

impl PaymentPointer {
    /// Validates `text` as a payment pointer.
    ///
    /// # Errors
    /// Says which part is wrong.
    pub fn parse(text: &str) -> Result<Self, PaymentPointerError> {
        // Counted as sent, white space included, as the OpenAPI document's `maxLength` counts.
        if text.chars().count() > PAYMENT_POINTER_MAX {
            return Err(PaymentPointerError::TooLong);
        }
        let text = text.trim();
        let rest = text
            .strip_prefix('$')
            .ok_or(PaymentPointerError::MissingDollar)?;
        let (host, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let host = host.to_ascii_lowercase();
        if !is_valid_host(&host) {
            return Err(PaymentPointerError::BadHost(host));
        }
        let path_ok = path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/'))
            && !path.contains("//");
        if !path_ok {
            return Err(PaymentPointerError::BadPath);
        }
        let path = path.trim_end_matches('/');
        Ok(Self(format!("${host}{path}")))
    }

    /// The pointer as written: `$wallet.example/alice`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The HTTPS URL it resolves to: `$host/path` → `https://host/path`,
    /// `$host` → `https://host/.well-known/pay`.
    pub fn resolve(&self) -> String {
        let rest = &self.0[1..];
        if rest.contains('/') {
            format!("https://{rest}")
        } else {
            format!("https://{rest}/.well-known/pay")
        }
    }
}

fn is_valid_host(host: &str) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    // A port is 1–65535 in plain digits: no sign, no leading zero.
    let port_ok = |port: &str| {
        !port.starts_with('0')
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u16>().is_ok()
    };
    if port.is_some_and(|port| !port_ok(port)) {
        return false;
    }
    // The name's length is bounded by the pointer's (PAYMENT_POINTER_MAX).
    !name.is_empty()
        && name.contains('.')
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

impl fmt::Display for PaymentPointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PaymentPointer {
    type Err = PaymentPointerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for PaymentPointer {
    type Error = PaymentPointerError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PaymentPointer> for String {
    fn from(value: PaymentPointer) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_as_the_spec_says() {
        let with_path = PaymentPointer::parse("$wallet.example/alice").unwrap();
        assert_eq!(with_path.resolve(), "https://wallet.example/alice");
        let bare = PaymentPointer::parse("$Ilp.Uphold.com").unwrap();
        assert_eq!(bare.as_str(), "$ilp.uphold.com");
        assert_eq!(bare.resolve(), "https://ilp.uphold.com/.well-known/pay");
    }

    #[test]
    fn refuses_malformed_pointers() {
        for bad in [
            "wallet.example/alice",
            "$",
            "$localhost",
            "$wallet..example",
            "$-bad.example",
            "$wallet.example/al ice",
            "$wallet.example/a?b=c",
            "$wallet.example:0/x",
            "$wallet.example:080/x",
            "$wallet.example:+80/x",
            "$wallet.example:65536/x",
            "https://wallet.example/alice",
        ] {
            assert!(PaymentPointer::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
