//! What a client may ask of the chat, one module per command (`say`, `ban` for ban and
//! unban, `delete`); here, the dispatch and the checks they share (who may, whether the
//! wallet pays). The socket that reads the commands is [`super::session`].

mod ban;
mod delete;
mod say;

use std::sync::Arc;

use bookmygig_api::{AccountId, ChatErrorCode, ClientMessage, GigId, Money, ServerMessage};
use bookmygig_store::{AccountRecord, LedgerAccount, Store};

use super::inbound::{self, Refusal};
use super::room::{ChatRoom, MemberId, Outbound};
use super::rooms::ChatRooms;

/// What a socket's commands act with: the reader of that socket holds it.
pub(in crate::chat) struct Commands {
    pub(in crate::chat) store: Arc<dyn Store>,
    pub(in crate::chat) rooms: Arc<ChatRooms>,
    pub(in crate::chat) room: Arc<ChatRoom>,
    pub(in crate::chat) member: MemberId,
    pub(in crate::chat) gig: GigId,
    pub(in crate::chat) creator: AccountId,
    pub(in crate::chat) account: AccountRecord,
}

impl Commands {
    /// Sends `message` to this socket only.
    pub(in crate::chat) fn reply(&self, message: &ServerMessage) {
        self.room.send_to(self.member, Outbound::new(message));
    }

    /// Handles one text frame; a refusal goes back to this socket only.
    pub(in crate::chat) async fn handle(&self, text: &str) -> Result<(), Refusal> {
        match inbound::parse(text)? {
            ClientMessage::Say { text } => self.say(&text).await,
            ClientMessage::Ban { user } => self.ban(&user, true).await,
            ClientMessage::Unban { user } => self.ban(&user, false).await,
            ClientMessage::Delete { id } => self.delete(id).await,
        }
    }

    /// As the original disabled its send button when monetization stopped: an empty wallet
    /// (micropayments stopped) may not speak. The host always may. The balance is the shared
    /// truth, so every node agrees.
    pub(super) async fn must_be_paying(&self) -> Result<(), Refusal> {
        if self.account.id == self.creator {
            return Ok(());
        }
        let balance = self
            .store
            .balance(&LedgerAccount::User(self.account.id))
            .await
            .map_err(|e| self.unavailable("read a wallet", e))?;
        if balance > Money::ZERO {
            return Ok(());
        }
        Err(Refusal::new(
            ChatErrorCode::WalletEmpty,
            "your wallet is empty, so micropayments stopped and chat is paused; \
             top up (POST /api/v1/wallet/topups) to speak again",
        ))
    }

    /// Refuses anyone but the gig's creator.
    pub(super) fn must_be_host(&self, what: &str) -> Result<(), Refusal> {
        if self.account.id == self.creator {
            return Ok(());
        }
        Err(Refusal::new(
            ChatErrorCode::Forbidden,
            format!("only the gig's creator may {what}"),
        ))
    }

    /// Logs why the chat cannot do `what`, and the refusal the client gets.
    pub(super) fn unavailable(&self, what: &str, error: impl std::fmt::Display) -> Refusal {
        tracing::error!(gig = %self.gig, %error, "chat cannot {what}");
        Refusal::new(
            ChatErrorCode::Unavailable,
            "the chat cannot do that right now; try again",
        )
    }
}
