//! What every listener needs below HTTP and RTMP: the sockets ([`listeners`]), connection
//! ceilings ([`admission`]) and TLS ([`tls`]).

pub mod admission;
pub mod listeners;
pub mod tls;

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
