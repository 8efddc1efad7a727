//! BookMyGig's Open Payments client (the Interledger Foundation's standard, v1.1.0): how money
//! enters the ledger from a viewer's wallet and leaves it to a creator's.
//!
//! - [`signing`]: RFC 9421 HTTP message signatures with Ed25519, as Open Payments requires of
//!   every client request, and the JWK a client publishes.
//! - [`OpenPaymentsClient`]: wallet address documents, GNAP grants (requested, continued by
//!   polling, cancelled; tokens rotated), incoming and outgoing payments, every call signed and
//!   every answer read within [`MAX_RESPONSE_BYTES`].
//! - [`Amount`]: the standard's string amounts, converted exactly to and from ledger
//!   micro-units (a conversion that would round is an error).
//! - [`mod@pointer`]: payment pointers (`$wallet.example/alice`) to wallet address URLs.
//!
//! The Interledger Foundation's `open-payments` crate was considered and not used: it links
//! OpenSSL, which the 2-core build machines and a rustls-only stack avoid.

mod amount;
mod client;
pub mod pointer;
pub mod signing;
pub mod types;

pub use amount::{Amount, AmountError, LEDGER_SCALE};
pub use client::{MAX_RESPONSE_BYTES, OpenPaymentsClient, OpenPaymentsError};
pub use signing::ClientKey;
