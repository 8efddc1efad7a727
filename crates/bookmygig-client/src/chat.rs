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
    pub async fn connect(url: &str, token: Option<&str>) -> Result<Self, ChatError> {
        let mut request = url
            .into_client_request()
            .map_err(|err| ChatError::InvalidUrl(err.to_string()))?;
        if let Some(token) = token {
            let value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| ChatError::InvalidUrl("the token is not a header value".into()))?;
            request.headers_mut().insert("authorization", value);
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((ws, _)) => Ok(Self { ws }),
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
            match self.ws.next().await? {
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
        ChatSocket::connect(&chat_url(self.base_url(), gig)?, self.token()).await
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
