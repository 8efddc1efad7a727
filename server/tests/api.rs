//! The REST API end to end: a real server on port 0, driven through the typed client and raw
//! HTTP, on the embedded store and on a real redis-server.

#![allow(clippy::expect_used, clippy::unwrap_used)] // Stories shared by both stores are plain fns.

mod common;

use bookmygig_api::{GigPatch, GigStatus, Money, NewSession, TicketStatus};
use bookmygig_client::{ClientError, GigListQuery};
use common::{Backend, TestServer, new_gig};
use reqwest::Method;
use serde_json::{Value, json};

fn problem_code(error: &ClientError) -> (u16, String) {
    let problem = error
        .problem()
        .unwrap_or_else(|| panic!("expected a problem, got {error:?}"));
    (problem.status, problem.code().to_owned())
}

macro_rules! on_both_stores {
    ($($name:ident),+ $(,)?) => {
        mod embedded {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Embedded).await })+
        }
        mod redis {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Redis).await })+
        }
    };
}

on_both_stores!(
    concurrent_purchases_sell_exactly_the_capacity,
    same_idempotency_key_gives_one_ticket_one_charge_same_answer,
    account_session_lifecycle,
    cancelling_refunds_every_ticket,
);

async fn concurrent_purchases_sell_exactly_the_capacity(backend: Backend) {
    // 200 sign-ups from one address: far past the per-address sign-up budget.
    let server = TestServer::start_with(backend, &["--no-rate-limits"]).await;
    let (creator, gig) = server.creator_with_gig("alice", Some(50)).await;
    let buyers = futures::future::join_all((0..200).map(|i| {
        let server = &server;
        async move {
            let buyer = server.sign_up(&format!("buyer_{i}")).await;
            buyer
                .top_up(Money::from_dollars(10), None)
                .await
                .expect("top up");
            buyer
        }
    }))
    .await;
    let keys: Vec<String> = (0..buyers.len())
        .map(|_| bookmygig_client::new_idempotency_key())
        .collect();
    let results = futures::future::join_all(
        buyers
            .iter()
            .zip(&keys)
            .map(|(b, k)| b.buy_ticket(gig.id, k)),
    )
    .await;
    let sold = results.iter().filter(|r| r.is_ok()).count();
    let sold_out = results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .filter(|e| problem_code(e) == (409, "sold-out".into()))
        .count();
    assert_eq!((sold, sold_out), (50, 150));
    let after = creator.gig(gig.id).await.unwrap();
    assert_eq!(after.seats_left, Some(0));
    assert_eq!(
        creator.wallet(None, None).await.unwrap().balance,
        Money(50 * 7_500_000)
    );
    server.assert_ledger_sound().await;
}

async fn same_idempotency_key_gives_one_ticket_one_charge_same_answer(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (_, gig) = server.creator_with_gig("alice", None).await;
    let bob = server.sign_up("bob").await;
    bob.top_up(Money::from_dollars(20), None).await.unwrap();
    let send = || async {
        let response = bob
            .request(Method::POST, &format!("/gigs/{}/tickets", gig.id))
            .header("Idempotency-Key", "bob-buys-once")
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    let first = send().await;
    let second = send().await;
    assert_eq!(first.0, 201);
    assert_eq!(first, second, "a retry answers exactly the same");
    let wallet = bob.wallet(None, None).await.unwrap();
    assert_eq!(wallet.balance, Money(20_000_000 - 7_500_000));
    assert_eq!(
        wallet
            .entries
            .iter()
            .filter(|e| e.amount < Money::ZERO)
            .count(),
        1
    );
    let tickets = bob.my_tickets().await.unwrap().items;
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0].gig.id, gig.id);
    server.assert_ledger_sound().await;
}

