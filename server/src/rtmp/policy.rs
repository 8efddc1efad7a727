//! Who may publish and who may watch over RTMP. No sockets here: connection.rs asks, this
//! answers from the store, the hub and the playback key.

use std::sync::Arc;

use bookmygig_api::{AccountId, GigId};
use bookmygig_store::{GigRecord, GigState, StoreError, TokenHash};
use time::{Duration, OffsetDateTime};

use super::RtmpContext;
use crate::access::{self, PlayerRefusal};
use crate::live::directory::DirectoryError;
use crate::live::seats::{SeatRefusal, StreamSeat};
use crate::live::{LiveStream, PublishClaim, Publisher};
use crate::playback::TokenError;
use crate::secret;

/// When, around its scheduled times, a gig may be published.
#[derive(Clone, Copy, Debug)]
pub struct PublishWindow {
    /// How long before `starts_at` publishing opens (sound checks).
    pub early: Duration,
    /// How long after `ends_at` publishing stays open (overruns).
    pub late: Duration,
}

/// Why a publish request was refused. Its text goes to the publisher and the log; it never
/// contains the key.
#[derive(Debug, thiserror::Error)]
pub enum PublishRefusal {
    /// No gig has this key.
    #[error("unknown stream key")]
    UnknownKey,
    /// The gig was cancelled.
    #[error("gig {0} is cancelled")]
    Cancelled(GigId),
    /// Past the end of the window.
    #[error("gig {0} has ended")]
    Ended(GigId),
    /// Before the window opens.
    #[error("gig {gig} opens for streaming at {opens_at}")]
    TooEarly {
        /// The gig.
        gig: GigId,
        /// When publishing opens.
        opens_at: OffsetDateTime,
    },
    /// Someone is publishing it already.
    #[error("gig {0} already has a publisher")]
    AlreadyLive(GigId),
    /// The creator replaced the stream key this publisher used.
    #[error("the stream key of gig {0} was replaced")]
    KeyRotated(GigId),
    /// The gig is gone from the store.
    #[error("gig {0} no longer exists")]
    Gone(GigId),
    /// The store failed.
    #[error("storage unavailable: {0}")]
    Store(#[from] StoreError),
    /// The stream registry (Redis mode) could not be asked.
    #[error("{0}")]
    Registry(String),
}

impl PublishRefusal {
    /// The RTMP status code for the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            PublishRefusal::UnknownKey => "NetStream.Publish.BadName",
            PublishRefusal::AlreadyLive(_) => "NetStream.Publish.BadName",
            _ => "NetStream.Publish.Denied",
        }
    }
}

/// What an accepted publish holds: the gig, its slot in this node's hub, and its claim in the
/// stream directory.
#[derive(Debug)]
pub struct PublishGrant {
    /// The gig being published (with the hash of the key that opened it, which
    /// [`still_may_publish`] compares).
    pub gig: GigRecord,
    /// The slot in this node's hub.
    pub publisher: Publisher,
    /// The gig's claim in the stream directory (across the cluster, with several nodes).
    pub claim: PublishClaim,
}

/// Checks a publish request for `raw_key` (anything after `?` is ignored) and, if it may go
/// ahead, takes the gig's publisher slot — in the stream directory first (across every node,
/// with several), so a second publisher is refused wherever it connects.
///
/// # Errors
/// Why not.
pub async fn authorize_publish(
    context: &RtmpContext,
    raw_key: &str,
    now: OffsetDateTime,
) -> Result<PublishGrant, PublishRefusal> {
    let key = raw_key.split('?').next().unwrap_or_default();
    let gig = context
        .store
        .gig_by_stream_key(&secret::hash(key))
        .await?
        .filter(|gig| secret::same_secret(&gig.stream_key, key))
        .ok_or(PublishRefusal::UnknownKey)?;
    if gig.state == GigState::Cancelled {
        return Err(PublishRefusal::Cancelled(gig.id));
    }
    if past_window(&gig, context.window, now) {
        return Err(PublishRefusal::Ended(gig.id));
    }
    let opens_at = gig.details.starts_at - context.window.early;
    if now < opens_at {
        return Err(PublishRefusal::TooEarly {
            gig: gig.id,
            opens_at,
        });
    }
    let claim = context.directory.claim(gig.id).await.map_err(|e| match e {
        DirectoryError::Taken(_) => PublishRefusal::AlreadyLive(gig.id),
        DirectoryError::Unavailable(cause) => PublishRefusal::Registry(cause),
        other @ DirectoryError::Origin(_) => PublishRefusal::Registry(other.to_string()),
    })?;
    // On failure the claim, dropped, is released.
    let publisher = context
        .hub
        .start_publishing(gig.id)
        .map_err(|_| PublishRefusal::AlreadyLive(gig.id))?;
    Ok(PublishGrant {
        gig,
        publisher,
        claim,
    })
}

