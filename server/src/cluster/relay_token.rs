//! Relay tokens: what one node shows another to pull a gig's stream over the internal endpoint.
//! HMAC-SHA256 with a key derived from the cluster's shared secret, scoped to one gig and valid
//! for seconds. A playback token never opens the internal endpoint, nor the reverse: the key
//! is derived for relays alone.

#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use base64::Engine as _;
use bookmygig_api::GigId;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

type HmacSha256 = Hmac<Sha256>;

/// How long a relay token opens the internal endpoint: it is used at once, by a machine.
pub const RELAY_TOKEN_TTL: time::Duration = time::Duration::seconds(30);

/// Bytes of a token's payload: gig id, expiry (unix seconds).
const PAYLOAD_LEN: usize = 16 + 8;
/// Domain separation: the relay key is HMAC(shared secret, this label).
const KEY_LABEL: &[u8] = b"bookmygig relay token v1";

/// The key relay tokens are signed with. Its `Debug` is redacted.
#[derive(Clone)]
pub struct RelayKey([u8; 32]);

impl std::fmt::Debug for RelayKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RelayKey(<redacted>)")
    }
}

/// Why a relay token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RelayTokenError {
    /// No token, or not one we signed.
    #[error("a valid relay token is required")]
    Invalid,
    /// The token has expired.
    #[error("the relay token has expired")]
    Expired,
    /// The token is for another gig.
    #[error("the relay token is for another gig")]
    WrongGig,
}

impl RelayKey {
    /// The relay key of a cluster whose nodes share `secret`.
    pub fn derive(secret: &[u8; 32]) -> Self {
        let mut mac = hmac_with(secret);
        mac.update(KEY_LABEL);
        RelayKey(mac.finalize().into_bytes().into())
    }

    /// A token for pulling `gig`, valid until `expires_at`.
    pub fn sign(&self, gig: GigId, expires_at: OffsetDateTime) -> String {
        let mut payload = Vec::with_capacity(PAYLOAD_LEN);
        payload.extend_from_slice(gig.as_bytes());
        payload.extend_from_slice(&expires_at.unix_timestamp().to_be_bytes());
        let mut mac = hmac_with(&self.0);
        mac.update(&payload);
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}",
            engine.encode(&payload),
            engine.encode(mac.finalize().into_bytes())
        )
    }

    /// Checks a token for `gig` at `now`; the signature is compared in constant time.
    ///
    /// # Errors
    /// Why the token does not open `gig`.
    pub fn verify(
        &self,
        token: Option<&str>,
        gig: GigId,
        now: OffsetDateTime,
    ) -> Result<(), RelayTokenError> {
        let (payload, tag) = token
            .and_then(|t| t.split_once('.'))
            .ok_or(RelayTokenError::Invalid)?;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = engine
            .decode(payload)
            .map_err(|_| RelayTokenError::Invalid)?;
        let tag = engine.decode(tag).map_err(|_| RelayTokenError::Invalid)?;
        let mut mac = hmac_with(&self.0);
        mac.update(&payload);
        mac.verify_slice(&tag)
            .map_err(|_| RelayTokenError::Invalid)?;
        let (gig_bytes, expiry) = payload
            .split_first_chunk::<16>()
            .ok_or(RelayTokenError::Invalid)?;
        let expiry: [u8; 8] = expiry.try_into().map_err(|_| RelayTokenError::Invalid)?;
        if GigId::from_bytes(*gig_bytes) != gig {
            return Err(RelayTokenError::WrongGig);
        }
        if now.unix_timestamp() >= i64::from_be_bytes(expiry) {
            return Err(RelayTokenError::Expired);
        }
        Ok(())
    }
}

fn hmac_with(key: &[u8]) -> HmacSha256 {
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playback::{PlaybackGrant, PlaybackKey};

    #[test]
    fn a_relay_token_opens_its_gig_until_it_expires() {
        let key = RelayKey::derive(&[7; 32]);
        let (gig, now) = (GigId::new(), OffsetDateTime::now_utc());
        let token = key.sign(gig, now + RELAY_TOKEN_TTL);
        assert_eq!(key.verify(Some(&token), gig, now), Ok(()));
        assert_eq!(
            key.verify(Some(&token), GigId::new(), now),
            Err(RelayTokenError::WrongGig)
        );
        assert_eq!(
            key.verify(Some(&token), gig, now + RELAY_TOKEN_TTL),
            Err(RelayTokenError::Expired)
        );
        assert_eq!(
            RelayKey::derive(&[8; 32]).verify(Some(&token), gig, now),
            Err(RelayTokenError::Invalid)
        );
        for junk in [None, Some(""), Some("."), Some("a.b"), Some("!!.??")] {
            assert_eq!(key.verify(junk, gig, now), Err(RelayTokenError::Invalid));
        }
    }

    #[test]
    fn a_playback_token_signed_with_the_same_secret_is_no_relay_token() {
        let secret = [9; 32];
        let (gig, now) = (GigId::new(), OffsetDateTime::now_utc());
        let playback = PlaybackKey::from_bytes(secret).sign(&PlaybackGrant {
            gig_id: gig,
            account_id: bookmygig_api::AccountId::new(),
            expires_at: now + RELAY_TOKEN_TTL,
        });
        assert_eq!(
            RelayKey::derive(&secret).verify(Some(&playback), gig, now),
            Err(RelayTokenError::Invalid)
        );
    }
}
