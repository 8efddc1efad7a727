//! The chat of one gig (`GET /api/v1/gigs/{id}/chat`): a WebSocket carrying the JSON frames of
//! [`bookmygig_api::ClientMessage`] and [`bookmygig_api::ServerMessage`].
//!
//! [`Client::chat`](crate::Client::chat) connects with the client's bearer token;
//! [`ChatSocket`] then sends and receives typed messages. Reconnecting is the caller's business
//! (the socket reports the end of the connection and does nothing more).

use bookmygig_api::{ClientMessage, Problem, ServerMessage};
use futures::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::TrustRoots;

/// Largest frame or message taken from the server (its largest, a full history, is ~100 KiB).
pub const MAX_SERVER_FRAME: usize = 1 << 20;

/// Why the chat could not be entered or went away.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// The server refused the upgrade (no ticket, unknown gig, not signed in, banned): its
    /// problem, when the body was one.
    #[error("{}", refusal_text(*status, problem.as_ref()))]
    Refused {
        /// The HTTP status of the refusal.
        status: u16,
        /// The server's problem body, when it sent one.
        problem: Option<Problem>,
    },
    /// The connection could not be made, or broke.
    #[error("chat connection failed: {0}")]
    Transport(#[from] tungstenite::Error),
    /// The server URL cannot be turned into a WebSocket URL, or the token into a header.
    #[error("invalid chat URL: {0}")]
    InvalidUrl(String),
    /// A frame that is not a JSON server message.
    #[error("could not decode a chat frame: {0}")]
    Decode(String),
}

impl ChatError {
    /// Whether trying again later can help: a refusal by the server (other than its being
    /// unavailable) stays a refusal.
    pub fn is_retryable(&self) -> bool {
        match self {
            ChatError::Refused { status, .. } => *status >= 500 || *status == 429,
            ChatError::Transport(_) => true,
            ChatError::InvalidUrl(_) | ChatError::Decode(_) => false,
        }
    }
}

/// The words of a refusal: the problem's detail (or title), else the status.
fn refusal_text(status: u16, problem: Option<&Problem>) -> String {
    match problem {
        Some(problem) => problem.to_string(),
        None => format!("the chat was refused (HTTP {status})"),
    }
}

/// An open chat connection.
#[derive(Debug)]
pub struct ChatSocket {
    /// The WebSocket.
    ws: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
    /// When the server was last heard from (any frame, pongs included).
    last_heard: std::time::Instant,
}

/// The `ws://` (or `wss://`) URL of a gig's chat on the server at `base` (an `http(s)://` base
/// URL without a trailing `/`).
///
/// # Errors
/// [`ChatError::InvalidUrl`] when `base` is not an `http(s)://` URL.
pub fn chat_url(base: &str, gig: bookmygig_api::GigId) -> Result<String, ChatError> {
    let rest = if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        return Err(ChatError::InvalidUrl(format!(
            "`{base}` is not an http(s) URL"
        )));
    };
    Ok(format!("{rest}/api/v1/gigs/{gig}/chat"))
}

impl ChatSocket {
    /// Connects to `url` (see [`chat_url`]), sending `token` as `Authorization: Bearer`.
    ///
    /// # Errors
    /// [`ChatError::Refused`] when the server answers the upgrade with an error status,
    /// [`ChatError::Transport`] when it cannot be reached.
    pub async fn connect(
        url: &str,
        token: Option<&str>,
        roots: &TrustRoots,
    ) -> Result<Self, ChatError> {
        let mut request = url
            .into_client_request()
            .map_err(|err| ChatError::InvalidUrl(err.to_string()))?;
        if let Some(token) = token {
            let value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| ChatError::InvalidUrl("the token is not a header value".into()))?;
            request.headers_mut().insert("authorization", value);
        }
        // The server's frames are small (a history of 100 messages is under 100 KiB): a frame or
        // message past these is refused rather than buffered (tungstenite's defaults allow 16
        // and 64 MiB).
        let config = tungstenite::protocol::WebSocketConfig::default()
            .max_frame_size(Some(MAX_SERVER_FRAME))
            .max_message_size(Some(MAX_SERVER_FRAME));
        let connector = tokio_tungstenite::Connector::Rustls(roots.config());
        match tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(config),
            false,
            Some(connector),
        )
        .await
        {
            Ok((ws, _)) => Ok(Self {
                ws,
                last_heard: std::time::Instant::now(),
            }),
            Err(tungstenite::Error::Http(response)) => Err(ChatError::Refused {
                status: response.status().as_u16(),
                problem: response
                    .body()
                    .as_deref()
                    .and_then(|body| serde_json::from_slice(body).ok()),
            }),
            Err(err) => Err(ChatError::Transport(err)),
        }
    }

    /// Sends one message.
    ///
    /// # Errors
    /// [`ChatError::Transport`] when the connection is gone.
    pub async fn send(&mut self, message: &ClientMessage) -> Result<(), ChatError> {
        let text =
            serde_json::to_string(message).map_err(|err| ChatError::Decode(err.to_string()))?;
        self.ws.send(Message::text(text)).await?;
        Ok(())
    }

    /// The next server message; `None` once the connection closed normally. Pings, pongs and
    /// other control frames are handled here and never returned.
    ///
    /// # Errors
    /// [`ChatError::Transport`] when the connection broke, [`ChatError::Decode`] for a frame
    /// that is not a server message (the connection stays usable).
    pub async fn recv(&mut self) -> Option<Result<ServerMessage, ChatError>> {
        loop {
            let frame = self.ws.next().await?;
            if frame.is_ok() {
                self.last_heard = std::time::Instant::now();
            }
            match frame {
                Ok(Message::Text(text)) => {
                    return Some(
                        serde_json::from_str(text.as_str())
                            .map_err(|err| ChatError::Decode(err.to_string())),
                    );
                }
                Ok(Message::Close(_)) => return None,
                Ok(_) => {}
                Err(err) => return Some(Err(ChatError::Transport(err))),
            }
        }
    }

    /// Sends a ping; the server's pong (handled inside [`ChatSocket::recv`]) counts as
    /// hearing from it. A connection whose peer vanished without closing it (a pulled cable, a
    /// sleeping laptop) is only noticed this way: ping now and then, and give up on a socket
    /// [`silent_for`](Self::silent_for) too long.
    ///
    /// # Errors
    /// [`ChatError::Transport`] when the connection is gone.
    pub async fn ping(&mut self) -> Result<(), ChatError> {
        self.ws.send(Message::Ping(Vec::new().into())).await?;
        Ok(())
    }

    /// How long since the server was last heard from.
    pub fn silent_for(&self) -> std::time::Duration {
        self.last_heard.elapsed()
    }

    /// Closes the connection politely.
    ///
    /// # Errors
    /// [`ChatError::Transport`] when the connection is already broken.
    pub async fn close(mut self) -> Result<(), ChatError> {
        self.ws.close(None).await?;
        Ok(())
    }
}

