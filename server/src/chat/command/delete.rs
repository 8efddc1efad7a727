//! `delete`: the host removes a message from the store and from every screen.

use bookmygig_api::{ChatErrorCode, MessageId, ServerMessage};

use super::Commands;
use crate::chat::inbound::Refusal;
use crate::chat::room::Outbound;
use crate::chat::rooms::RoomEvent;

impl Commands {
    /// Deletes message `id` of this gig's chat.
    pub(super) async fn delete(&self, id: MessageId) -> Result<(), Refusal> {
        self.must_be_host("delete messages")?;
        let removed = self
            .store
            .delete_chat(self.gig, id)
            .await
            .map_err(|e| self.unavailable("delete a chat message", e))?;
        if removed.is_none() {
            return Err(Refusal::new(
                ChatErrorCode::NotFound,
                format!("no message {id} in this chat"),
            ));
        }
        let frame = Outbound::new(&ServerMessage::Deleted { id });
        self.rooms
            .publish(self.gig, RoomEvent::Broadcast(frame))
            .await
            .map_err(|e| self.unavailable("announce a deletion", e))
    }
}
