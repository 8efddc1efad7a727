//! What the tests do with a server, wherever it runs (in this process or a child).

use bookmygig_api::{Category, Gig, GigId, Money};
use bookmygig_client::Client;

use super::forms::{live_gig_form, sign_up_through};

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