impl crate::Client {
    /// Enters the chat of `gig` with this client's token (a ticket holder's or the creator's).
    ///
    /// # Errors
    /// As [`ChatSocket::connect`].
    pub async fn chat(&self, gig: bookmygig_api::GigId) -> Result<ChatSocket, ChatError> {
        ChatSocket::connect(&chat_url(self.base_url(), gig)?, self.token(), self.roots()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_urls_follow_the_scheme_of_the_base() {
        let gig = bookmygig_api::GigId::from_bytes([1; 16]);
        assert_eq!(
            chat_url("http://127.0.0.1:8080", gig).ok(),
            Some(format!("ws://127.0.0.1:8080/api/v1/gigs/{gig}/chat"))
        );
        assert!(
            chat_url("https://x.example/p", gig).is_ok_and(|u| u.starts_with("wss://x.example/p/"))
        );
        assert!(chat_url("ftp://x", gig).is_err());
    }

    /// A server that sends a 2 MiB text frame: the client refuses it at its 1 MiB ceiling
    /// instead of buffering it (tungstenite's defaults would take 16 MiB frames).
    #[tokio::test]
    async fn a_frame_over_the_ceiling_from_the_server_is_refused() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/chat", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            let huge = format!(
                r#"{{"type":"presence","count":1,"x":"{}"}}"#,
                "a".repeat(2 << 20)
            );
            let _ = ws.send(Message::text(huge)).await;
            let _ = ws
                .send(Message::text(r#"{"type":"presence","count":2}"#))
                .await;
        });
        let mut socket = ChatSocket::connect(&url, None, &TrustRoots::system().unwrap())
            .await
            .unwrap();
        let refused = socket.recv().await;
        assert!(
            matches!(
                refused,
                Some(Err(ChatError::Transport(tungstenite::Error::Capacity(_))))
            ),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn any_frame_from_the_server_counts_as_hearing_from_it() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/chat", listener.local_addr().unwrap());
        // A server that answers the client's ping (tungstenite does while reading) and then
        // says one message.
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            while let Some(Ok(frame)) = ws.next().await {
                if frame.is_ping() {
                    let say = r#"{"type":"presence","count":1}"#;
                    ws.send(Message::text(say)).await.unwrap();
                }
            }
        });
        let mut socket = ChatSocket::connect(&url, None, &TrustRoots::system().unwrap())
            .await
            .unwrap();
        // Not waiting for anything: letting silence accumulate, to see it measured and reset.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(socket.silent_for() >= std::time::Duration::from_millis(100));
        socket.ping().await.unwrap();
        let message = socket.recv().await.unwrap().unwrap();
        assert_eq!(message, ServerMessage::Presence { count: 1 });
        assert!(socket.silent_for() < std::time::Duration::from_millis(100));
    }

    #[test]
    fn only_transport_failures_and_server_trouble_are_worth_retrying() {
        let refused = |status| ChatError::Refused {
            status,
            problem: None,
        };
        assert!(!refused(403).is_retryable());
        assert!(refused(503).is_retryable());
        assert!(!ChatError::Decode("x".into()).is_retryable());
    }
}
