//! The Open Payments documents BookMyGig sends and reads (v1.1.0), as far as it uses them.
//! Unknown fields are ignored on the way in: wallets may add to them.

use serde::{Deserialize, Serialize};

use crate::Amount;

/// A wallet address document (`GET https://wallet.example/alice`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletAddress {
    /// The wallet address URL itself.
    pub id: String,
    /// The holder's public name, when they set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_name: Option<String>,
    /// Its asset (`USD`).
    pub asset_code: String,
    /// Decimal places of its amounts.
    pub asset_scale: u8,
    /// Its GNAP authorization server.
    pub auth_server: String,
    /// Its resource server (incoming and outgoing payments, quotes).
    pub resource_server: String,
}

/// A GNAP access request for one kind of resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessItem {
    /// `incoming-payment`, `outgoing-payment` or `quote`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `create`, `read`, `complete`, `list`…
    pub actions: Vec<String>,
    /// The wallet address the access is for (required for outgoing payments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Spending limits of an outgoing-payment grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
}

/// What an outgoing-payment grant may spend.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// At most this much debited from the wallet (in its asset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debit_amount: Option<Amount>,
    /// Only to this incoming payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver: Option<String>,
    /// An ISO 8601 repeating interval (`R/2026-12-01T00:00:00Z/P1M`) the limit renews on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
}

/// A grant request (`POST` to an authorization server).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRequest {
    /// What is asked for.
    pub access_token: AccessTokenRequest,
    /// The client's own wallet address: where its keys are published.
    pub client: String,
    /// How the owner is asked, for interactive grants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interact: Option<InteractRequest>,
}

/// The `access_token` member of a grant request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenRequest {
    /// The access asked for.
    pub access: Vec<AccessItem>,
}

/// How the owner of a wallet is to be asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractRequest {
    /// `["redirect"]`: the owner opens a URL. A terminal has no callback, so there is no
    /// `finish`: the client polls the continuation instead.
    pub start: Vec<String>,
}

/// What an authorization server answers a grant request with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantResponse {
    /// The token, when the grant needs no interaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<AccessToken>,
    /// The interaction, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interact: Option<InteractResponse>,
    /// How to continue (poll, cancel) this grant.
    #[serde(rename = "continue")]
    pub continuation: Continuation,
}

/// The interaction the owner must complete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractResponse {
    /// The consent page to show the owner.
    pub redirect: String,
}

/// The continuation of a grant: where and with which token to poll or cancel it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continuation {
    /// The continuation token.
    pub access_token: TokenValue,
    /// The continuation URL.
    pub uri: String,
    /// Seconds to wait before polling again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<u32>,
}

/// A token's value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenValue {
    /// The secret.
    pub value: String,
}

impl std::fmt::Debug for TokenValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenValue(<redacted>)")
    }
}

/// An access token granted.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessToken {
    /// The secret, sent as `Authorization: GNAP <value>`.
    pub value: String,
    /// Where to rotate or revoke it.
    pub manage: String,
    /// Seconds it lives, when it expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// What it grants.
    #[serde(default)]
    pub access: Vec<AccessItem>,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("value", &"<redacted>")
            .field("manage", &self.manage)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// The answer to a continuation (`POST` to its `uri`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContinueResponse {
    /// The token, once the owner approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<AccessToken>,
    /// The continuation, to poll again.
    #[serde(rename = "continue")]
    pub continuation: Continuation,
}

/// The answer to a token rotation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotatedToken {
    /// The new token.
    pub access_token: AccessToken,
}

/// `POST {resourceServer}/incoming-payments`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewIncomingPayment {
    /// The receiving wallet address.
    pub wallet_address: String,
    /// The most it accepts; it completes once this much has arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incoming_amount: Option<Amount>,
    /// When it stops accepting payments (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// What it is for, for the holder's statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}

/// An incoming payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IncomingPayment {
    /// Its URL.
    pub id: String,
    /// The receiving wallet address.
    pub wallet_address: String,
    /// The most it accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incoming_amount: Option<Amount>,
    /// What arrived so far.
    pub received_amount: Amount,
    /// Whether it accepts no more.
    pub completed: bool,
    /// When it stops accepting payments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// `POST {resourceServer}/outgoing-payments`, paying an incoming payment directly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewOutgoingPayment {
    /// The sending wallet address.
    pub wallet_address: String,
    /// The incoming payment it pays.
    pub incoming_payment: String,
    /// What leaves the sending wallet.
    pub debit_amount: Amount,
    /// What it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}

/// An outgoing payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutgoingPayment {
    /// Its URL.
    pub id: String,
    /// The sending wallet address.
    pub wallet_address: String,
    /// The incoming payment it pays.
    pub receiver: String,
    /// Whether it failed.
    #[serde(default)]
    pub failed: bool,
    /// What it may debit.
    pub debit_amount: Amount,
    /// What it sent so far.
    pub sent_amount: Amount,
}
