//! The GNAP authorization server at `/auth`: grant requests, continuation (by polling, with or
//! without `interact_ref`), grant cancellation, token rotation and revocation, and the consent
//! page a resource owner (or a test, through `/_test`) answers.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::{App, Reply, pipeline};
use crate::state::{GrantState, refuse};

/// Constant-time comparison of secrets (tokens, nonces).
fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// `POST /auth`: a grant request. Incoming-payment and quote access is granted at once;
/// outgoing-payment access needs the resource owner's consent (`interact.redirect`).
pub(crate) async fn grant_request(
    State(app): State<App>,
    request: http::Request<Body>,
) -> Response {
    pipeline(app, "post-request", request, |call| async move {
        call.require_signature_headers()?;
        let body = call.json_body(false)?.unwrap_or_default();
        let client = body["client"].as_str().unwrap_or_default().to_string();
        call.verify_signature(&client).await?;
        let Some(access) = body["access_token"]["access"].as_array().cloned() else {
            return Err(refuse(
                400,
                "invalid_request",
                "the test wallet grants access tokens only (no subject requests)",
            ));
        };
        let interactive = access.iter().any(|a| a["type"] == "outgoing-payment");
        let interact = &body["interact"];
        if interactive {
            let redirect = interact["start"]
                .as_array()
                .is_some_and(|s| s.iter().any(|m| m == "redirect"));
            if !redirect {
                return Err(refuse(
                    400,
                    "invalid_request",
                    "outgoing-payment access needs interaction: interact.start must include redirect",
                ));
            }
        }
        let finish = match (interact["finish"]["uri"].as_str(), interact["finish"]["nonce"].as_str()) {
            (Some(uri), Some(nonce)) => Some((uri.to_string(), nonce.to_string())),
            _ => None,
        };
        let mut st = call.app.lock();
        st.check_access_request(&access)?;
        let grant = st.create_grant(&client, access, finish);
        if interactive {
            Ok(Reply::json(
                200,
                json!({
                    "interact": {"redirect": st.consent_url(&grant), "finish": grant.interact_nonce},
                    "continue": st.continue_json(&grant, true),
                }),
            ))
        } else {
            let token = st
                .issue_token(grant.id)
                .ok_or_else(|| refuse(500, "request_denied", "the grant vanished"))?;
            Ok(Reply::json(
                200,
                json!({"access_token": token, "continue": st.continue_json(&grant, false)}),
            ))
        }
    })
    .await
}

