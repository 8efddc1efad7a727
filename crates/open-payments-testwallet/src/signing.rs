//! The client side of Open Payments' HTTP message signatures (RFC 9421 with Ed25519, the
//! profile Open Payments requires), and the JWK a wallet publishes for a key.
//!
//! What is signed follows the Interledger Foundation's reference client
//! (`@interledger/http-signature-utils`): `"@method"`, `"@target-uri"`, `"authorization"` when
//! the request has one, and `"content-digest"`, `"content-length"`, `"content-type"` when it has
//! a body, with `created` and `keyid` parameters under the label `sig1`; the body's digest is
//! `Content-Digest: sha-512=:…:` (RFC 9530). The tests of this crate sign with it, and a
//! BookMyGig server may too.
//!
//! This module does not send anything: [`ClientKey::sign`] returns headers to add, and
//! [`signed_request`] builds a `reqwest` request with them.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};

/// Why a key could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// The PEM text is not a PKCS#8 Ed25519 private key.
    #[error("not a PKCS#8 Ed25519 private key in PEM")]
    NotAnEd25519Pem,
    /// The JWK is not an Ed25519 public key.
    #[error("the JWK is not an Ed25519 (OKP) public key: {0}")]
    NotAnEd25519Jwk(&'static str),
}

/// The DER prefix of a PKCS#8 `OneAsymmetricKey` holding an Ed25519 private key (RFC 8410):
/// the 32-byte seed follows it.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// A client's Ed25519 signing key and its key id (the `kid` of its JWK). `Debug` shows the key id
/// only.
#[derive(Clone)]
pub struct ClientKey {
    kid: String,
    key: SigningKey,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKey")
            .field("kid", &self.kid)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl ClientKey {
    /// A fresh random key.
    pub fn generate(kid: impl Into<String>) -> ClientKey {
        let seed: [u8; 32] = rand::random();
        ClientKey::from_seed(kid, seed)
    }

    /// The key of a 32-byte Ed25519 seed.
    pub fn from_seed(kid: impl Into<String>, seed: [u8; 32]) -> ClientKey {
        ClientKey {
            kid: kid.into(),
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// Reads a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), the form the Interledger test wallet
    /// hands out for a developer key (there base64-encoded once more: decode that first).
    ///
    /// # Errors
    ///
    /// [`SigningError::NotAnEd25519Pem`] for anything else.
    pub fn from_pem(kid: impl Into<String>, pem: &str) -> Result<ClientKey, SigningError> {
        let body: String = pem
            .lines()
            .map(str::trim)
            .filter(|l| !l.starts_with("-----") && !l.is_empty())
            .collect();
        let der = STANDARD
            .decode(body)
            .map_err(|_| SigningError::NotAnEd25519Pem)?;
        let seed = der
            .strip_prefix(&PKCS8_ED25519_PREFIX[..])
            .and_then(|s| <[u8; 32]>::try_from(s).ok())
            .ok_or(SigningError::NotAnEd25519Pem)?;
        Ok(ClientKey::from_seed(kid, seed))
    }

    /// The key as PKCS#8 PEM, as [`ClientKey::from_pem`] reads it.
    pub fn to_pem(&self) -> String {
        let mut der = PKCS8_ED25519_PREFIX.to_vec();
        der.extend_from_slice(&self.key.to_bytes());
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(der)
        )
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The public JWK to publish in the client wallet's `jwks.json`.
    pub fn public_jwk(&self) -> Jwk {
        Jwk::from_verifying_key(&self.kid, &self.verifying_key())
    }

    /// Signs a request: the headers to add to it.
    pub fn sign(&self, request: &RequestToSign<'_>) -> SignedHeaders {
        let created = time::OffsetDateTime::now_utc().unix_timestamp();
        self.sign_at(request, created)
    }

    /// [`ClientKey::sign`] with a given `created` time (seconds since the epoch).
    pub fn sign_at(&self, request: &RequestToSign<'_>, created: i64) -> SignedHeaders {
        let mut components: Vec<(&str, String)> = vec![
            ("@method", request.method.to_ascii_uppercase()),
            ("@target-uri", request.url.to_string()),
        ];
        if let Some(auth) = request.authorization {
            components.push(("authorization", auth.to_string()));
        }
        let mut content_digest = None;
        let mut content_length = None;
        if let Some(body) = request.body {
            let digest = self::content_digest(body);
            let length = body.len().to_string();
            components.push(("content-digest", digest.clone()));
            components.push(("content-length", length.clone()));
            components.push((
                "content-type",
                request
                    .content_type
                    .unwrap_or("application/json")
                    .to_string(),
            ));
            content_digest = Some(digest);
            content_length = Some(length);
        }
        let names: Vec<String> = components
            .iter()
            .map(|(name, _)| format!("\"{name}\""))
            .collect();
        let params = format!(
            "({});created={created};keyid=\"{}\"",
            names.join(" "),
            self.kid
        );
        let base = signature_base(components.iter().map(|(n, v)| (*n, v.as_str())), &params);
        let signature = self.key.sign(base.as_bytes());
        SignedHeaders {
            signature: format!("sig1=:{}:", STANDARD.encode(signature.to_bytes())),
            signature_input: format!("sig1={params}"),
            content_digest,
            content_length,
        }
    }
}

/// What of a request is signed.
#[derive(Debug, Clone, Copy)]
pub struct RequestToSign<'a> {
    /// The method (`GET`, `POST`, …).
    pub method: &'a str,
    /// The full target URI exactly as it is sent (scheme, authority, path and query).
    pub url: &'a str,
    /// The `Authorization` header value (`GNAP <token>`), when the request has one.
    pub authorization: Option<&'a str>,
    /// The body bytes, when the request has a body.
    pub body: Option<&'a [u8]>,
    /// The `Content-Type` sent with the body (default `application/json`).
    pub content_type: Option<&'a str>,
}

/// The headers a signed request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `Signature`.
    pub signature: String,
    /// `Signature-Input`.
    pub signature_input: String,
    /// `Content-Digest`, when there is a body.
    pub content_digest: Option<String>,
    /// `Content-Length`, when there is a body (the same value the transport sends).
    pub content_length: Option<String>,
}

/// `sha-512=:<base64>:`, the `Content-Digest` value of `body` (RFC 9530).
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-512=:{}:", STANDARD.encode(Sha512::digest(body)))
}