/// Whether `now` is past the end of `gig`'s publish window.
fn past_window(gig: &GigRecord, window: PublishWindow, now: OffsetDateTime) -> bool {
    now > gig.details.ends_at + window.late
}

/// Whether a running publisher of `gig`, who was let in with the key hashed as `key_hash`, may
/// go on publishing at `now`: the key is still the gig's (not rotated), the gig is not
/// cancelled, and its publish window (as stored now, edits included) has not closed.
///
/// The publishing connection asks this every [`crate::rtmp::connection::PUBLISH_RECHECK`]
/// against the store, rather than being told by whoever rotated, cancelled or edited. That one
/// mechanism covers every way the right can end: the window closing is an event nobody
/// announces, a change may be made on any node of a cluster (or by a node that dies right
/// after writing it), and Redis pub/sub delivers at most once — while the store is the one
/// place every node writes and every node reads, so a change is seen wherever the publisher
/// is. It costs one gig read per live publisher per interval, and publishers are few.
///
/// A store that cannot answer does not cut a live show: the next check decides.
///
/// # Errors
/// Why the publisher must go.
pub async fn still_may_publish(
    context: &RtmpContext,
    gig: GigId,
    key_hash: &TokenHash,
    now: OffsetDateTime,
) -> Result<(), PublishRefusal> {
    match context.store.gig(gig).await {
        Ok(Some(record)) => publishing_verdict(&record, key_hash, context.window, now),
        Ok(None) => Err(PublishRefusal::Gone(gig)),
        Err(error) => {
            tracing::debug!(gig = %gig, %error, "publisher re-check postponed: store unavailable");
            Ok(())
        }
    }
}

/// [`still_may_publish`]'s decision on the gig as stored now.
fn publishing_verdict(
    record: &GigRecord,
    key_hash: &TokenHash,
    window: PublishWindow,
    now: OffsetDateTime,
) -> Result<(), PublishRefusal> {
    if record.stream_key_hash != *key_hash {
        return Err(PublishRefusal::KeyRotated(record.id));
    }
    if record.state == GigState::Cancelled {
        return Err(PublishRefusal::Cancelled(record.id));
    }
    if past_window(record, window, now) {
        return Err(PublishRefusal::Ended(record.id));
    }
    Ok(())
}

