//! What the tests do with a server, wherever it runs (in this process or a child).

use std::time::Duration;

use bookmygig_api::{Category, Gig, GigId, Money, StreamStatus};
use bookmygig_client::Client;

use super::forms::{live_gig_form, new_gig, sign_up_through};

/// What the tests do with a server, wherever it runs (in this process or a child).
#[allow(async_fn_in_trait)] // Test code: the futures stay on the test's runtime.
pub trait Serving {
    /// `http://127.0.0.1:PORT` (or `https://`).
    fn base(&self) -> &str;

    /// Where it accepts RTMP.
    fn rtmp_port(&self) -> u16;

    /// A client of this server, without credentials.
    fn anonymous(&self) -> Client {
        Client::new(self.base()).unwrap_or_else(|e| panic!("client of {}: {e}", self.base()))
    }

    /// Signs `handle` up through the API, tops its wallet up by `dollars`, and returns a client
    /// carrying its token.
    async fn account(&self, handle: &str, dollars: i64) -> Client {
        let client = sign_up_through(self.anonymous(), handle).await;
        client
            .top_up(Money::from_dollars(dollars), None)
            .await
            .unwrap_or_else(|e| panic!("top up {handle}: {e}"));
        client
    }

    /// Signs `handle` up through the API; a client carrying its token.
    async fn sign_up(&self, handle: &str) -> Client {
        sign_up_through(self.anonymous(), handle).await
    }

    /// Signs up a creator, tops up the listing fee, and registers a gig starting in two hours
    /// (`capacity` seats, or none).
    async fn creator_with_gig(&self, handle: &str, capacity: Option<u32>) -> (Client, Gig) {
        let creator = self.sign_up(handle).await;
        creator
            .top_up(Money::from_dollars(99), None)
            .await
            .unwrap_or_else(|e| panic!("top up {handle}: {e}"));
        let gig = creator
            .create_gig(&new_gig("Late Night Laughs", capacity))
            .await
            .unwrap_or_else(|e| panic!("gig of {handle}: {e}"));
        (creator, gig)
    }

    /// Signs up `handle`, tops up and buys a ticket for `gig`.
    async fn ticket_holder(&self, handle: &str, gig: GigId) -> Client {
        let holder = self.sign_up(handle).await;
        holder
            .top_up(Money::from_dollars(10), None)
            .await
            .unwrap_or_else(|e| panic!("top up {handle}: {e}"));
        holder
            .buy_ticket(gig, "chat-ticket")
            .await
            .unwrap_or_else(|e| panic!("ticket of {handle}: {e}"));
        holder
    }

    /// The chat WebSocket URL of `gig` (`ws://`, or `wss://` over TLS).
    fn chat_url(&self, gig: GigId) -> String {
        let ws = self
            .base()
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1);
        format!("{ws}/api/v1/gigs/{gig}/chat")
    }

    /// Waits (up to `within`) until the gig's stream status satisfies `done`.
    async fn await_stream(
        &self,
        gig: GigId,
        within: Duration,
        done: impl Fn(&StreamStatus) -> bool,
    ) -> StreamStatus {
        let client = reqwest::Client::new();
        let url = format!("{}/api/v1/gigs/{gig}/stream", self.base());
        let deadline = tokio::time::Instant::now() + within;
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            tick.tick().await;
            let status: StreamStatus = client
                .get(&url)
                .send()
                .await
                .unwrap_or_else(|e| panic!("stream status of {gig}: {e}"))
                .json()
                .await
                .unwrap_or_else(|e| panic!("stream status of {gig} as JSON: {e}"));
            if done(&status) {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "stream never reached the state: {status:?}"
            );
        }
    }

    /// A creator's gig titled `title` that starts in ten minutes (so its stream key works now);
    /// the creator's view, with the key.
    async fn gig_starting_soon(&self, creator: &Client, title: &str) -> Gig {
        let mut form = live_gig_form(title);
        form.creator_name = "Test Host".into();
        form.description = "A test gig.".into();
        form.category = Category::Music;
        form.price = Money::from_dollars(5);
        form.payment_pointer = "$wallet.example/host".into();
        creator
            .create_gig(&form)
            .await
            .unwrap_or_else(|e| panic!("gig {title}: {e}"))
    }

    /// The RTMP publish URL of `gig` (the creator's view, which carries the key).
    fn publish_url(&self, gig: &Gig) -> String {
        publish_url(self.rtmp_port(), gig)
    }

    /// Waits (up to `within`) until the gig's stream is live with video.
    async fn await_live(&self, gig: GigId, within: std::time::Duration) {
        let client = self.anonymous();
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if client
                .stream_status(gig)
                .await
                .is_ok_and(|status| status.live && status.video.is_some())
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the stream of {gig} did not go live within {within:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

/// The publish URL of `gig` on the loopback RTMP port `rtmp_port`.
///
/// # Panics
/// When `gig` is not the creator's view (it has no stream key).
pub fn publish_url(rtmp_port: u16, gig: &Gig) -> String {
    let Some(key) = gig.stream_key.as_ref() else {
        panic!("only the creator's view of a gig has its stream key");
    };
    format!("rtmp://127.0.0.1:{rtmp_port}/live/{}", key.expose())
}
