//! The one server harness of the server's and the CLI's tests: the server in this process on
//! port 0 ([`TestServer`]), or the real `bookmygig-server` binary as a child process
//! ([`ServerProcess`]); what a test does with either ([`Serving`]); the forms and sign-ups
//! every test needs ([`forms`]); and a real WebSocket client for the chat ([`ChatSocket`]).
//!
//! A harness failure is a test failure, so these panic with a message rather than return
//! errors.

mod chat_socket;
pub mod forms;
mod in_process;
mod process;
mod serving;

pub use chat_socket::{CHAT_PATIENCE, ChatSocket, TokenIn};
pub use forms::{live_gig_form, new_gig, sign_up_through};
pub use in_process::{Backend, ServerData, TestServer};
pub use process::ServerProcess;
pub use serving::{Serving, publish_url};
