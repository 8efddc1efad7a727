//! What the test wallet knows: wallets and balances, grants and tokens, incoming payments,
//! quotes, outgoing payments, injected faults and recorded violations. Behind one `std` mutex
//! (never held across an `.await`); every rule of the three servers that is not HTTP lives here.

use std::collections::HashMap;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::money::{Asset, Interval, convert, parse_amount};
use crate::signing::Jwk;

/// A refusal of a request: the status, the `error.code` and a description for the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// `error.code`.
    pub code: &'static str,
    /// `error.description`.
    pub description: String,
}

pub(crate) fn refuse(status: u16, code: &'static str, description: impl Into<String>) -> Refusal {
    Refusal {
        status,
        code,
        description: description.into(),
    }
}

/// A wallet hosted by the test server.
#[derive(Debug, Clone)]
pub(crate) struct Wallet {
    pub public_name: String,
    pub asset: Asset,
    pub balance: u64,
    pub keys: Vec<Jwk>,
}

/// Where a grant is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GrantState {
    /// Interactive, waiting for the resource owner's consent.
    Pending,
    /// Consent given; the next continuation issues the access token.
    Approved,
    /// The access token has been issued.
    Issued,
    /// The resource owner declined.
    Declined,
    /// The interaction expired before consent (the test said so).
    Expired,
    /// Cancelled by the client, or its token revoked.
    Revoked,
}

#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub id: Uuid,
    pub client: String,
    pub access: Vec<Value>,
    pub state: GrantState,
    pub continue_token: String,
    pub interact_nonce: String,
    pub interact_ref: Option<String>,
    pub finish: Option<(String, String)>,
    pub last_continue: Option<Instant>,
    /// Spent under the outgoing-payment limits: (interval index, debit, receive).
    pub spent: (u64, u64, u64),
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub value: String,
    pub grant: Uuid,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub(crate) struct Incoming {
    pub id: Uuid,
    pub wallet: String,
    pub incoming_amount: Option<u64>,
    pub received: u64,
    pub completed: bool,
    pub expires_at: Option<OffsetDateTime>,
    pub metadata: Option<Value>,
    pub created_at: OffsetDateTime,
    pub client: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Quote {
    pub id: Uuid,
    pub wallet: String,
    pub incoming: Uuid,
    pub debit: u64,
    pub receive: u64,
    pub receive_asset: Asset,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub used: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub id: Uuid,
    pub wallet: String,
    pub incoming: Uuid,
    pub quote: Option<Uuid>,
    pub debit: u64,
    pub receive: u64,
    pub receive_asset: Asset,
    pub sent: u64,
    pub failed: bool,
    pub metadata: Option<Value>,
    pub created_at: OffsetDateTime,
    pub client: String,
    pub grant_spent: (u64, u64),
}

/// What an injected fault does to the request it hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultAction {
    /// Answer with this status (and a generic error body) before doing anything.
    Status(u16),
    /// Do the work, then close the connection without answering (a crash between the wallet
    /// acting and the client learning of it).
    DropResponse,
    /// Do the work, then never answer while the connection lasts: the client is caught
    /// mid-step (a test kills it there).
    Hold,
}

/// A fault for the next `count` requests of an operation (its OpenAPI `operationId`, e.g.
/// `create-outgoing-payment`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Fault {
    /// The `operationId`.
    pub operation: String,
    /// How many requests it hits.
    pub count: u32,
    /// What it does.
    pub action: FaultAction,
}

/// What kind of rule a violation broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ViolationKind {
    /// A request body (or its content type) does not fit the operation's schema.
    Request,
    /// A response of the test server does not fit the schema: a bug here.
    Response,
    /// A request's HTTP message signature is missing or does not verify.
    Signature,
}

/// A breach of the specs, recorded for the test to assert on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Which rule.
    pub kind: ViolationKind,
    /// The `operationId`.
    pub operation: String,
    /// `METHOD path`.
    pub request: String,
    /// What was wrong.
    pub messages: Vec<String>,
}

/// A grant as the control surface shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantInfo {
    /// The grant id (also the last segment of its continue URI).
    pub id: String,
    /// Its state.
    pub state: GrantState,
    /// The client wallet address.
    pub client: String,
    /// The access requested.
    pub access: Vec<Value>,
    /// The consent URL (`interact.redirect`), for interactive grants.
    pub consent_url: Option<String>,
    /// The interaction reference, once consent is given (what a finish redirect would carry).
    pub interact_ref: Option<String>,
}

