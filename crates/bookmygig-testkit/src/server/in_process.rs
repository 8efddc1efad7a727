//! The server inside the test process, on loopback port 0, on an embedded store in a temporary
//! directory or a private redis-server.

// Test harness: a failure to start or reach the server is the test's failure, said with a
// message.
#![allow(clippy::expect_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bookmygig_api::{Gig, GigId, Money};
use bookmygig_client::Client;
use bookmygig_server::{Config, Listeners, open_store, serve};
use bookmygig_store::Store;
use clap::Parser as _;
use tokio::sync::oneshot;

use super::chat_socket::{CHAT_PATIENCE, ChatSocket, TokenIn};
use super::forms::{live_gig_form, new_gig};
use super::serving::{Serving, publish_url};
use crate::RedisServer;

/// Which store a test server runs on.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    /// redb in a temporary directory.
    Embedded,
    /// A private redis-server.
    Redis,
}

/// A server running inside the test process.
pub struct TestServer {
    /// `http://127.0.0.1:PORT` (`https://` with `--tls-cert`).
    pub base: String,
    /// `http://127.0.0.1:PORT` of its private metrics listener.
    pub metrics_base: String,
    /// Where it accepts RTMP.
    pub rtmp_port: u16,
    /// The store it runs on, for audits.
    pub store: Arc<dyn Store>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// Its data directory, when the harness made it (not with [`TestServer::serve_at_with`]).
    dir: Option<tempfile::TempDir>,
    redis: Option<RedisServer>,
}

/// What a stopped server leaves for the next one: its data directory and redis-server.
pub struct ServerData {
    dir: tempfile::TempDir,
    redis: Option<RedisServer>,
}

