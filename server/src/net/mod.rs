//! What every listener needs below HTTP and RTMP: the sockets ([`listeners`]), connection
//! ceilings ([`admission`]), TLS ([`tls`]), and the HTTP transport under the resource
//! handlers: the hyper server with its deadlines ([`server`], [`deadline`]), the TCP handle
//! kept for taking a connection over ([`tcp`]), the WebSocket handshake ([`websocket`]) and
//! the endless HTTP-FLV body ([`flv_body`]).

pub mod admission;
pub mod deadline;
pub mod flv_body;
pub mod listeners;
pub mod server;
pub mod tcp;
pub mod tls;
pub mod websocket;

/// What a public listener speaks, chosen once at start-up from `--tls-cert`/`--tls-key`.
#[derive(Clone, Debug)]
pub enum Transport {
    /// Plain TCP (`http://`, `rtmp://`).
    Plain,
    /// TLS on every connection (`https://`, `rtmps://`).
    Tls(tls::TlsIdentity),
}

impl Transport {
    /// Whether connections are encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self, Transport::Tls(_))
    }
}
