//! Which certificate authorities a client trusts for `https://` and `wss://`: the system's,
//! plus any the user names (the CLI's `--cacert`).
//!
//! One [`TrustRoots`] feeds both the REST client (reqwest) and the chat WebSocket
//! (tokio-tungstenite), so the two never disagree about which servers are genuine.

use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Why a set of trust roots could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The extra authorities are not PEM certificates.
    #[error("the certificate authority file holds no PEM certificate{0}")]
    NoCertificate(String),
    /// A certificate in it is not one rustls accepts as an authority.
    #[error("the certificate authority file holds a certificate rustls rejects: {0}")]
    Rejected(rustls::Error),
    /// The TLS library refused the protocol versions (never with the ring provider).
    #[error("TLS cannot be set up: {0}")]
    Setup(rustls::Error),
}

/// The certificate authorities a client trusts, as a shared rustls configuration.
///
/// [`TrustRoots::system`] is the platform's store (`/etc/ssl/certs` and friends, through
/// `rustls-native-certs`), falling back to the Mozilla roots bundled in `webpki-roots` on a
/// machine that has none installed. [`TrustRoots::with_ca_pem`] adds a private authority, as a
/// server with a self-signed or internal certificate needs. Cheap to clone.
#[derive(Clone)]
pub struct TrustRoots {
    config: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for TrustRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustRoots").finish_non_exhaustive()
    }
}

impl TrustRoots {
    /// The system's authorities, read once per process.
    ///
    /// # Errors
    /// [`TlsError::Setup`] when rustls refuses its own default protocol versions (never with
    /// the ring provider this crate builds on; kept as an error rather than a panic).
    pub fn system() -> Result<Self, TlsError> {
        static SYSTEM: OnceLock<Result<TrustRoots, String>> = OnceLock::new();
        SYSTEM
            .get_or_init(|| {
                Self::from_store(system_store()).map_err(|err| match err {
                    TlsError::Setup(inner) => inner.to_string(),
                    other => other.to_string(),
                })
            })
            .clone()
            .map_err(|text| TlsError::Setup(rustls::Error::General(text)))
    }

    /// The system's authorities plus every certificate in `ca_pem` (PEM, one or more).
    ///
    /// # Errors
    /// [`TlsError::NoCertificate`] when `ca_pem` holds no certificate, [`TlsError::Rejected`]
    /// when rustls will not take one as an authority.
    pub fn with_ca_pem(ca_pem: &[u8]) -> Result<Self, TlsError> {
        let mut store = system_store();
        let mut added = 0;
        for certificate in CertificateDer::pem_slice_iter(ca_pem) {
            let certificate =
                certificate.map_err(|err| TlsError::NoCertificate(format!(": {err}")))?;
            store.add(certificate).map_err(TlsError::Rejected)?;
            added += 1;
        }
        if added == 0 {
            return Err(TlsError::NoCertificate(String::new()));
        }
        Self::from_store(store)
    }

    fn from_store(store: RootCertStore) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Setup)?
            .with_root_certificates(store)
            .with_no_client_auth();
        Ok(Self {
            config: Arc::new(config),
        })
    }

    /// The rustls configuration, for the WebSocket connector.
    pub(crate) fn config(&self) -> Arc<rustls::ClientConfig> {
        Arc::clone(&self.config)
    }
}

/// The platform's authorities; the bundled Mozilla roots when the platform has none (a slim
/// container without `ca-certificates`). Certificates the platform lists but rustls cannot
/// parse are skipped, as browsers do.
fn system_store() -> RootCertStore {
    let mut store = RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    let (added, _ignored) = store.add_parsable_certificates(found.certs);
    if added == 0 {
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    store
}
