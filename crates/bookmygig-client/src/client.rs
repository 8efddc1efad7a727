//! The [`Client`] handle and one method per REST endpoint.
//!
//! Each method only says its verb, path and body; [`Client::send`] and [`Client::send_empty`] own
//! the shared part: authentication, status checks and decoding into [`ClientError`]s.

use std::fmt;
use std::time::Duration;

use bookmygig_api::{
    API_PREFIX, Account, ChatMessage, Earnings, Gig, GigId, GigPatch, IDEMPOTENCY_KEY_HEADER,
    Money, MyTicket, NewAccount, NewGig, NewSession, Page, PasswordChange, Payout, PayoutRequest,
    Payouts, Playback, Pricing, Problem, Purchased, Recording, Recordings, Replay, Session,
    SignedUp, StreamKeyInfo, StreamStatus, TopUp, TopUpReceipt, TopUpStatus, Wallet,
};
use reqwest::{Method, RequestBuilder, Response, Url};
use serde::de::DeserializeOwned;

use crate::{ClientError, GigListQuery, Result, TrustRoots};

/// The `User-Agent` every request carries.
const USER_AGENT: &str = concat!("bookmygig/", env!("CARGO_PKG_VERSION"));

/// How long a whole request may take before it fails as a transport error.
const TIMEOUT: Duration = Duration::from_secs(30);

/// How much of an undecodable body a [`ClientError::Decode`] quotes.
const DECODE_SNIPPET_CHARS: usize = 200;

/// How `POST /wallet/topups` was answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopUpStarted {
    /// The funds were added at once (the development provider).
    Credited(TopUpReceipt),
    /// The viewer approves the payment in their wallet first (Open Payments).
    Pending(TopUpStatus),
}

