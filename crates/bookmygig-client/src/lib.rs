//! Typed async client of the BookMyGig REST API (`/api/v1`), speaking the `bookmygig-api` wire
//! types.
//!
//! [`Client`] has one method per endpoint; every failure is a [`ClientError`], with the server's
//! RFC 9457 problems kept whole. [`chat`] enters a gig's chat WebSocket ([`Client::chat`]);
//! [`monetization`] reads the monetization channel's server-sent events. The live media (RTMP,
//! FLV) is not this crate's concern.
//!
//! ```no_run
//! # async fn demo() -> bookmygig_client::Result<()> {
//! use bookmygig_client::{Client, GigListQuery};
//!
//! let client = Client::new("http://127.0.0.1:8080")?;
//! let page = client.list_gigs(&GigListQuery::default()).await?;
//! println!("{} gigs on sale", page.items.len());
//! # Ok(())
//! # }
//! ```

pub mod chat;
mod client;
mod error;
pub mod monetization;
mod query;
mod tls;

pub use chat::{ChatError, ChatSocket};
pub use client::{Client, TopUpStarted};
pub use error::{ClientError, Result};
pub use monetization::MonetizationStream;
pub use query::GigListQuery;
pub use tls::{TlsError, TrustRoots};

/// A fresh `Idempotency-Key` for [`Client::buy_ticket`] or [`Client::top_up`]: a UUID, so keys of
/// different requests never collide. Keep it to retry the same request.
pub fn new_idempotency_key() -> String {
    uuid::Uuid::now_v7().to_string()
}
