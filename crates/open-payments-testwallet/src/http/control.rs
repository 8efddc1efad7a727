//! The test control surface: the operations a test drives (wallets, balances, consent,
//! faults, violations) as methods of [`App`], which both the Rust handle
//! ([`crate::TestWallet`]) and the `/_test/...` HTTP routes call. No signatures, no spec: this
//! is the test's side door, on loopback only.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::App;
use crate::money::Asset;
use crate::signing::Jwk;
use crate::state::{Fault, GrantInfo, Violation, Wallet, WalletInfo};
use crate::{ControlError, NewWallet};

/// Names a wallet may not take: the servers' own path prefixes.
const RESERVED: [&str; 3] = ["auth", "op", "_test"];

impl App {
    pub(crate) fn create_wallet(&self, new: NewWallet) -> Result<WalletInfo, ControlError> {
        let name = new.name;
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
            && !name.starts_with('.')
            && !RESERVED.contains(&name.as_str());
        if !valid {
            return Err(ControlError::BadName(name));
        }
        for key in &new.keys {
            key.verifying_key()
                .map_err(|e| ControlError::BadKey(e.to_string()))?;
        }
        let mut st = self.lock();
        if st.wallets.contains_key(&name) {
            return Err(ControlError::WalletExists(name));
        }
        let public_name = new.public_name.unwrap_or_else(|| name.clone());
        st.wallets.insert(
            name.clone(),
            Wallet {
                public_name,
                asset: Asset {
                    code: new.asset_code.unwrap_or_else(|| "USD".into()),
                    scale: new.asset_scale.unwrap_or(crate::DEFAULT_ASSET_SCALE),
                },
                balance: new.balance,
                keys: new.keys,
            },
        );
        st.wallet_info(&name)
            .ok_or(ControlError::NoSuchWallet(name))
    }

    pub(crate) fn add_key(&self, wallet: &str, jwk: Jwk) -> Result<(), ControlError> {
        jwk.verifying_key()
            .map_err(|e| ControlError::BadKey(e.to_string()))?;
        let mut st = self.lock();
        let w = st
            .wallets
            .get_mut(wallet)
            .ok_or_else(|| ControlError::NoSuchWallet(wallet.to_string()))?;
        w.keys.retain(|k| k.kid != jwk.kid);
        w.keys.push(jwk);
        Ok(())
    }

    pub(crate) fn wallet(&self, wallet: &str) -> Result<WalletInfo, ControlError> {
        self.lock()
            .wallet_info(wallet)
            .ok_or_else(|| ControlError::NoSuchWallet(wallet.to_string()))
    }

    pub(crate) fn set_balance(&self, wallet: &str, balance: u64) -> Result<(), ControlError> {
        let mut st = self.lock();
        let w = st
            .wallets
            .get_mut(wallet)
            .ok_or_else(|| ControlError::NoSuchWallet(wallet.to_string()))?;
        w.balance = balance;
        Ok(())
    }

    pub(crate) fn payments(
        &self,
        wallet: &str,
        outgoing: bool,
    ) -> Result<Vec<Value>, ControlError> {
        let st = self.lock();
        if !st.wallets.contains_key(wallet) {
            return Err(ControlError::NoSuchWallet(wallet.to_string()));
        }
        Ok(if outgoing {
            st.outgoing
                .iter()
                .filter(|o| o.wallet == wallet)
                .map(|o| st.outgoing_json(o, false))
                .collect()
        } else {
            st.incoming
                .iter()
                .filter(|p| p.wallet == wallet)
                .map(|p| st.incoming_json(p, false))
                .collect()
        })
    }

    pub(crate) fn grants(&self) -> Vec<GrantInfo> {
        let st = self.lock();
        let mut grants: Vec<_> = st.grants.values().collect();
        grants.sort_by_key(|g| g.id);
        grants.into_iter().map(|g| st.grant_info(g)).collect()
    }

    pub(crate) fn grant(&self, id_or_url: &str) -> Result<GrantInfo, ControlError> {
        let st = self.lock();
        st.find_grant(id_or_url)
            .and_then(|id| st.grants.get(&id))
            .map(|g| st.grant_info(g))
            .ok_or_else(|| ControlError::NoSuchGrant(id_or_url.to_string()))
    }

    pub(crate) fn grant_action(
        &self,
        id_or_url: &str,
        action: &str,
    ) -> Result<GrantInfo, ControlError> {
        let mut st = self.lock();
        let id = st
            .find_grant(id_or_url)
            .ok_or_else(|| ControlError::NoSuchGrant(id_or_url.to_string()))?;
        let result = match action {
            "approve" => st.decide(id, true),
            "decline" => st.decide(id, false),
            "expire" => st.expire(id),
            "revoke" => st.revoke(id).and_then(|()| {
                st.grants
                    .get(&id)
                    .map(|g| st.grant_info(g))
                    .ok_or_else(|| crate::state::refuse(404, "invalid_request", "no such grant"))
            }),
            other => {
                return Err(ControlError::Refused(format!(
                    "unknown grant action {other}"
                )));
            }
        };
        result.map_err(|r| ControlError::Refused(r.description))
    }

    pub(crate) fn inject_fault(&self, fault: Fault) -> Result<(), ControlError> {
        if !self.inner.spec.has_operation(&fault.operation) {
            return Err(ControlError::Refused(format!(
                "no operation {} in the specs",
                fault.operation
            )));
        }
        self.lock().faults.push(fault);
        Ok(())
    }

