//! The library half of the `bookmygig` terminal client: what the binary, the TUI and the
//! integration tests share.
//!
//! - [`browser`]: opens a web page (the approval of a top-up) in the desktop's browser, when
//!   there is a desktop.
//! - [`player`]: plays a gig's stream in a libmpv window on its own thread and reports its
//!   state through a channel, keeping live streams near the live edge.
//!
//! The command line itself (argument parsing, commands) lives in the binary, `src/main.rs`.

pub mod browser;
pub mod player;