/// A typed handle on one BookMyGig server, optionally signed in.
///
/// Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Client {
    /// Connection pool, user agent and timeout shared by every call.
    http: reqwest::Client,
    /// Scheme, host and port (and any path prefix) without a trailing `/`.
    base: String,
    /// Bearer token sent with every request when present.
    token: Option<String>,
    /// The authorities trusted for `https://` (and the chat's `wss://`).
    roots: TrustRoots,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token is a credential: never let it reach a log.
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client of the server at `base_url` (e.g. `http://127.0.0.1:8080`), not signed in.
    ///
    /// Trailing slashes are trimmed; requests carry a `bookmygig/<version>` user agent and time
    /// out after 30 seconds.
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidBaseUrl`] when `base_url` is not an `http://` or `https://` URL with
    /// a host, or carries a query or fragment; [`ClientError::Transport`] when the HTTP stack
    /// cannot be set up.
    pub fn new(base_url: &str) -> Result<Self> {
        Self::with_roots(base_url, TrustRoots::system()?)
    }

    /// Like [`Client::new`], also trusting the certificate authorities in `ca_pem` (PEM, one
    /// or more certificates): for a server whose certificate is not signed by a public
    /// authority (the CLI's `--cacert`).
    ///
    /// # Errors
    ///
    /// As [`Client::new`]; [`ClientError::Tls`] when `ca_pem` holds no certificate.
    pub fn with_ca_pem(base_url: &str, ca_pem: &[u8]) -> Result<Self> {
        Self::with_roots(base_url, TrustRoots::with_ca_pem(ca_pem)?)
    }

    /// Like [`Client::new`], trusting `roots` for `https://` and `wss://`.
    ///
    /// # Errors
    ///
    /// As [`Client::new`].
    pub fn with_roots(base_url: &str, roots: TrustRoots) -> Result<Self> {
        let base = base_url.trim().trim_end_matches('/');
        let url = Url::parse(base)
            .map_err(|err| ClientError::InvalidBaseUrl(format!("`{base_url}`: {err}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ClientError::InvalidBaseUrl(format!(
                "`{base_url}`: the scheme must be http or https"
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ClientError::InvalidBaseUrl(format!(
                "`{base_url}`: a host is required"
            )));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ClientError::InvalidBaseUrl(format!(
                "`{base_url}`: a base URL takes no query or fragment"
            )));
        }
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(TIMEOUT)
            .use_preconfigured_tls(roots.config().as_ref().clone())
            .build()?;
        Ok(Self {
            http,
            base: base.to_owned(),
            token: None,
            roots,
        })
    }

    /// The authorities this client trusts (for a WebSocket or a player opened beside it).
    pub fn roots(&self) -> &TrustRoots {
        &self.roots
    }

    /// The same client, sending `token` as `Authorization: Bearer <token>` from now on.
    pub fn with_token(self, token: impl Into<String>) -> Self {
        Self {
            token: Some(token.into()),
            ..self
        }
    }

    /// The bearer token this client sends, if signed in.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The server's base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The underlying HTTP client, for requests the typed methods cannot make (tests that send
    /// malformed bodies, for instance). Pair it with [`Client::url`].
    pub fn raw(&self) -> &reqwest::Client {
        &self.http
    }

    /// The full URL of an API path: `url("/gigs")` is `{base}/api/v1/gigs`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{API_PREFIX}{path}", self.base)
    }

    /// A request to an API path (as in [`Client::url`]) carrying this client's bearer token, if
    /// any; send it yourself, e.g. with a hand-made body.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let builder = self.http.request(method, self.url(path));
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// `POST /accounts`: creates an account and answers with a session for it.
    ///
    /// # Errors
    ///
    /// A `validation` or `handle-taken` problem, or any error of [`ClientError`].
    pub async fn sign_up(&self, body: &NewAccount) -> Result<SignedUp> {
        self.send(self.request(Method::POST, "/accounts").json(body))
            .await
    }

    /// `POST /sessions`: signs in. Use [`Client::with_token`] with the answer's token.
    ///
    /// # Errors
    ///
    /// An `unauthorized` problem on a wrong handle or password, or any error of [`ClientError`].
    pub async fn sign_in(&self, body: &NewSession) -> Result<Session> {
        self.send(self.request(Method::POST, "/sessions").json(body))
            .await
    }

    /// `DELETE /sessions/current`: signs out; this client's token stops working.
    ///
    /// # Errors
    ///
    /// An `unauthorized` problem without a valid token, or any error of [`ClientError`].
    pub async fn sign_out(&self) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, "/sessions/current"))
            .await
    }

    /// `DELETE /sessions`: signs out everywhere; every token of the account stops working,
    /// this client's included.
    ///
    /// # Errors
    ///
    /// An `unauthorized` problem without a valid token, or any error of [`ClientError`].
    pub async fn sign_out_everywhere(&self) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, "/sessions"))
            .await
    }

    /// `PUT /me/password`: changes the password; every other session of the account is
    /// signed out, this client's token keeps working.
    ///
    /// # Errors
    ///
    /// A `forbidden` problem when `current_password` is wrong, a `validation` problem when
    /// `new_password` breaks the rules, a `too-many-attempts` problem while the account's
    /// sign-ins are throttled, or any error of [`ClientError`].
    pub async fn change_password(&self, body: &PasswordChange) -> Result<()> {
        self.send_empty(self.request(Method::PUT, "/me/password").json(body))
            .await
    }

    /// `GET /me`: the signed-in account.
    ///
    /// # Errors
    ///
    /// An `unauthorized` problem without a valid token, or any error of [`ClientError`].
    pub async fn me(&self) -> Result<Account> {
        self.send(self.request(Method::GET, "/me")).await
    }

    /// `GET /gigs`: one page of the catalogue, filtered by `query`.
    ///
    /// # Errors
    ///
    /// A `validation` problem on a bad filter or cursor, or any error of [`ClientError`].
    pub async fn list_gigs(&self, query: &GigListQuery) -> Result<Page<Gig>> {
        self.send(self.request(Method::GET, "/gigs").query(&query.pairs()))
            .await
    }

    /// `POST /gigs`: registers a gig (charging the listing fee); the answer carries its stream
    /// key and RTMP URL.
    ///
    /// # Errors
    ///
    /// A `validation` or `insufficient-funds` problem, or any error of [`ClientError`].
    pub async fn create_gig(&self, body: &NewGig) -> Result<Gig> {
        self.send(self.request(Method::POST, "/gigs").json(body))
            .await
    }

    /// `GET /gigs/{id}`: one gig (with its stream key when this client is its creator).
    ///
    /// # Errors
    ///
    /// A `not-found` problem, or any error of [`ClientError`].
    pub async fn gig(&self, id: GigId) -> Result<Gig> {
        self.send(self.request(Method::GET, &format!("/gigs/{id}")))
            .await
    }

    /// `PATCH /gigs/{id}`: changes the fields present in `patch` (creator only).
    ///
    /// # Errors
    ///
    /// A `forbidden`, `not-found`, `validation` or `capacity-below-sold` problem, or any error of
    /// [`ClientError`].
    pub async fn update_gig(&self, id: GigId, patch: &GigPatch) -> Result<Gig> {
        self.send(
            self.request(Method::PATCH, &format!("/gigs/{id}"))
                .json(patch),
        )
        .await
    }

    /// `DELETE /gigs/{id}`: cancels a gig and refunds every ticket (creator only).
    ///
    /// # Errors
    ///
    /// A `forbidden`, `not-found` or `gig-closed` problem, or any error of [`ClientError`].
    pub async fn cancel_gig(&self, id: GigId) -> Result<Gig> {
        self.send(self.request(Method::DELETE, &format!("/gigs/{id}")))
            .await
    }

    /// `POST /gigs/{id}/stream-key`: issues a fresh stream key; the old one stops working.
    ///
    /// # Errors
    ///
    /// A `forbidden` or `not-found` problem, or any error of [`ClientError`].
    pub async fn rotate_stream_key(&self, id: GigId) -> Result<StreamKeyInfo> {
        self.send(self.request(Method::POST, &format!("/gigs/{id}/stream-key")))
            .await
    }

    /// `GET /me/gigs`: the gigs this account created, newest first, in creator view.
    ///
    /// # Errors
    ///
    /// An `unauthorized` problem without a valid token, or any error of [`ClientError`].
    pub async fn my_gigs(&self) -> Result<Page<Gig>> {
        self.send(self.request(Method::GET, "/me/gigs")).await
    }

    /// `POST /gigs/{id}/tickets`: buys a ticket. Retrying with the same `idempotency_key`
    /// answers with the same ticket instead of buying another (see [`new_idempotency_key`]).
    ///
    /// # Errors
    ///
    /// A `sold-out`, `already-holder`, `own-gig`, `gig-closed`, `insufficient-funds` or
    /// `idempotency-key-reused` problem, or any error of [`ClientError`].
    ///
    /// [`new_idempotency_key`]: crate::new_idempotency_key
    pub async fn buy_ticket(&self, id: GigId, idempotency_key: &str) -> Result<Purchased> {
        self.send(
            self.request(Method::POST, &format!("/gigs/{id}/tickets"))
                .header(IDEMPOTENCY_KEY_HEADER, idempotency_key),
        )
        .await
    }

    /// `GET /me/tickets`: this account's tickets, each with its gig.
    ///
    /// # Errors
    ///
    /// An `unauthorized` problem without a valid token, or any error of [`ClientError`].
    pub async fn my_tickets(&self) -> Result<Page<MyTicket>> {
        self.send(self.request(Method::GET, "/me/tickets")).await
    }

    /// `GET /wallet`: the balance and one page of history, newest first.
    ///
    /// # Errors
    ///
    /// An `unauthorized` or `validation` problem, or any error of [`ClientError`].
    pub async fn wallet(&self, cursor: Option<&str>, limit: Option<usize>) -> Result<Wallet> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        if let Some(limit) = limit {
            query.push(("limit", limit.to_string()));
        }
        self.send(self.request(Method::GET, "/wallet").query(&query))
            .await
    }

    /// `POST /wallet/topups`: adds `amount` to the wallet; with an `idempotency_key`, a retry
    /// credits only once.
    ///
    /// # Errors
    ///
    /// A `validation` or `idempotency-key-reused` problem, or any error of [`ClientError`].
    pub async fn top_up(
        &self,
        amount: Money,
        idempotency_key: Option<&str>,
    ) -> Result<TopUpReceipt> {
        let mut request = self
            .request(Method::POST, "/wallet/topups")
            .json(&TopUp { amount, from: None });
        if let Some(key) = idempotency_key {
            request = request.header(IDEMPOTENCY_KEY_HEADER, key);
        }
        self.send(request).await
    }

    /// `POST /wallet/topups` from the outside wallet `from` (a server paid through Open
    /// Payments), or with no `from` (the development provider): [`TopUpStarted::Credited`] when
    /// the funds were added at once (`201`), [`TopUpStarted::Pending`] when the viewer must
    /// approve the payment at its `consent_url` first (`202`; follow it with
    /// [`Client::top_up_status`]).
    ///
    /// # Errors
    ///
    /// `forbidden` (no provider), `validation` naming `amount` or `from`, `wallet-unreachable`
    /// naming `from`, or any error of [`ClientError`].
    pub async fn start_top_up(
        &self,
        amount: Money,
        from: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Result<TopUpStarted> {
        let mut request = self.request(Method::POST, "/wallet/topups").json(&TopUp {
            amount,
            from: from.map(str::to_owned),
        });
        if let Some(key) = idempotency_key {
            request = request.header(IDEMPOTENCY_KEY_HEADER, key);
        }
        let response = Self::checked(request).await?;
        let accepted = response.status() == reqwest::StatusCode::ACCEPTED;
        let body = response.bytes().await?;
        let decode = |err: serde_json::Error| ClientError::Decode(err.to_string());
        Ok(if accepted {
            TopUpStarted::Pending(serde_json::from_slice(&body).map_err(decode)?)
        } else {
            TopUpStarted::Credited(serde_json::from_slice(&body).map_err(decode)?)
        })
    }

    /// `GET /wallet/topups/{id}`: where a top-up from an outside wallet stands.
    ///
    /// # Errors
    ///
    /// `not-found` when it is not yours, or any error of [`ClientError`].
    pub async fn top_up_status(&self, id: uuid::Uuid) -> Result<TopUpStatus> {
        self.send(self.request(Method::GET, &format!("/wallet/topups/{id}")))
            .await
    }

    /// `POST /me/payouts`: pays a gig's earnings out to its payment pointer now.
    ///
    /// # Errors
    ///
    /// `validation` naming `gig_id` (not over yet, nothing to pay), `forbidden` (no provider
    /// pays out), `not-found`, or any error of [`ClientError`].
    pub async fn request_payout(&self, gig_id: GigId) -> Result<Payout> {
        self.send(
            self.request(Method::POST, "/me/payouts")
                .json(&PayoutRequest { gig_id }),
        )
        .await
    }

    /// `GET /me/payouts`: the signed-in creator's payouts, newest first.
    ///
    /// # Errors
    ///
    /// Any error of [`ClientError`].
    pub async fn payouts(&self) -> Result<Payouts> {
        self.send(self.request(Method::GET, "/me/payouts")).await
    }

    /// `POST /gigs/{id}/playback`: signed FLV and RTMP URLs for a ticket holder or the creator.
    ///
    /// # Errors
    ///
    /// An `unauthorized`, `forbidden` or `not-found` problem, or any error of [`ClientError`].
    pub async fn playback(&self, id: GigId) -> Result<Playback> {
        self.send(self.request(Method::POST, &format!("/gigs/{id}/playback")))
            .await
    }

    /// `POST /gigs/{id}/replay`: a signed, seekable URL of the show's recording, for a ticket
    /// holder (or the creator) after the show, within its replay window.
    ///
    /// # Errors
    ///
    /// A `forbidden` problem (no ticket, the window is over, the gig was cancelled), a
    /// `not-found` one (unknown gig, nothing recorded, recording deleted), a `conflict` one
    /// (the show has not ended yet), or any error of [`ClientError`].
    pub async fn replay(&self, id: GigId) -> Result<Replay> {
        self.send(self.request(Method::POST, &format!("/gigs/{id}/replay")))
            .await
    }

    /// `GET /gigs/{id}/recording`: what is stored of a show (its creator only).
    ///
    /// # Errors
    ///
    /// A `forbidden` problem for anyone but the creator, a `not-found` one when nothing is
    /// stored, or any error of [`ClientError`].
    pub async fn recording(&self, id: GigId) -> Result<Recording> {
        self.send(self.request(Method::GET, &format!("/gigs/{id}/recording")))
            .await
    }

    /// `DELETE /gigs/{id}/recording`: deletes a show's recording for good (creator only); its
    /// replay answers 404 from then on.
    ///
    /// # Errors
    ///
    /// A `forbidden` or `not-found` problem, or any error of [`ClientError`].
    pub async fn delete_recording(&self, id: GigId) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, &format!("/gigs/{id}/recording")))
            .await
    }

    /// `GET /me/recordings`: the signed-in creator's stored recordings, newest first, and the
    /// storage they use.
    ///
    /// # Errors
    ///
    /// An `unauthorized` problem without a valid token, or any error of [`ClientError`].
    pub async fn my_recordings(&self) -> Result<Recordings> {
        self.send(self.request(Method::GET, "/me/recordings")).await
    }

    /// `GET /gigs/{id}/chat/history`: the gig's chat as kept, oldest first, each message with
    /// its `sent_at` (ticket holders and the creator): what a replay shows beside the video.
    ///
    /// # Errors
    ///
    /// A `forbidden` or `not-found` problem, or any error of [`ClientError`].
    pub async fn chat_history(&self, id: GigId) -> Result<Vec<ChatMessage>> {
        self.send(self.request(Method::GET, &format!("/gigs/{id}/chat/history")))
            .await
    }

    /// `GET /gigs/{id}/stream`: whether the gig is on air, viewers, and the media's facts.
    ///
    /// # Errors
    ///
    /// A `not-found` problem, or any error of [`ClientError`].
    pub async fn stream_status(&self, id: GigId) -> Result<StreamStatus> {
        self.send(self.request(Method::GET, &format!("/gigs/{id}/stream")))
            .await
    }

    /// `GET /me/earnings`: the signed-in creator's earnings per gig, newest first, and the sum.
    ///
    /// # Errors
    ///
    /// An `unauthorized` problem (a `not-found` one from a server older than the endpoint), or
    /// any error of [`ClientError`].
    pub async fn earnings(&self) -> Result<Earnings> {
        self.send(self.request(Method::GET, "/me/earnings")).await
    }

    /// The fees the server charges (listing fee, ticket commission, default micropayment
    /// rate); needs no session.
    ///
    /// # Errors
    /// A `not-found` problem from a server older than the endpoint, or any error of
    /// [`ClientError`].
    pub async fn pricing(&self) -> Result<Pricing> {
        self.send(self.request(Method::GET, "/pricing")).await
    }

    /// Sends `request` and decodes a 2xx JSON body as `T`.
    async fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T> {
        let response = Self::checked(request).await?;
        let body = response.bytes().await?;
        serde_json::from_slice(&body).map_err(|err| {
            let text = String::from_utf8_lossy(&body);
            let snippet: String = text.chars().take(DECODE_SNIPPET_CHARS).collect();
            ClientError::Decode(format!(
                "expected {}: {err}; body starts `{snippet}`",
                std::any::type_name::<T>()
            ))
        })
    }

    /// Sends `request` and expects a 2xx answer whose body (normally none, as with 204) is
    /// ignored.
    async fn send_empty(&self, request: RequestBuilder) -> Result<()> {
        Self::checked(request).await.map(drop)
    }

    /// Sends `request`; a non-2xx answer becomes a [`ClientError`].
    async fn checked(request: RequestBuilder) -> Result<Response> {
        let response = request.send().await?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.bytes().await?;
        Err(error_from_answer(status.as_u16(), &body))
    }
}

