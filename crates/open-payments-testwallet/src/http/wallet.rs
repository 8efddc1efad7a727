//! The wallet address server: `GET /{name}` (the wallet address document) and
//! `GET /{name}/jwks.json` (its keys). Open to anonymous requests, as the spec says.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;

use super::{App, Reply, pipeline};
use crate::state::refuse;

/// `GET /{name}`: the wallet address document.
pub(crate) async fn document(
    State(app): State<App>,
    Path(name): Path<String>,
    request: http::Request<Body>,
) -> Response {
    let doc_app = app.clone();
    pipeline(app, "get-wallet-address", request, |_| async move {
        doc_app
            .lock()
            .wallet_document(&name)
            .map(|doc| Reply::json(200, doc))
            .ok_or_else(|| refuse(404, "not_found", "no such wallet address"))
    })
    .await
}

/// `GET /{name}/jwks.json`: the public keys bound to the wallet address.
pub(crate) async fn jwks(
    State(app): State<App>,
    Path(name): Path<String>,
    request: http::Request<Body>,
) -> Response {
    let doc_app = app.clone();
    pipeline(app, "get-wallet-address-keys", request, |_| async move {
        let st = doc_app.lock();
        let wallet = st
            .wallets
            .get(&name)
            .ok_or_else(|| refuse(404, "not_found", "no such wallet address"))?;
        Ok(Reply::json(200, json!({"keys": wallet.keys})))
    })
    .await
}
