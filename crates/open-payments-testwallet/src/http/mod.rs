//! The HTTP edge: one router for the three roles (wallet addresses at `/{name}`, the auth
//! server at `/auth`, the resource server at `/op`) and the `/_test` control routes, the
//! accept loop, and [`Call`], the per-request pipeline every Open Payments route goes through:
//! injected fault → body parsed and checked against the spec → signature verified → the
//! operation → the response checked against the spec.

mod auth;
mod control;
mod resource;
mod wallet;

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tower::ServiceExt;

use crate::signing::Jwk;
use crate::spec::Spec;
use crate::state::{FaultAction, Refusal, State, Violation, ViolationKind, refuse};
use crate::verify::{self, ReceivedRequest, SignatureMode};

/// The largest request body read (Open Payments bodies are a few hundred bytes).
const MAX_BODY: usize = 64 * 1024;
/// How long open connections may take to finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How long fetching a remote client's JWKS may take.
const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Shared by every request: the state, the compiled spec and the signature mode.
#[derive(Clone)]
pub(crate) struct App {
    pub inner: Arc<Shared>,
}

pub(crate) struct Shared {
    pub state: Mutex<State>,
    pub spec: Spec,
    pub mode: SignatureMode,
    /// For the JWKS of clients hosted elsewhere.
    pub http: reqwest::Client,
}

impl App {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock (a response-schema bug) must not wedge every later
        // request and the test's own inspection.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn record(&self, violation: Violation) {
        tracing::warn!(?violation, "Open Payments violation");
        self.lock().violations.push(violation);
    }

    /// The keys of a client wallet: from this server when it hosts it, else its `jwks.json`.
    async fn client_keys(&self, client: &str) -> Result<Vec<Jwk>, Refusal> {
        {
            let st = self.lock();
            if let Some(name) = st.wallet_name(client) {
                return Ok(st.wallets[&name].keys.clone());
            }
        }
        let url = format!("{}/jwks.json", client.trim_end_matches('/'));
        let fetched = async {
            let resp = self
                .inner
                .http
                .get(&url)
                .header("accept", "application/json")
                .timeout(JWKS_FETCH_TIMEOUT)
                .send()
                .await
                .ok()?;
            if !resp.status().is_success() {
                return None;
            }
            let doc: Value = resp.json().await.ok()?;
            serde_json::from_value::<Vec<Jwk>>(doc.get("keys")?.clone()).ok()
        }
        .await;
        fetched.ok_or_else(|| {
            refuse(
                400,
                "invalid_client",
                format!("the client's keys could not be fetched from {url}"),
            )
        })
    }
}

/// A handle on the connection a request came on: the "drop the response" fault closes it.
#[derive(Clone)]
pub(crate) struct ConnAbort(Arc<Notify>);

/// The router of every route.
pub(crate) fn router(app: App) -> Router {
    Router::new()
        .route("/auth", post(auth::grant_request))
        .route("/auth/", post(auth::grant_request))
        .route(
            "/auth/continue/{id}",
            post(auth::continue_grant).delete(auth::cancel_grant),
        )
        .route(
            "/auth/token/{id}",
            post(auth::rotate_token).delete(auth::revoke_token),
        )
        .route("/auth/interact/{id}/{nonce}", get(auth::consent_page))
        .route(
            "/auth/interact/{id}/{nonce}/{decision}",
            post(auth::consent_decision),
        )
        .route(
            "/op/incoming-payments",
            post(resource::create_incoming).get(resource::list_incoming),
        )
        .route("/op/incoming-payments/{id}", get(resource::get_incoming))
        .route(
            "/op/incoming-payments/{id}/complete",
            post(resource::complete_incoming),
        )
        .route("/op/quotes", post(resource::create_quote))
        .route("/op/quotes/{id}", get(resource::get_quote))
        .route(
            "/op/outgoing-payments",
            post(resource::create_outgoing).get(resource::list_outgoing),
        )
        .route("/op/outgoing-payments/{id}", get(resource::get_outgoing))
        .nest("/_test", control::router())
        .route("/{name}", get(wallet::document))
        .route("/{name}/jwks.json", get(wallet::jwks))
        .with_state(app)
}

/// Serves `router` on `listener` until `shutdown` turns true. Each connection is served by
/// hyper directly so that a request can close its own connection without an answer.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of descriptors or similar: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let router = router.clone();
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let abort = Arc::new(Notify::new());
            let handle = ConnAbort(abort.clone());
            let svc =
                hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(handle.clone());
                    router.clone().oneshot(req.map(Body::new))
                });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                // Dropping the connection closes the socket with the response unsent.
                _ = abort.notified() => {}
                _ = shutdown.changed() => {
                    conn.as_mut().graceful_shutdown();
                    // A request held by a fault never finishes: bound the wait.
                    let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
                }
            }
        });
    }
}

