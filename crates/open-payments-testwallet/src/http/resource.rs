//! The resource server at `/op`: incoming payments, quotes and outgoing payments. Every
//! request but the public read of an incoming payment needs `Authorization: GNAP <token>` and a
//! signature by the key of the token's grant's client.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use uuid::Uuid;

use super::{App, Call, Reply, pipeline};
use crate::state::{Authorized, Page, Refusal, Violation, ViolationKind, refuse};

/// The token's grant, with the request's signature verified against its client's keys.
async fn authorize(call: &Call) -> Result<Authorized, Refusal> {
    let token = call.gnap_token().ok_or_else(|| {
        refuse(
            401,
            "unauthorized",
            "an access token is required (Authorization: GNAP <token>)",
        )
    })?;
    call.require_signature_headers()?;
    let auth = call.app.lock().authorize(&token)?;
    call.verify_signature(&auth.client).await?;
    Ok(auth)
}

fn resource_id(id: &str) -> Result<Uuid, Refusal> {
    Uuid::parse_str(id).map_err(|_| refuse(404, "not_found", "no such resource"))
}

/// `POST /op/incoming-payments`.
pub(crate) async fn create_incoming(
    State(app): State<App>,
    request: http::Request<Body>,
) -> Response {
    pipeline(app, "create-incoming-payment", request, |call| async move {
        call.require_signature_headers()?;
        let body = call.json_body(false)?.unwrap_or_default();
        let auth = authorize(&call).await?;
        let created = call.app.lock().create_incoming(&auth, &body)?;
        Ok(Reply::json(201, created))
    })
    .await
}

/// `GET /op/incoming-payments/{id}`: the full resource for a reader with a token, the public
/// view (`receivedAmount`, `authServer`) for anyone else.
pub(crate) async fn get_incoming(
    State(app): State<App>,
    Path(id): Path<String>,
    request: http::Request<Body>,
) -> Response {
    pipeline(app, "get-incoming-payment", request, |call| async move {
        let id = resource_id(&id)?;
        let auth = match call.gnap_token() {
            Some(_) => Some(authorize(&call).await?),
            None => None,
        };
        let found = call.app.lock().get_incoming(id, auth.as_ref())?;
        Ok(Reply::json(200, found))
    })
    .await
}

/// `POST /op/incoming-payments/{id}/complete`.
pub(crate) async fn complete_incoming(
    State(app): State<App>,
    Path(id): Path<String>,
    request: http::Request<Body>,
) -> Response {
    pipeline(
        app,
        "complete-incoming-payment",
        request,
        |call| async move {
            let id = resource_id(&id)?;
            let auth = authorize(&call).await?;
            let done = call.app.lock().complete_incoming(id, &auth)?;
            Ok(Reply::json(200, done))
        },
    )
    .await
}

/// `POST /op/quotes`.
pub(crate) async fn create_quote(State(app): State<App>, request: http::Request<Body>) -> Response {
    pipeline(app, "create-quote", request, |call| async move {
        call.require_signature_headers()?;
        let body = call.json_body(false)?.unwrap_or_default();
        let auth = authorize(&call).await?;
        let quote = call.app.lock().create_quote(&auth, &body)?;
        Ok(Reply::json(201, quote))
    })
    .await
}

/// `GET /op/quotes/{id}`.
pub(crate) async fn get_quote(
    State(app): State<App>,
    Path(id): Path<String>,
    request: http::Request<Body>,
) -> Response {
    pipeline(app, "get-quote", request, |call| async move {
        let id = resource_id(&id)?;
        let auth = authorize(&call).await?;
        let quote = call.app.lock().get_quote(id, &auth)?;
        Ok(Reply::json(200, quote))
    })
    .await
}

/// `POST /op/outgoing-payments`: created and paid at once.
pub(crate) async fn create_outgoing(
    State(app): State<App>,
    request: http::Request<Body>,
) -> Response {
    pipeline(app, "create-outgoing-payment", request, |call| async move {
        call.require_signature_headers()?;
        let body = call.json_body(false)?.unwrap_or_default();
        let auth = authorize(&call).await?;
        let payment = call.app.lock().create_outgoing(&auth, &body)?;
        Ok(Reply::json(201, payment))
    })
    .await
}

/// `GET /op/outgoing-payments/{id}`.
pub(crate) async fn get_outgoing(
    State(app): State<App>,
    Path(id): Path<String>,
    request: http::Request<Body>,
) -> Response {
    pipeline(app, "get-outgoing-payment", request, |call| async move {
        let id = resource_id(&id)?;
        let auth = authorize(&call).await?;
        let payment = call.app.lock().get_outgoing(id, &auth)?;
        Ok(Reply::json(200, payment))
    })
    .await
}

/// The list operations' query: `wallet-address` (required), `cursor`, `first`, `last`
/// (1 to 100), checked as the spec's parameters say.
fn list_query(call: &Call) -> Result<(String, Page), Refusal> {
    let url = url::Url::parse(&call.target_uri)
        .map_err(|_| refuse(400, "invalid_request", "bad target URI"))?;
    let mut wallet = None;
    let mut page = Page::default();
    let mut problems = Vec::new();
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "wallet-address" => wallet = Some(v.to_string()),
            "cursor" if !v.is_empty() => page.cursor = Some(v.to_string()),
            "first" | "last" => match v.parse::<usize>() {
                Ok(n) if (1..=100).contains(&n) => {
                    if k == "first" {
                        page.first = Some(n);
                    } else {
                        page.last = Some(n);
                    }
                }
                _ => problems.push(format!("{k} must be an integer from 1 to 100")),
            },
            _ => {}
        }
    }
    if wallet.is_none() {
        problems.push("the wallet-address query parameter is required".into());
    }
    if !problems.is_empty() {
        call.app.record(Violation {
            kind: ViolationKind::Request,
            operation: call.op.to_string(),
            request: format!("{} {}", call.method, url.path()),
            messages: problems.clone(),
        });
        return Err(refuse(400, "invalid_request", problems.join("; ")));
    }
    Ok((wallet.unwrap_or_default(), page))
}

/// `GET /op/incoming-payments?wallet-address=…`.
pub(crate) async fn list_incoming(
    State(app): State<App>,
    request: http::Request<Body>,
) -> Response {
    pipeline(app, "list-incoming-payments", request, |call| async move {
        let (wallet, page) = list_query(&call)?;
        let auth = authorize(&call).await?;
        let list = call.app.lock().list(&auth, false, &wallet, &page)?;
        Ok(Reply::json(200, list))
    })
    .await
}

/// `GET /op/outgoing-payments?wallet-address=…`.
pub(crate) async fn list_outgoing(
    State(app): State<App>,
    request: http::Request<Body>,
) -> Response {
    pipeline(app, "list-outgoing-payments", request, |call| async move {
        let (wallet, page) = list_query(&call)?;
        let auth = authorize(&call).await?;
        let list = call.app.lock().list(&auth, true, &wallet, &page)?;
        Ok(Reply::json(200, list))
    })
    .await
}
