//! The HTTP layer through its router alone (`tower::ServiceExt::oneshot`), where a real socket
//! adds nothing: the node is assembled exactly as `serve` assembles it (a single node on an
//! embedded store), then each request goes straight into `http::router`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use bookmygig_api::Problem;
use bookmygig_api::problem::PROBLEM_CONTENT_TYPE;
use bookmygig_server::live::StreamHub;
use bookmygig_server::node::Node;
use bookmygig_server::state::AppState;
use bookmygig_server::{Config, http};
use bookmygig_store::{EmbeddedStore, Store};
use clap::Parser;
use tokio::sync::watch;
use tower::ServiceExt;

/// The router of a fresh single node, and what must outlive it.
struct Api {
    router: Router,
    _dir: tempfile::TempDir,
    _stop: watch::Sender<bool>,
}

async fn api() -> Api {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().display().to_string();
    let config = Config::try_parse_from(["bookmygig-server", "--data-dir", data_dir.as_str()])
        .expect("valid flags");
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).expect("store"));
    let hub = StreamHub::new();
    let (stop, stopping) = watch::channel(false);
    let addr: SocketAddr = "127.0.0.1:8080".parse().expect("address");
    let node = Node::assemble(&config, addr, &hub, &stopping)
        .await
        .expect("node");
    let storage = bookmygig_server::recording::storage::open(&config.recording_storage, dir.path())
        .await
        .expect("recordings' storage");
    let recordings = Arc::new(bookmygig_server::recording::Archive::new(
        Arc::clone(storage.store()),
        storage.prefix().clone(),
    ));
    let (state, _tasks) = AppState::assemble(
        &config,
        store,
        hub,
        node,
        recordings,
        (addr, addr),
        stopping,
    )
    .expect("state");
    Api {
        router: http::router(state),
        _dir: dir,
        _stop: stop,
    }
}

async fn send(api: &Api, request: Request<Body>) -> (StatusCode, header::HeaderMap, Vec<u8>) {
    let response = api.router.clone().oneshot(request).await.expect("answered");
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, 1 << 20).await.expect("body");
    (parts.status, parts.headers, bytes.to_vec())
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("request")
}

fn problem(headers: &header::HeaderMap, body: &[u8]) -> Problem {
    assert_eq!(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some(PROBLEM_CONTENT_TYPE)
    );
    serde_json::from_slice(body).expect("an RFC 9457 problem")
}

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let api = api().await;
    let (status, headers, body) = send(&api, get("/api/v1/no-such-thing")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let problem = problem(&headers, &body);
    assert_eq!(problem.status, 404);
    assert!(problem.kind.ends_with("/not-found"), "{problem:?}");
}

#[tokio::test]
async fn the_openapi_document_describes_the_routes_it_serves() {
    let api = api().await;
    let (status, _, body) = send(&api, get("/api/v1/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    let document: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3."))
    );
    for path in ["/api/v1/gigs", "/api/v1/accounts", "/live/{file}"] {
        assert!(
            document["paths"].get(path).is_some(),
            "{path} is documented"
        );
    }
}

#[tokio::test]
async fn a_request_without_a_session_is_a_401_problem_asking_for_a_bearer_token() {
    let api = api().await;
    let (status, headers, body) = send(&api, get("/api/v1/me")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        headers
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    assert_eq!(problem(&headers, &body).status, 401);
}

#[tokio::test]
async fn an_empty_catalogue_is_an_empty_page_and_a_bad_gig_id_a_404_problem() {
    let api = api().await;
    let (status, _, body) = send(&api, get("/api/v1/gigs")).await;
    assert_eq!(status, StatusCode::OK);
    let page: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(page["items"], serde_json::json!([]), "{page}");
    let (status, headers, body) = send(&api, get("/api/v1/gigs/not-a-gig-id")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(problem(&headers, &body).status, 404);
}
