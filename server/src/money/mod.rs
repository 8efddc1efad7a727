//! Money that moves while people watch: the [`meter::Meter`] that accrues streaming
//! micropayments per (viewer, gig) and settles them on the ledger in batches; and
//! [`earnings`], what each gig earned and paid out.
//!
//! Ticket sales, refunds and listing fees are single store steps booked by their HTTP
//! handlers; this module owns only what accrues over time.

pub mod earnings;
pub mod meter;

pub use meter::{ChannelGuard, ChannelStatus, Meter, Recipient, WatchGuard};
