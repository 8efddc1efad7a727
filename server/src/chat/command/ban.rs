//! `ban` and `unban`: the host bars an account from the room (its sockets close) or lets it
//! back; stored, then published to every node.

use bookmygig_api::ChatErrorCode;

use super::Commands;
use crate::chat::inbound::Refusal;
use crate::chat::rooms::RoomEvent;

impl Commands {
    /// Bans (or, with `banned` false, unbans) the account with `handle`.
    pub(super) async fn ban(&self, handle: &str, banned: bool) -> Result<(), Refusal> {
        self.must_be_host(if banned { "ban" } else { "unban" })?;
        let target = self
            .store
            .account_by_handle(handle)
            .await
            .map_err(|e| self.unavailable("look up a handle", e))?
            .ok_or_else(|| Refusal::new(ChatErrorCode::NotFound, format!("no user `{handle}`")))?;
        if target.id == self.creator {
            return Err(Refusal::new(
                ChatErrorCode::Forbidden,
                "the host cannot ban themselves",
            ));
        }
        self.store
            .set_chat_ban(self.gig, target.id, banned)
            .await
            .map_err(|e| self.unavailable("store a ban", e))?;
        tracing::info!(gig = %self.gig, account = %target.id, banned, "chat ban changed");
        let event = if banned {
            RoomEvent::Ban(target.id)
        } else {
            RoomEvent::Unban(target.id)
        };
        self.rooms
            .publish(self.gig, event)
            .await
            .map_err(|e| self.unavailable("announce a ban", e))
    }
}