async fn account_session_lifecycle(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = server.sign_up("alice").await;
    let me = alice.me().await.unwrap();
    assert_eq!(me.handle, "alice");
    let anonymous = server.anonymous();
    let session = anonymous
        .sign_in(&NewSession {
            handle: "alice".into(),
            password: "alice-password".into(),
        })
        .await
        .unwrap();
    assert_eq!(session.account.id, me.id);
    let second = anonymous.clone().with_token(session.token);
    assert_eq!(second.me().await.unwrap().id, me.id);
    second.sign_out().await.unwrap();
    assert_eq!(
        problem_code(&second.me().await.unwrap_err()),
        (401, "unauthorized".into())
    );
    assert_eq!(
        alice.me().await.unwrap().id,
        me.id,
        "other sessions stay signed in"
    );
    let wrong = anonymous
        .sign_in(&NewSession {
            handle: "alice".into(),
            password: "not-the-password".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(problem_code(&wrong), (401, "unauthorized".into()));
    let nobody = anonymous
        .sign_in(&NewSession {
            handle: "nobody".into(),
            password: "whatever-pass".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(problem_code(&nobody), (401, "unauthorized".into()));
}

async fn cancelling_refunds_every_ticket(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (creator, gig) = server.creator_with_gig("alice", Some(10)).await;
    let mut fans = Vec::new();
    for name in ["bob", "carol"] {
        let fan = server.sign_up(name).await;
        fan.top_up(Money::from_dollars(10), None).await.unwrap();
        fan.buy_ticket(gig.id, name).await.unwrap();
        fans.push(fan);
    }
    let stranger = server.sign_up("mallory").await;
    let refused = stranger.cancel_gig(gig.id).await.unwrap_err();
    assert_eq!(problem_code(&refused), (403, "forbidden".into()));
    let cancelled = creator.cancel_gig(gig.id).await.unwrap();
    assert_eq!(cancelled.status, GigStatus::Cancelled);
    for fan in &fans {
        assert_eq!(
            fan.wallet(None, None).await.unwrap().balance,
            Money::from_dollars(10)
        );
        assert_eq!(
            fan.my_tickets().await.unwrap().items[0].ticket.status,
            TicketStatus::Refunded
        );
    }
    assert_eq!(
        creator.wallet(None, None).await.unwrap().balance,
        Money::ZERO
    );
    let closed = fans[0].buy_ticket(gig.id, "again").await.unwrap_err();
    assert_eq!(problem_code(&closed), (409, "gig-closed".into()));
    let listed = server
        .anonymous()
        .list_gigs(&GigListQuery::default())
        .await
        .unwrap();
    assert!(
        listed.items.is_empty(),
        "cancelled gigs leave the catalogue"
    );
    server.assert_ledger_sound().await;
}

#[tokio::test]
async fn stream_key_is_shown_only_to_the_creator() {
    let server = TestServer::start(Backend::Embedded).await;
    let (creator, gig) = server.creator_with_gig("alice", None).await;
    let key = gig
        .stream_key
        .clone()
        .expect("creator sees the key at creation");
    assert!(
        gig.rtmp_url
            .as_deref()
            .is_some_and(|u| u.starts_with("rtmp://"))
    );
    let raw_public = |body: String| assert!(!body.contains(key.expose()), "key leaked: {body}");
    let bob = server.sign_up("bob").await;
    for client in [server.anonymous(), bob.clone()] {
        let shown = client.gig(gig.id).await.unwrap();
        assert!(shown.stream_key.is_none() && shown.rtmp_url.is_none());
        let listed = client
            .request(Method::GET, "/gigs")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        raw_public(listed);
    }
    bob.top_up(Money::from_dollars(10), None).await.unwrap();
    bob.buy_ticket(gig.id, "k").await.unwrap();
    let tickets = bob
        .request(Method::GET, "/me/tickets")
        .send()
        .await
        .unwrap();
    raw_public(tickets.text().await.unwrap());
    assert_eq!(
        creator.gig(gig.id).await.unwrap().stream_key,
        Some(key.clone())
    );
    assert_eq!(
        creator.my_gigs().await.unwrap().items[0].stream_key,
        Some(key.clone())
    );
    let rotated = creator.rotate_stream_key(gig.id).await.unwrap();
    assert_ne!(rotated.stream_key, key);
    assert_eq!(
        creator.gig(gig.id).await.unwrap().stream_key,
        Some(rotated.stream_key)
    );
    let refused = bob.rotate_stream_key(gig.id).await.unwrap_err();
    assert_eq!(problem_code(&refused), (403, "forbidden".into()));
}

#[tokio::test]
async fn catalogue_filters_and_pages_by_start_time() {
    let server = TestServer::start(Backend::Embedded).await;
    let creator = server.sign_up("alice").await;
    creator
        .top_up(Money::from_dollars(1_000), None)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut form = new_gig(&format!("Show {i}"), None);
        form.starts_at += time::Duration::minutes(10 * (5 - i));
        form.ends_at += time::Duration::minutes(10 * (5 - i));
        if i == 2 {
            form.category = bookmygig_api::Category::Music;
            form.title = "Jazz Brunch".into();
        }
        ids.push(creator.create_gig(&form).await.unwrap().id);
    }
    ids.reverse();
    let anonymous = server.anonymous();
    let mut seen = Vec::new();
    let mut query = GigListQuery {
        limit: Some(2),
        ..Default::default()
    };
    loop {
        let page = anonymous.list_gigs(&query).await.unwrap();
        seen.extend(page.items.iter().map(|g| g.id));
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen, ids, "ordered by start time, every gig once");
    let music = anonymous
        .list_gigs(&GigListQuery {
            category: Some(bookmygig_api::Category::Music),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(music.items.len(), 1);
    let jazz = anonymous
        .list_gigs(&GigListQuery {
            q: Some("jazz".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(jazz.items[0].title, "Jazz Brunch");
    let live = anonymous
        .list_gigs(&GigListQuery {
            status: Some(GigStatus::Live),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(live.items.is_empty());
}

#[tokio::test]
async fn creator_edits_a_gig() {
    let server = TestServer::start(Backend::Embedded).await;
    let (creator, gig) = server.creator_with_gig("alice", Some(2)).await;
    let patch = GigPatch {
        title: Some("  Later Night Laughs ".into()),
        capacity: Some(None),
        price: Some(Money::from_dollars(12)),
        ..Default::default()
    };
    let updated = creator.update_gig(gig.id, &patch).await.unwrap();
    assert_eq!(updated.title, "Later Night Laughs");
    assert_eq!((updated.capacity, updated.seats_left), (None, None));
    assert_eq!(updated.price, Money::from_dollars(12));
    assert_eq!(updated.starts_at, gig.starts_at);
    let bob = server.sign_up("bob").await;
    bob.top_up(Money::from_dollars(12), None).await.unwrap();
    bob.buy_ticket(gig.id, "k").await.unwrap();
    let shrink = GigPatch {
        capacity: Some(Some(0)),
        ..Default::default()
    };
    assert_eq!(
        problem_code(&creator.update_gig(gig.id, &shrink).await.unwrap_err()),
        (422, "validation".into())
    );
    let refused = bob.update_gig(gig.id, &patch).await.unwrap_err();
    assert_eq!(problem_code(&refused), (403, "forbidden".into()));
}

#[tokio::test]
async fn expired_session_is_refused() {
    use bookmygig_server::secret::SessionToken;
    use bookmygig_store::SessionRecord;
    let server = TestServer::start(Backend::Embedded).await;
    let alice = server.sign_up("alice").await;
    let account = alice.me().await.unwrap();
    let token = SessionToken::generate();
    let long_ago = time::OffsetDateTime::now_utc() - time::Duration::days(40);
    server
        .store
        .create_session(&SessionRecord {
            token_hash: token.hash(),
            account_id: account.id,
            created_at: long_ago,
            expires_at: long_ago + time::Duration::days(30),
        })
        .await
        .unwrap();
    let stale = server.anonymous().with_token(token.expose());
    let problem = stale.me().await.unwrap_err();
    assert_eq!(problem_code(&problem), (401, "unauthorized".into()));
    assert!(problem.problem().unwrap().detail.contains("expired"));
}

#[tokio::test]
async fn openapi_document_describes_every_endpoint() {
    let server = TestServer::start(Backend::Embedded).await;
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths = doc["paths"].as_object().expect("paths");
    for path in [
        "/api/v1/accounts",
        "/api/v1/sessions",
        "/api/v1/me",
        "/api/v1/gigs",
        "/api/v1/gigs/{id}",
        "/api/v1/gigs/{id}/stream-key",
        "/api/v1/gigs/{id}/tickets",
        "/api/v1/me/tickets",
        "/api/v1/wallet",
        "/api/v1/wallet/topups",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"]["Gig"].is_object());
    assert!(doc["components"]["schemas"]["Problem"].is_object());

    // Every error answer is a documented problem, in its own media type.
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().expect("operation") {
            for (status, response) in operation["responses"].as_object().expect("responses") {
                if !status.starts_with('4') && !status.starts_with('5') {
                    continue;
                }
                let name = response["$ref"].as_str().unwrap_or_else(|| {
                    panic!("{method} {path} {status} is not a problem response")
                });
                let name = name.trim_start_matches("#/components/responses/");
                let content = &doc["components"]["responses"][name]["content"];
                assert_eq!(
                    content["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{method} {path} {status}"
                );
            }
        }
    }

    // The limits in the schemas are the ones the server enforces.
    use bookmygig_api::limits;
    use serde_json::{Value, json};
    let schemas = &doc["components"]["schemas"];
    let mut expected: Vec<(&str, &str, &str, Value)> = vec![
        (
            "NewAccount",
            "handle",
            "pattern",
            json!(limits::HANDLE_PATTERN),
        ),
        (
            "NewAccount",
            "handle",
            "maxLength",
            json!(limits::HANDLE_MAX),
        ),
        (
            "NewAccount",
            "display_name",
            "pattern",
            json!(limits::LINE_PATTERN),
        ),
        (
            "NewAccount",
            "display_name",
            "maxLength",
            json!(limits::DISPLAY_NAME_MAX),
        ),
        (
            "NewAccount",
            "password",
            "minLength",
            json!(limits::PASSWORD_MIN),
        ),
        (
            "NewAccount",
            "password",
            "maxLength",
            json!(limits::PASSWORD_MAX),
        ),
        ("TopUp", "amount", "minimum", json!(1)),
        (
            "TopUp",
            "amount",
            "maximum",
            json!(limits::TOPUP_MAX.micros()),
        ),
    ];
    for schema in ["NewGig", "GigPatch"] {
        expected.extend([
            (
                schema,
                "creator_name",
                "maxLength",
                json!(limits::CREATOR_NAME_MAX),
            ),
            (schema, "title", "maxLength", json!(limits::TITLE_MAX)),
            (
                schema,
                "description",
                "maxLength",
                json!(limits::DESCRIPTION_MAX),
            ),
            (
                schema,
                "description",
                "pattern",
                json!(limits::DESCRIPTION_PATTERN),
            ),
            (
                schema,
                "payment_pointer",
                "maxLength",
                json!(limits::PAYMENT_POINTER_MAX),
            ),
            (
                schema,
                "payment_pointer",
                "pattern",
                json!(limits::PAYMENT_POINTER_PATTERN),
            ),
            (
                schema,
                "price",
                "maximum",
                json!(limits::PRICE_MAX.micros()),
            ),
            (
                schema,
                "micropayment_rate",
                "maximum",
                json!(limits::MICROPAYMENT_RATE_MAX.micros()),
            ),
            (schema, "capacity", "maximum", json!(limits::CAPACITY_MAX)),
        ]);
    }
    for (schema, field, keyword, value) in expected {
        assert_eq!(
            schemas[schema]["properties"][field][keyword], value,
            "{schema}.{field} {keyword}"
        );
    }
    let parameter = |path: &str, method: &str, name: &str| {
        doc["paths"][path][method]["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .find(|p| p["name"] == name)
            .expect("parameter")["schema"]
            .clone()
    };
    let expected = [
        (
            "/api/v1/gigs",
            "get",
            "limit",
            "maximum",
            json!(limits::PAGE_LIMIT_MAX),
        ),
        (
            "/api/v1/gigs",
            "get",
            "q",
            "maxLength",
            json!(limits::SEARCH_MAX),
        ),
        (
            "/api/v1/gigs",
            "get",
            "cursor",
            "pattern",
            json!(limits::GIG_CURSOR_PATTERN),
        ),
        (
            "/api/v1/wallet",
            "get",
            "cursor",
            "pattern",
            json!(limits::WALLET_CURSOR_PATTERN),
        ),
        (
            "/api/v1/gigs/{id}/tickets",
            "post",
            "Idempotency-Key",
            "pattern",
            json!(limits::IDEMPOTENCY_KEY_PATTERN),
        ),
    ];
    for (path, method, name, keyword, value) in expected {
        assert_eq!(
            parameter(path, method, name)[keyword],
            value,
            "{method} {path} {name} {keyword}"
        );
    }
}

/// One bad request: what is sent and the problem it must get.
struct Case {
    name: &'static str,
    method: Method,
    path: String,
    auth: Auth,
    body: Option<String>,
    headers: Vec<(&'static str, String)>,
    status: u16,
    field: Option<&'static str>,
}

#[derive(Clone, Copy)]
enum Auth {
    Anonymous,
    Creator,
    Viewer,
    Bogus,
}

fn case(
    name: &'static str,
    method: Method,
    path: &str,
    auth: Auth,
    body: Option<Value>,
    status: u16,
    field: Option<&'static str>,
) -> Case {
    Case {
        name,
        method,
        path: path.to_owned(),
        auth,
        body: body.map(|b| b.to_string()),
        headers: Vec::new(),
        status,
        field,
    }
}

fn gig_body(overrides: Value) -> Value {
    let start = time::OffsetDateTime::now_utc() + time::Duration::hours(2);
    let fmt = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let mut body = json!({
        "creator_name": "Alice", "title": "Show", "description": "", "category": "comedy",
        "price": 1_000_000, "starts_at": fmt(start), "ends_at": fmt(start + time::Duration::hours(1)),
        "capacity": 10, "payment_pointer": "$wallet.example/alice"
    });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() && k.starts_with('-') {
            body.as_object_mut().unwrap().remove(&k[1..]);
        } else {
            body[k] = v.clone();
        }
    }
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_precise_problems_and_changes_nothing() {
    let server = TestServer::start(Backend::Embedded).await;
    let (creator, gig) = server.creator_with_gig("alice", Some(10)).await;
    let viewer = server.sign_up("bob").await;
    viewer.top_up(Money::from_dollars(5), None).await.unwrap();
    let g = format!("/gigs/{}", gig.id);
    let t = format!("/gigs/{}/tickets", gig.id);
    let past = (time::OffsetDateTime::now_utc() - time::Duration::hours(3))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let long = |n: usize| "x".repeat(n);
    use Auth::{Anonymous, Bogus, Creator, Viewer};
    let mut cases = vec![
        case(
            "signup without handle",
            Method::POST,
            "/accounts",
            Anonymous,
            Some(json!({"display_name": "A", "password": "long-enough"})),
            422,
            Some("handle"),
        ),
        case(
            "signup short handle",
            Method::POST,
            "/accounts",
            Anonymous,
            Some(json!({"handle": "ab", "display_name": "A", "password": "long-enough"})),
            422,
            Some("handle"),
        ),
        case(
            "signup upper-case handle",
            Method::POST,
            "/accounts",
            Anonymous,
            Some(json!({"handle": "Alice2", "display_name": "A", "password": "long-enough"})),
            422,
            Some("handle"),
        ),
        case(
            "signup long handle",
            Method::POST,
            "/accounts",
            Anonymous,
            Some(json!({"handle": long(33), "display_name": "A", "password": "long-enough"})),
            422,
            Some("handle"),
        ),
        case(
            "signup handle is a number",
            Method::POST,
            "/accounts",
            Anonymous,
            Some(json!({"handle": 12345, "display_name": "A", "password": "long-enough"})),
            422,
            Some("handle"),
        ),
        case(
            "signup blank display name",
            Method::POST,
            "/accounts",
            Anonymous,
            Some(json!({"handle": "carol", "display_name": "   ", "password": "long-enough"})),
            422,
            Some("display_name"),
        ),
        case(
            "signup long display name",
            Method::POST,
            "/accounts",
            Anonymous,
            Some(json!({"handle": "carol", "display_name": long(65), "password": "long-enough"})),
            422,
            Some("display_name"),
        ),
        case(
            "signup short password",
            Method::POST,
            "/accounts",
            Anonymous,
            Some(json!({"handle": "carol", "display_name": "C", "password": "short"})),
            422,
            Some("password"),
        ),
        case(
            "signup long password",
            Method::POST,
            "/accounts",
            Anonymous,
            Some(json!({"handle": "carol", "display_name": "C", "password": long(129)})),
            422,
            Some("password"),
        ),
        case(
            "signup unknown field",
            Method::POST,
            "/accounts",
            Anonymous,
            Some(
                json!({"handle": "carol", "display_name": "C", "password": "long-enough", "admin": true}),
            ),
            422,
            Some("admin"),
        ),
        case(
            "signup taken handle",
            Method::POST,
            "/accounts",
            Anonymous,
            Some(json!({"handle": "alice", "display_name": "A", "password": "long-enough"})),
            409,
            Some("handle"),
        ),
        case(
            "signin missing password",
            Method::POST,
            "/sessions",
            Anonymous,
            Some(json!({"handle": "alice"})),
            422,
            Some("password"),
        ),
        case(
            "signin wrong password",
            Method::POST,
            "/sessions",
            Anonymous,
            Some(json!({"handle": "alice", "password": "wrong-password"})),
            401,
            None,
        ),
        case(
            "me without token",
            Method::GET,
            "/me",
            Anonymous,
            None,
            401,
            None,
        ),
        case(
            "me with unknown token",
            Method::GET,
            "/me",
            Bogus,
            None,
            401,
            None,
        ),
        case(
            "wallet with unknown token",
            Method::GET,
            "/wallet",
            Bogus,
            None,
            401,
            None,
        ),
        case(
            "gig without token",
            Method::POST,
            "/gigs",
            Anonymous,
            Some(gig_body(json!({}))),
            401,
            None,
        ),
        case(
            "gig empty title",
            Method::POST,
            "/gigs",
            Creator,
            Some(gig_body(json!({"title": " "}))),
            422,
            Some("title"),
        ),
        case(
            "gig long title",
            Method::POST,
            "/gigs",
            Creator,
            Some(gig_body(json!({"title": long(121)}))),
            422,
            Some("title"),
        ),
        case(
            "gig title with control character",
            Method::POST,
            "/gigs",
            Creator,
            Some(gig_body(json!({"title": "bell\u{7}"}))),
            422,
            Some("title"),
        ),
        case(
            "gig long description",
            Method::POST,
            "/gigs",
            Creator,
            Some(gig_body(json!({"description": long(5001)}))),
            422,
            Some("description"),
        ),
        case(
            "gig long creator name",
            Method::POST,
            "/gigs",
            Creator,
            Some(gig_body(json!({"creator_name": long(81)}))),
            422,
            Some("creator_name"),
        ),
        case(
            "gig missing payment pointer",
            Method::POST,
            "/gigs",
            Creator,
            Some(gig_body(json!({"-payment_pointer": null}))),
            422,
            Some("payment_pointer"),
        ),
        case(
            "gig negative price",
            Method::POST,
            "/gigs",
            Creator,
            Some(gig_body(json!({"price": -1}))),
            422,
            Some("price"),
        ),
        case(
            "gig absurd price",
            Method::POST,
            "/gigs",
            Creator,
            Some(gig_body(json!({"price": 10_000_000_001i64}))),
            422,
            Some("price"),
        ),
        case(
            "gig price as text",
            Method::POST,
            "/gigs",
            Creator,
            Some(gig_body(json!({"price": "7.50"}))),
            422,
            Some("price"),
        ),
        case(
            "gig price beyond i64",
            Method::POST,
            "/gigs",
            Creator,
            Some(gig_body(json!({"price": 1e30}))),
            422,
            Some("price"),
        ),
        case(
            "gig end before start",
            Method::POST,
            "/gigs",
            Creator,
            Some(gig_body(json!({"ends_at": past}))),
            422,
            Some("ends_at"),
        ),
        case(
            "gig start in the past",
            Method::POST,
            "/gigs",
            Creator,
            Some(gig_body(json!({"starts_at": past}))),
            422,
            Some("starts_at"),
        ),
        case(
            "gig start not a date",
            Method::POST,
            "/gigs",
            Creator,
            Some(gig_body(json!({"starts_at": "tomorrow"}))),
            422,
            Some("starts_at"),
        ),
        case(
            "gig unknown category",
            Method::POST,
            "/gigs",
            Creator,
            Some(gig_body(json!({"category": "opera"}))),
            422,
            Some("category"),
        ),
        case(
            "gig malformed pointer",
            Method::POST,
            "/gigs",
            Creator,
            Some(gig_body(json!({"payment_pointer": "alice@wallet"}))),
            422,
            Some("payment_pointer"),
        ),
        case(
            "gig zero capacity",
            Method::POST,
            "/gigs",
            Creator,
            Some(gig_body(json!({"capacity": 0}))),
            422,
            Some("capacity"),
        ),
        case(
            "gig negative capacity",
            Method::POST,
            "/gigs",
            Creator,
            Some(gig_body(json!({"capacity": -5}))),
            422,
            Some("capacity"),
        ),
        case(
            "gig rate too high",
            Method::POST,
            "/gigs",
            Creator,
            Some(gig_body(json!({"micropayment_rate": 36_000_001}))),
            422,
            Some("micropayment_rate"),
        ),
        case(
            "gig unknown field",
            Method::POST,
            "/gigs",
            Creator,
            Some(gig_body(json!({"stream_key": "mine"}))),
            422,
            Some("stream_key"),
        ),
        case(
            "gig listing fee unaffordable",
            Method::POST,
            "/gigs",
            Viewer,
            Some(gig_body(json!({}))),
            402,
            None,
        ),
        case(
            "catalogue unknown category",
            Method::GET,
            "/gigs?category=opera",
            Anonymous,
            None,
            422,
            Some("category"),
        ),
        case(
            "catalogue bad limit",
            Method::GET,
            "/gigs?limit=1000",
            Anonymous,
            None,
            422,
            Some("limit"),
        ),
        case(
            "catalogue bad cursor",
            Method::GET,
            "/gigs?cursor=nonsense",
            Anonymous,
            None,
            422,
            Some("cursor"),
        ),
        case(
            "catalogue long search",
            Method::GET,
            &format!("/gigs?q={}", long(101)),
            Anonymous,
            None,
            422,
            Some("q"),
        ),
        case(
            "gig malformed id",
            Method::GET,
            "/gigs/not-an-id",
            Anonymous,
            None,
            404,
            None,
        ),
        case(
            "gig unknown id",
            Method::GET,
            &format!("/gigs/{}", bookmygig_api::GigId::new()),
            Anonymous,
            None,
            404,
            None,
        ),
        case(
            "patch by a stranger",
            Method::PATCH,
            &g,
            Viewer,
            Some(json!({"title": "Mine now"})),
            403,
            None,
        ),
        case(
            "patch empty title",
            Method::PATCH,
            &g,
            Creator,
            Some(json!({"title": ""})),
            422,
            Some("title"),
        ),
        case(
            "patch end before start",
            Method::PATCH,
            &g,
            Creator,
            Some(json!({"ends_at": past})),
            422,
            Some("ends_at"),
        ),
        case(
            "patch mistyped capacity",
            Method::PATCH,
            &g,
            Creator,
            Some(json!({"capacity": "many"})),
            422,
            Some("capacity"),
        ),
        case(
            "cancel by a stranger",
            Method::DELETE,
            &g,
            Viewer,
            None,
            403,
            None,
        ),
        case(
            "rotate by a stranger",
            Method::POST,
            &format!("{g}/stream-key"),
            Viewer,
            None,
            403,
            None,
        ),
        case(
            "ticket without idempotency key",
            Method::POST,
            &t,
            Viewer,
            None,
            422,
            Some("Idempotency-Key"),
        ),
        case(
            "wallet bad limit",
            Method::GET,
            "/wallet?limit=0",
            Viewer,
            None,
            422,
            Some("limit"),
        ),
        case(
            "wallet bad cursor",
            Method::GET,
            "/wallet?cursor=abc",
            Viewer,
            None,
            422,
            Some("cursor"),
        ),
        case(
            "top-up zero",
            Method::POST,
            "/wallet/topups",
            Viewer,
            Some(json!({"amount": 0})),
            422,
            Some("amount"),
        ),
        case(
            "top-up negative",
            Method::POST,
            "/wallet/topups",
            Viewer,
            Some(json!({"amount": -5})),
            422,
            Some("amount"),
        ),
        case(
            "top-up absurd",
            Method::POST,
            "/wallet/topups",
            Viewer,
            Some(json!({"amount": 10_000_000_001i64})),
            422,
            Some("amount"),
        ),
        case(
            "top-up fractional",
            Method::POST,
            "/wallet/topups",
            Viewer,
            Some(json!({"amount": 1.5})),
            422,
            Some("amount"),
        ),
        case(
            "top-up as text",
            Method::POST,
            "/wallet/topups",
            Viewer,
            Some(json!({"amount": "ten"})),
            422,
            Some("amount"),
        ),
        case(
            "unknown endpoint",
            Method::GET,
            "/nope",
            Anonymous,
            None,
            404,
            None,
        ),
        case(
            "wrong method",
            Method::PUT,
            "/gigs",
            Anonymous,
            None,
            405,
            None,
        ),
    ];
    let mut raw = |name,
                   method,
                   path: &str,
                   auth,
                   body: &str,
                   headers: Vec<(&'static str, String)>,
                   status,
                   field| {
        let mut c = case(name, method, path, auth, None, status, field);
        c.body = Some(body.to_owned());
        c.headers = headers;
        cases.push(c);
    };
    raw(
        "invalid JSON",
        Method::POST,
        "/accounts",
        Anonymous,
        "{\"handle\": ",
        vec![],
        400,
        None,
    );
    raw(
        "JSON array instead of object",
        Method::POST,
        "/wallet/topups",
        Viewer,
        "[1]",
        vec![],
        422,
        Some("body"),
    );
    raw(
        "no content type",
        Method::POST,
        "/wallet/topups",
        Viewer,
        "{\"amount\": 5}",
        vec![("content-type", "text/plain".into())],
        415,
        None,
    );
    raw(
        "body over 64 KiB",
        Method::POST,
        "/gigs",
        Creator,
        &gig_body(json!({"description": long(70_000)})).to_string(),
        vec![],
        413,
        None,
    );
    raw(
        "idempotency key too long",
        Method::POST,
        &t,
        Viewer,
        "",
        vec![("Idempotency-Key", long(129))],
        422,
        Some("Idempotency-Key"),
    );
    raw(
        "ticket of unknown gig",
        Method::POST,
        &format!("/gigs/{}/tickets", bookmygig_api::GigId::new()),
        Viewer,
        "",
        vec![("Idempotency-Key", "k-missing".into())],
        404,
        None,
    );
    raw(
        "ticket too expensive",
        Method::POST,
        &t,
        Viewer,
        "",
        vec![("Idempotency-Key", "k-poor".into())],
        402,
        None,
    );
    raw(
        "creator buys own ticket",
        Method::POST,
        &t,
        Creator,
        "",
        vec![("Idempotency-Key", "k-own".into())],
        409,
        None,
    );

    let http = reqwest::Client::new();
    for c in &cases {
        let mut request = http.request(
            c.method.clone(),
            format!("{}/api/v1{}", server.base, c.path),
        );
        if c.path == "/nope" {
            request = http.request(c.method.clone(), format!("{}/nope", server.base));
        }
        request = match c.auth {
            Auth::Anonymous => request,
            Auth::Creator => request.bearer_auth(creator.token().unwrap()),
            Auth::Viewer => request.bearer_auth(viewer.token().unwrap()),
            Auth::Bogus => request.bearer_auth("bmg_not-a-real-token"),
        };
        if let Some(body) = &c.body {
            if !c.headers.iter().any(|(name, _)| *name == "content-type") {
                request = request.header("content-type", "application/json");
            }
            request = request.body(body.clone());
        }
        for (name, value) in &c.headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, c.status, "{}: {body}", c.name);
        assert_eq!(content_type, "application/problem+json", "{}", c.name);
        assert_eq!(body["status"], c.status, "{}: {body}", c.name);
        for member in ["type", "title", "detail"] {
            assert!(
                body[member].as_str().is_some_and(|s| !s.is_empty()),
                "{}: no {member}: {body}",
                c.name
            );
        }
        assert_eq!(body["field"].as_str(), c.field, "{}: {body}", c.name);
    }

    // Nothing half-written: only the fixture gig exists, wallets are as they were.
    let catalogue = server
        .anonymous()
        .list_gigs(&GigListQuery::default())
        .await
        .unwrap();
    assert_eq!(catalogue.items.len(), 1);
    assert_eq!(catalogue.items[0].seats_left, Some(10));
    assert_eq!(
        viewer.wallet(None, None).await.unwrap().balance,
        Money::from_dollars(5)
    );
    assert_eq!(
        creator.wallet(None, None).await.unwrap().balance,
        Money::ZERO
    );
    let unchanged = creator.gig(gig.id).await.unwrap();
    assert_eq!(
        (unchanged.title.as_str(), unchanged.ends_at),
        ("Late Night Laughs", gig.ends_at)
    );
    server.assert_ledger_sound().await;
}

#[tokio::test]
async fn catalogue_shows_a_sale_and_a_change_at_once() {
    let server = TestServer::start(Backend::Embedded).await;
    let (creator, gig) = server.creator_with_gig("alice", Some(3)).await;
    let anonymous = server.anonymous();
    let before = anonymous.list_gigs(&GigListQuery::default()).await.unwrap();
    assert_eq!(before.items[0].seats_left, Some(3));
    let bob = server.sign_up("bob").await;
    bob.top_up(Money::from_dollars(10), None).await.unwrap();
    bob.buy_ticket(gig.id, "k").await.unwrap();
    let after_sale = anonymous.list_gigs(&GigListQuery::default()).await.unwrap();
    assert_eq!(after_sale.items[0].seats_left, Some(2));
    let patch = GigPatch {
        title: Some("Renamed".into()),
        ..Default::default()
    };
    creator.update_gig(gig.id, &patch).await.unwrap();
    let after_edit = anonymous.list_gigs(&GigListQuery::default()).await.unwrap();
    assert_eq!(after_edit.items[0].title, "Renamed");
}

/// Redis going down is an outage, not a bug: 503 with Retry-After, and the server recovers by
/// itself once Redis is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_answers_503_and_recovers() {
    let mut server = TestServer::start(Backend::Redis).await;
    let alice = server.sign_up("alice").await;
    server.redis_mut().kill();
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/me", server.base))
        .bearer_auth(alice.token().expect("signed in"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert!(response.headers().contains_key("retry-after"));
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["status"], 503);
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("storage-unavailable"),
        "{problem}"
    );
    server.redis_mut().restart();
    // The connection comes back on its own; the (non-persistent) data does not, so a new
    // account proves the store answers again.
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            match server
                .anonymous()
                .sign_up(&bookmygig_api::NewAccount {
                    handle: "bob".into(),
                    display_name: "Bob".into(),
                    password: "bob-password".into(),
                })
                .await
            {
                Ok(_) => break,
                Err(error) => assert_eq!(problem_code(&error).0, 503, "{error:?}"),
            }
        }
    })
    .await
    .expect("the server answers again once Redis is back");
}

/// The fees in force are public, so clients can show them before anyone pays.
#[tokio::test]
async fn pricing_is_public_and_follows_the_flags() {
    let server = TestServer::start_with(
        Backend::Embedded,
        &[
            "--listing-fee",
            "12.50",
            "--ticket-commission",
            "7.5",
            "--micropayment-rate",
            "0.60",
        ],
    )
    .await;
    let pricing = server.anonymous().pricing().await.unwrap();
    assert_eq!(pricing.listing_fee, Money::from_micros(12_500_000));
    assert_eq!(pricing.ticket_commission_bps, 750);
    assert_eq!(
        pricing.default_micropayment_rate,
        Money::from_micros(600_000)
    );
}
