//! [`OpenPaymentsClient`]: the signed HTTP calls BookMyGig makes to wallets.

use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::signing::{ClientKey, signed_request};
use crate::types::{
    AccessToken, Continuation, ContinueResponse, GrantRequest, GrantResponse, IncomingPayment,
    NewIncomingPayment, NewOutgoingPayment, OutgoingPayment, RotatedToken, WalletAddress,
};

/// The most of a wallet's answer that is read: Open Payments documents are a few KiB, and a
/// wallet is a stranger's server.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// How long one call may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Why a call to a wallet failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenPaymentsError {
    /// The wallet could not be reached, or the answer not read (retry later).
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// What was called.
        url: String,
        /// Why, in words.
        reason: String,
    },
    /// The wallet answered with an error status.
    #[error("{url} answered {status}: {body}")]
    Status {
        /// What was called.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of its body.
        body: String,
    },
    /// The answer is not the document the standard describes.
    #[error("{url} answered something that is not Open Payments: {reason}")]
    Invalid {
        /// What was called.
        url: String,
        /// What was wrong.
        reason: String,
    },
}

impl OpenPaymentsError {
    /// Whether trying again later may succeed: transport failures, 5xx and 429.
    pub fn is_transient(&self) -> bool {
        match self {
            OpenPaymentsError::Unreachable { .. } => true,
            OpenPaymentsError::Status { status, .. } => *status >= 500 || *status == 429,
            OpenPaymentsError::Invalid { .. } => false,
        }
    }

    /// The HTTP status, when the wallet answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            OpenPaymentsError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Signed calls to Open Payments wallets, as the client whose keys are published at
/// `client_wallet` (`{client_wallet}/jwks.json`).
#[derive(Clone, Debug)]
pub struct OpenPaymentsClient {
    http: reqwest::Client,
    key: ClientKey,
    client_wallet: String,
}

impl OpenPaymentsClient {
    /// A client signing with `key` as `client_wallet`, over `http` (whose TLS roots decide which
    /// wallets are trusted). Requests time out after 20 s.
    pub fn new(http: reqwest::Client, key: ClientKey, client_wallet: impl Into<String>) -> Self {
        Self {
            http,
            key,
            client_wallet: client_wallet.into(),
        }
    }

    /// The client's wallet address (the `client` of its grant requests).
    pub fn client_wallet(&self) -> &str {
        &self.client_wallet
    }

    /// Reads the wallet address document at `url` (unsigned, as the standard says).
    ///
    /// # Errors
    /// As every call: [`OpenPaymentsError`].
    pub async fn wallet_address(&self, url: &str) -> Result<WalletAddress, OpenPaymentsError> {
        let request = self
            .http
            .get(url)
            .header("accept", "application/json")
            .timeout(TIMEOUT);
        let address: WalletAddress = receive(url, request).await?;
        Ok(address)
    }

    /// Asks `auth_server` for a grant.
    ///
    /// # Errors
    /// As every call.
    pub async fn request_grant(
        &self,
        auth_server: &str,
        request: &GrantRequest,
    ) -> Result<GrantResponse, OpenPaymentsError> {
        self.call(Method::POST, auth_server, None, Some(request))
            .await
    }

    /// The grant request body for `access`, as this client, with a redirect interaction when
    /// `interactive`.
    pub fn grant_request(
        &self,
        access: Vec<crate::types::AccessItem>,
        interactive: bool,
    ) -> GrantRequest {
        GrantRequest {
            access_token: crate::types::AccessTokenRequest { access },
            client: self.client_wallet.clone(),
            interact: interactive.then(|| crate::types::InteractRequest {
                start: vec!["redirect".into()],
            }),
        }
    }

    /// Polls a pending grant: the token once the owner approved, else the continuation again.
    /// A 401 or 404 here means the owner declined or the grant is gone.
    ///
    /// # Errors
    /// As every call.
    pub async fn continue_grant(
        &self,
        continuation: &Continuation,
    ) -> Result<ContinueResponse, OpenPaymentsError> {
        self.call(
            Method::POST,
            &continuation.uri,
            Some(&continuation.access_token.value),
            Some(&serde_json::json!({})),
        )
        .await
    }

    /// Cancels a grant (or a pending request for one).
    ///
    /// # Errors
    /// As every call.
    pub async fn cancel_grant(&self, continuation: &Continuation) -> Result<(), OpenPaymentsError> {
        self.call_empty(
            Method::DELETE,
            &continuation.uri,
            Some(&continuation.access_token.value),
        )
        .await
    }