/// Why a play request was refused.
#[derive(Debug, thiserror::Error)]
pub enum PlayRefusal {
    /// The path is not `{gig_id}?token=…`.
    #[error("play rtmp://HOST:PORT/live/{{gig_id}}?token=… with the URL from the playback API")]
    BadPath,
    /// The token does not open this gig.
    #[error("{0}")]
    Token(#[from] TokenError),
    /// The account holds no valid ticket.
    #[error("no valid ticket for this gig")]
    NoTicket,
    /// Nobody is publishing the gig.
    #[error("the gig is not live")]
    NotLive,
    /// The gig is published on another node that could not be relayed from.
    #[error("the stream is unavailable: {0}")]
    Unavailable(String),
    /// The account plays this gig on as many devices as allowed, or the count could not be
    /// read.
    #[error("{0}")]
    Seats(#[from] SeatRefusal),
    /// The store failed.
    #[error("storage unavailable: {0}")]
    Store(#[from] StoreError),
}

impl PlayRefusal {
    /// The RTMP status code for the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            PlayRefusal::NotLive | PlayRefusal::BadPath => "NetStream.Play.StreamNotFound",
            _ => "NetStream.Play.Failed",
        }
    }
}

/// Splits `gig_id?token=…&…` into the gig id text and the token.
pub fn split_play_path(path: &str) -> (&str, Option<&str>) {
    let (gig, query) = path.split_once('?').unwrap_or((path, ""));
    let token = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .filter(|t| !t.is_empty());
    (gig, token)
}

/// What an accepted play holds.
#[derive(Debug)]
pub struct PlayGrant {
    /// The gig being watched.
    pub gig: GigRecord,
    /// Who watches (and pays): the account the token was signed for.
    pub account: AccountId,
    /// The stream to read.
    pub stream: Arc<LiveStream>,
    /// One of the account's places for this gig, held while it plays.
    pub seat: StreamSeat,
}

/// Checks a play request and returns the stream to read, who is watching, and the seat the
/// stream takes of the account's `--max-streams-per-ticket`.
///
/// # Errors
/// Why not.
pub async fn authorize_play(
    context: &RtmpContext,
    path: &str,
    now: OffsetDateTime,
) -> Result<PlayGrant, PlayRefusal> {
    let (gig_text, token) = split_play_path(path);
    let gig_id: GigId = gig_text.parse().map_err(|_| PlayRefusal::BadPath)?;
    let player = access::admit_player(
        context.store.as_ref(),
        &context.playback_key,
        token,
        gig_id,
        now,
    )
    .await
    .map_err(|refusal| match refusal {
        PlayerRefusal::Token(error) => PlayRefusal::Token(error),
        PlayerRefusal::UnknownGig(_) => PlayRefusal::BadPath,
        PlayerRefusal::NoTicket => PlayRefusal::NoTicket,
        PlayerRefusal::Store(error) => PlayRefusal::Store(error),
    })?;
    let stream = context
        .directory
        .watchable_stream(gig_id)
        .await
        .map_err(|e| PlayRefusal::Unavailable(e.to_string()))?
        .ok_or(PlayRefusal::NotLive)?;
    let seat = context.stream_seats.take(player.account, gig_id).await?;
    Ok(PlayGrant {
        gig: player.gig,
        account: player.account,
        stream,
        seat,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gig(now: OffsetDateTime) -> (GigRecord, TokenHash) {
        let (stream_key, stream_key_hash) = secret::generate_stream_key();
        let record = GigRecord {
            id: GigId::new(),
            creator_id: AccountId::new(),
            details: bookmygig_store::GigDetails {
                creator_name: "Ann".into(),
                title: "Show".into(),
                description: String::new(),
                category: bookmygig_api::Category::Comedy,
                price: bookmygig_api::Money::ZERO,
                starts_at: now - Duration::hours(1),
                ends_at: now,
                capacity: None,
                payment_pointer: "$wallet.example/ann".parse().unwrap(),
                micropayment_rate: bookmygig_api::Money::ZERO,
                replay_hours: 48,
            },
            stream_key,
            stream_key_hash,
            created_at: now - Duration::days(1),
            tickets_sold: 0,
            state: GigState::Live,
        };
        (record, stream_key_hash)
    }

    #[test]
    fn a_publisher_goes_when_its_key_is_replaced_the_gig_cancelled_or_the_window_closed() {
        let now = OffsetDateTime::now_utc();
        let window = PublishWindow {
            early: Duration::minutes(60),
            late: Duration::minutes(30),
        };
        let (mut record, key) = gig(now);
        assert!(publishing_verdict(&record, &key, window, now).is_ok());
        let overrun = now + Duration::minutes(29);
        assert!(publishing_verdict(&record, &key, window, overrun).is_ok());
        let closed = now + Duration::minutes(31);
        assert!(matches!(
            publishing_verdict(&record, &key, window, closed),
            Err(PublishRefusal::Ended(_))
        ));
        let (_, rotated) = secret::generate_stream_key();
        assert!(matches!(
            publishing_verdict(&record, &rotated, window, now),
            Err(PublishRefusal::KeyRotated(_))
        ));
        record.state = GigState::Cancelled;
        assert!(matches!(
            publishing_verdict(&record, &key, window, now),
            Err(PublishRefusal::Cancelled(_))
        ));
    }

    #[test]
    fn play_paths_split_into_gig_and_token() {
        assert_eq!(split_play_path("abc?token=t1"), ("abc", Some("t1")));
        assert_eq!(split_play_path("abc?x=1&token=t2"), ("abc", Some("t2")));
        assert_eq!(split_play_path("abc"), ("abc", None));
        assert_eq!(split_play_path("abc?token="), ("abc", None));
    }
}
