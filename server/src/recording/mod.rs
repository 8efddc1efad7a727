//! Recordings and replays (DESIGN §12): every show published on a node is recorded as
//! received, in segments, to an object store; after the show its ticket holders watch the
//! recording for the creator's replay window, through a signed URL with range requests.
//!
//! - `storage`: the object store chosen by `--recordings` (a directory, or S3-compatible).
//! - `archive`: where a gig's manifest and segments live in it.
//! - `manifest`: the index of one recording.
//! - `cutter`: a publisher session's tags cut into segments on the recording's timeline.
//! - `recorder`: records each stream published here, never slowing its viewers.
//! - `replay_file`: a recording laid out as one seekable FLV file.
//!
//! Who may replay is decided here ([`replay_refusal`]), for the REST grant and the file alike.

pub mod archive;
pub mod cutter;
pub mod manifest;
pub mod recorder;
pub mod replay_file;
pub mod storage;

use bookmygig_api::{AccountId, GigStatus};
use bookmygig_store::{GigRecord, GigState};
use time::OffsetDateTime;

pub use archive::{Archive, ArchiveError};
pub use manifest::Manifest;
pub use recorder::Recorder;
pub use replay_file::ReplayFile;

/// Until when `gig`'s recording can be replayed by its ticket holders: the end plus its replay
/// window, for a show that went on air and was not cancelled; `None` without a window.
pub fn replay_until(gig: &GigRecord) -> Option<OffsetDateTime> {
    let hours = gig.details.replay_hours;
    let went_on_air = matches!(gig.state, GigState::Live | GigState::Offline);
    (went_on_air && hours > 0)
        .then(|| gig.details.ends_at + time::Duration::hours(i64::from(hours)))
}

/// Why an account may not replay a gig (ticket checks aside, see `crate::access`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplayRefusal {
    /// The gig was cancelled and its tickets refunded.
    #[error("this gig was cancelled and its tickets refunded; there is no replay")]
    Cancelled,
    /// The show has not ended yet.
    #[error("the show has not ended yet; watch it live, the replay opens when it ends")]
    NotEnded,
    /// The creator allows no replay of this gig.
    #[error("the creator offers no replay of this gig")]
    NoWindow,
    /// The replay window is over.
    #[error("the replay window closed at {0}")]
    WindowClosed(OffsetDateTime),
}

/// Whether `account` (who may watch `gig`: a ticket holder or its creator) may replay it at
/// `now`: after the show ends, within the window. The creator may always watch their own
/// recording.
///
/// # Errors
/// Why not.
pub fn replay_refusal(
    gig: &GigRecord,
    account: AccountId,
    now: OffsetDateTime,
) -> Result<(), ReplayRefusal> {
    if gig.state == GigState::Cancelled {
        return Err(ReplayRefusal::Cancelled);
    }
    if gig.status_at(now) != GigStatus::Ended {
        return Err(ReplayRefusal::NotEnded);
    }
    if gig.creator_id == account {
        return Ok(());
    }
    match replay_until(gig) {
        None => Err(ReplayRefusal::NoWindow),
        Some(until) if now >= until => Err(ReplayRefusal::WindowClosed(until)),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::fixtures::gig_at;
    use time::Duration;

    #[test]
    fn ticket_holders_replay_from_the_end_until_the_window_closes_the_creator_always() {
        let mut gig = gig_at("Late Laughs", -120);
        let fan = AccountId::new();
        let ends = gig.details.ends_at;
        assert_eq!(replay_until(&gig), None, "never on air: no replay");
        gig.state = GigState::Offline;
        assert_eq!(replay_until(&gig), Some(ends + Duration::hours(48)));
        assert_eq!(
            replay_refusal(&gig, fan, ends - Duration::minutes(1)),
            Err(ReplayRefusal::NotEnded)
        );
        assert_eq!(replay_refusal(&gig, fan, ends), Ok(()));
        assert_eq!(
            replay_refusal(&gig, fan, ends + Duration::hours(48)),
            Err(ReplayRefusal::WindowClosed(ends + Duration::hours(48)))
        );
        assert_eq!(
            replay_refusal(&gig, gig.creator_id, ends + Duration::hours(1_000)),
            Ok(()),
            "the creator watches their own recording whenever"
        );
        gig.details.replay_hours = 0;
        assert_eq!(
            replay_refusal(&gig, fan, ends),
            Err(ReplayRefusal::NoWindow)
        );
        gig.state = GigState::Live;
        assert_eq!(
            replay_refusal(&gig, fan, ends + Duration::hours(1)),
            Err(ReplayRefusal::NotEnded),
            "a show running over has not ended"
        );
        gig.state = GigState::Cancelled;
        assert_eq!(
            replay_refusal(&gig, gig.creator_id, ends),
            Err(ReplayRefusal::Cancelled)
        );
    }
}