/// A successful answer of an operation.
pub(crate) struct Reply {
    pub status: u16,
    pub body: Option<Value>,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body: Some(body),
        }
    }

    pub fn empty(status: u16) -> Reply {
        Reply { status, body: None }
    }
}

/// One request to an Open Payments operation, on its way through the pipeline.
pub(crate) struct Call {
    pub app: App,
    pub op: &'static str,
    pub method: Method,
    /// `http://{Host}{path}?{query}`: what the client signed as `@target-uri`.
    pub target_uri: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    abort: Option<ConnAbort>,
    drop_after: bool,
    hold_after: bool,
    is_resource: bool,
}

impl Call {
    /// Starts the pipeline: `Err` is the answer when an injected status fault hits.
    pub fn start(
        app: App,
        op: &'static str,
        request: http::Request<Body>,
        body: Bytes,
    ) -> Result<Call, Box<Response>> {
        let (parts, _) = request.into_parts();
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost")
            .to_string();
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let mut call = Call {
            app,
            op,
            method: parts.method,
            target_uri: format!("http://{host}{path}"),
            headers: parts.headers,
            body,
            abort: parts.extensions.get::<ConnAbort>().cloned(),
            drop_after: false,
            hold_after: false,
            is_resource: path.starts_with("/op/"),
        };
        let fault = call.app.lock().take_fault(op);
        match fault {
            Some(FaultAction::Status(status)) => {
                let refusal = refuse(status, "injected_fault", "injected by the test");
                Err(Box::new(call.render(Err(refusal))))
            }
            Some(FaultAction::DropResponse) => {
                call.drop_after = true;
                Ok(call)
            }
            Some(FaultAction::Hold) => {
                call.hold_after = true;
                Ok(call)
            }
            None => Ok(call),
        }
    }

    fn request_line(&self) -> String {
        let path = Uri::try_from(self.target_uri.as_str())
            .ok()
            .and_then(|u| u.path_and_query().map(|p| p.to_string()))
            .unwrap_or_default();
        format!("{} {path}", self.method)
    }

    fn violation(&self, kind: ViolationKind, messages: Vec<String>) {
        self.app.record(Violation {
            kind,
            operation: self.op.to_string(),
            request: self.request_line(),
            messages,
        });
    }

