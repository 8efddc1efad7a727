//! Playback tokens: short-lived, HMAC-SHA256-signed permissions for one account to watch one
//! gig. The FLV and RTMP play URLs carry them, so a player needs no other credential, and the
//! server checks them without a store round trip.

#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use base64::Engine as _;
use bookmygig_api::{AccountId, GigId};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of a token's payload: gig id, account id, expiry (unix seconds).
const PAYLOAD_LEN: usize = 16 + 16 + 8;

/// The key playback tokens are signed with. Its `Debug` is redacted.
#[derive(Clone)]
pub struct PlaybackKey([u8; 32]);

impl std::fmt::Debug for PlaybackKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlaybackKey(<redacted>)")
    }
}

/// What a valid token grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlaybackGrant {
    /// The gig it opens.
    pub gig_id: GigId,
    /// Who watches (and pays).
    pub account_id: AccountId,
    /// When it stops opening new connections.
    pub expires_at: OffsetDateTime,
}

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No token was given.
    #[error("a playback token is required: get one from POST /api/v1/gigs/{{id}}/playback")]
    Missing,
    /// The token is not one we signed.
    #[error("the playback token is invalid")]
    Invalid,
    /// The token has expired.
    #[error("the playback token has expired; request a new one")]
    Expired,
    /// The token is for another gig.
    #[error("the playback token is for another gig")]
    WrongGig,
}

impl PlaybackKey {
    /// A key from 32 bytes (e.g. a shared secret so every node accepts every token).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        PlaybackKey(bytes)
    }

    /// The key a node signs with, decided in this one place: `--playback-secret` when given,
    /// else the secret the nodes of a cluster share (so a token from any node opens any node),
    /// else a fresh random key (URLs then last until the server restarts).
    pub fn choose(flag: Option<&crate::config::PlaybackSecret>, shared: Option<[u8; 32]>) -> Self {
        match (flag, shared) {
            (Some(secret), _) => PlaybackKey::from_bytes(secret.0),
            (None, Some(shared)) => PlaybackKey::from_bytes(shared),
            (None, None) => PlaybackKey::generate(),
        }
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        PlaybackKey(bytes)
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        match HmacSha256::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        }
    }

    /// Signs a grant into a URL-safe token.
    pub fn sign(&self, grant: &PlaybackGrant) -> String {
        let mut payload = Vec::with_capacity(PAYLOAD_LEN);
        payload.extend_from_slice(grant.gig_id.as_bytes());
        payload.extend_from_slice(grant.account_id.as_bytes());
        payload.extend_from_slice(&grant.expires_at.unix_timestamp().to_be_bytes());
        let mut mac = self.mac();
        mac.update(&payload);
        let tag = mac.finalize().into_bytes();
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{}.{}", engine.encode(&payload), engine.encode(tag))
    }

    /// Checks a token for `gig` at `now` (the signature in constant time).
    ///
    /// # Errors
    /// Why the token does not open this gig.
    pub fn verify(
        &self,
        token: Option<&str>,
        gig: GigId,
        now: OffsetDateTime,
    ) -> Result<PlaybackGrant, TokenError> {
        let token = token.filter(|t| !t.is_empty()).ok_or(TokenError::Missing)?;
        let (payload, tag) = token.split_once('.').ok_or(TokenError::Invalid)?;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = engine.decode(payload).map_err(|_| TokenError::Invalid)?;
        let tag = engine.decode(tag).map_err(|_| TokenError::Invalid)?;
        let mut mac = self.mac();
        mac.update(&payload);
        mac.verify_slice(&tag).map_err(|_| TokenError::Invalid)?;
        if payload.len() != PAYLOAD_LEN {
            return Err(TokenError::Invalid);
        }
        let field = |range: std::ops::Range<usize>| payload.get(range).ok_or(TokenError::Invalid);
        let gig_id = GigId::from_bytes(field(0..16)?.try_into().map_err(|_| TokenError::Invalid)?);
        let account_id =
            AccountId::from_bytes(field(16..32)?.try_into().map_err(|_| TokenError::Invalid)?);
        let seconds =
            i64::from_be_bytes(field(32..40)?.try_into().map_err(|_| TokenError::Invalid)?);
        let expires_at =
            OffsetDateTime::from_unix_timestamp(seconds).map_err(|_| TokenError::Invalid)?;
        if gig_id != gig {
            return Err(TokenError::WrongGig);
        }
        if now >= expires_at {
            return Err(TokenError::Expired);
        }
        Ok(PlaybackGrant {
            gig_id,
            account_id,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn grant(now: OffsetDateTime) -> PlaybackGrant {
        PlaybackGrant {
            gig_id: GigId::new(),
            account_id: AccountId::new(),
            expires_at: now.replace_nanosecond(0).unwrap() + Duration::minutes(5),
        }
    }

    #[test]
    fn a_signed_grant_verifies_for_its_gig_until_it_expires() {
        let key = PlaybackKey::generate();
        let now = OffsetDateTime::now_utc();
        let g = grant(now);
        let token = key.sign(&g);
        assert_eq!(key.verify(Some(&token), g.gig_id, now), Ok(g));
        assert_eq!(
            key.verify(Some(&token), GigId::new(), now),
            Err(TokenError::WrongGig)
        );
        assert_eq!(
            key.verify(Some(&token), g.gig_id, now + Duration::minutes(6)),
            Err(TokenError::Expired)
        );
        assert_eq!(key.verify(None, g.gig_id, now), Err(TokenError::Missing));
    }

    #[test]
    fn forged_or_foreign_tokens_are_invalid() {
        let key = PlaybackKey::generate();
        let now = OffsetDateTime::now_utc();
        let g = grant(now);
        let token = key.sign(&g);
        let other = PlaybackKey::generate();
        assert_eq!(
            other.verify(Some(&token), g.gig_id, now),
            Err(TokenError::Invalid)
        );
        let mut forged = token.clone().into_bytes();
        forged[3] ^= 1;
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(
            key.verify(Some(&forged), g.gig_id, now),
            Err(TokenError::Invalid)
        );
        for junk in ["", ".", "abc", "a.b.c", "!!!.???"] {
            assert!(key.verify(Some(junk), g.gig_id, now).is_err());
        }
    }
}
