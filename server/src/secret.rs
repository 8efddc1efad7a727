//! Secrets: session tokens and stream keys. Random 256/192 bits, looked up by SHA-256, compared
//! in constant time, and never printed by `Debug`.

use base64::Engine as _;
use bookmygig_store::TokenHash;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix of session tokens, so a leaked one is recognisable (and greppable by scanners).
const TOKEN_PREFIX: &str = "bmg_";
/// Prefix of stream keys.
const STREAM_KEY_PREFIX: &str = "live_";

/// A bearer token as the client sent it.
#[derive(Clone)]
pub struct SessionToken(String);

impl SessionToken {
    /// A fresh token of 256 random bits.
    pub fn generate() -> Self {
        SessionToken(format!("{TOKEN_PREFIX}{}", random_text(32)))
    }

    /// Wraps a token received from a client.
    pub fn from_client(text: &str) -> Self {
        SessionToken(text.to_owned())
    }

    /// The token, to hand to its owner exactly once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The hash the store keeps.
    pub fn hash(&self) -> TokenHash {
        hash(&self.0)
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

/// A fresh stream key of 192 random bits and its hash.
pub fn generate_stream_key() -> (String, TokenHash) {
    let key = format!("{STREAM_KEY_PREFIX}{}", random_text(24));
    let hashed = hash(&key);
    (key, hashed)
}

/// SHA-256 of a secret.
pub fn hash(secret: &str) -> TokenHash {
    TokenHash(Sha256::digest(secret.as_bytes()).into())
}

/// Compares two secrets without leaking where they differ through timing.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

fn random_text(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_redacted() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_ne!(a.expose(), b.expose());
        assert!(a.expose().len() >= TOKEN_PREFIX.len() + 43);
        assert!(!format!("{a:?}").contains(a.expose()));
        assert_eq!(a.hash(), SessionToken::from_client(a.expose()).hash());
    }

    #[test]
    fn stream_keys_hash_consistently() {
        let (key, hashed) = generate_stream_key();
        assert_eq!(hash(&key), hashed);
        assert!(same_secret(&key, &key.clone()));
        assert!(!same_secret(&key, "live_other"));
    }
}