/// The error of a non-2xx answer: its problem when the body is one, else the raw body.
fn error_from_answer(status: u16, body: &[u8]) -> ClientError {
    match serde_json::from_slice::<Problem>(body) {
        Ok(problem) => ClientError::Problem(problem),
        Err(_) => ClientError::UnexpectedStatus {
            status,
            body: String::from_utf8_lossy(body).into_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_loses_trailing_slashes() {
        let client = Client::new("http://127.0.0.1:8080//").unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:8080");
        assert_eq!(client.url("/gigs"), "http://127.0.0.1:8080/api/v1/gigs");
        assert_eq!(client.token(), None);
    }

    #[test]
    fn base_url_must_be_http_with_a_host() {
        for bad in ["", "127.0.0.1:8080", "ftp://example.com", "http://h?x=1"] {
            assert!(
                matches!(Client::new(bad), Err(ClientError::InvalidBaseUrl(_))),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn debug_redacts_the_token() {
        let client = Client::new("http://localhost")
            .unwrap()
            .with_token("s3cret");
        assert_eq!(client.token(), Some("s3cret"));
        assert!(!format!("{client:?}").contains("s3cret"));
    }

    #[test]
    fn problem_body_becomes_a_problem_with_its_status() {
        let body = br#"{"type":"https://bookmygig.dev/problems/sold-out","title":"Sold out","status":409,"detail":"No seats left."}"#;
        let err = error_from_answer(409, body);
        assert_eq!(err.status(), Some(409));
        assert_eq!(err.problem().map(Problem::code), Some("sold-out"));
    }

    #[test]
    fn other_error_bodies_keep_status_and_text() {
        let err = error_from_answer(502, b"Bad Gateway");
        assert!(err.problem().is_none());
        assert_eq!(err.status(), Some(502));
        assert!(matches!(err, ClientError::UnexpectedStatus { body, .. } if body == "Bad Gateway"));
    }
}