/// A wallet as the control surface shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletInfo {
    /// The wallet address (`{base}/{name}`).
    pub id: String,
    /// Its name (the path segment).
    pub name: String,
    /// Asset code.
    pub asset_code: String,
    /// Asset scale.
    pub asset_scale: u8,
    /// Balance in the wallet's smallest unit.
    pub balance: u64,
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

pub(crate) fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>())
}

/// The settings the state needs.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub base: String,
    pub continue_wait_secs: u32,
    pub token_lifetime_secs: u32,
    pub quote_lifetime_secs: u32,
}

/// Everything the test wallet holds.
#[derive(Debug)]
pub(crate) struct State {
    pub settings: Settings,
    pub wallets: HashMap<String, Wallet>,
    pub grants: HashMap<Uuid, Grant>,
    /// By token value.
    pub tokens: HashMap<String, Uuid>,
    /// By management id.
    pub token_by_manage: HashMap<Uuid, Token>,
    pub incoming: Vec<Incoming>,
    pub quotes: Vec<Quote>,
    pub outgoing: Vec<Outgoing>,
    pub faults: Vec<Fault>,
    pub violations: Vec<Violation>,
}

/// The authorization a resource request carries, once its token checked out.
#[derive(Debug, Clone)]
pub(crate) struct Authorized {
    pub grant: Uuid,
    pub client: String,
    pub access: Vec<Value>,
}

impl Authorized {
    /// The access items of `kind` allowing `action` on `wallet_url` (an item without an
    /// identifier covers every wallet).
    fn allows(&self, kind: &str, action: &str, wallet_url: &str) -> bool {
        self.access.iter().any(|a| {
            a["type"] == kind
                && a["actions"]
                    .as_array()
                    .is_some_and(|acts| acts.iter().any(|x| x == action))
                && a["identifier"]
                    .as_str()
                    .is_none_or(|id| same_url(id, wallet_url))
        })
    }

    fn require(&self, kind: &str, actions: &[&str], wallet_url: &str) -> Result<bool, Refusal> {
        // Returns whether the `-all` variant (the last of `actions`) matched.
        for (i, action) in actions.iter().enumerate() {
            if self.allows(kind, action, wallet_url) {
                return Ok(i + 1 == actions.len() && actions.len() > 1);
            }
        }
        Err(refuse(
            403,
            "insufficient_grant",
            format!(
                "the access token does not allow {} on {kind}",
                actions.join(" or ")
            ),
        ))
    }
}

/// Two wallet address URLs name the same wallet (a trailing slash aside).
pub(crate) fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

impl State {
    pub fn new(settings: Settings) -> State {
        State {
            settings,
            wallets: HashMap::new(),
            grants: HashMap::new(),
            tokens: HashMap::new(),
            token_by_manage: HashMap::new(),
            incoming: Vec::new(),
            quotes: Vec::new(),
            outgoing: Vec::new(),
            faults: Vec::new(),
            violations: Vec::new(),
        }
    }

    pub fn wallet_url(&self, name: &str) -> String {
        format!("{}/{name}", self.settings.base)
    }

    pub fn auth_url(&self) -> String {
        format!("{}/auth", self.settings.base)
    }

    pub fn resource_url(&self) -> String {
        format!("{}/op", self.settings.base)
    }

    /// The name of the hosted wallet a URL addresses.
    pub fn wallet_name(&self, url: &str) -> Option<String> {
        let rest = url
            .trim_end_matches('/')
            .strip_prefix(&self.settings.base)?;
        let name = rest.strip_prefix('/')?;
        self.wallets.contains_key(name).then(|| name.to_string())
    }

    pub fn wallet_info(&self, name: &str) -> Option<WalletInfo> {
        let w = self.wallets.get(name)?;
        Some(WalletInfo {
            id: self.wallet_url(name),
            name: name.to_string(),
            asset_code: w.asset.code.clone(),
            asset_scale: w.asset.scale,
            balance: w.balance,
        })
    }

    pub fn wallet_document(&self, name: &str) -> Option<Value> {
        let w = self.wallets.get(name)?;
        Some(json!({
            "id": self.wallet_url(name),
            "publicName": w.public_name,
            "assetCode": w.asset.code,
            "assetScale": w.asset.scale,
            "authServer": self.auth_url(),
            "resourceServer": self.resource_url(),
        }))
    }

    // ----- faults and violations -----

    /// Takes one hit of the first fault armed for `operation`.
    pub fn take_fault(&mut self, operation: &str) -> Option<FaultAction> {
        let i = self
            .faults
            .iter()
            .position(|f| f.operation == operation && f.count > 0)?;
        let fault = &mut self.faults[i];
        fault.count -= 1;
        let action = fault.action;
        if fault.count == 0 {
            self.faults.remove(i);
        }
        Some(action)
    }

