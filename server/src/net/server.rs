//! `HttpServer`: accepts HTTP connections and serves each with hyper under the listener's
//! limits: the connection ceilings ([`Admission`]: in all and per client address), a deadline
//! to deliver a request's headers (which is also the keep-alive idle limit: hyper starts it
//! when a connection opens and again after each response), and the write-stall deadline of
//! [`DeadlineIo`]. It replaces `axum::serve`, which sets no hyper timer and so no header
//! deadline at all: a crowd of sockets that never finish their headers would hold file
//! descriptors until the process ran out.
//!
//! A connection over a ceiling is answered at once with a canned 503 or 429 problem (one
//! non-blocking write, nothing read) and closed.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use ipnet::IpNet;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt as _;

use super::Transport;
use super::admission::{Admission, Refusal};
use super::deadline::DeadlineIo;
use super::tcp::{PeerSocket, SharedTcp};
use crate::http::client_ip::PeerAddr;

/// The limits of one HTTP listener.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// The connection ceilings.
    pub admission: Admission,
    /// Longest wait for a request's complete headers, from the connection's start or the
    /// previous response (`--http-header-timeout`).
    pub header_timeout: Duration,
    /// A response write that makes no progress this long fails (a viewer that stopped
    /// reading).
    pub write_stall: Duration,
    /// Peers whose connections are not counted per address (their clients are many).
    pub trusted_proxies: Vec<IpNet>,
}

/// Serves `app` on `listener` until `shutdown` turns true; then open connections finish their
/// current response and close (WebSockets close on the same signal, by their own sessions).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    transport: Transport,
    shutdown: watch::Receiver<bool>,
) {
    let mut stop = shutdown.clone();
    let mut backoff = Duration::from_millis(10);
    let limits = Arc::new(limits);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stopping| *stopping) => return,
        };
        let (socket, peer) = match accepted {
            Ok(accepted) => {
                backoff = Duration::from_millis(10);
                accepted
            }
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(%error, "HTTP accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let counted = !limits
            .trusted_proxies
            .iter()
            .any(|net| net.contains(&peer.ip()));
        let place = match limits.admission.admit(peer.ip(), counted) {
            Ok(place) => place,
            Err(refusal) => {
                if !transport.is_tls() {
                    refuse(&socket, refusal);
                }
                tracing::debug!(%peer, %refusal, "HTTP connection refused");
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let socket = Arc::new(socket);
        let tcp = SharedTcp(Arc::clone(&socket));
        let app = app.clone();
        let limits = Arc::clone(&limits);
        let shutdown = shutdown.clone();
        match &transport {
            Transport::Plain => {
                let io = DeadlineIo::new(tcp, limits.write_stall, place);
                tokio::spawn(serve_connection(
                    io,
                    Some(socket),
                    peer,
                    app,
                    limits,
                    shutdown,
                ));
            }
            Transport::Tls(identity) => {
                let identity = identity.clone();
                tokio::spawn(async move {
                    // The handshake shares the header deadline: both are what a client must
                    // send before it is served.
                    match identity.accept(tcp, limits.header_timeout).await {
                        Ok(tls) => {
                            let io = DeadlineIo::new(tls, limits.write_stall, place);
                            // Writes must go through TLS: no direct socket for the chat.
                            serve_connection(io, None, peer, app, limits, shutdown).await;
                        }
                        Err(error) => tracing::debug!(%peer, %error, "HTTPS connection dropped"),
                    }
                });
            }
        }
    }
}

/// One connection, until it closes or the server stops.
async fn serve_connection<IO>(
    io: DeadlineIo<IO>,
    socket: Option<Arc<TcpStream>>,
    peer: SocketAddr,
    app: Router,
    limits: Arc<HttpLimits>,
    mut shutdown: watch::Receiver<bool>,
) where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        let extensions = request.extensions_mut();
        extensions.insert(PeerAddr(peer));
        if let Some(socket) = &socket {
            extensions.insert(ConnectInfo(PeerSocket(Arc::clone(socket))));
        }
        let app = app.clone();
        async move {
            let response = app.oneshot(request.map(axum::body::Body::new)).await;
            Ok::<_, Infallible>(match response {
                Ok(response) => response,
                Err(never) => match never {},
            })
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let connection = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(connection);
    let finished = tokio::select! {
        served = connection.as_mut() => Some(served),
        _ = shutdown.wait_for(|stopping| *stopping) => None,
    };
    let served = match finished {
        Some(served) => served,
        None => {
            // The response under way is finished; the connection takes no further request.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = served {
        // Timeouts, resets and garbage: the client's business, not an operator's.
        tracing::debug!(%peer, %error, "HTTP connection ended with an error");
    }
}

/// Answers a refused connection with a canned problem, if the socket takes it at once.
fn refuse(socket: &TcpStream, refusal: Refusal) {
    let response: &[u8] = match refusal {
        Refusal::Full(_) => FULL_RESPONSE,
        Refusal::AddressFull(_) => ADDRESS_FULL_RESPONSE,
    };
    // A fresh socket's send buffer has room; if not, closing without a word is the answer.
    let _ = socket.try_write(response);
}

/// 503: every connection place is taken.
const FULL_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Content-Type: application/problem+json\r\nRetry-After: 5\r\nConnection: close\r\n\
Content-Length: 159\r\n\r\n\
{\"type\":\"https://bookmygig.dev/problems/server-full\",\"title\":\"Server full\",\
\"status\":503,\"detail\":\"this server holds all the connections it can; retry shortly\"}";

/// 429: this address holds its share of connections.
const ADDRESS_FULL_RESPONSE: &[u8] = b"HTTP/1.1 429 Too Many Requests\r\n\
Content-Type: application/problem+json\r\nRetry-After: 5\r\nConnection: close\r\n\
Content-Length: 183\r\n\r\n\
{\"type\":\"https://bookmygig.dev/problems/too-many-connections\",\
\"title\":\"Too many connections\",\"status\":429,\
\"detail\":\"your address holds all the connections it may at once; close some\"}";

#[cfg(test)]
mod tests {
    use super::*;

    /// The canned answers are well-formed: their bodies are JSON problems of the announced
    /// length, with the problem type base every other answer uses.
    #[test]
    fn canned_refusals_are_complete_problem_responses() {
        for response in [FULL_RESPONSE, ADDRESS_FULL_RESPONSE] {
            let text = std::str::from_utf8(response).unwrap();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("Content-Length: "))
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(body.len(), length, "{head}");
            let problem: bookmygig_api::Problem = serde_json::from_str(body).unwrap();
            assert!(
                problem
                    .kind
                    .starts_with(bookmygig_api::problem::PROBLEM_TYPE_BASE)
            );
            assert!(head.contains(&format!(" {} ", problem.status)));
        }
    }
}