/// The RFC 9421 signature base: one `"name": value` line per covered component, then the
/// `"@signature-params"` line (no newline after it).
pub fn signature_base<'a>(
    components: impl IntoIterator<Item = (&'a str, &'a str)>,
    signature_params: &str,
) -> String {
    let mut base = String::new();
    for (name, value) in components {
        base.push('"');
        base.push_str(name);
        base.push_str("\": ");
        base.push_str(value);
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(signature_params);
    base
}

/// An Ed25519 public key as a JWK (the `json-web-key` schema of the wallet address server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key id: the `keyid` a signature names.
    pub kid: String,
    /// Always `EdDSA`.
    pub alg: String,
    /// `sig`.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Always `OKP`.
    pub kty: String,
    /// Always `Ed25519`.
    pub crv: String,
    /// The public key, base64url without padding.
    pub x: String,
}

impl Jwk {
    /// The JWK of a public key.
    pub fn from_verifying_key(kid: &str, key: &VerifyingKey) -> Jwk {
        Jwk {
            kid: kid.to_string(),
            alg: "EdDSA".into(),
            use_: Some("sig".into()),
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: URL_SAFE_NO_PAD.encode(key.to_bytes()),
        }
    }

    /// The public key it holds.
    ///
    /// # Errors
    ///
    /// [`SigningError::NotAnEd25519Jwk`] when it is another kind of key or `x` is malformed.
    pub fn verifying_key(&self) -> Result<VerifyingKey, SigningError> {
        if self.kty != "OKP" || self.crv != "Ed25519" {
            return Err(SigningError::NotAnEd25519Jwk(
                "kty must be OKP, crv Ed25519",
            ));
        }
        if self.alg != "EdDSA" {
            return Err(SigningError::NotAnEd25519Jwk("alg must be EdDSA"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(self.x.trim_end_matches('='))
            .map_err(|_| SigningError::NotAnEd25519Jwk("x is not base64url"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| SigningError::NotAnEd25519Jwk("x is not 32 bytes"))?;
        VerifyingKey::from_bytes(&bytes)
            .map_err(|_| SigningError::NotAnEd25519Jwk("x is not a curve point"))
    }
}

/// A `reqwest` request signed with `key`: `Accept: application/json`, the JSON `body` (if any)
/// with its `Content-Type`, `Content-Length` and `Content-Digest`, `Authorization: GNAP <token>`
/// when `token` is given, and `Signature`/`Signature-Input`.
pub fn signed_request(
    client: &reqwest::Client,
    key: &ClientKey,
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<&serde_json::Value>,
) -> reqwest::RequestBuilder {
    let bytes = body.map(|b| b.to_string().into_bytes());
    let authorization = token.map(|t| format!("GNAP {t}"));
    let headers = key.sign(&RequestToSign {
        method: method.as_str(),
        url,
        authorization: authorization.as_deref(),
        body: bytes.as_deref(),
        content_type: Some("application/json"),
    });
    let mut builder = client
        .request(method, url)
        .header("accept", "application/json")
        .header("signature", headers.signature)
        .header("signature-input", headers.signature_input);
    if let Some(auth) = authorization {
        builder = builder.header("authorization", auth);
    }
    if let (Some(bytes), Some(digest)) = (bytes, headers.content_digest) {
        builder = builder
            .header("content-type", "application/json")
            .header("content-digest", digest)
            .body(bytes);
    }
    builder
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pem_round_trips() {
        let key = ClientKey::generate("k1");
        let back = ClientKey::from_pem("k1", &key.to_pem()).unwrap();
        assert_eq!(back.verifying_key(), key.verifying_key());
    }

    #[test]
    fn jwk_round_trips() {
        let key = ClientKey::generate("k1");
        let jwk = key.public_jwk();
        assert_eq!(jwk.verifying_key().unwrap(), key.verifying_key());
        let json = serde_json::to_value(&jwk).unwrap();
        assert_eq!(json["use"], "sig");
    }

    #[test]
    fn signature_input_lists_quoted_components_and_params() {
        let key = ClientKey::from_seed("key-1", [7; 32]);
        let h = key.sign_at(
            &RequestToSign {
                method: "post",
                url: "http://127.0.0.1:1/op/incoming-payments",
                authorization: Some("GNAP abc"),
                body: Some(b"{}"),
                content_type: None,
            },
            1_700_000_000,
        );
        assert_eq!(
            h.signature_input,
            "sig1=(\"@method\" \"@target-uri\" \"authorization\" \"content-digest\" \
             \"content-length\" \"content-type\");created=1700000000;keyid=\"key-1\""
        );
        assert!(h.signature.starts_with("sig1=:") && h.signature.ends_with(':'));
        assert_eq!(h.content_length.as_deref(), Some("2"));
    }
}
