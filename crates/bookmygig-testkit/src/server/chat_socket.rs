//! A real WebSocket client (tokio-tungstenite) in a gig's chat.

// Test harness: a broken socket or a late message is the test's failure, said with a message.
#![allow(clippy::expect_used)]

use std::time::Duration;

/// How long a chat test waits for something that should happen at once.
pub const CHAT_PATIENCE: Duration = Duration::from_secs(10);

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
