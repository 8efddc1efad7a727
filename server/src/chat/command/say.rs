//! `say`: a message from a paying member (or the host), rate-limited, stored, then published
//! to the room.

use bookmygig_api::{ChatErrorCode, ChatMessage, MessageId, ServerMessage};
use bookmygig_store::ChatRecord;
use time::OffsetDateTime;

use super::Commands;
use crate::chat::inbound::Refusal;
use crate::chat::room::Outbound;
use crate::chat::rooms::RoomEvent;
use crate::chat::session::HISTORY_KEPT;
use crate::chat::text::{self, TextRefusal};

impl Commands {
    /// Cleans `raw`, checks the wallet and the speech limit, stores the message and publishes it.
    pub(super) async fn say(&self, raw: &str) -> Result<(), Refusal> {
        let text = text::clean(raw).map_err(|refusal| {
            let code = match refusal {
                TextRefusal::Empty => ChatErrorCode::EmptyText,
                TextRefusal::TooLong { .. } => ChatErrorCode::TextTooLong,
            };
            Refusal::new(code, refusal.to_string())
        })?;
        self.must_be_paying().await?;
        let allowed = self
            .rooms
            .take_token(&self.room, self.account.id)
            .await
            .map_err(|e| self.unavailable("rate-limit a chat message", e))?;
        allowed.map_err(|wait| {
            Refusal::new(
                ChatErrorCode::RateLimited,
                format!(
                    "slow down: 5 messages at once, then 1 per second; try again in {:.1} s",
                    wait.as_secs_f64()
                ),
            )
        })?;
        let message = ChatMessage {
            id: MessageId::new(),
            author: self.account.handle.clone(),
            display_name: self.account.display_name.clone(),
            text,
            sent_at: now_micros(),
        };
        let record = ChatRecord {
            gig_id: self.gig,
            author_id: self.account.id,
            message,
        };
        // Stored before anyone sees it, so nothing shown is lost on a restart.
        self.store
            .append_chat(&record, HISTORY_KEPT)
            .await
            .map_err(|e| self.unavailable("store a chat message", e))?;
        let frame = Outbound::new(&ServerMessage::Message(record.message));
        self.rooms
            .publish(self.gig, RoomEvent::Broadcast(frame))
            .await
            .map_err(|e| self.unavailable("send a chat message", e))
    }
}

/// Now, to the microsecond: both stores keep times at that precision.
fn now_micros() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap_or(now)
}