    /// The `error.code` of a 400 for a bad body. The auth server's documents allow
    /// `invalid_request` at 400 for the grant request only: continuation documents
    /// `too_fast`/`invalid_client`, rotation `invalid_rotation`.
    fn bad_body_code(&self) -> &'static str {
        match self.op {
            "post-continue" => "invalid_client",
            "post-token" => "invalid_rotation",
            _ => "invalid_request",
        }
    }

    /// The JSON body checked against the operation's request schema; `None` when the request
    /// has no body and `optional` allows that.
    pub fn json_body(&self, optional: bool) -> Result<Option<Value>, Refusal> {
        if self.body.is_empty() {
            if optional {
                return Ok(None);
            }
            self.violation(
                ViolationKind::Request,
                vec!["the request has no body".into()],
            );
            return Err(refuse(400, self.bad_body_code(), "a JSON body is required"));
        }
        if self.body.len() > MAX_BODY {
            return Err(refuse(400, self.bad_body_code(), "the body is too large"));
        }
        let content_type = self
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let media = content_type.split(';').next().unwrap_or("").trim();
        if !media.eq_ignore_ascii_case("application/json") {
            let msg = format!("Content-Type is {content_type:?}, not application/json");
            self.violation(ViolationKind::Request, vec![msg.clone()]);
            return Err(refuse(400, self.bad_body_code(), msg));
        }
        let value: Value = match serde_json::from_slice(&self.body) {
            Ok(v) => v,
            Err(e) => {
                let msg = format!("the body is not JSON: {e}");
                self.violation(ViolationKind::Request, vec![msg.clone()]);
                return Err(refuse(400, self.bad_body_code(), msg));
            }
        };
        if let Err(messages) = self.app.inner.spec.check_request(self.op, &value) {
            let description = format!("the body does not fit the spec: {}", messages.join("; "));
            self.violation(ViolationKind::Request, messages);
            return Err(refuse(400, self.bad_body_code(), description));
        }
        Ok(Some(value))
    }

    /// The `GNAP` token of the `Authorization` header.
    pub fn gnap_token(&self) -> Option<String> {
        let value = self
            .headers
            .get(http::header::AUTHORIZATION)?
            .to_str()
            .ok()?;
        let token = value.strip_prefix("GNAP ")?.trim();
        (!token.is_empty()).then(|| token.to_string())
    }

    /// Whether the request carries signature headers.
    pub fn is_signed(&self) -> bool {
        verify::is_signed(&self.headers)
    }

    /// Checks that the request is signed at all (before the body, so an unsigned request is a
    /// 401 whatever it carries).
    pub fn require_signature_headers(&self) -> Result<(), Refusal> {
        if self.is_signed() {
            return Ok(());
        }
        self.violation(
            ViolationKind::Signature,
            vec![verify::SignatureError::Missing.to_string()],
        );
        Err(self.signature_refusal(verify::SignatureError::Missing.to_string()))
    }

    fn signature_refusal(&self, description: String) -> Refusal {
        if self.is_resource {
            refuse(401, "invalid_signature", description)
        } else {
            refuse(401, "invalid_client", description)
        }
    }

    /// Verifies the request's signature with the keys of the `client` wallet.
    pub async fn verify_signature(&self, client: &str) -> Result<(), Refusal> {
        let result = match verify::parse(&self.headers, self.app.inner.mode) {
            Err(e) => Err(e.to_string()),
            Ok(parsed) => {
                let keys = self.app.client_keys(client).await?;
                let request = ReceivedRequest {
                    method: self.method.as_str(),
                    target_uri: &self.target_uri,
                    headers: &self.headers,
                    body: &self.body,
                };
                verify::verify(&parsed, &request, &keys).map_err(|e| e.to_string())
            }
        };
        result.map_err(|message| {
            self.violation(ViolationKind::Signature, vec![message.clone()]);
            self.signature_refusal(message)
        })
    }

    /// Ends the pipeline: the answer, checked against the spec; or, under a drop fault, the
    /// connection closed without one.
    pub async fn finish(self, result: Result<Reply, Refusal>) -> Response {
        if self.hold_after {
            // The work is done; the answer never comes (until the client gives up).
            std::future::pending::<()>().await;
        }
        if self.drop_after {
            if let Some(abort) = &self.abort {
                abort.0.notify_one();
                // The connection task drops this future with the connection.
                std::future::pending::<()>().await;
            }
        }
        self.render(result)
    }

    fn render(&self, result: Result<Reply, Refusal>) -> Response {
        let (status, body) = match result {
            Ok(reply) => (reply.status, reply.body),
            Err(r) => (
                r.status,
                Some(json!({"error": {"code": r.code, "description": r.description}})),
            ),
        };
        if let Some(body) = &body {
            if let Err(messages) = self.app.inner.spec.check_response(self.op, status, body) {
                self.violation(ViolationKind::Response, messages.clone());
                if cfg!(debug_assertions) {
                    panic!(
                        "bookmygig-testwallet answered {} {status} outside the spec: {messages:?}\n{body}",
                        self.op
                    );
                }
            }
        }
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = match body {
            Some(body) => (status, axum::Json(body)).into_response(),
            None => status.into_response(),
        };
        if status == StatusCode::UNAUTHORIZED && self.is_resource {
            let as_uri = self.app.lock().auth_url();
            if let Ok(v) = HeaderValue::from_str(&format!("GNAP as_uri={as_uri}")) {
                response
                    .headers_mut()
                    .insert(http::header::WWW_AUTHENTICATE, v);
            }
        }
        response
    }
}

/// Runs an operation through the pipeline: fault, then `f`, then the checked answer.
pub(crate) async fn pipeline<F, Fut>(
    app: App,
    op: &'static str,
    request: http::Request<Body>,
    f: F,
) -> Response
where
    F: FnOnce(Arc<Call>) -> Fut,
    Fut: Future<Output = Result<Reply, Refusal>>,
{
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                axum::Json(
                    json!({"error": {"code": "invalid_request", "description": "body too large"}}),
                ),
            )
                .into_response();
        }
    };
    let request = http::Request::from_parts(parts, Body::empty());
    let call = match Call::start(app, op, request, body) {
        Ok(call) => Arc::new(call),
        Err(response) => return *response,
    };
    let result = f(call.clone()).await;
    match Arc::try_unwrap(call) {
        Ok(call) => call.finish(result).await,
        // `f` kept a clone alive (it must not): answer without the drop fault.
        Err(call) => call.render(result),
    }
}
