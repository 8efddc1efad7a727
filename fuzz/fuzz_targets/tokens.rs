//! Tokens, cursors and small text parsers a stranger controls: playback tokens (FLV and RTMP
//! play URLs) and relay tokens (the internal endpoint), both as sent and, to get past the
//! signature, with any payload correctly signed; catalogue query strings with their cursor
//! (`catalogue_query`, `GigCursor`); the Idempotency-Key header; gig ids in paths; dollar
//! amounts, payment pointers, categories and statuses; the `Range` header of replays.
#![no_main]

use base64::Engine as _;
use bookmygig_api::{Category, GigId, GigStatus, Money, PaymentPointer};
use bookmygig_server::cluster::relay_token::RelayKey;
use bookmygig_server::http::gigs::{catalogue_query, gig_id};
use bookmygig_server::http::tickets::idempotency_key;
use bookmygig_server::playback::PlaybackKey;
use bookmygig_server::recording::replay_file::{RangeRequest, parse_range};
use bookmygig_store::GigCursor;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;
use time::OffsetDateTime;

const SECRET: [u8; 32] = [7; 32];
const NOW: i64 = 1_767_225_600;

/// `payload.tag` as the server signs tokens, with `key`.
fn signed(key: &[u8], payload: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(payload);
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}",
        engine.encode(payload),
        engine.encode(mac.finalize().into_bytes())
    )
}

fuzz_target!(|data: &[u8]| {
    let now = OffsetDateTime::from_unix_timestamp(NOW).expect("a valid time");
    let gig = GigId::from_bytes([1; 16]);
    let text = String::from_utf8_lossy(data);

    // Playback tokens: as sent, and any payload signed with the key.
    let playback = PlaybackKey::from_bytes(SECRET);
    let _ = playback.verify(Some(&text), gig, now);
    let _ = playback.verify(Some(&signed(&SECRET, data)), gig, now);
    if let Ok(grant) = playback.verify(
        Some(&signed(&SECRET, data)),
        GigId::from_bytes(
            data.get(..16)
                .and_then(|b| b.try_into().ok())
                .unwrap_or([0; 16]),
        ),
        now,
    ) {
        // What verifies signs back into the same grant.
        let again = playback.verify(Some(&playback.sign(&grant)), grant.gig_id, now);
        assert_eq!(again, Ok(grant));
    }

    // Relay tokens: the key is derived from the cluster secret; sign with the derived bytes by
    // signing through the key itself when the payload has the right shape.
    let relay = RelayKey::derive(&SECRET);
    let _ = relay.verify(Some(&text), gig, now);
    if let Some((id, expiry)) = data.split_first_chunk::<16>() {
        if let Ok(seconds) = <[u8; 8]>::try_from(expiry) {
            let seconds = i64::from_be_bytes(seconds);
            if let Ok(expires_at) = OffsetDateTime::from_unix_timestamp(seconds) {
                let token = relay.sign(GigId::from_bytes(*id), expires_at);
                let _ = relay.verify(Some(&token), GigId::from_bytes(*id), now);
            }
        }
    }

    // The catalogue's query string and cursor.
    if let Ok(query) = catalogue_query(Some(&text), now) {
        let _ = query.scan_from_us();
    }
    if let Some(cursor) = GigCursor::decode(&text) {
        assert_eq!(GigCursor::decode(&cursor.encode()), Some(cursor));
    }

    // The Idempotency-Key header, as any header value bytes.
    if let Ok(value) = http::HeaderValue::from_bytes(data) {
        let mut headers = http::HeaderMap::new();
        headers.insert(bookmygig_api::IDEMPOTENCY_KEY_HEADER, value);
        let _ = idempotency_key(&headers);
    }

    let _ = gig_id(&text);
    if let Ok(money) = text.parse::<Money>() {
        // Display never fails, and what it shows parses back to the same amount.
        let shown = money.to_string();
        assert_eq!(shown.parse::<Money>(), Ok(money), "{shown}");
    }
    if let Ok(pointer) = PaymentPointer::parse(&text) {
        let _ = pointer.resolve();
    }
    let _ = text.parse::<Category>();
    let _ = text.parse::<GigStatus>();

    // The Range header of a replay request: whatever it says, a satisfiable answer lies inside
    // the file and is not empty.
    let len = u64::from(data.first().copied().unwrap_or(0)) * 1_000;
    if let RangeRequest::Part(range) = parse_range(Some(&text), len) {
        assert!(
            range.start < range.end && range.end <= len,
            "{range:?} of {len}"
        );
    }
});
