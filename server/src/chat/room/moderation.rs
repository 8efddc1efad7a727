//! Moderation: a ban closes an account's sockets and keeps it out; a cancelled gig closes the
//! room for everyone.

use bookmygig_api::AccountId;
use tokio::time::Instant;

use super::super::frame::Outbound;
use super::{ChatRoom, Kick, MemberId};

impl ChatRoom {
    /// Bans `account` here: its sockets close and new ones cannot join; or lifts the ban.
    pub fn set_banned(&self, account: AccountId, banned: bool) {
        let mut state = self.state();
        if !banned {
            state.banned.remove(&account);
            return;
        }
        state.banned.insert(account);
        let theirs: Vec<MemberId> = state
            .members
            .iter()
            .filter(|(_, m)| m.account == account)
            .map(|(id, _)| *id)
            .collect();
        for id in theirs {
            state.drop_member(id, Some(Kick::Banned));
        }
    }

    /// Closes the room of a cancelled gig: every member gets `offline` (a `stream` message: the
    /// show is over, whether or not its publisher has been cut yet), then is let go with
    /// [`Kick::Cancelled`], and nobody joins any more. (No `leave` or `presence` goes out:
    /// everyone is leaving.)
    pub fn cancel(&self, offline: &Outbound) {
        let mut state = self.state();
        state.cancelled = true;
        let now = Instant::now();
        let everyone: Vec<MemberId> = state.members.keys().copied().collect();
        for id in everyone {
            if let Some(member) = state.members.get_mut(&id) {
                // Written before the close frame; one that cannot take it goes all the same.
                let _ = member.send(std::slice::from_ref(offline), now);
            }
            // The frames announcing departures would only go to members about to go too.
            let _ = state.remove_member(id, Some(Kick::Cancelled));
        }
        state.pending.clear();
    }
}
