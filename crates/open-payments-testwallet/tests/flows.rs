//! The test wallet driven over real HTTP with real signatures, as BookMyGig's server will
//! drive it: top-up, declined consent, unsigned and badly signed requests, a body outside the
//! spec, injected faults, quotes, token rotation and grant limits.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use bookmygig_testwallet::signing::signed_request;
use bookmygig_testwallet::{ClientKey, Config, NewWallet, TestWallet, ViolationKind};
use reqwest::Method;
use serde_json::{Value, json};

/// A client wallet's identity and a way to send signed requests.
struct Client {
    http: reqwest::Client,
    key: ClientKey,
    wallet: String,
}

impl Client {
    async fn send(
        &self,
        method: Method,
        url: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let response = signed_request(&self.http, &self.key, method, url, token, body.as_ref())
            .send()
            .await
            .expect("the test wallet answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    /// A non-interactive grant: its access token value.
    async fn grant(&self, tw: &TestWallet, access: Value) -> Value {
        let (status, body) = self
            .send(
                Method::POST,
                &tw.auth_server_url(),
                None,
                Some(json!({"client": self.wallet, "access_token": {"access": [access]}})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].clone()
    }

    /// An interactive outgoing-payment grant: the whole answer (interact and continue).
    async fn request_outgoing_grant(&self, tw: &TestWallet, wallet: &str, limits: Value) -> Value {
        let (status, body) = self
            .send(
                Method::POST,
                &tw.auth_server_url(),
                None,
                Some(json!({
                    "client": self.wallet,
                    "access_token": {"access": [{
                        "type": "outgoing-payment",
                        "actions": ["create", "read"],
                        "identifier": wallet,
                        "limits": limits,
                    }]},
                    "interact": {"start": ["redirect"]},
                })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn poll(&self, grant: &Value) -> (u16, Value) {
        let cont = &grant["continue"];
        self.send(
            Method::POST,
            cont["uri"].as_str().unwrap(),
            cont["access_token"]["value"].as_str(),
            None,
        )
        .await
    }
}

fn usd(value: u64) -> Value {
    json!({"value": value.to_string(), "assetCode": "USD", "assetScale": 2})
}

/// A test wallet with `platform` (the client, holding BookMyGig's key) and `viewer` (10000
/// cents).
async fn setup() -> (TestWallet, Client) {
    let tw = TestWallet::start(Config {
        continue_wait_secs: 0,
        ..Config::default()
    })
    .await
    .unwrap();
    let key = ClientKey::generate("platform-key");
    tw.create_wallet(NewWallet::new("platform").key(key.public_jwk()))
        .unwrap();
    tw.create_wallet(NewWallet::new("viewer").balance(10_000))
        .unwrap();
    let client = Client {
        http: reqwest::Client::new(),
        key,
        wallet: tw.wallet_url("platform"),
    };
    (tw, client)
}

/// An incoming payment of `amount` on the platform wallet: (its URL, the token that reads it).
async fn platform_incoming(tw: &TestWallet, client: &Client, amount: u64) -> (String, String) {
    let token = client
        .grant(
            tw,
            json!({"type": "incoming-payment", "actions": ["create", "read"], "identifier": client.wallet}),
        )
        .await;
    let token = token["value"].as_str().unwrap().to_string();
    let (status, incoming) = client
        .send(
            Method::POST,
            &format!("{}/incoming-payments", tw.resource_server_url()),
            Some(&token),
            Some(
                json!({"walletAddress": client.wallet, "incomingAmount": usd(amount),
                        "metadata": {"topup": "t1"}}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{incoming}");
    assert_eq!(incoming["receivedAmount"]["value"], "0");
    (incoming["id"].as_str().unwrap().to_string(), token)
}

/// An approved outgoing-payment grant on the viewer's wallet: its access token value.
async fn approved_viewer_grant(tw: &TestWallet, client: &Client, limits: Value) -> String {
    let grant = client
        .request_outgoing_grant(tw, &tw.wallet_url("viewer"), limits)
        .await;
    let (status, pending) = client.poll(&grant).await;
    assert_eq!(status, 200, "{pending}");
    assert!(pending.get("access_token").is_none(), "{pending}");
    tw.approve_grant(grant["interact"]["redirect"].as_str().unwrap())
        .unwrap();
    let (status, issued) = client.poll(&grant).await;
    assert_eq!(status, 200, "{issued}");
    issued["access_token"]["value"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn top_up_moves_the_amount_from_viewer_to_platform_once_consent_is_given() {
    let (tw, client) = setup().await;

    // The viewer's wallet address resolves, unauthenticated.
    let doc: Value = reqwest::get(tw.wallet_url("viewer"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["authServer"], tw.auth_server_url());
    assert_eq!(doc["assetScale"], 2);

    let (incoming_url, incoming_token) = platform_incoming(&tw, &client, 2000).await;

    let grant = client
        .request_outgoing_grant(
            &tw,
            &tw.wallet_url("viewer"),
            json!({"debitAmount": usd(2000), "receiver": incoming_url}),
        )
        .await;
    let consent_url = grant["interact"]["redirect"].as_str().unwrap();
    assert!(consent_url.starts_with(&tw.auth_server_url()));
    assert_eq!(grant["continue"]["wait"], 0);

    // Pending: polling answers another continue.
    let (status, pending) = client.poll(&grant).await;
    assert_eq!(status, 200);
    assert!(pending["continue"]["uri"].is_string());
    assert!(pending.get("access_token").is_none());

    // The consent page is there for a person; the test approves through the control API.
    let page = reqwest::get(consent_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Approve"));
    tw.approve_grant(consent_url).unwrap();

    let (status, issued) = client.poll(&grant).await;
    assert_eq!(status, 200, "{issued}");
    let token = issued["access_token"]["value"].as_str().unwrap();
    assert!(issued["access_token"]["manage"].is_string());

    let (status, payment) = client
        .send(
            Method::POST,
            &format!("{}/outgoing-payments", tw.resource_server_url()),
            Some(token),
            Some(
                json!({"walletAddress": tw.wallet_url("viewer"), "incomingPayment": incoming_url,
                        "debitAmount": usd(2000)}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{payment}");
    assert_eq!(payment["sentAmount"]["value"], "2000");
    assert_eq!(payment["grantSpentDebitAmount"]["value"], "2000");

    // The platform reads its incoming payment: the funds are there.
    let (status, incoming) = client
        .send(Method::GET, &incoming_url, Some(&incoming_token), None)
        .await;
    assert_eq!(status, 200, "{incoming}");
    assert_eq!(incoming["receivedAmount"]["value"], "2000");
    assert_eq!(incoming["completed"], true);

    assert_eq!(tw.balance("viewer").unwrap(), 8000);
    assert_eq!(tw.balance("platform").unwrap(), 2000);
    assert_eq!(tw.outgoing_payments("viewer").unwrap().len(), 1);
    assert_eq!(tw.violations(), vec![]);

    // A second payment under the same grant would exceed its debitAmount.
    let (status, _) = client
        .send(
            Method::POST,
            &format!("{}/outgoing-payments", tw.resource_server_url()),
            Some(token),
            Some(
                json!({"walletAddress": tw.wallet_url("viewer"), "incomingPayment": incoming_url,
                        "debitAmount": usd(1)}),
            ),
        )
        .await;
    assert_eq!(status, 400, "the incoming payment is completed");
    assert_eq!(tw.balance("viewer").unwrap(), 8000);
}

#[tokio::test]
async fn payment_beyond_the_grants_debit_amount_is_403() {
    let (tw, client) = setup().await;
    let (incoming_url, _) = platform_incoming(&tw, &client, 1000).await;
    let token = approved_viewer_grant(&tw, &client, json!({"debitAmount": usd(500)})).await;
    let url = format!("{}/outgoing-payments", tw.resource_server_url());
    let body = json!({"walletAddress": tw.wallet_url("viewer"), "incomingPayment": incoming_url,
                      "debitAmount": usd(300)});
    let (status, _) = client
        .send(Method::POST, &url, Some(&token), Some(body.clone()))
        .await;
    assert_eq!(status, 201);
    let (status, refused) = client
        .send(Method::POST, &url, Some(&token), Some(body))
        .await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"]["code"], "insufficient_grant");
    assert_eq!(tw.balance("viewer").unwrap(), 9700);
    assert_eq!(tw.violations(), vec![]);
}

#[tokio::test]
async fn polling_before_the_wait_is_too_fast() {
    let tw = TestWallet::start(Config {
        continue_wait_secs: 30,
        ..Config::default()
    })
    .await
    .unwrap();
    let key = ClientKey::generate("k");
    tw.create_wallet(NewWallet::new("platform").key(key.public_jwk()))
        .unwrap();
    tw.create_wallet(NewWallet::new("viewer")).unwrap();
    let client = Client {
        http: reqwest::Client::new(),
        key,
        wallet: tw.wallet_url("platform"),
    };
    let grant = client
        .request_outgoing_grant(
            &tw,
            &tw.wallet_url("viewer"),
            json!({"debitAmount": usd(1)}),
        )
        .await;
    assert_eq!(grant["continue"]["wait"], 30);
    let (status, body) = client.poll(&grant).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "too_fast");
}

#[tokio::test]
async fn declined_grant_answers_request_denied_and_moves_nothing() {
    let (tw, client) = setup().await;
    let (incoming_url, _) = platform_incoming(&tw, &client, 500).await;
    let grant = client
        .request_outgoing_grant(
            &tw,
            &tw.wallet_url("viewer"),
            json!({"debitAmount": usd(500), "receiver": incoming_url}),
        )
        .await;
    // Declined through the HTTP control route, by the consent URL, as a CLI test would.
    let answer = reqwest::Client::new()
        .post(format!("{}/_test/consent", tw.base_url()))
        .json(&json!({"url": grant["interact"]["redirect"], "decision": "decline"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let (status, body) = client.poll(&grant).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "request_denied");
    assert_eq!(tw.balance("viewer").unwrap(), 10_000);
    assert_eq!(tw.violations(), vec![]);
}

#[tokio::test]
async fn expired_interaction_answers_request_denied() {
    let (tw, client) = setup().await;
    let grant = client
        .request_outgoing_grant(
            &tw,
            &tw.wallet_url("viewer"),
            json!({"debitAmount": usd(5)}),
        )
        .await;
    let id = grant["continue"]["uri"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    tw.expire_grant(&id).unwrap();
    let (status, body) = client.poll(&grant).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "request_denied");
}

#[tokio::test]
async fn unsigned_request_is_401_with_the_auth_server_named() {
    let (tw, client) = setup().await;
    let (_, token) = platform_incoming(&tw, &client, 100).await;
    let response = reqwest::Client::new()
        .post(format!("{}/incoming-payments", tw.resource_server_url()))
        .header("authorization", format!("GNAP {token}"))
        .json(&json!({"walletAddress": client.wallet}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let www = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(www, format!("GNAP as_uri={}", tw.auth_server_url()));
    let violations = tw.violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].kind, ViolationKind::Signature);
    assert_eq!(tw.incoming_payments("platform").unwrap().len(), 1);
}

#[tokio::test]
async fn request_signed_by_another_key_is_401() {
    let (tw, client) = setup().await;
    let (_, token) = platform_incoming(&tw, &client, 100).await;
    let impostor = Client {
        http: reqwest::Client::new(),
        key: ClientKey::generate("platform-key"),
        wallet: client.wallet.clone(),
    };
    let (status, body) = impostor
        .send(
            Method::POST,
            &format!("{}/incoming-payments", tw.resource_server_url()),
            Some(&token),
            Some(json!({"walletAddress": client.wallet})),
        )
        .await;
    assert_eq!(status, 401, "{body}");
    // A grant request naming the platform as client is refused the same way.
    let (status, body) = impostor
        .send(
            Method::POST,
            &tw.auth_server_url(),
            None,
            Some(json!({"client": client.wallet, "access_token": {"access": [
                {"type": "quote", "actions": ["create"]}]}})),
        )
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "invalid_client");
    assert!(
        tw.violations()
            .iter()
            .all(|v| v.kind == ViolationKind::Signature)
    );
}

#[tokio::test]
async fn body_outside_the_spec_is_400_and_recorded() {
    let (tw, client) = setup().await;
    let (_, token) = platform_incoming(&tw, &client, 100).await;
    let (status, body) = client
        .send(
            Method::POST,
            &format!("{}/incoming-payments", tw.resource_server_url()),
            Some(&token),
            // incomingAmount.value must be a uint64 string, and walletAddress is required.
            Some(json!({"incomingAmount": {"value": 12, "assetCode": "USD", "assetScale": 2}})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let violations = tw.violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].kind, ViolationKind::Request);
    assert_eq!(violations[0].operation, "create-incoming-payment");
    assert_eq!(violations[0].request, "POST /op/incoming-payments");
}

#[tokio::test]
async fn outgoing_payment_fails_twice_with_503_then_is_paid_once() {
    let (tw, client) = setup().await;
    let (incoming_url, _) = platform_incoming(&tw, &client, 700).await;
    let token = approved_viewer_grant(
        &tw,
        &client,
        json!({"debitAmount": usd(700), "receiver": incoming_url}),
    )
    .await;
    tw.fail_next("create-outgoing-payment", 2, 503).unwrap();
    let body = json!({"walletAddress": tw.wallet_url("viewer"), "incomingPayment": incoming_url,
                      "debitAmount": usd(700)});
    let url = format!("{}/outgoing-payments", tw.resource_server_url());
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let (status, _) = client
            .send(Method::POST, &url, Some(&token), Some(body.clone()))
            .await;
        statuses.push(status);
    }
    assert_eq!(statuses, vec![503, 503, 201]);
    assert_eq!(tw.balance("viewer").unwrap(), 9300);
    assert_eq!(tw.balance("platform").unwrap(), 700);
    assert_eq!(tw.outgoing_payments("viewer").unwrap().len(), 1);
    assert_eq!(tw.violations(), vec![]);
}

#[tokio::test]
async fn dropped_response_still_pays_and_the_payment_is_listed() {
    let (tw, client) = setup().await;
    let (incoming_url, _) = platform_incoming(&tw, &client, 300).await;
    let token = approved_viewer_grant(
        &tw,
        &client,
        json!({"debitAmount": usd(300), "receiver": incoming_url}),
    )
    .await;
    tw.drop_next_response("create-outgoing-payment").unwrap();
    let sent = signed_request(
        &client.http,
        &client.key,
        Method::POST,
        &format!("{}/outgoing-payments", tw.resource_server_url()),
        Some(&token),
        Some(&json!({"walletAddress": tw.wallet_url("viewer"),
                     "incomingPayment": incoming_url, "debitAmount": usd(300)})),
    )
    .send()
    .await;
    assert!(sent.is_err(), "the connection closes unanswered: {sent:?}");
    assert_eq!(tw.balance("viewer").unwrap(), 9700);
    // The client reconciles by listing (grant has read; list needs list, so read the incoming).
    let listed = tw.outgoing_payments("viewer").unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["receiver"], incoming_url);
}

#[tokio::test]
async fn quote_then_outgoing_payment_converts_between_scales() {
    let (tw, client) = setup().await;
    tw.create_wallet(NewWallet::new("creator").asset("USD", 6))
        .unwrap();
    // The platform pays a creator whose wallet counts micro-dollars.
    tw.set_balance("platform", 5000).unwrap();
    let creator = tw.wallet_url("creator");
    let token = client
        .grant(
            &tw,
            json!({"type": "incoming-payment", "actions": ["create", "read-all"], "identifier": creator}),
        )
        .await;
    let (status, incoming) = client
        .send(
            Method::POST,
            &format!("{}/incoming-payments", tw.resource_server_url()),
            token["value"].as_str(),
            Some(json!({"walletAddress": creator,
                        "incomingAmount": {"value": "12340000", "assetCode": "USD", "assetScale": 6}})),
        )
        .await;
    assert_eq!(status, 201, "{incoming}");
    let quote_token = client
        .grant(&tw, json!({"type": "quote", "actions": ["create", "read"]}))
        .await;
    let (status, quote) = client
        .send(
            Method::POST,
            &format!("{}/quotes", tw.resource_server_url()),
            quote_token["value"].as_str(),
            Some(json!({"walletAddress": client.wallet, "receiver": incoming["id"], "method": "ilp"})),
        )
        .await;
    assert_eq!(status, 201, "{quote}");
    assert_eq!(quote["debitAmount"]["value"], "1234");
    assert_eq!(quote["receiveAmount"]["value"], "12340000");

    // The platform's own outgoing grant, approved once by its host.
    let grant = client
        .request_outgoing_grant(
            &tw,
            &client.wallet,
            json!({"debitAmount": usd(5000), "interval": "R/2020-01-01T00:00:00Z/P1M"}),
        )
        .await;
    tw.approve_grant(grant["interact"]["redirect"].as_str().unwrap())
        .unwrap();
    let (_, issued) = client.poll(&grant).await;
    let token = issued["access_token"]["value"].as_str().unwrap();
    let (status, payment) = client
        .send(
            Method::POST,
            &format!("{}/outgoing-payments", tw.resource_server_url()),
            Some(token),
            Some(json!({"walletAddress": client.wallet, "quoteId": quote["id"]})),
        )
        .await;
    assert_eq!(status, 201, "{payment}");
    assert_eq!(tw.balance("platform").unwrap(), 5000 - 1234);
    assert_eq!(tw.balance("creator").unwrap(), 12_340_000);
    assert_eq!(tw.violations(), vec![]);
}

#[tokio::test]
async fn rotated_token_replaces_the_old_one() {
    let (tw, client) = setup().await;
    let token = client
        .grant(
            &tw,
            json!({"type": "incoming-payment", "actions": ["create", "read", "list"], "identifier": client.wallet}),
        )
        .await;
    let old = token["value"].as_str().unwrap();
    let (status, rotated) = client
        .send(
            Method::POST,
            token["manage"].as_str().unwrap(),
            Some(old),
            None,
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["access_token"]["value"].as_str().unwrap();
    assert_ne!(new, old);
    let list = format!(
        "{}/incoming-payments?wallet-address={}",
        tw.resource_server_url(),
        client.wallet
    );
    let (status, _) = client.send(Method::GET, &list, Some(old), None).await;
    assert_eq!(status, 401);
    let (status, page) = client.send(Method::GET, &list, Some(new), None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["result"], json!([]));
    // Revoked, it stops working.
    let (status, _) = client
        .send(
            Method::DELETE,
            rotated["access_token"]["manage"].as_str().unwrap(),
            Some(new),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = client.send(Method::GET, &list, Some(new), None).await;
    assert_eq!(status, 401);
    assert_eq!(tw.violations(), vec![]);
}

#[tokio::test]
async fn continuation_with_a_body_outside_the_spec_is_400_and_recorded() {
    let (tw, client) = setup().await;
    let grant = client
        .request_outgoing_grant(
            &tw,
            &tw.wallet_url("viewer"),
            json!({"debitAmount": usd(1)}),
        )
        .await;
    let cont = &grant["continue"];
    let (status, body) = client
        .send(
            Method::POST,
            cont["uri"].as_str().unwrap(),
            cont["access_token"]["value"].as_str(),
            Some(json!({"interact_ref": 5})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let violations = tw.violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].kind, ViolationKind::Request);
    assert_eq!(violations[0].operation, "post-continue");
}
