//! `TlsIdentity`: the certificate chain and private key of `--tls-cert`/`--tls-key` (PEM),
//! loaded once at start-up into the rustls acceptor that HTTPS and RTMPS share, so that
//! session tokens, playback URLs and stream keys never cross the network in clear.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// Why the TLS identity could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file is unreadable or holds no PEM certificate.
    #[error("--tls-cert {path}: {detail}")]
    Certificate {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// The key file is unreadable or holds no PEM private key.
    #[error("--tls-key {path}: {detail}")]
    Key {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// rustls refused the pair (e.g. the key does not match the certificate).
    #[error("the TLS certificate and key do not make an identity: {0}")]
    Identity(String),
}

/// Why a TLS handshake did not complete.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// The peer did not finish within the deadline.
    #[error("TLS handshake not finished within {0:?}")]
    TimedOut(Duration),
    /// The peer sent something that is not TLS, or failed it.
    #[error("TLS handshake failed: {0}")]
    Failed(#[from] std::io::Error),
}

/// The server's TLS acceptor, cheap to clone.
#[derive(Clone)]
pub struct TlsIdentity {
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsIdentity(<key>)")
    }
}

impl TlsIdentity {
    /// Loads the chain in `cert` and the key in `key` (both PEM).
    ///
    /// # Errors
    /// When a file cannot be read or parsed, or the two do not match.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let certificate = |detail: String| TlsError::Certificate {
            path: cert.display().to_string(),
            detail,
        };
        let chain = CertificateDer::pem_file_iter(cert)
            .map_err(|e| certificate(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| certificate(e.to_string()))?;
        if chain.is_empty() {
            return Err(certificate("no PEM certificate in the file".into()));
        }
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key {
            path: key.display().to_string(),
            detail: e.to_string(),
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Identity(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| TlsError::Identity(e.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsIdentity {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// Completes the server side of a handshake on `io` within `limit`.
    ///
    /// # Errors
    /// When the peer is too slow or does not speak TLS.
    pub async fn accept<IO: AsyncRead + AsyncWrite + Unpin>(
        &self,
        io: IO,
        limit: Duration,
    ) -> Result<TlsStream<IO>, HandshakeError> {
        tokio::time::timeout(limit, self.acceptor.accept(io))
            .await
            .map_err(|_| HandshakeError::TimedOut(limit))?
            .map_err(HandshakeError::Failed)
    }
}