impl TestServer {
    /// Starts a server on `backend` with default flags.
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, &[]).await
    }

    /// Starts a server on `backend` with extra flags (`--tls-cert` and `--tls-key` make its
    /// base `https://`).
    pub async fn start_with(backend: Backend, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let redis = matches!(backend, Backend::Redis).then(RedisServer::start);
        Self::launch(dir, redis, extra).await
    }

    /// Starts a server on what a stopped one left, as after a restart.
    pub async fn start_on(data: ServerData) -> Self {
        Self::launch(data.dir, data.redis, &[]).await
    }

    /// Starts a server on the embedded store in `data` (which the caller keeps), listening on
    /// `http` and `rtmp` (port 0: any), with extra flags: the same addresses again are a
    /// restart.
    pub async fn serve_at_with(
        data: &Path,
        http: SocketAddr,
        rtmp: SocketAddr,
        extra: &[&str],
    ) -> Self {
        let any = || tokio::net::TcpListener::bind("127.0.0.1:0");
        let listeners = Listeners {
            http: tokio::net::TcpListener::bind(http).await.expect("bind"),
            rtmp: tokio::net::TcpListener::bind(rtmp).await.expect("bind"),
            metrics: any().await.expect("bind"),
            internal: any().await.expect("bind"),
        };
        Self::serve(data, None, None, listeners, extra).await
    }

    /// Starts a server on `dir` (embedded store) or `redis` (when given), keeping both alive.
    async fn launch(dir: tempfile::TempDir, redis: Option<RedisServer>, extra: &[&str]) -> Self {
        let listeners = Listeners::loopback().await.expect("bind");
        let path = dir.path().to_owned();
        Self::serve(&path, Some(dir), redis, listeners, extra).await
    }

    async fn serve(
        data: &Path,
        dir: Option<tempfile::TempDir>,
        redis: Option<RedisServer>,
        listeners: Listeners,
        extra: &[&str],
    ) -> Self {
        let mut args = vec![
            "bookmygig-server".to_owned(),
            "--http".into(),
            "127.0.0.1:0".into(),
            "--data-dir".into(),
            data.display().to_string(),
        ];
        // Tests fund their accounts through the development provider, unless they bring an
        // Open Payments wallet.
        if !extra.contains(&"--open-payments-wallet") {
            args.push("--dev-topups".into());
        }
        if let Some(redis) = &redis {
            args.extend(["--redis-url".into(), redis.url()]);
        }
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        let config = Config::try_parse_from(args).expect("valid flags");
        let scheme = if config.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        let store = open_store(&config).await.expect("store opens");
        let base = format!("{scheme}://{}", listeners.http.local_addr().expect("addr"));
        let metrics_base = format!("http://{}", listeners.metrics.local_addr().expect("addr"));
        let rtmp_port = listeners.rtmp.local_addr().expect("addr").port();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn({
            let store = Arc::clone(&store);
            async move {
                serve(config, store, listeners, async {
                    let _ = stopped.await;
                })
                .await
                .expect("server runs");
            }
        });
        TestServer {
            base,
            metrics_base,
            rtmp_port,
            store,
            stop: Some(stop),
            task: Some(task),
            dir,
            redis,
        }
    }

    /// The private redis-server of a Redis-backed server.
    pub fn redis_mut(&mut self) -> &mut RedisServer {
        self.redis.as_mut().expect("a Redis-backed test server")
    }

    /// The URL of a Redis-backed server's private redis-server.
    pub fn redis_url(&self) -> String {
        self.redis
            .as_ref()
            .expect("a Redis-backed test server")
            .url()
    }

    /// A client without credentials.
    pub fn anonymous(&self) -> Client {
        Serving::anonymous(self)
    }

    /// Signs up `handle` and returns a client carrying its token.
    pub async fn sign_up(&self, handle: &str) -> Client {
        Serving::sign_up(self, handle).await
    }

    /// Signs up a creator, tops up the listing fee, and registers a gig starting in two hours.
    pub async fn creator_with_gig(&self, handle: &str, capacity: Option<u32>) -> (Client, Gig) {
        self.creator_with(handle, &new_gig("Late Night Laughs", capacity))
            .await
    }

    /// A creator and a gig that may be published now; returns the creator's client and the
    /// gig (with its stream key).
    pub async fn live_gig(&self, handle: &str) -> (Client, Gig) {
        self.creator_with(handle, &live_gig_form("Live Tonight"))
            .await
    }

    /// Signs up a creator, tops up $99, and registers `form`.
    async fn creator_with(&self, handle: &str, form: &bookmygig_api::NewGig) -> (Client, Gig) {
        let creator = self.sign_up(handle).await;
        creator
            .top_up(Money::from_dollars(99), None)
            .await
            .expect("top up");
        let gig = creator.create_gig(form).await.expect("gig");
        (creator, gig)
    }

    /// Signs up `handle`, tops up and buys a ticket for `gig`.
    pub async fn ticket_holder(&self, handle: &str, gig: GigId) -> Client {
        Serving::ticket_holder(self, handle, gig).await
    }

    /// The publish URL of `gig` on this server.
    pub fn publish_url(&self, gig: &Gig) -> String {
        publish_url(self.rtmp_port, gig)
    }

    /// Waits (up to `within`) until the gig's stream status satisfies `done`.
    pub async fn await_stream(
        &self,
        gig: GigId,
        within: std::time::Duration,
        done: impl Fn(&bookmygig_api::StreamStatus) -> bool,
    ) -> bookmygig_api::StreamStatus {
        Serving::await_stream(self, gig, within, done).await
    }

    /// The chat WebSocket URL of `gig`.
    pub fn chat_url(&self, gig: GigId) -> String {
        Serving::chat_url(self, gig)
    }

    /// Enters `gig`'s chat as `client` (token in the header), panicking on a refusal.
    pub async fn chat(&self, client: &Client, gig: GigId) -> ChatSocket {
        let token = client.token().expect("a signed-in client");
        ChatSocket::connect(&self.chat_url(gig), Some(token), TokenIn::Header)
            .await
            .unwrap_or_else(|(status, problem)| panic!("refused with {status}: {problem:?}"))
    }

    /// Enters `gig`'s chat as `client` and reads the greeting: `history`, `presence`, `stream`.
    pub async fn enter_chat(
        &self,
        client: &Client,
        gig: GigId,
    ) -> (ChatSocket, Vec<bookmygig_api::ChatMessage>) {
        use bookmygig_api::ServerMessage;
        let mut socket = self.chat(client, gig).await;
        let ServerMessage::History { messages } = socket.next().await else {
            panic!("history comes first");
        };
        socket
            .until(|m| matches!(m, ServerMessage::Stream(_)))
            .await;
        (socket, messages)
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
    }

    /// Stops the server gracefully but keeps its data (directory or redis-server) for
    /// [`TestServer::start_on`].
    pub async fn stop_keeping_data(mut self) -> ServerData {
        let dir = self
            .dir
            .take()
            .expect("a server on a data directory of the harness's");
        let redis = self.redis.take();
        let store = Arc::clone(&self.store);
        self.stop().await;
        // A connection or chat task that ended with the server may drop its handle on the
        // store a moment after `serve` returns; the embedded store's file stays locked until
        // the last handle goes, so the next server waits for that rather than failing to open.
        crate::eventually(
            "the stopped server lets go of its store",
            CHAT_PATIENCE,
            || {
                let holders = Arc::strong_count(&store);
                async move { if holders == 1 { Ok(()) } else { Err(holders) } }
            },
        )
        .await;
        drop(store);
        ServerData { dir, redis }
    }

    /// Checks the ledger invariants: all balances sum to zero, no user wallet below zero.
    pub async fn assert_ledger_sound(&self) {
        let balances = self.store.balances().await.expect("balances");
        let sum: i64 = balances.iter().map(|(_, m)| m.0).sum();
        assert_eq!(sum, 0, "balances must sum to zero: {balances:?}");
        for (account, money) in &balances {
            if account.is_user_wallet() {
                assert!(*money >= Money::ZERO, "{account} is negative: {money}");
            }
        }
    }
}

impl Serving for TestServer {
    fn base(&self) -> &str {
        &self.base
    }

    fn rtmp_port(&self) -> u16 {
        self.rtmp_port
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
