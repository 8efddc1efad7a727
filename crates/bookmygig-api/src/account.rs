//! Accounts and sessions.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::AccountId;

/// A person's public account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    /// The account's id.
    pub id: AccountId,
    /// Unique login name: 3–32 of `a-z 0-9 _`.
    pub handle: String,
    /// The name shown to others.
    pub display_name: String,
    /// When the account was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `POST /accounts`: sign up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// Wanted handle: 3–32 of `a-z 0-9 _`.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 3, max_length = 32, pattern = "^[a-z0-9_]{3,32}$")
    )]
    pub handle: String,
    /// Name shown to others: at most 64 characters, not blank, no control characters; white
    /// space around it is trimmed.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub display_name: String,
    /// 8–128 characters; stored only as an argon2 hash.
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 128))]
    pub password: String,
}

/// `POST /sessions`: sign in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewSession {
    /// The account's handle.
    pub handle: String,
    /// The account's password.
    pub password: String,
}

/// `PUT /me/password`: change the password (every other session of the account is signed out).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The password in force now.
    pub current_password: String,
    /// The new password: 8–128 characters, as at sign-up; stored only as an argon2 hash.
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 128))]
    pub new_password: String,
}

/// A signed-in session: the bearer token to send as `Authorization: Bearer <token>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    /// Opaque bearer token (256 random bits); the server keeps only its hash.
    pub token: String,
    /// When the token stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The signed-in account.
    pub account: Account,
}

/// `201` answer of `POST /accounts`: the new account and a session for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedUp {
    /// The new account.
    pub account: Account,
    /// Bearer token of a session for it.
    pub token: String,
    /// When that token stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}