    // ----- grants (auth server) -----

    pub fn grant_info(&self, g: &Grant) -> GrantInfo {
        let interactive = g.access.iter().any(|a| a["type"] == "outgoing-payment");
        GrantInfo {
            id: g.id.to_string(),
            state: g.state,
            client: g.client.clone(),
            access: g.access.clone(),
            consent_url: interactive.then(|| self.consent_url(g)),
            interact_ref: g.interact_ref.clone(),
        }
    }

    pub fn consent_url(&self, g: &Grant) -> String {
        format!("{}/interact/{}/{}", self.auth_url(), g.id, g.interact_nonce)
    }

    pub fn continue_json(&self, g: &Grant, with_wait: bool) -> Value {
        let mut c = json!({
            "access_token": {"value": g.continue_token},
            "uri": format!("{}/continue/{}", self.auth_url(), g.id),
        });
        if with_wait {
            c["wait"] = json!(self.settings.continue_wait_secs);
        }
        c
    }

    /// Checks a grant request's access items against the wallets hosted here.
    pub fn check_access_request(&self, access: &[Value]) -> Result<(), Refusal> {
        for item in access {
            let kind = item["type"].as_str().unwrap_or_default();
            let identifier = item["identifier"].as_str();
            let wallet = match identifier {
                Some(id) => Some(
                    self.wallet_name(id)
                        .and_then(|n| self.wallets.get(&n))
                        .ok_or_else(|| {
                            refuse(400, "invalid_request", format!("no wallet {id} here"))
                        })?,
                ),
                None => None,
            };
            if kind != "outgoing-payment" {
                continue;
            }
            let limits = &item["limits"];
            if let Some(interval) = limits["interval"].as_str() {
                if Interval::parse(interval).is_none() {
                    return Err(refuse(
                        400,
                        "invalid_request",
                        format!(
                            "interval {interval}: the test wallet takes R[n]/<start>/<duration>"
                        ),
                    ));
                }
            }
            if let (Some(w), Some((_, asset))) = (wallet, parse_amount(&limits["debitAmount"])) {
                if asset != w.asset {
                    return Err(refuse(
                        400,
                        "invalid_request",
                        "limits.debitAmount is not in the wallet's asset",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Creates a grant; interactive when it asks for outgoing payments.
    pub fn create_grant(
        &mut self,
        client: &str,
        access: Vec<Value>,
        finish: Option<(String, String)>,
    ) -> Grant {
        let interactive = access.iter().any(|a| a["type"] == "outgoing-payment");
        let grant = Grant {
            id: Uuid::now_v7(),
            client: client.to_string(),
            access,
            state: if interactive {
                GrantState::Pending
            } else {
                GrantState::Issued
            },
            continue_token: random_token(),
            interact_nonce: random_token(),
            interact_ref: None,
            finish,
            last_continue: interactive.then(Instant::now),
            spent: (0, 0, 0),
        };
        self.grants.insert(grant.id, grant.clone());
        grant
    }

    /// Issues an access token for a grant: its `access_token` JSON.
    pub fn issue_token(&mut self, grant: Uuid) -> Option<Value> {
        let access = self.grants.get(&grant)?.access.clone();
        let manage = Uuid::now_v7();
        let value = random_token();
        let lifetime = self.settings.token_lifetime_secs;
        self.tokens.insert(value.clone(), manage);
        self.token_by_manage.insert(
            manage,
            Token {
                value: value.clone(),
                grant,
                expires_at: now() + time::Duration::seconds(i64::from(lifetime)),
            },
        );
        Some(json!({
            "value": value,
            "manage": format!("{}/token/{manage}", self.auth_url()),
            "expires_in": lifetime,
            "access": access,
        }))
    }

    pub fn revoke_tokens_of(&mut self, grant: Uuid) {
        let gone: Vec<Uuid> = self
            .token_by_manage
            .iter()
            .filter(|(_, t)| t.grant == grant)
            .map(|(m, _)| *m)
            .collect();
        for m in gone {
            if let Some(t) = self.token_by_manage.remove(&m) {
                self.tokens.remove(&t.value);
            }
        }
    }

    /// Finds a grant by id, or by the consent URL the client was given.
    pub fn find_grant(&self, id_or_url: &str) -> Option<Uuid> {
        let s = id_or_url.trim();
        if let Ok(id) = Uuid::parse_str(s) {
            return self.grants.contains_key(&id).then_some(id);
        }
        let path = url::Url::parse(s).ok()?;
        let mut segs = path.path_segments()?;
        while let Some(seg) = segs.next() {
            if seg == "interact" {
                let id = Uuid::parse_str(segs.next()?).ok()?;
                return self.grants.contains_key(&id).then_some(id);
            }
        }
        None
    }

    /// The resource owner decides on a pending grant.
    pub fn decide(&mut self, grant: Uuid, approve: bool) -> Result<GrantInfo, Refusal> {
        let g = self
            .grants
            .get_mut(&grant)
            .ok_or_else(|| refuse(404, "invalid_request", "no such grant"))?;
        if g.state != GrantState::Pending {
            return Err(refuse(
                409,
                "invalid_request",
                format!("the grant is {:?}, not pending", g.state),
            ));
        }
        if approve {
            g.state = GrantState::Approved;
            g.interact_ref = Some(random_token());
        } else {
            g.state = GrantState::Declined;
        }
        let g = g.clone();
        Ok(self.grant_info(&g))
    }

    /// Expires a grant: a pending one's interaction, or an issued one's access tokens (which
    /// stay rotatable, as GNAP allows).
    pub fn expire(&mut self, grant: Uuid) -> Result<GrantInfo, Refusal> {
        let g = self
            .grants
            .get_mut(&grant)
            .ok_or_else(|| refuse(404, "invalid_request", "no such grant"))?;
        match g.state {
            GrantState::Pending | GrantState::Approved => g.state = GrantState::Expired,
            GrantState::Issued => {
                for t in self.token_by_manage.values_mut() {
                    if t.grant == grant {
                        t.expires_at = now() - time::Duration::seconds(1);
                    }
                }
            }
            other => {
                return Err(refuse(
                    409,
                    "invalid_request",
                    format!("the grant is {other:?}"),
                ));
            }
        }
        let g = self.grants.get(&grant).cloned();
        g.map(|g| self.grant_info(&g))
            .ok_or_else(|| refuse(404, "invalid_request", "no such grant"))
    }

    /// The resource owner (or the client) revokes a grant and its tokens.
    pub fn revoke(&mut self, grant: Uuid) -> Result<(), Refusal> {
        let g = self
            .grants
            .get_mut(&grant)
            .ok_or_else(|| refuse(404, "invalid_request", "no such grant"))?;
        g.state = GrantState::Revoked;
        self.revoke_tokens_of(grant);
        Ok(())
    }

    /// The grant and client behind a resource request's access token.
    pub fn authorize(&self, token: &str) -> Result<Authorized, Refusal> {
        let token = self
            .tokens
            .get(token)
            .and_then(|m| self.token_by_manage.get(m))
            .ok_or_else(|| refuse(401, "invalid_token", "unknown or revoked access token"))?;
        if token.expires_at <= now() {
            return Err(refuse(401, "invalid_token", "the access token has expired"));
        }
        let grant = self
            .grants
            .get(&token.grant)
            .ok_or_else(|| refuse(401, "invalid_token", "the grant is gone"))?;
        if grant.state != GrantState::Issued {
            return Err(refuse(401, "invalid_token", "the grant is no longer valid"));
        }
        Ok(Authorized {
            grant: grant.id,
            client: grant.client.clone(),
            access: grant.access.clone(),
        })
    }

    // ----- incoming payments -----

    pub fn incoming_url(&self, id: Uuid) -> String {
        format!("{}/incoming-payments/{id}", self.resource_url())
    }

    /// The incoming payment a receiver URL names, when it is hosted here.
    pub fn incoming_by_url(&self, url: &str) -> Option<usize> {
        let id = url.strip_prefix(&format!("{}/incoming-payments/", self.resource_url()))?;
        let id = Uuid::parse_str(id.trim_end_matches('/')).ok()?;
        self.incoming.iter().position(|p| p.id == id)
    }

    pub fn incoming_json(&self, p: &Incoming, with_methods: bool) -> Value {
        let asset = self
            .wallets
            .get(&p.wallet)
            .map(|w| w.asset.clone())
            .unwrap_or(Asset {
                code: "USD".into(),
                scale: 2,
            });
        let mut v = json!({
            "id": self.incoming_url(p.id),
            "walletAddress": self.wallet_url(&p.wallet),
            "completed": p.completed,
            "receivedAmount": asset.amount(p.received),
            "createdAt": rfc3339(p.created_at),
        });
        if let Some(a) = p.incoming_amount {
            v["incomingAmount"] = asset.amount(a);
        }
        if let Some(t) = p.expires_at {
            v["expiresAt"] = json!(rfc3339(t));
        }
        if let Some(m) = &p.metadata {
            v["metadata"] = m.clone();
        }
        if with_methods {
            let secret: [u8; 32] = rand::random();
            v["methods"] = json!([{
                "type": "ilp",
                "ilpAddress": format!("test.bookmygig.{}.{}", p.wallet.replace(|c: char| !c.is_ascii_alphanumeric(), "_"), p.id.simple()),
                "sharedSecret": URL_SAFE_NO_PAD.encode(secret),
            }]);
        }
        v
    }

    pub fn create_incoming(&mut self, auth: &Authorized, body: &Value) -> Result<Value, Refusal> {
        let wallet_url = body["walletAddress"].as_str().unwrap_or_default();
        let name = self
            .wallet_name(wallet_url)
            .ok_or_else(|| refuse(404, "unknown_wallet_address", "no such wallet here"))?;
        auth.require("incoming-payment", &["create"], &self.wallet_url(&name))?;
        let asset = self.wallets[&name].asset.clone();
        let incoming_amount = match body.get("incomingAmount") {
            Some(a) => {
                let (value, a_asset) = parse_amount(a)
                    .ok_or_else(|| refuse(400, "invalid_request", "bad incomingAmount"))?;
                if a_asset != asset {
                    return Err(refuse(
                        400,
                        "invalid_request",
                        "incomingAmount is not in the wallet's asset",
                    ));
                }
                if value == 0 {
                    return Err(refuse(400, "invalid_request", "incomingAmount is zero"));
                }
                Some(value)
            }
            None => None,
        };
        let expires_at = match body["expiresAt"].as_str() {
            Some(s) => {
                let t = OffsetDateTime::parse(s, &Rfc3339)
                    .map_err(|_| refuse(400, "invalid_request", "bad expiresAt"))?;
                if t <= now() {
                    return Err(refuse(400, "invalid_request", "expiresAt is in the past"));
                }
                Some(t)
            }
            None => None,
        };
        let p = Incoming {
            id: Uuid::now_v7(),
            wallet: name,
            incoming_amount,
            received: 0,
            completed: false,
            expires_at,
            metadata: body.get("metadata").cloned(),
            created_at: now(),
            client: Some(auth.client.clone()),
        };
        let v = self.incoming_json(&p, true);
        self.incoming.push(p);
        Ok(v)
    }

    /// An incoming payment for a reader: `None` authorization gets the public view.
    pub fn get_incoming(&self, id: Uuid, auth: Option<&Authorized>) -> Result<Value, Refusal> {
        let p = self
            .incoming
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| refuse(404, "not_found", "no such incoming payment"))?;
        match auth {
            None => {
                let asset = &self.wallets[&p.wallet].asset;
                Ok(
                    json!({"receivedAmount": asset.amount(p.received), "authServer": self.auth_url()}),
                )
            }
            Some(auth) => {
                let all = auth.require(
                    "incoming-payment",
                    &["read", "read-all"],
                    &self.wallet_url(&p.wallet),
                )?;
                if !all && p.client.as_deref() != Some(auth.client.as_str()) {
                    return Err(refuse(
                        403,
                        "insufficient_grant",
                        "read covers the client's own incoming payments only",
                    ));
                }
                Ok(self.incoming_json(p, true))
            }
        }
    }

    pub fn complete_incoming(&mut self, id: Uuid, auth: &Authorized) -> Result<Value, Refusal> {
        let i = self
            .incoming
            .iter()
            .position(|p| p.id == id)
            .ok_or_else(|| refuse(404, "not_found", "no such incoming payment"))?;
        let wallet_url = self.wallet_url(&self.incoming[i].wallet);
        auth.require("incoming-payment", &["complete"], &wallet_url)?;
        if self.incoming[i].expires_at.is_some_and(|t| t <= now()) {
            return Err(refuse(
                400,
                "invalid_request",
                "the incoming payment has expired",
            ));
        }
        self.incoming[i].completed = true;
        Ok(self.incoming_json(&self.incoming[i], false))
    }

    // ----- quotes -----

    pub fn quote_url(&self, id: Uuid) -> String {
        format!("{}/quotes/{id}", self.resource_url())
    }

    pub fn quote_json(&self, q: &Quote) -> Value {
        let asset = &self.wallets[&q.wallet].asset;
        json!({
            "id": self.quote_url(q.id),
            "walletAddress": self.wallet_url(&q.wallet),
            "receiver": self.incoming_url(q.incoming),
            "receiveAmount": q.receive_asset.amount(q.receive),
            "debitAmount": asset.amount(q.debit),
            "method": "ilp",
            "createdAt": rfc3339(q.created_at),
            "expiresAt": rfc3339(q.expires_at),
        })
    }

    /// The receiver's incoming payment, checked open, and its asset.
    fn open_receiver(&self, receiver: &str) -> Result<(usize, Asset), Refusal> {
        let i = self.incoming_by_url(receiver).ok_or_else(|| {
            refuse(
                400,
                "invalid_receiver",
                "the receiver is no incoming payment of this test wallet",
            )
        })?;
        let p = &self.incoming[i];
        if p.completed {
            return Err(refuse(
                400,
                "invalid_receiver",
                "the incoming payment is completed",
            ));
        }
        if p.expires_at.is_some_and(|t| t <= now()) {
            return Err(refuse(
                400,
                "invalid_receiver",
                "the incoming payment has expired",
            ));
        }
        Ok((i, self.wallets[&p.wallet].asset.clone()))
    }

    pub fn create_quote(&mut self, auth: &Authorized, body: &Value) -> Result<Value, Refusal> {
        let name = self
            .wallet_name(body["walletAddress"].as_str().unwrap_or_default())
            .ok_or_else(|| refuse(404, "unknown_wallet_address", "no such wallet here"))?;
        auth.require("quote", &["create"], &self.wallet_url(&name))?;
        let sender = self.wallets[&name].asset.clone();
        let (i, receiver) = self.open_receiver(body["receiver"].as_str().unwrap_or_default())?;
        let cross = || {
            refuse(
                400,
                "invalid_request",
                "the test wallet converts between scales of one asset only",
            )
        };
        let (debit, receive) = if let Some((d, a)) = parse_amount(&body["debitAmount"]) {
            if a != sender {
                return Err(refuse(
                    400,
                    "invalid_request",
                    "debitAmount is not in the wallet's asset",
                ));
            }
            (d, convert(d, &sender, &receiver, false).ok_or_else(cross)?)
        } else if let Some((r, a)) = parse_amount(&body["receiveAmount"]) {
            if a != receiver {
                return Err(refuse(
                    400,
                    "invalid_request",
                    "receiveAmount is not in the receiver's asset",
                ));
            }
            (convert(r, &receiver, &sender, true).ok_or_else(cross)?, r)
        } else {
            let p = &self.incoming[i];
            let Some(total) = p.incoming_amount else {
                return Err(refuse(
                    400,
                    "invalid_request",
                    "no amount given and the incoming payment has no incomingAmount",
                ));
            };
            let r = total.saturating_sub(p.received);
            (convert(r, &receiver, &sender, true).ok_or_else(cross)?, r)
        };
        if debit == 0 || receive == 0 {
            return Err(refuse(400, "invalid_amount", "the amount rounds to zero"));
        }
        let q = Quote {
            id: Uuid::now_v7(),
            wallet: name,
            incoming: self.incoming[i].id,
            debit,
            receive,
            receive_asset: receiver,
            created_at: now(),
            expires_at: now()
                + time::Duration::seconds(i64::from(self.settings.quote_lifetime_secs)),
            used: false,
        };
        let v = self.quote_json(&q);
        self.quotes.push(q);
        Ok(v)
    }

    pub fn get_quote(&self, id: Uuid, auth: &Authorized) -> Result<Value, Refusal> {
        let q = self
            .quotes
            .iter()
            .find(|q| q.id == id)
            .ok_or_else(|| refuse(404, "not_found", "no such quote"))?;
        auth.require("quote", &["read", "read-all"], &self.wallet_url(&q.wallet))?;
        Ok(self.quote_json(q))
    }

    // ----- outgoing payments -----

    pub fn outgoing_json(&self, o: &Outgoing, with_spent: bool) -> Value {
        let asset = &self.wallets[&o.wallet].asset;
        let mut v = json!({
            "id": format!("{}/outgoing-payments/{}", self.resource_url(), o.id),
            "walletAddress": self.wallet_url(&o.wallet),
            "failed": o.failed,
            "receiver": self.incoming_url(o.incoming),
            "receiveAmount": o.receive_asset.amount(o.receive),
            "debitAmount": asset.amount(o.debit),
            "sentAmount": asset.amount(o.sent),
            "createdAt": rfc3339(o.created_at),
        });
        if let Some(q) = o.quote {
            v["quoteId"] = json!(self.quote_url(q));
        }
        if let Some(m) = &o.metadata {
            v["metadata"] = m.clone();
        }
        if with_spent {
            v["grantSpentDebitAmount"] = asset.amount(o.grant_spent.0);
            v["grantSpentReceiveAmount"] = o.receive_asset.amount(o.grant_spent.1);
        }
        v
    }

    /// Creates an outgoing payment and pays it at once: the sender's balance moves to the
    /// receiving wallet and the incoming payment's `receivedAmount`.
    pub fn create_outgoing(&mut self, auth: &Authorized, body: &Value) -> Result<Value, Refusal> {
        let name = self
            .wallet_name(body["walletAddress"].as_str().unwrap_or_default())
            .ok_or_else(|| refuse(404, "unknown_wallet_address", "no such wallet here"))?;
        let wallet_url = self.wallet_url(&name);
        auth.require("outgoing-payment", &["create"], &wallet_url)?;
        let sender = self.wallets[&name].asset.clone();
        let (incoming_i, receive_asset, debit, receive, quote) =
            if let Some(quote_url) = body["quoteId"].as_str() {
                let qi = self
                    .quotes
                    .iter()
                    .position(|q| same_url(&self.quote_url(q.id), quote_url))
                    .ok_or_else(|| refuse(400, "invalid_quote", "no such quote"))?;
                let q = &self.quotes[qi];
                if q.wallet != name {
                    return Err(refuse(
                        400,
                        "invalid_quote",
                        "the quote is another wallet's",
                    ));
                }
                if q.used || q.expires_at <= now() {
                    return Err(refuse(400, "invalid_quote", "the quote is used or expired"));
                }
                let (i, asset) = self.open_receiver(&self.incoming_url(q.incoming))?;
                (i, asset, q.debit, q.receive, Some(qi))
            } else {
                let (i, asset) =
                    self.open_receiver(body["incomingPayment"].as_str().unwrap_or_default())?;
                let (d, a) = parse_amount(&body["debitAmount"])
                    .ok_or_else(|| refuse(400, "invalid_request", "bad debitAmount"))?;
                if a != sender {
                    return Err(refuse(
                        400,
                        "invalid_request",
                        "debitAmount is not in the wallet's asset",
                    ));
                }
                let r = convert(d, &sender, &asset, false).ok_or_else(|| {
                    refuse(
                        400,
                        "invalid_request",
                        "the test wallet converts between scales of one asset only",
                    )
                })?;
                (i, asset, d, r, None)
            };
        if debit == 0 || receive == 0 {
            return Err(refuse(400, "invalid_amount", "the amount is zero"));
        }
        let p = &self.incoming[incoming_i];
        if let Some(total) = p.incoming_amount {
            if p.received.saturating_add(receive) > total {
                return Err(refuse(
                    400,
                    "invalid_amount",
                    "the payment exceeds what the incoming payment still accepts",
                ));
            }
        }
        let receiver_url = self.incoming_url(p.id);
        // The grant's limits: receiver, interval, debit and receive maxima.
        let grant = self
            .grants
            .get(&auth.grant)
            .ok_or_else(|| refuse(401, "invalid_token", "the grant is gone"))?;
        let mut interval_index = 0;
        let mut max_debit = None;
        let mut max_receive = None;
        for item in &grant.access {
            if item["type"] != "outgoing-payment" {
                continue;
            }
            let limits = &item["limits"];
            if let Some(r) = limits["receiver"].as_str() {
                if !same_url(r, &receiver_url) {
                    return Err(refuse(
                        403,
                        "insufficient_grant",
                        "the grant is for another receiver",
                    ));
                }
            }
            if let Some(interval) = limits["interval"].as_str().and_then(Interval::parse) {
                interval_index = interval.index_at(now()).ok_or_else(|| {
                    refuse(403, "insufficient_grant", "outside the grant's interval")
                })?;
            }
            max_debit = parse_amount(&limits["debitAmount"]).map(|(v, _)| v);
            max_receive = parse_amount(&limits["receiveAmount"]).map(|(v, _)| v);
        }
        let (spent_index, mut spent_debit, mut spent_receive) = grant.spent;
        if spent_index != interval_index {
            spent_debit = 0;
            spent_receive = 0;
        }
        if max_debit.is_some_and(|m| spent_debit.saturating_add(debit) > m)
            || max_receive.is_some_and(|m| spent_receive.saturating_add(receive) > m)
        {
            return Err(refuse(
                403,
                "insufficient_grant",
                "the payment exceeds what the grant still allows",
            ));
        }
        if self.wallets[&name].balance < debit {
            return Err(refuse(
                403,
                "insufficient_balance",
                "the wallet's balance is too low",
            ));
        }
        // Pay.
        spent_debit += debit;
        spent_receive += receive;
        if let Some(g) = self.grants.get_mut(&auth.grant) {
            g.spent = (interval_index, spent_debit, spent_receive);
        }
        if let Some(w) = self.wallets.get_mut(&name) {
            w.balance -= debit;
        }
        let receiving_wallet = self.incoming[incoming_i].wallet.clone();
        if let Some(w) = self.wallets.get_mut(&receiving_wallet) {
            w.balance = w.balance.saturating_add(receive);
        }
        let p = &mut self.incoming[incoming_i];
        p.received += receive;
        if p.incoming_amount.is_some_and(|t| p.received >= t) {
            p.completed = true;
        }
        let quote_id = quote.map(|qi| {
            self.quotes[qi].used = true;
            self.quotes[qi].id
        });
        let o = Outgoing {
            id: Uuid::now_v7(),
            wallet: name,
            incoming: self.incoming[incoming_i].id,
            quote: quote_id,
            debit,
            receive,
            receive_asset,
            sent: debit,
            failed: false,
            metadata: body.get("metadata").cloned(),
            created_at: now(),
            client: auth.client.clone(),
            grant_spent: (spent_debit, spent_receive),
        };
        let v = self.outgoing_json(&o, true);
        self.outgoing.push(o);
        Ok(v)
    }

    pub fn get_outgoing(&self, id: Uuid, auth: &Authorized) -> Result<Value, Refusal> {
        let o = self
            .outgoing
            .iter()
            .find(|o| o.id == id)
            .ok_or_else(|| refuse(404, "not_found", "no such outgoing payment"))?;
        let all = auth.require(
            "outgoing-payment",
            &["read", "read-all"],
            &self.wallet_url(&o.wallet),
        )?;
        if !all && o.client != auth.client {
            return Err(refuse(
                403,
                "insufficient_grant",
                "read covers the client's own outgoing payments only",
            ));
        }
        Ok(self.outgoing_json(o, false))
    }

    /// A page of a wallet's incoming or outgoing payments (oldest first), as the list
    /// operations answer.
    pub fn list(
        &self,
        auth: &Authorized,
        outgoing: bool,
        wallet_url: &str,
        page: &Page,
    ) -> Result<Value, Refusal> {
        let name = self
            .wallet_name(wallet_url)
            .ok_or_else(|| refuse(404, "unknown_wallet_address", "no such wallet here"))?;
        let url = self.wallet_url(&name);
        let kind = if outgoing {
            "outgoing-payment"
        } else {
            "incoming-payment"
        };
        let all = auth.require(kind, &["list", "list-all"], &url)?;
        let items: Vec<(String, Value)> = if outgoing {
            self.outgoing
                .iter()
                .filter(|o| o.wallet == name && (all || o.client == auth.client))
                .map(|o| (o.id.to_string(), self.outgoing_json(o, false)))
                .collect()
        } else {
            self.incoming
                .iter()
                .filter(|p| {
                    p.wallet == name && (all || p.client.as_deref() == Some(auth.client.as_str()))
                })
                .map(|p| (p.id.to_string(), self.incoming_json(p, false)))
                .collect()
        };
        Ok(page.apply(items))
    }
}

/// Cursor pagination as the list operations take it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Page {
    pub cursor: Option<String>,
    pub first: Option<usize>,
    pub last: Option<usize>,
}

impl Page {
    fn apply(&self, items: Vec<(String, Value)>) -> Value {
        let at = self
            .cursor
            .as_ref()
            .and_then(|c| items.iter().position(|(id, _)| id == c));
        let (start, end) = match (self.last, at) {
            (Some(n), Some(i)) => (i.saturating_sub(n), i),
            (Some(n), None) => (items.len().saturating_sub(n), items.len()),
            (None, Some(i)) => (i + 1, (i + 1 + self.first.unwrap_or(20)).min(items.len())),
            (None, None) => (0, self.first.unwrap_or(20).min(items.len())),
        };
        let start = start.min(items.len());
        let end = end.max(start);
        let slice = &items[start..end];
        let mut pagination = json!({
            "hasPreviousPage": start > 0,
            "hasNextPage": end < items.len(),
        });
        if let (Some(first), Some(last)) = (slice.first(), slice.last()) {
            pagination["startCursor"] = json!(first.0);
            pagination["endCursor"] = json!(last.0);
        }
        json!({
            "pagination": pagination,
            "result": slice.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
        })
    }
}
