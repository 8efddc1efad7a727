//! Tickets: one account's paid access to one gig.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{AccountId, Gig, GigId, Money, TicketId};

/// Whether a ticket still grants access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Grants access to the gig.
    Valid,
    /// The price went back to the holder (the gig was cancelled).
    Refunded,
}

/// A ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ticket {
    /// The ticket's id.
    pub id: TicketId,
    /// The gig it admits to.
    pub gig_id: GigId,
    /// The account holding it.
    pub holder_id: AccountId,
    /// What the holder paid, in micro-USD.
    pub price: Money,
    /// When it was bought.
    #[serde(with = "time::serde::rfc3339")]
    pub purchased_at: OffsetDateTime,
    /// Whether it still grants access.
    pub status: TicketStatus,
}

/// A ticket in `GET /me/tickets`, with the gig it is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MyTicket {
    /// The ticket.
    pub ticket: Ticket,
    /// The gig as it is now.
    pub gig: Gig,
}

/// `201` answer of `POST /gigs/{id}/tickets`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Purchased {
    /// The ticket bought (the same one when the request is retried with its key).
    pub ticket: Ticket,
}
