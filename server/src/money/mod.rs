//! Money that moves while people watch: the [`meter::Meter`] that accrues streaming
//! micropayments per (viewer, gig) and settles them on the ledger in batches; and
//! [`earnings`], what each gig earned and paid out.
//!
//! The ledger itself (its accounts, entry kinds and rules: balanced transactions, the wallet
//! floor) is `bookmygig_store::ledger`, because each backend books inside its own atomic step:
//! `crates/bookmygig-store/src/ledger/` holds the rules in Rust (embedded store) and in Lua
//! (Redis) side by side. Ticket sales, refunds and listing fees are single store steps booked
//! by their HTTP handlers; top-ups and payouts are booked by [`crate::payments`]; this module
//! owns what accrues over time and what each gig earned.

pub mod earnings;
pub mod meter;

pub use meter::{ChannelGuard, ChannelStatus, Meter, Recipient, WatchGuard};
