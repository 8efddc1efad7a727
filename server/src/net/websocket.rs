//! `WebSocketRequest`: an HTTP/1.1 WebSocket opening handshake (RFC 6455 §4.2), checked, and
//! answered with 101 handing the raw connection to the caller.
//!
//! axum's own `WebSocketUpgrade` gives a message-level socket only; the chat writes frames it
//! encoded once for the whole room straight to each connection's socket, so it needs the bytes
//! and the socket.

use std::future::Future;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use hyper::upgrade::{OnUpgrade, Upgraded};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::tcp::PeerSocket;
use crate::http::problem::ApiError;

/// A request to open a WebSocket, with everything needed to accept it.
#[derive(Debug)]
pub struct WebSocketRequest {
    accept: HeaderValue,
    on_upgrade: OnUpgrade,
    socket: Option<Arc<TcpStream>>,
}

/// A connection handed over by [`WebSocketRequest::accept`].
#[derive(Debug)]
pub struct Accepted {
    /// The connection as hyper hands it over (with anything it read past the handshake).
    pub connection: Upgraded,
    /// The TCP socket under it, when the server knows it ([`PeerSocket`]): writes to it need
    /// no lock, and can be tried without waiting.
    pub socket: Option<Arc<TcpStream>>,
}

/// Why a request is not a WebSocket opening handshake this server can accept.
#[derive(Debug, thiserror::Error)]
pub enum NotWebSocket {
    /// Not a GET.
    #[error("a WebSocket is opened with GET")]
    Method,
    /// `Connection` does not name `upgrade`.
    #[error("the Connection header must include \"upgrade\"")]
    Connection,
    /// `Upgrade` is not `websocket`.
    #[error("the Upgrade header must be \"websocket\"")]
    Upgrade,
    /// No `Sec-WebSocket-Key`.
    #[error("the Sec-WebSocket-Key header is missing")]
    Key,
    /// `Sec-WebSocket-Version` is not 13.
    #[error("the Sec-WebSocket-Version header must be 13")]
    Version,
    /// The connection cannot be taken over (not HTTP/1.1, or already taken).
    #[error("this connection cannot be upgraded")]
    NotUpgradable,
}

impl From<NotWebSocket> for ApiError {
    /// 426 Upgrade Required, naming what is wrong.
    fn from(refusal: NotWebSocket) -> Self {
        ApiError::UpgradeRequired(format!(
            "connect with a WebSocket client (RFC 6455): {refusal}"
        ))
    }
}

impl IntoResponse for NotWebSocket {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for WebSocketRequest {
    type Rejection = NotWebSocket;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if parts.method != Method::GET {
            return Err(NotWebSocket::Method);
        }
        if !has_token(&parts.headers, header::CONNECTION, "upgrade") {
            return Err(NotWebSocket::Connection);
        }
        if !is(&parts.headers, header::UPGRADE, "websocket") {
            return Err(NotWebSocket::Upgrade);
        }
        if !is(&parts.headers, header::SEC_WEBSOCKET_VERSION, "13") {
            return Err(NotWebSocket::Version);
        }
        let key = parts
            .headers
            .get(header::SEC_WEBSOCKET_KEY)
            .ok_or(NotWebSocket::Key)?;
        let accept = HeaderValue::from_str(&derive_accept_key(key.as_bytes()))
            .map_err(|_| NotWebSocket::Key)?;
        let on_upgrade = parts
            .extensions
            .remove::<OnUpgrade>()
            .ok_or(NotWebSocket::NotUpgradable)?;
        let socket = parts
            .extensions
            .get::<ConnectInfo<PeerSocket>>()
            .map(|info| Arc::clone(&info.0.0));
        Ok(WebSocketRequest {
            accept,
            on_upgrade,
            socket,
        })
    }
}

impl WebSocketRequest {
    /// Answers 101 Switching Protocols and runs `session` on the connection once hyper hands
    /// it over (a connection that fails meanwhile is logged and dropped).
    pub fn accept<F, Fut>(self, session: F) -> Response
    where
        F: FnOnce(Accepted) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let WebSocketRequest {
            accept,
            on_upgrade,
            socket,
        } = self;
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(connection) => session(Accepted { connection, socket }).await,
                Err(e) => tracing::debug!(error = %e, "WebSocket upgrade failed"),
            }
        });
        let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        response
    }
}

/// Whether header `name` equals `value`, ignoring ASCII case.
fn is(headers: &HeaderMap, name: HeaderName, value: &str) -> bool {
    headers
        .get(name)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(value.as_bytes()))
}

/// Whether the comma-separated header `name` holds the token `value`, ignoring ASCII case.
fn has_token(headers: &HeaderMap, name: HeaderName, value: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.as_bytes()
            .split(|&b| b == b',')
            .any(|token| token.trim_ascii().eq_ignore_ascii_case(value.as_bytes()))
    })
}

#[cfg(test)]
mod tests {
    use http::Request;

    use super::*;

    async fn check(request: Request<()>) -> Result<WebSocketRequest, NotWebSocket> {
        let (mut parts, ()) = request.into_parts();
        WebSocketRequest::from_request_parts(&mut parts, &()).await
    }

    fn handshake() -> http::request::Builder {
        Request::get("/chat")
            .header("connection", "keep-alive, Upgrade")
            .header("upgrade", "WebSocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
    }

    #[tokio::test]
    async fn each_missing_piece_is_named() {
        let post = Request::post("/chat").body(()).unwrap();
        assert!(matches!(check(post).await, Err(NotWebSocket::Method)));
        let plain = Request::get("/chat").body(()).unwrap();
        assert!(matches!(check(plain).await, Err(NotWebSocket::Connection)));
        let mut h2c = handshake().body(()).unwrap();
        h2c.headers_mut()
            .insert("upgrade", HeaderValue::from_static("h2c"));
        assert!(matches!(check(h2c).await, Err(NotWebSocket::Upgrade)));
        let mut old = handshake().body(()).unwrap();
        old.headers_mut()
            .insert("sec-websocket-version", HeaderValue::from_static("8"));
        assert!(matches!(check(old).await, Err(NotWebSocket::Version)));
        let mut keyless = handshake().body(()).unwrap();
        keyless.headers_mut().remove("sec-websocket-key");
        assert!(matches!(check(keyless).await, Err(NotWebSocket::Key)));
        // Everything right, but no connection behind it (as in a test without hyper).
        assert!(matches!(
            check(handshake().body(()).unwrap()).await,
            Err(NotWebSocket::NotUpgradable)
        ));
    }

    #[test]
    fn connection_tokens_are_matched_whole() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgraded"));
        assert!(!has_token(&headers, header::CONNECTION, "upgrade"));
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("close , UPGRADE"),
        );
        assert!(has_token(&headers, header::CONNECTION, "upgrade"));
    }

    #[test]
    fn the_accept_key_is_rfc_6455s() {
        // The example of RFC 6455 §1.3.
        assert_eq!(
            derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