    pub(crate) fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    pub(crate) fn violations(&self) -> Vec<Violation> {
        self.lock().violations.clone()
    }

    pub(crate) fn clear_violations(&self) {
        self.lock().violations.clear();
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match &self {
            ControlError::NoSuchWallet(_) | ControlError::NoSuchGrant(_) => StatusCode::NOT_FOUND,
            ControlError::WalletExists(_) | ControlError::Refused(_) => StatusCode::CONFLICT,
            ControlError::BadName(_) | ControlError::BadKey(_) => StatusCode::BAD_REQUEST,
        };
        (status, Json(json!({"error": self.to_string()}))).into_response()
    }
}

/// The `/_test` routes (nested under it).
pub(crate) fn router() -> Router<App> {
    Router::new()
        .route("/wallets", post(create_wallet))
        .route("/wallets/{name}", get(wallet))
        .route("/wallets/{name}/balance", post(set_balance))
        .route("/wallets/{name}/keys", post(add_key))
        .route("/wallets/{name}/incoming-payments", get(incoming))
        .route("/wallets/{name}/outgoing-payments", get(outgoing))
        .route("/grants", get(grants))
        .route("/grants/{id}", get(grant))
        .route("/grants/{id}/{action}", post(grant_action))
        .route("/consent", post(consent))
        .route("/faults", post(inject_fault).delete(clear_faults))
        .route("/violations", get(violations).delete(clear_violations))
        .route("/", get(index))
        .fallback(|| async { StatusCode::NOT_FOUND })
}

async fn index(State(app): State<App>) -> Json<Value> {
    let base = app.lock().settings.base.clone();
    Json(json!({
        "base": base,
        "routes": [
            "POST /_test/wallets {name, publicName?, assetCode?, assetScale?, balance?, keys?}",
            "GET /_test/wallets/{name}",
            "POST /_test/wallets/{name}/balance {balance}",
            "POST /_test/wallets/{name}/keys {jwk}",
            "GET /_test/wallets/{name}/incoming-payments",
            "GET /_test/wallets/{name}/outgoing-payments",
            "GET /_test/grants",
            "GET /_test/grants/{id}",
            "POST /_test/grants/{id}/{approve|decline|expire|revoke}",
            "POST /_test/consent {url, decision: approve|decline}",
            "POST /_test/faults {operation, count, action: {status: 503} | drop-response | hold}",
            "DELETE /_test/faults",
            "GET /_test/violations",
            "DELETE /_test/violations",
        ],
    }))
}

async fn create_wallet(State(app): State<App>, Json(new): Json<NewWallet>) -> Response {
    match app.create_wallet(new) {
        Ok(info) => (StatusCode::CREATED, Json(info)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn wallet(
    State(app): State<App>,
    Path(name): Path<String>,
) -> Result<Json<WalletInfo>, ControlError> {
    app.wallet(&name).map(Json)
}

#[derive(Deserialize)]
struct Balance {
    balance: u64,
}

async fn set_balance(
    State(app): State<App>,
    Path(name): Path<String>,
    Json(b): Json<Balance>,
) -> Result<Json<WalletInfo>, ControlError> {
    app.set_balance(&name, b.balance)?;
    app.wallet(&name).map(Json)
}

#[derive(Deserialize)]
struct AddKey {
    jwk: Jwk,
}

async fn add_key(
    State(app): State<App>,
    Path(name): Path<String>,
    Json(k): Json<AddKey>,
) -> Result<StatusCode, ControlError> {
    app.add_key(&name, k.jwk).map(|()| StatusCode::NO_CONTENT)
}

async fn incoming(
    State(app): State<App>,
    Path(name): Path<String>,
) -> Result<Json<Vec<Value>>, ControlError> {
    app.payments(&name, false).map(Json)
}

async fn outgoing(
    State(app): State<App>,
    Path(name): Path<String>,
) -> Result<Json<Vec<Value>>, ControlError> {
    app.payments(&name, true).map(Json)
}

async fn grants(State(app): State<App>) -> Json<Vec<GrantInfo>> {
    Json(app.grants())
}

async fn grant(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<GrantInfo>, ControlError> {
    app.grant(&id).map(Json)
}

async fn grant_action(
    State(app): State<App>,
    Path((id, action)): Path<(String, String)>,
) -> Result<Json<GrantInfo>, ControlError> {
    app.grant_action(&id, &action).map(Json)
}

#[derive(Deserialize)]
struct Consent {
    url: String,
    decision: String,
}

async fn consent(
    State(app): State<App>,
    Json(c): Json<Consent>,
) -> Result<Json<GrantInfo>, ControlError> {
    match c.decision.as_str() {
        "approve" | "decline" => app.grant_action(&c.url, &c.decision).map(Json),
        other => Err(ControlError::Refused(format!(
            "decision {other}: approve or decline"
        ))),
    }
}

async fn inject_fault(
    State(app): State<App>,
    Json(f): Json<Fault>,
) -> Result<StatusCode, ControlError> {
    app.inject_fault(f).map(|()| StatusCode::NO_CONTENT)
}

async fn clear_faults(State(app): State<App>) -> StatusCode {
    app.clear_faults();
    StatusCode::NO_CONTENT
}

async fn violations(State(app): State<App>) -> Json<Vec<Violation>> {
    Json(app.violations())
}

async fn clear_violations(State(app): State<App>) -> StatusCode {
    app.clear_violations();
    StatusCode::NO_CONTENT
}