/// `POST /auth/continue/{id}`: continuation. While consent is pending the answer is a new
/// `continue` (with `wait`); once given, the access token. `interact_ref` is optional (a
/// terminal client polls without it); when sent it must be the one consent produced.
pub(crate) async fn continue_grant(
    State(app): State<App>,
    Path(id): Path<String>,
    request: http::Request<Body>,
) -> Response {
    pipeline(app, "post-continue", request, |call| async move {
        let grant_id = Uuid::parse_str(&id)
            .map_err(|_| refuse(404, "invalid_continuation", "no such grant"))?;
        let token = call.gnap_token().ok_or_else(|| {
            refuse(
                401,
                "invalid_continuation",
                "the continuation token is required (Authorization: GNAP <token>)",
            )
        })?;
        call.require_signature_headers()?;
        let body = call.json_body(true)?;
        let client = {
            let st = call.app.lock();
            let g = st
                .grants
                .get(&grant_id)
                .ok_or_else(|| refuse(404, "invalid_continuation", "no such grant"))?;
            if !ct_eq(&g.continue_token, &token) {
                return Err(refuse(
                    401,
                    "invalid_continuation",
                    "wrong continuation token",
                ));
            }
            g.client.clone()
        };
        call.verify_signature(&client).await?;
        let interact_ref = body
            .as_ref()
            .and_then(|b| b.get("interact_ref"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut st = call.app.lock();
        let wait = st.settings.continue_wait_secs;
        let g = st
            .grants
            .get_mut(&grant_id)
            .ok_or_else(|| refuse(404, "invalid_continuation", "no such grant"))?;
        match g.state {
            GrantState::Pending => {
                if interact_ref.is_some() {
                    return Err(refuse(
                        401,
                        "invalid_continuation",
                        "no interaction has finished: interact_ref is unknown",
                    ));
                }
                if let Some(last) = g.last_continue {
                    // A little slack for clocks: a client that waits `wait` after our answer is
                    // never too fast.
                    let min = std::time::Duration::from_secs(u64::from(wait));
                    if last.elapsed() + std::time::Duration::from_millis(100) < min {
                        return Err(refuse(
                            400,
                            "too_fast",
                            format!("continued before the {wait} s wait"),
                        ));
                    }
                }
                g.last_continue = Some(std::time::Instant::now());
                let g = g.clone();
                Ok(Reply::json(
                    200,
                    json!({"continue": st.continue_json(&g, true)}),
                ))
            }
            GrantState::Approved => {
                if let Some(r) = &interact_ref {
                    if g.interact_ref.as_deref() != Some(r.as_str()) {
                        return Err(refuse(401, "invalid_continuation", "wrong interact_ref"));
                    }
                }
                g.state = GrantState::Issued;
                let g = g.clone();
                let token = st
                    .issue_token(g.id)
                    .ok_or_else(|| refuse(401, "request_denied", "the grant vanished"))?;
                Ok(Reply::json(
                    200,
                    json!({"access_token": token, "continue": st.continue_json(&g, false)}),
                ))
            }
            GrantState::Issued => Err(refuse(
                401,
                "invalid_continuation",
                "the grant's access token was already issued: rotate it with its manage URL",
            )),
            GrantState::Declined => Err(refuse(
                401,
                "request_denied",
                "the resource owner declined the grant",
            )),
            GrantState::Expired => Err(refuse(
                401,
                "request_denied",
                "the grant's interaction expired before consent",
            )),
            GrantState::Revoked => Err(refuse(401, "request_denied", "the grant was revoked")),
        }
    })
    .await
}

/// `DELETE /auth/continue/{id}`: the client cancels its grant (and its tokens).
pub(crate) async fn cancel_grant(
    State(app): State<App>,
    Path(id): Path<String>,
    request: http::Request<Body>,
) -> Response {
    pipeline(app, "delete-continue", request, |call| async move {
        let grant_id =
            Uuid::parse_str(&id).map_err(|_| refuse(404, "invalid_request", "no such grant"))?;
        let token = call.gnap_token().ok_or_else(|| {
            refuse(
                401,
                "invalid_continuation",
                "the continuation token is required",
            )
        })?;
        call.require_signature_headers()?;
        let client = {
            let st = call.app.lock();
            let g = st
                .grants
                .get(&grant_id)
                .ok_or_else(|| refuse(404, "invalid_request", "no such grant"))?;
            if !ct_eq(&g.continue_token, &token) {
                return Err(refuse(
                    401,
                    "invalid_continuation",
                    "wrong continuation token",
                ));
            }
            g.client.clone()
        };
        call.verify_signature(&client).await?;
        call.app.lock().revoke(grant_id)?;
        Ok(Reply::empty(204))
    })
    .await
}

/// The token behind a management id, checked against the presented value: its grant's client.
fn managed_token(
    app: &App,
    manage: &str,
    presented: Option<String>,
    not_found: (u16, &'static str),
) -> Result<(Uuid, String), crate::state::Refusal> {
    let manage =
        Uuid::parse_str(manage).map_err(|_| refuse(not_found.0, not_found.1, "no such token"))?;
    let presented = presented.ok_or_else(|| {
        refuse(
            401,
            "invalid_client",
            "the access token is required (Authorization: GNAP <token>)",
        )
    })?;
    let st = app.lock();
    let token = st
        .token_by_manage
        .get(&manage)
        .ok_or_else(|| refuse(not_found.0, not_found.1, "no such token"))?;
    if !ct_eq(&token.value, &presented) {
        return Err(refuse(
            401,
            "invalid_client",
            "the token does not match its manage URL",
        ));
    }
    let grant = st
        .grants
        .get(&token.grant)
        .ok_or_else(|| refuse(not_found.0, not_found.1, "no such grant"))?;
    Ok((manage, grant.client.clone()))
}

/// `POST /auth/token/{id}`: rotation. The old value stops working; an expired token may be
/// rotated (that is what rotation is for).
pub(crate) async fn rotate_token(
    State(app): State<App>,
    Path(id): Path<String>,
    request: http::Request<Body>,
) -> Response {
    pipeline(app, "post-token", request, |call| async move {
        call.require_signature_headers()?;
        let (manage, client) =
            managed_token(&call.app, &id, call.gnap_token(), (404, "invalid_rotation"))?;
        call.verify_signature(&client).await?;
        let mut st = call.app.lock();
        let old = st
            .token_by_manage
            .remove(&manage)
            .ok_or_else(|| refuse(404, "invalid_rotation", "no such token"))?;
        st.tokens.remove(&old.value);
        if st.grants.get(&old.grant).map(|g| g.state) != Some(GrantState::Issued) {
            return Err(refuse(
                400,
                "invalid_rotation",
                "the grant is no longer valid",
            ));
        }
        let token = st
            .issue_token(old.grant)
            .ok_or_else(|| refuse(404, "invalid_rotation", "no such grant"))?;
        Ok(Reply::json(200, json!({"access_token": token})))
    })
    .await
}

/// `DELETE /auth/token/{id}`: revocation (idempotent: an unknown token answers 204 too).
pub(crate) async fn revoke_token(
    State(app): State<App>,
    Path(id): Path<String>,
    request: http::Request<Body>,
) -> Response {
    pipeline(app, "delete-token", request, |call| async move {
        call.require_signature_headers()?;
        let known = Uuid::parse_str(&id)
            .ok()
            .is_some_and(|m| call.app.lock().token_by_manage.contains_key(&m));
        if !known {
            return Ok(Reply::empty(204));
        }
        let (manage, client) =
            managed_token(&call.app, &id, call.gnap_token(), (404, "invalid_request"))?;
        call.verify_signature(&client).await?;
        let mut st = call.app.lock();
        if let Some(old) = st.token_by_manage.remove(&manage) {
            st.tokens.remove(&old.value);
        }
        Ok(Reply::empty(204))
    })
    .await
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /auth/interact/{id}/{nonce}`: the consent page `interact.redirect` points at, with
/// Approve and Decline buttons (for manual runs; tests use `/_test/grants/...`).
pub(crate) async fn consent_page(
    State(app): State<App>,
    Path((id, nonce)): Path<(String, String)>,
) -> Response {
    let st = app.lock();
    let grant = Uuid::parse_str(&id).ok().and_then(|id| st.grants.get(&id));
    let Some(g) = grant.filter(|g| ct_eq(&g.interact_nonce, &nonce)) else {
        return (http::StatusCode::NOT_FOUND, "no such interaction\n").into_response();
    };
    let access = serde_json::to_string_pretty(&g.access).unwrap_or_default();
    let base = st.consent_url(g);
    Html(format!(
        "<!doctype html><html><head><title>Test wallet: grant consent</title></head><body>\
         <h1>BookMyGig test wallet</h1><p>{client} asks for:</p><pre>{access}</pre>\
         <p>State: {state:?}</p>\
         <form method=post action=\"{base}/approve\"><button>Approve</button></form>\
         <form method=post action=\"{base}/decline\"><button>Decline</button></form>\
         </body></html>",
        client = escape_html(&g.client),
        access = escape_html(&access),
        state = g.state,
        base = escape_html(&base),
    ))
    .into_response()
}

/// `POST /auth/interact/{id}/{nonce}/{approve|decline}`: the resource owner's answer. With a
/// finish URI the browser is sent back to the client with `hash` and `interact_ref` (the hash
/// computed as Rafiki does: SHA-256 over the client nonce, our nonce, the reference and the
/// grant endpoint, base64).
pub(crate) async fn consent_decision(
    State(app): State<App>,
    Path((id, nonce, decision)): Path<(String, String, String)>,
) -> Response {
    let approve = match decision.as_str() {
        "approve" => true,
        "decline" => false,
        _ => return (http::StatusCode::NOT_FOUND, "approve or decline\n").into_response(),
    };
    let mut st = app.lock();
    let Some(grant) = Uuid::parse_str(&id).ok().filter(|g| {
        st.grants
            .get(g)
            .is_some_and(|g| ct_eq(&g.interact_nonce, &nonce))
    }) else {
        return (http::StatusCode::NOT_FOUND, "no such interaction\n").into_response();
    };
    match st.decide(grant, approve) {
        Err(r) => (
            http::StatusCode::from_u16(r.status).unwrap_or(http::StatusCode::CONFLICT),
            format!("{}\n", r.description),
        )
            .into_response(),
        Ok(info) => {
            let finish = st.grants.get(&grant).and_then(|g| g.finish.clone());
            match (finish, info.interact_ref) {
                (Some((uri, client_nonce)), Some(interact_ref)) => {
                    let data =
                        format!("{client_nonce}\n{nonce}\n{interact_ref}\n{}", st.auth_url());
                    let hash = STANDARD.encode(Sha256::digest(data.as_bytes()));
                    match url::Url::parse(&uri) {
                        Ok(mut u) => {
                            u.query_pairs_mut()
                                .append_pair("hash", &hash)
                                .append_pair("interact_ref", &interact_ref);
                            Redirect::to(u.as_str()).into_response()
                        }
                        Err(_) => {
                            "approved; the client's finish URI is malformed\n".into_response()
                        }
                    }
                }
                (_, Some(_)) => "Approved. Return to the application.\n".into_response(),
                (_, None) => "Declined.\n".into_response(),
            }
        }
    }
}