    /// Rotates an access token: the new one replaces it.
    ///
    /// # Errors
    /// As every call.
    pub async fn rotate_token(
        &self,
        token: &AccessToken,
    ) -> Result<AccessToken, OpenPaymentsError> {
        let rotated: RotatedToken = self
            .call::<(), _>(Method::POST, &token.manage, Some(&token.value), None)
            .await?;
        Ok(rotated.access_token)
    }

    /// Creates an incoming payment on `resource_server` with a token that may.
    ///
    /// # Errors
    /// As every call.
    pub async fn create_incoming_payment(
        &self,
        resource_server: &str,
        token: &str,
        payment: &NewIncomingPayment,
    ) -> Result<IncomingPayment, OpenPaymentsError> {
        let url = format!(
            "{}/incoming-payments",
            resource_server.trim_end_matches('/')
        );
        self.call(Method::POST, &url, Some(token), Some(payment))
            .await
    }

    /// Reads an incoming payment (how much has arrived).
    ///
    /// # Errors
    /// As every call.
    pub async fn incoming_payment(
        &self,
        url: &str,
        token: &str,
    ) -> Result<IncomingPayment, OpenPaymentsError> {
        self.call::<(), _>(Method::GET, url, Some(token), None)
            .await
    }

    /// Marks an incoming payment complete: it accepts nothing more.
    ///
    /// # Errors
    /// As every call.
    pub async fn complete_incoming_payment(
        &self,
        url: &str,
        token: &str,
    ) -> Result<IncomingPayment, OpenPaymentsError> {
        let url = format!("{}/complete", url.trim_end_matches('/'));
        self.call::<(), _>(Method::POST, &url, Some(token), None)
            .await
    }

    /// Creates an outgoing payment on `resource_server`, paying an incoming payment directly.
    ///
    /// # Errors
    /// As every call.
    pub async fn create_outgoing_payment(
        &self,
        resource_server: &str,
        token: &str,
        payment: &NewOutgoingPayment,
    ) -> Result<OutgoingPayment, OpenPaymentsError> {
        let url = format!(
            "{}/outgoing-payments",
            resource_server.trim_end_matches('/')
        );
        self.call(Method::POST, &url, Some(token), Some(payment))
            .await
    }

    /// Reads an outgoing payment.
    ///
    /// # Errors
    /// As every call.
    pub async fn outgoing_payment(
        &self,
        url: &str,
        token: &str,
    ) -> Result<OutgoingPayment, OpenPaymentsError> {
        self.call::<(), _>(Method::GET, url, Some(token), None)
            .await
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        body: Option<&B>,
    ) -> Result<T, OpenPaymentsError> {
        let body = body.map(serde_json::to_value).transpose().map_err(|err| {
            OpenPaymentsError::Invalid {
                url: url.to_owned(),
                reason: format!("cannot encode the request: {err}"),
            }
        })?;
        let request = signed_request(&self.http, &self.key, method, url, token, body.as_ref())
            .timeout(TIMEOUT);
        receive(url, request).await
    }

    async fn call_empty(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
    ) -> Result<(), OpenPaymentsError> {
        let request =
            signed_request(&self.http, &self.key, method, url, token, None).timeout(TIMEOUT);
        let (status, body) = send(url, request).await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(status_error(url, status, &body))
        }
    }
}

/// Sends `request` and decodes a 2xx JSON answer.
async fn receive<T: DeserializeOwned>(
    url: &str,
    request: reqwest::RequestBuilder,
) -> Result<T, OpenPaymentsError> {
    let (status, body) = send(url, request).await?;
    if !status.is_success() {
        return Err(status_error(url, status, &body));
    }
    serde_json::from_slice(&body).map_err(|err| OpenPaymentsError::Invalid {
        url: url.to_owned(),
        reason: err.to_string(),
    })
}

/// Sends `request` and reads at most [`MAX_RESPONSE_BYTES`] of its answer.
async fn send(
    url: &str,
    request: reqwest::RequestBuilder,
) -> Result<(reqwest::StatusCode, Vec<u8>), OpenPaymentsError> {
    let unreachable = |err: reqwest::Error| OpenPaymentsError::Unreachable {
        url: url.to_owned(),
        reason: innermost(&err),
    };
    let mut response = request.send().await.map_err(unreachable)?;
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(OpenPaymentsError::Invalid {
                url: url.to_owned(),
                reason: format!("the answer is over {MAX_RESPONSE_BYTES} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, body))
}

fn status_error(url: &str, status: reqwest::StatusCode, body: &[u8]) -> OpenPaymentsError {
    let text: String = String::from_utf8_lossy(body).chars().take(300).collect();
    OpenPaymentsError::Status {
        url: url.to_owned(),
        status: status.as_u16(),
        body: text,
    }
}

/// The deepest cause of an error: "connection refused" rather than "error sending request".
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}
