//! Test harness: real servers on port 0 (in-process, or the real binary as a child process),
//! real redis-server, and the typed client. Nothing sleeps: readiness is an awaited event.
#![allow(dead_code)] // Each test binary uses a different part of the harness.
#![allow(clippy::expect_used, clippy::unwrap_used)] // A harness failure is a test failure.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bookmygig_api::{Category, Gig, Money, NewAccount, NewGig};
use bookmygig_client::Client;
use bookmygig_server::{Config, open_store, serve};
use bookmygig_store::Store;
use bookmygig_testkit::RedisServer;
#[allow(unused_imports)] // Each test binary uses a different part of the harness.
pub use bookmygig_testkit::{FfmpegPublisher, require_tool};
use clap::Parser as _;
use time::OffsetDateTime;
use tokio::sync::oneshot;

pub mod cluster;
pub mod flv_viewer;
pub mod logs;
pub mod rtmp_raw;

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
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `http://127.0.0.1:PORT` of its private metrics listener.
    pub metrics_base: String,
    /// Where it accepts RTMP.
    pub rtmp_port: u16,
    /// The store it runs on, for audits.
    pub store: Arc<dyn Store>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
    _redis: Option<RedisServer>,
}

impl TestServer {
    /// Starts a server on `backend` with default flags plus `extra`.
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, &[]).await
    }

    /// Starts a server with extra flags.
    pub async fn start_with(backend: Backend, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let redis = matches!(backend, Backend::Redis).then(RedisServer::start);
        Self::launch(dir, redis, extra).await
    }

    /// Starts a server on `dir` (embedded store) or `redis` (when given), keeping both alive.
    async fn launch(dir: tempfile::TempDir, redis: Option<RedisServer>, extra: &[&str]) -> Self {
        let mut args = vec![
            "bookmygig-server".to_owned(),
            "--http".into(),
            "127.0.0.1:0".into(),
            "--data-dir".into(),
            dir.path().display().to_string(),
            // Tests fund their accounts through the development provider.
            "--dev-topups".into(),
        ];
        if let Some(redis) = &redis {
            args.extend(["--redis-url".into(), redis.url()]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let config = Config::try_parse_from(args).expect("valid flags");
        let store = open_store(&config).await.expect("store opens");
        let listeners = bookmygig_server::Listeners::loopback().await.expect("bind");
        let base = format!("http://{}", listeners.http.local_addr().expect("addr"));
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
            _dir: dir,
            _redis: redis,
        }
    }

    /// The private redis-server of a Redis-backed server.
    pub fn redis_mut(&mut self) -> &mut RedisServer {
        self._redis.as_mut().expect("a Redis-backed test server")
    }

    /// The URL of a Redis-backed server's private redis-server.
    pub fn redis_url(&self) -> String {
        self._redis
            .as_ref()
            .expect("a Redis-backed test server")
            .url()
    }

    /// A client without credentials.
    pub fn anonymous(&self) -> Client {
        Client::new(&self.base).expect("client")
    }

    /// Signs up `handle` and returns a client carrying its token.
    pub async fn sign_up(&self, handle: &str) -> Client {
        sign_up_through(self.anonymous(), handle).await
    }

    /// Signs up a creator, tops up the listing fee, and registers a gig.
    pub async fn creator_with_gig(&self, handle: &str, capacity: Option<u32>) -> (Client, Gig) {
        let creator = self.sign_up(handle).await;
        creator
            .top_up(Money::from_dollars(99), None)
            .await
            .expect("top up");
        let gig = creator
            .create_gig(&new_gig("Late Night Laughs", capacity))
            .await
            .expect("gig");
        (creator, gig)
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

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A valid registration form starting in two hours.
pub fn new_gig(title: &str, capacity: Option<u32>) -> NewGig {
    let starts_at = OffsetDateTime::now_utc() + time::Duration::hours(2);
    NewGig {
        creator_name: "Alice Smith".into(),
        title: title.into(),
        description: "An hour of new material.".into(),
        category: Category::Comedy,
        price: Money(7_500_000),
        starts_at,
        ends_at: starts_at + time::Duration::hours(1),
        capacity,
        payment_pointer: "$wallet.example/alice".into(),
        micropayment_rate: None,
    }
}

/// The real `bookmygig-server` binary as a child process, its log collected.
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:PORT` it reported.
    pub base: String,
    /// `http://127.0.0.1:PORT` of its private metrics listener.
    pub metrics_base: String,
    /// `http://127.0.0.1:PORT` of its private internal listener (relays).
    pub internal_base: String,
    /// `127.0.0.1:PORT` where it accepts RTMP.
    pub rtmp: String,
    log: Arc<Mutex<Vec<String>>>,
    log_closed: std::sync::mpsc::Receiver<()>,
}

impl ServerProcess {
    /// Starts the binary with `args` (plus `--http 127.0.0.1:0` unless given) and waits for its
    /// "listening" log line.
    pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_bookmygig-server"));
        if !args.contains(&"--http") {
            command.args(["--http", "127.0.0.1:0"]);
        }
        if !args.contains(&"--rtmp") && !env.iter().any(|(k, _)| *k == "BOOKMYGIG_RTMP") {
            command.args(["--rtmp", "127.0.0.1:0"]);
        }
        for flag in ["--metrics-addr", "--internal-addr"] {
            if !args.contains(&flag) {
                command.args([flag, "127.0.0.1:0"]);
            }
        }
        // Tests fund their accounts through the development provider, unless the environment
        // given says otherwise (`BOOKMYGIG_DEV_TOPUPS=false`).
        if !args.contains(&"--dev-topups") && !env.iter().any(|(k, _)| *k == "BOOKMYGIG_DEV_TOPUPS")
        {
            command.arg("--dev-topups");
        }
        command
            .args(args)
            .envs(env.iter().copied())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("the server binary starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (closed_tx, log_closed) = std::sync::mpsc::channel();
        std::thread::spawn({
            let log = Arc::clone(&log);
            move || {
                let mut ready = Some(ready_tx);
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if line.contains("bookmygig-server listening")
                        && let Some(tx) = ready.take()
                    {
                        let _ = tx.send(line.clone());
                    }
                    log.lock().expect("log lock").push(line);
                }
                let _ = closed_tx.send(());
            }
        });
        let line = ready_rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| {
                panic!("server not ready; log: {:?}", log.lock().map(|l| l.clone()))
            });
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|field| field.strip_prefix(name))
                .expect("listening line names the addresses")
                .to_owned()
        };
        ServerProcess {
            child,
            base: format!("http://{}", field("http=")),
            metrics_base: format!("http://{}", field("metrics=")),
            internal_base: format!("http://{}", field("internal=")),
            rtmp: field("rtmp="),
            log,
            log_closed,
        }
    }

    /// Its process id (for `/proc/<pid>/…`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A client of this process.
    pub fn client(&self) -> Client {
        Client::new(&self.base).expect("client")
    }

    /// Signs up `handle` through this process; a client carrying its token.
    pub async fn sign_up(&self, handle: &str) -> Client {
        sign_up_through(self.client(), handle).await
    }

    /// Kills it with SIGKILL: no chance to flush anything.
    pub fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reap");
    }

    /// Asks it to stop with SIGTERM, waits, and returns everything it logged.
    pub fn terminate(mut self) -> String {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        let exit = self.child.wait().expect("wait");
        assert!(exit.success(), "graceful shutdown exits 0, got {exit}");
        self.log_closed
            .recv_timeout(Duration::from_secs(10))
            .expect("the log reaches its end after exit");
        self.log.lock().expect("log lock").join("\n")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Signs `handle` up through `anonymous` (password `{handle}-password`); the same client
/// carrying the new account's token.
pub async fn sign_up_through(anonymous: Client, handle: &str) -> Client {
    let signed = anonymous
        .sign_up(&NewAccount {
            handle: handle.into(),
            display_name: format!("{handle} (test)"),
            password: format!("{handle}-password"),
        })
        .await
        .expect("sign up");
    anonymous.with_token(signed.token)
}

/// A valid registration form for a gig that starts in ten minutes (inside the publish window).
pub fn live_gig_form(title: &str) -> NewGig {
    let mut form = new_gig(title, None);
    let start = OffsetDateTime::now_utc() + time::Duration::minutes(10);
    form.starts_at = start;
    form.ends_at = start + time::Duration::hours(1);
    form
}

impl TestServer {
    /// A creator and a gig that may be published now; returns the creator's client and the
    /// gig (with its stream key).
    pub async fn live_gig(&self, handle: &str) -> (Client, Gig) {
        let creator = self.sign_up(handle).await;
        creator
            .top_up(Money::from_dollars(99), None)
            .await
            .expect("top up");
        let gig = creator
            .create_gig(&live_gig_form("Live Tonight"))
            .await
            .expect("gig");
        (creator, gig)
    }

    /// The publish URL of `gig` on this server.
    pub fn publish_url(&self, gig: &Gig) -> String {
        let key = gig.stream_key.as_ref().expect("creator view has the key");
        format!("rtmp://127.0.0.1:{}/live/{}", self.rtmp_port, key.expose())
    }

    /// Waits (up to `within`) until the gig's stream status satisfies `done`.
    pub async fn await_stream(
        &self,
        gig: bookmygig_api::GigId,
        within: Duration,
        done: impl Fn(&bookmygig_api::StreamStatus) -> bool,
    ) -> bookmygig_api::StreamStatus {
        let client = reqwest::Client::new();
        let url = format!("{}/api/v1/gigs/{gig}/stream", self.base);
        let deadline = tokio::time::Instant::now() + within;
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            tick.tick().await;
            let status: bookmygig_api::StreamStatus = client
                .get(&url)
                .send()
                .await
                .expect("stream status")
                .json()
                .await
                .expect("json");
            if done(&status) {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "stream never reached the state: {status:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Chat: restarting on the same data, ticket holders, and a real WebSocket client.
// ---------------------------------------------------------------------------------------------

/// How long a chat test waits for something that should happen at once.
pub const CHAT_PATIENCE: Duration = Duration::from_secs(10);

/// What a stopped server leaves for the next one: its data directory and redis-server.
pub struct ServerData {
    dir: tempfile::TempDir,
    redis: Option<RedisServer>,
}

impl TestServer {
    /// Stops the server gracefully but keeps its data (directory or redis-server) for
    /// [`TestServer::start_on`].
    pub async fn stop_keeping_data(mut self) -> ServerData {
        let spare = tempfile::tempdir().expect("temp dir");
        let dir = std::mem::replace(&mut self._dir, spare);
        let redis = self._redis.take();
        let store = Arc::clone(&self.store);
        self.stop().await;
        // A connection or chat task that ended with the server may drop its handle on the
        // store a moment after `serve` returns; the embedded store's file stays locked until
        // the last handle goes, so the next server waits for that rather than failing to open.
        bookmygig_testkit::eventually(
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

    /// Starts a new server on what a stopped one left, as after a restart.
    pub async fn start_on(data: ServerData) -> Self {
        Self::launch(data.dir, data.redis, &[]).await
    }

    /// Signs up `handle`, tops up and buys a ticket for `gig`.
    pub async fn ticket_holder(&self, handle: &str, gig: bookmygig_api::GigId) -> Client {
        let holder = self.sign_up(handle).await;
        holder
            .top_up(Money::from_dollars(10), None)
            .await
            .expect("top up");
        holder.buy_ticket(gig, "chat-ticket").await.expect("ticket");
        holder
    }

    /// The chat WebSocket URL of `gig`.
    pub fn chat_url(&self, gig: bookmygig_api::GigId) -> String {
        let ws = self.base.replacen("http://", "ws://", 1);
        format!("{ws}/api/v1/gigs/{gig}/chat")
    }

    /// Enters `gig`'s chat as `client` (token in the header), panicking on a refusal.
    pub async fn chat(&self, client: &Client, gig: bookmygig_api::GigId) -> ChatSocket {
        let token = client.token().expect("a signed-in client");
        ChatSocket::connect(&self.chat_url(gig), Some(token), TokenIn::Header)
            .await
            .unwrap_or_else(|(status, problem)| panic!("refused with {status}: {problem:?}"))
    }

    /// Enters `gig`'s chat as `client` and reads the greeting: `history`, `presence`, `stream`.
    pub async fn enter_chat(
        &self,
        client: &Client,
        gig: bookmygig_api::GigId,
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
}

/// Where a chat client puts its token.
#[derive(Clone, Copy, Debug)]
pub enum TokenIn {
    /// `Authorization: Bearer …`.
    Header,
    /// `?token=…`, as browsers must.
    Query,
}

/// A real WebSocket client (tokio-tungstenite) in a gig's chat.
pub struct ChatSocket {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl ChatSocket {
    /// Connects; a refusal before the upgrade comes back as its status and problem body.
    pub async fn connect(
        url: &str,
        token: Option<&str>,
        token_in: TokenIn,
    ) -> Result<Self, (u16, Option<bookmygig_api::Problem>)> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
        let url = match (token, token_in) {
            (Some(token), TokenIn::Query) => format!("{url}?token={token}"),
            _ => url.to_owned(),
        };
        let mut request = url.into_client_request().expect("a WebSocket URL");
        if let (Some(token), TokenIn::Header) = (token, token_in) {
            request.headers_mut().insert(
                http::header::AUTHORIZATION,
                format!("Bearer {token}").parse().expect("header value"),
            );
        }
        match tokio::time::timeout(CHAT_PATIENCE, tokio_tungstenite::connect_async(request))
            .await
            .expect("the server answers the upgrade")
        {
            Ok((ws, _)) => Ok(ChatSocket { ws }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let problem = response
                    .body()
                    .as_deref()
                    .and_then(|body| serde_json::from_slice(body).ok());
                Err((response.status().as_u16(), problem))
            }
            Err(e) => panic!("cannot connect to the chat: {e}"),
        }
    }

    /// Sends a raw frame.
    pub async fn send(&mut self, message: tokio_tungstenite::tungstenite::Message) {
        use futures::SinkExt as _;
        self.ws.send(message).await.expect("frame sent");
    }

    /// Writes `bytes` straight to the TCP connection, past the WebSocket codec: for frames no
    /// WebSocket library would send.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt as _;
        let tcp = self.ws.get_mut();
        // The server may hang up before it has read everything: that is its right.
        let _ = tcp.write_all(bytes).await;
        let _ = tcp.flush().await;
    }

    /// Sends a text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.send(tokio_tungstenite::tungstenite::Message::text(text))
            .await;
    }

    /// Sends a client message.
    pub async fn send_message(&mut self, message: &bookmygig_api::ClientMessage) {
        self.send_text(&serde_json::to_string(message).expect("json"))
            .await;
    }

    /// Says `text`.
    pub async fn say(&mut self, text: &str) {
        self.send_message(&bookmygig_api::ClientMessage::Say { text: text.into() })
            .await;
    }

    /// The next server message (pings and pongs skipped); panics on a close or a timeout.
    pub async fn next(&mut self) -> bookmygig_api::ServerMessage {
        use futures::StreamExt as _;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            let frame = tokio::time::timeout(CHAT_PATIENCE, self.ws.next())
                .await
                .expect("a chat message in time")
                .expect("the socket is open")
                .expect("a valid frame");
            match frame {
                Message::Text(text) => {
                    return serde_json::from_str(text.as_str())
                        .unwrap_or_else(|e| panic!("not a server message ({e}): {text}"));
                }
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("expected a chat message, got {other:?}"),
            }
        }
    }

    /// Reads until a message satisfies `wanted` and returns it.
    pub async fn until(
        &mut self,
        wanted: impl Fn(&bookmygig_api::ServerMessage) -> bool,
    ) -> bookmygig_api::ServerMessage {
        let deadline = tokio::time::Instant::now() + CHAT_PATIENCE;
        loop {
            let message = self.next().await;
            if wanted(&message) {
                return message;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "never came; last: {message:?}"
            );
        }
    }

    /// Reads until the server closes the socket and returns its close code and reason
    /// (`None` when it went without a close frame).
    pub async fn closed(&mut self) -> Option<(u16, String)> {
        use futures::StreamExt as _;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            let frame = tokio::time::timeout(CHAT_PATIENCE, self.ws.next())
                .await
                .expect("the server closes in time");
            match frame {
                Some(Ok(Message::Close(frame))) => {
                    return frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                }
                Some(Ok(_)) => {}
                None | Some(Err(_)) => return None,
            }
        }
    }

    /// Closes the socket from this side and waits for the server's reply.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
        let _ = self.closed().await;
    }
}
